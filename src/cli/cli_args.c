/* Option parsing for the commands: GNU-style long options (--name value,
 * --name=value), short options (-n value), flags, `--` to end options, and
 * the options every command shares. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const cli_opt common_opts[] = {
    {"data-dir", 0, "DIR", 0, "data directory (setting data_dir, default ~/.local/share/lore)"},
    {"config", 0, "FILE", 0, "read settings from FILE (default: $LORE_CONFIG if set)"},
    {"log-level", 0, "LEVEL", 0, "debug, info, warn, error or off"},
    {"help", 'h', NULL, 0, "show this help"},
};
#define NCOMMON (sizeof common_opts / sizeof common_opts[0])

int cli_error(const char *cmd, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "lore %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

static const cli_opt *opt_at(const cli_args *a, size_t i) {
    return i < a->nopts ? &a->opts[i] : &common_opts[i - a->nopts];
}

static long find_long(const cli_args *a, const char *name, size_t len) {
    for (size_t i = 0; i < a->nopts + NCOMMON; i++) {
        const cli_opt *o = opt_at(a, i);
        if (strlen(o->name) == len && !strncmp(o->name, name, len)) return (long)i;
    }
    return -1;
}

static long find_short(const cli_args *a, char c) {
    for (size_t i = 0; i < a->nopts + NCOMMON; i++)
        if (opt_at(a, i)->short_name == c) return (long)i;
    return -1;
}

void cli_print_help(FILE *f, const char *cmd, const cli_help *help, const cli_opt *opts,
                    size_t nopts) {
    fprintf(f, "usage: %s\n\n%s\n", help->usage, help->summary);
    if (help->details) fprintf(f, "\n%s\n", help->details);
    fprintf(f, "\noptions:\n");
    for (size_t i = 0; i < nopts + NCOMMON; i++) {
        const cli_opt *o = i < nopts ? &opts[i] : &common_opts[i - nopts];
        char left[64];
        int n = 0;
        if (o->short_name)
            n = snprintf(left, sizeof left, "-%c, --%s", o->short_name, o->name);
        else
            n = snprintf(left, sizeof left, "    --%s", o->name);
        if (o->metavar && n < (int)sizeof left)
            snprintf(left + n, sizeof left - (size_t)n, " %s", o->metavar);
        fprintf(f, "  %-28s %s%s\n", left, o->help, o->repeat ? " (repeatable)" : "");
    }
    if (help->examples) fprintf(f, "\nexamples:\n%s\n", help->examples);
    (void)cmd;
}

int cli_parse(const char *cmd, const cli_help *help, const cli_opt *opts, size_t nopts, int argc,
              char **argv, cli_args *out) {
    memset(out, 0, sizeof *out);
    out->cmd = cmd;
    out->opts = opts;
    out->nopts = nopts;
    if (nopts + NCOMMON > 32) return cli_error(cmd, CLI_USAGE, "internal: too many options");
    out->pos = calloc((size_t)argc + 1, sizeof *out->pos);
    if (!out->pos) return cli_error(cmd, CLI_FAIL, "out of memory");
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        if (only_pos || arg[0] != '-' || !arg[1]) {
            out->pos[out->npos++] = arg;
            continue;
        }
        if (!strcmp(arg, "--")) {
            only_pos = 1;
            continue;
        }
        long idx;
        const char *inline_val = NULL;
        if (arg[1] == '-') {
            const char *name = arg + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            idx = find_long(out, name, len);
            if (idx < 0)
                return cli_error(cmd, CLI_USAGE, "unknown option --%.*s (see lore %s --help)",
                                 (int)len, name, cmd);
            if (eq) inline_val = eq + 1;
        } else {
            idx = find_short(out, arg[1]);
            if (idx < 0)
                return cli_error(cmd, CLI_USAGE, "unknown option -%c (see lore %s --help)", arg[1],
                                 cmd);
            if (arg[2]) inline_val = arg + 2;
        }
        const cli_opt *o = opt_at(out, (size_t)idx);
        if (!strcmp(o->name, "help")) {
            cli_print_help(stdout, cmd, help, opts, nopts);
            return -1;
        }
        const char *val = "1";
        if (o->metavar) {
            if (inline_val)
                val = inline_val;
            else if (i + 1 < argc)
                val = argv[++i];
            else
                return cli_error(cmd, CLI_USAGE, "option --%s needs a value (%s)", o->name,
                                 o->metavar);
        } else if (inline_val) {
            return cli_error(cmd, CLI_USAGE, "option --%s takes no value", o->name);
        }
        size_t *nv = &out->nvalues[idx];
        if (*nv && !o->repeat && o->metavar) {
            out->values[idx][0] = val; /* the last one wins */
            continue;
        }
        if (*nv == CLI_MAX_VALUES)
            return cli_error(cmd, CLI_USAGE, "option --%s given more than %d times", o->name,
                             CLI_MAX_VALUES);
        out->values[idx][(*nv)++] = val;
    }
    return CLI_OK;
}

void cli_args_free(cli_args *a) {
    free(a->pos);
    a->pos = NULL;
}

const char *cli_get(const cli_args *a, const char *name) {
    long i = find_long(a, name, strlen(name));
    if (i < 0 || !a->nvalues[i]) return NULL;
    return a->values[i][a->nvalues[i] - 1];
}

size_t cli_get_all(const cli_args *a, const char *name, const char *const **values) {
    long i = find_long(a, name, strlen(name));
    if (i < 0) {
        *values = NULL;
        return 0;
    }
    *values = a->values[i];
    return a->nvalues[i];
}

int cli_flag(const cli_args *a, const char *name) {
    return cli_get(a, name) != NULL;
}
