/* File uploads: POST /v1/files (multipart/form-data).
 *
 * The body is parsed as it arrives (http/multipart.h) and each file part is
 * written to a temporary file under DATA_DIR/tmp, so memory stays flat
 * whatever the upload size (the cap is max_upload_mb for the whole body).
 * Form fields: `source` (default "upload"), `acl` (repeatable: principals
 * added to every document), `id` (the external id, only with a single file;
 * otherwise each file's name is its id). When the body is complete, every
 * file is ingested in one store transaction and the temporary files are
 * removed, whatever happened. */
#include "api/api_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/multipart.h"
#include "ingest/ingest.h"

#define MAX_FILES 32
#define MAX_FIELD 4096
#define MAX_ACL 64

typedef struct upload_file {
    char name[256]; /* safe base name */
    char path[1200];
    int fd;
} upload_file;

typedef struct upload {
    api_req *q;
    multipart_parser *mp;
    upload_file files[MAX_FILES];
    size_t nfiles;
    int in_file;  /* the current part is a file */
    int in_field; /* the current part is a text field */
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
        snprintf(f->path, sizeof f->path, "%s/upload-XXXXXX", q->a->upload_dir);
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

typedef struct file_notes {
    json_t *problems;
    const store_viewer *viewer;
} file_notes;

/* As for JSON documents: a key replaces only documents it can see. */
static int may_replace(void *ctx, const store_doc *existing) {
    file_notes *n = ctx;
    return store_viewer_sees(n->viewer, existing->acl, existing->nacl);
}

static void on_problem(void *ctx, const char *path, const char *msg, int is_error) {
    (void)path;
    file_notes *n = ctx;
    if (json_array_size(n->problems) < 20)
        json_array_append_new(n->problems,
                              json_pack("{s:s,s:b}", "message", msg, "error", is_error));
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
    if (!api_source_valid(source)) {
        api_bad_field(q, "/source", "source must be 1 to %d letters, digits, '_', '-', '.' or ':'",
                      API_SOURCE_MAX);
        return;
    }
    if (u->has_id && !*u->id) {
        api_bad_field(q, "/id", "id must not be empty");
        return;
    }
    for (size_t i = 0; i < u->nfiles; i++) {
        if (close(u->files[i].fd)) {
            u->files[i].fd = -1;
            api_problem(q, 503, "unavailable", "Service unavailable", "cannot store the upload: %s",
                        strerror(errno));
            return;
        }
        u->files[i].fd = -1;
    }
    api_tenant *t = api_tenant_get(q);
    if (!t) return;
    ingest_options opt;
    api_ingest_options(&q->a->cfg, &opt);
    opt.source = source;
    opt.acl = (const char *const *)u->acl;
    opt.nacl = u->nacl;
    file_notes notes = {NULL, &q->viewer};
    opt.on_problem = on_problem;
    opt.cb_ctx = &notes;
    if (!q->viewer.all_access) opt.may_replace = may_replace;
    ingest_session *s = NULL;
    json_t *files = json_array();
    lore_status st = ingest_session_new(t->t, &index_lexical_bm25, t->lex, &opt, &s);
    for (size_t i = 0; st == LORE_OK && i < u->nfiles; i++) {
        ingest_stats before = *ingest_session_stats(s);
        notes.problems = json_array();
        st = ingest_named_file(s, u->files[i].path, u->files[i].name,
                               u->has_id ? u->id : u->files[i].name);
        const ingest_stats *after = ingest_session_stats(s);
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(u->files[i].name));
        json_object_set_new(o, "added",
                            json_integer((json_int_t)(after->docs_added - before.docs_added)));
        json_object_set_new(o, "updated",
                            json_integer((json_int_t)(after->docs_updated - before.docs_updated)));
        json_object_set_new(
            o, "unchanged",
            json_integer((json_int_t)(after->docs_unchanged - before.docs_unchanged)));
        json_object_set_new(o, "failed",
                            json_integer((json_int_t)(after->docs_failed - before.docs_failed)));
        const char *status = after->files_failed > before.files_failed     ? "failed"
                             : after->files_skipped > before.files_skipped ? "skipped"
                                                                           : "ok";
        json_object_set_new(o, "status", json_string(status));
        json_object_set_new(o, "problems", notes.problems);
        notes.problems = NULL;
        json_array_append_new(files, o);
    }
    if (st == LORE_OK) st = ingest_commit(s);
    if (st == LORE_OK) {
        const ingest_stats *fs = ingest_session_stats(s);
        metrics_add(q->a->m_ingested, NULL, (double)(fs->docs_added + fs->docs_updated));
    }
    ingest_session_free(s);
    if (st != LORE_OK) {
        json_decref(files);
        api_internal(q, "ingesting the upload", st);
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "source", json_string(source));
    json_object_set_new(o, "files", files);
    api_json(q, 200, o);
}

void api_files_cleanup(api_req *q) {
    upload *u = q->stream;
    if (!u) return;
    for (size_t i = 0; i < u->nfiles; i++) {
        if (u->files[i].fd >= 0) close(u->files[i].fd);
        unlink(u->files[i].path);
    }
    for (size_t i = 0; i < u->nacl; i++)
        free(u->acl[i]);
    lore_buf_free(&u->field);
    multipart_free(u->mp);
    free(u);
    q->stream = NULL;
}
