/* Several processes on one queue: the server's worker pool and two `lore
 * worker` processes on the same data directory, every one tracing the
 * jobs it runs (LORE_TEST_JOB_TRACE). A few thousand writes (creates,
 * updates, deletes) go in from two threads; once all are done the trace
 * must show every job run exactly once, no two runs of one job at the
 * same time, the jobs of each document run one after the other in the
 * order they were queued, and all three processes at work. The documents
 * must end as the last queued write of each says. */
#include <pthread.h>
#include <stdatomic.h>

#include "jobs/jobs_test.h"
#include "store/store.h"

#define NDOCS 1500
#define NUPDATE 1000 /* docs 0..999 updated */
#define NDELETE 500  /* docs 0..499 deleted, racing their update */
#define MAX_JOB 100000

static test_server srv;
static char trace_env[700];
/* The jobs' ids as the API gave them, and the queue's internal ids (the
 * order the trace records), looked up in the store at the end. */
static test_job_ref create_ref[NDOCS], update_ref[NDOCS], delete_ref[NDOCS];
static long long create_job[NDOCS], update_job[NDOCS], delete_job[NDOCS];
static _Atomic int errors;

/* Which document each job is about (-1: none of ours). */
static int job_doc[MAX_JOB];

static test_job_ref post_doc(int i, const char *text) {
    char body[4096];
    /* some bulk in every text, so that runs take a moment and overlap */
    snprintf(body, sizeof body,
             "{\"id\":\"w-%d\",\"text\":\"%s %d. The quick brown fox jumps over the lazy dog "
             "while the workers share the queue; every document has a few sentences so the "
             "chunker and the index have some work to do for each one of them.\"}",
             i, text, i);
    test_resp r = test_post_json(&srv, "/v1/documents", srv.admin_key, body);
    test_job_ref id = jt_job_id(&r);
    if (r.status != 202 || !test_job_id_shaped(id.s)) {
        fprintf(stderr, "POST w-%d: %ld %s\n", i, r.status, r.body ? r.body : "");
        atomic_fetch_add(&errors, 1);
    }
    test_resp_free(&r);
    return id;
}

static test_job_ref delete_doc(int i) {
    char ext[32], id[STORE_DOC_ID_LEN + 1], path[64];
    snprintf(ext, sizeof ext, "w-%d", i);
    store_doc_public_id("api", ext, id);
    snprintf(path, sizeof path, "/v1/documents/%s", id);
    test_resp r = test_delete(&srv, path, srv.admin_key);
    test_job_ref job = jt_job_id(&r);
    if (r.status != 202 || !test_job_id_shaped(job.s)) {
        fprintf(stderr, "DELETE w-%d: %ld %s\n", i, r.status, r.body ? r.body : "");
        atomic_fetch_add(&errors, 1);
    }
    test_resp_free(&r);
    return job;
}

static void *creator(void *arg) {
    int half = (int)(intptr_t)arg;
    for (int i = half; i < NDOCS; i += 2)
        create_ref[i] = post_doc(i, "created");
    return NULL;
}

static void *updater(void *arg) {
    (void)arg;
    for (int i = 0; i < NUPDATE; i++)
        update_ref[i] = post_doc(i, "updated");
    return NULL;
}

static void *deleter(void *arg) {
    (void)arg;
    for (int i = 0; i < NDELETE; i++)
        delete_ref[i] = delete_doc(i);
    return NULL;
}

typedef struct run {
    long long job;
    long long start, end;
    char worker[64];
} run;

static int cmp_run(const void *a, const void *b) {
    const run *x = a, *y = b;
    if (x->job != y->job) return x->job < y->job ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Reads the trace into runs (start and end paired per worker and job). */
static size_t read_trace(const char *path, run **out, int *unpaired) {
    FILE *f = fopen(path, "r");
    size_t n = 0, cap = 8192;
    run *runs = calloc(cap, sizeof *runs);
    *unpaired = 0;
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        char what[8], worker[64];
        long long job, ns;
        if (sscanf(line, "%7s %lld %63s %lld", what, &job, worker, &ns) != 4) {
            (*unpaired)++;
            continue;
        }
        if (!strcmp(what, "start")) {
            if (n == cap) runs = realloc(runs, (cap *= 2) * sizeof *runs);
            runs[n] = (run){job, ns, -1, ""};
            snprintf(runs[n].worker, sizeof runs[n].worker, "%s", worker);
            n++;
            continue;
        }
        /* an end closes the latest open start of that job on that worker */
        size_t k = n;
        while (k-- > 0)
            if (runs[k].job == job && runs[k].end < 0 && !strcmp(runs[k].worker, worker)) break;
        if (k < n && runs[k].job == job && runs[k].end < 0)
            runs[k].end = ns;
        else
            (*unpaired)++;
    }
    if (f) fclose(f);
    for (size_t k = 0; k < n; k++)
        *unpaired += runs[k].end < 0;
    *out = runs;
    return n;
}

/* The process part of a worker name ("worker:123/2" -> "worker:123"). */
static void process_of(const char *worker, char *out, size_t len) {
    snprintf(out, len, "%.*s", (int)strcspn(worker, "/"), worker);
}

static void check_trace(const char *path, int njobs) {
    run *runs = NULL;
    int unpaired = 0;
    size_t n = read_trace(path, &runs, &unpaired);
    qsort(runs, n, sizeof *runs, cmp_run);
    CHECK_INT(unpaired, 0);
    /* every job once; runs of one job never overlap */
    int once = 0, twice = 0, strangers = 0, overlaps = 0;
    for (size_t k = 0; k < n; k++) {
        long long j = runs[k].job;
        if (j <= 0 || j >= MAX_JOB || job_doc[j] < 0) strangers++;
        if (k && runs[k - 1].job == j) {
            twice++;
            if (runs[k - 1].end > runs[k].start) overlaps++;
        } else {
            once++;
        }
        if (runs[k].end < runs[k].start) overlaps++;
    }
    /* the jobs of each document ran one after the other, in queue order */
    static long long last_end[NDOCS], last_job[NDOCS];
    memset(last_end, 0, sizeof last_end);
    memset(last_job, 0, sizeof last_job);
    int out_of_order = 0;
    for (size_t k = 0; k < n; k++) { /* runs are in job id order */
        long long j = runs[k].job;
        if (j <= 0 || j >= MAX_JOB || job_doc[j] < 0) continue;
        int d = job_doc[j];
        if (last_job[d] && last_job[d] != j && last_end[d] > runs[k].start) {
            if (out_of_order++ < 5)
                fprintf(stderr, "w-%d: job %lld started before job %lld ended\n", d, j,
                        last_job[d]);
        }
        last_job[d] = j;
        last_end[d] = runs[k].end;
    }
    /* who ran what */
    char procs[8][64];
    int counts[8] = {0}, nprocs = 0;
    for (size_t k = 0; k < n; k++) {
        char p[64];
        process_of(runs[k].worker, p, sizeof p);
        int i = 0;
        while (i < nprocs && strcmp(procs[i], p))
            i++;
        if (i == nprocs && nprocs < 8) snprintf(procs[nprocs++], sizeof procs[0], "%s", p);
        if (i < 8) counts[i]++;
    }
    printf("trace: %zu runs of %d distinct jobs (%d queued); %d run twice, %d overlapping, %d "
           "out of order, %d unknown\n",
           n, once, njobs, twice, overlaps, out_of_order, strangers);
    for (int i = 0; i < nprocs; i++)
        printf("  %-20s ran %d jobs\n", procs[i], counts[i]);
    CHECK_INT(once, njobs);
    CHECK_INT(twice, 0);
    CHECK_INT(overlaps, 0);
    CHECK_INT(out_of_order, 0);
    CHECK_INT(strangers, 0);
    CHECK_INT(nprocs, 3);
    for (int i = 0; i < nprocs; i++)
        CHECK(counts[i] > 0);
    free(runs);
}

/* The queue's internal id of a job the API named (0 if unknown). */
static long long internal_id(store *st, const test_job_ref *ref) {
    store_job *j = NULL;
    long long id = store_job_find(st, NULL, ref->s, 0, &j) == LORE_OK ? j->id : 0;
    store_job_free(j);
    return id;
}

/* Fills the internal ids from the store (read beside the running server). */
static void resolve_ids(const char *dir) {
    store *st = NULL;
    char err[256];
    CHECK_INT(test_store_open(dir, STORE_OPEN_CREATE, &st, err, sizeof err), LORE_OK);
    if (!st) return;
    for (int i = 0; i < NDOCS; i++) {
        create_job[i] = internal_id(st, &create_ref[i]);
        update_job[i] = i < NUPDATE ? internal_id(st, &update_ref[i]) : 0;
        delete_job[i] = i < NDELETE ? internal_id(st, &delete_ref[i]) : 0;
        CHECK(create_job[i] > 0);
    }
    store_close(st);
}

/* Each document ends as its last queued write says. */
static void check_documents(void) {
    int present = 0, deleted = 0, wrong = 0;
    for (int i = 0; i < NDOCS; i++) {
        char ext[32], id[STORE_DOC_ID_LEN + 1], path[64];
        snprintf(ext, sizeof ext, "w-%d", i);
        store_doc_public_id("api", ext, id);
        snprintf(path, sizeof path, "/v1/documents/%s", id);
        test_resp r = test_get(&srv, path, srv.admin_key);
        int gone = i < NDELETE && delete_job[i] > update_job[i];
        const char *want = i < NUPDATE ? "updated" : "created";
        int ok = gone ? r.status == 404
                      : r.status == 200 && !strncmp(jt_str(r.json, "text"), want, strlen(want));
        if (!ok && wrong++ < 5)
            fprintf(stderr, "w-%d: expected %s, got %ld %.40s\n", i, gone ? "deleted" : want,
                    r.status, jt_str(r.json, "text"));
        present += r.status == 200;
        deleted += r.status == 404;
        test_resp_free(&r);
    }
    printf("documents: %d present, %d deleted, %d not as their last write says\n", present, deleted,
           wrong);
    CHECK_INT(wrong, 0);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_ALL);
    const char *tdir = test_tmpdir();
    char tdir_copy[256];
    snprintf(tdir_copy, sizeof tdir_copy, "%s", tdir);
    snprintf(trace_env, sizeof trace_env, "LORE_TEST_JOB_TRACE=%s/trace", tdir_copy);
    const char *const env[] = {"LORE_WORKERS=1",
                               "LORE_RATE_WRITE_PER_MIN=0",
                               "LORE_RATE_ADMIN_PER_MIN=0",
                               "LORE_RATE_READ_PER_MIN=0",
                               trace_env,
                               NULL};
    const char *const wenv[] = {trace_env, NULL};
    if (test_server_start(&srv, NULL, env)) return 1;
    pid_t w1 = jt_worker_start(srv.dir, 1, "worker1.log", wenv);
    pid_t w2 = jt_worker_start(srv.dir, 1, "worker2.log", wenv);
    CHECK(w1 > 0 && w2 > 0);
    jt_sleep_ms(300); /* the workers are up and polling */

    int64_t t0 = jt_now_ms();
    pthread_t a, b;
    pthread_create(&a, NULL, creator, (void *)(intptr_t)0);
    pthread_create(&b, NULL, creator, (void *)(intptr_t)1);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    CHECK_INT(jt_wait_idle(&srv, 60000), 0); /* a delete needs its document */
    pthread_create(&a, NULL, updater, NULL);
    pthread_create(&b, NULL, deleter, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    CHECK_INT(jt_wait_idle(&srv, 60000), 0);
    CHECK_INT(atomic_load(&errors), 0);
    int njobs = NDOCS + NUPDATE + NDELETE;
    printf("%d jobs queued and done in %lld ms\n", njobs, (long long)(jt_now_ms() - t0));
    CHECK_INT(jt_count_state(&srv, "dead", 10), 0);

    /* stop every runner so the trace is complete */
    CHECK_INT(jt_stop(w1, SIGTERM), 0);
    CHECK_INT(jt_stop(w2, SIGTERM), 0);
    char dir[512];
    snprintf(dir, sizeof dir, "%s", srv.dir);
    resolve_ids(dir);
    for (int i = 0; i < MAX_JOB; i++)
        job_doc[i] = -1;
    for (int i = 0; i < NDOCS; i++) {
        long long js[3] = {create_job[i], i < NUPDATE ? update_job[i] : 0,
                           i < NDELETE ? delete_job[i] : 0};
        for (int k = 0; k < 3; k++)
            if (js[k] > 0 && js[k] < MAX_JOB) job_doc[js[k]] = i;
    }
    char trace[512];
    snprintf(trace, sizeof trace, "%s/trace", tdir_copy);
    check_documents();
    CHECK_INT(test_server_stop(&srv, SIGTERM), 0);
    check_trace(trace, njobs);
    test_rmtree(dir);
    test_rmtree(tdir_copy);
    curl_global_cleanup();
    return test_summary();
}
