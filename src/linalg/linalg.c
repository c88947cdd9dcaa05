/* OpenBLAS and LAPACK behind one wrapper, plus the naive reference kernels
 * the tests use as oracles. Prototypes come from the libraries' own headers:
 * cblas.h (OpenBLAS, which also declares openblas_set_num_threads) and
 * lapacke.h (Debian's liblapacke-dev; the LAPACK routines themselves resolve
 * to OpenBLAS's build of them). */
#include <math.h>
#include <string.h>
#include <cblas.h>
#include <lapacke.h>
#include "linalg/linalg.h"
#include "internal.h"

void pt_linalg_set_threads(int n) { openblas_set_num_threads(n < 1 ? 1 : n); }

void pt_set_threads(int n)
{
    pt_linalg_set_threads(n);
    pt_threads_set(n);
}

void pt_sgemm_nt(float *restrict C, const float *restrict A, const float *restrict B,
                 size_t m, size_t n, size_t k, float alpha, float beta)
{
    if (m == 0 || n == 0) return;
    if (m == 1) { /* one row: sgemm would repack all of B for it (8x slower in perf) */
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)k, alpha, B, (int)k, A, 1, beta, C, 1);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)k, alpha, A,
                (int)k, B, (int)k, beta, C, (int)n);
}

void pt_sgemm_nn(float *restrict C, const float *restrict A, const float *restrict B,
                 size_t m, size_t n, size_t k, float alpha, float beta)
{
    if (m == 0 || n == 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, alpha, A, (int)k, B, (int)n, beta,
                C, (int)n);
}

void pt_sgemm_nn_ref(float *restrict C, const float *restrict A, const float *restrict B,
                     size_t m, size_t n, size_t k, float alpha, float beta)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double acc = 0.0;
            for (size_t l = 0; l < k; l++) acc += (double)A[i * k + l] * (double)B[l * n + j];
            C[i * n + j] = (float)((double)alpha * acc + (beta == 0.0f ? 0.0 : (double)beta * (double)C[i * n + j]));
        }
}

void pt_sgemm_tn(float *restrict C, const float *restrict A, const float *restrict B,
                 size_t m, size_t n, size_t k, float alpha, float beta)
{
    if (m == 0 || n == 0) return;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)n, (int)k, alpha, A, (int)m, B, (int)n, beta,
                C, (int)n);
}

void pt_sgemm_tn_ref(float *restrict C, const float *restrict A, const float *restrict B,
                     size_t m, size_t n, size_t k, float alpha, float beta)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double acc = 0.0;
            for (size_t l = 0; l < k; l++) acc += (double)A[l * m + i] * (double)B[l * n + j];
            C[i * n + j] = (float)((double)alpha * acc + (beta == 0.0f ? 0.0 : (double)beta * (double)C[i * n + j]));
        }
}

void pt_sgemm_nt_ref(float *restrict C, const float *restrict A, const float *restrict B,
                     size_t m, size_t n, size_t k, float alpha, float beta)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double acc = 0.0;
            for (size_t l = 0; l < k; l++) acc += (double)A[i * k + l] * (double)B[j * k + l];
            C[i * n + j] = (float)((double)alpha * acc + (beta == 0.0f ? 0.0 : (double)beta * (double)C[i * n + j]));
        }
}

void pt_cgemm_nc(float *restrict C, const float *restrict A, const float *restrict B, size_t m, size_t n, size_t k)
{
    if (m == 0 || n == 0) return;
    const float one[2] = {1.0f, 0.0f}, zero[2] = {0.0f, 0.0f};
    cblas_cgemm(CblasRowMajor, CblasNoTrans, CblasConjTrans, (int)m, (int)n, (int)k, one, A, (int)k, B, (int)k, zero,
                C, (int)n);
}

void pt_cgemm_nc_ref(float *restrict C, const float *restrict A, const float *restrict B, size_t m, size_t n, size_t k)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double re = 0.0, im = 0.0;
            for (size_t l = 0; l < k; l++) {
                double ar = (double)A[2 * (i * k + l)], ai = (double)A[2 * (i * k + l) + 1];
                double br = (double)B[2 * (j * k + l)], bi = -(double)B[2 * (j * k + l) + 1]; /* conj */
                re += ar * br - ai * bi;
                im += ar * bi + ai * br;
            }
            C[2 * (i * n + j)] = (float)re;
            C[2 * (i * n + j) + 1] = (float)im;
        }
}

void pt_cgemm_nn(float *restrict C, const float *restrict A, const float *restrict B, size_t m, size_t n, size_t k)
{
    if (m == 0 || n == 0) return;
    const float one[2] = {1.0f, 0.0f}, zero[2] = {0.0f, 0.0f};
    cblas_cgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, one, A, (int)k, B, (int)n, zero, C,
                (int)n);
}

void pt_cgemm_nn_ref(float *restrict C, const float *restrict A, const float *restrict B, size_t m, size_t n, size_t k)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double re = 0.0, im = 0.0;
            for (size_t l = 0; l < k; l++) {
                double ar = (double)A[2 * (i * k + l)], ai = (double)A[2 * (i * k + l) + 1];
                double br = (double)B[2 * (l * n + j)], bi = (double)B[2 * (l * n + j) + 1];
                re += ar * br - ai * bi;
                im += ar * bi + ai * br;
            }
            C[2 * (i * n + j)] = (float)re;
            C[2 * (i * n + j) + 1] = (float)im;
        }
}

static CBLAS_TRANSPOSE cblas_op(char op)
{
    return op == 'T' ? CblasTrans : op == 'C' ? CblasConjTrans : CblasNoTrans;
}

void pt_cgemm(float *restrict C, const float *restrict A, const float *restrict B, size_t m, size_t n, size_t k,
              char opa, char opb, float beta)
{
    if (m == 0 || n == 0) return;
    const float one[2] = {1.0f, 0.0f}, b[2] = {beta, 0.0f};
    int lda = opa == 'N' ? (int)k : (int)m, ldb = opb == 'N' ? (int)n : (int)k;
    cblas_cgemm(CblasRowMajor, cblas_op(opa), cblas_op(opb), (int)m, (int)n, (int)k, one, A, lda, B, ldb, b, C, (int)n);
}

/* element (i, j) of op(X) for X stored (rows, cols) row-major: re, im */
static void cget(const float *X, char op, size_t i, size_t j, size_t cols_n, size_t cols_t, double *re, double *im)
{
    size_t at = op == 'N' ? i * cols_n + j : j * cols_t + i;
    *re = (double)X[2 * at];
    *im = op == 'C' ? -(double)X[2 * at + 1] : (double)X[2 * at + 1];
}

void pt_cgemm_ref(float *restrict C, const float *restrict A, const float *restrict B, size_t m, size_t n, size_t k,
                  char opa, char opb, float beta)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double re = 0.0, im = 0.0;
            for (size_t l = 0; l < k; l++) {
                double ar, ai, br, bi;
                cget(A, opa, i, l, k, m, &ar, &ai);
                cget(B, opb, l, j, n, k, &br, &bi);
                re += ar * br - ai * bi;
                im += ar * bi + ai * br;
            }
            float *c = C + 2 * (i * n + j);
            c[0] = (float)(re + (beta == 0.0f ? 0.0 : (double)beta * (double)c[0]));
            c[1] = (float)(im + (beta == 0.0f ? 0.0 : (double)beta * (double)c[1]));
        }
}

float pt_sdot(const float *restrict a, const float *restrict b, size_t n)
{
    return cblas_sdot((int)n, a, 1, b, 1);
}

float pt_sdot_ref(const float *restrict a, const float *restrict b, size_t n)
{
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) acc += (double)a[i] * (double)b[i];
    return (float)acc;
}

void pt_dsyrk_tn(double *restrict S, const double *restrict X, size_t n, size_t k)
{
    if (n == 0) return;
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)n, (int)k, 1.0, X, (int)n, 1.0, S, (int)n);
}

void pt_dgemm_tn(double *restrict C, const double *restrict A, const double *restrict B, size_t m, size_t n, size_t k,
                 double alpha, double beta)
{
    if (m == 0 || n == 0) return;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)n, (int)k, alpha, A, (int)m, B, (int)n, beta, C,
                (int)n);
}

int pt_dposv(double *G, double *H, size_t n, size_t m)
{
    /* Row-major symmetric G equals its column-major transpose, so 'L' in
     * column-major is the row-major upper triangle; H row-major (n, m) is the
     * column-major (m, n) matrix H^T, so we solve with H transposed in place.
     * The _work entry points in column-major order call dpotrf/dpotrs as they
     * are, with no copy or transposition of their own. */
    lapack_int nn = (lapack_int)n, mm = (lapack_int)m;
    lapack_int info = LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', nn, G, nn);
    if (info != 0) return (int)info;
    double *Ht = pt_calloc(n * m, sizeof *Ht);
    if (!Ht) return -1;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) Ht[j * n + i] = H[i * m + j];
    info = LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, 'L', nn, mm, G, nn, Ht, nn);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) H[i * m + j] = Ht[j * n + i];
    free(Ht);
    return (int)info;
}

int pt_dposv1(double *A, double *b, size_t n)
{
    /* A is symmetric, so either storage order is the same matrix; one
     * right-hand side needs no transposition. The _work entry point calls
     * dposv as it is, without allocating. */
    lapack_int nn = (lapack_int)n;
    return (int)LAPACKE_dposv_work(LAPACK_COL_MAJOR, 'L', nn, 1, A, nn, b, nn);
}

int pt_dposv_ref(double *G, double *H, size_t n, size_t m)
{
    /* Textbook Cholesky G = L L^T (lower, row-major), then two triangular solves. */
    for (size_t j = 0; j < n; j++) {
        double d = G[j * n + j];
        for (size_t k = 0; k < j; k++) d -= G[j * n + k] * G[j * n + k];
        if (!(d > 0.0)) return (int)j + 1;
        double ljj = sqrt(d);
        G[j * n + j] = ljj;
        for (size_t i = j + 1; i < n; i++) {
            double s = G[i * n + j];
            for (size_t k = 0; k < j; k++) s -= G[i * n + k] * G[j * n + k];
            G[i * n + j] = s / ljj;
        }
    }
    for (size_t c = 0; c < m; c++) {
        for (size_t i = 0; i < n; i++) {
            double s = H[i * m + c];
            for (size_t k = 0; k < i; k++) s -= G[i * n + k] * H[k * m + c];
            H[i * m + c] = s / G[i * n + i];
        }
        for (size_t i = n; i-- > 0;) {
            double s = H[i * m + c];
            for (size_t k = i + 1; k < n; k++) s -= G[k * n + i] * H[k * m + c];
            H[i * m + c] = s / G[i * n + i];
        }
    }
    return 0;
}

int pt_zheev_top(double *A, size_t n, double *lam, double *v)
{
    lapack_int nn = (lapack_int)n, m = 0, isuppz[2];
    double w[1];
    if (n == 0 || (size_t)nn != n) return -1;
    /* the top eigenvalue only (range 'I', il = iu = n) */
    double *wall = malloc(n * sizeof *wall);
    if (!wall) return -1;
    lapack_int info = LAPACKE_zheevr(LAPACK_ROW_MAJOR, 'V', 'I', 'U', nn, (lapack_complex_double *)A, nn, 0.0, 0.0, nn,
                                     nn, 0.0, &m, wall, (lapack_complex_double *)v, 1, isuppz);
    w[0] = wall[0];
    free(wall);
    if (info == 0 && m != 1) info = -2;
    if (info == 0) *lam = w[0];
    return (int)info;
}

int pt_csvd_top(double *sigma, double *u, double *v, const float *A, size_t m, size_t n)
{
    /* A row-major is copied into a column-major double matrix (no LAPACKE
     * transposition of its own); with jobu = jobvt = 'S' the first column of
     * U is u and the first row of V^H is v^H. */
    size_t mn = m < n ? m : n;
    *sigma = 0.0;
    if (mn == 0) return 0;
    lapack_complex_double *a = pt_calloc(m * n + m * mn + mn * n, sizeof *a);
    double *s = pt_calloc(2 * mn + 1, sizeof *s);
    if (!a || !s) {
        free(a), free(s);
        return -1;
    }
    lapack_complex_double *U = a + m * n, *VT = U + m * mn;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double re = (double)A[2 * (i * n + j)], im = (double)A[2 * (i * n + j) + 1];
            a[j * m + i] = CMPLX(re, im);
        }
    lapack_int info = LAPACKE_zgesvd(LAPACK_COL_MAJOR, 'S', 'S', (lapack_int)m, (lapack_int)n, a, (lapack_int)m, s, U,
                                     (lapack_int)m, VT, (lapack_int)mn, s + mn);
    if (info == 0) {
        *sigma = s[0];
        for (size_t i = 0; u && i < m; i++) u[2 * i] = creal(U[i]), u[2 * i + 1] = cimag(U[i]);
        for (size_t j = 0; v && j < n; j++) v[2 * j] = creal(VT[j * mn]), v[2 * j + 1] = -cimag(VT[j * mn]);
    }
    free(a), free(s);
    return info < 0 ? -1 : (int)info;
}

int pt_csvd_top_ref(double *sigma, double *u, double *v, const float *A, size_t m, size_t n)
{
    /* x <- A^H A x / |A^H A x| from a fixed start, until sigma = |A x| stops
     * changing in its last bits (or 100000 rounds); then u = A x / sigma. */
    *sigma = 0.0;
    if (m == 0 || n == 0) return 0;
    double *x = pt_calloc(2 * n, sizeof *x), *y = pt_calloc(2 * m, sizeof *y);
    if (!x || !y) {
        free(x), free(y);
        return -1;
    }
    for (size_t j = 0; j < n; j++) x[2 * j] = 1.0 + 0.01 * (double)j, x[2 * j + 1] = 0.5 - 0.003 * (double)j;
    double prev = -1.0, sg = 0.0;
    for (int it = 0; it < 100000; it++) {
        double nx = 0.0;
        for (size_t j = 0; j < 2 * n; j++) nx += x[j] * x[j];
        nx = sqrt(nx);
        for (size_t j = 0; j < 2 * n; j++) x[j] /= nx;
        double ny = 0.0;
        for (size_t i = 0; i < m; i++) { /* y = A x */
            double re = 0.0, im = 0.0;
            for (size_t j = 0; j < n; j++) {
                double ar = (double)A[2 * (i * n + j)], ai = (double)A[2 * (i * n + j) + 1];
                re += ar * x[2 * j] - ai * x[2 * j + 1], im += ar * x[2 * j + 1] + ai * x[2 * j];
            }
            y[2 * i] = re, y[2 * i + 1] = im, ny += re * re + im * im;
        }
        sg = sqrt(ny);
        if (fabs(sg - prev) <= 1e-15 * sg) break;
        prev = sg;
        for (size_t j = 0; j < n; j++) { /* x = A^H y */
            double re = 0.0, im = 0.0;
            for (size_t i = 0; i < m; i++) {
                double ar = (double)A[2 * (i * n + j)], ai = (double)A[2 * (i * n + j) + 1];
                re += ar * y[2 * i] + ai * y[2 * i + 1], im += ar * y[2 * i + 1] - ai * y[2 * i];
            }
            x[2 * j] = re, x[2 * j + 1] = im;
        }
    }
    double nx = 0.0;
    for (size_t j = 0; j < 2 * n; j++) nx += x[j] * x[j];
    for (size_t j = 0; j < 2 * n; j++) x[j] /= sqrt(nx);
    *sigma = sg;
    for (size_t i = 0; u && i < 2 * m; i++) u[i] = sg > 0.0 ? y[i] / sg : 0.0;
    for (size_t j = 0; v && j < 2 * n; j++) v[j] = x[j];
    free(x), free(y);
    return 0;
}

int pt_dgeev_radius(const double *A, size_t n, double *rho)
{
    double *a = pt_calloc(n * n + 2 * n, sizeof *a);
    if (!a) return -1;
    memcpy(a, A, n * n * sizeof *a);
    double *wr = a + n * n, *wi = wr + n;
    lapack_int nn = (lapack_int)n;
    /* row-major A is A^T column-major: the same eigenvalues */
    lapack_int info = LAPACKE_dgeev(LAPACK_COL_MAJOR, 'N', 'N', nn, a, nn, wr, wi, NULL, 1, NULL, 1);
    double r = 0.0;
    for (size_t i = 0; info == 0 && i < n; i++) {
        double m = hypot(wr[i], wi[i]);
        if (m > r) r = m;
    }
    free(a);
    if (info != 0) return info < 0 ? -1 : (int)info;
    *rho = r;
    return 0;
}
