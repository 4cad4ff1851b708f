/* Embedded store: the writer lock of each tenant database, one per database
 * file in the process, taken by store_begin before BEGIN IMMEDIATE and
 * given back when the transaction ends (sqlite_tenants.c).
 *
 * SQLite lets one connection write a database at a time; the others wait in
 * its busy handler, which sleeps in growing steps and polls. Between the
 * threads of one process that is slow under contention (tens of
 * milliseconds lost per hand-over) and unfair (a thread that keeps writing
 * wins over one that sleeps), and a waiter that is unlucky for the whole
 * busy timeout gets SQLITE_BUSY although the tenant was never stuck. So the
 * threads of a process queue here first, and only one of them at a time
 * meets SQLite's lock, where it waits for other processes only (lore
 * worker, the CLI).
 *
 * The lock is keyed by the database file (device and inode), so every
 * handle of the process on one tenant shares it, whichever store handle and
 * data directory spelling opened it. It hands over in turn: a thread that
 * ends its transaction and begins the next one queues behind the writers
 * already waiting. A begin waits SQLITE_WRITER_WAIT_MS at most, then
 * answers LORE_BUSY; a begin from the thread that holds the lock already
 * (a second handle on the same tenant, whose transaction would wait for
 * the first) answers LORE_BUSY at once. */
#include "store/sqlite/sqlite_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

/* A thread waiting for the lock: a node of the lock's queue, on the
 * waiter's stack, with a condition of its own so that a release wakes the
 * one thread it hands the lock to. */
typedef struct writer_wait {
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    pthread_t thread;
    int granted; /* the lock is this waiter's: set by release, under mu */
    struct writer_wait *next;
} writer_wait;

struct sqlite_writer {
    dev_t dev;
    ino_t ino;
    int refs; /* handles on it; under registry_lock */
    struct sqlite_writer *next;
    pthread_mutex_t mu;
    int held;
    pthread_t owner;          /* while held */
    writer_wait *head, *tail; /* the waiters, first come first */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static sqlite_writer *registry;

lore_status sqlite_writer_get(const char *path, sqlite_writer **out) {
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0) return errno == ENOENT ? LORE_NOT_FOUND : LORE_IO;
    pthread_mutex_lock(&registry_lock);
    sqlite_writer *w = registry;
    while (w && !(w->dev == sb.st_dev && w->ino == sb.st_ino))
        w = w->next;
    if (!w && (w = calloc(1, sizeof *w)) != NULL) {
        pthread_mutex_init(&w->mu, NULL);
        w->dev = sb.st_dev;
        w->ino = sb.st_ino;
        w->next = registry;
        registry = w;
    }
    if (w) w->refs++;
    pthread_mutex_unlock(&registry_lock);
    *out = w;
    return w ? LORE_OK : LORE_NOMEM;
}

void sqlite_writer_put(sqlite_writer *w) {
    if (!w) return;
    pthread_mutex_lock(&registry_lock);
    int last = --w->refs == 0;
    if (last) {
        sqlite_writer **p = &registry;
        while (*p != w)
            p = &(*p)->next;
        *p = w->next;
    }
    pthread_mutex_unlock(&registry_lock);
    if (!last) return;
    pthread_mutex_destroy(&w->mu);
    free(w);
}

static void unlink_wait(sqlite_writer *w, writer_wait *me) {
    writer_wait **p = &w->head, *prev = NULL;
    while (*p && *p != me) {
        prev = *p;
        p = &(*p)->next;
    }
    if (!*p) return;
    *p = me->next;
    if (w->tail == me) w->tail = prev;
}

lore_status sqlite_writer_take(sqlite_writer *w, const char *tenant, char *err, size_t errlen) {
    pthread_mutex_lock(&w->mu);
    if (!w->held) { /* free means nobody waits either: release hands it on */
        w->held = 1;
        w->owner = pthread_self();
        pthread_mutex_unlock(&w->mu);
        return LORE_OK;
    }
    if (pthread_equal(w->owner, pthread_self())) {
        pthread_mutex_unlock(&w->mu);
        snprintf(err, errlen,
                 "tenant %s: this thread already holds a write transaction on it (through "
                 "another handle); a nested store_begin would wait for itself",
                 tenant);
        return LORE_BUSY;
    }
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += SQLITE_WRITER_WAIT_MS / 1000;
    until.tv_nsec += (long)(SQLITE_WRITER_WAIT_MS % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    writer_wait me = {.thread = pthread_self()};
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&me.cv, &ca);
    pthread_condattr_destroy(&ca);
    if (w->tail)
        w->tail->next = &me;
    else
        w->head = &me;
    w->tail = &me;
    int rc = 0;
    while (!me.granted && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&me.cv, &w->mu, &until);
    if (!me.granted) unlink_wait(w, &me); /* granted: release took it off the queue */
    pthread_mutex_unlock(&w->mu);
    pthread_cond_destroy(&me.cv);
    if (me.granted) return LORE_OK;
    snprintf(err, errlen,
             "tenant %s: other writers of this process held its write transaction for %d s "
             "without a turn for this one",
             tenant, SQLITE_WRITER_WAIT_MS / 1000);
    return LORE_BUSY;
}

void sqlite_writer_release(sqlite_writer *w) {
    pthread_mutex_lock(&w->mu);
    writer_wait *next = w->head;
    if (next) {
        /* Handed to the first waiter, never freed in between: a thread
         * arriving now (the one that just released, beginning again)
         * queues behind the ones already waiting. */
        w->head = next->next;
        if (!w->head) w->tail = NULL;
        next->granted = 1;
        w->owner = next->thread;
        pthread_cond_signal(&next->cv);
    } else {
        w->held = 0;
    }
    pthread_mutex_unlock(&w->mu);
}

size_t sqlite_writer_waiting(sqlite_writer *w) {
    pthread_mutex_lock(&w->mu);
    size_t n = 0;
    for (writer_wait *q = w->head; q; q = q->next)
        n++;
    pthread_mutex_unlock(&w->mu);
    return n;
}
