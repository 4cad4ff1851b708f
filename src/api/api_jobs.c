/* Jobs in the API: every write becomes a durable job (queue/queue.h), and
 * the routes that let callers follow and operate them.
 *
 *   POST /v1/documents, POST /v1/files, DELETE /v1/documents/{id}
 *       validate, enqueue (api_enqueue), answer 202 with the job and its
 *       status URL; ?wait=SECONDS (at most max_wait_s) answers when the job
 *       finished instead: 200 done, 422 dead-lettered, 202 still running.
 *       Idempotency-Key: a repeated key returns the original job.
 *       Past the tenant's queue cap 429, past the server's 503, both with
 *       Retry-After; nothing is queued then.
 *   GET /v1/jobs/{id}        (write scope)  one job of the caller's tenant
 *   GET /v1/jobs?state=      (admin)        newest first, cursor paging
 *   POST /v1/jobs/{id}/retry (admin)        a dead job back in the queue
 *   POST /v1/reindex         (admin)        rebuild the tenant's index
 *
 * Job ids in answers and paths are public ids ("job_" and 24 hex digits,
 * store.h); the queue's integer id counts every tenant's writes and is
 * never shown. {id} also takes the number a server handed out before public
 * ids, for the caller's tenant's jobs of that time (store_job_find). The
 * listing's cursor is a position in the tenant's own sequence.
 *
 * Waiting never holds a server thread: the request is suspended
 * (http_suspend) and one waiter thread, with its own store handle, answers
 * it when the pool reports finished jobs (api_jobs_finished) or, for jobs
 * run by other processes, when its 50 ms poll sees them finished. */
#include "api/api_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ingest/ingest_jobs.h"
#include "queue/queue.h"
#include "util/log.h"
#include "util/timeutil.h"

#define WAIT_POLL_MS 50

struct api_wait {
    struct api_wait *next;
    api_req *q;
    char tenant[STORE_NAME_MAX + 1];
    int64_t *ids;
    size_t n;
    int64_t deadline_ms;
    json_t *body; /* the answer under construction */
};

/* ---- answering ---- */

/* Fills the answer from the jobs' current states and sends it. */
static void answer(api_req *q, store_job *const *jobs, size_t n, json_t *body, int waited) {
    int all_done = 1, any_dead = 0, finished = 1;
    for (size_t i = 0; i < n; i++) {
        all_done &= jobs[i]->state == STORE_JOB_DONE;
        any_dead |= jobs[i]->state == STORE_JOB_DEAD;
        finished &= jobs[i]->state >= STORE_JOB_DONE;
    }
    if (n == 1) {
        json_t *j = view_job(jobs[0]);
        /* A done documents job knows what happened to each document. */
        json_t *docs = json_object_get(json_object_get(j, "result"), "documents");
        if (jobs[0]->state == STORE_JOB_DONE && docs) json_object_set(body, "documents", docs);
        json_object_set_new(body, "job", j);
        char loc[64];
        snprintf(loc, sizeof loc, "/v1/jobs/%s", jobs[0]->pub);
        http_add_header(q->r, "Location", loc);
    } else {
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(list, view_job(jobs[i]));
        json_object_set_new(body, "jobs", list);
    }
    unsigned status = 202;
    if (waited && finished) status = all_done ? 200 : 422;
    if (status == 422 && any_dead) {
        /* A problem document that still carries the job(s). */
        json_object_set_new(body, "type", json_string("urn:lore:problem:job-failed"));
        json_object_set_new(body, "title", json_string("Job failed"));
        json_object_set_new(body, "status", json_integer(422));
        const char *err = NULL;
        for (size_t i = 0; i < n && !err; i++)
            if (jobs[i]->state == STORE_JOB_DEAD) err = jobs[i]->error;
        json_object_set_new(body, "detail", json_string(err ? err : "the job was dead-lettered"));
        json_object_set_new(body, "request_id", json_string(http_request_id(q->r)));
        char *s = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        if (s)
            http_respond_owned(q->r, 422, "application/problem+json", s, strlen(s));
        else
            api_problem(q, 500, "internal", "Internal error", "the answer could not be encoded");
        return;
    }
    api_json(q, status, body);
}

/* Reads the jobs' current states; NULL entries on failure. */
static lore_status read_jobs(store *s, const char *tenant, const int64_t *ids, size_t n,
                             store_job **out) {
    lore_status st = LORE_OK;
    for (size_t i = 0; i < n; i++) {
        out[i] = NULL;
        if (st == LORE_OK) st = store_job_get(s, tenant, ids[i], 0, &out[i]);
    }
    return st;
}

static void free_jobs(store_job **jobs, size_t n) {
    for (size_t i = 0; i < n; i++)
        store_job_free(jobs[i]);
}

/* ---- the waiter ---- */

/* Answers a waiting request from the jobs' states and resumes it. */
static void wait_answer(store *s, struct api_wait *w) {
    store_job **jobs = calloc(w->n, sizeof *jobs);
    lore_status st = jobs ? read_jobs(s, w->tenant, w->ids, w->n, jobs) : LORE_NOMEM;
    if (st == LORE_OK)
        answer(w->q, jobs, w->n, w->body, 1);
    else {
        json_decref(w->body);
        http_problem(w->q->r, 500, "internal", "Internal error", "cannot read the job's state",
                     NULL);
    }
    w->body = NULL;
    if (jobs) free_jobs(jobs, w->n);
    free(jobs);
    http_resume(w->q->r);
}

static int wait_finished(store *s, const struct api_wait *w, int64_t now) {
    if (now >= w->deadline_ms) return 1;
    for (size_t i = 0; i < w->n; i++) {
        store_job *j = NULL;
        lore_status st = store_job_get(s, w->tenant, w->ids[i], 0, &j);
        int fin = st != LORE_OK || j->state >= STORE_JOB_DONE;
        store_job_free(j);
        if (!fin) return 0;
    }
    return 1;
}

static void *waiter_main(void *arg) {
    api *a = arg;
    store *s = a->waiter_store;
    pthread_mutex_lock(&a->wait_mu);
    while (!a->wait_stop) {
        if (!a->waits) {
            pthread_cond_wait(&a->wait_cv, &a->wait_mu);
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += WAIT_POLL_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        uint64_t seen = a->wait_kick;
        while (!a->wait_stop && a->wait_kick == seen)
            if (pthread_cond_timedwait(&a->wait_cv, &a->wait_mu, &until) != 0) break;
        /* Take the list, decide outside the lock, put back the unfinished. */
        struct api_wait *list = a->waits, *keep = NULL;
        a->waits = NULL;
        int draining = a->wait_stop || a->draining;
        pthread_mutex_unlock(&a->wait_mu);
        int64_t now = lore_now_ms();
        while (list) {
            struct api_wait *w = list;
            list = w->next;
            if (draining || wait_finished(s, w, now)) {
                wait_answer(s, w);
                free(w->ids);
                free(w);
            } else {
                w->next = keep;
                keep = w;
            }
        }
        pthread_mutex_lock(&a->wait_mu);
        while (keep) {
            struct api_wait *w = keep;
            keep = w->next;
            w->next = a->waits;
            a->waits = w;
        }
    }
    pthread_mutex_unlock(&a->wait_mu);
    return NULL;
}

lore_status api_jobs_init(api *a, char *err, size_t errlen) {
    queue_config_from(&a->qcfg, &a->cfg);
    lore_status st = store_open(a->cfg.store_url, STORE_OPEN_CREATE, &a->waiter_store, err, errlen);
    if (st != LORE_OK) return st;
    if (pthread_create(&a->waiter, NULL, waiter_main, a) != 0) {
        snprintf(err, errlen, "cannot start the job waiter thread");
        return LORE_INTERNAL;
    }
    a->waiter_started = 1;
    return LORE_OK;
}

void api_jobs_free(api *a) {
    if (a->waiter_started) {
        pthread_mutex_lock(&a->wait_mu);
        a->wait_stop = 1;
        pthread_cond_broadcast(&a->wait_cv);
        pthread_mutex_unlock(&a->wait_mu);
        pthread_join(a->waiter, NULL);
        a->waiter_started = 0;
    }
    store_close(a->waiter_store);
    a->waiter_store = NULL;
}

void api_jobs_finished(void *ctx, const store_job *jobs, size_t n) {
    (void)jobs;
    api *a = ctx;
    atomic_fetch_add(&a->jobs_finished, n);
    pthread_mutex_lock(&a->wait_mu);
    a->wait_kick++;
    pthread_cond_broadcast(&a->wait_cv);
    pthread_mutex_unlock(&a->wait_mu);
}

void api_drain(api *a) {
    pthread_mutex_lock(&a->wait_mu);
    a->draining = 1;
    a->wait_kick++;
    pthread_cond_broadcast(&a->wait_cv);
    pthread_mutex_unlock(&a->wait_mu);
}

void api_set_queue(api *a, void (*notify)(void *ctx), void *ctx) {
    a->queue_notify = notify;
    a->queue_notify_ctx = ctx;
}

/* ---- enqueueing ---- */

int api_idempotency_key(api_req *q, const char **key) {
    *key = http_header(q->r, "Idempotency-Key");
    if (!*key) return 0;
    size_t n = strlen(*key);
    int ok = n >= 1 && n <= 200;
    for (size_t i = 0; ok && i < n; i++)
        ok = (*key)[i] > 0x20 && (*key)[i] < 0x7f;
    if (!ok) {
        api_bad_field(q, "/Idempotency-Key",
                      "Idempotency-Key is 1 to 200 visible ASCII characters (an upstream "
                      "delivery id, a UUID)");
        return -1;
    }
    snprintf(q->idem, sizeof q->idem, "%s:%s", q->key ? q->key->id : "-", *key);
    *key = q->idem;
    return 0;
}

static int api_parse_wait(api_req *q, int64_t *wait_ms) {
    *wait_ms = 0;
    const char *v = http_query(q->r, "wait");
    if (!v) return 0;
    char *end;
    errno = 0;
    double secs = strtod(v, &end);
    if (!*v || *end || errno || secs < 0 || secs != secs) {
        api_bad_field(q, "/wait", "wait is a number of seconds from 0 to %lld",
                      (long long)q->a->cfg.max_wait_s);
        return -1;
    }
    if (secs > (double)q->a->cfg.max_wait_s) secs = (double)q->a->cfg.max_wait_s;
    *wait_ms = (int64_t)(secs * 1000);
    return 0;
}

/* Seconds a refused writer should wait: the backlog over what the workers
 * recently finished per second, within 1..60. */
static long retry_after(api *a, int64_t pending) {
    int64_t now = lore_now_ms();
    uint64_t done = atomic_load(&a->jobs_finished);
    pthread_mutex_lock(&a->wait_mu);
    if (now - a->rate_at_ms >= 1000) {
        double per_s = (double)(done - a->rate_done) * 1000.0 / (double)(now - a->rate_at_ms);
        a->rate_per_s = a->rate_at_ms ? 0.5 * a->rate_per_s + 0.5 * per_s : per_s;
        a->rate_at_ms = now;
        a->rate_done = done;
    }
    double rate = a->rate_per_s;
    pthread_mutex_unlock(&a->wait_mu);
    double excess = (double)pending * 0.1 + 1;
    long secs = rate > 0.5 ? (long)(excess / rate) + 1 : 5;
    return secs < 1 ? 1 : secs > 60 ? 60 : secs;
}

long api_queue_retry_after(api_req *q, const char *tenant) {
    int64_t oldest = 0, pending = 0;
    if (store_job_pending(q->th->control, tenant, lore_now_ms(), &oldest, &pending) != LORE_OK)
        pending = 0; /* the estimate falls back to its floor */
    return retry_after(q->a, pending);
}

static void refuse_full(api_req *q, store_enqueue_outcome o, const char *tenant) {
    int64_t oldest = 0, pending = 0;
    if (store_job_pending(q->th->control, o == STORE_ENQUEUE_TENANT_FULL ? tenant : NULL,
                          lore_now_ms(), &oldest, &pending) != LORE_OK)
        pending = 0; /* the estimate falls back to its floor */
    char ra[16];
    snprintf(ra, sizeof ra, "%ld", retry_after(q->a, pending));
    http_add_header(q->r, "Retry-After", ra);
    if (o == STORE_ENQUEUE_TENANT_FULL)
        api_problem(q, 429, "queue-full", "Too many queued jobs",
                    "the tenant has %lld jobs waiting (queue_max_per_tenant is %lld); retry "
                    "after %s s",
                    (long long)pending, (long long)q->a->cfg.queue_max_per_tenant, ra);
    else
        api_problem(q, 503, "server-busy", "Server busy",
                    "the server has %lld jobs waiting (queue_max_total is %lld); retry after %s s",
                    (long long)pending, (long long)q->a->cfg.queue_max_total, ra);
}

int api_enqueue(api_req *q, store_job *jobs, size_t n, json_t *body) {
    int64_t wait_ms = 0;
    if (api_parse_wait(q, &wait_ms)) {
        json_decref(body);
        return 0;
    }
    store_enqueue_outcome o;
    int64_t now = lore_now_ms();
    for (size_t i = 0; i < n; i++) {
        jobs[i].max_attempts = q->a->qcfg.max_attempts;
        jobs[i].owner = q->key ? q->key->id : NULL;
        snprintf(jobs[i].tenant, sizeof jobs[i].tenant, "%s", q->tenant_name);
    }
    lore_status st = store_job_enqueue(q->th->control, jobs, n, q->a->qcfg.max_pending_tenant,
                                       q->a->qcfg.max_pending_total, now, &o);
    if (st != LORE_OK) {
        json_decref(body);
        api_internal(q, "queueing the job", st);
        return 0;
    }
    if (o == STORE_ENQUEUE_TENANT_FULL || o == STORE_ENQUEUE_QUEUE_FULL) {
        json_decref(body);
        refuse_full(q, o, q->tenant_name);
        return 0;
    }
    if (o == STORE_ENQUEUE_DUPLICATE) http_add_header(q->r, "Idempotent-Replayed", "true");
    if (q->a->queue_notify) q->a->queue_notify(q->a->queue_notify_ctx);
    struct api_wait *w = wait_ms > 0 ? calloc(1, sizeof *w) : NULL;
    if (w && (w->ids = calloc(n, sizeof *w->ids))) {
        w->q = q;
        snprintf(w->tenant, sizeof w->tenant, "%s", q->tenant_name);
        for (size_t i = 0; i < n; i++)
            w->ids[i] = jobs[i].id;
        w->n = n;
        w->deadline_ms = now + wait_ms;
        w->body = body;
        pthread_mutex_lock(&q->a->wait_mu);
        int refuse = q->a->draining;
        if (!refuse) {
            w->next = q->a->waits;
            q->a->waits = w;
            q->a->wait_kick++;
            pthread_cond_broadcast(&q->a->wait_cv);
            http_suspend(q->r);
        }
        pthread_mutex_unlock(&q->a->wait_mu);
        if (!refuse) return o == STORE_ENQUEUED;
        free(w->ids);
    }
    free(w);
    /* Answered from the stored rows: a duplicate's are the original's. */
    int64_t *ids = calloc(n, sizeof *ids);
    store_job **list = calloc(n, sizeof *list);
    for (size_t i = 0; ids && i < n; i++)
        ids[i] = jobs[i].id;
    st = ids && list ? read_jobs(q->th->control, q->tenant_name, ids, n, list) : LORE_NOMEM;
    if (st == LORE_OK)
        answer(q, list, n, body, 0);
    else {
        json_decref(body);
        api_internal(q, "reading the queued job", st);
    }
    if (list) free_jobs(list, n);
    free(list);
    free(ids);
    return o == STORE_ENQUEUED;
}

int api_job_payload(api_req *q, store_job *job, const char *payload, char *blob, size_t bloblen) {
    size_t len = strlen(payload);
    if (len <= API_INLINE_PAYLOAD) {
        job->payload = (uint8_t *)payload;
        job->payload_len = len;
        return 0;
    }
    /* Durable before the job that names it is committed (blob_finish). */
    lore_status st = bloblen > STORE_BLOB_NAME_MAX
                         ? store_blob_put(q->th->control, q->tenant_name, payload, len, blob)
                         : LORE_TOO_LARGE;
    if (st != LORE_OK) {
        api_problem(q, 503, "unavailable", "Service unavailable", "cannot store the payload: %s",
                    lore_status_message(st));
        return -1;
    }
    job->blob = blob;
    return 0;
}

/* ---- routes ---- */

/* The caller's tenant's job that the path's {id} names. A malformed id,
 * another tenant's job and a missing one are the same 404. */
static lore_status find_job(api_req *q, store_job **out) {
    return store_job_find(q->th->control, q->tenant_name, http_match_param(&q->m, "id"), 0, out);
}

void api_job_get(api_req *q) {
    store_job *j = NULL;
    lore_status st = find_job(q, &j);
    /* A job tells which documents someone wrote: a key that is not the
     * tenant's admin sees only the jobs it queued itself. */
    if (st == LORE_OK && !(q->key->scopes & (AUTH_SCOPE_ADMIN | AUTH_SCOPE_SERVER)) &&
        (!j->owner || strcmp(j->owner, q->key->id))) {
        store_job_free(j);
        j = NULL;
        st = LORE_NOT_FOUND;
    }
    if (st == LORE_NOT_FOUND) {
        api_not_found(q, "job");
        return;
    }
    if (st != LORE_OK) {
        api_internal(q, "reading the job", st);
        return;
    }
    api_json(q, 200, view_job(j));
    store_job_free(j);
}

static int jobs_arg(void *ctx, const char *name, const char *value) {
    (void)value;
    const char **bad = ctx;
    if (strcmp(name, "state") && strcmp(name, "limit") && strcmp(name, "cursor")) {
        *bad = name;
        return 1;
    }
    return 0;
}

void api_jobs_list(api_req *q) {
    const char *unknown = NULL;
    http_query_each(q->r, jobs_arg, &unknown);
    if (unknown) {
        api_bad_field(q, "", "unknown parameter '%.60s' (state, limit, cursor)", unknown);
        return;
    }
    int state = -1;
    const char *v = http_query(q->r, "state");
    if (v && (state = queue_state_parse(v)) < 0) {
        api_bad_field(q, "/state", "state is one of ready, leased, done, dead");
        return;
    }
    size_t limit = 50;
    v = http_query(q->r, "limit");
    if (v && api_parse_limit(v, 1000, &limit)) {
        api_bad_field(q, "/limit", "limit must be a whole number from 1 to 1000");
        return;
    }
    /* The cursor is the tenant's own job sequence (store_job_list), never
     * the server-wide id. */
    int64_t before = 0;
    v = http_query(q->r, "cursor");
    if (v) {
        char *end;
        errno = 0;
        long long c = strtoll(v, &end, 10);
        if (!*v || *end || errno || c <= 0) {
            api_bad_field(q, "/cursor", "cursor must be a next_cursor value from a listing");
            return;
        }
        before = c;
    }
    store_job *jobs = NULL;
    size_t n = 0;
    lore_status st =
        store_job_list(q->th->control, q->tenant_name, state, before, limit + 1, &jobs, &n);
    if (st != LORE_OK) {
        api_internal(q, "listing jobs", st);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n && i < limit; i++)
        json_array_append_new(list, view_job(&jobs[i]));
    json_t *o = json_object();
    json_object_set_new(o, "jobs", list);
    if (n > limit) {
        char c[32];
        snprintf(c, sizeof c, "%lld", (long long)jobs[limit - 1].seq);
        json_object_set_new(o, "next_cursor", json_string(c));
    } else {
        json_object_set_new(o, "next_cursor", json_null());
    }
    store_jobs_free(jobs, n);
    api_json(q, 200, o);
}

void api_job_retry(api_req *q) {
    store_job *found = NULL;
    lore_status st = find_job(q, &found);
    int64_t id = found ? found->id : 0;
    store_job_free(found);
    if (st == LORE_OK) st = store_job_retry(q->th->control, q->tenant_name, id, lore_now_ms());
    if (st == LORE_NOT_FOUND) {
        api_not_found(q, "job");
        return;
    }
    if (st == LORE_INVALID) {
        api_problem(q, 409, "job-not-dead", "Job not dead",
                    "only a dead-lettered job can be retried; this one is not");
        return;
    }
    if (st != LORE_OK) {
        api_internal(q, "requeueing the job", st);
        return;
    }
    if (q->a->queue_notify) q->a->queue_notify(q->a->queue_notify_ctx);
    store_job *j = NULL;
    if (store_job_get(q->th->control, q->tenant_name, id, 0, &j) != LORE_OK) {
        api_internal(q, "reading the job", LORE_INTERNAL);
        return;
    }
    api_json(q, 200, view_job(j));
    store_job_free(j);
}

void api_reindex_post(api_req *q) {
    store_job job;
    memset(&job, 0, sizeof job);
    snprintf(job.kind, sizeof job.kind, "%s", INGEST_JOB_REINDEX);
    static char *const groups[1] = {"reindex"};
    job.groups = (char **)groups;
    job.ngroups = 1;
    job.payload = (uint8_t *)"{}";
    job.payload_len = 2;
    job.weight = STORE_JOB_ALONE; /* steps of its own, never batched with writes */
    const char *key;
    if (api_idempotency_key(q, &key)) return;
    job.dedup_key = (char *)key;
    api_enqueue(q, &job, 1, json_object());
}
