/* The Linear connector's render: one document per issue (its comments in
 * order inside it), per project and per Linear document, as Markdown, from
 * the object state alone (layout at the top of linear_docs.c). The same
 * state gives the same bytes, so a redelivery re-renders to an unchanged
 * document. Metadata: {"linear": {"id", "identifier", "team", "state",
 * "type"}} (members the object has). */
#include "connectors/linear.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/timeutil.h"

#define TEXT_CAP (32u << 20) /* bytes of one rendered document */

static const char *fs(const json_t *o, const char *k) {
    return json_string_value(json_object_get(o, k));
}

static int64_t fi(const json_t *o, const char *k) {
    return json_integer_value(json_object_get(o, k));
}

static const char *ref_name(const json_t *f, const char *sub) {
    return fs(json_object_get(f, sub), "name");
}

static lore_status line(lore_buf *b, const char *label, const char *v) {
    if (!v || !*v) return LORE_OK;
    return lore_buf_printf(b, "- %s: %s\n", label, v);
}

static lore_status para(lore_buf *b, const char *text) {
    if (!text || !*text) return LORE_OK;
    lore_status st = lore_buf_printf(b, "\n%s\n", text);
    return st;
}

typedef struct comment_ref {
    const char *id;
    const json_t *f;
} comment_ref;

static int comment_cmp(const void *a, const void *b) {
    const comment_ref *x = a, *y = b;
    int64_t cx = fi(x->f, "created_ms"), cy = fi(y->f, "created_ms");
    if (cx != cy) return cx < cy ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* The issue's live comments, oldest first (ties by id). *out owned. */
static lore_status live_comments(const json_t *state, comment_ref **out, size_t *n) {
    const json_t *comments = json_object_get(state, "comments");
    *out = NULL;
    *n = 0;
    size_t cap = json_object_size(comments);
    if (!cap) return LORE_OK;
    comment_ref *v = malloc(cap * sizeof *v);
    if (!v) return LORE_NOMEM;
    const char *id;
    const json_t *slot;
    json_object_foreach((json_t *)comments, id, slot) {
        const json_t *f = json_object_get(slot, "fields");
        if (json_is_true(json_object_get(slot, "removed")) || !json_is_object(f)) continue;
        v[(*n)++] = (comment_ref){id, f};
    }
    qsort(v, *n, sizeof *v, comment_cmp);
    *out = v;
    return LORE_OK;
}

/* s cut to at most max bytes at a UTF-8 character boundary, into buf
 * (max + 1 bytes); NULL stays NULL. The ingest caps (title 4 KiB, author
 * 1 KiB) would otherwise refuse the whole document. */
static const char *clip(const char *s, size_t max, char *buf) {
    if (!s || strlen(s) <= max) return s;
    size_t n = max;
    while (n && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    memcpy(buf, s, n);
    buf[n] = 0;
    return buf;
}

static lore_status put_doc(connector_sink *s, const char *key, const char *title, const json_t *f,
                           const char *author, int64_t updated, json_t *meta, lore_buf *text) {
    char *meta_json = NULL;
    json_t *wrap = json_pack("{s:O}", "linear", meta);
    if (wrap) meta_json = json_dumps(wrap, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(wrap);
    if (!meta_json) return LORE_NOMEM;
    char *tbuf = malloc(INGEST_MAX_TITLE + 1), *abuf = malloc(INGEST_MAX_AUTHOR + 1);
    if (!tbuf || !abuf) {
        free(tbuf);
        free(abuf);
        free(meta_json);
        return LORE_NOMEM;
    }
    ingest_record r = {
        .external_id = key,
        .title = clip(title, INGEST_MAX_TITLE, tbuf),
        .url = fs(f, "url"),
        .author = clip(author, INGEST_MAX_AUTHOR, abuf),
        .created_ms = fi(f, "created_ms"),
        .updated_ms = updated,
        .metadata_json = meta_json,
        .format = PARSE_FMT_MARKDOWN,
        .text = text->data ? text->data : "",
        .text_len = text->len,
    };
    lore_status st = connector_put(s, &r);
    free(tbuf);
    free(abuf);
    free(meta_json);
    return st;
}

static lore_status meta_set(json_t *meta, const char *k, const char *v) {
    if (!v) return LORE_OK;
    return json_object_set_new(meta, k, json_string(v)) ? LORE_NOMEM : LORE_OK;
}

static lore_status render_comments(lore_buf *b, const comment_ref *c, size_t n, int64_t *updated) {
    lore_status st = n ? lore_buf_printf(b, "\n## Comments\n") : LORE_OK;
    for (size_t i = 0; st == LORE_OK && i < n; i++) {
        const char *author = fs(c[i].f, "author");
        char t[32] = "";
        if (fi(c[i].f, "created_ms")) lore_format_iso8601(fi(c[i].f, "created_ms"), t, sizeof t);
        st = lore_buf_printf(b, "\n### %s%s%s%s\n", author ? author : "Someone", *t ? ", " : "", t,
                             fs(c[i].f, "parent") ? " (reply)" : "");
        if (st == LORE_OK) st = para(b, fs(c[i].f, "body"));
        if (fi(c[i].f, "updated_ms") > *updated) *updated = fi(c[i].f, "updated_ms");
    }
    return st;
}

static lore_status render_issue(connector_sink *s, const char *key, const json_t *state,
                                const json_t *f, lore_buf *b, char *title, size_t tlen) {
    const char *ident = fs(f, "identifier"), *name = fs(f, "title");
    if (ident && name)
        snprintf(title, tlen, "%s: %s", ident, name);
    else
        snprintf(title, tlen, "%s", ident ? ident : name ? name : key);
    const json_t *team = json_object_get(f, "team");
    char teamline[2 * LINEAR_MAX_FIELD + 8] = "";
    if (fs(team, "name") && fs(team, "key"))
        snprintf(teamline, sizeof teamline, "%s (%s)", fs(team, "name"), fs(team, "key"));
    else if (fs(team, "name") || fs(team, "key"))
        snprintf(teamline, sizeof teamline, "%s",
                 fs(team, "name") ? fs(team, "name") : fs(team, "key"));
    char labels[8192] = "";
    size_t used = 0, i;
    const json_t *l;
    json_array_foreach(json_object_get(f, "labels"), i, l) {
        int n = snprintf(labels + used, sizeof labels - used, "%s%s", used ? ", " : "",
                         json_string_value(l));
        if (n < 0 || (size_t)n >= sizeof labels - used) break;
        used += (size_t)n;
    }
    static const char *const prio[] = {"No priority", "Urgent", "High", "Medium", "Low"};
    const char *p = fs(f, "priority_label");
    int64_t pv = fi(f, "priority");
    if (!p && json_is_integer(json_object_get(f, "priority")) && pv >= 0 && pv <= 4) p = prio[pv];

    lore_status st = lore_buf_printf(b, "# %s\n\n", title);
    if (st == LORE_OK) st = line(b, "Team", teamline);
    if (st == LORE_OK) st = line(b, "State", ref_name(f, "state"));
    if (st == LORE_OK) st = line(b, "Assignee", ref_name(f, "assignee"));
    if (st == LORE_OK) st = line(b, "Priority", p);
    if (st == LORE_OK) st = line(b, "Labels", labels);
    if (st == LORE_OK) st = line(b, "Created by", fs(f, "creator"));
    if (st == LORE_OK) st = para(b, fs(f, "description"));
    comment_ref *c = NULL;
    size_t nc = 0;
    int64_t updated = fi(f, "updated_ms");
    if (st == LORE_OK) st = live_comments(state, &c, &nc);
    if (st == LORE_OK) st = render_comments(b, c, nc, &updated);
    free(c);
    if (st != LORE_OK) return st;

    json_t *meta = json_object();
    if (!meta) return LORE_NOMEM;
    st = meta_set(meta, "id", key + strlen("issue/"));
    if (st == LORE_OK) st = meta_set(meta, "identifier", ident);
    if (st == LORE_OK)
        st = meta_set(meta, "team", fs(team, "key") ? fs(team, "key") : fs(team, "name"));
    if (st == LORE_OK) st = meta_set(meta, "state", ref_name(f, "state"));
    if (st == LORE_OK) st = meta_set(meta, "type", "Issue");
    if (st == LORE_OK) st = put_doc(s, key, title, f, fs(f, "creator"), updated, meta, b);
    json_decref(meta);
    return st;
}

static lore_status render_project(connector_sink *s, const char *key, const json_t *f, lore_buf *b,
                                  char *title, size_t tlen) {
    snprintf(title, tlen, "%s", fs(f, "name") ? fs(f, "name") : key);
    lore_status st = lore_buf_printf(b, "# %s\n\n", title);
    if (st == LORE_OK) st = line(b, "State", fs(f, "state"));
    if (st == LORE_OK) st = line(b, "Lead", fs(f, "lead"));
    if (st == LORE_OK) st = line(b, "Start date", fs(f, "start_date"));
    if (st == LORE_OK) st = line(b, "Target date", fs(f, "target_date"));
    if (st == LORE_OK) st = para(b, fs(f, "description"));
    if (st == LORE_OK) st = para(b, fs(f, "content"));
    if (st != LORE_OK) return st;
    json_t *meta = json_object();
    if (!meta) return LORE_NOMEM;
    st = meta_set(meta, "id", key + strlen("project/"));
    if (st == LORE_OK) st = meta_set(meta, "state", fs(f, "state"));
    if (st == LORE_OK) st = meta_set(meta, "type", "Project");
    if (st == LORE_OK)
        st = put_doc(s, key, title, f, fs(f, "creator"), fi(f, "updated_ms"), meta, b);
    json_decref(meta);
    return st;
}

static lore_status render_document(connector_sink *s, const char *key, const json_t *f, lore_buf *b,
                                   char *title, size_t tlen) {
    snprintf(title, tlen, "%s", fs(f, "title") ? fs(f, "title") : key);
    lore_status st = lore_buf_printf(b, "# %s\n\n", title);
    if (st == LORE_OK) st = line(b, "Project", fs(f, "project"));
    if (st == LORE_OK) st = line(b, "Created by", fs(f, "creator"));
    if (st == LORE_OK) st = para(b, fs(f, "content"));
    if (st != LORE_OK) return st;
    json_t *meta = json_object();
    if (!meta) return LORE_NOMEM;
    st = meta_set(meta, "id", key + strlen("document/"));
    if (st == LORE_OK) st = meta_set(meta, "project", fs(f, "project_id"));
    if (st == LORE_OK) st = meta_set(meta, "type", "Document");
    if (st == LORE_OK)
        st = put_doc(s, key, title, f, fs(f, "creator"), fi(f, "updated_ms"), meta, b);
    json_decref(meta);
    return st;
}

lore_status linear_render(connector_sink *s, const char *key) {
    json_t *state = NULL;
    lore_status st = connector_state_get(s, key, &state);
    if (st == LORE_NOT_FOUND) return connector_remove(s, key);
    if (st != LORE_OK) return st;
    const json_t *f = json_object_get(state, "fields");
    if (json_is_true(json_object_get(state, "removed")) || !json_is_object(f) ||
        !json_object_size(f)) {
        json_decref(state);
        return connector_remove(s, key);
    }
    lore_buf b;
    lore_buf_init(&b, TEXT_CAP);
    char title[2 * LINEAR_MAX_FIELD + 8];
    if (!strncmp(key, "issue/", 6))
        st = render_issue(s, key, state, f, &b, title, sizeof title);
    else if (!strncmp(key, "project/", 8))
        st = render_project(s, key, f, &b, title, sizeof title);
    else if (!strncmp(key, "document/", 9))
        st = render_document(s, key, f, &b, title, sizeof title);
    else
        st = LORE_OK; /* not a key this connector makes */
    lore_buf_free(&b);
    json_decref(state);
    return st;
}
