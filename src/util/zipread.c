/* The streaming ZIP reader (zipread.h), from PKWARE's APPNOTE:
 *
 *   [local header 30 + name + extra][data] ... [central directory]
 *   [ZIP64 end record][ZIP64 locator] [end of central directory 22 + comment]
 *
 * The end record is found by scanning the last 64 KiB + 22 bytes backward
 * for its signature; a ZIP64 locator right before it (20 bytes) points to
 * the ZIP64 end record whose 8-byte counts and offsets win. Each central
 * header (46 bytes + name + extra + comment) gives an entry; a field at its
 * 32-bit maximum takes its value from the ZIP64 extra field (id 1), which
 * holds, in order, only the fields that overflowed. Data is read with pread
 * from the local header's end; sizes and CRC come from the central directory
 * (a data descriptor repeats them, so it is not read). */
#include "util/zipread.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_END 0x06054b50u
#define SIG_END64 0x06064b50u
#define SIG_LOC64 0x07064b50u
#define END_LEN 22
#define LOC64_LEN 20
#define END64_LEN 56
#define CENTRAL_LEN 46
#define LOCAL_LEN 30
#define IN_BUF (64u << 10)

struct zipread {
    int fd;
    uint64_t file_size;
    uint64_t cd_offset, cd_size;
    zipread_limits lim;
    zipread_entry *entries;
    uint64_t *data_end; /* per entry: where its bytes must end (the next local header) */
    size_t n;
    uint64_t total;
    /* The entry being streamed. */
    const zipread_entry *cur; /* NULL: none */
    int done;
    z_stream zs;
    int zs_ready;
    uint64_t in_pos, in_left; /* compressed bytes still in the file */
    uint64_t out;             /* uncompressed bytes produced */
    uint32_t crc;
    unsigned char in[IN_BUF];
};

void zipread_limits_default(zipread_limits *l) {
    l->max_entries = 1000000;
    l->max_name = 1024;
    l->max_entry_size = 4ull << 30;
    l->max_total = 256ull << 30;
    l->max_ratio = 200;
    l->ratio_floor = 1u << 20;
}

__attribute__((format(printf, 4, 5))) static lore_status
fail(char *err, size_t errlen, lore_status st, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

static uint16_t le16(const unsigned char *p) {
    return (uint16_t)(p[0] | (p[1] << 8));
}
static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t le64(const unsigned char *p) {
    return (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32);
}

/* Exactly n bytes at off, or -1 (short file, I/O error). */
static int rd(const zipread *z, uint64_t off, void *buf, size_t n) {
    if (off > z->file_size || n > z->file_size - off) return -1;
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(z->fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

/* Finds the end record; fills the central directory's place and count. */
static lore_status read_end(zipread *z, uint64_t *count, char *err, size_t errlen) {
    size_t span = z->file_size < 65535 + END_LEN ? (size_t)z->file_size : 65535 + END_LEN;
    if (span < END_LEN)
        return fail(err, errlen, LORE_INVALID, "not a ZIP archive (%llu bytes)",
                    (unsigned long long)z->file_size);
    unsigned char *tail = malloc(span);
    if (!tail) return LORE_NOMEM;
    uint64_t base = z->file_size - span;
    if (rd(z, base, tail, span)) {
        free(tail);
        return fail(err, errlen, LORE_IO, "cannot read the end of the archive");
    }
    size_t at = span;
    for (size_t i = span - END_LEN + 1; i-- > 0;)
        if (le32(tail + i) == SIG_END && i + END_LEN + le16(tail + i + 20) <= span) {
            at = i;
            break;
        }
    if (at == span) {
        free(tail);
        return fail(err, errlen, LORE_INVALID,
                    "not a ZIP archive (no end of central directory record)");
    }
    const unsigned char *e = tail + at;
    uint16_t disk = le16(e + 4), cd_disk = le16(e + 6), n_disk = le16(e + 8), n = le16(e + 10);
    uint32_t cd_size = le32(e + 12), cd_off = le32(e + 16);
    uint64_t end_pos = base + at;
    free(tail);
    *count = n;
    z->cd_size = cd_size;
    z->cd_offset = cd_off;
    uint64_t limit = end_pos; /* the central directory ends before this */
    unsigned char loc[LOC64_LEN];
    if (end_pos >= LOC64_LEN && !rd(z, end_pos - LOC64_LEN, loc, LOC64_LEN) &&
        le32(loc) == SIG_LOC64) {
        uint64_t off64 = le64(loc + 8);
        unsigned char e64[END64_LEN];
        if (le32(loc + 4) != 0 || le32(loc + 16) > 1)
            return fail(err, errlen, LORE_UNSUPPORTED, "multi-disk archives are not supported");
        if (off64 > end_pos - LOC64_LEN || end_pos - LOC64_LEN - off64 < END64_LEN ||
            rd(z, off64, e64, END64_LEN) || le32(e64) != SIG_END64 || le64(e64 + 4) < 44)
            return fail(err, errlen, LORE_INVALID,
                        "the ZIP64 end of central directory record is missing or damaged");
        if (le32(e64 + 16) != 0 || le32(e64 + 20) != 0 || le64(e64 + 24) != le64(e64 + 32))
            return fail(err, errlen, LORE_UNSUPPORTED, "multi-disk archives are not supported");
        *count = le64(e64 + 32);
        z->cd_size = le64(e64 + 40);
        z->cd_offset = le64(e64 + 48);
        limit = off64;
    } else if (n == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu) {
        return fail(err, errlen, LORE_INVALID,
                    "the archive needs ZIP64 records but has no ZIP64 locator");
    } else if (disk != 0 || cd_disk != 0 || n_disk != n) {
        return fail(err, errlen, LORE_UNSUPPORTED, "multi-disk archives are not supported");
    }
    if (z->cd_offset > limit || z->cd_size > limit - z->cd_offset)
        return fail(err, errlen, LORE_INVALID,
                    "the central directory (%llu bytes at %llu) lies outside the archive",
                    (unsigned long long)z->cd_size, (unsigned long long)z->cd_offset);
    if (*count > z->lim.max_entries)
        return fail(err, errlen, LORE_TOO_LARGE, "%llu entries, over the cap of %llu",
                    (unsigned long long)*count, (unsigned long long)z->lim.max_entries);
    if (*count > z->cd_size / CENTRAL_LEN)
        return fail(err, errlen, LORE_INVALID,
                    "the central directory (%llu bytes) cannot hold %llu entries",
                    (unsigned long long)z->cd_size, (unsigned long long)*count);
    return LORE_OK;
}

/* Takes the overflowed fields of a central header from its ZIP64 extra. */
static int zip64_extra(const unsigned char *x, size_t xlen, uint64_t *size, uint64_t *csize,
                       uint64_t *off, int need_size, int need_csize, int need_off) {
    while (xlen >= 4) {
        uint16_t id = le16(x), len = le16(x + 2);
        if ((size_t)len > xlen - 4) return -1;
        if (id == 1) {
            const unsigned char *p = x + 4;
            size_t left = len;
            uint64_t *dst[3] = {size, csize, off};
            int need[3] = {need_size, need_csize, need_off};
            for (int i = 0; i < 3; i++) {
                if (!need[i]) continue;
                if (left < 8) return -1;
                *dst[i] = le64(p);
                p += 8;
                left -= 8;
            }
            return 0;
        }
        x += 4 + len;
        xlen -= 4 + (size_t)len;
    }
    return need_size || need_csize || need_off ? -1 : 0;
}

/* Why an entry cannot be read, from its header alone (NULL: it can). */
static const char *entry_problem(const zipread *z, const zipread_entry *e, uint16_t flags) {
    if (flags & 0x41) return "it is encrypted";
    if (e->method != 0 && e->method != 8)
        return "its compression method is not supported (only stored and deflated are)";
    if (e->method == 0 && e->size != e->comp_size)
        return "it is stored but its sizes differ (a damaged header)";
    if (e->size > z->lim.max_entry_size) return "it is over the size cap for one entry";
    if (e->size > z->lim.ratio_floor &&
        (e->comp_size == 0 || e->size / e->comp_size >= z->lim.max_ratio))
        return "it expands too much for its compressed size (a zip bomb)";
    return NULL;
}

static lore_status read_central(zipread *z, uint64_t count, char *err, size_t errlen) {
    z->entries = calloc(count ? count : 1, sizeof *z->entries);
    if (!z->entries) return LORE_NOMEM;
    uint64_t pos = z->cd_offset, end = z->cd_offset + z->cd_size;
    unsigned char h[CENTRAL_LEN];
    unsigned char *extra = malloc(65535);
    if (!extra) return LORE_NOMEM;
    lore_status st = LORE_OK;
    for (uint64_t i = 0; i < count && st == LORE_OK; i++) {
        if (end - pos < CENTRAL_LEN || rd(z, pos, h, CENTRAL_LEN) || le32(h) != SIG_CENTRAL) {
            st = fail(err, errlen, LORE_INVALID, "central directory entry %llu is damaged",
                      (unsigned long long)i);
            break;
        }
        uint16_t flags = le16(h + 8), nlen = le16(h + 28), xlen = le16(h + 30), clen = le16(h + 32),
                 disk = le16(h + 34);
        uint64_t rec = (uint64_t)CENTRAL_LEN + nlen + xlen + clen;
        if (rec > end - pos) {
            st = fail(err, errlen, LORE_INVALID,
                      "central directory entry %llu runs past the directory's end",
                      (unsigned long long)i);
            break;
        }
        if (nlen == 0 || nlen > z->lim.max_name) {
            st = fail(err, errlen, LORE_INVALID,
                      "central directory entry %llu has a name of %u bytes (1 to %zu allowed)",
                      (unsigned long long)i, nlen, z->lim.max_name);
            break;
        }
        zipread_entry *e = &z->entries[z->n];
        char *name = malloc((size_t)nlen + 1);
        if (!name) {
            st = LORE_NOMEM;
            break;
        }
        if (rd(z, pos + CENTRAL_LEN, name, nlen) || rd(z, pos + CENTRAL_LEN + nlen, extra, xlen)) {
            free(name);
            st = fail(err, errlen, LORE_IO, "cannot read central directory entry %llu",
                      (unsigned long long)i);
            break;
        }
        name[nlen] = 0;
        e->name = name;
        e->name_len = nlen;
        z->n++;
        if (memchr(name, 0, nlen)) {
            st = fail(err, errlen, LORE_INVALID,
                      "central directory entry %llu has a NUL byte in its name",
                      (unsigned long long)i);
            break;
        }
        e->method = le16(h + 10);
        e->crc = le32(h + 16);
        e->comp_size = le32(h + 20);
        e->size = le32(h + 24);
        e->offset = le32(h + 42);
        e->is_dir = name[nlen - 1] == '/';
        if (zip64_extra(extra, xlen, &e->size, &e->comp_size, &e->offset, e->size == 0xffffffffu,
                        e->comp_size == 0xffffffffu, e->offset == 0xffffffffu)) {
            st = fail(err, errlen, LORE_INVALID, "%s: its ZIP64 extra field is damaged", name);
            break;
        }
        if (disk != 0 && disk != 0xffff) {
            st = fail(err, errlen, LORE_UNSUPPORTED, "multi-disk archives are not supported");
            break;
        }
        if (e->offset >= z->cd_offset || z->cd_offset - e->offset < LOCAL_LEN + (uint64_t)nlen ||
            e->comp_size > z->cd_offset - e->offset - LOCAL_LEN - nlen) {
            st = fail(err, errlen, LORE_INVALID,
                      "%s: its data lies outside the archive or over the central directory", name);
            break;
        }
        e->problem = entry_problem(z, e, flags);
        if (!e->problem) {
            z->total += e->size;
            if (z->total > z->lim.max_total) {
                st = fail(err, errlen, LORE_TOO_LARGE,
                          "the archive expands to more than %llu bytes, its cap",
                          (unsigned long long)z->lim.max_total);
                break;
            }
        }
        pos += rec;
    }
    free(extra);
    return st;
}

static int by_offset(const void *a, const void *b) {
    const zipread_entry *x = *(const zipread_entry *const *)a,
                        *y = *(const zipread_entry *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Refuses entries whose local header and data overlap another entry's: an
 * honest writer puts each entry after the one before, while a crafted
 * archive makes thousands of central records point at one small deflated
 * stream, so a few megabytes expand to the total cap (a zip bomb by
 * overlap, which no ratio catches). Records in data_end where each entry's
 * bytes must end, for zipread_begin to check against its local header. */
static lore_status check_overlap(zipread *z, char *err, size_t errlen) {
    if (!z->n) return LORE_OK;
    const zipread_entry **order = malloc(z->n * sizeof *order);
    z->data_end = malloc(z->n * sizeof *z->data_end);
    if (!order || !z->data_end) {
        free(order);
        return LORE_NOMEM;
    }
    for (size_t i = 0; i < z->n; i++)
        order[i] = &z->entries[i];
    qsort(order, z->n, sizeof *order, by_offset);
    lore_status st = LORE_OK;
    for (size_t i = 0; i < z->n && st == LORE_OK; i++) {
        const zipread_entry *e = order[i];
        uint64_t next = i + 1 < z->n ? order[i + 1]->offset : z->cd_offset;
        /* read_central checked that offset + header + name + data stays
         * before the central directory: no overflow here. */
        if (e->offset + LOCAL_LEN + e->name_len + e->comp_size > next)
            st = fail(err, errlen, LORE_INVALID,
                      "%s: its data overlaps the entry %s (a crafted archive; refused whole)",
                      e->name, i + 1 < z->n ? order[i + 1]->name : "(central directory)");
        z->data_end[e - z->entries] = next;
    }
    free(order);
    return st;
}

lore_status zipread_open(const char *path, const zipread_limits *lim, zipread **out, char *err,
                         size_t errlen) {
    *out = NULL;
    if (err && errlen) err[0] = 0;
    zipread *z = calloc(1, sizeof *z);
    if (!z) return LORE_NOMEM;
    if (lim)
        z->lim = *lim;
    else
        zipread_limits_default(&z->lim);
    if (!z->lim.max_ratio) z->lim.max_ratio = 1;
    z->fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (z->fd < 0 || fstat(z->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        int e = z->fd < 0 ? errno : EINVAL;
        zipread_close(z);
        return fail(err, errlen, LORE_IO, "cannot open: %s",
                    e == EINVAL ? "not a regular file" : strerror(e));
    }
    z->file_size = (uint64_t)sb.st_size;
    uint64_t count = 0;
    lore_status st = read_end(z, &count, err, errlen);
    if (st == LORE_OK) st = read_central(z, count, err, errlen);
    if (st == LORE_OK) st = check_overlap(z, err, errlen);
    if (st != LORE_OK) {
        zipread_close(z);
        return st;
    }
    *out = z;
    return LORE_OK;
}

void zipread_close(zipread *z) {
    if (!z) return;
    if (z->fd >= 0) close(z->fd);
    for (size_t i = 0; i < z->n; i++)
        free((char *)z->entries[i].name);
    free(z->entries);
    free(z->data_end);
    if (z->zs_ready) inflateEnd(&z->zs);
    free(z);
}

size_t zipread_count(const zipread *z) {
    return z->n;
}

const zipread_entry *zipread_entry_at(const zipread *z, size_t i) {
    return i < z->n ? &z->entries[i] : NULL;
}

uint64_t zipread_total(const zipread *z) {
    return z->total;
}

lore_status zipread_begin(zipread *z, size_t i, char *err, size_t errlen) {
    z->cur = NULL;
    z->done = 0;
    if (i >= z->n) return fail(err, errlen, LORE_INVALID, "no entry %zu", i);
    const zipread_entry *e = &z->entries[i];
    if (e->problem)
        return fail(err, errlen, LORE_TOO_LARGE, "%s: refused: %s (%llu bytes from %llu)", e->name,
                    e->problem, (unsigned long long)e->size, (unsigned long long)e->comp_size);
    unsigned char h[LOCAL_LEN];
    if (rd(z, e->offset, h, LOCAL_LEN) || le32(h) != SIG_LOCAL)
        return fail(err, errlen, LORE_INVALID, "%s: its local header is missing or damaged",
                    e->name);
    uint16_t nlen = le16(h + 26), xlen = le16(h + 28);
    uint64_t data = e->offset + LOCAL_LEN + nlen + xlen;
    char name[1024];
    if (nlen != e->name_len || le16(h + 8) != e->method || nlen > sizeof name ||
        rd(z, e->offset + LOCAL_LEN, name, nlen) || memcmp(name, e->name, nlen))
        return fail(err, errlen, LORE_INVALID,
                    "%s: its local header does not match the central directory", e->name);
    uint64_t end = z->data_end[i];
    if (data > end || e->comp_size > end - data)
        return fail(err, errlen, LORE_INVALID,
                    "%s: its data runs over the next entry or the central directory", e->name);
    if (e->method == 8) {
        int zr = z->zs_ready ? inflateReset(&z->zs) : inflateInit2(&z->zs, -MAX_WBITS);
        if (zr != Z_OK) return LORE_NOMEM;
        z->zs_ready = 1;
        z->zs.avail_in = 0;
    }
    z->cur = e;
    z->done = 0;
    z->in_pos = data;
    z->in_left = e->comp_size;
    z->out = 0;
    z->crc = (uint32_t)crc32(0, Z_NULL, 0);
    return LORE_OK;
}

/* The entry's end: everything consumed, size and CRC as recorded. */
static lore_status finish(zipread *z, char *err, size_t errlen) {
    const zipread_entry *e = z->cur;
    z->cur = NULL;
    if (z->in_left || (e->method == 8 && z->zs.avail_in))
        return fail(err, errlen, LORE_INVALID,
                    "%s: its compressed data goes on past the end of its stream", e->name);
    if (z->out != e->size)
        return fail(err, errlen, LORE_INVALID, "%s: %llu bytes where its header says %llu", e->name,
                    (unsigned long long)z->out, (unsigned long long)e->size);
    if (z->crc != e->crc)
        return fail(err, errlen, LORE_INVALID,
                    "%s: CRC-32 mismatch (the data is damaged: %08x, expected %08x)", e->name,
                    z->crc, e->crc);
    z->done = 1;
    return LORE_OK;
}

static lore_status refill(zipread *z, char *err, size_t errlen) {
    size_t n = z->in_left < IN_BUF ? (size_t)z->in_left : IN_BUF;
    if (rd(z, z->in_pos, z->in, n)) {
        const char *name = z->cur->name;
        z->cur = NULL;
        return fail(err, errlen, LORE_IO, "%s: cannot read its data (the archive is truncated?)",
                    name);
    }
    z->in_pos += n;
    z->in_left -= n;
    z->zs.next_in = z->in;
    z->zs.avail_in = (uInt)n;
    return LORE_OK;
}

static lore_status read_deflated(zipread *z, unsigned char *buf, size_t cap, size_t *got, char *err,
                                 size_t errlen) {
    const zipread_entry *e = z->cur;
    for (;;) {
        if (!z->zs.avail_in && z->in_left) {
            lore_status st = refill(z, err, errlen);
            if (st != LORE_OK) return st;
        }
        z->zs.next_out = buf;
        z->zs.avail_out = (uInt)cap;
        int zr = inflate(&z->zs, Z_NO_FLUSH);
        size_t n = cap - z->zs.avail_out;
        if (n && (z->out + n > e->size || z->out + n < z->out)) {
            z->cur = NULL;
            return fail(err, errlen, LORE_INVALID,
                        "%s: inflates to more than the %llu bytes its header says", e->name,
                        (unsigned long long)e->size);
        }
        z->out += n;
        z->crc = (uint32_t)crc32(z->crc, buf, (uInt)n);
        if (zr == Z_STREAM_END) {
            if (n) {
                *got = n;
                return LORE_OK;
            }
            return finish(z, err, errlen);
        }
        if (zr == Z_OK && n) {
            *got = n;
            return LORE_OK;
        }
        if (zr == Z_OK || (zr == Z_BUF_ERROR && (z->zs.avail_in || z->in_left))) continue;
        z->cur = NULL;
        if (zr == Z_BUF_ERROR)
            return fail(err, errlen, LORE_INVALID, "%s: its compressed data is truncated", e->name);
        return fail(err, errlen, zr == Z_MEM_ERROR ? LORE_NOMEM : LORE_INVALID,
                    "%s: its compressed data is damaged (%s)", e->name,
                    z->zs.msg ? z->zs.msg : "inflate failed");
    }
}

lore_status zipread_read(zipread *z, void *buf, size_t cap, size_t *got, char *err, size_t errlen) {
    *got = 0;
    if (z->done && !z->cur) return LORE_OK;
    if (!z->cur) return fail(err, errlen, LORE_INVALID, "no entry is being read");
    if (!cap) return LORE_OK;
    if (cap > (1u << 30)) cap = 1u << 30;
    if (z->cur->method == 8) return read_deflated(z, buf, cap, got, err, errlen);
    if (!z->in_left) return finish(z, err, errlen);
    size_t n = z->in_left < cap ? (size_t)z->in_left : cap;
    if (rd(z, z->in_pos, buf, n)) {
        const char *name = z->cur->name;
        z->cur = NULL;
        return fail(err, errlen, LORE_IO, "%s: cannot read its data (the archive is truncated?)",
                    name);
    }
    z->in_pos += n;
    z->in_left -= n;
    z->out += n;
    z->crc = (uint32_t)crc32(z->crc, buf, (uInt)n);
    *got = n;
    return LORE_OK;
}

lore_status zipread_read_all(zipread *z, size_t i, size_t max, char **data, size_t *len, char *err,
                             size_t errlen) {
    *data = NULL;
    *len = 0;
    const zipread_entry *e = zipread_entry_at(z, i);
    if (!e) return fail(err, errlen, LORE_INVALID, "no entry %zu", i);
    if (!e->problem && e->size > max)
        return fail(err, errlen, LORE_TOO_LARGE, "%s: %llu bytes, over the cap of %zu", e->name,
                    (unsigned long long)e->size, max);
    lore_status st = zipread_begin(z, i, err, errlen);
    if (st != LORE_OK) return st;
    char *buf = malloc((size_t)e->size + 1);
    if (!buf) {
        z->cur = NULL;
        return LORE_NOMEM;
    }
    size_t used = 0;
    for (;;) {
        size_t got;
        /* Room for one byte past the size, so a stream longer than its
         * header says is caught by the reader, not by a short buffer. */
        size_t room = (size_t)e->size - used;
        st = zipread_read(z, buf + used, room ? room : 1, &got, err, errlen);
        if (st != LORE_OK || !got) break;
        used += got;
    }
    if (st != LORE_OK) {
        free(buf);
        return st;
    }
    buf[used] = 0;
    *data = buf;
    *len = used;
    return LORE_OK;
}
