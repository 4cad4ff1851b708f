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
    PGconn *listen; /* LISTEN lore_jobs, for job_wait; NULL until first used */
} pg_store;

typedef struct pg_tenant {
    store_tenant base;
    pg_store *owner;
    char name[STORE_NAME_MAX + 1];
    int64_t id; /* the tenants row */
    int64_t created_ms;
    char schema[PG_SCHEMA_MAX]; /* lore_tenant_<id>, needs no quoting */
    PGconn *conn;               /* held during a transaction, else NULL */
    int in_tx;                  /* 0 none, 1 write, 2 read snapshot */
    int64_t next_chunk;         /* next reservable chunk id in this write, 0 = unknown */
    char errmsg[256];           /* the last error, for store_tenant_errmsg */
} pg_tenant;

/* ---- pg_pool.c ---- */

/* Creates the pool (at most cap connections, 0: 8). */
lore_status pg_pool_new(const char *conninfo, int cap, pg_pool **out, char *err, size_t errlen);
void pg_pool_free(pg_pool *p);
/* A connection, waiting while cap are out. NULL with err filled on failure. */
PGconn *pg_pool_get(pg_pool *p, char *err, size_t errlen);
/* Gives it back; broken (or a connection left inside a transaction) is closed. */
void pg_pool_put(pg_pool *p, PGconn *c, int broken);

/* ---- pg_util.c ---- */

/* Runs sql (no parameters); LORE_OK on PGRES_COMMAND_OK/TUPLES_OK, else an
 * error with PostgreSQL's message in err. */
lore_status pg_exec(PGconn *c, const char *sql, char *err, size_t errlen);
/* Maps a failed result to a status: unique violation -> LORE_EXISTS,
 * lock or serialization conflicts -> LORE_BUSY, others (a lost connection
 * too) -> LORE_IO; err gets the
 * server's message. */
lore_status pg_result_status(const PGresult *r, char *err, size_t errlen);

/* ---- the tenant schema (pg_tenant_schema.c) ----
 * Migrations of a tenant schema, applied with search_path set to it. */
extern const char *const pg_tenant_migrations[];
extern const size_t pg_tenant_migration_count;

#endif
