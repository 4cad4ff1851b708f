/* PostgreSQL backend: the connection pool.
 *
 * One pool per process and database: lore opens a store per thread (each
 * HTTP worker, each queue worker), and they all share the pool of their
 * conninfo, so the process never holds more than the cap of connections
 * however many threads it runs. A pool is reference-counted: pg_pool_new
 * returns the existing one for the same conninfo, pg_pool_free drops a
 * reference and closes the connections with the last.
 *
 * A connection is handed out whole (one thread at a time) and comes back
 * idle: one still inside a transaction, or one whose socket broke, is
 * closed instead of pooled. The one exception is a read snapshot's end: its
 * ROLLBACK is sent and the connection pooled without waiting for the
 * answer (pg_pool_put_pending), which the next taker reads first; so a
 * snapshot costs one round trip, its BEGIN, not two. A caller waiting while the cap is out gives up
 * after PG_POOL_WAIT_S with LORE_BUSY rather than forever: a thread that
 * holds a tenant's transaction and asks for a second connection (a job
 * queued before the commit) must not hang the process. A child forked
 * after a pool was made never shares its sockets: it gets a pool of its
 * own. */
#include "store/postgres/pg_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PG_POOL_DEFAULT_CAP 16
#define PG_POOL_MAX_CAP 1000
#define PG_POOL_WAIT_S 30

struct pg_pool {
    pg_pool *next; /* in the process's list */
    char *conninfo;
    int refs;
    int cap;
    int out;   /* connections handed out */
    int nidle; /* idle[0, nidle) */
    PGconn **idle;
    pthread_cond_t freed;
    pid_t pid; /* the process that made it: a forked child makes its own */
};

static pthread_mutex_t pools_lock = PTHREAD_MUTEX_INITIALIZER;
static pg_pool *pools;

lore_status pg_pool_new(const char *conninfo, int cap, pg_pool **out, char *err, size_t errlen) {
    *out = NULL;
    if (cap <= 0) cap = PG_POOL_DEFAULT_CAP;
    if (cap > PG_POOL_MAX_CAP) cap = PG_POOL_MAX_CAP;
    pthread_mutex_lock(&pools_lock);
    for (pg_pool *p = pools; p; p = p->next)
        if (p->pid == getpid() && !strcmp(p->conninfo, conninfo)) {
            p->refs++;
            /* The first store's cap holds: a process has one budget. */
            pthread_mutex_unlock(&pools_lock);
            *out = p;
            return LORE_OK;
        }
    pg_pool *p = calloc(1, sizeof *p);
    if (p &&
        (!(p->conninfo = strdup(conninfo)) || !(p->idle = calloc((size_t)cap, sizeof *p->idle)))) {
        free(p->conninfo);
        free(p);
        p = NULL;
    }
    if (!p) {
        pthread_mutex_unlock(&pools_lock);
        snprintf(err, errlen, "out of memory");
        return LORE_NOMEM;
    }
    p->refs = 1;
    p->cap = cap;
    p->pid = getpid();
    pthread_cond_init(&p->freed, NULL);
    p->next = pools;
    pools = p;
    pthread_mutex_unlock(&pools_lock);
    *out = p;
    return LORE_OK;
}

void pg_pool_free(pg_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&pools_lock);
    if (--p->refs > 0) {
        pthread_mutex_unlock(&pools_lock);
        return;
    }
    for (pg_pool **pp = &pools; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    pthread_mutex_unlock(&pools_lock);
    for (int i = 0; i < p->nidle; i++)
        PQfinish(p->idle[i]);
    pthread_cond_destroy(&p->freed);
    free(p->idle);
    free(p->conninfo);
    free(p);
}

/* PostgreSQL's notices (a CREATE ... IF NOT EXISTS that skipped, a DROP
 * that cascaded) are not lore's news: libpq would print them on stderr. */
static void quiet(void *arg, const char *message) {
    (void)arg;
    (void)message;
}

void pg_quiet_notices(PGconn *c) {
    PQsetNoticeProcessor(c, quiet, NULL);
}

/* A new connection, with the session settings lore relies on. */
static PGconn *connect_one(const char *conninfo, char *err, size_t errlen) {
    PGconn *c = PQconnectdb(conninfo);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        const char *m = c ? PQerrorMessage(c) : "out of memory";
        snprintf(err, errlen, "cannot connect to PostgreSQL: %s", m);
        size_t n = strlen(err);
        while (n && err[n - 1] == '\n')
            err[--n] = '\0';
        PQfinish(c);
        return NULL;
    }
    pg_quiet_notices(c);
    return c;
}

/* Reads what is left of the last command on a pooled connection (a read
 * snapshot's ROLLBACK, sent by pg_pool_put_pending); nothing on any other.
 * False when the connection is not fit to hand out. */
static int settle(PGconn *c) {
    int ok = PQstatus(c) == CONNECTION_OK;
    PGresult *r;
    while ((r = PQgetResult(c))) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK) ok = 0;
        PQclear(r);
    }
    return ok && PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE;
}

PGconn *pg_pool_get(pg_pool *p, char *err, size_t errlen) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += PG_POOL_WAIT_S;
    pthread_mutex_lock(&pools_lock);
    for (;;) {
        while (p->nidle > 0) {
            PGconn *c = p->idle[--p->nidle];
            p->out++;
            /* Outside the lock: settling may wait for the server. */
            pthread_mutex_unlock(&pools_lock);
            if (settle(c)) return c;
            PQfinish(c); /* the server closed it while idle, or the ROLLBACK failed */
            pthread_mutex_lock(&pools_lock);
            p->out--;
        }
        if (p->out < p->cap) break;
        if (pthread_cond_timedwait(&p->freed, &pools_lock, &until) == ETIMEDOUT) {
            pthread_mutex_unlock(&pools_lock);
            snprintf(err, errlen,
                     "all %d PostgreSQL connections of this process are in use (pool_max)", p->cap);
            return NULL;
        }
    }
    p->out++; /* reserved while connecting, outside the lock */
    pthread_mutex_unlock(&pools_lock);
    PGconn *c = connect_one(p->conninfo, err, errlen);
    if (!c) {
        pthread_mutex_lock(&pools_lock);
        p->out--;
        pthread_cond_signal(&p->freed);
        pthread_mutex_unlock(&pools_lock);
    }
    return c;
}

/* Pools c (closes it when broken, or when the pool is full). pending: c
 * has just been sent a command whose answer nobody waits for (a read
 * snapshot's ROLLBACK); the next pg_pool_get reads it before handing c out. */
static void put(pg_pool *p, PGconn *c, int broken, int pending) {
    if (!c) return;
    if (!broken &&
        (PQstatus(c) != CONNECTION_OK || (!pending && PQtransactionStatus(c) != PQTRANS_IDLE)))
        broken = 1;
    pthread_mutex_lock(&pools_lock);
    p->out--;
    if (!broken && p->nidle < p->cap) {
        p->idle[p->nidle++] = c;
        c = NULL;
    }
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&pools_lock);
    PQfinish(c); /* NULL: pooled */
}

void pg_pool_put(pg_pool *p, PGconn *c, int broken) {
    put(p, c, broken, 0);
}

void pg_pool_put_pending(pg_pool *p, PGconn *c) {
    put(p, c, 0, 1);
}
