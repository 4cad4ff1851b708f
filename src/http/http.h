/* The HTTP server: libmicrohttpd underneath, no routes of its own.
 *
 * The server owns the connection: it reads the request line and headers,
 * enforces the transport limits (header size, header and idle timeouts, a
 * minimum body rate, a connection cap), gives every request an id, answers
 * CORS preflights, adds the security headers every response carries, and
 * drains in-flight requests on shutdown. What a request means is the
 * application's business: it gets two calls per request.
 *
 *   begin(app, req)   headers are in. The application authenticates, routes,
 *                     and either answers at once (http_respond_*) or tells
 *                     the server how to take the body: buffer it up to a cap
 *                     (http_body_buffer) or stream it through a callback
 *                     (http_body_stream). A request without a body that was
 *                     not answered in begin goes straight to handle.
 *   handle(app, req)  the body is complete (or there was none); answer.
 *   done(app, req)    the response was sent or the connection failed: log,
 *                     count, free what begin allocated.
 *
 * Errors found by the server itself (body over its cap, a body that stopped
 * arriving) are answered as RFC 9457 problem+json without calling handle.
 *
 * Threads: begin/handle/done of one request run on one server thread, one
 * at a time; different requests run on different threads at once, so the
 * application keeps per-thread resources (the server's thread pool is
 * fixed, see http_config.threads). */
#ifndef LORE_HTTP_HTTP_H
#define LORE_HTTP_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include "util/buf.h"
#include "util/status.h"

typedef struct http_server http_server;
typedef struct http_request http_request;

#define HTTP_REQUEST_ID_MAX 64

typedef struct http_config {
    char host[64];                   /* numeric IPv4/IPv6 address or "localhost" */
    uint16_t port;                   /* 0 = any free port (see http_server_port) */
    unsigned threads;                /* 0 = one per core */
    unsigned max_connections;        /* all clients together */
    unsigned max_connections_per_ip; /* from one client address; 0 = no cap */
    size_t max_header_bytes;         /* request line + headers */
    size_t max_uri_bytes;            /* the request target (path and query): 414 */
    size_t max_query_params;         /* parameters in the query: 431 */
    size_t max_headers;              /* header fields: 431 */
    unsigned header_timeout_s;       /* from the request line to the end of headers */
    unsigned idle_timeout_s;         /* a connection with no traffic for this long */
    size_t min_body_rate;            /* bytes/s a body must arrive at, over 10 s windows */
    const char *cors_origins;        /* comma-separated allow-list; NULL/"" = no CORS */
} http_config;

typedef struct http_app {
    void *ctx;
    void (*begin)(void *ctx, http_request *req);
    void (*handle)(void *ctx, http_request *req);
    void (*done)(void *ctx, http_request *req);
} http_app;

void http_config_default(http_config *c);
/* Parses "host:port", "[v6]:port" or ":port" into c->host and c->port. */
LORE_MUST_CHECK lore_status http_parse_listen(const char *s, http_config *c, char *err,
                                              size_t errlen);

/* Starts listening and serving. The config's strings are copied; app is
 * borrowed for the server's life. */
LORE_MUST_CHECK lore_status http_server_start(const http_config *c, const http_app *app,
                                              http_server **out, char *err, size_t errlen);
uint16_t http_server_port(const http_server *s);
/* Drains (see http_guard.c for the whole contract): from now on, a request
 * whose headers complete is answered 503 shutting-down (Connection: close)
 * without reaching the application; new connections are refused; the
 * requests the application already has finish and are answered (with
 * Connection: close), for up to drain_ms. Then connections whose handler
 * has not run are cut, and running handlers get up to 10 s more. Returns
 * the number of requests still in flight after that. Call once, then
 * http_server_free. */
unsigned http_server_drain(http_server *s, unsigned drain_ms);
/* The drain's first step alone (http_server_drain takes it too, once): no
 * new connection or request, and every answer from now on carries
 * Connection: close. Call it before waking suspended requests, so their
 * answers close too. */
void http_server_begin_drain(http_server *s);
/* Stops at once and frees the server. */
void http_server_free(http_server *s);
/* Requests currently between begin and done. */
unsigned http_server_in_flight(const http_server *s);

/* ---- the request ---- */

const char *http_method(const http_request *r); /* "GET", "POST", ... */
const char *http_path(const http_request *r);   /* decoded path, without the query */
/* A header (case-insensitive name) or NULL. */
const char *http_header(const http_request *r, const char *name);
/* A query argument (the first with that name) or NULL; "" for "?flag". */
const char *http_query(const http_request *r, const char *name);
/* Calls fn for every query argument in order; fn returns non-zero to stop. */
typedef int (*http_arg_fn)(void *ctx, const char *name, const char *value);
void http_query_each(const http_request *r, http_arg_fn fn, void *ctx);
const char *http_client_ip(const http_request *r);
const char *http_request_id(const http_request *r);
/* The buffered body (NUL-terminated) after http_body_buffer; NULL before. */
const char *http_body(const http_request *r, size_t *len);
/* Content-Length as announced, or -1 when absent (chunked upload). */
int64_t http_content_length(const http_request *r);
/* Monotonic time the request line arrived, in ns. */
int64_t http_started_ns(const http_request *r);
/* The application's per-request pointer (freed by the application in done). */
void http_set_data(http_request *r, void *data);
void *http_data(const http_request *r);

/* ---- taking the body (from begin only) ---- */

/* Buffers the body, at most cap bytes; a longer body is answered with 413. */
void http_body_buffer(http_request *r, size_t cap);
/* Streams the body: fn receives every piece in order; a status other than
 * LORE_OK stops the upload, and the application must have answered (the
 * server answers 500 if it did not). cap bounds the whole body (413). */
typedef lore_status (*http_body_fn)(void *ctx, http_request *r, const uint8_t *data, size_t len);
void http_body_stream(http_request *r, size_t cap, http_body_fn fn, void *ctx);

/* ---- answering (from begin, a body callback, or handle) ---- */

/* Adds a response header (copied). At most 16 per response. */
void http_add_header(http_request *r, const char *name, const char *value);
/* Answers with a body (copied) and content type. */
void http_respond(http_request *r, unsigned status, const char *content_type, const void *body,
                  size_t len);
/* Answers with a body the server frees with free() once sent. */
void http_respond_owned(http_request *r, unsigned status, const char *content_type, char *body,
                        size_t len);
/* RFC 9457 problem+json: type is a stable slug ("body-too-large") made into
 * "urn:lore:problem:<slug>", title is the fixed summary for that type,
 * detail says what happened this time, pointer (a JSON Pointer to the bad
 * field, RFC 6901) may be NULL. */
void http_problem(http_request *r, unsigned status, const char *type, const char *title,
                  const char *detail, const char *pointer);
int http_responded(const http_request *r);

/* ---- answering later ----
 *
 * From handle, http_suspend says the answer will come from another thread:
 * the server parks the connection (no thread is held) until that thread
 * has called http_respond (or http_problem) and then http_resume. resume
 * may come at any time after suspend, even before handle returns. Between
 * the two, the request stays in flight (a drain waits for it), so whoever
 * suspends must resume within a bounded time. */
void http_suspend(http_request *r);
void http_resume(http_request *r);
unsigned http_status(const http_request *r);
/* Bytes of the response body (after done). */
size_t http_response_bytes(const http_request *r);

#endif
