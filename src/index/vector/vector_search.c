/* Searching the persisted vector index: the graph (shared, read-locked)
 * answers with chunks the caller's admit callback accepted, filters and
 * ACLs being applied inside the walk; the hits collapse to one per group
 * (document), and when groups repeat the page is widened and the graph
 * asked again (the admit answers are remembered, so each chunk is asked
 * about once per search). Re-ranking reads the float32 rows. */
#include <stdlib.h>
#include <string.h>

#include "index/vector/vector_int.h"

typedef struct admit_entry {
    int64_t id, group;
    int8_t state; /* 0 empty, 1 admitted, 2 rejected */
} admit_entry;

typedef struct search_ctx {
    vec_index *x;
    const vec_query *q;
    admit_entry *tab;
    size_t cap, used;
    int failed; /* the callback answered -1, or memory ran out */
    uint64_t calls;
    lore_buf fbuf;
} search_ctx;

static size_t slot_of(const search_ctx *c, int64_t id) {
    uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15u;
    return (size_t)(h >> 17) & (c->cap - 1);
}

static admit_entry *lookup(search_ctx *c, int64_t id) {
    size_t i = slot_of(c, id);
    while (c->tab[i].state && c->tab[i].id != id)
        i = (i + 1) & (c->cap - 1);
    return &c->tab[i];
}

static int grow(search_ctx *c) {
    size_t ncap = c->cap ? c->cap * 2 : 256;
    admit_entry *old = c->tab;
    size_t ocap = c->cap;
    if (!(c->tab = calloc(ncap, sizeof *c->tab))) {
        c->tab = old;
        return -1;
    }
    c->cap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].state) *lookup(c, old[i].id) = old[i];
    free(old);
    return 0;
}

static int admit_cb(void *ctx, int64_t id) {
    search_ctx *c = ctx;
    if (c->failed) return 0;
    if ((c->used + 1) * 2 > c->cap && grow(c) != 0) {
        c->failed = 1;
        return 0;
    }
    admit_entry *e = lookup(c, id);
    if (e->state) return e->state == 1;
    int64_t group = id;
    int r = c->q->admit(c->q->admit_ctx, id, &group);
    c->calls++;
    if (r < 0) {
        c->failed = 1;
        return 0;
    }
    e->id = id, e->group = group, e->state = r ? 1 : 2;
    c->used++;
    return r == 1;
}

static int fetch_cb(void *ctx, int64_t id, float *out, uint32_t dims) {
    search_ctx *c = ctx;
    uint8_t key[8];
    vec_chunk_key(id, key);
    if (store_kv_get(c->x->t, vec_ns_floats(c->x->own.slot), key, 8, &c->fbuf) != LORE_OK ||
        c->fbuf.len != (size_t)dims * 4)
        return 1; /* scored by its int8 vector */
    memcpy(out, c->fbuf.data, c->fbuf.len);
    return 0;
}

/* Collapses hits to one per group (the first, best, of each); returns the
 * number of groups kept in out (at most k). */
static size_t collapse(search_ctx *c, const hnsw_hit *hits, size_t n, vec_hit *out, size_t k) {
    size_t m = 0;
    for (size_t i = 0; i < n && m < k; i++) {
        int64_t group = hits[i].id;
        if (c->q->admit) {
            admit_entry *e = lookup(c, hits[i].id);
            if (e->state != 1) continue; /* cannot happen: hnsw admitted it */
            group = e->group;
        }
        size_t j = 0;
        while (j < m && out[j].group != group)
            j++;
        if (j < m) continue;
        out[m].chunk_id = hits[i].id, out[m].group = group, out[m].score = hits[i].score;
        m++;
    }
    return m;
}

static lore_status run(search_ctx *c, vec_result *out) {
    const vec_query *q = c->q;
    vec_shared *sh = c->x->own.sh;
    size_t kk = q->k * 2 < HNSW_MAX_K ? q->k * 2 : HNSW_MAX_K;
    hnsw_hit *hits = NULL;
    lore_status st = LORE_OK;
    out->hits = calloc(q->k, sizeof *out->hits);
    if (!out->hits) return LORE_NOMEM;
    for (;;) {
        hnsw_hit *nh = realloc(hits, kk * sizeof *nh);
        if (!nh) {
            st = LORE_NOMEM;
            break;
        }
        hits = nh;
        hnsw_query hq = {.vec = q->vec,
                         .k = kk,
                         .ef = q->ef,
                         .admit = q->admit ? admit_cb : NULL,
                         .admit_ctx = c,
                         .candidates = q->candidates,
                         .n_candidates = q->n_candidates,
                         .selectivity = q->selectivity,
                         .fetch = fetch_cb,
                         .fetch_ctx = c};
        if (hq.ef && hq.ef < kk) hq.ef = (uint32_t)kk;
        size_t n = 0;
        pthread_rwlock_rdlock(&sh->lock);
        st = sh->h && !sh->stale ? hnsw_search(sh->h, &hq, hits, &n) : LORE_BUSY;
        pthread_rwlock_unlock(&sh->lock);
        out->rounds++;
        if (st == LORE_OK && c->failed) st = LORE_INTERNAL;
        if (st != LORE_OK) break;
        out->n = collapse(c, hits, n, out->hits, q->k);
        if (out->n >= q->k || n < kk || kk >= HNSW_MAX_K) break;
        kk = kk * 4 < HNSW_MAX_K ? kk * 4 : HNSW_MAX_K;
    }
    free(hits);
    return st;
}

lore_status vec_search(void *state, const vec_query *q, vec_result *out) {
    vec_index *x = state;
    memset(out, 0, sizeof *out);
    if (!q || !q->vec || q->k == 0 || q->k > VEC_MAX_K)
        return vec_fail(x, LORE_INVALID, "a vector query needs a vector and k in 1..%d", VEC_MAX_K);
    if (q->ef > HNSW_MAX_EF)
        return vec_fail(x, LORE_INVALID, "ef %u is past the cap %d", q->ef, HNSW_MAX_EF);
    int began;
    lore_status st = vec_read_begin(x, &began);
    if (st != LORE_OK) return st;
    if (!x->own.sh) {
        if (began) store_end_read(x->t);
        return vec_fail(x, LORE_NOT_FOUND, "no vector slot holds model '%s'", x->key);
    }
    search_ctx c = {.x = x, .q = q};
    lore_buf_init(&c.fbuf, VEC_BUF_CAP);
    /* A stale graph (another thread's batch aborted since the resolve) is
     * reloaded and the search run again. */
    for (int tries = 0; tries < 3; tries++) {
        st = run(&c, out);
        if (st != LORE_BUSY) break;
        vec_result_free(out);
        if ((st = vec_attach(x, &x->own, x->own.slot, 1)) != LORE_OK) break;
        st = LORE_BUSY;
    }
    out->admit_calls = c.calls;
    if (began) store_end_read(x->t);
    free(c.tab);
    lore_buf_free(&c.fbuf);
    if (st == LORE_INTERNAL && c.failed)
        return vec_fail(x, LORE_INTERNAL, "the admit callback failed during a vector search");
    if (st != LORE_OK) {
        vec_result_free(out);
        return vec_fail(x, st, "vector search failed");
    }
    return LORE_OK;
}
