/* A claimed batch stops starting jobs once it has used its time
 * (batch_time_ms): the jobs that ran are done, the others are released
 * (back to the queue at once, no attempt counted), so a slow job holds up
 * only itself, not up to 63 neighbours in its transaction (issue 11).
 *
 * The handler runs on a batch claimed by the test. A negative budget means
 * "over it after the first job", so the check is deterministic; the default
 * budget runs a batch of small jobs whole, as before. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest_jobs.h"
#include "store/store.h"
#include "test.h"
#include "util/timeutil.h"

static const char *dir;

static void enqueue_doc(store *s, const char *tenant, const char *id) {
    json_t *docs = json_pack("[{s:s,s:s}]", "id", id, "text", "a short document");
    char *payload = ingest_job_documents_payload(NULL, docs);
    json_decref(docs);
    CHECK(payload != NULL);
    store_job j;
    memset(&j, 0, sizeof j);
    snprintf(j.tenant, sizeof j.tenant, "%s", tenant);
    snprintf(j.kind, sizeof j.kind, INGEST_JOB_DOCUMENTS);
    char *groups[1] = {(char *)id};
    j.groups = groups;
    j.ngroups = 1;
    j.payload = (uint8_t *)payload;
    j.payload_len = strlen(payload);
    j.max_attempts = 5;
    store_enqueue_outcome o;
    CHECK(store_job_enqueue(s, &j, 1, 0, 0, lore_now_ms(), &o) == LORE_OK);
    free(payload);
}

/* Queues 3 jobs for tenant, claims them and runs them with the budget. */
static void run_batch(const char *tenant, int64_t budget_ms, queue_result res[3]) {
    char err[256];
    store *s = NULL;
    CHECK(store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err) == LORE_OK);
    if (!s) return;
    for (int i = 0; i < 3; i++) {
        char id[32];
        snprintf(id, sizeof id, "doc%d", i);
        enqueue_doc(s, tenant, id);
    }
    store_job *jobs = NULL;
    size_t n = 0;
    CHECK(store_job_claim(s, "test", lore_now_ms(), 30000, 64, INT64_MAX / 4, &jobs, &n) ==
          LORE_OK);
    CHECK_INT(n, 3);
    ingest_job_settings js;
    memset(&js, 0, sizeof js);
    ingest_options_default(&js.ingest);
    tenant_settings_default(&js.tenant);
    js.batch_time_ms = budget_ms;
    queue_handler h;
    CHECK(ingest_job_handler(&js, &h) == LORE_OK);
    void *ts = h.thread_new(h.ctx, s);
    memset(res, 0, 3 * sizeof *res);
    if (n == 3) h.run(ts, s, jobs, n, res);
    /* record the outcomes, as the pool would, so the next case starts clean */
    store_job_outcome out[3];
    memset(out, 0, sizeof out);
    for (size_t i = 0; i < n && i < 3; i++) {
        out[i].id = jobs[i].id;
        out[i].lease_seq = jobs[i].lease_seq;
        out[i].state = res[i].ok ? STORE_JOB_DONE : STORE_JOB_READY;
        out[i].release = res[i].release;
        out[i].result = res[i].result;
        out[i].error = res[i].error;
    }
    CHECK(store_job_finish(s, out, n < 3 ? n : 3, lore_now_ms()) == LORE_OK);
    for (size_t i = 0; i < n && i < 3; i++) {
        store_job *j = NULL;
        CHECK(store_job_get(s, tenant, jobs[i].id, 0, &j) == LORE_OK);
        /* a released job has not used an attempt */
        if (j && res[i].release) CHECK_INT(j->attempts, 0);
        store_jobs_free(j, 1);
    }
    h.thread_free(ts);
    ingest_job_handler_free(&h);
    store_jobs_free(jobs, n);
    store_close(s);
}

int main(void) {
    dir = test_tmpdir();
    char err[256];
    store *s = NULL;
    CHECK(store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err) == LORE_OK);
    CHECK(store_tenant_create(s, "over") == LORE_OK);
    CHECK(store_tenant_create(s, "within") == LORE_OK);
    store_close(s);

    queue_result res[3];
    /* (first: the released jobs of the other case would be claimed first) */
    /* the default budget: small jobs run as one batch */
    run_batch("within", 0, res);
    for (int i = 0; i < 3; i++) {
        CHECK_INT(res[i].ok, 1);
        CHECK_INT(res[i].release, 0);
        free(res[i].result);
        free(res[i].error);
    }
    /* over the budget after the first job: it is done, the others released */
    run_batch("over", -1, res);
    CHECK_INT(res[0].ok, 1);
    CHECK(res[0].result && strstr(res[0].result, "\"added\""));
    for (int i = 1; i < 3; i++) {
        CHECK_INT(res[i].ok, 0);
        CHECK_INT(res[i].release, 1);
        CHECK(res[i].error == NULL);
    }
    for (int i = 0; i < 3; i++) {
        free(res[i].result);
        free(res[i].error);
    }
    test_rmtree(dir);
    return test_summary();
}
