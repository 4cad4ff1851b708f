/* PostgreSQL backend: what the job queue's files share (pg_jobs.c: the
 * transaction and enqueue; pg_jobs_lease.c: claim, renew, finish;
 * pg_jobs_ops.c: reading and operating; pg_jobs_wait.c: waking). */
#ifndef LORE_STORE_POSTGRES_PG_JOBS_INT_H
#define LORE_STORE_POSTGRES_PG_JOBS_INT_H

#include "store/postgres/pg_int.h"

#define JOB_COLUMNS                                                                                \
    "id, tenant, kind, dedup_key, groups, blob, weight, state, attempts, max_attempts,"            \
    " lease_seq, created_ms, updated_ms, visible_ms, started_ms, finished_ms, worker, error,"      \
    " result, owner, pub, seq"
#define JOB_COL_PAYLOAD 22 /* the payload, selected after JOB_COLUMNS when asked */

/* One queue transaction on a pooled connection. */
typedef struct pgjq {
    pg_store *s;
    PGconn *c;
    int notify; /* NOTIFY lore_jobs before the commit */
    char err[256];
} pgjq;

/* Borrows a connection and BEGINs. */
lore_status pgjq_begin(pg_store *s, pgjq *q);
/* Commits when st is LORE_OK (else rolls back), gives the connection back
 * and returns the outcome. */
lore_status pgjq_end(pgjq *q, lore_status st);
/* A statement of the transaction (pg_run). */
PGresult *pgjq_run(pgjq *q, const char *sql, const pg_params *p, lore_status *st);
lore_status pgjq_cmd(pgjq *q, const char *sql, const pg_params *p, int64_t *affected);

/* Fills j from row i of a result of JOB_COLUMNS (plus the payload at
 * JOB_COL_PAYLOAD when with_payload). */
lore_status pgjq_read_job(const PGresult *r, int i, int with_payload, store_job *j);
/* The job of the tenant with that dedup key: copies its numbers into job
 * (strings stay the caller's), *found 1; *found 0 when there is none. */
lore_status pgjq_find_dedup(pgjq *q, store_job *job, int *found);
/* Adds the group rows of a pending job ("tenant/group", so tenants never
 * block each other). */
lore_status pgjq_groups_insert(pgjq *q, const char *tenant, int64_t id, char *const *groups,
                               size_t n);

#endif
