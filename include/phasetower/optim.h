/* First-order optimisers for any family that trains by gradients
 * (family-neutral): Adam (Kingma & Ba 2015) and SGD with momentum. Each holds
 * its own state for a parameter vector of n floats (complex parameters are
 * their interleaved real and imaginary parts) and updates it in place, one
 * step per call, in float arithmetic in a fixed order: the same gradients give
 * bit-identical parameters. docs/numerics.md states the updates. */
#ifndef PHASETOWER_OPTIM_H
#define PHASETOWER_OPTIM_H

#include "phasetower/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pt_adam_config {
    float lr;     /* step size, > 0 (default 1e-3) */
    float beta1;  /* first-moment decay in [0, 1) (default 0.9) */
    float beta2;  /* second-moment decay in [0, 1) (default 0.999) */
    float eps;    /* added to the root of the second moment, > 0 (default 1e-8) */
} pt_adam_config;
typedef struct pt_adam pt_adam;

pt_adam_config pt_adam_config_default(void);
pt_status pt_adam_config_check(const pt_adam_config *c); /* PT_EINVAL naming the field */
/* State for n >= 1 parameters (moments zero, no step taken); PT_EINVAL
 * naming the field, PT_ENOMEM. */
pt_status pt_adam_create(const pt_adam_config *c, size_t n, pt_adam **out);
void pt_adam_destroy(pt_adam *a);
/* One step on theta (n) with grad (n): t += 1; m = b1 m + (1 - b1) g;
 * v = b2 v + (1 - b2) g^2; theta -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
 * Values are not checked: a non-finite gradient propagates (check theta). */
void pt_adam_step(pt_adam *a, float *theta, const float *grad);
/* Lazy (sparse) Adam, for embedding tables of which a step touches a few
 * rows: the state is n / width rows of width floats; one call is one step t
 * (for the bias corrections) but updates only the nrows listed rows (theta,
 * moments), with the update of pt_adam_step; the other rows, their moments
 * included, are left exactly as they are (not decayed), as in TensorFlow's
 * LazyAdam and PyTorch's SparseAdam. Listing every row once gives the bits of
 * pt_adam_step. rows must be distinct and below n / width (PT_ASSERT); grad
 * is read only at the listed rows. */
void pt_adam_step_rows(pt_adam *a, float *theta, const float *grad, const size_t *rows, size_t nrows, size_t width);
long pt_adam_steps(const pt_adam *a);
size_t pt_adam_size(const pt_adam *a);
/* The state, to save and restore a run (a checkpoint that resumes training):
 * the first and second moments (n each, writable) and the step count. */
float *pt_adam_moment(pt_adam *a, int which); /* which 1 or 2 */
const float *pt_adam_moment_const(const pt_adam *a, int which);
void pt_adam_set_steps(pt_adam *a, long t);
/* A new step size for the next steps (> 0; not checked). */
void pt_adam_set_lr(pt_adam *a, float lr);

typedef struct pt_sgd_config {
    float lr;           /* > 0 (default 0.01) */
    float momentum;     /* in [0, 1) (default 0: plain SGD) */
    float weight_decay; /* >= 0, added to the gradient as wd * theta (default 0) */
    int nesterov;       /* 1: Nesterov momentum (needs momentum > 0) */
} pt_sgd_config;
typedef struct pt_sgd pt_sgd;

pt_sgd_config pt_sgd_config_default(void);
pt_status pt_sgd_config_check(const pt_sgd_config *c); /* PT_EINVAL naming the field */
pt_status pt_sgd_create(const pt_sgd_config *c, size_t n, pt_sgd **out); /* n >= 1; velocity zero */
void pt_sgd_destroy(pt_sgd *s);
/* One step on theta (n) with grad (n): g' = g + wd theta; v = mu v + g';
 * theta -= lr (nesterov ? g' + mu v : v). Values are not checked. */
void pt_sgd_step(pt_sgd *s, float *theta, const float *grad);

#ifdef __cplusplus
}
#endif
#endif
