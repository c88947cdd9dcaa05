/* phasetower compose: invent a new class in a model's episodic memory by
 * adding the phases of stored exemplars of two concepts (paper section 7),
 * without any example of the new class. The checkpoint is rewritten only on
 * success (atomically); on any error it is left as it was. */
#include <string.h>
#include "cli.h"

static const char *USAGE =
    "usage: phasetower compose --model F --a A --b B --name NAME [--tau 0.9] [--pairs 50]\n"
    "                         [--fanout 1] [--guard 0] [--threads 1] [--out G]\n\n"
    "Adds the concept A+B to the model's episodic memory: the i-th stored exemplars\n"
    "of A and B (up to --pairs; with --fanout R each exemplar of A with R of B)\n"
    "give composite keys normalize(z_A + z_B), each stored vector with the length\n"
    "it had (so, on a dense code, the key of the blend of the two exemplars). Each\n"
    "one whose best similarity to the memory is below --tau is stored under NAME,\n"
    "unless --guard G refuses it: a composite is refused when it is among the k\n"
    "nearest of a stored entry (that entry left out) of which G or more are\n"
    "composites, so the new concept does not capture what the memory recalls.\n"
    "A and B are class numbers or names of composed concepts, so compositions nest.\n"
    "The composite of two near-orthogonal keys has similarity >= 0.71 to each of\n"
    "them, so --tau must be above that. Writes G (default: F itself).\n\n"
    "Blended images are recalled as A+B only from a memory of dense codes (train\n"
    "--memory-code dense) with room for the new entries, every exemplar paired:\n"
    "--pairs 10000 --tau 1, best with frame keys (train --memory-key frame) and\n"
    "--fanout 3 --guard 2 (docs/memory.md). A full memory overwrites its oldest\n"
    "slots. The guard takes about 13 s for 60,000 stored entries (docs/memory.md).";

int cmd_compose(int argc, char **argv)
{
    const char *cmd = "compose", *model = NULL, *a = NULL, *b = NULL, *name = NULL, *out = NULL;
    pt_compose_opts o = {0.9f, 50, 1, 0, 0, NULL};
    int threads = 1, force = 0;
    opt opts[] = {
        {"model", OPT_STR, &model, "checkpoint with an episodic memory (required)", 0, 0, NULL, 0},
        {"a", OPT_STR, &a, "first concept: a class number or a composed name (required)", 0, 0, NULL, 0},
        {"b", OPT_STR, &b, "second concept (required)", 0, 0, NULL, 0},
        {"name", OPT_STR, &name, "name of the new concept (required)", 0, 0, "compose.name", 0},
        {"tau", OPT_FLOAT, &o.tau, "store composites whose best similarity is below this (default 0.9)", 1e-6, 1, "compose.tau", 0},
        {"pairs", OPT_INT, &o.pairs, "exemplar pairs to compose (default 50)", 1, 10000, "compose.pairs", 0},
        {"fanout", OPT_INT, &o.fanout, "pair each exemplar of A with this many of B (default 1)", 1, 16, "compose.fanout", 0},
        {"guard", OPT_INT, &o.guard, "refuse composites that make up this many of a stored entry's k nearest (default 0: off)", 0, 10000000, "compose.guard", 0},
        OPT_THREADS(&threads),
        {"out", OPT_STR, &out, "write the model here instead of over --model", 0, 0, NULL, 0},
        OPT_FORCE(&force),
        OPT_END,
    };
    cli_cmd k = {cmd, USAGE, opts, NULL, NULL};
    CLI_PARSE(&k, argc, argv, NULL);
    int rc = EXIT_OK;
    if (!model || !a || !b || !name) return cli_error(cmd, EXIT_USAGE, "--model, --a, --b and --name are required (see --help)");
    const char *flag = out ? "--out" : "--model";
    if (!out) out = model;
    pt_set_threads(threads);
    if ((rc = cli_check_out(cmd, flag, out, force))) return rc;
    pt_tower *t = NULL;
    pt_memory *m = NULL;
    pt_status st;
    if ((rc = cli_load_tower(&k, model, &t, &m))) return rc;
    if (!m) {
        rc = cli_error(cmd, EXIT_USAGE, "%s: has no episodic memory (train with --memory)", model);
        goto done;
    }
    o.n_base = pt_tower_get_config(t)->n_classes;
    o.name = name;
    int la = pt_memory_find(m, a), lb = pt_memory_find(m, b);
    if (la < 0 || lb < 0) {
        rc = cli_error(cmd, EXIT_USAGE, "--%s '%s': not a class number or a composed concept", la < 0 ? "a" : "b",
                       la < 0 ? a : b);
        goto done;
    }
    int label = -1;
    size_t added = 0, refused = 0, before = pt_memory_count(m);
    if ((st = pt_memory_compose(m, la, lb, &o, &label, &added, &refused))) {
        rc = cli_lib_error(&k, st, NULL);
        goto done;
    }
    if ((st = cli_save_tower(t, m, out))) {
        rc = cli_lib_error(&k, st, NULL);
        goto done;
    }
    printf("added concept '%s' (label %d) from %s and %s: %zu composite entries; memory now holds %zu", name, label, a,
           b, added, pt_memory_count(m));
    if (o.guard) printf(" (the guard refused %zu)", refused);
    size_t lost = before + added - pt_memory_count(m); /* a full circular buffer overwrites its oldest slots */
    if (lost) printf(" (the memory was full: %zu of its oldest entries were overwritten; train with a larger --memory-size)", lost);
    printf("\n");
done:
    pt_memory_destroy(m);
    pt_tower_destroy(t);
    return rc;
}
