/* API key records in the store: put/get/list/revoke contracts, the control
 * migration on a database made before keys existed, tenant deletion, and the
 * cost of the per-request lookup. */
#include <sqlite3.h>

#include "store/store.h"
#include "test.h"
#include "util/timeutil.h"

static store_key make_key(const char *id, const char *tenant) {
    store_key k = {0};
    snprintf(k.id, sizeof k.id, "%s", id);
    snprintf(k.tenant, sizeof k.tenant, "%s", tenant);
    k.scopes = 3;
    snprintf(k.hash, sizeof k.hash, "%064d", 7);
    k.created_ms = 1000;
    return k;
}

/* A control.db as the binary before API keys left it: migration 1 only. */
static void make_v1_control(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/control.db", dir);
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_INT(
        sqlite3_exec(db,
                     "CREATE TABLE schema_migrations(version INTEGER PRIMARY KEY,"
                     " applied_ms INTEGER NOT NULL);"
                     "CREATE TABLE tenants(name TEXT PRIMARY KEY, created_ms INTEGER NOT NULL);"
                     "INSERT INTO schema_migrations VALUES(1, 0);",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
}

int main(void) {
    char dir[256], err[512];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    make_v1_control(dir);
    store *s = NULL;
    CHECK_INT(store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err),
              LORE_OK); /* applies migration 2 */
    if (!s) return test_summary();
    CHECK_INT(store_tenant_create(s, "acme"), LORE_OK);
    CHECK_INT(store_tenant_create(s, "beta"), LORE_OK);

    /* put: validation, clashes, missing tenant */
    char *pr[] = {"user:ann@example.com", "group:eng"};
    store_key k = make_key("0123456789ab", "acme");
    k.name = "ci";
    k.principals = pr;
    k.nprincipals = 2;
    k.expires_ms = 99999;
    CHECK_INT(store_key_put(s, &k), LORE_OK);
    CHECK_INT(store_key_put(s, &k), LORE_EXISTS);
    store_key other = make_key("0123456789ab", "beta");
    CHECK_INT(store_key_put(s, &other), LORE_EXISTS); /* ids are unique across tenants */
    store_key ghost = make_key("aaaaaaaaaaaa", "ghost");
    CHECK_INT(store_key_put(s, &ghost), LORE_NOT_FOUND);
    store_key bad = make_key("0123456789AB", "acme");
    CHECK_INT(store_key_put(s, &bad), LORE_INVALID); /* upper-case id */
    bad = make_key("0123456789a", "acme");
    CHECK_INT(store_key_put(s, &bad), LORE_INVALID); /* short id */
    bad = make_key("bbbbbbbbbbbb", "acme");
    bad.hash[3] = 'X';
    CHECK_INT(store_key_put(s, &bad), LORE_INVALID);
    char *nl[] = {"user:a\nuser:b"};
    bad = make_key("bbbbbbbbbbbb", "acme");
    bad.principals = nl;
    bad.nprincipals = 1;
    CHECK_INT(store_key_put(s, &bad), LORE_INVALID); /* would split into two */
    char *empty[] = {""};
    bad.principals = empty;
    CHECK_INT(store_key_put(s, &bad), LORE_INVALID);

    /* get round trip */
    store_key *got = NULL;
    CHECK_INT(store_key_get(s, "0123456789ab", &got), LORE_OK);
    if (got) {
        CHECK_STR(got->tenant, "acme");
        CHECK_STR(got->name, "ci");
        CHECK_INT(got->scopes, 3);
        CHECK_INT(got->nprincipals, 2);
        if (got->nprincipals == 2) CHECK_STR(got->principals[1], "group:eng");
        CHECK_STR(got->hash, k.hash);
        CHECK_INT(got->created_ms, 1000);
        CHECK_INT(got->expires_ms, 99999);
        CHECK_INT(got->revoked_ms, 0);
        int64_t made = 0; /* the tenant's creation, read with the key */
        CHECK_INT(store_tenant_created(s, "acme", &made), LORE_OK);
        CHECK(made > 0);
        CHECK_INT(got->tenant_created_ms, made);
    }
    store_key_free(got);
    CHECK_INT(store_key_get(s, "ffffffffffff", &got), LORE_NOT_FOUND);
    CHECK(got == NULL);
    CHECK_INT(store_key_get(s, "0123", &got), LORE_NOT_FOUND);
    CHECK_INT(store_key_get(s, "0123456789ab' OR 1=1 --", &got), LORE_NOT_FOUND);

    /* a key without name or principals */
    store_key bare = make_key("cccccccccccc", "beta");
    bare.created_ms = 500;
    CHECK_INT(store_key_put(s, &bare), LORE_OK);
    CHECK_INT(store_key_get(s, "cccccccccccc", &got), LORE_OK);
    if (got) {
        CHECK(got->name == NULL);
        CHECK_INT(got->nprincipals, 0);
        CHECK(got->principals == NULL);
    }
    store_key_free(got);

    /* list: per tenant, all, unknown tenant */
    store_key *list = NULL;
    size_t n = 0;
    CHECK_INT(store_key_list(s, "acme", &list, &n), LORE_OK);
    CHECK_INT(n, 1);
    if (n == 1) CHECK_STR(list[0].id, "0123456789ab");
    store_keys_free(list, n);
    CHECK_INT(store_key_list(s, NULL, &list, &n), LORE_OK);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_STR(list[0].tenant, "acme"); /* by tenant, then creation */
        CHECK_STR(list[1].tenant, "beta");
    }
    store_keys_free(list, n);
    CHECK_INT(store_key_list(s, "nope", &list, &n), LORE_NOT_FOUND);
    CHECK(list == NULL);
    CHECK_INT(n, 0);

    /* revoke: the wrong tenant is not found, twice keeps the first time */
    CHECK_INT(store_key_revoke(s, "beta", "0123456789ab", 2000), LORE_NOT_FOUND);
    CHECK_INT(store_key_revoke(s, "acme", "ffffffffffff", 2000), LORE_NOT_FOUND);
    CHECK_INT(store_key_revoke(s, "acme", "0123456789ab", 2000), LORE_OK);
    CHECK_INT(store_key_revoke(s, "acme", "0123456789ab", 3000), LORE_OK);
    CHECK_INT(store_key_get(s, "0123456789ab", &got), LORE_OK);
    if (got) CHECK_INT(got->revoked_ms, 2000);
    store_key_free(got);
    CHECK_INT(store_key_revoke(s, NULL, "cccccccccccc", 4000), LORE_OK); /* any tenant */
    CHECK_INT(store_key_get(s, "cccccccccccc", &got), LORE_OK);
    if (got) CHECK_INT(got->revoked_ms, 4000);
    store_key_free(got);

    /* lookup cost: the statement is kept on the store, so this is one
     * B-tree descent plus the record's allocations */
    enum { N = 20000 };
    int64_t t0 = lore_mono_ns();
    int found = 0;
    for (int i = 0; i < N; i++) {
        if (store_key_get(s, "0123456789ab", &got) == LORE_OK) found++;
        store_key_free(got);
    }
    double us = (double)(lore_mono_ns() - t0) / 1e3 / N;
    printf("store_key_get: %.2f us per lookup (%d lookups)\n", us, N);
    CHECK_INT(found, N);
    /* The figure is printed, not asserted: a timing bound fails on a loaded
     * machine (it did, at 200 us under ASan beside other builds). */

    /* deleting a tenant deletes its keys; a new tenant of that name has none */
    CHECK_INT(store_tenant_delete(s, "acme"), LORE_OK);
    CHECK_INT(store_key_get(s, "0123456789ab", &got), LORE_NOT_FOUND);
    CHECK_INT(store_tenant_create(s, "acme"), LORE_OK);
    CHECK_INT(store_key_list(s, "acme", &list, &n), LORE_OK);
    CHECK_INT(n, 0);
    store_keys_free(list, n);
    CHECK_INT(store_key_get(s, "cccccccccccc", &got), LORE_OK); /* beta's key untouched */
    store_key_free(got);
    store_close(s);

    /* the records survive reopening; the control database has every
     * migration this binary knows (tenants, keys, jobs, public job ids,
     * secrets, connectors) */
    CHECK_INT(store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err), LORE_OK);
    CHECK_INT(store_key_get(s, "cccccccccccc", &got), LORE_OK);
    store_key_free(got);
    store_close(s);
    char path[512];
    snprintf(path, sizeof path, "%s/control.db", dir);
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_INT(sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_migrations", -1, &q, NULL),
              SQLITE_OK);
    CHECK_INT(sqlite3_step(q), SQLITE_ROW);
    int64_t want_control = 0, want_tenant = 0;
    store_schema_versions(&want_control, &want_tenant);
    CHECK_INT(sqlite3_column_int(q, 0), want_control); /* every migration, the last included */
    sqlite3_finalize(q);
    sqlite3_close(db);

    test_rmtree(dir);
    return test_summary();
}
