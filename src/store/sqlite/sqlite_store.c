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

static lore_status exec(sqlite3 *db, const char *sql, char *err, size_t errlen) {
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        if (err) snprintf(err, errlen, "%s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return sqlite_status(rc);
    }
    return LORE_OK;
}

static lore_status migrate(sqlite3 *db, const char *path, const char *const *migrations, size_t n,
                           char *err, size_t errlen) {
    lore_status st = exec(db,
                          "CREATE TABLE IF NOT EXISTS schema_migrations("
                          "version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)",
                          err, errlen);
    if (st != LORE_OK) return st;
    sqlite3_stmt *q = NULL;
    int64_t current = 0;
    if (sqlite3_prepare_v2(db, "SELECT coalesce(max(version),0) FROM schema_migrations", -1, &q,
                           NULL) != SQLITE_OK)
        goto fail;
    if (sqlite3_step(q) == SQLITE_ROW) current = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    if (current > (int64_t)n) {
        snprintf(err, errlen, "%s: schema version %lld is newer than this lore (%zu); upgrade lore",
                 path, (long long)current, n);
        return LORE_UNSUPPORTED;
    }
    for (size_t v = (size_t)current; v < n; v++) {
        char rec[128];
        snprintf(rec, sizeof rec, "INSERT INTO schema_migrations VALUES(%zu, %lld)", v + 1,
                 (long long)lore_now_ms());
        if ((st = exec(db, "BEGIN IMMEDIATE", err, errlen)) != LORE_OK) return st;
        if ((st = exec(db, migrations[v], err, errlen)) != LORE_OK ||
            (st = exec(db, rec, err, errlen)) != LORE_OK) {
            (void)exec(db, "ROLLBACK", NULL, 0);
            return st;
        }
        if ((st = exec(db, "COMMIT", err, errlen)) != LORE_OK) return st;
    }
    return LORE_OK;
fail:
    snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
    return LORE_CORRUPT;
}

/* sqlite_open_db; create: make the file when it is missing. */
static lore_status open_db(const char *path, const char *const *migrations, size_t n, int create,
                           sqlite3 **out, char *err, size_t errlen) {
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
    sqlite3_busy_timeout(db, 10000);
    /* WAL lets readers run beside the one writer; NORMAL sync is durable
     * across process crashes and loses at most the last commits on power
     * loss, the usual trade for WAL. */
    st = exec(db,
              "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
              "PRAGMA cache_size=-65536; PRAGMA mmap_size=1073741824; PRAGMA temp_store=MEMORY;",
              err, errlen);
    if (st != LORE_OK) {
        char tmp[256];
        snprintf(tmp, sizeof tmp, "%s", err);
        snprintf(err, errlen, "%s: %s", path, tmp);
        goto out;
    }
    st = migrate(db, path, migrations, n, err, errlen);
out:
    if (st != LORE_OK) {
        sqlite3_close(db);
        return st;
    }
    *out = db;
    return LORE_OK;
}

lore_status sqlite_open_db(const char *path, const char *const *migrations, size_t n, sqlite3 **out,
                           char *err, size_t errlen) {
    return open_db(path, migrations, n, 1, out, err, errlen);
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

/* store_open and store_open_existing (create = 0). */
static lore_status open_store(const char *data_dir, int create, store **out, char *err,
                              size_t errlen) {
    *out = NULL;
    char path[4096];
    store *s = calloc(1, sizeof *s);
    lore_status st = LORE_NOMEM;
    if (!s || !(s->data_dir = strdup(data_dir))) goto fail;
    if ((size_t)snprintf(path, sizeof path, "%s/control.db", data_dir) >= sizeof path) {
        snprintf(err, errlen, "%.200s...: data directory path too long", data_dir);
        st = LORE_TOO_LARGE;
        goto fail;
    }
    if (!create) {
        /* Nothing may be created: without SQLITE_OPEN_CREATE a missing
         * control.db fails to open; this check only names the reason. */
        struct stat sb;
        if (stat(path, &sb) != 0 && errno == ENOENT) {
            snprintf(err, errlen, "%s",
                     stat(data_dir, &sb) != 0 && errno == ENOENT
                         ? "the directory does not exist"
                         : "the directory holds no control.db");
            st = LORE_NOT_FOUND;
            goto fail;
        }
    } else {
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
    st = open_db(path, control_migrations, sizeof control_migrations / sizeof control_migrations[0],
                 create, &s->control, err, errlen);
    if (st != LORE_OK) goto fail;
    *out = s;
    return LORE_OK;
fail:
    store_close(s);
    return st;
}

lore_status store_open(const char *data_dir, store **out, char *err, size_t errlen) {
    return open_store(data_dir, 1, out, err, errlen);
}

lore_status store_open_existing(const char *data_dir, store **out, char *err, size_t errlen) {
    return open_store(data_dir, 0, out, err, errlen);
}

void store_close(store *s) {
    if (!s) return;
    sqlite3_finalize(s->key_get); /* a live statement would keep the database open */
    sqlite3_finalize(s->connector_get);
    sqlite_jobs_close(s);
    sqlite3_close(s->control);
    free(s->data_dir);
    free(s);
}

lore_status store_check(store *s, char *err, size_t errlen) {
    sqlite3_stmt *q = NULL;
    int64_t version = -1;
    int rc = sqlite3_prepare_v2(
        s->control, "SELECT coalesce(max(version),0) FROM schema_migrations", -1, &q, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW)
        version = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    int64_t want = (int64_t)(sizeof control_migrations / sizeof control_migrations[0]);
    if (version < 0) {
        snprintf(err, errlen, "control database unreadable: %s", sqlite3_errmsg(s->control));
        return sqlite_status(rc) == LORE_OK ? LORE_IO : sqlite_status(rc);
    }
    if (version != want) {
        snprintf(err, errlen, "control database at schema %lld, this lore expects %lld",
                 (long long)version, (long long)want);
        return LORE_UNSUPPORTED;
    }
    return LORE_OK;
}

int store_tenant_name_valid(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > STORE_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && (c == '-' || c == '_'));
        if (!ok) return 0;
    }
    return 1;
}

static void tenant_path(const store *s, const char *name, const char *file, char *out,
                        size_t outlen) {
    if (file)
        snprintf(out, outlen, "%s/tenants/%s/%s", s->data_dir, name, file);
    else
        snprintf(out, outlen, "%s/tenants/%s", s->data_dir, name);
}

static int tenant_exists(store *s, const char *name) {
    sqlite3_stmt *q = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(s->control, "SELECT 1 FROM tenants WHERE name=?", -1, &q, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
        found = sqlite3_step(q) == SQLITE_ROW;
    }
    sqlite3_finalize(q);
    return found;
}

lore_status store_tenant_create(store *s, const char *name) {
    if (!store_tenant_name_valid(name)) return LORE_INVALID;
    if (tenant_exists(s, name)) return LORE_EXISTS;
    char path[4096];
    tenant_path(s, name, NULL, path, sizeof path);
    lore_status st = mkdir_p(path);
    if (st != LORE_OK) return st;
    /* Create the tenant database first, so a tenant row never points at a
     * database that could not be made. */
    tenant_path(s, name, "lore.db", path, sizeof path);
    sqlite3 *db = NULL;
    char err[256];
    st = sqlite_open_db(path, sqlite_tenant_migrations, sqlite_tenant_migration_count, &db, err,
                        sizeof err);
    sqlite3_close(db);
    if (st != LORE_OK) return st;
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(s->control, "INSERT INTO tenants VALUES(?, ?)", -1, &q, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, lore_now_ms());
        rc = sqlite3_step(q);
    }
    sqlite3_finalize(q);
    return sqlite_status(rc);
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

/* Runs one statement with the tenant name bound to ?1. */
static lore_status run_named(sqlite3 *db, const char *sql, const char *name) {
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
        rc = sqlite3_step(q);
    }
    sqlite3_finalize(q);
    return sqlite_status(rc);
}

lore_status store_tenant_delete(store *s, const char *name) {
    if (!store_tenant_name_valid(name)) return LORE_INVALID;
    if (!tenant_exists(s, name)) return LORE_NOT_FOUND;
    /* The keys go in the same transaction as the row: a tenant created
     * later under this name must never inherit a key of this one. They are
     * deleted by name rather than left to the foreign-key cascade, which only
     * runs on connections that turned foreign keys on. */
    lore_status st = exec(s->control, "BEGIN IMMEDIATE", NULL, 0);
    if (st != LORE_OK) return st;
    if ((st = run_named(s->control, "DELETE FROM api_keys WHERE tenant=?", name)) != LORE_OK ||
        (st = run_named(s->control, "DELETE FROM secrets WHERE tenant=?", name)) != LORE_OK ||
        (st = run_named(s->control, "DELETE FROM connectors WHERE tenant=?", name)) != LORE_OK ||
        (st = run_named(s->control, "DELETE FROM sessions WHERE tenant=?", name)) != LORE_OK ||
        (st = sqlite_jobs_delete_tenant(s, name)) != LORE_OK ||
        (st = run_named(s->control, "DELETE FROM tenants WHERE name=?", name)) != LORE_OK ||
        (st = exec(s->control, "COMMIT", NULL, 0)) != LORE_OK) {
        (void)exec(s->control, "ROLLBACK", NULL, 0); /* nothing deleted */
        return st;
    }
    /* The row is gone first: a crash between the two steps leaves an orphan
     * directory (harmless, removed by the next create of that name) rather
     * than a tenant whose data is half deleted. */
    char path[4096];
    snprintf(path, sizeof path, "%s/blobs/%s", s->data_dir, name);
    lore_status blobs = remove_tree(path);
    tenant_path(s, name, NULL, path, sizeof path);
    st = remove_tree(path);
    return st != LORE_OK ? st : blobs;
}

lore_status store_tenant_list(store *s, store_tenant_info **out, size_t *n) {
    *out = NULL;
    *n = 0;
    sqlite3_stmt *q = NULL;
    size_t cap = 0;
    store_tenant_info *list = NULL;
    lore_status st = LORE_OK;
    int rc = sqlite3_prepare_v2(s->control, "SELECT name, created_ms FROM tenants ORDER BY name",
                                -1, &q, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            store_tenant_info *nl = realloc(list, cap * sizeof *nl);
            if (!nl) {
                st = LORE_NOMEM;
                goto out;
            }
            list = nl;
        }
        store_tenant_info *ti = &list[(*n)++];
        memset(ti, 0, sizeof *ti);
        snprintf(ti->name, sizeof ti->name, "%s", (const char *)sqlite3_column_text(q, 0));
        ti->created_ms = sqlite3_column_int64(q, 1);
        store_tenant *t = NULL;
        if (store_tenant_open(s, ti->name, &t) == LORE_OK) {
            if (store_counts(t, &ti->documents, &ti->chunks) != LORE_OK)
                ti->documents = ti->chunks = -1;
            store_tenant_close(t);
        }
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE) st = sqlite_status(rc);
out:
    sqlite3_finalize(q);
    if (st != LORE_OK) {
        free(list);
        *n = 0;
        return st;
    }
    *out = list;
    return LORE_OK;
}

lore_status store_tenant_open(store *s, const char *name, store_tenant **out) {
    *out = NULL;
    if (!store_tenant_name_valid(name)) return LORE_INVALID;
    if (!tenant_exists(s, name)) return LORE_NOT_FOUND;
    store_tenant *t = calloc(1, sizeof *t);
    if (!t) return LORE_NOMEM;
    t->owner = s;
    snprintf(t->name, sizeof t->name, "%s", name);
    char path[4096], err[512];
    tenant_path(s, name, "lore.db", path, sizeof path);
    lore_status st = LORE_NOMEM;
    if (!(t->path = strdup(path))) goto fail;
    st = sqlite_open_db(path, sqlite_tenant_migrations, sqlite_tenant_migration_count, &t->db, err,
                        sizeof err);
    if (st != LORE_OK) goto fail;
    if ((st = sqlite_tenant_prepare(t)) != LORE_OK) goto fail;
    *out = t;
    return LORE_OK;
fail:
    store_tenant_close(t);
    return st;
}

lore_status store_tenant_created(store *s, const char *name, int64_t *created_ms) {
    *created_ms = 0;
    sqlite3_stmt *q = NULL;
    int rc =
        sqlite3_prepare_v2(s->control, "SELECT created_ms FROM tenants WHERE name=?", -1, &q, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
        rc = sqlite3_step(q);
        if (rc == SQLITE_ROW) *created_ms = sqlite3_column_int64(q, 0);
    }
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? LORE_OK : rc == SQLITE_DONE ? LORE_NOT_FOUND : sqlite_status(rc);
}

void store_tenant_close(store_tenant *t) {
    if (!t) return;
    if (t->in_tx) store_rollback(t);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(t->st[i]);
    sqlite3_close(t->db);
    free(t->path);
    free(t);
}

const char *store_tenant_name(const store_tenant *t) {
    return t->name;
}

const char *store_tenant_errmsg(store_tenant *t) {
    return t && t->db ? sqlite3_errmsg(t->db) : "no database";
}

static lore_status step_reset(sqlite3_stmt *q) {
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    return sqlite_status(rc);
}

/* Statements that lend strings to the caller (store_chunk_owner_get) stay
 * un-reset after their call, and an un-reset SELECT keeps its read snapshot
 * open past COMMIT. A connection holding a stale snapshot cannot start a
 * write (SQLite answers BUSY at once, without waiting), so transactions
 * begin and read snapshots end with every statement reset. */
static void reset_all(store_tenant *t) {
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_reset(t->st[i]);
}

lore_status store_begin(store_tenant *t) {
    if (t->in_tx) return LORE_INVALID;
    reset_all(t);
    lore_status st = step_reset(t->st[ST_BEGIN]);
    t->next_chunk = 0;
    if (st == LORE_OK) t->in_tx = 1;
    return st;
}

lore_status store_commit(store_tenant *t) {
    if (t->in_tx != 1) return LORE_INVALID;
    lore_status st = step_reset(t->st[ST_COMMIT]);
    if (st == LORE_OK) t->in_tx = 0;
    return st;
}

void store_rollback(store_tenant *t) {
    if (!t->in_tx) return;
    (void)step_reset(t->st[ST_ROLLBACK]);
    t->in_tx = 0;
}

lore_status store_begin_read(store_tenant *t) {
    if (t->in_tx) return LORE_INVALID;
    lore_status st = step_reset(t->st[ST_BEGIN_READ]);
    if (st == LORE_OK) t->in_tx = 2;
    return st;
}

void store_end_read(store_tenant *t) {
    if (t->in_tx != 2) return;
    reset_all(t);
    (void)step_reset(t->st[ST_COMMIT]);
    t->in_tx = 0;
}

lore_status store_disk_bytes(store_tenant *t, int64_t *bytes) {
    static const char *const files[] = {"lore.db", "lore.db-wal"};
    *bytes = 0;
    for (size_t i = 0; i < 2; i++) {
        char path[4096];
        tenant_path(t->owner, t->name, files[i], path, sizeof path);
        struct stat sb;
        if (stat(path, &sb) == 0) *bytes += sb.st_size;
    }
    return LORE_OK;
}

/* For the backup (sqlite_backup.c). */
lore_status sqlite_mkdir_p(const char *path) {
    return mkdir_p(path);
}

lore_status sqlite_remove_tree(const char *path) {
    return remove_tree(path);
}

void store_schema_versions(int64_t *control, int64_t *tenant) {
    *control = (int64_t)(sizeof control_migrations / sizeof control_migrations[0]);
    *tenant = (int64_t)sqlite_tenant_migration_count;
}
