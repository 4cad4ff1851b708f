/* The durable job queue's policy and its worker pool.
 *
 * The store (store.h, "durable jobs") keeps the rows and makes each
 * transition atomic; this module decides what the transitions are: how long
 * a lease lasts and when it is renewed, how long a failed job waits before
 * its next attempt (exponential backoff with full jitter), when a job is
 * dead-lettered, how long finished jobs are kept. docs/jobs.md states the
 * guarantees; the code that keeps each one is named there.
 *
 * What a job does is not this module's business: the pool hands claimed
 * batches to a handler (ingest/ingest_jobs.h for lore's own jobs), one
 * batch per worker thread at a time, all jobs of a batch from one tenant. */
#ifndef LORE_QUEUE_QUEUE_H
#define LORE_QUEUE_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include "metrics/metrics.h"
#include "store/store.h"
#include "util/status.h"

typedef struct queue_config {
    int64_t lease_ms;           /* visibility timeout; renewed every third of it */
    int max_attempts;           /* a job failing this many times is dead-lettered */
    int64_t backoff_base_ms;    /* wait before the second attempt (then doubling) */
    int64_t backoff_max_ms;     /* longest wait between attempts */
    int64_t retention_ms;       /* done and dead jobs older than this are purged */
    int64_t max_pending_tenant; /* back-pressure: pending jobs per tenant (0: none) */
    int64_t max_pending_total;  /* back-pressure: pending jobs overall (0: none) */
    size_t claim_max_jobs;      /* jobs a worker takes at once (one transaction) */
    int64_t claim_max_weight;   /* payload bytes a worker takes at once */
    int64_t poll_ms;            /* idle workers look for jobs from other processes */
    int64_t wake_poll_ms;       /* ... this often instead while the store wakes them */
} queue_config;

void queue_config_default(queue_config *c);
/* The defaults with the job_* and queue_* settings applied. */
struct lore_config;
void queue_config_from(queue_config *q, const struct lore_config *c);

/* Milliseconds to wait before the attempt after `attempts` failed ones:
 * a uniform draw in [0, min(max, base * 2^(attempts-1))] ("full jitter"),
 * never less than 1/4 of that bound so retries do not pile up at once. */
int64_t queue_backoff_ms(const queue_config *c, int attempts, uint64_t random);

/* The outcome for a claimed job that failed with error: a retry after a
 * backoff, or dead once it has used max_attempts. */
void queue_failure(const queue_config *c, const store_job *j, const char *error, int64_t now_ms,
                   uint64_t random, store_job_outcome *o);

/* What a handler reports for each job of a batch. */
typedef struct queue_result {
    int ok;      /* 1: done */
    int release; /* 0 with ok 0: failed (an attempt); 1: not run, put back */
    /* With release: run again no sooner than this many ms from now (0: at
     * once). For work waiting on something outside lore (an embedding
     * provider that is down): the job waits without using its attempts, so
     * it is never dead-lettered for it. */
    int64_t release_delay_ms;
    char *error;   /* owned (malloc): why it failed */
    char *result;  /* owned: JSON summary of a done job, may be NULL */
    int keep_blob; /* the blob holds the job's output: kept past done, until purged */
} queue_result;

/* A handler: per-thread state (thread_new/thread_free, may be NULL) and a
 * run call that performs a claimed batch and fills one result per job. run
 * must be idempotent per job: a job may run again after a crash. */
typedef struct queue_handler {
    void *ctx;
    void *(*thread_new)(void *ctx, store *s);
    void (*thread_free)(void *thread_state);
    void (*run)(void *thread_state, store *s, const store_job *jobs, size_t n,
                queue_result *results);
    /* Called after a batch's outcomes are committed (may be NULL): the
     * server wakes requests waiting on these jobs. */
    void (*finished)(void *finished_ctx, const store_job *jobs, size_t n);
    void *finished_ctx;
    /* Called after a batch ran (started at t0, lore_mono_ns), with each
     * job's result, by the worker named who (may be NULL): the test build
     * traces jobs with it. */
    void (*observe)(void *observe_ctx, const store_job *jobs, const queue_result *res, size_t n,
                    const char *who, int64_t t0);
    void *observe_ctx;
} queue_handler;

typedef struct queue_pool queue_pool;

/* Starts threads workers on the store store_url names (a data directory
 * works too: store_open), and a listener (queue_wake.h) when the store can
 * wake idle workers: while it listens they look every wake_poll_ms, else
 * every poll_ms, and at the end of a delay this pool gave a job it retried
 * or released. name identifies the
 * process in job records ("serve:1234", "worker:5678"); each thread adds
 * its number. Metrics are registered in reg when non-NULL. */
LORE_MUST_CHECK lore_status queue_pool_start(const char *store_url, const queue_config *c,
                                             unsigned threads, const char *name,
                                             const queue_handler *h, metrics_registry *reg,
                                             queue_pool **out, char *err, size_t errlen);
/* Wakes idle workers at once (a job was just enqueued by this process). */
void queue_pool_notify(queue_pool *p);
/* Lets running batches finish, then stops the threads and frees the pool. */
void queue_pool_stop(queue_pool *p);
/* Jobs finished by this pool so far (done or dead). */
uint64_t queue_pool_finished(const queue_pool *p);

/* A state name ("ready", "leased", "done", "dead") and back; -1 if unknown. */
const char *queue_state_name(int state);
int queue_state_parse(const char *name);

#endif
