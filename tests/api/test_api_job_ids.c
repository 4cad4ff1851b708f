/* Job ids over HTTP tell a tenant nothing about the others (api_jobs.c,
 * docs/jobs.md "Job ids"), against a real server:
 *
 * - Two tenants writing alternately get ids of the form job_<24 hex>, all
 *   distinct and not in the order they were made; Location and status_url
 *   carry the same id.
 * - Another tenant's job id is a 404 exactly like a missing one, for GET and
 *   for retry; so is the internal number of a tenant's own new job.
 * - Listing cursors count only the tenant's own jobs: a tenant whose writes
 *   were interleaved with another's pages with the very cursors of a tenant
 *   that wrote alone.
 * - A job queued before ids were opaque (marked as the upgrade marks them)
 *   answers to its old number for its own tenant, over HTTP and with
 *   `lore jobs show`, and to nobody else. */
#include <sqlite3.h>

#include "jobs/jobs_test.h"
#include "store/store.h"

static test_server s;
static char kother[96], kalone[96], kmixed[96];

static const char *jstr(json_t *o, const char *k) {
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* POST /v1/documents of one small document; the answer's job id. */
static test_job_ref write_doc(const char *key, const char *ext, int *location_ok) {
    char body[256];
    snprintf(body, sizeof body, "{\"id\":\"%s\",\"text\":\"words of %s\"}", ext, ext);
    test_resp r = test_post_json(&s, "/v1/documents", key, body);
    CHECK_INT(r.status, 202);
    test_job_ref id = test_job_id(&r);
    char h[96], want[96];
    snprintf(want, sizeof want, "/v1/jobs/%s", id.s);
    if (location_ok)
        *location_ok = test_resp_header(&r, "Location", h, sizeof h) && !strcmp(h, want) &&
                       !strcmp(jstr(json_object_get(r.json, "job"), "status_url"), want);
    test_resp_free(&r);
    return id;
}

static long get_status(const char *key, const char *id, char *detail, size_t len) {
    char path[160];
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    test_resp r = test_get(&s, path, key);
    long st = r.status;
    if (detail) snprintf(detail, len, "%s", jstr(r.json, "detail"));
    test_resp_free(&r);
    return st;
}

static long retry_status(const char *key, const char *id) {
    char path[160];
    snprintf(path, sizeof path, "/v1/jobs/%s/retry", id);
    test_resp r = test_http(&s, "POST", path, key, NULL, NULL, 0, NULL);
    long st = r.status;
    test_resp_free(&r);
    return st;
}

#define ROUNDS 12

static test_job_ref mine[ROUNDS], theirs[ROUNDS];

static int sorted(const test_job_ref *ids, size_t n, int dir) {
    for (size_t i = 1; i < n; i++)
        if (dir * strcmp(ids[i - 1].s, ids[i].s) >= 0) return 0;
    return 1;
}

static void alternating(void) {
    int shaped = 1, located = 1, distinct = 1;
    for (int i = 0; i < ROUNDS; i++) {
        char ext[32];
        int loc = 0;
        snprintf(ext, sizeof ext, "alt-mine-%d", i);
        mine[i] = write_doc(s.admin_key, ext, &loc);
        located &= loc;
        snprintf(ext, sizeof ext, "alt-theirs-%d", i);
        theirs[i] = write_doc(kother, ext, &loc);
        located &= loc;
        shaped &= test_job_id_shaped(mine[i].s) && test_job_id_shaped(theirs[i].s);
    }
    for (int i = 0; i < ROUNDS; i++)
        for (int k = 0; k < ROUNDS; k++) {
            distinct &= strcmp(mine[i].s, theirs[k].s) != 0;
            if (k != i)
                distinct &= strcmp(mine[i].s, mine[k].s) && strcmp(theirs[i].s, theirs[k].s);
        }
    CHECK(shaped);
    CHECK(located);
    CHECK(distinct);
    /* not sequential: in neither order they were made (1 in 12! by chance) */
    CHECK(!sorted(mine, ROUNDS, 1) && !sorted(mine, ROUNDS, -1));
    CHECK(!sorted(theirs, ROUNDS, 1) && !sorted(theirs, ROUNDS, -1));
    if (!shaped || !distinct) fprintf(stderr, "ids: %s %s %s\n", mine[0].s, theirs[0].s, mine[1].s);

    /* each tenant reads its own, and the other's are missing */
    char missing[256], other[256];
    CHECK_INT(get_status(s.admin_key, "job_0123456789abcdef01234567", missing, sizeof missing),
              404);
    for (int i = 0; i < ROUNDS; i++) {
        CHECK_INT(get_status(s.admin_key, mine[i].s, NULL, 0), 200);
        CHECK_INT(get_status(kother, theirs[i].s, NULL, 0), 200);
        CHECK_INT(get_status(kother, mine[i].s, other, sizeof other), 404);
        CHECK_STR(other, missing); /* word for word: nothing tells them apart */
        CHECK_INT(get_status(s.admin_key, theirs[i].s, NULL, 0), 404);
        CHECK_INT(retry_status(kother, mine[i].s), 404);
        CHECK_INT(retry_status(s.admin_key, theirs[i].s), 404);
    }
}

/* The internal number of a job, read from the store beside the server. */
static int64_t internal_id(const char *pub) {
    store *st = NULL;
    char err[256];
    int64_t id = 0;
    if (test_store_open(s.dir, STORE_OPEN_CREATE, &st, err, sizeof err) == LORE_OK) {
        store_job *j = NULL;
        if (store_job_find(st, NULL, pub, 0, &j) == LORE_OK) id = j->id;
        store_job_free(j);
    }
    store_close(st);
    return id;
}

static void numbers_are_not_ids(void) {
    CHECK_INT(test_queue_idle(&s, s.admin_key, 30), 0);
    int64_t n = internal_id(mine[ROUNDS - 1].s);
    CHECK(n > 0);
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)n);
    /* the queue's number of the tenant's own job: a probe of the
     * server-wide sequence, answered like any unknown id */
    CHECK_INT(get_status(s.admin_key, num, NULL, 0), 404);
    CHECK_INT(retry_status(s.admin_key, num), 404);
    const char *odd[] = {"0", "-1", "job_", "JOB_0123456789ABCDEF01234567", "1.5", "%20"};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
        CHECK_INT(get_status(s.admin_key, odd[i], NULL, 0), 404);
    char longer[600];
    memset(longer, '7', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    CHECK_INT(get_status(s.admin_key, longer, NULL, 0), 404);
}

/* The cursors of paging through a tenant's jobs one at a time. */
static size_t cursors(const char *key, char out[][64], size_t cap) {
    size_t n = 0;
    char cursor[64] = "";
    for (int pages = 0; pages < 100; pages++) {
        char path[128];
        snprintf(path, sizeof path, "/v1/jobs?limit=1%s%s", cursor[0] ? "&cursor=" : "", cursor);
        test_resp r = test_get(&s, path, key);
        CHECK_INT(r.status, 200);
        const char *next = json_string_value(json_object_get(r.json, "next_cursor"));
        snprintf(cursor, sizeof cursor, "%s", next ? next : "");
        test_resp_free(&r);
        if (!cursor[0]) break;
        if (n < cap) snprintf(out[n++], 64, "%s", cursor);
    }
    return n;
}

static void cursors_are_own(void) {
    CHECK(!test_make_tenant(&s, "alone", kalone, sizeof kalone));
    CHECK(!test_make_tenant(&s, "mixed", kmixed, sizeof kmixed));
    /* "alone" writes six jobs in a row; "mixed" writes six with another
     * tenant's writes in between */
    for (int i = 0; i < 6; i++) {
        char ext[32];
        snprintf(ext, sizeof ext, "cur-%d", i);
        write_doc(kalone, ext, NULL);
    }
    for (int i = 0; i < 6; i++) {
        char ext[32];
        snprintf(ext, sizeof ext, "cur-%d", i);
        write_doc(kmixed, ext, NULL);
        for (int k = 0; k < 3; k++) {
            snprintf(ext, sizeof ext, "cur-noise-%d-%d", i, k);
            write_doc(kother, ext, NULL);
        }
    }
    char a[16][64], m[16][64];
    size_t na = cursors(kalone, a, 16), nm = cursors(kmixed, m, 16);
    CHECK_INT(na, 5);
    CHECK_INT(nm, 5);
    int same = na == nm;
    for (size_t i = 0; same && i < na; i++)
        same = !strcmp(a[i], m[i]);
    CHECK(same); /* the other tenant's writes left no trace in them */
    if (!same && na && nm) fprintf(stderr, "cursors differ: %s vs %s\n", a[0], m[0]);
}

/* Marks a job as queued before opaque ids, as the upgrade does (the store
 * test proves the migration marks such jobs). */
/* Marks job id as one copied from a store made before public ids (its
 * number then answers too), in the store itself: sqlite3 on control.db, or
 * psql on PostgreSQL's lore.jobs. */
static int mark_legacy(const char *dir, int64_t id) {
    if (!store_fixture_sqlite()) {
        char url[1200], cmd[1600];
        if (test_store_url(dir, url, sizeof url)) return -1;
        snprintf(cmd, sizeof cmd,
                 "psql -AtX -v ON_ERROR_STOP=1 '%s' -c 'UPDATE lore.jobs SET legacy = true "
                 "WHERE id = %lld' | grep -qx 'UPDATE 1'",
                 url, (long long)id);
        return system(cmd) == 0 ? 0 : -1;
    }
    char path[600];
    snprintf(path, sizeof path, "%s/control.db", dir);
    sqlite3 *db = NULL;
    int rc = sqlite3_open(path, &db);
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE jobs SET legacy=1 WHERE id=%lld", (long long)id);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    int changed = rc == SQLITE_OK ? sqlite3_changes(db) : 0;
    sqlite3_close(db);
    return changed == 1 ? 0 : -1;
}

static void legacy_numbers(void) {
    int64_t n = internal_id(mine[0].s);
    CHECK(n > 0);
    char dir[512], num[32];
    snprintf(dir, sizeof dir, "%s", s.dir);
    snprintf(num, sizeof num, "%lld", (long long)n);
    CHECK_INT(test_server_stop(&s, SIGTERM), 0);
    CHECK_INT(mark_legacy(dir, n), 0);
    static const char *const env[] = {"LORE_RATE_WRITE_PER_MIN=0", "LORE_RATE_READ_PER_MIN=0",
                                      "LORE_RATE_ADMIN_PER_MIN=0", NULL};
    CHECK_INT(test_server_start(&s, dir, env), 0);
    /* the owner reads it by its old number, and is answered with its id */
    char path[96];
    snprintf(path, sizeof path, "/v1/jobs/%s", num);
    test_resp r = test_get(&s, path, s.admin_key);
    CHECK_INT(r.status, 200);
    CHECK_STR(jstr(r.json, "id"), mine[0].s);
    char url[96];
    snprintf(url, sizeof url, "/v1/jobs/%s", mine[0].s);
    CHECK_STR(jstr(r.json, "status_url"), url);
    test_resp_free(&r);
    CHECK_INT(retry_status(s.admin_key, num), 409); /* found; done, so not retried */
    /* nobody else does */
    char other[256], missing[256];
    CHECK_INT(get_status(kother, num, other, sizeof other), 404);
    CHECK_INT(get_status(kother, "job_0123456789abcdef01234567", missing, sizeof missing), 404);
    CHECK_STR(other, missing);
    CHECK_INT(retry_status(kother, num), 404);
    /* the CLI takes the old number too, and shows the id */
    char out[4096], args[96];
    snprintf(args, sizeof args, "jobs show %s", num);
    CHECK_INT(jt_cli(dir, out, sizeof out, args), 0);
    char want[96];
    snprintf(want, sizeof want, "id:           %s\n", mine[0].s);
    CHECK(strstr(out, want) != NULL);
    if (!strstr(out, want)) fprintf(stderr, "lore jobs show %s:\n%s", num, out);
    snprintf(args, sizeof args, "jobs show %s --tenant other", num);
    CHECK(jt_cli(dir, out, sizeof out, args) != 0);
    CHECK(strstr(out, "no job") != NULL);
    /* a later job's number is still nothing */
    snprintf(num, sizeof num, "%lld", (long long)internal_id(mine[1].s));
    CHECK_INT(get_status(s.admin_key, num, NULL, 0), 404);
    snprintf(args, sizeof args, "jobs show %s", num);
    CHECK(jt_cli(dir, out, sizeof out, args) != 0);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_ALL);
    const char *env[] = {"LORE_RATE_WRITE_PER_MIN=0", "LORE_RATE_READ_PER_MIN=0",
                         "LORE_RATE_ADMIN_PER_MIN=0", NULL};
    if (test_server_start(&s, NULL, env)) return 1;
    CHECK(!test_make_tenant(&s, "other", kother, sizeof kother));
    alternating();
    numbers_are_not_ids();
    cursors_are_own();
    legacy_numbers();
    CHECK_INT(test_server_stop(&s, SIGTERM), 0);
    test_rmtree(s.dir);
    curl_global_cleanup();
    return test_summary();
}
