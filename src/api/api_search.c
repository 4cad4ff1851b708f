/* Search and sources: GET/POST /v1/search, GET /v1/sources.
 *
 * Both search forms fill one search_request and share its semantics with
 * `lore search`: the same query syntax, filters applied inside retrieval,
 * one hit per document, ACLs from the key's principals, the same modes
 * (mode=lexical|semantic|hybrid; the default is hybrid when an embedder is
 * configured) and explain=true. Paging: next_cursor is the offset of the
 * next page (opaque to clients), good to a depth of SEARCH_MAX_LIMIT hits.
 *
 * Semantic failures: no embedder configured -> 400 naming embed_url; the
 * provider failing -> 503 in mode semantic, the lexical hits with
 * "semantic_error" in mode hybrid. */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_QUERY 4096

typedef struct search_args {
    search_request req;
    view_filters filters;
    char value_buf[VIEW_MAX_FILTERS][32]; /* numbers and booleans as text */
} search_args;

static int parse_cursor(api_req *q, const char *c, size_t *offset) {
    char *end;
    long long v = c[0] == 'o' ? strtoll(c + 1, &end, 10) : -1;
    if (v < 0 || c[1] == '\0' || *end || v > SEARCH_MAX_LIMIT) {
        api_bad_field(q, "/cursor", "cursor must be a next_cursor value from a search");
        return -1;
    }
    *offset = (size_t)v;
    return 0;
}

/* The problem for a search that failed. */
static void answer_error(api_req *q, const search_request *req, lore_status st,
                         const search_response *res, const char *err, const char *qptr) {
    if (st == LORE_NOT_FOUND && req->like) {
        /* Hidden and absent documents answer alike. */
        api_problem(q, 404, "not-found", "Not found", "like: %s", err);
    } else if (st == LORE_UNSUPPORTED) { /* no embedder for mode semantic or hybrid */
        api_bad_field(q, "/mode", "%s", err);
    } else if (st == LORE_IO && res->semantic_error[0]) {
        api_problem(q, 503, "embedding-provider-unavailable", "Embedding provider unavailable",
                    "%s (mode hybrid answers with the lexical ranking meanwhile)",
                    res->semantic_error);
    } else if (st == LORE_INVALID && req->like && req->mode != SEARCH_MODE_DEFAULT &&
               req->mode != SEARCH_MODE_LEXICAL) {
        api_bad_field(q, "/mode", "%s", err);
    } else if (st == LORE_INVALID || st == LORE_TOO_LARGE) {
        api_bad_field(q, req->like ? "/like" : qptr, "%s", err[0] ? err : lore_status_message(st));
    } else {
        api_internal(q, "search", st);
    }
}

/* The answer of a search that ran: the shared answer and the cursor. */
static json_t *answer_json(const search_request *req, const search_response *res) {
    json_t *o = view_search_answer(res, req->explain);
    if (res->more && req->offset + res->n < SEARCH_MAX_LIMIT) {
        char c[32];
        snprintf(c, sizeof c, "o%zu", req->offset + res->n);
        json_object_set_new(o, "next_cursor", json_string(c));
    } else {
        json_object_set_new(o, "next_cursor", json_null());
    }
    return o;
}

/* qptr: the JSON Pointer of the query ("/q" for GET, "/query" for POST). */
static void run(api_req *q, search_args *sa, const char *qptr) {
    search_request *req = &sa->req;
    if (req->like && req->query && !*req->query) req->query = NULL;
    if (req->like && req->query) {
        api_bad_field(q, "/like",
                      "like searches by a document instead of a query: send one "
                      "of them, not both");
        return;
    }
    if (req->like) {
        if (!*req->like) {
            api_bad_field(q, "/like", "like must be a document id (from a search hit)");
            return;
        }
    } else if (!req->query || !*req->query) {
        api_bad_field(q, qptr, "the query is required (or like=DOCUMENT_ID)");
        return;
    } else if (strlen(req->query) > MAX_QUERY) {
        api_bad_field(q, qptr, "the query is %zu bytes; the limit is %d", strlen(req->query),
                      MAX_QUERY);
        return;
    }
    size_t limit = req->limit ? req->limit : SEARCH_DEFAULT_LIMIT;
    if (req->offset + limit > SEARCH_MAX_LIMIT) {
        api_bad_field(q, "/cursor", "paging stops at %d hits; narrow the query instead",
                      SEARCH_MAX_LIMIT);
        return;
    }
    req->principals = q->viewer.principals;
    req->nprincipals = q->viewer.nprincipals;
    req->all_access = q->viewer.all_access;
    api_tenant *t = api_tenant_get(q);
    if (!t) return;
    search_response res;
    char err[256];
    lore_status st = search_run(t->search, req, &res, err, sizeof err);
    if (st != LORE_OK) {
        answer_error(q, req, st, &res, err, qptr);
        return;
    }
    metrics_observe(q->a->m_search, NULL, (double)res.took_us / 1e6);
    api_json(q, 200, answer_json(req, &res));
    search_response_free(&res);
}

/* ---- GET /v1/search?q=... ---- */

typedef struct get_walk {
    api_req *q;
    search_args *sa;
    int failed;
} get_walk;

static int bool_arg(const char *v, int *out) {
    if (!strcmp(v, "true") || !strcmp(v, "1") || !*v) {
        *out = 1;
        return 0;
    }
    if (!strcmp(v, "false") || !strcmp(v, "0")) {
        *out = 0;
        return 0;
    }
    return -1;
}

/* snippets, text, literal or explain. */
static void set_flag(search_request *r, const char *name, int b) {
    if (name[0] == 's')
        r->snippets = b;
    else if (name[0] == 't')
        r->with_text = b;
    else if (name[0] == 'l')
        r->literal = b;
    else
        r->explain = b;
}

static int get_arg(void *ctx, const char *name, const char *value) {
    get_walk *w = ctx;
    search_args *sa = w->sa;
    search_request *r = &sa->req;
    api_req *q = w->q;
    char ptr[160];
    snprintf(ptr, sizeof ptr, "/%.120s", name);
    char err[256];
    int f = view_filter_set(&sa->filters, r, name, NULL, value, err, sizeof err);
    if (f < 0) {
        api_bad_field(q, ptr, "%s", err);
        goto bad;
    }
    if (f == 0) return 0;
    if (!strcmp(name, "q")) {
        r->query = value;
    } else if (!strcmp(name, "like")) {
        r->like = value;
    } else if (!strcmp(name, "limit")) {
        if (api_parse_limit(value, SEARCH_MAX_LIMIT, &r->limit)) {
            api_bad_field(q, ptr, "limit must be a whole number from 1 to %d", SEARCH_MAX_LIMIT);
            goto bad;
        }
    } else if (!strcmp(name, "cursor")) {
        if (parse_cursor(q, value, &r->offset)) goto bad;
    } else if (!strcmp(name, "mode")) {
        if (search_mode_parse(value, &r->mode)) {
            api_bad_field(q, ptr, "mode must be lexical, semantic or hybrid");
            goto bad;
        }
    } else if (!strcmp(name, "snippets") || !strcmp(name, "text") || !strcmp(name, "literal") ||
               !strcmp(name, "explain")) {
        int b;
        if (bool_arg(value, &b)) {
            api_bad_field(q, ptr, "%s must be true or false", name);
            goto bad;
        }
        set_flag(r, name, b);
    } else {
        api_bad_field(q, ptr,
                      "unknown parameter '%.60s' (q, like, limit, cursor, source, since, until, "
                      "author, meta.KEY, mode, explain, snippets, text, literal)",
                      name);
        goto bad;
    }
    return 0;
bad:
    w->failed = 1;
    return 1;
}

static void args_init(search_args *sa) {
    memset(sa, 0, sizeof *sa);
    sa->req.snippets = 1;
    view_filters_attach(&sa->filters, &sa->req);
}

void api_search_get(api_req *q) {
    search_args *sa = malloc(sizeof *sa);
    if (!sa) {
        api_problem(q, 503, "out-of-memory", "Server out of memory", "search");
        return;
    }
    args_init(sa);
    get_walk w = {q, sa, 0};
    http_query_each(q->r, get_arg, &w);
    if (!w.failed) {
        if ((!sa->req.query || !*sa->req.query) && !sa->req.like) {
            api_bad_field(q, "/q", "q is required: GET /v1/search?q=words (or like=DOCUMENT_ID)");
        } else {
            run(q, sa, "/q");
        }
    }
    free(sa);
}

/* ---- POST /v1/search ---- */

/* POST "sources": a string or an array of strings. */
static int sources_field(api_req *q, search_args *sa, json_t *v) {
    char ptr[64], err[256];
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    if (!json_is_string(v) && (!json_is_array(v) || n > VIEW_MAX_FILTERS)) {
        api_bad_field(q, "/sources", "sources must be a string or an array of at most %d strings",
                      VIEW_MAX_FILTERS);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_is_array(v) ? json_array_get(v, i) : v;
        if (json_is_array(v))
            snprintf(ptr, sizeof ptr, "/sources/%zu", i);
        else
            snprintf(ptr, sizeof ptr, "/sources");
        if (!json_is_string(s)) {
            api_bad_field(q, ptr, "must be a string");
            return -1;
        }
        if (view_filter_set(&sa->filters, &sa->req, "source", "sources", json_string_value(s), err,
                            sizeof err)) {
            api_bad_field(q, ptr, "%s", err);
            return -1;
        }
    }
    return 0;
}

/* POST "metadata": {key: value, ...}, values strings, integers or booleans. */
static int metadata_field(api_req *q, search_args *sa, json_t *v) {
    search_request *r = &sa->req;
    char ptr[160];
    if (!json_is_object(v) || json_object_size(v) > VIEW_MAX_FILTERS) {
        api_bad_field(q, "/metadata", "metadata must be an object of at most %d key: value pairs",
                      VIEW_MAX_FILTERS);
        return -1;
    }
    const char *k;
    json_t *mv;
    json_object_foreach(v, k, mv) {
        size_t i = r->nmeta;
        const char *value;
        char err[256];
        snprintf(ptr, sizeof ptr, "/metadata/%.100s", k);
        if (json_is_string(mv)) {
            value = json_string_value(mv);
        } else if (json_is_integer(mv)) {
            snprintf(sa->value_buf[i], sizeof sa->value_buf[i], "%" JSON_INTEGER_FORMAT,
                     json_integer_value(mv));
            value = sa->value_buf[i];
        } else if (json_is_boolean(mv)) {
            value = json_is_true(mv) ? "true" : "false";
        } else {
            api_bad_field(q, ptr, "a metadata filter value is a string, integer or boolean");
            return -1;
        }
        if (view_filter_meta(&sa->filters, r, k, value, err, sizeof err)) {
            api_bad_field(q, ptr, "%s", err);
            return -1;
        }
    }
    return 0;
}

static int post_field(api_req *q, search_args *sa, const char *key, json_t *v) {
    search_request *r = &sa->req;
    char ptr[160];
    snprintf(ptr, sizeof ptr, "/%.120s", key);
    if (!strcmp(key, "query")) {
        if (!json_is_string(v)) goto type_string;
        r->query = json_string_value(v);
    } else if (!strcmp(key, "like")) {
        if (json_is_null(v)) return 0;
        if (!json_is_string(v)) goto type_string;
        r->like = json_string_value(v);
    } else if (!strcmp(key, "limit")) {
        json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;
        if (n < 1 || n > SEARCH_MAX_LIMIT) {
            api_bad_field(q, ptr, "limit must be an integer from 1 to %d", SEARCH_MAX_LIMIT);
            return -1;
        }
        r->limit = (size_t)n;
    } else if (!strcmp(key, "cursor")) {
        if (json_is_null(v)) return 0;
        if (!json_is_string(v)) goto type_string;
        return parse_cursor(q, json_string_value(v), &r->offset);
    } else if (!strcmp(key, "sources")) {
        return sources_field(q, sa, v);
    } else if (!strcmp(key, "since") || !strcmp(key, "until") || !strcmp(key, "author")) {
        char err[256];
        if (json_is_null(v)) return 0;
        if (!json_is_string(v)) goto type_string;
        if (view_filter_set(&sa->filters, r, key, NULL, json_string_value(v), err, sizeof err)) {
            api_bad_field(q, ptr, "%s", err);
            return -1;
        }
    } else if (!strcmp(key, "metadata")) {
        return metadata_field(q, sa, v);
    } else if (!strcmp(key, "mode")) {
        if (json_is_null(v)) return 0;
        if (!json_is_string(v) || search_mode_parse(json_string_value(v), &r->mode)) {
            api_bad_field(q, ptr, "mode must be \"lexical\", \"semantic\" or \"hybrid\"");
            return -1;
        }
    } else if (!strcmp(key, "snippets") || !strcmp(key, "text") || !strcmp(key, "literal") ||
               !strcmp(key, "explain")) {
        if (!json_is_boolean(v)) {
            api_bad_field(q, ptr, "%s must be true or false", key);
            return -1;
        }
        set_flag(r, key, json_is_true(v));
    } else {
        api_bad_field(q, ptr,
                      "unknown field '%.60s' (query, like, limit, cursor, sources, since, until, "
                      "author, metadata, mode, explain, snippets, text, literal)",
                      key);
        return -1;
    }
    return 0;
type_string:
    api_bad_field(q, ptr, "%s must be a string", key);
    return -1;
}

void api_search_post(api_req *q) {
    json_t *body = api_json_body(q);
    if (!body) return;
    search_args *sa = malloc(sizeof *sa);
    if (!sa) {
        json_decref(body);
        api_problem(q, 503, "out-of-memory", "Server out of memory", "search");
        return;
    }
    args_init(sa);
    int bad = 0;
    if (!json_is_object(body)) {
        api_bad_field(q, "", "the body must be a JSON object like {\"query\": \"words\"}");
        bad = 1;
    }
    const char *key;
    json_t *v;
    if (!bad) json_object_foreach(body, key, v) {
            if (post_field(q, sa, key, v)) {
                bad = 1;
                break;
            }
        }
    if (!bad) run(q, sa, "/query");
    free(sa);
    json_decref(body);
}

/* ---- GET /v1/sources ---- */

void api_sources_get(api_req *q) {
    api_tenant *t = api_tenant_get(q);
    if (!t) return;
    store_source_info *src = NULL;
    size_t n = 0;
    lore_status st = store_sources(t->t, &q->viewer, &src, &n);
    if (st != LORE_OK) {
        api_internal(q, "listing sources", st);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, view_source(&src[i]));
    store_sources_free(src, n);
    json_t *o = json_object();
    json_object_set_new(o, "sources", list);
    api_json(q, 200, o);
}
