/* The field model's gradients and training (docs/field.md): the
 * cross-entropy's gradient by implicit differentiation (the adjoint fixed
 * point w = dL/dz* + J_F(z*)^T w, solved by the same solver), by
 * Jacobian-free backprop (one application of F at z*), or by backprop
 * through a fixed unroll; complex parameters get d/d Re + i d/d Im
 * (Wirtinger calculus), the spectral normalisation included. Adam steps. */
#include <math.h>
#include <string.h>
#include "field/field_internal.h"
#include "linalg/linalg.h"
#include "phasetower/readout.h"

/* Loss and dL/dz of the readout at n states z; G's readout part accumulates.
 * Returns the summed cross-entropy; scale is 1 / batch. */
static double readout_back(const pt_field *m, fwork *w, const float *z, const uint8_t *y, size_t n, float scale,
                           float *dz, float *G)
{
    size_t C = (size_t)m->c.channels, K = (size_t)m->c.n_classes, nf = m->nf, hw = m->hw;
    float *GR = G + (m->R - m->theta), *Grb = G + (m->rb - m->theta);
    double loss = 0.0;
    pt_field_readout(m, z, n, w->feat, w->logits);
    float *dfeat = w->t1; /* (nf) scratch, large enough */
    for (size_t i = 0; i < n; i++) {
        float *l = w->logits + i * K, *fi = w->feat + i * nf;
        float mx = l[0];
        for (size_t k = 1; k < K; k++) mx = l[k] > mx ? l[k] : mx;
        double se = 0.0;
        for (size_t k = 0; k < K; k++) se += exp((double)(l[k] - mx));
        loss += log(se) + (double)mx - (double)l[y[i]];
        memset(dfeat, 0, nf * sizeof *dfeat);
        for (size_t k = 0; k < K; k++) {
            float dl = scale * ((float)(exp((double)(l[k] - mx)) / se) - (k == y[i] ? 1.0f : 0.0f));
            Grb[k] += dl;
            for (size_t f = 0; f < nf; f++) {
                GR[k * nf + f] += dl * fi[f];
                dfeat[f] += dl * m->R[k * nf + f];
            }
        }
        const float *zi = z + i * m->nz;
        float *di = dz + i * m->nz;
        for (size_t p = 0; p < hw; p++) {
            const float *df = dfeat + (size_t)m->cell[p] * C, inv = m->cinv[m->cell[p]];
            for (size_t c = 0; c < C; c++) {
                size_t k = 2 * (p * C + c);
                float r = sqrtf(zi[k] * zi[k] + zi[k + 1] * zi[k + 1]);
                float s = r > 0.0f ? df[c] * inv / r : 0.0f;
                di[k] = s * zi[k], di[k + 1] = s * zi[k + 1];
            }
        }
    }
    return loss;
}

/* The encoder's gradient from du (n states): G_E[d][c] += sum_p x[nbr(p, d)] du[p][c], G_eb += sum du */
static void encoder_back(const pt_field *m, const float *x, const float *du, size_t n, float *G)
{
    size_t C = (size_t)m->c.channels, hw = m->hw;
    float *GE = G + (m->E - m->theta), *Geb = G + (m->eb - m->theta);
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * hw, *di = du + i * m->nz;
        for (size_t p = 0; p < hw; p++) {
            const float *dp = di + 2 * p * C;
            for (size_t c = 0; c < 2 * C; c++) Geb[c] += dp[c];
            for (size_t d = 0; d < 9; d++) {
                float v = xi[m->nbr[p * 9 + d]];
                float *Gd = GE + 2 * d * C;
                for (size_t c = 0; c < 2 * C; c++) Gd[c] += v * dp[c];
            }
        }
    }
}

/* dpre at states z (n): GWt += cols(z)^H dpre, and the encoder's part */
static void map_back(const pt_field *m, fwork *w, const float *z, const float *dpre, size_t n, float *GWt, float *G)
{
    size_t C = (size_t)m->c.channels;
    pt_field_im2col(m, z, n, w->cols);
    pt_cgemm(GWt, w->cols, dpre, 9 * C, C, n * m->hw, 'C', 'N', 1.0f);
    encoder_back(m, w->x, dpre, n, G);
}

/* G_K from the gradient of Wt = (gain / sigma(K)) K:
 *   Gt[d][co][ci] = GWt[(d C + ci) C + co],
 *   G_K = s Gt - (gain / sigma^2) Re(sum conj(Gt) K) G_sigma,
 *   G_sigma[d][co][ci] = u_co conj(v_ci) e^{-i phi_d} at the maximising frequency. */
static void kernel_back(const pt_field *m, const float *GWt, float *G)
{
    size_t C = (size_t)m->c.channels;
    double g = (double)m->c.gain, sig = m->sigma, s = g / sig, dot = 0.0;
    float *GK = G + (m->K - m->theta);
    for (size_t d = 0; d < 9; d++)
        for (size_t co = 0; co < C; co++)
            for (size_t ci = 0; ci < C; ci++) {
                const float *gt = GWt + 2 * ((d * C + ci) * C + co), *k = m->K + 2 * ((d * C + co) * C + ci);
                dot += (double)gt[0] * (double)k[0] + (double)gt[1] * (double)k[1];
            }
    double coef = g / (sig * sig) * dot;
    for (size_t d = 0; d < 9; d++) {
        double ph = 6.283185307179586 * ((double)m->sky * (double)((int)(d / 3) - 1) / m->c.height +
                                         (double)m->skx * (double)((int)(d % 3) - 1) / m->c.width);
        double er = cos(ph), ei = -sin(ph);
        for (size_t co = 0; co < C; co++)
            for (size_t ci = 0; ci < C; ci++) {
                const float *gt = GWt + 2 * ((d * C + ci) * C + co);
                double ur = m->su[2 * co], ui = m->su[2 * co + 1], vr = m->sv[2 * ci], vi = -m->sv[2 * ci + 1];
                double pr = ur * vr - ui * vi, pi = ur * vi + ui * vr; /* u conj(v) */
                double gr = pr * er - pi * ei, gi = pr * ei + pi * er;
                float *gk = GK + 2 * ((d * C + co) * C + ci);
                gk[0] += (float)(s * (double)gt[0] - coef * gr);
                gk[1] += (float)(s * (double)gt[1] - coef * gi);
            }
    }
}

typedef struct actx {
    const pt_field *m;
    fwork *w;
} actx;

/* the adjoint map v -> g + W^H J_act(pre*)^T v on packed rows */
static pt_status adjoint_f(void *user, const float *v, float *out, const size_t *items, size_t na)
{
    actx *a = user;
    const pt_field *m = a->m;
    fwork *w = a->w;
    size_t nz = m->nz;
    for (size_t j = 0; j < na; j++) pt_field_act_back(m, w->pre + items[j] * nz, v + j * nz, 1, w->t1 + j * nz, NULL);
    pt_field_conv_adj(m, w, w->t1, na, out);
    for (size_t j = 0; j < na; j++) {
        const float *gj = w->g + items[j] * nz;
        float *oj = out + j * nz;
        for (size_t k = 0; k < nz; k++) oj[k] += gj[k];
    }
    return PT_OK;
}

/* residual of the last unrolled step, for the report */
static void unroll_stats(const pt_field *m, fwork *w, size_t n, int N, pt_field_stats *stats)
{
    if (!stats) return;
    size_t nz = m->nz;
    for (size_t i = 0; i < n; i++) {
        const float *zl = w->zs + ((size_t)(N - 1) * w->cap + i) * nz, *zn = w->zs + ((size_t)N * w->cap + i) * nz;
        double rr = 0.0, gg = 0.0, a = (double)m->c.alpha;
        for (size_t k = 0; k < nz; k++) {
            /* F(z_{N-1}) = (z_N - (1 - a) z_{N-1}) / a */
            double f = ((double)zn[k] - (1.0 - a) * (double)zl[k]) / a, r = f - (double)zl[k];
            rr += r * r, gg += f * f;
        }
        stats->images++;
        stats->evals += N;
        if (!(sqrt(rr) / (sqrt(gg) + 1e-30) < m->c.tol)) stats->unconverged++;
    }
}

/* Gradient of the summed loss of n images (x already in w->x) scaled by scale, into G (np) and GWt */
static pt_status batch_grad(const pt_field *m, fwork *w, const uint8_t *y, size_t n, float scale, double *loss,
                            float *G, float *GWt, pt_field_stats *stats)
{
    size_t nz = m->nz;
    float *gbeta = m->beta ? G + (m->beta - m->theta) : NULL;
    pt_status st = PT_OK;
    pt_field_encode(m, w->x, n, w->u);
    if (m->c.grad == PT_FIELD_UNROLL) {
        int N = w->steps;
        float a = m->c.alpha;
        memcpy(w->zs, w->u, n * nz * sizeof *w->zs);
        for (int t = 0; t < N; t++) {
            float *zt = w->zs + (size_t)t * w->cap * nz, *zn = w->zs + (size_t)(t + 1) * w->cap * nz;
            pt_field_apply(m, w, zt, n, NULL, w->u, w->pres + (size_t)t * w->cap * nz, w->t2);
            for (size_t k = 0; k < n * nz; k++) zn[k] = (1.0f - a) * zt[k] + a * w->t2[k];
        }
        unroll_stats(m, w, n, N, stats);
        *loss = readout_back(m, w, w->zs + (size_t)N * w->cap * nz, y, n, scale, w->g, G);
        for (int t = N - 1; t >= 0; t--) {
            float *zt = w->zs + (size_t)t * w->cap * nz;
            for (size_t k = 0; k < n * nz; k++) w->t2[k] = a * w->g[k];
            pt_field_act_back(m, w->pres + (size_t)t * w->cap * nz, w->t2, n, w->pre, gbeta);
            map_back(m, w, zt, w->pre, n, GWt, G);
            pt_field_conv_adj(m, w, w->pre, n, w->t2);
            for (size_t k = 0; k < n * nz; k++) w->g[k] = (1.0f - a) * w->g[k] + w->t2[k];
        }
        encoder_back(m, w->x, w->g, n, G); /* z_0 = u */
        return PT_OK;
    }
    if ((st = pt_field_solve(m, w, n, stats))) return st;
    /* pre* = W z* + u, F(z*) into t2 */
    pt_field_apply(m, w, w->z, n, NULL, w->u, w->pre, w->t2);
    if (m->c.grad == PT_FIELD_JFB) {
        *loss = readout_back(m, w, w->t2, y, n, scale, w->g, G);
        pt_field_act_back(m, w->pre, w->g, n, w->t2, gbeta);
        map_back(m, w, w->z, w->t2, n, GWt, G);
        return PT_OK;
    }
    /* implicit: the adjoint w = g + J^T w, from w = g */
    *loss = readout_back(m, w, w->z, y, n, scale, w->g, G);
    float *adj = w->t2;
    memcpy(adj, w->g, n * nz * sizeof *adj);
    for (size_t i = 0; i < n; i++) w->ainfo[i] = (pt_fixpoint_info){.history = NULL};
    actx ac = {m, w};
    if ((st = pt_fixpoint_solve_batch(w->adj, adjoint_f, &ac, adj, n, w->ainfo))) return st;
    for (size_t i = 0; i < n; i++) {
        if (w->ainfo[i].nonfinite) return pt_fail(PT_ENOCONV, "field: the adjoint of an image turned non-finite");
        if (stats) {
            stats->adjoint_solves++;
            stats->adjoint_evals += w->ainfo[i].iterations;
            if (!w->ainfo[i].converged) stats->adjoint_unconverged++;
        }
    }
    /* dpre = J_act^T w; the adjoint state moves to g's buffer first (t1 is the adjoint map's scratch) */
    memcpy(w->g, adj, n * nz * sizeof *adj);
    pt_field_act_back(m, w->pre, w->g, n, w->t2, gbeta);
    map_back(m, w, w->z, w->t2, n, GWt, G);
    return PT_OK;
}

static pt_status grad_run(pt_field *m, fwork *w, const uint8_t *y, size_t n, double *loss, float *G, float *GWt,
                          pt_field_stats *stats)
{
    size_t C = (size_t)m->c.channels;
    memset(G, 0, m->np * sizeof *G);
    memset(GWt, 0, 18 * C * C * sizeof *GWt);
    pt_status st = batch_grad(m, w, y, n, 1.0f / (float)n, loss, G, GWt, stats);
    if (st) return st;
    kernel_back(m, GWt, G);
    for (size_t i = 0; i < m->np; i++)
        if (!isfinite(G[i])) return pt_fail(PT_ENOCONV, "field: the gradient turned non-finite");
    return PT_OK;
}

static pt_status check_data(const pt_field *m, const float *x, const uint8_t *y, size_t n)
{
    for (size_t i = 0; i < n * m->hw; i++)
        if (!isfinite(x[i])) return pt_fail(PT_EINVAL, "field: image %zu has a non-finite pixel", i / m->hw);
    for (size_t i = 0; i < n; i++)
        if (y[i] >= m->c.n_classes)
            return pt_fail(PT_EINVAL, "field: label %d of sample %zu is outside 0..%d", y[i], i, m->c.n_classes - 1);
    return PT_OK;
}

pt_status pt_field_grad(pt_field *m, const float *x, const uint8_t *y, size_t n, double *loss, float *grad,
                        pt_field_stats *stats)
{
    if (n == 0) return pt_fail(PT_EINVAL, "field: a gradient of no samples");
    pt_status st = check_data(m, x, y, n);
    if (st) return st;
    size_t C = (size_t)m->c.channels;
    fwork w;
    float *GWt = pt_calloc(18 * C * C, sizeof *GWt);
    if (!GWt) return pt_fail(PT_ENOMEM, "out of memory");
    if ((st = pt_field_work_create(m, n, m->c.grad == PT_FIELD_UNROLL ? m->c.unroll : 0, m->c.grad == PT_FIELD_IMPLICIT,
                                   &w))) {
        free(GWt);
        return st;
    }
    memcpy(w.x, x, n * m->hw * sizeof *x);
    double l = 0.0;
    st = grad_run(m, &w, y, n, &l, grad, GWt, stats);
    if (!st && loss) *loss = l / (double)n;
    pt_field_work_free(&w);
    free(GWt);
    return st;
}

/* the fit, reporting base + the images solved of total to progress */
static pt_status fit_readout(pt_field *m, const float *x, const uint8_t *y, size_t n, pt_field_stats *stats,
                             pt_progress_fn progress, void *user, size_t base, size_t total);

pt_status pt_field_fit_readout(pt_field *m, const float *x, const uint8_t *y, size_t n, pt_field_stats *stats)
{
    return fit_readout(m, x, y, n, stats, NULL, NULL, 0, n);
}

static pt_status fit_readout(pt_field *m, const float *x, const uint8_t *y, size_t n, pt_field_stats *stats,
                             pt_progress_fn progress, void *user, size_t base, size_t total)
{
    if (n == 0) return pt_fail(PT_EINVAL, "field: a readout fit on no samples");
    pt_status st = check_data(m, x, y, n);
    if (st) return st;
    size_t nf = m->nf, K = (size_t)m->c.n_classes, B = 32;
    pt_ridge *r = NULL;
    float *X = pt_calloc(B * (nf + 1), sizeof *X), *Y = pt_calloc(B * K, sizeof *Y);
    double *Wt = pt_calloc((nf + 1) * K, sizeof *Wt);
    fwork w;
    int have_w = 0;
    if (!X || !Y || !Wt) st = pt_fail(PT_ENOMEM, "out of memory");
    if (!st) st = pt_ridge_create(nf + 1, 1, K, &r);
    if (!st && !(st = pt_field_work_create(m, B, 0, 0, &w))) have_w = 1;
    for (size_t i0 = 0; !st && i0 < n; i0 += B) {
        size_t nb = n - i0 < B ? n - i0 : B;
        pt_field_encode(m, x + i0 * m->hw, nb, w.u);
        if ((st = pt_field_solve(m, &w, nb, stats))) break;
        pt_field_readout(m, w.z, nb, w.feat, NULL);
        for (size_t j = 0; j < nb; j++) {
            memcpy(X + j * (nf + 1), w.feat + j * nf, nf * sizeof *X);
            X[j * (nf + 1) + nf] = 1.0f; /* the bias */
            for (size_t k = 0; k < K; k++) Y[j * K + k] = y[i0 + j] == k ? 1.0f : 0.0f;
        }
        st = pt_ridge_add(r, X, Y, nb);
        if (!st && progress) progress(base + i0 + nb, total, user);
    }
    if (!st) {
        double alpha = m->c.ridge * pt_ridge_trace(r, NULL, 0) / (double)(nf + 1);
        st = pt_ridge_solve(r, NULL, 0, alpha, Wt);
        if (st) st = pt_fail(st, "field: the ridge readout cannot be solved (%s); raise field.ridge", pt_errmsg());
    }
    if (!st)
        for (size_t k = 0; k < K; k++) {
            for (size_t f = 0; f < nf; f++) m->R[k * nf + f] = (float)Wt[f * K + k];
            m->rb[k] = (float)Wt[nf * K + k];
        }
    if (have_w) pt_field_work_free(&w);
    pt_ridge_destroy(r);
    free(X), free(Y), free(Wt);
    return st;
}

pt_status pt_field_train(pt_field *m, const float *x, const uint8_t *y, size_t n, pt_field_stats *stats,
                         pt_progress_fn progress, void *user)
{
    if (n == 0) return pt_fail(PT_EINVAL, "field: no training samples");
    pt_status st = check_data(m, x, y, n);
    if (st) return st;
    const int ridge = m->c.readout == PT_FIELD_RIDGE, first = ridge && m->epochs == 0;
    /* progress counts the images of every pass: the first fit of the ridge
     * readout, the epoch, the fit after it */
    size_t passes = n * (size_t)(1 + ridge + first), done = first ? n : 0;
    if (first && (st = fit_readout(m, x, y, n, stats, progress, user, 0, passes))) return st;
    size_t B = (size_t)m->c.batch < n ? (size_t)m->c.batch : n, C = (size_t)m->c.channels;
    size_t *perm = pt_calloc(n, sizeof *perm);
    float *G = pt_calloc(m->np, sizeof *G), *GWt = pt_calloc(18 * C * C, sizeof *GWt);
    uint8_t *yb = pt_calloc(B, 1);
    fwork w;
    int have_w = 0;
    if (!perm || !G || !GWt || !yb) st = pt_fail(PT_ENOMEM, "out of memory");
    if (!st && !(st = pt_field_work_create(m, B, m->c.grad == PT_FIELD_UNROLL ? m->c.unroll : 0,
                                           m->c.grad == PT_FIELD_IMPLICIT, &w)))
        have_w = 1;
    /* a seeded shuffle (Fisher-Yates on the model's RNG) */
    for (size_t i = 0; !st && i < n; i++) perm[i] = i;
    for (size_t i = n - 1; !st && i > 0; i--) {
        size_t j = (size_t)(pt_rng_u64(&m->rng) % (uint64_t)(i + 1)), t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
    double total = 0.0;
    for (size_t i0 = 0; !st && i0 < n; i0 += B) {
        size_t nb = n - i0 < B ? n - i0 : B;
        for (size_t j = 0; j < nb; j++) {
            memcpy(w.x + j * m->hw, x + perm[i0 + j] * m->hw, m->hw * sizeof *x);
            yb[j] = y[perm[i0 + j]];
        }
        double l = 0.0;
        if ((st = grad_run(m, &w, yb, nb, &l, G, GWt, stats))) break;
        total += l;
        if (ridge) /* the readout is fitted, not stepped: no gradient reaches it */
            memset(G + (m->R - m->theta), 0, (m->np - (size_t)(m->R - m->theta)) * sizeof *G);
        pt_adam_step(m->adam, m->theta, G);
        if ((st = pt_field_refresh(m))) break;
        if (progress) progress(done + i0 + nb, passes, user);
    }
    if (!st) {
        m->epochs++;
        if (stats) stats->loss = total / (double)n;
        if (ridge) st = fit_readout(m, x, y, n, stats, progress, user, done + n, passes);
    }
    if (have_w) pt_field_work_free(&w);
    free(perm), free(G), free(GWt), free(yb);
    return st;
}
