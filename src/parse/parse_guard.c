/* Linear pre-scans that bound what the tree-building parsers may cost.
 *
 * cmark-gfm, libxml2's HTML parser and jansson build a tree in memory, at
 * 40 to 400 bytes per node, and a node can cost one or two bytes of input:
 * 2 MB of "a\n" lines took 378 MB and 2.2 s in cmark-gfm, 1.2 MB of "<p>x"
 * 104 MB in libxml2, 3 MB of "{}," 226 MB in jansson. Some inputs are also
 * worse than linear: cmark-gfm checks every inline node it appends against
 * all of its ancestors, so 80,000 nested block quotes followed by 80,000 '['
 * took 33 s (issue 11), a table row of 40,000 cells 4 s (its cells are kept in
 * a list appended at the tail by walking it), and libxml2 compares each attribute of a tag with
 * every earlier one (30,000 attributes: 3 s) and looks every end tag up
 * in its whole stack of open elements (100,000 <div> then as many </span>:
 * 28 s).
 *
 * Each scan here reads the input once, counts an upper bound of the nodes
 * the parser would build (and the nesting depth or attributes per tag where
 * those make it superlinear), and says why the input is over budget. The
 * caller then reads the input a cheaper way (Markdown and HTML as text,
 * with a note) or refuses it (JSON). The bounds are in parse_int.h and
 * docs/formats.md. */
#include "parse/parse_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- Markdown ------------------------------------------------------------ */

/* Characters at which cmark-gfm's inline parser ends a text node (its own
 * and those the table, strikethrough and autolink extensions register). */
static int md_special(unsigned char c) {
    switch (c) {
    case '`':
    case '\\':
    case '&':
    case '<':
    case '*':
    case '_':
    case '[':
    case ']':
    case '!':
    case '~':
    case '|':
    case 'w':
    case ':':
        return 1;
    default:
        return 0;
    }
}

/* Length of a list marker at s (followed by a space, a tab or the end of
 * the line), or 0. */
static size_t md_list_marker(const char *s, size_t n) {
    size_t k = 0;
    if (n && (s[0] == '-' || s[0] == '+' || s[0] == '*')) {
        k = 1;
    } else {
        while (k < n && k < 10 && s[k] >= '0' && s[k] <= '9')
            k++;
        if (!k || k > 9 || k >= n || (s[k] != '.' && s[k] != ')')) return 0;
        k++;
    }
    return k == n || s[k] == ' ' || s[k] == '\t' || s[k] == '\n' || s[k] == '\r' ? k : 0;
}

/* An upper bound of the container depth a line opens or continues: its
 * block-quote and list markers plus half its indentation (a nested list
 * needs at least two columns per level). *markers gets the markers. */
static size_t md_line_depth(const char *s, size_t n, size_t *markers) {
    size_t i = 0, cols = 0, m = 0;
    for (;;) {
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            cols += s[i++] == '\t' ? 4 : 1;
        if (i < n && s[i] == '>') {
            m++, i++;
            continue;
        }
        size_t k = md_list_marker(s + i, n - i);
        if (!k) break;
        m++, i += k;
    }
    *markers = m;
    return m + cols / 2;
}

int parse_md_over_budget(const char *s, size_t n, char *why, size_t whylen) {
    size_t nodes = 0, depth = 0, line = 1, deep_line = 0;
    const char *p = s, *end = s + n;
    while (p < end) {
        /* A line ends at LF, CR or CRLF, as for cmark-gfm: a file of lone
         * CRs is as many lines to it as one of LFs. */
        const char *le = p;
        while (le < end && *le != '\n' && *le != '\r')
            le++;
        size_t markers = 0, d = md_line_depth(p, (size_t)(le - p), &markers);
        if (d > depth) depth = d, deep_line = line;
        nodes += 2 + markers; /* a text node and a line break, the containers */
        size_t pipes = 0, ats = 0;
        for (const char *c = p; c < le; c++) {
            nodes += md_special((unsigned char)*c);
            if (*c == '|') { /* a table cell: ~440 bytes in cmark-gfm */
                pipes++;
                nodes += PARSE_MD_CELL_WEIGHT - 1;
            }
            /* The autolink extension is slow on a word of many '@'
             * ("a@b.a@b.": 480,000 of them took 8 s); one per word (an
             * address) is not. */
            if (*c == ' ' || *c == '\t')
                ats = 0;
            else if (*c == '@' && ats++)
                nodes += PARSE_MD_AT_WEIGHT;
        }
        if (pipes > PARSE_MD_MAX_CELLS) {
            snprintf(why, whylen, "line %zu has %zu table cell separators '|' (limit %d)", line,
                     pipes, PARSE_MD_MAX_CELLS);
            return 1;
        }
        if (depth > PARSE_MD_MAX_DEPTH) {
            snprintf(why, whylen,
                     "line %zu nests block quotes, lists or indentation about %zu levels deep "
                     "(limit %d)",
                     deep_line, depth, PARSE_MD_MAX_DEPTH);
            return 1;
        }
        if (nodes > PARSE_MD_MAX_NODES) {
            snprintf(why, whylen,
                     "more than %d lines and markup characters (reached at line %zu); reading "
                     "them as Markdown would take too much memory",
                     PARSE_MD_MAX_NODES, line);
            return 1;
        }
        p = le < end ? le + 1 + (*le == '\r' && le + 1 < end && le[1] == '\n') : end;
        line++;
    }
    return 0;
}

/* ---- HTML ---------------------------------------------------------------- */

static int html_ws(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static int html_alpha(unsigned char c) {
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

/* Scans the tag starting at s[0] == '<' (a letter follows). Returns its
 * length (to the closing '>' or the end), counts its attributes and says
 * whether it closes itself ("<x/>"). */
static size_t html_tag(const unsigned char *s, size_t n, size_t *attrs, int *self_closing) {
    size_t i = 1, a = 0;
    *self_closing = 0;
    while (i < n && !html_ws(s[i]) && s[i] != '>' && s[i] != '/')
        i++;
    for (;;) {
        while (i < n && (html_ws(s[i]) || s[i] == '/'))
            *self_closing = s[i++] == '/';
        if (i >= n || s[i] == '>') break;
        *self_closing = 0;
        a++; /* an attribute name */
        while (i < n && !html_ws(s[i]) && s[i] != '>' && s[i] != '=' && s[i] != '/')
            i++;
        while (i < n && html_ws(s[i]))
            i++;
        if (i < n && s[i] == '=') {
            i++;
            while (i < n && html_ws(s[i]))
                i++;
            if (i < n && (s[i] == '"' || s[i] == '\'')) {
                const unsigned char *q = memchr(s + i + 1, s[i], n - i - 1);
                i = q ? (size_t)(q - s) + 1 : n;
            } else {
                while (i < n && !html_ws(s[i]) && s[i] != '>')
                    i++;
            }
        }
    }
    *attrs = a;
    return i < n ? i + 1 : n;
}

/* A tag name, lower-cased and cut to fit (enough to tell tags apart). */
typedef struct html_name {
    char s[12];
} html_name;

static html_name html_name_at(const unsigned char *s, size_t n) {
    html_name nm = {{0}};
    for (size_t i = 0; i < n && i < sizeof nm.s - 1 && !html_ws(s[i]) && s[i] != '>' && s[i] != '/';
         i++)
        nm.s[i] = (char)(s[i] | (html_alpha(s[i]) ? 0x20 : 0));
    return nm;
}

static int html_name_in(const html_name *nm, const char *const *list) {
    for (; *list; list++)
        if (!strcmp(nm->s, *list)) return 1;
    return 0;
}

/* libxml2's end-tag priorities: an end tag does not close past an open
 * element of higher priority. */
static int html_priority(const html_name *nm) {
    static const struct {
        const char *name;
        int prio;
    } t[] = {{"div", 150},   {"td", 160},    {"th", 160},    {"tr", 170},
             {"thead", 180}, {"tbody", 180}, {"tfoot", 180}, {"table", 190},
             {"head", 200},  {"body", 200},  {"html", 220}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(nm->s, t[i].name)) return t[i].prio;
    return 100;
}

/* The open elements as libxml2 would have them, or more: an element is
 * taken as closed only when an end tag names it with nothing of higher
 * priority above it (within HTML_CLOSE_SCAN), or when a p, li, td... starts
 * right inside one of its kind. libxml2 closes at least those (and more,
 * by its implied-end rules), so the depth here bounds libxml2's, and with
 * it the cost of each end tag it must look up in its stack. */
#define HTML_CLOSE_SCAN 32
typedef struct html_stack {
    html_name open[PARSE_HTML_MAX_DEPTH];
    size_t n;
} html_stack;

static const char *const html_void[] = {
    "area",  "base",   "br",    "col", "embed",  "hr",    "img",      "input",   "link", "meta",
    "param", "source", "track", "wbr", "keygen", "frame", "basefont", "isindex", NULL};
static const char *const html_self_nesting[] = {"p",  "li", "dt",     "dd", "tr",
                                                "td", "th", "option", NULL};

/* Returns -1 when the stack would grow past PARSE_HTML_MAX_DEPTH. */
static int html_stack_start(html_stack *st, const html_name *nm, int self_closing) {
    if (self_closing || html_name_in(nm, html_void)) return 0;
    if (st->n && html_name_in(nm, html_self_nesting) && !strcmp(st->open[st->n - 1].s, nm->s))
        st->n--;
    if (st->n == PARSE_HTML_MAX_DEPTH) return -1;
    st->open[st->n++] = *nm;
    return 0;
}

static void html_stack_end(html_stack *st, const html_name *nm) {
    int prio = html_priority(nm);
    for (size_t k = 0; k < st->n && k < HTML_CLOSE_SCAN; k++) {
        const html_name *o = &st->open[st->n - 1 - k];
        if (!strcmp(o->s, nm->s)) {
            st->n -= k + 1;
            return;
        }
        if (html_priority(o) > prio) return;
    }
}

/* Past the end of a raw-text element's content ("</script"), or n. */
static size_t html_skip_raw(const uint8_t *s, size_t n, size_t i, const char *end_tag) {
    size_t k = strlen(end_tag);
    while (i < n) {
        const uint8_t *lt = memchr(s + i, '<', n - i);
        if (!lt) return n;
        i = (size_t)(lt - s);
        if (n - i >= k && strncasecmp((const char *)s + i, end_tag, k) == 0) return i;
        i++;
    }
    return n;
}

int parse_html_over_budget(const uint8_t *s, size_t n, char *why, size_t whylen) {
    size_t nodes = 1, i = 0, tags = 0;
    html_stack *st = malloc(sizeof *st);
    if (!st) {
        snprintf(why, whylen, "out of memory");
        return 1;
    }
    st->n = 0;
    int over = 0;
    while (i < n && !over) {
        const uint8_t *lt = memchr(s + i, '<', n - i);
        if (!lt) break;
        i = (size_t)(lt - s);
        if (n - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
            const uint8_t *e = memmem(s + i + 4, n - i - 4, "-->", 3);
            i = e ? (size_t)(e - s) + 3 : n;
            nodes++;
        } else if (i + 1 < n && html_alpha(s[i + 1])) {
            size_t attrs = 0;
            int self_closing = 0;
            html_name nm = html_name_at(s + i + 1, n - i - 1);
            i += html_tag(s + i, n - i, &attrs, &self_closing);
            tags++;
            nodes += 2 + 2 * attrs; /* the element, the text after it, attribute nodes */
            if (attrs > PARSE_HTML_MAX_ATTRS) {
                snprintf(why, whylen, "tag %zu has %zu attributes (limit %d)", tags, attrs,
                         PARSE_HTML_MAX_ATTRS);
                over = 1;
            } else if (html_stack_start(st, &nm, self_closing)) {
                snprintf(why, whylen, "elements nest more than %d levels deep (at tag %zu)",
                         PARSE_HTML_MAX_DEPTH, tags);
                over = 1;
            } else if (!self_closing && (!strcmp(nm.s, "script") || !strcmp(nm.s, "style"))) {
                i = html_skip_raw(s, n, i, nm.s[1] == 'c' ? "</script" : "</style");
            }
        } else if (i + 2 < n && s[i + 1] == '/' && html_alpha(s[i + 2])) {
            html_name nm = html_name_at(s + i + 2, n - i - 2);
            html_stack_end(st, &nm);
            const uint8_t *gt = memchr(s + i, '>', n - i);
            i = gt ? (size_t)(gt - s) + 1 : n;
            nodes++;
        } else {
            i++;
            nodes++; /* a stray '<', a doctype, a processing instruction */
        }
        if (!over && nodes > PARSE_HTML_MAX_NODES) {
            snprintf(why, whylen,
                     "more than %d elements, attributes and text runs; reading them as HTML "
                     "would take too much memory",
                     PARSE_HTML_MAX_NODES);
            over = 1;
        }
    }
    free(st);
    return over;
}

/* Appends HTML as text: tags are dropped (a tag that ends a block becomes a
 * line break, others a space), comments and the content of script and style
 * are dropped, and the common entities are decoded. Linear, for input the
 * tree parser must not see. */
lore_status parse_html_as_text(parse_builder *b, const uint8_t *s, size_t n) {
    lore_buf t;
    lore_buf_init(&t, n + 1);
    lore_status st = LORE_OK;
    size_t i = 0;
    static const struct {
        const char *name;
        char c;
    } ents[] = {{"&amp;", '&'},  {"&lt;", '<'},   {"&gt;", '>'},
                {"&quot;", '"'}, {"&#39;", '\''}, {"&nbsp;", ' '}};
    while (i < n && st == LORE_OK) {
        if (s[i] == '<') {
            const char *skip_to = NULL;
            if (n - i >= 4 && memcmp(s + i, "<!--", 4) == 0)
                skip_to = "-->";
            else if (n - i >= 7 && strncasecmp((const char *)s + i, "<script", 7) == 0)
                skip_to = "</script>";
            else if (n - i >= 6 && strncasecmp((const char *)s + i, "<style", 6) == 0)
                skip_to = "</style>";
            if (skip_to) {
                const uint8_t *e = memmem(s + i, n - i, skip_to, strlen(skip_to));
                i = e ? (size_t)(e - s) + strlen(skip_to) : n;
                continue;
            }
            const uint8_t *gt = memchr(s + i, '>', n - i);
            size_t e = gt ? (size_t)(gt - s) + 1 : n;
            /* </p>, </div>, <br>, </li>, </h1>... end a line */
            size_t k = i + 1 + (i + 1 < n && s[i + 1] == '/');
            int line = 0;
            static const char *const brk[] = {"p",  "div", "br", "li", "tr", "h1",
                                              "h2", "h3",  "h4", "h5", "h6", "pre"};
            for (size_t j = 0; j < sizeof brk / sizeof brk[0] && !line; j++) {
                size_t l = strlen(brk[j]);
                line = k + l < n && strncasecmp((const char *)s + k, brk[j], l) == 0 &&
                       !html_alpha(s[k + l]) && (s[k + l] < '0' || s[k + l] > '9');
            }
            st = lore_buf_append_byte(&t, line ? '\n' : ' ');
            i = e;
            continue;
        }
        if (s[i] == '&') {
            size_t j = 0;
            for (; j < sizeof ents / sizeof ents[0]; j++) {
                size_t l = strlen(ents[j].name);
                if (n - i >= l && memcmp(s + i, ents[j].name, l) == 0) {
                    st = lore_buf_append_byte(&t, ents[j].c);
                    i += l;
                    break;
                }
            }
            if (j < sizeof ents / sizeof ents[0]) continue;
        }
        const uint8_t *lt = memchr(s + i, '<', n - i);
        const uint8_t *amp = memchr(s + i, '&', (size_t)((lt ? lt : s + n) - (s + i)));
        size_t stop = amp ? (size_t)(amp - s) : lt ? (size_t)(lt - s) : n;
        if (stop == i) stop = i + 1;
        st = lore_buf_append(&t, (const char *)s + i, stop - i);
        i = stop;
    }
    if (st == LORE_OK) st = pb_add_paragraphs(b, t.data ? t.data : "", t.len);
    lore_buf_free(&t);
    return st;
}

/* ---- JSON ---------------------------------------------------------------- */

int parse_json_over_budget(const char *s, size_t n, char *why, size_t whylen) {
    /* jansson: about 230 bytes per object, 40 per other value. Structural
     * characters inside strings count too: an upper bound. */
    size_t objects = 0, values = 1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '{')
            objects++;
        else if (c == '[' || c == ',' || c == ':')
            values++;
    }
    size_t bytes = objects * 256 + values * 48;
    if (bytes <= PARSE_JSON_MAX_TREE) return 0;
    snprintf(why, whylen,
             "JSON of %zu objects and %zu values would take about %zu MiB to read at once (limit "
             "%zu MiB)",
             objects, values, bytes >> 20, (size_t)PARSE_JSON_MAX_TREE >> 20);
    return 1;
}
