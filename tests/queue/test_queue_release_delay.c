/* A handler that puts a job back with a delay (release_delay_ms: waiting on
 * something outside lore, such as an embedding provider that is down) uses
 * none of the job's attempts, however many times it does so, and the job is
 * not claimed again before the delay is over. A job with max_attempts 1
 * released ten times is still runnable, and runs when the handler lets it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/queue.h"
#include "store/store.h"
#include "test.h"
#include "util/timeutil.h"

#define RELEASES 10
#define DELAY_MS 60

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int runs;
static int64_t last_run_ms, min_gap_ms = INT64_MAX;

static void run(void *ts, store *s, const store_job *jobs, size_t n, queue_result *res) {
    (void)ts;
    (void)s;
    (void)jobs;
    pthread_mutex_lock(&mu);
    int64_t now = lore_now_ms();
    if (runs && now - last_run_ms < min_gap_ms) min_gap_ms = now - last_run_ms;
    last_run_ms = now;
    int r = ++runs;
    pthread_mutex_unlock(&mu);
    for (size_t i = 0; i < n; i++) {
        if (r <= RELEASES) {
            res[i].release = 1;
            res[i].release_delay_ms = DELAY_MS;
        } else {
            res[i].ok = 1;
        }
    }
}

int main(void) {
    const char *dir = test_tmpdir();
    char err[256];
    store *s = NULL;
    CHECK(store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err) == LORE_OK);
    CHECK(store_tenant_create(s, "a") == LORE_OK);
    store_job j;
    memset(&j, 0, sizeof j);
    snprintf(j.tenant, sizeof j.tenant, "a");
    snprintf(j.kind, sizeof j.kind, "embed");
    j.payload = (uint8_t *)"{}";
    j.payload_len = 2;
    j.max_attempts = 1; /* one failure would dead-letter it */
    store_enqueue_outcome o;
    CHECK(store_job_enqueue(s, &j, 1, 0, 0, lore_now_ms(), &o) == LORE_OK);

    queue_config c;
    queue_config_default(&c);
    c.poll_ms = 5;
    queue_handler h;
    memset(&h, 0, sizeof h);
    h.run = run;
    queue_pool *p = NULL;
    CHECK(queue_pool_start(dir, &c, 1, "delay", &h, NULL, &p, err, sizeof err) == LORE_OK);
    int64_t until = lore_now_ms() + 30000;
    int state = -1;
    while (lore_now_ms() < until) {
        store_job *got = NULL;
        if (store_job_get(s, "a", j.id, 0, &got) == LORE_OK) {
            state = got->state;
            if (state == STORE_JOB_DONE || state == STORE_JOB_DEAD) {
                CHECK_INT(got->attempts, 1); /* only the run that succeeded */
                store_jobs_free(got, 1);
                break;
            }
            store_jobs_free(got, 1);
        }
        usleep(10 * 1000);
    }
    queue_pool_stop(p);
    fprintf(stderr, "runs %d, shortest gap between runs %lld ms (delay %d ms)\n", runs,
            (long long)min_gap_ms, DELAY_MS);
    CHECK_INT(state, STORE_JOB_DONE);
    CHECK_INT(runs, RELEASES + 1);
    /* Never claimed again before its delay: a clock bound, not a speed one. */
    CHECK(min_gap_ms >= DELAY_MS);
    store_close(s);
    test_rmtree(dir);
    return test_summary();
}
