/* Leveled logging to stderr. stdout belongs to command output (and, later,
 * to MCP's JSON-RPC), so nothing here ever writes to it. */
#ifndef LORE_UTIL_LOG_H
#define LORE_UTIL_LOG_H

typedef enum {
    LORE_LOG_DEBUG,
    LORE_LOG_INFO,
    LORE_LOG_WARN,
    LORE_LOG_ERROR,
    LORE_LOG_OFF
} lore_log_level;

void lore_log_set_level(lore_log_level lvl);
lore_log_level lore_log_get_level(void);
/* Parses "debug", "info", "warn", "error", "off"; returns -1 if unknown. */
int lore_log_parse_level(const char *s, lore_log_level *out);
void lore_log(lore_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LORE_DEBUG(...) lore_log(LORE_LOG_DEBUG, __VA_ARGS__)
#define LORE_INFO(...) lore_log(LORE_LOG_INFO, __VA_ARGS__)
#define LORE_WARN(...) lore_log(LORE_LOG_WARN, __VA_ARGS__)
#define LORE_ERROR(...) lore_log(LORE_LOG_ERROR, __VA_ARGS__)

#endif
