/* 64-bit integers as 8 big-endian bytes: keys that sort in number order
 * under the store's bytewise comparison, and fixed-size values. */
#ifndef LORE_UTIL_BE64_H
#define LORE_UTIL_BE64_H

#include <stdint.h>

static inline void lore_be64_put(uint8_t *p, uint64_t v) {
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static inline uint64_t lore_be64_get(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

#endif
