/* Browser sessions: an API key exchanged for a cookie, so the web page
 * (src/web/) never keeps the key in the browser's storage.
 *
 *   POST /v1/session    {"key": "lore_..."} -> Set-Cookie lore_session (HttpOnly,
 *                       SameSite=Strict, Path=/; over TLS Secure and named
 *                       __Host-lore_session) and {"csrf_token": ...}
 *   GET /v1/session     who the session (or key) is, its CSRF token, and what
 *                       the server offers (semantic search)
 *   DELETE /v1/session  signs out: the session is deleted server-side
 *
 * The session id is 32 random bytes (64 hex digits); the control database
 * keeps only its SHA-256 (sessions table, store.h), so neither a backup nor
 * a read of the database can sign anyone in. Sessions live in the control
 * database rather than in this process so that every node sharing a store
 * honours them and a sign-out or revocation ends them everywhere.
 *
 * A request carrying the cookie (and no Authorization header) is checked
 * like a bearer key (api.c authenticate): the session must exist and not be
 * expired (session_ttl_minutes after sign-in, never past the key's own
 * expiry), and its key must still be live, looked up on every request, so a
 * revoked key ends its sessions at their next request (the row is deleted
 * then, after telling the browser why; rows never used again go with the
 * sweep of expired sessions at each sign-in). Every method other than
 * GET and HEAD must also carry X-CSRF-Token: the hex SHA-256 of a fixed
 * label and the session id, which a page can only learn from POST or GET
 * /v1/session (same-origin JSON); without it the answer is 403.
 *
 * Sign-ins are limited per key (session_signins_per_min, signin_allowed),
 * which bounds the rows a key's holder can make; a sign-in from a browser
 * that holds a session deletes that one. */
#include "api/api_int.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "crypto/sha256.h"
#include "util/timeutil.h"

#define SESSION_COOKIE "lore_session"
#define SESSION_ID_HEX 64
#define CSRF_HEADER "X-CSRF-Token"

static void sha_hex(const char *label, const char *sid, char out[65]) {
    uint8_t d[32];
    lore_sha256_ctx *c = lore_sha256_new();
    if (!c) { /* out of memory: a value no session or header can match */
        memset(out, 'x', 64);
        out[64] = '\0';
        return;
    }
    lore_sha256_update(c, label, strlen(label));
    lore_sha256_update(c, sid, strlen(sid));
    lore_sha256_final(c, d);
    lore_hex(d, sizeof d, out);
}

/* Secure when the browser reached the server over TLS: a TLS proxy in
 * front (X-Forwarded-Proto) or a public_url that says https. */
static int over_tls(api_req *q) {
    const char *fp = http_header(q->r, "X-Forwarded-Proto");
    return (fp && !strcasecmp(fp, "https")) || !strncmp(q->a->cfg.public_url, "https://", 8);
}

/* The cookie's name. Over TLS it carries the __Host- prefix: a browser
 * takes such a cookie only from this very host, Secure, Path=/ and without
 * Domain, so a sibling subdomain (or a plain-http response on the same
 * name) cannot plant a session of its own choosing for this server (a
 * planted cookie with a longer Path would be sent first and sign the
 * victim into the attacker's tenant, CSRF token included, since GET
 * /v1/session derives it from the cookie). Plain http has no such
 * guarantee to give. */
static const char *cookie_name(api_req *q) {
    return over_tls(q) ? "__Host-" SESSION_COOKIE : SESSION_COOKIE;
}

/* The session id of the request's cookie into sid, or 0 when there is no
 * well-formed one. */
static int cookie_sid(api_req *q, char sid[SESSION_ID_HEX + 1]) {
    const char *h = http_header(q->r, "Cookie");
    const char *name = cookie_name(q);
    const size_t nl = strlen(name);
    for (const char *p = h; p && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == nl + 1 + SESSION_ID_HEX && !strncmp(p, name, nl) && p[nl] == '=') {
            memcpy(sid, p + nl + 1, SESSION_ID_HEX);
            sid[SESSION_ID_HEX] = '\0';
            for (size_t i = 0; i < SESSION_ID_HEX; i++)
                if (!((sid[i] >= '0' && sid[i] <= '9') || (sid[i] >= 'a' && sid[i] <= 'f')))
                    return 0;
            return 1;
        }
        p = end;
    }
    return 0;
}

static void set_cookie(api_req *q, const char *sid, int64_t max_age_s) {
    char v[256];
    snprintf(v, sizeof v, "%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s",
             cookie_name(q), sid, (long long)max_age_s, over_tls(q) ? "; Secure" : "");
    http_add_header(q->r, "Set-Cookie", v);
}

static void clear_cookie(api_req *q) {
    set_cookie(q, "", 0);
}

static void session_refused(api_req *q, const char *detail) {
    clear_cookie(q);
    metrics_add(q->a->m_auth_failures, NULL, 1);
    api_problem(q, 401, "unauthorized", "Authentication required", "%s", detail);
}

int api_session_auth(api_req *q, store_key **out) {
    *out = NULL;
    char sid[SESSION_ID_HEX + 1];
    if (q->mount || !cookie_sid(q, sid)) return 0;
    char hash[65];
    sha_hex("", sid, hash);
    store_session se;
    int64_t now = lore_now_ms();
    lore_status st = store_session_get(q->th->control, hash, &se);
    if (st != LORE_OK && st != LORE_NOT_FOUND) {
        api_problem(q, 503, "unavailable", "Service unavailable",
                    "the session store could not be read; try again");
        return -1;
    }
    if (st == LORE_NOT_FOUND || now >= se.expires_ms) {
        if (st == LORE_OK && store_session_delete(q->th->control, hash) != LORE_OK) {
            /* swept at the next sign-in */
        }
        session_refused(q, "the session has expired or was signed out; sign in again");
        return -1;
    }
    store_key *k = NULL;
    st = store_key_get(q->th->control, se.key_id, &k);
    if (st != LORE_OK && st != LORE_NOT_FOUND) {
        api_problem(q, 503, "unavailable", "Service unavailable",
                    "the key store could not be read; try again");
        return -1;
    }
    if (st == LORE_NOT_FOUND || k->revoked_ms || (k->expires_ms && now >= k->expires_ms) ||
        strcmp(k->tenant, se.tenant)) {
        const char *why = !k              ? "the session's API key no longer exists"
                          : k->revoked_ms ? "the session's API key was revoked"
                          : k->expires_ms && now >= k->expires_ms ? "the session's API key expired"
                                                                  : "the session is not valid";
        store_key_free(k);
        if (store_session_delete(q->th->control, hash) != LORE_OK) {
            /* the key check refuses it again next time */
        }
        session_refused(q, why);
        return -1;
    }
    const char *m = http_method(q->r);
    if (strcmp(m, "GET") && strcmp(m, "HEAD")) {
        char want[65];
        sha_hex("lore-csrf:", sid, want);
        const char *got = http_header(q->r, CSRF_HEADER);
        if (!got || strlen(got) != 64 || CRYPTO_memcmp(got, want, 64)) {
            store_key_free(k);
            api_problem(q, 403, "csrf", "Cross-site request refused",
                        "a request authenticated by the session cookie must carry the "
                        "session's " CSRF_HEADER " header (from GET /v1/session)");
            return -1;
        }
    }
    *out = k;
    return 1;
}

static json_t *scopes_json(unsigned bits) {
    static const char *const names[] = {"read", "write", "admin", "server"};
    json_t *a = json_array();
    for (unsigned i = 0; i < 4; i++)
        if (bits & (1u << i)) json_array_append_new(a, json_string(names[i]));
    return a;
}

/* The body of POST and GET: who is signed in, the CSRF token (NULL for a
 * bearer key, which needs none) and what the server offers. */
static json_t *session_json(api_req *q, const store_key *k, const char *csrf, int64_t expires) {
    json_t *o = json_object(), *p = json_array();
    json_object_set_new(o, "tenant", json_string(k->tenant));
    json_object_set_new(o, "key_id", json_string(k->id));
    json_object_set_new(o, "key_name", k->name ? json_string(k->name) : json_null());
    json_object_set_new(o, "scopes", scopes_json(k->scopes));
    for (size_t i = 0; i < k->nprincipals; i++)
        json_array_append_new(p, json_string(k->principals[i]));
    json_object_set_new(o, "principals", p);
    json_object_set_new(o, "csrf_token", csrf ? json_string(csrf) : json_null());
    json_object_set_new(o, "expires_at", api_time(expires));
    json_t *f = json_object();
    json_object_set_new(f, "semantic", json_boolean(q->a->tenant_settings.embedders != NULL));
    json_object_set_new(f, "public_url", json_string(q->a->cfg.public_url));
    json_object_set_new(o, "features", f);
    return o;
}

/* Each session is a row of the control database, so a key's holder (any
 * scope) must not be able to make them without end: sign-ins are limited
 * per key, session_signins_per_min after a burst of ten times as many, in
 * the shared limiter (every node counts the same sign-ins). A key's live
 * sessions are so bounded by about session_signins_per_min times (10 +
 * session_ttl_minutes), 730 by default, however many addresses sign in
 * with it. Only a verified key is charged: guessing cannot lock out its
 * owner. 1 when it may go on; else answered 429. */
static int signin_allowed(api_req *q, const store_key *k) {
    uint32_t per = (uint32_t)q->a->cfg.session_signins_per_min;
    if (!per) return 1;
    ratelimit_rule rule = {per, per * 10};
    ratelimit_decision d;
    char bucket[64];
    snprintf(bucket, sizeof bucket, "signin:%s", k->id);
    if (q->a->rl->take(q->a->rl_state, bucket, strlen(bucket), &rule, lore_now_ms(), &d) !=
            LORE_OK ||
        d.allowed)
        return 1; /* the limiter failing must not stop sign-ins */
    char v[16];
    snprintf(v, sizeof v, "%u", d.retry_after_s ? d.retry_after_s : 1);
    http_add_header(q->r, "Retry-After", v);
    metrics_add(q->a->m_rate_limited, NULL, 1);
    api_problem(q, 429, "rate-limited", "Too many requests",
                "too many sign-ins with this key (session_signins_per_min is %u); retry after "
                "%s s",
                per, v);
    return 0;
}

void api_session_post(api_req *q) {
    json_t *body = api_json_body(q);
    if (!body) return;
    json_t *kv = json_object_get(body, "key");
    if (!json_is_object(body) || json_object_size(body) != 1 || !json_is_string(kv)) {
        api_bad_field(q, json_is_object(body) ? "/key" : "",
                      "the body is {\"key\": \"lore_...\"} and nothing else");
        json_decref(body);
        return;
    }
    store_key *k = NULL;
    int64_t now = lore_now_ms();
    auth_result ar =
        apikey_verify(q->th->control, json_string_value(kv), json_string_length(kv), now, &k);
    json_decref(body);
    if (ar == AUTH_ERROR) {
        api_problem(q, 503, "unavailable", "Service unavailable",
                    "the key store could not be read; try again");
        return;
    }
    if (ar != AUTH_OK) {
        metrics_add(q->a->m_auth_failures, NULL, 1);
        api_problem(q, 401, "unauthorized", "Authentication required", "sign-in refused: %s",
                    auth_result_message(ar));
        return;
    }
    if (!signin_allowed(q, k)) {
        store_key_free(k);
        return;
    }
    uint8_t rnd[32];
    char sid[SESSION_ID_HEX + 1], csrf[65];
    store_session se = {0};
    /* A new sign-in replaces the browser's session, if it holds one: the
     * old id is never reused, and its row does not wait for its expiry. */
    if (cookie_sid(q, sid)) {
        sha_hex("", sid, se.hash);
        lore_status ds = store_session_delete(q->th->control, se.hash);
        if (ds != LORE_OK && ds != LORE_NOT_FOUND) {
            /* it expires on its own and is swept then */
        }
    }
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        store_key_free(k);
        api_internal(q, "drawing a session id", LORE_INTERNAL);
        return;
    }
    lore_hex(rnd, sizeof rnd, sid);
    sha_hex("", sid, se.hash);
    sha_hex("lore-csrf:", sid, csrf);
    memcpy(se.key_id, k->id, sizeof se.key_id);
    snprintf(se.tenant, sizeof se.tenant, "%s", k->tenant);
    se.created_ms = now;
    se.expires_ms = now + q->a->cfg.session_ttl_minutes * 60000;
    if (k->expires_ms && k->expires_ms < se.expires_ms) se.expires_ms = k->expires_ms;
    lore_status st = store_session_put(q->th->control, &se);
    if (st != LORE_OK) {
        store_key_free(k);
        api_internal(q, "storing the session", st);
        return;
    }
    set_cookie(q, sid, (se.expires_ms - now + 999) / 1000);
    q->tenant_name = q->tenant_buf;
    snprintf(q->tenant_buf, sizeof q->tenant_buf, "%s", k->tenant);
    api_json(q, 201, session_json(q, k, csrf, se.expires_ms));
    store_key_free(k);
}

void api_session_get(api_req *q) {
    char sid[SESSION_ID_HEX + 1], csrf[65];
    int by_cookie = !http_header(q->r, "Authorization") && cookie_sid(q, sid);
    int64_t expires = q->key->expires_ms;
    if (by_cookie) {
        char hash[65];
        store_session se;
        sha_hex("", sid, hash);
        sha_hex("lore-csrf:", sid, csrf);
        if (store_session_get(q->th->control, hash, &se) == LORE_OK) expires = se.expires_ms;
    }
    api_json(q, 200, session_json(q, q->key, by_cookie ? csrf : NULL, expires));
}

void api_session_delete(api_req *q) {
    char sid[SESSION_ID_HEX + 1];
    if (!http_header(q->r, "Authorization") && cookie_sid(q, sid)) {
        char hash[65];
        sha_hex("", sid, hash);
        lore_status st = store_session_delete(q->th->control, hash);
        if (st != LORE_OK && st != LORE_NOT_FOUND) {
            api_internal(q, "deleting the session", st);
            return;
        }
    }
    clear_cookie(q);
    http_respond(q->r, 204, NULL, NULL, 0);
}
