/* Data and brute-force answers for the HNSW tests: random and clustered
 * vectors from test_rand(), unit-length copies made exactly as the index
 * makes them (so exact scores agree bit for bit), recall@k. */
#ifndef LORE_TEST_HNSW_FIXTURE_H
#define LORE_TEST_HNSW_FIXTURE_H

#include <math.h>
#include "test.h"
#include "index/vector/hnsw.h"
#include "index/vector/vector_dist.h"

static inline float fx_unif(void) {
    return (float)((double)(test_rand() >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* n x d uniform in [-1, 1]. */
static inline float *fx_random(size_t n, uint32_t d) {
    float *v = malloc(n * d * sizeof *v);
    for (size_t i = 0; i < n * d; i++)
        v[i] = fx_unif();
    return v;
}

/* n x d around `clusters` centres (spread 0.25 of the centres' scale). */
static inline float *fx_clustered(size_t n, uint32_t d, size_t clusters) {
    float *c = fx_random(clusters, d), *v = malloc(n * d * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        const float *ci = c + (test_rand() % clusters) * d;
        for (uint32_t j = 0; j < d; j++)
            v[i * d + j] = ci[j] + 0.25f * fx_unif();
    }
    free(c);
    return v;
}

/* nq queries near data points (a point plus noise 0.1 of its scale). */
static inline float *fx_near(const float *v, size_t n, uint32_t d, size_t nq) {
    float *qs = fx_random(nq, d);
    for (size_t i = 0; i < nq; i++) {
        const float *p = v + (test_rand() % n) * d;
        for (uint32_t j = 0; j < d; j++)
            qs[i * d + j] = p[j] + 0.1f * qs[i * d + j];
    }
    return qs;
}

/* The index's cosine normalization, step for step. */
static inline void fx_normalize(const float *in, float *out, uint32_t d) {
    double ss = 0;
    for (uint32_t i = 0; i < d; i++)
        ss += (double)in[i] * in[i];
    float inv = (float)(1.0 / sqrt(ss));
    for (uint32_t i = 0; i < d; i++)
        out[i] = in[i] * inv;
}

typedef int (*fx_admit)(void *ctx, int64_t id);

/* Exact top k of the n vectors (ids 0..n-1, unit length under cosine)
 * among those admitted and not dead[id]; sorted like hnsw_search. */
static inline size_t fx_brute(const float *unit, size_t n, uint32_t d, const float *q, size_t k,
                              fx_admit admit, void *ctx, const unsigned char *dead, hnsw_hit *out) {
    float *qn = malloc(d * sizeof *qn);
    fx_normalize(q, qn, d);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if ((dead && dead[i]) || (admit && !admit(ctx, (int64_t)i))) continue;
        hnsw_hit hit = {(int64_t)i, vdist_dot_f32(qn, unit + i * d, d)};
        size_t j = m < k ? m++ : k;
        if (j == k && (hit.score < out[k - 1].score ||
                       (hit.score == out[k - 1].score && hit.id > out[k - 1].id)))
            continue;
        if (j == k) j = k - 1;
        while (j > 0 && (out[j - 1].score < hit.score ||
                         (out[j - 1].score == hit.score && out[j - 1].id > hit.id))) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = hit;
    }
    free(qn);
    return m;
}

static inline size_t fx_overlap(const hnsw_hit *a, size_t na, const hnsw_hit *b, size_t nb) {
    size_t c = 0;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            if (a[i].id == b[j].id) {
                c++;
                break;
            }
    return c;
}

static inline float *fx_unit_all(const float *v, size_t n, uint32_t d) {
    float *u = malloc(n * d * sizeof *u);
    for (size_t i = 0; i < n; i++)
        fx_normalize(v + i * d, u + i * d, d);
    return u;
}

static inline hnsw *fx_build(const float *v, size_t n, uint32_t d, hnsw_metric metric) {
    hnsw_params p;
    hnsw_params_default(&p, d, metric);
    hnsw *h = NULL;
    if (hnsw_new(&p, &h, NULL) != LORE_OK) return NULL;
    for (size_t i = 0; i < n; i++)
        if (hnsw_insert(h, (int64_t)i, v + i * d) != LORE_OK) {
            hnsw_free(h);
            return NULL;
        }
    return h;
}

/* Mean recall@k over nq queries against brute force (dead ids excluded). */
static inline double fx_recall(const hnsw *h, const float *unit, size_t n, uint32_t d,
                               const float *qs, size_t nq, size_t k, const unsigned char *dead) {
    hnsw_hit got[64], want[64];
    size_t hit = 0, total = 0;
    for (size_t i = 0; i < nq; i++) {
        size_t ng = 0;
        hnsw_query q = {.vec = qs + i * d, .k = k};
        if (hnsw_search(h, &q, got, &ng) != LORE_OK) return -1;
        size_t nw = fx_brute(unit, n, d, qs + i * d, k, NULL, NULL, dead, want);
        hit += fx_overlap(got, ng, want, nw);
        total += nw;
    }
    return total ? (double)hit / (double)total : 1.0;
}

#endif
