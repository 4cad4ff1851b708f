/* Public job ids at the store layer (store.h, docs/jobs.md "Job ids").
 *
 * The integer id of a job counts every tenant's jobs, so a tenant that saw
 * it could count the others' writes. Clients see a random public id
 * ("job_" and 24 hex digits) and page by a sequence of their own tenant.
 *
 * - Two tenants writing alternately get ids that say nothing of each other:
 *   well formed, all distinct, not in the order they were made, and each
 *   tenant's sequence counts only its own jobs.
 * - store_job_find is scoped to the tenant: another tenant's id, a
 *   malformed one and a new job's internal number are all NOT_FOUND.
 * - A dedup replay answers with the original job's ids.
 * - Listing pages by the tenant's sequence; a cursor without a tenant is
 *   refused.
 * - Upgrade: a control database written before public ids (schema 3, with
 *   the SQL that release ran) is migrated: its jobs get public ids and
 *   tenant sequences, and their old numbers still name them, for their
 *   own tenant only. New jobs continue each tenant's sequence. */
#include <sqlite3.h>

#include "store/store.h"
#include "support/store_fixture.h"
#include "test.h"

#define NOW 1000000

static int pub_shaped(const char *id) {
    if (strlen(id) != STORE_JOB_PUB_LEN || strncmp(id, "job_", 4)) return 0;
    for (const char *p = id + 4; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return 0;
    return 1;
}

/* Enqueues one job of tenant; fills *out (id, pub, seq). */
static lore_status enqueue(store *s, const char *tenant, const char *dedup, store_job *out) {
    static char *const groups[1] = {"g"};
    store_job j;
    memset(&j, 0, sizeof j);
    snprintf(j.tenant, sizeof j.tenant, "%s", tenant);
    snprintf(j.kind, sizeof j.kind, "documents");
    j.dedup_key = (char *)dedup;
    j.groups = (char **)groups;
    j.ngroups = 1;
    j.payload = (uint8_t *)"{}";
    j.payload_len = 2;
    j.max_attempts = 3;
    store_enqueue_outcome o;
    lore_status st = store_job_enqueue(s, &j, 1, 0, 0, NOW, &o);
    *out = j;
    out->groups = NULL;
    out->ngroups = 0;
    out->payload = NULL;
    out->dedup_key = NULL;
    return st;
}

static int found(store *s, const char *tenant, const char *ref, int64_t want_id) {
    store_job *j = NULL;
    lore_status st = store_job_find(s, tenant, ref, 0, &j);
    int ok = st == LORE_OK && j->id == want_id;
    store_job_free(j);
    return ok;
}

static int not_found(store *s, const char *tenant, const char *ref) {
    store_job *j = NULL;
    lore_status st = store_job_find(s, tenant, ref, 0, &j);
    store_job_free(j);
    return st == LORE_NOT_FOUND && !j;
}

#define PER_TENANT 20

static void test_alternating(void) {
    store_fixture f;
    store *s = NULL;
    if (store_fixture_init(&f) || store_fixture_open(&f, STORE_OPEN_CREATE, &s) != LORE_OK) {
        CHECK(0);
        return;
    }
    CHECK_INT(store_tenant_create(s, "acme"), LORE_OK);
    CHECK_INT(store_tenant_create(s, "beta"), LORE_OK);
    store_job a[PER_TENANT], b[PER_TENANT];
    for (int i = 0; i < PER_TENANT; i++) {
        CHECK_INT(enqueue(s, "acme", NULL, &a[i]), LORE_OK);
        CHECK_INT(enqueue(s, "beta", NULL, &b[i]), LORE_OK);
    }
    int shaped = 1, distinct = 1, a_up = 1, a_down = 1, b_up = 1, b_down = 1, seqs = 1;
    for (int i = 0; i < PER_TENANT; i++) {
        shaped &= pub_shaped(a[i].pub) && pub_shaped(b[i].pub);
        /* each tenant's sequence counts its own jobs: 1, 2, 3, ... */
        seqs &= a[i].seq == i + 1 && b[i].seq == i + 1;
        for (int k = 0; k < PER_TENANT; k++) {
            distinct &= strcmp(a[i].pub, b[k].pub) != 0;
            if (k != i) distinct &= strcmp(a[i].pub, a[k].pub) && strcmp(b[i].pub, b[k].pub);
        }
        if (i) {
            a_up &= strcmp(a[i - 1].pub, a[i].pub) < 0;
            a_down &= strcmp(a[i - 1].pub, a[i].pub) > 0;
            b_up &= strcmp(b[i - 1].pub, b[i].pub) < 0;
            b_down &= strcmp(b[i - 1].pub, b[i].pub) > 0;
        }
    }
    CHECK(shaped);
    CHECK(distinct);
    CHECK(seqs);
    /* not in the order they were made (20 random ids sorted by chance: 1 in 20!) */
    CHECK(!a_up && !a_down && !b_up && !b_down);

    for (int i = 0; i < PER_TENANT; i++) {
        CHECK(found(s, "acme", a[i].pub, a[i].id));
        CHECK(found(s, NULL, a[i].pub, a[i].id)); /* the operator sees every tenant */
        CHECK(not_found(s, "beta", a[i].pub));    /* another tenant's job */
        CHECK(not_found(s, "acme", b[i].pub));
        /* a new job's internal number is no id: it is the server-wide count */
        char num[32];
        snprintf(num, sizeof num, "%lld", (long long)a[i].id);
        CHECK(not_found(s, "acme", num));
        CHECK(not_found(s, NULL, num));
    }
    /* malformed references name no job */
    char upper[STORE_JOB_PUB_LEN + 1], longer[STORE_JOB_REF_MAX + 8];
    memcpy(upper, a[0].pub, sizeof upper);
    for (char *p = upper + 4; *p; p++)
        if (*p >= 'a' && *p <= 'f') *p = (char)(*p - 'a' + 'A');
    memset(longer, '1', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    const char *bad[] = {"",
                         "0",
                         "01",
                         "-1",
                         "+1",
                         "1e3",
                         " 1",
                         "1 ",
                         "job_",
                         "job_xyz",
                         "99999999999999999999",
                         upper,
                         longer};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int nf = not_found(s, "acme", bad[i]) && not_found(s, NULL, bad[i]);
        if (!nf) fprintf(stderr, "'%s' named a job\n", bad[i]);
        CHECK(nf);
    }
    char truncated[STORE_JOB_PUB_LEN + 1];
    memcpy(truncated, a[0].pub, sizeof truncated);
    truncated[STORE_JOB_PUB_LEN - 1] = '\0';
    CHECK(not_found(s, "acme", truncated));

    /* a dedup replay is the original job, ids and all */
    store_job d1, d2;
    CHECK_INT(enqueue(s, "acme", "delivery-1", &d1), LORE_OK);
    CHECK_INT(enqueue(s, "acme", "delivery-1", &d2), LORE_OK);
    CHECK_STR(d2.pub, d1.pub);
    CHECK_INT(d2.seq, d1.seq);
    CHECK_INT(d1.seq, PER_TENANT + 1);

    /* listing: newest first by the tenant's sequence, paged by it */
    store_job *list = NULL;
    size_t n = 0;
    CHECK_INT(store_job_list(s, "beta", -1, 0, 5, &list, &n), LORE_OK);
    CHECK_INT(n, 5);
    if (n == 5) {
        CHECK_STR(list[0].pub, b[PER_TENANT - 1].pub);
        CHECK_INT(list[4].seq, PER_TENANT - 4);
    }
    int64_t cursor = n ? list[n - 1].seq : 0;
    store_jobs_free(list, n);
    CHECK_INT(store_job_list(s, "beta", -1, cursor, 100, &list, &n), LORE_OK);
    CHECK_INT(n, PER_TENANT - 5);
    if (n) CHECK_STR(list[0].pub, b[PER_TENANT - 6].pub);
    if (n) CHECK_STR(list[n - 1].pub, b[0].pub);
    store_jobs_free(list, n);
    CHECK_INT(store_job_list(s, NULL, -1, 5, 100, &list, &n), LORE_INVALID);
    store_close(s);
    store_fixture_done(&f);
}

/* ---- upgrade from a database without public ids ---- */

/* The control schema as the release before public ids left it (migrations
 * 1 to 3 of that release, verbatim). */
static const char *const schema_v3[] = {
    "CREATE TABLE tenants(name TEXT PRIMARY KEY, created_ms INTEGER NOT NULL)",
    "CREATE TABLE api_keys("
    " id TEXT PRIMARY KEY,"
    " tenant TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,"
    " name TEXT,"
    " scopes INTEGER NOT NULL,"
    " principals TEXT NOT NULL DEFAULT '',"
    " hash TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " expires_ms INTEGER NOT NULL DEFAULT 0,"
    " revoked_ms INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "CREATE INDEX api_keys_tenant ON api_keys(tenant, created_ms);",
    "CREATE TABLE jobs("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " tenant TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " dedup_key TEXT,"
    " groups TEXT NOT NULL DEFAULT '',"
    " payload BLOB,"
    " blob TEXT,"
    " weight INTEGER NOT NULL DEFAULT 0,"
    " state INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL,"
    " max_attempts INTEGER NOT NULL,"
    " lease_seq INTEGER NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " updated_ms INTEGER NOT NULL,"
    " visible_ms INTEGER NOT NULL,"
    " started_ms INTEGER NOT NULL DEFAULT 0,"
    " finished_ms INTEGER NOT NULL DEFAULT 0,"
    " worker TEXT, error TEXT, result TEXT, owner TEXT);"
    "CREATE UNIQUE INDEX jobs_dedup ON jobs(tenant, dedup_key) WHERE dedup_key IS NOT NULL;"
    "CREATE INDEX jobs_ready ON jobs(id) WHERE state=0;"
    "CREATE INDEX jobs_leased ON jobs(visible_ms) WHERE state=1;"
    "CREATE INDEX jobs_dead ON jobs(tenant, id) WHERE state=3;"
    "CREATE INDEX jobs_tenant ON jobs(tenant, state, id);"
    "CREATE INDEX jobs_finished ON jobs(finished_ms) WHERE state>=2;"
    "CREATE TABLE job_groups(grp TEXT NOT NULL, job INTEGER NOT NULL,"
    " PRIMARY KEY(grp, job)) WITHOUT ROWID;"
    "CREATE INDEX job_groups_job ON job_groups(job);"
    "CREATE TABLE job_pending(tenant TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;",
};

/* Writes DIR/control.db at schema 3 with tenants acme and beta and five
 * jobs: 1, 3 and 5 of acme (5 still ready), 2 and 4 of beta (beta has no
 * job_pending row, as if its counter row were never written). */
static int write_v3(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/control.db", dir);
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK) return -1;
    int rc = sqlite3_exec(db,
                          "CREATE TABLE schema_migrations(version INTEGER PRIMARY KEY,"
                          " applied_ms INTEGER NOT NULL)",
                          NULL, NULL, NULL);
    for (size_t i = 0; rc == SQLITE_OK && i < 3; i++) {
        char rec[96];
        snprintf(rec, sizeof rec, "INSERT INTO schema_migrations VALUES(%zu, 1)", i + 1);
        rc = sqlite3_exec(db, schema_v3[i], NULL, NULL, NULL);
        if (rc == SQLITE_OK) rc = sqlite3_exec(db, rec, NULL, NULL, NULL);
    }
    static const char *const rows =
        "INSERT INTO tenants VALUES('acme', 1), ('beta', 1);"
        "INSERT INTO jobs(id, tenant, kind, groups, payload, state, attempts, max_attempts,"
        " lease_seq, created_ms, updated_ms, visible_ms, finished_ms, result) VALUES"
        " (1, 'acme', 'documents', 'd1', NULL, 2, 1, 5, 1, 10, 11, 10, 11, '{}'),"
        " (2, 'beta', 'documents', 'd2', NULL, 2, 1, 5, 1, 12, 13, 12, 13, '{}'),"
        " (3, 'acme', 'delete', 'd1', NULL, 3, 5, 5, 5, 14, 15, 14, 15, NULL),"
        " (4, 'beta', 'documents', 'd4', NULL, 2, 1, 5, 1, 16, 17, 16, 17, '{}'),"
        " (5, 'acme', 'documents', 'd5', X'7B7D', 0, 0, 5, 0, 18, 18, 18, 0, NULL);"
        "INSERT INTO job_groups VALUES('acme/d5', 5);"
        "INSERT INTO job_pending VALUES('acme', 1);";
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, rows, NULL, NULL, NULL);
    if (rc != SQLITE_OK) fprintf(stderr, "v3 database: %s\n", sqlite3_errmsg(db));
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

static void test_upgrade(void) {
    const char *dir = test_tmpdir();
    CHECK_INT(write_v3(dir), 0);
    store *s = NULL;
    char err[512] = "";
    CHECK_INT(store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err), LORE_OK);
    if (!s) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_INT(store_check(s, err, sizeof err), LORE_OK);
    /* the old numbers name their jobs, in their own tenant only */
    CHECK(found(s, "acme", "1", 1));
    CHECK(found(s, "acme", "3", 3));
    CHECK(found(s, "beta", "2", 2));
    CHECK(found(s, NULL, "4", 4));
    CHECK(not_found(s, "beta", "1"));
    CHECK(not_found(s, "acme", "2"));
    CHECK(not_found(s, "acme", "6"));
    /* each got a public id and its place in its tenant's sequence */
    static const struct {
        int64_t id, seq;
        const char *tenant;
    } want[] = {{1, 1, "acme"}, {2, 1, "beta"}, {3, 2, "acme"}, {4, 2, "beta"}, {5, 3, "acme"}};
    char pubs[5][STORE_JOB_PUB_LEN + 1];
    for (size_t i = 0; i < 5; i++) {
        store_job *j = NULL;
        CHECK_INT(store_job_get(s, NULL, want[i].id, 0, &j), LORE_OK);
        if (!j) continue;
        CHECK(pub_shaped(j->pub));
        CHECK_INT(j->seq, want[i].seq);
        snprintf(pubs[i], sizeof pubs[i], "%s", j->pub);
        CHECK(found(s, want[i].tenant, j->pub, want[i].id));
        CHECK(not_found(s, strcmp(want[i].tenant, "acme") ? "acme" : "beta", j->pub));
        for (size_t k = 0; k < i; k++)
            CHECK(strcmp(pubs[k], pubs[i]) != 0);
        store_job_free(j);
    }
    /* the queued job still runs, its payload intact */
    store_job *c = NULL;
    size_t nc = 0;
    CHECK_INT(store_job_claim(s, "w", NOW, 1000, 8, 1 << 20, &c, &nc), LORE_OK);
    CHECK_INT(nc, 1);
    if (nc) {
        CHECK_INT(c[0].id, 5);
        CHECK_STR(c[0].pub, pubs[4]);
        CHECK_INT(c[0].payload_len, 2);
    }
    store_jobs_free(c, nc);
    /* new jobs continue each tenant's sequence and answer to no number */
    store_job na, nb;
    CHECK_INT(enqueue(s, "acme", NULL, &na), LORE_OK);
    CHECK_INT(enqueue(s, "beta", NULL, &nb), LORE_OK);
    CHECK_INT(na.seq, 4);
    CHECK_INT(nb.seq, 3);
    CHECK_INT(na.id, 6);
    CHECK(not_found(s, "acme", "6"));
    CHECK(found(s, "acme", na.pub, na.id));
    /* a listing pages through old and new jobs alike */
    store_job *list = NULL;
    size_t n = 0;
    CHECK_INT(store_job_list(s, "acme", -1, 0, 2, &list, &n), LORE_OK);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_INT(list[0].id, na.id);
        CHECK_INT(list[1].id, 5);
    }
    store_jobs_free(list, n);
    CHECK_INT(store_job_list(s, "acme", -1, 3, 10, &list, &n), LORE_OK);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_INT(list[0].id, 3);
        CHECK_INT(list[1].id, 1);
    }
    store_jobs_free(list, n);
    /* a dead legacy job is retried by its number's job */
    store_job *dead = NULL;
    CHECK_INT(store_job_find(s, "acme", "3", 0, &dead), LORE_OK);
    if (dead) {
        CHECK_INT(dead->state, STORE_JOB_DEAD);
        CHECK_INT(store_job_retry(s, "acme", dead->id, NOW), LORE_OK);
    }
    store_job_free(dead);
    store_close(s);
    /* reopening applies nothing twice */
    CHECK_INT(store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err), LORE_OK);
    CHECK(s && found(s, "acme", "1", 1));
    store_close(s);
    test_rmtree(dir);
}

int main(void) {
    printf("backend %s\n", store_fixture_backend());
    test_alternating();
    if (store_fixture_sqlite())
        test_upgrade(); /* from a SQLite control database of the release before */
    else
        printf("test_upgrade: SQLite only, skipped\n");
    return test_summary();
}
