/* Probes and metrics: GET /health/live, /health/ready, /metrics. None needs
 * a key and none is rate-limited: a load balancer or Prometheus polling them
 * must never be refused for polling. /metrics can require a server key
 * (metrics_public = 0) since tenant names appear in its labels. */
#include "api/api_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/timeutil.h"

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
    api_json(q, st == LORE_OK ? 200 : 503, o);
}

static int metrics_allowed(api_req *q) {
    if (q->a->cfg.metrics_public) return 1;
    const char *h = http_header(q->r, "Authorization");
    store_key *k = NULL;
    auth_result ar = h && !strncmp(h, "Bearer ", 7)
                         ? apikey_verify(q->th->control, h + 7, strlen(h + 7), lore_now_ms(), &k)
                         : AUTH_MALFORMED;
    int ok = ar == AUTH_OK && (k->scopes & AUTH_SCOPE_SERVER);
    store_key_free(k);
    if (!ok) {
        http_add_header(q->r, "WWW-Authenticate", "Bearer realm=\"lore\"");
        api_problem(q, 401, "unauthorized", "Authentication required",
                    "/metrics needs a key with scope 'server' (metrics_public = 0)");
    }
    return ok;
}

void api_metrics_get(api_req *q) {
    if (!metrics_allowed(q)) return;
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
