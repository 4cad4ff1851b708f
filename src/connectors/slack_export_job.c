/* The Slack export import as a durable job, and the instance an import
 * writes for (slack_export.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connectors/connector_admin.h"
#include "connectors/slack_export.h"

lore_status slack_export_instance(store *control, const char *tenant, const char *source,
                                  const char *connector_id, const char *const *acl, size_t nacl,
                                  connector_instance *inst, store_connector **holder, char *err,
                                  size_t errlen) {
    memset(inst, 0, sizeof *inst);
    *holder = NULL;
    if (connector_id) {
        store_connector *c = NULL;
        lore_status st = store_connector_get(control, connector_id, &c);
        if (st == LORE_OK && strcmp(c->tenant, tenant)) st = LORE_NOT_FOUND;
        if (st != LORE_OK) {
            store_connector_free(c);
            if (st == LORE_NOT_FOUND)
                snprintf(err, errlen,
                         "no connector %s in tenant %s (lore connector list --tenant %s)",
                         connector_id, tenant, tenant);
            return st;
        }
        if (strcmp(c->kind, "slack")) {
            snprintf(err, errlen, "connector %s is a %s connector, not a Slack one", connector_id,
                     c->kind);
            store_connector_free(c);
            return LORE_INVALID;
        }
        connector_instance_from(c, inst);
        *holder = c;
        return LORE_OK;
    }
    if (!source) source = "slack";
    if (!connector_source_valid(source)) {
        snprintf(err, errlen,
                 "source must be 1 to %d letters, digits, '_', '-', '.' or ':' (got '%.64s')",
                 CONNECTOR_SOURCE_MAX, source);
        return LORE_INVALID;
    }
    snprintf(inst->tenant, sizeof inst->tenant, "%s", tenant);
    snprintf(inst->kind, sizeof inst->kind, "slack");
    snprintf(inst->source, sizeof inst->source, "%s", source);
    inst->acl = acl;
    inst->nacl = nacl;
    return LORE_OK;
}

char *slack_export_job_payload(const char *name, const char *source, const char *connector_id,
                               const char *const *acl, size_t nacl) {
    json_t *o = json_object(), *a = json_array();
    if (!o || !a) {
        json_decref(o);
        json_decref(a);
        return NULL;
    }
    json_object_set_new(o, "name", json_string(name));
    if (connector_id)
        json_object_set_new(o, "connector", json_string(connector_id));
    else
        json_object_set_new(o, "source", json_string(source ? source : "slack"));
    for (size_t i = 0; i < nacl; i++)
        json_array_append_new(a, json_string(acl[i]));
    json_object_set_new(o, "acl", a);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

typedef struct job_problems {
    json_t *list;
    uint64_t count;
} job_problems;

static void on_problem(void *ctx, const char *file, const char *message) {
    job_problems *p = ctx;
    if (p->count++ < SLACK_EXPORT_JOB_MAX_PROBLEMS)
        json_array_append_new(p->list, json_pack("{s:s, s:s}", "file", file, "message", message));
}

static void put_stats(json_t *r, const slack_export_stats *s, const ingest_stats *before,
                      const ingest_stats *after) {
    static const char *const names[] = {"users",    "channels",        "private_channels",
                                        "files",    "files_failed",    "files_skipped",
                                        "messages", "messages_failed", "bytes"};
    const uint64_t v[] = {s->users,    s->channels,        s->private_channels,
                          s->files,    s->files_failed,    s->files_skipped,
                          s->messages, s->messages_failed, s->bytes};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        json_object_set_new(r, names[i], json_integer((json_int_t)v[i]));
    json_object_set_new(r, "added",
                        json_integer((json_int_t)(after->docs_added - before->docs_added)));
    json_object_set_new(r, "updated",
                        json_integer((json_int_t)(after->docs_updated - before->docs_updated)));
    json_object_set_new(r, "unchanged",
                        json_integer((json_int_t)(after->docs_unchanged - before->docs_unchanged)));
}

int slack_export_job_run(const ingest_job_kind *self, store *control, ingest_session *ss,
                         const store_job *job, const json_t *payload, json_t *result, char **error,
                         lore_status *st) {
    (void)self;
    char err[1024] = "";
    const char *source = json_string_value(json_object_get(payload, "source"));
    const char *conn = json_string_value(json_object_get(payload, "connector"));
    const json_t *acl_json = json_object_get(payload, "acl");
    size_t nacl = json_array_size(acl_json);
    if (!job->blob || nacl > CONNECTOR_ACL_MAX) {
        *error = strdup("slack_export job without its upload, or with too many ACL principals");
        return -1;
    }
    const char *acl[CONNECTOR_ACL_MAX];
    for (size_t i = 0; i < nacl; i++)
        if (!(acl[i] = json_string_value(json_array_get(acl_json, i)))) {
            *error = strdup("slack_export job: its acl holds a value that is not a string");
            return -1;
        }
    char path[4096];
    int temp = 0;
    lore_status s =
        store_blob_local_path(control, job->tenant, job->blob, NULL, path, sizeof path, &temp);
    if (s != LORE_OK) {
        *st = s;
        return -1;
    }
    connector_instance inst;
    store_connector *holder = NULL;
    s = slack_export_instance(control, job->tenant, source, conn, acl, nacl, &inst, &holder, err,
                              sizeof err);
    if (s != LORE_OK && temp) unlink(path);
    if (s == LORE_NOT_FOUND || s == LORE_INVALID) {
        *error = strdup(err);
        return -1;
    }
    if (s != LORE_OK) {
        *st = s;
        return -1;
    }
    job_problems p = {json_array(), 0};
    slack_export_options o;
    slack_export_options_default(&o);
    o.on_problem = on_problem;
    o.cb_ctx = &p;
    slack_export_stats stats;
    ingest_stats before = *ingest_session_stats(ss);
    ingest_set_source_acl(ss, inst.source, NULL, 0); /* the sink gives each document its ACL */
    s = slack_export_import(ss, &inst, path, &o, &stats, err, sizeof err);
    if (temp) unlink(path); /* a copy of the blob (stores whose blobs are not files) */
    ingest_set_source_acl(ss, "files", NULL, 0);
    int rc = -1;
    if (s == LORE_OK) {
        const char *name = json_string_value(json_object_get(payload, "name"));
        if (name) json_object_set_new(result, "name", json_string(name));
        json_object_set_new(result, "source", json_string(inst.source));
        put_stats(result, &stats, &before, ingest_session_stats(ss));
        json_object_set_new(result, "problem_count", json_integer((json_int_t)p.count));
        json_object_set_new(result, "problems", p.list);
        p.list = NULL;
        rc = 0;
    } else if (s == LORE_INVALID || s == LORE_IO || s == LORE_TOO_LARGE || s == LORE_UNSUPPORTED) {
        *error = strdup(err); /* the archive cannot be read: retrying will not help */
    } else {
        *st = s;
    }
    json_decref(p.list);
    store_connector_free(holder);
    return rc;
}
