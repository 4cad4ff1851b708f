/* Clocks and dates. */
#ifndef LORE_UTIL_TIMEUTIL_H
#define LORE_UTIL_TIMEUTIL_H

#include <stdint.h>

/* Wall-clock time in Unix milliseconds. */
int64_t lore_now_ms(void);
/* Monotonic time in nanoseconds, for measuring durations. */
int64_t lore_mono_ns(void);
/* Parses an ISO 8601 date or date-time ("2024-05-01", "2024-05-01T10:00:00Z",
 * with optional fraction and +hh:mm offset) into Unix ms (UTC when no zone).
 * Returns 0 on success, -1 if s is not such a date. */
int lore_parse_iso8601(const char *s, int64_t *out_ms);
/* Formats Unix ms as "YYYY-MM-DDTHH:MM:SSZ" into out (at least 21 bytes). */
void lore_format_iso8601(int64_t ms, char *out, int outlen);

#endif
