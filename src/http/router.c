/* Routing; see router.h. Tables are a few dozen routes, so a linear scan
 * comparing segment by segment costs less than building a trie would. */
#include "http/router.h"

#include <stdio.h>
#include <string.h>

/* Matches path against pattern, filling captures when m is non-NULL. */
static int path_matches(const char *pattern, const char *path, http_match *m) {
    const char *p = pattern, *s = path;
    size_t np = 0;
    while (*p && *s) {
        if (*p != '/' || *s != '/') return 0;
        p++;
        s++;
        const char *pe = strchr(p, '/'), *se = strchr(s, '/');
        size_t pl = pe ? (size_t)(pe - p) : strlen(p), sl = se ? (size_t)(se - s) : strlen(s);
        if (pl >= 2 && p[0] == '{' && p[pl - 1] == '}') {
            if (!sl || sl >= HTTP_ROUTE_PARAM_MAX || np >= HTTP_ROUTE_MAX_PARAMS) return 0;
            if (m) {
                snprintf(m->names[np], sizeof m->names[np], "%.*s", (int)(pl - 2), p + 1);
                memcpy(m->values[np], s, sl);
                m->values[np][sl] = '\0';
            }
            np++;
        } else if (pl != sl || memcmp(p, s, pl)) {
            return 0;
        }
        p += pl;
        s += sl;
    }
    if (*p || *s) return 0;
    if (m) m->nparams = np;
    return 1;
}

int http_route_match(const http_route *routes, size_t n, const char *method, const char *path,
                     http_match *m) {
    memset(m, 0, sizeof *m);
    const char *want = strcmp(method, "HEAD") ? method : "GET";
    int path_known = 0;
    for (size_t i = 0; i < n; i++) {
        if (!path_matches(routes[i].pattern, path, NULL)) continue;
        path_known = 1;
        if (!strcmp(routes[i].method, want)) {
            path_matches(routes[i].pattern, path, m);
            m->route = &routes[i];
            return 200;
        }
    }
    if (!path_known) return 404;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (!path_matches(routes[i].pattern, path, NULL)) continue;
        if (strstr(m->allow, routes[i].method)) continue;
        int w = snprintf(m->allow + len, sizeof m->allow - len, "%s%s", len ? ", " : "",
                         routes[i].method);
        if (w < 0 || (size_t)w >= sizeof m->allow - len) break;
        len += (size_t)w;
    }
    return 405;
}

const char *http_match_param(const http_match *m, const char *name) {
    for (size_t i = 0; i < m->nparams; i++)
        if (!strcmp(m->names[i], name)) return m->values[i];
    return NULL;
}
