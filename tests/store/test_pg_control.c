/* The PostgreSQL backend's control side against a real PostgreSQL (started
 * by tests/support/pg.sh, LORE_TEST_PG_URL): opening and migrations (two
 * processes migrating at once end with one applied set), tenants (schema
 * and role made and dropped with them), tenant isolation (a tenant's role
 * cannot read another tenant's schema nor the control tables), keys,
 * sessions, secrets, connectors, the job queue (dedup, caps, FIFO groups,
 * leases, retry, purge, counts; four processes claiming one queue at once
 * keep FIFO and run every job once) and job_wait woken by NOTIFY.
 *
 * It calls the backend's functions directly (pg_int.h); the store contract
 * suite (tests/store/test_store.c, test_jobs.c run as *_pg) covers the same
 * through store.h. Every case runs in a database of its own. */
#include <sys/wait.h>
#include <unistd.h>

#include "store/postgres/pg_int.h"
#include "test.h"
#include "util/timeutil.h"

static const char *base_url;
static char admin_err[512];

/* Runs sql on the database named by url (a new connection). */
static int sql_ok(const char *url, const char *sql) {
    PGconn *c = PQconnectdb(url);
    int ok = PQstatus(c) == CONNECTION_OK;
    if (ok) {
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!ok) snprintf(admin_err, sizeof admin_err, "%s", PQresultErrorMessage(r));
        PQclear(r);
    } else {
        snprintf(admin_err, sizeof admin_err, "%s", PQerrorMessage(c));
    }
    PQfinish(c);
    return ok;
}

/* The first column of the first row of sql, as a number (-1: failed). */
static long long sql_num(const char *url, const char *sql) {
    PGconn *c = PQconnectdb(url);
    long long v = -1;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r)) v = atoll(PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    PQfinish(c);
    return v;
}

/* A fresh database: url gets its URL. */
static void fresh_db(char *url, size_t len) {
    static int n;
    char name[64];
    snprintf(name, sizeof name, "lore_pgc_%d_%d", (int)getpid(), ++n);
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    if (!sql_ok(base_url, sql)) {
        fprintf(stderr, "CREATE DATABASE: %s\n", admin_err);
        exit(1);
    }
    const char *slash = strrchr(base_url, '/');
    snprintf(url, len, "%.*s/%s", (int)(slash - base_url), base_url, name);
}

static store *open_fresh(char *url, size_t len) {
    fresh_db(url, len);
    store *s = NULL;
    char err[256] = "";
    lore_status st = pg_open(url, STORE_OPEN_CREATE, &s, err, sizeof err);
    if (st != LORE_OK) fprintf(stderr, "pg_open: %s\n", err);
    CHECK_INT(st, LORE_OK);
    return s;
}

/* ---- opening and migrations ---- */

static void test_open_and_migrate(void) {
    char url[512], err[256] = "";
    fresh_db(url, sizeof url);
    store *s = NULL;
    /* without CREATE an empty database is not a store */
    CHECK_INT(pg_open(url, 0, &s, err, sizeof err), LORE_NOT_FOUND);
    CHECK(s == NULL);
    CHECK(strstr(err, "no lore schema") != NULL);
    /* NO_MIGRATE opens an existing store as it is (here one at version 0):
     * check and status say what is pending */
    CHECK_INT(pg_open(url, STORE_OPEN_NO_MIGRATE, &s, err, sizeof err), LORE_NOT_FOUND);
    CHECK(sql_ok(url, "CREATE SCHEMA lore; CREATE TABLE lore.schema_migrations("
                      "version bigint PRIMARY KEY, applied_ms bigint NOT NULL)"));
    CHECK_INT(pg_open(url, STORE_OPEN_NO_MIGRATE, &s, err, sizeof err), LORE_OK);
    CHECK_INT(pg_check(s, err, sizeof err), LORE_UNSUPPORTED);
    CHECK(strstr(err, "lore migrate") != NULL);
    store_schema_status *ss = NULL;
    size_t n = 0;
    CHECK_INT(pg_schema_status(s, &ss, &n), LORE_OK);
    CHECK_INT(n, 1);
    CHECK_INT(ss[0].applied, 0);
    CHECK(ss[0].known >= 2);
    int64_t known = ss[0].known;
    free(ss);
    CHECK_INT(pg_migrate(s, err, sizeof err), LORE_OK);
    CHECK_INT(pg_check(s, err, sizeof err), LORE_OK);
    CHECK_INT(pg_migrate(s, err, sizeof err), LORE_OK); /* idempotent */
    CHECK_INT(pg_tenant_create(s, "acme"), LORE_OK);
    CHECK_INT(pg_schema_status(s, &ss, &n), LORE_OK);
    CHECK_INT(n, 2);
    CHECK_INT(ss[0].applied, known);
    CHECK_STR(ss[1].tenant, "acme");
    CHECK_INT(ss[1].applied, (int64_t)pg_tenant_migration_count);
    CHECK_INT(ss[1].known, (int64_t)pg_tenant_migration_count);
    free(ss);
    pg_close(s);
    /* a tenant behind this binary is brought up to date by migrate */
    CHECK(sql_ok(url, "UPDATE lore.tenants SET schema_version = 0"));
    CHECK_INT(pg_open(url, STORE_OPEN_NO_MIGRATE, &s, err, sizeof err), LORE_OK);
    CHECK_INT(pg_schema_status(s, &ss, &n), LORE_OK);
    CHECK_INT(ss[1].applied, 0);
    free(ss);
    store_tenant *t = NULL; /* pending: refused until migrated */
    CHECK_INT(pg_tenant_open(s, "acme", &t), LORE_UNSUPPORTED);
    CHECK_INT(pg_migrate(s, err, sizeof err), LORE_OK);
    CHECK_INT(pg_schema_status(s, &ss, &n), LORE_OK);
    CHECK_INT(ss[1].applied, (int64_t)pg_tenant_migration_count);
    free(ss);
    CHECK_INT(pg_tenant_open(s, "acme", &t), LORE_OK);
    pg_tenant_close(t);
    pg_close(s);
    /* without NO_MIGRATE, opening a tenant behind brings it up to date */
    CHECK(sql_ok(url, "UPDATE lore.tenants SET schema_version = 0"));
    CHECK_INT(pg_open(url, 0, &s, err, sizeof err), LORE_OK);
    CHECK_INT(pg_tenant_open(s, "acme", &t), LORE_OK);
    pg_tenant_close(t);
    pg_close(s);
    CHECK_INT(sql_num(url, "SELECT schema_version FROM lore.tenants"),
              (long long)pg_tenant_migration_count);
    /* a schema newer than this binary is refused, not misread */
    CHECK(sql_ok(url, "INSERT INTO lore.schema_migrations VALUES (999, 0)"));
    CHECK_INT(pg_open(url, 0, &s, err, sizeof err), LORE_UNSUPPORTED);
    CHECK(strstr(err, "newer") != NULL);
    /* lore's own URL parameter, checked */
    char bad[600];
    snprintf(bad, sizeof bad, "%s?pool_max=0", url);
    CHECK_INT(pg_open(bad, 0, &s, err, sizeof err), LORE_INVALID);
    snprintf(bad, sizeof bad, "%s?pool_max=x", url);
    CHECK_INT(pg_open(bad, 0, &s, err, sizeof err), LORE_INVALID);
    snprintf(bad, sizeof bad, "%s?listen=no", url);
    CHECK_INT(pg_open(bad, 0, &s, err, sizeof err), LORE_INVALID);
    CHECK(strstr(err, "listen must be on or off") != NULL);
    CHECK(sql_ok(url, "DELETE FROM lore.schema_migrations WHERE version = 999"));
    snprintf(bad, sizeof bad, "%s?connect_timeout=5&pool_max=2", url);
    CHECK_INT(pg_open(bad, 0, &s, err, sizeof err), LORE_OK);
    pg_close(s);
}

/* Two processes open the store with NO_MIGRATE and run migrate at the same
 * moment; 1 when both succeeded. */
static int two_migrates(const char *url) {
    int fds[2];
    if (pipe(fds) != 0) return 0;
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            char c;
            close(fds[1]);
            (void)!read(fds[0], &c, 1); /* both start together */
            store *m = NULL;
            char e[256];
            lore_status st =
                pg_open(url, STORE_OPEN_CREATE | STORE_OPEN_NO_MIGRATE, &m, e, sizeof e);
            if (st == LORE_OK) st = pg_migrate(m, e, sizeof e);
            if (st != LORE_OK) fprintf(stderr, "migrate: %s\n", e);
            pg_close(m);
            _exit(st == LORE_OK ? 0 : 1);
        }
    }
    close(fds[0]);
    close(fds[1]); /* EOF releases both */
    int ok = 1;
    for (int k = 0; k < 2; k++) {
        int status = 0;
        waitpid(kids[k], &status, 0);
        ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    return ok;
}

/* Two concurrent `lore migrate` end with one applied set: on an empty
 * database (the whole control schema), then with a tenant to bring up. */
static void test_concurrent_migrate(void) {
    char url[512], err[256];
    fresh_db(url, sizeof url);
    CHECK(two_migrates(url)); /* from nothing: both create it, once */
    char url2[512];
    fresh_db(url2, sizeof url2); /* from an existing store at version 0 */
    CHECK(sql_ok(url2, "CREATE SCHEMA lore; CREATE TABLE lore.schema_migrations("
                       "version bigint PRIMARY KEY, applied_ms bigint NOT NULL)"));
    CHECK(two_migrates(url2));
    CHECK_INT(sql_num(url2, "SELECT count(*) FROM lore.schema_migrations"),
              sql_num(url, "SELECT count(*) FROM lore.schema_migrations"));
    store *s = NULL;
    CHECK_INT(pg_open(url, 0, &s, err, sizeof err), LORE_OK);
    store_schema_status *ss = NULL;
    size_t n = 0;
    CHECK_INT(pg_schema_status(s, &ss, &n), LORE_OK);
    if (n) CHECK_INT(sql_num(url, "SELECT count(*) FROM lore.schema_migrations"), ss[0].known);
    free(ss);
    CHECK_INT(pg_tenant_create(s, "t1"), LORE_OK);
    pg_close(s);
    CHECK(sql_ok(url, "UPDATE lore.tenants SET schema_version=0"));
    CHECK(two_migrates(url));
    CHECK_INT(sql_num(url, "SELECT schema_version FROM lore.tenants WHERE name='t1'"),
              (long long)pg_tenant_migration_count);
    CHECK_INT(sql_num(url, "SELECT count(*) FROM lore_tenant_1.schema_migrations"),
              (long long)pg_tenant_migration_count);
}

/* ---- tenants and isolation ---- */

static void test_tenants(void) {
    char url[512], q[256];
    store *s = open_fresh(url, sizeof url);
    if (!s) return;
    CHECK_INT(pg_tenant_create(s, "acme"), LORE_OK);
    CHECK_INT(pg_tenant_create(s, "acme"), LORE_EXISTS);
    CHECK_INT(pg_tenant_create(s, "Bad"), LORE_INVALID);
    CHECK_INT(pg_tenant_create(s, "beta-2"), LORE_OK);
    store_tenant_info *ti = NULL;
    size_t n = 0;
    CHECK_INT(pg_tenant_list(s, &ti, &n), LORE_OK);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_STR(ti[0].name, "acme");
        CHECK_STR(ti[1].name, "beta-2");
        CHECK(ti[0].created_ms > 0);
        CHECK_INT(ti[0].documents, 0);
    }
    free(ti);
    int64_t created = 0;
    CHECK_INT(pg_tenant_created(s, "acme", &created), LORE_OK);
    CHECK(created > 0);
    CHECK_INT(pg_tenant_created(s, "nope", &created), LORE_NOT_FOUND);
    store_tenant *t = NULL;
    CHECK_INT(pg_tenant_open(s, "nope", &t), LORE_NOT_FOUND);
    CHECK_INT(pg_tenant_open(s, "acme", &t), LORE_OK);
    if (t) {
        CHECK_STR(pg_tenant_name(t), "acme");
        pg_tenant *pt = (pg_tenant *)t;
        CHECK_STR(pt->schema, "lore_tenant_1");
        snprintf(q, sizeof q,
                 "SELECT count(*) FROM pg_roles WHERE rolname='%s' AND NOT rolcanlogin", pt->role);
        CHECK_INT(sql_num(url, q), 1);
        snprintf(q, sizeof q,
                 "SELECT count(*) FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner"
                 " WHERE nspname='lore_tenant_1' AND rolname='%s'",
                 pt->role);
        CHECK_INT(sql_num(url, q), 1);
        char role[PG_SCHEMA_MAX];
        snprintf(role, sizeof role, "%s", pt->role);
        pg_tenant_close(t);
        /* deleting takes the schema and the role with the row */
        CHECK_INT(pg_tenant_delete(s, "acme"), LORE_OK);
        CHECK_INT(pg_tenant_delete(s, "acme"), LORE_NOT_FOUND);
        CHECK_INT(sql_num(url, "SELECT count(*) FROM pg_namespace WHERE nspname='lore_tenant_1'"),
                  0);
        snprintf(q, sizeof q, "SELECT count(*) FROM pg_roles WHERE rolname='%s'", role);
        CHECK_INT(sql_num(url, q), 0);
    }
    /* re-created under its name: a new id, so a new schema */
    CHECK_INT(pg_tenant_create(s, "acme"), LORE_OK);
    CHECK_INT(pg_tenant_open(s, "acme", &t), LORE_OK);
    if (t) CHECK(strcmp(((pg_tenant *)t)->schema, "lore_tenant_1") != 0);
    pg_tenant_close(t);
    pg_close(s);
}

/* Runs sql inside a transaction entered as tenant t (pg_tenant_enter);
 * returns the SQLSTATE of the failure, "" on success. */
static const char *as_tenant(store *s, store_tenant *t, const char *sql, char *state, size_t len) {
    pg_store *ps = (pg_store *)s;
    char err[256];
    PGconn *c = pg_pool_get(ps->pool, err, sizeof err);
    snprintf(state, len, "?");
    if (!c) return state;
    if (pg_exec(c, "BEGIN", err, sizeof err) == LORE_OK &&
        pg_tenant_enter(c, (pg_tenant *)t, err, sizeof err) == LORE_OK) {
        PGresult *r = PQexec(c, sql);
        ExecStatusType es = PQresultStatus(r);
        snprintf(state, len, "%s",
                 es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK ? "" : pg_sqlstate(r));
        PQclear(r);
        (void)pg_exec(c, *state ? "ROLLBACK" : "COMMIT", NULL, 0);
    }
    pg_pool_put(ps->pool, c, 0);
    return state;
}

/* The "Tenant isolation on PostgreSQL": a statement run as one
 * tenant cannot read another tenant's schema, nor the control tables;
 * PostgreSQL refuses it (insufficient_privilege, 42501). */
static void test_isolation(void) {
    char url[512], st[8], sql[256];
    store *s = open_fresh(url, sizeof url);
    if (!s) return;
    CHECK_INT(pg_tenant_create(s, "alpha"), LORE_OK);
    CHECK_INT(pg_tenant_create(s, "bravo"), LORE_OK);
    store_tenant *a = NULL, *b = NULL;
    CHECK_INT(pg_tenant_open(s, "alpha", &a), LORE_OK);
    CHECK_INT(pg_tenant_open(s, "bravo", &b), LORE_OK);
    if (!a || !b) return;
    /* each tenant writes a table of its own, as its role */
    CHECK_STR(as_tenant(s, a, "CREATE TABLE probe(v text); INSERT INTO probe VALUES('alpha')", st,
                        sizeof st),
              "");
    CHECK_STR(as_tenant(s, b, "CREATE TABLE probe(v text); INSERT INTO probe VALUES('bravo')", st,
                        sizeof st),
              "");
    /* its own: readable */
    CHECK_STR(as_tenant(s, a, "SELECT v FROM probe", st, sizeof st), "");
    /* the other's, named outright: refused */
    snprintf(sql, sizeof sql, "SELECT v FROM %s.probe", ((pg_tenant *)b)->schema);
    CHECK_STR(as_tenant(s, a, sql, st, sizeof st), "42501");
    snprintf(sql, sizeof sql, "SELECT v FROM %s.probe", ((pg_tenant *)a)->schema);
    CHECK_STR(as_tenant(s, b, sql, st, sizeof st), "42501");
    snprintf(sql, sizeof sql, "INSERT INTO %s.probe VALUES('x')", ((pg_tenant *)b)->schema);
    CHECK_STR(as_tenant(s, a, sql, st, sizeof st), "42501");
    /* the control tables (keys, secrets, jobs): refused too */
    CHECK_STR(as_tenant(s, a, "SELECT * FROM lore.api_keys", st, sizeof st), "42501");
    CHECK_STR(as_tenant(s, a, "SELECT * FROM lore.secrets", st, sizeof st), "42501");
    /* A tenant role is a real privilege boundary beyond lore's own use: a
     * login role granted only alpha's (an analyst's, a tenant's own tool)
     * reads alpha and nothing else, and cannot SET ROLE out of it. */
    char mk[256];
    snprintf(mk, sizeof mk, "CREATE ROLE alpha_reader LOGIN PASSWORD 'r' IN ROLE %s",
             ((pg_tenant *)a)->role);
    CHECK(sql_ok(url, mk));
    char rurl[600];
    const char *at = strchr(url, '@');
    snprintf(rurl, sizeof rurl, "postgresql://alpha_reader:r%s", at ? at : "");
    snprintf(sql, sizeof sql, "SET ROLE %s; SELECT count(*) FROM %s.probe", ((pg_tenant *)a)->role,
             ((pg_tenant *)a)->schema);
    CHECK_INT(sql_num(rurl, sql), 1);
    snprintf(sql, sizeof sql, "SET ROLE %s; SELECT count(*) FROM %s.probe", ((pg_tenant *)a)->role,
             ((pg_tenant *)b)->schema);
    CHECK(!sql_ok(rurl, sql) && strstr(admin_err, "permission denied"));
    snprintf(sql, sizeof sql, "SET ROLE %s", ((pg_tenant *)b)->role);
    CHECK(!sql_ok(rurl, sql) && strstr(admin_err, "permission denied"));
    CHECK(!sql_ok(rurl, "SET ROLE lore") && strstr(admin_err, "permission denied"));
    CHECK(!sql_ok(rurl, "SELECT count(*) FROM lore.api_keys") &&
          strstr(admin_err, "permission denied"));
    /* the control: without the SET ROLE, lore's role reads both */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s.probe", ((pg_tenant *)b)->schema);
    CHECK_INT(sql_num(url, sql), 1);
    pg_tenant_close(a);
    pg_tenant_close(b);
    pg_close(s);
}

/* ---- keys, sessions, secrets, connectors ---- */

static void test_keys_sessions(void) {
    char url[512];
    store *s = open_fresh(url, sizeof url);
    if (!s) return;
    CHECK_INT(pg_tenant_create(s, "acme"), LORE_OK);
    char *pr[] = {"user:a@x", "group:eng"};
    store_key k = {.id = "0123456789ab",
                   .tenant = "acme",
                   .name = "ci",
                   .scopes = 5,
                   .principals = pr,
                   .nprincipals = 2,
                   .created_ms = 100};
    memset(k.hash, 'f', 64);
    CHECK_INT(pg_key_put(s, &k), LORE_OK);
    CHECK_INT(pg_key_put(s, &k), LORE_EXISTS);
    snprintf(k.tenant, sizeof k.tenant, "ghost");
    snprintf(k.id, sizeof k.id, "0123456789ac");
    CHECK_INT(pg_key_put(s, &k), LORE_NOT_FOUND);
    snprintf(k.id, sizeof k.id, "XYZ");
    CHECK_INT(pg_key_put(s, &k), LORE_INVALID);
    store_key *g = NULL;
    CHECK_INT(pg_key_get(s, "0123456789ab", &g), LORE_OK);
    if (g) {
        CHECK_STR(g->tenant, "acme");
        CHECK_STR(g->name, "ci");
        CHECK_INT(g->scopes, 5);
        CHECK_INT(g->nprincipals, 2);
        if (g->nprincipals == 2) CHECK_STR(g->principals[1], "group:eng");
        CHECK_INT(g->revoked_ms, 0);
        store_key_free(g);
    }
    CHECK_INT(pg_key_get(s, "0123456789ac", &g), LORE_NOT_FOUND);
    store_key *list = NULL;
    size_t n = 0;
    CHECK_INT(pg_key_list(s, "ghost", &list, &n), LORE_NOT_FOUND);
    CHECK_INT(pg_key_list(s, NULL, &list, &n), LORE_OK);
    CHECK_INT(n, 1);
    store_keys_free(list, n);
    CHECK_INT(pg_key_revoke(s, "other", "0123456789ab", 500), LORE_NOT_FOUND);
    CHECK_INT(pg_key_revoke(s, NULL, "0123456789ab", 500), LORE_OK);
    CHECK_INT(pg_key_revoke(s, "acme", "0123456789ab", 900), LORE_OK);
    CHECK_INT(pg_key_get(s, "0123456789ab", &g), LORE_OK);
    if (g) CHECK_INT(g->revoked_ms, 500); /* the first revocation holds */
    store_key_free(g);

    store_session x = {
        .key_id = "0123456789ab", .tenant = "acme", .created_ms = 1000, .expires_ms = 2000};
    memset(x.hash, 'a', 64);
    CHECK_INT(pg_session_put(s, &x), LORE_OK);
    CHECK_INT(pg_session_put(s, &x), LORE_EXISTS);
    store_session y;
    CHECK_INT(pg_session_get(s, x.hash, &y), LORE_OK);
    CHECK_INT(y.expires_ms, 2000);
    CHECK_STR(y.tenant, "acme");
    /* a later sign-in sweeps the expired one */
    store_session z = x;
    memset(z.hash, 'b', 64);
    z.created_ms = 3000;
    z.expires_ms = 4000;
    CHECK_INT(pg_session_put(s, &z), LORE_OK);
    CHECK_INT(pg_session_get(s, x.hash, &y), LORE_NOT_FOUND);
    CHECK_INT(pg_session_delete(s, z.hash), LORE_OK);
    CHECK_INT(pg_session_delete(s, z.hash), LORE_NOT_FOUND);
    /* a deleted tenant takes its keys along */
    CHECK_INT(pg_tenant_delete(s, "acme"), LORE_OK);
    CHECK_INT(pg_key_get(s, "0123456789ab", &g), LORE_NOT_FOUND);
    pg_close(s);
}

static void test_secrets_connectors(void) {
    char url[512];
    store *s = open_fresh(url, sizeof url);
    if (!s) return;
    CHECK_INT(pg_tenant_create(s, "acme"), LORE_OK);
    const uint8_t v1[] = {1, 0, 2}, v2[] = {9, 9};
    CHECK_INT(pg_secret_put(s, "ghost", "n", "k1", v1, 3, 10), LORE_NOT_FOUND);
    CHECK_INT(pg_secret_put(s, "acme", "", "k1", v1, 3, 10), LORE_INVALID);
    CHECK_INT(pg_secret_put(s, "acme", "b", "k1", v1, 3, 10), LORE_OK);
    CHECK_INT(pg_secret_put(s, "acme", "a", "k1", v1, 3, 10), LORE_OK);
    CHECK_INT(pg_secret_put(s, "", "srv", "k1", v1, 3, 10), LORE_OK);
    CHECK_INT(pg_secret_put(s, "acme", "b", "k2", v2, 2, 20), LORE_OK); /* replaces */
    store_secret x;
    CHECK_INT(pg_secret_get(s, "acme", "b", &x), LORE_OK);
    CHECK_INT(x.created_ms, 10);
    CHECK_INT(x.updated_ms, 20);
    CHECK_INT(x.sealed_len, 2);
    CHECK_STR(x.key_id, "k2");
    store_secret_clear(&x);
    CHECK_INT(pg_secret_get(s, "acme", "a", &x), LORE_OK);
    CHECK(x.sealed_len == 3 && x.sealed[1] == 0 && x.sealed[2] == 2); /* binary-safe */
    store_secret_clear(&x);
    CHECK_INT(pg_secret_reseal(s, "acme", "b", "k1", v1, 3, "k3", v1, 3), LORE_BUSY);
    CHECK_INT(pg_secret_reseal(s, "acme", "b", "k2", v2, 2, "k3", v1, 3), LORE_OK);
    CHECK_INT(pg_secret_reseal(s, "acme", "zz", "k2", v2, 2, "k3", v1, 3), LORE_NOT_FOUND);
    store_secret *list = NULL;
    size_t n = 0;
    CHECK_INT(pg_secret_list(s, NULL, NULL, NULL, 2, 0, &list, &n), LORE_OK);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_STR(list[0].tenant, ""); /* "" sorts first */
        CHECK_STR(list[1].name, "a");
        CHECK(list[1].sealed == NULL);
    }
    store_secrets_free(list, n);
    CHECK_INT(pg_secret_list(s, NULL, "acme", "a", 10, 1, &list, &n), LORE_OK);
    CHECK_INT(n, 1);
    if (n == 1) CHECK(list[0].sealed_len == 3 && !strcmp(list[0].key_id, "k3"));
    store_secrets_free(list, n);
    CHECK_INT(pg_secret_delete(s, "acme", "a"), LORE_OK);
    CHECK_INT(pg_secret_delete(s, "acme", "a"), LORE_NOT_FOUND);

    char *acl[] = {"group:eng"};
    store_connector c = {.id = "gh_1",
                         .tenant = "acme",
                         .kind = "github",
                         .source = "gh",
                         .acl = acl,
                         .nacl = 1,
                         .created_ms = 5};
    CHECK_INT(pg_connector_put(s, &c), LORE_OK);
    CHECK_INT(pg_connector_put(s, &c), LORE_EXISTS);
    store_connector c2 = c;
    snprintf(c2.id, sizeof c2.id, "gh_2");
    snprintf(c2.tenant, sizeof c2.tenant, "ghost");
    CHECK_INT(pg_connector_put(s, &c2), LORE_NOT_FOUND);
    store_connector *g = NULL;
    CHECK_INT(pg_connector_get(s, "gh_1", &g), LORE_OK);
    if (g) {
        CHECK_STR(g->kind, "github");
        CHECK_INT(g->nacl, 1);
        store_connector_free(g);
    }
    CHECK_INT(pg_connector_rotated(s, "other", "gh_1", 7, 8), LORE_NOT_FOUND);
    CHECK_INT(pg_connector_rotated(s, NULL, "gh_1", 7, 8), LORE_OK);
    store_connector *cl = NULL;
    CHECK_INT(pg_connector_list(s, "ghost", &cl, &n), LORE_NOT_FOUND);
    CHECK_INT(pg_connector_list(s, "acme", &cl, &n), LORE_OK);
    CHECK_INT(n, 1);
    if (n) CHECK_INT(cl[0].previous_secret_until_ms, 8);
    store_connectors_free(cl, n);
    /* the tenant's delete takes its secrets and connectors; the server's stay */
    CHECK_INT(pg_tenant_delete(s, "acme"), LORE_OK);
    CHECK_INT(pg_connector_get(s, "gh_1", &g), LORE_NOT_FOUND);
    CHECK_INT(pg_secret_get(s, "acme", "b", &x), LORE_NOT_FOUND);
    CHECK_INT(pg_secret_get(s, "", "srv", &x), LORE_OK);
    store_secret_clear(&x);
    pg_close(s);
}

/* ---- the job queue ---- */

static lore_status enqueue(store *s, const char *tenant, const char *groups, const char *dedup,
                           int64_t now, int64_t cap_tenant, int64_t cap_total,
                           store_enqueue_outcome *o, store_job *out) {
    store_job j;
    memset(&j, 0, sizeof j);
    snprintf(j.tenant, sizeof j.tenant, "%s", tenant);
    snprintf(j.kind, sizeof j.kind, "documents");
    char buf[256], *gv[8];
    size_t ng = 0;
    snprintf(buf, sizeof buf, "%s", groups ? groups : "");
    for (char *p = buf; *p && ng < 8;) {
        gv[ng++] = p;
        char *c = strchr(p, ',');
        if (!c) break;
        *c = 0;
        p = c + 1;
    }
    j.groups = gv;
    j.ngroups = ng;
    j.dedup_key = (char *)dedup;
    j.payload = (uint8_t *)"{\"p\":1}";
    j.payload_len = 7;
    j.weight = 7;
    j.max_attempts = 2;
    lore_status st = pg_job_enqueue(s, &j, 1, cap_tenant, cap_total, now, o);
    if (out) {
        *out = j;
        out->groups = NULL;
        out->ngroups = 0;
        out->dedup_key = NULL;
        out->payload = NULL;
    }
    return st;
}

static int64_t claim_one(store *s, int64_t now, int64_t lease, int64_t *lease_seq) {
    store_job *jobs = NULL;
    size_t n = 0;
    if (pg_job_claim(s, "w", now, lease, 1, 1000, &jobs, &n) != LORE_OK || n != 1) return 0;
    int64_t id = jobs[0].id;
    if (lease_seq) *lease_seq = jobs[0].lease_seq;
    CHECK(jobs[0].payload_len == 7 && !memcmp(jobs[0].payload, "{\"p\":1}", 7));
    store_jobs_free(jobs, n);
    return id;
}

static void finish(store *s, int64_t id, int64_t seq, int state, int64_t now, int *lost) {
    store_job_outcome o = {.id = id,
                           .lease_seq = seq,
                           .state = state,
                           .visible_ms = now,
                           .error = "e",
                           .result = "{}"};
    CHECK_INT(pg_job_finish(s, &o, 1, now), LORE_OK);
    if (lost) *lost = o.lost;
}

static void test_jobs(void) {
    char url[512];
    store *s = open_fresh(url, sizeof url);
    if (!s) return;
    CHECK_INT(pg_tenant_create(s, "acme"), LORE_OK);
    CHECK_INT(pg_tenant_create(s, "beta"), LORE_OK);
    store_enqueue_outcome o;
    store_job a, b, c, d;
    CHECK_INT(enqueue(s, "ghost", "g1", NULL, 100, 0, 0, &o, NULL), LORE_NOT_FOUND);
    CHECK_INT(enqueue(s, "acme", "g1", "k1", 100, 0, 0, &o, &a), LORE_OK);
    CHECK_INT(o, STORE_ENQUEUED);
    CHECK(!strncmp(a.pub, "job_", 4) && strlen(a.pub) == STORE_JOB_PUB_LEN);
    CHECK_INT(a.seq, 1);
    CHECK_INT(enqueue(s, "acme", "g1", "k1", 101, 0, 0, &o, &d), LORE_OK);
    CHECK_INT(o, STORE_ENQUEUE_DUPLICATE);
    CHECK_INT(d.id, a.id);
    CHECK_STR(d.pub, a.pub);
    CHECK_INT(enqueue(s, "acme", "g1,g2", NULL, 102, 0, 0, &o, &b), LORE_OK);
    CHECK_INT(b.seq, 2);
    CHECK_INT(enqueue(s, "beta", "g2", NULL, 103, 0, 0, &o, &c), LORE_OK);
    CHECK_INT(c.seq, 1); /* each tenant counts its own */
    /* caps: acme has 2 pending */
    CHECK_INT(enqueue(s, "acme", "x", NULL, 104, 2, 0, &o, NULL), LORE_OK);
    CHECK_INT(o, STORE_ENQUEUE_TENANT_FULL);
    CHECK_INT(enqueue(s, "acme", "x", NULL, 104, 0, 3, &o, NULL), LORE_OK);
    CHECK_INT(o, STORE_ENQUEUE_QUEUE_FULL);
    int64_t oldest = 0, pending = 0;
    CHECK_INT(pg_job_pending(s, NULL, 200, &oldest, &pending), LORE_OK);
    CHECK_INT(pending, 3);
    CHECK_INT(oldest, 100);
    /* FIFO: a first; b waits behind a (g1); c is beta's, and its g2 is not acme's g2 */
    int64_t seq_a = 0, seq_c = 0, seq_b = 0;
    CHECK_INT(claim_one(s, 200, 1000, &seq_a), a.id);
    CHECK_INT(claim_one(s, 200, 1000000, &seq_c), c.id);
    CHECK_INT(claim_one(s, 200, 1000, NULL), 0);
    int lost = 0;
    finish(s, a.id, seq_a + 1, STORE_JOB_DONE, 300, &lost); /* not this claim's */
    CHECK_INT(lost, 1);
    CHECK_INT(pg_job_renew(s, a.id, seq_a + 1, 5000), LORE_NOT_FOUND);
    CHECK_INT(pg_job_renew(s, a.id, seq_a, 5000), LORE_OK);
    finish(s, a.id, seq_a, STORE_JOB_DONE, 300, &lost);
    CHECK_INT(lost, 0);
    CHECK_INT(claim_one(s, 300, 1000, &seq_b), b.id);
    /* b's lease expires: claimed again (attempt 2), expires again: buried */
    CHECK_INT(claim_one(s, 1400, 1000, &seq_b), b.id);
    CHECK_INT(claim_one(s, 2500, 1000, NULL), 0);
    store_job *g = NULL;
    CHECK_INT(pg_job_get(s, "acme", b.id, 0, &g), LORE_OK);
    if (g) {
        CHECK_INT(g->state, STORE_JOB_DEAD);
        CHECK(g->error && strstr(g->error, "lease expired"));
        store_job_free(g);
    }
    CHECK_INT(pg_job_get(s, "beta", b.id, 0, &g), LORE_NOT_FOUND); /* another tenant's */
    CHECK_INT(pg_job_find(s, "acme", b.pub, 1, &g), LORE_OK);
    store_job_free(g);
    char num[24];
    snprintf(num, sizeof num, "%lld", (long long)b.id);
    CHECK_INT(pg_job_find(s, "acme", num, 0, &g), LORE_NOT_FOUND); /* no legacy numbers */
    CHECK_INT(pg_job_get_dedup(s, "acme", "k1", &g), LORE_OK);
    if (g) CHECK_INT(g->id, a.id);
    store_job_free(g);
    store_job_count *counts = NULL;
    size_t nc = 0;
    CHECK_INT(pg_job_counts(s, &counts, &nc), LORE_OK);
    CHECK_INT(nc, 2); /* beta leased, acme dead */
    if (nc == 2) {
        CHECK_INT(counts[0].state, STORE_JOB_LEASED);
        CHECK_STR(counts[1].tenant, "acme");
        CHECK_INT(counts[1].state, STORE_JOB_DEAD);
    }
    free(counts);
    /* retry: ready again, attempts reset */
    CHECK_INT(pg_job_retry(s, "acme", a.id, 3000), LORE_INVALID); /* done, not dead */
    CHECK_INT(pg_job_retry(s, "acme", b.id, 3000), LORE_OK);
    CHECK_INT(claim_one(s, 3000, 1000, &seq_b), b.id);
    finish(s, b.id, seq_b, STORE_JOB_READY, 3000, NULL); /* failed: again from 3000 */
    CHECK_INT(claim_one(s, 3000, 1000, &seq_b), b.id);
    /* released: put back without counting the attempt, runnable at once */
    store_job_outcome rel = {
        .id = b.id, .lease_seq = seq_b, .state = STORE_JOB_READY, .release = 1, .visible_ms = 0};
    CHECK_INT(pg_job_finish(s, &rel, 1, 3000), LORE_OK);
    CHECK_INT(rel.lost, 0);
    CHECK_INT(pg_job_get(s, NULL, b.id, 0, &g), LORE_OK);
    if (g) CHECK_INT(g->attempts, 1);
    store_job_free(g);
    CHECK_INT(claim_one(s, 3000, 1000, &seq_b), b.id);
    finish(s, b.id, seq_b, STORE_JOB_DONE, 3100, NULL);
    /* list pages by seq */
    store_job *list = NULL;
    size_t n = 0;
    CHECK_INT(pg_job_list(s, "acme", -1, 0, 1, &list, &n), LORE_OK);
    CHECK_INT(n, 1);
    if (n) CHECK_INT(list[0].seq, 2);
    store_jobs_free(list, n);
    CHECK_INT(pg_job_list(s, "acme", -1, 2, 10, &list, &n), LORE_OK);
    CHECK_INT(n, 1);
    if (n) CHECK_INT(list[0].seq, 1);
    store_jobs_free(list, n);
    CHECK_INT(pg_job_list(s, NULL, -1, 2, 10, &list, &n), LORE_INVALID);
    /* purge the done one */
    int64_t deleted = 0;
    CHECK_INT(pg_job_purge(s, "acme", STORE_JOB_DONE, 10000, NULL, NULL, &deleted), LORE_OK);
    CHECK_INT(deleted, 2);
    /* the tenant's delete takes its jobs */
    CHECK_INT(pg_tenant_delete(s, "acme"), LORE_OK);
    CHECK_INT(pg_job_pending(s, NULL, 10000, &oldest, &pending), LORE_OK);
    CHECK_INT(pending, 1); /* beta's */
    pg_close(s);
}

/* A logical clock shared by the processes: strictly increasing. */
static int64_t tick(const char *url) {
    return (int64_t)sql_num(url, "SELECT nextval('public.clock')");
}

/* Four processes claim one queue at once (groups shared between jobs):
 * every job runs once, and a group's jobs run one after another in order
 * (each starts after the previous one finished). */
static void test_jobs_concurrent(void) {
    char url[512], err[256];
    store *s = open_fresh(url, sizeof url);
    if (!s) return;
    CHECK(sql_ok(url, "CREATE SEQUENCE public.clock START 10;"
                      " CREATE TABLE public.claimed(job bigint PRIMARY KEY, t bigint)"));
    CHECK_INT(pg_tenant_create(s, "acme"), LORE_OK);
    CHECK_INT(pg_tenant_create(s, "beta"), LORE_OK);
    uint64_t seed = test_seed();
    enum { NJOBS = 120, NGROUPS = 7 };
    store_enqueue_outcome o;
    for (int i = 0; i < NJOBS; i++) {
        char groups[64];
        int g1 = (int)(test_rand() % NGROUPS), g2 = (int)(test_rand() % NGROUPS);
        snprintf(groups, sizeof groups, "g%d,g%d", g1, g2);
        CHECK_INT(enqueue(s, i % 3 ? "acme" : "beta", groups, NULL, 1, 0, 0, &o, NULL), LORE_OK);
    }
    (void)seed;
    pg_close(s);
    pid_t kids[4];
    for (int k = 0; k < 4; k++) {
        if ((kids[k] = fork()) == 0) {
            store *w = NULL;
            if (pg_open(url, 0, &w, err, sizeof err) != LORE_OK) _exit(2);
            int idle = 0;
            while (idle < 50) {
                store_job *jobs = NULL;
                size_t n = 0;
                if (pg_job_claim(w, "w", tick(url), 1000000000, 3, 1000, &jobs, &n) != LORE_OK)
                    _exit(3);
                if (!n) {
                    idle++;
                    (void)pg_job_wait(w, 20, -1);
                    continue;
                }
                idle = 0;
                /* when the claim had committed, by the shared clock */
                char ins[256];
                int len = snprintf(ins, sizeof ins,
                                   "INSERT INTO public.claimed SELECT j, nextval('public.clock')"
                                   " FROM unnest(ARRAY[0");
                for (size_t i = 0; i < n; i++)
                    len += snprintf(ins + len, sizeof ins - (size_t)len, ",%lld",
                                    (long long)jobs[i].id);
                snprintf(ins + len, sizeof ins - (size_t)len, "]) j WHERE j > 0");
                if (!sql_ok(url, ins)) _exit(6);
                store_job_outcome out[3];
                for (size_t i = 0; i < n; i++)
                    out[i] = (store_job_outcome){
                        .id = jobs[i].id, .lease_seq = jobs[i].lease_seq, .state = STORE_JOB_DONE};
                if (pg_job_finish(w, out, n, tick(url)) != LORE_OK) _exit(4);
                for (size_t i = 0; i < n; i++)
                    if (out[i].lost) _exit(5);
                store_jobs_free(jobs, n);
            }
            pg_close(w);
            _exit(0);
        }
    }
    for (int k = 0; k < 4; k++) {
        int status = 0;
        waitpid(kids[k], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    CHECK_INT(sql_num(url, "SELECT count(*) FROM lore.jobs WHERE state=2 AND attempts=1"), NJOBS);
    CHECK_INT(sql_num(url, "SELECT count(*) FROM lore.job_groups"), 0);
    CHECK_INT(sql_num(url, "SELECT coalesce(sum(n),0) FROM lore.job_pending"), 0);
    /* FIFO: for every pair of jobs sharing a group, the later one's claim
     * was seen committed after the earlier one's finish began (finished_ms
     * is the clock read before the finish) */
    CHECK_INT(sql_num(url, "SELECT count(*) FROM lore.jobs x JOIN lore.jobs y ON x.tenant=y.tenant"
                           " AND x.id < y.id AND string_to_array(x.groups, E'\\n')"
                           " && string_to_array(y.groups, E'\\n')"
                           " JOIN public.claimed cy ON cy.job = y.id WHERE cy.t < x.finished_ms"),
              0);
    CHECK_INT(sql_num(url, "SELECT count(*) FROM public.claimed"), NJOBS);
}

/* job_wait answers LORE_OK once listening starts, LORE_TIMEOUT when
 * nothing happened or its cancel fd is readable, LORE_OK when another store
 * enqueues (NOTIFY), long before its timeout; with listen=off it is
 * unsupported. */
static void test_job_wait(void) {
    char url[512], err[256], off[600];
    store *s = open_fresh(url, sizeof url);
    if (!s) return;
    CHECK_INT(pg_tenant_create(s, "acme"), LORE_OK);
    CHECK_INT(pg_job_wait(s, 120000, -1), LORE_OK); /* listening from now on */
    CHECK_INT(pg_job_wait(s, 1, -1), LORE_TIMEOUT);
    int fds[2];
    CHECK(pipe(fds) == 0);
    CHECK(write(fds[1], "x", 1) == 1);
    CHECK_INT(pg_job_wait(s, 120000, fds[0]), LORE_TIMEOUT); /* at once: cancelled */
    close(fds[0]);
    close(fds[1]);
    store *quiet = NULL;
    snprintf(off, sizeof off, "%s?listen=off", url);
    CHECK_INT(pg_open(off, 0, &quiet, err, sizeof err), LORE_OK);
    CHECK_INT(pg_job_wait(quiet, 120000, -1), LORE_UNSUPPORTED);
    pg_close(quiet);
    pid_t kid = fork();
    if (kid == 0) {
        store *e = NULL;
        store_enqueue_outcome o;
        if (pg_open(url, 0, &e, err, sizeof err) != LORE_OK) _exit(2);
        lore_status st = enqueue(e, "acme", "g", NULL, 1, 0, 0, &o, NULL);
        pg_close(e);
        _exit(st == LORE_OK ? 0 : 1);
    }
    int64_t t0 = lore_now_ms();
    CHECK_INT(pg_job_wait(s, 120000, -1), LORE_OK);
    /* woken, not timed out (the margin is two minutes, not a speed claim) */
    CHECK(lore_now_ms() - t0 < 120000);
    int status = 0;
    waitpid(kid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(claim_one(s, 10, 1000, NULL) > 0);
    pg_close(s);
}

int main(void) {
    base_url = getenv("LORE_TEST_PG_URL");
    if (!base_url) {
        fprintf(stderr, "LORE_TEST_PG_URL is not set: run through tests/support/pg.sh\n");
        return 1;
    }
    test_open_and_migrate();
    test_concurrent_migrate();
    test_tenants();
    test_isolation();
    test_keys_sessions();
    test_secrets_connectors();
    test_jobs();
    test_jobs_concurrent();
    test_job_wait();
    return test_summary();
}
