/* Routing: (method, path) -> one entry of the application's route table.
 *
 * A pattern is a path whose segments are literal or `{name}`, which matches
 * one non-empty segment and captures it. The router tells three outcomes
 * apart: a match, a path no route knows (404), and a known path asked with a
 * method it does not take (405, with the methods it does take for the Allow
 * header). HEAD is served by the GET route. The table is the application's;
 * the router keeps no state, so the table can also be walked (OpenAPI). */
#ifndef LORE_HTTP_ROUTER_H
#define LORE_HTTP_ROUTER_H

#include <stddef.h>

#define HTTP_ROUTE_MAX_PARAMS 4
#define HTTP_ROUTE_PARAM_MAX 256

typedef struct http_route {
    const char *method;  /* "GET", "POST", "DELETE", ... */
    const char *pattern; /* "/v1/documents/{id}" */
    int id;              /* the application's handler number */
} http_route;

typedef struct http_match {
    const http_route *route;
    size_t nparams;
    char names[HTTP_ROUTE_MAX_PARAMS][32];
    char values[HTTP_ROUTE_MAX_PARAMS][HTTP_ROUTE_PARAM_MAX];
    char allow[96]; /* on 405: "GET, DELETE" */
} http_match;

/* Returns 200 (m->route set), 404 or 405 (m->allow set). A captured segment
 * longer than HTTP_ROUTE_PARAM_MAX - 1 bytes does not match (404). */
int http_route_match(const http_route *routes, size_t n, const char *method, const char *path,
                     http_match *m);
/* The captured value of {name}, or NULL. */
const char *http_match_param(const http_match *m, const char *name);

#endif
