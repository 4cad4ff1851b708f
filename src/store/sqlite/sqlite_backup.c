/* Backups and restores of the embedded store (store.h, "backup and
 * restore"; docs/storage.md).
 *
 * Databases are copied with SQLite's online backup API from a connection
 * that holds one read transaction for the whole copy: in WAL mode a reader
 * never blocks a writer, and a source that keeps one snapshot open is never
 * seen to change, so the copy made in small steps is the state of a single
 * moment and never restarts however busy the writers are. Blobs are plain
 * files, copied with their SHA-256. */
#include "store/sqlite/sqlite_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/sha256.h"
#include "util/timeutil.h"

#define STEP_PAGES 256
#define BLOB_NAME_MAX 255
#define BUSY_RETRIES 2000 /* 5 ms apart: 10 s, the stores' busy timeout */
/* A restore writes control.db under this name and renames it last: a
 * directory a killed restore leaves holds no control.db, so no store opens
 * it as a valid store missing its tenants. */
#define RESTORING_NAME "control.db.restoring"
/* The kind of the ingest's path jobs (ingest_jobs.h, INGEST_JOB_PATH): its
 * blob is the problems file the job writes when it runs. */
#define PATH_JOB_KIND "path"

typedef struct errbuf {
    char *s;
    size_t n;
} errbuf;

static lore_status fail(errbuf *e, lore_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static lore_status fail(errbuf *e, lore_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->s, e->n, fmt, ap);
    va_end(ap);
    return st;
}

static int path_of(char *out, size_t outlen, const char *a, const char *b, const char *c) {
    int n = c ? snprintf(out, outlen, "%s/%s/%s", a, b, c) : snprintf(out, outlen, "%s/%s", a, b);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static int blob_name_ok(const char *name) {
    size_t n = strlen(name);
    return n && n <= BLOB_NAME_MAX && !strchr(name, '/') && name[0] != '.';
}

/* dir must be absent (it is created) or an empty directory. */
static lore_status prepare_dir(const char *dir, const char *what, int *created, errbuf *e) {
    *created = 0;
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        if (errno != ENOENT) return fail(e, LORE_IO, "%s %s: %s", what, dir, strerror(errno));
        if (sqlite_mkdir_p(dir) != LORE_OK)
            return fail(e, LORE_IO, "cannot create %s %s: %s", what, dir, strerror(errno));
        *created = 1;
        return LORE_OK;
    }
    if (!S_ISDIR(sb.st_mode))
        return fail(e, LORE_EXISTS, "%s %s exists and is not a directory", what, dir);
    DIR *d = opendir(dir);
    if (!d) return fail(e, LORE_IO, "%s %s: %s", what, dir, strerror(errno));
    struct dirent *ent;
    int empty = 1;
    while (empty && (ent = readdir(d)))
        empty = !strcmp(ent->d_name, ".") || !strcmp(ent->d_name, "..");
    closedir(d);
    if (!empty)
        return fail(e, LORE_EXISTS, "%s %s is not empty; give a new or empty directory", what, dir);
    return LORE_OK;
}

/* fsyncs a file or directory. */
static lore_status sync_path(const char *path, errbuf *e) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(e, LORE_IO, "cannot sync %s: %s", path, strerror(errno));
    int rc = fsync(fd), err = errno;
    close(fd);
    return rc == 0 ? LORE_OK : fail(e, LORE_IO, "cannot sync %s: %s", path, strerror(err));
}

/* fsyncs each directory in root/sub (the tenants' or the blobs'), then
 * root/sub itself, so the names of the files copied into them are on disk.
 * An absent root/sub is nothing to sync. */
static lore_status sync_subdirs(const char *root, const char *sub, errbuf *e) {
    char dir[4096], path[4096];
    if (path_of(dir, sizeof dir, root, sub, NULL))
        return fail(e, LORE_TOO_LARGE, "path too long under %s", root);
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? LORE_OK : fail(e, LORE_IO, "%s: %s", dir, strerror(errno));
    lore_status st = LORE_OK;
    struct dirent *ent;
    while (st == LORE_OK && (ent = readdir(d))) {
        if (ent->d_name[0] == '.') continue;
        if (path_of(path, sizeof path, dir, ent->d_name, NULL))
            st = fail(e, LORE_TOO_LARGE, "path too long under %s", dir);
        else
            st = sync_path(path, e);
    }
    closedir(d);
    return st == LORE_OK ? sync_path(dir, e) : st;
}

/* Undoes a failed backup or restore: the directory was empty before. */
static void empty_dir(const char *dir, int created) {
    (void)sqlite_remove_tree(dir);
    if (!created) (void)mkdir(dir, 0700);
}

/* ---- databases ---- */

/* A live database of the store, read-write (for WAL), never created. */
static lore_status open_live(const char *path, sqlite3 **db, errbuf *e) {
    *db = NULL;
    if (access(path, F_OK) != 0) return fail(e, LORE_NOT_FOUND, "%s: missing", path);
    int rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        fail(e, sqlite_status(rc), "%s: cannot open: %s", path,
             *db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
        sqlite3_close(*db);
        *db = NULL;
        return sqlite_status(rc);
    }
    sqlite3_busy_timeout(*db, 10000);
    return LORE_OK;
}

/* A file nobody writes (a backup, a fresh copy): read-only and immutable,
 * so reading it creates no -wal or -shm file beside it. */
static lore_status open_frozen(const char *path, sqlite3 **db, errbuf *e) {
    *db = NULL;
    if (access(path, F_OK) != 0) return fail(e, LORE_NOT_FOUND, "%s: missing", path);
    char uri[4096 * 3 + 32];
    size_t n = 0;
    n += (size_t)snprintf(uri, sizeof uri, "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p && n + 4 < sizeof uri; p++) {
        int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || strchr("/._-~", *p);
        if (plain)
            uri[n++] = (char)*p;
        else
            n += (size_t)snprintf(uri + n, sizeof uri - n, "%%%02X", *p);
    }
    snprintf(uri + n, sizeof uri - n, "?immutable=1");
    int rc = sqlite3_open_v2(uri, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        fail(e, sqlite_status(rc), "%s: cannot open: %s", path,
             *db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
        sqlite3_close(*db);
        *db = NULL;
        return sqlite_status(rc);
    }
    return LORE_OK;
}

static lore_status run(sqlite3 *db, const char *sql) {
    return sqlite_status(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

static lore_status query_i64(sqlite3 *db, const char *sql, int64_t *out) {
    sqlite3_stmt *q = NULL;
    *out = 0;
    int rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) *out = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? LORE_OK : rc == SQLITE_DONE ? LORE_CORRUPT : sqlite_status(rc);
}

/* Copies src (open, no transaction) into a new file at dest_path, from one
 * read snapshot, step_pages pages at a time. *snapshot_ms: when the
 * snapshot was taken. */
static lore_status copy_db(sqlite3 *src, const char *src_path, const char *dest_path,
                           size_t step_pages, int64_t *snapshot_ms, errbuf *e) {
    sqlite3 *dest = NULL;
    sqlite3_backup *b = NULL;
    int64_t n;
    /* The read transaction starts at the first read and holds its snapshot
     * until COMMIT; every step below reads through it. */
    lore_status st = run(src, "BEGIN");
    if (st == LORE_OK) st = query_i64(src, "SELECT count(*) FROM sqlite_schema", &n);
    if (st != LORE_OK) {
        fail(e, st, "%s: cannot read: %s", src_path, sqlite3_errmsg(src));
        goto out;
    }
    if (snapshot_ms) *snapshot_ms = lore_now_ms();
    int rc = sqlite3_open_v2(
        dest_path, &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK && !(b = sqlite3_backup_init(dest, "main", src, "main"))) rc = SQLITE_ERROR;
    if (rc != SQLITE_OK) {
        st = fail(e, sqlite_status(rc) == LORE_INTERNAL ? LORE_IO : sqlite_status(rc),
                  "%s: cannot create: %s", dest_path, dest ? sqlite3_errmsg(dest) : "no memory");
        goto out;
    }
    int busy = 0;
    for (;;) {
        rc = sqlite3_backup_step(b, (int)step_pages);
        if (rc == SQLITE_DONE) break;
        if (rc == SQLITE_OK) continue;
        if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && ++busy < BUSY_RETRIES) {
            usleep(5000);
            continue;
        }
        break;
    }
    int frc = sqlite3_backup_finish(b);
    if (rc == SQLITE_DONE) rc = frc;
    if (rc != SQLITE_OK && rc != SQLITE_DONE) {
        st = fail(e, sqlite_status(rc), "copying %s to %s: %s", src_path, dest_path,
                  sqlite3_errmsg(dest));
        goto out;
    }
out:
    (void)run(src, "COMMIT");
    if (dest && sqlite3_close(dest) != SQLITE_OK && st == LORE_OK)
        st = fail(e, LORE_IO, "%s: cannot close", dest_path);
    return st;
}

static lore_status integrity(sqlite3 *db, const char *path, errbuf *e) {
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check(1)", -1, &q, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(q);
    lore_status st = LORE_OK;
    if (rc != SQLITE_ROW)
        st = fail(e, LORE_CORRUPT, "%s: integrity check failed: %s", path, sqlite3_errmsg(db));
    else if (strcmp((const char *)sqlite3_column_text(q, 0), "ok"))
        st = fail(e, LORE_CORRUPT, "%s: integrity check failed: %s", path,
                  (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    return st;
}

static const char schema_sql[] = "SELECT coalesce(max(version),0) FROM schema_migrations";

static lore_status control_counts(sqlite3 *db, store_backup_report *r) {
    lore_status st = query_i64(db, schema_sql, &r->control_schema);
    if (st == LORE_OK) st = query_i64(db, "SELECT count(*) FROM api_keys", &r->keys);
    if (st == LORE_OK) st = query_i64(db, "SELECT count(*) FROM jobs", &r->jobs);
    if (st == LORE_OK)
        st = query_i64(db, "SELECT count(*) FROM jobs WHERE state IN (0,1)", &r->jobs_pending);
    return st;
}

/* The tenants of a control database, by name, into r->tenants (counts
 * zero). */
static lore_status list_tenants(sqlite3 *db, store_backup_report *r) {
    sqlite3_stmt *q = NULL;
    size_t cap = 0;
    int rc =
        sqlite3_prepare_v2(db, "SELECT name, created_ms FROM tenants ORDER BY name", -1, &q, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(q, 0);
        if (!name || !store_tenant_name_valid(name)) {
            rc = SQLITE_CORRUPT;
            break;
        }
        if (r->ntenants == cap) {
            cap = cap ? cap * 2 : 8;
            store_backup_tenant *nt = realloc(r->tenants, cap * sizeof *nt);
            if (!nt) {
                rc = SQLITE_NOMEM;
                break;
            }
            r->tenants = nt;
        }
        store_backup_tenant *t = &r->tenants[r->ntenants++];
        memset(t, 0, sizeof *t);
        snprintf(t->name, sizeof t->name, "%s", name);
        t->created_ms = sqlite3_column_int64(q, 1);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? LORE_OK : sqlite_status(rc);
}

/* Schema and counts of a tenant database file nobody writes; with check,
 * its integrity first. */
static lore_status tenant_figures(const char *path, int check, store_backup_tenant *t, errbuf *e) {
    sqlite3 *db = NULL;
    lore_status st = open_frozen(path, &db, e);
    if (st != LORE_OK) return st;
    if (check) st = integrity(db, path, e);
    if (st == LORE_OK &&
        ((st = query_i64(db, schema_sql, &t->schema)) != LORE_OK ||
         (st = query_i64(db, "SELECT count(*) FROM documents", &t->documents)) != LORE_OK ||
         (st = query_i64(db, "SELECT count(*) FROM chunks", &t->chunks)) != LORE_OK))
        fail(e, st, "%s: cannot count: %s", path, sqlite3_errmsg(db));
    sqlite3_close(db);
    struct stat sb;
    if (st == LORE_OK) t->bytes = stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
    return st;
}

/* ---- blobs ---- */

/* Copies a file to a new file, fsynced, with its size and SHA-256.
 * LORE_NOT_FOUND (err untouched) if from does not exist; LORE_EXISTS if to
 * does. */
static lore_status copy_file(const char *from, const char *to, int64_t *bytes, char sha[65],
                             errbuf *e) {
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        if (errno == ENOENT) return LORE_NOT_FOUND;
        return fail(e, LORE_IO, "%s: %s", from, strerror(errno));
    }
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        int exists = errno == EEXIST;
        lore_status st = exists ? LORE_EXISTS : fail(e, LORE_IO, "%s: %s", to, strerror(errno));
        close(in);
        return st;
    }
    lore_sha256_ctx *h = lore_sha256_new();
    lore_status st = h ? LORE_OK : LORE_NOMEM;
    static __thread char buf[1 << 16];
    *bytes = 0;
    while (st == LORE_OK) {
        ssize_t r = read(in, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) st = fail(e, LORE_IO, "%s: %s", from, strerror(errno));
        if (r <= 0) break;
        lore_sha256_update(h, buf, (size_t)r);
        *bytes += r;
        for (ssize_t off = 0; st == LORE_OK && off < r;) {
            ssize_t w = write(out, buf + off, (size_t)(r - off));
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0)
                st = fail(e, LORE_IO, "%s: %s", to, w < 0 ? strerror(errno) : "short write");
            else
                off += w;
        }
    }
    if (st == LORE_OK && fsync(out) != 0) st = fail(e, LORE_IO, "%s: %s", to, strerror(errno));
    if (close(out) != 0 && st == LORE_OK) st = fail(e, LORE_IO, "%s: %s", to, strerror(errno));
    close(in);
    if (h) {
        uint8_t d[32];
        lore_sha256_final(h, d);
        lore_hex(d, 32, sha);
    }
    if (st != LORE_OK) unlink(to);
    return st;
}

static lore_status add_blob(store_backup_report *r, size_t *cap, const char *tenant,
                            const char *name, int64_t bytes, const char *sha) {
    if (r->nblobs == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        store_backup_blob *nb = realloc(r->blobs, *cap * sizeof *nb);
        if (!nb) return LORE_NOMEM;
        r->blobs = nb;
    }
    store_backup_blob *b = &r->blobs[r->nblobs];
    memset(b, 0, sizeof *b);
    if (!(b->name = strdup(name))) return LORE_NOMEM;
    snprintf(b->tenant, sizeof b->tenant, "%s", tenant);
    b->bytes = bytes;
    memcpy(b->sha256, sha, 65);
    r->nblobs++;
    return LORE_OK;
}

/* Copies one blob into root/blobs/<tenant>/<name>, recording it in r. */
static lore_status copy_blob(const char *from_root, const char *to_root, const char *tenant,
                             const char *name, store_backup_report *r, size_t *cap, errbuf *e) {
    char from[4096], dir[4096], to[4096];
    if (!store_tenant_name_valid(tenant) || !blob_name_ok(name))
        return fail(e, LORE_CORRUPT, "a job names the blob '%s/%s', which is not a blob name",
                    tenant, name);
    if (path_of(dir, sizeof dir, to_root, "blobs", tenant) ||
        path_of(from, sizeof from, from_root, "blobs", tenant) ||
        path_of(to, sizeof to, dir, name, NULL) || strlen(from) + strlen(name) + 2 > sizeof from)
        return fail(e, LORE_TOO_LARGE, "path too long under %s", to_root);
    strcat(strcat(from, "/"), name);
    if (sqlite_mkdir_p(dir) != LORE_OK)
        return fail(e, LORE_IO, "cannot create %s: %s", dir, strerror(errno));
    int64_t bytes = 0;
    char sha[65];
    lore_status st = copy_file(from, to, &bytes, sha, e);
    if (st == LORE_EXISTS) return LORE_OK; /* two jobs naming one blob: copied once */
    if (st != LORE_OK) return st;
    if ((st = add_blob(r, cap, tenant, name, bytes, sha)) != LORE_OK)
        return fail(e, st, "out of memory listing blobs");
    return LORE_OK;
}

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
static lore_status settle_job(store *s, sqlite3 *dc, const job_ref *j, store_backup_report *r) {
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
    if (st != LORE_OK || (st = run(dc, "BEGIN IMMEDIATE")) != LORE_OK) goto out;
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
    st = st == LORE_OK ? run(dc, "COMMIT") : st;
    if (st != LORE_OK)
        (void)run(dc, "ROLLBACK");
    else
        r->jobs_settled++;
out:
    sqlite3_finalize(up);
    sqlite3_finalize(live);
    return st;
}

static lore_status backup_blobs(store *s, sqlite3 *dc, const char *dest, store_backup_report *r,
                                errbuf *e) {
    job_ref *jobs = NULL;
    size_t n = 0, cap = 0;
    lore_status st = blob_jobs(dc, &jobs, &n);
    if (st != LORE_OK) fail(e, st, "reading the jobs of the copy: %s", sqlite3_errmsg(dc));
    for (size_t i = 0; st == LORE_OK && i < n; i++) {
        st = copy_blob(s->data_dir, dest, jobs[i].tenant, jobs[i].blob, r, &cap, e);
        if (st == LORE_NOT_FOUND && (st = settle_job(s, dc, &jobs[i], r)) != LORE_OK)
            fail(e, st, "recording job %lld, finished during the backup: %s", (long long)jobs[i].id,
                 sqlite3_errmsg(dc));
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
    if (!dir) return fail(e, LORE_NOMEM, "out of memory");
    store copy = {.data_dir = dir, .control = dc};
    lore_status st = store_tenant_delete(&copy, name);
    sqlite_jobs_close(&copy);
    free(dir);
    if (st != LORE_OK)
        return fail(e, st, "leaving out tenant %s, deleted during the backup: %s", name,
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

static lore_status backup_tenants(store *s, sqlite3 *dc, const char *dest, size_t step,
                                  store_backup_report *r, errbuf *e) {
    store_backup_report listed = {0};
    lore_status st = list_tenants(dc, &listed);
    if (st != LORE_OK)
        return fail(e, st, "reading the tenants of the copy: %s", sqlite3_errmsg(dc));
    for (size_t i = 0; st == LORE_OK && i < listed.ntenants; i++) {
        store_backup_tenant *t = &listed.tenants[i];
        char from[4096], dir[4096], to[4096];
        if (path_of(from, sizeof from, s->data_dir, "tenants", t->name) ||
            path_of(dir, sizeof dir, dest, "tenants", t->name) ||
            path_of(to, sizeof to, dir, "lore.db", NULL) ||
            strlen(from) + sizeof "/lore.db" > sizeof from) {
            st = fail(e, LORE_TOO_LARGE, "path too long under %s", dest);
            break;
        }
        strcat(from, "/lore.db");
        int64_t created = 0;
        sqlite3 *src = NULL;
        st = store_tenant_created(s, t->name, &created);
        if (st == LORE_OK && created == t->created_ms) st = open_live(from, &src, e);
        if (st == LORE_NOT_FOUND || (st == LORE_OK && created != t->created_ms)) {
            st = drop_tenant(dc, dest, t->name, r, e);
            continue;
        }
        if (st != LORE_OK) break;
        if (sqlite_mkdir_p(dir) != LORE_OK)
            st = fail(e, LORE_IO, "cannot create %s: %s", dir, strerror(errno));
        if (st == LORE_OK) st = copy_db(src, from, to, step, NULL, e);
        sqlite3_close(src);
        if (st == LORE_OK) st = tenant_figures(to, 0, t, e);
        if (st == LORE_OK) {
            store_backup_tenant *nt = realloc(r->tenants, (r->ntenants + 1) * sizeof *nt);
            if (!nt) st = fail(e, LORE_NOMEM, "out of memory");
            if (nt) {
                r->tenants = nt;
                r->tenants[r->ntenants++] = *t;
            }
        }
    }
    free(listed.tenants);
    return st;
}

static lore_status backup_run(store *s, const char *dest, size_t step, store_backup_report *r,
                              errbuf *e) {
    char from[4096], to[4096];
    if (path_of(from, sizeof from, s->data_dir, "control.db", NULL) ||
        path_of(to, sizeof to, dest, "control.db", NULL))
        return fail(e, LORE_TOO_LARGE, "path too long: %s", dest);
    sqlite3 *src = NULL, *dc = NULL;
    lore_status st = open_live(from, &src, e);
    if (st == LORE_OK) st = copy_db(src, from, to, step, &r->snapshot_ms, e);
    sqlite3_close(src);
    if (st != LORE_OK) return st;
    int rc = sqlite3_open_v2(to, &dc, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        st = fail(e, sqlite_status(rc), "%s: cannot open the copy", to);
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
        st = fail(e, sqlite_status(rc), "%s: releasing leases: %s", to, sqlite3_errmsg(dc));
        goto out;
    }
    r->leases_released = sqlite3_changes(dc);
    if ((st = backup_blobs(s, dc, dest, r, e)) != LORE_OK) goto out;
    if ((st = backup_tenants(s, dc, dest, step, r, e)) != LORE_OK) goto out;
    if ((st = control_counts(dc, r)) != LORE_OK)
        fail(e, st, "%s: cannot count: %s", to, sqlite3_errmsg(dc));
out:
    if (dc && sqlite3_close(dc) != SQLITE_OK && st == LORE_OK)
        st = fail(e, LORE_IO, "%s: cannot close", to);
    return st;
}

lore_status store_backup(store *s, const char *dest_dir, size_t step_pages,
                         store_backup_report *out, char *err, size_t errlen) {
    errbuf e = {err, errlen};
    memset(out, 0, sizeof *out);
    int created;
    lore_status st = prepare_dir(dest_dir, "backup directory", &created, &e);
    if (st != LORE_OK) return st;
    st = backup_run(s, dest_dir, step_pages ? step_pages : STEP_PAGES, out, &e);
    if (st != LORE_OK) {
        store_backup_report_clear(out);
        empty_dir(dest_dir, created);
    }
    return st;
}

/* ---- the restore ---- */

static lore_status compare(const store_backup_report *got, const store_backup_report *want,
                           errbuf *e) {
    static const char *const what[] = {"control schema", "API keys", "jobs", "pending jobs"};
    const int64_t g[] = {got->control_schema, got->keys, got->jobs, got->jobs_pending};
    const int64_t w[] = {want->control_schema, want->keys, want->jobs, want->jobs_pending};
    for (size_t i = 0; i < 4; i++)
        if (g[i] != w[i])
            return fail(e, LORE_CORRUPT, "the backup holds %lld %s, the manifest says %lld",
                        (long long)g[i], what[i], (long long)w[i]);
    if (got->ntenants != want->ntenants)
        return fail(e, LORE_CORRUPT, "the backup holds %zu tenants, the manifest says %zu",
                    got->ntenants, want->ntenants);
    for (size_t i = 0; i < got->ntenants; i++) {
        const store_backup_tenant *a = &got->tenants[i], *b = &want->tenants[i];
        if (strcmp(a->name, b->name))
            return fail(e, LORE_CORRUPT, "the backup holds tenant %s, the manifest says %s",
                        a->name, b->name);
        if (a->schema != b->schema || a->documents != b->documents || a->chunks != b->chunks ||
            a->created_ms != b->created_ms)
            return fail(e, LORE_CORRUPT,
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
        if (path_of(from, sizeof from, src_dir, "tenants", t->name) ||
            path_of(dir, sizeof dir, data_dir, "tenants", t->name) ||
            path_of(to, sizeof to, dir, "lore.db", NULL) ||
            strlen(from) + sizeof "/lore.db" > sizeof from)
            return fail(e, LORE_TOO_LARGE, "path too long under %s", data_dir);
        strcat(from, "/lore.db");
        sqlite3 *src = NULL;
        lore_status st = open_frozen(from, &src, e);
        if (st == LORE_NOT_FOUND)
            return fail(e, LORE_CORRUPT, "the backup lists tenant %s but has no %s", t->name, from);
        if (st == LORE_OK && sqlite_mkdir_p(dir) != LORE_OK)
            st = fail(e, LORE_IO, "cannot create %s: %s", dir, strerror(errno));
        if (st == LORE_OK) st = copy_db(src, from, to, STEP_PAGES, NULL, e);
        sqlite3_close(src);
        if (st == LORE_OK) st = tenant_figures(to, 1, t, e);
        if (st != LORE_OK) return st;
        if (t->schema > want_tenant)
            return fail(e, LORE_UNSUPPORTED,
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
        lore_status st = copy_blob(src_dir, data_dir, b->tenant, b->name, r, &cap, e);
        if (st == LORE_NOT_FOUND)
            return fail(e, LORE_CORRUPT, "the manifest lists blob %s/%s, the backup has no file",
                        b->tenant, b->name);
        if (st != LORE_OK) return st;
        if (r->nblobs == before)
            return fail(e, LORE_CORRUPT, "the manifest lists blob %s/%s twice", b->tenant, b->name);
        const store_backup_blob *got = &r->blobs[before];
        if (got->bytes != b->bytes || strcmp(got->sha256, b->sha256))
            return fail(e, LORE_CORRUPT,
                        "blob %s/%s: %lld bytes with SHA-256 %.12s..., the manifest says %lld "
                        "bytes, %.12s...",
                        b->tenant, b->name, (long long)got->bytes, got->sha256, (long long)b->bytes,
                        b->sha256);
    }
    return LORE_OK;
}

/* The last step of a restore: every file is written and checked. The
 * tenants' and blobs' names are made durable, then control.db takes its
 * name, which makes the directory a store. */
static lore_status restore_commit(const char *data_dir, const char *tmp, const char *final,
                                  errbuf *e) {
    lore_status st = sync_subdirs(data_dir, "tenants", e);
    if (st == LORE_OK) st = sync_subdirs(data_dir, "blobs", e);
    if (st == LORE_OK) st = sync_path(tmp, e);
    if (st != LORE_OK) return st;
    if (rename(tmp, final) != 0)
        return fail(e, LORE_IO, "cannot rename %s to %s: %s", tmp, final, strerror(errno));
    return sync_path(data_dir, e);
}

static lore_status restore_run(const char *src_dir, const char *data_dir,
                               const store_backup_report *want, store_backup_report *r, errbuf *e) {
    char from[4096], to[4096], final[4096];
    if (path_of(from, sizeof from, src_dir, "control.db", NULL) ||
        path_of(to, sizeof to, data_dir, RESTORING_NAME, NULL) ||
        path_of(final, sizeof final, data_dir, "control.db", NULL))
        return fail(e, LORE_TOO_LARGE, "path too long: %s", data_dir);
    int64_t want_control, want_tenant;
    store_schema_versions(&want_control, &want_tenant);
    sqlite3 *src = NULL, *db = NULL;
    lore_status st = open_frozen(from, &src, e);
    if (st == LORE_NOT_FOUND)
        return fail(e, LORE_NOT_FOUND, "%s has no control.db: not a lore backup", src_dir);
    if (st == LORE_OK) st = copy_db(src, from, to, STEP_PAGES, NULL, e);
    sqlite3_close(src);
    if (st == LORE_OK) st = open_frozen(to, &db, e);
    if (st == LORE_OK) st = integrity(db, to, e);
    if (st == LORE_OK &&
        ((st = control_counts(db, r)) != LORE_OK || (st = list_tenants(db, r)) != LORE_OK))
        fail(e, st, "%s: cannot read: %s", to, sqlite3_errmsg(db));
    sqlite3_close(db);
    if (st != LORE_OK) return st;
    if (r->control_schema > want_control)
        return fail(e, LORE_UNSUPPORTED,
                    "the backup's control database is at schema %lld, newer than this lore "
                    "(%lld); upgrade lore",
                    (long long)r->control_schema, (long long)want_control);
    char dir[4096];
    if (path_of(dir, sizeof dir, data_dir, "tenants", NULL) || sqlite_mkdir_p(dir) != LORE_OK)
        return fail(e, LORE_IO, "cannot create %s/tenants", data_dir);
    if ((st = restore_tenants(src_dir, data_dir, r, e)) != LORE_OK) return st;
    if ((st = restore_blobs(src_dir, data_dir, want, r, e)) != LORE_OK) return st;
    if ((st = compare(r, want, e)) != LORE_OK) return st;
    return restore_commit(data_dir, to, final, e);
}

lore_status store_restore(const char *src_dir, const char *data_dir,
                          const store_backup_report *expect, store_backup_report *out, char *err,
                          size_t errlen) {
    errbuf e = {err, errlen};
    memset(out, 0, sizeof *out);
    struct stat sb;
    if (stat(src_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return fail(&e, LORE_NOT_FOUND, "%s: no such backup directory", src_dir);
    int created;
    lore_status st = prepare_dir(data_dir, "data directory", &created, &e);
    char leftover[4096];
    if (st == LORE_EXISTS && !path_of(leftover, sizeof leftover, data_dir, RESTORING_NAME, NULL) &&
        access(leftover, F_OK) == 0)
        return fail(&e, LORE_EXISTS,
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
        if (n >= 0 && (size_t)n < sizeof parent) st = sync_path(parent, &e);
    }
    if (st != LORE_OK) {
        store_backup_report_clear(out);
        empty_dir(data_dir, created);
    }
    return st;
}

void store_backup_report_clear(store_backup_report *r) {
    if (!r) return;
    for (size_t i = 0; i < r->nblobs; i++)
        free(r->blobs[i].name);
    free(r->blobs);
    free(r->tenants);
    memset(r, 0, sizeof *r);
}
