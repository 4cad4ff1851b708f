/* The GitHub connector's object states and documents (apply, render).
 *
 * State layout (one JSON object per key, github.h names the keys):
 *
 *   "owner/repo#12", "owner/repo/discussions/7", "owner/repo/releases/ID":
 *     {"kind": "issue"|"pull_request"|"discussion"|"release",
 *      "repo": "owner/repo", "number": 12, "id": 444500041, "node_id": "...",
 *      "title", "body", "state": "open"|"closed"|"merged", "author", "url",
 *      "labels": ["bug"], "category" (discussions), "tag", "draft",
 *      "prerelease" (releases), "created", "updated": ms at the source,
 *      "comments": {"<comment id>": {"author", "body", "url", "created",
 *                   "updated", "path" (review comments), "deleted": true}}}
 *     or the tombstone {"deleted": true, "repo": ...} of an object deleted
 *     or transferred away (numbers and ids are never reused, so a late
 *     delivery about it must not bring it back).
 *   "owner/repo": {"id": repository id, "private": bool, "deleted": bool}:
 *     private decides the documents' ACL; it is taken from the first
 *     delivery that names the repository, then only `repository`
 *     privatized/publicized change it (an object delivery's snapshot of the
 *     repository may be older than a privatization). A deleted repository
 *     keeps this record so late deliveries about it (same id) do nothing; a
 *     new repository of that name has another id and starts afresh.
 *
 * Out of order: an object's fields are replaced only by a delivery whose
 * updated_at is not older than the one kept; a comment likewise by its own
 * updated_at; a deleted comment or object stays deleted. Releases carry no
 * updated_at: their edits apply in arrival order (the FIFO group keeps it).
 * A merged pull request stays merged (an issue_comment's view of a pull
 * request does not always say it was merged). */
#include "connectors/github.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/timeutil.h"

#define GH_TEXT_MAX (32u << 20) /* bytes of one rendered document */

static int64_t ts(const json_t *obj, const char *name) {
    const char *s = json_string_value(json_object_get(obj, name));
    int64_t ms = 0;
    if (!s || lore_parse_iso8601(s, &ms)) return 0;
    return ms;
}

static const char *str(const json_t *obj, const char *name) {
    const char *s = json_string_value(json_object_get(obj, name));
    return s ? s : "";
}

static int64_t num(const json_t *obj, const char *name) {
    const json_t *v = json_object_get(obj, name);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static int flag(const json_t *obj, const char *name) {
    return json_is_true(json_object_get(obj, name));
}

static lore_status set(json_t *o, const char *name, json_t *v) {
    return v && !json_object_set_new(o, name, v) ? LORE_OK : LORE_NOMEM;
}

static lore_status set_str(json_t *o, const char *name, const char *s) {
    return set(o, name, json_string(s));
}

static lore_status fail(char **error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static lore_status fail(char **error, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    *error = strdup(buf);
    return LORE_INVALID;
}

/* ---- the repository record ---- */

typedef struct repo_view {
    json_t *state; /* owned, the repository record */
    int skip;      /* the repository was deleted: the delivery does nothing */
} repo_view;

/* Loads (or starts) the repository record for a delivery about repo. */
static lore_status repo_load(connector_sink *s, const char *repo, const json_t *payload,
                             repo_view *rv) {
    rv->skip = 0;
    const json_t *r = json_object_get(payload, "repository");
    int64_t id = num(r, "id");
    lore_status st = connector_state_get(s, repo, &rv->state);
    if (st == LORE_OK && json_is_object(rv->state)) {
        int64_t kept = num(rv->state, "id");
        if (flag(rv->state, "deleted")) {
            if (id && kept && id != kept) goto fresh; /* a new repository of that name */
            rv->skip = 1;
            return LORE_OK;
        }
        if (!kept && id) {
            st = set(rv->state, "id", json_integer(id));
            if (st == LORE_OK) st = connector_state_put(s, repo, rv->state);
        }
        return st;
    }
    if (st != LORE_OK && st != LORE_NOT_FOUND) return st;
fresh:
    json_decref(rv->state);
    rv->state = json_pack("{s:I, s:b, s:b}", "id", (json_int_t)id, "private", flag(r, "private"),
                          "deleted", 0);
    if (!rv->state) return LORE_NOMEM;
    return connector_state_put(s, repo, rv->state);
}

typedef struct key_list {
    char **keys;
    size_t n, cap;
    int nomem;
} key_list;

static int collect(void *ctx, const char *key, const json_t *state) {
    (void)state;
    key_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **k = realloc(l->keys, cap * sizeof *k);
        if (!k) return l->nomem = 1;
        l->keys = k, l->cap = cap;
    }
    if (!(l->keys[l->n] = strdup(key))) return l->nomem = 1;
    l->n++;
    return 0;
}

/* Every object key of a repository: "repo#..." and "repo/...". */
static lore_status repo_objects(connector_sink *s, const char *repo, key_list *l) {
    char prefix[GITHUB_REPO_MAX + 2];
    lore_status st = LORE_OK;
    for (int i = 0; st == LORE_OK && i < 2; i++) {
        snprintf(prefix, sizeof prefix, "%s%c", repo, i ? '/' : '#');
        st = connector_state_scan(s, prefix, collect, l);
        if (st == LORE_OK && l->nomem) st = LORE_NOMEM;
    }
    return st;
}

static void key_list_free(key_list *l) {
    for (size_t i = 0; i < l->n; i++)
        free(l->keys[i]);
    free(l->keys);
}

static lore_status apply_repository(connector_sink *s, const char *repo, const json_t *payload,
                                    repo_view *rv) {
    const char *action = str(payload, "action");
    int deleted = !strcmp(action, "deleted");
    lore_status st = deleted
                         ? set(rv->state, "deleted", json_true())
                         : set(rv->state, "private", json_boolean(!strcmp(action, "privatized")));
    if (st == LORE_OK) st = connector_state_put(s, repo, rv->state);
    key_list l = {0};
    if (st == LORE_OK) st = repo_objects(s, repo, &l);
    for (size_t i = 0; st == LORE_OK && i < l.n; i++) {
        if (deleted) st = connector_state_delete(s, l.keys[i]);
        if (st == LORE_OK) st = connector_touch(s, l.keys[i]);
    }
    key_list_free(&l);
    return st;
}

/* ---- objects ---- */

/* The object's fields from an issue, pull request, discussion or release
 * as a payload shows it, unless the state holds a newer view. */
static lore_status take_fields(json_t *state, const char *kind, const char *repo, const json_t *o) {
    int64_t updated = ts(o, "updated_at");
    if (!strcmp(kind, "release")) updated = ts(o, "published_at");
    if (!updated) updated = ts(o, "created_at");
    if (strcmp(kind, "release") && json_object_get(state, "updated") &&
        updated < num(state, "updated"))
        return LORE_OK;
    int merged = !strcmp(str(state, "state"), "merged");
    const char *k = kind;
    if (!strcmp(kind, "issue") &&
        (json_object_get(o, "pull_request") || !strcmp(str(state, "kind"), "pull_request")))
        k = "pull_request";
    const char *st_name = str(o, "state");
    if (!strcmp(k, "pull_request")) {
        const json_t *pr = json_object_get(o, "pull_request");
        if (flag(o, "merged") || json_is_string(json_object_get(o, "merged_at")) ||
            json_is_string(json_object_get(pr, "merged_at")))
            merged = 1;
        if (merged) st_name = "merged";
    }
    json_t *labels = json_array();
    if (!labels) return LORE_NOMEM;
    const json_t *v;
    size_t i;
    json_array_foreach(json_object_get(o, "labels"), i, v) {
        const char *name = json_string_value(json_object_get(v, "name"));
        if (name && json_array_append_new(labels, json_string(name))) {
            json_decref(labels);
            return LORE_NOMEM;
        }
    }
    const json_t *user = json_object_get(o, strcmp(kind, "release") ? "user" : "author");
    lore_status st = set(state, "labels", labels);
    if (st == LORE_OK) st = set_str(state, "kind", k);
    if (st == LORE_OK) st = set_str(state, "repo", repo);
    if (st == LORE_OK) st = set(state, "id", json_integer(num(o, "id")));
    if (st == LORE_OK) st = set_str(state, "node_id", str(o, "node_id"));
    if (st == LORE_OK && num(o, "number"))
        st = set(state, "number", json_integer(num(o, "number")));
    if (st == LORE_OK)
        st = set_str(state, "title", str(o, strcmp(kind, "release") ? "title" : "name"));
    if (st == LORE_OK) st = set_str(state, "body", str(o, "body"));
    if (st == LORE_OK) st = set_str(state, "state", st_name);
    if (st == LORE_OK) st = set_str(state, "author", str(user, "login"));
    if (st == LORE_OK) st = set_str(state, "url", str(o, "html_url"));
    if (st == LORE_OK) st = set(state, "created", json_integer(ts(o, "created_at")));
    if (st == LORE_OK) st = set(state, "updated", json_integer(updated));
    if (st == LORE_OK && !strcmp(kind, "discussion"))
        st = set_str(state, "category", str(json_object_get(o, "category"), "name"));
    if (st == LORE_OK && !strcmp(kind, "release")) {
        st = set_str(state, "tag", str(o, "tag_name"));
        if (st == LORE_OK) st = set(state, "draft", json_boolean(flag(o, "draft")));
        if (st == LORE_OK) st = set(state, "prerelease", json_boolean(flag(o, "prerelease")));
    }
    if (st == LORE_OK && !json_object_get(state, "comments"))
        st = set(state, "comments", json_object());
    return st;
}

/* A comment created, edited or deleted. */
static lore_status take_comment(json_t *state, const char *action, const json_t *c, char **error) {
    int64_t id = num(c, "id");
    if (id <= 0) return fail(error, "a comment without an id (%s)", action);
    char idk[24];
    snprintf(idk, sizeof idk, "%lld", (long long)id);
    json_t *comments = json_object_get(state, "comments");
    json_t *old = json_object_get(comments, idk);
    if (flag(old, "deleted")) return LORE_OK;
    if (!strcmp(action, "deleted")) return set(comments, idk, json_pack("{s:b}", "deleted", 1));
    int64_t updated = ts(c, "updated_at");
    if (old && updated < num(old, "updated")) return LORE_OK;
    json_t *n = json_object();
    lore_status st = n ? LORE_OK : LORE_NOMEM;
    if (st == LORE_OK) st = set_str(n, "author", str(json_object_get(c, "user"), "login"));
    if (st == LORE_OK) st = set_str(n, "body", str(c, "body"));
    if (st == LORE_OK) st = set_str(n, "url", str(c, "html_url"));
    if (st == LORE_OK) st = set(n, "created", json_integer(ts(c, "created_at")));
    if (st == LORE_OK) st = set(n, "updated", json_integer(updated));
    if (st == LORE_OK && json_is_string(json_object_get(c, "path")))
        st = set_str(n, "path", str(c, "path"));
    if (st == LORE_OK && num(c, "parent_id"))
        st = set(n, "parent", json_integer(num(c, "parent_id")));
    if (st != LORE_OK) {
        json_decref(n);
        return st;
    }
    return set(comments, idk, n);
}

/* Which member of the payload holds the object, and its kind. */
static const char *holder_of(const char *event, const char **kind) {
    if (!strcmp(event, "issues") || !strcmp(event, "issue_comment")) {
        *kind = "issue";
        return "issue";
    }
    if (!strncmp(event, "pull_request", 12)) {
        *kind = "pull_request";
        return "pull_request";
    }
    if (!strncmp(event, "discussion", 10)) {
        *kind = "discussion";
        return "discussion";
    }
    *kind = "release";
    return "release";
}

static lore_status apply_object(connector_sink *s, const char *event, const char *key,
                                const char *repo, const json_t *payload, char **error) {
    const char *kind, *holder = holder_of(event, &kind);
    const char *action = str(payload, "action");
    const json_t *o = json_object_get(payload, holder);
    if (!json_is_object(o)) return fail(error, "a %s event without its %s", event, holder);
    json_t *state = NULL;
    lore_status st = connector_state_get(s, key, &state);
    if (st == LORE_NOT_FOUND || (st == LORE_OK && !json_is_object(state))) {
        json_decref(state);
        state = json_object();
        st = state ? LORE_OK : LORE_NOMEM;
    }
    if (st != LORE_OK) return st;
    if (flag(state, "deleted")) { /* gone for good: nothing brings it back */
        json_decref(state);
        return LORE_OK;
    }
    int gone = !strcmp(event, "issues") || !strcmp(event, "discussion") || !strcmp(event, "release")
                   ? !strcmp(action, "deleted") || !strcmp(action, "transferred")
                   : 0;
    if (gone) {
        json_decref(state);
        state = json_pack("{s:b, s:s}", "deleted", 1, "repo", repo);
        st = state ? LORE_OK : LORE_NOMEM;
    } else {
        st = take_fields(state, kind, repo, o);
        const json_t *c = json_object_get(payload, "comment");
        if (st == LORE_OK && strstr(event, "comment")) {
            if (!json_is_object(c)) {
                json_decref(state);
                return fail(error, "a %s event without its comment", event);
            }
            st = take_comment(state, action, c, error);
        }
    }
    if (st == LORE_OK) st = connector_state_put(s, key, state);
    if (st == LORE_TOO_LARGE)
        st = fail(error, "%s's state passed 16 MiB; it is kept as it was", key);
    if (st == LORE_OK) st = connector_touch(s, key);
    json_decref(state);
    return st;
}

lore_status github_apply(connector_sink *s, const char *event, const json_t *payload,
                         char **error) {
    *error = NULL;
    char key[CONNECTOR_STATE_KEY_MAX + 1], repo[GITHUB_REPO_MAX + 1], why[160];
    if (!event || !json_is_object(payload)) return fail(error, "not a GitHub payload");
    int known = github_object_key(event, payload, key, repo, why, sizeof why);
    if (known < 0) return fail(error, "%s", why);
    if (!known) return LORE_OK;
    repo_view rv = {0};
    lore_status st = repo_load(s, repo, payload, &rv);
    if (st == LORE_OK && !rv.skip) {
        if (!strcmp(event, "repository"))
            st = apply_repository(s, repo, payload, &rv);
        else
            st = apply_object(s, event, key, repo, payload, error);
    }
    json_decref(rv.state);
    return st;
}

/* ---- documents ---- */

static int is_object_key(const char *key) {
    return strchr(key, '#') || strstr(key, "/discussions/") || strstr(key, "/releases/");
}

typedef struct comment_ref {
    int64_t created, id;
    const json_t *c;
} comment_ref;

static int comment_cmp(const void *a, const void *b) {
    const comment_ref *x = a, *y = b;
    if (x->created != y->created) return x->created < y->created ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static void day(int64_t ms, char out[24]) {
    if (!ms) {
        snprintf(out, 24, "an unknown date");
        return;
    }
    lore_format_iso8601(ms, out, 24);
    out[10] = 0;
}

static const char *kind_title(const char *kind) {
    if (!strcmp(kind, "pull_request")) return "Pull request";
    if (!strcmp(kind, "discussion")) return "Discussion";
    if (!strcmp(kind, "release")) return "Release";
    return "Issue";
}

/* Room kept for the header and the last comment's heading when comments
 * stop fitting into the document. */
#define GH_TEXT_SLACK (256u << 10)

static lore_status render_comments(lore_buf *b, const json_t *comments, int64_t *updated) {
    size_t n = json_object_size(comments), k = 0;
    if (!n) return LORE_OK;
    comment_ref *refs = calloc(n, sizeof *refs);
    if (!refs) return LORE_NOMEM;
    const char *id;
    const json_t *c;
    json_object_foreach((json_t *)comments, id, c) {
        if (flag(c, "deleted")) continue;
        refs[k++] = (comment_ref){num(c, "created"), strtoll(id, NULL, 10), c};
    }
    qsort(refs, k, sizeof *refs, comment_cmp);
    lore_status st = k ? lore_buf_append_str(b, "\n## Comments\n") : LORE_OK;
    for (size_t i = 0; st == LORE_OK && i < k; i++) {
        if (b->len + GH_TEXT_SLACK + strlen(str(refs[i].c, "body")) > GH_TEXT_MAX) {
            st = lore_buf_printf(b, "\n(%zu more comments are too long to show here)\n", k - i);
            break;
        }
        char d[24];
        day(num(refs[i].c, "created"), d);
        const char *path = str(refs[i].c, "path");
        st = lore_buf_printf(b, "\n### @%s on %s%s%s%s\n\n%s\n", str(refs[i].c, "author"), d,
                             *path ? " (on " : "", path, *path ? ")" : "", str(refs[i].c, "body"));
        if (num(refs[i].c, "updated") > *updated) *updated = num(refs[i].c, "updated");
    }
    free(refs);
    return st;
}

static lore_status render_text(lore_buf *b, const char *key, const json_t *state,
                               int64_t *updated) {
    const char *kind = str(state, "kind");
    char d[24];
    day(num(state, "created"), d);
    const char *title = str(state, "title");
    if (!*title) title = str(state, "tag");
    lore_status st = lore_buf_printf(b, "# %s\n\n", title);
    if (st != LORE_OK) return st;
    if (!strcmp(kind, "release"))
        st = lore_buf_printf(b, "Release %s of %s%s, by @%s on %s.\n\n", str(state, "tag"),
                             str(state, "repo"), flag(state, "prerelease") ? " (pre-release)" : "",
                             str(state, "author"), d);
    else
        st = lore_buf_printf(b, "%s %s, %s, opened by @%s on %s.\n\n", kind_title(kind), key,
                             str(state, "state"), str(state, "author"), d);
    const json_t *labels = json_object_get(state, "labels");
    for (size_t i = 0; st == LORE_OK && i < json_array_size(labels); i++)
        st = lore_buf_printf(b, "%s%s",
                             i ? ", " : "Labels: ", json_string_value(json_array_get(labels, i)));
    if (st == LORE_OK && json_array_size(labels)) st = lore_buf_append_str(b, "\n\n");
    if (st == LORE_OK && *str(state, "category"))
        st = lore_buf_printf(b, "Category: %s\n\n", str(state, "category"));
    if (st == LORE_OK && *str(state, "url")) st = lore_buf_printf(b, "%s\n", str(state, "url"));
    const char *body = str(state, "body");
    if (st == LORE_OK && *body) {
        if (strlen(body) + GH_TEXT_SLACK > GH_TEXT_MAX)
            st = lore_buf_append_str(b, "\n(the description is too long to show here)\n");
        else
            st = lore_buf_printf(b, "\n%s\n", body);
    }
    if (st == LORE_OK) st = render_comments(b, json_object_get(state, "comments"), updated);
    return st;
}

static char *render_metadata(const json_t *state) {
    json_t *gh = json_pack("{s:s, s:s, s:I, s:s, s:s, s:O}", "repository", str(state, "repo"),
                           "kind", str(state, "kind"), "id", (json_int_t)num(state, "id"),
                           "node_id", str(state, "node_id"), "state", str(state, "state"), "labels",
                           json_object_get(state, "labels") ? json_object_get(state, "labels")
                                                            : json_null());
    if (!gh) return NULL;
    int bad = 0;
    if (num(state, "number"))
        bad |= json_object_set_new(gh, "number", json_integer(num(state, "number")));
    if (*str(state, "tag")) bad |= json_object_set_new(gh, "tag", json_string(str(state, "tag")));
    json_t *meta = json_pack("{s:o}", "github", gh);
    char *text = meta && !bad ? json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(meta);
    return text;
}

lore_status github_render(connector_sink *s, const char *key) {
    if (!is_object_key(key)) return LORE_OK; /* a repository record: no document of its own */
    json_t *state = NULL;
    lore_status st = connector_state_get(s, key, &state);
    if (st == LORE_NOT_FOUND ||
        (st == LORE_OK && (!json_is_object(state) || flag(state, "deleted") ||
                           flag(state, "draft") || !json_object_get(state, "kind")))) {
        json_decref(state);
        return connector_remove(s, key);
    }
    if (st != LORE_OK) return st;
    json_t *repo = NULL;
    st = connector_state_get(s, str(state, "repo"), &repo);
    if (st == LORE_NOT_FOUND) st = LORE_OK;
    char principal[GITHUB_REPO_MAX + 32];
    snprintf(principal, sizeof principal, "group:github:%s", str(state, "repo"));
    const char *acl[1] = {principal};
    int private_ = flag(repo, "private");
    json_decref(repo);
    lore_buf text;
    lore_buf_init(&text, GH_TEXT_MAX);
    int64_t updated = num(state, "updated");
    char *meta = NULL;
    if (st == LORE_OK) st = render_text(&text, key, state, &updated);
    if (st == LORE_OK && !(meta = render_metadata(state))) st = LORE_NOMEM;
    if (st == LORE_OK) {
        ingest_record r = {
            .external_id = key,
            .title = str(state, "title"),
            .url = *str(state, "url") ? str(state, "url") : NULL,
            .author = *str(state, "author") ? str(state, "author") : NULL,
            .created_ms = num(state, "created"),
            .updated_ms = updated,
            .metadata_json = meta,
            .acl = private_ ? acl : NULL,
            .nacl = private_ ? 1 : 0,
            .format = PARSE_FMT_MARKDOWN,
            .text = text.data ? text.data : "",
            .text_len = text.len,
        };
        if (!*r.title) r.title = *str(state, "tag") ? str(state, "tag") : key;
        st = connector_put(s, &r);
    }
    free(meta);
    lore_buf_free(&text);
    json_decref(state);
    return st;
}
