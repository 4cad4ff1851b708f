/* What only the embedded (SQLite) store has: its data directory and files,
 * the schema_migrations table of each database, opening without creating,
 * and what it does with a database from a newer lore or with garbage where
 * control.db should be. The contract every backend keeps is test_store.c. */
#include <sqlite3.h>
#include <sys/stat.h>

#include "store/store.h"
#include "test.h"

/* store_open without STORE_OPEN_CREATE creates nothing, says why nothing
 * was found, and
 * opens what store_open made. */
static void test_open_existing(void) {
    const char *base = test_tmpdir();
    char dir[300], err[512], path[400];
    store *s = (store *)1;
    snprintf(dir, sizeof dir, "%s/data", base);
    CHECK_INT(store_open(dir, 0, &s, err, sizeof err), LORE_NOT_FOUND);
    CHECK(s == NULL);
    CHECK_STR(err, "the directory does not exist");
    struct stat sb;
    CHECK(stat(dir, &sb) != 0);
    CHECK(mkdir(dir, 0700) == 0);
    CHECK_INT(store_open(dir, 0, &s, err, sizeof err), LORE_NOT_FOUND);
    CHECK_STR(err, "the directory holds no control.db");
    snprintf(path, sizeof path, "%s/control.db", dir);
    CHECK(stat(path, &sb) != 0);
    snprintf(path, sizeof path, "%s/tenants", dir);
    CHECK(stat(path, &sb) != 0);
    CHECK_INT(store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err), LORE_OK);
    CHECK_INT(store_tenant_create(s, "acme"), LORE_OK);
    store_close(s);
    s = NULL;
    CHECK_INT(store_open(dir, 0, &s, err, sizeof err), LORE_OK);
    store_tenant *t = NULL;
    CHECK_INT(store_tenant_open(s, "acme", &t), LORE_OK);
    store_tenant_close(t);
    store_close(s);
    test_rmtree(base);
}

/* A deleted tenant's directory goes; the migrations are recorded; a
 * tenant database from a newer lore is refused; garbage for control.db is
 * an error naming it. */
static void test_files_and_versions(void) {
    const char *dir = test_tmpdir();
    store *s = NULL;
    store_tenant *t = NULL;
    char err[512], path[512];
    CHECK_INT(store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err), LORE_OK);
    if (!s) return;
    CHECK_STR(store_backend_name(s), "sqlite");
    CHECK_INT(store_tenant_create(s, "acme"), LORE_OK);
    CHECK_INT(store_tenant_create(s, "beta"), LORE_OK);
    snprintf(path, sizeof path, "%s/tenants/beta/lore.db", dir);
    struct stat sb;
    CHECK(stat(path, &sb) == 0);
    CHECK_INT(store_tenant_delete(s, "beta"), LORE_OK);
    snprintf(path, sizeof path, "%s/tenants/beta", dir);
    CHECK(stat(path, &sb) != 0);
    store_close(s);

    /* migrations are recorded; a database from a newer lore is refused */
    snprintf(path, sizeof path, "%s/tenants/acme/lore.db", dir);
    sqlite3 *db;
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *q;
    CHECK_INT(sqlite3_prepare_v2(db, "SELECT count(*) FROM schema_migrations", -1, &q, NULL),
              SQLITE_OK);
    CHECK_INT(sqlite3_step(q), SQLITE_ROW);
    CHECK(sqlite3_column_int(q, 0) >= 1);
    sqlite3_finalize(q);
    CHECK_INT(sqlite3_exec(db, "INSERT INTO schema_migrations VALUES(999, 0)", 0, 0, 0), SQLITE_OK);
    sqlite3_close(db);
    CHECK_INT(store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err), LORE_OK);
    CHECK_INT(store_tenant_open(s, "acme", &t), LORE_UNSUPPORTED);
    store_close(s);

    /* garbage where the control database should be */
    const char *dir2 = test_tmpdir();
    char dir2c[256];
    snprintf(dir2c, sizeof dir2c, "%s", dir2);
    snprintf(path, sizeof path, "%s/control.db", dir2c);
    FILE *f = fopen(path, "w");
    fputs("this is not a database, just some text that is long enough to be read", f);
    fclose(f);
    s = NULL;
    lore_status st = store_open(dir2c, STORE_OPEN_CREATE, &s, err, sizeof err);
    CHECK(st != LORE_OK);
    CHECK(s == NULL);
    CHECK(strstr(err, "control.db") != NULL);
    test_rmtree(dir2c);
    test_rmtree(dir);
}

/* A sqlite: URL and a plain path name the same store; an unknown scheme is
 * refused naming the accepted forms. */
static void test_urls(void) {
    const char *dir = test_tmpdir();
    char url[400], err[512];
    store *s = NULL;
    snprintf(url, sizeof url, "sqlite:%s", dir);
    CHECK_INT(store_open(url, STORE_OPEN_CREATE, &s, err, sizeof err), LORE_OK);
    if (s) CHECK_INT(store_tenant_create(s, "acme"), LORE_OK);
    store_close(s);
    s = NULL;
    CHECK_INT(store_open(dir, 0, &s, err, sizeof err), LORE_OK);
    int64_t created = 0;
    if (s) CHECK_INT(store_tenant_created(s, "acme", &created), LORE_OK);
    store_close(s);
    s = (store *)1;
    CHECK_INT(store_open("mysql://db/x", STORE_OPEN_CREATE, &s, err, sizeof err), LORE_INVALID);
    CHECK(s == NULL);
    CHECK(strstr(err, "sqlite:DIR") && strstr(err, "postgres://"));
    CHECK_INT(store_open("", 0, &s, err, sizeof err), LORE_INVALID);
    CHECK_INT(store_open("sqlite:", STORE_OPEN_CREATE, &s, err, sizeof err), LORE_INVALID);
#ifndef LORE_HAVE_POSTGRES
    CHECK_INT(store_open("postgres://lore@127.0.0.1/lore", 0, &s, err, sizeof err),
              LORE_UNSUPPORTED);
    CHECK(strstr(err, "built without PostgreSQL") != NULL);
#endif
    test_rmtree(dir);
}

/* STORE_OPEN_NO_MIGRATE leaves an older database as it is: the store
 * opens, the schema status shows the pending migration, a tenant with one
 * pending is refused, and store_migrate applies them. */
static void test_no_migrate(void) {
    const char *dir = test_tmpdir();
    char err[512], path[512];
    store *s = NULL;
    CHECK_INT(store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err), LORE_OK);
    if (!s) return;
    CHECK_INT(store_tenant_create(s, "acme"), LORE_OK);
    store_close(s);
    snprintf(path, sizeof path, "%s/tenants/acme/lore.db", dir);
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_INT(sqlite3_exec(db,
                           "DELETE FROM schema_migrations; DROP TABLE kv; DROP TABLE chunks;"
                           " DROP TABLE documents",
                           0, 0, 0),
              SQLITE_OK);
    sqlite3_close(db);
    s = NULL;
    CHECK_INT(store_open(dir, STORE_OPEN_NO_MIGRATE, &s, err, sizeof err), LORE_OK);
    if (!s) return;
    store_schema_status *st = NULL;
    size_t n = 0;
    CHECK_INT(store_migration_status(s, &st, &n), LORE_OK);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_INT(st[0].applied, st[0].known);
        CHECK_STR(st[1].tenant, "acme");
        CHECK_INT(st[1].applied, 0);
        CHECK(st[1].known >= 1);
    }
    free(st);
    store_tenant *t = NULL;
    CHECK_INT(store_tenant_open(s, "acme", &t), LORE_UNSUPPORTED);
    CHECK_INT(store_migrate(s, err, sizeof err), LORE_OK);
    CHECK_INT(store_tenant_open(s, "acme", &t), LORE_OK);
    store_tenant_close(t);
    store_close(s);
    test_rmtree(dir);
}

int main(void) {
    test_open_existing();
    test_files_and_versions();
    test_urls();
    test_no_migrate();
    return test_summary();
}
