/* Reading a provider's answers: the strict parser of a 200 answer, the
 * provider's message from an error body, and redaction of the API key from
 * anything that becomes a message. See embed_int.h. */
#include "embed/embed_int.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embed/embed.h"

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), LORE_CORRUPT)

static lore_status read_usage(json_t *root, embed_answer_usage *u, char *err, size_t errlen) {
    json_t *usage = json_object_get(root, "usage");
    if (!usage || json_is_null(usage)) return LORE_OK;
    if (!json_is_object(usage)) return ERR("answer's \"usage\" is not an object");
    json_t *p = json_object_get(usage, "prompt_tokens"),
           *t = json_object_get(usage, "total_tokens");
    if ((p && !json_is_integer(p)) || (t && !json_is_integer(t)))
        return ERR("answer's usage tokens are not integers");
    if (p && json_integer_value(p) > 0) u->prompt_tokens += (uint64_t)json_integer_value(p);
    if (t && json_integer_value(t) > 0) u->total_tokens += (uint64_t)json_integer_value(t);
    return LORE_OK;
}

/* Which slot item i of data fills: its "index", or i when none has one. */
static lore_status item_slot(json_t *item, size_t i, size_t n, int *indexed, uint8_t *seen,
                             size_t *slot, char *err, size_t errlen) {
    json_t *ix = json_object_get(item, "index");
    int has = ix != NULL;
    if (*indexed < 0) *indexed = has;
    if (has != *indexed)
        return ERR("answer's data[%zu] %s \"index\" unlike data[0]", i,
                   has ? "has an" : "lacks an");
    if (!has) {
        *slot = i;
        return LORE_OK;
    }
    if (!json_is_integer(ix)) return ERR("answer's data[%zu].index is not an integer", i);
    json_int_t v = json_integer_value(ix);
    if (v < 0 || (uint64_t)v >= n)
        return ERR("answer's data[%zu].index %lld is outside 0..%zu", i, (long long)v, n - 1);
    if (seen[v]) return ERR("answer's data[%zu].index %lld appears twice", i, (long long)v);
    seen[v] = 1;
    *slot = (size_t)v;
    return LORE_OK;
}

static lore_status read_vector(json_t *emb, size_t i, uint32_t dims, float *dst, char *err,
                               size_t errlen) {
    if (json_is_string(emb))
        return ERR("answer's data[%zu].embedding is a string (base64?), not an array of numbers",
                   i);
    if (!json_is_array(emb)) return ERR("answer's data[%zu].embedding is not an array", i);
    if (json_array_size(emb) != dims)
        return ERR("wrong dimension: answer's data[%zu].embedding has %zu numbers, expected %u "
                   "(check embed_dimensions and embed_model)",
                   i, json_array_size(emb), dims);
    for (size_t k = 0; k < dims; k++) {
        json_t *x = json_array_get(emb, k);
        if (!json_is_number(x))
            return ERR("answer's data[%zu].embedding[%zu] is not a number", i, k);
        double d = json_number_value(x);
        if (!isfinite(d) || fabs(d) > 3.0e38)
            return ERR("answer's data[%zu].embedding[%zu] is not a finite float", i, k);
        dst[k] = (float)d;
    }
    return LORE_OK;
}

static lore_status read_data(json_t *data, size_t n, uint32_t *dims, float **out, char *err,
                             size_t errlen) {
    if (!json_is_array(data)) return ERR("answer has no \"data\" array");
    if (json_array_size(data) != n)
        return ERR("count mismatch: answer has %zu embeddings for %zu inputs",
                   json_array_size(data), n);
    json_t *first = json_object_get(json_array_get(data, 0), "embedding");
    if (!*dims && json_is_array(first)) {
        size_t d = json_array_size(first);
        if (d == 0 || d > EMBED_MAX_DIMENSIONS)
            return ERR("answer's embeddings have %zu numbers (1..%d expected)", d,
                       EMBED_MAX_DIMENSIONS);
        *dims = (uint32_t)d;
    }
    if (!*dims) return ERR("answer's data[0].embedding is not an array of numbers");
    float *vec = malloc(n * *dims * sizeof *vec);
    uint8_t *seen = calloc(n, 1);
    lore_status st = vec && seen ? LORE_OK : LORE_NOMEM;
    if (st != LORE_OK) snprintf(err, errlen, "out of memory");
    int indexed = -1;
    for (size_t i = 0; st == LORE_OK && i < n; i++) {
        json_t *item = json_array_get(data, i);
        size_t slot = 0;
        if (!json_is_object(item))
            st = ERR("answer's data[%zu] is not an object", i);
        else if ((st = item_slot(item, i, n, &indexed, seen, &slot, err, errlen)) == LORE_OK)
            st = read_vector(json_object_get(item, "embedding"), i, *dims, vec + slot * *dims, err,
                             errlen);
    }
    free(seen);
    if (st != LORE_OK) {
        free(vec);
        return st;
    }
    *out = vec;
    return LORE_OK;
}

lore_status embed_parse_answer(const char *body, size_t len, size_t n, uint32_t *dims, float **out,
                               embed_answer_usage *usage, char *err, size_t errlen) {
    *out = NULL;
    if (n == 0) return ERR("no inputs");
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) return ERR("answer is not JSON (%s at byte %d)", je.text, je.position);
    lore_status st = LORE_OK;
    if (!json_is_object(root)) st = ERR("answer is not a JSON object");
    embed_answer_usage u = {0, 0};
    if (st == LORE_OK) st = read_usage(root, &u, err, errlen);
    uint32_t d = *dims;
    if (st == LORE_OK) st = read_data(json_object_get(root, "data"), n, &d, out, err, errlen);
    json_decref(root);
    if (st == LORE_OK) {
        *dims = d;
        if (usage) {
            usage->prompt_tokens += u.prompt_tokens;
            usage->total_tokens += u.total_tokens;
        }
    }
    return st;
}

/* ---- error bodies and redaction ---- */

static void printable(const char *s, size_t len, char *out, size_t outlen) {
    size_t o = 0, cap = outlen < 201 ? outlen : 201;
    for (size_t i = 0; i < len && o + 1 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : ' ';
    }
    if (outlen) out[o] = '\0';
}

void embed_error_body(const char *body, size_t len, char *out, size_t outlen) {
    if (outlen) out[0] = '\0';
    json_t *root = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    const char *msg = NULL;
    if (json_is_object(root)) {
        json_t *e = json_object_get(root, "error");
        if (json_is_object(e)) msg = json_string_value(json_object_get(e, "message"));
        if (!msg) msg = json_string_value(e);
        if (!msg) msg = json_string_value(json_object_get(root, "message"));
        if (!msg) msg = json_string_value(json_object_get(root, "detail"));
    }
    if (msg)
        printable(msg, strlen(msg), out, outlen);
    else if (body)
        printable(body, len, out, outlen);
    json_decref(root);
}

void embed_redact(char *s, size_t size, const char *secret) {
    size_t sl = secret ? strlen(secret) : 0;
    if (!sl || !size) return;
    static const char mark[] = "[redacted]";
    size_t probe = sl < 8 ? sl : 8; /* "sk-abcde***" echoes of a key's start go too */
    char *p = s, *hit;
    while ((hit = memmem(p, strlen(p), secret, probe)) != NULL) {
        size_t run = strncmp(hit, secret, sl) ? strcspn(hit, " \t\"',") : sl;
        size_t rest = strlen(hit + run), ml = sizeof mark - 1;
        if ((size_t)(hit - s) + ml + rest + 1 > size) { /* no room: cut the message here */
            *hit = '\0';
            return;
        }
        memmove(hit + ml, hit + run, rest + 1);
        memcpy(hit, mark, ml);
        p = hit + ml;
    }
}
