/* Jobs claimed per second: worker threads spread across processes, each
 * claiming jobs from one shared queue and finishing them as done, as lore's
 * workers do (a claim transaction, then a finish transaction), with nothing
 * to run in between. So the figure is the queue's own ceiling.
 *
 *   build/release/job_claim STORE [--jobs N] [--tenants T] [--batch B]
 *                           [--procs P] [--threads W]
 *
 * STORE is a data directory (SQLite; made if absent) or a postgres:// URL.
 * Jobs (default 20,000) are queued first, untimed, alternating over T
 * tenants (default 4), each in a FIFO group of its own (no job waits for
 * another), 2-byte payloads. Then P processes (default 2) each start W
 * worker threads (default 1; every thread opens its own store handle, as
 * `lore serve`'s workers do); once all are ready they start together and
 * each loops store_job_claim (up to B jobs per claim, default 1; lore's
 * claim_max_jobs is 64) and store_job_finish (DONE, all the claimed jobs in
 * one call) until a claim finds nothing. The clock runs from the start
 * signal to the last process's exit.
 *
 * Checks: the jobs claimed by all workers add up to exactly N (a job
 * claimed twice would make more) and the queue then holds no ready, leased
 * or dead job. Prints a line and "result KEY VALUE" lines; exits 1 if a
 * check fails. Jobs done by earlier runs on the same store are purged
 * first, so runs on one PostgreSQL database do not pile up. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "util/timeutil.h"

#define MAX_THREADS 64
#define ENQUEUE_BATCH 500

typedef struct opts {
    const char *store;
    long jobs, tenants, batch, procs, threads;
} opts;

static int open_store(const char *loc, store **s) {
    char err[512];
    if (store_open(loc, STORE_OPEN_CREATE, s, err, sizeof err) != LORE_OK) {
        fprintf(stderr, "job_claim: cannot open the store %s: %s\n", loc, err);
        return -1;
    }
    return 0;
}

/* Tenants bench0.., done jobs of earlier runs purged, then N jobs queued. */
static int prepare(const opts *o) {
    store *s = NULL;
    if (open_store(o->store, &s)) return -1;
    int rc = -1;
    int64_t purged = 0;
    if (store_job_purge(s, NULL, -1, lore_now_ms() + 1, NULL, NULL, &purged) != LORE_OK) goto out;
    for (long t = 0; t < o->tenants; t++) {
        char name[32];
        snprintf(name, sizeof name, "bench%ld", t);
        lore_status st = store_tenant_create(s, name);
        if (st != LORE_OK && st != LORE_EXISTS) {
            fprintf(stderr, "job_claim: cannot create tenant %s: %s\n", name,
                    lore_status_message(st));
            goto out;
        }
    }
    store_job *batch = calloc(ENQUEUE_BATCH, sizeof *batch);
    char(*gname)[32] = calloc(ENQUEUE_BATCH, sizeof *gname);
    char **gptr = calloc(ENQUEUE_BATCH, sizeof *gptr);
    if (!batch || !gname || !gptr) goto fail;
    /* ENQUEUE_BATCH jobs per call (one transaction), tenants mixed. */
    for (long i = 0; i < o->jobs;) {
        size_t n = 0;
        for (; n < ENQUEUE_BATCH && i < o->jobs; n++, i++) {
            store_job *j = &batch[n];
            memset(j, 0, sizeof *j);
            snprintf(j->tenant, sizeof j->tenant, "bench%ld", i % o->tenants);
            snprintf(j->kind, sizeof j->kind, "documents");
            snprintf(gname[n], sizeof gname[n], "doc-%ld-%ld", (long)lore_now_ms(), i);
            gptr[n] = gname[n];
            j->groups = &gptr[n];
            j->ngroups = 1;
            j->payload = (uint8_t *)"{}";
            j->payload_len = 2;
            j->max_attempts = 3;
        }
        store_enqueue_outcome out;
        lore_status st = store_job_enqueue(s, batch, n, 0, 0, lore_now_ms(), &out);
        if (st != LORE_OK || out != STORE_ENQUEUED) {
            fprintf(stderr, "job_claim: enqueue failed: %s\n", lore_status_message(st));
            goto fail;
        }
    }
    rc = 0;
fail:
    free(batch);
    free(gname);
    free(gptr);
out:
    store_close(s);
    return rc;
}

/* ---- a worker process ---- */

typedef struct worker {
    const opts *o;
    char name[64];
    long claimed;
    int failed;
    pthread_t th;
} worker;

static pthread_mutex_t go_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go_cv = PTHREAD_COND_INITIALIZER;
static int go_flag, ready_count;

static void *worker_main(void *arg) {
    worker *w = arg;
    store *s = NULL;
    if (open_store(w->o->store, &s)) w->failed = 1;
    pthread_mutex_lock(&go_mu);
    ready_count++;
    pthread_cond_broadcast(&go_cv);
    while (!go_flag)
        pthread_cond_wait(&go_cv, &go_mu);
    pthread_mutex_unlock(&go_mu);
    if (w->failed) return NULL;
    store_job_outcome *oc = calloc((size_t)w->o->batch, sizeof *oc);
    if (!oc) w->failed = 1;
    while (!w->failed) {
        store_job *jobs = NULL;
        size_t n = 0;
        lore_status st = store_job_claim(s, w->name, lore_now_ms(), 30000, (size_t)w->o->batch,
                                         INT64_MAX / 8, &jobs, &n);
        if (st != LORE_OK) {
            fprintf(stderr, "job_claim: %s: claim failed: %s\n", w->name, lore_status_message(st));
            w->failed = 1;
            break;
        }
        if (!n) break;
        for (size_t i = 0; i < n; i++)
            oc[i] = (store_job_outcome){
                .id = jobs[i].id, .lease_seq = jobs[i].lease_seq, .state = STORE_JOB_DONE};
        st = store_job_finish(s, oc, n, lore_now_ms());
        for (size_t i = 0; st == LORE_OK && i < n; i++)
            if (oc[i].lost) st = LORE_INTERNAL; /* nobody else holds a lease here */
        store_jobs_free(jobs, n);
        if (st != LORE_OK) {
            fprintf(stderr, "job_claim: %s: finish failed: %s\n", w->name, lore_status_message(st));
            w->failed = 1;
            break;
        }
        w->claimed += (long)n;
    }
    free(oc);
    store_close(s);
    return NULL;
}

/* Starts the threads, tells the parent it is ready (a byte on ready_fd),
 * waits for the start byte on go_fd, then reports "claimed failed" on
 * ready_fd when its threads end. */
static int child_main(const opts *o, int proc, int ready_fd, int go_fd) {
    worker w[MAX_THREADS];
    memset(w, 0, sizeof w);
    for (long i = 0; i < o->threads; i++) {
        w[i].o = o;
        snprintf(w[i].name, sizeof w[i].name, "bench-p%d-w%ld", proc, i);
        if (pthread_create(&w[i].th, NULL, worker_main, &w[i]) != 0) return 1;
    }
    pthread_mutex_lock(&go_mu);
    while (ready_count < o->threads)
        pthread_cond_wait(&go_cv, &go_mu);
    pthread_mutex_unlock(&go_mu);
    char c = 'r';
    if (write(ready_fd, &c, 1) != 1) return 1;
    if (read(go_fd, &c, 1) != 1) return 1;
    pthread_mutex_lock(&go_mu);
    go_flag = 1;
    pthread_cond_broadcast(&go_cv);
    pthread_mutex_unlock(&go_mu);
    long claimed = 0;
    int failed = 0;
    for (long i = 0; i < o->threads; i++) {
        pthread_join(w[i].th, NULL);
        claimed += w[i].claimed;
        failed |= w[i].failed;
    }
    char line[64];
    int len = snprintf(line, sizeof line, "%ld %d\n", claimed, failed);
    return write(ready_fd, line, (size_t)len) == len ? failed : 1;
}

/* ---- checks ---- */

static int queue_empty(const opts *o) {
    store *s = NULL;
    if (open_store(o->store, &s)) return 0;
    store_job_count *c = NULL;
    size_t n = 0;
    int64_t left = 0;
    lore_status st = store_job_counts(s, &c, &n);
    for (size_t i = 0; st == LORE_OK && i < n; i++)
        if (!strncmp(c[i].tenant, "bench", 5)) left += c[i].count;
    free(c);
    store_close(s);
    if (st != LORE_OK || left) {
        fprintf(stderr, "job_claim: %lld jobs left ready, leased or dead (%s)\n", (long long)left,
                lore_status_message(st));
        return 0;
    }
    return 1;
}

static int run(const opts *o) {
    if (prepare(o)) return 1;
    int ready[2], go[2];
    if (pipe(ready) || pipe(go)) return 1;
    pid_t pids[MAX_THREADS];
    for (long p = 0; p < o->procs; p++) {
        pids[p] = fork();
        if (pids[p] < 0) return 1;
        if (!pids[p]) {
            close(go[1]);
            close(ready[0]);
            _exit(child_main(o, (int)p, ready[1], go[0]));
        }
    }
    close(go[0]);
    close(ready[1]);
    FILE *rf = fdopen(ready[0], "r");
    for (long p = 0; p < o->procs; p++)
        if (fgetc(rf) != 'r') {
            fprintf(stderr, "job_claim: a worker process did not start\n");
            return 1;
        }
    int64_t t0 = lore_mono_ns();
    for (long p = 0; p < o->procs; p++)
        if (write(go[1], "g", 1) != 1) return 1;
    int bad = 0;
    for (long p = 0; p < o->procs; p++) {
        int ws;
        if (waitpid(pids[p], &ws, 0) < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws)) bad = 1;
    }
    double secs = (double)(lore_mono_ns() - t0) / 1e9;
    long claimed = 0, c;
    int f;
    while (fscanf(rf, "%ld %d", &c, &f) == 2) {
        claimed += c;
        bad |= f;
    }
    fclose(rf);
    close(go[1]);
    long workers = o->procs * o->threads;
    printf("%ld workers (%ld processes x %ld threads), claims of up to %ld: %ld jobs in %.2f s, "
           "%.0f jobs/s\n",
           workers, o->procs, o->threads, o->batch, claimed, secs, (double)claimed / secs);
    printf("result workers %ld\nresult jobs %ld\nresult seconds %.3f\nresult jobs_per_s %.0f\n",
           workers, claimed, secs, (double)claimed / secs);
    if (bad) fprintf(stderr, "job_claim: a worker failed\n");
    if (claimed != o->jobs)
        fprintf(stderr, "job_claim: %ld jobs claimed, %ld queued\n", claimed, o->jobs);
    return bad || claimed != o->jobs || !queue_empty(o);
}

static int parse_long(const char *name, const char *v, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || errno || *end || end == v || n < lo || n > hi) {
        fprintf(stderr, "job_claim: %s: expected %ld to %ld\n", name, lo, hi);
        return -1;
    }
    *out = n;
    return 0;
}

int main(int argc, char **argv) {
    opts o = {NULL, 20000, 4, 1, 2, 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int r = 0;
        if (!strcmp(a, "--jobs"))
            r = parse_long(a, v, 1, 10000000, &o.jobs), i++;
        else if (!strcmp(a, "--tenants"))
            r = parse_long(a, v, 1, 1000, &o.tenants), i++;
        else if (!strcmp(a, "--batch"))
            r = parse_long(a, v, 1, 1000, &o.batch), i++;
        else if (!strcmp(a, "--procs"))
            r = parse_long(a, v, 1, MAX_THREADS, &o.procs), i++;
        else if (!strcmp(a, "--threads"))
            r = parse_long(a, v, 1, MAX_THREADS, &o.threads), i++;
        else if (a[0] != '-' && !o.store)
            o.store = a;
        else
            r = -1;
        if (r) {
            fprintf(stderr, "usage: job_claim STORE [--jobs N] [--tenants T] [--batch B] "
                            "[--procs P] [--threads W]\n");
            return 2;
        }
    }
    if (!o.store) {
        fprintf(stderr, "job_claim: give a data directory or a postgres:// URL\n");
        return 2;
    }
    return run(&o);
}
