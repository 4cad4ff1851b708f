/* The data directory as one absolute path, and the store_url that
 * defaults to it; see config.h. */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"

/* An absolute path being built from components. climb: how many of its
 * last components a ".." may still remove: those of a physical base (a
 * working directory or a realpath), never one the user wrote, which could
 * be a symbolic link. */
typedef struct path_build {
    char *s;
    size_t len, cap, climb;
} path_build;

static int add_components(path_build *p, const char *path, int physical) {
    const char *c = path;
    while (*c) {
        while (*c == '/')
            c++;
        size_t n = strcspn(c, "/");
        if (!n) break;
        int dot = n == 1 && c[0] == '.', dotdot = n == 2 && c[0] == '.' && c[1] == '.';
        if (dot) {
            c += n;
            continue;
        }
        if (dotdot && !physical && !p->len) { /* /.. is / */
            c += n;
            continue;
        }
        if (dotdot && !physical && p->climb > 0) {
            while (p->len > 0 && p->s[p->len - 1] != '/')
                p->len--;
            if (p->len > 0) p->len--; /* the slash before it */
            p->s[p->len] = '\0';
            p->climb--;
            c += n;
            continue;
        }
        if (p->len + 1 + n >= p->cap) return -1;
        p->s[p->len++] = '/';
        memcpy(p->s + p->len, c, n);
        p->len += n;
        p->s[p->len] = '\0';
        p->climb = physical ? p->climb + 1 : 0;
        c += n;
    }
    return 0;
}

/* The per-user default into out: $XDG_DATA_HOME/lore, else
 * $HOME/.local/share/lore (HOME from the password database when unset). */
static lore_status user_default(char *out, size_t outlen, char *err, size_t errlen) {
    const char *xdg = getenv("XDG_DATA_HOME");
    if (xdg && xdg[0] == '/') {
        if ((size_t)snprintf(out, outlen, "%s/lore", xdg) >= outlen) goto long_path;
        return LORE_OK;
    }
    const char *home = getenv("HOME");
    struct passwd pw, *found = NULL;
    char buf[4096]; /* pw's strings live here: in scope while home is used */
    if (!home || home[0] != '/') {
        if (getpwuid_r(getuid(), &pw, buf, sizeof buf, &found) == 0 && found && pw.pw_dir &&
            pw.pw_dir[0] == '/')
            home = pw.pw_dir;
        else
            home = NULL;
    }
    if (!home) {
        snprintf(err, errlen,
                 "no data directory: data_dir is not set and no home directory is known "
                 "(HOME, XDG_DATA_HOME); set LORE_DATA_DIR to an absolute path");
        return LORE_INVALID;
    }
    if ((size_t)snprintf(out, outlen, "%s/.local/share/lore", home) >= outlen) goto long_path;
    return LORE_OK;
long_path:
    snprintf(err, errlen, "the default data directory is longer than %zu bytes; set LORE_DATA_DIR",
             outlen - 1);
    return LORE_TOO_LARGE;
}

/* The physical directory a relative data_dir is taken from into base. */
static lore_status relative_base(const lore_config *c, config_origin from, char *base,
                                 size_t baselen, char *err, size_t errlen) {
    if (from == CONFIG_FILE && c->file[0]) {
        char *real = realpath(c->file, NULL);
        if (!real) {
            snprintf(err, errlen,
                     "%s: data_dir '%s' is relative and the file's directory cannot be "
                     "resolved (%s); write an absolute path",
                     c->file, c->data_dir, strerror(errno));
            return LORE_IO;
        }
        char *slash = strrchr(real, '/');
        if (slash == real) slash++; /* the file is in / */
        *slash = '\0';
        int fits = strlen(real) < baselen;
        if (fits) memcpy(base, real, strlen(real) + 1);
        free(real);
        if (!fits) goto long_path;
        return LORE_OK;
    }
    if (!getcwd(base, baselen)) {
        if (errno == ERANGE) goto long_path;
        snprintf(err, errlen,
                 "data_dir '%s' is relative and the working directory is unknown (%s); set "
                 "LORE_DATA_DIR to an absolute path",
                 c->data_dir, strerror(errno));
        return LORE_IO;
    }
    return LORE_OK;
long_path:
    snprintf(err, errlen, "data_dir: the directory '%.100s' is relative to is too long",
             c->data_dir);
    return LORE_TOO_LARGE;
}

const char *config_store_url_dir(const char *url) {
    if (!strncmp(url, "sqlite:", 7)) return url + 7;
    const char *colon = strchr(url, ':'), *slash = strchr(url, '/');
    if (colon && colon > url && (!slash || colon < slash)) return NULL; /* another scheme */
    return url;
}

/* store_url = sqlite:DIR (or DIR) names the data directory: data_dir takes
 * DIR (resolved by the same rules, from where store_url was set) unless it
 * was set too. */
static lore_status store_url_to_data_dir(lore_config *c, char *err, size_t errlen) {
    const char *dir = config_store_url_dir(c->store_url);
    if (!c->store_url[0] || !dir) return LORE_OK;
    config_origin from = config_origin_of(c, "store_url");
    if (from == CONFIG_DEFAULT || !strcmp(dir, c->data_dir)) return LORE_OK; /* resolved before */
    if (config_origin_of(c, "data_dir") != CONFIG_DEFAULT) {
        snprintf(err, errlen,
                 "store_url '%s' and data_dir are both set: a sqlite store_url names the data "
                 "directory, so set only one of them",
                 c->store_url);
        return LORE_INVALID;
    }
    if (!*dir) {
        snprintf(err, errlen, "store_url '%s' names no directory (sqlite:DIR)", c->store_url);
        return LORE_INVALID;
    }
    char copy[sizeof c->store_url];
    snprintf(copy, sizeof copy, "%s", dir);
    return config_set(c, "data_dir", copy, from, err, errlen);
}

static lore_status resolve_dir(lore_config *c, char *err, size_t errlen) {
    config_origin from = config_origin_of(c, "data_dir");
    char given[sizeof c->data_dir], base[PATH_MAX];
    lore_status st;
    if (!c->data_dir[0]) {
        if (from != CONFIG_DEFAULT) {
            snprintf(err, errlen, "data_dir is empty");
            return LORE_INVALID;
        }
        if ((st = user_default(given, sizeof given, err, errlen)) != LORE_OK) return st;
    } else {
        memcpy(given, c->data_dir, sizeof given);
    }
    char out[sizeof c->data_dir];
    path_build p = {out, 0, sizeof out, 0};
    out[0] = '\0';
    if (given[0] != '/') {
        if ((st = relative_base(c, from, base, sizeof base, err, errlen)) != LORE_OK) return st;
        if (add_components(&p, base, 1)) goto long_path;
    }
    if (add_components(&p, given, 0)) goto long_path;
    if (!p.len) memcpy(out, "/", 2);
    memcpy(c->data_dir, out, strlen(out) + 1);
    return LORE_OK;
long_path:
    snprintf(err, errlen, "data_dir: the absolute path is longer than %zu bytes ('%.100s...')",
             sizeof c->data_dir - 1, given);
    return LORE_TOO_LARGE;
}

lore_status config_resolve_data_dir(lore_config *c, char *err, size_t errlen) {
    lore_status st = store_url_to_data_dir(c, err, errlen);
    if (st != LORE_OK) return st;
    st = resolve_dir(c, err, errlen);
    if (st != LORE_OK) return st;
    /* The default store, or the one named by a sqlite store_url: the data
     * directory, as an absolute path. */
    if (!c->store_url[0] || config_store_url_dir(c->store_url))
        snprintf(c->store_url, sizeof c->store_url, "sqlite:%s", c->data_dir);
    return LORE_OK;
}

void config_data_dir_source(const lore_config *c, char *out, size_t outlen) {
    switch (config_origin_of(c, "data_dir")) {
    case CONFIG_FLAG:
        snprintf(out, outlen, "set by --data-dir");
        break;
    case CONFIG_ENV:
        snprintf(out, outlen, "set by LORE_DATA_DIR");
        break;
    case CONFIG_FILE:
        snprintf(out, outlen, "set by data_dir in %s", c->file);
        break;
    default: {
        const char *xdg = getenv("XDG_DATA_HOME");
        snprintf(out, outlen, "the default data directory, %s",
                 xdg && xdg[0] == '/' ? "$XDG_DATA_HOME/lore" : "~/.local/share/lore");
    }
    }
}
