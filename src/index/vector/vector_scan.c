/* Listing a slot's vectors (index_vector.h, scan): the float rows of the
 * handle's slot in chunk id order, each checked against the shared graph,
 * so an audit can prove every vector is there exactly once. */
#include <string.h>

#include "index/vector/vector_int.h"

typedef struct scan_ctx {
    vec_index *x;
    vec_scan_fn fn;
    void *ctx;
    int stopped;
    lore_status st;
} scan_ctx;

static int64_t chunk_of(const uint8_t key[8]) {
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = u << 8 | key[i];
    return (int64_t)(u ^ (1ull << 63));
}

static int on_row(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen) {
    (void)val;
    scan_ctx *s = ctx;
    if (klen != 8 || vlen != (size_t)s->x->p.dims * 4) {
        s->st = vec_fail(s->x, LORE_CORRUPT, "a float row of vector slot %c is damaged",
                         'A' + s->x->own.slot);
        return 1;
    }
    int64_t id = chunk_of(key);
    vec_shared *sh = s->x->own.sh;
    pthread_rwlock_rdlock(&sh->lock);
    int in_graph = sh->h && hnsw_contains(sh->h, id);
    pthread_rwlock_unlock(&sh->lock);
    if (s->fn(s->ctx, id, in_graph)) s->stopped = 1;
    return s->stopped;
}

lore_status vec_scan(void *state, int64_t after, int64_t before, vec_scan_fn fn, void *ctx) {
    vec_index *x = state;
    int began;
    lore_status st = vec_read_begin(x, &began);
    if (st != LORE_OK) return st;
    if (!x->own.sh) {
        if (began) store_end_read(x->t);
        return vec_fail(x, LORE_NOT_FOUND, "no vector slot holds model '%s'", x->key);
    }
    uint8_t lo[8], hi[8];
    vec_chunk_key(after == INT64_MAX ? after : after + 1, lo);
    if (before) vec_chunk_key(before, hi);
    scan_ctx s = {x, fn, ctx, 0, LORE_OK};
    st = store_kv_scan(x->t, vec_ns_floats(x->own.slot), lo, 8, before ? hi : NULL, before ? 8 : 0,
                       on_row, &s);
    if (st == LORE_OK) st = s.st;
    if (began) store_end_read(x->t);
    return st;
}
