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

/* Checks the invariants of a chunk list for doc (see docs/chunking.md):
 * ranges inside the text, strictly increasing starts, every non-whitespace
 * byte covered, ntokens exact and <= max_tokens, overlap only between
 * neighbours of the same section path and at most about 2x overlap_tokens.
 * With strict set (valid UTF-8 text) also: boundaries on UTF-8 sequence
 * starts and never between two letters unless the enclosing
 * whitespace-delimited run is a forced case (longer than CHUNK_PIECE_BYTES or
 * worth more than CHUNK_PIECE_TOKENS tokens). Returns 0, or -1 with a message
 * in err. */
int chunk_check(const parse_doc *doc, const chunk_options *opt, const chunk_list *l, int strict,
                char *err, size_t errlen);

#endif
