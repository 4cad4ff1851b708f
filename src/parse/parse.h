/* Parsers: bytes of a known format -> documents made of text blocks.
 *
 * Pure functions of their input (PDF aside, which runs pdftotext in a
 * sandboxed child process with time and memory limits), so each can be
 * fuzzed. A parser never crashes on garbage: it returns a clear error in
 * err, or repairs what can be repaired (invalid UTF-8 becomes U+FFFD).
 *
 * A parsed document's text is its blocks joined by "\n\n"; each block knows
 * its byte range in that text, its kind and, for headings, its level. The
 * chunker turns blocks into chunks and section paths; byte ranges of chunks
 * refer to parse_doc.text, which is what the store keeps as the document text.
 *
 * One input may hold many documents (JSON arrays, JSON Lines); the others
 * yield exactly one. */
#ifndef LORE_PARSE_PARSE_H
#define LORE_PARSE_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include "util/status.h"

typedef enum parse_format {
    PARSE_FMT_UNKNOWN = 0,
    PARSE_FMT_TEXT,
    PARSE_FMT_MARKDOWN,
    PARSE_FMT_HTML,
    PARSE_FMT_JSON,  /* one object, or an array of objects */
    PARSE_FMT_JSONL, /* one object per line */
    PARSE_FMT_PDF,
    PARSE_FMT_DOCX,
} parse_format;

typedef enum parse_block_kind {
    PARSE_BLOCK_PARAGRAPH = 0,
    PARSE_BLOCK_HEADING, /* level 1..6 */
    PARSE_BLOCK_CODE,    /* keep whole: the chunker never splits inside one if it fits */
    PARSE_BLOCK_LIST,
    PARSE_BLOCK_TABLE,
    PARSE_BLOCK_QUOTE,
} parse_block_kind;

typedef struct parse_block {
    parse_block_kind kind;
    uint8_t level;     /* heading level 1..6, else 0 */
    uint32_t off, len; /* byte range in parse_doc.text */
} parse_block;

typedef struct parse_doc {
    char *external_id;  /* owned or NULL: an id the input gave (JSON "id"/"_id") */
    char *title;        /* owned or NULL: first heading, <title>, PDF/DOCX metadata, JSON "title" */
    char *url;          /* owned or NULL */
    char *author;       /* owned or NULL */
    int64_t created_ms; /* Unix ms, 0 if unknown */
    int64_t updated_ms; /* Unix ms, 0 if unknown */
    char *metadata_json; /* owned or NULL: a JSON object (front matter, JSON "metadata") */
    char **acl;          /* owned or NULL: principals from a JSON "acl" array */
    size_t nacl;
    char *text; /* owned, NUL-terminated, valid UTF-8: blocks joined by "\n\n" */
    size_t text_len;
    parse_block *blocks; /* owned */
    size_t nblocks;
} parse_doc;

typedef struct parse_result {
    parse_doc *docs; /* owned */
    size_t ndocs;
    /* owned or NULL: how the input was read differently from its format,
     * e.g. Markdown over the parser's budget read as plain text; the
     * caller shows it as a note (docs/formats.md, "Budgets"). */
    char *note;
} parse_result;

typedef struct parse_limits {
    size_t max_input;     /* bytes of input accepted (default 64 MiB) */
    size_t max_text;      /* bytes of text produced per document (default 16 MiB) */
    size_t max_docs;      /* documents per input (JSON arrays, JSONL; default 1,000,000) */
    int pdf_timeout_s;    /* wall-clock limit for pdftotext (default 30) */
    size_t pdf_memory_mb; /* address-space limit for pdftotext (default 1024) */
} parse_limits;

/* Fills lim with the defaults above. */
void parse_limits_default(parse_limits *lim);

/* Detects the format from content first (PDF and ZIP magic, JSON shape, HTML
 * tags, Markdown structure), then from the file name's extension as a hint.
 * name may be NULL. Returns PARSE_FMT_UNKNOWN for binary data it cannot read. */
parse_format parse_detect(const char *name, const uint8_t *data, size_t len);

/* "text", "markdown", ... for messages; never NULL. */
const char *parse_format_name(parse_format fmt);

/* Parses data as fmt. On success *out is owned by the caller (parse_result_free).
 * On failure *out is NULL and err (if given) holds one line naming the
 * problem, e.g. "line 12: invalid JSON: unexpected token". name is used for
 * title fallback (the file name without extension) and may be NULL. */
LORE_MUST_CHECK lore_status parse_bytes(parse_format fmt, const char *name, const uint8_t *data,
                                        size_t len, const parse_limits *lim, parse_result **out,
                                        char *err, size_t errlen);

void parse_result_free(parse_result *r);

#endif
