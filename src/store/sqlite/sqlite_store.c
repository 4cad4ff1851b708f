/* Embedded store: the control database, tenants and migrations.
 *
 * Layout under the data directory:
 *   control.db               tenants (name, created), api_keys (sqlite_keys.c),
 *                            jobs (sqlite_jobs.c), secrets (sqlite_secrets.c),
 *                            connectors (sqlite_connectors.c), sessions
 *                            (sqlite_sessions.c)
 *   blobs/<tenant>/<name>    large job payloads (uploads), removed with their job
 *   tenants/<name>/lore.db   documents, chunks, index data of one tenant
 * A tenant is a file: deleting it removes its directory. Every database
 * records the migrations applied to it in schema_migrations(version,
 * applied_ms); at open, pending ones are applied in one transaction each, and
 * a database newer than this binary is refused rather than misread. */
#include "store/sqlite/sqlite_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/timeutil.h"

static const char *const control_migrations[] = {
    "CREATE TABLE tenants(name TEXT PRIMARY KEY, created_ms INTEGER NOT NULL)",
    /* 2: API keys (sqlite_keys.c). WITHOUT ROWID so the per-request lookup
     * by id is one B-tree descent. The cascade is a second line of defence:
     * store_tenant_delete deletes a tenant's keys itself. */
    "CREATE TABLE api_keys("
    " id TEXT PRIMARY KEY,"
    " tenant TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,"
    " name TEXT,"
    " scopes INTEGER NOT NULL,"
    " principals TEXT NOT NULL DEFAULT '',"
    " hash TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " expires_ms INTEGER NOT NULL DEFAULT 0,"
    " revoked_ms INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "CREATE INDEX api_keys_tenant ON api_keys(tenant, created_ms);",
    /* 3: the job queue (sqlite_jobs.c). The partial indexes keep the hot
     * scans (runnable jobs, expired leases, dead letters) proportional to
     * the pending jobs, however many done jobs are retained. */
    "CREATE TABLE jobs("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " tenant TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " dedup_key TEXT,"
    " groups TEXT NOT NULL DEFAULT '',"
    " payload BLOB,"
    " blob TEXT,"
    " weight INTEGER NOT NULL DEFAULT 0,"
    " state INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL,"
    " max_attempts INTEGER NOT NULL,"
    " lease_seq INTEGER NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " updated_ms INTEGER NOT NULL,"
    " visible_ms INTEGER NOT NULL,"
    " started_ms INTEGER NOT NULL DEFAULT 0,"
    " finished_ms INTEGER NOT NULL DEFAULT 0,"
    " worker TEXT, error TEXT, result TEXT, owner TEXT);"
    "CREATE UNIQUE INDEX jobs_dedup ON jobs(tenant, dedup_key) WHERE dedup_key IS NOT NULL;"
    "CREATE INDEX jobs_ready ON jobs(id) WHERE state=0;"
    "CREATE INDEX jobs_leased ON jobs(visible_ms) WHERE state=1;"
    "CREATE INDEX jobs_dead ON jobs(tenant, id) WHERE state=3;"
    "CREATE INDEX jobs_tenant ON jobs(tenant, state, id);"
    "CREATE INDEX jobs_finished ON jobs(finished_ms) WHERE state>=2;"
    "CREATE TABLE job_groups(grp TEXT NOT NULL, job INTEGER NOT NULL,"
    " PRIMARY KEY(grp, job)) WITHOUT ROWID;"
    "CREATE INDEX job_groups_job ON job_groups(job);"
    "CREATE TABLE job_pending(tenant TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;",
    /* 4: opaque job ids (docs/jobs.md, "Job ids"). Clients see pub, a random
     * "job_<24 hex>", never the server-wide rowid; listings page by seq, a
     * sequence of each tenant's own (its last value in job_pending.seq).
     * Jobs queued before this migration were known by their number: they
     * are marked legacy, and only they still answer to it. */
    "ALTER TABLE jobs ADD COLUMN pub TEXT;"
    "ALTER TABLE jobs ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN legacy INTEGER NOT NULL DEFAULT 0;"
    "UPDATE jobs SET pub = 'job_' || lower(hex(randomblob(12))), legacy = 1;"
    "UPDATE jobs SET seq = r.n FROM (SELECT id, row_number() OVER"
    " (PARTITION BY tenant ORDER BY id) AS n FROM jobs) AS r WHERE r.id = jobs.id;"
    "CREATE UNIQUE INDEX jobs_pub ON jobs(pub);"
    "CREATE UNIQUE INDEX jobs_tenant_seq ON jobs(tenant, seq);"
    "DROP INDEX jobs_tenant;"
    "CREATE INDEX jobs_tenant ON jobs(tenant, state, seq);"
    "ALTER TABLE job_pending ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
    "INSERT INTO job_pending(tenant, n, seq) SELECT tenant, 0, max(seq) FROM jobs WHERE 1"
    " GROUP BY tenant ON CONFLICT(tenant) DO UPDATE SET seq = excluded.seq;",
    /* 5: sealed secrets (sqlite_secrets.c). tenant '' holds the server's, so
     * there is no foreign key: store_tenant_delete deletes a tenant's rows.
     * sealed is AES-GCM output (crypto/seal.c), never a clear value. */
    "CREATE TABLE secrets("
    " tenant TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " key_id TEXT NOT NULL,"
    " sealed BLOB NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " updated_ms INTEGER NOT NULL,"
    " PRIMARY KEY(tenant, name)) WITHOUT ROWID;"
    "CREATE INDEX secrets_key ON secrets(key_id);",
    /* 6: connector instances (sqlite_connectors.c). Deleted with their
     * tenant by store_tenant_delete (the cascade is a second line). */
    "CREATE TABLE connectors("
    " id TEXT PRIMARY KEY,"
    " tenant TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,"
    " kind TEXT NOT NULL,"
    " source TEXT NOT NULL,"
    " acl TEXT NOT NULL DEFAULT '',"
    " created_ms INTEGER NOT NULL,"
    " secret_rotated_ms INTEGER NOT NULL DEFAULT 0,"
    " previous_secret_until_ms INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "CREATE INDEX connectors_tenant ON connectors(tenant, created_ms);",
    /* 7: browser sessions (sqlite_sessions.c): only the SHA-256 of a
     * session id is kept. In the control database rather than in memory so
     * every node behind one store knows a session, and signing out or
     * revoking a key ends it everywhere. Deleted with their key's tenant. */
    "CREATE TABLE sessions("
    " hash TEXT PRIMARY KEY,"
    " key_id TEXT NOT NULL,"
    " tenant TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " expires_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX sessions_key ON sessions(key_id);"
    "CREATE INDEX sessions_expires ON sessions(expires_ms);",
};
#define SQLITE_CONTROL_MIGRATIONS (sizeof control_migrations / sizeof control_migrations[0])

lore_status sqlite_status(int rc) {
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return LORE_OK;
    case SQLITE_NOMEM:
        return LORE_NOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return LORE_BUSY;
    case SQLITE_CONSTRAINT:
        return LORE_EXISTS;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return LORE_CORRUPT;
    case SQLITE_TOOBIG:
        return LORE_TOO_LARGE;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
    case SQLITE_READONLY:
        return LORE_IO;
    default:
        return LORE_INTERNAL;
    }
}

lore_status sqlite_exec(sqlite3 *db, const char *sql, char *err, size_t errlen) {
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        if (err) snprintf(err, errlen, "%s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return sqlite_status(rc);
    }
    return LORE_OK;
}

/* The migrations recorded in db's schema_migrations into *v (0 when the
 * table is not there yet). */
static lore_status read_version(sqlite3 *db, int64_t *v) {
    *v = 0;
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(
        db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_migrations'", -1, &q,
        NULL);
    int present = rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW;
    sqlite3_finalize(q);
    if (!present) return rc == SQLITE_DONE ? LORE_OK : sqlite_status(rc);
    q = NULL;
    rc = sqlite3_prepare_v2(db, "SELECT coalesce(max(version),0) FROM schema_migrations", -1, &q,
                            NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) *v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? LORE_OK : sqlite_status(rc);
}

lore_status sqlite_db_version(sqlite3 *db, const char *path, int64_t *v, char *err, size_t errlen) {
    lore_status st = read_version(db, v);
    if (st != LORE_OK)
        snprintf(err, errlen, "%.300s: cannot read the schema version: %.200s", path,
                 sqlite3_errmsg(db));
    return st;
}

/* Applies what is pending, one migration per BEGIN IMMEDIATE transaction
 * that reads the version again under the write lock: two processes
 * migrating the same file at once (two `lore migrate`, a migrate and a
 * tenant open) take turns, and the second finds the work done. */
static lore_status apply_pending(sqlite3 *db, const char *path, const char *const *migrations,
                                 size_t n, char *err, size_t errlen) {
    for (;;) {
        lore_status st = sqlite_exec(db, "BEGIN IMMEDIATE", err, errlen);
        if (st != LORE_OK) return st;
        int64_t v = 0;
        if ((st = sqlite_exec(db,
                              "CREATE TABLE IF NOT EXISTS schema_migrations("
                              "version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)",
                              err, errlen)) != LORE_OK ||
            (st = sqlite_db_version(db, path, &v, err, errlen)) != LORE_OK) {
            (void)sqlite_exec(db, "ROLLBACK", NULL, 0);
            return st;
        }
        if (v >= (int64_t)n) { /* done (or newer: the caller checked before) */
            (void)sqlite_exec(db, "ROLLBACK", NULL, 0);
            return LORE_OK;
        }
        char rec[128];
        snprintf(rec, sizeof rec, "INSERT INTO schema_migrations VALUES(%lld, %lld)",
                 (long long)v + 1, (long long)lore_now_ms());
        if ((st = sqlite_exec(db, migrations[v], err, errlen)) != LORE_OK ||
            (st = sqlite_exec(db, rec, err, errlen)) != LORE_OK) {
            (void)sqlite_exec(db, "ROLLBACK", NULL, 0);
            return st;
        }
        if ((st = sqlite_exec(db, "COMMIT", err, errlen)) != LORE_OK) return st;
    }
}

static lore_status migrate(sqlite3 *db, const char *path, const char *const *migrations, size_t n,
                           int mode, char *err, size_t errlen) {
    int64_t current = 0;
    lore_status st = sqlite_db_version(db, path, &current, err, errlen);
    if (st != LORE_OK) return st;
    if (current > (int64_t)n) {
        snprintf(err, errlen, "%s: schema version %lld is newer than this lore (%zu); upgrade lore",
                 path, (long long)current, n);
        return LORE_UNSUPPORTED;
    }
    if (current == (int64_t)n || mode == SQLITE_MIGRATE_NONE) return LORE_OK;
    if (mode == SQLITE_MIGRATE_CHECK) {
        snprintf(err, errlen,
                 "%.300s: %lld schema migration(s) pending (at %lld, this lore has %zu); run `lore "
                 "migrate`",
                 path, (long long)n - current, (long long)current, n);
        return LORE_UNSUPPORTED;
    }
    return apply_pending(db, path, migrations, n, err, errlen);
}

static lore_status open_db(const char *path, const char *const *migrations, size_t n, int create,
                           int mode, sqlite3 **out, char *err, size_t errlen) {
    *out = NULL;
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(
        path, &db, SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX,
        NULL);
    lore_status st;
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot open database: %s", path,
                 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        st = sqlite_status(rc);
        goto out;
    }
    sqlite3_busy_timeout(db, SQLITE_BUSY_TIMEOUT_MS);
    /* WAL lets readers run beside the one writer; NORMAL sync is durable
     * across process crashes and loses at most the last commits on power
     * loss, the usual trade for WAL. */
    st = sqlite_exec(
        db,
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        "PRAGMA cache_size=-65536; PRAGMA mmap_size=1073741824; PRAGMA temp_store=MEMORY;",
        err, errlen);
    if (st != LORE_OK) {
        char tmp[256];
        snprintf(tmp, sizeof tmp, "%s", err);
        snprintf(err, errlen, "%s: %s", path, tmp);
        goto out;
    }
    st = migrate(db, path, migrations, n, mode, err, errlen);
out:
    if (st != LORE_OK) {
        sqlite3_close(db);
        return st;
    }
    *out = db;
    return LORE_OK;
}

lore_status sqlite_open_db(const char *path, const char *const *migrations, size_t n, int mode,
                           sqlite3 **out, char *err, size_t errlen) {
    return open_db(path, migrations, n, mode != SQLITE_MIGRATE_NONE, mode, out, err, errlen);
}

static lore_status mkdir_p(const char *path) {
    char tmp[4096];
    size_t len = strlen(path);
    if (len >= sizeof tmp) return LORE_TOO_LARGE;
    memcpy(tmp, path, len + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST) return LORE_IO;
        *p = '/';
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST) return LORE_IO;
    return LORE_OK;
}

/* location: the data directory. Without STORE_OPEN_CREATE nothing is
 * created (LORE_NOT_FOUND with the reason in err). STORE_OPEN_NO_MIGRATE
 * leaves pending migrations of an existing control.db (a store this call
 * creates is made at the current version) and makes tenant opens refuse a
 * tenant database with pending ones. */
lore_status sqlite_open(const char *data_dir, unsigned flags, store **out, char *err,
                        size_t errlen) {
    *out = NULL;
    char path[4096];
    int create = (flags & STORE_OPEN_CREATE) != 0;
    sqlite_store *s = calloc(1, sizeof *s);
    lore_status st = LORE_NOMEM;
    if (!s || !(s->data_dir = strdup(data_dir))) goto fail;
    s->base.be = &store_backend_sqlite;
    s->flags = flags;
    if (!*data_dir) {
        snprintf(err, errlen, "no data directory given (sqlite:DIR)");
        st = LORE_INVALID;
        goto fail;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/control.db", data_dir) >= sizeof path) {
        snprintf(err, errlen, "%.200s...: data directory path too long", data_dir);
        st = LORE_TOO_LARGE;
        goto fail;
    }
    /* Without SQLITE_OPEN_CREATE a missing control.db fails to open; this
     * check names the reason, and tells a store being created (made at the
     * current version whatever the flags) from one being opened. */
    struct stat sb;
    int fresh = stat(path, &sb) != 0 && errno == ENOENT;
    if (fresh && !create) {
        snprintf(err, errlen, "%s",
                 stat(data_dir, &sb) != 0 && errno == ENOENT ? "the directory does not exist"
                                                             : "the directory holds no control.db");
        st = LORE_NOT_FOUND;
        goto fail;
    }
    if (create) {
        if ((st = mkdir_p(data_dir)) != LORE_OK) {
            snprintf(err, errlen, "%s: cannot create data directory: %s", data_dir,
                     strerror(errno));
            goto fail;
        }
        snprintf(path, sizeof path, "%s/tenants", data_dir);
        if ((st = mkdir_p(path)) != LORE_OK) {
            snprintf(err, errlen, "%s: cannot create directory: %s", path, strerror(errno));
            goto fail;
        }
        snprintf(path, sizeof path, "%s/control.db", data_dir);
    }
    int mode =
        fresh || !(flags & STORE_OPEN_NO_MIGRATE) ? SQLITE_MIGRATE_APPLY : SQLITE_MIGRATE_NONE;
    st = open_db(path, control_migrations, SQLITE_CONTROL_MIGRATIONS, create, mode, &s->control,
                 err, errlen);
    if (st != LORE_OK) goto fail;
    *out = &s->base;
    return LORE_OK;
fail:
    if (s) sqlite_close(&s->base);
    return st;
}

void sqlite_close(store *s_) {
    sqlite_store *s = (sqlite_store *)s_;
    if (!s) return;
    sqlite3_finalize(s->key_get); /* a live statement would keep the database open */
    sqlite3_finalize(s->connector_get);
    sqlite_jobs_close(s);
    sqlite3_close(s->control);
    free(s->data_dir);
    free(s);
}

lore_status sqlite_check(store *s_, char *err, size_t errlen) {
    sqlite_store *s = (sqlite_store *)s_;
    sqlite3_stmt *q = NULL;
    int64_t version = -1;
    int rc = sqlite3_prepare_v2(
        s->control, "SELECT coalesce(max(version),0) FROM schema_migrations", -1, &q, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW)
        version = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    int64_t want = (int64_t)SQLITE_CONTROL_MIGRATIONS;
    if (version < 0) {
        snprintf(err, errlen, "control database unreadable: %s", sqlite3_errmsg(s->control));
        return sqlite_status(rc) == LORE_OK ? LORE_IO : sqlite_status(rc);
    }
    if (version != want) {
        snprintf(err, errlen, "control database at schema %lld, this lore expects %lld%s",
                 (long long)version, (long long)want,
                 version < want ? " (run `lore migrate`)" : "");
        return LORE_UNSUPPORTED;
    }
    return LORE_OK;
}

static lore_status remove_tree(const char *path) {
    DIR *d = opendir(path);
    if (!d) return errno == ENOENT ? LORE_OK : LORE_IO;
    struct dirent *e;
    lore_status st = LORE_OK;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", path, e->d_name);
        struct stat sb;
        if (lstat(child, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            if (remove_tree(child) != LORE_OK) st = LORE_IO;
        } else if (unlink(child) != 0) {
            st = LORE_IO;
        }
    }
    closedir(d);
    if (rmdir(path) != 0) st = LORE_IO;
    return st;
}

/* The tenants' names, by name; *out owned (free()). */
static lore_status tenant_names(sqlite_store *s, char (**out)[STORE_NAME_MAX + 1], size_t *n) {
    *out = NULL;
    *n = 0;
    sqlite3_stmt *q = NULL;
    size_t cap = 0;
    char(*list)[STORE_NAME_MAX + 1] = NULL;
    int rc = sqlite3_prepare_v2(s->control, "SELECT name FROM tenants ORDER BY name", -1, &q, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            void *nl = realloc(list, cap * sizeof *list);
            if (!nl) {
                rc = SQLITE_NOMEM;
                break;
            }
            list = nl;
        }
        snprintf(list[(*n)++], sizeof *list, "%s", (const char *)sqlite3_column_text(q, 0));
        rc = SQLITE_OK;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) {
        free(list);
        *n = 0;
        return sqlite_status(rc);
    }
    *out = list;
    return LORE_OK;
}

lore_status sqlite_schema_status(store *s_, store_schema_status **out, size_t *n) {
    sqlite_store *s = (sqlite_store *)s_;
    *out = NULL;
    *n = 0;
    char(*names)[STORE_NAME_MAX + 1] = NULL;
    size_t nt = 0;
    char err[1024];
    lore_status st = tenant_names(s, &names, &nt);
    if (st != LORE_OK) return st;
    store_schema_status *list = calloc(nt + 1, sizeof *list);
    if (!list) {
        free(names);
        return LORE_NOMEM;
    }
    list[0].known = (int64_t)SQLITE_CONTROL_MIGRATIONS;
    st = sqlite_db_version(s->control, "control.db", &list[0].applied, err, sizeof err);
    for (size_t i = 0; st == LORE_OK && i < nt; i++) {
        store_schema_status *e = &list[i + 1];
        snprintf(e->tenant, sizeof e->tenant, "%s", names[i]);
        e->known = (int64_t)sqlite_tenant_migration_count;
        char path[4096];
        sqlite_tenant_path(s, names[i], "lore.db", path, sizeof path);
        sqlite3 *db = NULL;
        /* A tenant database that cannot be opened (missing, or newer than
         * this lore) shows as nothing applied; lore migrate says why. */
        if (sqlite_open_db(path, sqlite_tenant_migrations, sqlite_tenant_migration_count,
                           SQLITE_MIGRATE_NONE, &db, err, sizeof err) == LORE_OK)
            st = sqlite_db_version(db, path, &e->applied, err, sizeof err);
        sqlite3_close(db);
    }
    free(names);
    if (st != LORE_OK) {
        free(list);
        return st;
    }
    *out = list;
    *n = nt + 1;
    return LORE_OK;
}

lore_status sqlite_migrate(store *s_, char *err, size_t errlen) {
    sqlite_store *s = (sqlite_store *)s_;
    char path[4096];
    snprintf(path, sizeof path, "%s/control.db", s->data_dir);
    lore_status st = migrate(s->control, path, control_migrations, SQLITE_CONTROL_MIGRATIONS,
                             SQLITE_MIGRATE_APPLY, err, errlen);
    char(*names)[STORE_NAME_MAX + 1] = NULL;
    size_t nt = 0;
    if (st == LORE_OK && (st = tenant_names(s, &names, &nt)) != LORE_OK)
        snprintf(err, errlen, "cannot list the tenants: %s", sqlite3_errmsg(s->control));
    for (size_t i = 0; st == LORE_OK && i < nt; i++) {
        sqlite3 *db = NULL;
        sqlite_tenant_path(s, names[i], "lore.db", path, sizeof path);
        st = sqlite_open_db(path, sqlite_tenant_migrations, sqlite_tenant_migration_count,
                            SQLITE_MIGRATE_APPLY, &db, err, errlen);
        sqlite3_close(db);
    }
    free(names);
    return st;
}

/* For the backup (sqlite_backup.c). */
lore_status sqlite_mkdir_p(const char *path) {
    return mkdir_p(path);
}

lore_status sqlite_remove_tree(const char *path) {
    return remove_tree(path);
}

void store_schema_versions(int64_t *control, int64_t *tenant) {
    *control = (int64_t)SQLITE_CONTROL_MIGRATIONS;
    *tenant = (int64_t)sqlite_tenant_migration_count;
}
