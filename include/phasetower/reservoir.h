/* The reservoir family: the echo-state network (ESN) with leaky-integrator
 * units, real (tanh) or complex (phasor), read out by the same linear readout
 * (docs/reservoir.md). For inputs u_t (D) the state x_t (N) of the tanh
 * reservoir (esn.unit = tanh, the default) follows
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
 * The phasor reservoir (esn.unit = phasor): N complex units z_t (N) follow
 *     z_t = (1 - lr) z_{t-1} + lr sigma(rho U z_{t-1} + W_in u_t + b),  z_0 = 0,
 *     sigma(a) = tanh(|a|) a / |a|   (phase kept, magnitude squashed below 1),
 * with U (N, N) a dense random unitary (Haar: Gram-Schmidt of a complex
 * Gaussian matrix), so that every eigenvalue of rho U has modulus
 * rho = spectral_radius exactly; W_in entries input_scaling e^{i phi} (phi
 * uniform) with probability input_connectivity, b bias_scaling e^{i phi}.
 * The readout sees the 2N real features (Re z_1, Im z_1, Re z_2, ...): a
 * phasor reservoir of N units has the state size of a tanh one of 2N.
 * `connectivity` is unused by it (U is dense).
 *
 * Everything is computed in double. The model carries its state: run, fit
 * and predict continue from where the last call stopped (pt_esn_reset returns
 * to x = 0), and generate feeds each prediction back as the next input.
 * Same seed, same calls, same data: the same bits. A saved and loaded model
 * continues bit for bit. Single-threaded; a model is not to be used from two
 * threads at once. Messages name parameters as esn.<field>.
 *
 * Why one handle with a unit field rather than a pt_phres_* API of its own:
 * the two differ only in the state update and the draw of W, W_in and b;
 * fitting, running, generation, readouts, scores and checkpoints are the
 * same calls on a feature vector of pt_esn_features() doubles. */
#ifndef PHASETOWER_RESERVOIR_H
#define PHASETOWER_RESERVOIR_H

#include "phasetower/checkpoint.h"
#include "phasetower/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PT_ESN_MAX_UNITS 5000 /* W is drawn dense for its eigenvalues: 200 MB, dgeev ~1e12 flops at the top */
#define PT_ESN_MAX_IO 4096
#define PT_ESN_MAX_PHASOR_UNITS 2000 /* U dense complex: 64 MB, its Gram-Schmidt ~3e10 flops at the top */

/* TANH: real leaky tanh units, W sparse scaled by dgeev's spectral radius.
 * PHASOR: complex units, W = rho U with U a dense random unitary, the
 * phase-preserving squashing sigma(a) = tanh(|a|) a / |a|. */
typedef enum pt_esn_unit { PT_ESN_TANH = 0, PT_ESN_PHASOR = 1 } pt_esn_unit;

/* RIDGE: the normal equations of the states after warm-up, solved once.
 * RLS: recursive least squares, one update per step after warm-up. */
typedef enum pt_esn_readout_fit { PT_ESN_RIDGE = 0, PT_ESN_RLS = 1 } pt_esn_readout_fit;

typedef struct pt_esn_config {
    pt_esn_unit unit;          /* default TANH */
    int units;                 /* N, 1..PT_ESN_MAX_UNITS (phasor: ..PT_ESN_MAX_PHASOR_UNITS) (default 100) */
    int inputs;                /* D, 1..PT_ESN_MAX_IO (default 1) */
    int outputs;               /* M, 1..PT_ESN_MAX_IO (default 1) */
    double spectral_radius;    /* of W, > 0 (default 1.25) */
    double leak;               /* lr, in (0, 1] (default 0.3) */
    double input_scaling;      /* > 0 (default 1) */
    double bias_scaling;       /* >= 0 (default 0: no bias) */
    double connectivity;       /* of W, in (0, 1] (default 0.1; unused by the phasor unit) */
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
const char *pt_esn_unit_name(pt_esn_unit u);
pt_status pt_esn_unit_parse(const char *s, pt_esn_unit *out); /* "tanh" or "phasor"; names esn.unit */

/* A new model from c->seed: W, W_in, b drawn and W scaled to the spectral
 * radius; the state zero; the readout zero (not fitted). PT_EINVAL (the
 * config), PT_ENOMEM, PT_ENOCONV (the eigenvalues did not converge, or W has
 * no non-zero eigenvalue to scale: raise esn.connectivity or esn.units; the
 * phasor unit's U: a Gaussian draw that Gram-Schmidt finds dependent). */
pt_status pt_esn_create(const pt_esn_config *c, pt_esn **out);
void pt_esn_destroy(pt_esn *m);
const pt_esn_config *pt_esn_get_config(const pt_esn *m);
/* The spectral radius of W before scaling (dgeev's largest |eigenvalue|;
 * 1 for the phasor unit's unitary U). */
double pt_esn_raw_radius(const pt_esn *m);
/* Non-zero entries of W (complex ones for the phasor unit: N^2). */
size_t pt_esn_nnz(const pt_esn *m);
int pt_esn_fitted(const pt_esn *m);
/* Steps the model has been driven since its creation (or last reset). */
uint64_t pt_esn_steps(const pt_esn *m);

/* The state back to zero (the readout is kept). */
void pt_esn_reset(pt_esn *m);
/* F, the doubles of a state and the rows of the readout: N for the tanh
 * unit, 2N for the phasor unit (z interleaved as Re, Im, as <complex.h>
 * lays it out). */
size_t pt_esn_features(const pt_esn *m);
/* The current state, F doubles (valid until the next call that changes it). */
const double *pt_esn_state(const pt_esn *m);

/* Set the state to x (F doubles) and the step count to steps (e.g. back to
 * a state copied from pt_esn_state). */
void pt_esn_set_state(pt_esn *m, const double *x, uint64_t steps);

/* Drive the state with T inputs u (T, D); states (T, F) receives each new
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

/* The readout (F, M) row-major, W_out of y = W_out^T x. */
const double *pt_esn_readout(const pt_esn *m);

/* Checkpoints, model kind "esn" (docs/reservoir.md): the configuration as
 * metadata (with `unit`; a file without it holds a tanh reservoir), W (CSR: row_ptr, col, val), W_in, b, W_out, the state and its
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
