/* Folder syncs: the documents of a source that came from files under a
 * directory are made to match it (ingest.h, docs/jobs.md).
 *
 * Which documents came from where: a file's documents have its resolved
 * path as external id ("/dir/a.md"), or the path and a number when it holds
 * several ("/dir/a.jsonl#17"). A sync of R therefore owns exactly the
 * source's ids in ["R/", "R0") ('0' follows '/'): ids of other sources or
 * of other directories are never touched. Ids that a record chose itself
 * (JSON "id") are tracked per file by ingest_sync_ids.c.
 *
 * The manifest (key-value namespace STORE_NS_SYNC, written in the ingest's
 * transactions) keeps per source and file what the last sync saw: device,
 * inode, size, mtime, a hash of the added principals, the number of
 * path-named documents and the SHA-256 of the raw bytes. With it a sync
 *   - skips a file whose stat and principals are unchanged (without reading
 *     it) when its documents are all there; a file recorded within 2 s of
 *     its mtime is "racy" (it may change again in the same mtime tick and
 *     size), so its bytes are hashed and compared instead;
 *   - renames: a new file whose raw bytes hash like a recorded file that is
 *     gone takes over that file's documents in place (same chunks and index
 *     entries, new external and public ids), unless a title taken from the
 *     old file name would change, which needs a parse;
 *   - after reading a changed file, deletes those of its documents it no
 *     longer produced (a JSON Lines file that lost lines).
 * At the end, the ids under R whose file is gone (lstat says ENOENT or
 * ENOTDIR, or a directory now stands there) are deleted. A file that could
 * not be read or parsed keeps its documents; a file that cannot be checked
 * (permission) counts as present. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/sha256.h"
#include "util/dirutil.h"
#include "ingest/ingest_int.h"

#define FP_VERSION 1
#define FP_LEN 82
#define RACY_NS 2000000000ll            /* an mtime this close to the sync may hide a change */
#define MANIFEST_MAX_FILES (8u << 20)   /* files recorded under one directory */
#define PRODUCED_MAX_BYTES (256u << 20) /* ids remembered for one file */
#define PAGE 512                        /* documents per listing page */
#define NDOCS_SKIPPED (1ull << 63)      /* in ndocs: the file is of no format lore reads */

typedef struct fingerprint {
    uint64_t dev, ino;
    int64_t size, mtime_ns;
    uint64_t ndocs;
    uint8_t opts[8];
    uint8_t raw[32];
    uint8_t racy; /* recorded within RACY_NS of its mtime: check the bytes */
} fingerprint;

typedef struct entry {
    fingerprint fp;
    uint32_t next_same; /* next entry with the same raw hash, UINT32_MAX: none */
    int claimed;        /* its documents were moved to a renamed file */
} entry;

struct ingest_sync {
    const char *source;
    char prefix[PATH_MAX + 1]; /* "R/" */
    char below[PATH_MAX + 1];  /* "R0" */
    uint8_t opts[8];
    strmap paths;                   /* recorded file -> entries index */
    strmap raws;                    /* raw hash -> index into raw_first */
    uint32_t *raw_first, *raw_last; /* per raw hash: first and last entry with it */
    entry *ents;
    size_t nents, cap;
    /* The file being ingested. */
    int active;
    uint64_t failed_before;  /* the session's docs_failed when the file began */
    uint64_t skipped_before; /* and its files_skipped */
    int have_raw;
    uint8_t raw[32];
    strmap produced;
    size_t produced_bytes;
    int produced_over;
};

/* ---- manifest records ---- */

static void put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void fp_encode(const fingerprint *f, uint8_t out[FP_LEN]) {
    out[0] = FP_VERSION;
    put64(out + 1, f->dev);
    put64(out + 9, f->ino);
    put64(out + 17, (uint64_t)f->size);
    put64(out + 25, (uint64_t)f->mtime_ns);
    put64(out + 33, f->ndocs);
    memcpy(out + 41, f->opts, 8);
    memcpy(out + 49, f->raw, 32);
    out[81] = f->racy;
}

static int fp_decode(const uint8_t *p, size_t n, fingerprint *f) {
    if (n != FP_LEN || p[0] != FP_VERSION) return -1;
    f->dev = get64(p + 1);
    f->ino = get64(p + 9);
    f->size = (int64_t)get64(p + 17);
    f->mtime_ns = (int64_t)get64(p + 25);
    f->ndocs = get64(p + 33);
    memcpy(f->opts, p + 41, 8);
    memcpy(f->raw, p + 49, 32);
    f->racy = p[81];
    return 0;
}

static void fp_from_stat(fingerprint *f, const struct stat *sb, const uint8_t opts[8]) {
    memset(f, 0, sizeof *f);
    f->dev = (uint64_t)sb->st_dev;
    f->ino = (uint64_t)sb->st_ino;
    f->size = (int64_t)sb->st_size;
    f->mtime_ns = (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
    memcpy(f->opts, opts, 8);
}

/* The manifest key: source, a zero byte, the path. */
static size_t manifest_key(const char *source, const char *path, char *out, size_t outlen) {
    size_t a = strlen(source), b = strlen(path);
    if (a + 1 + b > outlen) return 0;
    memcpy(out, source, a);
    out[a] = 0;
    memcpy(out + a + 1, path, b);
    return a + 1 + b;
}

/* Records a file. A file written less than RACY_NS before now may change
 * again within the same mtime tick (and size): it is marked racy, and the
 * next sync compares its bytes rather than trusting its stat (as git does
 * for its index). */
static lore_status manifest_put(ingest_session *s, const char *path, const fingerprint *f) {
    char key[PATH_MAX + 128];
    size_t kl = manifest_key(s->sync->source, path, key, sizeof key);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    fingerprint g = *f;
    g.racy = f->mtime_ns + RACY_NS > (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    uint8_t val[FP_LEN];
    fp_encode(&g, val);
    lore_status st = ingest_open_batch(s);
    if (st == LORE_OK && kl) st = store_kv_put(s->t, STORE_NS_SYNC, key, kl, val, sizeof val);
    return st;
}

static lore_status manifest_delete(ingest_session *s, const char *path) {
    char key[PATH_MAX + 128];
    size_t kl = manifest_key(s->sync->source, path, key, sizeof key);
    lore_status st = ingest_open_batch(s);
    if (st == LORE_OK && kl) st = store_kv_delete(s->t, STORE_NS_SYNC, key, kl);
    return st == LORE_NOT_FOUND ? LORE_OK : st;
}

/* Records a file that the next sync must read whatever its stat says
 * (size -1 never matches). */
static lore_status manifest_reread(ingest_session *s, const char *path) {
    fingerprint f;
    memset(&f, 0, sizeof f);
    f.size = -1;
    return manifest_put(s, path, &f);
}

typedef struct load_ctx {
    ingest_sync *sy;
    size_t skip; /* bytes of "source\0" before the path */
    lore_status st;
} load_ctx;

static int load_one(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen) {
    load_ctx *l = ctx;
    ingest_sync *sy = l->sy;
    fingerprint f;
    if (klen <= l->skip || fp_decode(val, vlen, &f)) return 0; /* another version: re-read */
    if (sy->nents >= MANIFEST_MAX_FILES) {
        l->st = LORE_TOO_LARGE;
        return 1;
    }
    if (sy->nents == sy->cap) {
        size_t nc = sy->cap ? sy->cap * 2 : 256;
        entry *ne = realloc(sy->ents, nc * sizeof *ne);
        uint32_t *nf = ne ? realloc(sy->raw_first, nc * sizeof *nf) : NULL;
        if (nf) sy->raw_first = nf;
        uint32_t *nl = nf ? realloc(sy->raw_last, nc * sizeof *nl) : NULL;
        if (ne) sy->ents = ne;
        if (nl) sy->raw_last = nl;
        if (!nl) {
            l->st = LORE_NOMEM;
            return 1;
        }
        sy->cap = nc;
    }
    uint32_t id, rid;
    int added;
    if (strmap_intern(&sy->paths, (const char *)key + l->skip, klen - l->skip, &id, &added) ||
        strmap_intern(&sy->raws, (const char *)f.raw, 32, &rid, &added)) {
        l->st = LORE_NOMEM;
        return 1;
    }
    /* Both tables give dense ids in insertion order: a path's id is its
     * entry's index; entries with one raw hash chain from raw_first. */
    uint32_t me = (uint32_t)sy->nents;
    entry *e = &sy->ents[me];
    e->fp = f;
    e->claimed = 0;
    e->next_same = UINT32_MAX;
    if (added) {
        sy->raw_first[rid] = sy->raw_last[rid] = me;
    } else {
        sy->ents[sy->raw_last[rid]].next_same = me;
        sy->raw_last[rid] = me;
    }
    sy->nents++;
    return 0;
}

/* ---- documents of a file ---- */

typedef struct doc_ref {
    int64_t rowid;
    char *ext;
} doc_ref;

typedef struct ref_list {
    doc_ref *v;
    size_t n, cap;
    char last[INGEST_MAX_EXTERNAL_ID + 1];
    size_t numbered_from; /* non-zero: keep only ids with digits from here */
    size_t seen;          /* rows the listing returned, kept or not */
    int nomem;
} ref_list;

static int collect(void *ctx, int64_t rowid, const char *ext, const char *hash) {
    (void)hash;
    ref_list *l = ctx;
    l->seen++;
    snprintf(l->last, sizeof l->last, "%s", ext);
    if (l->numbered_from) { /* file_docs: only "path#DIGITS" */
        const char *c = ext + l->numbered_from;
        if (!*c) return 0;
        for (; *c; c++)
            if (*c < '0' || *c > '9') return 0;
    }
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        doc_ref *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv) {
            l->nomem = 1;
            return 1;
        }
        l->v = nv;
        l->cap = nc;
    }
    if (!(l->v[l->n].ext = strdup(ext))) {
        l->nomem = 1;
        return 1;
    }
    l->v[l->n++].rowid = rowid;
    return 0;
}

static void refs_clear(ref_list *l) {
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].ext);
    l->n = 0;
}

static void refs_free(ref_list *l) {
    refs_clear(l);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* The documents named after a file: the path itself and "path#N". */
static lore_status file_docs(ingest_session *s, const char *path, ref_list *out) {
    int64_t rowid;
    lore_status st = store_doc_lookup(s->t, s->sync->source, path, &rowid, NULL);
    if (st == LORE_OK && collect(out, rowid, path, "")) st = LORE_NOMEM;
    if (st != LORE_OK && st != LORE_NOT_FOUND) return st;
    char from[PATH_MAX + 2], below[PATH_MAX + 2];
    snprintf(from, sizeof from, "%s#", path);
    snprintf(below, sizeof below, "%s$", path); /* '$' follows '#' */
    out->numbered_from = strlen(from);
    for (;;) {
        out->seen = 0;
        st = store_doc_scan_external(s->t, s->sync->source, from, below, PAGE, collect, out);
        if (st == LORE_OK && out->nomem) st = LORE_NOMEM;
        if (st != LORE_OK || out->seen < PAGE) break;
        snprintf(from, sizeof from, "%s", out->last);
    }
    out->numbered_from = 0;
    return st;
}

/* ---- renames ---- */

/* The title a parser takes from a file name (parse_title_from_name, after
 * a gzip file's ".gz"): the base name without its extension. */
static void name_title(const char *path, char *out, size_t outlen) {
    char inner[PATH_MAX];
    ingest_gzip_inner_name(path, inner, sizeof inner);
    const char *base = strrchr(inner, '/');
    base = base ? base + 1 : inner;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    if (n >= outlen) n = outlen - 1;
    memcpy(out, base, n);
    out[n] = 0;
}

/* Moves the documents of old (a file that is gone) to real. 1: moved; 0:
 * not possible without a parse (a name-derived title would change, or an
 * id is taken), the caller ingests the file. */
static int move_docs(ingest_session *s, const char *old, const char *real, lore_status *st) {
    ref_list l = {0};
    int moved = 0;
    if ((*st = file_docs(s, old, &l)) != LORE_OK || !l.n) goto out;
    char ot[PATH_MAX], nt[PATH_MAX];
    name_title(old, ot, sizeof ot);
    name_title(real, nt, sizeof nt);
    size_t ol = strlen(old);
    for (size_t i = 0; i < l.n; i++) {
        char nid[PATH_MAX + 64];
        if (snprintf(nid, sizeof nid, "%s%s", real, l.v[i].ext + ol) >= (int)sizeof nid ||
            strlen(nid) > INGEST_MAX_EXTERNAL_ID)
            goto out;
        *st = store_doc_lookup(s->t, s->sync->source, nid, NULL, NULL);
        if (*st == LORE_OK) goto out_ok; /* taken: ingest instead */
        if (*st != LORE_NOT_FOUND) goto out;
        if (!strcmp(l.v[i].ext, old) && strcmp(ot, nt)) {
            store_doc *d = NULL;
            if ((*st = store_doc_get_rowid(s->t, l.v[i].rowid, 0, &d)) != LORE_OK) goto out;
            int named = d->title && !strcmp(d->title, ot);
            store_doc_free(d);
            if (named) goto out_ok; /* the title would change: parse */
        }
    }
    if ((*st = ingest_open_batch(s)) != LORE_OK) goto out;
    for (size_t i = 0; i < l.n && *st == LORE_OK; i++) {
        char nid[PATH_MAX + 64];
        snprintf(nid, sizeof nid, "%s%s", real, l.v[i].ext + ol);
        *st = store_doc_rename(s->t, l.v[i].rowid, nid);
        s->batch_docs++;
    }
    if (*st != LORE_OK || (*st = ingest_sync_ids_move(s, s->sync->source, old, real))) goto out;
    s->stats.docs_renamed += l.n;
    moved = 1;
out_ok:
    *st = LORE_OK;
out:
    refs_free(&l);
    return moved;
}

/* Whether a path is gone for good: absent, or no longer a file. A path
 * that cannot be checked (permission) is not gone. */
static int path_gone(const char *path) {
    struct stat sb;
    if (lstat(path, &sb) == 0) return S_ISDIR(sb.st_mode);
    return errno == ENOENT || errno == ENOTDIR;
}

static int hash_file(const char *path, uint8_t out[32]) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    lore_sha256_ctx *h = lore_sha256_new();
    uint8_t buf[65536];
    int rc = h ? 0 : -1;
    while (!rc) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) rc = -1;
        if (r <= 0) break;
        lore_sha256_update(h, buf, (size_t)r);
    }
    close(fd);
    if (h) lore_sha256_final(h, out);
    return rc;
}

/* ---- the walk's hooks ---- */

static int under_root(const ingest_sync *sy, const char *real) {
    return !strncmp(real, sy->prefix, strlen(sy->prefix));
}

int ingest_sync_file_begin(ingest_session *s, const char *real, const struct stat *sb,
                           lore_status *st) {
    ingest_sync *sy = s->sync;
    *st = LORE_OK;
    sy->active = under_root(sy, real);
    if (!sy->active) return 0; /* a link out of the directory: not this sync's */
    strmap_clear(&sy->produced);
    sy->produced_bytes = 0;
    sy->produced_over = 0;
    sy->have_raw = 0;
    sy->failed_before = s->stats.docs_failed;
    sy->skipped_before = s->stats.files_skipped;
    fingerprint now;
    fp_from_stat(&now, sb, sy->opts);
    uint32_t idx = strmap_find(&sy->paths, real, strlen(real));
    if (idx != UINT32_MAX) {
        const fingerprint *f = &sy->ents[idx].fp;
        int same = f->dev == now.dev && f->ino == now.ino && f->size == now.size &&
                   f->mtime_ns == now.mtime_ns && !memcmp(f->opts, now.opts, 8);
        if (same && f->racy) {
            sy->have_raw = !hash_file(real, sy->raw);
            same = sy->have_raw && !memcmp(sy->raw, f->raw, 32);
        }
        if (same) {
            ref_list l = {0};
            *st = file_docs(s, real, &l);
            size_t n = l.n;
            refs_free(&l);
            if (*st != LORE_OK) return -1;
            if (n == (f->ndocs & ~NDOCS_SKIPPED)) { /* unchanged, and all there */
                s->stats.files++;
                s->stats.docs_unchanged += n;
                if (f->ndocs & NDOCS_SKIPPED) s->stats.files_skipped++;
                sy->active = 0;
                if (f->racy && (*st = manifest_put(s, real, f)) != LORE_OK) return -1;
                return 1;
            }
        }
    }
    if (!sy->have_raw) sy->have_raw = !hash_file(real, sy->raw);
    if (idx != UINT32_MAX || !sy->have_raw) return 0;
    /* A new file: is it one that moved? */
    uint32_t rid = strmap_find(&sy->raws, (const char *)sy->raw, 32);
    uint32_t e = rid == UINT32_MAX ? UINT32_MAX : sy->raw_first[rid];
    for (; e != UINT32_MAX; e = sy->ents[e].next_same) {
        uint32_t len;
        const char *old = strmap_key(&sy->paths, e, &len);
        if (sy->ents[e].claimed || memcmp(sy->ents[e].fp.opts, now.opts, 8) || !path_gone(old))
            continue;
        if (!move_docs(s, old, real, st)) {
            if (*st != LORE_OK) return -1;
            continue;
        }
        sy->ents[e].claimed = 1;
        now.ndocs = sy->ents[e].fp.ndocs & ~NDOCS_SKIPPED;
        memcpy(now.raw, sy->raw, 32);
        if ((*st = manifest_delete(s, old)) != LORE_OK ||
            (*st = manifest_put(s, real, &now)) != LORE_OK || (*st = ingest_maybe_commit(s)))
            return -1;
        ingest_report(s, 0, real, "renamed from %s (content unchanged: not parsed again)", old);
        s->stats.files++;
        sy->active = 0;
        return 1;
    }
    return 0;
}

void ingest_sync_doc_seen(ingest_session *s, const char *external_id) {
    ingest_sync *sy = s->sync;
    if (!sy->active || sy->produced_over) return;
    size_t n = strlen(external_id);
    uint32_t id;
    int added;
    if (sy->produced_bytes + n > PRODUCED_MAX_BYTES ||
        strmap_intern(&sy->produced, external_id, n, &id, &added) != LORE_OK) {
        sy->produced_over = 1;
        return;
    }
    sy->produced_bytes += n + 16;
}

lore_status ingest_sync_file_end(ingest_session *s, const char *real, const struct stat *sb,
                                 int failed) {
    ingest_sync *sy = s->sync;
    if (!sy->active) return LORE_OK;
    sy->active = 0;
    /* Not read or parsed, or a record of it was not (a bad JSON Lines line):
     * keep its documents, which that record's may be among, and read it
     * again next time, so its errors are reported again rather than hidden
     * behind "unchanged" (the entry stays, so the file's ids are dropped
     * when it goes). */
    if (failed || s->stats.docs_failed > sy->failed_before) {
        lore_status rst = manifest_reread(s, real);
        return rst == LORE_OK ? ingest_maybe_commit(s) : rst;
    }
    ref_list l = {0};
    lore_status st = file_docs(s, real, &l);
    size_t kept = 0;
    for (size_t i = 0; i < l.n && st == LORE_OK; i++) {
        const char *x = l.v[i].ext;
        if (sy->produced_over || strmap_find(&sy->produced, x, strlen(x)) != UINT32_MAX) {
            kept++;
            continue;
        }
        st = ingest_remove_doc(s, l.v[i].rowid);
    }
    refs_free(&l);
    if (st == LORE_OK && !sy->produced_over)
        st = ingest_sync_ids_reconcile(s, sy->source, real, &sy->produced);
    if (st != LORE_OK) return st;
    if (sy->produced_over)
        ingest_report(s, 0, real,
                      "too many documents to track (over %u MiB of ids): those it no longer "
                      "holds were not deleted",
                      PRODUCED_MAX_BYTES >> 20);
    fingerprint now;
    fp_from_stat(&now, sb, sy->opts);
    now.ndocs = kept;
    if (s->stats.files_skipped > sy->skipped_before) now.ndocs |= NDOCS_SKIPPED;
    if (sy->have_raw) memcpy(now.raw, sy->raw, 32);
    if ((st = manifest_put(s, real, &now)) != LORE_OK) return st;
    return ingest_maybe_commit(s);
}

/* ---- the sync ---- */

/* The file a path-named id came from: the id itself, or what precedes a
 * final "#DIGITS". */
static int owner_gone(const char *ext, char *cache, size_t cachelen, int *cache_gone) {
    const char *hash = strrchr(ext, '#');
    int numbered = hash && hash[1];
    for (const char *c = hash ? hash + 1 : NULL; numbered && *c; c++)
        if (*c < '0' || *c > '9') numbered = 0;
    if (!path_gone(ext)) return 0;
    if (!numbered) return 1;
    size_t n = (size_t)(hash - ext);
    if (n >= cachelen) return 1;
    if (strncmp(cache, ext, n) || cache[n]) {
        memcpy(cache, ext, n);
        cache[n] = 0;
        *cache_gone = path_gone(cache);
    }
    return *cache_gone;
}

/* Deletes the documents under the directory whose file is gone and the
 * manifest entries of gone files. */
static lore_status sync_finish(ingest_session *s) {
    ingest_sync *sy = s->sync;
    ref_list l = {0};
    char from[PATH_MAX + 2], cache[PATH_MAX + 2] = "";
    int cache_gone = 0;
    lore_status st = LORE_OK;
    snprintf(from, sizeof from, "%s", sy->prefix); /* "R/" itself names no file */
    for (;;) {
        refs_clear(&l);
        l.seen = 0;
        st = store_doc_scan_external(s->t, sy->source, from, sy->below, PAGE, collect, &l);
        if (st == LORE_OK && l.nomem) st = LORE_NOMEM;
        if (st != LORE_OK) break;
        for (size_t i = 0; i < l.n && st == LORE_OK; i++) {
            if (!owner_gone(l.v[i].ext, cache, sizeof cache, &cache_gone)) continue;
            /* A record's own id that looks like a path under DIR is not a
             * file's: its synced files decide (ingest_sync_ids.c). */
            int own = ingest_sync_ids_known(s, sy->source, l.v[i].ext);
            if (own < 0) st = LORE_IO;
            if (!own) st = ingest_remove_doc(s, l.v[i].rowid);
        }
        if (st == LORE_OK) st = ingest_maybe_commit(s);
        if (st != LORE_OK || l.seen < PAGE) break;
        snprintf(from, sizeof from, "%s", l.last);
    }
    refs_free(&l);
    for (size_t i = 0; i < sy->nents && st == LORE_OK; i++) {
        uint32_t len;
        const char *p = strmap_key(&sy->paths, (uint32_t)i, &len);
        if (sy->ents[i].claimed || !path_gone(p)) continue;
        st = ingest_sync_ids_forget(s, sy->source, p);
        if (st == LORE_OK) st = manifest_delete(s, p);
    }
    if (st == LORE_OK) st = ingest_commit(s);
    return st;
}

static void sync_free(ingest_sync *sy) {
    if (!sy) return;
    strmap_free(&sy->paths);
    strmap_free(&sy->raws);
    strmap_free(&sy->produced);
    free(sy->raw_first);
    free(sy->raw_last);
    free(sy->ents);
    free(sy);
}

int ingest_sync_dir_empty(const char *dir) {
    return lore_dir_empty(dir) == 1;
}

lore_status ingest_sync_path(ingest_session *s, const char *dir, char *err, size_t errlen) {
    char real[PATH_MAX];
    struct stat sb;
    if (!realpath(dir, real) || stat(real, &sb) != 0) {
        snprintf(err, errlen, "%s: cannot sync: %s; nothing was deleted", dir, strerror(errno));
        return LORE_INVALID;
    }
    if (!S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "%s: cannot sync: not a directory (a sync takes a directory)", dir);
        return LORE_INVALID;
    }
    if (access(real, R_OK | X_OK) != 0) {
        snprintf(err, errlen, "%s: cannot sync: cannot list it: %s; nothing was deleted", dir,
                 strerror(errno));
        return LORE_INVALID;
    }
    ingest_sync *sy = calloc(1, sizeof *sy);
    if (!sy) return LORE_NOMEM;
    strmap_init(&sy->paths);
    strmap_init(&sy->raws);
    strmap_init(&sy->produced);
    sy->source = s->opt.source;
    size_t rl = strlen(real);
    snprintf(sy->prefix, sizeof sy->prefix, "%s%s", real, real[rl - 1] == '/' ? "" : "/");
    snprintf(sy->below, sizeof sy->below, "%s", sy->prefix);
    sy->below[strlen(sy->below) - 1] = '/' + 1;
    /* The principals added to every document are part of what a document
     * is: a sync with other --acl reads every file again. */
    lore_sha256_ctx *h = lore_sha256_new();
    if (!h) {
        sync_free(sy);
        return LORE_NOMEM;
    }
    for (size_t i = 0; i < s->opt.nacl; i++)
        lore_sha256_update(h, s->opt.acl[i], strlen(s->opt.acl[i]) + 1);
    uint8_t d[32];
    lore_sha256_final(h, d);
    memcpy(sy->opts, d, 8);
    char lo[PATH_MAX + 128], hi[PATH_MAX + 128];
    size_t lol = manifest_key(sy->source, sy->prefix, lo, sizeof lo);
    size_t hil = manifest_key(sy->source, sy->below, hi, sizeof hi);
    load_ctx lc = {sy, strlen(sy->source) + 1, LORE_OK};
    lore_status st = lol && hil
                         ? store_kv_scan(s->t, STORE_NS_SYNC, lo, lol, hi, hil, load_one, &lc)
                         : LORE_TOO_LARGE;
    if (st == LORE_OK) st = lc.st;
    if (st == LORE_TOO_LARGE) {
        snprintf(err, errlen, "%s: cannot sync: more than %u files are recorded under it", dir,
                 MANIFEST_MAX_FILES);
        sync_free(sy);
        return LORE_INVALID;
    }
    if (st == LORE_OK && sy->nents && ingest_sync_dir_empty(real)) {
        snprintf(err, errlen, "%s: cannot sync: " INGEST_SYNC_EMPTY_HINT, dir);
        sync_free(sy);
        return LORE_INVALID;
    }
    if (st == LORE_OK) {
        s->sync = sy;
        st = ingest_walk(s, real);
        if (st == LORE_OK) st = sync_finish(s);
        s->sync = NULL;
    }
    sync_free(sy);
    if (st != LORE_OK) ingest_rollback(s);
    return st;
}
