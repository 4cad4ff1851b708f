/* Clocks and dates. */
#ifndef LORE_UTIL_TIMEUTIL_H
#define LORE_UTIL_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Wall-clock time in Unix milliseconds. */
int64_t lore_now_ms(void);
/* Monotonic time in nanoseconds, for measuring durations. */
int64_t lore_mono_ns(void);
/* Parses an ISO 8601 date or date-time into Unix ms: "YYYY-MM-DD", optionally
 * followed by "THH:MM[:SS[.fff]]" (or a space instead of T) and a zone "Z",
 * "+HH", "+HHMM" or "+HH:MM"; no zone means UTC. Surrounding whitespace is
 * ignored. Returns 0 on success, -1 (leaving *out_ms alone) for anything
 * else, including out-of-range fields. s need not be NUL-terminated. */
int lore_parse_iso8601n(const char *s, size_t len, int64_t *out_ms);
/* The same for a NUL-terminated string. */
int lore_parse_iso8601(const char *s, int64_t *out_ms);
/* Formats Unix ms as "YYYY-MM-DDTHH:MM:SSZ" into out (at least 21 bytes). */
void lore_format_iso8601(int64_t ms, char *out, int outlen);

#endif
