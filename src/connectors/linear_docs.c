/* The Linear connector's documents: object states and how they render.
 *
 * Object states (keys are also the documents' external ids):
 *
 *   issue/<id>     {"version": V, "removed": bool, "fields": {...},
 *                   "comments": {"<comment id>": {"version": V, "removed": bool,
 *                                                 "fields": {...}}}}
 *   project/<id>   {"version": V, "removed": bool, "fields": {...}}
 *   document/<id>  the same
 *
 * "fields" is what the last applied delivery said of the object, normalized
 * (see *_fields below); "version" is that delivery's time at the source
 * (data.updatedAt, or for a remove the latest of updatedAt, archivedAt and
 * the payload's createdAt, the time of the action), in Unix ms. A delivery
 * older than the version is dropped, so an old edit arriving after a newer
 * one never wins; at the same version a remove wins over an edit, and an
 * edit redelivered changes nothing. A remove keeps its tombstone (and an
 * issue its comments), so an older create arriving late stays removed.
 *
 * A comment may arrive before its issue: the issue's state is made with
 * version 0 and "fields" seeded from the comment's data.issue (title,
 * identifier, url) when Linear sends it; the issue's own deliveries replace
 * them. An issue with no fields at all renders nothing. */
#include "connectors/linear.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/timeutil.h"

typedef struct apply_ctx {
    const json_t *root, *data;
    const char *type, *action;
    int remove, create;
    int64_t version;
    char **error;
} apply_ctx;

__attribute__((format(printf, 2, 3))) static lore_status fail(char **error, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    *error = strdup(msg);
    return *error ? LORE_INVALID : LORE_NOMEM;
}

static int64_t iso_ms(const json_t *v) {
    const char *s = json_string_value(v);
    int64_t ms;
    return s && lore_parse_iso8601(s, &ms) == 0 ? ms : 0;
}

/* Copies string member key of from (when a string) into to as name, checking
 * its size against cap. Absent or null: nothing copied. */
static lore_status copy_str(apply_ctx *c, json_t *to, const char *name, const json_t *from,
                            const char *key, size_t cap) {
    const char *v = json_string_value(json_object_get(from, key));
    if (!v) return LORE_OK;
    if (json_string_length(json_object_get(from, key)) > cap)
        return fail(c->error, "Linear payload: %s is longer than the connector keeps", name);
    return json_object_set_new(to, name, json_string(v)) ? LORE_NOMEM : LORE_OK;
}

static lore_status set_int(json_t *to, const char *name, int64_t v) {
    return json_object_set_new(to, name, json_integer(v)) ? LORE_NOMEM : LORE_OK;
}

/* A person's name in a payload object ({"name", "displayName"}). */
static const json_t *person(const json_t *who) {
    const json_t *n = json_object_get(who, "name");
    if (!json_is_string(n)) n = json_object_get(who, "displayName");
    return json_is_string(n) ? n : NULL;
}

/* Sets name to the author: the object's own (data[key]), else the one
 * already kept (prev), else on a create the actor of the delivery. */
static lore_status copy_person(apply_ctx *c, json_t *to, const char *name, const char *key,
                               const json_t *prev) {
    const json_t *p = person(json_object_get(c->data, key));
    if (!p) p = json_object_get(prev, name);
    if (!json_is_string(p) && c->create) p = person(json_object_get(c->root, "actor"));
    if (!json_is_string(p)) return LORE_OK;
    if (json_string_length(p) > LINEAR_MAX_FIELD)
        return fail(c->error, "Linear payload: %s is longer than the connector keeps", name);
    return json_object_set_new(to, name, json_string(json_string_value(p))) ? LORE_NOMEM : LORE_OK;
}

/* Copies a named sub-object (team, state, assignee) as {"id", "name",
 * "key"/"type"}; without one in data, keeps the previous one if data's
 * <sub>Id still names it. */
static lore_status copy_ref(apply_ctx *c, json_t *to, const json_t *prev, const char *sub,
                            const char *idkey, const char *extra) {
    const json_t *o = json_object_get(c->data, sub);
    json_t *ref = json_object();
    if (!ref) return LORE_NOMEM;
    lore_status st = LORE_OK;
    if (json_is_object(o)) {
        st = copy_str(c, ref, "id", o, "id", LINEAR_MAX_FIELD);
        const json_t *n = person(o);
        if (st == LORE_OK && n && json_string_length(n) > LINEAR_MAX_FIELD)
            st = fail(c->error, "Linear payload: the %s's name is too long", sub);
        else if (st == LORE_OK && n &&
                 json_object_set_new(ref, "name", json_string(json_string_value(n))))
            st = LORE_NOMEM;
        if (st == LORE_OK && extra) st = copy_str(c, ref, extra, o, extra, LINEAR_MAX_FIELD);
    } else {
        const json_t *old = json_object_get(prev, sub);
        const char *want = json_string_value(json_object_get(c->data, idkey));
        const char *had = json_string_value(json_object_get(old, "id"));
        if (want && had && !strcmp(want, had)) {
            json_decref(ref);
            ref = json_deep_copy(old);
            if (!ref) return LORE_NOMEM;
        } else if (want) {
            st = json_object_set_new(ref, "id", json_string(want)) ? LORE_NOMEM : LORE_OK;
        }
    }
    if (st == LORE_OK && json_object_size(ref))
        st = json_object_set(to, sub, ref) ? LORE_NOMEM : LORE_OK;
    json_decref(ref);
    return st;
}

static lore_status copy_times(apply_ctx *c, json_t *f, const json_t *prev) {
    int64_t created = iso_ms(json_object_get(c->data, "createdAt"));
    if (!created) created = json_integer_value(json_object_get(prev, "created_ms"));
    int64_t updated = iso_ms(json_object_get(c->data, "updatedAt"));
    if (!updated) updated = c->version;
    lore_status st = created ? set_int(f, "created_ms", created) : LORE_OK;
    if (st == LORE_OK && updated) st = set_int(f, "updated_ms", updated);
    return st;
}

/* The URL: data.url, else the payload's url. */
static lore_status copy_url(apply_ctx *c, json_t *f) {
    if (json_is_string(json_object_get(c->data, "url")))
        return copy_str(c, f, "url", c->data, "url", LINEAR_MAX_FIELD);
    return copy_str(c, f, "url", c->root, "url", LINEAR_MAX_FIELD);
}

static lore_status issue_fields(apply_ctx *c, const json_t *prev, json_t *f) {
    const json_t *d = c->data;
    lore_status st = copy_str(c, f, "identifier", d, "identifier", LINEAR_MAX_FIELD);
    if (st == LORE_OK) st = copy_str(c, f, "title", d, "title", LINEAR_MAX_FIELD);
    if (st == LORE_OK) st = copy_str(c, f, "description", d, "description", LINEAR_MAX_TEXT);
    if (st == LORE_OK) st = copy_url(c, f);
    if (st == LORE_OK) st = copy_ref(c, f, prev, "team", "teamId", "key");
    if (st == LORE_OK) st = copy_ref(c, f, prev, "state", "stateId", "type");
    if (st == LORE_OK) st = copy_ref(c, f, prev, "assignee", "assigneeId", NULL);
    if (st == LORE_OK) st = copy_person(c, f, "creator", "creator", prev);
    if (st == LORE_OK && json_is_integer(json_object_get(d, "priority")))
        st = set_int(f, "priority", json_integer_value(json_object_get(d, "priority")));
    if (st == LORE_OK) st = copy_str(c, f, "priority_label", d, "priorityLabel", LINEAR_MAX_FIELD);
    if (st != LORE_OK) return st;
    /* Labels by name; without "labels" in data the kept ones stay. */
    const json_t *labels = json_object_get(d, "labels");
    if (json_is_array(labels)) {
        if (json_array_size(labels) > LINEAR_MAX_LABELS)
            return fail(c->error, "Linear payload: an issue has more than 100 labels");
        json_t *names = json_array();
        if (!names) return LORE_NOMEM;
        size_t i;
        const json_t *l;
        json_array_foreach(labels, i, l) {
            const json_t *n = json_object_get(l, "name");
            if (!json_is_string(n)) continue;
            if (json_string_length(n) > LINEAR_MAX_FIELD) {
                json_decref(names);
                return fail(c->error, "Linear payload: a label name is too long");
            }
            if (json_array_append(names, (json_t *)n)) st = LORE_NOMEM;
        }
        if (st == LORE_OK && json_object_set(f, "labels", names)) st = LORE_NOMEM;
        json_decref(names);
    } else if (json_object_get(prev, "labels")) {
        st = json_object_set(f, "labels", json_object_get(prev, "labels")) ? LORE_NOMEM : LORE_OK;
    }
    if (st == LORE_OK) st = copy_times(c, f, prev);
    return st;
}

static lore_status comment_fields(apply_ctx *c, const json_t *prev, json_t *f) {
    lore_status st = copy_str(c, f, "body", c->data, "body", LINEAR_MAX_TEXT);
    if (st == LORE_OK) st = copy_person(c, f, "author", "user", prev);
    if (st == LORE_OK) st = copy_str(c, f, "parent", c->data, "parentId", LINEAR_MAX_FIELD);
    if (st == LORE_OK) st = copy_url(c, f);
    if (st == LORE_OK) st = copy_times(c, f, prev);
    return st;
}

static lore_status project_fields(apply_ctx *c, const json_t *prev, json_t *f) {
    const json_t *d = c->data;
    lore_status st = copy_str(c, f, "name", d, "name", LINEAR_MAX_FIELD);
    if (st == LORE_OK) st = copy_str(c, f, "description", d, "description", LINEAR_MAX_TEXT);
    if (st == LORE_OK) st = copy_str(c, f, "content", d, "content", LINEAR_MAX_TEXT);
    if (st == LORE_OK) st = copy_url(c, f);
    /* The status ({"name"}) or the older string state. */
    const json_t *status = json_object_get(d, "status");
    if (st == LORE_OK && json_is_string(json_object_get(status, "name")))
        st = copy_str(c, f, "state", status, "name", LINEAR_MAX_FIELD);
    else if (st == LORE_OK)
        st = copy_str(c, f, "state", d, "state", LINEAR_MAX_FIELD);
    if (st == LORE_OK)
        st = copy_str(c, f, "lead", json_object_get(d, "lead"), "name", LINEAR_MAX_FIELD);
    if (st == LORE_OK) st = copy_str(c, f, "start_date", d, "startDate", LINEAR_MAX_FIELD);
    if (st == LORE_OK) st = copy_str(c, f, "target_date", d, "targetDate", LINEAR_MAX_FIELD);
    if (st == LORE_OK) st = copy_person(c, f, "creator", "creator", prev);
    if (st == LORE_OK) st = copy_times(c, f, prev);
    return st;
}

static lore_status document_fields(apply_ctx *c, const json_t *prev, json_t *f) {
    const json_t *d = c->data;
    lore_status st = copy_str(c, f, "title", d, "title", LINEAR_MAX_FIELD);
    if (st == LORE_OK) st = copy_str(c, f, "content", d, "content", LINEAR_MAX_TEXT);
    if (st == LORE_OK) st = copy_url(c, f);
    const json_t *project = json_object_get(d, "project");
    if (st == LORE_OK) st = copy_str(c, f, "project", project, "name", LINEAR_MAX_FIELD);
    if (st == LORE_OK) st = copy_str(c, f, "project_id", d, "projectId", LINEAR_MAX_FIELD);
    if (st == LORE_OK) st = copy_person(c, f, "creator", "creator", prev);
    if (st == LORE_OK) st = copy_times(c, f, prev);
    return st;
}

typedef lore_status (*fields_fn)(apply_ctx *c, const json_t *prev, json_t *f);

/* Applies the delivery to one versioned slot ({"version", "removed",
 * "fields"}); *changed says whether it did anything. */
static lore_status apply_slot(apply_ctx *c, json_t *slot, fields_fn fn, int *changed) {
    int64_t cur = json_integer_value(json_object_get(slot, "version"));
    int removed = json_is_true(json_object_get(slot, "removed"));
    *changed = 0;
    if (c->version < cur) return LORE_OK; /* older than what is kept */
    if (c->remove) {
        if (removed && c->version == cur) return LORE_OK;
        *changed = 1;
        if (set_int(slot, "version", c->version) ||
            json_object_set_new(slot, "removed", json_true()))
            return LORE_NOMEM;
        return LORE_OK;
    }
    if (removed && c->version == cur) return LORE_OK; /* the remove wins a tie */
    json_t *f = json_object();
    if (!f) return LORE_NOMEM;
    lore_status st = fn(c, json_object_get(slot, "fields"), f);
    if (st == LORE_OK &&
        (set_int(slot, "version", c->version) ||
         json_object_set_new(slot, "removed", json_false()) || json_object_set(slot, "fields", f)))
        st = LORE_NOMEM;
    json_decref(f);
    *changed = st == LORE_OK;
    return st;
}

/* The object's state, or a new empty one. */
static lore_status load(connector_sink *s, const char *key, json_t **state) {
    lore_status st = connector_state_get(s, key, state);
    if (st == LORE_NOT_FOUND || (st == LORE_OK && !json_is_object(*state))) {
        json_decref(*state);
        *state = json_object();
        return *state ? LORE_OK : LORE_NOMEM;
    }
    return st;
}

static lore_status save(apply_ctx *c, connector_sink *s, const char *key, const json_t *state) {
    lore_status st = connector_state_put(s, key, state);
    if (st == LORE_TOO_LARGE)
        return fail(c->error, "Linear: the state of %s would pass 16 MiB; the delivery is refused",
                    key);
    return st == LORE_OK ? connector_touch(s, key) : st;
}

static lore_status apply_object(apply_ctx *c, connector_sink *s, const char *key, fields_fn fn) {
    json_t *state;
    lore_status st = load(s, key, &state);
    if (st != LORE_OK) return st;
    int changed = 0;
    st = apply_slot(c, state, fn, &changed);
    if (st == LORE_OK && changed) st = save(c, s, key, state);
    json_decref(state);
    return st;
}

/* Before the issue's own deliveries: title, identifier and url from the
 * comment's data.issue, so the comment has a document to join. */
static lore_status seed_issue(apply_ctx *c, json_t *state) {
    if (json_integer_value(json_object_get(state, "version")) ||
        json_is_true(json_object_get(state, "removed")))
        return LORE_OK;
    const json_t *issue = json_object_get(c->data, "issue");
    if (!json_is_object(issue)) return LORE_OK;
    json_t *f = json_object();
    if (!f) return LORE_NOMEM;
    lore_status st = copy_str(c, f, "identifier", issue, "identifier", LINEAR_MAX_FIELD);
    if (st == LORE_OK) st = copy_str(c, f, "title", issue, "title", LINEAR_MAX_FIELD);
    if (st == LORE_OK) st = copy_str(c, f, "url", issue, "url", LINEAR_MAX_FIELD);
    if (st == LORE_OK && json_object_size(f) && json_object_set(state, "fields", f))
        st = LORE_NOMEM;
    json_decref(f);
    return st;
}

static lore_status apply_comment(apply_ctx *c, connector_sink *s, const char *issue_id,
                                 const char *id) {
    char key[CONNECTOR_STATE_KEY_MAX + 1];
    snprintf(key, sizeof key, "issue/%s", issue_id);
    json_t *state;
    lore_status st = load(s, key, &state);
    if (st != LORE_OK) return st;
    json_t *comments = json_object_get(state, "comments");
    if (!json_is_object(comments)) {
        comments = json_object();
        if (!comments || json_object_set_new(state, "comments", comments)) st = LORE_NOMEM;
    }
    json_t *slot = st == LORE_OK ? json_object_get(comments, id) : NULL;
    if (st == LORE_OK && !slot) {
        if (json_object_size(comments) >= LINEAR_MAX_COMMENTS)
            st = fail(c->error, "Linear: issue %s has 5000 comments, the most the connector keeps",
                      issue_id);
        else if (!(slot = json_object()) || json_object_set_new(comments, id, slot))
            st = LORE_NOMEM;
    }
    int changed = 0;
    if (st == LORE_OK) st = apply_slot(c, slot, comment_fields, &changed);
    if (st == LORE_OK && changed) st = seed_issue(c, state);
    if (st == LORE_OK && changed) st = save(c, s, key, state);
    json_decref(state);
    return st;
}

/* The delivery's time at the source (see the top of the file). */
static int64_t version_of(const json_t *root, const json_t *data, int remove) {
    int64_t v = iso_ms(json_object_get(data, "updatedAt"));
    if (remove || !v) {
        int64_t a = iso_ms(json_object_get(data, "archivedAt"));
        int64_t t = iso_ms(json_object_get(root, "createdAt"));
        if (a > v) v = a;
        if (t > v) v = t;
    }
    if (!v) v = json_integer_value(json_object_get(root, "webhookTimestamp"));
    return v > 0 ? v : 1;
}

lore_status linear_apply(connector_sink *s, const char *event, const json_t *payload,
                         char **error) {
    (void)event; /* the payload says the same: "<type>.<action>" */
    *error = NULL;
    apply_ctx c = {.root = payload, .error = error};
    c.data = json_object_get(payload, "data");
    c.type = json_string_value(json_object_get(payload, "type"));
    c.action = json_string_value(json_object_get(payload, "action"));
    if (!json_is_object(payload) || !c.type || !c.action || !json_is_object(c.data))
        return fail(error, "not a Linear webhook payload (type, action and data expected)");
    const char *id = json_string_value(json_object_get(c.data, "id"));
    if (!id || !linear_id_valid(id))
        return fail(error, "Linear payload: data.id is missing or not a Linear id");
    c.remove = !strcmp(c.action, "remove");
    c.create = !strcmp(c.action, "create");
    if (!c.remove && !c.create && strcmp(c.action, "update")) return LORE_OK;
    c.version = version_of(payload, c.data, c.remove);

    char key[CONNECTOR_STATE_KEY_MAX + 1];
    if (!strcmp(c.type, "Issue")) {
        snprintf(key, sizeof key, "issue/%s", id);
        return apply_object(&c, s, key, issue_fields);
    }
    if (!strcmp(c.type, "Project")) {
        snprintf(key, sizeof key, "project/%s", id);
        return apply_object(&c, s, key, project_fields);
    }
    if (!strcmp(c.type, "Document")) {
        snprintf(key, sizeof key, "document/%s", id);
        return apply_object(&c, s, key, document_fields);
    }
    if (!strcmp(c.type, "Comment")) {
        const char *issue = json_string_value(json_object_get(c.data, "issueId"));
        if (!issue)
            issue = json_string_value(json_object_get(json_object_get(c.data, "issue"), "id"));
        if (!issue) return LORE_OK; /* a comment on a document or project update */
        if (!linear_id_valid(issue))
            return fail(error, "Linear payload: data.issueId is not a Linear id");
        return apply_comment(&c, s, issue, id);
    }
    return LORE_OK; /* a type lore does not index */
}
