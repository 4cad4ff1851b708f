/* Settings: defaults, file, environment and flags in order; unknown keys and
 * bad values refused with a message naming them; secrets masked. */
#include <stdlib.h>

#include "config/config.h"
#include "test.h"

typedef struct seen {
    char master[64];
    char origin_dir[16];
} seen;

static void grab(void *ctx, const char *key, const char *value, const char *origin,
                 const char *help) {
    seen *s = ctx;
    (void)help;
    if (!strcmp(key, "master_key")) snprintf(s->master, sizeof s->master, "%s", value);
    if (!strcmp(key, "data_dir")) snprintf(s->origin_dir, sizeof s->origin_dir, "%s", origin);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

int main(void) {
    lore_config c;
    char err[512];
    unsetenv("LORE_CONFIG");
    CHECK_INT(config_load(&c, NULL, err, sizeof err), LORE_OK);
    CHECK_STR(c.data_dir, "./lore-data");
    CHECK_STR(c.tenant, "default");
    CHECK(c.bm25_k1 > 1.19 && c.bm25_k1 < 1.21);
    CHECK_INT(config_validate(&c, err, sizeof err), LORE_OK);

    const char *dir = test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/lore.conf", dir);
    write_file(path, "# comment\n\ndata_dir = \"/srv/lore\"\ntenant=acme\nbm25_k1 = 1.5\n"
                     "master_key = 'sekrit'\n");
    CHECK_INT(config_load(&c, path, err, sizeof err), LORE_OK);
    CHECK_STR(c.data_dir, "/srv/lore");
    CHECK_STR(c.tenant, "acme");
    seen s = {0};
    config_each(&c, grab, &s);
    CHECK_STR(s.master, "********");
    CHECK_STR(s.origin_dir, "file");

    /* environment beats the file, flags beat the environment */
    setenv("LORE_DATA_DIR", "/env/dir", 1);
    CHECK_INT(config_load(&c, path, err, sizeof err), LORE_OK);
    CHECK_STR(c.data_dir, "/env/dir");
    CHECK_INT(config_set(&c, "data_dir", "/flag/dir", CONFIG_FLAG, err, sizeof err), LORE_OK);
    CHECK_STR(c.data_dir, "/flag/dir");
    unsetenv("LORE_DATA_DIR");

    /* errors name the key and the place */
    write_file(path, "data_dir = /x\ncolour = blue\n");
    CHECK_INT(config_load(&c, path, err, sizeof err), LORE_INVALID);
    CHECK(strstr(err, ":2: unknown setting 'colour'") != NULL);
    write_file(path, "bm25_b = 3\n");
    CHECK_INT(config_load(&c, path, err, sizeof err), LORE_INVALID);
    CHECK(strstr(err, "bm25_b") && strstr(err, "outside"));
    write_file(path, "title_weight = two\n");
    CHECK_INT(config_load(&c, path, err, sizeof err), LORE_INVALID);
    CHECK(strstr(err, "not an integer") != NULL);
    write_file(path, "no equals sign\n");
    CHECK_INT(config_load(&c, path, err, sizeof err), LORE_INVALID);
    CHECK(strstr(err, "key = value") != NULL);
    CHECK_INT(config_load(&c, "/nonexistent/lore.conf", err, sizeof err), LORE_IO);

    setenv("LORE_DATADIR", "/typo", 1);
    CHECK_INT(config_load(&c, NULL, err, sizeof err), LORE_INVALID);
    CHECK(strstr(err, "LORE_DATADIR") != NULL);
    unsetenv("LORE_DATADIR");
    setenv("LORE_LOG_LEVEL", "loud", 1);
    CHECK_INT(config_load(&c, NULL, err, sizeof err), LORE_INVALID);
    unsetenv("LORE_LOG_LEVEL");

    /* cross-key rules */
    CHECK_INT(config_load(&c, NULL, err, sizeof err), LORE_OK);
    CHECK_INT(config_set(&c, "chunk_target_tokens", "600", CONFIG_FLAG, err, sizeof err), LORE_OK);
    CHECK_INT(config_validate(&c, err, sizeof err), LORE_INVALID);
    CHECK_INT(config_load(&c, NULL, err, sizeof err), LORE_OK);
    CHECK_INT(config_set(&c, "mode", "production", CONFIG_FLAG, err, sizeof err), LORE_OK);
    CHECK_INT(config_validate(&c, err, sizeof err), LORE_INVALID);
    CHECK(strstr(err, "master_key") != NULL);
    CHECK_INT(config_set(&c, "mode", "staging", CONFIG_FLAG, err, sizeof err), LORE_INVALID);
    test_rmtree(dir);
    return test_summary();
}
