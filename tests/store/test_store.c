/* The store contract, on the backend LORE_TEST_STORE_URL names
 * (support/store_fixture.h): tenants, documents and chunks, the key-value
 * space, transactions and chunk id reservation. What only SQLite has (its
 * files, its migrations table) is in test_store_sqlite.c. */
#include <pthread.h>

#include "store/store.h"
#include "support/store_fixture.h"
#include "test.h"

static store_doc make_doc(const char *ext, const char *text) {
    store_doc d = {0};
    d.source = "files";
    d.external_id = (char *)ext;
    d.title = "A title";
    d.text = (char *)text;
    d.text_len = strlen(text);
    snprintf(d.content_hash, sizeof d.content_hash, "%064d", 1);
    return d;
}

/* Two key-value namespaces: the store gives numbers no meaning. */
enum { NS_TEST = 1, NS_OTHER = 2 };

static int kv_count(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl) {
    (void)k, (void)kl, (void)v, (void)vl;
    (*(int *)ctx)++;
    return 0;
}

typedef struct scanned {
    int64_t id[16];
    uint32_t nterms[16];
    char title[16][32];
    char text[16][32];
    int n, stop_at;
} scanned;

static int scan_cb(void *ctx, int64_t id, uint32_t nterms, const char *title, size_t title_len,
                   const char *text, size_t text_len) {
    scanned *sc = ctx;
    if (sc->n == 16) return 1;
    sc->id[sc->n] = id;
    sc->nterms[sc->n] = nterms;
    snprintf(sc->title[sc->n], 32, "%.*s", title ? (int)title_len : 6, title ? title : "(null)");
    snprintf(sc->text[sc->n], 32, "%.*s", (int)text_len, text);
    return ++sc->n == sc->stop_at;
}

/* store_chunk_scan: every chunk above the cursor in id order, across
 * documents, with its document's title and its byte range of the text;
 * store_chunk_set_nterms. The tenant holds one chunk before this. */
static void check_chunk_scan(store_tenant *t, int64_t before) {
    store_doc a = make_doc("/scan/a", "alpha beta gamma"), b = make_doc("/scan/b", "delta eps");
    b.title = NULL;
    store_chunk_in ca[3] = {{0, 0, 5, "", 1, 11}, {0, 6, 10, "", 1, 12}, {0, 11, 16, "", 1, 13}};
    store_chunk_in cb = {0, 6, 9, "", 1, 21};
    int64_t first = 0, fb = 0;
    CHECK_INT(store_begin(t), LORE_OK);
    CHECK_INT(store_reserve_chunk_ids(t, 3, &first), LORE_OK);
    for (int i = 0; i < 3; i++)
        ca[i].id = first + i;
    CHECK_INT(store_reserve_chunk_ids(t, 1, &fb), LORE_OK);
    cb.id = fb;
    /* written out of id order: the scan orders by id, not by insertion */
    CHECK_INT(store_doc_put(t, &b, &cb, 1), LORE_OK);
    CHECK_INT(store_doc_put(t, &a, ca, 3), LORE_OK);
    CHECK_INT(store_commit(t), LORE_OK);
    scanned sc = {.stop_at = -1};
    CHECK_INT(store_chunk_scan(t, 0, 100, scan_cb, &sc), LORE_OK);
    CHECK_INT(sc.n, 5);
    CHECK_INT(sc.id[0], before);
    CHECK_STR(sc.title[0], "A title");
    CHECK_INT(sc.id[1], first);
    CHECK_STR(sc.text[1], "alpha");
    CHECK_INT(sc.nterms[1], 11);
    CHECK_STR(sc.text[2], "beta");
    CHECK_STR(sc.text[3], "gamma");
    CHECK_STR(sc.title[3], "A title");
    CHECK_INT(sc.id[4], fb);
    CHECK_STR(sc.text[4], "eps");
    CHECK_STR(sc.title[4], "(null)");
    CHECK_INT(sc.nterms[4], 21);
    /* after a cursor, with a limit, and stopped by the callback */
    memset(&sc, 0, sizeof sc);
    sc.stop_at = -1;
    CHECK_INT(store_chunk_scan(t, first, 2, scan_cb, &sc), LORE_OK);
    CHECK_INT(sc.n, 2);
    CHECK_INT(sc.id[0], first + 1);
    CHECK_INT(sc.id[1], first + 2);
    memset(&sc, 0, sizeof sc);
    sc.stop_at = 1;
    CHECK_INT(store_chunk_scan(t, 0, 100, scan_cb, &sc), LORE_OK);
    CHECK_INT(sc.n, 1);
    memset(&sc, 0, sizeof sc);
    CHECK_INT(store_chunk_scan(t, fb, 100, scan_cb, &sc), LORE_OK);
    CHECK_INT(sc.n, 0);
    /* nterms rewritten inside a transaction only; gone chunks say so */
    CHECK_INT(store_chunk_set_nterms(t, first, 99), LORE_INVALID);
    CHECK_INT(store_begin(t), LORE_OK);
    CHECK_INT(store_chunk_set_nterms(t, first, 99), LORE_OK);
    CHECK_INT(store_chunk_set_nterms(t, fb + 100, 99), LORE_NOT_FOUND);
    CHECK_INT(store_commit(t), LORE_OK);
    memset(&sc, 0, sizeof sc);
    sc.stop_at = -1;
    CHECK_INT(store_chunk_scan(t, before, 1, scan_cb, &sc), LORE_OK);
    CHECK_INT(sc.nterms[0], 99);
    CHECK_INT(store_begin(t), LORE_OK);
    CHECK_INT(store_doc_delete(t, a.rowid), LORE_OK);
    CHECK_INT(store_doc_delete(t, b.rowid), LORE_OK);
    CHECK_INT(store_commit(t), LORE_OK);
}

/* ---- writers of one tenant in one process ---- */

#define WRITERS 6
#define ROUNDS 25

typedef struct writer {
    store_fixture *f;
    int n;
    lore_status failed; /* LORE_OK, or the first failure */
    char why[512];
} writer;

/* One more on the tenant's counter, read and written in the caller's
 * transaction. */
static lore_status bump(store_tenant *t) {
    lore_buf v;
    lore_buf_init(&v, 16);
    uint64_t n = 0;
    lore_status st = store_kv_get(t, NS_OTHER, "count", 5, &v);
    if (st == LORE_OK && v.len == sizeof n) memcpy(&n, v.data, sizeof n);
    if (st == LORE_NOT_FOUND) st = LORE_OK;
    n++;
    if (st == LORE_OK) st = store_kv_put(t, NS_OTHER, "count", 5, &n, sizeof n);
    lore_buf_free(&v);
    return st;
}

static uint64_t counter(store_tenant *t) {
    lore_buf v;
    lore_buf_init(&v, 16);
    uint64_t n = 0;
    if (store_kv_get(t, NS_OTHER, "count", 5, &v) == LORE_OK && v.len == sizeof n)
        memcpy(&n, v.data, sizeof n);
    lore_buf_free(&v);
    return n;
}

/* ROUNDS write transactions through a store handle of its own. */
static void *write_rounds(void *arg) {
    writer *w = arg;
    store *s = NULL;
    store_tenant *t = NULL;
    w->failed = store_fixture_open(w->f, 0, &s);
    if (w->failed == LORE_OK) w->failed = store_tenant_open(s, "acme", &t);
    for (int i = 0; i < ROUNDS && w->failed == LORE_OK; i++) {
        lore_status st = store_begin(t);
        if (st == LORE_OK) st = bump(t);
        if (st == LORE_OK) st = store_commit(t);
        if (st != LORE_OK) {
            snprintf(w->why, sizeof w->why, "round %d: %s (%s)", i, lore_status_message(st),
                     store_tenant_errmsg(t));
            store_rollback(t);
            w->failed = st;
        } else {
            w->n++;
        }
    }
    store_tenant_close(t);
    store_close(s);
    return NULL;
}

/* Threads of one process, each with its own store handle, writing one
 * tenant at once: every transaction commits (the store queues them; none
 * is refused for the others' sake), and writers run one at a time (the
 * read-modify-write counter saw every one). A begin through a second
 * handle while this thread holds the tenant's write transaction would wait
 * for itself: it answers LORE_BUSY (SQLite at once, PostgreSQL after its
 * lock_timeout), never hangs. */
static void check_writers(store_fixture *f, store *s) {
    writer w[WRITERS];
    pthread_t th[WRITERS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < WRITERS; i++) {
        w[i].f = f;
        CHECK_INT(pthread_create(&th[i], NULL, write_rounds, &w[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(w[i].failed, LORE_OK);
        if (w[i].failed != LORE_OK) fprintf(stderr, "writer %d: %s\n", i, w[i].why);
        CHECK_INT(w[i].n, ROUNDS);
    }
    store_tenant *t = NULL, *t2 = NULL;
    CHECK_INT(store_tenant_open(s, "acme", &t), LORE_OK);
    CHECK_INT(store_tenant_open(s, "acme", &t2), LORE_OK);
    CHECK_INT(counter(t), WRITERS * ROUNDS);
    CHECK_INT(store_begin(t), LORE_OK);
    CHECK_INT(store_begin(t2), LORE_BUSY);
    CHECK_INT(bump(t), LORE_OK);
    CHECK_INT(store_commit(t), LORE_OK);
    CHECK_INT(store_begin(t2), LORE_OK); /* its turn once the first ended */
    CHECK_INT(bump(t2), LORE_OK);
    CHECK_INT(store_commit(t2), LORE_OK);
    CHECK_INT(counter(t), WRITERS * ROUNDS + 2);
    CHECK_INT(store_begin(t), LORE_OK);
    CHECK_INT(store_kv_delete(t, NS_OTHER, "count", 5), LORE_OK);
    CHECK_INT(store_commit(t), LORE_OK);
    store_tenant_close(t2);
    store_tenant_close(t);
}

int main(void) {
    printf("backend %s\n", store_fixture_backend());
    store_fixture f;
    store *s = NULL;
    if (store_fixture_init(&f) || store_fixture_open(&f, STORE_OPEN_CREATE, &s) != LORE_OK) {
        CHECK(0);
        return test_summary();
    }

    /* tenant names */
    CHECK(store_tenant_name_valid("acme"));
    CHECK(store_tenant_name_valid("a-1_b"));
    CHECK(!store_tenant_name_valid(""));
    CHECK(!store_tenant_name_valid("-x"));
    CHECK(!store_tenant_name_valid("Acme"));
    CHECK(!store_tenant_name_valid("../etc"));
    CHECK(!store_tenant_name_valid("a/b"));
    CHECK_INT(store_tenant_create(s, "../evil"), LORE_INVALID);
    CHECK_INT(store_tenant_create(s, "acme"), LORE_OK);
    CHECK_INT(store_tenant_create(s, "acme"), LORE_EXISTS);
    CHECK_INT(store_tenant_create(s, "beta"), LORE_OK);
    store_tenant_info *list;
    size_t n;
    CHECK_INT(store_tenant_list(s, &list, &n), LORE_OK);
    CHECK_INT(n, 2);
    CHECK_STR(list[0].name, "acme");
    free(list);
    store_tenant *t = NULL, *missing = NULL;
    CHECK_INT(store_tenant_open(s, "nope", &missing), LORE_NOT_FOUND);
    CHECK(missing == NULL);
    CHECK_INT(store_tenant_open(s, "acme", &t), LORE_OK);

    /* writes need a transaction; ids are reserved ascending */
    store_doc d = make_doc("/docs/a.md", "hello world. second part.");
    store_chunk_in ch[2] = {{0, 0, 12, "Intro", 3, 2}, {0, 13, 25, "Intro > More", 2, 2}};
    CHECK_INT(store_doc_put(t, &d, ch, 2), LORE_INVALID);
    CHECK_INT(store_begin(t), LORE_OK);
    int64_t first = 0, second = 0;
    CHECK_INT(store_reserve_chunk_ids(t, 2, &first), LORE_OK);
    CHECK_INT(first, 1);
    ch[0].id = first, ch[1].id = first + 1;
    CHECK_INT(store_doc_put(t, &d, ch, 2), LORE_OK);
    CHECK_INT(strlen(d.id), STORE_DOC_ID_LEN);
    char id_a[STORE_DOC_ID_LEN + 1];
    memcpy(id_a, d.id, sizeof id_a);
    CHECK_INT(store_commit(t), LORE_OK);

    /* same source item -> same public id, in any tenant and after re-put */
    store_doc d2 = make_doc("/docs/a.md", "changed text here");
    CHECK_INT(store_begin(t), LORE_OK);
    CHECK_INT(store_reserve_chunk_ids(t, 1, &second), LORE_OK);
    CHECK_INT(second, 3); /* never reuses ids, even within the same document */
    store_chunk_in c2 = {second, 0, 7, "", 1, 1};
    CHECK_INT(store_doc_put(t, &d2, &c2, 1), LORE_OK);
    CHECK_STR(d2.id, id_a);
    CHECK_INT(d2.rowid, d.rowid);
    CHECK_INT(store_commit(t), LORE_OK);

    int64_t rowid;
    char hash[65];
    CHECK_INT(store_doc_lookup(t, "files", "/docs/a.md", &rowid, hash), LORE_OK);
    CHECK_INT(rowid, d.rowid);
    CHECK_INT(store_doc_lookup(t, "slack", "/docs/a.md", NULL, NULL), LORE_NOT_FOUND);

    store_doc *got = NULL;
    CHECK_INT(store_doc_get(t, id_a, 1, &got), LORE_OK);
    CHECK_STR(got->text, "changed text here");
    CHECK_STR(got->title, "A title");
    CHECK_INT(got->nchunks, 1);
    store_doc_free(got);
    CHECK_INT(store_doc_get(t, "0000000000000000", 0, &got), LORE_NOT_FOUND);

    store_chunk sc;
    CHECK_INT(store_chunk_get(t, second, &sc), LORE_OK);
    CHECK_STR(sc.text, "changed");
    store_chunk_clear(&sc);
    CHECK_INT(store_chunk_get(t, first, &sc), LORE_NOT_FOUND); /* replaced */
    int64_t owner_doc = 0;
    CHECK_INT(store_chunk_doc(t, second, &owner_doc), LORE_OK);
    CHECK_INT(owner_doc, d.rowid);
    CHECK_INT(store_chunk_doc(t, first, &owner_doc), LORE_NOT_FOUND);
    store_chunk_owner ow;
    CHECK_INT(store_chunk_owner_get(t, second, &ow), LORE_OK);
    CHECK_STR(ow.source, "files");
    CHECK_STR(ow.acl_joined, "");

    /* ACL round trip */
    char *acl[] = {"user:ann@example.com", "group:eng"};
    store_doc d3 = make_doc("/docs/b.md", "secret stuff");
    d3.acl = acl;
    d3.nacl = 2;
    d3.source = "wiki";
    CHECK_INT(store_begin(t), LORE_OK);
    int64_t third;
    CHECK_INT(store_reserve_chunk_ids(t, 1, &third), LORE_OK);
    store_chunk_in c3 = {third, 0, 6, "", 1, 1};
    CHECK_INT(store_doc_put(t, &d3, &c3, 1), LORE_OK);
    CHECK_INT(store_commit(t), LORE_OK);
    CHECK_INT(store_chunk_owner_get(t, third, &ow), LORE_OK);
    CHECK_STR(ow.acl_joined, "user:ann@example.com\ngroup:eng");
    CHECK_INT(store_doc_get(t, d3.id, 0, &got), LORE_OK);
    CHECK_INT(got->nacl, 2);
    CHECK_STR(got->acl[1], "group:eng");
    store_doc_free(got);
    store_source_info *src;
    CHECK_INT(store_sources(t, NULL, &src, &n), LORE_OK);
    CHECK_INT(n, 2);
    CHECK_STR(src[0].source, "files");
    CHECK_STR(src[1].source, "wiki");
    store_sources_free(src, n);

    /* rollback leaves nothing */
    CHECK_INT(store_begin(t), LORE_OK);
    CHECK_INT(store_doc_delete(t, d3.rowid), LORE_OK);
    store_rollback(t);
    CHECK_INT(store_chunk_get(t, third, &sc), LORE_OK);
    store_chunk_clear(&sc);
    int64_t docs, chunks;
    CHECK_INT(store_counts(t, &docs, &chunks), LORE_OK);
    CHECK_INT(docs, 2);
    CHECK_INT(chunks, 2);

    /* delete cascades to chunks */
    CHECK_INT(store_begin(t), LORE_OK);
    CHECK_INT(store_doc_delete(t, d3.rowid), LORE_OK);
    CHECK_INT(store_doc_delete(t, d3.rowid), LORE_NOT_FOUND);
    CHECK_INT(store_commit(t), LORE_OK);
    CHECK_INT(store_chunk_get(t, third, &sc), LORE_NOT_FOUND);

    check_chunk_scan(t, second);

    /* kv: put/get/scan order/range delete */
    CHECK_INT(store_begin(t), LORE_OK);
    for (int i = 0; i < 10; i++) {
        uint8_t k[2] = {0, (uint8_t)(9 - i)};
        CHECK_INT(store_kv_put(t, NS_TEST, k, 2, "v", 1), LORE_OK);
    }
    CHECK_INT(store_commit(t), LORE_OK);
    lore_buf v;
    lore_buf_init(&v, 1024);
    uint8_t k5[2] = {0, 5};
    CHECK_INT(store_kv_get(t, NS_TEST, k5, 2, &v), LORE_OK);
    CHECK_STR(v.data, "v");
    CHECK_INT(store_kv_get(t, NS_OTHER, k5, 2, &v), LORE_NOT_FOUND);
    int count = 0;
    uint8_t lo[2] = {0, 3}, hi[2] = {0, 7};
    CHECK_INT(store_kv_scan(t, NS_TEST, lo, 2, hi, 2, kv_count, &count), LORE_OK);
    CHECK_INT(count, 4);
    CHECK_INT(store_begin(t), LORE_OK);
    CHECK_INT(store_kv_delete_range(t, NS_TEST, lo, 2, hi, 2), LORE_OK);
    CHECK_INT(store_commit(t), LORE_OK);
    count = 0;
    CHECK_INT(store_kv_scan(t, NS_TEST, "", 0, NULL, 0, kv_count, &count), LORE_OK);
    CHECK_INT(count, 6);
    lore_buf_free(&v);
    store_tenant_close(t);
    check_writers(&f, s);

    /* deleting a tenant leaves the others intact (its files: test_store_sqlite) */
    CHECK_INT(store_tenant_delete(s, "beta"), LORE_OK);
    CHECK_INT(store_tenant_delete(s, "beta"), LORE_NOT_FOUND);
    CHECK_INT(store_tenant_open(s, "beta", &t), LORE_NOT_FOUND);
    CHECK_INT(store_tenant_open(s, "acme", &t), LORE_OK);
    CHECK_INT(store_counts(t, &docs, &chunks), LORE_OK);
    CHECK_INT(docs, 1);
    store_tenant_close(t);
    store_close(s);

    store_fixture_done(&f);
    return test_summary();
}
