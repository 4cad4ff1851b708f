/* libFuzzer target: the html parser never crashes, leaks or breaks its
 * output invariants on arbitrary input. */
#include "parse_fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_run(PARSE_FMT_HTML, data, size);
    return 0;
}
