/* JWT access tokens: decoding, signature, claims and principals. The rules
 * are in jwt.h; the keys come from jwks.c. */
#include "auth/jwt.h"

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/apikey.h"
#include "util/jsonscan.h"

#define ES256_SIG 64              /* r || s */
#define MAX_DATE_S 100000000000LL /* NumericDate bound (year ~5000) */
#define MAX_LEEWAY_S (24 * 3600)

struct jwt_verifier {
    char *issuer, *audience, *required_scope, *groups_claim, *user_claim;
    int64_t leeway_ms;
    jwks_cache *keys;
};

static const struct {
    const char *name, *message;
} results[] = {
#define JWT_RESULT_ROW(name, code, msg) {code, msg},
    JWT_RESULT_MAP(JWT_RESULT_ROW)
#undef JWT_RESULT_ROW
};

const char *jwt_result_name(jwt_result r) {
    return (unsigned)r < JWT_RESULT_COUNT ? results[r].name : "unknown";
}

const char *jwt_result_message(jwt_result r) {
    return (unsigned)r < JWT_RESULT_COUNT ? results[r].message : "unknown outcome";
}

/* ---- decoding ---- */

static int is_b64url(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

int jwt_looks_like(const char *t) {
    if (!t || strncmp(t, "eyJ", 3)) return 0;
    int dots = 0;
    size_t seg = 0;
    for (const char *p = t; *p; p++) {
        if (*p == '.') {
            if (!seg || ++dots > 2) return 0;
            seg = 0;
        } else if (!is_b64url(*p)) {
            return 0;
        } else {
            seg++;
        }
    }
    return dots == 2 && seg > 0;
}

/* Decodes a base64url segment and parses it as a JSON object (depth-limited,
 * duplicate names refused). NULL if any of that fails. buf has room for the
 * decoded bytes. */
static json_t *segment_json(const char *s, size_t n, uint8_t *buf) {
    size_t len;
    if (!n || jwks_b64url_decode(s, n, buf, &len)) return NULL;
    if (lore_json_depth_exceeds((const char *)buf, len, JWT_MAX_DEPTH)) return NULL;
    json_t *v = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

static int typ_accepted(const json_t *typ) {
    if (!typ) return 1;
    const char *s = json_string_value(typ);
    return s && (!strcasecmp(s, "JWT") || !strcasecmp(s, "at+jwt") ||
                 !strcasecmp(s, "application/at+jwt"));
}

/* Checks the header and fills t->alg and t->kid. */
static jwt_result read_header(const json_t *h, jwt_token *t) {
    const char *alg = json_string_value(json_object_get(h, "alg"));
    if (!alg) return JWT_MALFORMED;
    if (!strcmp(alg, "RS256"))
        t->alg = JWKS_ALG_RS256;
    else if (!strcmp(alg, "ES256"))
        t->alg = JWKS_ALG_ES256;
    else
        return JWT_UNSUPPORTED_ALG;
    if (!typ_accepted(json_object_get(h, "typ")) || json_object_get(h, "crit"))
        return JWT_UNSUPPORTED_HEADER;
    const json_t *kid = json_object_get(h, "kid");
    if (!kid) return JWT_OK;
    size_t n = json_string_length(kid);
    if (!json_is_string(kid) || !n || n > JWKS_KID_MAX) return JWT_MALFORMED;
    t->kid = strdup(json_string_value(kid));
    return t->kid ? JWT_OK : JWT_INTERNAL;
}

/* Decodes all three segments, given where the two dots are. */
static jwt_result decode_parts(const char *tok, size_t len, size_t d1, size_t d2, uint8_t *buf,
                               jwt_token *t) {
    json_t *h = segment_json(tok, d1, buf);
    if (!h) return JWT_MALFORMED;
    jwt_result r = read_header(h, t);
    json_decref(h);
    if (r != JWT_OK) return r;
    t->claims = segment_json(tok + d1 + 1, d2 - d1 - 1, buf);
    if (!t->claims) return JWT_MALFORMED;
    const char *s = tok + d2 + 1;
    size_t n = len - d2 - 1;
    if (!n || !(t->sig = malloc(n / 4 * 3 + 3))) return n ? JWT_INTERNAL : JWT_MALFORMED;
    if (jwks_b64url_decode(s, n, t->sig, &t->siglen)) return JWT_MALFORMED;
    t->signing_len = d2;
    return JWT_OK;
}

jwt_result jwt_decode(const char *token, size_t len, jwt_token *out) {
    memset(out, 0, sizeof *out);
    if (!token || !len) return JWT_MALFORMED;
    if (len > JWT_MAX_TOKEN) return JWT_TOO_LARGE;
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (!dot2) return JWT_MALFORMED; /* a third dot fails the signature's decoding */
    uint8_t *buf = malloc(len / 4 * 3 + 3);
    if (!buf) return JWT_INTERNAL;
    jwt_result r =
        decode_parts(token, len, (size_t)(dot1 - token), (size_t)(dot2 - token), buf, out);
    free(buf);
    if (r != JWT_OK) jwt_token_free(out);
    return r;
}

void jwt_token_free(jwt_token *t) {
    if (!t) return;
    free(t->kid);
    free(t->sig);
    json_decref(t->claims);
    memset(t, 0, sizeof *t);
}

/* ---- signature ---- */

/* The DER form OpenSSL verifies of a raw r||s ES256 signature; owned. */
static uint8_t *es256_der(const uint8_t *rs, size_t *derlen) {
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rs, ES256_SIG / 2, NULL);
    BIGNUM *s = BN_bin2bn(rs + ES256_SIG / 2, ES256_SIG / 2, NULL);
    uint8_t *der = NULL;
    if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(sig);
        return NULL;
    }
    int n = i2d_ECDSA_SIG(sig, NULL);
    uint8_t *p = n > 0 ? (der = malloc((size_t)n)) : NULL;
    if (p && i2d_ECDSA_SIG(sig, &p) == n) {
        *derlen = (size_t)n;
    } else {
        free(der);
        der = NULL;
    }
    ECDSA_SIG_free(sig);
    return der;
}

jwt_result jwt_check_signature(const jwt_token *t, const char *token, EVP_PKEY *key) {
    int rs = t->alg == JWKS_ALG_RS256;
    if (!key || !EVP_PKEY_is_a(key, rs ? "RSA" : "EC")) return JWT_BAD_SIGNATURE;
    if (rs ? EVP_PKEY_get_bits(key) < JWKS_RSA_MIN_BITS : EVP_PKEY_get_bits(key) != 256)
        return JWT_BAD_SIGNATURE;
    const uint8_t *sig = t->sig;
    size_t siglen = t->siglen;
    uint8_t *der = NULL;
    if (!rs) {
        if (t->siglen != ES256_SIG) return JWT_BAD_SIGNATURE;
        if (!(der = es256_der(t->sig, &siglen))) return JWT_INTERNAL;
        sig = der;
    }
    jwt_result r = JWT_INTERNAL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1) {
        int ok = EVP_DigestVerify(md, sig, siglen, (const unsigned char *)token, t->signing_len);
        r = ok == 1 ? JWT_OK : JWT_BAD_SIGNATURE;
    }
    ERR_clear_error(); /* a failed verification leaves errors behind */
    EVP_MD_CTX_free(md);
    free(der);
    return r;
}

/* ---- claims ---- */

/* A NumericDate claim in ms: 1 if absent, 0 if read, -1 if not a number or
 * out of range. */
static int numeric_date(const json_t *c, const char *name, int64_t *ms) {
    const json_t *v = json_object_get(c, name);
    if (!v) return 1;
    if (json_is_integer(v)) {
        json_int_t s = json_integer_value(v);
        if (s < -MAX_DATE_S || s > MAX_DATE_S) return -1;
        *ms = (int64_t)s * 1000;
        return 0;
    }
    if (!json_is_real(v)) return -1;
    double d = json_real_value(v);
    if (!(d >= (double)-MAX_DATE_S && d <= (double)MAX_DATE_S)) return -1;
    *ms = (int64_t)(d * 1000.0);
    return 0;
}

static int audience_ok(const jwt_verifier *v, const json_t *aud) {
    if (json_is_string(aud)) return !strcmp(json_string_value(aud), v->audience);
    size_t i;
    const json_t *a;
    json_array_foreach(aud, i, a) {
        if (json_is_string(a) && !strcmp(json_string_value(a), v->audience)) return 1;
    }
    return 0;
}

static jwt_result check_times(const jwt_verifier *v, const json_t *c, int64_t now,
                              int64_t *exp_ms) {
    int64_t nbf = 0, iat = 0;
    if (numeric_date(c, "exp", exp_ms)) return JWT_INVALID_CLAIMS; /* absent too */
    int nbf_st = numeric_date(c, "nbf", &nbf), iat_st = numeric_date(c, "iat", &iat);
    if (nbf_st < 0 || iat_st < 0) return JWT_INVALID_CLAIMS;
    if (now >= *exp_ms + v->leeway_ms) return JWT_EXPIRED;
    if (nbf_st == 0 && nbf - v->leeway_ms > now) return JWT_NOT_YET_VALID;
    if (iat_st == 0 && iat - v->leeway_ms > now) return JWT_NOT_YET_VALID;
    return JWT_OK;
}

typedef int (*scope_fn)(const char *s, size_t n, void *ud);

/* Calls fn on each space-separated word of s; stops early when fn returns 1. */
static int each_word(const char *s, scope_fn fn, void *ud) {
    while (s && *s) {
        size_t n = strcspn(s, " ");
        if (n && fn(s, n, ud)) return 1;
        s += n;
        s += *s == ' ';
    }
    return 0;
}

/* Calls fn on each granted scope (scope, then scp). -1 if either claim has
 * the wrong type, 1 if fn stopped, else 0. */
static int each_scope(const json_t *c, scope_fn fn, void *ud) {
    const json_t *scope = json_object_get(c, "scope"), *scp = json_object_get(c, "scp");
    if ((scope && !json_is_string(scope)) || (scp && !json_is_string(scp) && !json_is_array(scp)))
        return -1;
    if (each_word(json_string_value(scope), fn, ud) || each_word(json_string_value(scp), fn, ud))
        return 1;
    size_t i;
    const json_t *s;
    json_array_foreach(scp, i, s) {
        if (json_is_string(s) && fn(json_string_value(s), json_string_length(s), ud)) return 1;
    }
    return 0;
}

static int word_is(const char *s, size_t n, const char *w) {
    return strlen(w) == n && !memcmp(s, w, n);
}

static int add_scope_bit(const char *s, size_t n, void *ud) {
    if (n > 5 && !memcmp(s, "lore:", 5)) s += 5, n -= 5;
    unsigned *bits = ud;
    if (word_is(s, n, "read")) *bits |= AUTH_SCOPE_READ;
    if (word_is(s, n, "write")) *bits |= AUTH_SCOPE_WRITE;
    if (word_is(s, n, "admin")) *bits |= AUTH_SCOPE_ADMIN;
    return 0;
}

struct wanted {
    const char *s;
    size_t n;
};

static int is_wanted(const char *s, size_t n, void *ud) {
    const struct wanted *w = ud;
    return n == w->n && !memcmp(s, w->s, n);
}

/* Whether the token grants every scope in v->required_scope. */
static int has_required(const char *s, size_t n, void *ud) {
    struct wanted w = {s, n};
    return each_scope(ud, is_wanted, &w) != 1; /* 1 (stop) when one is missing */
}

/* Appends "<prefix>:<val>" if it is a valid principal not yet listed and
 * there is room. 1 if added, 0 if skipped, -1 when out of memory. */
static int add_principal(jwt_claims *out, const char *prefix, const char *val) {
    char p[AUTH_PRINCIPAL_MAX + 2];
    int w = snprintf(p, sizeof p, "%s:%s", prefix, val);
    if (w < 0 || (size_t)w >= sizeof p || !auth_principal_valid(p)) return 0;
    if (out->nprincipals == JWT_MAX_PRINCIPALS) return 0;
    for (size_t i = 0; i < out->nprincipals; i++)
        if (!strcmp(out->principals[i], p)) return 0;
    if (!(out->principals[out->nprincipals] = strdup(p))) return -1;
    out->nprincipals++;
    return 1;
}

static jwt_result add_principals(const jwt_verifier *v, const json_t *c, jwt_claims *out) {
    out->principals = calloc(JWT_MAX_PRINCIPALS, sizeof *out->principals);
    if (!out->principals) return JWT_INTERNAL;
    const json_t *u = json_object_get(c, v->user_claim);
    if (!strcmp(v->user_claim, "email") && json_is_false(json_object_get(c, "email_verified")))
        u = NULL;
    int r = json_is_string(u) ? add_principal(out, "user", json_string_value(u)) : 0;
    if (!r) r = add_principal(out, "user", out->subject);
    if (r <= 0) return r < 0 ? JWT_INTERNAL : JWT_INVALID_CLAIMS;
    const json_t *g = v->groups_claim[0] ? json_object_get(c, v->groups_claim) : NULL;
    if (json_is_string(g) && add_principal(out, "group", json_string_value(g)) < 0)
        return JWT_INTERNAL;
    size_t i;
    const json_t *e;
    json_array_foreach(g, i, e) {
        if (json_is_string(e) && add_principal(out, "group", json_string_value(e)) < 0)
            return JWT_INTERNAL;
    }
    return JWT_OK;
}

static jwt_result check_claims(const jwt_verifier *v, const json_t *c, int64_t now,
                               jwt_claims *out) {
    if (!json_is_object(c)) return JWT_MALFORMED;
    if (!json_is_string(json_object_get(c, "iss")) ||
        strcmp(json_string_value(json_object_get(c, "iss")), v->issuer))
        return JWT_WRONG_ISSUER;
    if (!audience_ok(v, json_object_get(c, "aud"))) return JWT_WRONG_AUDIENCE;
    jwt_result r = check_times(v, c, now, &out->exp_ms);
    if (r != JWT_OK) return r;
    const json_t *sub = json_object_get(c, "sub");
    if (!json_is_string(sub) || !json_string_length(sub)) return JWT_INVALID_CLAIMS;
    if (each_scope(c, add_scope_bit, &out->scopes) < 0) return JWT_INVALID_CLAIMS;
    if (each_word(v->required_scope, has_required, (void *)c)) return JWT_INSUFFICIENT_SCOPE;
    if (!(out->subject = strdup(json_string_value(sub)))) return JWT_INTERNAL;
    return add_principals(v, c, out);
}

jwt_result jwt_check_claims(const jwt_verifier *v, const jwt_token *t, int64_t now_ms,
                            jwt_claims *out) {
    memset(out, 0, sizeof *out);
    jwt_result r = check_claims(v, t->claims, now_ms, out);
    if (r != JWT_OK) jwt_claims_free(out);
    return r;
}

void jwt_claims_free(jwt_claims *c) {
    if (!c) return;
    for (size_t i = 0; i < c->nprincipals; i++)
        free(c->principals[i]);
    free(c->principals);
    free(c->subject);
    memset(c, 0, sizeof *c);
}

/* ---- the verifier ---- */

void jwt_config_default(jwt_config *c) {
    memset(c, 0, sizeof *c);
    c->leeway_s = JWT_DEFAULT_LEEWAY_S;
}

static lore_status new_keys(const jwt_config *c, jwt_verifier *v, char *err, size_t errlen) {
    jwks_cache_config kc;
    jwks_cache_config_default(&kc);
    kc.url = c->jwks_url;
    if (c->jwks_refresh_s) kc.refresh_s = c->jwks_refresh_s;
    if (c->jwks_timeout_s) kc.timeout_s = c->jwks_timeout_s;
    if (c->jwks_max_body) kc.max_body = c->jwks_max_body;
    return jwks_cache_new(&kc, &v->keys, err, errlen);
}

static char *dup_or(const char *s, const char *dflt) {
    return strdup(s ? s : dflt);
}

lore_status jwt_verifier_new(const jwt_config *c, jwt_verifier **out, char *err, size_t errlen) {
    *out = NULL;
    const char *bad = !c->issuer || !*c->issuer          ? "issuer is required"
                      : !c->audience || !*c->audience    ? "audience is required"
                      : !c->jwks_url || !*c->jwks_url    ? "jwks_url is required"
                      : c->user_claim && !*c->user_claim ? "user_claim must not be empty"
                      : c->leeway_s < 0 || c->leeway_s > MAX_LEEWAY_S ? "leeway out of range"
                                                                      : NULL;
    if (bad) {
        if (err && errlen) snprintf(err, errlen, "jwt: %s", bad);
        return LORE_INVALID;
    }
    jwt_verifier *v = calloc(1, sizeof *v);
    if (!v) return LORE_NOMEM;
    v->issuer = strdup(c->issuer);
    v->audience = strdup(c->audience);
    v->required_scope = dup_or(c->required_scope, "");
    v->groups_claim = dup_or(c->groups_claim, "groups");
    v->user_claim = dup_or(c->user_claim, "email");
    v->leeway_ms = (int64_t)c->leeway_s * 1000;
    if (!v->issuer || !v->audience || !v->required_scope || !v->groups_claim || !v->user_claim) {
        jwt_verifier_free(v);
        if (err && errlen) snprintf(err, errlen, "out of memory");
        return LORE_NOMEM;
    }
    lore_status st = new_keys(c, v, err, errlen);
    if (st != LORE_OK) {
        jwt_verifier_free(v);
        return st;
    }
    *out = v;
    return LORE_OK;
}

void jwt_verifier_free(jwt_verifier *v) {
    if (!v) return;
    jwks_cache_free(v->keys);
    free(v->issuer);
    free(v->audience);
    free(v->required_scope);
    free(v->groups_claim);
    free(v->user_claim);
    free(v);
}

static jwt_result from_lookup(jwks_lookup r) {
    switch (r) {
    case JWKS_FOUND:
        return JWT_OK;
    case JWKS_NO_KID:
        return JWT_MISSING_KID;
    case JWKS_UNKNOWN_KID:
        return JWT_UNKNOWN_KID;
    case JWKS_KEY_MISMATCH:
        return JWT_KEY_MISMATCH;
    case JWKS_KEY_REJECTED:
        return JWT_REJECTED_KEY;
    case JWKS_UNAVAILABLE:
        return JWT_JWKS_UNAVAILABLE;
    case JWKS_ERROR:
        return JWT_INTERNAL;
    }
    return JWT_INTERNAL;
}

jwt_result jwt_verify(jwt_verifier *v, const char *token, size_t len, int64_t now_ms,
                      jwt_claims *out) {
    memset(out, 0, sizeof *out);
    jwt_token t;
    jwt_result r = jwt_decode(token, len, &t);
    if (r != JWT_OK) return r;
    /* The issuer first: another issuer's kids must not send us fetching. */
    const char *iss = json_string_value(json_object_get(t.claims, "iss"));
    if (!iss || strcmp(iss, v->issuer)) {
        jwt_token_free(&t);
        return JWT_WRONG_ISSUER;
    }
    EVP_PKEY *key = NULL;
    r = from_lookup(jwks_cache_key(v->keys, t.kid, t.alg, now_ms, &key));
    if (r == JWT_OK) r = jwt_check_signature(&t, token, key);
    if (r == JWT_OK) r = jwt_check_claims(v, &t, now_ms, out);
    EVP_PKEY_free(key);
    jwt_token_free(&t);
    return r;
}
