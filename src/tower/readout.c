/* The tower's ridge readout during one training call: the features of the
 * last block's outputs (docs/learning-rules.md, "Codebook"), accumulated in
 * the family-neutral ridge (readout.h) by slot, and the solve that turns the
 * weights into the complex codebook. */
#include <math.h>
#include <string.h>
#include "tower/tower_internal.h"

void pt_tridge_free(tower_ridge *a)
{
    pt_ridge_destroy(a->r);
    free(a->slot), free(a->nz), free(a->f), free(a->cphi), free(a->sphi);
    memset(a, 0, sizeof *a);
}

void pt_tridge_phases(tower_ridge *a, const pt_block *last)
{
    a->K = (size_t)last->K;
    for (size_t k = 0; k < a->K; k++) {
        a->cphi[k] = cosf(last->phi[k]);
        a->sphi[k] = sinf(last->phi[k]);
    }
}

pt_status pt_tridge_init(tower_ridge *a, const pt_tower *t, int Kcap)
{
    const pt_block *last = &t->b[t->cfg.n_blocks - 1];
    memset(a, 0, sizeof *a);
    a->Kcap = (size_t)(Kcap > last->K ? Kcap : last->K);
    a->d = t->cfg.n_blocks == 1 && t->cfg.eta_phase == 0.0f ? 1 : 2;
    size_t dK = (size_t)a->d * a->Kcap;
    pt_status st = pt_ridge_create(a->Kcap, (size_t)a->d, (size_t)t->cfg.n_classes, &a->r);
    if (st) return st;
    a->slot = pt_calloc(a->Kcap, sizeof(int));
    a->nz = pt_calloc(a->Kcap, sizeof(int));
    a->f = pt_calloc(dK, sizeof(double));
    a->cphi = pt_calloc(a->Kcap, sizeof(float));
    a->sphi = pt_calloc(a->Kcap, sizeof(float));
    if (!a->slot || !a->nz || !a->f || !a->cphi || !a->sphi)
        return pt_fail(PT_ENOMEM, "out of memory for the ridge readout (%zu features)", dK);
    for (size_t k = 0; k < a->Kcap; k++) a->slot[k] = (int)k;
    pt_tridge_phases(a, last);
    return PT_OK;
}

/* The features of the non-zero outputs, by slot: (Re Z_k, Im Z_k), or
 * Re(Z_k e^{-i phi_k}) = Re Z_k cos phi_k + Im Z_k sin phi_k (d = 1). */
void pt_tridge_add(tower_ridge *a, const pt_c32 *Z, int y)
{
    size_t m = 0;
    for (size_t k = 0; k < a->K; k++) {
        float re = crealf(Z[k]), im = cimagf(Z[k]);
        if (re == 0.0f && im == 0.0f) continue;
        a->nz[m] = a->slot[k];
        if (a->d == 1) {
            a->f[m] = (double)re * (double)a->cphi[k] + (double)im * (double)a->sphi[k];
        } else {
            a->f[2 * m] = (double)re;
            a->f[2 * m + 1] = (double)im;
        }
        m++;
    }
    pt_ridge_add_sparse(a->r, a->nz, a->f, m, (size_t)y);
}

/* Solve (G + alpha I) W = H with alpha = ridge * tr(G) / (2K), the mean of the
 * diagonal of the 2K-feature problem whichever d is used (the trace is the
 * same, sum of |Z_k|^2), so both paths solve the same problem. W becomes the
 * codebook: c_yk = W[2k][y] + i W[2k+1][y] (d = 2), or W[k][y] e^{i phi_k}
 * (d = 1: a codebook part orthogonal to e^{i phi_k} would not change any logit
 * and only add to the penalty, so the optimum has none). */
pt_status pt_tridge_solve(pt_tower *t, tower_ridge *a)
{
    size_t K = a->K, d = (size_t)a->d, C = (size_t)t->cfg.n_classes;
    double *W = pt_calloc(d * K * C, sizeof *W);
    if (!W) return pt_fail(PT_ENOMEM, "out of memory for the ridge solve (%zu features)", d * K);
    double tr = pt_ridge_trace(a->r, a->slot, K);
    double alpha = (double)t->cfg.ridge * (tr > 0.0 ? tr / (double)(2 * K) : 1.0);
    pt_status st = pt_ridge_solve(a->r, a->slot, K, alpha, W);
    if (st == PT_ENOCONV && strstr(pt_errmsg(), "positive definite"))
        st = pt_fail(PT_ENOCONV, "ridge readout: the normal equations are not positive definite (raise tower.ridge)");
    for (size_t y = 0; y < C && !st; y++)
        for (size_t k = 0; k < K; k++) {
            const double *w = W + d * k * C + y; /* row d k, column y */
            float re, im;
            if (d == 1) {
                re = (float)(w[0] * (double)a->cphi[k]);
                im = (float)(w[0] * (double)a->sphi[k]);
            } else {
                re = (float)w[0];
                im = (float)w[C];
            }
            if (!isfinite(re) || !isfinite(im)) {
                st = pt_fail(PT_ENOCONV, "ridge readout produced a non-finite weight");
                break;
            }
            t->C[y * K + k] = CMPLXF(re, im);
        }
    free(W);
    return st;
}
