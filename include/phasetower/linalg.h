/* Principal component analysis (family-neutral), on top of the library's one
 * BLAS/LAPACK wrapper. Rows are streamed in (pt_pca_add: the second moment
 * G = sum x x^T through BLAS, and the column sums), then the first R
 * principal directions are read out (pt_pca_fit):
 *  - EIGEN (default): the top R eigenvectors of the (centred) moment matrix
 *    by LAPACK's dsyevr, in double precision, largest first, each signed so
 *    that its entry of largest magnitude is positive;
 *  - ITERATE: orthogonal iteration, `rounds` rounds of Q <- orth(G Q) from a
 *    seeded Gaussian start (modified Gram-Schmidt in double). This is the fit
 *    the PhaseTower has used since its subspace was introduced; its checkpoints
 *    and published numbers were made with it, so it stays available.
 * Only the span matters to a projection: both give orthonormal rows whose
 * span is the top-R eigenspace (up to rounding and, for ITERATE, the
 * convergence of `rounds` rounds). docs/numerics.md. */
#ifndef PHASETOWER_LINALG_H
#define PHASETOWER_LINALG_H

#include "phasetower/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pt_pca_method { PT_PCA_EIGEN = 0, PT_PCA_ITERATE = 1 } pt_pca_method;

typedef struct pt_pca_config {
    int center;           /* 1 (default): directions of the covariance; 0: of the raw second moment */
    pt_pca_method method; /* default EIGEN */
    int rounds;           /* ITERATE: rounds of orthogonal iteration, 1..10000 (default 60) */
    uint64_t seed;        /* ITERATE: the Gaussian start (default 1) */
} pt_pca_config;

typedef struct pt_pca pt_pca;

pt_pca_config pt_pca_config_default(void);
/* An empty accumulator for rows of d values (1..65536). */
pt_status pt_pca_create(size_t d, pt_pca **out);
void pt_pca_destroy(pt_pca *p);
/* Add n rows X (n, d): G += X^T X (float, through BLAS), sums += X (double).
 * PT_EINVAL on a non-finite value (nothing is added). */
pt_status pt_pca_add(pt_pca *p, const float *X, size_t n);
size_t pt_pca_count(const pt_pca *p);
/* The first R (1..d) principal directions as orthonormal rows V (R, d) and,
 * if var is not NULL, the variance along each (eigenvalue / rows; for ITERATE,
 * the Rayleigh quotient of each row). PT_EINVAL: no rows, R out of range, a
 * bad config; PT_ENOCONV when LAPACK fails. */
pt_status pt_pca_fit(const pt_pca *p, const pt_pca_config *c, size_t R, float *V, float *var);

#ifdef __cplusplus
}
#endif
#endif
