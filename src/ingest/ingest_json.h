/* Documents in their JSON form (the body of POST /v1/documents and the
 * payload of a "documents" job) read into ingest records.
 *
 * One reader for both places, so what the API accepts at the door is
 * exactly what the worker applies later. A bad field is reported with a
 * JSON Pointer and a sentence a client can act on. */
#ifndef LORE_INGEST_INGEST_JSON_H
#define LORE_INGEST_INGEST_JSON_H

#include <jansson.h>
#include "ingest/ingest.h"

#define INGEST_SOURCE_MAX 64

/* A source name: 1 to INGEST_SOURCE_MAX letters, digits, '_', '-', '.', ':'. */
int ingest_source_valid(const char *s);

/* A document read from JSON: strings borrowed from the JSON tree, which
 * must outlive it. */
typedef struct ingest_json_doc {
    ingest_record rec;
    const char **acl;
    char *metadata; /* owned: compact JSON */
} ingest_json_doc;

/* Reads one document object; base is its JSON Pointer ("" or
 * "/documents/3"). Fields: id (required), text (required), source (default
 * "api"), title, url, author, format (text, markdown, html), created_at,
 * updated_at (ISO 8601), metadata (object), acl (principals). On failure
 * returns -1 with pointer and msg filled; d holds nothing to free. */
int ingest_json_doc_read(json_t *o, const char *base, ingest_json_doc *d, char *pointer,
                         size_t pointer_len, char *msg, size_t msg_len);
void ingest_json_doc_clear(ingest_json_doc *d);

#endif
