/* Internals of the search module: the compiled query, phrase checks and
 * snippets. */
#ifndef LORE_SEARCH_INT_H
#define LORE_SEARCH_INT_H

#include "index/lexical/index_lexical.h"
#include "search/search.h"
#include "text/analyzer.h"
#include "util/strmap.h"

#define SEARCH_MAX_TERMS 64
#define SEARCH_MAX_PHRASES 16
#define PHRASE_MAX_TERMS 32

typedef struct phrase {
    uint32_t ids[PHRASE_MAX_TERMS]; /* term ids in compiled.strings */
    uint32_t rel[PHRASE_MAX_TERMS]; /* position relative to the first word */
    size_t n;
    int negated;
} phrase;

typedef struct compiled {
    strmap strings; /* every analyzed query term */
    lex_qterm terms[SEARCH_MAX_TERMS];
    uint32_t term_ids[SEARCH_MAX_TERMS];
    size_t nterms;
    phrase phrases[SEARCH_MAX_PHRASES];
    size_t nphrases;
    char **sources, **not_sources, **authors, **not_authors;
    size_t nsources, nnot_sources, nauthors, nnot_authors;
    size_t stopped; /* positive clauses that were all stop words */
} compiled;

void compiled_free(compiled *c);

/* 1 when chunk (or its document title) satisfies every phrase of c: each
 * positive phrase occurs and no negated one does; 0 otherwise; -1 on error. */
int phrases_match(text_analyzer *an, store_tenant *t, const compiled *c, int64_t chunk_id,
                  const char *title);

/* Builds a one-line snippet of text around the best cluster of query terms,
 * with the byte ranges of the matched words. Returns owned strings. */
LORE_MUST_CHECK lore_status snippet_build(text_analyzer *an, const compiled *c, const char *text,
                                          size_t len, char **snippet, search_span **marks,
                                          size_t *nmarks);

#endif
