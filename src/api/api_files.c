/* File uploads: POST /v1/files (multipart/form-data).
 *
 * The form is read by api_upload.c: each file part is spooled under
 * DATA_DIR/tmp, so memory stays flat whatever the upload size (the cap is
 * max_upload_mb for the whole body). Form fields: `source` (default
 * "upload"), `acl` (repeatable: principals added to every document), `id`
 * (the external id, only with a single file; otherwise each file's name is
 * its id). When the body is complete, each file is moved into the tenant's
 * blob directory and becomes one "file" job (all queued in one transaction,
 * or none); files not queued are removed, whatever happened. */
#include "api/api_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ingest/ingest_jobs.h"
#include "ingest/ingest_json.h"

#define MAX_FILES API_UPLOAD_MAX_FILES

typedef struct upload {
    api_upload up; /* first: the shared form */
    char id[4097];
    int has_id;
} upload;

static lore_status on_id(api_upload *au, const char *v) {
    upload *u = (upload *)au;
    snprintf(u->id, sizeof u->id, "%s", v);
    u->has_id = 1;
    return LORE_OK;
}

_Static_assert(MAX_FILES == 32, "the too-many-files detail names the limit");
static const api_upload_route files_route = {
    .max_files = MAX_FILES,
    .too_many_status = 413,
    .too_many = "at most 32 files per upload",
    .max_parts = MAX_FILES + API_UPLOAD_MAX_ACL + 2,
    .field = "id",
    .unknown_field = "unknown form field (source, acl, id, and files)",
    .on_field = on_id,
};

void api_files_begin(api_req *q) {
    api_upload_begin(q, &files_route, sizeof(upload));
}

/* Copies the spooled files into blobs of the tenant and describes
 * one job per file; 0 on success, -1 answered. */
static int make_jobs(api_req *q, upload *u, const char *source, const char *key, store_job *jobs,
                     char (*ids)[STORE_DOC_ID_LEN + 1], char (*dedup)[256], char **groups,
                     json_t *files) {
    for (size_t i = 0; i < u->up.nfiles; i++) {
        api_upload_file *f = &u->up.files[i];
        const char *ext = u->has_id ? u->id : f->name;
        store_doc_public_id(source, ext, ids[i]);
        int64_t bytes = 0;
        lore_status st = api_upload_keep(q, f, &bytes);
        if (st != LORE_OK) {
            api_problem(q, 503, "unavailable", "Service unavailable", "cannot store the upload: %s",
                        lore_status_message(st));
            return -1;
        }
        store_job *j = &jobs[i];
        memset(j, 0, sizeof *j);
        snprintf(j->kind, sizeof j->kind, "%s", INGEST_JOB_FILE);
        groups[i] = ids[i];
        j->groups = &groups[i];
        j->ngroups = 1;
        j->blob = f->blob;
        j->weight = bytes;
        char *payload =
            ingest_job_file_payload(&q->viewer, f->name, source, u->has_id ? u->id : NULL,
                                    (const char *const *)u->up.acl, u->up.nacl);
        if (!payload) {
            api_problem(q, 503, "out-of-memory", "Server out of memory", "payload");
            return -1;
        }
        j->payload = (uint8_t *)payload;
        j->payload_len = strlen(payload);
        if (key) {
            snprintf(dedup[i], sizeof dedup[i], u->up.nfiles > 1 ? "%s#%zu" : "%s", key, i);
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
    upload *u = (upload *)api_upload_done(q);
    if (!u) return;
    if (!u->up.nfiles) {
        api_bad_field(q, "/files", "no file in the upload: send parts with a filename");
        return;
    }
    if (u->has_id && u->up.nfiles != 1) {
        api_bad_field(q, "/id", "id names one document: send it with exactly one file");
        return;
    }
    const char *source = u->up.has_source ? u->up.source : "upload";
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
    for (size_t i = 0; i < u->up.nfiles; i++) {
        /* On disk before the job that names it is committed. */
        if (api_upload_sync(&u->up.files[i])) {
            api_problem(q, 503, "unavailable", "Service unavailable", "cannot store the upload: %s",
                        strerror(errno));
            return;
        }
        api_tenant *t = api_tenant_get(q);
        if (!t ||
            api_check_replace(q, t, source, u->has_id ? u->id : u->up.files[i].name, "/files"))
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
        if (api_enqueue(q, jobs, u->up.nfiles, o))
            u->up.nfiles_kept = u->up.nfiles; /* the blobs belong to the jobs now */
    }
    api_upload_drop_unkept(q, &u->up);
    for (size_t i = 0; i < u->up.nfiles; i++)
        free(jobs[i].payload);
    json_decref(files);
}
