/* Fuzzes the request path end to end: raw bytes go over a loopback socket
 * into the real server (libmicrohttpd, lore's transport limits, router,
 * authentication, body handling, JSON and multipart parsing, the handlers
 * and the store), started once in this process on a fresh data directory.
 *
 * The string "$KEY" in an input is replaced by a valid admin key, so inputs
 * can get past authentication; the seed corpus holds valid requests of
 * every route. Invariants: the server answers with an HTTP status line or
 * closes the connection, never crashes or trips a sanitizer, and still
 * answers a health probe afterwards (checked every 64 inputs). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api.h"
#include "auth/apikey.h"
#include "http/http.h"
#include "store/store.h"
#include "util/log.h"

static char dir[64];
static api *app_state;
static http_server *srv;
static uint16_t port;
static char key[APIKEY_LEN + 1];

static void cleanup(void) {
    http_server_free(srv);
    api_free(app_state);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

static void die(const char *what) {
    fprintf(stderr, "fuzz_http_request setup: %s\n", what);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    lore_log_set_level(LORE_LOG_OFF);
    snprintf(dir, sizeof dir, "/tmp/lore-fuzz-http-XXXXXX");
    if (!mkdtemp(dir)) die("mkdtemp");
    lore_config cfg;
    char err[512];
    if (config_load(&cfg, NULL, err, sizeof err) != LORE_OK) die(err);
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", dir);
    cfg.access_log = 0;
    cfg.rate_read_per_min = cfg.rate_write_per_min = cfg.rate_admin_per_min = 0;
    cfg.rate_anon_per_min = 0;
    cfg.max_upload_mb = 2;
    cfg.max_wait_s = 0; /* no worker runs here: a wait would only time out */
    store *s = NULL;
    if (store_open(dir, STORE_OPEN_CREATE, &s, err, sizeof err) != LORE_OK) die(err);
    store_key *k = NULL;
    if (store_tenant_create(s, "default") != LORE_OK ||
        apikey_create(s, "default", "fuzz",
                      AUTH_SCOPE_READ | AUTH_SCOPE_WRITE | AUTH_SCOPE_ADMIN | AUTH_SCOPE_SERVER,
                      NULL, 0, 0, key, &k) != LORE_OK)
        die("tenant or key");
    store_key_free(k);
    store_close(s);
    if (api_new(&cfg, NULL, &app_state, err, sizeof err) != LORE_OK) die(err);
    http_config hc;
    http_config_default(&hc);
    hc.port = 0;
    hc.threads = 2;
    hc.header_timeout_s = 2;
    hc.idle_timeout_s = 2;
    /* Every input is a new connection from 127.0.0.1, hundreds a second, and
     * one that waits for more of its request lingers until a timeout: the
     * per-address cap (tested in test_api_hostile) would refuse the probe. */
    hc.max_connections_per_ip = 0;
    http_app app;
    api_http_app(app_state, &app);
    if (http_server_start(&hc, &app, &srv, err, sizeof err) != LORE_OK) die(err);
    port = http_server_port(srv);
    atexit(cleanup);
    return 0;
}

static int connect_server(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a)) die("connect");
    return fd;
}

/* Whether buf holds one whole answer: headers, and as many body bytes as
 * its Content-Length says (none for 1xx, 204 and 304). The server keeps
 * connections open after answering, so the reader must know when to stop. */
static int answer_complete(const char *buf, size_t got) {
    const char *end = strstr(buf, "\r\n\r\n");
    if (!end) return 0;
    size_t head = (size_t)(end - buf) + 4;
    const char *cl = strcasestr(buf, "\r\nContent-Length:");
    if (!cl || cl > end) return 1;
    size_t len = (size_t)strtoull(cl + 17, NULL, 10);
    return got >= head + len;
}

/* Sends req, half-closes, reads one answer (or until the server closes, or
 * nothing comes for wait_ms: an incomplete request is never answered, and a
 * short wait keeps the fuzzer fast); returns bytes read into buf. */
static size_t exchange(const char *req, size_t len, char *buf, size_t cap, int wait_ms) {
    int fd = connect_server();
    for (size_t off = 0; off < len;) {
        ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (w <= 0) break; /* the server may close early (413, 431) */
        off += (size_t)w;
    }
    shutdown(fd, SHUT_WR);
    size_t got = 0;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, wait_ms) <= 0) break;
        ssize_t n = recv(fd, buf + got, cap - 1 - got, 0);
        if (n <= 0) break;
        got += (size_t)n;
        buf[got] = '\0';
        if (got == cap - 1 || answer_complete(buf, got)) break;
    }
    buf[got] = '\0';
    close(fd);
    return got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static unsigned runs;
    if (size > 256 * 1024) return 0;
    /* Replace $KEY with the admin key. */
    char *req = malloc(size * 16 + 64);
    size_t n = 0;
    for (size_t i = 0; i < size; i++) {
        if (i + 4 <= size && !memcmp(data + i, "$KEY", 4)) {
            memcpy(req + n, key, APIKEY_LEN);
            n += APIKEY_LEN;
            i += 3;
        } else {
            req[n++] = (char)data[i];
        }
    }
    static char buf[1 << 16];
    size_t got = exchange(req, n, buf, sizeof buf, 50);
    free(req);
    if (got && strncmp(buf, "HTTP/1.", 7)) {
        fprintf(stderr, "answer does not start with a status line: %.80s\n", buf);
        abort();
    }
    if (++runs % 64 == 0) {
        static const char probe[] = "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n";
        got = exchange(probe, sizeof probe - 1, buf, sizeof buf, 5000);
        if (got < 12 || strncmp(buf + 9, "200", 3)) {
            fprintf(stderr, "server stopped answering the health probe: %.80s\n", buf);
            abort();
        }
    }
    return 0;
}
