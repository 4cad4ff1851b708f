/* Rebuilding the index beside the live one (rebuild_start / _step / _status).
 *
 * The index lives in one of two slots (A, B: lexical_int.h). A rebuild
 * fills the other slot from the chunks the store holds, in ascending chunk
 * id order, a bounded number per step, each step in its own batch with the
 * new cursor (the last chunk id copied) saved in the same transaction. So:
 *
 * - searches keep reading the live slot until the switch;
 * - chunks written during the rebuild get ids above the cursor (ids only
 *   grow), so a later step copies them; only removals need mirroring: a
 *   chunk at or below the cursor is removed from both slots (remove() does
 *   it, so callers need not know a rebuild runs);
 * - a step rolled back leaves the cursor where it was: running it again is
 *   safe.
 *
 * Lengths: remove() is handed the length the store holds for a chunk. The
 * rebuilt slot may score a chunk with another length (another
 * title_weight), so a step writes the new length into the store and keeps
 * the one the live slot scored under STORE_NS_LEXICAL_REBUILD_LENGTHS, for
 * removals before the switch. After the switch the store holds the live
 * slot's lengths again, and the saved ones are obsolete.
 *
 * The step that finds no chunk beyond the cursor switches the live slot in
 * its transaction; every handle re-reads the control record at begin,
 * search and stats, so all of them (in any process) read the new slot from
 * that commit on. The old slot's keys, and the saved lengths, are then
 * deleted a bounded number per step; the rebuild is finished when they are
 * gone. A new rebuild first clears the slot it will fill in the same way,
 * so it never builds on leftovers. */
#include "index/lexical/lexical_int.h"

#include <stdlib.h>
#include <string.h>

#define CONTROL_KEY "slots"
#define CONTROL_KEY_LEN 5
#define CONTROL_FORMAT 1
#define CONTROL_BYTES 24
/* Keys (and bytes) deleted per cleaning step, per chunk a step may copy. */
#define CLEAN_KEYS_PER_CHUNK 64
#define CLEAN_BYTES (32u << 20)

static void put_le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

lex_ns lex_slot_ns(uint32_t slot) {
    if (slot)
        return (lex_ns){STORE_NS_LEXICAL_B, STORE_NS_LEXICAL_META_B, STORE_NS_LEXICAL_DELETED_B};
    return (lex_ns){STORE_NS_LEXICAL, STORE_NS_LEXICAL_META, STORE_NS_LEXICAL_DELETED};
}

lore_status lex_control_load(store_tenant *t, lex_control *c) {
    memset(c, 0, sizeof *c);
    lore_buf b;
    lore_buf_init(&b, 1 << 10);
    lore_status st = store_kv_get(t, STORE_NS_LEXICAL_CONTROL, CONTROL_KEY, CONTROL_KEY_LEN, &b);
    if (st == LORE_NOT_FOUND) {
        st = LORE_OK; /* never rebuilt: slot A */
    } else if (st == LORE_OK) {
        const uint8_t *d = (const uint8_t *)b.data;
        if (b.len < CONTROL_BYTES || get_le32(d) != CONTROL_FORMAT || get_le32(d + 4) > 1) {
            st = LORE_CORRUPT;
        } else {
            c->live = get_le32(d + 4);
            c->flags = get_le32(d + 8);
            c->build_weight = get_le32(d + 12);
            c->cursor = (int64_t)((uint64_t)get_le32(d + 16) | (uint64_t)get_le32(d + 20) << 32);
        }
    }
    lore_buf_free(&b);
    return st;
}

static lore_status control_save(lex_index *x) {
    uint8_t d[CONTROL_BYTES];
    const lex_control *c = &x->ctl;
    put_le32(d, CONTROL_FORMAT);
    put_le32(d + 4, c->live);
    put_le32(d + 8, c->flags);
    put_le32(d + 12, c->build_weight);
    put_le32(d + 16, (uint32_t)(uint64_t)c->cursor);
    put_le32(d + 20, (uint32_t)((uint64_t)c->cursor >> 32));
    return store_kv_put(x->t, STORE_NS_LEXICAL_CONTROL, CONTROL_KEY, CONTROL_KEY_LEN, d, sizeof d);
}

lore_status lex_live_ns(store_tenant *t, lex_ns *ns) {
    lex_control c;
    lore_status st = lex_control_load(t, &c);
    if (st == LORE_OK) *ns = lex_slot_ns(c.live);
    return st;
}

/* Opens (or re-reads) the index of the slot being built and begins its
 * batch. It scores with the rebuild's title_weight. */
static lore_status build_open(lex_index *x) {
    lex_params p = x->params;
    p.title_weight = x->ctl.build_weight;
    lex_ns ns = lex_slot_ns(1 - x->ctl.live);
    lore_status st;
    if (!x->build) {
        st = lex_index_new(x->t, &p, ns, &x->build);
    } else {
        lex_writer_clear(x->build);
        x->build->params = p;
        x->build->ns = ns;
        st = lex_meta_load(x->t, ns.meta, &p, &x->build->meta);
    }
    if (st == LORE_OK) x->build->in_batch = 1;
    return st;
}

lore_status lex_rebuild_begin(lex_index *x) {
    if (x->build) {
        lex_writer_clear(x->build);
        x->build->in_batch = 0;
    }
    lore_status st = lex_control_load(x->t, &x->ctl);
    if (st != LORE_OK) return st;
    x->ns = lex_slot_ns(x->ctl.live);
    /* While the other slot is still being cleared nothing has been copied
     * (the cursor is 0), so there is nothing to mirror removals into. */
    if ((x->ctl.flags & LEX_CTL_BUILDING) && !(x->ctl.flags & LEX_CTL_CLEANING))
        return build_open(x);
    return LORE_OK;
}

lore_status lex_rebuild_remove(lex_index *x, int64_t chunk_id, uint32_t nterms) {
    if (chunk_id > x->ctl.cursor) return lex_remove_one(x, chunk_id, nterms); /* not copied */
    /* The store holds the rebuilt slot's length; the live slot's is saved
     * when it differs. */
    uint32_t live_len = nterms;
    uint8_t k[8];
    lex_be64(k, (uint64_t)chunk_id);
    lore_buf b;
    lore_buf_init(&b, 64);
    lore_status st = store_kv_get(x->t, STORE_NS_LEXICAL_REBUILD_LENGTHS, k, sizeof k, &b);
    if (st == LORE_OK) {
        if (b.len == 4)
            live_len = get_le32((const uint8_t *)b.data);
        else
            st = LORE_CORRUPT;
        if (st == LORE_OK) st = store_kv_delete(x->t, STORE_NS_LEXICAL_REBUILD_LENGTHS, k, 8);
    } else if (st == LORE_NOT_FOUND) {
        st = LORE_OK;
    }
    lore_buf_free(&b);
    if (st == LORE_OK) st = lex_remove_one(x->build, chunk_id, nterms);
    if (st == LORE_OK) st = lex_remove_one(x, chunk_id, live_len);
    return st;
}

lore_status lex_rebuild_start(void *state) {
    lex_index *x = state;
    if (!x->in_batch) return LORE_INVALID;
    if (x->ctl.flags & LEX_CTL_BUILDING) return LORE_OK; /* keep the running one */
    /* The slot to fill is cleared first, even if it should be empty: the
     * first step finds out cheaply, and a rebuild never builds on leftovers. */
    x->ctl.flags |= LEX_CTL_BUILDING | LEX_CTL_CLEANING;
    x->ctl.cursor = 0;
    x->ctl.build_weight = x->params.title_weight;
    return control_save(x);
}

lore_status lex_rebuild_status(void *state, int *running, int64_t *cursor) {
    lex_index *x = state;
    lex_control c;
    lore_status st = lex_control_load(x->t, &c);
    *running = st == LORE_OK && (c.flags & (LEX_CTL_BUILDING | LEX_CTL_CLEANING)) != 0;
    *cursor = st == LORE_OK ? c.cursor : 0;
    return st;
}

/* ---- cleaning: deleting a slot's keys in bounded pieces ---- */

typedef struct clean_ctx {
    size_t keys_left, bytes_left;
    size_t n; /* keys taken in this namespace */
    int full; /* the budget is spent: last holds just past the last key taken */
    int more; /* a key beyond the budget exists */
    lore_buf last;
    lore_status st;
} clean_ctx;

/* Takes keys until the budget is spent, then looks at one more, so the
 * piece that deletes the last key knows it did. */
static int clean_key(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen) {
    (void)val;
    clean_ctx *c = ctx;
    if (c->full) {
        c->more = 1;
        return 1;
    }
    c->n++;
    size_t bytes = klen + vlen;
    c->bytes_left = bytes < c->bytes_left ? c->bytes_left - bytes : 0;
    if (c->n < c->keys_left && c->bytes_left) return 0;
    c->full = 1;
    lore_buf_reset(&c->last);
    c->st = lore_buf_append(&c->last, key, klen);
    if (c->st == LORE_OK) c->st = lore_buf_append_byte(&c->last, 0); /* just past key */
    return c->st != LORE_OK;
}

/* Deletes up to a budget of the keys of the slot ns (and the saved
 * lengths); *done when none are left. */
static lore_status clean_piece(lex_index *x, lex_ns ns, size_t max_chunks, int *done) {
    const int order[4] = {ns.meta, ns.deleted, STORE_NS_LEXICAL_REBUILD_LENGTHS, ns.postings};
    clean_ctx c = {.bytes_left = CLEAN_BYTES, .st = LORE_OK};
    c.keys_left =
        max_chunks > SIZE_MAX / CLEAN_KEYS_PER_CHUNK ? SIZE_MAX : max_chunks * CLEAN_KEYS_PER_CHUNK;
    lore_buf_init(&c.last, (1 << 20) + 1);
    lore_status st = LORE_OK;
    *done = 0;
    for (size_t i = 0; i < 4 && st == LORE_OK && !c.more; i++) {
        c.n = 0;
        c.full = !c.keys_left || !c.bytes_left; /* then only: is there any? */
        st = store_kv_scan(x->t, order[i], "", 0, NULL, 0, clean_key, &c);
        if (st == LORE_OK) st = c.st;
        if (st != LORE_OK || !c.n) continue;
        if (c.more)
            st = store_kv_delete_range(x->t, order[i], "", 0, c.last.data, c.last.len);
        else
            st = store_kv_delete_range(x->t, order[i], "", 0, NULL, 0);
        c.keys_left -= c.n; /* never more than keys_left */
    }
    if (st == LORE_OK && !c.more) *done = 1;
    lore_buf_free(&c.last);
    return st;
}

/* ---- copying ---- */

typedef struct relength {
    int64_t chunk;
    uint32_t stored, rebuilt;
} relength;

typedef struct copy_ctx {
    lex_index *b;
    relength *fix; /* chunks the rebuilt slot scores with another length */
    size_t nfix, n;
    int64_t last;
    lore_status st;
} copy_ctx;

static int copy_chunk(void *ctx, int64_t chunk_id, uint32_t nterms, const char *title,
                      size_t title_len, const char *text, size_t text_len) {
    copy_ctx *c = ctx;
    uint32_t len = 0;
    c->st = lex_add(c->b, chunk_id, title, title_len, text, text_len, &len);
    if (c->st != LORE_OK) return 1;
    if (len != nterms) c->fix[c->nfix++] = (relength){chunk_id, nterms, len};
    c->last = chunk_id;
    c->n++;
    return 0;
}

/* Copies up to max chunks above the cursor into the slot being built, as
 * one segment (more if the buffer fills), and moves the cursor. */
static lore_status copy_chunks(lex_index *x, size_t max, uint64_t *copied) {
    copy_ctx c = {.b = x->build, .st = LORE_OK};
    if (!(c.fix = malloc((max < 4096 ? max : 4096) * sizeof *c.fix))) return LORE_NOMEM;
    lore_status st = LORE_OK;
    size_t done = 0;
    /* In rounds of at most 4096, so the length fixes stay bounded too. */
    while (st == LORE_OK && done < max) {
        size_t round = max - done < 4096 ? max - done : 4096;
        c.nfix = c.n = 0;
        st = store_chunk_scan(x->t, x->ctl.cursor, round, copy_chunk, &c);
        if (st == LORE_OK) st = c.st;
        for (size_t i = 0; st == LORE_OK && i < c.nfix; i++) {
            uint8_t k[8], v[4];
            lex_be64(k, (uint64_t)c.fix[i].chunk);
            put_le32(v, c.fix[i].stored);
            st = store_chunk_set_nterms(x->t, c.fix[i].chunk, c.fix[i].rebuilt);
            if (st == LORE_OK)
                st = store_kv_put(x->t, STORE_NS_LEXICAL_REBUILD_LENGTHS, k, 8, v, sizeof v);
        }
        if (st != LORE_OK || !c.n) break;
        x->ctl.cursor = c.last;
        done += c.n;
        if (c.n < round) break;
    }
    free(c.fix);
    *copied = done;
    if (st == LORE_OK && done) st = lex_write_segment(x->build);
    if (st == LORE_OK && done) st = control_save(x);
    return st;
}

/* Makes the built slot the live one; x reads and writes it from now on,
 * x->build points at the old slot (to be cleaned). */
static lore_status switch_slots(lex_index *x) {
    lex_index *b = x->build;
    lore_status st = lex_write_batch(b);
    if (st != LORE_OK) return st;
    x->ctl.live = 1 - x->ctl.live;
    x->ctl.flags = LEX_CTL_CLEANING;
    x->ctl.cursor = 0;
    if ((st = control_save(x)) != LORE_OK) return st;
    /* Whatever this batch buffered for the old slot is dropped: its chunks
     * were copied (or removed) already. */
    lex_writer_clear(x);
    lex_meta_free(&x->meta);
    x->meta = b->meta;
    memset(&b->meta, 0, sizeof b->meta);
    lex_ns old = x->ns;
    x->ns = b->ns;
    b->ns = old;
    lex_writer_clear(b);
    b->in_batch = 0;
    return LORE_OK;
}

lore_status lex_rebuild_step(void *state, size_t max_chunks, int *finished, uint64_t *copied) {
    lex_index *x = state;
    *finished = 0;
    *copied = 0;
    if (!x->in_batch || !max_chunks) return LORE_INVALID;
    lore_status st = LORE_OK;
    int done;
    if (x->ctl.flags & LEX_CTL_CLEANING) {
        /* Before a rebuild copies: leftovers of the slot it fills. */
        st = clean_piece(x, lex_slot_ns(1 - x->ctl.live), max_chunks, &done);
        if (st != LORE_OK || !done) return st;
        x->ctl.flags &= ~LEX_CTL_CLEANING;
        if ((st = control_save(x)) != LORE_OK) return st;
        if ((x->ctl.flags & LEX_CTL_BUILDING) && (st = build_open(x)) != LORE_OK) return st;
    }
    if (x->ctl.flags & LEX_CTL_BUILDING) {
        if ((st = copy_chunks(x, max_chunks, copied)) != LORE_OK || *copied) return st;
        if ((st = switch_slots(x)) != LORE_OK) return st;
        /* After the switch: the old slot's data. */
        st = clean_piece(x, lex_slot_ns(1 - x->ctl.live), max_chunks, &done);
        if (st != LORE_OK || !done) return st;
        x->ctl.flags &= ~LEX_CTL_CLEANING;
        if ((st = control_save(x)) != LORE_OK) return st;
    }
    *finished = 1;
    return LORE_OK;
}
