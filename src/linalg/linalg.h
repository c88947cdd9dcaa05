/* The one BLAS wrapper (private): every dense product in the library goes
 * through these functions, each with a naive reference used by tests as oracle.
 * Row-major throughout. Thread count for BLAS is set here and nowhere else. */
#ifndef PT_LINALG_H
#define PT_LINALG_H

#include <stddef.h>

/* C = alpha * A * B^T + beta * C.  C: (m, n) out, A: (m, k), B: (n, k). */
void pt_sgemm_nt(float *restrict C, const float *restrict A, const float *restrict B,
                 size_t m, size_t n, size_t k, float alpha, float beta);
void pt_sgemm_nt_ref(float *restrict C, const float *restrict A, const float *restrict B,
                     size_t m, size_t n, size_t k, float alpha, float beta);

/* C = alpha * A * B + beta * C.  C: (m, n), A: (m, k), B: (k, n). */
void pt_sgemm_nn(float *restrict C, const float *restrict A, const float *restrict B,
                 size_t m, size_t n, size_t k, float alpha, float beta);
void pt_sgemm_nn_ref(float *restrict C, const float *restrict A, const float *restrict B,
                     size_t m, size_t n, size_t k, float alpha, float beta);
/* C = alpha * A^T * B + beta * C.  C: (m, n), A: (k, m), B: (k, n). */
void pt_sgemm_tn(float *restrict C, const float *restrict A, const float *restrict B,
                 size_t m, size_t n, size_t k, float alpha, float beta);
void pt_sgemm_tn_ref(float *restrict C, const float *restrict A, const float *restrict B,
                     size_t m, size_t n, size_t k, float alpha, float beta);

/* Complex C = A * B^H (conjugate transpose), interleaved complex floats.
 * C: (m, n) out, A: (m, k), B: (n, k). */
void pt_cgemm_nc(float *restrict C, const float *restrict A, const float *restrict B, size_t m, size_t n, size_t k);
void pt_cgemm_nc_ref(float *restrict C, const float *restrict A, const float *restrict B, size_t m, size_t n, size_t k);
/* C (m, n) = A (m, k) . B (k, n), all interleaved complex, row-major. */
void pt_cgemm_nn(float *restrict C, const float *restrict A, const float *restrict B, size_t m, size_t n, size_t k);
void pt_cgemm_nn_ref(float *restrict C, const float *restrict A, const float *restrict B, size_t m, size_t n, size_t k);

/* General complex product C = op(A) op(B) + beta C, interleaved complex,
 * row-major; op is 'N' (as is), 'T' (transposed) or 'C' (conjugate
 * transposed). C: (m, n); op(A): (m, k); op(B): (k, n). beta is real. */
void pt_cgemm(float *restrict C, const float *restrict A, const float *restrict B, size_t m, size_t n, size_t k,
              char opa, char opb, float beta);
void pt_cgemm_ref(float *restrict C, const float *restrict A, const float *restrict B, size_t m, size_t n, size_t k,
                  char opa, char opb, float beta);

/* Dot product a.b of n floats. */
float pt_sdot(const float *restrict a, const float *restrict b, size_t n);
float pt_sdot_ref(const float *restrict a, const float *restrict b, size_t n);

/* Double precision, for the normal equations of readouts:
 * S (n, n) upper triangle = X^T X for X (k, n) (the lower triangle is left alone). */
void pt_dsyrk_tn(double *restrict S, const double *restrict X, size_t n, size_t k);
/* C = alpha * A^T * B + beta * C.  C: (m, n), A: (k, m), B: (k, n). */
void pt_dgemm_tn(double *restrict C, const double *restrict A, const double *restrict B, size_t m, size_t n, size_t k,
                 double alpha, double beta);

/* Solve (G) W = H in place for symmetric positive definite G (n, n), H (n, m)
 * row-major, via Cholesky (LAPACK dpotrf/dpotrs). G is overwritten by its factor,
 * H by the solution W. Returns 0 on success, >0 if G is not positive definite,
 * <0 if out of memory. */
int pt_dposv(double *G, double *H, size_t n, size_t m);
int pt_dposv_ref(double *G, double *H, size_t n, size_t m);

/* Solve A x = b in place for a small symmetric positive definite A (n, n)
 * and one right-hand side b (n): Cholesky, no allocation (A is overwritten by
 * its factor, b by x). 0 on success, > 0 if A is not positive definite. */
int pt_dposv1(double *A, double *b, size_t n);

/* The largest eigenvalue of a Hermitian n x n matrix A (interleaved double
 * complex, row-major, upper triangle read; destroyed) into *lam and a unit
 * eigenvector into v (n complex, interleaved), by LAPACK's zheevr. 0 on
 * success, LAPACK's info otherwise (< 0 also when out of memory). */
int pt_zheev_top(double *A, size_t n, double *lam, double *v);

/* The largest singular value of a complex matrix and its singular vectors,
 * for spectral normalisation: A (m, n) interleaved complex floats, row-major;
 * sigma = |A|_2, A v = sigma u, |u| = |v| = 1, u (m) and v (n) interleaved
 * complex doubles (either may be NULL), computed in double (LAPACK zgesvd;
 * the pair is unique up to one common phase when sigma is simple). 0 on
 * success, < 0 out of memory, > 0 no convergence. The reference is power
 * iteration on A^H A in double (tests only: it needs a gap to the second
 * singular value). */
int pt_csvd_top(double *sigma, double *u, double *v, const float *A, size_t m, size_t n);
int pt_csvd_top_ref(double *sigma, double *u, double *v, const float *A, size_t m, size_t n);

/* The spectral radius (largest |eigenvalue|) of a real n x n matrix A
 * (row-major, not changed) by LAPACK's dgeev (eigenvalues only: Hessenberg
 * reduction and the shifted QR algorithm, about 10 n^3 flops), in double.
 * 0 on success, < 0 out of memory, > 0 the QR algorithm did not converge. */
int pt_dgeev_radius(const double *A, size_t n, double *rho);

/* Number of BLAS threads (default 1: the library is measured on one core). */
void pt_linalg_set_threads(int n);

#endif
