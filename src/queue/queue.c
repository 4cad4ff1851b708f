/* The queue's policy (backoff, dead letters) and its worker pool.
 *
 * A pool is N worker threads and one keeper thread, each with its own store
 * handle (store handles are single-thread). A worker claims a batch (of a
 * tenant no other worker is running and not the one it just ran, when
 * another has work: fair_claim), runs
 * it through the handler, and commits every job's outcome in one store
 * transaction; between batches it sleeps on a condition variable that
 * queue_pool_notify signals (jobs enqueued by this process start at once).
 * Jobs of other processes: when the store can say that a job may have
 * become runnable (PostgreSQL's LISTEN), the pool's listener
 * (queue_wake.c) calls queue_pool_notify for each sign, and idle workers
 * look on their own only every wake_poll_ms, for what no notification
 * announces (a dead node's lease expiring); otherwise, and while the
 * listener's connection is down, every poll_ms. A job this pool retried or
 * released with a delay is looked for when the delay ends (the earliest
 * QUEUE_DUE_MAX such times are kept; the poll finds the others).
 *
 * The keeper renews the leases of batches in flight every third of the
 * lease, purges finished jobs past their retention (and their blobs), and
 * serves the metrics collector. A lease the keeper finds taken over is only
 * counted: the worker learns it when its outcome is refused (lost), and the
 * job's other run is the at-least-once delivery the handlers are written
 * for.
 *
 * The handler's observe hook sees every batch once it has run, with each
 * job's result; the test build of the binary traces jobs with it
 * (tests/support/lore_test_hooks.c). */
#include "queue/queue.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "queue/queue_wake.h"
#include "util/log.h"
#include "util/timeutil.h"

void queue_config_default(queue_config *c) {
    c->lease_ms = 30000;
    c->max_attempts = 5;
    c->backoff_base_ms = 1000;
    c->backoff_max_ms = 300000;
    c->retention_ms = 14LL * 24 * 3600 * 1000;
    c->max_pending_tenant = 10000;
    c->max_pending_total = 100000;
    c->claim_max_jobs = 64;
    c->claim_max_weight = 16 << 20;
    c->poll_ms = 100;
    c->wake_poll_ms = 5000;
}

void queue_config_from(queue_config *q, const lore_config *c) {
    queue_config_default(q);
    q->lease_ms = c->job_lease_s * 1000;
    q->max_attempts = (int)c->job_max_attempts;
    q->backoff_base_ms = c->job_backoff_ms;
    q->backoff_max_ms = c->job_backoff_max_s * 1000;
    if (q->backoff_max_ms < q->backoff_base_ms) q->backoff_max_ms = q->backoff_base_ms;
    q->retention_ms = c->job_retention_days * 24 * 3600 * 1000;
    q->max_pending_tenant = c->queue_max_per_tenant;
    q->max_pending_total = c->queue_max_total;
    q->poll_ms = c->job_poll_ms;
    q->wake_poll_ms = c->job_wake_poll_s * 1000;
}

int64_t queue_backoff_ms(const queue_config *c, int attempts, uint64_t random) {
    int64_t bound = c->backoff_base_ms > 0 ? c->backoff_base_ms : 1;
    for (int i = 1; i < attempts && bound < c->backoff_max_ms; i++)
        bound *= 2;
    if (bound > c->backoff_max_ms) bound = c->backoff_max_ms;
    if (bound < 1) bound = 1;
    int64_t floor = bound / 4;
    return floor + (int64_t)(random % (uint64_t)(bound - floor + 1));
}

void queue_failure(const queue_config *c, const store_job *j, const char *error, int64_t now_ms,
                   uint64_t random, store_job_outcome *o) {
    memset(o, 0, sizeof *o);
    o->id = j->id;
    o->lease_seq = j->lease_seq;
    o->error = error ? error : "failed";
    if (j->attempts >= j->max_attempts) {
        o->state = STORE_JOB_DEAD;
    } else {
        o->state = STORE_JOB_READY;
        o->visible_ms = now_ms + queue_backoff_ms(c, j->attempts, random);
    }
}

const char *queue_state_name(int state) {
    switch (state) {
    case STORE_JOB_READY:
        return "ready";
    case STORE_JOB_LEASED:
        return "leased";
    case STORE_JOB_DONE:
        return "done";
    case STORE_JOB_DEAD:
        return "dead";
    default:
        return "unknown";
    }
}

int queue_state_parse(const char *name) {
    for (int s = STORE_JOB_READY; s <= STORE_JOB_DEAD; s++)
        if (!strcmp(name, queue_state_name(s))) return s;
    return -1;
}

/* ---- the pool ---- */

#define MAX_WORKERS 256
#define QUEUE_DUE_MAX 16

typedef struct inflight {
    int64_t id, lease_seq;
    char pub[STORE_JOB_PUB_LEN + 1]; /* for the logs: the id operators can look up */
} inflight;

typedef struct worker {
    struct queue_pool *p;
    unsigned no;
    pthread_t thread;
    char name[96];
    /* The batch in flight, read by the keeper to renew its leases. */
    inflight *jobs;
    size_t njobs;
    /* The handler has returned: the batch's outcomes are being committed,
     * so a lease the keeper cannot renew may just be a finished job. */
    int finishing;
    /* The tenant of the batch in flight ("" when idle), under p->mu, and of
     * this worker's previous batch: claims pass over both (fair_claim). */
    char tenant[STORE_NAME_MAX + 1];
    char last_tenant[STORE_NAME_MAX + 1];
} worker;

struct queue_pool {
    char *store_url;
    queue_config cfg;
    queue_handler h;
    unsigned nworkers;
    worker *workers;
    pthread_t keeper;
    int keeper_started;
    pthread_mutex_t mu;       /* guards wake, stop, the in-flight lists */
    pthread_mutex_t claim_mu; /* one claim at a time, so each sees the others' tenants */
    pthread_cond_t cv;        /* workers and keeper sleep on it */
    uint64_t wake;            /* bumped by notify */
    int stop;
    queue_wake *waker; /* NULL: the store cannot wake workers, they poll */
    /* When jobs this pool delayed become runnable (epoch ms), under mu. */
    int64_t due[QUEUE_DUE_MAX];
    size_t ndue;
    atomic_uint_fast64_t finished;
    /* The keeper's store handle, shared with the metrics collector. */
    store *ks;
    pthread_mutex_t ks_mu;
    /* metrics */
    metrics_family *m_jobs, *m_dead, *m_oldest, *m_duration, *m_retries, *m_completed, *m_lost;
};

static uint64_t rand64(void) {
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != sizeof r) r = (uint64_t)lore_mono_ns() * 0x9E3779B97F4A7C15u;
    return r;
}

static void observe(queue_pool *p, const store_job *jobs, const queue_result *res, size_t n,
                    const char *who, int64_t t0) {
    if (p->h.observe) p->h.observe(p->h.observe_ctx, jobs, res, n, who, t0);
}

/* Keeps when a job this pool delayed becomes runnable: the earliest
 * QUEUE_DUE_MAX times (when full, a sooner one replaces the latest). */
static void note_due(queue_pool *p, int64_t at) {
    pthread_mutex_lock(&p->mu);
    if (p->ndue < QUEUE_DUE_MAX) {
        p->due[p->ndue++] = at;
    } else {
        size_t last = 0;
        for (size_t i = 1; i < p->ndue; i++)
            if (p->due[i] > p->due[last]) last = i;
        if (at < p->due[last]) p->due[last] = at;
    }
    pthread_mutex_unlock(&p->mu);
}

/* Under p->mu: how long an idle worker whose claim (begun at claimed_ms)
 * found nothing sleeps. Due times that claim already saw are dropped; one
 * that passed since is looked for at once. */
static int64_t idle_ms(queue_pool *p, int64_t claimed_ms) {
    int64_t ms = queue_wake_listening(p->waker) ? p->cfg.wake_poll_ms : p->cfg.poll_ms;
    int64_t now = lore_now_ms();
    for (size_t i = 0; i < p->ndue;) {
        if (p->due[i] <= claimed_ms) {
            p->due[i] = p->due[--p->ndue];
            continue;
        }
        if (p->due[i] - now < ms) ms = p->due[i] > now ? p->due[i] - now : 0;
        i++;
    }
    return ms;
}

/* Runs one claimed batch and commits its outcomes. */
static lore_status run_batch(queue_pool *p, worker *w, void *ts, store *s, store_job *jobs,
                             size_t n) {
    const char *who = w->name;
    const queue_config *c = &p->cfg;
    const queue_handler *h = &p->h;
    queue_result *res = calloc(n, sizeof *res);
    store_job_outcome *out = calloc(n, sizeof *out);
    lore_status st = LORE_NOMEM;
    if (!res || !out) goto done;
    int64_t t0 = lore_mono_ns();
    h->run(ts, s, jobs, n, res);
    observe(p, jobs, res, n, who, t0);
    pthread_mutex_lock(&p->mu);
    w->finishing = 1;
    pthread_mutex_unlock(&p->mu);
    double secs = (double)(lore_mono_ns() - t0) / 1e9;
    int64_t now = lore_now_ms();
    for (size_t i = 0; i < n; i++) {
        store_job_outcome *o = &out[i];
        if (res[i].ok) {
            o->id = jobs[i].id;
            o->lease_seq = jobs[i].lease_seq;
            o->state = STORE_JOB_DONE;
            o->result = res[i].result;
        } else if (res[i].release) {
            o->id = jobs[i].id;
            o->lease_seq = jobs[i].lease_seq;
            o->state = STORE_JOB_READY;
            o->release = 1;
            if (res[i].release_delay_ms > 0) o->visible_ms = now + res[i].release_delay_ms;
        } else {
            queue_failure(c, &jobs[i], res[i].error, now, rand64(), o);
            lore_log(o->state == STORE_JOB_DEAD ? LORE_LOG_WARN : LORE_LOG_INFO,
                     "queue: job %s (%s, tenant %s) attempt %d/%d failed%s: %s", jobs[i].pub,
                     jobs[i].kind, jobs[i].tenant, jobs[i].attempts, jobs[i].max_attempts,
                     o->state == STORE_JOB_DEAD ? ", dead-lettered" : "", o->error);
        }
    }
    st = store_job_finish(s, out, n, now);
    if (st != LORE_OK) {
        lore_log(LORE_LOG_ERROR, "queue: cannot record the outcome of %zu jobs: %s", n,
                 lore_status_message(st));
        goto done; /* the leases expire and the jobs run again */
    }
    for (size_t i = 0; i < n; i++) {
        const char *kind[1] = {jobs[i].kind};
        if (out[i].lost) {
            lore_log(LORE_LOG_WARN, "queue: job %s: lease lost before it finished", jobs[i].pub);
            if (p->m_lost) metrics_add(p->m_lost, kind, 1);
            continue;
        }
        if (out[i].state == STORE_JOB_DONE && jobs[i].blob && !res[i].keep_blob)
            store_blob_remove(s, jobs[i].tenant, jobs[i].blob);
        if (out[i].state != STORE_JOB_READY) atomic_fetch_add(&p->finished, 1);
        if (out[i].state == STORE_JOB_READY && out[i].visible_ms > now)
            note_due(p, out[i].visible_ms);
        if (!p->m_jobs) continue; /* no registry (lore worker, lore ingest) */
        metrics_observe(p->m_duration, kind, secs);
        if (out[i].state == STORE_JOB_READY && !out[i].release) metrics_add(p->m_retries, kind, 1);
        const char *lab[2] = {jobs[i].kind, out[i].state == STORE_JOB_DONE   ? "done"
                                            : out[i].state == STORE_JOB_DEAD ? "dead"
                                                                             : "retry"};
        if (!out[i].release) metrics_add(p->m_completed, lab, 1);
    }
    if (h->finished) h->finished(h->finished_ctx, jobs, n);
done:
    for (size_t i = 0; res && i < n; i++) {
        free(res[i].error);
        free(res[i].result);
    }
    free(res);
    free(out);
    return st;
}

static void set_inflight(worker *w, const store_job *jobs, size_t n) {
    inflight *list = n ? calloc(n, sizeof *list) : NULL;
    for (size_t i = 0; list && i < n; i++) {
        list[i].id = jobs[i].id;
        list[i].lease_seq = jobs[i].lease_seq;
        memcpy(list[i].pub, jobs[i].pub, sizeof list[i].pub);
    }
    pthread_mutex_lock(&w->p->mu);
    free(w->jobs);
    w->jobs = list;
    w->njobs = list ? n : 0;
    w->finishing = 0;
    pthread_mutex_unlock(&w->p->mu);
}

/* Claims a batch, passing over the tenants other workers of this pool are
 * running and the one this worker just ran, while another tenant has work.
 * A second worker on a running tenant would only wait for its write lock
 * (ingest_jobs.c takes turns per tenant), and a tenant with a backlog would
 * otherwise keep every worker while others' writes wait behind it. Claims
 * of one pool are serialized (the store serializes them anyway) so each
 * sees the tenant the one before it took. */
static lore_status fair_claim(queue_pool *p, worker *w, store *s, store_job **jobs, size_t *n) {
    /* The names are copied under p->mu: their owners clear them when a
     * batch ends, while this claim's query still reads them. */
    typedef char tenant_name[sizeof w->tenant];
    const char **avoid = calloc(p->nworkers + 1, sizeof *avoid);
    tenant_name *names = calloc(p->nworkers, sizeof *names);
    if (!avoid || !names) {
        free(avoid);
        free(names);
        return LORE_NOMEM;
    }
    pthread_mutex_lock(&p->claim_mu);
    size_t navoid = 0;
    pthread_mutex_lock(&p->mu);
    for (unsigned i = 0; i < p->nworkers; i++)
        if (&p->workers[i] != w && p->workers[i].tenant[0]) {
            memcpy(names[navoid], p->workers[i].tenant, sizeof names[navoid]);
            avoid[navoid] = names[navoid];
            navoid++;
        }
    pthread_mutex_unlock(&p->mu);
    if (w->last_tenant[0]) avoid[navoid++] = w->last_tenant;
    lore_status st =
        store_job_claim_avoiding(s, w->name, lore_now_ms(), p->cfg.lease_ms, p->cfg.claim_max_jobs,
                                 p->cfg.claim_max_weight, avoid, navoid, jobs, n);
    pthread_mutex_lock(&p->mu);
    snprintf(w->tenant, sizeof w->tenant, "%s", *n ? (*jobs)[0].tenant : "");
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_unlock(&p->claim_mu);
    free(avoid);
    free(names);
    if (*n) snprintf(w->last_tenant, sizeof w->last_tenant, "%s", (*jobs)[0].tenant);
    return st;
}

static void *worker_main(void *arg) {
    worker *w = arg;
    queue_pool *p = w->p;
    store *s = NULL;
    char err[512];
    if (store_open(p->store_url, STORE_OPEN_CREATE, &s, err, sizeof err) != LORE_OK) {
        lore_log(LORE_LOG_ERROR, "queue: worker %s cannot open the store: %s", w->name, err);
        return NULL;
    }
    void *ts = p->h.thread_new ? p->h.thread_new(p->h.ctx, s) : p->h.ctx;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        int stop = p->stop;
        uint64_t seen = p->wake;
        pthread_mutex_unlock(&p->mu);
        if (stop) break;
        store_job *jobs = NULL;
        size_t n = 0;
        int64_t claimed_ms = lore_now_ms();
        lore_status st = fair_claim(p, w, s, &jobs, &n);
        if (st != LORE_OK)
            lore_log(LORE_LOG_WARN, "queue: worker %s: claim failed: %s", w->name,
                     lore_status_message(st));
        if (n) {
            set_inflight(w, jobs, n);
            (void)run_batch(p, w, ts, s, jobs, n);
            set_inflight(w, NULL, 0);
            pthread_mutex_lock(&p->mu);
            w->tenant[0] = '\0';
            pthread_mutex_unlock(&p->mu);
            store_jobs_free(jobs, n);
            continue;
        }
        w->last_tenant[0] = '\0'; /* idle: nothing to pass over next time */
        pthread_mutex_lock(&p->mu);
        int64_t ms = idle_ms(p, claimed_ms);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        int64_t ns = until.tv_nsec + (ms % 1000) * 1000000;
        until.tv_sec += (time_t)(ms / 1000 + ns / 1000000000);
        until.tv_nsec = ns % 1000000000;
        while (!p->stop && p->wake == seen)
            if (pthread_cond_timedwait(&p->cv, &p->mu, &until) != 0) break;
        pthread_mutex_unlock(&p->mu);
    }
    if (p->h.thread_free) p->h.thread_free(ts);
    store_close(s);
    return NULL;
}

/* Whether a job is still being run by its worker (the handler has not
 * returned): if so, a lease the keeper could not renew was taken over.
 * Otherwise the job just finished (its outcome is committed before its
 * worker's list is cleared), which is no news. */
static int still_running(queue_pool *p, const inflight *job) {
    int running = 0;
    pthread_mutex_lock(&p->mu);
    for (unsigned i = 0; i < p->nworkers && !running; i++) {
        const worker *w = &p->workers[i];
        for (size_t j = 0; j < w->njobs && !w->finishing && !running; j++)
            running = w->jobs[j].id == job->id && w->jobs[j].lease_seq == job->lease_seq;
    }
    pthread_mutex_unlock(&p->mu);
    return running;
}

static void renew_all(queue_pool *p) {
    size_t total = 0;
    pthread_mutex_lock(&p->mu);
    for (unsigned i = 0; i < p->nworkers; i++)
        total += p->workers[i].njobs;
    inflight *all = total ? calloc(total, sizeof *all) : NULL;
    size_t k = 0;
    for (unsigned i = 0; all && i < p->nworkers; i++)
        for (size_t j = 0; j < p->workers[i].njobs; j++)
            all[k++] = p->workers[i].jobs[j];
    pthread_mutex_unlock(&p->mu);
    int64_t until = lore_now_ms() + p->cfg.lease_ms;
    pthread_mutex_lock(&p->ks_mu);
    for (size_t i = 0; i < k; i++) {
        lore_status st = store_job_renew(p->ks, all[i].id, all[i].lease_seq, until);
        if (st == LORE_NOT_FOUND) {
            if (still_running(p, &all[i]))
                lore_log(LORE_LOG_WARN, "queue: job %s: lease taken over while running",
                         all[i].pub);
        } else if (st != LORE_OK)
            lore_log(LORE_LOG_WARN, "queue: job %s: lease renewal failed: %s", all[i].pub,
                     lore_status_message(st));
    }
    pthread_mutex_unlock(&p->ks_mu);
    free(all);
}

static void purge_old(queue_pool *p) {
    int64_t n = 0;
    pthread_mutex_lock(&p->ks_mu);
    lore_status st = store_job_purge(p->ks, NULL, -1, lore_now_ms() - p->cfg.retention_ms,
                                     store_blob_remove, p->ks, &n);
    pthread_mutex_unlock(&p->ks_mu);
    if (st != LORE_OK)
        lore_log(LORE_LOG_WARN, "queue: purge failed: %s", lore_status_message(st));
    else if (n)
        lore_log(LORE_LOG_INFO, "queue: purged %lld finished jobs past retention", (long long)n);
}

static void *keeper_main(void *arg) {
    queue_pool *p = arg;
    int64_t every = p->cfg.lease_ms / 3 > 0 ? p->cfg.lease_ms / 3 : 1;
    int64_t next_purge = lore_now_ms() + 60000;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        int64_t ns = until.tv_nsec + (every % 1000) * 1000000;
        until.tv_sec += every / 1000 + ns / 1000000000;
        until.tv_nsec = ns % 1000000000;
        while (!p->stop && pthread_cond_timedwait(&p->cv, &p->mu, &until) == 0) {
        }
        if (p->stop) break;
        pthread_mutex_unlock(&p->mu);
        renew_all(p);
        if (lore_now_ms() >= next_purge) {
            purge_old(p);
            next_purge = lore_now_ms() + 600000;
        }
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void collect(void *ctx) {
    queue_pool *p = ctx;
    store_job_count *c = NULL;
    size_t n = 0;
    int64_t oldest = 0, pending = 0, now = lore_now_ms();
    pthread_mutex_lock(&p->ks_mu);
    lore_status st = store_job_counts(p->ks, &c, &n);
    if (st == LORE_OK) st = store_job_pending(p->ks, NULL, now, &oldest, &pending);
    pthread_mutex_unlock(&p->ks_mu);
    if (st != LORE_OK) return;
    metrics_family_clear(p->m_jobs);
    static const char *const kinds[] = {"documents", "file", "delete", "reindex"};
    static const char *const states[] = {"ready", "leased", "dead"};
    for (size_t k = 0; k < 4; k++) /* zeros too, so alerts see the series */
        for (size_t s = 0; s < 3; s++) {
            const char *l[2] = {kinds[k], states[s]};
            metrics_set(p->m_jobs, l, 0);
        }
    double dead = 0;
    for (size_t i = 0; i < n; i++) {
        const char *l[2] = {c[i].kind, queue_state_name(c[i].state)};
        metrics_add(p->m_jobs, l, (double)c[i].count);
        if (c[i].state == STORE_JOB_DEAD) dead += (double)c[i].count;
    }
    metrics_set(p->m_dead, NULL, dead);
    metrics_set(p->m_oldest, NULL, oldest ? (double)(now - oldest) / 1000.0 : 0);
    free(c);
}

static lore_status register_metrics(queue_pool *p, metrics_registry *reg) {
    static const char *const queue_label[] = {"queue"};
    static const char *const queue_state[] = {"queue", "state"};
    static const char *const queue_outcome[] = {"queue", "outcome"};
    static const double dur[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600};
    lore_status st;
    if ((st = metrics_gauge_new(reg, "lore_jobs", "pending and dead jobs by queue and state",
                                queue_state, 2, 64, &p->m_jobs)) != LORE_OK ||
        (st = metrics_gauge_new(reg, "lore_jobs_dead_letter", "jobs in the dead-letter queue", NULL,
                                0, 1, &p->m_dead)) != LORE_OK ||
        (st = metrics_gauge_new(reg, "lore_jobs_oldest_ready_age_seconds",
                                "age of the oldest job waiting to run", NULL, 0, 1,
                                &p->m_oldest)) != LORE_OK ||
        (st = metrics_histogram_new(reg, "lore_job_duration_seconds",
                                    "time a batch of jobs took to run, per job", queue_label, 1, 16,
                                    dur, sizeof dur / sizeof dur[0], &p->m_duration)) != LORE_OK ||
        (st = metrics_counter_new(reg, "lore_job_retries_total",
                                  "failed attempts that will be retried", queue_label, 1, 16,
                                  &p->m_retries)) != LORE_OK ||
        (st = metrics_counter_new(reg, "lore_jobs_finished_total",
                                  "job attempts by outcome (done, retry, dead)", queue_outcome, 2,
                                  64, &p->m_completed)) != LORE_OK ||
        (st = metrics_counter_new(reg, "lore_job_leases_lost_total",
                                  "jobs whose lease was taken over before they finished",
                                  queue_label, 1, 16, &p->m_lost)) != LORE_OK)
        return st;
    return metrics_on_collect(reg, collect, p);
}

static void wake_pool(void *ctx) {
    queue_pool_notify(ctx);
}

lore_status queue_pool_start(const char *store_url, const queue_config *c, unsigned threads,
                             const char *name, const queue_handler *h, metrics_registry *reg,
                             queue_pool **out, char *err, size_t errlen) {
    *out = NULL;
    if (threads < 1 || threads > MAX_WORKERS) {
        snprintf(err, errlen, "workers must be 1..%d", MAX_WORKERS);
        return LORE_INVALID;
    }
    queue_pool *p = calloc(1, sizeof *p);
    if (!p) return LORE_NOMEM;
    p->cfg = *c;
    p->h = *h;
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->ks_mu, NULL);
    pthread_mutex_init(&p->claim_mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    lore_status st = LORE_NOMEM;
    if (!(p->store_url = strdup(store_url)) || !(p->workers = calloc(threads, sizeof *p->workers)))
        goto fail;
    if ((st = store_open(store_url, STORE_OPEN_CREATE, &p->ks, err, errlen)) != LORE_OK) goto fail;
    if (reg && (st = register_metrics(p, reg)) != LORE_OK) {
        snprintf(err, errlen, "cannot register queue metrics");
        goto fail;
    }
    if ((st = queue_wake_start(store_url, wake_pool, p, &p->waker, err, errlen)) != LORE_OK)
        goto fail;
    for (unsigned i = 0; i < threads; i++) {
        worker *w = &p->workers[i];
        w->p = p;
        w->no = i + 1;
        snprintf(w->name, sizeof w->name, "%s/%u", name, i + 1);
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            snprintf(err, errlen, "cannot start worker thread");
            st = LORE_INTERNAL;
            goto fail;
        }
        p->nworkers++;
    }
    if (pthread_create(&p->keeper, NULL, keeper_main, p) != 0) {
        snprintf(err, errlen, "cannot start the lease keeper");
        st = LORE_INTERNAL;
        goto fail;
    }
    p->keeper_started = 1;
    *out = p;
    return LORE_OK;
fail:
    queue_pool_stop(p);
    return st;
}

void queue_pool_notify(queue_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->wake++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void queue_pool_stop(queue_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nworkers; i++) {
        pthread_join(p->workers[i].thread, NULL);
        free(p->workers[i].jobs);
    }
    if (p->keeper_started) pthread_join(p->keeper, NULL);
    queue_wake_stop(p->waker); /* after the workers: they read its state */
    store_close(p->ks);
    free(p->workers);
    free(p->store_url);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->ks_mu);
    pthread_mutex_destroy(&p->claim_mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

uint64_t queue_pool_finished(const queue_pool *p) {
    return p ? atomic_load(&((queue_pool *)p)->finished) : 0;
}
