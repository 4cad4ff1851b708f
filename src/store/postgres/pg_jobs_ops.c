/* PostgreSQL backend: operating the job queue (reading, listing, retrying,
 * purging, counting), beside the hot path of pg_jobs.c, with the SQLite
 * backend's semantics (sqlite_jobs_ops.c). */
#include "store/postgres/pg_jobs_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads the one job a WHERE clause picks: $1 the id (integer or public
 * id), $2 the tenant (NULL: any). */
static lore_status get_where(pg_store *s, const char *where, int64_t id, const char *pub,
                             const char *tenant, int with_payload, store_job **out) {
    *out = NULL;
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT " JOB_COLUMNS "%s FROM lore.jobs WHERE %s",
             with_payload ? ", payload" : "", where);
    pg_params p = {0};
    if (pub)
        pg_param_text(&p, pub);
    else
        pg_param_i64(&p, id);
    pg_param_text(&p, tenant);
    lore_status st;
    PGresult *r = pg_store_run(s, sql, &p, &st);
    if (!r) return st;
    if (!PQntuples(r)) {
        st = LORE_NOT_FOUND;
    } else {
        store_job *j = malloc(sizeof *j);
        if (!j)
            st = LORE_NOMEM;
        else if ((st = pgjq_read_job(r, 0, with_payload, j)) != LORE_OK)
            free(j);
        else
            *out = j;
    }
    PQclear(r);
    return st;
}

lore_status pg_job_get(store *s, const char *tenant, int64_t id, int with_payload,
                       store_job **out) {
    return get_where((pg_store *)s, "id=$1::bigint AND ($2::text IS NULL OR tenant=$2)", id, NULL,
                     tenant, with_payload, out);
}

/* Whether ref has the shape of a public id. */
static int pub_shaped(const char *ref) {
    size_t k = strlen(STORE_JOB_PUB_PREFIX);
    if (strlen(ref) != STORE_JOB_PUB_LEN || strncmp(ref, STORE_JOB_PUB_PREFIX, k)) return 0;
    for (const char *p = ref + k; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return 0;
    return 1;
}

lore_status pg_job_find(store *s, const char *tenant, const char *ref, int with_payload,
                        store_job **out) {
    *out = NULL;
    if (!ref || strnlen(ref, STORE_JOB_REF_MAX + 1) > STORE_JOB_REF_MAX) return LORE_NOT_FOUND;
    if (pub_shaped(ref))
        return get_where((pg_store *)s, "pub=$1 AND ($2::text IS NULL OR tenant=$2)", 0, ref,
                         tenant, with_payload, out);
    /* A legacy id: 1 to 18 digits, no sign, no leading zero; only jobs
     * marked legacy answer to one (a store copied from before public ids). */
    size_t n = strlen(ref);
    if (!n || n > 18 || ref[0] == '0' || strspn(ref, "0123456789") != n) return LORE_NOT_FOUND;
    int64_t id = 0;
    for (size_t i = 0; i < n; i++)
        id = id * 10 + (ref[i] - '0');
    return get_where((pg_store *)s, "id=$1::bigint AND legacy AND ($2::text IS NULL OR tenant=$2)",
                     id, NULL, tenant, with_payload, out);
}

lore_status pg_job_get_dedup(store *base, const char *tenant, const char *dedup_key,
                             store_job **out) {
    *out = NULL;
    pg_params p = {0};
    pg_param_text(&p, tenant);
    pg_param_text(&p, dedup_key);
    lore_status st;
    PGresult *r = pg_store_run(
        (pg_store *)base, "SELECT id FROM lore.jobs WHERE tenant=$1 AND dedup_key=$2", &p, &st);
    if (!r) return st;
    int64_t id = PQntuples(r) ? pg_get_i64(r, 0, 0) : 0;
    PQclear(r);
    return id ? pg_job_get(base, tenant, id, 0, out) : LORE_NOT_FOUND;
}

lore_status pg_job_list(store *base, const char *tenant, int state, int64_t before, size_t limit,
                        store_job **out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (before > 0 && !tenant) return LORE_INVALID; /* seq counts within one tenant */
    if (!limit) return LORE_OK;
    pg_params p = {0};
    pg_param_i64(&p, state);
    pg_param_i64(&p, (int64_t)limit);
    if (tenant) {
        pg_param_text(&p, tenant);
        pg_param_i64(&p, before);
    }
    lore_status st;
    /* One tenant's jobs in its own order (seq grows with id within a
     * tenant), so a cursor never carries the server-wide id. */
    PGresult *r = pg_store_run((pg_store *)base,
                               tenant ? "SELECT " JOB_COLUMNS " FROM lore.jobs WHERE tenant=$3"
                                        " AND ($1::int < 0 OR state=$1) AND ($4::bigint <= 0"
                                        " OR seq < $4) ORDER BY seq DESC LIMIT $2"
                                      : "SELECT " JOB_COLUMNS " FROM lore.jobs"
                                        " WHERE $1::int < 0 OR state=$1 ORDER BY id DESC LIMIT $2",
                               &p, &st);
    if (!r) return st;
    size_t count = (size_t)PQntuples(r), got = 0;
    store_job *list = count ? calloc(count, sizeof *list) : NULL;
    if (count && !list) st = LORE_NOMEM;
    for (; st == LORE_OK && got < count; got++)
        if ((st = pgjq_read_job(r, (int)got, 0, &list[got])) != LORE_OK) break;
    PQclear(r);
    if (st != LORE_OK) {
        store_jobs_free(list, got);
        return st;
    }
    *out = list;
    *n = count;
    return LORE_OK;
}

lore_status pg_job_retry(store *base, const char *tenant, int64_t id, int64_t now_ms) {
    pgjq q;
    lore_status st = pgjq_begin((pg_store *)base, &q);
    if (st != LORE_OK) return st;
    pg_params p = {0};
    pg_param_i64(&p, id);
    pg_param_text(&p, tenant);
    store_job j;
    memset(&j, 0, sizeof j);
    PGresult *r = pgjq_run(&q,
                           "SELECT " JOB_COLUMNS " FROM lore.jobs WHERE id=$1::bigint"
                           " AND ($2::text IS NULL OR tenant=$2) FOR UPDATE",
                           &p, &st);
    if (!r) return pgjq_end(&q, st);
    st = PQntuples(r) ? pgjq_read_job(r, 0, 0, &j) : LORE_NOT_FOUND;
    PQclear(r);
    if (st == LORE_OK && j.state != STORE_JOB_DEAD) st = LORE_INVALID;
    char *joined = NULL;
    if (st == LORE_OK && j.ngroups) {
        /* The later pending jobs of its groups, locked: a claim of one of
         * them that has not committed yet finishes first, so the claim of
         * this job sees that lease (blocked() in pg_jobs.c). */
        if (!(joined = pg_list_join((const char *const *)j.groups, j.ngroups))) st = LORE_NOMEM;
        pg_params g = {0};
        pg_param_text(&g, j.tenant);
        pg_param_text(&g, joined);
        pg_param_i64(&g, id);
        if (st == LORE_OK)
            st = pgjq_cmd(&q,
                          "SELECT 1 FROM lore.jobs WHERE id IN (SELECT job FROM lore.job_groups"
                          " WHERE grp IN (SELECT $1 || '/' || x"
                          " FROM unnest(string_to_array($2, E'\\n')) x) AND job > $3)"
                          " ORDER BY id FOR UPDATE",
                          &g, NULL);
    }
    free(joined);
    if (st == LORE_OK) {
        pg_params u = {0};
        pg_param_i64(&u, id);
        pg_param_i64(&u, now_ms);
        st = pgjq_cmd(&q,
                      "UPDATE lore.jobs SET state=0, attempts=0, visible_ms=$2, updated_ms=$2,"
                      " finished_ms=0 WHERE id=$1 AND state=3",
                      &u, NULL);
    }
    if (st == LORE_OK) st = pgjq_groups_insert(&q, j.tenant, id, j.groups, j.ngroups);
    if (st == LORE_OK) {
        pg_params d = {0};
        pg_param_text(&d, j.tenant);
        st = pgjq_cmd(&q,
                      "INSERT INTO lore.job_pending(tenant, n) VALUES($1, 1)"
                      " ON CONFLICT(tenant) DO UPDATE SET n = greatest(lore.job_pending.n + 1, 0)",
                      &d, NULL);
    }
    q.notify = 1;
    store_job_clear(&j);
    return pgjq_end(&q, st);
}

lore_status pg_job_purge(store *base, const char *tenant, int state, int64_t before_ms,
                         store_blob_fn fn, void *ctx, int64_t *deleted) {
    *deleted = 0;
    if (state != -1 && state != STORE_JOB_DONE && state != STORE_JOB_DEAD) return LORE_INVALID;
    pg_params p = {0};
    pg_param_text(&p, tenant);
    pg_param_i64(&p, state);
    pg_param_i64(&p, before_ms);
    lore_status st;
    /* One statement: the rows and the blob names they held, atomically. */
    PGresult *r = pg_store_run((pg_store *)base,
                               "DELETE FROM lore.jobs WHERE ($1::text IS NULL OR tenant=$1)"
                               " AND state>=2 AND ($2::int < 0 OR state=$2) AND finished_ms < $3"
                               " RETURNING tenant, blob",
                               &p, &st);
    if (!r) return st;
    *deleted = PQntuples(r);
    for (int i = 0; fn && i < PQntuples(r); i++)
        if (!PQgetisnull(r, i, 1))
            fn(ctx, pg_get_bytes(r, i, 0, NULL), pg_get_bytes(r, i, 1, NULL));
    PQclear(r);
    return LORE_OK;
}

lore_status pg_job_counts(store *base, store_job_count **out, size_t *n) {
    *out = NULL;
    *n = 0;
    lore_status st;
    /* One branch per state so each reads its partial index. */
    PGresult *r = pg_store_run(
        (pg_store *)base,
        "SELECT tenant, kind, 0, count(*) FROM lore.jobs WHERE state=0 GROUP BY tenant, kind"
        " UNION ALL SELECT tenant, kind, 1, count(*) FROM lore.jobs WHERE state=1"
        " GROUP BY tenant, kind"
        " UNION ALL SELECT tenant, kind, 3, count(*) FROM lore.jobs WHERE state=3"
        " GROUP BY tenant, kind ORDER BY 3, 1, 2",
        NULL, &st);
    if (!r) return st;
    size_t count = (size_t)PQntuples(r);
    store_job_count *list = count ? calloc(count, sizeof *list) : NULL;
    if (count && !list) {
        PQclear(r);
        return LORE_NOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        snprintf(list[i].tenant, sizeof list[i].tenant, "%s", pg_get_bytes(r, (int)i, 0, NULL));
        snprintf(list[i].kind, sizeof list[i].kind, "%s", pg_get_bytes(r, (int)i, 1, NULL));
        list[i].state = (int)pg_get_i64(r, (int)i, 2);
        list[i].count = pg_get_i64(r, (int)i, 3);
    }
    PQclear(r);
    *out = list;
    *n = count;
    return LORE_OK;
}

lore_status pg_job_pending(store *base, const char *tenant, int64_t now_ms,
                           int64_t *oldest_ready_ms, int64_t *pending) {
    *oldest_ready_ms = 0;
    *pending = 0;
    pg_params p = {0};
    pg_param_text(&p, tenant);
    pg_param_i64(&p, now_ms);
    lore_status st;
    PGresult *r = pg_store_run((pg_store *)base,
                               "SELECT (SELECT coalesce(sum(n), 0)::bigint FROM lore.job_pending"
                               " WHERE $1::text IS NULL OR tenant=$1),"
                               " (SELECT created_ms FROM lore.jobs WHERE state=0"
                               " AND visible_ms<=$2 AND ($1::text IS NULL OR tenant=$1)"
                               " ORDER BY id LIMIT 1)",
                               &p, &st);
    if (!r) return st;
    *pending = pg_get_i64(r, 0, 0);
    *oldest_ready_ms = pg_get_i64(r, 0, 1);
    PQclear(r);
    return LORE_OK;
}

lore_status pg_jobs_delete_tenant(PGconn *c, const char *tenant, char *err, size_t errlen) {
    static const char *const sql[] = {
        "DELETE FROM lore.job_groups WHERE job IN (SELECT id FROM lore.jobs WHERE tenant=$1)",
        "DELETE FROM lore.jobs WHERE tenant=$1",
        "DELETE FROM lore.job_pending WHERE tenant=$1",
    };
    for (size_t i = 0; i < 3; i++) {
        pg_params p = {0};
        pg_param_text(&p, tenant);
        lore_status st = pg_run_cmd(c, sql[i], &p, NULL, err, errlen);
        if (st != LORE_OK) return st;
    }
    return LORE_OK;
}
