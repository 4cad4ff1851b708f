/* TEMPORARY: weak stand-ins for parse_pdf and parse_docx so the parse module
 * links and its tests run before the PDF/DOCX parsers land. The real
 * definitions in parse_pdf.c and parse_docx.c override these; delete this
 * file when they are merged. */
#include "parse/parse_int.h"

__attribute__((weak)) lore_status parse_pdf(const char *name, const uint8_t *data, size_t len,
                                            const parse_limits *lim, parse_result **out, char *err,
                                            size_t errlen) {
    (void)name, (void)data, (void)len, (void)lim;
    *out = NULL;
    parse_set_error(err, errlen, "PDF parsing is not available in this build");
    return LORE_UNSUPPORTED;
}

__attribute__((weak)) lore_status parse_docx(const char *name, const uint8_t *data, size_t len,
                                             const parse_limits *lim, parse_result **out, char *err,
                                             size_t errlen) {
    (void)name, (void)data, (void)len, (void)lim;
    *out = NULL;
    parse_set_error(err, errlen, "DOCX parsing is not available in this build");
    return LORE_UNSUPPORTED;
}
