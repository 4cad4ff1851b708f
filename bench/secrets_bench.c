/* Sealed secrets (docs/secrets.md): what sealing costs where it is on a hot
 * path (a webhook opens its connector's secret on every delivery) and how
 * long a rotation takes.
 *
 *   build/release/secrets_bench [N]     (N secrets, default 10000)
 *
 * Prints: seal and open per call (32-byte value, in memory), HMAC-SHA256 of a
 * 4 KiB body, secrets_get per call (one store read plus an open), set of N
 * secrets, rotate of N secrets from key A to key B, check_all of N. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secrets/secrets.h"
#include "util/timeutil.h"

#define KEY_A "bench-key-A-0123456789abcdef0123456789abcdef"
#define KEY_B "bench-key-B-0123456789abcdef0123456789abcdef"

static double us_since(int64_t t0, long n) {
    return (double)(lore_mono_ns() - t0) / 1000.0 / (double)n;
}

static seal_keyring *ring(const char *cur, const char *prev) {
    seal_keyring *k = NULL;
    char err[256];
    if (seal_keyring_new(cur, prev, &k, err, sizeof err) != LORE_OK) {
        fprintf(stderr, "%s\n", err);
        exit(2);
    }
    return k;
}

static void bench_memory(const seal_keyring *a) {
    const uint8_t value[32] = "0123456789abcdef0123456789abcde";
    lore_buf sealed, plain;
    lore_buf_init(&sealed, 1 << 16);
    lore_buf_init(&plain, 1 << 16);
    char id[SEAL_KEY_ID_LEN + 1];
    const long n = 200000;
    int64_t t0 = lore_mono_ns();
    for (long i = 0; i < n; i++)
        if (seal_encrypt(a, "acme", "github", value, sizeof value, &sealed, id) != LORE_OK) exit(2);
    printf("seal (32 B)            %8.2f us\n", us_since(t0, n));
    t0 = lore_mono_ns();
    for (long i = 0; i < n; i++)
        if (seal_decrypt(a, id, "acme", "github", (uint8_t *)sealed.data, sealed.len, &plain) !=
            LORE_OK)
            exit(2);
    printf("open (32 B)            %8.2f us\n", us_since(t0, n));
    static uint8_t body[4096];
    uint8_t mac[32];
    t0 = lore_mono_ns();
    for (long i = 0; i < n; i++)
        seal_hmac_sha256(value, sizeof value, body, sizeof body, mac);
    printf("hmac-sha256 (4 KiB)    %8.2f us\n", us_since(t0, n));
    lore_buf_free(&sealed);
    lore_buf_free(&plain);
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 10000;
    if (n <= 0 || n > 10000000) {
        fprintf(stderr, "usage: secrets_bench [N]  (1..10000000 secrets)\n");
        return 1;
    }
    char dir[] = "/tmp/lore-secrets-bench-XXXXXX", err[512], name[32];
    if (!mkdtemp(dir)) return 2;
    store *s = NULL;
    if (store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err) != LORE_OK ||
        store_tenant_create(s, "acme")) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    seal_keyring *a = ring(KEY_A, NULL), *ba = ring(KEY_B, KEY_A);
    bench_memory(a);
    int64_t t0 = lore_mono_ns();
    for (long i = 0; i < n; i++) {
        snprintf(name, sizeof name, "s%07ld", i);
        if (secrets_set(a, s, "acme", name, (const uint8_t *)name, strlen(name)) != LORE_OK)
            return 2;
    }
    printf("set (one commit each)  %8.2f us   x %ld\n", us_since(t0, n), n);
    lore_buf v;
    lore_buf_init(&v, SECRET_VALUE_MAX);
    t0 = lore_mono_ns();
    for (long i = 0; i < n; i++) {
        snprintf(name, sizeof name, "s%07ld", i);
        if (secrets_get(a, s, "acme", name, &v, err, sizeof err) != LORE_OK) return 2;
    }
    printf("secrets_get            %8.2f us\n", us_since(t0, n));
    secrets_rotate_report r;
    t0 = lore_mono_ns();
    if (secrets_rotate(ba, s, &r) != LORE_OK || r.resealed != n) return 2;
    double ms = (double)(lore_mono_ns() - t0) / 1e6;
    printf("rotate A -> B          %8.1f ms   (%ld resealed, %.1f us each)\n", ms, n,
           ms * 1000.0 / (double)n);
    int64_t checked = 0;
    t0 = lore_mono_ns();
    if (secrets_check_all(ba, s, &checked, err, sizeof err) != LORE_OK) return 2;
    printf("check_all              %8.1f ms   (%lld secrets)\n",
           (double)(lore_mono_ns() - t0) / 1e6, (long long)checked);
    lore_buf_free(&v);
    seal_keyring_free(a);
    seal_keyring_free(ba);
    store_close(s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 2;
}
