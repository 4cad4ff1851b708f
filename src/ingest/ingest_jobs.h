/* lore's own jobs: what a write becomes once it is accepted, and the
 * handler workers run it with.
 *
 * Kinds and payloads (JSON, versioned by kind name; docs/jobs.md):
 *   documents  {"viewer": V, "documents": [<document JSON>, ...]}
 *   file       {"viewer": V, "name": "a.pdf", "source": "upload",
 *               "id": "<external id>"|null, "acl": [..]}  + the upload as a blob
 *   delete     {"viewer": V, "id": "<16 hex document id>"}
 *   path       {"path": "/abs/dir", "source": "files", "acl": [..], "sync": true?}
 *              (lore ingest: a file or directory on this machine, walked when the
 *              job runs; with sync, ingest_sync_path). Its blob, when it has one,
 *              is no input: the job writes every problem there, one JSON line
 *              each ({"path", "message", "error"}), kept until the job is purged.
 *   reindex    {}
 *   embed      {}  (drains the tenant's pending set: ingest_embed.h)
 *   reembed    {}  (the model switch: ingest_reembed.h)
 * V is who asked: {"all": true} or {"principals": [...]}. The handler
 * applies the same permission rule the API checked at the door (a key may
 * not replace or delete a document hidden from it), because the document
 * may have changed in between.
 *
 * Every handler is idempotent: a document whose content hash is unchanged
 * is a no-op, deleting a missing document succeeds, and a re-index step
 * continues from the cursor it committed. So a job run twice (the
 * at-least-once case) leaves the same state as one run. */
#ifndef LORE_INGEST_INGEST_JOBS_H
#define LORE_INGEST_INGEST_JOBS_H

#include <jansson.h>
#include "index/lexical/index_lexical.h"
#include "ingest/ingest.h"
#include "ingest/ingest_embed.h"
#include "queue/queue.h"
#include "store/store.h"

#define INGEST_JOB_DOCUMENTS "documents"
#define INGEST_JOB_FILE "file"
#define INGEST_JOB_DELETE "delete"
#define INGEST_JOB_REINDEX "reindex"
#define INGEST_JOB_PATH "path"

/* Extra job kinds: work that runs inside the ingest job batch (one
 * session, one transaction per batch) but belongs to another module, which
 * the composition root (cli/) registers, so ingest/ knows none of them (the
 * connectors' "hook"). run gets the worker's control store handle, the
 * batch's session (its tenant is the job's), the job and its payload parsed
 * (inline or from its blob), and returns 0 when done, with what it did in
 * result (a JSON object it may add to), or -1: *error (owned) says why the
 * job failed, or *st is a store failure that fails the whole batch. Like
 * lore's own kinds it must be idempotent. The table and its strings must
 * outlive the handler. */
#define INGEST_JOB_KIND_VERSION 1
typedef struct ingest_job_kind {
    int version; /* INGEST_JOB_KIND_VERSION */
    const char *kind;
    int (*run)(const struct ingest_job_kind *self, store *control, ingest_session *ss,
               const store_job *job, const json_t *payload, json_t *result, char **error,
               lore_status *st);
    void *ctx; /* the registering module's */
} ingest_job_kind;

/* Settings every job runs with (copied into the handler). */
typedef struct ingest_job_settings {
    ingest_options ingest;       /* chunking and parse limits; callbacks are the handler's */
    tenant_settings tenant;      /* how each tenant's indexes are opened */
    size_t reindex_step_chunks;  /* chunks per re-index transaction */
    size_t reembed_step_chunks;  /* chunks per model-switch step (0: REEMBED_STEP_CHUNKS) */
    ingest_embed_settings embed; /* how embed jobs run (ingest_embed.h) */
    /* A batch starts no job after running this long; the rest go back to
     * the queue without an attempt. 0: INGEST_JOB_BATCH_TIME_MS; negative:
     * one job per batch (tests). */
    int64_t batch_time_ms;
    /* Extra kinds (borrowed; NULL: none). A kind of a version this build
     * does not know, or that names one of lore's own, is ignored. */
    const ingest_job_kind *kinds;
    size_t nkinds;
} ingest_job_settings;

#define INGEST_JOB_BATCH_TIME_MS 1000

/* The settings from the configuration (chunk sizes, parse limits, the
 * tenants' settings: tenant_settings_from_config). */
struct lore_config;
void ingest_job_settings_from(ingest_job_settings *s, const struct lore_config *c);

/* The handler for queue_pool_start. settings is copied; the returned
 * handler's ctx is owned and freed with ingest_job_handler_free. */
LORE_MUST_CHECK lore_status ingest_job_handler(const ingest_job_settings *settings,
                                               queue_handler *out);
void ingest_job_handler_free(queue_handler *h);

/* Payloads (owned JSON text, NULL when out of memory). who NULL: all. */
char *ingest_job_documents_payload(const store_viewer *who, json_t *documents);
char *ingest_job_file_payload(const store_viewer *who, const char *name, const char *source,
                              const char *external_id, const char *const *acl, size_t nacl);
char *ingest_job_delete_payload(const store_viewer *who, const char *doc_id);
char *ingest_job_path_payload(const char *path, const char *source, const char *const *acl,
                              size_t nacl, int sync);
/* A path job's result: {"files", "added", "updated", "unchanged",
 * "deleted" and "renamed" (syncs), "failed", "skipped", "chunks", "bytes",
 * "problem_count" (notes and errors), "error_count", and either
 * "problems_recorded" (the lines its blob holds: every problem, up to
 * INGEST_JOB_PROBLEMS_FILE_MAX bytes of them) or, for a job without a blob
 * or whose blob could not be stored,
 * "problems": [{"path", "message", "error"}] (the first
 * INGEST_JOB_MAX_PROBLEMS)}. */
#define INGEST_JOB_MAX_PROBLEMS 200
#define INGEST_JOB_PROBLEMS_FILE_MAX (256ull << 20)

#endif
