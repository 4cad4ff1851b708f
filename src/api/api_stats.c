/* The tenant's figures over REST, for the web page's administration and
 * for monitoring a tenant without shell access (the CLI's `lore stats`):
 *
 *   GET /v1/stats   (admin)  documents, chunks, bytes on disk, sources, the
 *                            embedding backlog, and the jobs by state
 *
 * Every figure is exact and about the caller's tenant only. Done jobs are
 * not counted: the store keeps no count of them (they are purged after
 * job_retention_days; /metrics counts finished attempts). */
#include "api/api_int.h"

#include <stdlib.h>
#include <string.h>

#include "ingest/ingest_embed.h"
#include "util/timeutil.h"

static json_t *age_s(int64_t since_ms, int64_t now_ms) {
    if (!since_ms) return json_null();
    return json_integer(now_ms > since_ms ? (now_ms - since_ms) / 1000 : 0);
}

/* Ready, leased and dead jobs of the tenant, with the age of its oldest
 * runnable ready job. */
static lore_status job_figures(api_req *q, int64_t now, json_t **out) {
    store_job_count *c = NULL;
    size_t n = 0;
    int64_t oldest = 0, pending = 0;
    lore_status st = store_job_counts(q->th->control, &c, &n);
    if (st == LORE_OK)
        st = store_job_pending(q->th->control, q->tenant_name, now, &oldest, &pending);
    if (st != LORE_OK) {
        free(c);
        return st;
    }
    int64_t ready = 0, leased = 0, dead = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(c[i].tenant, q->tenant_name)) continue;
        if (c[i].state == STORE_JOB_READY) ready += c[i].count;
        if (c[i].state == STORE_JOB_LEASED) leased += c[i].count;
        if (c[i].state == STORE_JOB_DEAD) dead += c[i].count;
    }
    free(c);
    json_t *j = json_object();
    json_object_set_new(j, "ready", json_integer(ready));
    json_object_set_new(j, "leased", json_integer(leased));
    json_object_set_new(j, "dead", json_integer(dead));
    json_object_set_new(j, "oldest_ready_age_s", age_s(oldest, now));
    *out = j;
    return LORE_OK;
}

static int any_arg(void *ctx, const char *name, const char *value) {
    (void)value;
    *(const char **)ctx = name;
    return 1;
}

void api_stats_get(api_req *q) {
    const char *unknown = NULL;
    http_query_each(q->r, any_arg, &unknown);
    if (unknown) {
        api_bad_field(q, "", "unknown parameter '%.60s' (GET /v1/stats takes none)", unknown);
        return;
    }
    api_tenant *t = api_tenant_get(q);
    if (!t) return;
    int64_t now = lore_now_ms();
    int64_t docs = 0, chunks = 0, bytes = 0, emb = 0, emb_oldest = 0;
    store_source_info *src = NULL;
    size_t nsrc = 0;
    json_t *jobs = NULL;
    lore_status st = store_counts(t->t, &docs, &chunks);
    if (st == LORE_OK) st = store_disk_bytes(t->t, &bytes);
    /* Every source of the tenant, whatever the admin key's principals. */
    if (st == LORE_OK) st = store_sources(t->t, NULL, &src, &nsrc);
    if (st == LORE_OK && q->a->tenant_settings.embedders)
        st = ingest_embed_pending(t->t, &emb, &emb_oldest);
    if (st == LORE_OK) st = job_figures(q, now, &jobs);
    store_sources_free(src, nsrc);
    if (st != LORE_OK) {
        api_internal(q, "reading the tenant's figures", st);
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "tenant", json_string(q->tenant_name));
    json_object_set_new(o, "documents", json_integer(docs));
    json_object_set_new(o, "chunks", json_integer(chunks));
    json_object_set_new(o, "disk_bytes", json_integer(bytes));
    json_object_set_new(o, "sources", json_integer((json_int_t)nsrc));
    if (q->a->tenant_settings.embedders) {
        json_t *e = json_object();
        json_object_set_new(e, "pending", json_integer(emb));
        json_object_set_new(e, "oldest_pending_age_s", age_s(emb_oldest, now));
        json_object_set_new(o, "embeddings", e);
    } else {
        json_object_set_new(o, "embeddings", json_null());
    }
    json_object_set_new(o, "jobs", jobs);
    api_json(q, 200, o);
}
