/* Secrets at rest: the keyring from the configuration, the dev-mode
 * master.key file, and settings given as `secret:NAME` (secrets.h).
 *
 * master.key (dev mode without master_key only): 64 lower-case hex digits
 * (32 bytes from RAND_bytes) and a newline, mode 0600, in the data
 * directory. It is written to a temporary file and linked into place, so two
 * processes starting at once agree on one key (the second link fails with
 * EEXIST and that process reads the winner's file), and a reader never sees
 * a half-written key. Production mode never reads or writes it. */
#include "secrets/secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/sha256.h"
#include "util/dirutil.h"
#include "util/log.h"

#define MASTER_FILE "master.key"
#define MASTER_FILE_MAX 1024 /* bytes of master.key read at most */
#define SECRET_PREFIX "secret:"

/* Reads an existing master.key into key (size bytes). LORE_NOT_FOUND if
 * there is none. */
static lore_status read_master_file(const char *path, char *key, size_t size, char *err,
                                    size_t errlen) {
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return LORE_NOT_FOUND;
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return LORE_IO;
    }
    struct stat sb;
    lore_status st = LORE_INVALID;
    ssize_t n = -1;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
    } else if (sb.st_mode & 077) {
        snprintf(err, errlen,
                 "%s: readable by other users (mode %03o); it holds the key that seals secrets: "
                 "chmod 600 it",
                 path, (unsigned)(sb.st_mode & 0777));
    } else if ((n = read(fd, key, size - 1)) < 0) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        st = LORE_IO;
    } else {
        key[n] = '\0';
        while (n > 0 && (key[n - 1] == '\n' || key[n - 1] == '\r' || key[n - 1] == ' '))
            key[--n] = '\0';
        if ((size_t)n < SEAL_MIN_MASTER || strlen(key) != (size_t)n)
            snprintf(err, errlen, "%s: not a master key (expected 64 hex digits)", path);
        else
            st = LORE_OK;
    }
    close(fd);
    return st;
}

/* Makes a new master.key unless one appeared meanwhile (LORE_EXISTS). */
static lore_status create_master_file(const char *dir, const char *path, char *err, size_t errlen) {
    uint8_t raw[32];
    char hex[sizeof raw * 2 + 2];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        snprintf(err, errlen, "cannot make a master key: no random bytes");
        return LORE_INTERNAL;
    }
    lore_hex(raw, sizeof raw, hex);
    OPENSSL_cleanse(raw, sizeof raw);
    strcat(hex, "\n");
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s/.%s.%ld.tmp", dir, MASTER_FILE, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno == EEXIST && unlink(tmp) == 0) /* left by a crashed process */
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    lore_status st = LORE_IO;
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
        goto out;
    }
    size_t len = strlen(hex);
    int ok = write(fd, hex, len) == (ssize_t)len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok) {
        snprintf(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
    } else if (link(tmp, path) != 0) {
        if (errno == EEXIST)
            st = LORE_EXISTS;
        else
            snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
    } else {
        st = LORE_OK;
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd); /* the new name survives a crash */
            close(dfd);
        }
    }
    unlink(tmp);
out:
    OPENSSL_cleanse(hex, sizeof hex);
    return st;
}

/* The dev-mode master key: DATA_DIR/master.key, made on first use. */
static lore_status dev_master(const lore_config *cfg, char *key, size_t size, char *err,
                              size_t errlen) {
    char path[4200];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", cfg->data_dir, MASTER_FILE) >= sizeof path) {
        snprintf(err, errlen, "data directory path too long for %s", MASTER_FILE);
        return LORE_TOO_LARGE;
    }
    lore_status st = read_master_file(path, key, size, err, errlen);
    if (st != LORE_NOT_FOUND) return st;
    /* With a PostgreSQL store the data directory may not exist yet. */
    if (lore_mkdir_p(cfg->data_dir)) {
        snprintf(err, errlen, "cannot create %s: %s", cfg->data_dir, strerror(errno));
        return LORE_IO;
    }
    st = create_master_file(cfg->data_dir, path, err, errlen);
    if (st == LORE_OK)
        LORE_WARN("dev mode: made a new master key in %s (set master_key in production; "
                  "see docs/secrets.md)",
                  path);
    if (st != LORE_OK && st != LORE_EXISTS) return st;
    return read_master_file(path, key, size, err, errlen);
}

lore_status secrets_keyring(const lore_config *cfg, seal_keyring **out, char *err, size_t errlen) {
    *out = NULL;
    if (!strncmp(cfg->master_key, SECRET_PREFIX, strlen(SECRET_PREFIX)) ||
        !strncmp(cfg->master_key_previous, SECRET_PREFIX, strlen(SECRET_PREFIX))) {
        snprintf(err, errlen,
                 "master_key and master_key_previous cannot come from the secret store (they "
                 "open it): give the key itself");
        return LORE_INVALID;
    }
    if (cfg->master_key[0])
        return seal_keyring_new(cfg->master_key, cfg->master_key_previous, out, err, errlen);
    if (!strcmp(cfg->mode, "production")) {
        snprintf(err, errlen,
                 "production mode needs master_key (LORE_MASTER_KEY, at least %d characters)",
                 SEAL_MIN_MASTER);
        return LORE_INVALID;
    }
    char key[MASTER_FILE_MAX + 1];
    lore_status st = dev_master(cfg, key, sizeof key, err, errlen);
    if (st == LORE_OK) st = seal_keyring_new(key, cfg->master_key_previous, out, err, errlen);
    OPENSSL_cleanse(key, sizeof key);
    return st;
}

typedef struct resolve_ctx {
    const seal_keyring *k;
    store *s;
    char *err;
    size_t errlen;
} resolve_ctx;

static lore_status resolve_one(void *ctx, const char *key, char *value, size_t size) {
    resolve_ctx *c = ctx;
    size_t plen = strlen(SECRET_PREFIX);
    if (strncmp(value, SECRET_PREFIX, plen)) return LORE_OK;
    if (!strcmp(key, "master_key") || !strcmp(key, "master_key_previous")) {
        snprintf(c->err, c->errlen, "%s cannot come from the secret store (it opens it)", key);
        return LORE_INVALID;
    }
    char name[SECRET_NAME_MAX + 1];
    snprintf(name, sizeof name, "%s", value + plen);
    lore_buf v;
    lore_buf_init(&v, SECRET_VALUE_MAX);
    char why[512] = "";
    lore_status st = secrets_get(c->k, c->s, "", name, &v, why, sizeof why);
    if (st == LORE_NOT_FOUND)
        snprintf(c->err, c->errlen,
                 "%s = secret:%s: the server has no secret '%s' (set it with: lore secrets set %s "
                 "--server)",
                 key, name, name, name);
    else if (st != LORE_OK)
        snprintf(c->err, c->errlen, "%s = secret:%s: %s", key, name,
                 why[0] ? why : lore_status_message(st));
    else if (v.len >= size || memchr(v.data, '\0', v.len)) {
        snprintf(c->err, c->errlen,
                 "%s = secret:%s: the secret does not fit the setting (at most %zu bytes, no NUL)",
                 key, name, size - 1);
        st = LORE_INVALID;
    } else {
        memcpy(value, v.data, v.len + 1);
    }
    if (v.data) OPENSSL_cleanse(v.data, v.alloc);
    lore_buf_free(&v);
    return st;
}

lore_status secrets_resolve_config(const seal_keyring *k, store *s, lore_config *cfg, char *err,
                                   size_t errlen) {
    resolve_ctx c = {k, s, err, errlen};
    return config_each_secret(cfg, resolve_one, &c);
}

static lore_status needs_one(void *ctx, const char *key, char *value, size_t size) {
    (void)key;
    (void)size;
    if (!strncmp(value, SECRET_PREFIX, strlen(SECRET_PREFIX))) *(int *)ctx = 1;
    return LORE_OK;
}

int secrets_config_needs_store(const lore_config *cfg) {
    int need = 0;
    /* config_each_secret only reads here; the cast lends it the buffers. */
    lore_status st = config_each_secret((lore_config *)(uintptr_t)cfg, needs_one, &need);
    return st == LORE_OK && need;
}
