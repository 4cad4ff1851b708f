/* beir_eval: retrieval quality and speed of lore on a BEIR data set.
 *
 * Ingests DATASET/corpus.jsonl into a fresh tenant through the same path as
 * `lore ingest` (ingest_path, then ingest_commit), runs every query of
 * DATASET/queries.jsonl that has judgments in DATASET/qrels/test.tsv through
 * search_run (literal mode: BEIR queries are plain text, their quotes and
 * dashes are not operators), and prints nDCG@10, Recall@100 and MRR@10 as
 * BEIR computes them with pytrec_eval, the ingest rate and the query
 * latencies.
 *
 * Metric definitions (BEIR's EvaluateRetrieval):
 *   nDCG@10    sum over the top 10 of grade / log2(rank + 1), divided by the
 *              same sum over the judged documents sorted by grade;
 *   Recall@100 judged-relevant (grade > 0) documents in the top 100 divided by
 *              all judged-relevant documents of the query;
 *   MRR@10     1 / rank of the first relevant document in the top 10, else 0.
 * Each is averaged over the evaluated queries. As BEIR does by default
 * (ignore_identical_ids), a hit whose corpus id equals the query id is
 * dropped before scoring; the number dropped is printed. A query with no hit
 * scores 0 (pytrec_eval would skip it; we count it, which can only lower the
 * figures).
 *
 * Latency: every query runs twice, one after another in the same process.
 * The first pass fills SQLite's page cache and mappings (the file was just
 * written, so the OS cache is already warm: it is not a cold-disk figure);
 * the second is the headline (warm). Each time is the wall clock around one
 * search_run, hits' document rows included, snippets off; the thread's CPU
 * time is printed beside it because on a busy machine the wall clock also
 * counts the time other processes held the cores. */
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "index/lexical/index_lexical.h"
#include "ingest/ingest.h"
#include "search/search.h"
#include "store/store.h"
#include "util/strmap.h"
#include "util/timeutil.h"

#define TENANT "beir"
#define RUN_LIMIT 100
#define LINE_MAX_BYTES (1u << 20)

typedef struct judgment {
    char *doc; /* corpus id */
    int grade;
} judgment;

typedef struct bench_query {
    char *id;
    char *text; /* NULL until read from queries.jsonl */
    judgment *j;
    size_t nj, capj;
} bench_query;

typedef struct query_set {
    strmap ids; /* query id -> index into q */
    bench_query *q;
    size_t n, cap;
} query_set;

static void usage(FILE *f) {
    fputs("usage: beir_eval DATASET_DIR [--work DIR] [--run FILE] [--k1 X] [--b Y]\n"
          "                 [--title-weight N]\n"
          "  DATASET_DIR holds corpus.jsonl, queries.jsonl and qrels/test.tsv (BEIR layout).\n"
          "  --work DIR  keep the data directory in DIR (default: a temporary directory,\n"
          "              removed at the end); a tenant named '" TENANT "' there is replaced.\n"
          "  --run FILE  write the (warm) ranking as a TREC run file (qid Q0 doc rank score\n"
          "              tag) to check the figures with trec_eval or pytrec_eval.\n"
          "  --k1, --b, --title-weight  override the BM25 parameters (defaults: the index's).\n",
          f);
}

static int parse_double(const char *opt, const char *v, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double d = v ? strtod(v, &end) : 0;
    if (!v || errno || *end || end == v || d < lo || d > hi) {
        fprintf(stderr, "beir_eval: %s %s: expected a number from %g to %g\n", opt,
                v ? v : "(missing)", lo, hi);
        return -1;
    }
    *out = d;
    return 0;
}

/* CPU time of the calling thread: unlike the wall clock, it does not grow
 * when other processes take the cores, so it tells engine cost from noise. */
static int64_t thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(const double *sorted, size_t n, double p) {
    /* Nearest rank: the smallest value with at least p of the samples at or
     * below it. */
    if (!n) return 0;
    size_t r = (size_t)ceil(p * (double)n);
    if (r < 1) r = 1;
    if (r > n) r = n;
    return sorted[r - 1];
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0)
        fprintf(stderr, "beir_eval: cannot remove %s: %s\n", path, strerror(errno));
    return 0;
}

static int file_exists(const char *dir, const char *name, char *path, size_t cap) {
    snprintf(path, cap, "%s/%s", dir, name);
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fprintf(stderr, "beir_eval: %s: %s\n", path,
                errno == ENOENT ? "no such file (is this a BEIR data set directory?)"
                                : "not a readable file");
        return 0;
    }
    return 1;
}

static void query_set_free(query_set *s) {
    for (size_t i = 0; i < s->n; i++) {
        free(s->q[i].id);
        free(s->q[i].text);
        for (size_t k = 0; k < s->q[i].nj; k++)
            free(s->q[i].j[k].doc);
        free(s->q[i].j);
    }
    free(s->q);
    strmap_free(&s->ids);
}

/* Reads qrels/test.tsv: a header line, then "query-id TAB corpus-id TAB
 * score". Returns 0 or -1 after printing the problem. */
static int read_qrels(const char *path, query_set *s) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "beir_eval: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    size_t lineno = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        lineno++;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (!len) continue;
        char *qid = line, *tab1 = strchr(line, '\t');
        char *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
        if (!tab2) {
            fprintf(stderr, "beir_eval: %s:%zu: expected 3 tab-separated fields\n", path, lineno);
            rc = -1;
            break;
        }
        *tab1 = *tab2 = '\0';
        char *doc = tab1 + 1, *end;
        long grade = strtol(tab2 + 1, &end, 10);
        if (*end || end == tab2 + 1) {
            if (lineno == 1) continue; /* the header */
            fprintf(stderr, "beir_eval: %s:%zu: score '%s' is not an integer\n", path, lineno,
                    tab2 + 1);
            rc = -1;
            break;
        }
        uint32_t id;
        int added;
        if (strmap_intern(&s->ids, qid, strlen(qid), &id, &added) != LORE_OK) goto nomem;
        if (added) {
            if (s->n == s->cap) {
                size_t ncap = s->cap ? s->cap * 2 : 256;
                bench_query *nq = realloc(s->q, ncap * sizeof *nq);
                if (!nq) goto nomem;
                s->q = nq;
                s->cap = ncap;
            }
            memset(&s->q[s->n], 0, sizeof s->q[s->n]);
            if (!(s->q[s->n].id = strdup(qid))) goto nomem;
            s->n++;
        }
        bench_query *q = &s->q[id];
        if (q->nj == q->capj) {
            size_t ncap = q->capj ? q->capj * 2 : 4;
            judgment *nj = realloc(q->j, ncap * sizeof *nj);
            if (!nj) goto nomem;
            q->j = nj;
            q->capj = ncap;
        }
        if (!(q->j[q->nj].doc = strdup(doc))) goto nomem;
        q->j[q->nj++].grade = (int)grade;
    }
    goto out;
nomem:
    fprintf(stderr, "beir_eval: out of memory reading %s\n", path);
    rc = -1;
out:
    free(line);
    fclose(f);
    return rc;
}

/* Reads queries.jsonl ({"_id": ..., "text": ...} per line) and keeps the
 * text of the queries that have judgments. */
static int read_queries(const char *path, query_set *s) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "beir_eval: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (len == 1 && line[0] == '\n') continue;
        json_error_t jerr;
        json_t *o = json_loadb(line, (size_t)len, 0, &jerr);
        const json_t *idv = o ? json_object_get(o, "_id") : NULL;
        const json_t *tv = o ? json_object_get(o, "text") : NULL;
        char idbuf[32];
        const char *qid = NULL;
        if (json_is_string(idv))
            qid = json_string_value(idv);
        else if (json_is_integer(idv)) {
            snprintf(idbuf, sizeof idbuf, "%lld", (long long)json_integer_value(idv));
            qid = idbuf;
        }
        if (!qid || !json_is_string(tv)) {
            fprintf(stderr, "beir_eval: %s:%zu: %s\n", path, lineno,
                    o ? "expected an object with string \"_id\" and \"text\"" : jerr.text);
            json_decref(o);
            rc = -1;
            break;
        }
        uint32_t id = strmap_find(&s->ids, qid, strlen(qid));
        if (id != UINT32_MAX && !s->q[id].text &&
            !(s->q[id].text = strdup(json_string_value(tv)))) {
            json_decref(o);
            fprintf(stderr, "beir_eval: out of memory\n");
            rc = -1;
            break;
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    return rc;
}

static int grade_of(const bench_query *q, const char *doc) {
    for (size_t i = 0; i < q->nj; i++)
        if (!strcmp(q->j[i].doc, doc)) return q->j[i].grade;
    return 0;
}

static int cmp_int_desc(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x < y) - (x > y);
}

typedef struct metrics {
    double ndcg10, recall100, mrr10;
} metrics;

/* Scores one ranked list of corpus ids against the query's judgments. */
static metrics score_query(const bench_query *q, char *const *ranked, size_t n) {
    metrics m = {0, 0, 0};
    double dcg = 0, idcg = 0;
    size_t relevant = 0, found = 0;
    int *grades = malloc((q->nj ? q->nj : 1) * sizeof *grades);
    if (!grades) return m;
    for (size_t i = 0; i < q->nj; i++) {
        grades[i] = q->j[i].grade;
        relevant += q->j[i].grade > 0;
    }
    qsort(grades, q->nj, sizeof *grades, cmp_int_desc);
    for (size_t i = 0; i < q->nj && i < 10; i++)
        if (grades[i] > 0) idcg += grades[i] / log2((double)i + 2);
    free(grades);
    for (size_t i = 0; i < n && i < RUN_LIMIT; i++) {
        int g = grade_of(q, ranked[i]);
        if (i < 10 && g > 0) dcg += g / log2((double)i + 2);
        if (g > 0) found++;
        if (i < 10 && g > 0 && m.mrr10 == 0) m.mrr10 = 1.0 / (double)(i + 1);
    }
    m.ndcg10 = idcg > 0 ? dcg / idcg : 0;
    m.recall100 = relevant ? (double)found / (double)relevant : 0;
    return m;
}

typedef struct pass_result {
    double *lat_ms; /* per evaluated query: wall clock */
    double *cpu_ms; /* per evaluated query: this thread's CPU time */
    metrics sum;
    size_t evaluated, no_hits, dropped_identical, failed;
    uint64_t postings;
} pass_result;

/* Runs every query once. run (may be NULL) receives the ranking in TREC
 * format, for checking the figures with trec_eval or pytrec_eval. */
static int run_pass(search_engine *se, const query_set *s, pass_result *r, FILE *run) {
    memset(r, 0, sizeof *r);
    if (!(r->lat_ms = calloc(s->n ? s->n : 1, sizeof *r->lat_ms)) ||
        !(r->cpu_ms = calloc(s->n ? s->n : 1, sizeof *r->cpu_ms)))
        return -1;
    char *ranked[RUN_LIMIT];
    for (size_t i = 0; i < s->n; i++) {
        const bench_query *q = &s->q[i];
        if (!q->text) continue;
        search_request req = {
            .query = q->text, .limit = RUN_LIMIT, .all_access = 1, .literal = 1, .snippets = 0};
        search_response res;
        char err[256];
        int64_t c0 = thread_cpu_ns(), t0 = lore_mono_ns();
        lore_status st = search_run(se, &req, &res, err, sizeof err);
        int64_t t1 = lore_mono_ns(), c1 = thread_cpu_ns();
        if (st != LORE_OK) {
            /* A failed query counts as an empty result (it scores 0). */
            if (r->failed++ < 5) fprintf(stderr, "beir_eval: query %s failed: %s\n", q->id, err);
        }
        r->lat_ms[r->evaluated] = (double)(t1 - t0) / 1e6;
        r->cpu_ms[r->evaluated] = (double)(c1 - c0) / 1e6;
        size_t n = 0;
        for (size_t k = 0; st == LORE_OK && k < res.n && n < RUN_LIMIT; k++) {
            const char *ext = res.hits[k].doc->external_id;
            if (!strcmp(ext, q->id)) {
                r->dropped_identical++;
                continue;
            }
            if (run) fprintf(run, "%s Q0 %s %zu %.6f lore\n", q->id, ext, n + 1, res.hits[k].score);
            ranked[n++] = res.hits[k].doc->external_id;
        }
        if (!n) r->no_hits++;
        r->postings += res.postings_scored;
        metrics m = score_query(q, ranked, n);
        r->sum.ndcg10 += m.ndcg10;
        r->sum.recall100 += m.recall100;
        r->sum.mrr10 += m.mrr10;
        r->evaluated++;
        if (st == LORE_OK) search_response_free(&res);
    }
    return 0;
}

static void print_latency(const char *label, double *ms, size_t n) {
    qsort(ms, n, sizeof *ms, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += ms[i];
    printf("%-22s p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  mean %.3f ms  max %.3f ms\n", label,
           percentile(ms, n, 0.50), percentile(ms, n, 0.90), percentile(ms, n, 0.99),
           n ? sum / (double)n : 0.0, n ? ms[n - 1] : 0.0);
}

/* Ingest problems: failures are counted (a benchmark over a partly ingested
 * corpus is reported as such); notes are only shown. */
static void on_problem(void *ctx, const char *path, const char *msg, int is_error) {
    size_t *n = ctx;
    if (is_error && (*n)++ >= 10) return;
    fprintf(stderr, "beir_eval: ingest: %s: %s%s\n", path, is_error ? "" : "note: ", msg);
}

int main(int argc, char **argv) {
    const char *dataset = NULL, *work = NULL, *run_path = NULL;
    FILE *run = NULL;
    double k1 = -1, b = -1, tw = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--work") || !strcmp(a, "--run") || !strcmp(a, "--k1") ||
            !strcmp(a, "--b") || !strcmp(a, "--title-weight")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "beir_eval: %s needs a value\n", a);
                return 1;
            }
            const char *v = argv[++i];
            int bad = 0;
            if (!strcmp(a, "--work"))
                work = v;
            else if (!strcmp(a, "--run"))
                run_path = v;
            else if (!strcmp(a, "--k1"))
                bad = parse_double(a, v, 0, 10, &k1);
            else if (!strcmp(a, "--b"))
                bad = parse_double(a, v, 0, 1, &b);
            else if (!(bad = parse_double(a, v, 0, 16, &tw)) && tw != floor(tw)) {
                fprintf(stderr, "beir_eval: --title-weight %s: expected an integer\n", v);
                bad = 1;
            }
            if (bad) return 1;
            continue;
        }
        if (a[0] == '-') {
            fprintf(stderr, "beir_eval: unknown option %s\n", a);
            usage(stderr);
            return 1;
        }
        if (dataset) {
            fprintf(stderr, "beir_eval: more than one DATASET_DIR (%s, %s)\n", dataset, a);
            return 1;
        }
        dataset = a;
    }
    if (!dataset) {
        usage(stderr);
        return 1;
    }

    int rc = 2;
    char corpus[4096], queries[4096], qrels[4096], datadir[4096] = "", err[512];
    int made_tmp = 0;
    query_set qs = {0};
    store *st_ = NULL;
    store_tenant *t = NULL;
    tenant_ctx *tc = NULL;
    ingest_session *ses = NULL;
    search_engine *se = NULL;
    pass_result first = {0}, warm = {0};
    strmap_init(&qs.ids);
    if (!file_exists(dataset, "corpus.jsonl", corpus, sizeof corpus) ||
        !file_exists(dataset, "queries.jsonl", queries, sizeof queries) ||
        !file_exists(dataset, "qrels/test.tsv", qrels, sizeof qrels))
        goto out;
    if (read_qrels(qrels, &qs) || read_queries(queries, &qs)) goto out;
    size_t with_text = 0;
    for (size_t i = 0; i < qs.n; i++)
        with_text += qs.q[i].text != NULL;
    if (!with_text) {
        fprintf(stderr, "beir_eval: no query of %s has judgments in %s\n", queries, qrels);
        goto out;
    }
    if (with_text < qs.n)
        fprintf(stderr, "beir_eval: %zu judged queries have no text in %s; skipped\n",
                qs.n - with_text, queries);

    if (work) {
        snprintf(datadir, sizeof datadir, "%s", work);
    } else {
        snprintf(datadir, sizeof datadir, "/tmp/lore-beir-XXXXXX");
        if (!mkdtemp(datadir)) {
            fprintf(stderr, "beir_eval: cannot create a temporary directory: %s\n",
                    strerror(errno));
            datadir[0] = '\0';
            goto out;
        }
        made_tmp = 1;
    }
    if (store_open(datadir, STORE_OPEN_CREATE, &st_, err, sizeof err) != LORE_OK) {
        fprintf(stderr, "beir_eval: cannot open the store: %s\n", err);
        goto out;
    }
    lore_status s = store_tenant_create(st_, TENANT);
    if (s == LORE_EXISTS) {
        fprintf(stderr, "beir_eval: replacing tenant '%s' in %s\n", TENANT, datadir);
        if ((s = store_tenant_delete(st_, TENANT)) == LORE_OK) s = store_tenant_create(st_, TENANT);
    }
    if (s == LORE_OK) s = store_tenant_open(st_, TENANT, &t);
    if (s != LORE_OK) {
        fprintf(stderr, "beir_eval: cannot create tenant '%s': %s\n", TENANT,
                lore_status_message(s));
        goto out;
    }
    tenant_settings ts;
    tenant_settings_default(&ts);
    if (k1 >= 0) ts.lex.k1 = (float)k1;
    if (b >= 0) ts.lex.b = (float)b;
    if (tw >= 0) ts.lex.title_weight = (uint32_t)tw;
    if ((s = tenant_ctx_attach(t, &ts, &tc)) != LORE_OK) {
        fprintf(stderr, "beir_eval: cannot open the index: %s\n", lore_status_message(s));
        goto out;
    }

    /* ---- ingest ---- */
    size_t problems = 0;
    ingest_options o;
    ingest_options_default(&o);
    o.on_problem = on_problem;
    o.cb_ctx = &problems;
    struct stat sb;
    if (stat(corpus, &sb) != 0) goto out;
    int64_t t0 = lore_mono_ns();
    if ((s = ingest_session_new(tc, &o, &ses)) == LORE_OK &&
        (s = ingest_path(ses, corpus)) == LORE_OK)
        s = ingest_commit(ses);
    double ingest_s = (double)(lore_mono_ns() - t0) / 1e9;
    if (s != LORE_OK) {
        fprintf(stderr, "beir_eval: ingest failed: %s (%s)\n", lore_status_message(s),
                store_tenant_errmsg(t));
        goto out;
    }
    const ingest_stats *is = ingest_session_stats(ses);
    uint64_t docs = is->docs_added + is->docs_updated;
    if (!docs) {
        fprintf(stderr, "beir_eval: no document was ingested from %s\n", corpus);
        goto out;
    }
    if (problems || is->files_failed || is->docs_failed)
        fprintf(stderr,
                "beir_eval: warning: %zu ingest problems (%llu files failed, %llu docs "
                "failed); figures below cover what was ingested\n",
                problems, (unsigned long long)is->files_failed,
                (unsigned long long)is->docs_failed);
    lex_stats ls = {0};
    if (tc->index.lexical.ops->stats(tc->index.lexical.state, &ls) != LORE_OK)
        memset(&ls, 0, sizeof ls);
    int64_t disk = 0;
    if (store_disk_bytes(t, &disk) != LORE_OK) disk = 0;

    /* ---- queries ---- */
    if (search_engine_new(tc, &se) != LORE_OK) {
        fprintf(stderr, "beir_eval: out of memory\n");
        goto out;
    }
    if (run_path && !(run = fopen(run_path, "w"))) {
        fprintf(stderr, "beir_eval: cannot write %s: %s\n", run_path, strerror(errno));
        goto out;
    }
    if (run_pass(se, &qs, &first, NULL) || run_pass(se, &qs, &warm, run)) {
        fprintf(stderr, "beir_eval: out of memory\n");
        goto out;
    }

    double nq = (double)warm.evaluated;
    printf("dataset                %s\n", dataset);
    printf("bm25                   k1 %.2f  b %.2f  title_weight %u\n", (double)ts.lex.k1,
           (double)ts.lex.b, ts.lex.title_weight);
    printf("ingest                 %llu docs, %llu chunks, %.1f MB file, %.2f s: %.0f docs/s, "
           "%.2f MB/s\n",
           (unsigned long long)docs, (unsigned long long)is->chunks, (double)sb.st_size / 1e6,
           ingest_s, (double)docs / ingest_s, (double)sb.st_size / 1e6 / ingest_s);
    printf("index                  %lld chunks, avg length %.1f terms, %u segments; tenant "
           "files %.1f MB\n",
           (long long)ls.chunks, ls.avg_len, ls.segments, (double)disk / 1e6);
    printf("queries                %zu evaluated (%zu with no hit, %zu failed, %zu hits dropped "
           "as query id == corpus id)\n",
           warm.evaluated, warm.no_hits, warm.failed, warm.dropped_identical);
    printf("nDCG@10                %.4f\n", warm.sum.ndcg10 / nq);
    printf("Recall@100             %.4f\n", warm.sum.recall100 / nq);
    printf("MRR@10                 %.4f\n", warm.sum.mrr10 / nq);
    printf("postings scored        %.0f per query (mean)\n", (double)warm.postings / nq);
    print_latency("latency (warm, 2nd)", warm.lat_ms, warm.evaluated);
    print_latency("  cpu time (warm)", warm.cpu_ms, warm.evaluated);
    print_latency("latency (1st pass)", first.lat_ms, first.evaluated);
    rc = 0;
out:
    if (run && fclose(run) != 0) {
        fprintf(stderr, "beir_eval: writing %s failed\n", run_path);
        rc = 2;
    }
    free(first.lat_ms);
    free(first.cpu_ms);
    free(warm.lat_ms);
    free(warm.cpu_ms);
    search_engine_free(se);
    ingest_session_free(ses);
    tenant_ctx_close(tc);
    store_tenant_close(t);
    store_close(st_);
    query_set_free(&qs);
    if (made_tmp && nftw(datadir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "beir_eval: cannot remove %s\n", datadir);
    return rc;
}
