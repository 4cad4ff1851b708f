/* Internals shared by the backup (sqlite_backup.c) and the restore
 * (sqlite_restore.c): files, fsyncs, databases and blobs
 * (sqlite_backup_io.c). */
#ifndef LORE_STORE_SQLITE_BACKUP_INT_H
#define LORE_STORE_SQLITE_BACKUP_INT_H

#include "store/sqlite/sqlite_int.h"

#define STEP_PAGES 256
#define BLOB_NAME_MAX 255
#define BUSY_RETRIES 2000 /* 5 ms apart: 10 s, the stores' busy timeout */
/* A restore writes control.db under this name and renames it last: a
 * directory a killed restore leaves holds no control.db, so no store opens
 * it as a valid store missing its tenants. */
#define RESTORING_NAME "control.db.restoring"
/* The kind of the ingest's path jobs (ingest_jobs.h, INGEST_JOB_PATH): its
 * blob is the problems file the job writes when it runs. */
#define PATH_JOB_KIND "path"

typedef struct errbuf {
    char *s;
    size_t n;
} errbuf;

lore_status bk_fail(errbuf *e, lore_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int bk_path_of(char *out, size_t outlen, const char *a, const char *b, const char *c);
int bk_blob_name_ok(const char *name);
lore_status bk_prepare_dir(const char *dir, const char *what, int *created, errbuf *e);
lore_status bk_sync_path(const char *path, errbuf *e);
lore_status bk_sync_subdirs(const char *root, const char *sub, errbuf *e);
void bk_empty_dir(const char *dir, int created);
lore_status bk_open_live(const char *path, sqlite3 **db, errbuf *e);
lore_status bk_open_frozen(const char *path, sqlite3 **db, errbuf *e);
lore_status bk_run(sqlite3 *db, const char *sql);
lore_status bk_query_i64(sqlite3 *db, const char *sql, int64_t *out);
lore_status bk_copy_db(sqlite3 *src, const char *src_path, const char *dest_path, size_t step_pages,
                       int64_t *snapshot_ms, errbuf *e);
lore_status bk_integrity(sqlite3 *db, const char *path, errbuf *e);
lore_status bk_control_counts(sqlite3 *db, store_backup_report *r);
lore_status bk_list_tenants(sqlite3 *db, store_backup_report *r);
lore_status bk_tenant_figures(const char *path, int check, store_backup_tenant *t, errbuf *e);
lore_status bk_copy_file(const char *from, const char *to, int64_t *bytes, char sha[65], errbuf *e);
lore_status bk_add_blob(store_backup_report *r, size_t *cap, const char *tenant, const char *name,
                        int64_t bytes, const char *sha);
lore_status bk_copy_blob(const char *from_root, const char *to_root, const char *tenant,
                         const char *name, store_backup_report *r, size_t *cap, errbuf *e);

#endif
