/* The PostgreSQL backend's tenant data (pg_tx.c, pg_docs.c,
 * pg_docs_read.c, pg_kv.c, pg_blobs.c) against a real PostgreSQL: documents
 * and chunks, transactions and read snapshots, writers of two processes,
 * the kv space's bytewise order, the cache across processes, blobs in
 * chunked rows. Tenants are made by the backend itself (pg_tenant_create:
 * a role and a schema each), so every statement runs as the tenant's role.
 *
 * Run through tests/support/pg.sh (CMake does), which starts a throwaway
 * server and sets LORE_TEST_PG_URL. */
#include "test.h"

#ifndef LORE_HAVE_POSTGRES
int main(void) {
    printf("PostgreSQL backend not compiled (no libpq): nothing to test\n");
    return 0;
}
#else

#include <sys/wait.h>
#include <unistd.h>

#include "store/postgres/pg_int.h"

/* ---- fixtures ---- */

static const char *url;
static store *S;

static PGconn *admin(void) {
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect: %s", PQerrorMessage(c));
        exit(1);
    }
    PQclear(PQexec(c, "SET client_min_messages TO warning"));
    return c;
}

static void open_store(void) {
    char err[256] = "";
    if (pg_open(url, STORE_OPEN_CREATE, &S, err, sizeof err) != LORE_OK) {
        fprintf(stderr, "pg_open: %s\n", err);
        exit(1);
    }
}

static void close_store(void) {
    pg_close(S);
    S = NULL;
}

/* Opens a tenant (another handle when it exists already). */
static pg_tenant *open_tenant(const char *name) {
    store_tenant *t = NULL;
    if (pg_tenant_open(S, name, &t) != LORE_OK) {
        fprintf(stderr, "pg_tenant_open %s failed\n", name);
        exit(1);
    }
    return (pg_tenant *)t;
}

/* A new, empty tenant (deleted first if a previous step made one). */
static pg_tenant *make_tenant(const char *name) {
    lore_status st = pg_tenant_delete(S, name);
    if (st != LORE_OK && st != LORE_NOT_FOUND) exit(1);
    if (pg_tenant_create(S, name) != LORE_OK) {
        fprintf(stderr, "pg_tenant_create %s failed\n", name);
        exit(1);
    }
    return open_tenant(name);
}

static void close_tenant(pg_tenant *t) {
    pg_tenant_close(&t->base);
}

#define T(t) (&(t)->base)

/* Puts a document with nchunks chunks of 4 bytes each. */
static int64_t put_doc(pg_tenant *t, const char *source, const char *ext, const char *text,
                       size_t nchunks, const char *const *acl, size_t nacl, int64_t *first) {
    store_chunk_in ch[700];
    int64_t id0 = 0;
    CHECK_INT(pg_reserve_chunk_ids(T(t), nchunks, &id0), LORE_OK);
    for (size_t i = 0; i < nchunks; i++) {
        ch[i] = (store_chunk_in){.id = id0 + (int64_t)i,
                                 .start = (uint32_t)(4 * i),
                                 .end = (uint32_t)(4 * i + 4),
                                 .section = i % 2 ? "A \"quoted\" \\ section, {x}" : NULL,
                                 .ntokens = 3,
                                 .nterms = (uint32_t)(10 + i)};
    }
    store_doc d = {.source = (char *)source,
                   .external_id = (char *)ext,
                   .title = "Title",
                   .url = "https://example.com/x",
                   .author = NULL,
                   .created_ms = 5,
                   .updated_ms = 7,
                   .metadata_json = "{\"k\":1}",
                   .acl = (char **)acl,
                   .nacl = nacl,
                   .text = (char *)text,
                   .text_len = strlen(text)};
    snprintf(d.content_hash, sizeof d.content_hash, "hash-%s", ext);
    CHECK_INT(pg_doc_put(T(t), &d, ch, nchunks), LORE_OK);
    CHECK_INT(d.nchunks, (int64_t)nchunks);
    if (first) *first = id0;
    return d.rowid;
}

/* ---- documents and chunks ---- */

typedef struct collect {
    int64_t ids[2000];
    uint32_t nterms[2000];
    char text[2000][8];
    char ext[64][32];
    int n, stop_at;
} collect;

static int on_len(void *ctx, int64_t id, uint32_t nterms) {
    collect *c = ctx;
    c->ids[c->n] = id;
    c->nterms[c->n++] = nterms;
    return 0;
}

static int on_scan(void *ctx, int64_t id, uint32_t nterms, const char *title, size_t tl,
                   const char *text, size_t len) {
    collect *c = ctx;
    CHECK(title && tl == 5 && !memcmp(title, "Title", 5));
    c->ids[c->n] = id;
    c->nterms[c->n] = nterms;
    snprintf(c->text[c->n], sizeof c->text[0], "%.*s", (int)len, text);
    return ++c->n == c->stop_at;
}

static int on_doc(void *ctx, const store_doc *d) {
    collect *c = ctx;
    c->ids[c->n] = d->rowid;
    snprintf(c->ext[c->n++], sizeof c->ext[0], "%s", d->external_id);
    return 0;
}

static int on_ref(void *ctx, int64_t rowid, const char *ext, const char *hash) {
    collect *c = ctx;
    CHECK(strstr(hash, "hash-") == hash);
    c->ids[c->n] = rowid;
    snprintf(c->ext[c->n++], sizeof c->ext[0], "%s", ext);
    return c->n == c->stop_at;
}

static void test_docs(void) {
    pg_tenant *t = make_tenant("t1");
    const char *text = "abcdefghijkl"; /* three 4-byte chunks */
    store_doc d0 = {.source = "s", .external_id = "x", .text = "t", .text_len = 1};
    CHECK_INT(pg_doc_put(T(t), &d0, NULL, 0), LORE_INVALID); /* outside a transaction */
    int64_t first = 0;
    CHECK_INT(pg_reserve_chunk_ids(T(t), 1, &first), LORE_INVALID);

    CHECK_INT(pg_begin(T(t)), LORE_OK);
    CHECK_INT(pg_begin(T(t)), LORE_INVALID);
    CHECK_INT(pg_begin_read(T(t)), LORE_INVALID);
    const char *acl[] = {"alice", "team:x"};
    int64_t rowid = put_doc(t, "files", "/a.txt", text, 3, acl, 2, &first);
    CHECK(rowid > 0);
    CHECK_INT(pg_commit(T(t)), LORE_OK);
    CHECK_INT(pg_commit(T(t)), LORE_INVALID);

    int64_t r = 0;
    char hash[65];
    CHECK_INT(pg_doc_lookup(T(t), "files", "/a.txt", &r, hash), LORE_OK);
    CHECK_INT(r, rowid);
    CHECK_STR(hash, "hash-/a.txt");
    CHECK_INT(pg_doc_lookup(T(t), "files", "/none", &r, hash), LORE_NOT_FOUND);

    char pub[STORE_DOC_ID_LEN + 1];
    store_doc_public_id("files", "/a.txt", pub);
    store_doc *d = NULL;
    CHECK_INT(pg_doc_get(T(t), pub, 1, &d), LORE_OK);
    if (d) {
        CHECK_INT(d->rowid, rowid);
        CHECK_STR(d->id, pub);
        CHECK_STR(d->source, "files");
        CHECK_STR(d->title, "Title");
        CHECK(d->author == NULL);
        CHECK_STR(d->metadata_json, "{\"k\":1}");
        CHECK_INT(d->created_ms, 5);
        CHECK_INT(d->updated_ms, 7);
        CHECK(d->indexed_ms > 0);
        CHECK_INT(d->nacl, 2);
        if (d->nacl == 2) CHECK_STR(d->acl[1], "team:x");
        CHECK_INT(d->nchunks, 3);
        CHECK_INT(d->text_len, 12);
        CHECK_STR(d->text, text);
        store_doc_free(d);
    }
    CHECK_INT(pg_doc_get_rowid(T(t), rowid, 0, &d), LORE_OK);
    if (d) {
        CHECK(d->text == NULL);
        store_doc_free(d);
    }
    CHECK_INT(pg_doc_get(T(t), "0000000000000000", 0, &d), LORE_NOT_FOUND);
    CHECK(d == NULL);

    store_chunk c;
    CHECK_INT(pg_chunk_get(T(t), first + 1, &c), LORE_OK);
    CHECK_STR(c.text, "efgh");
    CHECK_INT(c.ordinal, 1);
    CHECK_INT(c.doc_rowid, rowid);
    CHECK_STR(c.section, "A \"quoted\" \\ section, {x}");
    store_chunk_clear(&c);
    CHECK_INT(pg_chunk_get(T(t), first + 2, &c), LORE_OK);
    CHECK_STR(c.section, "");
    store_chunk_clear(&c);
    store_chunk_owner o;
    CHECK_INT(pg_chunk_owner_get(T(t), first, &o), LORE_OK);
    CHECK_STR(o.source, "files");
    CHECK_STR(o.acl_joined, "alice\nteam:x");
    CHECK_INT(o.updated_ms, 7);
    CHECK(o.author == NULL);
    CHECK_STR(o.title, "Title");
    CHECK_INT(pg_chunk_owner_get(T(t), first + 99, &o), LORE_NOT_FOUND);
    CHECK_INT(pg_chunk_doc(T(t), first + 2, &r), LORE_OK);
    CHECK_INT(r, rowid);

    collect *k = calloc(1, sizeof *k);
    CHECK_INT(pg_doc_chunks(T(t), rowid, on_len, k), LORE_OK);
    CHECK_INT(k->n, 3);
    CHECK_INT(k->ids[2], first + 2);
    CHECK_INT(k->nterms[2], 12);

    /* Replacing: the old chunks go, new ids are above every old one. */
    CHECK_INT(pg_begin(T(t)), LORE_OK);
    CHECK_INT(pg_chunk_set_nterms(T(t), first, 99), LORE_OK);
    CHECK_INT(pg_chunk_set_nterms(T(t), first + 999, 1), LORE_NOT_FOUND);
    int64_t first2 = 0;
    CHECK_INT(put_doc(t, "files", "/a.txt", "ABCDEFGH", 2, NULL, 0, &first2), rowid);
    CHECK(first2 > first + 2);
    CHECK_INT(pg_commit(T(t)), LORE_OK);
    CHECK_INT(pg_chunk_get(T(t), first, &c), LORE_NOT_FOUND);
    CHECK_INT(pg_chunk_doc(T(t), first, &r), LORE_NOT_FOUND);

    /* A rollback undoes documents and reservations together. */
    CHECK_INT(pg_begin(T(t)), LORE_OK);
    int64_t first3 = 0;
    put_doc(t, "files", "/gone.txt", "12345678", 2, NULL, 0, &first3);
    pg_rollback(T(t));
    CHECK_INT(pg_doc_lookup(T(t), "files", "/gone.txt", NULL, NULL), LORE_NOT_FOUND);

    /* A scan in id order, paged past 256 rows, resumable, stoppable. */
    static char big[4 * 600 + 1];
    for (int i = 0; i < 600; i++)
        snprintf(big + 4 * i, 5, "%04d", i);
    CHECK_INT(pg_begin(T(t)), LORE_OK);
    int64_t fbig = 0;
    put_doc(t, "mail", "m1", big, 600, NULL, 0, &fbig);
    CHECK_INT(pg_commit(T(t)), LORE_OK);
    memset(k, 0, sizeof *k);
    k->stop_at = -1;
    CHECK_INT(pg_chunk_scan(T(t), 0, 10000, on_scan, k), LORE_OK);
    CHECK_INT(k->n, 602);
    int ascending = 1;
    for (int i = 1; i < k->n; i++)
        ascending &= k->ids[i] > k->ids[i - 1];
    CHECK(ascending);
    CHECK_STR(k->text[0], "ABCD");
    CHECK_STR(k->text[2 + 599], "0599");
    memset(k, 0, sizeof *k);
    k->stop_at = -1;
    CHECK_INT(pg_chunk_scan(T(t), fbig + 299, 5, on_scan, k), LORE_OK);
    CHECK_INT(k->n, 5);
    CHECK_INT(k->ids[0], fbig + 300);
    CHECK_STR(k->text[0], "0300");
    memset(k, 0, sizeof *k);
    k->stop_at = 3;
    CHECK_INT(pg_chunk_scan(T(t), 0, 10000, on_scan, k), LORE_OK);
    CHECK_INT(k->n, 3);

    /* Listings: ACLs, sources, cursors. */
    CHECK_INT(pg_begin(T(t)), LORE_OK);
    const char *bob[] = {"bob"};
    put_doc(t, "files", "/b.txt", "bbbbbbbb", 2, bob, 1, NULL);
    CHECK_INT(pg_commit(T(t)), LORE_OK);
    const char *as_alice[] = {"alice"};
    store_viewer alice = {0, as_alice, 1}, nobody = {0, NULL, 0};
    memset(k, 0, sizeof *k);
    CHECK_INT(pg_doc_list(T(t), NULL, NULL, 0, 100, on_doc, k), LORE_OK);
    CHECK_INT(k->n, 3);
    memset(k, 0, sizeof *k);
    CHECK_INT(pg_doc_list(T(t), &alice, "files", 0, 100, on_doc, k), LORE_OK);
    CHECK_INT(k->n, 1); /* /a.txt now has no ACL; /b.txt is bob's */
    memset(k, 0, sizeof *k);
    CHECK_INT(pg_doc_list(T(t), &nobody, NULL, rowid, 1, on_doc, k), LORE_OK);
    CHECK_INT(k->n, 1);
    CHECK_STR(k->ext[0], "m1");
    store_source_info *si = NULL;
    size_t ns = 0;
    CHECK_INT(pg_sources(T(t), &alice, &si, &ns), LORE_OK);
    CHECK_INT(ns, 2);
    if (ns == 2) {
        CHECK_STR(si[0].source, "files");
        CHECK_INT(si[0].documents, 1);
        CHECK_STR(si[1].source, "mail");
    }
    store_sources_free(si, ns);
    CHECK_INT(pg_sources(T(t), NULL, &si, &ns), LORE_OK);
    CHECK_INT(ns, 2);
    if (ns == 2) CHECK_INT(si[0].documents, 2);
    store_sources_free(si, ns);

    int64_t nd = 0, nc = 0;
    CHECK_INT(pg_counts(T(t), &nd, &nc), LORE_OK);
    CHECK_INT(nd, 3);
    CHECK_INT(nc, 604);
    int64_t bytes = 0;
    CHECK_INT(pg_disk_bytes(T(t), &bytes), LORE_OK);
    CHECK(bytes > 0);

    /* Deletes cascade to chunks. */
    CHECK_INT(pg_doc_delete(T(t), rowid), LORE_OK);
    CHECK_INT(pg_doc_delete(T(t), rowid), LORE_NOT_FOUND);
    CHECK_INT(pg_counts(T(t), &nd, &nc), LORE_OK);
    CHECK_INT(nc, 602);
    free(k);
    close_tenant(t);
}

/* External ids in bytewise order, ranges, renames. */
static void test_external(void) {
    pg_tenant *t = make_tenant("t2");
    const char *ids[] = {"/dir/b", "/dir/a",   "/dir/B", "/dir/\xc3\xa9", "/dir/~", "/dir0",
                         "/dir",   "/dir/a/b", "/di"};
    CHECK_INT(pg_begin(T(t)), LORE_OK);
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        put_doc(t, "sync", ids[i], "12345678", 1, NULL, 0, NULL);
    put_doc(t, "other", "/dir/c", "12345678", 1, NULL, 0, NULL);
    CHECK_INT(pg_commit(T(t)), LORE_OK);
    collect *k = calloc(1, sizeof *k);
    k->stop_at = -1;
    CHECK_INT(pg_doc_scan_external(T(t), "sync", "/dir/", "/dir0", 100, on_ref, k), LORE_OK);
    const char *want[] = {"/dir/B", "/dir/a", "/dir/a/b", "/dir/b", "/dir/~", "/dir/\xc3\xa9"};
    CHECK_INT(k->n, 6);
    for (int i = 0; i < k->n && i < 6; i++)
        CHECK_STR(k->ext[i], want[i]);
    memset(k, 0, sizeof *k);
    k->stop_at = -1;
    CHECK_INT(pg_doc_scan_external(T(t), "sync", NULL, NULL, 3, on_ref, k), LORE_OK);
    CHECK_INT(k->n, 3);
    if (k->n == 3) CHECK_STR(k->ext[2], "/dir/B");
    memset(k, 0, sizeof *k);
    k->stop_at = 2;
    CHECK_INT(pg_doc_scan_external(T(t), "sync", "/dir/a", NULL, 100, on_ref, k), LORE_OK);
    CHECK_INT(k->n, 2);
    if (k->n == 2) CHECK_STR(k->ext[0], "/dir/a/b");

    int64_t ra = 0, rb = 0;
    CHECK_INT(pg_doc_lookup(T(t), "sync", "/dir/a", &ra, NULL), LORE_OK);
    CHECK_INT(pg_doc_lookup(T(t), "sync", "/dir/b", &rb, NULL), LORE_OK);
    CHECK_INT(pg_doc_rename(T(t), ra, "/dir/z"), LORE_INVALID); /* outside a transaction */
    CHECK_INT(pg_begin(T(t)), LORE_OK);
    CHECK_INT(pg_doc_rename(T(t), ra, "/dir/b"), LORE_EXISTS);
    CHECK_INT(pg_doc_rename(T(t), 999999, "/dir/q"), LORE_NOT_FOUND);
    CHECK_INT(pg_doc_rename(T(t), ra, "/dir/z"), LORE_OK); /* the transaction goes on */
    CHECK_INT(pg_commit(T(t)), LORE_OK);
    char pub[STORE_DOC_ID_LEN + 1];
    store_doc_public_id("sync", "/dir/z", pub);
    store_doc *d = NULL;
    CHECK_INT(pg_doc_get(T(t), pub, 0, &d), LORE_OK);
    if (d) {
        CHECK_INT(d->rowid, ra);
        CHECK_STR(d->external_id, "/dir/z");
        CHECK_INT(d->nchunks, 1);
        store_doc_free(d);
    }
    free(k);

    /* Failures: a schema dropped under a handle (a deleted tenant) fails
     * each call with the server's message, inside a transaction or not,
     * and the pooled connections stay good for the next calls. */
    pg_tenant *g = make_tenant("t9");
    CHECK_INT(pg_tenant_delete(S, "t9"), LORE_OK); /* its role and schema gone */
    CHECK_INT(pg_doc_lookup(T(g), "s", "x", NULL, NULL), LORE_IO);
    CHECK(strstr(g->errmsg, "does not exist") != NULL);
    CHECK_INT(pg_kv_put(T(g), 1, "k", 1, "v", 1), LORE_IO);
    memset(k = calloc(1, sizeof *k), 0, sizeof *k);
    k->stop_at = -1;
    CHECK_INT(pg_doc_scan_external(T(g), "s", NULL, NULL, 10, on_ref, k), LORE_IO);
    CHECK_INT(pg_begin_read(T(g)), LORE_IO); /* no cache_gen to read */
    CHECK_INT(pg_begin(T(g)), LORE_IO);
    CHECK_INT(pg_commit(T(g)), LORE_INVALID); /* nothing was begun */
    close_tenant(g);
    CHECK_INT(pg_doc_scan_external(T(t), "sync", NULL, NULL, 100, on_ref, k), LORE_OK);
    CHECK_INT(k->n, 9);
    CHECK_INT(pg_begin(T(t)), LORE_OK);
    CHECK_INT(pg_doc_rename(T(t), ra, "/dir/a"), LORE_OK);
    CHECK_INT(pg_commit(T(t)), LORE_OK);
    free(k);
    close_tenant(t);
}

/* ---- kv ---- */

typedef struct kvc {
    uint8_t keys[4000][8];
    size_t klen[4000];
    int n, stop_at;
    pg_tenant *write_to; /* writes into ns 2 while scanning */
} kvc;

static int on_kv(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen) {
    kvc *c = ctx;
    CHECK(vlen == klen + 1 && val[klen] == 0xAB && (!klen || !memcmp(val, key, klen)));
    if (c->n < 4000 && klen <= 8) {
        if (klen) memcpy(c->keys[c->n], key, klen);
        c->klen[c->n] = klen;
    }
    c->n++;
    if (c->write_to) CHECK_INT(pg_kv_put(T(c->write_to), 2, key, klen, "w", 1), LORE_OK);
    return c->n == c->stop_at;
}

static int keycmp(const void *a, size_t al, const void *b, size_t bl) {
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

static lore_status put_kv(pg_tenant *t, int ns, const uint8_t *k, size_t kl) {
    uint8_t v[16];
    memcpy(v, k, kl);
    v[kl] = 0xAB;
    return pg_kv_put(T(t), ns, k, kl, v, kl + 1);
}

static void test_kv(void) {
    pg_tenant *t = make_tenant("t3");
    lore_buf b;
    lore_buf_init(&b, 1 << 20);
    /* Outside a transaction each call is its own; empty keys and values. */
    CHECK_INT(pg_kv_put(T(t), 5, "", 0, "", 0), LORE_OK);
    CHECK_INT(pg_kv_get(T(t), 5, "", 0, &b), LORE_OK);
    CHECK_INT(b.len, 0);
    CHECK_INT(pg_kv_put(T(t), 5, "k", 1, "v1", 2), LORE_OK);
    CHECK_INT(pg_kv_put(T(t), 5, "k", 1, "v22", 3), LORE_OK);
    CHECK_INT(pg_kv_get(T(t), 5, "k", 1, &b), LORE_OK);
    CHECK(b.len == 3 && !memcmp(b.data, "v22", 3));
    CHECK_INT(pg_kv_get(T(t), 6, "k", 1, &b), LORE_NOT_FOUND);
    CHECK_INT(pg_kv_delete(T(t), 5, "k", 1), LORE_OK);
    CHECK_INT(pg_kv_get(T(t), 5, "k", 1, &b), LORE_NOT_FOUND);
    CHECK_INT(pg_kv_delete(T(t), 5, "k", 1), LORE_OK); /* missing is fine */

    /* Random keys with bytes 0x00..0xff and shared prefixes: scans return
     * them in bytewise order, shorter first on a common prefix. */
    test_seed();
    static uint8_t keys[3000][8];
    static size_t kl[3000];
    int n = 0;
    CHECK_INT(pg_begin(T(t)), LORE_OK);
    while (n < 3000) {
        kl[n] = test_rand() % 5;
        for (size_t j = 0; j < kl[n]; j++) {
            uint64_t r = test_rand() % 6;
            keys[n][j] = r == 0   ? 0x00
                         : r == 1 ? 0xff
                         : r == 2 ? 0x7f
                         : r == 3 ? 0x80
                                  : (uint8_t)test_rand();
        }
        int dup = 0;
        for (int i = 0; i < n && !dup; i++)
            dup = kl[i] == kl[n] && !memcmp(keys[i], keys[n], kl[n]);
        if (dup) continue;
        CHECK_INT(put_kv(t, 1, keys[n], kl[n]), LORE_OK);
        n++;
    }
    CHECK_INT(pg_commit(T(t)), LORE_OK);
    kvc *c = calloc(1, sizeof *c);
    c->stop_at = -1;
    c->write_to = t;
    CHECK_INT(pg_begin(T(t)), LORE_OK);
    CHECK_INT(pg_kv_scan(T(t), 1, "", 0, NULL, 0, on_kv, c), LORE_OK);
    CHECK_INT(pg_commit(T(t)), LORE_OK);
    CHECK_INT(c->n, n);
    int ordered = 1;
    for (int i = 1; i < c->n && i < 4000; i++)
        ordered &= keycmp(c->keys[i - 1], c->klen[i - 1], c->keys[i], c->klen[i]) < 0;
    CHECK(ordered);
    /* A range [lo, hi) and deleting one. */
    uint8_t lo[] = {0x7f}, hi[] = {0x80, 0x00};
    int inside = 0;
    for (int i = 0; i < n; i++)
        inside += keycmp(keys[i], kl[i], lo, 1) >= 0 && keycmp(keys[i], kl[i], hi, 2) < 0;
    memset(c, 0, sizeof *c);
    c->stop_at = -1;
    CHECK_INT(pg_kv_scan(T(t), 1, lo, 1, hi, 2, on_kv, c), LORE_OK);
    CHECK_INT(c->n, inside);
    memset(c, 0, sizeof *c);
    c->stop_at = 7;
    CHECK_INT(pg_kv_scan(T(t), 1, lo, 1, NULL, 0, on_kv, c), LORE_OK);
    CHECK_INT(c->n, 7);
    CHECK_INT(pg_kv_delete_range(T(t), 1, lo, 1, hi, 2), LORE_OK);
    memset(c, 0, sizeof *c);
    c->stop_at = -1;
    CHECK_INT(pg_kv_scan(T(t), 1, "", 0, NULL, 0, on_kv, c), LORE_OK);
    CHECK_INT(c->n, n - inside);
    CHECK_INT(pg_kv_delete_range(T(t), 1, lo, 1, NULL, 0), LORE_OK);
    int below = 0;
    for (int i = 0; i < n; i++)
        below += keycmp(keys[i], kl[i], lo, 1) < 0;
    memset(c, 0, sizeof *c);
    c->stop_at = -1;
    CHECK_INT(pg_kv_scan(T(t), 1, "", 0, NULL, 0, on_kv, c), LORE_OK);
    CHECK_INT(c->n, below);
    /* What the scan wrote into ns 2 committed with it. */
    memset(c, 0, sizeof *c);
    CHECK_INT(pg_kv_get(T(t), 2, keys[0], kl[0], &b), LORE_OK);
    CHECK(b.len == 1 && b.data[0] == 'w');

    /* Rollback undoes kv rows. */
    CHECK_INT(pg_begin(T(t)), LORE_OK);
    CHECK_INT(pg_kv_put(T(t), 9, "r", 1, "x", 1), LORE_OK);
    pg_rollback(T(t));
    CHECK_INT(pg_kv_get(T(t), 9, "r", 1, &b), LORE_NOT_FOUND);
    CHECK_INT(pg_kv_put(T(t), 9, "big", 3, "x", (size_t)1 << 30 | 1), LORE_TOO_LARGE);
    free(c);
    lore_buf_free(&b);
    close_tenant(t);
}

/* A read snapshot keeps one state while another connection commits. */
static void test_snapshot(void) {
    pg_tenant *a = make_tenant("t4");
    pg_tenant *w = open_tenant("t4"); /* a second handle: its own connections */
    lore_buf b;
    lore_buf_init(&b, 1 << 20);
    CHECK_INT(pg_kv_put(T(a), 3, "k", 1, "old", 3), LORE_OK);
    CHECK_INT(pg_begin_read(T(a)), LORE_OK);
    CHECK_INT(pg_begin(T(a)), LORE_INVALID);
    CHECK_INT(pg_begin_read(T(a)), LORE_INVALID);
    CHECK_INT(pg_kv_get(T(a), 3, "k", 1, &b), LORE_OK);
    CHECK_INT(pg_begin(T(w)), LORE_OK);
    /* The writer holds the tenant's lock (so a second writer, in any
     * process, waits for it). */
    PGconn *c = admin();
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
             " AND classid = %u AND objid = %lld AND objsubid = 2",
             0x6c6f7265u, (long long)w->id);
    PGresult *r = PQexec(c, sql);
    CHECK_STR(PQgetvalue(r, 0, 0), "1");
    PQclear(r);
    CHECK_INT(pg_kv_put(T(w), 3, "k", 1, "new", 3), LORE_OK);
    put_doc(w, "s", "d", "12345678", 2, NULL, 0, NULL);
    CHECK_INT(pg_commit(T(w)), LORE_OK);
    r = PQexec(c, sql);
    CHECK_STR(PQgetvalue(r, 0, 0), "0"); /* released with the commit */
    PQclear(r);
    PQfinish(c);
    CHECK_INT(pg_kv_get(T(a), 3, "k", 1, &b), LORE_OK);
    CHECK(b.len == 3 && !memcmp(b.data, "old", 3));
    CHECK_INT(pg_doc_lookup(T(a), "s", "d", NULL, NULL), LORE_NOT_FOUND);
    pg_end_read(T(a));
    CHECK_INT(pg_kv_get(T(a), 3, "k", 1, &b), LORE_OK);
    CHECK(b.len == 3 && !memcmp(b.data, "new", 3));
    CHECK_INT(pg_doc_lookup(T(a), "s", "d", NULL, NULL), LORE_OK);
    lore_buf_free(&b);
    close_tenant(a);
    close_tenant(w);
}

/* The kv cache: a value read in a snapshot is served from memory by the
 * next snapshot, and a write committed by another process is seen by the
 * first snapshot after it (the generation moved). */
static int snapshot_get(pg_tenant *t, const char *key, char *out, size_t outlen) {
    lore_buf b;
    lore_buf_init(&b, 1 << 20);
    int ok = pg_begin_read(T(t)) == LORE_OK;
    lore_status st = ok ? pg_kv_get(T(t), 7, key, strlen(key), &b) : LORE_IO;
    if (ok) pg_end_read(T(t));
    snprintf(out, outlen, "%s",
             st == LORE_OK          ? b.data
             : st == LORE_NOT_FOUND ? "(absent)"
                                    : "(error)");
    lore_buf_free(&b);
    return st == LORE_OK || st == LORE_NOT_FOUND;
}

/* Another process: this program run again (exec, so it starts with a
 * pool, a cache and connections of its own) with "--child" and what to do.
 * Returns its pid. */
static pid_t spawn(const char *what, const char *tenant, const char *a1, const char *a2) {
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "test_pg_tenant", "--child", what, tenant, a1, a2, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void wait_ok(pid_t pid) {
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Child: writes key = val into ns 7 in one transaction. */
static int child_write(const char *tenant, const char *key, const char *val) {
    pg_tenant *w = open_tenant(tenant);
    int ok = pg_begin(T(w)) == LORE_OK &&
             pg_kv_put(T(w), 7, key, strlen(key), val, strlen(val)) == LORE_OK &&
             pg_commit(T(w)) == LORE_OK;
    close_tenant(w);
    return ok;
}

/* Writers of one tenant in two processes increment one kv counter (read,
 * add one, write back) many times each: none is lost, because writers run
 * one at a time (READ COMMITTED alone would lose updates). */
static int child_increments(const char *tenant, int times) {
    pg_tenant *w = open_tenant(tenant);
    lore_buf b;
    lore_buf_init(&b, 64);
    int ok = 1;
    for (int i = 0; i < times && ok; i++) {
        ok = pg_begin(T(w)) == LORE_OK;
        long n = 0;
        lore_status st = ok ? pg_kv_get(T(w), 8, "n", 1, &b) : LORE_IO;
        if (st == LORE_OK) n = strtol(b.data, NULL, 10);
        ok = ok && (st == LORE_OK || st == LORE_NOT_FOUND);
        char v[32];
        int len = snprintf(v, sizeof v, "%ld", n + 1);
        ok = ok && pg_kv_put(T(w), 8, "n", 1, v, (size_t)len) == LORE_OK;
        ok = ok && pg_commit(T(w)) == LORE_OK;
    }
    lore_buf_free(&b);
    close_tenant(w);
    return ok;
}

static void test_writers(void) {
    pg_tenant *t = make_tenant("t6");
    pid_t pids[2];
    for (int i = 0; i < 2; i++)
        pids[i] = spawn("increment", "t6", "40", "");
    for (int i = 0; i < 2; i++)
        wait_ok(pids[i]);
    lore_buf b;
    lore_buf_init(&b, 64);
    CHECK_INT(pg_kv_get(T(t), 8, "n", 1, &b), LORE_OK);
    CHECK_STR(b.data, "80");
    lore_buf_free(&b);
    close_tenant(t);
}

static void test_cache(void) {
    pg_tenant *t = make_tenant("t5");
    char v[64];
    pg_kv_cache_stats s0, s1;
    CHECK_INT(pg_kv_put(T(t), 7, "blk", 3, "v1", 2), LORE_OK);
    CHECK(snapshot_get(t, "blk", v, sizeof v));
    CHECK_STR(v, "v1");
    CHECK(snapshot_get(t, "nope", v, sizeof v));
    CHECK_STR(v, "(absent)");
    pg_kv_cache_get_stats(&s0);
    CHECK(snapshot_get(t, "blk", v, sizeof v));
    CHECK_STR(v, "v1");
    CHECK(snapshot_get(t, "nope", v, sizeof v));
    CHECK_STR(v, "(absent)");
    pg_kv_cache_get_stats(&s1);
    CHECK_INT(s1.hits - s0.hits, 2); /* both answered from memory */
    CHECK_INT(s1.misses, s0.misses);

    wait_ok(spawn("write", "t5", "blk", "v2"));
    wait_ok(spawn("write", "t5", "nope", "now"));
    CHECK(snapshot_get(t, "blk", v, sizeof v));
    CHECK_STR(v, "v2");
    CHECK(snapshot_get(t, "nope", v, sizeof v));
    CHECK_STR(v, "now");
    /* Outside a snapshot reads always go to the server. */
    lore_buf b;
    lore_buf_init(&b, 1 << 20);
    pg_kv_cache_get_stats(&s0);
    CHECK_INT(pg_kv_get(T(t), 7, "blk", 3, &b), LORE_OK);
    pg_kv_cache_get_stats(&s1);
    CHECK_INT(s1.hits, s0.hits);
    /* This process's own writes move the generation too. */
    CHECK_INT(pg_begin(T(t)), LORE_OK);
    CHECK_INT(pg_kv_put(T(t), 7, "blk", 3, "v3", 2), LORE_OK);
    CHECK_INT(pg_commit(T(t)), LORE_OK);
    CHECK(snapshot_get(t, "blk", v, sizeof v));
    CHECK_STR(v, "v3");
    /* A re-created schema of the same name shares nothing (new nonce). */
    close_tenant(t);
    t = make_tenant("t5");
    CHECK(snapshot_get(t, "blk", v, sizeof v));
    CHECK_STR(v, "(absent)");
    /* The cap holds. */
    pg_kv_cache_set_cap(4096);
    pg_kv_cache_get_stats(&s1);
    CHECK(s1.bytes <= 4096);
    pg_kv_cache_set_cap((size_t)64 << 20);
    lore_buf_free(&b);
    close_tenant(t);
}

/* Chunks' documents and owners are cached in snapshots too, and a write
 * (here: the document replaced, its old chunks gone) moves them on; a
 * write transaction reads them from the cache until it writes. */
static void test_cache_rows(void) {
    pg_tenant *t = make_tenant("t7");
    pg_tenant *w = open_tenant("t7");
    const char *acl[] = {"ann", "bo"};
    int64_t first = 0, first2 = 0, r = 0;
    CHECK_INT(pg_begin(T(t)), LORE_OK);
    int64_t rowid = put_doc(t, "s", "d", "12345678", 2, acl, 2, &first);
    CHECK_INT(pg_commit(T(t)), LORE_OK);
    pg_kv_cache_stats s0, s1;
    store_chunk_owner o;
    for (int round = 0; round < 2; round++) {
        pg_kv_cache_get_stats(&s0);
        CHECK_INT(pg_begin_read(T(t)), LORE_OK);
        CHECK_INT(pg_chunk_owner_get(T(t), first, &o), LORE_OK);
        CHECK_INT(o.doc_rowid, rowid);
        CHECK_STR(o.source, "s");
        CHECK(o.author == NULL);
        CHECK_STR(o.title, "Title");
        CHECK_STR(o.acl_joined, "ann\nbo");
        CHECK_STR(o.metadata_json, "{\"k\":1}");
        CHECK_INT(o.updated_ms, 7);
        CHECK_INT(pg_chunk_owner_get(T(t), first + 5, &o), LORE_NOT_FOUND);
        CHECK_INT(pg_chunk_doc(T(t), first + 1, &r), LORE_OK);
        CHECK_INT(r, rowid);
        CHECK_INT(pg_chunk_doc(T(t), first + 5, &r), LORE_NOT_FOUND);
        store_chunk ch;
        CHECK_INT(pg_chunk_get(T(t), first + 1, &ch), LORE_OK);
        CHECK_STR(ch.text, "5678");
        CHECK_STR(ch.section, "A \"quoted\" \\ section, {x}");
        CHECK_INT(ch.ordinal, 1);
        store_chunk_clear(&ch);
        store_doc *d = NULL;
        CHECK_INT(pg_doc_get_rowid(T(t), rowid, 0, &d), LORE_OK);
        if (d) {
            CHECK_INT(d->nacl, 2);
            CHECK_STR(d->external_id, "d");
            CHECK(d->author == NULL && d->text == NULL);
            CHECK_INT(d->nchunks, 2);
            store_doc_free(d);
        }
        CHECK_INT(pg_doc_get_rowid(T(t), rowid, 1, &d), LORE_OK); /* with text: the server */
        if (d) CHECK_STR(d->text, "12345678");
        store_doc_free(d);
        pg_end_read(T(t));
        pg_kv_cache_get_stats(&s1);
        CHECK_INT(s1.hits - s0.hits, round ? 6 : 0); /* the second round from memory */
    }
    CHECK_INT(pg_begin(T(w)), LORE_OK);
    CHECK_INT(put_doc(w, "s", "d", "abcdefgh", 2, NULL, 0, &first2), rowid);
    CHECK_INT(pg_commit(T(w)), LORE_OK);
    CHECK_INT(pg_begin_read(T(t)), LORE_OK);
    CHECK_INT(pg_chunk_owner_get(T(t), first, &o), LORE_NOT_FOUND);
    CHECK_INT(pg_chunk_doc(T(t), first + 1, &r), LORE_NOT_FOUND);
    CHECK_INT(pg_chunk_owner_get(T(t), first2, &o), LORE_OK);
    CHECK_STR(o.acl_joined, "");
    store_chunk ch;
    CHECK_INT(pg_chunk_get(T(t), first + 1, &ch), LORE_NOT_FOUND);
    store_doc *d = NULL;
    CHECK_INT(pg_doc_get_rowid(T(t), rowid, 0, &d), LORE_OK);
    if (d) CHECK_INT(d->nacl, 0);
    store_doc_free(d);
    pg_end_read(T(t));
    /* A write transaction reads them through the cache until it writes
     * (here: the document deleted), then from the server; the next snapshot
     * sees the deletion. */
    CHECK_INT(pg_begin(T(t)), LORE_OK);
    pg_kv_cache_get_stats(&s0);
    CHECK_INT(pg_chunk_owner_get(T(t), first2, &o), LORE_OK);
    CHECK_INT(pg_chunk_doc(T(t), first2 + 1, &r), LORE_OK);
    CHECK_INT(pg_chunk_doc(T(t), first2 + 1, &r), LORE_OK);
    d = NULL;
    CHECK_INT(pg_doc_get_rowid(T(t), rowid, 0, &d), LORE_OK);
    store_doc_free(d);
    pg_kv_cache_get_stats(&s1);
    CHECK_INT(s1.hits - s0.hits, 3);
    CHECK_INT(pg_doc_delete(T(t), rowid), LORE_OK);
    CHECK_INT(pg_chunk_owner_get(T(t), first2, &o), LORE_NOT_FOUND);
    CHECK_INT(pg_chunk_doc(T(t), first2 + 1, &r), LORE_NOT_FOUND);
    d = NULL;
    CHECK_INT(pg_doc_get_rowid(T(t), rowid, 0, &d), LORE_NOT_FOUND);
    store_doc_free(d);
    CHECK_INT(pg_commit(T(t)), LORE_OK);
    CHECK_INT(pg_begin_read(T(t)), LORE_OK);
    CHECK_INT(pg_chunk_owner_get(T(t), first2, &o), LORE_NOT_FOUND);
    CHECK_INT(pg_chunk_doc(T(t), first2 + 1, &r), LORE_NOT_FOUND);
    d = NULL;
    CHECK_INT(pg_doc_get_rowid(T(t), rowid, 0, &d), LORE_NOT_FOUND);
    store_doc_free(d);
    pg_end_read(T(t));
    close_tenant(t);
    close_tenant(w);
}

/* Figures, printed (never asserted): a call outside a transaction, one
 * inside a read snapshot, a kv value from the cache. */
static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void print_figures(void) {
    pg_tenant *t = make_tenant("t8");
    CHECK_INT(pg_begin(T(t)), LORE_OK);
    put_doc(t, "s", "d", "12345678", 2, NULL, 0, NULL);
    CHECK_INT(pg_kv_put(T(t), 1, "blk", 3, "value", 5), LORE_OK);
    CHECK_INT(pg_commit(T(t)), LORE_OK);
    enum { N = 2000 };
    lore_buf b;
    lore_buf_init(&b, 64);
    int ok = 1;
    double t0 = now_us();
    for (int i = 0; i < N; i++)
        ok &= pg_doc_lookup(T(t), "s", "d", NULL, NULL) == LORE_OK;
    double own = (now_us() - t0) / N;
    CHECK_INT(pg_begin_read(T(t)), LORE_OK);
    t0 = now_us();
    for (int i = 0; i < N; i++)
        ok &= pg_doc_lookup(T(t), "s", "d", NULL, NULL) == LORE_OK;
    double in_snap = (now_us() - t0) / N;
    t0 = now_us();
    for (int i = 0; i < N; i++)
        ok &= pg_kv_get(T(t), 1, "blk", 3, &b) == LORE_OK;
    double cached = (now_us() - t0) / N;
    pg_end_read(T(t));
    CHECK(ok);
    printf("per call (%d calls each): doc_lookup outside a transaction %.1f us, inside a read"
           " snapshot %.1f us; kv_get from the cache %.2f us\n",
           N, own, in_snap, cached);
    lore_buf_free(&b);
    close_tenant(t);
}

/* ---- blobs ---- */

static void test_blobs(void) {
    size_t total = (5u << 19) + 12345; /* two and a half chunks and a bit */
    uint8_t *data = malloc(total), *back = malloc(total);
    for (size_t i = 0; i < total; i++)
        data[i] = (uint8_t)(test_rand() >> 24);
    char name[STORE_BLOB_NAME_MAX + 1];
    store_blob_writer *w = NULL;
    CHECK_INT(pg_blob_create(S, "acme", name, &w), LORE_OK);
    CHECK(strlen(name) == 29 && !strncmp(name, "blob-", 5));
    int64_t size = 0;
    for (size_t off = 0; off < total;) {
        size_t n = 1 + test_rand() % 300000;
        if (n > total - off) n = total - off;
        CHECK_INT(pg_blob_write(w, data + off, n), LORE_OK);
        off += n;
    }
    CHECK_INT(pg_blob_size(S, "acme", name, &size), LORE_NOT_FOUND); /* not yet */
    CHECK_INT(pg_blob_finish(w, 1), LORE_OK);
    CHECK_INT(pg_blob_size(S, "acme", name, &size), LORE_OK);
    CHECK_INT(size, (int64_t)total);
    CHECK_INT(pg_blob_size(S, "other", name, &size), LORE_NOT_FOUND);
    /* Reads at chunk edges, across chunks, whole, past the end. */
    const int64_t offs[] = {0,  (1 << 20) - 1,     (1 << 20) - 3, 1 << 20, (5 << 19) - 7,
                            17, (int64_t)total - 5};
    const size_t lens[] = {100, 1, 10, 3u << 20, 20000, total, 100};
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        size_t got = 0, want = lens[i];
        if ((size_t)offs[i] + want > total) want = total - (size_t)offs[i];
        CHECK_INT(pg_blob_read(S, "acme", name, offs[i], back, lens[i], &got), LORE_OK);
        CHECK_INT(got, want);
        CHECK(!memcmp(back, data + offs[i], want));
    }
    size_t got = 9;
    CHECK_INT(pg_blob_read(S, "acme", name, (int64_t)total, back, 10, &got), LORE_OK);
    CHECK_INT(got, 0);
    CHECK_INT(pg_blob_read(S, "acme", name, 0, back, total, &got), LORE_OK);
    CHECK(got == total && !memcmp(back, data, total));
    pg_blob_remove(S, "acme", name);
    CHECK_INT(pg_blob_read(S, "acme", name, 0, back, 10, &got), LORE_NOT_FOUND);
    pg_blob_remove(S, "acme", name); /* missing is fine */
    /* Discarded: never visible; an empty kept blob reads as empty. */
    CHECK_INT(pg_blob_create(S, "acme", name, &w), LORE_OK);
    CHECK_INT(pg_blob_write(w, data, 10), LORE_OK);
    CHECK_INT(pg_blob_finish(w, 0), LORE_OK);
    CHECK_INT(pg_blob_size(S, "acme", name, &size), LORE_NOT_FOUND);
    CHECK_INT(pg_blob_create(S, "acme", name, &w), LORE_OK);
    CHECK_INT(pg_blob_finish(w, 1), LORE_OK);
    CHECK_INT(pg_blob_size(S, "acme", name, &size), LORE_OK);
    CHECK_INT(size, 0);
    CHECK_INT(pg_blob_read(S, "acme", name, 0, back, 10, &got), LORE_OK);
    CHECK_INT(got, 0);
    CHECK_INT(pg_blob_create(S, "Bad/Name", name, &w), LORE_INVALID);
    free(data);
    free(back);
}

int main(int argc, char **argv) {
    url = getenv("LORE_TEST_PG_URL");
    if (!url) {
        fprintf(stderr, "LORE_TEST_PG_URL is not set: run through tests/support/pg.sh\n");
        return 1;
    }
    open_store();
    if (argc == 6 && !strcmp(argv[1], "--child")) {
        int ok = !strcmp(argv[2], "write")       ? child_write(argv[3], argv[4], argv[5])
                 : !strcmp(argv[2], "increment") ? child_increments(argv[3], atoi(argv[4]))
                                                 : 0;
        close_store();
        return ok ? 0 : 1;
    }
    test_docs();
    test_external();
    test_kv();
    test_snapshot();
    test_writers();
    test_cache();
    test_cache_rows();
    print_figures();
    test_blobs();
    close_store();
    return test_summary();
}
#endif
