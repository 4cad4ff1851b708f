/* Restores of the embedded store from a backup (store.h, "backup and
 * restore"; docs/storage.md): into an empty data directory, control.db
 * last under its real name, every database checked against the manifest. */
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

/* ---- the restore ---- */

static lore_status compare(const store_backup_report *got, const store_backup_report *want,
                           errbuf *e) {
    static const char *const what[] = {"control schema", "API keys", "jobs", "pending jobs"};
    const int64_t g[] = {got->control_schema, got->keys, got->jobs, got->jobs_pending};
    const int64_t w[] = {want->control_schema, want->keys, want->jobs, want->jobs_pending};
    for (size_t i = 0; i < 4; i++)
        if (g[i] != w[i])
            return bk_fail(e, LORE_CORRUPT, "the backup holds %lld %s, the manifest says %lld",
                           (long long)g[i], what[i], (long long)w[i]);
    if (got->ntenants != want->ntenants)
        return bk_fail(e, LORE_CORRUPT, "the backup holds %zu tenants, the manifest says %zu",
                       got->ntenants, want->ntenants);
    for (size_t i = 0; i < got->ntenants; i++) {
        const store_backup_tenant *a = &got->tenants[i], *b = &want->tenants[i];
        if (strcmp(a->name, b->name))
            return bk_fail(e, LORE_CORRUPT, "the backup holds tenant %s, the manifest says %s",
                           a->name, b->name);
        if (a->schema != b->schema || a->documents != b->documents || a->chunks != b->chunks ||
            a->created_ms != b->created_ms)
            return bk_fail(e, LORE_CORRUPT,
                           "tenant %s: the backup holds %lld documents and %lld chunks at schema "
                           "%lld, the manifest says %lld, %lld at %lld",
                           a->name, (long long)a->documents, (long long)a->chunks,
                           (long long)a->schema, (long long)b->documents, (long long)b->chunks,
                           (long long)b->schema);
    }
    return LORE_OK;
}

static lore_status restore_tenants(const char *src_dir, const char *data_dir,
                                   store_backup_report *r, errbuf *e) {
    int64_t want_control, want_tenant;
    store_schema_versions(&want_control, &want_tenant);
    for (size_t i = 0; i < r->ntenants; i++) {
        store_backup_tenant *t = &r->tenants[i];
        char from[4096], dir[4096], to[4096];
        if (bk_path_of(from, sizeof from, src_dir, "tenants", t->name) ||
            bk_path_of(dir, sizeof dir, data_dir, "tenants", t->name) ||
            bk_path_of(to, sizeof to, dir, "lore.db", NULL) ||
            strlen(from) + sizeof "/lore.db" > sizeof from)
            return bk_fail(e, LORE_TOO_LARGE, "path too long under %s", data_dir);
        strcat(from, "/lore.db");
        sqlite3 *src = NULL;
        lore_status st = bk_open_frozen(from, &src, e);
        if (st == LORE_NOT_FOUND)
            return bk_fail(e, LORE_CORRUPT, "the backup lists tenant %s but has no %s", t->name,
                           from);
        if (st == LORE_OK && sqlite_mkdir_p(dir) != LORE_OK)
            st = bk_fail(e, LORE_IO, "cannot create %s: %s", dir, strerror(errno));
        if (st == LORE_OK) st = bk_copy_db(src, from, to, STEP_PAGES, NULL, e);
        sqlite3_close(src);
        if (st == LORE_OK) st = bk_tenant_figures(to, 1, t, e);
        if (st != LORE_OK) return st;
        if (t->schema > want_tenant)
            return bk_fail(e, LORE_UNSUPPORTED,
                           "tenant %s is at schema %lld, newer than this lore (%lld); upgrade lore",
                           t->name, (long long)t->schema, (long long)want_tenant);
    }
    return LORE_OK;
}

static lore_status restore_blobs(const char *src_dir, const char *data_dir,
                                 const store_backup_report *want, store_backup_report *r,
                                 errbuf *e) {
    size_t cap = 0;
    for (size_t i = 0; i < want->nblobs; i++) {
        const store_backup_blob *b = &want->blobs[i];
        size_t before = r->nblobs;
        lore_status st = bk_copy_blob(src_dir, data_dir, b->tenant, b->name, r, &cap, e);
        if (st == LORE_NOT_FOUND)
            return bk_fail(e, LORE_CORRUPT, "the manifest lists blob %s/%s, the backup has no file",
                           b->tenant, b->name);
        if (st != LORE_OK) return st;
        if (r->nblobs == before)
            return bk_fail(e, LORE_CORRUPT, "the manifest lists blob %s/%s twice", b->tenant,
                           b->name);
        const store_backup_blob *got = &r->blobs[before];
        if (got->bytes != b->bytes || strcmp(got->sha256, b->sha256))
            return bk_fail(e, LORE_CORRUPT,
                           "blob %s/%s: %lld bytes with SHA-256 %.12s..., the manifest says %lld "
                           "bytes, %.12s...",
                           b->tenant, b->name, (long long)got->bytes, got->sha256,
                           (long long)b->bytes, b->sha256);
    }
    return LORE_OK;
}

/* The last step of a restore: every file is written and checked. The
 * tenants' and blobs' names are made durable, then control.db takes its
 * name, which makes the directory a store. */
static lore_status restore_commit(const char *data_dir, const char *tmp, const char *final,
                                  errbuf *e) {
    lore_status st = bk_sync_subdirs(data_dir, "tenants", e);
    if (st == LORE_OK) st = bk_sync_subdirs(data_dir, "blobs", e);
    if (st == LORE_OK) st = bk_sync_path(tmp, e);
    if (st != LORE_OK) return st;
    if (rename(tmp, final) != 0)
        return bk_fail(e, LORE_IO, "cannot rename %s to %s: %s", tmp, final, strerror(errno));
    return bk_sync_path(data_dir, e);
}

static lore_status restore_run(const char *src_dir, const char *data_dir,
                               const store_backup_report *want, store_backup_report *r, errbuf *e) {
    char from[4096], to[4096], final[4096];
    if (bk_path_of(from, sizeof from, src_dir, "control.db", NULL) ||
        bk_path_of(to, sizeof to, data_dir, RESTORING_NAME, NULL) ||
        bk_path_of(final, sizeof final, data_dir, "control.db", NULL))
        return bk_fail(e, LORE_TOO_LARGE, "path too long: %s", data_dir);
    int64_t want_control, want_tenant;
    store_schema_versions(&want_control, &want_tenant);
    sqlite3 *src = NULL, *db = NULL;
    lore_status st = bk_open_frozen(from, &src, e);
    if (st == LORE_NOT_FOUND)
        return bk_fail(e, LORE_NOT_FOUND, "%s has no control.db: not a lore backup", src_dir);
    if (st == LORE_OK) st = bk_copy_db(src, from, to, STEP_PAGES, NULL, e);
    sqlite3_close(src);
    if (st == LORE_OK) st = bk_open_frozen(to, &db, e);
    if (st == LORE_OK) st = bk_integrity(db, to, e);
    if (st == LORE_OK &&
        ((st = bk_control_counts(db, r)) != LORE_OK || (st = bk_list_tenants(db, r)) != LORE_OK))
        bk_fail(e, st, "%s: cannot read: %s", to, sqlite3_errmsg(db));
    sqlite3_close(db);
    if (st != LORE_OK) return st;
    if (r->control_schema > want_control)
        return bk_fail(e, LORE_UNSUPPORTED,
                       "the backup's control database is at schema %lld, newer than this lore "
                       "(%lld); upgrade lore",
                       (long long)r->control_schema, (long long)want_control);
    char dir[4096];
    if (bk_path_of(dir, sizeof dir, data_dir, "tenants", NULL) || sqlite_mkdir_p(dir) != LORE_OK)
        return bk_fail(e, LORE_IO, "cannot create %s/tenants", data_dir);
    if ((st = restore_tenants(src_dir, data_dir, r, e)) != LORE_OK) return st;
    if ((st = restore_blobs(src_dir, data_dir, want, r, e)) != LORE_OK) return st;
    if ((st = compare(r, want, e)) != LORE_OK) return st;
    return restore_commit(data_dir, to, final, e);
}

lore_status sqlite_restore(const char *src_dir, const char *data_dir,
                           const store_backup_report *expect, store_backup_report *out, char *err,
                           size_t errlen) {
    errbuf e = {err, errlen};
    memset(out, 0, sizeof *out);
    struct stat sb;
    if (stat(src_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return bk_fail(&e, LORE_NOT_FOUND, "%s: no such backup directory", src_dir);
    int created;
    lore_status st = bk_prepare_dir(data_dir, "data directory", &created, &e);
    char leftover[4096];
    if (st == LORE_EXISTS &&
        !bk_path_of(leftover, sizeof leftover, data_dir, RESTORING_NAME, NULL) &&
        access(leftover, F_OK) == 0)
        return bk_fail(
            &e, LORE_EXISTS,
            "data directory %s holds %s: a previous restore into it did not finish, and "
            "what it left is no store; remove the directory (rm -r %s) and restore again",
            data_dir, RESTORING_NAME, data_dir);
    if (st != LORE_OK) return st;
    st = restore_run(src_dir, data_dir, expect, out, &e);
    if (st == LORE_OK && created) { /* the new directory's own name */
        char parent[4096];
        const char *slash = strrchr(data_dir, '/');
        int n = !slash ? snprintf(parent, sizeof parent, ".")
                       : snprintf(parent, sizeof parent, "%.*s", (int)(slash - data_dir), data_dir);
        if (n == 0) snprintf(parent, sizeof parent, "/");
        if (n >= 0 && (size_t)n < sizeof parent) st = bk_sync_path(parent, &e);
    }
    if (st != LORE_OK) {
        store_backup_report_clear(out);
        bk_empty_dir(data_dir, created);
    }
    return st;
}
