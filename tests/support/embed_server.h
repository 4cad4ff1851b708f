/* The test embedding model (tests/embed/server.mjs: USE-Lite over the
 * OpenAI protocol) as a child process of a test: installed by
 * tests/embed/setup.sh next to the lore binary under test, started on a
 * free port, driven through its /control route. Needs LORE_TEST_SOURCE_DIR
 * and LORE_TEST_BIN (set by ctest). */
#ifndef LORE_TESTS_SUPPORT_EMBED_SERVER_H
#define LORE_TESTS_SUPPORT_EMBED_SERVER_H

#include <stdint.h>
#include <sys/types.h>

typedef struct embed_server {
    pid_t pid;
    int port;
    char url[128]; /* http://127.0.0.1:PORT/v1 */
} embed_server;

/* 0 when the server listens; -1 (with a message on stderr) otherwise. */
int embed_server_start(embed_server *s);
void embed_server_stop(embed_server *s);
/* POSTs a JSON body to /control (fault injection); 0 on HTTP 200. */
int embed_server_control(const embed_server *s, const char *json);

/* A counter of the server's GET /stats (requests, inputs, ...); -1 on error. */
long long embed_server_stat(const embed_server *s, const char *name);

struct tenant_ctx;
struct embed_registry;

/* Embeds every chunk of the tenant after *cursor (title + "\n\n" + text,
 * as the embed jobs do) with the registry's configured embedder and adds
 * the vectors through the context's handle for its model key, in one
 * transaction; moves *cursor to the last chunk id. 0 on success, -1 with a
 * message on stderr. Until the embedding pipeline lands, tests fill the
 * vector index this way. */
int embed_server_fill(struct tenant_ctx *tc, struct embed_registry *reg, int64_t *cursor);

#endif
