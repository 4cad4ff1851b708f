/* Helpers for webhook tests against a real `lore serve` (tests/api/api_test.h
 * starts it): create connectors through the CLI or the admin route, sign
 * deliveries with the sources' own schemes (HMAC-SHA256 through OpenSSL,
 * independent of lore's code), POST them to /v1/hooks/{id}, and wait for
 * the queue to drain.
 *
 *   test_server s;
 *   test_server_start(&s, NULL, env);            // env: "LORE_HOOK_RATE_PER_MIN=60", ...
 *   char key[96]; test_make_tenant(&s, "acme", key, sizeof key);
 *   hook_conn c; hook_connector_api(&s, key, "{\"kind\":\"github\"}", &c);
 *   test_resp r = hook_post_github(&s, &c, "issues", "d-1", body, strlen(body));
 *
 * Slack deliveries are signed over "v0:{timestamp}:{body}" with the
 * timestamp given (hook_post_slack), so tests can send stale ones. */
#ifndef LORE_TESTS_CONNECTORS_HOOK_TEST_H
#define LORE_TESTS_CONNECTORS_HOOK_TEST_H

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "api/api_test.h"

typedef struct hook_conn {
    char id[64];
    char secret[300];
    char url[700];
} hook_conn;

/* Lower-case hex HMAC-SHA256 of the parts (concatenated) with key. */
static inline void hook_hmac_hex(const char *key, const void *const *parts, const size_t *lens,
                                 size_t nparts, char out[65]) {
    size_t total = 0;
    for (size_t i = 0; i < nparts; i++)
        total += lens[i];
    unsigned char *buf = malloc(total + 1), mac[32];
    unsigned int mlen = 0;
    size_t off = 0;
    for (size_t i = 0; buf && i < nparts; i++) {
        memcpy(buf + off, parts[i], lens[i]);
        off += lens[i];
    }
    if (buf) HMAC(EVP_sha256(), key, (int)strlen(key), buf, total, mac, &mlen);
    free(buf);
    static const char hex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < 32; i++) {
        out[2 * i] = i < mlen ? hex[mac[i] >> 4] : '0';
        out[2 * i + 1] = i < mlen ? hex[mac[i] & 15] : '0';
    }
    out[64] = 0;
}

/* Fills c from a create answer ({"id","secret","url"}); 0 on success. */
static inline int hook_conn_from(json_t *o, hook_conn *c) {
    const char *id = json_string_value(json_object_get(o, "id"));
    const char *sec = json_string_value(json_object_get(o, "secret"));
    const char *url = json_string_value(json_object_get(o, "url"));
    if (!id || !sec) return -1;
    snprintf(c->id, sizeof c->id, "%s", id);
    snprintf(c->secret, sizeof c->secret, "%s", sec);
    snprintf(c->url, sizeof c->url, "%s", url ? url : "");
    return 0;
}

/* Creates a connector through POST /v1/connectors with an admin key of its
 * tenant; body is the request ({"kind":"github", ...}). 0 on success. */
static inline int hook_connector_api(const test_server *s, const char *admin_key, const char *body,
                                     hook_conn *c) {
    memset(c, 0, sizeof *c);
    test_resp r = test_post_json(s, "/v1/connectors", admin_key, body);
    int rc = r.status == 201 ? hook_conn_from(r.json, c) : -1;
    if (rc) fprintf(stderr, "create connector: %ld %s\n", r.status, r.body ? r.body : "");
    test_resp_free(&r);
    return rc;
}

/* Runs the lore binary on the server's data directory with argv (NULL
 * terminated, without the program name); its stdout into out (NUL
 * terminated). Returns the exit status. */
static inline int hook_cli(const test_server *s, const char *const *args, char *out,
                           size_t outlen) {
    const char *bin = getenv("LORE_TEST_BIN");
    int p[2];
    if (!bin || pipe(p)) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        char *argv[32];
        size_t n = 0;
        argv[n++] = (char *)bin;
        for (const char *const *a = args; *a && n < 28; a++)
            argv[n++] = (char *)*a;
        argv[n++] = (char *)"--data-dir";
        argv[n++] = (char *)s->dir;
        argv[n] = NULL;
        dup2(p[1], 1);
        close(p[0]);
        execv(bin, argv);
        _exit(127);
    }
    close(p[1]);
    size_t got = 0;
    ssize_t k;
    while ((k = read(p[0], out + got, outlen - 1 - got)) > 0 && got + (size_t)k < outlen - 1)
        got += (size_t)k;
    if (k > 0) got += (size_t)k;
    out[got] = 0;
    close(p[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Creates a connector with `lore connector add KIND --tenant T --json`
 * (extra: more arguments, NULL terminated, may be NULL). 0 on success. */
static inline int hook_connector_cli(const test_server *s, const char *kind, const char *tenant,
                                     const char *const *extra, hook_conn *c) {
    const char *args[24] = {"connector", "add", kind, "--tenant", tenant, "--json"};
    size_t n = 6;
    for (const char *const *e = extra; e && *e && n < 22; e++)
        args[n++] = *e;
    args[n] = NULL;
    char out[4096];
    memset(c, 0, sizeof *c);
    int rc = hook_cli(s, args, out, sizeof out);
    json_t *o = rc == 0 ? json_loads(out, 0, NULL) : NULL;
    int ok = o && hook_conn_from(o, c) == 0;
    if (!ok) fprintf(stderr, "lore connector add: exit %d: %s\n", rc, out);
    json_decref(o);
    return ok ? 0 : -1;
}

/* POSTs raw bytes to /v1/hooks/{id} with the given header lines. */
static inline test_resp hook_post(const test_server *s, const char *id, const char *const *headers,
                                  const char *body, size_t len) {
    char path[128];
    snprintf(path, sizeof path, "/v1/hooks/%s", id);
    return test_http(s, "POST", path, NULL, "application/json", body, len, headers);
}

/* A GitHub delivery signed with secret (NULL: c's). */
static inline test_resp hook_post_github_with(const test_server *s, const char *id,
                                              const char *secret, const char *event,
                                              const char *delivery, const char *body, size_t len) {
    char sig[100], ev[128], dl[200], hex[65];
    const void *parts[1] = {body};
    size_t lens[1] = {len};
    hook_hmac_hex(secret, parts, lens, 1, hex);
    snprintf(sig, sizeof sig, "X-Hub-Signature-256: sha256=%s", hex);
    snprintf(ev, sizeof ev, "X-GitHub-Event: %s", event);
    snprintf(dl, sizeof dl, "X-GitHub-Delivery: %s", delivery);
    const char *h[] = {sig, ev, dl, NULL};
    return hook_post(s, id, h, body, len);
}

static inline test_resp hook_post_github(const test_server *s, const hook_conn *c,
                                         const char *event, const char *delivery, const char *body,
                                         size_t len) {
    return hook_post_github_with(s, c->id, c->secret, event, delivery, body, len);
}

/* A Slack Events API delivery signed v0 at Unix time ts (seconds). */
static inline test_resp hook_post_slack(const test_server *s, const hook_conn *c, long long ts,
                                        const char *body, size_t len) {
    char tsb[32], sig[100], tsh[64], hex[65];
    snprintf(tsb, sizeof tsb, "%lld", ts);
    const void *parts[5] = {"v0:", tsb, ":", body};
    size_t lens[5] = {3, strlen(tsb), 1, len};
    hook_hmac_hex(c->secret, parts, lens, 4, hex);
    snprintf(sig, sizeof sig, "X-Slack-Signature: v0=%s", hex);
    snprintf(tsh, sizeof tsh, "X-Slack-Request-Timestamp: %s", tsb);
    const char *h[] = {sig, tsh, NULL};
    return hook_post(s, c->id, h, body, len);
}

/* A GitHub "issues" payload for issue number n of repository o/r, with
 * title and body, updated at the ISO time given. Owned. */
static inline char *hook_github_issue(const char *action, int n, const char *title,
                                      const char *text, const char *updated) {
    json_t *o =
        json_pack("{s:s,s:{s:i,s:s,s:s,s:s,s:s,s:{s:s},s:s,s:s,s:[]},s:{s:s,s:b,s:s},s:{s:s}}",
                  "action", action, "issue", "number", n, "title", title, "body", text, "html_url",
                  "https://github.com/o/r/issues/1", "state", "open", "user", "login", "octocat",
                  "created_at", "2026-01-01T00:00:00Z", "updated_at", updated, "labels",
                  "repository", "full_name", "o/r", "private", 0, "html_url",
                  "https://github.com/o/r", "sender", "login", "octocat");
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

/* Reads the tenant's jobs (admin key) and returns how many there are. */
static inline long hook_jobs(const test_server *s, const char *key) {
    return test_jobs_count(s, key, NULL);
}

#endif
