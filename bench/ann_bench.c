/* ann_bench: lore's HNSW (src/index/vector/) on an ANN data set, the lore
 * side of bench/ann.sh (bench/ann_hnswlib.py is the hnswlib side).
 *
 *   ann_bench gen N D SEED OUT          N random D-dim vectors (Gaussian,
 *                                       xorshift64* + Box-Muller)
 *   ann_bench gt BASE QUERY K OUT       exact top K by cosine (brute force)
 *   ann_bench run BASE QUERY GT M EFC EF[,EF...]
 *   ann_bench run BASE QUERY GT M EFC EF[,EF...] GRAPH
 *                                       the same, and saves the built graph
 *                                       to GRAPH, or loads it from GRAPH
 *                                       instead of building when it exists
 *                                       (for iterating on search speed; the
 *                                       file holds the index's own records)
 *
 * Vector files: u32 n, u32 d, then n*d float32; ground truth: u32 n, u32 k,
 * then n*k int32 (row numbers of BASE), all little-endian. `run` builds the
 * index single-threaded with keep_float off: the int8 graph lives in memory
 * and re-ranking reads the float32 vectors from BASE, mapped (the "separate
 * array the caller may page"). It prints build time, bytes per vector
 * (the index's own account, and the resident memory the build added), then
 * one line per ef: recall@10 and queries/s (one query at a time).
 *
 * Graph file: the 40-byte header record (hnsw_header_encode), u32 slots,
 * then per slot u32 length (0: free) and the node record (hnsw.h). */
#include "index/vector/hnsw.h"
#include "index/vector/vector_dist.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct vecfile {
    uint32_t n, d;
    const float *v;
    void *map;
    size_t len;
} vecfile;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_now(void) { /* this process's CPU time: steadier on a shared machine */
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *arg) {
    fprintf(stderr, "ann_bench: %s%s%s\n", what, arg ? ": " : "", arg ? arg : "");
    exit(1);
}

static void vf_open(const char *path, vecfile *f) {
    int fd = open(path, O_RDONLY);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || sb.st_size < 8) die("cannot read vector file", path);
    f->len = (size_t)sb.st_size;
    f->map = mmap(NULL, f->len, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (f->map == MAP_FAILED) die("cannot map", path);
    const uint32_t *h = f->map;
    f->n = h[0], f->d = h[1];
    if (f->d < 1 || f->d > HNSW_MAX_DIMS || 8 + (size_t)f->n * f->d * 4 != f->len)
        die("bad vector file (expected u32 n, u32 d, n*d float32)", path);
    f->v = (const float *)((const char *)f->map + 8);
}

static uint64_t rng_state;
static uint64_t rng_next(void) {
    rng_state ^= rng_state >> 12, rng_state ^= rng_state << 25, rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static int cmd_gen(char **argv) {
    size_t n = strtoull(argv[0], NULL, 10);
    uint32_t d = (uint32_t)strtoul(argv[1], NULL, 10);
    rng_state = strtoull(argv[2], NULL, 10) * 0x9e3779b97f4a7c15ull + 1;
    FILE *out = fopen(argv[3], "wb");
    if (!out || !n || !d || d > HNSW_MAX_DIMS) die("gen: bad arguments or output", argv[3]);
    uint32_t hdr[2] = {(uint32_t)n, d};
    fwrite(hdr, 4, 2, out);
    float *row = malloc(d * sizeof *row);
    for (size_t i = 0; i < n; i++) {
        for (uint32_t j = 0; j < d; j++) {
            double u1 = ((double)(rng_next() >> 11) + 1) / 9007199254740993.0;
            double u2 = (double)(rng_next() >> 11) / 9007199254740992.0;
            row[j] = (float)(sqrt(-2 * log(u1)) * cos(2 * M_PI * u2));
        }
        fwrite(row, 4, d, out);
    }
    free(row);
    return fclose(out) == 0 ? 0 : 1;
}

static void unit(const float *in, float *out, uint32_t d) {
    double ss = 0;
    for (uint32_t i = 0; i < d; i++)
        ss += (double)in[i] * in[i];
    float inv = ss > 0 ? (float)(1 / sqrt(ss)) : 0;
    for (uint32_t i = 0; i < d; i++)
        out[i] = in[i] * inv;
}

static int cmd_gt(char **argv) {
    vecfile b, q;
    vf_open(argv[0], &b), vf_open(argv[1], &q);
    uint32_t k = (uint32_t)strtoul(argv[2], NULL, 10), d = b.d;
    if (q.d != d || k < 1 || k > 100) die("gt: dims differ or bad k", NULL);
    float *bu = malloc((size_t)b.n * d * 4), *qu = malloc(d * 4), *best = malloc(k * 4);
    int32_t *ids = malloc((size_t)q.n * k * 4);
    for (size_t i = 0; i < b.n; i++)
        unit(b.v + i * d, bu + i * d, d);
    for (uint32_t qi = 0; qi < q.n; qi++) {
        unit(q.v + (size_t)qi * d, qu, d);
        int32_t *row = ids + (size_t)qi * k;
        uint32_t m = 0;
        for (uint32_t i = 0; i < b.n; i++) {
            float s = vdist_dot_f32(qu, bu + (size_t)i * d, d);
            if (m == k && s <= best[k - 1]) continue;
            uint32_t j = m < k ? m++ : k - 1;
            for (; j > 0 && best[j - 1] < s; j--)
                best[j] = best[j - 1], row[j] = row[j - 1];
            best[j] = s, row[j] = (int32_t)i;
        }
    }
    FILE *out = fopen(argv[3], "wb");
    uint32_t hdr[2] = {q.n, k};
    if (!out || fwrite(hdr, 4, 2, out) != 2 ||
        fwrite(ids, 4, (size_t)q.n * k, out) != (size_t)q.n * k || fclose(out) != 0)
        die("gt: cannot write", argv[3]);
    free(bu), free(qu), free(best), free(ids);
    return 0;
}

/* Anonymous resident memory (the mapped vector files are left out). */
static size_t rss_bytes(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "RssAnon: %lu kB", &kb) == 1) break;
    if (f) fclose(f);
    return (size_t)kb * 1024;
}

static const vecfile *fetch_base;
static int fetch_row(void *ctx, int64_t id, float *out, uint32_t dims) {
    (void)ctx;
    if (id < 0 || id >= fetch_base->n || dims != fetch_base->d) return -1;
    memcpy(out, fetch_base->v + (size_t)id * dims, dims * sizeof *out);
    return 0;
}

static void sweep(const hnsw *h, const vecfile *q, const int32_t *gt, uint32_t gk,
                  const char *efs) {
    char *list = strdup(efs);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        uint32_t ef = (uint32_t)strtoul(tok, NULL, 10);
        hnsw_hit hits[10];
        size_t found = 0, n = 0;
        double t0 = now(), c0 = cpu_now();
        for (uint32_t i = 0; i < q->n; i++) {
            hnsw_query hq = {.vec = q->v + (size_t)i * q->d, .k = 10, .ef = ef, .fetch = fetch_row};
            if (hnsw_search(h, &hq, hits, &n) != LORE_OK) die("search failed", NULL);
            for (size_t a = 0; a < n; a++)
                for (uint32_t b = 0; b < 10 && b < gk; b++)
                    if (hits[a].id == gt[(size_t)i * gk + b]) {
                        found++;
                        break;
                    }
        }
        double dt = now() - t0, dc = cpu_now() - c0;
        printf("lore ef=%u recall@10=%.4f qps=%.0f cpu_qps=%.0f\n", ef,
               (double)found / (10.0 * q->n), q->n / dt, q->n / dc);
        fflush(stdout);
    }
    free(list);
}

static void graph_save(const hnsw *h, const char *path) {
    FILE *f = fopen(path, "wb");
    uint8_t hdr[HNSW_HEADER_BYTES];
    hnsw_stats st;
    hnsw_get_stats(h, &st);
    uint32_t slots = (uint32_t)st.slots;
    hnsw_header_encode(h, hdr);
    if (!f || fwrite(hdr, 1, sizeof hdr, f) != sizeof hdr || fwrite(&slots, 4, 1, f) != 1)
        die("cannot write graph", path);
    uint8_t *rec = NULL;
    for (uint32_t i = 0; i < slots; i++) {
        size_t cap = hnsw_node_record_size(h, i), len = 0;
        if (cap && !(rec = realloc(rec, cap))) die("out of memory", NULL);
        if (cap && hnsw_node_encode(h, i, rec, cap, &len) != LORE_OK) die("encode failed", NULL);
        uint32_t l32 = (uint32_t)len;
        if (fwrite(&l32, 4, 1, f) != 1 || fwrite(rec, 1, len, f) != len)
            die("cannot write graph", path);
    }
    free(rec);
    if (fclose(f) != 0) die("cannot write graph", path);
}

/* NULL when path does not exist; dies on a damaged file. */
static hnsw *graph_load(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t hdr[HNSW_HEADER_BYTES];
    uint32_t slots = 0;
    hnsw *h = NULL;
    if (fread(hdr, 1, sizeof hdr, f) != sizeof hdr || fread(&slots, 4, 1, f) != 1 ||
        hnsw_load_begin(hdr, sizeof hdr, 0, &h) != LORE_OK)
        die("bad graph file", path);
    uint8_t *rec = NULL;
    for (uint32_t i = 0; i < slots; i++) {
        uint32_t len = 0;
        if (fread(&len, 4, 1, f) != 1 || len > (1u << 24)) die("bad graph file", path);
        if (!len) {
            if (hnsw_load_free(h, i) != LORE_OK) die("bad graph file", path);
            continue;
        }
        if (!(rec = realloc(rec, len))) die("out of memory", NULL);
        if (fread(rec, 1, len, f) != len || hnsw_load_node(h, i, rec, len) != LORE_OK)
            die("bad graph file", path);
    }
    free(rec);
    fclose(f);
    if (hnsw_load_finish(h) != LORE_OK) die("bad graph file", path);
    return h;
}

static int cmd_run(char **argv, const char *graph) {
    vecfile b, q;
    vf_open(argv[0], &b), vf_open(argv[1], &q);
    int fd = open(argv[2], O_RDONLY);
    uint32_t gh[2];
    if (fd < 0 || read(fd, gh, 8) != 8 || gh[0] != q.n || gh[1] < 10)
        die("bad ground truth", argv[2]);
    int32_t *gt = malloc((size_t)gh[0] * gh[1] * 4);
    if (read(fd, gt, (size_t)gh[0] * gh[1] * 4) != (ssize_t)((size_t)gh[0] * gh[1] * 4))
        die("short ground truth", argv[2]);
    close(fd);
    hnsw_params p;
    hnsw_params_default(&p, b.d, HNSW_COSINE);
    p.M = (uint32_t)strtoul(argv[3], NULL, 10);
    p.ef_construction = (uint32_t)strtoul(argv[4], NULL, 10);
    p.keep_float = 0;
    fetch_base = &b;
    hnsw *h = NULL;
    const char *err = NULL;
    size_t rss0 = rss_bytes();
    double t0 = now(), build = -1;
    if (graph && (h = graph_load(graph))) {
        const hnsw_params *lp = hnsw_get_params(h);
        if (lp->dims != b.d || lp->M != p.M || lp->ef_construction != p.ef_construction)
            die("the saved graph has other dims, M or efConstruction", graph);
    } else {
        if (hnsw_new(&p, &h, &err) != LORE_OK) die("bad parameters", err);
        for (uint32_t i = 0; i < b.n; i++)
            if (hnsw_insert(h, i, b.v + (size_t)i * b.d) != LORE_OK) die("insert failed", NULL);
        build = now() - t0;
        if (graph) graph_save(h, graph);
    }
    hnsw_stats st;
    hnsw_get_stats(h, &st);
    if (build >= 0)
        printf("lore kernels=%s n=%u d=%u M=%u efc=%u build_s=%.1f\n", vdist_kernel_name(), b.n,
               b.d, p.M, p.ef_construction, build);
    else
        printf("lore kernels=%s n=%u d=%u M=%u efc=%u loaded from %s\n", vdist_kernel_name(), b.n,
               b.d, p.M, p.ef_construction, graph);
    printf("lore bytes_per_vector=%.0f (index account) rss_per_vector=%.0f float32_paged=%u\n",
           st.bytes_per_vector, (double)(rss_bytes() - rss0) / b.n, b.d * 4);
    fflush(stdout);
    sweep(h, &q, gt, gh[1], argv[5]);
    hnsw_free(h);
    free(gt);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 6 && strcmp(argv[1], "gen") == 0) return cmd_gen(argv + 2);
    if (argc == 6 && strcmp(argv[1], "gt") == 0) return cmd_gt(argv + 2);
    if ((argc == 8 || argc == 9) && strcmp(argv[1], "run") == 0)
        return cmd_run(argv + 2, argc == 9 ? argv[8] : NULL);
    fprintf(stderr, "usage: ann_bench gen N D SEED OUT | gt BASE QUERY K OUT |\n"
                    "       ann_bench run BASE QUERY GT M EFC EF[,EF...] [GRAPH]\n");
    return 2;
}
