/* The API's rate limiter: in memory, or shared through Redis when redis_url
 * is set (src/auth/ratelimit_redis.c), with its metrics and its part of
 * /health/ready. */
#include "api/api_int.h"

#include <stdio.h>
#include <string.h>

enum { M_UP, M_REDIS_TAKES, M_FALLBACK, M_ERRORS };

static void collect_rl(void *ctx) {
    api *a = ctx;
    ratelimit_redis_stats s;
    ratelimit_redis_stats_get(a->rl_state, &s);
    metrics_set(a->m_rl[M_UP], NULL, s.up);
    metrics_set(a->m_rl[M_REDIS_TAKES], NULL, (double)s.redis_takes);
    metrics_set(a->m_rl[M_FALLBACK], NULL, (double)s.fallback_takes);
    metrics_set(a->m_rl[M_ERRORS], NULL, (double)s.errors);
}

lore_status api_ratelimit_init(api *a, char *err, size_t errlen) {
    const lore_config *c = &a->cfg;
    if (!c->redis_url[0]) {
        lore_status st = ratelimit_memory_new(100000, &a->rl, &a->rl_state);
        if (st != LORE_OK)
            snprintf(err, errlen, "cannot set up the rate limiter: %s", lore_status_message(st));
        return st;
    }
    if (!strncmp(c->redis_url, "secret:", 7)) {
        snprintf(err, errlen, "redis_url is %s but the secret was not resolved", c->redis_url);
        return LORE_INVALID;
    }
    ratelimit_redis_options o = {0};
    o.url = c->redis_url;
    o.tls_ca_file = c->redis_tls_ca_file;
    o.timeout_ms = (int)c->redis_timeout_ms;
    o.probe_ms = 2000;
    o.memory_buckets = 100000;
    lore_status st = ratelimit_redis_new(&o, &a->rl, &a->rl_state, err, errlen);
    if (st != LORE_OK) return st;
    a->rl_redis = 1;
    if ((st = metrics_gauge_new(a->metrics, "lore_ratelimit_redis_up",
                                "1 while rate limits are shared through Redis, 0 while each node "
                                "limits in memory because Redis is unreachable",
                                NULL, 0, 1, &a->m_rl[M_UP])) != LORE_OK ||
        (st = metrics_counter_new(a->metrics, "lore_ratelimit_redis_decisions_total",
                                  "rate-limit decisions made by Redis", NULL, 0, 1,
                                  &a->m_rl[M_REDIS_TAKES])) != LORE_OK ||
        (st = metrics_counter_new(a->metrics, "lore_ratelimit_fallback_decisions_total",
                                  "rate-limit decisions made in memory because Redis could not",
                                  NULL, 0, 1, &a->m_rl[M_FALLBACK])) != LORE_OK ||
        (st = metrics_counter_new(a->metrics, "lore_ratelimit_redis_errors_total",
                                  "Redis calls of the rate limiter that failed", NULL, 0, 1,
                                  &a->m_rl[M_ERRORS])) != LORE_OK ||
        (st = metrics_on_collect(a->metrics, collect_rl, a)) != LORE_OK)
        snprintf(err, errlen, "cannot register the rate limiter's metrics: %s",
                 lore_status_message(st));
    return st;
}

int api_ratelimit_degraded(const api *a, char *reason, size_t n) {
    if (!a->rl_redis) return 0;
    ratelimit_redis_stats s;
    ratelimit_redis_stats_get(a->rl_state, &s);
    if (s.up) return 0;
    /* No key is needed here: the address and Redis's words are in the log. */
    snprintf(reason, n,
             "rate limits are per node: Redis is unreachable (the server's log says why); "
             "they return to Redis by themselves");
    return 1;
}
