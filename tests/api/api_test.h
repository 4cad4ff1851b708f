/* Helpers for the REST API tests: start the real `lore serve` on an
 * ephemeral port in a fresh data directory (and `lore worker` beside it),
 * talk to it with libcurl, read JSON answers, follow jobs, stop it with a
 * signal.
 *
 * The server binary comes from LORE_TEST_BIN (set by CTest). Its stderr (the
 * access log) goes to DATA_DIR/server.log so tests can read the log lines. */
#ifndef LORE_TESTS_API_TEST_H
#define LORE_TESTS_API_TEST_H

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/test_store.h"
#include "test.h"

typedef struct test_server {
    pid_t pid;
    char dir[512];
    char base[128];     /* http://127.0.0.1:PORT */
    char admin_key[96]; /* the first-start key */
    int port;
} test_server;

/* Starts `lore serve` with extra environment settings ("LORE_X=y", NULL
 * terminated; may be NULL). reuse_dir: a data directory to reuse (restart),
 * else a new one. Returns 0 on success. */
static inline int test_server_start(test_server *s, const char *reuse_dir, const char *const *env) {
    const char *bin = getenv("LORE_TEST_BIN");
    if (!bin) {
        fprintf(stderr, "LORE_TEST_BIN is not set (run under ctest)\n");
        return -1;
    }
    char keep[96] = "";
    if (reuse_dir) snprintf(keep, sizeof keep, "%s", s->admin_key);
    memset(s, 0, sizeof *s);
    snprintf(s->admin_key, sizeof s->admin_key, "%s", keep);
    snprintf(s->dir, sizeof s->dir, "%s", reuse_dir ? reuse_dir : test_tmpdir());
    char store_url[1200];
    if (test_store_url(s->dir, store_url, sizeof store_url)) return -1;
    int out[2];
    if (pipe(out)) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        char log[600];
        snprintf(log, sizeof log, "%s/server.log", s->dir);
        int lf = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(out[1], 1);
        if (lf >= 0) dup2(lf, 2);
        close(out[0]);
        test_store_env(s->dir);
        for (const char *const *e = env; e && *e; e++)
            putenv((char *)*e);
        execl(bin, bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", s->dir, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    s->pid = pid;
    FILE *f = fdopen(out[0], "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        char *k = strstr(line, "admin key (shown once, keep it): ");
        if (k) {
            snprintf(s->admin_key, sizeof s->admin_key, "%s", k + 33);
            s->admin_key[strcspn(s->admin_key, "\r\n")] = '\0';
        }
        char *u = strstr(line, "listening on http://");
        if (u) {
            char *p = strrchr(u, ':');
            s->port = atoi(p + 1);
            snprintf(s->base, sizeof s->base, "http://127.0.0.1:%d", s->port);
            break;
        }
    }
    if (f) fclose(f); /* the server's later stdout writes would get EPIPE: it has none */
    if (!s->port) {
        fprintf(stderr, "server did not start; see %s/server.log\n", s->dir);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return 0;
}

/* Sends sig to a child and waits; returns the exit status (or 128 +
 * signal). */
static inline int test_pid_stop(pid_t pid, int sig) {
    if (pid <= 0) return -1;
    kill(pid, sig);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static inline int test_server_stop(test_server *s, int sig) {
    int rc = test_pid_stop(s->pid, sig);
    s->pid = 0;
    return rc;
}

/* Starts `lore worker` on a data directory (a server's, usually) with extra
 * environment settings as for test_server_start, and waits for its start
 * line. Its stderr goes to DIR/worker.log. Returns the pid, or -1; stop it
 * with test_pid_stop. */
static inline pid_t test_worker_start(const char *dir, const char *const *env) {
    const char *bin = getenv("LORE_TEST_BIN");
    if (!bin) return -1;
    int out[2];
    if (pipe(out)) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        char log[600];
        snprintf(log, sizeof log, "%s/worker.log", dir);
        int lf = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(out[1], 1);
        if (lf >= 0) dup2(lf, 2);
        close(out[0]);
        test_store_env(dir);
        for (const char *const *e = env; e && *e; e++)
            putenv((char *)*e);
        execl(bin, bin, "worker", "--data-dir", dir, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    char line[512];
    int started = 0;
    while (f && !started && fgets(line, sizeof line, f))
        started = strstr(line, "job workers on") != NULL;
    if (f) fclose(f);
    if (!started) {
        fprintf(stderr, "worker did not start; see %s/worker.log\n", dir);
        test_pid_stop(pid, SIGKILL);
        return -1;
    }
    return pid;
}

typedef struct test_resp {
    long status;
    int curl; /* the CURLcode: CURLE_OK (0) when an answer came */
    char *body;
    size_t len;
    char headers[8192];
    json_t *json; /* parsed body when it is JSON */
} test_resp;

static size_t resp_write(char *p, size_t sz, size_t n, void *ud) {
    test_resp *r = ud;
    char *nb = realloc(r->body, r->len + sz * n + 1);
    if (!nb) return 0;
    memcpy(nb + r->len, p, sz * n);
    r->body = nb;
    r->len += sz * n;
    r->body[r->len] = '\0';
    return sz * n;
}

static size_t resp_header(char *p, size_t sz, size_t n, void *ud) {
    test_resp *r = ud;
    size_t used = strlen(r->headers), add = sz * n;
    if (used + add < sizeof r->headers) {
        memcpy(r->headers + used, p, add);
        r->headers[used + add] = '\0';
    }
    return sz * n;
}

static inline void test_resp_free(test_resp *r) {
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

/* A response header's value (case-insensitive name) copied into out, or
 * NULL. */
static inline const char *test_resp_header(const test_resp *r, const char *name, char *out,
                                           size_t outlen) {
    size_t nl = strlen(name);
    for (const char *p = r->headers; *p;) {
        const char *e = strstr(p, "\r\n");
        if (!e) break;
        if ((size_t)(e - p) > nl && !strncasecmp(p, name, nl) && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            snprintf(out, outlen, "%.*s", (int)(e - v), v);
            return out;
        }
        p = e + 2;
    }
    return NULL;
}

/* One request. key may be NULL (no Authorization), ctype NULL (none).
 * extra: more header lines, NULL-terminated, may be NULL. */
static inline test_resp test_http(const test_server *s, const char *method, const char *path,
                                  const char *key, const char *ctype, const char *body, size_t len,
                                  const char *const *extra) {
    test_resp r;
    memset(&r, 0, sizeof r);
    CURL *c = curl_easy_init();
    char url[16384], auth[256], ct[256]; /* room for a 4 KB query, escaped */
    snprintf(url, sizeof url, "%s%s", s->base, path);
    struct curl_slist *h = NULL;
    if (key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
        h = curl_slist_append(h, auth);
    }
    if (ctype) {
        snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
        h = curl_slist_append(h, ct);
    }
    h = curl_slist_append(h, "Expect:");
    for (const char *const *e = extra; e && *e; e++)
        h = curl_slist_append(h, *e);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, resp_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, resp_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    if (!strcmp(method, "HEAD")) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    CURLcode rc = curl_easy_perform(c);
    r.curl = (int)rc;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    else
        fprintf(stderr, "curl %s %s: %s\n", method, path, curl_easy_strerror(rc));
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (r.body) r.json = json_loadb(r.body, r.len, 0, NULL);
    return r;
}

static inline test_resp test_get(const test_server *s, const char *path, const char *key) {
    return test_http(s, "GET", path, key, NULL, NULL, 0, NULL);
}

static inline test_resp test_post_json(const test_server *s, const char *path, const char *key,
                                       const char *json) {
    return test_http(s, "POST", path, key, "application/json", json, strlen(json), NULL);
}

static inline test_resp test_delete(const test_server *s, const char *path, const char *key) {
    return test_http(s, "DELETE", path, key, NULL, NULL, 0, NULL);
}

/* The problem type slug of an error answer ("" if none). */
static inline const char *test_problem_type(const test_resp *r) {
    const char *t = json_string_value(json_object_get(r->json, "type"));
    return t && !strncmp(t, "urn:lore:problem:", 17) ? t + 17 : "";
}

/* ---- jobs: every write answers with a job (202), or with its outcome
 * after ?wait= ---- */

/* A job id as the API shows it ("job_" and 24 hex digits), held by value
 * so it outlives the answer it came from. */
typedef struct test_job_ref {
    char s[48];
} test_job_ref;

/* The id of a job object ("" if it has none). */
static inline test_job_ref test_job_ref_of(json_t *job) {
    test_job_ref id;
    const char *v = json_string_value(json_object_get(job, "id"));
    snprintf(id.s, sizeof id.s, "%s", v ? v : "");
    return id;
}

/* The id of the job in a write's answer ({"job": {...}}), "" if none. */
static inline test_job_ref test_job_id(const test_resp *r) {
    return test_job_ref_of(json_object_get(r->json, "job"));
}

/* Whether a write's answer is about job id (a non-empty id). */
static inline int test_job_is(const test_resp *r, test_job_ref id) {
    return id.s[0] && !strcmp(test_job_id(r).s, id.s);
}

/* Whether an id looks as the API makes them: job_ and 24 hex digits. */
static inline int test_job_id_shaped(const char *id) {
    if (strlen(id) != 28 || strncmp(id, "job_", 4)) return 0;
    for (const char *p = id + 4; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return 0;
    return 1;
}

static inline void test_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Polls GET /v1/jobs/{id} until the job is done or dead, for at most
 * timeout_s; copies its last state ("" if it could not be read) to state.
 * Returns 0 when it finished (done or dead). */
static inline int test_job_wait(const test_server *s, const char *key, test_job_ref id,
                                int timeout_s, char *state, size_t statelen) {
    char path[96];
    snprintf(path, sizeof path, "/v1/jobs/%s", id.s);
    snprintf(state, statelen, "%s", "");
    for (int waited = 0; waited <= timeout_s * 1000; waited += 50) {
        test_resp r = test_get(s, path, key);
        const char *st = json_string_value(json_object_get(r.json, "state"));
        snprintf(state, statelen, "%s", r.status == 200 && st ? st : "");
        test_resp_free(&r);
        if (!strcmp(state, "done") || !strcmp(state, "dead")) return 0;
        test_sleep_ms(50);
    }
    return -1;
}

/* How many of the tenant's jobs are in a state (NULL: any) (GET /v1/jobs,
 * one page of up to 1000; an admin key); -1 if the listing failed. */
static inline long test_jobs_count(const test_server *s, const char *admin_key, const char *state) {
    char path[96];
    if (state)
        snprintf(path, sizeof path, "/v1/jobs?state=%s&limit=1000", state);
    else
        snprintf(path, sizeof path, "/v1/jobs?limit=1000");
    test_resp r = test_get(s, path, admin_key);
    long n = r.status == 200 ? (long)json_array_size(json_object_get(r.json, "jobs")) : -1;
    test_resp_free(&r);
    return n;
}

/* Waits until the tenant has no ready and no leased job, for at most
 * timeout_s. Returns 0 when the queue is empty. */
/* Jobs of the key's tenant not finished (ready + leased), read in one go
 * from GET /v1/stats (an admin key), whose counts are of one moment: two
 * listings, one per state, can both miss a job that moves between them (a
 * leased job retried after the "ready" listing). -1: the key may not read
 * the stats (then test_queue_idle falls back to the listings). */
static inline long test_jobs_unfinished(const test_server *s, const char *key) {
    test_resp r = test_get(s, "/v1/stats", key);
    json_t *jobs = r.status == 200 ? json_object_get(r.json, "jobs") : NULL;
    long n = jobs ? (long)(json_integer_value(json_object_get(jobs, "ready")) +
                           json_integer_value(json_object_get(jobs, "leased")))
                  : -1;
    test_resp_free(&r);
    return n;
}

static inline int test_queue_idle(const test_server *s, const char *admin_key, int timeout_s) {
    for (int waited = 0; waited <= timeout_s * 1000; waited += 100) {
        long n = test_jobs_unfinished(s, admin_key);
        if (n == 0) return 0;
        if (n < 0 && test_jobs_count(s, admin_key, "ready") == 0 &&
            test_jobs_count(s, admin_key, "leased") == 0)
            return 0;
        test_sleep_ms(100);
    }
    fprintf(stderr, "the job queue did not empty in %d s\n", timeout_s);
    return -1;
}

/* ---- raw sockets: for what libcurl will not send ---- */

/* A TCP connection to the server from the local address src ("127.0.0.2":
 * any 127/8 address is this machine; NULL: the kernel's choice), or -1. */
static inline int test_connect_from(const test_server *s, const char *src) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    if (src) {
        inet_pton(AF_INET, src, &a.sin_addr);
        if (bind(fd, (struct sockaddr *)&a, sizeof a)) {
            close(fd);
            return -1;
        }
    }
    a.sin_port = htons((uint16_t)s->port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        return -1;
    }
    return fd;
}

static inline int test_send_all(int fd, const void *data, size_t len) {
    const char *p = data;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads until the server closes or timeout_ms passes; returns the bytes
 * read (into buf, NUL-terminated), or -1 if the connection was still open
 * at the timeout. A reset counts as a close. */
static inline ssize_t test_read_until_close(int fd, char *buf, size_t cap, int timeout_ms) {
    size_t got = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        int left =
            timeout_ms - (int)((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0) return -1;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, left) <= 0) return -1;
        ssize_t n = read(fd, buf + got, cap - 1 - got);
        if (n <= 0) break;
        got += (size_t)n;
        if (got >= cap - 1) break;
    }
    buf[got] = '\0';
    return (ssize_t)got;
}

/* Creates a key through the API; returns the secret in out. */
static inline int test_make_key(const test_server *s, const char *admin_key,
                                const char *scopes_json, const char *principals_json, char *out,
                                size_t outlen) {
    char body[1024];
    snprintf(body, sizeof body, "{\"scopes\": %s, \"principals\": %s}", scopes_json,
             principals_json ? principals_json : "[]");
    test_resp r = test_post_json(s, "/v1/keys", admin_key, body);
    const char *k = json_string_value(json_object_get(r.json, "key"));
    int ok = r.status == 201 && k;
    if (ok)
        snprintf(out, outlen, "%s", k);
    else
        fprintf(stderr, "make key: %ld %s\n", r.status, r.body ? r.body : "");
    test_resp_free(&r);
    return ok ? 0 : -1;
}

/* Creates a tenant; returns its admin key in out. */
static inline int test_make_tenant(const test_server *s, const char *name, char *out,
                                   size_t outlen) {
    char body[256];
    snprintf(body, sizeof body, "{\"name\": \"%s\"}", name);
    test_resp r = test_post_json(s, "/v1/tenants", s->admin_key, body);
    const char *k = json_string_value(json_object_get(json_object_get(r.json, "admin_key"), "key"));
    int ok = r.status == 201 && k;
    if (ok)
        snprintf(out, outlen, "%s", k);
    else
        fprintf(stderr, "make tenant: %ld %s\n", r.status, r.body ? r.body : "");
    test_resp_free(&r);
    return ok ? 0 : -1;
}

#endif
