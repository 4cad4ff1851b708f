/* Internals shared by the Redis client's files. */
#ifndef LORE_REDIS_REDIS_INT_H
#define LORE_REDIS_REDIS_INT_H

#include <openssl/ssl.h>
#include <pthread.h>
#include "redis/redis.h"

typedef struct redis_conn {
    int fd;
    SSL *ssl;
    char *buf; /* bytes read and not yet parsed */
    size_t len, cap;
    struct redis_conn *next; /* idle list */
} redis_conn;

struct redis_client {
    redis_target t;
    char name[600]; /* the URL without its password */
    int timeout_ms;
    unsigned max_conns;
    SSL_CTX *ssl_ctx; /* rediss:// only */
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a connection came back or closed */
    redis_conn *idle;
    unsigned open; /* idle and in use */
};

int64_t redis_mono_ms(void);
/* Copies s[0..n) into out with control bytes as '?', for messages. */
void redis_safe_text(char *out, size_t outlen, const char *s, size_t n);
/* The RESP array of bulk strings for a command; *out owned. */
LORE_MUST_CHECK lore_status redis_encode(int argc, const char *const *argv, const size_t *lens,
                                         char **out, size_t *outlen);
/* Connects, TLS, AUTH and SELECT within c->timeout_ms. */
LORE_MUST_CHECK lore_status redis_conn_open(const redis_client *c, redis_conn **out, char *err,
                                            size_t errlen);
LORE_MUST_CHECK lore_status redis_conn_call(redis_conn *k, int64_t deadline, int argc,
                                            const char *const *argv, const size_t *lens,
                                            redis_reply **out, char *err, size_t errlen);
void redis_conn_close(redis_conn *k);

#endif
