/* redis:// and rediss:// URLs (the grammar is in redis.h). */
#include "redis/redis.h"

#include <stdio.h>
#include <string.h>

static int hexval(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into out (size outlen). -1 on a bad escape, a NUL
 * or no room. */
static int decode(const char *s, size_t n, char *out, size_t outlen) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '%') {
            int hi, lo;
            if (i + 2 >= n) return -1;
            if ((hi = hexval(s[i + 1])) < 0 || (lo = hexval(s[i + 2])) < 0) return -1;
            ch = (char)(hi * 16 + lo);
            i += 2;
        }
        if (!ch || o + 1 >= outlen) return -1;
        out[o++] = ch;
    }
    out[o] = '\0';
    return 0;
}

lore_status redis_url_parse(const char *url, redis_target *t, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    t->port = 6379;
    const char *p;
    if (!strncmp(url, "redis://", 8)) {
        p = url + 8;
    } else if (!strncmp(url, "rediss://", 9)) {
        p = url + 9;
        t->tls = 1;
    } else {
        snprintf(err, errlen,
                 "redis_url must start with redis:// or rediss:// (TLS), as in "
                 "redis://:PASSWORD@HOST:6379/0");
        return LORE_INVALID;
    }
    if (strchr(p, '?') || strchr(p, '#')) {
        snprintf(err, errlen, "redis_url takes no query string or fragment");
        return LORE_INVALID;
    }
    const char *at = strrchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (!colon) {
            snprintf(err, errlen,
                     "redis_url: write the password as redis://:PASSWORD@host (or "
                     "redis://USER:PASSWORD@host for an ACL user)");
            return LORE_INVALID;
        }
        if (decode(p, (size_t)(colon - p), t->user, sizeof t->user) ||
            decode(colon + 1, (size_t)(at - colon - 1), t->password, sizeof t->password)) {
            snprintf(err, errlen, "redis_url: bad percent-escape or too long user or password");
            return LORE_INVALID;
        }
        if (!t->password[0]) {
            snprintf(err, errlen, "redis_url: the password after ':' is empty");
            return LORE_INVALID;
        }
        p = at + 1;
    }
    const char *host = p, *hend;
    if (*p == '[') {
        host = p + 1;
        if (!(hend = strchr(host, ']'))) {
            snprintf(err, errlen, "redis_url: '[' without ']' around an IPv6 address");
            return LORE_INVALID;
        }
        p = hend + 1;
    } else {
        hend = p + strcspn(p, ":/");
        p = hend;
    }
    size_t hlen = (size_t)(hend - host);
    if (!hlen || hlen >= sizeof t->host) {
        snprintf(err, errlen, "redis_url: %s host name", hlen ? "too long a" : "no");
        return LORE_INVALID;
    }
    memcpy(t->host, host, hlen);
    t->host[hlen] = '\0';
    for (size_t i = 0; i < hlen; i++) {
        unsigned char ch = (unsigned char)t->host[i];
        if (ch <= ' ' || ch == '%' || ch >= 0x7f) {
            snprintf(err, errlen, "redis_url: the host name has a character hosts cannot have");
            return LORE_INVALID;
        }
    }
    if (*p == ':') {
        p++;
        unsigned v = 0;
        size_t nd = 0;
        for (; *p >= '0' && *p <= '9' && nd < 6; p++, nd++)
            v = v * 10 + (unsigned)(*p - '0');
        if (!nd || v == 0 || v > 65535 || (*p && *p != '/')) {
            snprintf(err, errlen, "redis_url: the port must be a number from 1 to 65535");
            return LORE_INVALID;
        }
        t->port = (uint16_t)v;
    }
    if (*p == '/') {
        p++;
        int64_t db = 0;
        size_t nd = 0;
        for (; *p >= '0' && *p <= '9' && nd < 7; p++, nd++)
            db = db * 10 + (*p - '0');
        if (*p || (nd == 0 && p[-1] != '/') || db > 999999) {
            snprintf(err, errlen,
                     "redis_url: the database after '/' must be a number (0 to 999999)");
            return LORE_INVALID;
        }
        t->db = db;
    } else if (*p) {
        snprintf(err, errlen, "redis_url: unexpected '%c' after the host", *p);
        return LORE_INVALID;
    }
    return LORE_OK;
}

void redis_url_describe(const redis_target *t, char *out, size_t outlen) {
    int v6 = strchr(t->host, ':') != NULL;
    snprintf(out, outlen, "%s://%s%s%s%s%s:%u/%lld", t->tls ? "rediss" : "redis", t->user,
             t->user[0] ? "@" : "", v6 ? "[" : "", t->host, v6 ? "]" : "", (unsigned)t->port,
             (long long)t->db);
}
