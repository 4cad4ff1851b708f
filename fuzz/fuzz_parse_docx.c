/* libFuzzer target for the DOCX parser: arbitrary bytes as a .docx. The
 * parser must return a document or an error, never crash or leak. Small
 * limits keep each run fast; the seeds are the committed samples. */
#include "parse/parse_int.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    parse_limits lim = {1u << 20, 1u << 20, 1000, 30, 1024};
    parse_result *r = NULL;
    char err[256];
    lore_status st = parse_docx("fuzz.docx", data, size, &lim, &r, err, sizeof err);
    if (st == LORE_OK) {
        /* The builder's invariants: blocks lie inside the text. */
        for (size_t i = 0; i < r->docs[0].nblocks; i++) {
            const parse_block *b = &r->docs[0].blocks[i];
            if ((size_t)b->off + b->len > r->docs[0].text_len) __builtin_trap();
        }
        parse_result_free(r);
    } else if (r) {
        __builtin_trap();
    }
    return 0;
}
