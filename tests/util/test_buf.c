/* Capped buffer and varint round trips; caps must refuse, not grow. */
#include "test.h"
#include "util/buf.h"
#include "util/status.h"

#include <stdint.h>

int main(void) {
    lore_buf b;
    /* An unbounded buffer (cap SIZE_MAX) grows normally; the cap + 1 for the
     * terminator used to wrap to 0 and shrink the allocation. */
    lore_buf_init(&b, SIZE_MAX);
    for (int i = 0; i < 100; i++)
        CHECK_INT(lore_buf_append_str(&b, "0123456789"), LORE_OK);
    CHECK_INT(b.len, 1000);
    CHECK_INT(lore_buf_reserve(&b, SIZE_MAX - b.len), LORE_TOO_LARGE);
    lore_buf_free(&b);
    lore_buf_init(&b, 8);
    CHECK_INT(lore_buf_append_str(&b, "abcd"), LORE_OK);
    CHECK_INT(lore_buf_append_str(&b, "efgh"), LORE_OK);
    CHECK_INT(lore_buf_append_str(&b, "i"), LORE_TOO_LARGE);
    CHECK_INT(b.len, 8);
    CHECK_STR(b.data, "abcdefgh");
    lore_buf_reset(&b);
    CHECK_INT(lore_buf_printf(&b, "%d-%s", 42, "x"), LORE_OK);
    CHECK_STR(b.data, "42-x");
    CHECK_INT(lore_buf_printf(&b, "%s", "too long for cap"), LORE_TOO_LARGE);
    lore_buf_free(&b);

    lore_buf v;
    lore_buf_init(&v, 1 << 20);
    const uint64_t vals[] = {0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX, UINT64_MAX};
    size_t nvals = sizeof vals / sizeof vals[0];
    for (size_t i = 0; i < nvals; i++)
        CHECK_INT(lore_buf_append_varint(&v, vals[i]), LORE_OK);
    const uint8_t *p = (const uint8_t *)v.data, *end = p + v.len;
    for (size_t i = 0; i < nvals; i++) {
        uint64_t got = 0;
        CHECK_INT(lore_varint_decode(&p, end, &got), 0);
        CHECK(got == vals[i]);
    }
    uint64_t dummy;
    CHECK_INT(lore_varint_decode(&p, end, &dummy), -1); /* exhausted */
    const uint8_t bad[] = {0x80, 0x80};
    const uint8_t *q = bad;
    CHECK_INT(lore_varint_decode(&q, bad + 2, &dummy), -1); /* truncated */
    lore_buf_free(&v);

    CHECK_STR(lore_status_name(LORE_NOT_FOUND), "NOT_FOUND");
    CHECK_STR(lore_status_message(LORE_TOO_LARGE), "input exceeds a size limit");
    CHECK_STR(lore_status_name((lore_status)999), "UNKNOWN");
    return test_summary();
}
