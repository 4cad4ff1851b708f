/* Multipart upload forms, shared by POST /v1/files and POST
 * /v1/imports/slack (api_int.h, "upload forms").
 *
 * The body is parsed as it arrives (http/multipart.h) and each file part is
 * written to a spool file under DATA_DIR/tmp, so memory stays flat whatever
 * the upload size (the cap is max_upload_mb for the whole body). The common
 * fields `source` and `acl` (repeatable) are collected here; a route names
 * one field of its own and takes its value through a hook. */
#include "api/api_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Spool files are named upload-<pid>-XXXXXX: the pid says whose they are. */
#define SPOOL_PREFIX "upload-"

static lore_status on_part(void *ctx, const multipart_part *p) {
    api_upload *u = ctx;
    api_req *q = u->q;
    const api_upload_route *rt = u->route;
    if (p->filename) {
        if (u->nfiles == rt->max_files) {
            api_problem(q, rt->too_many_status, "too-many-files", "Too many files", "%s",
                        rt->too_many);
            return rt->too_many_status == 413 ? LORE_TOO_LARGE : LORE_INVALID;
        }
        api_upload_file *f = &u->files[u->nfiles];
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
    if (strcmp(p->name, "source") && strcmp(p->name, "acl") && strcmp(p->name, rt->field)) {
        http_problem(q->r, 400, "invalid-field", "Invalid field", rt->unknown_field, NULL);
        return LORE_INVALID;
    }
    snprintf(u->field_name, sizeof u->field_name, "%s", p->name);
    lore_buf_free(&u->field);
    lore_buf_init(&u->field, API_UPLOAD_MAX_FIELD);
    u->in_field = 1;
    return LORE_OK;
}

static lore_status on_data(void *ctx, const uint8_t *data, size_t len) {
    api_upload *u = ctx;
    if (u->in_file) {
        api_upload_file *f = &u->files[u->nfiles - 1];
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
                    "form field '%s' is over %d bytes", u->field_name, API_UPLOAD_MAX_FIELD);
        return LORE_TOO_LARGE;
    }
    return LORE_OK;
}

static lore_status on_part_end(void *ctx) {
    api_upload *u = ctx;
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
    } else if (!strcmp(u->field_name, u->route->field)) {
        return u->route->on_field(u, v);
    } else {
        if (u->nacl == API_UPLOAD_MAX_ACL || !auth_principal_valid(v)) {
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
    api_upload *u = ctx;
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

void api_upload_begin(api_req *q, const api_upload_route *rt, size_t size) {
    api_upload *u = calloc(1, size);
    if (!u) {
        api_problem(q, 503, "out-of-memory", "Server out of memory", "upload");
        return;
    }
    u->q = q;
    u->route = rt;
    lore_buf_init(&u->field, API_UPLOAD_MAX_FIELD);
    q->stream = u;
    multipart_limits lim;
    multipart_limits_default(&lim);
    lim.max_parts = rt->max_parts;
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

api_upload *api_upload_done(api_req *q) {
    api_upload *u = q->stream;
    if (!u || !u->mp) return NULL;
    if (multipart_finish(u->mp) != LORE_OK) {
        api_problem(q, 400, "invalid-multipart", "Invalid multipart body", "%s",
                    multipart_error(u->mp));
        return NULL;
    }
    return u;
}

int api_upload_sync(api_upload_file *f) {
    int bad = fsync(f->fd) != 0;
    bad |= close(f->fd) != 0;
    f->fd = -1;
    return bad ? -1 : 0;
}

lore_status api_upload_keep(api_req *q, api_upload_file *f, int64_t *bytes) {
    lore_status st = store_blob_put_file(q->th->control, q->tenant_name, f->path, f->blob, bytes);
    if (st != LORE_OK) f->blob[0] = '\0';
    if (st == LORE_OK) unlink(f->path); /* the blob has it now */
    return st;
}

void api_upload_drop_unkept(api_req *q, api_upload *up) {
    for (size_t i = up->nfiles_kept; i < up->nfiles; i++) {
        api_upload_file *f = &up->files[i];
        if (!f->blob[0]) continue;
        store_blob_remove(q->th->control, q->tenant_name, f->blob);
        f->blob[0] = '\0';
    }
}

void api_upload_cleanup(api_req *q) {
    api_upload *u = q->stream;
    if (!u) return;
    for (size_t i = 0; i < u->nfiles; i++) {
        if (u->files[i].fd >= 0) close(u->files[i].fd);
        unlink(u->files[i].path); /* gone already once copied */
        if (i >= u->nfiles_kept && u->files[i].blob[0])
            store_blob_remove(q->th->control, q->tenant_name, u->files[i].blob);
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
