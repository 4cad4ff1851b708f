/* SHA-256 through OpenSSL's EVP interface. An EVP failure here means the
 * library itself is broken; we abort rather than return a wrong digest. */
#include "crypto/sha256.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

struct lore_sha256_ctx {
    EVP_MD_CTX *md;
};

static void die(const char *what) {
    fprintf(stderr, "lore: fatal: OpenSSL %s failed\n", what);
    abort();
}

lore_sha256_ctx *lore_sha256_new(void) {
    lore_sha256_ctx *c = malloc(sizeof *c);
    if (!c) return NULL;
    c->md = EVP_MD_CTX_new();
    if (!c->md) {
        free(c);
        return NULL;
    }
    if (EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1) die("DigestInit");
    return c;
}

void lore_sha256_update(lore_sha256_ctx *c, const void *data, size_t len) {
    if (len && EVP_DigestUpdate(c->md, data, len) != 1) die("DigestUpdate");
}

void lore_sha256_final(lore_sha256_ctx *c, uint8_t out[32]) {
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(c->md, out, &n) != 1 || n != 32) die("DigestFinal");
    EVP_MD_CTX_free(c->md);
    free(c);
}

void lore_sha256(const void *data, size_t len, uint8_t out[32]) {
    unsigned int n = 0;
    if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32) die("Digest");
}

void lore_hex(const uint8_t *bytes, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}
