/* util/dirutil.c: mkdir -p (nested, existing, a file in the way) and the
 * empty-directory check. */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "test.h"
#include "util/dirutil.h"

int main(void) {
    const char *base = test_tmpdir();
    char path[600], file[600];
    snprintf(path, sizeof path, "%s/a/b/c", base);
    CHECK_INT(lore_mkdir_p(path), 0);
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & 0777) == 0700);
    CHECK_INT(lore_mkdir_p(path), 0); /* already there */
    CHECK_INT(lore_dir_empty(path), 1);
    snprintf(file, sizeof file, "%s/a/b/c/f", base);
    FILE *f = fopen(file, "w");
    CHECK(f != NULL);
    if (f) fclose(f);
    CHECK_INT(lore_dir_empty(path), 0);
    /* a file where a directory should be: refused at once, saying why */
    errno = 0;
    CHECK_INT(lore_mkdir_p(file), -1);
    CHECK_INT(errno, ENOTDIR);
    snprintf(path, sizeof path, "%s/a/b/c/f/g", base);
    CHECK_INT(lore_mkdir_p(path), -1);
    CHECK_INT(lore_dir_empty(file), -1);
    test_rmtree(base);
    return test_summary();
}
