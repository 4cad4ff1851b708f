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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/connector_admin.h"
#include "connectors/slack_export.h"

typedef struct import_upload {
    api_upload up; /* first: the shared form */
    char connector[CONNECTOR_ID_LEN + 8];
    int has_connector;
} import_upload;

static lore_status on_connector(api_upload *au, const char *v) {
    import_upload *u = (import_upload *)au;
    if (!connector_id_valid(v)) {
        http_problem(au->q->r, 400, "invalid-field", "Invalid field",
                     "connector: a connector id (con_ and 20 hex digits; GET /v1/connectors)",
                     "/connector");
        return LORE_INVALID;
    }
    snprintf(u->connector, sizeof u->connector, "%s", v);
    u->has_connector = 1;
    return LORE_OK;
}

static const api_upload_route import_route = {
    .max_files = 1,
    .too_many_status = 400,
    .too_many = "send one export ZIP per request",
    .max_parts = API_UPLOAD_MAX_ACL + 3,
    .field = "connector",
    .unknown_field = "unknown form field (source, acl, connector, and the file)",
    .on_field = on_connector,
};

void api_imports_begin(api_req *q) {
    api_upload_begin(q, &import_route, sizeof(import_upload));
}

/* The form's fields are consistent and name what exists; 0, or -1
 * answered. */
static int check_fields(api_req *q, import_upload *u) {
    if (!u->up.nfiles) {
        api_bad_field(q, "/file", "no file in the upload: send the export ZIP as a file part");
        return -1;
    }
    if (u->has_connector && (u->up.has_source || u->up.nacl)) {
        api_bad_field(q, "/connector", "connector gives the source and ACL: send no source or acl");
        return -1;
    }
    connector_instance inst;
    store_connector *holder = NULL;
    char err[512];
    lore_status st = slack_export_instance(
        q->th->control, q->tenant_name, u->up.has_source ? u->up.source : NULL,
        u->has_connector ? u->connector : NULL, (const char *const *)u->up.acl, u->up.nacl, &inst,
        &holder, err, sizeof err);
    store_connector_free(holder);
    if (st == LORE_OK) return 0;
    if (st == LORE_NOT_FOUND || st == LORE_INVALID)
        api_bad_field(q, u->has_connector ? "/connector" : "/source", "%s", err);
    else
        api_internal(q, "reading the connector", st);
    return -1;
}

void api_imports_post(api_req *q) {
    import_upload *u = (import_upload *)api_upload_done(q);
    if (!u) return;
    if (check_fields(q, u)) return;
    api_upload_file *f = &u->up.files[0];
    const char *key;
    if (api_idempotency_key(q, &key)) return;
    /* On disk before the job that names it is committed. */
    int bad = api_upload_sync(f) != 0;
    int64_t bytes = 0;
    lore_status st = bad ? LORE_IO : api_upload_keep(q, f, &bytes);
    if (st != LORE_OK) {
        api_problem(q, 503, "unavailable", "Service unavailable", "cannot store the upload: %s",
                    bad ? strerror(errno) : lore_status_message(st));
        return;
    }
    char *payload = slack_export_job_payload(f->name, u->up.has_source ? u->up.source : NULL,
                                             u->has_connector ? u->connector : NULL,
                                             (const char *const *)u->up.acl, u->up.nacl);
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
             u->has_connector ? u->connector : (u->up.has_source ? u->up.source : "slack"));
    char *groups[1] = {group};
    j.groups = groups;
    j.ngroups = 1;
    j.blob = f->blob;
    j.weight = STORE_JOB_ALONE;
    j.payload = (uint8_t *)payload;
    j.payload_len = strlen(payload);
    char dedup[256];
    if (key) {
        snprintf(dedup, sizeof dedup, "%s", key);
        j.dedup_key = dedup;
    }
    json_t *o = json_pack("{s:s}", "name", f->name);
    if (api_enqueue(q, &j, 1, o)) u->up.nfiles_kept = 1; /* the blob belongs to the job now */
    api_upload_drop_unkept(q, &u->up);
    free(payload);
}
