/* phasetower eval: accuracy of a saved model on the t10k split of a directory. */
#include "cli.h"

static const char *USAGE =
    "usage: phasetower eval --model F [--data DIR] [--test-limit N] [--json]\n\n"
    "Evaluates a saved PhaseTower on the t10k images and labels of DIR\n"
    "(default " PT_DEFAULT_DATA ").";

int cmd_eval(int argc, char **argv)
{
    const char *cmd = "eval", *model = NULL, *data = PT_DEFAULT_DATA;
    size_t limit = 0;
    int json = 0, threads = 1;
    opt opts[] = {
        {"model", OPT_STR, &model, "checkpoint written by train (required)", 0, 0, 0},
        {"data", OPT_STR, &data, "MNIST-format directory (default " PT_DEFAULT_DATA ")", 0, 0, 0},
        {"test-limit", OPT_SIZE, &limit, "use only the first N test samples", 1, 1e9, 0},
        {"threads", OPT_INT, &threads, "threads for BLAS (default 1)", 1, 256, 0},
        {"json", OPT_FLAG, &json, "print one JSON object on stdout", 0, 0, 0},
        {NULL, OPT_FLAG, NULL, NULL, 0, 0, 0},
    };
    int rc = cli_parse(cmd, USAGE, opts, argc, argv, 2, NULL);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if (!model) return cli_error(cmd, EXIT_USAGE, "--model is required (see --help)");
    pt_set_threads(threads);
    pt_tower *t = NULL;
    pt_dataset te = {0};
    pt_status st = pt_tower_load(model, &t);
    if (st) return cli_error(cmd, cli_status_code(st), "%s", pt_errmsg());
    const pt_tower_config *c = pt_tower_get_config(t);
    if ((st = pt_dataset_load(data, "t10k", limit, c->n_classes, &te))) {
        rc = cli_error(cmd, cli_status_code(st), "%s", pt_errmsg());
        goto done;
    }
    if ((int)te.dim != c->n_in) {
        rc = cli_error(cmd, EXIT_USAGE, "%s: images have %zu pixels, the model expects %d", data, te.dim, c->n_in);
        goto done;
    }
    double t0 = cli_now(), acc = 0.0;
    if ((st = pt_tower_accuracy(t, &te, &acc))) {
        rc = cli_error(cmd, cli_status_code(st), "%s", pt_errmsg());
        goto done;
    }
    double s = cli_now() - t0;
    if (json)
        printf("{\"accuracy\": %.6f, \"seconds\": %.4f, \"samples\": %zu, \"infer_us_per_image\": %.3f, "
               "\"infer_us_single\": %.3f}\n",
               acc, s, te.n, 1e6 * s / (double)te.n, cli_single_latency_us(t, &te));
    else
        printf("accuracy %.2f%% on %zu samples in %.2f s (%.1f us/image)\n", 100.0 * acc, te.n, s, 1e6 * s / (double)te.n);
done:
    pt_tower_destroy(t);
    pt_dataset_free(&te);
    return rc;
}
