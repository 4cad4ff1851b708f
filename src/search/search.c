/* Search execution; see search.h for the pipeline. */
#include "search/search.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "search/query.h"
#include "search/search_int.h"
#include "text/analyzer.h"
#include "util/timeutil.h"

lore_status search_engine_new(tenant_ctx *ctx, search_engine **out) {
    *out = NULL;
    search_engine *e = calloc(1, sizeof *e);
    if (!e) return LORE_NOMEM;
    e->ctx = ctx;
    e->t = ctx->store;
    e->lex = ctx->index.lexical.ops;
    e->lex_state = ctx->index.lexical.state;
    lore_status st = text_analyzer_new(&e->an);
    if (st != LORE_OK) {
        free(e);
        return st;
    }
    *out = e;
    return LORE_OK;
}

void search_engine_free(search_engine *e) {
    if (!e) return;
    text_analyzer_free(e->an);
    free(e);
}

/* ---- compiling the query into index terms ---- */

typedef struct qtok {
    uint32_t id; /* in compiled.strings */
    uint32_t pos;
    unsigned flags;
} qtok;

typedef struct tok_list {
    qtok *t;
    size_t n, cap;
    strmap *strings;
    int failed;
} tok_list;

static int collect_tok(void *ctx, const text_token *tok) {
    tok_list *l = ctx;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        qtok *nt = realloc(l->t, ncap * sizeof *nt);
        if (!nt) goto fail;
        l->t = nt;
        l->cap = ncap;
    }
    uint32_t id;
    int added;
    if (strmap_intern(l->strings, tok->term, tok->term_len, &id, &added) != LORE_OK) goto fail;
    l->t[l->n++] = (qtok){id, tok->pos, tok->flags};
    return 0;
fail:
    l->failed = 1;
    return 1;
}

static lore_status analyze(search_engine *e, compiled *c, const char *text, tok_list *out) {
    out->n = 0;
    out->strings = &c->strings;
    out->failed = 0;
    lore_status st = text_analyze(e->an, text, strlen(text), collect_tok, out);
    if (st == LORE_OK && out->failed) st = LORE_NOMEM;
    return st;
}

/* Makes room for one more term and the string ids interned so far. */
static lore_status grow_terms(compiled *c) {
    if (c->nterms == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 32;
        lex_qterm *nt = realloc(c->terms, ncap * sizeof *nt);
        if (!nt) return LORE_NOMEM;
        c->terms = nt;
        uint32_t *ni = realloc(c->term_ids, ncap * sizeof *ni);
        if (!ni) return LORE_NOMEM;
        c->term_ids = ni;
        uint32_t *nn = realloc(c->next, ncap * sizeof *nn);
        if (!nn) return LORE_NOMEM;
        c->next = nn;
        c->cap = ncap;
    }
    if (c->nfirst < c->strings.count) {
        size_t nf = c->strings.count * 2;
        uint32_t *f = realloc(c->first, nf * sizeof *f);
        if (!f) return LORE_NOMEM;
        memset(f + c->nfirst, 0, (nf - c->nfirst) * sizeof *f);
        c->first = f;
        c->nfirst = nf;
    }
    return LORE_OK;
}

static lore_status add_term(compiled *c, uint32_t id, lex_field field, lex_role role, float weight,
                            char *err, size_t errlen) {
    /* One entry per (term, field, role group): a repeated word weighs more; a
     * word both required and optional is required. */
    for (uint32_t k = id < c->nfirst ? c->first[id] : 0; k; k = c->next[k - 1]) {
        lex_qterm *q = &c->terms[k - 1];
        if (q->field != field) continue;
        int neg_new = role == LEX_MUST_NOT, neg_old = q->role == LEX_MUST_NOT;
        if (neg_new != neg_old) continue;
        if ((role == LEX_FILTER) != (q->role == LEX_FILTER)) continue;
        if (role == LEX_MUST) q->role = LEX_MUST;
        if (role == LEX_SHOULD || role == LEX_MUST) q->weight += role == LEX_SHOULD ? weight : 0.0f;
        return LORE_OK;
    }
    if (c->nterms == SEARCH_MAX_TERMS) {
        snprintf(err, errlen, "query has more than %d distinct terms", SEARCH_MAX_TERMS);
        return LORE_TOO_LARGE;
    }
    if (grow_terms(c) != LORE_OK) return LORE_NOMEM;
    uint32_t len;
    const char *s = strmap_key(&c->strings, id, &len);
    c->terms[c->nterms] = (lex_qterm){s, len, field, role, weight};
    c->term_ids[c->nterms] = id;
    c->next[c->nterms] = c->first[id];
    c->first[id] = (uint32_t)++c->nterms;
    return LORE_OK;
}

static lore_status add_phrase(compiled *c, const tok_list *l, int negated) {
    if (c->nphrases == SEARCH_MAX_PHRASES) return LORE_TOO_LARGE;
    phrase *p = &c->phrases[c->nphrases];
    memset(p, 0, sizeof *p);
    p->negated = negated;
    uint32_t base = UINT32_MAX;
    for (size_t i = 0; i < l->n; i++)
        if (!(l->t[i].flags & TEXT_TOKEN_WHOLE) && l->t[i].pos < base) base = l->t[i].pos;
    for (size_t i = 0; i < l->n && p->n < PHRASE_MAX_TERMS; i++) {
        if (l->t[i].flags & TEXT_TOKEN_WHOLE) continue;
        p->ids[p->n] = l->t[i].id;
        p->rel[p->n++] = l->t[i].pos - base;
    }
    if (p->n) c->nphrases++;
    return LORE_OK;
}

static lore_status add_filter_value(char ***list, size_t *n, const char *v) {
    char **nl = realloc(*list, (*n + 1) * sizeof *nl);
    if (!nl) return LORE_NOMEM;
    *list = nl;
    if (!(nl[*n] = strdup(v))) return LORE_NOMEM;
    (*n)++;
    return LORE_OK;
}

void compiled_free(compiled *c) {
    for (size_t i = 0; i < c->nsources; i++)
        free(c->sources[i]);
    free(c->sources);
    for (size_t i = 0; i < c->nnot_sources; i++)
        free(c->not_sources[i]);
    free(c->not_sources);
    for (size_t i = 0; i < c->nauthors; i++)
        free(c->authors[i]);
    free(c->authors);
    for (size_t i = 0; i < c->nnot_authors; i++)
        free(c->not_authors[i]);
    free(c->not_authors);
    free(c->terms);
    free(c->term_ids);
    free(c->first);
    free(c->next);
    free(c->positive);
    strmap_free(&c->strings);
    memset(c, 0, sizeof *c);
}

/* 1 when text has a letter or a digit: a clause the analyzer emptied was
 * stop words then, else only symbols, emoji or punctuation. */
static int has_word_char(const char *text) {
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)text;
    utf8proc_int32_t cp;
    utf8proc_ssize_t n;
    while (*p && (n = utf8proc_iterate(p, -1, &cp)) > 0) {
        utf8proc_category_t cat = utf8proc_category(cp);
        if (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) return 1;
        if (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO) return 1;
        p += n;
    }
    return 0;
}

static lore_status compile(search_engine *e, const query_ast *ast, compiled *c, char *err,
                           size_t errlen) {
    tok_list l = {0};
    lore_status st = LORE_OK;
    for (size_t i = 0; i < ast->n && st == LORE_OK; i++) {
        const query_clause *q = &ast->clauses[i];
        switch (q->kind) {
        case QUERY_SOURCE:
            st = q->negated ? add_filter_value(&c->not_sources, &c->nnot_sources, q->text)
                            : add_filter_value(&c->sources, &c->nsources, q->text);
            continue;
        case QUERY_AUTHOR:
            st = q->negated ? add_filter_value(&c->not_authors, &c->nnot_authors, q->text)
                            : add_filter_value(&c->authors, &c->nauthors, q->text);
            continue;
        default:
            break;
        }
        if ((st = analyze(e, c, q->text, &l)) != LORE_OK) break;
        if (!l.n) {
            if (!q->negated && has_word_char(q->text))
                c->stopped++; /* stop words only */
            else if (!q->negated)
                c->symbols++;
            continue;
        }
        if (q->kind == QUERY_WORDS && !q->negated) {
            for (size_t j = 0; j < l.n && st == LORE_OK; j++)
                st = add_term(c, l.t[j].id, LEX_FIELD_ALL, LEX_SHOULD, 1.0f, err, errlen);
        } else if (q->kind == QUERY_TITLE) {
            for (size_t j = 0; j < l.n && st == LORE_OK; j++) {
                if (q->negated) {
                    st = add_term(c, l.t[j].id, LEX_FIELD_TITLE, LEX_MUST_NOT, 1.0f, err, errlen);
                    continue;
                }
                st = add_term(c, l.t[j].id, LEX_FIELD_TITLE, LEX_FILTER, 1.0f, err, errlen);
                if (st == LORE_OK)
                    st = add_term(c, l.t[j].id, LEX_FIELD_ALL, LEX_SHOULD, 1.0f, err, errlen);
            }
        } else if (q->negated && (l.n == 1 || (l.t[0].flags & TEXT_TOKEN_WHOLE))) {
            /* -word (an identifier counts as one word): exclude the term. */
            st = add_term(c, l.t[0].id, LEX_FIELD_ALL, LEX_MUST_NOT, 1.0f, err, errlen);
        } else if (q->negated) {
            st = add_phrase(c, &l, 1); /* -"a b" or -a.b: exclude the phrase */
        } else {
            /* "a b": every word required, adjacency checked on admission. */
            for (size_t j = 0; j < l.n && st == LORE_OK; j++)
                st = add_term(c, l.t[j].id, LEX_FIELD_ALL, LEX_MUST, 1.0f, err, errlen);
            if (st == LORE_OK && l.n > 1) st = add_phrase(c, &l, 0);
        }
    }
    free(l.t);
    if (st == LORE_TOO_LARGE && !*err)
        snprintf(err, errlen, "query has more than %d phrases", SEARCH_MAX_PHRASES);
    if (st == LORE_NOMEM) snprintf(err, errlen, "out of memory");
    return st;
}

/* like=: the document's title and the start of its text (SEARCH_LIKE_MAX_BYTES
 * in all) as plain terms, each weighted 1 + ln(its count); past
 * SEARCH_MAX_TERMS distinct terms the rest of the text is not read. The
 * index then keeps the most selective of them, as for a long query. */
static lore_status compile_like(search_engine *e, const search_request *req, compiled *c,
                                int64_t *rowid, char *err, size_t errlen) {
    store_doc *d = NULL;
    store_viewer who = {req->all_access, req->principals, req->nprincipals};
    lore_status st = strlen(req->like) > STORE_DOC_ID_LEN ? LORE_NOT_FOUND
                                                          : store_doc_get(e->t, req->like, 1, &d);
    if (st == LORE_OK && !store_viewer_sees(&who, d->acl, d->nacl)) {
        store_doc_free(d); /* hidden and absent look the same */
        d = NULL;
        st = LORE_NOT_FOUND;
    }
    if (st == LORE_NOT_FOUND) {
        snprintf(err, errlen, "no document with id '%.128s'; ids come from search hits", req->like);
        return st;
    }
    if (st != LORE_OK) return st;
    *rowid = d->rowid;
    size_t tl = d->title ? strlen(d->title) : 0;
    if (tl > SEARCH_LIKE_MAX_BYTES) tl = SEARCH_LIKE_MAX_BYTES;
    size_t xl = d->text_len < SEARCH_LIKE_MAX_BYTES - tl ? d->text_len : SEARCH_LIKE_MAX_BYTES - tl;
    while (xl > 0 && xl < d->text_len && ((unsigned char)d->text[xl] & 0xC0) == 0x80)
        xl--; /* whole characters only */
    char *buf = malloc(tl + xl + 2);
    tok_list l = {.strings = &c->strings};
    uint32_t *tf = NULL;
    if (!buf) {
        st = LORE_NOMEM;
        goto out;
    }
    if (tl) memcpy(buf, d->title, tl);
    buf[tl] = '\n';
    if (xl) memcpy(buf + tl + 1, d->text, xl);
    buf[tl + 1 + xl] = '\0';
    st = text_analyze(e->an, buf, tl + 1 + xl, collect_tok, &l);
    if (st == LORE_OK && l.failed) st = LORE_NOMEM;
    if (st != LORE_OK) goto out;
    if (!(tf = calloc(c->strings.count ? c->strings.count : 1, sizeof *tf))) {
        st = LORE_NOMEM;
        goto out;
    }
    for (size_t j = 0; j < l.n; j++)
        tf[l.t[j].id]++;
    /* Ids are dense in order of first appearance: add each term once. */
    for (uint32_t id = 0; id < c->strings.count && c->nterms < SEARCH_MAX_TERMS; id++)
        if ((st = add_term(c, id, LEX_FIELD_ALL, LEX_SHOULD, 1.0f + logf((float)tf[id]), err,
                           errlen)) != LORE_OK)
            break;
out:
    free(tf);
    free(l.t);
    free(buf);
    store_doc_free(d);
    if (st == LORE_NOMEM) snprintf(err, errlen, "out of memory");
    return st;
}

/* ---- running ---- */

#define SEARCH_FUSION_DEPTH 101

static lore_status fill_hit(search_engine *e, const search_request *req, const compiled *c,
                            const search_fused *f, search_mode mode, search_hit *h) {
    memset(h, 0, sizeof *h);
    h->chunk_id = f->chunk_id;
    h->score = mode == SEARCH_MODE_LEXICAL    ? f->lexical_score
               : mode == SEARCH_MODE_SEMANTIC ? f->semantic_score
                                              : f->fused;
    if (req->explain)
        h->explain = (search_explain){
            f->lexical_rank > 0, f->semantic_rank > 0, f->lexical_rank, f->semantic_rank,
            f->lexical_score,    f->semantic_score,    f->fused};
    store_chunk ch;
    lore_status st = store_chunk_get(e->t, f->chunk_id, &ch);
    if (st != LORE_OK) return st;
    h->section = ch.section;
    ch.section = NULL;
    h->start = ch.start;
    h->end = ch.end;
    st = store_doc_get_rowid(e->t, ch.doc_rowid, 0, &h->doc);
    /* A hit only the semantic retriever found may hold none of the query's
     * words: its snippet is then the chunk's opening passage. */
    if (st == LORE_OK && req->snippets)
        st = snippet_build(e->an, c, ch.text, ch.text_len, &h->snippet, &h->marks, &h->nmarks);
    if (st == LORE_OK && req->with_text) {
        h->text = ch.text;
        ch.text = NULL;
    }
    store_chunk_clear(&ch);
    if (st != LORE_OK) {
        store_doc_free(h->doc);
        free(h->section);
        free(h->snippet);
        free(h->marks);
        free(h->text);
        memset(h, 0, sizeof *h);
    }
    return st;
}

/* Lists the dropped terms in out and marks the searched ones for snippets. */
static lore_status report_terms(compiled *c, const lex_result *lr, search_response *out) {
    if (!(c->positive = calloc(c->strings.count ? c->strings.count : 1, 1))) return LORE_NOMEM;
    for (size_t i = 0; i < c->nterms; i++)
        if (c->terms[i].role != LEX_MUST_NOT) c->positive[c->term_ids[i]] = 1;
    size_t scored = 0;
    for (size_t i = 0; i < c->nterms; i++)
        scored += c->terms[i].role == LEX_SHOULD || c->terms[i].role == LEX_MUST;
    out->terms_searched = scored - lr->ndropped;
    out->dropped_total = lr->ndropped;
    size_t n = lr->ndropped < SEARCH_MAX_LISTED_DROPPED ? lr->ndropped : SEARCH_MAX_LISTED_DROPPED;
    if (n && !(out->dropped = calloc(n, sizeof *out->dropped))) return LORE_NOMEM;
    for (size_t i = 0; i < lr->ndropped; i++) {
        const lex_qterm *q = &c->terms[lr->dropped[i]];
        uint32_t id = c->term_ids[lr->dropped[i]];
        /* A dropped word may still be searched in the title or a phrase. */
        int elsewhere = 0;
        for (uint32_t k = c->first[id]; k && !elsewhere; k = c->next[k - 1])
            elsewhere = c->terms[k - 1].role == LEX_MUST;
        if (!elsewhere) c->positive[id] = 0;
        if (i < n) {
            if (!(out->dropped[i] = strndup(q->term, q->len))) return LORE_NOMEM;
            out->ndropped++;
        }
    }
    return LORE_OK;
}

/* Moves the hit of document rowid (like=) to the front, if it is there. */
static void first_hit(search_fused *f, size_t n, int64_t rowid) {
    for (size_t i = 0; i < n; i++) {
        if (f[i].group != rowid) continue;
        search_fused h = f[i];
        memmove(f + 1, f, i * sizeof *f);
        f[0] = h;
        return;
    }
}

/* Checks query and like, and parses the query into ast (one plain clause
 * in literal mode). ast is left empty for like and on failure. */
static lore_status parse_request(const search_request *req, query_ast *ast, char *err,
                                 size_t errlen) {
    if (req->like && req->query) {
        snprintf(err, errlen, "give a query or a document to search like, not both");
        return LORE_INVALID;
    }
    if (!req->query && !req->like) {
        snprintf(err, errlen, "empty query");
        return LORE_INVALID;
    }
    if (!req->query) return LORE_OK;
    size_t qlen = strlen(req->query), bad = query_utf8_check(req->query, qlen);
    if (bad < qlen) {
        snprintf(err, errlen,
                 "the query is not valid UTF-8 (byte %zu is 0x%02x); send text encoded as UTF-8",
                 bad + 1, (unsigned char)req->query[bad]);
        return LORE_INVALID;
    }
    lore_status st = query_parse(req->query, qlen, ast, err, errlen);
    if (st != LORE_OK || !req->literal || !ast->n) return st;
    /* One plain clause with the text as given (the parser checked its
     * length); operators are just characters to the analyzer. */
    query_ast_free(ast);
    if (!(ast->clauses = calloc(1, sizeof *ast->clauses)) ||
        !(ast->clauses[0].text = strdup(req->query))) {
        query_ast_free(ast); /* frees the clause array, if any */
        snprintf(err, errlen, "out of memory");
        return LORE_NOMEM;
    }
    ast->clauses[0].kind = QUERY_WORDS;
    ast->n = 1;
    return LORE_OK;
}

const char *search_mode_name(search_mode m) {
    switch (m) {
    case SEARCH_MODE_LEXICAL:
        return "lexical";
    case SEARCH_MODE_SEMANTIC:
        return "semantic";
    case SEARCH_MODE_HYBRID:
        return "hybrid";
    default:
        return "default";
    }
}

int search_mode_parse(const char *s, search_mode *out) {
    static const search_mode all[] = {SEARCH_MODE_LEXICAL, SEARCH_MODE_SEMANTIC,
                                      SEARCH_MODE_HYBRID};
    for (size_t i = 0; i < 3; i++)
        if (!strcmp(s, search_mode_name(all[i]))) {
            *out = all[i];
            return 0;
        }
    return -1;
}

/* The words of the query for the embedder: every positive plain, phrase
 * and title clause, without the syntax (quotes, field names, exclusions,
 * source: and author: filters). Owned; "" when there are none. */
static char *plain_words(const search_request *req, const query_ast *ast) {
    if (req->literal) return strdup(req->query);
    size_t len = 1;
    for (size_t i = 0; i < ast->n; i++)
        len += strlen(ast->clauses[i].text) + 1;
    char *s = malloc(len), *o = s;
    if (!s) return NULL;
    for (size_t i = 0; i < ast->n; i++) {
        const query_clause *q = &ast->clauses[i];
        if (q->negated || q->kind == QUERY_SOURCE || q->kind == QUERY_AUTHOR) continue;
        if (o > s) *o++ = ' ';
        size_t n = strlen(q->text);
        memcpy(o, q->text, n);
        o += n;
    }
    *o = '\0';
    return s;
}

/* What one search runs: its mode, the compiled query, the semantic query. */
typedef struct run_state {
    search_mode mode;
    compiled *c;
    int lexical;   /* the lexical retriever runs */
    sem_query sem; /* sem.ready: the semantic one runs */
    int64_t like_rowid;
    lex_result lr;
    search_cand *lex, *vec;
    size_t nlex, nvec;
    search_fused *fused;
    size_t nfused;
} run_state;

/* The mode a request runs in; LORE_UNSUPPORTED when it needs an embedder
 * and none is configured. like= is lexical (it searches by words). */
static lore_status resolve_mode(search_engine *e, const search_request *req, search_mode *m,
                                char *err, size_t errlen) {
    *m = req->mode;
    if (*m == SEARCH_MODE_DEFAULT)
        *m = e->ctx->embedders && !req->like ? SEARCH_MODE_HYBRID : SEARCH_MODE_LEXICAL;
    if (*m != SEARCH_MODE_LEXICAL && !e->ctx->embedders) {
        snprintf(err, errlen,
                 "mode %s needs an embedder, and none is configured: set embed_url and "
                 "embed_model, or search with mode lexical",
                 search_mode_name(*m));
        return LORE_UNSUPPORTED;
    }
    if (req->like && *m != SEARCH_MODE_LEXICAL) {
        snprintf(err, errlen, "like= searches by the document's words: use mode lexical with it");
        return LORE_INVALID;
    }
    return LORE_OK;
}

/* Decides which retrievers run and embeds the query (before any read
 * snapshot: the provider may be slow). */
static lore_status plan(search_engine *e, const search_request *req, const query_ast *ast,
                        run_state *rs, search_response *out, char *err, size_t errlen) {
    compiled *c = rs->c;
    int scored = 0;
    for (size_t i = 0; i < c->nterms; i++)
        scored |= c->terms[i].role == LEX_SHOULD || c->terms[i].role == LEX_MUST;
    char *words = rs->mode == SEARCH_MODE_LEXICAL ? NULL : plain_words(req, ast);
    if (rs->mode != SEARCH_MODE_LEXICAL && !words) return LORE_NOMEM;
    int semantic = words && words[strspn(words, " \t\r\n")];
    rs->lexical = scored && rs->mode != SEARCH_MODE_SEMANTIC;
    lore_status st = LORE_OK;
    if (!scored && !semantic) {
        if (req->like) {
            snprintf(out->notice, sizeof out->notice,
                     "the document has no words to search by (only very common ones)");
        } else if (!c->stopped) {
            snprintf(err, errlen, "%s",
                     c->symbols ? "the query has no words to search for, only symbols, emoji or "
                                  "punctuation (they are not indexed)"
                                : "the query needs at least one word to search for");
            st = LORE_INVALID;
        } else {
            snprintf(out->notice, sizeof out->notice,
                     "the query has only very common words (stop words); nothing to rank by");
        }
    } else if (semantic) {
        st = sem_prepare(e, words, &rs->sem, out->notice, sizeof out->notice, out->semantic_error,
                         sizeof out->semantic_error, err, errlen);
        if (st == LORE_IO && rs->mode == SEARCH_MODE_HYBRID) {
            /* The lexical ranking alone, said so. */
            snprintf(out->notice, sizeof out->notice,
                     "semantic search is unavailable (see semantic_error): these are the "
                     "lexical hits only");
            err[0] = '\0';
            st = LORE_OK;
        }
    }
    free(words);
    return st;
}

/* Runs the retrievers inside the caller's read snapshot, then fuses. */
static lore_status retrieve(search_engine *e, const search_request *req, size_t window,
                            run_state *rs, search_response *out, char *err, size_t errlen) {
    compiled *c = rs->c;
    admit_ctx ac;
    admit_init(&ac, e, req, c);
    lore_status st = LORE_OK;
    if (rs->lexical) {
        size_t keep = req->max_terms ? req->max_terms : SEARCH_MAX_SCORED_TERMS;
        if (keep > LEX_MAX_QUERY_TERMS) keep = LEX_MAX_QUERY_TERMS;
        lex_query lq = {c->terms, c->nterms, window, search_admit, &ac, keep};
        if ((st = e->lex->search(e->lex_state, &lq, &rs->lr)) != LORE_OK) {
            snprintf(err, errlen, "search failed: %s", lore_status_message(st));
            return st;
        }
        if (rs->lr.n && !(rs->lex = malloc(rs->lr.n * sizeof *rs->lex))) return LORE_NOMEM;
        for (size_t i = 0; i < rs->lr.n; i++)
            rs->lex[i] =
                (search_cand){rs->lr.hits[i].chunk_id, rs->lr.hits[i].group, rs->lr.hits[i].score};
        rs->nlex = rs->lr.n;
    }
    if ((st = report_terms(c, &rs->lr, out)) != LORE_OK) return st;
    if (rs->sem.ready) {
        admit_ctx vc;
        admit_init(&vc, e, req, c);
        /* A filter or ACL that admits little sends the vector index to its
         * exact fallback, which asks about every chunk of the tenant: a
         * store read each (and a memo entry). Past the budget the search
         * answers with what it admitted, flagged truncated. */
        vc.budget =
            req->vector_admit_budget ? req->vector_admit_budget : SEARCH_VECTOR_ADMIT_BUDGET;
        st = sem_search(e, &rs->sem, window, &vc, &rs->vec, &rs->nvec, out->notice,
                        sizeof out->notice, err, errlen);
        if (st != LORE_OK) return st;
        ac.truncated |= vc.truncated;
    }
    out->truncated = ac.truncated;
    const tenant_settings *ts = &e->ctx->settings;
    search_fusion_params fp = {ts->rrf_k > 0 ? ts->rrf_k : 60, ts->w_lexical, ts->w_semantic};
    if ((st = search_fuse(&fp, rs->lex, rs->nlex, rs->vec, rs->nvec, &rs->fused, &rs->nfused)) !=
        LORE_OK)
        return st;
    if (rs->like_rowid) first_hit(rs->fused, rs->nfused, rs->like_rowid);
    return LORE_OK;
}

/* Cuts the page [skip, limit) out of the fused ranking and reads its hits. */
static lore_status build_page(search_engine *e, const search_request *req, run_state *rs,
                              size_t skip, size_t limit, search_response *out, char *err,
                              size_t errlen) {
    size_t n = rs->nfused;
    if (n > limit) {
        out->more = 1;
        n = limit;
    }
    out->postings_scored = rs->lr.postings_scored;
    out->postings_total = rs->lr.postings_total;
    if (n > skip && !(out->hits = calloc(n - skip, sizeof *out->hits))) return LORE_NOMEM;
    for (size_t i = skip; i < n; i++) {
        lore_status st = fill_hit(e, req, rs->c, &rs->fused[i], rs->mode, &out->hits[out->n]);
        if (st != LORE_OK) {
            snprintf(err, errlen, "reading hit %zu failed: %s", i + 1, lore_status_message(st));
            return st;
        }
        out->n++;
    }
    return LORE_OK;
}

static lore_status check_page(const search_request *req, size_t *limit, char *err, size_t errlen) {
    *limit = req->limit ? req->limit : SEARCH_DEFAULT_LIMIT;
    if (*limit > SEARCH_MAX_LIMIT) {
        snprintf(err, errlen, "limit %zu is above the maximum of %d", *limit, SEARCH_MAX_LIMIT);
        return LORE_INVALID;
    }
    if (req->offset > SEARCH_MAX_LIMIT - *limit) {
        snprintf(err, errlen, "offset %zu + limit %zu goes past the deepest page (%d hits)",
                 req->offset, *limit, SEARCH_MAX_LIMIT);
        return LORE_INVALID;
    }
    return LORE_OK;
}

lore_status search_run(search_engine *e, const search_request *req, search_response *out, char *err,
                       size_t errlen) {
    memset(out, 0, sizeof *out);
    err[0] = '\0';
    int64_t t0 = lore_mono_ns();
    size_t limit;
    lore_status st = check_page(req, &limit, err, errlen);
    if (st != LORE_OK) return st;
    size_t skip = req->offset;
    limit += skip;
    query_ast ast = {0};
    run_state rs = {0};
    int in_read = 0;
    if ((st = resolve_mode(e, req, &rs.mode, err, errlen)) != LORE_OK) return st;
    out->mode = rs.mode;
    if ((st = parse_request(req, &ast, err, errlen)) != LORE_OK) return st;
    if (!(rs.c = calloc(1, sizeof *rs.c))) {
        st = LORE_NOMEM;
        goto out;
    }
    strmap_init(&rs.c->strings);
    if (req->like) {
        if ((st = compile_like(e, req, rs.c, &rs.like_rowid, err, errlen)) != LORE_OK) goto out;
    } else if (!ast.n) {
        snprintf(err, errlen, "empty query");
        st = LORE_INVALID;
        goto out;
    } else if ((st = compile(e, &ast, rs.c, err, errlen)) != LORE_OK) {
        goto out;
    }
    if ((st = plan(e, req, &ast, &rs, out, err, errlen)) != LORE_OK) goto out;
    if (!rs.lexical && !rs.sem.ready) goto out; /* a notice says why */
    if ((st = store_begin_read(e->t)) != LORE_OK) goto out;
    in_read = 1;
    /* One hit more than the page tells whether another page exists.
     * like=: the document goes first on every page, wherever it ranks, so
     * the window reaches the deepest page: then each page cuts the same
     * order ([document] + the rest) and none repeats or misses a hit. */
    size_t window = rs.like_rowid ? SEARCH_MAX_LIMIT + 1 : limit + 1;
    /* Fusion ranks what each retriever returned, so every page of one
     * search must fuse the same depth, or pages would repeat or skip hits:
     * the first SEARCH_FUSION_DEPTH hits fuse that many from each side,
     * deeper pages the deepest page's worth. */
    if (rs.mode != SEARCH_MODE_LEXICAL)
        window = window <= SEARCH_FUSION_DEPTH ? SEARCH_FUSION_DEPTH : SEARCH_MAX_LIMIT + 1;
    if ((st = retrieve(e, req, window, &rs, out, err, errlen)) != LORE_OK) goto out;
    st = build_page(e, req, &rs, skip, limit, out, err, errlen);
out:
    if (in_read) store_end_read(e->t);
    lex_result_free(&rs.lr);
    free(rs.lex);
    free(rs.vec);
    free(rs.fused);
    sem_query_clear(&rs.sem);
    if (rs.c) compiled_free(rs.c);
    free(rs.c);
    query_ast_free(&ast);
    if (st != LORE_OK) search_response_free(out);
    out->took_us = (lore_mono_ns() - t0) / 1000;
    if (st != LORE_OK && !err[0]) snprintf(err, errlen, "%s", lore_status_message(st));
    return st;
}

void search_response_free(search_response *r) {
    for (size_t i = 0; i < r->n; i++) {
        search_hit *h = &r->hits[i];
        store_doc_free(h->doc);
        free(h->section);
        free(h->snippet);
        free(h->marks);
        free(h->text);
    }
    free(r->hits);
    r->hits = NULL;
    r->n = 0;
    for (size_t i = 0; i < r->ndropped; i++)
        free(r->dropped[i]);
    free(r->dropped);
    r->dropped = NULL;
    r->ndropped = r->dropped_total = 0;
}
