/* Internals of the embedded SQLite store. Only files in store/sqlite/ see
 * SQLite types. */
#ifndef LORE_STORE_SQLITE_INT_H
#define LORE_STORE_SQLITE_INT_H

#include <sqlite3.h>
#include "store/store.h"

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

struct store {
    char *data_dir;
    sqlite3 *control;
    /* Key lookup, on every authenticated request: prepared on first use
     * (commands that never touch keys do not pay for it), finalized by
     * store_close. */
    sqlite3_stmt *key_get;
    sqlite3_stmt *connector_get; /* the webhook gate's lookup, likewise */
    sqlite3_stmt *job_st[JST_COUNT];
};

struct store_tenant {
    store *owner;
    char name[STORE_NAME_MAX + 1];
    char *path;
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    int in_tx;          /* 0 none, 1 write, 2 read snapshot */
    int64_t next_chunk; /* next reservable chunk id in this write, 0 = unknown */
};

/* Opens a database file with lore's pragmas (WAL, foreign keys, busy
 * timeout) and applies the migrations in list[0..n). */
lore_status sqlite_open_db(const char *path, const char *const *migrations, size_t n, sqlite3 **out,
                           char *err, size_t errlen);
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
lore_status sqlite_tenant_prepare(store_tenant *t);

/* The job queue's shared pieces (sqlite_jobs.c; sqlite_jobs_ops.c uses them). */
#define JOB_COLUMNS                                                                                \
    "id, tenant, kind, dedup_key, groups, blob, weight, state, attempts, max_attempts,"            \
    " lease_seq, created_ms, updated_ms, visible_ms, started_ms, finished_ms, worker, error,"      \
    " result, owner, pub, seq"
/* A queue statement, prepared on first use and kept on the store (reset). */
sqlite3_stmt *jq_stmt(store *s, int which, const char *sql);
/* BEGIN IMMEDIATE after the process-wide queue mutex; end commits on
 * LORE_OK, else rolls back, and returns the outcome. */
lore_status jq_write_begin(store *s);
lore_status jq_write_end(store *s, lore_status st);
lore_status jq_step_done(sqlite3_stmt *q);
void jq_bind_opt(sqlite3_stmt *q, int i, const char *v);
/* Fills j from a row of JOB_COLUMNS (the payload as column JOB_COL_PAYLOAD
 * when asked). */
#define JOB_COL_PAYLOAD 22
lore_status jq_read_job(sqlite3_stmt *q, int with_payload, store_job *j);
lore_status jq_pending_add(store *s, const char *tenant, int64_t delta);
lore_status jq_pending_read(store *s, const char *tenant, int64_t *n);
lore_status jq_groups_insert(store *s, const char *tenant, int64_t id, char *const *groups,
                             size_t n);
lore_status jq_find_dedup(store *s, store_job *job, int *found);

/* Deletes a tenant's jobs, inside the caller's transaction. */
lore_status sqlite_jobs_delete_tenant(store *s, const char *tenant);
/* Finalizes the queue's statements (store_close). */
void sqlite_jobs_close(store *s);

/* Directories (sqlite_store.c): mkdir -p with mode 0700; rm -r (a missing
 * path is fine). */
lore_status sqlite_mkdir_p(const char *path);
lore_status sqlite_remove_tree(const char *path);

extern const char *const sqlite_tenant_migrations[];
extern const size_t sqlite_tenant_migration_count;

#endif
