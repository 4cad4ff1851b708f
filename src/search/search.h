/* Search: a user's query -> a page of ranked, permitted, highlighted hits.
 *
 * Modes (search_mode): lexical (BM25, below), semantic (the query's plain
 * words embedded with the model of the tenant's live vector slot and the
 * nearest chunks asked of the vector index, search_vector.c) and hybrid
 * (both rankings fused by reciprocal rank fusion, search_fusion.c). Filters
 * and ACLs apply inside both retrievals through the same admit callback.
 *
 * Lexical pipeline: parse the query (query.h), analyze every clause with the same
 * analyzer the index used, ask the lexical index for the top k chunks with
 * an admit callback that applies filters (sources, dates, author), the
 * caller's principals against each document's ACL, and phrase checks inside
 * the retrieval (so a page is never short because of filtering), keep the
 * best chunk per document, then read each hit's chunk and build a snippet.
 *
 * Threads: a search_engine is used by one thread at a time. */
#ifndef LORE_SEARCH_SEARCH_H
#define LORE_SEARCH_SEARCH_H

#include <stddef.h>
#include <stdint.h>
#include "index/lexical/index_lexical.h"
#include "store/store.h"
#include "tenant/tenant_ctx.h"
#include "util/status.h"

#define SEARCH_MAX_LIMIT 1000
#define SEARCH_DEFAULT_LIMIT 10
/* Most chunks one semantic retrieval asks the filters and ACL about (one
 * store read each). Only a filter or ACL that admits almost nothing reaches
 * it: the vector index then falls back to asking about every chunk. Past
 * it the hits found so far are the answer, with truncated set. */
#define SEARCH_VECTOR_ADMIT_BUDGET 100000
/* Most plain (ranked) terms one search evaluates. A longer query keeps its
 * most selective terms (highest idf) and reports the rest as dropped. The
 * figure comes from bench/long_query.c (see bench/README.md). */
#define SEARCH_MAX_SCORED_TERMS 256
/* like=: how much of the document (title, then text) is read for its terms. */
#define SEARCH_LIKE_MAX_BYTES 32768
/* Most dropped terms a response lists (dropped_total counts them all). */
#define SEARCH_MAX_LISTED_DROPPED 256

typedef struct search_engine search_engine;

typedef enum search_mode {
    SEARCH_MODE_DEFAULT = 0, /* hybrid when the tenant context has embedders, else lexical */
    SEARCH_MODE_LEXICAL,
    SEARCH_MODE_SEMANTIC,
    SEARCH_MODE_HYBRID,
} search_mode;

/* "lexical", "semantic", "hybrid" ("default" for SEARCH_MODE_DEFAULT). */
const char *search_mode_name(search_mode m);
/* Parses a mode name; -1 when it is none of the three. */
int search_mode_parse(const char *s, search_mode *out);

typedef struct search_request {
    /* The query text (valid UTF-8, at most QUERY_MAX_BYTES), or NULL with
     * like set. */
    const char *query;
    /* "More like this": the id of a document; its most selective terms are
     * the query and it comes first. Exclusive with query. A document the
     * caller may not see is LORE_NOT_FOUND, as a missing one. */
    const char *like;
    size_t limit;               /* hits wanted; 0 = default; at most SEARCH_MAX_LIMIT */
    const char *const *sources; /* only these sources (OR); NULL/0 = all */
    size_t nsources;
    int64_t since_ms, until_ms; /* updated-at window, 0 = open */
    const char *author;         /* exact author, NULL = any */
    /* Metadata equality (AND): metadata[key] is the string value, a number or
     * boolean whose JSON text is the value, or an array holding one of those.
     * A key with dots that names no top-level key is a path into nested
     * objects ("github.repository"). */
    const char *const *meta_keys;
    const char *const *meta_values;
    size_t nmeta;
    size_t offset; /* skip this many hits (paging); offset + limit <= SEARCH_MAX_LIMIT */
    /* The caller's principals ("user:a@x", "group:eng"). all_access = 1
     * (tenant administrators, the local CLI) sees every document; otherwise a
     * document is visible when its ACL is empty or names one of these. */
    const char *const *principals;
    size_t nprincipals;
    int all_access;
    int literal; /* the whole query is plain words: no phrases, -, or field: */
    /* Plain terms to evaluate at most: 0 = SEARCH_MAX_SCORED_TERMS. Not a
     * user setting: benchmarks and tests move it (up to LEX_MAX_QUERY_TERMS). */
    size_t max_terms;
    /* Chunks the vector search may ask the filters and ACL about: 0 =
     * SEARCH_VECTOR_ADMIT_BUDGET. Not a user setting: tests move it. */
    size_t vector_admit_budget;
    int snippets;  /* build highlighted snippets */
    int with_text; /* include each hit's chunk text */
    /* Which retrievers run (like= always runs lexically). */
    search_mode mode;
    int explain; /* fill each hit's explain */
} search_request;

/* Why a hit ranks where it does: its rank (1-based, in the retriever's own
 * order before paging) and score in each retriever that found it, and the
 * fused score sum(w / (k + rank)) over them. */
typedef struct search_explain {
    int has_lexical, has_semantic;
    size_t lexical_rank, semantic_rank;
    double lexical_score, semantic_score; /* BM25; cosine similarity */
    double fused;
} search_explain;

typedef struct search_span {
    uint32_t start, end; /* byte range in the snippet */
} search_span;

typedef struct search_hit {
    store_doc *doc; /* owned, without text */
    int64_t chunk_id;
    char *section; /* owned */
    uint32_t start, end;
    double score;
    char *snippet;      /* owned or NULL */
    search_span *marks; /* owned: matched terms inside the snippet */
    size_t nmarks;
    char *text;             /* owned chunk text, when asked for */
    search_explain explain; /* when the request asked for it */
} search_hit;

typedef struct search_response {
    search_hit *hits; /* owned, best first */
    size_t n;
    int64_t took_us;
    uint64_t postings_scored;
    uint64_t postings_total; /* postings of the evaluated terms, scored or skipped */
    int more;                /* hits exist past this page */
    int truncated;    /* a work budget ran out (phrase checks, vector admissions): hits may be
                         missing */
    char notice[160]; /* a note for the user, e.g. "only stop words in query" */
    /* Plain terms left out past SEARCH_MAX_SCORED_TERMS (analyzed form),
     * least selective first; at most SEARCH_MAX_LISTED_DROPPED listed, of
     * dropped_total. Owned. */
    char **dropped;
    size_t ndropped, dropped_total;
    size_t terms_searched; /* plain terms evaluated */
    search_mode mode;      /* the mode that ran (never DEFAULT) */
    /* The embedding provider's error: in hybrid mode the hits are the
     * lexical ranking alone; in semantic mode search_run failed (LORE_IO). */
    char semantic_error[512];
} search_response;

/* What a front end (REST, MCP) holds for one caller while it answers: the
 * caller's tenant, open on the calling thread, its engine, and whose ACLs
 * apply. Everything is borrowed for the length of one request. */
typedef struct search_scope {
    const char *tenant_name;
    store_tenant *tenant;
    search_engine *engine;
    store_viewer viewer;
    const char *subject; /* who, for logs: "lore_<key id>" or "jwt:<sub>" */
} search_scope;

/* Creates an engine over an open tenant context (borrowed: its store
 * handle, indexes and embedders; it must outlive the engine). Hybrid
 * fusion uses the context's settings (tenant_settings.rrf_k, w_*). */
LORE_MUST_CHECK lore_status search_engine_new(tenant_ctx *ctx, search_engine **out);
void search_engine_free(search_engine *e);

/* Runs a search. On failure err has one line for the user. Besides the
 * parse errors (LORE_INVALID, LORE_TOO_LARGE) and like='s LORE_NOT_FOUND:
 *   LORE_UNSUPPORTED  semantic or hybrid asked, no embedder configured
 *                     (err names embed_url);
 *   LORE_IO with out->semantic_error set: semantic mode, the embedding
 *                     provider failed (err names the provider).
 * A tenant with nothing embedded yet answers semantic with no hits and a
 * notice (hybrid: the lexical hits). */
LORE_MUST_CHECK lore_status search_run(search_engine *e, const search_request *req,
                                       search_response *out, char *err, size_t errlen);
void search_response_free(search_response *r);

#endif
