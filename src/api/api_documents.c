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
#include "ingest/ingest_jobs.h"
#include "ingest/ingest_json.h"

/* A key replaces only documents it can see: otherwise a write key could
 * overwrite (and strip the ACL of) a document hidden from it. Checked here
 * to answer at once, and again by the job when it runs. 0 if allowed. */
int api_check_replace(api_req *q, api_tenant *t, const char *source, const char *external_id,
                      const char *pointer) {
    if (q->viewer.all_access) return 0;
    int64_t rowid;
    lore_status st = store_doc_lookup(t->t, source, external_id, &rowid, NULL);
    if (st == LORE_NOT_FOUND) return 0;
    store_doc *d = NULL;
    if (st == LORE_OK) st = store_doc_get_rowid(t->t, rowid, 0, &d);
    if (st != LORE_OK) {
        api_internal(q, "reading the existing document", st);
        return -1;
    }
    int sees = store_viewer_sees(&q->viewer, d->acl, d->nacl);
    store_doc_free(d);
    if (sees) return 0;
    http_problem(q->r, 403, "forbidden", "Forbidden",
                 "this key may not replace the document with this source and id: it is not "
                 "visible to the key's principals",
                 pointer);
    return -1;
}

/* The batch form {"documents": [...]} or one document; NULL (answered)
 * when the shape is wrong. Returns a new reference to the array. */
static json_t *document_list(api_req *q, json_t *body) {
    if (!(json_is_object(body) && json_object_get(body, "documents"))) {
        json_t *a = json_array();
        json_array_append(a, body);
        return a;
    }
    json_t *list = json_object_get(body, "documents");
    if (json_object_size(body) != 1) {
        api_bad_field(q, "", "a batch is {\"documents\": [...]} and nothing else");
        return NULL;
    }
    if (!json_is_array(list) || !json_array_size(list)) {
        api_bad_field(q, "/documents", "documents must be a non-empty array");
        return NULL;
    }
    if (json_array_size(list) > (size_t)q->a->cfg.max_batch) {
        api_problem(q, 413, "batch-too-large", "Batch too large",
                    "%zu documents in one request; the limit is %lld (setting max_batch)",
                    json_array_size(list), (long long)q->a->cfg.max_batch);
        return NULL;
    }
    return json_incref(list);
}

/* Validates every document and lists the groups (document ids) and the
 * queued answer; 0 on success, -1 answered. */
static int validate_all(api_req *q, api_tenant *t, json_t *list, int batch, char **groups,
                        json_t *answer) {
    for (size_t i = 0; i < json_array_size(list); i++) {
        char base[32] = "", ptr[96], msg[512];
        if (batch) snprintf(base, sizeof base, "/documents/%zu", i);
        ingest_json_doc d;
        if (ingest_json_doc_read(json_array_get(list, i), base, &d, ptr, sizeof ptr, msg,
                                 sizeof msg)) {
            http_problem(q->r, 400, "invalid-field", "Invalid field", msg, ptr);
            return -1;
        }
        int refused = api_check_replace(q, t, d.rec.source, d.rec.external_id, base);
        char *id = malloc(STORE_DOC_ID_LEN + 1);
        if (id) store_doc_public_id(d.rec.source, d.rec.external_id, id);
        groups[i] = id;
        json_t *o = json_object();
        json_object_set_new(o, "id", json_string(id ? id : ""));
        json_object_set_new(o, "source", json_string(d.rec.source));
        json_object_set_new(o, "external_id", json_string(d.rec.external_id));
        json_object_set_new(o, "status", json_string("queued"));
        json_array_append_new(answer, o);
        ingest_json_doc_clear(&d);
        if (refused) return -1;
        if (!id) {
            api_problem(q, 503, "out-of-memory", "Server out of memory", "batch");
            return -1;
        }
    }
    return 0;
}

void api_documents_post(api_req *q) {
    json_t *body = api_json_body(q);
    if (!body) return;
    int batch = json_is_object(body) && json_object_get(body, "documents");
    json_t *list = document_list(q, body), *docs = json_array();
    char **groups = NULL, *payload = NULL;
    size_t n = list ? json_array_size(list) : 0;
    const char *key;
    api_tenant *t;
    if (!list || api_idempotency_key(q, &key) || !(t = api_tenant_get(q))) goto out;
    if (!(groups = calloc(n, sizeof *groups))) {
        api_problem(q, 503, "out-of-memory", "Server out of memory", "batch");
        goto out;
    }
    if (validate_all(q, t, list, batch, groups, docs)) goto out;
    if (!(payload = ingest_job_documents_payload(&q->viewer, list))) {
        api_problem(q, 503, "out-of-memory", "Server out of memory", "payload");
        goto out;
    }
    store_job job;
    memset(&job, 0, sizeof job);
    snprintf(job.kind, sizeof job.kind, "%s", INGEST_JOB_DOCUMENTS);
    job.dedup_key = (char *)key;
    job.groups = groups;
    job.ngroups = n;
    job.weight = (int64_t)strlen(payload);
    char blob[STORE_BLOB_NAME_MAX + 1];
    if (api_job_payload(q, &job, payload, blob, sizeof blob)) goto out;
    json_t *ans = json_object();
    json_object_set_new(ans, "documents", docs);
    docs = NULL;
    if (!api_enqueue(q, &job, 1, ans) && job.blob)
        store_blob_remove(q->th->control, q->tenant_name, blob);
out:
    for (size_t i = 0; groups && i < n; i++)
        free(groups[i]);
    free(groups);
    free(payload);
    json_decref(docs);
    json_decref(list);
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
    json_t *o = view_doc(d);
    json_object_set_new(o, "text", json_stringn(d->text ? d->text : "", d->text_len));
    store_doc_free(d);
    api_json(q, 200, o);
}

void api_document_delete(api_req *q) {
    const char *key;
    if (api_idempotency_key(q, &key)) return;
    api_tenant *t = api_tenant_get(q);
    if (!t) return;
    /* A repeated key answers with the original job, like every write: also
     * once that job has deleted the document (which would be a 404 now).
     * The job below then only finds its duplicate; its groups are the
     * original's, so it is valid whatever the path says. */
    store_job *prior = NULL;
    lore_status st =
        key ? store_job_get_dedup(q->th->control, q->tenant_name, key, &prior) : LORE_NOT_FOUND;
    if (st != LORE_OK && st != LORE_NOT_FOUND) {
        api_internal(q, "reading the job", st);
        return;
    }
    store_doc *d = prior ? NULL : visible_doc(q, t, 0);
    if (!prior && !d) return;
    const char *doc_id = d ? d->id : http_match_param(&q->m, "id");
    char *payload = ingest_job_delete_payload(&q->viewer, doc_id);
    char *groups[1] = {(char *)doc_id};
    store_job job;
    memset(&job, 0, sizeof job);
    snprintf(job.kind, sizeof job.kind, "%s", INGEST_JOB_DELETE);
    job.dedup_key = (char *)key;
    job.groups = prior ? prior->groups : groups;
    job.ngroups = prior ? prior->ngroups : 1;
    job.payload = (uint8_t *)payload;
    job.payload_len = payload ? strlen(payload) : 0;
    job.weight = (int64_t)job.payload_len;
    json_t *ans = json_object();
    json_object_set_new(ans, "id", json_string(doc_id));
    if (payload)
        api_enqueue(q, &job, 1, ans);
    else {
        json_decref(ans);
        api_problem(q, 503, "out-of-memory", "Server out of memory", "payload");
    }
    free(payload);
    store_doc_free(d);
    store_job_free(prior);
}

typedef struct list_ctx {
    json_t *docs;
    size_t count, limit;
    int64_t page_last; /* rowid of the last document on the page */
} list_ctx;

static int list_one(void *ctx, const store_doc *d) {
    list_ctx *l = ctx;
    if (++l->count > l->limit) return 1;
    json_array_append_new(l->docs, view_doc(d));
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
