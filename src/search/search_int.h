/* Internals of the search module: the compiled query, phrase checks and
 * snippets. */
#ifndef LORE_SEARCH_INT_H
#define LORE_SEARCH_INT_H

#include "index/lexical/index_lexical.h"
#include "search/search.h"
#include "text/analyzer.h"
#include "util/strmap.h"

/* Distinct (term, field, role) entries one query may hold: the index's cap.
 * A query within QUERY_MAX_BYTES stays below it; like= stops adding terms. */
#define SEARCH_MAX_TERMS LEX_MAX_QUERY_TERMS
#define SEARCH_MAX_PHRASES 16
#define PHRASE_MAX_TERMS 32

typedef struct phrase {
    uint32_t ids[PHRASE_MAX_TERMS]; /* term ids in compiled.strings */
    uint32_t rel[PHRASE_MAX_TERMS]; /* position relative to the first word */
    size_t n;
    int negated;
} phrase;

typedef struct compiled {
    strmap strings;     /* every analyzed query term */
    lex_qterm *terms;   /* owned, nterms of cap */
    uint32_t *term_ids; /* owned: each term's id in strings */
    size_t nterms, cap;
    uint32_t *first; /* owned, per string id: 1 + index of a term with it, 0 none */
    uint32_t *next;  /* owned, per term: 1 + index of the next one with its id */
    size_t nfirst;
    /* Owned, per string id, once the search ran: 1 for a term that was
     * searched for and counts toward a hit (not excluded, not dropped). */
    unsigned char *positive;
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
