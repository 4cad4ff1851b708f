/* The PostgreSQL backend's read path (pg_kv.c, pg_tx.c, pg_pool.c) against
 * a real PostgreSQL: kv scans in a read snapshot served a page at a time
 * from the per-process cache, the same rows as the server's (several
 * pages, a scan stopped early), a write committed by another process seen
 * by the next snapshot, a write transaction seeing its own rows; and a
 * snapshot's end (its ROLLBACK not waited for) handing the same connection
 * to the next snapshot, which works.
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

#define NS 9
#define NKEYS 300 /* several scan pages (64, then 128, ...) */

static const char *url;
static store *S;

static void open_store(void) {
    char err[256] = "";
    if (pg_open(url, STORE_OPEN_CREATE, &S, err, sizeof err) != LORE_OK) {
        fprintf(stderr, "pg_open: %s\n", err);
        exit(1);
    }
}

static pg_tenant *open_tenant(const char *name) {
    store_tenant *t = NULL;
    if (pg_tenant_open(S, name, &t) != LORE_OK) {
        fprintf(stderr, "pg_tenant_open %s failed\n", name);
        exit(1);
    }
    return (pg_tenant *)t;
}

#define T(t) (&(t)->base)

/* What a scan saw: its keys and values joined, and how many rows. */
typedef struct seen {
    char text[NKEYS * 24];
    size_t len;
    int rows, stop_at;
} seen;

static int on_row(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl) {
    seen *s = ctx;
    s->len += (size_t)snprintf(s->text + s->len, sizeof s->text - s->len, "%.*s=%.*s;", (int)kl,
                               (const char *)k, (int)vl, (const char *)v);
    return ++s->rows == s->stop_at;
}

/* A scan of keys k000.. below "l" (stop_at 0: to the end), in a read
 * snapshot when snap. */
static seen scan(pg_tenant *t, int snap, int stop_at) {
    seen s = {.stop_at = stop_at};
    if (snap) CHECK_INT(pg_begin_read(T(t)), LORE_OK);
    CHECK_INT(pg_kv_scan(T(t), NS, "k", 1, "l", 1, on_row, &s), LORE_OK);
    if (snap) pg_end_read(T(t));
    return s;
}

static void put(pg_tenant *t, const char *key, const char *val) {
    CHECK_INT(pg_kv_put(T(t), NS, key, strlen(key), val, strlen(val)), LORE_OK);
}

/* Another process (this program again, exec'd: a pool, a cache and
 * connections of its own) writes key = val in one transaction. */
static void write_elsewhere(const char *tenant, const char *key, const char *val) {
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "test_pg_cache", "--child", tenant, key, val, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* The same, a put outside a transaction: it does not take the writer
 * lock, so it can commit while another process's write transaction is open. */
static void put_elsewhere_unlocked(const char *tenant, const char *key, const char *val) {
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "test_pg_cache", "--child-unlocked", tenant, key, val,
              (char *)NULL);
        _exit(127);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int child_write(const char *tenant, const char *key, const char *val, int unlocked) {
    pg_tenant *w = open_tenant(tenant);
    int ok = unlocked ? pg_kv_put(T(w), NS, key, strlen(key), val, strlen(val)) == LORE_OK
                      : pg_begin(T(w)) == LORE_OK &&
                            pg_kv_put(T(w), NS, key, strlen(key), val, strlen(val)) == LORE_OK &&
                            pg_commit(T(w)) == LORE_OK;
    pg_tenant_close(T(w));
    return ok;
}

static void test_scan_cache(void) {
    lore_status st = pg_tenant_delete(S, "c1");
    CHECK(st == LORE_OK || st == LORE_NOT_FOUND);
    CHECK_INT(pg_tenant_create(S, "c1"), LORE_OK);
    pg_tenant *t = open_tenant("c1");
    CHECK_INT(pg_begin(T(t)), LORE_OK);
    for (int i = 0; i < NKEYS; i++) {
        char k[16], v[16];
        snprintf(k, sizeof k, "k%03d", i);
        snprintf(v, sizeof v, "v%d", i);
        put(t, k, v);
    }
    put(t, "j", "before the range");
    put(t, "l", "past its end");
    CHECK_INT(pg_commit(T(t)), LORE_OK);

    seen server = scan(t, 0, 0); /* outside a snapshot: the server's rows */
    CHECK_INT(server.rows, NKEYS);
    pg_kv_cache_stats s0, s1;
    pg_kv_cache_get_stats(&s0);
    seen cold = scan(t, 1, 0);
    pg_kv_cache_get_stats(&s1);
    CHECK(s1.misses > s0.misses); /* read from the server, pages kept */
    pg_kv_cache_get_stats(&s0);
    seen warm = scan(t, 1, 0);
    pg_kv_cache_get_stats(&s1);
    CHECK_INT(s1.misses, s0.misses); /* every page from memory */
    CHECK(s1.hits - s0.hits >= 3);
    CHECK_INT(cold.rows, NKEYS);
    CHECK_INT(warm.rows, NKEYS);
    CHECK_STR(cold.text, server.text);
    CHECK_STR(warm.text, server.text);
    /* A scan stopped early, from the cache, then a whole one again. */
    seen part = scan(t, 1, 100);
    CHECK_INT(part.rows, 100);
    CHECK(!strncmp(part.text, server.text, part.len));
    CHECK_STR(scan(t, 1, 0).text, server.text);

    /* Another process's write: the next snapshot sees it. */
    write_elsewhere("c1", "k100a", "new");
    seen after = scan(t, 1, 0);
    CHECK_INT(after.rows, NKEYS + 1);
    CHECK(strstr(after.text, "k100=v100;k100a=new;k101=v101;") != NULL);
    CHECK_STR(scan(t, 0, 0).text, after.text);
    /* A write transaction sees its own rows (the server's, not the cache's). */
    CHECK_INT(pg_begin(T(t)), LORE_OK);
    CHECK_INT(pg_kv_delete(T(t), NS, "k000", 4), LORE_OK);
    seen own = scan(t, 0, 0);
    CHECK_INT(own.rows, NKEYS);
    CHECK(strncmp(own.text, "k000=", 5) != 0);
    CHECK_INT(pg_commit(T(t)), LORE_OK);
    CHECK_INT(scan(t, 1, 0).rows, NKEYS);
    pg_tenant_close(T(t));
}

/* A snapshot's end sends ROLLBACK without waiting: the connection goes back
 * to the pool as it is, and the next snapshot gets it (the same server
 * process), reads its answer and runs. */
static void test_snapshot_end(void) {
    pg_tenant *t = open_tenant("c1");
    lore_buf b;
    lore_buf_init(&b, 64);
    CHECK_INT(pg_begin_read(T(t)), LORE_OK);
    int pid = PQbackendPID(t->conn);
    pg_end_read(T(t));
    for (int i = 0; i < 50; i++) {
        CHECK_INT(pg_begin_read(T(t)), LORE_OK);
        CHECK_INT(PQbackendPID(t->conn), pid);
        CHECK_INT(PQtransactionStatus(t->conn), PQTRANS_INTRANS);
        CHECK_INT(pg_kv_get(T(t), NS, "k001", 4, &b), LORE_OK);
        pg_end_read(T(t));
    }
    CHECK_STR(b.data, "v1");
    /* A write and a read outside snapshots after it, on the same connection. */
    put(t, "k001", "v1b");
    CHECK_INT(pg_kv_get(T(t), NS, "k001", 4, &b), LORE_OK);
    CHECK_STR(b.data, "v1b");
    /* A snapshot whose statement failed ends as well. */
    CHECK_INT(pg_begin_read(T(t)), LORE_OK);
    CHECK(pg_kv_put(T(t), NS, "x", 1, "y", 1) != LORE_OK); /* read only */
    pg_end_read(T(t));
    CHECK_INT(pg_begin_read(T(t)), LORE_OK);
    CHECK_INT(pg_kv_get(T(t), NS, "k001", 4, &b), LORE_OK);
    pg_end_read(T(t));
    CHECK_STR(b.data, "v1b");
    lore_buf_free(&b);
    pg_tenant_close(T(t));
}

/* key's value read by t as it stands (in its transaction, or in a read
 * snapshot of its own when snap), "-" when absent. */
static const char *get(pg_tenant *t, int snap, const char *key) {
    static char out[64];
    lore_buf b;
    lore_buf_init(&b, 64);
    if (snap) CHECK_INT(pg_begin_read(T(t)), LORE_OK);
    lore_status st = pg_kv_get(T(t), NS, key, strlen(key), &b);
    if (snap) pg_end_read(T(t));
    CHECK(st == LORE_OK || st == LORE_NOT_FOUND);
    snprintf(out, sizeof out, "%.*s", st == LORE_OK ? (int)b.len : 1, st == LORE_OK ? b.data : "-");
    lore_buf_free(&b);
    return out;
}

static int64_t misses(void) {
    pg_kv_cache_stats s;
    pg_kv_cache_get_stats(&s);
    return s.misses;
}

/* A tenant with k000..k299 = v0..v299 (and no cached generation yet). */
static pg_tenant *fresh_tenant(const char *name) {
    lore_status st = pg_tenant_delete(S, name);
    CHECK(st == LORE_OK || st == LORE_NOT_FOUND);
    CHECK_INT(pg_tenant_create(S, name), LORE_OK);
    pg_tenant *t = open_tenant(name);
    CHECK_INT(pg_begin(T(t)), LORE_OK);
    for (int i = 0; i < NKEYS; i++) {
        char k[16], v[16];
        snprintf(k, sizeof k, "k%03d", i);
        snprintf(v, sizeof v, "v%d", i);
        put(t, k, v);
    }
    CHECK_INT(pg_commit(T(t)), LORE_OK);
    return t;
}

/* A write transaction reads through the cache what it has not written, and
 * from the server what it has (keys put, deleted, a range deleted, scans
 * over them); its commit carries the rest over to the next generation. */
static void test_write_tx(void) {
    pg_tenant *t = fresh_tenant("c2");
    CHECK_STR(get(t, 1, "k001"), "v1"); /* cached at G */
    CHECK_STR(get(t, 1, "k002"), "v2");
    CHECK_STR(get(t, 1, "k015"), "v15");
    CHECK_STR(get(t, 1, "k050"), "v50");
    CHECK_INT(scan(t, 1, 0).rows, NKEYS);

    CHECK_INT(pg_begin(T(t)), LORE_OK);
    int64_t m = misses();
    CHECK_STR(get(t, 0, "k001"), "v1"); /* from the cache of G */
    CHECK_STR(get(t, 0, "k006"), "v6"); /* from the server, kept privately */
    CHECK_INT(misses() - m, 1);
    put(t, "k001", "w1");
    CHECK_STR(get(t, 0, "k001"), "w1");
    put(t, "k006", "w6");
    CHECK_STR(get(t, 0, "k006"), "w6");
    CHECK_INT(pg_kv_delete(T(t), NS, "k002", 4), LORE_OK);
    CHECK_STR(get(t, 0, "k002"), "-");
    CHECK_INT(pg_kv_delete_range(T(t), NS, "k010", 4, "k020", 4), LORE_OK);
    CHECK_STR(get(t, 0, "k015"), "-");
    CHECK_STR(get(t, 0, "k020"), "v20");
    put(t, "k100a", "new");
    seen own = scan(t, 0, 0);
    CHECK_INT(own.rows, NKEYS - 1 - 10 + 1);
    CHECK(strstr(own.text, "k000=v0;k001=w1;k003=v3;") != NULL);
    CHECK(strstr(own.text, "k009=v9;k020=v20;") != NULL);
    CHECK(strstr(own.text, "k100=v100;k100a=new;k101=v101;") != NULL);
    CHECK_INT(pg_commit(T(t)), LORE_OK);

    /* The next snapshot: what was written is new, the rest still cached. */
    m = misses();
    CHECK_STR(get(t, 1, "k050"), "v50");
    CHECK_INT(misses() - m, 0);
    CHECK_STR(get(t, 1, "k001"), "w1");
    CHECK_STR(get(t, 1, "k006"), "w6");
    CHECK_STR(get(t, 1, "k002"), "-");
    CHECK_STR(get(t, 1, "k015"), "-");
    CHECK_STR(get(t, 1, "k020"), "v20");
    CHECK_STR(scan(t, 1, 0).text, own.text);
    CHECK_STR(scan(t, 0, 0).text, own.text);
    /* And the next write transaction too. */
    CHECK_INT(pg_begin(T(t)), LORE_OK);
    CHECK_STR(get(t, 0, "k001"), "w1");
    CHECK_STR(get(t, 0, "k015"), "-");
    CHECK_STR(scan(t, 0, 0).text, own.text);
    CHECK_INT(pg_commit(T(t)), LORE_OK);
    pg_tenant_close(T(t));
}

/* A rollback leaves the cache as it was: nothing it wrote is seen after. */
static void test_write_tx_rollback(void) {
    pg_tenant *t = fresh_tenant("c3");
    CHECK_STR(get(t, 1, "k003"), "v3");
    seen before = scan(t, 1, 0);
    CHECK_INT(pg_begin(T(t)), LORE_OK);
    CHECK_STR(get(t, 0, "k003"), "v3");
    CHECK_STR(get(t, 0, "k004"), "v4");
    put(t, "k003", "rb");
    CHECK_INT(pg_kv_delete(T(t), NS, "k004", 4), LORE_OK);
    CHECK_STR(get(t, 0, "k003"), "rb");
    CHECK_STR(get(t, 0, "k004"), "-");
    CHECK_INT(scan(t, 0, 0).rows, NKEYS - 1);
    pg_rollback(T(t));
    CHECK_STR(get(t, 1, "k003"), "v3");
    CHECK_STR(get(t, 1, "k004"), "v4");
    CHECK_STR(scan(t, 1, 0).text, before.text);
    CHECK_INT(pg_begin(T(t)), LORE_OK);
    CHECK_STR(get(t, 0, "k003"), "v3");
    CHECK_STR(get(t, 0, "k004"), "v4");
    CHECK_STR(scan(t, 0, 0).text, before.text);
    CHECK_INT(pg_commit(T(t)), LORE_OK);
    pg_tenant_close(T(t));
}

/* Another process's writes are seen by the next write transaction and
 * snapshot: between our transactions, and one outside the writer lock
 * committed during ours (the commit then moves the generation by two, and
 * what ours read is not carried over). */
static void test_write_tx_others(void) {
    pg_tenant *t = fresh_tenant("c4");
    CHECK_STR(get(t, 1, "k004"), "v4");
    CHECK_INT(scan(t, 1, 0).rows, NKEYS);
    CHECK_INT(pg_begin(T(t)), LORE_OK);
    CHECK_STR(get(t, 0, "k004"), "v4");
    put(t, "k005", "ours");
    CHECK_INT(pg_commit(T(t)), LORE_OK);
    write_elsewhere("c4", "k004", "theirs");
    write_elsewhere("c4", "k100a", "theirs");
    CHECK_INT(pg_begin(T(t)), LORE_OK);
    CHECK_STR(get(t, 0, "k004"), "theirs");
    CHECK(strstr(scan(t, 0, 0).text, "k100a=theirs;") != NULL);
    CHECK_INT(pg_commit(T(t)), LORE_OK); /* wrote nothing */
    CHECK_STR(get(t, 1, "k004"), "theirs");
    CHECK_STR(get(t, 1, "k005"), "ours");

    CHECK_STR(get(t, 1, "k007"), "v7");
    CHECK_INT(pg_begin(T(t)), LORE_OK);
    CHECK_STR(get(t, 0, "k007"), "v7");
    CHECK_STR(get(t, 0, "k008"), "v8");
    seen mid = scan(t, 0, 0);
    put_elsewhere_unlocked("c4", "k007", "unlocked");
    put_elsewhere_unlocked("c4", "k008", "unlocked");
    put_elsewhere_unlocked("c4", "k100b", "unlocked");
    put(t, "k009", "ours");
    CHECK_INT(pg_commit(T(t)), LORE_OK);
    CHECK_STR(get(t, 1, "k007"), "unlocked");
    CHECK_STR(get(t, 1, "k008"), "unlocked");
    CHECK_STR(get(t, 1, "k009"), "ours");
    seen after = scan(t, 1, 0);
    CHECK(strcmp(after.text, mid.text) != 0);
    CHECK(strstr(after.text, "k100a=theirs;k100b=unlocked;") != NULL);
    CHECK_STR(scan(t, 0, 0).text, after.text);
    pg_tenant_close(T(t));
}

int main(int argc, char **argv) {
    url = getenv("LORE_TEST_PG_URL");
    if (!url) {
        fprintf(stderr, "LORE_TEST_PG_URL is not set: run through tests/support/pg.sh\n");
        return 1;
    }
    open_store();
    if (argc == 5 && (!strcmp(argv[1], "--child") || !strcmp(argv[1], "--child-unlocked"))) {
        int ok = child_write(argv[2], argv[3], argv[4], !strcmp(argv[1], "--child-unlocked"));
        pg_close(S);
        return ok ? 0 : 1;
    }
    test_scan_cache();
    test_snapshot_end();
    test_write_tx();
    test_write_tx_rollback();
    test_write_tx_others();
    pg_close(S);
    return test_summary();
}
#endif
