/* The MCP conformance suite's fixtures (@modelcontextprotocol/conformance,
 * its "everything server" requirements): tools, resources and prompts with
 * fixed names and answers, so the suite's server scenarios can run against
 * lore's real protocol engine. An mcp_extension (mcp.h) linked only into
 * test programs and the test build of the binary (lore-test, which serves it
 * with LORE_TEST_MCP_FIXTURES=1 outside production mode); the shipped lore
 * has none of it.
 *
 * Scenarios that need the server to send requests to the client
 * (sampling, elicitation) cannot pass against a stateless JSON server and
 * are not implemented here; tests/mcp/conformance.sh lists them. */
#include "support/mcp_fixtures.h"

#include "mcp/mcp_int.h"
#include "mcp/mcp_methods.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A 1x1 red PNG and a tiny silent WAV (44-byte header, 2 samples). */
static const char png_b64[] = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAF"
                              "BQIAX8jx0gAAAABJRU5ErkJggg==";
static const char wav_b64[] = "UklGRigAAABXQVZFZm10IBAAAAABAAEARKwAAIhYAQACABAAZGF0YQQAAAAAAAAA";

static const char tools_json[] =
    "["
    "{\"name\":\"test_simple_text\",\"description\":\"Returns simple text\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{}}},"
    "{\"name\":\"test_image_content\",\"description\":\"Returns an image\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{}}},"
    "{\"name\":\"test_audio_content\",\"description\":\"Returns audio\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{}}},"
    "{\"name\":\"test_embedded_resource\",\"description\":\"Returns an embedded resource\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{}}},"
    "{\"name\":\"test_multiple_content_types\",\"description\":\"Returns text, image and "
    "resource\",\"inputSchema\":{\"type\":\"object\",\"properties\":{}}},"
    "{\"name\":\"test_tool_with_logging\",\"description\":\"Sends three log messages\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{}}},"
    "{\"name\":\"test_tool_with_progress\",\"description\":\"Reports progress 0, 50, 100\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{}}},"
    "{\"name\":\"test_error_handling\",\"description\":\"Always fails\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{}}},"
    "{\"name\":\"test_missing_capability\",\"description\":\"Needs the client's sampling "
    "capability\",\"inputSchema\":{\"type\":\"object\",\"properties\":{}}},"
    "{\"name\":\"test_logging_tool\",\"description\":\"Logs only when the request names a "
    "log level\",\"inputSchema\":{\"type\":\"object\",\"properties\":{}}},"
    "{\"name\":\"test_streaming_elicitation\",\"description\":\"Answers without asking the "
    "client anything\",\"inputSchema\":{\"type\":\"object\",\"properties\":{}}},"
    "{\"name\":\"json_schema_2020_12_tool\",\"description\":\"Tool with JSON Schema 2020-12 "
    "features\",\"inputSchema\":{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
    "\"type\":\"object\",\"$defs\":{\"address\":{\"$anchor\":\"addressDef\",\"type\":"
    "\"object\",\"properties\":{\"street\":{\"type\":\"string\"},\"city\":{\"type\":"
    "\"string\"}}}},\"properties\":{\"name\":{\"type\":\"string\"},\"address\":{\"$ref\":"
    "\"#/$defs/address\"},\"contactMethod\":{\"type\":\"string\",\"enum\":[\"phone\","
    "\"email\"]},\"phone\":{\"type\":\"string\"},\"email\":{\"type\":\"string\"}},"
    "\"allOf\":[{\"anyOf\":[{\"required\":[\"phone\"]},{\"required\":[\"email\"]}]}],"
    "\"if\":{\"properties\":{\"contactMethod\":{\"const\":\"phone\"}},\"required\":"
    "[\"contactMethod\"]},\"then\":{\"required\":[\"phone\"]},\"else\":{\"required\":"
    "[\"email\"]},\"additionalProperties\":false}}"
    "]";

static json_t *fixture_tools(void) {
    return json_loads(tools_json, 0, NULL);
}

static json_t *text(const char *t) {
    return json_pack("{s:s,s:s}", "type", "text", "text", t);
}

static json_t *image(void) {
    return json_pack("{s:s,s:s,s:s}", "type", "image", "data", png_b64, "mimeType", "image/png");
}

static json_t *embedded(const char *uri, const char *mime, const char *t) {
    return json_pack("{s:s,s:{s:s,s:s,s:s}}", "type", "resource", "resource", "uri", uri,
                     "mimeType", mime, "text", t);
}

/* notifications/message at info level: sent on the call's stream whatever
 * logging/setLevel said earlier, since HTTP keeps no state between calls. */
static void log_note(mcp_call *c, const char *msg) {
    json_t **grown = realloc(c->out->notes, (c->out->nnotes + 1) * sizeof *grown);
    if (!grown) return;
    c->out->notes = grown;
    grown[c->out->nnotes++] =
        json_pack("{s:s,s:s,s:{s:s,s:s,s:s}}", "jsonrpc", "2.0", "method", "notifications/message",
                  "params", "level", "info", "logger", "lore", "data", msg);
}

static int fixture_call(mcp_call *c, const char *name, json_t *args, json_t **result) {
    (void)args;
    json_t *content = NULL;
    int is_error = 0;
    if (!strcmp(name, "test_simple_text")) {
        content = json_pack("[o]", text("This is a simple text response for testing."));
    } else if (!strcmp(name, "test_image_content")) {
        content = json_pack("[o]", image());
    } else if (!strcmp(name, "test_audio_content")) {
        content =
            json_pack("[{s:s,s:s,s:s}]", "type", "audio", "data", wav_b64, "mimeType", "audio/wav");
    } else if (!strcmp(name, "test_embedded_resource")) {
        content = json_pack("[o]", embedded("test://embedded-resource", "text/plain",
                                            "This is an embedded resource content."));
    } else if (!strcmp(name, "test_multiple_content_types")) {
        content = json_pack("[o,o,o]", text("Multiple content types test:"), image(),
                            embedded("test://mixed-content-resource", "application/json",
                                     "{\"test\":\"data\",\"value\":123}"));
    } else if (!strcmp(name, "test_tool_with_logging")) {
        log_note(c, "Tool execution started");
        log_note(c, "Tool processing data");
        log_note(c, "Tool execution completed");
        content = json_pack("[o]", text("Tool with logging executed successfully"));
    } else if (!strcmp(name, "test_tool_with_progress")) {
        mcp_progress(c, 0, 100, NULL);
        mcp_progress(c, 50, 100, NULL);
        mcp_progress(c, 100, 100, NULL);
        content = json_pack("[o]", text("Tool with progress executed successfully"));
    } else if (!strcmp(name, "test_error_handling")) {
        content = json_pack("[o]", text("This tool intentionally returns an error for testing"));
        is_error = 1;
    } else if (!strcmp(name, "test_missing_capability")) {
        json_t *caps = json_object_get(c->meta, "io.modelcontextprotocol/clientCapabilities");
        if (c->modern && !json_object_get(caps, "sampling")) {
            mcp_call_error(c, MCP_MISSING_CAPABILITY,
                           json_pack("{s:{s:{}}}", "requiredCapabilities", "sampling"),
                           "Missing required client capability: sampling");
            *result = NULL;
            return 0;
        }
        content = json_pack("[o]", text("sampling capability declared"));
    } else if (!strcmp(name, "test_logging_tool")) {
        /* 2026-07-28: no log level in _meta, no log messages. */
        if (!c->modern || json_object_get(c->meta, "io.modelcontextprotocol/logLevel"))
            log_note(c, "test_logging_tool ran");
        content = json_pack("[o]", text("logging tool executed"));
    } else if (!strcmp(name, "test_streaming_elicitation")) {
        content = json_pack("[o]", text("answered without an elicitation request"));
    } else if (!strcmp(name, "json_schema_2020_12_tool")) {
        content = json_pack("[o]", text("JSON Schema 2020-12 tool called"));
    } else {
        return -1;
    }
    *result = json_pack("{s:o,s:b}", "content", content, "isError", is_error);
    return 0;
}

static json_t *fixture_resources(void) {
    return json_pack("[{s:s,s:s,s:s,s:s},{s:s,s:s,s:s,s:s},{s:s,s:s,s:s,s:s}]", "uri",
                     "test://static-text", "name", "static-text", "description",
                     "A static text resource", "mimeType", "text/plain", "uri",
                     "test://static-binary", "name", "static-binary", "description",
                     "A static binary resource", "mimeType", "image/png", "uri",
                     "test://watched-resource", "name", "watched-resource", "description",
                     "A resource to subscribe to", "mimeType", "text/plain");
}

static json_t *fixture_resource_templates(void) {
    return json_pack("[{s:s,s:s,s:s,s:s}]", "uriTemplate", "test://template/{id}/data", "name",
                     "template", "description", "A resource template", "mimeType",
                     "application/json");
}

static json_t *fixture_read(const char *uri) {
    if (!strcmp(uri, "test://static-text"))
        return json_pack("[{s:s,s:s,s:s}]", "uri", uri, "mimeType", "text/plain", "text",
                         "This is the content of the static text resource.");
    if (!strcmp(uri, "test://static-binary"))
        return json_pack("[{s:s,s:s,s:s}]", "uri", uri, "mimeType", "image/png", "blob", png_b64);
    if (!strcmp(uri, "test://watched-resource"))
        return json_pack("[{s:s,s:s,s:s}]", "uri", uri, "mimeType", "text/plain", "text",
                         "Watched resource content");
    static const char prefix[] = "test://template/", suffix[] = "/data";
    size_t n = strlen(uri), pl = sizeof prefix - 1, sl = sizeof suffix - 1;
    if (n > pl + sl && n < 200 && !strncmp(uri, prefix, pl) && !strcmp(uri + n - sl, suffix)) {
        char id[200], body[512];
        snprintf(id, sizeof id, "%.*s", (int)(n - pl - sl), uri + pl);
        if (strchr(id, '/')) return NULL;
        json_t *o =
            json_pack("{s:s,s:b,s:s+}", "id", id, "templateTest", 1, "data", "Data for ID: ", id);
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        snprintf(body, sizeof body, "%s", s ? s : "{}");
        free(s);
        return json_pack("[{s:s,s:s,s:s}]", "uri", uri, "mimeType", "application/json", "text",
                         body);
    }
    return NULL;
}

static json_t *fixture_prompts(void) {
    return json_pack(
        "[{s:s,s:s},{s:s,s:s,s:[{s:s,s:s,s:b},{s:s,s:s,s:b}]},{s:s,s:s,s:[{s:s,s:s,s:b}]},"
        "{s:s,s:s}]",
        "name", "test_simple_prompt", "description", "A simple prompt", "name",
        "test_prompt_with_arguments", "description", "A prompt with arguments", "arguments", "name",
        "arg1", "description", "First test argument", "required", 1, "name", "arg2", "description",
        "Second test argument", "required", 1, "name", "test_prompt_with_embedded_resource",
        "description", "A prompt with a resource", "arguments", "name", "resourceUri",
        "description", "URI of the resource to embed", "required", 1, "name",
        "test_prompt_with_image", "description", "A prompt with an image");
}

static const char *str_arg(json_t *args, const char *name) {
    json_t *v = json_object_get(args, name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static json_t *fixture_prompt_get(const char *name, json_t *args, char *msg, size_t msglen) {
    if (!strcmp(name, "test_simple_prompt"))
        return json_pack("{s:[{s:s,s:o}]}", "messages", "role", "user", "content",
                         text("This is a simple prompt for testing."));
    if (!strcmp(name, "test_prompt_with_arguments")) {
        const char *a1 = str_arg(args, "arg1"), *a2 = str_arg(args, "arg2");
        if (!a1 || !a2) {
            snprintf(msg, msglen, "test_prompt_with_arguments needs arguments arg1 and arg2");
            return NULL;
        }
        char t[600];
        snprintf(t, sizeof t, "Prompt with arguments: arg1='%.256s', arg2='%.256s'", a1, a2);
        return json_pack("{s:[{s:s,s:o}]}", "messages", "role", "user", "content", text(t));
    }
    if (!strcmp(name, "test_prompt_with_embedded_resource")) {
        const char *uri = str_arg(args, "resourceUri");
        if (!uri) {
            snprintf(msg, msglen, "test_prompt_with_embedded_resource needs resourceUri");
            return NULL;
        }
        return json_pack("{s:[{s:s,s:o},{s:s,s:o}]}", "messages", "role", "user", "content",
                         embedded(uri, "text/plain", "Embedded resource content for testing."),
                         "role", "user", "content",
                         text("Please process the embedded resource above."));
    }
    if (!strcmp(name, "test_prompt_with_image"))
        return json_pack("{s:[{s:s,s:o},{s:s,s:o}]}", "messages", "role", "user", "content",
                         image(), "role", "user", "content",
                         text("Please analyze the image above."));
    snprintf(msg, msglen, "Unknown prompt: %.100s", name);
    return NULL;
}

static json_t *fixture_complete(json_t *params) {
    (void)params;
    return json_pack("{s:{s:[],s:i,s:b}}", "completion", "values", "total", 0, "hasMore", 0);
}

const mcp_extension mcp_test_fixtures = {
    MCP_EXTENSION_VERSION,      fixture_tools, fixture_call,    fixture_resources,
    fixture_resource_templates, fixture_read,  fixture_prompts, fixture_prompt_get,
    fixture_complete,
};
