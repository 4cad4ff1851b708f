/* Fuzzes what a provider's answer can reach: the strict parser of a 200
 * answer (embed_parse_answer), the reader of error bodies
 * (embed_error_body), Retry-After values and the cutting of long inputs.
 * The first byte picks the number of inputs (1..8) and whether the
 * dimension is known (512 or 3) or learned; the rest is the body.
 *
 * Invariants: no crash, leak or sanitizer report; an accepted answer has
 * exactly n vectors of *dims finite floats; a rejected one sets a message
 * and no vectors; an error body summary is printable ASCII; a cut input is
 * a prefix that ends on a UTF-8 boundary. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "embed/embed.h"
#include "embed/embed_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t n = (size_t)(data[0] & 7) + 1;
    uint32_t known[4] = {0, 512, 3, 0}, dims = known[(data[0] >> 3) & 3];
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    float *vec = NULL;
    char err[300] = "";
    embed_answer_usage u = {0, 0};
    uint32_t d = dims;
    if (embed_parse_answer(body, len, n, &d, &vec, &u, err, sizeof err) == LORE_OK) {
        if (!vec || !d || (dims && d != dims)) abort();
        for (size_t i = 0; i < n * d; i++)
            if (!isfinite(vec[i])) abort();
        free(vec);
    } else if (vec || !err[0]) {
        abort();
    }
    char said[220];
    embed_error_body(body, len, said, sizeof said);
    for (const char *p = said; *p; p++)
        if (*p < 0x20 || *p > 0x7e) abort();
    char *s = malloc(len + 1);
    if (!s) return 0;
    memcpy(s, body, len);
    s[len] = '\0';
    (void)embed_parse_retry_after(s, 1800000000000LL);
    size_t cut = embed_cut_length(s, len, 16);
    if (cut > len || (cut < len && cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)) abort();
    free(s);
    return 0;
}
