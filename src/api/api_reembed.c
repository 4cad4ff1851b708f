/* The model switch over REST (ingest_reembed.h, docs/embeddings.md):
 *
 *   POST /v1/reembed   (admin)  queue the switch of the caller's tenant to
 *                               the configured model: 202 with the job
 *   GET  /v1/reembed   (admin)  its progress; ?audit=true adds the audit of
 *                               the tenant's vectors */
#include "api/api_int.h"

#include <stdio.h>
#include <string.h>

#include "ingest/ingest_reembed.h"

void api_reembed_post(api_req *q) {
    if (!q->a->tenant_settings.embedders) {
        api_problem(q, 400, "no-embedder", "No embedder configured",
                    "this server has no embedding model: set embed_url and embed_model "
                    "(docs/embeddings.md), restart it, then start the switch");
        return;
    }
    store_job job;
    memset(&job, 0, sizeof job);
    ingest_reembed_job(&job, "");
    const char *key;
    if (api_idempotency_key(q, &key)) return;
    job.dedup_key = (char *)key;
    api_enqueue(q, &job, 1, json_object());
}

void api_reembed_get(api_req *q) {
    const char *audit = http_query(q->r, "audit");
    int with_audit = audit && !strcmp(audit, "true");
    if (audit && !with_audit && strcmp(audit, "false")) {
        api_bad_field(q, "/audit", "audit must be true or false");
        return;
    }
    api_tenant *t = api_tenant_get(q);
    if (!t) return;
    reembed_progress p;
    vec_audit a;
    char err[768] = "";
    lore_status st =
        ingest_reembed_progress(t->ctx, q->a->tenant_settings.embedders, &p, err, sizeof err);
    if (st == LORE_OK && with_audit) st = ingest_vector_audit(t->ctx, 1, &a, err, sizeof err);
    if (st != LORE_OK) {
        api_problem(q, 500, "internal", "Internal error", "reading the vector slots failed: %s",
                    err);
        return;
    }
    json_t *o = ingest_reembed_json(&p, with_audit ? &a : NULL);
    if (!o) {
        api_internal(q, "answering", LORE_NOMEM);
        return;
    }
    json_object_set_new(o, "tenant", json_string(q->tenant_name));
    api_json(q, 200, o);
}
