/* Administration: tenants (scope server) and API keys (scope admin, within
 * the key's own tenant).
 *
 * Creating a tenant also creates its first admin key and returns the secret
 * once: that is how a server administrator hands a new team its tenant.
 * A key can only grant scopes it holds itself, so an admin key cannot mint
 * a server key. Deleting a tenant waits for the requests using any tenant
 * to finish (the tenants lock), removes its files and its keys, and makes
 * every server thread drop its handles to it. */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/timeutil.h"

static json_t *key_json(const store_key *k) {
    json_t *o = json_object(), *p = json_array();
    char scopes[64];
    auth_scopes_format(k->scopes, scopes, sizeof scopes);
    json_object_set_new(o, "id", json_string(k->id));
    json_object_set_new(o, "tenant", json_string(k->tenant));
    json_object_set_new(o, "name", k->name ? json_string(k->name) : json_null());
    json_t *sl = json_array();
    for (const char *s = scopes; *s;) {
        const char *c = strchr(s, ',');
        size_t n = c ? (size_t)(c - s) : strlen(s);
        json_array_append_new(sl, json_stringn(s, n));
        s += n + (c ? 1 : 0);
    }
    json_object_set_new(o, "scopes", sl);
    for (size_t i = 0; i < k->nprincipals; i++)
        json_array_append_new(p, json_string(k->principals[i]));
    json_object_set_new(o, "principals", p);
    json_object_set_new(o, "created_at", api_time(k->created_ms));
    json_object_set_new(o, "expires_at", api_time(k->expires_ms));
    json_object_set_new(o, "revoked_at", api_time(k->revoked_ms));
    return o;
}

/* ---- tenants ---- */

void api_tenants_post(api_req *q) {
    json_t *body = api_json_body(q);
    if (!body) return;
    json_t *nv = json_object_get(body, "name");
    const char *name = json_string_value(nv);
    char secret[APIKEY_LEN + 1];
    store_key *k = NULL;
    if (!json_is_object(body) || json_object_size(body) != 1 || !name) {
        api_bad_field(q, name && json_is_object(body) ? "" : "/name",
                      "the body is {\"name\": \"tenant-name\"} and nothing else");
        goto out;
    }
    if (!store_tenant_name_valid(name)) {
        api_bad_field(q, "/name",
                      "a tenant name is 1 to %d lower-case letters, digits, '-' and '_', "
                      "starting with a letter or digit",
                      STORE_NAME_MAX);
        goto out;
    }
    pthread_rwlock_wrlock(&q->a->tenants_lock);
    lore_status st = store_tenant_create(q->th->control, name);
    if (st == LORE_OK) {
        static const char *const none[1] = {NULL};
        st = apikey_create(q->th->control, name, "initial admin key",
                           AUTH_SCOPE_READ | AUTH_SCOPE_WRITE | AUTH_SCOPE_ADMIN, none, 0, 0,
                           secret, &k);
        if (st != LORE_OK && store_tenant_delete(q->th->control, name) != LORE_OK)
            LORE_WARN("tenant %s created but its admin key was not; delete it by hand", name);
        atomic_fetch_add(&q->a->tenant_gen, 1);
    }
    pthread_rwlock_unlock(&q->a->tenants_lock);
    if (st == LORE_EXISTS) {
        api_problem(q, 409, "conflict", "Conflict", "tenant '%s' already exists", name);
        goto out;
    }
    if (st != LORE_OK) {
        api_internal(q, "creating the tenant", st);
        goto out;
    }
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "created_at", api_time(k->created_ms));
    json_t *ko = key_json(k);
    json_object_set_new(ko, "key", json_string(secret));
    json_object_set_new(o, "admin_key", ko);
    api_json(q, 201, o);
out:
    store_key_free(k);
    json_decref(body);
}

void api_tenants_get(api_req *q) {
    store_tenant_info *ts = NULL;
    size_t n = 0;
    pthread_rwlock_rdlock(&q->a->tenants_lock);
    lore_status st = store_tenant_list(q->th->control, &ts, &n);
    pthread_rwlock_unlock(&q->a->tenants_lock);
    if (st != LORE_OK) {
        api_internal(q, "listing tenants", st);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(ts[i].name));
        json_object_set_new(o, "created_at", api_time(ts[i].created_ms));
        json_object_set_new(o, "documents", json_integer(ts[i].documents));
        json_object_set_new(o, "chunks", json_integer(ts[i].chunks));
        json_array_append_new(list, o);
    }
    free(ts);
    json_t *o = json_object();
    json_object_set_new(o, "tenants", list);
    api_json(q, 200, o);
}

void api_tenant_delete(api_req *q) {
    const char *name = http_match_param(&q->m, "name");
    if (!strcmp(name, q->key->tenant)) {
        api_problem(q, 409, "conflict", "Conflict",
                    "a key cannot delete its own tenant '%s'; use a server key of another tenant",
                    name);
        return;
    }
    pthread_rwlock_wrlock(&q->a->tenants_lock);
    api_tenant_forget(q->th, name);
    lore_status st =
        store_tenant_name_valid(name) ? store_tenant_delete(q->th->control, name) : LORE_NOT_FOUND;
    if (st == LORE_OK) atomic_fetch_add(&q->a->tenant_gen, 1);
    pthread_rwlock_unlock(&q->a->tenants_lock);
    if (st == LORE_NOT_FOUND)
        api_not_found(q, "tenant");
    else if (st != LORE_OK)
        api_internal(q, "deleting the tenant", st);
    else
        http_respond(q->r, 204, NULL, NULL, 0);
}

/* ---- keys ---- */

void api_keys_post(api_req *q) {
    json_t *body = api_json_body(q);
    if (!body) return;
    const char **principals = NULL;
    store_key *k = NULL;
    char secret[APIKEY_LEN + 1];
    unsigned scopes = 0;
    int64_t expires = 0;
    const char *name = NULL;
    size_t np = 0;
    if (!json_is_object(body)) {
        api_bad_field(q, "", "the body is a JSON object: {\"scopes\": [\"read\"], ...}");
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        char ptr[80];
        snprintf(ptr, sizeof ptr, "/%.60s", key);
        if (!strcmp(key, "name")) {
            if (!json_is_string(v) || !apikey_name_valid(json_string_value(v))) {
                api_bad_field(q, ptr, "name must be 1 to %d bytes of printable text",
                              APIKEY_NAME_MAX);
                goto out;
            }
            name = json_string_value(v);
        } else if (!strcmp(key, "scopes")) {
            if (!json_is_array(v) || !json_array_size(v)) {
                api_bad_field(q, ptr, "scopes must be a non-empty array: read, write, admin");
                goto out;
            }
            for (size_t i = 0; i < json_array_size(v); i++) {
                unsigned bit = 0;
                char e[128];
                const char *s = json_string_value(json_array_get(v, i));
                if (!s || auth_scopes_parse(s, &bit, e, sizeof e) != LORE_OK) {
                    snprintf(ptr, sizeof ptr, "/scopes/%zu", i);
                    api_bad_field(q, ptr, "a scope is read, write, admin or server");
                    goto out;
                }
                scopes |= bit;
            }
        } else if (!strcmp(key, "principals")) {
            if (!json_is_array(v) || json_array_size(v) > 64) {
                api_bad_field(q, ptr, "principals must be an array of at most 64 principals");
                goto out;
            }
            np = json_array_size(v);
            if (np && !(principals = calloc(np, sizeof *principals))) {
                api_problem(q, 503, "out-of-memory", "Server out of memory", "principals");
                goto out;
            }
            for (size_t i = 0; i < np; i++) {
                const char *p = json_string_value(json_array_get(v, i));
                if (!p || !auth_principal_valid(p)) {
                    snprintf(ptr, sizeof ptr, "/principals/%zu", i);
                    api_bad_field(q, ptr, "a principal is 'user:<id>' or 'group:<name>'");
                    goto out;
                }
                principals[i] = p;
            }
        } else if (!strcmp(key, "expires_at")) {
            if (json_is_null(v)) continue;
            if (!json_is_string(v) || api_parse_time(json_string_value(v), 0, &expires)) {
                api_bad_field(q, ptr, "expires_at must be an ISO 8601 time");
                goto out;
            }
            if (expires <= lore_now_ms()) {
                api_bad_field(q, ptr, "expires_at is in the past");
                goto out;
            }
        } else {
            api_bad_field(q, ptr, "unknown field (name, scopes, principals, expires_at)");
            goto out;
        }
    }
    if (!scopes) {
        api_bad_field(q, "/scopes", "scopes is required: read, write, admin");
        goto out;
    }
    if ((scopes & q->key->scopes) != scopes) {
        api_problem(q, 403, "insufficient-scope", "Insufficient scope",
                    "a key can only grant scopes it holds itself");
        goto out;
    }
    lore_status st = apikey_create(q->th->control, q->key->tenant, name, scopes, principals, np,
                                   expires, secret, &k);
    if (st != LORE_OK) {
        api_internal(q, "creating the key", st);
        goto out;
    }
    json_t *o = key_json(k);
    json_object_set_new(o, "key", json_string(secret));
    api_json(q, 201, o);
out:
    store_key_free(k);
    free(principals);
    json_decref(body);
}

void api_keys_get(api_req *q) {
    store_key *keys = NULL;
    size_t n = 0;
    lore_status st = store_key_list(q->th->control, q->key->tenant, &keys, &n);
    if (st != LORE_OK) {
        api_internal(q, "listing keys", st);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, key_json(&keys[i]));
    store_keys_free(keys, n);
    json_t *o = json_object();
    json_object_set_new(o, "keys", list);
    api_json(q, 200, o);
}

void api_key_delete(api_req *q) {
    const char *id = http_match_param(&q->m, "id");
    lore_status st = store_key_revoke(q->th->control, q->key->tenant, id, lore_now_ms());
    if (st == LORE_NOT_FOUND)
        api_not_found(q, "key");
    else if (st != LORE_OK)
        api_internal(q, "revoking the key", st);
    else
        http_respond(q->r, 204, NULL, NULL, 0);
}
