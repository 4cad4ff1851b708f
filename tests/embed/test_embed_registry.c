/* The embedder registry: model keys split into their parts (and malformed
 * ones refused), the configured embedder found by its own key, embedders for
 * other keys opened once with the key's URL, model and dimensions and the
 * configured rest (the API key only on embed_url's host), and the cap on how
 * many it opens. Only key_stays_on_its_host contacts a provider: a socket of
 * its own that answers 400. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "embed/embed_registry.h"
#include "test.h"

static void split(void) {
    char url[64], model[64];
    int64_t dims = -1;
    CHECK_INT(embed_key_split("http://h:1/v1|m|384", url, sizeof url, model, sizeof model, &dims),
              0);
    CHECK_STR(url, "http://h:1/v1");
    CHECK_STR(model, "m");
    CHECK_INT(dims, 384);
    CHECK_INT(embed_key_split("http://h|a|b|native", url, sizeof url, model, sizeof model, &dims),
              0);
    CHECK_STR(model, "a|b");
    CHECK_INT(dims, 0);
    static const char *const bad[] = {"",
                                      "http://h",
                                      "http://h|m",
                                      "|m|3",
                                      "http://h||3",
                                      "http://h|m|",
                                      "http://h|m|x",
                                      "http://h|m|0",
                                      "http://h|m|-4",
                                      "http://h|m|99999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(embed_key_split(bad[i], url, sizeof url, model, sizeof model, &dims), -1);
    char small[4];
    CHECK_INT(embed_key_split("http://h|m|3", small, sizeof small, model, sizeof model, &dims), -1);
}

static void registry(void) {
    embed_settings s = {.url = "http://127.0.0.1:9/v1",
                        .model = "m1",
                        .api_key = "sk-test",
                        .dimensions = 16,
                        .batch = 8,
                        .concurrency = 1,
                        .timeout_s = 5,
                        .max_input_tokens = 512};
    embedder *e = NULL;
    char err[512] = "";
    CHECK_INT(embed_openai_ops.open(&s, &e, err, sizeof err), LORE_OK);
    embed_registry *r = NULL;
    CHECK_INT(embed_registry_wrap(e, &s, &r), LORE_OK);
    CHECK(embed_registry_configured(r) == e);
    const char *own = e->ops->model_key(e);
    CHECK(embed_registry_for_key(r, own, err, sizeof err) == e);

    embedder *o = embed_registry_for_key(r, "http://127.0.0.1:9/v1|m2|8", err, sizeof err);
    CHECK(o != NULL && o != e);
    if (o) {
        CHECK_STR(o->ops->model_key(o), "http://127.0.0.1:9/v1|m2|8");
        CHECK_INT(o->ops->dimensions(o), 8);
    }
    CHECK(embed_registry_for_key(r, "http://127.0.0.1:9/v1|m2|8", err, sizeof err) == o);
    embedder *nat = embed_registry_for_key(r, "http://127.0.0.1:9/v1|m3|native", err, sizeof err);
    CHECK(nat != NULL);
    if (nat) CHECK_INT(nat->ops->dimensions(nat), 0);

    err[0] = '\0';
    CHECK(embed_registry_for_key(r, "no separators", err, sizeof err) == NULL);
    CHECK(strstr(err, "malformed") != NULL);
    /* A key whose URL the provider refuses: the provider's own message. */
    err[0] = '\0';
    CHECK(embed_registry_for_key(r, "ftp://h|m|8", err, sizeof err) == NULL);
    CHECK(strstr(err, "embed_url") != NULL);

    CHECK(embed_registry_for_key(r, "http://h|m4|8", err, sizeof err) != NULL);
    CHECK(embed_registry_for_key(r, "http://h|m5|8", err, sizeof err) != NULL);
    err[0] = '\0';
    CHECK(embed_registry_for_key(r, "http://h|m6|8", err, sizeof err) == NULL); /* 4 others */
    CHECK(strstr(err, "more than") != NULL);
    CHECK(embed_registry_for_key(r, "http://127.0.0.1:9/v1|m2|8", err, sizeof err) == o);
    embed_registry_free(r);
    embed_registry_free(NULL);
}

/* A provider that answers one request 400 and keeps its head. */
typedef struct capture {
    int fd;
    char head[8192];
} capture;

static void *capture_one(void *arg) {
    capture *c = arg;
    int k = accept(c->fd, NULL, NULL);
    if (k < 0) return NULL;
    size_t n = 0;
    while (n + 1 < sizeof c->head) {
        ssize_t r = read(k, c->head + n, sizeof c->head - 1 - n);
        if (r <= 0) break;
        n += (size_t)r;
        c->head[n] = '\0';
        if (strstr(c->head, "\r\n\r\n")) break;
    }
    static const char resp[] = "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                               "Content-Length: 2\r\nConnection: close\r\n\r\n{}";
    if (write(k, resp, sizeof resp - 1) < 0) { /* the test sees no answer */
    }
    close(k);
    return NULL;
}

/* The head of the one request e makes to the capture server on fd. */
static void request_head(embedder *e, int fd, char *out, size_t outlen) {
    capture c = {.fd = fd};
    pthread_t th;
    CHECK_INT(pthread_create(&th, NULL, capture_one, &c), 0);
    const char *text = "otter";
    size_t len = 5;
    float *vec = NULL;
    uint32_t dims = 0;
    embed_error ee = {0};
    CHECK(e->ops->embed(e, &text, &len, 1, &vec, &dims, NULL, &ee) != LORE_OK);
    free(vec);
    pthread_join(th, NULL);
    snprintf(out, outlen, "%s", c.head);
}

/* The configured API key goes to models on embed_url's host only: a model
 * the settings moved away from (another host, during a switch) never gets
 * the new provider's secret. */
static void key_stays_on_its_host(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    CHECK_INT(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    CHECK_INT(listen(fd, 4), 0);
    CHECK_INT(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    int port = ntohs(a.sin_port);
    char url[64], same[128], other[128], head[8192];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", port);
    embed_settings s = {.url = url,
                        .model = "m1",
                        .api_key = "sk-secret-of-embed-url",
                        .dimensions = 8,
                        .batch = 8,
                        .concurrency = 1,
                        .timeout_s = 5,
                        .max_input_tokens = 512};
    embedder *e = NULL;
    char err[512] = "";
    CHECK_INT(embed_openai_ops.open(&s, &e, err, sizeof err), LORE_OK);
    embed_registry *r = NULL;
    CHECK_INT(embed_registry_wrap(e, &s, &r), LORE_OK);
    snprintf(same, sizeof same, "http://127.0.0.1:%d/v1|m2|8", port);
    snprintf(other, sizeof other, "http://localhost:%d/v1|m2|8",
             port); /* same server, other host */
    embedder *o = embed_registry_for_key(r, same, err, sizeof err);
    CHECK(o != NULL);
    if (o) {
        request_head(o, fd, head, sizeof head);
        CHECK(strstr(head, "Bearer sk-secret-of-embed-url") != NULL);
    }
    o = embed_registry_for_key(r, other, err, sizeof err);
    CHECK(o != NULL);
    if (o) {
        request_head(o, fd, head, sizeof head);
        CHECK(strstr(head, "POST ") == head);
        CHECK(strstr(head, "sk-secret") == NULL);
        CHECK(strcasestr(head, "Authorization") == NULL);
    }
    embed_registry_free(r);
    close(fd);
}

int main(void) {
    split();
    registry();
    key_stays_on_its_host();
    return test_summary();
}
