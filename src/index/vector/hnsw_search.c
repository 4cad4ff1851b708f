/* Searches: the graph walk with the filter applied inside it, re-ranking of
 * the admitted candidates with float32 vectors, and the exact fallback
 * (brute force over a candidate list, over every live node when the filter
 * is selective, or when the walk found fewer than k admitted nodes). */
#include "index/vector/hnsw_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HNSW_RERANK_MIN 40

typedef struct scorer {
    const hnsw *h;
    const hnsw_query *q;
    const float *qf; /* prepared query, float32 */
    const int8_t *q8;
    float q8scale;
    float *buf; /* dims floats for fetched vectors */
} scorer;

/* Exact score of node n: float32 when the vector is at hand, else int8. */
static float score_node(const scorer *s, uint32_t n) {
    const hnsw *h = s->h;
    uint32_t d = h->p.dims;
    if (h->flags[n] & NODE_FLOAT) return vdist_dot_f32(s->qf, h->vecf + (size_t)n * d, d);
    if (s->q->fetch && s->q->fetch(s->q->fetch_ctx, h->ids[n], s->buf, d) == 0) {
        float sc = vdist_dot_f32(s->qf, s->buf, d);
        if (h->p.metric == HNSW_COSINE) { /* the caller's vector as inserted */
            float nn = vdist_dot_f32(s->buf, s->buf, d);
            if (nn > 0) sc /= sqrtf(nn);
        }
        return sc;
    }
    return s->q8scale * hnsw_scale(h, n) * (float)vdist_dot_i8(s->q8, hnsw_vec8(h, n), d);
}

static int hit_cmp(const void *a, const void *b) {
    const hnsw_hit *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Keeps the best k of hits[0..n) in a min-heap-free way: sort and cut. */
static size_t finish_hits(hnsw_hit *hits, size_t n, size_t k, hnsw_hit *out) {
    qsort(hits, n, sizeof *hits, hit_cmp);
    if (n > k) n = k;
    memcpy(out, hits, n * sizeof *out);
    return n;
}

static int live_admitted(const scorer *s, uint32_t n) {
    const hnsw *h = s->h;
    if ((h->flags[n] & (NODE_USED | NODE_TOMB)) != NODE_USED) return 0;
    return !s->q->admit || s->q->admit(s->q->admit_ctx, h->ids[n]);
}

/* Brute force over the candidate list, or every slot when list is NULL. */
static lore_status exact(const scorer *s, hnsw_hit *out, size_t *n_out) {
    const hnsw *h = s->h;
    const hnsw_query *q = s->q;
    size_t total = q->candidates ? q->n_candidates : h->slots, n = 0;
    hnsw_hit *hits = malloc((total ? total : 1) * sizeof *hits);
    if (!hits) return LORE_NOMEM;
    for (size_t i = 0; i < total; i++) {
        uint32_t node = q->candidates ? hnsw_node_of(h, q->candidates[i]) : (uint32_t)i;
        if (node == HNSW_NONE || !live_admitted(s, node)) continue;
        hits[n++] = (hnsw_hit){h->ids[node], score_node(s, node)};
    }
    if (q->candidates) { /* a listed id counts once */
        qsort(hits, n, sizeof *hits, hit_cmp);
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (!m || hits[m - 1].id != hits[i].id) hits[m++] = hits[i];
        n = m;
    }
    *n_out = finish_hits(hits, n, q->k, out);
    free(hits);
    return LORE_OK;
}

/* The walk: upper layers greedily, then layer 0 keeping ef admitted nodes,
 * re-ranked exactly. *n_out < k means the walk saw too few. */
static lore_status walk(const scorer *s, uint32_t ef, hnsw_hit *out, size_t *n_out) {
    const hnsw *h = s->h;
    hnsw_walk w;
    lore_status st = hnsw_walk_begin(&w, h, s->q8, s->q8scale);
    if (st != LORE_OK) return st;
    w.admit = s->q->admit, w.admit_ctx = s->q->admit_ctx;
    uint32_t ep = h->entry;
    for (int lc = h->max_level; lc > 0; lc--)
        ep = hnsw_greedy(&w, ep, lc);
    st = hnsw_walk_layer(&w, ep, ef, 0);
    hnsw_hit *hits = NULL;
    if (st == LORE_OK && !(hits = malloc((w.res.n ? w.res.n : 1) * sizeof *hits))) st = LORE_NOMEM;
    if (st == LORE_OK) {
        /* Re-rank the best of the int8 order exactly: past 4k (at least
         * HNSW_RERANK_MIN) a candidate almost never enters the top k. */
        size_t nr = w.res.n, keep = 4 * s->q->k < HNSW_RERANK_MIN ? HNSW_RERANK_MIN : 4 * s->q->k;
        if (nr > keep) { /* res is a max-heap: drop its worst */
            hnsw_heap_trim(&w.res, keep);
            nr = keep;
        }
        for (size_t i = 0; i < nr; i++) {
            uint32_t n = w.res.v[i].node;
            hits[i] = (hnsw_hit){h->ids[n], score_node(s, n)};
        }
        *n_out = finish_hits(hits, nr, s->q->k, out);
    }
    free(hits);
    hnsw_walk_end(&w);
    return st;
}

static lore_status query_check(const hnsw *h, const hnsw_query *q) {
    if (!q->vec || q->k < 1 || q->k > HNSW_MAX_K || q->ef > HNSW_MAX_EF) return LORE_INVALID;
    if (q->candidates == NULL && q->n_candidates) return LORE_INVALID;
    (void)h;
    return LORE_OK;
}

lore_status hnsw_search(const hnsw *h, const hnsw_query *q, hnsw_hit *out, size_t *n_out) {
    *n_out = 0;
    lore_status st = query_check(h, q);
    if (st != LORE_OK) return st;
    uint32_t d = h->p.dims;
    /* qf, buf (d floats each), then q8 (d8 bytes, zero-padded like the rows) */
    float *qf = calloc(1, 2 * (size_t)d * sizeof *qf + h->d8);
    if (!qf) return LORE_NOMEM;
    scorer s = {.h = h, .q = q, .qf = qf, .buf = qf + d, .q8 = (int8_t *)(qf + 2 * (size_t)d)};
    if ((st = hnsw_prepare(h, q->vec, qf)) != LORE_OK) goto out;
    hnsw_quantize(qf, d, (int8_t *)s.q8, &s.q8scale);
    if (q->candidates) {
        st = exact(&s, out, n_out);
    } else if (h->entry == HNSW_NONE || h->n_live == 0) {
        st = LORE_OK;
    } else if (q->selectivity > 0 && q->selectivity < HNSW_EXACT_SELECTIVITY) {
        st = exact(&s, out, n_out);
    } else {
        uint32_t ef = q->ef ? q->ef : h->p.ef_search;
        if (ef < q->k) ef = (uint32_t)q->k;
        st = walk(&s, ef, out, n_out);
        /* Too few admitted nodes reached: answer with every match. */
        if (st == LORE_OK && *n_out < q->k && *n_out < h->n_live) st = exact(&s, out, n_out);
    }
out:
    free(qf);
    return st;
}
