/* Rate limiting: token buckets behind a table of functions.
 *
 * A bucket is named by the caller (say "key:3f9a0c1b2d4e" or
 * "ip:203.0.113.7") and governed by the rule passed with each take: it holds
 * up to `burst` tokens, gains `per_minute` tokens a minute, and every request
 * takes one; a request that finds the bucket empty is refused. A bucket seen
 * for the first time starts full.
 *
 * The decision fills the response headers directly:
 *   RateLimit-Limit:     limit          (the bucket's capacity, burst)
 *   RateLimit-Remaining: remaining      (whole tokens left after this take)
 *   RateLimit-Reset:     reset_s        (seconds until the bucket is full again)
 *   Retry-After:         retry_after_s  (refused only: seconds until one token)
 * Seconds are rounded up, so a client that waits retry_after_s finds a token.
 * per_minute 0 means unlimited: allowed, limit 0, and no headers should be
 * sent. burst 0 means one minute's worth (burst = per_minute).
 *
 * Backends fill ratelimit_backend. The memory backend (one process) keeps at
 * most max_buckets buckets; at the limit it evicts, among the longest idle,
 * one that has refilled completely (it loses nothing: a new bucket starts
 * full) or else the longest idle. Its hash table is keyed with a random
 * SipHash key, so clients cannot pick colliding bucket names.
 *
 The shared backend (Redis, ratelimit_redis.c) fills the same table: take
 * is one EVALSHA of a Lua script over the hash "lore:ratelimit:" + bucket
 * {u: tokens in units, l: last_ms}, doing the same refill-then-take
 * arithmetic atomically in Redis and returning the five decision fields;
 * PEXPIRE at the time-to-full bounds its memory instead of max_buckets. It
 * uses the server's clock (Redis TIME) instead of now_ms so that lore
 * servers with skewed clocks agree. When Redis cannot decide (down, refused,
 * timed out), it decides with a memory backend of its own instead, logs one
 * warning per outage, and tries Redis again at most every probe_ms.
 *
 * Threads: take may be called from any number of threads at once on one
 * state (the memory backend stripes its table over mutexes); free must not
 * race with anything. */
#ifndef LORE_AUTH_RATELIMIT_H
#define LORE_AUTH_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>
#include "util/status.h"

#define RATELIMIT_BACKEND_VERSION 1
#define RATELIMIT_BUCKET_MAX 256 /* bytes in a bucket name */

typedef struct ratelimit_rule {
    uint32_t per_minute; /* tokens added per minute; 0 = unlimited */
    uint32_t burst;      /* capacity; 0 = per_minute */
} ratelimit_rule;

typedef struct ratelimit_decision {
    int allowed;
    uint32_t limit;         /* RateLimit-Limit; 0 when the rule is unlimited */
    uint32_t remaining;     /* RateLimit-Remaining */
    uint32_t reset_s;       /* RateLimit-Reset */
    uint32_t retry_after_s; /* Retry-After when refused; 0 when allowed */
} ratelimit_decision;

typedef struct ratelimit_backend {
    int version; /* RATELIMIT_BACKEND_VERSION of the table's layout */
    const char *name;
    /* Takes one token from bucket (len bytes, 1..RATELIMIT_BUCKET_MAX, any
     * bytes) under rule at now_ms (Unix ms; a clock that steps back refills
     * nothing until it catches up). Fills *out. LORE_INVALID for a bad
     * name, LORE_NOMEM when a new bucket cannot be made; a backend that
     * cannot decide (Redis down) returns an error and the caller chooses
     * whether to fail open. */
    LORE_MUST_CHECK lore_status (*take)(void *state, const char *bucket, size_t len,
                                        const ratelimit_rule *rule, int64_t now_ms,
                                        ratelimit_decision *out);
    void (*free)(void *state);
} ratelimit_backend;

/* The in-process backend, holding at most max_buckets buckets (1 to
 * 2^26). *state is owned (release with (*ops)->free). LORE_INVALID for a
 * bad max_buckets, LORE_NOMEM, LORE_INTERNAL if the random generator
 * fails. */
LORE_MUST_CHECK lore_status ratelimit_memory_new(size_t max_buckets, const ratelimit_backend **ops,
                                                 void **state);
/* Buckets the memory backend holds now (for metrics and tests). */
size_t ratelimit_memory_count(void *state);

typedef struct ratelimit_redis_options {
    const char *url;         /* redis:// or rediss:// (src/redis/redis.h) */
    const char *tls_ca_file; /* "" or NULL: the system's CAs */
    int timeout_ms;          /* each Redis call, connecting included */
    int probe_ms;            /* while down, Redis is tried again at most this often */
    size_t memory_buckets;   /* the fallback memory backend's max_buckets */
    /* 0: Redis TIME is the clock (production). 1: now_ms passed to take is
     * (tests comparing decisions with the memory backend's). */
    int caller_clock;
} ratelimit_redis_options;

/* The Redis backend. It tries Redis once: LORE_INVALID (err says what to
 * fix) for a bad URL or CA file, a refused AUTH or SELECT, an untrusted
 * certificate; an unreachable Redis is not an error: the backend starts on
 * memory limits, degraded, and logs a warning. */
LORE_MUST_CHECK lore_status ratelimit_redis_new(const ratelimit_redis_options *o,
                                                const ratelimit_backend **ops, void **state,
                                                char *err, size_t errlen);

typedef struct ratelimit_redis_stats {
    int up;                  /* the last decision came from Redis */
    uint64_t redis_takes;    /* decisions made by Redis */
    uint64_t fallback_takes; /* decisions made in memory because Redis could not */
    uint64_t errors;         /* Redis calls that failed */
    uint64_t outages;        /* times Redis went from up to down */
    char reason[384];        /* while down: why, and since when ("" when up) */
} ratelimit_redis_stats;
void ratelimit_redis_stats_get(void *state, ratelimit_redis_stats *out);

#endif
