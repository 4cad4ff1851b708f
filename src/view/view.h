/* The view layer: one rendering of each noun (document, search hit, source,
 * job) to JSON and one parser of the search filters, shared by the REST API,
 * the MCP server and the CLI's --json so the three say the same thing with
 * the same names. REST's field names are the contract (openapi.json and the
 * web page use them); a front end may add fields of its own (MCP's fetch
 * adds the text window) but never renames one. */
#ifndef LORE_VIEW_H
#define LORE_VIEW_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "search/search.h"
#include "store/store.h"

/* An ISO 8601 time in UTC, or null for 0 (not known). */
json_t *view_time(int64_t ms);

/* A document: id, source, external_id, title, url, author, created_at,
 * updated_at, indexed_at, content_hash, metadata (an object, {} when none),
 * acl, chunks. The text is not part of it (each front end decides). */
json_t *view_doc(const store_doc *d);

/* A search hit: id, source, external_id, title, url, author, updated_at,
 * section, chunk_id, score; snippet and highlights ([start, end] byte pairs
 * into the snippet) when the hit has a snippet; text when it has its text;
 * explain ({lexical, semantic, fused}) when explain is set. */
json_t *view_hit(const search_hit *h, int explain);

/* The fields every search answer shares: hits, mode, took_ms, truncated,
 * dropped_terms, dropped_total, and notice / semantic_error when set. */
json_t *view_search_answer(const search_response *res, int explain);

/* A source: source, documents, last_updated. */
json_t *view_source(const store_source_info *s);

/* A job: id, kind, state, status_url, attempts, max_attempts, created_at,
 * updated_at, started_at, finished_at, next_attempt_at, dedup_key (as the
 * client sent it), error, result. */
json_t *view_job(const store_job *j);

/* ---- search filters ---- */

#define VIEW_MAX_FILTERS 32
#define VIEW_MAX_AUTHOR 1024 /* the longest author ingest keeps (INGEST_MAX_AUTHOR) */

/* The storage a search_request's filter lists point into. The strings
 * themselves are the caller's and must outlive the request. */
typedef struct view_filters {
    const char *sources[VIEW_MAX_FILTERS];
    const char *meta_keys[VIEW_MAX_FILTERS];
    const char *meta_values[VIEW_MAX_FILTERS];
} view_filters;

/* Points r's filter lists at f (call once, before the first view_filter_set). */
void view_filters_attach(view_filters *f, search_request *r);

/* Applies one filter given as text: source (repeatable), since, until (a date
 * alone means the end of that day), author, meta.KEY. label names the
 * parameter in messages (NULL: name), for front ends that spell it
 * otherwise. Returns 0 when applied, 1 when name is not a filter (the
 * caller's own parameter), -1 with a message in err when the value is bad
 * or a list is full. */
int view_filter_set(view_filters *f, search_request *r, const char *name, const char *label,
                    const char *value, char *err, size_t errlen);

/* Applies the metadata filter key = value (the same as meta.KEY). */
int view_filter_meta(view_filters *f, search_request *r, const char *key, const char *value,
                     char *err, size_t errlen);

#endif
