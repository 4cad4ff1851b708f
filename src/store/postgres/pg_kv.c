/* PostgreSQL backend: the key-value space indexes keep their blocks in
 * (kv(ns, key bytea, val bytea), primary key (ns, key): bytea compares
 * bytewise, so scans come back in store.h's key order), and a per-process
 * cache of what transactions read.
 *
 * The cache. A search reads the same index blocks again and again, and
 * asks for the document of every candidate chunk; each is a round trip
 * here where SQLite reads a page it has mapped. So what is read inside a
 * transaction (kv values; chunk -> document and chunk -> owner fields
 * for pg_docs.c, under namespaces of their own) is kept in memory for every
 * tenant handle of the process, keyed by (the schema's nonce, ns, key). An
 * entry is valid for the generation of its schema it was read at (and those
 * a write transaction carries it to, below): every transaction that
 * writes (documents, chunks or kv rows) bumps cache_gen.gen in the round
 * trip that commits it (pg_tx.c), whichever process or node it runs in, and
 * a read snapshot reads the generation it sees in the round trip that opens
 * it. A snapshot of generation G uses and fills only entries of G; seeing a
 * newer G the cache forgets the schema's older entries (lazily: each is
 * dropped when next met, or aged out); an older snapshot (a long read
 * overtaken by a newer one) neither reads nor fills. The nonce (random per
 * schema, made at migration) keeps two databases or a re-created schema
 * from ever sharing entries. Reads outside a transaction go to the server.
 *
 * A write transaction holds the tenant's writer lock, and reads the
 * generation G after the lock is granted (pg_tx.c). What it reads of what
 * it has not written is what was committed at G, so it uses the entries of
 * G, and fills entries of its own (private: another snapshot of G does not
 * see them: a single-call write outside a transaction does not take the
 * lock, and may commit meanwhile). What it writes it reads from the server afterwards: kv keys
 * and ranges it put or deleted, kv scans of a namespace it wrote, and
 * documents and chunks once it wrote any (pg_wset). At commit the bump
 * answers the new generation: if it is G+1 (no other commit since G) and
 * the cache is still at G, the cache moves to G+1 keeping its entries (an
 * epoch names a run of generations whose entries carry over), minus those
 * of what the transaction wrote, and its private entries become shared;
 * else (or on a rollback) its private entries are dropped and nothing else
 * changes. kv scans are cached a page at a time, keyed by the page's
 * bounds and row limit (PG_CACHE_KV_SCAN). Absent keys are cached too (lexical lookups of terms not
 * in a block, chunks deleted since the index scored them). Memory is capped (LRU by bytes; no entry
 * above an eighth of the cap). */
#include "store/postgres/pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KV_KEY_MAX ((size_t)1 << 20)
#define KV_VAL_MAX ((size_t)1 << 30)
#define SCAN_FIRST_ROWS 64         /* a scan's first page; many stop early */
#define SCAN_MAX_ROWS 1024         /* pages double up to this many rows */
#define SCAN_PAGE_BYTES (8u << 20) /* while a page stays under this */

/* ---- the cache ---- */

typedef struct kv_space {
    char nonce[33];
    int64_t gen;    /* the newest generation a snapshot saw */
    uint64_t epoch; /* entries of another epoch are stale */
} kv_space;

typedef struct kv_entry {
    struct kv_entry *hnext;       /* hash chain */
    struct kv_entry *prev, *next; /* LRU list, most recent first */
    uint64_t hash;
    int space; /* index into spaces */
    int ns;
    uint64_t epoch;
    uint64_t owner; /* 0: shared; else the write transaction that filled it */
    int absent;     /* the key has no row */
    size_t klen, vlen;
    uint8_t data[]; /* key, then value */
} kv_entry;

static struct {
    pthread_mutex_t mu;
    kv_entry **buckets;
    size_t nbuckets;
    size_t count;
    size_t bytes, cap;
    kv_space *spaces;
    int nspaces;
    pg_kv_cache_stats stats;
    uint64_t counter; /* epochs and transaction tokens */
    kv_entry head;    /* LRU sentinel; last, as its type ends in a flexible array */
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER, .cap = (size_t)64 << 20};

static uint64_t hash_key(int space, int ns, const void *key, size_t klen) {
    uint64_t h = 1469598103934665603ull ^ (uint64_t)space * 0x9e3779b97f4a7c15ull ^ (uint32_t)ns;
    const uint8_t *p = key;
    for (size_t i = 0; i < klen; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h ^ h >> 29;
}

static size_t entry_bytes(const kv_entry *e) {
    return sizeof *e + e->klen + e->vlen;
}

static void lru_unlink(kv_entry *e) {
    e->prev->next = e->next;
    e->next->prev = e->prev;
}

static void lru_front(kv_entry *e) {
    e->next = cache.head.next;
    e->prev = &cache.head;
    cache.head.next->prev = e;
    cache.head.next = e;
}

static void entry_drop(kv_entry *e) {
    kv_entry **pp = &cache.buckets[e->hash % cache.nbuckets];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(e);
    cache.bytes -= entry_bytes(e);
    cache.count--;
    free(e);
}

static void cache_init_locked(void) {
    if (!cache.head.next) cache.head.next = cache.head.prev = &cache.head;
}

/* The space of a nonce, added when new (-1: out of memory). */
static int space_of(const char *nonce) {
    for (int i = 0; i < cache.nspaces; i++)
        if (!strcmp(cache.spaces[i].nonce, nonce)) return i;
    kv_space *ns = realloc(cache.spaces, (size_t)(cache.nspaces + 1) * sizeof *ns);
    if (!ns) return -1;
    cache.spaces = ns;
    snprintf(ns[cache.nspaces].nonce, sizeof ns->nonce, "%s", nonce);
    ns[cache.nspaces].gen = -1;
    ns[cache.nspaces].epoch = ++cache.counter;
    return cache.nspaces++;
}

/* The space a transaction may use, or -1 (none open, or an older
 * generation than the cache's). Advances the space to the transaction's. */
static int usable_space(const pg_tenant *t) {
    if (!t->in_tx || !t->nonce_id[0] || !cache.cap) return -1;
    int sp = space_of(t->nonce_id);
    if (sp < 0) return -1;
    if (cache.spaces[sp].gen < t->gen) {
        cache.spaces[sp].gen = t->gen;
        cache.spaces[sp].epoch = ++cache.counter;
    }
    return cache.spaces[sp].gen == t->gen ? sp : -1;
}

static kv_entry *find(int sp, int ns, const void *key, size_t klen, uint64_t h, uint64_t owner) {
    if (!cache.nbuckets) return NULL;
    for (kv_entry *e = cache.buckets[h % cache.nbuckets]; e; e = e->hnext)
        if (e->hash == h && e->space == sp && e->ns == ns && e->owner == owner && e->klen == klen &&
            !memcmp(e->data, key, klen))
            return e;
    return NULL;
}

static void grow_buckets(void) {
    size_t nb = cache.nbuckets ? cache.nbuckets * 2 : 1024;
    kv_entry **b = calloc(nb, sizeof *b);
    if (!b) return; /* longer chains, still correct */
    for (size_t i = 0; i < cache.nbuckets; i++)
        for (kv_entry *e = cache.buckets[i], *n; e; e = n) {
            n = e->hnext;
            e->hnext = b[e->hash % nb];
            b[e->hash % nb] = e;
        }
    free(cache.buckets);
    cache.buckets = b;
    cache.nbuckets = nb;
}

/* ---- a write transaction's state ---- */

typedef struct kv_range {
    int ns, bounded;
    uint8_t *lo, *hi;
    size_t lolen, hilen;
} kv_range;

/* What a write transaction wrote, in the terms of the cache. */
struct pg_wset {
    uint64_t token; /* owner of its private entries */
    int sp;         /* its space, -1: none */
    int docs;       /* it wrote documents or chunks */
    int failed;     /* out of memory: everything counts as written */
    uint64_t *keys; /* open addressing: hashes (| 1) of kv keys it wrote */
    size_t nkeys, keycap;
    int *scan_ns; /* kv namespaces it wrote (their scans) */
    size_t nscan, scancap;
    kv_range *ranges; /* kv ranges it deleted */
    size_t nranges, rangecap;
};

static uint64_t tx_token(const pg_tenant *t) {
    return t->wset ? t->wset->token : 0;
}

static int key_set_has(const struct pg_wset *w, uint64_t h) {
    if (!w->keycap) return 0;
    h |= 1;
    for (size_t i = h % w->keycap;; i = (i + 1) % w->keycap) {
        if (w->keys[i] == h) return 1;
        if (!w->keys[i]) return 0;
    }
}

static int key_set_add(struct pg_wset *w, uint64_t h) {
    if (key_set_has(w, h)) return 0;
    if (2 * (w->nkeys + 1) > w->keycap) {
        size_t cap = w->keycap ? 2 * w->keycap : 64;
        uint64_t *k = calloc(cap, sizeof *k);
        if (!k) return -1;
        for (size_t i = 0; i < w->keycap; i++)
            if (w->keys[i]) {
                size_t j = w->keys[i] % cap;
                while (k[j])
                    j = (j + 1) % cap;
                k[j] = w->keys[i];
            }
        free(w->keys);
        w->keys = k;
        w->keycap = cap;
    }
    size_t j = (h | 1) % w->keycap;
    while (w->keys[j])
        j = (j + 1) % w->keycap;
    w->keys[j] = h | 1;
    w->nkeys++;
    return 0;
}

static int scan_dirty(const struct pg_wset *w, int ns) {
    for (size_t i = 0; i < w->nscan; i++)
        if (w->scan_ns[i] == ns) return 1;
    return 0;
}

static int bytes_cmp(const void *a, size_t al, const void *b, size_t bl) {
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

static int in_ranges(const struct pg_wset *w, int ns, const void *key, size_t klen) {
    for (size_t i = 0; i < w->nranges; i++) {
        const kv_range *r = &w->ranges[i];
        if (r->ns == ns && bytes_cmp(key, klen, r->lo, r->lolen) >= 0 &&
            (!r->bounded || bytes_cmp(key, klen, r->hi, r->hilen) < 0))
            return 1;
    }
    return 0;
}

/* Whether an entry (ns, key) may hold what the transaction wrote. */
static int written(const struct pg_wset *w, int ns, const void *key, size_t klen, uint64_t h) {
    if (w->failed) return 1;
    if (ns == PG_CACHE_KV_SCAN) {
        uint32_t kns;
        if (klen < sizeof kns) return 1;
        memcpy(&kns, key, sizeof kns);
        return scan_dirty(w, (int)kns);
    }
    if (ns < 0) return w->docs;
    return key_set_has(w, h) || in_ranges(w, ns, key, klen);
}

/* A write transaction reads (ns, key) from the server, not the cache. */
static int tx_bypass(const pg_tenant *t, int ns, const void *key, size_t klen) {
    if (t->in_tx != 1) return 0;
    const struct pg_wset *w = t->wset;
    if (!w || w->sp < 0) return 1;
    return written(w, ns, key, klen, hash_key(w->sp, ns, key, klen));
}

static void wset_free(struct pg_wset *w) {
    if (!w) return;
    for (size_t i = 0; i < w->nranges; i++) {
        free(w->ranges[i].lo);
        free(w->ranges[i].hi);
    }
    free(w->ranges);
    free(w->scan_ns);
    free(w->keys);
    free(w);
}

void pg_cache_tx_begin(pg_tenant *t) {
    wset_free(t->wset);
    t->wset = calloc(1, sizeof *t->wset);
    if (!t->wset) return; /* every read goes to the server */
    pthread_mutex_lock(&cache.mu);
    cache_init_locked();
    t->wset->token = ++cache.counter;
    t->wset->sp = t->nonce_id[0] ? space_of(t->nonce_id) : -1;
    pthread_mutex_unlock(&cache.mu);
}

void pg_cache_tx_write_docs(pg_tenant *t) {
    if (t->in_tx == 1 && t->wset) t->wset->docs = 1;
}

static void *dup_bytes(const void *p, size_t n) {
    void *d = malloc(n ? n : 1);
    if (d && n) memcpy(d, p, n);
    return d;
}

void pg_cache_tx_wrote(pg_tenant *t, int ns, const void *lo, size_t lolen, const void *hi,
                       size_t hilen, int range) {
    struct pg_wset *w = t->wset;
    if (t->in_tx != 1 || !w || w->sp < 0 || w->failed) return;
    if (!scan_dirty(w, ns)) {
        if (w->nscan == w->scancap) {
            size_t cap = w->scancap ? 2 * w->scancap : 8;
            int *n = realloc(w->scan_ns, cap * sizeof *n);
            if (!n) goto nomem;
            w->scan_ns = n, w->scancap = cap;
        }
        w->scan_ns[w->nscan++] = ns;
    }
    if (!range) {
        if (key_set_add(w, hash_key(w->sp, ns, lo, lolen)) != 0) goto nomem;
        return;
    }
    if (w->nranges == w->rangecap) {
        size_t cap = w->rangecap ? 2 * w->rangecap : 4;
        kv_range *n = realloc(w->ranges, cap * sizeof *n);
        if (!n) goto nomem;
        w->ranges = n, w->rangecap = cap;
    }
    kv_range r = {.ns = ns, .bounded = hi != NULL, .lolen = lolen, .hilen = hilen};
    r.lo = dup_bytes(lo, lolen);
    r.hi = hi ? dup_bytes(hi, hilen) : NULL;
    if (!r.lo || (hi && !r.hi)) {
        free(r.lo);
        free(r.hi);
        goto nomem;
    }
    w->ranges[w->nranges++] = r;
    return;
nomem:
    w->failed = 1;
}

void pg_cache_tx_end(pg_tenant *t, int committed, int64_t new_gen) {
    struct pg_wset *w = t->wset;
    t->wset = NULL;
    if (!w) return;
    pthread_mutex_lock(&cache.mu);
    cache_init_locked();
    int sp = w->sp;
    if (sp >= 0) {
        kv_space *s = &cache.spaces[sp];
        int carry = committed && new_gen == t->gen + 1 && s->gen == t->gen;
        for (kv_entry *e = cache.head.next, *n; e != &cache.head; e = n) {
            n = e->next;
            if (e->space != sp) continue;
            if (e->owner == w->token) {
                if (carry && e->epoch == s->epoch &&
                    !written(w, e->ns, e->data, e->klen, e->hash) &&
                    !find(sp, e->ns, e->data, e->klen, e->hash, 0))
                    e->owner = 0;
                else
                    entry_drop(e);
            } else if (carry && e->owner == 0 && written(w, e->ns, e->data, e->klen, e->hash)) {
                entry_drop(e);
            }
        }
        if (carry) s->gen = new_gen; /* same epoch: the rest carries over */
    }
    pthread_mutex_unlock(&cache.mu);
    wset_free(w);
}

int pg_cache_get(const pg_tenant *t, int ns, const void *key, size_t klen, lore_buf *val,
                 lore_status *st, int *sp_out) {
    pthread_mutex_lock(&cache.mu);
    cache_init_locked();
    int sp = tx_bypass(t, ns, key, klen) ? -1 : usable_space(t), hit = 0;
    *sp_out = sp;
    if (sp >= 0) {
        uint64_t h = hash_key(sp, ns, key, klen);
        kv_entry *e = t->in_tx == 1 ? find(sp, ns, key, klen, h, tx_token(t)) : NULL;
        if (!e) e = find(sp, ns, key, klen, h, 0);
        if (e && e->epoch != cache.spaces[sp].epoch) {
            entry_drop(e);
            e = NULL;
        }
        if (e) {
            hit = 1;
            lru_unlink(e);
            lru_front(e);
            cache.stats.hits++;
            if (e->absent) {
                *st = LORE_NOT_FOUND;
            } else {
                lore_buf_reset(val);
                *st = lore_buf_append(val, e->data + e->klen, e->vlen);
            }
        } else {
            cache.stats.misses++;
        }
    }
    pthread_mutex_unlock(&cache.mu);
    return hit ? 0 : -1;
}

void pg_cache_put(const pg_tenant *t, int sp, int ns, const void *key, size_t klen, const void *val,
                  size_t vlen) {
    int absent = val == NULL;
    if (sp < 0 || sizeof(kv_entry) + klen + vlen > cache.cap / 8) return;
    if (tx_bypass(t, ns, key, klen)) return; /* written since the read began */
    kv_entry *e = malloc(sizeof *e + klen + vlen);
    if (!e) return;
    e->hash = hash_key(sp, ns, key, klen);
    e->space = sp;
    e->ns = ns;
    e->owner = t->in_tx == 1 ? tx_token(t) : 0;
    e->absent = absent;
    e->klen = klen;
    e->vlen = vlen;
    memcpy(e->data, key, klen);
    if (vlen) memcpy(e->data + klen, val, vlen);
    pthread_mutex_lock(&cache.mu);
    cache_init_locked();
    /* Only while the space is still at this snapshot's generation: a newer
     * snapshot may have moved it on while this one read. */
    kv_entry *old = NULL;
    if (cache.spaces[sp].gen != t->gen) {
        free(e);
        e = NULL;
    } else {
        e->epoch = cache.spaces[sp].epoch;
        if ((old = find(sp, ns, key, klen, e->hash, e->owner))) entry_drop(old);
    }
    if (e) {
        if (cache.count >= cache.nbuckets) grow_buckets();
        if (!cache.nbuckets) {
            free(e);
        } else {
            e->hnext = cache.buckets[e->hash % cache.nbuckets];
            cache.buckets[e->hash % cache.nbuckets] = e;
            lru_front(e);
            cache.bytes += entry_bytes(e);
            cache.count++;
            while (cache.bytes > cache.cap && cache.head.prev != &cache.head) {
                entry_drop(cache.head.prev);
                cache.stats.evictions++;
            }
        }
    }
    pthread_mutex_unlock(&cache.mu);
}

void pg_kv_cache_set_cap(size_t bytes) {
    pthread_mutex_lock(&cache.mu);
    cache_init_locked();
    cache.cap = bytes;
    while (cache.bytes > cache.cap && cache.head.prev != &cache.head)
        entry_drop(cache.head.prev);
    pthread_mutex_unlock(&cache.mu);
}

void pg_kv_cache_get_stats(pg_kv_cache_stats *out) {
    pthread_mutex_lock(&cache.mu);
    *out = cache.stats;
    out->bytes = (int64_t)cache.bytes;
    out->entries = (int64_t)cache.count;
    pthread_mutex_unlock(&cache.mu);
}

/* ---- the statements ---- */

/* A kv write; in a write transaction the cache hears which keys (range 0:
 * the key lo) or range [lo, hi) it touched, before it is sent (a failed
 * statement may still have written nothing: reading afresh is harmless). */
static lore_status kv_write(pg_tenant *t, const char *sql, pg_params *p, int ns, const void *lo,
                            size_t lolen, const void *hi, size_t hilen, int range) {
    pg_call k;
    lore_status st = pg_call_begin(t, &k, PG_WRITE_KV);
    if (st != LORE_OK) return st;
    pg_cache_tx_wrote(t, ns, lo, lolen, hi, hilen, range);
    PGresult *r = pg_call_exec_last(&k, sql, p, &st);
    PQclear(r);
    return pg_call_end(&k, st);
}

lore_status pg_kv_put(store_tenant *base, int ns, const void *key, size_t klen, const void *val,
                      size_t vlen) {
    if (klen > KV_KEY_MAX || vlen > KV_VAL_MAX) return LORE_TOO_LARGE;
    pg_params p = {0};
    pg_param_i64(&p, ns);
    pg_param_bytes(&p, key, klen);
    pg_param_bytes(&p, val, vlen);
    return kv_write((pg_tenant *)base,
                    "INSERT INTO kv(ns, key, val) VALUES($1, $2::bytea, $3::bytea)"
                    " ON CONFLICT (ns, key) DO UPDATE SET val = excluded.val",
                    &p, ns, key, klen, NULL, 0, 0);
}

lore_status pg_kv_get(store_tenant *base, int ns, const void *key, size_t klen, lore_buf *val) {
    pg_tenant *t = (pg_tenant *)base;
    if (klen > KV_KEY_MAX) return LORE_NOT_FOUND;
    lore_status st = LORE_OK;
    int sp;
    if (pg_cache_get(t, ns, key, klen, val, &st, &sp) == 0) return st;
    pg_call k;
    if ((st = pg_call_begin(t, &k, 0)) != LORE_OK) return st;
    pg_params p = {0};
    pg_param_i64(&p, ns);
    pg_param_bytes(&p, key, klen);
    PGresult *r =
        pg_call_exec_last(&k, "SELECT val FROM kv WHERE ns=$1 AND key=$2::bytea", &p, &st);
    if (r) {
        if (PQntuples(r) == 1) {
            size_t len;
            const char *v = pg_get_bytes(r, 0, 0, &len);
            lore_buf_reset(val);
            st = lore_buf_append(val, v, len);
            if (st == LORE_OK) pg_cache_put(t, sp, ns, key, klen, v ? v : "", len);
        } else {
            st = LORE_NOT_FOUND;
            pg_cache_put(t, sp, ns, key, klen, NULL, 0);
        }
        PQclear(r);
    }
    lore_status end = pg_call_end(&k, st == LORE_NOT_FOUND ? LORE_OK : st);
    return end != LORE_OK ? end : st;
}

lore_status pg_kv_delete(store_tenant *base, int ns, const void *key, size_t klen) {
    if (klen > KV_KEY_MAX) return LORE_OK; /* no such key can exist */
    pg_params p = {0};
    pg_param_i64(&p, ns);
    pg_param_bytes(&p, key, klen);
    return kv_write((pg_tenant *)base, "DELETE FROM kv WHERE ns=$1 AND key=$2::bytea", &p, ns, key,
                    klen, NULL, 0, 0);
}

lore_status pg_kv_delete_range(store_tenant *base, int ns, const void *lo, size_t lolen,
                               const void *hi, size_t hilen) {
    pg_params p = {0};
    pg_param_i64(&p, ns);
    pg_param_bytes(&p, lo, lolen);
    if (hi) pg_param_bytes(&p, hi, hilen);
    return kv_write((pg_tenant *)base,
                    hi ? "DELETE FROM kv WHERE ns=$1 AND key >= $2::bytea AND key < $3::bytea"
                       : "DELETE FROM kv WHERE ns=$1 AND key >= $2::bytea",
                    &p, ns, lo, lolen, hi, hilen, 1);
}

/* A scan page's rows, from the server's result or from a cached copy of
 * it (rows of: key length, key, value length, value; lengths as uint32). */
typedef struct scan_rows {
    PGresult *r;
    int i, n;
    const uint8_t *buf;
    size_t len, off;
} scan_rows;

static int rows_next(scan_rows *s, const uint8_t **k, size_t *kl, const uint8_t **v, size_t *vl) {
    if (s->r) {
        if (s->i >= s->n) return 0;
        *k = (const uint8_t *)pg_get_bytes(s->r, s->i, 0, kl);
        *v = (const uint8_t *)pg_get_bytes(s->r, s->i, 1, vl);
        s->i++;
        return 1;
    }
    uint32_t len;
    if (s->len - s->off < sizeof len) return 0;
    memcpy(&len, s->buf + s->off, sizeof len);
    *k = s->buf + s->off + sizeof len, *kl = len;
    s->off += sizeof len + len;
    memcpy(&len, s->buf + s->off, sizeof len);
    *v = s->buf + s->off + sizeof len, *vl = len;
    s->off += sizeof len + len;
    return 1;
}

/* A page's cache key: everything its rows depend on (the query shape, its
 * bounds and row limit), under the kv namespace's own cache namespace. */
static lore_status page_key(lore_buf *key, int ns, int first, const void *from, size_t fromlen,
                            const void *hi, size_t hilen, size_t rows_want) {
    uint32_t head[5] = {(uint32_t)ns, (uint32_t)first, hi != NULL, (uint32_t)rows_want,
                        (uint32_t)fromlen};
    lore_buf_reset(key);
    lore_status st = lore_buf_append(key, head, sizeof head);
    if (st == LORE_OK && fromlen) st = lore_buf_append(key, from, fromlen);
    if (st == LORE_OK && hi && hilen) st = lore_buf_append(key, hi, hilen);
    return st;
}

/* Keeps a page the server returned, when it fits the cache. */
static void page_put(pg_tenant *t, int slot, const lore_buf *key, PGresult *r) {
    if (slot < 0) return;
    size_t total = 0;
    int n = PQntuples(r);
    for (int i = 0; i < n; i++)
        total += 8 + (size_t)PQgetlength(r, i, 0) + (size_t)PQgetlength(r, i, 1);
    if (total > SCAN_PAGE_BYTES) return;
    uint8_t *buf = malloc(total ? total : 1), *p = buf;
    if (!buf) return;
    for (int i = 0; i < n; i++)
        for (int f = 0; f < 2; f++) {
            size_t len;
            const char *v = pg_get_bytes(r, i, f, &len);
            uint32_t l32 = (uint32_t)len;
            memcpy(p, &l32, sizeof l32);
            if (len) memcpy(p + sizeof l32, v, len);
            p += sizeof l32 + len;
        }
    pg_cache_put(t, slot, PG_CACHE_KV_SCAN, key->data, key->len, buf, total);
    free(buf);
}

lore_status pg_kv_scan(store_tenant *base, int ns, const void *lo, size_t lolen, const void *hi,
                       size_t hilen, store_kv_fn fn, void *ctx) {
    pg_tenant *t = (pg_tenant *)base;
    pg_call k;
    lore_status st = pg_call_begin(t, &k, 0);
    if (st != LORE_OK) return st;
    /* Pages with a cursor: the first from lo (inclusive), the next after
     * the last key seen. The callback may read and write the store between
     * pages (a merge writes its new segment while reading the old ones).
     * In a transaction each page is cached as kv values are (an index
     * lists its segments with a scan on every search). */
    lore_buf cursor, key, cached;
    lore_buf_init(&cursor, KV_KEY_MAX);
    lore_buf_init(&key, 2 * KV_KEY_MAX + 64);
    lore_buf_init(&cached, SCAN_PAGE_BYTES);
    int first = 1, stop = 0;
    size_t rows_want = SCAN_FIRST_ROWS;
    while (st == LORE_OK && !stop) {
        const void *from = first ? lo : cursor.data;
        size_t fromlen = first ? lolen : cursor.len;
        scan_rows rows = {0};
        int slot = -1;
        lore_status cst = LORE_OK;
        if ((st = page_key(&key, ns, first, from, fromlen, hi, hilen, rows_want)) != LORE_OK) break;
        if (pg_cache_get(t, PG_CACHE_KV_SCAN, key.data, key.len, &cached, &cst, &slot) == 0) {
            if ((st = cst) != LORE_OK) break;
            rows.buf = (const uint8_t *)cached.data;
            rows.len = cached.len;
        } else {
            pg_params p = {0};
            pg_param_i64(&p, ns);
            pg_param_bytes(&p, from, fromlen);
            pg_param_i64(&p, (int64_t)rows_want);
            if (hi) pg_param_bytes(&p, hi, hilen);
            const char *sql;
            if (first)
                sql = hi ? "SELECT key, val FROM kv WHERE ns=$1 AND key >= $2::bytea"
                           " AND key < $4::bytea ORDER BY key LIMIT $3"
                         : "SELECT key, val FROM kv WHERE ns=$1 AND key >= $2::bytea"
                           " ORDER BY key LIMIT $3";
            else
                sql = hi ? "SELECT key, val FROM kv WHERE ns=$1 AND key > $2::bytea"
                           " AND key < $4::bytea ORDER BY key LIMIT $3"
                         : "SELECT key, val FROM kv WHERE ns=$1 AND key > $2::bytea"
                           " ORDER BY key LIMIT $3";
            if (!(rows.r = pg_call_exec(&k, sql, &p, &st))) break;
            rows.n = PQntuples(rows.r);
            page_put(t, slot, &key, rows.r);
        }
        size_t page_bytes = 0, nrows = 0, kl = 0, vl;
        const uint8_t *kk = NULL, *vv;
        while (!stop && rows_next(&rows, &kk, &kl, &vv, &vl)) {
            nrows++;
            page_bytes += kl + vl;
            stop = fn(ctx, kk, kl, vv, vl);
        }
        if (!stop && nrows) {
            lore_buf_reset(&cursor);
            st = lore_buf_append(&cursor, kk, kl);
        }
        PQclear(rows.r);
        if (nrows < rows_want) break;
        first = 0;
        if (rows_want < SCAN_MAX_ROWS && page_bytes < SCAN_PAGE_BYTES) rows_want *= 2;
    }
    lore_buf_free(&cursor);
    lore_buf_free(&key);
    lore_buf_free(&cached);
    return pg_call_end(&k, st);
}
