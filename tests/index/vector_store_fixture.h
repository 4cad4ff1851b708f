/* Shared by the persisted vector index's tests: a store in a temporary
 * directory, handles on tenant "t1", N random vectors (chunk id i + 1 has
 * row i of V), and small helpers around the ops table. */
#ifndef LORE_TEST_VECTOR_STORE_FIXTURE_H
#define LORE_TEST_VECTOR_STORE_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/vector/index_vector.h"
#include "store/store.h"
#include "test.h"

#define D 24
#define N 1200
#define K 10

static const index_vector_ops *ops = &index_vector_hnsw;
static const char *DIR_;
static float *V; /* N x D, chunk id i + 1 has row i */
static const char *KEY1 = "http://e|m1|24";

static inline float unif(void) {
    return (float)((double)(test_rand() >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static inline void fill(float *v, size_t n, uint32_t d) {
    for (size_t i = 0; i < n * d; i++)
        v[i] = unif();
}

static inline void params(vec_params *p, uint32_t dims) {
    vec_params_default(p, dims, HNSW_COSINE);
    p->scope = DIR_;
    p->ef_construction = 64;
}

typedef struct env {
    store *s;
    store_tenant *t;
    void *x;
} env;

static inline void env_open(env *e, const char *key, uint32_t dims) {
    char err[256];
    vec_params p;
    params(&p, dims);
    if (store_open(DIR_, STORE_OPEN_CREATE, &e->s, err, sizeof err) != LORE_OK ||
        store_tenant_open(e->s, "t1", &e->t) != LORE_OK ||
        ops->open(e->t, &p, key, &e->x, NULL) != LORE_OK) {
        fprintf(stderr, "env_open failed: %s\n", err);
        exit(2);
    }
}

static inline void env_close(env *e) {
    ops->close(e->x);
    store_tenant_close(e->t);
    store_close(e->s);
}

/* Adds chunks [lo, hi) (ids lo+1..hi) in one committed batch. */
static inline void add_range(env *e, size_t lo, size_t hi) {
    CHECK_INT(store_begin(e->t), LORE_OK);
    CHECK_INT(ops->begin(e->x), LORE_OK);
    for (size_t i = lo; i < hi; i++)
        CHECK_INT(ops->add(e->x, (int64_t)i + 1, V + i * D), LORE_OK);
    CHECK_INT(ops->flush(e->x), LORE_OK);
    CHECK_INT(store_commit(e->t), LORE_OK);
}

static inline size_t search(env *e, const float *q, size_t k, vec_hit *out) {
    vec_query vq = {.vec = q, .k = k};
    vec_result r;
    lore_status st = ops->search(e->x, &vq, &r);
    CHECK_INT(st, LORE_OK);
    if (st != LORE_OK) return 0;
    memcpy(out, r.hits, r.n * sizeof *out);
    size_t n = r.n;
    vec_result_free(&r);
    return n;
}

/* Exact: is chunk id present (a search restricted to it finds it)? */
static inline int present(env *e, int64_t id, const float *q) {
    vec_query vq = {.vec = q, .k = 1, .candidates = &id, .n_candidates = 1};
    vec_result r;
    if (ops->search(e->x, &vq, &r) != LORE_OK) return -1;
    int found = r.n == 1 && r.hits[0].chunk_id == id;
    vec_result_free(&r);
    return found;
}

static inline void stats(env *e, vec_stats *st) {
    CHECK_INT(ops->stats(e->x, st), LORE_OK);
}

static inline int count_cb(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl) {
    (void)k, (void)kl, (void)v, (void)vl;
    (*(int64_t *)ctx)++;
    return 0;
}

static inline int64_t count_rows(store_tenant *t, int ns) {
    int64_t n = 0;
    CHECK_INT(store_kv_scan(t, ns, "", 0, NULL, 0, count_cb, &n), LORE_OK);
    return n;
}

/* A fresh store with tenant t1 and V filled. */
static inline void fixture_setup(void) {
    test_seed();
    DIR_ = test_tmpdir();
    V = malloc((size_t)N * D * sizeof *V);
    fill(V, N, D);
    char err[256];
    store *s;
    CHECK_INT(store_open(DIR_, STORE_OPEN_CREATE, &s, err, sizeof err), LORE_OK);
    CHECK_INT(store_tenant_create(s, "t1"), LORE_OK);
    store_close(s);
}

static inline void fixture_teardown(void) {
    free(V);
    test_rmtree(DIR_);
}

#endif
