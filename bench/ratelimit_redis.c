/* What a rate-limit decision costs: the memory backend against the Redis
 * backend (one EVALSHA per take), with 1 and 8 threads, each thread on its
 * own bucket or all on one. Needs a Redis to talk to:
 *
 *   redis-server --port 6390 --save '' &
 *   build/release/ratelimit_redis redis://127.0.0.1:6390 [seconds per case]
 *
 * Prints decisions per second and the median and p99 of one take. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/ratelimit.h"
#include "util/log.h"

#define MAX_SAMPLES 2000000

typedef struct worker {
    const ratelimit_backend *ops;
    void *state;
    int id, shared;
    double seconds;
    size_t n;
    double *lat; /* microseconds */
} worker;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *run(void *arg) {
    worker *w = arg;
    char bucket[32];
    snprintf(bucket, sizeof bucket, "bench:%d", w->shared ? 0 : w->id);
    ratelimit_rule rule = {100000000, 100000000}; /* never refuses: measure the cost */
    double end = now_s() + w->seconds;
    while (w->n < MAX_SAMPLES) {
        double t0 = now_s();
        if (t0 >= end) break;
        ratelimit_decision d;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        if (w->ops->take(w->state, bucket, strlen(bucket), &rule, ms, &d) != LORE_OK) abort();
        w->lat[w->n++] = (now_s() - t0) * 1e6;
    }
    return NULL;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void one_case(const char *name, const ratelimit_backend *ops, void *state, int threads,
                     int shared, double seconds) {
    /* memory: a thread may stop at MAX_SAMPLES before the time is up */
    worker w[8];
    pthread_t t[8];
    double t0 = now_s();
    for (int i = 0; i < threads; i++) {
        w[i] = (worker){ops, state, i, shared, seconds, 0, malloc(MAX_SAMPLES * sizeof(double))};
        pthread_create(&t[i], NULL, run, &w[i]);
    }
    size_t total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        total += w[i].n;
    }
    double wall = now_s() - t0; /* less than seconds when the samples ran out */
    double *all = malloc((total ? total : 1) * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < threads; i++) {
        memcpy(all + k, w[i].lat, w[i].n * sizeof *all);
        k += w[i].n;
        free(w[i].lat);
    }
    qsort(all, total, sizeof *all, cmp);
    printf("%-7s %d thread%s %-11s %10.0f decisions/s   p50 %7.1f us   p99 %7.1f us\n", name,
           threads, threads > 1 ? "s" : " ", shared ? "one bucket" : "own buckets",
           (double)total / wall, total ? all[total / 2] : 0, total ? all[total * 99 / 100] : 0);
    free(all);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s redis://HOST:PORT [seconds per case]\n", argv[0]);
        return 2;
    }
    double seconds = argc > 2 ? atof(argv[2]) : 2.0;
    lore_log_set_level(LORE_LOG_WARN);
    const ratelimit_backend *mo, *ro;
    void *ms, *rs;
    char err[512];
    if (ratelimit_memory_new(100000, &mo, &ms) != LORE_OK) return 1;
    ratelimit_redis_options o = {0};
    o.url = argv[1];
    o.timeout_ms = 1000;
    if (ratelimit_redis_new(&o, &ro, &rs, err, sizeof err) != LORE_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    ratelimit_redis_stats st;
    ratelimit_redis_stats_get(rs, &st);
    if (!st.up) {
        fprintf(stderr, "%s\n", st.reason);
        return 1;
    }
    static const int threads[] = {1, 8};
    for (int i = 0; i < 2; i++)
        for (int shared = 0; shared < 2; shared++) {
            one_case("memory", mo, ms, threads[i], shared, seconds);
            one_case("redis", ro, rs, threads[i], shared, seconds);
        }
    ratelimit_redis_stats_get(rs, &st);
    if (st.fallback_takes)
        printf("(%llu takes fell back to memory)\n", (unsigned long long)st.fallback_takes);
    mo->free(ms);
    ro->free(rs);
    return 0;
}
