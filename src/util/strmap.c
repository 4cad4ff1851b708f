/* String-to-id table and int64 set; see strmap.h. FNV-1a hashing, linear
 * probing, load factor kept under 1/2. */
#include "util/strmap.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK (64 * 1024)

static uint32_t hash_bytes(const char *s, size_t len) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)s[i];
        h *= 16777619u;
    }
    return h;
}

void strmap_init(strmap *m) {
    memset(m, 0, sizeof *m);
}

void strmap_free(strmap *m) {
    for (size_t i = 0; i < m->nchunks; i++)
        free(m->chunks[i]);
    free(m->chunks);
    free(m->slots);
    free(m->keys);
    free(m->key_lens);
    memset(m, 0, sizeof *m);
}

void strmap_clear(strmap *m) {
    if (m->slots)
        for (size_t i = 0; i < m->nslots; i++)
            m->slots[i].id = UINT32_MAX;
    /* Keep the first arena chunk; free the rest. */
    for (size_t i = 1; i < m->nchunks; i++)
        free(m->chunks[i]);
    if (m->nchunks > 1) m->nchunks = 1;
    m->chunk_used = 0;
    m->count = 0;
}

static lore_status grow(strmap *m) {
    size_t n = m->nslots ? m->nslots * 2 : 64;
    strmap_slot *s = malloc(n * sizeof *s);
    if (!s) return LORE_NOMEM;
    for (size_t i = 0; i < n; i++)
        s[i].id = UINT32_MAX;
    for (size_t i = 0; i < m->nslots; i++) {
        if (m->slots[i].id == UINT32_MAX) continue;
        size_t j = m->slots[i].hash & (n - 1);
        while (s[j].id != UINT32_MAX)
            j = (j + 1) & (n - 1);
        s[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = s;
    m->nslots = n;
    return LORE_OK;
}

static char *arena_copy(strmap *m, const char *key, size_t len) {
    size_t need = len + 1;
    if (!m->nchunks || m->chunk_used + need > ARENA_CHUNK) {
        size_t size = need > ARENA_CHUNK ? need : ARENA_CHUNK;
        char **nc = realloc(m->chunks, (m->nchunks + 1) * sizeof *nc);
        if (!nc) return NULL;
        m->chunks = nc;
        /* After strmap_clear the first chunk is reused from offset 0. */
        if (!(nc[m->nchunks] = malloc(size))) return NULL;
        m->nchunks++;
        m->chunk_used = 0;
    }
    char *p = m->chunks[m->nchunks - 1] + m->chunk_used;
    memcpy(p, key, len);
    p[len] = '\0';
    m->chunk_used += need;
    return p;
}

uint32_t strmap_find(const strmap *m, const char *key, size_t len) {
    if (!m->nslots) return UINT32_MAX;
    uint32_t h = hash_bytes(key, len);
    for (size_t j = h & (m->nslots - 1);; j = (j + 1) & (m->nslots - 1)) {
        const strmap_slot *s = &m->slots[j];
        if (s->id == UINT32_MAX) return UINT32_MAX;
        if (s->hash == h && m->key_lens[s->id] == len && !memcmp(m->keys[s->id], key, len))
            return s->id;
    }
}

lore_status strmap_intern(strmap *m, const char *key, size_t len, uint32_t *id, int *added) {
    *added = 0;
    if ((m->count + 1) * 2 > m->nslots && grow(m) != LORE_OK) return LORE_NOMEM;
    uint32_t h = hash_bytes(key, len);
    size_t j = h & (m->nslots - 1);
    for (;; j = (j + 1) & (m->nslots - 1)) {
        strmap_slot *s = &m->slots[j];
        if (s->id == UINT32_MAX) break;
        if (s->hash == h && m->key_lens[s->id] == len && !memcmp(m->keys[s->id], key, len)) {
            *id = s->id;
            return LORE_OK;
        }
    }
    if (m->count == m->keys_cap) {
        size_t nc = m->keys_cap ? m->keys_cap * 2 : 64;
        const char **nk = realloc(m->keys, nc * sizeof *nk);
        if (!nk) return LORE_NOMEM;
        m->keys = nk;
        uint32_t *nl = realloc(m->key_lens, nc * sizeof *nl);
        if (!nl) return LORE_NOMEM;
        m->key_lens = nl;
        m->keys_cap = nc;
    }
    char *copy = arena_copy(m, key, len);
    if (!copy) return LORE_NOMEM;
    uint32_t nid = (uint32_t)m->count++;
    m->keys[nid] = copy;
    m->key_lens[nid] = (uint32_t)len;
    m->slots[j].hash = h;
    m->slots[j].id = nid;
    *id = nid;
    *added = 1;
    return LORE_OK;
}

void i64set_init(i64set *s) {
    memset(s, 0, sizeof *s);
}

void i64set_free(i64set *s) {
    free(s->slots);
    memset(s, 0, sizeof *s);
}

static size_t mix64(int64_t v) {
    uint64_t x = (uint64_t)v;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

lore_status i64set_add(i64set *s, int64_t v) {
    if (v == INT64_MIN) return LORE_INVALID;
    if ((s->count + 1) * 2 > s->nslots) {
        size_t n = s->nslots ? s->nslots * 2 : 64;
        int64_t *ns = malloc(n * sizeof *ns);
        if (!ns) return LORE_NOMEM;
        for (size_t i = 0; i < n; i++)
            ns[i] = INT64_MIN;
        for (size_t i = 0; i < s->nslots; i++) {
            if (s->slots[i] == INT64_MIN) continue;
            size_t j = mix64(s->slots[i]) & (n - 1);
            while (ns[j] != INT64_MIN)
                j = (j + 1) & (n - 1);
            ns[j] = s->slots[i];
        }
        free(s->slots);
        s->slots = ns;
        s->nslots = n;
    }
    size_t j = mix64(v) & (s->nslots - 1);
    while (s->slots[j] != INT64_MIN) {
        if (s->slots[j] == v) return LORE_OK;
        j = (j + 1) & (s->nslots - 1);
    }
    s->slots[j] = v;
    s->count++;
    return LORE_OK;
}

int i64set_has(const i64set *s, int64_t v) {
    if (!s->count) return 0;
    size_t j = mix64(v) & (s->nslots - 1);
    while (s->slots[j] != INT64_MIN) {
        if (s->slots[j] == v) return 1;
        j = (j + 1) & (s->nslots - 1);
    }
    return 0;
}
