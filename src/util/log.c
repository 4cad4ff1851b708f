/* stderr logger; one line per call, level-prefixed, written with one
 * fprintf so concurrent lines do not interleave mid-line. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static lore_log_level current_level = LORE_LOG_WARN;

void lore_log_set_level(lore_log_level lvl) {
    current_level = lvl;
}

lore_log_level lore_log_get_level(void) {
    return current_level;
}

int lore_log_parse_level(const char *s, lore_log_level *out) {
    static const char *const names[] = {"debug", "info", "warn", "error", "off"};
    for (int i = 0; i <= LORE_LOG_OFF; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (lore_log_level)i;
            return 0;
        }
    }
    return -1;
}

void lore_log(lore_log_level lvl, const char *fmt, ...) {
    static const char *const tags[] = {"debug", "info", "warn", "error", "off"};
    if (lvl < current_level || lvl >= LORE_LOG_OFF) return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "lore: %s: %s\n", tags[lvl], line);
}
