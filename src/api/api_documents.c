/* Documents: POST /v1/documents (upsert one or a batch), GET /v1/documents
 * (list), GET /v1/documents/{id}, DELETE /v1/documents/{id}.
 *
 * A batch is all or nothing: every document is validated first (400 with a
 * JSON Pointer to the first bad field), then all are written in one store
 * transaction; if the pipeline refuses one (422), none is written. A
 * document the caller may not see is answered exactly like one that does
 * not exist (404), for reads and deletes alike. A key that is not a tenant
 * administrator may not replace a document it cannot see (403): the
 * (source, id) namespace is shared, so the refusal tells a writer that the
 * id is taken, but never the content, and the document stays as it was. */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"

/* A validated document: strings borrowed from the JSON tree. */
typedef struct doc_in {
    ingest_record rec;
    const char **acl;
    char *metadata; /* owned: compact JSON */
} doc_in;

/* Reads an optional string field capped at max bytes; 0 on success. */
static int opt_string(api_req *q, json_t *o, const char *name, size_t max, const char *base,
                      const char **out) {
    char ptr[64];
    snprintf(ptr, sizeof ptr, "%s/%s", base, name);
    json_t *v = json_object_get(o, name);
    *out = NULL;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v)) {
        api_bad_field(q, ptr, "%s must be a string", name);
        return -1;
    }
    if (json_string_length(v) > max) {
        api_bad_field(q, ptr, "%s is %zu bytes; the limit is %zu", name, json_string_length(v),
                      max);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

static int opt_time(api_req *q, json_t *o, const char *name, const char *base, int64_t *out) {
    const char *s;
    char ptr[64];
    *out = 0;
    if (opt_string(q, o, name, 64, base, &s)) return -1;
    if (!s) return 0;
    snprintf(ptr, sizeof ptr, "%s/%s", base, name);
    if (api_parse_time(s, 0, out)) {
        api_bad_field(q, ptr, "%s must be an ISO 8601 date or time, like 2024-05-31T12:00:00Z",
                      name);
        return -1;
    }
    return 0;
}

static void doc_in_clear(doc_in *d) {
    free(d->acl);
    free(d->metadata);
    memset(d, 0, sizeof *d);
}

/* Validates one document object; base is its JSON Pointer. 0 on success. */
static int doc_validate(api_req *q, json_t *o, const char *base, doc_in *d) {
    static const char *const known[] = {"id",         "source",   "title",  "url",
                                        "author",     "text",     "format", "created_at",
                                        "updated_at", "metadata", "acl"};
    char ptr[64];
    memset(d, 0, sizeof *d);
    if (!json_is_object(o)) {
        api_bad_field(q, base[0] ? base : "", "a document must be a JSON object");
        return -1;
    }
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val) {
        size_t i = 0;
        while (i < sizeof known / sizeof known[0] && strcmp(known[i], key))
            i++;
        if (i == sizeof known / sizeof known[0]) {
            snprintf(ptr, sizeof ptr, "%s/%.40s", base, key);
            api_bad_field(q, ptr,
                          "unknown field '%.40s' (fields: id, source, title, url, author, "
                          "text, format, created_at, updated_at, metadata, acl)",
                          key);
            return -1;
        }
    }
    ingest_record *r = &d->rec;
    const char *format = NULL;
    if (opt_string(q, o, "id", INGEST_MAX_EXTERNAL_ID, base, &r->external_id) ||
        opt_string(q, o, "source", API_SOURCE_MAX, base, &r->source) ||
        opt_string(q, o, "title", INGEST_MAX_TITLE, base, &r->title) ||
        opt_string(q, o, "url", INGEST_MAX_URL, base, &r->url) ||
        opt_string(q, o, "author", INGEST_MAX_AUTHOR, base, &r->author) ||
        opt_string(q, o, "text", SIZE_MAX, base, &r->text) ||
        opt_string(q, o, "format", 16, base, &format) ||
        opt_time(q, o, "created_at", base, &r->created_ms) ||
        opt_time(q, o, "updated_at", base, &r->updated_ms))
        return -1;
    if (!r->external_id || !*r->external_id) {
        snprintf(ptr, sizeof ptr, "%s/id", base);
        api_bad_field(q, ptr, "id is required: the document's stable id in its source");
        return -1;
    }
    if (!r->text) {
        snprintf(ptr, sizeof ptr, "%s/text", base);
        api_bad_field(q, ptr, "text is required (a string; use \"\" for a title-only document)");
        return -1;
    }
    r->text_len = strlen(r->text);
    if (!r->source) r->source = "api";
    if (!api_source_valid(r->source)) {
        snprintf(ptr, sizeof ptr, "%s/source", base);
        api_bad_field(q, ptr, "source must be 1 to %d letters, digits, '_', '-', '.' or ':'",
                      API_SOURCE_MAX);
        return -1;
    }
    r->format = PARSE_FMT_TEXT;
    if (format) {
        if (!strcmp(format, "markdown"))
            r->format = PARSE_FMT_MARKDOWN;
        else if (!strcmp(format, "html"))
            r->format = PARSE_FMT_HTML;
        else if (strcmp(format, "text")) {
            snprintf(ptr, sizeof ptr, "%s/format", base);
            api_bad_field(q, ptr, "format must be text, markdown or html");
            return -1;
        }
    }
    json_t *meta = json_object_get(o, "metadata");
    if (meta && !json_is_null(meta)) {
        snprintf(ptr, sizeof ptr, "%s/metadata", base);
        if (!json_is_object(meta)) {
            api_bad_field(q, ptr, "metadata must be a JSON object");
            return -1;
        }
        d->metadata = json_dumps(meta, JSON_COMPACT);
        if (!d->metadata || strlen(d->metadata) > INGEST_MAX_METADATA) {
            api_bad_field(q, ptr, "metadata is over %d bytes as compact JSON", INGEST_MAX_METADATA);
            return -1;
        }
        r->metadata_json = d->metadata;
    }
    json_t *acl = json_object_get(o, "acl");
    if (acl && !json_is_null(acl)) {
        snprintf(ptr, sizeof ptr, "%s/acl", base);
        if (!json_is_array(acl)) {
            api_bad_field(q, ptr, "acl must be an array of principals");
            return -1;
        }
        size_t n = json_array_size(acl);
        if (n > INGEST_MAX_PRINCIPALS) {
            api_bad_field(q, ptr, "acl has %zu principals; the limit is %d", n,
                          INGEST_MAX_PRINCIPALS);
            return -1;
        }
        if (n && !(d->acl = calloc(n, sizeof *d->acl))) {
            api_problem(q, 503, "out-of-memory", "Server out of memory", "acl");
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            json_t *p = json_array_get(acl, i);
            if (!json_is_string(p) || !auth_principal_valid(json_string_value(p))) {
                snprintf(ptr, sizeof ptr, "%s/acl/%zu", base, i);
                api_bad_field(q, ptr,
                              "a principal is 'user:<id>' or 'group:<name>' (at most 256 bytes, "
                              "no control characters)");
                return -1;
            }
            d->acl[i] = json_string_value(p);
        }
        r->acl = d->acl;
        r->nacl = n;
    }
    return 0;
}

typedef struct problem_note {
    char msg[512];
    const store_viewer *viewer;
    int denied; /* the last refusal was may_replace's */
} problem_note;

static void on_problem(void *ctx, const char *path, const char *msg, int is_error) {
    (void)path;
    problem_note *p = ctx;
    if (is_error) snprintf(p->msg, sizeof p->msg, "%s", msg);
}

/* A key replaces only documents it can see: otherwise a write key could
 * overwrite (and strip the ACL of) a document hidden from it. */
static int may_replace(void *ctx, const store_doc *existing) {
    problem_note *p = ctx;
    p->denied = !store_viewer_sees(p->viewer, existing->acl, existing->nacl);
    return !p->denied;
}

static const char *outcome_name(ingest_outcome o) {
    switch (o) {
    case INGEST_ADDED:
        return "added";
    case INGEST_UPDATED:
        return "updated";
    case INGEST_UNCHANGED:
        return "unchanged";
    default:
        return "failed";
    }
}

void api_ingest_options(const lore_config *cfg, ingest_options *o) {
    ingest_options_default(o);
    o->chunking.target_tokens = (uint32_t)cfg->chunk_target_tokens;
    o->chunking.max_tokens = (uint32_t)cfg->chunk_max_tokens;
    o->chunking.overlap_tokens = (uint32_t)cfg->chunk_overlap_tokens;
    if (o->chunking.min_tokens > o->chunking.target_tokens)
        o->chunking.min_tokens = o->chunking.target_tokens;
    o->limits.max_input = (size_t)cfg->max_file_mb << 20;
    o->limits.pdf_timeout_s = (int)cfg->pdf_timeout_s;
    o->limits.pdf_memory_mb = (size_t)cfg->pdf_memory_mb;
}

void api_documents_post(api_req *q) {
    json_t *body = api_json_body(q);
    if (!body) return;
    json_t *list = body;
    int batch = 0;
    doc_in *docs = NULL;
    size_t n = 0;
    ingest_session *s = NULL;
    json_t *results = NULL;
    if (json_is_object(body) && json_object_get(body, "documents")) {
        list = json_object_get(body, "documents");
        batch = 1;
        if (json_object_size(body) != 1) {
            api_bad_field(q, "", "a batch is {\"documents\": [...]} and nothing else");
            goto out;
        }
        if (!json_is_array(list) || !json_array_size(list)) {
            api_bad_field(q, "/documents", "documents must be a non-empty array");
            goto out;
        }
        if (json_array_size(list) > (size_t)q->a->cfg.max_batch) {
            api_problem(q, 413, "batch-too-large", "Batch too large",
                        "%zu documents in one request; the limit is %lld (setting max_batch)",
                        json_array_size(list), (long long)q->a->cfg.max_batch);
            goto out;
        }
    }
    n = batch ? json_array_size(list) : 1;
    if (!(docs = calloc(n, sizeof *docs))) {
        api_problem(q, 503, "out-of-memory", "Server out of memory", "batch");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char base[32] = "";
        if (batch) snprintf(base, sizeof base, "/documents/%zu", i);
        if (doc_validate(q, batch ? json_array_get(list, i) : list, base, &docs[i])) goto out;
    }
    api_tenant *t = api_tenant_get(q);
    if (!t) goto out;
    ingest_options opt;
    api_ingest_options(&q->a->cfg, &opt);
    opt.source = "api";
    problem_note note = {"", NULL, 0};
    opt.on_problem = on_problem;
    opt.cb_ctx = &note;
    if (!q->viewer.all_access) {
        note.viewer = &q->viewer;
        opt.may_replace = may_replace;
    }
    lore_status st = ingest_session_new(t->t, &index_lexical_bm25, t->lex, &opt, &s);
    results = json_array();
    for (size_t i = 0; st == LORE_OK && i < n; i++) {
        ingest_outcome oc;
        if ((st = ingest_record_put(s, &docs[i].rec, &oc)) != LORE_OK) break;
        if (oc == INGEST_FAILED) {
            char base[32] = "";
            if (batch) snprintf(base, sizeof base, "/documents/%zu", i);
            if (note.denied)
                http_problem(q->r, 403, "forbidden", "Forbidden",
                             "this key may not replace the document with this source and id: "
                             "it is not visible to the key's principals",
                             base);
            else
                http_problem(q->r, 422, "document-rejected", "Document rejected",
                             note.msg[0] ? note.msg : "the document could not be indexed", base);
            goto out; /* the session's batch is rolled back when freed */
        }
        char id[STORE_DOC_ID_LEN + 1];
        store_doc_public_id(docs[i].rec.source, docs[i].rec.external_id, id);
        json_t *o = json_object();
        json_object_set_new(o, "id", json_string(id));
        json_object_set_new(o, "source", json_string(docs[i].rec.source));
        json_object_set_new(o, "external_id", json_string(docs[i].rec.external_id));
        json_object_set_new(o, "status", json_string(outcome_name(oc)));
        json_array_append_new(results, o);
    }
    if (st == LORE_OK) st = ingest_commit(s);
    if (st != LORE_OK) {
        api_internal(q, "writing the documents", st);
        goto out;
    }
    const ingest_stats *stats = ingest_session_stats(s);
    metrics_add(q->a->m_ingested, NULL, (double)(stats->docs_added + stats->docs_updated));
    json_t *ans = json_object();
    json_object_set_new(ans, "documents", results);
    results = NULL;
    api_json(q, 200, ans);
out:
    json_decref(results);
    ingest_session_free(s);
    for (size_t i = 0; docs && i < n; i++)
        doc_in_clear(&docs[i]);
    free(docs);
    json_decref(body);
}

/* Reads a document the caller may see; answers 404 otherwise. */
static store_doc *visible_doc(api_req *q, api_tenant *t, int with_text) {
    const char *id = http_match_param(&q->m, "id");
    store_doc *d = NULL;
    lore_status st =
        strlen(id) == STORE_DOC_ID_LEN ? store_doc_get(t->t, id, with_text, &d) : LORE_NOT_FOUND;
    if (st == LORE_OK && !store_viewer_sees(&q->viewer, d->acl, d->nacl)) st = LORE_NOT_FOUND;
    if (st == LORE_NOT_FOUND) {
        api_not_found(q, "document");
    } else if (st != LORE_OK) {
        api_internal(q, "reading the document", st);
    }
    if (st != LORE_OK) {
        store_doc_free(d);
        return NULL;
    }
    return d;
}

void api_document_get(api_req *q) {
    api_tenant *t = api_tenant_get(q);
    if (!t) return;
    store_doc *d = visible_doc(q, t, 1);
    if (!d) return;
    json_t *o = api_doc_json(d);
    json_object_set_new(o, "text", json_stringn(d->text ? d->text : "", d->text_len));
    store_doc_free(d);
    api_json(q, 200, o);
}

void api_document_delete(api_req *q) {
    api_tenant *t = api_tenant_get(q);
    if (!t) return;
    store_doc *d = visible_doc(q, t, 0);
    if (!d) return;
    ingest_options opt;
    api_ingest_options(&q->a->cfg, &opt);
    ingest_session *s = NULL;
    lore_status st = ingest_session_new(t->t, &index_lexical_bm25, t->lex, &opt, &s);
    if (st == LORE_OK) st = ingest_delete(s, d->id);
    if (st == LORE_OK) st = ingest_commit(s);
    ingest_session_free(s);
    store_doc_free(d);
    if (st == LORE_NOT_FOUND) {
        api_not_found(q, "document"); /* deleted by someone else meanwhile */
    } else if (st != LORE_OK) {
        api_internal(q, "deleting the document", st);
    } else {
        http_respond(q->r, 204, NULL, NULL, 0);
    }
}

typedef struct list_ctx {
    json_t *docs;
    size_t count, limit;
    int64_t page_last; /* rowid of the last document on the page */
} list_ctx;

static int list_one(void *ctx, const store_doc *d) {
    list_ctx *l = ctx;
    if (++l->count > l->limit) return 1;
    json_array_append_new(l->docs, api_doc_json(d));
    l->page_last = d->rowid;
    return 0;
}

static int list_arg(void *ctx, const char *name, const char *value) {
    (void)value;
    const char **bad = ctx;
    if (strcmp(name, "limit") && strcmp(name, "cursor") && strcmp(name, "source")) {
        *bad = name;
        return 1;
    }
    return 0;
}

void api_documents_list(api_req *q) {
    size_t limit = 50;
    int64_t after = 0;
    const char *unknown = NULL;
    http_query_each(q->r, list_arg, &unknown);
    if (unknown) {
        char ptr[80];
        snprintf(ptr, sizeof ptr, "/%.60s", unknown);
        api_bad_field(q, ptr, "unknown parameter '%.60s' (limit, cursor, source)", unknown);
        return;
    }
    const char *v = http_query(q->r, "limit");
    if (v && api_parse_limit(v, 1000, &limit)) {
        api_bad_field(q, "/limit", "limit must be a whole number from 1 to 1000");
        return;
    }
    /* The cursor is the internal rowid of the last document of the previous
     * page: stable under inserts and deletes, cheap to seek to. */
    const char *cursor = http_query(q->r, "cursor");
    if (cursor) {
        char *end;
        long long c = strtoll(cursor, &end, 10);
        if (!*cursor || *end || c < 0) {
            api_bad_field(q, "/cursor", "cursor must be a next_cursor value from a listing");
            return;
        }
        after = c;
    }
    const char *source = http_query(q->r, "source");
    api_tenant *t = api_tenant_get(q);
    if (!t) return;
    list_ctx l = {json_array(), 0, limit, 0};
    /* One more than the page tells whether there is a next page. */
    lore_status st = store_doc_list(t->t, &q->viewer, source, after, limit + 1, list_one, &l);
    if (st != LORE_OK) {
        json_decref(l.docs);
        api_internal(q, "listing documents", st);
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "documents", l.docs);
    if (l.count > limit) {
        char c[32];
        snprintf(c, sizeof c, "%lld", (long long)l.page_last);
        json_object_set_new(o, "next_cursor", json_string(c));
    } else {
        json_object_set_new(o, "next_cursor", json_null());
    }
    api_json(q, 200, o);
}
