/* phasetower train: load data, train a PhaseTower in one backprop-free pass
 * (or --epochs N), report test accuracy, timing and size, optionally save. */
#define _POSIX_C_SOURCE 200809L
#include <string.h>
#include <sys/stat.h>
#include "cli.h"

static const char *USAGE =
    "usage: phasetower train [--data DIR] [--layers SPEC] [--epochs 1] [--seed N] [--eta X]\n"
    "                        [--train-limit N] [--out model.safetensors] [--json] ...\n\n"
    "Trains a PhaseTower without backpropagation: one forward pass and one local\n"
    "target pass per sample. DIR holds MNIST-format train-/t10k- images and labels\n"
    "(default " PT_DEFAULT_DATA "). SPEC is K:fraction per block, e.g.\n"
    "512:0.08,256:0.05,128:0.03 (the paper's reference tower, with --subspace 0);\n"
    "default 2304:0.015625. By default block 0 reads the image's first 56 principal\n"
    "components (--subspace).";

int cmd_train(int argc, char **argv)
{
    const char *cmd = "train";
    pt_tower_config cfg = pt_tower_config_default();
    const char *data = PT_DEFAULT_DATA, *layers = NULL, *out = NULL;
    const char *birth_init = NULL, *model_kind = NULL;
    const char *rule = NULL, *readout = NULL, *init = NULL, *select = NULL, *memory = NULL, *mvote = NULL, *mcode = NULL, *mkey = NULL, *classes = NULL;
    uint8_t keep[256];
    int mem_size = 10000, mem_k = 5, mem_dim = 0;
    float mem_alpha = 0.0f, mem_tau = 0.7f;
    int epochs = 1, json = 0, quiet = 0, threads = 1;
    size_t train_limit = 0, val = 0, test_limit = 0;
    opt opts[] = {
        {"model", OPT_STR, &model_kind, "tower (default) or phasor (a gradient-trained phasor MLP: train --model phasor --help)", 0, 0, 0},
        {"data", OPT_STR, &data, "MNIST-format directory (default " PT_DEFAULT_DATA ")", 0, 0, 0},
        {"layers", OPT_STR, &layers, "blocks as K:fraction,... (default 2304:0.015625)", 0, 0, 0},
        {"epochs", OPT_INT, &epochs, "passes over the training data (default 1)", 1, 1000, 0},
        {"seed", OPT_U64, &cfg.seed, "random seed (default 1)", 1, 0, 0},
        {"eta", OPT_FLOAT, &cfg.eta, "step size of the direction rule (default 0.005)", 0, 1e6, 0},
        {"eta-phase", OPT_FLOAT, &cfg.eta_phase, "step size of the phase rule (default 0: off, see docs/design-notes.md)", 0, 1e6, 0},
        {"eta-skip", OPT_FLOAT, &cfg.eta_skip, "step size of the complex skip (default 0.01)", 0, 1e6, 0},
        {"eta-code", OPT_FLOAT, &cfg.eta_code, "step size of the delta codebook (default 0.01)", 0, 1e6, 0},
        {"target-mag", OPT_FLOAT, &cfg.target_mag, "magnitude |t| of block targets (default 0.3)", 1e-6, 1e6, 0},
        {"ridge", OPT_FLOAT, &cfg.ridge, "ridge strength of the readout (default 0.001)", 1e-12, 1e6, 0},
        {"rule", OPT_STR, &rule, "local (exact gradient, default) or paper", 0, 0, 0},
        {"readout", OPT_STR, &readout, "ridge (default), delta or code", 0, 0, 0},
        {"init", OPT_STR, &init, "imprint (default) or random", 0, 0, 0},
        {"subspace", OPT_INT, &cfg.subspace, "block 0 reads the image's first R principal components; 0: the pixels (default 56 for inputs larger than 56, else 0; docs/sparse.md)", 0, 1000000, 0},
        {"route-rank", OPT_INT, &cfg.route, "also fit a routing basis of R principal components for eval --route (needs --subspace 0; default 0: none; docs/sparse.md)", 0, 1000000, 0},
        {"select", OPT_STR, &select, "soft (default: outputs shrunk by the (s+1)-th score) or hard (paper)", 0, 0, 0},
        {"births", OPT_FLAG, &cfg.births, "liquid topology: clone the most confident neuron (phase flipped) when none reaches --birth-tau", 0, 0, 0},
        {"deaths", OPT_FLAG, &cfg.deaths, "liquid topology: flip the phase of a neuron unselected for --death-steps samples, remove it after as many more", 0, 0, 0},
        {"death-steps", OPT_INT, &cfg.death_steps, "N of --deaths, in samples (default 5000)", 1, 1e9, 0},
        {"birth-tau", OPT_FLOAT, &cfg.birth_tau, "confidence (cosine score) a sample needs to cause no birth, in (0,1] (default 0.7)", 1e-6, 1, 0},
        {"birth-init", OPT_STR, &birth_init, "clone (default: the parent, phase flipped, as in the paper) or sample (imprint the sample)", 0, 0, 0},
        {"max-neurons", OPT_INT, &cfg.max_neurons, "most neurons of the last block with --births (default K + K/4)", 1, 1e6, 0},
        {"batch", OPT_INT, &cfg.batch, "samples scored per BLAS call (default 256)", 1, 4096, 0},
        {"classes", OPT_STR, &classes, "train and test on these classes only, e.g. 0-4 (labels keep their numbers)", 0, 0, 0},
        {"train-limit", OPT_SIZE, &train_limit, "use only the first N training samples", 1, 1e9, 0},
        {"val", OPT_SIZE, &val, "hold out the last N training samples for validation", 1, 1e9, 0},
        {"test-limit", OPT_SIZE, &test_limit, "use only the first N test samples", 1, 1e9, 0},
        {"memory", OPT_STR, &memory, "keep an episodic memory of training outputs: all, wrong or novel", 0, 0, 0},
        {"memory-size", OPT_INT, &mem_size, "memory slots (default 10000)", 1, 10000000, 0},
        {"memory-k", OPT_INT, &mem_k, "slots that vote on a recall (default 5)", 1, 10000000, 0},
        {"memory-dim", OPT_INT, &mem_dim, "complex length of memory keys (default min(K, 256))", 1, 1000000, 0},
        {"memory-alpha", OPT_FLOAT, &mem_alpha, "forgetting rate in [0,1] (default 0: none)", 0, 1, 0},
        {"memory-tau", OPT_FLOAT, &mem_tau, "similarity of a match: novel stores below it, predictions trust the memory at or above it (default 0.7)", 1e-6, 1, 0},
        {"memory-key", OPT_STR, &mkey, "how dense codes become keys: sketch (a random projection, default) or frame (the image's subspace coordinates; one-block towers)", 0, 0, 0},
        {"memory-vote", OPT_STR, &mvote, "mode (default) or weighted", 0, 0, 0},
        {"memory-code", OPT_STR, &mcode, "what the memory holds: sparse (the block's output, default) or dense (its phase code before selection, for composition)", 0, 0, 0},
        {"out", OPT_STR, &out, "save the model (safetensors) to this file", 0, 0, 0},
        {"threads", OPT_INT, &threads, "threads for BLAS (default 1)", 1, 256, 0},
        {"json", OPT_FLAG, &json, "print one JSON object on stdout at the end", 0, 0, 0},
        {"quiet", OPT_FLAG, &quiet, "no progress bar", 0, 0, 0},
        {NULL, OPT_FLAG, NULL, NULL, 0, 0, 0},
    };
    int rc = cli_parse(cmd, USAGE, opts, argc, argv, 2, NULL);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    pt_status st;
    if ((layers && (st = pt_tower_spec_parse(layers, &cfg))) || (rule && (st = pt_tower_rule_parse(rule, &cfg.rule))) ||
        (readout && (st = pt_tower_readout_parse(readout, &cfg.readout))) ||
        (init && (st = pt_tower_init_parse(init, &cfg.init))) ||
        (select && (st = pt_tower_select_parse(select, &cfg.select))) || (st = pt_tower_config_check(&cfg)))
        return cli_error(cmd, EXIT_USAGE, "%s", pt_errmsg());
    if (model_kind && strcmp(model_kind, "tower"))
        return cli_error(cmd, EXIT_USAGE, "--model '%s': expected tower or phasor", model_kind);
    if (birth_init) {
        if (strcmp(birth_init, "clone") && strcmp(birth_init, "sample"))
            return cli_error(cmd, EXIT_USAGE, "--birth-init '%s': expected clone or sample", birth_init);
        cfg.birth_sample = !strcmp(birth_init, "sample");
    }
    pt_memorize_opts mopt = {PT_MEMORIZE_ALL, mem_tau};
    pt_memory_config mcfg = pt_memory_config_default(cfg.K[cfg.n_blocks - 1]);
    mcfg.capacity = mem_size, mcfg.k = mem_k, mcfg.alpha = mem_alpha, mcfg.seed = cfg.seed;
    if (mem_dim) mcfg.dim = mem_dim;
    if (memory && ((st = pt_memorize_policy_parse(memory, &mopt.policy)) ||
                   (mvote && (st = pt_memory_vote_parse(mvote, &mcfg.vote))) ||
                   (mcode && (st = pt_memory_code_parse(mcode, &mcfg.code))) || (st = pt_memory_config_check(&mcfg))))
        return cli_error(cmd, EXIT_USAGE, "%s", pt_errmsg());
    int frame = 0;
    if (mkey) {
        if (strcmp(mkey, "sketch") && strcmp(mkey, "frame"))
            return cli_error(cmd, EXIT_USAGE, "--memory-key '%s': expected sketch or frame", mkey);
        frame = !strcmp(mkey, "frame");
        if (frame && (!memory || mcfg.code != PT_MEMORY_DENSE))
            return cli_error(cmd, EXIT_USAGE, "--memory-key frame: needs --memory and --memory-code dense");
        if (frame && mem_dim)
            return cli_error(cmd, EXIT_USAGE, "--memory-key frame sets the key length; drop --memory-dim");
        if (frame && cfg.n_blocks != 1)
            return cli_error(cmd, EXIT_USAGE, "--memory-key frame: needs a one-block tower, not %d blocks", cfg.n_blocks);
    }
    if (classes && (rc = cli_parse_classes(cmd, classes, cfg.n_classes, keep))) return rc;
    if (out && !cli_path_writable(out))
        return cli_error(cmd, EXIT_USAGE, "--out %s: is a directory, or its directory is not writable", out);
    pt_set_threads(threads);

    pt_dataset tr = {0}, va = {0}, te = {0};
    pt_tower *t = NULL;
    pt_memory *mem = NULL;
    cli_eval ev = {0};
    rc = EXIT_OK;
    if ((st = pt_dataset_load(data, "train", train_limit, cfg.n_classes, &tr)) ||
        (st = pt_dataset_load(data, "t10k", test_limit, cfg.n_classes, &te))) {
        rc = cli_error(cmd, cli_status_code(st), "%s", pt_errmsg());
        goto done;
    }
    if (classes && ((st = pt_dataset_filter(&tr, keep, NULL)) || (st = pt_dataset_filter(&te, keep, NULL)))) {
        rc = cli_error(cmd, EXIT_RUNTIME, "%s", pt_errmsg());
        goto done;
    }
    if (classes && (tr.n == 0 || te.n == 0)) {
        rc = cli_error(cmd, EXIT_USAGE, "--classes '%s': no %s samples of these classes", classes, tr.n ? "test" : "training");
        goto done;
    }
    if (val && (st = pt_dataset_split(&tr, val, &va))) {
        rc = cli_error(cmd, EXIT_USAGE, "--val %zu: %s", val, pt_errmsg());
        goto done;
    }
    if (tr.dim != te.dim) {
        rc = cli_error(cmd, EXIT_USAGE, "%s: train images have %zu pixels, test images %zu", data, tr.dim, te.dim);
        goto done;
    }
    cfg.n_in = (int)tr.dim;
    if ((st = pt_tower_create(&cfg, &t))) {
        rc = cli_error(cmd, cli_status_code(st), "%s", pt_errmsg());
        goto done;
    }
    if (frame && pt_tower_frame_dim(t) == 0) {
        rc = cli_error(cmd, EXIT_USAGE, "--memory-key frame: the block needs more neurons than inputs");
        goto done;
    }
    double train_s = 0.0;
    for (int e = 0; e < epochs; e++) {
        cli_progress pb;
        char label[32];
        snprintf(label, sizeof label, "epoch %d/%d", e + 1, epochs);
        cli_progress_init(&pb, label, quiet || json);
        double t0 = cli_now();
        st = pt_tower_train(t, tr.x, tr.y, tr.n, cli_progress_cb, &pb);
        train_s += cli_now() - t0;
        cli_progress_end(&pb);
        if (st) {
            rc = cli_error(cmd, cli_status_code(st) == EXIT_USAGE ? EXIT_USAGE : EXIT_RUNTIME, "training failed: %s", pt_errmsg());
            goto done;
        }
    }
    double mem_s = 0.0;
    size_t mem_written = 0;
    if (memory) {
        double t2 = cli_now();
        if (mcfg.in_dim != pt_tower_out_dim(t)) { /* the liquid topology changed the last block's size */
            mcfg.in_dim = pt_tower_out_dim(t);
            if (mcfg.dim > mcfg.in_dim) mcfg.dim = mcfg.in_dim;
        }
        if (frame) mcfg.dim = pt_tower_frame_dim(t);
        if ((st = pt_memory_create(&mcfg, &mem)) || (frame && (st = pt_tower_memory_frame(t, mem))) ||
            (st = pt_tower_memorize(t, mem, &tr, &mopt, &mem_written))) {
            rc = cli_error(cmd, cli_status_code(st), "memory: %s", pt_errmsg());
            goto done;
        }
        mem_s = cli_now() - t2;
    }
    double vacc = -1.0;
    if ((st = cli_evaluate(t, mem, &te, mem_tau, &ev))) {
        rc = cli_error(cmd, cli_status_code(st), "%s", st == PT_ENOMEM ? "out of memory" : pt_errmsg());
        goto done;
    }
    double acc = ev.acc, test_s = ev.seconds;
    double us_single = json ? cli_single_latency_us(t, &te) : 0.0;
    if (va.n && (st = pt_tower_accuracy(t, &va, &vacc))) {
        rc = cli_error(cmd, cli_status_code(st), "%s", pt_errmsg());
        goto done;
    }
    long long ckpt = -1;
    if (out) {
        if ((st = pt_model_save(t, mem, out))) {
            rc = cli_error(cmd, cli_status_code(st), "%s", pt_errmsg());
            goto done;
        }
        struct stat sb;
        if (stat(out, &sb) == 0) ckpt = (long long)sb.st_size;
    }
    size_t params = pt_tower_param_count(t);
    char spec[PT_TOWER_MAXBLOCKS * 24];
    pt_tower_spec_format(pt_tower_get_config(t), spec, sizeof spec);
    int L = cfg.n_blocks;
    long births, flips, deaths;
    pt_tower_topology(t, L - 1, &births, &flips, &deaths);
    double us = te.n ? 1e6 * test_s / (double)te.n : 0.0;
    if (json) {
        printf("{\"test_accuracy\": %.6f, \"train_seconds\": %.4f, \"samples\": %zu, \"epochs\": %d, "
               "\"params\": %zu, \"model_bytes\": %zu, \"checkpoint_bytes\": %lld, \"test_samples\": %zu, "
               "\"test_seconds\": %.4f, \"infer_us_per_image\": %.3f, \"infer_us_single\": %.3f, \"madds_per_image\": %zu, ",
               acc, train_s, tr.n, epochs, params, params * sizeof(float), ckpt, te.n, test_s, us, us_single,
               pt_tower_madds(t));
        if (vacc >= 0) printf("\"val_accuracy\": %.6f, \"val_samples\": %zu, ", vacc, va.n);
        if (cfg.births || cfg.deaths)
            printf("\"neurons_start\": %d, \"neurons\": %d, \"births\": %ld, \"flips\": %ld, \"deaths\": %ld, ",
                   cfg.K[L - 1], pt_tower_block_size(t, L - 1), births, flips, deaths);
        if (mem) {
            printf("\"memory_dim\": %d, \"memory_keys\": \"%s\", ", pt_memory_get_config(mem)->dim,
                   pt_memory_keys_name(mem));
            printf("\"memory\": \"%s\", \"memory_written\": %zu, \"memory_slots\": %zu, \"memory_bytes\": %zu, "
                   "\"memory_seconds\": %.4f, \"test_accuracy_memory\": %.6f, \"test_accuracy_combined\": %.6f, ",
                   memory, mem_written, pt_memory_count(mem), pt_memory_bytes(mem), mem_s, ev.mem_acc, ev.comb_acc);
        }
        printf("\"layers\": \"%s\", \"subspace\": %d, \"route\": %d, \"rule\": \"%s\", \"readout\": \"%s\", \"select\": \"%s\", "
               "\"seed\": %llu}\n", spec, pt_tower_get_config(t)->subspace, pt_tower_get_config(t)->route, pt_tower_rule_name(cfg.rule), pt_tower_readout_name(cfg.readout), pt_tower_select_name(cfg.select),
               (unsigned long long)cfg.seed);
    } else {
        int R = pt_tower_get_config(t)->subspace;
        char sub[48] = "";
        if (R) snprintf(sub, sizeof sub, " on %d principal components", R);
        printf("trained on %zu samples in %.2f s (%d pass%s, layers %s%s, %s top-s, %s rule, %s readout)\n", tr.n,
               train_s, epochs, epochs == 1 ? "" : "es", spec, sub, pt_tower_select_name(cfg.select), pt_tower_rule_name(cfg.rule),
               pt_tower_readout_name(cfg.readout));
        if (vacc >= 0) printf("validation accuracy %.2f%% (%zu samples)\n", 100.0 * vacc, va.n);
        if (cfg.births || cfg.deaths)
            printf("liquid topology: last block %d -> %d neurons (%ld births, %ld phase flips, %ld deaths)\n",
                   cfg.K[L - 1], pt_tower_block_size(t, L - 1), births, flips, deaths);
        printf("test accuracy %.2f%% (%zu samples, %.1f us/image)\n", 100.0 * acc, te.n, us);
        if (mem)
            printf("memory (%s): %zu of %zu training outputs kept in %.2f s; test accuracy %.2f%% from memory, "
                   "%.2f%% combined (memory when similarity >= %g)\n",
                   memory, pt_memory_count(mem), tr.n, mem_s, 100.0 * ev.mem_acc, 100.0 * ev.comb_acc, (double)mem_tau);
        printf("parameters %zu (%.2f MB as float32)", params, (double)(params * 4) / 1e6);
        if (out) printf(", saved to %s (%lld bytes)", out, ckpt);
        printf("\n");
    }
done:
    cli_eval_free(&ev);
    pt_memory_destroy(mem);
    pt_tower_destroy(t);
    pt_dataset_free(&tr);
    pt_dataset_free(&va);
    pt_dataset_free(&te);
    return rc;
}
