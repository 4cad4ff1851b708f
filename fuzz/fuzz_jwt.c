/* Fuzzes what a bearer token and a key set can reach before any signature
 * verifies: splitting, base64url, header and claims JSON, the signature
 * check itself (RSA and EC keys made at start-up; a fuzzed signature never
 * verifies), the claims checks with principals and scopes, and jwks_parse.
 * The first byte picks what the rest is:
 *
 *   0  a compact token as presented
 *   1  a JWK Set
 *   2  header JSON, a newline, claims JSON: encoded here into a token with
 *      a dummy signature, so the claims checks see structured input
 *
 * Invariants: no crash, leak or sanitizer report; a decoded token's parts
 * are consistent; accepted claims hold valid principals, "user:" first, at
 * most JWT_MAX_PRINCIPALS, and only read/write/admin scope bits; a parsed
 * key set has a usable key and hands out keys of the asked type. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "auth/apikey.h"
#include "auth/jwks.h"
#include "auth/jwt.h"
#include "util/log.h"

#define NOW 1800000000000LL

static jwt_verifier *verifier;
static EVP_PKEY *rsa, *ec;

static void cleanup(void) {
    jwt_verifier_free(verifier);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    lore_log_set_level(LORE_LOG_OFF);
    jwt_config c;
    jwt_config_default(&c);
    c.issuer = "https://idp.example.com/";
    c.audience = "https://lore.example.com/mcp";
    c.jwks_url = "http://127.0.0.1:9/jwks"; /* never fetched: jwt_verify is not called */
    c.required_scope = "read";
    char err[256];
    rsa = EVP_RSA_gen(2048);
    ec = EVP_EC_gen("P-256");
    if (!rsa || !ec || jwt_verifier_new(&c, &verifier, err, sizeof err) != LORE_OK) abort();
    atexit(cleanup);
    return 0;
}

static void check_claims(const jwt_claims *c) {
    if (!c->subject || !c->nprincipals || c->nprincipals > JWT_MAX_PRINCIPALS) abort();
    if (strncmp(c->principals[0], "user:", 5)) abort();
    for (size_t i = 0; i < c->nprincipals; i++)
        if (!auth_principal_valid(c->principals[i])) abort();
    if (c->scopes & ~(AUTH_SCOPE_READ | AUTH_SCOPE_WRITE | AUTH_SCOPE_ADMIN)) abort();
}

static void run_token(const char *tok, size_t len) {
    jwt_token t;
    jwt_result r = jwt_decode(tok, len, &t);
    if (r != JWT_OK) {
        if (t.claims || t.sig || t.kid) abort(); /* zeroed on failure */
        return;
    }
    if (!t.claims || !t.sig || t.signing_len >= len || tok[t.signing_len] != '.') abort();
    /* Both keys: the one of the token's type fails to verify, the other is
     * refused for its type. */
    jwt_result rr = jwt_check_signature(&t, tok, rsa), re = jwt_check_signature(&t, tok, ec);
    if (rr == JWT_OK || re == JWT_OK) abort();
    jwt_claims c;
    if (jwt_check_claims(verifier, &t, NOW, &c) == JWT_OK) {
        check_claims(&c);
    } else if (c.subject || c.principals) {
        abort();
    }
    jwt_claims_free(&c);
    jwt_token_free(&t);
    char *z = malloc(len + 1);
    memcpy(z, tok, len);
    z[len] = '\0';
    (void)jwt_looks_like(z);
    free(z);
}

static char *b64(const uint8_t *p, size_t n, char *o) {
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = a[v >> 18], *o++ = a[(v >> 12) & 63], *o++ = a[(v >> 6) & 63], *o++ = a[v & 63];
    }
    if (n - i == 1) {
        *o++ = a[p[i] >> 2], *o++ = a[(p[i] & 3) << 4];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 8 | p[i + 1];
        *o++ = a[v >> 10], *o++ = a[(v >> 4) & 63], *o++ = a[(v & 15) << 2];
    }
    return o;
}

/* header "\n" claims -> base64url(header).base64url(claims).<64 bytes> */
static void run_structured(const uint8_t *data, size_t size) {
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hl = nl ? (size_t)(nl - data) : size;
    const uint8_t *claims = nl ? nl + 1 : data + size;
    size_t cl = size - hl - (nl ? 1 : 0);
    static const uint8_t sig[64] = {1};
    char *tok = malloc((size + 64) / 3 * 4 + 16), *o = tok;
    o = b64(data, hl, o);
    *o++ = '.';
    o = b64(claims, cl, o);
    *o++ = '.';
    o = b64(sig, sizeof sig, o);
    run_token(tok, (size_t)(o - tok));
    free(tok);
}

static void run_jwks(const uint8_t *data, size_t size) {
    jwks_set *s = NULL;
    char err[256];
    lore_status st = jwks_parse((const char *)data, size, &s, err, sizeof err);
    if ((st == LORE_OK) != (s != NULL)) abort();
    if (!s) return;
    if (!jwks_set_count(s)) abort();
    static const char *const kids[] = {NULL, "1", "k", "r1", "e1"};
    for (size_t i = 0; i < sizeof kids / sizeof kids[0]; i++) {
        for (int alg = JWKS_ALG_RS256; alg <= JWKS_ALG_ES256; alg++) {
            EVP_PKEY *k = NULL;
            jwks_lookup r = jwks_set_find(s, kids[i], (jwks_alg)alg, &k);
            if ((r == JWKS_FOUND) != (k != NULL)) abort();
            if (k && !EVP_PKEY_is_a(k, alg == JWKS_ALG_RS256 ? "RSA" : "EC")) abort();
            EVP_PKEY_free(k);
        }
    }
    jwks_set_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 64 * 1024) return 0;
    switch (data[0] % 3) {
    case 0:
        run_token((const char *)data + 1, size - 1);
        break;
    case 1:
        run_jwks(data + 1, size - 1);
        break;
    default:
        run_structured(data + 1, size - 1);
        break;
    }
    return 0;
}
