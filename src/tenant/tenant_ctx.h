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

struct lore_config;
struct index_vector_ops; /* src/index/vector/index_vector.h */
struct embedder_ops;     /* src/embed/embed.h */
struct embedder;

/* How a tenant's indexes are opened. */
typedef struct tenant_settings {
    lex_params lex; /* BM25 and the title weight */
    /* The process's embedder (borrowed, thread-safe; ops NULL: none). Only
     * handed to the contexts: they neither open nor close it. */
    const struct embedder_ops *embedder;
    struct embedder *embedder_state;
} tenant_settings;

/* Defaults (lex_params_default, no embedder). */
void tenant_settings_default(tenant_settings *s);
/* The settings from the configuration (bm25_k1, bm25_b, title_weight). The
 * one place that turns those keys into index parameters. */
void tenant_settings_from_config(tenant_settings *s, const struct lore_config *c);

/* One index of the set: its table and its state (ops NULL: absent). */
typedef struct tenant_index_lexical {
    const index_lexical_ops *ops;
    void *state;
} tenant_index_lexical;

typedef struct tenant_index_vector {
    const struct index_vector_ops *ops;
    void *state;
} tenant_index_vector;

/* The indexes of a tenant. Version 1: lexical (always open) and vector
 * (NULL until src/index/vector/ exists). A new index kind adds a slot and
 * bumps the version. */
#define TENANT_INDEX_SET_VERSION 1
typedef struct tenant_index_set {
    int version; /* TENANT_INDEX_SET_VERSION */
    tenant_index_lexical lexical;
    tenant_index_vector vector;
} tenant_index_set;

typedef struct tenant_ctx {
    char name[STORE_NAME_MAX + 1];
    store_tenant *store; /* owned unless the context was attached */
    int owns_store;
    tenant_index_set index;
    /* The embedder (borrowed from the settings; ops NULL: none). */
    const struct embedder_ops *embedder;
    struct embedder *embedder_state;
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
