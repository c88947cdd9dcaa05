/* phasetower eval of a tower: accuracy of a saved model on the t10k split of a
 * directory, optionally on corrupted images (--corrupt), with out-of-
 * distribution scores against Gaussian noise or another data set (--ood), with
 * rejection of low-confidence answers (--reject-below), and with the analyses
 * of sparse, routed, integer and de-rotated inference. Each analysis is one
 * function that computes its result and reports it (text or JSON) in one
 * place. The tower's confidence scores are its largest logit and its
 * alignment; a saved memory adds its own answers and its best similarity. */
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
    "bilinear), turn:DEGREES or noise:SIGMA (Gaussian noise); all seeded by --seed.\n"
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
    "(--reject-score memory|align|logit chooses). A phasor network's checkpoint\n"
    "takes its own options (eval --model F --help).";

typedef struct eval_args {
    const char *model, *data, *corrupt, *ood, *composite, *classes, *reject_score, *sparse, *route, *pred_out;
    const char *derotate, *derotate_score;
    int groups, probe, qbits, rt[3], json, threads, force;
    pt_derotate dro;
    pt_corrupt cor;
    size_t limit;
    uint64_t seed;
    float reject, tau;
} eval_args;

typedef struct eval_ctx {
    const cli_cmd *k;
    eval_args *a;
    pt_tower *t;
    pt_memory *mem;
    pt_dataset te, od;      /* the test set (corrupted, filtered) and the out-of-distribution set */
    pt_memory_eval ev, oev; /* the model and its memory on each */
    cli_report *r;
    uint8_t *q_pred, *q_conf; /* the integer model's answers, for --predictions */
    int *q_mem;
} eval_ctx;

/* ---- options ---- */

/* G:P, R1:KEEP:EXACT and MAX:STEP:MARGIN; 0 or the exit code */
static int parse_specs(const cli_cmd *k, eval_args *a)
{
    pt_status st;
    if (a->corrupt && (st = pt_corrupt_parse(a->corrupt, &a->cor))) return cli_lib_error(k, st, NULL);
    if (a->sparse) {
        char *end;
        long g = strtol(a->sparse, &end, 10), p = -1;
        if (end != a->sparse && *end == ':') p = strtol(end + 1, &end, 10);
        if (p < 1 || *end || g < 1 || g > 1000000)
            return cli_error(k->name, EXIT_USAGE, "--sparse '%s': expected G:P, groups and probed groups, e.g. 128:16", a->sparse);
        a->groups = (int)g, a->probe = (int)p;
    }
    if (a->route) {
        if (a->sparse) return cli_error(k->name, EXIT_USAGE, "--route and --sparse: choose one");
        const char *q = a->route;
        char *end = NULL;
        for (int i = 0; i < 3; i++) {
            long v = strtol(q, &end, 10);
            if (end == q || v < 1 || v > 1000000 || *end != (i < 2 ? ':' : '\0'))
                return cli_error(k->name, EXIT_USAGE,
                                 "--route '%s': expected R1:KEEP:EXACT, three positive counts, e.g. 12:400:48", a->route);
            a->rt[i] = (int)v, q = end + 1;
        }
    }
    if (a->derotate) {
        char *end;
        pt_derotate *d = &a->dro;
        d->max = strtod(a->derotate, &end);
        if (*end == ':') d->step = strtod(end + 1, &end);
        if (*end == ':') d->margin = strtod(end + 1, &end);
        if (*end || end == a->derotate || !(d->step > 0.0) || !(d->max >= 0.0) || !isfinite(d->max) ||
            d->max / d->step > 90.0 || !(d->margin >= 0.0) || !isfinite(d->margin))
            return cli_error(k->name, EXIT_USAGE,
                             "--derotate '%s': expected MAX:STEP:MARGIN with MAX >= 0, STEP > 0, MAX/STEP <= 90, MARGIN >= 0",
                             a->derotate);
    }
    if (a->derotate_score && strcmp(a->derotate_score, "align") != 0 && strcmp(a->derotate_score, "memory") != 0)
        return cli_error(k->name, EXIT_USAGE, "--derotate-score '%s': expected align or memory", a->derotate_score);
    if (a->derotate_score && !a->derotate) return cli_error(k->name, EXIT_USAGE, "--derotate-score needs --derotate");
    if (a->qbits && a->qbits != 8 && a->qbits != 16)
        return cli_error(k->name, EXIT_USAGE, "--quantize %d: expected 8 or 16", a->qbits);
    int rc;
    if (a->pred_out && (rc = cli_check_out(k->name, "--predictions", a->pred_out, a->force))) return rc;
    if (a->reject_score && strcmp(a->reject_score, "memory") && strcmp(a->reject_score, "logit") &&
        strcmp(a->reject_score, "align"))
        return cli_error(k->name, EXIT_USAGE, "--reject-score '%s': expected memory, align or logit", a->reject_score);
    return 0;
}

/* ---- data ---- */

/* The test set as loaded is corrupted first, image i by its own stream, as
 * 'phasetower corrupt' writes it; every analysis sees those images. Then the
 * classes (--classes; with --ood heldout the others become the OOD set). */
static int load_test(eval_ctx *c)
{
    const eval_args *a = c->a;
    const pt_tower_config *tc = pt_tower_get_config(c->t);
    const pt_corrupt cor = a->cor;
    pt_status st;
    uint8_t keep[256];
    int rc, heldout = a->ood && !strcmp(a->ood, "heldout");
    if ((st = pt_dataset_load(a->data, "t10k", a->limit, tc->n_classes, &c->te))) return cli_lib_error(c->k, st, NULL);
    if ((int)c->te.dim != tc->n_in)
        return cli_error(c->k->name, EXIT_USAGE, "%s: images have %zu pixels, the model expects %d", a->data, c->te.dim, tc->n_in);
    if (cor.kind != PT_CORRUPT_NONE && (st = pt_corrupt_apply(&cor, c->te.x, c->te.n, c->te.rows, c->te.cols, a->seed, 0)))
        return cli_error(c->k->name, EXIT_RUNTIME, "%s", pt_errmsg());
    if (heldout && !a->classes)
        return cli_error(c->k->name, EXIT_USAGE, "--ood heldout needs --classes (the classes the model was trained on)");
    if (a->classes && (rc = cli_parse_classes(c->k->name, a->classes, tc->n_classes, keep))) return rc;
    if (a->classes && (st = pt_dataset_filter(&c->te, keep, heldout ? &c->od : NULL)))
        return cli_error(c->k->name, EXIT_RUNTIME, "%s", pt_errmsg());
    if (c->te.n == 0 || (heldout && c->od.n == 0))
        return cli_error(c->k->name, EXIT_USAGE, "--classes '%s': leaves no %s test images", a->classes,
                         c->te.n ? "held-out" : "in-distribution");
    if (a->ood && !heldout) {
        st = strcmp(a->ood, "noise") ? pt_dataset_load(a->ood, "t10k", c->te.n, 256, &c->od)
                                     : pt_dataset_noise(&c->te, c->te.n, a->seed ^ 0x6f6f64ULL, &c->od);
        if (st) return cli_error(c->k->name, cli_status_code(st), "--ood %s: %s", a->ood, pt_errmsg());
    }
    if (a->ood && c->od.dim != c->te.dim)
        return cli_error(c->k->name, EXIT_USAGE, "--ood %s: images have %zu pixels, the test images %zu", a->ood, c->od.dim,
                         c->te.dim);
    return 0;
}

/* ---- analyses ---- */

static pt_embedder model_embedder(const eval_ctx *c)
{
    return pt_tower_embedder(c->t, c->mem ? (pt_tower_code)pt_memory_get_config(c->mem)->code : PT_TOWER_CODE_SPARSE);
}

/* The tower, the memory and their combination on the test set. */
static int analysis_accuracy(eval_ctx *c)
{
    const eval_args *a = c->a;
    pt_embedder e = model_embedder(c);
    pt_status st = pt_memory_evaluate(c->mem, &e, &c->te, a->tau, &c->ev);
    if (!st && a->ood) st = pt_memory_evaluate(c->mem, &e, &c->od, a->tau, &c->oev);
    if (st) return cli_lib_error(c->k, st, NULL);
    size_t n = c->te.n;
    double s = c->ev.embed_seconds, us = 1e6 * s / (double)n;
    cli_report *r = c->r;
    rep_num(r, "accuracy", c->ev.acc, 6), rep_num(r, "seconds", s, 4), rep_int(r, "samples", (long long)n);
    rep_num(r, "infer_us_per_image", us, 3);
    if (rep_json(r)) rep_num(r, "infer_us_single", cli_single_latency_us(&e, &c->te), 3);
    rep_str(r, "corrupt", a->corrupt ? a->corrupt : "none");
    rep_text(r, "accuracy %.2f%% on %zu samples%s%s in %.2f s (%.1f us/image)\n", 100.0 * c->ev.acc, n,
             a->corrupt ? ", corrupted by " : "", a->corrupt ? a->corrupt : "", s, us);
    if (!c->mem) return 0;
    rep_int(r, "memory_slots", (long long)pt_memory_count(c->mem)), rep_num(r, "accuracy_memory", c->ev.mem_acc, 6);
    rep_num(r, "accuracy_combined", c->ev.comb_acc, 6), rep_float(r, "memory_tau", a->tau);
    rep_num(r, "memory_us_per_image", 1e6 * c->ev.recall_seconds / (double)n, 3);
    rep_text(r, "memory (%zu slots): accuracy %.2f%%; combined %.2f%% (memory when similarity >= %g)\n",
             pt_memory_count(c->mem), 100.0 * c->ev.mem_acc, 100.0 * c->ev.comb_acc, (double)a->tau);
    return 0;
}

/* A composed concept on averaged test images of its base classes (the paper's protocol). */
static int analysis_composite(eval_ctx *c)
{
    const char *name = c->a->composite;
    int cl = c->mem ? pt_memory_find(c->mem, name) : -1, pa = -1, pb = -1, base[64], nb = 0;
    if (cl >= 0) pt_memory_parents(c->mem, cl, &pa, &pb);
    if (pa < 0)
        return cli_error(c->k->name, EXIT_USAGE, "--composite '%s': %s", name,
                         c->mem ? "not a composed concept of this model" : "the model has no episodic memory");
    pt_dataset cd = {0};
    pt_status st = pt_memory_base_labels(c->mem, cl, pt_tower_get_config(c->t)->n_classes, base, 64, &nb);
    if (!st) st = pt_dataset_blend(&c->te, base, nb, &cd);
    if (st) return cli_error(c->k->name, cli_status_code(st), "--composite '%s': %s", name, pt_errmsg());
    pt_memory_eval ce = {0};
    pt_embedder e = model_embedder(c);
    st = pt_memory_evaluate(c->mem, &e, &cd, c->a->tau, &ce);
    size_t ok = 0, cok = 0;
    for (size_t i = 0; !st && i < cd.n; i++) {
        ok += ce.mem_label[i] == cl;
        cok += ce.mem_label[i] == cl && ce.mem_score[i] >= c->a->tau; /* the tower alone never answers a new concept */
    }
    double acc = cd.n ? (double)ok / (double)cd.n : 0.0, comb = cd.n ? (double)cok / (double)cd.n : 0.0;
    size_t n = cd.n;
    pt_memory_eval_free(&ce);
    pt_dataset_free(&cd);
    if (st) return cli_lib_error(c->k, st, "--composite");
    rep_str(c->r, "composite", name), rep_int(c->r, "composite_samples", (long long)n);
    rep_num(c->r, "composite_accuracy_memory", acc, 6), rep_num(c->r, "composite_accuracy_combined", comb, 6);
    rep_text(c->r, "composite '%s' (%zu averaged test images): recalled as '%s' %.2f%% by the memory, %.2f%% combined\n",
             name, n, name, 100.0 * acc, 100.0 * comb);
    return 0;
}

/* Truly sparse inference: neuron groups (--sparse) or routing (--route). */
static int analysis_sparse(eval_ctx *c)
{
    const eval_args *a = c->a;
    const char *flag = a->route ? "--route" : "--sparse";
    pt_tower_index *ix = NULL;
    uint8_t *pred = malloc(c->te.n);
    pt_status st = !pred ? PT_ENOMEM
                   : a->route ? pt_tower_route_build(c->t, a->rt[0], a->rt[1], a->rt[2], &ix)
                              : pt_tower_index_build(c->t, a->groups, a->probe, &ix);
    double madds = 0.0, t1 = cli_now();
    if (!st) st = pt_tower_index_predict(ix, c->te.x, c->te.n, pred, &madds);
    double s = cli_now() - t1, zs = pt_tower_madds_zero_skip(c->t, c->te.x, c->te.n), dense = (double)pt_tower_madds(c->t);
    size_t ok = 0;
    for (size_t i = 0; !st && i < c->te.n; i++) ok += pred[i] == c->te.y[i];
    free(pred);
    pt_tower_index_destroy(ix);
    if (st) return cli_lib_error(c->k, st, flag);
    double acc = (double)ok / (double)c->te.n, us = 1e6 * s / (double)c->te.n;
    char spec[64];
    if (a->route) snprintf(spec, sizeof spec, "%d:%d:%d", a->rt[0], a->rt[1], a->rt[2]);
    else snprintf(spec, sizeof spec, "%d:%d", a->groups, a->probe);
    cli_report *r = c->r;
    rep_str(r, "sparse", spec), rep_num(r, "accuracy_sparse", acc, 6), rep_int(r, "madds_per_image", (long long)dense);
    rep_num(r, "madds_per_image_sparse", madds, 1), rep_num(r, "sparse_fraction", madds / dense, 6);
    rep_num(r, "sparse_us_per_image", us, 3), rep_str(r, "sparse_mode", a->route ? "route" : "groups");
    rep_num(r, "madds_per_image_zero_skip", zs, 1), rep_num(r, "sparse_fraction_zero_skip", madds / zs, 6);
    if (!a->route)
        rep_text(r, "sparse inference %s: accuracy %.2f%% with %.0f multiply-adds per image (%.2f%% of dense %.0f), "
                    "%.1f us/image one at a time\n",
                 spec, 100.0 * acc, madds, 100.0 * madds / dense, dense, us);
    else
        rep_text(r, "routed sparse inference %s: accuracy %.2f%% with %.0f multiply-adds per image (%.2f%% of dense "
                    "%.0f; %.2f%% of %.0f for a dense pass that also skips zero pixels), %.1f us/image one at a time\n",
                 spec, 100.0 * acc, madds, 100.0 * madds / dense, dense, 100.0 * madds / zs, zs, us);
    return 0;
}

/* The integer model that export writes, and with a memory the integer memory. */
static int analysis_quantize(eval_ctx *c)
{
    const eval_args *a = c->a;
    size_t n = c->te.n;
    pt_qtower *q = NULL;
    c->q_pred = malloc(n);
    pt_status st = c->q_pred ? pt_qtower_create(c->t, a->qbits, &q) : PT_ENOMEM;
    double t1 = cli_now();
    if (!st) st = pt_qtower_predict(q, c->te.x, n, c->q_pred);
    double s = cli_now() - t1;
    if (!st && c->mem) { /* the integer memory, as export --memory writes it */
        c->q_mem = malloc(n * sizeof *c->q_mem), c->q_conf = malloc(n);
        st = !c->q_mem || !c->q_conf ? PT_ENOMEM : pt_qtower_add_memory(q, c->mem, a->tau);
        if (!st) st = pt_qtower_recall(q, c->te.x, n, NULL, c->q_mem, c->q_conf);
    }
    size_t bytes = q ? pt_qtower_const_bytes(q) : 0;
    pt_qtower_destroy(q);
    if (st) return st == PT_ENOMEM ? cli_error(c->k->name, EXIT_RUNTIME, "--quantize: out of memory")
                                   : cli_lib_error(c->k, st, "--quantize");
    size_t ok = 0, same = 0, mok = 0, cok = 0;
    for (size_t i = 0; i < n; i++) {
        ok += c->q_pred[i] == c->te.y[i], same += c->q_pred[i] == c->ev.pred[i];
        if (c->q_mem) mok += c->q_mem[i] == c->te.y[i], cok += (c->q_conf[i] ? c->q_mem[i] : c->q_pred[i]) == c->te.y[i];
    }
    double acc = (double)ok / (double)n, agree = (double)same / (double)n, macc = (double)mok / (double)n;
    double cacc = (double)cok / (double)n;
    cli_report *r = c->r;
    rep_int(r, "quantize_bits", a->qbits), rep_num(r, "accuracy_quantized", acc, 6);
    rep_num(r, "quantized_agreement", agree, 6), rep_int(r, "quantized_const_bytes", (long long)bytes);
    rep_num(r, "quantized_us_per_image", 1e6 * s / (double)n, 3);
    rep_text(r, "int%d model: accuracy %.2f%% (%+.2f points), same answer as float on %.2f%%, %zu bytes of constant "
                "data, %.1f us/image\n",
             a->qbits, 100.0 * acc, 100.0 * (acc - c->ev.acc), 100.0 * agree, bytes, 1e6 * s / (double)n);
    if (!c->q_mem) return 0;
    rep_num(r, "accuracy_quantized_memory", macc, 6), rep_num(r, "accuracy_quantized_combined", cacc, 6);
    rep_text(r, "int%d memory: accuracy %.2f%%, combined %.2f%% (the export --memory answers)\n", a->qbits,
             100.0 * macc, 100.0 * cacc);
    return 0;
}

/* a turn's score: the memory's best similarity to the turned image's vectors */
static pt_status memory_score(void *user, const float *z, size_t n, float *score)
{
    return pt_memory_scores(user, z, n, NULL, score);
}

/* The memory (and the combination) on the images as the search turned them. */
static pt_status derotated_memory(const eval_ctx *c, const float *ang, double *macc, double *cacc)
{
    pt_dataset tt = c->te;
    pt_memory_eval dev = {0};
    size_t d = c->te.dim;
    tt.x = malloc(c->te.n * d * sizeof *tt.x);
    if (!tt.x) return PT_ENOMEM;
    for (size_t i = 0; i < c->te.n; i++) {
        if (ang[i] != 0.0f) pt_image_rotate(tt.x + i * d, c->te.x + i * d, c->te.rows, c->te.cols, (double)ang[i]);
        else memcpy(tt.x + i * d, c->te.x + i * d, d * sizeof *tt.x);
    }
    pt_embedder e = model_embedder(c);
    pt_status st = pt_memory_evaluate(c->mem, &e, &tt, c->a->tau, &dev);
    *macc = dev.mem_acc, *cacc = dev.comb_acc;
    pt_memory_eval_free(&dev);
    free(tt.x);
    return st;
}

/* The test-time de-rotation search (docs/memory.md). */
static int analysis_derotate(eval_ctx *c)
{
    eval_args *a = c->a;
    if (a->derotate_score && !strcmp(a->derotate_score, "memory")) {
        if (!c->mem)
            return cli_error(c->k->name, EXIT_USAGE, "--derotate-score memory: %s has no memory (train --memory)", a->model);
        a->dro.score = memory_score, a->dro.user = c->mem;
        a->dro.code = (pt_tower_code)pt_memory_get_config(c->mem)->code;
    }
    uint8_t *dp = malloc(c->te.n);
    float *ang = malloc(c->te.n * sizeof *ang);
    pt_status st = dp && ang ? pt_tower_predict_derotate(c->t, c->te.x, c->te.n, c->te.rows, c->te.cols, &a->dro, dp, ang)
                             : PT_ENOMEM;
    size_t ok = 0, turned = 0;
    for (size_t i = 0; !st && i < c->te.n; i++) ok += dp[i] == c->te.y[i], turned += ang[i] != 0.0f;
    double macc = 0.0, cacc = 0.0;
    if (!st && c->mem) st = derotated_memory(c, ang, &macc, &cacc);
    free(dp), free(ang);
    if (st) return st == PT_ENOMEM ? cli_error(c->k->name, EXIT_RUNTIME, "--derotate: out of memory")
                                   : cli_lib_error(c->k, st, "--derotate");
    double acc = (double)ok / (double)c->te.n, frac = (double)turned / (double)c->te.n;
    rep_str(c->r, "derotate", a->derotate), rep_num(c->r, "accuracy_derotate", acc, 6);
    rep_num(c->r, "derotate_turned", frac, 6);
    rep_text(c->r, "de-rotation search %s: accuracy %.2f%% (%.2f%% of images answered turned)\n", a->derotate, 100.0 * acc,
             100.0 * frac);
    if (!c->mem) return 0;
    rep_num(c->r, "accuracy_derotate_memory", macc, 6), rep_num(c->r, "accuracy_derotate_combined", cacc, 6);
    rep_text(c->r, "  memory on the turned images: %.2f%%; combined %.2f%%\n", 100.0 * macc, 100.0 * cacc);
    return 0;
}

/* Rejection of answers whose confidence is below --reject-below. */
static int analysis_reject(eval_ctx *c)
{
    const eval_args *a = c->a;
    int by_memory = a->reject_score ? !strcmp(a->reject_score, "memory") : c->mem != NULL;
    int by_logit = a->reject_score && !strcmp(a->reject_score, "logit");
    const char *name = by_memory ? "memory" : by_logit ? "logit" : "align";
    size_t n = c->te.n, kept = 0, right = 0;
    for (size_t i = 0; i < n; i++) {
        float conf = by_memory ? c->ev.mem_score[i] : c->ev.scores[2 * i + (by_logit ? 0 : 1)];
        if (conf >= a->reject) kept++, right += c->ev.pred[i] == c->te.y[i];
    }
    double rejected = 1.0 - (double)kept / (double)n, acc = kept ? (double)right / (double)kept : 0.0;
    rep_float(c->r, "reject_below", a->reject), rep_str(c->r, "reject_score", name);
    rep_num(c->r, "rejected", rejected, 6), rep_num(c->r, "accuracy_accepted", acc, 6);
    rep_text(c->r, "rejected %.2f%% below %s confidence %g; accuracy on the rest %.2f%%\n", 100.0 * rejected, name,
             (double)a->reject, 100.0 * acc);
    return 0;
}

/* AUROC and FPR at 95% TPR of each confidence score, test set against the OOD set. */
static int analysis_ood(eval_ctx *c)
{
    size_t n = c->te.n, no = c->od.n;
    float *pos = malloc(n * sizeof *pos), *neg = malloc(no * sizeof *neg);
    double au[3] = {0}, fp[3] = {0};
    pt_status st = pos && neg ? PT_OK : PT_ENOMEM;
    for (int s = 0; s < 3 && !st; s++) { /* largest logit, alignment, memory */
        if (s == 2 && !c->mem) break;
        for (size_t i = 0; i < n; i++) pos[i] = s < 2 ? c->ev.scores[2 * i + (size_t)s] : c->ev.mem_score[i];
        for (size_t i = 0; i < no; i++) neg[i] = s < 2 ? c->oev.scores[2 * i + (size_t)s] : c->oev.mem_score[i];
        st = pt_metrics_ood(pos, n, neg, no, &au[s], &fp[s]);
    }
    free(pos), free(neg);
    if (st) return cli_error(c->k->name, EXIT_RUNTIME, "out-of-distribution scores: %s",
                             st == PT_ENOMEM ? "out of memory" : pt_errmsg());
    cli_report *r = c->r;
    rep_str(r, "ood", c->a->ood), rep_int(r, "ood_samples", (long long)no), rep_num(r, "auroc", au[0], 6);
    rep_num(r, "fpr95", fp[0], 6), rep_num(r, "auroc_align", au[1], 6), rep_num(r, "fpr95_align", fp[1], 6);
    if (c->mem) rep_num(r, "auroc_memory", au[2], 6), rep_num(r, "fpr95_memory", fp[2], 6);
    rep_text(r, "out-of-distribution (%s, %zu images): AUROC %.4f, FPR at 95%% TPR %.4f (largest logit)\n", c->a->ood,
             no, au[0], fp[0]);
    rep_text(r, "  with the alignment score: AUROC %.4f, FPR at 95%% TPR %.4f\n", au[1], fp[1]);
    if (c->mem) rep_text(r, "  with the memory score: AUROC %.4f, FPR at 95%% TPR %.4f\n", au[2], fp[2]);
    return 0;
}

/* ---- the command ---- */

static int run(eval_ctx *c)
{
    const eval_args *a = c->a;
    int rc = EXIT_OK;
    if ((rc = cli_load_tower(c->k, a->model, &c->t, &c->mem)) || (rc = load_test(c))) return rc;
    int by_memory = a->reject_score ? !strcmp(a->reject_score, "memory") : c->mem != NULL;
    if (by_memory && !c->mem && a->reject_score)
        return cli_error(c->k->name, EXIT_USAGE, "--reject-score memory: the model has no episodic memory");
    if (a->derotate_score && !strcmp(a->derotate_score, "memory") && !c->mem)
        return cli_error(c->k->name, EXIT_USAGE, "--derotate-score memory: %s has no memory (train --memory)", a->model);
    if (!(c->r = rep_new(a->json))) return cli_error(c->k->name, EXIT_RUNTIME, "out of memory");
    if ((rc = analysis_accuracy(c)) || (a->composite && (rc = analysis_composite(c))) ||
        ((a->sparse || a->route) && (rc = analysis_sparse(c))) || (a->qbits && (rc = analysis_quantize(c))) ||
        (a->derotate && (rc = analysis_derotate(c))) || (isfinite(a->reject) && (rc = analysis_reject(c))) ||
        (a->ood && (rc = analysis_ood(c))))
        return rc;
    if (a->pred_out &&
        (rc = cli_write_labels(c->k->name, a->pred_out, a->qbits ? c->q_pred : c->ev.pred, c->q_mem, c->q_conf, c->te.n)))
        return rc;
    rc = rep_end(c->r);
    c->r = NULL;
    return rc;
}

int cli_tower_eval(int argc, char **argv)
{
    eval_args a = {.data = PT_DEFAULT_DATA, .threads = 1, .seed = 1, .reject = -INFINITY, .tau = 0.7f};
    opt opts[] = {
        {"model", OPT_STR, &a.model, "checkpoint written by train (required)", 0, 0, NULL, 0},
        OPT_DATA(&a.data),
        OPT_TEST_LIMIT(&a.limit),
        {"corrupt", OPT_STR, &a.corrupt, "corrupt the test images: rotate:LO-HI, turn:DEGREES or noise:SIGMA", 0, 0, "corruption", 0},
        {"ood", OPT_STR, &a.ood, "out-of-distribution set: noise, heldout, or an MNIST-format DIR", 0, 0, NULL, 0},
        {"reject-below", OPT_FLOAT, &a.reject, "answer 'unknown' when the confidence is below TAU", -1e6, 1e6, NULL, 0},
        {"reject-score", OPT_STR, &a.reject_score, "confidence for --reject-below: memory (default with a memory), align (default without) or logit", 0, 0, NULL, 0},
        {"classes", OPT_STR, &a.classes, "test on these classes only (the in-distribution for --ood heldout)", 0, 0, NULL, 0},
        {"sparse", OPT_STR, &a.sparse, "also score with truly sparse inference, G:P (G neuron groups, P probed)", 0, 0, NULL, 0},
        {"route", OPT_STR, &a.route, "also score with routed sparse inference, R1:KEEP:EXACT (a tower trained with --route-rank; docs/sparse.md)", 0, 0, NULL, 0},
        {"derotate", OPT_STR, &a.derotate, "also answer after a test-time search over turns of each image, MAX:STEP:MARGIN degrees (e.g. 45:7.5:0.03): the turn with the best score if it beats the unturned image's by more than MARGIN", 0, 0, NULL, 0},
        {"derotate-score", OPT_STR, &a.derotate_score, "score of a turn for --derotate: align (the tower's alignment, default) or memory (the memory's best similarity; needs a memory)", 0, 0, NULL, 0},
        {"quantize", OPT_INT, &a.qbits, "also score the integer model of this many bits (8 or 16) that export writes", 8, 16, NULL, 0},
        {"predictions", OPT_STR, &a.pred_out, "write the predicted class of each test image, one per line (with --quantize: the integer model's; with a memory too: tower, memory label and 1 if the memory is confident)", 0, 0, NULL, 0},
        OPT_FORCE(&a.force),
        {"composite", OPT_STR, &a.composite, "score a composed concept on averaged test images of its classes", 0, 0, NULL, 0},
        {"memory-tau", OPT_FLOAT, &a.tau, "trust the memory at or above this similarity (default 0.7)", 1e-6, 1, NULL, 0},
        {"seed", OPT_U64, &a.seed, "seed of --corrupt and --ood noise (default 1)", 1, 0, NULL, 0},
        OPT_THREADS(&a.threads),
        OPT_JSON(&a.json),
        OPT_END,
    };
    cli_cmd k = {"eval", USAGE, opts, "a tower", NULL};
    CLI_PARSE(&k, argc, argv, NULL);
    int rc = EXIT_OK;
    if (!a.model) return cli_error(k.name, EXIT_USAGE, "--model is required (see --help)");
    if ((rc = parse_specs(&k, &a))) return rc;
    pt_set_threads(a.threads);
    eval_ctx c = {.k = &k, .a = &a};
    rc = run(&c);
    rep_discard(c.r);
    pt_memory_eval_free(&c.ev);
    pt_memory_eval_free(&c.oev);
    pt_memory_destroy(c.mem);
    pt_tower_destroy(c.t);
    pt_dataset_free(&c.te);
    pt_dataset_free(&c.od);
    free(c.q_pred), free(c.q_mem), free(c.q_conf);
    return rc;
}
