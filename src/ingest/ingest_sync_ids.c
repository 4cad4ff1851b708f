/* Folder syncs: records that carry their own id (JSON "id"/"_id"), whose
 * external ids say nothing of the file they came from.
 *
 * Key-value namespace STORE_NS_SYNC_IDS holds, per source, which synced
 * file produced which such id, both ways:
 *   'F' source NUL file NUL id    (the ids of a file)
 *   'R' source NUL id NUL file    (the files of an id)
 * A file read again drops the ids it no longer produces; a file gone drops
 * all of its ids; a dropped id's document is deleted when no other synced
 * file still produces it (two files may hold one id). Ids written by a
 * plain ingest were never recorded and are never deleted by a sync. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest_int.h"

#define KEY_MAX (2 * PATH_MAX + INGEST_MAX_EXTERNAL_ID + 80)
#define PAGE 512

/* kind source NUL a NUL [b]: the length, 0 when it does not fit. */
static size_t make_key(char *out, char kind, const char *source, const char *a, const char *b) {
    size_t ls = strlen(source), la = strlen(a), lb = b ? strlen(b) : 0;
    if (1 + ls + 1 + la + 1 + lb > KEY_MAX) return 0;
    char *p = out;
    *p++ = kind;
    memcpy(p, source, ls + 1);
    p += ls + 1;
    memcpy(p, a, la + 1);
    p += la + 1;
    memcpy(p, b ? b : "", lb);
    return (size_t)(p - out) + lb;
}

int ingest_sync_path_named(const char *file, const char *id) {
    size_t n = strlen(file);
    if (strncmp(id, file, n)) return 0;
    if (!id[n]) return 1;
    if (id[n] != '#' || !id[n + 1]) return 0;
    for (const char *c = id + n + 1; *c; c++)
        if (*c < '0' || *c > '9') return 0;
    return 1;
}

/* A page of the ids (or files) after a key prefix. */
typedef struct page {
    size_t plen;
    char *items[PAGE];
    size_t n;
    int nomem;
    char last[KEY_MAX + 1];
    size_t lastlen;
} page;

static int collect(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen) {
    (void)val, (void)vlen;
    page *p = ctx;
    if (klen < p->plen || klen > KEY_MAX) return 0;
    if (!(p->items[p->n] = strndup((const char *)key + p->plen, klen - p->plen))) {
        p->nomem = 1;
        return 1;
    }
    memcpy(p->last, key, klen);
    p->last[klen] = 0; /* next page: keys above last + NUL */
    p->lastlen = klen + 1;
    return ++p->n == PAGE;
}

static void page_clear(page *p) {
    for (size_t i = 0; i < p->n; i++)
        free(p->items[i]);
    p->n = 0;
}

/* The next page of keys under prefix (from: where the last page ended,
 * NULL: the start). */
static lore_status next_page(ingest_session *s, const char *prefix, size_t plen, page *p,
                             int first) {
    char hi[KEY_MAX + 1];
    memcpy(hi, prefix, plen);
    hi[plen - 1] = 1; /* the prefix ends in NUL: NUL + 1 bounds it */
    page_clear(p);
    p->plen = plen;
    lore_status st =
        first ? store_kv_scan(s->t, STORE_NS_SYNC_IDS, prefix, plen, hi, plen, collect, p)
              : store_kv_scan(s->t, STORE_NS_SYNC_IDS, p->last, p->lastlen, hi, plen, collect, p);
    return st == LORE_OK && p->nomem ? LORE_NOMEM : st;
}

static int id_has_files(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                        size_t vlen) {
    (void)key, (void)klen, (void)val, (void)vlen;
    *(int *)ctx = 1;
    return 1;
}

/* 1 when some synced file produces id (a record's own id), 0 if none; -1 on
 * a store error. */
static int id_produced(ingest_session *s, const char *source, const char *id) {
    char k[KEY_MAX], hi[KEY_MAX];
    size_t kl = make_key(k, 'R', source, id, NULL);
    if (!kl) return 0;
    memcpy(hi, k, kl);
    hi[kl - 1] = 1;
    int found = 0;
    lore_status st = store_kv_scan(s->t, STORE_NS_SYNC_IDS, k, kl, hi, kl, id_has_files, &found);
    return st != LORE_OK ? -1 : found;
}

int ingest_sync_ids_known(ingest_session *s, const char *source, const char *id) {
    return id_produced(s, source, id);
}

/* Forgets that file produces id; deletes the document when no synced file
 * produces it any more. */
static lore_status drop(ingest_session *s, const char *source, const char *file, const char *id) {
    char k[KEY_MAX];
    lore_status st = ingest_open_batch(s);
    size_t kl = make_key(k, 'F', source, file, id);
    if (st == LORE_OK && kl) st = store_kv_delete(s->t, STORE_NS_SYNC_IDS, k, kl);
    if (st == LORE_NOT_FOUND) st = LORE_OK;
    kl = make_key(k, 'R', source, id, file);
    if (st == LORE_OK && kl) st = store_kv_delete(s->t, STORE_NS_SYNC_IDS, k, kl);
    if (st == LORE_NOT_FOUND) st = LORE_OK;
    if (st != LORE_OK) return st;
    int others = id_produced(s, source, id);
    if (others) return others < 0 ? LORE_IO : LORE_OK;
    int64_t rowid;
    st = store_doc_lookup(s->t, source, id, &rowid, NULL);
    if (st == LORE_NOT_FOUND) return LORE_OK;
    if (st == LORE_OK) st = ingest_remove_doc(s, rowid);
    return st;
}

static lore_status record(ingest_session *s, const char *source, const char *file, const char *id) {
    char k[KEY_MAX];
    lore_status st = ingest_open_batch(s);
    size_t kl = make_key(k, 'F', source, file, id);
    if (st == LORE_OK && kl) st = store_kv_put(s->t, STORE_NS_SYNC_IDS, k, kl, "", 0);
    kl = make_key(k, 'R', source, id, file);
    if (st == LORE_OK && kl) st = store_kv_put(s->t, STORE_NS_SYNC_IDS, k, kl, "", 0);
    s->batch_docs++; /* so a file of many records commits in steps */
    return st;
}

/* Calls fn for every id recorded for file, a page at a time (fn may
 * write). */
static lore_status each_id(ingest_session *s, const char *source, const char *file,
                           lore_status (*fn)(ingest_session *, const char *, const char *,
                                             const char *, void *),
                           void *ctx) {
    char prefix[KEY_MAX];
    size_t plen = make_key(prefix, 'F', source, file, NULL);
    if (!plen) return LORE_OK;
    page *p = calloc(1, sizeof *p);
    if (!p) return LORE_NOMEM;
    lore_status st = LORE_OK;
    for (int first = 1; st == LORE_OK; first = 0) {
        if ((st = next_page(s, prefix, plen, p, first)) != LORE_OK) break;
        size_t n = p->n;
        for (size_t i = 0; i < n && st == LORE_OK; i++)
            st = fn(s, source, file, p->items[i], ctx);
        if (st == LORE_OK) st = ingest_maybe_commit(s);
        if (n < PAGE) break;
    }
    page_clear(p);
    free(p);
    return st;
}

static lore_status drop_unproduced(ingest_session *s, const char *source, const char *file,
                                   const char *id, void *ctx) {
    const strmap *produced = ctx;
    if (strmap_find(produced, id, strlen(id)) != UINT32_MAX) return LORE_OK;
    return drop(s, source, file, id);
}

lore_status ingest_sync_ids_reconcile(ingest_session *s, const char *source, const char *file,
                                      const strmap *produced) {
    lore_status st = each_id(s, source, file, drop_unproduced, (void *)produced);
    for (uint32_t i = 0; i < produced->count && st == LORE_OK; i++) {
        uint32_t len;
        const char *id = strmap_key(produced, i, &len);
        if (ingest_sync_path_named(file, id)) continue;
        st = record(s, source, file, id);
        if (st == LORE_OK) st = ingest_maybe_commit(s);
    }
    return st;
}

static lore_status drop_all(ingest_session *s, const char *source, const char *file, const char *id,
                            void *ctx) {
    (void)ctx;
    return drop(s, source, file, id);
}

lore_status ingest_sync_ids_forget(ingest_session *s, const char *source, const char *file) {
    return each_id(s, source, file, drop_all, NULL);
}

static lore_status move_one(ingest_session *s, const char *source, const char *file, const char *id,
                            void *ctx) {
    const char *to = ctx;
    lore_status st = record(s, source, to, id);
    char k[KEY_MAX];
    size_t kl = make_key(k, 'F', source, file, id);
    if (st == LORE_OK && kl) st = store_kv_delete(s->t, STORE_NS_SYNC_IDS, k, kl);
    if (st == LORE_NOT_FOUND) st = LORE_OK;
    kl = make_key(k, 'R', source, id, file);
    if (st == LORE_OK && kl) st = store_kv_delete(s->t, STORE_NS_SYNC_IDS, k, kl);
    return st == LORE_NOT_FOUND ? LORE_OK : st;
}

lore_status ingest_sync_ids_move(ingest_session *s, const char *source, const char *from,
                                 const char *to) {
    return each_id(s, source, from, move_one, (void *)to);
}
