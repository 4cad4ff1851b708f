/* Fuzzes the whole query path: parsing, analysis, compilation, retrieval
 * with phrase checks, and snippets, against a small real tenant built once
 * at start-up. Any input must give LORE_OK or a clean error, never a crash,
 * leak or sanitizer report. */
#include "fuzz_tenant.h"
#include "search/query.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_tenant_open(
        "query",
        "{\"id\":\"a\",\"title\":\"Parental leave\",\"text\":\"Sixteen weeks of parental leave "
        "for every employee. State of the art benefits.\",\"acl\":[\"group:hr\"]}\n"
        "{\"id\":\"b\",\"title\":\"Deploy\",\"text\":\"Run deploy_service; HttpServerError E1234 "
        "at https://example.com/x mail ops@example.com \\u6771\\u4eac\\u90fd\"}\n"
        "{\"id\":\"c\",\"title\":\"Notes\",\"text\":\"leave leave leave the office early\","
        "\"author\":\"ann\"}\n");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    /* First byte picks the request options; the rest is the query. */
    uint8_t flags = data[0];
    char *q = malloc(size);
    memcpy(q, data + 1, size - 1);
    q[size - 1] = '\0';
    /* Most random bytes are not UTF-8 and are refused up front; with the top
     * bit set, each bad byte becomes '?' so the rest reaches the analyzer,
     * and few terms are kept, so term selection and dropping run too. */
    size_t qlen = strlen(q), bad, from = 0;
    if (flags & 0x80)
        while ((bad = from + query_utf8_check(q + from, qlen - from)) < qlen) {
            q[bad] = '?';
            from = bad + 1;
        }
    const char *principals[] = {"group:hr", "user:ann@example.com"};
    search_request req = {.query = q,
                          .limit = 1 + (flags & 7),
                          .literal = (flags >> 3) & 1,
                          .snippets = 1,
                          .with_text = (flags >> 4) & 1,
                          .all_access = (flags >> 5) & 1,
                          .principals = principals,
                          .nprincipals = (flags >> 6) & 1 ? 2 : 0,
                          .max_terms = flags & 0x80 ? 1 + (size & 3) : 0};
    search_response r;
    char err[256];
    if (search_run(fuzz_t.engine, &req, &r, err, sizeof err) == LORE_OK) {
        for (size_t i = 0; i < r.n; i++) {
            const search_hit *h = &r.hits[i];
            size_t sl = h->snippet ? strlen(h->snippet) : 0;
            for (size_t k = 0; k < h->nmarks; k++)
                if (h->marks[k].start >= h->marks[k].end || h->marks[k].end > sl) abort();
        }
        search_response_free(&r);
    }
    free(q);
    return 0;
}
