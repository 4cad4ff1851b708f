/* Metrics: exact Prometheus text for a small registry, escaping and
 * canonical label values, the _other overflow, clear, collectors, name
 * validation, histogram buckets, exact totals under concurrent updates, and
 * the process figures. */
#include "metrics/metrics.h"
#include "test.h"

#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

/* The registry rendered into a fresh string (caller frees); NULL on error. */
static char *render(metrics_registry *r) {
    lore_buf b;
    lore_buf_init(&b, 1 << 24);
    if (metrics_render(r, &b) != LORE_OK) {
        lore_buf_free(&b);
        return NULL;
    }
    return lore_buf_take(&b);
}

#define CHECK_RENDER(r, expected)                                                                  \
    do {                                                                                           \
        char *text_ = render(r);                                                                   \
        CHECK_STR(text_, expected);                                                                \
        free(text_);                                                                               \
    } while (0)

static void test_render_exact(void) {
    metrics_registry *r;
    metrics_family *req, *up, *lat, *quiet;
    const char *req_labels[] = {"route", "code"}, *lat_labels[] = {"route"};
    const double bounds[] = {0.1, 0.5, 1};
    CHECK_INT(metrics_registry_new(&r), LORE_OK);
    CHECK_INT(metrics_counter_new(r, "lore_http_requests_total",
                                  "HTTP requests.\nBy route \\ code.", req_labels, 2, 10, &req),
              LORE_OK);
    CHECK_INT(metrics_gauge_new(r, "lore_up", "Whether \"up\".", NULL, 0, 0, &up), LORE_OK);
    CHECK_INT(metrics_histogram_new(r, "lore_latency_seconds", "Request latency.", lat_labels, 1,
                                    10, bounds, 3, &lat),
              LORE_OK);
    CHECK_INT(metrics_gauge_new(r, "lore_quiet", NULL, lat_labels, 1, 10, &quiet), LORE_OK);

    metrics_add(req, (const char *[]){"/search", "200"}, 3);
    metrics_add(req, (const char *[]){"/docs", "404"}, 1);
    metrics_add(req, (const char *[]){"/search", "200"}, 0.5);
    metrics_set(up, NULL, 1);
    metrics_series *s = metrics_series_get(lat, (const char *[]){"/search"});
    const double obs[] = {0.05, 0.5, 0.7, 3};
    for (size_t i = 0; i < 4; i++)
        metrics_series_observe(s, obs[i]);
    /* Resolving a series shows it at zero before any update. */
    (void)metrics_series_get(lat, (const char *[]){"/docs"});
    CHECK_RENDER(r, "# HELP lore_http_requests_total HTTP requests.\\nBy route \\\\ code.\n"
                    "# TYPE lore_http_requests_total counter\n"
                    "lore_http_requests_total{route=\"/search\",code=\"200\"} 3.5\n"
                    "lore_http_requests_total{route=\"/docs\",code=\"404\"} 1\n"
                    "# HELP lore_up Whether \"up\".\n"
                    "# TYPE lore_up gauge\n"
                    "lore_up 1\n"
                    "# HELP lore_latency_seconds Request latency.\n"
                    "# TYPE lore_latency_seconds histogram\n"
                    "lore_latency_seconds_bucket{route=\"/search\",le=\"0.1\"} 1\n"
                    "lore_latency_seconds_bucket{route=\"/search\",le=\"0.5\"} 2\n"
                    "lore_latency_seconds_bucket{route=\"/search\",le=\"1\"} 3\n"
                    "lore_latency_seconds_bucket{route=\"/search\",le=\"+Inf\"} 4\n"
                    "lore_latency_seconds_sum{route=\"/search\"} 4.25\n"
                    "lore_latency_seconds_count{route=\"/search\"} 4\n"
                    "lore_latency_seconds_bucket{route=\"/docs\",le=\"0.1\"} 0\n"
                    "lore_latency_seconds_bucket{route=\"/docs\",le=\"0.5\"} 0\n"
                    "lore_latency_seconds_bucket{route=\"/docs\",le=\"1\"} 0\n"
                    "lore_latency_seconds_bucket{route=\"/docs\",le=\"+Inf\"} 0\n"
                    "lore_latency_seconds_sum{route=\"/docs\"} 0\n"
                    "lore_latency_seconds_count{route=\"/docs\"} 0\n");

    /* Numbers: integers plain, fractions shortest round trip, specials. */
    const char *cases[] = {"neg", "third", "big", "huge", "tiny", "inf", "ninf", "nan", "negzero"};
    const double vals[] = {-7,  1.0 / 3, 123456789012345.0, 1e20, 5e-05, INFINITY, -INFINITY,
                           NAN, -0.0};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        metrics_set(quiet, (const char *[]){cases[i]}, vals[i]);
    metrics_family_clear(req);
    metrics_family_clear(up);
    metrics_family_clear(lat);
    CHECK_RENDER(r, "# TYPE lore_quiet gauge\n"
                    "lore_quiet{route=\"neg\"} -7\n"
                    "lore_quiet{route=\"third\"} 0.3333333333333333\n"
                    "lore_quiet{route=\"big\"} 123456789012345\n"
                    "lore_quiet{route=\"huge\"} 1e+20\n"
                    "lore_quiet{route=\"tiny\"} 5e-05\n"
                    "lore_quiet{route=\"inf\"} +Inf\n"
                    "lore_quiet{route=\"ninf\"} -Inf\n"
                    "lore_quiet{route=\"nan\"} NaN\n"
                    "lore_quiet{route=\"negzero\"} 0\n");

    /* A failed render leaves the caller's buffer as it was. */
    lore_buf small;
    lore_buf_init(&small, 40);
    CHECK_INT(lore_buf_append_str(&small, "kept"), LORE_OK);
    CHECK_INT(metrics_render(r, &small), LORE_TOO_LARGE);
    CHECK_STR(small.data, "kept");
    CHECK_INT(small.len, 4);
    lore_buf_free(&small);
    metrics_registry_free(r);
}

static void test_escaping(void) {
    metrics_registry *r;
    metrics_family *f;
    const char *labels[] = {"v"};
    CHECK_INT(metrics_registry_new(&r), LORE_OK);
    CHECK_INT(metrics_counter_new(r, "esc_total", "x", labels, 1, 100, &f), LORE_OK);
    metrics_add(f, (const char *[]){"a\\b\"c\nd}{,="}, 1);
    metrics_add(f, (const char *[]){NULL}, 1); /* NULL is "" */
    /* Invalid UTF-8 becomes U+FFFD, so two different bad bytes are one
     * series (else the scrape would hold two identical lines). */
    metrics_add(f, (const char *[]){"x\xff"}, 1);
    metrics_add(f, (const char *[]){"x\xfe"}, 1);
    metrics_add(f, (const char *[]){"\xc3\xa9t\xc3\xa9"}, 1);              /* valid: kept */
    metrics_add(f, (const char *[]){"\xed\xa0\x80 \xc0\xaf \xf4\x90"}, 1); /* surrogate, overlong */
    char long_value[400], cut[300];
    memset(long_value, 'x', 300);
    long_value[300] = '\0';
    metrics_add(f, (const char *[]){long_value}, 1);
    memset(long_value, 'y', 255); /* a 2-byte character straddling the cut */
    memcpy(long_value + 255, "\xc3\xa9z", 4);
    metrics_add(f, (const char *[]){long_value}, 1);
    char expected[4096];
    memset(cut, 'x', 256);
    cut[256] = '\0';
    int n = snprintf(expected, sizeof expected,
                     "# HELP esc_total x\n# TYPE esc_total counter\n"
                     "esc_total{v=\"a\\\\b\\\"c\\nd}{,=\"} 1\n"
                     "esc_total{v=\"\"} 1\n"
                     "esc_total{v=\"x\xef\xbf\xbd\"} 2\n"
                     "esc_total{v=\"\xc3\xa9t\xc3\xa9\"} 1\n"
                     "esc_total{v=\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
                     "\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\"} 1\n"
                     "esc_total{v=\"%s\"} 1\n",
                     cut);
    memset(cut, 'y', 255);
    cut[255] = '\0';
    snprintf(expected + n, sizeof expected - (size_t)n, "esc_total{v=\"%s\"} 1\n", cut);
    CHECK_RENDER(r, expected);
    metrics_registry_free(r);
}

static void test_overflow(void) {
    metrics_registry *r;
    metrics_family *f, *g;
    const char *labels[] = {"tenant"}, *two[] = {"a", "b"};
    CHECK_INT(metrics_registry_new(&r), LORE_OK);
    CHECK_INT(metrics_counter_new(r, "docs_total", NULL, labels, 1, 3, &f), LORE_OK);
    CHECK_INT(metrics_gauge_new(r, "pairs", NULL, two, 2, 1, &g), LORE_OK);
    const char *tenants[] = {"t1", "t2", "t3", "t4", "t5", "t1"};
    for (size_t i = 0; i < 6; i++)
        metrics_add(f, (const char *[]){tenants[i]}, 1);
    metrics_series *t4 = metrics_series_get(f, (const char *[]){"t4"});
    CHECK(t4 == metrics_series_get(f, (const char *[]){"t99"}));
    CHECK(t4 == metrics_series_get(f, (const char *[]){METRICS_OTHER}));
    CHECK(t4 != metrics_series_get(f, (const char *[]){"t3"}));
    metrics_set(g, (const char *[]){"x", "y"}, 1);
    metrics_set(g, (const char *[]){"x", "z"}, 2);
    CHECK_RENDER(r, "# TYPE docs_total counter\n"
                    "docs_total{tenant=\"t1\"} 2\n"
                    "docs_total{tenant=\"t2\"} 1\n"
                    "docs_total{tenant=\"t3\"} 1\n"
                    "docs_total{tenant=\"_other\"} 2\n"
                    "# TYPE pairs gauge\n"
                    "pairs{a=\"x\",b=\"y\"} 1\n"
                    "pairs{a=\"_other\",b=\"_other\"} 2\n");
    metrics_registry_free(r);

    /* Literal _other values before any overflow share the overflow series
     * and do not use up the cap. */
    CHECK_INT(metrics_registry_new(&r), LORE_OK);
    CHECK_INT(metrics_counter_new(r, "lit_total", NULL, labels, 1, 1, &f), LORE_OK);
    metrics_add(f, (const char *[]){METRICS_OTHER}, 1);
    metrics_add(f, (const char *[]){"real"}, 1);
    metrics_add(f, (const char *[]){"late"}, 1);
    CHECK_RENDER(r, "# TYPE lit_total counter\n"
                    "lit_total{tenant=\"_other\"} 2\n"
                    "lit_total{tenant=\"real\"} 1\n");
    metrics_registry_free(r);
}

static void test_clear(void) {
    metrics_registry *r;
    metrics_family *f, *h, *c;
    const char *labels[] = {"tenant"};
    const double bounds[] = {1};
    CHECK_INT(metrics_registry_new(&r), LORE_OK);
    CHECK_INT(metrics_gauge_new(r, "docs", NULL, labels, 1, 10, &f), LORE_OK);
    CHECK_INT(metrics_histogram_new(r, "lat", NULL, labels, 1, 10, bounds, 1, &h), LORE_OK);
    CHECK_INT(metrics_counter_new(r, "plain_total", NULL, NULL, 0, 0, &c), LORE_OK);
    metrics_series *a = metrics_series_get(f, (const char *[]){"a"});
    metrics_series_set(a, 10);
    metrics_set(f, (const char *[]){"b"}, 20);
    metrics_observe(h, (const char *[]){"a"}, 0.5);
    metrics_add(c, NULL, 3);
    metrics_family_clear(f);
    metrics_family_clear(h);
    metrics_family_clear(c);
    CHECK_RENDER(r, ""); /* every family empty: nothing at all */
    CHECK(metrics_series_value(a) == 0);
    /* Coming back: by lookup, or through a pointer held across the clear;
     * values count from zero and first-seen order is kept. */
    metrics_set(f, (const char *[]){"b"}, 5);
    metrics_series_add(a, 1);
    metrics_observe(h, (const char *[]){"a"}, 2);
    CHECK_RENDER(r, "# TYPE docs gauge\n"
                    "docs{tenant=\"a\"} 1\n"
                    "docs{tenant=\"b\"} 5\n"
                    "# TYPE lat histogram\n"
                    "lat_bucket{tenant=\"a\",le=\"1\"} 0\n"
                    "lat_bucket{tenant=\"a\",le=\"+Inf\"} 1\n"
                    "lat_sum{tenant=\"a\"} 2\n"
                    "lat_count{tenant=\"a\"} 1\n");
    metrics_registry_free(r);
}

typedef struct collect_ctx {
    metrics_registry *r;
    metrics_family *calls;
    char order[16];
    size_t norder;
    metrics_family *late;
} collect_ctx;

static void collect_first(void *p) {
    collect_ctx *c = p;
    metrics_add(c->calls, NULL, 1);
    c->order[c->norder++ % 15] = 'a';
    /* A collector may create families; this one shows in the same render. */
    if (!c->late && metrics_gauge_new(c->r, "late", NULL, NULL, 0, 0, &c->late) != LORE_OK)
        c->late = NULL;
    if (c->late) metrics_set(c->late, NULL, 42);
}

static void collect_second(void *p) {
    collect_ctx *c = p;
    c->order[c->norder++ % 15] = 'b';
}

static void test_collectors(void) {
    metrics_registry *r;
    collect_ctx c = {0};
    CHECK_INT(metrics_registry_new(&r), LORE_OK);
    c.r = r;
    CHECK_INT(metrics_counter_new(r, "collects_total", NULL, NULL, 0, 0, &c.calls), LORE_OK);
    CHECK_INT(metrics_on_collect(r, collect_first, &c), LORE_OK);
    CHECK_INT(metrics_on_collect(r, collect_second, &c), LORE_OK);
    CHECK_INT(metrics_on_collect(r, NULL, &c), LORE_INVALID);
    char *text = render(r);
    free(text);
    CHECK_RENDER(r, "# TYPE collects_total counter\ncollects_total 2\n"
                    "# TYPE late gauge\nlate 42\n");
    CHECK_STR(c.order, "abab");
    metrics_registry_free(r);
}

static void test_invalid(void) {
    metrics_registry *r;
    metrics_family *f = NULL, *ok;
    const double up[] = {1, 2}, flat[] = {1, 1}, down[] = {2, 1}, inf[] = {1, INFINITY},
                 nan[] = {NAN};
    double many[METRICS_MAX_BUCKETS + 1];
    for (size_t i = 0; i <= METRICS_MAX_BUCKETS; i++)
        many[i] = (double)i;
    CHECK_INT(metrics_registry_new(&r), LORE_OK);
    const char *bad_names[] = {"", "1abc", "a-b", "a b", "caf\xc3\xa9", "a.b"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        CHECK_INT(metrics_counter_new(r, bad_names[i], NULL, NULL, 0, 0, &f), LORE_INVALID);
        CHECK(f == NULL);
    }
    CHECK_INT(metrics_counter_new(r, NULL, NULL, NULL, 0, 0, &f), LORE_INVALID);
    const char *bad_labels[] = {"a:b", "__x", "1a", "", "a-b"};
    for (size_t i = 0; i < sizeof bad_labels / sizeof bad_labels[0]; i++)
        CHECK_INT(metrics_gauge_new(r, "g", NULL, &bad_labels[i], 1, 10, &f), LORE_INVALID);
    const char *dup[] = {"a", "a"}, *five[] = {"a", "b", "c", "d", "e"}, *le[] = {"le"};
    CHECK_INT(metrics_gauge_new(r, "g", NULL, dup, 2, 10, &f), LORE_INVALID);
    CHECK_INT(metrics_gauge_new(r, "g", NULL, five, 5, 10, &f), LORE_INVALID);
    CHECK_INT(metrics_gauge_new(r, "g", NULL, five, 1, 0, &f), LORE_INVALID);
    CHECK_INT(metrics_gauge_new(r, "g", NULL, five, 1, METRICS_MAX_SERIES_LIMIT + 1, &f),
              LORE_INVALID);
    CHECK_INT(metrics_gauge_new(r, "g", "bad \xff help", NULL, 0, 0, &f), LORE_INVALID);
    CHECK_INT(metrics_histogram_new(r, "h", NULL, le, 1, 10, up, 2, &f), LORE_INVALID);
    CHECK_INT(metrics_histogram_new(r, "h", NULL, NULL, 0, 0, flat, 2, &f), LORE_INVALID);
    CHECK_INT(metrics_histogram_new(r, "h", NULL, NULL, 0, 0, down, 2, &f), LORE_INVALID);
    CHECK_INT(metrics_histogram_new(r, "h", NULL, NULL, 0, 0, inf, 2, &f), LORE_INVALID);
    CHECK_INT(metrics_histogram_new(r, "h", NULL, NULL, 0, 0, nan, 1, &f), LORE_INVALID);
    CHECK_INT(metrics_histogram_new(r, "h", NULL, NULL, 0, 0, many, METRICS_MAX_BUCKETS + 1, &f),
              LORE_INVALID);
    CHECK(f == NULL);

    /* Valid edge cases: colons in names, "le" outside histograms, no bounds. */
    CHECK_INT(metrics_gauge_new(r, "ns:sub_x9", NULL, le, 1, 1, &ok), LORE_OK);
    CHECK_INT(metrics_histogram_new(r, "h", NULL, NULL, 0, 0, many, METRICS_MAX_BUCKETS, &ok),
              LORE_OK);
    CHECK_INT(metrics_histogram_new(r, "only_inf", NULL, NULL, 0, 0, NULL, 0, &ok), LORE_OK);
    /* Duplicates, including lines a histogram writes under suffixed names. */
    CHECK_INT(metrics_counter_new(r, "h", NULL, NULL, 0, 0, &f), LORE_INVALID);
    CHECK_INT(metrics_counter_new(r, "h_count", NULL, NULL, 0, 0, &f), LORE_INVALID);
    CHECK_INT(metrics_gauge_new(r, "x_sum", NULL, NULL, 0, 0, &ok), LORE_OK);
    CHECK_INT(metrics_histogram_new(r, "x", NULL, NULL, 0, 0, up, 2, &f), LORE_INVALID);
    CHECK(f == NULL);
    metrics_registry_free(r);
}

static void test_histogram(void) {
    metrics_registry *r;
    metrics_family *h, *c;
    size_t n = 0;
    const double *b = metrics_latency_buckets(&n);
    CHECK_INT(n, 17);
    CHECK(b[0] == 0.00005 && b[n - 1] == 10);
    for (size_t i = 1; i < n; i++)
        CHECK(b[i] > b[i - 1]);
    CHECK_INT(metrics_registry_new(&r), LORE_OK);
    CHECK_INT(metrics_histogram_new(r, "req_seconds", "Latency.", NULL, 0, 0, b, n, &h), LORE_OK);
    CHECK_INT(metrics_counter_new(r, "c_total", NULL, NULL, 0, 0, &c), LORE_OK);
    metrics_series *s = metrics_series_get(h, NULL);
    /* On a bound, between bounds, below all, above all; NaN is dropped. */
    const double obs[] = {0.00005, 0.0003, 0.0003, 0.001, -1, 11, 0.07, NAN};
    double sum = 0;
    for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++) {
        metrics_series_observe(s, obs[i]);
        if (!isnan(obs[i])) sum += obs[i];
    }
    CHECK_INT(metrics_series_count(s), 7);
    CHECK(metrics_series_value(s) == sum);
    char *text = render(r);
    CHECK(text && strstr(text, "req_seconds_bucket{le=\"5e-05\"} 2\n"));
    CHECK(text && strstr(text, "req_seconds_bucket{le=\"0.00025\"} 2\n"));
    CHECK(text && strstr(text, "req_seconds_bucket{le=\"0.0005\"} 4\n"));
    CHECK(text && strstr(text, "req_seconds_bucket{le=\"0.001\"} 5\n"));
    CHECK(text && strstr(text, "req_seconds_bucket{le=\"0.05\"} 5\n"));
    CHECK(text && strstr(text, "req_seconds_bucket{le=\"0.1\"} 6\n"));
    CHECK(text && strstr(text, "req_seconds_bucket{le=\"10\"} 6\n"));
    CHECK(text && strstr(text, "req_seconds_bucket{le=\"+Inf\"} 7\n"));
    CHECK(text && strstr(text, "req_seconds_count 7\n"));
    free(text);

    /* Misuse does nothing. */
    metrics_series *cs = metrics_series_get(c, NULL);
    metrics_series_add(cs, -1);
    metrics_series_add(cs, NAN);
    metrics_series_observe(cs, 1);
    metrics_series_add(s, 5);
    metrics_series_set(s, 5);
    CHECK(metrics_series_value(cs) == 0);
    CHECK_INT(metrics_series_count(cs), 0);
    CHECK_INT(metrics_series_count(s), 7);
    metrics_series_set(cs, 12.5); /* mirroring an outside count is allowed */
    CHECK(metrics_series_value(cs) == 12.5);
    metrics_registry_free(r);
}

/* ---- concurrency --------------------------------------------------------- */

#define THREADS 4
#define ROUNDS 100000
#define FRESH 100 /* series all threads race to create */
#define CAP 10    /* of which a capped family keeps this many */

typedef struct worker {
    metrics_family *counter, *gauge, *hist, *fresh, *capped;
    metrics_series *shared, *shared_hist;
    int id;
} worker;

static void *work(void *p) {
    worker *w = p;
    char mine[16], fresh[16];
    snprintf(mine, sizeof mine, "t%d", w->id);
    metrics_series *own = metrics_series_get(w->counter, (const char *[]){mine});
    metrics_series *g = metrics_series_get(w->gauge, NULL);
    for (int i = 0; i < ROUNDS; i++) {
        metrics_series_add(w->shared, 1);
        metrics_series_add(own, 1);
        metrics_add(w->counter, (const char *[]){"conv"}, 1); /* lookup every time */
        metrics_series_add(g, i % 2 ? -1.5 : 2.5);
        metrics_series_observe(w->shared_hist, (double)(i % 4));
        if (i % (ROUNDS / FRESH) == 0) {
            snprintf(fresh, sizeof fresh, "k%d", i / (ROUNDS / FRESH));
            metrics_add(w->fresh, (const char *[]){fresh}, 1);
            metrics_add(w->capped, (const char *[]){fresh}, 1);
        }
    }
    return NULL;
}

typedef struct scraper {
    metrics_registry *r;
    atomic_int *stop;
    int renders, failures;
} scraper;

static void *scrape(void *p) {
    scraper *s = p;
    lore_buf b;
    lore_buf_init(&b, 1 << 24);
    while (!atomic_load(s->stop)) {
        lore_buf_reset(&b);
        if (metrics_render(s->r, &b) != LORE_OK) s->failures++;
        s->renders++;
    }
    lore_buf_free(&b);
    return NULL;
}

static void test_threads(void) {
    metrics_registry *r;
    metrics_family *counter, *gauge, *hist, *fresh, *capped;
    const char *labels[] = {"k"};
    const double bounds[] = {0.5, 1.5, 2.5};
    CHECK_INT(metrics_registry_new(&r), LORE_OK);
    CHECK_INT(metrics_counter_new(r, "hits_total", NULL, labels, 1, 16, &counter), LORE_OK);
    CHECK_INT(metrics_gauge_new(r, "level", NULL, NULL, 0, 0, &gauge), LORE_OK);
    CHECK_INT(metrics_histogram_new(r, "obs", NULL, NULL, 0, 0, bounds, 3, &hist), LORE_OK);
    CHECK_INT(metrics_counter_new(r, "fresh_total", NULL, labels, 1, 1000, &fresh), LORE_OK);
    CHECK_INT(metrics_counter_new(r, "capped_total", NULL, labels, 1, CAP, &capped), LORE_OK);
    metrics_series *shared = metrics_series_get(counter, (const char *[]){"shared"});
    worker w[THREADS];
    pthread_t tid[THREADS], stid;
    atomic_int stop = 0;
    scraper sc = {.r = r, .stop = &stop};
    CHECK_INT(pthread_create(&stid, NULL, scrape, &sc), 0);
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.counter = counter,
                        .gauge = gauge,
                        .hist = hist,
                        .fresh = fresh,
                        .capped = capped,
                        .shared = shared,
                        .shared_hist = metrics_series_get(hist, NULL),
                        .id = i};
        CHECK_INT(pthread_create(&tid[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(tid[i], NULL);
    atomic_store(&stop, 1);
    pthread_join(stid, NULL);
    CHECK(sc.renders > 0);
    CHECK_INT(sc.failures, 0);

    CHECK(metrics_series_value(shared) == (double)THREADS * ROUNDS);
    CHECK(metrics_series_value(metrics_series_get(counter, (const char *[]){"conv"})) ==
          (double)THREADS * ROUNDS);
    for (int i = 0; i < THREADS; i++) {
        char mine[16];
        snprintf(mine, sizeof mine, "t%d", i);
        CHECK(metrics_series_value(metrics_series_get(counter, (const char *[]){mine})) ==
              (double)ROUNDS);
    }
    /* Per thread: ROUNDS/2 times +2.5 and ROUNDS/2 times -1.5. */
    CHECK(metrics_series_value(metrics_series_get(gauge, NULL)) ==
          (double)THREADS * (ROUNDS / 2) * 1.0);
    metrics_series *hs = metrics_series_get(hist, NULL);
    CHECK_INT(metrics_series_count(hs), (long long)THREADS * ROUNDS);
    CHECK(metrics_series_value(hs) == (double)THREADS * (ROUNDS / 4) * (0 + 1 + 2 + 3));
    char *text = render(r);
    CHECK(text && strstr(text, "obs_bucket{le=\"0.5\"} 100000\n"));
    CHECK(text && strstr(text, "obs_bucket{le=\"1.5\"} 200000\n"));
    CHECK(text && strstr(text, "obs_bucket{le=\"2.5\"} 300000\n"));
    CHECK(text && strstr(text, "obs_bucket{le=\"+Inf\"} 400000\n"));
    /* Every racing insert of the same new labels found one series. */
    size_t lines = 0;
    for (const char *p = text; p && (p = strstr(p, "fresh_total{")) != NULL; p++)
        lines++;
    CHECK_INT(lines, FRESH);
    for (int k = 0; k < FRESH; k++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", k);
        CHECK(metrics_series_value(metrics_series_get(fresh, (const char *[]){key})) == THREADS);
    }
    /* Past the cap, each key went wholly to its own series or wholly to
     * _other, whichever thread won the race to create it. */
    metrics_series *other = metrics_series_get(capped, (const char *[]){METRICS_OTHER});
    size_t own = 0;
    for (int k = 0; k < FRESH; k++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", k);
        metrics_series *cs = metrics_series_get(capped, (const char *[]){key});
        if (cs == other) continue;
        own++;
        CHECK(metrics_series_value(cs) == THREADS);
    }
    CHECK_INT(own, CAP);
    CHECK(metrics_series_value(other) == (double)THREADS * (FRESH - CAP));
    free(text);
    metrics_registry_free(r);
}

/* ---- process ------------------------------------------------------------- */

static void test_process(void) {
    int64_t rss = metrics_process_rss_bytes();
    CHECK(rss > 1024 * 1024);
    CHECK(rss < (int64_t)64 * 1024 * 1024 * 1024);
    CHECK(metrics_process_cpu_seconds() >= 0);
    int64_t fds = metrics_process_open_fds();
    CHECK(fds >= 1);
    int fd = open("/dev/null", O_RDONLY);
    CHECK_INT(metrics_process_open_fds(), fds + 1);
    if (fd >= 0) close(fd);

    metrics_registry *r;
    CHECK_INT(metrics_registry_new(&r), LORE_OK);
    CHECK_INT(metrics_register_process(r), LORE_OK);
    CHECK_INT(metrics_register_process(r), LORE_INVALID);
    char *text = render(r);
    const char *line = text ? strstr(text, "\nprocess_resident_memory_bytes ") : NULL;
    CHECK(line != NULL);
    if (line) CHECK(strtod(line + strlen("\nprocess_resident_memory_bytes "), NULL) > 1e6);
    CHECK(text && strstr(text, "# TYPE process_cpu_seconds_total counter\n"));
    CHECK(text && strstr(text, "\nprocess_open_fds "));
    free(text);
    metrics_registry_free(r);
}

int main(void) {
    test_render_exact();
    test_escaping();
    test_overflow();
    test_clear();
    test_collectors();
    test_invalid();
    test_histogram();
    test_threads();
    test_process();
    return test_summary();
}
