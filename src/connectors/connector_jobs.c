/* The "hook" job kind; see connector_jobs.h. */
#include "connectors/connector_jobs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/connector.h"
#include "connectors/connector_admin.h"
#include "connectors/slack_export.h"

char *connector_job_payload(const char *connector_id, const char *event, const char *delivery,
                            const char *body, size_t len) {
    json_t *o =
        json_pack("{s:s,s:s,s:s}", "connector", connector_id, "event", event, "delivery", delivery);
    char *head = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!head) return NULL;
    size_t hn = strlen(head); /* "{...}": the body goes before the closing brace */
    static const char key[] = ",\"payload\":";
    char *out = malloc(hn - 1 + sizeof key - 1 + len + 2);
    if (out) {
        char *p = out;
        memcpy(p, head, hn - 1);
        p += hn - 1;
        memcpy(p, key, sizeof key - 1);
        p += sizeof key - 1;
        memcpy(p, body, len);
        p += len;
        *p++ = '}';
        *p = 0;
    }
    free(head);
    return out;
}

static char *dup_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dup_error(const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return strdup(buf);
}

static int run_hook(const ingest_job_kind *self, store *control, ingest_session *ss,
                    const store_job *job, const json_t *payload, json_t *result, char **error,
                    lore_status *st) {
    (void)self;
    const char *id = json_string_value(json_object_get(payload, "connector"));
    const char *event = json_string_value(json_object_get(payload, "event"));
    const char *delivery = json_string_value(json_object_get(payload, "delivery"));
    const json_t *body = json_object_get(payload, "payload");
    if (!id || !event || !body) {
        *error = strdup("hook job without connector, event or payload");
        return -1;
    }
    json_object_set_new(result, "connector", json_string(id));
    json_object_set_new(result, "event", json_string(event));
    if (delivery) json_object_set_new(result, "delivery", json_string(delivery));
    store_connector *c = NULL;
    lore_status s = store_connector_get(control, id, &c);
    if (s == LORE_OK && strcmp(c->tenant, job->tenant)) s = LORE_NOT_FOUND;
    if (s == LORE_NOT_FOUND) {
        /* Deleted since the delivery was accepted: nothing to do. */
        store_connector_free(c);
        json_object_set_new(result, "skipped", json_string("connector deleted"));
        return 0;
    }
    if (s != LORE_OK) {
        *st = s;
        return -1;
    }
    const connector_ops *ops = connector_find(c->kind);
    if (!ops) {
        *error =
            dup_error("connector %s is of kind '%s', which this build does not know", id, c->kind);
        store_connector_free(c);
        return -1;
    }
    connector_instance inst;
    connector_instance_from(c, &inst);
    connector_sink *sink = NULL;
    char *why = NULL;
    ingest_set_source_acl(ss, inst.source, NULL, 0); /* the sink gives each document its ACL */
    int rc = -1;
    s = connector_sink_new(ss, &inst, &sink);
    if (s == LORE_OK) s = ops->apply(sink, event, body, &why);
    size_t touched = sink ? connector_sink_pending(sink) : 0;
    if (s == LORE_OK) s = connector_sink_flush(sink, ops);
    if (s == LORE_OK) {
        json_object_set_new(result, "rendered", json_integer((json_int_t)touched));
        rc = 0;
    } else if (s == LORE_INVALID) {
        *error = why ? why
                     : dup_error("%s: the %s delivery makes no sense to its connector", ops->title,
                                 event);
        why = NULL;
    } else {
        *st = s; /* a store failure: the batch fails and runs again */
    }
    free(why);
    connector_sink_free(sink);
    ingest_set_source_acl(ss, "files", NULL, 0);
    store_connector_free(c);
    return rc;
}

static const ingest_job_kind kinds[] = {
    {INGEST_JOB_KIND_VERSION, CONNECTOR_JOB_KIND, run_hook, NULL},
    {INGEST_JOB_KIND_VERSION, SLACK_EXPORT_JOB_KIND, slack_export_job_run, NULL},
};

const ingest_job_kind *connector_job_kinds(size_t *n) {
    *n = sizeof kinds / sizeof kinds[0];
    return kinds;
}
