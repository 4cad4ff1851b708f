/* Streaming multipart/form-data parser (RFC 7578 on the RFC 2046 framing).
 *
 * The HTTP server hands a request body over in whatever pieces the network
 * delivers; multipart_feed turns them into parts through three callbacks:
 * on_part when a part's headers are complete, on_data for its body bytes in
 * order, on_part_end when the delimiter line after it has been confirmed. The
 * parser is pure (no I/O) and incremental: any split of the body into feeds
 * gives the same on_part / on_part_end calls with the same arguments, the same
 * body bytes per part and the same final status and error text. Only the way
 * a part's bytes are cut into on_data calls depends on the split (never a call
 * with len 0), and so does the offset in the message when on_data fails.
 * Memory is fixed at multipart_new: two buffers of max_header_bytes plus the
 * delimiter, whatever the size of a part.
 *
 * What is accepted (everything else is LORE_INVALID with a reason and a byte
 * offset in multipart_error):
 * - Preamble before the first boundary line and epilogue after the closing
 *   "--BOUNDARY--" are ignored. The first boundary line may start the body.
 * - A delimiter is CRLF "--" BOUNDARY, recognised wherever it occurs (RFC 2046
 *   5.1.1: the boundary need not end the line to count). It must be followed
 *   by "--" (close) or by optional spaces/tabs (transport padding) and CRLF.
 *   Body bytes that merely resemble a delimiter ("--BOUNDARY" without the
 *   CRLF, a CR LF "--" and a prefix of the boundary) are body bytes.
 * - Part header lines end in CRLF. A bare LF or a CR without LF is rejected:
 *   delimiters need CRLF anyway, so a body written with bare LFs could not be
 *   split into parts, and failing at the first header says so more clearly
 *   than "closing boundary not seen" at the end. Folded (continuation) lines,
 *   control bytes other than tab, and a name not followed directly by ':' are
 *   rejected too.
 * - Every part needs exactly one Content-Disposition of type form-data;
 *   parameters are tokens or quoted strings (backslash escapes resolved),
 *   names are case-insensitive, a repeated name/filename/filename* is
 *   rejected, unknown parameters are ignored. filename* (RFC 5987/8187,
 *   charset UTF-8 or ISO-8859-1, converted to UTF-8) wins over filename.
 *   At most one Content-Type; other headers (Content-Transfer-Encoding
 *   included, which RFC 7578 deprecates) are ignored.
 * - A body with no parts ("--BOUNDARY--" at once) is valid; callers that need
 *   a file check multipart_part_count.
 *
 * After a feed returns anything but LORE_OK the parser is stuck: later feeds
 * and multipart_finish return the same status. */
#ifndef LORE_HTTP_MULTIPART_H
#define LORE_HTTP_MULTIPART_H

#include <stddef.h>
#include <stdint.h>
#include "util/status.h"

/* RFC 2046: a boundary is 1 to 70 characters. */
#define MULTIPART_BOUNDARY_MAX 70
/* Largest max_header_bytes multipart_new accepts (the buffers are allocated
 * up front, so the cap is also the memory bound). */
#define MULTIPART_HEADER_BYTES_MAX (1u << 20)

typedef struct multipart_limits {
    size_t max_parts;        /* parts per body, default 64; one more is LORE_TOO_LARGE */
    size_t max_header_bytes; /* bytes of one part's header lines together, CRLFs included
                                and the blank line that ends them not; default 8192 */
} multipart_limits;

/* Fills l with the defaults above. */
void multipart_limits_default(multipart_limits *l);

/* One part's headers. Borrowed: the struct and its strings are valid until the
 * callback returns; copy what you keep. */
typedef struct multipart_part {
    size_t index;         /* 0 for the first part */
    const char *name;     /* Content-Disposition name, "" if none */
    const char *filename; /* NULL if the part has neither filename nor filename*; may be
                             "" (browsers send filename="" for an empty file input).
                             Untrusted: pass it through multipart_safe_filename. */
    /* as sent, trimmed; "text/plain" when absent or empty (RFC 7578 4.4) */
    const char *content_type;
} multipart_part;

/* Any callback may be NULL. A callback that returns anything but LORE_OK stops
 * the parser, and that status is what multipart_feed returns. */
typedef struct multipart_callbacks {
    lore_status (*on_part)(void *ctx, const multipart_part *p);
    lore_status (*on_data)(void *ctx, const uint8_t *data, size_t len); /* len > 0 */
    lore_status (*on_part_end)(void *ctx);
} multipart_callbacks;

typedef struct multipart_parser multipart_parser;

/* content_type is the request's Content-Type value. Returns LORE_UNSUPPORTED
 * if it is missing or not multipart/form-data; LORE_INVALID if the boundary
 * parameter is missing, repeated, empty, longer than 70 bytes, or has a
 * character RFC 2046 does not allow (a space only inside a quoted value and
 * not last), or if lim is out of range (a zero limit, max_header_bytes above
 * MULTIPART_HEADER_BYTES_MAX); LORE_NOMEM. On failure a one-line reason goes
 * to err (if errlen > 0) and *out is NULL. lim NULL means the defaults. cb is
 * copied; ctx is passed to every callback. The caller owns *out and frees it
 * with multipart_free. */
LORE_MUST_CHECK lore_status multipart_new(const char *content_type, const multipart_limits *lim,
                                          const multipart_callbacks *cb, void *ctx,
                                          multipart_parser **out, char *err, size_t errlen);

/* Feeds the next len bytes of the body (data may be NULL when len is 0).
 * Returns LORE_OK, LORE_INVALID (malformed), LORE_TOO_LARGE (a limit), or the
 * first non-OK status a callback returned. */
LORE_MUST_CHECK lore_status multipart_feed(multipart_parser *p, const uint8_t *data, size_t len);

/* End of body. LORE_INVALID if the closing "--BOUNDARY--" was not seen (a
 * truncated upload: the last part never gets on_part_end, and body bytes that
 * could have been the start of a delimiter are not delivered), else the
 * sticky status of an earlier failure, else LORE_OK. */
LORE_MUST_CHECK lore_status multipart_finish(multipart_parser *p);

/* One line saying what was wrong and at which byte offset of the body, e.g.
 * "part 2: Content-Disposition type is not form-data at byte 131"; "" while
 * nothing has failed. Framing errors give the offending byte; errors in the
 * meaning of a part's headers give the blank line that ends them; a callback's
 * failure reads "on_data callback returned IO at byte N". The text never
 * quotes the input, so it is safe to log and to return to the client. Owned
 * by the parser. */
const char *multipart_error(const multipart_parser *p);

/* Parts whose headers have been delivered through on_part so far. */
size_t multipart_part_count(const multipart_parser *p);

void multipart_free(multipart_parser *p);

/* Reduces a client-supplied filename (NULL is taken as "") to a safe base
 * name: keeps what follows the last '/' or '\\', drops control bytes
 * (0x00-0x1f, 0x7f), bytes that are not part of valid UTF-8, and leading dots;
 * an empty result becomes "upload". Writes at most outlen - 1 bytes and a NUL
 * (nothing if outlen is 0), never cutting a UTF-8 sequence. The result is
 * valid UTF-8 with no separator, so it cannot name another directory. */
void multipart_safe_filename(const char *in, char *out, size_t outlen);

#endif
