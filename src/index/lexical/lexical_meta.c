/* The index's meta record (segments and statistics); format in lexical_int.h. */
#include "index/lexical/lexical_int.h"

#include <stdlib.h>
#include <string.h>

#define META_KEY "meta"
#define META_FORMAT 1
#define SEG_BYTES (4 + 8 * 4)

void lex_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void lex_be64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static void put32(lore_buf *b, uint32_t v) {
    uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    memcpy(b->data + b->len, t, 4);
    b->len += 4;
}

static void put64(lore_buf *b, int64_t v) {
    put32(b, (uint32_t)(uint64_t)v);
    put32(b, (uint32_t)((uint64_t)v >> 32));
}

static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int64_t get64(const uint8_t *p) {
    return (int64_t)((uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32);
}

void lex_meta_free(lex_meta *m) {
    free(m->segs);
    memset(m, 0, sizeof *m);
}

lore_status lex_meta_load(store_tenant *t, int ns, const lex_params *p, lex_meta *m) {
    lex_meta_free(m);
    m->title_weight = p->title_weight;
    m->next_segment = 1;
    lore_buf b;
    lore_buf_init(&b, 1 << 26);
    lore_status st = store_kv_get(t, ns, META_KEY, 4, &b);
    if (st == LORE_NOT_FOUND) {
        st = LORE_OK; /* a new index */
        goto out;
    }
    if (st != LORE_OK) goto out;
    const uint8_t *d = (const uint8_t *)b.data;
    st = LORE_CORRUPT;
    if (b.len < 32 || get32(d) != META_FORMAT) goto out;
    m->title_weight = get32(d + 4);
    m->next_segment = get32(d + 8);
    m->live_chunks = get64(d + 12);
    m->total_len = get64(d + 20);
    size_t n = get32(d + 28);
    if (n > (b.len - 32) / SEG_BYTES) goto out;
    st = LORE_NOMEM;
    if (n && !(m->segs = calloc(n, sizeof *m->segs))) goto out;
    m->nsegs = m->cap = n;
    const uint8_t *s = d + 32;
    for (size_t i = 0; i < n; i++, s += SEG_BYTES) {
        m->segs[i].id = get32(s);
        m->segs[i].min_chunk = get64(s + 4);
        m->segs[i].max_chunk = get64(s + 12);
        m->segs[i].chunks = get64(s + 20);
        m->segs[i].deleted = get64(s + 28);
    }
    st = LORE_OK;
out:
    lore_buf_free(&b);
    return st;
}

lore_status lex_meta_save(store_tenant *t, int ns, const lex_meta *m) {
    lore_buf b;
    lore_buf_init(&b, 1 << 26);
    lore_status st = lore_buf_reserve(&b, 32 + m->nsegs * SEG_BYTES);
    if (st != LORE_OK) goto out;
    put32(&b, META_FORMAT);
    put32(&b, m->title_weight);
    put32(&b, m->next_segment);
    put64(&b, m->live_chunks);
    put64(&b, m->total_len);
    put32(&b, (uint32_t)m->nsegs);
    for (size_t i = 0; i < m->nsegs; i++) {
        put32(&b, m->segs[i].id);
        put64(&b, m->segs[i].min_chunk);
        put64(&b, m->segs[i].max_chunk);
        put64(&b, m->segs[i].chunks);
        put64(&b, m->segs[i].deleted);
    }
    st = store_kv_put(t, ns, META_KEY, 4, b.data, b.len);
out:
    lore_buf_free(&b);
    return st;
}

long lex_meta_find(const lex_meta *m, int64_t chunk) {
    size_t lo = 0, hi = m->nsegs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->segs[mid].max_chunk < chunk)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < m->nsegs && m->segs[lo].min_chunk <= chunk) return (long)lo;
    return -1;
}

typedef struct tomb_ctx {
    i64set *set;
    lore_status st;
} tomb_ctx;

static int add_tomb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen) {
    (void)val;
    (void)vlen;
    tomb_ctx *t = ctx;
    if (klen != 8) return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | key[i];
    t->st = i64set_add(t->set, (int64_t)v);
    return t->st != LORE_OK;
}

lore_status lex_tombstones_load(store_tenant *t, int ns, int64_t lo, int64_t hi, i64set *set) {
    uint8_t a[8], b[8];
    lex_be64(a, (uint64_t)lo);
    lex_be64(b, (uint64_t)hi + 1);
    tomb_ctx c = {set, LORE_OK};
    lore_status st = store_kv_scan(t, ns, a, 8, b, 8, add_tomb, &c);
    return st != LORE_OK ? st : c.st;
}

lore_status lex_tombstones_write(lex_index *x) {
    lore_status st = LORE_OK;
    for (size_t i = 0; st == LORE_OK && i < x->ntombs; i++) {
        uint8_t k[8];
        lex_be64(k, (uint64_t)x->tombs[i]);
        st = store_kv_put(x->t, x->ns.deleted, k, 8, "", 0);
    }
    x->ntombs = 0;
    return st;
}
