/* Upload spooling against the real server: the spool files a kill -9 left in
 * DATA_DIR/tmp are removed at the next start (a live server's are kept), an
 * upload during the run leaves none behind, and a bad `source` form field
 * is refused as for JSON documents. */
#include <dirent.h>
#include <sys/stat.h>

#include "api/api_test.h"

static int exists(const char *dir, const char *name) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat st;
    return stat(p, &st) == 0;
}

static void touch(const char *dir, const char *name) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("half an upload", f);
        fclose(f);
    }
}

static int spool_files(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (!strncmp(e->d_name, "upload-", 7)) n++;
    if (d) closedir(d);
    return n;
}

int main(void) {
    curl_global_init(CURL_GLOBAL_ALL);
    /* What a killed server leaves: an old-style name without a pid, a name
     * whose pid is dead (pids never reach 10^9 on Linux), and one whose pid
     * lives (this test: another server on the same directory). Files that
     * are not spool files are never touched. */
    const char *dir = test_tmpdir();
    char tmp[600], live[64];
    snprintf(tmp, sizeof tmp, "%s/tmp", dir);
    CHECK(mkdir(tmp, 0700) == 0);
    snprintf(live, sizeof live, "upload-%ld-Abc123", (long)getpid());
    touch(tmp, "upload-Q1w2E3");
    touch(tmp, "upload-999999999-Zx9Yw8");
    touch(tmp, live);
    touch(tmp, "notes.txt");

    test_server s;
    if (test_server_start(&s, dir, NULL)) return 1;
    CHECK(!exists(tmp, "upload-Q1w2E3"));
    CHECK(!exists(tmp, "upload-999999999-Zx9Yw8"));
    CHECK(exists(tmp, live));
    CHECK(exists(tmp, "notes.txt"));
    char log[700], line[512];
    snprintf(log, sizeof log, "%s/server.log", dir);
    FILE *f = fopen(log, "r");
    int logged = 0;
    while (f && fgets(line, sizeof line, f))
        logged |= strstr(line, "removed 2 upload spool file(s)") != NULL;
    if (f) fclose(f);
    CHECK(logged);

    /* A bad source is refused with its pointer, as for POST /v1/documents. */
    static const char bad[] =
        "--XX\r\nContent-Disposition: form-data; name=\"source\"\r\n\r\nwiki pages\r\n"
        "--XX\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.txt\"\r\n\r\n"
        "kumquat\r\n--XX--\r\n";
    test_resp r = test_http(&s, "POST", "/v1/files", s.admin_key,
                            "multipart/form-data; boundary=XX", bad, sizeof bad - 1, NULL);
    CHECK_INT(r.status, 400);
    CHECK_STR(test_problem_type(&r), "invalid-field");
    CHECK_STR(json_string_value(json_object_get(r.json, "pointer")), "/source");
    test_resp_free(&r);

    /* A good upload spools, moves to the blobs and leaves no spool file. */
    static const char good[] =
        "--XX\r\nContent-Disposition: form-data; name=\"source\"\r\n\r\nwiki.pages:v2\r\n"
        "--XX\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.txt\"\r\n\r\n"
        "kumquat\r\n--XX--\r\n";
    r = test_http(&s, "POST", "/v1/files?wait=10", s.admin_key, "multipart/form-data; boundary=XX",
                  good, sizeof good - 1, NULL);
    CHECK_INT(r.status, 200);
    test_resp_free(&r);
    CHECK_INT(spool_files(tmp), 1); /* only the live pid's */

    CHECK_INT(test_server_stop(&s, SIGTERM), 0);
    test_rmtree(dir);
    curl_global_cleanup();
    return test_summary();
}
