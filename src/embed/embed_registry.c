/* The embedders of a process, by model key; see embed_registry.h. */
#include "embed/embed_registry.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/log.h"

typedef struct other_embedder {
    char *key;
    embedder *e;
} other_embedder;

struct embed_registry {
    embedder *configured;
    embed_settings settings; /* strings below are copies owned here */
    char *url, *model, *api_key;
    pthread_mutex_t lock;
    other_embedder others[EMBED_REGISTRY_MAX_OTHERS];
    size_t nothers;
};

static char *dup_or_empty(const char *s) {
    return strdup(s ? s : "");
}

lore_status embed_registry_wrap(embedder *configured, const embed_settings *s,
                                embed_registry **out) {
    *out = NULL;
    embed_registry *r = calloc(1, sizeof *r);
    if (!r) return LORE_NOMEM;
    r->settings = *s;
    r->url = dup_or_empty(s->url), r->model = dup_or_empty(s->model);
    r->api_key = dup_or_empty(s->api_key);
    if (!r->url || !r->model || !r->api_key) {
        free(r->url), free(r->model), free(r->api_key), free(r);
        return LORE_NOMEM;
    }
    r->settings.url = r->url, r->settings.model = r->model, r->settings.api_key = r->api_key;
    pthread_mutex_init(&r->lock, NULL);
    r->configured = configured;
    *out = r;
    return LORE_OK;
}

lore_status embed_registry_open(const lore_config *c, embed_registry **out, char *err,
                                size_t errlen) {
    *out = NULL;
    embedder *e = NULL;
    lore_status st = embed_open_config(c, &e, err, errlen);
    if (st != LORE_OK || !e) return st;
    embed_settings s;
    embed_settings_from_config(c, &s);
    if ((st = embed_registry_wrap(e, &s, out)) != LORE_OK) embed_close(e);
    return st;
}

void embed_registry_free(embed_registry *r) {
    if (!r) return;
    for (size_t i = 0; i < r->nothers; i++) {
        embed_close(r->others[i].e);
        free(r->others[i].key);
    }
    embed_close(r->configured);
    if (r->api_key) memset(r->api_key, 0, strlen(r->api_key));
    free(r->url), free(r->model), free(r->api_key);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

embedder *embed_registry_configured(embed_registry *r) {
    return r->configured;
}

int embed_key_split(const char *key, char *url, size_t urllen, char *model, size_t modellen,
                    int64_t *dims) {
    if (!key) return -1;
    const char *a = strchr(key, '|'), *b = strrchr(key, '|');
    if (!a || a == b || a == key || b == a + 1 || !b[1]) return -1;
    size_t ul = (size_t)(a - key), ml = (size_t)(b - a - 1);
    if (ul >= urllen || ml >= modellen) return -1;
    memcpy(url, key, ul), url[ul] = '\0';
    memcpy(model, a + 1, ml), model[ml] = '\0';
    if (!strcmp(b + 1, "native")) {
        *dims = 0;
        return 0;
    }
    char *end;
    errno = 0;
    long long d = strtoll(b + 1, &end, 10);
    if (errno || *end || d <= 0 || d > EMBED_MAX_DIMENSIONS) return -1;
    *dims = d;
    return 0;
}

/* 1 when url (a model key's: "scheme://host[:port]/path") reaches the same
 * scheme, host and port as the configured embed_url. The API key is the
 * configured provider's secret: a model on another host (the provider the
 * settings moved away from) must never be sent it. */
static int same_origin(const char *url, const char *configured) {
    const char *a = strstr(url, "://"), *b = strstr(configured, "://");
    if (!a || !b || a - url != b - configured || strncasecmp(url, configured, (size_t)(a - url)))
        return 0;
    char ha[512], hb[512];
    embed_url_host(url, ha, sizeof ha);
    embed_url_host(configured, hb, sizeof hb);
    return !strcasecmp(ha, hb);
}

embedder *embed_registry_for_key(embed_registry *r, const char *key, char *err, size_t errlen) {
    if (!strcmp(key, r->configured->ops->model_key(r->configured))) return r->configured;
    embedder *found = NULL;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->nothers && !found; i++)
        if (!strcmp(r->others[i].key, key)) found = r->others[i].e;
    if (found) goto out;
    char url[1024], model[256];
    int64_t dims;
    if (embed_key_split(key, url, sizeof url, model, sizeof model, &dims) != 0) {
        snprintf(err, errlen, "the vector slot's model key \"%.200s\" is malformed", key);
        goto out;
    }
    if (r->nothers == EMBED_REGISTRY_MAX_OTHERS) {
        snprintf(err, errlen, "more than %d embedding models are in use at once",
                 EMBED_REGISTRY_MAX_OTHERS);
        goto out;
    }
    embed_settings s = r->settings;
    s.url = url, s.model = model, s.dimensions = dims;
    if (s.api_key && *s.api_key && !same_origin(url, r->url)) {
        s.api_key = NULL;
        LORE_WARN("embedding model %s at %s: not the host of embed_url, so its requests carry no "
                  "embed_api_key (that key is for embed_url's provider); finish the switch with "
                  "lore reembed",
                  model, url);
    }
    embedder *e = NULL;
    if (r->configured->ops->open(&s, &e, err, errlen) != LORE_OK) goto out;
    char *k = strdup(key);
    if (!k) {
        embed_close(e);
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    r->others[r->nothers].key = k, r->others[r->nothers].e = e;
    r->nothers++;
    found = e;
out:
    pthread_mutex_unlock(&r->lock);
    return found;
}
