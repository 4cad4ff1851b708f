/* Posting lists: encoding and cursors.
 *
 * One posting list holds, for one term in one segment, every chunk that
 * contains the term with its term frequency and the chunk's length, in
 * ascending chunk id. On disk (a value in the store's lexical namespace):
 *
 *   u8      format (1)
 *   varint  df            number of postings
 *   varint  max_tf        largest tf in the list
 *   varint  min_len       smallest length in the list
 *   varint  nblocks
 *   nblocks x 16 bytes    block directory, little-endian:
 *       u64 last_doc      chunk id of the block's last posting
 *       u32 offset        byte offset of the block in the data area
 *       u16 max_tf        largest tf in the block (saturated at 65535)
 *       u16 min_len       smallest length in the block (saturated)
 *   data                  per block, up to POSTINGS_BLOCK postings, each
 *       varint doc delta  from the previous posting (the previous block's
 *                         last_doc for a block's first posting, 0 at start)
 *       varint tf
 *       varint len
 *
 * The directory lets a cursor skip whole blocks by chunk id without decoding
 * them, and gives per-block score bounds (max_tf with min_len bounds BM25
 * from above, since BM25 grows with tf and shrinks with length). */
#ifndef LORE_INDEX_LEXICAL_POSTINGS_H
#define LORE_INDEX_LEXICAL_POSTINGS_H

#include <stddef.h>
#include <stdint.h>
#include "util/buf.h"
#include "util/status.h"

#define POSTINGS_BLOCK 128
#define POSTINGS_END INT64_MAX

typedef struct posting {
    int64_t doc;
    uint32_t tf;
    uint32_t len;
} posting;

/* Encodes n postings (ascending doc) into out (appended). */
LORE_MUST_CHECK lore_status postings_encode(const posting *p, size_t n, lore_buf *out);

typedef struct postings_header {
    uint64_t df;
    uint32_t max_tf, min_len;
    uint32_t nblocks;
    const uint8_t *dir;  /* nblocks * 16 bytes */
    const uint8_t *data; /* data area */
    size_t data_len;
} postings_header;

/* Parses and validates the header and directory of a list. Returns
 * LORE_CORRUPT when the bytes are not a well-formed list. */
LORE_MUST_CHECK lore_status postings_parse(const uint8_t *blob, size_t len, postings_header *h);

/* Decodes every posting of a list into out (appended, ascending). */
LORE_MUST_CHECK lore_status postings_decode_all(const postings_header *h, posting **out, size_t *n,
                                                size_t *cap);

typedef struct postings_cursor {
    postings_header h;
    uint32_t block;   /* current block */
    uint32_t nin, i;  /* postings decoded in the current block, index */
    int64_t doc;      /* current chunk id, POSTINGS_END when exhausted */
    uint32_t tf, len; /* of the current posting */
    int corrupt;      /* set when a block failed to decode; the cursor ends */
    int64_t docs[POSTINGS_BLOCK];
    uint32_t tfs[POSTINGS_BLOCK], lens[POSTINGS_BLOCK];
} postings_cursor;

/* Positions c on the first posting of the list. */
void postings_cursor_init(postings_cursor *c, const postings_header *h);
/* Moves to the next posting. */
void postings_cursor_next(postings_cursor *c);
/* Moves to the first posting with doc >= target (no-op if already there). */
void postings_cursor_seek(postings_cursor *c, int64_t target);

/* Block directory accessors. */
int64_t postings_block_last(const postings_header *h, uint32_t b);
uint32_t postings_block_max_tf(const postings_header *h, uint32_t b);
uint32_t postings_block_min_len(const postings_header *h, uint32_t b);

#endif
