/* PostgreSQL backend: waking idle workers (job_wait).
 *
 * Enqueue, retry and finish NOTIFY lore_jobs in their transaction
 * (pg_jobs.c); PostgreSQL delivers the notification to every session
 * LISTENing when that transaction commits, on any node. job_wait keeps one
 * connection of its own per store (not from the pool: LISTEN belongs to a
 * session, and it sits idle between waits), LISTENs on it once, and waits
 * on its socket with poll() until a notification arrives or the timeout
 * passes. A notification that arrived between two waits is found at the
 * start of the next one, so none is lost; several coalesce into one
 * wake-up, which is all a waiting worker needs (it then claims).
 *
 * Through PgBouncer in transaction mode LISTEN does not work (the session
 * is not kept): point this connection at PostgreSQL directly, or leave it
 * failing: job_wait then sleeps the timeout and the queue polls. */
#include "store/postgres/pg_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <time.h>

#include "util/log.h"
#include "util/timeutil.h"

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

static lore_status listen_open(pg_store *s) {
    if (s->listen && PQstatus(s->listen) == CONNECTION_OK) return LORE_OK;
    PQfinish(s->listen);
    s->listen = PQconnectdb(s->conninfo);
    char err[256];
    lore_status st = LORE_IO;
    if (s->listen && PQstatus(s->listen) == CONNECTION_OK) {
        pg_quiet_notices(s->listen);
        st = pg_exec(s->listen, "LISTEN lore_jobs", err, sizeof err);
    } else
        snprintf(err, sizeof err, "%s", s->listen ? PQerrorMessage(s->listen) : "out of memory");
    if (st != LORE_OK) {
        lore_log(LORE_LOG_WARN, "store: job wake-ups: cannot LISTEN: %s", err);
        PQfinish(s->listen);
        s->listen = NULL;
    }
    return st;
}

static void sleep_ms(int64_t ms) {
    if (ms <= 0) return;
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

lore_status pg_job_wait(store *base, int64_t timeout_ms) {
    pg_store *s = (pg_store *)base;
    if (timeout_ms < 0) timeout_ms = 0;
    if (listen_open(s) != LORE_OK) {
        sleep_ms(timeout_ms); /* the caller polls at its own pace */
        return LORE_IO;
    }
    int64_t until = lore_now_ms() + timeout_ms;
    for (;;) {
        if (!PQconsumeInput(s->listen)) break; /* the connection broke */
        if (drain(s->listen)) return LORE_OK;
        int64_t left = until - lore_now_ms();
        if (left <= 0) return LORE_OK;
        struct pollfd pfd = {.fd = PQsocket(s->listen), .events = POLLIN};
        if (pfd.fd < 0) break;
        int rc = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
        if (rc < 0 && errno != EINTR) break;
    }
    PQfinish(s->listen); /* reconnected at the next wait */
    s->listen = NULL;
    return LORE_IO;
}
