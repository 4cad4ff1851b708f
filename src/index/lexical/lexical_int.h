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
 * A batch of added chunks becomes one segment. Chunk ids only grow, so
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

typedef struct lex_plist {
    posting *p;
    uint32_t n, cap;
} lex_plist;

typedef struct lex_index {
    store_tenant *t;
    lex_params params;
    text_analyzer *an;
    lex_meta meta;
    int in_batch;

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

LORE_MUST_CHECK lore_status lex_meta_load(store_tenant *t, const lex_params *p, lex_meta *m);
LORE_MUST_CHECK lore_status lex_meta_save(store_tenant *t, const lex_meta *m);
void lex_meta_free(lex_meta *m);
/* Index of the segment whose range holds chunk, or -1. */
long lex_meta_find(const lex_meta *m, int64_t chunk);

/* Adds the tombstoned chunk ids in [lo, hi] to set. */
LORE_MUST_CHECK lore_status lex_tombstones_load(store_tenant *t, int64_t lo, int64_t hi,
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

#endif
