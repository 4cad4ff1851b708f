/* Guarding the connections: the janitor that cuts slow clients, and the
 * drain on shutdown.
 *
 * Cutting: shutting a connection's socket makes MHD see it closed. A cut is
 * a compare-and-swap of the connection's phase to CUT (http_int.h), so it
 * never lands on a request whose handler runs or has run: a handler may
 * have committed a write, and its answer must go out. The registry lock is
 * held while cutting, and a connection leaves the registry before MHD closes
 * its socket, so a cut never touches a reused fd.
 *
 * The drain (http_server_drain):
 *   1. From the moment it begins, a request that reaches the server (its
 *      headers complete) is answered 503 shutting-down with Connection:
 *      close and never handed to the application. The count of requests in
 *      flight is raised before the draining flag is read, and the flag is set
 *      before the count is read, so every request the application took is
 *      one the drain waits for.
 *   2. The listening socket stops accepting (MHD_quiesce_daemon) and is shut:
 *      new connections are refused and those still in the kernel's accept
 *      queue are reset, at once rather than when the process exits. The
 *      descriptor itself stays open until MHD has stopped (MHD's threads may
 *      still hold its number).
 *   3. Requests in flight finish: their bodies arrive, their handlers run,
 *      their answers (with Connection: close) go out.
 *   4. At the drain timeout, connections whose handler has not run (headers
 *      or body still arriving, answer not taken by the client) are cut:
 *      nothing of them was done. Requests whose handler is running get
 *      HANDLER_GRACE_MS more to answer. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/http_int.h"
#include "util/log.h"
#include "util/timeutil.h"

#define RATE_WINDOW_NS (10LL * 1000000000LL)
#define HANDLER_GRACE_MS 10000

int http_conn_cut(struct conn *c, int only_phase, const char *why) {
    if (c->fd < 0) return 0;
    int cur = atomic_load(&c->phase);
    do {
        if (cur == PH_HANDLING || cur == PH_CUT) return 0;
        if (only_phase >= 0 && cur != only_phase) return 0;
    } while (!atomic_compare_exchange_weak(&c->phase, &cur, PH_CUT));
    LORE_INFO("http: closing connection from %s: %s", c->ip, why);
    shutdown(c->fd, SHUT_RDWR);
    return 1;
}

static void janitor_pass(http_server *s) {
    int64_t now = lore_mono_ns();
    int64_t header_ns = (int64_t)s->cfg.header_timeout_s * 1000000000LL;
    pthread_mutex_lock(&s->lock);
    for (struct conn *c = s->conns; c; c = c->next) {
        int ph = atomic_load(&c->phase);
        if (ph == PH_HEADERS && now - atomic_load(&c->phase_ns) > header_ns) {
            http_conn_cut(c, PH_HEADERS, "headers not complete in time");
        } else if (ph == PH_BODY && s->cfg.min_body_rate) {
            int64_t w = atomic_load(&c->window_ns);
            if (now - w >= RATE_WINDOW_NS) {
                int64_t got = atomic_exchange(&c->body_bytes, 0);
                atomic_store(&c->window_ns, now);
                if ((double)got < (double)s->cfg.min_body_rate * (double)(now - w) / 1e9)
                    http_conn_cut(c, PH_BODY, "body arriving slower than min_body_rate");
            }
        }
    }
    pthread_mutex_unlock(&s->lock);
}

void *http_janitor_main(void *arg) {
    http_server *s = arg;
    pthread_mutex_lock(&s->stop_lock);
    while (!s->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 250000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->stop_cond, &s->stop_lock, &ts);
        if (s->stopping) break;
        pthread_mutex_unlock(&s->stop_lock);
        janitor_pass(s);
        pthread_mutex_lock(&s->stop_lock);
    }
    pthread_mutex_unlock(&s->stop_lock);
    return NULL;
}

unsigned http_suspended_count(http_server *s) {
    unsigned n = 0;
    pthread_mutex_lock(&s->lock);
    for (struct conn *c = s->conns; c; c = c->next) {
        pthread_mutex_lock(&c->susp_lock);
        n += c->req.susp == SUSP_DONE;
        pthread_mutex_unlock(&c->susp_lock);
    }
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* Waits until nothing is in flight or until the monotonic deadline. */
static void wait_idle(http_server *s, int64_t deadline_ns) {
    while (atomic_load(&s->in_flight) && lore_mono_ns() < deadline_ns) {
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

void http_server_begin_drain(http_server *s) {
    atomic_store(&s->draining, 1);
    if (s->d && s->listen_fd == MHD_INVALID_SOCKET) {
        MHD_socket ls = MHD_quiesce_daemon(s->d);
        if (ls != MHD_INVALID_SOCKET) {
            shutdown(ls, SHUT_RDWR);
            s->listen_fd = ls;
        }
    }
}

unsigned http_server_drain(http_server *s, unsigned drain_ms) {
    http_server_begin_drain(s);
    wait_idle(s, lore_mono_ns() + (int64_t)drain_ms * 1000000LL);
    if (!atomic_load(&s->in_flight)) return 0;
    unsigned cut = 0;
    pthread_mutex_lock(&s->lock);
    for (struct conn *c = s->conns; c; c = c->next)
        cut += (unsigned)http_conn_cut(c, -1, "the drain timeout passed before the request was in");
    pthread_mutex_unlock(&s->lock);
    LORE_WARN("http: drain timeout: %u connection(s) cut before their handler ran; waiting up to "
              "%d ms for %u running handler(s)",
              cut, HANDLER_GRACE_MS, atomic_load(&s->in_flight));
    wait_idle(s, lore_mono_ns() + (int64_t)HANDLER_GRACE_MS * 1000000LL);
    return atomic_load(&s->in_flight);
}
