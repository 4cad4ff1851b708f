/* The MCP methods: lifecycle (initialize, ping, server/discover), tools and
 * resources, and, with the conformance fixtures, prompts, completions and
 * logging. Each returns a result object; mcp.c adds what the era needs
 * (resultType and serverInfo in 2026-07-28, no cache hints before). */
#include "mcp/mcp_methods.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/mcp_tools.h"
#include "util/log.h"

/* How long clients may keep what they listed (2026-07-28 cache hints). */
#define TTL_DEFINITIONS_MS 300000 /* tools, templates, discover: fixed per binary */
#define TTL_DOCUMENTS_MS 60000    /* document lists and reads: change with ingest */

static json_t *capabilities(const mcp_call *c) {
    json_t *caps = json_pack("{s:{s:b},s:{s:b,s:b}}", "tools", "listChanged", 0, "resources",
                             "subscribe", 0, "listChanged", 0);
    if (c->m->ext) {
        json_object_set_new(caps, "prompts", json_pack("{s:b}", "listChanged", 0));
        json_object_set_new(caps, "completions", json_object());
        if (!c->modern) { /* logging and subscriptions left the core in 2026-07-28 */
            json_object_set_new(caps, "logging", json_object());
            json_object_set_new(json_object_get(caps, "resources"), "subscribe", json_true());
        }
    }
    return caps;
}

static void set_cache(json_t *result, long ttl_ms, const char *scope) {
    json_object_set_new(result, "ttlMs", json_integer(ttl_ms));
    json_object_set_new(result, "cacheScope", json_string(scope));
}

/* ---- lifecycle ---- */

static int m_initialize(mcp_call *c, mcp_session *s, json_t **result) {
    json_t *v = json_object_get(c->params, "protocolVersion");
    if (!json_is_string(v)) {
        mcp_call_error(c, MCP_INVALID_PARAMS, NULL,
                       "initialize needs params.protocolVersion (a string like \"2025-11-25\")");
        return 0;
    }
    /* The client's version when we speak it, else our own (the client
     * decides whether it can use that). */
    const char *chosen =
        mcp_legacy_version(json_string_value(v)) ? json_string_value(v) : MCP_VERSION_LEGACY;
    if (s) snprintf(s->version, sizeof s->version, "%s", chosen);
    json_t *r =
        json_pack("{s:s,s:o,s:{s:s,s:s}}", "protocolVersion", chosen, "capabilities",
                  capabilities(c), "serverInfo", "name", c->m->name, "version", c->m->version);
    if (c->m->instructions) json_object_set_new(r, "instructions", json_string(c->m->instructions));
    *result = r;
    return 0;
}

static int m_discover(mcp_call *c, mcp_session *s, json_t **result) {
    (void)s;
    json_t *r = json_pack("{s:o,s:o}", "supportedVersions", mcp_supported_versions(),
                          "capabilities", capabilities(c));
    if (c->m->instructions) json_object_set_new(r, "instructions", json_string(c->m->instructions));
    set_cache(r, TTL_DEFINITIONS_MS, "public");
    *result = r;
    return 0;
}

/* ---- tools ---- */

/* Only one page exists; a cursor we never gave is an error. */
static int no_cursor(mcp_call *c) {
    json_t *cur = json_object_get(c->params, "cursor");
    if (!cur || json_is_null(cur)) return 0;
    mcp_call_error(c, MCP_INVALID_PARAMS, NULL, "invalid cursor: this list has one page");
    return -1;
}

static int m_tools_list(mcp_call *c, mcp_session *s, json_t **result) {
    (void)s;
    if (no_cursor(c)) return 0;
    json_t *r = json_pack("{s:O}", "tools", c->m->tools);
    set_cache(r, TTL_DEFINITIONS_MS, "public");
    *result = r;
    return 0;
}

static json_t *text_block(const char *text) {
    return json_pack("{s:s,s:s}", "type", "text", "text", text);
}

static int m_tools_call(mcp_call *c, mcp_session *s, json_t **result) {
    (void)s;
    json_t *name = json_object_get(c->params, "name");
    json_t *args = json_object_get(c->params, "arguments");
    if (!json_is_string(name)) {
        mcp_call_error(c, MCP_INVALID_PARAMS, NULL, "tools/call needs params.name (a string)");
        return 0;
    }
    if (args && !json_is_null(args) && !json_is_object(args)) {
        mcp_call_error(c, MCP_INVALID_PARAMS, NULL, "params.arguments must be an object");
        return 0;
    }
    if (json_is_null(args)) args = NULL;
    const char *tool = json_string_value(name);
    if (c->m->ext && c->m->ext->call(c, tool, args, result) == 0) return 0;
    if (!c->scope) {
        mcp_call_error(c, MCP_INTERNAL_ERROR, NULL, "no tenant is open for this request");
        return 0;
    }
    char msg[512];
    json_t *out = NULL;
    mcp_progress(c, 0, 1, "started");
    mcp_tool_outcome oc = mcp_tool_call(c->scope, tool, args, &out, msg, sizeof msg);
    if (oc == MCP_TOOL_UNKNOWN) {
        char m[200];
        snprintf(m, sizeof m, "Unknown tool: %.120s", tool);
        mcp_call_error(c, MCP_INVALID_PARAMS, NULL, m);
        return 0;
    }
    if (oc == MCP_TOOL_FAILED) {
        LORE_ERROR("mcp: tool %s for tenant %s: %s", tool, c->scope->tenant_name, msg);
        mcp_call_error(c, MCP_INTERNAL_ERROR, NULL, "the tool failed inside the server; try again");
        return 0;
    }
    mcp_progress(c, 1, 1, "done");
    if (oc == MCP_TOOL_REFUSED) {
        *result = json_pack("{s:[o],s:b}", "content", text_block(msg), "isError", 1);
        return 0;
    }
    /* Serialized once here; mcp.c splices it in as structuredContent and
     * as the text block. */
    c->structured = json_dumps(out, MCP_JSON_FLAGS);
    json_decref(out);
    if (!c->structured) {
        mcp_call_error(c, MCP_INTERNAL_ERROR, NULL, "out of memory");
        return 0;
    }
    *result = json_pack("{s:b}", "isError", 0);
    return 0;
}

/* ---- resources ---- */

static int parse_doc_cursor(json_t *cur, int64_t *after) {
    *after = 0;
    if (!cur || json_is_null(cur)) return 0;
    const char *s = json_is_string(cur) ? json_string_value(cur) : "";
    char *end;
    long long v = s[0] == 'd' ? strtoll(s + 1, &end, 10) : -1;
    if (v <= 0 || *end) return -1;
    *after = v;
    return 0;
}

static int m_resources_list(mcp_call *c, mcp_session *s, json_t **result) {
    (void)s;
    int64_t after;
    if (parse_doc_cursor(json_object_get(c->params, "cursor"), &after)) {
        mcp_call_error(c, MCP_INVALID_PARAMS, NULL,
                       "invalid cursor: use nextCursor from the previous page");
        return 0;
    }
    json_t *list = after == 0 && c->m->ext ? c->m->ext->resources() : json_array();
    int64_t next = 0;
    if (c->scope) {
        char msg[256];
        if (mcp_doc_page(c->scope, after, list, &next, msg, sizeof msg) != MCP_TOOL_OK) {
            LORE_ERROR("mcp: resources/list: %s", msg);
            json_decref(list);
            mcp_call_error(c, MCP_INTERNAL_ERROR, NULL, "listing documents failed; try again");
            return 0;
        }
    }
    json_t *r = json_pack("{s:o}", "resources", list);
    if (next) {
        char cur[32];
        snprintf(cur, sizeof cur, "d%lld", (long long)next);
        json_object_set_new(r, "nextCursor", json_string(cur));
    }
    set_cache(r, TTL_DOCUMENTS_MS, "private");
    *result = r;
    return 0;
}

static int m_templates_list(mcp_call *c, mcp_session *s, json_t **result) {
    (void)s;
    if (no_cursor(c)) return 0;
    json_t *list = json_pack("[{s:s,s:s,s:s,s:s,s:s}]", "uriTemplate", MCP_DOC_URI_PREFIX "{id}",
                             "name", "document", "title", "A lore document", "description",
                             "The full text of a document, by the id a search hit gave", "mimeType",
                             "text/plain");
    if (c->m->ext) {
        json_t *f = c->m->ext->resource_templates();
        json_array_extend(list, f);
        json_decref(f);
    }
    json_t *r = json_pack("{s:o}", "resourceTemplates", list);
    set_cache(r, TTL_DEFINITIONS_MS, "public");
    *result = r;
    return 0;
}

static void resource_not_found(mcp_call *c, const char *uri, const char *why) {
    /* 2026-07-28 made it invalid params; before, it had its own code. */
    int code = c->modern ? MCP_INVALID_PARAMS : MCP_RESOURCE_NOT_FOUND_LEGACY;
    char m[300];
    snprintf(m, sizeof m, "Resource not found: %s", why);
    mcp_call_error(c, code, json_pack("{s:s}", "uri", uri), m);
}

static int m_resources_read(mcp_call *c, mcp_session *s, json_t **result) {
    (void)s;
    json_t *u = json_object_get(c->params, "uri");
    if (!json_is_string(u)) {
        mcp_call_error(c, MCP_INVALID_PARAMS, NULL, "resources/read needs params.uri (a string)");
        return 0;
    }
    const char *uri = json_string_value(u);
    json_t *contents = c->m->ext ? c->m->ext->read(uri) : NULL;
    size_t plen = strlen(MCP_DOC_URI_PREFIX);
    if (!contents && strncmp(uri, MCP_DOC_URI_PREFIX, plen)) {
        resource_not_found(c, uri, "lore serves lore://doc/{id} URIs");
        return 0;
    }
    if (!contents) {
        char msg[256];
        json_t *doc = NULL;
        mcp_tool_outcome oc =
            c->scope ? mcp_doc_read(c->scope, uri + plen, &doc, msg, sizeof msg) : MCP_TOOL_FAILED;
        if (oc == MCP_TOOL_REFUSED) {
            resource_not_found(c, uri, "no such document (or not visible to you)");
            return 0;
        }
        if (oc != MCP_TOOL_OK) {
            mcp_call_error(c, MCP_INTERNAL_ERROR, NULL, "reading the document failed; try again");
            return 0;
        }
        contents = json_pack("[{s:s,s:s,s:o}]", "uri", uri, "mimeType", "text/plain", "text", doc);
    }
    json_t *r = json_pack("{s:o}", "contents", contents);
    set_cache(r, TTL_DOCUMENTS_MS, "private");
    *result = r;
    return 0;
}

/* ---- with an extension only: prompts, completions, logging, subscriptions ---- */

static int m_prompts_list(mcp_call *c, mcp_session *s, json_t **result) {
    (void)s;
    if (no_cursor(c)) return 0;
    json_t *r = json_pack("{s:o}", "prompts", c->m->ext->prompts());
    set_cache(r, TTL_DEFINITIONS_MS, "public");
    *result = r;
    return 0;
}

static int m_prompts_get(mcp_call *c, mcp_session *s, json_t **result) {
    (void)s;
    json_t *name = json_object_get(c->params, "name");
    json_t *args = json_object_get(c->params, "arguments");
    char msg[256] = "prompts/get needs params.name (a string)";
    json_t *r = json_is_string(name)
                    ? c->m->ext->prompt_get(json_string_value(name), args, msg, sizeof msg)
                    : NULL;
    if (!r) {
        mcp_call_error(c, MCP_INVALID_PARAMS, NULL, msg);
        return 0;
    }
    *result = r;
    return 0;
}

static int m_empty(mcp_call *c, mcp_session *s, json_t **result) {
    (void)c, (void)s;
    *result = json_object();
    return 0;
}

static int m_complete(mcp_call *c, mcp_session *s, json_t **result) {
    (void)s;
    *result = c->m->ext->complete(c->params);
    return 0;
}

/* ---- dispatch ---- */

typedef enum { ERA_BOTH, ERA_LEGACY, ERA_MODERN } method_era;

typedef struct method_def {
    const char *name;
    method_era era;
    int extension_only;
    int (*fn)(mcp_call *c, mcp_session *s, json_t **result);
} method_def;

static const method_def methods[] = {
    {"initialize", ERA_LEGACY, 0, m_initialize},
    {"ping", ERA_LEGACY, 0, m_empty},
    {"server/discover", ERA_MODERN, 0, m_discover},
    {"tools/list", ERA_BOTH, 0, m_tools_list},
    {"tools/call", ERA_BOTH, 0, m_tools_call},
    {"resources/list", ERA_BOTH, 0, m_resources_list},
    {"resources/templates/list", ERA_BOTH, 0, m_templates_list},
    {"resources/read", ERA_BOTH, 0, m_resources_read},
    {"prompts/list", ERA_BOTH, 1, m_prompts_list},
    {"prompts/get", ERA_BOTH, 1, m_prompts_get},
    {"completion/complete", ERA_BOTH, 1, m_complete},
    {"logging/setLevel", ERA_LEGACY, 1, m_empty},
    {"resources/subscribe", ERA_LEGACY, 1, m_empty},
    {"resources/unsubscribe", ERA_LEGACY, 1, m_empty},
};

int mcp_dispatch(mcp_call *c, mcp_session *s, const char *method, json_t **result) {
    *result = NULL;
    const method_def *d = NULL;
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (!strcmp(methods[i].name, method)) d = &methods[i];
    const char *why = "";
    if (d && d->era == ERA_LEGACY && c->modern)
        why = " (not part of protocol " MCP_VERSION_MODERN ")";
    else if (d && d->era == ERA_MODERN && !c->modern)
        why = " (needs protocol " MCP_VERSION_MODERN " in params._meta)";
    if (!d || why[0] || (d->extension_only && !c->m->ext)) {
        char m[200];
        snprintf(m, sizeof m, "Method not found: %.100s%s", method, why);
        mcp_call_error(c, MCP_METHOD_NOT_FOUND, NULL, m);
        return 0;
    }
    return d->fn(c, s, result);
}
