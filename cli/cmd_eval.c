/* phasetower eval: accuracy of a saved model on the t10k split of a directory,
 * optionally on corrupted images (--corrupt), with out-of-distribution scores
 * against Gaussian noise or another data set (--ood), and with rejection of
 * low-confidence answers (--reject-below). The tower's confidence score is its
 * largest logit (the codebook score); a saved memory adds its own answers and
 * its best similarity as a second score. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const char *USAGE =
    "usage: phasetower eval --model F [--data DIR] [--test-limit N] [--corrupt SPEC] [--ood noise|DIR]\n"
    "                       [--reject-below TAU] [--json]\n\n"
    "Evaluates a saved PhaseTower on the t10k images and labels of DIR\n"
    "(default " PT_DEFAULT_DATA ").\n"
    "SPEC: rotate:LO-HI (each image turned by a uniform angle in +-[LO,HI] degrees,\n"
    "bilinear) or noise:SIGMA (Gaussian noise); both seeded by --seed.\n"
    "--ood noise compares the test images with as many Gaussian-noise images\n"
    "(pixels N(0.5, 1) clipped to [0,1]); --ood DIR with the t10k images of DIR;\n"
    "--ood heldout (with --classes) with the test images of the other classes.\n"
    "Reports AUROC and the false positive rate at 95% true positive rate of three\n"
    "confidence scores: the largest logit, the alignment (the mean cosine between\n"
    "an image and its s best-matching neurons) and, for a model with an episodic\n"
    "memory, the memory score (the best similarity). A memory also answers\n"
    "on its own and in combination (its label when the similarity reaches\n"
    "--memory-tau, else the tower's); eval never changes the memory. --reject-below\n"
    "uses the memory score when there is a memory, else the alignment\n"
    "(--reject-score memory|align|logit chooses).";

/* The out-of-distribution set: Gaussian noise (n images, seeded) or DIR's t10k. */
static pt_status ood_images(const char *ood, const pt_dataset *te, uint64_t seed, pt_dataset *out)
{
    if (strcmp(ood, "noise") != 0) return pt_dataset_load(ood, "t10k", te->n, 256, out);
    memset(out, 0, sizeof *out);
    out->n = te->n, out->rows = te->rows, out->cols = te->cols, out->dim = te->dim, out->n_classes = te->n_classes;
    out->x = malloc(te->n * te->dim * sizeof *out->x);
    out->y = calloc(te->n, 1);
    if (!out->x || !out->y) {
        pt_dataset_free(out);
        return PT_ENOMEM;
    }
    pt_rng r;
    pt_rng_seed(&r, seed ^ 0x6f6f64ULL);
    for (size_t i = 0; i < te->n * te->dim; i++) {
        float v = 0.5f + pt_rng_normal(&r);
        out->x[i] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    }
    return PT_OK;
}

/* The paper's composition protocol: for a composed concept, the base classes
 * it is made of (parents, recursively), and test images averaged over one
 * image of each: composite j = mean over those classes of their j-th test
 * image. The model never saw such an image. */
static pt_status composite_images(const pt_memory *m, int label, int n_base, const pt_dataset *te, pt_dataset *out,
                                  char *err, size_t errlen)
{
    int base[64], nb = 0, stack[64], ns = 0;
    memset(out, 0, sizeof *out);
    stack[ns++] = label;
    while (ns > 0) {
        int l = stack[--ns], a, b;
        if (l < n_base) {
            if (nb == 64) break;
            base[nb++] = l;
            continue;
        }
        pt_memory_parents(m, l, &a, &b);
        if (a < 0 || ns + 2 > 64) {
            snprintf(err, errlen, "concept %d has no known parents", l);
            return PT_EINVAL;
        }
        stack[ns++] = b, stack[ns++] = a;
    }
    size_t n = te->n;
    for (int c = 0; c < nb; c++) {
        size_t cnt = 0;
        for (size_t i = 0; i < te->n; i++) cnt += te->y[i] == base[c];
        if (cnt < n) n = cnt;
    }
    if (n == 0) {
        snprintf(err, errlen, "the test set lacks images of one of its classes");
        return PT_EINVAL;
    }
    out->n = n, out->rows = te->rows, out->cols = te->cols, out->dim = te->dim, out->n_classes = te->n_classes;
    out->x = calloc(n * te->dim, sizeof *out->x);
    out->y = calloc(n, 1);
    size_t *pos = calloc((size_t)nb, sizeof *pos);
    if (!out->x || !out->y || !pos) {
        free(pos);
        pt_dataset_free(out);
        return PT_ENOMEM;
    }
    for (size_t j = 0; j < n; j++)
        for (int c = 0; c < nb; c++) {
            while (te->y[pos[c]] != base[c]) pos[c]++;
            const float *src = te->x + pos[c]++ * te->dim;
            for (size_t p = 0; p < te->dim; p++) out->x[j * te->dim + p] += src[p] / (float)nb;
        }
    free(pos);
    return PT_OK;
}

int cmd_eval(int argc, char **argv)
{
    const char *cmd = "eval", *model = NULL, *data = PT_DEFAULT_DATA, *corrupt = NULL, *ood = NULL, *composite = NULL;
    const char *classes = NULL, *reject_score = NULL, *sparse = NULL, *pred_out = NULL;
    int sp_groups = 0, sp_probe = 0, qbits = 0, rt[3] = {0, 0, 0};
    const char *route = NULL;
    double q_acc = 0.0, q_agree = 0.0, q_s = 0.0, q_macc = 0.0, q_cacc = 0.0;
    int *q_mem = NULL;
    uint8_t *q_conf = NULL;
    size_t q_bytes = 0;
    const char *derotate = NULL, *derotate_score = NULL;
    int spiking = 0;
    pt_derotate dro = {0.0, 0.0, 0.0, NULL};
    double dr_acc = 0.0, dr_turned = 0.0, dr_macc = 0.0, dr_cacc = 0.0;
    uint8_t *q_pred = NULL;
    double sp_acc = 0.0, sp_madds = 0.0, sp_s = 0.0, sp_zs = 0.0;
    uint8_t keep[256];
    size_t limit = 0;
    uint64_t seed = 1;
    float reject = -INFINITY, tau = 0.7f;
    int json = 0, threads = 1;
    opt opts[] = {
        {"model", OPT_STR, &model, "checkpoint written by train (required)", 0, 0, 0},
        {"data", OPT_STR, &data, "MNIST-format directory (default " PT_DEFAULT_DATA ")", 0, 0, 0},
        {"test-limit", OPT_SIZE, &limit, "use only the first N test samples", 1, 1e9, 0},
        {"corrupt", OPT_STR, &corrupt, "corrupt the test images: rotate:LO-HI or noise:SIGMA", 0, 0, 0},
        {"ood", OPT_STR, &ood, "out-of-distribution set: noise, or an MNIST-format DIR", 0, 0, 0},
        {"reject-below", OPT_FLOAT, &reject, "answer 'unknown' when the confidence is below TAU", -1e6, 1e6, 0},
        {"reject-score", OPT_STR, &reject_score, "confidence for --reject-below: memory (default with a memory), align (default without) or logit", 0, 0, 0},
        {"classes", OPT_STR, &classes, "test on these classes only (the in-distribution for --ood heldout)", 0, 0, 0},
        {"sparse", OPT_STR, &sparse, "also score with truly sparse inference, G:P (G neuron groups, P probed)", 0, 0, 0},
        {"route", OPT_STR, &route, "also score with routed sparse inference, R1:KEEP:EXACT (a tower trained with --route-rank; docs/sparse.md)", 0, 0, 0},
        {"derotate", OPT_STR, &derotate, "also answer after a test-time search over turns of each image, MAX:STEP:MARGIN degrees (e.g. 45:7.5:0.03): the turn with the best score if it beats the unturned image's by more than MARGIN", 0, 0, 0},
        {"derotate-score", OPT_STR, &derotate_score, "score of a turn for --derotate: align (the tower's alignment, default) or memory (the memory's best similarity; needs a memory)", 0, 0, 0},
        {"spiking", OPT_INT, &spiking, "phasor networks: also run the event-driven spiking execution with T time bins per cycle", -1e9, 1e9, 0},
        {"quantize", OPT_INT, &qbits, "also score the integer model of this many bits (8 or 16) that export writes", 8, 16, 0},
        {"predictions", OPT_STR, &pred_out, "write the predicted class of each test image, one per line (with --quantize: the integer model's; with a memory too: tower, memory label and 1 if the memory is confident)", 0, 0, 0},
        {"composite", OPT_STR, &composite, "score a composed concept on averaged test images of its classes", 0, 0, 0},
        {"memory-tau", OPT_FLOAT, &tau, "trust the memory at or above this similarity (default 0.7)", 1e-6, 1, 0},
        {"seed", OPT_U64, &seed, "seed of --corrupt and --ood noise (default 1)", 1, 0, 0},
        {"threads", OPT_INT, &threads, "threads for BLAS (default 1)", 1, 256, 0},
        {"json", OPT_FLAG, &json, "print one JSON object on stdout", 0, 0, 0},
        {NULL, OPT_FLAG, NULL, NULL, 0, 0, 0},
    };
    int rc = cli_parse(cmd, USAGE, opts, argc, argv, 2, NULL);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if (!model) return cli_error(cmd, EXIT_USAGE, "--model is required (see --help)");
    char kind[16];
    cli_checkpoint_kind(model, kind, sizeof kind);
    if (!strcmp(kind, "phasor")) {
        int nopt = 0; /* a phasor network has its accuracy only */
        for (const opt *o = opts; o->name; o++)
            nopt += o->seen && strcmp(o->name, "model") && strcmp(o->name, "data") && strcmp(o->name, "test-limit") &&
                    strcmp(o->name, "json") && strcmp(o->name, "threads") && strcmp(o->name, "spiking");
        if (nopt)
            return cli_error(cmd, EXIT_USAGE,
                             "%s is a phasor network: eval takes only --data, --test-limit, --spiking and --json for it", model);
        return cmd_eval_phasor(model, data, limit, json, spiking);
    }
    if (spiking) return cli_error(cmd, EXIT_USAGE, "--spiking applies to phasor networks; %s is a tower", model);
    pt_corrupt cor = {PT_CORRUPT_NONE, 0.0f, 0.0f};
    pt_status st;
    if (corrupt && (st = pt_corrupt_parse(corrupt, &cor))) return cli_error(cmd, EXIT_USAGE, "%s", pt_errmsg());
    int rejecting = isfinite(reject);
    if (sparse) {
        char *end;
        long g = strtol(sparse, &end, 10), p = -1;
        if (end != sparse && *end == ':') p = strtol(end + 1, &end, 10);
        if (p < 1 || *end || g < 1 || g > 1000000)
            return cli_error(cmd, EXIT_USAGE, "--sparse '%s': expected G:P, groups and probed groups, e.g. 128:16", sparse);
        sp_groups = (int)g, sp_probe = (int)p;
    }
    if (route) {
        if (sparse) return cli_error(cmd, EXIT_USAGE, "--route and --sparse: choose one");
        const char *q = route;
        char *end = NULL;
        for (int i = 0; i < 3; i++) {
            long v = strtol(q, &end, 10);
            if (end == q || v < 1 || v > 1000000 || *end != (i < 2 ? ':' : '\0'))
                return cli_error(cmd, EXIT_USAGE, "--route '%s': expected R1:KEEP:EXACT, three positive counts, e.g. 12:400:48",
                                 route);
            rt[i] = (int)v, q = end + 1;
        }
        sparse = route;
    }
    if (derotate) {
        char *end;
        dro.max = strtod(derotate, &end);
        if (*end == ':') dro.step = strtod(end + 1, &end);
        if (*end == ':') dro.margin = strtod(end + 1, &end);
        if (*end || end == derotate || !(dro.step > 0.0) || !(dro.max >= 0.0) || !isfinite(dro.max) ||
            dro.max / dro.step > 90.0 || !(dro.margin >= 0.0) || !isfinite(dro.margin))
            return cli_error(cmd, EXIT_USAGE,
                             "--derotate '%s': expected MAX:STEP:MARGIN with MAX >= 0, STEP > 0, MAX/STEP <= 90, MARGIN >= 0",
                             derotate);
    }
    if (derotate_score && strcmp(derotate_score, "align") != 0 && strcmp(derotate_score, "memory") != 0)
        return cli_error(cmd, EXIT_USAGE, "--derotate-score '%s': expected align or memory", derotate_score);
    if (derotate_score && !derotate) return cli_error(cmd, EXIT_USAGE, "--derotate-score needs --derotate");
    if (qbits && qbits != 8 && qbits != 16) return cli_error(cmd, EXIT_USAGE, "--quantize %d: expected 8 or 16", qbits);
    if (pred_out && !cli_path_writable(pred_out))
        return cli_error(cmd, EXIT_USAGE, "--predictions %s: is a directory, or its directory is not writable", pred_out);
    if (reject_score && strcmp(reject_score, "memory") != 0 && strcmp(reject_score, "logit") != 0 &&
        strcmp(reject_score, "align") != 0)
        return cli_error(cmd, EXIT_USAGE, "--reject-score '%s': expected memory, align or logit", reject_score);
    pt_set_threads(threads);
    pt_tower *t = NULL;
    pt_memory *mem = NULL;
    pt_dataset te = {0}, od = {0}, cd = {0};
    float *cz = NULL, *cbest = NULL;
    int *clab = NULL;
    double cacc = 0.0, ccomb = 0.0;
    cli_eval ev = {0}, oev = {0};
    if ((st = pt_model_load(model, &t, &mem))) return cli_error(cmd, cli_status_code(st), "%s", pt_errmsg());
    const pt_tower_config *c = pt_tower_get_config(t);
    if (derotate_score && !strcmp(derotate_score, "memory")) {
        if (!mem) {
            rc = cli_error(cmd, EXIT_USAGE, "--derotate-score memory: %s has no memory (train --memory)", model);
            goto done;
        }
        dro.mem = mem;
    }
    if ((st = pt_dataset_load(data, "t10k", limit, c->n_classes, &te))) {
        rc = cli_error(cmd, cli_status_code(st), "%s", pt_errmsg());
        goto done;
    }
    if ((int)te.dim != c->n_in) {
        rc = cli_error(cmd, EXIT_USAGE, "%s: images have %zu pixels, the model expects %d", data, te.dim, c->n_in);
        goto done;
    }
    /* the test set as loaded is corrupted first, image i by its own stream, as
     * 'phasetower corrupt' writes it; everything below sees those images */
    if (cor.kind != PT_CORRUPT_NONE && (st = pt_corrupt_apply(&cor, te.x, te.n, te.rows, te.cols, seed, 0))) {
        rc = cli_error(cmd, EXIT_RUNTIME, "%s", pt_errmsg());
        goto done;
    }
    int heldout = ood && !strcmp(ood, "heldout");
    if (heldout && !classes) {
        rc = cli_error(cmd, EXIT_USAGE, "--ood heldout needs --classes (the classes the model was trained on)");
        goto done;
    }
    if (classes && ((rc = cli_parse_classes(cmd, classes, c->n_classes, keep)) ||
                    (st = pt_dataset_filter(&te, keep, heldout ? &od : NULL)))) {
        if (!rc) rc = cli_error(cmd, EXIT_RUNTIME, "%s", pt_errmsg());
        goto done;
    }
    if (te.n == 0 || (heldout && od.n == 0)) {
        rc = cli_error(cmd, EXIT_USAGE, "--classes '%s': leaves no %s test images", classes, te.n ? "held-out" : "in-distribution");
        goto done;
    }
    int by_memory = reject_score ? !strcmp(reject_score, "memory") : mem != NULL;
    if (by_memory && !mem) {
        rc = cli_error(cmd, EXIT_USAGE, "--reject-score memory: the model has no episodic memory");
        goto done;
    }
    if (composite) {
        int cl = mem ? pt_memory_find(mem, composite) : -1, pa = -1, pb = -1;
        if (cl >= 0) pt_memory_parents(mem, cl, &pa, &pb);
        if (pa < 0) {
            rc = cli_error(cmd, EXIT_USAGE, "--composite '%s': %s", composite,
                           mem ? "not a composed concept of this model" : "the model has no episodic memory");
            goto done;
        }
        char err[128];
        size_t K = (size_t)pt_tower_out_dim(t);
        if ((st = composite_images(mem, cl, c->n_classes, &te, &cd, err, sizeof err))) {
            rc = cli_error(cmd, st == PT_ENOMEM ? EXIT_RUNTIME : EXIT_USAGE, "--composite '%s': %s", composite,
                           st == PT_ENOMEM ? "out of memory" : err);
            goto done;
        }
        cz = malloc(cd.n * 2 * K * sizeof *cz);
        cbest = malloc(cd.n * sizeof *cbest);
        clab = malloc(cd.n * sizeof *clab);
        if (!cz || !cbest || !clab ||
            (st = pt_tower_forward_code(t, cd.x, cd.n, pt_memory_get_config(mem)->code, NULL, cz, NULL)) ||
            (st = pt_memory_scores(mem, cz, cd.n, clab, cbest))) {
            rc = cli_error(cmd, EXIT_RUNTIME, "--composite: %s", st ? pt_errmsg() : "out of memory");
            goto done;
        }
        size_t ok = 0, cok = 0;
        for (size_t i = 0; i < cd.n; i++) {
            ok += clab[i] == cl;
            cok += clab[i] == cl && cbest[i] >= tau; /* the tower alone never answers a new concept */
        }
        cacc = (double)ok / (double)cd.n, ccomb = (double)cok / (double)cd.n;
    }
    if (ood && !heldout && (st = ood_images(ood, &te, seed, &od))) {
        rc = cli_error(cmd, cli_status_code(st), "--ood %s: %s", ood, st == PT_ENOMEM ? "out of memory" : pt_errmsg());
        goto done;
    }
    if (ood && od.dim != te.dim) {
        rc = cli_error(cmd, EXIT_USAGE, "--ood %s: images have %zu pixels, the test images %zu", ood, od.dim, te.dim);
        goto done;
    }
    if ((st = cli_evaluate(t, mem, &te, tau, &ev)) || (ood && (st = cli_evaluate(t, mem, &od, tau, &oev)))) {
        rc = cli_error(cmd, cli_status_code(st), "%s", st == PT_ENOMEM ? "out of memory" : pt_errmsg());
        goto done;
    }
    size_t acc_n = 0, acc_ok = 0; /* answers kept by --reject-below, and the right ones among them */
    int by_logit = reject_score && !strcmp(reject_score, "logit");
    const char *score_name = by_memory ? "memory" : by_logit ? "logit" : "align";
    const float *conf = by_memory ? ev.mem_score : by_logit ? ev.score : ev.align;
    for (size_t i = 0; i < te.n; i++)
        if (conf[i] >= reject) acc_n++, acc_ok += ev.pred[i] == te.y[i];
    double acc_acc = acc_n ? (double)acc_ok / (double)acc_n : 0.0;
    double auroc = 0.0, fpr95 = 0.0, mauroc = 0.0, mfpr95 = 0.0, aauroc = 0.0, afpr95 = 0.0;
    if (ood && ((st = pt_ood_metrics(ev.score, te.n, oev.score, od.n, &auroc, &fpr95)) ||
                (st = pt_ood_metrics(ev.align, te.n, oev.align, od.n, &aauroc, &afpr95)) ||
                (mem && (st = pt_ood_metrics(ev.mem_score, te.n, oev.mem_score, od.n, &mauroc, &mfpr95))))) {
        rc = cli_error(cmd, EXIT_RUNTIME, "out-of-distribution scores: %s", pt_errmsg());
        goto done;
    }
    if (sparse) {
        pt_tower_index *ix = NULL;
        uint8_t *sp_pred = malloc(te.n);
        if (!sp_pred || (st = route ? pt_tower_route_build(t, rt[0], rt[1], rt[2], &ix)
                                    : pt_tower_index_build(t, sp_groups, sp_probe, &ix))) {
            rc = cli_error(cmd, sp_pred ? cli_status_code(st) : EXIT_RUNTIME, "%s", sp_pred ? pt_errmsg() : "out of memory");
            free(sp_pred);
            goto done;
        }
        double t1 = cli_now();
        st = pt_tower_index_predict(ix, te.x, te.n, sp_pred, &sp_madds);
        sp_s = cli_now() - t1;
        sp_zs = pt_tower_madds_zero_skip(t, te.x, te.n);
        size_t ok = 0;
        for (size_t i = 0; i < te.n; i++) ok += sp_pred[i] == te.y[i];
        sp_acc = (double)ok / (double)te.n;
        free(sp_pred);
        pt_tower_index_destroy(ix);
        if (st) {
            rc = cli_error(cmd, cli_status_code(st), "%s", pt_errmsg());
            goto done;
        }
    }
    if (qbits) {
        pt_qtower *q = NULL;
        q_pred = malloc(te.n);
        if (!q_pred || (st = pt_qtower_create(t, qbits, &q))) {
            rc = cli_error(cmd, q_pred ? cli_status_code(st) : EXIT_RUNTIME, "--quantize: %s", q_pred ? pt_errmsg() : "out of memory");
            goto done;
        }
        double t1 = cli_now();
        st = pt_qtower_predict(q, te.x, te.n, q_pred);
        q_s = cli_now() - t1;
        if (!st && mem) { /* the integer memory, as export --memory writes it */
            q_mem = malloc(te.n * sizeof *q_mem);
            q_conf = malloc(te.n);
            if (!q_mem || !q_conf) st = PT_ENOMEM;
            else if (!(st = pt_qtower_add_memory(q, mem, tau))) st = pt_qtower_recall(q, te.x, te.n, NULL, q_mem, q_conf);
        }
        q_bytes = pt_qtower_const_bytes(q);
        pt_qtower_destroy(q);
        if (st) {
            rc = cli_error(cmd, cli_status_code(st), "--quantize: %s", st == PT_ENOMEM ? "out of memory" : pt_errmsg());
            goto done;
        }
        size_t ok = 0, same = 0, mok = 0, cok = 0;
        for (size_t i = 0; i < te.n; i++) {
            ok += q_pred[i] == te.y[i], same += q_pred[i] == ev.pred[i];
            if (q_mem) mok += q_mem[i] == te.y[i], cok += (q_conf[i] ? q_mem[i] : q_pred[i]) == te.y[i];
        }
        q_acc = (double)ok / (double)te.n, q_agree = (double)same / (double)te.n;
        q_macc = (double)mok / (double)te.n, q_cacc = (double)cok / (double)te.n;
    }
    if (derotate) {
        uint8_t *dp = malloc(te.n);
        float *ang = malloc(te.n * sizeof *ang);
        if (!dp || !ang || (st = pt_tower_predict_derotate(t, te.x, te.n, te.rows, te.cols, &dro, dp, ang))) {
            rc = cli_error(cmd, dp && ang ? cli_status_code(st) : EXIT_RUNTIME, "%s", dp && ang ? pt_errmsg() : "out of memory");
            free(dp), free(ang);
            goto done;
        }
        size_t ok = 0, turned = 0;
        for (size_t i = 0; i < te.n; i++) ok += dp[i] == te.y[i], turned += ang[i] != 0.0f;
        dr_acc = (double)ok / (double)te.n, dr_turned = (double)turned / (double)te.n;
        if (mem) { /* the memory recalls from the images as the search turned them */
            pt_dataset tt = te;
            cli_eval dev = {0};
            tt.x = malloc(te.n * te.dim * sizeof *tt.x);
            if (!tt.x) st = PT_ENOMEM;
            for (size_t i = 0; tt.x && i < te.n; i++) {
                if (ang[i] != 0.0f) pt_image_rotate(tt.x + i * te.dim, te.x + i * te.dim, te.rows, te.cols, (double)ang[i]);
                else memcpy(tt.x + i * te.dim, te.x + i * te.dim, te.dim * sizeof *tt.x);
            }
            if (tt.x && !(st = cli_evaluate(t, mem, &tt, tau, &dev))) {
                dr_macc = dev.mem_acc, dr_cacc = dev.comb_acc;
                cli_eval_free(&dev);
            }
            free(tt.x);
        }
        free(dp), free(ang);
        if (st) {
            rc = cli_error(cmd, cli_status_code(st), "--derotate: %s", st == PT_ENOMEM ? "out of memory" : pt_errmsg());
            goto done;
        }
    }
    if (pred_out && (rc = cli_write_labels(cmd, pred_out, qbits ? q_pred : ev.pred, q_mem, q_conf, te.n))) goto done;
    double s = ev.seconds, acc = ev.acc, us = 1e6 * s / (double)te.n;
    if (json) {
        printf("{\"accuracy\": %.6f, \"seconds\": %.4f, \"samples\": %zu, \"infer_us_per_image\": %.3f, "
               "\"infer_us_single\": %.3f, \"corrupt\": \"%s\"",
               acc, s, te.n, us, cli_single_latency_us(t, &te), corrupt ? corrupt : "none");
        if (mem)
            printf(", \"memory_slots\": %zu, \"accuracy_memory\": %.6f, \"accuracy_combined\": %.6f, \"memory_tau\": %.9g, "
                   "\"memory_us_per_image\": %.3f",
                   pt_memory_count(mem), ev.mem_acc, ev.comb_acc, (double)tau, 1e6 * ev.mem_seconds / (double)te.n);
        if (sparse) {
            char spec[64];
            if (route) snprintf(spec, sizeof spec, "%d:%d:%d", rt[0], rt[1], rt[2]);
            else snprintf(spec, sizeof spec, "%d:%d", sp_groups, sp_probe);
            printf(", \"sparse\": \"%s\", \"accuracy_sparse\": %.6f, \"madds_per_image\": %zu, "
                   "\"madds_per_image_sparse\": %.1f, \"sparse_fraction\": %.6f, \"sparse_us_per_image\": %.3f, "
                   "\"sparse_mode\": \"%s\", \"madds_per_image_zero_skip\": %.1f, \"sparse_fraction_zero_skip\": %.6f",
                   spec, sp_acc, pt_tower_madds(t), sp_madds, sp_madds / (double)pt_tower_madds(t),
                   1e6 * sp_s / (double)te.n, route ? "route" : "groups", sp_zs, sp_madds / sp_zs);
        }
        if (qbits)
            printf(", \"quantize_bits\": %d, \"accuracy_quantized\": %.6f, \"quantized_agreement\": %.6f, "
                   "\"quantized_const_bytes\": %zu, \"quantized_us_per_image\": %.3f",
                   qbits, q_acc, q_agree, q_bytes, 1e6 * q_s / (double)te.n);
        if (derotate)
            printf(", \"derotate\": \"%s\", \"accuracy_derotate\": %.6f, \"derotate_turned\": %.6f", derotate, dr_acc, dr_turned);
        if (derotate && mem)
            printf(", \"accuracy_derotate_memory\": %.6f, \"accuracy_derotate_combined\": %.6f", dr_macc, dr_cacc);
        if (q_mem) printf(", \"accuracy_quantized_memory\": %.6f, \"accuracy_quantized_combined\": %.6f", q_macc, q_cacc);
        if (rejecting)
            printf(", \"reject_below\": %.9g, \"reject_score\": \"%s\", \"rejected\": %.6f, \"accuracy_accepted\": %.6f",
                   (double)reject, score_name, 1.0 - (double)acc_n / (double)te.n, acc_acc);
        if (composite)
            printf(", \"composite\": \"%s\", \"composite_samples\": %zu, \"composite_accuracy_memory\": %.6f, "
                   "\"composite_accuracy_combined\": %.6f",
                   composite, cd.n, cacc, ccomb);
        if (ood) {
            printf(", \"ood\": ");
            cli_json_string(ood);
            printf(", \"ood_samples\": %zu, \"auroc\": %.6f, \"fpr95\": %.6f, \"auroc_align\": %.6f, \"fpr95_align\": %.6f",
                   od.n, auroc, fpr95, aauroc, afpr95);
            if (mem) printf(", \"auroc_memory\": %.6f, \"fpr95_memory\": %.6f", mauroc, mfpr95);
        }
        printf("}\n");
    } else {
        printf("accuracy %.2f%% on %zu samples%s%s in %.2f s (%.1f us/image)\n", 100.0 * acc, te.n,
               corrupt ? ", corrupted by " : "", corrupt ? corrupt : "", s, us);
        if (mem)
            printf("memory (%zu slots): accuracy %.2f%%; combined %.2f%% (memory when similarity >= %g)\n",
                   pt_memory_count(mem), 100.0 * ev.mem_acc, 100.0 * ev.comb_acc, (double)tau);
        if (composite)
            printf("composite '%s' (%zu averaged test images): recalled as '%s' %.2f%% by the memory, %.2f%% combined\n",
                   composite, cd.n, composite, 100.0 * cacc, 100.0 * ccomb);
        if (sparse && !route)
            printf("sparse inference %d:%d: accuracy %.2f%% with %.0f multiply-adds per image (%.2f%% of dense %zu), "
                   "%.1f us/image one at a time\n",
                   sp_groups, sp_probe, 100.0 * sp_acc, sp_madds, 100.0 * sp_madds / (double)pt_tower_madds(t),
                   pt_tower_madds(t), 1e6 * sp_s / (double)te.n);
        if (route)
            printf("routed sparse inference %d:%d:%d: accuracy %.2f%% with %.0f multiply-adds per image (%.2f%% of dense "
                   "%zu; %.2f%% of %.0f for a dense pass that also skips zero pixels), %.1f us/image one at a time\n",
                   rt[0], rt[1], rt[2], 100.0 * sp_acc, sp_madds, 100.0 * sp_madds / (double)pt_tower_madds(t),
                   pt_tower_madds(t), 100.0 * sp_madds / sp_zs, sp_zs, 1e6 * sp_s / (double)te.n);
        if (qbits)
            printf("int%d model: accuracy %.2f%% (%+.2f points), same answer as float on %.2f%%, %zu bytes of constant "
                   "data, %.1f us/image\n",
                   qbits, 100.0 * q_acc, 100.0 * (q_acc - acc), 100.0 * q_agree, q_bytes, 1e6 * q_s / (double)te.n);
        if (derotate)
            printf("de-rotation search %s: accuracy %.2f%% (%.2f%% of images answered turned)\n", derotate, 100.0 * dr_acc,
                   100.0 * dr_turned);
        if (derotate && mem)
            printf("  memory on the turned images: %.2f%%; combined %.2f%%\n", 100.0 * dr_macc, 100.0 * dr_cacc);
        if (q_mem)
            printf("int%d memory: accuracy %.2f%%, combined %.2f%% (the export --memory answers)\n", qbits, 100.0 * q_macc,
                   100.0 * q_cacc);
        if (rejecting)
            printf("rejected %.2f%% below %s confidence %g; accuracy on the rest %.2f%%\n",
                   100.0 * (1.0 - (double)acc_n / (double)te.n), score_name, (double)reject, 100.0 * acc_acc);
        if (ood) {
            printf("out-of-distribution (%s, %zu images): AUROC %.4f, FPR at 95%% TPR %.4f (largest logit)\n", ood, od.n,
                   auroc, fpr95);
            printf("  with the alignment score: AUROC %.4f, FPR at 95%% TPR %.4f\n", aauroc, afpr95);
            if (mem) printf("  with the memory score: AUROC %.4f, FPR at 95%% TPR %.4f\n", mauroc, mfpr95);
        }
    }
done:
    cli_eval_free(&ev);
    cli_eval_free(&oev);
    pt_memory_destroy(mem);
    pt_tower_destroy(t);
    pt_dataset_free(&te);
    pt_dataset_free(&od);
    pt_dataset_free(&cd);
    free(cz), free(cbest), free(clab), free(q_pred), free(q_mem), free(q_conf);
    return rc;
}
