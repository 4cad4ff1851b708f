/* Sealing secrets at rest: AES-256-GCM (OpenSSL EVP) under a data key
 * derived from the master key with HKDF-SHA256.
 *
 * A keyring holds the current master key and, during a rotation, the
 * previous one. Each key has a key id (16 lower-case hex digits derived from
 * the key, never the key itself) that is stored beside each ciphertext, so
 * opening picks the right key and `lore secrets rotate` knows what is left to
 * re-seal. The associated data binds a ciphertext to its tenant and name: a
 * sealed value copied to another row fails to open.
 *
 * Sealed form (bytes): "LS1" | 12-byte nonce (random) | ciphertext | 16-byte
 * tag. Keyrings are immutable once made and may be shared by threads. */
#ifndef LORE_CRYPTO_SEAL_H
#define LORE_CRYPTO_SEAL_H

#include <stddef.h>
#include <stdint.h>
#include "util/buf.h"
#include "util/status.h"

#define SEAL_KEY_ID_LEN 16
#define SEAL_MIN_MASTER 32 /* bytes of a master key */

typedef struct seal_keyring seal_keyring;

/* Makes a keyring from the current master key and an optional previous one
 * (NULL or "": none). LORE_INVALID (err says why) for a key shorter than
 * SEAL_MIN_MASTER or a previous key equal to the current one. */
LORE_MUST_CHECK lore_status seal_keyring_new(const char *master, const char *previous,
                                             seal_keyring **out, char *err, size_t errlen);
void seal_keyring_free(seal_keyring *k);
/* Key ids (NUL-terminated, SEAL_KEY_ID_LEN); previous is "" when none. */
const char *seal_current_id(const seal_keyring *k);
const char *seal_previous_id(const seal_keyring *k);

/* Seals plaintext for (tenant, name) under the current key: out gets the
 * sealed bytes (replacing its content), key_id the current key's id
 * (SEAL_KEY_ID_LEN + 1 bytes). */
LORE_MUST_CHECK lore_status seal_encrypt(const seal_keyring *k, const char *tenant,
                                         const char *name, const uint8_t *plain, size_t len,
                                         lore_buf *out, char *key_id);
/* Opens a sealed value stored with key_id for (tenant, name). LORE_NOT_FOUND
 * when key_id is neither of the keyring's keys; LORE_CORRUPT when the value
 * does not authenticate (a wrong key, another row's value, tampering). */
LORE_MUST_CHECK lore_status seal_decrypt(const seal_keyring *k, const char *key_id,
                                         const char *tenant, const char *name,
                                         const uint8_t *sealed, size_t len, lore_buf *out);

/* HKDF-SHA256 (RFC 5869), for the data key and key ids; exposed for the
 * RFC's test vectors. */
LORE_MUST_CHECK lore_status seal_hkdf_sha256(const uint8_t *ikm, size_t ikm_len,
                                             const uint8_t *salt, size_t salt_len,
                                             const uint8_t *info, size_t info_len, uint8_t *out,
                                             size_t out_len);
/* HMAC-SHA256 and a compare in constant time, for webhook signatures. */
void seal_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
                      uint8_t out[32]);
/* HMAC-SHA256 of the concatenation of n parts (Slack signs "v0:" ts ":"
 * body), without copying them. */
typedef struct seal_part {
    const void *data;
    size_t len;
} seal_part;
void seal_hmac_sha256_parts(const uint8_t *key, size_t key_len, const seal_part *parts, size_t n,
                            uint8_t out[32]);
/* HMACs computed by this process so far. A webhook's verify() computes its
 * HMAC over the body whatever the signature header looks like, so a
 * delivery with no signature costs what one with a wrong signature (or one
 * to an unknown connector) does; tests count with this. */
uint64_t seal_hmac_count(void);
int seal_equal(const void *a, const void *b, size_t n); /* 1 when equal */

#endif
