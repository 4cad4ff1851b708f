/* The chunk invariant checker (tests/support/chunk_check.c): linked into the
 * tests and the fuzz target only, never into lore. */
#ifndef LORE_TEST_SUPPORT_CHUNK_CHECK_H
#define LORE_TEST_SUPPORT_CHUNK_CHECK_H

#include "chunk/chunk_int.h"

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
