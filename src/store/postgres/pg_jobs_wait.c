/* PostgreSQL backend: waking idle workers (job_wait).
 *
 * Enqueue, retry and finish NOTIFY lore_jobs in their transaction
 * (pg_jobs.c); PostgreSQL delivers the notification to every session
 * LISTENing when that transaction commits, on any node. job_wait keeps one
 * connection of its own per store (not from the pool: LISTEN belongs to a
 * session, and it sits idle between waits), LISTENs on it, and waits on its
 * socket with poll() until a notification arrives, the timeout passes or
 * the caller's cancel_fd becomes readable. A notification that arrived
 * between two waits is found at the start of the next one, so none is lost
 * while the connection lives; several coalesce into one wake-up, which is
 * all a waiting worker needs (it then claims).
 *
 * A LISTEN is proved before it is trusted: the connection also LISTENs on
 * a channel of its own (lore_probe_<random>), and a pooled connection
 * NOTIFYs it. Through PgBouncer in transaction mode LISTEN "succeeds" on a
 * server connection that then serves other clients, and this client, idle,
 * is linked to none, so it never hears anything: when neither the probe
 * nor a job's notification arrives within PROBE_MS, waiting is off for the
 * store's life (logged, LORE_UNSUPPORTED: the queue polls). The URL's
 * listen=off (pg_store.c) turns it off without the probe. The wait that
 * hears first answers LORE_OK: whatever was enqueued before it (or while a
 * broken connection was being replaced) woke no one.
 *
 * Nothing here blocks past the timeout or the cancel fd but the probe's
 * NOTIFY (one statement on a pooled connection): the connection is made
 * with PQconnectStart/PQconnectPoll and LISTEN is sent with PQsendQuery,
 * each step waiting in the same poll(), and a connection still being made
 * when a wait ends is carried on by the next. (libpq resolves a host name
 * inside PQconnectStart; a name, not an address, may block there.) A
 * failure closes the connection, logs once until a LISTEN is heard again,
 * and answers LORE_IO at once: the caller paces its retries. */
#include "store/postgres/pg_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "util/log.h"
#include "util/timeutil.h"

enum { L_CONNECTING = 0, L_SENT, L_PROBING, L_LISTENING };

/* How long the probe's notification may take to come back. */
#define PROBE_MS 30000

/* Drains the notifications read so far; 1 if there was any. */
static int drain(PGconn *c) {
    int any = 0;
    PGnotify *n;
    while ((n = PQnotifies(c))) {
        any = 1;
        PQfreemem(n);
    }
    return any;
}

/* Closes the connection after a failure, logging the first of a run with
 * detail (NULL: libpq's message). */
static lore_status lost(pg_store *s, const char *detail, const char *what) {
    if (!s->listen_lost) {
        /* libpq's message, on one line */
        const char *m = detail ? detail : s->listen ? PQerrorMessage(s->listen) : "out of memory";
        char msg[256];
        size_t n = 0;
        for (; *m && n + 1 < sizeof msg; m++) {
            char ch = *m == '\n' || *m == '\t' ? ' ' : *m;
            if (ch != ' ' || (n && msg[n - 1] != ' ')) msg[n++] = ch;
        }
        while (n && msg[n - 1] == ' ')
            n--;
        msg[n] = '\0';
        lore_log(LORE_LOG_WARN,
                 "store: job wake-ups (LISTEN lore_jobs): %s: %s; idle workers poll until it is "
                 "back",
                 what, msg[0] ? msg : "connection closed");
        s->listen_lost = 1;
    }
    PQfinish(s->listen);
    s->listen = NULL;
    return LORE_IO;
}

/* The LISTENs' answer has come: the probe goes out on a pooled connection
 * (another session, or, behind PgBouncer, another client), or a failure. */
static lore_status listen_done(pg_store *s) {
    int ok = 1;
    PGresult *r;
    while ((r = PQgetResult(s->listen))) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK) ok = 0;
        PQclear(r);
    }
    if (!ok) return lost(s, NULL, "LISTEN failed");
    char err[256], sql[64];
    PGconn *c = pg_pool_get(s->pool, err, sizeof err);
    if (!c) return lost(s, err, "cannot send the probe");
    snprintf(sql, sizeof sql, "NOTIFY %s", s->probe);
    lore_status st = pg_exec(c, sql, err, sizeof err);
    pg_pool_put(s->pool, c, st != LORE_OK);
    if (st != LORE_OK) return lost(s, err, "cannot send the probe");
    s->listen_state = L_PROBING;
    s->probe_until = lore_now_ms() + PROBE_MS;
    return LORE_TIMEOUT;
}

/* While probing: a notification (the probe's or a job's) proves the
 * session is kept, and listening starts; none in PROBE_MS means it is not
 * (a PgBouncer in transaction mode): waiting is off for good. */
static lore_status probe_check(pg_store *s) {
    if (drain(s->listen)) {
        s->listen_state = L_LISTENING;
        if (s->listen_lost)
            lore_log(LORE_LOG_INFO, "store: job wake-ups (LISTEN lore_jobs) are back");
        s->listen_lost = 0;
        return LORE_OK; /* listening starts: look once */
    }
    if (lore_now_ms() < s->probe_until) return LORE_TIMEOUT;
    lore_log(LORE_LOG_WARN,
             "store: job wake-ups are off: a notification sent to this process's LISTEN did not "
             "arrive in %d s, as behind a PgBouncer in transaction mode (which keeps no session); "
             "idle workers poll (set listen=off in store_url to skip this check)",
             PROBE_MS / 1000);
    PQfinish(s->listen);
    s->listen = NULL;
    s->listen_deaf = 1;
    return LORE_UNSUPPORTED;
}

/* One step with the socket ready (or at the start): LORE_OK (woken),
 * LORE_TIMEOUT (wait for *events on the socket), LORE_IO (lost). */
static lore_status step(pg_store *s, int ready, short *events) {
    PGconn *c = s->listen;
    if (s->listen_state == L_CONNECTING) {
        if (!ready) { /* what PQconnectPoll asked for last (at first: writable) */
            *events = (short)s->listen_events;
            return LORE_TIMEOUT;
        }
        switch (PQconnectPoll(c)) {
        case PGRES_POLLING_READING:
            *events = (short)(s->listen_events = POLLIN);
            return LORE_TIMEOUT;
        case PGRES_POLLING_WRITING:
            *events = (short)(s->listen_events = POLLOUT);
            return LORE_TIMEOUT;
        case PGRES_POLLING_OK: {
            char sql[96];
            snprintf(sql, sizeof sql, "LISTEN lore_jobs; LISTEN %s", s->probe);
            pg_quiet_notices(c);
            if (!PQsendQuery(c, sql)) return lost(s, NULL, "cannot send LISTEN");
            s->listen_state = L_SENT;
            *events = POLLIN;
            return LORE_TIMEOUT;
        }
        default:
            return lost(s, NULL, "cannot connect");
        }
    }
    if (!PQconsumeInput(c)) return lost(s, NULL, "the connection broke");
    if (s->listen_state == L_SENT) {
        *events = POLLIN;
        if (PQisBusy(c)) return LORE_TIMEOUT;
        lore_status st = listen_done(s);
        if (st != LORE_TIMEOUT) return st;
    }
    *events = POLLIN;
    if (s->listen_state == L_PROBING) return probe_check(s);
    return drain(c) ? LORE_OK : LORE_TIMEOUT;
}

lore_status pg_job_wait(store *base, int64_t timeout_ms, int cancel_fd) {
    pg_store *s = (pg_store *)base;
    if (s->listen_off || s->listen_deaf) return LORE_UNSUPPORTED;
    if (timeout_ms < 0) timeout_ms = 0;
    if (!s->listen) {
        s->listen = PQconnectStart(s->conninfo);
        s->listen_state = L_CONNECTING;
        s->listen_events = POLLOUT;
        if (!s->probe[0]) {
            uint64_t r = 0;
            if (getrandom(&r, sizeof r, 0) != sizeof r) r = (uint64_t)lore_mono_ns();
            snprintf(s->probe, sizeof s->probe, "lore_probe_%016llx", (unsigned long long)r);
        }
        if (!s->listen || PQstatus(s->listen) == CONNECTION_BAD)
            return lost(s, NULL, "cannot connect");
    }
    int64_t until = lore_now_ms() + timeout_ms;
    int ready = 0; /* a connection being made waits for its socket first */
    for (;;) {
        short events = POLLIN;
        lore_status st = step(s, ready, &events);
        if (st != LORE_TIMEOUT) return st;
        int64_t left = until - lore_now_ms();
        if (left <= 0) return LORE_TIMEOUT; /* a connection being made goes on next time */
        if (s->listen_state == L_PROBING && s->probe_until - lore_now_ms() < left)
            left = s->probe_until - lore_now_ms() > 0 ? s->probe_until - lore_now_ms() : 0;
        struct pollfd pfd[2] = {{.fd = PQsocket(s->listen), .events = events},
                                {.fd = cancel_fd, .events = POLLIN}};
        if (pfd[0].fd < 0) return lost(s, NULL, "no socket");
        int rc = poll(pfd, cancel_fd >= 0 ? 2 : 1, left > 60000 ? 60000 : (int)left);
        if (rc < 0 && errno != EINTR) return lost(s, NULL, "poll failed");
        if (rc > 0 && cancel_fd >= 0 && pfd[1].revents) return LORE_TIMEOUT;
        ready = rc > 0 && pfd[0].revents;
    }
}
