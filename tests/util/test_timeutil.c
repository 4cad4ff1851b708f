/* ISO 8601 parsing and formatting: formats we accept, values we compute,
 * and inputs we refuse. */
#include "test.h"
#include "util/timeutil.h"

int main(void) {
    int64_t ms = -1;
    CHECK_INT(lore_parse_iso8601n("1970-01-01", 10, &ms), 0);
    CHECK_INT(ms, 0);
    CHECK_INT(lore_parse_iso8601n(" 2000-03-01T00:00:00Z ", 22, &ms), 0);
    CHECK_INT(ms, 951868800000LL);
    CHECK_INT(lore_parse_iso8601n("1969-12-31T23:59:59.5Z", 22, &ms), 0);
    CHECK_INT(ms, -500);
    CHECK_INT(lore_parse_iso8601n("2024-06-15 09:30+0200", 21, &ms), 0);
    CHECK_INT(ms, 1718436600000LL);
    CHECK_INT(lore_parse_iso8601n("2024-13-01", 10, &ms), -1);
    CHECK_INT(lore_parse_iso8601n("2024-01-01T", 11, &ms), -1);
    CHECK_INT(lore_parse_iso8601n("2024-01-01T10:00:00Zjunk", 24, &ms), -1);
    CHECK_INT(lore_parse_iso8601n("24-01-01", 8, &ms), -1);
    CHECK_INT(lore_parse_iso8601n("", 0, &ms), -1);

    CHECK_INT(lore_parse_iso8601n("1970-01-01T00:00:00Z", 20, &ms), 0);
    CHECK_INT(ms, 0);
    CHECK_INT(lore_parse_iso8601n("2024-01-02", 10, &ms), 0);
    CHECK_INT(ms, 1704153600000LL);
    CHECK_INT(lore_parse_iso8601n(" 2024-01-02T03:04:05.250+0100 ", 30, &ms), 0);
    CHECK_INT(ms, 1704161045250LL);
    CHECK_INT(lore_parse_iso8601n("2024-02-03T04:05:06+01", 22, &ms), 0);
    CHECK_INT(ms, 1706929506000LL);
    CHECK_INT(lore_parse_iso8601n("1969-12-31T23:59:59Z", 20, &ms), 0);
    CHECK_INT(ms, -1000);
    CHECK_INT(lore_parse_iso8601n("2024-13-01", 10, &ms), -1);
    CHECK_INT(lore_parse_iso8601n("2024-01-01T", 11, &ms), -1);
    CHECK_INT(lore_parse_iso8601n("yesterday", 9, &ms), -1);
    CHECK_INT(lore_parse_iso8601n("2024-01-01Tjunk", 15, &ms), -1);
    CHECK_INT(lore_parse_iso8601("2024-02-30", &ms), -1); /* no such day */
    CHECK_INT(lore_parse_iso8601(NULL, &ms), -1);
    char out[32];
    lore_format_iso8601(1704153600000LL, out, sizeof out);
    CHECK_STR(out, "2024-01-02T00:00:00Z");
    CHECK(lore_now_ms() > 1700000000000LL);
    int64_t a = lore_mono_ns(), b = lore_mono_ns();
    CHECK(b >= a);
    return test_summary();
}
