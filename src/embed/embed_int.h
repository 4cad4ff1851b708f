/* Embedder internals shared with the tests and the fuzz target: the parser
 * of an OpenAI-compatible answer and the redaction of messages. Not part of
 * the module's contract (see embed.h). */
#ifndef LORE_EMBED_INT_H
#define LORE_EMBED_INT_H

#include <stddef.h>
#include <stdint.h>
#include "util/status.h"

/* Tokens the provider reported (usage.prompt_tokens, usage.total_tokens). */
typedef struct embed_answer_usage {
    uint64_t prompt_tokens, total_tokens;
} embed_answer_usage;

/* Parses the body of a 200 answer to a request of n inputs, strictly:
 * {"data": [{"index": i, "embedding": [numbers]}...], "usage": {...}} with
 * exactly n items, each index in [0, n) once (or no item has an index: then
 * they are in input order), every embedding of length *dims (or, when *dims
 * is 0, of the first one's length, stored in *dims), every number finite.
 * On success *out is n * *dims floats in input order (caller frees).
 * LORE_CORRUPT with err (no provider name: the caller adds it) otherwise. */
LORE_MUST_CHECK lore_status embed_parse_answer(const char *body, size_t len, size_t n,
                                               uint32_t *dims, float **out,
                                               embed_answer_usage *usage, char *err, size_t errlen);

/* The provider's own message in an error body ({"error": {"message": ...}},
 * {"error": "..."}, {"message": ...}, {"detail": ...}), else the body's
 * start, printable ASCII only, at most 200 bytes, into out. */
void embed_error_body(const char *body, size_t len, char *out, size_t outlen);

/* Replaces every occurrence of secret (and anything starting with its
 * first 8 bytes up to the next space) in s by "[redacted]", in place. */
void embed_redact(char *s, size_t size, const char *secret);

#endif
