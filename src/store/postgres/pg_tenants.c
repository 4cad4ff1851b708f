/* PostgreSQL backend: tenants.
 *
 * A tenant is a row of lore.tenants (id: bigserial), a schema
 * "lore_tenant_<id>" and a role "lore_<install>_t<id>" (NOLOGIN) that owns
 * the schema and everything in it. lore's own login role is a member of
 * every tenant role; each tenant transaction starts with
 * pg_tenant_enter, which switches to the tenant's role for the rest of the
 * transaction. That role has no privilege on schema lore nor on any other
 * tenant's schema, so a statement of one tenant that names another
 * tenant's table (or the control tables) is refused by PostgreSQL itself:
 * docs/storage.md, "Tenant isolation".
 *
 * Creating a tenant (row, role, schema, tenant migrations) and deleting
 * one (its keys, secrets, connectors, sessions, jobs and blobs, the row,
 * the schema and the role) are each one transaction: DDL is transactional
 * in PostgreSQL, roles included. */
#include "store/postgres/pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/timeutil.h"

#define PG_MIGRATE_LOCK "7813302536434624882" /* as pg_store.c */

static void set_names(const pg_store *s, pg_tenant *t) {
    snprintf(t->schema, sizeof t->schema, "lore_tenant_%lld", (long long)t->id);
    snprintf(t->role, sizeof t->role, "lore_%s_t%lld", s->install, (long long)t->id);
}

lore_status pg_tenant_enter(PGconn *c, const pg_tenant *t, char *err, size_t errlen) {
    char sql[160];
    /* Both names are made of [a-z0-9_] by set_names: quoting is a formality. */
    snprintf(sql, sizeof sql, "SET LOCAL ROLE \"%s\"; SET LOCAL search_path TO \"%s\"", t->role,
             t->schema);
    return pg_exec(c, sql, err, errlen);
}

lore_status pg_tenant_load(pg_store *s, PGconn *c, const char *name, pg_tenant *t,
                           int64_t *schema_version) {
    memset(t, 0, sizeof *t);
    pg_params p = {0};
    pg_param_text(&p, name);
    lore_status st;
    char err[256];
    PGresult *r = pg_run(c, "SELECT id, created_ms, schema_version FROM lore.tenants WHERE name=$1",
                         &p, &st, err, sizeof err);
    if (!r) return st;
    if (!PQntuples(r)) {
        PQclear(r);
        return LORE_NOT_FOUND;
    }
    t->base.be = &store_backend_postgres;
    t->owner = s;
    snprintf(t->name, sizeof t->name, "%s", name);
    t->id = pg_get_i64(r, 0, 0);
    t->created_ms = pg_get_i64(r, 0, 1);
    if (schema_version) *schema_version = pg_get_i64(r, 0, 2);
    PQclear(r);
    set_names(s, t);
    return LORE_OK;
}

static lore_status rollback_with(PGconn *c, lore_status st) {
    (void)pg_exec(c, "ROLLBACK", NULL, 0);
    return st;
}

/* Runs the DDL statement `head "name" tail`. */
static lore_status ddl(PGconn *c, const char *head, const char *name, const char *tail, char *err,
                       size_t errlen) {
    char sql[256];
    snprintf(sql, sizeof sql, "%s \"%s\" %s", head, name, tail);
    return pg_exec(c, sql, err, errlen);
}

lore_status pg_tenant_create(store *base, const char *name) {
    pg_store *s = (pg_store *)base;
    if (!store_tenant_name_valid(name)) return LORE_INVALID;
    if (!s->install[0]) return LORE_UNSUPPORTED; /* control schema not migrated */
    char err[256];
    PGconn *c = pg_pool_get(s->pool, err, sizeof err);
    if (!c) return LORE_BUSY;
    pg_tenant t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%s", name);
    lore_status st = pg_exec(c, "BEGIN", err, sizeof err);
    if (st != LORE_OK) goto out;
    pg_params p = {0};
    pg_param_text(&p, name);
    pg_param_i64(&p, lore_now_ms());
    PGresult *r = NULL;
    if ((st = pg_exec(c, "SELECT pg_advisory_xact_lock(" PG_MIGRATE_LOCK ")", err, sizeof err)) ==
        LORE_OK)
        r = pg_run(c, "INSERT INTO lore.tenants(name, created_ms) VALUES($1, $2) RETURNING id", &p,
                   &st, err, sizeof err);
    if (!r) {
        st = rollback_with(c, st);
        goto out;
    }
    t.id = pg_get_i64(r, 0, 0);
    PQclear(r);
    set_names(s, &t);
    /* The role owns the schema; lore's role becomes its member so it may
     * SET ROLE to it (PostgreSQL 15 does not make the creator one). */
    char owner[64];
    snprintf(owner, sizeof owner, "AUTHORIZATION \"%s\"", t.role);
    if ((st = ddl(c, "CREATE ROLE", t.role, "NOLOGIN", err, sizeof err)) != LORE_OK ||
        (st = ddl(c, "GRANT", t.role, "TO CURRENT_USER", err, sizeof err)) != LORE_OK ||
        (st = ddl(c, "CREATE SCHEMA", t.schema, owner, err, sizeof err)) != LORE_OK ||
        (st = pg_tenant_migrate_on(c, &t, NULL, err, sizeof err)) != LORE_OK) {
        st = rollback_with(c, st);
        goto out;
    }
    st = pg_exec(c, "COMMIT", err, sizeof err);
out:
    if (st != LORE_OK && st != LORE_EXISTS)
        lore_log(LORE_LOG_WARN, "store: creating tenant %s: %s", name, err);
    pg_pool_put(s->pool, c, PQstatus(c) != CONNECTION_OK);
    return st;
}

/* Deletes the rows of the tenant in a control table. */
static lore_status delete_rows(PGconn *c, const char *sql, const char *name, char *err,
                               size_t errlen) {
    pg_params p = {0};
    pg_param_text(&p, name);
    return pg_run_cmd(c, sql, &p, NULL, err, errlen);
}

lore_status pg_tenant_delete(store *base, const char *name) {
    pg_store *s = (pg_store *)base;
    if (!store_tenant_name_valid(name)) return LORE_INVALID;
    char err[256];
    PGconn *c = pg_pool_get(s->pool, err, sizeof err);
    if (!c) return LORE_BUSY;
    pg_tenant t;
    lore_status st = pg_exec(c, "BEGIN", err, sizeof err);
    if (st != LORE_OK) goto out;
    if ((st = pg_exec(c, "SELECT pg_advisory_xact_lock(" PG_MIGRATE_LOCK ")", err, sizeof err)) !=
            LORE_OK ||
        (st = pg_tenant_load(s, c, name, &t, NULL)) != LORE_OK ||
        (st = delete_rows(c, "SELECT 1 FROM lore.tenants WHERE name=$1 FOR UPDATE", name, err,
                          sizeof err)) != LORE_OK) {
        st = rollback_with(c, st);
        goto out;
    }
    /* The row lock first: a write that checks the tenant (a key's foreign
     * key, a secret's or a job's FOR SHARE) waits for this transaction and
     * then finds the tenant gone, so nothing is left behind for it.
     * Keys first, in this transaction: a tenant created later under this
     * name must never inherit one (the foreign keys cascade too). */
    if ((st = delete_rows(c, "DELETE FROM lore.api_keys WHERE tenant=$1", name, err, sizeof err)) !=
            LORE_OK ||
        (st = delete_rows(c, "DELETE FROM lore.secrets WHERE tenant=$1", name, err, sizeof err)) !=
            LORE_OK ||
        (st = delete_rows(c, "DELETE FROM lore.connectors WHERE tenant=$1", name, err,
                          sizeof err)) != LORE_OK ||
        (st = delete_rows(c, "DELETE FROM lore.sessions WHERE tenant=$1", name, err, sizeof err)) !=
            LORE_OK ||
        (st = pg_jobs_delete_tenant(c, name, err, sizeof err)) != LORE_OK ||
        (st = delete_rows(c, "DELETE FROM lore.blobs WHERE tenant=$1", name, err, sizeof err)) !=
            LORE_OK ||
        (st = delete_rows(c, "DELETE FROM lore.tenants WHERE name=$1", name, err, sizeof err)) !=
            LORE_OK ||
        (st = ddl(c, "DROP SCHEMA", t.schema, "CASCADE", err, sizeof err)) != LORE_OK ||
        (st = ddl(c, "DROP ROLE", t.role, "", err, sizeof err)) != LORE_OK) {
        st = rollback_with(c, st); /* nothing deleted */
        goto out;
    }
    st = pg_exec(c, "COMMIT", err, sizeof err);
out:
    if (st != LORE_OK && st != LORE_NOT_FOUND)
        lore_log(LORE_LOG_WARN, "store: deleting tenant %s: %s", name, err);
    pg_pool_put(s->pool, c, PQstatus(c) != CONNECTION_OK);
    return st;
}

lore_status pg_tenant_list(store *base, store_tenant_info **out, size_t *n) {
    pg_store *s = (pg_store *)base;
    *out = NULL;
    *n = 0;
    lore_status st;
    PGresult *r =
        pg_store_run(s, "SELECT name, created_ms FROM lore.tenants ORDER BY name", NULL, &st);
    if (!r) return st;
    size_t count = (size_t)PQntuples(r);
    store_tenant_info *list = count ? calloc(count, sizeof *list) : NULL;
    if (count && !list) {
        PQclear(r);
        return LORE_NOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        store_tenant_info *ti = &list[i];
        snprintf(ti->name, sizeof ti->name, "%s", pg_get_bytes(r, (int)i, 0, NULL));
        ti->created_ms = pg_get_i64(r, (int)i, 1);
        store_tenant *t = NULL;
        ti->documents = ti->chunks = -1;
        if (pg_tenant_open(base, ti->name, &t) == LORE_OK) {
            if (pg_counts(t, &ti->documents, &ti->chunks) != LORE_OK)
                ti->documents = ti->chunks = -1;
            pg_tenant_close(t);
        }
    }
    PQclear(r);
    *out = list;
    *n = count;
    return LORE_OK;
}

lore_status pg_tenant_open(store *base, const char *name, store_tenant **out) {
    pg_store *s = (pg_store *)base;
    *out = NULL;
    if (!store_tenant_name_valid(name)) return LORE_INVALID;
    if (!s->install[0]) return LORE_NOT_FOUND; /* no control schema yet: no tenant */
    pg_tenant *t = malloc(sizeof *t);
    if (!t) return LORE_NOMEM;
    char err[256];
    int64_t version = 0;
    PGconn *c = pg_pool_get(s->pool, err, sizeof err);
    lore_status st = c ? pg_tenant_load(s, c, name, t, &version) : LORE_BUSY;
    if (c) pg_pool_put(s->pool, c, PQstatus(c) != CONNECTION_OK);
    if (st == LORE_OK) st = pg_tenant_schema_check(s, name, version);
    if (st != LORE_OK) {
        free(t);
        return st;
    }
    *out = &t->base;
    return LORE_OK;
}

void pg_tenant_close(store_tenant *base) {
    pg_tenant *t = (pg_tenant *)base;
    if (!t) return;
    pg_tenant_release(t);
    free(t);
}

lore_status pg_tenant_created(store *base, const char *name, int64_t *created_ms) {
    pg_store *s = (pg_store *)base;
    *created_ms = 0;
    pg_params p = {0};
    pg_param_text(&p, name);
    lore_status st;
    PGresult *r = pg_store_run(s, "SELECT created_ms FROM lore.tenants WHERE name=$1", &p, &st);
    if (!r) return st;
    st = PQntuples(r) ? LORE_OK : LORE_NOT_FOUND;
    if (st == LORE_OK) *created_ms = pg_get_i64(r, 0, 0);
    PQclear(r);
    return st;
}

const char *pg_tenant_name(const store_tenant *t) {
    return ((const pg_tenant *)t)->name;
}
