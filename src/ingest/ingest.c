/* Ingest sessions: documents -> chunks -> index + store, in batches.
 * See ingest.h for the contract. A batch is one store transaction; the
 * lexical index writes its segment into the same transaction at commit. */
#include "ingest/ingest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/sha256.h"
#include "ingest/ingest_int.h"
#include "util/log.h"

#define MAX_DEPTH 64

void ingest_options_default(ingest_options *o) {
    memset(o, 0, sizeof *o);
    o->source = "files";
    parse_limits_default(&o->limits);
    chunk_options_default(&o->chunking);
    o->batch_docs = 20000;
    o->batch_bytes = 64u << 20;
}

lore_status ingest_session_new(tenant_ctx *ctx, const ingest_options *opt, ingest_session **out) {
    *out = NULL;
    ingest_session *s = calloc(1, sizeof *s);
    if (!s) return LORE_NOMEM;
    s->t = ctx->store;
    s->ctx = ctx;
    s->lex = ctx->index.lexical.ops;
    s->lex_state = ctx->index.lexical.state;
    s->opt = *opt;
    if (!s->opt.source) s->opt.source = "files";
    if (!s->opt.batch_docs) s->opt.batch_docs = 20000;
    if (!s->opt.batch_bytes) s->opt.batch_bytes = 64u << 20;
    *out = s;
    return LORE_OK;
}

void ingest_set_source_acl(ingest_session *s, const char *source, const char *const *acl,
                           size_t nacl) {
    s->opt.source = source ? source : "files";
    s->opt.acl = acl;
    s->opt.nacl = nacl;
}

const ingest_stats *ingest_session_stats(const ingest_session *s) {
    return &s->stats;
}

void ingest_report(ingest_session *s, int is_error, const char *path, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (s->opt.on_problem)
        s->opt.on_problem(s->opt.cb_ctx, path, msg, is_error);
    else if (is_error)
        LORE_WARN("%s: %s", path, msg);
    else
        LORE_INFO("%s: %s", path, msg);
}
#define problem(s, ...) ingest_report(s, 1, __VA_ARGS__)
#define note(s, ...) ingest_report(s, 0, __VA_ARGS__)

static void rollback(ingest_session *s) {
    if (!s->in_batch) return;
    s->lex->abort(s->lex_state);
    ingest_embed_abort(s);
    store_rollback(s->t);
    s->in_batch = 0;
}

void ingest_rollback(ingest_session *s) {
    rollback(s);
}

lore_status ingest_open_batch(ingest_session *s) {
    if (s->in_batch) return LORE_OK;
    lore_status st = store_begin(s->t);
    if (st != LORE_OK) return st;
    if ((st = s->lex->begin(s->lex_state)) != LORE_OK) {
        store_rollback(s->t);
        return st;
    }
    s->in_batch = 1;
    s->batch_docs = s->batch_bytes = 0;
    ingest_embed_batch_reset(s);
    return LORE_OK;
}

lore_status ingest_batch_tenant(ingest_session *s, store_tenant **out) {
    lore_status st = ingest_open_batch(s);
    *out = st == LORE_OK ? s->t : NULL;
    return st;
}

lore_status ingest_commit(ingest_session *s) {
    if (!s->in_batch) return LORE_OK;
    lore_status st = ingest_embed_before_commit(s);
    if (st == LORE_OK) st = s->lex->flush(s->lex_state);
    if (st == LORE_OK) st = store_commit(s->t);
    if (st != LORE_OK) {
        LORE_ERROR("commit failed: %s (%s); the last batch of %zu documents was rolled back",
                   lore_status_message(st), store_tenant_errmsg(s->t), s->batch_docs);
        rollback(s);
        return st;
    }
    s->in_batch = 0;
    return LORE_OK;
}

static void hash_field(lore_sha256_ctx *h, const char *s, size_t n) {
    /* Length-prefixed, so field boundaries cannot be forged by content. */
    char len[24];
    int l = snprintf(len, sizeof len, "%zu:", n);
    lore_sha256_update(h, len, (size_t)l);
    if (n) lore_sha256_update(h, s, n);
}

static void hash_str(lore_sha256_ctx *h, const char *s) {
    hash_field(h, s ? s : "", s ? strlen(s) : 0);
}

static lore_status content_hash(const store_doc *d, char out[65]) {
    lore_sha256_ctx *h = lore_sha256_new();
    if (!h) return LORE_NOMEM;
    hash_str(h, d->title);
    hash_str(h, d->url);
    hash_str(h, d->author);
    hash_str(h, d->metadata_json);
    char dates[64];
    snprintf(dates, sizeof dates, "%lld/%lld", (long long)d->created_ms, (long long)d->updated_ms);
    hash_str(h, dates);
    for (size_t i = 0; i < d->nacl; i++)
        hash_str(h, d->acl[i]);
    hash_field(h, d->text, d->text_len);
    uint8_t digest[32];
    lore_sha256_final(h, digest);
    lore_hex(digest, 32, out);
    return LORE_OK;
}

typedef struct remove_ctx {
    ingest_session *s;
    lore_status st;
} remove_ctx;

static int remove_chunk(void *ctx, int64_t chunk_id, uint32_t nterms) {
    remove_ctx *r = ctx;
    r->st = r->s->lex->remove(r->s->lex_state, chunk_id, nterms);
    if (r->st == LORE_OK) r->st = ingest_embed_removed(r->s, chunk_id);
    return r->st != LORE_OK;
}

static lore_status remove_from_index(ingest_session *s, int64_t rowid) {
    /* A removal that an index refuses means index and store disagree; stop
     * rather than write on top of it. The chunk's vector and pending row go
     * with it (ingest_embed.c). */
    remove_ctx r = {s, LORE_OK};
    lore_status st = store_doc_chunks(s->t, rowid, remove_chunk, &r);
    return st != LORE_OK ? st : r.st;
}

lore_status ingest_remove_doc(ingest_session *s, int64_t rowid) {
    lore_status st = ingest_open_batch(s);
    if (st == LORE_OK) st = remove_from_index(s, rowid);
    if (st == LORE_OK) st = store_doc_delete(s->t, rowid);
    if (st == LORE_OK) {
        s->stats.docs_deleted++;
        s->batch_docs++;
    }
    return st;
}

lore_status ingest_maybe_commit(ingest_session *s) {
    if (s->in_batch && (s->batch_docs >= s->opt.batch_docs || s->batch_bytes >= s->opt.batch_bytes))
        return ingest_commit(s);
    return LORE_OK;
}

/* Checks a document's fields against the caps in ingest.h. Returns NULL when
 * they fit, else a message naming the field. */
static const char *field_over_cap(const parse_doc *pd, const char *external_id, size_t nacl,
                                  char *buf, size_t buflen) {
    const struct {
        const char *name, *value;
        size_t cap;
    } fields[] = {
        {"id", external_id, INGEST_MAX_EXTERNAL_ID},
        {"title", pd->title, INGEST_MAX_TITLE},
        {"url", pd->url, INGEST_MAX_URL},
        {"author", pd->author, INGEST_MAX_AUTHOR},
        {"metadata", pd->metadata_json, INGEST_MAX_METADATA},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        size_t n = fields[i].value ? strlen(fields[i].value) : 0;
        if (n > fields[i].cap) {
            snprintf(buf, buflen, "%s is %zu bytes; the limit is %zu", fields[i].name, n,
                     fields[i].cap);
            return buf;
        }
    }
    if (nacl > INGEST_MAX_PRINCIPALS) {
        snprintf(buf, buflen, "acl has %zu principals; the limit is %d", nacl,
                 INGEST_MAX_PRINCIPALS);
        return buf;
    }
    for (size_t i = 0; i < pd->nacl; i++) {
        if (strlen(pd->acl[i]) > INGEST_MAX_PRINCIPAL) {
            snprintf(buf, buflen, "acl principal %zu is %zu bytes; the limit is %d", i + 1,
                     strlen(pd->acl[i]), INGEST_MAX_PRINCIPAL);
            return buf;
        }
    }
    return NULL;
}

/* Writes one parsed document. Document-level problems are reported and
 * return LORE_OK; store and index failures are returned. */
static lore_status ingest_doc(ingest_session *s, const char *path, const parse_doc *pd,
                              const char *source, const char *external_id, int64_t mtime_ms) {
    char **acl = NULL;
    chunk_list *cl = NULL;
    store_doc d = {0};
    char why[160];
    if (s->sync) ingest_sync_doc_seen(s, external_id);
    if (field_over_cap(pd, external_id, pd->nacl + s->opt.nacl, why, sizeof why)) {
        problem(s, path, "%.80s%s: skipped: %s", external_id, strlen(external_id) > 80 ? "..." : "",
                why);
        s->stats.docs_failed++;
        return LORE_OK;
    }
    lore_status st = ingest_open_batch(s);
    if (st != LORE_OK) return st;
    d.source = (char *)source;
    d.external_id = (char *)external_id;
    d.title = pd->title;
    d.url = pd->url;
    d.author = pd->author;
    d.created_ms = pd->created_ms;
    d.updated_ms = pd->updated_ms ? pd->updated_ms : mtime_ms;
    d.metadata_json = pd->metadata_json;
    d.text = pd->text;
    d.text_len = pd->text_len;
    d.nacl = pd->nacl + s->opt.nacl;
    if (d.nacl) {
        if (!(acl = malloc(d.nacl * sizeof *acl))) {
            st = LORE_NOMEM;
            goto out;
        }
        for (size_t i = 0; i < pd->nacl; i++)
            acl[i] = pd->acl[i];
        for (size_t i = 0; i < s->opt.nacl; i++)
            acl[pd->nacl + i] = (char *)s->opt.acl[i];
        d.acl = acl;
    }
    if ((st = content_hash(&d, d.content_hash)) != LORE_OK) goto out;
    int64_t rowid = 0;
    char old_hash[65];
    st = store_doc_lookup(s->t, d.source, external_id, &rowid, old_hash);
    int exists = st == LORE_OK;
    if (st != LORE_OK && st != LORE_NOT_FOUND) goto out;
    st = LORE_OK;
    if (exists && s->opt.may_replace) {
        /* Checked before the hash comparison, so a refused caller cannot
         * learn whether its content matched either. */
        store_doc *old = NULL;
        if ((st = store_doc_get_rowid(s->t, rowid, 0, &old)) != LORE_OK) goto out;
        int ok = s->opt.may_replace(s->opt.cb_ctx, old);
        store_doc_free(old);
        if (!ok) {
            problem(s, path, "%.80s%s: not written: this key may not replace it", external_id,
                    strlen(external_id) > 80 ? "..." : "");
            s->stats.docs_failed++;
            goto out;
        }
    }
    if (exists && !strcmp(old_hash, d.content_hash)) {
        s->stats.docs_unchanged++;
        goto out;
    }
    if (exists && (st = remove_from_index(s, rowid)) != LORE_OK) goto out;
    if ((st = chunk_document(pd, &s->opt.chunking, &cl)) != LORE_OK) {
        problem(s, path, "%s: chunking failed: %s", external_id, lore_status_message(st));
        s->stats.docs_failed++;
        /* The old chunks may already be out of the index: undo the batch
         * rather than leave the document half replaced. */
        st = exists ? LORE_INTERNAL : LORE_OK;
        goto out;
    }
    if (!cl->n)
        note(s, path, "%s: no text to index (stored, but no search will find it)", external_id);
    if (cl->n > s->chunks_cap) {
        store_chunk_in *nc = realloc(s->chunks, cl->n * sizeof *nc);
        if (!nc) {
            st = LORE_NOMEM;
            goto out;
        }
        s->chunks = nc;
        s->chunks_cap = cl->n;
    }
    int64_t first = 0;
    if ((st = store_reserve_chunk_ids(s->t, cl->n, &first)) != LORE_OK) goto out;
    for (size_t i = 0; i < cl->n; i++) {
        const chunk *c = &cl->items[i];
        store_chunk_in *ci = &s->chunks[i];
        ci->id = first + (int64_t)i;
        ci->start = c->start;
        ci->end = c->end;
        ci->section = c->section;
        ci->ntokens = c->ntokens;
        st = s->lex->add(s->lex_state, ci->id, pd->title, pd->title ? strlen(pd->title) : 0,
                         pd->text + c->start, c->end - c->start, &ci->nterms);
        if (st != LORE_OK) goto out;
    }
    if ((st = store_doc_put(s->t, &d, s->chunks, cl->n)) != LORE_OK) goto out;
    if ((st = ingest_embed_added(s, first, cl->n)) != LORE_OK) goto out;
    if (exists)
        s->stats.docs_updated++;
    else
        s->stats.docs_added++;
    s->stats.chunks += cl->n;
    s->stats.bytes += pd->text_len;
    s->batch_docs++;
    s->batch_bytes += pd->text_len;
out:
    chunk_list_free(cl);
    free(acl);
    if (st != LORE_OK) {
        rollback(s);
        return st;
    }
    if (s->batch_docs >= s->opt.batch_docs || s->batch_bytes >= s->opt.batch_bytes)
        return ingest_commit(s);
    return LORE_OK;
}

/* path names the input in messages; dname (NULL: path) picks the format
 * and the title a name gives (a gzip file's inner name). */
static lore_status ingest_buffer(ingest_session *s, const char *path, const char *dname,
                                 const char *external_id, const uint8_t *data, size_t len,
                                 int64_t mtime_ms) {
    s->stats.files++;
    if (!dname) dname = path;
    parse_format fmt = parse_detect(dname, data, len);
    if (fmt == PARSE_FMT_UNKNOWN) {
        s->stats.files_skipped++;
        note(s, path, "skipped: not a format lore reads (binary or unknown)");
        return LORE_OK;
    }
    parse_result *res = NULL;
    char err[512] = "";
    lore_status st = parse_bytes(fmt, dname, data, len, &s->opt.limits, &res, err, sizeof err);
    if (st != LORE_OK) {
        s->stats.files_failed++;
        problem(s, path, "%s: %s", parse_format_name(fmt), err[0] ? err : lore_status_message(st));
        return LORE_OK;
    }
    if (res->note) note(s, path, "%s", res->note); /* e.g. over a parser's budget */
    for (size_t i = 0; i < res->ndocs && st == LORE_OK; i++) {
        const parse_doc *pd = &res->docs[i];
        char idbuf[PATH_MAX + 32];
        const char *ext = pd->external_id;
        if (!ext) {
            const char *base = external_id ? external_id : path;
            if (res->ndocs == 1) {
                ext = base;
            } else {
                snprintf(idbuf, sizeof idbuf, "%s#%zu", base, i + 1);
                ext = idbuf;
            }
        }
        st = ingest_doc(s, path, pd, s->opt.source, ext, mtime_ms);
    }
    parse_result_free(res);
    if (s->opt.on_progress && s->stats.files % 500 == 0)
        s->opt.on_progress(s->opt.cb_ctx, &s->stats);
    return st;
}

lore_status ingest_bytes(ingest_session *s, const char *name, const char *external_id,
                         const uint8_t *data, size_t len) {
    return ingest_buffer(s, name, NULL, external_id, data, len, 0);
}

/* Strips the "line 1: " a one-line JSONL parse puts in front of its error. */
static const char *strip_line_prefix(const char *err) {
    return !strncmp(err, "line 1: ", 8) ? err + 8 : err;
}

/* JSON Lines files are read as a stream, one record at a time: memory stays
 * bounded by the longest line (max_file_mb), any file size is fine, and a
 * bad record is reported with its line number while the others go in. */
static lore_status ingest_jsonl_stream(ingest_session *s, const char *path, int fd,
                                       const char *file_id, int64_t mtime) {
    size_t cap = s->opt.limits.max_input, len = 0, start = 0, lineno = 1;
    size_t alloc = 1 << 20;
    char *buf = malloc(alloc);
    lore_status st = LORE_OK;
    int eof = 0, failed = 0;
    if (!buf) return LORE_NOMEM;
    s->stats.files++;
    int skipping = 0; /* dropping the rest of a line over the cap */
    while (st == LORE_OK) {
        char *nl = memchr(buf + start, '\n', len - start);
        if (skipping) {
            if (nl) {
                start = (size_t)(nl - buf) + 1;
                skipping = 0;
                lineno++;
                continue;
            }
            start = len = 0;
            if (eof) break;
        } else if (!nl && !eof) {
            /* Need more bytes: compact, grow up to the cap, read. */
            memmove(buf, buf + start, len - start);
            len -= start;
            start = 0;
            if (len == alloc && alloc > cap) {
                problem(s, path, "line %zu: skipped: longer than %zu MiB (setting max_file_mb)",
                        lineno, cap >> 20);
                s->stats.docs_failed++;
                skipping = 1;
                start = len = 0;
            } else if (len == alloc) {
                char *nb = realloc(buf, alloc * 2);
                if (!nb) {
                    st = LORE_NOMEM;
                    break;
                }
                buf = nb;
                alloc *= 2;
            }
        }
        if (skipping || (!nl && !eof)) {
            ssize_t r = read(fd, buf + len, alloc - len);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) {
                problem(s, path, "line %zu: read failed: %s", lineno, strerror(errno));
                failed = 1;
                break;
            }
            if (r == 0) eof = 1;
            len += (size_t)r;
            continue;
        }
        size_t end = nl ? (size_t)(nl - buf) : len;
        const char *line = buf + start;
        size_t n = end - start;
        while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
            n--;
        size_t skip = 0;
        while (skip < n && (line[skip] == ' ' || line[skip] == '\t'))
            skip++;
        if (n > skip) {
            parse_result *res = NULL;
            char err[512] = "";
            lore_status ps = parse_bytes(PARSE_FMT_JSONL, path, (const uint8_t *)line + skip,
                                         n - skip, &s->opt.limits, &res, err, sizeof err);
            if (ps != LORE_OK) {
                problem(s, path, "line %zu: %s", lineno,
                        strip_line_prefix(err[0] ? err : lore_status_message(ps)));
                s->stats.docs_failed++;
            }
            for (size_t i = 0; ps == LORE_OK && i < res->ndocs && st == LORE_OK; i++) {
                char idbuf[PATH_MAX + 32];
                const char *ext = res->docs[i].external_id;
                if (!ext) {
                    snprintf(idbuf, sizeof idbuf, "%s#%zu", file_id, lineno);
                    ext = idbuf;
                }
                st = ingest_doc(s, path, &res->docs[i], s->opt.source, ext, mtime);
            }
            parse_result_free(res);
        }
        if (s->opt.on_progress && lineno % 20000 == 0) s->opt.on_progress(s->opt.cb_ctx, &s->stats);
        lineno++;
        if (!nl) break; /* the last line had no newline */
        start = end + 1;
    }
    if (failed) s->stats.files_failed++;
    free(buf);
    return st;
}

/* A gzip file (fd at its start): decompressed up to max_file_mb, then
 * detected and parsed by its inner name (a.md.gz reads as a.md). */
static lore_status ingest_gzip_file(ingest_session *s, const char *name, const char *file_id,
                                    int fd, int64_t mtime) {
    uint8_t *data = NULL;
    size_t len = 0;
    char err[256] = "", inner[PATH_MAX];
    lore_status st = ingest_gunzip_fd(fd, s->opt.limits.max_input, &data, &len, err, sizeof err);
    if (st == LORE_NOMEM) return st;
    if (st != LORE_OK) {
        s->stats.files++;
        s->stats.files_failed++;
        problem(s, name, "%s", err);
        return LORE_OK;
    }
    ingest_gzip_inner_name(name, inner, sizeof inner);
    st = ingest_buffer(s, name, inner, file_id, data, len, mtime);
    free(data);
    return st;
}

/* Reads the file at path; name is what detection and messages use and
 * file_id the external id (base) of its documents. */
static lore_status ingest_file(ingest_session *s, const char *path, const char *name,
                               const char *file_id, const struct stat *sb) {
    int64_t mtime = (int64_t)sb->st_mtim.tv_sec * 1000 + sb->st_mtim.tv_nsec / 1000000;
    {
        /* Sniff the head: JSON Lines is streamed whatever its size. */
        uint8_t head[65536];
        int hfd = open(path, O_RDONLY | O_CLOEXEC);
        if (hfd >= 0) {
            ssize_t hn = read(hfd, head, sizeof head);
            size_t probe = hn > 0 ? (size_t)hn : 0;
            if (ingest_is_gzip(head, probe) && lseek(hfd, 0, SEEK_SET) == 0) {
                lore_status st = ingest_gzip_file(s, name, file_id, hfd, mtime);
                close(hfd);
                return st;
            }
            /* A cut last line would not parse: judge complete lines only. */
            if (probe == sizeof head)
                while (probe && head[probe - 1] != '\n')
                    probe--;
            if (probe && parse_detect(name, head, probe) == PARSE_FMT_JSONL &&
                lseek(hfd, 0, SEEK_SET) == 0) {
                lore_status st = ingest_jsonl_stream(s, name, hfd, file_id, mtime);
                close(hfd);
                return st;
            }
            close(hfd);
        }
    }
    if ((uint64_t)sb->st_size > s->opt.limits.max_input) {
        s->stats.files++;
        s->stats.files_failed++;
        problem(s, name, "file is %lld MiB; the limit is %zu MiB (setting max_file_mb)",
                (long long)(sb->st_size >> 20), s->opt.limits.max_input >> 20);
        return LORE_OK;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    uint8_t *data = NULL;
    size_t len = (size_t)sb->st_size, got = 0;
    if (fd < 0) goto io_error;
    if (!(data = malloc(len ? len : 1))) {
        close(fd);
        return LORE_NOMEM;
    }
    while (got < len) {
        ssize_t r = read(fd, data + got, len - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) goto io_error;
        if (r == 0) break; /* the file shrank while we read it */
        got += (size_t)r;
    }
    close(fd);
    lore_status st = ingest_buffer(s, name, NULL, file_id, data, got, mtime);
    free(data);
    return st;
io_error:
    s->stats.files++;
    s->stats.files_failed++;
    problem(s, name, "cannot read: %s", strerror(errno));
    if (fd >= 0) close(fd);
    free(data);
    return LORE_OK;
}

#define WALK_SEEN_MAX (16u << 20) /* files deduplicated per walk; past it, none are */

static void walk_seen_free(walk_seen *w) {
    free(w->keys);
    memset(w, 0, sizeof *w);
}

static size_t walk_seen_slot(const walk_seen *w, uint64_t dev, uint64_t ino) {
    uint64_t h = (dev * 0x9E3779B97F4A7C15ull) ^ (ino * 0xC2B2AE3D27D4EB4Full);
    h ^= h >> 29;
    size_t i = (size_t)h & (w->nslots - 1);
    while (w->keys[2 * i] != UINT64_MAX && (w->keys[2 * i] != dev || w->keys[2 * i + 1] != ino))
        i = (i + 1) & (w->nslots - 1);
    return i;
}

/* Adds a file's (device, inode); *added is 0 when the walk had it. */
static lore_status walk_seen_add(walk_seen *w, const struct stat *sb, int *added) {
    uint64_t dev = (uint64_t)sb->st_dev, ino = (uint64_t)sb->st_ino;
    *added = 1;
    if (dev == UINT64_MAX || w->count >= WALK_SEEN_MAX) return LORE_OK;
    if ((w->count + 1) * 2 > w->nslots) {
        walk_seen g = {.nslots = w->nslots ? w->nslots * 2 : 1024};
        if (!(g.keys = malloc(g.nslots * 2 * sizeof *g.keys))) return LORE_NOMEM;
        memset(g.keys, 0xff, g.nslots * 2 * sizeof *g.keys);
        for (size_t i = 0; i < w->nslots; i++) {
            if (w->keys[2 * i] == UINT64_MAX) continue;
            size_t j = walk_seen_slot(&g, w->keys[2 * i], w->keys[2 * i + 1]);
            g.keys[2 * j] = w->keys[2 * i];
            g.keys[2 * j + 1] = w->keys[2 * i + 1];
        }
        g.count = w->count;
        free(w->keys);
        *w = g;
    }
    size_t i = walk_seen_slot(w, dev, ino);
    if (w->keys[2 * i] != UINT64_MAX) {
        *added = 0;
        return LORE_OK;
    }
    w->keys[2 * i] = dev;
    w->keys[2 * i + 1] = ino;
    w->count++;
    return LORE_OK;
}

/* A regular file of the walk: read once per walk, by its resolved path. */
static lore_status walk_file(ingest_session *s, const char *path, const struct stat *sb) {
    int added;
    lore_status st = walk_seen_add(&s->seen, sb, &added);
    if (st != LORE_OK) return st;
    if (!added) {
        note(s, path, "skipped: the same file was read earlier in this walk (a link to it)");
        return LORE_OK;
    }
    char real[PATH_MAX];
    const char *id = realpath(path, real) ? real : path;
    if (!s->sync) return ingest_file(s, path, path, id, sb);
    int r = ingest_sync_file_begin(s, id, sb, &st);
    if (r) return r < 0 ? st : LORE_OK;
    uint64_t failed = s->stats.files_failed;
    st = ingest_file(s, path, path, id, sb);
    if (st == LORE_OK) st = ingest_sync_file_end(s, id, sb, s->stats.files_failed > failed);
    return st;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static lore_status walk(ingest_session *s, const char *path, int depth) {
    struct stat sb;
    if (stat(path, &sb) != 0) {
        s->stats.files++;
        s->stats.files_failed++;
        problem(s, path, "cannot open: %s", strerror(errno));
        return LORE_OK;
    }
    if (S_ISREG(sb.st_mode)) return walk_file(s, path, &sb);
    if (!S_ISDIR(sb.st_mode)) return LORE_OK;
    if (depth > MAX_DEPTH) {
        note(s, path, "skipped: directories nested deeper than %d", MAX_DEPTH);
        return LORE_OK;
    }
    DIR *d = opendir(path);
    if (!d) {
        s->stats.files_failed++;
        problem(s, path, "cannot list directory: %s", strerror(errno));
        return LORE_OK;
    }
    /* Sorted, so ingests are repeatable (same order, same chunk ids). */
    char **names = NULL;
    size_t n = 0, cap = 0;
    lore_status st = LORE_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue; /* hidden files, . and .. */
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                st = LORE_NOMEM;
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) {
            st = LORE_NOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (st == LORE_OK && n) qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n && st == LORE_OK; i++) {
        char child[PATH_MAX];
        if (snprintf(child, sizeof child, "%s/%s", path, names[i]) >= (int)sizeof child) {
            note(s, path, "skipped %s: path too long", names[i]);
            continue;
        }
        struct stat lsb;
        if (lstat(child, &lsb) == 0 && S_ISLNK(lsb.st_mode)) {
            struct stat tsb;
            if (stat(child, &tsb) == 0 && S_ISDIR(tsb.st_mode)) continue; /* no link loops */
        }
        st = walk(s, child, depth + 1);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return st;
}

lore_status ingest_walk(ingest_session *s, const char *path) {
    walk_seen_free(&s->seen);
    lore_status st = walk(s, path, 0);
    walk_seen_free(&s->seen);
    return st;
}

lore_status ingest_path(ingest_session *s, const char *path) {
    lore_status st = ingest_walk(s, path);
    if (st != LORE_OK) rollback(s);
    return st;
}

lore_status ingest_named_file(ingest_session *s, const char *path, const char *name,
                              const char *external_id) {
    struct stat sb;
    lore_status st = LORE_OK;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        s->stats.files++;
        s->stats.files_failed++;
        problem(s, name, "cannot open: %s", strerror(errno));
    } else {
        st = ingest_file(s, path, name, external_id ? external_id : name, &sb);
    }
    if (st != LORE_OK) rollback(s);
    return st;
}

lore_status ingest_record_put(ingest_session *s, const ingest_record *r, ingest_outcome *outcome) {
    *outcome = INGEST_FAILED;
    parse_result *res = NULL;
    char err[512] = "";
    const char *source = r->source ? r->source : s->opt.source;
    parse_format fmt = r->format ? r->format : PARSE_FMT_TEXT;
    if (fmt != PARSE_FMT_TEXT && fmt != PARSE_FMT_MARKDOWN && fmt != PARSE_FMT_HTML) {
        problem(s, r->external_id, "format %s is not accepted for inline text",
                parse_format_name(fmt));
        s->stats.docs_failed++;
        return LORE_OK;
    }
    lore_status st = parse_bytes(fmt, r->external_id, (const uint8_t *)r->text, r->text_len,
                                 &s->opt.limits, &res, err, sizeof err);
    if (st != LORE_OK || res->ndocs != 1) {
        problem(s, r->external_id, "%s", err[0] ? err : lore_status_message(st));
        s->stats.docs_failed++;
        parse_result_free(res);
        return LORE_OK;
    }
    if (res->note) note(s, r->external_id, "%s", res->note);
    /* The record's fields win over what the parser found in the content
     * (a Markdown heading is a fallback title, not an override). */
    parse_doc pd = res->docs[0];
    if (r->title) pd.title = (char *)r->title;
    if (r->url) pd.url = (char *)r->url;
    if (r->author) pd.author = (char *)r->author;
    if (r->created_ms) pd.created_ms = r->created_ms;
    if (r->updated_ms) pd.updated_ms = r->updated_ms;
    if (r->metadata_json) pd.metadata_json = (char *)r->metadata_json;
    pd.acl = (char **)r->acl;
    pd.nacl = r->nacl;
    ingest_stats before = s->stats;
    st = ingest_doc(s, r->external_id, &pd, source, r->external_id, 0);
    parse_result_free(res);
    if (st != LORE_OK) return st;
    if (s->stats.docs_added > before.docs_added)
        *outcome = INGEST_ADDED;
    else if (s->stats.docs_updated > before.docs_updated)
        *outcome = INGEST_UPDATED;
    else if (s->stats.docs_unchanged > before.docs_unchanged)
        *outcome = INGEST_UNCHANGED;
    return LORE_OK;
}

lore_status ingest_delete(ingest_session *s, const char *doc_id) {
    store_doc *d = NULL;
    lore_status st = ingest_open_batch(s);
    if (st != LORE_OK) return st;
    if ((st = store_doc_get(s->t, doc_id, 0, &d)) != LORE_OK) goto out;
    if ((st = remove_from_index(s, d->rowid)) != LORE_OK) goto out;
    if ((st = store_doc_delete(s->t, d->rowid)) != LORE_OK) goto out;
    s->stats.docs_deleted++;
out:
    store_doc_free(d);
    if (st != LORE_OK && st != LORE_NOT_FOUND) rollback(s);
    return st;
}

void ingest_session_free(ingest_session *s) {
    if (!s) return;
    rollback(s);
    walk_seen_free(&s->seen);
    free(s->chunks);
    free(s);
}
