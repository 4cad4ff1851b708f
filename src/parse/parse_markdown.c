/* Markdown (CommonMark + GitHub extensions, via cmark-gfm) -> blocks.
 *
 * Top-level blocks map one to one: headings become HEADING blocks (the
 * chunker builds section paths from them), fenced and indented code becomes
 * one CODE block with its literal text, paragraphs become PARAGRAPH blocks,
 * and a whole list, table or blockquote becomes one LIST, TABLE or QUOTE
 * block. Inside those containers everything is flattened to lines: a list
 * item is "- text" or "3. text" indented two spaces per nesting level, a
 * table row is its cells joined by " | ", and nested paragraphs start new
 * lines. Inline markup is stripped to its text: link and image text and
 * inline code stay, raw HTML goes, a soft line break becomes a space. Raw
 * HTML blocks keep their text with the tags removed (comments, scripts and
 * styles dropped).
 *
 * Front matter: when the input starts with a "---" line and a later line is
 * "---" or "...", the lines between are read as simple YAML: "key: value"
 * (quotes around the value removed), "key: [a, b]" and "key:" followed by
 * "- item" lines as lists. title, author, url, date/created and updated set
 * the document's fields (dates only when they are ISO 8601); every other key
 * goes into metadata_json as a string or an array of strings. Anything else
 * (nested maps, comments) is ignored. The title is the front matter's, else
 * the first heading's text, else the file name.
 *
 * The AST is walked with cmark's iterator, never recursively, so deeply
 * nested input cannot exhaust the stack. Input over cmark-gfm's budget
 * (parse_md_over_budget: too deep, or too many nodes) is read as plain
 * text instead, front matter still applied, with a note saying why. */
#include "parse/parse_int.h"
#include "util/timeutil.h"

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pthread_once_t ext_once = PTHREAD_ONCE_INIT;

/* Registering the core extensions writes a global registry; once only. */
static void register_extensions(void) {
    cmark_gfm_core_extensions_ensure_registered();
}

/* ---- front matter -------------------------------------------------------- */

typedef struct front_matter {
    json_t *meta; /* keys not mapped to fields */
    char *title, *author, *url;
    int64_t created_ms, updated_ms;
} front_matter;

static const char *fm_trim(const char *s, size_t *n) {
    while (*n && (s[0] == ' ' || s[0] == '\t'))
        s++, (*n)--;
    while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t' || s[*n - 1] == '\r'))
        (*n)--;
    return s;
}

static const char *fm_unquote(const char *s, size_t *n) {
    s = fm_trim(s, n);
    if (*n >= 2 && ((s[0] == '"' && s[*n - 1] == '"') || (s[0] == '\'' && s[*n - 1] == '\''))) {
        s++;
        *n -= 2;
    }
    return s;
}

static json_t *fm_string(const char *s, size_t n) {
    char *c = parse_utf8_repair(s, n, &n);
    if (!c) return NULL;
    json_t *v = json_stringn(c, n);
    free(c);
    return v;
}

/* Sets key to value (a string) on fm: a mapped field or metadata. Returns -1
 * when out of memory. */
static int fm_set(front_matter *fm, const char *key, const char *v, size_t n) {
    char **field = NULL;
    if (strcmp(key, "title") == 0)
        field = &fm->title;
    else if (strcmp(key, "author") == 0)
        field = &fm->author;
    else if (strcmp(key, "url") == 0)
        field = &fm->url;
    if (field) {
        free(*field);
        *field = parse_strdup_clean(v, n);
        return n && !*field ? -1 : 0;
    }
    if ((strcmp(key, "date") == 0 || strcmp(key, "created") == 0) &&
        lore_parse_iso8601n(v, n, &fm->created_ms) == 0)
        return 0;
    if (strcmp(key, "updated") == 0 && lore_parse_iso8601n(v, n, &fm->updated_ms) == 0) return 0;
    json_t *s = fm_string(v, n);
    return s && json_object_set_new(fm->meta, key, s) == 0 ? 0 : -1;
}

/* "[a, b, 'c']" -> array of strings. */
static json_t *fm_flow_list(const char *s, size_t n) {
    json_t *arr = json_array();
    if (!arr) return NULL;
    s++, n -= 2; /* brackets */
    while (n) {
        const char *comma = memchr(s, ',', n);
        size_t k = comma ? (size_t)(comma - s) : n;
        size_t ik = k;
        const char *item = fm_unquote(s, &ik);
        if (ik) {
            json_t *e = fm_string(item, ik);
            if (!e || json_array_append_new(arr, e)) {
                json_decref(arr);
                return NULL;
            }
        }
        if (!comma) break;
        s += k + 1, n -= k + 1;
    }
    return arr;
}

/* Reads the lines of front matter s[0, n). Returns -1 when out of memory. */
static int fm_parse(front_matter *fm, const char *s, size_t n) {
    const char *end = s + n, *p = s;
    char list_key[128] = ""; /* key of a block list being read ("tags:" then "- a") */
    json_t *list = NULL;
    int rc = 0;
    while (p < end && rc == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = (size_t)((nl ? nl : end) - p);
        const char *line = p;
        p = nl ? nl + 1 : end;
        size_t tl = ll;
        const char *t = fm_trim(line, &tl);
        if (list && tl >= 1 && t[0] == '-' && (tl == 1 || t[1] == ' ')) {
            size_t il = tl - 1;
            const char *item = fm_unquote(t + 1, &il);
            json_t *e = fm_string(item, il);
            if (!e || json_array_append_new(list, e)) rc = -1;
            continue;
        }
        if (list) {
            if (json_array_size(list) && json_object_set(fm->meta, list_key, list)) rc = -1;
            json_decref(list);
            list = NULL;
        }
        if (!tl || t[0] == '#' || line[0] == ' ' || line[0] == '\t') continue;
        const char *colon = memchr(line, ':', ll);
        if (!colon) continue;
        size_t kl = (size_t)(colon - line);
        const char *key = fm_trim(line, &kl);
        if (!kl || kl >= sizeof list_key) continue;
        int ok = 1;
        for (size_t i = 0; i < kl; i++) {
            unsigned char c = (unsigned char)key[i];
            if (!(c == '_' || c == '-' || c == '.' || (c >= '0' && c <= '9') ||
                  ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')))
                ok = 0;
        }
        if (!ok) continue;
        char k[128];
        memcpy(k, key, kl);
        k[kl] = '\0';
        /* The value runs from after the colon to the end of the line (the key
         * was trimmed, so its length says nothing about where the colon is). */
        size_t vl = (size_t)(line + ll - (colon + 1));
        const char *v = fm_trim(colon + 1, &vl);
        if (vl == 0) {
            /* maybe a block list follows */
            memcpy(list_key, k, kl + 1);
            if (!(list = json_array())) rc = -1;
        } else if (v[0] == '[' && v[vl - 1] == ']') {
            json_t *arr = fm_flow_list(v, vl);
            if (!arr || json_object_set_new(fm->meta, k, arr)) rc = -1;
        } else {
            v = fm_unquote(v, &vl);
            if (fm_set(fm, k, v, vl)) rc = -1;
        }
    }
    if (list) {
        if (rc == 0 && json_array_size(list) && json_object_set(fm->meta, list_key, list)) rc = -1;
        json_decref(list);
    }
    return rc;
}

/* Length of the front matter block at the start of s (including both
 * fences), or 0 when there is none; *body and *body_len receive its inside. */
static size_t fm_find(const char *s, size_t n, const char **body, size_t *body_len) {
    size_t first;
    if (n >= 4 && memcmp(s, "---\n", 4) == 0)
        first = 4;
    else if (n >= 5 && memcmp(s, "---\r\n", 5) == 0)
        first = 5;
    else
        return 0;
    const char *p = s + first, *end = s + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t ll = (size_t)(le - p);
        if (ll && p[ll - 1] == '\r') ll--;
        if ((ll == 3 && (memcmp(p, "---", 3) == 0 || memcmp(p, "...", 3) == 0))) {
            *body = s + first;
            *body_len = (size_t)(p - (s + first));
            return (size_t)((nl ? nl + 1 : end) - s);
        }
        p = nl ? nl + 1 : end;
    }
    return 0;
}

/* ---- AST walk ------------------------------------------------------------ */

typedef struct list_state {
    int ordered, next;
} list_state;

typedef struct md_walk {
    parse_builder *b;
    lore_buf cur;     /* text of the block being built */
    int in_container; /* depth of list/table/quote at top level */
    parse_block_kind container_kind;
    list_state *lists; /* open lists, innermost last */
    size_t nlists, caplists;
    int line_has_text; /* the current line of cur has content after its prefix */
    int cells_in_row;
    char *first_heading;
    lore_status st;
} md_walk;

static void w_append(md_walk *w, const char *s, size_t n) {
    if (w->st != LORE_OK || !n) return;
    w->st = lore_buf_append(&w->cur, s, n);
    w->line_has_text = 1;
}

/* Starts a new line in a container block (when the current one has text). */
static void w_newline(md_walk *w) {
    if (w->st != LORE_OK || !w->cur.len) return;
    if (w->cur.data[w->cur.len - 1] != '\n') w->st = lore_buf_append_byte(&w->cur, '\n');
    w->line_has_text = 0;
}

static void w_flush(md_walk *w, parse_block_kind kind, int level) {
    if (w->st != LORE_OK) return;
    if (kind == PARSE_BLOCK_HEADING && !w->first_heading && w->cur.len) {
        w->first_heading = parse_strdup_clean(w->cur.data, w->cur.len);
        if (!w->first_heading) w->st = LORE_NOMEM;
    }
    if (w->st == LORE_OK && w->cur.len)
        w->st = pb_add_block(w->b, kind, (uint8_t)level, w->cur.data, w->cur.len);
    lore_buf_reset(&w->cur);
    w->line_has_text = 0;
}

static int node_is(cmark_node *n, const char *type) {
    const char *t = cmark_node_get_type_string(n);
    return t && strcmp(t, type) == 0;
}

/* Appends html with tags removed; comments, script and style content are
 * dropped. Good enough for the odd <div> or <details> in Markdown. */
static void w_append_stripped_html(md_walk *w, const char *s, size_t n) {
    size_t i = 0;
    while (i < n && w->st == LORE_OK) {
        if (s[i] == '<') {
            const char *skip_to = NULL;
            if (n - i >= 4 && memcmp(s + i, "<!--", 4) == 0)
                skip_to = "-->";
            else if (n - i >= 7 && strncasecmp(s + i, "<script", 7) == 0)
                skip_to = "</script>";
            else if (n - i >= 6 && strncasecmp(s + i, "<style", 6) == 0)
                skip_to = "</style>";
            if (skip_to) {
                const char *e = memmem(s + i, n - i, skip_to, strlen(skip_to));
                if (!e) return;
                i = (size_t)(e - s) + strlen(skip_to);
                continue;
            }
            const char *gt = memchr(s + i, '>', n - i);
            if (!gt) return;
            i = (size_t)(gt - s) + 1;
            if (w->cur.len && w->cur.data[w->cur.len - 1] != ' ') w_append(w, " ", 1);
            continue;
        }
        const char *lt = memchr(s + i, '<', n - i);
        size_t k = lt ? (size_t)(lt - (s + i)) : n - i;
        w_append(w, s + i, k);
        i += k;
    }
}

static void w_enter(md_walk *w, cmark_node *n) {
    cmark_node_type t = cmark_node_get_type(n);
    int top = cmark_node_get_type(cmark_node_parent(n)) == CMARK_NODE_DOCUMENT;
    switch (t) {
    case CMARK_NODE_LIST: {
        if (top) {
            w->in_container++;
            w->container_kind = PARSE_BLOCK_LIST;
        }
        if (w->nlists == w->caplists) {
            size_t nc = w->caplists ? w->caplists * 2 : 8;
            list_state *nl = realloc(w->lists, nc * sizeof *nl);
            if (!nl) {
                w->st = LORE_NOMEM;
                return;
            }
            w->lists = nl, w->caplists = nc;
        }
        list_state *ls = &w->lists[w->nlists++];
        ls->ordered = cmark_node_get_list_type(n) == CMARK_ORDERED_LIST;
        ls->next = cmark_node_get_list_start(n);
        return;
    }
    case CMARK_NODE_ITEM: {
        w_newline(w);
        size_t depth = w->nlists ? w->nlists - 1 : 0;
        for (size_t i = 0; i < depth && i < 16; i++)
            w_append(w, "  ", 2);
        if (w->nlists && w->lists[w->nlists - 1].ordered) {
            char num[24];
            int k = snprintf(num, sizeof num, "%d. ", w->lists[w->nlists - 1].next);
            if (w->lists[w->nlists - 1].next < 1000000000) w->lists[w->nlists - 1].next++;
            w_append(w, num, (size_t)k);
        } else {
            w_append(w, "- ", 2);
        }
        w->line_has_text = 0;
        return;
    }
    case CMARK_NODE_BLOCK_QUOTE:
        if (top) {
            w->in_container++;
            w->container_kind = PARSE_BLOCK_QUOTE;
        } else if (w->line_has_text) {
            w_newline(w);
        }
        return;
    case CMARK_NODE_HEADING:
    case CMARK_NODE_PARAGRAPH:
    case CMARK_NODE_FOOTNOTE_DEFINITION:
        if (w->in_container && w->line_has_text) w_newline(w);
        return;
    case CMARK_NODE_CODE_BLOCK:
    case CMARK_NODE_HTML_BLOCK: {
        const char *lit = cmark_node_get_literal(n);
        size_t ll = lit ? strlen(lit) : 0;
        if (w->in_container && w->line_has_text) w_newline(w);
        if (t == CMARK_NODE_CODE_BLOCK)
            w_append(w, lit, ll);
        else
            w_append_stripped_html(w, lit, ll);
        if (top && w->st == LORE_OK)
            w_flush(w, t == CMARK_NODE_CODE_BLOCK ? PARSE_BLOCK_CODE : PARSE_BLOCK_PARAGRAPH, 0);
        return;
    }
    case CMARK_NODE_TEXT:
    case CMARK_NODE_CODE: {
        const char *lit = cmark_node_get_literal(n);
        if (lit) w_append(w, lit, strlen(lit));
        return;
    }
    case CMARK_NODE_SOFTBREAK:
        w_append(w, " ", 1);
        return;
    case CMARK_NODE_LINEBREAK:
        if (w->st == LORE_OK) w->st = lore_buf_append_byte(&w->cur, '\n');
        return;
    default:
        break;
    }
    if (node_is(n, "table")) {
        if (top) {
            w->in_container++;
            w->container_kind = PARSE_BLOCK_TABLE;
        }
        w_newline(w);
    } else if (node_is(n, "table_row")) {
        w_newline(w);
        w->cells_in_row = 0;
    } else if (node_is(n, "table_cell")) {
        if (w->cells_in_row++) w_append(w, " | ", 3);
    }
}

static void w_exit(md_walk *w, cmark_node *n) {
    cmark_node_type t = cmark_node_get_type(n);
    int top = cmark_node_get_type(cmark_node_parent(n)) == CMARK_NODE_DOCUMENT;
    if (t == CMARK_NODE_LIST && w->nlists) w->nlists--;
    if (!top) return;
    switch (t) {
    case CMARK_NODE_HEADING:
        w_flush(w, PARSE_BLOCK_HEADING, cmark_node_get_heading_level(n));
        break;
    case CMARK_NODE_PARAGRAPH:
    case CMARK_NODE_FOOTNOTE_DEFINITION:
        w_flush(w, PARSE_BLOCK_PARAGRAPH, 0);
        break;
    case CMARK_NODE_LIST:
    case CMARK_NODE_BLOCK_QUOTE:
        w->in_container = 0;
        w_flush(w, w->container_kind, 0);
        break;
    default:
        if (node_is(n, "table")) {
            w->in_container = 0;
            w_flush(w, PARSE_BLOCK_TABLE, 0);
        }
        break;
    }
}

lore_status parse_markdown(const char *name, const uint8_t *data, size_t len,
                           const parse_limits *lim, parse_result **out, char *err, size_t errlen) {
    *out = NULL;
    parse_limits tmp;
    lim = parse_limits_or_default(lim, &tmp);
    lore_status st = parse_check_input(len, lim, err, errlen);
    if (st != LORE_OK) return st;
    pthread_once(&ext_once, register_extensions);

    size_t bom = parse_bom_len(data, len);
    const char *s = (const char *)data + bom;
    len -= bom;
    front_matter fm = {0};
    parse_builder b;
    pb_init(&b, lim->max_text);
    md_walk w = {.b = &b, .st = LORE_OK};
    lore_buf_init(&w.cur, lim->max_text);
    cmark_parser *parser = NULL;
    cmark_node *doc = NULL;
    cmark_iter *it = NULL;
    parse_result *r = NULL;
    char note[320] = "";

    const char *fm_body;
    size_t fm_len;
    size_t skip = fm_find(s, len, &fm_body, &fm_len);
    if (skip) {
        if (!(fm.meta = json_object()) || fm_parse(&fm, fm_body, fm_len)) goto nomem;
        s += skip, len -= skip;
    }

    char why[256];
    if (parse_md_over_budget(s, len, why, sizeof why)) {
        /* cmark-gfm would take too long or too much memory: plain text */
        st = pb_add_paragraphs(&b, s, len);
        if (st != LORE_OK) {
            parse_builder_error(st, lim, "", err, errlen);
            goto out;
        }
        snprintf(note, sizeof note, "read as plain text, not Markdown: %s", why);
        goto finish;
    }
    parser = cmark_parser_new(CMARK_OPT_VALIDATE_UTF8);
    if (!parser) goto nomem;
    static const char *const exts[] = {"table", "strikethrough", "autolink", "tasklist"};
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        cmark_syntax_extension *e = cmark_find_syntax_extension(exts[i]);
        if (e) cmark_parser_attach_syntax_extension(parser, e);
    }
    cmark_parser_feed(parser, s, len);
    doc = cmark_parser_finish(parser);
    if (!doc) goto nomem;
    it = cmark_iter_new(doc);
    if (!it) goto nomem;
    cmark_event_type ev;
    while (w.st == LORE_OK && (ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
        cmark_node *n = cmark_iter_get_node(it);
        if (n == doc) continue;
        if (ev == CMARK_EVENT_ENTER)
            w_enter(&w, n);
        else if (ev == CMARK_EVENT_EXIT)
            w_exit(&w, n);
    }
    if (w.st == LORE_OK) w_flush(&w, PARSE_BLOCK_PARAGRAPH, 0); /* defensive: nothing left */
    if (w.st != LORE_OK) {
        st = w.st;
        parse_builder_error(st, lim, "", err, errlen);
        goto out;
    }
finish:
    if ((st = pb_finish_result(&b, lim, &r, err, errlen)) != LORE_OK) goto out;
    if (note[0] && !(r->note = strdup(note))) goto nomem;
    parse_doc *d = &r->docs[0];
    if (fm.title)
        d->title = fm.title, fm.title = NULL;
    else if (w.first_heading)
        d->title = w.first_heading, w.first_heading = NULL;
    else
        d->title = parse_title_from_name(name);
    d->author = fm.author, fm.author = NULL;
    d->url = fm.url, fm.url = NULL;
    d->created_ms = fm.created_ms;
    d->updated_ms = fm.updated_ms;
    if (fm.meta && json_object_size(fm.meta) &&
        !(d->metadata_json = json_dumps(fm.meta, JSON_COMPACT | JSON_PRESERVE_ORDER)))
        goto nomem;
    goto out;
nomem:
    st = LORE_NOMEM;
    parse_set_error(err, errlen, "out of memory");
out: /* on failure the partial result is freed; parser state always is */
    if (it) cmark_iter_free(it);
    if (doc) cmark_node_free(doc);
    if (parser) cmark_parser_free(parser);
    json_decref(fm.meta);
    free(fm.title), free(fm.author), free(fm.url);
    free(w.first_heading);
    free(w.lists);
    lore_buf_free(&w.cur);
    pb_free(&b);
    if (st == LORE_OK)
        *out = r;
    else
        parse_result_free(r);
    return st;
}
