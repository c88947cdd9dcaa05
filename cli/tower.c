/* The tower family on the command line: train (one backprop-free pass, or
 * --epochs N; optionally an episodic memory of the training outputs; test
 * accuracy, timing and size; save) and info (configuration, size and cost of
 * a checkpoint). Its eval is in tower_eval.c. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"

static const char *TRAIN_USAGE =
    "usage: phasetower train [--data DIR] [--layers SPEC] [--epochs 1] [--seed N] [--eta X]\n"
    "                        [--train-limit N] [--out model.safetensors] [--json] ...\n\n"
    "Trains a PhaseTower without backpropagation: one forward pass and one local\n"
    "target pass per sample. DIR holds MNIST-format train-/t10k- images and labels\n"
    "(default " PT_DEFAULT_DATA "). SPEC is K:fraction per block, e.g.\n"
    "512:0.08,256:0.05,128:0.03 (the paper's reference tower, with --subspace 0);\n"
    "default 2304:0.015625. By default block 0 reads the image's first 56 principal\n"
    "components (--subspace).";

/* Everything train takes from its flags. */
typedef struct train_args {
    pt_tower_config cfg;
    pt_memory_config mcfg;
    pt_memory_fill_opts fill;
    const char *data, *layers, *out, *birth_init, *model_kind, *rule, *readout, *init, *select;
    const char *memory, *mvote, *mcode, *mkey, *classes, *fit;
    uint8_t keep[256];
    int mem_size, mem_k, mem_dim, frame, epochs, json, quiet, threads, force;
    float mem_alpha, mem_tau;
    size_t train_limit, val, test_limit;
} train_args;

enum { TRAIN_NOPTS = 48 };

/* The options of train, bound to a's fields. */
static void train_opts(train_args *a, opt *o)
{
    pt_tower_config *c = &a->cfg;
    const opt t[] = {
        {"model", OPT_STR, &a->model_kind, "tower (default) or phasor (a gradient-trained phasor MLP: train --model phasor --help)", 0, 0, NULL, 0},
        OPT_DATA(&a->data),
        {"layers", OPT_STR, &a->layers, "blocks as K:fraction,... (default 2304:0.015625)", 0, 0, "tower.layers", 0},
        {"epochs", OPT_INT, &a->epochs, "passes over the training data (default 1)", 1, 1000, NULL, 0},
        {"seed", OPT_U64, &c->seed, "random seed (default 1)", 1, 0, "tower.seed", 0},
        {"eta", OPT_FLOAT, &c->eta, "step size of the direction rule (default 0.005)", 0, 1e6, "tower.eta", 0},
        {"eta-phase", OPT_FLOAT, &c->eta_phase, "step size of the phase rule (default 0: off, see docs/design-notes.md)", 0, 1e6, "tower.eta_phase", 0},
        {"eta-skip", OPT_FLOAT, &c->eta_skip, "step size of the complex skip (default 0.01)", 0, 1e6, "tower.eta_skip", 0},
        {"eta-code", OPT_FLOAT, &c->eta_code, "step size of the delta codebook (default 0.01)", 0, 1e6, "tower.eta_code", 0},
        {"target-mag", OPT_FLOAT, &c->target_mag, "magnitude |t| of block targets (default 0.3)", 1e-6, 1e6, "tower.target_mag", 0},
        {"ridge", OPT_FLOAT, &c->ridge, "ridge strength of the readout (default 0.001)", 1e-12, 1e6, "tower.ridge", 0},
        {"rule", OPT_STR, &a->rule, "local (exact gradient, default) or paper", 0, 0, "tower.rule", 0},
        {"readout", OPT_STR, &a->readout, "ridge (default), delta or code", 0, 0, "tower.readout", 0},
        {"init", OPT_STR, &a->init, "imprint (default) or random", 0, 0, "tower.init", 0},
        {"subspace", OPT_INT, &c->subspace, "block 0 reads the image's first R principal components; 0: the pixels (default 56 for inputs larger than 56, else 0; docs/sparse.md)", 0, 1000000, "tower.subspace", 0},
        {"route-rank", OPT_INT, &c->route, "also fit a routing basis of R principal components for eval --route (needs --subspace 0; default 0: none; docs/sparse.md)", 0, 1000000, "tower.route", 0},
        {"subspace-fit", OPT_STR, &a->fit, "how --subspace and --route-rank fit their basis: iterate (orthogonal iteration, default: every published number) or eigen (LAPACK's dsyevr)", 0, 0, NULL, 0},
        {"select", OPT_STR, &a->select, "soft (default: outputs shrunk by the (s+1)-th score) or hard (paper)", 0, 0, "tower.select", 0},
        {"births", OPT_FLAG, &c->births, "liquid topology: clone the most confident neuron (phase flipped) when none reaches --birth-tau", 0, 0, NULL, 0},
        {"deaths", OPT_FLAG, &c->deaths, "liquid topology: flip the phase of a neuron unselected for --death-steps samples, remove it after as many more", 0, 0, NULL, 0},
        {"death-steps", OPT_INT, &c->death_steps, "N of --deaths, in samples (default 5000)", 1, 1e9, "tower.death_steps", 0},
        {"birth-tau", OPT_FLOAT, &c->birth_tau, "confidence (cosine score) a sample needs to cause no birth, in (0,1] (default 0.7)", 1e-6, 1, "tower.birth_tau", 0},
        {"birth-init", OPT_STR, &a->birth_init, "clone (default: the parent, phase flipped, as in the paper) or sample (imprint the sample)", 0, 0, NULL, 0},
        {"max-neurons", OPT_INT, &c->max_neurons, "most neurons of the last block with --births (default K + K/4)", 1, 1e6, "tower.max_neurons", 0},
        {"batch", OPT_INT, &c->batch, "samples scored per BLAS call (default 256)", 1, 4096, "tower.batch", 0},
        {"classes", OPT_STR, &a->classes, "train and test on these classes only, e.g. 0-4 (labels keep their numbers)", 0, 0, NULL, 0},
        OPT_TRAIN_LIMIT(&a->train_limit),
        {"val", OPT_SIZE, &a->val, "hold out the last N training samples for validation", 1, 1e9, NULL, 0},
        OPT_TEST_LIMIT(&a->test_limit),
        {"memory", OPT_STR, &a->memory, "keep an episodic memory of training outputs: all, wrong or novel", 0, 0, "memory.policy", 0},
        {"memory-size", OPT_INT, &a->mem_size, "memory slots (default 10000)", 1, 10000000, "memory.capacity", 0},
        {"memory-k", OPT_INT, &a->mem_k, "slots that vote on a recall (default 5)", 1, 10000000, "memory.k", 0},
        {"memory-dim", OPT_INT, &a->mem_dim, "complex length of memory keys (default min(K, 256))", 1, 1000000, "memory.dim", 0},
        {"memory-alpha", OPT_FLOAT, &a->mem_alpha, "forgetting rate in [0,1] (default 0: none)", 0, 1, "memory.alpha", 0},
        {"memory-tau", OPT_FLOAT, &a->mem_tau, "similarity of a match: novel stores below it, predictions trust the memory at or above it (default 0.7)", 1e-6, 1, NULL, 0},
        {"memory-key", OPT_STR, &a->mkey, "how dense codes become keys: sketch (a random projection, default) or frame (the image's subspace coordinates; one-block towers)", 0, 0, NULL, 0},
        {"memory-vote", OPT_STR, &a->mvote, "mode (default) or weighted", 0, 0, "memory.vote", 0},
        {"memory-code", OPT_STR, &a->mcode, "what the memory holds: sparse (the block's output, default) or dense (its phase code before selection, for composition)", 0, 0, "memory.code", 0},
        OPT_OUT_MODEL(&a->out),
        OPT_FORCE(&a->force),
        OPT_THREADS(&a->threads),
        {"json", OPT_FLAG, &a->json, "print one JSON object on stdout at the end", 0, 0, NULL, 0},
        {"quiet", OPT_FLAG, &a->quiet, "no progress bar", 0, 0, NULL, 0},
        OPT_END,
    };
    _Static_assert(sizeof t / sizeof t[0] <= TRAIN_NOPTS, "raise TRAIN_NOPTS");
    memcpy(o, t, sizeof t);
}

/* The configurations from the flags, checked. 0 or the exit code. */
static int train_config(const cli_cmd *k, train_args *a)
{
    pt_tower_config *c = &a->cfg;
    pt_status st;
    if ((a->layers && (st = pt_tower_spec_parse(a->layers, c))) || (a->rule && (st = pt_tower_rule_parse(a->rule, &c->rule))) ||
        (a->readout && (st = pt_tower_readout_parse(a->readout, &c->readout))) ||
        (a->init && (st = pt_tower_init_parse(a->init, &c->init))) ||
        (a->select && (st = pt_tower_select_parse(a->select, &c->select))) || (st = pt_tower_config_check(c)))
        return cli_lib_error(k, PT_EINVAL, NULL);
    if (a->fit) {
        if (strcmp(a->fit, "iterate") && strcmp(a->fit, "eigen"))
            return cli_error(k->name, EXIT_USAGE, "--subspace-fit '%s': expected iterate or eigen", a->fit);
        c->subspace_fit = !strcmp(a->fit, "eigen") ? PT_PCA_EIGEN : PT_PCA_ITERATE;
    }
    if (a->birth_init) {
        if (strcmp(a->birth_init, "clone") && strcmp(a->birth_init, "sample"))
            return cli_error(k->name, EXIT_USAGE, "--birth-init '%s': expected clone or sample", a->birth_init);
        c->birth_sample = !strcmp(a->birth_init, "sample");
    }
    a->fill = (pt_memory_fill_opts){PT_MEMORY_ALL, a->mem_tau, NULL, NULL};
    a->mcfg = pt_memory_config_default(c->K[c->n_blocks - 1]);
    a->mcfg.capacity = a->mem_size, a->mcfg.k = a->mem_k, a->mcfg.alpha = a->mem_alpha, a->mcfg.seed = c->seed;
    if (a->mem_dim) a->mcfg.dim = a->mem_dim;
    if (a->memory && ((st = pt_memory_policy_parse(a->memory, &a->fill.policy)) ||
                      (a->mvote && (st = pt_memory_vote_parse(a->mvote, &a->mcfg.vote))) ||
                      (a->mcode && (st = pt_memory_code_parse(a->mcode, &a->mcfg.code))) ||
                      (st = pt_memory_config_check(&a->mcfg))))
        return cli_lib_error(k, PT_EINVAL, NULL);
    if (a->mkey) {
        if (strcmp(a->mkey, "sketch") && strcmp(a->mkey, "frame"))
            return cli_error(k->name, EXIT_USAGE, "--memory-key '%s': expected sketch or frame", a->mkey);
        a->frame = !strcmp(a->mkey, "frame");
        if (a->frame && (!a->memory || a->mcfg.code != PT_MEMORY_DENSE))
            return cli_error(k->name, EXIT_USAGE, "--memory-key frame: needs --memory and --memory-code dense");
        if (a->frame && a->mem_dim)
            return cli_error(k->name, EXIT_USAGE, "--memory-key frame sets the key length; drop --memory-dim");
        if (a->frame && c->n_blocks != 1)
            return cli_error(k->name, EXIT_USAGE, "--memory-key frame: needs a one-block tower, not %d blocks", c->n_blocks);
    }
    int rc = EXIT_OK;
    if (a->classes && (rc = cli_parse_classes(k->name, a->classes, c->n_classes, a->keep))) return rc;
    if (a->out && (rc = cli_check_out(k->name, "--out", a->out, a->force))) return rc;
    return 0;
}

/* The training, validation and test sets. 0 or the exit code. */
static int train_data(const cli_cmd *k, train_args *a, pt_dataset *tr, pt_dataset *va, pt_dataset *te)
{
    pt_status st;
    int nc = a->cfg.n_classes;
    if ((st = pt_dataset_load(a->data, "train", a->train_limit, nc, tr)) ||
        (st = pt_dataset_load(a->data, "t10k", a->test_limit, nc, te)))
        return cli_lib_error(k, st, NULL);
    if (a->classes && ((st = pt_dataset_filter(tr, a->keep, NULL)) || (st = pt_dataset_filter(te, a->keep, NULL))))
        return cli_error(k->name, EXIT_RUNTIME, "%s", pt_errmsg());
    if (a->classes && (tr->n == 0 || te->n == 0))
        return cli_error(k->name, EXIT_USAGE, "--classes '%s': no %s samples of these classes", a->classes,
                         tr->n ? "test" : "training");
    if (a->val && (st = pt_dataset_split(tr, a->val, va)))
        return cli_error(k->name, EXIT_USAGE, "--val %zu: %s", a->val, pt_errmsg());
    if (tr->dim != te->dim)
        return cli_error(k->name, EXIT_USAGE, "%s: train images have %zu pixels, test images %zu", a->data, tr->dim, te->dim);
    a->cfg.n_in = (int)tr->dim;
    return 0;
}

/* --epochs passes with a progress bar; *seconds gets the training time. */
static int train_passes(const cli_cmd *k, const train_args *a, pt_tower *t, const pt_dataset *tr, double *seconds)
{
    *seconds = 0.0;
    for (int e = 0; e < a->epochs; e++) {
        cli_progress pb;
        char label[32];
        snprintf(label, sizeof label, "epoch %d/%d", e + 1, a->epochs);
        cli_progress_init(&pb, label, a->quiet || a->json);
        double t0 = cli_now();
        pt_status st = pt_tower_train(t, tr->x, tr->y, tr->n, cli_progress_cb, &pb);
        *seconds += cli_now() - t0;
        cli_progress_end(&pb);
        if (st) {
            int rc = cli_lib_error(k, st, "training failed");
            return rc == EXIT_USAGE ? EXIT_USAGE : EXIT_RUNTIME;
        }
    }
    return 0;
}

/* The memory of the training outputs (--memory), frame keys included. */
static int train_memory(const cli_cmd *k, train_args *a, const pt_tower *t, const pt_dataset *tr, pt_memory **mem,
                        size_t *written, double *seconds)
{
    double t0 = cli_now();
    if (a->mcfg.in_dim != pt_tower_out_dim(t)) { /* the liquid topology changed the last block's size */
        a->mcfg.in_dim = pt_tower_out_dim(t);
        if (a->mcfg.dim > a->mcfg.in_dim) a->mcfg.dim = a->mcfg.in_dim;
    }
    if (a->frame) a->mcfg.dim = pt_tower_frame_dim(t);
    pt_status st = pt_memory_create(&a->mcfg, mem);
    float *proj = NULL;
    if (!st && a->frame) { /* keys: the image's coordinates (the tower's dual frame) */
        proj = malloc((size_t)a->mcfg.in_dim * (size_t)a->mcfg.dim * 2 * sizeof *proj);
        st = !proj ? PT_ENOMEM : pt_tower_frame_projection(t, proj);
        if (!st) st = pt_memory_set_projection(*mem, proj);
    }
    free(proj);
    pt_embedder e = pt_tower_embedder(t, (pt_tower_code)a->mcfg.code);
    if (!st) st = pt_memory_fill(*mem, &e, tr, &a->fill, written);
    *seconds = cli_now() - t0;
    return st ? cli_lib_error(k, st, "memory") : 0;
}

static void train_report(cli_report *r, const train_args *a, const pt_tower *t, const pt_memory *mem,
                         const pt_memory_eval *ev, const pt_dataset *tr, const pt_dataset *va, const pt_dataset *te,
                         double vacc, double train_s, double mem_s, size_t mem_written, long long ckpt)
{
    const pt_tower_config *c = pt_tower_get_config(t);
    int L = c->n_blocks;
    size_t params = pt_tower_param_count(t);
    char spec[PT_TOWER_MAXBLOCKS * 24];
    pt_tower_spec_format(c, spec, sizeof spec);
    long births, flips, deaths;
    pt_tower_topology(t, L - 1, &births, &flips, &deaths);
    double us = te->n ? 1e6 * ev->embed_seconds / (double)te->n : 0.0;
    pt_embedder e = pt_tower_embedder(t, PT_TOWER_CODE_SPARSE);
    rep_num(r, "test_accuracy", ev->acc, 6);
    rep_num(r, "train_seconds", train_s, 4);
    rep_int(r, "samples", (long long)tr->n);
    rep_int(r, "epochs", a->epochs);
    rep_int(r, "params", (long long)params);
    rep_int(r, "model_bytes", (long long)(params * sizeof(float)));
    rep_int(r, "checkpoint_bytes", ckpt);
    rep_int(r, "test_samples", (long long)te->n);
    rep_num(r, "test_seconds", ev->embed_seconds, 4);
    rep_num(r, "infer_us_per_image", us, 3);
    if (rep_json(r)) rep_num(r, "infer_us_single", cli_single_latency_us(&e, te), 3);
    rep_int(r, "madds_per_image", (long long)pt_tower_madds(t));
    if (vacc >= 0) rep_num(r, "val_accuracy", vacc, 6), rep_int(r, "val_samples", (long long)va->n);
    if (c->births || c->deaths) {
        rep_int(r, "neurons_start", a->cfg.K[L - 1]), rep_int(r, "neurons", pt_tower_block_size(t, L - 1));
        rep_int(r, "births", births), rep_int(r, "flips", flips), rep_int(r, "deaths", deaths);
    }
    if (mem) {
        rep_int(r, "memory_dim", pt_memory_get_config(mem)->dim);
        rep_str(r, "memory_keys", pt_memory_keys_name(mem));
        rep_str(r, "memory", a->memory);
        rep_int(r, "memory_written", (long long)mem_written), rep_int(r, "memory_slots", (long long)pt_memory_count(mem));
        rep_int(r, "memory_bytes", (long long)pt_memory_bytes(mem)), rep_num(r, "memory_seconds", mem_s, 4);
        rep_num(r, "test_accuracy_memory", ev->mem_acc, 6), rep_num(r, "test_accuracy_combined", ev->comb_acc, 6);
    }
    rep_str(r, "layers", spec), rep_int(r, "subspace", c->subspace), rep_int(r, "route", c->route);
    rep_str(r, "rule", pt_tower_rule_name(c->rule)), rep_str(r, "readout", pt_tower_readout_name(c->readout));
    rep_str(r, "select", pt_tower_select_name(c->select)), rep_int(r, "seed", (long long)c->seed);
    char sub[48] = "";
    if (c->subspace) snprintf(sub, sizeof sub, " on %d principal components", c->subspace);
    rep_text(r, "trained on %zu samples in %.2f s (%d pass%s, layers %s%s, %s top-s, %s rule, %s readout)\n", tr->n,
             train_s, a->epochs, a->epochs == 1 ? "" : "es", spec, sub, pt_tower_select_name(c->select),
             pt_tower_rule_name(c->rule), pt_tower_readout_name(c->readout));
    if (vacc >= 0) rep_text(r, "validation accuracy %.2f%% (%zu samples)\n", 100.0 * vacc, va->n);
    if (c->births || c->deaths)
        rep_text(r, "liquid topology: last block %d -> %d neurons (%ld births, %ld phase flips, %ld deaths)\n",
                 a->cfg.K[L - 1], pt_tower_block_size(t, L - 1), births, flips, deaths);
    rep_text(r, "test accuracy %.2f%% (%zu samples, %.1f us/image)\n", 100.0 * ev->acc, te->n, us);
    if (mem)
        rep_text(r, "memory (%s): %zu of %zu training outputs kept in %.2f s; test accuracy %.2f%% from memory, "
                    "%.2f%% combined (memory when similarity >= %g)\n",
                 a->memory, pt_memory_count(mem), tr->n, mem_s, 100.0 * ev->mem_acc, 100.0 * ev->comb_acc,
                 (double)a->mem_tau);
    rep_text(r, "parameters %zu (%.2f MB as float32)", params, (double)(params * 4) / 1e6);
    if (a->out) rep_text(r, ", saved to %s (%lld bytes)", a->out, ckpt);
    rep_text(r, "\n");
}

int cli_tower_train(int argc, char **argv)
{
    train_args a = {.cfg = pt_tower_config_default(), .data = PT_DEFAULT_DATA, .mem_size = 10000, .mem_k = 5,
                    .mem_tau = 0.7f, .epochs = 1, .threads = 1};
    opt opts[TRAIN_NOPTS];
    train_opts(&a, opts);
    cli_cmd k = {"train", TRAIN_USAGE, opts, "a tower",
                 "layers subspace route-rank max-neurons batch memory-size memory-dim"};
    CLI_PARSE(&k, argc, argv, NULL);
    int rc = EXIT_OK;
    if (a.model_kind && strcmp(a.model_kind, "tower"))
        return cli_error(k.name, EXIT_USAGE, "--model '%s': expected tower or phasor", a.model_kind);
    if ((rc = train_config(&k, &a))) return rc;
    pt_set_threads(a.threads);
    pt_dataset tr = {0}, va = {0}, te = {0};
    pt_tower *t = NULL;
    pt_memory *mem = NULL;
    pt_memory_eval ev = {0};
    pt_status st;
    double train_s = 0.0, mem_s = 0.0, vacc = -1.0;
    size_t mem_written = 0;
    long long ckpt = -1;
    if ((rc = train_data(&k, &a, &tr, &va, &te))) goto done;
    if ((st = pt_tower_create(&a.cfg, &t))) {
        rc = cli_lib_error(&k, st, NULL);
        goto done;
    }
    if (a.frame && pt_tower_frame_dim(t) == 0) {
        rc = cli_error(k.name, EXIT_USAGE, "--memory-key frame: the block needs more neurons than inputs");
        goto done;
    }
    if ((rc = train_passes(&k, &a, t, &tr, &train_s))) goto done;
    if (a.memory && (rc = train_memory(&k, &a, t, &tr, &mem, &mem_written, &mem_s))) goto done;
    pt_embedder e = pt_tower_embedder(t, mem ? (pt_tower_code)pt_memory_get_config(mem)->code : PT_TOWER_CODE_SPARSE);
    if ((st = pt_memory_evaluate(mem, &e, &te, a.mem_tau, &ev)) || (va.n && (st = pt_tower_accuracy(t, &va, &vacc)))) {
        rc = cli_lib_error(&k, st, NULL);
        goto done;
    }
    if (a.out) {
        if ((st = cli_save_tower(t, mem, a.out))) {
            rc = cli_lib_error(&k, st, NULL);
            goto done;
        }
        struct stat sb;
        if (stat(a.out, &sb) == 0) ckpt = (long long)sb.st_size;
    }
    cli_report *r = rep_new(a.json);
    if (r) train_report(r, &a, t, mem, &ev, &tr, &va, &te, vacc, train_s, mem_s, mem_written, ckpt);
    rc = rep_end(r);
done:
    pt_memory_eval_free(&ev);
    pt_memory_destroy(mem);
    pt_tower_destroy(t);
    pt_dataset_free(&tr);
    pt_dataset_free(&va);
    pt_dataset_free(&te);
    return rc;
}

/* ---- info ---- */

static const char *INFO_USAGE = "usage: phasetower info [--json] MODEL\n\nDescribes a checkpoint written by 'phasetower train'.";

static void info_memory(cli_report *r, const pt_memory *mem)
{
    const pt_memory_config *mc = pt_memory_get_config(mem);
    rep_push(r, "memory", 0);
    rep_int(r, "slots", (long long)pt_memory_count(mem)), rep_int(r, "size", mc->capacity), rep_int(r, "dim", mc->dim);
    rep_int(r, "k", mc->k), rep_float(r, "alpha", mc->alpha), rep_str(r, "vote", pt_memory_vote_name(mc->vote));
    rep_str(r, "code", pt_memory_code_name(mc->code)), rep_str(r, "keys", pt_memory_keys_name(mem));
    rep_int(r, "bytes", (long long)pt_memory_bytes(mem));
    rep_pop(r);
    rep_text(r, "  memory          %zu of %d slots, keys of %d complex values (%s code, %s keys), k %d, alpha %g, %s vote, "
                "%zu bytes\n",
             pt_memory_count(mem), mc->capacity, mc->dim, pt_memory_code_name(mc->code), pt_memory_keys_name(mem), mc->k,
             (double)mc->alpha, pt_memory_vote_name(mc->vote), pt_memory_bytes(mem));
}

static void info_liquid(cli_report *r, const pt_tower *t)
{
    const pt_tower_config *c = pt_tower_get_config(t);
    long bi, fl, de;
    pt_tower_topology(t, c->n_blocks - 1, &bi, &fl, &de);
    rep_push(r, "liquid", 0);
    rep_bool(r, "births", c->births), rep_bool(r, "deaths", c->deaths), rep_int(r, "death_steps", c->death_steps);
    rep_float(r, "birth_tau", c->birth_tau), rep_int(r, "max_neurons", c->max_neurons);
    rep_int(r, "born", bi), rep_int(r, "flipped", fl), rep_int(r, "removed", de);
    rep_pop(r);
    if (c->births || c->deaths)
        rep_text(r, "  liquid          last block: births %s, deaths %s (N %d, tau %g); %ld born, %ld phase flips, %ld removed\n",
                 c->births ? "on" : "off", c->deaths ? "on" : "off", c->death_steps, (double)c->birth_tau, bi, fl, de);
    else
        rep_text(r, "  liquid          off (fixed topology)\n");
}

static void info_report(cli_report *r, const char *path, const pt_tower *t, const pt_memory *mem)
{
    const pt_tower_config *c = pt_tower_get_config(t);
    struct stat sb;
    long long bytes = stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
    char spec[PT_TOWER_MAXBLOCKS * 24];
    pt_tower_spec_format(c, spec, sizeof spec);
    size_t flash[2] = {0, 0}; /* what 'phasetower export' would write (0: configuration not exportable) */
    for (int i = 0; i < 2; i++) {
        pt_qtower *q = NULL;
        if (pt_qtower_create(t, 8 << i, &q) == PT_OK) flash[i] = pt_qtower_const_bytes(q);
        pt_qtower_destroy(q);
    }
    rep_str(r, "model", "tower"), rep_str(r, "layers", spec), rep_int(r, "n_in", c->n_in), rep_int(r, "n_classes", c->n_classes);
    rep_int(r, "params", (long long)pt_tower_param_count(t)), rep_int(r, "active_params", (long long)pt_tower_active_params(t));
    rep_int(r, "madds_per_image", (long long)pt_tower_madds(t)), rep_int(r, "file_bytes", bytes);
    rep_int(r, "export_bytes_int8", (long long)flash[0]), rep_int(r, "export_bytes_int16", (long long)flash[1]);
    rep_int(r, "subspace", c->subspace), rep_int(r, "route", c->route), rep_str(r, "rule", pt_tower_rule_name(c->rule));
    rep_str(r, "readout", pt_tower_readout_name(c->readout)), rep_str(r, "init", pt_tower_init_name(c->init));
    rep_float(r, "eta", c->eta), rep_float(r, "target_mag", c->target_mag), rep_int(r, "seed", (long long)c->seed);
    rep_push(r, "skip", 1);
    for (int b = 1; b < c->n_blocks; b++) {
        float re, im;
        pt_tower_skip(t, b, &re, &im);
        rep_pair(r, re, im);
    }
    rep_pop(r);
    rep_text(r, "%s: PhaseTower, %d blocks (%s), %d inputs, %d classes\n", path, c->n_blocks, spec, c->n_in, c->n_classes);
    rep_text(r, "  parameters      %zu (%.2f MB as float32)\n", pt_tower_param_count(t), 4e-6 * (double)pt_tower_param_count(t));
    rep_text(r, "  active          %zu parameters per image (the selected neurons and their codebook entries)\n",
             pt_tower_active_params(t));
    if (c->subspace)
        rep_text(r, "  multiply-adds   %zu per image (through a subspace of %d: %d x %d + K x %d, then the readout)\n",
                 pt_tower_madds(t), c->subspace, c->subspace, c->n_in, c->subspace);
    else
        rep_text(r, "  multiply-adds   %zu per image (dense scoring; eval --sparse G:P measures sparse inference)\n",
                 pt_tower_madds(t));
    if (c->route) rep_text(r, "  routing basis   %d principal components of the pixels (eval --route R1:KEEP:EXACT)\n", c->route);
    rep_text(r, "  file            %lld bytes\n", bytes);
    if (flash[0])
        rep_text(r, "  export          %zu bytes of constant data as int8, %zu as int16 (phasetower export)\n", flash[0], flash[1]);
    else
        rep_text(r, "  export          not supported for this configuration (one-block towers only)\n");
    rep_text(r, "  learning        %s rule, %s readout, %s init, eta %g, |t| %g, seed %llu\n", pt_tower_rule_name(c->rule),
             pt_tower_readout_name(c->readout), pt_tower_init_name(c->init), (double)c->eta, (double)c->target_mag,
             (unsigned long long)c->seed);
    for (int b = 1; b < c->n_blocks; b++) {
        float re, im;
        pt_tower_skip(t, b, &re, &im);
        rep_text(r, "  block %d skip    lambda = %.4f %+.4fi\n", b + 1, (double)re, (double)im);
    }
    info_liquid(r, t);
    if (mem) info_memory(r, mem);
}

int cli_tower_info(int argc, char **argv)
{
    const char *path = NULL;
    int json = 0, rc = cli_info_args(INFO_USAGE, argc, argv, &path, &json);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    opt none[] = {OPT_END};
    cli_cmd k = {"info", INFO_USAGE, none, NULL, NULL};
    pt_tower *t = NULL;
    pt_memory *mem = NULL;
    if ((rc = cli_load_tower(&k, path, &t, &mem))) return rc;
    cli_report *r = rep_new(json);
    if (r) info_report(r, path, t, mem);
    rc = rep_end(r);
    pt_memory_destroy(mem);
    pt_tower_destroy(t);
    return rc;
}
