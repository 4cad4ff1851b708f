/* scale_bench: lore's lexical index against SQLite FTS5 at a million chunks.
 *
 * Measures ingest time, on-disk size, peak memory and single-thread query
 * latency of both engines on the same synthetic corpus, one engine per
 * process so each peak RSS is its own. bench/scale.sh drives the modes and
 * prints the comparison.
 *
 *   scale_bench gen FILE [N]          write N documents (default 1,000,000, or
 *                                     $LORE_SCALE_DOCS) as JSON Lines
 *   scale_bench lore FILE DIR [--batch-docs N]
 *   scale_bench lore FILE postgres://... [--batch-docs N]
 *   scale_bench query DIR|postgres://... [PASSES]
 *   scale_bench fts5 FILE DIR
 *
 * The corpus is deterministic (xorshift64*, fixed seeds): a vocabulary of
 * 100,000 random lower-case pseudo-words of 3 to 10 letters (English stop
 * words skipped, as the analyzer would drop them), drawn with a Zipf law
 * (s = 1.0: rank r has probability proportional to 1/r). Each document has a
 * title of 3 to 8 words and a body whose length is log-normal around a
 * median of 120 words, capped at 300, so it is exactly one chunk (the
 * chunker splits above 400 tokens). The first N documents of a larger corpus
 * are the smaller corpus.
 *
 * Queries: 200 each of 1, 2 and 5 distinct words, drawn from the same Zipf
 * law but never from the 100 most frequent words (those are the "stop words"
 * of this corpus, and no real query is made only of them). Both engines run
 * the same words as an OR of the words, top 10:
 *   lore  index_lexical_bm25.search with SHOULD terms (the analyzed words),
 *         k = 10, inside a read transaction as search_run does; and, for
 *         the 2-word set, the full search_run (literal, snippets off), which
 *         adds query parsing, per-candidate admission (document lookup) and
 *         reading the 10 hits' rows;
 *   fts5  SELECT rowid FROM docs WHERE docs MATCH '"w1" OR "w2"'
 *         ORDER BY rank LIMIT 10   (rank = bm25() with default weights).
 * Every set runs once to warm the caches, then once timed; each time is the
 * wall clock around one query, on one thread.
 *
 * lore ingests FILE with ingest_path and ingest_commit, as `lore ingest`
 * does (JSON Lines are streamed record by record); FTS5 inserts one row per
 * line, parsed with jansson. Both use the same SQLite settings (WAL,
 * synchronous=NORMAL, 64 MiB page cache, 1 GiB mmap) and write 2,000
 * documents per transaction (lore's default batch; --batch-docs changes
 * lore's, to show what the batch size costs). Sizes are the sum of the files in DIR after the
 * database is closed (which checkpoints the WAL into the main file).
 *
 * lore's store may be PostgreSQL instead: a postgres:// or postgresql:// URL
 * in place of DIR (an empty database; bench/scale.sh --pg starts a throwaway
 * one). Its size is the tenant schema's tables with their indexes and TOAST
 * (pg_total_relation_size), read before the store is closed.
 *
 * query runs lore's queries again on a store that a lore run left (the
 * same 200 queries of each set; the first pass warms the caches and is not
 * timed, then PASSES timed passes, default 1): to compare builds, or the
 * two backends, without ingesting again. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "index/lexical/index_lexical.h"
#include "ingest/ingest.h"
#include "search/search.h"
#include "store/store.h"
#include "text/analyzer.h"
#include "util/strmap.h"
#include "util/timeutil.h"

#define VOCAB 100000
#define DEFAULT_DOCS 1000000
#define QUERIES_PER_SET 200
#define SKIP_TOP_RANKS 100
#define TOP_K 10
#define BATCH_DOCS 2000
#define MAX_QTERMS 5
#define TENANT "scale"

static const size_t set_sizes[3] = {1, 2, 5};

/* ---- deterministic randomness ---- */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r) {
    /* xorshift64* (Vigna): fast, and good enough for synthetic text. */
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1DULL;
}

static double rng_unit(rng *r) {
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
}

static double rng_normal(rng *r) {
    /* Box-Muller; one value per call keeps the stream simple. */
    double u = rng_unit(r), v = rng_unit(r);
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* ---- vocabulary and Zipf law ---- */

typedef struct corpus_model {
    char *words[VOCAB]; /* rank order: words[0] is the most frequent */
    uint8_t lens[VOCAB];
    double *cdf; /* cdf[i] = P(rank <= i) */
} corpus_model;

static int model_init(corpus_model *m) {
    memset(m, 0, sizeof *m);
    strmap seen;
    strmap_init(&seen);
    rng r = {0x10DE5CA1EB0A7ULL};
    size_t n = 0;
    int rc = -1;
    while (n < VOCAB) {
        char w[12];
        size_t len = 3 + (size_t)(rng_next(&r) % 8);
        for (size_t i = 0; i < len; i++)
            w[i] = (char)('a' + rng_next(&r) % 26);
        w[len] = '\0';
        if (text_is_stopword(w, len)) continue;
        uint32_t id;
        int added;
        if (strmap_intern(&seen, w, len, &id, &added) != LORE_OK) goto out;
        if (!added) continue;
        if (!(m->words[n] = strdup(w))) goto out;
        m->lens[n++] = (uint8_t)len;
    }
    if (!(m->cdf = malloc(VOCAB * sizeof *m->cdf))) goto out;
    double h = 0;
    for (size_t i = 0; i < VOCAB; i++)
        h += 1.0 / (double)(i + 1);
    double acc = 0;
    for (size_t i = 0; i < VOCAB; i++) {
        acc += 1.0 / (double)(i + 1) / h;
        m->cdf[i] = acc;
    }
    m->cdf[VOCAB - 1] = 1.0;
    rc = 0;
out:
    strmap_free(&seen);
    if (rc) fprintf(stderr, "scale_bench: out of memory building the vocabulary\n");
    return rc;
}

static void model_free(corpus_model *m) {
    for (size_t i = 0; i < VOCAB; i++)
        free(m->words[i]);
    free(m->cdf);
}

static size_t zipf_rank(const corpus_model *m, rng *r) {
    double u = rng_unit(r);
    size_t lo = 0, hi = VOCAB - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->cdf[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* ---- queries ---- */

typedef struct bench_query {
    size_t n;
    const char *words[MAX_QTERMS];             /* borrowed from the model */
    char terms[MAX_QTERMS][TEXT_MAX_TERM + 1]; /* analyzed */
    size_t term_lens[MAX_QTERMS];
    char text[MAX_QTERMS * 12];  /* words joined by spaces */
    char match[MAX_QTERMS * 16]; /* FTS5: "w1" OR "w2" ... */
} bench_query;

typedef struct first_term {
    char *out;
    size_t len;
    int got;
} first_term;

static int take_first(void *ctx, const text_token *tok) {
    first_term *f = ctx;
    memcpy(f->out, tok->term, tok->term_len);
    f->out[tok->term_len] = '\0';
    f->len = tok->term_len;
    f->got = 1;
    return 1;
}

/* Builds the three query sets (sets[k] has QUERIES_PER_SET queries of
 * set_sizes[k] words). Deterministic and independent of the corpus size. */
static int queries_init(const corpus_model *m, bench_query *sets[3]) {
    text_analyzer *an = NULL;
    if (text_analyzer_new(&an) != LORE_OK) {
        fprintf(stderr, "scale_bench: cannot create the analyzer\n");
        return -1;
    }
    rng r = {0x5EED0F0E7A5ULL};
    int rc = 0;
    for (size_t k = 0; k < 3 && !rc; k++) {
        if (!(sets[k] = calloc(QUERIES_PER_SET, sizeof *sets[k]))) {
            rc = -1;
            break;
        }
        for (size_t qi = 0; qi < QUERIES_PER_SET; qi++) {
            bench_query *q = &sets[k][qi];
            while (q->n < set_sizes[k]) {
                size_t rank = zipf_rank(m, &r);
                if (rank < SKIP_TOP_RANKS) continue;
                first_term f = {q->terms[q->n], 0, 0};
                if (text_analyze(an, m->words[rank], m->lens[rank], take_first, &f) != LORE_OK) {
                    rc = -1;
                    break;
                }
                if (!f.got) continue;
                int dup = 0;
                for (size_t j = 0; j < q->n; j++)
                    dup |= q->term_lens[j] == f.len && !memcmp(q->terms[j], f.out, f.len);
                if (dup) continue;
                q->words[q->n] = m->words[rank];
                q->term_lens[q->n++] = f.len;
            }
            size_t at = 0, mt = 0;
            for (size_t j = 0; j < q->n; j++) {
                at += (size_t)snprintf(q->text + at, sizeof q->text - at, "%s%s", j ? " " : "",
                                       q->words[j]);
                mt += (size_t)snprintf(q->match + mt, sizeof q->match - mt, "%s\"%s\"",
                                       j ? " OR " : "", q->words[j]);
            }
        }
    }
    text_analyzer_free(an);
    if (rc) fprintf(stderr, "scale_bench: cannot build the query sets\n");
    return rc;
}

static void queries_free(bench_query *sets[3]) {
    for (size_t k = 0; k < 3; k++)
        free(sets[k]);
}

/* ---- measuring ---- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One timed set: per-query wall-clock and thread CPU milliseconds. The CPU
 * time does not grow when other processes take the cores, so it separates
 * the engine's cost from a noisy machine's. */
typedef struct sample_set {
    double ms[QUERIES_PER_SET], cpu[QUERIES_PER_SET];
    uint64_t hits, postings;
} sample_set;

typedef struct stopwatch {
    int64_t wall, cpu;
} stopwatch;

static int64_t thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static stopwatch sw_start(void) {
    stopwatch w = {lore_mono_ns(), thread_cpu_ns()};
    return w;
}

static void sw_stop(const stopwatch *w, sample_set *s, size_t i) {
    s->ms[i] = (double)(lore_mono_ns() - w->wall) / 1e6;
    s->cpu[i] = (double)(thread_cpu_ns() - w->cpu) / 1e6;
}

typedef struct dist {
    double p50, p99, mean;
} dist;

static dist distribution(double *ms, size_t n) {
    dist d = {0, 0, 0};
    qsort(ms, n, sizeof *ms, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += ms[i];
    /* Nearest rank: p99 of 200 samples is the 198th smallest. */
    d.p50 = ms[(size_t)ceil(0.50 * (double)n) - 1];
    d.p99 = ms[(size_t)ceil(0.99 * (double)n) - 1];
    d.mean = sum / (double)n;
    return d;
}

/* Prints a set's figures, human-readable and as "result KEY VALUE" lines for
 * scale.sh. */
static void print_set(const char *engine, const char *key, const char *label, sample_set *s) {
    dist w = distribution(s->ms, QUERIES_PER_SET), c = distribution(s->cpu, QUERIES_PER_SET);
    printf("%-5s %-34s p50 %8.3f ms  p99 %8.3f ms  mean %8.3f ms  (cpu p50 %.3f p99 %.3f "
           "mean %.3f; %.1f hits",
           engine, label, w.p50, w.p99, w.mean, c.p50, c.p99, c.mean,
           (double)s->hits / QUERIES_PER_SET);
    if (s->postings) printf(", %.0f postings scored", (double)s->postings / QUERIES_PER_SET);
    printf(")\n");
    printf("result %s_p50_ms %.4f\nresult %s_p99_ms %.4f\nresult %s_mean_ms %.4f\n", key, w.p50,
           key, w.p99, key, w.mean);
    printf("result %s_cpu_p50_ms %.4f\nresult %s_cpu_p99_ms %.4f\nresult %s_cpu_mean_ms %.4f\n",
           key, c.p50, key, c.p99, key, c.mean);
}

static double peak_rss_mb(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (double)ru.ru_maxrss / 1024.0; /* ru_maxrss is in KiB on Linux */
}

static int64_t dir_total;
static int add_size(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)path;
    (void)ftw;
    if (flag == FTW_F && S_ISREG(sb->st_mode)) dir_total += sb->st_size;
    return 0;
}

static int64_t dir_bytes(const char *dir) {
    dir_total = 0;
    if (nftw(dir, add_size, 16, FTW_PHYS) != 0) return -1;
    return dir_total;
}

/* Creates dir if needed and checks that it is empty, so every run starts
 * from nothing. */
static int fresh_dir(const char *dir) {
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "scale_bench: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "scale_bench: cannot open %s: %s\n", dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = 0;
    closedir(d);
    if (!empty) {
        fprintf(stderr, "scale_bench: %s is not empty; give a fresh directory\n", dir);
        return -1;
    }
    return 0;
}

static int check_file(const char *path, struct stat *sb) {
    if (stat(path, sb) != 0 || !S_ISREG(sb->st_mode)) {
        fprintf(stderr, "scale_bench: %s: %s (create it with: scale_bench gen %s)\n", path,
                errno == ENOENT ? "no such file" : "not a regular file", path);
        return -1;
    }
    return 0;
}

/* ---- gen ---- */

static int mode_gen(const char *path, size_t ndocs) {
    corpus_model m;
    if (model_init(&m)) return 2;
    int rc = 2;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "scale_bench: cannot write %s: %s\n", tmp, strerror(errno));
        goto out;
    }
    static char iobuf[1 << 20];
    setvbuf(f, iobuf, _IOFBF, sizeof iobuf);
    rng r = {0xC0FFEE1234567ULL};
    int64_t t0 = lore_mono_ns();
    uint64_t words = 0;
    for (size_t d = 0; d < ndocs; d++) {
        size_t ntitle = 3 + (size_t)(rng_next(&r) % 6);
        double len = exp(log(120.0) + 0.5 * rng_normal(&r));
        size_t nbody = len < 8 ? 8 : len > 300 ? 300 : (size_t)llround(len);
        fprintf(f, "{\"id\":\"d%zu\",\"title\":\"", d);
        for (size_t i = 0; i < ntitle; i++) {
            if (i) fputc(' ', f);
            fputs(m.words[zipf_rank(&m, &r)], f);
        }
        fputs("\",\"text\":\"", f);
        for (size_t i = 0; i < nbody; i++) {
            if (i) fputc(' ', f);
            fputs(m.words[zipf_rank(&m, &r)], f);
        }
        fputs("\"}\n", f);
        words += nbody;
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "scale_bench: writing %s failed: %s\n", tmp, strerror(errno));
        goto out;
    }
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "scale_bench: cannot rename %s to %s: %s\n", tmp, path, strerror(errno));
        goto out;
    }
    struct stat sb;
    if (stat(path, &sb) != 0) goto out;
    printf("gen   %zu documents, %.1f body words each on average, %.1f MB in %.1f s -> %s\n", ndocs,
           ndocs ? (double)words / (double)ndocs : 0.0, (double)sb.st_size / 1e6,
           (double)(lore_mono_ns() - t0) / 1e9, path);
    rc = 0;
out:
    model_free(&m);
    return rc;
}

/* ---- lore ---- */

/* What the ingest callbacks share. */
typedef struct ingest_watch {
    size_t problems;
    int64_t t0;
    uint64_t reported; /* documents at the last progress line */
} ingest_watch;

/* Ingest problems: failures are counted (a benchmark over a partly ingested
 * corpus is reported as such); notes are only shown. */
static void on_problem(void *ctx, const char *path, const char *msg, int is_error) {
    ingest_watch *w = ctx;
    if (is_error && w->problems++ >= 10) return;
    fprintf(stderr, "scale_bench: ingest: %s: %s%s\n", path, is_error ? "" : "note: ", msg);
}

static void on_progress(void *ctx, const ingest_stats *s) {
    ingest_watch *w = ctx;
    uint64_t docs = s->docs_added + s->docs_updated + s->docs_unchanged;
    if (docs < w->reported + 100000) return;
    w->reported = docs;
    fprintf(stderr, "scale_bench: lore: %llu documents (%.0f s)\n", (unsigned long long)docs,
            (double)(lore_mono_ns() - w->t0) / 1e9);
}

typedef struct lore_handle {
    store *s;
    store_tenant *t;
    tenant_ctx *tc;
} lore_handle;

static void lore_close(lore_handle *h) {
    tenant_ctx_close(h->tc);
    store_tenant_close(h->t);
    store_close(h->s);
    memset(h, 0, sizeof *h);
}

static int is_pg_url(const char *loc) {
    return !strncmp(loc, "postgres://", 11) || !strncmp(loc, "postgresql://", 13);
}

/* dir: a data directory or a PostgreSQL URL (store_open takes either). */
static int lore_open(const char *dir, int create, lore_handle *h) {
    char err[512];
    memset(h, 0, sizeof *h);
    lore_status st = store_open(dir, STORE_OPEN_CREATE, &h->s, err, sizeof err);
    if (st != LORE_OK) {
        fprintf(stderr, "scale_bench: cannot open the store in %s: %s\n", dir, err);
        return -1;
    }
    if (create && (st = store_tenant_create(h->s, TENANT)) != LORE_OK) goto fail;
    if ((st = store_tenant_open(h->s, TENANT, &h->t)) != LORE_OK) goto fail;
    if ((st = tenant_ctx_attach(h->t, NULL, &h->tc)) != LORE_OK) goto fail;
    return 0;
fail:
    fprintf(stderr, "scale_bench: cannot open tenant '%s' and its index in %s: %s\n", TENANT, dir,
            lore_status_message(st));
    lore_close(h);
    return -1;
}

static int run_lore_queries(const char *dir, bench_query *sets[3], int passes) {
    lore_handle h;
    search_engine *se = NULL;
    sample_set *ss = malloc(sizeof *ss);
    int rc = -1;
    if (!ss || lore_open(dir, 0, &h)) {
        free(ss);
        return -1;
    }
    if (search_engine_new(h.tc, &se) != LORE_OK) goto out;
    lex_stats ls;
    if (h.tc->index.lexical.ops->stats(h.tc->index.lexical.state, &ls) == LORE_OK)
        printf("lore  index: %lld chunks, average length %.1f terms, %u segments, %lld "
               "tombstones\n",
               (long long)ls.chunks, ls.avg_len, ls.segments, (long long)ls.deleted);
    /* pass 0 warms the caches, the others are timed */
    for (int pass = 0; pass <= passes; pass++) {
        for (size_t k = 0; k < 3; k++) {
            ss->hits = ss->postings = 0;
            for (size_t i = 0; i < QUERIES_PER_SET; i++) {
                const bench_query *q = &sets[k][i];
                lex_qterm qt[MAX_QTERMS];
                for (size_t j = 0; j < q->n; j++)
                    qt[j] =
                        (lex_qterm){q->terms[j], q->term_lens[j], LEX_FIELD_ALL, LEX_SHOULD, 1.0f};
                lex_query lq = {qt, q->n, TOP_K, NULL, NULL, 0};
                lex_result r = {0};
                stopwatch w = sw_start();
                lore_status st = store_begin_read(h.t);
                if (st == LORE_OK) {
                    st = h.tc->index.lexical.ops->search(h.tc->index.lexical.state, &lq, &r);
                    store_end_read(h.t);
                }
                sw_stop(&w, ss, i);
                if (st != LORE_OK) {
                    fprintf(stderr, "scale_bench: lore search '%s' failed: %s\n", q->text,
                            lore_status_message(st));
                    goto out;
                }
                ss->hits += r.n;
                ss->postings += r.postings_scored;
                lex_result_free(&r);
            }
            if (pass) {
                char key[32], label[64];
                snprintf(key, sizeof key, "q%zu", set_sizes[k]);
                snprintf(label, sizeof label, "index, %zu-word OR, k=10", set_sizes[k]);
                print_set("lore", key, label, ss);
            }
        }
        /* The full path for the 2-word set. */
        ss->hits = ss->postings = 0;
        for (size_t i = 0; i < QUERIES_PER_SET; i++) {
            const bench_query *q = &sets[1][i];
            search_request req = {
                .query = q->text, .limit = TOP_K, .all_access = 1, .literal = 1, .snippets = 0};
            search_response res;
            char err[256];
            stopwatch w = sw_start();
            lore_status st = search_run(se, &req, &res, err, sizeof err);
            sw_stop(&w, ss, i);
            if (st != LORE_OK) {
                fprintf(stderr, "scale_bench: search_run '%s' failed: %s\n", q->text, err);
                goto out;
            }
            ss->hits += res.n;
            ss->postings += res.postings_scored;
            search_response_free(&res);
        }
        if (pass) print_set("lore", "full2", "search_run, 2-word, limit 10", ss);
    }
    rc = 0;
out:
    search_engine_free(se);
    lore_close(&h);
    free(ss);
    return rc;
}

static int mode_lore(const char *file, const char *dir, size_t batch_docs) {
    struct stat sb;
    corpus_model m;
    bench_query *sets[3] = {0};
    lore_handle h = {0};
    ingest_session *s = NULL;
    int rc = 2;
    int pg = is_pg_url(dir);
    if (check_file(file, &sb) || (!pg && fresh_dir(dir))) return 2;
    if (model_init(&m)) return 2;
    if (queries_init(&m, sets)) goto out;
    if (lore_open(dir, 1, &h)) goto out;

    ingest_watch watch = {0, lore_mono_ns(), 0};
    ingest_options o;
    ingest_options_default(&o);
    o.on_problem = on_problem;
    o.on_progress = on_progress;
    o.cb_ctx = &watch;
    if (batch_docs) o.batch_docs = batch_docs;
    int64_t t0 = lore_mono_ns();
    lore_status st = ingest_session_new(h.tc, &o, &s);
    if (st == LORE_OK) st = ingest_path(s, file);
    if (st == LORE_OK) st = ingest_commit(s);
    double ingest_s = (double)(lore_mono_ns() - t0) / 1e9;
    if (st != LORE_OK) {
        fprintf(stderr, "scale_bench: lore ingest failed: %s (%s)\n", lore_status_message(st),
                store_tenant_errmsg(h.t));
        goto out;
    }
    const ingest_stats *is = ingest_session_stats(s);
    uint64_t docs = is->docs_added + is->docs_updated, chunks = is->chunks;
    if (watch.problems || is->docs_failed || is->files_failed || !docs) {
        fprintf(stderr, "scale_bench: lore ingest had problems: %zu reported, %llu documents\n",
                watch.problems, (unsigned long long)docs);
        goto out;
    }
    if (chunks != docs)
        fprintf(stderr,
                "scale_bench: warning: %llu chunks for %llu documents (expected one "
                "chunk per document)\n",
                (unsigned long long)chunks, (unsigned long long)docs);
    double rss_ingest = peak_rss_mb();
    int64_t tenant_bytes = 0;
    if (store_disk_bytes(h.t, &tenant_bytes) != LORE_OK) tenant_bytes = 0;
    ingest_session_free(s);
    s = NULL;
    int64_t t1 = lore_mono_ns();
    lore_close(&h); /* the last connection's close checkpoints the WAL */
    double close_s = (double)(lore_mono_ns() - t1) / 1e9;
    int64_t disk = pg ? tenant_bytes : dir_bytes(dir);

    printf("lore  ingest (ingest_path, batches of %zu): %llu docs, %llu chunks, %.1f MB in %.1f s: "
           "%.0f docs/s, %.2f "
           "MB/s; close %.1f s\n",
           o.batch_docs, (unsigned long long)docs, (unsigned long long)chunks,
           (double)sb.st_size / 1e6, ingest_s, (double)docs / ingest_s,
           (double)sb.st_size / 1e6 / ingest_s, close_s);
    printf("lore  disk: %.1f MB (tenant %s before close %.1f MB); peak RSS during "
           "ingest %.0f MB\n",
           (double)disk / 1e6, pg ? "schema" : "lore.db+wal", (double)tenant_bytes / 1e6,
           rss_ingest);
    printf("result docs %llu\nresult chunks %llu\nresult ingest_s %.2f\nresult docs_per_s %.0f\n"
           "result disk_mb %.1f\nresult rss_ingest_mb %.0f\n",
           (unsigned long long)docs, (unsigned long long)chunks, ingest_s, (double)docs / ingest_s,
           (double)disk / 1e6, rss_ingest);
    fflush(stdout);
    if (run_lore_queries(dir, sets, 1)) goto out;
    printf("lore  peak RSS (whole run) %.0f MB\nresult rss_peak_mb %.0f\n", peak_rss_mb(),
           peak_rss_mb());
    rc = 0;
out:
    ingest_session_free(s);
    lore_close(&h);
    queries_free(sets);
    model_free(&m);
    return rc;
}

static int mode_query(const char *dir, int passes) {
    corpus_model m;
    bench_query *sets[3] = {0};
    if (model_init(&m)) return 2;
    int rc = queries_init(&m, sets) || run_lore_queries(dir, sets, passes) ? 2 : 0;
    queries_free(sets);
    model_free(&m);
    return rc;
}

/* ---- fts5 ---- */

static int sql_exec(sqlite3 *db, const char *sql) {
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "scale_bench: fts5: %s: %s\n", sql, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static sqlite3 *fts5_open(const char *path) {
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        fprintf(stderr, "scale_bench: cannot open %s: %s\n", path,
                db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    /* The same settings lore's store uses (store/sqlite/sqlite_store.c). */
    if (sql_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     "PRAGMA cache_size=-65536; PRAGMA mmap_size=1073741824;"
                     "PRAGMA temp_store=MEMORY;")) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

static int fts5_ingest(sqlite3 *db, const char *file, uint64_t *docs_out) {
    FILE *f = fopen(file, "r");
    if (!f) {
        fprintf(stderr, "scale_bench: %s: %s\n", file, strerror(errno));
        return -1;
    }
    sqlite3_stmt *ins = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t docs = 0, lineno = 0;
    int rc = -1, in_tx = 0;
    int64_t t0 = lore_mono_ns();
    if (sql_exec(db, "CREATE VIRTUAL TABLE docs USING fts5(title, text, "
                     "tokenize='porter unicode61')"))
        goto out;
    if (sqlite3_prepare_v2(db, "INSERT INTO docs(title, text) VALUES (?1, ?2)", -1, &ins, NULL) !=
        SQLITE_OK) {
        fprintf(stderr, "scale_bench: fts5: %s\n", sqlite3_errmsg(db));
        goto out;
    }
    while ((n = getline(&line, &cap, f)) > 0) {
        lineno++;
        json_error_t jerr;
        json_t *o = json_loadb(line, (size_t)n, 0, &jerr);
        const char *title = o ? json_string_value(json_object_get(o, "title")) : NULL;
        const char *text = o ? json_string_value(json_object_get(o, "text")) : NULL;
        if (!title || !text) {
            fprintf(stderr, "scale_bench: %s:%llu: %s\n", file, (unsigned long long)lineno,
                    o ? "expected string \"title\" and \"text\"" : jerr.text);
            json_decref(o);
            goto out;
        }
        if (!in_tx) {
            if (sql_exec(db, "BEGIN")) {
                json_decref(o);
                goto out;
            }
            in_tx = 1;
        }
        sqlite3_bind_text(ins, 1, title, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 2, text, -1, SQLITE_STATIC);
        int r = sqlite3_step(ins);
        sqlite3_reset(ins);
        json_decref(o);
        if (r != SQLITE_DONE) {
            fprintf(stderr, "scale_bench: fts5 insert: %s\n", sqlite3_errmsg(db));
            goto out;
        }
        if (++docs % BATCH_DOCS == 0) {
            if (sql_exec(db, "COMMIT")) goto out;
            in_tx = 0;
        }
        if (docs % 100000 == 0)
            fprintf(stderr, "scale_bench: fts5: %llu documents (%.0f s)\n",
                    (unsigned long long)docs, (double)(lore_mono_ns() - t0) / 1e9);
    }
    if (ferror(f)) {
        fprintf(stderr, "scale_bench: reading %s failed\n", file);
        goto out;
    }
    if (in_tx && sql_exec(db, "COMMIT")) goto out;
    in_tx = 0;
    rc = 0;
out:
    if (in_tx) (void)sql_exec(db, "ROLLBACK");
    sqlite3_finalize(ins);
    free(line);
    fclose(f);
    *docs_out = docs;
    return rc;
}

static int run_fts5_queries(const char *path, bench_query *sets[3]) {
    sqlite3 *db = fts5_open(path);
    sqlite3_stmt *q = NULL;
    sample_set *ss = malloc(sizeof *ss);
    int rc = -1;
    if (!db || !ss) goto out;
    if (sqlite3_prepare_v2(db, "SELECT rowid FROM docs WHERE docs MATCH ?1 ORDER BY rank LIMIT 10",
                           -1, &q, NULL) != SQLITE_OK) {
        fprintf(stderr, "scale_bench: fts5: %s\n", sqlite3_errmsg(db));
        goto out;
    }
    /* pass 0 warms the caches, pass 1 is timed */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t k = 0; k < 3; k++) {
            ss->hits = ss->postings = 0;
            for (size_t i = 0; i < QUERIES_PER_SET; i++) {
                stopwatch w = sw_start();
                sqlite3_bind_text(q, 1, sets[k][i].match, -1, SQLITE_STATIC);
                int r;
                while ((r = sqlite3_step(q)) == SQLITE_ROW)
                    ss->hits++;
                sqlite3_reset(q);
                sw_stop(&w, ss, i);
                if (r != SQLITE_DONE) {
                    fprintf(stderr, "scale_bench: fts5 query %s: %s\n", sets[k][i].match,
                            sqlite3_errmsg(db));
                    goto out;
                }
            }
            if (pass) {
                char key[32], label[64];
                snprintf(key, sizeof key, "q%zu", set_sizes[k]);
                snprintf(label, sizeof label, "MATCH, %zu-word OR, rank, LIMIT 10", set_sizes[k]);
                print_set("fts5", key, label, ss);
            }
        }
    }
    rc = 0;
out:
    sqlite3_finalize(q);
    sqlite3_close(db);
    free(ss);
    return rc;
}

static int mode_fts5(const char *file, const char *dir) {
    struct stat sb;
    corpus_model m;
    bench_query *sets[3] = {0};
    int rc = 2;
    char path[4096];
    if (check_file(file, &sb) || fresh_dir(dir)) return 2;
    if (model_init(&m)) return 2;
    if (queries_init(&m, sets)) goto out;
    snprintf(path, sizeof path, "%s/fts5.db", dir);
    sqlite3 *db = fts5_open(path);
    if (!db) goto out;
    uint64_t docs = 0;
    int64_t t0 = lore_mono_ns();
    int bad = fts5_ingest(db, file, &docs);
    double ingest_s = (double)(lore_mono_ns() - t0) / 1e9;
    double rss_ingest = peak_rss_mb();
    int64_t t1 = lore_mono_ns();
    sqlite3_close(db);
    double close_s = (double)(lore_mono_ns() - t1) / 1e9;
    if (bad || !docs) goto out;
    int64_t disk = dir_bytes(dir);
    printf("fts5  ingest: %llu docs, %.1f MB in %.1f s: %.0f docs/s, %.2f MB/s; close %.1f s\n",
           (unsigned long long)docs, (double)sb.st_size / 1e6, ingest_s, (double)docs / ingest_s,
           (double)sb.st_size / 1e6 / ingest_s, close_s);
    printf("fts5  disk: %.1f MB; peak RSS during ingest %.0f MB\n", (double)disk / 1e6, rss_ingest);
    printf("result docs %llu\nresult ingest_s %.2f\nresult docs_per_s %.0f\nresult disk_mb %.1f\n"
           "result rss_ingest_mb %.0f\n",
           (unsigned long long)docs, ingest_s, (double)docs / ingest_s, (double)disk / 1e6,
           rss_ingest);
    fflush(stdout);
    if (run_fts5_queries(path, sets)) goto out;
    printf("fts5  peak RSS (whole run) %.0f MB\nresult rss_peak_mb %.0f\n", peak_rss_mb(),
           peak_rss_mb());
    rc = 0;
out:
    queries_free(sets);
    model_free(&m);
    return rc;
}

/* ---- main ---- */

static void usage(FILE *f) {
    fputs(
        "usage: scale_bench gen FILE [N]              write the corpus (N documents, default\n"
        "                                             $LORE_SCALE_DOCS or 1000000)\n"
        "       scale_bench lore FILE DIR [--batch-docs N]  ingest into lore in DIR, then query\n"
        "       scale_bench lore FILE postgres://... [--batch-docs N]  the same on PostgreSQL\n"
        "       scale_bench fts5 FILE DIR             ingest into SQLite FTS5 in DIR, then query\n"
        "       scale_bench query DIR|URL [PASSES]    lore's queries again on a lore run's store\n"
        "DIR must be empty or absent; the PostgreSQL database empty. See bench/README.md.\n",
        f);
}

static int parse_count(const char *v, size_t *out) {
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end || end == v || n == 0 || n > 100000000ULL) {
        fprintf(stderr, "scale_bench: document count '%s': expected 1 to 100000000\n", v);
        return -1;
    }
    *out = (size_t)n;
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "gen") && argc <= 4) {
        size_t n = DEFAULT_DOCS;
        const char *env = getenv("LORE_SCALE_DOCS");
        if (argc == 4 ? parse_count(argv[3], &n) : env && *env ? parse_count(env, &n) : 0) return 1;
        return mode_gen(argv[2], n);
    }
    if (argc >= 4 && !strcmp(argv[1], "lore")) {
        size_t batch = 0;
        for (int i = 4; i < argc; i++) {
            if (!strcmp(argv[i], "--batch-docs")) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "scale_bench: --batch-docs needs a value\n");
                    return 1;
                }
                if (parse_count(argv[++i], &batch)) return 1;
            } else {
                fprintf(stderr, "scale_bench: unknown option %s\n", argv[i]);
                usage(stderr);
                return 1;
            }
        }
        return mode_lore(argv[2], argv[3], batch);
    }
    if (argc == 4 && !strcmp(argv[1], "fts5")) return mode_fts5(argv[2], argv[3]);
    if ((argc == 3 || argc == 4) && !strcmp(argv[1], "query")) {
        size_t passes = 1;
        if (argc == 4 && parse_count(argv[3], &passes)) return 1;
        return mode_query(argv[2], (int)passes);
    }
    usage(stderr);
    return 1;
}
