/* lore get DOC_ID and lore delete DOC_ID: one document by its public id. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ingest/ingest.h"
#include "util/timeutil.h"
#include "view/view.h"

static const cli_opt get_opts[] = {
    {"tenant", 't', "NAME", 0, "tenant of the document (default: setting tenant)"},
    {"json", 0, NULL, 0, "print the document as JSON"},
    {"meta", 0, NULL, 0, "print the metadata only, not the text"},
};
static const cli_help get_help = {
    "lore get DOC_ID [--tenant T] [--json] [--meta]",
    "Print a document: its fields and full text. DOC_ID is the 16-character id\n"
    "that search prints.",
    NULL,
    "  lore get 3f9a0c1d2e4b5a69\n  lore get 3f9a0c1d2e4b5a69 --json | jq .title",
};

static const cli_opt delete_opts[] = {
    {"tenant", 't', "NAME", 0, "tenant of the document (default: setting tenant)"},
};
static const cli_help delete_help = {
    "lore delete DOC_ID... [--tenant T]",
    "Delete documents, their chunks and their index entries.",
    NULL,
    "  lore delete 3f9a0c1d2e4b5a69",
};

static int valid_id(const char *id) {
    if (strlen(id) != STORE_DOC_ID_LEN) return 0;
    for (const char *p = id; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return 0;
    return 1;
}

/* The document as REST gives it, and its text. */
static void print_doc_json(const store_doc *d) {
    json_t *o = view_doc(d);
    if (d->text) json_object_set_new(o, "text", json_stringn(d->text, d->text_len));
    char *s = json_dumps(o, JSON_INDENT(2));
    if (s) puts(s);
    free(s);
    json_decref(o);
}

static void print_doc_human(const store_doc *d) {
    char buf[32];
    printf("id:          %s\n", d->id);
    printf("title:       %s\n", d->title ? d->title : "");
    printf("source:      %s\n", d->source);
    printf("external id: %s\n", d->external_id);
    if (d->url) printf("url:         %s\n", d->url);
    if (d->author) printf("author:      %s\n", d->author);
    if (d->updated_ms)
        lore_format_iso8601(d->updated_ms, buf, sizeof buf), printf("updated:     %s\n", buf);
    lore_format_iso8601(d->indexed_ms, buf, sizeof buf);
    printf("indexed:     %s\n", buf);
    printf("chunks:      %lld\n", (long long)d->nchunks);
    if (d->nacl) {
        printf("acl:        ");
        for (size_t i = 0; i < d->nacl; i++)
            printf(" %s", d->acl[i]);
        printf("\n");
    }
    if (d->metadata_json) printf("metadata:    %s\n", d->metadata_json);
    if (d->text) printf("\n%s\n", d->text);
}

int cmd_get(int argc, char **argv) {
    cli_args a;
    cli_env e = {0};
    store_doc *d = NULL;
    int rc =
        cli_parse("get", &get_help, get_opts, sizeof get_opts / sizeof get_opts[0], argc, argv, &a);
    if (rc) goto out;
    if (a.npos != 1) {
        rc = cli_error("get", CLI_USAGE, "expected exactly one DOC_ID (see lore get --help)");
        goto out;
    }
    if (!valid_id(a.pos[0])) {
        rc = cli_error("get", CLI_USAGE, "'%s' is not a document id (16 hex digits)", a.pos[0]);
        goto out;
    }
    if ((rc = cli_env_open(&e, &a))) goto out;
    if ((rc = cli_env_open_tenant(&e, cli_get(&a, "tenant"), 0))) goto out;
    lore_status st = store_doc_get(e.tenant, a.pos[0], !cli_flag(&a, "meta"), &d);
    if (st == LORE_NOT_FOUND) {
        rc = cli_error("get", CLI_FAIL, "no document %s in tenant %s", a.pos[0],
                       store_tenant_name(e.tenant));
        goto out;
    }
    if (st != LORE_OK) {
        rc = cli_error("get", CLI_FAIL, "cannot read %s: %s", a.pos[0], lore_status_message(st));
        goto out;
    }
    if (cli_flag(&a, "json"))
        print_doc_json(d);
    else
        print_doc_human(d);
out:
    store_doc_free(d);
    cli_env_close(&e);
    cli_args_free(&a);
    return rc < 0 ? CLI_OK : rc;
}

int cmd_delete(int argc, char **argv) {
    cli_args a;
    cli_env e = {0};
    ingest_session *s = NULL;
    int rc = cli_parse("delete", &delete_help, delete_opts,
                       sizeof delete_opts / sizeof delete_opts[0], argc, argv, &a);
    if (rc) goto out;
    if (!a.npos) {
        rc = cli_error("delete", CLI_USAGE, "no DOC_ID given (see lore delete --help)");
        goto out;
    }
    for (size_t i = 0; i < a.npos; i++) {
        if (!valid_id(a.pos[i])) {
            rc = cli_error("delete", CLI_USAGE, "'%s' is not a document id (16 hex digits)",
                           a.pos[i]);
            goto out;
        }
    }
    if ((rc = cli_env_open(&e, &a))) goto out;
    if ((rc = cli_env_open_tenant(&e, cli_get(&a, "tenant"), 0))) goto out;
    ingest_options o;
    ingest_options_default(&o);
    if (ingest_session_new(e.ctx, &o, &s) != LORE_OK) {
        rc = cli_error("delete", CLI_FAIL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < a.npos; i++) {
        lore_status st = ingest_delete(s, a.pos[i]);
        if (st == LORE_NOT_FOUND) {
            rc = cli_error("delete", CLI_FAIL, "no document %s in tenant %s", a.pos[i],
                           store_tenant_name(e.tenant));
            continue;
        }
        if (st != LORE_OK) {
            rc = cli_error("delete", CLI_FAIL, "cannot delete %s: %s", a.pos[i],
                           lore_status_message(st));
            goto out;
        }
        printf("deleted %s\n", a.pos[i]);
    }
    if (ingest_commit(s) != LORE_OK)
        rc = cli_error("delete", CLI_FAIL, "commit failed; nothing was deleted");
out:
    ingest_session_free(s);
    cli_env_close(&e);
    cli_args_free(&a);
    return rc < 0 ? CLI_OK : rc;
}
