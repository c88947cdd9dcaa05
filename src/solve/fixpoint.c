/* Fixed-point solvers: damped naive iteration and Anderson acceleration of
 * type II (Walker & Ni 2011), derived in docs/numerics.md. The state is float
 * (what f reads and writes); residual differences, the small least-squares
 * problem and the norms are double. All workspace is allocated by
 * pt_fixpoint_create, so a solve never allocates; the same start and the same
 * f give the same bits. */
#include <math.h>
#include <string.h>
#include "internal.h"
#include "linalg/linalg.h"
#include "phasetower/solve.h"

#define PT_FIXPOINT_MAX_N ((size_t)1 << 40)
#define PT_FIXPOINT_MAX_MEMORY 64

struct pt_fixpoint {
    pt_fixpoint_config cfg;
    size_t n;
    float *fz, *znew; /* (n) f(z_t), the next iterate */
    /* Anderson only (NULL for NAIVE) */
    double *dR, *dG;     /* (memory, n): slot i holds r_s - r_{s-1}, g_s - g_{s-1} for some step s */
    double *rprev, *gprev; /* (n) r_{t-1} = g_{t-1} - z_{t-1}, g_{t-1} = f(z_{t-1}) */
    double *gram;        /* (memory, memory) dR_i . dR_j over the filled slots */
    double *A, *gamma;   /* (memory, memory), (memory): the normal equations of one step */
};

pt_fixpoint_config pt_fixpoint_config_default(void)
{
    pt_fixpoint_config c = {PT_FIXPOINT_ANDERSON, 50, 1e-4, 1.0f, 5, 1e-8};
    return c;
}

pt_status pt_fixpoint_config_check(const pt_fixpoint_config *c)
{
    if (c->method != PT_FIXPOINT_NAIVE && c->method != PT_FIXPOINT_ANDERSON)
        return pt_fail(PT_EINVAL, "fixed point: method %d is neither NAIVE (0) nor ANDERSON (1)", (int)c->method);
    if (c->max_iter < 1 || c->max_iter > 100000)
        return pt_fail(PT_EINVAL, "fixed point: max_iter %d outside 1..100000", c->max_iter);
    if (!(c->tol > 0.0) || !isfinite(c->tol))
        return pt_fail(PT_EINVAL, "fixed point: tol %g must be finite and > 0", c->tol);
    if (!(c->damping > 0.0f && c->damping <= 1.0f))
        return pt_fail(PT_EINVAL, "fixed point: damping %g must be in (0, 1]", (double)c->damping);
    if (c->memory < 1 || c->memory > PT_FIXPOINT_MAX_MEMORY)
        return pt_fail(PT_EINVAL, "fixed point: memory %d outside 1..%d", c->memory, PT_FIXPOINT_MAX_MEMORY);
    if (!(c->lambda >= 0.0) || !isfinite(c->lambda))
        return pt_fail(PT_EINVAL, "fixed point: lambda %g must be finite and >= 0", c->lambda);
    return PT_OK;
}

pt_status pt_fixpoint_create(const pt_fixpoint_config *c, size_t n, pt_fixpoint **out)
{
    *out = NULL;
    pt_status st = pt_fixpoint_config_check(c);
    if (st) return st;
    if (n == 0 || n > PT_FIXPOINT_MAX_N) return pt_fail(PT_EINVAL, "fixed point: n = %zu values (need 1..2^40)", n);
    pt_fixpoint *s = pt_calloc(1, sizeof *s);
    int ok = s != NULL;
    if (ok) {
        s->cfg = *c;
        s->n = n;
        s->fz = pt_calloc(n, sizeof *s->fz);
        s->znew = pt_calloc(n, sizeof *s->znew);
        ok = s->fz && s->znew;
    }
    if (ok && c->method == PT_FIXPOINT_ANDERSON) {
        size_t m = (size_t)c->memory;
        s->dR = pt_calloc(m * n, sizeof *s->dR);
        s->dG = pt_calloc(m * n, sizeof *s->dG);
        s->rprev = pt_calloc(n, sizeof *s->rprev);
        s->gprev = pt_calloc(n, sizeof *s->gprev);
        s->gram = pt_calloc(m * m, sizeof *s->gram);
        s->A = pt_calloc(m * m, sizeof *s->A);
        s->gamma = pt_calloc(m, sizeof *s->gamma);
        ok = s->dR && s->dG && s->rprev && s->gprev && s->gram && s->A && s->gamma;
    }
    if (!ok) {
        pt_fixpoint_destroy(s);
        return pt_fail(PT_ENOMEM, "out of memory for a fixed-point solver of %zu values", n);
    }
    *out = s;
    return PT_OK;
}

void pt_fixpoint_destroy(pt_fixpoint *s)
{
    if (!s) return;
    free(s->fz), free(s->znew);
    free(s->dR), free(s->dG), free(s->rprev), free(s->gprev);
    free(s->gram), free(s->A), free(s->gamma);
    free(s);
}

static double ddot(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t k = 0; k < n; k++) s += a[k] * b[k];
    return s;
}

/* Anderson bookkeeping between steps */
typedef struct aa_state {
    int nh;   /* filled slots */
    int head; /* slot the next difference goes to */
} aa_state;

/* One Anderson step from z_t (z) and g_t = f(z_t) (s->fz) into s->znew.
 * With r = g - z, the differences dR_i, dG_i of the last nh steps and
 *   gamma = argmin ||r - dR gamma||^2 + lambda mean(diag(dR^T dR)) ||gamma||^2,
 * the damped type-II update is
 *   z' = (z - dZ gamma) + a (r - dR gamma),  dZ = dG - dR,
 * i.e. z' = z + a r - sum_i gamma_i (dG_i - (1 - a) dR_i); a = 1 gives
 * g - dG gamma. When the normal equations cannot be factored (all
 * differences zero, or lambda = 0 and dR rank-deficient) the memory is
 * dropped and the step is the damped naive one. */
static void anderson_step(pt_fixpoint *s, aa_state *h, const float *z, int first)
{
    const size_t n = s->n, m = (size_t)s->cfg.memory;
    const double a = (double)s->cfg.damping;
    const float *g = s->fz;
    if (!first) {
        size_t j = (size_t)h->head;
        double *dr = s->dR + j * n, *dg = s->dG + j * n;
        for (size_t k = 0; k < n; k++) {
            double gk = (double)g[k], rk = gk - (double)z[k];
            dr[k] = rk - s->rprev[k];
            dg[k] = gk - s->gprev[k];
        }
        h->head = (int)((j + 1) % m);
        if ((size_t)h->nh < m) h->nh++;
        for (size_t i = 0; i < (size_t)h->nh; i++) s->gram[i * m + j] = s->gram[j * m + i] = ddot(s->dR + i * n, dr, n);
    }
    for (size_t k = 0; k < n; k++) {
        s->gprev[k] = (double)g[k];
        s->rprev[k] = (double)g[k] - (double)z[k];
    }
    size_t nh = (size_t)h->nh;
    if (nh > 0) {
        /* Tikhonov term relative to the scale of dR, so that lambda does not
         * depend on the units of z nor vanish as the residuals shrink */
        double tr = 0.0;
        for (size_t i = 0; i < nh; i++) tr += s->gram[i * m + i];
        double reg = s->cfg.lambda * tr / (double)nh;
        for (size_t i = 0; i < nh; i++) {
            for (size_t j = 0; j < nh; j++) s->A[i * nh + j] = s->gram[i * m + j];
            s->A[i * nh + i] += reg;
            s->gamma[i] = ddot(s->dR + i * n, s->rprev, n);
        }
        int info = tr > 0.0 && isfinite(tr) ? pt_dposv1(s->A, s->gamma, nh) : 1;
        for (size_t i = 0; info == 0 && i < nh; i++)
            if (!isfinite(s->gamma[i])) info = 1;
        if (info != 0) {
            pt_log(1, "fixed point: Anderson's least squares cannot be factored; memory of %zu steps dropped", nh);
            h->nh = 0, h->head = 0, nh = 0;
        }
    }
    for (size_t k = 0; k < n; k++) {
        double v = (double)z[k] + a * s->rprev[k];
        for (size_t i = 0; i < nh; i++) v -= s->gamma[i] * (s->dG[i * n + k] - (1.0 - a) * s->dR[i * n + k]);
        s->znew[k] = (float)v;
    }
}

pt_status pt_fixpoint_solve(pt_fixpoint *s, pt_fixpoint_fn f, void *user, float *z, pt_fixpoint_info *info)
{
    pt_fixpoint_info none = {0, 0, 0.0, NULL};
    if (!info) info = &none;
    info->iterations = 0;
    info->converged = 0;
    info->residual = (double)NAN;
    const size_t n = s->n;
    const pt_fixpoint_config *c = &s->cfg;
    for (size_t k = 0; k < n; k++)
        if (!isfinite(z[k])) return pt_fail(PT_EINVAL, "fixed point: the start z has a non-finite value at %zu", k);
    aa_state h = {0, 0};
    for (int t = 0; t < c->max_iter; t++) {
        pt_status st = f(user, z, s->fz);
        if (st) return st;
        info->iterations = t + 1;
        /* residual ||f(z) - z|| / (||f(z)|| + 1e-30), in double */
        double rr = 0.0, gg = 0.0;
        int finite = 1;
        for (size_t k = 0; k < n; k++) {
            double g = (double)s->fz[k], r = g - (double)z[k];
            finite &= isfinite(g) != 0;
            rr += r * r, gg += g * g;
        }
        double prev = info->residual;
        double res = finite ? sqrt(rr) / (sqrt(gg) + 1e-30) : (double)NAN;
        info->residual = res;
        if (info->history) info->history[t] = res;
        if (!finite && t == 0) return pt_fail(PT_ENOCONV, "fixed point: f returned a non-finite value at iteration 1");
        if (!finite)
            return pt_fail(PT_ENOCONV,
                           "fixed point: f returned a non-finite value at iteration %d (residual before: %.3g)", t + 1,
                           prev);
        if (res < c->tol) {
            info->converged = 1;
            return PT_OK;
        }
        if (t == c->max_iter - 1) break; /* z stays the iterate whose residual is reported */
        if (c->method == PT_FIXPOINT_ANDERSON) {
            anderson_step(s, &h, z, t == 0);
        } else {
            /* z' = (1 - a) z + a f(z): with a = 1, exactly f(z) */
            const float a = c->damping;
            for (size_t k = 0; k < n; k++) s->znew[k] = (1.0f - a) * z[k] + a * s->fz[k];
        }
        for (size_t k = 0; k < n; k++)
            if (!isfinite(s->znew[k]))
                return pt_fail(PT_ENOCONV,
                               "fixed point: the iterate turned non-finite after iteration %d (residual %.3g)", t + 1,
                               res);
        memcpy(z, s->znew, n * sizeof *z);
    }
    return pt_fail(PT_ENOCONV, "fixed point: not converged after %d iterations (residual %.3g, tol %.3g)",
                   info->iterations, info->residual, c->tol);
}
