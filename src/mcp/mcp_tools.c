/* The MCP tools; see mcp_tools.h. Definitions are JSON text, parsed once;
 * arguments are checked here, field by field, with messages that tell an
 * agent what to send instead (the schemas say the same for clients that
 * validate before calling). */
#include "mcp/mcp_tools.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "view/view.h"

#define MAX_SOURCES VIEW_MAX_FILTERS

static const char tools_json[] =
    "["
    /* search */
    "{\"name\":\"search\",\"title\":\"Search company knowledge\","
    "\"description\":\"Search over the documents you may see: messages, issues, "
    "pages and files. Returns the best passage of each matching document, best first, with its "
    "document id (pass it to fetch for the whole text), title, url, source, section, a "
    "highlighted snippet and the passage text. Query syntax: words (all matter, rarer ones "
    "more), \\\"exact phrases\\\", -excluded words, title:word. Long queries (a pasted "
    "paragraph) are fine: past 256 distinct words the most common ones are left out and "
    "listed in dropped_terms. To find documents similar to one, pass its id as like instead "
    "of a query. Modes: lexical matches words (BM25), semantic finds passages by meaning "
    "even when they share no word with the query, hybrid (the default when the server has an "
    "embedding model) fuses both.\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"query\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":4096,"
    "\"description\":\"What to look for, in words or phrases (required unless like is "
    "given).\"},"
    "\"like\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":128,"
    "\"description\":\"More like this: a document id from a search hit; finds documents "
    "similar to it (the document itself first). Instead of query.\"},"
    "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":50,\"default\":10,"
    "\"description\":\"Hits to return (1-50).\"},"
    "\"sources\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"maxItems\":32,"
    "\"description\":\"Only these sources (see list_sources), e.g. "
    "[\\\"github\\\",\\\"slack\\\"].\"},"
    "\"updated_after\":{\"type\":\"string\",\"description\":\"Only documents updated at or after "
    "this ISO 8601 date or time, e.g. 2026-01-31 (a document without a date counts as updated "
    "when lore indexed it).\"},"
    "\"updated_before\":{\"type\":\"string\",\"description\":\"Only documents updated at or "
    "before this ISO 8601 date or time (a date includes that whole day).\"},"
    "\"author\":{\"type\":\"string\",\"description\":\"Only documents by this author (exact).\"},"
    "\"mode\":{\"type\":\"string\",\"enum\":[\"lexical\",\"semantic\",\"hybrid\"],"
    "\"description\":\"lexical: the words (exact terms, identifiers, error codes); semantic: the "
    "meaning (a question in your own words); hybrid: both, fused. Default: hybrid when the "
    "server has an embedding model, else lexical.\"}"
    "},\"additionalProperties\":false},"
    "\"outputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"hits\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
    "\"id\":{\"type\":\"string\"},\"title\":{\"type\":[\"string\",\"null\"]},"
    "\"url\":{\"type\":[\"string\",\"null\"]},\"source\":{\"type\":\"string\"},"
    "\"external_id\":{\"type\":\"string\"},\"chunk_id\":{\"type\":\"integer\"},"
    "\"author\":{\"type\":[\"string\",\"null\"]},\"updated_at\":{\"type\":[\"string\",\"null\"]},"
    "\"section\":{\"type\":\"string\"},\"snippet\":{\"type\":\"string\"},"
    "\"highlights\":{\"type\":\"array\",\"items\":{\"type\":\"array\",\"items\":"
    "{\"type\":\"integer\"}}},"
    "\"text\":{\"type\":\"string\"},\"score\":{\"type\":\"number\"}},"
    "\"required\":[\"id\",\"title\",\"url\",\"source\",\"section\",\"snippet\",\"text\","
    "\"score\"]}},"
    "\"more\":{\"type\":\"boolean\"},\"notice\":{\"type\":\"string\"},"
    "\"took_ms\":{\"type\":\"number\"},\"truncated\":{\"type\":\"boolean\"},"
    "\"mode\":{\"type\":\"string\",\"enum\":[\"lexical\",\"semantic\",\"hybrid\"]},"
    "\"semantic_error\":{\"type\":\"string\",\"description\":\"The embedding provider failed: "
    "these hits are the lexical ranking alone.\"},"
    "\"dropped_terms\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
    "\"description\":\"Words of a long query left out as too common (analyzed form), least "
    "selective first; at most 256 listed.\"},"
    "\"dropped_total\":{\"type\":\"integer\",\"minimum\":0}},"
    "\"required\":[\"hits\",\"more\",\"dropped_terms\",\"dropped_total\"]},"
    "\"annotations\":{\"title\":\"Search company knowledge\",\"readOnlyHint\":true,"
    "\"destructiveHint\":false,\"idempotentHint\":true,\"openWorldHint\":false}},"
    /* fetch */
    "{\"name\":\"fetch\",\"title\":\"Fetch a document\","
    "\"description\":\"The full text and metadata of one document, by the id a search hit "
    "gave. Long documents come in windows: offset and length are in bytes of UTF-8 text; "
    "the answer's next_offset is where the next window starts (null at the end).\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"id\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":128,"
    "\"description\":\"The document id from a search hit.\"},"
    "\"offset\":{\"type\":\"integer\",\"minimum\":0,\"default\":0,"
    "\"description\":\"Byte offset to start at (use next_offset from the previous call).\"},"
    "\"length\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":200000,\"default\":20000,"
    "\"description\":\"Bytes of text to return at most.\"}"
    "},\"required\":[\"id\"],\"additionalProperties\":false},"
    "\"outputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"id\":{\"type\":\"string\"},\"title\":{\"type\":[\"string\",\"null\"]},"
    "\"url\":{\"type\":[\"string\",\"null\"]},\"source\":{\"type\":\"string\"},"
    "\"external_id\":{\"type\":\"string\"},\"author\":{\"type\":[\"string\",\"null\"]},"
    "\"created_at\":{\"type\":[\"string\",\"null\"]},\"updated_at\":{\"type\":[\"string\",\"null\"]"
    "},\"indexed_at\":{\"type\":[\"string\",\"null\"]},\"content_hash\":{\"type\":\"string\"},"
    "\"acl\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},\"chunks\":{\"type\":\"integer\"}"
    ","
    "\"metadata\":{\"type\":\"object\"},\"text\":{\"type\":\"string\"},"
    "\"offset\":{\"type\":\"integer\"},\"total_length\":{\"type\":\"integer\"},"
    "\"next_offset\":{\"type\":[\"integer\",\"null\"]}},"
    "\"required\":[\"id\",\"title\",\"url\",\"source\",\"text\",\"offset\",\"total_length\","
    "\"next_offset\"]},"
    "\"annotations\":{\"title\":\"Fetch a document\",\"readOnlyHint\":true,"
    "\"destructiveHint\":false,\"idempotentHint\":true,\"openWorldHint\":false}},"
    /* list_sources */
    "{\"name\":\"list_sources\",\"title\":\"List sources\","
    "\"description\":\"The sources of the documents you may see (github, slack, upload, ...), "
    "with how many documents each holds and when the latest changed. Use the names to narrow "
    "a search.\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false},"
    "\"outputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"sources\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
    "\"source\":{\"type\":\"string\"},\"documents\":{\"type\":\"integer\"},"
    "\"last_updated\":{\"type\":[\"string\",\"null\"]}},"
    "\"required\":[\"source\",\"documents\",\"last_updated\"]}}},"
    "\"required\":[\"sources\"]},"
    "\"annotations\":{\"title\":\"List sources\",\"readOnlyHint\":true,"
    "\"destructiveHint\":false,\"idempotentHint\":true,\"openWorldHint\":false}}"
    "]";

static json_t *definitions;
static pthread_once_t definitions_once = PTHREAD_ONCE_INIT;

static void definitions_load(void) {
    definitions = json_loads(tools_json, 0, NULL);
}

json_t *mcp_tools_definitions(void) {
    pthread_once(&definitions_once, definitions_load);
    return definitions ? json_deep_copy(definitions) : NULL;
}

/* ---- helpers ---- */

/* Checks that args holds only the named keys; 0 or a refusal in msg. */
static int only_keys(json_t *args, const char *const *names, size_t n, const char *tool, char *msg,
                     size_t msglen) {
    const char *k;
    json_t *v;
    json_object_foreach(args, k, v) {
        size_t i = 0;
        while (i < n && strcmp(k, names[i]))
            i++;
        if (i < n) continue;
        int w = snprintf(msg, msglen, "%s has no argument '%.60s'; it takes:", tool, k);
        for (i = 0; i < n && w > 0 && (size_t)w < msglen; i++)
            w += snprintf(msg + w, msglen - (size_t)w, "%s %s", i ? "," : "", names[i]);
        return -1;
    }
    return 0;
}

/* An optional integer argument in [lo, hi]; 0 when absent or valid. */
static int int_arg(json_t *args, const char *name, long long lo, long long hi, long long *out,
                   char *msg, size_t msglen) {
    json_t *v = json_object_get(args, name);
    if (!v || json_is_null(v)) return 0;
    /* JSON numbers like 5.0 are integers to a schema validator too. */
    double d = json_is_real(v) ? json_real_value(v) : 0;
    if (json_is_integer(v) || (json_is_real(v) && d == (double)(long long)d)) {
        long long x = json_is_integer(v) ? (long long)json_integer_value(v) : (long long)d;
        if (x >= lo && x <= hi) {
            *out = x;
            return 0;
        }
    }
    snprintf(msg, msglen, "%s must be an integer from %lld to %lld", name, lo, hi);
    return -1;
}

static int str_arg(json_t *args, const char *name, size_t max, const char **out, char *msg,
                   size_t msglen) {
    json_t *v = json_object_get(args, name);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v)) {
        snprintf(msg, msglen, "%s must be a string", name);
        return -1;
    }
    if (json_string_length(v) > max) {
        snprintf(msg, msglen, "%s is %zu bytes; the limit is %zu", name, json_string_length(v),
                 max);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

/* A string argument applied as the search filter filter (view.h). */
static int filter_arg(json_t *args, const char *name, const char *filter, size_t max,
                      view_filters *f, search_request *r, char *msg, size_t msglen) {
    const char *s = NULL;
    if (str_arg(args, name, max, &s, msg, msglen)) return -1;
    if (!s) return 0;
    return view_filter_set(f, r, filter, name, s, msg, msglen) ? -1 : 0;
}

/* ---- search ---- */

/* A hit as REST renders it, with snippet and text always present (the
 * tool's outputSchema requires them). */
static json_t *hit_json(const search_hit *h) {
    json_t *x = view_hit(h, 0);
    if (!json_object_get(x, "snippet")) json_object_set_new(x, "snippet", json_string(""));
    if (!json_object_get(x, "text")) json_object_set_new(x, "text", json_string(""));
    return x;
}

static int search_args(json_t *args, search_request *r, view_filters *f, char *msg, size_t msglen) {
    static const char *const names[] = {"query",          "limit",  "sources", "updated_after",
                                        "updated_before", "author", "like",    "mode"};
    if (only_keys(args, names, 8, "search", msg, msglen)) return -1;
    const char *mode = NULL;
    if (str_arg(args, "mode", 16, &mode, msg, msglen)) return -1;
    if (mode && search_mode_parse(mode, &r->mode)) {
        snprintf(msg, msglen, "mode must be lexical, semantic or hybrid");
        return -1;
    }
    if (str_arg(args, "query", MCP_QUERY_MAX, &r->query, msg, msglen) ||
        str_arg(args, "like", 128, &r->like, msg, msglen))
        return -1;
    if (r->like && r->query) {
        snprintf(msg, msglen, "give query (words) or like (a document id), not both");
        return -1;
    }
    if (r->like && !*r->like) {
        snprintf(msg, msglen, "like must be a document id from a search hit");
        return -1;
    }
    if (!r->like && (!r->query || !*r->query)) {
        snprintf(msg, msglen, "query is required: the words to look for (or like: a document id)");
        return -1;
    }
    long long limit = SEARCH_DEFAULT_LIMIT;
    if (int_arg(args, "limit", 1, MCP_SEARCH_MAX_LIMIT, &limit, msg, msglen)) return -1;
    r->limit = (size_t)limit;
    json_t *src = json_object_get(args, "sources");
    if (src && !json_is_null(src)) {
        if (!json_is_array(src) || json_array_size(src) > MAX_SOURCES) {
            snprintf(msg, msglen, "sources must be an array of at most %d source names",
                     MAX_SOURCES);
            return -1;
        }
        for (size_t i = 0; i < json_array_size(src); i++) {
            json_t *s = json_array_get(src, i);
            if (!json_is_string(s)) {
                snprintf(msg, msglen, "sources[%zu] must be a string (a source name)", i);
                return -1;
            }
            if (view_filter_set(f, r, "source", "sources", json_string_value(s), msg, msglen))
                return -1;
        }
    }
    if (filter_arg(args, "updated_after", "since", 64, f, r, msg, msglen) ||
        filter_arg(args, "updated_before", "until", 64, f, r, msg, msglen) ||
        filter_arg(args, "author", "author", VIEW_MAX_AUTHOR, f, r, msg, msglen))
        return -1;
    return 0;
}

static mcp_tool_outcome tool_search(const search_scope *sc, json_t *args, json_t **out, char *msg,
                                    size_t msglen) {
    search_request r;
    memset(&r, 0, sizeof r);
    view_filters f;
    view_filters_attach(&f, &r);
    if (search_args(args, &r, &f, msg, msglen)) return MCP_TOOL_REFUSED;
    r.principals = sc->viewer.principals;
    r.nprincipals = sc->viewer.nprincipals;
    r.all_access = sc->viewer.all_access;
    r.snippets = 1;
    r.with_text = 1;
    search_response res;
    char err[256] = "";
    lore_status st = search_run(sc->engine, &r, &res, err, sizeof err);
    if (st == LORE_UNSUPPORTED) { /* no embedder: a caller's choice of mode to change */
        snprintf(msg, msglen, "mode: %s", err);
        return MCP_TOOL_REFUSED;
    }
    if (st == LORE_IO && res.semantic_error[0]) {
        snprintf(msg, msglen, "semantic search is unavailable (try mode lexical or hybrid): %s",
                 res.semantic_error);
        return MCP_TOOL_FAILED;
    }
    if (st == LORE_INVALID || st == LORE_TOO_LARGE || (st == LORE_NOT_FOUND && r.like)) {
        snprintf(msg, msglen, "%s: %s", r.like ? "like" : "query",
                 err[0] ? err : lore_status_message(st));
        return MCP_TOOL_REFUSED;
    }
    if (st != LORE_OK) {
        snprintf(msg, msglen, "search failed: %s", lore_status_message(st));
        return MCP_TOOL_FAILED;
    }
    json_t *o = view_search_answer(&res, 0), *hits = json_object_get(o, "hits");
    for (size_t i = 0; i < res.n; i++)
        json_array_set_new(hits, i, hit_json(&res.hits[i]));
    json_object_set_new(o, "more", json_boolean(res.more));
    search_response_free(&res);
    *out = o;
    return MCP_TOOL_OK;
}

/* ---- fetch ---- */

/* The visible document with text, or REFUSED/FAILED with msg. */
static mcp_tool_outcome visible_doc(const search_scope *sc, const char *id, store_doc **out,
                                    char *msg, size_t msglen) {
    store_doc *d = NULL;
    lore_status st = strlen(id) > 128 ? LORE_NOT_FOUND : store_doc_get(sc->tenant, id, 1, &d);
    if (st == LORE_OK && !store_viewer_sees(&sc->viewer, d->acl, d->nacl)) {
        store_doc_free(d);
        st = LORE_NOT_FOUND; /* hidden and absent look the same */
    }
    if (st == LORE_NOT_FOUND) {
        snprintf(msg, msglen, "no document with id '%.128s'; ids come from search hits", id);
        return MCP_TOOL_REFUSED;
    }
    if (st != LORE_OK) {
        snprintf(msg, msglen, "reading document: %s", lore_status_message(st));
        return MCP_TOOL_FAILED;
    }
    *out = d;
    return MCP_TOOL_OK;
}

/* Moves i back to the start of the UTF-8 sequence it is in. */
static size_t utf8_floor(const char *s, size_t len, size_t i) {
    if (i >= len) return len;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    return i;
}

static mcp_tool_outcome tool_fetch(const search_scope *sc, json_t *args, json_t **out, char *msg,
                                   size_t msglen) {
    static const char *const names[] = {"id", "offset", "length"};
    const char *id = NULL;
    long long offset = 0, length = MCP_FETCH_DEFAULT_LENGTH;
    if (only_keys(args, names, 3, "fetch", msg, msglen) ||
        str_arg(args, "id", 128, &id, msg, msglen) ||
        int_arg(args, "offset", 0, (long long)1 << 50, &offset, msg, msglen) ||
        int_arg(args, "length", 1, MCP_FETCH_MAX_LENGTH, &length, msg, msglen))
        return MCP_TOOL_REFUSED;
    if (!id || !*id) {
        snprintf(msg, msglen, "id is required: a document id from a search hit");
        return MCP_TOOL_REFUSED;
    }
    store_doc *d = NULL;
    mcp_tool_outcome oc = visible_doc(sc, id, &d, msg, msglen);
    if (oc != MCP_TOOL_OK) return oc;
    const char *text = d->text ? d->text : "";
    size_t total = d->text_len;
    if ((unsigned long long)offset > total) {
        snprintf(msg, msglen, "offset %lld is past the end of the document (%zu bytes)", offset,
                 total);
        store_doc_free(d);
        return MCP_TOOL_REFUSED;
    }
    size_t start = utf8_floor(text, total, (size_t)offset);
    size_t end = (size_t)length >= total - start ? total : start + (size_t)length;
    end = utf8_floor(text, total, end);
    if (end == start && start < total) /* a window shorter than one character */
        end = utf8_floor(text, total, start + 4 < total ? start + 4 : total);
    json_t *o = view_doc(d); /* and the window of text: */
    json_object_set_new(o, "text", json_stringn(text + start, end - start));
    json_object_set_new(o, "offset", json_integer((json_int_t)start));
    json_object_set_new(o, "total_length", json_integer((json_int_t)total));
    json_object_set_new(o, "next_offset",
                        end < total ? json_integer((json_int_t)end) : json_null());
    store_doc_free(d);
    *out = o;
    return MCP_TOOL_OK;
}

mcp_tool_outcome mcp_doc_read(const search_scope *sc, const char *id, json_t **out, char *msg,
                              size_t msglen) {
    store_doc *d = NULL;
    mcp_tool_outcome oc = visible_doc(sc, id, &d, msg, msglen);
    if (oc != MCP_TOOL_OK) return oc;
    *out = json_stringn(d->text ? d->text : "", d->text_len);
    store_doc_free(d);
    return MCP_TOOL_OK;
}

typedef struct page_walk {
    json_t *list;
    size_t n;
    int64_t last;
} page_walk;

static int page_doc(void *ctx, const store_doc *d) {
    page_walk *w = ctx;
    if (w->n++ == MCP_DOC_PAGE) return 1; /* one past the page: there is a next one */
    char uri[64];
    snprintf(uri, sizeof uri, MCP_DOC_URI_PREFIX "%s", d->id);
    json_t *r = json_pack("{s:s,s:s,s:s}", "uri", uri, "name", d->title ? d->title : d->id,
                          "mimeType", "text/plain");
    if (d->title) json_object_set_new(r, "title", json_string(d->title));
    char desc[200];
    snprintf(desc, sizeof desc, "%.60s document %.100s", d->source, d->external_id);
    json_object_set_new(r, "description", json_string(desc));
    json_array_append_new(w->list, r);
    w->last = d->rowid;
    return 0;
}

mcp_tool_outcome mcp_doc_page(const search_scope *sc, int64_t after, json_t *list, int64_t *next,
                              char *msg, size_t msglen) {
    page_walk w = {list, 0, 0};
    lore_status st =
        store_doc_list(sc->tenant, &sc->viewer, NULL, after, MCP_DOC_PAGE + 1, page_doc, &w);
    if (st != LORE_OK) {
        snprintf(msg, msglen, "listing documents: %s", lore_status_message(st));
        return MCP_TOOL_FAILED;
    }
    *next = w.n > MCP_DOC_PAGE ? w.last : 0;
    return MCP_TOOL_OK;
}

/* ---- list_sources ---- */

static mcp_tool_outcome tool_list_sources(const search_scope *sc, json_t *args, json_t **out,
                                          char *msg, size_t msglen) {
    if (only_keys(args, NULL, 0, "list_sources", msg, msglen)) return MCP_TOOL_REFUSED;
    store_source_info *src = NULL;
    size_t n = 0;
    lore_status st = store_sources(sc->tenant, &sc->viewer, &src, &n);
    if (st != LORE_OK) {
        snprintf(msg, msglen, "listing sources: %s", lore_status_message(st));
        return MCP_TOOL_FAILED;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = view_source(&src[i]);
        json_array_append_new(list, o);
    }
    store_sources_free(src, n);
    *out = json_pack("{s:o}", "sources", list);
    return MCP_TOOL_OK;
}

mcp_tool_outcome mcp_tool_call(const search_scope *sc, const char *name, json_t *args, json_t **out,
                               char *msg, size_t msglen) {
    static const struct {
        const char *name;
        mcp_tool_outcome (*fn)(const search_scope *, json_t *, json_t **, char *, size_t);
    } tools[] = {
        {"search", tool_search}, {"fetch", tool_fetch}, {"list_sources", tool_list_sources}};
    *out = NULL;
    msg[0] = '\0';
    json_t *none = NULL;
    if (!args) args = none = json_object();
    mcp_tool_outcome oc = MCP_TOOL_UNKNOWN;
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++)
        if (!strcmp(name, tools[i].name)) oc = tools[i].fn(sc, args, out, msg, msglen);
    json_decref(none);
    return oc;
}
