/* Secrets at rest: signing secrets, API credentials (embed_api_key), kept
 * sealed (crypto/seal.h) in the control store, never in clear.
 *
 * A secret belongs to a tenant, or to the server when tenant is "" (settings
 * such as embed_api_key). Values are read back only by the code that uses
 * them; `lore secrets list` shows names, key ids and times, never values.
 *
 * The keyring comes from the configuration: master_key (required in
 * production) and master_key_previous during a rotation. In dev mode
 * without a master_key, a random one is made once in DATA_DIR/master.key
 * (mode 0600) and used from then on, so secrets are sealed in every mode.
 *
 * Threads: a keyring is shared; each thread passes its own store handle. */
#ifndef LORE_SECRETS_SECRETS_H
#define LORE_SECRETS_SECRETS_H

#include <stddef.h>
#include <stdint.h>
#include "config/config.h"
#include "crypto/seal.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/status.h"

#define SECRET_NAME_MAX 128 /* [A-Za-z0-9_.:-]{1,128} */
#define SECRET_VALUE_MAX 8192

/* The keyring for cfg (data_dir resolved). err names the setting to fix. */
LORE_MUST_CHECK lore_status secrets_keyring(const lore_config *cfg, seal_keyring **out, char *err,
                                            size_t errlen);

/* Stores (creating or replacing) a secret, sealed under the current key.
 * LORE_NOT_FOUND if the tenant does not exist, LORE_INVALID for a bad name
 * or an empty value, LORE_TOO_LARGE past SECRET_VALUE_MAX. */
LORE_MUST_CHECK lore_status secrets_set(const seal_keyring *k, store *s, const char *tenant,
                                        const char *name, const uint8_t *value, size_t len);
/* Opens a secret into out (replacing its content). LORE_NOT_FOUND if there
 * is none; LORE_CORRUPT if it cannot be opened with the keyring (err says
 * which key id it was sealed with). */
LORE_MUST_CHECK lore_status secrets_get(const seal_keyring *k, store *s, const char *tenant,
                                        const char *name, lore_buf *out, char *err, size_t errlen);
/* LORE_NOT_FOUND if there was none. */
LORE_MUST_CHECK lore_status secrets_delete(store *s, const char *tenant, const char *name);

typedef struct secret_info {
    char tenant[STORE_NAME_MAX + 1];
    char name[SECRET_NAME_MAX + 1];
    char key_id[SEAL_KEY_ID_LEN + 1];
    int64_t created_ms, updated_ms;
} secret_info;
/* Secrets of a tenant ("" the server's, NULL all), by tenant and name.
 * *out owned (free()). */
LORE_MUST_CHECK lore_status secrets_list(store *s, const char *tenant, secret_info **out,
                                         size_t *n);

typedef struct secrets_rotate_report {
    int64_t resealed;   /* opened with the previous key, sealed under the current one */
    int64_t current;    /* already under the current key */
    int64_t unreadable; /* neither key opens them (left as they are) */
} secrets_rotate_report;
/* Re-seals every secret not under the current key, one transaction per
 * secret (a value is never lost between reading and writing it). */
LORE_MUST_CHECK lore_status secrets_rotate(const seal_keyring *k, store *s,
                                           secrets_rotate_report *r);
/* Opens every secret; LORE_CORRUPT when any fails, with err naming the
 * first and the count. Production mode refuses to start on that. */
LORE_MUST_CHECK lore_status secrets_check_all(const seal_keyring *k, store *s, int64_t *checked,
                                              char *err, size_t errlen);

/* Settings marked secret in config.c (mcp_key, ...) may be given as
 * `secret:NAME`: this replaces each such value with the server's secret
 * NAME (tenant ""), when a command starts. master_key and
 * master_key_previous cannot be given so (they open the store). err names
 * the setting and the secret. */
LORE_MUST_CHECK lore_status secrets_resolve_config(const seal_keyring *k, store *s,
                                                   lore_config *cfg, char *err, size_t errlen);
/* 1 when some secret setting of cfg is a `secret:NAME` reference. */
int secrets_config_needs_store(const lore_config *cfg);

#endif
