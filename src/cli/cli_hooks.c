/* The test hooks' slot (cli_hooks.h): empty unless lore-test fills it. */
#include "cli/cli_hooks.h"

#include <stddef.h>

const cli_test_hooks *cli_test_hooks_installed = NULL;
