/* Linear readouts any family can put on its features (family-neutral).
 *  - pt_ridge: ridge regression with streaming accumulation of the normal
 *    equations G = sum x x^T and H = sum x y^T (double precision), solved by
 *    Cholesky (LAPACK) at the end: W = (G + alpha I)^-1 H. Rows arrive dense
 *    (a batch, through BLAS) or sparse (a few non-zero features and a class).
 *    Features may come in groups of 2 (the real and imaginary part of one
 *    complex feature): G is then stored as 2x2 blocks, so that one pair of
 *    complex features touches one cache line.
 *  - pt_rls: recursive least squares, the same solution updated one sample at
 *    a time (with an optional forgetting factor), O(n^2) per sample.
 * Neither is safe to update from two threads at once. docs/numerics.md
 * derives both. */
#ifndef PHASETOWER_READOUT_H
#define PHASETOWER_READOUT_H

#include "phasetower/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pt_ridge pt_ridge;

/* n_groups groups of `group` features each (group 1 or 2; n = n_groups *
 * group features in all) and m outputs; G and H start at zero.
 * PT_EINVAL for zero sizes or another group size, PT_ENOMEM. */
pt_status pt_ridge_create(size_t n_groups, size_t group, size_t m, pt_ridge **out);
void pt_ridge_destroy(pt_ridge *r);
size_t pt_ridge_features(const pt_ridge *r); /* n = n_groups * group */
size_t pt_ridge_outputs(const pt_ridge *r);  /* m */

/* Dense rows: G += X^T X and H += X^T Y for X (nb, n) and Y (nb, m), in
 * double through BLAS. PT_EINVAL on a non-finite value (nothing is added). */
pt_status pt_ridge_add(pt_ridge *r, const float *X, const float *Y, size_t nb);

/* The same for rows in double (no rounding to float on the way): X (nb, n),
 * Y (nb, m). */
pt_status pt_ridge_add_f64(pt_ridge *r, const double *X, const double *Y, size_t nb);

/* One sparse row whose target is the one-hot vector of class cls (< m): the
 * nnz groups grp[0..nnz) (distinct) with values f (nnz, group). Each pair of
 * list positions p <= q adds f_p f_q^T into G's block (grp[p], grp[q]), each
 * group adds f_p into H's row of cls: O(nnz^2) work, whatever n is. The
 * solve sums blocks (i, j) and (j, i), so the order of the list is free. */
void pt_ridge_add_sparse(pt_ridge *r, const int *grp, const double *f, size_t nnz, size_t cls);

/* Forget group g: zero its rows and columns of G and its rows of H (before
 * the group is reused for another feature). */
void pt_ridge_clear(pt_ridge *r, size_t g);

/* Sum of G's diagonal over the groups sel[0..nsel) in that order (all groups
 * in order when sel is NULL): the scale of a relative ridge strength. */
double pt_ridge_trace(const pt_ridge *r, const int *sel, size_t nsel);

/* Solve (G_S + alpha I) W = H_S, S the groups sel[0..nsel) in that order (all
 * when sel is NULL): W (nsel * group, m) row-major, feature u of the i-th
 * selected group in row i * group + u. alpha >= 0 and finite.
 * PT_ENOCONV when G_S + alpha I is not positive definite (raise alpha) or W
 * is not finite; PT_EINVAL, PT_ENOMEM. */
pt_status pt_ridge_solve(const pt_ridge *r, const int *sel, size_t nsel, double alpha, double *W);

/* ---- recursive least squares ---- */
typedef struct pt_rls_config {
    double delta;  /* P starts as I / delta: the ridge strength of the first solution, > 0 (default 1) */
    double forget; /* forgetting factor lambda in (0, 1] (default 1: none) */
} pt_rls_config;
typedef struct pt_rls pt_rls;

pt_rls_config pt_rls_config_default(void);
/* n features (1..65536: P is n x n doubles), m outputs; W starts at zero.
 * PT_EINVAL naming the field, PT_ENOMEM. */
pt_status pt_rls_create(const pt_rls_config *c, size_t n, size_t m, pt_rls **out);
void pt_rls_destroy(pt_rls *r);
/* One sample x (n) with target y (m): the gain k = P x / (lambda + x^T P x),
 * W += k (y - W^T x)^T, P = (P - k x^T P) / lambda. With lambda = 1, after
 * samples x_1..x_t, W = (delta I + sum x x^T)^-1 sum x y^T: the ridge solution
 * with alpha = delta. PT_EINVAL on a non-finite value; PT_ENOCONV when the
 * update turns non-finite (the state is then left as it was). With
 * lambda < 1, P grows by 1/lambda per update along directions no sample
 * excites (wind-up), so forgetting wants features that keep varying. */
pt_status pt_rls_update(pt_rls *r, const float *x, const float *y);
/* y (m) = W^T x. */
void pt_rls_predict(const pt_rls *r, const float *x, float *y);
/* W (n, m) row-major; valid until the next update. */
const double *pt_rls_weights(const pt_rls *r);
size_t pt_rls_samples(const pt_rls *r); /* updates accepted so far */

#ifdef __cplusplus
}
#endif
#endif
