/* Load generator for bench/hooks.sh: GitHub-shaped webhook deliveries
 * ("issues" opened, X-Hub-Signature-256 over the body, a unique
 * X-GitHub-Delivery each) POSTed to a running lore serve.
 *
 *   hooks_load accept  BASE ID SECRET N CONNS
 *       N deliveries over CONNS keep-alive connections (closed loop), as fast
 *       as the gate answers; prints the deliveries accepted (200 queued) per
 *       second and the count of any other answer.
 *   hooks_load latency BASE ID SECRET KEY PROBES RATE
 *       PROBES deliveries, one every 1/RATE s, each with a unique token in
 *       its title; after each 200, a search for the token (KEY: a read key
 *       of the connector's tenant) every 5 ms until it finds the document;
 *       prints p50, p90, p99 and max of the time from the POST to found.
 *
 * Signatures are made here with OpenSSL's HMAC, before the clock starts. */
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_s(double s) {
    if (s <= 0) return;
    struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&t, NULL);
}

typedef struct delivery {
    char *body;
    char sig[96], event[64], id[96];
} delivery;

static const char *base, *conn_id, *secret;
static unsigned run_tag;

static void make(delivery *d, long i, const char *token) {
    char buf[2048];
    snprintf(buf, sizeof buf,
             "{\"action\":\"opened\",\"issue\":{\"number\":%ld,\"title\":\"Bench issue %s %ld\","
             "\"body\":\"The gate checks the signature and queues one job; a worker turns it "
             "into this document. Token %s.\",\"html_url\":\"https://github.com/bench/repo/"
             "issues/%ld\",\"state\":\"open\",\"user\":{\"login\":\"octocat\"},\"labels\":[],"
             "\"created_at\":\"2026-01-01T00:00:00Z\",\"updated_at\":\"2026-01-01T00:00:00Z\","
             "\"comments\":0},\"repository\":{\"full_name\":\"bench/repo\",\"private\":false,"
             "\"html_url\":\"https://github.com/bench/repo\"},\"sender\":{\"login\":"
             "\"octocat\"}}",
             i, token, i, token, i);
    d->body = strdup(buf);
    unsigned char mac[32];
    unsigned int mlen = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)d->body, strlen(d->body),
         mac, &mlen);
    char hex[65];
    for (int k = 0; k < 32; k++)
        snprintf(hex + 2 * k, 3, "%02x", mac[k]);
    snprintf(d->sig, sizeof d->sig, "X-Hub-Signature-256: sha256=%s", hex);
    snprintf(d->event, sizeof d->event, "X-GitHub-Event: issues");
    snprintf(d->id, sizeof d->id, "X-GitHub-Delivery: bench-%u-%ld", run_tag, i);
}

static size_t sink_body(char *p, size_t sz, size_t n, void *ud) {
    char **acc = ud;
    if (acc) {
        size_t old = *acc ? strlen(*acc) : 0;
        char *nb = realloc(*acc, old + sz * n + 1);
        if (!nb) return 0;
        memcpy(nb + old, p, sz * n);
        nb[old + sz * n] = 0;
        *acc = nb;
    }
    return sz * n;
}

static long post(CURL *c, const delivery *d) {
    char url[512];
    snprintf(url, sizeof url, "%s/v1/hooks/%s", base, conn_id);
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    h = curl_slist_append(h, d->sig);
    h = curl_slist_append(h, d->event);
    h = curl_slist_append(h, d->id);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, d->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(d->body));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    return status;
}

/* ---- accept ---- */

typedef struct worker {
    delivery *d;
    long from, to;
    long ok, other;
} worker;

static void *accept_main(void *arg) {
    worker *w = arg;
    CURL *c = curl_easy_init();
    for (long i = w->from; i < w->to; i++) {
        if (post(c, &w->d[i]) == 200)
            w->ok++;
        else
            w->other++;
    }
    curl_easy_cleanup(c);
    return NULL;
}

static int run_accept(long n, int conns) {
    delivery *d = calloc((size_t)n, sizeof *d);
    for (long i = 0; i < n; i++)
        make(&d[i], i + 1, "acc");
    worker *w = calloc((size_t)conns, sizeof *w);
    pthread_t *t = calloc((size_t)conns, sizeof *t);
    double t0 = now_s();
    for (int k = 0; k < conns; k++) {
        w[k].d = d;
        w[k].from = n * k / conns;
        w[k].to = n * (k + 1) / conns;
        pthread_create(&t[k], NULL, accept_main, &w[k]);
    }
    long ok = 0, other = 0;
    for (int k = 0; k < conns; k++) {
        pthread_join(t[k], NULL);
        ok += w[k].ok;
        other += w[k].other;
    }
    double secs = now_s() - t0;
    printf("accept: %ld deliveries over %d connections in %.2f s: %.0f accepted/s (%ld not "
           "200)\n",
           n, conns, secs, (double)ok / secs, other);
    for (long i = 0; i < n; i++)
        free(d[i].body);
    free(d);
    free(w);
    free(t);
    return other ? 1 : 0;
}

/* ---- latency ---- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int found(CURL *c, const char *key, const char *token) {
    char url[512], auth[256];
    snprintf(url, sizeof url, "%s/v1/search?q=%s&limit=1", base, token);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    char *body = NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    int hit = curl_easy_perform(c) == CURLE_OK && body && strstr(body, token) != NULL;
    curl_slist_free_all(h);
    free(body);
    return hit;
}

static int run_latency(const char *key, int probes, double rate) {
    double *ms = calloc((size_t)probes, sizeof *ms);
    CURL *pc = curl_easy_init(), *sc = curl_easy_init();
    int failed = 0;
    double next = now_s();
    for (int i = 0; i < probes; i++) {
        char token[32];
        snprintf(token, sizeof token, "zq%u%05d", run_tag, i);
        delivery d;
        make(&d, 100000 + i, token);
        sleep_s(next - now_s());
        next += 1.0 / rate;
        double t0 = now_s();
        long st = post(pc, &d);
        free(d.body);
        if (st != 200) {
            failed++;
            continue;
        }
        while (!found(sc, key, token)) {
            if (now_s() - t0 > 30) {
                failed++;
                break;
            }
            sleep_s(0.005);
        }
        ms[i] = (now_s() - t0) * 1000;
    }
    qsort(ms, (size_t)probes, sizeof *ms, cmp_double);
    int n = probes;
    printf("delivery->searchable: %d probes at %.0f/s: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, "
           "max %.1f ms (%d failed)\n",
           n, rate, ms[n / 2], ms[n * 9 / 10], ms[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1],
           ms[n - 1], failed);
    curl_easy_cleanup(pc);
    curl_easy_cleanup(sc);
    free(ms);
    return failed ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: hooks_load accept BASE ID SECRET N CONNS\n"
                        "       hooks_load latency BASE ID SECRET KEY PROBES RATE\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    base = argv[2];
    conn_id = argv[3];
    secret = argv[4];
    run_tag = ((unsigned)time(NULL) * 31u + (unsigned)getpid()) % 1000000u;
    int rc;
    if (!strcmp(argv[1], "accept") && argc == 7)
        rc = run_accept(atol(argv[5]), atoi(argv[6]));
    else if (!strcmp(argv[1], "latency") && argc == 8)
        rc = run_latency(argv[5], atoi(argv[6]), atof(argv[7]));
    else {
        fprintf(stderr, "hooks_load: bad arguments\n");
        rc = 2;
    }
    curl_global_cleanup();
    return rc;
}
