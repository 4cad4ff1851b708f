/* Admission: whether a chunk may be a hit of this search (the filters of
 * the request and the query, the caller's ACL, the query's phrases), asked
 * by the lexical and the vector index inside their retrieval, so a page is
 * never short because of filtering and no hidden document is returned. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/search_int.h"

/* Phrase checks read and analyze a chunk each; past this many per search the
 * remaining candidates are rejected and the response says it is truncated. */
#define PHRASE_CHECK_BUDGET 20000

static int in_list(char *const *list, size_t n, const char *v) {
    if (!v) return 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(list[i], v)) return 1;
    return 0;
}

static int acl_allows(const search_request *req, const char *acl) {
    if (req->all_access || !*acl) return 1;
    /* acl is principals joined by "\n". */
    for (const char *p = acl; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        for (size_t i = 0; i < req->nprincipals; i++)
            if (strlen(req->principals[i]) == len && !memcmp(req->principals[i], p, len)) return 1;
        if (!nl) break;
        p = nl + 1;
    }
    return 0;
}

/* One metadata value against a wanted text: strings compare as they are,
 * numbers and booleans by their JSON text ("3", "true"). */
static int meta_value_is(const json_t *v, const char *want) {
    char num[64];
    switch (json_typeof(v)) {
    case JSON_STRING:
        return !strcmp(json_string_value(v), want);
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return !strcmp(num, want);
    case JSON_REAL:
        snprintf(num, sizeof num, "%.17g", json_real_value(v));
        return !strcmp(num, want) || strtod(want, NULL) == json_real_value(v);
    case JSON_TRUE:
        return !strcmp(want, "true");
    case JSON_FALSE:
        return !strcmp(want, "false");
    default:
        return 0;
    }
}

/* metadata[key], or, when no top-level key has that name, the value at a
 * dotted path through nested objects ("github.repository"): connectors keep
 * their source's ids under one object per source. */
static const json_t *meta_lookup(const json_t *m, const char *key) {
    const json_t *v = json_object_get(m, key);
    if (v || !strchr(key, '.')) return v;
    const char *p = key;
    while (json_is_object(m)) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        v = json_object_getn(m, p, n);
        if (!dot || !v) return v;
        m = v;
        p = dot + 1;
    }
    return NULL;
}

static int meta_allows(const search_request *req, const char *metadata_json) {
    if (!req->nmeta) return 1;
    if (!metadata_json) return 0;
    json_t *m = json_loads(metadata_json, 0, NULL);
    int ok = json_is_object(m);
    for (size_t i = 0; ok && i < req->nmeta; i++) {
        const json_t *v = meta_lookup(m, req->meta_keys[i]);
        int found = 0;
        if (json_is_array(v)) {
            for (size_t j = 0; !found && j < json_array_size(v); j++)
                found = meta_value_is(json_array_get(v, j), req->meta_values[i]);
        } else if (v) {
            found = meta_value_is(v, req->meta_values[i]);
        }
        ok = found;
    }
    json_decref(m);
    return ok;
}

void admit_init(admit_ctx *a, search_engine *e, const search_request *req, compiled *c) {
    memset(a, 0, sizeof *a);
    a->e = e, a->req = req, a->c = c;
    a->group_only = req->all_access && !req->nsources && !req->since_ms && !req->until_ms &&
                    !req->author && !c->nsources && !c->nnot_sources && !c->nauthors &&
                    !c->nnot_authors && !c->nphrases && !req->nmeta;
}

int search_admit(void *ctx, int64_t chunk_id, int64_t *group) {
    admit_ctx *a = ctx;
    const compiled *c = a->c;
    const search_request *req = a->req;
    if (a->budget && a->checks++ >= a->budget) {
        a->truncated = 1;
        return 0;
    }
    if (a->group_only) {
        /* Nothing to check but which document the chunk belongs to. */
        lore_status gs = store_chunk_doc(a->e->t, chunk_id, group);
        return gs == LORE_OK ? 1 : gs == LORE_NOT_FOUND ? 0 : -1;
    }
    store_chunk_owner o;
    lore_status st = store_chunk_owner_get(a->e->t, chunk_id, &o);
    if (st == LORE_NOT_FOUND) return 0;
    if (st != LORE_OK) return -1;
    if (req->nsources && !in_list((char *const *)req->sources, req->nsources, o.source)) return 0;
    if (c->nsources && !in_list(c->sources, c->nsources, o.source)) return 0;
    if (in_list(c->not_sources, c->nnot_sources, o.source)) return 0;
    if (req->since_ms && o.updated_ms < req->since_ms) return 0;
    if (req->until_ms && o.updated_ms > req->until_ms) return 0;
    if (req->author && (!o.author || strcmp(req->author, o.author))) return 0;
    if (c->nauthors && !in_list(c->authors, c->nauthors, o.author)) return 0;
    if (in_list(c->not_authors, c->nnot_authors, o.author)) return 0;
    if (!acl_allows(req, o.acl_joined)) return 0;
    if (!meta_allows(req, o.metadata_json)) return 0;
    *group = o.doc_rowid;
    if (!c->nphrases) return 1;
    if (a->phrase_checks++ >= PHRASE_CHECK_BUDGET) {
        a->truncated = 1;
        return 0;
    }
    int r = phrases_match(a->e->an, a->e->t, c, chunk_id, o.title);
    return r;
}
