/* Fixed-point solvers: linear contractions with a known fixed point (fast and
 * slow, real and complex interleaved) for both methods, Anderson needing far
 * fewer evaluations than naive iteration on the slow one, maps without a
 * fixed point or turning NaN (PT_ENOCONV), f's own failure passed through,
 * the residual history, bit-identical repeats, and bad configurations. */
#include <math.h>
#include <string.h>
#include "check.h"
#include "phasetower/solve.h"

enum { N = 24, NC = 12 };

/* z -> A z + b with A = Q diag(lam) Q, Q = I - 2 u u^T / u^T u (symmetric
 * orthogonal), so the spectral radius is max |lam| and the fixed point is
 * z* = (I - A)^-1 b; b is built from a chosen z*. */
typedef struct lin {
    double A[N * N], b[N], zstar[N];
    int calls;
} lin;

static void lin_make(lin *L, pt_rng *r, double lo, double hi)
{
    double u[N], uu = 0.0, lam[N];
    for (int i = 0; i < N; i++) {
        u[i] = (double)pt_rng_normal(r);
        uu += u[i] * u[i];
        lam[i] = lo + (hi - lo) * (double)i / (N - 1);
        L->zstar[i] = (double)pt_rng_normal(r);
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double s = 0.0;
            for (int k = 0; k < N; k++) {
                double qik = (i == k) - 2.0 * u[i] * u[k] / uu, qkj = (k == j) - 2.0 * u[k] * u[j] / uu;
                s += qik * lam[k] * qkj;
            }
            L->A[i * N + j] = s;
        }
    for (int i = 0; i < N; i++) {
        double s = L->zstar[i];
        for (int j = 0; j < N; j++) s -= L->A[i * N + j] * L->zstar[j];
        L->b[i] = s;
    }
    L->calls = 0;
}

static pt_status lin_f(void *user, const float *z, float *fz)
{
    lin *L = user;
    L->calls++;
    for (int i = 0; i < N; i++) {
        double s = L->b[i];
        for (int j = 0; j < N; j++) s += L->A[i * N + j] * (double)z[j];
        fz[i] = (float)s;
    }
    return PT_OK;
}

/* max_i |z_i - z*_i| / max_i |z*_i| */
static double lin_err(const lin *L, const float *z)
{
    double e = 0.0, s = 0.0;
    for (int i = 0; i < N; i++) {
        e = fmax(e, fabs((double)z[i] - L->zstar[i]));
        s = fmax(s, fabs(L->zstar[i]));
    }
    return e / s;
}

static pt_status solve(pt_fixpoint_config c, pt_fixpoint_fn f, void *user, float *z, size_t n, pt_fixpoint_info *info)
{
    pt_fixpoint *s = NULL;
    pt_status st = pt_fixpoint_create(&c, n, &s);
    CHECK(st == PT_OK);
    if (st) return st;
    st = pt_fixpoint_solve(s, f, user, z, info);
    pt_fixpoint_destroy(s);
    return st;
}

static void linear(void)
{
    pt_rng r;
    pt_rng_seed(&r, 3);
    static lin L;
    static double hist[5000];
    /* a fast contraction (spectral radius 0.5): both methods, damped or not */
    lin_make(&L, &r, -0.5, 0.5);
    for (int method = 0; method < 2; method++)
        for (int damp = 0; damp < 2; damp++) {
            pt_fixpoint_config c = pt_fixpoint_config_default();
            c.method = (pt_fixpoint_method)method;
            c.tol = 1e-6;
            c.damping = damp ? 0.7f : 1.0f;
            float z[N] = {0};
            pt_fixpoint_info info = {.history = hist};
            L.calls = 0;
            CHECK(solve(c, lin_f, &L, z, N, &info) == PT_OK);
            CHECK(info.converged == 1 && info.residual < 1e-6 && info.iterations == L.calls);
            CHECK(info.iterations > 1 && info.iterations < 60);
            CHECK(lin_err(&L, z) < 1e-5);
            /* the history holds every residual, the last one reported */
            CHECK(hist[info.iterations - 1] == info.residual);
            for (int t = 0; t < info.iterations - 1; t++) CHECK(hist[t] >= c.tol && isfinite(hist[t]));
            /* naive iteration on a contraction of rate 0.5 (damped: 0.5 * 0.7 + 0.3 = 0.65 at worst)
             * shrinks the residual every step */
            for (int t = 1; method == 0 && t < info.iterations; t++) CHECK(hist[t] < hist[t - 1]);
        }

    /* a slow contraction (eigenvalues spread over [0, 0.99]): naive iteration
     * needs hundreds of steps (514 when written), Anderson a few dozen (44) */
    lin_make(&L, &r, 0.0, 0.99);
    pt_fixpoint_config c = pt_fixpoint_config_default();
    c.max_iter = 5000, c.tol = 1e-5;
    c.method = PT_FIXPOINT_NAIVE;
    float zn[N] = {0}, za[N] = {0}, za2[N] = {0};
    pt_fixpoint_info in = {.history = NULL}, ia = {.history = hist}, ia2 = {.history = NULL};
    CHECK(solve(c, lin_f, &L, zn, N, &in) == PT_OK && in.converged);
    c.method = PT_FIXPOINT_ANDERSON;
    CHECK(solve(c, lin_f, &L, za, N, &ia) == PT_OK && ia.converged);
    CHECK(in.iterations > 300);
    CHECK(ia.iterations * 10 < in.iterations);
    /* the error is at most the residual over (1 - rho), here 100x */
    CHECK(lin_err(&L, zn) < 5e-3 && lin_err(&L, za) < 5e-3);
    /* the same start and map: the same bits */
    CHECK(solve(c, lin_f, &L, za2, N, &ia2) == PT_OK && memcmp(za, za2, sizeof za) == 0);
    CHECK(ia2.iterations == ia.iterations && ia2.residual == ia.residual);
    /* a larger memory on the same problem also converges */
    c.memory = 20;
    memset(za2, 0, sizeof za2);
    CHECK(solve(c, lin_f, &L, za2, N, &ia2) == PT_OK && ia2.iterations * 10 < in.iterations);
}

/* complex z_k -> a_k z_k + b_k on interleaved (re, im) floats, |a_k| = 0.95
 * with phases spread around the circle: naive iteration spirals in slowly
 * (0.95 per step). With eigenvalues all around a circle no short polynomial
 * beats that rate, so Anderson with memory 5 gains little (measured: ~150
 * against ~230 evaluations); with a memory that covers the spectrum it acts
 * like GMRES and needs about 15. */
typedef struct cmap {
    double a[2 * NC], b[2 * NC], zstar[2 * NC]; /* interleaved (re, im), as z */
} cmap;

static pt_status cmap_f(void *user, const float *z, float *fz)
{
    const cmap *M = user;
    for (int k = 0; k < NC; k++) {
        double ar = M->a[2 * k], ai = M->a[2 * k + 1], zr = (double)z[2 * k], zi = (double)z[2 * k + 1];
        fz[2 * k] = (float)(ar * zr - ai * zi + M->b[2 * k]);
        fz[2 * k + 1] = (float)(ar * zi + ai * zr + M->b[2 * k + 1]);
    }
    return PT_OK;
}

static void complex_map(void)
{
    cmap M;
    pt_rng r;
    pt_rng_seed(&r, 5);
    for (int k = 0; k < NC; k++) {
        double phi = 6.283185307179586 * (double)k / NC, ar = 0.95 * cos(phi), ai = 0.95 * sin(phi);
        double zr = (double)pt_rng_normal(&r), zi = (double)pt_rng_normal(&r);
        M.a[2 * k] = ar, M.a[2 * k + 1] = ai;
        M.zstar[2 * k] = zr, M.zstar[2 * k + 1] = zi;
        /* b = (1 - a) z* */
        M.b[2 * k] = (1.0 - ar) * zr + ai * zi;
        M.b[2 * k + 1] = (1.0 - ar) * zi - ai * zr;
    }
    int iters[2];
    for (int method = 0; method < 2; method++) {
        pt_fixpoint_config c = pt_fixpoint_config_default();
        c.method = (pt_fixpoint_method)method;
        c.max_iter = 2000, c.tol = 1e-5, c.memory = 2 * NC;
        float z[2 * NC] = {0};
        pt_fixpoint_info info = {.history = NULL};
        CHECK(solve(c, cmap_f, &M, z, 2 * NC, &info) == PT_OK && info.converged);
        double e = 0.0;
        for (int k = 0; k < NC; k++)
            e = fmax(e, hypot((double)z[2 * k] - M.zstar[2 * k], (double)z[2 * k + 1] - M.zstar[2 * k + 1]));
        CHECK(e < 1e-3);
        iters[method] = info.iterations;
    }
    CHECK(iters[1] * 5 < iters[0]);
}

/* z -> z + (1 + |z|)/2 moves every coordinate up by at least half its size
 * plus 1/2: no fixed point, and the relative residual stays above 1/3 however
 * far the iterates go (a drift by a constant would not: its relative
 * residual fades as |z| grows, which Anderson's extrapolation exploits) */
static pt_status drift_f(void *user, const float *z, float *fz)
{
    (void)user;
    for (int i = 0; i < N; i++) fz[i] = z[i] + 0.5f * (1.0f + fabsf(z[i]));
    return PT_OK;
}

/* 2D rotation by 90 degrees scaled 1.01: naive iteration circles outward forever */
static pt_status rot_f(void *user, const float *z, float *fz)
{
    (void)user;
    fz[0] = -1.01f * z[1];
    fz[1] = 1.01f * z[0];
    return PT_OK;
}

/* a contraction that returns NaN from its nan_at-th call on, or fails with PT_EIO */
typedef struct bad {
    int calls, nan_at, fail_at;
} bad;

static pt_status bad_f(void *user, const float *z, float *fz)
{
    bad *B = user;
    B->calls++;
    if (B->fail_at && B->calls >= B->fail_at) return PT_EIO;
    for (int i = 0; i < N; i++) fz[i] = 0.5f * z[i] + 1.0f;
    if (B->nan_at && B->calls >= B->nan_at) fz[N / 2] = NAN;
    return PT_OK;
}

static void failures(void)
{
    static double hist[100];
    for (int method = 0; method < 2; method++) {
        pt_fixpoint_config c = pt_fixpoint_config_default();
        c.method = (pt_fixpoint_method)method;
        c.max_iter = 100;
        float z[N] = {0};
        pt_fixpoint_info info = {.history = hist};
        CHECK(solve(c, drift_f, NULL, z, N, &info) == PT_ENOCONV);
        CHECK(info.converged == 0 && info.iterations == c.max_iter);
        CHECK(isfinite(info.residual) && info.residual >= c.tol && hist[c.max_iter - 1] == info.residual);
        CHECK(strstr(pt_errmsg(), "not converged after 100 iterations") != NULL);
        for (int i = 0; i < N; i++) CHECK(isfinite(z[i]) && (method == 1 || z[i] > 10.0f));

        /* NaN from the 2nd call: PT_ENOCONV naming it; z is the last finite iterate */
        bad B = {0, 2, 0};
        memset(z, 0, sizeof z);
        CHECK(solve(c, bad_f, &B, z, N, &info) == PT_ENOCONV);
        CHECK(strstr(pt_errmsg(), "non-finite") != NULL && strstr(pt_errmsg(), "iteration 2") != NULL);
        CHECK(info.converged == 0 && info.iterations == 2 && isnan(info.residual) && isnan(hist[1]) && hist[0] > 0.1);
        for (int i = 0; i < N; i++) CHECK(isfinite(z[i]) && z[i] > 0.0f);

        /* f's own failure on its 3rd call comes back as is */
        B = (bad){0, 0, 3};
        memset(z, 0, sizeof z);
        CHECK(solve(c, bad_f, &B, z, N, &info) == PT_EIO);
        CHECK(info.converged == 0 && info.iterations == 2 && B.calls == 3 && isfinite(info.residual));

        /* a non-finite start is bad input; info is still filled */
        z[1] = INFINITY;
        info.iterations = 7;
        CHECK(solve(c, bad_f, &B, z, N, &info) == PT_EINVAL && info.iterations == 0 && info.converged == 0);
    }
    /* the scaled rotation under naive iteration: the residual never shrinks */
    pt_fixpoint_config c = pt_fixpoint_config_default();
    c.method = PT_FIXPOINT_NAIVE;
    c.max_iter = 60;
    float z2[2] = {1.0f, 0.0f};
    pt_fixpoint_info info = {.history = NULL};
    pt_fixpoint *s = NULL;
    CHECK(pt_fixpoint_create(&c, 2, &s) == PT_OK);
    CHECK(pt_fixpoint_solve(s, rot_f, NULL, z2, &info) == PT_ENOCONV);
    CHECK(info.converged == 0 && info.iterations == 60 && info.residual > 1.0);
    /* info may be NULL */
    z2[0] = 1.0f, z2[1] = 0.0f;
    CHECK(pt_fixpoint_solve(s, rot_f, NULL, z2, NULL) == PT_ENOCONV);
    pt_fixpoint_destroy(s);
}

static void bad_config(void)
{
    pt_fixpoint_config d = pt_fixpoint_config_default();
    CHECK(d.method == PT_FIXPOINT_ANDERSON && d.max_iter == 50 && d.tol == 1e-4 && d.damping == 1.0f && d.memory == 5 &&
          d.lambda == 1e-8 && d.group == 0);
    CHECK(pt_fixpoint_config_check(&d) == PT_OK);
    pt_fixpoint *s = NULL;
    CHECK(pt_fixpoint_create(&d, 0, &s) == PT_EINVAL && s == NULL);
    struct {
        pt_fixpoint_config c;
        const char *field;
    } cases[15];
    int nc = 0;
    for (int i = 0; i < 15; i++) cases[i].c = d;
    cases[nc].c.method = (pt_fixpoint_method)2, cases[nc++].field = "method";
    cases[nc].c.max_iter = 0, cases[nc++].field = "max_iter";
    cases[nc].c.max_iter = 100001, cases[nc++].field = "max_iter";
    cases[nc].c.tol = 0.0, cases[nc++].field = "tol";
    cases[nc].c.tol = (double)NAN, cases[nc++].field = "tol";
    cases[nc].c.damping = 0.0f, cases[nc++].field = "damping";
    cases[nc].c.damping = 1.5f, cases[nc++].field = "damping";
    cases[nc].c.damping = NAN, cases[nc++].field = "damping";
    cases[nc].c.memory = 0, cases[nc++].field = "memory";
    cases[nc].c.memory = 65, cases[nc++].field = "memory";
    cases[nc].c.lambda = -1e-3, cases[nc++].field = "lambda";
    cases[nc].c.lambda = (double)INFINITY, cases[nc++].field = "lambda";
    cases[nc].c.restart = 0.5, cases[nc++].field = "restart";
    cases[nc].c.restart = (double)NAN, cases[nc++].field = "restart";
    cases[nc].c.group = -1, cases[nc++].field = "group";
    for (int i = 0; i < nc; i++) {
        CHECK(pt_fixpoint_config_check(&cases[i].c) == PT_EINVAL && strstr(pt_errmsg(), cases[i].field) != NULL);
        CHECK(pt_fixpoint_create(&cases[i].c, 4, &s) == PT_EINVAL && s == NULL);
    }
    pt_fixpoint_destroy(NULL);
}

/* Batch: problem b is the slow linear map L[b % 2], with problem 3 turning
 * NaN from its 5th evaluation. Each problem's iterates, iterations and
 * residual history equal those of its solve alone, bit for bit; problems that
 * converged are not evaluated again; one going NaN stops only itself; the
 * same in groups. */
typedef struct batch {
    lin *L[2];
    int evals[6], nan_item, nan_from;
} batch;

static pt_status batch_f(void *user, const float *z, float *fz, const size_t *items, size_t na)
{
    batch *B = user;
    for (size_t j = 0; j < na; j++) {
        size_t b = items[j];
        CHECK(j == 0 || items[j] > items[j - 1]);
        lin_f(B->L[b % 2], z + j * N, fz + j * N);
        if (++B->evals[b] >= B->nan_from && (int)b == B->nan_item) fz[j * N] = NAN;
    }
    return PT_OK;
}

static void batched(void)
{
    pt_rng r;
    pt_rng_seed(&r, 11);
    static lin L0, L1;
    lin_make(&L0, &r, 0.0, 0.9);
    lin_make(&L1, &r, -0.5, 0.95);
    for (int method = 0; method < 2; method++)
    for (int group = 0; group <= 4; group += 2) { /* all six together; in 2 + 2 + 2; in 4 + 2 */
        pt_fixpoint_config c = pt_fixpoint_config_default();
        c.method = (pt_fixpoint_method)method;
        c.max_iter = 400, c.tol = 1e-5, c.group = group;
        enum { NB = 6 };
        static float z[NB * N], zone[N];
        static double hist[NB][400], h1[400];
        pt_fixpoint_info info[NB];
        for (int b = 0; b < NB; b++) {
            info[b] = (pt_fixpoint_info){.history = hist[b]};
            for (int i = 0; i < N; i++) z[b * N + i] = (float)(b + 1) * 0.1f * (float)i;
        }
        batch B = {{&L0, &L1}, {0}, 3, 5};
        pt_fixpoint *s = NULL;
        CHECK(pt_fixpoint_create_batch(&c, N, NB, &s) == PT_OK);
        CHECK(pt_fixpoint_solve_batch(s, batch_f, &B, z, NB, info) == PT_OK);
        for (int b = 0; b < NB; b++) {
            CHECK(B.evals[b] == info[b].iterations);
            if (b == 3) {
                CHECK(info[b].nonfinite == 1 && !info[b].converged && info[b].iterations == 5 && isnan(info[b].residual));
                for (int i = 0; i < N; i++) CHECK(isfinite(z[b * N + i]));
                continue;
            }
            CHECK(info[b].converged == 1 && info[b].nonfinite == 0 && info[b].residual < c.tol);
            /* alone: the same bits */
            for (int i = 0; i < N; i++) zone[i] = (float)(b + 1) * 0.1f * (float)i;
            pt_fixpoint_info i1 = {.history = h1};
            CHECK(solve(c, lin_f, B.L[b % 2], zone, N, &i1) == PT_OK);
            CHECK(i1.iterations == info[b].iterations && i1.residual == info[b].residual);
            CHECK(memcmp(zone, z + b * N, sizeof zone) == 0);
            CHECK(memcmp(h1, hist[b], (size_t)i1.iterations * sizeof *h1) == 0);
        }
        /* more problems than the workspace holds, and a non-finite start */
        CHECK(pt_fixpoint_solve_batch(s, batch_f, &B, z, NB + 1, info) == PT_EINVAL);
        z[2 * N + 1] = NAN;
        CHECK(pt_fixpoint_solve_batch(s, batch_f, &B, z, NB, info) == PT_EINVAL && strstr(pt_errmsg(), "problem 2"));
        pt_fixpoint_destroy(s);
    }
}

/* The safeguard: a map that jumps away once (at its 6th call f returns a far
 * point) makes Anderson drop its history; it still converges. */
static int jump_calls;
static pt_status jump_f(void *user, const float *z, float *fz)
{
    lin_f(user, z, fz);
    if (++jump_calls == 6)
        for (int i = 0; i < N; i++) fz[i] += 1e3f;
    return PT_OK;
}

static void safeguard(void)
{
    pt_rng r;
    pt_rng_seed(&r, 12);
    static lin L;
    lin_make(&L, &r, 0.0, 0.9);
    pt_fixpoint_config c = pt_fixpoint_config_default();
    c.max_iter = 500, c.tol = 1e-5;
    float z[N] = {0};
    pt_fixpoint_info info = {.history = NULL};
    jump_calls = 0;
    CHECK(solve(c, jump_f, &L, z, N, &info) == PT_OK && info.converged && info.restarts >= 1);
    c.restart = 0.0;
    memset(z, 0, sizeof z);
    jump_calls = 0;
    CHECK(solve(c, jump_f, &L, z, N, &info) == PT_OK && info.restarts == 0);
}

/* Multigrid on a torus: z = rho (z + k_l Lap_l z) + b, on the fine grid the
 * 5-point average (k_0 = 1/5), on coarser ones the same continuous operator
 * rediscretised (k_l = k_0 / 4^l, the grid spacing doubling). The slow modes
 * of naive iteration are the smooth ones, which the coarse grids remove:
 * multigrid needs a small fraction of the work of naive iteration and
 * reaches the same fixed point. */
typedef struct torus {
    int h, w;
    float rho;
    float *b[3]; /* the constant on each level: restricted from the fine one */
} torus;

static pt_status torus_f(void *user, int level, const float *z, float *fz, const size_t *items, size_t na)
{
    torus *T = user;
    int h = T->h >> level, w = T->w >> level;
    (void)items;
    for (size_t j = 0; j < na; j++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                const float *zj = z + j * (size_t)(h * w);
                float c = zj[y * w + x], lap = zj[((y + 1) % h) * w + x] + zj[((y + h - 1) % h) * w + x] +
                                              zj[y * w + (x + 1) % w] + zj[y * w + (x + w - 1) % w] - 4.0f * c;
                float k = 0.2f / (float)(1 << (2 * level));
                fz[j * (size_t)(h * w) + (size_t)(y * w + x)] = T->rho * (c + k * lap) + T->b[level][y * w + x];
            }
    return PT_OK;
}

static pt_status torus_f1(void *user, const float *z, float *fz) { return torus_f(user, 0, z, fz, NULL, 1); }

static void multigrid(void)
{
    enum { TH = 32, TW = 32, TN = TH * TW };
    static float b0[TN], b1[TN / 4], b2[TN / 16], zm[2 * TN], zn[TN];
    torus T = {TH, TW, 0.995f, {b0, b1, b2}};
    pt_rng r;
    pt_rng_seed(&r, 21);
    for (int i = 0; i < TN; i++) b0[i] = pt_rng_normal(&r);
    pt_multigrid_config c = pt_multigrid_config_default();
    c.tol = 1e-5, c.max_cycles = 200;
    pt_multigrid *s = NULL;
    CHECK(pt_multigrid_create(&c, TH, TW, 1, 2, &s) == PT_OK);
    if (!s) return;
    pt_multigrid_restrict(s, 0, b0, b1, 1);
    pt_multigrid_restrict(s, 1, b1, b2, 1);
    pt_fixpoint_info info[2] = {{.history = NULL}, {.history = NULL}};
    for (int i = 0; i < TN; i++) zm[TN + i] = 1.0f;
    CHECK(pt_multigrid_solve(s, torus_f, &T, zm, 2, info) == PT_OK);
    CHECK(info[0].converged && info[1].converged && info[0].residual < 1e-5);
    pt_fixpoint_config nc = pt_fixpoint_config_default();
    nc.method = PT_FIXPOINT_NAIVE, nc.tol = 1e-5, nc.max_iter = 20000;
    pt_fixpoint_info ni = {.history = NULL};
    CHECK(solve(nc, torus_f1, &T, zn, TN, &ni) == PT_OK && ni.converged);
    CHECK(info[0].work * 5 < ni.work);
    double e = 0.0, m = 0.0;
    for (int i = 0; i < TN; i++) e = fmax(e, fabs((double)zm[i] - (double)zn[i])), m = fmax(m, fabs((double)zn[i]));
    CHECK(e < 0.02 * m);
    /* a grid that cannot be halved as often as asked */
    pt_multigrid *t = NULL;
    CHECK(pt_multigrid_max_levels(28, 28) == 3 && pt_multigrid_max_levels(27, 28) == 1);
    c.levels = 4;
    CHECK(pt_multigrid_create(&c, 28, 28, 2, 1, &t) == PT_EINVAL && strstr(pt_errmsg(), "only 3 levels") && !t);
    pt_multigrid_destroy(s);
}

int main(void)
{
    multigrid();
    batched();
    safeguard();
    linear();
    complex_map();
    failures();
    bad_config();
    TEST_END();
}
