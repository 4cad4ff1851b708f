/* Segment merging.
 *
 * Policy, applied after every flush (log-tiered, after Lucene's
 * LogMergePolicy): a segment's level is floor(log4(live chunks)); whenever
 * LEX_MERGE_FANIN adjacent segments have levels within one of each other,
 * they merge into one of a higher level. Each posting is therefore rewritten about log4(n / batch)
 * times, and there are at most a few segments per level. Then:
 *   - while there are more than LEX_MAX_SEGMENTS, merge the adjacent pair
 *     with the fewest live chunks;
 *   - rewrite any segment with more than a quarter of its chunks deleted.
 * Only adjacent segments merge, which keeps segments in chunk id order.
 *
 * A merge walks the segments' keys in order, a bounded batch of terms at a
 * time (so memory stays bounded however large the segments are), decodes
 * each term's lists in segment order, drops tombstoned chunks, and writes the
 * concatenation under a new segment id. Then the old segments' keys and the
 * tombstones of their id range are deleted. All inside the caller's
 * transaction: a crash leaves the old segments intact. */
#include "index/lexical/lexical_int.h"

#include <stdlib.h>
#include <string.h>

#define LEX_MAX_SEGMENTS 16
#define LEX_MERGE_FANIN 4
#define BATCH_TERMS 4096
#define BATCH_BYTES (32u << 20)

typedef struct kv_entry {
    uint8_t *key; /* field . term (the segment prefix removed) */
    size_t klen;
    uint8_t *val;
    size_t vlen;
} kv_entry;

typedef struct kv_batch {
    kv_entry *e;
    size_t n, cap, bytes;
    size_t limit_terms; /* 0: no limit */
    int truncated;      /* stopped at the limit */
    lore_status st;
} kv_batch;

static int collect(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen) {
    kv_batch *b = ctx;
    if (klen < LEX_SEG_KEY) return 0;
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 256;
        kv_entry *ne = realloc(b->e, ncap * sizeof *ne);
        if (!ne) {
            b->st = LORE_NOMEM;
            return 1;
        }
        b->e = ne;
        b->cap = ncap;
    }
    kv_entry *e = &b->e[b->n];
    e->klen = klen - LEX_SEG_KEY;
    e->vlen = vlen;
    e->key = malloc(e->klen + 1);
    e->val = malloc(vlen ? vlen : 1);
    if (!e->key || !e->val) {
        free(e->key);
        free(e->val);
        b->st = LORE_NOMEM;
        return 1;
    }
    memcpy(e->key, key + LEX_SEG_KEY, e->klen);
    if (vlen) memcpy(e->val, val, vlen);
    b->n++;
    b->bytes += klen + vlen;
    if (b->limit_terms && (b->n >= b->limit_terms || b->bytes >= BATCH_BYTES)) {
        b->truncated = 1;
        return 1;
    }
    return 0;
}

static void batch_free(kv_batch *b) {
    for (size_t i = 0; i < b->n; i++) {
        free(b->e[i].key);
        free(b->e[i].val);
    }
    free(b->e);
    memset(b, 0, sizeof *b);
}

static int key_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl) {
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c) return c;
    return al < bl ? -1 : al > bl;
}

/* Scans one segment's keys from suffix pos (inclusive) up to suffix hi
 * (inclusive; NULL = to the segment's end). */
static lore_status scan_segment(lex_index *x, uint32_t seg, const uint8_t *pos, size_t poslen,
                                const uint8_t *hi, size_t hilen, kv_batch *b) {
    lore_buf lo, up;
    lore_buf_init(&lo, 1 << 16);
    lore_buf_init(&up, 1 << 16);
    uint8_t sk[LEX_SEG_KEY];
    lex_be32(sk, seg);
    lore_status st;
    if ((st = lore_buf_append(&lo, sk, 4)) != LORE_OK ||
        (st = lore_buf_append(&lo, pos, poslen)) != LORE_OK)
        goto out;
    if (hi) {
        /* [lo, hi . 0x00) includes hi itself and nothing after it. */
        if ((st = lore_buf_append(&up, sk, 4)) != LORE_OK ||
            (st = lore_buf_append(&up, hi, hilen)) != LORE_OK ||
            (st = lore_buf_append_byte(&up, 0)) != LORE_OK)
            goto out;
    } else {
        lex_be32(sk, seg + 1);
        if ((st = lore_buf_append(&up, sk, 4)) != LORE_OK) goto out;
    }
    b->st = LORE_OK;
    st = store_kv_scan(x->t, x->ns.postings, lo.data, lo.len, up.data, up.len, collect, b);
    if (st == LORE_OK) st = b->st;
out:
    lore_buf_free(&lo);
    lore_buf_free(&up);
    return st;
}

/* Merges one batch: the union of keys over the segments' batches. */
static lore_status merge_batch(lex_index *x, uint32_t new_seg, kv_batch *b, size_t nseg,
                               const i64set *dead, posting **buf, size_t *cap) {
    size_t *at = calloc(nseg, sizeof *at);
    if (!at) return LORE_NOMEM;
    lore_status st = LORE_OK;
    for (;;) {
        const kv_entry *min = NULL;
        for (size_t s = 0; s < nseg; s++)
            if (at[s] < b[s].n &&
                (!min || key_cmp(b[s].e[at[s]].key, b[s].e[at[s]].klen, min->key, min->klen) < 0))
                min = &b[s].e[at[s]];
        if (!min) break;
        const uint8_t *key = min->key;
        size_t klen = min->klen;
        size_t n = 0;
        for (size_t s = 0; s < nseg && st == LORE_OK; s++) {
            if (at[s] >= b[s].n) continue;
            const kv_entry *e = &b[s].e[at[s]];
            if (key_cmp(e->key, e->klen, key, klen) != 0) continue;
            postings_header h;
            if ((st = postings_parse(e->val, e->vlen, &h)) == LORE_OK)
                st = postings_decode_all(&h, buf, &n, cap);
        }
        if (st != LORE_OK) break;
        size_t keep = 0;
        for (size_t i = 0; i < n; i++)
            if (!i64set_has(dead, (*buf)[i].doc)) (*buf)[keep++] = (*buf)[i];
        if (keep) {
            uint8_t sk[LEX_SEG_KEY];
            lex_be32(sk, new_seg);
            lore_buf_reset(&x->key);
            lore_buf_reset(&x->val);
            if ((st = lore_buf_append(&x->key, sk, 4)) != LORE_OK ||
                (st = lore_buf_append(&x->key, key, klen)) != LORE_OK ||
                (st = postings_encode(*buf, keep, &x->val)) != LORE_OK ||
                (st = store_kv_put(x->t, x->ns.postings, x->key.data, x->key.len, x->val.data,
                                   x->val.len)) != LORE_OK)
                break;
        }
        /* Advance every segment past this key (key points into one of them,
         * so compare before advancing that one). */
        size_t owner = nseg;
        for (size_t s = 0; s < nseg; s++)
            if (at[s] < b[s].n && &b[s].e[at[s]] == min) owner = s;
        for (size_t s = 0; s < nseg; s++)
            if (s != owner && at[s] < b[s].n &&
                key_cmp(b[s].e[at[s]].key, b[s].e[at[s]].klen, key, klen) == 0)
                at[s]++;
        at[owner]++;
    }
    free(at);
    return st;
}

lore_status lex_merge(lex_index *x, size_t first, size_t count) {
    lex_meta *m = &x->meta;
    lex_segment *segs = m->segs + first;
    uint32_t new_seg = m->next_segment++;
    int64_t lo = segs[0].min_chunk, hi = segs[count - 1].max_chunk;
    i64set dead;
    i64set_init(&dead);
    kv_batch *b = calloc(count, sizeof *b);
    posting *buf = NULL;
    size_t cap = 0;
    uint8_t *pos = NULL, *upper = NULL;
    size_t poslen = 0, upperlen = 0;
    lore_status st = b ? lex_tombstones_load(x->t, x->ns.deleted, lo, hi, &dead) : LORE_NOMEM;
    size_t largest = 0;
    for (size_t s = 1; s < count; s++)
        if (segs[s].chunks > segs[largest].chunks) largest = s;
    while (st == LORE_OK) {
        b[largest].limit_terms = BATCH_TERMS;
        st = scan_segment(x, segs[largest].id, pos, poslen, NULL, 0, &b[largest]);
        if (st != LORE_OK) break;
        int last_batch = !b[largest].truncated;
        free(upper);
        upper = NULL;
        upperlen = 0;
        if (!last_batch) {
            const kv_entry *e = &b[largest].e[b[largest].n - 1];
            if (!(upper = malloc(e->klen + 1))) {
                st = LORE_NOMEM;
                break;
            }
            memcpy(upper, e->key, e->klen);
            upperlen = e->klen;
        }
        for (size_t s = 0; s < count && st == LORE_OK; s++)
            if (s != largest) st = scan_segment(x, segs[s].id, pos, poslen, upper, upperlen, &b[s]);
        if (st == LORE_OK) st = merge_batch(x, new_seg, b, count, &dead, &buf, &cap);
        for (size_t s = 0; s < count; s++)
            batch_free(&b[s]);
        if (st != LORE_OK || last_batch) break;
        /* Continue just after the upper key: upper . 0x00. */
        free(pos);
        if (!(pos = malloc(upperlen + 1))) {
            st = LORE_NOMEM;
            break;
        }
        memcpy(pos, upper, upperlen);
        pos[upperlen] = 0;
        poslen = upperlen + 1;
    }
    for (size_t s = 0; st == LORE_OK && s < count; s++) {
        uint8_t a[4], z[4];
        lex_be32(a, segs[s].id);
        lex_be32(z, segs[s].id + 1);
        st = store_kv_delete_range(x->t, x->ns.postings, a, 4, z, 4);
    }
    if (st == LORE_OK) {
        uint8_t a[8], z[8];
        lex_be64(a, (uint64_t)lo);
        lex_be64(z, (uint64_t)hi + 1);
        st = store_kv_delete_range(x->t, x->ns.deleted, a, 8, z, 8);
    }
    if (st == LORE_OK) {
        int64_t live = 0;
        for (size_t s = 0; s < count; s++)
            live += segs[s].chunks - segs[s].deleted;
        size_t rest = m->nsegs - first - count;
        if (live > 0) {
            segs[0] = (lex_segment){new_seg, lo, hi, live, 0};
            memmove(segs + 1, segs + count, rest * sizeof *segs);
            m->nsegs -= count - 1;
        } else {
            memmove(segs, segs + count, rest * sizeof *segs);
            m->nsegs -= count;
        }
    }
    free(pos);
    free(upper);
    free(buf);
    free(b);
    i64set_free(&dead);
    return st;
}

static int64_t live(const lex_segment *s) {
    return s->chunks - s->deleted;
}

static int level(const lex_segment *s) {
    int l = 0;
    for (int64_t n = live(s); n >= LEX_MERGE_FANIN; n /= LEX_MERGE_FANIN)
        l++;
    return l;
}

/* Start of the newest run of LEX_MERGE_FANIN adjacent segments whose levels
 * differ by at most one (batches of uneven size still find partners), or -1. */
static long tier_run(const lex_meta *m) {
    for (size_t end = m->nsegs; end >= LEX_MERGE_FANIN; end--) {
        size_t first = end - LEX_MERGE_FANIN;
        int lo = level(&m->segs[first]), hi = lo;
        for (size_t i = first + 1; i < end; i++) {
            int l = level(&m->segs[i]);
            lo = l < lo ? l : lo;
            hi = l > hi ? l : hi;
        }
        if (hi - lo <= 1) return (long)first;
    }
    return -1;
}

lore_status lex_merge_policy(lex_index *x) {
    lex_meta *m = &x->meta;
    lore_status st = LORE_OK;
    while (st == LORE_OK) {
        size_t n = m->nsegs;
        long run = tier_run(m);
        if (run >= 0) {
            st = lex_merge(x, (size_t)run, LEX_MERGE_FANIN);
            continue;
        }
        if (n > LEX_MAX_SEGMENTS) {
            size_t best = 0;
            for (size_t i = 1; i + 1 < n; i++)
                if (live(&m->segs[i]) + live(&m->segs[i + 1]) <
                    live(&m->segs[best]) + live(&m->segs[best + 1]))
                    best = i;
            st = lex_merge(x, best, 2);
            continue;
        }
        size_t purge = n;
        for (size_t i = 0; i < n; i++)
            if (m->segs[i].deleted * 4 > m->segs[i].chunks) purge = i;
        if (purge == n) break;
        st = lex_merge(x, purge, 1);
    }
    return st;
}
