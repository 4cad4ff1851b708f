/* The tenant context: everything the write path (ingest/) and the read path
 * (search/) need to reach one tenant, built in one place.
 *
 * A context holds
 *   - the tenant's store handle (single-thread, like every store handle);
 *   - its index set: a table of functions and its state per index kind
 *     (the lexical index always; a vector index once src/index/vector/
 *     fills its slot), versioned so a new kind is a new slot;
 *   - an optional embedder (src/embed/), borrowed from the settings: one
 *     embedder serves every tenant and thread of the process;
 *   - the settings it was opened with (tenant_settings, built from the
 *     configuration by tenant_settings_from_config, once).
 *
 * tenant_ctx_open is the only code that names an index implementation
 * (index_lexical_bm25 today): a new index or embedder is a new folder that
 * fills a table, plus its line here. Everything above (ingest, search, the
 * job handlers, the API, the CLI) goes through the context.
 *
 * tenant_cache keeps a few contexts open on one thread, least recently used
 * out first: the API's request threads and the job workers each keep one. */
#ifndef LORE_TENANT_TENANT_CTX_H
#define LORE_TENANT_TENANT_CTX_H

#include <stddef.h>
#include <stdint.h>
#include "index/lexical/index_lexical.h"
#include "store/store.h"
#include "util/status.h"

#include "index/vector/index_vector.h"

struct lore_config;
struct embed_registry; /* src/embed/embed_registry.h */

/* How a tenant's indexes are opened. */
typedef struct tenant_settings {
    lex_params lex; /* BM25 and the title weight */
    /* The process's embedders (borrowed, thread-safe; NULL: no embedder is
     * configured, so no semantic search and no embedding jobs). Only handed
     * to the contexts: they neither open nor free it. */
    struct embed_registry *embedders;
    /* The data directory: names the store for the vector index's shared
     * graphs (vec_params.scope). NULL: no vector index is opened (and
     * tenant_ctx_vector fails). Borrowed. */
    const char *vec_scope;
    hnsw_metric vec_metric; /* HNSW_COSINE unless a test says otherwise */
    /* Hybrid search: reciprocal rank fusion's k and each retriever's weight
     * (hybrid_rrf_k, hybrid_weight_lexical, hybrid_weight_semantic). */
    double rrf_k, w_lexical, w_semantic;
} tenant_settings;

/* Defaults (lex_params_default, no embedder, no vector scope). */
void tenant_settings_default(tenant_settings *s);
/* The settings from the configuration (bm25_k1, bm25_b, title_weight, the
 * hybrid_* fusion settings, and data_dir as the vector scope; the embedders are the caller's to
 * set). The one place that turns those keys into index parameters. */
void tenant_settings_from_config(tenant_settings *s, const struct lore_config *c);

/* One index of the set: its table and its state (ops NULL: absent). */
typedef struct tenant_index_lexical {
    const index_lexical_ops *ops;
    void *state;
} tenant_index_lexical;

/* A vector index handle, opened for one model key (index_vector.h). */
typedef struct tenant_index_vector {
    const index_vector_ops *ops; /* NULL: the entry is free */
    void *state;
    char key[VEC_MODEL_KEY_MAX + 1];
    uint32_t dims; /* as opened (0: the slot's own) */
    uint64_t used; /* LRU clock */
} tenant_index_vector;

/* Vector handles one context keeps open (the live model's, the one being
 * built, and one for reading the slot state). */
#define TENANT_VECTOR_HANDLES 3

/* The indexes of a tenant. Version 2: lexical (always open) and vector
 * handles by model key, opened on first use (tenant_ctx_vector). A new index
 * kind adds a slot and bumps the version. */
#define TENANT_INDEX_SET_VERSION 2
/* Nodes of its slot each vector batch's flush looks at to repair the
 * tombstones of deleted vectors (vec_params.repair_budget): a pass over
 * the graph advances with the writes, a bounded cost per batch. */
#define TENANT_VEC_REPAIR_BUDGET 4096
typedef struct tenant_index_set {
    int version; /* TENANT_INDEX_SET_VERSION */
    tenant_index_lexical lexical;
    tenant_index_vector vector[TENANT_VECTOR_HANDLES];
    uint64_t vector_tick;
} tenant_index_set;

typedef struct tenant_ctx {
    char name[STORE_NAME_MAX + 1];
    store_tenant *store; /* owned unless the context was attached */
    int owns_store;
    tenant_index_set index;
    /* The embedders (borrowed from the settings; NULL: none). */
    struct embed_registry *embedders;
    tenant_settings settings;
} tenant_ctx;

/* Opens tenant name of control store s (the handle is borrowed only during
 * the call) and its indexes. settings NULL: the defaults. LORE_NOT_FOUND
 * when the tenant does not exist. *out is owned: tenant_ctx_close. */
LORE_MUST_CHECK lore_status tenant_ctx_open(store *s, const char *name,
                                            const tenant_settings *settings, tenant_ctx **out);
/* Opens the indexes over a tenant handle the caller already holds
 * (borrowed: it must outlive the context, which never closes it). For
 * tools and tests that open the store themselves. */
LORE_MUST_CHECK lore_status tenant_ctx_attach(store_tenant *t, const tenant_settings *settings,
                                              tenant_ctx **out);
/* Closes the indexes, then the store handle if the context owns it. */
void tenant_ctx_close(tenant_ctx *c);

/* The tenant's vector index handle for model_key (an embedder's key),
 * opened on first use and kept with the context (at most
 * TENANT_VECTOR_HANDLES keys; the least recently used is closed). dims: the
 * vectors' length, or 0 for the slot's own (a handle opened with 0 reads,
 * removes and searches, but cannot create a slot: its first batch of a tenant
 * with no live slot fails). A handle asked for again with a different
 * non-zero dims is reopened. LORE_INVALID (with the reason in err) when the
 * settings give no vector scope or the key is too long. Like the store
 * handle, the handles are used by one thread at a time. */
LORE_MUST_CHECK lore_status tenant_ctx_vector(tenant_ctx *c, const char *model_key, uint32_t dims,
                                              tenant_index_vector **out, char *err, size_t errlen);
/* The tenant's committed slot state: the live model key ("" when nothing
 * was embedded yet), the key being built and the phase (rebuild_status of
 * a reading handle). */
LORE_MUST_CHECK lore_status tenant_ctx_vector_status(tenant_ctx *c, vec_rebuild_status *out,
                                                     char *err, size_t errlen);

/* ---- a per-thread LRU of open contexts ---- */

#define TENANT_CACHE_MAX 16

typedef struct tenant_cache_entry {
    tenant_ctx *ctx; /* NULL: the slot is free */
    /* The caller's validity stamp (the job workers: the tenant's created_ms,
     * so a tenant deleted and created again is reopened). */
    int64_t stamp;
    /* What the caller keeps beside the context (the API: its search
     * engine), freed by the cache's user_free before the context closes. */
    void *user;
    uint64_t used; /* LRU clock */
} tenant_cache_entry;

typedef struct tenant_cache {
    tenant_cache_entry slots[TENANT_CACHE_MAX];
    size_t nslots;
    uint64_t tick;
    tenant_settings settings;
    void (*user_free)(void *user); /* may be NULL */
} tenant_cache;

/* nslots: 1 .. TENANT_CACHE_MAX (clamped). settings NULL: the defaults. */
void tenant_cache_init(tenant_cache *c, size_t nslots, const tenant_settings *settings,
                       void (*user_free)(void *user));
/* The entry of tenant name opened with stamp: the cached one when its stamp
 * matches, else one opened now through control (a cached one with another
 * stamp is closed first; when every slot is taken, the least recently used
 * is closed). The entry stays valid until the next call on this cache.
 * Errors as tenant_ctx_open's; nothing is cached then. */
LORE_MUST_CHECK lore_status tenant_cache_get(tenant_cache *c, store *control, const char *name,
                                             int64_t stamp, tenant_cache_entry **out);
/* Closes one entry (a handle that failed is not trusted again). */
void tenant_cache_drop(tenant_cache *c, tenant_cache_entry *e);
/* Closes the entry of tenant name, if cached. */
void tenant_cache_forget(tenant_cache *c, const char *name);
/* Closes every entry (the cache stays usable). */
void tenant_cache_clear(tenant_cache *c);

#endif
