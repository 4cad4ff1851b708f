/* The /mcp endpoint; see mcp_http.h. */
#include "mcp/mcp_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/log.h"

#define LIST_MAX 1024

struct mcp_http {
    mcp_server *m;
    int loopback;         /* the listener is a loopback address */
    char url[512];        /* canonical URL, "" if not configured */
    char url_host[256];   /* host[:port] of url */
    char url_origin[300]; /* scheme://host[:port] of url */
    char hosts[LIST_MAX]; /* allow-lists, comma-separated */
    char origins[2 * LIST_MAX];
    int oauth;
    char issuer[512], scope[64];
    char challenge[700];
    char *metadata; /* the protected-resource document, JSON */
};

/* ---- names ---- */

static int is_loopback_host(const char *h, size_t n) {
    static const char *const names[] = {"localhost", "127.0.0.1", "[::1]", "::1"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == n && !strncasecmp(h, names[i], n)) return 1;
    return 0;
}

/* The host part of "host[:port]" or "[v6]:port": its length. */
static size_t host_part(const char *s) {
    if (s[0] == '[') {
        const char *e = strchr(s, ']');
        return e ? (size_t)(e - s) + 1 : strlen(s);
    }
    const char *c = strchr(s, ':');
    return c ? (size_t)(c - s) : strlen(s);
}

/* Whether item (of a comma-separated list) equals s, case-insensitively;
 * with by_host, an item without a port matches s's host at any port. */
static int in_list(const char *list, const char *s, int by_host) {
    size_t sl = strlen(s), sh = host_part(s);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        size_t n = (size_t)(e - p);
        while (n && p[n - 1] == ' ')
            n--;
        if (n) {
            if (n == sl && !strncasecmp(p, s, n)) return 1;
            if (by_host && n == host_part(p) && n == sh && !strncasecmp(p, s, n)) return 1;
        }
        p = e;
    }
    return 0;
}

/* A loopback origin: http(s)://<loopback name>[:port]. */
static int loopback_origin(const char *o) {
    const char *h = !strncasecmp(o, "http://", 7)    ? o + 7
                    : !strncasecmp(o, "https://", 8) ? o + 8
                                                     : NULL;
    if (!h) return 0;
    size_t n = host_part(h);
    if (!is_loopback_host(h, n)) return 0;
    const char *rest = h + n;
    if (*rest == ':') {
        rest++;
        while (*rest >= '0' && *rest <= '9')
            rest++;
    }
    return *rest == '\0';
}

/* ---- the checks against DNS rebinding ---- */

static void refuse(http_request *r, const char *what) {
    char body[400];
    snprintf(body, sizeof body,
             "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,\"message\":\"Forbidden: %s\"}}",
             what);
    http_respond(r, 403, "application/json", body, strlen(body));
}

int mcp_http_precheck(void *ctx, http_request *r) {
    mcp_http *h = ctx;
    const char *host = http_header(r, "Host");
    if (!host || strlen(host) > 255) {
        refuse(r, "a Host header is required");
        return 0;
    }
    int ok = (h->loopback && is_loopback_host(host, host_part(host))) ||
             in_list(h->hosts, host, 1) || (h->url_host[0] && in_list(h->url_host, host, 0));
    if (!ok) {
        LORE_WARN("mcp: refused Host '%.80s' (allow it with mcp_allowed_hosts)", host);
        refuse(r, "this Host is not allowed; the server's mcp_allowed_hosts setting lists them");
        return 0;
    }
    const char *origin = http_header(r, "Origin");
    if (origin) {
        ok = strlen(origin) < 300 &&
             ((h->loopback && loopback_origin(origin)) || in_list(h->origins, origin, 0) ||
              (h->url_origin[0] && !strcasecmp(origin, h->url_origin)));
        if (!ok) {
            LORE_WARN("mcp: refused Origin '%.80s' (allow it with mcp_allowed_origins)", origin);
            refuse(r, "this Origin is not allowed; the server's mcp_allowed_origins setting "
                      "lists them");
            return 0;
        }
    }
    return 1;
}

/* ---- the endpoint ---- */

static int accepts(const http_request *r, const char *type) {
    const char *a = http_header(r, "Accept");
    return a && strcasestr(a, type) != NULL;
}

static char *dump(json_t *v) {
    return json_dumps(v, MCP_JSON_FLAGS);
}

/* SSE: a comment to open the stream, each notification as an event, then
 * the response, after which the stream ends. */
static void respond_stream(http_request *r, const mcp_reply *rep) {
    lore_buf b;
    lore_buf_init(&b, (size_t)1 << 30);
    int ok = lore_buf_append_str(&b, ": lore\n\n") == LORE_OK;
    for (size_t i = 0; ok && i <= rep->nnotes; i++) {
        char *s = i < rep->nnotes ? dump(rep->notes[i]) : mcp_reply_text(rep, NULL);
        ok = s && lore_buf_printf(&b, "event: message\ndata: %s\n\n", s) == LORE_OK;
        free(s);
    }
    if (!ok) {
        lore_buf_free(&b);
        http_respond(r, 500, NULL, NULL, 0);
        return;
    }
    http_add_header(r, "Cache-Control", "no-cache");
    http_add_header(r, "X-Accel-Buffering", "no");
    size_t len = b.len;
    http_respond_owned(r, 200, "text/event-stream", lore_buf_take(&b), len);
}

void mcp_http_handle(void *ctx, http_request *r, const search_scope *sc) {
    mcp_http *h = ctx;
    size_t len = 0;
    const char *body = http_body(r, &len);
    mcp_headers hd = {http_header(r, "MCP-Protocol-Version"), http_header(r, "Mcp-Method"),
                      http_header(r, "Mcp-Name"), accepts(r, "text/event-stream")};
    mcp_reply rep;
    mcp_handle(h->m, sc, NULL, &hd, body ? body : "", len, &rep);
    if (!rep.response) {
        http_respond(r, rep.status ? rep.status : 202, NULL, NULL, 0);
    } else if (rep.stream) {
        respond_stream(r, &rep);
    } else {
        size_t n = 0;
        char *s = mcp_reply_text(&rep, &n);
        if (s)
            http_respond_owned(r, rep.status, "application/json", s, n);
        else
            http_respond(r, 500, NULL, NULL, 0);
    }
    mcp_reply_free(&rep);
}

void mcp_http_metadata(void *ctx, http_request *r, const search_scope *sc) {
    (void)sc;
    mcp_http *h = ctx;
    http_add_header(r, "Cache-Control", "public, max-age=3600");
    http_respond(r, 200, "application/json", h->metadata, strlen(h->metadata));
}

const char *mcp_http_challenge(const mcp_http *h) {
    return h->oauth ? h->challenge : NULL;
}

/* ---- set-up ---- */

/* Splits url into origin and host; -1 when it is not http(s)://host... */
static int parse_url(mcp_http *h, char *err, size_t errlen) {
    const char *u = h->url;
    const char *rest = !strncasecmp(u, "https://", 8)  ? u + 8
                       : !strncasecmp(u, "http://", 7) ? u + 7
                                                       : NULL;
    const char *slash = rest ? strchr(rest, '/') : NULL;
    size_t n = slash ? (size_t)(slash - rest) : 0;
    if (!rest || !n || n >= sizeof h->url_host || strchr(u, '#') || strchr(u, '?')) {
        snprintf(err, errlen,
                 "mcp_url '%.200s' must be an absolute http(s) URL with a path and no query or "
                 "fragment, like https://lore.example.com/mcp",
                 u);
        return -1;
    }
    memcpy(h->url_host, rest, n);
    h->url_host[n] = '\0';
    snprintf(h->url_origin, sizeof h->url_origin, "%.*s", (int)(slash - u), u);
    return 0;
}

static int build_metadata(mcp_http *h) {
    json_t *o = json_pack("{s:s,s:[s],s:[s],s:s}", "resource", h->url, "authorization_servers",
                          h->issuer, "bearer_methods_supported", "header", "resource_name", "lore");
    if (!o) return -1;
    if (h->scope[0]) json_object_set_new(o, "scopes_supported", json_pack("[s]", h->scope));
    h->metadata = dump(o);
    json_decref(o);
    if (!h->metadata) return -1;
    /* The metadata URL inserts the well-known prefix before the path. */
    const char *path = h->url + strlen(h->url_origin);
    snprintf(h->challenge, sizeof h->challenge, "resource_metadata=\"%s%s%s\"%s%s%s", h->url_origin,
             MCP_HTTP_METADATA_PATH, path, h->scope[0] ? ", scope=\"" : "", h->scope,
             h->scope[0] ? "\"" : "");
    return 0;
}

lore_status mcp_http_new(mcp_server *m, const mcp_http_config *c, mcp_http **out, char *err,
                         size_t errlen) {
    *out = NULL;
    mcp_http *h = calloc(1, sizeof *h);
    if (!h) return LORE_NOMEM;
    h->m = m;
    const char *lh = c->listen_host ? c->listen_host : "";
    h->loopback = is_loopback_host(lh, strlen(lh)) || !strncmp(lh, "127.", 4);
    snprintf(h->url, sizeof h->url, "%s", c->url ? c->url : "");
    snprintf(h->hosts, sizeof h->hosts, "%s", c->allowed_hosts ? c->allowed_hosts : "");
    snprintf(h->origins, sizeof h->origins, "%s,%s", c->allowed_origins ? c->allowed_origins : "",
             c->cors_origins ? c->cors_origins : "");
    if (h->url[0] && parse_url(h, err, errlen)) goto bad;
    if (c->issuer && c->issuer[0]) {
        if (!h->url[0]) {
            snprintf(err, errlen,
                     "OAuth mode (jwt_issuer) needs mcp_url: the endpoint's public "
                     "URL, which tokens must name as their audience");
            goto bad;
        }
        h->oauth = 1;
        snprintf(h->issuer, sizeof h->issuer, "%s", c->issuer);
        snprintf(h->scope, sizeof h->scope, "%s", c->scope ? c->scope : "");
        if (build_metadata(h)) {
            mcp_http_free(h);
            return LORE_NOMEM;
        }
    }
    if (!h->loopback && !h->hosts[0] && !h->url_host[0])
        LORE_WARN("mcp: the listener is not loopback and neither mcp_allowed_hosts nor mcp_url "
                  "is set, so /mcp refuses every Host");
    *out = h;
    return LORE_OK;
bad:
    mcp_http_free(h);
    return LORE_INVALID;
}

void mcp_http_free(mcp_http *h) {
    if (!h) return;
    free(h->metadata);
    free(h);
}
