/* ISO 8601 timestamps -> Unix milliseconds, for document metadata (DOCX
 * dcterms:created/modified, PDF CreationDate/ModDate as pdftotext prints
 * them). Locale- and time-zone-independent (no mktime/timegm). */
#ifndef LORE_PARSE_ISO8601_H
#define LORE_PARSE_ISO8601_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Accepts "YYYY-MM-DD", optionally followed by "THH:MM[:SS[.fff]]" (or a
 * space instead of T) and a zone "Z", "+HH", "+HHMM" or "+HH:MM"; no zone
 * means UTC. Surrounding whitespace is ignored. Returns false (and leaves
 * *out alone) for anything else, including out-of-range fields. */
bool parse_iso8601_ms(const char *s, size_t len, int64_t *out);

#endif
