/* The sink connectors apply deliveries through (connector.h): object
 * states in the tenant's key-value space (namespace STORE_NS_CONNECTOR) and
 * documents through the ingest session, all in the session's open batch,
 * so a delivery's state and the documents rendered from it commit together.
 *
 * State keys are stored as source "\0" key: two instances with the same
 * source share objects (the Slack export import and the live connector),
 * two sources never do. Values are compact JSON text. */
#include "connectors/connector.h"

#include <stdlib.h>
#include <string.h>

#include "util/strmap.h"

/* Each source object's state (store.h's allocation gives connectors 11, and
 * 50-59 for more). The number is in stored data: never change it. */
enum { STORE_NS_CONNECTOR = 11 };
_Static_assert(STORE_NS_CONNECTOR == STORE_NS_CONNECTOR_FIRST,
               "connectors' namespace is store.h's 11");

struct connector_sink {
    ingest_session *ss;
    const connector_instance *inst;
    strmap touched; /* keys to render at the next flush, in first-touch order */
    lore_buf key;   /* scratch: the stored key */
};

lore_status connector_sink_new(ingest_session *ss, const connector_instance *inst,
                               connector_sink **out) {
    *out = NULL;
    connector_sink *s = calloc(1, sizeof *s);
    if (!s) return LORE_NOMEM;
    s->ss = ss;
    s->inst = inst;
    strmap_init(&s->touched);
    lore_buf_init(&s->key, CONNECTOR_SOURCE_MAX + 1 + CONNECTOR_STATE_KEY_MAX + 1);
    *out = s;
    return LORE_OK;
}

void connector_sink_free(connector_sink *s) {
    if (!s) return;
    strmap_free(&s->touched);
    lore_buf_free(&s->key);
    free(s);
}

const connector_instance *connector_sink_instance(const connector_sink *s) {
    return s->inst;
}

size_t connector_sink_pending(const connector_sink *s) {
    return s->touched.count;
}

/* The stored key of an object: source "\0" key. */
static lore_status stored_key(connector_sink *s, const char *key) {
    size_t n = strlen(key);
    if (!n || n > CONNECTOR_STATE_KEY_MAX) return LORE_INVALID;
    lore_buf_reset(&s->key);
    lore_status st = lore_buf_append(&s->key, s->inst->source, strlen(s->inst->source) + 1);
    if (st == LORE_OK) st = lore_buf_append(&s->key, key, n);
    return st;
}

static lore_status batch_tenant(connector_sink *s, store_tenant **t) {
    return ingest_batch_tenant(s->ss, t);
}

lore_status connector_state_get(connector_sink *s, const char *key, json_t **out) {
    *out = NULL;
    store_tenant *t;
    lore_status st = stored_key(s, key);
    if (st == LORE_OK) st = batch_tenant(s, &t);
    if (st != LORE_OK) return st;
    lore_buf val;
    lore_buf_init(&val, CONNECTOR_STATE_MAX);
    st = store_kv_get(t, STORE_NS_CONNECTOR, s->key.data, s->key.len, &val);
    if (st == LORE_OK) {
        json_error_t jerr;
        *out = json_loadb(val.data, val.len, 0, &jerr);
        if (!*out) st = LORE_CORRUPT;
    }
    lore_buf_free(&val);
    return st;
}

lore_status connector_state_put(connector_sink *s, const char *key, const json_t *state) {
    store_tenant *t;
    lore_status st = stored_key(s, key);
    if (st == LORE_OK) st = batch_tenant(s, &t);
    if (st != LORE_OK) return st;
    char *text = json_dumps(state, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text) return LORE_NOMEM;
    size_t n = strlen(text);
    if (n > CONNECTOR_STATE_MAX)
        st = LORE_TOO_LARGE;
    else
        st = store_kv_put(t, STORE_NS_CONNECTOR, s->key.data, s->key.len, text, n);
    free(text);
    return st;
}

lore_status connector_state_delete(connector_sink *s, const char *key) {
    store_tenant *t;
    lore_status st = stored_key(s, key);
    if (st == LORE_OK) st = batch_tenant(s, &t);
    if (st != LORE_OK) return st;
    st = store_kv_delete(t, STORE_NS_CONNECTOR, s->key.data, s->key.len);
    return st == LORE_NOT_FOUND ? LORE_OK : st;
}

typedef struct scan_ctx {
    size_t skip; /* bytes of source "\0" before the connector's key */
    connector_state_fn fn;
    void *ctx;
    lore_status st;
    char *key; /* scratch, CONNECTOR_STATE_KEY_MAX + 1 */
} scan_ctx;

static int scan_one(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen) {
    scan_ctx *c = ctx;
    size_t n = klen - c->skip;
    if (klen < c->skip || n > CONNECTOR_STATE_KEY_MAX) {
        c->st = LORE_CORRUPT;
        return 1;
    }
    memcpy(c->key, key + c->skip, n);
    c->key[n] = 0;
    json_error_t jerr;
    json_t *state = json_loadb((const char *)val, vlen, 0, &jerr);
    if (!state) {
        c->st = LORE_CORRUPT;
        return 1;
    }
    int stop = c->fn(c->ctx, c->key, state);
    json_decref(state);
    return stop;
}

lore_status connector_state_scan(connector_sink *s, const char *prefix, connector_state_fn fn,
                                 void *ctx) {
    store_tenant *t;
    size_t plen = strlen(prefix), slen = strlen(s->inst->source) + 1;
    if (plen > CONNECTOR_STATE_KEY_MAX) return LORE_INVALID;
    lore_status st = batch_tenant(s, &t);
    if (st != LORE_OK) return st;
    /* [source "\0" prefix, the same with its last byte raised): every key
     * that starts with the prefix. An empty prefix ends at source "\1". */
    size_t n = slen + plen;
    uint8_t *lo = malloc(n), *hi = malloc(n);
    char *key = malloc(CONNECTOR_STATE_KEY_MAX + 1);
    if (!lo || !hi || !key) {
        free(lo);
        free(hi);
        free(key);
        return LORE_NOMEM;
    }
    memcpy(lo, s->inst->source, slen);
    memcpy(lo + slen, prefix, plen);
    memcpy(hi, lo, n);
    size_t hlen = n;
    while (hlen > slen - 1 && hi[hlen - 1] == 0xff)
        hlen--; /* a prefix ending in 0xff bytes: raise the byte before them */
    hi[hlen - 1]++;
    scan_ctx c = {slen, fn, ctx, LORE_OK, key};
    st = store_kv_scan(t, STORE_NS_CONNECTOR, lo, n, hi, hlen, scan_one, &c);
    free(lo);
    free(hi);
    free(key);
    return st != LORE_OK ? st : c.st;
}

lore_status connector_touch(connector_sink *s, const char *key) {
    size_t n = strlen(key);
    if (!n || n > CONNECTOR_STATE_KEY_MAX) return LORE_INVALID;
    uint32_t id;
    int added;
    return strmap_intern(&s->touched, key, n, &id, &added);
}

lore_status connector_put(connector_sink *s, const ingest_record *r) {
    ingest_record rec = *r;
    rec.source = s->inst->source;
    if (!rec.nacl) {
        rec.acl = s->inst->acl;
        rec.nacl = s->inst->nacl;
    }
    ingest_outcome out;
    return ingest_record_put(s->ss, &rec, &out);
}

lore_status connector_remove(connector_sink *s, const char *external_id) {
    char id[STORE_DOC_ID_LEN + 1];
    store_doc_public_id(s->inst->source, external_id, id);
    lore_status st = ingest_delete(s->ss, id);
    return st == LORE_NOT_FOUND ? LORE_OK : st;
}

lore_status connector_sink_flush(connector_sink *s, const connector_ops *ops) {
    lore_status st = LORE_OK;
    char *key = malloc(CONNECTOR_STATE_KEY_MAX + 1);
    if (!key) return LORE_NOMEM;
    for (uint32_t i = 0; st == LORE_OK && i < s->touched.count; i++) {
        uint32_t n;
        const char *k = strmap_key(&s->touched, i, &n);
        memcpy(key, k, n);
        key[n] = 0;
        st = ops->render(s, key);
    }
    free(key);
    if (st == LORE_OK) strmap_clear(&s->touched);
    return st;
}
