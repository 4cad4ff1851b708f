/* The MCP engine: envelope checks, which era a message belongs to, the
 * header rules of 2026-07-28, dispatch, and the shape of results in each
 * era. See mcp.h; the methods themselves are in mcp_methods.c. */
#include "mcp/mcp_int.h"
#include "mcp/mcp_methods.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/mcp_tools.h"
#include "util/buf.h"
#include "util/jsonscan.h"

#define MAX_DEPTH 64

/* Versions served the 2025-11-25 way; the first is the one offered. */
static const char *const legacy_versions[] = {MCP_VERSION_LEGACY, "2025-06-18", "2025-03-26"};
#define NLEGACY (sizeof legacy_versions / sizeof legacy_versions[0])

static int legacy_version(const char *v) {
    for (size_t i = 0; v && i < NLEGACY; i++)
        if (!strcmp(v, legacy_versions[i])) return 1;
    return 0;
}

static json_t *supported_versions(void) {
    json_t *a = json_array();
    json_array_append_new(a, json_string(MCP_VERSION_MODERN));
    for (size_t i = 0; i < NLEGACY; i++)
        json_array_append_new(a, json_string(legacy_versions[i]));
    return a;
}

/* ---- replies ---- */

static void reply_error(mcp_reply *out, unsigned status, json_t *id, int code, json_t *data,
                        const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void reply_error(mcp_reply *out, unsigned status, json_t *id, int code, json_t *data,
                        const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *err = json_pack("{s:i,s:s}", "code", code, "message", msg);
    if (data) json_object_set_new(err, "data", data);
    json_t *r = json_pack("{s:s}", "jsonrpc", "2.0");
    json_object_set(r, "id", id ? id : json_null());
    json_object_set_new(r, "error", err);
    json_decref(out->response);
    out->response = r;
    out->status = status;
}

void mcp_call_error(mcp_call *c, int code, json_t *data, const char *msg) {
    /* Unknown methods are 404 in 2026-07-28 (so a modern client can tell
     * them from a legacy server's 404); other errors of a well-formed
     * request ride on 200. */
    unsigned status = 200;
    if (c->modern && code == MCP_METHOD_NOT_FOUND) status = 404;
    if (code == MCP_MISSING_CAPABILITY) status = 400;
    reply_error(c->out, status, c->id, code, data, "%s", msg);
}

static void splice_structured(mcp_call *c);

static void reply_result(mcp_call *c, json_t *result) {
    if (c->modern) {
        json_object_set_new(result, "resultType", json_string("complete"));
        json_t *meta = json_object_get(result, "_meta");
        if (!meta) json_object_set_new(result, "_meta", meta = json_object());
        json_object_set_new(meta, "io.modelcontextprotocol/serverInfo",
                            json_pack("{s:s,s:s}", "name", c->m->name, "version", c->m->version));
    } else {
        /* The cache hints are 2026-07-28 fields; older schemas lack them. */
        json_object_del(result, "ttlMs");
        json_object_del(result, "cacheScope");
    }
    json_t *r = json_pack("{s:s}", "jsonrpc", "2.0");
    json_object_set(r, "id", c->id);
    json_object_set_new(r, "result", result);
    c->out->response = r;
    c->out->status = 200;
    if (c->structured) splice_structured(c);
}

/* out->raw = the response with content (the structured result as a JSON
 * string) and structuredContent added at the end of its result object.
 * The result is a non-empty object (isError at least) and the last member
 * of the response, so its closing brace is the second to last byte. */
static void splice_structured(mcp_call *c) {
    char *head = json_dumps(c->out->response, MCP_JSON_FLAGS);
    size_t hl = head ? strlen(head) : 0;
    lore_buf b;
    lore_buf_init(&b, (size_t)1 << 31);
    int ok = hl > 2 && !strcmp(head + hl - 2, "}}") &&
             lore_buf_reserve(&b, hl + 2 * strlen(c->structured) + 128) == LORE_OK &&
             lore_buf_append(&b, head, hl - 2) == LORE_OK &&
             lore_buf_append_str(&b, ",\"content\":[{\"type\":\"text\",\"text\":\"") == LORE_OK;
    /* Compact output has no raw control bytes: quotes and backslashes are
     * all there is to escape. */
    for (const char *p = c->structured; ok && *p; p++) {
        size_t run = strcspn(p, "\"\\");
        ok = lore_buf_append(&b, p, run) == LORE_OK;
        p += run;
        if (!*p) break;
        ok = ok && lore_buf_append_byte(&b, '\\') == LORE_OK &&
             lore_buf_append_byte(&b, (uint8_t)*p) == LORE_OK;
    }
    ok = ok && lore_buf_append_str(&b, "\"}],\"structuredContent\":") == LORE_OK &&
         lore_buf_append_str(&b, c->structured) == LORE_OK &&
         lore_buf_append_str(&b, "}}") == LORE_OK;
    free(head);
    if (ok) {
        c->out->raw = lore_buf_take(&b);
    } else {
        lore_buf_free(&b);
        reply_error(c->out, 200, c->id, MCP_INTERNAL_ERROR, NULL, "out of memory");
    }
}

char *mcp_reply_text(const mcp_reply *r, size_t *len) {
    char *s = r->raw        ? strdup(r->raw)
              : r->response ? json_dumps(r->response, MCP_JSON_FLAGS)
                            : NULL;
    if (len) *len = s ? strlen(s) : 0;
    return s;
}

void mcp_progress(mcp_call *c, double progress, double total, const char *message) {
    if (!c->progress || progress <= c->progress_at) return;
    json_t **grown = realloc(c->out->notes, (c->out->nnotes + 1) * sizeof *grown);
    if (!grown) return; /* progress is advisory */
    c->out->notes = grown;
    json_t *p = json_pack("{s:O,s:f,s:f}", "progressToken", c->progress, "progress", progress,
                          "total", total);
    if (message) json_object_set_new(p, "message", json_string(message));
    grown[c->out->nnotes++] = json_pack("{s:s,s:s,s:o}", "jsonrpc", "2.0", "method",
                                        "notifications/progress", "params", p);
    c->progress_at = progress;
}

/* ---- the 2026-07-28 header rules ---- */

static int b64val(int ch) {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+' || ch == '-') return 62;
    if (ch == '/' || ch == '_') return 63;
    return -1;
}

/* Decodes an Mcp-Name value: "=?base64?...?=" to its UTF-8 bytes, anything
 * else as is. Returns owned or NULL when the encoding is bad. */
static char *header_value_decode(const char *v) {
    size_t n = strlen(v);
    if (n < 12 || strncmp(v, "=?base64?", 9) || strcmp(v + n - 2, "?=")) return strdup(v);
    const char *s = v + 9;
    size_t len = n - 11;
    char *out = malloc(len + 1);
    if (!out) return NULL;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '=') { /* padding: only at the end */
            while (i < len && s[i] == '=')
                i++;
            if (i != len) goto bad;
            break;
        }
        int d = b64val((unsigned char)s[i]);
        if (d < 0) goto bad;
        acc = (acc << 6) | (unsigned)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xFF);
        }
    }
    out[o] = '\0';
    if (memchr(out, '\0', o)) goto bad; /* a NUL inside cannot match a body string */
    return out;
bad:
    free(out);
    return NULL;
}

/* Plain header values are visible ASCII and spaces; anything else had to
 * be sent base64-encoded. */
static int header_chars_ok(const char *v) {
    for (; *v; v++)
        if ((unsigned char)*v < 0x20 || (unsigned char)*v > 0x7E) return 0;
    return 1;
}

/* The name a request's Mcp-Name must carry, or NULL when it needs none. */
static const char *named_param(const char *method, json_t *params) {
    const char *key = NULL;
    if (!strcmp(method, "tools/call") || !strcmp(method, "prompts/get"))
        key = "name";
    else if (!strcmp(method, "resources/read"))
        key = "uri";
    if (!key) return NULL;
    json_t *v = json_object_get(params, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* The header value without surrounding spaces and tabs (HTTP allows
 * them), in buf. */
static const char *trimmed(const char *v, char *buf, size_t n) {
    while (*v == ' ' || *v == '\t')
        v++;
    size_t len = strlen(v);
    while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    snprintf(buf, n, "%.*s", (int)len, v);
    return buf;
}

/* 0 when the headers agree with the body; else answers -32020. */
static int check_headers(mcp_call *c, const mcp_headers *raw, const char *method,
                         const char *version) {
    const char *problem = NULL;
    char detail[256];
    mcp_headers hv = {NULL, NULL, NULL, raw->accepts_sse}, *h = &hv;
    if (raw->protocol_version)
        hv.protocol_version = trimmed(raw->protocol_version, c->hbuf[0], sizeof c->hbuf[0]);
    if (raw->method) hv.method = trimmed(raw->method, c->hbuf[1], sizeof c->hbuf[1]);
    if (raw->name) hv.name = trimmed(raw->name, c->hbuf[2], sizeof c->hbuf[2]);
    if (!h->protocol_version) {
        problem = "the MCP-Protocol-Version header is missing";
    } else if (strcmp(h->protocol_version, version)) {
        snprintf(detail, sizeof detail,
                 "MCP-Protocol-Version header '%.40s' does not match _meta protocolVersion '%.40s'",
                 h->protocol_version, version);
        problem = detail;
    } else if (!h->method) {
        problem = "the Mcp-Method header is missing";
    } else if (strcmp(h->method, method)) {
        snprintf(detail, sizeof detail,
                 "Mcp-Method header '%.60s' does not match body method '%.60s'",
                 header_chars_ok(h->method) ? h->method : "(invalid)", method);
        problem = detail;
    }
    const char *want = problem ? NULL : named_param(method, c->params);
    if (want) {
        char *got = h->name ? header_value_decode(h->name) : NULL;
        if (!h->name) {
            snprintf(detail, sizeof detail, "the Mcp-Name header is missing (%s needs it)", method);
            problem = detail;
        } else if (!got || (!strncmp(h->name, "=?", 2) ? 0 : !header_chars_ok(h->name))) {
            problem = "the Mcp-Name header has invalid characters or base64";
        } else if (strcmp(got, want)) {
            snprintf(detail, sizeof detail,
                     "Mcp-Name header value '%.80s' does not match body value '%.80s'", got, want);
            problem = detail;
        }
        free(got);
    }
    if (!problem) return 0;
    reply_error(c->out, 400, c->id, MCP_HEADER_MISMATCH, NULL, "Header mismatch: %s", problem);
    return -1;
}

/* ---- era selection ---- */

/* Reads params._meta for 2026-07-28; 1 when the request is modern (and
 * valid so far), 0 when it carries no version, -1 when answered. */
static int modern_meta(mcp_call *c, const mcp_headers *h, const char *method) {
    json_t *meta = json_object_get(c->params, "_meta");
    json_t *v = json_is_object(meta)
                    ? json_object_get(meta, "io.modelcontextprotocol/protocolVersion")
                    : NULL;
    int header_modern =
        h && h->protocol_version && !strcmp(h->protocol_version, MCP_VERSION_MODERN);
    if (!v && !header_modern) return 0;
    c->modern = 1;
    if (!v) {
        reply_error(c->out, 400, c->id, MCP_INVALID_PARAMS, NULL,
                    "params._meta[\"io.modelcontextprotocol/protocolVersion\"] is required by "
                    "protocol %s",
                    MCP_VERSION_MODERN);
        return -1;
    }
    /* A header that disagrees with the body is a mismatch before it is
     * an unsupported version. */
    if (h && h->protocol_version && json_is_string(v) &&
        strcmp(trimmed(h->protocol_version, c->hbuf[0], sizeof c->hbuf[0]), json_string_value(v))) {
        reply_error(c->out, 400, c->id, MCP_HEADER_MISMATCH, NULL,
                    "Header mismatch: MCP-Protocol-Version header '%.40s' does not match "
                    "_meta protocolVersion '%.40s'",
                    h->protocol_version, json_string_value(v));
        return -1;
    }
    if (!json_is_string(v) || strcmp(json_string_value(v), MCP_VERSION_MODERN)) {
        json_t *data = json_pack("{s:o,s:O}", "supported", supported_versions(), "requested", v);
        reply_error(c->out, 400, c->id, MCP_UNSUPPORTED_VERSION, data,
                    "Unsupported protocol version; this server speaks %s statelessly and %s "
                    "through initialize",
                    MCP_VERSION_MODERN, MCP_VERSION_LEGACY);
        return -1;
    }
    if (!json_is_object(json_object_get(meta, "io.modelcontextprotocol/clientCapabilities"))) {
        reply_error(c->out, 400, c->id, MCP_INVALID_PARAMS, NULL,
                    "params._meta[\"io.modelcontextprotocol/clientCapabilities\"] is required "
                    "(an object; {} for none)");
        return -1;
    }
    if (h && check_headers(c, h, method, MCP_VERSION_MODERN)) return -1;
    return 1;
}

/* A request without modern _meta: legacy rules. 0 to go on, -1 answered. */
static int legacy_gate(mcp_call *c, const mcp_headers *h, mcp_session *s, const char *method) {
    if (!strcmp(method, "initialize")) return 0;
    if (h) {
        /* HTTP is stateless here too: the version rides on every request. */
        if (h->protocol_version && !legacy_version(h->protocol_version)) {
            json_t *data = json_pack("{s:o,s:s}", "supported", supported_versions(), "requested",
                                     h->protocol_version);
            reply_error(c->out, 400, c->id, MCP_UNSUPPORTED_VERSION, data,
                        "Unsupported MCP-Protocol-Version '%.40s'", h->protocol_version);
            return -1;
        }
        return 0;
    }
    if (s && !s->version[0] && strcmp(method, "ping")) {
        reply_error(c->out, 200, c->id, MCP_INVALID_REQUEST, NULL,
                    "send initialize first (protocol %s), or name protocol %s in "
                    "params._meta on every request",
                    MCP_VERSION_LEGACY, MCP_VERSION_MODERN);
        return -1;
    }
    return 0;
}

/* ---- the envelope ---- */

static int id_valid(json_t *id) {
    return json_is_string(id) || json_is_integer(id);
}

static void handle_object(mcp_server *m, const search_scope *scope, mcp_session *s,
                          const mcp_headers *h, json_t *msg, mcp_reply *out) {
    json_t *id = json_object_get(msg, "id");
    json_t *method = json_object_get(msg, "method");
    json_t *params = json_object_get(msg, "params");
    if (!json_is_string(json_object_get(msg, "jsonrpc")) ||
        strcmp(json_string_value(json_object_get(msg, "jsonrpc")), "2.0")) {
        reply_error(out, 400, id_valid(id) ? id : NULL, MCP_INVALID_REQUEST, NULL,
                    "not a JSON-RPC 2.0 message: \"jsonrpc\": \"2.0\" is required");
        return;
    }
    if (!method && (json_object_get(msg, "result") || json_object_get(msg, "error"))) {
        out->status = 202; /* a response to nothing we asked: accepted, ignored */
        return;
    }
    if (!json_is_string(method) || (id && !id_valid(id)) || (params && !json_is_object(params))) {
        reply_error(out, 400, id_valid(id) ? id : NULL, MCP_INVALID_REQUEST, NULL,
                    "invalid request: method must be a string, id a string or integer, and "
                    "params an object");
        return;
    }
    const char *name = json_string_value(method);
    if (!id) { /* notifications: initialized, cancelled, ...: nothing to do */
        out->status = 202;
        return;
    }
    json_t *empty = NULL;
    if (!params) params = empty = json_object();
    mcp_call c;
    memset(&c, 0, sizeof c);
    c.m = m;
    c.scope = scope;
    c.id = id;
    c.params = params;
    c.out = out;
    c.progress_at = -1;
    json_t *meta = json_object_get(params, "_meta");
    c.meta = json_is_object(meta) ? meta : NULL;
    if (json_is_object(meta)) c.progress = json_object_get(meta, "progressToken");
    if (c.progress && !json_is_string(c.progress) && !json_is_integer(c.progress))
        c.progress = NULL;
    int era = modern_meta(&c, h, name);
    if (era == 0) era = legacy_gate(&c, h, s, name);
    if (era >= 0) {
        json_t *result = NULL;
        if (mcp_dispatch(&c, s, name, &result) == 0 && result) reply_result(&c, result);
    }
    json_decref(empty);
    free(c.structured);
    out->stream = out->nnotes && (!h || h->accepts_sse);
    if (out->nnotes && h && !h->accepts_sse) { /* no stream to put them on */
        for (size_t i = 0; i < out->nnotes; i++)
            json_decref(out->notes[i]);
        out->nnotes = 0;
    }
}

void mcp_handle(mcp_server *m, const search_scope *scope, mcp_session *session,
                const mcp_headers *h, const char *msg, size_t len, mcp_reply *out) {
    memset(out, 0, sizeof *out);
    if (lore_json_depth_exceeds(msg, len, MAX_DEPTH)) {
        reply_error(out, 400, NULL, MCP_PARSE_ERROR, NULL,
                    "the message nests deeper than %d levels", MAX_DEPTH);
        return;
    }
    json_error_t jerr;
    json_t *v = json_loadb(msg, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!v) {
        reply_error(out, 400, NULL, MCP_PARSE_ERROR, NULL, "parse error at line %d column %d: %s",
                    jerr.line, jerr.column, jerr.text);
        return;
    }
    if (json_is_array(v))
        reply_error(out, 400, NULL, MCP_INVALID_REQUEST, NULL,
                    "JSON-RPC batches are not supported: send one message per request");
    else if (!json_is_object(v))
        reply_error(out, 400, NULL, MCP_INVALID_REQUEST, NULL,
                    "a JSON-RPC message is a JSON object");
    else
        handle_object(m, scope, session, h, v, out);
    json_decref(v);
}

void mcp_reply_free(mcp_reply *r) {
    json_decref(r->response);
    free(r->raw);
    for (size_t i = 0; i < r->nnotes; i++)
        json_decref(r->notes[i]);
    free(r->notes);
    memset(r, 0, sizeof *r);
}

/* ---- lifecycle ---- */

lore_status mcp_server_new(const mcp_options *o, mcp_server **out) {
    mcp_server *m = calloc(1, sizeof *m);
    if (!m) return LORE_NOMEM;
    snprintf(m->name, sizeof m->name, "%s", o->name ? o->name : "lore");
    snprintf(m->version, sizeof m->version, "%s", o->version ? o->version : "0");
    if (o->instructions && !(m->instructions = strdup(o->instructions))) goto nomem;
    if (o->extension && o->extension->version != MCP_EXTENSION_VERSION) goto nomem;
    m->ext = o->extension;
    if (!(m->tools = mcp_tools_definitions())) goto nomem;
    if (m->ext) {
        json_t *f = m->ext->tools();
        if (!f) goto nomem;
        json_array_extend(m->tools, f);
        json_decref(f);
    }
    *out = m;
    return LORE_OK;
nomem:
    mcp_server_free(m);
    return LORE_NOMEM;
}

void mcp_server_free(mcp_server *m) {
    if (!m) return;
    json_decref(m->tools);
    free(m->instructions);
    free(m);
}

json_t *mcp_supported_versions(void) {
    return supported_versions();
}

int mcp_legacy_version(const char *v) {
    return legacy_version(v);
}
