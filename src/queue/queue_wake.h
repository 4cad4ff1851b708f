/* The worker pool's listener: wakes idle workers when the store says a job
 * may have become runnable anywhere (store_job_wait: PostgreSQL's
 * LISTEN/NOTIFY), so they need not poll the store for other processes'
 * jobs. Internal to src/queue/ (queue.c starts one per pool). */
#ifndef LORE_QUEUE_QUEUE_WAKE_H
#define LORE_QUEUE_QUEUE_WAKE_H

#include <stddef.h>
#include "util/status.h"

typedef struct queue_wake queue_wake;

/* Opens a store handle of its own on store_url and, when the store can wake
 * (store_job_wait is supported), starts a thread that calls wake(ctx) at
 * every sign, and once each time listening starts. *out is NULL (and the
 * status LORE_OK) when the store cannot wake: the pool polls. */
LORE_MUST_CHECK lore_status queue_wake_start(const char *store_url, void (*wake)(void *ctx),
                                             void *ctx, queue_wake **out, char *err, size_t errlen);
/* 1 while the listener is listening (wake-ups come), 0 before it first
 * listens, while its connection is being replaced, or for NULL. wake(ctx)
 * is called whenever this changes. */
int queue_wake_listening(const queue_wake *w);
/* Stops the thread (its wait is cancelled at once) and frees w. */
void queue_wake_stop(queue_wake *w);

#endif
