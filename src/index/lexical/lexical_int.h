/* Internals of lore's segmented BM25 index (index_lexical_bm25).
 *
 * Layout in the store's key-value namespaces:
 *
 *   STORE_NS_LEXICAL_META  "meta" -> lex_meta, little-endian:
 *       u32 format (1), u32 title_weight, u32 next_segment,
 *       i64 live_chunks, i64 total_len, u32 nsegments,
 *       nsegments x { u32 id, i64 min_chunk, i64 max_chunk, i64 chunks,
 *                     i64 deleted }            (ascending chunk ranges)
 *   STORE_NS_LEXICAL       be32(segment) . u8 field . term -> posting list
 *                          (postings.h)
 *   STORE_NS_LEXICAL_DELETED be64(chunk id) -> ""  tombstones of chunks
 *                          removed from written segments
 *
 * Those are slot A; slot B has the same layout in STORE_NS_LEXICAL_B,
 * STORE_NS_LEXICAL_META_B and STORE_NS_LEXICAL_DELETED_B. Which slot is live
 * (and the rebuild filling the other, if any) is in
 *
 *   STORE_NS_LEXICAL_CONTROL "slots" -> lex_control, little-endian:
 *       u32 format (1), u32 live slot (0 = A, 1 = B), u32 flags,
 *       u32 title_weight of the rebuild, i64 cursor (last chunk copied)
 *       (absent: slot A is live, no rebuild)
 *   STORE_NS_LEXICAL_REBUILD_LENGTHS be64(chunk id) -> u32 length the live
 *       slot scored, for chunks whose stored nterms the rebuild rewrote
 *
 * (lexical_rebuild.c). A batch of added chunks becomes one segment. Chunk ids only grow, so
 * segments cover disjoint ascending id ranges; a term's full posting list is
 * the concatenation of its lists in segment order, and merging adjacent
 * segments is a concatenation that drops tombstoned chunks. */
#ifndef LORE_INDEX_LEXICAL_INT_H
#define LORE_INDEX_LEXICAL_INT_H

#include "index/lexical/index_lexical.h"
#include "index/lexical/postings.h"
#include "text/analyzer.h"
#include "util/strmap.h"

typedef struct lex_segment {
    uint32_t id;
    int64_t min_chunk, max_chunk;
    int64_t chunks;  /* chunks written into the segment */
    int64_t deleted; /* of those, tombstoned since */
} lex_segment;

typedef struct lex_meta {
    uint32_t title_weight;
    uint32_t next_segment;
    int64_t live_chunks;
    int64_t total_len;
    lex_segment *segs;
    size_t nsegs, cap;
} lex_meta;

/* The namespaces of one slot. */
typedef struct lex_ns {
    int postings, meta, deleted;
} lex_ns;

#define LEX_CTL_BUILDING 1u /* a rebuild fills the other slot */
#define LEX_CTL_CLEANING 2u /* the other slot holds data to delete first */

typedef struct lex_control {
    uint32_t live; /* 0: slot A, 1: slot B */
    uint32_t flags;
    uint32_t build_weight; /* title_weight of the slot being built */
    int64_t cursor;        /* last chunk id copied into it */
} lex_control;

typedef struct lex_plist {
    posting *p;
    uint32_t n, cap;
} lex_plist;

typedef struct lex_index {
    store_tenant *t;
    lex_params params;
    text_analyzer *an;
    lex_ns ns; /* the slot this index reads and writes */
    lex_meta meta;
    int in_batch;

    /* On the handle open() returns: the control record as of begin, and
     * while a rebuild runs, the index of the slot being built (written in
     * the same batches; its own build is NULL). */
    lex_control ctl;
    struct lex_index *build;

    /* The batch being written: postings per (field, term). */
    strmap terms;
    lex_plist *lists;
    size_t lists_cap;
    size_t buffered;
    int64_t w_first, w_last; /* chunk ids added to the buffer (0 when empty) */
    int64_t w_added;
    i64set w_deleted; /* buffered chunks removed again before the write */
    int64_t *tombs;   /* chunks removed from written segments */
    size_t ntombs, tombs_cap;

    /* Scratch for one chunk's terms. */
    strmap chunk_terms;
    uint32_t *tf_all, *tf_title;
    size_t tf_cap;
    int cur_field;
    uint32_t cur_len;
    lore_buf key, val;
} lex_index;

#define LEX_SEG_KEY 4 /* be32 segment id */

void lex_be32(uint8_t *p, uint32_t v);
void lex_be64(uint8_t *p, uint64_t v);

/* The namespaces of slot 0 (A) or 1 (B). */
lex_ns lex_slot_ns(uint32_t slot);

/* Opens the index of one slot (no rebuild state); lex_index_free frees it. */
LORE_MUST_CHECK lore_status lex_index_new(store_tenant *t, const lex_params *p, lex_ns ns,
                                          lex_index **out);
void lex_index_free(lex_index *x);
/* Forgets the buffered batch. */
void lex_writer_clear(lex_index *x);
/* The add operation (ops->add) of one slot. */
LORE_MUST_CHECK lore_status lex_add(void *state, int64_t chunk_id, const char *title,
                                    size_t title_len, const char *text, size_t text_len,
                                    uint32_t *nterms);
/* Removes a chunk from this index only. */
LORE_MUST_CHECK lore_status lex_remove_one(lex_index *x, int64_t chunk_id, uint32_t nterms);
/* Writes the batch: the buffered segment, tombstones, merges, meta. */
LORE_MUST_CHECK lore_status lex_write_batch(lex_index *x);

LORE_MUST_CHECK lore_status lex_meta_load(store_tenant *t, int ns, const lex_params *p,
                                          lex_meta *m);
LORE_MUST_CHECK lore_status lex_meta_save(store_tenant *t, int ns, const lex_meta *m);
void lex_meta_free(lex_meta *m);
/* Index of the segment whose range holds chunk, or -1. */
long lex_meta_find(const lex_meta *m, int64_t chunk);

/* Adds the tombstoned chunk ids in [lo, hi] (namespace ns) to set. */
LORE_MUST_CHECK lore_status lex_tombstones_load(store_tenant *t, int ns, int64_t lo, int64_t hi,
                                                i64set *set);
/* Writes the batch's pending tombstones and forgets them. */
LORE_MUST_CHECK lore_status lex_tombstones_write(lex_index *x);

/* Writes the buffered postings as a new segment. */
LORE_MUST_CHECK lore_status lex_write_segment(lex_index *x);
/* Merges segments while the merge policy asks for it. */
LORE_MUST_CHECK lore_status lex_merge_policy(lex_index *x);
/* Merges segs[first, first+count) into one. */
LORE_MUST_CHECK lore_status lex_merge(lex_index *x, size_t first, size_t count);

LORE_MUST_CHECK lore_status lex_search(lex_index *x, const lex_query *q, lex_result *out);

/* ---- rebuild (lexical_rebuild.c) ---- */

/* Reads the control record (defaults when absent). */
LORE_MUST_CHECK lore_status lex_control_load(store_tenant *t, lex_control *c);
/* The namespaces of the live slot, read from the store now. */
LORE_MUST_CHECK lore_status lex_live_ns(store_tenant *t, lex_ns *ns);
/* At begin: reads the control record into x->ctl, points x at the live slot
 * and, while a rebuild copies chunks, opens and begins x->build. */
LORE_MUST_CHECK lore_status lex_rebuild_begin(lex_index *x);
/* remove() while a rebuild runs: removes the chunk from both slots when the
 * rebuild has copied it. */
LORE_MUST_CHECK lore_status lex_rebuild_remove(lex_index *x, int64_t chunk_id, uint32_t nterms);
LORE_MUST_CHECK lore_status lex_rebuild_start(void *state);
LORE_MUST_CHECK lore_status lex_rebuild_step(void *state, size_t max_chunks, int *finished,
                                             uint64_t *copied);
LORE_MUST_CHECK lore_status lex_rebuild_status(void *state, int *running, int64_t *cursor);

#endif
