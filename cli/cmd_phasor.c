/* phasetower train --model phasor / eval / info of a phasor network
 * (docs/phasor.md): the gradient-trained complex MLP that PhaseTower's local
 * learning is compared with. */
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

static int phasor_eval(const char *cmd, const pt_phasor_mlp *m, const pt_dataset *te, double *acc, double *us)
{
    uint8_t *pred = malloc(te->n ? te->n : 1);
    if (!pred) return cli_error(cmd, EXIT_RUNTIME, "out of memory");
    double t0 = cli_now();
    pt_status st = pt_phasor_predict(m, te->x, te->n, pred, NULL);
    double s = cli_now() - t0;
    if (st) {
        free(pred);
        return cli_error(cmd, cli_status_code(st), "%s", pt_errmsg());
    }
    size_t ok = 0;
    for (size_t i = 0; i < te->n; i++) ok += pred[i] == te->y[i];
    *acc = te->n ? (double)ok / (double)te->n : 0.0;
    *us = te->n ? 1e6 * s / (double)te->n : 0.0;
    free(pred);
    return 0;
}

int cmd_train_phasor(int argc, char **argv)
{
    const char *cmd = "train", *data = PT_DEFAULT_DATA, *out = NULL, *model = NULL, *act = NULL;
    pt_phasor_config c = pt_phasor_config_default();
    int epochs = 2, json = 0, quiet = 0;
    size_t train_limit = 0, test_limit = 0;
    opt opts[] = {
        {"model", OPT_STR, &model, "phasor", 0, 0, 0},
        {"data", OPT_STR, &data, "MNIST-format directory (default " PT_DEFAULT_DATA ")", 0, 0, 0},
        {"hidden", OPT_INT, &c.hidden, "units per hidden layer (default 100)", 1, 100000, 0},
        {"depth", OPT_INT, &c.depth, "hidden layers (default 1)", 1, 16, 0},
        {"act", OPT_STR, &act, "unit (default), cardioid, modrelu or quant", 0, 0, 0},
        {"eps", OPT_FLOAT, &c.eps, "eps of the unit-circle activation (default 0.001)", -1e30, 1e30, 0},
        {"modrelu-b", OPT_FLOAT, &c.modrelu_b, "initial bias of modrelu, learned per unit (default -0.1)", -1e6, 1e6, 0},
        {"levels", OPT_INT, &c.levels, "phase levels of quant (default 8)", -1e9, 1e9, 0},
        {"epochs", OPT_INT, &epochs, "passes over the training data (default 2)", 1, 1000, 0},
        {"lr", OPT_FLOAT, &c.lr, "Adam step (default 0.001)", -1e30, 1e30, 0},
        {"batch", OPT_INT, &c.batch, "mini-batch (default 128)", 1, 4096, 0},
        {"seed", OPT_U64, &c.seed, "random seed (default 1)", 1, 0, 0},
        {"train-limit", OPT_SIZE, &train_limit, "use only the first N training samples", 1, 1e9, 0},
        {"test-limit", OPT_SIZE, &test_limit, "use only the first N test samples", 1, 1e9, 0},
        {"out", OPT_STR, &out, "save the model (safetensors) to this file", 0, 0, 0},
        {"json", OPT_FLAG, &json, "print one JSON object on stdout at the end", 0, 0, 0},
        {"quiet", OPT_FLAG, &quiet, "no progress lines", 0, 0, 0},
        {NULL, OPT_FLAG, NULL, NULL, 0, 0, 0},
    };
    int rc = cli_parse(cmd, TRAIN_USAGE, opts, argc, argv, 2, NULL);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    pt_status st;
    if (act && (st = pt_phasor_act_parse(act, &c.act))) return cli_error(cmd, EXIT_USAGE, "%s", pt_errmsg());
    if ((st = pt_phasor_config_check(&c))) return cli_error(cmd, EXIT_USAGE, "%s", pt_errmsg());
    if (out && !cli_path_writable(out))
        return cli_error(cmd, EXIT_USAGE, "--out %s: is a directory, or its directory is not writable", out);
    pt_set_threads(1);
    pt_dataset tr = {0}, te = {0};
    pt_phasor_mlp *m = NULL;
    rc = EXIT_OK;
    if ((st = pt_dataset_load(data, "train", train_limit, c.n_out, &tr)) ||
        (st = pt_dataset_load(data, "t10k", test_limit, c.n_out, &te))) {
        rc = cli_error(cmd, cli_status_code(st), "%s", pt_errmsg());
        goto done;
    }
    if (tr.dim != te.dim) {
        rc = cli_error(cmd, EXIT_USAGE, "%s: train images have %zu pixels, test images %zu", data, tr.dim, te.dim);
        goto done;
    }
    c.n_in = (int)tr.dim;
    if ((st = pt_phasor_create(&c, &m))) {
        rc = cli_error(cmd, cli_status_code(st), "%s", pt_errmsg());
        goto done;
    }
    double train_s = 0.0, loss = 0.0;
    for (int e = 0; e < epochs; e++) {
        double t0 = cli_now();
        st = pt_phasor_train_epoch(m, tr.x, tr.y, tr.n, &loss);
        train_s += cli_now() - t0;
        if (st) {
            rc = cli_error(cmd, cli_status_code(st) == EXIT_USAGE ? EXIT_USAGE : EXIT_RUNTIME, "training failed: %s", pt_errmsg());
            goto done;
        }
        if (!quiet && !json) fprintf(stderr, "epoch %d/%d: training loss %.4f, %.1f s\n", e + 1, epochs, loss, train_s);
    }
    double acc = 0.0, us = 0.0;
    if ((rc = phasor_eval(cmd, m, &te, &acc, &us))) goto done;
    long long ckpt = -1;
    if (out) {
        if ((st = pt_phasor_save(m, out))) {
            rc = cli_error(cmd, cli_status_code(st), "%s", pt_errmsg());
            goto done;
        }
        struct stat sb;
        if (stat(out, &sb) == 0) ckpt = (long long)sb.st_size;
    }
    size_t params = pt_phasor_param_count(m);
    if (json)
        printf("{\"model\": \"phasor\", \"test_accuracy\": %.6f, \"train_seconds\": %.4f, \"samples\": %zu, \"epochs\": %d, "
               "\"params\": %zu, \"model_bytes\": %zu, \"checkpoint_bytes\": %lld, \"test_samples\": %zu, "
               "\"infer_us_per_image\": %.3f, \"train_loss\": %.6f, \"hidden\": %d, \"depth\": %d, \"act\": \"%s\", "
               "\"lr\": %.9g, \"batch\": %d, \"seed\": %llu}\n",
               acc, train_s, tr.n, epochs, params, params * sizeof(float), ckpt, te.n, us, loss, c.hidden, c.depth,
               pt_phasor_act_name(c.act), (double)c.lr, c.batch, (unsigned long long)c.seed);
    else {
        printf("trained a phasor MLP %d-%d(x%d)-%d (%s) on %zu samples in %.2f s (%d epoch%s, Adam lr %g)\n", c.n_in,
               c.hidden, c.depth, c.n_out, pt_phasor_act_name(c.act), tr.n, train_s, epochs, epochs == 1 ? "" : "s",
               (double)c.lr);
        printf("test accuracy %.2f%% (%zu samples, %.1f us/image)\n", 100.0 * acc, te.n, us);
        printf("parameters %zu (%.2f MB as float32)", params, 4e-6 * (double)params);
        if (out) printf(", saved to %s (%lld bytes)", out, ckpt);
        printf("\n");
    }
done:
    pt_phasor_destroy(m);
    pt_dataset_free(&tr);
    pt_dataset_free(&te);
    return rc;
}

int cmd_eval_phasor(const char *model, const char *data, size_t limit, int json, int spiking)
{
    const char *cmd = "eval";
    pt_set_threads(1);
    pt_phasor_mlp *m = NULL;
    pt_dataset te = {0};
    pt_status st;
    int rc = EXIT_OK;
    if ((st = pt_phasor_load(model, &m))) return cli_error(cmd, cli_status_code(st), "%s", pt_errmsg());
    const pt_phasor_config *c = pt_phasor_get_config(m);
    double acc = 0.0, us = 0.0;
    if ((st = pt_dataset_load(data, "t10k", limit, c->n_out, &te))) {
        rc = cli_error(cmd, cli_status_code(st), "%s", pt_errmsg());
    } else if ((int)te.dim != c->n_in) {
        rc = cli_error(cmd, EXIT_USAGE, "%s: images have %zu pixels, the model expects %d", data, te.dim, c->n_in);
    } else if (!(rc = phasor_eval(cmd, m, &te, &acc, &us))) {
        double sacc = 0.0, sps = 0.0, spikes = 0.0;
        if (spiking) {
            uint8_t *sp = malloc(te.n ? te.n : 1);
            double t0 = cli_now();
            st = sp ? pt_phasor_predict_spiking(m, te.x, te.n, spiking, sp, &spikes) : PT_ENOMEM;
            double s = cli_now() - t0;
            if (st) {
                rc = cli_error(cmd, cli_status_code(st), "%s", st == PT_ENOMEM ? "out of memory" : pt_errmsg());
            } else {
                size_t ok = 0;
                for (size_t i = 0; i < te.n; i++) ok += sp[i] == te.y[i];
                sacc = te.n ? (double)ok / (double)te.n : 0.0, sps = s > 0.0 ? (double)te.n / s : 0.0;
            }
            free(sp);
        }
        if (!rc && json) {
            printf("{\"model\": \"phasor\", \"accuracy\": %.6f, \"samples\": %zu, \"infer_us_per_image\": %.3f", acc, te.n, us);
            if (spiking)
                printf(", \"spiking\": %d, \"accuracy_spiking\": %.6f, \"spiking_images_per_s\": %.1f, \"spikes_per_image\": %.1f",
                       spiking, sacc, sps, spikes);
            printf("}\n");
        } else if (!rc) {
            printf("accuracy %.2f%% on %zu samples (%.1f us/image)\n", 100.0 * acc, te.n, us);
            if (spiking)
                printf("spiking execution, T = %d bins: accuracy %.2f%% (%+.2f points), %.0f images/s one at a time, "
                       "%.0f spikes per image\n",
                       spiking, 100.0 * sacc, 100.0 * (sacc - acc), sps, spikes);
        }
    }
    pt_dataset_free(&te);
    pt_phasor_destroy(m);
    return rc;
}

int cmd_info_phasor(const char *path, int json)
{
    pt_phasor_mlp *m = NULL;
    pt_status st = pt_phasor_load(path, &m);
    if (st) return cli_error("info", cli_status_code(st), "%s", pt_errmsg());
    const pt_phasor_config *c = pt_phasor_get_config(m);
    struct stat sb;
    long long bytes = stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
    if (json)
        printf("{\"model\": \"phasor\", \"n_in\": %d, \"n_classes\": %d, \"hidden\": %d, \"depth\": %d, \"act\": \"%s\", "
               "\"eps\": %.9g, \"params\": %zu, \"file_bytes\": %lld, \"seed\": %llu}\n",
               c->n_in, c->n_out, c->hidden, c->depth, pt_phasor_act_name(c->act), (double)c->eps,
               pt_phasor_param_count(m), bytes, (unsigned long long)c->seed);
    else
        printf("%s: phasor MLP %d-%d(x%d)-%d, %s activation (eps %g), %zu parameters, %lld bytes\n", path, c->n_in,
               c->hidden, c->depth, c->n_out, pt_phasor_act_name(c->act), (double)c->eps, pt_phasor_param_count(m), bytes);
    pt_phasor_destroy(m);
    return EXIT_OK;
}
