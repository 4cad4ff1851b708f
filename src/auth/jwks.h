/* JSON Web Key Sets (RFC 7517): the public keys an OAuth 2.0 authorization
 * server signs its access tokens with, parsed into OpenSSL keys, fetched
 * over HTTP(S) and cached.
 *
 * jwks_parse reads a set {"keys": [...]}. Only signature keys lore can use
 * are kept:
 *
 *   kty "RSA" with n and e (RS256): the modulus must have 2048 to 8192 bits
 *   kty "EC", crv "P-256", x and y of 32 bytes each (ES256); the point must
 *   lie on the curve
 *
 * A key whose "use" is present and not "sig", whose "key_ops" lacks
 * "verify", whose "alg" is present and not RS256/ES256, or whose kty is
 * anything else (oct, OKP) is left out silently. A key of a usable type
 * that fails its checks (an RSA modulus under 2048 bits, a point off the
 * curve, a bad base64url field) is kept as *rejected*: looking up its kid
 * answers JWKS_KEY_REJECTED, so a token signed with it is refused with a
 * reason rather than sending the cache to refetch. At most JWKS_MAX_KEYS
 * keys are read; a set with no usable key at all is LORE_NOT_FOUND (the
 * cache treats it as a failed fetch and keeps its last good set).
 *
 * Key selection (jwks_set_find): a token's kid names the key; a token
 * without a kid may only use a set holding exactly one usable key. The key
 * must suit the algorithm: RS256 needs an RSA key, ES256 an EC P-256 key,
 * and a key that names its own "alg" must name that one.
 *
 * jwks_cache fetches one URL with libcurl (no redirects, http and https
 * only; TLS certificates and host names are verified by libcurl's defaults).
 * http:// is accepted so tests can serve keys from 127.0.0.1; production
 * must use https://, since whoever can alter the key set can mint tokens
 * (a plain-http URL to a host other than localhost is logged as a warning).
 * Refresh policy, all measured on the now_ms the caller passes:
 *
 *   - an empty cache fetches on first use;
 *   - a set older than refresh_s is refetched by the request that notices,
 *     while other threads keep using the old set meanwhile;
 *   - a kid the set does not hold triggers a refetch only if the last fetch
 *     started at least min_refetch_s ago (default 30 s), so tokens carrying
 *     random kids cannot make lore hammer the identity provider;
 *   - after a failed fetch (network, HTTP status other than 200, body over
 *     max_body, no usable key) no new fetch starts for retry_s, and the last
 *     good set keeps being served however old it is.
 *
 * Threads: a jwks_set is immutable once parsed and may be read by any
 * number of threads. A jwks_cache is safe to share between threads: one
 * mutex guards it and at most one fetch runs at a time (without holding the
 * mutex); a thread that has no usable set waits for the fetch in progress.
 * Ownership: strings passed in are borrowed (the cache copies its URL); keys
 * handed out are up-referenced and freed by the caller with EVP_PKEY_free. */
#ifndef LORE_AUTH_JWKS_H
#define LORE_AUTH_JWKS_H

#include <openssl/types.h>
#include <stddef.h>
#include <stdint.h>
#include "util/status.h"

#define JWKS_MAX_KEYS 64
#define JWKS_KID_MAX 256 /* bytes; longer kids are refused */
#define JWKS_RSA_MIN_BITS 2048
#define JWKS_RSA_MAX_BITS 8192
#define JWKS_MAX_DEPTH 8 /* JSON nesting of a key set */

/* The signature algorithms lore accepts (RFC 7518 section 3.1). */
typedef enum { JWKS_ALG_RS256, JWKS_ALG_ES256 } jwks_alg;

typedef enum {
    JWKS_FOUND,        /* *out holds the key */
    JWKS_NO_KID,       /* no kid given and the set holds more than one usable key */
    JWKS_UNKNOWN_KID,  /* no key of that kid (after a refetch, if one was allowed) */
    JWKS_KEY_MISMATCH, /* the kid's key does not suit the algorithm */
    JWKS_KEY_REJECTED, /* the kid names a key the set refused (weak or invalid) */
    JWKS_UNAVAILABLE,  /* no key set has ever been fetched successfully */
    JWKS_ERROR         /* out of memory or an OpenSSL failure */
} jwks_lookup;

typedef struct jwks_set jwks_set;
typedef struct jwks_cache jwks_cache;

/* Parses a JWK Set from json[0, n) (need not be NUL-terminated) into *out,
 * owned. LORE_INVALID: not a JWK Set (bad JSON, nesting deeper than
 * JWKS_MAX_DEPTH, no "keys" array); LORE_NOT_FOUND: no usable key;
 * LORE_NOMEM. err (may be NULL) says why; *out is NULL on failure. Pure:
 * no I/O, no logging. */
LORE_MUST_CHECK lore_status jwks_parse(const char *json, size_t n, jwks_set **out, char *err,
                                       size_t errlen);
/* Usable keys in the set (rejected ones not counted). */
size_t jwks_set_count(const jwks_set *s);
/* Selects the key for kid (NULL: the token has none) and alg, as described
 * above. On JWKS_FOUND *out is up-referenced; otherwise it is NULL. */
jwks_lookup jwks_set_find(const jwks_set *s, const char *kid, jwks_alg alg, EVP_PKEY **out);
void jwks_set_free(jwks_set *s);

typedef struct jwks_cache_config {
    const char *url;   /* http:// or https://; required */
    int refresh_s;     /* refetch a set this old; default 300 */
    int min_refetch_s; /* least time between fetches for unknown kids; default 30 */
    int retry_s;       /* no fetch for this long after a failed one; default 5 */
    int timeout_s;     /* whole fetch, connection included; default 5 */
    size_t max_body;   /* bytes; default 64 KiB */
} jwks_cache_config;

void jwks_cache_config_default(jwks_cache_config *c);
/* Creates a cache for c->url; nothing is fetched yet. LORE_INVALID for a
 * missing or non-http(s) URL or a non-positive interval or size; LORE_NOMEM;
 * LORE_INTERNAL if libcurl cannot be initialized. */
LORE_MUST_CHECK lore_status jwks_cache_new(const jwks_cache_config *c, jwks_cache **out, char *err,
                                           size_t errlen);
/* Looks up the key for kid (NULL: none) and alg at now_ms (Unix ms),
 * fetching by the policy above; may block for up to the fetch timeout. On
 * JWKS_FOUND *out is up-referenced (EVP_PKEY_free it); otherwise NULL. */
jwks_lookup jwks_cache_key(jwks_cache *c, const char *kid, jwks_alg alg, int64_t now_ms,
                           EVP_PKEY **out);
/* Fetches attempted so far (successful or not); for tests and metrics. */
unsigned long jwks_cache_fetches(jwks_cache *c);
void jwks_cache_free(jwks_cache *c);

/* A short stable name of a lookup result ("unknown_kid"); never NULL. */
const char *jwks_lookup_name(jwks_lookup r);

/* Decodes unpadded base64url (RFC 4648 section 5) s[0, n) into out, which
 * has room for n / 4 * 3 + 2 bytes, and sets *outlen. Strict: only the 64
 * characters of the alphabet, no padding, n % 4 != 1, and the unused bits
 * of the last character zero, so each byte string has exactly one
 * encoding. Returns 0, or -1 if s is not such an encoding. (Shared with
 * jwt.c.) */
int jwks_b64url_decode(const char *s, size_t n, uint8_t *out, size_t *outlen);

#endif
