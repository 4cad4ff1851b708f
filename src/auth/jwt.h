/* OAuth 2.0 access tokens as JWTs (RFC 9068, RFC 7519), verified the way a
 * resource server does: lore's MCP endpoint accepts `Authorization: Bearer
 * <jwt>` from an external authorization server and learns who is calling.
 *
 * Token: compact JWS only, three base64url segments (RFC 4648 section 5,
 * unpadded, strict alphabet, canonical trailing bits), at most JWT_MAX_TOKEN
 * bytes. The header is a JSON object with
 *
 *   alg  "RS256" or "ES256"; "none", HS*, PS*, EdDSA and anything else are
 *        refused (JWT_UNSUPPORTED_ALG)
 *   typ  absent, "JWT", "at+jwt" or "application/at+jwt" (any case)
 *   kid  needed when the key set holds more than one usable key
 *   crit must be absent (lore understands no header extension)
 *
 * jku, x5u, jwk and x5c are ignored: keys come only from the configured
 * JWKS URL (jwks.h). ES256 signatures are the raw 64 bytes r||s (RFC 7518
 * section 3.4), converted to DER for OpenSSL.
 *
 * Claims (JSON object; nesting at most JWT_MAX_DEPTH; duplicate names are
 * malformed):
 *
 *   iss   must equal jwt_config.issuer exactly; checked before any key is
 *         looked up, so a token from another issuer never causes a fetch
 *   aud   a string equal to jwt_config.audience, or an array holding it
 *   exp   required, a number of seconds; refused once now >= exp + leeway
 *   nbf   if present, refused while now < nbf - leeway
 *   iat   if present, refused if iat > now + leeway
 *   sub   required, a non-empty string: jwt_claims.subject
 *   scope (space-separated string) and scp (array of strings, or a
 *         space-separated string): the granted scopes, both read if both
 *         are present. jwt_config.required_scope lists scopes separated by
 *         spaces that must all appear verbatim (exact, case-sensitive).
 *         Scope names map to lore's scope bits: "read" and "lore:read" ->
 *         AUTH_SCOPE_READ, likewise "write" and "admin"; other names are
 *         ignored. AUTH_SCOPE_SERVER is never granted by a token.
 *
 * Principals (for document ACLs; apikey.h): first "user:<v>", where v is
 * the string claim named by jwt_config.user_claim (default "email"; it is
 * skipped when "email_verified" is false) falling back to sub when that
 * claim is absent, not a string or not a valid principal; set user_claim
 * to "sub" to always use the subject. Then "group:<g>" for each string of
 * the claim named by groups_claim (default "groups"; a string or an array
 * of strings; "" disables groups). Groups that do not make a valid
 * principal (auth_principal_valid) and duplicates are skipped; at most
 * JWT_MAX_PRINCIPALS principals in all, further groups are dropped.
 *
 * Threads: a verifier is safe to share; jwt_verify may run on many threads
 * at once (the key cache has its own lock). Nothing else here keeps state.
 * Ownership: config strings are copied by jwt_verifier_new; claims and
 * decoded tokens are owned by the caller and freed with their _free. */
#ifndef LORE_AUTH_JWT_H
#define LORE_AUTH_JWT_H

#include <openssl/types.h>
#include <stddef.h>
#include <stdint.h>
#include "auth/jwks.h"
#include "util/status.h"

#define JWT_MAX_TOKEN 8192 /* bytes */
#define JWT_MAX_DEPTH 16   /* JSON nesting of header and claims */
#define JWT_MAX_PRINCIPALS 64
#define JWT_DEFAULT_LEEWAY_S 60

/* Outcomes: the enum, a short stable name (for logs, metrics and the
 * error_description of WWW-Authenticate) and a human message. */
#define JWT_RESULT_MAP(X)                                                                          \
    X(OK, "ok", "token verified")                                                                  \
    X(MALFORMED, "malformed", "not a compact JWS with JSON header and claims")                     \
    X(TOO_LARGE, "too_large", "token longer than 8 KiB")                                           \
    X(UNSUPPORTED_ALG, "unsupported_alg", "signature algorithm not accepted (RS256, ES256)")       \
    X(UNSUPPORTED_HEADER, "unsupported_header", "typ not accepted or crit present")                \
    X(MISSING_KID, "missing_kid", "token has no kid and the key set has several keys")             \
    X(UNKNOWN_KID, "unknown_kid", "no key with the token's kid")                                   \
    X(KEY_MISMATCH, "key_mismatch", "the kid's key does not suit the token's alg")                 \
    X(REJECTED_KEY, "rejected_key", "the kid's key is refused (RSA under 2048 bits or invalid)")   \
    X(BAD_SIGNATURE, "bad_signature", "signature does not verify")                                 \
    X(INVALID_CLAIMS, "invalid_claims", "a claim is missing or of the wrong type")                 \
    X(EXPIRED, "expired", "token expired")                                                         \
    X(NOT_YET_VALID, "not_yet_valid", "token not valid yet (nbf or iat in the future)")            \
    X(WRONG_ISSUER, "wrong_issuer", "issuer not accepted")                                         \
    X(WRONG_AUDIENCE, "wrong_audience", "token not meant for this resource")                       \
    X(INSUFFICIENT_SCOPE, "insufficient_scope", "token lacks a required scope")                    \
    X(JWKS_UNAVAILABLE, "jwks_unavailable", "signing keys could not be fetched")                   \
    X(INTERNAL, "internal", "out of memory or crypto library failure")

typedef enum {
#define JWT_RESULT_ENUM(name, code, msg) JWT_##name,
    JWT_RESULT_MAP(JWT_RESULT_ENUM)
#undef JWT_RESULT_ENUM
        JWT_RESULT_COUNT
} jwt_result;

typedef struct jwt_config {
    const char *issuer;         /* required: the exact iss */
    const char *audience;       /* required: the canonical MCP URL */
    const char *jwks_url;       /* required: http(s) URL of the key set */
    const char *required_scope; /* NULL or "": none; else space-separated, all required */
    const char *groups_claim;   /* NULL: "groups"; "": no group principals */
    const char *user_claim;     /* NULL: "email"; falls back to sub */
    int leeway_s;               /* clock skew allowed for exp, nbf, iat; default 60 */
    int jwks_refresh_s;         /* see jwks_cache_config; 0 takes its default */
    int jwks_timeout_s;         /* 0 takes the default */
    size_t jwks_max_body;       /* 0 takes the default */
} jwt_config;

/* What a verified token says. */
typedef struct jwt_claims {
    char *subject;      /* owned: sub */
    char **principals;  /* owned: "user:..." first, then "group:..." */
    size_t nprincipals; /* at least 1 on success */
    unsigned scopes;    /* AUTH_SCOPE_READ | WRITE | ADMIN bits granted */
    int64_t exp_ms;     /* expiry, Unix ms */
} jwt_claims;

/* A token split and decoded, its signature not yet checked. */
typedef struct jwt_token {
    jwks_alg alg;
    char *kid;          /* owned; NULL when the header has none */
    size_t signing_len; /* length of "header.payload", the signed bytes */
    uint8_t *sig;       /* owned */
    size_t siglen;
    struct json_t *claims; /* owned: the payload, a JSON object */
} jwt_token;

typedef struct jwt_verifier jwt_verifier;

/* leeway 60 s, every string NULL, JWKS settings 0 (their defaults). */
void jwt_config_default(jwt_config *c);
/* Checks and copies c; creates the key cache (nothing is fetched yet).
 * LORE_INVALID (err says which field), LORE_NOMEM, LORE_INTERNAL. */
LORE_MUST_CHECK lore_status jwt_verifier_new(const jwt_config *c, jwt_verifier **out, char *err,
                                             size_t errlen);
void jwt_verifier_free(jwt_verifier *v);

/* Verifies token[0, len) (need not be NUL-terminated) at now_ms (Unix ms):
 * decode, issuer, key lookup (may fetch; see jwks.h), signature, claims.
 * On JWT_OK *out holds the claims (free with jwt_claims_free); on any other
 * outcome *out is zeroed and needs no freeing. */
LORE_MUST_CHECK jwt_result jwt_verify(jwt_verifier *v, const char *token, size_t len,
                                      int64_t now_ms, jwt_claims *out);
void jwt_claims_free(jwt_claims *c);

/* 1 if token looks like a JWT rather than a lore API key ("lore_..."):
 * starts with "eyJ" (base64url of '{"') and is three base64url segments
 * separated by dots. Says nothing about validity. */
int jwt_looks_like(const char *token);

/* The steps of jwt_verify, for the fuzzer and for callers with keys of
 * their own. jwt_decode splits and decodes token[0, len) and checks the
 * header (JWT_MALFORMED, JWT_TOO_LARGE, JWT_UNSUPPORTED_ALG,
 * JWT_UNSUPPORTED_HEADER, JWT_INTERNAL); on JWT_OK free *out with
 * jwt_token_free, otherwise it is zeroed. */
LORE_MUST_CHECK jwt_result jwt_decode(const char *token, size_t len, jwt_token *out);
void jwt_token_free(jwt_token *t);
/* JWT_OK if t's signature over token[0, t->signing_len) verifies with key
 * (which must suit t->alg), else JWT_BAD_SIGNATURE (or JWT_INTERNAL). */
LORE_MUST_CHECK jwt_result jwt_check_signature(const jwt_token *t, const char *token,
                                               EVP_PKEY *key);
/* Checks the claims of t against v's configuration at now_ms and fills
 * *out as jwt_verify does. Does not look at the signature. */
LORE_MUST_CHECK jwt_result jwt_check_claims(const jwt_verifier *v, const jwt_token *t,
                                            int64_t now_ms, jwt_claims *out);

/* The short stable name ("bad_signature") and the message of an outcome;
 * never NULL. */
const char *jwt_result_name(jwt_result r);
const char *jwt_result_message(jwt_result r);

#endif
