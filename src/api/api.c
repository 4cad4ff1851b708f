/* The REST API as an HTTP application: routing, authentication, scopes,
 * rate limits, body rules, per-thread store handles, the access log and the
 * request metrics. The handlers themselves live in api_<area>.c.
 *
 * Order of checks for a request (each failure answers at once):
 *   1. route: 404 unknown path, 405 (with Allow) known path, other method;
 *   2. rate limit by client address for routes without a key;
 *   3. key: 401 missing/malformed/unknown/revoked/expired (a failed attempt
 *      also spends the address's unauthenticated budget, which slows down
 *      key guessing); 403 when the key lacks the route's scope;
 *   4. rate limit by key, with the budget of the route's scope;
 *   5. body: 415 wrong Content-Type, 413 over the cap (the server enforces
 *      the cap while the body arrives).
 * Webhook deliveries (ACCESS_HOOK) skip 2 to 4: their body is buffered raw
 * up to hook_max_body_kb and api_hooks.c checks the signature and the
 * connector's rate limit itself.
 * Only then does the handler run. */
#include "api/api_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "embed/embed_registry.h"
#include "ingest/ingest_embed.h"
#include "util/dirutil.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "web/web.h"

/* ---- per-thread resources ---- */

/* The cache's user data: closed before the context it reads. */
static void tenant_free(void *user) {
    api_tenant *t = user;
    search_engine_free(t->search);
    free(t);
}

static void thread_free(void *p) {
    api_thread *th = p;
    if (!th) return;
    tenant_cache_clear(&th->tenants);
    store_close(th->control);
    free(th);
}

api_thread *api_thread_get(api *a) {
    api_thread *th = pthread_getspecific(a->thread_key);
    if (th) return th;
    if (!(th = calloc(1, sizeof *th))) return NULL;
    th->a = a;
    tenant_cache_init(&th->tenants, API_TENANTS_PER_THREAD, &a->tenant_settings, tenant_free);
    char err[512];
    if (store_open(a->cfg.store_url, STORE_OPEN_CREATE, &th->control, err, sizeof err) != LORE_OK) {
        LORE_ERROR("api: cannot open the store: %s", err);
        free(th);
        return NULL;
    }
    th->gen = atomic_load(&a->tenant_gen);
    if (pthread_setspecific(a->thread_key, th)) {
        thread_free(th);
        return NULL;
    }
    return th;
}

void api_tenant_forget(api_thread *th, const char *name) {
    tenant_cache_forget(&th->tenants, name);
}

api_tenant *api_tenant_get(api_req *q) {
    api_thread *th = q->th;
    api *a = q->a;
    uint64_t gen = atomic_load(&a->tenant_gen);
    if (gen != th->gen) {
        /* A tenant was deleted (or created again) since: handles to it would
         * point at removed files. Cheap to rebuild, rare to happen. */
        tenant_cache_clear(&th->tenants);
        th->gen = gen;
    }
    /* Another process (a node on the same store, the CLI) may have deleted
     * the tenant and created it again since this thread opened it, which
     * tenant_gen cannot tell: the tenant's creation time, read on every
     * request, reopens it then, as the job workers do (tenant_get in
     * ingest/ingest_jobs.c). A key brings it from its own lookup; a JWT or
     * a webhook costs one more read of the control store. */
    tenant_cache_entry *e = NULL;
    int64_t created = 0;
    lore_status st = LORE_OK;
    if (q->key && !strcmp(q->key->tenant, q->tenant_name)) created = q->key->tenant_created_ms;
    if (!created) st = store_tenant_created(th->control, q->tenant_name, &created);
    if (st == LORE_OK)
        st = tenant_cache_get(&th->tenants, th->control, q->tenant_name, created, &e);
    if (st == LORE_OK && !e->user) {
        api_tenant *t = calloc(1, sizeof *t);
        if (!t) {
            st = LORE_NOMEM;
        } else {
            t->ctx = e->ctx;
            t->t = e->ctx->store;
            e->user = t;
            st = search_engine_new(e->ctx, &t->search);
        }
        if (st != LORE_OK) tenant_cache_drop(&th->tenants, e);
    }
    if (st != LORE_OK) {
        if (st == LORE_NOT_FOUND)
            api_not_found(q, "tenant");
        else
            api_internal(q, "opening the tenant", st);
        return NULL;
    }
    return e->user;
}

/* ---- rate limits ---- */

int api_rate_check(api_req *q, const char *bucket, uint32_t per_minute) {
    if (!per_minute) return 1;
    ratelimit_rule rule = {per_minute, per_minute / 6 > 10 ? per_minute / 6 : 10};
    ratelimit_decision d;
    if (q->a->rl->take(q->a->rl_state, bucket, strlen(bucket), &rule, lore_now_ms(), &d) != LORE_OK)
        return 1; /* the limiter failing must not take the API down */
    char v[32];
    snprintf(v, sizeof v, "%u", d.limit);
    http_add_header(q->r, "RateLimit-Limit", v);
    snprintf(v, sizeof v, "%u", d.remaining);
    http_add_header(q->r, "RateLimit-Remaining", v);
    snprintf(v, sizeof v, "%u", d.reset_s);
    http_add_header(q->r, "RateLimit-Reset", v);
    if (d.allowed) return 1;
    snprintf(v, sizeof v, "%u", d.retry_after_s ? d.retry_after_s : 1);
    http_add_header(q->r, "Retry-After", v);
    metrics_add(q->a->m_rate_limited, NULL, 1);
    api_problem(q, 429, "rate-limited", "Too many requests",
                "rate limit of %u requests per minute reached; retry after %s s", per_minute, v);
    return 0;
}

static int rate_anon(api_req *q) {
    char bucket[96];
    snprintf(bucket, sizeof bucket, "ip:%s", http_client_ip(q->r));
    return api_rate_check(q, bucket, (uint32_t)q->a->cfg.rate_anon_per_min);
}

/* ---- authentication ---- */

static void unauthorized(api_req *q, const char *error, const char *detail) {
    char challenge[768];
    int n = snprintf(challenge, sizeof challenge, "Bearer realm=\"lore\"");
    if (error[0])
        n += snprintf(challenge + n, sizeof challenge - (size_t)n, ", error=\"%s\"", error);
    if (q->mount && q->mount->challenge)
        snprintf(challenge + n, sizeof challenge - (size_t)n, ", %s", q->mount->challenge);
    http_add_header(q->r, "WWW-Authenticate", challenge);
    metrics_add(q->a->m_auth_failures, NULL, 1);
    if (!rate_anon(q)) return;
    api_problem(q, 401, "unauthorized", "Authentication required", "%s", detail);
}

static unsigned scope_needed(api_access acc) {
    switch (acc) {
    case ACCESS_READ:
        return AUTH_SCOPE_READ;
    case ACCESS_WRITE:
        return AUTH_SCOPE_WRITE;
    case ACCESS_ADMIN:
        return AUTH_SCOPE_ADMIN;
    case ACCESS_SERVER:
        return AUTH_SCOPE_SERVER;
    default:
        return 0;
    }
}

static uint32_t scope_rate(const api *a, api_access acc) {
    switch (acc) {
    case ACCESS_READ:
    case ACCESS_ANY:
        return (uint32_t)a->cfg.rate_read_per_min;
    case ACCESS_WRITE:
        return (uint32_t)a->cfg.rate_write_per_min;
    default:
        return (uint32_t)a->cfg.rate_admin_per_min;
    }
}

static int insufficient_scope(api_req *q, unsigned need, unsigned have_bits) {
    char have[64];
    auth_scopes_format(have_bits, have, sizeof have);
    char needs[32];
    auth_scopes_format(need, needs, sizeof needs);
    char challenge[768];
    int n = snprintf(challenge, sizeof challenge,
                     "Bearer realm=\"lore\", error=\"insufficient_scope\", scope=\"%s\"", needs);
    if (q->mount && q->mount->challenge && !strstr(q->mount->challenge, "scope="))
        snprintf(challenge + n, sizeof challenge - (size_t)n, ", %s", q->mount->challenge);
    http_add_header(q->r, "WWW-Authenticate", challenge);
    api_problem(q, 403, "insufficient-scope", "Insufficient scope",
                "this route needs scope '%s'; the %s has '%s'", needs, q->key ? "key" : "token",
                have);
    return 0;
}

/* A JWT access token on a mount that takes them. */
static int authenticate_jwt(api_req *q, api_access acc, const char *tok) {
    jwt_result jr = jwt_verify(q->a->jwt, tok, strlen(tok), lore_now_ms(), &q->claims);
    if (jr == JWT_JWKS_UNAVAILABLE || jr == JWT_INTERNAL) {
        LORE_WARN("api: cannot verify a token: %s", jwt_result_message(jr));
        http_add_header(q->r, "Retry-After", "5");
        api_problem(q, 503, "unavailable", "Service unavailable",
                    "the token could not be verified now (%s); try again", jwt_result_name(jr));
        return 0;
    }
    if (jr == JWT_INSUFFICIENT_SCOPE) {
        /* Name the scope the token must carry and where to learn about it
         * (the mount's challenge: resource_metadata and scope), so a client
         * can ask its authorization server for exactly that. */
        char challenge[768];
        snprintf(challenge, sizeof challenge,
                 "Bearer realm=\"lore\", error=\"insufficient_scope\"%s%s",
                 q->mount->challenge ? ", " : "", q->mount->challenge ? q->mount->challenge : "");
        http_add_header(q->r, "WWW-Authenticate", challenge);
        api_problem(q, 403, "insufficient-scope", "Insufficient scope",
                    "the token lacks the scope this endpoint needs (%s)", jwt_result_name(jr));
        return 0;
    }
    if (jr != JWT_OK) {
        char detail[160];
        snprintf(detail, sizeof detail, "the token was refused: %s", jwt_result_message(jr));
        unauthorized(q, "invalid_token", detail);
        return 0;
    }
    q->tenant_name = q->a->jwt_tenant;
    /* The verifier checked the configured scope: it stands for read. */
    if (q->a->jwt_grants_read) q->claims.scopes |= AUTH_SCOPE_READ;
    unsigned need = scope_needed(acc);
    if ((q->claims.scopes & need) != need) return insufficient_scope(q, need, q->claims.scopes);
    q->viewer.all_access = 0; /* a token never sees past its principals */
    q->viewer.principals = (const char *const *)q->claims.principals;
    q->viewer.nprincipals = q->claims.nprincipals;
    static const char *const budget[] = {[ACCESS_READ] = "read",
                                         [ACCESS_WRITE] = "write",
                                         [ACCESS_ADMIN] = "admin",
                                         [ACCESS_SERVER] = "admin"};
    char bucket[160];
    snprintf(bucket, sizeof bucket, "jwt:%.120s:%s", q->claims.subject, budget[acc]);
    return api_rate_check(q, bucket, scope_rate(q->a, acc));
}

static int authorize_key(api_req *q, api_access acc, store_key *k);

/* Returns 1 when the caller may go on. A browser's session cookie stands
 * for its key (api_session.c); from there on both go the same way. */
static int authenticate(api_req *q, api_access acc) {
    const char *h = http_header(q->r, "Authorization");
    store_key *k = NULL;
    if (!h) {
        int by_session = api_session_auth(q, &k);
        if (by_session < 0) return 0;
        if (by_session > 0) return authorize_key(q, acc, k);
        unauthorized(q, "", "this route needs an API key: Authorization: Bearer lore_...");
        return 0;
    }
    if (strncasecmp(h, "Bearer ", 7)) {
        unauthorized(q, "invalid_request", "the Authorization header must be 'Bearer <key>'");
        return 0;
    }
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    if (q->mount && q->mount->jwt && q->a->jwt && jwt_looks_like(tok))
        return authenticate_jwt(q, acc, tok);
    auth_result ar = apikey_verify(q->th->control, tok, strlen(tok), lore_now_ms(), &k);
    if (ar == AUTH_ERROR) {
        api_problem(q, 503, "unavailable", "Service unavailable",
                    "the key store could not be read; try again");
        return 0;
    }
    if (ar != AUTH_OK) {
        unauthorized(q, "invalid_token", auth_result_message(ar));
        return 0;
    }
    return authorize_key(q, acc, k);
}

/* A live key (owned, kept on q): its scopes, viewer and rate budget. */
static int authorize_key(api_req *q, api_access acc, store_key *k) {
    q->key = k;
    q->tenant_name = k->tenant;
    unsigned need = scope_needed(acc);
    if ((k->scopes & need) != need) return insufficient_scope(q, need, k->scopes);
    /* Tenant administrators see every document of their tenant; other keys
     * see what their principals may. */
    q->viewer.all_access = (k->scopes & (AUTH_SCOPE_ADMIN | AUTH_SCOPE_SERVER)) != 0;
    q->viewer.principals = (const char *const *)k->principals;
    q->viewer.nprincipals = k->nprincipals;
    /* One bucket per key and budget: reads must not spend the write budget
     * (nor refill it at the read rate). */
    static const char *const budget[] = {[ACCESS_READ] = "read",
                                         [ACCESS_WRITE] = "write",
                                         [ACCESS_ADMIN] = "admin",
                                         [ACCESS_SERVER] = "admin",
                                         [ACCESS_ANY] = "read"};
    char bucket[64];
    snprintf(bucket, sizeof bucket, "key:%s:%s", k->id, budget[acc]);
    return api_rate_check(q, bucket, scope_rate(q->a, acc));
}

/* ---- the HTTP application ---- */

static int content_type_is(const http_request *r, const char *want) {
    const char *ct = http_header(r, "Content-Type");
    if (!ct) return 0;
    size_t n = strlen(want);
    return !strncasecmp(ct, want, n) && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static int take_json_body(api_req *q, size_t cap) {
    if (!content_type_is(q->r, "application/json")) {
        api_problem(q, 415, "unsupported-media-type", "Unsupported media type",
                    "send the body as Content-Type: application/json");
        return 0;
    }
    http_body_buffer(q->r, cap);
    return 1;
}

static api_access mount_access(const api_mount *mt) {
    if (mt->scope & (AUTH_SCOPE_ADMIN | AUTH_SCOPE_SERVER)) return ACCESS_ADMIN;
    return mt->scope & AUTH_SCOPE_WRITE ? ACCESS_WRITE : ACCESS_READ;
}

static void begin_mount(api_req *q) {
    const api_mount *mt = &q->a->mounts[q->m.route->id - API_MOUNT_ID];
    q->mount = mt;
    q->route_label = mt->path;
    if (mt->precheck && !mt->precheck(mt->ctx, q->r)) return;
    if (mt->open ? !rate_anon(q) : !authenticate(q, mount_access(mt))) return;
    if (mt->body_cap) take_json_body(q, mt->body_cap);
}

/* Webhook bodies come from anyone (the signature is checked once the body
 * is in), each up to hook_max_body_kb: without a cap on their sum, many
 * slow deliveries would hold the server's memory. A delivery reserves its
 * Content-Length (the whole cap when it gives none) before its body is
 * read, and gives it back in app_done; past hook_inflight_mb it is answered
 * 503 with Retry-After, the same for every connector id. 1 when it may go
 * on. */
static int hook_reserve(api_req *q) {
    api *a = q->a;
    uint64_t budget = (uint64_t)a->cfg.hook_inflight_mb << 20;
    uint64_t want = (uint64_t)a->cfg.hook_max_body_kb * 1024;
    const char *cl = http_header(q->r, "Content-Length");
    if (cl && *cl >= '0' && *cl <= '9') {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (!*end && !errno && n < want) want = n ? n : 1;
    }
    if (!budget) return 1;
    uint64_t before = atomic_fetch_add(&a->hook_inflight, want);
    if (before + want <= budget) {
        q->hook_reserved = want;
        return 1;
    }
    a->hook_inflight -= want;
    LORE_WARN("hook: refused a delivery: webhook bodies in flight are at hook_inflight_mb (%lld "
              "MiB)",
              (long long)a->cfg.hook_inflight_mb);
    http_add_header(q->r, "Retry-After", "5");
    api_problem(q, 503, "server-busy", "Server busy",
                "too many webhook deliveries are being received at once; redeliver after 5 s");
    return 0;
}

static void app_begin(void *ctx, http_request *r) {
    api *a = ctx;
    api_req *q = calloc(1, sizeof *q);
    if (!q) {
        http_problem(r, 503, "out-of-memory", "Server out of memory", NULL, NULL);
        return;
    }
    q->a = a;
    q->r = r;
    q->route_label = "unmatched";
    http_set_data(r, q);
    if (web_owns(http_path(r))) { /* the web page (src/web/): no key, no store */
        q->route_label = web_serve(r);
        return;
    }
    if (!(q->th = api_thread_get(a))) {
        api_problem(q, 503, "unavailable", "Service unavailable", "the store cannot be opened");
        return;
    }
    int status = http_route_match(a->routes, a->nroutes, http_method(r), http_path(r), &q->m);
    if (status == 404) {
        api_problem(q, 404, "not-found", "Not found", "no route for %s", http_path(r));
        return;
    }
    if (status == 405) {
        http_add_header(r, "Allow", q->m.allow);
        api_problem(q, 405, "method-not-allowed", "Method not allowed",
                    "%s is not allowed here; allowed: %s", http_method(r), q->m.allow);
        return;
    }
    if (q->m.route->id >= API_MOUNT_ID) {
        begin_mount(q);
        return;
    }
    const api_route_def *def = &api_route_table[q->m.route->id];
    q->def = def;
    q->route_label = def->route.pattern;
    if (def->access == ACCESS_PUBLIC && !rate_anon(q)) return;
    api_access access = def->access;
    /* /metrics names tenants in its labels: a server key when not public. */
    if (def->handle == api_metrics_get && !a->cfg.metrics_public) access = ACCESS_SERVER;
    if (access >= ACCESS_READ && !authenticate(q, access)) return;
    if (def->body == BODY_JSON_OPTIONAL && !http_header(r, "Content-Type") &&
        http_content_length(r) <= 0) {
        /* no body: the route's defaults */
    } else if (def->body == BODY_JSON || def->body == BODY_JSON_OPTIONAL) {
        take_json_body(q, (size_t)a->cfg.max_body_kb * 1024);
    } else if (def->body == BODY_RAW) {
        if (!hook_reserve(q)) return;
        http_body_buffer(r, (size_t)a->cfg.hook_max_body_kb * 1024);
    } else if (def->body == BODY_MULTIPART) {
        if (!content_type_is(r, "multipart/form-data")) {
            api_problem(q, 415, "unsupported-media-type", "Unsupported media type",
                        "upload files as Content-Type: multipart/form-data");
            return;
        }
        def->begin_stream(q);
    }
}

static void handle_mount(api_req *q) {
    const api_mount *mt = q->mount;
    if (mt->open) {
        mt->handle(mt->ctx, q->r, NULL);
        return;
    }
    pthread_rwlock_rdlock(&q->a->tenants_lock);
    api_tenant *t = api_tenant_get(q);
    if (t) {
        char subject[160];
        if (q->key)
            snprintf(subject, sizeof subject, "lore_%s", q->key->id);
        else
            snprintf(subject, sizeof subject, "jwt:%.120s", q->claims.subject);
        search_scope sc = {q->tenant_name, t->t, t->search, q->viewer, subject};
        mt->handle(mt->ctx, q->r, &sc);
    }
    pthread_rwlock_unlock(&q->a->tenants_lock);
}

static void app_handle(void *ctx, http_request *r) {
    (void)ctx;
    api_req *q = http_data(r);
    if (q && q->mount) {
        handle_mount(q);
        return;
    }
    if (!q || !q->def) return;
    /* Server routes (tenant admin) take the lock themselves, for writing. */
    int lock = q->tenant_name && q->def->access != ACCESS_SERVER && q->def->access >= ACCESS_READ;
    if (lock) pthread_rwlock_rdlock(&q->a->tenants_lock);
    q->def->handle(q);
    if (lock) pthread_rwlock_unlock(&q->a->tenants_lock);
}

/* Appends at most max bytes of s as a JSON string body (no quotes) to
 * out[*n, cap), escaping quotes, backslashes and control bytes. */
static void log_str(char *out, size_t *n, size_t cap, const char *s, size_t max) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; s[i] && i < max && *n + 7 < cap; i++) {
        const char *sp = s + i;
        unsigned char c = (unsigned char)*sp;
        if (c == '"' || c == '\\') {
            out[(*n)++] = '\\';
            out[(*n)++] = (char)c;
        } else if (c < 0x20) {
            memcpy(out + *n, "\\u00", 4);
            out[*n + 4] = hex[c >> 4];
            out[*n + 5] = hex[c & 15];
            *n += 6;
        } else {
            out[(*n)++] = (char)c;
        }
    }
}

/* One JSON line per request, written with a single write(2). Built by hand
 * rather than through jansson: with a tree, a dump and a locked stdio call
 * it cost 8 us a request, a third of a health probe's whole budget. The
 * values are lore's own (route patterns, tenant names, key ids, numbers) or
 * escaped and cut (method, request id, address), so the line always fits
 * the buffer and stays valid JSON. */
static void access_log(api_req *q, unsigned status, double ms) {
    char line[1024], ts[40];
    size_t n = 0, cap = sizeof line;
    lore_format_iso8601(lore_now_ms(), ts, sizeof ts);
    n += (size_t)snprintf(line, cap, "{\"time\":\"%s\",\"msg\":\"request\",\"request_id\":\"", ts);
    log_str(line, &n, cap, http_request_id(q->r), HTTP_REQUEST_ID_MAX);
    n += (size_t)snprintf(line + n, cap - n, "\",\"ip\":\"");
    log_str(line, &n, cap, http_client_ip(q->r), 64);
    n += (size_t)snprintf(line + n, cap - n, "\",\"method\":\"");
    log_str(line, &n, cap, http_method(q->r), 16); /* any token: bounded */
    n += (size_t)snprintf(line + n, cap - n, "\",\"route\":\"");
    log_str(line, &n, cap, q->route_label, 64);
    n += (size_t)snprintf(line + n, cap - n, "\"");
    if (q->tenant_name) {
        n += (size_t)snprintf(line + n, cap - n, ",\"tenant\":\"");
        log_str(line, &n, cap, q->tenant_name, STORE_NAME_MAX);
        n += (size_t)snprintf(line + n, cap - n, "\"");
    }
    if (q->key) n += (size_t)snprintf(line + n, cap - n, ",\"key\":\"lore_%s\"", q->key->id);
    if (q->claims.subject) {
        n += (size_t)snprintf(line + n, cap - n, ",\"subject\":\"");
        log_str(line, &n, cap, q->claims.subject, 128);
        n += (size_t)snprintf(line + n, cap - n, "\"");
    }
    if (n < cap)
        n += (size_t)snprintf(line + n, cap - n,
                              ",\"status\":%u,\"bytes\":%zu,\"latency_ms\":%.3f}\n", status,
                              http_response_bytes(q->r), ms);
    if (n >= cap) n = cap - 1;
    ssize_t w = write(2, line, n);
    (void)w; /* a log line lost to a full or closed stderr is not worth failing for */
}

static void app_done(void *ctx, http_request *r) {
    api *a = ctx;
    api_req *q = http_data(r);
    if (!q) return;
    unsigned status = http_status(r);
    double secs = (double)(lore_mono_ns() - http_started_ns(r)) / 1e9;
    char code[8];
    snprintf(code, sizeof code, "%u", status);
    /* Label values come from a closed set (routes, known methods), so a
     * client sending random paths or methods cannot grow the series. */
    static const char *const methods[] = {"GET",   "POST", "DELETE", "PUT",
                                          "PATCH", "HEAD", "OPTIONS"};
    const char *method = "other";
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (!strcmp(http_method(r), methods[i])) method = methods[i];
    const char *labels[3] = {q->route_label, method, code};
    metrics_add(a->m_requests, labels, 1);
    metrics_observe(a->m_latency, labels, secs);
    if (a->cfg.access_log) access_log(q, status, secs * 1000);
    if (q->def && q->def->access == ACCESS_HOOK) api_hook_done(q, status);
    if (q->hook_reserved) a->hook_inflight -= q->hook_reserved;
    if (q->def && q->def->cleanup) q->def->cleanup(q);
    store_key_free(q->key);
    jwt_claims_free(&q->claims);
    free(q);
    http_set_data(r, NULL);
}

void api_http_app(api *a, http_app *out) {
    out->ctx = a;
    out->begin = app_begin;
    out->handle = app_handle;
    out->done = app_done;
}

/* ---- metrics collected at scrape time ---- */

/* The embedding figures: the pending set per tenant (read from the stores,
 * shared with /health/ready), the provider's counts from this process's
 * embedder, and the embed jobs' failures by kind. */
static void collect_embed(api *a, api_thread *th) {
    ingest_embed_backlog *b = NULL;
    size_t n = 0;
    /* Reading the backlog opens every tenant: not while one is being deleted. */
    pthread_rwlock_rdlock(&a->tenants_lock);
    lore_status st = ingest_embed_backlog_all(th->control, 5000, &b, &n);
    pthread_rwlock_unlock(&a->tenants_lock);
    if (st == LORE_OK) {
        metrics_family_clear(a->m_embed_pending);
        metrics_family_clear(a->m_embed_oldest);
        int64_t now = lore_now_ms();
        for (size_t i = 0; i < n; i++) {
            const char *l[1] = {b[i].tenant};
            metrics_set(a->m_embed_pending, l, (double)b[i].count);
            metrics_set(a->m_embed_oldest, l,
                        b[i].oldest_ms ? (double)(now - b[i].oldest_ms) / 1000.0 : 0.0);
        }
        free(b);
    }
    ingest_embed_counters c;
    ingest_embed_counters_get(&c);
    const char *kr[1] = {"retryable"}, *kp[1] = {"permanent"};
    metrics_set(a->m_embed_errors, kr, (double)c.errors_retryable);
    metrics_set(a->m_embed_errors, kp, (double)c.errors_permanent);
    embed_registry *r = a->tenant_settings.embedders;
    if (!r) return;
    embedder *e = embed_registry_configured(r);
    embed_health h;
    e->ops->health(e, &h);
    metrics_set(a->m_embed_requests, NULL, (double)h.requests);
    metrics_set(a->m_embed_seconds_sum, NULL, (double)h.latency_ms_sum / 1000.0);
    metrics_set(a->m_embed_seconds_count, NULL, (double)h.ok_requests);
    metrics_set(a->m_embed_tokens, NULL, (double)h.prompt_tokens);
}

static void collect(void *ctx) {
    api *a = ctx;
    api_thread *th = api_thread_get(a);
    if (!th) return;
    store_tenant_info *ts = NULL;
    size_t n = 0;
    /* Counting opens every tenant: not while one is being deleted. */
    pthread_rwlock_rdlock(&a->tenants_lock);
    lore_status st = store_tenant_list(th->control, &ts, &n);
    pthread_rwlock_unlock(&a->tenants_lock);
    if (st != LORE_OK) return;
    metrics_family_clear(a->m_docs);
    metrics_family_clear(a->m_chunks);
    for (size_t i = 0; i < n; i++) {
        const char *l[1] = {ts[i].name};
        metrics_set(a->m_docs, l, (double)ts[i].documents);
        metrics_set(a->m_chunks, l, (double)ts[i].chunks);
    }
    free(ts);
    collect_embed(a, th);
}

static lore_status api_embed_metrics_new(api *a) {
    static const char *const tenant_label[] = {"tenant"}, *const kind_label[] = {"kind"};
    lore_status st;
    if ((st = metrics_gauge_new(a->metrics, "lore_embed_pending_chunks",
                                "chunks waiting for their embedding, per tenant", tenant_label, 1,
                                100, &a->m_embed_pending)) != LORE_OK ||
        (st = metrics_gauge_new(a->metrics, "lore_embed_oldest_pending_seconds",
                                "age of the oldest chunk waiting for its embedding, per tenant",
                                tenant_label, 1, 100, &a->m_embed_oldest)) != LORE_OK ||
        (st = metrics_counter_new(a->metrics, "lore_embed_requests_total",
                                  "HTTP requests to the embedding provider, retries included", NULL,
                                  0, 1, &a->m_embed_requests)) != LORE_OK ||
        (st = metrics_counter_new(a->metrics, "lore_embed_errors_total",
                                  "embed job calls to the provider that failed, by kind "
                                  "(retryable: waited and tried again; permanent: job failed)",
                                  kind_label, 1, 2, &a->m_embed_errors)) != LORE_OK ||
        (st = metrics_counter_new(a->metrics, "lore_embed_request_seconds_sum",
                                  "time the provider took over the requests it answered", NULL, 0,
                                  1, &a->m_embed_seconds_sum)) != LORE_OK ||
        (st = metrics_counter_new(a->metrics, "lore_embed_request_seconds_count",
                                  "requests the provider answered", NULL, 0, 1,
                                  &a->m_embed_seconds_count)) != LORE_OK ||
        (st = metrics_counter_new(a->metrics, "lore_embed_tokens_total",
                                  "tokens embedded, as the provider reported them", NULL, 0, 1,
                                  &a->m_embed_tokens)) != LORE_OK)
        return st;
    return LORE_OK;
}

/* ---- lifecycle ---- */

lore_status api_new(const lore_config *cfg, struct embed_registry *embedders, api **out, char *err,
                    size_t errlen) {
    *out = NULL;
    api *a = calloc(1, sizeof *a);
    if (!a) return LORE_NOMEM;
    lore_status st = LORE_OK;
    a->cfg = *cfg;
    if (!a->cfg.store_url[0]) /* not resolved (config_resolve_data_dir): the default */
        snprintf(a->cfg.store_url, sizeof a->cfg.store_url, "sqlite:%s", cfg->data_dir);
    a->started_ms = lore_now_ms();
    tenant_settings_from_config(&a->tenant_settings, &a->cfg); /* borrows a->cfg's strings */
    a->tenant_settings.embedders = embedders;
    pthread_rwlock_init(&a->tenants_lock, NULL);
    pthread_mutex_init(&a->wait_mu, NULL);
    pthread_cond_init(&a->wait_cv, NULL);
    for (size_t i = 0; i < api_route_count && i < API_MAX_ROUTES; i++)
        if (api_route_table[i].route.method) a->routes[a->nroutes++] = api_route_table[i].route;
    if (pthread_key_create(&a->thread_key, thread_free)) {
        free(a);
        return LORE_NOMEM;
    }
    /* -p: on SQLite the store made the data directory; on PostgreSQL
     * nothing else does, and it need not exist before the first start. */
    snprintf(a->upload_dir, sizeof a->upload_dir, "%s/tmp", cfg->data_dir);
    if (lore_mkdir_p(a->upload_dir)) {
        snprintf(err, errlen, "cannot create %s: %s", a->upload_dir, strerror(errno));
        st = LORE_IO;
        goto out;
    }
    unsigned swept = api_spool_sweep(a->upload_dir);
    if (swept)
        LORE_WARN("removed %u upload spool file(s) left in %s by a server that stopped", swept,
                  a->upload_dir);
    if ((st = metrics_registry_new(&a->metrics)) != LORE_OK) goto out;
    static const char *const route_labels[] = {"route", "method", "status"};
    static const char *const tenant_label[] = {"tenant"};
    static const char *const version_label[] = {"version"};
    size_t nb;
    const double *lb = metrics_latency_buckets(&nb);
    if ((st = metrics_counter_new(a->metrics, "lore_http_requests_total",
                                  "HTTP requests by route, method and status", route_labels, 3, 512,
                                  &a->m_requests)) != LORE_OK ||
        (st = metrics_histogram_new(a->metrics, "lore_http_request_duration_seconds",
                                    "HTTP request latency by route, method and status",
                                    route_labels, 3, 512, lb, nb, &a->m_latency)) != LORE_OK ||
        (st = metrics_histogram_new(a->metrics, "lore_search_duration_seconds",
                                    "time spent inside the search engine per search", NULL, 0, 1,
                                    lb, nb, &a->m_search)) != LORE_OK ||
        (st = metrics_gauge_new(a->metrics, "lore_tenant_documents", "documents per tenant",
                                tenant_label, 1, 100, &a->m_docs)) != LORE_OK ||
        (st = metrics_gauge_new(a->metrics, "lore_tenant_chunks", "chunks per tenant", tenant_label,
                                1, 100, &a->m_chunks)) != LORE_OK ||
        (st = metrics_counter_new(a->metrics, "lore_documents_ingested_total",
                                  "documents added or updated through the API", NULL, 0, 1,
                                  &a->m_ingested)) != LORE_OK ||
        (st = metrics_counter_new(a->metrics, "lore_rate_limited_total",
                                  "requests refused by a rate limit", NULL, 0, 1,
                                  &a->m_rate_limited)) != LORE_OK ||
        (st = metrics_counter_new(a->metrics, "lore_auth_failures_total",
                                  "requests refused for a missing or invalid key", NULL, 0, 1,
                                  &a->m_auth_failures)) != LORE_OK ||
        (st = metrics_gauge_new(a->metrics, "lore_build_info", "version of the running binary",
                                version_label, 1, 1, &a->m_build)) != LORE_OK ||
        (st = metrics_register_process(a->metrics)) != LORE_OK ||
        (st = api_ratelimit_init(a, err, errlen)) != LORE_OK)
        goto out;
    if ((st = api_embed_metrics_new(a)) != LORE_OK) goto out;
    const char *v[1] = {LORE_VERSION};
    metrics_set(a->m_build, v, 1);
    if ((st = metrics_on_collect(a->metrics, collect, a)) != LORE_OK) goto out;
    if ((st = api_hooks_init(a)) != LORE_OK) goto out;
    st = api_jobs_init(a, err, errlen);
out:
    if (st != LORE_OK) {
        if (!err[0]) snprintf(err, errlen, "cannot set up the API: %s", lore_status_message(st));
        api_free(a);
        return st;
    }
    *out = a;
    return LORE_OK;
}

void api_set_jwt(api *a, jwt_verifier *v, const char *tenant, int grants_read) {
    a->jwt = v;
    a->jwt_grants_read = grants_read;
    snprintf(a->jwt_tenant, sizeof a->jwt_tenant, "%s", tenant);
}

lore_status api_mount_add(api *a, const api_mount *m) {
    if (a->nmounts == API_MAX_MOUNTS || !m->handle || !m->path || !m->method) return LORE_INVALID;
    size_t i = a->nmounts;
    if (m->challenge && !(a->mount_challenge[i] = strdup(m->challenge))) return LORE_NOMEM;
    a->mounts[i] = *m;
    a->mounts[i].challenge = a->mount_challenge[i];
    a->routes[a->nroutes++] = (http_route){m->method, m->path, API_MOUNT_ID + (int)i};
    a->nmounts++;
    return LORE_OK;
}

void api_set_keyring(api *a, const seal_keyring *k) {
    a->keyring = k;
}

metrics_registry *api_metrics(api *a) {
    return a->metrics;
}

void api_free(api *a) {
    if (!a) return;
    /* The calling thread's handles (the server threads' went with them). */
    thread_free(pthread_getspecific(a->thread_key));
    pthread_setspecific(a->thread_key, NULL);
    pthread_key_delete(a->thread_key);
    api_jobs_free(a);
    for (size_t i = 0; i < a->nmounts; i++)
        free(a->mount_challenge[i]);
    if (a->rl) a->rl->free(a->rl_state);
    metrics_registry_free(a->metrics);
    pthread_rwlock_destroy(&a->tenants_lock);
    pthread_mutex_destroy(&a->wait_mu);
    pthread_cond_destroy(&a->wait_cv);
    free(a);
}
