/* The drain on SIGTERM, step by step against a real server (docs/jobs.md,
 * "Stopping the server"):
 *
 *   - a write whose headers were in before the drain, its body still
 *     arriving, is taken to the end: applied and answered 202;
 *   - a write parked in ?wait is answered 202 at once;
 *   - a write arriving during the drain on a connection opened before it is
 *     answered 503 shutting-down with Connection: close, and not applied;
 *   - a new connection is refused;
 *   - the server exits 0 once the first write is answered.
 *
 * Then the drain timeout: a body still arriving when it passes is cut (no
 * answer), never applied, and the server exits without waiting longer. */
#include "api/api_test.h"
#include "store/store.h"

static test_server s;

/* A write request; body_at (if not NULL) gets where its body starts, and
 * the request then asks for 100-continue, which the server sends once the
 * application has taken the request: a sure sign its headers are in. */
static int write_req(char *out, size_t cap, const char *path, const char *id, size_t *body_at) {
    char body[256];
    int bl = snprintf(body, sizeof body, "{\"id\":\"%s\",\"text\":\"drain words %s\"}", id, id);
    int n = snprintf(out, cap,
                     "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %d\r\n%s\r\n",
                     path, s.admin_key, bl, body_at ? "Expect: 100-continue\r\n" : "");
    if (body_at) *body_at = (size_t)n;
    n += snprintf(out + n, cap - (size_t)n, "%s", body);
    return n;
}

/* Reads one answer on a keep-alive connection (headers and a body of
 * Content-Length); 0 when it came within ms. */
static int read_answer(int fd, char *buf, size_t cap, int ms) {
    size_t got = 0;
    for (int waited = 0; waited < ms; waited += 10) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 10) == 1) {
            ssize_t n = recv(fd, buf + got, cap - 1 - got, 0);
            if (n <= 0) break;
            got += (size_t)n;
            buf[got] = '\0';
            const char *end = strstr(buf, "\r\n\r\n"), *cl = strcasestr(buf, "Content-Length:");
            if (end && cl && (size_t)(end + 4 - buf) + (size_t)atol(cl + 15) <= got) return 0;
        }
    }
    buf[got] = '\0';
    return -1;
}

/* Waits for "100 Continue"; 0 when it came. */
static int wait_continue(int fd) {
    char buf[256];
    size_t got = 0;
    for (int waited = 0; waited < 10000; waited += 10) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 10) == 1) {
            ssize_t n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
            if (n <= 0) return -1;
            got += (size_t)n;
            buf[got] = '\0';
            if (strstr(buf, "\r\n\r\n")) return strstr(buf, "HTTP/1.1 100") ? 0 : -1;
        }
    }
    return -1;
}

static int doc_exists(const char *ext) {
    char id[17], path[64];
    store_doc_public_id("api", ext, id);
    snprintf(path, sizeof path, "/v1/documents/%s", id);
    test_resp r = test_get(&s, path, s.admin_key);
    long st = r.status;
    test_resp_free(&r);
    return st == 200;
}

static int refused_now(void) {
    int fd = test_connect_from(&s, NULL);
    if (fd >= 0) close(fd);
    return fd < 0;
}

static void drain_steps(const char *const *env_no_workers, const char *const *env) {
    if (test_server_start(&s, NULL, env_no_workers)) {
        CHECK(0);
        return;
    }
    char req[2048], ans[8192];
    size_t body_at = 0;
    /* A: headers and half the body before the drain */
    int a = test_connect_from(&s, NULL);
    int n = write_req(req, sizeof req, "/v1/documents", "slow-body", &body_at);
    CHECK_INT(test_send_all(a, req, body_at), 0);
    CHECK_INT(wait_continue(a), 0); /* A is taken */
    size_t half = body_at + 10;
    CHECK_INT(test_send_all(a, req + body_at, 10), 0);
    /* B: a keep-alive connection, idle after one answer */
    int b = test_connect_from(&s, NULL);
    static const char live[] = "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK_INT(test_send_all(b, live, sizeof live - 1), 0);
    CHECK_INT(read_answer(b, ans, sizeof ans, 5000), 0);
    CHECK(strstr(ans, "HTTP/1.1 200") != NULL);
    /* C: a write waiting for its job (no workers: it stays parked) */
    int c = test_connect_from(&s, NULL);
    int cn = write_req(req + 1024, 1024, "/v1/documents?wait=30", "parked", NULL);
    CHECK_INT(test_send_all(c, req + 1024, (size_t)cn), 0);
    long ready = 0; /* its job is queued: its handler ran, and it is parked */
    for (int i = 0; i < 500 && (ready = test_jobs_count(&s, s.admin_key, "ready")) != 1; i++)
        test_sleep_ms(20);
    CHECK_INT(ready, 1);
    CHECK(read_answer(c, ans, sizeof ans, 200) != 0); /* no answer yet */

    kill(s.pid, SIGTERM);
    /* the parked write is answered 202 at once */
    CHECK_INT(read_answer(c, ans, sizeof ans, 5000), 0);
    CHECK(strstr(ans, "HTTP/1.1 202") != NULL);
    CHECK(strcasestr(ans, "Connection: close") != NULL);
    /* new connections are refused once the drain runs */
    int refused = 0;
    for (int i = 0; i < 200 && !(refused = refused_now()); i++)
        test_sleep_ms(10);
    CHECK(refused);
    /* a write on the old connection: 503, Connection: close, not applied */
    int bn = write_req(req + 1024, 1024, "/v1/documents", "during-drain", NULL);
    CHECK_INT(test_send_all(b, req + 1024, (size_t)bn), 0);
    CHECK_INT(read_answer(b, ans, sizeof ans, 5000), 0);
    CHECK(strstr(ans, "HTTP/1.1 503") != NULL);
    CHECK(strstr(ans, "urn:lore:problem:shutting-down") != NULL);
    CHECK(strcasestr(ans, "Connection: close") != NULL);
    CHECK(strcasestr(ans, "Retry-After:") != NULL);
    /* A finishes its body: it gets its whole answer */
    CHECK_INT(test_send_all(a, req + half, (size_t)n - half), 0);
    CHECK_INT(read_answer(a, ans, sizeof ans, 5000), 0);
    CHECK(strstr(ans, "HTTP/1.1 202") != NULL);
    CHECK(strcasestr(ans, "Connection: close") != NULL);
    CHECK_INT(test_server_stop(&s, 0), 0); /* exits 0 by itself */
    close(a);
    close(b);
    close(c);

    char dir[512];
    snprintf(dir, sizeof dir, "%s", s.dir);
    if (test_server_start(&s, dir, env)) {
        CHECK(0);
        return;
    }
    CHECK_INT(test_queue_idle(&s, s.admin_key, 60), 0);
    CHECK(doc_exists("slow-body"));
    CHECK(doc_exists("parked"));
    CHECK(!doc_exists("during-drain"));
    CHECK_INT(test_server_stop(&s, SIGTERM), 0);
    test_rmtree(dir);
}

/* drain_timeout_s=1: a body that does not finish is cut at the timeout. */
static void drain_timeout(const char *const *env) {
    const char *env_t[16];
    size_t k = 0;
    for (; env[k] && k < 14; k++)
        env_t[k] = env[k];
    env_t[k++] = "LORE_DRAIN_TIMEOUT_S=1";
    env_t[k] = NULL;
    if (test_server_start(&s, NULL, env_t)) {
        CHECK(0);
        return;
    }
    char req[2048], ans[4096];
    size_t body_at = 0;
    int a = test_connect_from(&s, NULL);
    write_req(req, sizeof req, "/v1/documents", "never-finished", &body_at);
    CHECK_INT(test_send_all(a, req, body_at), 0);
    CHECK_INT(wait_continue(a), 0); /* taken */
    CHECK_INT(test_send_all(a, req + body_at, 10), 0);
    test_sleep_ms(200);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    kill(s.pid, SIGTERM);
    /* no answer: closed at the timeout */
    CHECK_INT(test_read_until_close(a, ans, sizeof ans, 5000), 0);
    CHECK_INT(test_server_stop(&s, 0), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "drain timeout: the server stopped %.2f s after SIGTERM\n", secs);
    CHECK(secs >= 0.9 && secs < 8); /* the timeout, not the 10 s handler grace */
    close(a);
    char dir[512];
    snprintf(dir, sizeof dir, "%s", s.dir);
    if (test_server_start(&s, dir, env)) {
        CHECK(0);
        return;
    }
    CHECK_INT(test_queue_idle(&s, s.admin_key, 60), 0);
    CHECK(!doc_exists("never-finished"));
    CHECK_INT(test_server_stop(&s, SIGTERM), 0);
    test_rmtree(dir);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_ALL);
    const char *env[] = {"LORE_RATE_WRITE_PER_MIN=0", "LORE_RATE_READ_PER_MIN=0",
                         "LORE_RATE_ADMIN_PER_MIN=0", NULL};
    /* No slow-body cut either: connection A's body waits while the other
     * steps run, however long a loaded machine takes over them. */
    const char *env_no_workers[] = {"LORE_RATE_WRITE_PER_MIN=0", "LORE_RATE_READ_PER_MIN=0",
                                    "LORE_RATE_ADMIN_PER_MIN=0", "LORE_WORKERS=-1",
                                    "LORE_MIN_BODY_RATE_KB=0",   NULL};
    drain_steps(env_no_workers, env);
    drain_timeout(env);
    curl_global_cleanup();
    return test_summary();
}
