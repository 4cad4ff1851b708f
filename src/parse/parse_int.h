/* Internals shared by the parsers: a builder that accumulates blocks into a
 * parse_doc, UTF-8 repair, and the per-format entry points parse_bytes
 * dispatches to. Not part of the module's contract (see parse.h). */
#ifndef LORE_PARSE_INT_H
#define LORE_PARSE_INT_H

#include "parse/parse.h"
#include "util/buf.h"

/* Accumulates the text of one document. Blocks are trimmed of surrounding
 * whitespace (CODE blocks only of blank lines before and whitespace after,
 * so their first line keeps its indentation), repaired to valid UTF-8,
 * skipped when empty, and joined with "\n\n". Text beyond max_text makes
 * pb_add_block fail with LORE_TOO_LARGE. */
typedef struct parse_builder {
    lore_buf text;
    parse_block *blocks;
    size_t nblocks, cap;
} parse_builder;

void pb_init(parse_builder *b, size_t max_text);
void pb_free(parse_builder *b);
LORE_MUST_CHECK lore_status pb_add_block(parse_builder *b, parse_block_kind kind, uint8_t level,
                                         const char *s, size_t len);
/* Moves the text and blocks into doc (which must be zeroed or have no text
 * yet) and leaves the builder empty and reusable. */
LORE_MUST_CHECK lore_status pb_finish(parse_builder *b, parse_doc *doc);

/* Appends a zeroed document to r and returns it, or NULL when out of memory. */
parse_doc *parse_result_add(parse_result *r);
/* Frees the fields of one document (not the struct itself). */
void parse_doc_clear(parse_doc *d);

/* Copies s[0, len) into a new NUL-terminated string with invalid UTF-8
 * sequences replaced by U+FFFD and NUL bytes dropped. Returns owned or NULL
 * when out of memory; *outlen (if given) receives the length. */
char *parse_utf8_repair(const char *s, size_t len, size_t *outlen);
/* Length of the longest prefix of s[0, len) that is valid UTF-8. */
size_t parse_utf8_valid_prefix(const char *s, size_t len);
/* strndup that returns NULL for NULL or empty input; repairs UTF-8. */
char *parse_strdup_clean(const char *s, size_t len);

/* Per-format parsers. Same contract as parse_bytes (see parse.h). */
#define PARSE_FN(fn)                                                                               \
    LORE_MUST_CHECK lore_status fn(const char *name, const uint8_t *data, size_t len,              \
                                   const parse_limits *lim, parse_result **out, char *err,         \
                                   size_t errlen)
PARSE_FN(parse_text);
PARSE_FN(parse_markdown);
PARSE_FN(parse_html);
PARSE_FN(parse_json);
PARSE_FN(parse_jsonl);
PARSE_FN(parse_pdf);
PARSE_FN(parse_docx);

/* Writes "msg" to err (when err is non-NULL) in printf style. */
void parse_set_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The file name's base without directory and extension ("guide" for
 * "docs/guide.md"), used as a title fallback. Returns owned or NULL. */
char *parse_title_from_name(const char *name);

/* Helpers shared by the parsers (parse.c). */

/* lim, or the defaults (written to *tmp) when lim is NULL. */
const parse_limits *parse_limits_or_default(const parse_limits *lim, parse_limits *tmp);
/* LORE_TOO_LARGE with a message when len exceeds lim->max_input. */
LORE_MUST_CHECK lore_status parse_check_input(size_t len, const parse_limits *lim, char *err,
                                              size_t errlen);
/* Writes a message for a builder failure (st from pb_add_block/pb_finish);
 * prefix (may be "") names the document, e.g. "line 3: ". */
void parse_builder_error(lore_status st, const parse_limits *lim, const char *prefix, char *err,
                         size_t errlen);
/* Moves the builder's text and blocks into a new result holding one
 * document (*r, owned; its fields other than text and blocks are zero). On
 * failure *r is NULL and err has the message. */
LORE_MUST_CHECK lore_status pb_finish_result(parse_builder *b, const parse_limits *lim,
                                             parse_result **r, char *err, size_t errlen);
/* Bytes of a UTF-8 byte order mark at the start of data (0 or 3). */
size_t parse_bom_len(const uint8_t *data, size_t len);
/* Adds s[0, len) as PARAGRAPH blocks split on blank lines (lines of only
 * spaces and tabs). CR LF and lone CR become LF. */
LORE_MUST_CHECK lore_status pb_add_paragraphs(parse_builder *b, const char *s, size_t len);

/* Budgets of the tree-building parsers (parse_guard.c, docs/formats.md).
 * Each scan reads the input once and returns 1, with why filled, when the
 * parser would build more than its budget of nodes (or nest or repeat
 * what makes it superlinear). */
#define PARSE_MD_MAX_DEPTH 48       /* quote/list levels (cost: nodes x depth) */
#define PARSE_MD_MAX_CELLS 128      /* '|' per line (a row costs cells^2) */
#define PARSE_MD_CELL_WEIGHT 4      /* nodes a '|' counts for (a cell costs ~440 bytes) */
#define PARSE_MD_AT_WEIGHT 16       /* nodes a 2nd, 3rd... '@' in one word counts for */
#define PARSE_MD_MAX_NODES 600000   /* lines + markup characters (<= ~130 MB in cmark) */
#define PARSE_HTML_MAX_NODES 500000 /* elements + attributes + text runs (~85 MB) */
#define PARSE_HTML_MAX_DEPTH 512    /* open elements (each end tag searches them) */
#define PARSE_HTML_MAX_ATTRS 256    /* per tag (libxml2 compares each with all before) */
#define PARSE_JSON_MAX_TREE ((size_t)256 << 20) /* estimated bytes of jansson's tree */
int parse_md_over_budget(const char *s, size_t n, char *why, size_t whylen);
int parse_html_over_budget(const uint8_t *s, size_t n, char *why, size_t whylen);
int parse_json_over_budget(const char *s, size_t n, char *why, size_t whylen);
/* Adds HTML read as text (tags dropped, block ends as line breaks, common
 * entities decoded) as paragraphs: linear, for input over the budget. */
LORE_MUST_CHECK lore_status parse_html_as_text(parse_builder *b, const uint8_t *s, size_t n);

#endif
