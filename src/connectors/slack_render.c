/* The Slack connector's documents, from the states slack_docs.c keeps.
 *
 *   {C}/day/{YYYY-MM-DD}  a channel's messages of one UTC day that are not
 *                         in a thread (a message with replies lives in its
 *                         thread's document instead), in ts order;
 *   {C}/{thread_ts}       a thread: its parent (when known and not deleted),
 *                         then its replies in ts order.
 *
 * Each message is a paragraph: "{author}, {YYYY-MM-DD HH:MM} UTC[ (edited)]:
 * {permalink}", its text with Slack's markup resolved (<@U..> to @name,
 * <#C..|name> to #name, <url|label> to "label (url)", &amp; &lt; &gt;
 * decoded), then a "[file: name]" line per attached file. Authors are the
 * recorded users' display names, else their ids; a bot message shows its
 * username.
 *
 * Permalinks are Slack's chat.getPermalink form on the host slack.com
 * (lore does not know the workspace's domain): https://slack.com/archives/
 * {C}/p{ts without the dot}, and for a reply ?thread_ts={T}&cid={C}.
 *
 * Documents of a private channel (a group, an im or mpim, or one recorded
 * private) carry the ACL group:slack:{C}; the others get the connector
 * instance's ACL. Metadata: {"slack": {"channel", "channel_name" (when
 * known), "private", "date", "thread_ts" (threads)}}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "connectors/slack_internal.h"
#include "util/buf.h"

#define KEY_MAX 160
#define DOC_TEXT_MAX (15u << 20) /* below ingest's 16 MiB of text per document */
#define TITLE_SNIPPET 100        /* bytes of a thread parent's text in the title */
#define ENTITY_MAX 2048          /* bytes of one <...> markup */

typedef struct item {
    char ts[SLACK_TS_LEN + 1];
    json_t *rec; /* owned reference */
} item;

typedef struct items {
    item *v;
    size_t n, cap;
    int day; /* collecting a day: keep top-level messages without replies */
    lore_status st;
} items;

static void items_free(items *it) {
    for (size_t i = 0; i < it->n; i++)
        json_decref(it->v[i].rec);
    free(it->v);
}

static lore_status items_push(items *it, const char *ts, const json_t *rec) {
    if (it->n == it->cap) {
        size_t cap = it->cap ? it->cap * 2 : 64;
        item *v = realloc(it->v, cap * sizeof *v);
        if (!v) return LORE_NOMEM;
        it->v = v, it->cap = cap;
    }
    memcpy(it->v[it->n].ts, ts, SLACK_TS_LEN + 1);
    it->v[it->n++].rec = json_incref((json_t *)rec);
    return LORE_OK;
}

static int collect(void *ctx, const char *key, const json_t *rec) {
    items *it = ctx;
    size_t n = strlen(key);
    if (n < SLACK_TS_LEN) return 0;
    const char *ts = key + n - SLACK_TS_LEN;
    if (!slack_ts_valid(ts) || !json_is_object(rec)) return 0;
    if (it->day && (json_object_get(rec, "p") || json_is_true(json_object_get(rec, "x")) ||
                    json_is_true(json_object_get(rec, "h"))))
        return 0;
    it->st = items_push(it, ts, rec);
    return it->st != LORE_OK;
}

/* ---- names ---- */

typedef struct rctx {
    connector_sink *s;
    json_t *names; /* "u:ID" / "c:ID" -> name, so each is read once per render */
    lore_status st;
} rctx;

/* The recorded name of a user ('u') or channel ('c'), else the id. */
static const char *name_of(rctx *r, char kind, const char *id) {
    char ck[KEY_MAX];
    snprintf(ck, sizeof ck, "%c:%s", kind, id);
    const char *v = json_string_value(json_object_get(r->names, ck));
    if (v) return v;
    char k[KEY_MAX];
    snprintf(k, sizeof k, "%c/%s", kind, id);
    json_t *rec = NULL;
    lore_status st = connector_state_get(r->s, k, &rec);
    if (st != LORE_OK && st != LORE_NOT_FOUND) r->st = st;
    const char *n = slack_str(rec, "n");
    json_object_set_new(r->names, ck, json_string(n && *n ? n : id));
    json_decref(rec);
    v = json_string_value(json_object_get(r->names, ck));
    return v ? v : id;
}

/* ---- text ---- */

/* Appends s[0, n) without control bytes other than newline and tab. */
static lore_status put_clean(lore_buf *b, const char *s, size_t n, int oneline) {
    lore_status st = LORE_OK;
    for (size_t i = 0; st == LORE_OK && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n' && oneline) c = ' ';
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) continue;
        st = lore_buf_append_byte(b, c);
    }
    return st;
}

static lore_status put_str(lore_buf *b, const char *s, int oneline) {
    return put_clean(b, s, strlen(s), oneline);
}

/* One <...> markup (inner bytes e[0, n)). */
static lore_status put_entity(rctx *r, lore_buf *b, const char *e, size_t n) {
    const char *bar = memchr(e, '|', n);
    size_t idlen = bar ? (size_t)(bar - e) : n;
    const char *label = bar ? bar + 1 : NULL;
    size_t llen = bar ? n - idlen - 1 : 0;
    char id[SLACK_ID_MAX + 1];
    lore_status st;
    if ((e[0] == '@' || e[0] == '#') && idlen >= 2 && idlen - 1 <= SLACK_ID_MAX) {
        memcpy(id, e + 1, idlen - 1);
        id[idlen - 1] = 0;
        st = lore_buf_append_byte(b, (uint8_t)e[0]);
        if (st != LORE_OK) return st;
        if (e[0] == '#' && llen) return put_clean(b, label, llen, 1);
        if (slack_id_valid(id)) return put_str(b, name_of(r, e[0] == '@' ? 'u' : 'c', id), 1);
        return put_clean(b, e + 1, idlen - 1, 1);
    }
    if (e[0] == '!') {
        if (llen) return put_clean(b, label, llen, 1);
        const char *caret = memchr(e, '^', idlen);
        st = lore_buf_append_byte(b, '@');
        return st == LORE_OK ? put_clean(b, e + 1, (caret ? (size_t)(caret - e) : idlen) - 1, 1)
                             : st;
    }
    if (!llen) return put_clean(b, e, idlen, 1);
    st = put_clean(b, label, llen, 1);
    if (st == LORE_OK) st = lore_buf_append_str(b, " (");
    if (st == LORE_OK) st = put_clean(b, e, idlen, 1);
    if (st == LORE_OK) st = lore_buf_append_byte(b, ')');
    return st;
}

/* A message's text with Slack's markup resolved. */
static lore_status put_text(rctx *r, lore_buf *b, const char *t, int oneline) {
    static const struct {
        const char *from, *to;
    } ent[] = {{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}};
    lore_status st = LORE_OK;
    const char *p = t;
    while (st == LORE_OK && *p) {
        if (*p == '<') {
            size_t n = strcspn(p + 1, "<>\n");
            if (p[1 + n] == '>' && n && n <= ENTITY_MAX) {
                st = put_entity(r, b, p + 1, n);
                p += n + 2;
                continue;
            }
        }
        if (*p == '&') {
            size_t k = 0;
            while (k < 3 && strncmp(p, ent[k].from, strlen(ent[k].from)))
                k++;
            if (k < 3) {
                st = lore_buf_append_str(b, ent[k].to);
                p += strlen(ent[k].from);
                continue;
            }
        }
        size_t n = strcspn(p, "<&");
        if (!n) n = 1;
        st = put_clean(b, p, n, oneline);
        p += n;
    }
    return st;
}

/* ---- documents ---- */

static const char *author_of(rctx *r, const json_t *rec) {
    const char *u = slack_str(rec, "u");
    if (u && slack_id_valid(u)) return name_of(r, 'u', u);
    const char *bot = slack_str(rec, "b");
    return bot ? bot : "unknown";
}

static void permalink(char *out, size_t n, const char *c, const char *ts, const char *thread) {
    if (thread && strcmp(thread, ts))
        snprintf(out, n, "https://slack.com/archives/%s/p%.10s%.6s?thread_ts=%s&cid=%s", c, ts,
                 ts + 11, thread, c);
    else
        snprintf(out, n, "https://slack.com/archives/%s/p%.10s%.6s", c, ts, ts + 11);
}

static lore_status put_message(rctx *r, lore_buf *b, const char *c, const item *m,
                               const char *thread) {
    char link[KEY_MAX + 64], when[32];
    permalink(link, sizeof link, c, m->ts, thread);
    time_t t = (time_t)(slack_ts_ms(m->ts) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
    const char *rank = slack_str(m->rec, "r");
    lore_status st = put_str(b, author_of(r, m->rec), 1);
    if (st == LORE_OK)
        st = lore_buf_printf(b, ", %s UTC%s: %s\n", when,
                             rank && strcmp(rank, m->ts) > 0 ? " (edited)" : "", link);
    const char *text = slack_str(m->rec, "t");
    if (st == LORE_OK && text && *text) st = put_text(r, b, text, 0);
    if (st == LORE_OK && text && *text) st = lore_buf_append_byte(b, '\n');
    const json_t *files = json_object_get(m->rec, "f");
    for (size_t i = 0; st == LORE_OK && i < json_array_size(files); i++) {
        const char *f = json_string_value(json_array_get(files, i));
        if (!f) continue;
        st = lore_buf_append_str(b, "[file: ");
        if (st == LORE_OK) st = put_str(b, f, 1);
        if (st == LORE_OK) st = lore_buf_append_str(b, "]\n");
    }
    if (st == LORE_OK) st = lore_buf_append_byte(b, '\n');
    return st;
}

/* The title of a thread: "#channel: " and the start of its parent's text. */
static lore_status thread_title(rctx *r, lore_buf *title, const item *parent, const char *date) {
    lore_buf snip;
    lore_buf_init(&snip, 64 << 10);
    const char *text = parent ? slack_str(parent->rec, "t") : NULL;
    lore_status st = text ? put_text(r, &snip, text, 1) : LORE_OK;
    if (st == LORE_OK && snip.len) {
        size_t n = snip.len;
        if (n > TITLE_SNIPPET) {
            n = TITLE_SNIPPET;
            while (n && ((unsigned char)snip.data[n] & 0xc0) == 0x80)
                n--;
        }
        st = lore_buf_append_str(title, ": ");
        if (st == LORE_OK) st = lore_buf_append(title, snip.data, n);
        if (st == LORE_OK && n < snip.len) st = lore_buf_append_str(title, "...");
    } else if (st == LORE_OK) {
        st = lore_buf_printf(title, " thread, %s", date);
    }
    lore_buf_free(&snip);
    return st;
}

typedef struct doc_spec {
    const char *channel, *date, *thread; /* thread NULL: a day document */
    const json_t *ch;                    /* the channel's state or NULL */
    const item *parent;                  /* threads: the parent, if any */
    const items *msgs;                   /* the day's messages or the replies */
} doc_spec;

static lore_status put_doc(connector_sink *s, const doc_spec *d, const char *ext) {
    rctx r = {s, json_object(), LORE_OK};
    lore_buf text, title;
    lore_buf_init(&text, DOC_TEXT_MAX);
    lore_buf_init(&title, INGEST_MAX_TITLE);
    json_t *meta = NULL;
    char *meta_text = NULL;
    lore_status st = r.names ? LORE_OK : LORE_NOMEM;
    const char *cname = slack_str(d->ch, "n");
    int priv = json_is_true(json_object_get(d->ch, "p"));
    if (st == LORE_OK) st = lore_buf_append_byte(&title, '#');
    if (st == LORE_OK) st = put_str(&title, cname ? cname : d->channel, 1);
    if (st == LORE_OK)
        st = d->thread ? thread_title(&r, &title, d->parent, d->date)
                       : lore_buf_printf(&title, ", %s", d->date);
    size_t total = d->msgs->n + (d->parent ? 1 : 0);
    int64_t created = 0, updated = 0;
    const item *first = d->parent ? d->parent : &d->msgs->v[0];
    for (size_t i = 0; st == LORE_OK && i < total; i++) {
        const item *m = d->parent ? (i ? &d->msgs->v[i - 1] : d->parent) : &d->msgs->v[i];
        size_t mark = text.len;
        st = put_message(&r, &text, d->channel, m, d->thread);
        if (st == LORE_TOO_LARGE) { /* the cap: the rest is named, not shown */
            text.len = mark;
            text.data[mark] = 0;
            st = lore_buf_printf(&text,
                                 "(%zu more messages not shown: the document is at its "
                                 "size limit)\n",
                                 total - i);
            break;
        }
        int64_t c = slack_ts_ms(m->ts), u = c;
        const char *rank = slack_str(m->rec, "r");
        if (slack_ts_valid(rank) && slack_ts_ms(rank) > u) u = slack_ts_ms(rank);
        if (!created || c < created) created = c;
        if (u > updated) updated = u;
    }
    if (st == LORE_OK) {
        meta = json_pack("{s:{s:s,s:b,s:s}}", "slack", "channel", d->channel, "private", priv,
                         "date", d->date);
        json_t *sl = json_object_get(meta, "slack");
        if (!sl) st = LORE_NOMEM;
        if (st == LORE_OK && cname) json_object_set_new(sl, "channel_name", json_string(cname));
        if (st == LORE_OK && d->thread)
            json_object_set_new(sl, "thread_ts", json_string(d->thread));
        meta_text = meta ? json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        if (!meta_text) st = LORE_NOMEM;
    }
    char url[KEY_MAX + 64], acl_entry[KEY_MAX];
    const char *acl[1] = {acl_entry};
    snprintf(acl_entry, sizeof acl_entry, "group:slack:%s", d->channel);
    permalink(url, sizeof url, d->channel, first->ts, NULL);
    const char *author = st == LORE_OK ? author_of(&r, first->rec) : "";
    if (st == LORE_OK) st = r.st;
    if (st == LORE_OK) {
        ingest_record rec = {
            .external_id = ext,
            .title = title.data,
            .url = url,
            .author = author,
            .created_ms = created,
            .updated_ms = updated,
            .metadata_json = meta_text,
            .acl = priv ? acl : NULL,
            .nacl = priv ? 1 : 0,
            .format = PARSE_FMT_TEXT,
            .text = text.data ? text.data : "",
            .text_len = text.len,
        };
        st = connector_put(s, &rec);
    }
    free(meta_text);
    json_decref(meta);
    json_decref(r.names);
    lore_buf_free(&text);
    lore_buf_free(&title);
    return st;
}

static lore_status render_doc(connector_sink *s, const char *c, const char *rest) {
    char ext[KEY_MAX], k[KEY_MAX], date[SLACK_DATE_LEN + 1];
    int thread = slack_ts_valid(rest);
    if (!thread && strlen(rest) != SLACK_DATE_LEN) return LORE_OK; /* not one of ours */
    if (thread) {
        snprintf(ext, sizeof ext, "%s/%s", c, rest);
        slack_ts_date(rest, date);
    } else {
        snprintf(ext, sizeof ext, "%s/day/%s", c, rest);
        memcpy(date, rest, SLACK_DATE_LEN + 1);
    }
    json_t *ch = NULL, *prec = NULL;
    snprintf(k, sizeof k, "c/%s", c);
    lore_status st = connector_state_get(s, k, &ch);
    if (st == LORE_NOT_FOUND) st = LORE_OK;
    if (st != LORE_OK) return st;
    items it = {NULL, 0, 0, !thread, LORE_OK};
    item parent = {{0}, NULL};
    if (!json_is_true(json_object_get(ch, "x"))) {
        if (thread)
            snprintf(k, sizeof k, "r/%s/%s/", c, rest);
        else
            snprintf(k, sizeof k, "m/%s/%s/", c, rest);
        st = connector_state_scan(s, k, collect, &it);
        if (st == LORE_OK) st = it.st;
    }
    if (st == LORE_OK && thread && it.n) {
        char d2[SLACK_DATE_LEN + 1];
        slack_ts_date(rest, d2);
        snprintf(k, sizeof k, "m/%s/%s/%s", c, d2, rest);
        st = connector_state_get(s, k, &prec);
        if (st == LORE_NOT_FOUND) st = LORE_OK;
        if (prec && !json_object_get(prec, "p") && !json_is_true(json_object_get(prec, "x"))) {
            memcpy(parent.ts, rest, SLACK_TS_LEN + 1);
            parent.rec = prec;
        }
    }
    if (st == LORE_OK) {
        if (!it.n) {
            st = connector_remove(s, ext);
        } else {
            doc_spec d = {c, date, thread ? rest : NULL, ch, parent.rec ? &parent : NULL, &it};
            st = put_doc(s, &d, ext);
        }
    }
    items_free(&it);
    json_decref(prec);
    json_decref(ch);
    return st;
}

lore_status slack_render(connector_sink *s, const char *key) {
    /* "d/{C}/{date}" or "t/{C}/{ts}" */
    if ((key[0] != 'd' && key[0] != 't') || key[1] != '/') return LORE_OK;
    const char *slash = strchr(key + 2, '/');
    if (!slash) return LORE_OK;
    size_t clen = (size_t)(slash - key - 2);
    char c[SLACK_ID_MAX + 1];
    if (!clen || clen > SLACK_ID_MAX) return LORE_OK;
    memcpy(c, key + 2, clen);
    c[clen] = 0;
    if (!slack_id_valid(c)) return LORE_OK;
    return render_doc(s, c, slash + 1);
}
