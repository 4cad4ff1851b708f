/* libFuzzer target: detection always returns a valid format, and parsing an
 * input as the detected format behaves (PDF and DOCX are left to their own
 * targets: PDF parsing runs a subprocess). The first byte picks a name hint
 * so extensions are exercised too. */
#include "parse_fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const names[] = {NULL,      "a.txt",  "a.md",  "a.html", "a.json",
                                        "a.jsonl", "a.docx", "a.pdf", "noext",  "a.NDJSON"};
    const char *name = NULL;
    if (size) {
        name = names[data[0] % (sizeof names / sizeof names[0])];
        data++, size--;
    }
    parse_format fmt = parse_detect(name, data, size);
    if (fmt > PARSE_FMT_DOCX) abort();
    if (fmt != PARSE_FMT_PDF && fmt != PARSE_FMT_DOCX && fmt != PARSE_FMT_UNKNOWN)
        fuzz_run(fmt, data, size);
    return 0;
}
