/* Ridge readout: the streamed normal equations against a direct solve
 * (naive Cholesky oracle), dense and sparse rows agreeing, the 2x2 blocked
 * layout and the order of a sparse row changing no bit, clearing a group,
 * solving over a subset, and bad input. */
#include <math.h>
#include <string.h>
#include "check.h"
#include "internal.h"
#include "linalg/linalg.h"
#include "phasetower/readout.h"

enum { N = 300, F = 6, M = 3 };

static void data(float *X, float *Y, uint8_t *cls, double sparsity)
{
    pt_rng r;
    pt_rng_seed(&r, 11);
    for (int i = 0; i < N; i++) {
        cls[i] = (uint8_t)(pt_rng_u64(&r) % M);
        for (int j = 0; j < F; j++) X[i * F + j] = (double)pt_rng_uniform(&r) < sparsity ? 0.0f : pt_rng_normal(&r) + 0.3f * (float)(j % M == cls[i]);
        for (int k = 0; k < M; k++) Y[i * M + k] = k == cls[i] ? 1.0f : 0.0f;
    }
}

/* (X^T X + alpha I) W = X^T Y by the textbook Cholesky */
static void direct(const float *X, const float *Y, double alpha, const int *keep, int nk, double *W)
{
    double G[F * F], H[F * M];
    for (int a = 0; a < nk; a++) {
        for (int b = 0; b < nk; b++) {
            double s = 0.0;
            for (int i = 0; i < N; i++) s += (double)X[i * F + keep[a]] * (double)X[i * F + keep[b]];
            G[a * nk + b] = s + (a == b ? alpha : 0.0);
        }
        for (int k = 0; k < M; k++) {
            double s = 0.0;
            for (int i = 0; i < N; i++) s += (double)X[i * F + keep[a]] * (double)Y[i * M + k];
            H[a * M + k] = s;
        }
    }
    CHECK(pt_dposv_ref(G, H, (size_t)nk, M) == 0);
    memcpy(W, H, (size_t)nk * M * sizeof *W);
}

/* sparse rows: the non-zero features of each row of X as a list, in the given order */
static void add_sparse(pt_ridge *r, const float *X, const uint8_t *cls, int group, int reverse)
{
    int grp[F];
    double f[F];
    for (int i = 0; i < N; i++) {
        size_t m = 0;
        for (int g0 = 0; g0 < F / group; g0++) {
            int g = reverse ? F / group - 1 - g0 : g0;
            int nz = 0;
            for (int u = 0; u < group; u++) nz |= X[i * F + g * group + u] != 0.0f;
            if (!nz) continue;
            grp[m] = g;
            for (int u = 0; u < group; u++) f[m * (size_t)group + (size_t)u] = (double)X[i * F + g * group + u];
            m++;
        }
        pt_ridge_add_sparse(r, grp, f, m, cls[i]);
    }
}

int main(void)
{
    float X[N * F], Y[N * M];
    uint8_t cls[N];
    data(X, Y, cls, 0.5);
    int all[F] = {0, 1, 2, 3, 4, 5};
    double Wd[F * M], W[F * M], W2[F * M];
    const double alpha = 0.5;
    direct(X, Y, alpha, all, F, Wd);

    /* dense rows, streamed in two batches */
    pt_ridge *r1 = NULL, *r2 = NULL;
    CHECK(pt_ridge_create(F, 1, M, &r1) == PT_OK && pt_ridge_features(r1) == F && pt_ridge_outputs(r1) == M);
    CHECK(pt_ridge_add(r1, X, Y, 100) == PT_OK && pt_ridge_add(r1, X + 100 * F, Y + 100 * M, N - 100) == PT_OK);
    CHECK(pt_ridge_solve(r1, NULL, 0, alpha, W) == PT_OK);
    for (int i = 0; i < F * M; i++) CHECK_CLOSE(W[i], Wd[i], 1e-9, 1e-12);
    double tr = 0.0;
    for (int i = 0; i < N * F; i++) tr += (double)X[i] * (double)X[i];
    CHECK_CLOSE(pt_ridge_trace(r1, NULL, 0), tr, 1e-12, 0);

    /* the same features in groups of two: not one bit changes */
    CHECK(pt_ridge_create(F / 2, 2, M, &r2) == PT_OK && pt_ridge_features(r2) == F);
    CHECK(pt_ridge_add(r2, X, Y, 100) == PT_OK && pt_ridge_add(r2, X + 100 * F, Y + 100 * M, N - 100) == PT_OK);
    CHECK(pt_ridge_solve(r2, NULL, 0, alpha, W2) == PT_OK && memcmp(W, W2, sizeof W) == 0);
    CHECK(pt_ridge_trace(r2, NULL, 0) == pt_ridge_trace(r1, NULL, 0));
    pt_ridge_destroy(r1), pt_ridge_destroy(r2);

    /* sparse rows with one-hot targets: the same solution; the list's order and
     * the grouping change no bit */
    for (int group = 1; group <= 2; group++) {
        double Ws[F * M], Wr[F * M];
        CHECK(pt_ridge_create((size_t)(F / group), (size_t)group, M, &r1) == PT_OK);
        CHECK(pt_ridge_create((size_t)(F / group), (size_t)group, M, &r2) == PT_OK);
        add_sparse(r1, X, cls, group, 0);
        add_sparse(r2, X, cls, group, 1);
        CHECK(pt_ridge_solve(r1, NULL, 0, alpha, Ws) == PT_OK && pt_ridge_solve(r2, NULL, 0, alpha, Wr) == PT_OK);
        CHECK(memcmp(Ws, Wr, sizeof Ws) == 0);
        for (int i = 0; i < F * M; i++) CHECK_CLOSE(Ws[i], Wd[i], 1e-9, 1e-12);
        if (group == 1) memcpy(W, Ws, sizeof W);
        else CHECK(memcmp(W, Ws, sizeof W) == 0);

        /* a subset of groups in another order: the solve over those features alone */
        int sel[2] = {2 / group, 0};
        int keep[F], nk = 0;
        for (int s = 0; s < 2; s++)
            for (int u = 0; u < group; u++) keep[nk++] = sel[s] * group + u;
        double Wsub[F * M], Wk[F * M];
        CHECK(pt_ridge_solve(r1, sel, 2, alpha, Wsub) == PT_OK);
        direct(X, Y, alpha, keep, nk, Wk);
        for (int i = 0; i < nk * M; i++) CHECK_CLOSE(Wsub[i], Wk[i], 1e-9, 1e-12);
        double trs = 0.0;
        for (int a = 0; a < nk; a++)
            for (int i = 0; i < N; i++) trs += (double)X[i * F + keep[a]] * (double)X[i * F + keep[a]];
        CHECK_CLOSE(pt_ridge_trace(r1, sel, 2), trs, 1e-12, 0);

        /* clearing group 1: its weights vanish, the others are the solve without it */
        pt_ridge_clear(r1, 1);
        CHECK(pt_ridge_solve(r1, NULL, 0, alpha, Ws) == PT_OK);
        int rest[F], nr = 0;
        for (int j = 0; j < F; j++)
            if (j / group != 1) rest[nr++] = j;
        direct(X, Y, alpha, rest, nr, Wk);
        for (int j = 0, a = 0; j < F; j++)
            for (int k = 0; k < M; k++) {
                if (j / group == 1) CHECK(Ws[j * M + k] == 0.0);
                else CHECK_CLOSE(Ws[j * M + k], Wk[a * M + k], 1e-9, 1e-12);
                if (k == M - 1 && j / group != 1) a++;
            }
        pt_ridge_destroy(r1), pt_ridge_destroy(r2);
    }

    /* bad input */
    CHECK(pt_ridge_create(0, 1, M, &r1) == PT_EINVAL && r1 == NULL);
    CHECK(pt_ridge_create(F, 3, M, &r1) == PT_EINVAL);
    CHECK(pt_ridge_create(F, 1, 0, &r1) == PT_EINVAL);
    CHECK(pt_ridge_create(F, 1, M, &r1) == PT_OK);
    CHECK(pt_ridge_solve(r1, NULL, 0, 0.0, W) == PT_ENOCONV); /* nothing added, no ridge: G = 0 */
    CHECK(strstr(pt_errmsg(), "positive definite") != NULL);
    CHECK(pt_ridge_solve(r1, NULL, 0, (double)NAN, W) == PT_EINVAL);
    int badsel[1] = {F};
    CHECK(pt_ridge_solve(r1, badsel, 1, 1.0, W) == PT_EINVAL);
    X[7] = INFINITY;
    CHECK(pt_ridge_add(r1, X, Y, 2) == PT_EINVAL && strstr(pt_errmsg(), "row 1") != NULL);
    CHECK(pt_ridge_trace(r1, NULL, 0) == 0.0); /* nothing was added */
    pt_ridge_destroy(r1);
    pt_ridge_destroy(NULL);
    TEST_END();
}
