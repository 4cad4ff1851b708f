/* API keys: format, generation, verification, scopes and principals. The
 * format and the reasons for it are in apikey.h and docs/auth.md. */
#include "auth/apikey.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/sha256.h"
#include "util/timeutil.h"

#define ID_BYTES (STORE_KEY_ID_LEN / 2)
#define SECRET_BYTES 32
/* Attempts at a fresh id when the random one is taken: with 48-bit ids a
 * second clash in a row means something other than chance is wrong. */
#define CREATE_ATTEMPTS 4

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const struct {
    const char *name;
    unsigned bit;
} scope_names[] = {
    {"read", AUTH_SCOPE_READ},
    {"write", AUTH_SCOPE_WRITE},
    {"admin", AUTH_SCOPE_ADMIN},
    {"server", AUTH_SCOPE_SERVER},
};
#define NSCOPES (sizeof scope_names / sizeof scope_names[0])

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen, const char *fmt,
                                                          ...) {
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

lore_status auth_scopes_parse(const char *s, unsigned *bits, char *err, size_t errlen) {
    unsigned acc = 0;
    lore_status st = LORE_INVALID;
    if (!s) s = "";
    const char *p = s;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *b = p, *e = end;
        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        size_t len = (size_t)(e - b);
        if (!len) {
            if (!comma && !acc && p == s)
                set_err(err, errlen, "no scope given (read, write, admin, server)");
            else
                set_err(err, errlen, "empty scope in '%s'", s);
            goto out;
        }
        size_t i = 0;
        while (i < NSCOPES &&
               !(strlen(scope_names[i].name) == len && !memcmp(scope_names[i].name, b, len)))
            i++;
        if (i == NSCOPES) {
            set_err(err, errlen, "unknown scope '%.*s' (read, write, admin, server)", (int)len, b);
            goto out;
        }
        acc |= scope_names[i].bit;
        if (!comma) break;
        p = comma + 1;
    }
    *bits = acc;
    st = LORE_OK;
out:
    return st; /* on failure *bits is untouched */
}

size_t auth_scopes_format(unsigned bits, char *buf, size_t len) {
    size_t at = 0;
    for (size_t i = 0; i < NSCOPES; i++) {
        if (!(bits & scope_names[i].bit)) continue;
        const char *sep = at ? "," : "";
        int w = snprintf(len > at ? buf + at : NULL, len > at ? len - at : 0, "%s%s", sep,
                         scope_names[i].name);
        at += (size_t)w;
    }
    if (!at && len) buf[0] = '\0';
    return at;
}

/* Decodes one UTF-8 sequence at s (n bytes left) into *cp; returns its length
 * or 0 if it is not well-formed (overlong, surrogate, beyond U+10FFFF,
 * truncated). */
static size_t utf8_decode(const unsigned char *s, size_t n, unsigned *cp) {
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        len = 2, min = 0x80, c &= 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, min = 0x800, c &= 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, min = 0x10000, c &= 0x07;
    } else {
        return 0;
    }
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *cp = c;
    return len;
}

/* Printable UTF-8: what may appear in a principal or a key name. Controls
 * and line separators are refused because both end up in line-oriented
 * places (the store's "\n"-joined lists, terminal listings, logs). */
static int printable_utf8(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned cp;
        size_t l = utf8_decode(p + i, n - i, &cp);
        if (!l) return 0;
        if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029)
            return 0;
        i += l;
    }
    return 1;
}

int auth_principal_valid(const char *p) {
    if (!p) return 0;
    size_t n = strlen(p), pre;
    if (!strncmp(p, "user:", 5))
        pre = 5;
    else if (!strncmp(p, "group:", 6))
        pre = 6;
    else
        return 0;
    if (n == pre || n > AUTH_PRINCIPAL_MAX) return 0;
    /* "group:eng " would list exactly like "group:eng" and never match it. */
    if (p[pre] == ' ' || p[n - 1] == ' ') return 0;
    return printable_utf8(p + pre, n - pre);
}

int apikey_name_valid(const char *name) {
    if (!name) return 0;
    size_t n = strlen(name);
    return n > 0 && n <= APIKEY_NAME_MAX && printable_utf8(name, n);
}

static int is_lower_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static int is_b64url(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

int apikey_parse(const char *token, size_t len, char id_out[STORE_KEY_ID_LEN + 1]) {
    if (!token || len != APIKEY_LEN || memcmp(token, APIKEY_PREFIX, APIKEY_PREFIX_LEN)) return 0;
    const char *id = token + APIKEY_PREFIX_LEN;
    for (size_t i = 0; i < STORE_KEY_ID_LEN; i++)
        if (!is_lower_hex(id[i])) return 0;
    if (id[STORE_KEY_ID_LEN] != '_') return 0;
    const char *secret = id + STORE_KEY_ID_LEN + 1;
    for (size_t i = 0; i < APIKEY_SECRET_LEN; i++)
        if (!is_b64url(secret[i])) return 0;
    memcpy(id_out, id, STORE_KEY_ID_LEN);
    id_out[STORE_KEY_ID_LEN] = '\0';
    return 1;
}

/* Unpadded base64url of n bytes into out (4n/3 rounded up characters, no
 * terminator). */
static void b64url_encode(const uint8_t *in, size_t n, char *out) {
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *out++ = b64url[v >> 18];
        *out++ = b64url[(v >> 12) & 63];
        *out++ = b64url[(v >> 6) & 63];
        *out++ = b64url[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        *out++ = b64url[v >> 18];
        *out++ = b64url[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        *out++ = b64url[v >> 18];
        *out++ = b64url[(v >> 12) & 63];
        *out++ = b64url[(v >> 6) & 63];
    }
}

static void hash_hex(const char *key, size_t len, char out[65]) {
    uint8_t digest[32];
    lore_sha256(key, len, digest);
    lore_hex(digest, sizeof digest, out);
}

/* An owned record with copies of the caller's strings; NULL when out of
 * memory. */
static store_key *record_new(const char *tenant, const char *name, unsigned scopes,
                             const char *const *principals, size_t n, int64_t expires_ms) {
    store_key *k = calloc(1, sizeof *k);
    if (!k) return NULL;
    snprintf(k->tenant, sizeof k->tenant, "%s", tenant);
    k->scopes = scopes;
    k->expires_ms = expires_ms;
    if (name && !(k->name = strdup(name))) goto fail;
    if (n) {
        if (!(k->principals = calloc(n, sizeof *k->principals))) goto fail;
        for (; k->nprincipals < n; k->nprincipals++)
            if (!(k->principals[k->nprincipals] = strdup(principals[k->nprincipals]))) goto fail;
    }
    return k;
fail:
    store_key_free(k);
    return NULL;
}

/* apikey_create, or with first set apikey_create_first: the key's id is
 * APIKEY_FIRST_ID and a taken id is the answer (LORE_EXISTS), not a retry. */
static lore_status create(store *s, const char *tenant, const char *name, unsigned scopes,
                          const char *const *principals, size_t n, int64_t expires_ms, int first,
                          char key_out[APIKEY_LEN + 1], store_key **rec_out) {
    lore_status st = LORE_INVALID;
    store_key *k = NULL;
    uint8_t rnd[ID_BYTES + SECRET_BYTES];
    char key[APIKEY_LEN + 1];
    int64_t now = lore_now_ms();
    key_out[0] = '\0';
    if (rec_out) *rec_out = NULL;
    if (!tenant || !store_tenant_name_valid(tenant)) goto out;
    if (!scopes || (scopes & ~AUTH_SCOPE_ALL)) goto out;
    if (name && strlen(name) > APIKEY_NAME_MAX) {
        st = LORE_TOO_LARGE;
        goto out;
    }
    if (name && !apikey_name_valid(name)) goto out;
    if (n > APIKEY_MAX_PRINCIPALS) {
        st = LORE_TOO_LARGE;
        goto out;
    }
    if (n && !principals) goto out;
    for (size_t i = 0; i < n; i++)
        if (!auth_principal_valid(principals[i])) goto out;
    if (expires_ms < 0 || (expires_ms && expires_ms <= now)) goto out;
    st = LORE_NOMEM;
    if (!(k = record_new(tenant, name, scopes, principals, n, expires_ms))) goto out;
    k->created_ms = now;
    for (int attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
        if (RAND_bytes(rnd, (int)sizeof rnd) != 1) {
            st = LORE_INTERNAL;
            goto out;
        }
        memcpy(key, APIKEY_PREFIX, APIKEY_PREFIX_LEN);
        if (first)
            memcpy(key + APIKEY_PREFIX_LEN, APIKEY_FIRST_ID, STORE_KEY_ID_LEN);
        else
            lore_hex(rnd, ID_BYTES, key + APIKEY_PREFIX_LEN); /* a terminator, overwritten */
        key[APIKEY_PREFIX_LEN + STORE_KEY_ID_LEN] = '_';
        b64url_encode(rnd + ID_BYTES, SECRET_BYTES, key + APIKEY_PREFIX_LEN + STORE_KEY_ID_LEN + 1);
        key[APIKEY_LEN] = '\0';
        memcpy(k->id, key + APIKEY_PREFIX_LEN, STORE_KEY_ID_LEN);
        k->id[STORE_KEY_ID_LEN] = '\0';
        hash_hex(key, APIKEY_LEN, k->hash);
        if ((st = store_key_put(s, k)) != LORE_EXISTS || first) break;
    }
    if (st != LORE_OK) goto out;
    memcpy(key_out, key, APIKEY_LEN + 1);
    if (rec_out) {
        *rec_out = k;
        k = NULL;
    }
out:
    /* Failure stores nothing and returns no key; the secret leaves no copy
     * in this frame either way. */
    OPENSSL_cleanse(rnd, sizeof rnd);
    OPENSSL_cleanse(key, sizeof key);
    store_key_free(k);
    return st;
}

lore_status apikey_create(store *s, const char *tenant, const char *name, unsigned scopes,
                          const char *const *principals, size_t n, int64_t expires_ms,
                          char key_out[APIKEY_LEN + 1], store_key **rec_out) {
    return create(s, tenant, name, scopes, principals, n, expires_ms, 0, key_out, rec_out);
}

lore_status apikey_create_first(store *s, const char *tenant, const char *name, unsigned scopes,
                                char key_out[APIKEY_LEN + 1], store_key **rec_out) {
    return create(s, tenant, name, scopes, NULL, 0, 0, 1, key_out, rec_out);
}

auth_result apikey_verify(store *s, const char *token, size_t len, int64_t now_ms,
                          store_key **out) {
    char id[STORE_KEY_ID_LEN + 1], hash[65];
    store_key *k = NULL;
    auth_result r = AUTH_MALFORMED;
    if (out) *out = NULL;
    if (!apikey_parse(token, len, id)) goto out;
    /* Hash before the lookup so an unknown id and a known one take about
     * the same time (ids are public anyway; this just keeps the two answers
     * alike). */
    hash_hex(token, len, hash);
    lore_status st = store_key_get(s, id, &k);
    if (st != LORE_OK) {
        r = st == LORE_NOT_FOUND ? AUTH_UNKNOWN : AUTH_ERROR;
        goto out;
    }
    if (CRYPTO_memcmp(hash, k->hash, 64) != 0)
        r = AUTH_UNKNOWN;
    else if (k->revoked_ms)
        r = AUTH_REVOKED;
    else if (k->expires_ms && now_ms >= k->expires_ms)
        r = AUTH_EXPIRED;
    else
        r = AUTH_OK;
out:
    if (r == AUTH_OK && out) {
        *out = k;
        k = NULL;
    }
    store_key_free(k); /* any other answer hands back no record */
    return r;
}

const char *auth_result_message(auth_result r) {
    switch (r) {
    case AUTH_OK:
        return "API key accepted";
    case AUTH_MALFORMED:
        return "not a lore API key (expected lore_ followed by 56 characters)";
    case AUTH_UNKNOWN:
        return "unknown API key";
    case AUTH_REVOKED:
        return "API key revoked";
    case AUTH_EXPIRED:
        return "API key expired";
    case AUTH_ERROR:
        return "API key could not be checked (store error)";
    }
    return "unknown result";
}
