/* Fuzz target for the multipart/form-data parser.
 *
 * Input layout: byte 0 holds options (bits 0-1 pick a boundary from a table,
 * bit 2 takes the request Content-Type from the input up to the first '\n'
 * instead, bit 3 sets small limits), byte 1 seeds the split, the rest is the
 * body. The body is parsed twice, whole and in pieces whose sizes come from
 * byte 1 (0 gives 1-byte feeds), each piece a fresh copy freed after its feed
 * so a pointer kept into an earlier feed is a sanitizer report. Both runs
 * must give the same status, error text, part count and callback sequence
 * (on_part arguments, each part's body bytes concatenated, on_part_end);
 * only the cutting of on_data calls may differ. Callback order and every
 * multipart_safe_filename result are checked too. Any mismatch aborts. */
#include "http/multipart.h"
#include "util/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct rec {
    lore_buf log;     /* the callback sequence */
    lore_buf pending; /* body bytes of the current part so far */
    int in_part;
} rec;

static void die(const char *why) {
    fprintf(stderr, "fuzz_multipart: %s\n", why);
    abort();
}

static void put(lore_buf *b, const void *p, size_t n) {
    if (lore_buf_append(b, p, n) != LORE_OK) die("log buffer full");
}

static void put_str(lore_buf *b, const char *s) {
    put(b, s, strlen(s) + 1); /* with the NUL, so fields cannot run together */
}

/* The part's body as one record: its length, then its bytes. */
static void flush_data(rec *r, char tag) {
    uint64_t n = r->pending.len;
    put(&r->log, &tag, 1);
    put(&r->log, &n, sizeof n);
    if (n) put(&r->log, r->pending.data, r->pending.len);
    lore_buf_reset(&r->pending);
}

static void check_safe_name(const char *in) {
    char out[64];
    multipart_safe_filename(in, out, sizeof out);
    size_t n = strlen(out);
    if (n == 0 || n >= sizeof out || out[0] == '.') die("safe filename empty, long or dotted");
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)out[i];
        if (c < 0x20 || c == 0x7f || c == '/' || c == '\\') die("safe filename has a bad byte");
        /* valid UTF-8: a lead byte and the right number of continuations */
        size_t len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
        if (!len || i + len > n) die("safe filename is not UTF-8");
        for (size_t k = 1; k < len; k++)
            if (((unsigned char)out[i + k] & 0xc0) != 0x80) die("safe filename is not UTF-8");
        i += len;
    }
}

static lore_status on_part(void *ctx, const multipart_part *p) {
    rec *r = ctx;
    if (r->in_part) die("on_part inside a part");
    if (!p->name || !p->content_type || !p->content_type[0]) die("on_part without strings");
    uint64_t idx = p->index;
    put(&r->log, "P", 1);
    put(&r->log, &idx, sizeof idx);
    put_str(&r->log, p->name);
    put_str(&r->log, p->filename ? p->filename : "(none)");
    put(&r->log, p->filename ? "F" : "N", 1);
    put_str(&r->log, p->content_type);
    if (p->filename) check_safe_name(p->filename);
    r->in_part = 1;
    return LORE_OK;
}

static lore_status on_data(void *ctx, const uint8_t *d, size_t len) {
    rec *r = ctx;
    if (!r->in_part) die("on_data outside a part");
    if (!len) die("on_data with len 0");
    put(&r->pending, d, len);
    return LORE_OK;
}

static lore_status on_part_end(void *ctx) {
    rec *r = ctx;
    if (!r->in_part) die("on_part_end outside a part");
    flush_data(r, 'D');
    put(&r->log, "E", 1);
    r->in_part = 0;
    return LORE_OK;
}

/* Parses body in pieces (step_seed < 0: whole) and fills r, err, nparts. */
static lore_status parse(const char *ct, const multipart_limits *lim, const uint8_t *body,
                         size_t len, int step_seed, rec *r, char *err, size_t errlen,
                         size_t *nparts) {
    multipart_callbacks cb = {on_part, on_data, on_part_end};
    multipart_parser *p = NULL;
    lore_buf_init(&r->log, (size_t)1 << 26);
    lore_buf_init(&r->pending, (size_t)1 << 26);
    r->in_part = 0;
    *nparts = 0;
    lore_status st = multipart_new(ct, lim, &cb, r, &p, err, errlen);
    if (st != LORE_OK) {
        if (p) die("multipart_new failed but gave a parser");
        return st;
    }
    uint32_t x = 0x9e3779b9u ^ (uint32_t)(step_seed < 0 ? 0 : step_seed) * 2654435761u;
    size_t off = 0, span = step_seed < 0 ? 0 : (size_t)(step_seed & 0x3f);
    while (st == LORE_OK && off < len) {
        size_t k = len - off;
        if (step_seed >= 0) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            size_t want = 1 + (span ? x % span : 0);
            if (want < k) k = want;
        }
        uint8_t *piece = malloc(k);
        if (!piece) die("out of memory");
        memcpy(piece, body + off, k);
        st = multipart_feed(p, piece, k);
        free(piece);
        off += k;
    }
    if (st == LORE_OK) st = multipart_finish(p);
    if (st != LORE_OK && (multipart_feed(p, body, len) != st || multipart_finish(p) != st))
        die("a failed parser did not stay failed");
    if ((st == LORE_OK) != (multipart_error(p)[0] == '\0')) die("error text does not match status");
    if (st == LORE_OK && r->in_part) die("finished inside a part");
    if (r->in_part) flush_data(r, 'd'); /* an unfinished part's bytes must match too */
    snprintf(err, errlen, "%s", multipart_error(p));
    *nparts = multipart_part_count(p);
    multipart_free(p);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *types[] = {
        "multipart/form-data; boundary=b",
        "multipart/form-data; boundary=XyZ",
        "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
        "multipart/form-data; boundary=\"a b\"",
    };
    if (size < 2) return 0;
    uint8_t opt = data[0];
    int seed = data[1];
    const uint8_t *body = data + 2;
    size_t len = size - 2;
    char ctbuf[256];
    const char *ct = types[opt & 3];
    if (opt & 4) {
        const uint8_t *nl = memchr(body, '\n', len);
        size_t n = nl ? (size_t)(nl - body) : len;
        if (n >= sizeof ctbuf) n = sizeof ctbuf - 1;
        memcpy(ctbuf, body, n);
        ctbuf[n] = '\0';
        ct = ctbuf;
        body += nl ? (size_t)(nl - body) + 1 : len;
        len = (size_t)(data + size - body);
    }
    multipart_limits lim;
    multipart_limits_default(&lim);
    if (opt & 8) lim.max_parts = 3, lim.max_header_bytes = 64;

    rec a, b;
    char ea[256], eb[256];
    size_t na, nb;
    lore_status sa = parse(ct, &lim, body, len, -1, &a, ea, sizeof ea, &na);
    lore_status sb = parse(ct, &lim, body, len, seed, &b, eb, sizeof eb, &nb);
    if (sa != sb || strcmp(ea, eb) || na != nb || a.log.len != b.log.len ||
        (a.log.len && memcmp(a.log.data, b.log.data, a.log.len))) {
        fprintf(stderr, "whole: %s \"%s\" %zu parts; split: %s \"%s\" %zu parts\n",
                lore_status_name(sa), ea, na, lore_status_name(sb), eb, nb);
        die("split and whole parses differ");
    }
    lore_buf_free(&a.log);
    lore_buf_free(&a.pending);
    lore_buf_free(&b.log);
    lore_buf_free(&b.pending);
    return 0;
}
