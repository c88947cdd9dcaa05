/* The BLAS wrapper against its naive reference kernels: sgemm (A B^T) on odd
 * shapes with and without beta, the dot product, and the Cholesky solve against
 * the textbook one; the top singular triplet against power iteration. */
#include <string.h>
#include "check.h"
#include "internal.h"
#include "linalg/linalg.h"

static void fill(float *v, size_t n, pt_rng *r)
{
    for (size_t i = 0; i < n; i++) v[i] = pt_rng_normal(r);
}

/* (m, n, k) of the products checked, odd shapes included */
static const size_t shapes[][3] = {{1, 1, 1}, {1, 100, 784}, {3, 5, 7}, {17, 33, 65}, {64, 128, 784}, {257, 10, 3}};

/* real sgemm: A B^T with and without beta, A B and A^T B against the references */
static void test_sgemm(pt_rng *r)
{
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        float *A = pt_calloc(m * k, 4), *B = pt_calloc(n * k, 4), *C = pt_calloc(m * n, 4), *R = pt_calloc(m * n, 4);
        fill(A, m * k, r);
        fill(B, n * k, r);
        fill(C, m * n, r);
        memcpy(R, C, m * n * 4);
        pt_sgemm_nt(C, A, B, m, n, k, 0.5f, 0.25f);
        pt_sgemm_nt_ref(R, A, B, m, n, k, 0.5f, 0.25f);
        for (size_t i = 0; i < m * n; i++) CHECK_CLOSE(C[i], R[i], 1e-4, 1e-4 * sqrt((double)k));
        pt_sgemm_nt(C, A, B, m, n, k, 1.0f, 0.0f);
        pt_sgemm_nt_ref(R, A, B, m, n, k, 1.0f, 0.0f);
        for (size_t i = 0; i < m * n; i++) CHECK_CLOSE(C[i], R[i], 1e-4, 1e-4 * sqrt((double)k));
        /* A (m, k) B (k, n), and A^T with A read as (k, m): the same buffers, other shapes */
        memcpy(R, C, m * n * 4);
        pt_sgemm_nn(C, A, B, m, n, k, 0.5f, 0.25f);
        pt_sgemm_nn_ref(R, A, B, m, n, k, 0.5f, 0.25f);
        for (size_t i = 0; i < m * n; i++) CHECK_CLOSE(C[i], R[i], 1e-4, 1e-4 * sqrt((double)k));
        memcpy(R, C, m * n * 4);
        pt_sgemm_tn(C, A, B, m, n, k, 0.5f, 0.25f);
        pt_sgemm_tn_ref(R, A, B, m, n, k, 0.5f, 0.25f);
        for (size_t i = 0; i < m * n; i++) CHECK_CLOSE(C[i], R[i], 1e-4, 1e-4 * sqrt((double)k));
        /* the references by hand on one entry */
        if (m > 1 && n > 1 && k > 1) {
            double e = 0.0;
            for (size_t l = 0; l < k; l++) e += (double)A[1 * k + l] * (double)B[l * n + 1];
            pt_sgemm_nn_ref(R, A, B, m, n, k, 1.0f, 0.0f);
            CHECK_CLOSE(R[1 * n + 1], e, 1e-5, 1e-5);
            e = 0.0;
            for (size_t l = 0; l < k; l++) e += (double)A[l * m + 1] * (double)B[l * n + 1];
            pt_sgemm_tn_ref(R, A, B, m, n, k, 1.0f, 0.0f);
            CHECK_CLOSE(R[1 * n + 1], e, 1e-5, 1e-5);
        }
        free(A), free(B), free(C), free(R);
    }
}

/* complex A B^H and A B against the references */
static void test_cgemm(pt_rng *r)
{
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2] > 300 ? 64 : shapes[s][2];
        float *A = pt_calloc(2 * m * k, 4), *B = pt_calloc(2 * n * k, 4), *C = pt_calloc(2 * m * n, 4),
              *R = pt_calloc(2 * m * n, 4);
        fill(A, 2 * m * k, r);
        fill(B, 2 * n * k, r);
        pt_cgemm_nc(C, A, B, m, n, k);
        pt_cgemm_nc_ref(R, A, B, m, n, k);
        for (size_t i = 0; i < 2 * m * n; i++) CHECK_CLOSE(C[i], R[i], 1e-4, 1e-4 * sqrt((double)k));
        /* A B with B read as (k, n): the same buffer, another matrix */
        pt_cgemm_nn(C, A, B, m, n, k);
        pt_cgemm_nn_ref(R, A, B, m, n, k);
        for (size_t i = 0; i < 2 * m * n; i++) CHECK_CLOSE(C[i], R[i], 1e-4, 1e-4 * sqrt((double)k));
        free(A), free(B), free(C), free(R);
    }
}

/* the general complex product: every pair of operations N, T, C and a real
 * beta that keeps part of C, against the naive reference */
static void test_cgemm_ops(pt_rng *r)
{
    const char ops[3] = {'N', 'T', 'C'};
    size_t m = 7, n = 9, k = 13;
    float *A = pt_calloc(2 * m * k, 4), *B = pt_calloc(2 * n * k, 4), *C = pt_calloc(2 * m * n, 4),
          *R = pt_calloc(2 * m * n, 4), *C0 = pt_calloc(2 * m * n, 4);
    fill(A, 2 * m * k, r), fill(B, 2 * n * k, r), fill(C0, 2 * m * n, r);
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            memcpy(C, C0, 2 * m * n * sizeof *C), memcpy(R, C0, 2 * m * n * sizeof *R);
            pt_cgemm(C, A, B, m, n, k, ops[a], ops[b], 0.5f);
            pt_cgemm_ref(R, A, B, m, n, k, ops[a], ops[b], 0.5f);
            for (size_t i = 0; i < 2 * m * n; i++) CHECK_CLOSE(C[i], R[i], 1e-5, 1e-5);
        }
    free(A), free(B), free(C), free(R), free(C0);
}

/* double X^T X (upper triangle) and A^T B, and the small solver, against loops */
static void test_double(pt_rng *r)
{
    enum { K = 11, N = 5, M = 3 };
    double X[K * N], Y[K * M], S[N * N] = {0}, H[N * M], A[N * N], b[N], x0[N];
    for (int i = 0; i < K * N; i++) X[i] = (double)pt_rng_normal(r);
    for (int i = 0; i < K * M; i++) Y[i] = (double)pt_rng_normal(r);
    for (int i = 0; i < N * M; i++) H[i] = 1.0; /* beta = 1 keeps it */
    pt_dsyrk_tn(S, X, N, K);
    pt_dgemm_tn(H, X, Y, N, M, K, 2.0, 1.0);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) {
            double s = 0.0;
            for (int t = 0; t < K; t++) s += X[t * N + i] * X[t * N + j];
            if (j >= i) CHECK_CLOSE(S[i * N + j], s, 1e-12, 1e-12);
            else CHECK(S[i * N + j] == 0.0); /* the lower triangle is left alone */
            A[i * N + j] = s + (i == j ? 1.0 : 0.0);
        }
        for (int j = 0; j < M; j++) {
            double s = 0.0;
            for (int t = 0; t < K; t++) s += X[t * N + i] * Y[t * M + j];
            CHECK_CLOSE(H[i * M + j], 2.0 * s + 1.0, 1e-12, 1e-12);
        }
    }
    for (int i = 0; i < N; i++) x0[i] = (double)i - 2.0;
    for (int i = 0; i < N; i++) {
        b[i] = 0.0;
        for (int j = 0; j < N; j++) b[i] += A[i * N + j] * x0[j];
    }
    CHECK(pt_dposv1(A, b, N) == 0);
    for (int i = 0; i < N; i++) CHECK_CLOSE(b[i], x0[i], 1e-9, 1e-9);
    double neg[4] = {1.0, 2.0, 2.0, 1.0}, rhs[2] = {1.0, 1.0}; /* eigenvalues 3 and -1 */
    CHECK(pt_dposv1(neg, rhs, 2) > 0);
}

/* complex A B by hand: (1+2i) i + 3 (2-i) = 4 - 2i */
static void test_cgemm_by_hand(void)
{
    const float A[4] = {1, 2, 3, 0}, B[4] = {0, 1, 2, -1};
    float C[2], R[2];
    pt_cgemm_nn(C, A, B, 1, 1, 2);
    pt_cgemm_nn_ref(R, A, B, 1, 1, 2);
    CHECK(C[0] == 4.0f && C[1] == -2.0f && R[0] == 4.0f && R[1] == -2.0f);
}

/* dot product, lengths around the vector widths */
static void test_sdot(pt_rng *r)
{
    for (size_t n = 1; n <= 1000; n = n * 3 + 1) {
        float *a = pt_calloc(n, 4), *b = pt_calloc(n, 4);
        fill(a, n, r);
        fill(b, n, r);
        CHECK_CLOSE(pt_sdot(a, b, n), pt_sdot_ref(a, b, n), 1e-5, 1e-5 * sqrt((double)n));
        free(a), free(b);
    }
}

/* SPD solve: G = M M^T + n I, several right-hand sides */
static void test_dposv(pt_rng *r)
{
    for (size_t n = 1; n <= 40; n += 13) {
        size_t m = 3;
        double *M = pt_calloc(n * n, 8), *G = pt_calloc(n * n, 8), *G2 = pt_calloc(n * n, 8);
        double *H = pt_calloc(n * m, 8), *H2 = pt_calloc(n * m, 8), *H0 = pt_calloc(n * m, 8);
        for (size_t i = 0; i < n * n; i++) M[i] = (double)pt_rng_normal(r);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                double a = i == j ? (double)n : 0.0;
                for (size_t l = 0; l < n; l++) a += M[i * n + l] * M[j * n + l];
                G[i * n + j] = G2[i * n + j] = a;
            }
        for (size_t i = 0; i < n * m; i++) H[i] = H2[i] = H0[i] = (double)pt_rng_normal(r);
        double *Gs = pt_calloc(n * n, 8);
        memcpy(Gs, G, n * n * 8);
        CHECK(pt_dposv(G, H, n, m) == 0);
        CHECK(pt_dposv_ref(G2, H2, n, m) == 0);
        for (size_t i = 0; i < n * m; i++) CHECK_CLOSE(H[i], H2[i], 1e-9, 1e-12);
        /* residual of the original system */
        for (size_t i = 0; i < n; i++)
            for (size_t c = 0; c < m; c++) {
                double a = 0.0;
                for (size_t j = 0; j < n; j++) a += Gs[i * n + j] * H[j * m + c];
                CHECK_CLOSE(a, H0[i * m + c], 1e-9, 1e-9);
            }
        free(M), free(G), free(G2), free(H), free(H2), free(H0), free(Gs);
    }
}

/* not positive definite is reported, not hidden */
static void test_dposv_not_spd(void)
{
    double bad[4] = {1, 2, 2, 1}, rhs[2] = {1, 1};
    CHECK(pt_dposv(bad, rhs, 2, 1) != 0);
}

/* the top singular triplet (LAPACK zgesvd) against power iteration, on
 * square and rectangular matrices: sigma, A v = sigma u, the vectors up to
 * one common phase (|u^H u_ref| = 1) */
static void test_csvd_top(pt_rng *r)
{
    static const size_t dims[][2] = {{1, 1}, {3, 3}, {7, 7}, {5, 3}, {3, 6}, {32, 32}};
    for (size_t s = 0; s < sizeof dims / sizeof dims[0]; s++) {
        size_t m = dims[s][0], n = dims[s][1];
        float *A = pt_calloc(2 * m * n, 4);
        double *u = pt_calloc(2 * m, 8), *v = pt_calloc(2 * n, 8), *ur = pt_calloc(2 * m, 8), *vr = pt_calloc(2 * n, 8);
        fill(A, 2 * m * n, r);
        double sg = 0.0, sr = 0.0;
        CHECK(pt_csvd_top(&sg, u, v, A, m, n) == 0);
        CHECK(pt_csvd_top_ref(&sr, ur, vr, A, m, n) == 0);
        CHECK(sg > 0.0);
        CHECK_CLOSE(sg, sr, 1e-9, 0);
        double res = 0.0, dre = 0.0, dim = 0.0;
        for (size_t i = 0; i < m; i++) { /* |A v - sigma u| */
            double re = 0.0, im = 0.0;
            for (size_t j = 0; j < n; j++) {
                double ar = (double)A[2 * (i * n + j)], ai = (double)A[2 * (i * n + j) + 1];
                re += ar * v[2 * j] - ai * v[2 * j + 1], im += ar * v[2 * j + 1] + ai * v[2 * j];
            }
            res += pow(re - sg * u[2 * i], 2) + pow(im - sg * u[2 * i + 1], 2);
            dre += u[2 * i] * ur[2 * i] + u[2 * i + 1] * ur[2 * i + 1], dim += u[2 * i] * ur[2 * i + 1] - u[2 * i + 1] * ur[2 * i];
        }
        CHECK(sqrt(res) < 1e-9 * sg);
        CHECK_CLOSE(hypot(dre, dim), 1.0, 0, 1e-6);
        free(A), free(u), free(v), free(ur), free(vr);
    }
    double sg = 1.0;
    float Z[8] = {0};
    CHECK(pt_csvd_top(&sg, NULL, NULL, Z, 2, 2) == 0 && sg == 0.0); /* the zero matrix: sigma 0 */
}

int main(void)
{
    pt_rng r;
    pt_rng_seed(&r, 7);
    test_sgemm(&r);
    test_cgemm(&r);
    test_cgemm_by_hand();
    test_sdot(&r);
    test_dposv(&r);
    test_dposv_not_spd();
    test_cgemm_ops(&r);
    test_double(&r);
    test_csvd_top(&r);
    TEST_END();
}
