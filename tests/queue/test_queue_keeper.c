/* The pool's lease keeper: it warns "lease taken over while running" only
 * for a job that another claim really took while the handler still ran,
 * never for one that just finished (its row no longer leased when the
 * keeper's renewal reaches it). bench/ingest.sh's runs printed the false
 * warning for whole batches (64 jobs at a time) before this was checked.
 *
 * The warnings are read from stderr (lore_log's sink), redirected to a file
 * for each case. The keeper renews every lease_ms / 3 = 100 ms. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/queue.h"
#include "store/store.h"
#include "test.h"
#include "util/timeutil.h"

static const char *dir;
static int steal;   /* the handler has another claim take its jobs first */
static int handled; /* jobs the handler saw */

static void run(void *ts, store *s, const store_job *jobs, size_t n, queue_result *res) {
    (void)ts;
    (void)s;
    (void)jobs;
    if (steal) {
        /* Another worker claims the batch as if its leases had expired:
         * it claims at a time past them. */
        store *o = NULL;
        store_job *got = NULL;
        size_t k = 0;
        char err[256];
        if (store_open(dir, STORE_OPEN_CREATE, &o, err, sizeof err) == LORE_OK &&
            store_job_claim(o, "thief", lore_now_ms() + 100000, 100000, 64, 1 << 24, &got, &k) ==
                LORE_OK)
            store_jobs_free(got, k);
        store_close(o);
        usleep(500 * 1000); /* the keeper tries to renew a few times meanwhile */
    } else {
        usleep(20 * 1000);
    }
    for (size_t i = 0; i < n; i++)
        res[i].ok = 1;
    handled += (int)n;
}

/* Enqueues jobs, runs a one-worker pool until they are all handled (or
 * timeout_ms), returns the warnings it logged, counting "taken over". */
static int run_pool(int jobs, int64_t timeout_ms, int *taken_over) {
    char err[256];
    store *s = NULL;
    CHECK(store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err) == LORE_OK);
    if (!s) return -1;
    for (int i = 0; i < jobs; i++) {
        store_job j;
        memset(&j, 0, sizeof j);
        snprintf(j.tenant, sizeof j.tenant, "t");
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
    }
    char log[] = "/tmp/lore-test-keeper-XXXXXX";
    int fd = mkstemp(log);
    CHECK(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    queue_config c;
    queue_config_default(&c);
    c.lease_ms = 300;
    c.poll_ms = 10;
    queue_handler h;
    memset(&h, 0, sizeof h);
    h.run = run;
    queue_pool *p = NULL;
    handled = 0;
    lore_status st = queue_pool_start(dir, &c, 1, "test", &h, NULL, &p, err, sizeof err);
    int64_t until = lore_now_ms() + timeout_ms;
    while (st == LORE_OK && handled < jobs && lore_now_ms() < until)
        usleep(10 * 1000);
    queue_pool_stop(p);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    CHECK(st == LORE_OK);
    int lines = 0;
    *taken_over = 0;
    FILE *f = fdopen(fd, "r");
    char line[512];
    rewind(f);
    while (fgets(line, sizeof line, f)) {
        lines++;
        if (strstr(line, "lease taken over while running"))
            (*taken_over)++;
        else if (!steal)
            fprintf(stderr, "  logged: %s", line);
    }
    fclose(f);
    unlink(log);
    store_close(s);
    return lines;
}

int main(void) {
    dir = test_tmpdir();
    char err[256];
    store *s = NULL;
    CHECK(store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err) == LORE_OK);
    CHECK(store_tenant_create(s, "t") == LORE_OK);
    store_close(s);

    /* Batches of up to 64 jobs, 20 ms each: the keeper's renewals (one
     * transaction per job) keep running into batches that just finished. */
    int taken = 0;
    steal = 0;
    int lines = run_pool(4000, 30000, &taken);
    CHECK_INT(handled, 4000);
    CHECK_INT(taken, 0);
    CHECK_INT(lines, 0);

    /* A batch taken by another claim while its handler runs: warned. */
    steal = 1;
    run_pool(10, 5000, &taken);
    CHECK(handled >= 10);
    CHECK(taken >= 10);

    test_rmtree(dir);
    return test_summary();
}
