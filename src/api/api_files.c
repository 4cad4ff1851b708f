/* File uploads: POST /v1/files (multipart/form-data).
 *
 * The body is parsed as it arrives (http/multipart.h) and each file part is
 * written to a temporary file under DATA_DIR/tmp, so memory stays flat
 * whatever the upload size (the cap is max_upload_mb for the whole body).
 * Form fields: `source` (default "upload"), `acl` (repeatable: principals
 * added to every document), `id` (the external id, only with a single file;
 * otherwise each file's name is its id). When the body is complete, each
 * file is moved into the tenant's blob directory and becomes one "file" job
 * (all queued in one transaction, or none); files not queued are removed,
 * whatever happened. */
#include "api/api_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/multipart.h"
#include "ingest/ingest_jobs.h"
#include "ingest/ingest_json.h"
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>

/* Spool files are named upload-<pid>-XXXXXX: the pid says whose they are. */
#define SPOOL_PREFIX "upload-"

#define MAX_FILES 32
#define MAX_FIELD 4096
#define MAX_ACL 64

typedef struct upload_file {
    char name[256]; /* safe base name */
    char blob[32];  /* the spooled file's own name, kept as the job's blob */
    char path[2400];
    int fd;
} upload_file;

typedef struct upload {
    api_req *q;
    multipart_parser *mp;
    upload_file files[MAX_FILES];
    size_t nfiles;
    size_t nfiles_kept; /* queued: their blobs stay */
    int in_file;        /* the current part is a file */
    int in_field;       /* the current part is a text field */
    char field_name[32];
    lore_buf field;
    char source[80];
    int has_source;
    char id[4097];
    int has_id;
    char *acl[MAX_ACL];
    size_t nacl;
} upload;

static lore_status on_part(void *ctx, const multipart_part *p) {
    upload *u = ctx;
    api_req *q = u->q;
    if (p->filename) {
        if (u->nfiles == MAX_FILES) {
            api_problem(q, 413, "too-many-files", "Too many files", "at most %d files per upload",
                        MAX_FILES);
            return LORE_TOO_LARGE;
        }
        upload_file *f = &u->files[u->nfiles];
        multipart_safe_filename(p->filename, f->name, sizeof f->name);
        snprintf(f->path, sizeof f->path, "%s/" SPOOL_PREFIX "%ld-XXXXXX", q->a->upload_dir,
                 (long)getpid());
        f->fd = mkostemp(f->path, O_CLOEXEC);
        if (f->fd < 0) {
            api_problem(q, 503, "unavailable", "Service unavailable", "cannot store the upload: %s",
                        strerror(errno));
            return LORE_IO;
        }
        u->nfiles++;
        u->in_file = 1;
        return LORE_OK;
    }
    if (strcmp(p->name, "source") && strcmp(p->name, "acl") && strcmp(p->name, "id")) {
        http_problem(q->r, 400, "invalid-field", "Invalid field",
                     "unknown form field (source, acl, id, and files)", NULL);
        return LORE_INVALID;
    }
    snprintf(u->field_name, sizeof u->field_name, "%s", p->name);
    lore_buf_free(&u->field);
    lore_buf_init(&u->field, MAX_FIELD);
    u->in_field = 1;
    return LORE_OK;
}

static lore_status on_data(void *ctx, const uint8_t *data, size_t len) {
    upload *u = ctx;
    if (u->in_file) {
        upload_file *f = &u->files[u->nfiles - 1];
        while (len) {
            ssize_t w = write(f->fd, data, len);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) {
                api_problem(u->q, 503, "unavailable", "Service unavailable",
                            "cannot store the upload: %s", strerror(errno));
                return LORE_IO;
            }
            data += w;
            len -= (size_t)w;
        }
        return LORE_OK;
    }
    if (u->in_field && lore_buf_append(&u->field, data, len) != LORE_OK) {
        api_problem(u->q, 413, "field-too-large", "Form field too large",
                    "form field '%s' is over %d bytes", u->field_name, MAX_FIELD);
        return LORE_TOO_LARGE;
    }
    return LORE_OK;
}

static lore_status on_part_end(void *ctx) {
    upload *u = ctx;
    if (u->in_file) {
        u->in_file = 0;
        return LORE_OK;
    }
    if (!u->in_field) return LORE_OK;
    u->in_field = 0;
    const char *v = u->field.data ? u->field.data : "";
    if (!strcmp(u->field_name, "source")) {
        snprintf(u->source, sizeof u->source, "%s", v);
        u->has_source = 1;
    } else if (!strcmp(u->field_name, "id")) {
        snprintf(u->id, sizeof u->id, "%s", v);
        u->has_id = 1;
    } else {
        if (u->nacl == MAX_ACL || !auth_principal_valid(v)) {
            http_problem(u->q->r, 400, "invalid-field", "Invalid field",
                         "acl: each value is one principal, 'user:<id>' or 'group:<name>' (at "
                         "most 64)",
                         "/acl");
            return LORE_INVALID;
        }
        if (!(u->acl[u->nacl] = strdup(v))) return LORE_NOMEM;
        u->nacl++;
    }
    return LORE_OK;
}

static lore_status on_body(void *ctx, http_request *r, const uint8_t *data, size_t len) {
    (void)r;
    upload *u = ctx;
    lore_status st = multipart_feed(u->mp, data, len);
    if (st != LORE_OK && !http_responded(u->q->r)) {
        if (st == LORE_TOO_LARGE)
            api_problem(u->q, 413, "upload-too-large", "Upload part too large", "%s",
                        multipart_error(u->mp));
        else
            api_problem(u->q, 400, "invalid-multipart", "Invalid multipart body", "%s",
                        multipart_error(u->mp));
    }
    return st;
}

void api_files_begin(api_req *q) {
    upload *u = calloc(1, sizeof *u);
    if (!u) {
        api_problem(q, 503, "out-of-memory", "Server out of memory", "upload");
        return;
    }
    u->q = q;
    lore_buf_init(&u->field, MAX_FIELD);
    q->stream = u;
    multipart_limits lim;
    multipart_limits_default(&lim);
    lim.max_parts = MAX_FILES + MAX_ACL + 2;
    static const multipart_callbacks cb = {on_part, on_data, on_part_end};
    char err[256];
    lore_status st =
        multipart_new(http_header(q->r, "Content-Type"), &lim, &cb, u, &u->mp, err, sizeof err);
    if (st != LORE_OK) {
        api_problem(q, st == LORE_UNSUPPORTED ? 415 : 400,
                    st == LORE_UNSUPPORTED ? "unsupported-media-type" : "invalid-multipart",
                    st == LORE_UNSUPPORTED ? "Unsupported media type" : "Invalid multipart body",
                    "%s", err);
        return;
    }
    http_body_stream(q->r, (size_t)q->a->cfg.max_upload_mb << 20, on_body, u);
}

/* Moves the spooled files into the tenant's blob directory and describes
 * one job per file; 0 on success, -1 answered. */
static int make_jobs(api_req *q, upload *u, const char *source, const char *key, store_job *jobs,
                     char (*ids)[STORE_DOC_ID_LEN + 1], char (*dedup)[256], char **groups,
                     json_t *files) {
    char dir[2048];
    lore_status st = store_blob_dir(q->th->control, q->tenant_name, dir, sizeof dir);
    if (st != LORE_OK) {
        api_problem(q, 503, "unavailable", "Service unavailable", "cannot store the upload: %s",
                    lore_status_message(st));
        return -1;
    }
    for (size_t i = 0; i < u->nfiles; i++) {
        upload_file *f = &u->files[i];
        const char *ext = u->has_id ? u->id : f->name;
        store_doc_public_id(source, ext, ids[i]);
        char blob_path[2400];
        snprintf(f->blob, sizeof f->blob, "%s", strrchr(f->path, '/') + 1);
        snprintf(blob_path, sizeof blob_path, "%s/%s", dir, f->blob);
        if (rename(f->path, blob_path) != 0) {
            api_problem(q, 503, "unavailable", "Service unavailable", "cannot store the upload: %s",
                        strerror(errno));
            return -1;
        }
        snprintf(f->path, sizeof f->path, "%s", blob_path); /* cleanup removes it if unqueued */
        struct stat sb;
        store_job *j = &jobs[i];
        memset(j, 0, sizeof *j);
        snprintf(j->kind, sizeof j->kind, "%s", INGEST_JOB_FILE);
        groups[i] = ids[i];
        j->groups = &groups[i];
        j->ngroups = 1;
        j->blob = f->blob;
        j->weight = stat(blob_path, &sb) == 0 ? (int64_t)sb.st_size : 0;
        char *payload =
            ingest_job_file_payload(&q->viewer, f->name, source, u->has_id ? u->id : NULL,
                                    (const char *const *)u->acl, u->nacl);
        if (!payload) {
            api_problem(q, 503, "out-of-memory", "Server out of memory", "payload");
            return -1;
        }
        j->payload = (uint8_t *)payload;
        j->payload_len = strlen(payload);
        if (key) {
            snprintf(dedup[i], sizeof dedup[i], u->nfiles > 1 ? "%s#%zu" : "%s", key, i);
            j->dedup_key = dedup[i];
        }
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(f->name));
        json_object_set_new(o, "id", json_string(ids[i]));
        json_array_append_new(files, o);
    }
    return 0;
}

void api_files_post(api_req *q) {
    upload *u = q->stream;
    if (!u || !u->mp) return;
    if (multipart_finish(u->mp) != LORE_OK) {
        api_problem(q, 400, "invalid-multipart", "Invalid multipart body", "%s",
                    multipart_error(u->mp));
        return;
    }
    if (!u->nfiles) {
        api_bad_field(q, "/files", "no file in the upload: send parts with a filename");
        return;
    }
    if (u->has_id && u->nfiles != 1) {
        api_bad_field(q, "/id", "id names one document: send it with exactly one file");
        return;
    }
    const char *source = u->has_source ? u->source : "upload";
    if (!ingest_source_valid(source)) {
        api_bad_field(q, "/source", "source must be 1 to %d letters, digits, '_', '-', '.' or ':'",
                      INGEST_SOURCE_MAX);
        return;
    }
    if (u->has_id && !*u->id) {
        api_bad_field(q, "/id", "id must not be empty");
        return;
    }
    const char *key;
    if (api_idempotency_key(q, &key)) return;
    for (size_t i = 0; i < u->nfiles; i++) {
        /* On disk before the job that names it is committed. */
        int bad = fsync(u->files[i].fd) != 0;
        bad |= close(u->files[i].fd) != 0;
        u->files[i].fd = -1;
        if (bad) {
            api_problem(q, 503, "unavailable", "Service unavailable", "cannot store the upload: %s",
                        strerror(errno));
            return;
        }
        api_tenant *t = api_tenant_get(q);
        if (!t || api_check_replace(q, t, source, u->has_id ? u->id : u->files[i].name, "/files"))
            return;
    }
    store_job jobs[MAX_FILES];
    char ids[MAX_FILES][STORE_DOC_ID_LEN + 1], dedup[MAX_FILES][256], *groups[MAX_FILES];
    json_t *files = json_array();
    memset(jobs, 0, sizeof jobs);
    int rc = make_jobs(q, u, source, key, jobs, ids, dedup, groups, files);
    if (rc == 0) {
        json_t *o = json_object();
        json_object_set_new(o, "source", json_string(source));
        json_object_set_new(o, "files", files);
        files = NULL;
        if (api_enqueue(q, jobs, u->nfiles, o))
            u->nfiles_kept = u->nfiles; /* the blobs belong to the jobs now */
    }
    for (size_t i = 0; i < u->nfiles; i++)
        free(jobs[i].payload);
    json_decref(files);
}

void api_files_cleanup(api_req *q) {
    upload *u = q->stream;
    if (!u) return;
    for (size_t i = 0; i < u->nfiles; i++) {
        if (u->files[i].fd >= 0) close(u->files[i].fd);
        if (i >= u->nfiles_kept) unlink(u->files[i].path);
    }
    for (size_t i = 0; i < u->nacl; i++)
        free(u->acl[i]);
    lore_buf_free(&u->field);
    multipart_free(u->mp);
    free(u);
    q->stream = NULL;
}

/* The pid in a spool file's name, or 0 for a name without one (before pids
 * were added) or not a spool file at all (-1). */
static long spool_owner(const char *name) {
    size_t n = strlen(SPOOL_PREFIX);
    if (strncmp(name, SPOOL_PREFIX, n)) return -1;
    char *end = NULL;
    errno = 0;
    long pid = strtol(name + n, &end, 10);
    if (errno || end == name + n || *end != '-' || pid <= 0) return 0;
    return pid;
}

unsigned api_spool_sweep(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    unsigned removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        long pid = spool_owner(e->d_name);
        if (pid < 0 || pid == (long)getpid()) continue;
        /* A live process (another `lore serve` on this directory) keeps its
         * files; a dead one's, and the old unnamed ones, are left-overs. */
        if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM)) continue;
        if (unlinkat(dirfd(d), e->d_name, 0) == 0) removed++;
    }
    closedir(d);
    return removed;
}
