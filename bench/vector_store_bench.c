/* The persisted vector index (src/index/vector/index_vector.h) through the
 * store: time to build n random vectors in committed batches, rows' bytes
 * on disk, time to open and load the graph again (no distance computed),
 * time for a second handle to catch up with one batch committed by another
 * process (a partial reload from the change log), and search latency.
 *
 *   build/release/vector_store_bench [n] [dims] [batch]
 *   (defaults 100000 128 1000; cmake -DLORE_BENCH=ON) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "index/vector/index_vector.h"
#include "store/store.h"

static const index_vector_ops *ops = &index_vector_hnsw;
static uint64_t rng = 0x9E3779B97F4A7C15u;

static float unif(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct env {
    store *s;
    store_tenant *t;
    void *x;
} env;

static void die(const char *what) {
    fprintf(stderr, "vector_store_bench: %s failed\n", what);
    exit(1);
}

static void env_open(env *e, const char *dir, uint32_t dims) {
    char err[256];
    vec_params p;
    vec_params_default(&p, dims, HNSW_COSINE);
    p.scope = dir;
    if (store_open(dir, STORE_OPEN_CREATE, &e->s, err, sizeof err) != LORE_OK) die(err);
    if (store_tenant_open(e->s, "b", &e->t) != LORE_OK) die("tenant open");
    if (ops->open(e->t, &p, "bench|m|d", &e->x, NULL) != LORE_OK) die("index open");
}

static void env_close(env *e) {
    ops->close(e->x);
    store_tenant_close(e->t);
    store_close(e->s);
}

static void batch(env *e, int64_t first, size_t n, uint32_t dims, float *v) {
    if (store_begin(e->t) != LORE_OK || ops->begin(e->x) != LORE_OK) die("begin");
    for (size_t i = 0; i < n; i++) {
        for (uint32_t j = 0; j < dims; j++)
            v[j] = unif();
        if (ops->add(e->x, first + (int64_t)i, v) != LORE_OK) die(ops->errmsg(e->x));
    }
    if (ops->flush(e->x) != LORE_OK || store_commit(e->t) != LORE_OK) die("commit");
}

static double search_once(env *e, uint32_t dims, float *q) {
    for (uint32_t j = 0; j < dims; j++)
        q[j] = unif();
    vec_query vq = {.vec = q, .k = 10};
    vec_result r;
    double t0 = now_s();
    if (ops->search(e->x, &vq, &r) != LORE_OK) die(ops->errmsg(e->x));
    double t = now_s() - t0;
    vec_result_free(&r);
    return t;
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    uint32_t dims = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 128;
    size_t bs = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000;
    if (!n || !dims || dims > HNSW_MAX_DIMS || !bs) die("arguments");
    char dir[] = "/tmp/lore-vbench-XXXXXX";
    if (!mkdtemp(dir)) die("mkdtemp");
    char err[256];
    store *s;
    if (store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err) != LORE_OK ||
        store_tenant_create(s, "b") != LORE_OK)
        die("store");
    store_close(s);
    float *v = malloc(dims * sizeof *v);
    env e;
    env_open(&e, dir, dims);
    double t0 = now_s();
    for (size_t done = 0; done < n; done += bs)
        batch(&e, (int64_t)done + 1, done + bs > n ? n - done : bs, dims, v);
    double build = now_s() - t0;
    int64_t bytes = 0;
    if (store_disk_bytes(e.t, &bytes) != LORE_OK) die("disk bytes");
    env_close(&e);

    env_open(&e, dir, dims);
    t0 = now_s();
    vec_stats st;
    if (ops->stats(e.x, &st) != LORE_OK) die("stats"); /* loads the graph */
    double load = now_s() - t0;
    double lat = 0;
    for (int i = 0; i < 200; i++)
        lat += search_once(&e, dims, v);

    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        env c;
        env_open(&c, dir, dims);
        batch(&c, (int64_t)n + 1, 100, dims, v);
        env_close(&c);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    vec_stats before = st;
    t0 = now_s();
    search_once(&e, dims, v); /* catches up, then searches */
    double catchup = now_s() - t0;
    if (ops->stats(e.x, &st) != LORE_OK) die("stats");
    env_close(&e);

    printf("vectors %zu, dims %u, batches of %zu\n", n, dims, bs);
    printf("build: %.1f s (%.0f vectors/s, committed)\n", build, n / build);
    printf("tenant database: %.1f MB (%.0f bytes/vector incl. float32 rows)\n", bytes / 1e6,
           (double)bytes / (double)n);
    printf("open + load: %.2f s for %llu records (%llu full loads), graph %.0f bytes/vector\n",
           load, (unsigned long long)before.nodes_loaded, (unsigned long long)before.full_loads,
           st.bytes_per_vector);
    printf("search k=10 ef=default: %.2f ms mean over 200\n", lat / 200 * 1e3);
    printf("catch up with 100 vectors from another process + 1 search: %.1f ms, %llu records "
           "reloaded, %llu full loads\n",
           catchup * 1e3, (unsigned long long)(st.nodes_loaded - before.nodes_loaded),
           (unsigned long long)(st.full_loads - before.full_loads));
    free(v);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
