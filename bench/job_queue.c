/* The job queue's store calls on their own: single-job enqueues (what one
 * write request costs the queue) alternating between two tenants, then a
 * tenant's listing paged 100 at a time by its cursor.
 *
 *   build/release/job_queue [N]      (default 5000 enqueues)
 *
 * Prints wall time per enqueue and per page; run it a few times, the
 * figures move with the disk (every enqueue is a commit). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 5000;
    if (n < 1 || n > 10000000) {
        fprintf(stderr, "usage: job_queue [N: 1 to 10000000 enqueues]\n");
        return 2;
    }
    char dir[] = "/tmp/lore-job-bench-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    store *s = NULL;
    char err[512];
    if (store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err) != LORE_OK ||
        store_tenant_create(s, "a") != LORE_OK || store_tenant_create(s, "b") != LORE_OK) {
        fprintf(stderr, "cannot set up the store in %s: %s\n", dir, err);
        return 1;
    }
    static char *const groups[1] = {"g"};
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        store_job j;
        memset(&j, 0, sizeof j);
        snprintf(j.tenant, sizeof j.tenant, "%s", i & 1 ? "a" : "b");
        snprintf(j.kind, sizeof j.kind, "documents");
        j.groups = (char **)groups;
        j.ngroups = 1;
        j.payload = (uint8_t *)"{}";
        j.payload_len = 2;
        j.max_attempts = 3;
        store_enqueue_outcome o;
        if (store_job_enqueue(s, &j, 1, 0, 0, 1000, &o) != LORE_OK) {
            fprintf(stderr, "enqueue %ld failed\n", i);
            return 1;
        }
    }
    double t1 = now_s();
    size_t pages = 0, listed = 0;
    int64_t cursor = 0;
    for (;;) {
        store_job *list = NULL;
        size_t got = 0;
        if (store_job_list(s, "a", -1, cursor, 100, &list, &got) != LORE_OK) return 1;
        if (got) cursor = list[got - 1].seq;
        store_jobs_free(list, got);
        if (!got) break;
        pages++;
        listed += got;
    }
    double t2 = now_s();
    printf("%ld enqueues: %.1f us each; listing %zu jobs of one tenant in %zu pages of 100: "
           "%.1f us per page\n",
           n, (t1 - t0) / (double)n * 1e6, listed, pages,
           pages ? (t2 - t1) / (double)pages * 1e6 : 0.0);
    store_close(s);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
