/* Ingest sessions: documents -> chunks -> index + store, in batches.
 * See ingest.h for the contract. A batch is one store transaction; the
 * lexical index writes its segment into the same transaction at commit. */
#include "ingest/ingest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/sha256.h"
#include "ingest/ingest_int.h"
#include "util/log.h"

#define problem(s, ...) ingest_report(s, 1, __VA_ARGS__)
#define note(s, ...) ingest_report(s, 0, __VA_ARGS__)

void ingest_options_default(ingest_options *o) {
    memset(o, 0, sizeof *o);
    o->source = "files";
    parse_limits_default(&o->limits);
    chunk_options_default(&o->chunking);
    o->batch_docs = 20000;
    o->batch_bytes = 64u << 20;
}

lore_status ingest_session_new(tenant_ctx *ctx, const ingest_options *opt, ingest_session **out) {
    *out = NULL;
    ingest_session *s = calloc(1, sizeof *s);
    if (!s) return LORE_NOMEM;
    s->t = ctx->store;
    s->ctx = ctx;
    s->lex = ctx->index.lexical.ops;
    s->lex_state = ctx->index.lexical.state;
    s->opt = *opt;
    if (!s->opt.source) s->opt.source = "files";
    if (!s->opt.batch_docs) s->opt.batch_docs = 20000;
    if (!s->opt.batch_bytes) s->opt.batch_bytes = 64u << 20;
    *out = s;
    return LORE_OK;
}

void ingest_set_source_acl(ingest_session *s, const char *source, const char *const *acl,
                           size_t nacl) {
    s->opt.source = source ? source : "files";
    s->opt.acl = acl;
    s->opt.nacl = nacl;
}

const ingest_stats *ingest_session_stats(const ingest_session *s) {
    return &s->stats;
}

void ingest_report(ingest_session *s, int is_error, const char *path, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (s->opt.on_problem)
        s->opt.on_problem(s->opt.cb_ctx, path, msg, is_error);
    else if (is_error)
        LORE_WARN("%s: %s", path, msg);
    else
        LORE_INFO("%s: %s", path, msg);
}

static void rollback(ingest_session *s) {
    if (!s->in_batch) return;
    s->lex->abort(s->lex_state);
    ingest_embed_abort(s);
    store_rollback(s->t);
    s->in_batch = 0;
}

void ingest_rollback(ingest_session *s) {
    rollback(s);
}

lore_status ingest_open_batch(ingest_session *s) {
    if (s->in_batch) return LORE_OK;
    lore_status st = store_begin(s->t);
    if (st != LORE_OK) return st;
    if ((st = s->lex->begin(s->lex_state)) != LORE_OK) {
        store_rollback(s->t);
        return st;
    }
    s->in_batch = 1;
    s->batch_docs = s->batch_bytes = 0;
    ingest_embed_batch_reset(s);
    return LORE_OK;
}

lore_status ingest_batch_tenant(ingest_session *s, store_tenant **out) {
    lore_status st = ingest_open_batch(s);
    *out = st == LORE_OK ? s->t : NULL;
    return st;
}

lore_status ingest_commit(ingest_session *s) {
    if (!s->in_batch) return LORE_OK;
    lore_status st = ingest_embed_before_commit(s);
    if (st == LORE_OK) st = s->lex->flush(s->lex_state);
    if (st == LORE_OK) st = store_commit(s->t);
    if (st != LORE_OK) {
        LORE_ERROR("commit failed: %s (%s); the last batch of %zu documents was rolled back",
                   lore_status_message(st), store_tenant_errmsg(s->t), s->batch_docs);
        rollback(s);
        return st;
    }
    s->in_batch = 0;
    return LORE_OK;
}

static void hash_field(lore_sha256_ctx *h, const char *s, size_t n) {
    /* Length-prefixed, so field boundaries cannot be forged by content. */
    char len[24];
    int l = snprintf(len, sizeof len, "%zu:", n);
    lore_sha256_update(h, len, (size_t)l);
    if (n) lore_sha256_update(h, s, n);
}

static void hash_str(lore_sha256_ctx *h, const char *s) {
    hash_field(h, s ? s : "", s ? strlen(s) : 0);
}

static lore_status content_hash(const store_doc *d, char out[65]) {
    lore_sha256_ctx *h = lore_sha256_new();
    if (!h) return LORE_NOMEM;
    hash_str(h, d->title);
    hash_str(h, d->url);
    hash_str(h, d->author);
    hash_str(h, d->metadata_json);
    char dates[64];
    snprintf(dates, sizeof dates, "%lld/%lld", (long long)d->created_ms, (long long)d->updated_ms);
    hash_str(h, dates);
    for (size_t i = 0; i < d->nacl; i++)
        hash_str(h, d->acl[i]);
    hash_field(h, d->text, d->text_len);
    uint8_t digest[32];
    lore_sha256_final(h, digest);
    lore_hex(digest, 32, out);
    return LORE_OK;
}

typedef struct remove_ctx {
    ingest_session *s;
    lore_status st;
} remove_ctx;

static int remove_chunk(void *ctx, int64_t chunk_id, uint32_t nterms) {
    remove_ctx *r = ctx;
    r->st = r->s->lex->remove(r->s->lex_state, chunk_id, nterms);
    if (r->st == LORE_OK) r->st = ingest_embed_removed(r->s, chunk_id);
    return r->st != LORE_OK;
}

static lore_status remove_from_index(ingest_session *s, int64_t rowid) {
    /* A removal that an index refuses means index and store disagree; stop
     * rather than write on top of it. The chunk's vector and pending row go
     * with it (ingest_embed.c). */
    remove_ctx r = {s, LORE_OK};
    lore_status st = store_doc_chunks(s->t, rowid, remove_chunk, &r);
    return st != LORE_OK ? st : r.st;
}

lore_status ingest_remove_doc(ingest_session *s, int64_t rowid) {
    lore_status st = ingest_open_batch(s);
    if (st == LORE_OK) st = remove_from_index(s, rowid);
    if (st == LORE_OK) st = store_doc_delete(s->t, rowid);
    if (st == LORE_OK) {
        s->stats.docs_deleted++;
        s->batch_docs++;
    }
    return st;
}

lore_status ingest_maybe_commit(ingest_session *s) {
    if (s->in_batch && (s->batch_docs >= s->opt.batch_docs || s->batch_bytes >= s->opt.batch_bytes))
        return ingest_commit(s);
    return LORE_OK;
}

/* Checks a document's fields against the caps in ingest.h. Returns NULL when
 * they fit, else a message naming the field. */
static const char *field_over_cap(const parse_doc *pd, const char *external_id, size_t nacl,
                                  char *buf, size_t buflen) {
    const struct {
        const char *name, *value;
        size_t cap;
    } fields[] = {
        {"id", external_id, INGEST_MAX_EXTERNAL_ID},
        {"title", pd->title, INGEST_MAX_TITLE},
        {"url", pd->url, INGEST_MAX_URL},
        {"author", pd->author, INGEST_MAX_AUTHOR},
        {"metadata", pd->metadata_json, INGEST_MAX_METADATA},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        size_t n = fields[i].value ? strlen(fields[i].value) : 0;
        if (n > fields[i].cap) {
            snprintf(buf, buflen, "%s is %zu bytes; the limit is %zu", fields[i].name, n,
                     fields[i].cap);
            return buf;
        }
    }
    if (nacl > INGEST_MAX_PRINCIPALS) {
        snprintf(buf, buflen, "acl has %zu principals; the limit is %d", nacl,
                 INGEST_MAX_PRINCIPALS);
        return buf;
    }
    for (size_t i = 0; i < pd->nacl; i++) {
        if (strlen(pd->acl[i]) > INGEST_MAX_PRINCIPAL) {
            snprintf(buf, buflen, "acl principal %zu is %zu bytes; the limit is %d", i + 1,
                     strlen(pd->acl[i]), INGEST_MAX_PRINCIPAL);
            return buf;
        }
    }
    return NULL;
}

/* Writes one parsed document. Document-level problems are reported and
 * return LORE_OK; store and index failures are returned. */
lore_status ingest_doc(ingest_session *s, const char *path, const parse_doc *pd, const char *source,
                       const char *external_id, int64_t mtime_ms) {
    char **acl = NULL;
    chunk_list *cl = NULL;
    store_doc d = {0};
    char why[160];
    if (s->sync) ingest_sync_doc_seen(s, external_id);
    if (field_over_cap(pd, external_id, pd->nacl + s->opt.nacl, why, sizeof why)) {
        problem(s, path, "%.80s%s: skipped: %s", external_id, strlen(external_id) > 80 ? "..." : "",
                why);
        s->stats.docs_failed++;
        return LORE_OK;
    }
    lore_status st = ingest_open_batch(s);
    if (st != LORE_OK) return st;
    d.source = (char *)source;
    d.external_id = (char *)external_id;
    d.title = pd->title;
    d.url = pd->url;
    d.author = pd->author;
    d.created_ms = pd->created_ms;
    d.updated_ms = pd->updated_ms ? pd->updated_ms : mtime_ms;
    d.metadata_json = pd->metadata_json;
    d.text = pd->text;
    d.text_len = pd->text_len;
    d.nacl = pd->nacl + s->opt.nacl;
    if (d.nacl) {
        if (!(acl = malloc(d.nacl * sizeof *acl))) {
            st = LORE_NOMEM;
            goto out;
        }
        for (size_t i = 0; i < pd->nacl; i++)
            acl[i] = pd->acl[i];
        for (size_t i = 0; i < s->opt.nacl; i++)
            acl[pd->nacl + i] = (char *)s->opt.acl[i];
        d.acl = acl;
    }
    if ((st = content_hash(&d, d.content_hash)) != LORE_OK) goto out;
    int64_t rowid = 0;
    char old_hash[65];
    st = store_doc_lookup(s->t, d.source, external_id, &rowid, old_hash);
    int exists = st == LORE_OK;
    if (st != LORE_OK && st != LORE_NOT_FOUND) goto out;
    st = LORE_OK;
    if (exists && s->opt.may_replace) {
        /* Checked before the hash comparison, so a refused caller cannot
         * learn whether its content matched either. */
        store_doc *old = NULL;
        if ((st = store_doc_get_rowid(s->t, rowid, 0, &old)) != LORE_OK) goto out;
        int ok = s->opt.may_replace(s->opt.cb_ctx, old);
        store_doc_free(old);
        if (!ok) {
            problem(s, path, "%.80s%s: not written: this key may not replace it", external_id,
                    strlen(external_id) > 80 ? "..." : "");
            s->stats.docs_failed++;
            goto out;
        }
    }
    if (exists && !strcmp(old_hash, d.content_hash)) {
        s->stats.docs_unchanged++;
        goto out;
    }
    if (exists && (st = remove_from_index(s, rowid)) != LORE_OK) goto out;
    if ((st = chunk_document(pd, &s->opt.chunking, &cl)) != LORE_OK) {
        problem(s, path, "%s: chunking failed: %s", external_id, lore_status_message(st));
        s->stats.docs_failed++;
        /* The old chunks may already be out of the index: undo the batch
         * rather than leave the document half replaced. */
        st = exists ? LORE_INTERNAL : LORE_OK;
        goto out;
    }
    if (!cl->n)
        note(s, path, "%s: no text to index (stored, but no search will find it)", external_id);
    if (cl->n > s->chunks_cap) {
        store_chunk_in *nc = realloc(s->chunks, cl->n * sizeof *nc);
        if (!nc) {
            st = LORE_NOMEM;
            goto out;
        }
        s->chunks = nc;
        s->chunks_cap = cl->n;
    }
    int64_t first = 0;
    if ((st = store_reserve_chunk_ids(s->t, cl->n, &first)) != LORE_OK) goto out;
    for (size_t i = 0; i < cl->n; i++) {
        const chunk *c = &cl->items[i];
        store_chunk_in *ci = &s->chunks[i];
        ci->id = first + (int64_t)i;
        ci->start = c->start;
        ci->end = c->end;
        ci->section = c->section;
        ci->ntokens = c->ntokens;
        st = s->lex->add(s->lex_state, ci->id, pd->title, pd->title ? strlen(pd->title) : 0,
                         pd->text + c->start, c->end - c->start, &ci->nterms);
        if (st != LORE_OK) goto out;
    }
    if ((st = store_doc_put(s->t, &d, s->chunks, cl->n)) != LORE_OK) goto out;
    if ((st = ingest_embed_added(s, first, cl->n)) != LORE_OK) goto out;
    if (exists)
        s->stats.docs_updated++;
    else
        s->stats.docs_added++;
    s->stats.chunks += cl->n;
    s->stats.bytes += pd->text_len;
    s->batch_docs++;
    s->batch_bytes += pd->text_len;
out:
    chunk_list_free(cl);
    free(acl);
    if (st != LORE_OK) {
        rollback(s);
        return st;
    }
    if (s->batch_docs >= s->opt.batch_docs || s->batch_bytes >= s->opt.batch_bytes)
        return ingest_commit(s);
    return LORE_OK;
}

lore_status ingest_record_put(ingest_session *s, const ingest_record *r, ingest_outcome *outcome) {
    *outcome = INGEST_FAILED;
    parse_result *res = NULL;
    char err[512] = "";
    const char *source = r->source ? r->source : s->opt.source;
    parse_format fmt = r->format ? r->format : PARSE_FMT_TEXT;
    if (fmt != PARSE_FMT_TEXT && fmt != PARSE_FMT_MARKDOWN && fmt != PARSE_FMT_HTML) {
        problem(s, r->external_id, "format %s is not accepted for inline text",
                parse_format_name(fmt));
        s->stats.docs_failed++;
        return LORE_OK;
    }
    lore_status st = parse_bytes(fmt, r->external_id, (const uint8_t *)r->text, r->text_len,
                                 &s->opt.limits, &res, err, sizeof err);
    if (st != LORE_OK || res->ndocs != 1) {
        problem(s, r->external_id, "%s", err[0] ? err : lore_status_message(st));
        s->stats.docs_failed++;
        parse_result_free(res);
        return LORE_OK;
    }
    if (res->note) note(s, r->external_id, "%s", res->note);
    /* The record's fields win over what the parser found in the content
     * (a Markdown heading is a fallback title, not an override). */
    parse_doc pd = res->docs[0];
    if (r->title) pd.title = (char *)r->title;
    if (r->url) pd.url = (char *)r->url;
    if (r->author) pd.author = (char *)r->author;
    if (r->created_ms) pd.created_ms = r->created_ms;
    if (r->updated_ms) pd.updated_ms = r->updated_ms;
    if (r->metadata_json) pd.metadata_json = (char *)r->metadata_json;
    pd.acl = (char **)r->acl;
    pd.nacl = r->nacl;
    ingest_stats before = s->stats;
    st = ingest_doc(s, r->external_id, &pd, source, r->external_id, 0);
    parse_result_free(res);
    if (st != LORE_OK) return st;
    if (s->stats.docs_added > before.docs_added)
        *outcome = INGEST_ADDED;
    else if (s->stats.docs_updated > before.docs_updated)
        *outcome = INGEST_UPDATED;
    else if (s->stats.docs_unchanged > before.docs_unchanged)
        *outcome = INGEST_UNCHANGED;
    return LORE_OK;
}

lore_status ingest_delete(ingest_session *s, const char *doc_id) {
    store_doc *d = NULL;
    lore_status st = ingest_open_batch(s);
    if (st != LORE_OK) return st;
    if ((st = store_doc_get(s->t, doc_id, 0, &d)) != LORE_OK) goto out;
    if ((st = remove_from_index(s, d->rowid)) != LORE_OK) goto out;
    if ((st = store_doc_delete(s->t, d->rowid)) != LORE_OK) goto out;
    s->stats.docs_deleted++;
out:
    store_doc_free(d);
    if (st != LORE_OK && st != LORE_NOT_FOUND) rollback(s);
    return st;
}

void ingest_session_free(ingest_session *s) {
    if (!s) return;
    rollback(s);
    walk_seen_free(&s->seen);
    free(s->chunks);
    free(s);
}
