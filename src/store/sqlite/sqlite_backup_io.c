/* Files, databases and blobs for the backups and restores of the embedded store (store.h, "backup
 * and restore"; docs/storage.md).
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
#include "util/dirutil.h"
#include "util/timeutil.h"

lore_status bk_fail(errbuf *e, lore_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->s, e->n, fmt, ap);
    va_end(ap);
    return st;
}

int bk_path_of(char *out, size_t outlen, const char *a, const char *b, const char *c) {
    int n = c ? snprintf(out, outlen, "%s/%s/%s", a, b, c) : snprintf(out, outlen, "%s/%s", a, b);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int bk_blob_name_ok(const char *name) {
    size_t n = strlen(name);
    return n && n <= BLOB_NAME_MAX && !strchr(name, '/') && name[0] != '.';
}

/* dir must be absent (it is created) or an empty directory. */
lore_status bk_prepare_dir(const char *dir, const char *what, int *created, errbuf *e) {
    *created = 0;
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        if (errno != ENOENT) return bk_fail(e, LORE_IO, "%s %s: %s", what, dir, strerror(errno));
        if (sqlite_mkdir_p(dir) != LORE_OK)
            return bk_fail(e, LORE_IO, "cannot create %s %s: %s", what, dir, strerror(errno));
        *created = 1;
        return LORE_OK;
    }
    if (!S_ISDIR(sb.st_mode))
        return bk_fail(e, LORE_EXISTS, "%s %s exists and is not a directory", what, dir);
    int empty = lore_dir_empty(dir);
    if (empty < 0) return bk_fail(e, LORE_IO, "%s %s: %s", what, dir, strerror(errno));
    if (!empty)
        return bk_fail(e, LORE_EXISTS, "%s %s is not empty; give a new or empty directory", what,
                       dir);
    return LORE_OK;
}

/* fsyncs a file or directory. */
lore_status bk_sync_path(const char *path, errbuf *e) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return bk_fail(e, LORE_IO, "cannot sync %s: %s", path, strerror(errno));
    int rc = fsync(fd), err = errno;
    close(fd);
    return rc == 0 ? LORE_OK : bk_fail(e, LORE_IO, "cannot sync %s: %s", path, strerror(err));
}

/* fsyncs each directory in root/sub (the tenants' or the blobs'), then
 * root/sub itself, so the names of the files copied into them are on disk.
 * An absent root/sub is nothing to sync. */
lore_status bk_sync_subdirs(const char *root, const char *sub, errbuf *e) {
    char dir[4096], path[4096];
    if (bk_path_of(dir, sizeof dir, root, sub, NULL))
        return bk_fail(e, LORE_TOO_LARGE, "path too long under %s", root);
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? LORE_OK : bk_fail(e, LORE_IO, "%s: %s", dir, strerror(errno));
    lore_status st = LORE_OK;
    struct dirent *ent;
    while (st == LORE_OK && (ent = readdir(d))) {
        if (ent->d_name[0] == '.') continue;
        if (bk_path_of(path, sizeof path, dir, ent->d_name, NULL))
            st = bk_fail(e, LORE_TOO_LARGE, "path too long under %s", dir);
        else
            st = bk_sync_path(path, e);
    }
    closedir(d);
    return st == LORE_OK ? bk_sync_path(dir, e) : st;
}

/* Undoes a failed backup or restore: the directory was empty before. */
void bk_empty_dir(const char *dir, int created) {
    (void)sqlite_remove_tree(dir);
    if (!created) (void)mkdir(dir, 0700);
}

/* ---- databases ---- */

/* A live database of the store, read-write (for WAL), never created. */
lore_status bk_open_live(const char *path, sqlite3 **db, errbuf *e) {
    *db = NULL;
    if (access(path, F_OK) != 0) return bk_fail(e, LORE_NOT_FOUND, "%s: missing", path);
    int rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        bk_fail(e, sqlite_status(rc), "%s: cannot open: %s", path,
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
lore_status bk_open_frozen(const char *path, sqlite3 **db, errbuf *e) {
    *db = NULL;
    if (access(path, F_OK) != 0) return bk_fail(e, LORE_NOT_FOUND, "%s: missing", path);
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
        bk_fail(e, sqlite_status(rc), "%s: cannot open: %s", path,
                *db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
        sqlite3_close(*db);
        *db = NULL;
        return sqlite_status(rc);
    }
    return LORE_OK;
}

lore_status bk_run(sqlite3 *db, const char *sql) {
    return sqlite_status(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

lore_status bk_query_i64(sqlite3 *db, const char *sql, int64_t *out) {
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
lore_status bk_copy_db(sqlite3 *src, const char *src_path, const char *dest_path, size_t step_pages,
                       int64_t *snapshot_ms, errbuf *e) {
    sqlite3 *dest = NULL;
    sqlite3_backup *b = NULL;
    int64_t n;
    /* The read transaction starts at the first read and holds its snapshot
     * until COMMIT; every step below reads through it. */
    lore_status st = bk_run(src, "BEGIN");
    if (st == LORE_OK) st = bk_query_i64(src, "SELECT count(*) FROM sqlite_schema", &n);
    if (st != LORE_OK) {
        bk_fail(e, st, "%s: cannot read: %s", src_path, sqlite3_errmsg(src));
        goto out;
    }
    if (snapshot_ms) *snapshot_ms = lore_now_ms();
    int rc = sqlite3_open_v2(
        dest_path, &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK && !(b = sqlite3_backup_init(dest, "main", src, "main"))) rc = SQLITE_ERROR;
    if (rc != SQLITE_OK) {
        st = bk_fail(e, sqlite_status(rc) == LORE_INTERNAL ? LORE_IO : sqlite_status(rc),
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
        st = bk_fail(e, sqlite_status(rc), "copying %s to %s: %s", src_path, dest_path,
                     sqlite3_errmsg(dest));
        goto out;
    }
out:
    (void)bk_run(src, "COMMIT");
    if (dest && sqlite3_close(dest) != SQLITE_OK && st == LORE_OK)
        st = bk_fail(e, LORE_IO, "%s: cannot close", dest_path);
    return st;
}

lore_status bk_integrity(sqlite3 *db, const char *path, errbuf *e) {
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check(1)", -1, &q, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(q);
    lore_status st = LORE_OK;
    if (rc != SQLITE_ROW)
        st = bk_fail(e, LORE_CORRUPT, "%s: integrity check failed: %s", path, sqlite3_errmsg(db));
    else if (strcmp((const char *)sqlite3_column_text(q, 0), "ok"))
        st = bk_fail(e, LORE_CORRUPT, "%s: integrity check failed: %s", path,
                     (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    return st;
}

static const char schema_sql[] = "SELECT coalesce(max(version),0) FROM schema_migrations";

lore_status bk_control_counts(sqlite3 *db, store_backup_report *r) {
    lore_status st = bk_query_i64(db, schema_sql, &r->control_schema);
    if (st == LORE_OK) st = bk_query_i64(db, "SELECT count(*) FROM api_keys", &r->keys);
    if (st == LORE_OK) st = bk_query_i64(db, "SELECT count(*) FROM jobs", &r->jobs);
    if (st == LORE_OK)
        st = bk_query_i64(db, "SELECT count(*) FROM jobs WHERE state IN (0,1)", &r->jobs_pending);
    return st;
}

/* The tenants of a control database, by name, into r->tenants (counts
 * zero). */
lore_status bk_list_tenants(sqlite3 *db, store_backup_report *r) {
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
lore_status bk_tenant_figures(const char *path, int check, store_backup_tenant *t, errbuf *e) {
    sqlite3 *db = NULL;
    lore_status st = bk_open_frozen(path, &db, e);
    if (st != LORE_OK) return st;
    if (check) st = bk_integrity(db, path, e);
    if (st == LORE_OK &&
        ((st = bk_query_i64(db, schema_sql, &t->schema)) != LORE_OK ||
         (st = bk_query_i64(db, "SELECT count(*) FROM documents", &t->documents)) != LORE_OK ||
         (st = bk_query_i64(db, "SELECT count(*) FROM chunks", &t->chunks)) != LORE_OK))
        bk_fail(e, st, "%s: cannot count: %s", path, sqlite3_errmsg(db));
    sqlite3_close(db);
    struct stat sb;
    if (st == LORE_OK) t->bytes = stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
    return st;
}

/* ---- blobs ---- */

/* Copies a file to a new file, fsynced, with its size and SHA-256.
 * LORE_NOT_FOUND (err untouched) if from does not exist; LORE_EXISTS if to
 * does. */
lore_status bk_copy_file(const char *from, const char *to, int64_t *bytes, char sha[65],
                         errbuf *e) {
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        if (errno == ENOENT) return LORE_NOT_FOUND;
        return bk_fail(e, LORE_IO, "%s: %s", from, strerror(errno));
    }
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        int exists = errno == EEXIST;
        lore_status st = exists ? LORE_EXISTS : bk_fail(e, LORE_IO, "%s: %s", to, strerror(errno));
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
        if (r < 0) st = bk_fail(e, LORE_IO, "%s: %s", from, strerror(errno));
        if (r <= 0) break;
        lore_sha256_update(h, buf, (size_t)r);
        *bytes += r;
        for (ssize_t off = 0; st == LORE_OK && off < r;) {
            ssize_t w = write(out, buf + off, (size_t)(r - off));
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0)
                st = bk_fail(e, LORE_IO, "%s: %s", to, w < 0 ? strerror(errno) : "short write");
            else
                off += w;
        }
    }
    if (st == LORE_OK && fsync(out) != 0) st = bk_fail(e, LORE_IO, "%s: %s", to, strerror(errno));
    if (close(out) != 0 && st == LORE_OK) st = bk_fail(e, LORE_IO, "%s: %s", to, strerror(errno));
    close(in);
    if (h) {
        uint8_t d[32];
        lore_sha256_final(h, d);
        lore_hex(d, 32, sha);
    }
    if (st != LORE_OK) unlink(to);
    return st;
}

lore_status bk_add_blob(store_backup_report *r, size_t *cap, const char *tenant, const char *name,
                        int64_t bytes, const char *sha) {
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
lore_status bk_copy_blob(const char *from_root, const char *to_root, const char *tenant,
                         const char *name, store_backup_report *r, size_t *cap, errbuf *e) {
    char from[4096], dir[4096], to[4096];
    if (!store_tenant_name_valid(tenant) || !bk_blob_name_ok(name))
        return bk_fail(e, LORE_CORRUPT, "a job names the blob '%s/%s', which is not a blob name",
                       tenant, name);
    if (bk_path_of(dir, sizeof dir, to_root, "blobs", tenant) ||
        bk_path_of(from, sizeof from, from_root, "blobs", tenant) ||
        bk_path_of(to, sizeof to, dir, name, NULL) || strlen(from) + strlen(name) + 2 > sizeof from)
        return bk_fail(e, LORE_TOO_LARGE, "path too long under %s", to_root);
    strcat(strcat(from, "/"), name);
    if (sqlite_mkdir_p(dir) != LORE_OK)
        return bk_fail(e, LORE_IO, "cannot create %s: %s", dir, strerror(errno));
    int64_t bytes = 0;
    char sha[65];
    lore_status st = bk_copy_file(from, to, &bytes, sha, e);
    if (st == LORE_EXISTS) return LORE_OK; /* two jobs naming one blob: copied once */
    if (st != LORE_OK) return st;
    if ((st = bk_add_blob(r, cap, tenant, name, bytes, sha)) != LORE_OK)
        return bk_fail(e, st, "out of memory listing blobs");
    return LORE_OK;
}
