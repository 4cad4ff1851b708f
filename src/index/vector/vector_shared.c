/* The process's shared graphs: one per (scope, tenant, slot), refcounted,
 * and bringing one up to a slot's committed rows: a whole load when it is
 * new (or too far behind, or of another incarnation of the slot), else only
 * the nodes the change log names since the generation it reflects. Loading
 * computes no distance (hnsw_load_*). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/vector/vector_int.h"

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static vec_shared *registry;

lore_status vec_shared_get(const char *scope, const char *tenant, int slot, vec_shared **out) {
    size_t n = strlen(scope) + strlen(tenant) + 5;
    char *name = malloc(n);
    if (!name) return LORE_NOMEM;
    snprintf(name, n, "%s\x1f%s\x1f%c", scope, tenant, 'A' + slot);
    pthread_mutex_lock(&registry_mu);
    vec_shared *sh = registry;
    while (sh && strcmp(sh->name, name) != 0)
        sh = sh->next;
    if (sh) {
        sh->refs++;
        free(name);
    } else if ((sh = calloc(1, sizeof *sh)) != NULL) {
        sh->name = name;
        sh->refs = 1;
        /* Writers first: a steady stream of searches must not starve a batch. */
        pthread_rwlockattr_t at;
        pthread_rwlockattr_init(&at);
#ifdef __GLIBC__
        pthread_rwlockattr_setkind_np(&at, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
        pthread_rwlock_init(&sh->lock, &at);
        pthread_rwlockattr_destroy(&at);
        sh->next = registry;
        registry = sh;
    } else {
        free(name);
    }
    pthread_mutex_unlock(&registry_mu);
    *out = sh;
    return sh ? LORE_OK : LORE_NOMEM;
}

void vec_shared_put(vec_shared *sh) {
    if (!sh) return;
    pthread_mutex_lock(&registry_mu);
    int last = --sh->refs == 0;
    if (last) {
        vec_shared **p = &registry;
        while (*p != sh)
            p = &(*p)->next;
        *p = sh->next;
    }
    pthread_mutex_unlock(&registry_mu);
    if (!last) return;
    hnsw_free(sh->h);
    pthread_rwlock_destroy(&sh->lock);
    free(sh->pending), free(sh->name), free(sh);
}

unsigned vec_shared_refs(vec_shared *sh) {
    pthread_mutex_lock(&registry_mu);
    unsigned n = sh->refs;
    pthread_mutex_unlock(&registry_mu);
    return n;
}

void vec_shared_mark_stale(vec_shared *sh, const uint32_t *nodes, size_t n, int all) {
    sh->stale = 1;
    if (all || sh->npending + n > VEC_LOG_MAX_NODES) {
        hnsw_free(sh->h); /* reload everything */
        sh->h = NULL, sh->npending = 0;
        return;
    }
    if (sh->npending + n > sh->cap_pending) {
        size_t cap = (sh->npending + n) * 2;
        uint32_t *p = realloc(sh->pending, cap * sizeof *p);
        if (!p) {
            hnsw_free(sh->h);
            sh->h = NULL, sh->npending = 0;
            return;
        }
        sh->pending = p, sh->cap_pending = cap;
    }
    if (n) memcpy(sh->pending + sh->npending, nodes, n * sizeof *nodes);
    sh->npending += n;
}

/* ---- whole load ---- */

typedef struct load_ctx {
    hnsw *h;
    lore_status st;
    uint64_t n;
} load_ctx;

static uint32_t key_node(const uint8_t *k) {
    return (uint32_t)k[0] << 24 | (uint32_t)k[1] << 16 | (uint32_t)k[2] << 8 | k[3];
}

static int load_one(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen) {
    load_ctx *c = ctx;
    c->st = klen == 4 ? hnsw_load_node(c->h, key_node(key), val, vlen) : LORE_CORRUPT;
    c->n++;
    return c->st != LORE_OK;
}

static lore_status full_load(vec_shared *sh, store_tenant *t, int slot, const vec_head *hd) {
    load_ctx c = {NULL, LORE_OK, 0};
    lore_status st = hnsw_load_begin(hd->hnsw_hdr, HNSW_HEADER_BYTES, 0, &c.h);
    if (st != LORE_OK) return st;
    if ((st = store_kv_scan(t, vec_ns_nodes(slot), "", 0, NULL, 0, load_one, &c)) == LORE_OK)
        st = c.st;
    if (st == LORE_OK) st = hnsw_load_finish(c.h);
    if (st != LORE_OK) {
        hnsw_free(c.h);
        return st;
    }
    hnsw_free(sh->h);
    sh->h = c.h;
    sh->instance = hd->instance, sh->gen = hd->gen;
    sh->stale = 0, sh->npending = 0;
    sh->full_loads++, sh->nodes_loaded += c.n;
    return LORE_OK;
}

/* ---- partial reload ---- */

static lore_status add_pending(vec_shared *sh, const uint8_t *ids, size_t n) {
    if (sh->npending + n > VEC_LOG_MAX_NODES) return LORE_TOO_LARGE;
    if (sh->npending + n > sh->cap_pending) {
        size_t cap = (sh->npending + n) * 2;
        uint32_t *p = realloc(sh->pending, cap * sizeof *p);
        if (!p) return LORE_NOMEM;
        sh->pending = p, sh->cap_pending = cap;
    }
    for (size_t i = 0; i < n; i++) {
        const uint8_t *b = ids + 4 * i;
        sh->pending[sh->npending++] =
            (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    }
    return LORE_OK;
}

/* Gathers the nodes changed in generations (sh->gen, hd->gen]; LORE_TOO_LARGE
 * when one of them asks for a whole reload. */
static lore_status gather_log(vec_shared *sh, store_tenant *t, int slot, const vec_head *hd,
                              lore_buf *buf) {
    for (uint64_t g = sh->gen + 1; g <= hd->gen; g++) {
        uint8_t key[9];
        vec_log_key(g, key);
        lore_status st = store_kv_get(t, vec_ns_meta(slot), key, sizeof key, buf);
        if (st == LORE_NOT_FOUND) return LORE_TOO_LARGE; /* trimmed */
        if (st != LORE_OK) return st;
        if (buf->len < 1 || (buf->len - 1) % 4) return LORE_CORRUPT;
        if (buf->data[0] & 1) return LORE_TOO_LARGE;
        if ((st = add_pending(sh, (const uint8_t *)buf->data + 1, (buf->len - 1) / 4)) != LORE_OK)
            return st;
    }
    return LORE_OK;
}

static lore_status partial_load(vec_shared *sh, store_tenant *t, int slot, const vec_head *hd,
                                lore_buf *buf) {
    lore_status st = gather_log(sh, t, slot, hd, buf);
    if (st == LORE_OK) st = hnsw_load_header(sh->h, hd->hnsw_hdr, HNSW_HEADER_BYTES);
    for (size_t i = 0; i < sh->npending && st == LORE_OK; i++) {
        uint8_t key[4];
        vec_node_key(sh->pending[i], key);
        st = store_kv_get(t, vec_ns_nodes(slot), key, 4, buf);
        if (st == LORE_OK)
            st = hnsw_load_node(sh->h, sh->pending[i], (const uint8_t *)buf->data, buf->len);
        else if (st == LORE_NOT_FOUND)
            st = hnsw_load_free(sh->h, sh->pending[i]);
    }
    if (st == LORE_OK) st = hnsw_load_finish(sh->h);
    if (st != LORE_OK) return st;
    sh->nodes_loaded += sh->npending;
    sh->gen = hd->gen, sh->stale = 0, sh->npending = 0;
    return LORE_OK;
}

lore_status vec_shared_refresh(vec_shared *sh, store_tenant *t, int slot, const vec_head *hd,
                               lore_buf *buf) {
    if (sh->h && !sh->stale && sh->instance == hd->instance && sh->gen >= hd->gen)
        return LORE_OK; /* current (or ahead: this process's batch, not yet committed) */
    if (sh->h && sh->instance == hd->instance &&
        (sh->gen >= hd->gen || sh->gen + 1 >= hd->log_min)) {
        lore_status st = partial_load(sh, t, slot, hd, buf);
        if (st == LORE_NOMEM || st == LORE_IO) return st;
        if (st == LORE_OK) return LORE_OK;
        /* trimmed log, a whole-reload entry, shrunk slots: load it all */
    }
    return full_load(sh, t, slot, hd);
}
