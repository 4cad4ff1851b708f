/* Directory helpers; see dirutil.h. */
#include "util/dirutil.h"

#include <dirent.h>
#include <string.h>

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
