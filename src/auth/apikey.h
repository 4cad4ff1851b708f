/* API keys: the secrets behind `Authorization: Bearer <key>`.
 *
 * Format: 61 ASCII bytes, fixed layout
 *
 *     lore_3f9a0c1b2d4e_q8Xw...(43 characters)
 *     |    |           |
 *     |    |           secret: 43 base64url characters (RFC 4648 section 5,
 *     |    |           no padding) encoding 32 bytes from OpenSSL RAND_bytes
 *     |    id: 12 lower-case hex digits (6 random bytes), the record's public
 *     |    id; shown by `lore key list`, safe to log
 *     "lore_": names the key wherever it leaks (logs, secret scanners)
 *
 * The store keeps only SHA-256 of the whole 61-byte string (hex). The secret
 * has 256 random bits, so there is nothing to brute-force and a salted slow
 * hash would only cost every request; the key itself is returned once, by
 * apikey_create, and cannot be recovered.
 *
 * apikey_verify: anything not of the fixed format is refused before the store
 * is touched; the record is looked up by id, the hashes are compared in
 * constant time (CRYPTO_memcmp), and only a matching key is then checked for
 * revocation and expiry. An unknown id and a wrong secret give the same
 * answer, and someone holding only an id learns nothing about its key.
 *
 * Scopes are independent bits; a key may do what its scopes name and nothing
 * more (admin does not imply read or write). AUTH_SCOPE_SERVER is server-wide
 * (managing tenants); such a key is still stored under, and deleted with, the
 * tenant it was created in.
 *
 * Principals are who a key acts for when document ACLs are checked:
 * "user:<id>" or "group:<id>" (see auth_principal_valid).
 *
 * Threads: nothing here keeps state. Calls taking a store use it as the store
 * allows (one thread at a time per store handle).
 * Ownership: strings passed in are borrowed; records returned are owned by the
 * caller (store_key_free). */
#ifndef LORE_AUTH_APIKEY_H
#define LORE_AUTH_APIKEY_H

#include <stddef.h>
#include <stdint.h>
#include "store/store.h"
#include "util/status.h"

#define APIKEY_PREFIX "lore_"
#define APIKEY_PREFIX_LEN 5
#define APIKEY_SECRET_LEN 43 /* base64url of 32 bytes, unpadded */
#define APIKEY_LEN (APIKEY_PREFIX_LEN + STORE_KEY_ID_LEN + 1 + APIKEY_SECRET_LEN) /* 61 */

#define APIKEY_MAX_PRINCIPALS 64
#define APIKEY_NAME_MAX 128    /* bytes */
#define AUTH_PRINCIPAL_MAX 256 /* bytes, prefix included */

#define AUTH_SCOPE_READ 1u
#define AUTH_SCOPE_WRITE 2u
#define AUTH_SCOPE_ADMIN 4u
#define AUTH_SCOPE_SERVER 8u
#define AUTH_SCOPE_ALL 15u
#define AUTH_SCOPES_BUFLEN 24 /* "read,write,admin,server" and its terminator */

typedef enum {
    AUTH_OK,        /* the key is live; the record is returned */
    AUTH_MALFORMED, /* not a lore key at all */
    AUTH_UNKNOWN,   /* no such key: unknown id or wrong secret, deliberately alike */
    AUTH_REVOKED,
    AUTH_EXPIRED,
    AUTH_ERROR /* the store failed; the request should be retried, not refused as bad */
} auth_result;

/* Parses a comma-separated scope list ("read,write"; spaces around names are
 * ignored) into AUTH_SCOPE_* bits. An empty list, an empty item or an unknown
 * name is LORE_INVALID, with err (may be NULL) naming it; *bits is set only
 * on success. */
LORE_MUST_CHECK lore_status auth_scopes_parse(const char *s, unsigned *bits, char *err,
                                              size_t errlen);
/* Writes the scope names of bits in a fixed order ("read,write,admin,server";
 * unknown bits are left out, no bits gives ""). Returns the length of the
 * whole text, like snprintf; AUTH_SCOPES_BUFLEN bytes always suffice. */
size_t auth_scopes_format(unsigned bits, char *buf, size_t len);

/* A principal is "user:<value>" or "group:<value>": at most
 * AUTH_PRINCIPAL_MAX bytes in all, value non-empty, well-formed UTF-8 of
 * printable characters only (no C0 or C1 controls, DEL, U+2028 or U+2029)
 * and no space at either end of the value. Newlines matter most: the store
 * joins principals (of keys and of document ACLs) with "\n". Returns 1 if
 * valid. */
int auth_principal_valid(const char *p);
/* A key name: 1 to APIKEY_NAME_MAX bytes of printable UTF-8 (the same
 * character rules as principals), since listings print it as is. */
int apikey_name_valid(const char *name);

/* Checks the fixed format of a presented key (len bytes, need not be
 * NUL-terminated) and copies its id into id_out. Returns 1 if well-formed.
 * Touches no store; the id is public, so callers may log it. */
int apikey_parse(const char *token, size_t len, char id_out[STORE_KEY_ID_LEN + 1]);

/* Creates a key for an existing tenant and writes the key string into
 * key_out: the only time it is ever available. scopes: AUTH_SCOPE_* bits,
 * at least one. name may be NULL. principals: n valid principals, at most
 * APIKEY_MAX_PRINCIPALS. expires_ms: Unix ms in the future, or 0 for never.
 * *rec_out (if rec_out is non-NULL) receives the stored record, owned.
 * Returns LORE_INVALID for a bad tenant name, scope set, name, principal or
 * expiry; LORE_TOO_LARGE for too many principals or a name over
 * APIKEY_NAME_MAX; LORE_NOT_FOUND if the tenant does not exist;
 * LORE_INTERNAL if the random generator fails. On failure nothing is stored
 * and key_out is the empty string. */
LORE_MUST_CHECK lore_status apikey_create(store *s, const char *tenant, const char *name,
                                          unsigned scopes, const char *const *principals, size_t n,
                                          int64_t expires_ms, char key_out[APIKEY_LEN + 1],
                                          store_key **rec_out);

/* The id of the key a first start makes (apikey_create_first). */
#define APIKEY_FIRST_ID "000000000001"
/* The first start's key: as apikey_create (no principals, no expiry), with
 * the fixed id APIKEY_FIRST_ID, so that of several servers starting at once
 * on one empty store exactly one makes it: the others get LORE_EXISTS (the
 * store refuses a second key with that id) and print nothing. */
LORE_MUST_CHECK lore_status apikey_create_first(store *s, const char *tenant, const char *name,
                                                unsigned scopes, char key_out[APIKEY_LEN + 1],
                                                store_key **rec_out);

/* Authenticates a presented key (len bytes, need not be NUL-terminated) at
 * now_ms. On AUTH_OK *out (if out is non-NULL) receives the key's record,
 * owned; on any other result *out is NULL. A key expires at expires_ms
 * (now_ms >= expires_ms is expired); revocation is seen by the next call. */
LORE_MUST_CHECK auth_result apikey_verify(store *s, const char *token, size_t len, int64_t now_ms,
                                          store_key **out);

/* A short human description of a result ("API key revoked"); never NULL. */
const char *auth_result_message(auth_result r);

#endif
