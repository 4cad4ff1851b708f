/* PostgreSQL backend: opening a store, its control schema and migrations.
 *
 * Layout (docs/storage.md, "PostgreSQL"): the control tables in schema
 * "lore", each tenant in schema "lore_tenant_<id>" owned by its role
 * "lore_<install>_t<id>" (pg_tenants.c). Every schema records the
 * migrations applied to it in its own schema_migrations(version,
 * applied_ms); lore.tenants.schema_version repeats a tenant's, written in
 * the same transaction, so listing versions reads one table.
 *
 * Migrations run under a transaction-scoped advisory lock (PG_MIGRATE_LOCK)
 * taken first in the transaction that applies them, so two processes (two
 * `lore migrate`, two nodes starting) serialize and the second finds
 * nothing left to do; a transaction-scoped lock also works through
 * PgBouncer in transaction mode, where a session lock would not. Tenant
 * creation and deletion take the same lock, so a migration never meets a
 * half-made or half-dropped tenant. */
#include "store/postgres/pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/timeutil.h"

/* The advisory lock key of migrations and tenant creation ("loremigr"). */
#define PG_MIGRATE_LOCK "7813302536434624882"

/* Control migrations, applied with search_path = lore. Text columns that
 * are ordered or compared as keys use the "C" collation: bytewise, as in
 * the SQLite backend, whatever the database's locale. */
static const char control_migration_1[] =
    /* the installation's id: tenant role names start with it, so two lore
     * databases on one cluster (roles are cluster-wide) never collide */
    "CREATE TABLE install(id text NOT NULL);"
    "INSERT INTO install SELECT substr(md5(random()::text || clock_timestamp()::text), 1, 12);"
    "CREATE TABLE tenants("
    " id bigserial PRIMARY KEY,"
    " name text COLLATE \"C\" NOT NULL UNIQUE,"
    " created_ms bigint NOT NULL,"
    " schema_version bigint NOT NULL DEFAULT 0);"
    "CREATE TABLE api_keys("
    " id text COLLATE \"C\" PRIMARY KEY,"
    " tenant text COLLATE \"C\" NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,"
    " name text,"
    " scopes bigint NOT NULL,"
    " principals text NOT NULL DEFAULT '',"
    " hash text NOT NULL,"
    " created_ms bigint NOT NULL,"
    " expires_ms bigint NOT NULL DEFAULT 0,"
    " revoked_ms bigint NOT NULL DEFAULT 0);"
    "CREATE INDEX api_keys_tenant ON api_keys(tenant, created_ms);"
    /* the job queue (pg_jobs.c): as the SQLite one, with its partial
     * indexes keeping the hot scans proportional to pending jobs */
    "CREATE TABLE jobs("
    " id bigserial PRIMARY KEY,"
    " tenant text COLLATE \"C\" NOT NULL,"
    " kind text NOT NULL,"
    " dedup_key text COLLATE \"C\","
    " groups text NOT NULL DEFAULT '',"
    " payload bytea,"
    " blob text,"
    " weight bigint NOT NULL DEFAULT 0,"
    " state int NOT NULL,"
    " attempts int NOT NULL,"
    " max_attempts int NOT NULL,"
    " lease_seq bigint NOT NULL,"
    " created_ms bigint NOT NULL,"
    " updated_ms bigint NOT NULL,"
    " visible_ms bigint NOT NULL,"
    " started_ms bigint NOT NULL DEFAULT 0,"
    " finished_ms bigint NOT NULL DEFAULT 0,"
    " worker text, error text, result text, owner text,"
    " pub text COLLATE \"C\" NOT NULL UNIQUE,"
    " seq bigint NOT NULL,"
    " legacy boolean NOT NULL DEFAULT false);"
    "CREATE UNIQUE INDEX jobs_dedup ON jobs(tenant, dedup_key) WHERE dedup_key IS NOT NULL;"
    "CREATE INDEX jobs_ready ON jobs(id) WHERE state=0;"
    "CREATE INDEX jobs_leased ON jobs(visible_ms) WHERE state=1;"
    "CREATE INDEX jobs_dead ON jobs(tenant, id) WHERE state=3;"
    "CREATE UNIQUE INDEX jobs_tenant_seq ON jobs(tenant, seq);"
    "CREATE INDEX jobs_tenant ON jobs(tenant, state, seq);"
    "CREATE INDEX jobs_finished ON jobs(finished_ms) WHERE state>=2;"
    "CREATE TABLE job_groups(grp text COLLATE \"C\" NOT NULL, job bigint NOT NULL,"
    " PRIMARY KEY(grp, job));"
    "CREATE INDEX job_groups_job ON job_groups(job);"
    "CREATE TABLE job_pending(tenant text COLLATE \"C\" PRIMARY KEY, n bigint NOT NULL,"
    " seq bigint NOT NULL DEFAULT 0);"
    "CREATE TABLE secrets("
    " tenant text COLLATE \"C\" NOT NULL,"
    " name text COLLATE \"C\" NOT NULL,"
    " key_id text NOT NULL,"
    " sealed bytea NOT NULL,"
    " created_ms bigint NOT NULL,"
    " updated_ms bigint NOT NULL,"
    " PRIMARY KEY(tenant, name));"
    "CREATE INDEX secrets_key ON secrets(key_id);"
    "CREATE TABLE connectors("
    " id text COLLATE \"C\" PRIMARY KEY,"
    " tenant text COLLATE \"C\" NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,"
    " kind text NOT NULL,"
    " source text NOT NULL,"
    " acl text NOT NULL DEFAULT '',"
    " created_ms bigint NOT NULL,"
    " secret_rotated_ms bigint NOT NULL DEFAULT 0,"
    " previous_secret_until_ms bigint NOT NULL DEFAULT 0);"
    "CREATE INDEX connectors_tenant ON connectors(tenant, created_ms);"
    "CREATE TABLE sessions("
    " hash text COLLATE \"C\" PRIMARY KEY,"
    " key_id text NOT NULL,"
    " tenant text COLLATE \"C\" NOT NULL,"
    " created_ms bigint NOT NULL,"
    " expires_ms bigint NOT NULL);"
    "CREATE INDEX sessions_key ON sessions(key_id);"
    "CREATE INDEX sessions_expires ON sessions(expires_ms);";

static const char *const control_migrations[] = {
    control_migration_1, pg_blob_migration, /* 2: blobs (pg_blobs.c) */
};
#define CONTROL_KNOWN ((int64_t)(sizeof control_migrations / sizeof control_migrations[0]))

/* ---- the URL ---- */

/* Copies the URL into a conninfo libpq takes, without lore's own query
 * parameters: pool_max (connections per process), read into *cap, and
 * listen=on|off (job wake-ups by LISTEN, off behind a transaction-mode
 * PgBouncer: pg_jobs_wait.c), read into *listen_off. Returns owned, NULL on
 * a malformed one (err filled) or no memory. */
static char *parse_url(const char *url, int *cap, int *listen_off, char *err, size_t errlen) {
    *cap = 0;
    *listen_off = 0;
    size_t len = strlen(url);
    char *out = malloc(len + 1);
    if (!out) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    const char *q = strchr(url, '?');
    size_t base = q ? (size_t)(q - url) : len;
    memcpy(out, url, base);
    size_t o = base;
    if (q) {
        const char *p = q + 1;
        int first = 1;
        while (*p) {
            const char *e = strchr(p, '&');
            size_t k = e ? (size_t)(e - p) : strlen(p);
            if (k > 9 && !strncmp(p, "pool_max=", 9)) {
                char num[16];
                size_t d = k - 9;
                if (d >= sizeof num || strspn(p + 9, "0123456789") < d) d = sizeof num;
                if (d < sizeof num) {
                    memcpy(num, p + 9, d);
                    num[d] = '\0';
                    *cap = atoi(num);
                }
                if (d >= sizeof num || *cap < 1 || *cap > 1000) {
                    snprintf(err, errlen, "store_url: pool_max must be a number from 1 to 1000");
                    free(out);
                    return NULL;
                }
            } else if (k >= 7 && !strncmp(p, "listen=", 7)) {
                if (k == 9 && !strncmp(p + 7, "on", 2)) {
                    *listen_off = 0;
                } else if (k == 10 && !strncmp(p + 7, "off", 3)) {
                    *listen_off = 1;
                } else {
                    snprintf(err, errlen, "store_url: listen must be on or off");
                    free(out);
                    return NULL;
                }
            } else if (k) {
                out[o++] = first ? '?' : '&';
                memcpy(out + o, p, k);
                o += k;
                first = 0;
            }
            p += k + (e ? 1 : 0);
        }
    }
    out[o] = '\0';
    return out;
}

/* ---- migrations ---- */

/* Reads max(version) of schema_migrations in the current search_path. */
static lore_status applied_version(PGconn *c, int64_t *v, char *err, size_t errlen) {
    lore_status st;
    PGresult *r = pg_run(c, "SELECT coalesce(max(version), 0) FROM schema_migrations", NULL, &st,
                         err, errlen);
    if (!r) return st;
    *v = PQntuples(r) ? pg_get_i64(r, 0, 0) : 0;
    PQclear(r);
    return LORE_OK;
}

/* Applies list[from, n) and records them, in the current transaction. */
static lore_status apply_list(PGconn *c, const char *const *list, int64_t from, int64_t n,
                              char *err, size_t errlen) {
    for (int64_t v = from; v < n; v++) {
        lore_status st = pg_exec(c, list[v], err, errlen);
        if (st != LORE_OK) return st;
        pg_params p = {0};
        pg_param_i64(&p, v + 1);
        pg_param_i64(&p, lore_now_ms());
        st = pg_run_cmd(c, "INSERT INTO schema_migrations(version, applied_ms) VALUES($1, $2)", &p,
                        NULL, err, errlen);
        if (st != LORE_OK) return st;
    }
    return LORE_OK;
}

static const char create_migrations_table[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations("
    "version bigint PRIMARY KEY, applied_ms bigint NOT NULL)";

lore_status pg_tenant_migrate_on(PGconn *c, const pg_tenant *t, int64_t *applied, char *err,
                                 size_t errlen) {
    int64_t cur = 0, known = (int64_t)pg_tenant_migration_count;
    lore_status st = pg_tenant_enter(c, t, err, errlen);
    if (st == LORE_OK) st = pg_exec(c, create_migrations_table, err, errlen);
    if (st == LORE_OK) st = applied_version(c, &cur, err, errlen);
    if (st != LORE_OK) return st;
    if (cur > known) {
        snprintf(err, errlen, "tenant %s: schema version %lld is newer than this lore (%lld)",
                 t->name, (long long)cur, (long long)known);
        return LORE_UNSUPPORTED;
    }
    if ((st = apply_list(c, pg_tenant_migrations, cur, known, err, errlen)) != LORE_OK) return st;
    /* Back to lore's own role for the control row. */
    if ((st = pg_exec(c, "SET LOCAL ROLE NONE", err, errlen)) != LORE_OK) return st;
    pg_params p = {0};
    pg_param_i64(&p, known > cur ? known : cur);
    pg_param_i64(&p, t->id);
    st = pg_run_cmd(c, "UPDATE lore.tenants SET schema_version = $1 WHERE id = $2", &p, NULL, err,
                    errlen);
    if (st == LORE_OK && applied) *applied = known > cur ? known : cur;
    return st;
}

/* Whether schema lore exists (with its migrations table). */
static lore_status control_exists(PGconn *c, int *exists, char *err, size_t errlen) {
    lore_status st;
    PGresult *r = pg_run(c, "SELECT to_regclass('lore.schema_migrations') IS NOT NULL", NULL, &st,
                         err, errlen);
    if (!r) return st;
    *exists = PQntuples(r) && pg_get_i64(r, 0, 0);
    PQclear(r);
    return LORE_OK;
}

static lore_status rollback_with(PGconn *c, lore_status st) {
    (void)pg_exec(c, "ROLLBACK", NULL, 0);
    return st;
}

/* Creates schema lore if needed and applies the pending control
 * migrations, in one transaction under the migration lock. */
static lore_status migrate_control(PGconn *c, char *err, size_t errlen) {
    int64_t cur = 0;
    lore_status st = pg_exec(c, "BEGIN", err, errlen);
    if (st != LORE_OK) return st;
    if ((st = pg_exec(c, "SELECT pg_advisory_xact_lock(" PG_MIGRATE_LOCK ")", err, errlen)) !=
            LORE_OK ||
        (st = pg_exec(c, "CREATE SCHEMA IF NOT EXISTS lore", err, errlen)) != LORE_OK ||
        (st = pg_exec(c, "SET LOCAL search_path TO lore", err, errlen)) != LORE_OK ||
        (st = pg_exec(c, create_migrations_table, err, errlen)) != LORE_OK ||
        (st = applied_version(c, &cur, err, errlen)) != LORE_OK)
        return rollback_with(c, st);
    if (cur > CONTROL_KNOWN) {
        snprintf(err, errlen,
                 "control schema version %lld is newer than this lore (%lld); upgrade lore",
                 (long long)cur, (long long)CONTROL_KNOWN);
        return rollback_with(c, LORE_UNSUPPORTED);
    }
    if ((st = apply_list(c, control_migrations, cur, CONTROL_KNOWN, err, errlen)) != LORE_OK)
        return rollback_with(c, st);
    return pg_exec(c, "COMMIT", err, errlen);
}

/* Brings one tenant to this binary's schema, in its own transaction under
 * the migration lock (the row is read again under it). */
static lore_status migrate_tenant(pg_store *s, PGconn *c, const char *name, char *err,
                                  size_t errlen) {
    pg_tenant t;
    int64_t version = 0;
    lore_status st = pg_exec(c, "BEGIN", err, errlen);
    if (st != LORE_OK) return st;
    if ((st = pg_exec(c, "SELECT pg_advisory_xact_lock(" PG_MIGRATE_LOCK ")", err, errlen)) !=
        LORE_OK)
        return rollback_with(c, st);
    st = pg_tenant_load(s, c, name, &t, &version);
    if (st == LORE_NOT_FOUND) return rollback_with(c, LORE_OK); /* deleted meanwhile */
    if (st == LORE_OK && version != (int64_t)pg_tenant_migration_count)
        st = pg_tenant_migrate_on(c, &t, NULL, err, errlen);
    if (st != LORE_OK) return rollback_with(c, st);
    return pg_exec(c, "COMMIT", err, errlen);
}

lore_status pg_tenant_schema_check(pg_store *s, const char *name, int64_t version) {
    int64_t known = (int64_t)pg_tenant_migration_count;
    if (version == known) return LORE_OK;
    if (version > known) {
        lore_log(LORE_LOG_ERROR, "store: tenant %s: schema version %lld is newer than this lore",
                 name, (long long)version);
        return LORE_UNSUPPORTED;
    }
    if (s->flags & STORE_OPEN_NO_MIGRATE) { /* lore migrate's business */
        lore_log(LORE_LOG_ERROR, "store: tenant %s has migrations pending: run lore migrate", name);
        return LORE_UNSUPPORTED;
    }
    char err[256];
    PGconn *c = pg_pool_get(s->pool, err, sizeof err);
    if (!c) return LORE_BUSY;
    lore_status st = migrate_tenant(s, c, name, err, sizeof err);
    pg_pool_put(s->pool, c, 0);
    if (st != LORE_OK) lore_log(LORE_LOG_ERROR, "store: tenant %s: migration: %s", name, err);
    return st;
}

/* ---- opening ---- */

static lore_status read_install(pg_store *s, PGconn *c, char *err, size_t errlen) {
    lore_status st;
    PGresult *r = pg_run(c, "SELECT id FROM lore.install LIMIT 1", NULL, &st, err, errlen);
    if (!r) return st;
    const char *id = PQntuples(r) ? pg_get_bytes(r, 0, 0, NULL) : NULL;
    st = LORE_CORRUPT;
    if (id && strlen(id) == 12 && strspn(id, "0123456789abcdef") == 12) {
        memcpy(s->install, id, 13);
        st = LORE_OK;
    } else {
        snprintf(err, errlen, "lore.install holds no valid installation id");
    }
    PQclear(r);
    return st;
}

lore_status pg_open(const char *location, unsigned flags, store **out, char *err, size_t errlen) {
    *out = NULL;
    int cap = 0, exists = 0;
    PGconn *c = NULL;
    lore_status st = LORE_NOMEM;
    pg_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return LORE_NOMEM;
    }
    s->base.be = &store_backend_postgres;
    s->flags = flags;
    if (!(s->conninfo = parse_url(location, &cap, &s->listen_off, err, errlen))) {
        st = LORE_INVALID;
        goto fail;
    }
    if ((st = pg_pool_new(s->conninfo, cap, &s->pool, err, errlen)) != LORE_OK) goto fail;
    if (!(c = pg_pool_get(s->pool, err, errlen))) {
        st = LORE_IO;
        goto fail;
    }
    if ((st = control_exists(c, &exists, err, errlen)) != LORE_OK) goto fail;
    if (!exists && !(flags & STORE_OPEN_CREATE)) {
        snprintf(err, errlen, "the database holds no lore schema");
        st = LORE_NOT_FOUND;
        goto fail;
    }
    /* A store this call creates is made at the current version, even with
     * NO_MIGRATE (store.h): only an existing store's are left pending. */
    if (!(flags & STORE_OPEN_NO_MIGRATE) || !exists) {
        if ((st = migrate_control(c, err, errlen)) != LORE_OK) goto fail;
        exists = 1;
    }
    if (exists) {
        int64_t v = 0;
        if ((st = pg_exec(c, "BEGIN", err, errlen)) != LORE_OK) goto fail;
        if ((st = pg_exec(c, "SET LOCAL search_path TO lore", err, errlen)) == LORE_OK)
            st = applied_version(c, &v, err, errlen);
        (void)pg_exec(c, "COMMIT", NULL, 0);
        if (st != LORE_OK) goto fail;
        if (v > CONTROL_KNOWN) {
            snprintf(err, errlen, "control schema version %lld is newer than this lore (%lld)",
                     (long long)v, (long long)CONTROL_KNOWN);
            st = LORE_UNSUPPORTED;
            goto fail;
        }
        /* With NO_MIGRATE an empty control schema has no install id yet:
         * store_check says what is pending. */
        if (v >= 1 && (st = read_install(s, c, err, errlen)) != LORE_OK) goto fail;
    }
    pg_pool_put(s->pool, c, 0);
    *out = &s->base;
    return LORE_OK;
fail:
    if (c) pg_pool_put(s->pool, c, PQstatus(c) != CONNECTION_OK);
    pg_close(&s->base);
    return st;
}

void pg_close(store *base) {
    pg_store *s = (pg_store *)base;
    if (!s) return;
    PQfinish(s->listen);
    pg_pool_free(s->pool);
    free(s->conninfo);
    free(s);
}

/* The control schema's applied version on c (0 when it does not exist). */
static lore_status version_on(PGconn *c, int64_t *v, char *err, size_t errlen) {
    int exists = 0;
    *v = 0;
    lore_status st = control_exists(c, &exists, err, errlen);
    if (st != LORE_OK || !exists) return st;
    PGresult *r = pg_run(c, "SELECT coalesce(max(version), 0) FROM lore.schema_migrations", NULL,
                         &st, err, errlen);
    if (!r) return st;
    *v = PQntuples(r) ? pg_get_i64(r, 0, 0) : 0;
    PQclear(r);
    return LORE_OK;
}

/* version_on a pooled connection. */
static lore_status control_version(pg_store *s, int64_t *v, char *err, size_t errlen) {
    PGconn *c = pg_pool_get(s->pool, err, errlen);
    if (!c) return LORE_IO;
    lore_status st = version_on(c, v, err, errlen);
    pg_pool_put(s->pool, c, PQstatus(c) != CONNECTION_OK);
    return st;
}

lore_status pg_check(store *base, char *err, size_t errlen) {
    pg_store *s = (pg_store *)base;
    char why[256];
    int64_t v = 0;
    lore_status st = control_version(s, &v, why, sizeof why);
    if (st != LORE_OK) {
        snprintf(err, errlen, "control database unreadable: %s", why);
        return st;
    }
    if (v != CONTROL_KNOWN) {
        snprintf(err, errlen, "control database at schema %lld, this lore expects %lld%s",
                 (long long)v, (long long)CONTROL_KNOWN,
                 v < CONTROL_KNOWN ? " (run lore migrate)" : "");
        return LORE_UNSUPPORTED;
    }
    return LORE_OK;
}

lore_status pg_schema_status(store *base, store_schema_status **out, size_t *n) {
    pg_store *s = (pg_store *)base;
    *out = NULL;
    *n = 0;
    int64_t cv = 0;
    char err[256];
    lore_status st = control_version(s, &cv, err, sizeof err);
    if (st != LORE_OK) return st;
    PGresult *r = NULL;
    if (cv > 0) {
        r = pg_store_run(s, "SELECT name, schema_version FROM lore.tenants ORDER BY name", NULL,
                         &st);
        if (!r) return st;
    }
    size_t count = 1 + (r ? (size_t)PQntuples(r) : 0);
    store_schema_status *list = calloc(count, sizeof *list);
    if (!list) {
        PQclear(r);
        return LORE_NOMEM;
    }
    list[0].applied = cv;
    list[0].known = CONTROL_KNOWN;
    for (size_t i = 1; i < count; i++) {
        snprintf(list[i].tenant, sizeof list[i].tenant, "%s", pg_get_bytes(r, (int)i - 1, 0, NULL));
        list[i].applied = pg_get_i64(r, (int)i - 1, 1);
        list[i].known = (int64_t)pg_tenant_migration_count;
    }
    PQclear(r);
    *out = list;
    *n = count;
    return LORE_OK;
}

lore_status pg_migrate(store *base, char *err, size_t errlen) {
    pg_store *s = (pg_store *)base;
    PGconn *c = pg_pool_get(s->pool, err, errlen);
    if (!c) return LORE_IO;
    lore_status st = migrate_control(c, err, errlen);
    if (st == LORE_OK && !s->install[0]) st = read_install(s, c, err, errlen);
    PGresult *r = NULL;
    if (st == LORE_OK) {
        pg_params p = {0};
        pg_param_i64(&p, (int64_t)pg_tenant_migration_count);
        r = pg_run(c, "SELECT name FROM lore.tenants WHERE schema_version <> $1 ORDER BY name", &p,
                   &st, err, errlen);
    }
    for (int i = 0; r && st == LORE_OK && i < PQntuples(r); i++) {
        char name[STORE_NAME_MAX + 1];
        snprintf(name, sizeof name, "%s", pg_get_bytes(r, i, 0, NULL));
        st = migrate_tenant(s, c, name, err, errlen);
    }
    PQclear(r);
    pg_pool_put(s->pool, c, PQstatus(c) != CONNECTION_OK);
    return st;
}
