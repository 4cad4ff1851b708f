/* Chunker internals shared with the tests and the fuzz target: the limits of
 * a forced cut, a variant of chunk_document that reports how much work it
 * did (so tests can prove linear time without a wall clock), and an
 * invariant checker written independently of the chunker. Not part of the
 * module's contract (see chunk.h). */
#ifndef LORE_CHUNK_INT_H
#define LORE_CHUNK_INT_H

#include <stdint.h>
#include "chunk/chunk.h"

/* A run of non-whitespace longer than this many bytes, or worth more than
 * this many tokens, may be cut at a UTF-8 boundary when a chunk needs to end
 * inside it (the "one giant word" last resort). */
#define CHUNK_PIECE_BYTES 64
#define CHUNK_PIECE_TOKENS 8

/* Heading components of a section path are cut to this many bytes and the
 * whole path to CHUNK_PATH_MAX, both on UTF-8 boundaries. */
#define CHUNK_HEADING_MAX 200
#define CHUNK_PATH_MAX 1024

/* Options after clamping to sane values (see chunk.c): max_tokens >= 16,
 * 8 <= target_tokens <= max_tokens, min_tokens <= target_tokens,
 * overlap_tokens <= target_tokens / 3. NULL means the defaults. */
void chunk_options_normalize(const chunk_options *in, chunk_options *out);

/* chunk_document, and adds to *work (if non-NULL) the number of bytes and
 * window slots it scanned. */
LORE_MUST_CHECK lore_status chunk_document_ex(const parse_doc *doc, const chunk_options *opt,
                                              chunk_list **out, uint64_t *work);

#endif
