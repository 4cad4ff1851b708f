/* Fuzzes what a Redis server (or anything answering on its port) can send
 * the client: the RESP reply parser, and redis_url_parse on settings text.
 * The first byte picks:
 *
 *   0  a redis_url value
 *   *  the rest is a byte stream of replies, parsed one after another as the
 *      connection does
 *
 * Invariants: no crash, leak or sanitizer report; a reply takes at least
 * one byte and never more than given; the tree respects the caps (depth,
 * elements, values, string sizes) and every string is NUL-terminated; every
 * strict prefix of a complete reply is "incomplete", never an error or a
 * different reply (so reading in any chunking gives the same replies); a
 * parsed URL's description does not depend on its password. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redis/redis.h"

static size_t walk(const redis_reply *r, unsigned depth) {
    if (depth > REDIS_MAX_DEPTH) abort();
    switch (r->type) {
    case REDIS_STATUS:
    case REDIS_ERROR:
    case REDIS_STRING:
        if (!r->str || r->str[r->len] != '\0' || r->len > REDIS_MAX_BULK) abort();
        if (r->elem) abort();
        return 1;
    case REDIS_ARRAY: {
        if (r->n > REDIS_MAX_ELEMENTS || (r->n && !r->elem) || r->str) abort();
        size_t total = 1;
        for (size_t i = 0; i < r->n; i++)
            total += walk(&r->elem[i], depth + 1);
        return total;
    }
    case REDIS_NIL:
    case REDIS_INTEGER:
        if (r->str || r->elem) abort();
        return 1;
    }
    abort();
}

static void run_stream(const char *buf, size_t len) {
    size_t pos = 0;
    while (pos < len) {
        size_t used = 0;
        redis_reply *r = NULL;
        lore_status st = redis_parse(buf + pos, len - pos, &used, &r);
        if (st != LORE_OK) {
            if (r || used) abort();
            return;
        }
        if (!r) return; /* incomplete */
        if (!used || used > len - pos) abort();
        if (walk(r, 0) > REDIS_MAX_NODES + 1) abort();
        /* a strict prefix is incomplete: check a few cut points */
        size_t cuts[3] = {0, used / 2, used - 1};
        for (int i = 0; i < 3; i++) {
            size_t u2 = 0;
            redis_reply *r2 = NULL;
            if (redis_parse(buf + pos, cuts[i], &u2, &r2) != LORE_OK || r2 || u2) abort();
        }
        redis_reply_free(r);
        pos += used;
    }
}

static void run_url(const char *s, size_t len) {
    char *z = malloc(len + 1);
    memcpy(z, s, len);
    z[len] = '\0';
    redis_target t;
    char err[256];
    if (redis_url_parse(z, &t, err, sizeof err) == LORE_OK) {
        if (!t.host[0] || !t.port || t.db < 0) abort();
        /* the description does not depend on the password */
        char d[1024], d2[1024];
        redis_url_describe(&t, d, sizeof d);
        memset(t.password, 'x', sizeof t.password - 1);
        t.password[sizeof t.password - 1] = '\0';
        redis_url_describe(&t, d2, sizeof d2);
        if (strcmp(d, d2)) abort();
    } else if (!err[0]) {
        abort();
    }
    free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!size) return 0;
    if (data[0] == 0)
        run_url((const char *)data + 1, size - 1);
    else
        run_stream((const char *)data + 1, size - 1);
    return 0;
}
