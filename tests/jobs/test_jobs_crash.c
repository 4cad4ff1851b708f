/* Crash safety of the write queue: 10,000 small documents go to a real
 * server (two job workers) in batches of 100 from one thread and one by one
 * from another; part-way through, with jobs queued and running, the server
 * is killed with SIGKILL. The senders resend what was in flight (same
 * Idempotency-Key, as a client would) once it is back; then the queue must
 * drain and every acknowledged document must be there exactly once,
 * readable and searchable by a token of its own, with nothing
 * dead-lettered. */
#include <pthread.h>
#include <stdatomic.h>

#include "jobs/jobs_test.h"
#include "store/store.h"

#define NDOCS 10000
#define BATCH 100
#define NBATCH_DOCS 7000 /* docs 0..6999 in batches; the rest one by one */
#define KILL_AFTER 3000  /* documents acknowledged before the kill */

static test_server srv;
static pthread_mutex_t srv_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t srv_cv = PTHREAD_COND_INITIALIZER;
static int srv_generation; /* bumped by every (re)start */
static _Atomic int acked_docs, resent, refused;
static _Atomic int acked[NDOCS]; /* 202 or 200 seen for this document */
static _Atomic int errors;

static const char *const env[] = {"LORE_WORKERS=2",
                                  "LORE_JOB_LEASE_S=2", /* lost leases come back soon */
                                  "LORE_RATE_WRITE_PER_MIN=0",
                                  "LORE_RATE_ADMIN_PER_MIN=0",
                                  "LORE_RATE_READ_PER_MIN=0",
                                  "LORE_QUEUE_MAX_PER_TENANT=0",
                                  "LORE_QUEUE_MAX_TOTAL=0",
                                  NULL};

/* A token only this document has: "qz" and four consonants (no s or y), so
 * the analyzer and the stemmer keep it whole and distinct. */
static void token_of(int i, char *out) {
    static const char letters[] = "bcdfghjklmnpqrtvwxz"; /* 19 */
    out[0] = 'q';
    out[1] = 'z';
    for (int k = 5; k >= 2; k--) {
        out[k] = letters[i % 19];
        i /= 19;
    }
    out[6] = '\0';
}

static size_t doc_json(int i, char *out, size_t len) {
    char tok[8];
    token_of(i, tok);
    return (size_t)snprintf(out, len,
                            "{\"id\":\"crash-%05d\",\"title\":\"Crash document %d\","
                            "\"text\":\"Document %d of the crash test carries the token %s.\"}",
                            i, i, i, tok);
}

/* Sends one request until it is acknowledged, riding out the kill: on a
 * transport error it waits for the next server generation and resends with
 * the same Idempotency-Key. */
static void send_acked(const char *key, const char *body, int first, int n) {
    char hdr[128];
    snprintf(hdr, sizeof hdr, "Idempotency-Key: %s", key);
    const char *extra[] = {hdr, NULL};
    for (int attempt = 0; attempt < 50; attempt++) {
        pthread_mutex_lock(&srv_mu);
        test_server s = srv;
        int gen = srv_generation;
        pthread_mutex_unlock(&srv_mu);
        test_resp r = test_http(&s, "POST", "/v1/documents", s.admin_key, "application/json", body,
                                strlen(body), extra);
        long status = r.status;
        test_resp_free(&r);
        if (status == 202 || status == 200) {
            for (int i = first; i < first + n; i++)
                atomic_store(&acked[i], 1);
            atomic_fetch_add(&acked_docs, n);
            if (attempt) atomic_fetch_add(&resent, 1);
            return;
        }
        if (status) { /* an answer that is not an acknowledgement */
            atomic_fetch_add(&refused, 1);
            fprintf(stderr, "POST %s: %ld\n", key, status);
            jt_sleep_ms(100);
            continue;
        }
        /* no answer: the server is down; wait for the next one (or a
         * second, should this have been something else) */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_mutex_lock(&srv_mu);
        while (srv_generation == gen)
            if (pthread_cond_timedwait(&srv_cv, &srv_mu, &until)) break;
        pthread_mutex_unlock(&srv_mu);
    }
    atomic_fetch_add(&errors, 1);
    fprintf(stderr, "POST %s: never acknowledged\n", key);
}

static void *batch_sender(void *arg) {
    (void)arg;
    size_t cap = BATCH * 200 + 64;
    char *body = malloc(cap);
    for (int b = 0; b < NBATCH_DOCS / BATCH; b++) {
        size_t n = (size_t)snprintf(body, cap, "{\"documents\":[");
        for (int i = 0; i < BATCH; i++) {
            if (i) body[n++] = ',';
            n += doc_json(b * BATCH + i, body + n, cap - n);
        }
        snprintf(body + n, cap - n, "]}");
        char key[32];
        snprintf(key, sizeof key, "crash-batch-%d", b);
        send_acked(key, body, b * BATCH, BATCH);
    }
    free(body);
    return NULL;
}

static void *single_sender(void *arg) {
    (void)arg;
    char body[512], key[32];
    for (int i = NBATCH_DOCS; i < NDOCS; i++) {
        doc_json(i, body, sizeof body);
        snprintf(key, sizeof key, "crash-one-%d", i);
        send_acked(key, body, i, 1);
    }
    return NULL;
}

static int ext_index(const char *ext) {
    int i = -1;
    char tail;
    if (!ext || sscanf(ext, "crash-%5d%c", &i, &tail) != 1 || i < 0 || i >= NDOCS) return -1;
    return i;
}

/* Every document listed once, and only ours; returns how many. */
static int check_listing(void) {
    static int seen[NDOCS];
    memset(seen, 0, sizeof seen);
    int total = 0, dups = 0, strangers = 0, pages = 0;
    char cursor[40] = "";
    for (;;) {
        char path[128];
        snprintf(path, sizeof path, "/v1/documents?limit=1000%s%s", cursor[0] ? "&cursor=" : "",
                 cursor);
        test_resp r = test_get(&srv, path, srv.admin_key);
        long status = r.status;
        CHECK_INT(status, 200);
        json_t *docs = json_object_get(r.json, "documents");
        for (size_t k = 0; k < json_array_size(docs); k++) {
            int i = ext_index(jt_str(json_array_get(docs, k), "external_id"));
            if (i < 0) {
                strangers++;
                continue;
            }
            if (seen[i]++) dups++;
            total++;
        }
        const char *next = json_string_value(json_object_get(r.json, "next_cursor"));
        snprintf(cursor, sizeof cursor, "%s", next ? next : "");
        test_resp_free(&r);
        pages++;
        if (!cursor[0] || status != 200 || pages > 100) break;
    }
    int missing = 0;
    for (int i = 0; i < NDOCS; i++)
        if (atomic_load(&acked[i]) && !seen[i]) {
            if (missing++ < 5) fprintf(stderr, "acknowledged document crash-%05d is missing\n", i);
        }
    printf("listing: %d documents in %d pages, %d duplicates, %d unknown, %d acknowledged but "
           "missing\n",
           total, pages, dups, strangers, missing);
    CHECK_INT(dups, 0);
    CHECK_INT(strangers, 0);
    CHECK_INT(missing, 0);
    return total;
}

/* Every document found by its own token, once; 50 tokens per query. */
static void check_search(void) {
    int found = 0, wrong = 0;
    for (int q0 = 0; q0 < NDOCS; q0 += 50) {
        char path[1024] = "/v1/search?limit=100&q=";
        size_t n = strlen(path);
        for (int i = q0; i < q0 + 50; i++) {
            char tok[8];
            token_of(i, tok);
            n += (size_t)snprintf(path + n, sizeof path - n, "%s%s", i > q0 ? "+" : "", tok);
        }
        test_resp r = test_get(&srv, path, srv.admin_key);
        CHECK_INT(r.status, 200);
        json_t *hits = json_object_get(r.json, "hits");
        int seen[50] = {0};
        for (size_t k = 0; k < json_array_size(hits); k++) {
            int i = ext_index(jt_str(json_array_get(hits, k), "external_id"));
            if (i < q0 || i >= q0 + 50 || seen[i - q0]++)
                wrong++;
            else
                found++;
        }
        for (int i = q0; i < q0 + 50; i++)
            if (atomic_load(&acked[i]) && !seen[i - q0]) {
                if (wrong++ < 5) fprintf(stderr, "crash-%05d is not found by its token\n", i);
            }
        test_resp_free(&r);
    }
    printf("search: %d documents found by their tokens, %d wrong or missing hits\n", found, wrong);
    CHECK_INT(wrong, 0);
    CHECK_INT(found, NDOCS);
}

/* A sample read back whole by its public id. */
static void check_reads(void) {
    int read = 0;
    for (int i = 0; i < NDOCS; i += 37) {
        char ext[32], id[STORE_DOC_ID_LEN + 1], path[64], tok[8];
        snprintf(ext, sizeof ext, "crash-%05d", i);
        store_doc_public_id("api", ext, id);
        snprintf(path, sizeof path, "/v1/documents/%s", id);
        test_resp r = test_get(&srv, path, srv.admin_key);
        token_of(i, tok);
        CHECK_INT(r.status, 200);
        CHECK_STR(jt_str(r.json, "external_id"), ext);
        CHECK(strstr(jt_str(r.json, "text"), tok) != NULL);
        read += r.status == 200;
        test_resp_free(&r);
    }
    printf("read back: %d documents by id\n", read);
}

/* Done jobs that ran more than once: the kill took their lease. */
static int count_reruns(int *total) {
    int rerun = 0;
    char cursor[40] = "";
    *total = 0;
    for (int pages = 0; pages < 100; pages++) {
        char path[128];
        snprintf(path, sizeof path, "/v1/jobs?state=done&limit=1000%s%s",
                 cursor[0] ? "&cursor=" : "", cursor);
        test_resp r = test_get(&srv, path, srv.admin_key);
        json_t *jobs = json_object_get(r.json, "jobs");
        for (size_t k = 0; k < json_array_size(jobs); k++) {
            rerun += json_integer_value(json_object_get(json_array_get(jobs, k), "attempts")) > 1;
            (*total)++;
        }
        const char *next = json_string_value(json_object_get(r.json, "next_cursor"));
        snprintf(cursor, sizeof cursor, "%s", next ? next : "");
        test_resp_free(&r);
        if (!cursor[0]) break;
    }
    return rerun;
}

int main(void) {
    curl_global_init(CURL_GLOBAL_ALL);
    if (test_server_start(&srv, NULL, env)) return 1;
    int64_t t0 = jt_now_ms();
    pthread_t tb, ts;
    pthread_create(&tb, NULL, batch_sender, NULL);
    pthread_create(&ts, NULL, single_sender, NULL);

    /* the kill: once enough is acknowledged and jobs are waiting or running */
    long ready = 0, leased = 0;
    int at_kill = 0;
    for (int64_t until = jt_now_ms() + 120000; jt_now_ms() < until;) {
        if (atomic_load(&acked_docs) >= KILL_AFTER) {
            ready = jt_count_state(&srv, "ready", 1000);
            leased = jt_count_state(&srv, "leased", 1000);
            if (ready > 0 || leased > 0) break;
        }
        jt_sleep_ms(5);
    }
    pthread_mutex_lock(&srv_mu);
    at_kill = atomic_load(&acked_docs);
    int status = test_server_stop(&srv, SIGKILL);
    pthread_mutex_unlock(&srv_mu);
    CHECK_INT(status, 128 + SIGKILL);
    CHECK(ready + leased > 0);
    printf("killed after %d documents acknowledged (%lld ms), with %ld jobs ready and %ld leased\n",
           at_kill, (long long)(jt_now_ms() - t0), ready, leased);

    /* back up on the same data directory */
    pthread_mutex_lock(&srv_mu);
    char dir[512];
    snprintf(dir, sizeof dir, "%s", srv.dir);
    int started = test_server_start(&srv, dir, env);
    srv_generation++;
    pthread_cond_broadcast(&srv_cv);
    pthread_mutex_unlock(&srv_mu);
    CHECK_INT(started, 0);
    if (started) {
        test_rmtree(dir);
        return test_summary();
    }
    pthread_join(tb, NULL);
    pthread_join(ts, NULL);
    printf("sent: %d documents acknowledged, %d requests resent after the kill, %d refused\n",
           atomic_load(&acked_docs), atomic_load(&resent), atomic_load(&refused));
    CHECK_INT(atomic_load(&errors), 0);
    CHECK_INT(atomic_load(&acked_docs), NDOCS);

    int64_t t1 = jt_now_ms();
    CHECK_INT(jt_wait_idle(&srv, 120000), 0);
    printf("drained %lld ms after the last send (%lld ms in all)\n", (long long)(jt_now_ms() - t1),
           (long long)(jt_now_ms() - t0));

    CHECK_INT(check_listing(), NDOCS);
    check_search();
    check_reads();

    /* nothing dead-lettered; jobs the kill interrupted ran again */
    CHECK_INT(jt_count_state(&srv, "dead", 10), 0);
    int done = 0, rerun = count_reruns(&done);
    printf("jobs: %d done, %d of them run again after the kill took their lease\n", done, rerun);

    CHECK_INT(test_server_stop(&srv, SIGTERM), 0);
    test_rmtree(dir);
    curl_global_cleanup();
    return test_summary();
}
