/* Settings: defaults, file, environment and flags in order; unknown keys and
 * bad values refused with a message naming them; secrets masked. */
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Resolves the data directory of a fresh config with LORE_DATA_DIR=env (NULL:
 * unset) and returns it; *st gets the status. */
static const char *resolve(const char *file, const char *env, lore_status *st) {
    static lore_config c;
    char err[512];
    if (env)
        setenv("LORE_DATA_DIR", env, 1);
    else
        unsetenv("LORE_DATA_DIR");
    *st = config_load(&c, file, err, sizeof err);
    if (*st == LORE_OK) *st = config_resolve_data_dir(&c, err, sizeof err);
    unsetenv("LORE_DATA_DIR");
    return c.data_dir;
}

/* The data directory: one absolute path, whatever was given. */
static void test_data_dir(const char *dir) {
    lore_status st;
    char want[1024], path[600], cwd[512];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    setenv("HOME", "/home/ana", 1);
    unsetenv("XDG_DATA_HOME");
    CHECK_STR(resolve(NULL, NULL, &st), "/home/ana/.local/share/lore");
    CHECK_INT(st, LORE_OK);
    setenv("XDG_DATA_HOME", "relative/is/ignored", 1);
    CHECK_STR(resolve(NULL, NULL, &st), "/home/ana/.local/share/lore");
    setenv("XDG_DATA_HOME", "/xdg//data/", 1);
    CHECK_STR(resolve(NULL, NULL, &st), "/xdg/data/lore");
    unsetenv("XDG_DATA_HOME");

    /* explicit paths are cleaned; a leading .. climbs the working directory */
    CHECK_STR(resolve(NULL, "/srv//lore/./data/", &st), "/srv/lore/data");
    CHECK_STR(resolve(NULL, "/", &st), "/");
    CHECK_STR(resolve(NULL, "/srv/a/../b", &st), "/srv/a/../b"); /* a may be a link */
    CHECK(chdir(dir) == 0);
    char real[512];
    CHECK(realpath(".", real) != NULL);
    snprintf(want, sizeof want, "%s/lore-data", real);
    CHECK_STR(resolve(NULL, "./lore-data", &st), want);
    CHECK_STR(resolve(NULL, "lore-data/", &st), want);
    snprintf(path, sizeof path, "%s", real);
    *strrchr(path, '/') = '\0';
    snprintf(want, sizeof want, "%s/x", path);
    CHECK_STR(resolve(NULL, "../x", &st), want);
    snprintf(want, sizeof want, "%s/x/../y", real);
    CHECK_STR(resolve(NULL, "x/../y", &st), want);
    CHECK_STR(resolve(NULL, "../../../../../../../../../../../../../../../../../..", &st), "/");

    /* relative in a config file: from the file's directory, not the cwd */
    snprintf(path, sizeof path, "%s/sub", dir);
    CHECK(mkdir(path, 0700) == 0);
    snprintf(path, sizeof path, "%s/sub/lore.conf", dir);
    write_file(path, "data_dir = data\n");
    CHECK(chdir("/") == 0);
    snprintf(want, sizeof want, "%s/sub/data", real);
    CHECK_STR(resolve(path, NULL, &st), want);
    /* ...unless the environment overrides it, which is from the cwd */
    CHECK_STR(resolve(path, "data", &st), "/data");
    CHECK(chdir(cwd) == 0);

    /* idempotent */
    lore_config c;
    char err[512];
    CHECK_INT(config_load(&c, NULL, err, sizeof err), LORE_OK);
    CHECK_INT(config_resolve_data_dir(&c, err, sizeof err), LORE_OK);
    CHECK_INT(config_resolve_data_dir(&c, err, sizeof err), LORE_OK);
    CHECK_STR(c.data_dir, "/home/ana/.local/share/lore");
    char src[256];
    config_data_dir_source(&c, src, sizeof src);
    CHECK(strstr(src, "default") && strstr(src, "~/.local/share/lore"));
    CHECK_INT(config_set(&c, "data_dir", "rel", CONFIG_FLAG, err, sizeof err), LORE_OK);
    config_data_dir_source(&c, src, sizeof src);
    CHECK_STR(src, "set by --data-dir");

    /* a path past the field's size is refused, not cut */
    char longp[1100];
    memset(longp, 'a', sizeof longp - 1);
    longp[0] = '/';
    longp[sizeof longp - 1] = '\0';
    longp[1010] = '\0'; /* fits the field, not with the cwd before it */
    CHECK_INT(config_load(&c, NULL, err, sizeof err), LORE_OK);
    CHECK_INT(config_set(&c, "data_dir", longp + 1, CONFIG_FLAG, err, sizeof err), LORE_OK);
    CHECK(chdir(dir) == 0);
    CHECK_INT(config_resolve_data_dir(&c, err, sizeof err), LORE_TOO_LARGE);
    CHECK(strstr(err, "longer than") != NULL);
    CHECK(chdir(cwd) == 0);
    CHECK_INT(config_set(&c, "data_dir", "", CONFIG_FLAG, err, sizeof err), LORE_INVALID);
}

int main(void) {
    lore_config c;
    char err[512];
    unsetenv("LORE_CONFIG");
    CHECK_INT(config_load(&c, NULL, err, sizeof err), LORE_OK);
    CHECK_STR(c.data_dir, ""); /* the per-user default, picked by config_resolve_data_dir */
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
    test_data_dir(dir);
    test_rmtree(dir);
    return test_summary();
}
