/* A string-keyed hash table mapping byte strings to dense indexes
 * 0, 1, 2, ... in insertion order. Keys are copied into an internal arena,
 * so callers may pass transient buffers. Used for term tables, where the
 * caller keeps per-key data in its own arrays indexed by the returned id. */
#ifndef LORE_UTIL_STRMAP_H
#define LORE_UTIL_STRMAP_H

#include <stddef.h>
#include <stdint.h>
#include "util/status.h"

typedef struct strmap_slot {
    uint32_t hash;
    uint32_t id; /* UINT32_MAX when empty */
} strmap_slot;

typedef struct strmap {
    strmap_slot *slots;
    size_t nslots; /* power of two */
    size_t count;
    /* Keys: offsets into a chunked arena. */
    char **chunks;
    size_t nchunks, chunk_used;
    const char **keys;
    uint32_t *key_lens;
    size_t keys_cap;
} strmap;

void strmap_init(strmap *m);
void strmap_free(strmap *m);
/* Removes every key but keeps the memory for reuse. */
void strmap_clear(strmap *m);
/* Finds key, inserting it if absent. *id receives its index; *added is set
 * to 1 when the key is new. */
LORE_MUST_CHECK lore_status strmap_intern(strmap *m, const char *key, size_t len, uint32_t *id,
                                          int *added);
/* Finds key; returns its id or UINT32_MAX. */
uint32_t strmap_find(const strmap *m, const char *key, size_t len);
static inline const char *strmap_key(const strmap *m, uint32_t id, uint32_t *len) {
    *len = m->key_lens[id];
    return m->keys[id];
}

/* A set of int64 values (open addressing). */
typedef struct i64set {
    int64_t *slots; /* INT64_MIN marks an empty slot; that value cannot be stored */
    size_t nslots, count;
} i64set;

void i64set_init(i64set *s);
void i64set_free(i64set *s);
LORE_MUST_CHECK lore_status i64set_add(i64set *s, int64_t v);
int i64set_has(const i64set *s, int64_t v);

#endif
