/* The field family on the command line (docs/field.md): train --model field,
 * eval and info of a field checkpoint. Training writes the model (with its
 * training state) after every epoch, keeps the best one by validation
 * accuracy, optionally every epoch's file, and resumes from the model file
 * after an interruption (--resume). Every solve is reported: the fraction of
 * images that did not reach the tolerance, and the mean iterations. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"

static const char *TRAIN_USAGE =
    "usage: phasetower train --model field [--data DIR] [--channels 16] [--act modrelu|cardioid]\n"
    "         [--gain 0.9] [--alpha 1] [--pool 1] [--solver anderson|naive|multigrid] [--tol 1e-4]\n"
    "         [--max-iter 100] [--fixed-steps] [--grad implicit|jfb|unroll:N] [--epochs 1]\n"
    "         [--lr 0.001] [--batch 32] [--readout ridge|adam] [--val N] [--out F] [--best F]\n"
    "         [--keep-epochs] [--resume] [--threads 1] [--seed 1] [--json]\n\n"
    "Trains a fractal neural field: a complex deep-equilibrium model on the torus,\n"
    "Z = act(gain K/||K|| * Z + E * x), solved to its fixed point, read out from |Z|\n"
    "averaged on a --pool x --pool grid (by default the readout is solved by ridge\n"
    "regression on the training images' fixed points before and after each epoch).\n"
    "--out is written after every epoch with the training state; --resume continues\n"
    "from it; --best keeps the model of best validation accuracy (needs --val);\n"
    "--keep-epochs also writes F.epochN.";

/* Report of one data set's predictions */
typedef struct scored {
    double acc, us, unconv, iters;
} scored;

static int score(const cli_cmd *k, const pt_field *m, const pt_dataset *d, int quiet, const char *label, scored *out)
{
    uint8_t *pred = malloc(d->n ? d->n : 1);
    if (!pred) return cli_error(k->name, EXIT_RUNTIME, "out of memory");
    pt_field_stats s = {0};
    cli_progress pb;
    cli_progress_init(&pb, label, quiet);
    double t0 = cli_now();
    pt_status st = pt_field_predict(m, d->x, d->n, pred, NULL, &s, cli_progress_cb, &pb);
    double sec = cli_now() - t0;
    cli_progress_end(&pb);
    size_t ok = 0;
    for (size_t i = 0; !st && i < d->n; i++) ok += pred[i] == d->y[i];
    free(pred);
    if (st) return cli_lib_error(k, st, NULL);
    out->acc = d->n ? (double)ok / (double)d->n : 0.0;
    out->us = d->n ? 1e6 * sec / (double)d->n : 0.0;
    out->unconv = s.images ? (double)s.unconverged / (double)s.images : 0.0;
    out->iters = s.images ? s.evals / (double)s.images : 0.0;
    return 0;
}

typedef struct ftrain {
    pt_field_config c;
    const char *data, *out, *best, *model, *act, *solver, *grad, *readout;
    int epochs, json, quiet, force, keep, resume, threads;
    size_t train_limit, val, test_limit;
} ftrain;

static int save(const cli_cmd *k, const pt_field *m, int state, const char *path)
{
    pt_status st = pt_field_save(m, state, path);
    return st ? cli_lib_error(k, st, NULL) : 0;
}

/* --resume: the model file's training state, when the file exists */
static int resume(const cli_cmd *k, ftrain *a, pt_field **m)
{
    if (!a->out || access(a->out, F_OK) != 0) return 0;
    pt_field *r = NULL;
    pt_status st = pt_field_load(a->out, &r);
    if (st) return cli_lib_error(k, st, "--resume");
    pt_field_config was = *pt_field_get_config(r);
    const pt_field_config *c = &was;
    if (c->height != a->c.height || c->width != a->c.width || c->n_classes != a->c.n_classes ||
        c->channels != a->c.channels || c->act != a->c.act || c->pool != a->c.pool || c->gain != a->c.gain ||
        c->seed != a->c.seed) {
        pt_field_destroy(r);
        return cli_error(k->name, EXIT_USAGE,
                         "--resume: %s is a different model (%d channels, %s, gain %g, pool %d, seed %llu) than asked for",
                         a->out, c->channels, pt_field_act_name(c->act), (double)c->gain, c->pool,
                         (unsigned long long)c->seed);
    }
    if ((st = pt_field_set_run(r, &a->c))) {
        pt_field_destroy(r);
        return cli_lib_error(k, st, NULL);
    }
    pt_field_destroy(*m);
    *m = r;
    return 0;
}

typedef struct run {
    double train_s, best_val;
    int best_epoch;
    pt_field_stats last;
    scored val, test;
} run;

static int train_loop(const cli_cmd *k, ftrain *a, pt_field *m, const pt_dataset *tr, const pt_dataset *va, run *r)
{
    int rc = 0;
    r->best_val = -1.0;
    if (a->resume && a->best && va->n && access(a->best, F_OK) == 0) {
        /* the best so far, scored again (the file keeps no score) */
        pt_field *b = NULL;
        scored s;
        if (pt_field_load(a->best, &b) == PT_OK && !score(k, b, va, 1, "val", &s)) r->best_val = s.acc;
        pt_field_destroy(b);
    }
    for (int e = pt_field_epochs(m); e < a->epochs; e++) {
        char label[48];
        snprintf(label, sizeof label, "epoch %d/%d", e + 1, a->epochs);
        cli_progress pb;
        cli_progress_init(&pb, label, a->quiet || a->json);
        pt_field_stats s = {0};
        double t0 = cli_now();
        pt_status st = pt_field_train(m, tr->x, tr->y, tr->n, &s, cli_progress_cb, &pb);
        r->train_s += cli_now() - t0;
        cli_progress_end(&pb);
        if (st) return cli_lib_error(k, st, "training failed");
        r->last = s;
        if (va->n && (rc = score(k, m, va, a->quiet || a->json, "val", &r->val))) return rc;
        if (!a->quiet && !a->json) {
            fprintf(stderr, "epoch %d/%d: loss %.4f, forward %.1f iterations/image (%.2f%% not within tol)", e + 1,
                    a->epochs, s.loss, s.images ? s.evals / (double)s.images : 0.0,
                    s.images ? 100.0 * (double)s.unconverged / (double)s.images : 0.0);
            if (s.adjoint_solves)
                fprintf(stderr, ", adjoint %.1f (%.2f%% not within tol)", s.adjoint_evals / (double)s.adjoint_solves,
                        100.0 * (double)s.adjoint_unconverged / (double)s.adjoint_solves);
            if (va->n) fprintf(stderr, ", val %.2f%%", 100.0 * r->val.acc);
            fprintf(stderr, ", %.1f s\n", r->train_s);
        }
        if (a->out && (rc = save(k, m, 1, a->out))) return rc;
        if (a->out && a->keep) {
            char path[4096];
            snprintf(path, sizeof path, "%s.epoch%d", a->out, e + 1);
            if ((rc = save(k, m, 0, path))) return rc;
        }
        if (va->n && r->val.acc > r->best_val) {
            r->best_val = r->val.acc, r->best_epoch = e + 1;
            if (a->best && (rc = save(k, m, 0, a->best))) return rc;
        }
    }
    return 0;
}

static void report(const ftrain *a, const pt_field *m, const pt_dataset *tr, const pt_dataset *va,
                   const pt_dataset *te, const run *r, cli_report *rp)
{
    const pt_field_config *c = pt_field_get_config(m);
    double norm = 0.0, L = 0.0;
    int g = 0;
    pt_field_spectral(m, &norm, NULL, NULL, &L, &g);
    const pt_field_stats *s = &r->last;
    rep_str(rp, "model", "field"), rep_num(rp, "test_accuracy", r->test.acc, 6);
    rep_num(rp, "test_unconverged_fraction", r->test.unconv, 6), rep_num(rp, "test_mean_iterations", r->test.iters, 3);
    rep_num(rp, "train_seconds", r->train_s, 4), rep_int(rp, "epochs", pt_field_epochs(m));
    rep_int(rp, "samples", (long long)tr->n), rep_int(rp, "test_samples", (long long)te->n);
    rep_int(rp, "params", (long long)pt_field_param_count(m)), rep_num(rp, "infer_us_per_image", r->test.us, 3);
    rep_num(rp, "train_loss", s->loss, 6);
    rep_num(rp, "train_mean_iterations", s->images ? s->evals / (double)s->images : 0.0, 3);
    rep_num(rp, "train_unconverged_fraction", s->images ? (double)s->unconverged / (double)s->images : 0.0, 6);
    if (s->adjoint_solves) {
        rep_num(rp, "adjoint_mean_iterations", s->adjoint_evals / (double)s->adjoint_solves, 3);
        rep_num(rp, "adjoint_unconverged_fraction", (double)s->adjoint_unconverged / (double)s->adjoint_solves, 6);
    }
    if (va->n) rep_num(rp, "val_accuracy", r->val.acc, 6), rep_num(rp, "best_val_accuracy", r->best_val, 6),
        rep_int(rp, "best_epoch", r->best_epoch);
    rep_int(rp, "channels", c->channels), rep_str(rp, "act", pt_field_act_name(c->act));
    rep_float(rp, "gain", c->gain), rep_float(rp, "alpha", c->alpha), rep_int(rp, "pool", c->pool);
    rep_str(rp, "solver", pt_field_solver_name(c->solver)), rep_num(rp, "tol", c->tol, 12);
    rep_int(rp, "max_iter", c->max_iter), rep_bool(rp, "fixed_steps", c->fixed_steps);
    rep_str(rp, "grad", a->grad ? a->grad : "implicit"), rep_float(rp, "lr", c->lr), rep_int(rp, "batch", c->batch);
    rep_str(rp, "readout", pt_field_readout_name(c->readout)), rep_num(rp, "ridge", c->ridge, 12);
    rep_int(rp, "seed", (long long)c->seed), rep_num(rp, "lipschitz_bound", L, 6), rep_bool(rp, "unique_fixed_point", g);
    rep_text(rp, "trained a field model: %d complex channels on %dx%d, %s, gain %g (Lipschitz bound %.4f: %s), "
                 "pool %d, %zu parameters\n",
             c->channels, c->height, c->width, pt_field_act_name(c->act), (double)c->gain, L,
             g ? "a unique fixed point" : "no uniqueness guarantee", c->pool, pt_field_param_count(m));
    rep_text(rp, "%d epoch%s on %zu samples in %.1f s (%s, %s gradients, %s readout); last epoch's forward solves: "
                 "%.1f iterations/image, %.2f%% not within tol %g\n",
             pt_field_epochs(m), pt_field_epochs(m) == 1 ? "" : "s", tr->n, r->train_s,
             pt_field_solver_name(c->solver), a->grad ? a->grad : "implicit", pt_field_readout_name(c->readout),
             s->images ? s->evals / (double)s->images : 0.0,
             s->images ? 100.0 * (double)s->unconverged / (double)s->images : 0.0, c->tol);
    if (va->n) rep_text(rp, "validation accuracy %.2f%% (best %.2f%% at epoch %d)\n", 100.0 * r->val.acc,
                        100.0 * r->best_val, r->best_epoch);
    rep_text(rp, "test accuracy %.2f%% (%zu samples, %.1f us/image, %.1f iterations/image, %.2f%% not within tol%s)\n",
             100.0 * r->test.acc, te->n, r->test.us, r->test.iters, 100.0 * r->test.unconv,
             c->fixed_steps ? ": fixed steps" : "");
    if (a->out) rep_text(rp, "saved to %s%s\n", a->out, a->best && va->n ? " (best by validation: --best file)" : "");
}

int cli_field_train(int argc, char **argv)
{
    ftrain a = {.c = pt_field_config_default(), .data = PT_DEFAULT_DATA, .epochs = 1, .threads = 1};
    pt_field_config *c = &a.c;
    opt opts[] = {
        {"model", OPT_STR, &a.model, "field", 0, 0, NULL, 0},
        OPT_DATA(&a.data),
        {"channels", OPT_INT, &c->channels, "complex channels C (default 16)", 1, 256, "field.channels", 0},
        {"act", OPT_STR, &a.act, "modrelu (default) or cardioid", 0, 0, "field.act", 0},
        {"act-bias", OPT_FLOAT, &c->act_bias, "modReLU's initial bias, <= 0 (default -0.1)", -1e30, 1e30, "field.act_bias", 0},
        {"free-bias", OPT_FLAG, &c->free_bias, "let modReLU's bias turn positive (the founding document's model: no uniqueness guarantee)", 0, 0, NULL, 0},
        {"gain", OPT_FLOAT, &c->gain, "operator norm of the normalised kernel (default 0.9)", -1e30, 1e30, "field.gain", 0},
        {"alpha", OPT_FLOAT, &c->alpha, "damping of the iteration, (0, 1] (default 1)", -1e30, 1e30, "field.alpha", 0},
        {"pool", OPT_INT, &c->pool, "readout grid P x P, 1..min(H, W); cells of floor or ceil(H / P) rows and columns (default 1: the global average)", -1e9, 1e9, "field.pool", 0},
        {"solver", OPT_STR, &a.solver, "anderson (default), naive or multigrid (V-cycles; --max-iter counts cycles)", 0, 0, "field.solver", 0},
        {"tol", OPT_FLOAT, NULL, "relative residual to reach, in (0, 1) (default 1e-4)", -1e30, 1e30, "field.tol", 0},
        {"max-iter", OPT_INT, &c->max_iter, "solver iterations at most (default 100)", -1e9, 1e9, "field.max_iter", 0},
        {"fixed-steps", OPT_FLAG, &c->fixed_steps, "always --max-iter steps, no tolerance stop (the seed's protocol)", 0, 0, NULL, 0},
        {"anderson-m", OPT_INT, &c->anderson_m, "Anderson's history (default 5)", -1e9, 1e9, "field.anderson_m", 0},
        {"mg-levels", OPT_INT, &c->mg_levels, "multigrid's grids, the image's included (default 3: 28, 14, 7)", -1e9, 1e9, "field.mg_levels", 0},
        {"grad", OPT_STR, &a.grad, "implicit (default), jfb or unroll:N", 0, 0, "field.grad", 0},
        {"epochs", OPT_INT, &a.epochs, "epochs in all, counting those of a resumed model (default 1; 0 writes the initialised, untrained model to --out)", 0, 100000, NULL, 0},
        {"lr", OPT_FLOAT, &c->lr, "Adam step (default 0.001)", -1e30, 1e30, "field.lr", 0},
        {"readout", OPT_STR, &a.readout, "ridge (default: solved on the training images' fixed points before and after every epoch) or adam (trained with the rest)", 0, 0, "field.readout", 0},
        {"ridge", OPT_FLOAT, NULL, "ridge strength relative to the features' scale (default 1e-4)", -1e30, 1e30, "field.ridge", 0},
        {"batch", OPT_INT, &c->batch, "mini-batch (default 32)", 1, 4096, "field.batch", 0},
        {"seed", OPT_U64, &c->seed, "random seed (default 1)", 1, 0, NULL, 0},
        {"val", OPT_SIZE, &a.val, "hold out the last N training samples for validation", 1, 1e9, NULL, 0},
        OPT_TRAIN_LIMIT(&a.train_limit),
        OPT_TEST_LIMIT(&a.test_limit),
        {"out", OPT_STR, &a.out, "the model (with training state), written after every epoch", 0, 0, NULL, 0},
        {"best", OPT_STR, &a.best, "the model of best validation accuracy (needs --val)", 0, 0, NULL, 0},
        {"keep-epochs", OPT_FLAG, &a.keep, "also write every epoch's model to OUT.epochN", 0, 0, NULL, 0},
        {"resume", OPT_FLAG, &a.resume, "continue from --out if it exists (its training state and epochs)", 0, 0, NULL, 0},
        OPT_THREADS(&a.threads),
        OPT_FORCE(&a.force),
        {"json", OPT_FLAG, &a.json, "print one JSON object on stdout at the end", 0, 0, NULL, 0},
        {"quiet", OPT_FLAG, &a.quiet, "no progress lines", 0, 0, NULL, 0},
        OPT_END,
    };
    float tol = (float)c->tol, ridge = (float)c->ridge;
    for (opt *o = opts; o->name; o++) {
        if (!strcmp(o->name, "ridge")) o->dst = &ridge;
        if (!strcmp(o->name, "tol")) o->dst = &tol;
    }
    cli_cmd k = {"train", TRAIN_USAGE, opts, "a field model", "channels batch"};
    CLI_PARSE(&k, argc, argv, NULL);
    c->tol = cli_float_decimal(tol);
    c->ridge = cli_float_decimal(ridge);
    int rc = EXIT_OK;
    pt_status st = PT_OK;
    if ((a.act && (st = pt_field_act_parse(a.act, &c->act))) || (a.solver && (st = pt_field_solver_parse(a.solver, &c->solver))) ||
        (a.grad && (st = pt_field_grad_parse(a.grad, c))) || (a.readout && (st = pt_field_readout_parse(a.readout, &c->readout))))
        return cli_lib_error(&k, st, NULL);
    if (a.best && !a.val) return cli_error(k.name, EXIT_USAGE, "--best needs --val N (the best model is chosen on validation data, never on the test set)");
    if (a.resume && !a.out) return cli_error(k.name, EXIT_USAGE, "--resume needs --out F (the file to continue from)");
    if (a.keep && !a.out) return cli_error(k.name, EXIT_USAGE, "--keep-epochs needs --out F");
    if (a.out && (rc = cli_check_out(k.name, "--out", a.out, a.force))) return rc;
    if (a.best && (rc = cli_check_out(k.name, "--best", a.best, a.force))) return rc;
    pt_set_threads(a.threads);
    pt_dataset tr = {0}, va = {0}, te = {0};
    pt_field *m = NULL;
    run r = {0};
    if ((st = pt_dataset_load(a.data, "train", a.train_limit, c->n_classes, &tr)) ||
        (st = pt_dataset_load(a.data, "t10k", a.test_limit, c->n_classes, &te)))
        rc = cli_lib_error(&k, st, NULL);
    else if (tr.rows != te.rows || tr.cols != te.cols)
        rc = cli_error(k.name, EXIT_USAGE, "%s: train images are %zux%zu, test images %zux%zu", a.data, tr.rows, tr.cols,
                       te.rows, te.cols);
    else if (a.val && (st = pt_dataset_split(&tr, a.val, &va)))
        rc = cli_error(k.name, EXIT_USAGE, "--val %zu: %s", a.val, pt_errmsg());
    if (!rc) {
        c->height = (int)tr.rows, c->width = (int)tr.cols;
        if ((st = pt_field_config_check(c)) || (st = pt_field_create(c, &m))) rc = cli_lib_error(&k, st, NULL);
    }
    if (!rc && a.resume) rc = resume(&k, &a, &m);
    if (!rc && !a.quiet && !a.json && pt_field_epochs(m))
        fprintf(stderr, "resuming %s after epoch %d\n", a.out, pt_field_epochs(m));
    if (!rc) rc = train_loop(&k, &a, m, &tr, &va, &r);
    if (!rc && a.epochs == 0 && a.out && pt_field_epochs(m) == 0) rc = save(&k, m, 1, a.out);
    if (!rc) rc = score(&k, m, &te, a.quiet || a.json, "test", &r.test);
    if (!rc) {
        cli_report *rp = rep_new(a.json);
        if (rp) report(&a, m, &tr, &va, &te, &r, rp);
        rc = rep_end(rp);
    }
    pt_field_destroy(m);
    pt_dataset_free(&tr), pt_dataset_free(&va), pt_dataset_free(&te);
    return rc;
}

static const char *EVAL_USAGE =
    "usage: phasetower eval --model F [--data DIR] [--test-limit N] [--solver S] [--tol T]\n"
    "                       [--max-iter N] [--fixed-steps] [--alpha A] [--solvers N]\n"
    "                       [--plot PREFIX] [--threads 1] [--json]\n\n"
    "Evaluates a saved field model on the t10k images of DIR at its solver's result,\n"
    "and reports the fraction of images that did not reach the tolerance. The solver\n"
    "flags override the checkpoint's settings. --solvers N compares naive iteration,\n"
    "Anderson and multigrid on the first N test images (work to reach 1e-3, the\n"
    "tolerance and 1e-5, in fine-grid evaluations, and time); --plot PREFIX draws\n"
    "PREFIX-evolution.png (the field of the first test image across iterations:\n"
    "hue = phase, brightness = magnitude) and PREFIX-solvers.png (its residual\n"
    "against work for the three solvers).";

/* ---- the solver comparison and the pictures ---- */

enum { NSOLV = 3, SOLV_MAX = 2000 };
static const double thresholds[3] = {1e-3, 0.0 /* the tolerance */, 1e-5};

typedef struct solver_row {
    double work[3];     /* mean work to each threshold over the images that reached it */
    double reached[3];  /* fraction of images that reached it */
    double seconds;     /* per image, to the tolerance */
} solver_row;

/* Each solver on the first n images down to min(1e-5, tol), the work read
 * off each image's history. hist/work of image 0 kept for the plot. */
static int compare_solvers(const cli_cmd *k, const pt_field *m, const pt_dataset *d, size_t n, solver_row *rows,
                           double (*hist)[SOLV_MAX], double (*work)[SOLV_MAX], int *len)
{
    const pt_field_config *c = pt_field_get_config(m);
    double tol = c->tol, goal = fmin(1e-5, tol) * 0.999;
    double *h = malloc(SOLV_MAX * sizeof *h), *wh = malloc(SOLV_MAX * sizeof *wh);
    if (!h || !wh) {
        free(h), free(wh);
        return cli_error(k->name, EXIT_RUNTIME, "out of memory");
    }
    for (int sv = 0; sv < NSOLV; sv++) {
        solver_row *r = &rows[sv];
        memset(r, 0, sizeof *r);
        int max_iter = sv == PT_FIELD_MULTIGRID ? 200 : SOLV_MAX;
        double t0 = cli_now();
        for (size_t i = 0; i < n; i++) {
            pt_fixpoint_info info = {.history = h, .work_history = wh};
            pt_status st = pt_field_equilibrium(m, d->x + i * d->dim, (pt_field_solver)sv, max_iter, goal, NULL, &info,
                                                NULL, 0);
            if (st) {
                free(h), free(wh);
                return cli_lib_error(k, st, "--solvers");
            }
            for (int q = 0; q < 3; q++) {
                double th = q == 1 ? tol : thresholds[q];
                for (int t = 0; t < info.iterations; t++)
                    if (h[t] < th) {
                        r->work[q] += wh[t], r->reached[q] += 1.0;
                        break;
                    }
            }
            if (i == 0) {
                len[sv] = info.iterations;
                memcpy(hist[sv], h, (size_t)info.iterations * sizeof *h);
                memcpy(work[sv], wh, (size_t)info.iterations * sizeof *wh);
            }
        }
        r->seconds = (cli_now() - t0) / (double)n;
        for (int q = 0; q < 3; q++) {
            r->work[q] = r->reached[q] > 0.0 ? r->work[q] / r->reached[q] : (double)NAN;
            r->reached[q] /= (double)n;
        }
    }
    free(h), free(wh);
    return 0;
}

static int check_plot(const cli_cmd *k, const char *prefix)
{
    char a[4096], b[4096];
    if (strlen(prefix) > 4000) return cli_error(k->name, EXIT_USAGE, "--plot: the prefix is too long");
    snprintf(a, sizeof a, "%s-evolution.png", prefix);
    snprintf(b, sizeof b, "%s-solvers.png", prefix);
    int rc = cli_check_out(k->name, "--plot", a, 0);
    return rc ? rc : cli_check_out(k->name, "--plot", b, 0);
}

static int plot_solvers(const cli_cmd *k, const char *prefix, double (*hist)[SOLV_MAX], double (*work)[SOLV_MAX],
                        const int *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s-solvers.png", prefix);
    pt_plot_series s[NSOLV];
    static const char *names[NSOLV] = {"naive iteration", "Anderson", "multigrid (V-cycles)"};
    for (int i = 0; i < NSOLV; i++) s[i] = (pt_plot_series){names[i], work[i], hist[i], (size_t)len[i]};
    pt_plot p = {"Field: residual of one test image's solve", "evaluations of F (fine-grid equivalents)",
                 "relative residual ||F(z) - z|| / ||F(z)||", 1, 0, 0};
    pt_status st = pt_plot_lines(path, &p, s, NSOLV);
    return st ? cli_lib_error(k, st, "--plot") : 0;
}

/* the field of image x across naive iterations: columns of chosen steps,
 * rows of the first channels; hue = phase, brightness = magnitude */
static int plot_evolution(const cli_cmd *k, const pt_field *m, const float *x, const char *prefix)
{
    const pt_field_config *c = pt_field_get_config(m);
    enum { NST = 200, NCOL = 9, ROWS = 4, SC = 3 };
    static const int steps[NCOL - 1] = {0, 1, 2, 3, 5, 8, 13, 21};
    size_t hw = (size_t)c->height * (size_t)c->width, nz = 2 * hw * (size_t)c->channels;
    int rows = c->channels < ROWS ? c->channels : ROWS;
    float *st = malloc((size_t)NST * nz * sizeof *st), *tile = malloc(2 * hw * sizeof *tile);
    int tw = c->width * SC, th = c->height * SC, gap = 6, left = 60, top = 30;
    uint8_t *cell = malloc(hw * 3), *rgb = NULL;
    if (!st || !tile || !cell) {
        free(st), free(tile), free(cell);
        return cli_error(k->name, EXIT_RUNTIME, "out of memory");
    }
    pt_fixpoint_info info = {.history = NULL};
    pt_status s = pt_field_equilibrium(m, x, PT_FIELD_NAIVE, NST, 1e-6, NULL, &info, st, NST);
    int last = info.iterations < NST ? info.iterations : NST;
    /* the chosen steps the solve reached, then its last state; the picture as wide as they need */
    int cols[NCOL + 1], ncol = 1;
    cols[0] = -1;
    for (int i = 0; i < NCOL - 1 && steps[i] < last - 1; i++) cols[ncol++] = steps[i];
    cols[ncol++] = last - 1;
    int W = left + ncol * (tw + gap), H = top + rows * (th + gap) + 24;
    if (W < 480) W = 480;
    if (!s && !(rgb = malloc((size_t)W * (size_t)H * 3))) {
        free(st), free(tile), free(cell);
        return cli_error(k->name, EXIT_RUNTIME, "out of memory");
    }
    if (rgb) memset(rgb, 255, (size_t)W * (size_t)H * 3);
    char label[128];
    int rc = 0;
    if (s) rc = cli_lib_error(k, s, "--plot");
    /* brightness scale: the largest magnitude of the shown channels at the last state */
    float mx = 1e-12f;
    for (size_t p = 0; !rc && p < hw; p++)
        for (int r = 0; r < rows; r++) {
            const float *z = st + (size_t)(last - 1) * nz + 2 * (p * (size_t)c->channels + (size_t)r);
            mx = fmaxf(mx, sqrtf(z[0] * z[0] + z[1] * z[1]));
        }
    for (int col = 0; !rc && col < ncol; col++) {
        int x0 = left + col * (tw + gap);
        if (col == 0) { /* the input image, gray */
            for (int y = 0; y < th; y++)
                for (int xx = 0; xx < tw; xx++) {
                    uint8_t g;
                    pt_picture_gray(&g, &x[(size_t)(y / SC) * (size_t)c->width + (size_t)(xx / SC)], 1, 0.0f, 1.0f);
                    uint8_t *o = rgb + 3 * ((size_t)(top + y) * (size_t)W + (size_t)(x0 + xx));
                    o[0] = o[1] = o[2] = g;
                }
            pt_picture_text(rgb, W, H, x0, top - 10, 13, "image");
            continue;
        }
        int t = cols[col];
        for (int r = 0; r < rows; r++) {
            const float *z = st + (size_t)t * nz;
            for (size_t p = 0; p < hw; p++) {
                tile[2 * p] = z[2 * (p * (size_t)c->channels + (size_t)r)];
                tile[2 * p + 1] = z[2 * (p * (size_t)c->channels + (size_t)r) + 1];
            }
            pt_picture_phase(cell, tile, hw, mx);
            int y0 = top + r * (th + gap);
            for (int y = 0; y < th; y++)
                for (int xx = 0; xx < tw; xx++)
                    memcpy(rgb + 3 * ((size_t)(y0 + y) * (size_t)W + (size_t)(x0 + xx)),
                           cell + 3 * ((size_t)(y / SC) * (size_t)c->width + (size_t)(xx / SC)), 3);
        }
        snprintf(label, sizeof label, col == ncol - 1 ? "t=%d (end)" : "t=%d", t);
        pt_picture_text(rgb, W, H, x0, top - 10, 13, label);
    }
    for (int r = 0; !rc && r < rows; r++) {
        snprintf(label, sizeof label, "ch %d", r);
        pt_picture_text(rgb, W, H, 8, top + r * (th + gap) + th / 2 + 5, 13, label);
    }
    if (!rc) {
        snprintf(label, sizeof label, "naive iteration, alpha %.3g; residual %.1e after %d steps", (double)c->alpha,
                 info.residual, last);
        pt_picture_text(rgb, W, H, left, H - 8, 13, label);
        char path[4096];
        snprintf(path, sizeof path, "%s-evolution.png", prefix);
        if ((s = pt_png_write(path, W, H, 3, rgb))) rc = cli_lib_error(k, s, "--plot");
    }
    free(st), free(tile), free(rgb), free(cell);
    return rc;
}

static int load(const cli_cmd *k, const char *path, pt_field **m)
{
    pt_ckpt *ck = NULL;
    pt_status st = pt_ckpt_open(path, &ck);
    if (!st) st = pt_field_from_ckpt(ck, m);
    if (!st) st = pt_ckpt_finish(ck);
    pt_ckpt_close(ck);
    if (st) {
        pt_field_destroy(*m);
        *m = NULL;
        return cli_lib_error(k, st, NULL);
    }
    return 0;
}

int cli_field_eval(int argc, char **argv)
{
    const char *model = NULL, *data = PT_DEFAULT_DATA, *solver = NULL, *plot = NULL;
    size_t limit = 0, nsolv = 0;
    int json = 0, threads = 1, max_iter = 0, fixed = 0;
    float tol = 0.0f, alpha = 0.0f;
    opt opts[] = {
        {"model", OPT_STR, &model, "checkpoint written by train --model field (required)", 0, 0, NULL, 0},
        OPT_DATA(&data),
        OPT_TEST_LIMIT(&limit),
        {"solver", OPT_STR, &solver, "anderson, naive or multigrid (default: the checkpoint's)", 0, 0, "field.solver", 0},
        {"tol", OPT_FLOAT, &tol, "relative residual to reach (default: the checkpoint's)", -1e30, 1e30, "field.tol", 0},
        {"max-iter", OPT_INT, &max_iter, "solver iterations at most (default: the checkpoint's)", -1e9, 1e9, "field.max_iter", 0},
        {"fixed-steps", OPT_FLAG, &fixed, "always --max-iter steps, no tolerance stop", 0, 0, NULL, 0},
        {"alpha", OPT_FLOAT, &alpha, "damping (default: the checkpoint's)", -1e30, 1e30, "field.alpha", 0},
        {"solvers", OPT_SIZE, &nsolv, "compare the three solvers on the first N test images", 1, 100000, NULL, 0},
        {"plot", OPT_STR, &plot, "write PREFIX-evolution.png and PREFIX-solvers.png", 0, 0, NULL, 0},
        OPT_THREADS(&threads),
        OPT_JSON(&json),
        OPT_END,
    };
    cli_cmd k = {"eval", EVAL_USAGE, opts, "a field model", NULL};
    CLI_PARSE(&k, argc, argv, NULL);
    if (!model) return cli_error(k.name, EXIT_USAGE, "--model is required (see --help)");
    pt_set_threads(threads);
    pt_field *m = NULL;
    int rc = load(&k, model, &m);
    if (rc) return rc;
    pt_field_config c = *pt_field_get_config(m);
    pt_status st = PT_OK;
    if (solver) st = pt_field_solver_parse(solver, &c.solver);
    if (opts[4].seen) c.tol = cli_float_decimal(tol);
    if (opts[5].seen) c.max_iter = max_iter;
    if (opts[6].seen) c.fixed_steps = 1;
    if (opts[7].seen) c.alpha = alpha;
    if (st || (st = pt_field_set_run(m, &c))) {
        pt_field_destroy(m);
        return cli_lib_error(&k, st, NULL);
    }
    pt_dataset te = {0};
    scored s = {0};
    if ((st = pt_dataset_load(data, "t10k", limit, c.n_classes, &te))) rc = cli_lib_error(&k, st, NULL);
    else if ((int)te.rows != c.height || (int)te.cols != c.width)
        rc = cli_error(k.name, EXIT_USAGE, "%s: images are %zux%zu, the model expects %dx%d", data, te.rows, te.cols,
                       c.height, c.width);
    else if (plot && (rc = check_plot(&k, plot)))
        ;
    else if (!(rc = score(&k, m, &te, json, "eval", &s))) {
        static double hist[NSOLV][SOLV_MAX], work[NSOLV][SOLV_MAX];
        int len[NSOLV] = {0};
        solver_row rows[NSOLV];
        size_t ns = nsolv ? nsolv : (plot ? 1 : 0);
        if (ns > te.n) ns = te.n;
        if (ns && (rc = compare_solvers(&k, m, &te, ns, rows, hist, work, len))) goto done;
        if (plot && ((rc = plot_solvers(&k, plot, hist, work, len)) || (rc = plot_evolution(&k, m, te.x, plot)))) goto done;
        cli_report *r = rep_new(json);
        if (r) {
            rep_str(r, "model", "field"), rep_num(r, "accuracy", s.acc, 6), rep_int(r, "samples", (long long)te.n);
            rep_num(r, "unconverged_fraction", s.unconv, 6), rep_num(r, "mean_iterations", s.iters, 3);
            rep_num(r, "infer_us_per_image", s.us, 3), rep_str(r, "solver", pt_field_solver_name(c.solver));
            rep_num(r, "tol", c.tol, 12), rep_int(r, "max_iter", c.max_iter), rep_bool(r, "fixed_steps", c.fixed_steps);
            rep_text(r, "accuracy %.2f%% on %zu samples (%s, tol %g: %.1f iterations/image, %.2f%% not within tol%s; "
                        "%.1f us/image)\n",
                     100.0 * s.acc, te.n, pt_field_solver_name(c.solver), c.tol, s.iters, 100.0 * s.unconv,
                     c.fixed_steps ? ", fixed steps" : "", s.us);
            if (nsolv) {
                static const char *names[NSOLV] = {"naive", "anderson", "multigrid"};
                rep_int(r, "solver_images", (long long)ns);
                rep_push(r, "solvers", 0);
                rep_text(r, "solvers on %zu images (work: mean evaluations of F in fine-grid equivalents to reach the "
                            "residual, over the images that did; %% reached)\n",
                         ns);
                rep_text(r, "  %-10s %16s %16s %16s %12s\n", "solver", "1e-3", "tol", "1e-5", "ms/image");
                for (int v = 0; v < NSOLV; v++) {
                    rep_push(r, names[v], 0);
                    rep_num(r, "work_1e-3", rows[v].work[0], 2), rep_num(r, "reached_1e-3", rows[v].reached[0], 4);
                    rep_num(r, "work_tol", rows[v].work[1], 2), rep_num(r, "reached_tol", rows[v].reached[1], 4);
                    rep_num(r, "work_1e-5", rows[v].work[2], 2), rep_num(r, "reached_1e-5", rows[v].reached[2], 4);
                    rep_num(r, "ms_per_image", 1e3 * rows[v].seconds, 3);
                    rep_pop(r);
                    rep_text(r, "  %-10s %8.1f (%3.0f%%) %8.1f (%3.0f%%) %8.1f (%3.0f%%) %12.2f\n", names[v], rows[v].work[0],
                             100.0 * rows[v].reached[0], rows[v].work[1], 100.0 * rows[v].reached[1], rows[v].work[2],
                             100.0 * rows[v].reached[2], 1e3 * rows[v].seconds);
                }
                rep_pop(r);
            }
            if (plot) rep_text(r, "pictures: %s-evolution.png, %s-solvers.png\n", plot, plot);
        }
        rc = rep_end(r);
    }
done:
    pt_dataset_free(&te);
    pt_field_destroy(m);
    return rc;
}

static const char *INFO_USAGE = "usage: phasetower info [--json] MODEL\n\nDescribes a checkpoint written by 'phasetower train --model field'.";

int cli_field_info(int argc, char **argv)
{
    const char *path = NULL;
    int json = 0, rc = cli_info_args(INFO_USAGE, argc, argv, &path, &json);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    opt none[] = {OPT_END};
    cli_cmd k = {"info", INFO_USAGE, none, NULL, NULL};
    pt_field *m = NULL;
    if ((rc = load(&k, path, &m))) return rc;
    const pt_field_config *c = pt_field_get_config(m);
    double norm = 0.0, L = 0.0;
    int ky = 0, kx = 0, g = 0;
    pt_field_spectral(m, &norm, &ky, &kx, &L, &g);
    struct stat sb;
    long long bytes = stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
    cli_report *r = rep_new(json);
    if (r) {
        rep_str(r, "model", "field"), rep_int(r, "height", c->height), rep_int(r, "width", c->width);
        rep_int(r, "n_classes", c->n_classes), rep_int(r, "channels", c->channels);
        rep_str(r, "act", pt_field_act_name(c->act)), rep_float(r, "gain", c->gain), rep_float(r, "alpha", c->alpha);
        rep_int(r, "pool", c->pool), rep_str(r, "solver", pt_field_solver_name(c->solver));
        rep_num(r, "tol", c->tol, 12), rep_int(r, "max_iter", c->max_iter), rep_int(r, "epochs", pt_field_epochs(m));
        rep_int(r, "params", (long long)pt_field_param_count(m)), rep_num(r, "kernel_norm", norm, 6);
        rep_num(r, "lipschitz_bound", L, 6), rep_bool(r, "unique_fixed_point", g), rep_int(r, "file_bytes", bytes);
        rep_text(r, "%s: field model, %d complex channels on %dx%d, %s, pool %d, %d classes, %zu parameters, %lld bytes\n",
                 path, c->channels, c->height, c->width, pt_field_act_name(c->act), c->pool, c->n_classes,
                 pt_field_param_count(m), bytes);
        rep_text(r, "  kernel norm %.4f on the torus (at frequency %d,%d), gain %g: Lipschitz bound %.4f, %s\n", norm, ky,
                 kx, (double)c->gain, L, g ? "a unique fixed point" : "no uniqueness guarantee");
        rep_str(r, "readout", pt_field_readout_name(c->readout)), rep_bool(r, "free_bias", c->free_bias);
        rep_text(r, "  readout: %s%s\n", c->readout == PT_FIELD_RIDGE ? "solved by ridge regression after every epoch" : "trained by Adam",
                 c->free_bias ? "; modReLU's bias free to turn positive" : "");
        rep_text(r, "  solver %s, tol %g, at most %d iterations%s, alpha %g; %d epochs trained\n",
                 pt_field_solver_name(c->solver), c->tol, c->max_iter, c->fixed_steps ? " (fixed steps)" : "",
                 (double)c->alpha, pt_field_epochs(m));
    }
    rc = rep_end(r);
    pt_field_destroy(m);
    return rc;
}
