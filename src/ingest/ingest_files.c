/* Files into an ingest session: a buffer parsed by its format (one file
 * may hold several documents), JSON Lines read as a stream, gzip read
 * through, and the walk of a directory tree (depth-capped, each file once
 * by device and inode, names in order). The documents go through
 * ingest_doc (ingest.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ingest/ingest.h"
#include "ingest/ingest_int.h"
#include "util/log.h"

#define problem(s, ...) ingest_report(s, 1, __VA_ARGS__)
#define note(s, ...) ingest_report(s, 0, __VA_ARGS__)

#define MAX_DEPTH 64

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

void walk_seen_free(walk_seen *w) {
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
    if (st != LORE_OK) ingest_rollback(s);
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
    if (st != LORE_OK) ingest_rollback(s);
    return st;
}
