/* Master key rotation under load (issue 12: "rotation under load keeps
 * every webhook verifying"), through the real binaries:
 *
 *   1. a production `lore serve` with master_key = A; 24 GitHub connectors
 *      made through POST /v1/connectors, so their signing secrets are sealed
 *      under A;
 *   2. the server restarted with master_key = B, master_key_previous = A;
 *      four threads keep posting signed deliveries (one new issue each,
 *      round robin over the connectors) while `lore secrets rotate` runs in
 *      another process; every delivery is answered 200 "queued", at least
 *      one was in flight while the rotation ran, and once the queue drains
 *      every delivery is a document (none dead);
 *   3. afterwards every secret is under B (`lore secrets rotate` with B
 *      alone re-seals nothing and finds none unreadable), a production
 *      server with A alone refuses to start, and one with B alone verifies
 *      a delivery to every connector.
 *
 * Without the previous key's fallback the restarted server refuses to
 * start (or answers 401); a rotation that lost or corrupted a secret it
 * re-sealed answers 401 mid-burst or at step 3. */
#include <pthread.h>

#include "connectors/hook_test.h"

#define KEY_A "rot-key-A-0123456789abcdef0123456789abcdef"
#define KEY_B "rot-key-B-0123456789abcdef0123456789abcdef"
#define NCONN 24
#define NSEND 4
#define AFTER 40      /* deliveries each sender makes once the rotation ended */
#define MAX_SENT 2400 /* a cap on the whole burst */

static test_server srv;
static char dir[512]; /* the data directory, kept across restarts */
static char key[128]; /* admin key of tenant acme */
static hook_conn conns[NCONN];

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int next_issue = 1, sent, refused, overlapping;
static volatile int rotating, rotated;
static char first_refusal[512];

static int64_t now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void *sender(void *arg) {
    (void)arg;
    int after = 0;
    for (;;) {
        pthread_mutex_lock(&mu);
        int n = next_issue++;
        int stop = sent >= MAX_SENT;
        pthread_mutex_unlock(&mu);
        if (stop || after >= AFTER) break;
        int was_rotating = rotating, was_rotated = rotated;
        hook_conn c = conns[n % NCONN]; /* a copy: gcc -O2 bounds its id */
        char title[64], delivery[64];
        snprintf(title, sizeof title, "Rotation issue %d", n);
        snprintf(delivery, sizeof delivery, "rot-%d", n);
        char *body = hook_github_issue("opened", n, title, "under load", "2026-01-01T00:00:00Z");
        test_resp r = hook_post_github(&srv, &c, "issues", delivery, body, strlen(body));
        const char *st = json_string_value(json_object_get(r.json, "status"));
        int good = r.status == 200 && st && !strcmp(st, "queued");
        pthread_mutex_lock(&mu);
        sent++;
        if (!good) {
            if (!refused++)
                snprintf(first_refusal, sizeof first_refusal, "%s: %ld %.300s", delivery, r.status,
                         r.body ? r.body : "");
        }
        /* in flight while the rotate process lived */
        if (was_rotating || rotating || (!was_rotated && rotated)) overlapping++;
        pthread_mutex_unlock(&mu);
        if (was_rotated) after++;
        test_resp_free(&r);
        free(body);
    }
    return NULL;
}

/* Runs `lore secrets rotate` on the server's data directory with the
 * process's master key settings; its stdout in out. Exit status. */
static int rotate(char *out, size_t outlen) {
    const char *args[] = {"secrets", "rotate", NULL};
    return hook_cli(&srv, args, out, outlen);
}

static long github_documents(void) {
    test_resp r = test_get(&srv, "/v1/sources", key);
    long n = -1;
    json_t *a = json_object_get(r.json, "sources");
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *o = json_array_get(a, i);
        const char *name = json_string_value(json_object_get(o, "source"));
        if (name && !strcmp(name, "github"))
            n = (long)json_integer_value(json_object_get(o, "documents"));
    }
    if (n < 0) fprintf(stderr, "GET /v1/sources: %ld %s\n", r.status, r.body ? r.body : "");
    test_resp_free(&r);
    return n;
}

static const char *env_all[] = {"LORE_WORKERS=1", "LORE_HOOK_RATE_PER_MIN=0", "LORE_LOG_LEVEL=info",
                                NULL};

/* 1. Connectors sealed under A. */
static int setup(void) {
    setenv("LORE_MODE", "production", 1);
    setenv("LORE_MASTER_KEY", KEY_A, 1);
    unsetenv("LORE_MASTER_KEY_PREVIOUS");
    if (test_server_start(&srv, NULL, env_all)) return -1;
    snprintf(dir, sizeof dir, "%s", srv.dir);
    if (test_make_tenant(&srv, "acme", key, sizeof key)) return -1;
    for (int i = 0; i < NCONN; i++)
        if (hook_connector_api(&srv, key, "{\"kind\":\"github\"}", &conns[i])) return -1;
    /* they verify under A */
    char *body = hook_github_issue("opened", 100000, "Under A", "x", "2026-01-01T00:00:00Z");
    test_resp r = hook_post_github(&srv, &conns[0], "issues", "under-a", body, strlen(body));
    CHECK_INT(r.status, 200);
    test_resp_free(&r);
    free(body);
    test_server_stop(&srv, SIGTERM);
    return 0;
}

/* 2. B with A as previous; the burst while rotate runs. */
static void burst(void) {
    setenv("LORE_MASTER_KEY", KEY_B, 1);
    setenv("LORE_MASTER_KEY_PREVIOUS", KEY_A, 1);
    if (test_server_start(&srv, dir, env_all)) {
        CHECK(0); /* production refused: the previous key did not open A's secrets */
        return;
    }
    pthread_t th[NSEND];
    for (int i = 0; i < NSEND; i++)
        pthread_create(&th[i], NULL, sender, NULL);
    /* let the deliveries flow first */
    int64_t t0 = now_ms();
    for (;;) {
        pthread_mutex_lock(&mu);
        int n = sent;
        pthread_mutex_unlock(&mu);
        if (n >= 2 * NCONN || now_ms() - t0 > 60000) break;
        test_sleep_ms(10);
    }
    char out[4096];
    rotating = 1;
    int rc = rotate(out, sizeof out);
    rotated = 1;
    rotating = 0;
    for (int i = 0; i < NSEND; i++)
        pthread_join(th[i], NULL);
    CHECK_INT(rc, 0);
    CHECK(strstr(out, "unreadable 0") != NULL);
    int resealed = 0;
    const char *p = strstr(out, "resealed ");
    if (p) resealed = atoi(p + 9);
    CHECK(resealed >= NCONN); /* the connectors' secrets were under A */
    printf("rotate: %s", out);
    printf("deliveries: %d, refused: %d, in flight during the rotation: %d\n", sent, refused,
           overlapping);
    if (refused) fprintf(stderr, "first refusal: %s\n", first_refusal);
    CHECK_INT(refused, 0);
    CHECK(overlapping >= 1);
    CHECK(sent < MAX_SENT); /* each sender went on after the rotation */

    /* applied: every delivery is a document, no job dead */
    CHECK(test_queue_idle(&srv, key, 240) == 0);
    CHECK_INT(test_jobs_count(&srv, key, "dead"), 0);
    CHECK_INT(github_documents(), sent + 1); /* and the one sent under A */
    test_server_stop(&srv, SIGTERM);
}

/* 3. Everything under B; A alone no longer opens, B alone verifies all. */
static void after(void) {
    unsetenv("LORE_MASTER_KEY_PREVIOUS");
    char out[4096];
    CHECK_INT(rotate(out, sizeof out), 0);
    CHECK(strstr(out, "resealed 0,") != NULL && strstr(out, "unreadable 0") != NULL);
    printf("B alone: %s", out);

    setenv("LORE_MASTER_KEY", KEY_A, 1);
    fprintf(stderr, "(a production server with A alone must refuse to start:)\n");
    test_server a_only;
    snprintf(a_only.admin_key, sizeof a_only.admin_key, "%s", srv.admin_key);
    int started = test_server_start(&a_only, dir, env_all) == 0;
    CHECK(!started);
    if (started) test_server_stop(&a_only, SIGKILL);

    setenv("LORE_MASTER_KEY", KEY_B, 1);
    if (test_server_start(&srv, dir, env_all)) {
        CHECK(0);
        return;
    }
    int ok = 0;
    for (int i = 0; i < NCONN; i++) {
        char d[32];
        snprintf(d, sizeof d, "after-%d", i);
        char *body = hook_github_issue("opened", 200000 + i, "After", "x", "2026-01-01T00:00:00Z");
        hook_conn c = conns[i];
        test_resp r = hook_post_github(&srv, &c, "issues", d, body, strlen(body));
        ok += r.status == 200;
        test_resp_free(&r);
        free(body);
    }
    CHECK_INT(ok, NCONN);
    test_server_stop(&srv, SIGTERM);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (setup()) {
        CHECK(0);
        test_server_stop(&srv, SIGKILL);
        return test_summary();
    }
    burst();
    after();
    curl_global_cleanup();
    return test_summary();
}
