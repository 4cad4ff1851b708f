/* Internals shared by the files of the HNSW index (not for other modules). */
#ifndef LORE_INDEX_VECTOR_HNSW_INT_H
#define LORE_INDEX_VECTOR_HNSW_INT_H

#include <pthread.h>
#include <string.h>
#include "index/vector/hnsw.h"
#include "index/vector/vector_dist.h"

enum {
    NODE_USED = 1,   /* the slot holds a node */
    NODE_TOMB = 2,   /* deleted: walked through, never returned */
    NODE_DOOMED = 4, /* tombstone freed when the current repair pass ends */
    NODE_DIRTY = 8,  /* record changed since the last hnsw_dirty_take */
    NODE_FLOAT = 16, /* vecf holds its float32 vector */
};

typedef struct hnsw_cand {
    float d; /* distance: minus the similarity */
    uint32_t node;
} hnsw_cand;

/* A binary heap of candidates: max-heap by d (worst on top) when max is 1. */
typedef struct hnsw_heap {
    hnsw_cand *v;
    size_t n, cap;
    int max;
} hnsw_heap;

/* A walk's scratch: a visited set (one byte tag per slot, 1/2 the footprint
 * of a u16 so more of it stays in cache; each layer search bumps
 * the generation) and the heaps' buffers, pooled across searches. */
typedef struct hnsw_visited {
    uint8_t *tag;
    size_t cap;
    uint8_t gen;
    hnsw_heap cand, res;
} hnsw_visited;

#define HNSW_POOL 8

struct hnsw {
    hnsw_params p;
    uint32_t m0;         /* links at level 0 (2*M) */
    size_t l0_stride;    /* uint32 per node in link0: count + m0 */
    uint32_t slots, cap; /* node indexes < slots; arrays sized cap */
    /* cap * vstride: per node the int8 vector zero-padded to d8 bytes (so
     * the kernels run without a scalar tail), then the f32 scale */
    uint8_t *vdata;
    size_t vstride;
    uint32_t d8;      /* dims rounded up to 16 */
    uint32_t *link0;  /* cap * l0_stride */
    uint32_t **upper; /* cap; levels 1..L, each count + M */
    int64_t *ids;     /* cap */
    uint8_t *level;   /* cap */
    uint8_t *flags;   /* cap */
    float *vecf;      /* cap * dims when keep_float */
    uint32_t entry;
    int max_level;
    uint64_t rng;
    double mult; /* level draw: floor(-ln(U) * mult) */
    /* id -> node, open addressing, linear probing, backward-shift delete */
    uint32_t *map_vals; /* HNSW_NONE: empty; the key is ids[val] (4 bytes a slot, not 12) */
    size_t map_cap, map_used;
    uint32_t *free_list;
    size_t n_free, free_cap;
    size_t n_live, n_tomb;
    uint32_t *dirty;
    size_t n_dirty, dirty_cap;
    /* repair pass */
    int pass_active;
    uint32_t pass_cursor;
    uint32_t load_slots; /* the header's slot count while loading */
    /* visited sets for concurrent searches */
    pthread_mutex_t pool_mu;
    hnsw_visited *pool[HNSW_POOL];
    int n_pool;
};

/* One graph walk: the query (int8 and scale), its visited set, its heaps,
 * and who may enter the result set. */
typedef struct hnsw_walk {
    const hnsw *h;
    const int8_t *q; /* d8 bytes, zero-padded like the rows */
    float qscale;
    hnsw_visited *vis;
    hnsw_heap cand, res;
    hnsw_admit_fn admit;
    void *admit_ctx;
    int plain; /* no filter and no tombstone: skip the admission test */
} hnsw_walk;

static inline uint32_t *hnsw_links(const hnsw *h, uint32_t n, int lc) {
    return lc == 0 ? h->link0 + (size_t)n * h->l0_stride
                   : h->upper[n] + (size_t)(lc - 1) * (h->p.M + 1);
}

static inline uint32_t hnsw_max_links(const hnsw *h, int lc) {
    return lc == 0 ? h->m0 : h->p.M;
}

static inline int8_t *hnsw_vec8(const hnsw *h, uint32_t n) {
    return (int8_t *)(h->vdata + (size_t)n * h->vstride);
}

/* Zeroes the padding after node n's int8 vector (after writing it). */
static inline void hnsw_pad8(hnsw *h, uint32_t n) {
    memset(hnsw_vec8(h, n) + h->p.dims, 0, h->d8 - h->p.dims);
}

static inline float hnsw_scale(const hnsw *h, uint32_t n) {
    float f;
    memcpy(&f, h->vdata + (size_t)n * h->vstride + h->d8, 4);
    return f;
}

static inline void hnsw_set_scale(hnsw *h, uint32_t n, float f) {
    memcpy(h->vdata + (size_t)n * h->vstride + h->d8, &f, 4);
}

/* Distance from node a to node b (int8; the zero padding adds nothing). */
static inline float hnsw_node_dist(const hnsw *h, uint32_t a, uint32_t b) {
    return -(hnsw_scale(h, a) * hnsw_scale(h, b) *
             (float)vdist_dot_i8(hnsw_vec8(h, a), hnsw_vec8(h, b), h->d8));
}

static inline float hnsw_query_dist(const hnsw_walk *w, uint32_t n) {
    return -(w->qscale * hnsw_scale(w->h, n) *
             (float)vdist_dot_i8(w->q, hnsw_vec8(w->h, n), w->h->d8));
}

/* hnsw.c */
void hnsw_mark_dirty(hnsw *h, uint32_t n);
/* id must already be in h->ids[node]. */
int hnsw_map_put(hnsw *h, int64_t id, uint32_t node);
void hnsw_map_del(hnsw *h, int64_t id);
/* Quantizes v (dims floats) into q and *scale; 0 for a zero vector. */
void hnsw_quantize(const float *v, uint32_t dims, int8_t *q, float *scale);
/* Normalizes (cosine) into out; LORE_INVALID for non-finite or zero. */
lore_status hnsw_prepare(const hnsw *h, const float *in, float *out);
lore_status hnsw_grow(hnsw *h, uint32_t want);
void hnsw_release_slot(hnsw *h, uint32_t n);

/* hnsw_walk.c */
void hnsw_heap_free(hnsw_heap *hp);
/* Pops until at most keep are left (the best keep of a max-heap). */
void hnsw_heap_trim(hnsw_heap *hp, size_t keep);
lore_status hnsw_walk_begin(hnsw_walk *w, const hnsw *h, const int8_t *q, float qscale);
void hnsw_walk_end(hnsw_walk *w);
uint32_t hnsw_greedy(hnsw_walk *w, uint32_t ep, int lc);
/* Best-first search of layer lc from ep keeping ef admitted results in
 * w->res (max-heap). admit_tomb 0 keeps tombstones out of the results. */
lore_status hnsw_walk_layer(hnsw_walk *w, uint32_t ep, uint32_t ef, int lc);
/* Keeps at most max of c[0..n) (sorted by d to base, ascending) by the
 * neighbour heuristic; returns how many, compacted at the front. */
size_t hnsw_select(const hnsw *h, hnsw_cand *c, size_t n, size_t max);
int hnsw_cand_cmp(const void *a, const void *b);

#endif
