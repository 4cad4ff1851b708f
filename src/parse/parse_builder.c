/* Shared parser internals: document builder, UTF-8 repair, result lists. */
#include "parse/parse_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pb_init(parse_builder *b, size_t max_text) {
    lore_buf_init(&b->text, max_text);
    b->blocks = NULL;
    b->nblocks = 0;
    b->cap = 0;
}

void pb_free(parse_builder *b) {
    lore_buf_free(&b->text);
    free(b->blocks);
    b->blocks = NULL;
    b->nblocks = b->cap = 0;
}

static int is_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

lore_status pb_add_block(parse_builder *b, parse_block_kind kind, uint8_t level, const char *s,
                         size_t len) {
    while (len && is_space((unsigned char)s[len - 1]))
        len--;
    if (kind == PARSE_BLOCK_CODE) {
        /* Code keeps the indentation of its first line: drop blank lines only. */
        size_t cut = 0;
        for (size_t i = 0; i < len && is_space((unsigned char)s[i]); i++)
            if (s[i] == '\n') cut = i + 1;
        s += cut, len -= cut;
    } else {
        while (len && is_space((unsigned char)s[0]))
            s++, len--;
    }
    if (!len) return LORE_OK;
    size_t clean_len;
    char *clean = parse_utf8_repair(s, len, &clean_len);
    if (!clean) return LORE_NOMEM;
    lore_status st = LORE_OK;
    if (clean_len == 0) goto out;
    if (b->nblocks == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 16;
        parse_block *nb = realloc(b->blocks, ncap * sizeof *nb);
        if (!nb) {
            st = LORE_NOMEM;
            goto out;
        }
        b->blocks = nb;
        b->cap = ncap;
    }
    size_t sep = b->text.len ? 2 : 0;
    if (b->text.len + sep + clean_len > UINT32_MAX) {
        st = LORE_TOO_LARGE;
        goto out;
    }
    st = lore_buf_reserve(&b->text, sep + clean_len);
    if (st != LORE_OK) goto out;
    if (sep && (st = lore_buf_append(&b->text, "\n\n", 2)) != LORE_OK) goto out;
    parse_block *blk = &b->blocks[b->nblocks++];
    blk->kind = kind;
    blk->level = kind == PARSE_BLOCK_HEADING ? (level < 1 ? 1 : level > 6 ? 6 : level) : 0;
    blk->off = (uint32_t)b->text.len;
    blk->len = (uint32_t)clean_len;
    st = lore_buf_append(&b->text, clean, clean_len); /* cannot fail: reserved above */
out:
    free(clean);
    return st;
}

lore_status pb_finish(parse_builder *b, parse_doc *doc) {
    doc->text_len = b->text.len;
    doc->text = lore_buf_take(&b->text);
    if (!doc->text) return LORE_NOMEM;
    doc->blocks = b->blocks;
    doc->nblocks = b->nblocks;
    b->blocks = NULL;
    b->nblocks = b->cap = 0;
    return LORE_OK;
}

parse_doc *parse_result_add(parse_result *r) {
    /* Grow geometrically: capacity is the next power of two >= ndocs. */
    size_t n = r->ndocs;
    if ((n & (n - 1)) == 0) {
        size_t ncap = n ? n * 2 : 1;
        parse_doc *nd = realloc(r->docs, ncap * sizeof *nd);
        if (!nd) return NULL;
        r->docs = nd;
    }
    parse_doc *d = &r->docs[r->ndocs++];
    memset(d, 0, sizeof *d);
    return d;
}

void parse_doc_clear(parse_doc *d) {
    free(d->external_id);
    free(d->title);
    free(d->url);
    free(d->author);
    free(d->metadata_json);
    for (size_t i = 0; i < d->nacl; i++)
        free(d->acl[i]);
    free(d->acl);
    free(d->text);
    free(d->blocks);
    memset(d, 0, sizeof *d);
}

void parse_result_free(parse_result *r) {
    if (!r) return;
    for (size_t i = 0; i < r->ndocs; i++)
        parse_doc_clear(&r->docs[i]);
    free(r->docs);
    free(r->note);
    free(r);
}

/* Length of the valid UTF-8 sequence starting at s (1..4), or 0 if invalid.
 * Rejects overlongs, surrogates and code points above U+10FFFF. */
static size_t utf8_seq_len(const unsigned char *s, size_t avail) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t n;
    unsigned min;
    unsigned cp;
    if ((c & 0xe0) == 0xc0)
        n = 2, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0)
        n = 3, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0)
        n = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (avail < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

size_t parse_utf8_valid_prefix(const char *s, size_t len) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_seq_len(u + i, len - i);
        if (!n) break;
        i += n;
    }
    return i;
}

char *parse_utf8_repair(const char *s, size_t len, size_t *outlen) {
    const unsigned char *u = (const unsigned char *)s;
    /* Worst case every byte becomes the 3-byte replacement character. */
    if (len > (SIZE_MAX - 1) / 3) return NULL;
    char *out = malloc(len * 3 + 1);
    if (!out) return NULL;
    size_t o = 0, i = 0;
    while (i < len) {
        if (u[i] - 1u < 0x7fu) { /* ASCII other than NUL: the common case */
            out[o++] = (char)u[i++];
            continue;
        }
        size_t n = utf8_seq_len(u + i, len - i);
        if (n == 1 && u[i] == 0) {
            i++; /* NUL bytes would truncate C strings downstream */
        } else if (n) {
            memcpy(out + o, u + i, n);
            o += n;
            i += n;
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    out[o] = '\0';
    if (outlen) *outlen = o;
    return out;
}

char *parse_strdup_clean(const char *s, size_t len) {
    if (!s || !len) return NULL;
    return parse_utf8_repair(s, len, NULL);
}

void parse_set_error(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

char *parse_title_from_name(const char *name) {
    if (!name || !*name) return NULL;
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    return parse_strdup_clean(base, n);
}
