/* One tenant's slow job does not hold another tenant's write hostage
 * (issue 11: a 20 s Markdown parse made another tenant's one-line write
 * wait 7 s with both workers busy).
 *
 * Tenant "a" queues 70 jobs, then tenant "b" one. The handler takes a
 * mutex per tenant for the batch, as ingest_jobs.c does for a tenant's
 * writes, and blocks in a's first job until the test lets it go. With two
 * workers, the first claims a's first 64 jobs and blocks. Before fair
 * claims, the second claimed a's other 6 (the oldest runnable jobs) and
 * waited on a's mutex, so b's job waited for a's slow one. Now the second
 * passes over a (running on the other worker) and runs b's job while a's is
 * still held: the test checks b's job is done before it releases a's.
 *
 * Nothing depends on timing: b's job is done only if a worker other than
 * the blocked one claimed it, and the failure shows itself at once as a
 * second worker waiting on a's mutex (the handler notes it), so the test
 * waits for one or the other; the 240 s cap only bounds a hang. A
 * second case checks that a tenant's backlog past the claim scan window
 * (1,024 jobs) does not hide another tenant's job either. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/queue.h"
#include "store/store.h"
#include "test.h"
#include "util/timeutil.h"

static const char *dir;
static pthread_mutex_t tenant_mu[2] = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER};
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_open;
static int64_t slow_job; /* the job that blocks until the gate opens */
static int a_contended;  /* a second worker waited on a's mutex (atomic) */

static void run(void *ts, store *s, const store_job *jobs, size_t n, queue_result *res) {
    (void)ts;
    (void)s;
    pthread_mutex_t *mu = &tenant_mu[jobs[0].tenant[0] == 'b'];
    if (pthread_mutex_trylock(mu) != 0) {
        if (jobs[0].tenant[0] == 'a') __atomic_store_n(&a_contended, 1, __ATOMIC_SEQ_CST);
        pthread_mutex_lock(mu);
    }
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].id == slow_job) {
            pthread_mutex_lock(&gate_mu);
            while (!gate_open)
                pthread_cond_wait(&gate_cv, &gate_mu);
            pthread_mutex_unlock(&gate_mu);
        }
        res[i].ok = 1;
    }
    pthread_mutex_unlock(mu);
}

static int64_t enqueue(store *s, const char *tenant, int i) {
    store_job j;
    memset(&j, 0, sizeof j);
    snprintf(j.tenant, sizeof j.tenant, "%s", tenant);
    snprintf(j.kind, sizeof j.kind, "documents");
    char g[32];
    snprintf(g, sizeof g, "g%d", i);
    char *groups[1] = {g};
    j.groups = groups;
    j.ngroups = 1;
    j.payload = (uint8_t *)"{}";
    j.payload_len = 2;
    j.max_attempts = 5;
    store_enqueue_outcome o;
    CHECK(store_job_enqueue(s, &j, 1, 0, 0, lore_now_ms(), &o) == LORE_OK);
    return j.id;
}

static int job_state(store *s, const char *tenant, int64_t id) {
    store_job *j = NULL;
    if (store_job_get(s, tenant, id, 0, &j) != LORE_OK) return -1;
    int state = j->state;
    store_jobs_free(j, 1);
    return state;
}

/* Waits up to timeout_ms for the job to be done; gives up early (0) when
 * stop_on_contention and a second worker has waited on a's mutex. */
static int wait_done(store *s, const char *tenant, int64_t id, int64_t timeout_ms,
                     int stop_on_contention) {
    int64_t until = lore_now_ms() + timeout_ms;
    while (lore_now_ms() < until) {
        if (job_state(s, tenant, id) == STORE_JOB_DONE) return 1;
        /* Contention after b's job is fine (the free worker may fall back
         * to a's jobs once b's is done): b's state read after seeing it
         * decides. */
        if (stop_on_contention && __atomic_load_n(&a_contended, __ATOMIC_SEQ_CST))
            return job_state(s, tenant, id) == STORE_JOB_DONE;
        usleep(10 * 1000);
    }
    return 0;
}

static void run_case(int a_jobs) {
    char err[256];
    store *s = NULL;
    CHECK(store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err) == LORE_OK);
    if (!s) return;
    gate_open = 0;
    a_contended = 0;
    int64_t first_a = 0, last_a = 0;
    for (int i = 0; i < a_jobs; i++) {
        last_a = enqueue(s, "a", i);
        if (!i) first_a = last_a;
    }
    slow_job = first_a;
    int64_t b = enqueue(s, "b", 0);

    queue_config c;
    queue_config_default(&c);
    c.poll_ms = 10;
    queue_handler h;
    memset(&h, 0, sizeof h);
    h.run = run;
    queue_pool *p = NULL;
    CHECK(queue_pool_start(dir, &c, 2, "fair", &h, NULL, &p, err, sizeof err) == LORE_OK);

    int b_done = wait_done(s, "b", b, 240000, 1);
    /* a's first job cannot have finished: the gate is still closed */
    CHECK_INT(job_state(s, "a", first_a), STORE_JOB_LEASED);
    pthread_mutex_lock(&gate_mu);
    gate_open = 1;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
    fprintf(stderr, "  %d jobs of a: b's job %s while a's first job was held%s\n", a_jobs,
            b_done ? "done" : "NOT done",
            a_contended ? " (a second worker waited on a's mutex)" : "");
    CHECK(b_done);
    CHECK(wait_done(s, "a", last_a, 240000, 0));
    CHECK(wait_done(s, "a", first_a, 240000, 0));
    queue_pool_stop(p);
    store_close(s);
}

int main(void) {
    dir = test_tmpdir();
    char err[256];
    store *s = NULL;
    CHECK(store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err) == LORE_OK);
    CHECK(store_tenant_create(s, "a") == LORE_OK);
    CHECK(store_tenant_create(s, "b") == LORE_OK);
    store_close(s);

    run_case(70);   /* a's batch of 64 blocks; 6 more of a wait */
    run_case(1500); /* a's backlog fills the claim's scan window */

    test_rmtree(dir);
    return test_summary();
}
