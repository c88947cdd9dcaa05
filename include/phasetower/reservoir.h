/* The reservoir family, first member: the echo-state network (ESN) with
 * leaky-integrator units (docs/reservoir.md). For inputs u_t (D) the state
 * x_t (N) follows
 *     x_t = (1 - lr) x_{t-1} + lr tanh(W_in u_t + b + W x_{t-1}),   x_0 = 0,
 * with W (N, N) sparse (CSR, each entry present with probability
 * `connectivity`, values N(0, 1), then scaled so that its spectral radius, the
 * largest |eigenvalue| computed by LAPACK's dgeev in double, is
 * `spectral_radius`), W_in (N, D) each entry present with probability
 * `input_connectivity` and then +-input_scaling with equal odds, and b (N)
 * +-bias_scaling (0 by default: no bias). The readout is linear without an
 * intercept, y_t = W_out^T x_t (M outputs), fitted by ridge regression on the
 * states (pt_ridge, strength `ridge`, absolute) or online by recursive least
 * squares (pt_rls, the FORCE rule when run on a closed loop's own states).
 *
 * Everything is computed in double. The model carries its state: run, fit
 * and predict continue from where the last call stopped (pt_esn_reset returns
 * to x = 0), and generate feeds each prediction back as the next input.
 * Same seed, same calls, same data: the same bits. A saved and loaded model
 * continues bit for bit. Single-threaded; a model is not to be used from two
 * threads at once. Messages name parameters as esn.<field>. */
#ifndef PHASETOWER_RESERVOIR_H
#define PHASETOWER_RESERVOIR_H

#include "phasetower/checkpoint.h"
#include "phasetower/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PT_ESN_MAX_UNITS 5000 /* W is drawn dense for its eigenvalues: 200 MB, dgeev ~1e12 flops at the top */
#define PT_ESN_MAX_IO 4096

/* RIDGE: the normal equations of the states after warm-up, solved once.
 * RLS: recursive least squares, one update per step after warm-up. */
typedef enum pt_esn_readout_fit { PT_ESN_RIDGE = 0, PT_ESN_RLS = 1 } pt_esn_readout_fit;

typedef struct pt_esn_config {
    int units;                 /* N, 1..PT_ESN_MAX_UNITS (default 100) */
    int inputs;                /* D, 1..PT_ESN_MAX_IO (default 1) */
    int outputs;               /* M, 1..PT_ESN_MAX_IO (default 1) */
    double spectral_radius;    /* of W, > 0 (default 1.25) */
    double leak;               /* lr, in (0, 1] (default 0.3) */
    double input_scaling;      /* > 0 (default 1) */
    double bias_scaling;       /* >= 0 (default 0: no bias) */
    double connectivity;       /* of W, in (0, 1] (default 0.1) */
    double input_connectivity; /* of W_in, in (0, 1] (default 0.1) */
    double ridge;              /* ridge strength, absolute, >= 0 (default 1e-7) */
    int warmup;                /* states discarded at the start of a fit, >= 0 (default 100) */
    pt_esn_readout_fit readout; /* default RIDGE */
    double rls_delta;          /* RLS: P starts as I / delta, > 0 (default 1e-6) */
    double rls_forget;         /* RLS: forgetting factor, in (0, 1] (default 1) */
    uint64_t seed;             /* W, W_in and b (default 1) */
} pt_esn_config;

typedef struct pt_esn pt_esn;

pt_esn_config pt_esn_config_default(void);
pt_status pt_esn_config_check(const pt_esn_config *c); /* PT_EINVAL naming esn.<field> */
const char *pt_esn_readout_name(pt_esn_readout_fit r);
pt_status pt_esn_readout_parse(const char *s, pt_esn_readout_fit *out); /* "ridge" or "rls"; names esn.readout */

/* A new model from c->seed: W, W_in, b drawn and W scaled to the spectral
 * radius; the state zero; the readout zero (not fitted). PT_EINVAL (the
 * config), PT_ENOMEM, PT_ENOCONV (the eigenvalues did not converge, or W has
 * no non-zero eigenvalue to scale: raise esn.connectivity or esn.units). */
pt_status pt_esn_create(const pt_esn_config *c, pt_esn **out);
void pt_esn_destroy(pt_esn *m);
const pt_esn_config *pt_esn_get_config(const pt_esn *m);
/* The spectral radius of W before scaling (dgeev's largest |eigenvalue|). */
double pt_esn_raw_radius(const pt_esn *m);
/* Non-zero entries of W. */
size_t pt_esn_nnz(const pt_esn *m);
int pt_esn_fitted(const pt_esn *m);
/* Steps the model has been driven since its creation (or last reset). */
uint64_t pt_esn_steps(const pt_esn *m);

/* The state back to zero (the readout is kept). */
void pt_esn_reset(pt_esn *m);
/* The current state, N doubles (valid until the next call that changes it). */
const double *pt_esn_state(const pt_esn *m);

/* Set the state to x (N doubles) and the step count to steps (e.g. back to
 * a state copied from pt_esn_state). */
void pt_esn_set_state(pt_esn *m, const double *x, uint64_t steps);

/* Drive the state with T inputs u (T, D); states (T, N) receives each new
 * state (NULL: not kept). PT_EINVAL on a non-finite input (the state is then
 * as it was before the call). */
pt_status pt_esn_run(pt_esn *m, const double *u, size_t T, double *states);
/* Teacher forcing: drive with u (T, D) from the current state, discard the
 * first warmup states, and fit the readout to targets y (T, M) on the rest
 * (ridge: solved at the end; RLS: updated each step, continuing an earlier
 * RLS fit of this model). PT_EINVAL when T <= warmup (naming esn.warmup) or a
 * value is not finite; PT_ENOCONV when the ridge system is singular (raise
 * esn.ridge). progress (may be NULL) is called every 1000 steps. */
pt_status pt_esn_fit(pt_esn *m, const double *u, const double *y, size_t T, pt_progress_fn progress, void *user);
/* Drive with u (T, D) from the current state and read out y (T, M). */
pt_status pt_esn_predict(pt_esn *m, const double *u, size_t T, double *y);
/* Closed loop: feed u0 (D), then each prediction as the next input, n steps:
 * y (n, M) receives the predictions. Needs inputs == outputs (PT_EINVAL
 * naming esn.outputs otherwise); PT_ENOCONV if a prediction turns non-finite
 * (the rows before it are filled, *done says how many when not NULL). */
pt_status pt_esn_generate(pt_esn *m, const double *u0, size_t n, double *y, size_t *done);

/* The readout (N, M) row-major, W_out of y = W_out^T x. */
const double *pt_esn_readout(const pt_esn *m);

/* Checkpoints, model kind "esn" (docs/reservoir.md): the configuration as
 * metadata, W (CSR: row_ptr, col, val), W_in, b, W_out, the state and its
 * step count as F64/I32 tensors (bit for bit), so that a loaded model
 * continues run, predict and generate with the same bits. An RLS fit's
 * running inverse P is not saved: a loaded model's next RLS fit starts a
 * fresh one (W_out from zero). */
pt_status pt_esn_to_ckpt(const pt_esn *m, pt_ckpt *c);
pt_status pt_esn_from_ckpt(pt_ckpt *c, pt_esn **out);
pt_status pt_esn_save(const pt_esn *m, const char *path);
pt_status pt_esn_load(const char *path, pt_esn **out);

/* Scores of predictions p against truth t, n rows of k channels (all
 * channels pooled): RMSE divided by (max - min) of t, and by the standard
 * deviation of t (sqrt(MSE / var t)); valid = the number of leading rows with
 * every |p - t| <= tol. Any output pointer may be NULL. */
void pt_esn_scores(const double *p, const double *t, size_t n, size_t k, double tol, double *nrmse_range,
                   double *nrmse_std, size_t *valid);

#ifdef __cplusplus
}
#endif
#endif
