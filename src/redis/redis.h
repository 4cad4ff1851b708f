/* A small Redis client of our own: what the shared rate limiter needs and
 * nothing more.
 *
 * URLs: redis://[[user]:password@]host[:port][/db] and rediss://... (TLS via
 * OpenSSL, the server's certificate verified against the system CAs or
 * tls_ca_file, and its name or IP address checked). "redis://:pw@host" sends
 * AUTH pw; "redis://user:pw@host" sends AUTH user pw (Redis 6 ACLs); the
 * user and password may be percent-encoded. host may be [::1]. Port 6379 by
 * default, db 0 by default (SELECT db when not 0). No query string.
 *
 * Protocol: commands go out as RESP arrays of bulk strings; replies are
 * read as RESP2 and tolerate RESP3 types (null, boolean, double, big number,
 * blob error, verbatim string, map, set, push, attributes), mapped onto the
 * six types below. The parser never trusts a length: every size has a cap
 * (REDIS_MAX_*), and anything else is a protocol error, never a crash.
 *
 * Threads: a redis_client is a pool of connections that any number of
 * threads may call at once; a connection is used by one call at a time. At
 * most max_conns connections are open; a call finding them all busy waits up
 * to timeout_ms for one. */
#ifndef LORE_REDIS_REDIS_H
#define LORE_REDIS_REDIS_H

#include <stddef.h>
#include <stdint.h>
#include "util/status.h"

#define REDIS_MAX_BULK (512u * 1024u)   /* bytes in one string reply */
#define REDIS_MAX_LINE 4096u            /* bytes in a status, error or number line */
#define REDIS_MAX_ELEMENTS 1024u        /* elements of one array (a map: 2 per entry) */
#define REDIS_MAX_NODES 4096u           /* values in one whole reply */
#define REDIS_MAX_DEPTH 8u              /* nesting of arrays */
#define REDIS_MAX_COMMAND (64u * 1024u) /* bytes of one encoded command */
#define REDIS_MAX_ARGS 64u

typedef enum redis_reply_type {
    REDIS_NIL,     /* $-1, *-1, _ */
    REDIS_STATUS,  /* +OK */
    REDIS_ERROR,   /* -ERR ..., !<len> */
    REDIS_INTEGER, /* :n, #t / #f as 1 / 0 */
    REDIS_STRING,  /* $<len>, and RESP3 doubles, big numbers, verbatim text */
    REDIS_ARRAY    /* *, and RESP3 maps (key, value, ...), sets, pushes */
} redis_reply_type;

typedef struct redis_reply {
    redis_reply_type type;
    int64_t integer;
    char *str; /* STATUS, ERROR, STRING: len bytes and a NUL */
    size_t len;
    struct redis_reply *elem; /* ARRAY: n elements */
    size_t n;
} redis_reply;

/* Parses one reply from buf[0..len). LORE_OK with *out set and *used the
 * bytes it took; LORE_OK with *out NULL when buf holds only the start of a
 * reply (read more and call again with the whole buffer); LORE_INVALID for
 * bytes that are not RESP, LORE_TOO_LARGE past a cap, LORE_NOMEM. */
LORE_MUST_CHECK lore_status redis_parse(const char *buf, size_t len, size_t *used,
                                        redis_reply **out);
void redis_reply_free(redis_reply *r);

typedef struct redis_target {
    int tls;
    char host[256];
    uint16_t port;
    char user[256], password[512]; /* "" = none */
    int64_t db;
} redis_target;

/* Parses url into *t. LORE_INVALID with err naming what is wrong. */
LORE_MUST_CHECK lore_status redis_url_parse(const char *url, redis_target *t, char *err,
                                            size_t errlen);
/* url without its password, for logs and messages ("rediss://app@host:6380/2"). */
void redis_url_describe(const redis_target *t, char *out, size_t outlen);

typedef struct redis_options {
    int timeout_ms;          /* connect, handshake and each call; 0 = 1000 */
    unsigned max_conns;      /* 0 = 16 */
    const char *tls_ca_file; /* PEM CAs for rediss://; NULL or "" = the system's */
} redis_options;

typedef struct redis_client redis_client;

/* Parses the URL and prepares TLS; connects on first call. LORE_INVALID (a
 * bad URL, an unreadable CA file) with err saying so. */
LORE_MUST_CHECK lore_status redis_client_new(const char *url, const redis_options *o,
                                             redis_client **out, char *err, size_t errlen);
void redis_client_free(redis_client *c);
/* The URL without its password. */
const char *redis_client_name(const redis_client *c);

/* Sends one command (argc arguments, lens[i] bytes each; lens NULL: C
 * strings) and reads its reply into *out (owned; an error reply is LORE_OK
 * with type REDIS_ERROR). On failure err says what happened:
 *   LORE_IO       unreachable, connection lost, TLS failure
 *   LORE_TIMEOUT  no answer within timeout_ms
 *   LORE_INVALID  the server refused AUTH or SELECT, or the certificate
 *                 (a setting to fix, not an outage), or a protocol error
 *   LORE_BUSY     every connection busy for timeout_ms
 * A connection that failed is closed, never reused; one idle in the pool
 * that turns out dead is replaced and the command sent once more. */
LORE_MUST_CHECK lore_status redis_call(redis_client *c, int argc, const char *const *argv,
                                       const size_t *lens, redis_reply **out, char *err,
                                       size_t errlen);

/* EVALSHA sha1(script) numkeys args...; when the server answers NOSCRIPT,
 * SCRIPT LOAD script and EVALSHA once more. argv: the keys then the other
 * arguments (argc in all, nkeys of them keys). */
LORE_MUST_CHECK lore_status redis_eval(redis_client *c, const char *script, int nkeys, int argc,
                                       const char *const *argv, const size_t *lens,
                                       redis_reply **out, char *err, size_t errlen);

#endif
