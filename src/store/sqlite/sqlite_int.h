/* Internals of the embedded SQLite store. Only files in store/sqlite/ see
 * SQLite types. */
#ifndef LORE_STORE_SQLITE_INT_H
#define LORE_STORE_SQLITE_INT_H

#include <sqlite3.h>
#include "store/store_backend.h"

/* Prepared statements of a tenant database, prepared once at open. */
enum {
    ST_DOC_LOOKUP,
    ST_DOC_INSERT,
    ST_DOC_UPDATE,
    ST_DOC_CHUNKS_DELETE,
    ST_CHUNK_INSERT,
    ST_DOC_CHUNK_LENS,
    ST_DOC_DELETE,
    ST_DOC_GET_ID,
    ST_DOC_GET_ROWID,
    ST_CHUNK_GET,
    ST_CHUNK_OWNER,
    ST_CHUNK_DOC,
    ST_CHUNK_SCAN,
    ST_CHUNK_SCAN_DOC,
    ST_CHUNK_SET_NTERMS,
    ST_KV_PUT,
    ST_KV_GET,
    ST_KV_DELETE,
    ST_KV_DELETE_RANGE,
    ST_KV_DELETE_FROM,
    ST_BEGIN,
    ST_BEGIN_READ,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_COUNT
};

/* Statements of the job queue (sqlite_jobs.c), prepared on first use. */
enum {
    JST_TENANT,
    JST_PENDING_ADD,
    JST_PENDING_GET,
    JST_GROUP_ADD,
    JST_GROUP_DEL,
    JST_DEDUP,
    JST_INSERT,
    JST_SCAN_READY,
    JST_SCAN_EXPIRED,
    JST_BLOCKED,
    JST_BLOCKED_LATER,
    JST_BURY,
    JST_LEASE,
    JST_GET_PAYLOAD,
    JST_RENEW,
    JST_DONE,
    JST_DEAD,
    JST_RELEASE,
    JST_RETRY_LATER,
    JST_REQUEUE,
    JST_COUNT_READY,
    JST_COUNT_LEASED,
    JST_COUNT_DEAD,
    JST_OLDEST,
    JST_SEQ,
    JST_COUNT
};

typedef struct sqlite_store {
    store base; /* base.be = &store_backend_sqlite */
    char *data_dir;
    unsigned flags; /* STORE_OPEN_* it was opened with */
    sqlite3 *control;
    /* Key lookup, on every authenticated request: prepared on first use
     * (commands that never touch keys do not pay for it), finalized by
     * store_close. */
    sqlite3_stmt *key_get;
    sqlite3_stmt *connector_get; /* the webhook gate's lookup, likewise */
    sqlite3_stmt *job_st[JST_COUNT];
} sqlite_store;

/* How long a connection waits in SQLite's busy handler for another
 * connection's lock (every database lore opens). */
#define SQLITE_BUSY_TIMEOUT_MS 10000

/* The writer lock of a tenant database in this process (sqlite_writers.c). */
typedef struct sqlite_writer sqlite_writer;

typedef struct sqlite_tenant {
    store_tenant base; /* base.be = &store_backend_sqlite */
    sqlite_store *owner;
    char name[STORE_NAME_MAX + 1];
    char *path;
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    sqlite_writer *writer; /* held from store_begin to commit or rollback */
    int in_tx;             /* 0 none, 1 write, 2 read snapshot */
    int64_t next_chunk;    /* next reservable chunk id in this write, 0 = unknown */
    char lock_err[256];    /* why the last begin got no writer lock ('' if it did) */
} sqlite_tenant;

/* The members of store_backend_sqlite (sqlite_backend.c), one per file of
 * this folder; each keeps the store.h contract of its store_ namesake. */
lore_status sqlite_open(const char *location, unsigned flags, store **out, char *err,
                        size_t errlen);
void sqlite_close(store *s);
lore_status sqlite_check(store *s, char *err, size_t errlen);
lore_status sqlite_schema_status(store *s, store_schema_status **out, size_t *n);
lore_status sqlite_migrate(store *s, char *err, size_t errlen);
lore_status sqlite_tenant_create(store *s, const char *name);
lore_status sqlite_tenant_delete(store *s, const char *name);
lore_status sqlite_tenant_list(store *s, store_tenant_info **out, size_t *n);
lore_status sqlite_tenant_open(store *s, const char *name, store_tenant **out);
void sqlite_tenant_close(store_tenant *t);
lore_status sqlite_tenant_created(store *s, const char *name, int64_t *created_ms);
const char *sqlite_tenant_name(const store_tenant *t);
lore_status sqlite_begin(store_tenant *t);
lore_status sqlite_commit(store_tenant *t);
void sqlite_rollback(store_tenant *t);
lore_status sqlite_begin_read(store_tenant *t);
void sqlite_end_read(store_tenant *t);
lore_status sqlite_doc_lookup(store_tenant *t, const char *source, const char *external_id,
                              int64_t *rowid, char *hash);
lore_status sqlite_reserve_chunk_ids(store_tenant *t, size_t n, int64_t *first);
lore_status sqlite_doc_put(store_tenant *t, store_doc *doc, const store_chunk_in *chunks, size_t n);
lore_status sqlite_doc_chunks(store_tenant *t, int64_t doc_rowid, store_chunk_len_fn fn, void *ctx);
lore_status sqlite_chunk_scan(store_tenant *t, int64_t after_id, size_t limit,
                              store_chunk_scan_fn fn, void *ctx);
lore_status sqlite_chunk_set_nterms(store_tenant *t, int64_t chunk_id, uint32_t nterms);
lore_status sqlite_doc_delete(store_tenant *t, int64_t doc_rowid);
lore_status sqlite_doc_get(store_tenant *t, const char *id, int with_text, store_doc **out);
lore_status sqlite_doc_get_rowid(store_tenant *t, int64_t rowid, int with_text, store_doc **out);
lore_status sqlite_doc_list(store_tenant *t, const store_viewer *who, const char *source,
                            int64_t after, size_t limit, store_doc_fn fn, void *ctx);
lore_status sqlite_doc_scan_external(store_tenant *t, const char *source, const char *from,
                                     const char *below, size_t limit, store_doc_ref_fn fn,
                                     void *ctx);
lore_status sqlite_doc_rename(store_tenant *t, int64_t doc_rowid, const char *external_id);
lore_status sqlite_chunk_get(store_tenant *t, int64_t chunk_id, store_chunk *out);
lore_status sqlite_chunk_owner_get(store_tenant *t, int64_t chunk_id, store_chunk_owner *out);
lore_status sqlite_chunk_doc(store_tenant *t, int64_t chunk_id, int64_t *doc_rowid);
lore_status sqlite_sources(store_tenant *t, const store_viewer *who, store_source_info **out,
                           size_t *n);
lore_status sqlite_counts(store_tenant *t, int64_t *docs, int64_t *chunks);
lore_status sqlite_disk_bytes(store_tenant *t, int64_t *bytes);
lore_status sqlite_kv_put(store_tenant *t, int ns, const void *key, size_t klen, const void *val,
                          size_t vlen);
lore_status sqlite_kv_get(store_tenant *t, int ns, const void *key, size_t klen, lore_buf *val);
lore_status sqlite_kv_delete(store_tenant *t, int ns, const void *key, size_t klen);
lore_status sqlite_kv_delete_range(store_tenant *t, int ns, const void *lo, size_t lolen,
                                   const void *hi, size_t hilen);
lore_status sqlite_kv_scan(store_tenant *t, int ns, const void *lo, size_t lolen, const void *hi,
                           size_t hilen, store_kv_fn fn, void *ctx);
const char *sqlite_tenant_errmsg(store_tenant *t);
lore_status sqlite_key_put(store *s, const store_key *k);
lore_status sqlite_key_get(store *s, const char *id, store_key **out);
lore_status sqlite_key_list(store *s, const char *tenant, store_key **out, size_t *n);
lore_status sqlite_key_revoke(store *s, const char *tenant, const char *id, int64_t now_ms);
lore_status sqlite_session_put(store *s, const store_session *x);
lore_status sqlite_session_get(store *s, const char *hash, store_session *out);
lore_status sqlite_session_delete(store *s, const char *hash);
lore_status sqlite_secret_put(store *s, const char *tenant, const char *name, const char *key_id,
                              const uint8_t *sealed, size_t len, int64_t now_ms);
lore_status sqlite_secret_get(store *s, const char *tenant, const char *name, store_secret *out);
lore_status sqlite_secret_reseal(store *s, const char *tenant, const char *name,
                                 const char *old_key_id, const uint8_t *old_sealed, size_t old_len,
                                 const char *key_id, const uint8_t *sealed, size_t len);
lore_status sqlite_secret_delete(store *s, const char *tenant, const char *name);
lore_status sqlite_secret_list(store *s, const char *tenant, const char *after_tenant,
                               const char *after_name, size_t limit, int with_sealed,
                               store_secret **out, size_t *n);
lore_status sqlite_connector_put(store *s, const store_connector *c);
lore_status sqlite_connector_get(store *s, const char *id, store_connector **out);
lore_status sqlite_connector_list(store *s, const char *tenant, store_connector **out, size_t *n);
lore_status sqlite_connector_rotated(store *s, const char *tenant, const char *id,
                                     int64_t rotated_ms, int64_t previous_until_ms);
lore_status sqlite_connector_delete(store *s, const char *tenant, const char *id);
lore_status sqlite_job_enqueue(store *s, store_job *jobs, size_t n, int64_t max_tenant,
                               int64_t max_total, int64_t now_ms, store_enqueue_outcome *outcome);
lore_status sqlite_job_claim(store *s, const char *worker, int64_t now_ms, int64_t lease_ms,
                             size_t max_jobs, int64_t max_weight, store_job **out, size_t *n);
lore_status sqlite_job_claim_avoiding(store *s, const char *worker, int64_t now_ms,
                                      int64_t lease_ms, size_t max_jobs, int64_t max_weight,
                                      const char *const *avoid, size_t navoid, store_job **out,
                                      size_t *n);
lore_status sqlite_job_renew(store *s, int64_t id, int64_t lease_seq, int64_t until_ms);
lore_status sqlite_job_finish(store *s, store_job_outcome *o, size_t n, int64_t now_ms);
lore_status sqlite_job_get(store *s, const char *tenant, int64_t id, int with_payload,
                           store_job **out);
lore_status sqlite_job_find(store *s, const char *tenant, const char *ref, int with_payload,
                            store_job **out);
lore_status sqlite_job_get_dedup(store *s, const char *tenant, const char *dedup_key,
                                 store_job **out);
lore_status sqlite_job_list(store *s, const char *tenant, int state, int64_t before, size_t limit,
                            store_job **out, size_t *n);
lore_status sqlite_job_retry(store *s, const char *tenant, int64_t id, int64_t now_ms);
lore_status sqlite_job_purge(store *s, const char *tenant, int state, int64_t before_ms,
                             store_blob_fn fn, void *ctx, int64_t *deleted);
lore_status sqlite_job_counts(store *s, store_job_count **out, size_t *n);
lore_status sqlite_job_pending(store *s, const char *tenant, int64_t now_ms,
                               int64_t *oldest_ready_ms, int64_t *pending);
lore_status sqlite_blob_create(store *s, const char *tenant, char *name_out, store_blob_writer **w);
lore_status sqlite_blob_create_named(store *s, const char *tenant, const char *name,
                                     store_blob_writer **w);
lore_status sqlite_blob_write(store_blob_writer *w, const void *data, size_t len);
lore_status sqlite_blob_finish(store_blob_writer *w, int keep);
lore_status sqlite_blob_size(store *s, const char *tenant, const char *name, int64_t *bytes);
lore_status sqlite_blob_read(store *s, const char *tenant, const char *name, int64_t offset,
                             void *buf, size_t len, size_t *got);
void sqlite_blob_remove(store *s, const char *tenant, const char *name);
lore_status sqlite_blob_path(store *s, const char *tenant, const char *name, char *out,
                             size_t outlen);
lore_status sqlite_backup(store *s, const char *dest_dir, size_t step_pages,
                          store_backup_report *out, char *err, size_t errlen);
lore_status sqlite_restore(const char *src_location, const char *location,
                           const store_backup_report *expect, store_backup_report *out, char *err,
                           size_t errlen);

/* What opening a database does with its pending migrations. */
enum {
    SQLITE_MIGRATE_APPLY, /* applies them (each under the write lock; see sqlite_store.c) */
    SQLITE_MIGRATE_CHECK, /* refuses to open: LORE_UNSUPPORTED, err names `lore migrate` */
    SQLITE_MIGRATE_NONE,  /* leaves them (lore migrate --status reads the version) */
};
/* Opens (creating if missing) a database file with lore's pragmas (WAL,
 * foreign keys, busy timeout); migrations[0..n) are its schema, handled as
 * mode says. A database newer than n is refused (LORE_UNSUPPORTED). */
lore_status sqlite_open_db(const char *path, const char *const *migrations, size_t n, int mode,
                           sqlite3 **out, char *err, size_t errlen);
/* The migrations applied to db (0: none yet); path is for err. */
lore_status sqlite_db_version(sqlite3 *db, const char *path, int64_t *v, char *err, size_t errlen);
/* DATA_DIR/blobs/<tenant>, created if needed, into out (sqlite_blobs.c). */
lore_status sqlite_blob_dir(sqlite_store *s, const char *tenant, char *out, size_t outlen);
/* DATA_DIR/tenants/<name>[/file] into out. */
void sqlite_tenant_path(const sqlite_store *s, const char *name, const char *file, char *out,
                        size_t outlen);
/* The migration mode of a tenant database opened from s (its flags). */
int sqlite_tenant_migrate_mode(const sqlite_store *s);
/* Runs sql; on failure err (if non-NULL) gets SQLite's message. */
lore_status sqlite_exec(sqlite3 *db, const char *sql, char *err, size_t errlen);
/* Maps a SQLite result code to a lore status. */
lore_status sqlite_status(int rc);
/* Lists stored as one TEXT column (ACLs, key principals): items joined by
 * "\n" (no item may contain one). join returns owned (NULL: out of memory);
 * split fills an owned array of owned strings ('' and NULL give none). */
char *sqlite_list_join(const char *const *items, size_t n);
lore_status sqlite_list_split(const char *joined, char ***out, size_t *n);

/* Registers lore's SQL functions (lore_visible) on a tenant database. */
lore_status sqlite_register_functions(sqlite3 *db);
/* Prepares the tenant statements. */
lore_status sqlite_tenant_prepare(sqlite_tenant *t);

/* The job queue's shared pieces (sqlite_jobs.c; sqlite_jobs_ops.c uses them). */
#define JOB_COLUMNS                                                                                \
    "id, tenant, kind, dedup_key, groups, blob, weight, state, attempts, max_attempts,"            \
    " lease_seq, created_ms, updated_ms, visible_ms, started_ms, finished_ms, worker, error,"      \
    " result, owner, pub, seq"
/* A queue statement, prepared on first use and kept on the store (reset). */
sqlite3_stmt *jq_stmt(sqlite_store *s, int which, const char *sql);
/* BEGIN IMMEDIATE after the process-wide queue mutex; end commits on
 * LORE_OK, else rolls back, and returns the outcome. */
lore_status jq_write_begin(sqlite_store *s);
lore_status jq_write_end(sqlite_store *s, lore_status st);
lore_status jq_step_done(sqlite3_stmt *q);
void jq_bind_opt(sqlite3_stmt *q, int i, const char *v);
/* Fills j from a row of JOB_COLUMNS (the payload as column JOB_COL_PAYLOAD
 * when asked). */
#define JOB_COL_PAYLOAD 22
lore_status jq_read_job(sqlite3_stmt *q, int with_payload, store_job *j);
lore_status jq_pending_add(sqlite_store *s, const char *tenant, int64_t delta);
lore_status jq_pending_read(sqlite_store *s, const char *tenant, int64_t *n);
lore_status jq_groups_insert(sqlite_store *s, const char *tenant, int64_t id, char *const *groups,
                             size_t n);
lore_status jq_find_dedup(sqlite_store *s, store_job *job, int *found);

/* Deletes a tenant's jobs, inside the caller's transaction. */
lore_status sqlite_jobs_delete_tenant(sqlite_store *s, const char *tenant);
/* Finalizes the queue's statements (store_close). */
void sqlite_jobs_close(sqlite_store *s);

/* The writer lock of each tenant database (sqlite_writers.c): the threads
 * of a process writing one tenant queue on it, so that only one of them at
 * a time waits in SQLite's busy handler (for other processes).
 * get finds or makes the lock of the database file at path, keyed by its
 * device and inode (every handle on the file shares it); put drops the
 * reference. take waits for it up to SQLITE_WRITER_WAIT_MS, then answers
 * LORE_BUSY with err; it answers LORE_BUSY at once in the thread that holds
 * it already (a nested begin through a second handle). release hands it to
 * the first waiter (first come, first served: a thread that releases and
 * takes again queues behind the waiting ones); any thread may release. */
#define SQLITE_WRITER_WAIT_MS (6 * SQLITE_BUSY_TIMEOUT_MS)
lore_status sqlite_writer_get(const char *path, sqlite_writer **out);
void sqlite_writer_put(sqlite_writer *w);
lore_status sqlite_writer_take(sqlite_writer *w, const char *tenant, char *err, size_t errlen);
void sqlite_writer_release(sqlite_writer *w);
/* Threads waiting for it now (for tests). */
size_t sqlite_writer_waiting(sqlite_writer *w);

/* Directories (sqlite_store.c): mkdir -p with mode 0700; rm -r (a missing
 * path is fine). */
lore_status sqlite_mkdir_p(const char *path);
lore_status sqlite_remove_tree(const char *path);

extern const char *const sqlite_tenant_migrations[];
extern const size_t sqlite_tenant_migration_count;

#endif
