/* libFuzzer target: the JSON and JSON Lines parsers never crash, leak or
 * break their output invariants on arbitrary input. Both run on every
 * input, since most inputs that interest one interest the other. */
#include "parse_fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_run(PARSE_FMT_JSON, data, size);
    fuzz_run(PARSE_FMT_JSONL, data, size);
    return 0;
}
