/* Search hits and answers as JSON; see view.h. */
#include "view/view.h"

static json_t *str_or_null(const char *s) {
    return s ? json_string(s) : json_null();
}

static json_t *retriever(int has, size_t rank, double score) {
    if (!has) return json_null();
    return json_pack("{s:I,s:f}", "rank", (json_int_t)rank, "score", score);
}

static json_t *explain_json(const search_explain *e) {
    return json_pack("{s:o,s:o,s:f}", "lexical",
                     retriever(e->has_lexical, e->lexical_rank, e->lexical_score), "semantic",
                     retriever(e->has_semantic, e->semantic_rank, e->semantic_score), "fused",
                     e->fused);
}

json_t *view_hit(const search_hit *h, int explain) {
    const store_doc *d = h->doc;
    json_t *x = json_object();
    json_object_set_new(x, "id", json_string(d->id));
    json_object_set_new(x, "source", json_string(d->source));
    json_object_set_new(x, "external_id", json_string(d->external_id));
    json_object_set_new(x, "title", str_or_null(d->title));
    json_object_set_new(x, "url", str_or_null(d->url));
    json_object_set_new(x, "author", str_or_null(d->author));
    json_object_set_new(x, "updated_at", view_time(d->updated_ms));
    json_object_set_new(x, "section", json_string(h->section ? h->section : ""));
    json_object_set_new(x, "chunk_id", json_integer(h->chunk_id));
    json_object_set_new(x, "score", json_real(h->score));
    if (h->snippet) {
        json_t *marks = json_array();
        for (size_t m = 0; m < h->nmarks; m++)
            json_array_append_new(marks, json_pack("[I,I]", (json_int_t)h->marks[m].start,
                                                   (json_int_t)h->marks[m].end));
        json_object_set_new(x, "snippet", json_string(h->snippet));
        json_object_set_new(x, "highlights", marks);
    }
    if (h->text) json_object_set_new(x, "text", json_string(h->text));
    if (explain) json_object_set_new(x, "explain", explain_json(&h->explain));
    return x;
}

json_t *view_search_answer(const search_response *res, int explain) {
    json_t *o = json_object(), *hits = json_array(), *dropped = json_array();
    for (size_t i = 0; i < res->n; i++)
        json_array_append_new(hits, view_hit(&res->hits[i], explain));
    json_object_set_new(o, "hits", hits);
    json_object_set_new(o, "mode", json_string(search_mode_name(res->mode)));
    json_object_set_new(o, "took_ms", json_real((double)res->took_us / 1000.0));
    json_object_set_new(o, "truncated", json_boolean(res->truncated));
    for (size_t i = 0; i < res->ndropped; i++)
        json_array_append_new(dropped, json_string(res->dropped[i]));
    json_object_set_new(o, "dropped_terms", dropped);
    json_object_set_new(o, "dropped_total", json_integer((json_int_t)res->dropped_total));
    if (res->notice[0]) json_object_set_new(o, "notice", json_string(res->notice));
    if (res->semantic_error[0])
        json_object_set_new(o, "semantic_error", json_string(res->semantic_error));
    return o;
}
