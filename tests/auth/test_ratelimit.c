/* Rate limiting: SipHash vectors; the memory backend's token buckets (burst,
 * refusal and Retry-After, refill over simulated time, the header values
 * keeping their promises), independent buckets, bounded memory and eviction
 * order, and concurrent takes that never admit more than burst + refill. */
#include <pthread.h>
#include <stdatomic.h>

#include "auth/ratelimit.h"
#include "auth/siphash.h"
#include "test.h"
#include "util/timeutil.h"

static const ratelimit_backend *ops;

static ratelimit_decision take(void *st, const char *name, uint32_t per_minute, uint32_t burst,
                               int64_t now) {
    ratelimit_rule r = {per_minute, burst};
    ratelimit_decision d;
    lore_status s = ops->take(st, name, strlen(name), &r, now, &d);
    CHECK_INT(s, LORE_OK);
    return d;
}

static void test_siphash(void) {
    /* The paper's test key 00..0f over messages 00, 01, 02, ...: */
    uint8_t key[16], msg[64];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;
    CHECK(lore_siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ull);
    CHECK(lore_siphash24(key, msg, 15) == 0xa129ca6149be45e5ull);
    CHECK(lore_siphash24(key, msg, 63) == 0x958a324ceb064572ull);
    uint8_t key2[16] = {1};
    CHECK(lore_siphash24(key2, msg, 15) != lore_siphash24(key, msg, 15));
}

static void test_construction(void) {
    const ratelimit_backend *o = (const ratelimit_backend *)1;
    void *st = (void *)1;
    CHECK_INT(ratelimit_memory_new(0, &o, &st), LORE_INVALID);
    CHECK(o == NULL && st == NULL);
    CHECK_INT(ratelimit_memory_new((size_t)1 << 40, &o, &st), LORE_INVALID);
    CHECK_INT(ratelimit_memory_new(10, &o, &st), LORE_OK);
    CHECK(o != NULL && st != NULL);
    if (!o) return;
    CHECK_INT(o->version, RATELIMIT_BACKEND_VERSION);
    CHECK_STR(o->name, "memory");
    ratelimit_rule r = {60, 1};
    ratelimit_decision d;
    char big[RATELIMIT_BUCKET_MAX + 1];
    memset(big, 'b', sizeof big);
    CHECK_INT(o->take(st, "x", 0, &r, 0, &d), LORE_INVALID);
    CHECK_INT(o->take(st, big, sizeof big, &r, 0, &d), LORE_INVALID);
    CHECK_INT(o->take(st, big, RATELIMIT_BUCKET_MAX, &r, 0, &d), LORE_OK);
    CHECK_INT(o->take(st, NULL, 1, &r, 0, &d), LORE_INVALID);
    CHECK_INT(ratelimit_memory_count(st), 1);
    o->free(st);
}

static void test_burst_and_refill(void *st) {
    /* 60 a minute = one a second; a burst of 3 */
    ratelimit_decision d;
    for (uint32_t i = 0; i < 3; i++) {
        d = take(st, "key:a", 60, 3, 0);
        CHECK(d.allowed);
        CHECK_INT(d.limit, 3);
        CHECK_INT(d.remaining, 2 - i);
        CHECK_INT(d.retry_after_s, 0);
    }
    CHECK_INT(d.reset_s, 3); /* three tokens short, one a second */
    d = take(st, "key:a", 60, 3, 0);
    CHECK(!d.allowed);
    CHECK_INT(d.remaining, 0);
    CHECK_INT(d.retry_after_s, 1);
    CHECK_INT(d.reset_s, 3);
    d = take(st, "key:a", 60, 3, 999);
    CHECK(!d.allowed);
    CHECK_INT(d.retry_after_s, 1); /* 1 ms rounds up to a second */
    d = take(st, "key:a", 60, 3, 1000);
    CHECK(d.allowed);
    CHECK_INT(d.remaining, 0);
    /* two seconds later: two tokens, then refusal */
    CHECK(take(st, "key:a", 60, 3, 3000).allowed);
    CHECK(take(st, "key:a", 60, 3, 3000).allowed);
    CHECK(!take(st, "key:a", 60, 3, 3000).allowed);
    /* a long idle refills to the burst, no further */
    d = take(st, "key:a", 60, 3, 3000 + 86400000LL * 365);
    CHECK(d.allowed);
    CHECK_INT(d.remaining, 2);

    /* 6 a minute = one every 10 s */
    CHECK(take(st, "key:slow", 6, 1, 0).allowed);
    d = take(st, "key:slow", 6, 1, 0);
    CHECK(!d.allowed);
    CHECK_INT(d.retry_after_s, 10);
    d = take(st, "key:slow", 6, 1, 2500);
    CHECK_INT(d.retry_after_s, 8);
    CHECK(take(st, "key:slow", 6, 1, 10000).allowed);

    /* unlimited, and burst 0 = a minute's worth */
    d = take(st, "key:free", 0, 5, 0);
    CHECK(d.allowed);
    CHECK_INT(d.limit, 0);
    d = take(st, "key:minute", 120, 0, 0);
    CHECK_INT(d.limit, 120);
    CHECK_INT(d.remaining, 119);

    /* a rule that shrinks clamps the bucket */
    d = take(st, "key:shrink", 600, 10, 0);
    CHECK_INT(d.remaining, 9);
    d = take(st, "key:shrink", 600, 2, 0);
    CHECK_INT(d.limit, 2);
    CHECK_INT(d.remaining, 1);

    /* a clock that steps back refills nothing, then resumes from the latest */
    CHECK(take(st, "key:clock", 60, 1, 10000).allowed);
    CHECK(!take(st, "key:clock", 60, 1, 5000).allowed);
    CHECK(!take(st, "key:clock", 60, 1, 10999).allowed);
    CHECK(take(st, "key:clock", 60, 1, 11000).allowed);

    /* huge rules and idles stay in range (UBSan watches the arithmetic) */
    d = take(st, "key:huge", UINT32_MAX, UINT32_MAX, 0);
    CHECK(d.allowed);
    CHECK_INT(d.remaining, UINT32_MAX - 1);
    d = take(st, "key:huge", UINT32_MAX, UINT32_MAX, INT64_MAX / 2);
    CHECK_INT(d.remaining, UINT32_MAX - 1);
    /* full in 190 years: the reset says the longest it can, it does not wrap */
    CHECK(take(st, "key:glacial", 1, 1, 0).allowed);
    d = take(st, "key:glacial", 1, 100000000, 0);
    CHECK(!d.allowed);
    CHECK_INT(d.reset_s, UINT32_MAX);
}

/* Whatever the rule, waiting Retry-After finds a token and waiting
 * RateLimit-Reset finds the bucket full. */
static void test_header_promises(void *st) {
    test_seed();
    for (int i = 0; i < 500; i++) {
        char name[32];
        snprintf(name, sizeof name, "promise:%d", i);
        uint32_t pm = (uint32_t)(1 + test_rand() % 100000),
                 burst = (uint32_t)(1 + test_rand() % 50);
        int64_t t = (int64_t)(test_rand() % 1000000);
        ratelimit_decision d;
        uint32_t taken = 0;
        while ((d = take(st, name, pm, burst, t)).allowed)
            taken++;
        CHECK_INT(taken, burst);
        CHECK(d.retry_after_s >= 1);
        CHECK(d.reset_s >= d.retry_after_s);
        ratelimit_decision later = take(st, name, pm, burst, t + (int64_t)d.retry_after_s * 1000);
        CHECK(later.allowed);
        if (!later.allowed) fprintf(stderr, "  rule %u/min burst %u\n", pm, burst);
        /* refill from the take just made to the reset it reports */
        int64_t t2 = t + (int64_t)d.retry_after_s * 1000;
        ratelimit_decision full = take(st, name, pm, burst, t2 + (int64_t)later.reset_s * 1000);
        CHECK_INT(full.remaining, burst - 1);
    }
}

static void test_independent(void *st) {
    for (int i = 0; i < 2; i++)
        CHECK(take(st, "ip:192.0.2.1", 60, 2, 0).allowed);
    CHECK(!take(st, "ip:192.0.2.1", 60, 2, 0).allowed);
    ratelimit_decision d = take(st, "ip:192.0.2.2", 60, 2, 0);
    CHECK(d.allowed);
    CHECK_INT(d.remaining, 1);
    /* names are bytes: a NUL does not end them */
    ratelimit_rule r = {60, 1};
    CHECK_INT(ops->take(st, "x\0a", 3, &r, 0, &d), LORE_OK);
    CHECK(d.allowed);
    CHECK_INT(ops->take(st, "x\0b", 3, &r, 0, &d), LORE_OK);
    CHECK(d.allowed);
    CHECK_INT(ops->take(st, "x\0a", 3, &r, 0, &d), LORE_OK);
    CHECK(!d.allowed);
}

static void test_eviction(void) {
    void *st = NULL;
    const ratelimit_backend *o = NULL;
    CHECK_INT(ratelimit_memory_new(100, &o, &st), LORE_OK);
    if (!st) return;
    /* a drained bucket that keeps being used survives any number of others */
    CHECK(take(st, "hot", 1, 1, 0).allowed);
    int bounded = 1, hot_refused = 1;
    for (int i = 0; i < 10000; i++) {
        char name[32];
        snprintf(name, sizeof name, "cold:%d", i);
        CHECK(take(st, name, 60, 5, i).allowed); /* new buckets start full */
        hot_refused &= !take(st, "hot", 1, 1, i).allowed;
        bounded &= ratelimit_memory_count(st) <= 100;
    }
    CHECK(bounded);
    CHECK(hot_refused);
    CHECK_INT(ratelimit_memory_count(st), 100);
    o->free(st);

    /* at the limit a full bucket goes before an older one that still owes */
    CHECK_INT(ratelimit_memory_new(4, &o, &st), LORE_OK);
    if (!st) return;
    CHECK(take(st, "A", 1, 2, 0).allowed);     /* owes a token for two minutes */
    CHECK(take(st, "B", 60000, 2, 0).allowed); /* full again after 1 ms */
    CHECK(take(st, "C", 1, 2, 0).allowed);
    CHECK(take(st, "D", 1, 2, 0).allowed);
    CHECK(take(st, "E", 1, 2, 1000).allowed); /* evicts B, the oldest full one */
    CHECK_INT(ratelimit_memory_count(st), 4);
    ratelimit_decision d = take(st, "A", 1, 2, 1000);
    CHECK_INT(d.remaining, 0); /* A kept its state: 1 token left, now taken */
    /* with nothing full, the longest idle goes: C */
    CHECK(take(st, "F", 1, 2, 1000).allowed);
    d = take(st, "C", 1, 2, 1000);
    CHECK_INT(d.remaining, 1); /* C came back as a new, full bucket */
    o->free(st);

    /* a large table is striped; the bound still holds exactly */
    CHECK_INT(ratelimit_memory_new(100000, &o, &st), LORE_OK);
    if (!st) return;
    for (int i = 0; i < 300000; i++) {
        char name[32];
        snprintf(name, sizeof name, "ip:%d", i);
        (void)take(st, name, 60, 10, 0).allowed;
    }
    CHECK_INT(ratelimit_memory_count(st), 100000);
    o->free(st);
}

typedef struct race {
    void *st;
    const char *name; /* NULL: random names */
    int64_t until_ns;
    atomic_uint_fast64_t admitted, refused;
    atomic_int errors;
    uint64_t seed;
} race;

static void *racer(void *arg) {
    race *r = arg;
    ratelimit_rule rule = {6000, 50}; /* 100 a second */
    uint64_t x = r->seed;
    while (lore_mono_ns() < r->until_ns) {
        char name[32];
        const char *n = r->name;
        if (!n) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            snprintf(name, sizeof name, "r:%u", (unsigned)(x % 1000));
            n = name;
        }
        ratelimit_decision d;
        if (ops->take(r->st, n, strlen(n), &rule, lore_now_ms(), &d) != LORE_OK ||
            d.remaining > d.limit) {
            atomic_fetch_add(&r->errors, 1);
            continue;
        }
        atomic_fetch_add(d.allowed ? &r->admitted : &r->refused, 1);
    }
    return NULL;
}

static void test_concurrent(void) {
    void *st = NULL;
    const ratelimit_backend *o = NULL;
    CHECK_INT(ratelimit_memory_new(64, &o, &st), LORE_OK);
    if (!st) return;
    for (int round = 0; round < 2; round++) {
        race r = {.st = st, .name = round == 0 ? "shared" : NULL, .seed = 88172645463325252ull};
        pthread_t th[4];
        int64_t start_ms = lore_now_ms();
        r.until_ns = lore_mono_ns() + 300 * 1000000LL;
        for (int i = 0; i < 4; i++)
            CHECK_INT(pthread_create(&th[i], NULL, racer, &r), 0);
        for (int i = 0; i < 4; i++)
            pthread_join(th[i], NULL);
        int64_t elapsed_ms = lore_now_ms() - start_ms;
        uint64_t admitted = atomic_load(&r.admitted);
        CHECK_INT(atomic_load(&r.errors), 0);
        if (round == 0) {
            /* every take's clock lies within [start, end], so the bucket
             * cannot have gained more than the refill of that span */
            uint64_t bound = 50 + (uint64_t)elapsed_ms * 6000 / 60000;
            printf("4 threads, one bucket: %llu admitted, %llu refused in %lld ms (bound %llu)\n",
                   (unsigned long long)admitted, (unsigned long long)atomic_load(&r.refused),
                   (long long)elapsed_ms, (unsigned long long)bound);
            CHECK(admitted <= bound);
            CHECK(admitted >= 50);
        } else {
            CHECK(ratelimit_memory_count(st) <= 64); /* eviction under contention */
            CHECK(admitted > 0);
        }
    }
    o->free(st);
}

int main(void) {
    test_siphash();
    test_construction();
    void *st = NULL;
    CHECK_INT(ratelimit_memory_new(10000, &ops, &st), LORE_OK);
    if (!st) return test_summary();
    test_burst_and_refill(st);
    test_header_promises(st);
    test_independent(st);
    ops->free(st);
    test_eviction();
    test_concurrent();
    return test_summary();
}
