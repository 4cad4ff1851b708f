/* The store contract's checks of what callers hand a backend (store.h's
 * limits and formats), the public job id and the enqueue policy: shared by
 * every backend, so SQLite and PostgreSQL refuse exactly the same records
 * and queue exactly the same jobs. */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "crypto/sha256.h"
#include "store/store_backend.h"

static int text_ok(const char *s, size_t max, int may_be_empty) {
    if (!s) return 0;
    size_t n = strnlen(s, max + 1);
    return n <= max && (n > 0 || may_be_empty);
}

int store_secret_tenant_ok(const char *tenant) {
    return tenant && (!*tenant || store_tenant_name_valid(tenant));
}

lore_status store_secret_check_ref(const char *tenant, const char *name) {
    return store_secret_tenant_ok(tenant) && text_ok(name, STORE_SECRET_NAME_MAX, 0) ? LORE_OK
                                                                                     : LORE_INVALID;
}

lore_status store_secret_check_value(const char *key_id, const uint8_t *sealed, size_t len) {
    return text_ok(key_id, STORE_SECRET_KEY_ID_MAX, 0) && sealed && len > 0 &&
                   len <= STORE_SECRET_SEALED_MAX
               ? LORE_OK
               : LORE_INVALID;
}

int store_is_lower_hex(const char *s, size_t want) {
    size_t i = 0;
    for (; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return i == want;
}

lore_status store_key_check(const store_key *k) {
    if (!store_is_lower_hex(k->id, STORE_KEY_ID_LEN) || !store_is_lower_hex(k->hash, 64) ||
        !store_tenant_name_valid(k->tenant) || k->created_ms < 0 || k->expires_ms < 0 ||
        k->revoked_ms < 0 || (k->nprincipals && !k->principals))
        return LORE_INVALID;
    for (size_t i = 0; i < k->nprincipals; i++)
        if (!k->principals[i] || !*k->principals[i] || strchr(k->principals[i], '\n'))
            return LORE_INVALID;
    return LORE_OK;
}

int store_connector_id_valid(const char *id) {
    size_t n = 0;
    for (; id[n]; n++)
        if (!((id[n] >= 'a' && id[n] <= 'z') || (id[n] >= '0' && id[n] <= '9') || id[n] == '_'))
            return 0;
    return n >= 1 && n <= STORE_CONNECTOR_ID_MAX;
}

lore_status store_connector_check(const store_connector *c) {
    if (!store_connector_id_valid(c->id) || !store_tenant_name_valid(c->tenant) || !c->kind[0] ||
        !c->source[0] || c->created_ms < 0 || (c->nacl && !c->acl))
        return LORE_INVALID;
    for (size_t i = 0; i < c->nacl; i++)
        if (!c->acl[i] || !*c->acl[i] || strchr(c->acl[i], '\n')) return LORE_INVALID;
    return LORE_OK;
}

int store_job_valid(const store_job *j) {
    if (!store_tenant_name_valid(j->tenant) || !j->kind[0] || j->max_attempts < 1) return 0;
    if (j->dedup_key && (!*j->dedup_key || strlen(j->dedup_key) > STORE_JOB_DEDUP_MAX)) return 0;
    if (j->ngroups && !j->groups) return 0;
    for (size_t i = 0; i < j->ngroups; i++)
        if (!j->groups[i] || !*j->groups[i] || strlen(j->groups[i]) > STORE_JOB_GROUP_MAX ||
            strchr(j->groups[i], '\n'))
            return 0;
    if (j->blob && (!*j->blob || strchr(j->blob, '/') || j->blob[0] == '.')) return 0;
    return 1;
}

/* A fresh public id: "job_" and 96 random bits in hex. */
lore_status store_job_new_pub(char out[STORE_JOB_PUB_LEN + 1]) {
    uint8_t r[12];
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = getrandom(r + got, sizeof r - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return LORE_IO;
        got += (size_t)n;
    }
    size_t k = strlen(STORE_JOB_PUB_PREFIX);
    memcpy(out, STORE_JOB_PUB_PREFIX, k);
    lore_hex(r, sizeof r, out + k);
    return LORE_OK;
}

/* One job of a request: the backend's own check, then a pending job with
 * the same dedup key makes it a duplicate (nothing added), then the caps,
 * counting every job of the request still to add (adding), so a request is
 * refused whole rather than half queued. */
static lore_status enqueue_one(const store_enqueue_ops *ops, void *ctx, store_job *job,
                               const store_enqueue_caps *caps, size_t adding,
                               store_enqueue_outcome *outcome) {
    int found = 0;
    int64_t n = 0;
    lore_status st;
    if (ops->check && (st = ops->check(ctx, job)) != LORE_OK) return st;
    if (job->dedup_key && (st = ops->find_dedup(ctx, job, &found)) != LORE_OK) return st;
    if (found) {
        *outcome = STORE_ENQUEUE_DUPLICATE;
        return LORE_OK;
    }
    if (caps->max_tenant > 0) {
        if ((st = ops->pending(ctx, job->tenant, &n)) != LORE_OK) return st;
        if (n + (int64_t)adding > caps->max_tenant) {
            *outcome = STORE_ENQUEUE_TENANT_FULL;
            return LORE_OK;
        }
    }
    if (caps->max_total > 0) {
        if ((st = ops->pending(ctx, NULL, &n)) != LORE_OK) return st;
        if (n + (int64_t)adding > caps->max_total) {
            *outcome = STORE_ENQUEUE_QUEUE_FULL;
            return LORE_OK;
        }
    }
    return ops->insert(ctx, job, caps->now_ms);
}

lore_status store_enqueue_apply(const store_enqueue_ops *ops, void *ctx, store_job *jobs, size_t n,
                                const store_enqueue_caps *caps, store_enqueue_outcome *outcome) {
    lore_status st = LORE_OK;
    store_enqueue_outcome worst = STORE_ENQUEUED;
    for (size_t i = 0; i < n && st == LORE_OK; i++) {
        store_enqueue_outcome o = STORE_ENQUEUED;
        st = enqueue_one(ops, ctx, &jobs[i], caps, i == 0 ? n : 1, &o);
        if (store_enqueue_refused(o)) {
            worst = o;
            break;
        }
        if (o == STORE_ENQUEUE_DUPLICATE) worst = o;
    }
    *outcome = worst;
    return st;
}

int store_enqueue_refused(store_enqueue_outcome o) {
    return o == STORE_ENQUEUE_TENANT_FULL || o == STORE_ENQUEUE_QUEUE_FULL;
}
