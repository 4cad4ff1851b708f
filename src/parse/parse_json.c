/* JSON and JSON Lines: records -> documents.
 *
 * A JSON input is one object or an array of objects; a JSON Lines input is
 * one object per line (blank lines are skipped). Each object is one document:
 *
 *   id | _id                string or integer -> external_id (kept exactly)
 *   title                   string
 *   text | body | content   string, the first present and non-null; split
 *                           into PARAGRAPH blocks on blank lines
 *   url, author             string (author may be an array of strings,
 *                           joined with ", ")
 *   created | created_at    ISO 8601 string or Unix seconds/ms -> created_ms
 *   updated | updated_at    likewise -> updated_ms
 *   metadata                object -> metadata_json (compact)
 *   acl                     array of strings -> acl
 *
 * Other fields whose value is a scalar or an array of scalars are added to
 * metadata (a key already in "metadata" wins); objects and nested arrays in
 * other fields are dropped. A date that cannot be read is kept in metadata
 * under its own key. A document with neither text nor title, or with a field
 * of the wrong type, is an error, and so is an invalid line: the whole input
 * fails with a message naming the line ("line 12: ...") or the array index
 * ("[3]: ..."), because silently skipping records makes an ingest look
 * complete when it is not.
 *
 * Nesting deeper than JSON_MAX_DEPTH is refused before jansson sees it
 * (jansson itself stops at 2048, but metadata is re-serialized and shown to
 * people; nothing legitimate is that deep). */
#include "parse/parse_int.h"
#include "util/jsonscan.h"
#include "util/timeutil.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64

static const char *const reserved_keys[] = {
    "id",     "_id",     "title",      "text",    "body",       "content",  "url",
    "author", "created", "created_at", "updated", "updated_at", "metadata", "acl",
};

static int is_reserved(const char *k) {
    for (size_t i = 0; i < sizeof reserved_keys / sizeof reserved_keys[0]; i++)
        if (strcmp(k, reserved_keys[i]) == 0) return 1;
    return 0;
}

static int is_scalar(const json_t *v) {
    return json_is_string(v) || json_is_number(v) || json_is_boolean(v);
}

static int is_scalar_array(const json_t *v) {
    if (!json_is_array(v)) return 0;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) if (!is_scalar(e)) return 0;
    return 1;
}

/* Copies a string field into *out (NULL when absent, null or empty).
 * Returns -1 when the field has another type. */
static int get_string(json_t *obj, const char *key, char **out, int *nomem) {
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v)) return -1;
    size_t n = json_string_length(v);
    if (!n) return 0;
    *out = parse_strdup_clean(json_string_value(v), n);
    if (!*out) *nomem = 1;
    return 0;
}

/* Unix seconds below 1e11 (year 5138), milliseconds below 1e14; larger
 * numbers are not read as dates. */
static int number_to_ms(double v, int64_t *out) {
    double a = fabs(v);
    if (!(a < 1e14)) return -1;
    *out = a < 1e11 ? (int64_t)llround(v * 1000.0) : (int64_t)llround(v);
    return 0;
}

/* Reads the first present key of k1/k2 as a date. Returns the key whose
 * value could not be read (to keep it in metadata), or NULL. */
static const char *get_date(json_t *obj, const char *k1, const char *k2, int64_t *out) {
    const char *keys[2] = {k1, k2};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(obj, keys[i]);
        if (!v || json_is_null(v)) continue;
        if (json_is_string(v) &&
            lore_parse_iso8601n(json_string_value(v), json_string_length(v), out) == 0)
            return NULL;
        if (json_is_number(v) && number_to_ms(json_number_value(v), out) == 0) return NULL;
        return keys[i];
    }
    return NULL;
}

/* Fills d from obj. Returns LORE_INVALID with a message (prefixed by where)
 * for a malformed document. */
static lore_status json_to_doc(json_t *obj, const char *where, const char *name, int single,
                               const parse_limits *lim, parse_builder *b, parse_doc *d, char *err,
                               size_t errlen) {
    lore_status st = LORE_OK;
    json_t *meta = NULL;
    int nomem = 0;
    const char *bad = NULL;
    if (!json_is_object(obj)) {
        parse_set_error(err, errlen, "%snot a JSON object", where);
        return LORE_INVALID;
    }

    /* id */
    json_t *id = json_object_get(obj, "id");
    if (!id || json_is_null(id)) id = json_object_get(obj, "_id");
    if (id && json_is_string(id)) {
        d->external_id = parse_strdup_clean(json_string_value(id), json_string_length(id));
        if (!d->external_id && json_string_length(id)) nomem = 1;
    } else if (id && json_is_integer(id)) {
        char tmp[32];
        snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
        if (!(d->external_id = strdup(tmp))) nomem = 1;
    } else if (id && !json_is_null(id)) {
        bad = "id must be a string or an integer";
        goto invalid;
    }

    if (get_string(obj, "title", &d->title, &nomem)) {
        bad = "title must be a string";
        goto invalid;
    }
    if (get_string(obj, "url", &d->url, &nomem)) {
        bad = "url must be a string";
        goto invalid;
    }
    json_t *author = json_object_get(obj, "author");
    if (json_is_array(author)) {
        lore_buf ab;
        lore_buf_init(&ab, 64 * 1024);
        size_t i;
        json_t *e;
        json_array_foreach(author, i, e) {
            if (!json_is_string(e)) {
                lore_buf_free(&ab);
                bad = "author must be a string or an array of strings";
                goto invalid;
            }
            if ((ab.len && lore_buf_append(&ab, ", ", 2) != LORE_OK) ||
                lore_buf_append(&ab, json_string_value(e), json_string_length(e)) != LORE_OK)
                break; /* overly long author lists are cut */
        }
        d->author = parse_strdup_clean(ab.data, ab.len);
        if (!d->author && ab.len) nomem = 1;
        lore_buf_free(&ab);
    } else if (get_string(obj, "author", &d->author, &nomem)) {
        bad = "author must be a string or an array of strings";
        goto invalid;
    }

    /* acl */
    json_t *acl = json_object_get(obj, "acl");
    if (acl && !json_is_null(acl)) {
        if (!json_is_array(acl)) {
            bad = "acl must be an array of strings";
            goto invalid;
        }
        size_t n = json_array_size(acl), i;
        json_t *e;
        json_array_foreach(acl, i, e) if (!json_is_string(e) || !json_string_length(e)) {
            bad = "acl must be an array of non-empty strings";
            goto invalid;
        }
        if (n) {
            d->acl = calloc(n, sizeof *d->acl);
            if (!d->acl) nomem = 1;
            for (i = 0; d->acl && i < n; i++) {
                e = json_array_get(acl, i);
                d->acl[d->nacl] = parse_strdup_clean(json_string_value(e), json_string_length(e));
                if (!d->acl[d->nacl])
                    nomem = 1;
                else
                    d->nacl++;
            }
        }
    }

    /* text */
    json_t *text = NULL;
    const char *text_key = NULL;
    static const char *const text_keys[] = {"text", "body", "content"};
    for (size_t i = 0; i < 3 && !text; i++) {
        json_t *v = json_object_get(obj, text_keys[i]);
        if (v && !json_is_null(v)) text = v, text_key = text_keys[i];
    }
    if (text && !json_is_string(text)) {
        parse_set_error(err, errlen, "%s\"%s\" must be a string", where, text_key);
        st = LORE_INVALID;
        goto out;
    }
    if (text) {
        st = pb_add_paragraphs(b, json_string_value(text), json_string_length(text));
        if (st != LORE_OK) {
            parse_builder_error(st, lim, where, err, errlen);
            goto out;
        }
    }
    if (!d->title && b->nblocks == 0) { /* whitespace-only text counts as none */
        bad = "document has neither text nor title";
        goto invalid;
    }
    if ((st = pb_finish(b, d)) != LORE_OK) {
        parse_builder_error(st, lim, where, err, errlen);
        goto out;
    }
    if (!d->title && single) d->title = parse_title_from_name(name);

    /* dates, metadata */
    const char *bad_created = get_date(obj, "created", "created_at", &d->created_ms);
    const char *bad_updated = get_date(obj, "updated", "updated_at", &d->updated_ms);
    json_t *m = json_object_get(obj, "metadata");
    int has_extra = bad_created || bad_updated || (m && !json_is_object(m) && is_scalar(m));
    if (!has_extra) {
        const char *k;
        json_t *v;
        json_object_foreach(obj, k,
                            v) if (!is_reserved(k) && (is_scalar(v) || is_scalar_array(v))) {
            has_extra = 1;
            break;
        }
    }
    if (!has_extra && (!json_is_object(m) || json_object_size(m) == 0)) goto out;
    meta = json_object();
    if (!meta) {
        nomem = 1;
        goto out;
    }
    if (json_is_object(m) && json_object_update(meta, m))
        nomem = 1;
    else if (m && is_scalar(m) && json_object_set(meta, "metadata", m))
        nomem = 1;
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        int keep = (!is_reserved(k) && (is_scalar(v) || is_scalar_array(v))) ||
                   (bad_created && strcmp(k, bad_created) == 0) ||
                   (bad_updated && strcmp(k, bad_updated) == 0);
        if (keep && !json_object_get(meta, k) && json_object_set(meta, k, v)) nomem = 1;
    }
    if (json_object_size(meta)) {
        d->metadata_json = json_dumps(meta, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!d->metadata_json) nomem = 1;
    }
    goto out;
invalid:
    parse_set_error(err, errlen, "%s%s", where, bad);
    st = LORE_INVALID;
out:
    json_decref(meta);
    if (st == LORE_OK && nomem) {
        parse_set_error(err, errlen, "%sout of memory", where);
        st = LORE_NOMEM;
    }
    return st;
}

static lore_status too_many_docs(const parse_limits *lim, char *err, size_t errlen) {
    parse_set_error(err, errlen, "more than %zu documents in one input", lim->max_docs);
    return LORE_TOO_LARGE;
}

lore_status parse_json(const char *name, const uint8_t *data, size_t len, const parse_limits *lim,
                       parse_result **out, char *err, size_t errlen) {
    *out = NULL;
    parse_limits tmp;
    lim = parse_limits_or_default(lim, &tmp);
    lore_status st = parse_check_input(len, lim, err, errlen);
    if (st != LORE_OK) return st;
    size_t bom = parse_bom_len(data, len);
    const char *s = (const char *)data + bom;
    len -= bom;
    json_t *root = NULL;
    parse_result *r = NULL;
    parse_builder b;
    pb_init(&b, lim->max_text);
    if (lore_json_depth_exceeds(s, len, JSON_MAX_DEPTH)) {
        parse_set_error(err, errlen, "invalid JSON: nesting deeper than %d levels", JSON_MAX_DEPTH);
        st = LORE_INVALID;
        goto out;
    }
    char why[384];
    if (parse_json_over_budget(s, len, why, sizeof why)) {
        parse_set_error(err, errlen,
                        "%s; send the records as JSON Lines (one object per line), which are "
                        "read one at a time",
                        why);
        st = LORE_TOO_LARGE;
        goto out;
    }
    json_error_t jerr;
    root = json_loadb(s, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!root) {
        parse_set_error(err, errlen, "line %d column %d: invalid JSON: %s", jerr.line, jerr.column,
                        jerr.text);
        st = LORE_INVALID;
        goto out;
    }
    if (!json_is_object(root) && !json_is_array(root)) {
        parse_set_error(err, errlen, "JSON input must be an object or an array of objects");
        st = LORE_INVALID;
        goto out;
    }
    if (!(r = calloc(1, sizeof *r))) goto nomem;
    if (json_is_object(root)) {
        parse_doc *d = parse_result_add(r);
        if (!d) goto nomem;
        st = json_to_doc(root, "", name, 1, lim, &b, d, err, errlen);
        goto out;
    }
    size_t n = json_array_size(root);
    if (n == 0) {
        parse_set_error(err, errlen, "JSON array holds no documents");
        st = LORE_INVALID;
        goto out;
    }
    if (n > lim->max_docs) {
        st = too_many_docs(lim, err, errlen);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char where[40];
        snprintf(where, sizeof where, "[%zu]: ", i);
        parse_doc *d = parse_result_add(r);
        if (!d) goto nomem;
        st = json_to_doc(json_array_get(root, i), where, name, 0, lim, &b, d, err, errlen);
        if (st != LORE_OK) goto out;
    }
    goto out;
nomem:
    parse_set_error(err, errlen, "out of memory");
    st = LORE_NOMEM;
out: /* on failure every document built so far is freed */
    json_decref(root);
    pb_free(&b);
    if (st == LORE_OK)
        *out = r;
    else
        parse_result_free(r);
    return st;
}

lore_status parse_jsonl(const char *name, const uint8_t *data, size_t len, const parse_limits *lim,
                        parse_result **out, char *err, size_t errlen) {
    (void)name; /* records carry their own titles; a file name fits none of them */
    *out = NULL;
    parse_limits tmp;
    lim = parse_limits_or_default(lim, &tmp);
    lore_status st = parse_check_input(len, lim, err, errlen);
    if (st != LORE_OK) return st;
    size_t bom = parse_bom_len(data, len);
    const char *p = (const char *)data + bom, *end = (const char *)data + len;
    parse_result *r = calloc(1, sizeof *r);
    parse_builder b;
    pb_init(&b, lim->max_text);
    if (!r) goto nomem;
    for (size_t lineno = 1; p < end; lineno++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end, *ls = p;
        p = nl ? nl + 1 : end;
        while (ls < le && (*ls == ' ' || *ls == '\t' || *ls == '\r'))
            ls++;
        while (le > ls && (le[-1] == ' ' || le[-1] == '\t' || le[-1] == '\r'))
            le--;
        if (ls == le) continue;
        size_t ll = (size_t)(le - ls);
        if (lore_json_depth_exceeds(ls, ll, JSON_MAX_DEPTH)) {
            parse_set_error(err, errlen, "line %zu: invalid JSON: nesting deeper than %d levels",
                            lineno, JSON_MAX_DEPTH);
            st = LORE_INVALID;
            goto out;
        }
        char why[384];
        if (parse_json_over_budget(ls, ll, why, sizeof why)) {
            parse_set_error(err, errlen, "line %zu: %s", lineno, why);
            st = LORE_TOO_LARGE;
            goto out;
        }
        json_error_t jerr;
        json_t *v = json_loadb(ls, ll, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        if (!v) {
            parse_set_error(err, errlen, "line %zu: invalid JSON: %s", lineno, jerr.text);
            st = LORE_INVALID;
            goto out;
        }
        if (r->ndocs >= lim->max_docs) {
            json_decref(v);
            st = too_many_docs(lim, err, errlen);
            goto out;
        }
        parse_doc *d = parse_result_add(r);
        if (!d) {
            json_decref(v);
            goto nomem;
        }
        char where[40];
        snprintf(where, sizeof where, "line %zu: ", lineno);
        st = json_to_doc(v, where, name, 0, lim, &b, d, err, errlen);
        json_decref(v);
        if (st != LORE_OK) goto out;
    }
    if (r->ndocs == 0) {
        parse_set_error(err, errlen, "JSON Lines input holds no documents");
        st = LORE_INVALID;
    }
    goto out;
nomem:
    parse_set_error(err, errlen, "out of memory");
    st = LORE_NOMEM;
out: /* on failure every document built so far is freed */
    pb_free(&b);
    if (st == LORE_OK)
        *out = r;
    else
        parse_result_free(r);
    return st;
}
