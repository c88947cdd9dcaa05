/* Recursive least squares: with no forgetting it equals the ridge readout
 * with alpha = delta, with forgetting the exponentially weighted ridge
 * solution, and it tracks a target that changes better than without;
 * predict = W^T x; non-finite input and a non-finite update leave the state
 * unchanged; bad configurations. */
#include <math.h>
#include <string.h>
#include "check.h"
#include "linalg/linalg.h"
#include "phasetower/readout.h"

enum { F = 8, M = 3, NS = 400 };

/* rows x (F) ~ N(0, 1) with y = x^T Wt + 0.1 noise, Wt (F, M) */
static void sample(pt_rng *r, const double *Wt, float *x, float *y)
{
    for (int i = 0; i < F; i++) x[i] = pt_rng_normal(r);
    for (int j = 0; j < M; j++) {
        double s = 0.1 * (double)pt_rng_normal(r);
        for (int i = 0; i < F; i++) s += (double)x[i] * Wt[i * M + j];
        y[j] = (float)s;
    }
}

static void random_w(pt_rng *r, double *W)
{
    for (int i = 0; i < F * M; i++) W[i] = (double)pt_rng_normal(r);
}

static double max_rel(const double *a, const double *b, int n)
{
    double e = 0.0, s = 0.0;
    for (int i = 0; i < n; i++) e = fmax(e, fabs(a[i] - b[i])), s = fmax(s, fabs(b[i]));
    return e / s;
}

/* W = (forget^t delta I + sum_i forget^(t-i) x_i x_i^T)^-1 sum_i forget^(t-i) x_i y_i^T, in double */
static void weighted_ridge(const float *X, const float *Y, int t, double delta, double forget, double *W)
{
    double G[F * F] = {0}, H[F * M] = {0};
    for (int s = 0; s < t; s++) {
        double w = pow(forget, (double)(t - 1 - s));
        for (int a = 0; a < F; a++) {
            for (int b = 0; b < F; b++) G[a * F + b] += w * (double)X[s * F + a] * (double)X[s * F + b];
            for (int k = 0; k < M; k++) H[a * M + k] += w * (double)X[s * F + a] * (double)Y[s * M + k];
        }
    }
    for (int a = 0; a < F; a++) G[a * F + a] += pow(forget, (double)t) * delta;
    CHECK(pt_dposv_ref(G, H, F, M) == 0);
    memcpy(W, H, sizeof H);
}

static void equals_ridge(void)
{
    static float X[NS * F], Y[NS * M];
    pt_rng r;
    pt_rng_seed(&r, 21);
    double Wt[F * M];
    random_w(&r, Wt);
    for (int s = 0; s < NS; s++) sample(&r, Wt, X + s * F, Y + s * M);

    pt_rls_config d = pt_rls_config_default();
    CHECK(d.delta == 1.0 && d.forget == 1.0);
    for (int variant = 0; variant < 2; variant++) {
        pt_rls_config c = d;
        c.delta = variant ? 1e-3 : 0.5;
        pt_rls *q = NULL;
        CHECK(pt_rls_create(&c, F, M, &q) == PT_OK && pt_rls_samples(q) == 0);
        for (int i = 0; i < F * M; i++) CHECK(pt_rls_weights(q)[i] == 0.0);
        pt_ridge *rr = NULL;
        CHECK(pt_ridge_create(F, 1, M, &rr) == PT_OK);
        double Wr[F * M];
        for (int s = 0; s < NS; s++) {
            CHECK(pt_rls_update(q, X + s * F, Y + s * M) == PT_OK);
            /* early (fewer samples than features: the ridge term decides) and at the end */
            if (s == 4 || s == NS - 1) {
                CHECK(pt_ridge_add(rr, X, Y, (size_t)s + 1) == PT_OK);
                CHECK(pt_ridge_solve(rr, NULL, 0, c.delta, Wr) == PT_OK);
                CHECK(max_rel(pt_rls_weights(q), Wr, F * M) < 1e-9);
                pt_ridge_destroy(rr);
                CHECK(pt_ridge_create(F, 1, M, &rr) == PT_OK);
            }
        }
        CHECK(pt_rls_samples(q) == NS);
        /* and it found the generating weights */
        CHECK(max_rel(pt_rls_weights(q), Wt, F * M) < 0.05);

        /* predict = W^T x */
        float x[F], y[M], yp[M];
        sample(&r, Wt, x, y);
        pt_rls_predict(q, x, yp);
        const double *W = pt_rls_weights(q);
        for (int j = 0; j < M; j++) {
            double s = 0.0;
            for (int i = 0; i < F; i++) s += W[i * M + j] * (double)x[i];
            CHECK_CLOSE(yp[j], s, 1e-6, 1e-6);
            CHECK_CLOSE(yp[j], y[j], 0.0, 0.5); /* and close to the target (noise 0.1) */
        }
        pt_rls_destroy(q);
        pt_ridge_destroy(rr);
    }

    /* with forgetting: the exponentially weighted ridge solution */
    pt_rls_config c = d;
    c.delta = 0.5, c.forget = 0.97;
    pt_rls *q = NULL;
    CHECK(pt_rls_create(&c, F, M, &q) == PT_OK);
    double Wf[F * M];
    for (int s = 0; s < NS; s++) CHECK(pt_rls_update(q, X + s * F, Y + s * M) == PT_OK);
    weighted_ridge(X, Y, NS, c.delta, c.forget, Wf);
    CHECK(max_rel(pt_rls_weights(q), Wf, F * M) < 1e-9);
    /* and it is not the unweighted one */
    weighted_ridge(X, Y, NS, c.delta, 1.0, Wf);
    CHECK(max_rel(pt_rls_weights(q), Wf, F * M) > 1e-4);
    pt_rls_destroy(q);
}

static void tracking(void)
{
    pt_rng r;
    pt_rng_seed(&r, 33);
    double W1[F * M], W2[F * M];
    random_w(&r, W1);
    random_w(&r, W2);
    pt_rls_config c = pt_rls_config_default();
    pt_rls *fixed = NULL, *forget = NULL;
    CHECK(pt_rls_create(&c, F, M, &fixed) == PT_OK);
    c.forget = 0.98;
    CHECK(pt_rls_create(&c, F, M, &forget) == PT_OK);
    float x[F], y[M];
    for (int s = 0; s < 2 * NS; s++) {
        sample(&r, s < NS ? W1 : W2, x, y);
        CHECK(pt_rls_update(fixed, x, y) == PT_OK && pt_rls_update(forget, x, y) == PT_OK);
    }
    /* forget = 1 sits between the two targets; 0.98 remembers ~50 samples: W2 */
    double ef = max_rel(pt_rls_weights(fixed), W2, F * M), eg = max_rel(pt_rls_weights(forget), W2, F * M);
    CHECK(ef > 0.2);
    CHECK(eg < 0.1);
    CHECK(eg < 0.2 * ef);
    /* and so does its prediction error on fresh samples of the new target */
    double sf = 0.0, sg = 0.0;
    float yf[M], yg[M];
    for (int s = 0; s < 100; s++) {
        sample(&r, W2, x, y);
        pt_rls_predict(fixed, x, yf);
        pt_rls_predict(forget, x, yg);
        for (int j = 0; j < M; j++) {
            sf += ((double)yf[j] - (double)y[j]) * ((double)yf[j] - (double)y[j]);
            sg += ((double)yg[j] - (double)y[j]) * ((double)yg[j] - (double)y[j]);
        }
    }
    CHECK(sg < 0.2 * sf);
    pt_rls_destroy(fixed), pt_rls_destroy(forget);
}

static void bad_input(void)
{
    pt_rng r;
    pt_rng_seed(&r, 44);
    double Wt[F * M], W0[F * M];
    random_w(&r, Wt);
    pt_rls_config c = pt_rls_config_default();
    pt_rls *a = NULL, *b = NULL;
    CHECK(pt_rls_create(&c, F, M, &a) == PT_OK && pt_rls_create(&c, F, M, &b) == PT_OK);
    float x[F], y[M];
    for (int s = 0; s < 10; s++) {
        sample(&r, Wt, x, y);
        CHECK(pt_rls_update(a, x, y) == PT_OK && pt_rls_update(b, x, y) == PT_OK);
    }
    memcpy(W0, pt_rls_weights(a), sizeof W0);
    /* a NaN feature or target: PT_EINVAL naming it, nothing changes */
    sample(&r, Wt, x, y);
    float xb[F], yb[M];
    memcpy(xb, x, sizeof x), memcpy(yb, y, sizeof y);
    xb[3] = NAN;
    CHECK(pt_rls_update(a, xb, y) == PT_EINVAL && strstr(pt_errmsg(), "feature 3") != NULL);
    yb[1] = INFINITY;
    CHECK(pt_rls_update(a, x, yb) == PT_EINVAL && strstr(pt_errmsg(), "output 1") != NULL);
    CHECK(pt_rls_samples(a) == 10 && memcmp(pt_rls_weights(a), W0, sizeof W0) == 0);
    /* the rejected samples left P alone too: the next update matches the twin bit for bit */
    CHECK(pt_rls_update(a, x, y) == PT_OK && pt_rls_update(b, x, y) == PT_OK);
    CHECK(memcmp(pt_rls_weights(a), pt_rls_weights(b), sizeof W0) == 0);
    pt_rls_destroy(a), pt_rls_destroy(b);

    /* an update that overflows: P = I / 1e-300 and a feature of 1e30 make
     * x^T P x infinite; PT_ENOCONV and the state as it was */
    c.delta = 1e-300;
    CHECK(pt_rls_create(&c, F, M, &a) == PT_OK && pt_rls_create(&c, F, M, &b) == PT_OK);
    sample(&r, Wt, x, y);
    CHECK(pt_rls_update(a, x, y) == PT_OK && pt_rls_update(b, x, y) == PT_OK);
    memcpy(W0, pt_rls_weights(a), sizeof W0);
    memcpy(xb, x, sizeof x);
    xb[0] = 1e30f;
    CHECK(pt_rls_update(a, xb, y) == PT_ENOCONV && strstr(pt_errmsg(), "unchanged") != NULL);
    CHECK(pt_rls_samples(a) == 1 && memcmp(pt_rls_weights(a), W0, sizeof W0) == 0);
    sample(&r, Wt, x, y);
    CHECK(pt_rls_update(a, x, y) == PT_OK && pt_rls_update(b, x, y) == PT_OK);
    CHECK(memcmp(pt_rls_weights(a), pt_rls_weights(b), sizeof W0) == 0);
    pt_rls_destroy(a), pt_rls_destroy(b);

    /* x^T P x finite but (P - k x^T P) / lambda overflowing (P = 1e10 I,
     * lambda = 1e-300): caught before anything is written */
    c.delta = 1e-10, c.forget = 1e-300;
    CHECK(pt_rls_create(&c, F, M, &a) == PT_OK);
    CHECK(pt_rls_update(a, x, y) == PT_ENOCONV && strstr(pt_errmsg(), "turned non-finite") != NULL);
    CHECK(pt_rls_samples(a) == 0);
    for (int i = 0; i < F * M; i++) CHECK(pt_rls_weights(a)[i] == 0.0);
    pt_rls_destroy(a);

    /* bad configurations and sizes */
    const double bad_delta[] = {0.0, -1.0, (double)NAN, (double)INFINITY};
    for (int i = 0; i < 4; i++) {
        c = pt_rls_config_default();
        c.delta = bad_delta[i];
        CHECK(pt_rls_create(&c, F, M, &a) == PT_EINVAL && a == NULL && strstr(pt_errmsg(), "delta") != NULL);
    }
    const double bad_forget[] = {0.0, -0.5, 1.5, (double)NAN};
    for (int i = 0; i < 4; i++) {
        c = pt_rls_config_default();
        c.forget = bad_forget[i];
        CHECK(pt_rls_create(&c, F, M, &a) == PT_EINVAL && a == NULL && strstr(pt_errmsg(), "forget") != NULL);
    }
    c = pt_rls_config_default();
    CHECK(pt_rls_create(&c, 0, M, &a) == PT_EINVAL && a == NULL);
    CHECK(pt_rls_create(&c, F, 0, &a) == PT_EINVAL && a == NULL);
    pt_rls_destroy(NULL);
}

int main(void)
{
    equals_ridge();
    tracking();
    bad_input();
    TEST_END();
}
