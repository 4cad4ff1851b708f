/* The model switch (issue 13, point 6): the `reembed` job, its progress,
 * and an audit of a tenant's vectors.
 *
 * A tenant's vectors live in the slot of the model that made them
 * (index_vector.h). The reembed job brings the tenant to the configured
 * model (embed_registry_configured):
 *   - the configured model is live (or nothing is live yet: the backfill
 *     of a tenant that got an embedder after its documents): it embeds
 *     every chunk that has no vector in the live slot, step by step; when
 *     every chunk has one it changes nothing;
 *   - another model is live: it builds the configured model's slot beside
 *     it (rebuild_start / rebuild_step), step by step in chunk id order,
 *     switches atomically once no chunk past its cursor remains, then
 *     deletes the old slot's rows in steps. Searches read the old slot
 *     (embedded with the old model, embed_registry_for_key) until the
 *     switch;
 *   - a build for some other model is under way (the settings changed
 *     again): it finishes that build first, with that model, then starts
 *     the configured one.
 * A step reads the chunks after the cursor in a read snapshot, embeds them
 * with no lock held, then adds in one write transaction (the tenant's
 * writer lock, store_begin) the vectors of the chunks still alive and records the
 * cursor. A crash or kill -9 leaves the last committed step; the job run
 * again continues from it. A provider outage puts the job back with a
 * delay and no attempt used (never dead-lettered); a job runs at most
 * REEMBED_RUN_MS before it puts itself back, so other work and a server
 * shutdown never wait on a long switch. */
#ifndef LORE_INGEST_INGEST_REEMBED_H
#define LORE_INGEST_INGEST_REEMBED_H

#include <stdint.h>
#include "embed/embed_registry.h"
#include "queue/queue.h"
#include "store/store.h"
#include "tenant/tenant_ctx.h"

#define INGEST_JOB_REEMBED "reembed"
/* Chunks embedded per step (one transaction each), by default. */
#define REEMBED_STEP_CHUNKS 256
/* Old-slot rows deleted per step after the switch. */
#define REEMBED_DELETE_BUDGET 4096
/* A job runs this long, then puts itself back (no attempt) to continue. */
#define REEMBED_RUN_MS 20000
/* How long a job waits after a provider outage when the provider gave no
 * Retry-After (and at most, when it did). */
#define REEMBED_OUTAGE_DELAY_MS 5000
#define REEMBED_OUTAGE_DELAY_MAX_MS 60000

/* Fills j (zeroed by the caller) as a reembed job of tenant: its kind,
 * group (one switch per tenant at a time), payload "{}" and weight
 * STORE_JOB_ALONE (never batched with writes). */
void ingest_reembed_job(store_job *j, const char *tenant);

/* Runs a claimed reembed job on ctx with the process's embedders (NULL:
 * none configured, the job fails saying so). step_chunks 0: the default.
 * Fills res (ok, release with a delay, or an error); *drop is set when the
 * context's handles failed and must not be trusted again. */
void ingest_reembed_run(tenant_ctx *ctx, embed_registry *reg, size_t step_chunks,
                        const store_job *j, queue_result *res, int *drop);

/* What GET /v1/reembed and lore reembed --status show. */
typedef struct reembed_progress {
    const char *phase; /* "idle", "copying" (building the new slot), "deleting" (the old one) */
    char live_key[VEC_MODEL_KEY_MAX + 1];   /* "" when nothing is embedded yet */
    char build_key[VEC_MODEL_KEY_MAX + 1];  /* "" unless copying */
    char target_key[VEC_MODEL_KEY_MAX + 1]; /* the configured model, "" without embedder */
    int64_t chunks;                         /* live chunks of the tenant */
    int64_t vectors;   /* vectors in the slot being built (copying), else the live slot */
    int64_t pending;   /* chunks without a vector in that slot */
    double percent;    /* vectors / chunks * 100 (100 with no chunk) */
    int switch_needed; /* the configured model is not live (run lore reembed) */
} reembed_progress;

/* The tenant's switch progress (reg NULL: no target). Reads committed
 * state; loads the slot's graph into this process when it is not yet. */
LORE_MUST_CHECK lore_status ingest_reembed_progress(tenant_ctx *ctx, embed_registry *reg,
                                                    reembed_progress *out, char *err,
                                                    size_t errlen);

/* An audit of a tenant's vectors, in one read snapshot: every live chunk
 * against the float rows of the live slot and its graph. */
typedef struct vec_audit {
    char live_key[VEC_MODEL_KEY_MAX + 1]; /* "" when no slot is live */
    int64_t chunks;                       /* live chunks */
    int64_t vectors;                      /* float rows in the live slot */
    int64_t graph_live;                   /* live nodes in its graph */
    int64_t missing;                      /* live chunks without a vector */
    int64_t missing_pending;             /* of which waiting in the embedding queue (pending set) */
    int64_t orphans;                     /* vectors whose chunk is gone */
    int64_t not_in_graph;                /* float rows the graph does not hold */
    int64_t first_missing, first_orphan; /* a chunk id of each kind, 0: none */
    /* 1 when every live chunk has exactly one vector in the live slot and
     * no vector belongs to a dead chunk (pending chunks aside when
     * allow_pending was given). */
    int ok;
} vec_audit;

LORE_MUST_CHECK lore_status ingest_vector_audit(tenant_ctx *ctx, int allow_pending, vec_audit *out,
                                                char *err, size_t errlen);

/* The JSON of GET /v1/reembed and lore reembed --status --json: {"phase",
 * "live_model", "build_model", "target_model" (null when absent),
 * "chunks", "vectors", "pending", "percent", "switch_needed"} and, with an
 * audit, "audit": {"ok", "chunks", "vectors", "graph_live", "missing",
 * "missing_pending", "orphans", "not_in_graph"}. NULL when out of memory. */
struct json_t;
struct json_t *ingest_reembed_json(const reembed_progress *p, const vec_audit *a);

#endif
