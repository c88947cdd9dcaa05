/* Recursive least squares with a forgetting factor (docs/numerics.md, after
 * Haykin, Adaptive Filter Theory, the RLS chapter). P is the inverse of the weighted
 * (and regularized) feature correlation, updated by Sherman-Morrison in
 * O(n^2) per sample, in double. P is kept exactly symmetric: each update
 * writes the symmetric part of P - k x^T P, so rounding cannot push the two
 * triangles apart (the classic cause of RLS drifting to an indefinite P). */
#include <math.h>
#include <string.h>
#include "internal.h"
#include "phasetower/readout.h"

struct pt_rls {
    pt_rls_config cfg;
    size_t n, m, samples;
    double *P;        /* (n, n) both triangles */
    double *W;        /* (n, m) row-major */
    double *x, *Px, *k; /* (n) the sample, P x, the gain */
    double *e;        /* (m) the a-priori error y - W^T x */
};

pt_rls_config pt_rls_config_default(void)
{
    pt_rls_config c = {1.0, 1.0};
    return c;
}

pt_status pt_rls_create(const pt_rls_config *c, size_t n, size_t m, pt_rls **out)
{
    *out = NULL;
    if (!(c->delta > 0.0) || !isfinite(c->delta))
        return pt_fail(PT_EINVAL, "rls: delta %g must be finite and > 0", c->delta);
    if (!(c->forget > 0.0 && c->forget <= 1.0))
        return pt_fail(PT_EINVAL, "rls: forget %g must be in (0, 1]", c->forget);
    if (n == 0 || m == 0) return pt_fail(PT_EINVAL, "rls: %zu features and %zu outputs (need both >= 1)", n, m);
    if (n > (size_t)1 << 16 || m > (size_t)1 << 20)
        return pt_fail(PT_EINVAL, "rls: %zu features and %zu outputs: too large (at most 65536 features)", n, m);
    pt_rls *r = pt_calloc(1, sizeof *r);
    if (r) {
        r->cfg = *c;
        r->n = n, r->m = m;
        r->P = pt_calloc(n * n, sizeof *r->P);
        r->W = pt_calloc(n * m, sizeof *r->W);
        r->x = pt_calloc(n, sizeof *r->x);
        r->Px = pt_calloc(n, sizeof *r->Px);
        r->k = pt_calloc(n, sizeof *r->k);
        r->e = pt_calloc(m, sizeof *r->e);
    }
    if (!r || !r->P || !r->W || !r->x || !r->Px || !r->k || !r->e) {
        pt_rls_destroy(r);
        return pt_fail(PT_ENOMEM, "out of memory for the rls readout (%zu features)", n);
    }
    for (size_t i = 0; i < n; i++) r->P[i * n + i] = 1.0 / c->delta;
    *out = r;
    return PT_OK;
}

void pt_rls_destroy(pt_rls *r)
{
    if (!r) return;
    free(r->P), free(r->W), free(r->x), free(r->Px), free(r->k), free(r->e), free(r);
}

/* the symmetric part of (P - k Px^T) / lambda at (i, j) */
static double pnext(const pt_rls *r, size_t i, size_t j)
{
    const double *k = r->k, *Px = r->Px;
    return (r->P[i * r->n + j] - 0.5 * (k[i] * Px[j] + k[j] * Px[i])) / r->cfg.forget;
}

pt_status pt_rls_update(pt_rls *r, const float *x, const float *y)
{
    const size_t n = r->n, m = r->m;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return pt_fail(PT_EINVAL, "rls: feature %zu of x is not finite", i);
    for (size_t j = 0; j < m; j++)
        if (!isfinite(y[j])) return pt_fail(PT_EINVAL, "rls: output %zu of y is not finite", j);
    double *xd = r->x, *Px = r->Px, *k = r->k, *e = r->e;
    for (size_t i = 0; i < n; i++) xd[i] = (double)x[i];
    /* P symmetric, so x^T P = (P x)^T: one product serves both sides */
    double den = r->cfg.forget;
    for (size_t i = 0; i < n; i++) {
        const double *Pi = r->P + i * n;
        double s = 0.0;
        for (size_t j = 0; j < n; j++) s += Pi[j] * xd[j];
        Px[i] = s;
        den += xd[i] * s;
    }
    /* den = lambda + x^T P x > 0 while P is positive definite */
    if (!(den > 0.0) || !isfinite(den))
        return pt_fail(PT_ENOCONV, "rls: sample %zu: lambda + x^T P x = %g is not positive and finite (state left "
                                   "unchanged)",
                       r->samples + 1, den);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        k[i] = Px[i] / den;
        bad |= !isfinite(k[i]);
    }
    for (size_t j = 0; j < m; j++) {
        double s = (double)y[j];
        for (size_t i = 0; i < n; i++) s -= r->W[i * m + j] * xd[i];
        e[j] = s;
        bad |= !isfinite(s);
    }
    /* check every new value before writing any, so a failure leaves the state
     * as it was; the second pass recomputes the same bits */
    for (size_t i = 0; i < n && !bad; i++) {
        for (size_t j = i; j < n; j++) bad |= !isfinite(pnext(r, i, j));
        for (size_t j = 0; j < m; j++) bad |= !isfinite(r->W[i * m + j] + k[i] * e[j]);
    }
    if (bad)
        return pt_fail(PT_ENOCONV, "rls: the update of sample %zu turned non-finite (state left unchanged)",
                       r->samples + 1);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i; j < n; j++) r->P[i * n + j] = r->P[j * n + i] = pnext(r, i, j);
        for (size_t j = 0; j < m; j++) r->W[i * m + j] += k[i] * e[j];
    }
    r->samples++;
    return PT_OK;
}

void pt_rls_predict(const pt_rls *r, const float *x, float *y)
{
    const size_t n = r->n, m = r->m;
    for (size_t j = 0; j < m; j++) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++) s += r->W[i * m + j] * (double)x[i];
        y[j] = (float)s;
    }
}

const double *pt_rls_weights(const pt_rls *r) { return r->W; }
size_t pt_rls_samples(const pt_rls *r) { return r->samples; }
