/* crypto/seal.c: HKDF against RFC 5869, HMAC against RFC 4231, the sealed
 * format as documented (opened here with OpenSSL directly), round trips,
 * associated data binding, tampering, wrong and previous keys. */
#include <openssl/evp.h>

#include "crypto/seal.h"
#include "crypto/sha256.h"
#include "test.h"

static size_t unhex(const char *h, uint8_t *out) {
    size_t n = strlen(h) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

static void check_hkdf(const char *ikm, const char *salt, const char *info, const char *okm) {
    uint8_t i[128], s[128], f[128], want[128], got[128];
    size_t il = unhex(ikm, i), sl = unhex(salt, s), fl = unhex(info, f), ol = unhex(okm, want);
    CHECK(seal_hkdf_sha256(i, il, s, sl, f, fl, got, ol) == LORE_OK);
    CHECK(memcmp(got, want, ol) == 0);
}

static void range_hex(unsigned from, unsigned to, char *out) {
    for (unsigned v = from; v <= to; v++)
        sprintf(out + 2 * (v - from), "%02x", v);
}

static void test_hkdf_rfc5869(void) {
    /* A.1 */
    check_hkdf(
        "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "000102030405060708090a0b0c",
        "f0f1f2f3f4f5f6f7f8f9",
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
    /* A.2: long inputs */
    char ikm[200], salt[200], info[200];
    range_hex(0x00, 0x4f, ikm);
    range_hex(0x60, 0xaf, salt);
    range_hex(0xb0, 0xff, info);
    check_hkdf(ikm, salt, info,
               "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac78272"
               "71cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d"
               "87");
    /* A.3: no salt, no info */
    check_hkdf(
        "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "",
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
    uint8_t out[8];
    CHECK(seal_hkdf_sha256((const uint8_t *)"k", 1, NULL, 0, NULL, 0, out, 0) == LORE_INVALID);
}

static void test_hmac_rfc4231(void) {
    uint8_t key[20], mac[32], want[32];
    memset(key, 0x0b, sizeof key);
    seal_hmac_sha256(key, sizeof key, (const uint8_t *)"Hi There", 8, mac);
    unhex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", want);
    CHECK(seal_equal(mac, want, 32));
    const char *data = "what do ya want for nothing?";
    seal_hmac_sha256((const uint8_t *)"Jefe", 4, (const uint8_t *)data, strlen(data), mac);
    unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want);
    CHECK(seal_equal(mac, want, 32));
    want[31] ^= 1;
    CHECK(!seal_equal(mac, want, 32));
    CHECK(seal_equal(mac, mac, 0));
}

#define KEY_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define KEY_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void test_keyring(void) {
    seal_keyring *k = NULL;
    char err[256];
    CHECK(seal_keyring_new("short", NULL, &k, err, sizeof err) == LORE_INVALID && !k);
    CHECK(strstr(err, "master_key") != NULL);
    CHECK(seal_keyring_new(KEY_A, KEY_A, &k, err, sizeof err) == LORE_INVALID);
    CHECK(seal_keyring_new(KEY_A, "tooshort", &k, err, sizeof err) == LORE_INVALID);
    CHECK(strstr(err, "master_key_previous") != NULL);
    CHECK(seal_keyring_new(KEY_A, "", &k, err, sizeof err) == LORE_OK);
    CHECK_STR(seal_previous_id(k), "");
    /* The key id is the documented derivation, and never the key. */
    uint8_t idb[8];
    char want[17];
    CHECK(seal_hkdf_sha256((const uint8_t *)KEY_A, strlen(KEY_A), (const uint8_t *)"lore-seal-v1",
                           12, (const uint8_t *)"lore seal key id v1", 19, idb,
                           sizeof idb) == LORE_OK);
    lore_hex(idb, sizeof idb, want);
    CHECK_STR(seal_current_id(k), want);
    CHECK_INT(strlen(seal_current_id(k)), SEAL_KEY_ID_LEN);
    seal_keyring *k2 = NULL;
    CHECK(seal_keyring_new(KEY_B, KEY_A, &k2, err, sizeof err) == LORE_OK);
    CHECK_STR(seal_previous_id(k2), seal_current_id(k));
    CHECK(strcmp(seal_current_id(k2), seal_current_id(k)) != 0);
    seal_keyring_free(k);
    seal_keyring_free(k2);
}

/* Opens sealed bytes the way docs/secrets.md describes, with OpenSSL alone:
 * proves the documented derivation, AAD and layout are the real ones. */
static int open_documented(const char *master, const char *tenant, const char *name,
                           const uint8_t *sealed, size_t len, uint8_t *plain) {
    uint8_t key[32], aad[512];
    if (seal_hkdf_sha256((const uint8_t *)master, strlen(master), (const uint8_t *)"lore-seal-v1",
                         12, (const uint8_t *)"lore seal data key v1", 21, key, 32) != LORE_OK)
        return 0;
    size_t tl = strlen(tenant), nl = strlen(name), a = 0;
    memcpy(aad, "LS1", 3);
    a = 3;
    aad[a++] = 0, aad[a++] = 0, aad[a++] = (uint8_t)(tl >> 8), aad[a++] = (uint8_t)tl;
    memcpy(aad + a, tenant, tl), a += tl;
    aad[a++] = 0, aad[a++] = 0, aad[a++] = (uint8_t)(nl >> 8), aad[a++] = (uint8_t)nl;
    memcpy(aad + a, name, nl), a += nl;
    if (len < 31 || memcmp(sealed, "LS1", 3)) return 0;
    size_t pl = len - 31;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, sealed + 3) == 1 &&
                    EVP_DecryptUpdate(c, NULL, &n, aad, (int)a) == 1 &&
                    EVP_DecryptUpdate(c, plain, &n, sealed + 15, (int)pl) == 1 &&
                    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16,
                                        (void *)(uintptr_t)(sealed + 15 + pl)) == 1 &&
                    EVP_DecryptFinal_ex(c, plain + n, &n) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok;
}

static void test_round_trip(void) {
    seal_keyring *a = NULL, *b = NULL, *ba = NULL;
    char err[256], id[SEAL_KEY_ID_LEN + 1];
    CHECK(seal_keyring_new(KEY_A, NULL, &a, err, sizeof err) == LORE_OK);
    CHECK(seal_keyring_new(KEY_B, NULL, &b, err, sizeof err) == LORE_OK);
    CHECK(seal_keyring_new(KEY_B, KEY_A, &ba, err, sizeof err) == LORE_OK);
    const char *secret = "whsec_0123456789abcdef";
    size_t sl = strlen(secret);
    lore_buf s1, s2, p;
    lore_buf_init(&s1, 1 << 16);
    lore_buf_init(&s2, 1 << 16);
    lore_buf_init(&p, 1 << 16);
    CHECK(seal_encrypt(a, "acme", "github", (const uint8_t *)secret, sl, &s1, id) == LORE_OK);
    CHECK_STR(id, seal_current_id(a));
    CHECK_INT(s1.len, sl + 31);
    CHECK(memmem(s1.data, s1.len, secret, sl) == NULL); /* nothing in clear */
    CHECK(seal_decrypt(a, id, "acme", "github", (uint8_t *)s1.data, s1.len, &p) == LORE_OK);
    CHECK(p.len == sl && !memcmp(p.data, secret, sl));
    uint8_t plain[64];
    CHECK(open_documented(KEY_A, "acme", "github", (uint8_t *)s1.data, s1.len, plain));
    CHECK(!memcmp(plain, secret, sl));
    /* Random nonces: the same value seals differently each time. */
    CHECK(seal_encrypt(a, "acme", "github", (const uint8_t *)secret, sl, &s2, id) == LORE_OK);
    CHECK(s1.len == s2.len && memcmp(s1.data, s2.data, s1.len) != 0);
    /* An empty value round-trips too (secrets.c refuses it; seal does not care). */
    CHECK(seal_encrypt(a, "", "x", (const uint8_t *)"", 0, &s2, id) == LORE_OK);
    CHECK(seal_decrypt(a, id, "", "x", (uint8_t *)s2.data, s2.len, &p) == LORE_OK && p.len == 0);

    /* AAD binding: another tenant, another name, or the boundary moved. */
    CHECK(seal_decrypt(a, id, "acme", "githuB", (uint8_t *)s1.data, s1.len, &p) != LORE_OK);
    CHECK(seal_decrypt(a, seal_current_id(a), "other", "github", (uint8_t *)s1.data, s1.len, &p) ==
          LORE_CORRUPT);
    CHECK(seal_decrypt(a, seal_current_id(a), "acme", "slack", (uint8_t *)s1.data, s1.len, &p) ==
          LORE_CORRUPT);
    CHECK(seal_decrypt(a, seal_current_id(a), "", "github", (uint8_t *)s1.data, s1.len, &p) ==
          LORE_CORRUPT);
    CHECK(seal_encrypt(a, "ab", "c", (const uint8_t *)secret, sl, &s2, id) == LORE_OK);
    CHECK(seal_decrypt(a, id, "a", "bc", (uint8_t *)s2.data, s2.len, &p) == LORE_CORRUPT);
    CHECK(seal_decrypt(a, id, "ab", "c", (uint8_t *)s2.data, s2.len, &p) == LORE_OK);

    /* Tampering with any byte fails; so does truncation. */
    int all = 1;
    for (size_t i = 0; i < s1.len; i++) {
        s1.data[i] ^= 0x40;
        lore_status st =
            seal_decrypt(a, seal_current_id(a), "acme", "github", (uint8_t *)s1.data, s1.len, &p);
        s1.data[i] ^= 0x40;
        if (st != LORE_CORRUPT) all = 0;
    }
    CHECK(all);
    CHECK(seal_decrypt(a, seal_current_id(a), "acme", "github", (uint8_t *)s1.data, s1.len - 1,
                       &p) == LORE_CORRUPT);
    CHECK(seal_decrypt(a, seal_current_id(a), "acme", "github", (uint8_t *)s1.data, 10, &p) ==
          LORE_CORRUPT);

    /* Keys: an unknown id is NOT_FOUND; a wrong key under a forged id is
     * CORRUPT; the previous key opens; the new one alone does not. */
    CHECK(seal_decrypt(b, seal_current_id(a), "acme", "github", (uint8_t *)s1.data, s1.len, &p) ==
          LORE_NOT_FOUND);
    CHECK(seal_decrypt(b, seal_current_id(b), "acme", "github", (uint8_t *)s1.data, s1.len, &p) ==
          LORE_CORRUPT);
    CHECK(seal_decrypt(ba, seal_current_id(a), "acme", "github", (uint8_t *)s1.data, s1.len, &p) ==
          LORE_OK);
    CHECK(p.len == sl && !memcmp(p.data, secret, sl));
    CHECK(seal_encrypt(ba, "acme", "github", (const uint8_t *)secret, sl, &s2, id) == LORE_OK);
    CHECK_STR(id, seal_current_id(b));
    CHECK(seal_decrypt(b, id, "acme", "github", (uint8_t *)s2.data, s2.len, &p) == LORE_OK);
    CHECK(seal_decrypt(a, id, "acme", "github", (uint8_t *)s2.data, s2.len, &p) == LORE_NOT_FOUND);

    /* A cap on the output is honoured. */
    lore_buf tiny;
    lore_buf_init(&tiny, 8);
    CHECK(seal_encrypt(a, "acme", "github", (const uint8_t *)secret, sl, &tiny, id) ==
          LORE_TOO_LARGE);
    lore_buf_free(&tiny);
    lore_buf_free(&s1);
    lore_buf_free(&s2);
    lore_buf_free(&p);
    seal_keyring_free(a);
    seal_keyring_free(b);
    seal_keyring_free(ba);
}

int main(void) {
    test_hkdf_rfc5869();
    test_hmac_rfc4231();
    test_keyring();
    test_round_trip();
    return test_summary();
}
