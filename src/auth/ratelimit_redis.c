/* Shared token buckets in Redis (the semantics are in ratelimit.h).
 *
 * One Lua script per take does what mem_take does in ratelimit.c, on the
 * same integer units (a token is 60000 units; N per minute adds N units a
 * millisecond), so both backends make the same decisions for the same
 * sequence of takes and times (test_ratelimit_redis proves it). Lua numbers
 * are doubles: every value here stays below 2^53 (capacity 1e8 tokens is
 * 6e12 units), where doubles are exact integers and floor(a / b) is the
 * integer quotient.
 *
 * Outages: any failed call marks Redis down (one warning, counted as an
 * outage) and the take is decided by the memory backend; while down, one
 * take every probe_ms tries Redis again, the others go straight to memory,
 * so an outage costs no request more than one timeout. The first take that
 * Redis answers marks it up again (logged). */
#include "auth/ratelimit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "redis/redis.h"
#include "util/log.h"

#define KEY_PREFIX "lore:ratelimit:"
#define KEY_PREFIX_LEN (sizeof KEY_PREFIX - 1)

/* KEYS[1] the bucket; ARGV per_minute, capacity, now_ms or "" (Redis TIME).
 * Returns {allowed, limit, remaining, reset_s, retry_after_s}. The key
 * expires when the bucket would be full again (it then starts full, which
 * is the same). A caller's clock (tests) is not the one Redis expires keys
 * by, so such keys live an hour longer. */
static const char take_script[] =
    "local U = 60000\n"
    "local pm = tonumber(ARGV[1])\n"
    "local capacity = tonumber(ARGV[2])\n"
    "local now\n"
    "if ARGV[3] ~= '' then\n"
    "  now = tonumber(ARGV[3])\n"
    "else\n"
    "  local t = redis.call('TIME')\n"
    "  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "end\n"
    "local cap = capacity * U\n"
    "local h = redis.call('HMGET', KEYS[1], 'u', 'l')\n"
    "local units, last = tonumber(h[1]), tonumber(h[2])\n"
    "if not units or not last then units, last = cap, now end\n"
    "if units >= cap then\n"
    "  units = cap\n"
    "elseif now > last then\n"
    "  if now - last >= math.floor((cap - units + pm - 1) / pm) then\n"
    "    units = cap\n"
    "  else\n"
    "    units = units + (now - last) * pm\n"
    "  end\n"
    "end\n"
    "if now > last then last = now end\n"
    "local allowed = 0\n"
    "if units >= U then\n"
    "  units = units - U\n"
    "  allowed = 1\n"
    "end\n"
    "local to_full = math.floor((cap - units + pm - 1) / pm)\n"
    "redis.call('HSET', KEYS[1], 'u', string.format('%.0f', units), 'l',\n"
    "           string.format('%.0f', last))\n"
    "local ttl = math.max(to_full, 1)\n"
    "if ARGV[3] ~= '' then ttl = ttl + 3600000 end\n"
    "redis.call('PEXPIRE', KEYS[1], string.format('%.0f', ttl))\n"
    "local retry = 0\n"
    "if allowed == 0 then\n"
    "  retry = math.floor((math.floor((U - units + pm - 1) / pm) + 999) / 1000)\n"
    "  if retry < 1 then retry = 1 end\n"
    "end\n"
    "local reset = math.min(math.floor((to_full + 999) / 1000), 4294967295)\n"
    "return {allowed, capacity, math.floor(units / U), reset, retry}\n";

typedef struct rl_redis {
    redis_client *client;
    const ratelimit_backend *mem_ops;
    void *mem;
    int caller_clock, probe_ms;
    pthread_mutex_t mu; /* guards the fields below */
    int down;
    int64_t next_probe; /* monotonic ms */
    char reason[384];
    char since[32];
    atomic_uint_fast64_t redis_takes, fallback_takes, errors, outages;
} rl_redis;

/* One EVALSHA; LORE_OK with *out filled, or an error with err. */
static lore_status redis_take(rl_redis *s, const char *bucket, size_t len,
                              const ratelimit_rule *rule, uint32_t capacity, int64_t now_ms,
                              ratelimit_decision *out, char *err, size_t errlen) {
    char key[KEY_PREFIX_LEN + RATELIMIT_BUCKET_MAX];
    memcpy(key, KEY_PREFIX, KEY_PREFIX_LEN);
    memcpy(key + KEY_PREFIX_LEN, bucket, len);
    char pm[16], cap[16], now[24] = "";
    snprintf(pm, sizeof pm, "%u", rule->per_minute);
    snprintf(cap, sizeof cap, "%u", capacity);
    if (s->caller_clock) snprintf(now, sizeof now, "%lld", (long long)now_ms);
    const char *argv[] = {key, pm, cap, now};
    size_t lens[] = {KEY_PREFIX_LEN + len, strlen(pm), strlen(cap), strlen(now)};
    redis_reply *r = NULL;
    lore_status st = redis_eval(s->client, take_script, 1, 4, argv, lens, &r, err, errlen);
    if (st != LORE_OK) return st;
    st = LORE_INVALID;
    if (r->type == REDIS_ERROR) {
        char text[160];
        size_t n = r->len < sizeof text - 1 ? r->len : sizeof text - 1;
        memcpy(text, r->str, n);
        text[n] = '\0';
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)text[i] < 0x20) text[i] = '?';
        snprintf(err, errlen, "the rate-limit script failed: %s%s", text,
                 !strncmp(text, "NOAUTH", 6) ? " (set the password in redis_url)" : "");
        goto done;
    }
    if (r->type != REDIS_ARRAY || r->n != 5) goto bad;
    int64_t v[5];
    for (size_t i = 0; i < 5; i++) {
        if (r->elem[i].type != REDIS_INTEGER || r->elem[i].integer < 0 ||
            r->elem[i].integer > UINT32_MAX)
            goto bad;
        v[i] = r->elem[i].integer;
    }
    if (v[0] > 1) goto bad;
    out->allowed = (int)v[0];
    out->limit = (uint32_t)v[1];
    out->remaining = (uint32_t)v[2];
    out->reset_s = (uint32_t)v[3];
    out->retry_after_s = (uint32_t)v[4];
    st = LORE_OK;
    goto done;
bad:
    snprintf(err, errlen, "the rate-limit script gave an unexpected reply");
done:
    redis_reply_free(r);
    return st;
}

static void mark_down(rl_redis *s, const char *why) {
    pthread_mutex_lock(&s->mu);
    int was_up = !s->down;
    if (was_up) {
        s->down = 1;
        s->next_probe = 0;
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(s->since, sizeof s->since, "%Y-%m-%dT%H:%M:%SZ", &tm);
        atomic_fetch_add(&s->outages, 1);
    }
    int64_t mono = 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    mono = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (s->next_probe <= mono) s->next_probe = mono + s->probe_ms;
    snprintf(s->reason, sizeof s->reason,
             "rate limits: Redis at %s unavailable since %s (%s); each node enforces its own "
             "limits in memory until it is back",
             redis_client_name(s->client), s->since, why);
    pthread_mutex_unlock(&s->mu);
    if (was_up)
        LORE_WARN("%s (checked again every %d ms; lore_ratelimit_redis_up shows when it is back)",
                  s->reason, s->probe_ms);
}

static void mark_up(rl_redis *s) {
    pthread_mutex_lock(&s->mu);
    int was_down = s->down;
    s->down = 0;
    s->reason[0] = '\0';
    pthread_mutex_unlock(&s->mu);
    if (was_down)
        LORE_WARN("rate limits: Redis at %s is reachable again; limits are shared again",
                  redis_client_name(s->client));
}

static lore_status rr_take(void *state, const char *bucket, size_t len, const ratelimit_rule *rule,
                           int64_t now_ms, ratelimit_decision *out) {
    rl_redis *s = state;
    memset(out, 0, sizeof *out);
    if (!s || !rule || !bucket || !len || len > RATELIMIT_BUCKET_MAX) return LORE_INVALID;
    if (!rule->per_minute) {
        out->allowed = 1;
        return LORE_OK;
    }
    uint32_t capacity = rule->burst ? rule->burst : rule->per_minute;
    int try_redis = 1;
    pthread_mutex_lock(&s->mu);
    if (s->down) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t mono = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        if (mono >= s->next_probe)
            s->next_probe = mono + s->probe_ms; /* this take is the probe */
        else
            try_redis = 0;
    }
    pthread_mutex_unlock(&s->mu);
    if (try_redis) {
        char err[256] = "";
        if (redis_take(s, bucket, len, rule, capacity, now_ms, out, err, sizeof err) == LORE_OK) {
            atomic_fetch_add(&s->redis_takes, 1);
            mark_up(s);
            return LORE_OK;
        }
        atomic_fetch_add(&s->errors, 1);
        mark_down(s, err);
    }
    atomic_fetch_add(&s->fallback_takes, 1);
    return s->mem_ops->take(s->mem, bucket, len, rule, now_ms, out);
}

static void rr_free(void *state) {
    rl_redis *s = state;
    if (!s) return;
    redis_client_free(s->client);
    if (s->mem_ops) s->mem_ops->free(s->mem);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static const ratelimit_backend redis_backend = {
    RATELIMIT_BACKEND_VERSION,
    "redis",
    rr_take,
    rr_free,
};

lore_status ratelimit_redis_new(const ratelimit_redis_options *o, const ratelimit_backend **ops,
                                void **state, char *err, size_t errlen) {
    *ops = NULL;
    *state = NULL;
    rl_redis *s = calloc(1, sizeof *s);
    if (!s) return LORE_NOMEM;
    pthread_mutex_init(&s->mu, NULL);
    s->caller_clock = o->caller_clock;
    s->probe_ms = o->probe_ms > 0 ? o->probe_ms : 2000;
    redis_options ro = {o->timeout_ms, 0, o->tls_ca_file};
    lore_status st =
        ratelimit_memory_new(o->memory_buckets ? o->memory_buckets : 100000, &s->mem_ops, &s->mem);
    if (st != LORE_OK) {
        snprintf(err, errlen, "cannot set up the fallback rate limiter: %s",
                 lore_status_message(st));
        goto fail;
    }
    char uerr[512] = "";
    if ((st = redis_client_new(o->url, &ro, &s->client, uerr, sizeof uerr)) != LORE_OK) {
        snprintf(err, errlen, "%s", uerr);
        goto fail;
    }
    /* Loading the script checks the connection, TLS, AUTH and SELECT, and
     * that the server runs scripts. */
    const char *load[] = {"SCRIPT", "LOAD", take_script};
    redis_reply *r = NULL;
    st = redis_call(s->client, 3, load, NULL, &r, uerr, sizeof uerr);
    if (st == LORE_OK && r->type != REDIS_STRING) {
        char text[160] = "";
        if (r->str) {
            size_t n = r->len < sizeof text - 1 ? r->len : sizeof text - 1;
            memcpy(text, r->str, n);
            text[n] = '\0';
        }
        snprintf(uerr, sizeof uerr, "Redis refused SCRIPT LOAD: %s%s", text,
                 !strncmp(text, "NOAUTH", 6) ? " (set the password in redis_url)" : "");
        st = LORE_INVALID;
    }
    redis_reply_free(r);
    if (st == LORE_INVALID) {
        snprintf(err, errlen, "redis_url %s: %s", redis_client_name(s->client), uerr);
        goto fail;
    }
    if (st != LORE_OK) {
        atomic_fetch_add(&s->errors, 1);
        mark_down(s, uerr);
    } else {
        LORE_INFO("rate limits: shared through Redis at %s", redis_client_name(s->client));
    }
    *ops = &redis_backend;
    *state = s;
    return LORE_OK;
fail:
    rr_free(s);
    return st;
}

void ratelimit_redis_stats_get(void *state, ratelimit_redis_stats *out) {
    rl_redis *s = state;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->mu);
    out->up = !s->down;
    snprintf(out->reason, sizeof out->reason, "%s", s->reason);
    pthread_mutex_unlock(&s->mu);
    out->redis_takes = atomic_load(&s->redis_takes);
    out->fallback_takes = atomic_load(&s->fallback_takes);
    out->errors = atomic_load(&s->errors);
    out->outages = atomic_load(&s->outages);
}
