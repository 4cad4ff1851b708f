/* long_query: search latency against the number of terms a query keeps.
 *
 * Picks SEARCH_MAX_SCORED_TERMS from figures instead of a guess. Ingests
 * DATASET/corpus.jsonl (BEIR layout) into a fresh tenant as `lore ingest`
 * does, then times search_run, the whole path a REST or MCP search takes
 * (analysis, one lookup per term, idf selection, evaluation, hits' rows and
 * snippets), at a range of term limits (search_request.max_terms):
 *
 *   paragraph  queries of up to QUERY_MAX_BYTES: the texts of consecutive
 *              corpus documents run together and cut at a word boundary
 *              below the cap, as a pasted paragraph is (literal mode);
 *   like       "more like this" of long documents: consecutive abstracts
 *              run together to SEARCH_LIKE_MAX_BYTES, ingested after the
 *              paragraph pass, searched with like=.
 *
 * Each (query, limit) pair runs --reps times after one warm-up run; the
 * figures are the median and 90th percentile of the wall clock over every
 * query and repetition, with the mean number of terms evaluated. On a busy
 * machine the thread's CPU time is printed too (it does not grow while other
 * processes hold the cores).
 *
 * Last, the memory of the lexical search of each like= document's terms
 * (through the index, max_should = SEARCH_MAX_SCORED_TERMS): posting list
 * bytes read and the most held at once, against every term's lists. */
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "index/lexical/index_lexical.h"
#include "ingest/ingest.h"
#include "search/query.h"
#include "search/search.h"
#include "store/store.h"
#include "text/analyzer.h"
#include "util/strmap.h"
#include "util/timeutil.h"

#define TENANT "longq"
#define MAX_DOCS 200000
#define NLONG 16

static const size_t limits[] = {8, 16, 32, 64, 128, 256, 384, 512, 1024, 2048, 4096};
#define NLIMITS (sizeof limits / sizeof limits[0])

typedef struct corpus {
    char **text; /* title + " " + text, per document */
    size_t n;
} corpus;

static int64_t thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p) {
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)(p * (double)n + 0.999999);
    return v[i ? i - 1 : 0];
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int read_corpus(const char *path, corpus *c) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "long_query: %s: %s\n", path, strerror(errno));
        return -1;
    }
    c->text = calloc(MAX_DOCS, sizeof *c->text);
    char *line = NULL;
    size_t cap = 0;
    while (c->text && c->n < MAX_DOCS && getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        const char *ti = json_string_value(json_object_get(o, "title"));
        const char *tx = json_string_value(json_object_get(o, "text"));
        if (tx) {
            size_t n = (ti ? strlen(ti) : 0) + strlen(tx) + 2;
            char *s = malloc(n);
            if (s) {
                snprintf(s, n, "%s %s", ti ? ti : "", tx);
                /* One line of text: newlines would end the JSON Lines record. */
                for (char *p = s; *p; p++)
                    if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
                c->text[c->n++] = s;
            }
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    return c->n ? 0 : -1;
}

/* Documents from `first` on, run together up to cap bytes, cut after the
 * last whole word. Returns an owned string. */
static char *run_together(const corpus *c, size_t first, size_t cap) {
    char *s = malloc(cap + 1);
    size_t n = 0;
    if (!s) return NULL;
    for (size_t i = first; n < cap; i++) {
        const char *t = c->text[i % c->n];
        size_t l = strlen(t);
        if (n && n < cap) s[n++] = ' ';
        size_t take = l < cap - n ? l : cap - n;
        memcpy(s + n, t, take);
        n += take;
        if (take < l) {
            while (n > 0 && s[n - 1] != ' ')
                n--; /* cut at a word boundary (also keeps UTF-8 whole) */
            break;
        }
    }
    while (n > 0 && s[n - 1] == ' ')
        n--;
    s[n] = '\0';
    return s;
}

static size_t words(const char *s) {
    size_t w = 0;
    for (int in = 0; *s; s++) {
        int sp = *s == ' ';
        w += !sp && !in;
        in = !sp;
    }
    return w;
}

typedef struct row {
    double p50, p90, cpu50, terms, dropped, overlap;
} row;

/* The top 10 document rowids of each query with every term kept. */
typedef struct topten {
    int64_t id[10];
    size_t n;
} topten;

/* Times each query (or like id) at max_terms = lim. With ref set, also how
 * many of the top 10 are those of the full query (mean fraction); with
 * fill set, records the top 10 into it instead. */
static int measure(search_engine *se, char **q, char **like, size_t nq, size_t lim, int reps,
                   row *out, topten *ref, int fill) {
    double overlap = 0;
    size_t ns = nq * (size_t)reps;
    double *lat = malloc(ns * sizeof *lat), *cpu = malloc(ns * sizeof *cpu);
    double terms = 0, dropped = 0;
    size_t k = 0;
    int rc = lat && cpu ? 0 : -1;
    for (size_t i = 0; i < nq && !rc; i++) {
        search_request r = {.query = q ? q[i] : NULL,
                            .like = like ? like[i] : NULL,
                            .literal = q != NULL,
                            .all_access = 1,
                            .snippets = 1,
                            .limit = 10,
                            .max_terms = lim};
        for (int rep = -1; rep < reps && !rc; rep++) {
            search_response res;
            char err[256];
            int64_t c0 = thread_cpu_ns(), t0 = lore_mono_ns();
            lore_status st = search_run(se, &r, &res, err, sizeof err);
            int64_t t1 = lore_mono_ns(), c1 = thread_cpu_ns();
            if (st != LORE_OK) {
                fprintf(stderr, "long_query: search failed: %s\n", err);
                rc = -1;
                break;
            }
            if (rep == -1 && fill && ref) {
                ref[i].n = res.n < 10 ? res.n : 10;
                for (size_t h = 0; h < ref[i].n; h++)
                    ref[i].id[h] = res.hits[h].doc->rowid;
            } else if (rep == -1 && ref) {
                size_t same = 0;
                for (size_t h = 0; h < res.n && h < 10; h++)
                    for (size_t g = 0; g < ref[i].n; g++)
                        same += res.hits[h].doc->rowid == ref[i].id[g];
                overlap += ref[i].n ? (double)same / (double)ref[i].n : 1.0;
            }
            if (rep >= 0) {
                lat[k] = (double)(t1 - t0) / 1e6;
                cpu[k++] = (double)(c1 - c0) / 1e6;
                terms += (double)res.terms_searched;
                dropped += (double)res.dropped_total;
            }
            search_response_free(&res);
        }
    }
    if (!rc) {
        out->p50 = pct(lat, k, 0.5);
        out->p90 = pct(lat, k, 0.9);
        out->cpu50 = pct(cpu, k, 0.5);
        out->terms = terms / (double)k;
        out->dropped = dropped / (double)k;
        out->overlap = overlap / (double)nq;
    }
    free(lat);
    free(cpu);
    return rc;
}

static void table(const char *title, search_engine *se, char **q, char **like, size_t nq,
                  int reps) {
    topten *ref = calloc(nq, sizeof *ref);
    row r;
    /* Every term kept: the reference top 10, and a warm-up of every list. */
    if (!ref || measure(se, q, like, nq, LEX_MAX_QUERY_TERMS, 1, &r, ref, 1)) {
        free(ref);
        return;
    }
    printf("\n%s (%zu queries x %d runs)\n", title, nq, reps);
    printf("| max terms | terms evaluated (mean) | dropped (mean) | top 10 as with all terms | "
           "p50 ms | p90 ms | p50 CPU ms |\n|---:|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < NLIMITS; i++) {
        if (measure(se, q, like, nq, limits[i], reps, &r, ref, 0)) break;
        printf("| %zu | %.0f | %.0f | %.0f%% | %.2f | %.2f | %.2f |\n", limits[i], r.terms,
               r.dropped, 100.0 * r.overlap, r.p50, r.p90, r.cpu50);
        fflush(stdout);
        if (r.dropped == 0) break; /* larger limits keep the same terms */
    }
    free(ref);
}

typedef struct term_counts {
    strmap terms;
    float *count;
    size_t cap;
} term_counts;

static int count_term(void *ctx, const text_token *t) {
    term_counts *tc = ctx;
    uint32_t id;
    int added;
    if (strmap_intern(&tc->terms, t->term, t->term_len, &id, &added) != LORE_OK) return 1;
    if (id >= tc->cap) {
        size_t cap = tc->cap ? tc->cap * 2 : 1024;
        float *c = realloc(tc->count, cap * sizeof *c);
        if (!c) return 1;
        memset(c + tc->cap, 0, (cap - tc->cap) * sizeof *c);
        tc->count = c;
        tc->cap = cap;
    }
    tc->count[id] += 1.0f;
    return 0;
}

/* Memory of the lexical search of a 32 KB document's distinct terms (as
 * like= searches them: SHOULD, weighted by count), straight through the
 * index: the bytes of posting lists read, and the most held at once, with
 * max_should = SEARCH_MAX_SCORED_TERMS against every term kept (what was
 * held before only the kept terms' lists were). */
static void memory(const corpus *c, tenant_ctx *ctx) {
    text_analyzer *an = NULL;
    if (text_analyzer_new(&an) != LORE_OK) return;
    printf("\nlexical memory, like= of 32 KB documents, max_should %d (%d documents)\n"
           "| terms | lists of every term, KB | read, KB | held at most, KB | kept terms' "
           "lists, KB |\n|---:|---:|---:|---:|---:|\n",
           SEARCH_MAX_SCORED_TERMS, NLONG);
    for (size_t i = 0; i < NLONG; i++) {
        char *txt = run_together(c, 1000 + i * 311, SEARCH_LIKE_MAX_BYTES - 64);
        term_counts tc = {0};
        strmap_init(&tc.terms);
        lex_qterm *qt = NULL;
        if (txt && text_analyze(an, txt, strlen(txt), count_term, &tc) == LORE_OK &&
            tc.terms.count <= LEX_MAX_QUERY_TERMS &&
            (qt = calloc(tc.terms.count ? tc.terms.count : 1, sizeof *qt))) {
            for (uint32_t t = 0; t < tc.terms.count; t++) {
                uint32_t len;
                const char *k = strmap_key(&tc.terms, t, &len);
                qt[t] = (lex_qterm){k, len, LEX_FIELD_ALL, LEX_SHOULD, tc.count[t]};
            }
            lex_query lq = {qt, tc.terms.count, 10, NULL, NULL, SEARCH_MAX_SCORED_TERMS};
            lex_query all = lq;
            all.max_should = 0;
            lex_result r = {0}, ra = {0};
            if (ctx->index.lexical.ops->search(ctx->index.lexical.state, &lq, &r) == LORE_OK &&
                ctx->index.lexical.ops->search(ctx->index.lexical.state, &all, &ra) == LORE_OK)
                printf("| %zu | %.0f | %.0f | %.0f | %.0f |\n", tc.terms.count,
                       (double)ra.postings_bytes_peak / 1024,
                       (double)r.postings_bytes_loaded / 1024, (double)r.postings_bytes_peak / 1024,
                       (double)(r.postings_bytes_loaded - ra.postings_bytes_loaded) / 1024);
            lex_result_free(&r);
            lex_result_free(&ra);
        }
        free(qt);
        free(tc.count);
        strmap_free(&tc.terms);
        free(txt);
    }
    text_analyzer_free(an);
}

int main(int argc, char **argv) {
    if (argc < 2 || argv[1][0] == '-') {
        fputs("usage: long_query DATASET_DIR [--queries N] [--reps R]\n"
              "  DATASET_DIR holds corpus.jsonl (BEIR layout). Times search at term limits\n"
              "  from 8 to 4096 for 4 KB paragraph queries and like= of 32 KB documents.\n",
              stderr);
        return 2;
    }
    size_t nq = 20;
    int reps = 5;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--queries"))
            nq = (size_t)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps"))
            reps = atoi(argv[i + 1]);
    }
    if (nq < 1 || nq > 1000 || reps < 1 || reps > 1000) {
        fputs("long_query: --queries 1..1000, --reps 1..1000\n", stderr);
        return 2;
    }
    char path[4096], datadir[] = "/tmp/lore-longq-XXXXXX", err[512];
    snprintf(path, sizeof path, "%s/corpus.jsonl", argv[1]);
    corpus c = {0};
    if (read_corpus(path, &c)) return 2;
    if (!mkdtemp(datadir)) return 2;
    int rc = 2;
    store *st_ = NULL;
    store_tenant *t = NULL;
    tenant_ctx *tc = NULL;
    ingest_session *ses = NULL;
    search_engine *se = NULL;
    char **q = calloc(nq, sizeof *q), **like = calloc(nq, sizeof *like);
    char *jl = NULL;
    ingest_options o;
    ingest_options_default(&o);
    if (!q || !like || store_open(datadir, STORE_OPEN_CREATE, &st_, err, sizeof err) != LORE_OK ||
        store_tenant_create(st_, TENANT) != LORE_OK ||
        store_tenant_open(st_, TENANT, &t) != LORE_OK ||
        tenant_ctx_attach(t, NULL, &tc) != LORE_OK || ingest_session_new(tc, &o, &ses) != LORE_OK ||
        ingest_path(ses, path) != LORE_OK || ingest_commit(ses) != LORE_OK ||
        search_engine_new(tc, &se) != LORE_OK) {
        fprintf(stderr, "long_query: setting up the corpus failed\n");
        goto out;
    }
    printf("corpus: %zu documents from %s\n", c.n, path);

    /* Paragraph queries: 4 KB of running text each. */
    size_t maxw = 0, maxb = 0;
    for (size_t i = 0; i < nq; i++) {
        if (!(q[i] = run_together(&c, i * 97, QUERY_MAX_BYTES))) goto out;
        if (words(q[i]) > maxw) maxw = words(q[i]);
        if (strlen(q[i]) > maxb) maxb = strlen(q[i]);
    }
    printf("paragraph queries: up to %zu words, %zu bytes\n", maxw, maxb);
    table("paragraph (q=, literal, 10 hits, snippets)", se, q, NULL, nq, reps);
    /* The largest of them at the shipped limit, on its own. */
    size_t big = 0;
    for (size_t i = 1; i < nq; i++)
        if (words(q[i]) > words(q[big])) big = i;
    row hr;
    if (measure(se, &q[big], NULL, 1, 0, 21, &hr, NULL, 1)) goto out;
    printf("\nlargest query at the shipped limit (%d terms): %zu words, %zu bytes, %.0f terms "
           "searched, %.0f dropped: median %.2f ms (CPU %.2f ms) over 21 runs\n",
           SEARCH_MAX_SCORED_TERMS, words(q[big]), strlen(q[big]), hr.terms, hr.dropped, hr.p50,
           hr.cpu50);

    /* like= of long documents, ingested now. */
    size_t jcap = (size_t)NLONG * (SEARCH_LIKE_MAX_BYTES + 256), jn = 0;
    if (!(jl = malloc(jcap))) goto out;
    for (size_t i = 0; i < NLONG; i++) {
        char *txt = run_together(&c, 1000 + i * 311, SEARCH_LIKE_MAX_BYTES - 64);
        char idbuf[32];
        snprintf(idbuf, sizeof idbuf, "long-%zu", i);
        json_t *doc =
            json_pack("{s:s,s:s,s:s}", "id", idbuf, "title", "long", "text", txt ? txt : "");
        char *line = json_dumps(doc, JSON_COMPACT);
        size_t ll = line ? strlen(line) : 0;
        if (line && jn + ll + 1 <= jcap) {
            memcpy(jl + jn, line, ll);
            jn += ll;
            jl[jn++] = '\n';
        }
        free(line);
        json_decref(doc);
        free(txt);
    }
    if (ingest_bytes(ses, "long.jsonl", NULL, (const uint8_t *)jl, jn) != LORE_OK ||
        ingest_commit(ses) != LORE_OK) {
        fprintf(stderr, "long_query: ingesting the long documents failed\n");
        goto out;
    }
    size_t nl = nq < NLONG ? nq : NLONG;
    for (size_t i = 0; i < nl; i++) {
        char ext[32];
        snprintf(ext, sizeof ext, "long-%zu", i);
        if (!(like[i] = malloc(STORE_DOC_ID_LEN + 1))) goto out;
        store_doc_public_id("files", ext, like[i]);
    }
    table("like (32 KB documents, 10 hits, snippets)", se, NULL, like, nl, reps);
    memory(&c, tc);
    rc = 0;
out:
    for (size_t i = 0; i < nq; i++) {
        if (q) free(q[i]);
        if (like) free(like[i]);
    }
    free(q);
    free(like);
    free(jl);
    for (size_t i = 0; i < c.n; i++)
        free(c.text[i]);
    free(c.text);
    search_engine_free(se);
    ingest_session_free(ses);
    tenant_ctx_close(tc);
    store_tenant_close(t);
    store_close(st_);
    if (nftw(datadir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "long_query: cannot remove %s\n", datadir);
    return rc;
}
