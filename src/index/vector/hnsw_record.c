/* Records of the HNSW index (format in hnsw.h): the header, one record per
 * node, and loading a graph back from them without computing a distance.
 * Every field read from a record is checked before use. */
#include "index/vector/hnsw_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HNSW_MAGIC 0x574e484cu
#define HNSW_VERSION 1
#define NODE_HEAD 20

static void put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get16(const uint8_t *p) {
    return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p) {
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}
static uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static float bitsf(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

void hnsw_header_encode(const hnsw *h, uint8_t out[HNSW_HEADER_BYTES]) {
    memset(out, 0, HNSW_HEADER_BYTES);
    put32(out, HNSW_MAGIC);
    out[4] = HNSW_VERSION;
    out[5] = (uint8_t)h->p.metric;
    put16(out + 6, (uint16_t)h->p.M);
    put32(out + 8, h->p.dims);
    put32(out + 12, h->p.ef_construction);
    put32(out + 16, h->p.ef_search);
    put32(out + 20, h->entry);
    out[24] = (uint8_t)h->max_level;
    put32(out + 28, h->slots);
    put64(out + 32, h->rng);
}

size_t hnsw_node_record_size(const hnsw *h, uint32_t node) {
    if (node >= h->slots || !(h->flags[node] & NODE_USED)) return 0;
    size_t sz = NODE_HEAD + h->p.dims;
    for (int lc = 0; lc <= h->level[node]; lc++)
        sz += 2 + 4 * (size_t)hnsw_links(h, node, lc)[0];
    return sz;
}

lore_status hnsw_node_encode(const hnsw *h, uint32_t node, uint8_t *out, size_t cap, size_t *len) {
    size_t sz = hnsw_node_record_size(h, node);
    *len = sz;
    if (!sz) return LORE_NOT_FOUND;
    if (cap < sz) return LORE_TOO_LARGE;
    out[0] = HNSW_VERSION;
    out[1] = (h->flags[node] & NODE_TOMB) ? 1 : 0;
    out[2] = h->level[node];
    out[3] = 0;
    put64(out + 4, (uint64_t)h->ids[node]);
    put32(out + 12, fbits(hnsw_scale(h, node)));
    put32(out + 16, h->p.dims);
    uint8_t *p = out + NODE_HEAD;
    for (int lc = 0; lc <= h->level[node]; lc++) {
        const uint32_t *l = hnsw_links(h, node, lc);
        put16(p, (uint16_t)l[0]);
        p += 2;
        for (uint32_t i = 0; i < l[0]; i++, p += 4)
            put32(p, l[1 + i]);
    }
    memcpy(p, hnsw_vec8(h, node), h->p.dims);
    return LORE_OK;
}

/* Reads a header into p and the graph state; LORE_CORRUPT if out of range. */
static lore_status header_read(const uint8_t *hdr, size_t len, hnsw_params *p, uint32_t *entry,
                               uint32_t *slots, uint64_t *rng) {
    if (!hdr || len != HNSW_HEADER_BYTES || get32(hdr) != HNSW_MAGIC || hdr[4] != HNSW_VERSION)
        return LORE_CORRUPT;
    hnsw_params_default(p, get32(hdr + 8), (hnsw_metric)hdr[5]);
    p->M = get16(hdr + 6);
    p->ef_construction = get32(hdr + 12);
    p->ef_search = get32(hdr + 16);
    *entry = get32(hdr + 20), *slots = get32(hdr + 28), *rng = get64(hdr + 32);
    if (hdr[24] > HNSW_MAX_LEVEL || hdr[25] || get16(hdr + 26) || *slots > HNSW_MAX_NODES ||
        (*entry != HNSW_NONE && *entry >= *slots) || *rng == 0)
        return LORE_CORRUPT;
    return LORE_OK;
}

lore_status hnsw_load_begin(const uint8_t *hdr, size_t len, int keep_float, hnsw **out) {
    *out = NULL;
    hnsw_params p;
    uint32_t entry, slots;
    uint64_t rng;
    if (header_read(hdr, len, &p, &entry, &slots, &rng) != LORE_OK) return LORE_CORRUPT;
    p.keep_float = keep_float;
    hnsw *h;
    if (hnsw_new(&p, &h, NULL) != LORE_OK) return LORE_CORRUPT;
    h->entry = entry, h->max_level = hdr[24], h->rng = rng;
    h->load_slots = slots;
    *out = h;
    return LORE_OK;
}

lore_status hnsw_load_header(hnsw *h, const uint8_t *hdr, size_t len) {
    hnsw_params p;
    uint32_t entry, slots;
    uint64_t rng;
    if (header_read(hdr, len, &p, &entry, &slots, &rng) != LORE_OK || p.dims != h->p.dims ||
        p.metric != h->p.metric || p.M != h->p.M || slots < h->slots)
        return LORE_CORRUPT;
    h->p.ef_construction = p.ef_construction, h->p.ef_search = p.ef_search;
    h->entry = entry, h->max_level = hdr[24], h->rng = rng;
    h->load_slots = slots;
    return LORE_OK;
}

/* Checks a node record; *level gets its level. */
static lore_status record_check(const hnsw *h, const uint8_t *rec, size_t len, int *level) {
    if (!rec || len < NODE_HEAD + h->p.dims || rec[0] != HNSW_VERSION || (rec[1] & ~1u) ||
        rec[2] > HNSW_MAX_LEVEL || rec[3] || get32(rec + 16) != h->p.dims)
        return LORE_CORRUPT;
    float sc = bitsf(get32(rec + 12));
    if (!isfinite(sc) || sc < 0) return LORE_CORRUPT;
    size_t off = NODE_HEAD;
    for (int lc = 0; lc <= rec[2]; lc++) {
        if (off + 2 > len) return LORE_CORRUPT;
        uint32_t cnt = get16(rec + off);
        if (cnt > hnsw_max_links(h, lc)) return LORE_CORRUPT;
        off += 2 + 4 * (size_t)cnt;
    }
    if (off + h->p.dims != len) return LORE_CORRUPT;
    for (size_t i = off; i < len; i++)
        if ((int8_t)rec[i] == -128) return LORE_CORRUPT;
    *level = rec[2];
    return LORE_OK;
}

lore_status hnsw_load_node(hnsw *h, uint32_t node, const uint8_t *rec, size_t len) {
    int lv;
    if (node >= h->load_slots || record_check(h, rec, len, &lv) != LORE_OK) return LORE_CORRUPT;
    if (node >= h->slots) {
        lore_status st = hnsw_grow(h, node + 1);
        if (st != LORE_OK) return st;
        h->slots = node + 1;
    }
    uint32_t *up = NULL;
    if (lv > 0 && !(up = calloc((size_t)lv * (h->p.M + 1), sizeof *up))) return LORE_NOMEM;
    free(h->upper[node]);
    h->upper[node] = up;
    h->level[node] = (uint8_t)lv;
    h->flags[node] = NODE_USED | (rec[1] & 1 ? NODE_TOMB : 0);
    h->ids[node] = (int64_t)get64(rec + 4);
    hnsw_set_scale(h, node, bitsf(get32(rec + 12)));
    const uint8_t *p = rec + NODE_HEAD;
    for (int lc = 0; lc <= lv; lc++) {
        uint32_t *l = hnsw_links(h, node, lc);
        l[0] = get16(p);
        p += 2;
        for (uint32_t i = 0; i < l[0]; i++, p += 4)
            l[1 + i] = get32(p);
    }
    memcpy(hnsw_vec8(h, node), p, h->p.dims);
    hnsw_pad8(h, node);
    return LORE_OK;
}

lore_status hnsw_load_free(hnsw *h, uint32_t node) {
    if (node >= h->load_slots) return LORE_CORRUPT;
    if (node < h->slots) {
        free(h->upper[node]);
        h->upper[node] = NULL;
        h->flags[node] = 0, h->level[node] = 0;
        hnsw_links(h, node, 0)[0] = 0;
    }
    return LORE_OK;
}

lore_status hnsw_load_float(hnsw *h, uint32_t node, const float *vec) {
    if (!h->p.keep_float || node >= h->slots || !(h->flags[node] & NODE_USED)) return LORE_INVALID;
    float *dst = h->vecf + (size_t)node * h->p.dims;
    lore_status st = hnsw_prepare(h, vec, dst);
    if (st == LORE_OK) h->flags[node] |= NODE_FLOAT;
    return st;
}

/* Every link names a node that exists and reaches the link's level. */
static lore_status links_check(const hnsw *h) {
    for (uint32_t n = 0; n < h->slots; n++) {
        if (!(h->flags[n] & NODE_USED)) continue;
        for (int lc = 0; lc <= h->level[n]; lc++) {
            const uint32_t *l = hnsw_links(h, n, lc);
            for (uint32_t i = 0; i < l[0]; i++) {
                uint32_t t = l[1 + i];
                if (t >= h->slots || t == n || !(h->flags[t] & NODE_USED) || h->level[t] < lc)
                    return LORE_CORRUPT;
            }
        }
    }
    return LORE_OK;
}

static lore_status rebuild_lists(hnsw *h) {
    h->n_live = h->n_tomb = h->n_free = h->map_used = 0;
    if (h->map_cap) memset(h->map_vals, 0xff, h->map_cap * sizeof *h->map_vals);
    for (uint32_t n = 0; n < h->slots; n++) {
        h->flags[n] &= (uint8_t) ~(NODE_DOOMED | NODE_DIRTY);
        if (!(h->flags[n] & NODE_USED)) {
            hnsw_release_slot(h, n);
            h->flags[n] = 0;
            continue;
        }
        if (h->flags[n] & NODE_TOMB) {
            h->n_tomb++;
            continue;
        }
        int r = hnsw_map_put(h, h->ids[n], n);
        if (r < 0) return LORE_NOMEM;
        if (r > 0) return LORE_CORRUPT; /* two live nodes with one id */
        h->n_live++;
    }
    free(h->dirty);
    h->dirty = NULL, h->n_dirty = h->dirty_cap = 0;
    return LORE_OK;
}

lore_status hnsw_load_finish(hnsw *h) {
    lore_status st = links_check(h);
    if (st == LORE_OK) st = rebuild_lists(h);
    if (st != LORE_OK) return st;
    if (h->n_live + h->n_tomb == 0) {
        h->entry = HNSW_NONE, h->max_level = 0;
    } else if (h->entry >= h->slots || !(h->flags[h->entry] & NODE_USED) ||
               h->level[h->entry] != h->max_level) {
        return LORE_CORRUPT;
    }
    h->pass_active = 0;
    return LORE_OK;
}
