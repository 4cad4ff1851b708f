/* The store's plug-in point: one versioned table of functions per backend.
 *
 * store.h is what the rest of lore calls; store.c turns each call into a
 * call through the table of the store (or tenant) it is given. A backend
 * is a folder under store/ (store/sqlite/, store/postgres/) that defines
 * its own handle types starting with the common headers below and exports
 * one const store_backend. store_open(url) picks the backend by the URL's
 * scheme (see store_backend_for_url in store.c).
 *
 * Members keep store.h's signatures and documentation exactly (store_X
 * there is X here); the store.h comment is the contract both backends and
 * the contract tests (tests/store/) hold to. A NULL member means the
 * backend cannot do it: the store.h call then answers LORE_UNSUPPORTED (the
 * members marked "optional" below may be NULL; all others are required).
 *
 * Versioning: a change to any member's meaning or signature bumps
 * STORE_BACKEND_VERSION; store_open refuses a table of another version. */
#ifndef LORE_STORE_STORE_BACKEND_H
#define LORE_STORE_STORE_BACKEND_H

#include "store/store.h"

#define STORE_BACKEND_VERSION 2 /* 2: blob_create_named */

typedef struct store_backend store_backend;

/* Every backend's store handle starts with this (struct my_store { store
 * base; ... }), and every tenant handle with store_tenant's. */
struct store {
    const store_backend *be;
};
struct store_tenant {
    const store_backend *be;
};

/* A blob being written (an upload, an import archive): every backend's
 * writer starts with this header, so store_blob_write/finish find the
 * table. */
struct store_blob_writer {
    const store_backend *be;
};

struct store_backend {
    int version;      /* STORE_BACKEND_VERSION */
    const char *name; /* "sqlite", "postgres": for logs and errors */

    /* ---- opening ----
     * location: what follows the scheme in store_url: a directory for
     * sqlite ("sqlite:DIR" or a plain path), the whole URL for postgres.
     * flags: STORE_OPEN_* (store.h). */
    lore_status (*open)(const char *location, unsigned flags, store **out, char *err,
                        size_t errlen);
    void (*close)(store *s);
    lore_status (*check)(store *s, char *err, size_t errlen);

    /* ---- migrations (lore migrate) ----
     * schema_status lists the control store first, then every tenant by
     * name; *out owned (free()). migrate applies what is pending to the
     * control store and every tenant, under a lock that makes two
     * concurrent runs (two processes, two nodes) end with one applied set;
     * it is idempotent. */
    lore_status (*schema_status)(store *s, store_schema_status **out, size_t *n);
    lore_status (*migrate)(store *s, char *err, size_t errlen);

    /* ---- tenants ---- */
    lore_status (*tenant_create)(store *s, const char *name);
    lore_status (*tenant_delete)(store *s, const char *name);
    lore_status (*tenant_list)(store *s, store_tenant_info **out, size_t *n);
    lore_status (*tenant_open)(store *s, const char *name, store_tenant **out);
    void (*tenant_close)(store_tenant *t);
    lore_status (*tenant_created)(store *s, const char *name, int64_t *created_ms);
    const char *(*tenant_name)(const store_tenant *t);

    /* ---- transactions ---- */
    lore_status (*begin)(store_tenant *t);
    lore_status (*commit)(store_tenant *t);
    void (*rollback)(store_tenant *t);
    lore_status (*begin_read)(store_tenant *t);
    void (*end_read)(store_tenant *t);

    /* ---- documents and chunks ---- */
    lore_status (*doc_lookup)(store_tenant *t, const char *source, const char *external_id,
                              int64_t *rowid, char *hash);
    lore_status (*reserve_chunk_ids)(store_tenant *t, size_t n, int64_t *first);
    lore_status (*doc_put)(store_tenant *t, store_doc *doc, const store_chunk_in *chunks, size_t n);
    lore_status (*doc_chunks)(store_tenant *t, int64_t doc_rowid, store_chunk_len_fn fn, void *ctx);
    lore_status (*chunk_scan)(store_tenant *t, int64_t after_id, size_t limit,
                              store_chunk_scan_fn fn, void *ctx);
    lore_status (*chunk_set_nterms)(store_tenant *t, int64_t chunk_id, uint32_t nterms);
    lore_status (*doc_delete)(store_tenant *t, int64_t doc_rowid);
    lore_status (*doc_get)(store_tenant *t, const char *id, int with_text, store_doc **out);
    lore_status (*doc_get_rowid)(store_tenant *t, int64_t rowid, int with_text, store_doc **out);
    lore_status (*doc_list)(store_tenant *t, const store_viewer *who, const char *source,
                            int64_t after, size_t limit, store_doc_fn fn, void *ctx);
    lore_status (*doc_scan_external)(store_tenant *t, const char *source, const char *from,
                                     const char *below, size_t limit, store_doc_ref_fn fn,
                                     void *ctx);
    lore_status (*doc_rename)(store_tenant *t, int64_t doc_rowid, const char *external_id);
    lore_status (*chunk_get)(store_tenant *t, int64_t chunk_id, store_chunk *out);
    lore_status (*chunk_owner_get)(store_tenant *t, int64_t chunk_id, store_chunk_owner *out);
    lore_status (*chunk_doc)(store_tenant *t, int64_t chunk_id, int64_t *doc_rowid);
    lore_status (*sources)(store_tenant *t, const store_viewer *who, store_source_info **out,
                           size_t *n);
    lore_status (*counts)(store_tenant *t, int64_t *docs, int64_t *chunks);
    lore_status (*disk_bytes)(store_tenant *t, int64_t *bytes);

    /* ---- key-value space for index data ---- */
    lore_status (*kv_put)(store_tenant *t, int ns, const void *key, size_t klen, const void *val,
                          size_t vlen);
    lore_status (*kv_get)(store_tenant *t, int ns, const void *key, size_t klen, lore_buf *val);
    lore_status (*kv_delete)(store_tenant *t, int ns, const void *key, size_t klen);
    lore_status (*kv_delete_range)(store_tenant *t, int ns, const void *lo, size_t lolen,
                                   const void *hi, size_t hilen);
    lore_status (*kv_scan)(store_tenant *t, int ns, const void *lo, size_t lolen, const void *hi,
                           size_t hilen, store_kv_fn fn, void *ctx);
    const char *(*tenant_errmsg)(store_tenant *t);

    /* ---- control store: keys, sessions, secrets, connectors ---- */
    lore_status (*key_put)(store *s, const store_key *k);
    lore_status (*key_get)(store *s, const char *id, store_key **out);
    lore_status (*key_list)(store *s, const char *tenant, store_key **out, size_t *n);
    lore_status (*key_revoke)(store *s, const char *tenant, const char *id, int64_t now_ms);
    lore_status (*session_put)(store *s, const store_session *x);
    lore_status (*session_get)(store *s, const char *hash, store_session *out);
    lore_status (*session_delete)(store *s, const char *hash);
    lore_status (*secret_put)(store *s, const char *tenant, const char *name, const char *key_id,
                              const uint8_t *sealed, size_t len, int64_t now_ms);
    lore_status (*secret_get)(store *s, const char *tenant, const char *name, store_secret *out);
    lore_status (*secret_reseal)(store *s, const char *tenant, const char *name,
                                 const char *old_key_id, const uint8_t *old_sealed, size_t old_len,
                                 const char *key_id, const uint8_t *sealed, size_t len);
    lore_status (*secret_delete)(store *s, const char *tenant, const char *name);
    lore_status (*secret_list)(store *s, const char *tenant, const char *after_tenant,
                               const char *after_name, size_t limit, int with_sealed,
                               store_secret **out, size_t *n);
    lore_status (*connector_put)(store *s, const store_connector *c);
    lore_status (*connector_get)(store *s, const char *id, store_connector **out);
    lore_status (*connector_list)(store *s, const char *tenant, store_connector **out, size_t *n);
    lore_status (*connector_rotated)(store *s, const char *tenant, const char *id,
                                     int64_t rotated_ms, int64_t previous_until_ms);

    lore_status (*connector_delete)(store *s, const char *tenant, const char *id);

    /* ---- durable jobs ---- */
    lore_status (*job_enqueue)(store *s, store_job *jobs, size_t n, int64_t max_tenant,
                               int64_t max_total, int64_t now_ms, store_enqueue_outcome *outcome);
    lore_status (*job_claim)(store *s, const char *worker, int64_t now_ms, int64_t lease_ms,
                             size_t max_jobs, int64_t max_weight, store_job **out, size_t *n);
    lore_status (*job_claim_avoiding)(store *s, const char *worker, int64_t now_ms,
                                      int64_t lease_ms, size_t max_jobs, int64_t max_weight,
                                      const char *const *avoid, size_t navoid, store_job **out,
                                      size_t *n);
    lore_status (*job_renew)(store *s, int64_t id, int64_t lease_seq, int64_t until_ms);
    lore_status (*job_finish)(store *s, store_job_outcome *o, size_t n, int64_t now_ms);
    lore_status (*job_get)(store *s, const char *tenant, int64_t id, int with_payload,
                           store_job **out);
    lore_status (*job_find)(store *s, const char *tenant, const char *ref, int with_payload,
                            store_job **out);
    lore_status (*job_get_dedup)(store *s, const char *tenant, const char *dedup_key,
                                 store_job **out);
    lore_status (*job_list)(store *s, const char *tenant, int state, int64_t before, size_t limit,
                            store_job **out, size_t *n);
    lore_status (*job_retry)(store *s, const char *tenant, int64_t id, int64_t now_ms);
    lore_status (*job_purge)(store *s, const char *tenant, int state, int64_t before_ms,
                             store_blob_fn fn, void *ctx, int64_t *deleted);
    lore_status (*job_counts)(store *s, store_job_count **out, size_t *n);
    lore_status (*job_pending)(store *s, const char *tenant, int64_t now_ms,
                               int64_t *oldest_ready_ms, int64_t *pending);
    /* optional, as store_job_wait (store.h): postgres waits on LISTEN.
     * NULL: LORE_UNSUPPORTED, the queue polls. */
    lore_status (*job_wait)(store *s, int64_t timeout_ms, int cancel_fd);

    /* ---- blobs: job payloads too big to keep inline (uploads, archives)
     * blob_create starts a new blob of a tenant under a fresh name (written
     * into name_out, STORE_BLOB_NAME_MAX + 1 bytes); blob_write appends;
     * blob_finish with keep = 1 makes it durable and visible under its
     * name, keep = 0 discards it (and frees w either way). blob_read reads
     * up to len bytes at offset (*got 0 at the end). blob_remove: missing
     * is fine. */
    lore_status (*blob_create)(store *s, const char *tenant, char *name_out, store_blob_writer **w);
    /* blob_create_named: as blob_create under the caller's name (checked by
     * store.c: store_blob_name_valid); blob_finish with keep = 1 replaces
     * a blob of that name atomically. */
    lore_status (*blob_create_named)(store *s, const char *tenant, const char *name,
                                     store_blob_writer **w);
    lore_status (*blob_write)(store_blob_writer *w, const void *data, size_t len);
    lore_status (*blob_finish)(store_blob_writer *w, int keep);
    lore_status (*blob_size)(store *s, const char *tenant, const char *name, int64_t *bytes);
    lore_status (*blob_read)(store *s, const char *tenant, const char *name, int64_t offset,
                             void *buf, size_t len, size_t *got);
    void (*blob_remove)(store *s, const char *tenant, const char *name);
    /* optional: the blob's path on this machine, when blobs are files (a
     * parser that needs a file then reads it in place; otherwise
     * store_blob_local_path copies the blob into a temporary file). */
    lore_status (*blob_path)(store *s, const char *tenant, const char *name, char *out,
                             size_t outlen);

    /* ---- backup and restore (optional: postgres leaves them to pg_dump) */
    lore_status (*backup)(store *s, const char *dest_dir, size_t step_pages,
                          store_backup_report *out, char *err, size_t errlen);
    lore_status (*restore)(const char *src_location, const char *location,
                           const store_backup_report *expect, store_backup_report *out, char *err,
                           size_t errlen);
};

/* The backend store_url names and the location to hand its open: the
 * directory of "sqlite:DIR" or of a plain path, a postgres URL whole. An
 * unknown scheme is LORE_INVALID, a backend this lore was built without
 * LORE_UNSUPPORTED, err saying which forms are accepted. */
LORE_MUST_CHECK lore_status store_backend_for_url(const char *url, const store_backend **be,
                                                  const char **location, char *err, size_t errlen);

/* For backends (store_common.c): free what a record holds and zero it,
 * the struct itself staying. */
void store_job_clear(store_job *j);
void store_key_clear(store_key *k);
void store_connector_clear(store_connector *c);

/* The contract's checks of records handed to a backend (store_check.c):
 * LORE_INVALID (or 0) when a field breaks store.h's limits or formats. */
lore_status store_key_check(const store_key *k);
lore_status store_connector_check(const store_connector *c);
/* A connector instance id: [a-z0-9_], 1 to STORE_CONNECTOR_ID_MAX bytes. */
int store_connector_id_valid(const char *id);
lore_status store_secret_check_ref(const char *tenant, const char *name);
lore_status store_secret_check_value(const char *key_id, const uint8_t *sealed, size_t len);
/* A secret's tenant: "" (the server's) or a valid tenant name. */
int store_secret_tenant_ok(const char *tenant);
int store_job_valid(const store_job *j);
/* s is exactly want lower-case hex digits. */
int store_is_lower_hex(const char *s, size_t want);
/* A fresh public job id ("job_" and 96 random bits in hex). */
lore_status store_job_new_pub(char out[STORE_JOB_PUB_LEN + 1]);

/* The enqueue policy of store_job_enqueue, one copy for every backend
 * (store_check.c): each job in order goes through check (optional: what
 * the backend must know first, e.g. that the tenant exists), then is a
 * DUPLICATE if find_dedup finds a pending job with its dedup key, then
 * must keep the tenant's pending jobs (pending(tenant)) and all pending
 * jobs (pending(NULL)) within the caps, counting the request's jobs still
 * to add; else insert adds it (with its group rows, counted pending). The
 * backend runs it inside its write transaction and gives only the queries.
 * *outcome: the first cap passed (the request stops there; the backend
 * rolls back and answers LORE_OK), else DUPLICATE if any was, else
 * ENQUEUED. Returns the first failure of a query. */
typedef struct store_enqueue_caps {
    int64_t max_tenant, max_total; /* 0: no cap */
    int64_t now_ms;
} store_enqueue_caps;
typedef struct store_enqueue_ops {
    lore_status (*check)(void *ctx, const store_job *job);
    lore_status (*find_dedup)(void *ctx, store_job *job, int *found);
    lore_status (*pending)(void *ctx, const char *tenant, int64_t *n);
    lore_status (*insert)(void *ctx, store_job *job, int64_t now_ms);
} store_enqueue_ops;
LORE_MUST_CHECK lore_status store_enqueue_apply(const store_enqueue_ops *ops, void *ctx,
                                                store_job *jobs, size_t n,
                                                const store_enqueue_caps *caps,
                                                store_enqueue_outcome *outcome);
/* 1 for the outcomes that refuse the whole request (a cap). */
int store_enqueue_refused(store_enqueue_outcome o);

/* The backends compiled in. */
extern const store_backend store_backend_sqlite;
extern const store_backend store_backend_postgres;

#endif
