/* The echo-state network: the eigenvalue routine on matrices with known
 * spectra, W scaled to the asked radius, the ridge readout against the normal
 * equations built naively from the states, a task it must learn, RLS,
 * determinism, bit-identical continuation after save and load, and refusals;
 * the phasor unit: U unitary times the radius, bounded phasors, and the same
 * readout, learning, determinism, save/load and refusal tests. */
#define _POSIX_C_SOURCE 200809L
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "linalg/linalg.h"
#include "phasetower/reservoir.h"
#include "reservoir/esn_internal.h"

#define T 1200

/* a two-channel signal with a target one step ahead */
static void signal(double *u, double *y, size_t n)
{
    for (size_t t = 0; t < n; t++) {
        double a = 0.2 * (double)t, b = 0.2 * (double)(t + 1);
        u[2 * t] = sin(a), u[2 * t + 1] = 0.5 * cos(0.5 * a);
        y[2 * t] = sin(b), y[2 * t + 1] = 0.5 * cos(0.5 * b);
    }
}

static pt_esn_config small(void)
{
    pt_esn_config c = pt_esn_config_default();
    c.units = 60, c.inputs = 2, c.outputs = 2, c.spectral_radius = 0.9, c.leak = 0.5, c.input_connectivity = 0.5;
    c.warmup = 50, c.ridge = 1e-6, c.seed = 7;
    return c;
}

/* the phasor reservoir of the same state size (30 complex units = 60 features) */
static pt_esn_config small_phasor(void)
{
    pt_esn_config c = small();
    c.unit = PT_ESN_PHASOR, c.units = 30;
    return c;
}

static void test_eigen(void)
{
    double rot[4] = {0, 2, -2, 0}, tri[9] = {3, 1, 7, 0, -5, 2, 0, 0, 1}, rho = 0;
    CHECK(pt_dgeev_radius(rot, 2, &rho) == 0);
    CHECK_CLOSE(rho, 2.0, 1e-14, 0);
    CHECK(pt_dgeev_radius(tri, 3, &rho) == 0);
    CHECK_CLOSE(rho, 5.0, 1e-14, 0);
    CHECK(rot[1] == 2.0); /* A is left alone */
}

static void test_config(void)
{
    pt_esn_config c = pt_esn_config_default();
    CHECK(pt_esn_config_check(&c) == PT_OK);
    c.units = 0;
    CHECK(pt_esn_config_check(&c) == PT_EINVAL && strstr(pt_errmsg(), "esn.units"));
    c = pt_esn_config_default(), c.spectral_radius = 0.0;
    CHECK(pt_esn_config_check(&c) == PT_EINVAL && strstr(pt_errmsg(), "esn.spectral_radius"));
    c = pt_esn_config_default(), c.spectral_radius = -1.0;
    CHECK(pt_esn_config_check(&c) == PT_EINVAL);
    c = pt_esn_config_default(), c.leak = 1.5;
    CHECK(pt_esn_config_check(&c) == PT_EINVAL && strstr(pt_errmsg(), "esn.leak"));
    c = pt_esn_config_default(), c.connectivity = 0.0;
    CHECK(pt_esn_config_check(&c) == PT_EINVAL && strstr(pt_errmsg(), "esn.connectivity"));
    pt_esn *m = NULL;
    c = pt_esn_config_default(), c.units = 0;
    CHECK(pt_esn_create(&c, &m) == PT_EINVAL && m == NULL);
    pt_esn_readout_fit r;
    CHECK(pt_esn_readout_parse("rls", &r) == PT_OK && r == PT_ESN_RLS);
    CHECK(pt_esn_readout_parse("lasso", &r) == PT_EINVAL);
    /* the phasor unit: the same checks, and its own limit and name */
    pt_esn_unit un;
    CHECK(pt_esn_unit_parse("phasor", &un) == PT_OK && un == PT_ESN_PHASOR);
    CHECK(pt_esn_unit_parse("sigmoid", &un) == PT_EINVAL && strstr(pt_errmsg(), "esn.unit"));
    c = small_phasor();
    CHECK(pt_esn_config_check(&c) == PT_OK);
    c.units = 0;
    CHECK(pt_esn_config_check(&c) == PT_EINVAL && strstr(pt_errmsg(), "esn.units"));
    c = small_phasor(), c.units = PT_ESN_MAX_PHASOR_UNITS + 1;
    CHECK(pt_esn_config_check(&c) == PT_EINVAL && strstr(pt_errmsg(), "phasor"));
    c = small_phasor(), c.spectral_radius = 0.0;
    CHECK(pt_esn_create(&c, &m) == PT_EINVAL && m == NULL && strstr(pt_errmsg(), "esn.spectral_radius"));
    c = small_phasor(), c.spectral_radius = -0.5;
    CHECK(pt_esn_config_check(&c) == PT_EINVAL && strstr(pt_errmsg(), "esn.spectral_radius"));
    c = small_phasor(), c.leak = 0.0;
    CHECK(pt_esn_config_check(&c) == PT_EINVAL && strstr(pt_errmsg(), "esn.leak"));
    c = small_phasor(), c.leak = 1.0 + 1e-12;
    CHECK(pt_esn_config_check(&c) == PT_EINVAL && strstr(pt_errmsg(), "esn.leak"));
    c = small_phasor(), c.unit = (pt_esn_unit)7;
    CHECK(pt_esn_config_check(&c) == PT_EINVAL && strstr(pt_errmsg(), "esn.unit"));
}

/* W = rho U with U unitary: W W^H = rho^2 I from the CSR arrays (every
 * eigenvalue of a normal matrix with that property has modulus rho); W_in's
 * entries 0 or of modulus input_scaling; the state's phasors stay inside the
 * unit disc however large the input */
static void test_phasor(void)
{
    pt_esn_config c = small_phasor();
    c.spectral_radius = 1.3, c.input_scaling = 2.5, c.bias_scaling = 0.5;
    pt_esn *m = NULL;
    CHECK(pt_esn_create(&c, &m) == PT_OK);
    if (!m) return;
    size_t N = 30;
    CHECK(pt_esn_features(m) == 2 * N && pt_esn_nnz(m) == N * N && pt_esn_raw_radius(m) == 1.0);
    double complex *W = calloc(N * N, sizeof *W);
    for (size_t i = 0; i < N; i++)
        for (int32_t k = m->row[i]; k < m->row[i + 1]; k++)
            W[i * N + (size_t)m->col[k]] = CMPLX(m->val[2 * k], m->val[2 * k + 1]);
    double worst = 0;
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            double complex g = 0;
            for (size_t k = 0; k < N; k++) g += W[i * N + k] * conj(W[j * N + k]);
            worst = fmax(worst, cabs(g - (i == j ? 1.69 : 0.0)));
        }
    CHECK(worst < 1e-12);
    /* and not trivially: W is dense and not diagonal */
    CHECK(cabs(W[1]) > 1e-3 && cabs(W[N]) > 1e-3);
    size_t present = 0;
    for (size_t i = 0; i < N * 2; i++) {
        double a = hypot(m->win[2 * i], m->win[2 * i + 1]);
        CHECK(a == 0.0 || fabs(a - 2.5) < 1e-12);
        present += a != 0.0;
    }
    CHECK(present > 0);
    for (size_t i = 0; i < N; i++) CHECK(fabs(hypot(m->bias[2 * i], m->bias[2 * i + 1]) - 0.5) < 1e-12);
    double u[2 * 200];
    for (size_t t = 0; t < 400; t++) u[t] = 50.0 * sin(0.37 * (double)t);
    CHECK(pt_esn_run(m, u, 200, NULL) == PT_OK);
    double biggest = 0;
    for (size_t i = 0; i < N; i++) biggest = fmax(biggest, hypot(pt_esn_state(m)[2 * i], pt_esn_state(m)[2 * i + 1]));
    CHECK(biggest < 1.0 && biggest > 0.5);
    free(W);
    pt_esn_destroy(m);
}

/* W's radius after scaling, from its CSR arrays */
static void test_radius(void)
{
    pt_esn_config c = small();
    pt_esn *m = NULL;
    CHECK(pt_esn_create(&c, &m) == PT_OK);
    if (!m) return;
    size_t N = (size_t)c.units;
    double *A = calloc(N * N, sizeof *A), rho = 0;
    for (size_t i = 0; i < N; i++)
        for (int32_t k = m->row[i]; k < m->row[i + 1]; k++) A[i * N + (size_t)m->col[k]] = m->val[k];
    CHECK(pt_dgeev_radius(A, N, &rho) == 0);
    CHECK_CLOSE(rho, 0.9, 1e-12, 0);
    CHECK(pt_esn_raw_radius(m) > 0.0);
    /* about connectivity N^2 entries, W_in +-1 only */
    CHECK(pt_esn_nnz(m) > N * N / 20 && pt_esn_nnz(m) < N * N / 5);
    for (size_t i = 0; i < N * 2; i++) CHECK(m->win[i] == 0.0 || fabs(m->win[i]) == 1.0);
    free(A);
    pt_esn_destroy(m);
}

/* the ridge readout solves (X^T X + ridge I) W = X^T Y over the states after warm-up */
static void test_ridge(pt_esn_config c, const double *u, const double *y)
{
    pt_esn *m = NULL, *m2 = NULL;
    CHECK(pt_esn_create(&c, &m) == PT_OK && pt_esn_create(&c, &m2) == PT_OK);
    if (!m || !m2) return;
    CHECK(pt_esn_fit(m, u, y, 1000, NULL, NULL) == PT_OK);
    CHECK(pt_esn_fitted(m) && !pt_esn_fitted(m2));
    size_t N = pt_esn_features(m), M = 2, w = 50;
    CHECK(N == 60);
    double *X = calloc(1000 * N, sizeof *X);
    CHECK(pt_esn_run(m2, u, 1000, X) == PT_OK);
    CHECK(memcmp(pt_esn_state(m), pt_esn_state(m2), N * sizeof(double)) == 0);
    const double *W = pt_esn_readout(m);
    double worst = 0, scale = 0;
    for (size_t i = 0; i < N; i++)
        for (size_t o = 0; o < M; o++) {
            double g = 1e-6 * W[i * M + o], h = 0;
            for (size_t t = w; t < 1000; t++) {
                double xw = 0;
                for (size_t j = 0; j < N; j++) xw += X[t * N + j] * W[j * M + o];
                g += X[t * N + i] * xw;
                h += X[t * N + i] * y[t * M + o];
            }
            worst = fmax(worst, fabs(g - h)), scale = fmax(scale, fabs(h));
        }
    CHECK(scale > 1.0);
    CHECK(worst <= 1e-6 * scale);
    /* it has learned the task: one step ahead on the next 200 steps */
    double p[200 * 2], nr = 1, ns = 1;
    size_t valid = 0;
    CHECK(pt_esn_predict(m, u + 1000 * 2, 200, p) == PT_OK);
    pt_esn_scores(p, y + 1000 * 2, 200, 2, 0.05, &nr, &ns, &valid);
    CHECK(ns < 1e-2 && nr < 1e-2 && valid == 200);
    free(X);
    pt_esn_destroy(m), pt_esn_destroy(m2);
}

static void test_rls(const double *u, const double *y)
{
    pt_esn_config c = small();
    c.readout = PT_ESN_RLS, c.rls_delta = 1e-3;
    pt_esn *m = NULL;
    CHECK(pt_esn_create(&c, &m) == PT_OK);
    if (!m) return;
    CHECK(pt_esn_fit(m, u, y, 1000, NULL, NULL) == PT_OK);
    double p[200 * 2], ns = 1;
    CHECK(pt_esn_predict(m, u + 1000 * 2, 200, p) == PT_OK);
    pt_esn_scores(p, y + 1000 * 2, 200, 2, 0.05, NULL, &ns, NULL);
    CHECK(ns < 5e-2);
    pt_esn_destroy(m);
}

/* same seed and data: same bits; another seed: other bits; save, load, and
 * both continue generating the same bits */
static void test_determinism_and_io(pt_esn_config c, const double *u, const double *y)
{
    pt_esn *a = NULL, *b = NULL, *d = NULL;
    CHECK(pt_esn_create(&c, &a) == PT_OK && pt_esn_create(&c, &b) == PT_OK);
    c.seed++;
    CHECK(pt_esn_create(&c, &d) == PT_OK);
    if (!a || !b || !d) return;
    CHECK(pt_esn_fit(a, u, y, 1000, NULL, NULL) == PT_OK && pt_esn_fit(b, u, y, 1000, NULL, NULL) == PT_OK &&
          pt_esn_fit(d, u, y, 1000, NULL, NULL) == PT_OK);
    double ga[100 * 2], gb[100 * 2], gd[100 * 2];
    CHECK(pt_esn_predict(a, u + 1000 * 2, 100, ga) == PT_OK && pt_esn_predict(b, u + 1000 * 2, 100, gb) == PT_OK &&
          pt_esn_predict(d, u + 1000 * 2, 100, gd) == PT_OK);
    CHECK(memcmp(ga, gb, sizeof ga) == 0);
    CHECK(memcmp(ga, gd, sizeof ga) != 0);
    char path[] = "/tmp/pt_test_esn_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK(pt_esn_save(a, path) == PT_OK);
    pt_esn *l = NULL;
    CHECK(pt_esn_load(path, &l) == PT_OK);
    if (l) {
        CHECK(pt_esn_steps(l) == pt_esn_steps(a) && pt_esn_steps(a) == 1100);
        CHECK(memcmp(pt_esn_state(l), pt_esn_state(a), 60 * sizeof(double)) == 0);
        size_t na = 0, nl = 0;
        CHECK(pt_esn_generate(a, u + 1100 * 2, 100, ga, &na) == PT_OK);
        CHECK(pt_esn_generate(l, u + 1100 * 2, 100, gb, &nl) == PT_OK);
        CHECK(na == 100 && nl == 100);
        CHECK(memcmp(ga, gb, sizeof ga) == 0);
        /* and the loop follows the signal for a while */
        double ns = 1;
        size_t valid = 0;
        pt_esn_scores(ga, y + 1100 * 2, 100, 2, 0.1, NULL, &ns, &valid);
        CHECK(valid >= 20);
        pt_esn_destroy(l);
    }
    /* a damaged checkpoint: an out-of-range column is refused */
    int32_t keep = a->col[0];
    a->col[0] = 1000;
    CHECK(pt_esn_save(a, path) == PT_OK);
    CHECK(pt_esn_load(path, &l) == PT_EFORMAT && l == NULL && strstr(pt_errmsg(), "esn.w_col"));
    a->col[0] = keep;
    /* a file whose unit and tensors disagree: refused by shape */
    pt_esn_unit was = a->c.unit;
    a->c.unit = was == PT_ESN_PHASOR ? PT_ESN_TANH : PT_ESN_PHASOR;
    CHECK(pt_esn_save(a, path) == PT_OK);
    a->c.unit = was;
    CHECK(pt_esn_load(path, &l) == PT_EFORMAT && l == NULL && strstr(pt_errmsg(), "esn."));
    unlink(path);
    pt_esn_destroy(a), pt_esn_destroy(b), pt_esn_destroy(d);
}

static void test_refusals(pt_esn_config c, double *u, const double *y)
{
    pt_esn *m = NULL;
    CHECK(pt_esn_create(&c, &m) == PT_OK);
    if (!m) return;
    CHECK(pt_esn_fit(m, u, y, 50, NULL, NULL) == PT_EINVAL && strstr(pt_errmsg(), "esn.warmup"));
    double keep = u[2 * 10 + 1];
    u[2 * 10 + 1] = (double)NAN;
    CHECK(pt_esn_fit(m, u, y, 100, NULL, NULL) == PT_EINVAL && strstr(pt_errmsg(), "step 10, channel 1"));
    CHECK(pt_esn_run(m, u, 100, NULL) == PT_EINVAL);
    u[2 * 10 + 1] = keep;
    CHECK(pt_esn_steps(m) == 0);
    pt_esn_destroy(m);
    c.outputs = 1;
    CHECK(pt_esn_create(&c, &m) == PT_OK);
    double g[4];
    if (m) CHECK(pt_esn_generate(m, u, 2, g, NULL) == PT_EINVAL && strstr(pt_errmsg(), "esn.outputs"));
    pt_esn_destroy(m);
}

static void test_scores(void)
{
    double p[4] = {1, 2, 3, 5}, t[4] = {1, 2, 4, 4}, nr = 0, ns = 0;
    size_t v = 9;
    pt_esn_scores(p, t, 4, 1, 0.5, &nr, &ns, &v);
    CHECK(v == 2);
    CHECK_CLOSE(nr, sqrt(0.5) / 3.0, 1e-14, 0);
    CHECK_CLOSE(ns, sqrt(0.5 / 1.6875), 1e-14, 0); /* var of 1,2,4,4: mean 2.75, 6.75 / 4 */
}

int main(void)
{
    double *u = calloc(T * 2, sizeof *u), *y = calloc(T * 2, sizeof *y);
    signal(u, y, T);
    test_eigen();
    test_config();
    test_radius();
    test_phasor();
    test_ridge(small(), u, y);
    test_ridge(small_phasor(), u, y);
    test_rls(u, y);
    test_determinism_and_io(small(), u, y);
    test_determinism_and_io(small_phasor(), u, y);
    test_refusals(small(), u, y);
    test_refusals(small_phasor(), u, y);
    test_scores();
    free(u), free(y);
    TEST_END();
}
