/* secrets/secrets.c and the store's sealed secrets: set, get, list, delete
 * (and with the tenant), the keyring from the configuration (master.key in
 * dev mode), rotation from key A to key B, check_all, `secret:NAME`
 * settings, and no clear value in control.db. */
#include <pthread.h>
#include <sys/stat.h>

#include "secrets/secrets.h"
#include "test.h"

#define KEY_A "A-master-key-of-at-least-32-characters"
#define KEY_B "B-master-key-of-at-least-32-characters"
#define KEY_C "C-master-key-of-at-least-32-characters"

static seal_keyring *ring(const char *cur, const char *prev) {
    seal_keyring *k = NULL;
    char err[256];
    if (seal_keyring_new(cur, prev, &k, err, sizeof err) != LORE_OK) {
        fprintf(stderr, "keyring: %s\n", err);
        exit(2);
    }
    return k;
}

static lore_status get_str(const seal_keyring *k, store *s, const char *t, const char *n, char *out,
                           size_t size) {
    lore_buf b;
    lore_buf_init(&b, SECRET_VALUE_MAX);
    char err[512];
    lore_status st = secrets_get(k, s, t, n, &b, err, sizeof err);
    if (st == LORE_OK) snprintf(out, size, "%s", b.data);
    lore_buf_free(&b);
    return st;
}

static lore_status set_str(const seal_keyring *k, store *s, const char *t, const char *n,
                           const char *v) {
    return secrets_set(k, s, t, n, (const uint8_t *)v, strlen(v));
}

/* 1 if the file holds the bytes anywhere. */
static int file_has(const char *path, const char *needle) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    static char buf[1 << 22];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return memmem(buf, n, needle, strlen(needle)) != NULL;
}

static void test_store_rows(store *s) {
    const uint8_t blob[] = {1, 2, 3, 0, 5};
    CHECK(store_secret_put(s, "nope", "x", "kid", blob, 5, 10) == LORE_NOT_FOUND);
    CHECK(store_secret_put(s, "BAD!", "x", "kid", blob, 5, 10) == LORE_INVALID);
    CHECK(store_secret_put(s, "", "", "kid", blob, 5, 10) == LORE_INVALID);
    CHECK(store_secret_put(s, "", "x", "", blob, 5, 10) == LORE_INVALID);
    CHECK(store_secret_put(s, "", "x", "kid", blob, 0, 10) == LORE_INVALID);
    CHECK(store_secret_put(s, "", "x", "kid", blob, 5, 10) == LORE_OK);
    CHECK(store_secret_put(s, "", "x", "kid2", blob, 4, 20) == LORE_OK);
    store_secret x;
    CHECK(store_secret_get(s, "", "x", &x) == LORE_OK);
    CHECK_STR(x.key_id, "kid2");
    CHECK(x.sealed_len == 4 && !memcmp(x.sealed, blob, 4));
    CHECK_INT(x.created_ms, 10); /* kept on replace */
    CHECK_INT(x.updated_ms, 20);
    /* A re-seal only replaces what it read. */
    CHECK(store_secret_reseal(s, "", "x", "kid", blob, 5, "new", blob, 3) == LORE_BUSY);
    CHECK(store_secret_reseal(s, "", "x", "kid2", blob, 4, "new", blob, 3) == LORE_OK);
    CHECK(store_secret_reseal(s, "", "gone", "kid2", blob, 4, "new", blob, 3) == LORE_NOT_FOUND);
    store_secret_clear(&x);
    CHECK(store_secret_get(s, "", "x", &x) == LORE_OK);
    CHECK_STR(x.key_id, "new");
    CHECK_INT(x.updated_ms, 20);
    store_secret_clear(&x);
    CHECK(store_secret_get(s, "", "y", &x) == LORE_NOT_FOUND);
    CHECK(store_secret_delete(s, "", "x") == LORE_OK);
    CHECK(store_secret_delete(s, "", "x") == LORE_NOT_FOUND);
}

static void test_set_get_list(store *s, const seal_keyring *a) {
    char v[256];
    CHECK(set_str(a, s, "acme", "github", "gh-secret-value") == LORE_OK);
    CHECK(set_str(a, s, "acme", "slack", "slack-secret-value") == LORE_OK);
    CHECK(set_str(a, s, "", "embed_api_key", "sk-server-key") == LORE_OK);
    CHECK(set_str(a, s, "nope", "x", "v") == LORE_NOT_FOUND);
    CHECK(set_str(a, s, "acme", "bad name", "v") == LORE_INVALID);
    CHECK(set_str(a, s, "acme", "", "v") == LORE_INVALID);
    CHECK(set_str(a, s, "acme", "x", "") == LORE_INVALID);
    char longname[SECRET_NAME_MAX + 2];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK(set_str(a, s, "acme", longname, "v") == LORE_INVALID);
    longname[SECRET_NAME_MAX] = '\0';
    CHECK(set_str(a, s, "acme", longname, "v") == LORE_OK);
    CHECK(secrets_delete(s, "acme", longname) == LORE_OK);
    static uint8_t big[SECRET_VALUE_MAX + 1];
    memset(big, 'v', sizeof big);
    CHECK(secrets_set(a, s, "acme", "big", big, sizeof big) == LORE_TOO_LARGE);
    CHECK(secrets_set(a, s, "acme", "big", big, SECRET_VALUE_MAX) == LORE_OK);
    CHECK(secrets_delete(s, "acme", "big") == LORE_OK);

    CHECK(get_str(a, s, "acme", "github", v, sizeof v) == LORE_OK);
    CHECK_STR(v, "gh-secret-value");
    CHECK(get_str(a, s, "", "embed_api_key", v, sizeof v) == LORE_OK);
    CHECK_STR(v, "sk-server-key");
    CHECK(get_str(a, s, "acme", "nothing", v, sizeof v) == LORE_NOT_FOUND);
    CHECK(get_str(a, s, "", "github", v, sizeof v) == LORE_NOT_FOUND);

    secret_info *l = NULL;
    size_t n = 0;
    CHECK(secrets_list(s, NULL, &l, &n) == LORE_OK && n == 3);
    if (n == 3) {
        CHECK_STR(l[0].tenant, "");
        CHECK_STR(l[0].name, "embed_api_key");
        CHECK_STR(l[1].name, "github");
        CHECK_STR(l[2].name, "slack");
        CHECK_STR(l[1].key_id, seal_current_id(a));
        CHECK(l[1].created_ms > 0 && l[1].updated_ms >= l[1].created_ms);
    }
    free(l);
    CHECK(secrets_list(s, "acme", &l, &n) == LORE_OK && n == 2);
    free(l);
    CHECK(secrets_list(s, "", &l, &n) == LORE_OK && n == 1);
    free(l);

    /* A row's sealed bytes copied onto another row do not open there. */
    store_secret gh;
    CHECK(store_secret_get(s, "acme", "github", &gh) == LORE_OK);
    CHECK(store_secret_put(s, "acme", "slack", gh.key_id, gh.sealed, gh.sealed_len, 1) == LORE_OK);
    char err[512];
    lore_buf b;
    lore_buf_init(&b, SECRET_VALUE_MAX);
    CHECK(secrets_get(a, s, "acme", "slack", &b, err, sizeof err) == LORE_CORRUPT);
    CHECK(strstr(err, "acme/slack") != NULL);
    lore_buf_free(&b);
    store_secret_clear(&gh);
    CHECK(set_str(a, s, "acme", "slack", "slack-secret-value") == LORE_OK);
}

static void test_rotate(store *s, const seal_keyring *a) {
    seal_keyring *b = ring(KEY_B, NULL), *ba = ring(KEY_B, KEY_A), *c = ring(KEY_C, NULL);
    char v[256], err[512];
    /* One secret under a third key: no keyring here opens it. */
    CHECK(set_str(c, s, "acme", "orphan", "lost-value") == LORE_OK);
    int64_t checked = 0;
    CHECK(secrets_check_all(a, s, &checked, err, sizeof err) == LORE_CORRUPT);
    CHECK_INT(checked, 4);
    CHECK(strstr(err, "1 of 4") != NULL && strstr(err, "acme/orphan") != NULL);
    CHECK(strstr(err, "master_key") != NULL);
    CHECK(get_str(b, s, "acme", "github", v, sizeof v) == LORE_CORRUPT); /* B alone: not yet */

    secrets_rotate_report r;
    CHECK(secrets_rotate(ba, s, &r) == LORE_OK);
    CHECK_INT(r.resealed, 3);
    CHECK_INT(r.current, 0);
    CHECK_INT(r.unreadable, 1);
    CHECK(secrets_rotate(ba, s, &r) == LORE_OK); /* a second run has nothing left */
    CHECK_INT(r.resealed, 0);
    CHECK_INT(r.current, 3);
    CHECK_INT(r.unreadable, 1);
    /* B alone opens everything that was readable. */
    CHECK(get_str(b, s, "acme", "github", v, sizeof v) == LORE_OK);
    CHECK_STR(v, "gh-secret-value");
    CHECK(get_str(b, s, "", "embed_api_key", v, sizeof v) == LORE_OK);
    CHECK_STR(v, "sk-server-key");
    CHECK(get_str(a, s, "acme", "github", v, sizeof v) == LORE_CORRUPT); /* A alone: no more */
    CHECK(secrets_delete(s, "acme", "orphan") == LORE_OK);
    CHECK(secrets_check_all(b, s, &checked, err, sizeof err) == LORE_OK);
    CHECK_INT(checked, 3);
    seal_keyring_free(b);
    seal_keyring_free(ba);
    seal_keyring_free(c);
}

/* Rotation pages through more secrets than one page holds. */
static void test_rotate_many(store *s) {
    seal_keyring *a = ring(KEY_A, NULL), *ba = ring(KEY_B, KEY_A);
    char name[32];
    for (int i = 0; i < 600; i++) {
        snprintf(name, sizeof name, "many.%04d", i);
        CHECK(set_str(a, s, "bulk", name, name) == LORE_OK);
    }
    secrets_rotate_report r;
    CHECK(secrets_rotate(ba, s, &r) == LORE_OK);
    CHECK_INT(r.resealed, 600);
    int64_t checked = 0;
    char err[512];
    CHECK(secrets_check_all(ba, s, &checked, err, sizeof err) == LORE_OK);
    CHECK_INT(checked, 603);
    secret_info *l = NULL;
    size_t n = 0;
    CHECK(secrets_list(s, "bulk", &l, &n) == LORE_OK && n == 600);
    free(l);
    /* Deleting the tenant deletes its secrets. */
    CHECK(store_tenant_delete(s, "bulk") == LORE_OK);
    CHECK(store_tenant_create(s, "bulk") == LORE_OK);
    CHECK(secrets_list(s, "bulk", &l, &n) == LORE_OK && n == 0);
    free(l);
    seal_keyring_free(a);
    seal_keyring_free(ba);
}

/* Rotation under load: readers keep opening every secret (the previous key
 * still opens what is not re-sealed yet), and a writer setting new values
 * meanwhile never loses one to the re-seal. */
typedef struct load_ctx {
    const char *dir;
    const seal_keyring *k;
    int writer;
    volatile int *stop;
    int64_t reads, failures, writes;
} load_ctx;

static void *load_thread(void *arg) {
    load_ctx *c = arg;
    store *s = NULL;
    char err[256], name[32], v[64];
    if (store_open(c->dir, STORE_OPEN_CREATE, &s, err, sizeof err) != LORE_OK) {
        c->failures++;
        return NULL;
    }
    for (int i = 0; c->writer ? i < 300 : (!*c->stop || i < 50); i++) {
        snprintf(name, sizeof name, "load.%03d", i % 300);
        if (c->writer) {
            snprintf(v, sizeof v, "new-%d", i);
            if (set_str(c->k, s, "bulk", name, v) != LORE_OK) c->failures++;
            c->writes++;
            continue;
        }
        if (get_str(c->k, s, "bulk", name, v, sizeof v) != LORE_OK) c->failures++;
        c->reads++;
    }
    store_close(s);
    return NULL;
}

static void test_rotate_under_load(const char *dir, store *s) {
    seal_keyring *a = ring(KEY_A, NULL), *ba = ring(KEY_B, KEY_A), *b = ring(KEY_B, NULL);
    char name[32], v[64];
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "load.%03d", i);
        CHECK(set_str(a, s, "bulk", name, "old") == LORE_OK);
    }
    volatile int stop = 0;
    load_ctx c[3] = {
        {dir, ba, 0, &stop, 0, 0, 0}, {dir, ba, 0, &stop, 0, 0, 0}, {dir, ba, 1, &stop, 0, 0, 0}};
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, load_thread, &c[i]);
    secrets_rotate_report r;
    CHECK(secrets_rotate(ba, s, &r) == LORE_OK);
    stop = 1;
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    CHECK_INT(c[0].failures + c[1].failures + c[2].failures, 0);
    CHECK(c[0].reads >= 50 && c[2].writes == 300);
    CHECK_INT(r.unreadable, 0);
    /* 300 here and the 3 of test_rotate, under B already; the writer sealed
     * some under B first, so they count as current. */
    CHECK_INT(r.resealed + r.current, 303);
    int all = 1;
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "load.%03d", i);
        if (get_str(b, s, "bulk", name, v, sizeof v) != LORE_OK || strncmp(v, "new-", 4) ||
            atoi(v + 4) != i)
            all = 0;
    }
    CHECK(all); /* B alone opens them, each with the writer's value */
    seal_keyring_free(a);
    seal_keyring_free(ba);
    seal_keyring_free(b);
}

static void test_keyring_config(const char *dir, store *s) {
    lore_config cfg;
    char err[512], path[512];
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", dir);
    snprintf(cfg.mode, sizeof cfg.mode, "production");
    seal_keyring *k = NULL;
    CHECK(secrets_keyring(&cfg, &k, err, sizeof err) == LORE_INVALID && !k);
    CHECK(strstr(err, "master_key") != NULL);
    snprintf(path, sizeof path, "%s/master.key", dir);
    struct stat sb;
    CHECK(stat(path, &sb) != 0); /* production never makes the file */

    snprintf(cfg.mode, sizeof cfg.mode, "dev");
    CHECK(secrets_keyring(&cfg, &k, err, sizeof err) == LORE_OK);
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600 && sb.st_size == 65);
    char id1[SEAL_KEY_ID_LEN + 1];
    snprintf(id1, sizeof id1, "%s", seal_current_id(k));
    CHECK(set_str(k, s, "", "dev", "dev-value") == LORE_OK);
    seal_keyring_free(k);
    CHECK(secrets_keyring(&cfg, &k, err, sizeof err) == LORE_OK); /* reused */
    CHECK_STR(seal_current_id(k), id1);
    char v[64];
    CHECK(get_str(k, s, "", "dev", v, sizeof v) == LORE_OK);
    seal_keyring_free(k);
    chmod(path, 0644);
    CHECK(secrets_keyring(&cfg, &k, err, sizeof err) == LORE_INVALID);
    CHECK(strstr(err, "chmod 600") != NULL);
    chmod(path, 0600);
    /* A configured key wins over the file. */
    snprintf(cfg.master_key, sizeof cfg.master_key, "%s", KEY_A);
    CHECK(secrets_keyring(&cfg, &k, err, sizeof err) == LORE_OK);
    CHECK(strcmp(seal_current_id(k), id1) != 0);
    seal_keyring_free(k);
    snprintf(cfg.master_key, sizeof cfg.master_key, "secret:foo");
    CHECK(secrets_keyring(&cfg, &k, err, sizeof err) == LORE_INVALID);
    CHECK(secrets_delete(s, "", "dev") == LORE_OK);
}

static void test_resolve_config(store *s, const seal_keyring *a) {
    lore_config cfg;
    char err[512];
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.mcp_key, sizeof cfg.mcp_key, "plain-value");
    CHECK(!secrets_config_needs_store(&cfg));
    CHECK(secrets_resolve_config(a, s, &cfg, err, sizeof err) == LORE_OK);
    CHECK_STR(cfg.mcp_key, "plain-value");
    snprintf(cfg.mcp_key, sizeof cfg.mcp_key, "secret:mcp.key");
    CHECK(secrets_config_needs_store(&cfg));
    CHECK(secrets_resolve_config(a, s, &cfg, err, sizeof err) == LORE_NOT_FOUND);
    CHECK(strstr(err, "mcp_key") && strstr(err, "lore secrets set mcp.key --server"));
    CHECK(set_str(a, s, "", "mcp.key", "lore_resolved_value") == LORE_OK);
    CHECK(secrets_resolve_config(a, s, &cfg, err, sizeof err) == LORE_OK);
    CHECK_STR(cfg.mcp_key, "lore_resolved_value");
    /* Too long for the setting. */
    char big[300];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK(set_str(a, s, "", "mcp.key", big) == LORE_OK);
    snprintf(cfg.mcp_key, sizeof cfg.mcp_key, "secret:mcp.key");
    CHECK(secrets_resolve_config(a, s, &cfg, err, sizeof err) == LORE_INVALID);
    CHECK(secrets_delete(s, "", "mcp.key") == LORE_OK);
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.master_key_previous, sizeof cfg.master_key_previous, "secret:x");
    CHECK(secrets_resolve_config(a, s, &cfg, err, sizeof err) == LORE_INVALID);
}

int main(void) {
    const char *dir = test_tmpdir();
    store *s = NULL;
    char err[512];
    CHECK(store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err) == LORE_OK);
    CHECK(store_tenant_create(s, "acme") == LORE_OK);
    CHECK(store_tenant_create(s, "bulk") == LORE_OK);
    seal_keyring *a = ring(KEY_A, NULL);
    test_store_rows(s);
    test_set_get_list(s, a);
    test_resolve_config(s, a);
    test_rotate(s, a);
    test_rotate_many(s);
    test_rotate_under_load(dir, s);
    test_keyring_config(dir, s);
    /* No clear value anywhere in the control database or its WAL. */
    CHECK(set_str(a, s, "acme", "scan-name-marker", "CLEAR-VALUE-FOR-THE-SCAN") == LORE_OK);
    char wal[512], db[512];
    snprintf(wal, sizeof wal, "%s/control.db-wal", dir);
    snprintf(db, sizeof db, "%s/control.db", dir);
    CHECK(!file_has(wal, "CLEAR-VALUE-FOR-THE-SCAN") && !file_has(db, "CLEAR-VALUE-FOR-THE-SCAN"));
    /* The scan sees what is there: the name is stored in clear. */
    CHECK(file_has(wal, "scan-name-marker") || file_has(db, "scan-name-marker"));
    seal_keyring_free(a);
    store_close(s);
    test_rmtree(dir);
    return test_summary();
}
