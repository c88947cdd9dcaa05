/* phasetower reservoir: the echo-state network, with tanh or phasor units
 * (--unit), on any numeric time series (docs/reservoir.md). train fits the readout on the first rows of a CSV
 * series (teacher forcing), scores the rest with the state carried over and
 * optionally generates in a closed loop; eval drives a saved model on a
 * series and scores it; generate continues a saved model's closed loop;
 * info describes a file. A command of its own, as atlas is: its data are
 * sequences, not the image sets of the family table's train and eval. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const char *USAGE =
    "usage: phasetower reservoir train|eval|generate|info [options]   (phasetower reservoir <sub> --help)\n\n"
    "An echo-state network (leaky tanh reservoir, sparse W scaled to a spectral radius,\n"
    "linear readout by ridge or RLS) on a CSV time series: one row per step, one column\n"
    "per channel, an optional header of names. --unit phasor makes it a phasor reservoir:\n"
    "complex units under a scaled random unitary, read out from their real and imaginary parts.\n"
    "  train     fit on the first --fit rows, score the rest, optionally --generate\n"
    "  eval      drive a saved model over a series and score its predictions\n"
    "  generate  continue a saved model in a closed loop (predictions fed back)\n"
    "  info      describe a saved model";

static const char *TRAIN_USAGE =
    "usage: phasetower reservoir train --series FILE [options]\n\n"
    "Inputs u(t) are the --input columns of row t; targets the --target columns (default:\n"
    "the input columns) of row t + --horizon (default 1 without --target, else 0). The\n"
    "readout is fitted on t < --fit (the first --warmup states discarded); the model then\n"
    "runs on over the remaining rows with its state carried over, and prints NRMSE by the\n"
    "targets' range and by their standard deviation. With --generate N (inputs and targets\n"
    "the same columns, horizon 1), a closed loop from row --fit: the input of that row,\n"
    "then each prediction fed back, scored against rows --fit + 1 ...";

typedef struct series_io {
    pt_series s;
    size_t T, D, M;  /* usable rows, inputs, outputs */
    size_t *in, *out; /* columns */
    double *u, *y;   /* (T, D), (T, M) */
} series_io;

static void io_free(series_io *io)
{
    pt_series_free(&io->s);
    free(io->in), free(io->out), free(io->u), free(io->y);
    memset(io, 0, sizeof *io);
}

/* "a,b,2": columns by name or index; 0 or the exit code */
static int columns(const char *cmd, const char *flag, const pt_series *s, const char *spec, size_t **cols, size_t *n)
{
    size_t cnt = 1;
    for (const char *p = spec; *p; p++) cnt += *p == ',';
    char *copy = malloc(strlen(spec) + 1);
    *cols = calloc(cnt, sizeof **cols);
    if (!copy || !*cols) {
        free(copy);
        return cli_error(cmd, EXIT_RUNTIME, "out of memory");
    }
    strcpy(copy, spec);
    char *p = copy;
    for (size_t i = 0; i < cnt; i++) {
        char *e = strchr(p, ',');
        if (e) *e = '\0';
        if (pt_series_column(s, p, &(*cols)[i])) {
            int rc = cli_error(cmd, EXIT_USAGE, "%s %s: %s", flag, spec, pt_errmsg());
            free(copy);
            return rc;
        }
        p = e ? e + 1 : p;
    }
    free(copy);
    *n = cnt;
    return 0;
}

/* The series and its inputs and (shifted) targets; 0 or the exit code. */
static int load_io(const char *cmd, const char *path, const char *in, const char *out, long horizon, series_io *io)
{
    memset(io, 0, sizeof *io);
    if (!path) return cli_error(cmd, EXIT_USAGE, "--series FILE is required (see --help)");
    pt_status st = pt_series_read_csv(path, &io->s);
    if (st) return cli_error(cmd, cli_status_code(st), "--series %s", pt_errmsg());
    int rc = columns(cmd, "--input", &io->s, in, &io->in, &io->D);
    if (!rc) rc = columns(cmd, "--target", &io->s, out ? out : in, &io->out, &io->M);
    if (rc) {
        io_free(io);
        return rc;
    }
    if (horizon < 0) horizon = out ? 0 : 1;
    if ((size_t)horizon >= io->s.steps) {
        size_t n = io->s.steps;
        io_free(io);
        return cli_error(cmd, EXIT_USAGE, "--horizon %ld: the series has only %zu rows", horizon, n);
    }
    io->T = io->s.steps - (size_t)horizon;
    io->u = calloc(io->T * io->D, sizeof *io->u);
    io->y = calloc(io->T * io->M, sizeof *io->y);
    if (!io->u || !io->y) {
        io_free(io);
        return cli_error(cmd, EXIT_RUNTIME, "out of memory for the series");
    }
    size_t C = io->s.channels;
    for (size_t t = 0; t < io->T; t++) {
        for (size_t j = 0; j < io->D; j++) io->u[t * io->D + j] = io->s.x[t * C + io->in[j]];
        for (size_t j = 0; j < io->M; j++) io->y[t * io->M + j] = io->s.x[(t + (size_t)horizon) * C + io->out[j]];
    }
    return 0;
}

/* predictions (n, M) to path, a header "pred_<target>" per column when the series had names */
static int write_predictions(const char *cmd, const char *path, const series_io *io, const double *p, size_t n)
{
    char **names = NULL;
    if (io->s.names) {
        names = calloc(io->M, sizeof *names);
        for (size_t j = 0; names && j < io->M; j++) {
            const char *b = io->s.names[io->out[j]];
            if ((names[j] = malloc(strlen(b) + 6))) sprintf(names[j], "pred_%s", b);
        }
    }
    pt_status st = pt_series_write_csv(path, p, n, io->M, (const char *const *)names);
    for (size_t j = 0; names && j < io->M; j++) free(names[j]);
    free(names);
    if (st) return cli_error(cmd, cli_status_code(st), "--predictions %s", pt_errmsg());
    return 0;
}

static int given(const opt *opts, const char *name)
{
    for (const opt *o = opts; o->name; o++)
        if (!strcmp(o->name, name)) return o->seen;
    return 0;
}

/* score p against truth, into the report under key */
static void score(cli_report *r, const char *key, const double *p, const double *t, size_t n, size_t M, double tol,
                  size_t nrmse_steps)
{
    double nr = 0, ns = 0;
    size_t valid = 0;
    pt_esn_scores(p, t, n, M, tol, &nr, &ns, &valid);
    rep_push(r, key, 0);
    rep_int(r, "steps", (long long)n);
    rep_num(r, "nrmse_range", nr, 6), rep_num(r, "nrmse_std", ns, 6);
    rep_int(r, "valid_steps", (long long)valid);
    rep_num(r, "valid_tol", tol, 6);
    double n84 = (double)NAN;
    if (nrmse_steps && nrmse_steps <= n) pt_esn_scores(p, t, nrmse_steps, M, tol, NULL, &n84, NULL);
    if (nrmse_steps && nrmse_steps <= n) rep_num(r, "nrmse_std_head", n84, 6);
    rep_pop(r);
    rep_text(r, "%s over %zu steps: NRMSE %.6g (range) %.6g (std), valid steps %zu (|error| <= %g)", key, n, nr, ns,
             valid, tol);
    if (nrmse_steps && nrmse_steps <= n) rep_text(r, ", NRMSE(std) of the first %zu: %.6g", nrmse_steps, n84);
    rep_text(r, "\n");
}

#define ESN_OPTS(c)                                                                                                   \
    {"unit", OPT_STR, &unitname, "tanh (default) or phasor (complex units, 2 features each)", 0, 0, "esn.unit", 0},   \
        {"units", OPT_INT, &(c).units, "reservoir units N (default 100)", -1e9, 1e9, "esn.units", 0},                 \
        {"spectral-radius", OPT_FLOAT, &sr, "spectral radius of W, > 0 (default 1.25)", -1e30, 1e30,                  \
         "esn.spectral_radius", 0},                                                                                   \
        {"leak", OPT_FLOAT, &leak, "leak rate lr in (0, 1] (default 0.3)", -1e30, 1e30, "esn.leak", 0},              \
        {"input-scaling", OPT_FLOAT, &isc, "W_in entries +-this (default 1)", -1e30, 1e30, "esn.input_scaling", 0}, \
        {"bias-scaling", OPT_FLOAT, &bsc, "bias +-this, 0: none (default 0)", -1e30, 1e30, "esn.bias_scaling", 0},  \
        {"connectivity", OPT_FLOAT, &con, "density of W in (0, 1] (default 0.1)", -1e30, 1e30, "esn.connectivity",  \
         0},                                                                                                          \
        {"input-connectivity", OPT_FLOAT, &icon, "density of W_in in (0, 1] (default 0.1)", -1e30, 1e30,            \
         "esn.input_connectivity", 0},                                                                                \
        {"ridge", OPT_FLOAT, &ridge, "ridge strength, absolute (default 1e-7)", -1e30, 1e30, "esn.ridge", 0},       \
        {"warmup", OPT_INT, &(c).warmup, "states discarded before fitting (default 100)", -1e9, 1e9, "esn.warmup", 0}, \
        {"readout", OPT_STR, &fitname, "ridge (default) or rls (online recursive least squares)", 0, 0,              \
         "esn.readout", 0},                                                                                           \
        {"rls-delta", OPT_FLOAT, &delta, "RLS: P starts as I / delta (default 1e-6)", -1e30, 1e30, "esn.rls_delta", 0}, \
    {                                                                                                                 \
        "seed", OPT_U64, &(c).seed, "random seed of W, W_in and the bias (default 1)", 1, 0, NULL, 0                  \
    }

static int train(int argc, char **argv)
{
    pt_esn_config c = pt_esn_config_default();
    float sr = 1.25f, leak = 0.3f, isc = 1.0f, bsc = 0.0f, con = 0.1f, icon = 0.1f, ridge = 1e-7f, delta = 1e-6f;
    const char *path = NULL, *in = "0", *out = NULL, *model = NULL, *pred = NULL, *fitname = "ridge",
               *genpred = NULL, *unitname = "tanh";
    int hz = -1;
    size_t fit = 0, gen = 0, head = 0;
    float tol = 0.2f;
    int json = 0, quiet = 0, force = 0;
    opt opts[] = {
        {"series", OPT_STR, &path, "the CSV time series (rows: steps, columns: channels)", 0, 0, NULL, 0},
        {"input", OPT_STR, &in, "input columns, names or 0-based indices, comma-separated (default 0)", 0, 0, NULL, 0},
        {"target", OPT_STR, &out, "target columns (default: the input columns)", 0, 0, NULL, 0},
        {"horizon", OPT_INT, &hz, "targets from row t + K (default 1, or 0 with --target)", 0, 1e9, NULL, 0},
        {"fit", OPT_SIZE, &fit, "fit on the first N rows (default 80%)", 1, 1e12, NULL, 0},
        ESN_OPTS(c),
        {"generate", OPT_SIZE, &gen, "after fitting, N steps of closed loop from row --fit", 1, 1e9, NULL, 0},
        {"valid-tol", OPT_FLOAT, &tol, "valid steps: |error| at most this (default 0.2)", 0, 1e30, NULL, 0},
        {"nrmse-steps", OPT_SIZE, &head, "also NRMSE(std) over the first N steps of each score", 1, 1e9, NULL, 0},
        {"predictions", OPT_STR, &pred, "write the predictions after --fit as CSV", 0, 0, NULL, 0},
        {"gen-predictions", OPT_STR, &genpred, "write the closed loop's predictions as CSV", 0, 0, NULL, 0},
        OPT_OUT_MODEL(&model),
        OPT_FORCE(&force),
        OPT_JSON(&json),
        {"quiet", OPT_FLAG, &quiet, "no progress on stderr", 0, 0, NULL, 0},
        OPT_END,
    };
    cli_cmd k = {"reservoir train", TRAIN_USAGE, opts, "reservoir train", "units"};
    CLI_PARSE(&k, argc, argv, NULL);
    c.spectral_radius = cli_float_decimal(sr), c.leak = cli_float_decimal(leak), c.input_scaling = cli_float_decimal(isc);
    c.bias_scaling = cli_float_decimal(bsc), c.connectivity = cli_float_decimal(con);
    c.input_connectivity = cli_float_decimal(icon), c.ridge = cli_float_decimal(ridge);
    c.rls_delta = cli_float_decimal(delta);
    if (pt_esn_readout_parse(fitname, &c.readout)) return cli_lib_error(&k, PT_EINVAL, NULL);
    if (pt_esn_unit_parse(unitname, &c.unit)) return cli_lib_error(&k, PT_EINVAL, NULL);
    if (pt_esn_config_check(&c)) return cli_lib_error(&k, PT_EINVAL, NULL);
    int rc;
    if (model && (rc = cli_check_out(k.name, "--out", model, force))) return rc;
    if (pred && (rc = cli_check_out(k.name, "--predictions", pred, force))) return rc;
    if (genpred && (rc = cli_check_out(k.name, "--gen-predictions", genpred, force))) return rc;
    series_io io;
    if ((rc = load_io(k.name, path, in, out, hz, &io))) return rc;
    c.inputs = (int)io.D, c.outputs = (int)io.M;
    if (!given(opts, "fit")) fit = io.T * 4 / 5;
    if (fit > io.T) {
        rc = cli_error(k.name, EXIT_USAGE, "--fit %zu: the series has %zu usable rows", fit, io.T);
        goto done_io;
    }
    if (fit <= (size_t)c.warmup) {
        rc = cli_error(k.name, EXIT_USAGE, "--fit %zu rows (of %zu usable in --series %s): not more than --warmup %d",
                       fit, io.T, path, c.warmup);
        goto done_io;
    }
    int same = io.D == io.M && !memcmp(io.in, io.out, io.D * sizeof *io.in);
    if (gen && (!same || io.T + 1 != io.s.steps)) {
        rc = cli_error(k.name, EXIT_USAGE, "--generate needs the same --input and --target columns and --horizon 1");
        goto done_io;
    }
    if (gen && fit + 1 + gen > io.s.steps) {
        rc = cli_error(k.name, EXIT_USAGE, "--generate %zu from row %zu: the series has %zu rows", gen, fit,
                       io.s.steps);
        goto done_io;
    }
    pt_set_threads(1);
    pt_esn *m = NULL;
    double *p = NULL, *g = NULL, *x_fit = NULL;
    double t0 = cli_now();
    pt_status st = pt_esn_create(&c, &m);
    double t_create = cli_now() - t0;
    if (st) {
        rc = cli_lib_error(&k, st, NULL);
        goto done_io;
    }
    cli_progress bar;
    cli_progress_init(&bar, "reservoir fit", quiet || json);
    t0 = cli_now();
    st = pt_esn_fit(m, io.u, io.y, fit, cli_progress_cb, &bar);
    double t_fit = cli_now() - t0;
    cli_progress_end(&bar);
    if (st) {
        rc = cli_lib_error(&k, st, "fit failed") == EXIT_USAGE ? EXIT_USAGE : EXIT_RUNTIME;
        goto done;
    }
    size_t ntest = io.T - fit;
    uint64_t steps_fit = pt_esn_steps(m);
    p = calloc(ntest ? ntest * io.M : 1, sizeof *p);
    g = calloc(gen ? gen * io.M : 1, sizeof *g);
    size_t F = pt_esn_features(m);
    x_fit = calloc(F, sizeof *x_fit);
    if (!p || !g || !x_fit) {
        rc = cli_error(k.name, EXIT_RUNTIME, "out of memory");
        goto done;
    }
    memcpy(x_fit, pt_esn_state(m), F * sizeof *x_fit);
    cli_report *r = rep_new(json);
    rep_str(r, "model", "esn"), rep_str(r, "unit", pt_esn_unit_name(c.unit)), rep_str(r, "series", path);
    rep_int(r, "features", (long long)F);
    rep_int(r, "units", c.units), rep_int(r, "inputs", c.inputs), rep_int(r, "outputs", c.outputs);
    rep_num(r, "spectral_radius", c.spectral_radius, 9), rep_num(r, "leak", c.leak, 9);
    rep_num(r, "input_scaling", c.input_scaling, 9), rep_num(r, "input_connectivity", c.input_connectivity, 9);
    rep_num(r, "ridge", c.ridge, 12);
    rep_str(r, "readout", pt_esn_readout_name(c.readout));
    rep_int(r, "seed", (long long)c.seed), rep_int(r, "fit_rows", (long long)fit), rep_int(r, "warmup", c.warmup);
    rep_int(r, "nnz", (long long)pt_esn_nnz(m)), rep_num(r, "raw_radius", pt_esn_raw_radius(m), 9);
    rep_num(r, "create_s", t_create, 6), rep_num(r, "fit_s", t_fit, 6);
    rep_text(r, "esn: %d %s units (%zu features; %zu recurrent weights, radius %.6g scaled to %g), leak %g, %s readout; "
                "fitted on %zu rows of %s (warm-up %d) in %.3f s (creation %.3f s)\n",
             c.units, pt_esn_unit_name(c.unit), F, pt_esn_nnz(m), pt_esn_raw_radius(m), c.spectral_radius, c.leak, pt_esn_readout_name(c.readout),
             fit, path, c.warmup, t_fit, t_create);
    if (ntest) {
        t0 = cli_now();
        st = pt_esn_predict(m, io.u + fit * io.D, ntest, p);
        double t_run = cli_now() - t0;
        rep_num(r, "run_s", t_run, 6);
        if (!st) score(r, "test", p, io.y + fit * io.M, ntest, io.M, (double)tol, head);
        rep_text(r, "ran on over %zu rows in %.3f s\n", ntest, t_run);
    }
    if (!st && gen) { /* from the state after fitting (that of row fit - 1) */
        pt_esn_set_state(m, x_fit, steps_fit);
        t0 = cli_now();
        st = pt_esn_generate(m, io.s.x + fit * io.s.channels, gen, g, NULL);
        rep_num(r, "generate_s", cli_now() - t0, 6);
        if (!st) score(r, "closed_loop", g, io.u + (fit + 1) * io.D, gen, io.M, (double)tol, head);
    }
    if (st) {
        rep_discard(r);
        rc = cli_lib_error(&k, st, NULL) == EXIT_USAGE ? EXIT_USAGE : EXIT_RUNTIME;
        goto done;
    }
    if (pred && ntest && (rc = write_predictions(k.name, pred, &io, p, ntest))) {
        rep_discard(r);
        goto done;
    }
    if (genpred && gen && (rc = write_predictions(k.name, genpred, &io, g, gen))) {
        rep_discard(r);
        goto done;
    }
    pt_esn_set_state(m, x_fit, steps_fit); /* --out: the model as it was after fitting */
    if (model && (st = pt_esn_save(m, model))) {
        rep_discard(r);
        rc = cli_error(k.name, cli_status_code(st), "--out %s", pt_errmsg());
        goto done;
    }
    if (model) rep_str(r, "out", model), rep_text(r, "saved %s\n", model);
    rc = rep_end(r);
done:
    free(p), free(g), free(x_fit);
    pt_esn_destroy(m);
done_io:
    io_free(&io);
    return rc;
}

static int load_model(const cli_cmd *k, const char *path, pt_esn **m)
{
    if (!path) return cli_error(k->name, EXIT_USAGE, "--model FILE is required (see --help)");
    pt_status st = pt_esn_load(path, m);
    if (st) return cli_error(k->name, cli_status_code(st), "--model %s", pt_errmsg());
    return 0;
}

static const char *EVAL_USAGE =
    "usage: phasetower reservoir eval --model FILE --series FILE [options]\n\n"
    "Drive the saved model over the rows of --series from --from on (its state as saved,\n"
    "or zero with --reset), read out each step and score against the targets (columns and\n"
    "horizon as for train); --warmup N leaves the first N predictions unscored.";

static int eval(int argc, char **argv)
{
    const char *mpath = NULL, *path = NULL, *in = "0", *out = NULL, *pred = NULL;
    int hz = -1, reset = 0, json = 0, force = 0, warm = 0;
    size_t from = 0, head = 0;
    float tol = 0.2f;
    opt opts[] = {
        {"model", OPT_STR, &mpath, "the saved echo-state network", 0, 0, NULL, 0},
        {"series", OPT_STR, &path, "the CSV time series", 0, 0, NULL, 0},
        {"input", OPT_STR, &in, "input columns (default 0)", 0, 0, NULL, 0},
        {"target", OPT_STR, &out, "target columns (default: the input columns)", 0, 0, NULL, 0},
        {"horizon", OPT_INT, &hz, "targets from row t + K (default 1, or 0 with --target)", 0, 1e9, NULL, 0},
        {"from", OPT_SIZE, &from, "first row to drive with (default 0)", 0, 1e12, NULL, 0},
        {"reset", OPT_FLAG, &reset, "start from the zero state", 0, 0, NULL, 0},
        {"warmup", OPT_INT, &warm, "predictions left unscored at the start (default 0)", 0, 1e9, NULL, 0},
        {"valid-tol", OPT_FLOAT, &tol, "valid steps: |error| at most this (default 0.2)", 0, 1e30, NULL, 0},
        {"nrmse-steps", OPT_SIZE, &head, "also NRMSE(std) over the first N steps", 1, 1e9, NULL, 0},
        {"predictions", OPT_STR, &pred, "write the predictions as CSV", 0, 0, NULL, 0},
        OPT_FORCE(&force),
        OPT_JSON(&json),
        OPT_END,
    };
    cli_cmd k = {"reservoir eval", EVAL_USAGE, opts, "reservoir eval", NULL};
    CLI_PARSE(&k, argc, argv, NULL);
    int rc;
    if (pred && (rc = cli_check_out(k.name, "--predictions", pred, force))) return rc;
    pt_esn *m = NULL;
    if ((rc = load_model(&k, mpath, &m))) return rc;
    series_io io;
    if ((rc = load_io(k.name, path, in, out, hz, &io))) {
        pt_esn_destroy(m);
        return rc;
    }
    const pt_esn_config *c = pt_esn_get_config(m);
    double *p = NULL;
    if (io.D != (size_t)c->inputs || io.M != (size_t)c->outputs) {
        rc = cli_error(k.name, EXIT_USAGE, "--input/--target give %zu inputs and %zu targets; the model has %d and %d",
                       io.D, io.M, c->inputs, c->outputs);
        goto done;
    }
    if (from + (size_t)warm >= io.T) {
        rc = cli_error(k.name, EXIT_USAGE, "--from %zu and --warmup %d leave nothing to score of %zu usable rows", from,
                       warm, io.T);
        goto done;
    }
    if (!pt_esn_fitted(m)) {
        rc = cli_error(k.name, EXIT_USAGE, "--model %s: the readout was never fitted", mpath);
        goto done;
    }
    size_t n = io.T - from;
    if (!(p = calloc(n * io.M, sizeof *p))) {
        rc = cli_error(k.name, EXIT_RUNTIME, "out of memory");
        goto done;
    }
    if (reset) pt_esn_reset(m);
    double t0 = cli_now();
    pt_status st = pt_esn_predict(m, io.u + from * io.D, n, p);
    double secs = cli_now() - t0;
    if (st) {
        rc = cli_lib_error(&k, st, NULL);
        goto done;
    }
    cli_report *r = rep_new(json);
    rep_str(r, "model", mpath), rep_str(r, "series", path), rep_num(r, "run_s", secs, 6);
    score(r, "eval", p + (size_t)warm * io.M, io.y + (from + (size_t)warm) * io.M, n - (size_t)warm, io.M,
          (double)tol, head);
    if (pred && (rc = write_predictions(k.name, pred, &io, p, n))) {
        rep_discard(r);
        goto done;
    }
    rc = rep_end(r);
done:
    free(p);
    io_free(&io);
    pt_esn_destroy(m);
    return rc;
}

static const char *GEN_USAGE =
    "usage: phasetower reservoir generate --model FILE --steps N --start V[,V...] [options]\n\n"
    "Continue the saved model in a closed loop from its saved state: feed the --start input\n"
    "(one value per input), then each prediction; write the predictions (--predictions) and\n"
    "save the model as it ends (--save), from which another generate continues exactly.";

static int generate(int argc, char **argv)
{
    const char *mpath = NULL, *start = NULL, *pred = NULL, *save = NULL;
    size_t n = 0;
    int json = 0, force = 0;
    opt opts[] = {
        {"model", OPT_STR, &mpath, "the saved echo-state network", 0, 0, NULL, 0},
        {"steps", OPT_SIZE, &n, "steps to generate", 1, 1e9, NULL, 0},
        {"start", OPT_STR, &start, "the first input, comma-separated values", 0, 0, NULL, 0},
        {"predictions", OPT_STR, &pred, "write the predictions as CSV", 0, 0, NULL, 0},
        {"save", OPT_STR, &save, "save the model after generating", 0, 0, NULL, 0},
        OPT_FORCE(&force),
        OPT_JSON(&json),
        OPT_END,
    };
    cli_cmd k = {"reservoir generate", GEN_USAGE, opts, "reservoir generate", NULL};
    CLI_PARSE(&k, argc, argv, NULL);
    if (!n || !start) return cli_error(k.name, EXIT_USAGE, "--steps N and --start V are required (see --help)");
    int rc;
    if (pred && (rc = cli_check_out(k.name, "--predictions", pred, force))) return rc;
    if (save && (rc = cli_check_out(k.name, "--save", save, force))) return rc;
    pt_esn *m = NULL;
    if ((rc = load_model(&k, mpath, &m))) return rc;
    const pt_esn_config *c = pt_esn_get_config(m);
    double *u0 = calloc((size_t)c->inputs, sizeof *u0), *y = calloc(n * (size_t)c->outputs, sizeof *y);
    pt_status st = PT_OK;
    if (!u0 || !y) {
        rc = cli_error(k.name, EXIT_RUNTIME, "out of memory");
        goto done;
    }
    pt_series s;
    if ((st = pt_series_parse_csv(start, strlen(start), "--start", &s))) {
        rc = cli_error(k.name, EXIT_USAGE, "%s", pt_errmsg());
        goto done;
    }
    if (s.steps != 1 || s.channels != (size_t)c->inputs) {
        rc = cli_error(k.name, EXIT_USAGE, "--start %s: the model takes %d input value%s", start, c->inputs,
                       c->inputs == 1 ? "" : "s");
        pt_series_free(&s);
        goto done;
    }
    memcpy(u0, s.x, (size_t)c->inputs * sizeof *u0);
    pt_series_free(&s);
    if (!pt_esn_fitted(m)) {
        rc = cli_error(k.name, EXIT_USAGE, "--model %s: the readout was never fitted", mpath);
        goto done;
    }
    size_t done_steps = 0;
    if ((st = pt_esn_generate(m, u0, n, y, &done_steps))) {
        rc = cli_lib_error(&k, st, NULL);
        goto done;
    }
    if (pred && (st = pt_series_write_csv(pred, y, n, (size_t)c->outputs, NULL))) {
        rc = cli_error(k.name, cli_status_code(st), "--predictions %s", pt_errmsg());
        goto done;
    }
    if (save && (st = pt_esn_save(m, save))) {
        rc = cli_error(k.name, cli_status_code(st), "--save %s", pt_errmsg());
        goto done;
    }
    cli_report *r = rep_new(json);
    rep_int(r, "steps", (long long)n);
    rep_push(r, "last", 0);
    for (int o = 0; o < c->outputs; o++) {
        char key[32];
        snprintf(key, sizeof key, "y%d", o);
        rep_num(r, key, y[(n - 1) * (size_t)c->outputs + (size_t)o], 17);
    }
    rep_pop(r);
    rep_text(r, "generated %zu steps; last prediction %.17g\n", n, y[(n - 1) * (size_t)c->outputs]);
    rc = rep_end(r);
done:
    free(u0), free(y);
    pt_esn_destroy(m);
    return rc;
}

static const char *INFO_USAGE = "usage: phasetower reservoir info MODEL [--json]";

int cli_reservoir_info(int argc, char **argv)
{
    const char *path = NULL;
    int json = 0;
    opt opts[] = {OPT_JSON(&json), OPT_END};
    cli_cmd k = {"reservoir info", INFO_USAGE, opts, "reservoir info", NULL};
    CLI_PARSE(&k, argc, argv, &path);
    if (!path) return cli_error(k.name, EXIT_USAGE, "a model file is required (see --help)");
    pt_esn *m = NULL;
    pt_status st = pt_esn_load(path, &m);
    if (st) return cli_error(k.name, cli_status_code(st), "%s", pt_errmsg());
    const pt_esn_config *c = pt_esn_get_config(m);
    cli_report *r = rep_new(json);
    rep_str(r, "model", "esn"), rep_str(r, "unit", pt_esn_unit_name(c->unit)), rep_int(r, "units", c->units);
    rep_int(r, "features", (long long)pt_esn_features(m)), rep_int(r, "inputs", c->inputs);
    rep_int(r, "outputs", c->outputs), rep_num(r, "spectral_radius", c->spectral_radius, 9);
    rep_num(r, "leak", c->leak, 9), rep_int(r, "nnz", (long long)pt_esn_nnz(m));
    rep_str(r, "readout", pt_esn_readout_name(c->readout)), rep_bool(r, "fitted", pt_esn_fitted(m));
    rep_int(r, "steps", (long long)pt_esn_steps(m));
    rep_text(r, "%s: %s, %d units (%zu recurrent weights, spectral radius %g, leak %g), %d input%s, "
                "%d output%s, %s readout%s; driven %llu steps\n",
             path, c->unit == PT_ESN_PHASOR ? "phasor reservoir (echo-state network of complex units)" : "echo-state network",
             c->units, pt_esn_nnz(m), c->spectral_radius, c->leak, c->inputs, c->inputs == 1 ? "" : "s",
             c->outputs, c->outputs == 1 ? "" : "s", pt_esn_readout_name(c->readout),
             pt_esn_fitted(m) ? "" : " (not fitted)", (unsigned long long)pt_esn_steps(m));
    pt_esn_destroy(m);
    return rep_end(r);
}

int cmd_reservoir(int argc, char **argv)
{
    const char *sub = argc > 2 ? argv[2] : NULL;
    if (!sub) return cli_error("reservoir", EXIT_USAGE, "a subcommand is needed: train, eval, generate or info (see --help)");
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        printf("%s\n", USAGE);
        return EXIT_OK;
    }
    if (!strcmp(sub, "train")) return train(argc - 1, argv + 1);
    if (!strcmp(sub, "eval")) return eval(argc - 1, argv + 1);
    if (!strcmp(sub, "generate")) return generate(argc - 1, argv + 1);
    if (!strcmp(sub, "info")) return cli_reservoir_info(argc - 1, argv + 1);
    return cli_error("reservoir", EXIT_USAGE, "unknown subcommand '%s': expected train, eval, generate or info", sub);
}
