/* SHA-256 against the FIPS 180-2 test vectors, one-shot and incremental. */
#include "crypto/sha256.h"
#include "test.h"

static void check(const char *msg, const char *want) {
    uint8_t d[32];
    char hex[65];
    lore_sha256(msg, strlen(msg), d);
    lore_hex(d, 32, hex);
    CHECK_STR(hex, want);
    lore_sha256_ctx *c = lore_sha256_new();
    CHECK(c != NULL);
    for (const char *p = msg; *p; p++)
        lore_sha256_update(c, p, 1);
    lore_sha256_final(c, d);
    lore_hex(d, 32, hex);
    CHECK_STR(hex, want);
}

int main(void) {
    check("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char hex[5];
    const uint8_t b[2] = {0x0f, 0xa0};
    lore_hex(b, 2, hex);
    CHECK_STR(hex, "0fa0");
    return test_summary();
}
