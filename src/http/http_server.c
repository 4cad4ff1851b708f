/* The HTTP server on libmicrohttpd (MHD); see http.h for the contract.
 *
 * Design choices:
 *
 * - One connection record per TCP connection (MHD's socket context), with
 *   the request record inside it reused request after request. MHD reports
 *   request completion only for requests it handed to the access handler,
 *   but always reports a closed connection, so tying memory to the
 *   connection means a client that never finishes its headers leaks nothing.
 *
 * - Keep-alive: MHD closes the connection when a response is queued on the
 *   first call of the access handler for a request, so responses are queued
 *   on a later call (the one that reports the end of the body). Only a
 *   request rejected while a large body or a 100-continue is still pending is
 *   answered at once, and that connection closes, as it should.
 *
 * - Slow clients: MHD's own timeout closes connections that send nothing for
 *   idle_timeout_s. A client dribbling a byte at a time defeats that, so a
 *   janitor thread (http_guard.c) looks at every connection four times a
 *   second: one still sending its headers header_timeout_s after its request
 *   line, or sending a body slower than min_body_rate over a 10 s window, is
 *   cut (its socket shut), which MHD then sees as a closed connection.
 *
 * - Hostile heads: caps on the request target, the query parameters, the
 *   header fields and control bytes in them are checked before the
 *   application sees the request (http_head.c); one client address may hold
 *   at most max_connections_per_ip connections (MHD refuses more at accept),
 *   so it cannot take every connection from the others and the probes.
 *
 * - Draining: see http_guard.c. In short, a request the application took is
 *   always answered (unless its client stays silent past the drain timeout);
 *   one arriving later is answered 503 without reaching the application;
 *   new connections are refused. */
#include "http/http.h"
#include "http/http_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/timeutil.h"

/* A request answered before its body has arrived (rejected, or over a cap)
 * has up to this much more body read and dropped before the answer goes
 * out. Closing a socket with unread data makes the kernel send a reset,
 * which can destroy the answer before the client reads it; reading the rest
 * lets the client see the 413 and keeps the connection. Past this, the
 * server answers at once and closes. */
#define DISCARD_BODY_MAX ((int64_t)16 << 20)

void http_config_default(http_config *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->host, sizeof c->host, "127.0.0.1");
    c->port = 7700;
    c->max_connections = 1024;
    c->max_connections_per_ip = 128;
    c->max_header_bytes = 16 * 1024;
    c->max_uri_bytes = 0; /* = max_header_bytes */
    c->max_query_params = 128;
    c->max_headers = 100;
    c->header_timeout_s = 10;
    c->idle_timeout_s = 30;
    c->min_body_rate = 1024;
}

lore_status http_parse_listen(const char *s, http_config *c, char *err, size_t errlen) {
    const char *colon = strrchr(s, ':');
    if (!colon) {
        snprintf(err, errlen, "listen address '%s' needs a port (host:port)", s);
        return LORE_INVALID;
    }
    const char *h = s;
    size_t hl = (size_t)(colon - s);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl >= sizeof c->host) {
        snprintf(err, errlen, "listen host in '%s' is too long", s);
        return LORE_INVALID;
    }
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || errno || port < 0 || port > 65535) {
        snprintf(err, errlen, "listen port in '%s' is not a number 0..65535", s);
        return LORE_INVALID;
    }
    char host[64];
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (!hl) snprintf(host, sizeof host, "0.0.0.0");
    if (!strcmp(host, "localhost")) snprintf(host, sizeof host, "127.0.0.1");
    unsigned char tmp[16];
    if (inet_pton(AF_INET, host, tmp) != 1 && inet_pton(AF_INET6, host, tmp) != 1) {
        snprintf(err, errlen, "listen host '%s' is not a numeric IPv4 or IPv6 address", host);
        return LORE_INVALID;
    }
    snprintf(c->host, sizeof c->host, "%s", host);
    c->port = (uint16_t)port;
    return LORE_OK;
}

/* ---- the request record ---- */

static void request_reset(http_request *r) {
    lore_buf_free(&r->body);
    free(r->resp_body);
    for (size_t i = 0; i < r->nhdr; i++) {
        free(r->hdr_name[i]);
        free(r->hdr_value[i]);
    }
    struct conn *c = r->conn;
    memset(r, 0, sizeof *r);
    r->conn = c;
    r->content_length = -1;
}

void http_suspend(http_request *r) {
    pthread_mutex_lock(&r->conn->susp_lock);
    r->susp = SUSP_WANTED;
    pthread_mutex_unlock(&r->conn->susp_lock);
}

void http_resume(http_request *r) {
    pthread_mutex_lock(&r->conn->susp_lock);
    if (r->susp == SUSP_DONE) MHD_resume_connection(r->conn->mhd);
    r->susp = SUSP_RESUMED;
    pthread_mutex_unlock(&r->conn->susp_lock);
}

const char *http_method(const http_request *r) {
    return r->method;
}
const char *http_path(const http_request *r) {
    return r->path;
}
const char *http_client_ip(const http_request *r) {
    return r->conn->ip;
}
const char *http_request_id(const http_request *r) {
    return r->id;
}
int64_t http_content_length(const http_request *r) {
    return r->content_length;
}
int64_t http_started_ns(const http_request *r) {
    return r->started_ns;
}
void http_set_data(http_request *r, void *data) {
    r->data = data;
}
void *http_data(const http_request *r) {
    return r->data;
}
int http_responded(const http_request *r) {
    return r->status != 0;
}
unsigned http_status(const http_request *r) {
    return r->status;
}
size_t http_response_bytes(const http_request *r) {
    return r->resp_bytes;
}

const char *http_header(const http_request *r, const char *name) {
    return MHD_lookup_connection_value(r->conn->mhd, MHD_HEADER_KIND, name);
}

const char *http_query(const http_request *r, const char *name) {
    const char *v = NULL;
    if (MHD_lookup_connection_value_n(r->conn->mhd, MHD_GET_ARGUMENT_KIND, name, strlen(name), &v,
                                      NULL) != MHD_YES)
        return NULL;
    return v ? v : "";
}

typedef struct arg_walk {
    http_arg_fn fn;
    void *ctx;
} arg_walk;

static enum MHD_Result arg_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value) {
    (void)kind;
    arg_walk *w = cls;
    return w->fn(w->ctx, key, value ? value : "") ? MHD_NO : MHD_YES;
}

void http_query_each(const http_request *r, http_arg_fn fn, void *ctx) {
    arg_walk w = {fn, ctx};
    MHD_get_connection_values(r->conn->mhd, MHD_GET_ARGUMENT_KIND, arg_iter, &w);
}

const char *http_body(const http_request *r, size_t *len) {
    if (r->body_mode != BODY_BUFFER) return NULL;
    if (len) *len = r->body.len;
    return r->body.data ? r->body.data : "";
}

void http_body_buffer(http_request *r, size_t cap) {
    r->body_mode = BODY_BUFFER;
    r->body_cap = cap;
    lore_buf_init(&r->body, cap);
}

void http_body_stream(http_request *r, size_t cap, http_body_fn fn, void *ctx) {
    r->body_mode = BODY_STREAM;
    r->body_cap = cap;
    r->stream_fn = fn;
    r->stream_ctx = ctx;
}

void http_add_header(http_request *r, const char *name, const char *value) {
    if (r->nhdr >= MAX_RESP_HEADERS) {
        LORE_WARN("http: response header '%s' dropped: more than %d", name, MAX_RESP_HEADERS);
        return;
    }
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return;
    }
    r->hdr_name[r->nhdr] = n;
    r->hdr_value[r->nhdr] = v;
    r->nhdr++;
}

void http_respond_owned(http_request *r, unsigned status, const char *content_type, char *body,
                        size_t len) {
    free(r->resp_body);
    r->status = status;
    r->content_type = content_type;
    r->resp_body = body;
    r->resp_len = body ? len : 0;
}

void http_respond(http_request *r, unsigned status, const char *content_type, const void *body,
                  size_t len) {
    char *copy = NULL;
    if (len) {
        copy = malloc(len);
        if (copy) {
            memcpy(copy, body, len);
        } else {
            status = 503;
            content_type = NULL;
            len = 0;
        }
    }
    http_respond_owned(r, status, content_type, copy, len);
}

void http_problem(http_request *r, unsigned status, const char *type, const char *title,
                  const char *detail, const char *pointer) {
    char typ[128];
    snprintf(typ, sizeof typ, "urn:lore:problem:%s", type);
    json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", typ, "title", title, "status",
                          (int)status, "detail", detail ? detail : title, "request_id", r->id);
    if (o && pointer) json_object_set_new(o, "pointer", json_string(pointer));
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(o);
    if (!s) {
        /* Out of memory or detail not UTF-8: answer without the detail. */
        static const char fallback[] = "{\"type\":\"urn:lore:problem:internal\","
                                       "\"title\":\"Internal error\",\"status\":500}";
        http_respond(r, 500, "application/problem+json", fallback, sizeof fallback - 1);
        return;
    }
    http_respond_owned(r, status, "application/problem+json", s, strlen(s));
}

/* ---- ids, CORS ---- */

static int id_char_ok(char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_' || ch == '.' || ch == ':';
}

static void assign_request_id(http_server *s, http_request *r) {
    const char *given = http_header(r, "X-Request-Id");
    if (given) {
        size_t n = strlen(given), ok = n > 0 && n <= HTTP_REQUEST_ID_MAX;
        for (size_t i = 0; ok && i < n; i++)
            ok = id_char_ok(given[i]);
        if (ok) {
            memcpy(r->id, given, n + 1);
            return;
        }
    }
    uint64_t n = atomic_fetch_add(&s->next_id, 1);
    snprintf(r->id, sizeof r->id, "%s-%08llx", s->id_prefix, (unsigned long long)n);
}

/* The allowed origin matching the request's Origin, or NULL. */
static const char *cors_allowed(const http_server *s, const char *origin) {
    if (!origin || !*s->cors) return NULL;
    size_t ol = strlen(origin);
    for (const char *p = s->cors; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && t[-1] == ' ')
            t--;
        size_t n = (size_t)(t - p);
        if ((n == 1 && *p == '*') || (n == ol && !memcmp(p, origin, n))) return origin;
        p = e;
    }
    return NULL;
}

/* ---- queuing the response ---- */

static enum MHD_Result queue(http_server *s, http_request *r) {
    if (!r->status) http_problem(r, 500, "internal", "Internal error", "no response", NULL);
    char *body = r->resp_body;
    size_t len = r->resp_len;
    r->resp_body = NULL;
    /* An empty body owns nothing: MUST_FREE on a static "" would be wrong. */
    struct MHD_Response *resp =
        body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, (char *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    r->resp_bytes = len;
    if (r->content_type) MHD_add_response_header(resp, "Content-Type", r->content_type);
    MHD_add_response_header(resp, "X-Request-Id", r->id);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    int has_cache = 0, has_csp = 0;
    for (size_t i = 0; i < r->nhdr; i++) {
        if (!strcasecmp(r->hdr_name[i], "Cache-Control")) has_cache = 1;
        if (!strcasecmp(r->hdr_name[i], "Content-Security-Policy")) has_csp = 1;
        MHD_add_response_header(resp, r->hdr_name[i], r->hdr_value[i]);
    }
    if (!has_cache) MHD_add_response_header(resp, "Cache-Control", "no-store");
    /* Every answer but the web page's own (src/web/ sets its policy) is
     * data: opened in a browser it may load nothing and sit in no frame. */
    if (!has_csp)
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'none'; frame-ancestors 'none'");
    const char *origin = cors_allowed(s, http_header(r, "Origin"));
    if (origin) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
        MHD_add_response_header(resp, "Vary", "Origin");
        MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                                "X-Request-Id, Retry-After, RateLimit-Limit, "
                                "RateLimit-Remaining, RateLimit-Reset, Location");
    }
    if (atomic_load(&s->draining)) MHD_add_response_header(resp, "Connection", "close");
    enum MHD_Result ok = MHD_queue_response(r->conn->mhd, r->status, resp);
    MHD_destroy_response(resp);
    r->queued = 1;
    phase_set(r->conn, PH_SENDING);
    return ok;
}

/* ---- MHD callbacks ---- */

static void notify_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
                              enum MHD_ConnectionNotificationCode code) {
    http_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        struct conn *c = calloc(1, sizeof *c);
        if (!c) return; /* the access handler refuses connections without a record */
        c->mhd = mc;
        c->srv = s;
        c->req.conn = c;
        c->req.content_length = -1;
        pthread_mutex_init(&c->susp_lock, NULL);
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
        c->fd = fd ? fd->connect_fd : -1;
        const union MHD_ConnectionInfo *ai =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ai && ai->client_addr) {
            const struct sockaddr *sa = ai->client_addr;
            if (sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, c->ip,
                          sizeof c->ip);
            else if (sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                          c->ip, sizeof c->ip);
        }
        if (!*c->ip) snprintf(c->ip, sizeof c->ip, "unknown");
        atomic_store(&c->phase, PH_IDLE);
        pthread_mutex_lock(&s->lock);
        c->next = s->conns;
        if (s->conns) s->conns->prev = c;
        s->conns = c;
        pthread_mutex_unlock(&s->lock);
        *socket_context = c;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct conn *c = *socket_context;
        if (!c) return;
        pthread_mutex_lock(&s->lock);
        if (c->prev)
            c->prev->next = c->next;
        else
            s->conns = c->next;
        if (c->next) c->next->prev = c->prev;
        pthread_mutex_unlock(&s->lock);
        request_reset(&c->req);
        pthread_mutex_destroy(&c->susp_lock);
        free(c);
        *socket_context = NULL;
    }
}

static struct conn *conn_of(struct MHD_Connection *mc) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* The request line has arrived: a new request starts on this connection. */
static void *uri_log(void *cls, const char *uri, struct MHD_Connection *mc) {
    http_server *s = cls;
    struct conn *c = conn_of(mc);
    if (!c) return NULL;
    request_reset(&c->req);
    c->req.started_ns = lore_mono_ns();
    atomic_store(&c->phase_ns, c->req.started_ns);
    phase_set(c, PH_HEADERS);
    /* MHD hands its own, writable, copy of the line (see http_head.c). */
    http_head_judge(s, &c->req, (char *)(uintptr_t)uri);
    return &c->req;
}

static void completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                      enum MHD_RequestTerminationCode toe) {
    (void)mc;
    (void)toe;
    http_server *s = cls;
    http_request *r = *con_cls;
    if (!r) return;
    if (r->begun && s->app.done) s->app.done(s->app.ctx, r);
    if (r->counted) atomic_fetch_sub(&s->in_flight, 1);
    phase_set(r->conn, PH_IDLE);
    request_reset(r);
    *con_cls = NULL;
}

static size_t header_bytes(struct MHD_Connection *mc, const char *url, const char *method) {
    const union MHD_ConnectionInfo *hi =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    if (hi) return hi->header_size;
    return strlen(url) + strlen(method);
}

static int expects_continue(const http_request *r) {
    const char *e = http_header(r, "Expect");
    return e && !strcasecmp(e, "100-continue");
}

static void preflight(http_server *s, http_request *r) {
    if (!cors_allowed(s, http_header(r, "Origin"))) {
        http_problem(r, 403, "cors-origin-denied", "Origin not allowed",
                     "this origin is not in the server's cors_origins allow-list", NULL);
        return;
    }
    http_add_header(r, "Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
    http_add_header(r, "Access-Control-Allow-Headers",
                    "Authorization, Content-Type, X-Request-Id, MCP-Protocol-Version, "
                    "Mcp-Session-Id, Mcp-Method, Mcp-Name");
    http_add_header(r, "Access-Control-Max-Age", "600");
    http_respond(r, 204, NULL, NULL, 0);
}

/* Starts timing a body: the janitor holds it to min_body_rate. */
static void body_phase(struct conn *c) {
    int64_t now = lore_mono_ns();
    atomic_store(&c->window_ns, now);
    atomic_store(&c->body_bytes, 0);
    atomic_store(&c->phase_ns, now);
    phase_set(c, PH_BODY);
}

/* Answered while the body still arrives: drop the rest (bounded) and send
 * the answer at the end of the body; a body announced too big to drop is
 * answered now (and the connection closes). */
static enum MHD_Result start_discard(http_server *s, http_request *r) {
    if (r->content_length > DISCARD_BODY_MAX || expects_continue(r)) return queue(s, r);
    r->body_mode = BODY_DISCARD;
    r->discard_left = DISCARD_BODY_MAX;
    body_phase(r->conn);
    return MHD_YES;
}

/* First call for a request: headers are complete. */
static enum MHD_Result begin_request(http_server *s, http_request *r, const char *url,
                                     const char *method) {
    struct conn *c = r->conn;
    r->begun = 1;
    r->counted = 1;
    /* Counted before the draining flag is read (both sequentially
     * consistent): a drain either sees this request or this request sees
     * the drain (http_guard.c). */
    atomic_fetch_add(&s->in_flight, 1);
    int draining = atomic_load(&s->draining);
    r->method = method;
    r->path = url;
    assign_request_id(s, r);
    const char *cl = http_header(r, "Content-Length");
    if (cl) {
        char *end;
        long long v = strtoll(cl, &end, 10);
        r->content_length = (*cl && !*end && v >= 0) ? v : -1;
    }
    if (!phase_set(c, PH_HANDLING)) return MHD_NO; /* cut while its headers arrived */
    if (draining) {
        http_add_header(r, "Retry-After", "5");
        http_problem(r, 503, "shutting-down", "Server shutting down",
                     "the server is stopping and took no part of this request; send it again "
                     "(to another instance, or once this one is back)",
                     NULL);
    } else if (http_head_refuse(s, r)) {
        /* answered: the request line or a header breaks a rule */
    } else if (header_bytes(c->mhd, url, method) > s->cfg.max_header_bytes) {
        char d[128];
        snprintf(d, sizeof d, "request line and headers exceed %zu bytes", s->cfg.max_header_bytes);
        http_problem(r, 431, "headers-too-large", "Request headers too large", d, NULL);
    } else if (!strcmp(method, "OPTIONS") && http_header(r, "Origin") &&
               http_header(r, "Access-Control-Request-Method")) {
        preflight(s, r);
    } else {
        s->app.begin(s->app.ctx, r);
    }
    int has_body =
        r->content_length > 0 || (r->content_length < 0 && http_header(r, "Transfer-Encoding"));
    if (r->status) {
        /* Answered before the body: read and drop a small body to keep the
         * connection; for a big one (or a client waiting for 100-continue)
         * answer now, which closes the connection after the response. */
        return has_body ? start_discard(s, r) : MHD_YES;
    }
    if (r->body_mode == BODY_NONE) {
        if (has_body) {
            http_problem(r, 413, "body-not-allowed", "Request body not allowed",
                         "this route takes no request body", NULL);
            return start_discard(s, r);
        }
        return MHD_YES;
    }
    if (r->content_length >= 0 && (size_t)r->content_length > r->body_cap) {
        char d[160];
        snprintf(d, sizeof d, "the body is %lld bytes; this route accepts at most %zu",
                 (long long)r->content_length, r->body_cap);
        http_problem(r, 413, "body-too-large", "Request body too large", d, NULL);
        return start_discard(s, r);
    }
    body_phase(c);
    return MHD_YES;
}

static enum MHD_Result take_body(http_server *s, http_request *r, const char *data, size_t n) {
    struct conn *c = r->conn;
    atomic_fetch_add(&c->body_bytes, (int64_t)n);
    if (r->body_mode == BODY_DISCARD) {
        r->discard_left -= (int64_t)n;
        return r->discard_left < 0 ? queue(s, r) : MHD_YES;
    }
    if (r->status) return start_discard(s, r); /* answered by a stream callback */
    r->body_seen += n;
    if (r->body_seen > r->body_cap) {
        char d[128];
        snprintf(d, sizeof d, "the body exceeds %zu bytes, the most this route accepts",
                 r->body_cap);
        http_problem(r, 413, "body-too-large", "Request body too large", d, NULL);
        return start_discard(s, r);
    }
    if (r->body_mode == BODY_BUFFER) {
        if (lore_buf_append(&r->body, data, n) != LORE_OK) {
            http_problem(r, 503, "out-of-memory", "Server out of memory",
                         "the body could not be buffered", NULL);
            return start_discard(s, r);
        }
        return MHD_YES;
    }
    lore_status st = r->stream_fn(r->stream_ctx, r, (const uint8_t *)data, n);
    if (st != LORE_OK) {
        if (!r->status)
            http_problem(r, 500, "internal", "Internal error", lore_status_message(st), NULL);
        return start_discard(s, r);
    }
    return MHD_YES;
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *mc, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls) {
    (void)version;
    http_server *s = cls;
    http_request *r = *con_cls;
    if (!r) return MHD_NO; /* no connection record: out of memory at accept */
    if (!r->begun) return begin_request(s, r, url, method);
    if (r->queued) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        return take_body(s, r, upload_data, n);
    }
    /* End of the body (or no body), or the call after a resume. A
     * connection cut while its body arrived never reaches its handler. */
    if (!phase_set(r->conn, PH_HANDLING)) return MHD_NO;
    if (r->susp == SUSP_NONE && !r->status) s->app.handle(s->app.ctx, r);
    pthread_mutex_lock(&r->conn->susp_lock);
    int susp = r->susp;
    if (susp == SUSP_WANTED) {
        MHD_suspend_connection(mc);
        r->susp = SUSP_DONE;
    }
    pthread_mutex_unlock(&r->conn->susp_lock);
    if (susp == SUSP_WANTED) return MHD_YES; /* http_resume brings us back */
    return queue(s, r);
}

/* MHD's own messages, at debug level. The format comes from the library. */
static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    if (lore_log_get_level() > LORE_LOG_DEBUG) return;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n')
        line[--n] = '\0';
    LORE_DEBUG("libmicrohttpd: %s", line);
}

/* ---- lifecycle ---- */

lore_status http_server_start(const http_config *c, const http_app *app, http_server **out,
                              char *err, size_t errlen) {
    *out = NULL;
    http_server *s = calloc(1, sizeof *s);
    if (!s) return LORE_NOMEM;
    s->cfg = *c;
    s->cfg.cors_origins = NULL;
    if (!s->cfg.max_uri_bytes || s->cfg.max_uri_bytes > s->cfg.max_header_bytes)
        s->cfg.max_uri_bytes = s->cfg.max_header_bytes;
    s->listen_fd = MHD_INVALID_SOCKET;
    snprintf(s->cors, sizeof s->cors, "%s", c->cors_origins ? c->cors_origins : "");
    s->app = *app;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->stop_lock, NULL);
    pthread_cond_init(&s->stop_cond, NULL);
    unsigned char rnd[4];
    if (RAND_bytes(rnd, sizeof rnd) != 1) memset(rnd, 0, sizeof rnd);
    snprintf(s->id_prefix, sizeof s->id_prefix, "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);

    unsigned threads = c->threads;
    if (!threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 1;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    struct sockaddr_in *v4 = (struct sockaddr_in *)(void *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)(void *)&ss;
    if (inet_pton(AF_INET, c->host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(c->port);
    } else if (inet_pton(AF_INET6, c->host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(c->port);
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, errlen, "listen host '%s' is not a numeric address", c->host);
        http_server_free(s);
        return LORE_INVALID;
    }
    /* MHD's pool holds the read buffer (request line and headers) and a
     * record per header and query parameter; when it is full MHD answers on
     * its own (an HTML 414 or 431). Give it room well beyond our own caps so
     * that ours answer (with problem+json) and MHD's is only a backstop, for
     * a request line or header block past max_header_bytes + 112 KiB or
     * about a thousand header fields. The pool is mapped lazily: a
     * connection costs the pages it uses. */
    size_t pool = c->max_header_bytes + 112 * 1024;
    s->d = MHD_start_daemon(flags, c->port, NULL, NULL, access_handler, s, MHD_OPTION_SOCK_ADDR,
                            &ss, MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT,
                            (unsigned)c->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                            (unsigned)c->max_connections_per_ip, MHD_OPTION_CONNECTION_TIMEOUT,
                            (unsigned)c->idle_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool,
                            MHD_OPTION_NOTIFY_CONNECTION, notify_connection, s,
                            MHD_OPTION_URI_LOG_CALLBACK, uri_log, s, MHD_OPTION_NOTIFY_COMPLETED,
                            completed, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
                            MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, MHD_OPTION_END);
    if (!s->d) {
        snprintf(err, errlen, "cannot listen on %s:%u: %s", c->host, (unsigned)c->port,
                 errno ? strerror(errno) : "libmicrohttpd refused to start");
        http_server_free(s);
        return LORE_IO;
    }
    const union MHD_DaemonInfo *pi = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = pi ? pi->port : c->port;
    if (pthread_create(&s->janitor, NULL, http_janitor_main, s) == 0) s->janitor_running = 1;
    *out = s;
    return LORE_OK;
}

uint16_t http_server_port(const http_server *s) {
    return s->port;
}

unsigned http_server_in_flight(const http_server *s) {
    return atomic_load(&((http_server *)s)->in_flight);
}

void http_server_free(http_server *s) {
    if (!s) return;
    if (s->janitor_running) {
        pthread_mutex_lock(&s->stop_lock);
        s->stopping = 1;
        pthread_cond_signal(&s->stop_cond);
        pthread_mutex_unlock(&s->stop_lock);
        pthread_join(s->janitor, NULL);
    }
    if (s->d && http_suspended_count(s)) {
        /* MHD aborts the process when stopped with a parked request; whoever
         * suspended it broke http_suspend's contract. Leave the server to
         * the process's exit rather than crash. */
        LORE_ERROR("http: %u request(s) still parked at stop; not stopping libmicrohttpd",
                   http_suspended_count(s));
        return;
    }
    if (s->d) MHD_stop_daemon(s->d);
    if (s->listen_fd != MHD_INVALID_SOCKET) close(s->listen_fd);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->stop_lock);
    pthread_cond_destroy(&s->stop_cond);
    free(s);
}
