/* A small ZIP writer for tests (tests/support/zipwrite.c): stored or
 * deflated entries written one after the other, then the central directory;
 * ZIP64 records on request, so the reader's ZIP64 path is tested without
 * 4 GiB files. Raw entries let a test write what no honest writer would (a
 * wrong CRC, a size that lies). Never linked into lore. */
#ifndef LORE_TEST_SUPPORT_ZIPWRITE_H
#define LORE_TEST_SUPPORT_ZIPWRITE_H

#include <stddef.h>
#include <stdint.h>

typedef struct zipw zipw;

/* Creates path; zip64: write every entry's sizes and offset through the
 * ZIP64 extra field and end with ZIP64 records. NULL on error. */
zipw *zipw_open(const char *path, int zip64);
/* Adds an entry: method 0 stores, 8 deflates (zlib, raw). 0 or -1. */
int zipw_add(zipw *w, const char *name, const void *data, size_t len, int method);
/* Adds an entry with the given header values and payload bytes as they are
 * (already compressed, or garbage). */
int zipw_add_raw(zipw *w, const char *name, int method, uint32_t crc, uint64_t size,
                 const void *comp, size_t comp_len);
/* Writes the central directory and the end records, closes; 0 or -1. */
int zipw_close(zipw *w);
/* Deflates (raw) data; *out malloc'd. 0 or -1. */
int zipw_deflate(const void *data, size_t len, unsigned char **out, size_t *out_len);

#endif
