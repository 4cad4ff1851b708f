/* The webhook gate: POST /v1/hooks/{connector_id}.
 *
 * No API key: the delivery's signature is the credential. In this order,
 * before anything is queued (docs/connectors.md, "The gate"):
 *   1. body cap: hook_max_body_kb, enforced by the server while the body
 *      arrives (413), and hook_inflight_mb on all bodies being received at
 *      once (api.c, hook_reserve: 503 with Retry-After);
 *   2. connector lookup: an unknown or malformed id answers exactly like a
 *      bad signature (same status, same bytes), after an HMAC of the body
 *      with a decoy key, so neither the answer nor its time tells whether
 *      an id exists;
 *   3. signature: the connector's verify() with the current secret, then
 *      with the previous one while a rotation's grace period lasts (401);
 *   4. the connector's rate limit (hook_rate_per_min, 429 with Retry-After),
 *      after the signature so nobody without the secret can spend a
 *      source's budget;
 *   5. inspect(): ANSWER (Slack's url_verification challenge) answers with
 *      the connector's body, IGNORE answers 200, MALFORMED 400;
 *   6. dedup by the source's delivery id: a redelivery answers 200 and
 *      queues nothing;
 *   7. one durable job (kind "hook", connectors/connector_jobs.h), FIFO per
 *      source object ("<connector id>:<group>"), and 200 at once: the
 *      sources' timeouts (Slack 3 s, GitHub 10 s) never wait for the work.
 *      A full queue answers 503 with Retry-After so the source redelivers.
 * Every refusal is logged with its reason and the connector id (never the
 * secret or the signature), and every delivery is counted in
 * lore_hook_deliveries_total{kind, outcome}. */
#include "api/api_int.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/connector.h"
#include "connectors/connector_admin.h"
#include "connectors/connector_jobs.h"
#include "crypto/sha256.h"
#include "secrets/secrets.h"
#include "util/log.h"
#include "util/timeutil.h"

/* The one answer for an unknown connector, a bad signature and a stale
 * timestamp: fixed bytes, so two refusals can be compared byte for byte. */
static const char refused_body[] =
    "{\"type\":\"urn:lore:problem:bad-signature\",\"title\":\"Bad signature\",\"status\":401,"
    "\"detail\":\"the delivery is not signed with this webhook's secret, or its signed time is "
    "outside the replay window\"}";

lore_status api_hooks_init(api *a) {
    static const char *const labels[] = {"kind", "outcome"};
    if (RAND_bytes(a->hook_decoy_key, (int)sizeof a->hook_decoy_key) != 1) return LORE_INTERNAL;
    return metrics_counter_new(a->metrics, "lore_hook_deliveries_total",
                               "webhook deliveries by connector kind and outcome", labels, 2, 128,
                               &a->m_hooks);
}

static void count(api_req *q, const char *kind, const char *outcome) {
    const char *l[2] = {kind ? kind : "unknown", outcome};
    metrics_add(q->a->m_hooks, l, 1);
}

/* The connector id for logs: only a well-formed one is printed as sent. */
static const char *log_id(const char *id) {
    return connector_id_valid(id) ? id : "(malformed id)";
}

static void refuse(api_req *q, const char *id, const char *kind, const char *outcome,
                   const char *why) {
    LORE_WARN("hook: refused a delivery for connector %s: %s", log_id(id), why);
    count(q, kind, outcome);
    http_respond(q->r, 401, "application/problem+json", refused_body, sizeof refused_body - 1);
}

static const char *req_header(void *ctx, const char *name) {
    return http_header(ctx, name);
}

/* The work a known id with a bad signature costs, done for an unknown one:
 * an HMAC of the body, a secret lookup and a second instance lookup (both
 * missing), so the time taken does not tell whether the id exists. */
static void decoy(api_req *q, const connector_request *req) {
    uint8_t mac[32];
    seal_hmac_sha256(q->a->hook_decoy_key, sizeof q->a->hook_decoy_key, req->body, req->body_len,
                     mac);
    OPENSSL_cleanse(mac, sizeof mac);
    lore_buf b;
    lore_buf_init(&b, SECRET_VALUE_MAX);
    char err[128];
    lore_status st =
        secrets_get(q->a->keyring, q->th->control, "", "connector:decoy", &b, err, sizeof err);
    store_connector *c = NULL;
    if (st != LORE_OK) st = store_connector_get(q->th->control, "con_00000000000000000000", &c);
    (void)st;
    store_connector_free(c);
    lore_buf_free(&b);
}

/* Verifies with the current secret, then the previous one. */
static connector_verdict verify(api_req *q, const connector_ops *ops, const store_connector *c,
                                const connector_secrets *cs, const connector_request *req) {
    connector_verdict v = ops->verify(req, (const uint8_t *)cs->current.data, cs->current.len);
    if (v == CONNECTOR_OK) return v;
    lore_buf prev;
    lore_buf_init(&prev, SECRET_VALUE_MAX);
    char err[256];
    connector_verdict pv = v;
    if (cs->has_previous)
        pv = ops->verify(req, (const uint8_t *)cs->previous.data, cs->previous.len);
    else if (connector_admin_previous(q->a->keyring, q->th->control, c, req->now_ms, &prev, err,
                                      sizeof err) == LORE_OK)
        pv = ops->verify(req, (const uint8_t *)prev.data, prev.len); /* rotated meanwhile */
    if (prev.data && prev.alloc) OPENSSL_cleanse(prev.data, prev.alloc);
    lore_buf_free(&prev);
    return pv == CONNECTOR_OK ? pv : v;
}

/* A FIFO group of the connector: "<id>:<group>", or "<id>:#<sha256>" when
 * that would not fit a group key. */
static void group_key(const char *id, const char *group, char *out) {
    int n = snprintf(out, STORE_JOB_GROUP_MAX + 1, "%s:%s", id, group);
    if (n >= 0 && n <= STORE_JOB_GROUP_MAX) return;
    uint8_t h[32];
    char hex[65];
    lore_sha256(group, strlen(group), h);
    lore_hex(h, sizeof h, hex);
    snprintf(out, STORE_JOB_GROUP_MAX + 1, "%s:#%s", id, hex);
}

static void answer_status(api_req *q, unsigned status, const char *state, const char *job) {
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string(state));
    if (job) json_object_set_new(o, "job", json_string(job));
    api_json(q, status, o);
}

/* Steps 6 and 7: dedup and one durable job. */
static void enqueue(api_req *q, const store_connector *c, const connector_delivery *d,
                    const char *body, size_t len) {
    api *a = q->a;
    const char *kind = c->kind;
    char dedup[STORE_JOB_DEDUP_MAX + 1];
    snprintf(dedup, sizeof dedup, "hook:%s:%s", c->id, d->delivery_id);
    store_job *seen = NULL;
    if (d->delivery_id[0] &&
        store_job_get_dedup(q->th->control, c->tenant, dedup, &seen) == LORE_OK) {
        count(q, kind, "duplicate");
        answer_status(q, 200, "duplicate", seen->pub);
        store_job_free(seen);
        return;
    }
    /* inspect parsed the body already: QUEUE means it is one JSON value
     * (connector.h), so the raw bytes go into the job's payload as they are. */
    char groups[CONNECTOR_MAX_GROUPS][STORE_JOB_GROUP_MAX + 1];
    char *gp[CONNECTOR_MAX_GROUPS];
    size_t ng = d->ngroups > CONNECTOR_MAX_GROUPS ? CONNECTOR_MAX_GROUPS : d->ngroups;
    for (size_t i = 0; i < ng; i++) {
        group_key(c->id, d->groups[i], groups[i]);
        gp[i] = groups[i];
    }
    if (!ng) { /* no object named: the connector's deliveries run in order */
        snprintf(groups[0], sizeof groups[0], "%s", c->id);
        gp[0] = groups[0];
        ng = 1;
    }
    char *payload = connector_job_payload(c->id, d->event, d->delivery_id, body, len);
    if (!payload) {
        api_problem(q, 503, "out-of-memory", "Server out of memory", "cannot queue the delivery");
        return;
    }
    store_job job;
    memset(&job, 0, sizeof job);
    snprintf(job.kind, sizeof job.kind, "%s", CONNECTOR_JOB_KIND);
    snprintf(job.tenant, sizeof job.tenant, "%s", c->tenant);
    job.dedup_key = d->delivery_id[0] ? dedup : NULL;
    job.groups = gp;
    job.ngroups = ng;
    job.max_attempts = a->qcfg.max_attempts;
    char blob[128] = "";
    if (api_job_payload(q, &job, payload, blob, sizeof blob)) {
        free(payload);
        return; /* answered 503 */
    }
    job.weight = (int64_t)strlen(payload);
    store_enqueue_outcome o;
    lore_status st = store_job_enqueue(q->th->control, &job, 1, a->qcfg.max_pending_tenant,
                                       a->qcfg.max_pending_total, lore_now_ms(), &o);
    free(payload);
    if (blob[0] && (st != LORE_OK || o != STORE_ENQUEUED))
        store_blob_remove(q->th->control, c->tenant, blob);
    if (st != LORE_OK) {
        count(q, kind, "error");
        api_internal(q, "queueing the delivery", st);
        return;
    }
    if (o == STORE_ENQUEUE_TENANT_FULL || o == STORE_ENQUEUE_QUEUE_FULL) {
        char ra[16];
        snprintf(ra, sizeof ra, "%ld",
                 api_queue_retry_after(q, o == STORE_ENQUEUE_TENANT_FULL ? c->tenant : NULL));
        LORE_WARN("hook: refused a delivery for connector %s: the job queue is full", c->id);
        count(q, kind, "busy");
        http_add_header(q->r, "Retry-After", ra);
        api_problem(q, 503, "server-busy", "Server busy",
                    "the job queue is full; redeliver after %s s", ra);
        return;
    }
    if (o == STORE_ENQUEUE_DUPLICATE) { /* a redelivery that raced the first */
        count(q, kind, "duplicate");
        answer_status(q, 200, "duplicate", job.pub);
        return;
    }
    if (a->queue_notify) a->queue_notify(a->queue_notify_ctx);
    count(q, kind, "queued");
    answer_status(q, 200, "queued", job.pub);
}

void api_hook_done(api_req *q, unsigned status) {
    if (status != 413) return; /* the server refused the body before the handler */
    const char *id = http_match_param(&q->m, "connector_id");
    LORE_WARN("hook: refused a delivery for connector %s: body over hook_max_body_kb (%lld KiB)",
              log_id(id ? id : ""), (long long)q->a->cfg.hook_max_body_kb);
    count(q, NULL, "too_large");
}

void api_hook_post(api_req *q) {
    api *a = q->a;
    const char *id = http_match_param(&q->m, "connector_id");
    size_t len = 0;
    const char *body = http_body(q->r, &len);
    if (!body) {
        body = "";
        len = 0;
    }
    connector_request req = {req_header, q->r, (const uint8_t *)body, len, lore_now_ms()};
    if (!a->keyring) {
        http_add_header(q->r, "Retry-After", "60");
        api_problem(q, 503, "unavailable", "Service unavailable",
                    "webhooks are not set up on this server (no keyring for signing secrets)");
        return;
    }
    store_connector *c = NULL;
    connector_secrets cs;
    connector_secrets_init(&cs);
    char err[256] = "";
    lore_status st = connector_admin_get(a->keyring, q->th->control, NULL, id, req.now_ms, &c, &cs,
                                         err, sizeof err);
    const connector_ops *ops = st == LORE_OK ? connector_find(c->kind) : NULL;
    if (st == LORE_NOT_FOUND || (st == LORE_OK && !ops)) {
        decoy(q, &req);
        refuse(q, id, c ? c->kind : NULL, "unknown",
               st == LORE_OK ? "its kind is not in this build" : "no such connector");
        goto out;
    }
    if (st != LORE_OK) {
        LORE_ERROR("hook: connector %s: cannot open its signing secret: %s", c ? c->id : log_id(id),
                   err[0] ? err : lore_status_message(st));
        count(q, NULL, "error");
        http_add_header(q->r, "Retry-After", "60");
        api_problem(q, 503, "unavailable", "Service unavailable",
                    "the webhook's signing secret cannot be opened now; the operator is told");
        goto out;
    }
    snprintf(q->tenant_buf, sizeof q->tenant_buf, "%s", c->tenant);
    q->tenant_name = q->tenant_buf; /* for the access log and the job's blob */
    connector_verdict v = verify(q, ops, c, &cs, &req);
    if (v != CONNECTOR_OK) {
        refuse(q, c->id, c->kind, v == CONNECTOR_STALE ? "stale" : "bad_signature",
               v == CONNECTOR_STALE ? "signed time outside the replay window" : "bad signature");
        goto out;
    }
    char bucket[64];
    snprintf(bucket, sizeof bucket, "hook:%s", c->id);
    if (!api_rate_check(q, bucket, (uint32_t)a->cfg.hook_rate_per_min)) {
        LORE_WARN("hook: refused a delivery for connector %s: rate limit of %lld per minute", c->id,
                  (long long)a->cfg.hook_rate_per_min);
        count(q, c->kind, "rate_limited");
        goto out;
    }
    connector_delivery d;
    memset(&d, 0, sizeof d);
    v = ops->inspect(&req, &d);
    switch (v) {
    case CONNECTOR_QUEUE:
        enqueue(q, c, &d, body, len);
        break;
    case CONNECTOR_ANSWER: {
        const char *ans = d.answer ? d.answer : "";
        count(q, c->kind, "answered");
        http_respond(q->r, 200, d.answer_type ? d.answer_type : "text/plain", ans, strlen(ans));
        break;
    }
    case CONNECTOR_IGNORE:
        count(q, c->kind, "ignored");
        answer_status(q, 200, "ignored", NULL);
        break;
    case CONNECTOR_STALE:
        refuse(q, c->id, c->kind, "stale", d.why[0] ? d.why : "stale delivery");
        break;
    default:
        LORE_WARN("hook: refused a delivery for connector %s: malformed: %s", c->id,
                  d.why[0] ? d.why : "not a payload of its source");
        count(q, c->kind, "malformed");
        api_problem(q, 400, "malformed-delivery", "Malformed delivery",
                    "the delivery is signed but is not a %s payload: %s", ops->title,
                    d.why[0] ? d.why : "unexpected shape");
        break;
    }
    free(d.answer);
out:
    connector_secrets_clear(&cs);
    store_connector_free(c);
}
