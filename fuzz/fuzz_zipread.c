/* Fuzzes the streaming ZIP reader (src/util/zipread.c): the input is
 * written to a file once per run and opened as an archive (the reader works
 * on files, with pread); every entry is then read whole and in small
 * pieces. Small caps (entries, names, sizes, ratio) keep each run fast and
 * reach the cap paths.
 *
 * Invariants: no crash, leak or sanitizer report; an entry that reads has
 * exactly the size its header gives and no problem set; an entry with a
 * problem never reads; errors always come with a message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/zipread.h"

static char path[64];

static void cleanup(void) {
    if (path[0]) unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!path[0]) {
        snprintf(path, sizeof path, "/tmp/fuzz-zipread-%ld.zip", (long)getpid());
        atexit(cleanup);
    }
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    zipread_limits lim;
    zipread_limits_default(&lim);
    lim.max_entries = 64;
    lim.max_name = 128;
    lim.max_entry_size = 1 << 20;
    lim.max_total = 4 << 20;
    lim.ratio_floor = 4096;
    char err[256];
    zipread *z = NULL;
    if (zipread_open(path, &lim, &z, err, sizeof err) != LORE_OK) {
        if (z || !err[0]) abort();
        return 0;
    }
    for (size_t i = 0; i < zipread_count(z); i++) {
        const zipread_entry *e = zipread_entry_at(z, i);
        char *d = NULL;
        size_t n = 0;
        err[0] = 0;
        lore_status st = zipread_read_all(z, i, 1 << 20, &d, &n, err, sizeof err);
        if (st == LORE_OK) {
            if (e->problem || n != e->size || !d || d[n]) abort();
            free(d);
        } else if (d || !err[0]) {
            abort();
        }
        if (zipread_begin(z, i, err, sizeof err) != LORE_OK) continue;
        char buf[3];
        size_t got, total = 0;
        while (zipread_read(z, buf, sizeof buf, &got, err, sizeof err) == LORE_OK && got)
            total += got;
        if (total > e->size) abort();
    }
    zipread_close(z);
    return 0;
}
