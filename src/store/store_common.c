/* What every store backend shares: the frees of the records store.h hands
 * out, tenant name checks, public document ids, ACL checks, and the blob
 * helpers built on the blob calls. Nothing here touches a database. */
#include "store/store_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/sha256.h"

void store_doc_public_id(const char *source, const char *external_id, char *out) {
    /* Hashes source "\n" external_id; both are short, so a stack copy is
     * cheaper than an incremental context. Over-long ids are hashed
     * incrementally. */
    uint8_t digest[32];
    size_t ls = strlen(source), le = strlen(external_id);
    char joined[1024];
    if (ls + le + 1 <= sizeof joined) {
        memcpy(joined, source, ls);
        joined[ls] = '\n';
        memcpy(joined + ls + 1, external_id, le);
        lore_sha256(joined, ls + le + 1, digest);
    } else {
        lore_sha256_ctx *c = lore_sha256_new();
        if (!c) abort(); /* a 200-byte allocation failing: nothing sane to do */
        lore_sha256_update(c, source, ls);
        lore_sha256_update(c, "\n", 1);
        lore_sha256_update(c, external_id, le);
        lore_sha256_final(c, digest);
    }
    lore_hex(digest, STORE_DOC_ID_LEN / 2, out);
}

void store_doc_free(store_doc *d) {
    if (!d) return;
    free(d->source);
    free(d->external_id);
    free(d->title);
    free(d->url);
    free(d->author);
    free(d->metadata_json);
    for (size_t i = 0; i < d->nacl; i++)
        free(d->acl[i]);
    free(d->acl);
    free(d->text);
    free(d);
}

int store_viewer_sees(const store_viewer *who, char *const *acl, size_t nacl) {
    if (!who || who->all_access || !nacl) return 1;
    for (size_t i = 0; i < nacl; i++)
        for (size_t j = 0; j < who->nprincipals; j++)
            if (!strcmp(acl[i], who->principals[j])) return 1;
    return 0;
}

void store_chunk_clear(store_chunk *c) {
    free(c->section);
    free(c->text);
    memset(c, 0, sizeof *c);
}

void store_sources_free(store_source_info *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(s[i].source);
    free(s);
}

void store_job_clear(store_job *j) {
    free(j->dedup_key);
    for (size_t i = 0; i < j->ngroups; i++)
        free(j->groups[i]);
    free(j->groups);
    free(j->payload);
    free(j->blob);
    free(j->worker);
    free(j->error);
    free(j->result);
    free(j->owner);
    memset(j, 0, sizeof *j);
}

void store_job_free(store_job *j) {
    if (!j) return;
    store_job_clear(j);
    free(j);
}

void store_jobs_free(store_job *j, size_t n) {
    if (!j) return;
    for (size_t i = 0; i < n; i++)
        store_job_clear(&j[i]);
    free(j);
}

void store_key_clear(store_key *k) {
    free(k->name);
    for (size_t i = 0; i < k->nprincipals; i++)
        free(k->principals[i]);
    free(k->principals);
    memset(k, 0, sizeof *k);
}

void store_key_free(store_key *k) {
    if (!k) return;
    store_key_clear(k);
    free(k);
}

void store_keys_free(store_key *k, size_t n) {
    if (!k) return;
    for (size_t i = 0; i < n; i++)
        store_key_clear(&k[i]);
    free(k);
}

void store_connector_clear(store_connector *c) {
    for (size_t i = 0; i < c->nacl; i++)
        free(c->acl[i]);
    free(c->acl);
    memset(c, 0, sizeof *c);
}

void store_connector_free(store_connector *c) {
    if (!c) return;
    store_connector_clear(c);
    free(c);
}

void store_connectors_free(store_connector *c, size_t n) {
    if (!c) return;
    for (size_t i = 0; i < n; i++)
        store_connector_clear(&c[i]);
    free(c);
}

void store_secret_clear(store_secret *x) {
    if (!x) return;
    free(x->sealed);
    memset(x, 0, sizeof *x);
}

void store_secrets_free(store_secret *x, size_t n) {
    if (!x) return;
    for (size_t i = 0; i < n; i++)
        store_secret_clear(&x[i]);
    free(x);
}

int store_tenant_name_valid(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > STORE_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && (c == '-' || c == '_'));
        if (!ok) return 0;
    }
    return 1;
}

void store_backup_report_clear(store_backup_report *r) {
    if (!r) return;
    for (size_t i = 0; i < r->nblobs; i++)
        free(r->blobs[i].name);
    free(r->blobs);
    free(r->tenants);
    memset(r, 0, sizeof *r);
}

/* ---- blob helpers ---- */

lore_status store_blob_put(store *s, const char *tenant, const void *data, size_t len,
                           char *name_out) {
    store_blob_writer *w = NULL;
    lore_status st = store_blob_create(s, tenant, name_out, &w);
    if (st != LORE_OK) return st;
    st = store_blob_write(w, data, len);
    lore_status fin = store_blob_finish(w, st == LORE_OK);
    return st != LORE_OK ? st : fin;
}

lore_status store_blob_put_file(store *s, const char *tenant, const char *path, char *name_out,
                                int64_t *bytes) {
    *bytes = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return LORE_IO;
    store_blob_writer *w = NULL;
    lore_status st = store_blob_create(s, tenant, name_out, &w);
    if (st != LORE_OK) {
        close(fd);
        return st;
    }
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) st = LORE_IO;
        if (n <= 0) break;
        if ((st = store_blob_write(w, buf, (size_t)n)) != LORE_OK) break;
        *bytes += n;
    }
    close(fd);
    lore_status fin = store_blob_finish(w, st == LORE_OK);
    return st != LORE_OK ? st : fin;
}

lore_status store_blob_load(store *s, const char *tenant, const char *name, size_t max, char **out,
                            size_t *len) {
    *out = NULL;
    *len = 0;
    int64_t size = 0;
    lore_status st = store_blob_size(s, tenant, name, &size);
    if (st != LORE_OK) return st;
    if (size < 0 || (uint64_t)size > max) return LORE_TOO_LARGE;
    char *buf = malloc((size_t)size + 1);
    if (!buf) return LORE_NOMEM;
    size_t got = 0;
    while (st == LORE_OK && got < (size_t)size) {
        size_t n = 0;
        st = store_blob_read(s, tenant, name, (int64_t)got, buf + got, (size_t)size - got, &n);
        if (st == LORE_OK && !n) st = LORE_CORRUPT; /* shorter than its size */
        got += n;
    }
    if (st != LORE_OK) {
        free(buf);
        return st;
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return LORE_OK;
}

lore_status store_blob_local_path(store *s, const char *tenant, const char *name,
                                  const char *tmpdir, char *out, size_t outlen, int *is_temp) {
    *is_temp = 0;
    lore_status st = store_blob_path(s, tenant, name, out, outlen);
    if (st == LORE_OK) return access(out, R_OK) == 0 ? LORE_OK : LORE_NOT_FOUND;
    if (st != LORE_UNSUPPORTED) return st;
    int64_t size = 0;
    if ((st = store_blob_size(s, tenant, name, &size)) != LORE_OK) return st;
    if (!tmpdir) tmpdir = getenv("TMPDIR");
    if (!tmpdir || !*tmpdir) tmpdir = "/tmp";
    int n = snprintf(out, outlen, "%s/lore-blob-XXXXXX", tmpdir);
    if (n < 0 || (size_t)n >= outlen) return LORE_TOO_LARGE;
    int fd = mkostemp(out, O_CLOEXEC);
    if (fd < 0) return LORE_IO;
    char buf[65536];
    int64_t off = 0;
    while (st == LORE_OK && off < size) {
        size_t got = 0;
        st = store_blob_read(s, tenant, name, off, buf, sizeof buf, &got);
        if (st == LORE_OK && !got) st = LORE_CORRUPT;
        for (size_t done = 0; st == LORE_OK && done < got;) {
            ssize_t w = write(fd, buf + done, got - done);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0)
                st = LORE_IO;
            else
                done += (size_t)w;
        }
        off += (int64_t)got;
    }
    if (close(fd) != 0 && st == LORE_OK) st = LORE_IO;
    if (st != LORE_OK) {
        unlink(out);
        return st;
    }
    *is_temp = 1;
    return LORE_OK;
}
