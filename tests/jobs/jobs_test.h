/* Helpers for the job queue's integration tests (tests/jobs/): on top of
 * api_test.h (a real `lore serve`), reading jobs over HTTP, waiting for the
 * queue to drain, running the `lore` CLI on the data directory and running
 * `lore worker` processes beside the server. */
#ifndef LORE_TESTS_JOBS_TEST_H
#define LORE_TESTS_JOBS_TEST_H

#include <time.h>

#include "api/api_test.h"

static inline int64_t jt_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void jt_sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Jobs of the admin key's tenant in a state, up to limit (-1 on error). */
static inline long jt_count_state(const test_server *s, const char *state, int limit) {
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs?state=%s&limit=%d", state, limit);
    test_resp r = test_get(s, path, s->admin_key);
    long n = r.status == 200 ? (long)json_array_size(json_object_get(r.json, "jobs")) : -1;
    test_resp_free(&r);
    return n;
}

/* Waits until no job is ready or leased; returns 0, or -1 after timeout_ms. */
static inline int jt_wait_idle(const test_server *s, long timeout_ms) {
    int64_t until = jt_now_ms() + timeout_ms;
    while (jt_now_ms() < until) {
        if (test_jobs_unfinished(s, s->admin_key) == 0) return 0; /* one moment's counts */
        jt_sleep_ms(50);
    }
    fprintf(stderr, "the queue did not drain in %ld ms\n", timeout_ms);
    return -1;
}

/* GET /v1/jobs/{id}: the job's JSON (new reference) or NULL. */
static inline json_t *jt_job(const test_server *s, const char *id) {
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    test_resp r = test_get(s, path, s->admin_key);
    json_t *j = r.status == 200 ? json_incref(r.json) : NULL;
    test_resp_free(&r);
    return j;
}

static inline const char *jt_str(json_t *o, const char *key) {
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "";
}

/* Waits until job id is in state (or timeout_ms passes); returns its JSON
 * (new reference, last seen) or NULL. */
static inline json_t *jt_wait_job(const test_server *s, const char *id, const char *state,
                                  long timeout_ms) {
    int64_t until = jt_now_ms() + timeout_ms;
    json_t *j = NULL;
    for (;;) {
        json_decref(j);
        j = jt_job(s, id);
        if (j && !strcmp(jt_str(j, "state"), state)) return j;
        if (jt_now_ms() >= until) break;
        jt_sleep_ms(20);
    }
    fprintf(stderr, "job %s did not reach state %s in %ld ms (it is %s)\n", id, state, timeout_ms,
            j ? jt_str(j, "state") : "unreadable");
    return j;
}

/* The job id of a write's answer ({"job": {...}}), "" if none. */
static inline test_job_ref jt_job_id(const test_resp *r) {
    return test_job_id(r);
}

/* Runs `lore ARGS --data-dir DIR` (args: a shell fragment), capturing
 * stdout and stderr into out. Returns the exit status (-1 if not run). */
static inline int jt_cli(const char *dir, char *out, size_t outlen, const char *args) {
    const char *bin = getenv("LORE_TEST_BIN");
    if (!bin) return -1;
    char cmd[4096], url[1200] = "";
    if (!store_fixture_sqlite() && test_store_url(dir, url, sizeof url)) return -1;
    snprintf(cmd, sizeof cmd, "%s%s%s'%s' %s --data-dir '%s' 2>&1",
             url[0] ? "LORE_STORE_URL='" : "", url, url[0] ? "' " : "", bin, args, dir);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = 0;
    if (outlen) out[0] = '\0';
    while (outlen && n + 1 < outlen) {
        size_t got = fread(out + n, 1, outlen - 1 - n, p);
        if (!got) break;
        n += got;
    }
    if (outlen) out[n] = '\0';
    char sink[512];
    while (fread(sink, 1, sizeof sink, p) > 0) {
    }
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Starts `lore worker --workers N --data-dir DIR` with extra environment
 * (NULL-terminated, may be NULL); its output goes to DIR/<log>. */
static inline pid_t jt_worker_start(const char *dir, int threads, const char *log,
                                    const char *const *env) {
    const char *bin = getenv("LORE_TEST_BIN");
    if (!bin) return -1;
    pid_t pid = fork();
    if (pid != 0) return pid;
    char path[700], n[16];
    snprintf(path, sizeof path, "%s/%s", dir, log);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
    }
    test_store_env(dir);
    for (const char *const *e = env; e && *e; e++)
        putenv((char *)*e);
    snprintf(n, sizeof n, "%d", threads);
    execl(bin, bin, "worker", "--workers", n, "--data-dir", dir, (char *)NULL);
    _exit(127);
}

/* Sends sig to a process started here and waits: its exit status, or 128 +
 * the signal that ended it. */
static inline int jt_stop(pid_t pid, int sig) {
    if (pid <= 0) return -1;
    kill(pid, sig);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#endif
