/* See jsonscan.h. */
#include "util/jsonscan.h"

int lore_json_depth_exceeds(const char *s, size_t n, int max) {
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > max) return 1;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return 0;
}
