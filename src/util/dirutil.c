/* Directory helpers; see dirutil.h. */
#include "util/dirutil.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

int lore_dir_empty(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *ent;
    int empty = 1;
    while (empty && (ent = readdir(d)))
        empty = !strcmp(ent->d_name, ".") || !strcmp(ent->d_name, "..");
    closedir(d);
    return empty;
}

int lore_mkdir_p(const char *path) {
    char tmp[4096];
    size_t len = strlen(path);
    if (len >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(tmp, path, len + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0700) == 0) return 0;
    struct stat sb;
    if (errno != EEXIST || stat(tmp, &sb) != 0) return -1;
    if (!S_ISDIR(sb.st_mode)) { /* a file by that name: say so now, not at its first use */
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}
