/* The RESP reply parser (see redis.h for the types and the caps).
 *
 * Recursive descent over a complete buffer: a reply that is cut short
 * anywhere makes the whole parse answer "incomplete" (the caller reads more
 * and starts again; replies here are small, so parsing again costs little).
 * Every length is checked against its cap before anything is allocated, and
 * against the bytes present before it is read, so a hostile or corrupt
 * server costs at most the caps. */
#include "redis/redis.h"

#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *buf;
    size_t len, pos;
    size_t nodes;
    int incomplete;
} parser;

/* Finds the CRLF ending the line at p->pos; *line, *n: its content. 0 when
 * the line is not all there (incomplete), -1 when it is too long or holds a
 * bare CR or LF. */
static int take_line(parser *p, const char **line, size_t *n) {
    size_t start = p->pos;
    for (size_t i = start; i < p->len; i++) {
        char ch = p->buf[i];
        if (ch == '\r') {
            if (i + 1 >= p->len) break;
            if (p->buf[i + 1] != '\n') return -1;
            *line = p->buf + start;
            *n = i - start;
            p->pos = i + 2;
            return 1;
        }
        if (ch == '\n') return -1;
        if (i - start >= REDIS_MAX_LINE) return -1;
    }
    if (p->len - start > REDIS_MAX_LINE) return -1;
    p->incomplete = 1;
    return 0;
}

/* A decimal integer, optional '-', no spaces, no overflow. */
static int parse_int(const char *s, size_t n, int64_t *out) {
    size_t i = 0;
    int neg = 0;
    if (n && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i >= n || n - i > 19) return -1;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX + (uint64_t)neg) return -1;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static lore_status set_text(redis_reply *r, const char *s, size_t n) {
    if (!(r->str = malloc(n + 1))) return LORE_NOMEM;
    memcpy(r->str, s, n);
    r->str[n] = '\0';
    r->len = n;
    return LORE_OK;
}

static lore_status parse_value(parser *p, redis_reply *r, unsigned depth);
static void free_inner(redis_reply *r);

/* Length-prefixed payload ($, !, =): n bytes then CRLF. */
static lore_status parse_blob(parser *p, redis_reply *r, const char *line, size_t n, char kind) {
    int64_t blen;
    if (parse_int(line, n, &blen)) return LORE_INVALID;
    if (blen == -1 && kind == '$') {
        r->type = REDIS_NIL;
        return LORE_OK;
    }
    if (blen < 0) return LORE_INVALID;
    if ((uint64_t)blen > REDIS_MAX_BULK) return LORE_TOO_LARGE;
    size_t b = (size_t)blen;
    if (p->len - p->pos < b + 2) {
        p->incomplete = 1;
        return LORE_OK;
    }
    const char *s = p->buf + p->pos;
    if (s[b] != '\r' || s[b + 1] != '\n') return LORE_INVALID;
    p->pos += b + 2;
    r->type = kind == '!' ? REDIS_ERROR : REDIS_STRING;
    if (kind == '=') { /* verbatim: "txt:" then the text */
        if (b < 4 || s[3] != ':') return LORE_INVALID;
        s += 4;
        b -= 4;
    }
    return set_text(r, s, b);
}

static lore_status parse_aggregate(parser *p, redis_reply *r, const char *line, size_t n, char kind,
                                   unsigned depth) {
    int64_t count;
    if (parse_int(line, n, &count)) return LORE_INVALID;
    if (count == -1 && (kind == '*' || kind == '>')) {
        r->type = REDIS_NIL;
        return LORE_OK;
    }
    if (count < 0) return LORE_INVALID;
    if (depth >= REDIS_MAX_DEPTH) return LORE_TOO_LARGE;
    uint64_t items = (uint64_t)count * (kind == '%' || kind == '|' ? 2u : 1u);
    if (items > REDIS_MAX_ELEMENTS || p->nodes + items > REDIS_MAX_NODES) return LORE_TOO_LARGE;
    /* Every element needs at least 3 bytes (":0\r\n" is 4): a count the
     * buffer cannot hold yet is incomplete before anything is allocated. */
    if (items * 3 > p->len - p->pos) {
        p->incomplete = 1;
        return LORE_OK;
    }
    r->type = REDIS_ARRAY;
    if (!items) return LORE_OK;
    if (!(r->elem = calloc((size_t)items, sizeof *r->elem))) return LORE_NOMEM;
    r->n = (size_t)items;
    p->nodes += (size_t)items;
    for (size_t i = 0; i < r->n; i++) {
        lore_status st = parse_value(p, &r->elem[i], depth + 1);
        if (st != LORE_OK || p->incomplete) return st;
    }
    return LORE_OK;
}

static lore_status parse_value(parser *p, redis_reply *r, unsigned depth) {
    if (p->pos >= p->len) {
        p->incomplete = 1;
        return LORE_OK;
    }
    char kind = p->buf[p->pos++];
    const char *line = NULL;
    size_t n = 0;
    int got = take_line(p, &line, &n);
    if (got < 0) return LORE_INVALID;
    if (!got) return LORE_OK;
    switch (kind) {
    case '+':
        r->type = REDIS_STATUS;
        return set_text(r, line, n);
    case '-':
        r->type = REDIS_ERROR;
        return set_text(r, line, n);
    case ',': /* double */
    case '(': /* big number */
        if (!n) return LORE_INVALID;
        r->type = REDIS_STRING;
        return set_text(r, line, n);
    case ':':
        r->type = REDIS_INTEGER;
        return parse_int(line, n, &r->integer) ? LORE_INVALID : LORE_OK;
    case '#':
        if (n != 1 || (line[0] != 't' && line[0] != 'f')) return LORE_INVALID;
        r->type = REDIS_INTEGER;
        r->integer = line[0] == 't';
        return LORE_OK;
    case '_':
        if (n) return LORE_INVALID;
        r->type = REDIS_NIL;
        return LORE_OK;
    case '$':
    case '!':
    case '=':
        return parse_blob(p, r, line, n, kind);
    case '*':
    case '%':
    case '~':
    case '>':
        return parse_aggregate(p, r, line, n, kind, depth);
    case '|': { /* attributes: read and dropped; the value follows */
        redis_reply attrs = {0};
        lore_status st = parse_aggregate(p, &attrs, line, n, kind, depth);
        free_inner(&attrs);
        if (st != LORE_OK || p->incomplete) return st;
        return parse_value(p, r, depth + 1);
    }
    default:
        return LORE_INVALID;
    }
}

static void free_inner(redis_reply *r) {
    for (size_t i = 0; i < r->n; i++)
        free_inner(&r->elem[i]);
    free(r->elem);
    free(r->str);
}

void redis_reply_free(redis_reply *r) {
    if (!r) return;
    free_inner(r);
    free(r);
}

lore_status redis_parse(const char *buf, size_t len, size_t *used, redis_reply **out) {
    *out = NULL;
    *used = 0;
    redis_reply *r = calloc(1, sizeof *r);
    if (!r) return LORE_NOMEM;
    parser p = {buf, len, 0, 1, 0};
    lore_status st = parse_value(&p, r, 0);
    if (st != LORE_OK || p.incomplete) {
        redis_reply_free(r);
        return st;
    }
    *used = p.pos;
    *out = r;
    return LORE_OK;
}
