/* The OpenAPI document against the router: every route of the table is in
 * the document with its method, every operation of the document is a route,
 * and each operation's security matches the route's access (keyless routes
 * say `security: []`). A route added without documentation, or documented
 * without being built, fails here. */
#include <jansson.h>
#include <strings.h>

#include "api/api.h"
#include "api/api_int.h"
#include "test.h"

static int route_exists(const char *method, const char *path) {
    for (size_t i = 0; i < api_route_total(); i++) {
        const http_route *r = api_route_at(i);
        if (r && !strcasecmp(r->method, method) && !strcmp(r->pattern, path)) return 1;
    }
    return 0;
}

int main(void) {
    size_t len = 0;
    const char *doc = api_openapi(&len);
    CHECK(len > 1000);
    json_error_t e;
    json_t *root = json_loadb(doc, len, 0, &e);
    if (!root) fprintf(stderr, "openapi.json: line %d: %s\n", e.line, e.text);
    CHECK(root != NULL);
    CHECK_STR(json_string_value(json_object_get(root, "openapi")), "3.1.0");
    json_t *paths = json_object_get(root, "paths");
    CHECK(json_is_object(paths));

    /* table -> document */
    size_t routes = 0;
    for (size_t i = 0; i < api_route_total(); i++) {
        const api_route_def *d = &api_route_table[i];
        if (!api_route_at(i)) continue; /* an unused id */
        routes++;
        char m[16];
        size_t k = 0;
        for (; d->route.method[k] && k < sizeof m - 1; k++)
            m[k] = (char)(d->route.method[k] - 'A' + 'a');
        m[k] = '\0';
        json_t *op = json_object_get(json_object_get(paths, d->route.pattern), m);
        if (!op)
            fprintf(stderr, "route %s %s is not in openapi.json\n", d->route.method,
                    d->route.pattern);
        CHECK(op != NULL);
        if (!op) continue;
        CHECK(json_is_string(json_object_get(op, "operationId")));
        json_t *sec = json_object_get(op, "security");
        int keyless =
            d->access == ACCESS_PUBLIC || d->access == ACCESS_PROBE || d->access == ACCESS_HOOK;
        CHECK(json_is_array(sec));
        if ((size_t)keyless != (json_array_size(sec) == 0))
            fprintf(stderr, "%s %s: security does not match the route's access\n", d->route.method,
                    d->route.pattern);
        CHECK_INT(json_array_size(sec) == 0, keyless);
        /* JSON routes document a JSON body, multipart routes a multipart one */
        json_t *content = json_object_get(json_object_get(op, "requestBody"), "content");
        if (d->body == BODY_JSON) CHECK(json_object_get(content, "application/json") != NULL);
        if (d->body == BODY_MULTIPART)
            CHECK(json_object_get(content, "multipart/form-data") != NULL);
        if (d->body == BODY_NO) CHECK(content == NULL);
        if (d->body == BODY_JSON_OPTIONAL) {
            CHECK(json_object_get(content, "application/json") != NULL);
            CHECK(json_is_false(json_object_get(json_object_get(op, "requestBody"), "required")));
        }
    }

    /* document -> table, and operationIds unique */
    const char *path;
    json_t *item;
    size_t ops = 0;
    json_t *ids = json_object();
    json_object_foreach(paths, path, item) {
        const char *method;
        json_t *op;
        json_object_foreach(item, method, op) {
            if (!strcmp(method, "parameters")) continue;
            ops++;
            if (!route_exists(method, path))
                fprintf(stderr, "openapi.json has %s %s, the router does not\n", method, path);
            CHECK(route_exists(method, path));
            const char *id = json_string_value(json_object_get(op, "operationId"));
            CHECK(id && !json_object_get(ids, id));
            if (id) json_object_set_new(ids, id, json_true());
        }
    }
    CHECK_INT(ops, routes);
    json_decref(ids);
    json_decref(root);
    return test_summary();
}
