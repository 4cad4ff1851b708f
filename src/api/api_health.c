/* Probes and metrics: GET /health/live, /health/ready, /metrics. None needs
 * a key and none is rate-limited: a load balancer or Prometheus polling them
 * must never be refused for polling. /metrics can require a server key
 * (metrics_public = 0, enforced by api.c like any keyed route) since tenant
 * names appear in its labels. */
#include "api/api_int.h"

#include <stdlib.h>
#include <string.h>

void api_health_live(api_req *q) {
    static const char body[] = "{\"status\":\"ok\"}";
    http_respond(q->r, 200, "application/json", body, sizeof body - 1);
}

void api_health_ready(api_req *q) {
    char err[256] = "";
    lore_status st = store_check(q->th->control, err, sizeof err);
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string(st == LORE_OK ? "ready" : "unavailable"));
    if (st != LORE_OK) json_object_set_new(o, "reason", json_string(err));
    /* Degraded: still serving (200), with something to look at. */
    json_t *reasons = json_array();
    char why[512];
    if (api_ratelimit_degraded(q->a, why, sizeof why))
        json_array_append_new(reasons, json_string(why));
    if (st == LORE_OK && json_array_size(reasons))
        json_object_set_new(o, "status", json_string("degraded"));
    if (json_array_size(reasons))
        json_object_set_new(o, "reasons", reasons);
    else
        json_decref(reasons);
    api_json(q, st == LORE_OK ? 200 : 503, o);
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
