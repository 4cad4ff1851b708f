/* Browser sessions against a real server (api_session.c): sign in with a
 * key for a cookie and a CSRF token; the cookie's attributes; cookie
 * requests checked like bearer keys (scopes, ACL principals); over TLS the
 * cookie is __Host-lore_session and a plain-named one is not taken; the CSRF
 * header required on every state-changing request; sign-out, key
 * revocation and key expiry ending a session at its next request; only a
 * hash of the session id in the control database. Every state-changing
 * route of the table (uploads, keys, jobs, sign-out...) refused without the
 * token; no answer carrying a token or a secret cached; a sign-in replacing
 * the browser's previous session; sign-ins limited per key. */
#include "api/api_int.h"
#include "api/api_test.h"

typedef struct session {
    char cookie[160]; /* "Cookie: lore_session=..." */
    char csrf[160];   /* "X-CSRF-Token: ..." */
    char sid[80];
} session;

static long sign_in(const test_server *s, const char *key, session *out, char *set_cookie,
                    size_t sclen, const char *const *extra) {
    char body[256];
    snprintf(body, sizeof body, "{\"key\": \"%s\"}", key);
    test_resp r =
        test_http(s, "POST", "/v1/session", NULL, "application/json", body, strlen(body), extra);
    long st = r.status;
    char sc[512] = "";
    test_resp_header(&r, "Set-Cookie", sc, sizeof sc);
    if (set_cookie) snprintf(set_cookie, sclen, "%s", sc);
    const char *csrf = json_string_value(json_object_get(r.json, "csrf_token"));
    if (st == 201 && out) {
        CHECK(csrf && strlen(csrf) == 64);
        CHECK(!strncmp(sc, "lore_session=", 13));
        snprintf(out->sid, sizeof out->sid, "%.64s", sc + 13);
        snprintf(out->cookie, sizeof out->cookie, "Cookie: lore_session=%s", out->sid);
        snprintf(out->csrf, sizeof out->csrf, "X-CSRF-Token: %s", csrf ? csrf : "");
    }
    test_resp_free(&r);
    return st;
}

/* A request with the session's cookie, and its CSRF header when csrf. */
static test_resp with(const test_server *s, const session *se, int csrf, const char *method,
                      const char *path, const char *json) {
    const char *extra[3] = {se->cookie, csrf ? se->csrf : NULL, NULL};
    return test_http(s, method, path, NULL, json ? "application/json" : NULL, json,
                     json ? strlen(json) : 0, extra);
}

static long status_of(test_resp r) {
    long st = r.status;
    test_resp_free(&r);
    return st;
}

/* Every route of the table that changes something, called with the
 * session's cookie and no CSRF token, is refused 403 csrf before anything
 * else (its path parameters need not name anything: the check comes
 * first). Bodies as a browser's form or page would send them. */
static void csrf_every_route(const test_server *s, const session *se) {
    size_t n = 0;
    for (size_t i = 0; i < api_route_count; i++) {
        const api_route_def *d = &api_route_table[i];
        const char *m = d->route.method;
        if (!m || !strcmp(m, "GET") || !strcmp(m, "HEAD") || d->access < ACCESS_READ) continue;
        char path[256], *w = path;
        for (const char *p = d->route.pattern; *p && w < path + sizeof path - 8; p++) {
            if (*p != '{') {
                *w++ = *p;
                continue;
            }
            w += snprintf(w, 8, "x1");
            while (*p && *p != '}')
                p++;
        }
        *w = '\0';
        static const char multipart[] = "--b\r\nContent-Disposition: form-data; name=\"files\"; "
                                        "filename=\"a.txt\"\r\n\r\nplanted\r\n--b--\r\n";
        const char *type = d->body == BODY_MULTIPART ? "multipart/form-data; boundary=b"
                           : d->body == BODY_NO      ? NULL
                                                     : "application/json";
        const char *body = d->body == BODY_MULTIPART ? multipart : type ? "{}" : NULL;
        const char *extra[2] = {se->cookie, NULL};
        test_resp r = test_http(s, m, path, NULL, type, body, body ? strlen(body) : 0, extra);
        if (r.status != 403 || strcmp(test_problem_type(&r), "csrf"))
            fprintf(stderr, "%s %s without the CSRF token: %ld\n", m, path, r.status);
        CHECK_INT(r.status, 403);
        CHECK_STR(test_problem_type(&r), "csrf");
        test_resp_free(&r);
        n++;
    }
    CHECK(n >= 15); /* documents, files, keys, jobs, connectors, session, ... */
}

/* An answer that must not be kept by a cache (a CSRF token, a new key). */
static void check_no_store(test_resp *r) {
    char cc[128] = "";
    CHECK(test_resp_header(r, "Cache-Control", cc, sizeof cc) && !strcmp(cc, "no-store"));
}

int main(void) {
    curl_global_init(CURL_GLOBAL_ALL);
    test_server s;
    const char *env[] = {"LORE_RATE_ANON_PER_MIN=0", "LORE_SESSION_TTL_MINUTES=30",
                         "LORE_SESSION_SIGNINS_PER_MIN=1", NULL};
    if (test_server_start(&s, NULL, env)) return 1;

    /* Documents: one public, one only user:bob may see. */
    test_resp r = test_post_json(&s, "/v1/documents?wait=10", s.admin_key,
                                 "{\"id\":\"pub\",\"title\":\"Open\",\"text\":\"zebra open\"}");
    CHECK_INT(r.status, 200);
    test_resp_free(&r);
    r = test_post_json(&s, "/v1/documents?wait=10", s.admin_key,
                       "{\"id\":\"sec\",\"title\":\"Hidden\",\"text\":\"zebra secret\","
                       "\"acl\":[\"user:bob\"]}");
    CHECK_INT(r.status, 200);
    /* its id (the route takes lore's id, not the external one) */
    char sec_path[64];
    snprintf(sec_path, sizeof sec_path, "/v1/documents/%.16s",
             json_string_value(
                 json_object_get(json_array_get(json_object_get(r.json, "documents"), 0), "id")));
    CHECK_INT(strlen(sec_path), 30);
    test_resp_free(&r);
    CHECK_INT(status_of(test_http(&s, "GET", sec_path, s.admin_key, NULL, NULL, 0, NULL)), 200);

    /* Bad sign-ins. */
    r = test_post_json(&s, "/v1/session", NULL, "{\"key\": 5}");
    CHECK_INT(r.status, 400);
    test_resp_free(&r);
    r = test_post_json(&s, "/v1/session", NULL, "{\"key\": \"lore_x\", \"more\": 1}");
    CHECK_INT(r.status, 400);
    test_resp_free(&r);
    r = test_post_json(
        &s, "/v1/session", NULL,
        "{\"key\": \"lore_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}");
    CHECK_INT(r.status, 401);
    CHECK(!strstr(r.headers, "lore_session="));
    test_resp_free(&r);

    /* The admin signs in: the cookie's attributes and the token. */
    session adm;
    char sc[512];
    CHECK_INT(sign_in(&s, s.admin_key, &adm, sc, sizeof sc, NULL), 201);
    CHECK(strstr(sc, "HttpOnly") && strstr(sc, "SameSite=Strict") && strstr(sc, "Path=/"));
    CHECK(!strstr(sc, "Secure"));
    CHECK(strstr(sc, "Max-Age=1800") || strstr(sc, "Max-Age=1799"));
    /* Over a TLS proxy the cookie is Secure. */
    {
        const char *tls[] = {"X-Forwarded-Proto: https", NULL};
        char sc2[512];
        CHECK_INT(sign_in(&s, s.admin_key, NULL, sc2, sizeof sc2, tls), 201);
        CHECK(strstr(sc2, "; Secure") != NULL);
        /* ... and named __Host-lore_session, the only name taken over TLS:
         * a plain lore_session cookie there may have been planted by a
         * sibling subdomain. */
        CHECK(!strncmp(sc2, "__Host-lore_session=", 20));
        char host_cookie[160], plain_cookie[160];
        snprintf(host_cookie, sizeof host_cookie, "Cookie: __Host-lore_session=%.64s", sc2 + 20);
        snprintf(plain_cookie, sizeof plain_cookie, "Cookie: lore_session=%.64s", sc2 + 20);
        const char *good[] = {"X-Forwarded-Proto: https", host_cookie, NULL};
        const char *planted[] = {"X-Forwarded-Proto: https", plain_cookie, NULL};
        CHECK_INT(status_of(test_http(&s, "GET", "/v1/session", NULL, NULL, NULL, 0, good)), 200);
        CHECK_INT(status_of(test_http(&s, "GET", "/v1/session", NULL, NULL, NULL, 0, planted)),
                  401);
    }

    /* GET /v1/session tells who is signed in and hands back the token. */
    r = with(&s, &adm, 0, "GET", "/v1/session", NULL);
    CHECK_INT(r.status, 200);
    check_no_store(&r);
    CHECK(!strcmp(adm.csrf + 14, json_string_value(json_object_get(r.json, "csrf_token"))));
    CHECK(json_is_false(json_object_get(json_object_get(r.json, "features"), "semantic")));
    test_resp_free(&r);
    /* With a bearer key there is no token to give. */
    r = test_get(&s, "/v1/session", s.admin_key);
    CHECK_INT(r.status, 200);
    CHECK(json_is_null(json_object_get(r.json, "csrf_token")));
    test_resp_free(&r);

    /* Reads need no token; writes do. */
    CHECK_INT(status_of(with(&s, &adm, 0, "GET", "/v1/documents", NULL)), 200);
    const char *doc = "{\"id\":\"w\",\"text\":\"written by the page\"}";
    r = with(&s, &adm, 0, "POST", "/v1/documents", doc);
    CHECK_INT(r.status, 403);
    CHECK_STR(test_problem_type(&r), "csrf");
    test_resp_free(&r);
    {
        session forged = adm;
        snprintf(forged.csrf, sizeof forged.csrf, "X-CSRF-Token: %064d", 0);
        CHECK_INT(status_of(with(&s, &forged, 1, "POST", "/v1/documents", doc)), 403);
        /* A cross-site form post: no JSON, no token: refused before the body. */
        const char *extra[2] = {adm.cookie, NULL};
        const char *form = "id=w&text=x";
        r = test_http(&s, "POST", "/v1/documents", NULL, "application/x-www-form-urlencoded", form,
                      strlen(form), extra);
        CHECK_INT(r.status, 403);
        test_resp_free(&r);
    }
    CHECK_INT(status_of(with(&s, &adm, 1, "POST", "/v1/documents", doc)), 202);
    csrf_every_route(&s, &adm);
    /* The answer holding a new key's secret is not cached. */
    r = with(&s, &adm, 1, "POST", "/v1/keys", "{\"scopes\":[\"read\"]}");
    CHECK_INT(r.status, 201);
    check_no_store(&r);
    test_resp_free(&r);
    /* A cookie that names no session, or a malformed one, is refused. */
    {
        session none = adm;
        snprintf(none.cookie, sizeof none.cookie, "Cookie: lore_session=%064d", 7);
        CHECK_INT(status_of(with(&s, &none, 0, "GET", "/v1/documents", NULL)), 401);
        snprintf(none.cookie, sizeof none.cookie, "Cookie: lore_session=<script>");
        CHECK_INT(status_of(with(&s, &none, 0, "GET", "/v1/documents", NULL)), 401);
    }

    /* A read key acting for user:alice: scopes and ACLs as with the key. */
    char kread[96];
    CHECK(!test_make_key(&s, s.admin_key, "[\"read\"]", "[\"user:alice\"]", kread, sizeof kread));
    session rd;
    CHECK_INT(sign_in(&s, kread, &rd, NULL, 0, NULL), 201);
    r = with(&s, &rd, 0, "GET", "/v1/search?q=zebra", NULL);
    CHECK_INT(r.status, 200);
    CHECK_INT(json_array_size(json_object_get(r.json, "hits")), 1);
    CHECK(r.body && !strstr(r.body, "secret"));
    test_resp_free(&r);
    CHECK_INT(status_of(with(&s, &rd, 0, "GET", sec_path, NULL)), 404);
    r = with(&s, &rd, 0, "GET", "/v1/keys", NULL);
    CHECK_INT(r.status, 403);
    CHECK_STR(test_problem_type(&r), "insufficient-scope");
    test_resp_free(&r);
    /* Revoked: the next request is refused and the cookie cleared. */
    char path[64];
    snprintf(path, sizeof path, "/v1/keys/%.12s", kread + 5);
    CHECK_INT(status_of(with(&s, &adm, 1, "DELETE", path, NULL)), 204);
    r = with(&s, &rd, 0, "GET", "/v1/session", NULL);
    CHECK_INT(r.status, 401);
    CHECK(test_resp_header(&r, "Set-Cookie", sc, sizeof sc) && strstr(sc, "Max-Age=0"));
    CHECK(r.body && strstr(r.body, "the session's API key was revoked"));
    test_resp_free(&r);
    /* ... and that session is gone: the next try is only "signed out". */
    r = with(&s, &rd, 0, "GET", "/v1/session", NULL);
    CHECK_INT(r.status, 401);
    CHECK(r.body && strstr(r.body, "expired or was signed out"));
    test_resp_free(&r);
    /* Signing in with a revoked key is refused. */
    CHECK_INT(sign_in(&s, kread, NULL, NULL, 0, NULL), 401);

    /* A key that expires takes its session with it. */
    {
        char body[256], when[40];
        time_t t = time(NULL) + 2;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
        snprintf(body, sizeof body, "{\"scopes\":[\"read\"],\"expires_at\":\"%s\"}", when);
        r = test_post_json(&s, "/v1/keys", s.admin_key, body);
        CHECK_INT(r.status, 201);
        char kexp[96];
        snprintf(kexp, sizeof kexp, "%s", json_string_value(json_object_get(r.json, "key")));
        test_resp_free(&r);
        session ex;
        CHECK_INT(sign_in(&s, kexp, &ex, sc, sizeof sc, NULL), 201);
        CHECK(strstr(sc, "Max-Age=1;") || strstr(sc, "Max-Age=2;") || strstr(sc, "Max-Age=3;"));
        CHECK_INT(status_of(with(&s, &ex, 0, "GET", "/v1/session", NULL)), 200);
        sleep(3);
        CHECK_INT(status_of(with(&s, &ex, 0, "GET", "/v1/session", NULL)), 401);
    }

    /* Signing in from a browser that holds a session replaces it: the old
     * one is deleted, and the sign-in answer is not cached. */
    {
        session again = {0};
        const char *extra[2] = {adm.cookie, NULL};
        char body[256];
        snprintf(body, sizeof body, "{\"key\": \"%s\"}", s.admin_key);
        r = test_http(&s, "POST", "/v1/session", NULL, "application/json", body, strlen(body),
                      extra);
        CHECK_INT(r.status, 201);
        check_no_store(&r);
        CHECK(test_resp_header(&r, "Set-Cookie", sc, sizeof sc));
        snprintf(again.sid, sizeof again.sid, "%.64s", sc + 13);
        snprintf(again.cookie, sizeof again.cookie, "Cookie: lore_session=%s", again.sid);
        test_resp_free(&r);
        CHECK(strcmp(again.sid, adm.sid));
        CHECK_INT(status_of(with(&s, &adm, 0, "GET", "/v1/session", NULL)), 401);
        CHECK_INT(status_of(with(&s, &again, 0, "GET", "/v1/session", NULL)), 200);
        adm = again; /* its token is fetched again below */
        r = with(&s, &adm, 0, "GET", "/v1/session", NULL);
        snprintf(adm.csrf, sizeof adm.csrf, "X-CSRF-Token: %s",
                 json_string_value(json_object_get(r.json, "csrf_token")));
        test_resp_free(&r);
    }

    /* Sign-ins are limited per key (session_signins_per_min = 1: a burst
     * of 10), so a key cannot fill the control database with sessions;
     * other keys sign in still. */
    {
        char kmany[96], kother[96];
        CHECK(!test_make_key(&s, s.admin_key, "[\"read\"]", NULL, kmany, sizeof kmany));
        CHECK(!test_make_key(&s, s.admin_key, "[\"read\"]", NULL, kother, sizeof kother));
        for (int i = 0; i < 10; i++)
            CHECK_INT(sign_in(&s, kmany, NULL, NULL, 0, NULL), 201);
        char body[256];
        snprintf(body, sizeof body, "{\"key\": \"%s\"}", kmany);
        r = test_http(&s, "POST", "/v1/session", NULL, "application/json", body, strlen(body),
                      NULL);
        CHECK_INT(r.status, 429);
        CHECK(!test_resp_header(&r, "Set-Cookie", sc, sizeof sc));
        CHECK(test_resp_header(&r, "Retry-After", sc, sizeof sc));
        CHECK(r.body && strstr(r.body, "too many sign-ins with this key"));
        test_resp_free(&r);
        CHECK_INT(sign_in(&s, kother, NULL, NULL, 0, NULL), 201);
    }

    /* Sign-out needs the token, deletes the session, clears the cookie. */
    CHECK_INT(status_of(with(&s, &adm, 0, "DELETE", "/v1/session", NULL)), 403);
    r = with(&s, &adm, 1, "DELETE", "/v1/session", NULL);
    CHECK_INT(r.status, 204);
    CHECK(test_resp_header(&r, "Set-Cookie", sc, sizeof sc) && strstr(sc, "Max-Age=0"));
    test_resp_free(&r);
    CHECK_INT(status_of(with(&s, &adm, 0, "GET", "/v1/documents", NULL)), 401);

    /* The control database holds hashes of session ids, never an id. */
    CHECK_INT(test_server_stop(&s, SIGTERM), 0);
    const char *files[] = {"control.db", "control.db-wal"};
    for (size_t i = 0; i < 2; i++) {
        char p[700];
        snprintf(p, sizeof p, "%s/%s", s.dir, files[i]);
        FILE *f = fopen(p, "rb");
        if (!f) continue;
        static char buf[1 << 22];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        CHECK(memmem(buf, n, adm.sid, 64) == NULL);
        CHECK(memmem(buf, n, rd.sid, 64) == NULL);
    }
    test_rmtree(s.dir);
    curl_global_cleanup();
    return test_summary();
}
