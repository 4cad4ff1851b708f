/* Reading JSON requests and writing JSON answers for the API handlers.
 *
 * Request bodies are checked for nesting depth before jansson parses them
 * (jansson's own limit is 2048 levels, far past anything legitimate), and
 * jansson rejects invalid UTF-8 and NUL bytes in strings, so a handler only
 * ever sees a well-formed tree of valid text. */
#include "api/api_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsonscan.h"
#include "util/timeutil.h"
#include "view/view.h"

void api_problem(api_req *q, unsigned status, const char *type, const char *title, const char *fmt,
                 ...) {
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    http_problem(q->r, status, type, title, detail, NULL);
}

void api_bad_field(api_req *q, const char *pointer, const char *fmt, ...) {
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    http_problem(q->r, 400, "invalid-field", "Invalid field", detail, pointer);
}

void api_internal(api_req *q, const char *what, lore_status st) {
    unsigned status = st == LORE_BUSY || st == LORE_TIMEOUT ? 503 : 500;
    if (status == 503) http_add_header(q->r, "Retry-After", "1");
    api_problem(q, status, status == 503 ? "unavailable" : "internal",
                status == 503 ? "Service unavailable" : "Internal error", "%s failed: %s", what,
                lore_status_message(st));
}

void api_not_found(api_req *q, const char *what) {
    api_problem(q, 404, "not-found", "Not found", "no such %s", what);
}

json_t *api_json_body(api_req *q) {
    size_t len = 0;
    const char *body = http_body(q->r, &len);
    if (!body || !len) {
        api_problem(q, 400, "invalid-json", "Invalid JSON", "the request body is empty");
        return NULL;
    }
    int max = (int)q->a->cfg.max_json_depth;
    if (lore_json_depth_exceeds(body, len, max)) {
        api_problem(q, 400, "json-too-deep", "JSON nested too deeply",
                    "the body nests deeper than %d levels", max);
        return NULL;
    }
    json_error_t e;
    json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
    if (!v) {
        api_problem(q, 400, "invalid-json", "Invalid JSON", "line %d, column %d: %s", e.line,
                    e.column, e.text);
        return NULL;
    }
    return v;
}

void api_json(api_req *q, unsigned status, json_t *v) {
    /* Seven significant digits: scores and timings, without 1e-17 noise. */
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(7)) : NULL;
    json_decref(v);
    if (!s) {
        api_problem(q, 500, "internal", "Internal error", "the answer could not be encoded");
        return;
    }
    http_respond_owned(q->r, status, "application/json", s, strlen(s));
}

json_t *api_time(int64_t ms) {
    return view_time(ms);
}

int api_parse_time(const char *s, int end_of_day, int64_t *out) {
    if (lore_parse_iso8601(s, out)) return -1;
    if (end_of_day && strlen(s) == 10) *out += 86400000 - 1;
    return 0;
}

int api_parse_limit(const char *s, size_t max, size_t *out) {
    char *end;
    if (*s < '0' || *s > '9') return -1; /* no sign, no spaces */
    long long v = strtoll(s, &end, 10);
    if (*end || v < 1 || (unsigned long long)v > max) return -1;
    *out = (size_t)v;
    return 0;
}
