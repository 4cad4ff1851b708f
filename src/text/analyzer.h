/* The analyzer: the one function that turns text into index terms.
 *
 * Index and query share it, so a word is found exactly when it was indexed
 * the same way. Pipeline: segment the original UTF-8 into words (Unicode
 * categories via utf8proc; an ASCII fast path), normalize each word with
 * NFKC + case folding, split identifiers into parts, drop English stop words,
 * stem plain alphabetic words with the English Snowball stemmer.
 *
 * Identifiers are findable whole and by their parts. For `parse_config_file`,
 * `HttpServerError`, `v1.2.3`, `E1234`, `alice@example.com` and URLs the
 * analyzer emits the whole token (normalized, not stemmed) with the
 * TEXT_TOKEN_WHOLE flag, then each part (stemmed like a plain word, unless it
 * mixes letters and digits) with TEXT_TOKEN_PART. The whole token takes the
 * position of its first part; parts take consecutive positions, so a phrase
 * query over parts ("config file") matches inside the identifier.
 *
 * Scripts without spaces (Han, Hiragana, Katakana, Hangul) are emitted as
 * overlapping bigrams of characters (a lone character as a unigram), each
 * bigram one position, so phrases of those scripts still match in order.
 *
 * Positions: every emitted word or part advances the position by one; a
 * dropped stop word also advances it (so "state of the art" does not match
 * the phrase "state art"). Offsets are byte offsets into the input as given,
 * [start, end) of the word the token came from, for highlighting.
 *
 * Invalid UTF-8 never crashes the analyzer: an invalid byte is a separator. */
#ifndef LORE_TEXT_ANALYZER_H
#define LORE_TEXT_ANALYZER_H

#include <stddef.h>
#include <stdint.h>
#include "util/status.h"

/* The longest term the analyzer emits, in bytes; longer words are cut at a
 * UTF-8 boundary (their offsets still cover the whole word). */
#define TEXT_MAX_TERM 64

enum {
    TEXT_TOKEN_WHOLE = 1, /* a whole identifier that was also split into parts */
    TEXT_TOKEN_PART = 2,  /* one part of such an identifier */
};

typedef struct text_token {
    const char *term; /* NUL-terminated, borrowed: valid only during the callback */
    size_t term_len;
    uint32_t pos;        /* token position, from 0 */
    uint32_t start, end; /* byte range of the source word in the input */
    unsigned flags;      /* TEXT_TOKEN_* */
} text_token;

/* Receives each token in order. Returns 0 to continue, non-zero to stop early
 * (text_analyze then returns LORE_OK). */
typedef int (*text_token_fn)(void *ctx, const text_token *tok);

typedef struct text_analyzer text_analyzer;

/* Creates an analyzer. It holds scratch buffers and a stemmer, so it is not
 * thread-safe: use one per thread. Returns owned; *out is NULL on failure. */
LORE_MUST_CHECK lore_status text_analyzer_new(text_analyzer **out);
void text_analyzer_free(text_analyzer *a);

/* Analyzes text[0, len) (need not be NUL-terminated) and calls fn for each
 * token. Inputs larger than 4 GiB return LORE_TOO_LARGE. */
LORE_MUST_CHECK lore_status text_analyze(text_analyzer *a, const char *text, size_t len,
                                         text_token_fn fn, void *ctx);

/* True when the folded word (as produced by normalization, before stemming)
 * is an English stop word. */
int text_is_stopword(const char *word, size_t len);

#endif
