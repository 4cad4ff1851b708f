/* Embedded store: blobs are files, DATA_DIR/blobs/<tenant>/<name>.
 *
 * A blob being written is DATA_DIR/blobs/<tenant>/.part-<name> (a dot
 * name: no job names it, the backup skips it); blob_finish fsyncs it and
 * renames it to its name, so a blob is either whole under its name or
 * absent. Names are "blob-" and 24 random hex digits, or the caller's
 * (blob_create_named): that one is written as .part-<name>.<16 random hex
 * digits>, so two writers of one name never share a part, and the rename
 * replaces an older blob of the name in one step. Parsers that need a file
 * read the blob in place (blob_path). */
#include "store/sqlite/sqlite_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/sha256.h"

typedef struct sqlite_blob_writer {
    store_blob_writer base; /* base.be = &store_backend_sqlite */
    int fd;
    char dir[3072];
    char name[STORE_BLOB_NAME_MAX + 1];
    char part[STORE_BLOB_NAME_MAX + 32]; /* the file while it is written */
} sqlite_blob_writer;

/* DATA_DIR/blobs/<tenant>, created if needed, into out. */
lore_status sqlite_blob_dir(sqlite_store *s, const char *tenant, char *out, size_t outlen) {
    if (!store_tenant_name_valid(tenant)) return LORE_INVALID;
    int len = snprintf(out, outlen, "%s/blobs", s->data_dir);
    if (len < 0 || (size_t)len >= outlen) return LORE_TOO_LARGE;
    if (mkdir(out, 0700) != 0 && errno != EEXIST) return LORE_IO;
    len = snprintf(out, outlen, "%s/blobs/%s", s->data_dir, tenant);
    if (len < 0 || (size_t)len >= outlen) return LORE_TOO_LARGE;
    if (mkdir(out, 0700) != 0 && errno != EEXIST) return LORE_IO;
    return LORE_OK;
}

lore_status sqlite_blob_path(store *s_, const char *tenant, const char *blob, char *out,
                             size_t outlen) {
    sqlite_store *s = (sqlite_store *)s_;
    char dir[3072];
    lore_status st = sqlite_blob_dir(s, tenant, dir, sizeof dir);
    if (st != LORE_OK) return st;
    if (!*blob || strlen(blob) > STORE_BLOB_NAME_MAX || strchr(blob, '/') || blob[0] == '.')
        return LORE_INVALID;
    int len = snprintf(out, outlen, "%s/%s", dir, blob);
    return len < 0 || (size_t)len >= outlen ? LORE_TOO_LARGE : LORE_OK;
}

void sqlite_blob_remove(store *s, const char *tenant, const char *blob) {
    char path[4096];
    if (sqlite_blob_path(s, tenant, blob, path, sizeof path) == LORE_OK) unlink(path);
}

static int part_path(const sqlite_blob_writer *w, char *out, size_t outlen) {
    int n = snprintf(out, outlen, "%s/%s", w->dir, w->part);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* Opens w's part file under a fresh random name: the blob's name too when
 * named is NULL. */
static lore_status open_part(sqlite_blob_writer *w, const char *named) {
    char path[4096];
    for (int tries = 0;; tries++) {
        uint8_t rnd[12];
        char hex[25];
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) return LORE_IO;
        if (named) {
            lore_hex(rnd, 8, hex);
            snprintf(w->name, sizeof w->name, "%s", named);
            snprintf(w->part, sizeof w->part, ".part-%s.%s", named, hex);
        } else {
            lore_hex(rnd, sizeof rnd, hex);
            snprintf(w->name, sizeof w->name, "blob-%s", hex);
            snprintf(w->part, sizeof w->part, ".part-%s", w->name);
        }
        if (part_path(w, path, sizeof path)) return LORE_TOO_LARGE;
        w->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (w->fd >= 0) return LORE_OK;
        if (errno != EEXIST || tries >= 3) return LORE_IO;
    }
}

static lore_status writer_new(sqlite_store *s, const char *tenant, const char *named,
                              store_blob_writer **out) {
    *out = NULL;
    sqlite_blob_writer *w = calloc(1, sizeof *w);
    if (!w) return LORE_NOMEM;
    w->base.be = &store_backend_sqlite;
    w->fd = -1;
    lore_status st = sqlite_blob_dir(s, tenant, w->dir, sizeof w->dir);
    if (st == LORE_OK) st = open_part(w, named);
    if (st != LORE_OK) {
        free(w);
        return st;
    }
    *out = &w->base;
    return LORE_OK;
}

lore_status sqlite_blob_create(store *s, const char *tenant, char *name_out,
                               store_blob_writer **out) {
    lore_status st = writer_new((sqlite_store *)s, tenant, NULL, out);
    if (st == LORE_OK) {
        const char *name = ((sqlite_blob_writer *)*out)->name;
        memcpy(name_out, name, strlen(name) + 1);
    }
    return st;
}

lore_status sqlite_blob_create_named(store *s, const char *tenant, const char *name,
                                     store_blob_writer **out) {
    *out = NULL;
    if (!store_blob_name_valid(name)) return LORE_INVALID;
    return writer_new((sqlite_store *)s, tenant, name, out);
}

lore_status sqlite_blob_write(store_blob_writer *w_, const void *data, size_t len) {
    sqlite_blob_writer *w = (sqlite_blob_writer *)w_;
    const char *p = data;
    while (len) {
        ssize_t n = write(w->fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return errno == ENOSPC ? LORE_TOO_LARGE : LORE_IO;
        p += n;
        len -= (size_t)n;
    }
    return LORE_OK;
}

lore_status sqlite_blob_finish(store_blob_writer *w_, int keep) {
    sqlite_blob_writer *w = (sqlite_blob_writer *)w_;
    char part[4096], final[4096];
    lore_status st = LORE_OK;
    if (part_path(w, part, sizeof part) ||
        (size_t)snprintf(final, sizeof final, "%s/%s", w->dir, w->name) >= sizeof final)
        st = LORE_TOO_LARGE;
    /* Durable before its name appears: the job that names it commits next. */
    if (st == LORE_OK && keep && fsync(w->fd) != 0) st = LORE_IO;
    if (close(w->fd) != 0 && st == LORE_OK && keep) st = LORE_IO;
    if (st == LORE_OK && keep && rename(part, final) != 0) st = LORE_IO;
    if (st == LORE_OK && keep) {
        int dfd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) != 0) st = LORE_IO;
        if (dfd >= 0) close(dfd);
    }
    if (!keep || st != LORE_OK) unlink(part);
    free(w);
    return st;
}

lore_status sqlite_blob_size(store *s, const char *tenant, const char *name, int64_t *bytes) {
    char path[4096];
    *bytes = 0;
    lore_status st = sqlite_blob_path(s, tenant, name, path, sizeof path);
    if (st != LORE_OK) return st;
    struct stat sb;
    if (stat(path, &sb) != 0) return errno == ENOENT ? LORE_NOT_FOUND : LORE_IO;
    *bytes = (int64_t)sb.st_size;
    return LORE_OK;
}

lore_status sqlite_blob_read(store *s, const char *tenant, const char *name, int64_t offset,
                             void *buf, size_t len, size_t *got) {
    char path[4096];
    *got = 0;
    if (offset < 0) return LORE_INVALID;
    lore_status st = sqlite_blob_path(s, tenant, name, path, sizeof path);
    if (st != LORE_OK) return st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? LORE_NOT_FOUND : LORE_IO;
    while (*got < len) {
        ssize_t n = pread(fd, (char *)buf + *got, len - *got, (off_t)(offset + (int64_t)*got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) st = LORE_IO;
        if (n <= 0) break;
        *got += (size_t)n;
    }
    close(fd);
    return st;
}
