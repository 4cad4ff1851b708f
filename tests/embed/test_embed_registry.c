/* The embedder registry: model keys split into their parts (and malformed
 * ones refused), the configured embedder found by its own key, embedders for
 * other keys opened once with the key's URL, model and dimensions and the
 * configured rest, and the cap on how many it opens. Nothing here contacts a
 * provider (opening does not). */
#include <string.h>

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

int main(void) {
    split();
    registry();
    return test_summary();
}
