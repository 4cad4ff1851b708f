/* The MCP engine on a real tenant, message by message: both protocol eras,
 * the 2026-07-28 header and _meta rules with their error codes and HTTP
 * statuses, batches and garbage, the stdio session, tools and their
 * argument errors, fetch windows on UTF-8 boundaries, ACLs, resources and
 * their paging, progress notifications, and the fixture switch. The npm
 * clients exercise the same engine end to end (tests/cli/mcp_*.sh). */
#include <stdlib.h>

#include "support/mcp_fixtures.h"
#include "support/test_store.h"
#include "ingest/ingest.h"
#include "mcp/mcp.h"
#include "mcp/mcp_tools.h"
#include "search/long_text.h"
#include "search/search.h"
#include "test.h"
#include "util/timeutil.h"

static mcp_server *srv, *srv_fix;
static search_scope scope;

#define META                                                                                       \
    "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","                       \
    "\"io.modelcontextprotocol/clientCapabilities\":{}}"

/* One message through the engine; returns the reply (caller frees). */
static mcp_reply call(mcp_server *m, mcp_session *s, const mcp_headers *h, const char *msg) {
    mcp_reply r;
    mcp_handle(m, &scope, s, h, msg, strlen(msg), &r);
    if (r.raw) { /* a tool's result, spliced: read it back whole */
        json_t *whole = json_loads(r.raw, 0, NULL);
        CHECK(whole != NULL);
        json_decref(r.response);
        r.response = whole;
    }
    return r;
}

static long long error_code(const mcp_reply *r) {
    json_t *e = json_object_get(r->response, "error");
    return e ? (long long)json_integer_value(json_object_get(e, "code")) : 0;
}

static json_t *result(const mcp_reply *r) {
    return json_object_get(r->response, "result");
}

/* tools/call over the legacy HTTP era (header 2025-11-25); returns the result. */
static mcp_reply tool(const char *name, const char *args) {
    char msg[8192];
    snprintf(msg, sizeof msg,
             "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\","
             "\"arguments\":%s}}",
             name, args);
    mcp_headers h = {"2025-11-25", NULL, NULL, 0};
    return call(srv, NULL, &h, msg);
}

static int is_error(const mcp_reply *r) {
    return json_is_true(json_object_get(result(r), "isError"));
}

static const char *error_text(const mcp_reply *r) {
    json_t *c = json_array_get(json_object_get(result(r), "content"), 0);
    return json_string_value(json_object_get(c, "text"));
}

static void test_legacy_lifecycle(void) {
    mcp_session s = {{0}};
    /* stdio: nothing before initialize but ping */
    mcp_reply r = call(srv, &s, NULL, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
    CHECK_INT(error_code(&r), -32600);
    mcp_reply_free(&r);
    r = call(srv, &s, NULL, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}");
    CHECK(json_is_object(result(&r)) && json_object_size(result(&r)) == 0);
    mcp_reply_free(&r);
    /* negotiation: a version we speak is echoed, an unknown one gets ours */
    r = call(srv, &s, NULL,
             "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"initialize\",\"params\":{"
             "\"protocolVersion\":\"2099-01-01\",\"capabilities\":{},\"clientInfo\":{\"name\":"
             "\"t\",\"version\":\"1\"}}}");
    CHECK_STR(json_string_value(json_object_get(result(&r), "protocolVersion")), "2025-11-25");
    CHECK_STR(json_string_value(json_object_get(json_object_get(result(&r), "serverInfo"), "name")),
              "lore");
    CHECK(json_object_get(result(&r), "resultType") == NULL);
    mcp_reply_free(&r);
    r = call(srv, &s, NULL,
             "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"initialize\",\"params\":{"
             "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{}}}");
    CHECK_STR(json_string_value(json_object_get(result(&r), "protocolVersion")), "2025-06-18");
    mcp_reply_free(&r);
    CHECK_STR(s.version, "2025-06-18");
    r = call(srv, &s, NULL, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    CHECK(r.response == NULL);
    CHECK_INT(r.status, 202);
    mcp_reply_free(&r);
    r = call(srv, &s, NULL, "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"tools/list\"}");
    json_t *tools = json_object_get(result(&r), "tools");
    CHECK_INT(json_array_size(tools), 3);
    CHECK_STR(json_string_value(json_object_get(json_array_get(tools, 0), "name")), "search");
    CHECK_STR(json_string_value(json_object_get(json_array_get(tools, 1), "name")), "fetch");
    CHECK_STR(json_string_value(json_object_get(json_array_get(tools, 2), "name")), "list_sources");
    for (size_t i = 0; i < json_array_size(tools); i++) {
        json_t *t = json_array_get(tools, i);
        CHECK(json_is_true(json_object_get(json_object_get(t, "annotations"), "readOnlyHint")));
        CHECK(json_is_object(json_object_get(t, "outputSchema")));
    }
    CHECK(json_object_get(result(&r), "ttlMs") == NULL); /* not part of 2025-11-25 */
    CHECK_STR(json_string_value(json_object_get(r.response, "id")), "x");
    mcp_reply_free(&r);
    /* server/discover is 2026-07-28 only */
    r = call(srv, &s, NULL, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"server/discover\"}");
    CHECK_INT(error_code(&r), -32601);
    mcp_reply_free(&r);
}

static void test_modern(void) {
    mcp_headers h = {"2026-07-28", "server/discover", NULL, 0};
    mcp_reply r =
        call(srv, NULL, &h,
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server/discover\",\"params\":{" META "}}");
    CHECK_INT(r.status, 200);
    json_t *res = result(&r);
    CHECK_STR(json_string_value(json_object_get(res, "resultType")), "complete");
    CHECK_STR(json_string_value(json_array_get(json_object_get(res, "supportedVersions"), 0)),
              "2026-07-28");
    CHECK(json_is_integer(json_object_get(res, "ttlMs")));
    CHECK_STR(json_string_value(json_object_get(res, "cacheScope")), "public");
    CHECK(json_object_get(json_object_get(res, "_meta"), "io.modelcontextprotocol/serverInfo"));
    mcp_reply_free(&r);

    /* missing _meta with a modern header: -32602, 400 */
    r = call(srv, NULL, &h, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"server/discover\"}");
    CHECK_INT(error_code(&r), -32602);
    CHECK_INT(r.status, 400);
    mcp_reply_free(&r);
    /* missing clientCapabilities */
    r = call(srv, NULL, &h,
             "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"server/discover\",\"params\":{\"_meta\":{"
             "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"}}}");
    CHECK_INT(error_code(&r), -32602);
    mcp_reply_free(&r);
    /* unsupported version in both places: -32022 with the supported list */
    mcp_headers hv = {"v999", "server/discover", NULL, 0};
    r = call(srv, NULL, &hv,
             "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"server/discover\",\"params\":{\"_meta\":{"
             "\"io.modelcontextprotocol/protocolVersion\":\"v999\","
             "\"io.modelcontextprotocol/clientCapabilities\":{}}}}");
    CHECK_INT(error_code(&r), -32022);
    CHECK_INT(r.status, 400);
    json_t *data = json_object_get(json_object_get(r.response, "error"), "data");
    CHECK_STR(json_string_value(json_object_get(data, "requested")), "v999");
    CHECK(json_array_size(json_object_get(data, "supported")) >= 2);
    mcp_reply_free(&r);
    /* header and body disagree: -32020 */
    r = call(srv, NULL, &h,
             "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"server/discover\",\"params\":{\"_meta\":{"
             "\"io.modelcontextprotocol/protocolVersion\":\"v999\","
             "\"io.modelcontextprotocol/clientCapabilities\":{}}}}");
    CHECK_INT(error_code(&r), -32020);
    mcp_reply_free(&r);
    /* Mcp-Method missing, wrong, or in the wrong case */
    const char *methods[] = {NULL, "tools/list", "SERVER/DISCOVER"};
    for (size_t i = 0; i < 3; i++) {
        mcp_headers hm = {"2026-07-28", methods[i], NULL, 0};
        r = call(srv, NULL, &hm,
                 "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"server/discover\",\"params\":{" META
                 "}}");
        CHECK_INT(error_code(&r), -32020);
        CHECK_INT(r.status, 400);
        mcp_reply_free(&r);
    }
    /* surrounding whitespace in a header value is fine */
    mcp_headers hw = {" 2026-07-28 ", "\tserver/discover ", NULL, 0};
    r = call(srv, NULL, &hw,
             "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"server/discover\",\"params\":{" META "}}");
    CHECK_INT(error_code(&r), 0);
    mcp_reply_free(&r);
    /* Mcp-Name: required for tools/call, compared with the body, base64 decoded */
    const char *names[] = {NULL, "fetch", "=?base64?bGlzdF9zb3VyY2Vz?=", "=?base64?!!?="};
    const long long want[] = {-32020, -32020, 0, -32020};
    for (size_t i = 0; i < 4; i++) {
        mcp_headers hn = {"2026-07-28", "tools/call", names[i], 0};
        r = call(srv, NULL, &hn,
                 "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\",\"params\":{\"name\":"
                 "\"list_sources\"," META "}}");
        CHECK_INT(error_code(&r), want[i]);
        if (!want[i]) {
            CHECK_STR(json_string_value(json_object_get(result(&r), "resultType")), "complete");
            CHECK(json_is_object(json_object_get(result(&r), "structuredContent")));
        }
        mcp_reply_free(&r);
    }
    /* methods gone from 2026-07-28: 404 and -32601 */
    const char *gone[] = {"ping", "initialize", "logging/setLevel", "resources/subscribe",
                          "unknown/method"};
    for (size_t i = 0; i < 5; i++) {
        char msg[512];
        snprintf(msg, sizeof msg,
                 "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"%s\",\"params\":{" META "}}", gone[i]);
        mcp_headers hg = {"2026-07-28", gone[i], NULL, 0};
        r = call(srv, NULL, &hg, msg);
        CHECK_INT(error_code(&r), -32601);
        CHECK_INT(r.status, 404);
        CHECK_INT(json_integer_value(json_object_get(r.response, "id")), 9);
        mcp_reply_free(&r);
    }
    /* stdio serves modern requests statelessly, no initialize needed */
    mcp_session s = {{0}};
    r = call(srv, &s, NULL,
             "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"tools/list\",\"params\":{" META "}}");
    CHECK_INT(json_array_size(json_object_get(result(&r), "tools")), 3);
    CHECK_STR(json_string_value(json_object_get(result(&r), "cacheScope")), "public");
    mcp_reply_free(&r);
}

static void test_envelope(void) {
    mcp_headers h = {"2025-11-25", NULL, NULL, 0};
    const char *bad[] = {"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]",
                         "{nope",
                         "42",
                         "{\"id\":1,\"method\":\"ping\"}",
                         "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}",
                         "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":[]}"};
    const long long codes[] = {-32600, -32700, -32600, -32600, -32600, -32600};
    for (size_t i = 0; i < 6; i++) {
        mcp_reply r = call(srv, NULL, &h, bad[i]);
        CHECK_INT(error_code(&r), codes[i]);
        CHECK_INT(r.status, 400);
        mcp_reply_free(&r);
    }
    /* deep nesting is refused before parsing */
    char deep[400];
    memset(deep, '[', 300);
    deep[300] = '\0';
    mcp_reply r = call(srv, NULL, &h, deep);
    CHECK_INT(error_code(&r), -32700);
    mcp_reply_free(&r);
    /* an unsupported legacy header */
    mcp_headers hx = {"1999-01-01", NULL, NULL, 0};
    r = call(srv, NULL, &hx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
    CHECK_INT(error_code(&r), -32022);
    CHECK_INT(r.status, 400);
    mcp_reply_free(&r);
    /* no header at all: 2025-03-26, served */
    mcp_headers h0 = {NULL, NULL, NULL, 0};
    r = call(srv, NULL, &h0, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
    CHECK(json_is_object(result(&r)));
    mcp_reply_free(&r);
    /* a response from the client is accepted and ignored */
    r = call(srv, NULL, &h, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}");
    CHECK_INT(r.status, 202);
    CHECK(r.response == NULL);
    mcp_reply_free(&r);
}

static void test_tools(void) {
    mcp_reply r = tool("search", "{\"query\":\"otters\",\"limit\":5}");
    json_t *sc = json_object_get(result(&r), "structuredContent");
    json_t *hits = json_object_get(sc, "hits");
    CHECK_INT(json_array_size(hits), 2); /* public-1 and eng-1: not alice's private note */
    json_t *h0 = json_array_get(hits, 0);
    CHECK(json_string_length(json_object_get(h0, "snippet")) > 0);
    CHECK(json_string_length(json_object_get(h0, "text")) > 0);
    CHECK(json_is_real(json_object_get(h0, "score")));
    /* the text block is the same JSON */
    json_t *again = json_loads(error_text(&r), 0, NULL);
    CHECK(json_equal(again, sc));
    json_decref(again);
    mcp_reply_free(&r);

    /* filters */
    r = tool("search", "{\"query\":\"otters\",\"sources\":[\"github\"]}");
    CHECK_INT(
        json_array_size(json_object_get(json_object_get(result(&r), "structuredContent"), "hits")),
        1);
    mcp_reply_free(&r);
    r = tool("search", "{\"query\":\"otters\",\"updated_after\":\"2026-01-01\"}");
    hits = json_object_get(json_object_get(result(&r), "structuredContent"), "hits");
    CHECK_INT(json_array_size(hits), 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(hits, 0), "title")),
              "Otter handbook");
    mcp_reply_free(&r);
    r = tool("search", "{\"query\":\"otters\",\"author\":\"Bob\"}");
    CHECK_INT(
        json_array_size(json_object_get(json_object_get(result(&r), "structuredContent"), "hits")),
        1);
    mcp_reply_free(&r);

    /* argument errors: isError with a message naming the fix */
    const char *bad[][2] = {{"{}", "query is required"},
                            {"{\"query\":\"x\",\"limit\":0}", "limit must be an integer from 1"},
                            {"{\"query\":\"x\",\"limit\":51}", "from 1 to 50"},
                            {"{\"query\":\"x\",\"limit\":\"5\"}", "limit must be an integer"},
                            {"{\"query\":\"x\",\"top\":3}", "no argument 'top'"},
                            {"{\"query\":\"x\",\"updated_after\":\"last week\"}", "ISO 8601"},
                            {"{\"query\":\"x\",\"sources\":\"wiki\"}", "sources must be an array"},
                            {"{\"query\":7}", "query must be a string"},
                            {"{\"query\":\"x\",\"sources\":[\"a\",\"a\",\"a\",\"a\",\"a\",\"a\","
                             "\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\","
                             "\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\","
                             "\"a\",\"a\",\"a\",\"a\",\"a\"]}",
                             "at most 32 source names"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = tool("search", bad[i][0]);
        CHECK(is_error(&r));
        const char *t = error_text(&r);
        if (!t || !strstr(t, bad[i][1]))
            fprintf(stderr, "search %s: got '%s', want '%s'\n", bad[i][0], t ? t : "", bad[i][1]);
        CHECK(t && strstr(t, bad[i][1]));
        mcp_reply_free(&r);
    }
    char big[5000] = "{\"query\":\"";
    memset(big + 10, 'a', 4100);
    strcpy(big + 4110, "\"}");
    r = tool("search", big);
    CHECK(is_error(&r) && strstr(error_text(&r), "limit is 4096"));
    mcp_reply_free(&r);

    /* unknown tool: a protocol error, not a tool error */
    r = tool("nope", "{}");
    CHECK_INT(error_code(&r), -32602);
    mcp_reply_free(&r);
    r = tool("list_sources", "{\"x\":1}");
    CHECK(is_error(&r));
    mcp_reply_free(&r);
    r = tool("list_sources", "{}");
    json_t *src = json_object_get(json_object_get(result(&r), "structuredContent"), "sources");
    CHECK_INT(json_array_size(src), 2); /* wiki and github; notes is hidden */
    for (size_t i = 0; i < json_array_size(src); i++)
        CHECK(
            strcmp(json_string_value(json_object_get(json_array_get(src, i), "source")), "notes"));
    mcp_reply_free(&r);
}

static void test_fetch(void) {
    char id[32], args[256];
    store_doc_public_id("wiki", "long", id);
    snprintf(args, sizeof args, "{\"id\":\"%s\"}", id);
    mcp_reply r = tool("fetch", args);
    json_t *sc = json_object_get(result(&r), "structuredContent");
    long long total = json_integer_value(json_object_get(sc, "total_length"));
    CHECK(total > 30000);
    /* "intro " then 3-byte characters: byte 20000 is inside one */
    CHECK_INT(json_string_length(json_object_get(sc, "text")), 19998);
    CHECK_INT(json_integer_value(json_object_get(sc, "next_offset")), 19998);
    CHECK_STR(json_string_value(json_object_get(sc, "title")), "Long");
    mcp_reply_free(&r);
    /* windows never split a character: the text is 3-byte characters */
    snprintf(args, sizeof args, "{\"id\":\"%s\",\"offset\":20000,\"length\":10}", id);
    r = tool("fetch", args);
    sc = json_object_get(result(&r), "structuredContent");
    CHECK_INT(json_integer_value(json_object_get(sc, "offset")), 19998);
    CHECK_INT(json_string_length(json_object_get(sc, "text")), 9);
    CHECK_STR(json_string_value(json_object_get(sc, "text")),
              "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac");
    mcp_reply_free(&r);
    snprintf(args, sizeof args, "{\"id\":\"%s\",\"offset\":%lld}", id, total);
    r = tool("fetch", args);
    sc = json_object_get(result(&r), "structuredContent");
    CHECK(json_is_null(json_object_get(sc, "next_offset")));
    CHECK_INT(json_string_length(json_object_get(sc, "text")), 0);
    mcp_reply_free(&r);
    /* the caps of the schema: a window of at most 200,000 bytes, ids of 128 */
    snprintf(args, sizeof args, "{\"id\":\"%s\",\"length\":200001}", id);
    r = tool("fetch", args);
    CHECK(is_error(&r) && strstr(error_text(&r), "length must be an integer from 1 to 200000"));
    mcp_reply_free(&r);
    snprintf(args, sizeof args, "{\"id\":\"%s\",\"length\":200000}", id);
    r = tool("fetch", args);
    CHECK(!is_error(&r));
    mcp_reply_free(&r);
    char long_id[200] = "{\"id\":\"";
    memset(long_id + 7, 'a', 129);
    strcpy(long_id + 136, "\"}");
    r = tool("fetch", long_id);
    CHECK(is_error(&r) && strstr(error_text(&r), "id is 129 bytes; the limit is 128"));
    mcp_reply_free(&r);
    snprintf(args, sizeof args, "{\"id\":\"%s\",\"offset\":%lld}", id, total + 1);
    r = tool("fetch", args);
    CHECK(is_error(&r) && strstr(error_text(&r), "past the end"));
    mcp_reply_free(&r);
    /* hidden and absent look the same */
    char hidden[32], hid_args[128];
    store_doc_public_id("notes", "alice-1", hidden);
    snprintf(hid_args, sizeof hid_args, "{\"id\":\"%s\"}", hidden);
    r = tool("fetch", hid_args);
    CHECK(is_error(&r));
    char msg_hidden[256];
    snprintf(msg_hidden, sizeof msg_hidden, "%s", error_text(&r));
    mcp_reply_free(&r);
    r = tool("fetch", "{\"id\":\"0123456789abcdef\"}");
    CHECK(is_error(&r));
    char want[256];
    snprintf(want, sizeof want, "no document with id '%s'; ids come from search hits", hidden);
    CHECK_STR(msg_hidden, want);
    CHECK_STR(error_text(&r), "no document with id '0123456789abcdef'; ids come from search hits");
    mcp_reply_free(&r);
}

static void test_resources(void) {
    mcp_headers h = {"2025-11-25", NULL, NULL, 0};
    mcp_reply r = call(srv, NULL, &h,
                       "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/templates/list\"}");
    CHECK_STR(
        json_string_value(json_object_get(
            json_array_get(json_object_get(result(&r), "resourceTemplates"), 0), "uriTemplate")),
        "lore://doc/{id}");
    mcp_reply_free(&r);
    /* paging over 100+ documents, hidden ones left out */
    size_t seen = 0, pages = 0;
    char cursor[64] = "";
    do {
        char msg[256];
        if (cursor[0])
            snprintf(msg, sizeof msg,
                     "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/list\",\"params\":{"
                     "\"cursor\":\"%s\"}}",
                     cursor);
        else
            snprintf(msg, sizeof msg,
                     "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/list\"}");
        r = call(srv, NULL, &h, msg);
        json_t *list = json_object_get(result(&r), "resources");
        seen += json_array_size(list);
        for (size_t i = 0; i < json_array_size(list); i++)
            CHECK(strncmp(json_string_value(json_object_get(json_array_get(list, i), "name")),
                          "Alice", 5));
        const char *next = json_string_value(json_object_get(result(&r), "nextCursor"));
        snprintf(cursor, sizeof cursor, "%s", next ? next : "");
        mcp_reply_free(&r);
        pages++;
    } while (cursor[0] && pages < 10);
    CHECK_INT(seen, 123); /* public-1, eng-1, the long one and 120 fillers */
    CHECK_INT(pages, 2);
    r = call(srv, NULL, &h,
             "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/list\",\"params\":{\"cursor\":"
             "\"zz\"}}");
    CHECK_INT(error_code(&r), -32602);
    mcp_reply_free(&r);
    /* read: a visible document; a hidden one is -32002 before 2026-07-28, -32602 after */
    char id[32], msg[512];
    store_doc_public_id("wiki", "public-1", id);
    snprintf(msg, sizeof msg,
             "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"resources/read\",\"params\":{\"uri\":"
             "\"lore://doc/%s\"}}",
             id);
    r = call(srv, NULL, &h, msg);
    json_t *c0 = json_array_get(json_object_get(result(&r), "contents"), 0);
    CHECK(strstr(json_string_value(json_object_get(c0, "text")), "hold hands") != NULL);
    mcp_reply_free(&r);
    store_doc_public_id("notes", "alice-1", id);
    snprintf(msg, sizeof msg,
             "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"resources/read\",\"params\":{\"uri\":"
             "\"lore://doc/%s\"}}",
             id);
    r = call(srv, NULL, &h, msg);
    CHECK_INT(error_code(&r), -32002);
    mcp_reply_free(&r);
    char mmsg[768];
    snprintf(mmsg, sizeof mmsg,
             "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"resources/read\",\"params\":{\"uri\":"
             "\"lore://doc/%s\"," META "}}",
             id);
    char uri[64];
    snprintf(uri, sizeof uri, "lore://doc/%s", id);
    mcp_headers hm = {"2026-07-28", "resources/read", uri, 0};
    r = call(srv, NULL, &hm, mmsg);
    CHECK_INT(error_code(&r), -32602);
    CHECK_STR(json_string_value(json_object_get(
                  json_object_get(json_object_get(r.response, "error"), "data"), "uri")),
              uri);
    mcp_reply_free(&r);
}

static void test_progress_and_fixtures(void) {
    /* progress: only with a token, and only where the client takes SSE */
    const char *msg = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
                      "\"name\":\"list_sources\",\"_meta\":{\"progressToken\":\"p\"}}}";
    mcp_headers sse = {"2025-11-25", NULL, NULL, 1}, json_only = {"2025-11-25", NULL, NULL, 0};
    mcp_reply r = call(srv, NULL, &sse, msg);
    CHECK(r.stream);
    CHECK_INT(r.nnotes, 2);
    CHECK_STR(json_string_value(json_object_get(r.notes[0], "method")), "notifications/progress");
    mcp_reply_free(&r);
    r = call(srv, NULL, &json_only, msg);
    CHECK(!r.stream && r.nnotes == 0 && result(&r));
    mcp_reply_free(&r);
    /* fixtures exist only when asked for */
    r = tool("test_simple_text", "{}");
    CHECK_INT(error_code(&r), -32602);
    mcp_reply_free(&r);
    mcp_reply f = call(srv_fix, NULL, &json_only,
                       "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
                       "\"name\":\"test_simple_text\"}}");
    json_t *c0 = json_array_get(json_object_get(result(&f), "content"), 0);
    CHECK_STR(json_string_value(json_object_get(c0, "text")),
              "This is a simple text response for testing.");
    mcp_reply_free(&f);
    f = call(srv_fix, NULL, &json_only,
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"prompts/list\"}");
    CHECK_INT(json_array_size(json_object_get(result(&f), "prompts")), 4);
    mcp_reply_free(&f);
    r = call(srv, NULL, &json_only, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"prompts/list\"}");
    CHECK_INT(error_code(&r), -32601);
    mcp_reply_free(&r);
}

/* Records straight into the pipeline, each with its source. */
static void put(ingest_session *ing, const char *source, const char *id, const char *title,
                const char *author, const char *updated, const char *acl, const char *text) {
    const char *acls[1] = {acl};
    int64_t up = 0;
    if (updated) CHECK_INT(lore_parse_iso8601(updated, &up), 0);
    ingest_record r = {.source = source,
                       .external_id = id,
                       .title = title,
                       .author = author,
                       .updated_ms = up,
                       .acl = acl ? acls : NULL,
                       .nacl = acl ? 1 : 0,
                       .text = text,
                       .text_len = strlen(text)};
    ingest_outcome oc;
    CHECK_INT(ingest_record_put(ing, &r, &oc), LORE_OK);
    CHECK_INT(oc, INGEST_ADDED);
}

static void seed(ingest_session *ing) {
    put(ing, "wiki", "public-1", "Otter handbook", NULL, "2026-03-01", NULL,
        "Otters hold hands while they sleep.");
    put(ing, "notes", "alice-1", "Alice otter notes", NULL, NULL, "user:alice@acme.test",
        "Private otters notes.");
    put(ing, "github", "eng-1", "Engineering otters", "Bob", "2025-06-01", "group:eng",
        "Design of the otters tracking service.");
    lore_buf b;
    lore_buf_init(&b, 1 << 20);
    CHECK(lore_buf_append_str(&b, "intro ") == LORE_OK);
    for (int i = 0; i < 12000; i++) /* 36,000 bytes of the euro sign */
        CHECK(lore_buf_append_str(&b, "\xe2\x82\xac") == LORE_OK);
    put(ing, "wiki", "long", "Long", NULL, NULL, NULL, b.data);
    lore_buf_free(&b);
    for (int i = 0; i < 120; i++) {
        char id[16], title[32], text[64];
        snprintf(id, sizeof id, "f%d", i);
        snprintf(title, sizeof title, "Filler %d", i);
        snprintf(text, sizeof text, "filler page number %d", i);
        put(ing, "wiki", id, title, NULL, NULL, NULL, text);
    }
    CHECK_INT(ingest_commit(ing), LORE_OK);
}

/* A search tool call with a long query, built as JSON (the tool() buffer is
 * for short arguments). */
static mcp_reply tool_json(json_t *args) {
    json_t *m = json_pack("{s:s,s:i,s:s,s:{s:s,s:o}}", "jsonrpc", "2.0", "id", 9, "method",
                          "tools/call", "params", "name", "search", "arguments", args);
    char *msg = json_dumps(m, JSON_COMPACT);
    mcp_headers h = {"2025-11-25", NULL, NULL, 0};
    mcp_reply r = call(srv, NULL, &h, msg);
    free(msg);
    json_decref(m);
    return r;
}

/* Long queries through the search tool: answered, with the dropped terms in
 * structuredContent (and its outputSchema); like= puts the document first
 * and refuses a hidden one as a missing one. */
static void test_long_queries(ingest_session *ing) {
    char ext[16], title[32];
    for (int d = 0; d < LT_DOCS; d++) {
        char *text = lt_doc_text(d);
        snprintf(ext, sizeof ext, "lt%d", d);
        snprintf(title, sizeof title, "Fixture %d", d);
        put(ing, "lt", ext, title, NULL, NULL, d == 3 ? "group:secret" : NULL, text);
        free(text);
    }
    put(ing, "lt", "incident", LT_INCIDENT_TITLE, NULL, NULL, NULL, LT_INCIDENT_TEXT);
    CHECK_INT(ingest_commit(ing), LORE_OK);

    char *q600 = lt_query600();
    mcp_reply r = tool_json(json_pack("{s:s,s:i}", "query", q600, "limit", 50));
    CHECK(!is_error(&r));
    json_t *sc = json_object_get(result(&r), "structuredContent");
    CHECK_INT(json_array_size(json_object_get(sc, "hits")), LT_DOCS - 1); /* lt3 is hidden */
    json_t *dropped = json_object_get(sc, "dropped_terms");
    CHECK_INT(json_array_size(dropped), LT_COMMON);
    CHECK_INT(json_integer_value(json_object_get(sc, "dropped_total")), LT_COMMON);
    for (size_t i = 0; i < json_array_size(dropped); i++)
        CHECK(lt_is_common(json_string_value(json_array_get(dropped, i))));
    mcp_reply_free(&r);
    free(q600);

    char *para = lt_paragraph();
    r = tool_json(json_pack("{s:s}", "query", para));
    CHECK(!is_error(&r));
    sc = json_object_get(result(&r), "structuredContent");
    CHECK_STR(
        json_string_value(json_object_get(json_array_get(json_object_get(sc, "hits"), 0), "title")),
        LT_INCIDENT_TITLE);
    CHECK(json_is_array(json_object_get(sc, "dropped_terms")));
    mcp_reply_free(&r);
    free(para);

    /* the outputSchema names the new fields, required */
    json_t *defs = mcp_tools_definitions();
    json_t *os = json_object_get(json_array_get(defs, 0), "outputSchema");
    CHECK(json_object_get(json_object_get(os, "properties"), "dropped_terms") != NULL);
    json_t *req = json_object_get(os, "required");
    int listed = 0;
    for (size_t i = 0; i < json_array_size(req); i++)
        listed += !strcmp(json_string_value(json_array_get(req, i)), "dropped_terms");
    CHECK_INT(listed, 1);
    CHECK(json_object_get(json_object_get(json_object_get(json_array_get(defs, 0), "inputSchema"),
                                          "properties"),
                          "like") != NULL);
    json_decref(defs);

    /* like: the document first */
    char id[STORE_DOC_ID_LEN + 1];
    store_doc_public_id("lt", "lt0", id);
    r = tool_json(json_pack("{s:s,s:i}", "like", id, "limit", 4));
    CHECK(!is_error(&r));
    json_t *hits = json_object_get(json_object_get(result(&r), "structuredContent"), "hits");
    CHECK_INT(json_array_size(hits), 4);
    CHECK_STR(json_string_value(json_object_get(json_array_get(hits, 0), "id")), id);
    mcp_reply_free(&r);
    /* hidden (lt3 needs group:secret; the scope has group:eng) = missing */
    store_doc_public_id("lt", "lt3", id);
    r = tool_json(json_pack("{s:s}", "like", id));
    CHECK(is_error(&r));
    char hidden_msg[256];
    snprintf(hidden_msg, sizeof hidden_msg, "%s", error_text(&r) ? error_text(&r) : "");
    CHECK(strstr(hidden_msg, "no document with id") != NULL);
    mcp_reply_free(&r);
    store_doc_public_id("lt", "nope", id);
    r = tool_json(json_pack("{s:s}", "like", id));
    CHECK(is_error(&r) && strstr(error_text(&r), "no document with id"));
    mcp_reply_free(&r);
    r = tool_json(json_pack("{s:s,s:s}", "like", id, "query", "x"));
    CHECK(is_error(&r) && strstr(error_text(&r), "not both"));
    mcp_reply_free(&r);

    /* a query that is not UTF-8 (JSON cannot carry one; an engine caller
     * can): refused, naming the problem */
    json_t *args = json_object();
    json_object_set_new_nocheck(args, "query", json_stringn_nocheck("\xff\xfe", 2));
    char msg[256];
    json_t *out = NULL;
    CHECK_INT(mcp_tool_call(&scope, "search", args, &out, msg, sizeof msg), MCP_TOOL_REFUSED);
    CHECK(strstr(msg, "UTF-8") != NULL);
    json_decref(out);
    json_decref(args);
}

int main(void) {
    const char *dir = test_tmpdir();
    char dirc[256];
    snprintf(dirc, sizeof dirc, "%s", dir);
    store *s = NULL;
    store_tenant *t = NULL;
    tenant_ctx *tc = NULL;
    ingest_session *ing = NULL;
    search_engine *se = NULL;
    char err[512];
    CHECK_INT(test_store_open(dirc, STORE_OPEN_CREATE, &s, err, sizeof err), LORE_OK);
    CHECK_INT(store_tenant_create(s, "t"), LORE_OK);
    CHECK_INT(store_tenant_open(s, "t", &t), LORE_OK);
    CHECK_INT(tenant_ctx_attach(t, NULL, &tc), LORE_OK);
    ingest_options o;
    ingest_options_default(&o);
    CHECK_INT(ingest_session_new(tc, &o, &ing), LORE_OK);
    CHECK_INT(search_engine_new(tc, &se), LORE_OK);

    seed(ing);
    static const char *const who[] = {"group:eng"};
    scope = (search_scope){"t", t, se, {0, who, 1}, "test"};
    mcp_options mo = {"lore", "test", NULL, NULL};
    CHECK_INT(mcp_server_new(&mo, &srv), LORE_OK);
    mo.extension = &mcp_test_fixtures;
    CHECK_INT(mcp_server_new(&mo, &srv_fix), LORE_OK);

    test_legacy_lifecycle();
    test_modern();
    test_envelope();
    test_tools();
    test_fetch();
    test_resources();
    test_progress_and_fixtures();
    test_long_queries(ing);

    mcp_server_free(srv);
    mcp_server_free(srv_fix);
    search_engine_free(se);
    ingest_session_free(ing);
    tenant_ctx_close(tc);
    store_tenant_close(t);
    store_close(s);
    test_rmtree(dirc);
    return test_summary();
}
