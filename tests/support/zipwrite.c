/* The test ZIP writer (zipwrite.h), written from PKWARE's APPNOTE. */
#include "support/zipwrite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct zent {
    char *name;
    int method;
    uint32_t crc;
    uint64_t size, csize, offset;
} zent;

struct zipw {
    FILE *f;
    int zip64;
    uint64_t pos;
    zent *e;
    size_t n, cap;
};

static void put16(unsigned char *p, unsigned v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static int out(zipw *w, const void *p, size_t n) {
    if (n && fwrite(p, 1, n, w->f) != n) return -1;
    w->pos += n;
    return 0;
}

zipw *zipw_open(const char *path, int zip64) {
    zipw *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->f = fopen(path, "wb");
    if (!w->f) {
        free(w);
        return NULL;
    }
    w->zip64 = zip64;
    return w;
}

int zipw_deflate(const void *data, size_t len, unsigned char **outp, size_t *out_len) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) return -1;
    size_t cap = deflateBound(&zs, (uLong)len) + 16;
    unsigned char *buf = malloc(cap);
    if (!buf) {
        deflateEnd(&zs);
        return -1;
    }
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    zs.next_out = buf;
    zs.avail_out = (uInt)cap;
    int r = deflate(&zs, Z_FINISH);
    *out_len = cap - zs.avail_out;
    deflateEnd(&zs);
    if (r != Z_STREAM_END) {
        free(buf);
        return -1;
    }
    *outp = buf;
    return 0;
}

int zipw_add_raw(zipw *w, const char *name, int method, uint32_t crc, uint64_t size,
                 const void *comp, size_t comp_len) {
    if (w->n == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 64;
        zent *ne = realloc(w->e, nc * sizeof *ne);
        if (!ne) return -1;
        w->e = ne;
        w->cap = nc;
    }
    zent *e = &w->e[w->n];
    e->name = strdup(name);
    if (!e->name) return -1;
    e->method = method;
    e->crc = crc;
    e->size = size;
    e->csize = comp_len;
    e->offset = w->pos;
    w->n++;
    size_t nlen = strlen(name);
    unsigned char h[30];
    put32(h, 0x04034b50u);
    put16(h + 4, w->zip64 ? 45 : 20);
    put16(h + 6, 0);
    put16(h + 8, (unsigned)method);
    put16(h + 10, 0);
    put16(h + 12, 0x21);
    put32(h + 14, crc);
    put32(h + 18, (uint32_t)comp_len);
    put32(h + 22, (uint32_t)size);
    put16(h + 26, (unsigned)nlen);
    put16(h + 28, 0);
    return out(w, h, sizeof h) || out(w, name, nlen) || out(w, comp, comp_len) ? -1 : 0;
}

int zipw_add(zipw *w, const char *name, const void *data, size_t len, int method) {
    uint32_t crc = (uint32_t)crc32(crc32(0, Z_NULL, 0), data, (uInt)len);
    if (method == 0) return zipw_add_raw(w, name, 0, crc, len, data, len);
    unsigned char *c;
    size_t clen;
    if (zipw_deflate(data, len, &c, &clen)) return -1;
    int r = zipw_add_raw(w, name, 8, crc, len, c, clen);
    free(c);
    return r;
}

int zipw_close(zipw *w) {
    int bad = 0;
    uint64_t cd_off = w->pos;
    if (w->n >= 0xffff || w->pos >= 0xffffffffu) w->zip64 = 1;
    for (size_t i = 0; i < w->n; i++) {
        zent *e = &w->e[i];
        size_t nlen = strlen(e->name);
        unsigned char h[46], x[28];
        put32(h, 0x02014b50u);
        put16(h + 4, 0x031e);
        put16(h + 6, w->zip64 ? 45 : 20);
        put16(h + 8, 0);
        put16(h + 10, (unsigned)e->method);
        put16(h + 12, 0);
        put16(h + 14, 0x21);
        put32(h + 16, e->crc);
        put32(h + 20, w->zip64 ? 0xffffffffu : (uint32_t)e->csize);
        put32(h + 24, w->zip64 ? 0xffffffffu : (uint32_t)e->size);
        put16(h + 28, (unsigned)nlen);
        put16(h + 30, w->zip64 ? 28 : 0);
        put16(h + 32, 0);
        put16(h + 34, 0);
        put16(h + 36, 0);
        put32(h + 38, 0);
        put32(h + 42, w->zip64 ? 0xffffffffu : (uint32_t)e->offset);
        put16(x, 1);
        put16(x + 2, 24);
        put64(x + 4, e->size);
        put64(x + 12, e->csize);
        put64(x + 20, e->offset);
        bad |= out(w, h, sizeof h) || out(w, e->name, nlen) || (w->zip64 && out(w, x, sizeof x));
    }
    uint64_t cd_size = w->pos - cd_off;
    if (w->zip64) {
        uint64_t e64 = w->pos;
        unsigned char r[56], l[20];
        put32(r, 0x06064b50u);
        put64(r + 4, 44);
        put16(r + 12, 0x031e);
        put16(r + 14, 45);
        put32(r + 16, 0);
        put32(r + 20, 0);
        put64(r + 24, w->n);
        put64(r + 32, w->n);
        put64(r + 40, cd_size);
        put64(r + 48, cd_off);
        put32(l, 0x07064b50u);
        put32(l + 4, 0);
        put64(l + 8, e64);
        put32(l + 16, 1);
        bad |= out(w, r, sizeof r) || out(w, l, sizeof l);
    }
    unsigned char end[22];
    put32(end, 0x06054b50u);
    put16(end + 4, 0);
    put16(end + 6, 0);
    put16(end + 8, w->zip64 ? 0xffff : (unsigned)w->n);
    put16(end + 10, w->zip64 ? 0xffff : (unsigned)w->n);
    put32(end + 12, w->zip64 ? 0xffffffffu : (uint32_t)cd_size);
    put32(end + 16, w->zip64 ? 0xffffffffu : (uint32_t)cd_off);
    put16(end + 20, 0);
    bad |= out(w, end, sizeof end);
    bad |= fclose(w->f) != 0;
    for (size_t i = 0; i < w->n; i++)
        free(w->e[i].name);
    free(w->e);
    free(w);
    return bad ? -1 : 0;
}
