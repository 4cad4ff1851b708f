/* Embedding is a job, not a request: the pending set and the `embed` job.
 *
 * A write never waits for an embedding provider. Ingest writes, in the same
 * transaction as the chunks, one row per new chunk in the tenant's pending
 * set (KV namespace STORE_NS_EMBED_PENDING: key the chunk id, 8 bytes
 * big-endian; value the enqueue time in ms, 8 bytes big-endian) and keeps a
 * counter of those rows (STORE_NS_EMBED_STATE). It does so when this process
 * has an embedder configured or the tenant already has a vector slot (live or
 * being built). In the same transaction it removes the vectors and pending
 * rows of every chunk it deletes or replaces. Before such a batch commits,
 * an `embed` job is queued for the tenant (unless one is queued and not yet
 * started), so a crash after the commit cannot leave rows without a job.
 *
 * The `embed` job drains the pending set in steps: the pending chunks, their
 * titles and texts are read in a read snapshot, embedded with the embedder of
 * the tenant's live model key (the configured one while nothing is live)
 * with no lock held, then, in one write transaction (the tenant's writer
 * lock, store_begin), the chunks still pending get their vectors and lose their rows. Chunk ids
 * are never reused, so an embedding of a chunk deleted or replaced meanwhile
 * is dropped at commit (no row any more): a stale vector can never overwrite
 * a newer one. A provider that cannot answer now puts the job back with a
 * delay (no attempt used: never dead-lettered); a permanent error (a wrong
 * dimension, a 4xx) fails the job naming the provider, and the rows stay.
 * docs/jobs.md ("The embed job") and docs/embeddings.md. */
#ifndef LORE_INGEST_INGEST_EMBED_H
#define LORE_INGEST_INGEST_EMBED_H

#include <stddef.h>
#include <stdint.h>
#include "queue/queue.h"
#include "store/store.h"
#include "tenant/tenant_ctx.h"

#define INGEST_JOB_EMBED "embed"
#define INGEST_EMBED_GROUP "embed"

/* The pending set's namespaces (ingest's range 40-49, store.h). Stored
 * data: never renumber. */
enum {
    STORE_NS_EMBED_PENDING = 40, /* chunk id (8 B BE) -> enqueue time ms (8 B BE) */
    STORE_NS_EMBED_STATE = 41,   /* "count" -> rows in 40; "job" -> last embed job's id */
};
_Static_assert(STORE_NS_EMBED_PENDING >= STORE_NS_INGEST_MORE_FIRST &&
                   STORE_NS_EMBED_STATE <= STORE_NS_INGEST_MORE_LAST,
               "the pending set's namespaces are ingest's (store.h)");

/* How the embed job runs (copied into the job handler). */
typedef struct ingest_embed_settings {
    size_t step_chunks;     /* chunks embedded per step (one transaction); 0: 256 */
    size_t step_bytes;      /* text bytes read per step; 0: 4 MiB */
    int64_t run_ms;         /* a job releases itself after this long (others' turn); 0: 30 s */
    int64_t retry_min_ms;   /* first wait after a retryable failure; 0: 1 s */
    int64_t retry_max_ms;   /* longest wait (a Retry-After may ask more, up to 1 h); 0: 120 s */
    int64_t no_embedder_ms; /* wait when this process has no embedder; 0: 10 s */
    int max_attempts;       /* of the jobs queued (job_max_attempts); 0: 5 */
} ingest_embed_settings;

/* The enqueue hook's context (ingest_options.on_embed_pending): the control
 * store the job goes to and its attempts. */
typedef struct ingest_embed_enqueuer {
    store *control;
    int max_attempts;
} ingest_embed_enqueuer;

/* ingest_options.on_embed_pending for every writer: inside the tenant's
 * write transaction t, queues an embed job for it unless the last one it
 * queued has not started yet (then that one will see this batch's rows:
 * it decides it is finished only inside a write transaction, after this
 * one). ctx is an ingest_embed_enqueuer. */
LORE_MUST_CHECK lore_status ingest_embed_on_pending(void *ctx, store_tenant *t);

/* Runs one embed job on the tenant's context (job handler thread; each
 * write is a transaction of its own, never open across a network call). Fills res: done with a
 * result, released with a delay (provider unavailable, no embedder here, or
 * its time is up), or failed with an error naming the provider. *drop is
 * set when the context's handles failed and must not be trusted again. */
void ingest_embed_job_run(tenant_ctx *ctx, const ingest_embed_settings *cfg, const store_job *j,
                          queue_result *res, int *drop);

/* The tenant's pending set: rows and the oldest row's enqueue time (0 when
 * empty). Reads in t's open transaction or snapshot, else its own. */
LORE_MUST_CHECK lore_status ingest_embed_pending(store_tenant *t, int64_t *count,
                                                 int64_t *oldest_ms);

/* ---- process-wide figures, for /health/ready and /metrics ---- */

typedef struct ingest_embed_backlog {
    char tenant[STORE_NAME_MAX + 1];
    int64_t count;
    int64_t oldest_ms; /* enqueue time of the oldest row, 0 when none */
} ingest_embed_backlog;

/* Every tenant with chunks waiting, read from the store at most once per
 * max_age_ms (a cached copy otherwise; the probe and the scrape share it).
 * *out owned (free()). */
LORE_MUST_CHECK lore_status ingest_embed_backlog_all(store *control, int64_t max_age_ms,
                                                     ingest_embed_backlog **out, size_t *n);

/* Embed calls the embed jobs of this process made that failed, by kind, and
 * chunks they embedded. */
typedef struct ingest_embed_counters {
    uint64_t errors_retryable, errors_permanent, chunks_embedded, chunks_dropped;
} ingest_embed_counters;
void ingest_embed_counters_get(ingest_embed_counters *out);

#endif
