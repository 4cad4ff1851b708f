/* Posting list encoding and cursors; the format is described in postings.h.
 * Decoding validates as it goes: a corrupt list ends its cursor early and is
 * reported, it never reads outside the blob. */
#include "index/lexical/postings.h"

#include <stdlib.h>
#include <string.h>

#define DIR_ENTRY 16

static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u16(uint8_t *p, uint32_t v) {
    if (v > 65535) v = 65535;
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}
static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint32_t get_u16(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

lore_status postings_encode(const posting *p, size_t n, lore_buf *out) {
    uint32_t max_tf = 0, min_len = UINT32_MAX;
    for (size_t i = 0; i < n; i++) {
        if (p[i].tf > max_tf) max_tf = p[i].tf;
        if (p[i].len < min_len) min_len = p[i].len;
    }
    if (!n) min_len = 0;
    size_t nblocks = (n + POSTINGS_BLOCK - 1) / POSTINGS_BLOCK;
    lore_status st;
    if ((st = lore_buf_append_byte(out, 1)) != LORE_OK ||
        (st = lore_buf_append_varint(out, n)) != LORE_OK ||
        (st = lore_buf_append_varint(out, max_tf)) != LORE_OK ||
        (st = lore_buf_append_varint(out, min_len)) != LORE_OK ||
        (st = lore_buf_append_varint(out, nblocks)) != LORE_OK)
        return st;
    size_t dir_at = out->len;
    if ((st = lore_buf_reserve(out, nblocks * DIR_ENTRY)) != LORE_OK) return st;
    memset(out->data + dir_at, 0, nblocks * DIR_ENTRY);
    out->len += nblocks * DIR_ENTRY;
    size_t data_at = out->len;
    int64_t prev = 0;
    for (size_t b = 0; b < nblocks; b++) {
        size_t lo = b * POSTINGS_BLOCK, hi = lo + POSTINGS_BLOCK < n ? lo + POSTINGS_BLOCK : n;
        uint32_t bmax = 0, bmin = UINT32_MAX;
        size_t off = out->len - data_at;
        for (size_t i = lo; i < hi; i++) {
            if ((st = lore_buf_append_varint(out, (uint64_t)(p[i].doc - prev))) != LORE_OK ||
                (st = lore_buf_append_varint(out, p[i].tf)) != LORE_OK ||
                (st = lore_buf_append_varint(out, p[i].len)) != LORE_OK)
                return st;
            prev = p[i].doc;
            if (p[i].tf > bmax) bmax = p[i].tf;
            if (p[i].len < bmin) bmin = p[i].len;
        }
        uint8_t *e = (uint8_t *)out->data + dir_at + b * DIR_ENTRY; /* data may have moved */
        put_u64(e, (uint64_t)p[hi - 1].doc);
        put_u32(e + 8, (uint32_t)off);
        put_u16(e + 12, bmax);
        put_u16(e + 14, bmin);
    }
    return LORE_OK;
}

lore_status postings_parse(const uint8_t *blob, size_t len, postings_header *h) {
    memset(h, 0, sizeof *h);
    const uint8_t *p = blob, *end = blob + len;
    uint64_t df, max_tf, min_len, nblocks;
    if (len < 1 || *p++ != 1) return LORE_CORRUPT;
    if (lore_varint_decode(&p, end, &df) || lore_varint_decode(&p, end, &max_tf) ||
        lore_varint_decode(&p, end, &min_len) || lore_varint_decode(&p, end, &nblocks))
        return LORE_CORRUPT;
    if (nblocks != (df + POSTINGS_BLOCK - 1) / POSTINGS_BLOCK) return LORE_CORRUPT;
    if (nblocks > (size_t)(end - p) / DIR_ENTRY) return LORE_CORRUPT;
    h->df = df;
    h->max_tf = max_tf > UINT32_MAX ? UINT32_MAX : (uint32_t)max_tf;
    h->min_len = min_len > UINT32_MAX ? UINT32_MAX : (uint32_t)min_len;
    h->nblocks = (uint32_t)nblocks;
    h->dir = p;
    h->data = p + nblocks * DIR_ENTRY;
    h->data_len = (size_t)(end - h->data);
    for (uint32_t b = 0; b < h->nblocks; b++)
        if (get_u32(h->dir + b * DIR_ENTRY + 8) > h->data_len) return LORE_CORRUPT;
    return LORE_OK;
}

int64_t postings_block_last(const postings_header *h, uint32_t b) {
    return (int64_t)get_u64(h->dir + (size_t)b * DIR_ENTRY);
}
uint32_t postings_block_max_tf(const postings_header *h, uint32_t b) {
    return get_u16(h->dir + (size_t)b * DIR_ENTRY + 12);
}
uint32_t postings_block_min_len(const postings_header *h, uint32_t b) {
    return get_u16(h->dir + (size_t)b * DIR_ENTRY + 14);
}

/* Decodes block b into the cursor's arrays. Returns the count, 0 if corrupt. */
static uint32_t decode_block(postings_cursor *c, uint32_t b) {
    const postings_header *h = &c->h;
    uint32_t n =
        b + 1 < h->nblocks ? POSTINGS_BLOCK : (uint32_t)(h->df - (uint64_t)b * POSTINGS_BLOCK);
    const uint8_t *p = h->data + get_u32(h->dir + (size_t)b * DIR_ENTRY + 8);
    const uint8_t *end = h->data + h->data_len;
    int64_t prev = b ? postings_block_last(h, b - 1) : 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t d, tf, len;
        /* Fast path for the common one-byte varints. */
        if (p + 3 <= end && p[0] < 0x80 && p[1] < 0x80 && p[2] < 0x80) {
            d = p[0], tf = p[1], len = p[2];
            p += 3;
        } else if (lore_varint_decode(&p, end, &d) || lore_varint_decode(&p, end, &tf) ||
                   lore_varint_decode(&p, end, &len)) {
            return 0;
        }
        prev += (int64_t)d;
        c->docs[i] = prev;
        c->tfs[i] = (uint32_t)tf;
        c->lens[i] = (uint32_t)len;
    }
    if (n && c->docs[n - 1] != postings_block_last(h, b)) return 0;
    return n;
}

static void load_block(postings_cursor *c, uint32_t b) {
    c->block = b;
    c->i = 0;
    if (b >= c->h.nblocks) {
        c->nin = 0;
        c->doc = POSTINGS_END;
        return;
    }
    c->nin = decode_block(c, b);
    if (!c->nin) {
        c->corrupt = 1;
        c->doc = POSTINGS_END;
        return;
    }
    c->doc = c->docs[0];
    c->tf = c->tfs[0];
    c->len = c->lens[0];
}

void postings_cursor_init(postings_cursor *c, const postings_header *h) {
    c->h = *h;
    c->corrupt = 0;
    load_block(c, 0);
}

void postings_cursor_next(postings_cursor *c) {
    if (c->doc == POSTINGS_END) return;
    if (++c->i >= c->nin) {
        load_block(c, c->block + 1);
        return;
    }
    c->doc = c->docs[c->i];
    c->tf = c->tfs[c->i];
    c->len = c->lens[c->i];
}

void postings_cursor_seek(postings_cursor *c, int64_t target) {
    if (c->doc >= target) return;
    if (postings_block_last(&c->h, c->block) < target) {
        uint32_t b = c->block + 1;
        while (b < c->h.nblocks && postings_block_last(&c->h, b) < target)
            b++;
        load_block(c, b);
        if (c->doc >= target) return;
    }
    uint32_t i = c->i;
    while (i < c->nin && c->docs[i] < target)
        i++;
    c->i = i;
    c->doc = c->docs[i];
    c->tf = c->tfs[i];
    c->len = c->lens[i];
}

lore_status postings_decode_all(const postings_header *h, posting **out, size_t *n, size_t *cap) {
    if (*n + h->df > *cap) {
        size_t ncap = (*n + h->df) * 2;
        posting *np = realloc(*out, ncap * sizeof *np);
        if (!np) return LORE_NOMEM;
        *out = np;
        *cap = ncap;
    }
    postings_cursor *c = malloc(sizeof *c);
    if (!c) return LORE_NOMEM;
    postings_cursor_init(c, h);
    for (; c->doc != POSTINGS_END; postings_cursor_next(c)) {
        (*out)[*n].doc = c->doc;
        (*out)[*n].tf = c->tf;
        (*out)[*n].len = c->len;
        (*n)++;
    }
    lore_status st = c->corrupt ? LORE_CORRUPT : LORE_OK;
    free(c);
    return st;
}
