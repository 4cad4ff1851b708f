/* Secrets at rest; see secrets.h. This file: storing, opening, listing,
 * rotating and checking secrets. The keyring (master_key, the dev-mode
 * master.key file) and `secret:NAME` settings are in secrets_keyring.c.
 *
 * The store keeps (tenant, name, key_id, sealed bytes); sealing and opening
 * happen here only (crypto/seal.c binds each value to its tenant and name).
 * Clear values live in caller buffers for as short as possible and are
 * wiped when a temporary one is freed. */
#include "secrets/secrets.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/timeutil.h"

_Static_assert(SECRET_NAME_MAX == STORE_SECRET_NAME_MAX, "secret name caps differ");
_Static_assert(SEAL_KEY_ID_LEN <= STORE_SECRET_KEY_ID_MAX, "key ids do not fit the store");

/* Secrets read per page by rotate, check_all and list. */
#define SECRETS_PAGE 256
/* A re-seal that keeps losing to concurrent writes of the same secret gives
 * up after this many tries (the secret then has a fresh value under the
 * current key, written by the winner, or is counted as not re-sealed). */
#define RESEAL_TRIES 8

static int name_valid(const char *name) {
    size_t n = 0;
    for (; name[n]; n++) {
        char c = name[n];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '.' || c == ':' || c == '-';
        if (!ok || n >= SECRET_NAME_MAX) return 0;
    }
    return n > 0;
}

static int tenant_valid(const char *tenant) {
    return tenant && (!*tenant || store_tenant_name_valid(tenant));
}

/* Frees a buffer that held a clear value, wiping it first. */
static void buf_wipe(lore_buf *b) {
    if (b->data) OPENSSL_cleanse(b->data, b->alloc);
    lore_buf_free(b);
}

lore_status secrets_set(const seal_keyring *k, store *s, const char *tenant, const char *name,
                        const uint8_t *value, size_t len) {
    if (!tenant_valid(tenant) || !name || !name_valid(name) || !value || len == 0)
        return LORE_INVALID;
    if (len > SECRET_VALUE_MAX) return LORE_TOO_LARGE;
    lore_buf sealed;
    lore_buf_init(&sealed, STORE_SECRET_SEALED_MAX);
    char key_id[SEAL_KEY_ID_LEN + 1];
    lore_status st = seal_encrypt(k, tenant, name, value, len, &sealed, key_id);
    if (st == LORE_OK)
        st = store_secret_put(s, tenant, name, key_id, (const uint8_t *)sealed.data, sealed.len,
                              lore_now_ms());
    lore_buf_free(&sealed);
    return st;
}

/* Opens one stored row into out; err (when given) says why it does not. */
static lore_status open_row(const seal_keyring *k, const store_secret *x, lore_buf *out, char *err,
                            size_t errlen) {
    lore_status st = seal_decrypt(k, x->key_id, x->tenant, x->name, x->sealed, x->sealed_len, out);
    if (st == LORE_OK || !err) return st == LORE_NOT_FOUND ? LORE_CORRUPT : st;
    const char *owner = x->tenant[0] ? x->tenant : "(server)";
    const char *prev = seal_previous_id(k);
    if (st == LORE_NOT_FOUND) {
        snprintf(err, errlen,
                 "secret %s/%s is sealed with key id %s, which is neither master_key (key id %s) "
                 "nor master_key_previous (%s%s)",
                 owner, x->name, x->key_id, seal_current_id(k), prev[0] ? "key id " : "not set",
                 prev);
        return LORE_CORRUPT;
    }
    if (st == LORE_CORRUPT)
        snprintf(err, errlen,
                 "secret %s/%s does not open with the key of id %s: its stored bytes were "
                 "altered or copied from another row",
                 owner, x->name, x->key_id);
    else
        snprintf(err, errlen, "secret %s/%s: %s", owner, x->name, lore_status_message(st));
    return st;
}

lore_status secrets_get(const seal_keyring *k, store *s, const char *tenant, const char *name,
                        lore_buf *out, char *err, size_t errlen) {
    if (err && errlen) err[0] = '\0';
    if (!tenant_valid(tenant) || !name || !name_valid(name)) return LORE_NOT_FOUND;
    store_secret x;
    lore_status st = store_secret_get(s, tenant, name, &x);
    if (st == LORE_OK) st = open_row(k, &x, out, err, errlen);
    store_secret_clear(&x);
    return st;
}

lore_status secrets_delete(store *s, const char *tenant, const char *name) {
    if (!tenant_valid(tenant) || !name || !name_valid(name)) return LORE_NOT_FOUND;
    return store_secret_delete(s, tenant, name);
}

/* Calls fn for every secret (of tenant; NULL: all), page by page, with its
 * sealed bytes when with_sealed. fn returns non-OK to stop. */
typedef lore_status (*each_fn)(void *ctx, const store_secret *x);
static lore_status each_secret(store *s, const char *tenant, int with_sealed, each_fn fn,
                               void *ctx) {
    char after_t[STORE_NAME_MAX + 1] = "", after_n[STORE_SECRET_NAME_MAX + 1] = "";
    int started = 0;
    for (;;) {
        store_secret *page = NULL;
        size_t n = 0;
        lore_status st = store_secret_list(s, tenant, started ? after_t : NULL, after_n,
                                           SECRETS_PAGE, with_sealed, &page, &n);
        if (st != LORE_OK) return st;
        for (size_t i = 0; i < n && st == LORE_OK; i++)
            st = fn(ctx, &page[i]);
        if (n) {
            memcpy(after_t, page[n - 1].tenant, sizeof after_t);
            memcpy(after_n, page[n - 1].name, sizeof after_n);
            started = 1;
        }
        store_secrets_free(page, n);
        if (st != LORE_OK || n < SECRETS_PAGE) return st;
    }
}

typedef struct list_ctx {
    secret_info *items;
    size_t n, cap;
} list_ctx;

static lore_status list_one(void *ctx, const store_secret *x) {
    list_ctx *c = ctx;
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 16;
        secret_info *nl = realloc(c->items, ncap * sizeof *nl);
        if (!nl) return LORE_NOMEM;
        c->items = nl;
        c->cap = ncap;
    }
    secret_info *i = &c->items[c->n++];
    memset(i, 0, sizeof *i);
    snprintf(i->tenant, sizeof i->tenant, "%s", x->tenant);
    snprintf(i->name, sizeof i->name, "%s", x->name);
    snprintf(i->key_id, sizeof i->key_id, "%.*s", SEAL_KEY_ID_LEN, x->key_id);
    i->created_ms = x->created_ms;
    i->updated_ms = x->updated_ms;
    return LORE_OK;
}

lore_status secrets_list(store *s, const char *tenant, secret_info **out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (tenant && !tenant_valid(tenant)) return LORE_OK;
    list_ctx c = {0};
    lore_status st = each_secret(s, tenant, 0, list_one, &c);
    if (st != LORE_OK) {
        free(c.items);
        return st;
    }
    *out = c.items;
    *n = c.n;
    return LORE_OK;
}

typedef struct rotate_ctx {
    const seal_keyring *k;
    store *s;
    secrets_rotate_report *r;
    lore_buf plain, sealed;
} rotate_ctx;

/* Re-seals one secret under the current key. A concurrent write of the same
 * secret makes the compare-and-swap fail (BUSY): the row is read again and
 * the decision made anew (a `secrets set` meanwhile sealed it under the
 * current key already). */
static lore_status rotate_one(void *ctx, const store_secret *row) {
    rotate_ctx *c = ctx;
    store_secret cur = {0};
    const store_secret *x = row;
    lore_status st = LORE_OK;
    for (int tries = 0; tries < RESEAL_TRIES; tries++) {
        int under_current = !strcmp(x->key_id, seal_current_id(c->k));
        st = open_row(c->k, x, &c->plain, NULL, 0);
        if (st != LORE_OK) {
            c->r->unreadable++;
            st = LORE_OK;
            break;
        }
        if (under_current) {
            c->r->current++;
            break;
        }
        char key_id[SEAL_KEY_ID_LEN + 1];
        st = seal_encrypt(c->k, x->tenant, x->name, (const uint8_t *)c->plain.data, c->plain.len,
                          &c->sealed, key_id);
        if (st == LORE_OK)
            st = store_secret_reseal(c->s, x->tenant, x->name, x->key_id, x->sealed, x->sealed_len,
                                     key_id, (const uint8_t *)c->sealed.data, c->sealed.len);
        if (st == LORE_OK) c->r->resealed++;
        if (st == LORE_NOT_FOUND) st = LORE_OK; /* deleted meanwhile: nothing to do */
        if (st != LORE_BUSY) break;
        store_secret_clear(&cur);
        st = store_secret_get(c->s, row->tenant, row->name, &cur);
        if (st == LORE_NOT_FOUND) st = LORE_OK;
        if (st != LORE_OK || !cur.sealed) break;
        x = &cur;
    }
    if (st == LORE_BUSY) { /* kept changing under us: report it, go on */
        c->r->unreadable++;
        st = LORE_OK;
    }
    if (c->plain.data) OPENSSL_cleanse(c->plain.data, c->plain.len);
    store_secret_clear(&cur);
    return st;
}

lore_status secrets_rotate(const seal_keyring *k, store *s, secrets_rotate_report *r) {
    memset(r, 0, sizeof *r);
    rotate_ctx c = {k, s, r, {0}, {0}};
    lore_buf_init(&c.plain, SECRET_VALUE_MAX * 2);
    lore_buf_init(&c.sealed, STORE_SECRET_SEALED_MAX);
    lore_status st = each_secret(s, NULL, 1, rotate_one, &c);
    buf_wipe(&c.plain);
    lore_buf_free(&c.sealed);
    return st;
}

typedef struct check_ctx {
    const seal_keyring *k;
    lore_buf plain;
    int64_t checked, failed;
    char first[512];
} check_ctx;

static lore_status check_one(void *ctx, const store_secret *x) {
    check_ctx *c = ctx;
    char why[512];
    c->checked++;
    if (open_row(c->k, x, &c->plain, why, sizeof why) != LORE_OK) {
        if (!c->failed) snprintf(c->first, sizeof c->first, "%s", why);
        c->failed++;
    }
    if (c->plain.data) OPENSSL_cleanse(c->plain.data, c->plain.len);
    return LORE_OK;
}

lore_status secrets_check_all(const seal_keyring *k, store *s, int64_t *checked, char *err,
                              size_t errlen) {
    check_ctx c = {.k = k};
    lore_buf_init(&c.plain, SECRET_VALUE_MAX * 2);
    lore_status st = each_secret(s, NULL, 1, check_one, &c);
    buf_wipe(&c.plain);
    if (checked) *checked = c.checked;
    if (st != LORE_OK) {
        snprintf(err, errlen, "cannot read the secrets: %s", lore_status_message(st));
        return st;
    }
    if (c.failed) {
        snprintf(err, errlen, "%lld of %lld secrets cannot be opened; the first: %s",
                 (long long)c.failed, (long long)c.checked, c.first);
        return LORE_CORRUPT;
    }
    return LORE_OK;
}
