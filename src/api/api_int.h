/* Internals of the REST API shared by its files: the server-wide state, the
 * per-thread resources, the per-request context and the helpers handlers
 * use to read JSON and answer. Handlers live in api_<area>.c, one area each. */
#ifndef LORE_API_API_INT_H
#define LORE_API_API_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include "api/api.h"
#include "auth/apikey.h"
#include "auth/jwt.h"
#include "auth/ratelimit.h"
#include "crypto/seal.h"
#include "http/multipart.h"
#include "http/router.h"
#include "index/lexical/index_lexical.h"
#include "metrics/metrics.h"
#include "queue/queue.h"
#include "search/search.h"
#include "store/store.h"
#include "tenant/tenant_ctx.h"
#include "view/view.h"

/* What a route needs from its caller. */
typedef enum api_access {
    ACCESS_PUBLIC, /* no key (the OpenAPI document); rate-limited per address */
    ACCESS_PROBE,  /* no key, never rate-limited: the health probes, and /metrics
                      unless metrics_public = 0 (then scope server) */
    ACCESS_HOOK,   /* no key: a webhook delivery, whose signature is the credential
                      (api_hooks.c checks it and rate-limits per connector) */
    ACCESS_READ,   /* a key with scope read */
    ACCESS_WRITE,  /* scope write */
    ACCESS_ADMIN,  /* scope admin: the key's tenant */
    ACCESS_SERVER, /* scope server: every tenant */
    ACCESS_ANY,    /* any live key, whatever its scopes (the session routes) */
} api_access;

/* How a route takes its body. */
/* BODY_RAW: buffered as it came, whatever its type (a webhook delivery,
 * whose bytes are what its signature covers), up to hook_max_body_kb. */
/* BODY_JSON_OPTIONAL: none (no Content-Type and no bytes), or JSON as
 * BODY_JSON; the handler finds http_body NULL when there was none. */
typedef enum api_body { BODY_NO, BODY_JSON, BODY_MULTIPART, BODY_RAW, BODY_JSON_OPTIONAL } api_body;

typedef struct api_req api_req;
typedef void (*api_handler)(api_req *q);

typedef struct api_route_def {
    http_route route; /* method, pattern, id = index in the table */
    api_access access;
    api_body body;
    api_handler handle;
    /* Streaming routes (multipart): set up the stream in begin. */
    void (*begin_stream)(api_req *q);
    void (*cleanup)(api_req *q);
} api_route_def;

/* A tenant opened on one thread: its context (store handle and indexes,
 * tenant/tenant_ctx.h) and its search engine. Kept as the user data of the
 * thread's tenant_cache entry. */
typedef struct api_tenant {
    tenant_ctx *ctx;
    store_tenant *t; /* ctx->store */
    search_engine *search;
} api_tenant;

#define API_TENANTS_PER_THREAD 8

/* Per-thread resources: store handles are single-thread (store.h). */
typedef struct api_thread {
    api *a;
    store *control;
    tenant_cache tenants; /* API_TENANTS_PER_THREAD slots, LRU */
    uint64_t gen;         /* api.tenant_gen when the cache was last valid */
} api_thread;

#define API_MAX_ROUTES 64
/* Route ids from here on name mounts (api.h), not entries of the table. */
#define API_MOUNT_ID 1000

struct api {
    lore_config cfg;
    http_route routes[API_MAX_ROUTES + API_MAX_MOUNTS]; /* table and mounts, for the router */
    size_t nroutes;
    api_mount mounts[API_MAX_MOUNTS];
    char *mount_challenge[API_MAX_MOUNTS]; /* owned copies */
    size_t nmounts;
    tenant_settings tenant_settings; /* from cfg, for every thread's tenants */
    metrics_registry *metrics;
    const ratelimit_backend *rl; /* memory, or Redis when redis_url is set (api_ratelimit.c) */
    void *rl_state;
    int rl_redis;
    metrics_family *m_rl[4]; /* the Redis backend's figures */
    pthread_key_t thread_key;
    /* Tenant deletion takes this for writing; every request that touches a
     * tenant holds it for reading, so no handle outlives its files. */
    pthread_rwlock_t tenants_lock;
    _Atomic uint64_t tenant_gen;
    int64_t started_ms;
    char upload_dir[1100];

    /* OAuth resource-server mode (api_set_jwt): verifier borrowed */
    jwt_verifier *jwt;
    char jwt_tenant[STORE_NAME_MAX + 1];
    int jwt_grants_read;

    /* jobs (api_jobs.c) */
    queue_config qcfg;
    void (*queue_notify)(void *ctx);
    void *queue_notify_ctx;
    store *waiter_store;
    pthread_t waiter;
    int waiter_started;
    pthread_mutex_t wait_mu; /* guards everything below */
    pthread_cond_t wait_cv;
    struct api_wait *waits;
    uint64_t wait_kick;
    int wait_stop, draining;
    _Atomic uint64_t jobs_finished;
    int64_t rate_at_ms;
    uint64_t rate_done;
    double rate_per_s;

    /* connectors (api_hooks.c, api_connectors.c): the keyring that opens
     * signing secrets (borrowed; NULL: webhooks answer 503) */
    const seal_keyring *keyring;
    uint8_t hook_decoy_key[32];     /* HMACs a delivery to an unknown connector */
    _Atomic uint64_t hook_inflight; /* bytes reserved by webhook bodies being received */
    metrics_family *m_hooks;
    /* embedding (collected at scrape time: api.c) */
    metrics_family *m_embed_pending, *m_embed_oldest, *m_embed_requests, *m_embed_errors,
        *m_embed_seconds_sum, *m_embed_seconds_count, *m_embed_tokens;

    /* metrics */
    metrics_family *m_requests, *m_latency, *m_search, *m_docs, *m_chunks, *m_build, *m_ingested,
        *m_rate_limited, *m_auth_failures;
};

struct api_req {
    api *a;
    http_request *r;
    api_thread *th;
    const api_route_def *def;
    const api_mount *mount; /* set instead of def on a mounted route */
    http_match m;
    const char *route_label; /* the pattern, or "unmatched" */
    /* who is calling (routes with a key) */
    store_key *key;
    jwt_claims claims; /* instead of key: a verified JWT (claims.subject set) */
    const char *tenant_name;
    char tenant_buf[STORE_NAME_MAX + 1]; /* tenant_name of a keyless route that found one */
    uint64_t hook_reserved;              /* bytes of a->hook_inflight this webhook body holds */
    store_viewer viewer;
    char idem[STORE_JOB_DEDUP_MAX + 1]; /* the Idempotency-Key, scoped to the key */
    void *stream;                       /* the streaming route's state */
};

/* ---- api.c ---- */
api_thread *api_thread_get(api *a);
/* Opens (or finds in the thread's cache) the caller's tenant; answers 404 or
 * 500 itself and returns NULL on failure. */
api_tenant *api_tenant_get(api_req *q);
/* Drops a tenant from the calling thread's cache (before deleting it). */
void api_tenant_forget(api_thread *th, const char *name);
/* Takes one request from a rate-limit bucket at per_minute (0: no limit),
 * adding the RateLimit-* headers; answers 429 with Retry-After and returns
 * 0 when the bucket is empty. */
int api_rate_check(api_req *q, const char *bucket, uint32_t per_minute);

/* ---- api_json.c: reading requests, writing answers ---- */

/* Parses the buffered body as JSON (depth-capped); answers 400 and returns
 * NULL when it is not. */
json_t *api_json_body(api_req *q);
/* Answers with a JSON value (stolen). */
void api_json(api_req *q, unsigned status, json_t *v);
/* 400 invalid-field with a JSON Pointer. */
void api_bad_field(api_req *q, const char *pointer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void api_problem(api_req *q, unsigned status, const char *type, const char *title, const char *fmt,
                 ...) __attribute__((format(printf, 5, 6)));
void api_internal(api_req *q, const char *what, lore_status st);
void api_not_found(api_req *q, const char *what);
/* An ISO 8601 time string from Unix ms (json null for 0). */
json_t *api_time(int64_t ms);
/* Parses a date/time argument: ISO 8601 or a date (end_of_day stretches a
 * bare date to its last millisecond). 0 on success. */
int api_parse_time(const char *s, int end_of_day, int64_t *out);
/* Reads a limit argument 1..max; 0 on success. */
int api_parse_limit(const char *s, size_t max, size_t *out);

/* ---- api_jobs.c ---- */
lore_status api_jobs_init(api *a, char *err, size_t errlen);
void api_jobs_free(api *a);
/* Enqueues jobs for the caller's tenant (tenant, owner and max_attempts
 * are filled in) and answers: 202, or after ?wait= the outcome, or 429/503
 * when the queue is full. body (stolen) holds the route's own fields.
 * Returns 1 when the jobs were added (not refused, not duplicates): the
 * caller removes blobs of jobs that were not. */
int api_enqueue(api_req *q, store_job *jobs, size_t n, json_t *body);
/* Puts a payload in the job: inline up to API_INLINE_PAYLOAD bytes, else
 * in a blob (store_blob_put) whose name goes into blob (at least
 * STORE_BLOB_NAME_MAX + 1 bytes). -1 when answered. */
#define API_INLINE_PAYLOAD (256 * 1024)
int api_job_payload(api_req *q, store_job *job, const char *payload, char *blob, size_t bloblen);
/* Seconds a writer refused for a full queue should wait (1..60), from the
 * backlog of pending jobs (of a tenant, NULL: all) and the recent rate. */
long api_queue_retry_after(api_req *q, const char *tenant);
/* 0 when the caller may write (source, external_id): the document is new
 * or visible to the key; otherwise answers 403 (pointer) or 500, -1. */
int api_check_replace(api_req *q, api_tenant *t, const char *source, const char *external_id,
                      const char *pointer);
/* The Idempotency-Key header, checked and scoped to the calling API key
 * ("<key id>:<value>", so two keys never share a dedup key); NULL if
 * absent. -1 (answered 400) when malformed. */
int api_idempotency_key(api_req *q, const char **key);

/* ---- handlers, one file per area ---- */
void api_health_live(api_req *q);
void api_health_ready(api_req *q);
/* api_ratelimit.c: the rate limiter named by the settings, with its
 * metrics (after a->metrics exists). */
LORE_MUST_CHECK lore_status api_ratelimit_init(api *a, char *err, size_t errlen);
/* 1 with why in reason when the shared rate limits are degraded (Redis
 * unreachable: each node limits in memory). */
int api_ratelimit_degraded(const api *a, char *reason, size_t n);
void api_metrics_get(api_req *q);
void api_openapi_get(api_req *q);
void api_documents_post(api_req *q);
void api_documents_list(api_req *q);
void api_document_get(api_req *q);
void api_document_delete(api_req *q);
void api_files_begin(api_req *q);
void api_files_post(api_req *q);
/* POST /v1/imports/slack (api_imports.c). */
void api_imports_begin(api_req *q);
void api_imports_post(api_req *q);

/* ---- upload forms (api_upload.c) ----
 *
 * A multipart/form-data body, parsed as it arrives: each file part spooled
 * to DATA_DIR/tmp, the fields `source` and `acl` (repeatable) collected,
 * and one field of the route's own handed to its hook. The route's state
 * embeds api_upload as its first member; api_upload_cleanup is the route's
 * cleanup, removing every spool file not kept (from nfiles_kept on). */
#define API_UPLOAD_MAX_FILES 32
#define API_UPLOAD_MAX_FIELD 4096
#define API_UPLOAD_MAX_ACL 64

typedef struct api_upload api_upload;
typedef struct api_upload_route {
    size_t max_files;         /* at most API_UPLOAD_MAX_FILES */
    unsigned too_many_status; /* 413 or 400, with detail too_many */
    const char *too_many;
    size_t max_parts;          /* multipart limit on parts */
    const char *field;         /* the route's own field */
    const char *unknown_field; /* detail for any other field */
    /* Takes the route's field value: LORE_OK, or an error answered. */
    lore_status (*on_field)(api_upload *u, const char *value);
} api_upload_route;

typedef struct api_upload_file {
    char name[256];                     /* safe base name */
    char blob[STORE_BLOB_NAME_MAX + 1]; /* the blob the spool file was copied into, "" none */
    char path[2400];
    int fd;
} api_upload_file;

struct api_upload {
    api_req *q;
    const api_upload_route *route;
    multipart_parser *mp;
    api_upload_file files[API_UPLOAD_MAX_FILES];
    size_t nfiles;
    size_t nfiles_kept; /* queued: their blobs stay */
    int in_file;        /* the current part is a file */
    int in_field;       /* the current part is a text field */
    char field_name[32];
    lore_buf field;
    char source[80];
    int has_source;
    char *acl[API_UPLOAD_MAX_ACL];
    size_t nacl;
};

/* Starts reading the form into a zeroed state of size bytes (the route's
 * struct, api_upload first) set as q->stream; answers 415/400/503 itself. */
void api_upload_begin(api_req *q, const api_upload_route *rt, size_t size);
/* The complete form, or NULL when there is none or it is answered (400). */
api_upload *api_upload_done(api_req *q);
/* Flushes a spool file to disk and closes it: 0, or -1 with errno. */
int api_upload_sync(api_upload_file *f);
/* Copies a synced spool file into a new blob of the caller's tenant (name
 * into f->blob) and removes the spool file; *bytes gets the size. The
 * cleanup removes the blob unless the file is kept (nfiles_kept). */
lore_status api_upload_keep(api_req *q, api_upload_file *f, int64_t *bytes);
/* Removes the blobs of the files no job took (i >= nfiles_kept), before
 * the route's answer goes out, so a refused upload leaves nothing behind
 * once its client has the answer. */
void api_upload_drop_unkept(api_req *q, api_upload *up);
void api_upload_cleanup(api_req *q);
/* Removes the upload spool files in dir left by stopped servers (a kill -9
 * leaves them; a live server's are kept). Returns how many it removed. */
unsigned api_spool_sweep(const char *dir);

void api_search_get(api_req *q);
void api_search_post(api_req *q);
void api_sources_get(api_req *q);
void api_tenants_post(api_req *q);
void api_tenants_get(api_req *q);
void api_tenant_delete(api_req *q);
void api_keys_post(api_req *q);
void api_keys_get(api_req *q);
void api_key_delete(api_req *q);
void api_job_get(api_req *q);
/* POST and GET /v1/reembed: the model switch (api_reembed.c). */
void api_reembed_post(api_req *q);
void api_reembed_get(api_req *q);
void api_jobs_list(api_req *q);
void api_job_retry(api_req *q);
void api_reindex_post(api_req *q);
/* GET /v1/stats: the tenant's figures (api_stats.c). */
void api_stats_get(api_req *q);
lore_status api_hooks_init(api *a);
void api_hook_post(api_req *q);
/* After a webhook request is answered: logs and counts a body the server
 * refused (413) before the handler could. */
void api_hook_done(api_req *q, unsigned status);
/* ---- browser sessions (api_session.c) ---- */
/* Authenticates a request by its session cookie (route-table routes only):
 * 0 when it carries none, 1 with the session's key in *out (owned), -1 when
 * refused and answered (401 expired/revoked, 403 missing CSRF token, 503). */
int api_session_auth(api_req *q, store_key **out);
void api_session_post(api_req *q);
void api_session_get(api_req *q);
void api_session_delete(api_req *q);

void api_connectors_post(api_req *q);
void api_connectors_get(api_req *q);
void api_connector_delete(api_req *q);
void api_connector_rotate(api_req *q);

extern const api_route_def api_route_table[];
extern const size_t api_route_count;

#endif
