/* The fractal neural field (docs/field.md): a complex deep-equilibrium model
 * on a torus. An image x (height x width, values in [0, 1]) is encoded by a
 * complex 3x3 convolution into an injection u (C complex channels per pixel);
 * the state Z (height x width x C complex) is the fixed point of
 *     F(Z) = act(Wt * Z + u),   Wt = gain K / ||K||,
 * where K * is a complex 3x3 convolution C -> C with periodic padding (the
 * torus) and ||K|| its exact operator norm on that torus (the largest
 * singular value of the C x C symbol over the height x width frequencies).
 * The solver iterates Z <- (1 - alpha) Z + alpha F(Z) from Z = u (naive),
 * accelerates that by Anderson mixing, or runs nonlinear multigrid V-cycles
 * on the torus (the same kernel on grids of half and a quarter the size; the
 * adjoint of implicit gradients then uses Anderson); the readout averages |Z| over a
 * P x P grid of cells and maps the C P^2 features to logits. Trained by
 * Adam on the cross-entropy, with gradients by implicit differentiation (the
 * adjoint fixed point solved by the same solver), Jacobian-free backprop, or
 * backprop through a fixed unroll.
 *
 * Uniqueness: with modReLU (bias <= 0, kept so: 1-Lipschitz) F is a
 * contraction of constant gain when gain < 1; with the cardioid (Lipschitz
 * constant 1.0664) when gain < 0.9378. pt_field_lipschitz says which holds.
 * Complex arrays are interleaved (re, im) floats; the state of one image is
 * (height, width, C) complex, channel last. */
#ifndef PHASETOWER_FIELD_H
#define PHASETOWER_FIELD_H

#include "phasetower/checkpoint.h"
#include "phasetower/core.h"
#include "phasetower/solve.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pt_field_act { PT_FIELD_MODRELU = 0, PT_FIELD_CARDIOID = 1 } pt_field_act;
typedef enum pt_field_solver { PT_FIELD_NAIVE = 0, PT_FIELD_ANDERSON = 1, PT_FIELD_MULTIGRID = 2 } pt_field_solver;
typedef enum pt_field_grad { PT_FIELD_IMPLICIT = 0, PT_FIELD_JFB = 1, PT_FIELD_UNROLL = 2 } pt_field_gradmode;

/* The Lipschitz constant of the cardioid (1 + cos arg z) z / 2 on C = R^2 */
#define PT_FIELD_CARDIOID_LIP 1.0663552

typedef struct pt_field_config {
    int height, width; /* image size, 3..512 each */
    int n_classes;     /* 2..256 */
    int channels;      /* C, 1..256 (default 16) */
    pt_field_act act;  /* default modReLU */
    float act_bias;    /* modReLU's initial bias, <= 0 (learned per channel, kept <= 0; default -0.1) */
    float gain;        /* operator norm of Wt, in (0, 4] (default 0.9) */
    float alpha;       /* damping of the iteration, (0, 1] (default 1) */
    int pool;          /* readout grid P, 1..min(height, width), dividing both (1: the global average) */
    /* the solver (forward, and the adjoint of implicit gradients) */
    pt_field_solver solver; /* default Anderson */
    int max_iter;           /* 1..100000 (default 100) */
    double tol;             /* relative residual, (0, 1) (default 1e-4) */
    int fixed_steps;        /* 1: always max_iter steps, no tolerance stop (the seed's protocol) */
    int anderson_m;         /* history, 1..64 (default 5) */
    double anderson_lambda; /* Tikhonov term relative to the residual scale, >= 0 (default 1e-4) */
    int mg_levels;          /* multigrid: grids, the image's included, 1..4 (default 3: 28 -> 14 -> 7);
                             * each halving needs even sides (an image that cannot be halved that
                             * often is refused, naming the most it allows) */
    /* training */
    pt_field_gradmode grad; /* default implicit */
    int unroll;         /* steps of PT_FIELD_UNROLL, 1..10000 (default 30) */
    float lr;           /* Adam step, > 0 (default 1e-3) */
    int batch;          /* mini-batch, 1..4096 (default 32) */
    uint64_t seed;      /* initialisation and the order of the samples (default 1) */
} pt_field_config;

typedef struct pt_field pt_field;

/* What the solves of one call did: never silent non-convergence. */
typedef struct pt_field_stats {
    size_t images;           /* forward solves */
    size_t unconverged;      /* of them, not within tol (or non-finite) */
    double evals;            /* evaluations of F summed over images */
    size_t adjoint_solves;   /* implicit gradients: adjoint solves */
    size_t adjoint_unconverged;
    double adjoint_evals;
    double loss;             /* training: mean cross-entropy over the epoch */
} pt_field_stats;

/* Defaults as listed above; height 28, width 28, 10 classes, pool 1. */
pt_field_config pt_field_config_default(void);
pt_status pt_field_config_check(const pt_field_config *c); /* PT_EINVAL naming field.<name> */
const char *pt_field_act_name(pt_field_act a);
pt_status pt_field_act_parse(const char *s, pt_field_act *out); /* names field.act */
const char *pt_field_solver_name(pt_field_solver s);
pt_status pt_field_solver_parse(const char *s, pt_field_solver *out); /* names field.solver */
/* "implicit", "jfb" or "unroll:N" (N into c->unroll); names field.grad */
pt_status pt_field_grad_parse(const char *s, pt_field_config *c);

/* A new model, initialised from c->seed: K and the encoder with each part
 * N(0, 1 / (9 C_in)), biases 0 but modReLU's (act_bias), the readout
 * N(0, 1 / F) with F = C P^2. */
pt_status pt_field_create(const pt_field_config *c, pt_field **out);
void pt_field_destroy(pt_field *m);
const pt_field_config *pt_field_get_config(const pt_field *m);
/* Solver settings used by predict and by the next training steps (the
 * architecture cannot change): solver, max_iter, tol, fixed_steps,
 * anderson_m, anderson_lambda, alpha, grad, unroll, lr, batch. */
pt_status pt_field_set_run(pt_field *m, const pt_field_config *c);

/* The exact operator norm of K * on the torus (before the gain), the
 * frequency where it is reached, and the Lipschitz bound of F: gain times the
 * activation's constant. *guaranteed is 1 when that bound is < 1 (a unique
 * fixed point, and naive iteration converges from any start). Any pointer
 * may be NULL. */
pt_status pt_field_spectral(const pt_field *m, double *norm, int *ky, int *kx, double *lipschitz, int *guaranteed);

/* One epoch of Adam over x (n, height*width) in [0, 1], labels y, in a
 * seeded shuffled order (the model's RNG, so a resumed run continues the
 * same sequence); progress (may be NULL) after each mini-batch; stats (may be
 * NULL) gets the solves' report and the mean loss. */
pt_status pt_field_train(pt_field *m, const float *x, const uint8_t *y, size_t n, pt_field_stats *stats,
                         pt_progress_fn progress, void *user);
/* Predictions and logits (n, n_classes), each optional, at the solver's
 * result (with fixed_steps: after max_iter steps); stats as for training. */
pt_status pt_field_predict(const pt_field *m, const float *x, size_t n, uint8_t *pred, float *logits,
                           pt_field_stats *stats, pt_progress_fn progress, void *user);
/* The equilibrium of one image by the given solver, max_iter and tol (the
 * model's other settings: alpha, Anderson's, multigrid's), e.g. for a solver
 * comparison, into z (height*width*C complex; NULL: not kept); info as from
 * pt_fixpoint_solve_batch (history, max_iter entries, set or NULL; with
 * multigrid one entry per cycle, work in fine-grid equivalents). states (may
 * be NULL) receives the fine-grid states F was evaluated at, in order, up to
 * nstates of them, for pictures. */
pt_status pt_field_equilibrium(const pt_field *m, const float *x, pt_field_solver solver, int max_iter, double tol,
                               float *z, pt_fixpoint_info *info, float *states, int nstates);

/* The parameters as one vector: K (3, 3, C, C complex: [dy][dx][out][in]),
 * the encoder E (3, 3, C complex), its bias (C complex), with modReLU its
 * biases (C), the readout R (n_classes, C P^2), its bias (n_classes).
 * pt_field_grad: the mean cross-entropy of x and its gradient with respect to
 * that vector (d/d Re and d/d Im interleaved for complex ones) by the
 * configured gradient mode, without changing the model. */
size_t pt_field_param_count(const pt_field *m);
float *pt_field_params(pt_field *m);
const float *pt_field_params_const(const pt_field *m);
pt_status pt_field_grad(pt_field *m, const float *x, const uint8_t *y, size_t n, double *loss, float *grad,
                        pt_field_stats *stats);
/* Call after changing the parameters through pt_field_params: recomputes
 * the normalised kernel (and keeps modReLU's biases <= 0). */
pt_status pt_field_params_changed(pt_field *m);

/* Epochs trained, Adam steps taken. */
int pt_field_epochs(const pt_field *m);

/* Checkpoints, model kind "field" (docs/checkpoint-format.md). With
 * training state (train_state 1): Adam's moments and step, the RNG and the
 * epoch count, so that pt_field_load and more pt_field_train give the same
 * bits as an uninterrupted run. */
pt_status pt_field_to_ckpt(const pt_field *m, int train_state, pt_ckpt *c);
pt_status pt_field_from_ckpt(pt_ckpt *c, pt_field **out);
pt_status pt_field_save(const pt_field *m, int train_state, const char *path);
pt_status pt_field_load(const char *path, pt_field **out);

#ifdef __cplusplus
}
#endif
#endif
