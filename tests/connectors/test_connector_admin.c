/* Connector instances (connector_admin.c over store_connector_* and the
 * sealed secrets): create checks its fields and seals a generated or given
 * secret (the control database holds no secret in clear), get opens it,
 * rotate keeps the previous one for the grace period only, delete removes
 * the row and both secrets, and deleting the tenant deletes its
 * connectors. */
#include <sys/stat.h>

#include "connectors/connector_admin.h"
#include "secrets/secrets.h"
#include "test.h"
#include "util/timeutil.h"

static store *s;
static seal_keyring *k;
static char dir[256];

static int file_contains(const char *path, const char *needle) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    static char buf[8 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (!memcmp(buf + i, needle, m)) return 1;
    return 0;
}

static size_t secrets_of(const char *tenant) {
    secret_info *list = NULL;
    size_t n = 0;
    CHECK_INT(secrets_list(s, tenant, &list, &n), LORE_OK);
    free(list);
    return n;
}

static void test_create(void) {
    char secret[CONNECTOR_SECRET_MAX + 1], err[256];
    store_connector *c = NULL;
    static const char *const acl[] = {"group:eng", "user:ana@example.com"};
    connector_new req = {"acme", "github", NULL, acl, 2, NULL};
    CHECK_INT(connector_admin_create(k, s, &req, &c, secret, err, sizeof err), LORE_OK);
    CHECK(c && connector_id_valid(c->id));
    CHECK_INT(strlen(secret), CONNECTOR_SECRET_GENERATED * 2);
    if (c) {
        CHECK_STR(c->source, "github"); /* default: the kind */
        CHECK_INT(c->nacl, 2);
        CHECK_STR(c->acl[1], "user:ana@example.com");
    }
    /* opened again from its sealed form */
    store_connector *g = NULL;
    connector_secrets cs;
    connector_secrets_init(&cs);
    CHECK_INT(
        connector_admin_get(k, s, "acme", c ? c->id : "", lore_now_ms(), &g, &cs, err, sizeof err),
        LORE_OK);
    CHECK(cs.current.len == strlen(secret) && !memcmp(cs.current.data, secret, cs.current.len));
    CHECK(!cs.has_previous);
    connector_secrets_clear(&cs);
    store_connector_free(g);
    /* another tenant's id is not found */
    CHECK_INT(store_tenant_create(s, "rival"), LORE_OK);
    CHECK_INT(connector_admin_get(k, s, "rival", c ? c->id : "", lore_now_ms(), &g, NULL, err,
                                  sizeof err),
              LORE_NOT_FOUND);
    /* no secret in clear in the control database (nor its WAL) */
    char path[400];
    snprintf(path, sizeof path, "%s/control.db", dir);
    CHECK(!file_contains(path, secret));
    snprintf(path, sizeof path, "%s/control.db-wal", dir);
    CHECK(!file_contains(path, secret));

    /* refusals name the field */
    connector_new bad = {"acme", "gitlab", NULL, NULL, 0, NULL};
    CHECK_INT(connector_admin_create(k, s, &bad, &g, secret, err, sizeof err), LORE_INVALID);
    CHECK(strstr(err, "gitlab") != NULL);
    bad.kind = "github";
    bad.source = "has space";
    CHECK_INT(connector_admin_create(k, s, &bad, &g, secret, err, sizeof err), LORE_INVALID);
    CHECK(strstr(err, "source") != NULL);
    bad.source = NULL;
    static const char *const badacl[] = {"nobody"};
    bad.acl = badacl;
    bad.nacl = 1;
    CHECK_INT(connector_admin_create(k, s, &bad, &g, secret, err, sizeof err), LORE_INVALID);
    CHECK(strstr(err, "nobody") != NULL);
    bad.acl = NULL;
    bad.nacl = 0;
    bad.secret = "with space";
    CHECK_INT(connector_admin_create(k, s, &bad, &g, secret, err, sizeof err), LORE_INVALID);
    bad.secret = "";
    CHECK_INT(connector_admin_create(k, s, &bad, &g, secret, err, sizeof err), LORE_INVALID);
    bad.secret = NULL;
    bad.tenant = "nope";
    CHECK_INT(connector_admin_create(k, s, &bad, &g, secret, err, sizeof err), LORE_NOT_FOUND);
    CHECK_INT(secrets_of("nope"), 0); /* nothing left behind */
    store_connector_free(c);
}

static void test_rotate_delete(void) {
    char secret[CONNECTOR_SECRET_MAX + 1], next[CONNECTOR_SECRET_MAX + 1], err[256];
    store_connector *c = NULL, *r = NULL, *g = NULL;
    connector_new req = {"acme", "github", "gh-two", NULL, 0, "given-secret"};
    CHECK_INT(connector_admin_create(k, s, &req, &c, secret, err, sizeof err), LORE_OK);
    CHECK_STR(secret, "given-secret");
    const char *id = c ? c->id : "";
    int64_t t0 = lore_now_ms();
    CHECK_INT(connector_admin_rotate(k, s, "acme", id, 60, NULL, &r, next, err, sizeof err),
              LORE_OK);
    CHECK(strcmp(next, secret) && strlen(next) == CONNECTOR_SECRET_GENERATED * 2);
    CHECK(r && r->previous_secret_until_ms >= t0 + 60000 && r->secret_rotated_ms >= t0);
    connector_secrets cs;
    connector_secrets_init(&cs);
    CHECK_INT(connector_admin_get(k, s, NULL, id, lore_now_ms(), &g, &cs, err, sizeof err),
              LORE_OK);
    CHECK(cs.current.len == strlen(next) && !memcmp(cs.current.data, next, cs.current.len));
    CHECK(cs.has_previous && cs.previous.len == strlen(secret) &&
          !memcmp(cs.previous.data, secret, cs.previous.len));
    connector_secrets_clear(&cs);
    store_connector_free(g);
    /* past the grace: no previous */
    connector_secrets_init(&cs);
    CHECK_INT(connector_admin_get(k, s, NULL, id, t0 + 61000, &g, &cs, err, sizeof err), LORE_OK);
    CHECK(!cs.has_previous);
    connector_secrets_clear(&cs);
    store_connector_free(g);
    lore_buf prev;
    lore_buf_init(&prev, 4096);
    CHECK_INT(connector_admin_previous(k, s, c, t0 + 61000, &prev, err, sizeof err),
              LORE_NOT_FOUND);
    CHECK_INT(connector_admin_previous(k, s, c, lore_now_ms(), &prev, err, sizeof err), LORE_OK);
    lore_buf_free(&prev);
    store_connector_free(r);
    r = NULL;
    /* grace 0: the previous secret is gone at once */
    CHECK_INT(
        connector_admin_rotate(k, s, "acme", id, 0, "third-secret", &r, next, err, sizeof err),
        LORE_OK);
    CHECK(r && r->previous_secret_until_ms == 0);
    connector_secrets_init(&cs);
    CHECK_INT(connector_admin_get(k, s, NULL, id, lore_now_ms(), &g, &cs, err, sizeof err),
              LORE_OK);
    CHECK(!cs.has_previous);
    CHECK(cs.current.len == 12 && !memcmp(cs.current.data, "third-secret", 12));
    connector_secrets_clear(&cs);
    store_connector_free(g);
    store_connector_free(r);
    CHECK_INT(connector_admin_rotate(k, s, "acme", id, -1, NULL, &r, next, err, sizeof err),
              LORE_INVALID);
    CHECK_INT(connector_admin_rotate(k, s, "rival", id, 0, NULL, &r, next, err, sizeof err),
              LORE_NOT_FOUND);
    /* delete: row and secrets */
    size_t before = secrets_of("acme");
    CHECK_INT(connector_admin_delete(s, "rival", id), LORE_NOT_FOUND);
    CHECK_INT(connector_admin_delete(s, "acme", id), LORE_OK);
    CHECK_INT(connector_admin_delete(s, "acme", id), LORE_NOT_FOUND);
    CHECK_INT(secrets_of("acme"), before - 1);
    CHECK_INT(store_connector_get(s, id, &g), LORE_NOT_FOUND);
    store_connector_free(c);
}

static void test_tenant_delete(void) {
    store_connector *list = NULL;
    size_t n = 0;
    CHECK_INT(connector_admin_list(s, "acme", &list, &n), LORE_OK);
    CHECK(n >= 1);
    char id[64];
    snprintf(id, sizeof id, "%s", n ? list[0].id : "");
    store_connectors_free(list, n);
    CHECK_INT(store_tenant_delete(s, "acme"), LORE_OK);
    store_connector *g = NULL;
    CHECK_INT(store_connector_get(s, id, &g), LORE_NOT_FOUND);
    CHECK_INT(connector_admin_list(s, NULL, &list, &n), LORE_OK);
    CHECK_INT(n, 0);
    store_connectors_free(list, n);
    CHECK_INT(connector_admin_list(s, "acme", &list, &n), LORE_NOT_FOUND);
    /* re-created under the same name: none of the old connectors or secrets */
    CHECK_INT(store_tenant_create(s, "acme"), LORE_OK);
    CHECK_INT(secrets_of("acme"), 0);
}

int main(void) {
    char err[256];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    CHECK_INT(store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err), LORE_OK);
    CHECK_INT(store_tenant_create(s, "acme"), LORE_OK);
    CHECK_INT(
        seal_keyring_new("0123456789abcdef0123456789abcdef-test-key", NULL, &k, err, sizeof err),
        LORE_OK);
    test_create();
    test_rotate_delete();
    test_tenant_delete();
    seal_keyring_free(k);
    store_close(s);
    return test_summary();
}
