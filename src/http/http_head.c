/* Rules on the request line and headers, answered as problem+json before
 * the application sees the request.
 *
 * The request target is judged in MHD's URI log callback, which sees it
 * whole before MHD splits the query into parameters: MHD keeps each
 * parameter in the connection's fixed memory pool, and when the pool runs
 * out in the middle of a query it neither answers nor closes (the client
 * waits for the header timeout). So a target over the caps has its query
 * cut off there (a NUL after the '?', in MHD's own copy of the line, which
 * MHD parses right after the callback) and is answered 414 or 431 once the
 * headers are in. The headers are judged when they are complete: how many
 * there are, and no control character in a name or value.
 *
 * A NUL needs more care: MHD measures names and values with strlen, so
 * "Bearer <key>\0junk" reads as "Bearer <key>" and the rest is invisible.
 * MHD keeps the fields where they arrived, in its read buffer, in order,
 * with each line's CR and LF overwritten by NULs. So after a value's last
 * byte comes its line end, one or two NULs, and then the next field's name
 * (or, after the last field, the NUL of the empty line). Anything else
 * between them is bytes MHD did not count: a NUL inside the value, or an
 * obsolete folded line (a line starting with a space), which RFC 9112 lets
 * a server refuse with 400. Either way the request is refused. */
#include <stdio.h>
#include <string.h>

#include "http/http_int.h"

void http_head_judge(http_server *s, http_request *r, char *uri) {
    r->head = HEAD_OK;
    if (!uri) return;
    char *q = strchr(uri, '?');
    size_t n = strlen(uri), params = 0;
    if (q && q[1]) {
        params = 1;
        for (const char *p = q + 1; *p; p++)
            params += *p == '&';
    }
    r->uri_len = n;
    r->nparams = params;
    if (n > s->cfg.max_uri_bytes)
        r->head = HEAD_URI_TOO_LONG;
    else if (params > s->cfg.max_query_params)
        r->head = HEAD_TOO_MANY_PARAMS;
    if (r->head != HEAD_OK && q) q[1] = '\0'; /* MHD parses no parameter */
}

typedef struct header_walk {
    size_t n;
    const char *bad;      /* name of a header whose name or value has a control byte */
    const char *bad_name; /* a NUL or a folded line after this field's value */
    const char *prev_end; /* where the previous field's value ended */
    const char *prev_key;
} header_walk;

static int has_ctl(const char *p, size_t n, int tab_ok) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if ((c < 0x20 && !(tab_ok && c == '\t')) || c == 0x7f) return 1;
    }
    return 0;
}

static enum MHD_Result header_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size) {
    (void)kind;
    header_walk *w = cls;
    w->n++;
    if (!w->bad && (has_ctl(key, key_size, 0) || (value && has_ctl(value, value_size, 1))))
        w->bad = key;
    const char *e = w->prev_end;
    if (e && !w->bad_name && !(key == e + 1 || (key == e + 2 && !e[1]))) w->bad_name = w->prev_key;
    w->prev_key = key;
    w->prev_end = value ? value + value_size : NULL;
    return MHD_YES;
}

int http_head_refuse(http_server *s, http_request *r) {
    char d[320];
    if (r->head == HEAD_URI_TOO_LONG) {
        snprintf(d, sizeof d, "the request target is %zu bytes; the server accepts at most %zu",
                 r->uri_len, s->cfg.max_uri_bytes);
        http_problem(r, 414, "uri-too-long", "URI too long", d, NULL);
        return 1;
    }
    if (r->head == HEAD_TOO_MANY_PARAMS) {
        snprintf(d, sizeof d, "the query has %zu parameters; the server accepts at most %zu",
                 r->nparams, s->cfg.max_query_params);
        http_problem(r, 431, "too-many-parameters", "Too many query parameters", d, NULL);
        return 1;
    }
    header_walk w = {0, NULL, NULL, NULL, NULL};
    MHD_get_connection_values_n(r->conn->mhd, MHD_HEADER_KIND, header_iter, &w);
    /* the last field: its line end, then the empty line's NUL */
    if (w.prev_end && !w.bad_name && w.prev_end[1]) w.bad_name = w.prev_key;
    if (!w.bad) w.bad = w.bad_name;
    if (w.n > s->cfg.max_headers) {
        snprintf(d, sizeof d, "the request has %zu header fields; the server accepts at most %zu",
                 w.n, s->cfg.max_headers);
        http_problem(r, 431, "too-many-headers", "Too many header fields", d, NULL);
        return 1;
    }
    if (w.bad) {
        /* The name up to its first byte that is not visible ASCII. */
        char name[64];
        size_t k = 0;
        for (const char *p = w.bad; *p > 0x20 && *p < 0x7f && k + 1 < sizeof name; p++)
            name[k++] = *p;
        name[k] = '\0';
        snprintf(d, sizeof d,
                 "header '%s' holds a control character (NUL, CR, LF, another byte below "
                 "0x20 but tab, or DEL) or is folded over lines; send it on one line "
                 "without them",
                 name);
        http_problem(r, 400, "invalid-header", "Invalid header field", d, NULL);
        return 1;
    }
    return 0;
}
