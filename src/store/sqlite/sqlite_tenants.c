/* Embedded store: tenants (one database file each, under
 * DATA_DIR/tenants/<name>/lore.db) and their transactions. See
 * sqlite_store.c for the layout. */
#include "store/sqlite/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/timeutil.h"

void sqlite_tenant_path(const sqlite_store *s, const char *name, const char *file, char *out,
                        size_t outlen) {
    if (file)
        snprintf(out, outlen, "%s/tenants/%s/%s", s->data_dir, name, file);
    else
        snprintf(out, outlen, "%s/tenants/%s", s->data_dir, name);
}

int sqlite_tenant_migrate_mode(const sqlite_store *s) {
    return s->flags & STORE_OPEN_NO_MIGRATE ? SQLITE_MIGRATE_CHECK : SQLITE_MIGRATE_APPLY;
}

static int tenant_exists(sqlite_store *s, const char *name) {
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

lore_status sqlite_tenant_create(store *s_, const char *name) {
    sqlite_store *s = (sqlite_store *)s_;
    if (!store_tenant_name_valid(name)) return LORE_INVALID;
    if (tenant_exists(s, name)) return LORE_EXISTS;
    char path[4096];
    sqlite_tenant_path(s, name, NULL, path, sizeof path);
    lore_status st = sqlite_mkdir_p(path);
    if (st != LORE_OK) return st;
    /* Create the tenant database first, so a tenant row never points at a
     * database that could not be made. */
    sqlite_tenant_path(s, name, "lore.db", path, sizeof path);
    sqlite3 *db = NULL;
    char err[256];
    st = sqlite_open_db(path, sqlite_tenant_migrations, sqlite_tenant_migration_count,
                        SQLITE_MIGRATE_APPLY, &db, err, sizeof err);
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

lore_status sqlite_tenant_delete(store *s_, const char *name) {
    sqlite_store *s = (sqlite_store *)s_;
    if (!store_tenant_name_valid(name)) return LORE_INVALID;
    if (!tenant_exists(s, name)) return LORE_NOT_FOUND;
    /* The keys go in the same transaction as the row: a tenant created
     * later under this name must never inherit a key of this one. They are
     * deleted by name rather than left to the foreign-key cascade, which only
     * runs on connections that turned foreign keys on. */
    lore_status st = sqlite_exec(s->control, "BEGIN IMMEDIATE", NULL, 0);
    if (st != LORE_OK) return st;
    if ((st = run_named(s->control, "DELETE FROM api_keys WHERE tenant=?", name)) != LORE_OK ||
        (st = run_named(s->control, "DELETE FROM secrets WHERE tenant=?", name)) != LORE_OK ||
        (st = run_named(s->control, "DELETE FROM connectors WHERE tenant=?", name)) != LORE_OK ||
        (st = run_named(s->control, "DELETE FROM sessions WHERE tenant=?", name)) != LORE_OK ||
        (st = sqlite_jobs_delete_tenant(s, name)) != LORE_OK ||
        (st = run_named(s->control, "DELETE FROM tenants WHERE name=?", name)) != LORE_OK ||
        (st = sqlite_exec(s->control, "COMMIT", NULL, 0)) != LORE_OK) {
        (void)sqlite_exec(s->control, "ROLLBACK", NULL, 0); /* nothing deleted */
        return st;
    }
    /* The row is gone first: a crash between the two steps leaves an orphan
     * directory (harmless, removed by the next create of that name) rather
     * than a tenant whose data is half deleted. */
    char path[4096];
    snprintf(path, sizeof path, "%s/blobs/%s", s->data_dir, name);
    lore_status blobs = sqlite_remove_tree(path);
    sqlite_tenant_path(s, name, NULL, path, sizeof path);
    st = sqlite_remove_tree(path);
    return st != LORE_OK ? st : blobs;
}

lore_status sqlite_tenant_list(store *s_, store_tenant_info **out, size_t *n) {
    sqlite_store *s = (sqlite_store *)s_;
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
        if (sqlite_tenant_open(&s->base, ti->name, &t) == LORE_OK) {
            if (sqlite_counts(t, &ti->documents, &ti->chunks) != LORE_OK)
                ti->documents = ti->chunks = -1;
            sqlite_tenant_close(t);
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

lore_status sqlite_tenant_open(store *s_, const char *name, store_tenant **out) {
    sqlite_store *s = (sqlite_store *)s_;
    *out = NULL;
    if (!store_tenant_name_valid(name)) return LORE_INVALID;
    if (!tenant_exists(s, name)) return LORE_NOT_FOUND;
    sqlite_tenant *t = calloc(1, sizeof *t);
    if (!t) return LORE_NOMEM;
    t->base.be = &store_backend_sqlite;
    t->owner = s;
    snprintf(t->name, sizeof t->name, "%s", name);
    char path[4096], err[512];
    sqlite_tenant_path(s, name, "lore.db", path, sizeof path);
    lore_status st = LORE_NOMEM;
    if (!(t->path = strdup(path))) goto fail;
    st = sqlite_open_db(path, sqlite_tenant_migrations, sqlite_tenant_migration_count,
                        sqlite_tenant_migrate_mode(s), &t->db, err, sizeof err);
    if (st != LORE_OK) goto fail;
    if ((st = sqlite_tenant_prepare(t)) != LORE_OK) goto fail;
    if ((st = sqlite_writer_get(path, &t->writer)) != LORE_OK) goto fail;
    *out = &t->base;
    return LORE_OK;
fail:
    sqlite_tenant_close(&t->base);
    return st;
}

lore_status sqlite_tenant_created(store *s_, const char *name, int64_t *created_ms) {
    sqlite_store *s = (sqlite_store *)s_;
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

void sqlite_tenant_close(store_tenant *t_) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    if (!t) return;
    if (t->in_tx) sqlite_rollback(&t->base);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(t->st[i]);
    sqlite3_close(t->db);
    sqlite_writer_put(t->writer);
    free(t->path);
    free(t);
}

const char *sqlite_tenant_name(const store_tenant *t_) {
    const sqlite_tenant *t = (const sqlite_tenant *)t_;
    return t->name;
}

const char *sqlite_tenant_errmsg(store_tenant *t_) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    if (t && t->lock_err[0]) return t->lock_err;
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
static void reset_all(sqlite_tenant *t) {
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_reset(t->st[i]);
}

/* A write transaction holds the tenant's writer lock (sqlite_writers.c)
 * from before BEGIN IMMEDIATE until COMMIT or ROLLBACK, so the threads of
 * this process take turns on it and only other processes meet SQLite's
 * busy handler. */
lore_status sqlite_begin(store_tenant *t_) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    if (t->in_tx) return LORE_INVALID;
    t->lock_err[0] = '\0';
    lore_status st = sqlite_writer_take(t->writer, t->name, t->lock_err, sizeof t->lock_err);
    if (st != LORE_OK) return st;
    reset_all(t);
    st = step_reset(t->st[ST_BEGIN]);
    t->next_chunk = 0;
    if (st == LORE_OK)
        t->in_tx = 1;
    else
        sqlite_writer_release(t->writer);
    return st;
}

lore_status sqlite_commit(store_tenant *t_) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    if (t->in_tx != 1) return LORE_INVALID;
    lore_status st = step_reset(t->st[ST_COMMIT]);
    if (st == LORE_OK) {
        t->in_tx = 0;
        sqlite_writer_release(t->writer);
    }
    return st; /* failed: still in the transaction, which the caller rolls back */
}

void sqlite_rollback(store_tenant *t_) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    if (!t->in_tx) return;
    (void)step_reset(t->st[ST_ROLLBACK]);
    if (t->in_tx == 1) sqlite_writer_release(t->writer);
    t->in_tx = 0;
}

lore_status sqlite_begin_read(store_tenant *t_) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    if (t->in_tx) return LORE_INVALID;
    t->lock_err[0] = '\0';
    lore_status st = step_reset(t->st[ST_BEGIN_READ]);
    if (st == LORE_OK) t->in_tx = 2;
    return st;
}

void sqlite_end_read(store_tenant *t_) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    if (t->in_tx != 2) return;
    reset_all(t);
    (void)step_reset(t->st[ST_COMMIT]);
    t->in_tx = 0;
}

lore_status sqlite_disk_bytes(store_tenant *t_, int64_t *bytes) {
    sqlite_tenant *t = (sqlite_tenant *)t_;
    static const char *const files[] = {"lore.db", "lore.db-wal"};
    *bytes = 0;
    for (size_t i = 0; i < 2; i++) {
        char path[4096];
        sqlite_tenant_path(t->owner, t->name, files[i], path, sizeof path);
        struct stat sb;
        if (stat(path, &sb) == 0) *bytes += sb.st_size;
    }
    return LORE_OK;
}
