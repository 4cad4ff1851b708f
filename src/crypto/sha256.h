/* SHA-256 (OpenSSL underneath): content hashes and stable document ids. */
#ifndef LORE_CRYPTO_SHA256_H
#define LORE_CRYPTO_SHA256_H

#include <stddef.h>
#include <stdint.h>
#include "util/status.h"

typedef struct lore_sha256_ctx lore_sha256_ctx;

/* Incremental hashing. new returns owned or NULL when out of memory. */
lore_sha256_ctx *lore_sha256_new(void);
void lore_sha256_update(lore_sha256_ctx *c, const void *data, size_t len);
/* Writes the digest and frees the context. */
void lore_sha256_final(lore_sha256_ctx *c, uint8_t out[32]);

/* One-shot digest. */
void lore_sha256(const void *data, size_t len, uint8_t out[32]);
/* Lower-case hex of n bytes into out (2n+1 bytes with the terminator). */
void lore_hex(const uint8_t *bytes, size_t n, char *out);

#endif
