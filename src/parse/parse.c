/* The parse module's front door: limits, format detection, the dispatcher,
 * and small helpers the per-format parsers share (paragraph splitting, ISO
 * 8601 dates, limit messages).
 *
 * Detection looks at content first and at the name's extension only when the
 * content leaves the choice open (text that could be Markdown, a file that
 * starts like JSON but is cut short). It examines a bounded prefix (and, for
 * ZIP files, a bounded suffix) so it costs the same on a 64 MiB file as on a
 * 4 KiB one: JSON is parsed in full only when the input is at most
 * DETECT_JSON_FULL bytes; larger inputs are judged by their first and last
 * bytes and the first line. */
#include "parse/parse_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DETECT_WINDOW 4096              /* bytes examined for text, HTML, Markdown */
#define DETECT_JSON_FULL (64 * 1024)    /* JSON inputs up to this size are parsed to detect */
#define DETECT_JSONL_LINE (1024 * 1024) /* longest first line parsed to detect JSONL */
#define DETECT_ZIP_WINDOW (64 * 1024)   /* head and tail of a ZIP searched for word/ */

void parse_limits_default(parse_limits *lim) {
    lim->max_input = (size_t)64 << 20;
    lim->max_text = (size_t)16 << 20;
    lim->max_docs = 1000000;
    lim->pdf_timeout_s = 30;
    lim->pdf_memory_mb = 1024;
}

const parse_limits *parse_limits_or_default(const parse_limits *lim, parse_limits *tmp) {
    if (lim) return lim;
    parse_limits_default(tmp);
    return tmp;
}

lore_status parse_check_input(size_t len, const parse_limits *lim, char *err, size_t errlen) {
    if (len <= lim->max_input) return LORE_OK;
    parse_set_error(err, errlen, "input of %zu bytes exceeds the limit of %zu bytes", len,
                    lim->max_input);
    return LORE_TOO_LARGE;
}

void parse_builder_error(lore_status st, const parse_limits *lim, const char *prefix, char *err,
                         size_t errlen) {
    if (st == LORE_TOO_LARGE)
        parse_set_error(err, errlen, "%stext exceeds the limit of %zu bytes per document", prefix,
                        lim->max_text);
    else
        parse_set_error(err, errlen, "%s%s", prefix, lore_status_message(st));
}

lore_status pb_finish_result(parse_builder *b, const parse_limits *lim, parse_result **r, char *err,
                             size_t errlen) {
    parse_result *res = calloc(1, sizeof *res);
    parse_doc *d = res ? parse_result_add(res) : NULL;
    lore_status st = d ? pb_finish(b, d) : LORE_NOMEM;
    if (st != LORE_OK) {
        if (st == LORE_NOMEM)
            parse_set_error(err, errlen, "out of memory");
        else
            parse_builder_error(st, lim, "", err, errlen);
        parse_result_free(res);
        res = NULL;
    }
    *r = res;
    return st;
}

size_t parse_bom_len(const uint8_t *data, size_t len) {
    return len >= 3 && data[0] == 0xef && data[1] == 0xbb && data[2] == 0xbf ? 3 : 0;
}

const char *parse_format_name(parse_format fmt) {
    switch (fmt) {
    case PARSE_FMT_TEXT:
        return "text";
    case PARSE_FMT_MARKDOWN:
        return "markdown";
    case PARSE_FMT_HTML:
        return "html";
    case PARSE_FMT_JSON:
        return "json";
    case PARSE_FMT_JSONL:
        return "jsonl";
    case PARSE_FMT_PDF:
        return "pdf";
    case PARSE_FMT_DOCX:
        return "docx";
    case PARSE_FMT_UNKNOWN:
        break;
    }
    return "unknown";
}

/* ---- paragraphs ---------------------------------------------------------- */

static int is_blank_line(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\f' && s[i] != '\v') return 0;
    return 1;
}

lore_status pb_add_paragraphs(parse_builder *b, const char *s, size_t len) {
    lore_status st = LORE_OK;
    char *norm = NULL;
    if (len && memchr(s, '\r', len)) {
        /* Normalize line ends once so paragraphs never keep a stray CR. */
        norm = malloc(len);
        if (!norm) return LORE_NOMEM;
        size_t o = 0;
        for (size_t i = 0; i < len; i++) {
            if (s[i] == '\r') {
                norm[o++] = '\n';
                if (i + 1 < len && s[i + 1] == '\n') i++;
            } else {
                norm[o++] = s[i];
            }
        }
        s = norm;
        len = o;
    }
    const char *end = s + len, *p = s, *para = NULL;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (is_blank_line(p, (size_t)(le - p))) {
            if (para) {
                st = pb_add_block(b, PARSE_BLOCK_PARAGRAPH, 0, para, (size_t)(p - para));
                if (st != LORE_OK) goto out;
                para = NULL;
            }
        } else if (!para) {
            para = p;
        }
        p = nl ? nl + 1 : end;
    }
    if (para) st = pb_add_block(b, PARSE_BLOCK_PARAGRAPH, 0, para, (size_t)(end - para));
out:
    free(norm);
    return st;
}

/* ---- ISO 8601 ------------------------------------------------------------ */

/* ---- detection ----------------------------------------------------------- */

static const char *name_ext(const char *name) {
    if (!name) return NULL;
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    const char *dot = strrchr(base, '.');
    return dot && dot != base ? dot + 1 : NULL;
}

static parse_format ext_format(const char *ext) {
    if (!ext) return PARSE_FMT_UNKNOWN;
    static const struct {
        const char *ext;
        parse_format fmt;
    } map[] = {
        {"txt", PARSE_FMT_TEXT},          {"text", PARSE_FMT_TEXT},      {"md", PARSE_FMT_MARKDOWN},
        {"markdown", PARSE_FMT_MARKDOWN}, {"mdown", PARSE_FMT_MARKDOWN}, {"html", PARSE_FMT_HTML},
        {"htm", PARSE_FMT_HTML},          {"xhtml", PARSE_FMT_HTML},     {"json", PARSE_FMT_JSON},
        {"jsonl", PARSE_FMT_JSONL},       {"ndjson", PARSE_FMT_JSONL},   {"pdf", PARSE_FMT_PDF},
        {"docx", PARSE_FMT_DOCX},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcasecmp(ext, map[i].ext) == 0) return map[i].fmt;
    return PARSE_FMT_UNKNOWN;
}

static int is_ws(uint8_t c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static int has_prefix_ci(const uint8_t *p, size_t n, const char *pre) {
    size_t k = strlen(pre);
    return n >= k && strncasecmp((const char *)p, pre, k) == 0;
}

static int contains_ci(const uint8_t *p, size_t n, const char *needle) {
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if ((p[i] | 0x20) == (needle[0] | 0x20) && strncasecmp((const char *)p + i, needle, k) == 0)
            return 1;
    return 0;
}

/* Binary when the window holds a NUL byte or when more than a quarter of it
 * is invalid UTF-8 or control characters (text has tabs and newlines, not
 * \x01). A sequence cut by the window's end does not count. */
static int looks_binary(const uint8_t *p, size_t n) {
    if (!n) return 0;
    if (memchr(p, 0, n)) return 1;
    size_t bad = 0, i = 0;
    while (i < n) {
        size_t v = parse_utf8_valid_prefix((const char *)p + i, n - i);
        for (size_t k = i; k < i + v; k++)
            if (p[k] < 0x20 && p[k] != '\t' && p[k] != '\n' && p[k] != '\r' && p[k] != '\f' &&
                p[k] != '\v' && p[k] != 0x1b)
                bad++;
        i += v;
        if (i < n) {
            if (n - i < 4 && p[i] >= 0xc0) break; /* truncated at the window edge */
            bad++;
            i++;
        }
    }
    return bad * 4 > n;
}

/* A complete JSON object on the first line followed by another line that
 * starts with '{' (or nothing else, with a JSON Lines extension). */
static int looks_jsonl(const uint8_t *p, size_t n, parse_format hint) {
    if (!n || p[0] != '{') return 0;
    const uint8_t *nl = memchr(p, '\n', n < DETECT_JSONL_LINE ? n : DETECT_JSONL_LINE);
    if (!nl) return 0;
    json_error_t jerr;
    json_t *v = json_loadb((const char *)p, (size_t)(nl - p), 0, &jerr);
    int ok = v && json_is_object(v);
    json_decref(v);
    if (!ok) return 0;
    const uint8_t *q = nl + 1, *end = p + n;
    while (q < end && is_ws(*q))
        q++;
    if (q < end) return *q == '{';
    return hint == PARSE_FMT_JSONL;
}

static int looks_json(const uint8_t *p, size_t n) {
    if (n <= DETECT_JSON_FULL) {
        json_error_t jerr;
        json_t *v = json_loadb((const char *)p, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        int ok = v && (json_is_object(v) || json_is_array(v));
        json_decref(v);
        return ok;
    }
    size_t e = n;
    while (e && is_ws(p[e - 1]))
        e--;
    return e && ((p[0] == '{' && p[e - 1] == '}') || (p[0] == '[' && p[e - 1] == ']'));
}

static int looks_html(const uint8_t *p, size_t n) {
    static const char *const starts[] = {"<!doctype html", "<html", "<head", "<body"};
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++)
        if (has_prefix_ci(p, n, starts[i])) return 1;
    static const char *const tags[] = {"<html", "<head>",  "<body",    "<title>",  "<meta ", "<div",
                                       "<p>",   "<p ",     "<h1",      "<h2",      "<table", "<ul>",
                                       "<br",   "<a href", "<article", "<section", "<span"};
    if (n && p[0] == '<')
        for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
            if (contains_ci(p, n, tags[i])) return 1;
    return 0;
}

/* Markdown signals: front matter, ATX headings, fences, inline links. */
static int looks_markdown(const uint8_t *p, size_t n) {
    if (n >= 4 && memcmp(p, "---", 3) == 0 && (p[3] == '\n' || p[3] == '\r')) return 1;
    size_t i = 0;
    while (i < n) {
        const uint8_t *nl = memchr(p + i, '\n', n - i);
        size_t e = nl ? (size_t)(nl - p) : n;
        const uint8_t *l = p + i;
        size_t ll = e - i, h = 0;
        while (h < ll && h < 7 && l[h] == '#')
            h++;
        if (h >= 1 && h <= 6 && h < ll && l[h] == ' ') return 1;
        if (ll >= 3 && (memcmp(l, "```", 3) == 0 || memcmp(l, "~~~", 3) == 0)) return 1;
        /* "[text](target" within one line */
        int open = 0;
        for (size_t k = 0; k + 1 < ll; k++) {
            if (l[k] == '[')
                open = 1;
            else if (open && l[k] == ']' && l[k + 1] == '(')
                return 1;
        }
        i = e + 1;
    }
    return 0;
}

static int looks_docx(const char *ext, const uint8_t *data, size_t len) {
    if (ext && strcasecmp(ext, "docx") == 0) return 1;
    size_t head = len < DETECT_ZIP_WINDOW ? len : DETECT_ZIP_WINDOW;
    if (memmem(data, head, "word/", 5)) return 1;
    if (len > head) {
        size_t tail = len - DETECT_ZIP_WINDOW > head ? DETECT_ZIP_WINDOW : len - head;
        if (memmem(data + len - tail, tail, "word/document.xml", 17)) return 1;
    }
    return 0;
}

parse_format parse_detect(const char *name, const uint8_t *data, size_t len) {
    const char *ext = name_ext(name);
    parse_format hint = ext_format(ext);
    if (!data) len = 0;
    if (len == 0) return hint != PARSE_FMT_UNKNOWN ? hint : PARSE_FMT_TEXT;

    size_t pdf_win = len < 1024 ? len : 1024;
    if (len >= 5 && memmem(data, pdf_win, "%PDF-", 5)) return PARSE_FMT_PDF;
    if (len >= 4 && memcmp(data, "PK\x03\x04", 4) == 0)
        return looks_docx(ext, data, len) ? PARSE_FMT_DOCX : PARSE_FMT_UNKNOWN;

    size_t off = parse_bom_len(data, len);
    while (off < len && is_ws(data[off]))
        off++;
    const uint8_t *p = data + off;
    size_t n = len - off, win = n < DETECT_WINDOW ? n : DETECT_WINDOW;
    if (n == 0) return hint != PARSE_FMT_UNKNOWN ? hint : PARSE_FMT_TEXT;

    if (p[0] == '{' || p[0] == '[') {
        if ((hint == PARSE_FMT_JSONL && p[0] == '{') || looks_jsonl(p, n, hint))
            return PARSE_FMT_JSONL;
        if (looks_json(p, n)) return PARSE_FMT_JSON;
        if (hint == PARSE_FMT_JSON || hint == PARSE_FMT_JSONL) return hint;
    }
    if (looks_binary(data, len < DETECT_WINDOW ? len : DETECT_WINDOW)) return PARSE_FMT_UNKNOWN;
    if (p[0] == '<' && looks_html(p, win)) return PARSE_FMT_HTML;
    /* The content is text; the extension decides between the text formats. */
    if (hint == PARSE_FMT_TEXT || hint == PARSE_FMT_MARKDOWN || hint == PARSE_FMT_HTML ||
        hint == PARSE_FMT_JSON || hint == PARSE_FMT_JSONL)
        return hint;
    if (looks_markdown(data + parse_bom_len(data, len), win)) return PARSE_FMT_MARKDOWN;
    if (contains_ci(p, win, "<!doctype html") || contains_ci(p, win, "<html"))
        return PARSE_FMT_HTML;
    return PARSE_FMT_TEXT;
}

/* ---- dispatch ------------------------------------------------------------ */

lore_status parse_bytes(parse_format fmt, const char *name, const uint8_t *data, size_t len,
                        const parse_limits *lim, parse_result **out, char *err, size_t errlen) {
    *out = NULL;
    if (err && errlen) err[0] = '\0';
    parse_limits tmp;
    lim = parse_limits_or_default(lim, &tmp);
    if (!data && len) {
        parse_set_error(err, errlen, "no data");
        return LORE_INVALID;
    }
    if (!data) data = (const uint8_t *)"";
    lore_status st = parse_check_input(len, lim, err, errlen);
    if (st != LORE_OK) return st;
    switch (fmt) {
    case PARSE_FMT_TEXT:
        return parse_text(name, data, len, lim, out, err, errlen);
    case PARSE_FMT_MARKDOWN:
        return parse_markdown(name, data, len, lim, out, err, errlen);
    case PARSE_FMT_HTML:
        return parse_html(name, data, len, lim, out, err, errlen);
    case PARSE_FMT_JSON:
        return parse_json(name, data, len, lim, out, err, errlen);
    case PARSE_FMT_JSONL:
        return parse_jsonl(name, data, len, lim, out, err, errlen);
    case PARSE_FMT_PDF:
        return parse_pdf(name, data, len, lim, out, err, errlen);
    case PARSE_FMT_DOCX:
        return parse_docx(name, data, len, lim, out, err, errlen);
    case PARSE_FMT_UNKNOWN:
        break;
    }
    parse_set_error(err, errlen, "unknown or unsupported format");
    return LORE_UNSUPPORTED;
}
