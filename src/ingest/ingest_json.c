/* Documents in JSON; see ingest_json.h. */
#include "ingest/ingest_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/apikey.h"
#include "util/timeutil.h"

int ingest_source_valid(const char *s) {
    size_t n = strlen(s);
    if (!n || n > INGEST_SOURCE_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == ':'))
            return 0;
    }
    return 1;
}

typedef struct reader {
    const char *base;
    char *ptr, *msg;
    size_t ptr_len, msg_len;
} reader;

static int bad(reader *r, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(reader *r, const char *field, const char *fmt, ...) {
    if (field)
        snprintf(r->ptr, r->ptr_len, "%s/%s", r->base, field);
    else
        snprintf(r->ptr, r->ptr_len, "%s", r->base);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, r->msg_len, fmt, ap);
    va_end(ap);
    return -1;
}

/* An optional string field capped at max bytes; 0 on success. */
static int opt_string(reader *r, json_t *o, const char *name, size_t max, const char **out) {
    json_t *v = json_object_get(o, name);
    *out = NULL;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v)) return bad(r, name, "%s must be a string", name);
    if (json_string_length(v) > max)
        return bad(r, name, "%s is %zu bytes; the limit is %zu", name, json_string_length(v), max);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return bad(r, name, "%s contains a NUL character", name);
    *out = json_string_value(v);
    return 0;
}

static int opt_time(reader *r, json_t *o, const char *name, int64_t *out) {
    const char *s;
    *out = 0;
    if (opt_string(r, o, name, 64, &s)) return -1;
    if (s && lore_parse_iso8601(s, out))
        return bad(r, name, "%s must be an ISO 8601 date or time, like 2024-05-31T12:00:00Z", name);
    return 0;
}

static int known_fields(reader *r, json_t *o) {
    static const char *const known[] = {"id",         "source",   "title",  "url",
                                        "author",     "text",     "format", "created_at",
                                        "updated_at", "metadata", "acl"};
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val) {
        size_t i = 0;
        while (i < sizeof known / sizeof known[0] && strcmp(known[i], key))
            i++;
        if (i == sizeof known / sizeof known[0]) {
            char f[48];
            snprintf(f, sizeof f, "%.40s", key);
            return bad(r, f,
                       "unknown field '%.40s' (fields: id, source, title, url, author, text, "
                       "format, created_at, updated_at, metadata, acl)",
                       key);
        }
    }
    return 0;
}

static int read_format(reader *r, const char *format, parse_format *out) {
    *out = PARSE_FMT_TEXT;
    if (!format || !strcmp(format, "text")) return 0;
    if (!strcmp(format, "markdown"))
        *out = PARSE_FMT_MARKDOWN;
    else if (!strcmp(format, "html"))
        *out = PARSE_FMT_HTML;
    else
        return bad(r, "format", "format must be text, markdown or html");
    return 0;
}

static int read_metadata(reader *r, json_t *o, ingest_json_doc *d) {
    json_t *meta = json_object_get(o, "metadata");
    if (!meta || json_is_null(meta)) return 0;
    if (!json_is_object(meta)) return bad(r, "metadata", "metadata must be a JSON object");
    d->metadata = json_dumps(meta, JSON_COMPACT);
    if (!d->metadata || strlen(d->metadata) > INGEST_MAX_METADATA)
        return bad(r, "metadata", "metadata is over %d bytes as compact JSON", INGEST_MAX_METADATA);
    d->rec.metadata_json = d->metadata;
    return 0;
}

static int read_acl(reader *r, json_t *o, ingest_json_doc *d) {
    json_t *acl = json_object_get(o, "acl");
    if (!acl || json_is_null(acl)) return 0;
    if (!json_is_array(acl)) return bad(r, "acl", "acl must be an array of principals");
    size_t n = json_array_size(acl);
    if (n > INGEST_MAX_PRINCIPALS)
        return bad(r, "acl", "acl has %zu principals; the limit is %d", n, INGEST_MAX_PRINCIPALS);
    if (n && !(d->acl = calloc(n, sizeof *d->acl)))
        return bad(r, "acl", "out of memory reading the acl");
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(acl, i);
        if (!json_is_string(p) || !auth_principal_valid(json_string_value(p))) {
            char f[32];
            snprintf(f, sizeof f, "acl/%zu", i);
            return bad(r, f,
                       "a principal is 'user:<id>' or 'group:<name>' (at most 256 bytes, no "
                       "control characters)");
        }
        d->acl[i] = json_string_value(p);
    }
    d->rec.acl = d->acl;
    d->rec.nacl = n;
    return 0;
}

static int read_doc(reader *r, json_t *o, ingest_json_doc *d) {
    if (!json_is_object(o)) return bad(r, NULL, "a document must be a JSON object");
    if (known_fields(r, o)) return -1;
    ingest_record *rec = &d->rec;
    const char *format = NULL;
    if (opt_string(r, o, "id", INGEST_MAX_EXTERNAL_ID, &rec->external_id) ||
        opt_string(r, o, "source", INGEST_SOURCE_MAX, &rec->source) ||
        opt_string(r, o, "title", INGEST_MAX_TITLE, &rec->title) ||
        opt_string(r, o, "url", INGEST_MAX_URL, &rec->url) ||
        opt_string(r, o, "author", INGEST_MAX_AUTHOR, &rec->author) ||
        opt_string(r, o, "text", SIZE_MAX, &rec->text) || opt_string(r, o, "format", 16, &format) ||
        opt_time(r, o, "created_at", &rec->created_ms) ||
        opt_time(r, o, "updated_at", &rec->updated_ms))
        return -1;
    if (!rec->external_id || !*rec->external_id)
        return bad(r, "id", "id is required: the document's stable id in its source");
    if (!rec->text)
        return bad(r, "text", "text is required (a string; use \"\" for a title-only document)");
    rec->text_len = strlen(rec->text);
    if (!rec->source) rec->source = "api";
    if (!ingest_source_valid(rec->source))
        return bad(r, "source", "source must be 1 to %d letters, digits, '_', '-', '.' or ':'",
                   INGEST_SOURCE_MAX);
    if (read_format(r, format, &rec->format)) return -1;
    return read_metadata(r, o, d) || read_acl(r, o, d) ? -1 : 0;
}

int ingest_json_doc_read(json_t *o, const char *base, ingest_json_doc *d, char *pointer,
                         size_t pointer_len, char *msg, size_t msg_len) {
    reader r = {base, pointer, msg, pointer_len, msg_len};
    memset(d, 0, sizeof *d);
    if (read_doc(&r, o, d) == 0) return 0;
    ingest_json_doc_clear(d);
    return -1;
}

void ingest_json_doc_clear(ingest_json_doc *d) {
    free(d->acl);
    free(d->metadata);
    memset(d, 0, sizeof *d);
}
