/* Ridge regression with streaming normal equations (docs/numerics.md).
 * G is kept as n_groups x n_groups blocks of group x group doubles, so the
 * sparse update of one pair of complex features (group 2) touches one cache
 * line: that update is memory-bound. Every entry of G and H is a sum in
 * arrival order, so the same rows in the same order give the same bits. */
#include <math.h>
#include <string.h>
#include "internal.h"
#include "linalg/linalg.h"
#include "phasetower/readout.h"

struct pt_ridge {
    size_t ng, d, m; /* groups, features per group, outputs */
    double *G;       /* (ng, ng, d, d) */
    double *H;       /* (ng * d, m) */
};

pt_status pt_ridge_create(size_t n_groups, size_t group, size_t m, pt_ridge **out)
{
    *out = NULL;
    if (n_groups == 0 || m == 0 || (group != 1 && group != 2))
        return pt_fail(PT_EINVAL, "ridge: %zu groups of %zu features and %zu outputs (need groups and outputs >= 1, "
                                  "group 1 or 2)",
                       n_groups, group, m);
    if (n_groups > (size_t)1 << 20 || m > (size_t)1 << 20)
        return pt_fail(PT_EINVAL, "ridge: %zu groups and %zu outputs: too large", n_groups, m);
    pt_ridge *r = pt_calloc(1, sizeof *r);
    size_t n = n_groups * group;
    if (r) {
        r->ng = n_groups, r->d = group, r->m = m;
        r->G = pt_calloc(n * n, sizeof *r->G);
        r->H = pt_calloc(n * m, sizeof *r->H);
    }
    if (!r || !r->G || !r->H) {
        pt_ridge_destroy(r);
        return pt_fail(PT_ENOMEM, "out of memory for the ridge readout (%zu features)", n);
    }
    *out = r;
    return PT_OK;
}

void pt_ridge_destroy(pt_ridge *r)
{
    if (!r) return;
    free(r->G), free(r->H), free(r);
}

size_t pt_ridge_features(const pt_ridge *r) { return r->ng * r->d; }
size_t pt_ridge_outputs(const pt_ridge *r) { return r->m; }

/* G entry of features (i, j) in the blocked layout */
static double *gent(const pt_ridge *r, size_t i, size_t j)
{
    size_t d = r->d;
    return r->G + ((i / d) * r->ng + j / d) * d * d + (i % d) * d + j % d;
}

/* G += X^T X (upper triangle through BLAS, then into the blocks), H += X^T Y */
static void add_rows(pt_ridge *r, const double *Xd, const double *Yd, double *S, size_t nb)
{
    size_t n = r->ng * r->d, m = r->m;
    pt_dsyrk_tn(S, Xd, n, nb); /* upper triangle of X^T X */
    pt_dgemm_tn(r->H, Xd, Yd, n, m, nb, 1.0, 1.0);
    /* above the diagonal, and both halves of a diagonal block (as sparse rows fill them) */
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++) {
            *gent(r, i, j) += S[i * n + j];
            if (j != i && i / r->d == j / r->d) *gent(r, j, i) += S[i * n + j];
        }
}

pt_status pt_ridge_add(pt_ridge *r, const float *X, const float *Y, size_t nb)
{
    size_t n = r->ng * r->d, m = r->m;
    for (size_t i = 0; i < nb * n; i++)
        if (!isfinite(X[i])) return pt_fail(PT_EINVAL, "ridge: row %zu has a non-finite feature", i / n);
    for (size_t i = 0; i < nb * m; i++)
        if (!isfinite(Y[i])) return pt_fail(PT_EINVAL, "ridge: row %zu has a non-finite target", i / m);
    if (nb == 0) return PT_OK;
    double *Xd = pt_calloc(nb * n, sizeof *Xd), *Yd = pt_calloc(nb * m, sizeof *Yd), *S = pt_calloc(n * n, sizeof *S);
    if (!Xd || !Yd || !S) {
        free(Xd), free(Yd), free(S);
        return pt_fail(PT_ENOMEM, "out of memory for a ridge batch of %zu rows", nb);
    }
    for (size_t i = 0; i < nb * n; i++) Xd[i] = (double)X[i];
    for (size_t i = 0; i < nb * m; i++) Yd[i] = (double)Y[i];
    add_rows(r, Xd, Yd, S, nb);
    free(Xd), free(Yd), free(S);
    return PT_OK;
}

pt_status pt_ridge_add_f64(pt_ridge *r, const double *X, const double *Y, size_t nb)
{
    size_t n = r->ng * r->d, m = r->m;
    for (size_t i = 0; i < nb * n; i++)
        if (!isfinite(X[i])) return pt_fail(PT_EINVAL, "ridge: row %zu has a non-finite feature", i / n);
    for (size_t i = 0; i < nb * m; i++)
        if (!isfinite(Y[i])) return pt_fail(PT_EINVAL, "ridge: row %zu has a non-finite target", i / m);
    if (nb == 0) return PT_OK;
    double *S = pt_calloc(n * n, sizeof *S);
    if (!S) return pt_fail(PT_ENOMEM, "out of memory for a ridge batch of %zu rows", nb);
    add_rows(r, X, Y, S, nb);
    free(S);
    return PT_OK;
}

void pt_ridge_add_sparse(pt_ridge *r, const int *grp, const double *f, size_t nnz, size_t cls)
{
    PT_ASSERT(cls < r->m);
    const size_t d = r->d, dd = d * d, ng = r->ng, m = r->m;
    for (size_t p = 0; p < nnz; p++) {
        size_t k = (size_t)grp[p];
        PT_ASSERT(k < ng);
        const double *fk = f + p * d;
        double *row = r->G + k * ng * dd;
        if (d == 1) {
            for (size_t q = p; q < nnz; q++) row[grp[q]] += fk[0] * f[q];
        } else {
            for (size_t q = p; q < nnz; q++) {
                double *g = row + (size_t)grp[q] * 4;
                const double *fq = f + 2 * q;
                g[0] += fk[0] * fq[0];
                g[1] += fk[0] * fq[1];
                g[2] += fk[1] * fq[0];
                g[3] += fk[1] * fq[1];
            }
        }
        for (size_t u = 0; u < d; u++) r->H[(d * k + u) * m + cls] += fk[u];
    }
}

void pt_ridge_clear(pt_ridge *r, size_t g)
{
    PT_ASSERT(g < r->ng);
    size_t dd = r->d * r->d;
    memset(r->G + g * r->ng * dd, 0, r->ng * dd * sizeof *r->G);
    for (size_t row = 0; row < r->ng; row++) memset(r->G + (row * r->ng + g) * dd, 0, dd * sizeof *r->G);
    memset(r->H + g * r->d * r->m, 0, r->d * r->m * sizeof *r->H);
}

static size_t group_of(const int *sel, size_t i) { return sel ? (size_t)sel[i] : i; }

double pt_ridge_trace(const pt_ridge *r, const int *sel, size_t nsel)
{
    size_t d = r->d, ns = sel ? nsel : r->ng;
    double tr = 0.0;
    for (size_t i = 0; i < ns; i++) {
        const double *b = r->G + (group_of(sel, i) * r->ng + group_of(sel, i)) * d * d;
        for (size_t u = 0; u < d; u++) tr += b[u * d + u];
    }
    return tr;
}

pt_status pt_ridge_solve(const pt_ridge *r, const int *sel, size_t nsel, double alpha, double *W)
{
    size_t d = r->d, dd = d * d, m = r->m, ns = sel ? nsel : r->ng, n = d * ns;
    if (!(alpha >= 0.0) || !isfinite(alpha)) return pt_fail(PT_EINVAL, "ridge: alpha %g must be finite and >= 0", alpha);
    if (ns == 0) return pt_fail(PT_EINVAL, "ridge: no features selected");
    for (size_t i = 0; sel && i < ns; i++)
        if (sel[i] < 0 || (size_t)sel[i] >= r->ng) return pt_fail(PT_EINVAL, "ridge: group %d out of range", sel[i]);
    double *G = pt_calloc(n * n, sizeof *G);
    if (!G) return pt_fail(PT_ENOMEM, "out of memory for the ridge solve (%zu features)", n);
    /* G_S from the blocks: a pair's sums sit in block (a, b) or (b, a), the
     * other holding 0 (sparse rows add in list order, dense ones above the
     * diagonal), so their sum is exact */
    for (size_t k = 0; k < ns; k++) {
        size_t sk = group_of(sel, k);
        for (size_t k2 = k; k2 < ns; k2++) {
            size_t s2 = group_of(sel, k2);
            const double *g = r->G + (sk * r->ng + s2) * dd, *gt = r->G + (s2 * r->ng + sk) * dd;
            for (size_t u = 0; u < d; u++)
                for (size_t v = 0; v < d; v++) {
                    size_t i = d * k + u, j = d * k2 + v;
                    double val = g[u * d + v] + (s2 != sk ? gt[v * d + u] : 0.0);
                    G[i * n + j] = G[j * n + i] = val;
                }
        }
        memcpy(W + d * k * m, r->H + d * sk * m, d * m * sizeof *W);
    }
    for (size_t i = 0; i < n; i++) G[i * n + i] += alpha;
    int info = pt_dposv(G, W, n, m);
    free(G);
    if (info < 0) return pt_fail(PT_ENOMEM, "out of memory for the ridge solve (%zu features)", n);
    if (info > 0)
        return pt_fail(PT_ENOCONV, "ridge readout: the normal equations are not positive definite (raise the ridge "
                                   "strength)");
    for (size_t i = 0; i < n * m; i++)
        if (!isfinite(W[i])) return pt_fail(PT_ENOCONV, "ridge readout produced a non-finite weight");
    return PT_OK;
}
