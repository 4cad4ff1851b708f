/* Connector instances: creating, listing, reading, deleting them and
 * rotating their signing secrets. The CLI (lore connector) and the admin
 * routes (/v1/connectors) both go through here; the webhook gate reads an
 * instance and its secrets with connector_admin_get.
 *
 * An instance's row lives in the control store (store.h, "connector
 * instances"); its signing secret is sealed with the server's keyring in
 * the secrets table as "connector:<id>". A rotation keeps the old secret as
 * "connector:<id>:previous", valid for a grace period, so deliveries signed
 * by the source before the operator updated it still verify. */
#ifndef LORE_CONNECTORS_CONNECTOR_ADMIN_H
#define LORE_CONNECTORS_CONNECTOR_ADMIN_H

#include <stddef.h>
#include <stdint.h>
#include "connectors/connector.h"
#include "crypto/seal.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/status.h"

#define CONNECTOR_GRACE_DEFAULT_S 86400 /* rotate-secret: the old secret's life */
#define CONNECTOR_GRACE_MAX_S (30 * 86400)
#define CONNECTOR_ACL_MAX 64
/* A secret name: "connector:" id [":previous"]. */
#define CONNECTOR_SECRET_NAME_MAX 48

/* What connector_admin_create needs. source NULL: the kind. secret NULL:
 * generate one (CONNECTOR_SECRET_GENERATED random bytes, hex). */
typedef struct connector_new {
    const char *tenant;
    const char *kind;
    const char *source;
    const char *const *acl;
    size_t nacl;
    const char *secret;
} connector_new;

/* Checks a connector id's shape: "con_" and 20 lower-case hex digits. */
int connector_id_valid(const char *id);
/* Checks a source name as documents take them (ingest_source_valid). */
int connector_source_valid(const char *source);
/* Checks a signing secret given by an operator: 1 to CONNECTOR_SECRET_MAX
 * bytes of visible ASCII (0x21-0x7e). */
int connector_secret_valid(const char *secret);
/* The secret names of an instance into out (CONNECTOR_SECRET_NAME_MAX + 1). */
void connector_secret_name(const char *id, int previous, char *out);

/* Creates an instance and seals its secret. *out owned (store_connector_free);
 * secret_out (CONNECTOR_SECRET_MAX + 1) gets the secret, to show once.
 * LORE_INVALID with err saying which field is wrong; LORE_NOT_FOUND when
 * the tenant does not exist. On failure nothing is left behind. */
LORE_MUST_CHECK lore_status connector_admin_create(const seal_keyring *k, store *s,
                                                   const connector_new *req, store_connector **out,
                                                   char *secret_out, char *err, size_t errlen);

/* An instance with its secrets opened. */
typedef struct connector_secrets {
    lore_buf current;
    lore_buf previous; /* empty unless a rotation's grace period is running */
    int has_previous;
} connector_secrets;
void connector_secrets_init(connector_secrets *cs);
void connector_secrets_clear(connector_secrets *cs); /* wipes and frees */

/* Reads an instance (tenant NULL: any tenant; another tenant's is
 * LORE_NOT_FOUND) and, when cs is non-NULL, opens its current secret and,
 * while the grace period lasts at now_ms, its previous one. LORE_CORRUPT
 * (err says why) when a secret cannot be opened. */
LORE_MUST_CHECK lore_status connector_admin_get(const seal_keyring *k, store *s, const char *tenant,
                                                const char *id, int64_t now_ms,
                                                store_connector **out, connector_secrets *cs,
                                                char *err, size_t errlen);

/* The previous secret alone (rotation in progress), for a delivery that
 * the current one did not verify: re-reads the row so a rotation committed
 * meanwhile is seen. LORE_NOT_FOUND when there is none or its grace is
 * over at now_ms. */
LORE_MUST_CHECK lore_status connector_admin_previous(const seal_keyring *k, store *s,
                                                     const store_connector *c, int64_t now_ms,
                                                     lore_buf *out, char *err, size_t errlen);

/* Instances of a tenant (NULL: all). */
LORE_MUST_CHECK lore_status connector_admin_list(store *s, const char *tenant,
                                                 store_connector **out, size_t *n);

/* Deletes an instance and its secrets (tenant NULL: any). LORE_NOT_FOUND if
 * there is none. Jobs already queued for it finish as skipped. */
LORE_MUST_CHECK lore_status connector_admin_delete(store *s, const char *tenant, const char *id);

/* Gives an instance a new secret (secret NULL: generated), keeping the old
 * one valid for grace_s seconds (0: not at all). secret_out as for create;
 * *out (optional) the updated instance. */
LORE_MUST_CHECK lore_status connector_admin_rotate(const seal_keyring *k, store *s,
                                                   const char *tenant, const char *id,
                                                   int64_t grace_s, const char *secret,
                                                   store_connector **out, char *secret_out,
                                                   char *err, size_t errlen);

/* The instance as connector.h's connector_instance (pointing into c, whose
 * ACL it borrows). */
void connector_instance_from(const store_connector *c, connector_instance *out);

#endif
