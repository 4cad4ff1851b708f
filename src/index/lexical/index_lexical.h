/* The lexical index interface: BM25 over chunks, behind a table of
 * functions so the engine can be replaced (the default is lore's own
 * segmented index, `index_lexical_bm25`; see docs/lexical-index.md).
 *
 * The index keeps its data in the store's key-value namespaces, so its
 * writes commit or roll back with the documents they describe:
 *
 *   store_begin(t); lex->begin(...);
 *   lex->add(...) / lex->remove(...) for each changed chunk;
 *   lex->flush(...); store_commit(t);       (or lex->abort + store_rollback)
 *
 * Two fields are indexed: the whole chunk ("all": its document's title,
 * weighted, plus its text) and the title alone (for `title:` queries).
 *
 * Rebuild: the index can be rebuilt from the chunks the store holds, in
 * bounded steps, while searches read the old index and batches of adds and
 * removes go on between steps (a new setting such as title_weight takes
 * effect this way). Each step is its own batch:
 *
 *   store_begin(t); lex->begin(s); lex->rebuild_start(s);   (once)
 *   lex->flush(s); store_commit(t);
 *   do {
 *       store_begin(t); lex->begin(s);
 *       lex->rebuild_step(s, n, &finished, &copied);
 *       lex->flush(s); store_commit(t);      (or lex->abort + store_rollback,
 *   } while (!finished);                       then run the step again) */
#ifndef LORE_INDEX_LEXICAL_H
#define LORE_INDEX_LEXICAL_H

#include <stddef.h>
#include <stdint.h>
#include "store/store.h"
#include "util/status.h"

#define INDEX_LEXICAL_VERSION 1

/* The store namespaces the lexical index writes (store.h's allocation gives
 * it 1-8, and 12-19 for more). Two slots of three namespaces each (A: 1-3,
 * B: 4-6) so it can be rebuilt beside the live one, a control namespace
 * saying which slot is live, and the lengths the live slot scored for chunks
 * whose stored nterms a running rebuild has rewritten
 * (docs/lexical-index.md). The numbers are in stored data: never change
 * them. */
enum {
    STORE_NS_LEXICAL = 1,
    STORE_NS_LEXICAL_META = 2,
    STORE_NS_LEXICAL_DELETED = 3,
    STORE_NS_LEXICAL_B = 4,
    STORE_NS_LEXICAL_META_B = 5,
    STORE_NS_LEXICAL_DELETED_B = 6,
    STORE_NS_LEXICAL_CONTROL = 7,
    STORE_NS_LEXICAL_REBUILD_LENGTHS = 8,
};
_Static_assert(STORE_NS_LEXICAL == STORE_NS_LEXICAL_FIRST &&
                   STORE_NS_LEXICAL_REBUILD_LENGTHS == STORE_NS_LEXICAL_LAST,
               "the lexical index's namespaces are store.h's 1-8");

typedef enum lex_field { LEX_FIELD_ALL = 0, LEX_FIELD_TITLE = 1 } lex_field;

typedef enum lex_role {
    LEX_SHOULD,   /* scored; a hit needs at least one SHOULD or MUST term */
    LEX_MUST,     /* scored and required */
    LEX_FILTER,   /* required, not scored */
    LEX_MUST_NOT, /* a hit must not contain it */
} lex_role;

typedef struct lex_qterm {
    const char *term; /* an analyzed term (borrowed) */
    size_t len;
    lex_field field;
    lex_role role;
    float weight; /* multiplies the term's score (query term frequency) */
} lex_qterm;

/* Decides whether a candidate chunk may be a hit (filters, permissions,
 * phrase checks) and names the group it collapses into (its document), so a
 * page holds at most one chunk per group. Called only for candidates that
 * would enter the current top k, at most once per chunk per search. Returns
 * 1 to admit, 0 to reject, -1 on error (the search fails). */
typedef int (*lex_admit_fn)(void *ctx, int64_t chunk_id, int64_t *group);

/* Most terms one query may hand to search (of any role). */
#define LEX_MAX_QUERY_TERMS 4096

typedef struct lex_query {
    const lex_qterm *terms;
    size_t nterms;      /* at most LEX_MAX_QUERY_TERMS */
    size_t k;           /* hits wanted (groups) */
    lex_admit_fn admit; /* NULL: every chunk is its own group */
    void *admit_ctx;
    /* Most SHOULD terms to evaluate; 0 = all of them. When more SHOULD terms
     * occur in the index, the ones with the highest idf are kept (ties: the
     * higher weight, then the earlier term) and the rest are dropped before
     * evaluation and reported in lex_result.dropped. Terms absent from the
     * index cost nothing and are never dropped. Required, filter and
     * excluded terms are always kept. */
    size_t max_should;
} lex_query;

typedef struct lex_hit {
    int64_t chunk_id;
    int64_t group;
    double score;
} lex_hit;

typedef struct lex_result {
    lex_hit *hits; /* owned, best first */
    size_t n;
    uint64_t postings_scored; /* work done, for explain and benchmarks */
    uint64_t candidates_admitted;
    uint64_t postings_total; /* df summed over the evaluated terms (all segments) */
    /* SHOULD terms left out by max_should: indexes into lex_query.terms,
     * least selective (lowest idf) first. Owned. */
    uint32_t *dropped;
    size_t ndropped;
    /* Bytes of posting lists read from the store, and the most held in
     * memory at once: the evaluated terms' lists plus one value being read,
     * however many common terms max_should drops (their lists are read for
     * their df only; see lexical_search.c). For tests and benchmarks. */
    uint64_t postings_bytes_loaded, postings_bytes_peak;
} lex_result;

typedef struct lex_params {
    float k1, b;           /* BM25 */
    uint32_t title_weight; /* the title counts this many times in the "all" field */
    size_t flush_postings; /* buffered postings that force a segment write */
} lex_params;

typedef struct lex_stats {
    int64_t chunks; /* live chunks */
    double avg_len; /* average "all" field length */
    uint32_t segments;
    int64_t deleted; /* tombstones not yet merged away */
} lex_stats;

typedef struct index_lexical_ops {
    int version; /* INDEX_LEXICAL_VERSION */
    const char *name;
    /* Opens the index of a tenant (the store handle is borrowed and must
     * outlive the index). Returns owned state. */
    LORE_MUST_CHECK lore_status (*open)(store_tenant *t, const lex_params *p, void **state);
    void (*close)(void *state);
    /* Starts a write batch inside the caller's store transaction. */
    LORE_MUST_CHECK lore_status (*begin)(void *state);
    /* Indexes one chunk; chunk ids must ascend within a batch and exceed every
     * id indexed before. *nterms receives the chunk's "all" field length,
     * which the caller stores and hands back to remove. */
    LORE_MUST_CHECK lore_status (*add)(void *state, int64_t chunk_id, const char *title,
                                       size_t title_len, const char *text, size_t text_len,
                                       uint32_t *nterms);
    /* Removes a chunk. nterms: the length the store holds for it
     * (store_doc_chunks), which is add's *nterms unless a rebuild has
     * rewritten it since (store_chunk_set_nterms). */
    LORE_MUST_CHECK lore_status (*remove)(void *state, int64_t chunk_id, uint32_t nterms);
    /* Writes the batch (and any merges it triggers) into the transaction. */
    LORE_MUST_CHECK lore_status (*flush)(void *state);
    /* Merges every segment into one, dropping deleted chunks; inside a batch
     * (begin .. flush). Makes df exact again; costs a full rewrite. */
    LORE_MUST_CHECK lore_status (*optimize)(void *state);
    /* Forgets an unflushed batch (after a rollback). */
    void (*abort)(void *state);
    LORE_MUST_CHECK lore_status (*search)(void *state, const lex_query *q, lex_result *out);
    LORE_MUST_CHECK lore_status (*stats)(void *state, lex_stats *out);
    /* Starts a rebuild (or keeps the running one); inside a batch (begin ..
     * flush). The rebuilt index uses the title_weight given at open to the
     * handle that starts it, whichever handle runs the steps; until it is
     * complete, searches read the old one. */
    LORE_MUST_CHECK lore_status (*rebuild_start)(void *state);
    /* Copies up to max_chunks more chunks (in chunk id order) into the
     * rebuild; when none remain, makes the rebuilt index the live one and
     * sets *finished = 1 once the old index's data is deleted too (that
     * deletion is bounded per step as well, so *finished may come a few
     * steps after the switch). Inside a batch, best as the batch's only
     * work. *copied gets how many chunks this step copied. A step rolled
     * back (abort + store_rollback) leaves no trace and can simply run again;
     * with no rebuild running, *finished = 1 at once. max_chunks > 0. May
     * rewrite the nterms the store holds for the chunks it copies (the
     * rebuilt index may score them with other lengths). */
    LORE_MUST_CHECK lore_status (*rebuild_step)(void *state, size_t max_chunks, int *finished,
                                                uint64_t *copied);
    /* Whether a rebuild is running (steps remain: copying, or deleting the
     * old index's data), and its cursor (last chunk id copied; 0 before the
     * first copy and after the switch). Reads the committed state (or this
     * handle's open transaction). */
    LORE_MUST_CHECK lore_status (*rebuild_status)(void *state, int *running, int64_t *cursor);
} index_lexical_ops;

extern const index_lexical_ops index_lexical_bm25;

void lex_params_default(lex_params *p);
void lex_result_free(lex_result *r);

#endif
