/* HTML (libxml2's forgiving HTML parser) -> blocks.
 *
 * The page's boilerplate is dropped: script, style, noscript, template, svg,
 * canvas, iframe, object, nav, aside, form, button, select, the head, any
 * element with the hidden attribute, aria-hidden="true" or role navigation,
 * banner, contentinfo, search or complementary, and header and footer unless
 * they sit inside an article, main or section (there they usually hold the
 * article's own heading). When the page has a <main> (or role="main") only
 * it is read; otherwise a page with exactly one <article> reads only that.
 *
 * h1-h6 become HEADING blocks, pre becomes CODE (whitespace kept), and p,
 * div, li, blockquote and the other block elements end a block. A whole
 * table, list (ul, ol, dl) or blockquote is one TABLE, LIST or QUOTE block
 * whose lines are table rows (cells joined by " | "), list items ("- x",
 * "1. x", indented two spaces per nesting level) or nested paragraphs;
 * headings and pre inside them still stand alone. Whitespace outside pre is
 * collapsed, and non-breaking spaces count as spaces. Entities are decoded
 * by libxml2. Nothing is ever fetched (HTML_PARSE_NONET, no URL).
 *
 * Title: <title>, else the first h1, else the file name. Metadata:
 * description and keywords from <meta name=...>, lang from <html lang>;
 * <meta name="author"> is the author, <link rel="canonical"> the url, and
 * article:published_time / article:modified_time meta properties the dates.
 *
 * The tree is walked iteratively (parent/next pointers), never recursively,
 * so deeply nested input cannot exhaust the stack. Input over libxml2's
 * budget (parse_html_over_budget: too many elements, attributes and text
 * runs, or a tag with too many attributes) is read as text with its tags
 * removed instead, with a note saying why. */
#include "parse/parse_int.h"
#include "util/timeutil.h"

#include <jansson.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void init_libxml(void) {
    xmlInitParser();
}

static int name_is(const xmlNode *n, const char *name) {
    return n->type == XML_ELEMENT_NODE && n->name && strcmp((const char *)n->name, name) == 0;
}

static int name_in(const xmlNode *n, const char *const *names) {
    if (n->type != XML_ELEMENT_NODE || !n->name) return 0;
    for (; *names; names++)
        if (strcmp((const char *)n->name, *names) == 0) return 1;
    return 0;
}

/* Attribute value compared case-insensitively. */
static int attr_is(xmlNode *n, const char *attr, const char *value) {
    xmlChar *v = xmlGetProp(n, (const xmlChar *)attr);
    int eq = v && strcasecmp((const char *)v, value) == 0;
    xmlFree(v);
    return eq;
}

static int heading_level(const xmlNode *n) {
    if (n->type != XML_ELEMENT_NODE || !n->name) return 0;
    const char *s = (const char *)n->name;
    return s[0] == 'h' && s[1] >= '1' && s[1] <= '6' && s[2] == '\0' ? s[1] - '0' : 0;
}

static const char *const always_skipped[] = {"script", "style",  "noscript", "template", "svg",
                                             "math",   "canvas", "iframe",   "object",   "embed",
                                             "nav",    "aside",  "form",     "button",   "select",
                                             "head",   "title",  "datalist", NULL};
static const char *const blocks[] = {
    "p",       "div",        "section",    "article", "main",    "li",   "dt",      "dd",
    "address", "figure",     "figcaption", "details", "summary", "hr",   "center",  "fieldset",
    "legend",  "dialog",     "menu",       "hgroup",  "body",    "html", "caption", "tr",
    "thead",   "tbody",      "tfoot",      "header",  "footer",  "ul",   "ol",      "dl",
    "table",   "blockquote", "pre",        NULL};
static const char *const sections[] = {"article", "main", "section", NULL};

static int is_boilerplate(xmlNode *n, int in_section) {
    if (name_in(n, always_skipped)) return 1;
    if (!in_section && (name_is(n, "header") || name_is(n, "footer"))) return 1;
    if (!n->properties) return 0;
    if (xmlHasProp(n, (const xmlChar *)"hidden")) return 1;
    if (attr_is(n, "aria-hidden", "true")) return 1;
    xmlChar *role = xmlGetProp(n, (const xmlChar *)"role");
    int skip = 0;
    if (role) {
        static const char *const roles[] = {"navigation", "banner", "contentinfo", "search",
                                            "complementary"};
        for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
            if (strcasecmp((const char *)role, roles[i]) == 0) skip = 1;
        xmlFree(role);
    }
    return skip;
}

/* ---- text accumulation --------------------------------------------------- */

typedef struct open_block {
    xmlNode *node;
    parse_block_kind kind;
    uint8_t level;
} open_block;

typedef struct list_state {
    xmlNode *node;
    int ordered, next;
} list_state;

typedef struct html_walk {
    parse_builder *b;
    lore_buf cur;
    int pending_space;
    int line_has_text; /* the current line has text after its list prefix */
    open_block *open;  /* headings, pre and top-level containers, innermost last */
    size_t nopen, capopen;
    list_state *lists;
    size_t nlists, caplists;
    int in_container; /* tables, lists, blockquotes we are inside */
    int in_pre;
    int in_section;
    int cells_in_row;
    char *first_h1;
    lore_status st;
} html_walk;

static int grow(void **arr, size_t *cap, size_t n, size_t elem) {
    if (n < *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, nc * elem);
    if (!p) return -1;
    *arr = p;
    *cap = nc;
    return 0;
}

static void w_raw(html_walk *w, const char *s, size_t n) {
    if (w->st == LORE_OK && n) w->st = lore_buf_append(&w->cur, s, n);
}

static int is_html_ws(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* Appends text with runs of whitespace (and NBSP) collapsed to one space. */
static void w_text(html_walk *w, const char *s, size_t n) {
    if (w->in_pre) {
        w_raw(w, s, n);
        w->line_has_text = 1;
        return;
    }
    size_t i = 0;
    while (i < n && w->st == LORE_OK) {
        unsigned char c = (unsigned char)s[i];
        if (is_html_ws(c) || (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] == 0xa0)) {
            w->pending_space = 1;
            i += c == 0xc2 ? 2 : 1;
            continue;
        }
        size_t j = i;
        while (j < n && !is_html_ws((unsigned char)s[j]) &&
               !((unsigned char)s[j] == 0xc2 && j + 1 < n && (unsigned char)s[j + 1] == 0xa0))
            j++;
        if (w->pending_space && w->cur.len && w->line_has_text) w_raw(w, " ", 1);
        w->pending_space = 0;
        w_raw(w, s + i, j - i);
        w->line_has_text = 1;
        i = j;
    }
}

static void w_newline(html_walk *w) {
    w->pending_space = 0;
    if (w->st != LORE_OK || !w->cur.len) return;
    if (w->cur.data[w->cur.len - 1] != '\n') w->st = lore_buf_append_byte(&w->cur, '\n');
    w->line_has_text = 0;
}

static parse_block_kind top_kind(const html_walk *w, uint8_t *level) {
    *level = w->nopen ? w->open[w->nopen - 1].level : 0;
    return w->nopen ? w->open[w->nopen - 1].kind : PARSE_BLOCK_PARAGRAPH;
}

static void w_flush(html_walk *w) {
    uint8_t level;
    parse_block_kind kind = top_kind(w, &level);
    if (w->st == LORE_OK && kind == PARSE_BLOCK_HEADING && level == 1 && !w->first_h1 &&
        w->cur.len) {
        w->first_h1 = parse_strdup_clean(w->cur.data, w->cur.len);
        if (!w->first_h1) w->st = LORE_NOMEM;
    }
    if (w->st == LORE_OK && w->cur.len)
        w->st = pb_add_block(w->b, kind, level, w->cur.data, w->cur.len);
    lore_buf_reset(&w->cur);
    w->pending_space = 0;
    w->line_has_text = 0;
}

static void w_push(html_walk *w, xmlNode *n, parse_block_kind kind, int level) {
    w_flush(w);
    if (w->st != LORE_OK) return;
    if (grow((void **)&w->open, &w->capopen, w->nopen, sizeof *w->open)) {
        w->st = LORE_NOMEM;
        return;
    }
    w->open[w->nopen++] = (open_block){n, kind, (uint8_t)level};
}

/* Returns 1 when the walk should visit n's children. */
static int w_enter(html_walk *w, xmlNode *n) {
    if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
        if (n->content) w_text(w, (const char *)n->content, strlen((const char *)n->content));
        return 1;
    }
    if (n->type != XML_ELEMENT_NODE)
        return n->type == XML_DOCUMENT_NODE || n->type == XML_HTML_DOCUMENT_NODE;
    if (is_boilerplate(n, w->in_section)) return 0;
    if (name_in(n, sections)) w->in_section++;
    int level = heading_level(n);
    const char *nm = (const char *)n->name;
    if (level) {
        w_push(w, n, PARSE_BLOCK_HEADING, level);
    } else if (strcmp(nm, "pre") == 0) {
        w_push(w, n, PARSE_BLOCK_CODE, 0);
        w->in_pre++;
    } else if (strcmp(nm, "br") == 0) {
        if (w->in_pre)
            w_raw(w, "\n", 1);
        else
            w_newline(w);
    } else if (strcmp(nm, "table") == 0 || strcmp(nm, "ul") == 0 || strcmp(nm, "ol") == 0 ||
               strcmp(nm, "dl") == 0 || strcmp(nm, "blockquote") == 0) {
        if (!w->in_container++) {
            parse_block_kind k = nm[0] == 't'   ? PARSE_BLOCK_TABLE
                                 : nm[0] == 'b' ? PARSE_BLOCK_QUOTE
                                                : PARSE_BLOCK_LIST;
            w_push(w, n, k, 0);
        } else {
            w_newline(w);
        }
        if (nm[1] == 'l' && nm[2] == '\0') { /* ul, ol, dl */
            if (grow((void **)&w->lists, &w->caplists, w->nlists, sizeof *w->lists)) {
                w->st = LORE_NOMEM;
                return 0;
            }
            int start = 1;
            xmlChar *sv = xmlGetProp(n, (const xmlChar *)"start");
            if (sv) {
                long v = strtol((const char *)sv, NULL, 10);
                if (v > -1000000 && v < 1000000) start = (int)v;
                xmlFree(sv);
            }
            w->lists[w->nlists++] = (list_state){n, nm[0] == 'o', start};
        }
    } else if (w->in_container && (strcmp(nm, "li") == 0 || strcmp(nm, "dt") == 0)) {
        w_newline(w);
        size_t depth = w->nlists ? w->nlists - 1 : 0;
        for (size_t i = 0; i < depth && i < 16; i++)
            w_raw(w, "  ", 2);
        list_state *ls = w->nlists ? &w->lists[w->nlists - 1] : NULL;
        if (ls && ls->ordered) {
            char num[24];
            int k = snprintf(num, sizeof num, "%d. ", ls->next);
            if (ls->next < 1000000000) ls->next++;
            w_raw(w, num, (size_t)k);
        } else if (nm[1] == 'i') {
            w_raw(w, "- ", 2);
        }
        w->line_has_text = 0;
    } else if (w->in_container && strcmp(nm, "tr") == 0) {
        w_newline(w);
        w->cells_in_row = 0;
    } else if (w->in_container && (strcmp(nm, "td") == 0 || strcmp(nm, "th") == 0)) {
        if (w->cells_in_row++ && w->line_has_text) {
            w_raw(w, " | ", 3);
            w->line_has_text = 0; /* no space after the separator */
        }
        w->pending_space = 0;
    } else if (name_in(n, blocks)) {
        if (w->in_container) {
            if (w->line_has_text) w_newline(w);
        } else {
            w_flush(w);
        }
    }
    return w->st == LORE_OK;
}

static void w_leave(html_walk *w, xmlNode *n) {
    if (n->type != XML_ELEMENT_NODE) return;
    const char *nm = (const char *)n->name;
    if (name_in(n, sections)) w->in_section--;
    if (strcmp(nm, "pre") == 0) w->in_pre--;
    if (strcmp(nm, "table") == 0 || strcmp(nm, "ul") == 0 || strcmp(nm, "ol") == 0 ||
        strcmp(nm, "dl") == 0 || strcmp(nm, "blockquote") == 0)
        w->in_container--;
    if (w->nlists && w->lists[w->nlists - 1].node == n) w->nlists--;
    if (w->nopen && w->open[w->nopen - 1].node == n) {
        w_flush(w);
        w->nopen--;
    } else if (name_in(n, blocks)) {
        if (w->in_container) {
            if (w->line_has_text) w_newline(w);
        } else {
            w_flush(w);
        }
    }
}

/* ---- metadata pass ------------------------------------------------------- */

typedef struct html_meta {
    xmlNode *title, *main, *article;
    int narticles;
    char *author, *url;
    int64_t created_ms, updated_ms;
    json_t *meta;
    int nomem;
} html_meta;

/* Whitespace-collapsed copy of s, or NULL when empty. */
static char *collapse(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s), o = 0;
    char *c = malloc(n + 1);
    if (!c) return NULL;
    int space = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_html_ws((unsigned char)s[i])) {
            space = 1;
            continue;
        }
        if (space && o) c[o++] = ' ';
        space = 0;
        c[o++] = s[i];
    }
    char *r = parse_strdup_clean(c, o);
    free(c);
    return r;
}

static void meta_set(html_meta *m, const char *key, xmlNode *n) {
    xmlChar *content = xmlGetProp(n, (const xmlChar *)"content");
    char *v = collapse((const char *)content);
    xmlFree(content);
    if (!v) return;
    json_t *s = json_string(v);
    if (!s || json_object_set_new(m->meta, key, s)) m->nomem = 1;
    free(v);
}

static void meta_visit(html_meta *m, xmlNode *n) {
    if (name_is(n, "title")) {
        if (!m->title) m->title = n;
    } else if (name_is(n, "main") || (!m->main && attr_is(n, "role", "main"))) {
        if (!m->main) m->main = n;
    } else if (name_is(n, "article")) {
        if (!m->narticles++) m->article = n;
    } else if (name_is(n, "html")) {
        xmlChar *lang = xmlGetProp(n, (const xmlChar *)"lang");
        if (lang && *lang) {
            json_t *s = json_string((const char *)lang);
            if (!s || json_object_set_new(m->meta, "lang", s)) m->nomem = 1;
        }
        xmlFree(lang);
    } else if (name_is(n, "meta")) {
        xmlChar *nm = xmlGetProp(n, (const xmlChar *)"name");
        xmlChar *prop = xmlGetProp(n, (const xmlChar *)"property");
        if (nm && strcasecmp((const char *)nm, "author") == 0 && !m->author) {
            xmlChar *c = xmlGetProp(n, (const xmlChar *)"content");
            m->author = collapse((const char *)c);
            xmlFree(c);
        } else if (nm && strcasecmp((const char *)nm, "description") == 0) {
            meta_set(m, "description", n);
        } else if (nm && strcasecmp((const char *)nm, "keywords") == 0) {
            meta_set(m, "keywords", n);
        } else if (prop && (strcmp((const char *)prop, "article:published_time") == 0 ||
                            strcmp((const char *)prop, "article:modified_time") == 0)) {
            xmlChar *c = xmlGetProp(n, (const xmlChar *)"content");
            int64_t *dst = prop[8] == 'p' ? &m->created_ms : &m->updated_ms;
            if (c) (void)lore_parse_iso8601n((const char *)c, strlen((const char *)c), dst);
            xmlFree(c);
        }
        xmlFree(nm);
        xmlFree(prop);
    } else if (name_is(n, "link") && !m->url && attr_is(n, "rel", "canonical")) {
        xmlChar *href = xmlGetProp(n, (const xmlChar *)"href");
        m->url = collapse((const char *)href);
        xmlFree(href);
    }
}

/* Visits every element under root except inside script, style, svg and the
 * like (an <svg><title> is not the page's title). */
static void meta_walk(html_meta *m, xmlNode *root) {
    static const char *const opaque[] = {"script", "style", "svg", "math", "template", NULL};
    xmlNode *n = root;
    while (n) {
        int descend = 0;
        if (n->type == XML_ELEMENT_NODE) {
            meta_visit(m, n);
            descend = !name_in(n, opaque);
        }
        if (descend && n->children) {
            n = n->children;
            continue;
        }
        while (n && n != root && !n->next)
            n = n->parent;
        n = n && n != root ? n->next : NULL;
    }
}

static void content_walk(html_walk *w, xmlNode *root) {
    xmlNode *n = root;
    while (n && w->st == LORE_OK) {
        int entered = w_enter(w, n);
        if (entered && n->children && n->type != XML_TEXT_NODE) {
            n = n->children;
            continue;
        }
        if (entered) w_leave(w, n);
        for (;;) {
            if (n == root) {
                n = NULL;
                break;
            }
            if (n->next) {
                n = n->next;
                break;
            }
            n = n->parent;
            if (!n) break;
            w_leave(w, n);
        }
    }
    if (w->st == LORE_OK) {
        while (w->nopen) { /* defensive: every pushed block was left above */
            w_flush(w);
            w->nopen--;
        }
        w_flush(w);
    }
}

lore_status parse_html(const char *name, const uint8_t *data, size_t len, const parse_limits *lim,
                       parse_result **out, char *err, size_t errlen) {
    *out = NULL;
    parse_limits tmp;
    lim = parse_limits_or_default(lim, &tmp);
    lore_status st = parse_check_input(len, lim, err, errlen);
    if (st != LORE_OK) return st;
    if (len > INT_MAX) {
        parse_set_error(err, errlen, "HTML input of %zu bytes is too large", len);
        return LORE_TOO_LARGE;
    }
    pthread_once(&xml_once, init_libxml);

    parse_builder b;
    pb_init(&b, lim->max_text);
    html_walk w = {.b = &b, .st = LORE_OK};
    lore_buf_init(&w.cur, lim->max_text);
    html_meta m = {0};
    parse_result *r = NULL;
    htmlDocPtr doc = NULL;
    char why[256], note[320] = "";
    if (!(m.meta = json_object())) goto nomem;

    if (parse_html_over_budget(data, len, why, sizeof why)) {
        /* libxml2's tree would take too much memory or time: text */
        if ((st = parse_html_as_text(&b, data, len)) != LORE_OK) {
            parse_builder_error(st, lim, "", err, errlen);
            goto out;
        }
        snprintf(note, sizeof note, "read as text with the tags removed, not as HTML: %s", why);
        if ((st = pb_finish_result(&b, lim, &r, err, errlen)) != LORE_OK) goto out;
        if (!(r->note = strdup(note))) goto nomem;
        r->docs[0].title = parse_title_from_name(name);
        goto out;
    }
    doc = htmlReadMemory((const char *)data, (int)len, NULL, NULL,
                         HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
                             HTML_PARSE_RECOVER | HTML_PARSE_COMPACT | XML_PARSE_HUGE);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (root) {
        meta_walk(&m, root);
        if (m.nomem) goto nomem;
        xmlNode *content = m.main ? m.main : m.narticles == 1 ? m.article : root;
        /* header/footer inside the chosen article belong to it */
        if (content != root) w.in_section = 1;
        content_walk(&w, content);
        if (w.st != LORE_OK) {
            st = w.st;
            parse_builder_error(st, lim, "", err, errlen);
            goto out;
        }
    }
    if ((st = pb_finish_result(&b, lim, &r, err, errlen)) != LORE_OK) goto out;
    parse_doc *d = &r->docs[0];
    if (m.title) {
        xmlChar *t = xmlNodeGetContent(m.title);
        d->title = collapse((const char *)t);
        xmlFree(t);
    }
    if (!d->title && w.first_h1) d->title = w.first_h1, w.first_h1 = NULL;
    if (!d->title) d->title = parse_title_from_name(name);
    d->author = m.author, m.author = NULL;
    d->url = m.url, m.url = NULL;
    d->created_ms = m.created_ms;
    d->updated_ms = m.updated_ms;
    if (json_object_size(m.meta) &&
        !(d->metadata_json = json_dumps(m.meta, JSON_COMPACT | JSON_PRESERVE_ORDER)))
        goto nomem;
    goto out;
nomem:
    st = LORE_NOMEM;
    parse_set_error(err, errlen, "out of memory");
out: /* on failure the partial result is freed; the tree always is */
    if (doc) xmlFreeDoc(doc);
    json_decref(m.meta);
    free(m.author);
    free(m.url);
    free(w.first_h1);
    free(w.open);
    free(w.lists);
    lore_buf_free(&w.cur);
    pb_free(&b);
    if (st == LORE_OK)
        *out = r;
    else
        parse_result_free(r);
    return st;
}
