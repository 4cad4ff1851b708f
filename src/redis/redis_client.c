/* The connection pool, and EVALSHA with its NOSCRIPT fallback. */
#include "redis/redis_int.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

lore_status redis_client_new(const char *url, const redis_options *o, redis_client **out, char *err,
                             size_t errlen) {
    *out = NULL;
    redis_client *c = calloc(1, sizeof *c);
    if (!c) return LORE_NOMEM;
    lore_status st = redis_url_parse(url, &c->t, err, errlen);
    if (st != LORE_OK) {
        free(c);
        return st;
    }
    redis_url_describe(&c->t, c->name, sizeof c->name);
    c->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : 1000;
    c->max_conns = o && o->max_conns ? o->max_conns : 16;
    if (c->t.tls) {
        const char *ca = o && o->tls_ca_file && o->tls_ca_file[0] ? o->tls_ca_file : NULL;
        if (!(c->ssl_ctx = SSL_CTX_new(TLS_client_method()))) {
            snprintf(err, errlen, "TLS: cannot set up OpenSSL");
            free(c);
            return LORE_NOMEM;
        }
        SSL_CTX_set_min_proto_version(c->ssl_ctx, TLS1_2_VERSION);
        SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_PEER, NULL);
        int ok = ca ? SSL_CTX_load_verify_locations(c->ssl_ctx, ca, NULL)
                    : SSL_CTX_set_default_verify_paths(c->ssl_ctx);
        ERR_clear_error();
        if (ok != 1) {
            snprintf(err, errlen, "redis_tls_ca_file: cannot read PEM certificates from %s",
                     ca ? ca : "the system's CA store");
            SSL_CTX_free(c->ssl_ctx);
            free(c);
            return LORE_INVALID;
        }
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return LORE_OK;
}

void redis_client_free(redis_client *c) {
    if (!c) return;
    for (redis_conn *k = c->idle, *next; k; k = next) {
        next = k->next;
        redis_conn_close(k);
    }
    SSL_CTX_free(c->ssl_ctx);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

const char *redis_client_name(const redis_client *c) {
    return c->name;
}

/* An idle connection (*reused = 1) or a new one, waiting up to the
 * deadline while max_conns are in use. */
static lore_status pool_get(redis_client *c, int64_t deadline, redis_conn **out, int *reused,
                            char *err, size_t errlen) {
    *out = NULL;
    *reused = 0;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        if (c->idle) {
            *out = c->idle;
            c->idle = (*out)->next;
            (*out)->next = NULL;
            *reused = 1;
            pthread_mutex_unlock(&c->mu);
            return LORE_OK;
        }
        if (c->open < c->max_conns) {
            c->open++;
            pthread_mutex_unlock(&c->mu);
            lore_status st = redis_conn_open(c, out, err, errlen);
            if (st != LORE_OK) {
                pthread_mutex_lock(&c->mu);
                c->open--;
                pthread_cond_signal(&c->cv);
                pthread_mutex_unlock(&c->mu);
            }
            return st;
        }
        struct timespec ts = {(time_t)(deadline / 1000), (long)(deadline % 1000) * 1000000};
        if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == ETIMEDOUT && !c->idle &&
            c->open >= c->max_conns) {
            pthread_mutex_unlock(&c->mu);
            snprintf(err, errlen, "all %u connections to Redis were busy for %d ms", c->max_conns,
                     c->timeout_ms);
            return LORE_BUSY;
        }
    }
}

static void pool_put(redis_client *c, redis_conn *k, int healthy) {
    pthread_mutex_lock(&c->mu);
    if (healthy) {
        k->next = c->idle;
        c->idle = k;
        k = NULL;
    } else {
        c->open--;
    }
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    redis_conn_close(k);
}

static void drop_idle(redis_client *c) {
    pthread_mutex_lock(&c->mu);
    redis_conn *k = c->idle;
    c->idle = NULL;
    for (redis_conn *i = k; i; i = i->next)
        c->open--;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    while (k) {
        redis_conn *next = k->next;
        redis_conn_close(k);
        k = next;
    }
}

lore_status redis_call(redis_client *c, int argc, const char *const *argv, const size_t *lens,
                       redis_reply **out, char *err, size_t errlen) {
    *out = NULL;
    int64_t deadline = redis_mono_ms() + c->timeout_ms;
    lore_status st = LORE_IO;
    for (int attempt = 0; attempt < 2; attempt++) {
        redis_conn *k = NULL;
        int reused = 0;
        if ((st = pool_get(c, deadline, &k, &reused, err, errlen)) != LORE_OK) return st;
        st = redis_conn_call(k, deadline, argc, argv, lens, out, err, errlen);
        /* A connection that timed out may still get its answer later: it
         * is closed like any that failed, so no reply is ever misread. */
        pool_put(c, k, st == LORE_OK);
        if (st == LORE_OK) return LORE_OK;
        /* An idle connection the server closed meanwhile (a restart, its
         * timeout): the other idle ones are most likely dead too, so they
         * go, and the command is sent once more on a new connection. Not
         * after a timeout: the command may have run. */
        if (!reused || st != LORE_IO) break;
        drop_idle(c);
    }
    return st;
}

static void sha1_hex(const char *s, char out[41]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    static const char hex[] = "0123456789abcdef";
    if (EVP_Digest(s, strlen(s), md, &n, EVP_sha1(), NULL) != 1) n = 0;
    for (unsigned i = 0; i < n && i < 20; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[n == 20 ? 40 : 0] = '\0';
}

lore_status redis_eval(redis_client *c, const char *script, int nkeys, int argc,
                       const char *const *argv, const size_t *lens, redis_reply **out, char *err,
                       size_t errlen) {
    *out = NULL;
    if (argc < 0 || nkeys < 0 || nkeys > argc || (unsigned)argc + 3 > REDIS_MAX_ARGS)
        return LORE_INVALID;
    char sha[41], nk[16];
    sha1_hex(script, sha);
    if (!sha[0]) {
        snprintf(err, errlen, "cannot compute SHA-1 of the script");
        return LORE_INTERNAL;
    }
    snprintf(nk, sizeof nk, "%d", nkeys);
    const char *av[REDIS_MAX_ARGS];
    size_t al[REDIS_MAX_ARGS];
    av[0] = "EVALSHA";
    av[1] = sha;
    av[2] = nk;
    al[0] = 7;
    al[1] = 40;
    al[2] = strlen(nk);
    for (int i = 0; i < argc; i++) {
        av[3 + i] = argv[i];
        al[3 + i] = lens ? lens[i] : strlen(argv[i]);
    }
    lore_status st = redis_call(c, argc + 3, av, al, out, err, errlen);
    if (st != LORE_OK || (*out)->type != REDIS_ERROR || strncmp((*out)->str, "NOSCRIPT", 8))
        return st;
    /* Not cached there yet (a new or restarted server, SCRIPT FLUSH). */
    redis_reply_free(*out);
    *out = NULL;
    const char *load[] = {"SCRIPT", "LOAD", script};
    redis_reply *r = NULL;
    if ((st = redis_call(c, 3, load, NULL, &r, err, errlen)) != LORE_OK) return st;
    if (r->type != REDIS_STRING || r->len != 40 || memcmp(r->str, sha, 40)) {
        char text[200] = "";
        if (r->str) redis_safe_text(text, sizeof text, r->str, r->len);
        snprintf(err, errlen, "SCRIPT LOAD failed: %s", text[0] ? text : "unexpected reply");
        redis_reply_free(r);
        return LORE_INVALID;
    }
    redis_reply_free(r);
    return redis_call(c, argc + 3, av, al, out, err, errlen);
}
