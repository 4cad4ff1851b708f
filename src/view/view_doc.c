/* Documents and sources as JSON; see view.h. */
#include <string.h>

#include "util/timeutil.h"
#include "view/view.h"

json_t *view_time(int64_t ms) {
    if (!ms) return json_null();
    char buf[40];
    lore_format_iso8601(ms, buf, sizeof buf);
    return json_string(buf);
}

static json_t *str_or_null(const char *s) {
    return s ? json_string(s) : json_null();
}

/* The stored metadata JSON as an object ({} when none or not an object). */
static json_t *metadata(const char *text) {
    json_t *m = text ? json_loads(text, 0, NULL) : NULL;
    if (json_is_object(m)) return m;
    json_decref(m);
    return json_object();
}

json_t *view_doc(const store_doc *d) {
    json_t *o = json_object(), *acl = json_array();
    json_object_set_new(o, "id", json_string(d->id));
    json_object_set_new(o, "source", json_string(d->source));
    json_object_set_new(o, "external_id", json_string(d->external_id));
    json_object_set_new(o, "title", str_or_null(d->title));
    json_object_set_new(o, "url", str_or_null(d->url));
    json_object_set_new(o, "author", str_or_null(d->author));
    json_object_set_new(o, "created_at", view_time(d->created_ms));
    json_object_set_new(o, "updated_at", view_time(d->updated_ms));
    json_object_set_new(o, "indexed_at", view_time(d->indexed_ms));
    json_object_set_new(o, "content_hash", json_string(d->content_hash));
    json_object_set_new(o, "metadata", metadata(d->metadata_json));
    for (size_t i = 0; i < d->nacl; i++)
        json_array_append_new(acl, json_string(d->acl[i]));
    json_object_set_new(o, "acl", acl);
    json_object_set_new(o, "chunks", json_integer(d->nchunks));
    return o;
}

json_t *view_source(const store_source_info *s) {
    json_t *o = json_object();
    json_object_set_new(o, "source", json_string(s->source));
    json_object_set_new(o, "documents", json_integer(s->documents));
    json_object_set_new(o, "last_updated", view_time(s->last_updated_ms));
    return o;
}
