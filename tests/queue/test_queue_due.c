/* A job the pool itself puts off (a release with a delay, a retry after its
 * backoff) is looked for when its delay ends, not at the next poll: with
 * the pool's polls a day apart (poll_ms, wake_poll_ms), a job released
 * three times and then failed once still runs to done. Nothing else could
 * wake the idle worker: SQLite sends no notifications, and no job is
 * enqueued meanwhile. The cap is generous (120 s); nothing is timed. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/queue.h"
#include "store/store.h"
#include "test.h"
#include "util/timeutil.h"

#define RELEASES 3
#define DELAY_MS 50
#define DAY_MS (24LL * 3600 * 1000)

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int runs;

static void run(void *ts, store *s, const store_job *jobs, size_t n, queue_result *res) {
    (void)ts;
    (void)s;
    (void)jobs;
    pthread_mutex_lock(&mu);
    int r = ++runs;
    pthread_mutex_unlock(&mu);
    for (size_t i = 0; i < n; i++) {
        if (r <= RELEASES) {
            res[i].release = 1;
            res[i].release_delay_ms = DELAY_MS;
        } else if (r == RELEASES + 1) {
            res[i].error = strdup("fails once"); /* a retry after the backoff */
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
    j.max_attempts = 3;
    store_enqueue_outcome o;
    CHECK(store_job_enqueue(s, &j, 1, 0, 0, lore_now_ms(), &o) == LORE_OK);

    queue_config c;
    queue_config_default(&c);
    c.poll_ms = DAY_MS;
    c.wake_poll_ms = DAY_MS;
    c.backoff_base_ms = DELAY_MS;
    c.backoff_max_ms = DELAY_MS;
    queue_handler h;
    memset(&h, 0, sizeof h);
    h.run = run;
    queue_pool *p = NULL;
    CHECK(queue_pool_start(dir, &c, 2, "due", &h, NULL, &p, err, sizeof err) == LORE_OK);
    int64_t until = lore_now_ms() + 120000;
    int state = -1;
    while (lore_now_ms() < until) {
        store_job *got = NULL;
        if (store_job_get(s, "a", j.id, 0, &got) == LORE_OK) {
            state = got->state;
            store_jobs_free(got, 1);
            if (state == STORE_JOB_DONE || state == STORE_JOB_DEAD) break;
        }
        usleep(10 * 1000);
    }
    queue_pool_stop(p);
    fprintf(stderr, "runs %d\n", runs);
    CHECK_INT(state, STORE_JOB_DONE);
    CHECK_INT(runs, RELEASES + 2);
    store_close(s);
    test_rmtree(dir);
    return test_summary();
}
