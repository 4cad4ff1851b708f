/* Query syntax: what a user types -> clauses the search can run.
 *
 *   plain words         ranked OR over title and text
 *   "quoted phrase"     required, words adjacent and in order (title or text)
 *   -word, -"phrase"    excluded
 *   title:word          required in the title (title:"a b": each word)
 *   source:NAME         only documents of that source (repeat = any of them)
 *   author:NAME         only documents by that author (exact)
 *
 * Anything else, including a `field:value` with an unknown field (URLs,
 * error codes like `err:E42`), is plain text. A quote left open runs to the
 * end of the query. Parsing is linear and never fails on odd input; limits
 * (length, clause counts) give LORE_INVALID or LORE_TOO_LARGE with a message. */
#ifndef LORE_SEARCH_QUERY_H
#define LORE_SEARCH_QUERY_H

#include <stddef.h>
#include "util/status.h"

#define QUERY_MAX_BYTES 4096
#define QUERY_MAX_CLAUSES 128

typedef enum query_kind {
    QUERY_WORDS,  /* plain text */
    QUERY_PHRASE, /* quoted */
    QUERY_TITLE,  /* title:... */
    QUERY_SOURCE, /* source:... */
    QUERY_AUTHOR, /* author:... */
} query_kind;

typedef struct query_clause {
    query_kind kind;
    int negated;
    char *text; /* owned, unanalyzed */
} query_clause;

typedef struct query_ast {
    query_clause *clauses; /* owned */
    size_t n;
} query_ast;

/* Parses q. On failure *out is zeroed and err names the problem. */
LORE_MUST_CHECK lore_status query_parse(const char *q, size_t len, query_ast *out, char *err,
                                        size_t errlen);
void query_ast_free(query_ast *a);

/* The offset of the first byte of s that is not part of well-formed UTF-8
 * (overlong forms, surrogates and code points past U+10FFFF included), or
 * len when all of it is. */
size_t query_utf8_check(const char *s, size_t len);

#endif
