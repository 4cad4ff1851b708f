/* Rows of the persisted vector index (layouts in docs/vector-index.md):
 * the control record, a slot's head row, keys, and deleting a slot's rows
 * in bounded steps. Every field read back is checked. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "index/vector/vector_int.h"

static void put16(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
}
static void put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get16(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}
static uint64_t get64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

void vec_node_key(uint32_t node, uint8_t key[4]) {
    for (int i = 0; i < 4; i++)
        key[i] = (uint8_t)(node >> (24 - 8 * i));
}

/* Big-endian with the sign bit flipped: byte order is numeric order. */
void vec_chunk_key(int64_t id, uint8_t key[8]) {
    uint64_t u = (uint64_t)id ^ (1ull << 63);
    for (int i = 0; i < 8; i++)
        key[i] = (uint8_t)(u >> (56 - 8 * i));
}

void vec_log_key(uint64_t gen, uint8_t key[9]) {
    key[0] = 'L';
    for (int i = 0; i < 8; i++)
        key[1 + i] = (uint8_t)(gen >> (56 - 8 * i));
}

uint64_t vec_random64(void) {
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        r = ((uint64_t)ts.tv_sec * 1000000007u + (uint64_t)ts.tv_nsec) * 0x9E3779B97F4A7C15u;
    }
    return r ? r : 1;
}

/* A u16-length-prefixed key string at *off; checks and advances. */
static lore_status get_str(const uint8_t *v, size_t len, size_t *off, char *out) {
    if (*off + 2 > len) return LORE_CORRUPT;
    size_t n = get16(v + *off);
    if (n > VEC_MODEL_KEY_MAX || *off + 2 + n > len) return LORE_CORRUPT;
    memcpy(out, v + *off + 2, n);
    out[n] = '\0';
    if (strlen(out) != n) return LORE_CORRUPT;
    *off += 2 + n;
    return LORE_OK;
}

static lore_status put_str(lore_buf *b, const char *s) {
    uint8_t l[2];
    size_t n = strlen(s);
    put16(l, (uint32_t)n);
    lore_status st = lore_buf_append(b, l, 2);
    return st == LORE_OK ? lore_buf_append(b, s, n) : st;
}

static int slot_ok(int s) {
    return s >= -1 && s <= 1;
}

lore_status vec_control_load(store_tenant *t, vec_control *c, lore_buf *buf) {
    memset(c, 0, sizeof *c);
    c->live = c->build = c->del = -1;
    lore_status st = store_kv_get(t, STORE_NS_VECTOR_CONTROL, VEC_CTL_KEY, 3, buf);
    if (st == LORE_NOT_FOUND) return LORE_OK;
    if (st != LORE_OK) return st;
    const uint8_t *v = (const uint8_t *)buf->data;
    size_t len = buf->len, off = 12;
    if (len < 12 || v[0] != VEC_ROW_VERSION) return LORE_CORRUPT;
    c->live = v[1] == 0xff ? -1 : v[1];
    c->build = v[2] == 0xff ? -1 : v[2];
    c->del = v[3] == 0xff ? -1 : v[3];
    c->cursor = (int64_t)get64(v + 4);
    if (!slot_ok(c->live) || !slot_ok(c->build) || !slot_ok(c->del)) return LORE_CORRUPT;
    if ((st = get_str(v, len, &off, c->live_key)) != LORE_OK ||
        (st = get_str(v, len, &off, c->build_key)) != LORE_OK)
        return st;
    if (off != len) return LORE_CORRUPT;
    if (c->live >= 0 && (c->live == c->build || c->live == c->del)) return LORE_CORRUPT;
    if (c->build >= 0 && c->build == c->del) return LORE_CORRUPT;
    return LORE_OK;
}

lore_status vec_control_save(store_tenant *t, const vec_control *c, lore_buf *buf) {
    uint8_t h[12];
    h[0] = VEC_ROW_VERSION;
    h[1] = c->live < 0 ? 0xff : (uint8_t)c->live;
    h[2] = c->build < 0 ? 0xff : (uint8_t)c->build;
    h[3] = c->del < 0 ? 0xff : (uint8_t)c->del;
    put64(h + 4, (uint64_t)c->cursor);
    lore_buf_reset(buf);
    lore_status st = lore_buf_append(buf, h, sizeof h);
    if (st == LORE_OK) st = put_str(buf, c->live_key);
    if (st == LORE_OK) st = put_str(buf, c->build_key);
    if (st == LORE_OK)
        st = store_kv_put(t, STORE_NS_VECTOR_CONTROL, VEC_CTL_KEY, 3, buf->data, buf->len);
    return st;
}

/* head: u8 version, u8 metric, u16 0, u32 dims, u64 instance, u64 gen,
 * u64 log_min, u16 key length, key, the hnsw header (40 bytes). */
lore_status vec_head_load(store_tenant *t, int slot, vec_head *hd, lore_buf *buf) {
    memset(hd, 0, sizeof *hd);
    lore_status st = store_kv_get(t, vec_ns_meta(slot), VEC_HEAD_KEY, 1, buf);
    if (st != LORE_OK) return st;
    const uint8_t *v = (const uint8_t *)buf->data;
    size_t len = buf->len, off = 32;
    if (len < 32 || v[0] != VEC_ROW_VERSION || (v[1] != HNSW_COSINE && v[1] != HNSW_DOT))
        return LORE_CORRUPT;
    hd->metric = v[1];
    hd->dims = (uint32_t)get64(v + 4) & 0xffffffffu;
    hd->instance = get64(v + 8), hd->gen = get64(v + 16), hd->log_min = get64(v + 24);
    if ((st = get_str(v, len, &off, hd->key)) != LORE_OK) return st;
    if (off + HNSW_HEADER_BYTES != len || hd->dims == 0 || hd->dims > HNSW_MAX_DIMS ||
        hd->log_min > hd->gen + 1)
        return LORE_CORRUPT;
    memcpy(hd->hnsw_hdr, v + off, HNSW_HEADER_BYTES);
    return LORE_OK;
}

lore_status vec_head_save(store_tenant *t, int slot, const vec_head *hd, lore_buf *buf) {
    uint8_t h[32] = {VEC_ROW_VERSION, (uint8_t)hd->metric, 0, 0};
    for (int i = 0; i < 4; i++)
        h[4 + i] = (uint8_t)(hd->dims >> (8 * i));
    put64(h + 8, hd->instance), put64(h + 16, hd->gen), put64(h + 24, hd->log_min);
    lore_buf_reset(buf);
    lore_status st = lore_buf_append(buf, h, sizeof h);
    if (st == LORE_OK) st = put_str(buf, hd->key);
    if (st == LORE_OK) st = lore_buf_append(buf, hd->hnsw_hdr, HNSW_HEADER_BYTES);
    if (st == LORE_OK)
        st = store_kv_put(t, vec_ns_meta(slot), VEC_HEAD_KEY, 1, buf->data, buf->len);
    return st;
}

/* ---- deleting a slot in steps ---- */

#define DEL_KEY_MAX 16

typedef struct del_scan {
    uint8_t (*keys)[DEL_KEY_MAX];
    size_t *lens;
    size_t n, max;
} del_scan;

static int collect(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen) {
    (void)val, (void)vlen;
    del_scan *d = ctx;
    if (d->n == d->max) return 1;
    size_t n = klen < DEL_KEY_MAX ? klen : DEL_KEY_MAX;
    memcpy(d->keys[d->n], key, n);
    d->lens[d->n++] = n;
    return d->n == d->max;
}

lore_status vec_slot_delete_some(store_tenant *t, int slot, size_t budget, int *left) {
    const int ns[3] = {vec_ns_nodes(slot), vec_ns_floats(slot), vec_ns_meta(slot)};
    *left = 0;
    if (budget > 4096) budget = 4096;
    del_scan d = {malloc(budget * DEL_KEY_MAX), malloc(budget * sizeof(size_t)), 0, 0};
    lore_status st = d.keys && d.lens ? LORE_OK : LORE_NOMEM;
    for (int i = 0; i < 3 && st == LORE_OK && budget > 0; i++) {
        d.n = 0, d.max = budget;
        st = store_kv_scan(t, ns[i], "", 0, NULL, 0, collect, &d);
        for (size_t j = 0; j < d.n && st == LORE_OK; j++) {
            if (d.lens[j] >= DEL_KEY_MAX) {
                st = LORE_CORRUPT; /* no row of ours has so long a key */
                break;
            }
            st = store_kv_delete(t, ns[i], d.keys[j], d.lens[j]);
        }
        budget -= d.n;
        if (st == LORE_OK && budget == 0) *left = 1; /* maybe more: look next step */
    }
    free(d.keys), free(d.lens);
    return st;
}
