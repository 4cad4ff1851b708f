/* DOCX parser: Office Open XML word-processing documents, read in memory.
 *
 * A .docx is a ZIP archive (libzip reads it from the caller's buffer); the
 * parts used are:
 *   word/document.xml   the body (another main part named by _rels/.rels is
 *                       used when that one is missing)
 *   word/styles.xml     optional: maps style ids to heading levels, so
 *                       localized style ids ("berschrift1") work too
 *   docProps/core.xml   optional: dc:title, dc:creator, dcterms:created and
 *                       dcterms:modified (ISO 8601)
 *
 * Safety: every part is streamed through libxml2's xmlTextReader straight
 * from zip_fread(), so memory does not grow with the XML (no DOM). The
 * uncompressed size is capped twice: by the size the archive claims
 * (zip_stat) and by counting the bytes actually inflated (a lying header
 * cannot sneak a zip bomb through). Options are XML_PARSE_NONET |
 * XML_PARSE_NOERROR | XML_PARSE_NOWARNING: no entity substitution, no DTD
 * loading, and a part that carries a DOCTYPE at all is refused (Word never
 * writes one), which rules out entity expansion attacks. Text is capped by
 * the builder (max_text).
 *
 * Mapping to blocks:
 *   w:p                 PARAGRAPH; w:t text, w:tab -> tab, w:br/w:cr -> newline,
 *                       w:noBreakHyphen -> "-" (w:delText, w:instrText and
 *                       tab-stop definitions are not text)
 *   pStyle Heading1..6  HEADING with that level (also "heading N" style names
 *                       and w:outlineLvl, from styles.xml or the paragraph);
 *                       levels beyond 6 become 6
 *   pStyle Title        HEADING level 1, and the title candidate
 *   w:numPr (numId!=0)  list item (also via the paragraph style's w:numPr, or
 *   or List Bullet/     a style named "List Bullet..."/"List Number..."):
 *   Number style        consecutive items form one LIST block,
 *                       "- item" per line, indented two spaces per w:ilvl
 *   w:tbl               TABLE block: cells joined by " | ", rows by newlines;
 *                       a nested table is flattened into its cell
 *   text boxes          paragraphs nested in a paragraph are folded into it;
 *                       mc:Fallback copies and tracked-change records
 *                       (w:pPrChange ...) are skipped
 * Title: dc:title, else the first Title-styled paragraph, else the first
 * heading, else the file name. */
#include "util/timeutil.h"
#include "parse/parse_int.h"

#include <libxml/xmlreader.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zip.h>

#define DOCX_MAX_MAIN_XML ((size_t)256 << 20) /* streamed: bounds time, not memory */
#define DOCX_MAX_SIDE_XML ((size_t)16 << 20)  /* styles.xml, core.xml, .rels */
#define DOCX_MAX_STYLES 8192
#define DOCX_MAX_FIELD (64 * 1024) /* one core.xml value */

static const char W_NS[] = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
static const char W_NS_STRICT[] = "http://purl.oclc.org/ooxml/wordprocessingml/main";
static const char MC_NS[] = "http://schemas.openxmlformats.org/markup-compatibility/2006";

/* ---- streaming a ZIP entry through xmlTextReader ---- */

typedef struct zsrc {
    zip_file_t *zf;
    size_t read, cap;
    bool over, ioerr, doctype;
    bool in_body; /* past the prolog: the root element has started */
    int match;    /* bytes of "<!DOCTYPE" matched so far */
    bool prev_lt; /* the previous byte was '<' */
} zsrc;

/* Watches the prolog for "<!DOCTYPE" before libxml2 sees it: the parser
 * checks entity declarations (and their first expansion) while filling its
 * buffer, before the reader would hand us the DOCTYPE node. Byte by byte, so
 * a marker split across reads is still caught. */
static void zsrc_scan_prolog(zsrc *z, const char *buf, size_t n) {
    static const char pat[] = "<!DOCTYPE";
    for (size_t i = 0; i < n && !z->in_body && !z->doctype; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (z->prev_lt && (c == '_' || c == ':' || c >= 0x80 || (unsigned)((c | 0x20) - 'a') < 26u))
            z->in_body = true;
        if (z->match > 0 && c == (unsigned char)pat[z->match]) {
            if (++z->match == (int)sizeof pat - 1) z->doctype = true;
        } else {
            z->match = c == '<';
        }
        z->prev_lt = c == '<';
    }
}

static int zsrc_read(void *ctx, char *buf, int len) {
    zsrc *z = ctx;
    if (z->over || z->ioerr || z->doctype) return -1;
    if (len <= 0) return 0;
    zip_int64_t n = zip_fread(z->zf, buf, (zip_uint64_t)len);
    if (n < 0) {
        z->ioerr = true;
        return -1;
    }
    z->read += (size_t)n;
    if (z->read > z->cap) {
        z->over = true;
        return -1;
    }
    if (!z->in_body) {
        zsrc_scan_prolog(z, buf, (size_t)n);
        if (z->doctype) return -1;
    }
    return (int)n;
}

typedef struct xml_err {
    char msg[160];
    int line;
    bool set;
} xml_err;

static void xml_on_error(void *arg, xmlErrorPtr e) {
    xml_err *xe = arg;
    if (xe->set || !e || e->level < XML_ERR_ERROR) return;
    xe->set = true;
    xe->line = e->line;
    const char *m = e->message ? e->message : "malformed XML";
    size_t n = strcspn(m, "\n");
    if (n >= sizeof xe->msg) n = sizeof xe->msg - 1;
    n = parse_utf8_valid_prefix(m, n);
    memcpy(xe->msg, m, n);
    xe->msg[n] = '\0';
}

/* Called for every node; returns LORE_OK to continue. */
typedef lore_status (*xml_node_fn)(void *ctx, xmlTextReaderPtr rd, int type);

static bool is_w_ns(const xmlChar *ns) {
    return ns && (!strcmp((const char *)ns, W_NS) || !strcmp((const char *)ns, W_NS_STRICT));
}

/* Streams part path of za through fn. LORE_NOT_FOUND when the part is
 * missing (no message); other failures write err. */
static lore_status xml_walk(zip_t *za, const char *path, size_t cap, xml_node_fn fn, void *ctx,
                            char *err, size_t errlen) {
    lore_status st = LORE_OK;
    zsrc z = {.cap = cap};
    xmlTextReaderPtr rd = NULL;
    xml_err xe = {.set = false};

    zip_int64_t idx = zip_name_locate(za, path, 0);
    if (idx < 0) return LORE_NOT_FOUND;
    zip_stat_t zs;
    zip_stat_init(&zs);
    if (zip_stat_index(za, (zip_uint64_t)idx, 0, &zs) == 0 && (zs.valid & ZIP_STAT_SIZE) &&
        zs.size > cap) {
        parse_set_error(err, errlen, "%s is larger than %zu bytes uncompressed", path, cap);
        return LORE_TOO_LARGE;
    }
    z.zf = zip_fopen_index(za, (zip_uint64_t)idx, 0);
    if (!z.zf) {
        parse_set_error(err, errlen, "cannot read %s: %s", path, zip_strerror(za));
        return LORE_INVALID;
    }
    rd = xmlReaderForIO(zsrc_read, NULL, &z, path, NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!rd) {
        st = z.over ? LORE_TOO_LARGE : z.ioerr ? LORE_INVALID : LORE_NOMEM;
        goto fail;
    }
    xmlTextReaderSetStructuredErrorHandler(rd, xml_on_error, &xe);
    int ret;
    while ((ret = xmlTextReaderRead(rd)) == 1) {
        int type = xmlTextReaderNodeType(rd);
        if (type == XML_READER_TYPE_DOCUMENT_TYPE) {
            parse_set_error(err, errlen, "%s: DOCTYPE declarations are not allowed", path);
            st = LORE_INVALID;
            goto out;
        }
        if ((st = fn(ctx, rd, type)) != LORE_OK) goto out; /* fn wrote err */
    }
    if (ret == 0) goto out;
    st = z.over ? LORE_TOO_LARGE : LORE_INVALID;
fail:
    if (z.doctype) {
        parse_set_error(err, errlen, "%s: DOCTYPE declarations are not allowed", path);
        st = LORE_INVALID;
    } else if (z.over)
        parse_set_error(err, errlen, "%s is larger than %zu bytes uncompressed", path, cap);
    else if (z.ioerr)
        parse_set_error(err, errlen, "cannot read %s: %s", path, zip_file_strerror(z.zf));
    else if (xe.set)
        parse_set_error(err, errlen, "%s: line %d: invalid XML: %s", path, xe.line, xe.msg);
    else if (st == LORE_NOMEM)
        parse_set_error(err, errlen, "out of memory");
    else
        parse_set_error(err, errlen, "%s: invalid XML", path);
out: /* leaves nothing: the reader and the entry are closed */
    if (rd) xmlFreeTextReader(rd);
    zip_fclose(z.zf);
    return st;
}

/* Attribute local (in the element's own namespace, or unqualified); owned. */
static char *attr(xmlTextReaderPtr rd, const char *local) {
    const xmlChar *ns = xmlTextReaderConstNamespaceUri(rd);
    xmlChar *v = ns ? xmlTextReaderGetAttributeNs(rd, (const xmlChar *)local, ns) : NULL;
    if (!v) v = xmlTextReaderGetAttribute(rd, (const xmlChar *)local);
    if (!v) return NULL;
    char *s = strdup((const char *)v);
    xmlFree(v);
    return s;
}

/* Copies s with whitespace runs collapsed to single spaces, trimmed; owned
 * or NULL when empty. */
static char *collapse_ws(const char *s, size_t len) {
    char *tmp = malloc(len + 1);
    if (!tmp) return NULL;
    size_t o = 0;
    bool sp = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            sp = o > 0;
            continue;
        }
        if (sp) tmp[o++] = ' ', sp = false;
        tmp[o++] = c;
    }
    char *r = parse_strdup_clean(tmp, o);
    free(tmp);
    return r;
}

/* ---- styles.xml: style id -> heading level ---- */

typedef struct docx_style {
    char *id;
    uint8_t level; /* 1..6, 0 when not a heading */
    bool title;
    bool list; /* numbered through the style (w:numPr) or "List Bullet/Number" */
} docx_style;

typedef struct docx_styles {
    docx_style *v;
    size_t n, cap;
    int style_depth; /* depth of the w:style being read, -1 outside */
} docx_styles;

/* "Heading3", "heading 3", "Heading 3" -> 3; 0 otherwise. */
static uint8_t heading_from_name(const char *s) {
    if (!s || strncasecmp(s, "heading", 7) != 0) return 0;
    s += 7;
    if (*s == ' ') s++;
    if (*s < '1' || *s > '9' || s[1]) return 0;
    return (uint8_t)(*s - '0' > 6 ? 6 : *s - '0');
}

static uint8_t level_from_outline(const char *val) {
    if (!val || val[0] < '0' || val[0] > '8' || val[1]) return 0; /* 9 = body text */
    int lv = val[0] - '0' + 1;
    return (uint8_t)(lv > 6 ? 6 : lv);
}

static lore_status styles_node(void *ctx, xmlTextReaderPtr rd, int type) {
    docx_styles *ss = ctx;
    int depth = xmlTextReaderDepth(rd);
    if (type == XML_READER_TYPE_END_ELEMENT) {
        if (depth == ss->style_depth) ss->style_depth = -1;
        return LORE_OK;
    }
    if (type != XML_READER_TYPE_ELEMENT || !is_w_ns(xmlTextReaderConstNamespaceUri(rd)))
        return LORE_OK;
    const char *local = (const char *)xmlTextReaderConstLocalName(rd);
    if (!strcmp(local, "style")) {
        ss->style_depth = -1;
        char *stype = attr(rd, "type");
        bool para = !stype || !strcmp(stype, "paragraph");
        free(stype);
        if (!para || ss->n >= DOCX_MAX_STYLES) return LORE_OK;
        char *id = attr(rd, "styleId");
        if (!id) return LORE_OK;
        if (ss->n == ss->cap) {
            size_t ncap = ss->cap ? ss->cap * 2 : 64;
            docx_style *nv = realloc(ss->v, ncap * sizeof *nv);
            if (!nv) {
                free(id);
                return LORE_NOMEM;
            }
            ss->v = nv;
            ss->cap = ncap;
        }
        docx_style *s = &ss->v[ss->n++];
        s->id = id;
        s->level = heading_from_name(id);
        s->title = !strcasecmp(id, "Title");
        s->list = false;
        if (!xmlTextReaderIsEmptyElement(rd)) ss->style_depth = depth;
    } else if (ss->style_depth >= 0 && ss->n) {
        docx_style *s = &ss->v[ss->n - 1];
        if (!strcmp(local, "name")) {
            char *v = attr(rd, "val");
            uint8_t lv = heading_from_name(v);
            if (lv) s->level = lv;
            if (v && !strcasecmp(v, "Title")) s->title = true;
            if (v && (!strncasecmp(v, "List Bullet", 11) || !strncasecmp(v, "List Number", 11)))
                s->list = true;
            free(v);
        } else if (!strcmp(local, "outlineLvl") && !s->level) {
            char *v = attr(rd, "val");
            s->level = level_from_outline(v);
            free(v);
        } else if (!strcmp(local, "numId")) {
            char *v = attr(rd, "val");
            s->list = v && strcmp(v, "0") != 0;
            free(v);
        }
    }
    return LORE_OK;
}

static void styles_free(docx_styles *ss) {
    for (size_t i = 0; i < ss->n; i++)
        free(ss->v[i].id);
    free(ss->v);
}

static const docx_style *styles_find(const docx_styles *ss, const char *id) {
    for (size_t i = 0; i < ss->n; i++)
        if (!strcmp(ss->v[i].id, id)) return &ss->v[i];
    return NULL;
}

/* ---- docProps/core.xml ---- */

typedef struct docx_core {
    lore_buf field;
    int which; /* 0 none, 1 title, 2 creator, 3 created, 4 modified */
    char *title, *author;
    int64_t created_ms, updated_ms;
} docx_core;

static lore_status core_node(void *ctx, xmlTextReaderPtr rd, int type) {
    docx_core *c = ctx;
    if (type == XML_READER_TYPE_ELEMENT && xmlTextReaderDepth(rd) == 1) {
        const char *local = (const char *)xmlTextReaderConstLocalName(rd);
        c->which = !strcmp(local, "title")      ? 1
                   : !strcmp(local, "creator")  ? 2
                   : !strcmp(local, "created")  ? 3
                   : !strcmp(local, "modified") ? 4
                                                : 0;
        lore_buf_reset(&c->field);
        if (xmlTextReaderIsEmptyElement(rd)) c->which = 0;
    } else if (c->which && (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
                            type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE ||
                            type == XML_READER_TYPE_WHITESPACE)) {
        const char *v = (const char *)xmlTextReaderConstValue(rd);
        if (v && lore_buf_append_str(&c->field, v) != LORE_OK) {
            /* Over DOCX_MAX_FIELD: keep what fits; metadata is not worth failing for. */
        }
    } else if (type == XML_READER_TYPE_END_ELEMENT && c->which && xmlTextReaderDepth(rd) == 1) {
        const char *s = c->field.data ? c->field.data : "";
        size_t n = c->field.len;
        if (c->which == 1 && !c->title)
            c->title = collapse_ws(s, n);
        else if (c->which == 2 && !c->author)
            c->author = collapse_ws(s, n);
        else if (c->which == 3 && lore_parse_iso8601n(s, n, &c->created_ms))
            c->created_ms = 0;
        else if (c->which == 4 && lore_parse_iso8601n(s, n, &c->updated_ms))
            c->updated_ms = 0;
        c->which = 0;
    }
    return LORE_OK;
}

/* ---- _rels/.rels: the main part when it is not word/document.xml ---- */

typedef struct docx_rels {
    char *target;
} docx_rels;

static lore_status rels_node(void *ctx, xmlTextReaderPtr rd, int type) {
    docx_rels *r = ctx;
    if (type != XML_READER_TYPE_ELEMENT || r->target) return LORE_OK;
    if (strcmp((const char *)xmlTextReaderConstLocalName(rd), "Relationship") != 0) return LORE_OK;
    xmlChar *t = xmlTextReaderGetAttribute(rd, (const xmlChar *)"Type");
    size_t tl = t ? strlen((const char *)t) : 0;
    bool main = tl >= 15 && !strcmp((const char *)t + tl - 15, "/officeDocument");
    xmlFree(t);
    if (!main) return LORE_OK;
    xmlChar *target = xmlTextReaderGetAttribute(rd, (const xmlChar *)"Target");
    if (target) {
        const char *s = (const char *)target;
        while (*s == '/')
            s++; /* part names are relative to the package root */
        r->target = strdup(s);
        xmlFree(target);
        if (!r->target) return LORE_NOMEM;
    }
    return LORE_OK;
}

/* ---- word/document.xml ---- */

typedef struct docx_body {
    parse_builder *pb;
    const docx_styles *styles;
    char *err;
    size_t errlen;
    int skip_depth; /* skipping the subtree of the element at this depth, or -1 */
    int p_depth;    /* w:p nesting (text boxes nest paragraphs) */
    int r_depth;    /* inside w:r */
    int tbl_depth;  /* tables started outside any paragraph */
    bool in_t;
    /* the current outermost paragraph */
    uint8_t level;
    bool title, list;
    int ilvl;
    lore_buf para, list_buf, table, cell;
    bool row_has_cell;
    char *title_para, *first_heading; /* owned title candidates */
} docx_body;

static lore_status body_fail(docx_body *b, lore_status st) {
    if (st == LORE_TOO_LARGE)
        parse_set_error(b->err, b->errlen, "DOCX text exceeds the %zu-byte limit", b->pb->text.cap);
    else
        parse_set_error(b->err, b->errlen, "DOCX: %s", lore_status_message(st));
    return st;
}

static lore_status flush_list(docx_body *b) {
    if (!b->list_buf.len) return LORE_OK;
    lore_status st = pb_add_block(b->pb, PARSE_BLOCK_LIST, 0, b->list_buf.data, b->list_buf.len);
    lore_buf_reset(&b->list_buf);
    return st;
}

/* Appends s to dst with tabs and newlines made spaces (table cells). */
static lore_status append_flat(lore_buf *dst, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char c = s[i] == '\n' || s[i] == '\t' || s[i] == '\r' ? ' ' : s[i];
        lore_status st = lore_buf_append_byte(dst, (uint8_t)c);
        if (st != LORE_OK) return st;
    }
    return LORE_OK;
}

static void trim(const char **s, size_t *n) {
    while (*n && (**s == ' ' || **s == '\t' || **s == '\n'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\n'))
        (*n)--;
}

static lore_status end_paragraph(docx_body *b) {
    lore_status st = LORE_OK;
    const char *s = b->para.data ? b->para.data : "";
    size_t n = b->para.len;
    trim(&s, &n);
    if (b->tbl_depth > 0) {
        if (n) {
            if (b->cell.len) st = lore_buf_append_byte(&b->cell, ' ');
            if (st == LORE_OK) st = append_flat(&b->cell, s, n);
        }
    } else if (b->title || b->level) {
        if ((st = flush_list(b)) != LORE_OK) goto out;
        if (b->title && !b->title_para) b->title_para = collapse_ws(s, n);
        if (!b->title && !b->first_heading) b->first_heading = collapse_ws(s, n);
        st = pb_add_block(b->pb, PARSE_BLOCK_HEADING, b->level ? b->level : 1, s, n);
    } else if (b->list) {
        if (n) {
            if (b->list_buf.len) st = lore_buf_append_byte(&b->list_buf, '\n');
            for (int i = 0; i < b->ilvl && st == LORE_OK; i++)
                st = lore_buf_append(&b->list_buf, "  ", 2);
            if (st == LORE_OK) st = lore_buf_append(&b->list_buf, "- ", 2);
            if (st == LORE_OK) st = lore_buf_append(&b->list_buf, s, n);
        }
    } else {
        if ((st = flush_list(b)) != LORE_OK) goto out;
        st = pb_add_block(b->pb, PARSE_BLOCK_PARAGRAPH, 0, s, n);
    }
out:
    lore_buf_reset(&b->para);
    b->level = 0;
    b->title = b->list = false;
    b->ilvl = 0;
    return st;
}

/* w:pStyle / w:numPr / w:outlineLvl of the outermost paragraph. */
static void paragraph_property(docx_body *b, xmlTextReaderPtr rd, const char *local) {
    if (!strcmp(local, "pStyle")) {
        char *v = attr(rd, "val");
        if (!v) return;
        const docx_style *s = b->styles ? styles_find(b->styles, v) : NULL;
        if (s) {
            b->level = s->level;
            b->title = s->title;
            b->list = s->list; /* the paragraph's own w:numPr, read later, wins */
        } else {
            b->level = heading_from_name(v);
            b->title = !strcasecmp(v, "Title");
        }
        free(v);
    } else if (!strcmp(local, "numId")) {
        char *v = attr(rd, "val");
        b->list = v && strcmp(v, "0") != 0; /* numId 0 removes numbering */
        free(v);
    } else if (!strcmp(local, "ilvl")) {
        char *v = attr(rd, "val");
        b->ilvl = v && v[0] >= '0' && v[0] <= '8' && !v[1] ? v[0] - '0' : 0;
        free(v);
    } else if (!strcmp(local, "outlineLvl")) {
        char *v = attr(rd, "val");
        uint8_t lv = level_from_outline(v);
        if (lv) b->level = lv;
        free(v);
    }
}

static bool skipped_element(const char *local, const xmlChar *ns) {
    if (ns && !strcmp((const char *)ns, MC_NS)) return !strcmp(local, "Fallback");
    if (!is_w_ns(ns)) return false;
    size_t n = strlen(local);
    /* w:pPrChange, w:rPrChange, w:tblPrChange, ...: old formatting records */
    return n > 6 && !strcmp(local + n - 6, "Change");
}

static lore_status body_start(docx_body *b, xmlTextReaderPtr rd, const char *local, bool empty) {
    lore_status st = LORE_OK;
    if (!strcmp(local, "p")) {
        if (empty) return LORE_OK;
        if (b->p_depth > 0 && b->para.len) st = lore_buf_append_byte(&b->para, '\n');
        b->p_depth++;
    } else if (!strcmp(local, "r")) {
        if (!empty) b->r_depth++;
    } else if (!strcmp(local, "t")) {
        b->in_t = !empty && b->p_depth > 0;
    } else if (b->p_depth > 0 && b->r_depth > 0 &&
               (!strcmp(local, "tab") || !strcmp(local, "br") || !strcmp(local, "cr") ||
                !strcmp(local, "noBreakHyphen"))) {
        char c = local[0] == 't' ? '\t' : local[0] == 'n' ? '-' : '\n';
        st = lore_buf_append_byte(&b->para, (uint8_t)c);
    } else if (!strcmp(local, "tbl")) {
        if (empty || b->p_depth > 0) return LORE_OK; /* folded into the paragraph */
        if (b->tbl_depth++ == 0) {
            if ((st = flush_list(b)) != LORE_OK) return st;
            lore_buf_reset(&b->table);
        }
    } else if (!strcmp(local, "tr") && b->tbl_depth == 1 && b->p_depth == 0) {
        if (b->table.len) st = lore_buf_append_byte(&b->table, '\n');
        b->row_has_cell = false;
    } else if (!strcmp(local, "tc") && b->tbl_depth == 1 && b->p_depth == 0) {
        lore_buf_reset(&b->cell);
        if (empty) {
            if (b->row_has_cell) st = lore_buf_append(&b->table, " | ", 3);
            b->row_has_cell = true;
        }
    } else if (b->p_depth == 1) {
        paragraph_property(b, rd, local);
    }
    return st;
}

static lore_status body_end(docx_body *b, const char *local) {
    lore_status st = LORE_OK;
    if (!strcmp(local, "p")) {
        if (b->p_depth > 0 && --b->p_depth == 0)
            st = end_paragraph(b);
        else if (b->p_depth > 0)
            st = lore_buf_append_byte(&b->para, '\n'); /* text box */
    } else if (!strcmp(local, "r")) {
        if (b->r_depth > 0) b->r_depth--;
    } else if (!strcmp(local, "t")) {
        b->in_t = false;
    } else if (!strcmp(local, "tc") && b->p_depth == 0 && b->tbl_depth >= 1) {
        if (b->tbl_depth == 1) {
            const char *s = b->cell.data ? b->cell.data : "";
            size_t n = b->cell.len;
            trim(&s, &n);
            if (b->row_has_cell) st = lore_buf_append(&b->table, " | ", 3);
            if (st == LORE_OK) st = lore_buf_append(&b->table, s, n);
            b->row_has_cell = true;
        } else if (b->cell.len) {
            st = lore_buf_append_byte(&b->cell, ' '); /* cells of a nested table */
        }
    } else if (!strcmp(local, "tbl") && b->p_depth == 0 && b->tbl_depth > 0) {
        if (--b->tbl_depth == 0) {
            st = pb_add_block(b->pb, PARSE_BLOCK_TABLE, 0, b->table.data ? b->table.data : "",
                              b->table.len);
            lore_buf_reset(&b->table);
        }
    }
    return st;
}

static lore_status body_node(void *ctx, xmlTextReaderPtr rd, int type) {
    docx_body *b = ctx;
    lore_status st = LORE_OK;
    int depth = xmlTextReaderDepth(rd);
    if (b->skip_depth >= 0) {
        if (type == XML_READER_TYPE_END_ELEMENT && depth == b->skip_depth) b->skip_depth = -1;
        return LORE_OK;
    }
    if (type == XML_READER_TYPE_ELEMENT) {
        const char *local = (const char *)xmlTextReaderConstLocalName(rd);
        const xmlChar *ns = xmlTextReaderConstNamespaceUri(rd);
        bool empty = xmlTextReaderIsEmptyElement(rd) == 1;
        if (skipped_element(local, ns)) {
            if (!empty) b->skip_depth = depth;
            return LORE_OK;
        }
        if (!is_w_ns(ns)) return LORE_OK;
        st = body_start(b, rd, local, empty);
    } else if (type == XML_READER_TYPE_END_ELEMENT) {
        if (!is_w_ns(xmlTextReaderConstNamespaceUri(rd))) return LORE_OK;
        st = body_end(b, (const char *)xmlTextReaderConstLocalName(rd));
    } else if (b->in_t && (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
                           type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE ||
                           type == XML_READER_TYPE_WHITESPACE)) {
        const char *v = (const char *)xmlTextReaderConstValue(rd);
        if (v) st = lore_buf_append_str(&b->para, v);
    }
    return st == LORE_OK ? LORE_OK : body_fail(b, st);
}

/* ---- entry point ---- */

static bool is_ole(const uint8_t *d, size_t n) {
    static const uint8_t magic[8] = {0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1};
    return n >= 8 && !memcmp(d, magic, 8);
}

PARSE_FN(parse_docx) {
    *out = NULL;
    parse_limits dflt = {64u << 20, 16u << 20, 1000000, 30, 1024};
    if (!lim) lim = &dflt;
    lore_status st = LORE_OK;
    parse_result *r = NULL;
    zip_t *za = NULL;
    parse_builder pb;
    pb_init(&pb, lim->max_text);
    docx_styles styles = {.style_depth = -1};
    docx_core core = {.which = 0};
    lore_buf_init(&core.field, DOCX_MAX_FIELD);
    docx_rels rels = {NULL};
    docx_body body = {.pb = &pb, .err = err, .errlen = errlen, .skip_depth = -1};
    lore_buf_init(&body.para, lim->max_text);
    lore_buf_init(&body.list_buf, lim->max_text);
    lore_buf_init(&body.table, lim->max_text);
    lore_buf_init(&body.cell, lim->max_text);

    if (len > lim->max_input) {
        parse_set_error(err, errlen, "DOCX is larger than the %zu-byte input limit",
                        lim->max_input);
        st = LORE_TOO_LARGE;
        goto out;
    }
    if (is_ole(data, len)) {
        parse_set_error(err, errlen,
                        "not a DOCX file: an OLE compound file (legacy .doc or an encrypted "
                        "document), which is not supported");
        st = LORE_UNSUPPORTED;
        goto out;
    }
    zip_error_t zerr;
    zip_error_init(&zerr);
    zip_source_t *src = zip_source_buffer_create(len ? data : NULL, len, 0, &zerr);
    if (src) {
        za = zip_open_from_source(src, ZIP_RDONLY, &zerr);
        if (!za) zip_source_free(src);
    }
    if (!za) {
        parse_set_error(err, errlen, "not a DOCX file: %s", zip_error_strerror(&zerr));
        zip_error_fini(&zerr);
        st = LORE_INVALID;
        goto out;
    }
    zip_error_fini(&zerr);

    /* Side parts first: styles are needed while reading the body. A broken
     * side part costs its information, not the document. */
    char scratch[8];
    st = xml_walk(za, "word/styles.xml", DOCX_MAX_SIDE_XML, styles_node, &styles, scratch,
                  sizeof scratch);
    if (st == LORE_NOMEM) goto nomem;
    if (st != LORE_OK) {
        styles_free(&styles);
        memset(&styles, 0, sizeof styles);
    }
    st = xml_walk(za, "docProps/core.xml", DOCX_MAX_SIDE_XML, core_node, &core, scratch,
                  sizeof scratch);
    if (st == LORE_NOMEM) goto nomem;
    body.styles = &styles;

    const char *main_part = "word/document.xml";
    st = xml_walk(za, main_part, DOCX_MAX_MAIN_XML, body_node, &body, err, errlen);
    if (st == LORE_NOT_FOUND) {
        lore_status rst = xml_walk(za, "_rels/.rels", DOCX_MAX_SIDE_XML, rels_node, &rels, scratch,
                                   sizeof scratch);
        if (rst == LORE_OK && rels.target && strcmp(rels.target, main_part) != 0) {
            main_part = rels.target;
            st = xml_walk(za, main_part, DOCX_MAX_MAIN_XML, body_node, &body, err, errlen);
        }
    }
    if (st == LORE_NOT_FOUND) {
        parse_set_error(err, errlen, "not a DOCX file: %s is missing", main_part);
        st = LORE_INVALID;
        goto out;
    }
    if (st != LORE_OK) goto out;
    if ((st = flush_list(&body)) != LORE_OK) {
        st = body_fail(&body, st);
        goto out;
    }

    r = calloc(1, sizeof *r);
    parse_doc *d = r ? parse_result_add(r) : NULL;
    if (!d || pb_finish(&pb, d) != LORE_OK) goto nomem;
    char **pick = core.title           ? &core.title
                  : body.title_para    ? &body.title_para
                  : body.first_heading ? &body.first_heading
                                       : NULL;
    if (pick) {
        d->title = *pick;
        *pick = NULL;
    } else {
        d->title = parse_title_from_name(name);
    }
    d->author = core.author;
    core.author = NULL;
    d->created_ms = core.created_ms;
    d->updated_ms = core.updated_ms;
    *out = r;
    r = NULL;
    st = LORE_OK;
    goto out;

nomem:
    parse_set_error(err, errlen, "out of memory");
    st = LORE_NOMEM;
out: /* on failure: everything below is freed, *out stays NULL */
    if (za) zip_discard(za);
    styles_free(&styles);
    lore_buf_free(&core.field);
    free(core.title);
    free(core.author);
    free(rels.target);
    lore_buf_free(&body.para);
    lore_buf_free(&body.list_buf);
    lore_buf_free(&body.table);
    lore_buf_free(&body.cell);
    free(body.title_para);
    free(body.first_heading);
    pb_free(&pb);
    parse_result_free(r);
    return st;
}
