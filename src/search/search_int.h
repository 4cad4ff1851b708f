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
    size_t symbols; /* positive clauses with no letter or digit (emoji, punctuation) */
} compiled;

void compiled_free(compiled *c);

struct search_engine {
    tenant_ctx *ctx;
    store_tenant *t;
    const index_lexical_ops *lex;
    void *lex_state;
    text_analyzer *an;
};

/* ---- admission (search_admit.c): filters, ACLs and phrases, applied
 * inside both retrievals ---- */

typedef struct admit_ctx {
    search_engine *e;
    const search_request *req;
    compiled *c;
    size_t phrase_checks;
    size_t checks, budget; /* chunks asked about; past budget (0: none) all are refused */
    int truncated;
    int group_only; /* no filter, ACL or phrase: only the document is needed */
} admit_ctx;

/* Sets up a for req and c (group_only when nothing is to be checked). */
void admit_init(admit_ctx *a, search_engine *e, const search_request *req, compiled *c);
/* lex_admit_fn / vec_admit_fn: 1 admits chunk_id and names its document in
 * *group, 0 rejects, -1 fails the search. */
int search_admit(void *ctx, int64_t chunk_id, int64_t *group);

/* ---- fusion (search_fusion.c) ---- */

/* One retriever's answer: a chunk per document (group), best first. */
typedef struct search_cand {
    int64_t chunk_id, group;
    double score;
} search_cand;

/* One document of the fused ranking. rank 0: that retriever did not find
 * it. chunk_id is the lexical hit's chunk when both found the document
 * (its words are there for the snippet). */
typedef struct search_fused {
    int64_t group, chunk_id;
    size_t lexical_rank, semantic_rank;
    double lexical_score, semantic_score;
    double fused; /* sum of w / (k + rank) over the retrievers that found it */
} search_fused;

typedef struct search_fusion_params {
    double k;                     /* > 0 */
    double w_lexical, w_semantic; /* >= 0 */
} search_fusion_params;

/* Reciprocal rank fusion of two rankings (either may be empty; a group
 * appearing twice in one list keeps its first place). The result is sorted
 * by fused score, then by best rank, then lexical before semantic, then
 * group; *out is owned (free()). */
LORE_MUST_CHECK lore_status search_fuse(const search_fusion_params *p, const search_cand *lex,
                                        size_t nlex, const search_cand *sem, size_t nsem,
                                        search_fused **out, size_t *nout);

/* ---- the semantic retriever (search_vector.c) ---- */

typedef struct sem_query {
    int ready;  /* 1: vec holds the query, key the live slot's model */
    float *vec; /* owned */
    uint32_t dims;
    char key[VEC_MODEL_KEY_MAX + 1];
} sem_query;

/* Embeds text (the query's plain words) with the embedder of the tenant's
 * live vector slot, through a small per-process cache. Call outside any
 * read snapshot (it may wait on the network). LORE_UNSUPPORTED: no
 * embedder configured (err names embed_url). LORE_IO: the provider failed
 * (semantic_error, and err, name it). LORE_OK with q->ready 0: nothing was
 * embedded in this tenant yet (notice set). */
LORE_MUST_CHECK lore_status sem_prepare(search_engine *e, const char *text, sem_query *q,
                                        char *notice, size_t noticelen, char *semantic_error,
                                        size_t selen, char *err, size_t errlen);
/* The k nearest documents to q (one chunk each, best first), admitted by
 * a. A slot that vanished since sem_prepare (a model switch) answers no
 * hits with a notice. */
LORE_MUST_CHECK lore_status sem_search(search_engine *e, const sem_query *q, size_t k, admit_ctx *a,
                                       search_cand **out, size_t *n, char *notice, size_t noticelen,
                                       char *err, size_t errlen);
void sem_query_clear(sem_query *q);

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
