/* Sealing secrets at rest; see seal.h.
 *
 * Derivations (HKDF-SHA256, RFC 5869). The master key is the configured
 * string's bytes as given (at least SEAL_MIN_MASTER of them), the input
 * keying material; the salt is the fixed string "lore-seal-v1":
 *
 *   data key = HKDF(ikm = master, salt = "lore-seal-v1",
 *                   info = "lore seal data key v1", L = 32)   AES-256 key
 *   key id   = hex(HKDF(ikm = master, salt = "lore-seal-v1",
 *                       info = "lore seal key id v1", L = 8))  16 hex digits
 *
 * The two outputs use different info strings, so they are independent: the
 * key id, stored in clear beside each ciphertext, tells nothing about the
 * data key (HKDF's outputs for distinct info values are computationally
 * independent), and the master key itself is never stored.
 *
 * Sealing: AES-256-GCM under the data key, a 12-byte nonce from RAND_bytes
 * for every seal (random nonces are safe far beyond the number of secrets a
 * server holds: the GCM bound is 2^32 messages per key), a 16-byte tag.
 * Associated data, which binds the ciphertext to its row:
 *
 *   "LS1" | u32be(len(tenant)) | tenant | u32be(len(name)) | name
 *
 * Length prefixes make the encoding unambiguous (tenant "a" with name "bc"
 * differs from tenant "ab" with name "c"), so a ciphertext copied to another
 * tenant or name fails to authenticate. Sealed bytes:
 *
 *   "LS1" | nonce (12) | ciphertext (len(plain)) | tag (16)
 *
 * The magic versions the format: a later scheme gets another prefix. */
#include "crypto/seal.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/sha256.h"

#define SEAL_MAGIC "LS1"
#define SEAL_MAGIC_LEN 3
#define SEAL_NONCE_LEN 12
#define SEAL_TAG_LEN 16
#define SEAL_OVERHEAD (SEAL_MAGIC_LEN + SEAL_NONCE_LEN + SEAL_TAG_LEN)
#define SEAL_NAME_CAP 4096 /* bytes of tenant or name bound as associated data */

static const char salt_v1[] = "lore-seal-v1";
static const char info_key[] = "lore seal data key v1";
static const char info_id[] = "lore seal key id v1";

typedef struct seal_key {
    uint8_t data[32];
    char id[SEAL_KEY_ID_LEN + 1];
} seal_key;

struct seal_keyring {
    seal_key cur, prev;
    int has_prev;
};

lore_status seal_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt,
                             size_t salt_len, const uint8_t *info, size_t info_len, uint8_t *out,
                             size_t out_len) {
    if (out_len == 0 || out_len > 255 * 32) return LORE_INVALID;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (!ctx) return LORE_INTERNAL;
    /* OpenSSL takes the buffers as non-const void *; it only reads them.
     * An empty buffer is passed as a pointer to a zero byte, never NULL. */
    static uint8_t empty[1];
    OSSL_PARAM params[5], *p = params;
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                             ikm_len ? (void *)(uintptr_t)ikm : empty, ikm_len);
    if (salt_len)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(uintptr_t)salt,
                                                 salt_len);
    if (info_len)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)(uintptr_t)info,
                                                 info_len);
    *p = OSSL_PARAM_construct_end();
    int ok = EVP_KDF_derive(ctx, out, out_len, params) == 1;
    EVP_KDF_CTX_free(ctx);
    return ok ? LORE_OK : LORE_INTERNAL;
}

/* Derives one key of the ring from a master key string. */
static lore_status derive(const char *master, seal_key *k) {
    const uint8_t *ikm = (const uint8_t *)master;
    size_t n = strlen(master);
    uint8_t idb[SEAL_KEY_ID_LEN / 2];
    lore_status st =
        seal_hkdf_sha256(ikm, n, (const uint8_t *)salt_v1, sizeof salt_v1 - 1,
                         (const uint8_t *)info_key, sizeof info_key - 1, k->data, sizeof k->data);
    if (st == LORE_OK)
        st = seal_hkdf_sha256(ikm, n, (const uint8_t *)salt_v1, sizeof salt_v1 - 1,
                              (const uint8_t *)info_id, sizeof info_id - 1, idb, sizeof idb);
    if (st == LORE_OK) lore_hex(idb, sizeof idb, k->id);
    return st;
}

lore_status seal_keyring_new(const char *master, const char *previous, seal_keyring **out,
                             char *err, size_t errlen) {
    *out = NULL;
    if (!master || strlen(master) < SEAL_MIN_MASTER) {
        snprintf(err, errlen, "master_key must be at least %d characters (it has %zu)",
                 SEAL_MIN_MASTER, master ? strlen(master) : 0);
        return LORE_INVALID;
    }
    int has_prev = previous && *previous;
    if (has_prev && strlen(previous) < SEAL_MIN_MASTER) {
        snprintf(err, errlen, "master_key_previous must be at least %d characters (it has %zu)",
                 SEAL_MIN_MASTER, strlen(previous));
        return LORE_INVALID;
    }
    if (has_prev && !strcmp(master, previous)) {
        snprintf(err, errlen,
                 "master_key_previous is the same as master_key: set master_key to the new key "
                 "and master_key_previous to the old one");
        return LORE_INVALID;
    }
    seal_keyring *k = OPENSSL_secure_zalloc(sizeof *k);
    if (!k) return LORE_NOMEM;
    lore_status st = derive(master, &k->cur);
    if (st == LORE_OK && has_prev) {
        st = derive(previous, &k->prev);
        k->has_prev = 1;
    }
    if (st != LORE_OK) {
        snprintf(err, errlen, "cannot derive the sealing key: %s", lore_status_message(st));
        seal_keyring_free(k);
        return st;
    }
    *out = k;
    return LORE_OK;
}

void seal_keyring_free(seal_keyring *k) {
    if (!k) return;
    OPENSSL_secure_clear_free(k, sizeof *k); /* wipes the derived keys */
}

const char *seal_current_id(const seal_keyring *k) {
    return k->cur.id;
}

const char *seal_previous_id(const seal_keyring *k) {
    return k->has_prev ? k->prev.id : "";
}

/* The associated data for (tenant, name) into aad; its length, or 0 when a
 * part is longer than SEAL_NAME_CAP. */
static size_t make_aad(const char *tenant, const char *name, uint8_t *aad, size_t cap) {
    size_t tl = strlen(tenant), nl = strlen(name);
    if (tl > SEAL_NAME_CAP || nl > SEAL_NAME_CAP || SEAL_MAGIC_LEN + 8 + tl + nl > cap) return 0;
    uint8_t *p = aad;
    memcpy(p, SEAL_MAGIC, SEAL_MAGIC_LEN);
    p += SEAL_MAGIC_LEN;
    for (int i = 3; i >= 0; i--)
        *p++ = (uint8_t)(tl >> (8 * i));
    memcpy(p, tenant, tl);
    p += tl;
    for (int i = 3; i >= 0; i--)
        *p++ = (uint8_t)(nl >> (8 * i));
    memcpy(p, name, nl);
    p += nl;
    return (size_t)(p - aad);
}

#define AAD_CAP (SEAL_MAGIC_LEN + 8 + 2 * SEAL_NAME_CAP)

/* One AES-256-GCM operation: enc 1 seals in -> out and writes tag; enc 0
 * opens in -> out and checks tag. 1 on success. */
static int gcm(int enc, const uint8_t key[32], const uint8_t *nonce, const uint8_t *aad,
               size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag) {
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c) return 0;
    int ok = 0, n = 0;
    if (len > INT32_MAX || aad_len > INT32_MAX) goto out;
    if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN, NULL) != 1 ||
        EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc) != 1)
        goto out;
    if (EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) != 1) goto out;
    if (len && EVP_CipherUpdate(c, out, &n, in, (int)len) != 1) goto out;
    if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN, tag) != 1) goto out;
    if (EVP_CipherFinal_ex(c, out + (len ? (size_t)n : 0), &n) != 1) goto out;
    if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN, tag) != 1) goto out;
    ok = 1;
out:
    EVP_CIPHER_CTX_free(c);
    return ok;
}

lore_status seal_encrypt(const seal_keyring *k, const char *tenant, const char *name,
                         const uint8_t *plain, size_t len, lore_buf *out, char *key_id) {
    uint8_t aad[AAD_CAP];
    size_t aad_len = make_aad(tenant, name, aad, sizeof aad);
    if (!aad_len || len > INT32_MAX - SEAL_OVERHEAD) return LORE_INVALID;
    lore_buf_reset(out);
    lore_status st = lore_buf_reserve(out, len + SEAL_OVERHEAD);
    if (st != LORE_OK) return st;
    uint8_t *p = (uint8_t *)out->data;
    memcpy(p, SEAL_MAGIC, SEAL_MAGIC_LEN);
    uint8_t *nonce = p + SEAL_MAGIC_LEN, *ct = nonce + SEAL_NONCE_LEN, *tag = ct + len;
    if (RAND_bytes(nonce, SEAL_NONCE_LEN) != 1) return LORE_INTERNAL;
    if (!gcm(1, k->cur.data, nonce, aad, aad_len, plain, len, ct, tag)) return LORE_INTERNAL;
    out->len = len + SEAL_OVERHEAD;
    out->data[out->len] = '\0';
    memcpy(key_id, k->cur.id, SEAL_KEY_ID_LEN + 1);
    return LORE_OK;
}

lore_status seal_decrypt(const seal_keyring *k, const char *key_id, const char *tenant,
                         const char *name, const uint8_t *sealed, size_t len, lore_buf *out) {
    const seal_key *key = NULL;
    if (key_id && !strcmp(key_id, k->cur.id))
        key = &k->cur;
    else if (key_id && k->has_prev && !strcmp(key_id, k->prev.id))
        key = &k->prev;
    if (!key) return LORE_NOT_FOUND;
    uint8_t aad[AAD_CAP];
    size_t aad_len = make_aad(tenant, name, aad, sizeof aad);
    if (!aad_len) return LORE_INVALID;
    if (len < SEAL_OVERHEAD || memcmp(sealed, SEAL_MAGIC, SEAL_MAGIC_LEN)) return LORE_CORRUPT;
    size_t plen = len - SEAL_OVERHEAD;
    const uint8_t *nonce = sealed + SEAL_MAGIC_LEN, *ct = nonce + SEAL_NONCE_LEN;
    uint8_t tag[SEAL_TAG_LEN];
    memcpy(tag, ct + plen, SEAL_TAG_LEN);
    lore_buf_reset(out);
    lore_status st = lore_buf_reserve(out, plen);
    if (st != LORE_OK) return st;
    if (!gcm(0, key->data, nonce, aad, aad_len, ct, plen, (uint8_t *)out->data, tag)) {
        OPENSSL_cleanse(out->data, plen); /* nothing unauthenticated is handed out */
        return LORE_CORRUPT;
    }
    out->len = plen;
    out->data[plen] = '\0';
    return LORE_OK;
}

static _Atomic uint64_t hmac_count;

uint64_t seal_hmac_count(void) {
    return hmac_count;
}

void seal_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
                      uint8_t out[32]) {
    seal_part p = {data, len};
    seal_hmac_sha256_parts(key, key_len, &p, 1, out);
}

void seal_hmac_sha256_parts(const uint8_t *key, size_t key_len, const seal_part *parts, size_t n,
                            uint8_t out[32]) {
    static const uint8_t empty[1];
    hmac_count++;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    size_t olen = 0;
    /* An empty key is still a key (HMAC pads it); OpenSSL wants a pointer. */
    int ok = c && EVP_MAC_init(c, key_len ? key : empty, key_len, params) == 1;
    for (size_t i = 0; ok && i < n; i++)
        if (parts[i].len) ok = EVP_MAC_update(c, parts[i].data, parts[i].len) == 1;
    ok = ok && EVP_MAC_final(c, out, &olen, 32) == 1 && olen == 32;
    EVP_MAC_CTX_free(c);
    EVP_MAC_free(mac);
    if (ok) return;
    /* Only on allocation failure. A fixed value (zeros) could be matched by
     * a forged signature; random bytes cannot, and without them there is
     * nothing safe to return. */
    if (RAND_bytes(out, 32) != 1) abort();
}

int seal_equal(const void *a, const void *b, size_t n) {
    return CRYPTO_memcmp(a, b, n) == 0;
}
