/* Connector instances (scope admin, within the key's own tenant):
 *
 *   POST   /v1/connectors                      {"kind", "source"?, "acl"?, "secret"?}
 *          -> 201 {"id", "kind", "source", "acl", "url", "path", "secret", ...}:
 *          the signing secret is shown this once
 *   GET    /v1/connectors                      -> {"connectors": [...]}, no secrets
 *   DELETE /v1/connectors/{id}                 -> 204
 *   POST   /v1/connectors/{id}/rotate-secret?grace=SECONDS  [{"secret": S}]
 *          -> 200 {"id", "secret", "previous_secret_until", ...}: without a
 *          body lore generates the secret; Slack and Linear make their own,
 *          which the body hands over
 *
 * "url" is the webhook's full URL when the setting public_url is set, else
 * its path (the source needs the server's public address in front). A
 * connector of another tenant is a 404 like a missing one. */
#include "api/api_int.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/connector_admin.h"
#include "util/timeutil.h"

static json_t *connector_json(api_req *q, const store_connector *c) {
    char path[64], url[700];
    snprintf(path, sizeof path, "/v1/hooks/%s", c->id);
    snprintf(url, sizeof url, "%s%s", q->a->cfg.public_url, path);
    json_t *o = json_object(), *acl = json_array();
    for (size_t i = 0; i < c->nacl; i++)
        json_array_append_new(acl, json_string(c->acl[i]));
    json_object_set_new(o, "id", json_string(c->id));
    json_object_set_new(o, "kind", json_string(c->kind));
    json_object_set_new(o, "source", json_string(c->source));
    json_object_set_new(o, "acl", acl);
    json_object_set_new(o, "url", json_string(url));
    json_object_set_new(o, "path", json_string(path));
    json_object_set_new(o, "created_at", api_time(c->created_ms));
    json_object_set_new(o, "secret_rotated_at", api_time(c->secret_rotated_ms));
    json_object_set_new(o, "previous_secret_until",
                        c->previous_secret_until_ms > lore_now_ms()
                            ? api_time(c->previous_secret_until_ms)
                            : json_null());
    return o;
}

static int need_keyring(api_req *q) {
    if (q->a->keyring) return 1;
    api_problem(q, 503, "unavailable", "Service unavailable",
                "this server has no keyring to seal signing secrets (see master_key)");
    return 0;
}

void api_connectors_post(api_req *q) {
    json_t *body = api_json_body(q);
    if (!body) return;
    const char **acl = NULL;
    store_connector *c = NULL;
    char secret[CONNECTOR_SECRET_MAX + 1] = "", err[256] = "";
    connector_new req;
    memset(&req, 0, sizeof req);
    req.tenant = q->key->tenant;
    if (!json_is_object(body)) {
        api_bad_field(q, "", "the body is a JSON object: {\"kind\": \"github\", ...}");
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        char ptr[80];
        snprintf(ptr, sizeof ptr, "/%.60s", key);
        if (!strcmp(key, "kind") || !strcmp(key, "source") || !strcmp(key, "secret")) {
            if (json_is_null(v) && strcmp(key, "kind")) continue;
            if (!json_is_string(v)) {
                api_bad_field(q, ptr, "%s must be a string", key);
                goto out;
            }
            const char *s = json_string_value(v);
            if (!strcmp(key, "kind"))
                req.kind = s;
            else if (!strcmp(key, "source"))
                req.source = s;
            else
                req.secret = s;
        } else if (!strcmp(key, "acl")) {
            if (!json_is_array(v) || json_array_size(v) > CONNECTOR_ACL_MAX) {
                api_bad_field(q, ptr, "acl must be an array of at most %d principals",
                              CONNECTOR_ACL_MAX);
                goto out;
            }
            req.nacl = json_array_size(v);
            if (req.nacl && !(acl = calloc(req.nacl, sizeof *acl))) {
                api_problem(q, 503, "out-of-memory", "Server out of memory", "acl");
                goto out;
            }
            for (size_t i = 0; i < req.nacl; i++) {
                const char *p = json_string_value(json_array_get(v, i));
                if (!p || !auth_principal_valid(p)) {
                    snprintf(ptr, sizeof ptr, "/acl/%zu", i);
                    api_bad_field(q, ptr, "a principal is 'user:<id>' or 'group:<name>'");
                    goto out;
                }
                acl[i] = p;
            }
            req.acl = acl;
        } else {
            api_bad_field(q, ptr, "unknown field (kind, source, acl, secret)");
            goto out;
        }
    }
    if (!req.kind) {
        api_bad_field(q, "/kind", "kind is required: %s", connector_kinds());
        goto out;
    }
    if (!need_keyring(q)) goto out;
    lore_status st =
        connector_admin_create(q->a->keyring, q->th->control, &req, &c, secret, err, sizeof err);
    if (st == LORE_INVALID) {
        const char *ptr = !connector_find(req.kind)                           ? "/kind"
                          : req.secret && !connector_secret_valid(req.secret) ? "/secret"
                          : strstr(err, "ACL")                                ? "/acl"
                                                                              : "/source";
        api_bad_field(q, ptr, "%s", err);
        goto out;
    }
    if (st != LORE_OK) {
        api_internal(q, "creating the connector", st);
        goto out;
    }
    json_t *o = connector_json(q, c);
    json_object_set_new(o, "secret", json_string(secret));
    char loc[64];
    snprintf(loc, sizeof loc, "/v1/connectors/%s", c->id);
    http_add_header(q->r, "Location", loc);
    api_json(q, 201, o);
out:
    OPENSSL_cleanse(secret, sizeof secret);
    store_connector_free(c);
    free(acl);
    json_decref(body);
}

void api_connectors_get(api_req *q) {
    store_connector *list = NULL;
    size_t n = 0;
    lore_status st = connector_admin_list(q->th->control, q->key->tenant, &list, &n);
    if (st != LORE_OK) {
        api_internal(q, "listing connectors", st);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, connector_json(q, &list[i]));
    store_connectors_free(list, n);
    json_t *o = json_object();
    json_object_set_new(o, "connectors", arr);
    api_json(q, 200, o);
}

void api_connector_delete(api_req *q) {
    const char *id = http_match_param(&q->m, "id");
    lore_status st = connector_admin_delete(q->th->control, q->key->tenant, id);
    if (st == LORE_NOT_FOUND)
        api_not_found(q, "connector");
    else if (st != LORE_OK)
        api_internal(q, "deleting the connector", st);
    else
        http_respond(q->r, 204, NULL, NULL, 0);
}

void api_connector_rotate(api_req *q) {
    const char *id = http_match_param(&q->m, "id");
    const char *g = http_query(q->r, "grace");
    int64_t grace = CONNECTOR_GRACE_DEFAULT_S;
    if (g) {
        char *end;
        errno = 0;
        long long v = strtoll(g, &end, 10);
        if (!*g || *end || errno || v < 0 || v > CONNECTOR_GRACE_MAX_S) {
            api_bad_field(q, "/grace", "grace is a whole number of seconds from 0 to %d",
                          CONNECTOR_GRACE_MAX_S);
            return;
        }
        grace = v;
    }
    json_t *body = NULL;
    const char *given = NULL;
    size_t blen = 0;
    if (http_body(q->r, &blen) && blen) {
        if (!(body = api_json_body(q))) return;
        if (!json_is_object(body)) {
            api_bad_field(q, "", "the body is a JSON object: {\"secret\": \"...\"}");
            json_decref(body);
            return;
        }
        const char *key;
        json_t *v;
        json_object_foreach(body, key, v) {
            if (strcmp(key, "secret")) {
                api_bad_field(q, "", "unknown field '%.60s' (secret)", key);
                json_decref(body);
                return;
            }
            if (!json_is_string(v) || !connector_secret_valid(json_string_value(v))) {
                api_bad_field(q, "/secret",
                              "secret is 1 to %d visible ASCII characters (no spaces)",
                              CONNECTOR_SECRET_MAX);
                json_decref(body);
                return;
            }
            given = json_string_value(v);
        }
    }
    if (!need_keyring(q)) {
        json_decref(body);
        return;
    }
    store_connector *c = NULL;
    char secret[CONNECTOR_SECRET_MAX + 1] = "", err[256] = "";
    lore_status st = connector_admin_rotate(q->a->keyring, q->th->control, q->key->tenant, id,
                                            grace, given, &c, secret, err, sizeof err);
    json_decref(body); /* jansson keeps no copy once freed; the value is sealed */
    if (st == LORE_NOT_FOUND) {
        api_not_found(q, "connector");
    } else if (st == LORE_INVALID) {
        api_bad_field(q, "/secret", "%s", err);
    } else if (st != LORE_OK) {
        api_internal(q, "rotating the secret", st);
    } else {
        json_t *o = connector_json(q, c);
        json_object_set_new(o, "secret", json_string(secret));
        api_json(q, 200, o);
    }
    OPENSSL_cleanse(secret, sizeof secret);
    store_connector_free(c);
}
