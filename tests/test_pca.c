/* PCA: the eigen path against the definition (orthonormal rows, G v = l v,
 * eigenvalues in order and against the spectrum's trace), centring, the
 * orthogonal iteration against the eigen path on data with a spectral gap,
 * determinism, and bad input. */
#include <math.h>
#include <string.h>
#include "check.h"
#include "phasetower/core.h"
#include "phasetower/linalg.h"

enum { D = 12, N = 400 };

/* rows with a known spectrum: x = mu + sum_a sqrt(s_a) g_a e_a (e_a a rotated basis) */
static void make_rows(float *X, const float *mu)
{
    pt_rng r;
    pt_rng_seed(&r, 7);
    float B[D][D];
    for (int i = 0; i < D; i++) /* a random orthonormal basis by Gram-Schmidt */
        for (;;) {
            for (int j = 0; j < D; j++) B[i][j] = pt_rng_normal(&r);
            for (int k = 0; k < i; k++) {
                double dot = 0.0;
                for (int j = 0; j < D; j++) dot += (double)B[i][j] * (double)B[k][j];
                for (int j = 0; j < D; j++) B[i][j] -= (float)dot * B[k][j];
            }
            double ss = 0.0;
            for (int j = 0; j < D; j++) ss += (double)B[i][j] * (double)B[i][j];
            if (ss > 1e-6) {
                for (int j = 0; j < D; j++) B[i][j] /= (float)sqrt(ss);
                break;
            }
        }
    for (int n = 0; n < N; n++)
        for (int j = 0; j < D; j++) {
            double v = (double)mu[j];
            X[n * D + j] = (float)v;
        }
    for (int n = 0; n < N; n++)
        for (int a = 0; a < D; a++) {
            float g = pt_rng_normal(&r) * (float)sqrt(64.0 / (double)(1 << a));
            for (int j = 0; j < D; j++) X[n * D + j] += g * B[a][j];
        }
}

/* the moment matrix (centred or not) in double, straight from the definition */
static void moment(const float *X, int center, double *A)
{
    double mu[D] = {0};
    for (int n = 0; n < N; n++)
        for (int j = 0; j < D; j++) mu[j] += (double)X[n * D + j] / (double)N;
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++) {
            double s = 0.0;
            for (int n = 0; n < N; n++)
                s += ((double)X[n * D + i] - (center ? mu[i] : 0.0)) * ((double)X[n * D + j] - (center ? mu[j] : 0.0));
            A[i * D + j] = s;
        }
}

static void check_eigen(const float *X, int center, size_t R)
{
    pt_pca *p = NULL;
    CHECK(pt_pca_create(D, &p) == PT_OK);
    CHECK(pt_pca_add(p, X, N / 2) == PT_OK && pt_pca_add(p, X + (N / 2) * D, N - N / 2) == PT_OK); /* streamed */
    CHECK(pt_pca_count(p) == N);
    pt_pca_config c = pt_pca_config_default();
    c.center = center;
    float V[D * D], var[D];
    CHECK(pt_pca_fit(p, &c, R, V, var) == PT_OK);
    double A[D * D];
    moment(X, center, A);
    for (size_t a = 0; a < R; a++) {
        for (size_t b = 0; b <= a; b++) {
            double dot = 0.0;
            for (int j = 0; j < D; j++) dot += (double)V[a * D + j] * (double)V[b * D + j];
            CHECK_CLOSE(dot, a == b ? 1.0 : 0.0, 0, 1e-5);
        }
        /* A v = lambda v, lambda = var * N; residual relative to the largest eigenvalue */
        double lam = (double)var[a] * N, res = 0.0;
        for (int i = 0; i < D; i++) {
            double s = 0.0;
            for (int j = 0; j < D; j++) s += A[i * D + j] * (double)V[a * D + j];
            res = fmax(res, fabs(s - lam * (double)V[a * D + i]));
        }
        CHECK(res <= 1e-4 * (double)var[0] * N);
        if (a > 0) CHECK(var[a] <= var[a - 1]);
        size_t big = 0; /* sign convention */
        for (int j = 1; j < D; j++)
            if (fabsf(V[a * D + j]) > fabsf(V[a * D + big])) big = (size_t)j;
        CHECK(V[a * D + big] > 0.0f);
    }
    if (R == D) { /* all of them: the variances add up to the trace */
        double tr = 0.0, sv = 0.0;
        for (int i = 0; i < D; i++) tr += A[i * D + i];
        for (int a = 0; a < D; a++) sv += (double)var[a];
        CHECK_CLOSE(sv * N, tr, 1e-5, 0);
    }
    float V2[D * D];
    CHECK(pt_pca_fit(p, &c, R, V2, NULL) == PT_OK && memcmp(V, V2, R * D * sizeof *V) == 0); /* deterministic */
    pt_pca_destroy(p);
}

int main(void)
{
    float mu[D], X[N * D];
    for (int j = 0; j < D; j++) mu[j] = (float)(j % 3) - 1.0f;
    make_rows(X, mu);
    check_eigen(X, 1, 3);
    check_eigen(X, 1, D);
    check_eigen(X, 0, 4);

    /* centring matters: with a mean far from 0 the raw moment's first direction is the mean's */
    {
        float Y[N * D];
        for (int i = 0; i < N * D; i++) Y[i] = X[i] + 50.0f * (float)(i % D == 2);
        pt_pca *p = NULL;
        CHECK(pt_pca_create(D, &p) == PT_OK && pt_pca_add(p, Y, N) == PT_OK);
        pt_pca_config c = pt_pca_config_default();
        float Vc[D], Vr[D];
        c.center = 0;
        CHECK(pt_pca_fit(p, &c, 1, Vr, NULL) == PT_OK);
        CHECK(fabsf(Vr[2]) > 0.99f);
        c.center = 1;
        CHECK(pt_pca_fit(p, &c, 1, Vc, NULL) == PT_OK);
        CHECK(fabsf(Vc[2]) < 0.9f);
        pt_pca_destroy(p);
    }

    /* orthogonal iteration spans the same top-R space (a gap of 2x between
     * eigenvalues: 60 rounds converge far below float rounding) */
    {
        pt_pca *p = NULL;
        CHECK(pt_pca_create(D, &p) == PT_OK && pt_pca_add(p, X, N) == PT_OK);
        pt_pca_config ce = pt_pca_config_default(), ci = ce;
        ci.method = PT_PCA_ITERATE;
        ci.seed = 3;
        enum { R = 4 };
        float Ve[R * D], Vi[R * D], vi[R], ve[R];
        CHECK(pt_pca_fit(p, &ce, R, Ve, ve) == PT_OK && pt_pca_fit(p, &ci, R, Vi, vi) == PT_OK);
        for (int a = 0; a < R; a++) { /* each iterated row lies in the eigen span: its projection keeps its length */
            double pr = 0.0;
            for (int b = 0; b < R; b++) {
                double dot = 0.0;
                for (int j = 0; j < D; j++) dot += (double)Vi[a * D + j] * (double)Ve[b * D + j];
                pr += dot * dot;
            }
            CHECK_CLOSE(pr, 1.0, 0, 1e-4);
            CHECK_CLOSE(vi[a], ve[a], 1e-3, 0);
        }
        float Vi2[R * D];
        CHECK(pt_pca_fit(p, &ci, R, Vi2, NULL) == PT_OK && memcmp(Vi, Vi2, sizeof Vi) == 0);
        pt_pca_destroy(p);
    }

    /* bad input */
    {
        pt_pca *p = NULL;
        CHECK(pt_pca_create(0, &p) == PT_EINVAL && p == NULL);
        CHECK(pt_pca_create(D, &p) == PT_OK);
        float V[D * D];
        pt_pca_config c = pt_pca_config_default();
        CHECK(pt_pca_fit(p, &c, 2, V, NULL) == PT_EINVAL); /* no rows */
        float bad[D] = {0};
        bad[3] = NAN;
        CHECK(pt_pca_add(p, bad, 1) == PT_EINVAL && pt_pca_count(p) == 0);
        CHECK(strstr(pt_errmsg(), "non-finite") != NULL);
        CHECK(pt_pca_add(p, X, N) == PT_OK);
        CHECK(pt_pca_fit(p, &c, 0, V, NULL) == PT_EINVAL && pt_pca_fit(p, &c, D + 1, V, NULL) == PT_EINVAL);
        c.method = PT_PCA_ITERATE, c.rounds = 0;
        CHECK(pt_pca_fit(p, &c, 2, V, NULL) == PT_EINVAL);
        pt_pca_destroy(p);
        pt_pca_destroy(NULL);
    }
    TEST_END();
}
