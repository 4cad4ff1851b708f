/* Composition root: the only file that knows every module. */
#include <stdio.h>

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    printf("lore %s\n", LORE_VERSION);
    return 0;
}
