/* Streaming multipart/form-data parser; the contract is in multipart.h.
 *
 * A byte-driven state machine over the body. Outside part headers there is
 * nothing to buffer:
 *
 * - Finding the delimiter. The delimiter is CR LF "--" BOUNDARY and a
 *   boundary holds no CR (RFC 2046 bchars), so the delimiter's only CR is its
 *   first byte. A failed partial match therefore can never hide the start of
 *   another match except at the byte that broke it, which is why no KMP table
 *   is needed: on a mismatch the match length drops to 0 and that byte is
 *   looked at again. With nothing matched, memchr skips to the next CR.
 * - The lookbehind. Bytes of a partial match may turn out to be body bytes
 *   (a CR LF "--" and half the boundary inside an uploaded file), so they are
 *   held back, also across feeds, until a mismatch proves them data. Held
 *   bytes are always delim[0, match), so the lookbehind is the delimiter
 *   string itself and a count: at most boundary length + 4 bytes are ever
 *   held, and holding them costs no memory.
 * - The CRLF that ends a part's headers also counts as the CRLF of a
 *   delimiter: in RFC 2046 the empty line before the body is optional
 *   (body-part := MIME-part-headers [CRLF *OCTET]), so "headers CRLF
 *   --BOUNDARY" is a part with an empty body. The body search therefore starts
 *   with two bytes matched that are not body bytes (skip). The preamble search
 *   starts the same way, which is what lets the first boundary line start the
 *   body without a CRLF before it.
 *
 * Part headers are collected (capped by max_header_bytes) and parsed when the
 * blank line arrives; the decoded name, filename and content type go to a
 * second buffer of the same size. Both are allocated once in multipart_new.
 *
 * Every error offset is computed from the absolute position in the body, so a
 * malformed body gives the same error text however it was split. */
#include "http/multipart.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum mp_state {
    ST_PREAMBLE,    /* before the first delimiter; bytes are dropped */
    ST_AFTER_DELIM, /* CRLF--BOUNDARY matched: "--", padding or CRLF must follow */
    ST_PADDING,     /* spaces/tabs after a boundary */
    ST_DELIM_LF,    /* CR after a boundary: LF must follow */
    ST_CLOSE_DASH,  /* "--BOUNDARY-": a second '-' must follow */
    ST_HEADER,      /* in a part's header lines */
    ST_HEADER_LF,   /* CR in the header lines: LF must follow */
    ST_BODY,        /* in a part's body, looking for the delimiter */
    ST_EPILOGUE,    /* after "--BOUNDARY--"; bytes are dropped */
    ST_FAILED,
} mp_state;

struct multipart_parser {
    multipart_limits lim;
    multipart_callbacks cb;
    void *ctx;
    uint8_t delim[4 + MULTIPART_BOUNDARY_MAX]; /* CR LF "--" BOUNDARY */
    size_t dlen;
    mp_state state;
    size_t match;       /* delimiter bytes matched and held back: they are delim[0, match) */
    size_t skip;        /* leading held bytes that are not body bytes (see the top comment) */
    int in_part;        /* on_part was called, on_part_end not yet */
    size_t parts;       /* on_part calls so far */
    lore_status status; /* first failure, returned from then on */
    uint64_t off;       /* body offset of the next feed's first byte */
    uint64_t base;      /* body offset of data[0] in the current feed */
    char *hdr;          /* the current part's header lines, each ended by '\n' instead of CRLF */
    size_t hlen;        /* bytes in hdr */
    size_t hbytes;      /* header bytes counted against max_header_bytes (CRLF counts 2) */
    size_t line_len;    /* bytes of the current header line so far */
    char *vals;         /* decoded name, filename and content type handed to on_part */
    char err[256];
};

typedef struct span {
    const char *s;
    size_t n;
} span;

/* ---- character classes ---------------------------------------------------- */

static int is_ows(char c) {
    return c == ' ' || c == '\t';
}

/* Control bytes other than tab: never allowed in header text. */
static int is_ctl(char c) {
    unsigned char u = (unsigned char)c;
    return (u < 0x20 && u != '\t') || u == 0x7f;
}

/* RFC 9110 tchar: the bytes of header names, media types and parameter names. */
static int is_tchar(char c) {
    unsigned char u = (unsigned char)c;
    if ((u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z')) return 1;
    return u && strchr("!#$%&'*+-.^_`|~", u) != NULL;
}

/* RFC 2046 bcharsnospace; a space is the only other bchar. */
static int is_bchar_nospace(char c) {
    unsigned char u = (unsigned char)c;
    if ((u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z')) return 1;
    return u && strchr("'()+_,-./:=?", u) != NULL;
}

static int span_ieq(span a, const char *lit) {
    return a.n == strlen(lit) && strncasecmp(a.s, lit, a.n) == 0;
}

static span trim(const char *s, const char *end) {
    while (s < end && is_ows(*s))
        s++;
    while (end > s && is_ows(end[-1]))
        end--;
    return (span){s, (size_t)(end - s)};
}

/* Length of the valid UTF-8 sequence that starts s[0, n), or 0 if none does
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_len(const uint8_t *s, size_t n) {
    uint8_t c = s[0], lo = 0x80, hi = 0xbf;
    size_t len;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c == 0xe0)
        len = 3, lo = 0xa0;
    else if (c == 0xed)
        len = 3, hi = 0x9f;
    else if (c >= 0xe1 && c <= 0xef)
        len = 3;
    else if (c == 0xf0)
        len = 4, lo = 0x90;
    else if (c == 0xf4)
        len = 4, hi = 0x8f;
    else if (c >= 0xf1 && c <= 0xf3)
        len = 4;
    else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    for (size_t k = 2; k < len; k++)
        if ((s[k] & 0xc0) != 0x80) return 0;
    return len;
}

/* ---- parameters (Content-Type and Content-Disposition) -------------------- */

typedef struct param {
    span name;
    span value; /* quotes removed, backslash escapes not yet resolved */
    int quoted;
} param;

/* Reads the next `; name = value` from [*sp, end): returns 1 with *pr filled,
 * 0 at the end, -1 on a syntax error with *why set. Whitespace around ';' and
 * '=' is allowed (RFC 2616's implied LWS, which many clients still emit), and
 * empty parameters (";;", a trailing ';') are skipped. An unquoted value runs
 * to whitespace or ';': looser than a token, because unquoted boundaries with
 * '=' or '/' are common and cannot be misread. */
static int param_next(const char **sp, const char *end, param *pr, const char **why) {
    const char *s = *sp;
    int rc = -1;
    for (;;) {
        while (s < end && is_ows(*s))
            s++;
        if (s == end) {
            rc = 0;
            goto out;
        }
        if (*s != ';') {
            *why = "';' expected between parameters";
            goto out;
        }
        s++;
        while (s < end && is_ows(*s))
            s++;
        if (s < end && *s != ';') break;
    }
    const char *n0 = s;
    while (s < end && is_tchar(*s))
        s++;
    pr->name = (span){n0, (size_t)(s - n0)};
    if (!pr->name.n) {
        *why = "parameter name expected";
        goto out;
    }
    while (s < end && is_ows(*s))
        s++;
    if (s == end || *s != '=') {
        *why = "'=' expected after a parameter name";
        goto out;
    }
    s++;
    while (s < end && is_ows(*s))
        s++;
    pr->quoted = s < end && *s == '"';
    if (pr->quoted) s++;
    const char *v0 = s;
    while (s < end) {
        if (is_ctl(*s)) {
            *why = "control byte in a parameter value";
            goto out;
        }
        if (pr->quoted) {
            if (*s == '"') break;
            if (*s == '\\' && s + 1 < end) s++; /* quoted-pair: the next byte is literal */
        } else if (is_ows(*s) || *s == ';' || *s == '"') {
            break;
        }
        s++;
    }
    pr->value = (span){v0, (size_t)(s - v0)};
    if (pr->quoted) {
        if (s == end) {
            *why = "unterminated quoted string";
            goto out;
        }
        s++;
    }
    rc = 1;
out:
    *sp = s;
    return rc;
}

/* Writes pr's value with backslash escapes resolved to dst (at most cap
 * bytes); returns the full decoded length, which never exceeds value.n. */
static size_t unquote(const param *pr, char *dst, size_t cap) {
    size_t n = 0;
    for (size_t k = 0; k < pr->value.n; k++) {
        char c = pr->value.s[k];
        if (pr->quoted && c == '\\' && k + 1 < pr->value.n) c = pr->value.s[++k];
        if (n < cap) dst[n] = c;
        n++;
    }
    return n;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes an RFC 8187 ext-value (charset'language'value, the value
 * percent-encoded) in place to UTF-8. In place is safe: every input unit
 * writes at most as many bytes as it reads (%XX in ISO-8859-1 is 3 in, at
 * most 2 out). Returns the new length, or -1 with *why set. Besides '%' any
 * printable ASCII byte is taken literally, a little looser than attr-char, so
 * a sender that forgets to encode '(' is not refused; bytes that must be
 * encoded (space, controls, non-ASCII) are refused because their meaning
 * would depend on the charset. */
static long decode_ext_value(char *s, size_t n, const char **why) {
    long rc = -1;
    char *q1 = memchr(s, '\'', n);
    char *q2 = q1 ? memchr(q1 + 1, '\'', n - (size_t)(q1 + 1 - s)) : NULL;
    if (!q2) {
        *why = "filename* is not charset'language'value";
        goto out;
    }
    span charset = {s, (size_t)(q1 - s)};
    int utf8 = span_ieq(charset, "UTF-8");
    if (!utf8 && !span_ieq(charset, "ISO-8859-1")) {
        *why = "filename* charset is not UTF-8 or ISO-8859-1";
        goto out;
    }
    size_t o = 0;
    for (size_t k = (size_t)(q2 + 1 - s); k < n; k++) {
        unsigned char b = (unsigned char)s[k];
        if (b == '%') {
            int h = k + 2 < n ? hexval(s[k + 1]) : -1, l = k + 2 < n ? hexval(s[k + 2]) : -1;
            if (h < 0 || l < 0) {
                *why = "filename* has a bad percent escape";
                goto out;
            }
            b = (unsigned char)(h * 16 + l);
            k += 2;
            if (b == 0) {
                *why = "filename* decodes to a NUL byte";
                goto out;
            }
        } else if (b <= 0x20 || b >= 0x7f) {
            *why = "filename* has a byte that must be percent-encoded";
            goto out;
        }
        if (utf8 || b < 0x80) {
            s[o++] = (char)b;
        } else {
            s[o++] = (char)(0xc0 | (b >> 6));
            s[o++] = (char)(0x80 | (b & 0x3f));
        }
    }
    for (size_t k = 0; k < o;) {
        size_t l = utf8_len((const uint8_t *)s + k, o - k);
        if (!l) {
            *why = "filename* is not valid UTF-8";
            goto out;
        }
        k += l;
    }
    rc = (long)o;
out:
    return rc;
}

/* ---- life cycle ----------------------------------------------------------- */

void multipart_limits_default(multipart_limits *l) {
    l->max_parts = 64;
    l->max_header_bytes = 8192;
}

/* Checks the request's Content-Type and copies the boundary to b (room for
 * MULTIPART_BOUNDARY_MAX bytes). The reasons never quote the header: it is
 * client input and ends up in logs. */
static lore_status parse_content_type(const char *ct, char *b, size_t *blen, char *err,
                                      size_t errlen) {
    lore_status st = LORE_UNSUPPORTED;
    const char *why = "not multipart/form-data", *s, *end;
    int seen = 0, rc;
    param pr;
    span type, sub;
    if (!ct) {
        why = "missing";
        goto out;
    }
    s = ct, end = ct + strlen(ct);
    while (s < end && is_ows(*s))
        s++;
    type.s = s;
    while (s < end && is_tchar(*s))
        s++;
    type.n = (size_t)(s - type.s);
    if (s == end || *s != '/') goto out;
    sub.s = ++s;
    while (s < end && is_tchar(*s))
        s++;
    sub.n = (size_t)(s - sub.s);
    if (!span_ieq(type, "multipart") || !span_ieq(sub, "form-data")) goto out;
    st = LORE_INVALID;
    while ((rc = param_next(&s, end, &pr, &why)) == 1) {
        if (!span_ieq(pr.name, "boundary")) continue;
        if (seen++) {
            why = "boundary parameter given twice";
            goto out;
        }
        *blen = unquote(&pr, b, MULTIPART_BOUNDARY_MAX);
        if (*blen == 0) {
            why = "boundary parameter is empty";
            goto out;
        }
        if (*blen > MULTIPART_BOUNDARY_MAX) {
            why = "boundary is longer than 70 bytes";
            goto out;
        }
        for (size_t k = 0; k < *blen; k++) {
            if (!is_bchar_nospace(b[k]) && b[k] != ' ') {
                why = "boundary has a character RFC 2046 does not allow";
                goto out;
            }
        }
        if (b[*blen - 1] == ' ') {
            why = "boundary ends with a space";
            goto out;
        }
    }
    if (rc < 0) goto out; /* why was set by param_next */
    if (!seen) {
        why = "boundary parameter missing";
        goto out;
    }
    st = LORE_OK;
out:
    if (st != LORE_OK && errlen) snprintf(err, errlen, "Content-Type: %s", why);
    return st;
}

lore_status multipart_new(const char *content_type, const multipart_limits *lim,
                          const multipart_callbacks *cb, void *ctx, multipart_parser **out,
                          char *err, size_t errlen) {
    lore_status st;
    multipart_parser *p = NULL;
    char boundary[MULTIPART_BOUNDARY_MAX];
    size_t blen = 0;
    *out = NULL;
    if (errlen) err[0] = '\0';
    st = parse_content_type(content_type, boundary, &blen, err, errlen);
    if (st != LORE_OK) goto out;
    multipart_limits l;
    multipart_limits_default(&l);
    if (lim) l = *lim;
    if (!l.max_parts || !l.max_header_bytes || l.max_header_bytes > MULTIPART_HEADER_BYTES_MAX) {
        st = LORE_INVALID;
        if (errlen)
            snprintf(err, errlen,
                     "multipart limits: max_parts must be > 0 and max_header_bytes "
                     "in 1..%u",
                     MULTIPART_HEADER_BYTES_MAX);
        goto out;
    }
    st = LORE_NOMEM;
    p = calloc(1, sizeof *p);
    if (!p) goto out;
    /* hdr holds at most max_header_bytes (a CRLF is stored as one byte);
     * vals holds three strings decoded from disjoint pieces of hdr, none
     * longer than its piece, plus their terminators. */
    p->hdr = malloc(l.max_header_bytes + 1);
    p->vals = malloc(l.max_header_bytes + 4);
    if (!p->hdr || !p->vals) goto out;
    p->lim = l;
    if (cb) p->cb = *cb;
    p->ctx = ctx;
    memcpy(p->delim, "\r\n--", 4);
    memcpy(p->delim + 4, boundary, blen);
    p->dlen = 4 + blen;
    p->state = ST_PREAMBLE;
    p->match = 2; /* as if the body started with CRLF: the first boundary may open it */
    p->status = LORE_OK;
    *out = p;
    p = NULL;
    st = LORE_OK;
out:
    if (st == LORE_NOMEM && errlen) snprintf(err, errlen, "out of memory");
    multipart_free(p);
    return st;
}

void multipart_free(multipart_parser *p) {
    if (!p) return;
    free(p->hdr);
    free(p->vals);
    free(p);
}

const char *multipart_error(const multipart_parser *p) {
    return p->err;
}

size_t multipart_part_count(const multipart_parser *p) {
    return p->parts;
}

/* ---- parsing -------------------------------------------------------------- */

/* Records the first failure (the parser refuses input from then on) and
 * returns st. The reason is followed by the body offset. */
__attribute__((format(printf, 4, 5))) static lore_status fail(multipart_parser *p, lore_status st,
                                                              uint64_t off, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->err, sizeof p->err, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof p->err)
        snprintf(p->err + n, sizeof p->err - (size_t)n, " at byte %llu", (unsigned long long)off);
    p->status = st;
    p->state = ST_FAILED;
    return st;
}

static lore_status emit(multipart_parser *p, const uint8_t *data, size_t n, uint64_t off) {
    lore_status st = LORE_OK;
    if (n && p->cb.on_data) st = p->cb.on_data(p->ctx, data, n);
    if (st != LORE_OK) st = fail(p, st, off, "on_data callback returned %s", lore_status_name(st));
    return st;
}

static lore_status end_part(multipart_parser *p, uint64_t off) {
    lore_status st = LORE_OK;
    if (!p->in_part) goto out;
    p->in_part = 0;
    if (p->cb.on_part_end) st = p->cb.on_part_end(p->ctx);
    if (st != LORE_OK)
        st = fail(p, st, off, "on_part_end callback returned %s", lore_status_name(st));
out:
    return st;
}

/* Looks for the delimiter in data[*ip, n) and advances *ip past what it
 * consumed: to n, or to just after the delimiter. In a body, the bytes proven
 * not to start a delimiter go to on_data. */
static lore_status scan(multipart_parser *p, const uint8_t *d, size_t n, size_t *ip) {
    lore_status st = LORE_OK;
    size_t i = *ip, start = i, held = p->match;
    int found = 0;
    while (i < n) {
        if (p->match == 0) {
            const uint8_t *cr = memchr(d + i, '\r', n - i);
            if (!cr) {
                i = n;
                break;
            }
            i = (size_t)(cr - d) + 1;
            p->match = 1;
        } else if (d[i] == p->delim[p->match]) {
            i++;
            if (++p->match == p->dlen) {
                found = 1;
                break;
            }
        } else {
            p->match = 0; /* d[i] is looked at again: it may be the CR of a new match */
        }
    }
    *ip = i;
    if (p->state == ST_BODY) {
        /* What this call saw is delim[0, held) followed by d[start, i); all of
         * it but the delimiter or the bytes still held is body, less the
         * leading `skip` bytes that were never body. */
        size_t seen = held + (i - start), body = seen - (found ? p->dlen : p->match);
        size_t from = p->skip < body ? p->skip : body;
        p->skip -= from;
        if (from < held && from < body) {
            size_t to = body < held ? body : held;
            st = emit(p, p->delim + from, to - from, p->base + i);
            from = to;
        }
        if (st == LORE_OK && from < body)
            st = emit(p, d + start + (from - held), body - from, p->base + i);
    }
    if (st == LORE_OK && found) {
        p->match = 0;
        p->skip = 0;
        p->state = ST_AFTER_DELIM;
    }
    return st;
}

/* Parses the collected header lines of the part that starts now and hands
 * them to on_part. off is the offset of the blank line's LF. */
static lore_status headers_done(multipart_parser *p, uint64_t off) {
    lore_status st = LORE_OK;
    const char *why = NULL, *s = p->hdr, *end = p->hdr + p->hlen;
    span cd = {NULL, 0}, ct = {NULL, 0};
    param pr, pname = {{NULL, 0}, {NULL, 0}, 0}, pfile = pname, pstar = pname;
    int rc;
    while (s < end) {
        const char *eol = memchr(s, '\n', (size_t)(end - s)), *colon = s;
        while (colon < eol && is_tchar(*colon))
            colon++;
        /* No space before the colon (RFC 9110 5.1): "Name : v" is refused
         * like any other line that is not "Name: value". */
        if (colon == s || *colon != ':') {
            why = "header line is not 'Name: value'";
            goto out;
        }
        span name = {s, (size_t)(colon - s)}, value = trim(colon + 1, eol);
        if (span_ieq(name, "Content-Disposition")) {
            if (cd.s) {
                why = "Content-Disposition given twice";
                goto out;
            }
            cd = value;
        } else if (span_ieq(name, "Content-Type")) {
            if (ct.s) {
                why = "Content-Type given twice";
                goto out;
            }
            ct = value;
        }
        s = eol + 1;
    }
    if (!cd.s) {
        why = "no Content-Disposition header";
        goto out;
    }
    s = cd.s, end = cd.s + cd.n;
    span type = {s, 0};
    while (s < end && is_tchar(*s))
        s++;
    type.n = (size_t)(s - type.s);
    if (!span_ieq(type, "form-data")) {
        why = "Content-Disposition type is not form-data";
        goto out;
    }
    while ((rc = param_next(&s, end, &pr, &why)) == 1) {
        param *slot = span_ieq(pr.name, "name")        ? &pname
                      : span_ieq(pr.name, "filename")  ? &pfile
                      : span_ieq(pr.name, "filename*") ? &pstar
                                                       : NULL;
        if (!slot) continue; /* unknown parameters are ignored */
        if (slot->name.s) {
            why = "Content-Disposition repeats a parameter";
            goto out;
        }
        *slot = pr;
    }
    if (rc < 0) goto out; /* why was set by param_next */

    multipart_part part = {
        .index = p->parts, .name = "", .filename = NULL, .content_type = "text/plain"};
    char *v = p->vals;
    size_t vn = 0;
    if (pname.name.s) {
        part.name = v + vn;
        vn += unquote(&pname, v + vn, pname.value.n);
        v[vn++] = '\0';
    }
    if (pstar.name.s) {
        char *f = v + vn;
        long fl = decode_ext_value(f, unquote(&pstar, f, pstar.value.n), &why);
        if (fl < 0) goto out;
        part.filename = f;
        vn += (size_t)fl;
        v[vn++] = '\0';
    } else if (pfile.name.s) {
        part.filename = v + vn;
        vn += unquote(&pfile, v + vn, pfile.value.n);
        v[vn++] = '\0';
    }
    if (ct.n) {
        part.content_type = v + vn;
        memcpy(v + vn, ct.s, ct.n);
        vn += ct.n;
        v[vn++] = '\0';
    }
    p->parts++;
    p->in_part = 1;
    p->state = ST_BODY;
    p->match = 2; /* the blank line's CRLF may be the delimiter's (see the top comment) */
    p->skip = 2;
    if (p->cb.on_part) st = p->cb.on_part(p->ctx, &part);
    if (st != LORE_OK) st = fail(p, st, off, "on_part callback returned %s", lore_status_name(st));
out:
    if (why) st = fail(p, LORE_INVALID, off, "part %zu: %s", p->parts + 1, why);
    return st;
}

/* One byte outside preamble, bodies and epilogue; off is its body offset. */
static lore_status step(multipart_parser *p, uint8_t c, uint64_t off) {
    lore_status st = LORE_OK;
    switch (p->state) {
    case ST_AFTER_DELIM:
        if (c == '-') {
            p->state = ST_CLOSE_DASH;
            break;
        }
        /* fall through */
    case ST_PADDING:
        if (c == ' ' || c == '\t')
            p->state = ST_PADDING;
        else if (c == '\r')
            p->state = ST_DELIM_LF;
        else
            st = fail(p, LORE_INVALID, off, "boundary not followed by CRLF or \"--\"");
        break;
    case ST_DELIM_LF:
        if (c != '\n') {
            st = fail(p, LORE_INVALID, off, "CR not followed by LF after a boundary");
            break;
        }
        st = end_part(p, off);
        if (st != LORE_OK) break;
        if (p->parts >= p->lim.max_parts) {
            st = fail(p, LORE_TOO_LARGE, off, "more than %zu parts", p->lim.max_parts);
            break;
        }
        p->hlen = p->hbytes = p->line_len = 0;
        p->state = ST_HEADER;
        break;
    case ST_CLOSE_DASH:
        if (c != '-') {
            st = fail(p, LORE_INVALID, off, "boundary not followed by CRLF or \"--\"");
            break;
        }
        st = end_part(p, off);
        if (st == LORE_OK) p->state = ST_EPILOGUE;
        break;
    case ST_HEADER:
        if (c == '\n') {
            st = fail(p, LORE_INVALID, off, "part %zu: bare LF in headers (CRLF required)",
                      p->parts + 1);
            break;
        }
        if (c != '\r' && is_ctl((char)c)) {
            st = fail(p, LORE_INVALID, off, "part %zu: control byte 0x%02x in headers",
                      p->parts + 1, c);
            break;
        }
        if (p->line_len == 0 && is_ows((char)c)) {
            st = fail(p, LORE_INVALID, off, "part %zu: folded header line", p->parts + 1);
            break;
        }
        if (c == '\r') {
            p->state = ST_HEADER_LF;
            if (p->line_len == 0) break; /* the blank line is not counted */
        }
        if (++p->hbytes > p->lim.max_header_bytes) {
            st = fail(p, LORE_TOO_LARGE, off, "part %zu: headers exceed %zu bytes", p->parts + 1,
                      p->lim.max_header_bytes);
            break;
        }
        if (c != '\r') {
            p->hdr[p->hlen++] = (char)c;
            p->line_len++;
        }
        break;
    case ST_HEADER_LF:
        if (c != '\n') {
            st = fail(p, LORE_INVALID, off, "part %zu: CR not followed by LF in headers",
                      p->parts + 1);
            break;
        }
        if (p->line_len == 0) {
            st = headers_done(p, off);
            break;
        }
        if (++p->hbytes > p->lim.max_header_bytes) {
            st = fail(p, LORE_TOO_LARGE, off, "part %zu: headers exceed %zu bytes", p->parts + 1,
                      p->lim.max_header_bytes);
            break;
        }
        p->hdr[p->hlen++] = '\n';
        p->line_len = 0;
        p->state = ST_HEADER;
        break;
    default: /* the scanning states never get here */
        st = fail(p, LORE_INTERNAL, off, "multipart parser in state %d", (int)p->state);
        break;
    }
    return st;
}

lore_status multipart_feed(multipart_parser *p, const uint8_t *data, size_t len) {
    lore_status st = p->status;
    size_t i = 0;
    if (st != LORE_OK) goto out;
    p->base = p->off;
    while (st == LORE_OK && i < len) {
        switch (p->state) {
        case ST_PREAMBLE:
        case ST_BODY:
            st = scan(p, data, len, &i);
            break;
        case ST_EPILOGUE:
            i = len;
            break;
        default:
            st = step(p, data[i], p->base + i);
            i++;
            break;
        }
    }
    p->off += len;
out:
    return st;
}

lore_status multipart_finish(multipart_parser *p) {
    lore_status st = p->status;
    if (st != LORE_OK || p->state == ST_EPILOGUE) goto out;
    if (p->state == ST_PREAMBLE)
        st = fail(p, LORE_INVALID, p->off, "truncated: no boundary line in the body");
    else if (p->state == ST_HEADER || p->state == ST_HEADER_LF)
        st = fail(p, LORE_INVALID, p->off, "truncated: body ends in the headers of part %zu",
                  p->parts + 1);
    else if (p->state == ST_BODY)
        st = fail(p, LORE_INVALID, p->off, "truncated: body ends in part %zu", p->parts);
    else
        st = fail(p, LORE_INVALID, p->off, "truncated: body ends in a boundary line");
out:
    return st;
}

/* ---- file names ----------------------------------------------------------- */

void multipart_safe_filename(const char *in, char *out, size_t outlen) {
    const uint8_t *s = (const uint8_t *)(in ? in : "");
    size_t n = strlen((const char *)s), k = 0, o = 0;
    if (!outlen) return;
    for (size_t j = 0; j < n; j++)
        if (s[j] == '/' || s[j] == '\\') k = j + 1;
    while (k < n) {
        size_t l = utf8_len(s + k, n - k);
        int drop = l == 0 || (l == 1 && (s[k] < 0x20 || s[k] == 0x7f)) || (o == 0 && s[k] == '.');
        if (drop) {
            k++;
            continue;
        }
        if (l > outlen - 1 - o) break; /* would not fit whole */
        memcpy(out + o, s + k, l);
        o += l;
        k += l;
    }
    if (o == 0) {
        static const char dflt[] = "upload";
        o = sizeof dflt - 1 < outlen - 1 ? sizeof dflt - 1 : outlen - 1;
        memcpy(out, dflt, o);
    }
    out[o] = '\0';
}
