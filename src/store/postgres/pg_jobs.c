/* PostgreSQL backend: the durable job queue's hot path: the queue
 * transaction, reading job rows, and enqueue here; claim, renew and finish
 * in pg_jobs_lease.c. pg_jobs_ops.c reads and operates the queue; the tables
 * (lore.jobs, lore.job_groups, lore.job_pending) are the SQLite backend's
 * (sqlite_jobs.c describes them) and so are the semantics: docs/jobs.md.
 *
 * Concurrency is PostgreSQL's, not a process mutex: any number of
 * processes claim at once.
 *   - A claim reads the runnable candidates without locking, then takes
 *     each one it wants with SELECT ... FOR UPDATE SKIP LOCKED, which
 *     re-checks the row's state and passes over a row another claimer
 *     holds, then checks its groups (a pending job's group rows exist from
 *     enqueue to finish, so an earlier pending job blocks it whether or not
 *     that job's claim has committed). One transaction per claim batch.
 *   - Enqueues of one tenant serialize on its job_pending row (locked
 *     first), so the dedup check, the per-tenant cap and the tenant's job
 *     sequence see every earlier enqueue; with an overall cap, enqueues
 *     also take a transaction advisory lock so the total is exact.
 *   - Every transaction locks job rows before job_pending rows, and
 *     job_pending rows in tenant order (the changes to the counters are
 *     gathered and applied at the end), so transactions never wait on each
 *     other in a cycle.
 *   - Enqueue, retry and finish NOTIFY lore_jobs in their transaction; a
 *     notification is delivered at commit, and job_wait (pg_jobs_wait.c)
 *     LISTENs for it. */
#include "store/postgres/pg_jobs_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* The advisory lock key of enqueues under an overall cap ("lorequeu"). */
#define ENQUEUE_LOCK "7813302536433779061"

/* ---- the transaction ---- */

lore_status pgjq_begin(pg_store *s, pgjq *q) {
    memset(q, 0, sizeof *q);
    q->s = s;
    if (!(q->c = pg_pool_get(s->pool, q->err, sizeof q->err))) return LORE_BUSY;
    lore_status st = pg_exec(q->c, "BEGIN", q->err, sizeof q->err);
    if (st != LORE_OK) {
        pg_pool_put(s->pool, q->c, 1);
        q->c = NULL;
    }
    return st;
}

lore_status pgjq_end(pgjq *q, lore_status st) {
    if (st == LORE_OK && q->notify) st = pg_exec(q->c, "NOTIFY lore_jobs", q->err, sizeof q->err);
    if (st == LORE_OK) st = pg_exec(q->c, "COMMIT", q->err, sizeof q->err);
    if (st != LORE_OK) (void)pg_exec(q->c, "ROLLBACK", NULL, 0);
    pg_pool_put(q->s->pool, q->c, PQstatus(q->c) != CONNECTION_OK);
    q->c = NULL;
    return st;
}

PGresult *pgjq_run(pgjq *q, const char *sql, const pg_params *p, lore_status *st) {
    return pg_run(q->c, sql, p, st, q->err, sizeof q->err);
}

lore_status pgjq_cmd(pgjq *q, const char *sql, const pg_params *p, int64_t *affected) {
    return pg_run_cmd(q->c, sql, p, affected, q->err, sizeof q->err);
}

lore_status pg_jobs_notify(PGconn *c) {
    return pg_exec(c, "NOTIFY lore_jobs", NULL, 0);
}

/* ---- reading rows ---- */

lore_status pgjq_read_job(const PGresult *r, int i, int with_payload, store_job *j) {
    memset(j, 0, sizeof *j);
    const char *tenant = pg_get_bytes(r, i, 1, NULL), *kind = pg_get_bytes(r, i, 2, NULL);
    if (!tenant || !kind || strlen(tenant) > STORE_NAME_MAX || strlen(kind) > STORE_JOB_KIND_MAX)
        return LORE_CORRUPT;
    int nomem = 0;
    j->id = pg_get_i64(r, i, 0);
    snprintf(j->tenant, sizeof j->tenant, "%s", tenant);
    snprintf(j->kind, sizeof j->kind, "%s", kind);
    j->dedup_key = pg_get_strdup(r, i, 3, &nomem);
    lore_status st = pg_list_split(pg_get_bytes(r, i, 4, NULL), &j->groups, &j->ngroups);
    j->blob = pg_get_strdup(r, i, 5, &nomem);
    j->weight = pg_get_i64(r, i, 6);
    j->state = (int)pg_get_i64(r, i, 7);
    j->attempts = (int)pg_get_i64(r, i, 8);
    j->max_attempts = (int)pg_get_i64(r, i, 9);
    j->lease_seq = pg_get_i64(r, i, 10);
    j->created_ms = pg_get_i64(r, i, 11);
    j->updated_ms = pg_get_i64(r, i, 12);
    j->visible_ms = pg_get_i64(r, i, 13);
    j->started_ms = pg_get_i64(r, i, 14);
    j->finished_ms = pg_get_i64(r, i, 15);
    j->worker = pg_get_strdup(r, i, 16, &nomem);
    j->error = pg_get_strdup(r, i, 17, &nomem);
    j->result = pg_get_strdup(r, i, 18, &nomem);
    j->owner = pg_get_strdup(r, i, 19, &nomem);
    const char *pub = pg_get_bytes(r, i, 20, NULL);
    if (pub && strlen(pub) == STORE_JOB_PUB_LEN) memcpy(j->pub, pub, STORE_JOB_PUB_LEN + 1);
    j->seq = pg_get_i64(r, i, 21);
    if (st == LORE_OK && nomem) st = LORE_NOMEM;
    if (with_payload && st == LORE_OK && !PQgetisnull(r, i, JOB_COL_PAYLOAD)) {
        size_t len = 0;
        const char *p = pg_get_bytes(r, i, JOB_COL_PAYLOAD, &len);
        if (!(j->payload = malloc(len + 1))) {
            st = LORE_NOMEM;
        } else {
            if (len) memcpy(j->payload, p, len);
            j->payload[len] = 0; /* payloads are JSON: callers may treat them as strings */
            j->payload_len = len;
        }
    }
    if (st != LORE_OK) store_job_clear(j);
    return st;
}

lore_status pgjq_find_dedup(pgjq *q, store_job *job, int *found) {
    *found = 0;
    pg_params p = {0};
    pg_param_text(&p, job->tenant);
    pg_param_text(&p, job->dedup_key);
    lore_status st;
    PGresult *r = pgjq_run(
        q, "SELECT " JOB_COLUMNS " FROM lore.jobs WHERE tenant=$1 AND dedup_key=$2", &p, &st);
    if (!r) return st;
    if (PQntuples(r)) {
        store_job prior;
        if ((st = pgjq_read_job(r, 0, 0, &prior)) == LORE_OK) {
            /* The caller's strings are its own: only the numbers change. */
            job->id = prior.id;
            memcpy(job->pub, prior.pub, sizeof job->pub);
            job->seq = prior.seq;
            job->state = prior.state;
            job->attempts = prior.attempts;
            job->max_attempts = prior.max_attempts;
            job->lease_seq = prior.lease_seq;
            job->created_ms = prior.created_ms;
            job->updated_ms = prior.updated_ms;
            job->visible_ms = prior.visible_ms;
            job->started_ms = prior.started_ms;
            job->finished_ms = prior.finished_ms;
            store_job_clear(&prior);
            *found = 1;
        }
    }
    PQclear(r);
    return st;
}

lore_status pgjq_groups_insert(pgjq *q, const char *tenant, int64_t id, char *const *groups,
                               size_t n) {
    if (!n) return LORE_OK;
    char *joined = pg_list_join((const char *const *)groups, n);
    if (!joined) return LORE_NOMEM;
    pg_params p = {0};
    pg_param_text(&p, tenant);
    pg_param_text(&p, joined);
    pg_param_i64(&p, id);
    lore_status st =
        pgjq_cmd(q,
                 "INSERT INTO lore.job_groups(grp, job)"
                 " SELECT $1 || '/' || g, $3 FROM unnest(string_to_array($2, E'\\n')) g"
                 " ON CONFLICT DO NOTHING",
                 &p, NULL);
    free(joined);
    return st;
}

/* ---- enqueue ---- */

/* Locks the tenant's job_pending row (made if missing) after checking the
 * tenant exists (FOR SHARE: a concurrent delete waits for this enqueue, or
 * this enqueue finds the tenant gone). */
static lore_status lock_tenant(pgjq *q, const char *tenant) {
    pg_params p = {0};
    pg_param_text(&p, tenant);
    lore_status st;
    PGresult *r = pgjq_run(q,
                           "INSERT INTO lore.job_pending(tenant, n, seq) SELECT $1, 0, 0"
                           " WHERE EXISTS(SELECT 1 FROM lore.tenants WHERE name=$1 FOR SHARE)"
                           " ON CONFLICT(tenant) DO UPDATE SET n = lore.job_pending.n RETURNING n",
                           &p, &st);
    if (!r) return st;
    st = PQntuples(r) ? LORE_OK : LORE_NOT_FOUND;
    PQclear(r);
    return st;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Locks every tenant of the batch, in name order. */
static lore_status lock_tenants(pgjq *q, const store_job *jobs, size_t n) {
    const char **names = malloc(n * sizeof *names);
    if (!names) return LORE_NOMEM;
    for (size_t i = 0; i < n; i++)
        names[i] = jobs[i].tenant;
    qsort(names, n, sizeof *names, cmp_str);
    lore_status st = LORE_OK;
    for (size_t i = 0; i < n && st == LORE_OK; i++)
        if (!i || strcmp(names[i], names[i - 1])) st = lock_tenant(q, names[i]);
    free(names);
    return st;
}

static lore_status pending_read(pgjq *q, const char *tenant, int64_t *n) {
    pg_params p = {0};
    pg_param_text(&p, tenant);
    lore_status st;
    PGresult *r = pgjq_run(q,
                           "SELECT coalesce(sum(n), 0)::bigint FROM lore.job_pending"
                           " WHERE $1::text IS NULL OR tenant=$1",
                           &p, &st);
    if (!r) return st;
    *n = pg_get_i64(r, 0, 0);
    PQclear(r);
    return LORE_OK;
}

static lore_status insert_job(pgjq *q, store_job *job, int64_t now_ms) {
    pg_params sp = {0};
    pg_param_text(&sp, job->tenant);
    lore_status st;
    /* One more pending job of the tenant and its next sequence number (the
     * row is locked: lock_tenant). */
    PGresult *r = pgjq_run(q,
                           "UPDATE lore.job_pending SET n = greatest(n + 1, 0), seq = seq + 1"
                           " WHERE tenant=$1 RETURNING seq",
                           &sp, &st);
    if (!r) return st;
    int64_t seq = PQntuples(r) ? pg_get_i64(r, 0, 0) : 0;
    PQclear(r);
    if (!seq) return LORE_INTERNAL;
    char *groups = pg_list_join((const char *const *)job->groups, job->ngroups);
    if (!groups) return LORE_NOMEM;
    int64_t visible = job->visible_ms > now_ms ? job->visible_ms : now_ms;
    /* 96 random bits collide with another job's only by freak chance; the
     * row is then not inserted and a new draw is taken. */
    int64_t id = 0;
    for (int draw = 0; draw < 4 && !id; draw++) {
        if ((st = store_job_new_pub(job->pub)) != LORE_OK) break;
        pg_params p = {0};
        pg_param_text(&p, job->tenant);
        pg_param_text(&p, job->kind);
        pg_param_text(&p, job->dedup_key);
        pg_param_text(&p, groups);
        if (job->payload)
            pg_param_bytes(&p, job->payload, job->payload_len);
        else
            pg_param_text(&p, NULL);
        pg_param_text(&p, job->blob);
        pg_param_i64(&p, job->weight);
        pg_param_i64(&p, job->max_attempts);
        pg_param_i64(&p, now_ms);
        pg_param_i64(&p, visible);
        pg_param_text(&p, job->owner);
        pg_param_text(&p, job->pub);
        pg_param_i64(&p, seq);
        r = pgjq_run(
            q,
            "INSERT INTO lore.jobs(tenant, kind, dedup_key, groups, payload, blob, weight,"
            " state, attempts, max_attempts, lease_seq, created_ms, updated_ms, visible_ms,"
            " owner, pub, seq) VALUES($1, $2, $3, $4, $5::bytea, $6, $7, 0, 0, $8, 0, $9,"
            " $9, $10, $11, $12, $13) ON CONFLICT(pub) DO NOTHING RETURNING id",
            &p, &st);
        if (!r) break;
        if (PQntuples(r)) id = pg_get_i64(r, 0, 0);
        PQclear(r);
    }
    free(groups);
    if (st != LORE_OK) return st;
    if (!id) return LORE_EXISTS;
    job->id = id;
    job->seq = seq;
    job->state = STORE_JOB_READY;
    job->attempts = 0;
    job->lease_seq = 0;
    job->created_ms = job->updated_ms = now_ms;
    job->visible_ms = visible;
    return pgjq_groups_insert(q, job->tenant, id, job->groups, job->ngroups);
}

/* The queries of the enqueue policy (store_enqueue_apply, store_check.c);
 * the tenants exist and are locked already (lock_tenants). */
static lore_status enq_find_dedup(void *q, store_job *job, int *found) {
    return pgjq_find_dedup(q, job, found);
}

static lore_status enq_pending(void *q, const char *tenant, int64_t *n) {
    return pending_read(q, tenant, n);
}

static lore_status enq_insert(void *q_, store_job *job, int64_t now_ms) {
    pgjq *q = q_;
    q->notify = 1;
    return insert_job(q, job, now_ms);
}

static const store_enqueue_ops enqueue_ops = {
    .find_dedup = enq_find_dedup, .pending = enq_pending, .insert = enq_insert};

lore_status pg_job_enqueue(store *base, store_job *jobs, size_t n, int64_t max_tenant,
                           int64_t max_total, int64_t now_ms, store_enqueue_outcome *outcome) {
    pg_store *s = (pg_store *)base;
    *outcome = STORE_ENQUEUED;
    for (size_t i = 0; i < n; i++)
        if (!store_job_valid(&jobs[i])) return LORE_INVALID;
    if (!n) return LORE_OK;
    pgjq q;
    lore_status st = pgjq_begin(s, &q);
    if (st != LORE_OK) return st;
    if (max_total > 0)
        st = pgjq_cmd(&q, "SELECT pg_advisory_xact_lock(" ENQUEUE_LOCK ")", NULL, NULL);
    if (st == LORE_OK) st = lock_tenants(&q, jobs, n);
    store_enqueue_caps caps = {max_tenant, max_total, now_ms};
    if (st == LORE_OK) st = store_enqueue_apply(&enqueue_ops, &q, jobs, n, &caps, outcome);
    if (store_enqueue_refused(*outcome)) {
        (void)pgjq_end(&q, st == LORE_OK ? LORE_BUSY : st); /* roll back whatever was added */
        return st;
    }
    return pgjq_end(&q, st);
}
