/* The durable job queue at the store layer (store.h, "durable jobs"): a
 * real store in a temporary directory, time simulated through the now_ms
 * arguments. Covers enqueue/claim/finish, FIFO per group (with retries,
 * dead letters and retried dead jobs), dedup keys, the back-pressure caps,
 * leases (expiry, take-over, lost finishes and renewals, burial after the
 * attempts), retry, purge, counts and tenant deletion; then a randomized
 * run checks every claim against a model of the FIFO rule. */
#include "store/store.h"
#include "support/store_fixture.h"
#include "test.h"

#define T0 1000000 /* simulated "now" at the start, ms */
#define LEASE 1000

/* ---- helpers ---- */

/* Splits "a,b" into groups held in buf. */
static size_t split_groups(const char *csv, char *buf, size_t buflen, char **out, size_t max) {
    size_t n = 0;
    snprintf(buf, buflen, "%s", csv ? csv : "");
    for (char *p = buf; *p && n < max;) {
        out[n++] = p;
        char *c = strchr(p, ',');
        if (!c) break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

typedef struct job_spec {
    const char *tenant, *kind, *groups, *dedup, *payload, *blob;
    int max_attempts;
    int64_t weight;
} job_spec;

/* Enqueues jobs from specs; ids (may be NULL) receive the ids. */
static lore_status enqueue_specs(store *s, const job_spec *spec, size_t n, int64_t cap_tenant,
                                 int64_t cap_total, int64_t now, store_enqueue_outcome *o,
                                 int64_t *ids) {
    store_job jobs[16];
    char bufs[16][256];
    char *gv[16][8];
    memset(jobs, 0, sizeof jobs);
    for (size_t i = 0; i < n; i++) {
        store_job *j = &jobs[i];
        snprintf(j->tenant, sizeof j->tenant, "%s", spec[i].tenant ? spec[i].tenant : "acme");
        snprintf(j->kind, sizeof j->kind, "%s", spec[i].kind ? spec[i].kind : "documents");
        j->dedup_key = (char *)spec[i].dedup;
        j->ngroups = split_groups(spec[i].groups, bufs[i], sizeof bufs[i], gv[i], 8);
        j->groups = gv[i];
        const char *payload = spec[i].payload ? spec[i].payload : "{\"p\":1}";
        if (!spec[i].blob) {
            j->payload = (uint8_t *)payload;
            j->payload_len = strlen(payload);
        }
        j->blob = (char *)spec[i].blob;
        j->weight = spec[i].weight ? spec[i].weight : (int64_t)strlen(payload);
        j->max_attempts = spec[i].max_attempts ? spec[i].max_attempts : 5;
    }
    store_enqueue_outcome dummy;
    lore_status st = store_job_enqueue(s, jobs, n, cap_tenant, cap_total, now, o ? o : &dummy);
    for (size_t i = 0; ids && i < n; i++)
        ids[i] = jobs[i].id;
    return st;
}

/* One job of acme in groups csv; returns its id (0 on failure). */
static int64_t enq(store *s, const char *groups, int64_t now) {
    job_spec sp = {.groups = groups};
    int64_t id = 0;
    store_enqueue_outcome o;
    lore_status st = enqueue_specs(s, &sp, 1, 0, 0, now, &o, &id);
    CHECK_INT(st, LORE_OK);
    CHECK_INT(o, STORE_ENQUEUED);
    return st == LORE_OK ? id : 0;
}

static int64_t enq_attempts(store *s, const char *groups, int max_attempts, int64_t now) {
    job_spec sp = {.groups = groups, .max_attempts = max_attempts};
    int64_t id = 0;
    CHECK_INT(enqueue_specs(s, &sp, 1, 0, 0, now, NULL, &id), LORE_OK);
    return id;
}

/* Claims; returns the count, jobs in *out (free with store_jobs_free). */
static size_t claim(store *s, const char *worker, int64_t now, size_t max, store_job **out) {
    size_t n = 0;
    CHECK_INT(store_job_claim(s, worker, now, LEASE, max, INT64_MAX / 4, out, &n), LORE_OK);
    return n;
}

/* Claims and frees; returns the ids claimed (in id order) in ids. */
static size_t claim_ids(store *s, const char *worker, int64_t now, size_t max, int64_t *ids,
                        int64_t *seqs) {
    store_job *jobs = NULL;
    size_t n = claim(s, worker, now, max, &jobs);
    for (size_t i = 0; i < n; i++) {
        ids[i] = jobs[i].id;
        if (seqs) seqs[i] = jobs[i].lease_seq;
    }
    store_jobs_free(jobs, n);
    return n;
}

static int has_id(const int64_t *ids, size_t n, int64_t id) {
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id) return 1;
    return 0;
}

/* Finishes one claim; returns lost (0/1) or -1 on a store error. */
static int finish(store *s, int64_t id, int64_t seq, int state, int64_t visible, int release,
                  int64_t now) {
    store_job_outcome o = {.id = id,
                           .lease_seq = seq,
                           .state = state,
                           .release = release,
                           .visible_ms = visible,
                           .error = state == STORE_JOB_DONE ? NULL : "it broke",
                           .result = state == STORE_JOB_DONE ? "{\"ok\":true}" : NULL};
    lore_status st = store_job_finish(s, &o, 1, now);
    CHECK_INT(st, LORE_OK);
    return st == LORE_OK ? o.lost : -1;
}

static int job_state(store *s, int64_t id) {
    store_job *j = NULL;
    if (store_job_get(s, NULL, id, 0, &j) != LORE_OK) return -1;
    int st = j->state;
    store_job_free(j);
    return st;
}

static int job_attempts(store *s, int64_t id) {
    store_job *j = NULL;
    if (store_job_get(s, NULL, id, 0, &j) != LORE_OK) return -1;
    int a = j->attempts;
    store_job_free(j);
    return a;
}

static int64_t pending(store *s, const char *tenant) {
    int64_t oldest = 0, n = -1;
    CHECK_INT(store_job_pending(s, tenant, INT64_MAX / 4, &oldest, &n), LORE_OK);
    return n;
}

static size_t count_jobs(store *s, const char *tenant, int state) {
    store_job *jobs = NULL;
    size_t n = 0;
    CHECK_INT(store_job_list(s, tenant, state, 0, 100000, &jobs, &n), LORE_OK);
    store_jobs_free(jobs, n);
    return n;
}

/* Finishes every runnable job (done) until none is left; time is now. */
static void drain(store *s, int64_t now) {
    for (int round = 0; round < 1000; round++) {
        store_job *jobs = NULL;
        size_t n = claim(s, "drain", now, 64, &jobs);
        for (size_t i = 0; i < n; i++)
            CHECK_INT(finish(s, jobs[i].id, jobs[i].lease_seq, STORE_JOB_DONE, 0, 0, now), 0);
        store_jobs_free(jobs, n);
        if (!n) return;
    }
}

/* ---- the cases ---- */

static void test_basic(store *s) {
    int64_t now = T0;
    int64_t id = enq(s, "doc-basic", now);
    CHECK(id > 0);
    store_job *j = NULL;
    CHECK_INT(store_job_get(s, "acme", id, 1, &j), LORE_OK);
    CHECK_INT(j->state, STORE_JOB_READY);
    CHECK_INT(j->attempts, 0);
    CHECK_INT(j->max_attempts, 5);
    CHECK_INT(j->created_ms, now);
    CHECK_INT(j->ngroups, 1);
    CHECK_STR(j->groups[0], "doc-basic");
    CHECK_STR((const char *)j->payload, "{\"p\":1}");
    store_job_free(j);
    CHECK_INT(store_job_get(s, "beta", id, 0, &j), LORE_NOT_FOUND); /* another tenant's */
    CHECK_INT(store_job_get(s, NULL, 999999, 0, &j), LORE_NOT_FOUND);

    store_job *c = NULL;
    CHECK_INT(claim(s, "w1", now + 1, 10, &c), 1);
    CHECK_INT(c[0].id, id);
    CHECK_INT(c[0].state, STORE_JOB_LEASED);
    CHECK_INT(c[0].attempts, 1);
    CHECK_STR(c[0].worker, "w1");
    CHECK_INT(c[0].visible_ms, now + 1 + LEASE);
    CHECK_INT(c[0].started_ms, now + 1);
    CHECK(c[0].payload && !strcmp((const char *)c[0].payload, "{\"p\":1}")); /* claims carry it */
    int64_t seq = c[0].lease_seq;
    store_jobs_free(c, 1);
    CHECK_INT(claim(s, "w2", now + 2, 10, &c), 0); /* leased: nobody else gets it */
    CHECK_INT(job_state(s, id), STORE_JOB_LEASED);
    CHECK_INT(finish(s, id, seq, STORE_JOB_DONE, 0, 0, now + 5), 0);
    CHECK_INT(store_job_get(s, NULL, id, 1, &j), LORE_OK);
    CHECK_INT(j->state, STORE_JOB_DONE);
    CHECK_INT(j->finished_ms, now + 5);
    CHECK(j->payload == NULL); /* a done job drops its payload */
    CHECK_STR(j->result, "{\"ok\":true}");
    store_job_free(j);
    CHECK_INT(claim(s, "w1", now + 10, 10, &c), 0);
    /* finishing it again (a duplicate outcome) changes nothing */
    CHECK_INT(finish(s, id, seq, STORE_JOB_DEAD, 0, 0, now + 11), 1);
    CHECK_INT(job_state(s, id), STORE_JOB_DONE);

    /* refusals: unknown tenant, invalid jobs */
    job_spec bad = {.tenant = "nobody", .groups = "g"};
    CHECK_INT(enqueue_specs(s, &bad, 1, 0, 0, now, NULL, NULL), LORE_NOT_FOUND);
    job_spec bad2 = {.groups = "g", .dedup = ""};
    CHECK_INT(enqueue_specs(s, &bad2, 1, 0, 0, now, NULL, NULL), LORE_INVALID);
    job_spec bad3 = {.groups = "g", .blob = "../x"};
    CHECK_INT(enqueue_specs(s, &bad3, 1, 0, 0, now, NULL, NULL), LORE_INVALID);
    CHECK_INT(pending(s, NULL), 0);
}

/* Two jobs sharing a group are never claimed together; the later one runs
 * only after the earlier one is done or dead; other groups run alongside. */
static void test_fifo(store *s) {
    int64_t now = T0 + 100000;
    int64_t a = enq(s, "g1", now), b = enq(s, "g1", now), c = enq(s, "g2", now);
    int64_t ids[16], seqs[16];
    size_t n = claim_ids(s, "w1", now, 10, ids, seqs);
    CHECK_INT(n, 2); /* a and c: different groups go together, b waits */
    CHECK(has_id(ids, n, a) && has_id(ids, n, c) && !has_id(ids, n, b));
    CHECK_INT(claim_ids(s, "w2", now, 10, ids + 8, NULL), 0);
    CHECK_INT(job_state(s, b), STORE_JOB_READY);
    CHECK_INT(ids[0], a); /* claims come in id order */
    CHECK_INT(ids[1], c);
    /* c done does not free b; a done does */
    CHECK_INT(finish(s, c, seqs[1], STORE_JOB_DONE, 0, 0, now), 0);
    CHECK_INT(claim_ids(s, "w2", now, 10, ids + 8, NULL), 0);
    CHECK_INT(finish(s, a, seqs[0], STORE_JOB_DONE, 0, 0, now), 0);
    n = claim_ids(s, "w2", now, 10, ids, seqs);
    CHECK_INT(n, 1);
    CHECK_INT(ids[0], b);
    CHECK_INT(finish(s, b, seqs[0], STORE_JOB_DONE, 0, 0, now), 0);

    /* dead also unblocks */
    a = enq(s, "g3", now), b = enq(s, "g3", now);
    CHECK_INT(claim_ids(s, "w1", now, 10, ids, seqs), 1);
    CHECK_INT(ids[0], a);
    CHECK_INT(finish(s, a, seqs[0], STORE_JOB_DEAD, 0, 0, now), 0);
    CHECK_INT(job_state(s, a), STORE_JOB_DEAD);
    CHECK_INT(claim_ids(s, "w1", now, 10, ids, seqs), 1);
    CHECK_INT(ids[0], b);
    CHECK_INT(finish(s, b, seqs[0], STORE_JOB_DONE, 0, 0, now), 0);

    /* several groups: d{x,y} blocks e{y} and f{x}; g{z} runs; h{y} waits for e too */
    int64_t d = enq(s, "x,y", now), e = enq(s, "y", now), f = enq(s, "x", now),
            g = enq(s, "z", now), h = enq(s, "y", now);
    n = claim_ids(s, "w1", now, 10, ids, seqs);
    CHECK_INT(n, 2);
    CHECK(has_id(ids, n, d) && has_id(ids, n, g));
    for (size_t i = 0; i < n; i++)
        CHECK_INT(finish(s, ids[i], seqs[i], STORE_JOB_DONE, 0, 0, now), 0);
    n = claim_ids(s, "w1", now, 10, ids, seqs);
    CHECK_INT(n, 2); /* e and f; h is behind e */
    CHECK(has_id(ids, n, e) && has_id(ids, n, f) && !has_id(ids, n, h));
    for (size_t i = 0; i < n; i++)
        CHECK_INT(finish(s, ids[i], seqs[i], STORE_JOB_DONE, 0, 0, now), 0);
    CHECK_INT(claim_ids(s, "w1", now, 10, ids, seqs), 1);
    CHECK_INT(ids[0], h);
    CHECK_INT(finish(s, h, seqs[0], STORE_JOB_DONE, 0, 0, now), 0);

    /* one job per claim: two workers take different groups at once */
    a = enq(s, "p", now), b = enq(s, "p", now), c = enq(s, "q", now);
    int64_t i1[4], i2[4], s1[4], s2[4];
    CHECK_INT(claim_ids(s, "w1", now, 1, i1, s1), 1);
    CHECK_INT(claim_ids(s, "w2", now, 1, i2, s2), 1);
    CHECK_INT(i1[0], a);
    CHECK_INT(i2[0], c);
    CHECK_INT(claim_ids(s, "w3", now, 1, ids, NULL), 0);
    CHECK_INT(finish(s, a, s1[0], STORE_JOB_DONE, 0, 0, now), 0);
    CHECK_INT(finish(s, c, s2[0], STORE_JOB_DONE, 0, 0, now), 0);
    CHECK_INT(claim_ids(s, "w3", now, 1, ids, seqs), 1);
    CHECK_INT(ids[0], b);
    CHECK_INT(finish(s, b, seqs[0], STORE_JOB_DONE, 0, 0, now), 0);

    /* groups are per tenant: beta's "shared" does not wait for acme's */
    a = enq(s, "shared", now);
    job_spec sb = {.tenant = "beta", .groups = "shared"};
    CHECK_INT(enqueue_specs(s, &sb, 1, 0, 0, now, NULL, &b), LORE_OK);
    CHECK_INT(claim_ids(s, "w1", now, 10, i1, s1), 1); /* one tenant per claim */
    CHECK_INT(claim_ids(s, "w2", now, 10, i2, s2), 1);
    CHECK_INT(i1[0], a);
    CHECK_INT(i2[0], b);
    CHECK_INT(finish(s, i1[0], s1[0], STORE_JOB_DONE, 0, 0, now), 0);
    CHECK_INT(finish(s, i2[0], s2[0], STORE_JOB_DONE, 0, 0, now), 0);
    CHECK_INT(pending(s, NULL), 0);
}

/* A failed job waiting for its next attempt keeps blocking its group. */
static void test_retry_later_blocks(store *s) {
    int64_t now = T0 + 200000;
    int64_t a = enq(s, "rl", now), b = enq(s, "rl", now);
    int64_t ids[8], seqs[8];
    CHECK_INT(claim_ids(s, "w1", now, 10, ids, seqs), 1);
    CHECK_INT(ids[0], a);
    CHECK_INT(finish(s, a, seqs[0], STORE_JOB_READY, now + 500, 0, now + 1), 0);
    store_job *j = NULL;
    CHECK_INT(store_job_get(s, NULL, a, 0, &j), LORE_OK);
    CHECK_INT(j->state, STORE_JOB_READY);
    CHECK_INT(j->attempts, 1);
    CHECK_INT(j->visible_ms, now + 500);
    CHECK_STR(j->error, "it broke");
    store_job_free(j);
    /* a is not visible yet and b is behind it: nothing runs */
    CHECK_INT(claim_ids(s, "w2", now + 2, 10, ids, NULL), 0);
    CHECK_INT(claim_ids(s, "w2", now + 499, 10, ids, NULL), 0);
    CHECK_INT(job_state(s, b), STORE_JOB_READY);
    CHECK_INT(claim_ids(s, "w2", now + 500, 10, ids, seqs), 1);
    CHECK_INT(ids[0], a);
    CHECK_INT(job_attempts(s, a), 2);
    /* released (put back without an attempt): still first in line */
    CHECK_INT(finish(s, a, seqs[0], STORE_JOB_READY, 0, 1, now + 501), 0);
    CHECK_INT(job_attempts(s, a), 1);
    CHECK_INT(claim_ids(s, "w2", now + 501, 10, ids, seqs), 1);
    CHECK_INT(ids[0], a);
    CHECK_INT(job_attempts(s, a), 2);
    CHECK_INT(finish(s, a, seqs[0], STORE_JOB_DONE, 0, 0, now + 502), 0);
    CHECK_INT(claim_ids(s, "w2", now + 502, 10, ids, seqs), 1);
    CHECK_INT(ids[0], b);
    CHECK_INT(finish(s, b, seqs[0], STORE_JOB_DONE, 0, 0, now + 503), 0);
}

static void test_dedup(store *s) {
    int64_t now = T0 + 300000;
    size_t before = count_jobs(s, NULL, -1);
    job_spec sp = {.groups = "dd", .dedup = "delivery-1", .payload = "{\"v\":1}"};
    int64_t id1 = 0, id2 = 0;
    store_enqueue_outcome o;
    CHECK_INT(enqueue_specs(s, &sp, 1, 0, 0, now, &o, &id1), LORE_OK);
    CHECK_INT(o, STORE_ENQUEUED);
    sp.payload = "{\"v\":2}";
    CHECK_INT(enqueue_specs(s, &sp, 1, 0, 0, now + 10, &o, &id2), LORE_OK);
    CHECK_INT(o, STORE_ENQUEUE_DUPLICATE);
    CHECK_INT(id2, id1);
    CHECK_INT(count_jobs(s, NULL, -1), before + 1);
    CHECK_INT(pending(s, "acme"), 1);
    store_job *j = NULL;
    CHECK_INT(store_job_get(s, NULL, id1, 1, &j), LORE_OK);
    CHECK_STR((const char *)j->payload, "{\"v\":1}"); /* the original's payload */
    store_job_free(j);
    CHECK_INT(store_job_get_dedup(s, "acme", "delivery-1", &j), LORE_OK);
    CHECK_INT(j ? j->id : 0, id1);
    store_job_free(j);
    j = NULL;
    CHECK_INT(store_job_get_dedup(s, "acme", "delivery-2", &j), LORE_NOT_FOUND);
    CHECK_INT(store_job_get_dedup(s, "beta", "delivery-1", &j), LORE_NOT_FOUND);
    CHECK(j == NULL);
    /* the same key in another tenant is another job */
    job_spec sb = {.tenant = "beta", .groups = "dd", .dedup = "delivery-1"};
    int64_t idb = 0;
    CHECK_INT(enqueue_specs(s, &sb, 1, 0, 0, now, &o, &idb), LORE_OK);
    CHECK_INT(o, STORE_ENQUEUED);
    CHECK(idb != id1);
    /* still a duplicate once the job is done */
    drain(s, now + 20);
    CHECK_INT(job_state(s, id1), STORE_JOB_DONE);
    CHECK_INT(enqueue_specs(s, &sp, 1, 0, 0, now + 30, &o, &id2), LORE_OK);
    CHECK_INT(o, STORE_ENQUEUE_DUPLICATE);
    CHECK_INT(id2, id1);
    CHECK_INT(count_jobs(s, NULL, -1), before + 2);
    CHECK_INT(pending(s, NULL), 0);
    /* a duplicate inside a multi-job enqueue: the others are added */
    job_spec two[2] = {{.groups = "dd", .dedup = "delivery-1"}, {.groups = "dd2"}};
    int64_t ids[2];
    CHECK_INT(enqueue_specs(s, two, 2, 0, 0, now + 40, &o, ids), LORE_OK);
    CHECK_INT(o, STORE_ENQUEUE_DUPLICATE);
    CHECK_INT(ids[0], id1);
    CHECK(ids[1] > idb);
    CHECK_INT(count_jobs(s, NULL, -1), before + 3);
    drain(s, now + 50);
}

/* A multi-job enqueue that would pass a cap adds nothing. */
static void test_caps(store *s) {
    int64_t now = T0 + 400000;
    size_t before = count_jobs(s, NULL, -1);
    store_enqueue_outcome o;
    job_spec two[2] = {{.groups = "c1"}, {.groups = "c2"}};
    job_spec three[3] = {{.groups = "c3"}, {.groups = "c4"}, {.groups = "c5"}};
    CHECK_INT(enqueue_specs(s, two, 2, 3, 0, now, &o, NULL), LORE_OK);
    CHECK_INT(o, STORE_ENQUEUED);
    CHECK_INT(pending(s, "acme"), 2);
    /* 2 + 2 > 3: refused whole */
    CHECK_INT(enqueue_specs(s, two, 2, 3, 0, now, &o, NULL), LORE_OK);
    CHECK_INT(o, STORE_ENQUEUE_TENANT_FULL);
    CHECK_INT(count_jobs(s, NULL, -1), before + 2);
    CHECK_INT(pending(s, "acme"), 2);
    job_spec keyed = {.groups = "c1", .dedup = "cap-key"};
    int64_t keyed_id = 0, id = 0;
    CHECK_INT(enqueue_specs(s, &keyed, 1, 3, 0, now, &o, &keyed_id), LORE_OK); /* 3 fits */
    CHECK_INT(o, STORE_ENQUEUED);
    CHECK_INT(enqueue_specs(s, two, 1, 3, 0, now, &o, NULL), LORE_OK);
    CHECK_INT(o, STORE_ENQUEUE_TENANT_FULL);
    /* a key already used answers with its job, full or not (the key comes
     * before the caps) */
    CHECK_INT(enqueue_specs(s, &keyed, 1, 3, 0, now, &o, &id), LORE_OK);
    CHECK_INT(o, STORE_ENQUEUE_DUPLICATE);
    CHECK_INT(id, keyed_id);
    /* the cap is per tenant: beta still has room */
    job_spec b2[2] = {{.tenant = "beta", .groups = "c1"}, {.tenant = "beta", .groups = "c2"}};
    CHECK_INT(enqueue_specs(s, b2, 2, 3, 0, now, &o, NULL), LORE_OK);
    CHECK_INT(o, STORE_ENQUEUED);
    CHECK_INT(pending(s, NULL), 5);
    /* total cap: 5 pending, cap 7, three more refused whole, two fit */
    CHECK_INT(enqueue_specs(s, three, 3, 0, 7, now, &o, NULL), LORE_OK);
    CHECK_INT(o, STORE_ENQUEUE_QUEUE_FULL);
    CHECK_INT(count_jobs(s, NULL, -1), before + 5);
    CHECK_INT(enqueue_specs(s, three, 2, 0, 7, now, &o, NULL), LORE_OK);
    CHECK_INT(o, STORE_ENQUEUED);
    CHECK_INT(enqueue_specs(s, three + 2, 1, 0, 7, now, &o, NULL), LORE_OK);
    CHECK_INT(o, STORE_ENQUEUE_QUEUE_FULL);
    CHECK_INT(enqueue_specs(s, &keyed, 1, 0, 7, now, &o, &id), LORE_OK);
    CHECK_INT(o, STORE_ENQUEUE_DUPLICATE);
    CHECK_INT(id, keyed_id);
    /* both caps passed: the tenant's is the one named */
    CHECK_INT(enqueue_specs(s, three + 2, 1, 3, 7, now, &o, NULL), LORE_OK);
    CHECK_INT(o, STORE_ENQUEUE_TENANT_FULL);
    CHECK_INT(count_jobs(s, NULL, -1), before + 7);
    /* leased jobs still count; done ones free their place */
    store_job *c = NULL;
    size_t n = claim(s, "w1", now, 1, &c);
    CHECK_INT(n, 1);
    CHECK_INT(pending(s, NULL), 7);
    CHECK_INT(enqueue_specs(s, three + 2, 1, 0, 7, now, &o, NULL), LORE_OK);
    CHECK_INT(o, STORE_ENQUEUE_QUEUE_FULL);
    CHECK_INT(finish(s, c[0].id, c[0].lease_seq, STORE_JOB_DONE, 0, 0, now), 0);
    store_jobs_free(c, n);
    CHECK_INT(pending(s, NULL), 6);
    CHECK_INT(enqueue_specs(s, three + 2, 1, 0, 7, now, &o, NULL), LORE_OK);
    CHECK_INT(o, STORE_ENQUEUED);
    CHECK_INT(count_jobs(s, NULL, -1), before + 8);
    drain(s, now);
    CHECK_INT(pending(s, NULL), 0);
}

/* An expired lease lets another worker claim; the old claim can neither
 * finish nor renew. */
static void test_lease_expiry(store *s) {
    int64_t now = T0 + 500000;
    int64_t a = enq(s, "le", now), b = enq(s, "le", now);
    int64_t ids[8], seqs[8];
    CHECK_INT(claim_ids(s, "w1", now, 10, ids, seqs), 1);
    int64_t seq1 = seqs[0];
    /* renewed while it runs: not expired at the first deadline */
    CHECK_INT(store_job_renew(s, a, seq1, now + 600 + LEASE), LORE_OK);
    CHECK_INT(claim_ids(s, "w2", now + LEASE, 10, ids, NULL), 0);
    CHECK_INT(claim_ids(s, "w2", now + 600 + LEASE - 1, 10, ids, NULL), 0);
    /* the worker hangs: at expiry w2 takes it over (b still waits) */
    int64_t t = now + 600 + LEASE;
    CHECK_INT(claim_ids(s, "w2", t, 10, ids, seqs), 1);
    CHECK_INT(ids[0], a);
    int64_t seq2 = seqs[0];
    CHECK(seq2 > seq1);
    store_job *j = NULL;
    CHECK_INT(store_job_get(s, NULL, a, 0, &j), LORE_OK);
    CHECK_INT(j->attempts, 2); /* the lost lease counted */
    CHECK_STR(j->worker, "w2");
    CHECK_INT(j->state, STORE_JOB_LEASED);
    store_job_free(j);
    /* w1 wakes up: its renewal and its outcome are refused */
    CHECK_INT(store_job_renew(s, a, seq1, t + 5000), LORE_NOT_FOUND);
    CHECK_INT(finish(s, a, seq1, STORE_JOB_DONE, 0, 0, t + 1), 1);
    CHECK_INT(finish(s, a, seq1, STORE_JOB_DEAD, 0, 0, t + 1), 1);
    CHECK_INT(finish(s, a, seq1, STORE_JOB_READY, t + 2, 0, t + 1), 1);
    CHECK_INT(job_state(s, a), STORE_JOB_LEASED);
    CHECK_INT(claim_ids(s, "w3", t + 2, 10, ids, NULL), 0); /* b still behind a */
    CHECK_INT(store_job_renew(s, a, seq2, t + 2 + LEASE), LORE_OK);
    CHECK_INT(finish(s, a, seq2, STORE_JOB_DONE, 0, 0, t + 3), 0);
    CHECK_INT(job_state(s, a), STORE_JOB_DONE);
    CHECK_INT(store_job_renew(s, a, seq2, t + 5000), LORE_NOT_FOUND); /* finished */
    CHECK_INT(claim_ids(s, "w3", t + 3, 10, ids, seqs), 1);
    CHECK_INT(ids[0], b);
    CHECK_INT(finish(s, b, seqs[0], STORE_JOB_DONE, 0, 0, t + 4), 0);
}

/* A job whose every lease expired is dead-lettered, and its group moves on. */
static void test_attempts_by_expiry(store *s) {
    int64_t now = T0 + 600000;
    int64_t a = enq_attempts(s, "ex", 3, now), b = enq(s, "ex", now);
    int64_t ids[8], seqs[8];
    for (int i = 0; i < 3; i++) {
        CHECK_INT(claim_ids(s, "w", now + (int64_t)i * LEASE, 10, ids, seqs), 1);
        CHECK_INT(ids[0], a);
    }
    CHECK_INT(job_attempts(s, a), 3);
    /* the third lease expires: a is buried, b is claimed in the same call */
    CHECK_INT(claim_ids(s, "w", now + 3 * LEASE, 10, ids, seqs), 1);
    CHECK_INT(ids[0], b);
    store_job *j = NULL;
    CHECK_INT(store_job_get(s, NULL, a, 0, &j), LORE_OK);
    CHECK_INT(j->state, STORE_JOB_DEAD);
    CHECK_INT(j->attempts, 3);
    CHECK_INT(j->finished_ms, now + 3 * LEASE);
    CHECK(j->error && strstr(j->error, "lease expired"));
    store_job_free(j);
    CHECK_INT(finish(s, b, seqs[0], STORE_JOB_DONE, 0, 0, now + 3 * LEASE), 0);
}

/* Retry: a dead job goes back (attempts reset) and blocks its group again;
 * only dead jobs are retried. */
static void test_retry(store *s) {
    int64_t now = T0 + 700000;
    int64_t ids[8], seqs[8];
    int64_t a = enq(s, "rt", now);
    CHECK_INT(claim_ids(s, "w", now, 10, ids, seqs), 1);
    CHECK_INT(store_job_retry(s, NULL, a, now), LORE_INVALID); /* leased */
    CHECK_INT(finish(s, a, seqs[0], STORE_JOB_DEAD, 0, 0, now), 0);
    CHECK_INT(pending(s, "acme"), 0);
    int64_t b = enq(s, "rt", now + 1); /* runs at once: a is dead */
    int64_t c = enq(s, "rt", now + 1);
    CHECK_INT(store_job_retry(s, NULL, b, now), LORE_INVALID); /* ready */
    CHECK_INT(store_job_retry(s, "beta", a, now), LORE_NOT_FOUND);
    CHECK_INT(store_job_retry(s, NULL, 987654, now), LORE_NOT_FOUND);
    CHECK_INT(store_job_retry(s, "acme", a, now + 2), LORE_OK);
    store_job *j = NULL;
    CHECK_INT(store_job_get(s, NULL, a, 0, &j), LORE_OK);
    CHECK_INT(j->state, STORE_JOB_READY);
    CHECK_INT(j->attempts, 0);
    CHECK_INT(j->finished_ms, 0);
    CHECK_INT(j->visible_ms, now + 2);
    CHECK_STR(j->error, "it broke"); /* kept until it runs */
    store_job_free(j);
    CHECK_INT(pending(s, "acme"), 3);
    CHECK_INT(store_job_retry(s, NULL, a, now + 2), LORE_INVALID); /* not dead any more */
    /* a is first in its group again: b and c wait for it */
    CHECK_INT(claim_ids(s, "w", now + 3, 10, ids, seqs), 1);
    CHECK_INT(ids[0], a);
    CHECK_INT(job_attempts(s, a), 1);
    CHECK_INT(finish(s, a, seqs[0], STORE_JOB_DONE, 0, 0, now + 4), 0);
    CHECK_INT(store_job_retry(s, NULL, a, now + 5), LORE_INVALID); /* done */
    CHECK_INT(claim_ids(s, "w", now + 5, 10, ids, seqs), 1);
    CHECK_INT(ids[0], b);
    /* a job retried while a later one of its group is running waits for it:
     * two jobs of one group never run at once */
    int64_t d = enq(s, "rt2", now + 6), e = enq(s, "rt2", now + 6);
    int64_t i2[8], s2[8];
    CHECK_INT(claim_ids(s, "w", now + 6, 1, i2, s2), 1);
    CHECK_INT(i2[0], d);
    CHECK_INT(finish(s, d, s2[0], STORE_JOB_DEAD, 0, 0, now + 6), 0);
    CHECK_INT(claim_ids(s, "w", now + 7, 1, i2, s2), 1);
    CHECK_INT(i2[0], e);
    CHECK_INT(store_job_retry(s, NULL, d, now + 8), LORE_OK);
    CHECK_INT(claim_ids(s, "w2", now + 9, 10, ids + 4, NULL), 0); /* e (rt2) and c (rt) run */
    CHECK_INT(job_state(s, d), STORE_JOB_READY);
    CHECK_INT(finish(s, e, s2[0], STORE_JOB_DONE, 0, 0, now + 10), 0);
    CHECK_INT(finish(s, b, seqs[0], STORE_JOB_DONE, 0, 0, now + 10), 0);
    store_job *cl = NULL;
    size_t n = claim(s, "w2", now + 11, 10, &cl);
    CHECK_INT(n, 2);
    for (size_t i = 0; i < n; i++) {
        CHECK(cl[i].id == d || cl[i].id == c);
        CHECK_INT(finish(s, cl[i].id, cl[i].lease_seq, STORE_JOB_DONE, 0, 0, now + 12), 0);
    }
    store_jobs_free(cl, n);
    CHECK_INT(pending(s, NULL), 0);
}

typedef struct blob_log {
    char names[16][64];
    size_t n;
} blob_log;

static void on_blob(void *ctx, const char *tenant, const char *blob) {
    blob_log *l = ctx;
    if (l->n < 16) snprintf(l->names[l->n++], 64, "%s:%s", tenant, blob);
}

static int logged(const blob_log *l, const char *name) {
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->names[i], name)) return 1;
    return 0;
}

/* Purge deletes finished jobs by state and age (and tells about blobs). */
static void test_purge(store *s) {
    int64_t deleted = -1;
    /* start from a clean table */
    CHECK_INT(store_job_purge(s, NULL, -1, INT64_MAX, NULL, NULL, &deleted), LORE_OK);
    CHECK_INT(count_jobs(s, NULL, -1), 0);
    int64_t now = T0 + 800000;
    job_spec sp[5] = {
        {.groups = "pu1", .blob = "doc-aaaa"},                   /* done at now */
        {.groups = "pu2", .blob = "doc-bbbb"},                   /* dead at now */
        {.groups = "pu3"},                                       /* done at now + 1000 */
        {.groups = "pu4", .blob = "doc-cccc"},                   /* stays ready */
        {.tenant = "beta", .groups = "pu5", .blob = "doc-dddd"}, /* done at now */
    };
    int64_t ids[5];
    CHECK_INT(enqueue_specs(s, sp + 4, 1, 0, 0, now, NULL, ids + 4), LORE_OK);
    CHECK_INT(enqueue_specs(s, sp, 4, 0, 0, now, NULL, ids), LORE_OK);
    store_job *bj = NULL; /* the blob name is kept with its job, per tenant */
    CHECK_INT(store_job_get(s, "acme", ids[0], 0, &bj), LORE_OK);
    CHECK_STR(bj && bj->blob ? bj->blob : "", "doc-aaaa");
    store_job_free(bj);
    CHECK_INT(store_job_get(s, "beta", ids[0], 0, &bj), LORE_NOT_FOUND);
    int64_t c[8], sq[8];
    size_t n = claim_ids(s, "w", now, 10, c, sq); /* beta's, the oldest tenant */
    CHECK_INT(n, 1);
    CHECK_INT(c[0], ids[4]);
    CHECK_INT(finish(s, c[0], sq[0], STORE_JOB_DONE, 0, 0, now), 0);
    n = claim_ids(s, "w", now, 3, c, sq); /* pu4 is left ready */
    CHECK_INT(n, 3);
    for (size_t i = 0; i < n; i++) {
        int st = c[i] == ids[1] ? STORE_JOB_DEAD : STORE_JOB_DONE;
        CHECK_INT(finish(s, c[i], sq[i], st, 0, 0, c[i] == ids[2] ? now + 1000 : now), 0);
    }

    blob_log log = {0};
    CHECK_INT(store_job_purge(s, NULL, STORE_JOB_READY, now + 5000, on_blob, &log, &deleted),
              LORE_INVALID);
    /* done, acme, finished before now + 1: pu1 only (pu3 is newer, beta excluded) */
    CHECK_INT(store_job_purge(s, "acme", STORE_JOB_DONE, now + 1, on_blob, &log, &deleted),
              LORE_OK);
    CHECK_INT(deleted, 1);
    CHECK_INT(log.n, 1);
    CHECK(logged(&log, "acme:doc-aaaa"));
    CHECK_INT(job_state(s, ids[0]), -1);
    CHECK_INT(job_state(s, ids[1]), STORE_JOB_DEAD);
    CHECK_INT(job_state(s, ids[2]), STORE_JOB_DONE);
    /* dead, any tenant */
    CHECK_INT(store_job_purge(s, NULL, STORE_JOB_DEAD, now + 5000, on_blob, &log, &deleted),
              LORE_OK);
    CHECK_INT(deleted, 1);
    CHECK(logged(&log, "acme:doc-bbbb"));
    CHECK_INT(job_state(s, ids[1]), -1);
    /* both states, everything finished: pu3 and beta's; the ready job stays */
    CHECK_INT(store_job_purge(s, NULL, -1, now + 5000, on_blob, &log, &deleted), LORE_OK);
    CHECK_INT(deleted, 2);
    CHECK_INT(log.n, 3);
    CHECK(logged(&log, "beta:doc-dddd"));
    CHECK(!logged(&log, "acme:doc-cccc"));
    CHECK_INT(job_state(s, ids[3]), STORE_JOB_READY);
    CHECK_INT(count_jobs(s, NULL, -1), 1);
    CHECK_INT(store_job_purge(s, NULL, -1, now + 5000, on_blob, &log, &deleted), LORE_OK);
    CHECK_INT(deleted, 0);
    drain(s, now);
    CHECK_INT(store_job_purge(s, NULL, -1, INT64_MAX, NULL, NULL, &deleted), LORE_OK);
    CHECK_INT(deleted, 1);
    /* a purged job's dedup key may be used again */
    job_spec k = {.groups = "pk", .dedup = "purged-key"};
    int64_t k1 = 0, k2 = 0;
    store_enqueue_outcome o;
    CHECK_INT(enqueue_specs(s, &k, 1, 0, 0, now, &o, &k1), LORE_OK);
    drain(s, now);
    CHECK_INT(enqueue_specs(s, &k, 1, 0, 0, now, &o, &k2), LORE_OK);
    CHECK_INT(o, STORE_ENQUEUE_DUPLICATE);
    CHECK_INT(store_job_purge(s, NULL, STORE_JOB_DONE, now + 1, NULL, NULL, &deleted), LORE_OK);
    CHECK_INT(deleted, 1);
    CHECK_INT(enqueue_specs(s, &k, 1, 0, 0, now, &o, &k2), LORE_OK);
    CHECK_INT(o, STORE_ENQUEUED);
    CHECK(k2 > k1);
    drain(s, now);
    CHECK_INT(store_job_purge(s, NULL, -1, INT64_MAX, NULL, NULL, &deleted), LORE_OK);
}

static int64_t count_of(const store_job_count *c, size_t n, const char *tenant, const char *kind,
                        int state) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(c[i].tenant, tenant) && !strcmp(c[i].kind, kind) && c[i].state == state)
            return c[i].count;
    return 0;
}

static void test_counts(store *s) {
    int64_t now = T0 + 900000;
    job_spec sp[5] = {{.groups = "k1"},
                      {.groups = "k2", .kind = "delete"},
                      {.groups = "k3", .kind = "delete"},
                      {.groups = "k4"},
                      {.tenant = "beta", .groups = "k1", .kind = "file", .blob = "up-1"}};
    int64_t ids[5];
    CHECK_INT(enqueue_specs(s, sp, 1, 0, 0, now, NULL, ids), LORE_OK);
    CHECK_INT(enqueue_specs(s, sp + 1, 3, 0, 0, now + 10, NULL, ids + 1), LORE_OK);
    CHECK_INT(enqueue_specs(s, sp + 4, 1, 0, 0, now + 20, NULL, ids + 4), LORE_OK);
    int64_t oldest = 0, n = 0;
    CHECK_INT(store_job_pending(s, NULL, now + 30, &oldest, &n), LORE_OK);
    CHECK_INT(n, 5);
    CHECK_INT(oldest, now);
    CHECK_INT(store_job_pending(s, "beta", now + 30, &oldest, &n), LORE_OK);
    CHECK_INT(n, 1);
    CHECK_INT(oldest, now + 20);
    /* claim acme's first two (k1 documents, k2 delete); kill k2 */
    int64_t c[8], sq[8];
    CHECK_INT(claim_ids(s, "w", now + 30, 2, c, sq), 2);
    CHECK_INT(c[0], ids[0]);
    CHECK_INT(c[1], ids[1]);
    CHECK_INT(finish(s, c[1], sq[1], STORE_JOB_DEAD, 0, 0, now + 31), 0);
    store_job_count *cnt = NULL;
    size_t nc = 0;
    CHECK_INT(store_job_counts(s, &cnt, &nc), LORE_OK);
    CHECK_INT(count_of(cnt, nc, "acme", "documents", STORE_JOB_LEASED), 1);
    CHECK_INT(count_of(cnt, nc, "acme", "documents", STORE_JOB_READY), 1);
    CHECK_INT(count_of(cnt, nc, "acme", "delete", STORE_JOB_READY), 1);
    CHECK_INT(count_of(cnt, nc, "acme", "delete", STORE_JOB_DEAD), 1);
    CHECK_INT(count_of(cnt, nc, "beta", "file", STORE_JOB_READY), 1);
    int64_t total = 0;
    for (size_t i = 0; i < nc; i++)
        total += cnt[i].count;
    CHECK_INT(total, 5);
    free(cnt);
    /* oldest runnable ready: k1 is leased now, so k3/k4's time */
    CHECK_INT(store_job_pending(s, "acme", now + 40, &oldest, &n), LORE_OK);
    CHECK_INT(n, 3);
    CHECK_INT(oldest, now + 10);
    CHECK_INT(finish(s, c[0], sq[0], STORE_JOB_DONE, 0, 0, now + 41), 0);
    drain(s, now + 50);
    CHECK_INT(store_job_pending(s, NULL, now + 60, &oldest, &n), LORE_OK);
    CHECK_INT(n, 0);
    CHECK_INT(oldest, 0);
    CHECK_INT(store_job_counts(s, &cnt, &nc), LORE_OK);
    CHECK_INT(nc, 1); /* only the dead delete is left to count */
    free(cnt);
    int64_t deleted;
    CHECK_INT(store_job_purge(s, NULL, -1, INT64_MAX, NULL, NULL, &deleted), LORE_OK);
}

/* Deleting a tenant deletes its jobs; the name re-created starts clean. */
static void test_tenant_delete(store *s) {
    int64_t now = T0 + 1000000;
    CHECK_INT(store_tenant_create(s, "gone"), LORE_OK);
    job_spec sp[3] = {{.tenant = "gone", .groups = "tg"},
                      {.tenant = "gone", .groups = "tg", .dedup = "once"},
                      {.tenant = "gone", .groups = "tg2"}};
    int64_t ids[3];
    CHECK_INT(enqueue_specs(s, sp, 3, 0, 0, now, NULL, ids), LORE_OK);
    int64_t other = enq(s, "tg", now);
    int64_t c[8], sq[8];
    store_job *cl = NULL;
    size_t n = claim(s, "w", now, 1, &cl); /* gone's first job: oldest */
    CHECK_INT(n, 1);
    CHECK_INT(cl[0].id, ids[0]);
    CHECK_INT(pending(s, "gone"), 3);
    CHECK_INT(pending(s, NULL), 4);
    CHECK_INT(store_tenant_delete(s, "gone"), LORE_OK);
    CHECK_INT(count_jobs(s, "gone", -1), 0);
    CHECK_INT(job_state(s, ids[0]), -1);
    CHECK_INT(pending(s, "gone"), 0);
    CHECK_INT(pending(s, NULL), 1);
    /* the worker that held a lease learns it is lost */
    CHECK_INT(finish(s, cl[0].id, cl[0].lease_seq, STORE_JOB_DONE, 0, 0, now + 1), 1);
    store_jobs_free(cl, n);
    /* a tenant of the same name: no old job blocks it or dedups it */
    CHECK_INT(store_tenant_create(s, "gone"), LORE_OK);
    job_spec again = {.tenant = "gone", .groups = "tg", .dedup = "once"};
    int64_t id = 0;
    store_enqueue_outcome o;
    CHECK_INT(enqueue_specs(s, &again, 1, 0, 0, now + 2, &o, &id), LORE_OK);
    CHECK_INT(o, STORE_ENQUEUED);
    CHECK(id > ids[2]); /* ids are never reused */
    n = claim_ids(s, "w", now + 2, 10, c, sq);
    CHECK_INT(n, 1);
    CHECK_INT(c[0], other);
    CHECK_INT(finish(s, c[0], sq[0], STORE_JOB_DONE, 0, 0, now + 3), 0);
    n = claim_ids(s, "w", now + 3, 10, c, sq);
    CHECK_INT(n, 1);
    CHECK_INT(c[0], id);
    CHECK_INT(finish(s, c[0], sq[0], STORE_JOB_DONE, 0, 0, now + 3), 0);
    CHECK_INT(store_tenant_delete(s, "gone"), LORE_OK);
    CHECK_INT(pending(s, NULL), 0);
}

/* Claim batching: a job of weight STORE_JOB_ALONE (a re-index) alone, the
 * weight bound (first job always), max_jobs. */
static void test_batching(store *s) {
    int64_t now = T0 + 1100000;
    job_spec sp[5] = {{.groups = "b1", .weight = 600},
                      {.groups = "b2", .weight = 600},
                      {.groups = "reindex", .kind = "reindex", .weight = STORE_JOB_ALONE},
                      {.groups = "b3", .weight = 10},
                      {.groups = "b4", .weight = 10}};
    int64_t ids[5];
    CHECK_INT(enqueue_specs(s, sp, 5, 0, 0, now, NULL, ids), LORE_OK);
    store_job *c = NULL;
    size_t n = 0;
    CHECK_INT(store_job_claim(s, "w", now, LEASE, 10, 1000, &c, &n), LORE_OK);
    CHECK_INT(n, 3); /* b1, then b2 too heavy, reindex alone, b3 and b4 fit */
    CHECK_INT(c[0].id, ids[0]);
    CHECK_INT(c[1].id, ids[3]);
    CHECK_INT(c[2].id, ids[4]);
    for (size_t i = 0; i < n; i++)
        CHECK_INT(finish(s, c[i].id, c[i].lease_seq, STORE_JOB_DONE, 0, 0, now), 0);
    store_jobs_free(c, n);
    CHECK_INT(store_job_claim(s, "w", now, LEASE, 10, 100, &c, &n), LORE_OK);
    CHECK_INT(n, 1); /* b2 alone: heavier than the bound, taken anyway */
    CHECK_INT(c[0].id, ids[1]);
    CHECK_INT(finish(s, c[0].id, c[0].lease_seq, STORE_JOB_DONE, 0, 0, now), 0);
    store_jobs_free(c, n);
    CHECK_INT(store_job_claim(s, "w", now, LEASE, 10, INT64_MAX / 4, &c, &n), LORE_OK);
    CHECK_INT(n, 1);
    CHECK_STR(c[0].kind, "reindex");
    CHECK_INT(finish(s, c[0].id, c[0].lease_seq, STORE_JOB_DONE, 0, 0, now), 0);
    store_jobs_free(c, n);
    CHECK_INT(store_job_claim(s, "w", now, LEASE, 0, 100, &c, &n), LORE_OK);
    CHECK_INT(n, 0);
}

/* A claim reads its candidates in steps (pg_jobs_lease.c): one of 10 jobs
 * whose first candidate is acme's, then 60 of beta's, takes acme's 10 past
 * the first step, as one pass over the whole window does. */
static void test_window_steps(store *s) {
    int64_t now = T0 + 1200000;
    job_spec sp[16];
    memset(sp, 0, sizeof sp);
    char groups[16][32];
    for (int k = 0, made = 0; k < 6; k++) {
        size_t n = 0;
        for (; n < 16 && made < 90; n++, made++) {
            snprintf(groups[n], sizeof groups[n], "win%d", made);
            sp[n].groups = groups[n];
            sp[n].tenant = made == 0 || made > 60 ? "acme" : "beta";
        }
        if (n) CHECK_INT(enqueue_specs(s, sp, n, 0, 0, now, NULL, NULL), LORE_OK);
    }
    store_job *c = NULL;
    size_t n = 0;
    CHECK_INT(store_job_claim(s, "w", now, LEASE, 10, INT64_MAX / 4, &c, &n), LORE_OK);
    CHECK_INT(n, 10);
    for (size_t i = 0; i < n; i++) {
        CHECK_STR(c[i].tenant, "acme");
        CHECK_INT(finish(s, c[i].id, c[i].lease_seq, STORE_JOB_DONE, 0, 0, now), 0);
    }
    store_jobs_free(c, n);
    drain(s, now);
}

/* ---- randomized: many jobs over few groups, checked against a model ---- */

#define R_JOBS 1500
#define R_GROUPS 4
#define R_WORKERS 3
#define R_HELD 256
#define R_STEPS 12000

typedef struct mjob {
    int64_t id;
    int tenant; /* 0 acme, 1 beta */
    int groups[2];
    int ngroups;
    int state, attempts, max_attempts;
    int64_t seq, visible;
    int retried; /* was ever retried: its runs may come after later jobs */
    int64_t done_order;
} mjob;

typedef struct held {
    int64_t id, seq;
} held;

typedef struct model {
    mjob jobs[R_JOBS];
    size_t n;
    held held[R_HELD];
    size_t nheld;
    int64_t done_counter;
    int32_t pend[R_JOBS]; /* indexes of the pending jobs (a superset, see model_claim) */
    size_t npend;
} model;

/* Model index by job id (ids stay small in this test). */
#define R_MAX_ID 65536
static int32_t r_index[R_MAX_ID];

static mjob *mfind(model *m, int64_t id) {
    if (id <= 0 || id >= R_MAX_ID || !r_index[id]) return NULL;
    return &m->jobs[r_index[id] - 1];
}

static void madd(model *m, const mjob *j) {
    CHECK(j->id > 0 && j->id < R_MAX_ID);
    if (j->id <= 0 || j->id >= R_MAX_ID) return;
    m->jobs[m->n] = *j;
    r_index[j->id] = (int32_t)++m->n;
}

static int shares_group(const mjob *a, const mjob *b) {
    if (a->tenant != b->tenant) return 0;
    for (int i = 0; i < a->ngroups; i++)
        for (int k = 0; k < b->ngroups; k++)
            if (a->groups[i] == b->groups[k]) return 1;
    return 0;
}

static int mpending(const mjob *j) {
    return j->state == STORE_JOB_READY || j->state == STORE_JOB_LEASED;
}

/* The FIFO rule: j may start now if it is runnable, no earlier pending job
 * shares a group with it and no other job of its groups holds a live lease. */
static int mclaimable(const model *m, const mjob *j, int64_t now) {
    if (!mpending(j) || j->visible > now) return 0;
    for (size_t i = 0; i < m->npend; i++) {
        const mjob *o = &m->jobs[m->pend[i]];
        if (o == j || !mpending(o) || !shares_group(o, j)) continue;
        if (o->id < j->id) return 0;
        if (o->state == STORE_JOB_LEASED && o->visible > now) return 0;
    }
    return 1;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void held_drop(model *m, size_t i) {
    m->held[i] = m->held[--m->nheld];
}

typedef struct rstats {
    int claims, lost, buried, retried, dups;
} rstats;

/* One claim checked against the model: every job it returns, and every job
 * it dead-letters (leases all expired), must be legal when taken in id
 * order; and it must not come back empty while the model says a job could
 * run. Applies the claim to the model; returns the claimed jobs. */
static size_t model_claim(store *s, model *m, const char *worker, int64_t now, size_t maxj,
                          rstats *rs, store_job **out) {
    static const char *const tenants[2] = {"acme", "beta"};
    /* Jobs only leave the pending set during a claim (buried), so the list
     * made now stays a superset of it until the claim is applied. */
    m->npend = 0;
    for (size_t i = 0; i < m->n; i++)
        if (mpending(&m->jobs[i])) m->pend[m->npend++] = (int32_t)i;
    int anything = 0;
    for (size_t i = 0; i < m->npend && !anything; i++)
        anything = mclaimable(m, &m->jobs[m->pend[i]], now);
    store_job *c = NULL;
    size_t n = claim(s, worker, now, maxj, &c);
    CHECK(n <= maxj);
    static int64_t ev[R_JOBS + 8];
    size_t nev = 0;
    for (size_t i = 0; i < n; i++)
        ev[nev++] = c[i].id;
    for (size_t i = 0; i < m->npend; i++) {
        mjob *j = &m->jobs[m->pend[i]];
        if (j->state == STORE_JOB_LEASED && j->visible <= now && j->attempts >= j->max_attempts &&
            job_state(s, j->id) == STORE_JOB_DEAD)
            ev[nev++] = j->id;
    }
    qsort(ev, nev, sizeof *ev, cmp_i64);
    CHECK(!anything || nev > 0);
    for (size_t e = 0; e < nev; e++) {
        mjob *j = mfind(m, ev[e]);
        CHECK(j != NULL);
        if (!j) continue;
        if (!mclaimable(m, j, now))
            fprintf(stderr, "random: job %lld (%s) taken against the FIFO rule\n", (long long)j->id,
                    tenants[j->tenant]);
        CHECK(mclaimable(m, j, now));
        const store_job *got = NULL;
        for (size_t i = 0; i < n; i++)
            if (c[i].id == j->id) got = &c[i];
        if (!got) { /* buried */
            CHECK(j->state == STORE_JOB_LEASED && j->attempts >= j->max_attempts);
            j->state = STORE_JOB_DEAD;
            rs->buried++;
            continue;
        }
        /* an expired job out of attempts is buried, not run again */
        CHECK(!(j->state == STORE_JOB_LEASED && j->attempts >= j->max_attempts));
        j->state = STORE_JOB_LEASED;
        j->attempts++;
        j->seq++;
        j->visible = now + LEASE;
        CHECK_INT(got->attempts, j->attempts);
        CHECK_INT(got->lease_seq, j->seq);
        CHECK_STR(got->tenant, tenants[j->tenant]);
        rs->claims++;
    }
    for (size_t i = 1; i < n; i++) /* one tenant per claim */
        CHECK_STR(c[i].tenant, c[0].tenant);
    *out = c;
    return n;
}

/* Many jobs over few groups (two tenants, four groups each, some jobs in
 * two groups), with claims by three workers, outcomes of every kind (some
 * for leases already lost), renewals, leases left to expire, retries of
 * dead jobs and repeated dedup keys, interleaved at random. */
static void random_test(store *s) {
    test_seed();
    static model m;
    memset(&m, 0, sizeof m);
    static const char *const tenants[2] = {"acme", "beta"};
    static const char *const workers[R_WORKERS] = {"w0", "w1", "w2"};
    int64_t now = T0 + 10000000;
    int64_t deleted;
    CHECK_INT(store_job_purge(s, NULL, -1, INT64_MAX, NULL, NULL, &deleted), LORE_OK);
    rstats rs = {0};
    int failures = 0;
    char dedup_keys[64][32];
    int64_t dedup_ids[64];
    size_t ndedup = 0;
    for (int step = 0; step < R_STEPS && failures < 5; step++) {
        now += 1 + (int64_t)(test_rand() % 10);
        unsigned op = (unsigned)(test_rand() % 100);
        int before_failed = test_failed;
        if (op < 14) {
            if (m.n + 3 > R_JOBS) continue;
            /* enqueue 1..3 jobs of one tenant, sometimes with a dedup key */
            size_t k = 1 + (size_t)(test_rand() % 3);
            int tenant = (int)(test_rand() % 2);
            job_spec sp[3];
            char gbuf[3][32], key[32] = "";
            int reuse = -1;
            memset(sp, 0, sizeof sp);
            mjob nj[3];
            for (size_t i = 0; i < k; i++) {
                memset(&nj[i], 0, sizeof nj[i]);
                nj[i].tenant = tenant;
                nj[i].ngroups = 1 + (test_rand() % 4 == 0);
                nj[i].groups[0] = (int)(test_rand() % R_GROUPS);
                nj[i].groups[1] =
                    (nj[i].groups[0] + 1 + (int)(test_rand() % (R_GROUPS - 1))) % R_GROUPS;
                if (nj[i].ngroups == 2)
                    snprintf(gbuf[i], sizeof gbuf[i], "g%d,g%d", nj[i].groups[0], nj[i].groups[1]);
                else
                    snprintf(gbuf[i], sizeof gbuf[i], "g%d", nj[i].groups[0]);
                nj[i].max_attempts = 1 + (int)(test_rand() % 3);
                sp[i].tenant = tenants[tenant];
                sp[i].groups = gbuf[i];
                sp[i].max_attempts = nj[i].max_attempts;
            }
            if (k == 1 && test_rand() % 4 == 0) {
                if (ndedup && test_rand() % 2) {
                    reuse = (int)(test_rand() % ndedup);
                    if (mfind(&m, dedup_ids[reuse])->tenant == tenant)
                        snprintf(key, sizeof key, "%s", dedup_keys[reuse]);
                    else
                        reuse = -1; /* keys are per tenant */
                } else if (ndedup < 64) {
                    snprintf(key, sizeof key, "key-%zu", ndedup);
                }
                if (key[0]) sp[0].dedup = key;
            }
            int64_t ids[3];
            store_enqueue_outcome o;
            CHECK_INT(enqueue_specs(s, sp, k, 0, 0, now, &o, ids), LORE_OK);
            if (reuse >= 0) {
                CHECK_INT(o, STORE_ENQUEUE_DUPLICATE);
                CHECK_INT(ids[0], dedup_ids[reuse]);
                rs.dups++;
            } else {
                CHECK_INT(o, STORE_ENQUEUED);
                for (size_t i = 0; i < k; i++) {
                    nj[i].id = ids[i];
                    nj[i].state = STORE_JOB_READY;
                    nj[i].visible = now;
                    madd(&m, &nj[i]);
                }
                if (sp[0].dedup) {
                    snprintf(dedup_keys[ndedup], sizeof dedup_keys[ndedup], "%s", key);
                    dedup_ids[ndedup++] = ids[0];
                }
            }
        } else if (op < 44) {
            store_job *c = NULL;
            size_t n = model_claim(s, &m, workers[test_rand() % R_WORKERS], now,
                                   1 + (size_t)(test_rand() % 4), &rs, &c);
            for (size_t i = 0; i < n && m.nheld < R_HELD; i++)
                m.held[m.nheld++] = (held){c[i].id, c[i].lease_seq};
            store_jobs_free(c, n);
        } else if (op < 74) {
            if (!m.nheld) continue;
            /* a worker reports an outcome, perhaps for a lease it lost */
            size_t hi = (size_t)(test_rand() % m.nheld);
            held h = m.held[hi];
            held_drop(&m, hi);
            mjob *j = mfind(&m, h.id);
            int valid = j->state == STORE_JOB_LEASED && j->seq == h.seq;
            unsigned r = (unsigned)(test_rand() % 10);
            int state = r < 6 ? STORE_JOB_DONE : r < 7 ? STORE_JOB_DEAD : STORE_JOB_READY;
            int release = r == 9;
            /* A release runs again at once (visible 0) or waits (a delay). */
            int64_t vis = release && test_rand() % 2 ? 0 : now + (int64_t)(test_rand() % 300);
            int got = finish(s, h.id, h.seq, state, vis, release, now);
            CHECK_INT(got, !valid);
            if (got == 1) rs.lost++;
            if (valid) {
                j->state = state;
                if (state == STORE_JOB_READY) {
                    j->visible = release && vis < now ? now : vis;
                    if (release && j->attempts > 0) j->attempts--;
                }
                if (state == STORE_JOB_DONE) j->done_order = ++m.done_counter;
            }
        } else if (op < 84) {
            if (!m.nheld) continue;
            size_t hi = (size_t)(test_rand() % m.nheld);
            held h = m.held[hi];
            mjob *j = mfind(&m, h.id);
            int valid = j->state == STORE_JOB_LEASED && j->seq == h.seq;
            lore_status st = store_job_renew(s, h.id, h.seq, now + LEASE);
            CHECK_INT(st, valid ? LORE_OK : LORE_NOT_FOUND);
            if (valid)
                j->visible = now + LEASE;
            else
                held_drop(&m, hi);
        } else if (op < 90) {
            if (!m.n) continue;
            /* retry a random job, or one of the dead ones: only dead ones go back */
            mjob *j = &m.jobs[test_rand() % m.n];
            size_t ndead = 0;
            for (size_t i = 0; i < m.n; i++)
                ndead += m.jobs[i].state == STORE_JOB_DEAD;
            if (ndead && test_rand() % 2) {
                size_t pick = (size_t)(test_rand() % ndead);
                for (size_t i = 0; i < m.n; i++)
                    if (m.jobs[i].state == STORE_JOB_DEAD && !pick--) j = &m.jobs[i];
            }
            lore_status st = store_job_retry(s, tenants[j->tenant], j->id, now);
            CHECK_INT(st, j->state == STORE_JOB_DEAD ? LORE_OK : LORE_INVALID);
            if (j->state == STORE_JOB_DEAD) {
                j->state = STORE_JOB_READY;
                j->attempts = 0;
                j->visible = now;
                j->retried = 1;
                j->done_order = 0;
                rs.retried++;
            }
        } else if (op < 99) {
            now += (int64_t)(test_rand() % (2 * LEASE)); /* leases expire */
        } else {
            /* the whole model against the store */
            store_job *all = NULL;
            size_t na = 0;
            CHECK_INT(store_job_list(s, NULL, -1, 0, R_JOBS + 8, &all, &na), LORE_OK);
            CHECK_INT(na, m.n);
            for (size_t i = 0; i < na; i++) {
                const mjob *j = mfind(&m, all[i].id);
                CHECK(j != NULL);
                if (!j) continue;
                CHECK_INT(all[i].state, j->state);
                CHECK_INT(all[i].attempts, j->attempts);
                CHECK_INT(all[i].lease_seq, j->seq);
            }
            store_jobs_free(all, na);
            int64_t np = 0;
            for (size_t i = 0; i < m.n; i++)
                np += mpending(&m.jobs[i]);
            CHECK_INT(pending(s, NULL), np);
        }
        if (test_failed != before_failed) {
            fprintf(stderr, "random: failure at step %d (op %u)\n", step, op);
            failures++;
        }
    }
    /* drain: every job runs to the end, time moving on so leases lapse */
    for (int round = 0; round < 100000 && !failures; round++) {
        now += LEASE;
        store_job *c = NULL;
        size_t n = model_claim(s, &m, "drain", now, 8, &rs, &c);
        for (size_t i = 0; i < n; i++) {
            mjob *j = mfind(&m, c[i].id);
            CHECK_INT(finish(s, c[i].id, c[i].lease_seq, STORE_JOB_DONE, 0, 0, now), 0);
            j->state = STORE_JOB_DONE;
            j->done_order = ++m.done_counter;
        }
        store_jobs_free(c, n);
        int left = 0;
        for (size_t i = 0; i < m.n; i++)
            left |= mpending(&m.jobs[i]);
        if (!left) break;
    }
    CHECK_INT(pending(s, NULL), 0);
    /* the jobs of a group were done in id order (retried ones left out) */
    int order_ok = 1;
    for (size_t i = 0; i < m.n; i++)
        for (size_t k = i + 1; k < m.n; k++) {
            const mjob *a = &m.jobs[i], *b = &m.jobs[k];
            if (a->retried || b->retried || !shares_group(a, b)) continue;
            if (a->state != STORE_JOB_DONE || b->state != STORE_JOB_DONE) continue;
            if ((a->id < b->id) != (a->done_order < b->done_order)) order_ok = 0;
        }
    CHECK(order_ok);
    printf("random: %zu jobs, %d claims, %d lost outcomes, %d buried, %d retried, %d dedup "
           "hits\n",
           m.n, rs.claims, rs.lost, rs.buried, rs.retried, rs.dups);
}

int main(void) {
    printf("backend %s\n", store_fixture_backend());
    store_fixture f;
    store *s = NULL;
    if (store_fixture_init(&f) || store_fixture_open(&f, STORE_OPEN_CREATE, &s) != LORE_OK) {
        CHECK(0);
        return test_summary();
    }
    CHECK_INT(store_tenant_create(s, "acme"), LORE_OK);
    CHECK_INT(store_tenant_create(s, "beta"), LORE_OK);
    test_basic(s);
    test_fifo(s);
    test_retry_later_blocks(s);
    test_dedup(s);
    test_caps(s);
    test_lease_expiry(s);
    test_attempts_by_expiry(s);
    test_retry(s);
    test_purge(s);
    test_counts(s);
    test_tenant_delete(s);
    test_batching(s);
    test_window_steps(s);
    random_test(s);
    store_close(s);
    store_fixture_done(&f);
    return test_summary();
}
