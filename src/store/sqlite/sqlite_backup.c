/* Backups and restores of the embedded store (store.h, "backup and
 * restore"; docs/storage.md).
 *
 * Databases are copied with SQLite's online backup API from a connection
 * that holds one read transaction for the whole copy: in WAL mode a reader
 * never blocks a writer, and a source that keeps one snapshot open is never
 * seen to change, so the copy made in small steps is the state of a single
 * moment and never restarts however busy the writers are. Blobs are plain
 * files, copied with their SHA-256. */
#include "store/sqlite/sqlite_backup_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/sha256.h"
#include "util/timeutil.h"

/* ---- the backup ---- */

typedef struct job_ref {
    int64_t id;
    int state;
    int unwritten_ok; /* its blob need not exist yet (a pending path job) */
    char tenant[STORE_NAME_MAX + 1];
    char *blob;
} job_ref;

/* Jobs of the copy whose blob matters: pending (leases are released by
 * now, so ready) and dead ones. Done jobs keep their blob's name after the
 * blob is removed. A path job's blob is named when it is queued but written
 * only when the job runs: a pending one without its file misses nothing. */
static lore_status blob_jobs(sqlite3 *db, job_ref **out, size_t *n) {
    sqlite3_stmt *q = NULL;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    int rc = sqlite3_prepare_v2(db,
                                "SELECT id, state, tenant, blob, kind FROM jobs"
                                " WHERE blob IS NOT NULL AND state IN (0,1,3) ORDER BY id",
                                -1, &q, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            job_ref *nr = realloc(*out, cap * sizeof *nr);
            if (!nr) {
                rc = SQLITE_NOMEM;
                break;
            }
            *out = nr;
        }
        job_ref *j = &(*out)[*n];
        j->id = sqlite3_column_int64(q, 0);
        j->state = sqlite3_column_int(q, 1);
        snprintf(j->tenant, sizeof j->tenant, "%s", (const char *)sqlite3_column_text(q, 2));
        const char *kind = (const char *)sqlite3_column_text(q, 4);
        j->unwritten_ok = j->state != 3 && kind && !strcmp(kind, PATH_JOB_KIND);
        if (!(j->blob = strdup((const char *)sqlite3_column_text(q, 3)))) {
            rc = SQLITE_NOMEM;
            break;
        }
        (*n)++;
        rc = SQLITE_OK;
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? LORE_OK : sqlite_status(rc);
}

static lore_status step_bound(sqlite3 *db, const char *sql, int64_t id, const char *tenant) {
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, id);
        if (tenant) sqlite3_bind_text(q, 2, tenant, -1, SQLITE_STATIC);
        rc = sqlite3_step(q);
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? LORE_OK : sqlite_status(rc);
}

/* A job of the copy whose blob is gone from the store: it finished (or was
 * purged) after the snapshot, and its documents are in the tenants, which
 * are copied after the blobs. The copy takes the job's present state, so a
 * restore does not run it again without its payload. */
static lore_status settle_job(sqlite_store *s, sqlite3 *dc, const job_ref *j,
                              store_backup_report *r) {
    static const char cols[] =
        "state, attempts, lease_seq, updated_ms, started_ms, finished_ms, worker, error, result";
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT %s FROM jobs WHERE id=?", cols);
    sqlite3_stmt *live = NULL, *up = NULL;
    int rc = sqlite3_prepare_v2(s->control, sql, -1, &live, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(live, 1, j->id);
        rc = sqlite3_step(live);
    }
    int gone = rc == SQLITE_DONE, done = rc == SQLITE_ROW && sqlite3_column_int(live, 0) == 2;
    lore_status st = rc == SQLITE_ROW || rc == SQLITE_DONE ? LORE_OK : sqlite_status(rc);
    if (st == LORE_OK && !gone && !done) {
        /* missing from the store too: the copy keeps the job as it was */
        if (!j->unwritten_ok) r->blobs_missing++;
        goto out;
    }
    if (st != LORE_OK || (st = bk_run(dc, "BEGIN IMMEDIATE")) != LORE_OK) goto out;
    if (gone) {
        st = step_bound(dc, "DELETE FROM jobs WHERE id=?1", j->id, NULL);
    } else {
        rc =
            sqlite3_prepare_v2(dc,
                               "UPDATE jobs SET state=?1, attempts=?2, lease_seq=?3, updated_ms=?4,"
                               " started_ms=?5, finished_ms=?6, worker=?7, error=?8, result=?9,"
                               " payload=NULL WHERE id=?10",
                               -1, &up, NULL);
        for (int i = 0; rc == SQLITE_OK && i < 9; i++)
            rc = sqlite3_bind_value(up, i + 1, sqlite3_column_value(live, i));
        if (rc == SQLITE_OK) rc = sqlite3_bind_int64(up, 10, j->id);
        if (rc == SQLITE_OK) rc = sqlite3_step(up);
        st = rc == SQLITE_DONE ? LORE_OK : sqlite_status(rc);
    }
    if (st == LORE_OK) st = step_bound(dc, "DELETE FROM job_groups WHERE job=?1", j->id, NULL);
    if (st == LORE_OK && j->state != 3)
        st =
            step_bound(dc, "UPDATE job_pending SET n=max(n-1,0) WHERE tenant=?2", j->id, j->tenant);
    st = st == LORE_OK ? bk_run(dc, "COMMIT") : st;
    if (st != LORE_OK)
        (void)bk_run(dc, "ROLLBACK");
    else
        r->jobs_settled++;
out:
    sqlite3_finalize(up);
    sqlite3_finalize(live);
    return st;
}

static lore_status backup_blobs(sqlite_store *s, sqlite3 *dc, const char *dest,
                                store_backup_report *r, errbuf *e) {
    job_ref *jobs = NULL;
    size_t n = 0, cap = 0;
    lore_status st = blob_jobs(dc, &jobs, &n);
    if (st != LORE_OK) bk_fail(e, st, "reading the jobs of the copy: %s", sqlite3_errmsg(dc));
    for (size_t i = 0; st == LORE_OK && i < n; i++) {
        st = bk_copy_blob(s->data_dir, dest, jobs[i].tenant, jobs[i].blob, r, &cap, e);
        if (st == LORE_NOT_FOUND && (st = settle_job(s, dc, &jobs[i], r)) != LORE_OK)
            bk_fail(e, st, "recording job %lld, finished during the backup: %s",
                    (long long)jobs[i].id, sqlite3_errmsg(dc));
    }
    for (size_t i = 0; i < n; i++)
        free(jobs[i].blob);
    free(jobs);
    return st;
}

/* Leaves a tenant out of the copy: its row, keys, jobs and blobs go, as
 * when a tenant is deleted. */
static lore_status drop_tenant(sqlite3 *dc, const char *dest, const char *name,
                               store_backup_report *r, errbuf *e) {
    char *dir = strdup(dest);
    if (!dir) return bk_fail(e, LORE_NOMEM, "out of memory");
    sqlite_store copy = {.base.be = &store_backend_sqlite, .data_dir = dir, .control = dc};
    lore_status st = sqlite_tenant_delete(&copy.base, name);
    sqlite_jobs_close(&copy);
    free(dir);
    if (st != LORE_OK)
        return bk_fail(e, st, "leaving out tenant %s, deleted during the backup: %s", name,
                       lore_status_message(st));
    size_t k = 0;
    for (size_t i = 0; i < r->nblobs; i++) {
        if (!strcmp(r->blobs[i].tenant, name))
            free(r->blobs[i].name);
        else
            r->blobs[k++] = r->blobs[i];
    }
    r->nblobs = k;
    r->tenants_left_out++;
    return LORE_OK;
}

static lore_status backup_tenants(sqlite_store *s, sqlite3 *dc, const char *dest, size_t step,
                                  store_backup_report *r, errbuf *e) {
    store_backup_report listed = {0};
    lore_status st = bk_list_tenants(dc, &listed);
    if (st != LORE_OK)
        return bk_fail(e, st, "reading the tenants of the copy: %s", sqlite3_errmsg(dc));
    for (size_t i = 0; st == LORE_OK && i < listed.ntenants; i++) {
        store_backup_tenant *t = &listed.tenants[i];
        char from[4096], dir[4096], to[4096];
        if (bk_path_of(from, sizeof from, s->data_dir, "tenants", t->name) ||
            bk_path_of(dir, sizeof dir, dest, "tenants", t->name) ||
            bk_path_of(to, sizeof to, dir, "lore.db", NULL) ||
            strlen(from) + sizeof "/lore.db" > sizeof from) {
            st = bk_fail(e, LORE_TOO_LARGE, "path too long under %s", dest);
            break;
        }
        strcat(from, "/lore.db");
        int64_t created = 0;
        sqlite3 *src = NULL;
        st = sqlite_tenant_created(&s->base, t->name, &created);
        if (st == LORE_OK && created == t->created_ms) st = bk_open_live(from, &src, e);
        if (st == LORE_NOT_FOUND || (st == LORE_OK && created != t->created_ms)) {
            st = drop_tenant(dc, dest, t->name, r, e);
            continue;
        }
        if (st != LORE_OK) break;
        if (sqlite_mkdir_p(dir) != LORE_OK)
            st = bk_fail(e, LORE_IO, "cannot create %s: %s", dir, strerror(errno));
        if (st == LORE_OK) st = bk_copy_db(src, from, to, step, NULL, e);
        sqlite3_close(src);
        if (st == LORE_OK) st = bk_tenant_figures(to, 0, t, e);
        if (st == LORE_OK) {
            store_backup_tenant *nt = realloc(r->tenants, (r->ntenants + 1) * sizeof *nt);
            if (!nt) st = bk_fail(e, LORE_NOMEM, "out of memory");
            if (nt) {
                r->tenants = nt;
                r->tenants[r->ntenants++] = *t;
            }
        }
    }
    free(listed.tenants);
    return st;
}

static lore_status backup_run(sqlite_store *s, const char *dest, size_t step,
                              store_backup_report *r, errbuf *e) {
    char from[4096], to[4096];
    if (bk_path_of(from, sizeof from, s->data_dir, "control.db", NULL) ||
        bk_path_of(to, sizeof to, dest, "control.db", NULL))
        return bk_fail(e, LORE_TOO_LARGE, "path too long: %s", dest);
    sqlite3 *src = NULL, *dc = NULL;
    lore_status st = bk_open_live(from, &src, e);
    if (st == LORE_OK) st = bk_copy_db(src, from, to, step, &r->snapshot_ms, e);
    sqlite3_close(src);
    if (st != LORE_OK) return st;
    int rc = sqlite3_open_v2(to, &dc, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        st = bk_fail(e, sqlite_status(rc), "%s: cannot open the copy", to);
        goto out;
    }
    /* The workers holding leases are not part of the copy: the jobs are
     * ready again, the interrupted attempt not counted. */
    sqlite3_stmt *q = NULL;
    rc = sqlite3_prepare_v2(dc,
                            "UPDATE jobs SET state=0, attempts=max(attempts-1,0), visible_ms=?1"
                            " WHERE state=1",
                            -1, &q, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, r->snapshot_ms);
        rc = sqlite3_step(q);
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) {
        st = bk_fail(e, sqlite_status(rc), "%s: releasing leases: %s", to, sqlite3_errmsg(dc));
        goto out;
    }
    r->leases_released = sqlite3_changes(dc);
    if ((st = backup_blobs(s, dc, dest, r, e)) != LORE_OK) goto out;
    if ((st = backup_tenants(s, dc, dest, step, r, e)) != LORE_OK) goto out;
    if ((st = bk_control_counts(dc, r)) != LORE_OK)
        bk_fail(e, st, "%s: cannot count: %s", to, sqlite3_errmsg(dc));
out:
    if (dc && sqlite3_close(dc) != SQLITE_OK && st == LORE_OK)
        st = bk_fail(e, LORE_IO, "%s: cannot close", to);
    return st;
}

lore_status sqlite_backup(store *s_, const char *dest_dir, size_t step_pages,
                          store_backup_report *out, char *err, size_t errlen) {
    sqlite_store *s = (sqlite_store *)s_;
    errbuf e = {err, errlen};
    memset(out, 0, sizeof *out);
    int created;
    lore_status st = bk_prepare_dir(dest_dir, "backup directory", &created, &e);
    if (st != LORE_OK) return st;
    st = backup_run(s, dest_dir, step_pages ? step_pages : STEP_PAGES, out, &e);
    if (st != LORE_OK) {
        store_backup_report_clear(out);
        bk_empty_dir(dest_dir, created);
    }
    return st;
}
