/* Plain text: one document whose blocks are the paragraphs (runs of lines
 * separated by blank lines). Invalid UTF-8 is repaired to U+FFFD; input that
 * is mostly not text (NUL bytes, or more than a quarter invalid UTF-8 and
 * control bytes) is rejected, since indexing a binary file as text only
 * fills the index with noise. The title is the file name without extension:
 * a first line is too often a date, a greeting or a license header. */
#include "parse/parse_int.h"

#include <stdlib.h>
#include <string.h>

/* Counts bytes that are invalid UTF-8 or control characters other than
 * whitespace and ESC. Returns 1 when the data is binary. */
static int is_binary(const uint8_t *p, size_t n, size_t *nbad) {
    size_t bad = 0, i = 0;
    int nul = 0;
    while (i < n) {
        size_t v = parse_utf8_valid_prefix((const char *)p + i, n - i);
        for (size_t k = i; k < i + v; k++) {
            if (p[k] == 0) nul = 1;
            if (p[k] < 0x20 && p[k] != '\t' && p[k] != '\n' && p[k] != '\r' && p[k] != '\f' &&
                p[k] != '\v' && p[k] != 0x1b)
                bad++;
        }
        i += v;
        if (i < n) bad++, i++;
    }
    *nbad = bad;
    return nul || bad * 4 > n;
}

lore_status parse_text(const char *name, const uint8_t *data, size_t len, const parse_limits *lim,
                       parse_result **out, char *err, size_t errlen) {
    *out = NULL;
    parse_limits tmp;
    lim = parse_limits_or_default(lim, &tmp);
    lore_status st = parse_check_input(len, lim, err, errlen);
    if (st != LORE_OK) return st;
    size_t bom = parse_bom_len(data, len);
    data += bom, len -= bom;
    size_t bad;
    if (is_binary(data, len, &bad)) {
        parse_set_error(err, errlen,
                        "binary data, not text (%zu of %zu bytes are NUL, control or invalid "
                        "UTF-8)",
                        bad, len);
        return LORE_UNSUPPORTED;
    }
    parse_builder b;
    pb_init(&b, lim->max_text);
    parse_result *r = NULL;
    if ((st = pb_add_paragraphs(&b, (const char *)data, len)) != LORE_OK) {
        parse_builder_error(st, lim, "", err, errlen);
        goto out;
    }
    if ((st = pb_finish_result(&b, lim, &r, err, errlen)) != LORE_OK) goto out;
    r->docs[0].title = parse_title_from_name(name);
    *out = r;
    r = NULL;
out: /* on failure the partial result and builder are freed */
    parse_result_free(r);
    pb_free(&b);
    return st;
}
