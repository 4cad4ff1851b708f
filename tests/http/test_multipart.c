/* multipart/form-data parser: framing, headers, limits, callbacks, file
 * names, and a randomized round trip (random bodies full of near-delimiters,
 * fed in random pieces, must come back byte-exact). Every fixed case is also
 * fed in every piece size and every two-piece split, and must give the same
 * parts, status and error text each time. */
#include "http/multipart.h"
#include "test.h"
#include "util/buf.h"

#include <stdint.h>

#define MAXP 80
/* Cap of the test's own buffers (lore_buf's cap + 1 must not overflow). */
#define BIG ((size_t)1 << 26)

typedef struct got_part {
    char name[300], filename[300], ctype[300];
    int has_filename;
    lore_buf data;
    int ended;
} got_part;

typedef struct collector {
    got_part p[MAXP];
    size_t n;
    int bad;          /* a callback out of order, on_data with len 0, a call after a failure */
    char fail_cb;     /* 'P', 'D' or 'E': that callback fails ... */
    size_t fail_part; /* ... in this part (1-based) */
    lore_status fail_st;
    int failed;
} collector;

static void collector_init(collector *c) {
    memset(c, 0, sizeof *c);
}

static void collector_free(collector *c) {
    for (size_t i = 0; i < c->n; i++)
        lore_buf_free(&c->p[i].data);
    c->n = 0;
}

static lore_status on_part(void *ctx, const multipart_part *mp) {
    collector *c = ctx;
    if (c->failed || (c->n && !c->p[c->n - 1].ended) || c->n == MAXP || mp->index != c->n ||
        !mp->name || !mp->content_type) {
        c->bad = 1;
        return LORE_INTERNAL;
    }
    got_part *g = &c->p[c->n++];
    snprintf(g->name, sizeof g->name, "%s", mp->name);
    snprintf(g->ctype, sizeof g->ctype, "%s", mp->content_type);
    g->has_filename = mp->filename != NULL;
    if (mp->filename) snprintf(g->filename, sizeof g->filename, "%s", mp->filename);
    lore_buf_init(&g->data, 1 << 24);
    g->ended = 0;
    if (c->fail_cb == 'P' && c->fail_part == c->n) {
        c->failed = 1;
        return c->fail_st;
    }
    return LORE_OK;
}

static lore_status on_data(void *ctx, const uint8_t *d, size_t len) {
    collector *c = ctx;
    if (c->failed || !c->n || c->p[c->n - 1].ended || len == 0) {
        c->bad = 1;
        return LORE_INTERNAL;
    }
    if (lore_buf_append(&c->p[c->n - 1].data, d, len) != LORE_OK) c->bad = 1;
    if (c->fail_cb == 'D' && c->fail_part == c->n) {
        c->failed = 1;
        return c->fail_st;
    }
    return LORE_OK;
}

static lore_status on_part_end(void *ctx) {
    collector *c = ctx;
    if (c->failed || !c->n || c->p[c->n - 1].ended) {
        c->bad = 1;
        return LORE_INTERNAL;
    }
    c->p[c->n - 1].ended = 1;
    if (c->fail_cb == 'E' && c->fail_part == c->n) {
        c->failed = 1;
        return c->fail_st;
    }
    return LORE_OK;
}

static const multipart_callbacks cbs = {on_part, on_data, on_part_end};

/* Parses body fed in pieces of `step` bytes (0: whole), each piece a fresh
 * copy freed right after its feed so that ASan sees any pointer the parser
 * keeps into an earlier feed. split > 0 instead feeds [0, split) and the rest.
 * Returns the final status; err gets multipart_error or multipart_new's err. */
static lore_status run2(const char *ctype, const void *body, size_t len, size_t step, size_t split,
                        const multipart_limits *lim, collector *c, char *err, size_t errlen) {
    multipart_parser *p = NULL;
    lore_status st = multipart_new(ctype, lim, &cbs, c, &p, err, errlen);
    if (st != LORE_OK) {
        CHECK(p == NULL);
        return st;
    }
    const uint8_t *b = body;
    size_t off = 0;
    while (st == LORE_OK && off < len) {
        size_t k = len - off;
        if (split)
            k = off ? len - off : split;
        else if (step && step < k)
            k = step;
        uint8_t *piece = malloc(k);
        memcpy(piece, b + off, k);
        st = multipart_feed(p, piece, k);
        free(piece);
        off += k;
    }
    if (st == LORE_OK) st = multipart_feed(p, NULL, 0);
    if (st == LORE_OK) st = multipart_finish(p);
    snprintf(err, errlen, "%s", multipart_error(p));
    if (st == LORE_OK && err[0]) c->bad = 1;
    if (st != LORE_OK) {
        /* stuck: the same status from then on, and no more callbacks */
        if (multipart_feed(p, (const uint8_t *)"\r\n--", 4) != st) c->bad = 1;
        if (multipart_finish(p) != st) c->bad = 1;
    }
    CHECK(multipart_part_count(p) == c->n);
    multipart_free(p);
    return st;
}

static lore_status run(const char *ctype, const void *body, size_t len, size_t step,
                       const multipart_limits *lim, collector *c, char *err, size_t errlen) {
    return run2(ctype, body, len, step, 0, lim, c, err, errlen);
}

static int same_parts(const collector *a, const collector *b) {
    if (a->n != b->n || a->bad || b->bad) return 0;
    for (size_t i = 0; i < a->n; i++) {
        const got_part *x = &a->p[i], *y = &b->p[i];
        if (strcmp(x->name, y->name) || strcmp(x->ctype, y->ctype) ||
            x->has_filename != y->has_filename || strcmp(x->filename, y->filename) ||
            x->ended != y->ended || x->data.len != y->data.len ||
            (x->data.len && memcmp(x->data.data, y->data.data, x->data.len)))
            return 0;
    }
    return 1;
}

/* Parses body whole into *whole, then in every piece size and every
 * two-piece split, checking that each gives the same parts, status and
 * error. Returns the status of the whole run. */
static lore_status parse_all_ways(const char *ctype, const char *body, size_t len,
                                  const multipart_limits *lim, collector *whole, char *err,
                                  size_t errlen) {
    collector_init(whole);
    lore_status st = run(ctype, body, len, 0, lim, whole, err, errlen);
    CHECK(!whole->bad);
    int mismatches = 0;
    for (size_t way = 1; way < 2 * len; way++) {
        collector c;
        char e[256];
        collector_init(&c);
        lore_status st2 = way < len
                              ? run(ctype, body, len, way, lim, &c, e, sizeof e)
                              : run2(ctype, body, len, 0, way - len + 1, lim, &c, e, sizeof e);
        if (st2 != st || strcmp(e, err) || !same_parts(whole, &c)) {
            if (!mismatches)
                fprintf(stderr, "split %s %zu: %s \"%s\" vs whole %s \"%s\"\n",
                        way < len ? "step" : "at", way < len ? way : way - len + 1,
                        lore_status_name(st2), e, lore_status_name(st), err);
            mismatches++;
        }
        collector_free(&c);
    }
    CHECK_INT(mismatches, 0);
    return st;
}

#define CT "multipart/form-data; boundary=XyZ"
#define CD "Content-Disposition: form-data; "

static void expect_data(const got_part *g, const void *want, size_t n) {
    CHECK_INT(g->data.len, n);
    CHECK(g->data.len == n && (n == 0 || memcmp(g->data.data, want, n) == 0));
}

static void test_single_part(void) {
    static const char body[] = "--XyZ\r\n" CD "name=\"greeting\"\r\n\r\nhello\r\n--XyZ--\r\n";
    collector c;
    char err[256];
    CHECK_INT(parse_all_ways(CT, body, sizeof body - 1, NULL, &c, err, sizeof err), LORE_OK);
    CHECK_INT(c.n, 1);
    CHECK_STR(c.p[0].name, "greeting");
    CHECK(!c.p[0].has_filename);
    CHECK_STR(c.p[0].ctype, "text/plain");
    CHECK(c.p[0].ended);
    expect_data(&c.p[0], "hello", 5);
    CHECK_STR(err, "");
    collector_free(&c);
}

static void test_several_parts(void) {
    static const char body[] =
        "------WebKitFormBoundary7MA4YWxkTrZu0gW\r\n"
        "Content-Disposition: form-data; name=\"title\"\r\n\r\n"
        "Quarterly report\r\n"
        "------WebKitFormBoundary7MA4YWxkTrZu0gW\r\n"
        "content-disposition: FORM-DATA; filename=\"q3.pdf\"; NAME=\"file\"\r\n"
        "Content-Type: application/pdf\r\n"
        "X-Unknown: ignored\r\n\r\n"
        "%PDF-1.7\r\n\x00\x01\xff binary\r\n\r\n"
        "------WebKitFormBoundary7MA4YWxkTrZu0gW\r\n"
        "Content-Type:   image/png  \r\n"
        "Content-Disposition: form-data;name=img;filename=a.png\r\n\r\n"
        "\x89PNG\r\n\x1a\n"
        "\r\n------WebKitFormBoundary7MA4YWxkTrZu0gW--";
    collector c;
    char err[256];
    CHECK_INT(parse_all_ways("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
                             body, sizeof body - 1, NULL, &c, err, sizeof err),
              LORE_OK);
    CHECK_INT(c.n, 3);
    CHECK_STR(c.p[0].name, "title");
    expect_data(&c.p[0], "Quarterly report", 16);
    CHECK_STR(c.p[1].name, "file");
    CHECK(c.p[1].has_filename);
    CHECK_STR(c.p[1].filename, "q3.pdf");
    CHECK_STR(c.p[1].ctype, "application/pdf");
    expect_data(&c.p[1], "%PDF-1.7\r\n\x00\x01\xff binary\r\n", 22);
    CHECK_STR(c.p[2].name, "img");
    CHECK_STR(c.p[2].filename, "a.png");
    CHECK_STR(c.p[2].ctype, "image/png");
    expect_data(&c.p[2], "\x89PNG\r\n\x1a\n", 8);
    collector_free(&c);
}

static void test_empty_bodies(void) {
    /* with the blank line, without it (RFC 2046: [CRLF *OCTET]), and a body of one CRLF */
    static const char body[] = "--XyZ\r\n" CD "name=a\r\n\r\n\r\n--XyZ\r\n" CD
                               "name=b\r\n\r\n--XyZ\r\n" CD "name=c; filename=\"\"\r\n\r\n"
                               "\r\n\r\n--XyZ--";
    collector c;
    char err[256];
    CHECK_INT(parse_all_ways(CT, body, sizeof body - 1, NULL, &c, err, sizeof err), LORE_OK);
    CHECK_INT(c.n, 3);
    CHECK_STR(c.p[0].name, "a");
    expect_data(&c.p[0], "", 0);
    CHECK_STR(c.p[1].name, "b");
    expect_data(&c.p[1], "", 0);
    CHECK_STR(c.p[2].name, "c");
    CHECK(c.p[2].has_filename);
    CHECK_STR(c.p[2].filename, "");
    expect_data(&c.p[2], "\r\n", 2);
    collector_free(&c);

    /* no parts at all */
    static const char none[] = "--XyZ--\r\n";
    CHECK_INT(parse_all_ways(CT, none, sizeof none - 1, NULL, &c, err, sizeof err), LORE_OK);
    CHECK_INT(c.n, 0);
    collector_free(&c);
}

static void test_filename_star(void) {
    static const char body[] =
        "--XyZ\r\n" CD
        "name=f; filename=\"fallback.txt\"; filename*=UTF-8''%e2%82%ac%20rates.txt\r\n"
        "\r\nx\r\n--XyZ\r\n" CD "filename*=iso-8859-1'fr'%E9t%E9.txt; name=g\r\n\r\ny\r\n"
        "--XyZ\r\n" CD "name=\"q\\\"uo\\\\te\"; filename=\"C:\\\\x\\\\y.pdf\"\r\n\r\nz\r\n--XyZ--";
    collector c;
    char err[256];
    CHECK_INT(parse_all_ways(CT, body, sizeof body - 1, NULL, &c, err, sizeof err), LORE_OK);
    CHECK_INT(c.n, 3);
    CHECK_STR(c.p[0].filename, "\xe2\x82\xac rates.txt");
    CHECK_STR(c.p[1].filename, "\xc3\xa9t\xc3\xa9.txt");
    CHECK_STR(c.p[1].name, "g");
    CHECK_STR(c.p[2].name, "q\"uo\\te"); /* backslash escapes resolved */
    CHECK_STR(c.p[2].filename, "C:\\x\\y.pdf");
    collector_free(&c);

    static const struct {
        const char *param, *why;
    } bad[] = {
        {"filename*=UTF-8''%FF.txt", "part 1: filename* is not valid UTF-8 at byte "},
        {"filename*=Shift_JIS''a.txt", "part 1: filename* charset is not UTF-8 or ISO-8859-1"},
        {"filename*=UTF-8''a%2", "part 1: filename* has a bad percent escape"},
        {"filename*=UTF-8''a%00b", "part 1: filename* decodes to a NUL byte"},
        {"filename*=a.txt", "part 1: filename* is not charset'language'value"},
        {"filename*=\"UTF-8''a b\"", "part 1: filename* has a byte that must be percent-encoded"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char b[256];
        int n =
            snprintf(b, sizeof b, "--XyZ\r\n" CD "name=f; %s\r\n\r\nx\r\n--XyZ--", bad[i].param);
        CHECK_INT(parse_all_ways(CT, b, (size_t)n, NULL, &c, err, sizeof err), LORE_INVALID);
        CHECK_INT(c.n, 0);
        CHECK(strncmp(err, bad[i].why, strlen(bad[i].why)) == 0);
        if (strncmp(err, bad[i].why, strlen(bad[i].why)))
            fprintf(stderr, "  got \"%s\" for %s\n", err, bad[i].param);
        collector_free(&c);
    }
}

static void test_boundary_forms(void) {
    /* quoted with a space and RFC 2046 punctuation, padding after every boundary line */
    static const char body[] = "--a b'()+_,-./:=?\t \r\n" CD "name=x\r\n\r\none\r\n"
                               "--a b'()+_,-./:=?  \r\n" CD "name=y\r\n\r\ntwo\r\n"
                               "--a b'()+_,-./:=?-- \t\r\n";
    collector c;
    char err[256];
    CHECK_INT(parse_all_ways("Multipart/Form-Data ; charset=utf-8;BOUNDARY = \"a b'()+_,-./:=?\" ;",
                             body, sizeof body - 1, NULL, &c, err, sizeof err),
              LORE_OK);
    CHECK_INT(c.n, 2);
    expect_data(&c.p[0], "one", 3);
    expect_data(&c.p[1], "two", 3);
    collector_free(&c);

    /* unquoted with '=' (common from mail-style generators), 70 bytes */
    char ct[200], b70[71], bb[400];
    memset(b70, '=', 70);
    b70[70] = '\0';
    snprintf(ct, sizeof ct, "multipart/form-data; boundary=%s", b70);
    int n = snprintf(bb, sizeof bb, "--%s\r\n" CD "name=z\r\n\r\n-=-\r\n--%s--", b70, b70);
    CHECK_INT(parse_all_ways(ct, bb, (size_t)n, NULL, &c, err, sizeof err), LORE_OK);
    CHECK_INT(c.n, 1);
    expect_data(&c.p[0], "-=-", 3);
    collector_free(&c);
}

static void test_preamble_epilogue(void) {
    static const char body[] = "This is the preamble. --XyZ is not a boundary here,\r\n"
                               "nor -XyZ\r\n--XyZx... wait, this one is a delimiter";
    static const char good[] = "preamble line --XyZ not a delimiter: no CRLF before\r\n"
                               "\r\n--XyZ\r\n" CD "name=p\r\n\r\nbody\r\n--XyZ--\r\n"
                               "epilogue --XyZ\r\n\r\n--XyZ\r\ngarbage \x00\xff";
    collector c;
    char err[256];
    CHECK_INT(parse_all_ways(CT, good, sizeof good - 1, NULL, &c, err, sizeof err), LORE_OK);
    CHECK_INT(c.n, 1);
    expect_data(&c.p[0], "body", 4);
    collector_free(&c);
    /* A delimiter counts wherever it appears, even with more after the
     * boundary (RFC 2046 5.1.1), so this preamble is malformed. */
    CHECK_INT(parse_all_ways(CT, body, sizeof body - 1, NULL, &c, err, sizeof err), LORE_INVALID);
    CHECK_STR(err, "boundary not followed by CRLF or \"--\" at byte 68");
    collector_free(&c);
}

static void test_near_delimiters(void) {
    /* Body bytes that look like pieces of "\r\n--XyZ": every prefix, the
     * boundary without the CRLF, CRs and LFs around, a CR right before the
     * real delimiter. */
    static const char payload[] = "\r\r\n\r\n-\r\n--\r\n--X\r\n--Xy\r\n--xYZ--XyZ\n--XyZ\r--XyZ"
                                  "\r\n-XyZ--XyZ--\r\n\r\n---XyZ\r\n\r\r";
    char body[400];
    int n = snprintf(body, sizeof body,
                     "--XyZ\r\n" CD "name=n\r\n\r\n%s\r\n--XyZ\r\n" CD
                     "name=m\r\n\r\nx--XyZ-\r\n--XyZ--",
                     payload);
    collector c;
    char err[256];
    CHECK_INT(parse_all_ways(CT, body, (size_t)n, NULL, &c, err, sizeof err), LORE_OK);
    CHECK_INT(c.n, 2);
    expect_data(&c.p[0], payload, sizeof payload - 1);
    expect_data(&c.p[1], "x--XyZ-", 7);
    collector_free(&c);
    /* Right after the blank line, "--XyZ" is a delimiter: the blank line's
     * CRLF is the delimiter's CRLF (RFC 2046: body-part := headers [CRLF
     * *OCTET]), so a body cannot start with the boundary minus its CRLF. */
    static const char start[] = "--XyZ\r\n" CD "name=m\r\n\r\n--XyZ-\r\n--XyZ--";
    CHECK_INT(parse_all_ways(CT, start, sizeof start - 1, NULL, &c, err, sizeof err), LORE_INVALID);
    CHECK_STR(err, "boundary not followed by CRLF or \"--\" at byte 55");
    CHECK_INT(c.n, 1);
    collector_free(&c);
}

static void test_truncated(void) {
    static const char *cases[][2] = {
        {"", "truncated: no boundary line in the body at byte 0"},
        {"preamble only\r\n--XyZ", "truncated: body ends in a boundary line at byte 20"},
        {"--XyZ\r\n" CD "name=a\r\n", "truncated: body ends in the headers of part 1 at byte 47"},
        {"--XyZ\r\n" CD "name=a\r\n\r\nsome data\r\n--Xy",
         "truncated: body ends in part 1 at byte 64"},
        {"--XyZ\r\n" CD "name=a\r\n\r\ndata\r\n--XyZ\r\n",
         "truncated: body ends in the headers of part 2 at byte 62"},
        {"--XyZ\r\n" CD "name=a\r\n\r\ndata\r\n--XyZ-",
         "truncated: body ends in a boundary line at byte 61"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        collector c;
        char err[256];
        CHECK_INT(parse_all_ways(CT, cases[i][0], strlen(cases[i][0]), NULL, &c, err, sizeof err),
                  LORE_INVALID);
        CHECK_STR(err, cases[i][1]);
        if (i == 3) { /* held-back "\r\n--Xy" never reaches on_data; no on_part_end */
            CHECK_INT(c.n, 1);
            expect_data(&c.p[0], "some data", 9);
            CHECK(!c.p[0].ended);
        }
        collector_free(&c);
    }
}

static void test_content_type(void) {
    static const struct {
        const char *ct;
        lore_status st;
        const char *err;
    } cases[] = {
        {NULL, LORE_UNSUPPORTED, "Content-Type: missing"},
        {"application/json", LORE_UNSUPPORTED, "Content-Type: not multipart/form-data"},
        {"multipart/mixed; boundary=x", LORE_UNSUPPORTED, "Content-Type: not multipart/form-data"},
        {"multipart/form-data", LORE_INVALID, "Content-Type: boundary parameter missing"},
        {"multipart/form-data; charset=utf-8", LORE_INVALID,
         "Content-Type: boundary parameter missing"},
        {"multipart/form-data; boundary=", LORE_INVALID,
         "Content-Type: boundary parameter is empty"},
        {"multipart/form-data; boundary=\"\"", LORE_INVALID,
         "Content-Type: boundary parameter is empty"},
        {"multipart/form-data; boundary=a@b", LORE_INVALID,
         "Content-Type: boundary has a character RFC 2046 does not allow"},
        {"multipart/form-data; boundary=\"a\rb\"", LORE_INVALID,
         "Content-Type: control byte in a parameter value"},
        {"multipart/form-data; boundary=\"ab \"", LORE_INVALID,
         "Content-Type: boundary ends with a space"},
        {"multipart/form-data; boundary=a; boundary=b", LORE_INVALID,
         "Content-Type: boundary parameter given twice"},
        {"multipart/form-data; boundary=\"abc", LORE_INVALID,
         "Content-Type: unterminated quoted string"},
        {"multipart/form-data; boundary", LORE_INVALID,
         "Content-Type: '=' expected after a parameter name"},
        {"multipart/form-data boundary=x", LORE_INVALID,
         "Content-Type: ';' expected between parameters"},
        {"multipart/form-data; boundary=0123456789012345678901234567890123456789012345678901234567"
         "890123456789",
         LORE_OK, ""},
        {"multipart/form-data; boundary=0123456789012345678901234567890123456789012345678901234567"
         "8901234567890",
         LORE_INVALID, "Content-Type: boundary is longer than 70 bytes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        multipart_parser *p = (multipart_parser *)&cases; /* must be reset to NULL on failure */
        char err[256];
        lore_status st = multipart_new(cases[i].ct, NULL, &cbs, NULL, &p, err, sizeof err);
        CHECK_INT(st, cases[i].st);
        CHECK_STR(err, cases[i].err);
        CHECK((st == LORE_OK) == (p != NULL));
        multipart_free(st == LORE_OK ? p : NULL);
    }
    multipart_limits l = {0, 10};
    multipart_parser *p = NULL;
    char err[256];
    CHECK_INT(multipart_new(CT, &l, &cbs, NULL, &p, err, sizeof err), LORE_INVALID);
    l.max_parts = 1, l.max_header_bytes = MULTIPART_HEADER_BYTES_MAX + 1;
    CHECK_INT(multipart_new(CT, &l, &cbs, NULL, &p, err, sizeof err), LORE_INVALID);
    CHECK(p == NULL);
    CHECK_INT(multipart_new(CT, NULL, NULL, NULL, &p, NULL, 0), LORE_OK); /* no callbacks at all */
    static const char body[] = "--XyZ\r\n" CD "name=a\r\n\r\nabc\r\n--XyZ--";
    CHECK_INT(multipart_feed(p, (const uint8_t *)body, sizeof body - 1), LORE_OK);
    CHECK_INT(multipart_finish(p), LORE_OK);
    CHECK_INT(multipart_part_count(p), 1);
    multipart_free(p);
}

static void test_limits(void) {
    multipart_limits l;
    multipart_limits_default(&l);
    CHECK_INT(l.max_parts, 64);
    CHECK_INT(l.max_header_bytes, 8192);
    l.max_parts = 2;
    static const char two[] = "--XyZ\r\n" CD "name=a\r\n\r\n1\r\n--XyZ\r\n" CD "name=b\r\n\r\n2\r\n"
                              "--XyZ--";
    static const char three[] = "--XyZ\r\n" CD "name=a\r\n\r\n1\r\n--XyZ\r\n" CD
                                "name=b\r\n\r\n2\r\n--XyZ  \r\n" CD "name=c\r\n\r\n3\r\n--XyZ--";
    collector c;
    char err[256];
    CHECK_INT(parse_all_ways(CT, two, sizeof two - 1, &l, &c, err, sizeof err), LORE_OK);
    CHECK_INT(c.n, 2);
    collector_free(&c);
    CHECK_INT(parse_all_ways(CT, three, sizeof three - 1, &l, &c, err, sizeof err), LORE_TOO_LARGE);
    CHECK_STR(err, "more than 2 parts at byte 112");
    CHECK_INT(c.n, 2);
    CHECK(c.p[1].ended); /* the second part was complete before the third was refused */
    collector_free(&c);

    /* Header bytes: CD line of 38 bytes + CRLF = 40, "X: y" + CRLF = 6. */
    static const char hdr[] = "--XyZ\r\n" CD "name=a\r\nX: y\r\n\r\nv\r\n--XyZ--";
    multipart_limits_default(&l);
    l.max_header_bytes = 46;
    CHECK_INT(parse_all_ways(CT, hdr, sizeof hdr - 1, &l, &c, err, sizeof err), LORE_OK);
    collector_free(&c);
    l.max_header_bytes = 45;
    CHECK_INT(parse_all_ways(CT, hdr, sizeof hdr - 1, &l, &c, err, sizeof err), LORE_TOO_LARGE);
    CHECK_STR(err, "part 1: headers exceed 45 bytes at byte 52");
    CHECK_INT(c.n, 0);
    collector_free(&c);

    /* A long header line against the default cap, fed in small pieces */
    lore_buf big;
    lore_buf_init(&big, 1 << 20);
    CHECK_INT(lore_buf_append_str(&big, "--XyZ\r\n" CD "name=\""), LORE_OK);
    for (int i = 0; i < 9000; i++)
        CHECK(lore_buf_append_byte(&big, 'a') == LORE_OK);
    CHECK_INT(lore_buf_append_str(&big, "\"\r\n\r\nv\r\n--XyZ--"), LORE_OK);
    collector_init(&c);
    CHECK_INT(run(CT, big.data, big.len, 7, NULL, &c, err, sizeof err), LORE_TOO_LARGE);
    CHECK_STR(err, "part 1: headers exceed 8192 bytes at byte 8199");
    collector_free(&c);
    lore_buf_free(&big);
}

static void test_malformed(void) {
    static const char *cases[][2] = {
        {"--XyZ\n" CD "name=a\r\n\r\nv\r\n--XyZ--",
         "boundary not followed by CRLF or \"--\" at byte 5"},
        {"--XyZ\r\r\n", "CR not followed by LF after a boundary at byte 6"},
        {"--XyZ-x", "boundary not followed by CRLF or \"--\" at byte 6"},
        {"--XyZ \t-", "boundary not followed by CRLF or \"--\" at byte 7"},
        {"--XyZ\r\n" CD "name=a\n\nv\r\n--XyZ--",
         "part 1: bare LF in headers (CRLF required) at byte 45"},
        {"--XyZ\r\n" CD "name=a\r\n\tfolded\r\n\r\nv", "part 1: folded header line at byte 47"},
        {"--XyZ\r\n" CD "name=a\rX\r\n\r\nv",
         "part 1: CR not followed by LF in headers at byte 46"},
        {"--XyZ\r\n" CD "name=\"a\x01\"\r\n\r\nv",
         "part 1: control byte 0x01 in headers at byte 46"},
        {"--XyZ\r\nContent-Type: text/plain\r\n\r\nv",
         "part 1: no Content-Disposition header at byte 34"},
        {"--XyZ\r\n\r\nv", "part 1: no Content-Disposition header at byte 8"},
        {"--XyZ\r\nContent-Disposition: attachment; name=a\r\n\r\nv",
         "part 1: Content-Disposition type is not form-data at byte 49"},
        {"--XyZ\r\n" CD "name=a; name=b\r\n\r\nv",
         "part 1: Content-Disposition repeats a parameter at byte 56"},
        {"--XyZ\r\n" CD "name=a; filename=x; FileName=y\r\n\r\nv",
         "part 1: Content-Disposition repeats a parameter at byte 72"},
        {"--XyZ\r\n" CD "name=a\r\n" CD "name=b\r\n\r\nv",
         "part 1: Content-Disposition given twice at byte 88"},
        {"--XyZ\r\n" CD "name=a\r\nContent-Type: a\r\ncontent-type: b\r\n\r\nv",
         "part 1: Content-Type given twice at byte 82"},
        {"--XyZ\r\n" CD "name=a\r\nno colon here\r\n\r\nv",
         "part 1: header line is not 'Name: value' at byte 63"},
        {"--XyZ\r\n" CD "name=a\r\nX-Space : v\r\n\r\nv",
         "part 1: header line is not 'Name: value' at byte 61"},
        {"--XyZ\r\n" CD "name=\"a\r\n\r\nv", "part 1: unterminated quoted string at byte 49"},
        {"--XyZ\r\n" CD "name=a b\r\n\r\nv", "part 1: ';' expected between parameters at byte 50"},
        {"--XyZ\r\n" CD "name=a\r\n\r\nv\r\n--XyZ\r\n" CD "=x\r\n\r\n",
         "part 2: parameter name expected at byte 96"},
        {"--XyZ\r\n" CD "name=a\r\n\r\nv\r\n--XyZx",
         "boundary not followed by CRLF or \"--\" at byte 57"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        collector c;
        char err[256];
        lore_status st =
            parse_all_ways(CT, cases[i][0], strlen(cases[i][0]), NULL, &c, err, sizeof err);
        CHECK_INT(st, LORE_INVALID);
        CHECK_STR(err, cases[i][1]);
        collector_free(&c);
    }
}

static void test_callback_errors(void) {
    static const char body[] = "--XyZ\r\n" CD "name=a\r\n\r\nfirst\r\n--XyZ\r\n" CD
                               "name=b\r\n\r\nsecond\r\n--XyZ\r\n" CD "name=c\r\n\r\nthird\r\n"
                               "--XyZ--";
    static const struct {
        char cb;
        size_t part;
        lore_status st;
        size_t nparts;
        const char *err;
    } cases[] = {
        {'P', 2, LORE_IO, 2, "on_part callback returned IO"},
        {'D', 1, LORE_TOO_LARGE, 1, "on_data callback returned TOO_LARGE"},
        {'E', 3, LORE_NOMEM, 3, "on_part_end callback returned NOMEM"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (size_t step = 0; step < 20; step++) {
            collector c;
            char err[256];
            collector_init(&c);
            c.fail_cb = cases[i].cb;
            c.fail_part = cases[i].part;
            c.fail_st = cases[i].st;
            CHECK_INT(run(CT, body, sizeof body - 1, step, NULL, &c, err, sizeof err), cases[i].st);
            CHECK(!c.bad); /* no callback after the failing one */
            CHECK_INT(c.n, cases[i].nparts);
            CHECK(strncmp(err, cases[i].err, strlen(cases[i].err)) == 0);
            collector_free(&c);
        }
    }
}

static void test_safe_filename(void) {
    static const char *cases[][2] = {
        {"report.pdf", "report.pdf"},
        {"../../etc/passwd", "passwd"},
        {"C:\\x\\y.pdf", "y.pdf"},
        {"dir/sub\\mixed/name.txt", "name.txt"},
        {"", "upload"},
        {"..", "upload"},
        {"/", "upload"},
        {"a/", "upload"},
        {".hidden", "hidden"},
        {"...", "upload"},
        {"\x01\x1f\x7f", "upload"},
        {"a\tb\r\nc\x7f.txt", "abc.txt"},
        {"\x01..secret", "secret"},
        {"bad\xff\xc0\xafutf8\xed\xa0\x80.txt", "badutf8.txt"},
        {"caf\xc3\xa9 \xe2\x82\xac.txt", "caf\xc3\xa9 \xe2\x82\xac.txt"},
        {"a.b.c", "a.b.c"},
    };
    char out[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        multipart_safe_filename(cases[i][0], out, sizeof out);
        CHECK_STR(out, cases[i][1]);
    }
    multipart_safe_filename(NULL, out, sizeof out);
    CHECK_STR(out, "upload");
    /* never cut a sequence: 10 x "é" (2 bytes) into 8 bytes of room -> 3 whole ones */
    char small[8];
    multipart_safe_filename("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
                            "\xa9\xc3\xa9",
                            small, sizeof small);
    CHECK_STR(small, "\xc3\xa9\xc3\xa9\xc3\xa9");
    multipart_safe_filename("\xf0\x9f\x98\x80\xf0\x9f\x98\x80", small, sizeof small);
    CHECK_STR(small, "\xf0\x9f\x98\x80"); /* the second 4-byte emoji does not fit in 3 */
    multipart_safe_filename("", small, 4);
    CHECK_STR(small, "upl");
    small[0] = 'x';
    multipart_safe_filename("abc", small, 0); /* nothing written */
    CHECK(small[0] == 'x');
    multipart_safe_filename("abc", small, 1);
    CHECK_STR(small, "");
    /* long UTF-8 name into a 255-byte name buffer */
    char longname[1200], name255[256];
    size_t k = 0;
    while (k + 3 < sizeof longname) {
        memcpy(longname + k, "\xe6\x9d\xb1", 3); /* U+6771, 3 bytes */
        k += 3;
    }
    longname[k] = '\0';
    multipart_safe_filename(longname, name255, sizeof name255);
    CHECK_INT(strlen(name255), 255);
    multipart_safe_filename(longname + 1, name255, sizeof name255); /* starts mid-sequence */
    CHECK_INT(strlen(name255), 255);
    CHECK((unsigned char)name255[0] == 0xe6);
}

/* ---- randomized round trip ---------------------------------------------- */

typedef struct built_part {
    char name[32];
    char filename[32];
    int has_filename;
    char ctype[64];
    lore_buf data;
} built_part;

static const char bchars[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "'()+_,-./:=? ";

static size_t rnd(size_t n) {
    return n ? (size_t)(test_rand() % n) : 0;
}

static int contains(const char *hay, size_t hn, const char *needle, size_t nn) {
    for (size_t i = 0; i + nn <= hn; i++)
        if (memcmp(hay + i, needle, nn) == 0) return 1;
    return 0;
}

/* Random bytes rich in pieces of the delimiter: CR, LF, dashes, prefixes of
 * the boundary, the boundary itself without its CRLF. Never contains the
 * delimiter, and (taken after a CRLF) never starts with "--BOUNDARY". */
static void random_payload(lore_buf *out, const char *delim, size_t dlen, size_t max) {
    for (;;) {
        lore_buf_reset(out);
        size_t want = rnd(4) == 0 ? rnd(8) : rnd(max);
        while (out->len < want) {
            size_t kind = rnd(8), cut = 1 + rnd(dlen - 1);
            lore_status st = LORE_OK;
            if (kind == 0) st = lore_buf_append(out, delim, cut); /* a proper prefix */
            if (kind == 1) st = lore_buf_append(out, delim + 2, dlen - 2);
            if (kind == 2) st = lore_buf_append(out, delim + 1, cut < dlen - 1 ? cut : dlen - 2);
            if (kind == 3) st = lore_buf_append_byte(out, "\r\n-"[rnd(3)]);
            if (kind >= 4) {
                uint8_t b[16];
                size_t n = 1 + rnd(sizeof b);
                for (size_t i = 0; i < n; i++)
                    b[i] = (uint8_t)test_rand();
                st = lore_buf_append(out, b, n);
            }
            if (st != LORE_OK) break;
        }
        /* the body's CRLF-prefixed view must not hold the delimiter */
        lore_buf chk;
        lore_buf_init(&chk, BIG);
        int ok = lore_buf_append(&chk, "\r\n", 2) == LORE_OK &&
                 lore_buf_append(&chk, out->data ? out->data : "", out->len) == LORE_OK &&
                 !contains(chk.data, chk.len, delim, dlen);
        lore_buf_free(&chk);
        if (ok) return;
    }
}

static void random_token(char *out, size_t cap) {
    static const char cs[] = "abcdefghijklmnopqrstuvwxyz0123456789_-";
    size_t n = 1 + rnd(cap - 2);
    for (size_t i = 0; i < n; i++)
        out[i] = cs[rnd(sizeof cs - 1)];
    out[n] = '\0';
}

static void test_random(void) {
    test_seed();
    int failures = 0;
    size_t total_parts = 0, total_bytes = 0;
    for (int iter = 0; iter < 400 && failures < 3; iter++) {
        /* boundary: 1..70 bchars, no trailing space */
        char boundary[71], ct[200], delim[80];
        size_t blen = 1 + (rnd(3) ? rnd(12) : rnd(70));
        for (size_t i = 0; i < blen; i++)
            boundary[i] = bchars[rnd(sizeof bchars - 1)];
        if (boundary[blen - 1] == ' ') boundary[blen - 1] = '_';
        boundary[blen] = '\0';
        snprintf(ct, sizeof ct, "multipart/form-data; boundary=\"%s\"", boundary);
        size_t dlen = (size_t)snprintf(delim, sizeof delim, "\r\n--%s", boundary);

        built_part parts[8];
        size_t np = rnd(6);
        lore_buf body;
        lore_buf_init(&body, BIG);
        lore_status st = LORE_OK;
        if (rnd(3) == 0) { /* a preamble */
            lore_buf pre;
            lore_buf_init(&pre, BIG);
            random_payload(&pre, delim, dlen, 100);
            if (lore_buf_append(&body, pre.data ? pre.data : "", pre.len) != LORE_OK ||
                lore_buf_append_str(&body, "\r\n") != LORE_OK)
                st = LORE_NOMEM;
            lore_buf_free(&pre);
        }
        for (size_t i = 0; i < np; i++) {
            built_part *bp = &parts[i];
            random_token(bp->name, sizeof bp->name);
            bp->has_filename = rnd(2);
            if (bp->has_filename) random_token(bp->filename, sizeof bp->filename);
            char sub[16];
            random_token(sub, sizeof sub);
            if (rnd(2))
                snprintf(bp->ctype, sizeof bp->ctype, "application/x-%s", sub);
            else
                snprintf(bp->ctype, sizeof bp->ctype, "text/plain");
            lore_buf_init(&bp->data, BIG);
            random_payload(&bp->data, delim, dlen, rnd(4) ? 300 : 5000);
            const char *pad = rnd(4) ? "" : " \t ";
            if (lore_buf_printf(&body, "--%s%s\r\n", boundary, pad) != LORE_OK) st = LORE_NOMEM;
            if (rnd(2) && lore_buf_printf(&body, "X-Extra: %zu\r\n", i) != LORE_OK) st = LORE_NOMEM;
            if (lore_buf_printf(&body, "%s: form-data; name=\"%s\"",
                                rnd(2) ? "Content-Disposition" : "content-DISPOSITION",
                                bp->name) != LORE_OK)
                st = LORE_NOMEM;
            if (bp->has_filename &&
                lore_buf_printf(&body, rnd(2) ? "; filename=\"%s\"" : "; filename*=UTF-8''%s",
                                bp->filename) != LORE_OK)
                st = LORE_NOMEM;
            if (strcmp(bp->ctype, "text/plain") &&
                lore_buf_printf(&body, "\r\nContent-Type: %s", bp->ctype) != LORE_OK)
                st = LORE_NOMEM;
            if (lore_buf_append_str(&body, "\r\n\r\n") != LORE_OK ||
                lore_buf_append(&body, bp->data.data ? bp->data.data : "", bp->data.len) !=
                    LORE_OK ||
                lore_buf_append_str(&body, "\r\n") != LORE_OK)
                st = LORE_NOMEM;
        }
        if (lore_buf_printf(&body, "--%s--", boundary) != LORE_OK) st = LORE_NOMEM;
        if (rnd(2)) { /* an epilogue: anything at all */
            lore_buf epi;
            lore_buf_init(&epi, BIG);
            random_payload(&epi, delim, dlen, 50);
            if (lore_buf_append_str(&body, "\r\n") != LORE_OK ||
                lore_buf_append(&body, epi.data ? epi.data : "", epi.len) != LORE_OK ||
                lore_buf_append(&body, delim, dlen) != LORE_OK)
                st = LORE_NOMEM;
            lore_buf_free(&epi);
        }
        CHECK_INT(st, LORE_OK);

        /* feed: whole, 1-byte pieces, and random pieces (a fresh size each feed) */
        for (int mode = 0; mode < 3; mode++) {
            collector c;
            collector_init(&c);
            multipart_parser *p = NULL;
            char err[256];
            lore_status rs = multipart_new(ct, NULL, &cbs, &c, &p, err, sizeof err);
            size_t off = 0, maxpiece = 1 + rnd(rnd(2) ? 16 : 2 * dlen + 8);
            while (rs == LORE_OK && off < body.len) {
                size_t k = body.len - off;
                if (mode == 1) k = 1;
                if (mode == 2) k = 1 + rnd(maxpiece) < k ? 1 + rnd(maxpiece) : k;
                rs = multipart_feed(p, (const uint8_t *)body.data + off, k);
                off += k;
            }
            if (rs == LORE_OK) rs = multipart_finish(p);
            int ok = rs == LORE_OK && !c.bad && c.n == np;
            for (size_t i = 0; ok && i < np; i++) {
                const built_part *bp = &parts[i];
                const got_part *g = &c.p[i];
                ok = !strcmp(g->name, bp->name) && g->has_filename == bp->has_filename &&
                     (!bp->has_filename || !strcmp(g->filename, bp->filename)) &&
                     !strcmp(g->ctype, bp->ctype) && g->ended && g->data.len == bp->data.len &&
                     (!g->data.len || !memcmp(g->data.data, bp->data.data, g->data.len));
            }
            if (!ok) {
                failures++;
                fprintf(stderr,
                        "random iter %d mode %d: %s \"%s\", %zu/%zu parts, boundary \"%s\"\n", iter,
                        mode, lore_status_name(rs), p ? multipart_error(p) : err, c.n, np,
                        boundary);
            }
            CHECK(ok);
            if (mode == 0) total_parts += c.n, total_bytes += body.len;
            multipart_free(p);
            collector_free(&c);
        }
        for (size_t i = 0; i < np; i++)
            lore_buf_free(&parts[i].data);
        lore_buf_free(&body);
    }
    printf("random: %zu parts, %zu body bytes\n", total_parts, total_bytes);
}

int main(void) {
    test_single_part();
    test_several_parts();
    test_empty_bodies();
    test_filename_star();
    test_boundary_forms();
    test_preamble_epilogue();
    test_near_delimiters();
    test_truncated();
    test_content_type();
    test_limits();
    test_malformed();
    test_callback_errors();
    test_safe_filename();
    test_random();
    return test_summary();
}
