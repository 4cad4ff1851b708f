/* The graph walk shared by inserts and searches: candidate heaps, visited
 * sets (pooled, so concurrent searches do not allocate per query), the
 * greedy descent of the upper layers, the best-first search of one layer
 * (paper, algorithm 2) and the neighbour-selection heuristic (algorithm 4). */
#include "index/vector/hnsw_int.h"
#include "index/vector/vector_dist_avx2.h"

#include <stdlib.h>
#include <string.h>

static int cand_before(const hnsw_heap *hp, const hnsw_cand *a, const hnsw_cand *b) {
    return hp->max ? a->d > b->d : a->d < b->d;
}

static inline lore_status heap_push(hnsw_heap *hp, float d, uint32_t node) {
    if (hp->n == hp->cap) {
        size_t nc = hp->cap ? hp->cap * 2 : 64;
        hnsw_cand *nv = realloc(hp->v, nc * sizeof *nv);
        if (!nv) return LORE_NOMEM;
        hp->v = nv, hp->cap = nc;
    }
    size_t i = hp->n++;
    hnsw_cand c = {d, node};
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!cand_before(hp, &c, &hp->v[p])) break;
        hp->v[i] = hp->v[p];
        i = p;
    }
    hp->v[i] = c;
    return LORE_OK;
}

static inline hnsw_cand heap_pop(hnsw_heap *hp) {
    hnsw_cand top = hp->v[0], last = hp->v[--hp->n];
    size_t i = 0, n = hp->n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && cand_before(hp, &hp->v[c + 1], &hp->v[c])) c++;
        if (!cand_before(hp, &hp->v[c], &last)) break;
        hp->v[i] = hp->v[c];
        i = c;
    }
    if (n) hp->v[i] = last;
    return top;
}

/* Replaces the top with (d, node) and sifts it down: a pop and a push in
 * one pass. */
static inline void heap_replace_top(hnsw_heap *hp, float d, uint32_t node) {
    hnsw_cand c = {d, node};
    size_t i = 0, n = hp->n;
    for (;;) {
        size_t k = 2 * i + 1;
        if (k >= n) break;
        if (k + 1 < n && cand_before(hp, &hp->v[k + 1], &hp->v[k])) k++;
        if (!cand_before(hp, &hp->v[k], &c)) break;
        hp->v[i] = hp->v[k];
        i = k;
    }
    hp->v[i] = c;
}

void hnsw_heap_trim(hnsw_heap *hp, size_t keep) {
    while (hp->n > keep)
        (void)heap_pop(hp);
}

void hnsw_heap_free(hnsw_heap *hp) {
    free(hp->v);
    hp->v = NULL, hp->n = hp->cap = 0;
}

int hnsw_cand_cmp(const void *a, const void *b) {
    const hnsw_cand *x = a, *y = b;
    if (x->d != y->d) return x->d < y->d ? -1 : 1;
    return x->node < y->node ? -1 : x->node > y->node;
}

static hnsw_visited *visited_get(const hnsw *hc) {
    hnsw *h = (hnsw *)hc; /* the pool is the one mutable part of a search */
    hnsw_visited *v = NULL;
    pthread_mutex_lock(&h->pool_mu);
    if (h->n_pool) v = h->pool[--h->n_pool];
    pthread_mutex_unlock(&h->pool_mu);
    if (!v && !(v = calloc(1, sizeof *v))) return NULL;
    if (v->cap < h->slots) {
        size_t nc = h->cap > h->slots ? h->cap : h->slots;
        uint8_t *nt = calloc(nc, sizeof *nt);
        if (!nt) {
            hnsw_heap_free(&v->cand), hnsw_heap_free(&v->res);
            free(v->tag), free(v);
            return NULL;
        }
        free(v->tag);
        v->tag = nt, v->cap = nc, v->gen = 0;
    }
    if (++v->gen == 0) {
        memset(v->tag, 0, v->cap * sizeof *v->tag);
        v->gen = 1;
    }
    return v;
}

static void visited_put(const hnsw *hc, hnsw_visited *v) {
    hnsw *h = (hnsw *)hc;
    pthread_mutex_lock(&h->pool_mu);
    if (h->n_pool < HNSW_POOL) {
        h->pool[h->n_pool++] = v;
        v = NULL;
    }
    pthread_mutex_unlock(&h->pool_mu);
    if (v) {
        hnsw_heap_free(&v->cand), hnsw_heap_free(&v->res);
        free(v->tag), free(v);
    }
}

lore_status hnsw_walk_begin(hnsw_walk *w, const hnsw *h, const int8_t *q, float qscale) {
    memset(w, 0, sizeof *w);
    w->h = h, w->q = q, w->qscale = qscale;
    if (!(w->vis = visited_get(h))) return LORE_NOMEM;
    w->cand = w->vis->cand, w->res = w->vis->res;
    w->cand.n = w->res.n = 0;
    w->cand.max = 0, w->res.max = 1;
    return LORE_OK;
}

void hnsw_walk_end(hnsw_walk *w) {
    if (!w->vis) return;
    w->vis->cand = w->cand, w->vis->res = w->res; /* the buffers go back too */
    visited_put(w->h, w->vis);
    w->vis = NULL;
}

/* A neighbour index from a record may name a slot that was freed since. */
static inline int node_ok(const hnsw *h, uint32_t n) {
    return n < h->slots && (h->flags[n] & NODE_USED);
}

uint32_t hnsw_greedy(hnsw_walk *w, uint32_t ep, int lc) {
    const hnsw *h = w->h;
    float best = hnsw_query_dist(w, ep);
    for (int moved = 1; moved;) {
        moved = 0;
        if (h->level[ep] < lc) break;
        const uint32_t *l = hnsw_links(h, ep, lc);
        for (uint32_t i = 0; i < l[0]; i++) {
            uint32_t n = l[1 + i];
            if (!node_ok(h, n) || h->level[n] < lc) continue;
            float d = hnsw_query_dist(w, n);
            if (d < best) best = d, ep = n, moved = 1;
        }
    }
    return ep;
}

static inline int admitted(const hnsw_walk *w, uint32_t n) {
    if (w->plain) return 1;
    if (w->h->flags[n] & NODE_TOMB) return 0;
    return !w->admit || w->admit(w->admit_ctx, w->h->ids[n]);
}

/* Offers node n at distance d to the result heap (if admitted). */
static inline __attribute__((always_inline)) lore_status offer(hnsw_walk *w, uint32_t n, float d,
                                                               uint32_t ef) {
    if (!admitted(w, n)) return LORE_OK;
    if (w->res.n < ef) return heap_push(&w->res, d, n);
    if (d < w->res.v[0].d) heap_replace_top(&w->res, d, n);
    return LORE_OK;
}

#define LAYER_NAME layer_portable
#define LAYER_DOT vdist_dot_i8_portable
#define LAYER_ATTR
#include "index/vector/hnsw_layer.h"

#define LAYER_NAME layer_avx2
#define LAYER_DOT vdist_dot_i8_avx2_inline
#define LAYER_ATTR __attribute__((target("avx2,fma")))
#include "index/vector/hnsw_layer.h"

lore_status hnsw_walk_layer(hnsw_walk *w, uint32_t ep, uint32_t ef, int lc) {
    static int avx2 = -1;
    if (avx2 < 0) avx2 = vdist_dot_i8_avx2() != NULL;
    return avx2 ? layer_avx2(w, ep, ef, lc) : layer_portable(w, ep, ef, lc);
}

size_t hnsw_select(const hnsw *h, hnsw_cand *c, size_t n, size_t max) {
    size_t kept = 0;
    for (size_t i = 0; i < n && kept < max; i++) {
        int good = 1;
        for (size_t j = 0; j < kept; j++)
            if (hnsw_node_dist(h, c[i].node, c[j].node) < c[i].d) {
                good = 0;
                break;
            }
        if (good) c[kept++] = c[i];
    }
    return kept;
}
