/* lore search QUERY */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "search/search.h"
#include "view/view.h"

static const cli_opt opts[] = {
    {"tenant", 't', "NAME", 0, "tenant to search (default: setting tenant)"},
    {"limit", 'n', "N", 0, "number of hits, 1 to 1000 (default 10)"},
    {"source", 's', "NAME", 1, "only documents of this source"},
    {"since", 0, "DATE", 0, "only documents updated at or after DATE (YYYY-MM-DD or ISO 8601)"},
    {"until", 0, "DATE", 0, "only documents updated at or before DATE"},
    {"author", 0, "NAME", 0, "only documents by this author"},
    {"meta", 0, "KEY=VALUE", 1,
     "only documents whose metadata KEY is VALUE (a dotted KEY reaches into objects)"},
    {"as", 0, "PRINCIPAL", 1, "search as PRINCIPAL (user:EMAIL, group:NAME), honouring ACLs"},
    {"like", 0, "ID", 0, "documents similar to document ID (it comes first), instead of QUERY"},
    {"mode", 'm', "MODE", 0,
     "lexical, semantic or hybrid (default: hybrid when embed_url is set, else lexical)"},
    {"explain", 0, NULL, 0, "show each hit's rank and score per retriever and the fused score"},
    {"json", 0, NULL, 0, "print the result as JSON"},
    {"text", 0, NULL, 0, "include each hit's full chunk text"},
};
static const cli_help help = {
    "lore search QUERY... [--tenant T] [--mode M] [--limit N] [--source S] [--since DATE] "
    "[--meta KEY=VALUE] [--json]",
    "Search a tenant. Mode lexical ranks the words of QUERY with BM25 over titles\n"
    "and text; semantic finds the chunks nearest to QUERY's meaning (an embedder\n"
    "must be configured: embed_url); hybrid fuses both rankings. Each document\n"
    "appears once, with its best passage.",
    "Query syntax:\n"
    "  plain words      any of them, ranked (rarer words count more)\n"
    "  \"a phrase\"       these words, adjacent and in order\n"
    "  -word -\"phrase\"  exclude documents containing them\n"
    "  title:word       the word must be in the title\n"
    "  source:NAME      only this source     author:NAME  only this author\n"
    "Use -- before a query that starts with a dash. Without --as the command sees\n"
    "every document of the tenant, as its local administrator.\n"
    "A long query (up to 4096 bytes) keeps its most selective words; the common\n"
    "ones left out are named on stderr (in the JSON: dropped_terms).\n"
    "Semantic search embeds the plain words (quotes, field: and -word removed);\n"
    "source:, author:, dates, ACLs and quoted phrases apply inside it. If the\n"
    "provider fails, hybrid prints the lexical hits and says so on stderr.",
    "  lore search parental leave policy\n"
    "  lore search --mode semantic --explain how many days off after having a baby\n"
    "  lore search '\"parental leave\" -draft' --source wiki --limit 5\n"
    "  lore search --json --since 2024-01-01 -- -internal onboarding\n"
    "  lore search --meta team=hr --meta github.repository=octo/hello leave\n"
    "  lore search --like 3f2a9c...   (an id from a hit)",
};

/* The answer as REST gives it, with the query or like= it answers and, on
 * each hit, the byte range of the passage in the document's text. */
static void print_json(const search_request *r, const search_response *res) {
    json_t *root = json_object();
    json_object_set_new(root, r->like ? "like" : "query",
                        json_string(r->like ? r->like : r->query));
    json_t *answer = view_search_answer(res, r->explain);
    json_object_update(root, answer);
    json_decref(answer);
    json_t *hits = json_object_get(root, "hits");
    for (size_t i = 0; i < res->n; i++)
        json_object_set_new(
            json_array_get(hits, i), "range",
            json_pack("[II]", (json_int_t)res->hits[i].start, (json_int_t)res->hits[i].end));
    char *s = json_dumps(root, JSON_INDENT(2));
    if (s) puts(s);
    free(s);
    json_decref(root);
}

static void print_snippet(const search_hit *h, int tty) {
    const char *s = h->snippet;
    size_t at = 0;
    fputs("   ", stdout);
    for (size_t k = 0; k < h->nmarks; k++) {
        fwrite(s + at, 1, h->marks[k].start - at, stdout);
        fputs(tty ? "\033[1m" : "**", stdout);
        fwrite(s + h->marks[k].start, 1, h->marks[k].end - h->marks[k].start, stdout);
        fputs(tty ? "\033[0m" : "**", stdout);
        at = h->marks[k].end;
    }
    fputs(s + at, stdout);
    fputc('\n', stdout);
}

/* Names the words a long query left out, on stderr. */
static void print_dropped(const search_response *res) {
    if (!res->dropped_total) return;
    fprintf(stderr,
            "lore search: %zu common word%s left out of the long query:", res->dropped_total,
            res->dropped_total == 1 ? "" : "s");
    for (size_t i = 0; i < res->ndropped; i++)
        fprintf(stderr, "%s %s", i ? "," : "", res->dropped[i]);
    fprintf(stderr, "%s\n", res->ndropped < res->dropped_total ? ", ..." : "");
}

static void print_explain(const search_explain *e) {
    fputs("   explain:", stdout);
    if (e->has_lexical)
        printf(" lexical #%zu (%.3f)", e->lexical_rank, e->lexical_score);
    else
        fputs(" lexical -", stdout);
    if (e->has_semantic)
        printf("  semantic #%zu (%.3f)", e->semantic_rank, e->semantic_score);
    else
        fputs("  semantic -", stdout);
    printf("  fused %.5f\n", e->fused);
}

static void print_human(const search_request *req, const search_response *res, int tty) {
    if (res->semantic_error[0]) fprintf(stderr, "lore search: %s\n", res->semantic_error);
    if (res->notice[0]) fprintf(stderr, "lore search: %s\n", res->notice);
    print_dropped(res);
    for (size_t i = 0; i < res->n; i++) {
        const search_hit *h = &res->hits[i];
        printf("%zu. %s%s%s  [%s]  %.4g\n", i + 1, tty ? "\033[1m" : "",
               h->doc->title ? h->doc->title : h->doc->external_id, tty ? "\033[0m" : "",
               h->doc->source, h->score);
        if (h->section && *h->section) printf("   %s\n", h->section);
        if (h->snippet) print_snippet(h, tty);
        if (h->text) printf("   ---\n%s\n   ---\n", h->text);
        if (req->explain) print_explain(&h->explain);
        printf("   id %s  %s\n", h->doc->id, h->doc->url ? h->doc->url : h->doc->external_id);
    }
    fprintf(stderr, "%zu hit%s (%s) in %.2f ms%s\n", res->n, res->n == 1 ? "" : "s",
            search_mode_name(res->mode), (double)res->took_us / 1000.0,
            res->truncated ? " (phrase check budget ran out: some hits may be missing)" : "");
}

/* The filters' storage: the parser's lists and the --meta keys cut out of
 * KEY=VALUE. */
typedef struct cli_filters {
    view_filters f;
    char keys[VIEW_MAX_FILTERS][256];
} cli_filters;

/* --meta KEY=VALUE, as meta.KEY=VALUE in REST. */
static int meta_options(const cli_args *a, cli_filters *cf, search_request *req) {
    const char *const *v;
    char err[256];
    size_t count = cli_get_all(a, "meta", &v);
    for (size_t i = 0; i < count; i++) {
        const char *eq = strchr(v[i], '=');
        size_t klen = eq ? (size_t)(eq - v[i]) : 0;
        if (!eq || !klen || klen >= sizeof cf->keys[0])
            return cli_error("search", CLI_USAGE,
                             "--meta %s: expected KEY=VALUE with a KEY of 1 to %zu bytes", v[i],
                             sizeof cf->keys[0] - 1);
        /* Past the cap the parser refuses, whatever the slot holds. */
        size_t slot = i < VIEW_MAX_FILTERS ? i : VIEW_MAX_FILTERS - 1;
        memcpy(cf->keys[slot], v[i], klen);
        cf->keys[slot][klen] = '\0';
        if (view_filter_meta(&cf->f, req, cf->keys[slot], eq + 1, err, sizeof err))
            return cli_error("search", CLI_USAGE, "--meta %s: %s", v[i], err);
    }
    return CLI_OK;
}

/* --source, --since, --until, --author and --meta, through the filter
 * parser REST and MCP use. */
static int filter_options(const cli_args *a, cli_filters *cf, search_request *req) {
    view_filters *f = &cf->f;
    static const char *const names[] = {"source", "since", "until", "author"};
    char err[256];
    view_filters_attach(f, req);
    for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
        const char *const *v;
        size_t count = cli_get_all(a, names[n], &v);
        for (size_t i = 0; i < count; i++)
            if (view_filter_set(f, req, names[n], names[n], v[i], err, sizeof err))
                return cli_error("search", CLI_USAGE, "--%s %s: %s", names[n], v[i], err);
    }
    return meta_options(a, cf, req);
}

/* The options that shape the request (limit, filters, principals, mode). */
static int request_options(const cli_args *a, cli_filters *f, search_request *req) {
    int rc;
    const char *lim = cli_get(a, "limit");
    if (lim) {
        char *end;
        long v = strtol(lim, &end, 10);
        if (*end || v < 1 || v > SEARCH_MAX_LIMIT)
            return cli_error("search", CLI_USAGE, "--limit %s: expected a number from 1 to %d", lim,
                             SEARCH_MAX_LIMIT);
        req->limit = (size_t)v;
    }
    if ((rc = filter_options(a, f, req))) return rc;
    req->nprincipals = cli_get_all(a, "as", &req->principals);
    if (req->nprincipals) req->all_access = 0;
    req->with_text = cli_flag(a, "text");
    req->explain = cli_flag(a, "explain");
    const char *mode = cli_get(a, "mode");
    if (mode && search_mode_parse(mode, &req->mode))
        return cli_error("search", CLI_USAGE, "--mode %s: expected lexical, semantic or hybrid",
                         mode);
    return CLI_OK;
}

int cmd_search(int argc, char **argv) {
    cli_args a;
    cli_env e = {0};
    search_engine *se = NULL;
    search_response res = {0};
    char *query = NULL;
    int rc = cli_parse("search", &help, opts, sizeof opts / sizeof opts[0], argc, argv, &a);
    if (rc) goto out;
    const char *like = cli_get(&a, "like");
    if (!a.npos && !like) {
        rc = cli_error("search", CLI_USAGE, "no QUERY given (see lore search --help)");
        goto out;
    }
    if (a.npos && like) {
        rc = cli_error("search", CLI_USAGE, "give a QUERY or --like ID, not both");
        goto out;
    }
    size_t qlen = 0;
    for (size_t i = 0; i < a.npos; i++)
        qlen += strlen(a.pos[i]) + 1;
    if (!(query = malloc(qlen + 1))) {
        rc = cli_error("search", CLI_FAIL, "out of memory");
        goto out;
    }
    query[0] = '\0';
    for (size_t i = 0; i < a.npos; i++) {
        if (i) strcat(query, " ");
        strcat(query, a.pos[i]);
    }
    search_request req = {
        .query = like ? NULL : query, .like = like, .snippets = 1, .all_access = 1};
    cli_filters filters;
    if ((rc = request_options(&a, &filters, &req))) goto out;
    if ((rc = cli_env_open(&e, &a))) goto out;
    if (req.mode != SEARCH_MODE_LEXICAL && (rc = cli_env_embedders(&e, "search"))) goto out;
    if ((rc = cli_env_open_tenant(&e, cli_get(&a, "tenant"), 0))) goto out;
    if (search_engine_new(e.ctx, &se) != LORE_OK) {
        rc = cli_error("search", CLI_FAIL, "out of memory");
        goto out;
    }
    char err[512];
    lore_status st = search_run(se, &req, &res, err, sizeof err);
    if (st == LORE_NOT_FOUND && like) {
        rc = cli_error("search", CLI_FAIL, "--like: %s", err);
        goto out;
    }
    if (st != LORE_OK) {
        rc = cli_error("search", st == LORE_INVALID || st == LORE_TOO_LARGE ? CLI_USAGE : CLI_FAIL,
                       "%s", err);
        goto out;
    }
    if (cli_flag(&a, "json")) {
        print_dropped(&res);
        print_json(&req, &res);
    } else
        print_human(&req, &res, isatty(1));
out:
    search_response_free(&res);
    search_engine_free(se);
    free(query);
    cli_env_close(&e);
    cli_args_free(&a);
    return rc < 0 ? CLI_OK : rc;
}
