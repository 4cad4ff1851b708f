/* Embedded store: the durable job queue in the control database, its hot
 * path (enqueue, claim, renew, finish); sqlite_jobs_ops.c reads and
 * operates it.
 *
 * Tables (control migrations 3 and 4, see sqlite_store.c):
 *   jobs(id AUTOINCREMENT, tenant, kind, dedup_key, groups, payload, blob,
 *        weight, state, attempts, max_attempts, lease_seq, created_ms,
 *        updated_ms, visible_ms, started_ms, finished_ms, worker, error,
 *        result, owner, pub UNIQUE, seq, legacy)
 *   job_groups(grp, job)   one row per group of each pending job: the FIFO
 *                          rule is "no earlier row with my group" (and no
 *                          later one under a live lease, for retried jobs)
 *   job_pending(tenant, n, seq)  pending (ready + leased) jobs per tenant,
 *                          kept in step with the jobs so back-pressure costs
 *                          one read, and the tenant's last job seq
 *
 * The internal id comes from AUTOINCREMENT and orders the whole queue; it is
 * shared by every tenant, so it never leaves the server. Clients see pub, a
 * random "job_<24 hex>" (a collision with an existing one is drawn again),
 * and page listings by seq, which counts only their own tenant's jobs.
 * Jobs queued before pub existed keep answering to their number (legacy).
 * Group keys are stored as "tenant/group" so tenants never block each
 * other.
 *
 * Every write is one BEGIN IMMEDIATE transaction. Threads of one process
 * also take a process-wide mutex first: SQLite's busy handler waits by
 * sleeping in growing steps, which under contention between a dozen
 * threads costs tens of milliseconds, while a mutex hands over at once.
 * Other processes (lore worker) still meet at SQLite's lock. */
#include "store/sqlite/sqlite_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

/* Candidates examined per claim: enough to skip past jobs blocked behind
 * their group, bounded so a claim stays short. */
#define CLAIM_SCAN 1024
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

static lore_status exec_sql(sqlite3 *db, const char *sql) {
    return sqlite_status(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

lore_status jq_write_begin(sqlite_store *s) {
    pthread_mutex_lock(&write_lock);
    lore_status st = exec_sql(s->control, "BEGIN IMMEDIATE");
    if (st != LORE_OK) pthread_mutex_unlock(&write_lock);
    return st;
}

lore_status jq_write_end(sqlite_store *s, lore_status st) {
    if (st == LORE_OK) st = exec_sql(s->control, "COMMIT");
    if (st != LORE_OK) (void)exec_sql(s->control, "ROLLBACK");
    pthread_mutex_unlock(&write_lock);
    return st;
}

/* A statement of the queue's hot path, prepared on first use and kept. */
sqlite3_stmt *jq_stmt(sqlite_store *s, int which, const char *sql) {
    if (!s->job_st[which] && sqlite3_prepare_v3(s->control, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                                &s->job_st[which], NULL) != SQLITE_OK)
        return NULL;
    sqlite3_reset(s->job_st[which]);
    sqlite3_clear_bindings(s->job_st[which]);
    return s->job_st[which];
}

lore_status jq_step_done(sqlite3_stmt *q) {
    int rc = sqlite3_step(q);
    lore_status st = rc == SQLITE_DONE || rc == SQLITE_ROW ? LORE_OK : sqlite_status(rc);
    sqlite3_reset(q);
    return st;
}

void jq_bind_opt(sqlite3_stmt *q, int i, const char *v) {
    if (v)
        sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, i);
}

static char *dup_col(sqlite3_stmt *q, int i, lore_status *st) {
    const char *v = (const char *)sqlite3_column_text(q, i);
    if (!v) return NULL;
    char *d = strdup(v);
    if (!d) *st = LORE_NOMEM;
    return d;
}

/* Fills j from a row selecting JOB_COLUMNS (plus the payload as column 20
 * when with_payload). */
lore_status jq_read_job(sqlite3_stmt *q, int with_payload, store_job *j) {
    memset(j, 0, sizeof *j);
    const char *tenant = (const char *)sqlite3_column_text(q, 1);
    const char *kind = (const char *)sqlite3_column_text(q, 2);
    if (!tenant || !kind || strlen(tenant) > STORE_NAME_MAX || strlen(kind) > STORE_JOB_KIND_MAX)
        return LORE_CORRUPT;
    lore_status st = LORE_OK;
    j->id = sqlite3_column_int64(q, 0);
    snprintf(j->tenant, sizeof j->tenant, "%s", tenant);
    snprintf(j->kind, sizeof j->kind, "%s", kind);
    j->dedup_key = dup_col(q, 3, &st);
    if (st == LORE_OK)
        st = sqlite_list_split((const char *)sqlite3_column_text(q, 4), &j->groups, &j->ngroups);
    j->blob = dup_col(q, 5, &st);
    j->weight = sqlite3_column_int64(q, 6);
    j->state = sqlite3_column_int(q, 7);
    j->attempts = sqlite3_column_int(q, 8);
    j->max_attempts = sqlite3_column_int(q, 9);
    j->lease_seq = sqlite3_column_int64(q, 10);
    j->created_ms = sqlite3_column_int64(q, 11);
    j->updated_ms = sqlite3_column_int64(q, 12);
    j->visible_ms = sqlite3_column_int64(q, 13);
    j->started_ms = sqlite3_column_int64(q, 14);
    j->finished_ms = sqlite3_column_int64(q, 15);
    j->worker = dup_col(q, 16, &st);
    j->error = dup_col(q, 17, &st);
    j->result = dup_col(q, 18, &st);
    j->owner = dup_col(q, 19, &st);
    const char *pub = (const char *)sqlite3_column_text(q, 20);
    if (pub && strlen(pub) == STORE_JOB_PUB_LEN) memcpy(j->pub, pub, STORE_JOB_PUB_LEN + 1);
    j->seq = sqlite3_column_int64(q, 21);
    if (with_payload && st == LORE_OK && sqlite3_column_type(q, JOB_COL_PAYLOAD) != SQLITE_NULL) {
        int len = sqlite3_column_bytes(q, JOB_COL_PAYLOAD);
        const void *p = sqlite3_column_blob(q, JOB_COL_PAYLOAD);
        if (!(j->payload = malloc((size_t)len + 1))) {
            st = LORE_NOMEM;
        } else {
            if (len) memcpy(j->payload, p, (size_t)len);
            j->payload[len] = 0; /* payloads are JSON: callers may treat them as strings */
            j->payload_len = (size_t)len;
        }
    }
    if (st != LORE_OK) store_job_clear(j);
    return st;
}

static lore_status tenant_known(sqlite_store *s, const char *tenant) {
    sqlite3_stmt *q = jq_stmt(s, JST_TENANT, "SELECT 1 FROM tenants WHERE name=?");
    if (!q) return LORE_INTERNAL;
    sqlite3_bind_text(q, 1, tenant, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    return rc == SQLITE_ROW ? LORE_OK : rc == SQLITE_DONE ? LORE_NOT_FOUND : sqlite_status(rc);
}

lore_status jq_pending_add(sqlite_store *s, const char *tenant, int64_t delta) {
    sqlite3_stmt *q = jq_stmt(s, JST_PENDING_ADD,
                              "INSERT INTO job_pending(tenant, n) VALUES(?1, max(?2, 0))"
                              " ON CONFLICT(tenant) DO UPDATE SET n = max(n + ?2, 0)");
    if (!q) return LORE_INTERNAL;
    sqlite3_bind_text(q, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, delta);
    return jq_step_done(q);
}

lore_status jq_pending_read(sqlite_store *s, const char *tenant, int64_t *n) {
    sqlite3_stmt *q = jq_stmt(s, JST_PENDING_GET,
                              "SELECT coalesce(sum(n), 0) FROM job_pending"
                              " WHERE ?1 IS NULL OR tenant=?1");
    if (!q) return LORE_INTERNAL;
    jq_bind_opt(q, 1, tenant);
    int rc = sqlite3_step(q);
    *n = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_reset(q);
    return rc == SQLITE_ROW ? LORE_OK : sqlite_status(rc);
}

lore_status jq_groups_insert(sqlite_store *s, const char *tenant, int64_t id, char *const *groups,
                             size_t n) {
    sqlite3_stmt *q = jq_stmt(
        s, JST_GROUP_ADD, "INSERT OR IGNORE INTO job_groups(grp, job) VALUES(?1 || '/' || ?2, ?3)");
    if (!q) return LORE_INTERNAL;
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_text(q, 1, tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, groups[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, id);
        lore_status st = jq_step_done(q);
        if (st != LORE_OK) return st;
    }
    return LORE_OK;
}

static lore_status groups_delete(sqlite_store *s, int64_t id) {
    sqlite3_stmt *q = jq_stmt(s, JST_GROUP_DEL, "DELETE FROM job_groups WHERE job=?");
    if (!q) return LORE_INTERNAL;
    sqlite3_bind_int64(q, 1, id);
    return jq_step_done(q);
}

lore_status jq_find_dedup(sqlite_store *s, store_job *job, int *found) {
    *found = 0;
    sqlite3_stmt *q =
        jq_stmt(s, JST_DEDUP, "SELECT " JOB_COLUMNS " FROM jobs WHERE tenant=? AND dedup_key=?");
    if (!q) return LORE_INTERNAL;
    sqlite3_bind_text(q, 1, job->tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, job->dedup_key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    lore_status st = LORE_OK;
    if (rc == SQLITE_ROW) {
        store_job prior;
        if ((st = jq_read_job(q, 0, &prior)) == LORE_OK) {
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
    } else if (rc != SQLITE_DONE) {
        st = sqlite_status(rc);
    }
    sqlite3_reset(q);
    return st;
}

/* Counts one more pending job of the tenant and takes its next job
 * sequence number, in one statement (inside the write transaction, so a
 * failed insert gives both back). */
static lore_status next_seq(sqlite_store *s, const char *tenant, int64_t *seq) {
    sqlite3_stmt *q = jq_stmt(s, JST_SEQ,
                              "INSERT INTO job_pending(tenant, n, seq) VALUES(?1, 1, 1)"
                              " ON CONFLICT(tenant) DO UPDATE SET n = max(n + 1, 0), seq = seq + 1"
                              " RETURNING seq");
    if (!q) return LORE_INTERNAL;
    sqlite3_bind_text(q, 1, tenant, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(q);
        return rc == SQLITE_DONE ? LORE_INTERNAL : sqlite_status(rc);
    }
    *seq = sqlite3_column_int64(q, 0);
    return jq_step_done(q); /* runs the statement to its end */
}

static lore_status insert_job(sqlite_store *s, store_job *job, int64_t now_ms) {
    int64_t seq = 0;
    lore_status st = next_seq(s, job->tenant, &seq);
    if (st != LORE_OK) return st;
    char *groups = sqlite_list_join((const char *const *)job->groups, job->ngroups);
    if (!groups) return LORE_NOMEM;
    sqlite3_stmt *q = jq_stmt(
        s, JST_INSERT,
        "INSERT INTO jobs(tenant, kind, dedup_key, groups, payload, blob, weight, state,"
        " attempts, max_attempts, lease_seq, created_ms, updated_ms, visible_ms, owner, pub, seq)"
        " VALUES(?,?,?,?,?,?,?,0,0,?,0,?,?,?,?,?,?)");
    /* 96 random bits collide with another job's only by freak chance; the
     * unique index refuses it and a new draw is taken. */
    for (int draw = 0; draw < 4; draw++) {
        st = q ? store_job_new_pub(job->pub) : LORE_INTERNAL;
        if (st != LORE_OK) break;
        sqlite3_bind_text(q, 1, job->tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, job->kind, -1, SQLITE_STATIC);
        jq_bind_opt(q, 3, job->dedup_key);
        sqlite3_bind_text(q, 4, groups, -1, SQLITE_STATIC);
        if (job->payload)
            sqlite3_bind_blob64(q, 5, job->payload, job->payload_len, SQLITE_STATIC);
        else
            sqlite3_bind_null(q, 5);
        jq_bind_opt(q, 6, job->blob);
        sqlite3_bind_int64(q, 7, job->weight);
        sqlite3_bind_int(q, 8, job->max_attempts);
        sqlite3_bind_int64(q, 9, now_ms);
        sqlite3_bind_int64(q, 10, now_ms);
        sqlite3_bind_int64(q, 11, job->visible_ms > now_ms ? job->visible_ms : now_ms);
        jq_bind_opt(q, 12, job->owner);
        sqlite3_bind_text(q, 13, job->pub, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 14, seq);
        st = jq_step_done(q);
        if (st != LORE_EXISTS) break;
    }
    free(groups);
    if (st != LORE_OK) return st;
    job->id = sqlite3_last_insert_rowid(s->control);
    job->seq = seq;
    job->state = STORE_JOB_READY;
    job->attempts = 0;
    job->created_ms = job->updated_ms = now_ms;
    if (job->visible_ms < now_ms) job->visible_ms = now_ms;
    return LORE_OK;
}

/* The queries of the enqueue policy (store_enqueue_apply, store_check.c). */
static lore_status enq_check(void *s, const store_job *job) {
    return tenant_known(s, job->tenant);
}

static lore_status enq_find_dedup(void *s, store_job *job, int *found) {
    return jq_find_dedup(s, job, found);
}

static lore_status enq_pending(void *s, const char *tenant, int64_t *n) {
    return jq_pending_read(s, tenant, n);
}

static lore_status enq_insert(void *s_, store_job *job, int64_t now_ms) {
    sqlite_store *s = s_;
    lore_status st = insert_job(s, job, now_ms);
    if (st != LORE_OK) return st;
    /* insert_job counted the job pending (next_seq) */
    return jq_groups_insert(s, job->tenant, job->id, job->groups, job->ngroups);
}

static const store_enqueue_ops enqueue_ops = {
    .check = enq_check, .find_dedup = enq_find_dedup, .pending = enq_pending, .insert = enq_insert};

lore_status sqlite_job_enqueue(store *s_, store_job *jobs, size_t n, int64_t max_tenant,
                               int64_t max_total, int64_t now_ms, store_enqueue_outcome *outcome) {
    sqlite_store *s = (sqlite_store *)s_;
    *outcome = STORE_ENQUEUED;
    for (size_t i = 0; i < n; i++)
        if (!store_job_valid(&jobs[i])) return LORE_INVALID;
    lore_status st = jq_write_begin(s);
    if (st != LORE_OK) return st;
    store_enqueue_caps caps = {max_tenant, max_total, now_ms};
    st = store_enqueue_apply(&enqueue_ops, s, jobs, n, &caps, outcome);
    if (store_enqueue_refused(*outcome)) {
        (void)jq_write_end(s, LORE_BUSY); /* roll back whatever was added */
        return LORE_OK;
    }
    return jq_write_end(s, st);
}

/* ---- claiming ---- */

typedef struct candidate {
    int64_t id, weight;
    int attempts, max_attempts, expired;
    char tenant[STORE_NAME_MAX + 1];
    char kind[STORE_JOB_KIND_MAX + 1];
} candidate;

/* Appends the rows of q (id, weight, attempts, max_attempts, tenant, kind)
 * to *c; expired marks them as leases that expired. Resets q. */
static lore_status read_candidates(sqlite3_stmt *q, int expired, candidate **c, size_t *count,
                                   size_t *cap) {
    lore_status st = LORE_OK;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (*count == *cap) {
            size_t ncap = *cap ? *cap * 2 : 64;
            candidate *nc = realloc(*c, ncap * sizeof *nc);
            if (!nc) {
                st = LORE_NOMEM;
                break;
            }
            *c = nc;
            *cap = ncap;
        }
        candidate *x = &(*c)[(*count)++];
        x->id = sqlite3_column_int64(q, 0);
        x->weight = sqlite3_column_int64(q, 1);
        x->attempts = sqlite3_column_int(q, 2);
        x->max_attempts = sqlite3_column_int(q, 3);
        x->expired = expired;
        snprintf(x->tenant, sizeof x->tenant, "%s", (const char *)sqlite3_column_text(q, 4));
        snprintf(x->kind, sizeof x->kind, "%s", (const char *)sqlite3_column_text(q, 5));
    }
    if (st == LORE_OK && rc != SQLITE_DONE) st = sqlite_status(rc);
    sqlite3_reset(q);
    return st;
}

/* Runnable jobs in id order: ready ones past their visible time and leased
 * ones whose lease expired. */
static lore_status collect(sqlite_store *s, int64_t now_ms, candidate **out, size_t *n) {
    static const char *const sql[2] = {
        "SELECT id, weight, attempts, max_attempts, tenant, kind FROM jobs"
        " WHERE state=0 AND visible_ms<=? ORDER BY id LIMIT " STRINGIFY(CLAIM_SCAN),
        "SELECT id, weight, attempts, max_attempts, tenant, kind FROM jobs"
        " WHERE state=1 AND visible_ms<=? ORDER BY id LIMIT " STRINGIFY(CLAIM_SCAN),
    };
    candidate *c = NULL;
    size_t count = 0, cap = 0;
    lore_status st = LORE_OK;
    for (int pass = 0; pass < 2 && st == LORE_OK; pass++) {
        sqlite3_stmt *q = jq_stmt(s, pass ? JST_SCAN_EXPIRED : JST_SCAN_READY, sql[pass]);
        if (!q) {
            free(c);
            return LORE_INTERNAL;
        }
        sqlite3_bind_int64(q, 1, now_ms);
        st = read_candidates(q, pass, &c, &count, &cap);
    }
    if (st != LORE_OK) {
        free(c);
        return st;
    }
    *out = c;
    *n = count;
    return LORE_OK;
}

/* Ready jobs of tenants other than avoid[], in id order: when one tenant's
 * backlog fills the CLAIM_SCAN window, the others' jobs lie past it. */
static lore_status collect_others(sqlite_store *s, int64_t now_ms, const char *const *avoid,
                                  size_t navoid, candidate **out, size_t *n) {
    char sql[512];
    int len = snprintf(sql, sizeof sql,
                       "SELECT id, weight, attempts, max_attempts, tenant, kind FROM jobs"
                       " WHERE state=0 AND visible_ms<=? AND tenant NOT IN (?");
    for (size_t i = 1; i < navoid && len > 0 && (size_t)len < sizeof sql - 64; i++)
        len += snprintf(sql + len, sizeof sql - (size_t)len, ",?");
    snprintf(sql + len, sizeof sql - (size_t)len, ") ORDER BY id LIMIT " STRINGIFY(CLAIM_SCAN));
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->control, sql, -1, &q, NULL) != SQLITE_OK) return LORE_INTERNAL;
    sqlite3_bind_int64(q, 1, now_ms);
    for (int i = 2; i <= sqlite3_bind_parameter_count(q); i++)
        sqlite3_bind_text(q, i, avoid[i - 2] ? avoid[i - 2] : "", -1, SQLITE_STATIC);
    candidate *c = NULL;
    size_t count = 0, cap = 0;
    lore_status st = read_candidates(q, 0, &c, &count, &cap);
    sqlite3_finalize(q);
    if (st != LORE_OK) {
        free(c);
        return st;
    }
    *out = c;
    *n = count;
    return LORE_OK;
}

static int cmp_candidate(const void *a, const void *b) {
    int64_t x = ((const candidate *)a)->id, y = ((const candidate *)b)->id;
    return x < y ? -1 : x > y;
}

/* Whether the job must wait: an earlier pending job shares a group with
 * it, or a later job of one of its groups holds a live lease. The second
 * case only arises when a dead job is retried after later jobs of its
 * group went ahead; without it the retried job would run alongside the
 * later one. An expired lease does not block (that job waits behind the
 * retried one, as an earlier pending job blocks it). */
static lore_status blocked(sqlite_store *s, int64_t id, int64_t now_ms, int *is_blocked) {
    sqlite3_stmt *q = jq_stmt(s, JST_BLOCKED,
                              "SELECT 1 FROM job_groups g JOIN job_groups e"
                              " ON e.grp = g.grp AND e.job < g.job WHERE g.job = ? LIMIT 1");
    if (!q) return LORE_INTERNAL;
    sqlite3_bind_int64(q, 1, id);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    *is_blocked = rc == SQLITE_ROW;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_status(rc);
    if (*is_blocked) return LORE_OK;
    q = jq_stmt(s, JST_BLOCKED_LATER,
                "SELECT 1 FROM job_groups g JOIN job_groups e ON e.grp = g.grp AND e.job > g.job"
                " JOIN jobs j ON j.id = e.job WHERE g.job = ?1 AND j.state = 1"
                " AND j.visible_ms > ?2 LIMIT 1");
    if (!q) return LORE_INTERNAL;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, now_ms);
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    *is_blocked = rc == SQLITE_ROW;
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? LORE_OK : sqlite_status(rc);
}

/* A job whose leases kept expiring (its worker died or hung every time)
 * has used its attempts: it is dead-lettered rather than claimed again. */
static lore_status bury_expired(sqlite_store *s, const candidate *c, int64_t now_ms) {
    sqlite3_stmt *q = jq_stmt(s, JST_BURY,
                              "UPDATE jobs SET state=3, finished_ms=?2, updated_ms=?2,"
                              " error='lease expired on every attempt (the worker died or hung)'"
                              " WHERE id=?1 AND state=1");
    if (!q) return LORE_INTERNAL;
    sqlite3_bind_int64(q, 1, c->id);
    sqlite3_bind_int64(q, 2, now_ms);
    lore_status st = jq_step_done(q);
    if (st == LORE_OK) st = groups_delete(s, c->id);
    if (st == LORE_OK) st = jq_pending_add(s, c->tenant, -1);
    return st;
}

static lore_status lease(sqlite_store *s, int64_t id, const char *worker, int64_t now_ms,
                         int64_t until_ms, store_job *out) {
    sqlite3_stmt *q =
        jq_stmt(s, JST_LEASE,
                "UPDATE jobs SET state=1, attempts=attempts+1, lease_seq=lease_seq+1,"
                " worker=?2, started_ms=?3, updated_ms=?3, visible_ms=?4 WHERE id=?1");
    if (!q) return LORE_INTERNAL;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_text(q, 2, worker, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, now_ms);
    sqlite3_bind_int64(q, 4, until_ms);
    lore_status st = jq_step_done(q);
    if (st != LORE_OK) return st;
    q = jq_stmt(s, JST_GET_PAYLOAD, "SELECT " JOB_COLUMNS ", payload FROM jobs WHERE id=?");
    if (!q) return LORE_INTERNAL;
    sqlite3_bind_int64(q, 1, id);
    int rc = sqlite3_step(q);
    st = rc == SQLITE_ROW    ? jq_read_job(q, 1, out)
         : rc == SQLITE_DONE ? LORE_CORRUPT
                             : sqlite_status(rc);
    sqlite3_reset(q);
    return st;
}

static int avoided(const char *tenant, const char *const *avoid, size_t navoid) {
    for (size_t i = 0; i < navoid; i++)
        if (avoid[i] && !strcmp(tenant, avoid[i])) return 1;
    return 0;
}

static lore_status claim_from(sqlite_store *s, const candidate *c, size_t nc, const char *worker,
                              int64_t now_ms, int64_t lease_ms, size_t max_jobs, int64_t max_weight,
                              const char *const *avoid, size_t navoid, store_job *jobs, size_t *n) {
    const char *tenant = NULL;
    int64_t weight = 0;
    lore_status st = LORE_OK;
    for (size_t i = 0; i < nc && *n < max_jobs; i++) {
        if (tenant && strcmp(c[i].tenant, tenant)) continue;
        if (!tenant && avoided(c[i].tenant, avoid, navoid)) continue;
        int alone = c[i].weight >= STORE_JOB_ALONE;
        if (*n && (alone || weight + c[i].weight > max_weight)) continue;
        int b = 0;
        if ((st = blocked(s, c[i].id, now_ms, &b)) != LORE_OK) return st;
        if (b) continue;
        if (c[i].expired && c[i].attempts >= c[i].max_attempts) {
            if ((st = bury_expired(s, &c[i], now_ms)) != LORE_OK) return st;
            continue;
        }
        if ((st = lease(s, c[i].id, worker, now_ms, now_ms + lease_ms, &jobs[*n])) != LORE_OK)
            return st;
        (*n)++;
        tenant = c[i].tenant;
        weight += c[i].weight;
        if (alone) break;
    }
    return LORE_OK;
}

lore_status sqlite_job_claim(store *s_, const char *worker, int64_t now_ms, int64_t lease_ms,
                             size_t max_jobs, int64_t max_weight, store_job **out, size_t *n) {
    return sqlite_job_claim_avoiding(s_, worker, now_ms, lease_ms, max_jobs, max_weight, NULL, 0,
                                     out, n);
}

lore_status sqlite_job_claim_avoiding(store *s_, const char *worker, int64_t now_ms,
                                      int64_t lease_ms, size_t max_jobs, int64_t max_weight,
                                      const char *const *avoid, size_t navoid, store_job **out,
                                      size_t *n) {
    sqlite_store *s = (sqlite_store *)s_;
    *out = NULL;
    *n = 0;
    if (!max_jobs) return LORE_OK;
    store_job *jobs = calloc(max_jobs, sizeof *jobs);
    if (!jobs) return LORE_NOMEM;
    candidate *c = NULL;
    size_t nc = 0, got = 0;
    lore_status st = jq_write_begin(s);
    if (st != LORE_OK) {
        free(jobs);
        return st;
    }
    if ((st = collect(s, now_ms, &c, &nc)) == LORE_OK) {
        if (nc > 1) qsort(c, nc, sizeof *c, cmp_candidate);
        st = claim_from(s, c, nc, worker, now_ms, lease_ms, max_jobs, max_weight, avoid, navoid,
                        jobs, &got);
        if (st == LORE_OK && !got && navoid && nc >= CLAIM_SCAN) {
            /* the window held only avoided tenants: look past it */
            candidate *o = NULL;
            size_t no = 0;
            st = collect_others(s, now_ms, avoid, navoid, &o, &no);
            if (st == LORE_OK)
                st = claim_from(s, o, no, worker, now_ms, lease_ms, max_jobs, max_weight, NULL, 0,
                                jobs, &got);
            free(o);
        }
        if (st == LORE_OK && !got && navoid) /* only avoided tenants have work: take it */
            st = claim_from(s, c, nc, worker, now_ms, lease_ms, max_jobs, max_weight, NULL, 0, jobs,
                            &got);
    }
    free(c);
    st = jq_write_end(s, st);
    if (st != LORE_OK || !got) {
        store_jobs_free(jobs, got);
        return st;
    }
    *out = jobs;
    *n = got;
    return LORE_OK;
}

lore_status sqlite_job_renew(store *s_, int64_t id, int64_t lease_seq, int64_t until_ms) {
    sqlite_store *s = (sqlite_store *)s_;
    lore_status st = jq_write_begin(s);
    if (st != LORE_OK) return st;
    sqlite3_stmt *q = jq_stmt(
        s, JST_RENEW, "UPDATE jobs SET visible_ms=?3 WHERE id=?1 AND lease_seq=?2 AND state=1");
    if (!q)
        st = LORE_INTERNAL;
    else {
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_int64(q, 2, lease_seq);
        sqlite3_bind_int64(q, 3, until_ms);
        st = jq_step_done(q);
        if (st == LORE_OK && sqlite3_changes(s->control) == 0) st = LORE_NOT_FOUND;
    }
    if (st == LORE_NOT_FOUND) {
        (void)jq_write_end(s, LORE_OK);
        return LORE_NOT_FOUND;
    }
    return jq_write_end(s, st);
}

/* ---- finishing ---- */

static lore_status finish_one(sqlite_store *s, store_job_outcome *o, int64_t now_ms) {
    sqlite3_stmt *q;
    if (o->state == STORE_JOB_DONE)
        q = jq_stmt(
            s, JST_DONE,
            "UPDATE jobs SET state=2, finished_ms=?3, updated_ms=?3, result=?4, payload=NULL"
            " WHERE id=?1 AND lease_seq=?2 AND state=1 RETURNING tenant");
    else if (o->state == STORE_JOB_DEAD)
        q = jq_stmt(s, JST_DEAD,
                    "UPDATE jobs SET state=3, finished_ms=?3, updated_ms=?3, error=?4"
                    " WHERE id=?1 AND lease_seq=?2 AND state=1 RETURNING tenant");
    else if (o->release)
        q = jq_stmt(s, JST_RELEASE,
                    "UPDATE jobs SET state=0, attempts=max(attempts-1, 0), visible_ms=max(?3, ?5),"
                    " updated_ms=?3 WHERE id=?1 AND lease_seq=?2 AND state=1 RETURNING tenant");
    else
        q = jq_stmt(s, JST_RETRY_LATER,
                    "UPDATE jobs SET state=0, visible_ms=?5, updated_ms=?3, error=?4"
                    " WHERE id=?1 AND lease_seq=?2 AND state=1 RETURNING tenant");
    if (!q) return LORE_INTERNAL;
    sqlite3_bind_int64(q, 1, o->id);
    sqlite3_bind_int64(q, 2, o->lease_seq);
    sqlite3_bind_int64(q, 3, now_ms);
    if (!o->release) jq_bind_opt(q, 4, o->state == STORE_JOB_DONE ? o->result : o->error);
    if (o->state == STORE_JOB_READY) sqlite3_bind_int64(q, 5, o->visible_ms);
    int rc = sqlite3_step(q);
    char tenant[STORE_NAME_MAX + 1] = "";
    if (rc == SQLITE_ROW)
        snprintf(tenant, sizeof tenant, "%s", (const char *)sqlite3_column_text(q, 0));
    lore_status st = rc == SQLITE_ROW || rc == SQLITE_DONE ? LORE_OK : sqlite_status(rc);
    if (st == LORE_OK && rc == SQLITE_ROW) rc = sqlite3_step(q); /* run to completion */
    sqlite3_reset(q);
    if (st != LORE_OK) return st;
    o->lost = !tenant[0];
    if (o->lost || o->state == STORE_JOB_READY) return LORE_OK;
    if ((st = groups_delete(s, o->id)) != LORE_OK) return st;
    return jq_pending_add(s, tenant, -1);
}

lore_status sqlite_job_finish(store *s_, store_job_outcome *o, size_t n, int64_t now_ms) {
    sqlite_store *s = (sqlite_store *)s_;
    lore_status st = jq_write_begin(s);
    if (st != LORE_OK) return st;
    for (size_t i = 0; i < n && st == LORE_OK; i++)
        st = finish_one(s, &o[i], now_ms);
    return jq_write_end(s, st);
}
