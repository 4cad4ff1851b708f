/* PostgreSQL backend: what its files share (not part of the store
 * contract; see store/store_backend.h for that).
 *
 * Layout (docs/storage.md, "PostgreSQL"): the control tables live in the
 * schema "lore" (tenants, keys, sessions, secrets, connectors, jobs, blobs'
 * directory, schema_migrations); each tenant has its own schema
 * "lore_tenant_<id>" (id: the tenants row's bigserial, so a tenant deleted
 * and re-created under its name gets a new schema) holding its documents,
 * chunks, kv rows and its own schema_migrations.
 *
 * Statements: PQexecParams (unnamed statements, so PgBouncer in
 * transaction mode works), binary parameters for bytea. A tenant's
 * statements run in a transaction that starts with
 * SET LOCAL search_path TO <its schema>, so the SQL names tables
 * unqualified.
 *
 * Connections come from a per-process pool with a cap (pg_pool.c); a
 * tenant handle holds one from store_begin/store_begin_read to the end of
 * that transaction, and borrows one per call otherwise. */
#ifndef LORE_STORE_POSTGRES_PG_INT_H
#define LORE_STORE_POSTGRES_PG_INT_H

#include <libpq-fe.h>
#include <pthread.h>

#include "store/store_backend.h"

#define PG_SCHEMA_MAX 40 /* "lore_tenant_" and a decimal id, with room */

typedef struct pg_pool pg_pool;

typedef struct pg_store {
    store base; /* base.be = &store_backend_postgres */
    char *conninfo;
    pg_pool *pool;
    PGconn *listen;      /* LISTEN lore_jobs, for job_wait; NULL until first used */
    int listen_state;    /* pg_jobs_wait.c's: connecting, LISTEN sent, probing, listening */
    int listen_events;   /* while connecting: the poll() events libpq asked for last */
    int listen_off;      /* the URL's listen=off: job_wait answers LORE_UNSUPPORTED */
    int listen_lost;     /* a failure was logged: the next success is logged too */
    int listen_deaf;     /* the probe never came back (PgBouncer): waiting is off */
    char probe[32];      /* lore_probe_<random>: the channel that checks that LISTEN hears */
    int64_t probe_until; /* while probing: when to give up */
    unsigned flags;      /* STORE_OPEN_* it was opened with */
    char install[16];    /* lore.install's id: the tenant role names' prefix */
} pg_store;

typedef struct pg_tenant {
    store_tenant base;
    pg_store *owner;
    char name[STORE_NAME_MAX + 1];
    int64_t id; /* the tenants row */
    int64_t created_ms;
    char schema[PG_SCHEMA_MAX]; /* lore_tenant_<id>, needs no quoting */
    char role[PG_SCHEMA_MAX];   /* lore_<install>_t<id>: owns the schema (pg_tenant_enter) */
    PGconn *conn;               /* held during a transaction, else NULL */
    int in_tx;                  /* 0 none, 1 write, 2 read snapshot */
    int64_t next_chunk;         /* next reservable chunk id in this write, 0 = unknown */
    char errmsg[256];           /* the last error, for store_tenant_errmsg */
    /* pgtenant's own state (pg_tx.c, pg_docs*.c, pg_kv.c); zero at open,
     * released by pg_tenant_release: */
    PGresult *lent;       /* the row store_chunk_owner_get lends strings from, */
    char *lent_copy;      /* or its copy when the answer came from the cache */
    int broken;           /* the held connection failed: closed, not pooled, at the end */
    int dirty;            /* the transaction wrote: bump the cache generation at commit */
    int64_t gen;          /* cache generation the transaction began at (in_tx 1 or 2) */
    char nonce_id[33];    /* the schema's cache identity (its nonce), "" until read */
    struct pg_wset *wset; /* a write transaction's cache state (pg_kv.c), or NULL */
} pg_tenant;

/* ---- pg_pool.c ---- */

/* Creates the pool (at most cap connections, 0: 8). */
lore_status pg_pool_new(const char *conninfo, int cap, pg_pool **out, char *err, size_t errlen);
void pg_pool_free(pg_pool *p);
/* A connection, waiting while cap are out. NULL with err filled on failure. */
PGconn *pg_pool_get(pg_pool *p, char *err, size_t errlen);
/* Silences the server's notices on c (pg_pool.c does it to its own). */
void pg_quiet_notices(PGconn *c);
/* Gives it back; broken (or a connection left inside a transaction) is closed. */
void pg_pool_put(pg_pool *p, PGconn *c, int broken);
/* Pools c, just sent a command nobody waits for (a read snapshot's
 * ROLLBACK): pg_pool_get reads its answer before handing c out again. */
void pg_pool_put_pending(pg_pool *p, PGconn *c);

/* ---- pg_util.c ---- */

/* Runs sql (no parameters); LORE_OK on PGRES_COMMAND_OK/TUPLES_OK, else an
 * error with PostgreSQL's message in err. */
lore_status pg_exec(PGconn *c, const char *sql, char *err, size_t errlen);
/* Maps a failed result to a status: unique violation -> LORE_EXISTS,
 * foreign key violation (the row referred to is missing) -> LORE_NOT_FOUND,
 * lock or serialization conflicts -> LORE_BUSY, others (a lost connection
 * too) -> LORE_IO; err gets the server's message. */
lore_status pg_result_status(const PGresult *r, char *err, size_t errlen);

/* pg_exec with parameters (p may be NULL): PQexecParams, an unnamed
 * statement (PgBouncer in transaction mode keeps no prepared statement
 * between transactions), results in binary format (pg_get_*). Returns the
 * result (PQclear it) on success; NULL with *st (pg_result_status) and err
 * filled otherwise. */
struct pg_params;
PGresult *pg_run(PGconn *c, const char *sql, const struct pg_params *p, lore_status *st, char *err,
                 size_t errlen);
/* pg_run for statements whose rows are not wanted; *affected (may be
 * NULL) gets the number of rows changed. */
lore_status pg_run_cmd(PGconn *c, const char *sql, const struct pg_params *p, int64_t *affected,
                       char *err, size_t errlen);
/* One control statement in autocommit on a connection borrowed from the
 * store's pool for the call (a connection failure is logged and the
 * connection closed rather than pooled). */
PGresult *pg_store_run(pg_store *s, const char *sql, const struct pg_params *p, lore_status *st);
lore_status pg_store_cmd(pg_store *s, const char *sql, const struct pg_params *p,
                         int64_t *affected);
/* The SQLSTATE of a failed result ("" when none). */
const char *pg_sqlstate(const PGresult *r);
/* Lists stored in one text column (ACLs, key principals, job groups):
 * items joined by "\n" as in the SQLite backend; join returns owned (NULL:
 * out of memory), split fills an owned array of owned strings ("" and NULL
 * give none). */
char *pg_list_join(const char *const *items, size_t n);
lore_status pg_list_split(const char *joined, char ***out, size_t *n);

/* ---- pg_tenants.c, pg_store.c ---- */

/* Makes the rest of the current transaction on c the tenant's: SET LOCAL
 * ROLE to its role (which reads its own schema and nothing else of lore's:
 * docs/storage.md, "Tenant isolation") and SET LOCAL search_path to its
 * schema. c must be inside a transaction. */
lore_status pg_tenant_enter(PGconn *c, const pg_tenant *t, char *err, size_t errlen);
/* Applies the tenant's pending migrations on c, inside the caller's
 * transaction (which holds the migration lock); *applied (may be NULL)
 * gets the tenant's version after. */
lore_status pg_tenant_migrate_on(PGconn *c, const pg_tenant *t, int64_t *applied, char *err,
                                 size_t errlen);
/* Fills t's id, created_ms, schema and role from its tenants row.
 * LORE_NOT_FOUND if there is none. */
lore_status pg_tenant_load(pg_store *s, PGconn *c, const char *name, pg_tenant *t,
                           int64_t *schema_version);
/* What tenant_open does with a tenant at schema version: LORE_OK when it
 * is current, or after migrating it when older; LORE_UNSUPPORTED when
 * newer than this lore, or older and the store was opened with
 * STORE_OPEN_NO_MIGRATE (store.h). */
lore_status pg_tenant_schema_check(pg_store *s, const char *name, int64_t version);
/* Wakes job_wait everywhere (NOTIFY lore_jobs), inside c's transaction. */
lore_status pg_jobs_notify(PGconn *c);
/* Deletes a tenant's jobs, inside c's transaction. */
lore_status pg_jobs_delete_tenant(PGconn *c, const char *tenant, char *err, size_t errlen);

/* The members of store_backend_postgres that pgcontrol writes (pg_store.c,
 * pg_tenants.c, pg_keys.c, pg_secrets.c, pg_connectors.c, pg_jobs.c,
 * pg_jobs_lease.c, pg_jobs_ops.c, pg_jobs_wait.c): store.h's contract of store_<name>. */
lore_status pg_open(const char *location, unsigned flags, store **out, char *err, size_t errlen);
void pg_close(store *s);
lore_status pg_check(store *s, char *err, size_t errlen);
lore_status pg_schema_status(store *s, store_schema_status **out, size_t *n);
lore_status pg_migrate(store *s, char *err, size_t errlen);
lore_status pg_tenant_create(store *s, const char *name);
lore_status pg_tenant_delete(store *s, const char *name);
lore_status pg_tenant_list(store *s, store_tenant_info **out, size_t *n);
lore_status pg_tenant_open(store *s, const char *name, store_tenant **out);
void pg_tenant_close(store_tenant *t);
lore_status pg_tenant_created(store *s, const char *name, int64_t *created_ms);
const char *pg_tenant_name(const store_tenant *t);
lore_status pg_key_put(store *s, const store_key *k);
lore_status pg_key_get(store *s, const char *id, store_key **out);
lore_status pg_key_list(store *s, const char *tenant, store_key **out, size_t *n);
lore_status pg_key_revoke(store *s, const char *tenant, const char *id, int64_t now_ms);
lore_status pg_session_put(store *s, const store_session *x);
lore_status pg_session_get(store *s, const char *hash, store_session *out);
lore_status pg_session_delete(store *s, const char *hash);
lore_status pg_secret_put(store *s, const char *tenant, const char *name, const char *key_id,
                          const uint8_t *sealed, size_t len, int64_t now_ms);
lore_status pg_secret_get(store *s, const char *tenant, const char *name, store_secret *out);
lore_status pg_secret_reseal(store *s, const char *tenant, const char *name, const char *old_key_id,
                             const uint8_t *old_sealed, size_t old_len, const char *key_id,
                             const uint8_t *sealed, size_t len);
lore_status pg_secret_delete(store *s, const char *tenant, const char *name);
lore_status pg_secret_list(store *s, const char *tenant, const char *after_tenant,
                           const char *after_name, size_t limit, int with_sealed,
                           store_secret **out, size_t *n);
lore_status pg_connector_put(store *s, const store_connector *c);
lore_status pg_connector_get(store *s, const char *id, store_connector **out);
lore_status pg_connector_list(store *s, const char *tenant, store_connector **out, size_t *n);
lore_status pg_connector_rotated(store *s, const char *tenant, const char *id, int64_t rotated_ms,
                                 int64_t previous_until_ms);
lore_status pg_connector_delete(store *s, const char *tenant, const char *id);
lore_status pg_job_enqueue(store *s, store_job *jobs, size_t n, int64_t max_tenant,
                           int64_t max_total, int64_t now_ms, store_enqueue_outcome *outcome);
lore_status pg_job_claim(store *s, const char *worker, int64_t now_ms, int64_t lease_ms,
                         size_t max_jobs, int64_t max_weight, store_job **out, size_t *n);
lore_status pg_job_claim_avoiding(store *s, const char *worker, int64_t now_ms, int64_t lease_ms,
                                  size_t max_jobs, int64_t max_weight, const char *const *avoid,
                                  size_t navoid, store_job **out, size_t *n);
lore_status pg_job_renew(store *s, int64_t id, int64_t lease_seq, int64_t until_ms);
lore_status pg_job_finish(store *s, store_job_outcome *o, size_t n, int64_t now_ms);
lore_status pg_job_get(store *s, const char *tenant, int64_t id, int with_payload, store_job **out);
lore_status pg_job_find(store *s, const char *tenant, const char *ref, int with_payload,
                        store_job **out);
lore_status pg_job_get_dedup(store *s, const char *tenant, const char *dedup_key, store_job **out);
lore_status pg_job_list(store *s, const char *tenant, int state, int64_t before, size_t limit,
                        store_job **out, size_t *n);
lore_status pg_job_retry(store *s, const char *tenant, int64_t id, int64_t now_ms);
lore_status pg_job_purge(store *s, const char *tenant, int state, int64_t before_ms,
                         store_blob_fn fn, void *ctx, int64_t *deleted);
lore_status pg_job_counts(store *s, store_job_count **out, size_t *n);
lore_status pg_job_pending(store *s, const char *tenant, int64_t now_ms, int64_t *oldest_ready_ms,
                           int64_t *pending);
lore_status pg_job_wait(store *s, int64_t timeout_ms, int cancel_fd);

/* ---- the tenant schema (pg_tenant_schema.c) ----
 * Migrations of a tenant schema, applied with search_path set to it. */
extern const char *const pg_tenant_migrations[];
extern const size_t pg_tenant_migration_count;

/* ==== pgtenant: a tenant's data (pg_tenant_schema.c, pg_tx.c, pg_docs.c,
 * pg_docs_read.c, pg_kv.c, pg_blobs.c) ==== */

/* What tenant_close must call before freeing t: rolls back an open
 * transaction and frees what the tenant functions keep on it. */
void pg_tenant_release(pg_tenant *t);

/* The control tables of blobs, as one control migration (pgcontrol lists it
 * among the control migrations, search_path set to "lore"):
 *   blobs(id bigserial, tenant, name, state 0 writing / 1 kept, bytes, created_ms)
 *   blob_chunks(blob -> blobs ON DELETE CASCADE, seq, data bytea)
 * tenant_delete removes the tenant's rows: DELETE FROM lore.blobs WHERE tenant=$1. */
extern const char pg_blob_migration[];

/* Parameters of one statement (PQexecParams): text, decimal integers, or
 * binary bytea. At most PG_PARAMS_MAX. (These helpers are pg_util.c's.) */
#define PG_PARAMS_MAX 16
typedef struct pg_params {
    int n;
    const char *v[PG_PARAMS_MAX];
    int len[PG_PARAMS_MAX];
    int fmt[PG_PARAMS_MAX];
    char num[PG_PARAMS_MAX][24];
} pg_params;
void pg_param_text(pg_params *p, const char *s); /* NULL: SQL NULL */
void pg_param_i64(pg_params *p, int64_t v);
void pg_param_bytes(pg_params *p, const void *data, size_t len);

/* Results are read in binary: int8 (int4 widened), text and bytea. */
int64_t pg_get_i64(const PGresult *r, int row, int col);
/* The bytes of a text or bytea value; NULL for SQL NULL. */
const char *pg_get_bytes(const PGresult *r, int row, int col, size_t *len);
/* A copy of a text value (NULL for SQL NULL; *nomem set when a copy failed). */
char *pg_get_strdup(const PGresult *r, int row, int col, int *nomem);

/* The connection for one tenant call: the transaction's when one is open,
 * else one borrowed from the pool inside a transaction of its own (search
 * path set), so a call made of several statements (pages of a scan) sees
 * one state. */
typedef struct pg_call {
    pg_tenant *t;
    PGconn *c;
    int own;   /* the call has (and pg_call_end ends) a transaction of its own */
    int write; /* own: the call writes */
    int state; /* own: 0 not begun, 1 open, 2 ended (committed or rolled back) */
} pg_call;
/* write: the call writes rows (its transaction then bumps the cache
 * generation when it commits): 1 any rows, after which a write
 * transaction reads documents and chunks from the server, not the cache;
 * PG_WRITE_KV kv rows only, whose caller tells the cache which
 * (pg_cache_tx_wrote). A call outside a transaction that writes
 * gets READ COMMITTED (waits for row locks instead of failing); a read
 * REPEATABLE READ. */
#define PG_WRITE_KV 2
lore_status pg_call_begin(pg_tenant *t, pg_call *k, int write);
/* Ends the call: an own transaction still open commits when st is LORE_OK
 * (bumping the cache generation if the call wrote) and rolls back
 * otherwise. Returns st, or the commit's failure. */
lore_status pg_call_end(pg_call *k, lore_status st);
/* Runs sql with p (NULL: none), binary results. NULL with *st set (and the
 * tenant's errmsg filled) on failure; the caller PQclears a result. */
PGresult *pg_call_exec(pg_call *k, const char *sql, const pg_params *p, lore_status *st);
/* The same for the call's last statement: an own transaction then commits
 * in the same round trip (so whatever the caller makes of the rows, the
 * call's writes are committed once this returns them). */
PGresult *pg_call_exec_last(pg_call *k, const char *sql, const pg_params *p, lore_status *st);

/* pg_call_end for a call whose LORE_NOT_FOUND is an answer, not a
 * failure: the own transaction still commits, and st is returned. */
lore_status pg_call_end_found(pg_call *k, lore_status st);

/* One row of a result, or of its copy in the cache (pg_docs_read.c). */
#define PG_ROW_MAX 16
typedef struct pg_row {
    int n;
    const char *val[PG_ROW_MAX]; /* NULL: SQL NULL; else followed by a NUL */
    size_t len[PG_ROW_MAX];
} pg_row;
void pg_row_of(pg_row *w, const PGresult *r, int i);
int64_t pg_row_i64(const pg_row *w, int col);
/* The columns pg_doc_from_row reads (documents d); the text, when wanted,
 * is selected after them. */
#define PG_DOC_COLS                                                                                \
    "d.rowid, d.id, d.source, d.external_id, d.title, d.url, d.author, d.created_ms,"              \
    " d.updated_ms, d.indexed_ms, d.content_hash, d.metadata, d.acl,"                              \
    " (SELECT count(*) FROM chunks c WHERE c.doc = d.rowid)"
lore_status pg_doc_from_row(const pg_row *w, store_doc **out);

/* The functions of the backend table (store_backend.h has the contract). */
lore_status pg_begin(store_tenant *t);
lore_status pg_commit(store_tenant *t);
void pg_rollback(store_tenant *t);
lore_status pg_begin_read(store_tenant *t);
void pg_end_read(store_tenant *t);
/* The server's message of the tenant calls' last failure. */
const char *pg_tenant_errmsg(store_tenant *t);

lore_status pg_doc_lookup(store_tenant *t, const char *source, const char *external_id,
                          int64_t *rowid, char *hash);
lore_status pg_reserve_chunk_ids(store_tenant *t, size_t n, int64_t *first);
lore_status pg_doc_put(store_tenant *t, store_doc *doc, const store_chunk_in *chunks, size_t n);
lore_status pg_doc_chunks(store_tenant *t, int64_t doc_rowid, store_chunk_len_fn fn, void *ctx);
lore_status pg_chunk_scan(store_tenant *t, int64_t after_id, size_t limit, store_chunk_scan_fn fn,
                          void *ctx);
lore_status pg_chunk_set_nterms(store_tenant *t, int64_t chunk_id, uint32_t nterms);
lore_status pg_doc_delete(store_tenant *t, int64_t doc_rowid);
lore_status pg_doc_get(store_tenant *t, const char *id, int with_text, store_doc **out);
lore_status pg_doc_get_rowid(store_tenant *t, int64_t rowid, int with_text, store_doc **out);
lore_status pg_doc_list(store_tenant *t, const store_viewer *who, const char *source, int64_t after,
                        size_t limit, store_doc_fn fn, void *ctx);
lore_status pg_doc_scan_external(store_tenant *t, const char *source, const char *from,
                                 const char *below, size_t limit, store_doc_ref_fn fn, void *ctx);
lore_status pg_doc_rename(store_tenant *t, int64_t doc_rowid, const char *external_id);
lore_status pg_chunk_get(store_tenant *t, int64_t chunk_id, store_chunk *out);
lore_status pg_chunk_owner_get(store_tenant *t, int64_t chunk_id, store_chunk_owner *out);
lore_status pg_chunk_doc(store_tenant *t, int64_t chunk_id, int64_t *doc_rowid);
lore_status pg_sources(store_tenant *t, const store_viewer *who, store_source_info **out,
                       size_t *n);
lore_status pg_counts(store_tenant *t, int64_t *docs, int64_t *chunks);
lore_status pg_disk_bytes(store_tenant *t, int64_t *bytes);

lore_status pg_kv_put(store_tenant *t, int ns, const void *key, size_t klen, const void *val,
                      size_t vlen);
lore_status pg_kv_get(store_tenant *t, int ns, const void *key, size_t klen, lore_buf *val);
lore_status pg_kv_delete(store_tenant *t, int ns, const void *key, size_t klen);
lore_status pg_kv_delete_range(store_tenant *t, int ns, const void *lo, size_t lolen,
                               const void *hi, size_t hilen);
lore_status pg_kv_scan(store_tenant *t, int ns, const void *lo, size_t lolen, const void *hi,
                       size_t hilen, store_kv_fn fn, void *ctx);

/* pg_kv.c's per-process cache of what transactions read (kv values,
 * chunks' documents and owners; see there): its byte cap (default 64 MiB;
 * 0 turns it off) and its figures. */
typedef struct pg_kv_cache_stats {
    int64_t hits, misses, evictions;
    int64_t entries, bytes;
} pg_kv_cache_stats;
void pg_kv_cache_set_cap(size_t bytes);
void pg_kv_cache_get_stats(pg_kv_cache_stats *out);
/* The cache for other readers of pg_docs.c, under their own namespaces
 * (negative: never a kv namespace). pg_cache_get answers a hit (0: val
 * filled, *st LORE_OK or LORE_NOT_FOUND for a cached absence) or a miss
 * (-1; *slot then says where pg_cache_put may fill, -1: nowhere). val NULL
 * on put: the key is absent. */
#define PG_CACHE_CHUNK_DOC (-1)
#define PG_CACHE_CHUNK_OWNER (-2)
#define PG_CACHE_DOC (-3)
#define PG_CACHE_CHUNK (-4)
#define PG_CACHE_KV_SCAN (-5) /* pages of pg_kv_scan */
int pg_cache_get(const pg_tenant *t, int ns, const void *key, size_t klen, lore_buf *val,
                 lore_status *st, int *slot);
void pg_cache_put(const pg_tenant *t, int slot, int ns, const void *key, size_t klen,
                  const void *val, size_t vlen);
/* A write transaction's use of the cache (see pg_kv.c): begun at generation
 * t->gen (read under the writer lock). What it writes is read from the
 * server afterwards: kv writes as pg_cache_tx_wrote says (range 0: the key
 * lo; 1: the keys in [lo, hi), hi NULL: no upper bound), documents and
 * chunks once pg_cache_tx_write_docs (pg_call_begin) said so. It ends
 * committed at generation new_gen (-1: not known) or not (committed 0);
 * the cache moves on only from t->gen to t->gen + 1. */
void pg_cache_tx_begin(pg_tenant *t);
void pg_cache_tx_wrote(pg_tenant *t, int ns, const void *lo, size_t lolen, const void *hi,
                       size_t hilen, int range);
void pg_cache_tx_write_docs(pg_tenant *t);
void pg_cache_tx_end(pg_tenant *t, int committed, int64_t new_gen);

lore_status pg_blob_create(store *s, const char *tenant, char *name_out, store_blob_writer **w);
lore_status pg_blob_create_named(store *s, const char *tenant, const char *name,
                                 store_blob_writer **w);
lore_status pg_blob_write(store_blob_writer *w, const void *data, size_t len);
lore_status pg_blob_finish(store_blob_writer *w, int keep);
lore_status pg_blob_size(store *s, const char *tenant, const char *name, int64_t *bytes);
lore_status pg_blob_read(store *s, const char *tenant, const char *name, int64_t offset, void *buf,
                         size_t len, size_t *got);
void pg_blob_remove(store *s, const char *tenant, const char *name);

#endif
