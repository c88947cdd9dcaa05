/* The field model: configuration, parameters, the exact spectral norm on the
 * torus, the map F and its pieces (encoder, convolution by im2col and one
 * complex GEMM, activations and their Jacobians, readout), the batched
 * solves and prediction. docs/field.md derives every formula. */
#include <math.h>
#include <string.h>
#include "field/field_internal.h"
#include "linalg/linalg.h"

static const char *const act_names[] = {"modrelu", "cardioid"};
static const char *const solver_names[] = {"naive", "anderson", "multigrid"};
static const char *const readout_names[] = {"ridge", "adam"};
PT_ENUM_FUNCS(pt_field_act, pt_field_act_name, pt_field_act_parse, "field.act", act_names)
PT_ENUM_FUNCS(pt_field_solver, pt_field_solver_name, pt_field_solver_parse, "field.solver", solver_names)
PT_ENUM_FUNCS(pt_field_readout_fit, pt_field_readout_name, pt_field_readout_parse, "field.readout", readout_names)

pt_field_config pt_field_config_default(void)
{
    pt_field_config c;
    memset(&c, 0, sizeof c);
    c.height = 28, c.width = 28, c.n_classes = 10, c.channels = 16;
    c.act = PT_FIELD_MODRELU, c.act_bias = -0.1f, c.gain = 0.9f, c.alpha = 1.0f, c.pool = 1;
    c.solver = PT_FIELD_ANDERSON, c.max_iter = 100, c.tol = 1e-4, c.fixed_steps = 0;
    c.anderson_m = 5, c.anderson_lambda = 1e-4, c.mg_levels = 3;
    c.grad = PT_FIELD_IMPLICIT, c.unroll = 30, c.lr = 1e-3f, c.batch = 32, c.seed = 1;
    c.readout = PT_FIELD_RIDGE, c.ridge = 1e-4;
    return c;
}

pt_status pt_field_grad_parse(const char *s, pt_field_config *c)
{
    if (!strcmp(s, "implicit")) c->grad = PT_FIELD_IMPLICIT;
    else if (!strcmp(s, "jfb")) c->grad = PT_FIELD_JFB;
    else if (!strncmp(s, "unroll:", 7)) {
        char *end = NULL;
        long v = strtol(s + 7, &end, 10);
        if (end == s + 7 || *end || v < 1 || v > 10000)
            return pt_fail(PT_EINVAL, "field.grad '%s': unroll:N needs N in 1..10000", s);
        c->grad = PT_FIELD_UNROLL, c->unroll = (int)v;
    } else
        return pt_fail(PT_EINVAL, "field.grad '%s': expected implicit, jfb or unroll:N", s);
    return PT_OK;
}

pt_status pt_field_config_check(const pt_field_config *c)
{
#define BAD(...) return pt_fail(PT_EINVAL, __VA_ARGS__)
    if (c->height < 3 || c->height > 512 || c->width < 3 || c->width > 512)
        BAD("field: images of %d x %d pixels (need 3..512 each)", c->height, c->width);
    if (c->n_classes < 2 || c->n_classes > 256) BAD("field.n_classes %d outside 2..256", c->n_classes);
    if (c->channels < 1 || c->channels > 256) BAD("field.channels %d outside 1..256", c->channels);
    if (c->act != PT_FIELD_MODRELU && c->act != PT_FIELD_CARDIOID) BAD("field.act %d unknown", (int)c->act);
    if (!(c->act_bias <= 0.0f) || !isfinite(c->act_bias))
        BAD("field.act_bias %g must be finite and <= 0 (modReLU stays 1-Lipschitz)", (double)c->act_bias);
    if (!(c->gain > 0.0f && c->gain <= 4.0f)) BAD("field.gain %g must be in (0, 4]", (double)c->gain);
    if (!(c->alpha > 0.0f && c->alpha <= 1.0f)) BAD("field.alpha %g must be in (0, 1]", (double)c->alpha);
    if (c->pool < 1 || c->pool > c->height || c->pool > c->width)
        BAD("field.pool %d must be in 1..%d (the image's smaller side)", c->pool,
            c->height < c->width ? c->height : c->width);
    if (c->solver != PT_FIELD_NAIVE && c->solver != PT_FIELD_ANDERSON && c->solver != PT_FIELD_MULTIGRID)
        BAD("field.solver %d unknown", (int)c->solver);
    if (c->mg_levels < 1 || c->mg_levels > PT_FIELD_LEVELS) BAD("field.mg_levels %d outside 1..%d", c->mg_levels, PT_FIELD_LEVELS);
    if (c->solver == PT_FIELD_MULTIGRID && c->mg_levels > pt_multigrid_max_levels(c->height, c->width)) {
        int l = pt_multigrid_max_levels(c->height, c->width);
        BAD("field.mg_levels %d: a %d x %d image halves into only %d grid level%s (each halving needs even sides); "
            "use field.mg_levels %d%s",
            c->mg_levels, c->height, c->width, l, l == 1 ? "" : "s", l,
            l == 1 ? " (then multigrid is plain damped iteration) or field.solver anderson" : "");
    }
    if (c->max_iter < 1 || c->max_iter > 100000) BAD("field.max_iter %d outside 1..100000", c->max_iter);
    if (!(c->tol > 0.0 && c->tol < 1.0)) BAD("field.tol %g must be in (0, 1)", c->tol);
    if (c->anderson_m < 1 || c->anderson_m > 64) BAD("field.anderson_m %d outside 1..64", c->anderson_m);
    if (!(c->anderson_lambda >= 0.0) || !isfinite(c->anderson_lambda))
        BAD("field.anderson_lambda %g must be finite and >= 0", c->anderson_lambda);
    if (c->grad != PT_FIELD_IMPLICIT && c->grad != PT_FIELD_JFB && c->grad != PT_FIELD_UNROLL)
        BAD("field.grad %d unknown", (int)c->grad);
    if (c->unroll < 1 || c->unroll > 10000) BAD("field.unroll %d outside 1..10000", c->unroll);
    if (!(c->lr > 0.0f) || !isfinite(c->lr)) BAD("field.lr %g must be finite and > 0", (double)c->lr);
    if (c->batch < 1 || c->batch > 4096) BAD("field.batch %d outside 1..4096", c->batch);
    if (c->readout != PT_FIELD_RIDGE && c->readout != PT_FIELD_ADAM) BAD("field.readout %d unknown", (int)c->readout);
    if (!(c->ridge >= 0.0) || !isfinite(c->ridge)) BAD("field.ridge %g must be finite and >= 0", c->ridge);
    size_t C = (size_t)c->channels, nz = 2 * (size_t)c->height * (size_t)c->width * C;
    /* one image's workspace (states, columns) must be addressable with room */
    if (nz * 9 > ((size_t)1 << 36)) BAD("field: %d x %d x %d channels is too large", c->height, c->width, c->channels);
    return PT_OK;
#undef BAD
}

const pt_field_config *pt_field_get_config(const pt_field *m) { return &m->c; }
size_t pt_field_param_count(const pt_field *m) { return m->np; }
float *pt_field_params(pt_field *m) { return m->theta; }
const float *pt_field_params_const(const pt_field *m) { return m->theta; }
int pt_field_epochs(const pt_field *m) { return m->epochs; }

/* the parameter count and the views */
static size_t layout(pt_field *m)
{
    size_t C = (size_t)m->c.channels, k = 0;
    size_t nK = 9 * C * C * 2, nE = 9 * C * 2, neb = 2 * C, nb = m->c.act == PT_FIELD_MODRELU ? C : 0;
    size_t nR = (size_t)m->c.n_classes * m->nf, nrb = (size_t)m->c.n_classes;
    if (m->theta) {
        m->K = m->theta + k;
        m->E = m->K + nK;
        m->eb = m->E + nE;
        m->beta = nb ? m->eb + neb : NULL;
        m->R = m->eb + neb + nb;
        m->rb = m->R + nR;
    }
    return nK + nE + neb + nb + nR + nrb;
}

pt_status pt_field_create(const pt_field_config *c, pt_field **out)
{
    *out = NULL;
    pt_status st = pt_field_config_check(c);
    if (st) return st;
    pt_field *m = pt_calloc(1, sizeof *m);
    if (!m) return pt_fail(PT_ENOMEM, "out of memory for a field model");
    m->c = *c;
    size_t C = (size_t)c->channels, H = (size_t)c->height, W = (size_t)c->width, P = (size_t)c->pool;
    m->hw = H * W, m->nz = 2 * m->hw * C, m->nf = C * P * P;
    m->np = layout(m);
    m->theta = pt_calloc(m->np, sizeof *m->theta);
    m->Wa = pt_calloc(9 * C * C * 2, sizeof *m->Wa);
    m->Wb = pt_calloc(9 * C * C * 2, sizeof *m->Wb);
    m->Aa = pt_calloc(9 * C * C * 2, sizeof *m->Aa);
    m->Ab = pt_calloc(9 * C * C * 2, sizeof *m->Ab);
    for (int i = 0; i < 4; i++) m->Wino[i] = pt_calloc(16 * C * C * 2, sizeof(float));
    m->su = pt_calloc(2 * C, sizeof *m->su);
    m->sv = pt_calloc(2 * C, sizeof *m->sv);
    m->nbr = pt_calloc(m->hw * 9, sizeof *m->nbr);
    m->nlevels = pt_multigrid_max_levels(c->height, c->width);
    if (m->nlevels > PT_FIELD_LEVELS) m->nlevels = PT_FIELD_LEVELS;
    m->lnbr[0] = m->nbr, m->lhw[0] = m->hw;
    int lok = 1;
    for (int l = 1; l < m->nlevels; l++) {
        m->lhw[l] = (H >> l) * (W >> l);
        lok &= (m->lnbr[l] = pt_calloc(m->lhw[l] * 9, sizeof(int))) != NULL;
    }
    m->cell = pt_calloc(m->hw, sizeof *m->cell);
    m->cinv = pt_calloc(P * P, sizeof *m->cinv);
    pt_adam_config ac = pt_adam_config_default();
    ac.lr = c->lr;
    for (int i = 0; i < 4; i++) lok &= m->Wino[i] != NULL;
    if (!m->theta || !m->Wa || !m->Wb || !m->Aa || !m->Ab || !m->su || !m->sv || !m->nbr || !m->cell || !m->cinv || !lok ||
        pt_adam_create(&ac, m->np, &m->adam)) {
        pt_field_destroy(m);
        return pt_fail(PT_ENOMEM, "out of memory for a field model of %d channels on %d x %d", c->channels, c->height,
                       c->width);
    }
    layout(m);
    for (size_t y = 0; y < H; y++)
        for (size_t x = 0; x < W; x++) {
            size_t p = y * W + x;
            for (int d = 0; d < 9; d++) {
                size_t yy = (y + H + (size_t)(d / 3) - 1) % H, xx = (x + W + (size_t)(d % 3) - 1) % W;
                m->nbr[p * 9 + (size_t)d] = (int)(yy * W + xx);
            }
            m->cell[p] = (int)((y * P / H) * P + x * P / W);
        }
    /* cell c averages the pixels y, x with floor(y P / H) P + floor(x P / W)
     * = c: a partition into cells of floor(H / P) or ceil(H / P) rows (the
     * same columns), each weighted by 1 / its pixels */
    for (size_t p = 0; p < m->hw; p++) m->cinv[m->cell[p]] += 1.0f;
    for (size_t q = 0; q < P * P; q++) m->cinv[q] = 1.0f / m->cinv[q];
    for (int l = 1; l < m->nlevels; l++) {
        size_t h = H >> l, wd = W >> l;
        for (size_t p = 0; p < h * wd; p++)
            for (int d = 0; d < 9; d++)
                m->lnbr[l][p * 9 + (size_t)d] =
                    (int)(((p / wd + h + (size_t)(d / 3) - 1) % h) * wd + (p % wd + wd + (size_t)(d % 3) - 1) % wd);
    }
    for (int l = 0; l < m->nlevels; l++) {
        if (!pt_field_conv_winograd(m, l)) continue;
        size_t h = H >> l, wd = W >> l, tw = wd / 2, nt = (h / 2) * tw;
        if (!(m->wtab[l] = pt_calloc(nt * 16, sizeof(int)))) {
            pt_field_destroy(m);
            return pt_fail(PT_ENOMEM, "out of memory for a field model");
        }
        for (size_t t = 0; t < nt; t++)
            for (size_t r = 0; r < 4; r++)
                for (size_t q = 0; q < 4; q++)
                    m->wtab[l][t * 16 + 4 * r + q] =
                        (int)(((2 * (t / tw) + h + r - 1) % h) * wd + (2 * (t % tw) + wd + q - 1) % wd);
    }
    /* initialisation, in a fixed order from the seed */
    pt_rng_seed(&m->rng, c->seed);
    /* the PyTorch anchor's scales (bench/field_torch.py) */
    float sk = 1.0f / sqrtf(9.0f * (float)C), se = 1.0f / 3.0f;
    float sr = 1.0f / sqrtf((float)(m->nf + (size_t)c->n_classes));
    for (size_t i = 0; i < 9 * C * C * 2; i++) m->K[i] = sk * pt_rng_normal(&m->rng);
    for (size_t i = 0; i < 9 * C * 2; i++) m->E[i] = se * pt_rng_normal(&m->rng);
    for (size_t i = 0; i < (size_t)c->n_classes * m->nf; i++) m->R[i] = sr * pt_rng_normal(&m->rng);
    for (size_t i = 0; m->beta && i < C; i++) m->beta[i] = c->act_bias;
    if ((st = pt_field_refresh(m))) {
        pt_field_destroy(m);
        return st;
    }
    *out = m;
    return PT_OK;
}

void pt_field_destroy(pt_field *m)
{
    if (!m) return;
    for (int l = 1; l < PT_FIELD_LEVELS; l++) free(m->lnbr[l]);
    free(m->theta), free(m->Wa), free(m->Wb), free(m->Aa), free(m->Ab), free(m->su), free(m->sv), free(m->nbr), free(m->cell);
    free(m->cinv);
    for (int i = 0; i < 4; i++) free(m->Wino[i]), free(m->wtab[i]);
    pt_adam_destroy(m->adam);
    free(m);
}

pt_status pt_field_set_run(pt_field *m, const pt_field_config *r)
{
    pt_field_config c = m->c;
    c.solver = r->solver, c.max_iter = r->max_iter, c.tol = r->tol, c.fixed_steps = r->fixed_steps;
    c.anderson_m = r->anderson_m, c.anderson_lambda = r->anderson_lambda, c.alpha = r->alpha, c.mg_levels = r->mg_levels;
    c.grad = r->grad, c.unroll = r->unroll, c.lr = r->lr, c.batch = r->batch;
    c.readout = r->readout, c.ridge = r->ridge, c.free_bias = r->free_bias;
    pt_status st = pt_field_config_check(&c);
    if (st) return st;
    m->c = c;
    pt_adam_config ac = pt_adam_config_default();
    ac.lr = c.lr;
    pt_adam_set_lr(m->adam, ac.lr);
    return PT_OK;
}

/* ---- the exact operator norm on the torus ---- */

/* Khat(ky, kx)[co][ci] = sum_d K[d][co][ci] e^{i phi_d}, phi_d = 2 pi (ky (dy - 1) / H + kx (dx - 1) / W) */
static void symbol(const pt_field *m, int ky, int kx, double *Kh)
{
    size_t C = (size_t)m->c.channels;
    memset(Kh, 0, 2 * C * C * sizeof *Kh);
    for (int d = 0; d < 9; d++) {
        double ph = 6.283185307179586 * ((double)ky * (d / 3 - 1) / m->c.height + (double)kx * (d % 3 - 1) / m->c.width);
        double cr = cos(ph), ci = sin(ph);
        const float *Kd = m->K + (size_t)d * C * C * 2;
        for (size_t k = 0; k < C * C; k++) {
            double ar = (double)Kd[2 * k], ai = (double)Kd[2 * k + 1];
            Kh[2 * k] += ar * cr - ai * ci;
            Kh[2 * k + 1] += ar * ci + ai * cr;
        }
    }
}

/* M = Kh^H Kh (C x C Hermitian) */
static void gram(const double *Kh, size_t C, double *M)
{
    for (size_t i = 0; i < C; i++)
        for (size_t j = 0; j < C; j++) {
            double sr = 0.0, si = 0.0;
            for (size_t k = 0; k < C; k++) {
                double ar = Kh[2 * (k * C + i)], ai = -Kh[2 * (k * C + i) + 1]; /* conj(Kh[k][i]) */
                double br = Kh[2 * (k * C + j)], bi = Kh[2 * (k * C + j) + 1];
                sr += ar * br - ai * bi, si += ar * bi + ai * br;
            }
            M[2 * (i * C + j)] = sr, M[2 * (i * C + j) + 1] = si;
        }
}

/* Winograd's F(2x2, 3x3) (Lavin & Gray 2016): a 2x2 block of outputs of the
 * 3x3 correlation from the 4x4 block of inputs around it, as
 * Y = A^T [(G g G^T) . (B^T d B)] A, with
 *   G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  A^T = [1 1 1 0; 0 1 -1 -1].
 * All three are real, so they act on the real and imaginary parts alike,
 * and on the split kernels (Wa, Wb) as on the kernel itself. The 16
 * products become 16 C x C complex matrix-vector products per block instead
 * of the direct convolution's 36 (2.25 times fewer multiplications). */
static const float WG[4][3] = {{1.0f, 0.0f, 0.0f}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f}, {0.0f, 0.0f, 1.0f}};

/* U[(xi C + ci) 2C + k] = sum_{i,j} G[a][i] G[b][j] X[((3 i + j) C + ci) 2C + k], xi = 4 a + b */
static void wino_kernel(const float *X, size_t C, float *U)
{
    size_t C2 = 2 * C;
    for (size_t a = 0; a < 4; a++)
        for (size_t b = 0; b < 4; b++)
            for (size_t r = 0; r < C * C2; r++) {
                float acc = 0.0f;
                for (size_t i = 0; i < 3; i++)
                    for (size_t j = 0; j < 3; j++)
                        acc += WG[a][i] * WG[b][j] * X[(i * 3 + j) * C * C2 + r];
                U[(a * 4 + b) * C * C2 + r] = acc;
            }
}

pt_status pt_field_refresh(pt_field *m)
{
    size_t C = (size_t)m->c.channels;
    for (size_t i = 0; m->beta && i < C; i++)
        if (m->beta[i] > 0.0f && !m->c.free_bias) m->beta[i] = 0.0f;
    double *Kh = pt_calloc(2 * C * C, sizeof *Kh), *M = pt_calloc(2 * C * C, sizeof *M), *v = pt_calloc(2 * C, sizeof *v);
    if (!Kh || !M || !v) {
        free(Kh), free(M), free(v);
        return pt_fail(PT_ENOMEM, "out of memory");
    }
    double best = -1.0;
    pt_status st = PT_OK;
    for (int ky = 0; ky < m->c.height && !st; ky++)
        for (int kx = 0; kx < m->c.width && !st; kx++) {
            double lam = 0.0;
            symbol(m, ky, kx, Kh);
            gram(Kh, C, M);
            if (pt_zheev_top(M, C, &lam, v) != 0) st = pt_fail(PT_ENOCONV, "field: the spectral norm's eigensolver failed");
            else if (lam > best) {
                best = lam, m->sky = ky, m->skx = kx;
                memcpy(m->sv, v, 2 * C * sizeof *v);
            }
        }
    double sigma = sqrt(best > 0.0 ? best : 0.0);
    if (!st && !(sigma > 0.0 && isfinite(sigma)))
        st = pt_fail(PT_ENOCONV, "field: the kernel's norm is %g (a zero or non-finite kernel)", sigma);
    if (!st) {
        m->sigma = sigma;
        /* u = Khat v / sigma at the maximum */
        symbol(m, m->sky, m->skx, Kh);
        for (size_t i = 0; i < C; i++) {
            double sr = 0.0, si = 0.0;
            for (size_t k = 0; k < C; k++) {
                double ar = Kh[2 * (i * C + k)], ai = Kh[2 * (i * C + k) + 1], br = m->sv[2 * k], bi = m->sv[2 * k + 1];
                sr += ar * br - ai * bi, si += ar * bi + ai * br;
            }
            m->su[2 * i] = sr / sigma, m->su[2 * i + 1] = si / sigma;
        }
        float s = (float)((double)m->c.gain / sigma);
        /* w = s K[d][co][ci] goes to row (d C + ci), column co of (Wa, Wb);
         * its conjugate to row ((8 - d) C + co), column ci of (Aa, Ab) */
        for (size_t d = 0; d < 9; d++)
            for (size_t co = 0; co < C; co++)
                for (size_t ci = 0; ci < C; ci++) {
                    const float *k = m->K + 2 * ((d * C + co) * C + ci);
                    float wr = s * k[0], wi = s * k[1];
                    size_t f = 2 * ((d * C + ci) * C + co), b = 2 * (((8 - d) * C + co) * C + ci);
                    m->Wa[f] = wr, m->Wa[f + 1] = wi, m->Wb[f] = -wi, m->Wb[f + 1] = wr;
                    m->Aa[b] = wr, m->Aa[b + 1] = -wi, m->Ab[b] = wi, m->Ab[b + 1] = wr;
                }
        const float *split[4] = {m->Wa, m->Wb, m->Aa, m->Ab};
        for (int i = 0; i < 4; i++) wino_kernel(split[i], C, m->Wino[i]);
    }
    free(Kh), free(M), free(v);
    return st;
}

pt_status pt_field_params_changed(pt_field *m) { return pt_field_refresh(m); }

pt_status pt_field_spectral(const pt_field *m, double *norm, int *ky, int *kx, double *lipschitz, int *guaranteed)
{
    double L = (double)m->c.gain * (m->c.act == PT_FIELD_CARDIOID ? PT_FIELD_CARDIOID_LIP : 1.0);
    if (norm) *norm = m->sigma;
    if (ky) *ky = m->sky;
    if (kx) *kx = m->skx;
    if (lipschitz) *lipschitz = L;
    int neg = 1;
    for (int i = 0; m->beta && i < m->c.channels; i++) neg &= m->beta[i] <= 0.0f;
    if (guaranteed) *guaranteed = L < 1.0 && neg;
    return PT_OK;
}

/* ---- the map ---- */

void pt_field_encode(const pt_field *m, const float *x, size_t n, float *u)
{
    size_t C = (size_t)m->c.channels, hw = m->hw;
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * hw;
        float *ui = u + i * m->nz;
        for (size_t p = 0; p < hw; p++) {
            float *up = ui + 2 * p * C;
            for (size_t c = 0; c < C; c++) up[2 * c] = m->eb[2 * c], up[2 * c + 1] = m->eb[2 * c + 1];
            for (size_t d = 0; d < 9; d++) {
                float v = xi[m->nbr[p * 9 + d]];
                const float *Ed = m->E + 2 * d * C;
                for (size_t c = 0; c < C; c++) up[2 * c] += v * Ed[2 * c], up[2 * c + 1] += v * Ed[2 * c + 1];
            }
        }
    }
}

/* cols (na hw, 9 C complex) from na states */
void pt_field_im2col(const pt_field *m, const float *z, size_t na, float *cols)
{
    size_t C = (size_t)m->c.channels, hw = m->hw;
    for (size_t j = 0; j < na; j++) {
        const float *zj = z + j * m->nz;
        float *cj = cols + j * hw * 18 * C;
        for (size_t p = 0; p < hw; p++)
            for (size_t d = 0; d < 9; d++)
                memcpy(cj + (p * 9 + d) * 2 * C, zj + (size_t)m->nbr[p * 9 + d] * 2 * C, 2 * C * sizeof *z);
    }
}

/* out (na states) = the 3x3 torus convolution of z with the kernel split as
 * (Xa, Xb), directly: for each pixel, out += Re(z) Xa + Im(z) Xb over the 9
 * neighbours and C input channels, CONV_PIX pixels at a time so that each
 * row of the kernel is loaded once for all of them. The body is instantiated
 * for the common channel counts, whose constant row length the compiler turns
 * into whole vector registers, and once for any other (docs/field.md,
 * "Speed"). */
#define CONV_PIX 8
#define CONV_BODY(C2EXPR)                                                                               \
    (void)m;                                                                                            \
    const size_t C2 = (C2EXPR), C = C2 / 2;                                                             \
    for (size_t j = 0; j < na; j++) {                                                                   \
        const float *zj = z + j * hw * C2;                                                              \
        float *oj = out + j * hw * C2;                                                                  \
        for (size_t p0 = 0; p0 < hw; p0 += CONV_PIX) {                                                  \
            size_t np = hw - p0 < CONV_PIX ? hw - p0 : CONV_PIX;                                        \
            _Alignas(64) float acc[CONV_PIX][C2EXPR_MAX];                                                 \
            const float *src[CONV_PIX];                                                                 \
            for (size_t q = 0; q < CONV_PIX; q++) memset(acc[q], 0, C2 * sizeof(float));                \
            for (size_t d = 0; d < 9; d++) {                                                            \
                for (size_t q = 0; q < CONV_PIX; q++)                                                   \
                    src[q] = zj + (size_t)nbr[(p0 + (q < np ? q : 0)) * 9 + d] * C2;                    \
                for (size_t ci = 0; ci < C; ci++) {                                                     \
                    const float *restrict wa = Xa + (d * C + ci) * C2, *restrict wb = Xb + (d * C + ci) * C2; \
                    for (size_t q = 0; q < CONV_PIX; q++) {                                             \
                        const float zr = src[q][2 * ci], zi = src[q][2 * ci + 1];                       \
                        float *restrict a = acc[q];                                                     \
                        for (size_t k = 0; k < C2; k++) a[k] += zr * wa[k], a[k] += zi * wb[k];                \
                    }                                                                                   \
                }                                                                                       \
            }                                                                                           \
            for (size_t q = 0; q < np; q++) memcpy(oj + (p0 + q) * C2, acc[q], C2 * sizeof(float));     \
        }                                                                                               \
    }
#define CONV_FN(name, C2EXPR)                                                                           \
    static void name(const pt_field *m, const int *nbr, size_t hw, const float *restrict Xa,            \
                     const float *restrict Xb, const float *restrict z, size_t na, float *restrict out) \
    {                                                                                                   \
        CONV_BODY(C2EXPR)                                                                               \
    }
#define C2EXPR_MAX 512
CONV_FN(conv_any, 2 * (size_t)m->c.channels)
#undef C2EXPR_MAX
#define C2EXPR_MAX 16
CONV_FN(conv_16, 16)
#undef C2EXPR_MAX
#define C2EXPR_MAX 32
CONV_FN(conv_32, 32)
#undef C2EXPR_MAX
#define C2EXPR_MAX 40
CONV_FN(conv_40, 40)
#undef C2EXPR_MAX
#define C2EXPR_MAX 48
CONV_FN(conv_48, 48)
#undef C2EXPR_MAX
#define C2EXPR_MAX 64
CONV_FN(conv_64, 64)
#undef C2EXPR_MAX

/* The convolution by Winograd's F(2x2, 3x3) on an h x w torus (both even),
 * WINO_TILES blocks of 2x2 outputs at a time: their 16 transformed inputs per
 * channel (V), the 16 matrix-vector products with the transformed kernel (Ua,
 * Ub split as Xa, Xb) blocked like the direct convolution (M), and the
 * inverse transform into out; V and M stay in the first-level cache. The
 * products take WINO_QB blocks at a time, as many as keep their sums in
 * vector registers. tab
 * holds the 16 input pixels of each block (pt_field_create). */
#define WINO_TILES 8
#define WINO_BODY(C2EXPR)                                                                                \
    const size_t C2 = (C2EXPR), C = C2 / 2, th = h / 2, tw = w / 2, nt = th * tw;                        \
    _Alignas(64) float V[16][WINO_TILES][C2EXPR_MAX];                                                    \
    _Alignas(64) float M[16][WINO_TILES][C2EXPR_MAX];                                                    \
    for (size_t j = 0; j < na; j++) {                                                                    \
        const float *zj = z + j * h * w * C2;                                                            \
        float *oj = out + j * h * w * C2;                                                                \
        for (size_t t0 = 0; t0 < nt; t0 += WINO_TILES) {                                                 \
            size_t nq = nt - t0 < WINO_TILES ? nt - t0 : WINO_TILES;                                     \
            for (size_t q = 0; q < nq; q++) {                                                            \
                size_t ty = (t0 + q) / tw, tx = (t0 + q) % tw;                                           \
                const float *row[4][4];                                                                  \
                const int *tp = tab + (t0 + q) * 16;                                                     \
                (void)ty, (void)tx;                                                                      \
                for (size_t r = 0; r < 4; r++)                                                           \
                    for (size_t c = 0; c < 4; c++) row[r][c] = zj + (size_t)tp[4 * r + c] * C2;          \
                for (size_t k = 0; k < C2; k++) {                                                        \
                    float d[4][4], t[4][4];                                                              \
                    for (size_t r = 0; r < 4; r++)                                                       \
                        for (size_t c = 0; c < 4; c++) d[r][c] = row[r][c][k];                           \
                    for (size_t c = 0; c < 4; c++) {                                                     \
                        t[0][c] = d[0][c] - d[2][c], t[1][c] = d[1][c] + d[2][c];                        \
                        t[2][c] = d[2][c] - d[1][c], t[3][c] = d[1][c] - d[3][c];                        \
                    }                                                                                    \
                    for (size_t r = 0; r < 4; r++) {                                                     \
                        V[4 * r][q][k] = t[r][0] - t[r][2], V[4 * r + 1][q][k] = t[r][1] + t[r][2];      \
                        V[4 * r + 2][q][k] = t[r][2] - t[r][1], V[4 * r + 3][q][k] = t[r][1] - t[r][3];  \
                    }                                                                                    \
                }                                                                                        \
            }                                                                                            \
            for (size_t xi = 0; xi < 16; xi++)                                                           \
                for (size_t q0 = 0; q0 < WINO_TILES; q0 += WINO_QB) {                                    \
                    _Alignas(64) float acc[WINO_QB][C2EXPR_MAX];                                         \
                    for (size_t q = 0; q < WINO_QB; q++)                                                 \
                        for (size_t k = 0; k < C2; k++) acc[q][k] = 0.0f;                                \
                    for (size_t ci = 0; ci < C; ci++) {                                                  \
                        const float *restrict ua = Ua + (xi * C + ci) * C2;                              \
                        const float *restrict ub = Ub + (xi * C + ci) * C2;                              \
                        for (size_t q = 0; q < WINO_QB; q++) {                                           \
                            const float vr = V[xi][q0 + q][2 * ci], vi = V[xi][q0 + q][2 * ci + 1];      \
                            float *restrict a = acc[q];                                                  \
                            for (size_t k = 0; k < C2; k++) a[k] += vr * ua[k], a[k] += vi * ub[k];      \
                        }                                                                                \
                    }                                                                                    \
                    for (size_t q = 0; q < WINO_QB; q++) memcpy(M[xi][q0 + q], acc[q], C2 * sizeof(float)); \
                }                                                                                        \
            for (size_t q = 0; q < nq; q++) {                                                            \
                size_t ty = (t0 + q) / tw, tx = (t0 + q) % tw;                                           \
                float *o00 = oj + ((2 * ty) * w + 2 * tx) * C2, *o10 = o00 + w * C2;                     \
                for (size_t k = 0; k < C2; k++) {                                                        \
                    float s[2][4];                                                                       \
                    for (size_t c = 0; c < 4; c++) {                                                     \
                        s[0][c] = M[c][q][k] + M[4 + c][q][k] + M[8 + c][q][k];                          \
                        s[1][c] = M[4 + c][q][k] - M[8 + c][q][k] - M[12 + c][q][k];                     \
                    }                                                                                    \
                    o00[k] = s[0][0] + s[0][1] + s[0][2], o00[C2 + k] = s[0][1] - s[0][2] - s[0][3];     \
                    o10[k] = s[1][0] + s[1][1] + s[1][2], o10[C2 + k] = s[1][1] - s[1][2] - s[1][3];     \
                }                                                                                        \
            }                                                                                            \
        }                                                                                                \
    }
#define WINO_FN(name, C2EXPR)                                                                            \
    static void name(size_t h, size_t w, const int *tab, const float *restrict Ua,                       \
                     const float *restrict Ub, const float *restrict z, size_t na, float *restrict out)  \
    {                                                                                                    \
        WINO_BODY(C2EXPR)                                                                                \
    }
#define C2EXPR_MAX 16
#define WINO_QB 8
WINO_FN(wino_16, 16)
#undef WINO_QB
#undef C2EXPR_MAX
#define C2EXPR_MAX 32
#define WINO_QB 8
WINO_FN(wino_32, 32)
#undef WINO_QB
#undef C2EXPR_MAX
#define C2EXPR_MAX 40
#define WINO_QB 4
WINO_FN(wino_40, 40)
#undef WINO_QB
#undef C2EXPR_MAX
#define C2EXPR_MAX 48
#define WINO_QB 4
WINO_FN(wino_48, 48)
#undef WINO_QB
#undef C2EXPR_MAX
#define C2EXPR_MAX 64
#define WINO_QB 4
WINO_FN(wino_64, 64)
#undef WINO_QB
#undef C2EXPR_MAX

int pt_field_conv_winograd(const pt_field *m, int l)
{
    int C = m->c.channels;
    return (C == 8 || C == 16 || C == 20 || C == 24 || C == 32) && ((m->c.height >> l) % 2) == 0 && ((m->c.width >> l) % 2) == 0;
}

/* on grid level l (the torus of (H >> l) x (W >> l) pixels) */
static void conv_direct(const pt_field *m, int l, const float *Xa, const float *Xb, const float *z, size_t na,
                        float *out)
{
    const int *nbr = m->lnbr[l];
    size_t hw = m->lhw[l];
    switch (m->c.channels) {
    case 8: conv_16(m, nbr, hw, Xa, Xb, z, na, out); break;
    case 16: conv_32(m, nbr, hw, Xa, Xb, z, na, out); break;
    case 20: conv_40(m, nbr, hw, Xa, Xb, z, na, out); break;
    case 24: conv_48(m, nbr, hw, Xa, Xb, z, na, out); break;
    case 32: conv_64(m, nbr, hw, Xa, Xb, z, na, out); break;
    default: conv_any(m, nbr, hw, Xa, Xb, z, na, out);
    }
}

void pt_field_conv(const pt_field *m, int l, int adjoint, int method, const float *z, size_t na, float *out)
{
    if (method == 0) method = pt_field_conv_winograd(m, l) ? 2 : 1;
    if (method == 1) {
        conv_direct(m, l, adjoint ? m->Aa : m->Wa, adjoint ? m->Ab : m->Wb, z, na, out);
        return;
    }
    const float *Ua = m->Wino[adjoint ? 2 : 0], *Ub = m->Wino[adjoint ? 3 : 1];
    size_t h = (size_t)(m->c.height >> l), w = (size_t)(m->c.width >> l);
    switch (m->c.channels) {
    case 8: wino_16(h, w, m->wtab[l], Ua, Ub, z, na, out); break;
    case 16: wino_32(h, w, m->wtab[l], Ua, Ub, z, na, out); break;
    case 20: wino_40(h, w, m->wtab[l], Ua, Ub, z, na, out); break;
    case 24: wino_48(h, w, m->wtab[l], Ua, Ub, z, na, out); break;
    default: wino_64(h, w, m->wtab[l], Ua, Ub, z, na, out);
    }
}

static inline void act1(pt_field_act a, float beta, float xr, float xi, float *yr, float *yi)
{
    float r = sqrtf(xr * xr + xi * xi);
    float s;
    if (!(r > 0.0f)) s = 0.0f;
    else if (a == PT_FIELD_MODRELU) s = r + beta > 0.0f ? (r + beta) / r : 0.0f;
    else s = 0.5f * (1.0f + xr / r);
    *yr = s * xr, *yi = s * xi;
}

/* pre += u, out = modReLU(pre) for hw pixels of C channels: the real and
 * imaginary parts gathered into separate rows of C so that the loop over
 * channels is straight vector code (the same operations, in the same order,
 * on each value as act1) */
static void modrelu_add(float *restrict pre, const float *restrict u, const float *restrict beta, size_t hw, size_t C,
                        float *restrict out)
{
    for (size_t p = 0; p < hw; p++) {
        float *restrict x = pre + 2 * p * C;
        const float *restrict up = u + 2 * p * C;
        float *restrict o = out + 2 * p * C;
        for (size_t c = 0; c < C; c++) {
            float xr = x[2 * c] + up[2 * c], xi = x[2 * c + 1] + up[2 * c + 1];
            x[2 * c] = xr, x[2 * c + 1] = xi;
            float r = sqrtf(xr * xr + xi * xi), num = r + beta[c];
            num = num > 0.0f ? num : 0.0f;
            float sc = r > 0.0f ? num / r : 0.0f;
            o[2 * c] = sc * xr, o[2 * c + 1] = sc * xi;
        }
    }
}

typedef struct apply_job {
    const pt_field *m;
    int l;
    const float *z, *u;
    int adjoint;
    const size_t *items;
    float *pre, *out;
    int act; /* 0: the convolution alone (the adjoint) */
} apply_job;

static void apply_range(void *user, size_t lo, size_t hi)
{
    const apply_job *a = user;
    const pt_field *m = a->m;
    size_t C = (size_t)m->c.channels, hw = m->lhw[a->l], nz = 2 * hw * C;
    pt_field_conv(m, a->l, a->adjoint, 0, a->z + lo * nz, hi - lo, a->pre + lo * nz);
    for (size_t j = lo; a->act && j < hi; j++) {
        const float *u = a->u;
        const size_t *items = a->items;
        float *pre = a->pre, *out = a->out;
        const float *uj = u + (items ? items[j] : j) * nz;
        float *pj = pre + j * nz, *oj = out + j * nz;
        if (m->c.act == PT_FIELD_MODRELU)
            modrelu_add(pj, uj, m->beta, hw, C, oj);
        else {
            for (size_t k = 0; k < nz; k++) pj[k] += uj[k];
            for (size_t k = 0; k < nz; k += 2) act1(m->c.act, 0.0f, pj[k], pj[k + 1], &oj[k], &oj[k + 1]);
        }
    }
}

/* F on level l; images split over the library's threads (each its own rows) */
void pt_field_apply_level(const pt_field *m, int l, const float *z, size_t na, const size_t *items, const float *u,
                          float *pre, float *out)
{
    apply_job a = {m, l, z, u, 0, items, pre, out, 1};
    pt_parallel_for(na, apply_range, &a);
}

void pt_field_apply(const pt_field *m, fwork *w, const float *z, size_t na, const size_t *items, const float *u,
                    float *pre, float *out)
{
    (void)w;
    pt_field_apply_level(m, 0, z, na, items, u, pre, out);
}

void pt_field_act_back(const pt_field *m, const float *pre, const float *v, size_t n, float *out, float *gbeta)
{
    size_t C = (size_t)m->c.channels, nz = m->nz;
    for (size_t k = 0; k < n * nz; k += 2) {
        double xr = (double)pre[k], xi = (double)pre[k + 1], vr = (double)v[k], vi = (double)v[k + 1];
        double r = sqrt(xr * xr + xi * xi), o0 = 0.0, o1 = 0.0;
        if (r > 0.0 && m->c.act == PT_FIELD_MODRELU) {
            size_t c = (k / 2) % C;
            double b = (double)m->beta[c];
            if (r + b > 0.0) {
                /* J = I + b (I - e e^T) / r, symmetric; e = x / r */
                double er = xr / r, ei = xi / r, ev = er * vr + ei * vi;
                o0 = vr + b / r * (vr - er * ev), o1 = vi + b / r * (vi - ei * ev);
                if (gbeta) gbeta[c] += (float)ev; /* d out / d b = e */
            }
        } else if (r > 0.0) {
            /* out = s x, s = (1 + xr / r) / 2: J = s I + x grad(s)^T,
             * grad(s) = (e1 - xr x / r^2) / (2 r); J^T v = s v + grad(s) (x . v) */
            double s = 0.5 * (1.0 + xr / r), xv = xr * vr + xi * vi, q = 1.0 / (2.0 * r), t = xr / (r * r);
            o0 = s * vr + q * (1.0 - t * xr) * xv, o1 = s * vi + q * (-t * xi) * xv;
        }
        out[k] = (float)o0, out[k + 1] = (float)o1;
    }
}

void pt_field_conv_adj(const pt_field *m, fwork *w, const float *v, size_t n, float *out)
{
    (void)w;
    apply_job a = {m, 0, v, NULL, 1, NULL, out, NULL, 0};
    pt_parallel_for(n, apply_range, &a);
}

void pt_field_readout(const pt_field *m, const float *z, size_t n, float *feat, float *logits)
{
    size_t C = (size_t)m->c.channels, hw = m->hw, nf = m->nf, K = (size_t)m->c.n_classes;
    for (size_t i = 0; i < n; i++) {
        const float *zi = z + i * m->nz;
        float *fi = feat + i * nf;
        memset(fi, 0, nf * sizeof *fi);
        for (size_t p = 0; p < hw; p++) {
            float *fc = fi + (size_t)m->cell[p] * C;
            const float *zp = zi + 2 * p * C;
            for (size_t c = 0; c < C; c++) fc[c] += sqrtf(zp[2 * c] * zp[2 * c] + zp[2 * c + 1] * zp[2 * c + 1]);
        }
        for (size_t f = 0; f < nf; f++) fi[f] *= m->cinv[f / C];
        for (size_t k = 0; logits && k < K; k++) {
            float s = m->rb[k];
            const float *Rk = m->R + k * nf;
            for (size_t f = 0; f < nf; f++) s += Rk[f] * fi[f];
            logits[i * K + k] = s;
        }
    }
}

/* ---- solves ---- */

pt_fixpoint_config pt_field_solver_config(const pt_field *m)
{
    pt_fixpoint_config s = pt_fixpoint_config_default();
    /* (multigrid's adjoint runs Anderson) */
    s.method = m->c.solver == PT_FIELD_NAIVE ? PT_FIXPOINT_NAIVE : PT_FIXPOINT_ANDERSON;
    s.max_iter = m->c.max_iter;
    s.tol = m->c.fixed_steps ? 1e-300 : m->c.tol;
    s.damping = m->c.alpha;
    s.memory = m->c.anderson_m;
    s.lambda = m->c.anderson_lambda;
    /* as many images stepped together as there are threads to share them:
     * each image's Anderson history (2 m states) then stays in its core's
     * cache (measured: 7.4 s against 10.2 s for one epoch of 1,000 images
     * with the batch of 32 together); the results do not depend on it */
    s.group = pt_threads();
    return s;
}

pt_status pt_field_work_create(const pt_field *m, size_t cap, int steps, int adjoint, fwork *w)
{
    memset(w, 0, sizeof *w);
    size_t nz = m->nz, C = (size_t)m->c.channels;
    w->cap = cap, w->steps = steps;
    w->x = pt_calloc(cap * m->hw, sizeof *w->x);
    w->u = pt_calloc(cap, nz * sizeof *w->u);
    w->z = pt_calloc(cap, nz * sizeof *w->z);
    w->pre = pt_calloc(cap, nz * sizeof *w->pre);
    w->g = pt_calloc(cap, nz * sizeof *w->g);
    w->t1 = pt_calloc(cap, nz * sizeof *w->t1);
    w->t2 = pt_calloc(cap, nz * sizeof *w->t2);
    w->cols = pt_calloc(cap * m->hw, 18 * C * sizeof *w->cols);
    w->feat = pt_calloc(cap, m->nf * sizeof *w->feat);
    w->logits = pt_calloc(cap, (size_t)m->c.n_classes * sizeof *w->logits);
    w->info = pt_calloc(cap, sizeof *w->info);
    w->ainfo = pt_calloc(cap, sizeof *w->ainfo);
    int ok = w->x && w->u && w->z && w->pre && w->g && w->t1 && w->t2 && w->cols && w->feat && w->logits && w->info &&
             w->ainfo;
    if (ok && steps > 0) {
        w->zs = pt_calloc((size_t)steps + 1, cap * nz * sizeof *w->zs);
        w->pres = pt_calloc((size_t)steps, cap * nz * sizeof *w->pres);
        ok = w->zs && w->pres;
    }
    pt_fixpoint_config sc = pt_field_solver_config(m);
    if (ok && steps == 0 && m->c.solver == PT_FIELD_MULTIGRID) {
        pt_multigrid_config mc = pt_multigrid_config_default();
        mc.levels = m->c.mg_levels, mc.damping = m->c.alpha, mc.max_cycles = m->c.max_iter;
        mc.tol = m->c.fixed_steps ? 1e-300 : m->c.tol;
        ok = pt_multigrid_create(&mc, m->c.height, m->c.width, 2 * m->c.channels, cap, &w->mg) == PT_OK;
        for (int l = 1; ok && l < m->c.mg_levels; l++) ok = (w->ul[l] = pt_calloc(cap, m->lhw[l] * 2 * C * sizeof(float))) != NULL;
    } else if (ok && steps == 0)
        ok = pt_fixpoint_create_batch(&sc, nz, cap, &w->fwd) == PT_OK;
    if (ok && adjoint) {
        sc.tol = m->c.tol; /* the adjoint always solves to the tolerance */
        if (sc.method == PT_FIXPOINT_NAIVE && m->c.solver == PT_FIELD_MULTIGRID) sc.method = PT_FIXPOINT_ANDERSON;
        ok = pt_fixpoint_create_batch(&sc, nz, cap, &w->adj) == PT_OK;
    }
    if (!ok) {
        pt_field_work_free(w);
        return pt_fail(PT_ENOMEM, "out of memory for the field's workspace of %zu images", cap);
    }
    return PT_OK;
}

void pt_field_work_free(fwork *w)
{
    free(w->x), free(w->u), free(w->z), free(w->pre), free(w->g), free(w->t1), free(w->t2), free(w->cols);
    free(w->feat), free(w->logits), free(w->info), free(w->ainfo), free(w->zs), free(w->pres);
    pt_fixpoint_destroy(w->fwd);
    pt_fixpoint_destroy(w->adj);
    pt_multigrid_destroy(w->mg);
    for (int l = 1; l < PT_FIELD_LEVELS; l++) free(w->ul[l]);
    memset(w, 0, sizeof *w);
}

typedef struct fctx {
    const pt_field *m;
    fwork *w;
    float *states; /* pt_field_equilibrium: the iterates seen */
    int nstates, seen;
} fctx;

static pt_status forward_f(void *user, const float *z, float *fz, const size_t *items, size_t na)
{
    fctx *f = user;
    fwork *w = f->w;
    if (f->states && f->seen < f->nstates) memcpy(f->states + (size_t)f->seen * f->m->nz, z, f->m->nz * sizeof *z);
    f->seen++;
    pt_field_apply(f->m, w, z, na, items, w->u, w->t1, fz);
    return PT_OK;
}

static pt_status mg_f(void *user, int level, const float *z, float *fz, const size_t *items, size_t na)
{
    fctx *f = user;
    fwork *w = f->w;
    if (level == 0) {
        if (f->states && f->seen < f->nstates) memcpy(f->states + (size_t)f->seen * f->m->nz, z, f->m->nz * sizeof *z);
        f->seen++;
    }
    pt_field_apply_level(f->m, level, z, na, items, level ? w->ul[level] : w->u, w->t1, fz);
    return PT_OK;
}

/* the batch's solve by the workspace's solver, from w->z */
static pt_status run_solver(const pt_field *m, fwork *w, fctx *f, size_t n)
{
    if (!w->mg) return pt_fixpoint_solve_batch(w->fwd, forward_f, f, w->z, n, w->info);
    for (int l = 1; l < m->c.mg_levels; l++) pt_multigrid_restrict(w->mg, l - 1, l == 1 ? w->u : w->ul[l - 1], w->ul[l], n);
    return pt_multigrid_solve(w->mg, mg_f, f, w->z, n, w->info);
}

static void count(const pt_field *m, const pt_fixpoint_info *info, size_t n, size_t *images, size_t *unconv,
                  double *evals)
{
    for (size_t i = 0; i < n; i++) {
        *images += 1;
        *evals += info[i].work;
        if (!(info[i].residual < m->c.tol)) *unconv += 1;
    }
}

pt_status pt_field_solve(const pt_field *m, fwork *w, size_t n, pt_field_stats *stats)
{
    memcpy(w->z, w->u, n * m->nz * sizeof *w->z);
    for (size_t i = 0; i < n; i++) w->info[i] = (pt_fixpoint_info){.history = NULL};
    fctx f = {m, w, NULL, 0, 0};
    pt_status st = run_solver(m, w, &f, n);
    if (st) return st;
    if (stats) count(m, w->info, n, &stats->images, &stats->unconverged, &stats->evals);
    for (size_t i = 0; i < n; i++)
        if (w->info[i].nonfinite)
            return pt_fail(PT_ENOCONV, "field: the state of an image turned non-finite after %d iterations",
                           w->info[i].iterations);
    return PT_OK;
}

#define PREDICT_BATCH 32

pt_status pt_field_predict(const pt_field *m, const float *x, size_t n, uint8_t *pred, float *logits,
                           pt_field_stats *stats, pt_progress_fn progress, void *user)
{
    if (n == 0) return PT_OK;
    size_t cap = n < PREDICT_BATCH ? n : PREDICT_BATCH, K = (size_t)m->c.n_classes;
    for (size_t i = 0; i < n * m->hw; i++)
        if (!isfinite(x[i])) return pt_fail(PT_EINVAL, "field: image %zu has a non-finite pixel", i / m->hw);
    fwork w;
    pt_status st = pt_field_work_create(m, cap, 0, 0, &w);
    for (size_t i0 = 0; !st && i0 < n; i0 += cap) {
        size_t nb = n - i0 < cap ? n - i0 : cap;
        pt_field_encode(m, x + i0 * m->hw, nb, w.u);
        if ((st = pt_field_solve(m, &w, nb, stats))) break;
        pt_field_readout(m, w.z, nb, w.feat, w.logits);
        for (size_t i = 0; i < nb; i++) {
            const float *l = w.logits + i * K;
            size_t best = 0;
            for (size_t k = 1; k < K; k++)
                if (l[k] > l[best]) best = k;
            if (pred) pred[i0 + i] = (uint8_t)best;
            if (logits) memcpy(logits + (i0 + i) * K, l, K * sizeof *l);
        }
        if (progress) progress(i0 + nb, n, user);
    }
    pt_field_work_free(&w);
    return st;
}

pt_status pt_field_equilibrium(const pt_field *m, const float *x, pt_field_solver solver, int max_iter, double tol,
                               float *z, pt_fixpoint_info *info, float *states, int nstates)
{
    pt_field run = *m; /* the model's arrays, read only, with other solver settings */
    run.c.solver = solver, run.c.max_iter = max_iter, run.c.tol = tol, run.c.fixed_steps = 0;
    pt_status st = pt_field_config_check(&run.c);
    if (st) return st;
    for (size_t i = 0; i < m->hw; i++)
        if (!isfinite(x[i])) return pt_fail(PT_EINVAL, "field: the image has a non-finite pixel");
    fwork w;
    if ((st = pt_field_work_create(&run, 1, 0, 0, &w))) return st;
    pt_field_encode(&run, x, 1, w.u);
    memcpy(w.z, w.u, m->nz * sizeof *w.z);
    fctx f = {&run, &w, states, nstates, 0};
    pt_fixpoint_info keep = *info;
    w.info[0] = keep;
    st = run_solver(&run, &w, &f, 1);
    if (!st) {
        *info = w.info[0];
        if (z) memcpy(z, w.z, m->nz * sizeof *z);
    }
    pt_field_work_free(&w);
    return st;
}
