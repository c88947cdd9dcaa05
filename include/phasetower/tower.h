/* PhaseTower: a tower of blocks of phase neurons z = (x.p) e^{i phi}, ||p|| = 1,
 * with sparse top-s selection, a learnable complex skip lambda between blocks,
 * and a complex codebook readout logits_y = Re(sum_k Z_k conj(c_yk)).
 * Learning is local and backprop-free: each block has its own complex target
 * per class; only selected neurons update (docs/learning-rules.md).
 * Handles are opaque; one model is not safe to train from two threads at once,
 * but const queries (predict, eval) on a trained model may run concurrently. */
#ifndef PHASETOWER_TOWER_H
#define PHASETOWER_TOWER_H

#include "phasetower/core.h"
#include "phasetower/checkpoint.h"
#include "phasetower/data.h"
#include "phasetower/embed.h"
#include "phasetower/linalg.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PT_TOWER_MAXBLOCKS 16

/* How p learns. LOCAL: p += eta Re(delta e^{-i phi}) x, the exact gradient of
 * |t - z|^2 (default). PAPER: p += eta Re(delta) x, the paper's rule. Both then
 * renormalize p; both use phi += eta_phase Im(delta / z). */
typedef enum pt_rule { PT_RULE_LOCAL = 0, PT_RULE_PAPER = 1 } pt_rule;

/* How the codebook learns. RIDGE: closed-form local least squares on the last
 * block's output, accumulated during the single pass and solved at its end.
 * DELTA: online Widrow-Hoff (LMS) rule per sample. CODE: codebook fixed to the
 * last block's class targets (the paper's readout, nothing learned). */
typedef enum pt_readout { PT_READOUT_RIDGE = 0, PT_READOUT_DELTA = 1, PT_READOUT_CODE = 2 } pt_readout;

/* How neurons start. IMPRINT: p_k = the k-th training input to the block, phi_k
 * = phase of that sample's class target. RANDOM: Gaussian p, uniform phi. */
typedef enum pt_init { PT_INIT_IMPRINT = 0, PT_INIT_RANDOM = 1 } pt_init;

/* What a block outputs for its s selected neurons. SOFT (default): each output
 * is shrunk by the (s+1)-th largest score theta, Z_k = (r_k - theta) e^{i phi_k},
 * so an output fades to 0 as its neuron leaves the active set (soft top-s).
 * HARD: Z_k = z_k = r_k e^{i phi_k}, the paper's top-s. Learning is the same in
 * both: each neuron's rule acts on its own z_k. */
typedef enum pt_select { PT_SELECT_SOFT = 0, PT_SELECT_HARD = 1 } pt_select;

typedef struct pt_tower_config {
    int n_in;                      /* input dimension (784 for 28x28) */
    int n_classes;                 /* 2..256 */
    int n_blocks;                  /* 1..PT_TOWER_MAXBLOCKS */
    int K[PT_TOWER_MAXBLOCKS];     /* neurons per block, > 0 */
    float frac[PT_TOWER_MAXBLOCKS];/* active fraction per block, in (0,1] */
    float eta;                     /* step for p, >= 0 */
    float eta_phase;               /* step for phi, >= 0 */
    float eta_skip;                /* step for lambda, >= 0 */
    float eta_code;                /* step for the DELTA codebook, >= 0 */
    float target_mag;              /* |t| of the block targets, > 0 */
    float ridge;                   /* ridge strength (relative to mean diag), > 0 */
    pt_rule rule;
    pt_readout readout;
    pt_init init;
    pt_select select;
    int batch;                     /* mini-batch for scoring, 1..4096 */
    uint64_t seed;
    /* Liquid topology of the last block (docs/liquid.md), applied between
     * mini-batches of training; both off by default. */
    int births;        /* clone the most confident neuron, phase flipped, when none reaches birth_tau */
    int deaths;        /* flip the phase of a neuron unselected for death_steps samples; remove it after
                          death_steps more */
    int death_steps;   /* N, 1..1e9 (default 5000) */
    float birth_tau;   /* confidence (cosine score) in (0, 1] (default 0.7) */
    int max_neurons;   /* most neurons in the last block with births; 0: K + K/4 */
    int birth_sample;  /* 0: a newborn clones its parent with the phase flipped (the paper);
                          1: it imprints the sample that caused it (direction = that input,
                          phase = its class target), as the initial neurons are */
    /* 0: block 0 sees the preprocessed image. R > 0: it sees the image's
     * coordinates in its first R principal components (fitted on the first
     * 20,000 training samples before imprinting; docs/sparse.md), so its
     * directions are R coordinates and scoring costs R n_in + K R multiply-adds
     * instead of K n_in. PT_SUBSPACE_AUTO (the default): PT_SUBSPACE_DEFAULT
     * when the input is larger than that, else 0; pt_tower_create resolves it. */
    int subspace;
    /* R > 0: also fit a routing basis, the data's first R principal components
     * (as for subspace), stored with the tower and used only by
     * pt_tower_route_build (eval --route; docs/sparse.md). Needs block 0 to
     * read pixels (subspace 0) and one block. 0 (the default): none. */
    int route;
    /* How the subspace and the routing basis are fitted (linalg.h): ITERATE
     * (the default: orthogonal iteration, the fit every published tower
     * number was measured with) or EIGEN (LAPACK's dsyevr). */
    pt_pca_method subspace_fit;
} pt_tower_config;

#define PT_SUBSPACE_AUTO (-1)
#define PT_SUBSPACE_DEFAULT 56

typedef struct pt_tower pt_tower;

/* Defaults: one block 2304:0.015625 (s = 36) reading the image's first 56
 * principal components (PT_SUBSPACE_AUTO), eta 0.005, |t| 0.3, soft
 * selection, ridge readout, imprint init, and eta_phase 0: the phase rule is
 * implemented and tested but lowered validation accuracy with every readout
 * (the sweeps in docs/design-notes.md). */
pt_tower_config pt_tower_config_default(void);

/* Parse "K:frac,K:frac,..." into cfg->n_blocks/K/frac. PT_EINVAL with a message
 * naming the offending item on a parse error, K <= 0 or frac outside (0,1]. */
pt_status pt_tower_spec_parse(const char *spec, pt_tower_config *cfg);
/* Format cfg's blocks back into a spec string (buf of len bytes). */
void pt_tower_spec_format(const pt_tower_config *cfg, char *buf, size_t len);

/* Validate every field of cfg (PT_EINVAL naming the field). */
pt_status pt_tower_config_check(const pt_tower_config *cfg);

pt_status pt_tower_create(const pt_tower_config *cfg, pt_tower **out);
void pt_tower_destroy(pt_tower *t);

/* One pass over x (n, n_in) in order, labels y. Imprinting (if configured)
 * happens on the first call. The ridge readout is solved at the end of the pass.
 * progress may be NULL. Fails with PT_EINVAL on shape/label mismatch and
 * PT_ENOCONV if a value turns non-finite. */
pt_status pt_tower_train(pt_tower *t, const float *x, const uint8_t *y, size_t n,
                         pt_progress_fn progress, void *user);

/* Predicted class per sample; logits (n, n_classes) optional (may be NULL).
 * Deterministic for the same call, but a one-image call goes through BLAS's
 * matrix-vector product, so its logits may differ in the last bits from the
 * same image scored inside a batch. */
pt_status pt_tower_predict(const pt_tower *t, const float *x, size_t n, uint8_t *pred, float *logits);

/* Fraction of d predicted correctly. */
pt_status pt_tower_accuracy(const pt_tower *t, const pt_dataset *d, double *acc);

const pt_tower_config *pt_tower_get_config(const pt_tower *t);
/* Learnable parameters (p, phi, lambda, codebook; real numbers). With a
 * subspace, block 0's directions count as R coordinates each plus the basis
 * (R x n_in), the form every path stores and computes, and so do the two
 * counts below. */
size_t pt_tower_param_count(const pt_tower *t);
/* Parameters that shape one image's answer: the s selected neurons of each
 * block (direction and phase), the skips, and the codebook entries of the last
 * block's selected neurons. Dense scoring still reads every direction. */
size_t pt_tower_active_params(const pt_tower *t);
/* Liquid topology counts of block b since the tower was created (kept in
 * checkpoints): neurons born, phase flips of idle neurons, neurons removed. */
void pt_tower_topology(const pt_tower *t, int b, long *births, long *flips, long *deaths);
/* Current neurons of block b (the last block's count changes with a liquid topology). */
int pt_tower_block_size(const pt_tower *t, int b);
/* Multiply-adds per image of dense inference (with a subspace, R n_in + K R:
 * the projection, then the coordinates). */
size_t pt_tower_madds(const pt_tower *t);
/* Current complex skip of block b (b >= 1); 1+0i... for b == 0 returns 0. */
void pt_tower_skip(const pt_tower *t, int b, float *re, float *im);

/* Names of the enum values as used by the CLI and checkpoints ("local",
 * "ridge", "imprint", ...), and their parsers (PT_EINVAL naming the flag). */
const char *pt_tower_rule_name(pt_rule r);
const char *pt_tower_readout_name(pt_readout r);
const char *pt_tower_init_name(pt_init i);
const char *pt_tower_select_name(pt_select s);
pt_status pt_tower_rule_parse(const char *s, pt_rule *out);
pt_status pt_tower_readout_parse(const char *s, pt_readout *out);
pt_status pt_tower_init_parse(const char *s, pt_init *out);
pt_status pt_tower_select_parse(const char *s, pt_select *out);

/* Which vectors of a tower a pass returns (docs/memory.md): SPARSE, the last
 * block's output (s of K entries non-zero); DENSE, its phase code before
 * selection, r_k e^{i phi_k} for every neuron k, which is linear in the
 * block's input, so the code of a mean of two images is the mean of their
 * codes (what composition by z_A + z_B needs). */
typedef enum pt_tower_code { PT_TOWER_CODE_SPARSE = 0, PT_TOWER_CODE_DENSE = 1 } pt_tower_code;

/* Everything one forward pass gives, each output optional (NULL): logits
 * (n, n_classes), the vectors z (n, K_last complex) of the given code, and
 * each sample's alignment: the mean of the s largest scores of the last
 * block, i.e. the mean cosine between the block's input and its s
 * best-matching neurons, in [-1, 1]. A sample unlike anything the neurons were
 * imprinted on and trained with aligns poorly: the tower's native
 * out-of-distribution score (docs/memory.md). The dense code is linear in the
 * block's input; for a one-block tower the code of a mean of images is the
 * mean of their codes up to each image's normalization. */
pt_status pt_tower_forward(const pt_tower *t, const float *x, size_t n, pt_tower_code code, float *logits, float *z,
                           float *align);
/* K of the last block: the complex length of the vectors z. */
int pt_tower_out_dim(const pt_tower *t);
/* The tower as an embedder (embed.h) of the given code: vectors z, the
 * predicted class, and two scores: "logit" (the largest logit) and "align"
 * (the alignment). t is borrowed. */
pt_embedder pt_tower_embedder(const pt_tower *t, pt_tower_code code);

/* Guided de-rotation (docs/memory.md, "Corruptions"): each image (rows x
 * cols) is also turned by -max, -max+step, ..., +max degrees, and the answer
 * is the tower's for the turn with the best score (the alignment, or what
 * `score` says of the turned image's vectors of `code`, e.g. an episodic
 * memory's best similarity) if that score beats the unturned image's by more
 * than margin, else the unturned answer. A test-time search: nothing is
 * retrained. angle (may be NULL) gets the turn used. PT_EINVAL: step <= 0,
 * max < 0, max / step above 90, margin < 0 or not finite, rows * cols != n_in. */
typedef pt_status (*pt_tower_score_fn)(void *user, const float *z, size_t n, float *score);
typedef struct pt_derotate {
    double max, step, margin;
    pt_tower_score_fn score; /* NULL: score a turn by the tower's alignment */
    void *user;              /* passed to score */
    pt_tower_code code;      /* the vectors score is given */
} pt_derotate;
pt_status pt_tower_predict_derotate(const pt_tower *t, const float *x, size_t n, size_t rows, size_t cols,
                                    const pt_derotate *o, uint8_t *pred, float *angle);

/* Frame keys for a memory of dense codes (docs/memory.md). A one-block
 * tower's dense code is z_k = (p_k . y) e^{i phi_k}, y the block's input
 * before normalization (V c with a subspace, else the centred image c). The
 * dual frame proj (K, R complex, row-major), proj_kj = W_jk e^{-i phi_k} with
 * W = (P^T P)^-1 P^T, maps it back: z proj = y exactly, so a key is the
 * image's coordinates and the key of a blend is the blend of the keys
 * (pt_memory_set_projection takes it). frame_dim is R (block 0's input
 * length), or 0 when the tower has no frame: more than one block, or no more
 * neurons than inputs. frame_projection fails with PT_EINVAL then, and with
 * PT_ENOCONV if P^T P is singular. */
int pt_tower_frame_dim(const pt_tower *t);
pt_status pt_tower_frame_projection(const pt_tower *t, float *proj);

/* Read-only views of the weights, for exporters and inspection. The
 * pointers are the tower's own: valid while t lives and is not trained. */
typedef struct pt_tower_block_view {
    int K, s, in_dim;       /* neurons, active per sample, input length */
    const float *P;         /* (K, in_dim) unit directions */
    const float *phi;       /* (K) phases */
    const float *targets;   /* (n_classes, K, 2) fixed complex class targets */
    float skip_re, skip_im; /* the complex skip from the block below (0 for block 0) */
} pt_tower_block_view;
/* PT_EINVAL for b outside 0..n_blocks-1. */
pt_status pt_tower_block(const pt_tower *t, int b, pt_tower_block_view *v);
const float *pt_tower_codebook(const pt_tower *t);    /* (n_classes, K_last, 2) */
const float *pt_tower_subspace(const pt_tower *t);    /* (subspace, n_in) orthonormal rows, or NULL */
const float *pt_tower_route_basis(const pt_tower *t); /* (route, n_in) orthonormal rows, or NULL */

/* Truly sparse inference (docs/sparse.md): each block's neurons are grouped by
 * spherical k-means on their directions (deterministic, from the weights
 * alone); an image is scored against the `groups` centroids, then only the
 * neurons of the best `probe` groups (more groups if fewer than s+1 neurons
 * were scored). The index borrows t: keep t alive and unchanged while it is
 * used. PT_EINVAL: groups outside 1..K of a block, probe outside 1..groups.
 * pt_tower_route_build (below) builds the other kind. */
typedef struct pt_tower_index pt_tower_index;
pt_status pt_tower_index_build(const pt_tower *t, int groups, int probe, pt_tower_index **out);
void pt_tower_index_destroy(pt_tower_index *ix);
/* Predictions with the index, one image at a time; *madds (may be NULL) gets
 * the mean multiply-adds per image actually computed (centroids, scored
 * neurons, readout). */
pt_status pt_tower_index_predict(const pt_tower_index *ix, const float *x, size_t n, uint8_t *pred, double *madds);
/* Routed sparse inference of a one-block tower that reads pixels and has a
 * routing basis U (cfg.route = R; docs/sparse.md). Per image: the raw image's
 * non-zero pixels give its R coordinates U x~ (x~ . v = (x . v - mean(x) sum
 * v) / |x - mean(x)|, so zero pixels cost nothing); every neuron is scored on
 * the first r1 coordinates, the best `keep` on all R, and the best `exact` of
 * those on the pixels; the others count as unscored. pt_tower_index_predict
 * then counts R nnz + K r1 + keep (R - r1) + exact nnz (+ R + exact for the
 * means) + 2 s C multiply-adds per image. PT_EINVAL: no basis, more than one
 * block, r1 outside 1..R, exact outside s+1..keep, keep above K. */
pt_status pt_tower_route_build(const pt_tower *t, int r1, int keep, int exact, pt_tower_index **out);
/* Mean multiply-adds per image of dense inference that skips the zero pixels
 * of each raw image x (n, n_in) in block 0 (K nnz + K, then the same as
 * pt_tower_madds); pt_tower_madds(t) for a subspace tower, whose projection
 * this does not change. */
double pt_tower_madds_zero_skip(const pt_tower *t, const float *x, size_t n);

/* Checkpoints (docs/checkpoint-format.md): the tower's part of a checkpoint
 * envelope (checkpoint.h), so that other parts (an episodic memory) can share
 * the file. to_ckpt borrows t's arrays until the envelope is saved;
 * from_ckpt validates every tensor's shape against the metadata before
 * copying, and fails with PT_EFORMAT for a checkpoint of another kind. */
pt_status pt_tower_to_ckpt(const pt_tower *t, pt_ckpt *c);
pt_status pt_tower_from_ckpt(pt_ckpt *c, pt_tower **out);
/* The tower alone, in one call each (load ignores other parts of the file). */
pt_status pt_tower_save(const pt_tower *t, const char *path);
pt_status pt_tower_load(const char *path, pt_tower **out);

#ifdef __cplusplus
}
#endif
#endif
