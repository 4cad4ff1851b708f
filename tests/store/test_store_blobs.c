/* The store contract for blobs and migrations, on whichever backend
 * LORE_TEST_STORE_URL names (support/store_fixture.h): a blob is invisible
 * until finished, reads back byte for byte at any offset, is discarded by
 * finish(keep = 0), removed (missing is fine), per tenant and deleted with
 * its tenant; a blob under the caller's name (store_blob_create_named) is
 * replaced whole by a later writer of the name, its name checked;
 * store_blob_local_path gives a readable file on every backend;
 * the schema status lists the control store and every tenant up to date,
 * and store_migrate on an up-to-date store changes nothing. The blob size
 * and offsets are drawn from a printed seed. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "support/store_fixture.h"
#include "test.h"

static void fill(uint8_t *b, size_t n, uint64_t salt) {
    uint64_t x = salt * 0x9E3779B97F4A7C15ull + 7;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        b[i] = (uint8_t)x;
    }
}

static void test_blobs(store *s) {
    size_t n = 100000 + (size_t)(test_rand() % 400000); /* crosses any chunk size */
    uint8_t *data = malloc(n), *back = malloc(n + 16);
    CHECK(data && back);
    if (!data || !back) return;
    fill(data, n, n);
    char name[STORE_BLOB_NAME_MAX + 1] = "", other[STORE_BLOB_NAME_MAX + 1] = "";
    store_blob_writer *w = NULL;
    CHECK_INT(store_blob_create(s, "acme", name, &w), LORE_OK);
    CHECK(name[0] && strlen(name) <= STORE_BLOB_NAME_MAX);
    int64_t size = -1;
    CHECK_INT(store_blob_size(s, "acme", name, &size), LORE_NOT_FOUND); /* not finished */
    for (size_t off = 0; w && off < n;) {
        size_t step = 1 + (size_t)(test_rand() % 70000);
        if (step > n - off) step = n - off;
        CHECK_INT(store_blob_write(w, data + off, step), LORE_OK);
        off += step;
    }
    if (w) CHECK_INT(store_blob_finish(w, 1), LORE_OK);
    CHECK_INT(store_blob_size(s, "acme", name, &size), LORE_OK);
    CHECK_INT(size, (int64_t)n);
    /* whole, in pieces at drawn offsets, past the end */
    size_t got = 0;
    CHECK_INT(store_blob_read(s, "acme", name, 0, back, n + 16, &got), LORE_OK);
    CHECK_INT(got, n);
    CHECK(memcmp(back, data, n) == 0);
    for (int i = 0; i < 20; i++) {
        size_t off = (size_t)(test_rand() % n), len = 1 + (size_t)(test_rand() % 9000);
        size_t want = off + len > n ? n - off : len;
        CHECK_INT(store_blob_read(s, "acme", name, (int64_t)off, back, len, &got), LORE_OK);
        CHECK_INT(got, want);
        CHECK(memcmp(back, data + off, want) == 0);
    }
    CHECK_INT(store_blob_read(s, "acme", name, (int64_t)n + 5, back, 10, &got), LORE_OK);
    CHECK_INT(got, 0);
    /* names are per tenant */
    CHECK_INT(store_blob_size(s, "beta", name, &size), LORE_NOT_FOUND);
    CHECK_INT(store_blob_read(s, "acme", "no-such-blob", 0, back, 10, &got), LORE_NOT_FOUND);
    /* a local file with the same bytes, on every backend */
    char path[1024];
    int temp = -1;
    CHECK_INT(store_blob_local_path(s, "acme", name, NULL, path, sizeof path, &temp), LORE_OK);
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && (size_t)sb.st_size == n);
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0 && read(fd, back, n + 1) == (ssize_t)n && memcmp(back, data, n) == 0);
    if (fd >= 0) close(fd);
    if (temp == 1) unlink(path);
    CHECK_INT(store_blob_local_path(s, "acme", "no-such-blob", NULL, path, sizeof path, &temp),
              LORE_NOT_FOUND);
    /* discarded: never visible */
    CHECK_INT(store_blob_create(s, "acme", other, &w), LORE_OK);
    CHECK(strcmp(other, name) != 0);
    if (w) CHECK_INT(store_blob_write(w, "abc", 3), LORE_OK);
    if (w) CHECK_INT(store_blob_finish(w, 0), LORE_OK);
    CHECK_INT(store_blob_size(s, "acme", other, &size), LORE_NOT_FOUND);
    /* the helpers */
    char small[STORE_BLOB_NAME_MAX + 1];
    CHECK_INT(store_blob_put(s, "beta", "{\"x\":1}", 7, small), LORE_OK);
    char *text = NULL;
    size_t len = 0;
    CHECK_INT(store_blob_load(s, "beta", small, 100, &text, &len), LORE_OK);
    CHECK(text && len == 7 && !strcmp(text, "{\"x\":1}"));
    free(text);
    CHECK_INT(store_blob_load(s, "beta", small, 6, &text, &len), LORE_TOO_LARGE);
    /* removed; removing again is fine */
    store_blob_remove(s, "acme", name);
    store_blob_remove(s, "acme", name);
    CHECK_INT(store_blob_size(s, "acme", name, &size), LORE_NOT_FOUND);
    /* deleted with the tenant */
    CHECK_INT(store_tenant_delete(s, "beta"), LORE_OK);
    CHECK_INT(store_tenant_create(s, "beta"), LORE_OK);
    CHECK_INT(store_blob_size(s, "beta", small, &size), LORE_NOT_FOUND);
    /* a bad tenant name is refused */
    CHECK_INT(store_blob_create(s, "../x", other, &w), LORE_INVALID);
    free(data);
    free(back);
}

/* The blob's whole content into a NUL-terminated buffer (NULL: none). */
static char *content(store *s, const char *tenant, const char *name) {
    char *text = NULL;
    size_t len = 0;
    return store_blob_load(s, tenant, name, 1u << 24, &text, &len) == LORE_OK ? text : NULL;
}

/* A blob under the caller's name: invisible until finished, replaced whole
 * by a later writer of the name (an unfinished one leaves the old bytes),
 * kept through a discarded writer, per tenant, removed, and its name checked. */
static void test_named_blobs(store *s) {
    const char *name = "problems-0123abcd-1700000000000-42-0.jsonl";
    store_blob_writer *w = NULL, *w2 = NULL;
    int64_t size = -1;
    CHECK_INT(store_blob_create_named(s, "acme", name, &w), LORE_OK);
    if (w) CHECK_INT(store_blob_write(w, "first\n", 6), LORE_OK);
    CHECK_INT(store_blob_size(s, "acme", name, &size), LORE_NOT_FOUND); /* not finished */
    if (w) CHECK_INT(store_blob_finish(w, 1), LORE_OK);
    char *t = content(s, "acme", name);
    CHECK(t && !strcmp(t, "first\n"));
    free(t);
    /* a second writer of the name: the old blob stays until it finishes */
    size_t n = 100000 + (size_t)(test_rand() % 3000000);
    uint8_t *data = malloc(n), *back = malloc(n);
    CHECK(data && back);
    if (!data || !back) return;
    fill(data, n, n + 1);
    CHECK_INT(store_blob_create_named(s, "acme", name, &w), LORE_OK);
    CHECK_INT(store_blob_create_named(s, "acme", name, &w2), LORE_OK); /* one that gives up */
    if (w) CHECK_INT(store_blob_write(w, data, n), LORE_OK);
    t = content(s, "acme", name);
    CHECK(t && !strcmp(t, "first\n"));
    free(t);
    if (w) CHECK_INT(store_blob_finish(w, 1), LORE_OK);
    CHECK_INT(store_blob_size(s, "acme", name, &size), LORE_OK);
    CHECK_INT(size, (int64_t)n);
    size_t got = 0;
    CHECK_INT(store_blob_read(s, "acme", name, 0, back, n, &got), LORE_OK);
    CHECK(got == n && memcmp(back, data, n) == 0);
    if (w2) CHECK_INT(store_blob_write(w2, "junk", 4), LORE_OK);
    if (w2) CHECK_INT(store_blob_finish(w2, 0), LORE_OK); /* discarded: the blob stays */
    CHECK_INT(store_blob_size(s, "acme", name, &size), LORE_OK);
    CHECK_INT(size, (int64_t)n);
    /* a local file with the new bytes, on every backend */
    char path[1024];
    int temp = -1;
    CHECK_INT(store_blob_local_path(s, "acme", name, NULL, path, sizeof path, &temp), LORE_OK);
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0 && read(fd, back, n) == (ssize_t)n && memcmp(back, data, n) == 0);
    if (fd >= 0) close(fd);
    if (temp == 1) unlink(path);
    /* per tenant: beta's blob of the same name is its own */
    CHECK_INT(store_blob_size(s, "beta", name, &size), LORE_NOT_FOUND);
    CHECK_INT(store_blob_create_named(s, "beta", name, &w), LORE_OK);
    if (w) CHECK_INT(store_blob_finish(w, 1), LORE_OK); /* empty is a blob too */
    CHECK_INT(store_blob_size(s, "beta", name, &size), LORE_OK);
    CHECK_INT(size, 0);
    CHECK_INT(store_blob_size(s, "acme", name, &size), LORE_OK);
    CHECK_INT(size, (int64_t)n);
    /* removed */
    store_blob_remove(s, "acme", name);
    store_blob_remove(s, "beta", name);
    CHECK_INT(store_blob_size(s, "acme", name, &size), LORE_NOT_FOUND);
    CHECK_INT(store_blob_size(s, "beta", name, &size), LORE_NOT_FOUND);
    /* names: the charset and length are checked, on every backend */
    char longname[STORE_BLOB_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    const char *bad[] = {"", ".hidden", "a/b", "../x", "a b", "na\xc3\xafve", longname};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        w = (store_blob_writer *)1;
        CHECK_INT(store_blob_create_named(s, "acme", bad[i], &w), LORE_INVALID);
        CHECK(w == NULL);
    }
    longname[STORE_BLOB_NAME_MAX] = 0; /* exactly the longest */
    CHECK_INT(store_blob_create_named(s, "acme", longname, &w), LORE_OK);
    if (w) CHECK_INT(store_blob_finish(w, 0), LORE_OK);
    CHECK_INT(store_blob_create_named(s, "../x", name, &w), LORE_INVALID);
    free(data);
    free(back);
}

static void test_migrations(store *s) {
    store_schema_status *st = NULL;
    size_t n = 0;
    CHECK_INT(store_migration_status(s, &st, &n), LORE_OK);
    CHECK_INT(n, 3); /* control, acme, beta */
    if (n == 3) {
        CHECK_STR(st[0].tenant, "");
        CHECK_STR(st[1].tenant, "acme");
        CHECK_STR(st[2].tenant, "beta");
        for (size_t i = 0; i < n; i++) {
            CHECK(st[i].known > 0);
            CHECK_INT(st[i].applied, st[i].known);
        }
    }
    free(st);
    char err[512] = "";
    CHECK_INT(store_migrate(s, err, sizeof err), LORE_OK);
    CHECK_INT(store_migrate(s, err, sizeof err), LORE_OK); /* idempotent */
    CHECK_INT(store_migration_status(s, &st, &n), LORE_OK);
    CHECK_INT(n, 3);
    for (size_t i = 0; i < n; i++)
        CHECK_INT(st[i].applied, st[i].known);
    free(st);
}

int main(void) {
    test_seed();
    printf("backend %s\n", store_fixture_backend());
    store_fixture f;
    store *s = NULL;
    if (store_fixture_init(&f) || store_fixture_open(&f, STORE_OPEN_CREATE, &s) != LORE_OK) {
        CHECK(0);
        return test_summary();
    }
    CHECK_STR(store_backend_name(s), store_fixture_backend());
    CHECK_INT(store_tenant_create(s, "acme"), LORE_OK);
    CHECK_INT(store_tenant_create(s, "beta"), LORE_OK);
    test_blobs(s);
    test_named_blobs(s);
    test_migrations(s);
    store_close(s);
    /* opening what is there without creating anything */
    CHECK_INT(store_fixture_open(&f, 0, &s), LORE_OK);
    store_close(s);
    store_fixture_done(&f);
    return test_summary();
}
