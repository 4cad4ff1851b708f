/* See embed_server.h. */
#include "support/embed_server.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int embed_server_start(embed_server *s) {
    memset(s, 0, sizeof *s);
    const char *src = getenv("LORE_TEST_SOURCE_DIR"), *bin = getenv("LORE_TEST_BIN");
    if (!src || !bin) {
        fprintf(stderr, "LORE_TEST_SOURCE_DIR and LORE_TEST_BIN must be set (run under ctest)\n");
        return -1;
    }
    char dir[2048], cmd[4500];
    snprintf(dir, sizeof dir, "%s", bin);
    char *slash = strrchr(dir, '/');
    snprintf(slash ? slash : dir, sizeof dir - (size_t)(slash ? slash - dir : 0), "/embed-node");
    snprintf(cmd, sizeof cmd, "bash '%s/tests/embed/setup.sh' '%s'", src, dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot install the test model (tests/embed/setup.sh)\n");
        return -1;
    }
    int fd[2];
    if (pipe(fd)) return -1;
    s->pid = fork();
    if (s->pid < 0) return -1;
    if (s->pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        if (chdir(dir)) _exit(127);
        execlp("node", "node", "server.mjs", "0", (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    char line[128] = "";
    if (!f || !fgets(line, sizeof line, f) || sscanf(line, "port %d", &s->port) != 1) {
        fprintf(stderr, "the embedding server did not start (%s)\n", line);
        if (f) fclose(f);
        embed_server_stop(s);
        return -1;
    }
    fclose(f);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d/v1", s->port);
    return 0;
}

void embed_server_stop(embed_server *s) {
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
    }
    s->pid = 0;
}

static size_t discard(char *p, size_t size, size_t nmemb, void *ud) {
    (void)p;
    (void)ud;
    return size * nmemb;
}

int embed_server_control(const embed_server *s, const char *json) {
    char url[160];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/control", s->port);
    CURL *h = curl_easy_init();
    if (!h) return -1;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    long code = 0;
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    return rc == CURLE_OK && code == 200 ? 0 : -1;
}
