/* Gzip-compressed files, read through: see ingest_int.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* Grows *buf to hold at least need bytes, doubling, never past cap. */
static int grow(uint8_t **buf, size_t *alloc, size_t need, size_t cap) {
    if (need <= *alloc) return 0;
    size_t a = *alloc ? *alloc : 1 << 16;
    while (a < need)
        a *= 2;
    if (a > cap) a = cap;
    uint8_t *nb = realloc(*buf, a);
    if (!nb) return -1;
    *buf = nb;
    *alloc = a;
    return 0;
}

/* Makes at least need bytes of compressed input available if the file
 * has them (a header split across two reads is joined). Returns the bytes
 * available (0 at the end of the file), -1 on a read error. */
static ssize_t refill(int fd, z_stream *z, uint8_t *in, size_t inlen, size_t need) {
    if (z->avail_in >= need) return (ssize_t)z->avail_in;
    if (z->avail_in) memmove(in, z->next_in, z->avail_in);
    z->next_in = in;
    while (z->avail_in < need) {
        ssize_t r = read(fd, in + z->avail_in, inlen - z->avail_in);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        z->avail_in += (uInt)r;
    }
    return (ssize_t)z->avail_in;
}

/* One inflate step into buf (grown up to max_out + 1 bytes, so that more
 * than max_out shows). Returns zlib's code, or Z_MEM_ERROR when buf could
 * not grow. */
static int step(z_stream *z, uint8_t **buf, size_t *alloc, size_t *len, size_t max_out) {
    if (grow(buf, alloc, *len + 1, max_out + 1)) return Z_MEM_ERROR;
    size_t room = *alloc - *len;
    z->next_out = *buf + *len;
    z->avail_out = (uInt)(room > UINT32_MAX ? UINT32_MAX : room);
    uInt before = z->avail_out;
    int zr = inflate(z, Z_NO_FLUSH);
    *len += before - z->avail_out;
    return zr;
}

lore_status ingest_gunzip_fd(int fd, size_t max_out, uint8_t **out, size_t *outlen, char *err,
                             size_t errlen) {
    /* The compressed size is bounded too, or a file of empty members (20
     * bytes each, no output) would be read to its end however large:
     * compressed data is never much larger than what it holds (stored blocks
     * add 5 bytes in 64 KiB), so past max_out and a margin it is refused. */
    struct stat sb;
    uint64_t most_in = (uint64_t)max_out + max_out / 64 + 65536;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > most_in) {
        snprintf(err, errlen,
                 "gzip: the compressed file is larger than %zu MiB (setting max_file_mb); refused",
                 max_out >> 20);
        *out = NULL;
        *outlen = 0;
        return LORE_TOO_LARGE;
    }
    *out = NULL;
    *outlen = 0;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 16) != Z_OK) { /* 15 + 16: a gzip header */
        snprintf(err, errlen, "gzip: cannot start the decompressor");
        return LORE_NOMEM;
    }
    uint8_t in[65536], *buf = NULL;
    size_t alloc = 0, len = 0;
    lore_status st = LORE_OK;
    int ended = 0;
    while (st == LORE_OK) {
        ssize_t r = refill(fd, &z, in, sizeof in, ended ? 2 : 1);
        if (r < 0) {
            snprintf(err, errlen, "gzip: read failed: %s", strerror(errno));
            st = LORE_IO;
        } else if (r == 0 && !ended) {
            snprintf(err, errlen, "gzip: the file is truncated (the stream has no end)");
            st = LORE_INVALID;
        } else if (r == 0) {
            break; /* the end of the last member */
        } else if (ended && !ingest_is_gzip(z.next_in, z.avail_in)) {
            snprintf(err, errlen, "gzip: %u bytes of garbage after the compressed data",
                     z.avail_in);
            st = LORE_INVALID;
        } else {
            if (ended && inflateReset(&z) != Z_OK) st = LORE_INTERNAL; /* another member */
            ended = 0;
            int zr = st == LORE_OK ? step(&z, &buf, &alloc, &len, max_out) : Z_OK;
            if (len > max_out) {
                snprintf(err, errlen,
                         "gzip: decompresses to more than %zu MiB (setting max_file_mb); "
                         "refused (a gzip bomb?)",
                         max_out >> 20);
                st = LORE_TOO_LARGE;
            } else if (zr == Z_STREAM_END) {
                ended = 1;
            } else if (zr == Z_MEM_ERROR) {
                st = LORE_NOMEM;
            } else if (zr != Z_OK && zr != Z_BUF_ERROR) { /* BUF: needs more input */
                snprintf(err, errlen, "gzip: corrupt data: %s", z.msg ? z.msg : "inflate failed");
                st = LORE_INVALID;
            }
        }
    }
    inflateEnd(&z);
    if (st == LORE_OK && !buf && !(buf = malloc(1))) st = LORE_NOMEM;
    if (st != LORE_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    *outlen = len;
    return LORE_OK;
}
