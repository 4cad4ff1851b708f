/* lore backup DEST and lore restore SRC: an online copy of the whole data
 * directory and its way back (store.h, "backup and restore";
 * docs/storage.md). This file owns the manifest, DEST/manifest.json: what
 * the backup holds, written last, so a backup without one is incomplete,
 * and checked against what a restore finds. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/dirutil.h"
#include "util/timeutil.h"

#define MANIFEST "manifest.json"
#define MANIFEST_FORMAT "lore-backup"
#define MANIFEST_VERSION 1
#define MANIFEST_MAX (256 << 20) /* bytes: a manifest lists blobs, not documents */

static const cli_opt backup_opts[] = {
    {"step-pages", 0, "N", 0, "database pages copied per step (default 256)"},
    {"quiet", 'q', NULL, 0, "print nothing but errors"},
};
static const cli_help backup_help = {
    "lore backup DEST [--step-pages N]",
    "Copy the whole store (control database, every tenant, pending job payloads)\n"
    "into DEST, a new or empty directory, while a server keeps serving.",
    "Each database is copied with SQLite's online backup API from one read snapshot\n"
    "(writers are never blocked). The control database is copied first, then the job\n"
    "blobs it names, then the tenants, so every document whose job was done when the\n"
    "backup began is in the backup, and every job in the backup has its payload.\n"
    "DEST/manifest.json, written last, lists what the backup holds; restore it with\n"
    "lore restore. See docs/storage.md, \"Backup and restore\".",
    "  lore backup /backups/lore-$(date +%F)\n  lore backup --data-dir /srv/lore /mnt/b1",
};

static const cli_opt restore_opts[] = {
    {"quiet", 'q', NULL, 0, "print nothing but errors"},
};
static const cli_help restore_help = {
    "lore restore SRC [--data-dir DIR]",
    "Restore a backup made by lore backup into the data directory, which must be new\n"
    "or empty.",
    "The manifest is read first; each database is copied, passes SQLite's integrity\n"
    "check and must hold the tenants, documents, chunks, keys and jobs the manifest\n"
    "lists; each blob must have the manifest's size and SHA-256. On any failure the\n"
    "data directory is emptied again and the exit code is 2. The backup is only read.",
    "  lore restore /backups/lore-2026-12-05 --data-dir ./lore-data",
};

/* ---- the manifest ---- */

static json_t *iso(int64_t ms) {
    char s[32];
    lore_format_iso8601(ms, s, sizeof s);
    return json_string(s);
}

static json_t *manifest_json(const store_backup_report *r, int64_t started_ms, int64_t done_ms) {
    int64_t control, tenant;
    store_schema_versions(&control, &tenant);
    json_t *m = json_object(), *tenants = json_array(), *blobs = json_array();
    json_object_set_new(m, "format", json_string(MANIFEST_FORMAT));
    json_object_set_new(m, "format_version", json_integer(MANIFEST_VERSION));
    json_object_set_new(m, "lore_version", json_string(LORE_VERSION));
    json_object_set_new(m, "started_at", iso(started_ms));
    json_object_set_new(m, "snapshot_ms", json_integer(r->snapshot_ms));
    json_object_set_new(m, "finished_at", iso(done_ms));
    json_object_set_new(m, "duration_ms", json_integer(done_ms - started_ms));
    json_t *c = json_object();
    json_object_set_new(c, "schema", json_integer(r->control_schema));
    json_object_set_new(c, "keys", json_integer(r->keys));
    json_object_set_new(c, "jobs", json_integer(r->jobs));
    json_object_set_new(c, "jobs_pending", json_integer(r->jobs_pending));
    json_object_set_new(m, "control", c);
    int64_t docs = 0, chunks = 0, bytes = 0;
    for (size_t i = 0; i < r->ntenants; i++) {
        const store_backup_tenant *t = &r->tenants[i];
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(t->name));
        json_object_set_new(o, "created_ms", json_integer(t->created_ms));
        json_object_set_new(o, "schema", json_integer(t->schema));
        json_object_set_new(o, "documents", json_integer(t->documents));
        json_object_set_new(o, "chunks", json_integer(t->chunks));
        json_object_set_new(o, "bytes", json_integer(t->bytes));
        json_array_append_new(tenants, o);
        docs += t->documents;
        chunks += t->chunks;
    }
    json_object_set_new(m, "tenants", tenants);
    for (size_t i = 0; i < r->nblobs; i++) {
        const store_backup_blob *b = &r->blobs[i];
        json_t *o = json_object();
        json_object_set_new(o, "tenant", json_string(b->tenant));
        json_object_set_new(o, "name", json_string(b->name));
        json_object_set_new(o, "bytes", json_integer(b->bytes));
        json_object_set_new(o, "sha256", json_string(b->sha256));
        json_array_append_new(blobs, o);
        bytes += b->bytes;
    }
    json_object_set_new(m, "blobs", blobs);
    json_t *tot = json_object();
    json_object_set_new(tot, "tenants", json_integer((json_int_t)r->ntenants));
    json_object_set_new(tot, "documents", json_integer(docs));
    json_object_set_new(tot, "chunks", json_integer(chunks));
    json_object_set_new(tot, "blobs", json_integer((json_int_t)r->nblobs));
    json_object_set_new(tot, "blob_bytes", json_integer(bytes));
    json_object_set_new(m, "totals", tot);
    json_t *d = json_object();
    json_object_set_new(d, "jobs_settled", json_integer(r->jobs_settled));
    json_object_set_new(d, "leases_released", json_integer(r->leases_released));
    json_object_set_new(d, "tenants_left_out", json_integer(r->tenants_left_out));
    json_object_set_new(d, "blobs_missing", json_integer(r->blobs_missing));
    json_object_set_new(m, "during_backup", d);
    return m;
}

/* Writes the manifest durably: a temporary file, fsync, rename, fsync of
 * the directory. 0 on success. */
static int write_manifest(const char *dir, json_t *m) {
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", dir, MANIFEST);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    char *text = json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text) return cli_error("backup", CLI_FAIL, "out of memory writing the manifest");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t len = strlen(text), off = 0;
    int ok = fd >= 0;
    while (ok && off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        ok = w > 0;
        if (ok) off += (size_t)w;
    }
    if (ok) ok = write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    if (fd >= 0 && close(fd) != 0) ok = 0;
    if (ok) ok = rename(tmp, path) == 0;
    free(text);
    if (!ok) {
        int err = errno;
        unlink(tmp);
        return cli_error("backup", CLI_FAIL, "%s: cannot write: %s", path, strerror(err));
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return CLI_OK;
}

/* Reads an integer member >= 0; -1 when missing or not one. */
static int64_t member_int(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? (int64_t)json_integer_value(v) : -1;
}

static int bad_manifest(const char *path, const char *what) {
    return cli_error("restore", CLI_FAIL, "%s: %s (is this a lore backup, and complete?)", path,
                     what);
}

static int read_tenants(const char *path, json_t *list, store_backup_report *r) {
    if (!json_is_array(list)) return bad_manifest(path, "tenants is not an array");
    size_t n = json_array_size(list);
    if (n && !(r->tenants = calloc(n, sizeof *r->tenants)))
        return cli_error("restore", CLI_FAIL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(list, i);
        store_backup_tenant *t = &r->tenants[i];
        const char *name = json_string_value(json_object_get(o, "name"));
        t->created_ms = member_int(o, "created_ms");
        t->schema = member_int(o, "schema");
        t->documents = member_int(o, "documents");
        t->chunks = member_int(o, "chunks");
        if (!name || !store_tenant_name_valid(name) || t->created_ms < 0 || t->schema < 0 ||
            t->documents < 0 || t->chunks < 0 || (i && strcmp(r->tenants[i - 1].name, name) >= 0))
            return bad_manifest(path, "a tenant entry is malformed or out of order");
        snprintf(t->name, sizeof t->name, "%s", name);
        r->ntenants++;
    }
    return CLI_OK;
}

static int read_blobs(const char *path, json_t *list, store_backup_report *r) {
    if (!json_is_array(list)) return bad_manifest(path, "blobs is not an array");
    size_t n = json_array_size(list);
    if (n && !(r->blobs = calloc(n, sizeof *r->blobs)))
        return cli_error("restore", CLI_FAIL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(list, i);
        store_backup_blob *b = &r->blobs[i];
        const char *tenant = json_string_value(json_object_get(o, "tenant"));
        const char *name = json_string_value(json_object_get(o, "name"));
        const char *sha = json_string_value(json_object_get(o, "sha256"));
        b->bytes = member_int(o, "bytes");
        if (!tenant || !store_tenant_name_valid(tenant) || !name || !*name || !sha ||
            strlen(sha) != 64 || b->bytes < 0)
            return bad_manifest(path, "a blob entry is malformed");
        if (!(b->name = strdup(name))) return cli_error("restore", CLI_FAIL, "out of memory");
        snprintf(b->tenant, sizeof b->tenant, "%s", tenant);
        memcpy(b->sha256, sha, 65);
        r->nblobs++;
    }
    return CLI_OK;
}

/* Reads SRC/manifest.json into what the restore must find. */
static int read_manifest(const char *dir, store_backup_report *r) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, MANIFEST);
    if (access(path, F_OK) != 0)
        return cli_error("restore", CLI_FAIL,
                         "%s: no manifest: not a lore backup, or a backup that did not finish",
                         path);
    json_error_t je;
    FILE *f = fopen(path, "rb");
    json_t *m = NULL;
    if (f) {
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        rewind(f);
        if (size > MANIFEST_MAX) {
            fclose(f);
            return bad_manifest(path, "over 256 MiB");
        }
        m = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
        fclose(f);
    }
    if (!f) return cli_error("restore", CLI_FAIL, "%s: %s", path, strerror(errno));
    if (!m) {
        char what[256];
        snprintf(what, sizeof what, "not valid JSON (line %d: %s)", je.line, je.text);
        return bad_manifest(path, what);
    }
    int rc = CLI_OK;
    const char *format = json_string_value(json_object_get(m, "format"));
    int64_t version = member_int(m, "format_version");
    json_t *c = json_object_get(m, "control");
    if (!format || strcmp(format, MANIFEST_FORMAT)) {
        rc = bad_manifest(path, "format is not \"" MANIFEST_FORMAT "\"");
    } else if (version != MANIFEST_VERSION) {
        rc = cli_error("restore", CLI_FAIL,
                       "%s: manifest format_version %lld; this lore reads version %d (made by "
                       "lore %s; upgrade lore)",
                       path, (long long)version, MANIFEST_VERSION,
                       json_string_value(json_object_get(m, "lore_version"))
                           ? json_string_value(json_object_get(m, "lore_version"))
                           : "?");
    } else if ((r->control_schema = member_int(c, "schema")) < 0 ||
               (r->keys = member_int(c, "keys")) < 0 || (r->jobs = member_int(c, "jobs")) < 0 ||
               (r->jobs_pending = member_int(c, "jobs_pending")) < 0) {
        rc = bad_manifest(path, "control is missing schema, keys, jobs or jobs_pending");
    } else if ((rc = read_tenants(path, json_object_get(m, "tenants"), r)) == CLI_OK) {
        rc = read_blobs(path, json_object_get(m, "blobs"), r);
    }
    r->snapshot_ms = member_int(m, "snapshot_ms");
    json_decref(m);
    return rc;
}

/* ---- the commands ---- */

static void summary(FILE *f, const char *verb, const char *where, const store_backup_report *r,
                    double secs) {
    int64_t docs = 0, chunks = 0, bytes = 0;
    for (size_t i = 0; i < r->ntenants; i++) {
        docs += r->tenants[i].documents;
        chunks += r->tenants[i].chunks;
        bytes += r->tenants[i].bytes;
    }
    fprintf(f,
            "%s %zu tenant%s (%lld documents, %lld chunks, %.1f MB), %lld keys, %lld jobs "
            "(%lld pending) and %zu blobs %s %s in %.2f s\n",
            verb, r->ntenants, r->ntenants == 1 ? "" : "s", (long long)docs, (long long)chunks,
            (double)bytes / 1e6, (long long)r->keys, (long long)r->jobs, (long long)r->jobs_pending,
            r->nblobs, verb[0] == 'b' ? "to" : "from", where, secs);
}

/* 1 when path does not exist or is an empty directory (the store checks
 * again, race-free, when it creates what it writes). */
static int dir_empty_or_absent(const char *path) {
    int empty = lore_dir_empty(path);
    return empty < 0 ? errno == ENOENT : empty;
}

int cmd_backup(int argc, char **argv) {
    cli_args a;
    cli_env e = {0};
    store_backup_report r = {0};
    int rc = cli_parse("backup", &backup_help, backup_opts,
                       sizeof backup_opts / sizeof backup_opts[0], argc, argv, &a);
    if (rc) goto out;
    if (a.npos != 1) {
        rc = cli_error("backup", CLI_USAGE, "give exactly one destination directory (DEST)");
        goto out;
    }
    size_t step = 0;
    const char *sp = cli_get(&a, "step-pages");
    if (sp) {
        char *end;
        long v = strtol(sp, &end, 10);
        if (!*sp || *end || v < 1 || v > 65536) {
            rc = cli_error("backup", CLI_USAGE, "--step-pages must be 1 to 65536");
            goto out;
        }
        step = (size_t)v;
    }
    const char *dest = a.pos[0];
    if (!dir_empty_or_absent(dest)) { /* a usage error before any data is opened */
        rc = cli_error("backup", CLI_USAGE,
                       "destination %s is not empty; give a new or empty directory", dest);
        goto out;
    }
    if ((rc = cli_env_open(&e, &a))) goto out;
    int64_t t0 = lore_now_ms(), m0 = lore_mono_ns();
    char err[1024] = "";
    lore_status st = store_backup(e.store, dest, step, &r, err, sizeof err);
    if (st != LORE_OK) {
        rc = cli_error("backup", st == LORE_EXISTS ? CLI_USAGE : CLI_FAIL, "%s",
                       err[0] ? err : lore_status_message(st));
        goto out;
    }
    json_t *m = manifest_json(&r, t0, lore_now_ms());
    rc = m ? write_manifest(dest, m) : cli_error("backup", CLI_FAIL, "out of memory");
    json_decref(m);
    if (rc) goto out;
    if (!cli_flag(&a, "quiet")) {
        summary(stdout, "backed up", dest, &r, (double)(lore_mono_ns() - m0) / 1e9);
        if (r.jobs_settled || r.tenants_left_out)
            printf("during the backup %lld jobs finished and %lld tenants were deleted; the "
                   "backup records their later state\n",
                   (long long)r.jobs_settled, (long long)r.tenants_left_out);
    }
    if (r.blobs_missing)
        fprintf(stderr,
                "lore backup: warning: %lld pending or dead jobs name a blob that is missing "
                "from the data directory too; they are backed up as they are\n",
                (long long)r.blobs_missing);
out:
    store_backup_report_clear(&r);
    cli_env_close(&e);
    cli_args_free(&a);
    return rc < 0 ? CLI_OK : rc;
}

int cmd_restore(int argc, char **argv) {
    cli_args a;
    store_backup_report want = {0}, got = {0};
    cli_env e;
    memset(&e, 0, sizeof e);
    int rc = cli_parse("restore", &restore_help, restore_opts,
                       sizeof restore_opts / sizeof restore_opts[0], argc, argv, &a);
    if (rc) goto out;
    if (a.npos != 1) {
        rc = cli_error("restore", CLI_USAGE, "give exactly one backup directory (SRC)");
        goto out;
    }
    /* The data directory as every command resolves it, without opening the
     * store (which would create it). */
    if ((rc = cli_env_load(&e, &a))) goto out;
    const lore_config *cfg = &e.cfg;
    const char *src = a.pos[0];
    if ((rc = read_manifest(src, &want))) goto out;
    int64_t m0 = lore_mono_ns();
    char err[1024] = "";
    lore_status st = store_restore(src, cfg->data_dir, &want, &got, err, sizeof err);
    if (st != LORE_OK) {
        rc = cli_error("restore", st == LORE_EXISTS ? CLI_USAGE : CLI_FAIL, "%s",
                       err[0] ? err : lore_status_message(st));
        goto out;
    }
    if (!cli_flag(&a, "quiet")) {
        summary(stdout, "restored", src, &got, (double)(lore_mono_ns() - m0) / 1e9);
        printf("into %s; every database passed its integrity check and matches the manifest\n",
               cfg->data_dir);
    }
out:
    store_backup_report_clear(&want);
    store_backup_report_clear(&got);
    cli_args_free(&a);
    return rc < 0 ? CLI_OK : rc;
}
