/* Slack export uploads: POST /v1/imports/slack (multipart/form-data, scope
 * admin).
 *
 * One file part (the export ZIP) is spooled to DATA_DIR/tmp as it arrives,
 * like POST /v1/files (memory stays flat; the cap is max_upload_mb), then
 * moved into the tenant's blob directory and queued as one durable
 * "slack_export" job (connectors/slack_export.h), answered 202 with the job.
 * Form fields: `source` (default "slack") with `acl` (repeatable), or
 * `connector` (a Slack connector of the tenant, whose source and ACL
 * apply). The archive is only opened by the job: a file that is no export
 * fails the job with the reason. */
#include "api/api_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connectors/connector_admin.h"
#include "connectors/slack_export.h"
#include "http/multipart.h"

#define MAX_FIELD 4096
#define MAX_ACL 64

typedef struct import_upload {
    api_req *q;
    multipart_parser *mp;
    char name[256];
    char blob[64];
    char path[2400];
    int fd;
    int has_file, kept;
    int in_file, in_field;
    char field_name[32];
    lore_buf field;
    char source[80];
    int has_source;
    char connector[CONNECTOR_ID_LEN + 8];
    int has_connector;
    char *acl[MAX_ACL];
    size_t nacl;
} import_upload;

static lore_status on_part(void *ctx, const multipart_part *p) {
    import_upload *u = ctx;
    api_req *q = u->q;
    if (p->filename) {
        if (u->has_file) {
            api_problem(q, 400, "too-many-files", "Too many files",
                        "send one export ZIP per request");
            return LORE_INVALID;
        }
        multipart_safe_filename(p->filename, u->name, sizeof u->name);
        snprintf(u->path, sizeof u->path, "%s/upload-%ld-XXXXXX", q->a->upload_dir, (long)getpid());
        u->fd = mkostemp(u->path, O_CLOEXEC);
        if (u->fd < 0) {
            api_problem(q, 503, "unavailable", "Service unavailable", "cannot store the upload: %s",
                        strerror(errno));
            return LORE_IO;
        }
        u->has_file = 1;
        u->in_file = 1;
        return LORE_OK;
    }
    if (strcmp(p->name, "source") && strcmp(p->name, "acl") && strcmp(p->name, "connector")) {
        http_problem(q->r, 400, "invalid-field", "Invalid field",
                     "unknown form field (source, acl, connector, and the file)", NULL);
        return LORE_INVALID;
    }
    snprintf(u->field_name, sizeof u->field_name, "%s", p->name);
    lore_buf_free(&u->field);
    lore_buf_init(&u->field, MAX_FIELD);
    u->in_field = 1;
    return LORE_OK;
}

static lore_status on_data(void *ctx, const uint8_t *data, size_t len) {
    import_upload *u = ctx;
    if (u->in_file) {
        while (len) {
            ssize_t w = write(u->fd, data, len);
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
    import_upload *u = ctx;
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
    } else if (!strcmp(u->field_name, "connector")) {
        if (!connector_id_valid(v)) {
            http_problem(u->q->r, 400, "invalid-field", "Invalid field",
                         "connector: a connector id (con_ and 20 hex digits; GET /v1/connectors)",
                         "/connector");
            return LORE_INVALID;
        }
        snprintf(u->connector, sizeof u->connector, "%s", v);
        u->has_connector = 1;
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
    import_upload *u = ctx;
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

void api_imports_begin(api_req *q) {
    import_upload *u = calloc(1, sizeof *u);
    if (!u) {
        api_problem(q, 503, "out-of-memory", "Server out of memory", "upload");
        return;
    }
    u->q = q;
    u->fd = -1;
    lore_buf_init(&u->field, MAX_FIELD);
    q->stream = u;
    multipart_limits lim;
    multipart_limits_default(&lim);
    lim.max_parts = MAX_ACL + 3;
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

/* The form's fields are consistent and name what exists; 0, or -1
 * answered. */
static int check_fields(api_req *q, import_upload *u) {
    if (!u->has_file) {
        api_bad_field(q, "/file", "no file in the upload: send the export ZIP as a file part");
        return -1;
    }
    if (u->has_connector && (u->has_source || u->nacl)) {
        api_bad_field(q, "/connector", "connector gives the source and ACL: send no source or acl");
        return -1;
    }
    connector_instance inst;
    store_connector *holder = NULL;
    char err[512];
    lore_status st =
        slack_export_instance(q->th->control, q->tenant_name, u->has_source ? u->source : NULL,
                              u->has_connector ? u->connector : NULL, (const char *const *)u->acl,
                              u->nacl, &inst, &holder, err, sizeof err);
    store_connector_free(holder);
    if (st == LORE_OK) return 0;
    if (st == LORE_NOT_FOUND || st == LORE_INVALID)
        api_bad_field(q, u->has_connector ? "/connector" : "/source", "%s", err);
    else
        api_internal(q, "reading the connector", st);
    return -1;
}

void api_imports_post(api_req *q) {
    import_upload *u = q->stream;
    if (!u || !u->mp) return;
    if (multipart_finish(u->mp) != LORE_OK) {
        api_problem(q, 400, "invalid-multipart", "Invalid multipart body", "%s",
                    multipart_error(u->mp));
        return;
    }
    if (check_fields(q, u)) return;
    const char *key;
    if (api_idempotency_key(q, &key)) return;
    /* On disk before the job that names it is committed. */
    int bad = fsync(u->fd) != 0;
    bad |= close(u->fd) != 0;
    u->fd = -1;
    char dir[2048], blob_path[2400];
    lore_status st =
        bad ? LORE_IO : store_blob_dir(q->th->control, q->tenant_name, dir, sizeof dir);
    if (st == LORE_OK) {
        snprintf(u->blob, sizeof u->blob, "%s", strrchr(u->path, '/') + 1);
        snprintf(blob_path, sizeof blob_path, "%s/%s", dir, u->blob);
        if (rename(u->path, blob_path) != 0) st = LORE_IO;
    }
    if (st != LORE_OK) {
        api_problem(q, 503, "unavailable", "Service unavailable", "cannot store the upload: %s",
                    bad || st == LORE_IO ? strerror(errno) : lore_status_message(st));
        return;
    }
    snprintf(u->path, sizeof u->path, "%s", blob_path); /* cleanup removes it if unqueued */
    char *payload = slack_export_job_payload(u->name, u->has_source ? u->source : NULL,
                                             u->has_connector ? u->connector : NULL,
                                             (const char *const *)u->acl, u->nacl);
    if (!payload) {
        api_problem(q, 503, "out-of-memory", "Server out of memory", "payload");
        return;
    }
    store_job j;
    memset(&j, 0, sizeof j);
    snprintf(j.kind, sizeof j.kind, "%s", SLACK_EXPORT_JOB_KIND);
    /* One import of a tenant's Slack at a time. */
    char group[STORE_JOB_GROUP_MAX + 1];
    snprintf(group, sizeof group, "slack-import:%s",
             u->has_connector ? u->connector : (u->has_source ? u->source : "slack"));
    char *groups[1] = {group};
    j.groups = groups;
    j.ngroups = 1;
    j.blob = u->blob;
    j.weight = STORE_JOB_ALONE;
    j.payload = (uint8_t *)payload;
    j.payload_len = strlen(payload);
    char dedup[256];
    if (key) {
        snprintf(dedup, sizeof dedup, "%s", key);
        j.dedup_key = dedup;
    }
    json_t *o = json_pack("{s:s}", "name", u->name);
    if (api_enqueue(q, &j, 1, o)) u->kept = 1; /* the blob belongs to the job now */
    free(payload);
}

void api_imports_cleanup(api_req *q) {
    import_upload *u = q->stream;
    if (!u) return;
    if (u->fd >= 0) close(u->fd);
    if (u->has_file && !u->kept) unlink(u->path);
    for (size_t i = 0; i < u->nacl; i++)
        free(u->acl[i]);
    lore_buf_free(&u->field);
    multipart_free(u->mp);
    free(u);
    q->stream = NULL;
}
