/* HNSW index: kernels against each other, recall@10 against brute force on
 * random and clustered data at the default ef, filtered search and its
 * exact fallback, deletes and repair. Records: test_hnsw_records.c. */
#include "hnsw_fixture.h"

#define D 48
#define N 4000
#define NQ 100

static void test_kernels(void) {
    vdist_i8_fn i8 = vdist_dot_i8_avx2();
    vdist_f32_fn f32 = vdist_dot_f32_avx2();
    printf("kernels in use: %s\n", vdist_kernel_name());
    int8_t a8[1024], b8[1024];
    float af[1024], bf[1024];
    int i8_bad = 0, f32_bad = 0;
    for (size_t n = 1; n <= 1024; n++) {
        for (size_t i = 0; i < n; i++) {
            a8[i] = (int8_t)((int)(test_rand() % 255) - 127);
            b8[i] = (int8_t)((int)(test_rand() % 255) - 127);
            af[i] = fx_unif(), bf[i] = fx_unif();
        }
        int32_t want = 0;
        double wantf = 0, mag = 0;
        for (size_t i = 0; i < n; i++) {
            want += (int32_t)a8[i] * b8[i];
            wantf += (double)af[i] * bf[i];
            mag += fabs((double)af[i] * bf[i]);
        }
        i8_bad += vdist_dot_i8_portable(a8, b8, n) != want;
        i8_bad += vdist_dot_i8(a8, b8, n) != want;
        if (i8) i8_bad += i8(a8, b8, n) != want;
        double tol = 1e-5 * mag + 1e-6;
        f32_bad += fabs(vdist_dot_f32_portable(af, bf, n) - wantf) > tol;
        f32_bad += fabs(vdist_dot_f32(af, bf, n) - wantf) > tol;
        if (f32) f32_bad += fabs(f32(af, bf, n) - wantf) > tol;
    }
    CHECK_INT(i8_bad, 0);
    CHECK_INT(f32_bad, 0);
    /* the extremes: 4096 x 127 x 127 fits the int32 sums */
    static int8_t big[HNSW_MAX_DIMS];
    memset(big, 127, sizeof big);
    CHECK_INT(vdist_dot_i8_portable(big, big, HNSW_MAX_DIMS), 4096 * 127 * 127);
    if (i8) CHECK_INT(i8(big, big, HNSW_MAX_DIMS), 4096 * 127 * 127);
}

static void test_params(void) {
    hnsw_params p;
    hnsw_params_default(&p, 0, HNSW_COSINE);
    hnsw *h = NULL;
    const char *err = NULL;
    CHECK_INT(hnsw_new(&p, &h, &err), LORE_INVALID);
    CHECK(err && strstr(err, "dims"));
    hnsw_params_default(&p, 4, HNSW_COSINE);
    p.M = 1000;
    CHECK_INT(hnsw_new(&p, &h, &err), LORE_INVALID);
    hnsw_params_default(&p, 4, HNSW_COSINE);
    CHECK_INT(hnsw_new(&p, &h, &err), LORE_OK);
    float zero[4] = {0}, nan4[4] = {1, NAN, 0, 0}, ok[4] = {1, 0, 0, 0};
    CHECK_INT(hnsw_insert(h, 1, zero), LORE_INVALID);
    CHECK_INT(hnsw_insert(h, 1, nan4), LORE_INVALID);
    CHECK_INT(hnsw_insert(h, 1, ok), LORE_OK);
    CHECK_INT(hnsw_insert(h, 1, ok), LORE_EXISTS);
    CHECK_INT(hnsw_delete(h, 2), LORE_NOT_FOUND);
    hnsw_hit out[2];
    size_t n = 0;
    hnsw_query q = {.vec = ok, .k = 0};
    CHECK_INT(hnsw_search(h, &q, out, &n), LORE_INVALID);
    q.k = 2;
    CHECK_INT(hnsw_search(h, &q, out, &n), LORE_OK);
    CHECK_INT(n, 1);
    hnsw_free(h);
}

static void recall_case(const char *name, float *v, hnsw_metric metric) {
    float *qs = strcmp(name, "clustered") == 0 ? fx_near(v, N, D, NQ) : fx_random(NQ, D);
    float *unit = metric == HNSW_COSINE ? fx_unit_all(v, N, D) : v;
    hnsw *h = fx_build(v, N, D, metric);
    CHECK(h != NULL);
    double r = fx_recall(h, unit, N, D, qs, NQ, 10, NULL);
    hnsw_stats st;
    hnsw_get_stats(h, &st);
    printf("%s %s: recall@10 %.4f at ef %d, %.0f graph bytes/vector\n", name,
           metric == HNSW_COSINE ? "cosine" : "dot", r, HNSW_DEFAULT_EF_SEARCH,
           st.bytes_per_vector);
    CHECK(r >= 0.95);
    hnsw_free(h);
    if (unit != v) free(unit);
    free(qs);
}

static void test_recall(void) {
    float *v = fx_random(N, D);
    recall_case("random", v, HNSW_COSINE);
    recall_case("random", v, HNSW_DOT);
    free(v);
    v = fx_clustered(N, D, 40);
    recall_case("clustered", v, HNSW_COSINE);
    free(v);
}

static int admit_mod(void *ctx, int64_t id) {
    int64_t m = *(int64_t *)ctx;
    return id % m == 3 % m;
}

static int admit_few(void *ctx, int64_t id) {
    (void)ctx;
    return id == 5 || id == 700 || id == 3999;
}

static int same_hits(const hnsw_hit *a, size_t na, const hnsw_hit *b, size_t nb) {
    if (na != nb) return 0;
    for (size_t i = 0; i < na; i++)
        if (a[i].id != b[i].id || a[i].score != b[i].score) return 0;
    return 1;
}

static void test_filters(void) {
    float *v = fx_clustered(N, D, 40), *unit = fx_unit_all(v, N, D), *qs = fx_random(20, D);
    hnsw *h = fx_build(v, N, D, HNSW_COSINE);
    hnsw_hit got[10], want[10];
    int exact_ok = 0, list_ok = 0, few_ok = 0, filtered_in = 0;
    int64_t mod = 100; /* 40 of 4000 admitted: 1% */
    int64_t *cands = malloc(N * sizeof *cands);
    size_t nc = 0;
    for (int64_t i = 0; i < N; i++)
        if (admit_mod(&mod, i)) cands[nc++] = i, cands[nc++] = i; /* duplicates count once */
    for (size_t i = 0; i < 20; i++) {
        const float *qv = qs + i * D;
        size_t ng = 0, nw = fx_brute(unit, N, D, qv, 10, admit_mod, &mod, NULL, want);
        hnsw_query q = {
            .vec = qv, .k = 10, .admit = admit_mod, .admit_ctx = &mod, .selectivity = 0.01};
        CHECK_INT(hnsw_search(h, &q, got, &ng), LORE_OK);
        exact_ok += same_hits(got, ng, want, nw);
        hnsw_query ql = {.vec = qv, .k = 10, .candidates = cands, .n_candidates = nc};
        CHECK_INT(hnsw_search(h, &ql, got, &ng), LORE_OK);
        list_ok += same_hits(got, ng, want, nw);
        /* Unknown selectivity, three admitted nodes: every one comes back. */
        hnsw_query qf = {.vec = qv, .k = 10, .admit = admit_few};
        CHECK_INT(hnsw_search(h, &qf, got, &ng), LORE_OK);
        nw = fx_brute(unit, N, D, qv, 10, admit_few, NULL, NULL, want);
        few_ok += same_hits(got, ng, want, nw) && ng == 3;
        /* A broad filter through the walk: a full page, all admitted. */
        int64_t mod2 = 2;
        hnsw_query qb = {.vec = qv, .k = 10, .admit = admit_mod, .admit_ctx = &mod2};
        CHECK_INT(hnsw_search(h, &qb, got, &ng), LORE_OK);
        int all = ng == 10;
        for (size_t j = 0; j < ng; j++)
            all &= got[j].id % 2 == 1;
        filtered_in += all;
    }
    CHECK_INT(exact_ok, 20);
    CHECK_INT(list_ok, 20);
    CHECK_INT(few_ok, 20);
    CHECK_INT(filtered_in, 20);
    free(cands);
    hnsw_free(h);
    free(v), free(unit), free(qs);
}

static void test_deletes_and_repair(void) {
    float *v = fx_clustered(N, D, 40), *unit = fx_unit_all(v, N, D), *qs = fx_near(v, N, D, NQ);
    hnsw *h = fx_build(v, N, D, HNSW_COSINE);
    unsigned char *dead = calloc(N, 1);
    for (size_t i = 0; i < N; i++)
        if (test_rand() % 10 < 3) {
            dead[i] = 1;
            CHECK_INT(hnsw_delete(h, (int64_t)i), LORE_OK);
        }
    int leaked = 0;
    hnsw_hit got[10];
    for (size_t i = 0; i < NQ; i++) {
        size_t ng = 0;
        hnsw_query q = {.vec = qs + i * D, .k = 10};
        CHECK_INT(hnsw_search(h, &q, got, &ng), LORE_OK);
        CHECK_INT(ng, 10);
        for (size_t j = 0; j < ng; j++)
            leaked += dead[got[j].id];
    }
    CHECK_INT(leaked, 0);
    double before = fx_recall(h, unit, N, D, qs, NQ, 10, dead);
    size_t steps = 0, work = 0;
    int finished = 0;
    while (!finished && steps < 10000) {
        CHECK_INT(hnsw_repair(h, 256, &work, &finished), LORE_OK);
        steps++;
    }
    CHECK(finished);
    hnsw_stats st;
    hnsw_get_stats(h, &st);
    CHECK_INT(st.tombstones, 0);
    double after = fx_recall(h, unit, N, D, qs, NQ, 10, dead);
    printf("deletes: recall@10 %.4f with tombstones, %.4f after repair (%zu steps)\n", before,
           after, steps);
    CHECK(after >= 0.95);
    /* Freed slots are reused; a deleted id can come back. */
    size_t slots = st.slots;
    for (size_t i = 0; i < N; i++)
        if (dead[i]) {
            CHECK_INT(hnsw_insert(h, (int64_t)i, v + i * D), LORE_OK);
            dead[i] = 0;
        }
    hnsw_get_stats(h, &st);
    CHECK_INT(st.slots, slots);
    CHECK_INT(st.live, N);
    double again = fx_recall(h, unit, N, D, qs, NQ, 10, NULL);
    printf("re-inserted: recall@10 %.4f\n", again);
    CHECK(again >= 0.95);
    /* Delete everything: nothing comes back, repair empties the graph. */
    for (size_t i = 0; i < N; i++)
        CHECK_INT(hnsw_delete(h, (int64_t)i), LORE_OK);
    size_t ng = 5;
    hnsw_query q = {.vec = qs, .k = 10};
    CHECK_INT(hnsw_search(h, &q, got, &ng), LORE_OK);
    CHECK_INT(ng, 0);
    for (finished = 0; !finished;)
        CHECK_INT(hnsw_repair(h, 1000, NULL, &finished), LORE_OK);
    CHECK_INT(hnsw_insert(h, 1, v), LORE_OK);
    CHECK_INT(hnsw_search(h, &q, got, &ng), LORE_OK);
    CHECK_INT(ng, 1);
    hnsw_free(h);
    free(dead), free(v), free(unit), free(qs);
}

int main(void) {
    test_seed();
    test_kernels();
    test_params();
    test_recall();
    test_filters();
    test_deletes_and_repair();
    return test_summary();
}
