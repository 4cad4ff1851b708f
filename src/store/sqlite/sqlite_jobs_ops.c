/* Embedded store: operating the job queue (reading, listing, retrying,
 * purging, counting), beside the hot path of sqlite_jobs.c (enqueue,
 * claim, renew, finish). The tables are described there. */
#include "store/sqlite/sqlite_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- reading and operating ---- */

/* Reads the one job a WHERE clause picks: ?1 is the id (integer or text),
 * ?2 the tenant (NULL: any). */
static lore_status get_where(sqlite_store *s, const char *where, int64_t id, const char *pub,
                             const char *tenant, int with_payload, store_job **out) {
    *out = NULL;
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT " JOB_COLUMNS "%s FROM jobs WHERE %s",
             with_payload ? ", payload" : "", where);
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(s->control, sql, -1, &q, NULL);
    lore_status st = sqlite_status(rc);
    if (st == LORE_OK) {
        if (pub)
            sqlite3_bind_text(q, 1, pub, -1, SQLITE_STATIC);
        else
            sqlite3_bind_int64(q, 1, id);
        jq_bind_opt(q, 2, tenant);
        rc = sqlite3_step(q);
        if (rc == SQLITE_ROW) {
            store_job *j = malloc(sizeof *j);
            if (!j)
                st = LORE_NOMEM;
            else if ((st = jq_read_job(q, with_payload, j)) != LORE_OK)
                free(j);
            else
                *out = j;
        } else {
            st = rc == SQLITE_DONE ? LORE_NOT_FOUND : sqlite_status(rc);
        }
    }
    sqlite3_finalize(q);
    return st;
}

lore_status sqlite_job_get(store *s_, const char *tenant, int64_t id, int with_payload,
                           store_job **out) {
    sqlite_store *s = (sqlite_store *)s_;
    return get_where(s, "id=?1 AND (?2 IS NULL OR tenant=?2)", id, NULL, tenant, with_payload, out);
}

/* Whether ref has the shape of a public id. */
static int pub_shaped(const char *ref) {
    size_t k = strlen(STORE_JOB_PUB_PREFIX);
    if (strlen(ref) != STORE_JOB_PUB_LEN || strncmp(ref, STORE_JOB_PUB_PREFIX, k)) return 0;
    for (const char *p = ref + k; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return 0;
    return 1;
}

lore_status sqlite_job_find(store *s_, const char *tenant, const char *ref, int with_payload,
                            store_job **out) {
    sqlite_store *s = (sqlite_store *)s_;
    *out = NULL;
    if (!ref || strnlen(ref, STORE_JOB_REF_MAX + 1) > STORE_JOB_REF_MAX) return LORE_NOT_FOUND;
    if (pub_shaped(ref))
        return get_where(s, "pub=?1 AND (?2 IS NULL OR tenant=?2)", 0, ref, tenant, with_payload,
                         out);
    /* A legacy id: 1 to 18 digits, no sign, no leading zero. Only the jobs
     * queued before public ids answer to one: a new job's number is the
     * server-wide sequence, which a tenant could otherwise probe for. */
    size_t n = strlen(ref);
    if (!n || n > 18 || ref[0] == '0' || strspn(ref, "0123456789") != n) return LORE_NOT_FOUND;
    int64_t id = 0;
    for (size_t i = 0; i < n; i++)
        id = id * 10 + (ref[i] - '0');
    return get_where(s, "id=?1 AND legacy=1 AND (?2 IS NULL OR tenant=?2)", id, NULL, tenant,
                     with_payload, out);
}

lore_status sqlite_job_get_dedup(store *s_, const char *tenant, const char *dedup_key,
                                 store_job **out) {
    sqlite_store *s = (sqlite_store *)s_;
    *out = NULL;
    store_job probe;
    memset(&probe, 0, sizeof probe);
    snprintf(probe.tenant, sizeof probe.tenant, "%s", tenant);
    probe.dedup_key = (char *)dedup_key;
    int found = 0;
    lore_status st = jq_find_dedup(s, &probe, &found);
    if (st != LORE_OK) return st;
    return found ? sqlite_job_get(&s->base, tenant, probe.id, 0, out) : LORE_NOT_FOUND;
}

lore_status sqlite_job_list(store *s_, const char *tenant, int state, int64_t before, size_t limit,
                            store_job **out, size_t *n) {
    sqlite_store *s = (sqlite_store *)s_;
    *out = NULL;
    *n = 0;
    if (before > 0 && !tenant) return LORE_INVALID; /* seq counts within one tenant */
    sqlite3_stmt *q = NULL;
    /* One tenant's jobs in its own order (seq grows with id within a
     * tenant), so a cursor never carries the server-wide id. */
    int rc = sqlite3_prepare_v2(s->control,
                                tenant ? "SELECT " JOB_COLUMNS " FROM jobs WHERE tenant=?1"
                                         " AND (?2 < 0 OR state=?2) AND (?3 <= 0 OR seq < ?3)"
                                         " ORDER BY seq DESC LIMIT ?4"
                                       : "SELECT " JOB_COLUMNS " FROM jobs WHERE ?1 IS NULL"
                                         " AND (?2 < 0 OR state=?2) ORDER BY id DESC LIMIT ?4",
                                -1, &q, NULL);
    if (rc != SQLITE_OK) return sqlite_status(rc);
    jq_bind_opt(q, 1, tenant);
    sqlite3_bind_int(q, 2, state);
    sqlite3_bind_int64(q, 3, before);
    sqlite3_bind_int64(q, 4, (int64_t)limit);
    store_job *list = limit ? calloc(limit, sizeof *list) : NULL;
    lore_status st = limit && !list ? LORE_NOMEM : LORE_OK;
    size_t count = 0;
    while (st == LORE_OK && count < limit && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        if ((st = jq_read_job(q, 0, &list[count])) == LORE_OK) count++;
    }
    if (st == LORE_OK && count < limit && rc != SQLITE_DONE) st = sqlite_status(rc);
    sqlite3_finalize(q);
    if (st != LORE_OK) {
        store_jobs_free(list, count);
        return st;
    }
    *out = list;
    *n = count;
    return LORE_OK;
}

lore_status sqlite_job_retry(store *s_, const char *tenant, int64_t id, int64_t now_ms) {
    sqlite_store *s = (sqlite_store *)s_;
    store_job *j = NULL;
    lore_status st = jq_write_begin(s);
    if (st != LORE_OK) return st;
    if ((st = sqlite_job_get(&s->base, tenant, id, 0, &j)) != LORE_OK) goto out;
    if (j->state != STORE_JOB_DEAD) {
        st = LORE_INVALID;
        goto out;
    }
    sqlite3_stmt *q = jq_stmt(s, JST_REQUEUE,
                              "UPDATE jobs SET state=0, attempts=0, visible_ms=?2, updated_ms=?2,"
                              " finished_ms=0 WHERE id=?1 AND state=3");
    if (!q) {
        st = LORE_INTERNAL;
        goto out;
    }
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, now_ms);
    if ((st = jq_step_done(q)) != LORE_OK) goto out;
    if ((st = jq_groups_insert(s, j->tenant, id, j->groups, j->ngroups)) != LORE_OK) goto out;
    st = jq_pending_add(s, j->tenant, 1);
out:
    store_job_free(j);
    return jq_write_end(s, st);
}

typedef struct blob_ref {
    char tenant[STORE_NAME_MAX + 1];
    char *blob;
} blob_ref;

lore_status sqlite_job_purge(store *s_, const char *tenant, int state, int64_t before_ms,
                             store_blob_fn fn, void *ctx, int64_t *deleted) {
    sqlite_store *s = (sqlite_store *)s_;
    *deleted = 0;
    if (state != -1 && state != STORE_JOB_DONE && state != STORE_JOB_DEAD) return LORE_INVALID;
    static const char *const where = " WHERE (?1 IS NULL OR tenant=?1) AND state>=2"
                                     " AND (?2 < 0 OR state=?2) AND finished_ms < ?3";
    char sql[512];
    blob_ref *blobs = NULL;
    size_t nb = 0, cap = 0;
    sqlite3_stmt *q = NULL;
    lore_status st = jq_write_begin(s);
    if (st != LORE_OK) return st;
    snprintf(sql, sizeof sql, "SELECT tenant, blob FROM jobs%s AND blob IS NOT NULL", where);
    for (int pass = 0; pass < 2 && st == LORE_OK; pass++) {
        if (pass) snprintf(sql, sizeof sql, "DELETE FROM jobs%s", where);
        int rc = sqlite3_prepare_v2(s->control, sql, -1, &q, NULL);
        if (rc == SQLITE_OK) {
            jq_bind_opt(q, 1, tenant);
            sqlite3_bind_int(q, 2, state);
            sqlite3_bind_int64(q, 3, before_ms);
            while ((rc = sqlite3_step(q)) == SQLITE_ROW && st == LORE_OK) {
                if (nb == cap) {
                    cap = cap ? cap * 2 : 16;
                    blob_ref *nl = realloc(blobs, cap * sizeof *nl);
                    if (!nl) {
                        st = LORE_NOMEM;
                        break;
                    }
                    blobs = nl;
                }
                snprintf(blobs[nb].tenant, sizeof blobs[nb].tenant, "%s",
                         (const char *)sqlite3_column_text(q, 0));
                if (!(blobs[nb].blob = strdup((const char *)sqlite3_column_text(q, 1))))
                    st = LORE_NOMEM;
                else
                    nb++;
            }
        }
        if (st == LORE_OK && rc != SQLITE_DONE) st = sqlite_status(rc);
        if (pass && st == LORE_OK) *deleted = sqlite3_changes64(s->control);
        sqlite3_finalize(q);
        q = NULL;
    }
    st = jq_write_end(s, st);
    for (size_t i = 0; i < nb; i++) {
        if (st == LORE_OK && fn) fn(ctx, blobs[i].tenant, blobs[i].blob);
        free(blobs[i].blob);
    }
    free(blobs);
    if (st != LORE_OK) *deleted = 0;
    return st;
}

lore_status sqlite_job_counts(store *s_, store_job_count **out, size_t *n) {
    sqlite_store *s = (sqlite_store *)s_;
    *out = NULL;
    *n = 0;
    static const int states[3] = {STORE_JOB_READY, STORE_JOB_LEASED, STORE_JOB_DEAD};
    store_job_count *list = NULL;
    size_t count = 0, cap = 0;
    /* One read transaction: the three counts are of one moment, so a job
     * moving between states (a claim, a retry) is counted once, not in
     * neither (a caller waiting for "nothing ready or leased" relies on it). */
    lore_status st = sqlite_status(sqlite3_exec(s->control, "BEGIN", NULL, NULL, NULL));
    for (int i = 0; i < 3 && st == LORE_OK; i++) {
        /* One query per state so each reads its partial index. */
        sqlite3_stmt *q = jq_stmt(s, JST_COUNT_READY + i,
                                  i == 0   ? "SELECT tenant, kind, count(*) FROM jobs WHERE state=0"
                                             " GROUP BY tenant, kind"
                                  : i == 1 ? "SELECT tenant, kind, count(*) FROM jobs WHERE state=1"
                                             " GROUP BY tenant, kind"
                                           : "SELECT tenant, kind, count(*) FROM jobs WHERE state=3"
                                             " GROUP BY tenant, kind");
        if (!q) {
            st = LORE_INTERNAL;
            break;
        }
        int rc;
        while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
            if (count == cap) {
                cap = cap ? cap * 2 : 16;
                store_job_count *nl = realloc(list, cap * sizeof *nl);
                if (!nl) {
                    st = LORE_NOMEM;
                    break;
                }
                list = nl;
            }
            store_job_count *c = &list[count++];
            snprintf(c->tenant, sizeof c->tenant, "%s", (const char *)sqlite3_column_text(q, 0));
            snprintf(c->kind, sizeof c->kind, "%s", (const char *)sqlite3_column_text(q, 1));
            c->state = states[i];
            c->count = sqlite3_column_int64(q, 2);
        }
        if (st == LORE_OK && rc != SQLITE_DONE) st = sqlite_status(rc);
        sqlite3_reset(q);
    }
    if (!sqlite3_get_autocommit(s->control))
        (void)sqlite3_exec(s->control, "COMMIT", NULL, NULL, NULL); /* read only */
    if (st != LORE_OK) {
        free(list);
        return st;
    }
    *out = list;
    *n = count;
    return LORE_OK;
}

lore_status sqlite_job_pending(store *s_, const char *tenant, int64_t now_ms,
                               int64_t *oldest_ready_ms, int64_t *pending) {
    sqlite_store *s = (sqlite_store *)s_;
    *oldest_ready_ms = 0;
    lore_status st = jq_pending_read(s, tenant, pending);
    if (st != LORE_OK) return st;
    sqlite3_stmt *q = jq_stmt(s, JST_OLDEST,
                              "SELECT created_ms FROM jobs WHERE state=0 AND visible_ms<=?1"
                              " AND (?2 IS NULL OR tenant=?2) ORDER BY id LIMIT 1");
    if (!q) return LORE_INTERNAL;
    sqlite3_bind_int64(q, 1, now_ms);
    jq_bind_opt(q, 2, tenant);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) *oldest_ready_ms = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? LORE_OK : sqlite_status(rc);
}

lore_status sqlite_jobs_delete_tenant(sqlite_store *s, const char *tenant) {
    static const char *const sql[] = {
        "DELETE FROM job_groups WHERE job IN (SELECT id FROM jobs WHERE tenant=?)",
        "DELETE FROM jobs WHERE tenant=?",
        "DELETE FROM job_pending WHERE tenant=?",
    };
    for (size_t i = 0; i < 3; i++) {
        sqlite3_stmt *q = NULL;
        int rc = sqlite3_prepare_v2(s->control, sql[i], -1, &q, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(q, 1, tenant, -1, SQLITE_STATIC);
            rc = sqlite3_step(q);
        }
        sqlite3_finalize(q);
        if (rc != SQLITE_DONE) return sqlite_status(rc);
    }
    return LORE_OK;
}

void sqlite_jobs_close(sqlite_store *s) {
    for (int i = 0; i < JST_COUNT; i++)
        sqlite3_finalize(s->job_st[i]);
}
