/* The HTTP server's private records, shared by http_server.c (requests,
 * responses, the MHD callbacks, start and stop), http_guard.c (the janitor,
 * cutting connections, the drain) and http_head.c (the checks on a request
 * line and its headers). Nothing outside src/http/ includes this. */
#ifndef LORE_HTTP_HTTP_INT_H
#define LORE_HTTP_HTTP_INT_H

#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

#include "http/http.h"

#define MAX_RESP_HEADERS 16

/* Where a connection is in its request; the janitor and the drain read it
 * from other threads.
 *
 *   IDLE      between requests (or none yet)
 *   HEADERS   the request line is in, the headers are arriving
 *   HANDLING  the application has the request: begin, handle, or parked
 *             (http_suspend); never cut, the handler may have done things
 *   BODY      the body is arriving (the handler has not run yet)
 *   SENDING   the answer is queued and going out
 *   CUT       the server shut the socket: nothing more runs for it
 *
 * Only CUT is written by another thread, and only over IDLE, HEADERS, BODY
 * or SENDING (phase_cut); the connection's own thread moves between the
 * others with phase_set, which never leaves CUT. So a handler runs only if
 * its connection was not cut first, and a cut never lands on a handler. */
enum phase { PH_IDLE, PH_HEADERS, PH_HANDLING, PH_BODY, PH_SENDING, PH_CUT };
enum body_mode { BODY_NONE, BODY_BUFFER, BODY_STREAM, BODY_DISCARD };
enum { SUSP_NONE, SUSP_WANTED, SUSP_DONE, SUSP_RESUMED };

/* What the request line alone already decided (http_head.c). */
enum head_verdict { HEAD_OK, HEAD_URI_TOO_LONG, HEAD_TOO_MANY_PARAMS };

struct http_request {
    struct conn *conn;
    int begun;   /* the access handler saw this request */
    int queued;  /* a response went to MHD */
    int counted; /* counted in in_flight */
    enum head_verdict head;
    size_t uri_len, nparams; /* of the raw request target, for the answer */
    const char *method, *path;
    char id[HTTP_REQUEST_ID_MAX + 1];
    int64_t started_ns;
    int64_t content_length;
    void *data;

    enum body_mode body_mode;
    size_t body_cap, body_seen;
    int64_t discard_left; /* BODY_DISCARD: bytes still to drop before answering now */
    lore_buf body;
    http_body_fn stream_fn;
    void *stream_ctx;

    /* the response being built */
    unsigned status;
    const char *content_type;
    char *resp_body;
    size_t resp_len, resp_bytes;
    char *hdr_name[MAX_RESP_HEADERS], *hdr_value[MAX_RESP_HEADERS];
    size_t nhdr;

    /* Answering later (http_suspend / http_resume): conn->susp_lock orders
     * the server's MHD_suspend_connection against a resume from another
     * thread, which may come first. */
    int susp; /* SUSP_* */
};

struct conn {
    struct conn *prev, *next; /* registry */
    struct MHD_Connection *mhd;
    http_server *srv;
    int fd;
    char ip[INET6_ADDRSTRLEN];
    _Atomic int phase;
    _Atomic int64_t phase_ns;   /* when the phase began */
    _Atomic int64_t body_bytes; /* bytes of the body received in this window */
    _Atomic int64_t window_ns;  /* when the current rate window began */
    pthread_mutex_t susp_lock;
    http_request req;
};

struct http_server {
    http_config cfg;
    char cors[1024];
    http_app app;
    struct MHD_Daemon *d;
    uint16_t port;
    MHD_socket listen_fd; /* after the drain began: shut, closed once MHD stopped */
    _Atomic unsigned in_flight;
    _Atomic int draining;
    _Atomic uint64_t next_id;
    char id_prefix[9];

    pthread_mutex_t lock; /* guards the registry */
    struct conn *conns;
    pthread_t janitor;
    int janitor_running;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    int stopping;
};

/* The connection's own thread: moves to ph unless the connection was cut;
 * returns 0 when it was. */
static inline int phase_set(struct conn *c, int ph) {
    int cur = atomic_load(&c->phase);
    do {
        if (cur == PH_CUT) return 0;
    } while (!atomic_compare_exchange_weak(&c->phase, &cur, ph));
    return 1;
}

/* ---- http_guard.c ---- */

/* Another thread: cuts a connection that is not HANDLING (or already CUT)
 * and, if only_phase >= 0, is in that phase; shuts its socket so MHD sees
 * it closed. Returns 1 when it cut. Call with s->lock held. */
int http_conn_cut(struct conn *c, int only_phase, const char *why);
void *http_janitor_main(void *arg);
/* Requests parked by http_suspend and not resumed (MHD aborts the process
 * when stopped with any). */
unsigned http_suspended_count(http_server *s);

/* ---- http_head.c ---- */

/* From the URI log callback: judges the raw request target (length, number
 * of query parameters) before MHD parses it. */
void http_head_judge(http_server *s, http_request *r, char *uri);
/* From begin: answers (problem+json) a request whose line or headers break
 * a rule; returns 1 when it did. */
int http_head_refuse(http_server *s, http_request *r);

#endif
