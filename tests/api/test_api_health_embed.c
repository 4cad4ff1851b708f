/* /health/ready while embedding lags (api_health.c): it needs no key, so its
 * degraded reason sums the lagging tenants and names none of them, and it
 * never shows the provider's API key. The provider here is a closed port:
 * every write's chunks stay in the pending set. */
#include "api/api_int.h"
#include "api/api_test.h"

#define TENANT "zq-private-tenant"
#define API_KEY "sk-health-test-0123456789abcdef"

int main(void) {
    curl_global_init(CURL_GLOBAL_ALL);
    test_server s;
    /* Port 9 (discard) on loopback: nothing listens, the call fails at once. */
    const char *env[] = {"LORE_RATE_ANON_PER_MIN=0",
                         "LORE_EMBED_URL=http://127.0.0.1:9/v1",
                         "LORE_EMBED_MODEL=m",
                         "LORE_EMBED_API_KEY=" API_KEY,
                         "LORE_EMBED_TIMEOUT_S=1",
                         "LORE_EMBED_BACKLOG_DEGRADED_S=1",
                         NULL};
    if (test_server_start(&s, NULL, env)) return 1;
    char tkey[96];
    CHECK_INT(test_make_tenant(&s, TENANT, tkey, sizeof tkey), 0);
    for (int i = 0; i < 2; i++) {
        char body[160];
        snprintf(body, sizeof body, "{\"id\":\"d%d\",\"title\":\"T\",\"text\":\"otter number %d\"}",
                 i, i);
        test_resp r = test_post_json(&s, "/v1/documents?wait=10", i ? tkey : s.admin_key, body);
        CHECK_INT(r.status, 200);
        test_resp_free(&r);
    }
    /* Past embed_backlog_degraded_s and the 5 s backlog cache. */
    char body[4096] = "";
    for (int i = 0; i < 120; i++) {
        test_resp r = test_get(&s, "/health/ready", NULL);
        CHECK_INT(r.status, 200);
        snprintf(body, sizeof body, "%s", r.body ? r.body : "");
        test_resp_free(&r);
        if (strstr(body, "wait for embeddings") && strstr(body, "2 tenants")) break;
        test_sleep_ms(250);
    }
    CHECK(strstr(body, "\"degraded\"") != NULL);
    CHECK(strstr(body, "in 2 tenants wait for embeddings") != NULL);
    CHECK(strstr(body, "lore_embed_pending_chunks") != NULL);
    CHECK(strstr(body, TENANT) == NULL);
    CHECK(strstr(body, "default") == NULL);
    CHECK(strstr(body, API_KEY) == NULL);
    if (test_failed) fprintf(stderr, "health: %s\n", body);
    CHECK_INT(test_server_stop(&s, SIGTERM), 0);
    return test_summary();
}
