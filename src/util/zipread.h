/* A streaming ZIP reader (PKWARE APPNOTE 6.3): the central directory
 * (ZIP64 too) is read into a table of entries; one entry at a time is then
 * streamed from the file, stored (method 0) or deflated (method 8, zlib raw
 * inflate), and its size and CRC-32 are checked as it ends. Nothing is ever
 * extracted to disk: names are only names.
 *
 * Every size has a cap (zipread_limits): entries, name length, an entry's
 * uncompressed size, the archive's total, and the ratio of an entry's
 * uncompressed to compressed size. An entry over a cap or ratio (a zip
 * bomb) is kept in the table with its problem set, so a caller reports it by
 * name and goes on with the others; the bytes actually inflated are counted
 * too, so a header that lies about a size cannot sneak one through.
 * Structural garbage (bad signatures, offsets outside the file, overlapping
 * the central directory, entries overlapping each other (many central
 * records pointing at one small stream: a zip bomb by overlap), multi-disk
 * archives, encryption) is an error, never a crash.
 *
 * Threads: one reader per thread. */
#ifndef LORE_UTIL_ZIPREAD_H
#define LORE_UTIL_ZIPREAD_H

#include <stddef.h>
#include <stdint.h>
#include "util/status.h"

typedef struct zipread_limits {
    uint64_t max_entries;    /* entries in the central directory */
    size_t max_name;         /* bytes of an entry's name */
    uint64_t max_entry_size; /* an entry's uncompressed bytes */
    uint64_t max_total;      /* the sum of every entry's uncompressed bytes */
    uint32_t max_ratio;      /* uncompressed / compressed, for entries past ratio_floor */
    uint64_t ratio_floor;    /* entries at most this big are never refused by ratio */
} zipread_limits;

/* 1,000,000 entries, names of 1 KiB, entries of 4 GiB, 256 GiB in all,
 * ratio 200 past 1 MiB (JSON deflates 5 to 20 times; a bomb by thousands). */
void zipread_limits_default(zipread_limits *l);

typedef struct zipread_entry {
    const char *name; /* NUL-terminated; never contains NUL */
    size_t name_len;
    uint64_t size;       /* uncompressed, as the central directory says */
    uint64_t comp_size;  /* compressed */
    uint64_t offset;     /* of the local header */
    uint32_t crc;        /* CRC-32 of the uncompressed bytes */
    uint16_t method;     /* 0 stored, 8 deflated (others: problem set) */
    int is_dir;          /* name ends in '/' */
    const char *problem; /* NULL, or why it cannot be read (static text) */
} zipread_entry;

typedef struct zipread zipread;

/* Opens the archive at path and reads its central directory. On error
 * (LORE_IO, LORE_INVALID, LORE_TOO_LARGE, LORE_UNSUPPORTED, LORE_NOMEM)
 * err says what is wrong with the file. lim NULL: the defaults. */
LORE_MUST_CHECK lore_status zipread_open(const char *path, const zipread_limits *lim, zipread **out,
                                         char *err, size_t errlen);
void zipread_close(zipread *z);

size_t zipread_count(const zipread *z);
/* Entry i in central-directory order (i < zipread_count). */
const zipread_entry *zipread_entry_at(const zipread *z, size_t i);
/* The sum of the entries' uncompressed sizes. */
uint64_t zipread_total(const zipread *z);

/* Starts streaming entry i (ending the one before). An entry with a
 * problem, or a local header that does not match the central directory, is
 * refused with err naming the entry. */
LORE_MUST_CHECK lore_status zipread_begin(zipread *z, size_t i, char *err, size_t errlen);
/* Reads up to cap bytes of the current entry into buf; *got 0 at its end,
 * which is only reported once its size and CRC-32 matched. Errors (a
 * truncated or corrupt stream, a size or CRC that does not match, a size
 * past the caps) name the entry in err; the entry is then over. */
LORE_MUST_CHECK lore_status zipread_read(zipread *z, void *buf, size_t cap, size_t *got, char *err,
                                         size_t errlen);
/* Reads the whole of entry i into *data (owned, NUL-terminated, malloc) if
 * it is at most max bytes; a larger entry is LORE_TOO_LARGE without reading
 * it. */
LORE_MUST_CHECK lore_status zipread_read_all(zipread *z, size_t i, size_t max, char **data,
                                             size_t *len, char *err, size_t errlen);

#endif
