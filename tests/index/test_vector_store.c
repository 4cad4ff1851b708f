/* The persisted vector index (index_vector.h) through the real store:
 *
 * - round trip: close everything, reopen, same hits, and the graph was
 *   loaded (one whole load of every node record, no insert: no distance
 *   computed) rather than rebuilt;
 * - a rolled-back batch (before or after its flush) leaves nothing: no hit,
 *   no row, no count, in this handle or another sharing the graph;
 * - two handles in one process share one graph and see each other's
 *   commits, reloading only the changed nodes;
 * - a second process (fork) writing is seen by the first;
 * - kill -9 in the middle of a batch: every committed vector is there
 *   exactly once and none of the killed batch's;
 * - filtered search equals brute force under a selective filter, with one
 *   hit per group;
 * - deleted chunks never come back (before and after repair, and reopen);
 * - a change log trimmed past a handle: a whole reload; wrong dims refused;
 * - two threads searching one shared graph while batches commit.
 * The model switch is tested in test_vector_slots.c.
 * Seed: LORE_TEST_SEED, printed. */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vector_store_fixture.h"

/* ---- brute force ---- */

static double cosine(const float *a, const float *b, uint32_t d) {
    double ab = 0, aa = 0, bb = 0;
    for (uint32_t i = 0; i < d; i++)
        ab += (double)a[i] * b[i], aa += (double)a[i] * a[i], bb += (double)b[i] * b[i];
    return ab / sqrt(aa * bb);
}

typedef struct bf_ctx {
    int mod, rem; /* admitted: id % mod == rem */
    int per_group;
    uint64_t calls;
} bf_ctx;

static int admit(void *ctx, int64_t id, int64_t *group) {
    bf_ctx *c = ctx;
    c->calls++;
    *group = id / c->per_group;
    return id <= N && id % c->mod == c->rem; /* the test's base set only */
}

/* Best chunk per group among admitted live ids [1, n], top k groups. */
static size_t brute(const float *q, size_t n, const bf_ctx *c, const int *dead, size_t k,
                    int64_t *out) {
    size_t m = 0;
    double sc[VEC_MAX_K];
    int64_t grp[VEC_MAX_K];
    for (size_t i = 0; i < n; i++) {
        int64_t id = (int64_t)i + 1;
        if (id % c->mod != c->rem || (dead && dead[i])) continue;
        double s = cosine(q, V + i * D, D);
        int64_t g = id / c->per_group;
        size_t j = 0;
        while (j < m && grp[j] != g)
            j++;
        if (j < m) {
            if (s <= sc[j]) continue;
            for (; j + 1 < m; j++) /* drop the group's old entry */
                sc[j] = sc[j + 1], grp[j] = grp[j + 1], out[j] = out[j + 1];
            m--;
        }
        if (m == k && s <= sc[k - 1]) continue;
        size_t at = m < k ? m++ : k - 1;
        while (at > 0 && sc[at - 1] < s) {
            sc[at] = sc[at - 1], grp[at] = grp[at - 1], out[at] = out[at - 1];
            at--;
        }
        sc[at] = s, grp[at] = g, out[at] = id;
    }
    return m;
}

/* ---- tests ---- */

static vec_hit first_hits[20][K];
static size_t first_n[20];
static float Q[20 * D];

static void test_round_trip(void) {
    env e;
    env_open(&e, KEY1, D);
    for (size_t lo = 0; lo < N; lo += 200)
        add_range(&e, lo, lo + 200);
    fill(Q, 20, D);
    size_t recall = 0, total = 0;
    bf_ctx all = {1, 0, 1, 0};
    for (int q = 0; q < 20; q++) {
        first_n[q] = search(&e, Q + q * D, K, first_hits[q]);
        CHECK_INT(first_n[q], K);
        int64_t want[K];
        size_t nw = brute(Q + q * D, N, &all, NULL, K, want);
        for (size_t i = 0; i < nw; i++)
            for (size_t j = 0; j < first_n[q]; j++)
                if (first_hits[q][j].chunk_id == want[i]) recall++;
        total += nw;
    }
    CHECK(recall * 100 >= total * 90);
    vec_stats st;
    stats(&e, &st);
    CHECK_INT(st.live, N);
    CHECK_INT(st.generation, N / 200);
    CHECK_INT(st.inserts, N);
    env_close(&e);

    env_open(&e, KEY1, D);
    for (int q = 0; q < 20; q++) {
        vec_hit h[K];
        size_t n = search(&e, Q + q * D, K, h);
        CHECK_INT(n, first_n[q]);
        int same = 1;
        for (size_t i = 0; i < n; i++)
            same &=
                h[i].chunk_id == first_hits[q][i].chunk_id && h[i].score == first_hits[q][i].score;
        CHECK(same);
    }
    stats(&e, &st);
    CHECK_INT(st.live, N);
    CHECK_INT(st.full_loads, 1);   /* loaded once ... */
    CHECK_INT(st.nodes_loaded, N); /* ... every node record ... */
    CHECK_INT(st.inserts, 0);      /* ... and nothing inserted: no distance computed */
    CHECK_INT(st.sharers, 1);
    printf("round trip: %zu vectors, reloaded from %llu records, %.1f bytes/vector\n", (size_t)N,
           (unsigned long long)st.nodes_loaded, st.bytes_per_vector);
    env_close(&e);
}

/* A child process removes chunk 11 (one batch), then adds chunk 250000
 * (another). */
static void commit_in_child(const float *vec) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        test_failed = 0;
        env c;
        env_open(&c, KEY1, D);
        CHECK_INT(store_begin(c.t), LORE_OK); /* generation g + 1 */
        CHECK_INT(ops->begin(c.x), LORE_OK);
        CHECK_INT(ops->remove(c.x, 11), LORE_OK);
        CHECK_INT(ops->flush(c.x), LORE_OK);
        CHECK_INT(store_commit(c.t), LORE_OK);
        CHECK_INT(store_begin(c.t), LORE_OK); /* g + 2 */
        CHECK_INT(ops->begin(c.x), LORE_OK);
        CHECK_INT(ops->add(c.x, 250000, vec), LORE_OK);
        CHECK_INT(ops->flush(c.x), LORE_OK);
        CHECK_INT(store_commit(c.t), LORE_OK);
        env_close(&c);
        _exit(test_failed ? 1 : 0);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_rollback_and_sharing(void) {
    env a, b;
    env_open(&a, KEY1, D);
    env_open(&b, KEY1, D);
    vec_stats sa, sb;
    stats(&b, &sb);
    stats(&a, &sa);
    CHECK_INT(sa.sharers, 2); /* one graph for both handles */
    CHECK_INT(sb.full_loads, 1);
    float extra[50 * D];
    fill(extra, 50, D);
    /* rounds: adds and a remove rolled back before the flush, then after it;
     * then a remove alone (the graph keeps its slots: a partial reload) rolled
     * back after its flush, while another process commits twice */
    for (int round = 0; round < 3; round++) {
        int after_flush = round > 0, other = round == 2;
        CHECK_INT(store_begin(a.t), LORE_OK);
        CHECK_INT(ops->begin(a.x), LORE_OK);
        for (int i = 0; i < 50 && round < 2; i++)
            CHECK_INT(ops->add(a.x, 100000 + i, extra + i * D), LORE_OK);
        CHECK_INT(ops->remove(a.x, 7), LORE_OK);
        if (after_flush) CHECK_INT(ops->flush(a.x), LORE_OK);
        ops->abort(a.x);
        store_rollback(a.t);
        if (other) { /* another process commits the generation the rolled-back flush used */
            commit_in_child(extra + D);
            CHECK_INT(present(&b, 250000, extra + D), 1);
            CHECK_INT(present(&a, 250000, extra + D), 1);
            CHECK_INT(present(&b, 11, V + 10 * D), 0);
            CHECK_INT(ops->add(a.x, 11, V + 10 * D), LORE_INVALID); /* no batch open */
            CHECK_INT(store_begin(a.t), LORE_OK);                   /* put chunk 11 back */
            CHECK_INT(ops->begin(a.x), LORE_OK);
            CHECK_INT(ops->add(a.x, 11, V + 10 * D), LORE_OK);
            CHECK_INT(ops->flush(a.x), LORE_OK);
            CHECK_INT(store_commit(a.t), LORE_OK);
        }
        for (int i = 0; i < 50; i += 7) {
            CHECK_INT(present(&a, 100000 + i, extra + i * D), 0);
            CHECK_INT(present(&b, 100000 + i, extra + i * D), 0);
        }
        CHECK_INT(present(&b, 7, V + 6 * D), 1);
        lore_buf val;
        lore_buf_init(&val, 1 << 20);
        uint8_t key[8] = {0x80, 0, 0, 0, 0, 0x01, 0x86, 0xa0}; /* chunk 100000 */
        CHECK_INT(store_kv_get(a.t, STORE_NS_VECTOR_FLOATS_A, key, 8, &val), LORE_NOT_FOUND);
        lore_buf_free(&val);
        stats(&b, &sb);
        CHECK_INT(sb.live, N + other);
        CHECK_INT(sb.generation, N / 200 + 3 * other);
    }
    /* a batch rolled back without abort (a caller's mistake) is undone at the
     * next begin, which holds the write lock and so knows the graph is ahead */
    CHECK_INT(store_begin(a.t), LORE_OK);
    CHECK_INT(ops->begin(a.x), LORE_OK);
    CHECK_INT(ops->add(a.x, 600000, extra + 2 * D), LORE_OK);
    CHECK_INT(ops->flush(a.x), LORE_OK);
    store_rollback(a.t);
    CHECK_INT(store_begin(a.t), LORE_OK);
    CHECK_INT(ops->begin(a.x), LORE_OK);
    CHECK_INT(ops->flush(a.x), LORE_OK);
    CHECK_INT(store_commit(a.t), LORE_OK);
    CHECK_INT(present(&b, 600000, extra + 2 * D), 0);
    /* b sees a's commit, reloading only the nodes it changed */
    stats(&b, &sb);
    uint64_t loaded = sb.nodes_loaded, full = sb.full_loads;
    CHECK_INT(store_begin(a.t), LORE_OK);
    CHECK_INT(ops->begin(a.x), LORE_OK);
    CHECK_INT(ops->add(a.x, 200000, extra), LORE_OK);
    CHECK_INT(ops->flush(a.x), LORE_OK);
    CHECK_INT(store_commit(a.t), LORE_OK);
    CHECK_INT(present(&b, 200000, extra), 1);
    stats(&b, &sb);
    CHECK_INT(sb.live, N + 2);
    CHECK_INT(sb.full_loads, full);
    CHECK(sb.nodes_loaded - loaded < 200); /* the new node and its relinked neighbours */
    env_close(&b);
    env_close(&a);
}

static void test_other_process(void) {
    env e;
    env_open(&e, KEY1, D);
    vec_stats st;
    stats(&e, &st);
    int64_t live = st.live;
    uint64_t full = st.full_loads;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        test_failed = 0; /* the child reports its own checks */
        env c;
        env_open(&c, KEY1, D);
        CHECK_INT(store_begin(c.t), LORE_OK);
        CHECK_INT(ops->begin(c.x), LORE_OK);
        CHECK_INT(ops->add(c.x, 300000, V), LORE_OK);
        CHECK_INT(ops->remove(c.x, 5), LORE_OK);
        CHECK_INT(ops->flush(c.x), LORE_OK);
        CHECK_INT(store_commit(c.t), LORE_OK);
        env_close(&c);
        _exit(test_failed ? 1 : 0);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_INT(present(&e, 300000, V), 1);
    CHECK_INT(present(&e, 5, V + 4 * D), 0);
    stats(&e, &st);
    CHECK_INT(st.live, live);
    CHECK_INT(st.full_loads, full); /* caught up from the change log */
    env_close(&e);
}

static void test_kill9(void) {
    int pfd[2];
    CHECK_INT(pipe(pfd), 0);
    float kv[300 * D];
    fill(kv, 300, D);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        test_failed = 0; /* the child reports its own checks */
        close(pfd[0]);
        env c;
        env_open(&c, KEY1, D);
        for (int b = 0; b < 3; b++) {
            CHECK_INT(store_begin(c.t), LORE_OK);
            CHECK_INT(ops->begin(c.x), LORE_OK);
            for (int i = 0; i < 50; i++)
                CHECK_INT(ops->add(c.x, 400000 + b * 50 + i, kv + (b * 50 + i) * D), LORE_OK);
            CHECK_INT(ops->flush(c.x), LORE_OK);
            CHECK_INT(store_commit(c.t), LORE_OK);
        }
        CHECK_INT(store_begin(c.t), LORE_OK);
        CHECK_INT(ops->begin(c.x), LORE_OK);
        for (int i = 150; i < 300; i++)
            CHECK_INT(ops->add(c.x, 400000 + i, kv + i * D), LORE_OK);
        CHECK_INT(ops->remove(c.x, 9), LORE_OK);
        CHECK_INT(ops->flush(c.x), LORE_OK);
        char ok = test_failed ? 'F' : 'R';
        if (write(pfd[1], &ok, 1) != 1) _exit(3);
        for (;;)
            pause(); /* killed here, the batch flushed but not committed */
    }
    close(pfd[1]);
    char c = 0;
    CHECK(read(pfd[0], &c, 1) == 1 && c == 'R');
    close(pfd[0]);
    kill(pid, SIGKILL);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status));
    env e;
    env_open(&e, KEY1, D); /* a fresh load (no handle of this process left) */
    vec_stats st;
    stats(&e, &st);
    CHECK_INT(st.full_loads, 1);
    CHECK_INT(st.live, N + 2 + 150); /* N, 200000, 250000, 300000, less 5, the 150 committed */
    int all = 1, none = 1;
    for (int i = 0; i < 150; i++)
        all &= present(&e, 400000 + i, kv + i * D) == 1;
    for (int i = 150; i < 300; i++)
        none &= present(&e, 400000 + i, kv + i * D) == 0;
    CHECK(all);
    CHECK(none);
    CHECK_INT(present(&e, 9, V + 8 * D), 1);
    /* exactly once: a search with each committed vector finds it at the top, once */
    int once = 1;
    for (int i = 0; i < 150; i += 5) {
        vec_hit h[K];
        size_t n = search(&e, kv + i * D, K, h), seen = 0;
        for (size_t j = 0; j < n; j++)
            seen += h[j].chunk_id == 400000 + i;
        once &= seen == 1;
    }
    CHECK(once);
    env_close(&e);
}

static void test_filtered(void) {
    env e;
    env_open(&e, KEY1, D);
    int ok = 1, groups_ok = 1, queries = 0;
    for (int q = 0; q < 30; q++) {
        float qv[D];
        fill(qv, 1, D);
        bf_ctx f = {97, (int)(test_rand() % 97), 1, 0}; /* ~1% of the chunks */
        if (q % 2)
            f.mod = 7, f.rem = (int)(test_rand() % 7), f.per_group = 3; /* ~14%, groups of 3 */
        vec_query vq = {.vec = qv,
                        .k = K,
                        .admit = admit,
                        .admit_ctx = &f,
                        .selectivity = f.mod == 97 ? 1.0 / 97 : 0};
        vec_result r;
        CHECK_INT(ops->search(e.x, &vq, &r), LORE_OK);
        int64_t want[K];
        int dead[N] = {0};
        dead[4] = 1; /* chunk 5, removed by the other process */
        size_t nw = brute(qv, N, &f, dead, K, want);
        if (f.mod == 97) {
            ok &= r.n == nw;
            for (size_t i = 0; i < r.n && i < nw; i++)
                ok &= r.hits[i].chunk_id == want[i];
        }
        for (size_t i = 0; i < r.n; i++)
            for (size_t j = 0; j < i; j++)
                groups_ok &= r.hits[i].group != r.hits[j].group;
        groups_ok &= f.mod == 97 || r.n == K;

        queries++;
        vec_result_free(&r);
    }
    CHECK(ok);
    CHECK(groups_ok);
    printf("filtered: %d queries, exact under the 1%% filter\n", queries);
    env_close(&e);
}

static void test_deletes(void) {
    env e;
    env_open(&e, KEY1, D);
    CHECK_INT(store_begin(e.t), LORE_OK);
    CHECK_INT(ops->begin(e.x), LORE_OK);
    for (int i = 100; i < 300; i++)
        CHECK_INT(ops->remove(e.x, i + 1), LORE_OK);
    CHECK_INT(ops->flush(e.x), LORE_OK);
    CHECK_INT(store_commit(e.t), LORE_OK);
    int never = 1;
    for (int round = 0; round < 3; round++) {
        for (int i = 100; i < 300; i += 3) {
            vec_hit h[K];
            size_t n = search(&e, V + i * D, K, h);
            for (size_t j = 0; j < n; j++)
                never &= h[j].chunk_id < 101 || h[j].chunk_id > 300;
        }
        if (round == 0) { /* repair, in bounded steps, then search again */
            int fin = 0, steps = 0;
            while (!fin && steps < 1000) {
                CHECK_INT(store_begin(e.t), LORE_OK);
                CHECK_INT(ops->begin(e.x), LORE_OK);
                CHECK_INT(ops->repair(e.x, 100, &fin), LORE_OK);
                CHECK_INT(ops->flush(e.x), LORE_OK);
                CHECK_INT(store_commit(e.t), LORE_OK);
                steps++;
            }
            CHECK(fin);
            vec_stats st;
            stats(&e, &st);
            CHECK_INT(st.tombstones, 0);
        } else if (round == 1) {
            env_close(&e);
            env_open(&e, KEY1, D);
        }
    }
    CHECK(never);
    env_close(&e);
}

static _Atomic int stop_readers;

typedef struct reader {
    env e;
    _Atomic long searches;
    long errors, short_pages;
} reader;

static void *reader_main(void *arg) {
    reader *r = arg;
    float q[D];
    uint64_t rng = (uint64_t)(uintptr_t)arg | 1;
    while (!stop_readers) {
        for (int i = 0; i < D; i++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            q[i] = (float)(rng % 2001) / 1000.0f - 1.0f;
        }
        vec_query vq = {.vec = q, .k = K};
        vec_result res;
        if (ops->search(r->e.x, &vq, &res) != LORE_OK)
            r->errors++;
        else {
            r->short_pages += res.n != K;
            vec_result_free(&res);
        }
        r->searches++;
    }
    return NULL;
}

static void test_threads(void) {
    reader rd[2];
    memset(rd, 0, sizeof rd);
    env w;
    env_open(&w, KEY1, D);
    for (int i = 0; i < 2; i++)
        env_open(&rd[i].e, KEY1, D);
    pthread_t th[2];
    stop_readers = 0;
    for (int i = 0; i < 2; i++)
        CHECK_INT(pthread_create(&th[i], NULL, reader_main, &rd[i]), 0);
    while (rd[0].searches == 0 || rd[1].searches == 0) /* both are searching */
        usleep(1000);
    float extra[20 * 10 * D];
    fill(extra, 200, D);
    for (int b = 0; b < 20; b++) {
        CHECK_INT(store_begin(w.t), LORE_OK);
        CHECK_INT(ops->begin(w.x), LORE_OK);
        for (int i = 0; i < 10; i++)
            CHECK_INT(ops->add(w.x, 500000 + b * 10 + i, extra + (b * 10 + i) * D), LORE_OK);
        CHECK_INT(ops->flush(w.x), LORE_OK);
        CHECK_INT(store_commit(w.t), LORE_OK);
    }
    stop_readers = 1;
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    vec_stats st;
    stats(&w, &st);
    CHECK_INT(st.sharers, 3);
    for (int i = 0; i < 2; i++) {
        CHECK(rd[i].searches > 0);
        CHECK_INT(rd[i].errors, 0);
        CHECK_INT(rd[i].short_pages, 0);
        int all = 1;
        for (int j = 0; j < 200; j += 9)
            all &= present(&rd[i].e, 500000 + j, extra + j * D) == 1;
        CHECK(all);
    }
    printf("threads: %ld and %ld searches during 20 committed batches\n", (long)rd[0].searches,
           (long)rd[1].searches);
    for (int i = 0; i < 2; i++)
        env_close(&rd[i].e);
    env_close(&w);
}

/* A handle further behind than the change log reaches loads the whole
 * slot; the log keeps VEC_LOG_KEEP generations. Wrong dims are refused. */
static void test_log_trim(void) {
    env a, b;
    env_open(&a, KEY1, D);
    env_open(&b, KEY1, D);
    vec_stats st;
    stats(&b, &st);
    uint64_t full = st.full_loads;
    /* b is behind by more than the log keeps; a stays current (its own batches) */
    for (int i = 0; i < VEC_LOG_KEEP + 4; i++) {
        CHECK_INT(store_begin(a.t), LORE_OK);
        CHECK_INT(ops->begin(a.x), LORE_OK);
        if (i % 2 == 0)
            CHECK_INT(ops->remove(a.x, 13), LORE_OK);
        else
            CHECK_INT(ops->add(a.x, 13, V + 12 * D), LORE_OK);
        CHECK_INT(ops->flush(a.x), LORE_OK);
        CHECK_INT(store_commit(a.t), LORE_OK);
    }
    int64_t logged = count_rows(a.t, STORE_NS_VECTOR_META_A) - 1; /* less the head */
    CHECK_INT(logged, VEC_LOG_KEEP);
    /* b shares a's graph, which is current: no reload at all */
    CHECK_INT(present(&b, 13, V + 12 * D), 1); /* the last flip added it back */
    stats(&b, &st);
    CHECK_INT(st.full_loads, full);
    env_close(&b);
    env_close(&a);
    /* another process commits more batches than the log keeps */
    env_open(&b, KEY1, D);
    stats(&b, &st);
    full = st.full_loads;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        test_failed = 0; /* the child reports its own checks */
        env c;
        env_open(&c, KEY1, D);
        for (int i = 0; i < VEC_LOG_KEEP + 2; i++) {
            CHECK_INT(store_begin(c.t), LORE_OK);
            CHECK_INT(ops->begin(c.x), LORE_OK);
            if (i % 2 == 0)
                CHECK_INT(ops->add(c.x, 13, V + 12 * D), LORE_OK);
            else
                CHECK_INT(ops->remove(c.x, 13), LORE_OK);
            CHECK_INT(ops->flush(c.x), LORE_OK);
            CHECK_INT(store_commit(c.t), LORE_OK);
        }
        env_close(&c);
        _exit(test_failed ? 1 : 0);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_INT(present(&b, 13, V + 12 * D), 0); /* an even count of flips: removed again */
    stats(&b, &st);
    CHECK_INT(st.full_loads, full + 1); /* the log no longer reached back: a whole load */
    env_close(&b);
    /* a handle whose dims differ from the slot's is refused, with the reason */
    env w;
    env_open(&w, KEY1, 16);
    float q[16] = {1};
    vec_query vq = {.vec = q, .k = 3};
    vec_result r;
    CHECK_INT(ops->search(w.x, &vq, &r), LORE_INVALID);
    CHECK(strstr(ops->errmsg(w.x), "24-dimension") != NULL);
    /* bad parameters are refused at open, naming what is wrong */
    vec_params p;
    params(&p, D);
    void *bad = NULL;
    const char *why = NULL;
    CHECK_INT(ops->open(w.t, &p, "", &bad, &why), LORE_INVALID);
    CHECK(why && strstr(why, "model key"));
    p.scope = NULL;
    CHECK_INT(ops->open(w.t, &p, KEY1, &bad, &why), LORE_INVALID);
    CHECK(why && strstr(why, "scope"));
    params(&p, HNSW_MAX_DIMS + 1);
    CHECK_INT(ops->open(w.t, &p, KEY1, &bad, &why), LORE_INVALID);
    CHECK(bad == NULL);
    /* dims 0 (the slot's own) opens; such a handle cannot create a slot
     * (tests/tenant/test_tenant_ctx.c). */
    params(&p, 0);
    CHECK_INT(ops->open(w.t, &p, KEY1, &bad, &why), LORE_OK);
    ops->close(bad);
    env_close(&w);
}

int main(void) {
    fixture_setup();
    test_round_trip();
    test_rollback_and_sharing();
    test_other_process();
    test_kill9();
    test_filtered();
    test_deletes();
    test_log_trim();
    test_threads();
    fixture_teardown();
    return test_summary();
}
