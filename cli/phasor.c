/* The phasor family on the command line (docs/phasor.md): train --model
 * phasor, eval and info of a phasor checkpoint. The gradient-trained complex
 * MLP that PhaseTower's local learning is compared with. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"

static const char *TRAIN_USAGE =
    "usage: phasetower train --model phasor [--data DIR] [--hidden 100] [--depth 1] [--act unit]\n"
    "                        [--epochs 2] [--lr 0.001] [--batch 128] [--seed 1] [--out F] [--json]\n\n"
    "Trains a phasor MLP: inputs encoded as exp(i pi x), --depth complex dense layers of\n"
    "--hidden units with the activation (unit: z/(|z|+eps), cardioid, modrelu, quant:\n"
    "--levels phases, trained straight-through), a real\n"
    "readout Re(V z); cross-entropy, hand-written Wirtinger gradients, Adam.";

/* Accuracy and microseconds per image of m on te. 0 or the exit code. */
static int accuracy(const cli_cmd *k, const pt_phasor *m, const pt_dataset *te, double *acc, double *us)
{
    uint8_t *pred = malloc(te->n ? te->n : 1);
    if (!pred) return cli_error(k->name, EXIT_RUNTIME, "out of memory");
    double t0 = cli_now();
    pt_status st = pt_phasor_predict(m, te->x, te->n, pred, NULL);
    double s = cli_now() - t0;
    size_t ok = 0;
    for (size_t i = 0; !st && i < te->n; i++) ok += pred[i] == te->y[i];
    free(pred);
    if (st) return cli_lib_error(k, st, NULL);
    *acc = te->n ? (double)ok / (double)te->n : 0.0;
    *us = te->n ? 1e6 * s / (double)te->n : 0.0;
    return 0;
}

typedef struct ptrain {
    pt_phasor_config c;
    const char *data, *out, *model, *act;
    int epochs, json, quiet, force;
    size_t train_limit, test_limit;
} ptrain;

/* Load the data, train --epochs, evaluate and save. */
static int train_run(const cli_cmd *k, ptrain *a, pt_phasor **m, pt_dataset *tr, pt_dataset *te, double *train_s,
                     double *acc, double *us, long long *ckpt)
{
    pt_status st;
    int rc = EXIT_OK;
    if ((st = pt_dataset_load(a->data, "train", a->train_limit, a->c.n_out, tr)) ||
        (st = pt_dataset_load(a->data, "t10k", a->test_limit, a->c.n_out, te)))
        return cli_lib_error(k, st, NULL);
    if (tr->dim != te->dim)
        return cli_error(k->name, EXIT_USAGE, "%s: train images have %zu pixels, test images %zu", a->data, tr->dim, te->dim);
    a->c.n_in = (int)tr->dim;
    if ((st = pt_phasor_create(&a->c, m))) return cli_lib_error(k, st, NULL);
    for (int e = 0; e < a->epochs; e++) {
        double t0 = cli_now();
        st = pt_phasor_train(*m, tr->x, tr->y, tr->n, NULL, NULL);
        *train_s += cli_now() - t0;
        if (st) return cli_lib_error(k, st, "training failed") == EXIT_USAGE ? EXIT_USAGE : EXIT_RUNTIME;
        if (!a->quiet && !a->json)
            fprintf(stderr, "epoch %d/%d: training loss %.4f, %.1f s\n", e + 1, a->epochs, pt_phasor_loss(*m), *train_s);
    }
    if ((rc = accuracy(k, *m, te, acc, us))) return rc;
    if (a->out) {
        if ((st = pt_phasor_save(*m, a->out))) return cli_lib_error(k, st, NULL);
        struct stat sb;
        if (stat(a->out, &sb) == 0) *ckpt = (long long)sb.st_size;
    }
    return 0;
}

int cli_phasor_train(int argc, char **argv)
{
    ptrain a = {.c = pt_phasor_config_default(), .data = PT_DEFAULT_DATA, .epochs = 2};
    pt_phasor_config *c = &a.c;
    opt opts[] = {
        {"model", OPT_STR, &a.model, "phasor", 0, 0, NULL, 0},
        OPT_DATA(&a.data),
        {"hidden", OPT_INT, &c->hidden, "units per hidden layer (default 100)", 1, 100000, "phasor.hidden", 0},
        {"depth", OPT_INT, &c->depth, "hidden layers (default 1)", 1, 16, "phasor.depth", 0},
        {"act", OPT_STR, &a.act, "unit (default), cardioid, modrelu or quant", 0, 0, "phasor.act", 0},
        {"eps", OPT_FLOAT, &c->eps, "eps of the unit-circle activation (default 0.001)", -1e30, 1e30, "phasor.eps", 0},
        {"modrelu-b", OPT_FLOAT, &c->modrelu_b, "initial bias of modrelu, learned per unit (default -0.1)", -1e6, 1e6, "phasor.modrelu_b", 0},
        {"levels", OPT_INT, &c->levels, "phase levels of quant (default 8)", -1e9, 1e9, "phasor.levels", 0},
        {"epochs", OPT_INT, &a.epochs, "passes over the training data (default 2)", 1, 1000, NULL, 0},
        {"lr", OPT_FLOAT, &c->lr, "Adam step (default 0.001)", -1e30, 1e30, "phasor.lr", 0},
        {"batch", OPT_INT, &c->batch, "mini-batch (default 128)", 1, 4096, "phasor.batch", 0},
        {"seed", OPT_U64, &c->seed, "random seed (default 1)", 1, 0, NULL, 0},
        OPT_TRAIN_LIMIT(&a.train_limit),
        OPT_TEST_LIMIT(&a.test_limit),
        OPT_OUT_MODEL(&a.out),
        OPT_FORCE(&a.force),
        {"json", OPT_FLAG, &a.json, "print one JSON object on stdout at the end", 0, 0, NULL, 0},
        {"quiet", OPT_FLAG, &a.quiet, "no progress lines", 0, 0, NULL, 0},
        OPT_END,
    };
    cli_cmd k = {"train", TRAIN_USAGE, opts, "a phasor network", "hidden depth batch"};
    CLI_PARSE(&k, argc, argv, NULL);
    int rc = EXIT_OK;
    pt_status st;
    if ((a.act && (st = pt_phasor_act_parse(a.act, &c->act))) || (st = pt_phasor_config_check(c)))
        return cli_lib_error(&k, PT_EINVAL, NULL);
    if (a.out && (rc = cli_check_out(k.name, "--out", a.out, a.force))) return rc;
    pt_set_threads(1);
    pt_dataset tr = {0}, te = {0};
    pt_phasor *m = NULL;
    double train_s = 0.0, acc = 0.0, us = 0.0;
    long long ckpt = -1;
    if (!(rc = train_run(&k, &a, &m, &tr, &te, &train_s, &acc, &us, &ckpt))) {
        size_t params = pt_phasor_param_count(m);
        cli_report *r = rep_new(a.json);
        if (r) {
            rep_str(r, "model", "phasor"), rep_num(r, "test_accuracy", acc, 6), rep_num(r, "train_seconds", train_s, 4);
            rep_int(r, "samples", (long long)tr.n), rep_int(r, "epochs", a.epochs), rep_int(r, "params", (long long)params);
            rep_int(r, "model_bytes", (long long)(params * sizeof(float))), rep_int(r, "checkpoint_bytes", ckpt);
            rep_int(r, "test_samples", (long long)te.n), rep_num(r, "infer_us_per_image", us, 3);
            rep_num(r, "train_loss", pt_phasor_loss(m), 6), rep_int(r, "hidden", c->hidden), rep_int(r, "depth", c->depth);
            rep_str(r, "act", pt_phasor_act_name(c->act)), rep_float(r, "lr", c->lr), rep_int(r, "batch", c->batch);
            rep_int(r, "seed", (long long)c->seed);
            rep_text(r, "trained a phasor MLP %d-%d(x%d)-%d (%s) on %zu samples in %.2f s (%d epoch%s, Adam lr %g)\n",
                     c->n_in, c->hidden, c->depth, c->n_out, pt_phasor_act_name(c->act), tr.n, train_s, a.epochs,
                     a.epochs == 1 ? "" : "s", (double)c->lr);
            rep_text(r, "test accuracy %.2f%% (%zu samples, %.1f us/image)\n", 100.0 * acc, te.n, us);
            rep_text(r, "parameters %zu (%.2f MB as float32)", params, 4e-6 * (double)params);
            if (a.out) rep_text(r, ", saved to %s (%lld bytes)", a.out, ckpt);
            rep_text(r, "\n");
        }
        rc = rep_end(r);
    }
    pt_phasor_destroy(m);
    pt_dataset_free(&tr);
    pt_dataset_free(&te);
    return rc;
}

static const char *INFO_USAGE = "usage: phasetower info [--json] MODEL\n\nDescribes a checkpoint written by 'phasetower train'.";

static const char *EVAL_USAGE =
    "usage: phasetower eval --model F [--data DIR] [--test-limit N] [--spiking T] [--json]\n\n"
    "Evaluates a saved phasor network on the t10k images and labels of DIR\n"
    "(default " PT_DEFAULT_DATA "); --spiking T also runs its event-driven\n"
    "spiking execution with T time bins per cycle (unit-circle networks).";

/* Load a phasor checkpoint: the network alone, every tensor accounted for. */
static int load(const cli_cmd *k, const char *path, pt_phasor **m)
{
    pt_ckpt *ck = NULL;
    pt_status st = pt_ckpt_open(path, &ck);
    if (!st) st = pt_phasor_from_ckpt(ck, m);
    if (!st) st = pt_ckpt_finish(ck);
    pt_ckpt_close(ck);
    if (st) {
        pt_phasor_destroy(*m);
        *m = NULL;
        return cli_lib_error(k, st, NULL);
    }
    return 0;
}

/* Accuracy of the spiking execution, images per second and spikes per image. */
static int spiking(const cli_cmd *k, const pt_phasor *m, const pt_dataset *te, int T, double out[3])
{
    uint8_t *sp = malloc(te->n ? te->n : 1);
    double t0 = cli_now();
    pt_status st = sp ? pt_phasor_predict_spiking(m, te->x, te->n, T, sp, &out[2]) : PT_ENOMEM;
    double s = cli_now() - t0;
    size_t ok = 0;
    for (size_t i = 0; !st && i < te->n; i++) ok += sp[i] == te->y[i];
    free(sp);
    if (st) return st == PT_ENOMEM ? cli_error(k->name, EXIT_RUNTIME, "out of memory") : cli_lib_error(k, st, "--spiking");
    out[0] = te->n ? (double)ok / (double)te->n : 0.0, out[1] = s > 0.0 ? (double)te->n / s : 0.0;
    return 0;
}

int cli_phasor_eval(int argc, char **argv)
{
    const char *model = NULL, *data = PT_DEFAULT_DATA;
    size_t limit = 0;
    int json = 0, T = 0, threads = 1;
    opt opts[] = {
        {"model", OPT_STR, &model, "checkpoint written by train --model phasor (required)", 0, 0, NULL, 0},
        OPT_DATA(&data),
        OPT_TEST_LIMIT(&limit),
        {"spiking", OPT_INT, &T, "also run the event-driven spiking execution with T time bins per cycle", -1e9, 1e9, NULL, 0},
        {"threads", OPT_INT, &threads, "accepted for symmetry with towers; phasor runs use one thread", 1, 256, NULL, 0},
        OPT_JSON(&json),
        OPT_END,
    };
    cli_cmd k = {"eval", EVAL_USAGE, opts, "a phasor network", NULL};
    CLI_PARSE(&k, argc, argv, NULL);
    int rc = EXIT_OK;
    if (!model) return cli_error(k.name, EXIT_USAGE, "--model is required (see --help)");
    if (T && (T < 2 || T > 32767)) return cli_error(k.name, EXIT_USAGE, "--spiking %d: T must lie in 2..32767", T);
    pt_set_threads(1);
    pt_phasor *m = NULL;
    pt_dataset te = {0};
    pt_status st;
    double acc = 0.0, us = 0.0, sp[3] = {0};
    if ((rc = load(&k, model, &m))) return rc;
    const pt_phasor_config *c = pt_phasor_get_config(m);
    if ((st = pt_dataset_load(data, "t10k", limit, c->n_out, &te))) rc = cli_lib_error(&k, st, NULL);
    else if ((int)te.dim != c->n_in)
        rc = cli_error(k.name, EXIT_USAGE, "%s: images have %zu pixels, the model expects %d", data, te.dim, c->n_in);
    else if (!(rc = accuracy(&k, m, &te, &acc, &us)) && !(T && (rc = spiking(&k, m, &te, T, sp)))) {
        cli_report *r = rep_new(json);
        if (r) {
            rep_str(r, "model", "phasor"), rep_num(r, "accuracy", acc, 6), rep_int(r, "samples", (long long)te.n);
            rep_num(r, "infer_us_per_image", us, 3);
            rep_text(r, "accuracy %.2f%% on %zu samples (%.1f us/image)\n", 100.0 * acc, te.n, us);
            if (T) {
                rep_int(r, "spiking", T), rep_num(r, "accuracy_spiking", sp[0], 6);
                rep_num(r, "spiking_images_per_s", sp[1], 1), rep_num(r, "spikes_per_image", sp[2], 1);
                rep_text(r, "spiking execution, T = %d bins: accuracy %.2f%% (%+.2f points), %.0f images/s one at a time, "
                            "%.0f spikes per image\n",
                         T, 100.0 * sp[0], 100.0 * (sp[0] - acc), sp[1], sp[2]);
            }
        }
        rc = rep_end(r);
    }
    pt_dataset_free(&te);
    pt_phasor_destroy(m);
    return rc;
}

int cli_phasor_info(int argc, char **argv)
{
    const char *path = NULL;
    int json = 0, rc = cli_info_args(INFO_USAGE, argc, argv, &path, &json);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    opt none[] = {OPT_END};
    cli_cmd k = {"info", INFO_USAGE, none, NULL, NULL};
    pt_phasor *m = NULL;
    if ((rc = load(&k, path, &m))) return rc;
    const pt_phasor_config *c = pt_phasor_get_config(m);
    struct stat sb;
    long long bytes = stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
    cli_report *r = rep_new(json);
    if (r) {
        rep_str(r, "model", "phasor"), rep_int(r, "n_in", c->n_in), rep_int(r, "n_classes", c->n_out);
        rep_int(r, "hidden", c->hidden), rep_int(r, "depth", c->depth), rep_str(r, "act", pt_phasor_act_name(c->act));
        rep_float(r, "eps", c->eps), rep_int(r, "params", (long long)pt_phasor_param_count(m)), rep_int(r, "file_bytes", bytes);
        rep_int(r, "seed", (long long)c->seed);
        rep_text(r, "%s: phasor MLP %d-%d(x%d)-%d, %s activation (eps %g), %zu parameters, %lld bytes\n", path, c->n_in,
                 c->hidden, c->depth, c->n_out, pt_phasor_act_name(c->act), (double)c->eps, pt_phasor_param_count(m), bytes);
    }
    rc = rep_end(r);
    pt_phasor_destroy(m);
    return rc;
}
