/* PDF parser: text through poppler's pdftotext in a sandboxed child.
 *
 * Parsing PDF in-process would put a large attack surface (fonts, filters,
 * xref repair) inside the server, so the input is written to a private
 * temporary file (mkostemp, mode 0600, unlinked as soon as the child is
 * done) and `pdftotext -enc UTF-8 -eol unix -htmlmeta FILE -` runs under the
 * limits of subprocess.c: wall clock (pdf_timeout_s), address space
 * (pdf_memory_mb), CPU, no file writes, no core dumps, its own process group.
 *
 * One child, not two: -htmlmeta makes pdftotext print the Info dictionary
 * as an HTML head (<title>, <meta name="Author" content="..."/>,
 * CreationDate and ModDate as ISO 8601; these values are HTML-escaped)
 * followed by the text in <pre>...</pre>. The text itself is NOT escaped, so
 * the body is taken verbatim from the first "<pre>\n" after "</head>" to the
 * last "</pre>"; a PDF that contains "</pre>" in its text cannot confuse
 * that. Output without the wrapper (another pdftotext) is taken whole.
 *
 * pdftotext's plain (non -layout) mode gives reading-order lines, a blank
 * line between paragraphs and a form feed after each page. From it:
 *  - blank lines and page breaks end paragraphs, except that a paragraph cut
 *    by a page break is continued when it lacks final punctuation and the
 *    next page starts in lower case;
 *  - lines inside a paragraph are joined with a space; "exam-" + "ple"
 *    (letter, hyphen, then a lower-case letter) is joined without the hyphen;
 *  - lines starting with a bullet ("•", "-", "*"; or a bullet alone on its
 *    line, then the text) start list items: consecutive items form one LIST
 *    block, one item per line, even across blank lines; numbered lines are
 *    not items (numbered headings look the same);
 *  - a paragraph that is only a number (a page number) is dropped.
 * PDF has no reliable heading structure, so there are no HEADING blocks.
 *
 * Title: the Info Title, else the first line when it is short, else the file
 * name. Author from Info Author, dates from CreationDate/ModDate.
 *
 * Testing hook: the environment variable LORE_PDFTOTEXT, when set, names
 * the executable to run instead of pdftotext from $PATH. Whoever can set the
 * server's environment can already run code as the server, so this adds no
 * privilege; the override runs under the same sandbox. */
#include "util/timeutil.h"
#include "parse/parse_int.h"
#include "parse/subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PDF_TITLE_FROM_LINE_MAX 120 /* bytes: longer first lines are not titles */
#define PDF_HEAD_SLACK (64 * 1024)  /* pdftotext output beyond max_text for the head */

/* ---- HTML head (written by pdftotext, escaped by it) ---- */

static const char *find_in(const char *s, const char *end, const char *needle) {
    size_t n = strlen(needle);
    for (const char *p = s; p && (size_t)(end - p) >= n; p++) {
        p = memchr(p, needle[0], (size_t)(end - p));
        if (!p || (size_t)(end - p) < n) return NULL;
        if (memcmp(p, needle, n) == 0) return p;
    }
    return NULL;
}

static const char *rfind_in(const char *s, const char *end, const char *needle) {
    size_t n = strlen(needle);
    if ((size_t)(end - s) < n) return NULL;
    for (const char *p = end - n;; p--) {
        if (memcmp(p, needle, n) == 0) return p;
        if (p == s) return NULL;
    }
}

static size_t put_utf8(char *o, unsigned long cp) {
    if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) cp = 0xfffd;
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Unescapes s[0, len) and collapses whitespace runs into one space. Returns
 * owned, valid UTF-8, or NULL when empty or out of memory. */
static char *html_value(const char *s, size_t len) {
    char *tmp = malloc(len + 1);
    if (!tmp) return NULL;
    size_t o = 0;
    bool space = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
            space = o > 0;
            continue;
        }
        if (space) tmp[o++] = ' ', space = false;
        if (c == '&') {
            const char *semi = memchr(s + i, ';', len - i < 12 ? len - i : 12);
            if (semi) {
                size_t elen = (size_t)(semi - (s + i)) + 1;
                const char *e = s + i;
                unsigned long cp = 0;
                bool ok = true;
                if (elen == 5 && !memcmp(e, "&amp;", 5))
                    cp = '&';
                else if (elen == 4 && !memcmp(e, "&lt;", 4))
                    cp = '<';
                else if (elen == 4 && !memcmp(e, "&gt;", 4))
                    cp = '>';
                else if (elen == 6 && !memcmp(e, "&quot;", 6))
                    cp = '"';
                else if (elen == 6 && !memcmp(e, "&apos;", 6))
                    cp = '\'';
                else if (elen > 3 && e[1] == '#') {
                    char *endp;
                    bool hex = e[2] == 'x' || e[2] == 'X';
                    cp = strtoul(e + (hex ? 3 : 2), &endp, hex ? 16 : 10);
                    ok = endp == semi;
                } else {
                    ok = false;
                }
                /* Every entity is at least as long as its UTF-8 encoding. */
                if (ok) {
                    size_t w = put_utf8(tmp + o, cp);
                    if (w <= elen) {
                        o += w;
                        i += elen - 1;
                        continue;
                    }
                }
            }
        }
        tmp[o++] = c;
    }
    char *r = parse_strdup_clean(tmp, o);
    free(tmp);
    return r;
}

typedef struct pdf_meta {
    char *title, *author;
    int64_t created_ms, updated_ms;
} pdf_meta;

static void parse_head(const char *head, const char *end, pdf_meta *m) {
    const char *t = find_in(head, end, "<title>");
    if (t) {
        t += 7;
        const char *te = find_in(t, end, "</title>");
        if (te) m->title = html_value(t, (size_t)(te - t));
    }
    for (const char *p = head; (p = find_in(p, end, "<meta name=\"")) != NULL;) {
        p += 12;
        const char *ne = memchr(p, '"', (size_t)(end - p));
        if (!ne) break;
        const char *c = find_in(ne, end, "content=\"");
        const char *line_end = memchr(p, '\n', (size_t)(end - p));
        if (!c || (line_end && c > line_end)) continue;
        c += 9;
        const char *ce = memchr(c, '"', (size_t)(end - c));
        if (!ce) break;
        size_t nlen = (size_t)(ne - p), clen = (size_t)(ce - c);
        if (nlen == 6 && !memcmp(p, "Author", 6) && !m->author) {
            m->author = html_value(c, clen);
        } else if (nlen == 12 && !memcmp(p, "CreationDate", 12)) {
            if (lore_parse_iso8601n(c, clen, &m->created_ms)) m->created_ms = 0;
        } else if (nlen == 7 && !memcmp(p, "ModDate", 7)) {
            if (lore_parse_iso8601n(c, clen, &m->updated_ms)) m->updated_ms = 0;
        }
        p = ce;
    }
}

/* ---- body text -> blocks ---- */

typedef struct pdf_text {
    parse_builder *pb;
    lore_buf para;
    parse_block_kind kind;
    char *first_line; /* owned: title candidate */
    bool first_seen;
} pdf_text;

static const char *const bullet_marks[] = {"\xe2\x80\xa2",
                                           "\xe2\x97\xa6",
                                           "\xe2\x96\xaa",
                                           "\xe2\x80\xa3",
                                           "\xe2\x97\x8f",
                                           "\xe2\x97\x8b",
                                           "\xe2\x96\xa0",
                                           "\xef\x82\xb7",
                                           "-",
                                           "*"};

/* Length of a bullet at the start of s followed by a space (the space
 * included), len + 1 when s is a bullet alone (pdftotext often puts the
 * glyph on a line of its own), or 0. Numbered lines ("1. ") are not taken
 * as items: they are as often numbered headings. */
static size_t bullet_len(const char *s, size_t len) {
    for (size_t i = 0; i < sizeof bullet_marks / sizeof bullet_marks[0]; i++) {
        size_t n = strlen(bullet_marks[i]);
        if (len < n || memcmp(s, bullet_marks[i], n) != 0) continue;
        if (len == n) return len + 1;
        if (s[n] == ' ' || s[n] == '\t') return n + 1;
    }
    return 0;
}

/* A paragraph that is only a page number. */
static bool is_page_number(const char *s, size_t len) {
    if (!len || len > 4) return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

static bool is_lower_start(const char *s, size_t len) {
    return len && s[0] >= 'a' && s[0] <= 'z';
}

static lore_status flush_para(pdf_text *t) {
    lore_status st = LORE_OK;
    if (!is_page_number(t->para.data, t->para.len))
        st = pb_add_block(t->pb, t->kind, 0, t->para.data, t->para.len);
    lore_buf_reset(&t->para);
    t->kind = PARSE_BLOCK_PARAGRAPH;
    return st;
}

/* Appends a continuation line to the current paragraph. */
static lore_status join_line(pdf_text *t, const char *s, size_t len) {
    char *d = t->para.data;
    size_t n = t->para.len;
    if (n >= 2 && d[n - 1] == '-' &&
        ((d[n - 2] >= 'a' && d[n - 2] <= 'z') || (unsigned char)d[n - 2] >= 0x80) &&
        is_lower_start(s, len)) {
        t->para.len--; /* "exam-" + "ple" */
        t->para.data[t->para.len] = '\0';
    } else {
        lore_status st = lore_buf_append_byte(&t->para, ' ');
        if (st != LORE_OK) return st;
    }
    return lore_buf_append(&t->para, s, len);
}

static bool ends_sentence(const lore_buf *b) {
    if (!b->len) return true;
    char c = b->data[b->len - 1];
    return c == '.' || c == '!' || c == '?' || c == ':' || c == ';' || c == '"' || c == ')';
}

enum { GAP_NONE, GAP_BLANK, GAP_PAGE };

static lore_status pdf_body(pdf_text *t, const char *s, size_t len) {
    lore_status st = LORE_OK;
    int gap = GAP_NONE;
    const char *mark = NULL; /* a bullet seen alone on its line */
    size_t mark_len = 0;
    size_t i = 0;
    while (i < len) {
        if (s[i] == '\f') {
            gap = GAP_PAGE;
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && s[j] != '\n' && s[j] != '\f')
            j++;
        const char *line = s + i;
        size_t ll = j - i;
        i = j < len && s[j] == '\n' ? j + 1 : j;
        while (ll && (*line == ' ' || *line == '\t' || *line == '\r'))
            line++, ll--;
        while (ll && (line[ll - 1] == ' ' || line[ll - 1] == '\t' || line[ll - 1] == '\r'))
            ll--;
        if (!ll) {
            if (gap == GAP_NONE) gap = GAP_BLANK;
            continue;
        }
        size_t bl = bullet_len(line, ll);
        if (bl == ll + 1) { /* the item's text follows, maybe after a blank line */
            mark = line;
            mark_len = ll;
            continue;
        }
        if (!t->first_seen) {
            t->first_seen = true;
            if (ll <= PDF_TITLE_FROM_LINE_MAX) t->first_line = parse_strdup_clean(line, ll);
        }
        bool item = bl || mark;
        if (t->para.len) {
            bool cont_page =
                gap == GAP_PAGE && !item && !ends_sentence(&t->para) && is_lower_start(line, ll);
            if (item && t->kind == PARSE_BLOCK_LIST) {
                st = lore_buf_append_byte(&t->para, '\n'); /* next item, even after a gap */
                goto add;
            }
            if (!item && (gap == GAP_NONE || cont_page)) {
                st = join_line(t, line, ll); /* a wrapped line, also of a list item */
                goto next;
            }
            if ((st = flush_para(t)) != LORE_OK) return st;
        }
        t->kind = item ? PARSE_BLOCK_LIST : PARSE_BLOCK_PARAGRAPH;
    add:
        if (st == LORE_OK && mark) {
            st = lore_buf_append(&t->para, mark, mark_len);
            if (st == LORE_OK) st = lore_buf_append_byte(&t->para, ' ');
        }
        if (st == LORE_OK) st = lore_buf_append(&t->para, line, ll);
    next:
        if (st != LORE_OK) return st;
        gap = GAP_NONE;
        mark = NULL;
    }
    if (t->para.len) st = flush_para(t);
    return st;
}

/* ---- running pdftotext ---- */

static lore_status write_all(int fd, const uint8_t *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return LORE_IO;
        }
        p += w;
        n -= (size_t)w;
    }
    return LORE_OK;
}

static bool has_pdf_header(const uint8_t *data, size_t len) {
    /* pdftotext accepts up to 1 KiB of junk before the header, like most readers. */
    size_t scan = len < 1024 ? len : 1024;
    for (size_t i = 0; i + 5 <= scan; i++)
        if (data[i] == '%' && !memcmp(data + i, "%PDF-", 5)) return true;
    return false;
}

PARSE_FN(parse_pdf) {
    *out = NULL;
    parse_limits dflt = {64u << 20, 16u << 20, 1000000, 30, 1024};
    if (!lim) lim = &dflt;
    lore_status st = LORE_OK;
    parse_result *r = NULL;
    subproc_result sub;
    memset(&sub, 0, sizeof sub);
    pdf_meta meta = {0};
    parse_builder pb;
    pb_init(&pb, lim->max_text);
    pdf_text txt = {.pb = &pb};
    lore_buf_init(&txt.para, lim->max_text);
    char tmpl[PATH_MAX] = "";
    int fd = -1;

    if (len > lim->max_input) {
        parse_set_error(err, errlen, "PDF is larger than the %zu-byte input limit", lim->max_input);
        st = LORE_TOO_LARGE;
        goto out;
    }
    if (!has_pdf_header(data, len)) {
        parse_set_error(err, errlen, "not a PDF file: no %%PDF- header");
        st = LORE_INVALID;
        goto out;
    }
    char exe[PATH_MAX];
    if (!subproc_find_exe(getenv("LORE_PDFTOTEXT"), "pdftotext", exe, sizeof exe)) {
        parse_set_error(err, errlen, "pdftotext not found: install poppler-utils");
        st = LORE_UNSUPPORTED;
        goto out;
    }

    /* The input goes to a private file: pdftotext needs to seek. */
    const char *tmpdir = getenv("TMPDIR");
    if (!tmpdir || tmpdir[0] != '/') tmpdir = "/tmp";
    int tn = snprintf(tmpl, sizeof tmpl, "%s/lore-pdf-XXXXXX", tmpdir);
    if (tn < 0 || (size_t)tn >= sizeof tmpl) {
        tmpl[0] = '\0';
        parse_set_error(err, errlen, "temporary directory path too long");
        st = LORE_IO;
        goto out;
    }
    fd = mkostemp(tmpl, O_CLOEXEC); /* creates it with mode 0600 */
    if (fd < 0) {
        parse_set_error(err, errlen, "cannot create temporary file in %s: %s", tmpdir,
                        strerror(errno));
        tmpl[0] = '\0';
        st = LORE_IO;
        goto out;
    }
    st = write_all(fd, data, len);
    if (close(fd) < 0 && st == LORE_OK) st = LORE_IO;
    fd = -1;
    if (st != LORE_OK) {
        parse_set_error(err, errlen, "cannot write temporary file %s: %s", tmpl, strerror(errno));
        goto out;
    }

    char a0[] = "pdftotext", a1[] = "-enc", a2[] = "UTF-8", a3[] = "-eol", a4[] = "unix",
         a5[] = "-htmlmeta", a7[] = "-";
    char *const argv[] = {a0, a1, a2, a3, a4, a5, tmpl, a7, NULL};
    size_t max_output =
        lim->max_text > SIZE_MAX - PDF_HEAD_SLACK ? SIZE_MAX : lim->max_text + PDF_HEAD_SLACK;
    subproc_limits sl = {lim->pdf_timeout_s > 0 ? lim->pdf_timeout_s : 30, lim->pdf_memory_mb,
                         max_output};
    st = subproc_run(exe, argv, &sl, &sub);
    unlink(tmpl);
    tmpl[0] = '\0';
    if (st == LORE_NOT_FOUND) {
        parse_set_error(err, errlen, "pdftotext not found: install poppler-utils (%s: %s)", exe,
                        sub.errline);
        st = LORE_UNSUPPORTED;
        goto out;
    }
    if (st != LORE_OK) {
        parse_set_error(err, errlen, "cannot run pdftotext: %s", lore_status_message(st));
        goto out;
    }
    if (sub.timed_out) {
        parse_set_error(err, errlen, "pdftotext timed out after %d s", sl.timeout_s);
        st = LORE_TIMEOUT;
        goto out;
    }
    if (sub.out_truncated) {
        parse_set_error(err, errlen, "PDF text exceeds the %zu-byte limit", lim->max_text);
        st = LORE_TOO_LARGE;
        goto out;
    }
    if (!sub.exited || sub.exit_code != 0) {
        char why[64];
        if (sub.exited)
            snprintf(why, sizeof why, "exit status %d", sub.exit_code);
        else if (sub.term_signal == SIGXCPU)
            snprintf(why, sizeof why, "CPU time limit exceeded");
        else
            snprintf(why, sizeof why, "killed by signal %d", sub.term_signal);
        if (sub.errline[0])
            parse_set_error(err, errlen, "pdftotext failed: %s", sub.errline);
        else
            parse_set_error(err, errlen, "pdftotext failed: %s", why);
        st = LORE_INVALID;
        goto out;
    }

    const char *o = sub.out, *oend = sub.out + sub.out_len;
    const char *body = o, *body_end = oend;
    const char *head_end = find_in(o, oend, "</head>");
    if (head_end && find_in(o, head_end, "<head>")) {
        parse_head(o, head_end, &meta);
        const char *pre = find_in(head_end, oend, "<pre>\n");
        if (pre) {
            body = pre + 6;
            const char *pe = rfind_in(body, oend, "</pre>");
            if (pe) body_end = pe;
        } else {
            body = body_end; /* a head without a body: no text */
        }
    }
    st = pdf_body(&txt, body, (size_t)(body_end - body));
    if (st != LORE_OK) {
        if (st == LORE_TOO_LARGE)
            parse_set_error(err, errlen, "PDF text exceeds the %zu-byte limit", lim->max_text);
        else
            parse_set_error(err, errlen, "PDF: %s", lore_status_message(st));
        goto out;
    }

    r = calloc(1, sizeof *r);
    parse_doc *d = r ? parse_result_add(r) : NULL;
    if (!d || (st = pb_finish(&pb, d)) != LORE_OK) {
        st = LORE_NOMEM;
        parse_set_error(err, errlen, "out of memory");
        goto out;
    }
    if (meta.title) {
        d->title = meta.title;
        meta.title = NULL;
    } else if (txt.first_line) {
        d->title = txt.first_line;
        txt.first_line = NULL;
    } else {
        d->title = parse_title_from_name(name);
    }
    d->author = meta.author;
    meta.author = NULL;
    d->created_ms = meta.created_ms;
    d->updated_ms = meta.updated_ms;
    *out = r;
    r = NULL;

out: /* on failure: nothing is left behind (temp file unlinked, child reaped) */
    if (fd >= 0) close(fd);
    if (tmpl[0]) unlink(tmpl);
    subproc_result_free(&sub);
    free(meta.title);
    free(meta.author);
    free(txt.first_line);
    lore_buf_free(&txt.para);
    pb_free(&pb);
    parse_result_free(r);
    return st;
}
