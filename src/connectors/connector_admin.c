/* Connector instances and their signing secrets; see connector_admin.h.
 *
 * Order of writes, so a crash between two of them never loses a secret a
 * source is using:
 *   create:  secret sealed first, then the row (a secret without a row is
 *            unreachable and removed by the next create of that id, which
 *            never happens with 80 random bits; a row without a secret
 *            would be a connector nothing can deliver to);
 *   rotate:  the old secret copied to ":previous", then the row records the
 *            grace period, then the new secret replaces the current one;
 *   delete:  the row first (deliveries stop at once), then the secrets. */
#include "connectors/connector_admin.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/apikey.h"
#include "crypto/sha256.h"
#include "ingest/ingest_json.h"
#include "secrets/secrets.h"
#include "util/timeutil.h"

#define ID_HEX (CONNECTOR_ID_LEN - (sizeof CONNECTOR_ID_PREFIX - 1))
#define CREATE_ATTEMPTS 4

_Static_assert(CONNECTOR_ID_LEN <= STORE_CONNECTOR_ID_MAX, "connector ids fit the store");
_Static_assert(CONNECTOR_SOURCE_MAX == STORE_CONNECTOR_SOURCE_MAX, "source fields agree");
_Static_assert(CONNECTOR_KIND_MAX == STORE_CONNECTOR_KIND_MAX, "kind fields agree");
_Static_assert(CONNECTOR_SECRET_GENERATED * 2 <= CONNECTOR_SECRET_MAX, "generated secrets fit");

int connector_id_valid(const char *id) {
    size_t p = sizeof CONNECTOR_ID_PREFIX - 1;
    if (!id || strlen(id) != CONNECTOR_ID_LEN || strncmp(id, CONNECTOR_ID_PREFIX, p)) return 0;
    for (const char *c = id + p; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f'))) return 0;
    return 1;
}

int connector_source_valid(const char *source) {
    return source && strlen(source) <= CONNECTOR_SOURCE_MAX && ingest_source_valid(source);
}

int connector_secret_valid(const char *secret) {
    size_t n = secret ? strlen(secret) : 0;
    if (!n || n > CONNECTOR_SECRET_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (secret[i] < 0x21 || secret[i] > 0x7e) return 0;
    return 1;
}

void connector_secret_name(const char *id, int previous, char *out) {
    snprintf(out, CONNECTOR_SECRET_NAME_MAX + 1, "connector:%.*s%s", CONNECTOR_ID_LEN, id,
             previous ? ":previous" : "");
}

void connector_secrets_init(connector_secrets *cs) {
    memset(cs, 0, sizeof *cs);
    lore_buf_init(&cs->current, SECRET_VALUE_MAX);
    lore_buf_init(&cs->previous, SECRET_VALUE_MAX);
}

static void buf_wipe(lore_buf *b) {
    if (b->data && b->cap) OPENSSL_cleanse(b->data, b->cap);
    lore_buf_free(b);
}

void connector_secrets_clear(connector_secrets *cs) {
    buf_wipe(&cs->current);
    buf_wipe(&cs->previous);
    cs->has_previous = 0;
}

void connector_instance_from(const store_connector *c, connector_instance *out) {
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%.*s", CONNECTOR_ID_LEN, c->id);
    snprintf(out->tenant, sizeof out->tenant, "%s", c->tenant);
    snprintf(out->kind, sizeof out->kind, "%s", c->kind);
    snprintf(out->source, sizeof out->source, "%s", c->source);
    out->acl = (const char *const *)c->acl;
    out->nacl = c->nacl;
    out->created_ms = c->created_ms;
}

/* A new secret into out: given, or CONNECTOR_SECRET_GENERATED random bytes
 * in hex. */
static lore_status make_secret(const char *given, char *out, char *err, size_t errlen) {
    if (given) {
        if (!connector_secret_valid(given)) {
            snprintf(err, errlen,
                     "a signing secret is 1 to %d bytes of visible ASCII (no spaces or control "
                     "characters)",
                     CONNECTOR_SECRET_MAX);
            return LORE_INVALID;
        }
        snprintf(out, CONNECTOR_SECRET_MAX + 1, "%s", given);
        return LORE_OK;
    }
    uint8_t rnd[CONNECTOR_SECRET_GENERATED];
    if (RAND_bytes(rnd, (int)sizeof rnd) != 1) {
        snprintf(err, errlen, "the random generator failed");
        return LORE_INTERNAL;
    }
    lore_hex(rnd, sizeof rnd, out);
    OPENSSL_cleanse(rnd, sizeof rnd);
    return LORE_OK;
}

static lore_status seal_secret(const seal_keyring *k, store *s, const char *tenant, const char *id,
                               int previous, const char *secret, size_t len) {
    char name[CONNECTOR_SECRET_NAME_MAX + 1];
    connector_secret_name(id, previous, name);
    return secrets_set(k, s, tenant, name, (const uint8_t *)secret, len);
}

lore_status connector_admin_create(const seal_keyring *k, store *s, const connector_new *req,
                                   store_connector **out, char *secret_out, char *err,
                                   size_t errlen) {
    *out = NULL;
    secret_out[0] = 0;
    err[0] = 0;
    if (!req->tenant || !store_tenant_name_valid(req->tenant)) {
        snprintf(err, errlen, "'%s' is not a tenant name", req->tenant ? req->tenant : "");
        return LORE_INVALID;
    }
    if (!req->kind || !connector_find(req->kind)) {
        snprintf(err, errlen, "unknown connector kind '%.32s' (this build knows: %s)",
                 req->kind ? req->kind : "", connector_kinds()[0] ? connector_kinds() : "none");
        return LORE_INVALID;
    }
    const char *source = req->source ? req->source : req->kind;
    if (!connector_source_valid(source)) {
        snprintf(err, errlen,
                 "source '%.80s': 1 to %d letters, digits, '_', '-', '.' or ':' (the documents' "
                 "source name)",
                 source, CONNECTOR_SOURCE_MAX);
        return LORE_INVALID;
    }
    if (req->nacl > CONNECTOR_ACL_MAX) {
        snprintf(err, errlen, "at most %d ACL principals", CONNECTOR_ACL_MAX);
        return LORE_INVALID;
    }
    for (size_t i = 0; i < req->nacl; i++)
        if (!auth_principal_valid(req->acl[i])) {
            snprintf(err, errlen,
                     "ACL principal '%.80s': a principal is user:EMAIL or group:NAME "
                     "(printable, no control characters, at most %d bytes)",
                     req->acl[i], AUTH_PRINCIPAL_MAX);
            return LORE_INVALID;
        }
    lore_status st = make_secret(req->secret, secret_out, err, errlen);
    if (st != LORE_OK) return st;
    store_connector *c = calloc(1, sizeof *c);
    if (!c) return LORE_NOMEM;
    snprintf(c->tenant, sizeof c->tenant, "%s", req->tenant);
    snprintf(c->kind, sizeof c->kind, "%s", req->kind);
    snprintf(c->source, sizeof c->source, "%s", source);
    c->acl = (char **)req->acl; /* borrowed for the put, replaced by a copy below */
    c->nacl = req->nacl;
    c->created_ms = lore_now_ms();
    st = LORE_EXISTS;
    for (int attempt = 0; st == LORE_EXISTS && attempt < CREATE_ATTEMPTS; attempt++) {
        uint8_t rnd[ID_HEX / 2];
        if (RAND_bytes(rnd, (int)sizeof rnd) != 1) {
            st = LORE_INTERNAL;
            break;
        }
        snprintf(c->id, sizeof c->id, "%s", CONNECTOR_ID_PREFIX);
        lore_hex(rnd, sizeof rnd, c->id + sizeof CONNECTOR_ID_PREFIX - 1);
        st = seal_secret(k, s, c->tenant, c->id, 0, secret_out, strlen(secret_out));
        if (st != LORE_OK) break;
        st = store_connector_put(s, c);
        if (st != LORE_OK) {
            char name[CONNECTOR_SECRET_NAME_MAX + 1];
            connector_secret_name(c->id, 0, name);
            lore_status d = secrets_delete(s, c->tenant, name); /* nothing left behind */
            (void)d;
        }
    }
    c->acl = NULL; /* the caller's */
    c->nacl = 0;
    if (st == LORE_OK) st = store_connector_get(s, c->id, out); /* with its own ACL copy */
    free(c);
    if (st != LORE_OK) {
        OPENSSL_cleanse(secret_out, CONNECTOR_SECRET_MAX + 1);
        secret_out[0] = 0;
        if (st == LORE_NOT_FOUND) snprintf(err, errlen, "tenant '%s' does not exist", req->tenant);
        return st;
    }
    return LORE_OK;
}

/* The instance id in tenant (NULL: any). */
static lore_status get_row(store *s, const char *tenant, const char *id, store_connector **out) {
    *out = NULL;
    if (!connector_id_valid(id)) return LORE_NOT_FOUND;
    lore_status st = store_connector_get(s, id, out);
    if (st == LORE_OK && tenant && strcmp((*out)->tenant, tenant)) {
        store_connector_free(*out);
        *out = NULL;
        st = LORE_NOT_FOUND; /* another tenant's is none of the caller's business */
    }
    return st;
}

static lore_status open_secret(const seal_keyring *k, store *s, const store_connector *c,
                               int previous, lore_buf *out, char *err, size_t errlen) {
    char name[CONNECTOR_SECRET_NAME_MAX + 1];
    connector_secret_name(c->id, previous, name);
    return secrets_get(k, s, c->tenant, name, out, err, errlen);
}

lore_status connector_admin_get(const seal_keyring *k, store *s, const char *tenant, const char *id,
                                int64_t now_ms, store_connector **out, connector_secrets *cs,
                                char *err, size_t errlen) {
    err[0] = 0;
    lore_status st = get_row(s, tenant, id, out);
    if (st != LORE_OK || !cs) return st;
    st = open_secret(k, s, *out, 0, &cs->current, err, errlen);
    if (st == LORE_OK && (*out)->previous_secret_until_ms > now_ms) {
        lore_status p = open_secret(k, s, *out, 1, &cs->previous, err, errlen);
        if (p == LORE_OK)
            cs->has_previous = 1;
        else if (p != LORE_NOT_FOUND)
            st = p;
    }
    if (st == LORE_NOT_FOUND) {
        snprintf(err, errlen, "connector %s has no signing secret (rotate-secret gives it one)",
                 id);
        st = LORE_CORRUPT;
    }
    if (st != LORE_OK) {
        store_connector_free(*out);
        *out = NULL;
    }
    return st;
}

lore_status connector_admin_previous(const seal_keyring *k, store *s, const store_connector *c,
                                     int64_t now_ms, lore_buf *out, char *err, size_t errlen) {
    store_connector *fresh = NULL;
    lore_status st = store_connector_get(s, c->id, &fresh);
    if (st == LORE_OK && fresh->previous_secret_until_ms <= now_ms) st = LORE_NOT_FOUND;
    if (st == LORE_OK) st = open_secret(k, s, fresh, 1, out, err, errlen);
    store_connector_free(fresh);
    return st;
}

lore_status connector_admin_list(store *s, const char *tenant, store_connector **out, size_t *n) {
    return store_connector_list(s, tenant, out, n);
}

lore_status connector_admin_delete(store *s, const char *tenant, const char *id) {
    store_connector *c = NULL;
    lore_status st = get_row(s, tenant, id, &c);
    if (st == LORE_OK) st = store_connector_delete(s, c->tenant, c->id);
    for (int previous = 0; st == LORE_OK && previous < 2; previous++) {
        char name[CONNECTOR_SECRET_NAME_MAX + 1];
        connector_secret_name(c->id, previous, name);
        lore_status d = secrets_delete(s, c->tenant, name);
        if (d != LORE_OK && d != LORE_NOT_FOUND) st = d;
    }
    store_connector_free(c);
    return st;
}

lore_status connector_admin_rotate(const seal_keyring *k, store *s, const char *tenant,
                                   const char *id, int64_t grace_s, const char *secret,
                                   store_connector **out, char *secret_out, char *err,
                                   size_t errlen) {
    if (out) *out = NULL;
    secret_out[0] = 0;
    err[0] = 0;
    if (grace_s < 0 || grace_s > CONNECTOR_GRACE_MAX_S) {
        snprintf(err, errlen, "the grace period is 0 to %d seconds", CONNECTOR_GRACE_MAX_S);
        return LORE_INVALID;
    }
    store_connector *c = NULL;
    lore_buf old;
    lore_buf_init(&old, SECRET_VALUE_MAX);
    lore_status st = get_row(s, tenant, id, &c);
    if (st == LORE_OK) st = make_secret(secret, secret_out, err, errlen);
    if (st == LORE_OK) {
        st = open_secret(k, s, c, 0, &old, err, errlen);
        if (st == LORE_NOT_FOUND) { /* nothing to keep: the new one is all there is */
            lore_buf_reset(&old);
            st = LORE_OK;
        }
    }
    int64_t now = lore_now_ms();
    int64_t until = grace_s && old.len ? now + grace_s * 1000 : 0;
    char name[CONNECTOR_SECRET_NAME_MAX + 1];
    connector_secret_name(c ? c->id : id, 1, name);
    if (st == LORE_OK && until)
        st = secrets_set(k, s, c->tenant, name, (const uint8_t *)old.data, old.len);
    if (st == LORE_OK) st = store_connector_rotated(s, c->tenant, c->id, now, until);
    if (st == LORE_OK) st = seal_secret(k, s, c->tenant, c->id, 0, secret_out, strlen(secret_out));
    if (st == LORE_OK && !until) {
        lore_status d = secrets_delete(s, c->tenant, name);
        if (d != LORE_OK && d != LORE_NOT_FOUND) st = d;
    }
    if (st == LORE_OK && out) st = store_connector_get(s, c->id, out);
    buf_wipe(&old);
    store_connector_free(c);
    if (st != LORE_OK) {
        OPENSSL_cleanse(secret_out, CONNECTOR_SECRET_MAX + 1);
        secret_out[0] = 0;
    }
    return st;
}
