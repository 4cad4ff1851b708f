/* HNSW index: construction, parameters, the id map, quantization, inserts,
 * deletes and memory figures. The walk is in hnsw_walk.c, searches in
 * hnsw_search.c, repair in hnsw_repair.c, records in hnsw_record.c. */
#include "index/vector/hnsw_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void hnsw_params_default(hnsw_params *p, uint32_t dims, hnsw_metric metric) {
    memset(p, 0, sizeof *p);
    p->dims = dims;
    p->metric = metric;
    p->M = HNSW_DEFAULT_M;
    p->ef_construction = HNSW_DEFAULT_EF_CONSTRUCTION;
    p->ef_search = HNSW_DEFAULT_EF_SEARCH;
    p->seed = 0x9e3779b97f4a7c15ull;
    p->keep_float = 1;
}

static const char *params_check(const hnsw_params *p) {
    if (p->dims < 1 || p->dims > HNSW_MAX_DIMS) return "dims must be 1..4096";
    if (p->metric != HNSW_COSINE && p->metric != HNSW_DOT) return "metric must be cosine or dot";
    if (p->M < HNSW_MIN_M || p->M > HNSW_MAX_M) return "M must be 2..128";
    if (p->ef_construction < 1 || p->ef_construction > HNSW_MAX_EF)
        return "ef_construction must be 1..4096";
    if (p->ef_search < 1 || p->ef_search > HNSW_MAX_EF) return "ef_search must be 1..4096";
    return NULL;
}

lore_status hnsw_new(const hnsw_params *p, hnsw **out, const char **err) {
    *out = NULL;
    const char *bad = params_check(p);
    if (bad) {
        if (err) *err = bad;
        return LORE_INVALID;
    }
    hnsw *h = calloc(1, sizeof *h);
    if (!h) return LORE_NOMEM;
    h->p = *p;
    h->p.keep_float = p->keep_float ? 1 : 0;
    h->m0 = 2 * p->M;
    h->l0_stride = 1 + (size_t)h->m0;
    h->d8 = (p->dims + 15) & ~15u;
    /* Rows start on cache lines when that costs at most a quarter more. */
    size_t row = (size_t)h->d8 + 4, lines = (row + 63) & ~(size_t)63;
    h->vstride = (lines - row) * 4 <= row ? lines : row;
    h->entry = HNSW_NONE;
    h->rng = p->seed ? p->seed : 0x9e3779b97f4a7c15ull;
    h->mult = 1.0 / log((double)p->M);
    pthread_mutex_init(&h->pool_mu, NULL);
    *out = h;
    return LORE_OK;
}

void hnsw_free(hnsw *h) {
    if (!h) return;
    for (uint32_t i = 0; i < h->slots; i++)
        free(h->upper[i]);
    free(h->vdata), free(h->link0), free(h->upper), free(h->ids);
    free(h->level), free(h->flags), free(h->vecf), free(h->map_vals);
    free(h->free_list), free(h->dirty);
    for (int i = 0; i < h->n_pool; i++) {
        hnsw_heap_free(&h->pool[i]->cand), hnsw_heap_free(&h->pool[i]->res);
        free(h->pool[i]->tag);
        free(h->pool[i]);
    }
    pthread_mutex_destroy(&h->pool_mu);
    free(h);
}

const hnsw_params *hnsw_get_params(const hnsw *h) {
    return &h->p;
}

/* Grows an array from old_n to new_n elements; zero 1 clears the new part
 * (arrays every new node overwrites are left untouched, so pages never used
 * are never resident). */
static int grow_array(void **p, size_t elem, size_t old_n, size_t new_n, int zero) {
    void *np = realloc(*p, elem * new_n);
    if (!np) return -1;
    if (zero) memset((char *)np + elem * old_n, 0, elem * (new_n - old_n));
    *p = np;
    return 0;
}

/* The arrays the walk reads at random (vector rows, level-0 links): from
 * HNSW_HUGE_MIN bytes on they are aligned to 2 MiB and marked for
 * transparent huge pages, so a walk's random reads miss the TLB far less
 * (where the kernel leaves THP to madvise, as Debian's does). Smaller ones
 * are 64-byte aligned (realloc keeps only 16) so rows start on cache lines. */
#define HNSW_HUGE_MIN ((size_t)4 << 20)
#define HNSW_HUGE_ALIGN ((size_t)2 << 20)

static int grow_hot(void **p, size_t old_bytes, size_t new_bytes) {
    void *np = NULL;
    size_t align = new_bytes >= HNSW_HUGE_MIN ? HNSW_HUGE_ALIGN : 64;
    if (posix_memalign(&np, align, new_bytes) != 0) return -1;
#ifdef MADV_HUGEPAGE
    if (align == HNSW_HUGE_ALIGN) /* advice only: no huge pages is no error */
        (void)madvise(np, new_bytes & ~(HNSW_HUGE_ALIGN - 1), MADV_HUGEPAGE);
#endif
    if (*p) memcpy(np, *p, old_bytes);
    free(*p);
    *p = np;
    return 0;
}

/* Makes the arrays hold at least want slots. */
lore_status hnsw_grow(hnsw *h, uint32_t want) {
    if (want <= h->cap) return LORE_OK;
    if (want > HNSW_MAX_NODES) return LORE_TOO_LARGE;
    size_t nc = h->cap ? (size_t)h->cap * 2 : 64;
    if (nc < want) nc = want;
    if (nc > HNSW_MAX_NODES) nc = HNSW_MAX_NODES;
    size_t d = h->p.dims, oc = h->cap;
    if (grow_hot((void **)&h->vdata, oc * h->vstride, nc * h->vstride) ||
        grow_hot((void **)&h->link0, oc * 4 * h->l0_stride, nc * 4 * h->l0_stride) ||
        grow_array((void **)&h->upper, sizeof(uint32_t *), oc, nc, 1) ||
        grow_array((void **)&h->ids, 8, oc, nc, 0) ||
        grow_array((void **)&h->level, 1, oc, nc, 1) ||
        grow_array((void **)&h->flags, 1, oc, nc, 1) ||
        (h->p.keep_float && grow_array((void **)&h->vecf, 4 * d, oc, nc, 0)))
        return LORE_NOMEM;
    h->cap = (uint32_t)nc;
    return LORE_OK;
}

static size_t map_slot(int64_t id, size_t cap) {
    uint64_t x = (uint64_t)id * 0x9e3779b97f4a7c15ull;
    return (size_t)(x ^ (x >> 29)) & (cap - 1);
}

uint32_t hnsw_node_of(const hnsw *h, int64_t id) {
    if (!h->map_cap) return HNSW_NONE;
    for (size_t i = map_slot(id, h->map_cap);; i = (i + 1) & (h->map_cap - 1)) {
        uint32_t v = h->map_vals[i];
        if (v == HNSW_NONE) return HNSW_NONE;
        if (h->ids[v] == id) return v;
    }
}

int hnsw_contains(const hnsw *h, int64_t id) {
    return hnsw_node_of(h, id) != HNSW_NONE;
}

static int map_rehash(hnsw *h, size_t ncap) {
    uint32_t *nv = malloc(ncap * sizeof *nv);
    if (!nv) return -1;
    memset(nv, 0xff, ncap * sizeof *nv);
    for (size_t i = 0; i < h->map_cap; i++) {
        uint32_t v = h->map_vals[i];
        if (v == HNSW_NONE) continue;
        size_t j = map_slot(h->ids[v], ncap);
        while (nv[j] != HNSW_NONE)
            j = (j + 1) & (ncap - 1);
        nv[j] = v;
    }
    free(h->map_vals);
    h->map_vals = nv, h->map_cap = ncap;
    return 0;
}

/* 0 added, 1 already present, -1 out of memory. */
int hnsw_map_put(hnsw *h, int64_t id, uint32_t node) {
    if ((h->map_used + 1) * 10 > h->map_cap * 7 && map_rehash(h, h->map_cap ? h->map_cap * 2 : 64))
        return -1;
    size_t i = map_slot(id, h->map_cap);
    for (; h->map_vals[i] != HNSW_NONE; i = (i + 1) & (h->map_cap - 1))
        if (h->ids[h->map_vals[i]] == id) return 1;
    h->map_vals[i] = node;
    h->map_used++;
    return 0;
}

void hnsw_map_del(hnsw *h, int64_t id) {
    if (!h->map_cap) return;
    size_t mask = h->map_cap - 1, i = map_slot(id, h->map_cap);
    for (;; i = (i + 1) & mask) {
        if (h->map_vals[i] == HNSW_NONE) return;
        if (h->ids[h->map_vals[i]] == id) break;
    }
    /* Backward-shift deletion keeps every probe chain unbroken. */
    for (size_t j = (i + 1) & mask; h->map_vals[j] != HNSW_NONE; j = (j + 1) & mask) {
        size_t home = map_slot(h->ids[h->map_vals[j]], h->map_cap);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            h->map_vals[i] = h->map_vals[j];
            i = j;
        }
    }
    h->map_vals[i] = HNSW_NONE;
    h->map_used--;
}

void hnsw_mark_dirty(hnsw *h, uint32_t n) {
    if (h->flags[n] & NODE_DIRTY) return;
    if (h->n_dirty == h->dirty_cap) {
        size_t nc = h->dirty_cap ? h->dirty_cap * 2 : 64;
        uint32_t *nd = realloc(h->dirty, nc * sizeof *nd);
        if (!nd) return; /* the record is rewritten at the next change */
        h->dirty = nd, h->dirty_cap = nc;
    }
    h->dirty[h->n_dirty++] = n;
    h->flags[n] |= NODE_DIRTY;
}

lore_status hnsw_dirty_take(hnsw *h, uint32_t **nodes, size_t *n) {
    *nodes = h->dirty, *n = h->n_dirty;
    for (size_t i = 0; i < h->n_dirty; i++)
        h->flags[h->dirty[i]] &= (uint8_t)~NODE_DIRTY;
    h->dirty = NULL, h->n_dirty = h->dirty_cap = 0;
    return LORE_OK;
}

void hnsw_quantize(const float *v, uint32_t dims, int8_t *q, float *scale) {
    float mx = 0;
    for (uint32_t i = 0; i < dims; i++)
        mx = fmaxf(mx, fabsf(v[i]));
    if (mx == 0) {
        memset(q, 0, dims);
        *scale = 0;
        return;
    }
    float inv = 127.0f / mx;
    for (uint32_t i = 0; i < dims; i++)
        q[i] = (int8_t)lrintf(v[i] * inv);
    *scale = mx / 127.0f;
}

lore_status hnsw_prepare(const hnsw *h, const float *in, float *out) {
    double ss = 0;
    for (uint32_t i = 0; i < h->p.dims; i++) {
        if (!isfinite(in[i])) return LORE_INVALID;
        ss += (double)in[i] * in[i];
    }
    if (!isfinite(ss)) return LORE_INVALID;
    if (h->p.metric == HNSW_COSINE) {
        if (ss == 0) return LORE_INVALID;
        float inv = (float)(1.0 / sqrt(ss));
        for (uint32_t i = 0; i < h->p.dims; i++)
            out[i] = in[i] * inv;
    } else {
        memcpy(out, in, h->p.dims * sizeof *out);
    }
    return LORE_OK;
}

static int draw_level(hnsw *h) {
    h->rng ^= h->rng << 13, h->rng ^= h->rng >> 7, h->rng ^= h->rng << 17;
    double u = ((double)(h->rng >> 11) + 1.0) / 9007199254740993.0; /* (0, 1] */
    double l = floor(-log(u) * h->mult);
    return l > HNSW_MAX_LEVEL ? HNSW_MAX_LEVEL : (int)l;
}

/* Takes a slot (a freed one first) and sets up a node of level lv. */
static lore_status node_alloc(hnsw *h, int lv, uint32_t *out) {
    uint32_t n;
    if (h->n_free) {
        n = h->free_list[--h->n_free];
    } else {
        lore_status st = hnsw_grow(h, h->slots + 1);
        if (st != LORE_OK) return st;
        n = h->slots;
    }
    uint32_t *up = NULL;
    if (lv > 0 && !(up = calloc((size_t)lv * (h->p.M + 1), sizeof *up))) {
        if (n != h->slots) h->free_list[h->n_free++] = n;
        return LORE_NOMEM;
    }
    if (n == h->slots) h->slots++;
    h->upper[n] = up;
    h->level[n] = (uint8_t)lv;
    h->flags[n] = (uint8_t)(NODE_USED | (h->flags[n] & NODE_DIRTY));
    hnsw_links(h, n, 0)[0] = 0;
    *out = n;
    return LORE_OK;
}

void hnsw_release_slot(hnsw *h, uint32_t n) {
    free(h->upper[n]);
    h->upper[n] = NULL;
    h->flags[n] &= NODE_DIRTY;
    h->level[n] = 0;
    hnsw_links(h, n, 0)[0] = 0;
    if (h->n_free == h->free_cap) {
        size_t nc = h->free_cap ? h->free_cap * 2 : 64;
        uint32_t *nf = realloc(h->free_list, nc * sizeof *nf);
        if (!nf) return; /* the slot stays unused */
        h->free_list = nf, h->free_cap = nc;
    }
    h->free_list[h->n_free++] = n;
}

/* Adds link n -> to at level lc, pruning n's list by the heuristic when full. */
static lore_status add_link(hnsw *h, uint32_t n, uint32_t to, int lc) {
    uint32_t *l = hnsw_links(h, n, lc), max = hnsw_max_links(h, lc);
    hnsw_mark_dirty(h, n);
    if (l[0] < max) {
        l[1 + l[0]++] = to;
        return LORE_OK;
    }
    hnsw_cand c[2 * HNSW_MAX_M + 1];
    size_t nc = 0;
    for (uint32_t i = 0; i < l[0]; i++)
        c[nc++] = (hnsw_cand){hnsw_node_dist(h, n, l[1 + i]), l[1 + i]};
    c[nc++] = (hnsw_cand){hnsw_node_dist(h, n, to), to};
    qsort(c, nc, sizeof *c, hnsw_cand_cmp);
    size_t keep = hnsw_select(h, c, nc, max);
    for (size_t i = 0; i < keep; i++)
        l[1 + i] = c[i].node;
    l[0] = (uint32_t)keep;
    return LORE_OK;
}

/* Links the new node n at level lc to the best of the walk's results. */
static lore_status connect_level(hnsw *h, hnsw_walk *w, uint32_t n, int lc, uint32_t *ep) {
    size_t nr = w->res.n;
    if (!nr) return LORE_OK;
    hnsw_cand *c = w->res.v;
    qsort(c, nr, sizeof *c, hnsw_cand_cmp);
    *ep = c[0].node;
    size_t keep = hnsw_select(h, c, nr, h->p.M);
    uint32_t *l = hnsw_links(h, n, lc);
    for (size_t i = 0; i < keep; i++)
        l[1 + i] = c[i].node;
    l[0] = (uint32_t)keep;
    for (size_t i = 0; i < keep; i++) {
        lore_status st = add_link(h, l[1 + i], n, lc);
        if (st != LORE_OK) return st;
    }
    w->res.n = 0;
    return LORE_OK;
}

static lore_status link_node(hnsw *h, uint32_t n) {
    int lv = h->level[n];
    hnsw_walk w;
    lore_status st = hnsw_walk_begin(&w, h, hnsw_vec8(h, n), hnsw_scale(h, n));
    if (st != LORE_OK) return st;
    uint32_t ep = h->entry;
    for (int lc = h->max_level; lc > lv; lc--)
        ep = hnsw_greedy(&w, ep, lc);
    for (int lc = lv < h->max_level ? lv : h->max_level; lc >= 0 && st == LORE_OK; lc--) {
        st = hnsw_walk_layer(&w, ep, h->p.ef_construction, lc);
        if (st == LORE_OK) st = connect_level(h, &w, n, lc, &ep);
    }
    hnsw_walk_end(&w);
    return st;
}

lore_status hnsw_insert(hnsw *h, int64_t id, const float *vec) {
    if (hnsw_node_of(h, id) != HNSW_NONE) return LORE_EXISTS;
    float stackv[256], *v = h->p.dims <= 256 ? stackv : malloc(h->p.dims * sizeof *v);
    if (!v) return LORE_NOMEM;
    lore_status st = hnsw_prepare(h, vec, v);
    uint32_t n = HNSW_NONE;
    if (st == LORE_OK) st = node_alloc(h, draw_level(h), &n);
    if (st == LORE_OK) h->ids[n] = id; /* the id map reads keys from ids */
    if (st == LORE_OK && hnsw_map_put(h, id, n) < 0) {
        hnsw_release_slot(h, n);
        st = LORE_NOMEM;
    }
    if (st != LORE_OK) goto out;
    float sc;
    hnsw_quantize(v, h->p.dims, hnsw_vec8(h, n), &sc);
    hnsw_pad8(h, n);
    hnsw_set_scale(h, n, sc);
    if (h->p.keep_float) {
        memcpy(h->vecf + (size_t)n * h->p.dims, v, h->p.dims * sizeof *v);
        h->flags[n] |= NODE_FLOAT;
    }
    hnsw_mark_dirty(h, n);
    h->n_live++;
    if (h->entry == HNSW_NONE) {
        h->entry = n, h->max_level = h->level[n];
        goto out;
    }
    /* A failed link leaves the node in with fewer links: still correct. */
    st = link_node(h, n);
    if (h->level[n] > h->max_level) h->entry = n, h->max_level = h->level[n];
out:
    if (v != stackv) free(v);
    return st;
}

lore_status hnsw_delete(hnsw *h, int64_t id) {
    uint32_t n = hnsw_node_of(h, id);
    if (n == HNSW_NONE) return LORE_NOT_FOUND;
    hnsw_map_del(h, id);
    h->flags[n] |= NODE_TOMB;
    h->n_live--, h->n_tomb++;
    hnsw_mark_dirty(h, n);
    return LORE_OK;
}

void hnsw_get_stats(const hnsw *h, hnsw_stats *st) {
    memset(st, 0, sizeof *st);
    st->live = h->n_live, st->tombstones = h->n_tomb, st->slots = h->slots;
    size_t per = h->vstride + 4 * h->l0_stride + sizeof(uint32_t *) + 8 + 2;
    size_t b = sizeof *h + (size_t)h->slots * per;
    for (uint32_t i = 0; i < h->slots; i++)
        if (h->upper[i]) b += (size_t)h->level[i] * (h->p.M + 1) * 4 + 16; /* malloc header */
    b += h->map_cap * 4 + h->free_cap * 4 + h->dirty_cap * 4;
    st->graph_bytes = b;
    st->float_bytes = h->p.keep_float ? (size_t)h->slots * h->p.dims * 4 : 0;
    size_t nodes = h->n_live + h->n_tomb;
    st->bytes_per_vector = nodes ? (double)b / (double)nodes : 0;
    st->float_bytes_per_vector = nodes ? (double)st->float_bytes / (double)nodes : 0;
}
