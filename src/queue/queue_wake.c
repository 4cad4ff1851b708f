/* The worker pool's listener (queue_wake.h).
 *
 * One thread with a store handle of its own waits in store_job_wait with a
 * pipe as its cancel fd: queue_wake_stop writes to the pipe, so the wait
 * ends at once however long its timeout, and a SIGTERM never waits on it.
 * Each LORE_OK (a notification, or listening (re)started) calls wake. A
 * failure (the store logs it, once per outage) marks the listener down and
 * calls wake, so workers sleeping their long wake_poll go back to the short
 * poll at once; the thread then retries after a pause that doubles from
 * 0.5 s to 30 s, interruptible too, and the wait that listens again marks
 * it up. */
#include "queue/queue_wake.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store/store.h"
#include "util/log.h"

#define WAKE_WAIT_MS 600000 /* one wait; the cancel fd ends it sooner */
#define WAKE_RETRY_MIN_MS 500
#define WAKE_RETRY_MAX_MS 30000

struct queue_wake {
    store *s;
    void (*wake)(void *ctx);
    void *ctx;
    pthread_t thread;
    int cancel[2]; /* a byte in [1] cancels the wait on [0] */
    atomic_int stop;
    atomic_int up;
    int said; /* the first start of listening is logged */
};

static void set_up(queue_wake *w, int up) {
    if (atomic_exchange(&w->up, up) != up) w->wake(w->ctx);
}

/* Listening (again): logged the first time. */
static void listening(queue_wake *w) {
    if (!atomic_exchange(&w->up, 1) && !w->said)
        lore_log(LORE_LOG_INFO, "queue: idle workers are woken by the store (LISTEN)");
    w->said = 1;
}

static void *wake_main(void *arg) {
    queue_wake *w = arg;
    int pause = WAKE_RETRY_MIN_MS;
    while (!atomic_load(&w->stop)) {
        lore_status st = store_job_wait(w->s, WAKE_WAIT_MS, w->cancel[0]);
        if (atomic_load(&w->stop)) break;
        if (st == LORE_OK) {
            pause = WAKE_RETRY_MIN_MS;
            listening(w);
            w->wake(w->ctx); /* a notification, or listening (again): look */
            continue;
        }
        if (st == LORE_TIMEOUT) continue;
        set_up(w, 0);
        if (st == LORE_UNSUPPORTED) break;
        struct pollfd pfd = {.fd = w->cancel[0], .events = POLLIN};
        (void)poll(&pfd, 1, pause);
        pause = pause * 2 < WAKE_RETRY_MAX_MS ? pause * 2 : WAKE_RETRY_MAX_MS;
    }
    return NULL;
}

lore_status queue_wake_start(const char *store_url, void (*wake)(void *ctx), void *ctx,
                             queue_wake **out, char *err, size_t errlen) {
    *out = NULL;
    store *s = NULL;
    lore_status st = store_open(store_url, STORE_OPEN_CREATE, &s, err, errlen);
    if (st != LORE_OK) return st;
    /* The first wait starts listening; unsupported: no listener at all. */
    if ((st = store_job_wait(s, 0, -1)) == LORE_UNSUPPORTED) {
        store_close(s);
        return LORE_OK;
    }
    queue_wake *w = calloc(1, sizeof *w);
    if (!w) {
        store_close(s);
        return LORE_NOMEM;
    }
    w->s = s;
    w->wake = wake;
    w->ctx = ctx;
    if (pipe2(w->cancel, O_CLOEXEC | O_NONBLOCK) != 0) {
        snprintf(err, errlen, "cannot make the job listener's pipe");
        free(w);
        store_close(s);
        return LORE_IO;
    }
    if (st == LORE_OK) listening(w); /* at once: the pool's workers look anyway */
    if (pthread_create(&w->thread, NULL, wake_main, w) != 0) {
        snprintf(err, errlen, "cannot start the job listener");
        close(w->cancel[0]);
        close(w->cancel[1]);
        free(w);
        store_close(s);
        return LORE_INTERNAL;
    }
    *out = w;
    return LORE_OK;
}

int queue_wake_listening(const queue_wake *w) {
    return w ? atomic_load(&((queue_wake *)w)->up) : 0;
}

void queue_wake_stop(queue_wake *w) {
    if (!w) return;
    atomic_store(&w->stop, 1);
    ssize_t n = write(w->cancel[1], "x", 1);
    (void)n;
    pthread_join(w->thread, NULL);
    close(w->cancel[0]);
    close(w->cancel[1]);
    store_close(w->s);
    free(w);
}
