/* phasetower: command-line entry point. Two tables: the model families
 * (train, eval and info go to the family of --model or of the checkpoint)
 * and the commands. Adding a family is one CLI file and a line here.
 * Exit codes: 0 ok, 1 runtime failure, 2 bad usage or bad input. */
#include <string.h>
#include "cli.h"

const cli_family cli_families[] = {
    {"tower", "a PhaseTower, trained in one backprop-free pass (the default)", cli_tower_train, cli_tower_eval,
     cli_tower_info},
    {"phasor", "a gradient-trained phasor MLP, for comparison", cli_phasor_train, cli_phasor_eval, cli_phasor_info},
    {"field", "a fractal neural field: a complex deep-equilibrium model on a torus", cli_field_train, cli_field_eval,
     cli_field_info},
    {NULL, NULL, NULL, NULL, NULL},
};

const cli_family *cli_family_find(const char *name)
{
    for (const cli_family *f = cli_families; name && f->name; f++)
        if (!strcmp(f->name, name)) return f;
    return NULL;
}

static int family_list(char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = '\0';
    for (const cli_family *f = cli_families; f->name && k < len; f++)
        k += (size_t)snprintf(buf + k, len - k, "%s%s", k ? (f[1].name ? ", " : " or ") : "", f->name);
    return 0;
}

/* train: the family named by --model (default: the first) */
static int run_train(int argc, char **argv)
{
    const char *name = cli_peek_opt(argc, argv, "model");
    const cli_family *f = name ? cli_family_find(name) : cli_families;
    if (!f) {
        char list[128];
        family_list(list, sizeof list);
        return cli_error("train", EXIT_USAGE, "--model '%s': expected %s", name, list);
    }
    return f->train(argc, argv);
}

/* eval and info: the family of the checkpoint's kind (--model F, or info's
 * positional F); without a model (e.g. --help), the first family. */
static int run_on_checkpoint(const char *cmd, int argc, char **argv, int positional)
{
    const char *path = cli_peek_opt(argc, argv, "model");
    for (int i = 2; positional && !path && i < argc; i++)
        if (strncmp(argv[i], "--", 2) != 0) path = argv[i];
    const cli_family *f = cli_families;
    char kind[32];
    if (path) {
        pt_status st = pt_ckpt_peek(path, kind, sizeof kind);
        if (st) return cli_error(cmd, cli_status_code(st), "%s", pt_errmsg());
        /* the text atlas is a command of its own (its data are texts): info shows it, eval points there */
        if (!strcmp(kind, "atlas") && !strcmp(cmd, "info")) return cli_atlas_info(argc, argv);
        /* so is the reservoir (its data are time series) */
        if (!strcmp(kind, "esn") && !strcmp(cmd, "info")) return cli_reservoir_info(argc, argv);
        if (!strcmp(kind, "esn"))
            return cli_error(cmd, EXIT_USAGE, "%s: an echo-state network: see 'phasetower reservoir --help'", path);
        if (!strncmp(kind, "atlas", 5))
            return cli_error(cmd, EXIT_USAGE, "%s: a text atlas%s file: see 'phasetower atlas --help'", path,
                             strcmp(kind, "atlas") ? " key" : "");
        if (!(f = cli_family_find(kind)))
            return cli_error(cmd, EXIT_USAGE, "%s: a '%s' model, which this build does not know", path, kind);
    }
    return !strcmp(cmd, "eval") ? f->eval(argc, argv) : f->info(argc, argv);
}

static int run_eval(int argc, char **argv) { return run_on_checkpoint("eval", argc, argv, 0); }
static int run_info(int argc, char **argv) { return run_on_checkpoint("info", argc, argv, 1); }

typedef struct command {
    const char *name, *summary;
    int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    {"train", "train a model (--model tower, phasor or field) and report test accuracy", run_train},
    {"eval", "evaluate a saved model on a data set", run_eval},
    {"info", "describe a saved model", run_info},
    {"compose", "add a new concept A+B to a model's episodic memory, without examples", cmd_compose},
    {"corrupt", "write a corrupted copy of a test set (the images eval --corrupt uses)", cmd_corrupt},
    {"export", "write a model as a standalone integer C99 classifier for microcontrollers", cmd_export},
    {"tpam", "capacity curve of a threshold phasor associative memory", cmd_tpam},
    {"atlas", "the coordinate text atlas: learn a book as x -> symbol (train, decode, key, info)", cmd_atlas},
    {"reservoir", "an echo-state network on a CSV time series (train, eval, generate, info)", cmd_reservoir},
    {NULL, NULL, NULL},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: phasetower <command> [options]\n\ncommands:\n");
    for (const command *c = commands; c->name; c++) fprintf(f, "  %-8s%s\n", c->name, c->summary);
    fprintf(f, "\nmodel families (train --model NAME; eval and info read it from the checkpoint):\n");
    for (const cli_family *m = cli_families; m->name; m++) fprintf(f, "  %-8s%s\n", m->name, m->summary);
    fprintf(f, "\nRun 'phasetower <command> --help' for the options of a command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *c = argv[1];
    if (!strcmp(c, "--help") || !strcmp(c, "-h") || !strcmp(c, "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(c, "--version")) {
        printf("phasetower 0.1.0\n");
        return EXIT_OK;
    }
    for (const command *k = commands; k->name; k++)
        if (!strcmp(c, k->name)) return k->run(argc, argv);
    return cli_error(NULL, EXIT_USAGE, "unknown command '%s' (try 'phasetower --help')", c);
}
