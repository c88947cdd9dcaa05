/* phasetower corrupt: write the t10k split of a data set, corrupted exactly as
 * 'eval --corrupt' does (same spec and seed give the same images), as an
 * MNIST-format directory, so that other tools (the PyTorch baseline in bench/)
 * are measured on the very same images. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"

static const char *USAGE =
    "usage: phasetower corrupt --corrupt SPEC --out DIR [--data DIR] [--seed 1] [--test-limit N]\n\n"
    "Writes DIR/t10k-images-idx3-ubyte.gz and DIR/t10k-labels-idx1-ubyte.gz: the test\n"
    "images of --data corrupted by SPEC (rotate:LO-HI, turn:DEGREES or noise:SIGMA)\n"
    "with --seed,\n"
    "exactly as 'phasetower eval --corrupt SPEC --seed N' sees them (pixels rounded\n"
    "to bytes). DIR is created if missing (and removed again if the command fails).";

int cmd_corrupt(int argc, char **argv)
{
    const char *cmd = "corrupt", *data = PT_DEFAULT_DATA, *spec = NULL, *out = NULL;
    size_t limit = 0;
    uint64_t seed = 1;
    int force = 0;
    opt opts[] = {
        OPT_DATA(&data),
        {"corrupt", OPT_STR, &spec, "rotate:LO-HI, turn:DEGREES or noise:SIGMA (required)", 0, 0, "corruption", 0},
        {"out", OPT_STR, &out, "directory to write (required)", 0, 0, NULL, 0},
        {"seed", OPT_U64, &seed, "seed of the corruption (default 1)", 1, 0, NULL, 0},
        OPT_TEST_LIMIT(&limit),
        OPT_FORCE(&force),
        OPT_END,
    };
    cli_cmd k = {cmd, USAGE, opts, NULL, NULL};
    CLI_PARSE(&k, argc, argv, NULL);
    int rc = EXIT_OK;
    if (!spec || !out) return cli_error(cmd, EXIT_USAGE, "--corrupt and --out are required (see --help)");
    pt_corrupt c;
    pt_status st = pt_corrupt_parse(spec, &c);
    if (st) return cli_lib_error(&k, st, NULL);
    static const char *const names[] = {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", NULL};
    if ((rc = cli_check_out_dir(cmd, "--out", out, names, force))) return rc;
    pt_dataset te = {0};
    struct stat sb;
    int made = 0; /* DIR is created only to write into, and removed again (if empty) when that fails */
    if ((st = pt_dataset_load(data, "t10k", limit, 256, &te)) ||
        (st = pt_corrupt_apply(&c, te.x, te.n, te.rows, te.cols, seed, 0))) {
        rc = cli_lib_error(&k, st, NULL);
    } else if (stat(out, &sb) != 0 && !(made = mkdir(out, 0777) == 0)) {
        rc = cli_error(cmd, EXIT_USAGE, "--out %s: cannot create the directory: %s", out, strerror(errno));
    } else if ((st = pt_dataset_write(&te, out, "t10k"))) {
        rc = cli_lib_error(&k, st, NULL);
        if (made) rmdir(out);
    } else
        printf("wrote %zu test images corrupted by %s (seed %llu) to %s\n", te.n, spec, (unsigned long long)seed, out);
    pt_dataset_free(&te);
    return rc;
}
