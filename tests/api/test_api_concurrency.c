/* Concurrency against a real server: writers (JSON batches and multipart
 * uploads) and searchers at once for a bounded time; no request may fail
 * and every acknowledged document must be there afterwards. Writes are
 * jobs: half the writers' requests ?wait for theirs (200: applied), the
 * others take the 202 and the test follows the job to done afterwards;
 * both count as acknowledged.
 *
 * Then the same load with SIGTERM in the middle: the server drains (a
 * waiting write is answered 202), exits 0, and after a restart, once the
 * restarted server's workers have emptied the queue, the documents are
 * exactly the acknowledged ones. The drain's contract (docs/jobs.md) is held
 * strictly: every request gets its answer (200, 202, or 503 shutting-down)
 * or no answer at all (refused, reset); a write refused or unanswered is
 * absent; and a request that got no answer never reached the application
 * (its X-Request-Id is not in the server's access log), so no client lost
 * the answer of a request the server took. Last, a server with no workers
 * accepts writes under load and is stopped: the accepted jobs are still
 * queued in the data directory, and the next server runs them. The server
 * under test is the sanitizer build when the tests are, and it must exit
 * cleanly (no ASan report, no leak). */
#include <pthread.h>
#include <stdatomic.h>

#include "api/api_test.h"
#include "store/store.h"
#include "util/timeutil.h"

#define WRITERS 4
#define SEARCHERS 4
#define MAX_ACKED 20000
#define MAX_PENDING 10000
#define MAX_SILENT 20000

static test_server s;
static _Atomic int stop_flag;
static _Atomic int errors;
static _Atomic long searches;
static pthread_mutex_t acked_lock = PTHREAD_MUTEX_INITIALIZER;
static char (*acked)[40];
static size_t nacked;
static int tolerate_failures; /* during shutdown, refused requests are expected */
static int run_no;            /* part of every external id: each run writes new documents */
static int never_wait;        /* no ?wait at all: with no workers it would only block */

/* A write answered 202: acknowledged once its job is seen done. */
typedef struct pending_write {
    test_job_ref job;
    int n;
    char ext[4][40];
} pending_write;
static pending_write *pending;
static size_t npending;
static _Atomic long waited_200, accepted_202;

/* Writes refused (503 shutting-down) or unanswered while the server
 * stopped: none of their documents may exist. Requests of any kind that got
 * no answer: their ids may not be in the access log. */
static char (*absent)[40];
static size_t nabsent;
static char (*silent)[48];
static size_t nsilent;
static _Atomic long refused_503, unanswered;

/* A search token unique to an external id: letters only, so the analyzer
 * keeps it whole ("w1-r2-3" -> "zqbcd..."). */
static void token_of(const char *ext, char *out, size_t outlen) {
    size_t n = 0;
    out[n++] = 'z';
    out[n++] = 'q';
    for (const char *p = ext; *p && n + 2 < outlen; p++)
        if (*p >= '0' && *p <= '9')
            out[n++] = (char)('a' + (*p - '0'));
        else if (*p == '-')
            out[n++] = 'x';
    out[n] = '\0';
}

static void ack(const char *ext) {
    pthread_mutex_lock(&acked_lock);
    if (nacked < MAX_ACKED) snprintf(acked[nacked++], sizeof acked[0], "%.39s", ext);
    pthread_mutex_unlock(&acked_lock);
}

static void add_pending(test_job_ref job, int n, char (*ext)[40]) {
    pthread_mutex_lock(&acked_lock);
    if (npending < MAX_PENDING) {
        pending_write *p = &pending[npending++];
        p->job = job;
        p->n = n;
        for (int i = 0; i < n; i++)
            snprintf(p->ext[i], sizeof p->ext[i], "%.39s", ext[i]);
    }
    pthread_mutex_unlock(&acked_lock);
}

static int str_is(json_t *v, const char *want) {
    const char *got = json_string_value(v);
    return got && !strcmp(got, want);
}

static void note_silent(const char *rid) {
    pthread_mutex_lock(&acked_lock);
    if (nsilent < MAX_SILENT) snprintf(silent[nsilent++], sizeof silent[0], "%.47s", rid);
    pthread_mutex_unlock(&acked_lock);
    atomic_fetch_add(&unanswered, 1);
}

/* While the server stops, a request either is answered or gets nothing at
 * all; 1 when r is such an outcome other than success (503
 * shutting-down, or no answer), noting what must then hold. */
static int stopped_outcome(const test_resp *r, const char *rid, int n, char (*ext)[40]) {
    int no_answer = r->curl != CURLE_OK;
    int refused = r->status == 503 && !strcmp(test_problem_type(r), "shutting-down");
    if (!no_answer && !refused) return 0;
    if (no_answer) note_silent(rid);
    if (refused) atomic_fetch_add(&refused_503, 1);
    pthread_mutex_lock(&acked_lock);
    for (int i = 0; i < n && nabsent < MAX_SILENT; i++)
        snprintf(absent[nabsent++], sizeof absent[0], "%.39s", ext[i]);
    pthread_mutex_unlock(&acked_lock);
    return 1;
}

/* A 200 after ?wait: the job is done and says what it did (every id is
 * new, so every document was added). */
static int applied_ok(const test_resp *r, int upload, int n) {
    json_t *job = json_object_get(r->json, "job");
    if (!str_is(json_object_get(job, "state"), "done")) return 0;
    if (upload)
        return json_integer_value(json_object_get(json_object_get(job, "result"), "added")) == 1;
    json_t *docs = json_object_get(r->json, "documents");
    if ((int)json_array_size(docs) != n) return 0;
    for (int i = 0; i < n; i++)
        if (!str_is(json_object_get(json_array_get(docs, i), "status"), "added")) return 0;
    return 1;
}

/* Follows every 202'd write to its job's end: done acknowledges its
 * documents; anything else is a failure. Clears the list. */
static void settle(const char *phase) {
    size_t failed = 0;
    for (size_t i = 0; i < npending; i++) {
        char state[16];
        test_job_wait(&s, s.admin_key, pending[i].job, 60, state, sizeof state);
        if (!strcmp(state, "done")) {
            for (int k = 0; k < pending[i].n; k++)
                ack(pending[i].ext[k]);
        } else if (failed++ < 5) {
            fprintf(stderr, "%s: accepted job %s ended '%s'\n", phase, pending[i].job.s, state);
        }
    }
    CHECK_INT(failed, 0);
    npending = 0;
}

static void *writer(void *arg) {
    int w = (int)(intptr_t)arg;
    for (int round = 0; !atomic_load(&stop_flag); round++) {
        char ext[4][40], rid[48], rid_h[64];
        snprintf(rid, sizeof rid, "cw%d-w%d-r%d", run_no, w, round);
        snprintf(rid_h, sizeof rid_h, "X-Request-Id: %s", rid);
        const char *extra[] = {rid_h, NULL};
        test_resp r;
        int n = 1 + round % 4, wait = !never_wait && round % 2 == 0;
        if (round % 3 == 2) {
            /* a multipart upload of one file */
            snprintf(ext[0], sizeof ext[0], "p%d-w%d-r%d.txt", run_no, w, round);
            char body[512];
            int len = snprintf(body, sizeof body,
                               "--QQ\r\nContent-Disposition: form-data; name=\"f\"; "
                               "filename=\"%s\"\r\n\r\nuploaded text tok%s\r\n--QQ--\r\n",
                               ext[0], ext[0]);
            r = test_http(&s, "POST", wait ? "/v1/files?wait=10" : "/v1/files", s.admin_key,
                          "multipart/form-data; boundary=QQ", body, (size_t)len, extra);
            n = 1;
        } else {
            char body[2048];
            size_t len = (size_t)snprintf(body, sizeof body, "{\"documents\":[");
            for (int i = 0; i < n; i++) {
                snprintf(ext[i], sizeof ext[i], "p%d-w%d-r%d-%d", run_no, w, round, i);
                char tok[48];
                token_of(ext[i], tok, sizeof tok);
                len += (size_t)snprintf(body + len, sizeof body - len,
                                        "%s{\"id\":\"%s\",\"text\":\"concurrent words %s\"}",
                                        i ? "," : "", ext[i], tok);
            }
            snprintf(body + len, sizeof body - len, "]}");
            r = test_http(&s, "POST", wait ? "/v1/documents?wait=10" : "/v1/documents", s.admin_key,
                          "application/json", body, strlen(body), extra);
        }
        test_job_ref job = test_job_id(&r);
        if (r.status == 200 && job.s[0] && applied_ok(&r, round % 3 == 2, n)) {
            atomic_fetch_add(&waited_200, 1);
            for (int i = 0; i < n; i++)
                ack(ext[i]);
        } else if (r.status == 202 && job.s[0]) {
            /* accepted: without ?wait, or still queued at the deadline or
             * when the server began to drain */
            atomic_fetch_add(&accepted_202, 1);
            add_pending(job, n, ext);
        } else if (!tolerate_failures || !stopped_outcome(&r, rid, n, ext)) {
            fprintf(stderr, "writer %d (%s): %ld %s\n", w, rid, r.status, r.body ? r.body : "");
            atomic_fetch_add(&errors, 1);
        }
        test_resp_free(&r);
    }
    return NULL;
}

static void *searcher(void *arg) {
    int who = (int)(intptr_t)arg;
    static const char *const queries[] = {"/v1/search?q=concurrent", "/v1/search?q=uploaded+text",
                                          "/v1/search?q=%22concurrent+words%22&limit=50",
                                          "/v1/sources", "/v1/documents?limit=20"};
    for (int i = 0; !atomic_load(&stop_flag); i++) {
        char rid[48], rid_h[64];
        snprintf(rid, sizeof rid, "cs%d-s%d-%d", run_no, who, i);
        snprintf(rid_h, sizeof rid_h, "X-Request-Id: %s", rid);
        const char *extra[] = {rid_h, NULL};
        test_resp r = test_http(&s, "GET", queries[i % 5], s.admin_key, NULL, NULL, 0, extra);
        if (r.status != 200 && (!tolerate_failures || !stopped_outcome(&r, rid, 0, NULL))) {
            fprintf(stderr, "searcher (%s): %ld %s\n", rid, r.status, r.body ? r.body : "");
            atomic_fetch_add(&errors, 1);
        }
        atomic_fetch_add(&searches, 1);
        test_resp_free(&r);
    }
    return NULL;
}

static void run_load(double seconds, int sigterm_after_ms) {
    pthread_t th[WRITERS + SEARCHERS];
    atomic_store(&stop_flag, 0);
    for (int i = 0; i < WRITERS; i++)
        pthread_create(&th[i], NULL, writer, (void *)(intptr_t)i);
    for (int i = 0; i < SEARCHERS; i++)
        pthread_create(&th[WRITERS + i], NULL, searcher, (void *)(intptr_t)i);
    if (sigterm_after_ms) {
        usleep((useconds_t)sigterm_after_ms * 1000);
        int64_t t0 = lore_mono_ns();
        CHECK_INT(test_server_stop(&s, SIGTERM), 0);
        double secs = (double)(lore_mono_ns() - t0) / 1e9;
        fprintf(stderr, "the server drained and stopped in %.2f s\n", secs);
        CHECK(secs < 20); /* nothing waited for the drain timeout (30 s) */
    } else {
        usleep((useconds_t)(seconds * 1e6));
    }
    atomic_store(&stop_flag, 1);
    for (int i = 0; i < WRITERS + SEARCHERS; i++)
        pthread_join(th[i], NULL);
}

/* Every acknowledged document exists (by its public id) exactly once. */
static void verify_acked(const char *phase) {
    size_t missing = 0;
    for (size_t i = 0; i < nacked; i++) {
        char id[17], path[64];
        const char *source = strstr(acked[i], ".txt") ? "upload" : "api";
        store_doc_public_id(source, acked[i], id);
        snprintf(path, sizeof path, "/v1/documents/%s", id);
        test_resp r = test_get(&s, path, s.admin_key);
        if (r.status != 200) {
            if (missing++ < 5) fprintf(stderr, "%s: acknowledged %s missing\n", phase, acked[i]);
        }
        test_resp_free(&r);
    }
    CHECK_INT(missing, 0);
    /* and the total is exactly what was acknowledged (no duplicates) */
    test_resp r = test_get(&s, "/v1/tenants", s.admin_key);
    json_t *t = json_array_get(json_object_get(r.json, "tenants"), 0);
    CHECK_INT(json_integer_value(json_object_get(t, "documents")), nacked + 1);
    test_resp_free(&r);
    /* a sample is searchable by its own token */
    for (size_t i = 0; i < nacked; i += nacked / 10 + 1) {
        if (strstr(acked[i], ".txt")) continue;
        char tok[64], path[128];
        token_of(acked[i], tok, sizeof tok);
        snprintf(path, sizeof path, "/v1/search?q=%s", tok);
        r = test_get(&s, path, s.admin_key);
        CHECK_INT(json_array_size(json_object_get(r.json, "hits")), 1);
        test_resp_free(&r);
    }
}

/* The drain's promise: every write refused or unanswered while the server
 * stopped is absent, and every request that got no answer is missing from
 * the access log (it never reached the application). Clears the lists. */
static void verify_stopped(const char *phase, const char *dir) {
    size_t present = 0;
    for (size_t i = 0; i < nabsent; i++) {
        char id[17], path[64];
        const char *source = strstr(absent[i], ".txt") ? "upload" : "api";
        store_doc_public_id(source, absent[i], id);
        snprintf(path, sizeof path, "/v1/documents/%s", id);
        test_resp r = test_get(&s, path, s.admin_key);
        if (r.status != 404 && present++ < 5)
            fprintf(stderr, "%s: %s was refused or unanswered, yet: %ld\n", phase, absent[i],
                    r.status);
        test_resp_free(&r);
    }
    CHECK_INT(present, 0);
    char logp[600];
    snprintf(logp, sizeof logp, "%s/server.log", dir);
    FILE *f = fopen(logp, "r");
    size_t cap = 0, len = 0;
    char *log = NULL;
    for (;;) {
        if (len + 65536 + 1 > cap) {
            cap = cap ? cap * 2 : 1 << 20;
            log = realloc(log, cap);
        }
        size_t n = f ? fread(log + len, 1, 65536, f) : 0;
        len += n;
        if (!n) break;
    }
    if (f) fclose(f);
    log[len] = '\0';
    size_t taken = 0;
    for (size_t i = 0; i < nsilent; i++) {
        char needle[80];
        snprintf(needle, sizeof needle, "\"request_id\":\"%s\"", silent[i]);
        if (strstr(log, needle) && taken++ < 5)
            fprintf(stderr, "%s: request %s reached the application but its client got no answer\n",
                    phase, silent[i]);
    }
    CHECK_INT(taken, 0);
    free(log);
    nabsent = nsilent = 0;
}

/* Jobs still pending in a stopped server's data directory. */
static long long pending_in(const char *dir) {
    store *st = NULL;
    char err[256];
    int64_t oldest = 0, n = -1;
    if (test_store_open(dir, STORE_OPEN_CREATE, &st, err, sizeof err) != LORE_OK) return -1;
    if (store_job_pending(st, NULL, lore_now_ms(), &oldest, &n) != LORE_OK) n = -1;
    store_close(st);
    return n;
}

int main(void) {
    curl_global_init(CURL_GLOBAL_ALL);
    acked = calloc(MAX_ACKED, sizeof *acked);
    pending = calloc(MAX_PENDING, sizeof *pending);
    absent = calloc(MAX_SILENT, sizeof *absent);
    silent = calloc(MAX_SILENT, sizeof *silent);
    /* The access log stays on: it tells which requests reached the
     * application. */
    const char *env[] = {"LORE_RATE_WRITE_PER_MIN=0", "LORE_RATE_READ_PER_MIN=0",
                         "LORE_RATE_ADMIN_PER_MIN=0", NULL};
    const char *env_no_workers[] = {"LORE_RATE_WRITE_PER_MIN=0", "LORE_RATE_READ_PER_MIN=0",
                                    "LORE_RATE_ADMIN_PER_MIN=0", "LORE_WORKERS=-1", NULL};
    if (test_server_start(&s, NULL, env)) return 1;
    test_resp r = test_post_json(&s, "/v1/documents?wait=10", s.admin_key,
                                 "{\"id\":\"seed\",\"text\":\"seed document\"}");
    CHECK_INT(r.status, 200);
    test_resp_free(&r);

    run_load(4.0, 0);
    settle("under load");
    fprintf(stderr,
            "load: %zu documents acknowledged (%ld writes applied in ?wait, %ld followed), "
            "%ld searches, %d errors\n",
            nacked, atomic_load(&waited_200), atomic_load(&accepted_202), atomic_load(&searches),
            atomic_load(&errors));
    CHECK_INT(atomic_load(&errors), 0);
    CHECK(nacked > 20);
    CHECK(atomic_load(&waited_200) > 0);
    CHECK(atomic_load(&accepted_202) > 0);
    verify_acked("under load");

    /* Graceful shutdown under load, workers busy. */
    size_t before = nacked;
    tolerate_failures = 1;
    run_no = 1;
    run_load(0, 1500);
    tolerate_failures = 0;
    char dir[512];
    snprintf(dir, sizeof dir, "%s", s.dir);
    fprintf(stderr,
            "shutdown: %zu more documents acknowledged, %zu writes accepted, %lld jobs "
            "left queued; %ld writes refused 503, %ld requests unanswered\n",
            nacked - before, npending, pending_in(dir), atomic_load(&refused_503),
            atomic_load(&unanswered));
    CHECK(nacked + npending > before);
    if (test_server_start(&s, dir, env)) return 1;
    CHECK_INT(test_queue_idle(&s, s.admin_key, 120), 0);
    settle("after restart");
    verify_acked("after restart");
    verify_stopped("after restart", dir);
    CHECK_INT(test_server_stop(&s, SIGTERM), 0);

    /* Accepted, not run yet: a server without workers takes writes under
     * load and stops; every accepted job is still queued on disk, and the
     * next server's workers run it. */
    if (test_server_start(&s, dir, env_no_workers)) return 1;
    before = nacked;
    tolerate_failures = 1;
    run_no = 2;
    never_wait = 1;
    run_load(0, 1000);
    never_wait = 0;
    tolerate_failures = 0;
    CHECK_INT(nacked, before); /* nothing ran */
    CHECK(npending > 0);
    CHECK_INT(pending_in(dir), (long long)npending);
    fprintf(stderr, "no workers: %zu writes accepted and queued; %ld refused 503, %ld unanswered\n",
            npending, atomic_load(&refused_503), atomic_load(&unanswered));
    if (test_server_start(&s, dir, env)) return 1;
    CHECK_INT(test_queue_idle(&s, s.admin_key, 120), 0);
    settle("queued before the restart");
    CHECK(nacked > before);
    verify_acked("queued before the restart");
    verify_stopped("queued before the restart", dir);
    CHECK_INT(atomic_load(&errors), 0); /* no malformed answer while stopping either */
    CHECK_INT(test_server_stop(&s, SIGTERM), 0);

    /* The server's log has no sanitizer report. */
    char logp[600], line[1024];
    snprintf(logp, sizeof logp, "%s/server.log", dir);
    FILE *f = fopen(logp, "r");
    int reports = 0;
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "Sanitizer") || strstr(line, "runtime error")) reports++;
    if (f) fclose(f);
    CHECK_INT(reports, 0);
    test_rmtree(dir);
    free(acked);
    free(pending);
    free(absent);
    free(silent);
    curl_global_cleanup();
    return test_summary();
}
