/* Probes and metrics: GET /health/live, /health/ready, /metrics. None needs
 * a key and none is rate-limited: a load balancer or Prometheus polling them
 * must never be refused for polling. /metrics can require a server key
 * (metrics_public = 0, enforced by api.c like any keyed route) since tenant
 * names appear in its labels. */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embed/embed_registry.h"
#include "ingest/ingest_embed.h"
#include "util/timeutil.h"

#define API_EMBED_BACKLOG_CACHE_MS 5000

void api_health_live(api_req *q) {
    static const char body[] = "{\"status\":\"ok\"}";
    http_respond(q->r, 200, "application/json", body, sizeof body - 1);
}

/* Why embedding lags, into reasons (a JSON array): this process's embedder
 * failed its last call, or a tenant's oldest pending chunk is older than
 * embed_backlog_degraded_s. The backlog is read from the tenants' stores at
 * most every few seconds (shared with the metrics scrape). */
static void embed_reasons(api_req *q, json_t *reasons) {
    embed_registry *r = q->a->tenant_settings.embedders;
    char buf[1024];
    if (r) {
        embedder *e = embed_registry_configured(r);
        embed_health h;
        e->ops->health(e, &h);
        if (!h.ok) {
            /* No key is needed here: the provider's own message (its host,
             * model and words) stays in the log and lore_embed_errors_total. */
            snprintf(buf, sizeof buf,
                     "the embedding provider's last call failed (%s error; the server's log "
                     "says why): new chunks wait for their embeddings; lexical search serves "
                     "them meanwhile",
                     embed_error_kind_name(h.last_error.kind));
            json_array_append_new(reasons, json_string(buf));
        }
    }
    ingest_embed_backlog *b = NULL;
    size_t n = 0;
    pthread_rwlock_rdlock(&q->a->tenants_lock); /* it opens tenants: none being deleted */
    lore_status st = ingest_embed_backlog_all(q->th->control, API_EMBED_BACKLOG_CACHE_MS, &b, &n);
    pthread_rwlock_unlock(&q->a->tenants_lock);
    if (st != LORE_OK) return;
    /* Summed over the tenants: this route needs no key, so it names no
     * tenant (with metrics_public = 0 nothing else does to a caller without
     * a server key), and its answer stays one line however many tenants lag.
     * Per tenant: lore_embed_pending_chunks in /metrics. */
    int64_t now = lore_now_ms(), limit = q->a->cfg.embed_backlog_degraded_s * 1000;
    int64_t chunks = 0, oldest = 0;
    size_t late = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t age = b[i].oldest_ms ? now - b[i].oldest_ms : 0;
        if (age <= limit) continue;
        late++;
        chunks += b[i].count;
        if (age > oldest) oldest = age;
    }
    if (late) {
        snprintf(buf, sizeof buf,
                 "%lld chunks in %zu tenant%s wait for embeddings, the oldest for %lld s "
                 "(embed_backlog_degraded_s is %lld; per tenant: lore_embed_pending_chunks in "
                 "/metrics)",
                 (long long)chunks, late, late == 1 ? "" : "s", (long long)(oldest / 1000),
                 (long long)q->a->cfg.embed_backlog_degraded_s);
        json_array_append_new(reasons, json_string(buf));
    }
    free(b);
}

void api_health_ready(api_req *q) {
    char err[256] = "";
    lore_status st = store_check(q->th->control, err, sizeof err);
    json_t *o = json_object();
    if (st != LORE_OK) {
        json_object_set_new(o, "status", json_string("unavailable"));
        json_object_set_new(o, "reason", json_string(err));
        api_json(q, 503, o);
        return;
    }
    /* Degraded still answers 200: searches and writes work, with something
     * to look at (limits per node while Redis is away, embeddings lagging). */
    json_t *reasons = json_array();
    char why[512];
    if (api_ratelimit_degraded(q->a, why, sizeof why))
        json_array_append_new(reasons, json_string(why));
    embed_reasons(q, reasons);
    int degraded = json_array_size(reasons) > 0;
    json_object_set_new(o, "status", json_string(degraded ? "degraded" : "ready"));
    if (degraded)
        json_object_set_new(o, "reasons", reasons);
    else
        json_decref(reasons);
    api_json(q, 200, o);
}

void api_metrics_get(api_req *q) {
    lore_buf b;
    lore_buf_init(&b, 16u << 20);
    lore_status st = metrics_render(q->a->metrics, &b);
    if (st != LORE_OK) {
        lore_buf_free(&b);
        api_internal(q, "rendering metrics", st);
        return;
    }
    size_t n = b.len;
    http_respond_owned(q->r, 200, "text/plain; version=0.0.4; charset=utf-8", lore_buf_take(&b), n);
}
