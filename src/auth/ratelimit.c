/* In-memory token buckets (the semantics are in ratelimit.h).
 *
 * Arithmetic: a token is UNITS units, and a rule of N per minute adds N units
 * per millisecond (N per minute = N * UNITS units per 60000 ms). Refill is
 * then exact integer arithmetic on whole milliseconds, with no drift and no
 * floating point.
 *
 * Layout: the table is split into stripes, each with its own mutex, hash
 * chains and idle list (most recent first), so threads taking different
 * buckets rarely wait for each other. Each stripe owns an equal share of
 * max_buckets; when its share is used up, a new bucket replaces an old one.
 * Small tables have one stripe, so the bound and the eviction order are
 * exact where they are easiest to observe. */
#include "auth/ratelimit.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "auth/siphash.h"

#define UNITS 60000
#define MAX_STRIPES 16
#define MIN_PER_STRIPE 256
#define MAX_BUCKETS ((size_t)1 << 26)
/* How many of the longest idle buckets eviction looks at for a full one. */
#define EVICT_SCAN 8

typedef struct rl_bucket {
    struct rl_bucket *chain;         /* next in the hash slot */
    struct rl_bucket *newer, *older; /* idle list */
    uint64_t hash;
    int64_t units;                 /* tokens * UNITS */
    int64_t last_ms;               /* time units were brought up to date */
    uint32_t per_minute, capacity; /* the rule of the last take, to judge fullness */
    uint16_t len;
    char name[]; /* len bytes */
} rl_bucket;

typedef struct rl_stripe {
    pthread_mutex_t mu;
    rl_bucket **slots;
    size_t mask; /* slots - 1 (a power of two minus one) */
    rl_bucket *newest, *oldest;
    size_t count, cap;
} rl_stripe;

typedef struct rl_memory {
    uint8_t seed[16];
    size_t nstripes;
    rl_stripe stripes[];
} rl_memory;

static uint32_t capacity_of(const ratelimit_rule *r) {
    return r->burst ? r->burst : r->per_minute;
}

/* Whether b would be full at now: then forgetting it changes nothing. */
static int bucket_full(const rl_bucket *b, int64_t now) {
    int64_t cap = (int64_t)b->capacity * UNITS;
    if (b->units >= cap) return 1;
    if (now <= b->last_ms) return 0;
    int64_t need = cap - b->units;
    return now - b->last_ms >= (need + b->per_minute - 1) / b->per_minute;
}

/* Brings b's units up to now under a rule of per_minute and cap units. */
static void refill(rl_bucket *b, uint32_t per_minute, int64_t cap, int64_t now) {
    if (b->units >= cap) {
        b->units = cap; /* also clamps a bucket whose rule shrank */
    } else if (now > b->last_ms) {
        int64_t need = cap - b->units, elapsed = now - b->last_ms;
        /* Comparing before multiplying keeps elapsed * per_minute below
         * need + per_minute, far from overflow, however long the idle. */
        if (elapsed >= (need + per_minute - 1) / per_minute)
            b->units = cap;
        else
            b->units += elapsed * per_minute;
    }
    if (now > b->last_ms) b->last_ms = now;
}

static void idle_unlink(rl_stripe *sp, rl_bucket *b) {
    if (b->newer)
        b->newer->older = b->older;
    else
        sp->newest = b->older;
    if (b->older)
        b->older->newer = b->newer;
    else
        sp->oldest = b->newer;
    b->newer = b->older = NULL;
}

static void idle_push(rl_stripe *sp, rl_bucket *b) {
    b->older = sp->newest;
    b->newer = NULL;
    if (sp->newest) sp->newest->newer = b;
    sp->newest = b;
    if (!sp->oldest) sp->oldest = b;
}

static void chain_unlink(rl_stripe *sp, rl_bucket *b) {
    rl_bucket **pp = &sp->slots[b->hash & sp->mask];
    while (*pp != b)
        pp = &(*pp)->chain;
    *pp = b->chain;
}

/* Makes room for one bucket in a full stripe: prefers a full bucket among
 * the EVICT_SCAN longest idle, else the longest idle. */
static void evict_one(rl_stripe *sp, int64_t now) {
    rl_bucket *victim = sp->oldest, *b = sp->oldest;
    for (int i = 0; b && i < EVICT_SCAN; i++, b = b->newer) {
        if (bucket_full(b, now)) {
            victim = b;
            break;
        }
    }
    if (!victim) return;
    chain_unlink(sp, victim);
    idle_unlink(sp, victim);
    sp->count--;
    free(victim);
}

static void decide(const rl_bucket *b, uint32_t capacity, ratelimit_decision *out, int allowed) {
    int64_t cap = (int64_t)capacity * UNITS, pm = b->per_minute;
    out->allowed = allowed;
    out->limit = capacity;
    out->remaining = (uint32_t)(b->units / UNITS);
    int64_t to_full_ms = (cap - b->units + pm - 1) / pm;
    int64_t reset_s = (to_full_ms + 999) / 1000;
    /* A huge bucket refilling slowly (1e8 tokens at 1 a minute) is full
     * only after 190 years: say "the longest we can" rather than wrap. */
    out->reset_s = reset_s > UINT32_MAX ? UINT32_MAX : (uint32_t)reset_s;
    out->retry_after_s = 0;
    if (!allowed) {
        int64_t to_one_ms = (UNITS - b->units + pm - 1) / pm;
        out->retry_after_s = (uint32_t)((to_one_ms + 999) / 1000);
        if (!out->retry_after_s) out->retry_after_s = 1;
    }
}

static lore_status mem_take(void *state, const char *bucket, size_t len, const ratelimit_rule *rule,
                            int64_t now_ms, ratelimit_decision *out) {
    rl_memory *m = state;
    rl_stripe *sp = NULL;
    lore_status st = LORE_INVALID;
    memset(out, 0, sizeof *out);
    if (!m || !rule || !bucket || !len || len > RATELIMIT_BUCKET_MAX) goto out;
    st = LORE_OK;
    if (!rule->per_minute) {
        out->allowed = 1; /* unlimited: limit 0, no headers */
        goto out;
    }
    uint32_t capacity = capacity_of(rule);
    int64_t cap = (int64_t)capacity * UNITS;
    uint64_t h = lore_siphash24(m->seed, bucket, len);
    /* High bits pick the stripe, low bits the slot, so the two choices do
     * not correlate. */
    sp = &m->stripes[(h >> 32) % m->nstripes];
    pthread_mutex_lock(&sp->mu);
    rl_bucket *b = sp->slots[h & sp->mask];
    while (b && !(b->hash == h && b->len == len && !memcmp(b->name, bucket, len)))
        b = b->chain;
    if (b) {
        refill(b, rule->per_minute, cap, now_ms);
        idle_unlink(sp, b);
    } else {
        if (sp->count >= sp->cap) evict_one(sp, now_ms);
        if (!(b = malloc(sizeof *b + len))) {
            st = LORE_NOMEM;
            goto out;
        }
        memset(b, 0, sizeof *b);
        b->hash = h;
        b->len = (uint16_t)len;
        memcpy(b->name, bucket, len);
        b->units = cap; /* a new bucket starts full */
        b->last_ms = now_ms;
        b->chain = sp->slots[h & sp->mask];
        sp->slots[h & sp->mask] = b;
        sp->count++;
    }
    idle_push(sp, b);
    b->per_minute = rule->per_minute;
    b->capacity = capacity;
    int allowed = b->units >= UNITS;
    if (allowed) b->units -= UNITS;
    decide(b, capacity, out, allowed);
out:
    /* On failure the table is as it was, less at most one evicted bucket,
     * and *out is all zeros (refused). */
    if (sp) pthread_mutex_unlock(&sp->mu);
    return st;
}

static void mem_free(void *state) {
    rl_memory *m = state;
    if (!m) return;
    for (size_t i = 0; i < m->nstripes; i++) {
        rl_stripe *sp = &m->stripes[i];
        for (rl_bucket *b = sp->newest, *next; b; b = next) {
            next = b->older;
            free(b);
        }
        free(sp->slots);
        pthread_mutex_destroy(&sp->mu);
    }
    free(m);
}

static const ratelimit_backend memory_backend = {
    RATELIMIT_BACKEND_VERSION,
    "memory",
    mem_take,
    mem_free,
};

lore_status ratelimit_memory_new(size_t max_buckets, const ratelimit_backend **ops, void **state) {
    lore_status st = LORE_INVALID;
    rl_memory *m = NULL;
    size_t nstripes = 1, ready = 0; /* ready: stripes whose mutex is initialized */
    *ops = NULL;
    *state = NULL;
    if (!max_buckets || max_buckets > MAX_BUCKETS) goto out;
    while (nstripes < MAX_STRIPES && max_buckets / (nstripes * 2) >= MIN_PER_STRIPE)
        nstripes *= 2;
    st = LORE_NOMEM;
    if (!(m = calloc(1, sizeof *m + nstripes * sizeof m->stripes[0]))) goto out;
    if (RAND_bytes(m->seed, (int)sizeof m->seed) != 1) {
        st = LORE_INTERNAL;
        goto out;
    }
    for (; ready < nstripes; ready++) {
        rl_stripe *sp = &m->stripes[ready];
        /* Shares differ by at most one and add up to max_buckets. */
        sp->cap = max_buckets / nstripes + (ready < max_buckets % nstripes);
        size_t slots = 4;
        while (slots < sp->cap)
            slots *= 2;
        sp->mask = slots - 1;
        if (!(sp->slots = calloc(slots, sizeof *sp->slots))) goto out;
        if (pthread_mutex_init(&sp->mu, NULL) != 0) {
            free(sp->slots);
            st = LORE_INTERNAL;
            goto out;
        }
    }
    m->nstripes = nstripes;
    *ops = &memory_backend;
    *state = m;
    st = LORE_OK;
out:
    if (st != LORE_OK && m) { /* nothing survives a failed construction */
        m->nstripes = ready;
        mem_free(m);
    }
    return st;
}

size_t ratelimit_memory_count(void *state) {
    rl_memory *m = state;
    size_t n = 0;
    for (size_t i = 0; i < m->nstripes; i++) {
        pthread_mutex_lock(&m->stripes[i].mu);
        n += m->stripes[i].count;
        pthread_mutex_unlock(&m->stripes[i].mu);
    }
    return n;
}
