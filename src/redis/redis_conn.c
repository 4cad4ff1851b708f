/* One connection to Redis: connect with a deadline, TLS, AUTH, SELECT,
 * writing a command and reading its reply (the pool is redis_client.c). */
#include "redis/redis_int.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_BUF_MAX (REDIS_MAX_BULK + 64u * 1024u)

int64_t redis_mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining(int64_t deadline) {
    int64_t left = deadline - redis_mono_ms();
    return left < 0 ? 0 : left > 3600000 ? 3600000 : (int)left;
}

void redis_safe_text(char *out, size_t outlen, const char *s, size_t n) {
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < outlen; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[o++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    if (outlen) out[o] = '\0';
}

static void set_timeouts(int fd, int ms) {
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    if (!ms) tv.tv_usec = 1000;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* A TCP connection to one of host's addresses before deadline; -1 with err. */
static int tcp_connect(const redis_client *c, int64_t deadline, lore_status *st, char *err,
                       size_t errlen) {
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)c->t.port);
    int gai = getaddrinfo(c->t.host, port, &hints, &res);
    if (gai) {
        snprintf(err, errlen, "cannot resolve %s: %s", c->t.host, gai_strerror(gai));
        *st = LORE_IO;
        return -1;
    }
    int fd = -1, last = 0;
    *st = LORE_IO;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc && errno == EINPROGRESS) {
            struct pollfd pfd = {fd, POLLOUT, 0};
            int pr;
            do
                pr = poll(&pfd, 1, remaining(deadline));
            while (pr < 0 && errno == EINTR);
            if (pr == 0) {
                last = ETIMEDOUT;
                *st = LORE_TIMEOUT;
            } else {
                socklen_t sl = sizeof last;
                if (pr < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &last, &sl)) last = errno;
                if (!last) rc = 0;
            }
        } else if (rc) {
            last = errno;
        }
        if (rc) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "cannot connect to %s:%u: %s", c->t.host, (unsigned)c->t.port,
                 strerror(last ? last : ECONNREFUSED));
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    *st = LORE_OK;
    return fd;
}

static void ssl_error(char *err, size_t errlen, const char *what) {
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    snprintf(err, errlen, "%s%s%s", what, buf[0] ? ": " : "", buf);
}

static lore_status tls_start(const redis_client *c, redis_conn *k, int64_t deadline, char *err,
                             size_t errlen) {
    if (!(k->ssl = SSL_new(c->ssl_ctx))) {
        ssl_error(err, errlen, "TLS: cannot make a session");
        return LORE_NOMEM;
    }
    SSL_set_fd(k->ssl, k->fd);
    struct in6_addr a6;
    int is_ip = inet_pton(AF_INET6, c->t.host, &a6) == 1 || inet_pton(AF_INET, c->t.host, &a6) == 1;
    if (is_ip) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(k->ssl), c->t.host);
    } else {
        SSL_set_tlsext_host_name(k->ssl, c->t.host);
        SSL_set1_host(k->ssl, c->t.host);
    }
    set_timeouts(k->fd, remaining(deadline));
    ERR_clear_error();
    if (SSL_connect(k->ssl) == 1) return LORE_OK;
    long vr = SSL_get_verify_result(k->ssl);
    if (vr != X509_V_OK) {
        snprintf(err, errlen,
                 "TLS: the certificate of %s is not trusted (%s); set redis_tls_ca_file to the CA "
                 "that signed it",
                 c->t.host, X509_verify_cert_error_string(vr));
        ERR_clear_error();
        return LORE_INVALID;
    }
    if (remaining(deadline) == 0) {
        snprintf(err, errlen, "TLS handshake with %s:%u timed out", c->t.host, (unsigned)c->t.port);
        ERR_clear_error();
        return LORE_TIMEOUT;
    }
    char what[400];
    snprintf(what, sizeof what,
             "TLS handshake with %s:%u failed (is it a TLS port? rediss:// needs one)", c->t.host,
             (unsigned)c->t.port);
    ssl_error(err, errlen, what);
    return LORE_IO;
}

void redis_conn_close(redis_conn *k) {
    if (!k) return;
    if (k->ssl) {
        SSL_shutdown(k->ssl); /* best effort: a close_notify, no waiting */
        SSL_free(k->ssl);
    }
    if (k->fd >= 0) close(k->fd);
    free(k->buf);
    free(k);
}

static lore_status conn_write(redis_conn *k, const char *data, size_t n, char *err, size_t errlen) {
    while (n) {
        ssize_t w;
        if (k->ssl) {
            ERR_clear_error();
            int r = SSL_write(k->ssl, data, n > INT32_MAX ? INT32_MAX : (int)n);
            w = r > 0 ? r : -1;
            if (r <= 0) {
                ssl_error(err, errlen, "TLS write to Redis failed");
                return LORE_IO;
            }
        } else {
            w = send(k->fd, data, n, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) {
                snprintf(err, errlen, "writing to Redis failed: %s",
                         errno == EAGAIN ? "timed out" : strerror(errno));
                return errno == EAGAIN ? LORE_TIMEOUT : LORE_IO;
            }
        }
        data += w;
        n -= (size_t)w;
    }
    return LORE_OK;
}

static lore_status conn_read(redis_conn *k, int64_t deadline, redis_reply **out, char *err,
                             size_t errlen) {
    *out = NULL;
    for (;;) {
        if (k->len) {
            size_t used = 0;
            lore_status st = redis_parse(k->buf, k->len, &used, out);
            if (st != LORE_OK) {
                snprintf(err, errlen, "Redis sent a reply that is not RESP (%s)",
                         lore_status_message(st));
                return st == LORE_NOMEM ? st : LORE_INVALID;
            }
            if (*out) {
                memmove(k->buf, k->buf + used, k->len - used);
                k->len -= used;
                return LORE_OK;
            }
        }
        if (k->len == k->cap) {
            if (k->cap >= READ_BUF_MAX) {
                snprintf(err, errlen, "Redis sent a reply larger than %u bytes",
                         (unsigned)READ_BUF_MAX);
                return LORE_INVALID;
            }
            size_t cap = k->cap ? k->cap * 2 : 4096;
            if (cap > READ_BUF_MAX) cap = READ_BUF_MAX;
            char *nb = realloc(k->buf, cap);
            if (!nb) return LORE_NOMEM;
            k->buf = nb;
            k->cap = cap;
        }
        if (!k->ssl || SSL_pending(k->ssl) == 0) {
            struct pollfd pfd = {k->fd, POLLIN, 0};
            int pr = poll(&pfd, 1, remaining(deadline));
            if (pr < 0 && errno == EINTR) continue;
            if (pr == 0) {
                snprintf(err, errlen, "Redis did not answer in time");
                return LORE_TIMEOUT;
            }
        }
        ssize_t r;
        if (k->ssl) {
            ERR_clear_error();
            int n = SSL_read(k->ssl, k->buf + k->len, (int)(k->cap - k->len));
            if (n <= 0) {
                int e = SSL_get_error(k->ssl, n);
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) continue;
                if (e == SSL_ERROR_ZERO_RETURN) {
                    snprintf(err, errlen, "Redis closed the connection");
                    return LORE_IO;
                }
                ssl_error(err, errlen, "TLS read from Redis failed");
                return LORE_IO;
            }
            r = n;
        } else {
            r = recv(k->fd, k->buf + k->len, k->cap - k->len, 0);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) {
                snprintf(err, errlen, "reading from Redis failed: %s",
                         errno == EAGAIN ? "timed out" : strerror(errno));
                return errno == EAGAIN ? LORE_TIMEOUT : LORE_IO;
            }
            if (r == 0) {
                snprintf(err, errlen, "Redis closed the connection");
                return LORE_IO;
            }
        }
        k->len += (size_t)r;
    }
}

lore_status redis_encode(int argc, const char *const *argv, const size_t *lens, char **out,
                         size_t *outlen) {
    *out = NULL;
    if (argc < 1 || (unsigned)argc > REDIS_MAX_ARGS) return LORE_INVALID;
    size_t total = 16;
    for (int i = 0; i < argc; i++) {
        size_t n = lens ? lens[i] : strlen(argv[i]);
        if (n > REDIS_MAX_COMMAND) return LORE_TOO_LARGE;
        total += n + 32;
        if (total > REDIS_MAX_COMMAND) return LORE_TOO_LARGE;
    }
    char *b = malloc(total);
    if (!b) return LORE_NOMEM;
    size_t o = (size_t)snprintf(b, total, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        size_t n = lens ? lens[i] : strlen(argv[i]);
        o += (size_t)snprintf(b + o, total - o, "$%zu\r\n", n);
        memcpy(b + o, argv[i], n);
        o += n;
        b[o++] = '\r';
        b[o++] = '\n';
    }
    *out = b;
    *outlen = o;
    return LORE_OK;
}

lore_status redis_conn_call(redis_conn *k, int64_t deadline, int argc, const char *const *argv,
                            const size_t *lens, redis_reply **out, char *err, size_t errlen) {
    char *cmd = NULL;
    size_t n = 0;
    *out = NULL;
    lore_status st = redis_encode(argc, argv, lens, &cmd, &n);
    if (st != LORE_OK) {
        snprintf(err, errlen, "cannot encode a Redis command: %s", lore_status_message(st));
        return st;
    }
    st = conn_write(k, cmd, n, err, errlen);
    free(cmd);
    if (st == LORE_OK) st = conn_read(k, deadline, out, err, errlen);
    return st;
}

/* Sends a set-up command (AUTH, SELECT) and turns an error reply into a
 * message naming the setting to fix. */
static lore_status setup_cmd(redis_conn *k, int64_t deadline, int argc, const char *const *argv,
                             const char *what, char *err, size_t errlen) {
    redis_reply *r = NULL;
    lore_status st = redis_conn_call(k, deadline, argc, argv, NULL, &r, err, errlen);
    if (st == LORE_OK && r->type == REDIS_ERROR) {
        char text[200];
        redis_safe_text(text, sizeof text, r->str, r->len);
        snprintf(err, errlen, "Redis refused %s: %s", what, text);
        st = LORE_INVALID;
    }
    redis_reply_free(r);
    return st;
}

lore_status redis_conn_open(const redis_client *c, redis_conn **out, char *err, size_t errlen) {
    *out = NULL;
    int64_t deadline = redis_mono_ms() + c->timeout_ms;
    redis_conn *k = calloc(1, sizeof *k);
    if (!k) return LORE_NOMEM;
    lore_status st;
    k->fd = tcp_connect(c, deadline, &st, err, errlen);
    if (k->fd < 0) goto fail;
    set_timeouts(k->fd, c->timeout_ms);
    if (c->t.tls && (st = tls_start(c, k, deadline, err, errlen)) != LORE_OK) goto fail;
    set_timeouts(k->fd, c->timeout_ms);
    if (c->t.password[0]) {
        const char *user_argv[] = {"AUTH", c->t.user, c->t.password};
        const char *pass_argv[] = {"AUTH", c->t.password};
        st = c->t.user[0]
                 ? setup_cmd(k, deadline, 3, user_argv,
                             "AUTH (check the user and password in redis_url)", err, errlen)
                 : setup_cmd(k, deadline, 2, pass_argv, "AUTH (check the password in redis_url)",
                             err, errlen);
        if (st != LORE_OK) goto fail;
    }
    if (c->t.db) {
        char db[24];
        snprintf(db, sizeof db, "%lld", (long long)c->t.db);
        const char *argv[] = {"SELECT", db};
        st = setup_cmd(k, deadline, 2, argv, "SELECT (check the database number in redis_url)", err,
                       errlen);
        if (st != LORE_OK) goto fail;
    }
    *out = k;
    return LORE_OK;
fail:
    redis_conn_close(k);
    return st;
}
