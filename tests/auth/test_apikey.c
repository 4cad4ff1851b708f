/* API keys: format and parsing, creation and verification (unknown, wrong
 * secret, revoked, expired), scopes, principals, tenant separation and
 * deletion, revocation seen across store handles, randomness, and that no
 * key reaches the database files. */
#include "auth/apikey.h"
#include "crypto/sha256.h"
#include "test.h"
#include "util/timeutil.h"

/* A copy of key with byte at replaced by c. */
static void with_byte(const char *key, size_t at, char c, char *out) {
    memcpy(out, key, APIKEY_LEN + 1);
    out[at] = c;
}

static auth_result verify(store *s, const char *key, int64_t now) {
    store_key *k = NULL;
    auth_result r = apikey_verify(s, key, strlen(key), now, &k);
    CHECK((r == AUTH_OK) == (k != NULL));
    store_key_free(k);
    return r;
}

/* Whether needle occurs in the file at path (missing file: no). */
static int file_contains(const char *path, const char *needle) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t cap = 1 << 16, len = 0, nl = strlen(needle);
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len < cap) continue;
        char *nb = realloc(buf, cap * 2);
        if (!nb) break;
        buf = nb;
        cap *= 2;
    }
    fclose(f);
    int found = 0;
    for (size_t i = 0; buf && i + nl <= len && !found; i++)
        found = !memcmp(buf + i, needle, nl);
    free(buf);
    return found;
}

static void test_scopes(void) {
    unsigned bits = 99;
    char err[128], buf[AUTH_SCOPES_BUFLEN];
    CHECK_INT(auth_scopes_parse("read,write", &bits, err, sizeof err), LORE_OK);
    CHECK_INT(bits, AUTH_SCOPE_READ | AUTH_SCOPE_WRITE);
    CHECK_INT(auth_scopes_parse(" admin , read ", &bits, err, sizeof err), LORE_OK);
    CHECK_INT(bits, AUTH_SCOPE_READ | AUTH_SCOPE_ADMIN);
    CHECK_INT(auth_scopes_parse("server", &bits, NULL, 0), LORE_OK);
    CHECK_INT(bits, AUTH_SCOPE_SERVER);
    CHECK_INT(auth_scopes_parse("read,read", &bits, err, sizeof err), LORE_OK);
    CHECK_INT(bits, AUTH_SCOPE_READ);
    bits = 99;
    CHECK_INT(auth_scopes_parse("read,delete", &bits, err, sizeof err), LORE_INVALID);
    CHECK(strstr(err, "'delete'") != NULL);
    CHECK_INT(bits, 99); /* untouched on failure */
    CHECK_INT(auth_scopes_parse("", &bits, err, sizeof err), LORE_INVALID);
    CHECK(strstr(err, "no scope") != NULL);
    CHECK_INT(auth_scopes_parse("read,", &bits, err, sizeof err), LORE_INVALID);
    CHECK(strstr(err, "empty scope") != NULL);
    CHECK_INT(auth_scopes_parse("read,,write", &bits, NULL, 0), LORE_INVALID);
    CHECK_INT(auth_scopes_parse("READ", &bits, err, sizeof err), LORE_INVALID);
    CHECK_INT(auth_scopes_parse(NULL, &bits, err, sizeof err), LORE_INVALID);

    CHECK_INT(auth_scopes_format(AUTH_SCOPE_ALL, buf, sizeof buf), 23);
    CHECK_STR(buf, "read,write,admin,server");
    CHECK_INT(auth_scopes_format(AUTH_SCOPE_ADMIN | AUTH_SCOPE_READ, buf, sizeof buf), 10);
    CHECK_STR(buf, "read,admin");
    CHECK_INT(auth_scopes_format(0, buf, sizeof buf), 0);
    CHECK_STR(buf, "");
    CHECK_INT(auth_scopes_format(AUTH_SCOPE_WRITE | 64u, buf, sizeof buf), 5);
    CHECK_STR(buf, "write");
    char small[6];
    CHECK_INT(auth_scopes_format(AUTH_SCOPE_READ | AUTH_SCOPE_WRITE, small, sizeof small), 10);
    CHECK_STR(small, "read,"); /* truncated like snprintf */
    /* round trip of every combination */
    for (unsigned b = 1; b <= AUTH_SCOPE_ALL; b++) {
        unsigned back = 0;
        auth_scopes_format(b, buf, sizeof buf);
        CHECK_INT(auth_scopes_parse(buf, &back, NULL, 0), LORE_OK);
        CHECK_INT(back, b);
    }
}

static void test_principals(void) {
    CHECK(auth_principal_valid("user:alice@example.com"));
    CHECK(auth_principal_valid("group:eng"));
    CHECK(auth_principal_valid("group:Platform Team"));
    CHECK(auth_principal_valid("user:zoë@example.com"));
    CHECK(auth_principal_valid("group:\xe6\x97\xa5\xe6\x9c\xac")); /* 日本 */
    CHECK(!auth_principal_valid(NULL));
    CHECK(!auth_principal_valid(""));
    CHECK(!auth_principal_valid("alice@example.com")); /* missing prefix */
    CHECK(!auth_principal_valid("User:alice"));
    CHECK(!auth_principal_valid("team:eng"));
    CHECK(!auth_principal_valid("user:"));
    CHECK(!auth_principal_valid("group:"));
    CHECK(!auth_principal_valid("user:a\nuser:b")); /* newline: the store's separator */
    CHECK(!auth_principal_valid("user:a\rb"));
    CHECK(!auth_principal_valid("user:a\tb"));
    CHECK(!auth_principal_valid("user:a\x1b[31mb")); /* escape sequence */
    CHECK(!auth_principal_valid("user:a\x7f"));
    CHECK(!auth_principal_valid("user:a\xc2\x85"));     /* U+0085 NEL */
    CHECK(!auth_principal_valid("user:a\xe2\x80\xa8")); /* U+2028 */
    CHECK(!auth_principal_valid("user:\xff"));          /* not UTF-8 */
    CHECK(!auth_principal_valid("user:\xc0\xaf"));      /* overlong */
    CHECK(!auth_principal_valid("user:\xed\xa0\x80"));  /* surrogate */
    CHECK(!auth_principal_valid("user:\xe6\x97"));      /* truncated */
    CHECK(!auth_principal_valid("group: eng"));
    CHECK(!auth_principal_valid("group:eng "));
    char longp[AUTH_PRINCIPAL_MAX + 2];
    memcpy(longp, "user:", 5);
    memset(longp + 5, 'a', AUTH_PRINCIPAL_MAX - 5);
    longp[AUTH_PRINCIPAL_MAX] = '\0';
    CHECK(auth_principal_valid(longp)); /* exactly the limit */
    longp[AUTH_PRINCIPAL_MAX] = 'a';
    longp[AUTH_PRINCIPAL_MAX + 1] = '\0';
    CHECK(!auth_principal_valid(longp));

    CHECK(apikey_name_valid("ci deploy (prod)"));
    CHECK(!apikey_name_valid(""));
    CHECK(!apikey_name_valid("two\nlines"));
    char longn[APIKEY_NAME_MAX + 2];
    memset(longn, 'n', sizeof longn);
    longn[APIKEY_NAME_MAX] = '\0';
    CHECK(apikey_name_valid(longn));
    longn[APIKEY_NAME_MAX] = 'n';
    longn[APIKEY_NAME_MAX + 1] = '\0';
    CHECK(!apikey_name_valid(longn));
}

static void test_format(store *s) {
    char key[APIKEY_LEN + 1], id[STORE_KEY_ID_LEN + 1], bad[APIKEY_LEN + 2];
    store_key *rec = NULL;
    CHECK_INT(apikey_create(s, "acme", NULL, AUTH_SCOPE_READ, NULL, 0, 0, key, &rec), LORE_OK);
    CHECK_INT(strlen(key), APIKEY_LEN);
    CHECK_INT(APIKEY_LEN, 61);
    CHECK(!strncmp(key, "lore_", 5));
    CHECK_INT(key[17], '_');
    CHECK(apikey_parse(key, APIKEY_LEN, id));
    CHECK(rec && !strcmp(id, rec->id));
    /* the stored hash is SHA-256 of the whole key string */
    uint8_t d[32];
    char hex[65];
    lore_sha256(key, APIKEY_LEN, d);
    lore_hex(d, 32, hex);
    CHECK(rec && !strcmp(rec->hash, hex));
    store_key_free(rec);

    /* wrong prefix */
    with_byte(key, 0, 'L', bad);
    CHECK(!apikey_parse(bad, APIKEY_LEN, id));
    with_byte(key, 4, '-', bad);
    CHECK(!apikey_parse(bad, APIKEY_LEN, id));
    /* wrong length: one short, one long, empty */
    CHECK(!apikey_parse(key, APIKEY_LEN - 1, id));
    memcpy(bad, key, APIKEY_LEN);
    bad[APIKEY_LEN] = 'A';
    bad[APIKEY_LEN + 1] = '\0';
    CHECK(!apikey_parse(bad, APIKEY_LEN + 1, id));
    CHECK(!apikey_parse("", 0, id));
    CHECK(!apikey_parse(NULL, 0, id));
    /* bad hex id: upper case, not hex */
    with_byte(key, 6, 'A', bad);
    CHECK(!apikey_parse(bad, APIKEY_LEN, id));
    with_byte(key, 16, 'g', bad);
    CHECK(!apikey_parse(bad, APIKEY_LEN, id));
    /* separator */
    with_byte(key, 17, '-', bad);
    CHECK(!apikey_parse(bad, APIKEY_LEN, id));
    /* bad base64url characters: standard base64's, padding, space, NUL */
    const char notb64[] = {'+', '/', '=', ' ', '.', '\0'};
    for (size_t i = 0; i < sizeof notb64; i++) {
        with_byte(key, 18 + i * 7, notb64[i], bad);
        CHECK(!apikey_parse(bad, APIKEY_LEN, id));
        CHECK_INT(apikey_verify(s, bad, APIKEY_LEN, lore_now_ms(), NULL), AUTH_MALFORMED);
    }
    with_byte(key, APIKEY_LEN - 1, '*', bad);
    CHECK(!apikey_parse(bad, APIKEY_LEN, id));
    /* anything malformed is refused without touching the store */
    store_key *k = (store_key *)&k;
    CHECK_INT(apikey_verify(NULL, "Bearer nonsense", 15, 0, &k), AUTH_MALFORMED);
    CHECK(k == NULL);
    CHECK_INT(apikey_verify(NULL, key, APIKEY_LEN - 1, 0, NULL), AUTH_MALFORMED);
}

static void test_verify(store *s) {
    char key[APIKEY_LEN + 1], bad[APIKEY_LEN + 1];
    const char *pr[] = {"user:alice@example.com", "group:eng"};
    int64_t now = lore_now_ms();
    store_key *rec = NULL, *k = NULL;
    CHECK_INT(
        apikey_create(s, "acme", "ci", AUTH_SCOPE_READ | AUTH_SCOPE_WRITE, pr, 2, 0, key, &rec),
        LORE_OK);
    CHECK(rec != NULL);
    if (!rec) return;
    CHECK_STR(rec->tenant, "acme");
    CHECK_STR(rec->name, "ci");
    CHECK(rec->created_ms >= now);

    CHECK_INT(apikey_verify(s, key, APIKEY_LEN, now, &k), AUTH_OK);
    if (k) {
        CHECK_STR(k->id, rec->id);
        CHECK_STR(k->tenant, "acme");
        CHECK_INT(k->scopes, AUTH_SCOPE_READ | AUTH_SCOPE_WRITE);
        CHECK_INT(k->nprincipals, 2);
        if (k->nprincipals == 2) CHECK_STR(k->principals[0], "user:alice@example.com");
    }
    store_key_free(k);
    /* the token need not be NUL-terminated: it is a slice of a header */
    char header[128];
    snprintf(header, sizeof header, "%s, more", key);
    CHECK_INT(apikey_verify(s, header, APIKEY_LEN, now, NULL), AUTH_OK);

    /* unknown id, and the right id with a wrong secret: the same answer */
    with_byte(key, 5, key[5] == '0' ? '1' : '0', bad);
    CHECK_INT(verify(s, bad, now), AUTH_UNKNOWN);
    with_byte(key, 30, key[30] == 'A' ? 'B' : 'A', bad);
    CHECK_INT(verify(s, bad, now), AUTH_UNKNOWN);
    with_byte(key, APIKEY_LEN - 1, key[APIKEY_LEN - 1] == 'A' ? 'Q' : 'A', bad);
    CHECK_INT(verify(s, bad, now), AUTH_UNKNOWN);

    /* expiry: live before, expired at and after */
    char ekey[APIKEY_LEN + 1];
    CHECK_INT(apikey_create(s, "acme", NULL, AUTH_SCOPE_READ, NULL, 0, now + 60000, ekey, NULL),
              LORE_OK);
    CHECK_INT(verify(s, ekey, now), AUTH_OK);
    CHECK_INT(verify(s, ekey, now + 59999), AUTH_OK);
    CHECK_INT(verify(s, ekey, now + 60000), AUTH_EXPIRED);
    CHECK_INT(verify(s, ekey, now + 86400000), AUTH_EXPIRED);
    /* an expired key with a wrong secret is unknown, not expired */
    with_byte(ekey, 40, ekey[40] == 'x' ? 'y' : 'x', bad);
    CHECK_INT(verify(s, bad, now + 86400000), AUTH_UNKNOWN);

    /* revocation is seen by the very next verification */
    CHECK_INT(store_key_revoke(s, "acme", rec->id, now), LORE_OK);
    CHECK_INT(verify(s, key, now), AUTH_REVOKED);
    CHECK_INT(verify(s, bad, now), AUTH_UNKNOWN);
    CHECK_INT(store_key_revoke(s, "acme", rec->id, now + 5), LORE_OK); /* twice is fine */
    CHECK_INT(verify(s, key, now), AUTH_REVOKED);
    store_key_free(rec);

    CHECK(strstr(auth_result_message(AUTH_REVOKED), "revoked") != NULL);
    CHECK(strstr(auth_result_message(AUTH_EXPIRED), "expired") != NULL);
    CHECK(auth_result_message((auth_result)42) != NULL);
}

static void test_create_errors(store *s) {
    char key[APIKEY_LEN + 1];
    store_key *rec = (store_key *)&rec;
    int64_t now = lore_now_ms();
    const char *good[] = {"user:a@x"};
    const char *nl[] = {"user:a@x", "user:b\nuser:c"};
    CHECK_INT(apikey_create(s, "ghost", NULL, AUTH_SCOPE_READ, NULL, 0, 0, key, &rec),
              LORE_NOT_FOUND);
    CHECK(rec == NULL);
    CHECK_STR(key, "");
    CHECK_INT(apikey_create(s, "Bad/Name", NULL, AUTH_SCOPE_READ, NULL, 0, 0, key, NULL),
              LORE_INVALID);
    CHECK_INT(apikey_create(s, "acme", NULL, 0, NULL, 0, 0, key, NULL), LORE_INVALID);
    CHECK_INT(apikey_create(s, "acme", NULL, 16u, NULL, 0, 0, key, NULL), LORE_INVALID);
    CHECK_INT(apikey_create(s, "acme", NULL, AUTH_SCOPE_READ, nl, 2, 0, key, NULL), LORE_INVALID);
    CHECK_INT(apikey_create(s, "acme", NULL, AUTH_SCOPE_READ, NULL, 1, 0, key, NULL), LORE_INVALID);
    CHECK_INT(apikey_create(s, "acme", NULL, AUTH_SCOPE_READ, good, 1, now - 1, key, NULL),
              LORE_INVALID); /* expiry in the past */
    CHECK_INT(apikey_create(s, "acme", NULL, AUTH_SCOPE_READ, good, 1, -5, key, NULL),
              LORE_INVALID);
    CHECK_INT(apikey_create(s, "acme", "", AUTH_SCOPE_READ, NULL, 0, 0, key, NULL), LORE_INVALID);
    CHECK_INT(apikey_create(s, "acme", "a\tb", AUTH_SCOPE_READ, NULL, 0, 0, key, NULL),
              LORE_INVALID);
    char longn[APIKEY_NAME_MAX + 2];
    memset(longn, 'n', APIKEY_NAME_MAX + 1);
    longn[APIKEY_NAME_MAX + 1] = '\0';
    CHECK_INT(apikey_create(s, "acme", longn, AUTH_SCOPE_READ, NULL, 0, 0, key, NULL),
              LORE_TOO_LARGE);
    const char *many[APIKEY_MAX_PRINCIPALS + 1];
    char bufs[APIKEY_MAX_PRINCIPALS + 1][16];
    for (int i = 0; i <= APIKEY_MAX_PRINCIPALS; i++) {
        snprintf(bufs[i], sizeof bufs[i], "user:u%d", i);
        many[i] = bufs[i];
    }
    CHECK_INT(apikey_create(s, "acme", NULL, AUTH_SCOPE_READ, many, APIKEY_MAX_PRINCIPALS + 1, 0,
                            key, NULL),
              LORE_TOO_LARGE);
    CHECK_STR(key, "");
    CHECK_INT(
        apikey_create(s, "acme", NULL, AUTH_SCOPE_READ, many, APIKEY_MAX_PRINCIPALS, 0, key, &rec),
        LORE_OK);
    CHECK(rec && rec->nprincipals == APIKEY_MAX_PRINCIPALS);
    store_key_free(rec);
}

static void test_tenants(store *s, const char *dir) {
    char ka[APIKEY_LEN + 1], kb[APIKEY_LEN + 1];
    store_key *ra = NULL, *rb = NULL, *list = NULL;
    size_t n = 0, n_a = 0;
    CHECK_INT(store_tenant_create(s, "beta"), LORE_OK);
    CHECK_INT(store_key_list(s, "acme", &list, &n_a), LORE_OK);
    store_keys_free(list, n_a);
    CHECK_INT(apikey_create(s, "acme", "a", AUTH_SCOPE_READ, NULL, 0, 0, ka, &ra), LORE_OK);
    CHECK_INT(apikey_create(s, "beta", "b", AUTH_SCOPE_ADMIN, NULL, 0, 0, kb, &rb), LORE_OK);
    if (!ra || !rb) goto out;
    /* each key names its own tenant; lists and revocations stay apart */
    store_key *k = NULL;
    CHECK_INT(apikey_verify(s, kb, APIKEY_LEN, lore_now_ms(), &k), AUTH_OK);
    if (k) CHECK_STR(k->tenant, "beta");
    store_key_free(k);
    CHECK_INT(store_key_list(s, "beta", &list, &n), LORE_OK);
    CHECK_INT(n, 1);
    if (n) CHECK_STR(list[0].id, rb->id);
    store_keys_free(list, n);
    CHECK_INT(store_key_revoke(s, "acme", rb->id, lore_now_ms()), LORE_NOT_FOUND);
    CHECK_INT(verify(s, kb, lore_now_ms()), AUTH_OK);

    /* the database files hold hashes, never a key */
    char path[512];
    const char *files[] = {"control.db", "control.db-wal"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        CHECK(!file_contains(path, ka + 18));
        CHECK(!file_contains(path, kb + 18));
    }
    int hash_stored = 0; /* in the log or already checkpointed into the database */
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        hash_stored |= file_contains(path, rb->hash);
    }
    CHECK(hash_stored);

    /* deleting a tenant removes its keys; the other tenant's keys stay */
    CHECK_INT(store_tenant_delete(s, "beta"), LORE_OK);
    CHECK_INT(verify(s, kb, lore_now_ms()), AUTH_UNKNOWN);
    CHECK_INT(store_key_get(s, rb->id, &k), LORE_NOT_FOUND);
    CHECK_INT(store_tenant_create(s, "beta"), LORE_OK);
    CHECK_INT(verify(s, kb, lore_now_ms()), AUTH_UNKNOWN); /* not revived */
    CHECK_INT(verify(s, ka, lore_now_ms()), AUTH_OK);
    CHECK_INT(store_key_list(s, "acme", &list, &n), LORE_OK);
    CHECK_INT(n, n_a + 1);
    store_keys_free(list, n);
out:
    store_key_free(ra);
    store_key_free(rb);
}

/* The server keeps a store open with its lookup statement prepared; lore key
 * revoke and lore tenant delete run in another process. The server's next
 * verification must see what they committed. */
static void test_other_handle(store *server, const char *dir) {
    char key[APIKEY_LEN + 1], err[256];
    store_key *rec = NULL;
    store *cli = NULL;
    CHECK_INT(store_open(dir, STORE_OPEN_CREATE, &cli, err, sizeof err), LORE_OK);
    if (!cli) return;
    CHECK_INT(store_tenant_create(cli, "gamma"), LORE_OK);
    CHECK_INT(apikey_create(cli, "gamma", NULL, AUTH_SCOPE_READ, NULL, 0, 0, key, &rec), LORE_OK);
    CHECK_INT(verify(server, key, lore_now_ms()), AUTH_OK); /* created elsewhere: seen */
    if (rec) CHECK_INT(store_key_revoke(cli, NULL, rec->id, lore_now_ms()), LORE_OK);
    CHECK_INT(verify(server, key, lore_now_ms()), AUTH_REVOKED);
    CHECK_INT(apikey_create(cli, "gamma", NULL, AUTH_SCOPE_READ, NULL, 0, 0, key, NULL), LORE_OK);
    CHECK_INT(verify(server, key, lore_now_ms()), AUTH_OK);
    CHECK_INT(store_tenant_delete(cli, "gamma"), LORE_OK);
    CHECK_INT(verify(server, key, lore_now_ms()), AUTH_UNKNOWN);
    store_key_free(rec);
    store_close(cli);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_randomness(store *s) {
    enum { N = 1000 };
    char **ids = calloc(N, sizeof *ids), **secrets = calloc(N, sizeof *secrets);
    int seen[256] = {0}, ok = 1;
    for (int i = 0; i < N && ok; i++) {
        char key[APIKEY_LEN + 1];
        ok = apikey_create(s, "acme", NULL, AUTH_SCOPE_READ, NULL, 0, 0, key, NULL) == LORE_OK;
        ids[i] = strndup(key + 5, STORE_KEY_ID_LEN);
        secrets[i] = strdup(key + 18);
        for (int j = 18; j < APIKEY_LEN - 1; j++) /* the last character holds 4 bits */
            seen[(unsigned char)key[j]]++;
    }
    CHECK(ok);
    qsort(ids, N, sizeof *ids, cmp_str);
    qsort(secrets, N, sizeof *secrets, cmp_str);
    int dup_ids = 0, dup_secrets = 0;
    for (int i = 1; i < N; i++) {
        dup_ids += !strcmp(ids[i - 1], ids[i]);
        dup_secrets += !strcmp(secrets[i - 1], secrets[i]);
    }
    CHECK_INT(dup_ids, 0);
    CHECK_INT(dup_secrets, 0);
    /* 42,000 secret characters: every one of the 64 appears, none wildly
     * often (expected 656 each; 900 is over 9 standard deviations) */
    int distinct = 0, max = 0;
    for (int c = 0; c < 256; c++) {
        distinct += seen[c] > 0;
        if (seen[c] > max) max = seen[c];
    }
    CHECK_INT(distinct, 64);
    CHECK(max < 900);
    for (int i = 0; i < N; i++) {
        free(ids[i]);
        free(secrets[i]);
    }
    free(ids);
    free(secrets);
}

static void test_verify_cost(store *s) {
    char key[APIKEY_LEN + 1];
    CHECK_INT(apikey_create(s, "acme", "bench", AUTH_SCOPE_READ, NULL, 0, 0, key, NULL), LORE_OK);
    enum { N = 20000 };
    int ok = 0;
    int64_t now = lore_now_ms(), t0 = lore_mono_ns();
    for (int i = 0; i < N; i++)
        ok += apikey_verify(s, key, APIKEY_LEN, now, NULL) == AUTH_OK;
    double us = (double)(lore_mono_ns() - t0) / 1e3 / N;
    printf("apikey_verify: %.2f us per verification\n", us);
    CHECK_INT(ok, N);
    CHECK(us < 300); /* loose: sanitizer builds are several times slower */
}

/* Two servers starting at once on one empty store both find no key; only
 * one first-start key is made (the store refuses the second with its fixed
 * id), and it works. */
static void test_first_start(void) {
    char dir[256], err[512], k1[APIKEY_LEN + 1], k2[APIKEY_LEN + 1];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    store *a = NULL, *b = NULL;
    CHECK_INT(store_open(dir, STORE_OPEN_CREATE, &a, err, sizeof err), LORE_OK);
    CHECK_INT(store_open(dir, STORE_OPEN_CREATE, &b, err, sizeof err), LORE_OK);
    if (!a || !b) return;
    CHECK_INT(store_tenant_create(a, "default"), LORE_OK);
    unsigned all = AUTH_SCOPE_READ | AUTH_SCOPE_WRITE | AUTH_SCOPE_ADMIN | AUTH_SCOPE_SERVER;
    CHECK_INT(apikey_create_first(a, "default", "first", all, k1, NULL), LORE_OK);
    CHECK_INT(apikey_create_first(b, "default", "first", all, k2, NULL), LORE_EXISTS);
    CHECK_STR(k2, "");
    CHECK(
        !strncmp(k1, APIKEY_PREFIX APIKEY_FIRST_ID "_", APIKEY_PREFIX_LEN + STORE_KEY_ID_LEN + 1));
    store_key *rec = NULL;
    CHECK_INT(apikey_verify(b, k1, strlen(k1), lore_now_ms(), &rec), AUTH_OK);
    CHECK(rec && rec->scopes == all);
    store_key_free(rec);
    store_key *keys = NULL;
    size_t n = 0;
    CHECK_INT(store_key_list(b, NULL, &keys, &n), LORE_OK);
    CHECK_INT(n, 1);
    store_keys_free(keys, n);
    store_close(a);
    store_close(b);
    test_rmtree(dir);
}

int main(void) {
    char dir[256], err[512];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    store *s = NULL;
    CHECK_INT(store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err), LORE_OK);
    if (!s) return test_summary();
    CHECK_INT(store_tenant_create(s, "acme"), LORE_OK);
    test_scopes();
    test_principals();
    test_format(s);
    test_verify(s);
    test_create_errors(s);
    test_tenants(s, dir);
    test_other_handle(s, dir);
    test_randomness(s);
    test_verify_cost(s);
    test_first_start();
    store_close(s);
    test_rmtree(dir);
    return test_summary();
}
