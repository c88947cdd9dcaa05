/* A nonlinear multigrid V-cycle (the full approximation scheme, FAS) for
 * fixed points z = F(z) of states that live on a periodic 2-D grid (a
 * torus) with ch floats per site, derived in docs/numerics.md. The caller
 * supplies F on every grid level (level l has (height >> l) x (width >> l)
 * sites); the module does the cycle, the grid transfers (restriction by
 * 2 x 2 averages, prolongation by copying each coarse site to its four fine
 * ones, both periodic), the per-problem residuals and stops, and counts work
 * in fine-grid equivalents (an evaluation on level l costs 4^-l). */
#include <math.h>
#include <string.h>
#include "internal.h"
#include "phasetower/solve.h"

#define MG_MAX_LEVELS 8

struct pt_multigrid {
    pt_multigrid_config c;
    int height, width, ch;
    size_t nb;
    size_t n[MG_MAX_LEVELS]; /* floats per problem on each level */
    float *z[MG_MAX_LEVELS], *rhs[MG_MAX_LEVELS], *fz[MG_MAX_LEVELS], *z0[MG_MAX_LEVELS]; /* (nb, n[l]) */
    size_t *items;  /* (nb) the running problems */
    int *stop;      /* (nb) */
    float *zp;      /* (nb, n[0]) the running problems' fine states, packed */
};

pt_multigrid_config pt_multigrid_config_default(void)
{
    pt_multigrid_config c = {3, 2, 2, 200, 1.0f, 50, 1e-4};
    return c;
}

int pt_multigrid_max_levels(int height, int width)
{
    int l = 1;
    while (l < MG_MAX_LEVELS && height % 2 == 0 && width % 2 == 0 && height / 2 >= 2 && width / 2 >= 2)
        height /= 2, width /= 2, l++;
    return l;
}

pt_status pt_multigrid_config_check(const pt_multigrid_config *c)
{
    if (c->levels < 1 || c->levels > MG_MAX_LEVELS)
        return pt_fail(PT_EINVAL, "multigrid: levels %d outside 1..%d", c->levels, MG_MAX_LEVELS);
    if (c->pre < 0 || c->pre > 100 || c->post < 0 || c->post > 100 || c->pre + c->post < 1)
        return pt_fail(PT_EINVAL, "multigrid: smoothing steps pre %d, post %d (each 0..100, at least one in all)",
                       c->pre, c->post);
    if (c->coarse < 1 || c->coarse > 10000) return pt_fail(PT_EINVAL, "multigrid: coarse %d outside 1..10000", c->coarse);
    if (!(c->damping > 0.0f && c->damping <= 1.0f))
        return pt_fail(PT_EINVAL, "multigrid: damping %g must be in (0, 1]", (double)c->damping);
    if (c->max_cycles < 1 || c->max_cycles > 100000)
        return pt_fail(PT_EINVAL, "multigrid: max_cycles %d outside 1..100000", c->max_cycles);
    if (!(c->tol > 0.0) || !isfinite(c->tol)) return pt_fail(PT_EINVAL, "multigrid: tol %g must be finite and > 0", c->tol);
    return PT_OK;
}

void pt_multigrid_destroy(pt_multigrid *s)
{
    if (!s) return;
    for (int l = 0; l < MG_MAX_LEVELS; l++) free(s->z[l]), free(s->rhs[l]), free(s->fz[l]), free(s->z0[l]);
    free(s->items), free(s->stop), free(s->zp);
    free(s);
}

pt_status pt_multigrid_create(const pt_multigrid_config *c, int height, int width, int ch, size_t nb,
                              pt_multigrid **out)
{
    *out = NULL;
    pt_status st = pt_multigrid_config_check(c);
    if (st) return st;
    if (height < 1 || width < 1 || ch < 1 || nb < 1 || (size_t)height * (size_t)width * (size_t)ch > ((size_t)1 << 32))
        return pt_fail(PT_EINVAL, "multigrid: a grid of %d x %d x %d floats, %zu problems", height, width, ch, nb);
    int maxl = pt_multigrid_max_levels(height, width);
    if (c->levels > maxl)
        return pt_fail(PT_EINVAL,
                       "multigrid: levels %d, but a %d x %d grid halves into only %d level%s (both sides must stay even); "
                       "use at most %d, or another solver",
                       c->levels, height, width, maxl, maxl == 1 ? "" : "s", maxl);
    pt_multigrid *s = pt_calloc(1, sizeof *s);
    if (!s) return pt_fail(PT_ENOMEM, "out of memory");
    s->c = *c, s->height = height, s->width = width, s->ch = ch, s->nb = nb;
    int ok = 1;
    for (int l = 0; l < c->levels && ok; l++) {
        s->n[l] = (size_t)(height >> l) * (size_t)(width >> l) * (size_t)ch;
        s->z[l] = pt_calloc(nb, s->n[l] * sizeof(float));
        s->rhs[l] = pt_calloc(nb, s->n[l] * sizeof(float));
        s->fz[l] = pt_calloc(nb, s->n[l] * sizeof(float));
        s->z0[l] = pt_calloc(nb, s->n[l] * sizeof(float));
        ok = s->z[l] && s->rhs[l] && s->fz[l] && s->z0[l];
    }
    s->items = pt_calloc(nb, sizeof *s->items);
    s->stop = pt_calloc(nb, sizeof *s->stop);
    s->zp = pt_calloc(nb, s->n[0] * sizeof(float));
    if (!ok || !s->items || !s->stop || !s->zp) {
        pt_multigrid_destroy(s);
        return pt_fail(PT_ENOMEM, "out of memory for a multigrid solver of %zu problems", nb);
    }
    *out = s;
    return PT_OK;
}

/* coarse (na problems on level l + 1) = 2 x 2 averages of fine (level l) */
static void restrict_grid(const pt_multigrid *s, int l, const float *fine, float *coarse, size_t na)
{
    size_t H = (size_t)(s->height >> l), W = (size_t)(s->width >> l), ch = (size_t)s->ch;
    for (size_t j = 0; j < na; j++) {
        const float *f = fine + j * s->n[l];
        float *c = coarse + j * s->n[l + 1];
        for (size_t y = 0; y < H / 2; y++)
            for (size_t x = 0; x < W / 2; x++) {
                const float *a = f + ((2 * y) * W + 2 * x) * ch, *b = a + ch, *d = a + W * ch, *e = d + ch;
                float *o = c + (y * (W / 2) + x) * ch;
                for (size_t k = 0; k < ch; k++) o[k] = 0.25f * (a[k] + b[k] + d[k] + e[k]);
            }
    }
}

/* fine (level l) += each coarse site's value (level l + 1) on its four fine sites */
static void prolong_add(const pt_multigrid *s, int l, const float *coarse, float *fine, size_t na)
{
    size_t H = (size_t)(s->height >> l), W = (size_t)(s->width >> l), ch = (size_t)s->ch;
    for (size_t j = 0; j < na; j++) {
        float *f = fine + j * s->n[l];
        const float *c = coarse + j * s->n[l + 1];
        for (size_t y = 0; y < H; y++)
            for (size_t x = 0; x < W; x++) {
                const float *e = c + ((y / 2) * (W / 2) + x / 2) * ch;
                float *o = f + (y * W + x) * ch;
                for (size_t k = 0; k < ch; k++) o[k] += e[k];
            }
    }
}

void pt_multigrid_restrict(const pt_multigrid *s, int level, const float *fine, float *coarse, size_t n)
{
    restrict_grid(s, level, fine, coarse, n);
}

typedef struct mgrun {
    pt_multigrid *s;
    pt_multigrid_fn f;
    void *user;
    double work; /* fine-grid equivalents, per problem */
} mgrun;

static pt_status eval(mgrun *r, int l, const float *z, float *fz, size_t na)
{
    r->work += 1.0 / (double)(1u << (2 * l));
    return r->f(r->user, l, z, fz, r->s->items, na);
}

/* steps of z <- z + a (F(z) + rhs - z) on level l; have_fz: s->fz[l] already holds F(z) */
static pt_status smooth(mgrun *r, int l, size_t na, int steps, int have_fz)
{
    pt_multigrid *s = r->s;
    const float a = s->c.damping;
    size_t n = s->n[l] * na;
    float *z = s->z[l], *fz = s->fz[l], *rhs = s->rhs[l];
    for (int t = 0; t < steps; t++) {
        pt_status st = (t == 0 && have_fz) ? PT_OK : eval(r, l, z, fz, na);
        if (st) return st;
        for (size_t k = 0; k < n; k++) z[k] += a * (fz[k] + rhs[k] - z[k]);
    }
    return PT_OK;
}

/* The coarsest level: smoothing steps until the largest residual of the na
 * problems is a hundredth of what it was, or `coarse` steps */
static pt_status coarsest(mgrun *r, int l, size_t na, int have_fz)
{
    pt_multigrid *s = r->s;
    const float a = s->c.damping;
    size_t n = s->n[l];
    float *z = s->z[l], *fz = s->fz[l], *rhs = s->rhs[l];
    double first = -1.0;
    for (int t = 0; t < s->c.coarse; t++) {
        pt_status st = (t == 0 && have_fz) ? PT_OK : eval(r, l, z, fz, na);
        if (st) return st;
        double worst = 0.0;
        for (size_t j = 0; j < na; j++) {
            double rr = 0.0;
            for (size_t k = j * n; k < (j + 1) * n; k++) {
                double d = (double)fz[k] + (double)rhs[k] - (double)z[k];
                rr += d * d;
            }
            worst = fmax(worst, rr);
        }
        if (first < 0.0) first = worst;
        if (!(worst > 1e-4 * first)) break; /* a hundredth in norm (NaN stops too) */
        for (size_t k = 0; k < n * na; k++) z[k] += a * (fz[k] + rhs[k] - z[k]);
    }
    return PT_OK;
}

/* One V-cycle on level l for z[l] = F_l(z[l]) + rhs[l] */
static pt_status vcycle(mgrun *r, int l, size_t na, int have_fz)
{
    pt_multigrid *s = r->s;
    pt_status st;
    if (l == s->c.levels - 1)
        return l == 0 ? smooth(r, l, na, s->c.pre + s->c.post, have_fz) : coarsest(r, l, na, have_fz);
    if ((st = smooth(r, l, na, s->c.pre, have_fz))) return st;
    /* the residual res = rhs + F(z) - z and the coarse problem
     * zc = F_c(zc) + rhs_c with rhs_c = (R z - F_c(R z)) + R res */
    size_t n = s->n[l] * na, nc = s->n[l + 1] * na;
    float *z = s->z[l], *fz = s->fz[l], *rhs = s->rhs[l];
    if ((st = eval(r, l, z, fz, na))) return st;
    for (size_t k = 0; k < n; k++) fz[k] = rhs[k] + fz[k] - z[k]; /* fz now holds res */
    restrict_grid(s, l, z, s->z[l + 1], na);
    memcpy(s->z0[l + 1], s->z[l + 1], nc * sizeof(float));
    restrict_grid(s, l, fz, s->rhs[l + 1], na);
    float *zc = s->z[l + 1], *fc = s->fz[l + 1], *rc = s->rhs[l + 1];
    if ((st = eval(r, l + 1, zc, fc, na))) return st;
    for (size_t k = 0; k < nc; k++) rc[k] += zc[k] - fc[k];
    /* F_c at the start is known: the coarse cycle's first smoothing step uses it */
    if ((st = vcycle(r, l + 1, na, 1))) return st;
    for (size_t k = 0; k < nc; k++) zc[k] -= s->z0[l + 1][k];
    prolong_add(s, l, zc, z, na);
    return smooth(r, l, na, s->c.post, 0);
}

static double residual(const float *z, const float *g, size_t n)
{
    double rr = 0.0, gg = 0.0;
    for (size_t k = 0; k < n; k++) {
        double gk = (double)g[k], d = gk - (double)z[k];
        rr += d * d, gg += gk * gk;
    }
    return isfinite(gg) && isfinite(rr) ? sqrt(rr) / (sqrt(gg) + 1e-30) : (double)NAN;
}

pt_status pt_multigrid_solve(pt_multigrid *s, pt_multigrid_fn f, void *user, float *z, size_t nb,
                             pt_fixpoint_info *info)
{
    if (nb == 0 || nb > s->nb)
        return pt_fail(PT_EINVAL, "multigrid: a batch of %zu problems in a workspace for %zu", nb, s->nb);
    const size_t n = s->n[0];
    for (size_t b = 0; b < nb; b++) {
        info[b].iterations = 0, info[b].converged = 0, info[b].residual = (double)NAN;
        info[b].nonfinite = 0, info[b].restarts = 0, info[b].work = 0.0;
        s->stop[b] = 0;
    }
    for (size_t k = 0; k < nb * n; k++)
        if (!isfinite(z[k]))
            return pt_fail(PT_EINVAL, "multigrid: the start of problem %zu has a non-finite value", k / n);
    mgrun r = {s, f, user, 0.0};
    for (int cyc = 0; cyc < s->c.max_cycles; cyc++) {
        /* pack the running problems and measure their residuals */
        size_t na = 0;
        for (size_t b = 0; b < nb; b++)
            if (!s->stop[b]) {
                memcpy(s->z[0] + na * n, z + b * n, n * sizeof *z);
                s->items[na++] = b;
            }
        if (na == 0) break;
        memset(s->rhs[0], 0, na * n * sizeof(float));
        r.work = 0.0;
        pt_status st = eval(&r, 0, s->z[0], s->fz[0], na);
        if (st) return st;
        size_t keep = 0;
        for (size_t j = 0; j < na; j++) {
            size_t b = s->items[j];
            pt_fixpoint_info *in = &info[b];
            double res = residual(s->z[0] + j * n, s->fz[0] + j * n, n);
            in->work += r.work, in->iterations++;
            in->residual = res;
            if (in->history) in->history[cyc] = res;
            if (in->work_history) in->work_history[cyc] = in->work;
            if (isnan(res)) in->nonfinite = 1, s->stop[b] = 1;
            else if (res < s->c.tol) in->converged = 1, s->stop[b] = 1;
            else if (cyc == s->c.max_cycles - 1) s->stop[b] = 1;
            if (!s->stop[b]) {
                /* still running: keep its row (and its F) for the cycle */
                if (keep != j) {
                    memmove(s->z[0] + keep * n, s->z[0] + j * n, n * sizeof(float));
                    memmove(s->fz[0] + keep * n, s->fz[0] + j * n, n * sizeof(float));
                }
                s->items[keep++] = b;
            }
        }
        if (keep == 0) break;
        r.work = 0.0;
        if ((st = vcycle(&r, 0, keep, 1))) return st;
        for (size_t j = 0; j < keep; j++) {
            size_t b = s->items[j];
            info[b].work += r.work;
            const float *zj = s->z[0] + j * n;
            float probe = 0.0f;
            for (size_t k = 0; k < n; k++) probe += 0.0f * zj[k];
            if (probe != 0.0f) info[b].nonfinite = 1, s->stop[b] = 1; /* z keeps the last finite state */
            else memcpy(z + b * n, zj, n * sizeof *z);
        }
    }
    return PT_OK;
}
