/* The streaming ZIP reader (src/util/zipread.c) against archives written by
 * tests/support/zipwrite.c: stored and deflated entries, ZIP64 records, a
 * CRC that does not match, truncated archives and streams, zip bombs (by
 * ratio, by absolute cap, by a header that lies), caps on entries and names,
 * and garbage (random bytes, random flips of a good archive) that must give
 * an error or good data, never a crash (ASan builds). Random parts print
 * their seed. */
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "support/zipwrite.h"
#include "test.h"
#include "util/zipread.h"

static char dir[256];
static char err[512];

static const char *path_of(const char *name) {
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

/* Reads entry i through zipread_read with a small buffer; returns the
 * status and the bytes in *data (owned). */
static lore_status read_small(zipread *z, size_t i, char **data, size_t *len) {
    *data = NULL;
    *len = 0;
    lore_status st = zipread_begin(z, i, err, sizeof err);
    if (st != LORE_OK) return st;
    size_t cap = 1 << 20, used = 0;
    char *buf = malloc(cap);
    for (;;) {
        size_t got;
        if (used + 7 > cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        st = zipread_read(z, buf + used, 7, &got, err, sizeof err);
        if (st != LORE_OK || !got) break;
        used += got;
    }
    if (st != LORE_OK) {
        free(buf);
        return st;
    }
    *data = buf;
    *len = used;
    return LORE_OK;
}

static void write_basic(const char *p, int zip64, unsigned char *big, size_t big_len) {
    zipw *w = zipw_open(p, zip64);
    CHECK(w != NULL);
    CHECK(zipw_add(w, "users.json", "[{\"id\":\"U1\"}]", 13, 8) == 0);
    CHECK(zipw_add(w, "stored.txt", "hello, stored", 13, 0) == 0);
    CHECK(zipw_add(w, "empty.txt", "", 0, 8) == 0);
    CHECK(zipw_add(w, "general/", "", 0, 0) == 0);
    CHECK(zipw_add(w, "general/2020-01-01.json", big, big_len, 8) == 0);
    CHECK(zipw_add(w, "random.bin", big, big_len, 0) == 0);
    CHECK(zipw_close(w) == 0);
}

static void test_read_back(int zip64) {
    size_t big_len = 300000;
    unsigned char *big = malloc(big_len);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (unsigned char)(i % 7 == 0 ? test_rand() : 'a' + i % 26);
    const char *p = path_of(zip64 ? "basic64.zip" : "basic.zip");
    write_basic(p, zip64, big, big_len);
    zipread *z = NULL;
    CHECK(zipread_open(p, NULL, &z, err, sizeof err) == LORE_OK);
    if (!z) {
        fprintf(stderr, "open: %s\n", err);
        free(big);
        return;
    }
    CHECK_INT(zipread_count(z), 6);
    CHECK_STR(zipread_entry_at(z, 0)->name, "users.json");
    CHECK_INT(zipread_entry_at(z, 0)->method, 8);
    CHECK_INT(zipread_entry_at(z, 1)->method, 0);
    CHECK(zipread_entry_at(z, 3)->is_dir);
    CHECK(!zipread_entry_at(z, 4)->is_dir);
    CHECK_INT(zipread_entry_at(z, 4)->size, big_len);
    CHECK(zipread_entry_at(z, 6) == NULL);
    CHECK_INT(zipread_total(z), 13 + 13 + 2 * big_len);
    char *d;
    size_t n;
    CHECK(zipread_read_all(z, 0, 100, &d, &n, err, sizeof err) == LORE_OK);
    CHECK_INT(n, 13);
    CHECK(d && !memcmp(d, "[{\"id\":\"U1\"}]", 13) && d[13] == 0);
    free(d);
    CHECK(zipread_read_all(z, 1, 100, &d, &n, err, sizeof err) == LORE_OK);
    CHECK(d && n == 13 && !memcmp(d, "hello, stored", 13));
    free(d);
    CHECK(zipread_read_all(z, 2, 100, &d, &n, err, sizeof err) == LORE_OK);
    CHECK(d && n == 0);
    free(d);
    /* Deflated and stored, in small reads and whole. */
    for (size_t i = 4; i <= 5; i++) {
        CHECK(read_small(z, i, &d, &n) == LORE_OK);
        CHECK(d && n == big_len && !memcmp(d, big, big_len));
        free(d);
        CHECK(zipread_read_all(z, i, big_len, &d, &n, err, sizeof err) == LORE_OK);
        CHECK(d && n == big_len && !memcmp(d, big, big_len));
        free(d);
    }
    /* read_all's cap is checked before anything is read, by name. */
    CHECK(zipread_read_all(z, 4, big_len - 1, &d, &n, err, sizeof err) == LORE_TOO_LARGE);
    CHECK(strstr(err, "general/2020-01-01.json") != NULL);
    /* Reading with no entry begun is an error; after an end, 0 again. */
    CHECK(zipread_begin(z, 99, err, sizeof err) == LORE_INVALID);
    size_t got = 1;
    CHECK(zipread_read(z, d = malloc(8), 8, &got, err, sizeof err) == LORE_INVALID);
    free(d);
    zipread_close(z);
    free(big);
}

static void test_crc_and_lies(void) {
    const char *p = path_of("crc.zip");
    const char *text = "{\"ts\":\"1.0\",\"text\":\"hi\"}";
    size_t tlen = strlen(text);
    uint32_t crc = (uint32_t)crc32(crc32(0, Z_NULL, 0), (const Bytef *)text, (uInt)tlen);
    unsigned char *c;
    size_t clen;
    CHECK(zipw_deflate(text, tlen, &c, &clen) == 0);
    /* 1 MiB of zeros, recorded as 100 bytes: the header lies. */
    size_t zlen = 1 << 20;
    unsigned char *zeros = calloc(1, zlen), *zc;
    size_t zclen;
    CHECK(zipw_deflate(zeros, zlen, &zc, &zclen) == 0);
    zipw *w = zipw_open(p, 0);
    CHECK(zipw_add_raw(w, "bad-crc.json", 8, crc ^ 1, tlen, c, clen) == 0);
    CHECK(zipw_add_raw(w, "bad-crc-stored.json", 0, crc ^ 0x100, tlen, text, tlen) == 0);
    CHECK(zipw_add_raw(w, "short.json", 8, crc, tlen + 5, c, clen) == 0);
    CHECK(zipw_add_raw(w, "liar.json", 8, 0, 100, zc, zclen) == 0);
    CHECK(zipw_add_raw(w, "truncated.json", 8, crc, tlen, c, clen / 2) == 0);
    CHECK(zipw_add_raw(w, "garbage.json", 8, crc, tlen, "\xff\xff\xff\xff\xff", 5) == 0);
    CHECK(zipw_add_raw(w, "method12.bz2", 12, crc, tlen, c, clen) == 0);
    CHECK(zipw_add_raw(w, "stored-sizes.json", 0, crc, tlen + 1, text, tlen) == 0);
    CHECK(zipw_add(w, "good.json", text, tlen, 8) == 0);
    CHECK(zipw_close(w) == 0);
    free(c);
    free(zc);
    free(zeros);
    zipread *z = NULL;
    CHECK(zipread_open(p, NULL, &z, err, sizeof err) == LORE_OK);
    if (!z) return;
    char *d;
    size_t n;
    static const struct {
        const char *name, *says;
        lore_status st;
    } want[] = {
        {"bad-crc.json", "CRC-32 mismatch", LORE_INVALID},
        {"bad-crc-stored.json", "CRC-32 mismatch", LORE_INVALID},
        {"short.json", "bytes where its header says", LORE_INVALID},
        {"liar.json", "inflates to more than the 100 bytes", LORE_INVALID},
        {"truncated.json", "truncated", LORE_INVALID},
        {"garbage.json", "damaged", LORE_INVALID},
        {"method12.bz2", "compression method", LORE_TOO_LARGE},
        {"stored-sizes.json", "sizes differ", LORE_TOO_LARGE},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        err[0] = 0;
        lore_status st = zipread_read_all(z, i, 1 << 20, &d, &n, err, sizeof err);
        CHECK_INT(st, want[i].st);
        CHECK(d == NULL);
        CHECK(strstr(err, want[i].name) == err);
        if (!strstr(err, want[i].says)) fprintf(stderr, "unexpected: %s\n", err);
        CHECK(strstr(err, want[i].says) != NULL);
        /* The same through small reads. */
        CHECK(read_small(z, i, &d, &n) != LORE_OK);
        CHECK(d == NULL);
    }
    CHECK(zipread_read_all(z, 8, 1 << 20, &d, &n, err, sizeof err) == LORE_OK);
    CHECK(d && n == tlen && !memcmp(d, text, tlen));
    free(d);
    zipread_close(z);
}

static void test_bombs(void) {
    const char *p = path_of("bomb.zip");
    size_t zlen = 16u << 20; /* 16 MiB of zeros deflate to about 16 KiB */
    unsigned char *zeros = calloc(1, zlen);
    zipw *w = zipw_open(p, 0);
    CHECK(zipw_add(w, "ok.json", "[]", 2, 8) == 0);
    CHECK(zipw_add(w, "general/2020-01-02.json", zeros, zlen, 8) == 0);
    CHECK(zipw_add(w, "big.txt", zeros, 2 << 20, 0) == 0); /* stored: ratio 1 */
    CHECK(zipw_close(w) == 0);
    free(zeros);
    zipread *z = NULL;
    CHECK(zipread_open(p, NULL, &z, err, sizeof err) == LORE_OK);
    if (!z) return;
    CHECK(zipread_entry_at(z, 1)->problem != NULL);
    CHECK(zipread_entry_at(z, 0)->problem == NULL);
    CHECK(zipread_entry_at(z, 2)->problem == NULL);
    CHECK_INT(zipread_total(z), 2 + (2 << 20)); /* the refused entry does not count */
    char *d;
    size_t n;
    CHECK(zipread_read_all(z, 1, SIZE_MAX, &d, &n, err, sizeof err) == LORE_TOO_LARGE);
    CHECK(strstr(err, "general/2020-01-02.json: refused") == err);
    CHECK(strstr(err, "zip bomb") != NULL);
    CHECK(zipread_read_all(z, 0, 10, &d, &n, err, sizeof err) == LORE_OK);
    free(d);
    zipread_close(z);
    /* The absolute cap for one entry, and the cap on the whole. */
    zipread_limits lim;
    zipread_limits_default(&lim);
    lim.max_entry_size = 1 << 20;
    CHECK(zipread_open(p, &lim, &z, err, sizeof err) == LORE_OK);
    CHECK(z && zipread_entry_at(z, 2)->problem != NULL);
    CHECK(zipread_begin(z, 2, err, sizeof err) == LORE_TOO_LARGE);
    CHECK(strstr(err, "big.txt: refused: it is over the size cap") == err);
    zipread_close(z);
    zipread_limits_default(&lim);
    lim.max_total = 1 << 20;
    CHECK(zipread_open(p, &lim, &z, err, sizeof err) == LORE_TOO_LARGE);
    CHECK(z == NULL && strstr(err, "expands to more than") != NULL);
    /* Caps on entries and names. */
    zipread_limits_default(&lim);
    lim.max_entries = 2;
    CHECK(zipread_open(p, &lim, &z, err, sizeof err) == LORE_TOO_LARGE);
    CHECK(strstr(err, "3 entries, over the cap of 2") != NULL);
    zipread_limits_default(&lim);
    lim.max_name = 10;
    CHECK(zipread_open(p, &lim, &z, err, sizeof err) == LORE_INVALID);
    CHECK(strstr(err, "name of 23 bytes") != NULL);
}

static void test_not_zip(void) {
    zipread *z = NULL;
    CHECK(zipread_open(path_of("absent.zip"), NULL, &z, err, sizeof err) == LORE_IO);
    CHECK(zipread_open(dir, NULL, &z, err, sizeof err) == LORE_IO);
    FILE *f = fopen(path_of("text.zip"), "wb");
    fputs("this is not an archive at all, just some text that is long enough", f);
    fclose(f);
    CHECK(zipread_open(path_of("text.zip"), NULL, &z, err, sizeof err) == LORE_INVALID);
    CHECK(strstr(err, "not a ZIP archive") != NULL);
    f = fopen(path_of("empty.zip"), "wb");
    fclose(f);
    CHECK(zipread_open(path_of("empty.zip"), NULL, &z, err, sizeof err) == LORE_INVALID);
    /* An archive with no entries is fine. */
    zipw *w = zipw_open(path_of("none.zip"), 0);
    CHECK(zipw_close(w) == 0);
    CHECK(zipread_open(path_of("none.zip"), NULL, &z, err, sizeof err) == LORE_OK);
    CHECK(z && zipread_count(z) == 0);
    zipread_close(z);
}

static unsigned char *slurp(const char *p, size_t *n) {
    FILE *f = fopen(p, "rb");
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    unsigned char *b = malloc(*n);
    CHECK(fread(b, 1, *n, f) == *n);
    fclose(f);
    return b;
}

static void spit(const char *p, const unsigned char *b, size_t n) {
    FILE *f = fopen(p, "wb");
    CHECK(fwrite(b, 1, n, f) == n);
    fclose(f);
}

/* Opens and reads every entry; any outcome but a crash is fine, and an
 * entry that reads must be no larger than its header says. */
static void read_everything(const char *p) {
    zipread *z = NULL;
    if (zipread_open(p, NULL, &z, err, sizeof err) != LORE_OK) {
        CHECK(z == NULL && err[0]);
        return;
    }
    for (size_t i = 0; i < zipread_count(z); i++) {
        char *d;
        size_t n;
        if (zipread_read_all(z, i, 1 << 20, &d, &n, err, sizeof err) == LORE_OK) {
            CHECK(n == zipread_entry_at(z, i)->size);
            free(d);
        } else {
            CHECK(err[0] != 0);
        }
    }
    zipread_close(z);
}

static void put16(unsigned char *p, unsigned v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static void put32(unsigned char *p, uint32_t v) {
    put16(p, v & 0xffff);
    put16(p + 2, v >> 16);
}

/* A zip bomb by overlap: one deflated entry of 1 MiB of zeros (not past the
 * ratio floor, so no ratio refuses it) and copies central records all
 * pointing at its one local header. Without the overlap check a 100 KiB
 * archive opens as copies GiB of entries that each read fine. Also: a
 * record whose data runs into the next entry's local header. */
static void test_overlap(void) {
    char p[512];
    snprintf(p, sizeof p, "%s", path_of("overlap-src.zip"));
    size_t zlen = 1u << 20;
    unsigned char *zeros = calloc(1, zlen);
    zipw *w = zipw_open(p, 0);
    CHECK(zipw_add(w, "general/2020-01-03.json", zeros, zlen, 8) == 0);
    CHECK(zipw_add(w, "general/2020-01-04.json", "[]", 2, 0) == 0);
    CHECK(zipw_close(w) == 0);
    free(zeros);
    size_t n;
    unsigned char *src = slurp(p, &n);
    const unsigned char *end = src + n - 22;
    uint32_t cd_off = (uint32_t)(end[16] | end[17] << 8 | end[18] << 16 | (uint32_t)end[19] << 24);
    const unsigned char *rec = src + cd_off;
    size_t nlen = (size_t)(rec[28] | rec[29] << 8), reclen = 46 + nlen;
    CHECK(rec[30] == 0 && rec[31] == 0 && rec[32] == 0 && rec[33] == 0); /* no extra/comment */
    const unsigned copies = 2000;
    size_t out_len = cd_off + copies * reclen + 22;
    unsigned char *bomb = malloc(out_len), *q = bomb;
    memcpy(q, src, cd_off);
    q += cd_off;
    for (unsigned i = 0; i < copies; i++, q += reclen)
        memcpy(q, rec, reclen); /* every record: offset 0, the first entry */
    memset(q, 0, 22);
    put32(q, 0x06054b50u);
    put16(q + 8, copies);
    put16(q + 10, copies);
    put32(q + 12, (uint32_t)(copies * reclen));
    put32(q + 16, cd_off);
    spit(path_of("overlap.zip"), bomb, out_len);
    zipread *z = NULL;
    CHECK(zipread_open(path_of("overlap.zip"), NULL, &z, err, sizeof err) == LORE_INVALID);
    CHECK(z == NULL);
    CHECK(strstr(err, "overlaps") != NULL);
    zipread_close(z);
    /* The honest archive still opens; then its first record's compressed
     * size is raised so its data runs over the second entry's header. */
    CHECK(zipread_open(p, NULL, &z, err, sizeof err) == LORE_OK);
    zipread_close(z);
    unsigned char *liar = malloc(n);
    memcpy(liar, src, n);
    uint32_t csize = (uint32_t)(rec[20] | rec[21] << 8 | rec[22] << 16 | (uint32_t)rec[23] << 24);
    put32(liar + cd_off + 20, csize + 10);
    put32(liar + 18, csize + 10); /* the local header agrees, as a crafted one would */
    spit(path_of("overlap2.zip"), liar, n);
    z = NULL;
    CHECK(zipread_open(path_of("overlap2.zip"), NULL, &z, err, sizeof err) == LORE_INVALID);
    CHECK(strstr(err, "general/2020-01-03.json: its data overlaps") == err);
    zipread_close(z);
    free(liar);
    free(bomb);
    free(src);
}

static void test_truncated_and_garbage(void) {
    size_t n;
    unsigned char *good = slurp(path_of("basic.zip"), &n);
    unsigned char *good64 = NULL;
    size_t n64;
    good64 = slurp(path_of("basic64.zip"), &n64);
    const char *p = path_of("mangled.zip");
    /* Every truncation of the ZIP64 archive's tail, and some of the other. */
    for (size_t cut = 0; cut < n64; cut += cut + 150 < n64 ? 97 : 1) {
        spit(p, good64, cut);
        zipread *z = NULL;
        CHECK(zipread_open(p, NULL, &z, err, sizeof err) != LORE_OK);
        CHECK(z == NULL);
    }
    /* Random byte flips, then random files. */
    unsigned char *m = malloc(n64 > n ? n64 : n);
    for (int round = 0; round < 1500; round++) {
        int use64 = round & 1;
        size_t len = use64 ? n64 : n;
        memcpy(m, use64 ? good64 : good, len);
        int flips = 1 + (int)(test_rand() % 4);
        for (int k = 0; k < flips; k++) {
            size_t at = (size_t)(test_rand() % len);
            /* Half the time, hit the central directory and end records. */
            if (test_rand() & 1) at = len - 1 - (size_t)(test_rand() % (len < 400 ? len : 400));
            m[at] = (unsigned char)test_rand();
        }
        spit(p, m, len);
        read_everything(p);
    }
    for (int round = 0; round < 200; round++) {
        size_t len = (size_t)(test_rand() % 300);
        for (size_t i = 0; i < len; i++)
            m[i] = (unsigned char)test_rand();
        if (len >= 22 && (test_rand() & 1)) memcpy(m + len - 22, "PK\5\6", 4);
        spit(p, m, len);
        read_everything(p);
    }
    free(m);
    free(good);
    free(good64);
}

int main(void) {
    test_seed();
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    test_read_back(0);
    test_read_back(1);
    test_crc_and_lies();
    test_bombs();
    test_not_zip();
    test_overlap();
    test_truncated_and_garbage();
    test_rmtree(dir);
    return test_summary();
}
