/* Gzip-compressed files, read through: see ingest_int.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "ingest/ingest_int.h"

int ingest_is_gzip(const uint8_t *head, size_t n) {
    return n >= 2 && head[0] == 0x1f && head[1] == 0x8b;
}

void ingest_gzip_inner_name(const char *name, char *out, size_t outlen) {
    size_t n = strlen(name);
    if (n > 3 && !strcmp(name + n - 3, ".gz")) n -= 3;
    if (n >= outlen) n = outlen - 1;
    memcpy(out, name, n);
    out[n] = 0;
}

/* Grows *buf to hold at least need bytes, doubling, never past cap + 1. */
static int grow(uint8_t **buf, size_t *alloc, size_t need, size_t cap) {
    if (need <= *alloc) return 0;
    size_t a = *alloc ? *alloc : 1 << 16;
    while (a < need)
        a *= 2;
    if (a > cap + 1) a = cap + 1;
    uint8_t *nb = realloc(*buf, a);
    if (!nb) return -1;
    *buf = nb;
    *alloc = a;
    return 0;
}

lore_status ingest_gunzip_fd(int fd, size_t max_out, uint8_t **out, size_t *outlen, char *err,
                             size_t errlen) {
    *out = NULL;
    *outlen = 0;
    z_stream z;
    memset(&z, 0, sizeof z);
    /* 15 + 32: gzip or zlib header, detected. */
    if (inflateInit2(&z, 15 + 32) != Z_OK) {
        snprintf(err, errlen, "gzip: cannot start the decompressor");
        return LORE_NOMEM;
    }
    uint8_t in[65536];
    uint8_t *buf = NULL;
    size_t alloc = 0, len = 0;
    lore_status st = LORE_OK;
    int ended = 0, eof = 0;
    while (st == LORE_OK) {
        if (z.avail_in == 0 && !eof) {
            ssize_t r = read(fd, in, sizeof in);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) {
                snprintf(err, errlen, "gzip: read failed: %s", strerror(errno));
                st = LORE_IO;
                break;
            }
            if (r == 0) eof = 1;
            z.next_in = in;
            z.avail_in = (uInt)r;
        }
        if (z.avail_in == 0 && eof) {
            if (!ended) {
                snprintf(err, errlen, "gzip: the file is truncated (the stream has no end)");
                st = LORE_INVALID;
            }
            break;
        }
        if (ended) {
            /* Another member follows (concatenated gzip files are one file). */
            if (!ingest_is_gzip(z.next_in, z.avail_in) && z.avail_in >= 2) {
                snprintf(err, errlen, "gzip: %u bytes of garbage after the compressed data",
                         z.avail_in);
                st = LORE_INVALID;
                break;
            }
            if (inflateReset(&z) != Z_OK) {
                st = LORE_INTERNAL;
                break;
            }
            ended = 0;
        }
        /* Room for output: at most max_out bytes, plus one to notice more. */
        if (grow(&buf, &alloc, len + 1, max_out) || alloc <= len) {
            if (alloc <= len && buf) {
                snprintf(err, errlen,
                         "gzip: decompresses to more than %zu MiB (setting max_file_mb); refused "
                         "(a gzip bomb?)",
                         max_out >> 20);
                st = LORE_TOO_LARGE;
            } else {
                st = LORE_NOMEM;
            }
            break;
        }
        z.next_out = buf + len;
        z.avail_out = (uInt)(alloc - len > UINT32_MAX ? UINT32_MAX : alloc - len);
        size_t room = z.avail_out;
        int zr = inflate(&z, Z_NO_FLUSH);
        len += room - z.avail_out;
        if (len > max_out) {
            snprintf(err, errlen,
                     "gzip: decompresses to more than %zu MiB (setting max_file_mb); refused "
                     "(a gzip bomb?)",
                     max_out >> 20);
            st = LORE_TOO_LARGE;
            break;
        }
        if (zr == Z_STREAM_END) {
            ended = 1;
        } else if (zr == Z_BUF_ERROR) {
            if (z.avail_in == 0 && eof) continue; /* reported as truncated above */
        } else if (zr != Z_OK) {
            snprintf(err, errlen, "gzip: corrupt data: %s", z.msg ? z.msg : "inflate failed");
            st = zr == Z_MEM_ERROR ? LORE_NOMEM : LORE_INVALID;
        }
    }
    inflateEnd(&z);
    if (st != LORE_OK) {
        free(buf);
        return st;
    }
    *out = buf ? buf : malloc(1);
    if (!*out) return LORE_NOMEM;
    *outlen = len;
    return LORE_OK;
}
