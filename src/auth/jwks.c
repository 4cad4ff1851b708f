/* JSON Web Key Sets: parsing into OpenSSL keys, selection, and the fetching
 * cache. The rules are in jwks.h. */
#include "auth/jwks.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/jsonscan.h"
#include "util/log.h"

#define NO_TIME INT64_MIN
#define EC_COORD 32 /* bytes of a P-256 coordinate */

typedef struct jwk_entry {
    char *kid;      /* owned; NULL when the key has none */
    jwks_alg alg;   /* what the key is for, from its kty */
    EVP_PKEY *pkey; /* NULL: rejected (weak or invalid) */
} jwk_entry;

struct jwks_set {
    jwk_entry *keys;
    size_t n;
    size_t usable;
};

struct jwks_cache {
    pthread_mutex_t mu;
    pthread_cond_t done; /* signalled when a fetch ends */
    char *url;
    int64_t refresh_ms, min_refetch_ms, retry_ms;
    long timeout_ms;
    size_t max_body;
    jwks_set *set;      /* the last good set, or NULL */
    int64_t fetched_ms; /* when set was fetched */
    int64_t attempt_ms; /* when the last fetch started, or NO_TIME */
    int last_failed;    /* the last fetch failed */
    int fetching;       /* a fetch is running (outside the mutex) */
    unsigned long fetches;
};

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen, const char *fmt,
                                                          ...) {
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- base64url ---- */

static int b64url_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

int jwks_b64url_decode(const char *s, size_t n, uint8_t *out, size_t *outlen) {
    if (n % 4 == 1) return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0, last = 0;
    for (size_t i = 0; i < n; i++) {
        last = b64url_value((unsigned char)s[i]);
        if (last < 0) return -1;
        acc = (acc << 6) | (uint32_t)last;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* Leftover bits (2 or 4) must be zero: one encoding per byte string. */
    if (bits && (last & ((1 << bits) - 1))) return -1;
    *outlen = o;
    return 0;
}

/* Decodes the base64url string member name of o into a fresh buffer;
 * returns it (owned) with its length, or NULL if absent, not a string,
 * empty, longer than max bytes decoded or not strict base64url. */
static uint8_t *member_b64(const json_t *o, const char *name, size_t max, size_t *len) {
    const json_t *v = json_object_get(o, name);
    if (!json_is_string(v)) return NULL;
    size_t n = json_string_length(v);
    if (!n || n / 4 * 3 > max + 2) return NULL;
    uint8_t *buf = malloc(n / 4 * 3 + 3);
    if (buf && (jwks_b64url_decode(json_string_value(v), n, buf, len) || !*len || *len > max)) {
        free(buf);
        buf = NULL;
    }
    return buf;
}

/* ---- keys ---- */

static EVP_PKEY *pkey_from_params(const char *type, OSSL_PARAM *params) {
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    if (!pkey) return NULL;
    /* RSA: n odd, e odd and in range; EC: the point lies on the curve. */
    EVP_PKEY_CTX *check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (!check || EVP_PKEY_public_check(check) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(check);
    return pkey;
}

/* An RSA public key from n and e, or NULL if they are missing or invalid or
 * the modulus has fewer than JWKS_RSA_MIN_BITS (or more than max) bits. */
static EVP_PKEY *rsa_key(const json_t *k) {
    size_t nlen = 0, elen = 0;
    uint8_t *n = member_b64(k, "n", JWKS_RSA_MAX_BITS / 8 + 1, &nlen);
    uint8_t *e = member_b64(k, "e", 8, &elen);
    BIGNUM *bn = n ? BN_bin2bn(n, (int)nlen, NULL) : NULL;
    BIGNUM *be = e ? BN_bin2bn(e, (int)elen, NULL) : NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY *pkey = NULL;
    if (!bn || !be || BN_num_bits(bn) < JWKS_RSA_MIN_BITS || BN_num_bits(bn) > JWKS_RSA_MAX_BITS)
        goto out;
    bld = OSSL_PARAM_BLD_new();
    if (!bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
        goto out;
    params = OSSL_PARAM_BLD_to_param(bld);
    if (params) pkey = pkey_from_params("RSA", params);
out:
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    free(n);
    free(e);
    return pkey;
}

/* An EC P-256 public key from x and y (32 bytes each), or NULL. */
static EVP_PKEY *ec_key(const json_t *k) {
    size_t xlen = 0, ylen = 0;
    uint8_t *x = member_b64(k, "x", EC_COORD, &xlen);
    uint8_t *y = member_b64(k, "y", EC_COORD, &ylen);
    EVP_PKEY *pkey = NULL;
    if (x && y && xlen == EC_COORD && ylen == EC_COORD) {
        uint8_t point[1 + 2 * EC_COORD];
        point[0] = 0x04; /* uncompressed */
        memcpy(point + 1, x, EC_COORD);
        memcpy(point + 1 + EC_COORD, y, EC_COORD);
        char group[] = "prime256v1";
        OSSL_PARAM params[] = {
            OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
            OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point),
            OSSL_PARAM_END,
        };
        pkey = pkey_from_params("EC", params);
    }
    free(x);
    free(y);
    return pkey;
}

static int str_eq(const json_t *v, const char *s) {
    return json_is_string(v) && !strcmp(json_string_value(v), s);
}

/* Whether k is a signature key lore could use, and for which algorithm. */
static int key_usable_for(const json_t *k, jwks_alg *alg) {
    const json_t *kty = json_object_get(k, "kty");
    const json_t *use = json_object_get(k, "use");
    const json_t *ops = json_object_get(k, "key_ops");
    const json_t *a = json_object_get(k, "alg");
    if (use && !str_eq(use, "sig")) return 0;
    if (ops) {
        size_t i;
        const json_t *op;
        int verify = 0;
        if (!json_is_array(ops)) return 0;
        json_array_foreach(ops, i, op) verify |= str_eq(op, "verify");
        if (!verify) return 0;
    }
    if (str_eq(kty, "RSA")) {
        *alg = JWKS_ALG_RS256;
        return !a || str_eq(a, "RS256");
    }
    if (str_eq(kty, "EC")) {
        *alg = JWKS_ALG_ES256;
        return str_eq(json_object_get(k, "crv"), "P-256") && (!a || str_eq(a, "ES256"));
    }
    return 0;
}

/* Reads one JWK into e. Returns 1 if kept (usable or rejected), 0 if left
 * out, -1 when out of memory. */
static int parse_entry(const json_t *k, jwk_entry *e) {
    jwks_alg alg;
    if (!json_is_object(k) || !key_usable_for(k, &alg)) return 0;
    const json_t *kid = json_object_get(k, "kid");
    if (kid && (!json_is_string(kid) || !json_string_length(kid) ||
                json_string_length(kid) > JWKS_KID_MAX))
        return 0;
    memset(e, 0, sizeof *e);
    e->alg = alg;
    if (kid && !(e->kid = strdup(json_string_value(kid)))) return -1;
    e->pkey = alg == JWKS_ALG_RS256 ? rsa_key(k) : ec_key(k);
    ERR_clear_error(); /* a refused key leaves OpenSSL errors behind */
    return 1;
}

lore_status jwks_parse(const char *json, size_t n, jwks_set **out, char *err, size_t errlen) {
    *out = NULL;
    if (!json || lore_json_depth_exceeds(json, n, JWKS_MAX_DEPTH)) {
        set_err(err, errlen, "not a JWK Set: nesting deeper than %d", JWKS_MAX_DEPTH);
        return LORE_INVALID;
    }
    json_error_t je;
    json_t *root = json_loadb(json, n, JSON_REJECT_DUPLICATES, &je);
    const json_t *keys = json_object_get(root, "keys");
    if (!json_is_array(keys)) {
        set_err(err, errlen, "not a JWK Set: %s", root ? "no \"keys\" array" : je.text);
        json_decref(root);
        return LORE_INVALID;
    }
    size_t total = json_array_size(keys);
    if (total > JWKS_MAX_KEYS) total = JWKS_MAX_KEYS;
    jwks_set *s = calloc(1, sizeof *s);
    if (s && total) s->keys = calloc(total, sizeof *s->keys);
    lore_status st = s && (s->keys || !total) ? LORE_OK : LORE_NOMEM;
    for (size_t i = 0; st == LORE_OK && i < total; i++) {
        int r = parse_entry(json_array_get(keys, i), &s->keys[s->n]);
        if (r < 0) st = LORE_NOMEM;
        if (r > 0 && s->keys[s->n++].pkey) s->usable++;
    }
    json_decref(root);
    if (st == LORE_OK && !s->usable) st = LORE_NOT_FOUND;
    if (st != LORE_OK) {
        if (st == LORE_NOMEM)
            set_err(err, errlen, "out of memory");
        else
            set_err(err, errlen, "no usable key (RSA of %d+ bits or EC P-256, for signatures)",
                    JWKS_RSA_MIN_BITS);
        jwks_set_free(s);
        return st;
    }
    *out = s;
    return LORE_OK;
}

size_t jwks_set_count(const jwks_set *s) {
    return s ? s->usable : 0;
}

jwks_lookup jwks_set_find(const jwks_set *s, const char *kid, jwks_alg alg, EVP_PKEY **out) {
    *out = NULL;
    const jwk_entry *hit = NULL;
    int mismatch = 0, rejected = 0;
    for (size_t i = 0; s && i < s->n && !hit; i++) {
        const jwk_entry *e = &s->keys[i];
        if (kid ? !e->kid || strcmp(e->kid, kid) : !e->pkey) continue;
        if (!kid && s->usable != 1) return JWKS_NO_KID;
        if (!e->pkey)
            rejected = 1;
        else if (e->alg != alg)
            mismatch = 1;
        else
            hit = e;
    }
    if (!hit) return mismatch ? JWKS_KEY_MISMATCH : rejected ? JWKS_KEY_REJECTED : JWKS_UNKNOWN_KID;
    if (EVP_PKEY_up_ref(hit->pkey) != 1) return JWKS_ERROR;
    *out = hit->pkey;
    return JWKS_FOUND;
}

void jwks_set_free(jwks_set *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->keys[i].kid);
        EVP_PKEY_free(s->keys[i].pkey);
    }
    free(s->keys);
    free(s);
}

const char *jwks_lookup_name(jwks_lookup r) {
    switch (r) {
    case JWKS_FOUND:
        return "found";
    case JWKS_NO_KID:
        return "no_kid";
    case JWKS_UNKNOWN_KID:
        return "unknown_kid";
    case JWKS_KEY_MISMATCH:
        return "key_mismatch";
    case JWKS_KEY_REJECTED:
        return "key_rejected";
    case JWKS_UNAVAILABLE:
        return "unavailable";
    case JWKS_ERROR:
        return "error";
    }
    return "unknown";
}

/* ---- fetching ---- */

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud) {
    size_t n = size * nmemb;
    return lore_buf_append(ud, p, n) == LORE_OK ? n : 0; /* 0 aborts the transfer */
}

static lore_status curl_setup(CURL *h, const jwks_cache *c, lore_buf *body, struct curl_slist *hdrs,
                              char *ebuf) {
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                              \
    if (rc == CURLE_OK) rc = curl_easy_setopt(h, opt, val)
    SET(CURLOPT_URL, c->url);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TIMEOUT_MS, c->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_body);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, body);
    SET(CURLOPT_HTTPHEADER, hdrs);
    SET(CURLOPT_USERAGENT, "lore/" LORE_VERSION);
    SET(CURLOPT_ERRORBUFFER, ebuf);
#undef SET
    return rc == CURLE_OK ? LORE_OK : LORE_INTERNAL;
}

/* Fetches and parses the set; no lock held. err says why it failed. */
static lore_status fetch_set(const jwks_cache *c, jwks_set **out, char *err, size_t errlen) {
    *out = NULL;
    char ebuf[CURL_ERROR_SIZE] = "";
    lore_buf body;
    lore_buf_init(&body, c->max_body);
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs =
        curl_slist_append(NULL, "Accept: application/jwk-set+json, application/json");
    lore_status st = h && hdrs ? curl_setup(h, c, &body, hdrs, ebuf) : LORE_NOMEM;
    if (st != LORE_OK) {
        set_err(err, errlen, "cannot set up the request");
        goto out;
    }
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    st = LORE_IO;
    if (rc == CURLE_WRITE_ERROR || rc == CURLE_FILESIZE_EXCEEDED)
        set_err(err, errlen, "body over %zu bytes", c->max_body);
    else if (rc != CURLE_OK)
        set_err(err, errlen, "%s", ebuf[0] ? ebuf : curl_easy_strerror(rc));
    else if (status != 200)
        set_err(err, errlen, "HTTP status %ld", status);
    else
        st = jwks_parse(body.data ? body.data : "", body.len, out, err, errlen);
out:
    curl_slist_free_all(hdrs);
    if (h) curl_easy_cleanup(h);
    lore_buf_free(&body);
    return st;
}

void jwks_cache_config_default(jwks_cache_config *c) {
    memset(c, 0, sizeof *c);
    c->refresh_s = 300;
    c->min_refetch_s = 30;
    c->retry_s = 5;
    c->timeout_s = 5;
    c->max_body = 64 * 1024;
}

/* Whether url is plain http to a host other than the loopback. */
static int insecure_url(const char *url) {
    if (strncasecmp(url, "http://", 7)) return 0;
    const char *host = url + 7;
    static const char *const local[] = {"127.", "localhost:", "localhost/", "[::1]"};
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
        if (!strncasecmp(host, local[i], strlen(local[i]))) return 0;
    return strcasecmp(host, "localhost") != 0;
}

lore_status jwks_cache_new(const jwks_cache_config *cfg, jwks_cache **out, char *err,
                           size_t errlen) {
    *out = NULL;
    const char *url = cfg->url;
    if (!url || (strncasecmp(url, "https://", 8) && strncasecmp(url, "http://", 7))) {
        set_err(err, errlen, "JWKS URL must start with https:// (or http:// for tests)");
        return LORE_INVALID;
    }
    if (cfg->refresh_s <= 0 || cfg->min_refetch_s <= 0 || cfg->retry_s <= 0 ||
        cfg->timeout_s <= 0 || !cfg->max_body) {
        set_err(err, errlen, "JWKS intervals, timeout and body size must be positive");
        return LORE_INVALID;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        set_err(err, errlen, "libcurl initialization failed");
        return LORE_INTERNAL;
    }
    jwks_cache *c = calloc(1, sizeof *c);
    if (!c || !(c->url = strdup(url))) {
        free(c);
        curl_global_cleanup();
        set_err(err, errlen, "out of memory");
        return LORE_NOMEM;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->done, NULL);
    c->refresh_ms = (int64_t)cfg->refresh_s * 1000;
    c->min_refetch_ms = (int64_t)cfg->min_refetch_s * 1000;
    c->retry_ms = (int64_t)cfg->retry_s * 1000;
    c->timeout_ms = (long)cfg->timeout_s * 1000;
    c->max_body = cfg->max_body;
    c->attempt_ms = NO_TIME;
    if (insecure_url(url))
        LORE_WARN("jwks: %s is plain http; anyone on the path can forge tokens (use https)", url);
    *out = c;
    return LORE_OK;
}

/* Whether a lookup that gave r at now should start a fetch (mutex held). */
static int want_fetch(const jwks_cache *c, jwks_lookup r, int64_t now) {
    int64_t since = c->attempt_ms == NO_TIME ? INT64_MAX : now - c->attempt_ms;
    if (since < 0) since = INT64_MAX; /* the clock stepped back */
    if (c->last_failed && since < c->retry_ms) return 0;
    if (!c->set) return 1;
    if (now - c->fetched_ms >= c->refresh_ms) return 1;
    return r == JWKS_UNKNOWN_KID && since >= c->min_refetch_ms;
}

/* Runs one fetch with the mutex released, then installs its result. */
static void refresh(jwks_cache *c, int64_t now) {
    c->fetching = 1;
    c->attempt_ms = now;
    c->fetches++;
    pthread_mutex_unlock(&c->mu);
    jwks_set *fresh = NULL;
    char err[256] = "";
    lore_status st = fetch_set(c, &fresh, err, sizeof err);
    pthread_mutex_lock(&c->mu);
    if (st == LORE_OK) {
        jwks_set_free(c->set);
        c->set = fresh;
        c->fetched_ms = now;
        c->last_failed = 0;
        LORE_DEBUG("jwks: %zu keys from %s", fresh->usable, c->url);
    } else {
        c->last_failed = 1;
        LORE_WARN("jwks: fetching %s failed: %s; %s", c->url, err,
                  c->set ? "keeping the keys fetched before" : "no keys yet");
    }
    c->fetching = 0;
    pthread_cond_broadcast(&c->done);
}

jwks_lookup jwks_cache_key(jwks_cache *c, const char *kid, jwks_alg alg, int64_t now_ms,
                           EVP_PKEY **out) {
    *out = NULL;
    pthread_mutex_lock(&c->mu);
    jwks_lookup r = JWKS_UNAVAILABLE;
    for (int round = 0;; round++) {
        EVP_PKEY_free(*out);
        *out = NULL;
        r = c->set ? jwks_set_find(c->set, kid, alg, out) : JWKS_UNAVAILABLE;
        if (round > 0 || !want_fetch(c, r, now_ms)) break;
        if (!c->fetching) {
            refresh(c, now_ms);
            continue;
        }
        /* Someone else is fetching: a stale set is still good meanwhile;
         * without a set, or for an unknown kid, wait for what it brings. */
        if (c->set && r != JWKS_UNKNOWN_KID) break;
        while (c->fetching)
            pthread_cond_wait(&c->done, &c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}

unsigned long jwks_cache_fetches(jwks_cache *c) {
    pthread_mutex_lock(&c->mu);
    unsigned long n = c->fetches;
    pthread_mutex_unlock(&c->mu);
    return n;
}

void jwks_cache_free(jwks_cache *c) {
    if (!c) return;
    jwks_set_free(c->set);
    pthread_cond_destroy(&c->done);
    pthread_mutex_destroy(&c->mu);
    free(c->url);
    free(c);
    curl_global_cleanup();
}
