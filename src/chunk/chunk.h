/* Chunker: a parsed document's blocks -> chunks for retrieval.
 *
 * Structure first: a heading starts a new section, and chunks never span two
 * sections unless a section is too small to stand alone (small neighbours
 * under one parent may be packed together). A section longer than the target
 * is split at block boundaries, then at sentence ends, then at word
 * boundaries, never inside a word or a UTF-8 sequence; a code block that fits
 * in max_tokens stays whole. Consecutive chunks of one section overlap by
 * about overlap_tokens so a passage cut in two is still found.
 *
 * Tokens here are an estimate of model tokens (words and punctuation runs),
 * cheap to count and stable, not the analyzer's terms.
 *
 * Each chunk keeps its byte range [start, end) in parse_doc.text and its
 * section path, the heading titles from the top down joined by " > "
 * ("Handbook > Leave > Parental"); a document without headings has "". */
#ifndef LORE_CHUNK_CHUNK_H
#define LORE_CHUNK_CHUNK_H

#include <stddef.h>
#include <stdint.h>
#include "parse/parse.h"
#include "util/status.h"

typedef struct chunk_options {
    uint32_t target_tokens;  /* aim for chunks about this long (default 400) */
    uint32_t min_tokens;     /* pack sections smaller than this with neighbours (default 300) */
    uint32_t max_tokens;     /* never longer than this (default 500) */
    uint32_t overlap_tokens; /* overlap between consecutive chunks (default 50, ~12%) */
} chunk_options;

typedef struct chunk {
    uint32_t start, end; /* byte range in the document text */
    char *section;       /* owned, NUL-terminated; "" when there are no headings */
    uint32_t ntokens;    /* estimated tokens in [start, end) */
} chunk;

typedef struct chunk_list {
    chunk *items; /* owned */
    size_t n;
} chunk_list;

void chunk_options_default(chunk_options *opt);

/* Estimated tokens in text[0, len). */
uint32_t chunk_count_tokens(const char *text, size_t len);

/* Chunks doc. An empty document yields zero chunks. On success *out is owned
 * by the caller (chunk_list_free); on failure *out is NULL. */
LORE_MUST_CHECK lore_status chunk_document(const parse_doc *doc, const chunk_options *opt,
                                           chunk_list **out);

void chunk_list_free(chunk_list *l);

#endif
