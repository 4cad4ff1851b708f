/* PostgreSQL backend: the job queue's leases: claim, renew and finish (the
 * rest of the hot path, and how its transactions keep out of each other's
 * way, is in pg_jobs.c). */
#include "store/postgres/pg_jobs_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Candidates examined per claim, as the SQLite backend. */
#define CLAIM_SCAN "1024"
#define CLAIM_SCAN_N 1024

/* ---- counters of pending jobs, changed at the end of a transaction ---- */

typedef struct pending_delta {
    char tenant[STORE_NAME_MAX + 1];
    int64_t delta;
} pending_delta;

typedef struct deltas {
    pending_delta *d;
    size_t n, cap;
} deltas;

static lore_status delta_add(deltas *ds, const char *tenant, int64_t delta) {
    for (size_t i = 0; i < ds->n; i++)
        if (!strcmp(ds->d[i].tenant, tenant)) {
            ds->d[i].delta += delta;
            return LORE_OK;
        }
    if (ds->n == ds->cap) {
        size_t ncap = ds->cap ? ds->cap * 2 : 4;
        pending_delta *nd = realloc(ds->d, ncap * sizeof *nd);
        if (!nd) return LORE_NOMEM;
        ds->d = nd;
        ds->cap = ncap;
    }
    snprintf(ds->d[ds->n].tenant, sizeof ds->d[ds->n].tenant, "%s", tenant);
    ds->d[ds->n++].delta = delta;
    return LORE_OK;
}

static int cmp_delta(const void *a, const void *b) {
    return strcmp(((const pending_delta *)a)->tenant, ((const pending_delta *)b)->tenant);
}

/* Applies the gathered changes in tenant order and frees them. */
static lore_status deltas_apply(pgjq *q, deltas *ds, lore_status st) {
    if (ds->n > 1) qsort(ds->d, ds->n, sizeof *ds->d, cmp_delta);
    for (size_t i = 0; i < ds->n && st == LORE_OK; i++) {
        if (!ds->d[i].delta) continue;
        pg_params p = {0};
        pg_param_text(&p, ds->d[i].tenant);
        pg_param_i64(&p, ds->d[i].delta);
        st = pgjq_cmd(q,
                      "INSERT INTO lore.job_pending(tenant, n) VALUES($1, greatest($2::bigint, 0))"
                      " ON CONFLICT(tenant) DO UPDATE SET n = greatest(lore.job_pending.n + $2, 0)",
                      &p, NULL);
    }
    free(ds->d);
    memset(ds, 0, sizeof *ds);
    return st;
}

/* ---- claiming ---- */

typedef struct candidate {
    int64_t id, weight;
    int expired;
    char tenant[STORE_NAME_MAX + 1];
} candidate;

static lore_status read_candidates(pgjq *q, const char *sql, const pg_params *p, int expired,
                                   candidate **c, size_t *count) {
    lore_status st;
    PGresult *r = pgjq_run(q, sql, p, &st);
    if (!r) return st;
    size_t rows = (size_t)PQntuples(r);
    candidate *nc = rows ? realloc(*c, (*count + rows) * sizeof *nc) : *c;
    if (rows && !nc) {
        PQclear(r);
        return LORE_NOMEM;
    }
    *c = nc;
    for (size_t i = 0; i < rows; i++) {
        candidate *x = &nc[(*count)++];
        x->id = pg_get_i64(r, (int)i, 0);
        x->weight = pg_get_i64(r, (int)i, 1);
        x->expired = expired;
        snprintf(x->tenant, sizeof x->tenant, "%s", pg_get_bytes(r, (int)i, 2, NULL));
    }
    PQclear(r);
    return LORE_OK;
}

static int cmp_candidate(const void *a, const void *b) {
    int64_t x = ((const candidate *)a)->id, y = ((const candidate *)b)->id;
    return x < y ? -1 : x > y;
}

/* The FIFO rule of blocked() (below) as a condition on jobs j with the
 * time in $1: candidates are read with it, so a claim looks at jobs that
 * can run rather than walking a backlog blocked behind its groups one round
 * trip at a time (the SQLite backend reads its candidates in-process and
 * filters them there). An earlier job that this claim will bury (its last
 * lease expired) does not count: it stops blocking in the same claim, as
 * the SQLite backend's scan finds. A taken candidate is checked again
 * under its lock.
 *
 * OFFSET 0 keeps each NOT EXISTS a subplan run per candidate, on the
 * job_groups indexes (a few pages a job), rather than an anti join that
 * reads every job_groups row; CLAIM_PLAN (below) makes the read walk
 * jobs_ready in id order, so it checks the jobs up to its LIMIT and no
 * more. */
#define NOT_BLOCKED                                                                                \
    " AND NOT EXISTS(SELECT 1 FROM lore.job_groups g JOIN lore.job_groups e"                       \
    " ON e.grp = g.grp AND e.job < g.job WHERE g.job = j.id AND NOT EXISTS("                       \
    "SELECT 1 FROM lore.jobs x WHERE x.id = e.job AND x.state = 1 AND x.visible_ms <= $1"          \
    " AND x.attempts >= x.max_attempts) OFFSET 0)"                                                 \
    " AND NOT EXISTS(SELECT 1 FROM lore.job_groups g JOIN lore.job_groups e"                       \
    " ON e.grp = g.grp AND e.job > g.job JOIN lore.jobs l ON l.id = e.job"                         \
    " WHERE g.job = j.id AND l.state = 1 AND l.visible_ms > $1 OFFSET 0)"

/* Set once a claim has read its expired leases: the ready jobs are then
 * read by walking jobs_ready in id order. The planner would otherwise
 * choose by its statistics, and on a queue filled since the last ANALYZE
 * (a fresh table, a burst of enqueues) it estimates a handful of ready
 * jobs, and reads and checks every one of them, then sorts: 230 ms a read
 * at 20,000 jobs queued, 69 ms once analyzed (merge joins over every
 * job_groups row); 0.3 ms for a claim of one this way. The
 * claim's other statements read rows by id, which these settings leave
 * alone; SET LOCAL ends with the transaction. */
#define CLAIM_PLAN                                                                                 \
    "SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off;"                           \
    " SET LOCAL enable_sort = off"

/* Ready jobs past their visible time with ids above after, of tenants
 * other than the \n-separated avoid ("" for none), in id order, at most
 * limit. */
static lore_status collect_ready(pgjq *q, int64_t now_ms, int64_t after, size_t limit,
                                 const char *avoid, candidate **out, size_t *n) {
    pg_params p = {0};
    pg_param_i64(&p, now_ms);
    pg_param_i64(&p, after);
    pg_param_i64(&p, (int64_t)limit);
    pg_param_text(&p, avoid);
    return read_candidates(q,
                           "SELECT id, weight, tenant FROM lore.jobs j"
                           " WHERE state=0 AND visible_ms<=$1 AND id>$2"
                           " AND tenant <> ALL(string_to_array($4, E'\\n'))" NOT_BLOCKED
                           " ORDER BY id LIMIT $3",
                           &p, 0, out, n);
}

/* Leased jobs whose lease expired, in id order (few: a worker died). Read
 * before CLAIM_PLAN: jobs_leased is in visible_ms order. */
static lore_status collect_expired(pgjq *q, int64_t now_ms, candidate **out, size_t *n) {
    pg_params p = {0};
    pg_param_i64(&p, now_ms);
    return read_candidates(q,
                           "SELECT id, weight, tenant FROM lore.jobs j"
                           " WHERE state=1 AND visible_ms<=$1" NOT_BLOCKED
                           " ORDER BY id LIMIT " CLAIM_SCAN,
                           &p, 1, out, n);
}

/* Appends the candidates of e with ids in (lo, hi] to *c. */
static lore_status append_range(const candidate *e, size_t ne, int64_t lo, int64_t hi,
                                candidate **c, size_t *n) {
    for (size_t i = 0; i < ne; i++) {
        if (e[i].id <= lo || e[i].id > hi) continue;
        candidate *nc = realloc(*c, (*n + 1) * sizeof *nc);
        if (!nc) return LORE_NOMEM;
        *c = nc;
        nc[(*n)++] = e[i];
    }
    return LORE_OK;
}

/* Ready jobs of tenants other than avoid[], in id order: when one tenant's
 * backlog fills the CLAIM_SCAN window, the others' jobs lie past it. */
static lore_status collect_others(pgjq *q, int64_t now_ms, const char *const *avoid, size_t navoid,
                                  candidate **out, size_t *n) {
    const char **names = calloc(navoid ? navoid : 1, sizeof *names);
    if (!names) return LORE_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < navoid; i++)
        if (avoid[i]) names[k++] = avoid[i];
    char *joined = pg_list_join(names, k);
    free(names);
    if (!joined) return LORE_NOMEM;
    *out = NULL;
    *n = 0;
    lore_status st = collect_ready(q, now_ms, 0, CLAIM_SCAN_N, joined, out, n);
    free(joined);
    return st;
}

/* Takes the row of a candidate if it is still runnable and no other
 * claimer holds it: *attempts and *max_attempts from the locked row;
 * *taken 0 when it was passed over. */
static lore_status take(pgjq *q, const candidate *c, int64_t now_ms, int *taken, int *attempts,
                        int *max_attempts) {
    pg_params p = {0};
    pg_param_i64(&p, c->id);
    pg_param_i64(&p, c->expired ? 1 : 0);
    pg_param_i64(&p, now_ms);
    lore_status st;
    PGresult *r = pgjq_run(q,
                           "SELECT attempts, max_attempts FROM lore.jobs WHERE id=$1 AND state=$2"
                           " AND visible_ms<=$3 FOR UPDATE SKIP LOCKED",
                           &p, &st);
    if (!r) return st;
    *taken = PQntuples(r) > 0;
    if (*taken) {
        *attempts = (int)pg_get_i64(r, 0, 0);
        *max_attempts = (int)pg_get_i64(r, 0, 1);
    }
    PQclear(r);
    return LORE_OK;
}

/* Whether the job must wait: an earlier pending job shares a group with
 * it, or a later job of one of its groups holds a live lease (a retried
 * dead job whose later jobs went ahead; sqlite_jobs.c explains). */
static lore_status blocked(pgjq *q, int64_t id, int64_t now_ms, int *is_blocked) {
    pg_params p = {0};
    pg_param_i64(&p, id);
    pg_param_i64(&p, now_ms);
    lore_status st;
    PGresult *r = pgjq_run(q,
                           "SELECT EXISTS(SELECT 1 FROM lore.job_groups g JOIN lore.job_groups e"
                           " ON e.grp = g.grp AND e.job < g.job WHERE g.job = $1)"
                           " OR EXISTS(SELECT 1 FROM lore.job_groups g JOIN lore.job_groups e"
                           " ON e.grp = g.grp AND e.job > g.job JOIN lore.jobs j ON j.id = e.job"
                           " WHERE g.job = $1 AND j.state = 1 AND j.visible_ms > $2)",
                           &p, &st);
    if (!r) return st;
    *is_blocked = (int)pg_get_i64(r, 0, 0);
    PQclear(r);
    return LORE_OK;
}

/* A job whose leases kept expiring has used its attempts: dead-lettered
 * rather than claimed again. */
static lore_status bury_expired(pgjq *q, const candidate *c, int64_t now_ms, deltas *ds) {
    pg_params p = {0};
    pg_param_i64(&p, c->id);
    pg_param_i64(&p, now_ms);
    lore_status st = pgjq_cmd(q,
                              "UPDATE lore.jobs SET state=3, finished_ms=$2, updated_ms=$2,"
                              " error='lease expired on every attempt (the worker died or hung)'"
                              " WHERE id=$1 AND state=1",
                              &p, NULL);
    pg_params g = {0};
    pg_param_i64(&g, c->id);
    if (st == LORE_OK) st = pgjq_cmd(q, "DELETE FROM lore.job_groups WHERE job=$1", &g, NULL);
    if (st == LORE_OK) st = delta_add(ds, c->tenant, -1);
    q->notify = 1; /* its groups no longer block */
    return st;
}

static lore_status lease(pgjq *q, int64_t id, const char *worker, int64_t now_ms, int64_t until_ms,
                         store_job *out) {
    pg_params p = {0};
    pg_param_i64(&p, id);
    pg_param_text(&p, worker);
    pg_param_i64(&p, now_ms);
    pg_param_i64(&p, until_ms);
    lore_status st;
    PGresult *r =
        pgjq_run(q,
                 "UPDATE lore.jobs SET state=1, attempts=attempts+1, lease_seq=lease_seq+1,"
                 " worker=$2, started_ms=$3, updated_ms=$3, visible_ms=$4 WHERE id=$1"
                 " RETURNING " JOB_COLUMNS ", payload",
                 &p, &st);
    if (!r) return st;
    st = PQntuples(r) ? pgjq_read_job(r, 0, 1, out) : LORE_CORRUPT;
    PQclear(r);
    return st;
}

static int avoided(const char *tenant, const char *const *avoid, size_t navoid) {
    for (size_t i = 0; i < navoid; i++)
        if (avoid[i] && !strcmp(tenant, avoid[i])) return 1;
    return 0;
}

typedef struct claim_args {
    const char *worker;
    int64_t now_ms, lease_ms;
    size_t max_jobs;
    int64_t max_weight;
} claim_args;

/* What a claim took so far: its tenant (once it took a job) and weight. */
typedef struct claim_state {
    char tenant[STORE_NAME_MAX + 1];
    int64_t weight;
} claim_state;

static lore_status claim_from(pgjq *q, const candidate *c, size_t nc, const claim_args *a,
                              const char *const *avoid, size_t navoid, claim_state *cs, deltas *ds,
                              store_job *jobs, size_t *n) {
    lore_status st = LORE_OK;
    for (size_t i = 0; i < nc && *n < a->max_jobs; i++) {
        if (cs->tenant[0] && strcmp(c[i].tenant, cs->tenant)) continue;
        if (!cs->tenant[0] && avoided(c[i].tenant, avoid, navoid)) continue;
        int alone = c[i].weight >= STORE_JOB_ALONE;
        if (*n && (alone || cs->weight + c[i].weight > a->max_weight)) continue;
        int taken = 0, attempts = 0, max_attempts = 0, b = 0;
        if ((st = take(q, &c[i], a->now_ms, &taken, &attempts, &max_attempts)) != LORE_OK)
            return st;
        if (!taken) continue; /* another claimer's, or no longer runnable */
        if ((st = blocked(q, c[i].id, a->now_ms, &b)) != LORE_OK) return st;
        if (b) continue;
        if (c[i].expired && attempts >= max_attempts) {
            if ((st = bury_expired(q, &c[i], a->now_ms, ds)) != LORE_OK) return st;
            continue;
        }
        if ((st = lease(q, c[i].id, a->worker, a->now_ms, a->now_ms + a->lease_ms, &jobs[*n])) !=
            LORE_OK)
            return st;
        (*n)++;
        snprintf(cs->tenant, sizeof cs->tenant, "%s", c[i].tenant);
        cs->weight += c[i].weight;
        if (alone) break;
    }
    return LORE_OK;
}

/* The first step of the window: enough candidates for a claim of max_jobs
 * of one tenant among a few, so a claim reads a few rows, not CLAIM_SCAN. */
static size_t first_step(size_t max_jobs) {
    return max_jobs < (CLAIM_SCAN_N - 16) / 4 ? max_jobs * 4 + 16 : CLAIM_SCAN_N;
}

/* Claims from the window of candidates (the oldest CLAIM_SCAN runnable
 * ready jobs and the expired leases), in id order, read in steps: the
 * oldest first_step() ready jobs with the expired leases among them, then,
 * while the claim still wants jobs, steps twice as long, up to the whole
 * window. The jobs taken are those one pass over the whole window takes.
 * *c and *nc: the window read (all of it when nothing was taken). */
static lore_status claim_window(pgjq *q, const claim_args *a, const char *const *avoid,
                                size_t navoid, deltas *ds, store_job *jobs, size_t *got,
                                candidate **c, size_t *nc) {
    candidate *e = NULL;
    size_t ne = 0, read = 0, step = first_step(a->max_jobs);
    int64_t lo = INT64_MIN;
    claim_state cs = {{0}, 0};
    lore_status st = collect_expired(q, a->now_ms, &e, &ne);
    if (st == LORE_OK) st = pg_exec(q->c, CLAIM_PLAN, q->err, sizeof q->err);
    while (st == LORE_OK) {
        size_t start = *nc;
        st = collect_ready(q, a->now_ms, lo == INT64_MIN ? 0 : lo, step, "", c, nc);
        if (st != LORE_OK) break;
        read += *nc - start;
        int last = *nc - start < step || read >= CLAIM_SCAN_N;
        int64_t hi = last ? INT64_MAX : (*c)[*nc - 1].id;
        if ((st = append_range(e, ne, lo, hi, c, nc)) != LORE_OK) break;
        if (*nc - start > 1) qsort(*c + start, *nc - start, sizeof **c, cmp_candidate);
        st = claim_from(q, *c + start, *nc - start, a, avoid, navoid, &cs, ds, jobs, got);
        if (last || *got >= a->max_jobs) break;
        lo = hi;
        step = step * 2 < CLAIM_SCAN_N - read ? step * 2 : CLAIM_SCAN_N - read;
    }
    free(e);
    return st;
}

lore_status pg_job_claim(store *s, const char *worker, int64_t now_ms, int64_t lease_ms,
                         size_t max_jobs, int64_t max_weight, store_job **out, size_t *n) {
    return pg_job_claim_avoiding(s, worker, now_ms, lease_ms, max_jobs, max_weight, NULL, 0, out,
                                 n);
}

lore_status pg_job_claim_avoiding(store *base, const char *worker, int64_t now_ms, int64_t lease_ms,
                                  size_t max_jobs, int64_t max_weight, const char *const *avoid,
                                  size_t navoid, store_job **out, size_t *n) {
    pg_store *s = (pg_store *)base;
    *out = NULL;
    *n = 0;
    if (!max_jobs) return LORE_OK;
    store_job *jobs = calloc(max_jobs, sizeof *jobs);
    if (!jobs) return LORE_NOMEM;
    candidate *c = NULL;
    size_t nc = 0, got = 0;
    deltas ds = {0};
    claim_args a = {worker, now_ms, lease_ms, max_jobs, max_weight};
    pgjq q;
    lore_status st = pgjq_begin(s, &q);
    if (st != LORE_OK) {
        free(jobs);
        return st;
    }
    /* with nothing taken, the whole window was read */
    st = claim_window(&q, &a, avoid, navoid, &ds, jobs, &got, &c, &nc);
    if (st == LORE_OK && !got && navoid && nc >= CLAIM_SCAN_N) {
        /* the window held only avoided tenants: look past it */
        candidate *o = NULL;
        size_t no = 0;
        claim_state cs = {{0}, 0};
        st = collect_others(&q, now_ms, avoid, navoid, &o, &no);
        if (st == LORE_OK) st = claim_from(&q, o, no, &a, NULL, 0, &cs, &ds, jobs, &got);
        free(o);
    }
    if (st == LORE_OK && !got && navoid) { /* only avoided tenants have work: take it */
        claim_state cs = {{0}, 0};
        st = claim_from(&q, c, nc, &a, NULL, 0, &cs, &ds, jobs, &got);
    }
    free(c);
    st = deltas_apply(&q, &ds, st);
    st = pgjq_end(&q, st);
    if (st != LORE_OK || !got) {
        store_jobs_free(jobs, got);
        return st;
    }
    *out = jobs;
    *n = got;
    return LORE_OK;
}

lore_status pg_job_renew(store *base, int64_t id, int64_t lease_seq, int64_t until_ms) {
    pg_params p = {0};
    pg_param_i64(&p, id);
    pg_param_i64(&p, lease_seq);
    pg_param_i64(&p, until_ms);
    int64_t changed = 0;
    lore_status st =
        pg_store_cmd((pg_store *)base,
                     "UPDATE lore.jobs SET visible_ms=$3 WHERE id=$1 AND lease_seq=$2 AND state=1",
                     &p, &changed);
    return st == LORE_OK && !changed ? LORE_NOT_FOUND : st;
}

/* ---- finishing ---- */

static lore_status finish_one(pgjq *q, store_job_outcome *o, int64_t now_ms, deltas *ds) {
    pg_params p = {0};
    pg_param_i64(&p, o->id);
    pg_param_i64(&p, o->lease_seq);
    pg_param_i64(&p, now_ms);
    const char *sql;
    if (o->state == STORE_JOB_DONE) {
        pg_param_text(&p, o->result);
        sql = "UPDATE lore.jobs SET state=2, finished_ms=$3, updated_ms=$3, result=$4,"
              " payload=NULL WHERE id=$1 AND lease_seq=$2 AND state=1 RETURNING tenant";
    } else if (o->state == STORE_JOB_DEAD) {
        pg_param_text(&p, o->error);
        sql = "UPDATE lore.jobs SET state=3, finished_ms=$3, updated_ms=$3, error=$4"
              " WHERE id=$1 AND lease_seq=$2 AND state=1 RETURNING tenant";
    } else if (o->release) {
        pg_param_i64(&p, o->visible_ms);
        sql = "UPDATE lore.jobs SET state=0, attempts=greatest(attempts-1, 0),"
              " visible_ms=greatest($3::bigint, $4::bigint), updated_ms=$3"
              " WHERE id=$1 AND lease_seq=$2 AND state=1 RETURNING tenant";
    } else {
        pg_param_text(&p, o->error);
        pg_param_i64(&p, o->visible_ms);
        sql = "UPDATE lore.jobs SET state=0, visible_ms=$5, updated_ms=$3, error=$4"
              " WHERE id=$1 AND lease_seq=$2 AND state=1 RETURNING tenant";
    }
    lore_status st;
    PGresult *r = pgjq_run(q, sql, &p, &st);
    if (!r) return st;
    char tenant[STORE_NAME_MAX + 1] = "";
    if (PQntuples(r)) snprintf(tenant, sizeof tenant, "%s", pg_get_bytes(r, 0, 0, NULL));
    PQclear(r);
    o->lost = !tenant[0];
    if (o->lost) return LORE_OK;
    q->notify = 1; /* runnable again, or its groups no longer block */
    if (o->state == STORE_JOB_READY) return LORE_OK;
    pg_params g = {0};
    pg_param_i64(&g, o->id);
    if ((st = pgjq_cmd(q, "DELETE FROM lore.job_groups WHERE job=$1", &g, NULL)) != LORE_OK)
        return st;
    return delta_add(ds, tenant, -1);
}

lore_status pg_job_finish(store *base, store_job_outcome *o, size_t n, int64_t now_ms) {
    pgjq q;
    deltas ds = {0};
    lore_status st = pgjq_begin((pg_store *)base, &q);
    if (st != LORE_OK) return st;
    for (size_t i = 0; i < n && st == LORE_OK; i++)
        st = finish_one(&q, &o[i], now_ms, &ds);
    st = deltas_apply(&q, &ds, st);
    return pgjq_end(&q, st);
}
