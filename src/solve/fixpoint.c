/* Fixed-point solvers: damped naive iteration and Anderson acceleration of
 * type II (Walker & Ni 2011), derived in docs/numerics.md, for one problem or
 * a batch of independent ones solved side by side. The state is float (what
 * f reads and writes); residuals, the Gram matrix, the small least-squares
 * problem and the norms are computed in double from the stored floats. All
 * workspace is allocated at creation, so a solve never allocates; the same
 * start and the same f give the same bits, and a problem's iterates do not
 * depend on which other problems share its batch. */
#include <math.h>
#include <string.h>
#include "internal.h"
#include "linalg/linalg.h"
#include "phasetower/solve.h"

#define PT_FIXPOINT_MAX_N ((size_t)1 << 40)
#define PT_FIXPOINT_MAX_MEMORY 64

/* what ended a problem's solve */
enum { RUNNING = 0, CONVERGED, EXHAUSTED, BAD_F, BAD_STEP };

typedef struct item {
    int nh, head; /* Anderson: filled history slots, the slot the next difference goes to */
    int stop;     /* RUNNING or why it ended */
    double best;  /* smallest residual so far */
    double last;  /* the residual of the iteration before */
} item;

struct pt_fixpoint {
    pt_fixpoint_config cfg;
    size_t n, nb;
    float *zp, *fz; /* (nb, n) the running problems' iterates and f of them, packed */
    size_t *items;  /* (nb) which problem each packed row is */
    item *it;       /* (nb) */
    /* Anderson only (NULL for NAIVE), per problem */
    float *dR, *dG;       /* (nb, memory, n): slot i holds r_s - r_{s-1}, g_s - g_{s-1} for some step s */
    float *zprev, *gprev; /* (nb, n) z_{t-1}, g_{t-1} = f(z_{t-1}) */
    double *gram;         /* (nb, memory, memory) dR_i . dR_j over the filled slots */
    double *A, *gamma;    /* (memory, memory), (memory): the normal equations of one step */
};

pt_fixpoint_config pt_fixpoint_config_default(void)
{
    pt_fixpoint_config c = {PT_FIXPOINT_ANDERSON, 50, 1e-4, 1.0f, 5, 1e-8, 10.0, 0};
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
    if (!(c->restart == 0.0 || (c->restart >= 1.0 && isfinite(c->restart))))
        return pt_fail(PT_EINVAL, "fixed point: restart %g must be 0 (never) or finite and >= 1", c->restart);
    if (c->group < 0) return pt_fail(PT_EINVAL, "fixed point: group %d must be >= 0 (0: all the problems)", c->group);
    return PT_OK;
}

pt_status pt_fixpoint_create_batch(const pt_fixpoint_config *c, size_t n, size_t nb, pt_fixpoint **out)
{
    *out = NULL;
    pt_status st = pt_fixpoint_config_check(c);
    if (st) return st;
    if (n == 0 || n > PT_FIXPOINT_MAX_N) return pt_fail(PT_EINVAL, "fixed point: n = %zu values (need 1..2^40)", n);
    if (nb == 0 || nb > PT_FIXPOINT_MAX_N / n)
        return pt_fail(PT_EINVAL, "fixed point: a batch of %zu problems of %zu values", nb, n);
    pt_fixpoint *s = pt_calloc(1, sizeof *s);
    int ok = s != NULL;
    if (ok) {
        s->cfg = *c;
        s->n = n, s->nb = nb;
        s->zp = pt_calloc(nb * n, sizeof *s->zp);
        s->fz = pt_calloc(nb * n, sizeof *s->fz);
        s->items = pt_calloc(nb, sizeof *s->items);
        s->it = pt_calloc(nb, sizeof *s->it);
        ok = s->zp && s->fz && s->items && s->it;
    }
    if (ok && c->method == PT_FIXPOINT_ANDERSON) {
        size_t m = (size_t)c->memory;
        s->dR = pt_calloc(nb * m, n * sizeof *s->dR);
        s->dG = pt_calloc(nb * m, n * sizeof *s->dG);
        s->zprev = pt_calloc(nb, n * sizeof *s->zprev);
        s->gprev = pt_calloc(nb, n * sizeof *s->gprev);
        s->gram = pt_calloc(nb * m, m * sizeof *s->gram);
        s->A = pt_calloc(m * m, sizeof *s->A);
        s->gamma = pt_calloc(m, sizeof *s->gamma);
        ok = s->dR && s->dG && s->zprev && s->gprev && s->gram && s->A && s->gamma;
    }
    if (!ok) {
        pt_fixpoint_destroy(s);
        return pt_fail(PT_ENOMEM, "out of memory for a fixed-point solver of %zu x %zu values", nb, n);
    }
    *out = s;
    return PT_OK;
}

pt_status pt_fixpoint_create(const pt_fixpoint_config *c, size_t n, pt_fixpoint **out)
{
    return pt_fixpoint_create_batch(c, n, 1, out);
}

void pt_fixpoint_destroy(pt_fixpoint *s)
{
    if (!s) return;
    free(s->zp), free(s->fz), free(s->items), free(s->it);
    free(s->dR), free(s->dG), free(s->zprev), free(s->gprev);
    free(s->gram), free(s->A), free(s->gamma);
    free(s);
}

/* Sums in 16 independent float lanes (each a fixed-order sum the compiler
 * can keep in one vector register), added up in double at the end: fast,
 * and the same bits for the same input whatever else runs. */
#define LANES 16
/* dots[2 i] = dR_i . d (when d is not NULL) and dots[2 i + 1] = dR_i . r for
 * the nh slots of dR, in blocks small enough that each slot's block is read
 * from memory once for both. Each sum runs in LANES independent float lanes
 * (each a fixed-order sum the compiler keeps in one vector register), added
 * up in double at the end: fast, and the same bits for the same input
 * whatever else runs. */
static void hist_dots(const float *dR, size_t nh, size_t n, const float *d, const float *r, double *dots)
{
    enum { BLOCK = 1024 };
    float acc[2 * PT_FIXPOINT_MAX_MEMORY][LANES];
    memset(acc, 0, sizeof acc);
    size_t nv = n / LANES * LANES;
    for (size_t k0 = 0; k0 < nv; k0 += BLOCK) {
        size_t k1 = nv - k0 < BLOCK ? nv : k0 + BLOCK;
        for (size_t i = 0; i < nh; i++) {
            const float *x = dR + i * n;
            float *a = acc[2 * i], *b = acc[2 * i + 1];
            for (size_t k = k0; d && k < k1; k += LANES)
                for (size_t l = 0; l < LANES; l++) a[l] += x[k + l] * d[k + l];
            for (size_t k = k0; k < k1; k += LANES)
                for (size_t l = 0; l < LANES; l++) b[l] += x[k + l] * r[k + l];
        }
    }
    for (size_t i = 0; i < nh; i++) {
        const float *x = dR + i * n;
        double sd = 0.0, sr = 0.0;
        for (size_t k = nv; k < n; k++) {
            if (d) sd += (double)x[k] * (double)d[k];
            sr += (double)x[k] * (double)r[k];
        }
        for (size_t l = 0; l < LANES; l++) sd += (double)acc[2 * i][l], sr += (double)acc[2 * i + 1][l];
        dots[2 * i] = sd, dots[2 * i + 1] = sr;
    }
}

/* One Anderson step of problem b from z_t (z) and g_t = f(z_t) (g) into znew.
 * With r = g - z, the differences dR_i, dG_i of the last nh steps and
 *   gamma = argmin ||r - dR gamma||^2 + lambda mean(diag(dR^T dR)) ||gamma||^2,
 * the damped type-II update is
 *   z' = (z - dZ gamma) + a (r - dR gamma),  dZ = dG - dR,
 * i.e. z' = z + a r - sum_i gamma_i (dG_i - (1 - a) dR_i); a = 1 gives
 * g - dG gamma. When the normal equations cannot be factored (all
 * differences zero, or lambda = 0 and dR rank-deficient), or restart is set
 * (the safeguard), the memory is dropped and the step is the damped naive
 * one. */
static void anderson_step(pt_fixpoint *s, size_t b, const float *z, const float *g, float *znew, int first,
                          int restart)
{
    const size_t n = s->n, m = (size_t)s->cfg.memory;
    const double a = (double)s->cfg.damping;
    item *h = &s->it[b];
    float *dRb = s->dR + b * m * n, *dGb = s->dG + b * m * n, *zp = s->zprev + b * n, *gp = s->gprev + b * n;
    double *gram = s->gram + b * m * m;
    /* r = g - z, kept in znew until the update overwrites it value by value */
    float *r = znew;
    for (size_t k = 0; k < n; k++) r[k] = g[k] - z[k];
    if (restart) h->nh = 0, h->head = 0;
    if (!first && !restart) {
        size_t j = (size_t)h->head;
        float *restrict dr = dRb + j * n, *restrict dg = dGb + j * n;
        for (size_t k = 0; k < n; k++) dr[k] = r[k] - (gp[k] - zp[k]), dg[k] = g[k] - gp[k];
        h->head = (int)((j + 1) % m);
        if ((size_t)h->nh < m) h->nh++;
    }
    memcpy(zp, z, n * sizeof *zp);
    memcpy(gp, g, n * sizeof *gp);
    size_t nh = (size_t)h->nh;
    if (nh > 0) {
        /* the new row of dR^T dR and dR^T r in one sweep over the history */
        double dots[2 * PT_FIXPOINT_MAX_MEMORY];
        const int fresh = !(restart || first); /* a new slot, the one before head */
        size_t jn = (size_t)((h->head + (int)m - 1) % (int)m);
        hist_dots(dRb, nh, n, fresh ? dRb + jn * n : NULL, r, dots);
        for (size_t i = 0; fresh && i < nh; i++) gram[i * m + jn] = gram[jn * m + i] = dots[2 * i];
        for (size_t i = 0; i < nh; i++) s->gamma[i] = dots[2 * i + 1];
        /* Tikhonov term relative to the scale of dR, so that lambda does not
         * depend on the units of z nor vanish as the residuals shrink */
        double tr = 0.0;
        for (size_t i = 0; i < nh; i++) tr += gram[i * m + i];
        double reg = s->cfg.lambda * tr / (double)nh;
        for (size_t i = 0; i < nh; i++) {
            for (size_t j = 0; j < nh; j++) s->A[i * nh + j] = gram[i * m + j];
            s->A[i * nh + i] += reg;
        }
        int info = tr > 0.0 && isfinite(tr) ? pt_dposv1(s->A, s->gamma, nh) : 1;
        for (size_t i = 0; info == 0 && i < nh; i++)
            if (!isfinite(s->gamma[i])) info = 1;
        if (info != 0) {
            pt_log(1, "fixed point: Anderson's least squares cannot be factored; memory of %zu steps dropped", nh);
            h->nh = 0, h->head = 0, nh = 0;
        }
    }
    /* z' = z + a r - sum_i gamma_i (dG_i - (1 - a) dR_i), in float, in
     * blocks that stay in the first-level cache across the history's passes */
    const float af = (float)a, b1 = (float)(1.0 - a);
    enum { BLOCK = 1024 };
    for (size_t k0 = 0; k0 < n; k0 += BLOCK) {
        size_t k1 = n - k0 < BLOCK ? n : k0 + BLOCK;
        for (size_t k = k0; k < k1; k++) znew[k] = z[k] + af * r[k];
        for (size_t i = 0; i < nh; i++) {
            const float gi = (float)s->gamma[i], *restrict dg = dGb + i * n, *restrict dr = dRb + i * n;
            if (b1 == 0.0f) /* undamped: dR is not read at all (the history is memory-bound) */
                for (size_t k = k0; k < k1; k++) znew[k] -= gi * dg[k];
            else
                for (size_t k = k0; k < k1; k++) znew[k] -= gi * (dg[k] - b1 * dr[k]);
        }
    }
}

/* ||f(z) - z|| / (||f(z)|| + 1e-30), the sums in float lanes added up in
 * double; NaN when f(z) is not finite */
static double residual(const float *z, const float *g, size_t n)
{
    float rr[LANES] = {0}, gg[LANES] = {0};
    size_t k = 0;
    /* two passes: the two sums interleaved in one loop defeat GCC's
     * vectoriser (measured five times slower) */
    for (; k + LANES <= n; k += LANES)
        for (size_t l = 0; l < LANES; l++) {
            float d = g[k + l] - z[k + l];
            rr[l] += d * d;
        }
    for (size_t k2 = 0; k2 + LANES <= n; k2 += LANES)
        for (size_t l = 0; l < LANES; l++) gg[l] += g[k2 + l] * g[k2 + l];
    double r2 = 0.0, g2 = 0.0;
    for (; k < n; k++) {
        double d = (double)g[k] - (double)z[k];
        r2 += d * d, g2 += (double)g[k] * (double)g[k];
    }
    for (size_t l = 0; l < LANES; l++) r2 += (double)rr[l], g2 += (double)gg[l];
    if (!isfinite(g2) || !isfinite(r2)) { /* overflow of a float lane, or a non-finite g: in double */
        r2 = 0.0, g2 = 0.0;
        for (k = 0; k < n; k++) {
            double d = (double)g[k] - (double)z[k];
            r2 += d * d, g2 += (double)g[k] * (double)g[k];
        }
    }
    /* a non-finite g makes the sums infinite or NaN (no need to test each value) */
    return isfinite(g2) && isfinite(r2) ? sqrt(r2) / (sqrt(g2) + 1e-30) : (double)NAN;
}

/* whether every x[k] is finite: 0 x is NaN exactly when x is not, summed
 * in lanes that the compiler keeps in one vector register */
static int all_finite(const float *x, size_t n)
{
    float acc[LANES] = {0};
    size_t k = 0;
    for (; k + LANES <= n; k += LANES)
        for (size_t l = 0; l < LANES; l++) acc[l] += 0.0f * x[k + l];
    float s = 0.0f;
    for (; k < n; k++) s += 0.0f * x[k];
    for (size_t l = 0; l < LANES; l++) s += acc[l];
    return s == 0.0f;
}

/* the iterations of problems g0..g1 - 1 */
static pt_status solve_group(pt_fixpoint *s, pt_fixpoint_batch_fn f, void *user, float *z, size_t g0, size_t g1,
                             pt_fixpoint_info *info)
{
    const size_t n = s->n;
    const pt_fixpoint_config *c = &s->cfg;
    for (int t = 0; t < c->max_iter; t++) {
        size_t na = 0;
        for (size_t b = g0; b < g1; b++)
            if (s->it[b].stop == RUNNING) s->items[na++] = b;
        if (na == 0) break;
        /* Naive steps while every problem runs go in place: f reads z as it
         * is, and each step reads z_t and f(z_t) before it writes z_{t+1}
         * over z_t, value by value. A damped step between two finite vectors
         * is finite, so z_t is never needed back. Otherwise the running
         * problems' iterates are packed into zp, which keeps z_t. */
        const int inplace = c->method == PT_FIXPOINT_NAIVE && na == g1 - g0;
        float *zt = inplace ? z + g0 * n : s->zp;
        for (size_t j = 0; !inplace && j < na; j++) memcpy(s->zp + j * n, z + s->items[j] * n, n * sizeof *z);
        pt_status st = f(user, zt, s->fz, s->items, na);
        if (st) return st;
        for (size_t j = 0; j < na; j++) {
            size_t b = s->items[j];
            item *h = &s->it[b];
            pt_fixpoint_info *in = &info[b];
            const float *zj = zt + j * n, *gj = s->fz + j * n;
            float *zb = z + b * n;
            in->iterations = t + 1;
            in->work = (double)(t + 1);
            double res = residual(zj, gj, n);
            h->last = in->residual;
            in->residual = res;
            if (in->history) in->history[t] = res;
            if (in->work_history) in->work_history[t] = (double)(t + 1);
            if (isnan(res)) {
                in->nonfinite = 1, h->stop = BAD_F;
                continue;
            }
            if (res < c->tol) {
                in->converged = 1, h->stop = CONVERGED;
                continue;
            }
            if (t == c->max_iter - 1) { /* z stays the iterate whose residual is reported */
                h->stop = EXHAUSTED;
                continue;
            }
            /* the next iterate goes to zb (the problem's own row; zj keeps z_t) */
            if (c->method == PT_FIXPOINT_ANDERSON) {
                int restart = c->restart > 0.0 && t > 0 && res > c->restart * h->best;
                if (restart) in->restarts++;
                anderson_step(s, b, zj, gj, zb, t == 0, restart);
            } else {
                /* z' = (1 - a) z + a f(z): with a = 1, exactly f(z); zb may
                 * be zj (in place) */
                const float a = c->damping;
                for (size_t k = 0; k < n; k++) zb[k] = (1.0f - a) * zj[k] + a * gj[k];
            }
            if (res < h->best) h->best = res;
            if (!inplace && !all_finite(zb, n)) {
                memcpy(zb, zj, n * sizeof *zb);
                in->nonfinite = 1, h->stop = BAD_STEP;
            }
        }
    }
    return PT_OK;
}

pt_status pt_fixpoint_solve_batch(pt_fixpoint *s, pt_fixpoint_batch_fn f, void *user, float *z, size_t nb,
                                  pt_fixpoint_info *info)
{
    const size_t n = s->n;
    const pt_fixpoint_config *c = &s->cfg;
    if (nb == 0 || nb > s->nb)
        return pt_fail(PT_EINVAL, "fixed point: a batch of %zu problems in a workspace for %zu", nb, s->nb);
    for (size_t b = 0; b < nb; b++) {
        info[b].iterations = 0, info[b].converged = 0, info[b].residual = (double)NAN;
        info[b].nonfinite = 0, info[b].restarts = 0, info[b].work = 0.0;
        s->it[b] = (item){0, 0, RUNNING, (double)INFINITY, (double)NAN};
    }
    for (size_t k = 0; k < nb * n; k++)
        if (!isfinite(z[k]))
            return pt_fail(PT_EINVAL, "fixed point: the start of problem %zu has a non-finite value at %zu", k / n,
                           k % n);
    /* the problems in groups of c->group, each group solved to the end
     * before the next: a group's histories stay in cache */
    size_t G = c->group > 0 && (size_t)c->group < nb ? (size_t)c->group : nb;
    for (size_t g0 = 0; g0 < nb; g0 += G) {
        size_t g1 = nb - g0 < G ? nb : g0 + G;
        pt_status st = solve_group(s, f, user, z, g0, g1, info);
        if (st) return st;
    }
    return PT_OK;
}

/* the single problem through the batch: f called on one row */
typedef struct one {
    pt_fixpoint_fn f;
    void *user;
} one;

static pt_status one_f(void *user, const float *z, float *fz, const size_t *items, size_t na)
{
    (void)items, (void)na;
    one *o = user;
    return o->f(o->user, z, fz);
}

pt_status pt_fixpoint_solve(pt_fixpoint *s, pt_fixpoint_fn f, void *user, float *z, pt_fixpoint_info *info)
{
    pt_fixpoint_info none = {.history = NULL};
    if (!info) info = &none;
    one o = {f, user};
    pt_status st = pt_fixpoint_solve_batch(s, one_f, &o, z, 1, info);
    if (st == PT_EINVAL && info->iterations == 0 && s->it[0].stop == RUNNING)
        return pt_fail(PT_EINVAL, "fixed point: the start z has a non-finite value");
    if (st) return st;
    switch (s->it[0].stop) {
    case CONVERGED: return PT_OK;
    case BAD_F:
        if (info->iterations == 1) return pt_fail(PT_ENOCONV, "fixed point: f returned a non-finite value at iteration 1");
        return pt_fail(PT_ENOCONV, "fixed point: f returned a non-finite value at iteration %d (residual before: %.3g)",
                       info->iterations, s->it[0].last);
    case BAD_STEP:
        return pt_fail(PT_ENOCONV, "fixed point: the iterate turned non-finite after iteration %d (residual %.3g)",
                       info->iterations, info->residual);
    default:
        return pt_fail(PT_ENOCONV, "fixed point: not converged after %d iterations (residual %.3g, tol %.3g)",
                       info->iterations, info->residual, s->cfg.tol);
    }
}
