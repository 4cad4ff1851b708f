/* A pre-check for JSON input: nesting depth, found by scanning brackets
 * outside strings without parsing. jansson's own limit is 2048 levels; the
 * callers (request bodies, JSON records) refuse far shallower nesting before
 * handing the bytes to the parser. */
#ifndef LORE_UTIL_JSONSCAN_H
#define LORE_UTIL_JSONSCAN_H

#include <stddef.h>

/* 1 when s[0, n) nests objects/arrays deeper than max, else 0. Stops as soon
 * as the depth passes max; malformed input is left to the parser. */
int lore_json_depth_exceeds(const char *s, size_t n, int max);

#endif
