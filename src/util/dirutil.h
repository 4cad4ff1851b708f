/* Small directory helpers shared by the store, ingest and the CLI. */
#ifndef LORE_UTIL_DIRUTIL_H
#define LORE_UTIL_DIRUTIL_H

/* 1 when dir is a directory with no entry but "." and "..", 0 when it has
 * one, -1 when it cannot be opened (errno says why: ENOENT, ENOTDIR, ...). */
int lore_dir_empty(const char *dir);

/* mkdir -p with mode 0700 for the directories it makes: 0, or -1 with
 * errno set (ENAMETOOLONG past 4095 bytes, ENOTDIR when path is a file). */
int lore_mkdir_p(const char *path);

#endif
