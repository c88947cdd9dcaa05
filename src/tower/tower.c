/* PhaseTower model: batched forward pass (alignment scoring through the BLAS
 * wrapper, top-s selection, complex skip, normalization), the local learning
 * rules of docs/learning-rules.md, imprinting, and the three readouts. */
#include <math.h>
#include <string.h>
#include "linalg/linalg.h"
#include "tower/tower_internal.h"

#define PT_PI 3.14159265358979323846
/* |z| below this is treated as zero by the phase rule (guard against z ~ 0). */
#define PT_ZMIN 1e-3f

/* ---------------------------------------------------------------- workspace */

/* Row length of the selection buffer: the s active neurons, then room for the
 * (s+1)-th, whose score is the soft threshold. */
static int act_stride(const pt_block *b) { return b->s + 1; }

typedef struct fwd_ws {
    int B;                          /* capacity in samples */
    float *X0;                      /* (B, n_in) preprocessed input */
    float *Y;                       /* (B, subspace) its coordinates in the subspace, if any */
    float *len;                     /* (B) length of block 0's input before normalization */
    float *S[PT_TOWER_MAXBLOCKS];   /* (B, K) alignment scores */
    int *act[PT_TOWER_MAXBLOCKS];   /* (B, s+1) selected neuron indices (the s active first) */
    pt_c32 *Z[PT_TOWER_MAXBLOCKS];  /* (B, K) normalized block outputs */
    float *cphi[PT_TOWER_MAXBLOCKS], *sphi[PT_TOWER_MAXBLOCKS]; /* (K) cos/sin phi */
} fwd_ws;

static void ws_free(fwd_ws *w)
{
    free(w->X0);
    free(w->Y);
    free(w->len);
    for (int l = 0; l < PT_TOWER_MAXBLOCKS; l++) {
        free(w->S[l]);
        free(w->act[l]);
        free(w->Z[l]);
        free(w->cphi[l]);
        free(w->sphi[l]);
    }
    memset(w, 0, sizeof *w);
}

static pt_status ws_alloc(fwd_ws *w, const pt_tower *t, int B, int Kcap_last)
{
    memset(w, 0, sizeof *w);
    w->B = B;
    w->X0 = pt_calloc((size_t)B * (size_t)t->cfg.n_in, sizeof(float));
    if (t->cfg.subspace) w->Y = pt_calloc((size_t)B * (size_t)t->cfg.subspace, sizeof(float));
    w->len = pt_calloc((size_t)B, sizeof(float));
    int ok = w->X0 != NULL && w->len != NULL && (!t->cfg.subspace || w->Y);
    for (int l = 0; l < t->cfg.n_blocks && ok; l++) {
        size_t K = (size_t)(l == t->cfg.n_blocks - 1 && Kcap_last > t->b[l].K ? Kcap_last : t->b[l].K);
        w->S[l] = pt_calloc((size_t)B * K, sizeof(float));
        w->act[l] = pt_calloc((size_t)B * (size_t)act_stride(&t->b[l]), sizeof(int));
        w->Z[l] = pt_calloc((size_t)B * K, sizeof(pt_c32));
        w->cphi[l] = pt_calloc(K, sizeof(float));
        w->sphi[l] = pt_calloc(K, sizeof(float));
        ok = w->S[l] && w->act[l] && w->Z[l] && w->cphi[l] && w->sphi[l];
    }
    if (!ok) {
        ws_free(w);
        return pt_fail(PT_ENOMEM, "out of memory for a batch of %d samples", B);
    }
    return PT_OK;
}

/* ------------------------------------------------------------ small kernels */


/* x~ = (x - mean(x)) / ||x - mean(x)||: per-image centering and scaling, so the
 * score x~.p is the cosine between the image and the neuron's direction. */
double pt_tower_preprocess(float *restrict out, const float *restrict x, int d)
{
    double m = 0.0;
    for (int j = 0; j < d; j++) m += (double)x[j];
    m /= d;
    double ss = 0.0;
    for (int j = 0; j < d; j++) {
        double v = (double)x[j] - m;
        ss += v * v;
    }
    double inv = ss > 1e-24 ? 1.0 / sqrt(ss) : 0.0;
    for (int j = 0; j < d; j++) out[j] = (float)(((double)x[j] - m) * inv);
    return inv > 0.0 ? sqrt(ss) : 0.0;
}

double pt_normalize_row(float *p, int d)
{
    double ss = 0.0;
    for (int j = 0; j < d; j++) ss += (double)p[j] * (double)p[j];
    if (ss <= 1e-30) return 0.0;
    float inv = (float)(1.0 / sqrt(ss));
    for (int j = 0; j < d; j++) p[j] *= inv;
    return sqrt(ss);
}

/* Selection of one sample's active set; returns the soft threshold. */
float pt_block_select(int *restrict act, const float *restrict sc, int K, int s, pt_select mode)
{
    if (mode == PT_SELECT_HARD || s == K) {
        pt_select_top(act, sc, K, s);
        return 0.0f;
    }
    /* Select s+1: the heap's root act[0] is the (s+1)-th best, the threshold;
     * move the last selected into its place so act[0..s) is the active set. */
    pt_select_top(act, sc, K, s + 1);
    int thk = act[0];
    act[0] = act[s];
    act[s] = thk;
    return sc[thk];
}

/* ------------------------------------------------------------------ forward */

/* One sample's output of block l from its scores sc (K): selection, the
 * active outputs (r_k - theta) e^{i phi_k}, the complex skip from prev (the
 * block below's output, NULL for block 0), normalization. u (K) out, act
 * (s+1) scratch; cphi, sphi: (K) cos, sin of the phases. */
void pt_block_output(const pt_tower *t, int l, pt_c32 *restrict u, int *restrict act, const float *restrict sc,
                     const float *restrict cphi, const float *restrict sphi, const pt_c32 *restrict prev)
{
    const pt_block *b = &t->b[l];
    size_t K = (size_t)b->K;
    float th = pt_block_select(act, sc, b->K, b->s, t->cfg.select);
    memset(u, 0, K * sizeof *u);
    double ss = 0.0;
    for (int a = 0; a < b->s; a++) {
        int k = act[a];
        float m = sc[k] - th; /* >= 0 in soft mode */
        u[k] = CMPLXF(m * cphi[k], m * sphi[k]);
        ss += (double)(m * m);
    }
    if (prev) { /* complex skip: u += lambda * Z(l-1)[:K], zero-padded */
        int m = t->b[l - 1].K < b->K ? t->b[l - 1].K : b->K;
        for (int k = 0; k < m; k++) u[k] += b->lambda * prev[k];
        ss = 0.0;
        for (size_t k = 0; k < K; k++) ss += (double)(crealf(u[k]) * crealf(u[k]) + cimagf(u[k]) * cimagf(u[k]));
    }
    /* normalize; without a skip only the s active entries are nonzero */
    if (ss > 1e-30) {
        float inv = (float)(1.0 / sqrt(ss));
        if (!prev)
            for (int a = 0; a < b->s; a++) u[act[a]] *= inv;
        else
            for (size_t k = 0; k < K; k++) u[k] *= inv;
    }
}

/* Block 0's input with a subspace: the coordinates y = V x~ of the nb
 * preprocessed rows x (n_in) in the subspace, normalized (nb, R). Since V has
 * orthonormal rows, y . q = normalize(V^T V x~) . V^T q for any coordinates q:
 * scoring and training in coordinates is scoring and training the pixel-space
 * directions V^T q on the projected image, in R instead of n_in per neuron. */
static void coords(const pt_tower *t, const float *x, float *y, int nb, float *len)
{
    size_t R = (size_t)t->cfg.subspace, n = (size_t)t->cfg.n_in;
    if (!t->V || nb <= 0) return;
    pt_sgemm_nt(y, x, t->V, (size_t)nb, R, n, 1.0f, 0.0f); /* y = x V^T */
    for (int i = 0; i < nb; i++) {
        double l = pt_normalize_row(y + (size_t)i * R, (int)R);
        if (len) len[i] *= (float)l;
    }
}

/* The subspace (and the routing basis): the top R eigenvectors of the second
 * moment of the first (up to) 20,000 preprocessed samples, by subspace
 * iteration (60 rounds of Q <- orthonormalize(G Q) from a seeded Gaussian
 * start, modified Gram-Schmidt in double), written to dst (R, n_in). Only the
 * span matters: V^T V is the same for any orthonormal basis of it. */
static pt_status subspace_fit(const pt_tower *t, const float *x, size_t n, size_t R, float *dst)
{
    size_t d = (size_t)t->cfg.n_in, m = n < 20000 ? n : 20000, B = 1024;
    float *G = pt_calloc(d * d, sizeof *G), *X = pt_calloc(B * d, sizeof *X), *Q = pt_calloc(R * d, sizeof *Q),
          *Z = pt_calloc(R * d, sizeof *Z);
    if (!G || !X || !Q || !Z) {
        free(G), free(X), free(Q), free(Z);
        return pt_fail(PT_ENOMEM, "out of memory for the subspace");
    }
    for (size_t i0 = 0; i0 < m; i0 += B) { /* G = sum x~ x~^T */
        size_t nb = m - i0 < B ? m - i0 : B;
        for (size_t i = 0; i < nb; i++) pt_tower_preprocess(X + i * d, x + (i0 + i) * d, (int)d);
        pt_sgemm_tn(G, X, X, d, d, nb, 1.0f, 1.0f);
    }
    pt_rng r;
    pt_rng_seed(&r, t->cfg.seed ^ 0x5eed5ab5ULL);
    for (size_t i = 0; i < R * d; i++) Q[i] = pt_rng_normal(&r);
    for (int it = 0; it <= 60; it++) {
        if (it > 0) pt_sgemm_nt(Q, Z, G, R, d, d, 1.0f, 0.0f); /* rows: Q_a = G Z_a (G symmetric) */
        for (size_t a = 0; a < R; a++) { /* modified Gram-Schmidt on the rows */
            float *q = Q + a * d;
            double ss = 0.0;
            for (;;) {
                for (size_t b = 0; b < a; b++) {
                    const float *u = Q + b * d;
                    double dot = 0.0;
                    for (size_t j = 0; j < d; j++) dot += (double)q[j] * (double)u[j];
                    for (size_t j = 0; j < d; j++) q[j] -= (float)dot * u[j];
                }
                ss = 0.0;
                for (size_t j = 0; j < d; j++) ss += (double)q[j] * (double)q[j];
                if (ss > 1e-30) break;
                /* the data span fewer than R directions: any other direction will do */
                for (size_t j = 0; j < d; j++) q[j] = pt_rng_normal(&r);
            }
            float inv = (float)(1.0 / sqrt(ss));
            for (size_t j = 0; j < d; j++) q[j] *= inv;
        }
        memcpy(Z, Q, R * d * sizeof *Z);
    }
    memcpy(dst, Q, R * d * sizeof *Q);
    free(G), free(X), free(Q), free(Z);
    return PT_OK;
}

static const float *block_input(const fwd_ws *w, const pt_tower *t, int l, int i)
{
    if (l == 0) return t->V ? w->Y + (size_t)i * (size_t)t->cfg.subspace : w->X0 + (size_t)i * (size_t)t->cfg.n_in;
    return (const float *)(w->Z[l - 1] + (size_t)i * (size_t)t->b[l - 1].K);
}

/* Forward nb samples x (nb, n_in) through blocks [0, upto). Fills w. */
static void forward(const pt_tower *t, fwd_ws *w, const float *x, int nb, int upto)
{
    const pt_tower_config *c = &t->cfg;
    for (int i = 0; i < nb; i++) /* len: |c|, then |V c| = |c| |V x~| */
        w->len[i] = (float)pt_tower_preprocess(w->X0 + (size_t)i * (size_t)c->n_in, x + (size_t)i * (size_t)c->n_in, c->n_in);
    coords(t, w->X0, w->Y, nb, w->len);
    for (int l = 0; l < upto; l++) {
        const pt_block *b = &t->b[l];
        size_t K = (size_t)b->K;
        for (int k = 0; k < b->K; k++) {
            w->cphi[l][k] = cosf(b->phi[k]);
            w->sphi[l][k] = sinf(b->phi[k]);
        }
        const float *in = l == 0 ? (t->V ? w->Y : w->X0) : (const float *)w->Z[l - 1];
        /* S: (nb, K) = in (nb, in_dim) . P^T */
        pt_sgemm_nt(w->S[l], in, b->P, (size_t)nb, K, (size_t)b->in_dim, 1.0f, 0.0f);
        for (int i = 0; i < nb; i++) {
            const pt_c32 *prev = l > 0 ? w->Z[l - 1] + (size_t)i * (size_t)t->b[l - 1].K : NULL;
            pt_block_output(t, l, w->Z[l] + (size_t)i * K, w->act[l] + (size_t)i * (size_t)act_stride(b),
                            w->S[l] + (size_t)i * K, w->cphi[l], w->sphi[l], prev);
        }
    }
}

static void readout(const pt_tower *t, float *logits, const pt_c32 *Z, int nb)
{
    const pt_tower_config *c = &t->cfg;
    size_t K2 = 2 * (size_t)t->b[c->n_blocks - 1].K;
    pt_sgemm_nt(logits, (const float *)Z, (const float *)t->C, (size_t)nb, (size_t)c->n_classes, K2, 1.0f, 0.0f);
}

static int argmax(const float *v, int n)
{
    int best = 0;
    for (int j = 1; j < n; j++)
        if (v[j] > v[best]) best = j;
    return best;
}

/* ------------------------------------------------------------------ create */

pt_status pt_tower_alloc(pt_tower *t)
{
    const pt_tower_config *c = &t->cfg;
    for (int l = 0; l < c->n_blocks; l++) {
        pt_block *b = &t->b[l];
        b->K = c->K[l];
        b->s = pt_block_active(c->K[l], c->frac[l]);
        b->in_dim = l > 0 ? 2 * c->K[l - 1] : c->subspace > 0 ? c->subspace : c->n_in;
        b->P = pt_calloc((size_t)b->K * (size_t)b->in_dim, sizeof(float));
        b->phi = pt_calloc((size_t)b->K, sizeof(float));
        b->T = pt_calloc((size_t)c->n_classes * (size_t)b->K, sizeof(pt_c32));
        if (!b->P || !b->phi || !b->T) return pt_fail(PT_ENOMEM, "out of memory for block %d", l + 1);
    }
    t->C = pt_calloc((size_t)c->n_classes * (size_t)c->K[c->n_blocks - 1], sizeof(pt_c32));
    if (!t->C) return pt_fail(PT_ENOMEM, "out of memory for the codebook");
    if (c->subspace && !(t->V = pt_calloc((size_t)c->subspace * (size_t)c->n_in, sizeof(float))))
        return pt_fail(PT_ENOMEM, "out of memory for the subspace");
    if (c->route && !(t->U = pt_calloc((size_t)c->route * (size_t)c->n_in, sizeof(float))))
        return pt_fail(PT_ENOMEM, "out of memory for the routing basis");
    return PT_OK;
}

void pt_tower_destroy(pt_tower *t)
{
    if (!t) return;
    for (int l = 0; l < PT_TOWER_MAXBLOCKS; l++) {
        free(t->b[l].P);
        free(t->b[l].phi);
        free(t->b[l].T);
    }
    free(t->C);
    free(t->V);
    free(t->U);
    free(t);
}

static void random_block(pt_block *b, pt_rng *r)
{
    for (int k = 0; k < b->K; k++) {
        float *p = b->P + (size_t)k * (size_t)b->in_dim;
        for (int j = 0; j < b->in_dim; j++) p[j] = pt_rng_normal(r);
        pt_normalize_row(p, b->in_dim);
        b->phi[k] = (float)((2.0 * (double)pt_rng_uniform(r) - 1.0) * PT_PI);
    }
}

pt_status pt_tower_create(const pt_tower_config *cfg, pt_tower **out)
{
    *out = NULL;
    pt_status st = pt_tower_config_check(cfg);
    if (st) return st;
    pt_tower *t = pt_calloc(1, sizeof *t);
    if (!t) return pt_fail(PT_ENOMEM, "out of memory for the tower");
    t->cfg = *cfg;
    if (t->cfg.subspace == PT_SUBSPACE_AUTO) t->cfg.subspace = cfg->n_in > PT_SUBSPACE_DEFAULT ? PT_SUBSPACE_DEFAULT : 0;
    if (t->cfg.route && t->cfg.subspace) {
        free(t);
        return pt_fail(PT_EINVAL, "--route-rank %d needs block 0 to read pixels: add --subspace 0", cfg->route);
    }
    if ((st = pt_tower_alloc(t))) {
        pt_tower_destroy(t);
        return st;
    }
    pt_rng r;
    pt_rng_seed(&r, cfg->seed);
    /* Fixed class targets: unit-phase random codes t_{l,y,k} = m e^{i theta}. */
    for (int l = 0; l < cfg->n_blocks; l++) {
        pt_block *b = &t->b[l];
        for (size_t j = 0; j < (size_t)cfg->n_classes * (size_t)b->K; j++) {
            double th = (2.0 * (double)pt_rng_uniform(&r) - 1.0) * PT_PI;
            b->T[j] = CMPLXF(cfg->target_mag * (float)cos(th), cfg->target_mag * (float)sin(th));
        }
        b->lambda = CMPLXF(l > 0 ? 1.0f : 0.0f, 0.0f);
    }
    const pt_block *last = &t->b[cfg->n_blocks - 1];
    memcpy(t->C, last->T, (size_t)cfg->n_classes * (size_t)last->K * sizeof(pt_c32));
    if (cfg->init == PT_INIT_RANDOM) {
        for (int l = 0; l < cfg->n_blocks; l++) random_block(&t->b[l], &r);
        t->initialized = 1;
    }
    *out = t;
    return PT_OK;
}

/* Imprinting: neuron k of block l starts as the direction of the block's input
 * for training sample k (cycling, with small noise, when n < K), and its phase
 * as that sample's class target phase. Blocks are imprinted in order, so block
 * l sees inputs produced by the already imprinted blocks below it. */
static pt_status imprint(pt_tower *t, const float *x, const uint8_t *y, size_t n)
{
    const pt_tower_config *c = &t->cfg;
    pt_rng r;
    pt_rng_seed(&r, c->seed ^ 0x1357924680ULL);
    fwd_ws w;
    pt_status st = ws_alloc(&w, t, c->batch, 0);
    if (st) return st;
    for (int l = 0; l < c->n_blocks; l++) {
        pt_block *b = &t->b[l];
        for (int k0 = 0; k0 < b->K; k0 += c->batch) {
            int nb = b->K - k0 < c->batch ? b->K - k0 : c->batch;
            int contiguous = (size_t)(k0 + nb) <= n;
            if (contiguous) forward(t, &w, x + (size_t)k0 * (size_t)c->n_in, nb, l);
            for (int i = 0; i < nb; i++) {
                int k = k0 + i;
                size_t src = (size_t)k % n;
                int row = i;
                if (!contiguous) {
                    forward(t, &w, x + src * (size_t)c->n_in, 1, l);
                    row = 0;
                }
                float *p = b->P + (size_t)k * (size_t)b->in_dim;
                memcpy(p, block_input(&w, t, l, row), (size_t)b->in_dim * sizeof(float));
                if ((size_t)k >= n)
                    for (int j = 0; j < b->in_dim; j++) p[j] += 0.05f * pt_rng_normal(&r) / sqrtf((float)b->in_dim);
                double ss = 0.0;
                for (int j = 0; j < b->in_dim; j++) ss += (double)p[j] * (double)p[j];
                if (ss < 1e-12) /* blank input: fall back to a random direction */
                    for (int j = 0; j < b->in_dim; j++) p[j] = pt_rng_normal(&r);
                pt_normalize_row(p, b->in_dim);
                b->phi[k] = cargf(b->T[(size_t)y[src] * (size_t)b->K + (size_t)k]);
            }
        }
    }
    ws_free(&w);
    t->initialized = 1;
    return PT_OK;
}

/* ------------------------------------------------------------ local rules */

/* One local update of neuron k of block b for complex target tgt, given its
 * input x (in_dim) with xx = ||x||^2. The neuron's output z = r e^{i phi} is
 * recomputed here (r = x.p with the current p): within a mini-batch, earlier
 * samples may already have moved p since the batch was scored.
 * Exact rule (docs/learning-rules.md):
 *   p   <- normalize(p + eta Re(delta e^{-i phi}) x),   delta = t - z
 *   phi <- phi + eta_phase Im(delta / z)                 (|z| >= PT_ZMIN)
 * The paper's rule uses Re(delta) in place of Re(delta e^{-i phi}). */
void pt_tower_neuron_update(pt_block *b, int k, const float *restrict x, float xx, pt_c32 tgt,
                            const pt_tower_config *c)
{
    float *p = b->P + (size_t)k * (size_t)b->in_dim;
    float r = pt_sdot(x, p, (size_t)b->in_dim), pp = pt_sdot(p, p, (size_t)b->in_dim);
    float ph = b->phi[k];
    pt_c32 e = CMPLXF(cosf(ph), sinf(ph));
    pt_c32 z = r * e;
    pt_c32 delta = tgt - z;
    float g = c->rule == PT_RULE_PAPER ? crealf(delta) : crealf(delta * conjf(e));
    float a = c->eta * g;
    if (a != 0.0f) {
        /* ||p + a x||^2 = ||p||^2 + 2 a (x.p) + a^2 ||x||^2 from the sums above,
         * so the renormalization needs no second pass over p. */
        float n2 = pp + 2.0f * a * r + a * a * xx;
        if (n2 > 1e-12f) {
            float inv = 1.0f / sqrtf(n2), ai = a * inv;
            for (int j = 0; j < b->in_dim; j++) p[j] = p[j] * inv + ai * x[j];
        }
    }
    float az = fabsf(r);
    if (az >= PT_ZMIN) {
        /* Im(delta / z) = Im(delta conj z) / |z|^2 */
        float dphi = c->eta_phase * cimagf(delta * conjf(z)) / (az * az);
        /* near the guard the normalized step can be huge; the loss is periodic
         * in phi, so cap one step at a quarter turn */
        if (dphi > 1.5707964f) dphi = 1.5707964f;
        if (dphi < -1.5707964f) dphi = -1.5707964f;
        float np = ph + dphi;
        if (np > (float)PT_PI) np -= (float)(2.0 * PT_PI);
        if (np < -(float)PT_PI) np += (float)(2.0 * PT_PI);
        b->phi[k] = np;
    }
}

/* Least-squares step for the complex skip of block b: minimize over lambda
 * sum_{k active} |t_k - (z'_k + lambda Zprev_k)|^2 (normalized LMS). The
 * denominator is regularized by PT_SKIP_EPS: Zprev is a unit vector over all
 * neurons, so its mass on the active set can be ~0, and an unregularized NLMS
 * step then explodes (seen with the paper's rule and readout). */
#define PT_SKIP_EPS 1e-2f
static void skip_update(pt_block *b, const int *act, const float *sc, const pt_c32 *prev, int Kprev,
                        const pt_c32 *T, float eta)
{
    pt_c32 num = 0.0f;
    float den = 0.0f;
    for (int a = 0; a < b->s; a++) {
        int k = act[a];
        if (k >= Kprev) continue;
        pt_c32 z = sc[k] * CMPLXF(cosf(b->phi[k]), sinf(b->phi[k]));
        pt_c32 u = z + b->lambda * prev[k];
        num += conjf(prev[k]) * (T[k] - u);
        den += crealf(prev[k] * conjf(prev[k]));
    }
    b->lambda += eta * num / (den + PT_SKIP_EPS);
}

/* Ridge accumulators for the readout. In general the features of neuron k of
 * the last block are its two reals f_k = (Re Z_k, Im Z_k) (d = 2). When its
 * phase cannot move during the pass (one block, eta_phase = 0), Z_k =
 * m_k e^{i phi_k} with phi_k fixed: both reals are proportional to the one
 * feature f_k = Re(Z_k e^{-i phi_k}) = m_k (d = 1), and the 2K-feature ridge
 * problem is exactly a K-feature one (docs/learning-rules.md, "Codebook").
 * G += f f^T and H += f onehot(y)^T touch only neurons with Z_k != 0. G is
 * stored as Kcap x Kcap blocks of d x d, so the update for one pair hits one
 * cache line: the sparse update is memory-bound.
 * Rows and columns are indexed by slot, not by neuron: with a liquid topology
 * (docs/liquid.md) neurons are removed and born during the pass, and a neuron
 * keeps its slot for its whole life (slot[k]); a pair k < k' always adds into
 * G[slot k][slot k'], and a slot is zeroed before it is given to a newborn.
 * Without a liquid topology slot[k] = k and Kcap = K. */
typedef struct ridge_acc {
    size_t K, Kcap;  /* neurons of the last block now; slots */
    int d;           /* features per neuron, 1 or 2 */
    int C;
    double *G;       /* (Kcap, Kcap, d, d) */
    double *H;       /* (d Kcap, C) */
    int *slot;       /* (Kcap) slot of neuron k */
    int *nz;         /* (Kcap) scratch: nonzero neurons */
    double *f;       /* (d Kcap) scratch: their features */
    float *cphi, *sphi; /* (Kcap) cos, sin of the current phases (d == 1) */
} ridge_acc;

static void ridge_free(ridge_acc *a)
{
    free(a->G);
    free(a->H);
    free(a->slot);
    free(a->nz);
    free(a->f);
    free(a->cphi);
    free(a->sphi);
}

/* cos, sin of the last block's phases (again after a topology change) */
static void ridge_phases(ridge_acc *a, const pt_block *last)
{
    a->K = (size_t)last->K;
    for (size_t k = 0; k < a->K; k++) {
        a->cphi[k] = cosf(last->phi[k]);
        a->sphi[k] = sinf(last->phi[k]);
    }
}

static pt_status ridge_init(ridge_acc *a, const pt_tower *t, int Kcap)
{
    const pt_block *last = &t->b[t->cfg.n_blocks - 1];
    a->Kcap = (size_t)(Kcap > last->K ? Kcap : last->K);
    a->d = t->cfg.n_blocks == 1 && t->cfg.eta_phase == 0.0f ? 1 : 2;
    a->C = t->cfg.n_classes;
    size_t dK = (size_t)a->d * a->Kcap;
    a->G = pt_calloc(dK * dK, sizeof(double));
    a->H = pt_calloc(dK * (size_t)a->C, sizeof(double));
    a->slot = pt_calloc(a->Kcap, sizeof(int));
    a->nz = pt_calloc(a->Kcap, sizeof(int));
    a->f = pt_calloc(dK, sizeof(double));
    a->cphi = pt_calloc(a->Kcap, sizeof(float));
    a->sphi = pt_calloc(a->Kcap, sizeof(float));
    if (!a->G || !a->H || !a->slot || !a->nz || !a->f || !a->cphi || !a->sphi)
        return pt_fail(PT_ENOMEM, "out of memory for the ridge readout (%zu features)", dK);
    for (size_t k = 0; k < a->Kcap; k++) a->slot[k] = (int)k;
    ridge_phases(a, last);
    return PT_OK;
}

/* Forget everything slot sl accumulated (before a newborn takes it). */
static void ridge_clear_slot(ridge_acc *a, int sl)
{
    size_t dd = (size_t)(a->d * a->d), S = (size_t)sl;
    memset(a->G + S * a->Kcap * dd, 0, a->Kcap * dd * sizeof(double));
    for (size_t r = 0; r < a->Kcap; r++) memset(a->G + (r * a->Kcap + S) * dd, 0, dd * sizeof(double));
    memset(a->H + S * (size_t)a->d * (size_t)a->C, 0, (size_t)a->d * (size_t)a->C * sizeof(double));
}

static void ridge_add(ridge_acc *a, const pt_c32 *Z, int y)
{
    const int d = a->d;
    int m = 0;
    for (size_t k = 0; k < a->K; k++) {
        float re = crealf(Z[k]), im = cimagf(Z[k]);
        if (re == 0.0f && im == 0.0f) continue;
        a->nz[m] = a->slot[k];
        if (d == 1) {
            a->f[m] = (double)re * (double)a->cphi[k] + (double)im * (double)a->sphi[k];
        } else {
            a->f[2 * m] = (double)re;
            a->f[2 * m + 1] = (double)im;
        }
        m++;
    }
    size_t dd = (size_t)(d * d);
    for (int p = 0; p < m; p++) {
        size_t k = (size_t)a->nz[p];
        const double *fk = a->f + p * d;
        double *row = a->G + k * a->Kcap * dd;
        if (d == 1) {
            for (int q = p; q < m; q++) row[a->nz[q]] += fk[0] * a->f[q];
        } else {
            for (int q = p; q < m; q++) {
                double *g = row + (size_t)a->nz[q] * 4;
                const double *fq = a->f + 2 * q;
                g[0] += fk[0] * fq[0];
                g[1] += fk[0] * fq[1];
                g[2] += fk[1] * fq[0];
                g[3] += fk[1] * fq[1];
            }
        }
        for (int u = 0; u < d; u++) a->H[((size_t)d * k + (size_t)u) * (size_t)a->C + (size_t)y] += fk[u];
    }
}

/* Solve (G + alpha I) W = H with alpha = ridge * tr(G) / (2K), the mean of the
 * diagonal of the 2K-feature problem whichever d is used (the trace is the
 * same, sum of |Z_k|^2), so both paths solve the same problem. W becomes the
 * codebook: c_yk = W[2k][y] + i W[2k+1][y] (d = 2), or W[k][y] e^{i phi_k}
 * (d = 1: a codebook part orthogonal to e^{i phi_k} would not change any logit
 * and only add to the penalty, so the optimum has none). */
static pt_status ridge_solve(pt_tower *t, ridge_acc *a)
{
    size_t K = a->K, d = (size_t)a->d, n = d * K, dd = d * d;
    double *G = pt_calloc(n * n, sizeof(double)), *H = pt_calloc(n * (size_t)a->C, sizeof(double));
    if (!G || !H) {
        free(G), free(H);
        return pt_fail(PT_ENOMEM, "out of memory for the ridge solve (%zu features)", n);
    }
    for (size_t k = 0; k < K; k++) {
        size_t sk = (size_t)a->slot[k];
        for (size_t k2 = k; k2 < K; k2++) {
            size_t s2 = (size_t)a->slot[k2];
            const double *g = a->G + (sk * a->Kcap + s2) * dd, *gt = a->G + (s2 * a->Kcap + sk) * dd;
            for (size_t u = 0; u < d; u++)
                for (size_t v = 0; v < d; v++) {
                    size_t i = d * k + u, j = d * k2 + v;
                    /* the pair's sums are in one of the two cells, the other is 0 (slot order may
                     * differ from neuron order); exact, since x + 0 = x */
                    double val = g[u * d + v] + (s2 != sk ? gt[v * d + u] : 0.0);
                    G[i * n + j] = G[j * n + i] = val;
                }
        }
        memcpy(H + d * k * (size_t)a->C, a->H + d * sk * (size_t)a->C, d * (size_t)a->C * sizeof(double));
    }
    double tr = 0.0;
    for (size_t i = 0; i < n; i++) tr += G[i * n + i];
    double alpha = (double)t->cfg.ridge * (tr > 0.0 ? tr / (double)(2 * K) : 1.0);
    for (size_t i = 0; i < n; i++) G[i * n + i] += alpha;
    int info = pt_dposv(G, H, n, (size_t)a->C);
    free(G);
    if (info < 0) {
        free(H);
        return pt_fail(PT_ENOMEM, "out of memory for the ridge solve (%zu features)", n);
    }
    if (info != 0) {
        free(H);
        return pt_fail(PT_ENOCONV, "ridge readout: normal equations are not positive definite (raise --ridge)");
    }
    for (int y = 0; y < a->C; y++)
        for (size_t k = 0; k < K; k++) {
            const double *w = H + d * k * (size_t)a->C + (size_t)y; /* row d k, column y */
            float re, im;
            if (d == 1) {
                re = (float)(w[0] * (double)a->cphi[k]);
                im = (float)(w[0] * (double)a->sphi[k]);
            } else {
                re = (float)w[0];
                im = (float)w[a->C];
            }
            if (!isfinite(re) || !isfinite(im)) {
                free(H);
                return pt_fail(PT_ENOCONV, "ridge readout produced a non-finite weight");
            }
            t->C[(size_t)y * K + k] = CMPLXF(re, im);
        }
    free(H);
    return PT_OK;
}

/* ---------------------------------------------------------- liquid topology */

/* State of the last block's liquid topology during one pt_tower_train call
 * (docs/liquid.md). Neuron arrays of the tower have room for Kcap neurons;
 * changes are collected per sample and applied between mini-batches. */
typedef struct liquid {
    int on, Kcap;
    uint64_t *last;        /* (Kcap) sample count when neuron k was last selected (or flipped, born) */
    unsigned char *flipped;/* (Kcap) its phase was flipped for idleness and it was not selected since */
    int *parent;           /* (Kcap) births requested in this batch: the neurons to clone */
    int nparent;
    float *born_in;        /* (Kcap, in_dim) birth_sample: the inputs that caused them */
    uint8_t *born_y;       /* (Kcap) and their labels */
    int *free_slots, nfree;/* ridge slots of removed neurons */
    int *src;              /* (Kcap) relayout map: old index, or -(parent + 1) for a newborn */
    float *buf;            /* (Kcap * max(in_dim, 2 n_classes)) relayout scratch */
} liquid;

int pt_liquid_oldest_slot_first = 0;

/* phi + pi, kept in (-pi, pi] */
static float flip_phase(float ph) { return ph > 0.0f ? ph - (float)PT_PI : ph + (float)PT_PI; }

static void liquid_free(liquid *q)
{
    free(q->last), free(q->flipped), free(q->parent), free(q->free_slots), free(q->src), free(q->buf);
    free(q->born_in), free(q->born_y);
}

static pt_status grow(void **p, size_t bytes)
{
    void *n = realloc(*p, bytes);
    if (!n) return pt_fail(PT_ENOMEM, "out of memory for the liquid topology");
    *p = n;
    return PT_OK;
}

static pt_status liquid_init(liquid *q, pt_tower *t)
{
    const pt_tower_config *c = &t->cfg;
    pt_block *b = &t->b[c->n_blocks - 1];
    memset(q, 0, sizeof *q);
    q->on = c->births || c->deaths;
    q->Kcap = b->K;
    if (!q->on) return PT_OK;
    if (c->births) q->Kcap = c->max_neurons ? c->max_neurons : b->K + b->K / 4;
    if (q->Kcap < b->K) q->Kcap = b->K;
    size_t Kc = (size_t)q->Kcap, C = (size_t)c->n_classes, wide = (size_t)b->in_dim > 2 * C ? (size_t)b->in_dim : 2 * C;
    pt_status st;
    if ((st = grow((void **)&b->P, Kc * (size_t)b->in_dim * sizeof(float))) ||
        (st = grow((void **)&b->phi, Kc * sizeof(float))) || (st = grow((void **)&b->T, C * Kc * sizeof(pt_c32))) ||
        (st = grow((void **)&t->C, C * Kc * sizeof(pt_c32))))
        return st;
    q->last = pt_calloc(Kc, sizeof *q->last);
    q->flipped = pt_calloc(Kc, 1);
    q->parent = pt_calloc(Kc, sizeof *q->parent);
    q->free_slots = pt_calloc(Kc, sizeof *q->free_slots);
    q->src = pt_calloc(Kc, sizeof *q->src);
    q->buf = pt_calloc(Kc * wide, sizeof *q->buf);
    if (c->birth_sample) {
        q->born_in = pt_calloc(Kc * (size_t)b->in_dim, sizeof *q->born_in);
        q->born_y = pt_calloc(Kc, 1);
        if (!q->born_in || !q->born_y) return pt_fail(PT_ENOMEM, "out of memory for the liquid topology");
    }
    if (!q->last || !q->flipped || !q->parent || !q->free_slots || !q->src || !q->buf)
        return pt_fail(PT_ENOMEM, "out of memory for the liquid topology");
    for (int k = 0; k < b->K; k++) q->last[k] = t->samples_seen;
    for (int sl = q->Kcap - 1; sl >= b->K; sl--) q->free_slots[q->nfree++] = sl; /* slots of the ridge rows */
    return PT_OK;
}

/* After sample number `now` (counting from the tower's creation): mark its
 * selected neurons used, and ask for a birth when none is confident. */
static void liquid_observe(liquid *q, const pt_tower *t, const int *act, const float *sc, const float *in, int y,
                           uint64_t now)
{
    const pt_block *b = &t->b[t->cfg.n_blocks - 1];
    int best = act[0];
    for (int a = 0; a < b->s; a++) {
        q->last[act[a]] = now, q->flipped[act[a]] = 0;
        if (sc[act[a]] > sc[best] || (sc[act[a]] == sc[best] && act[a] < best)) best = act[a];
    }
    if (!t->cfg.births || sc[best] > t->cfg.birth_tau) return;
    for (int i = 0; i < q->nparent; i++)
        if (q->parent[i] == best) return; /* one clone per neuron per batch */
    if (b->K + q->nparent >= q->Kcap) return;
    if (q->born_in) {
        memcpy(q->born_in + (size_t)q->nparent * (size_t)b->in_dim, in, (size_t)b->in_dim * sizeof(float));
        q->born_y[q->nparent] = (uint8_t)y;
    }
    q->parent[q->nparent++] = best;
}

/* Between mini-batches: flip idle neurons, remove those idle after their
 * flip, append the clones asked for, and compact every per-neuron array (the
 * tower's, this state's and the ridge slots). */
static void liquid_apply(liquid *q, pt_tower *t, ridge_acc *ra, uint64_t now)
{
    const pt_tower_config *c = &t->cfg;
    int L = c->n_blocks;
    pt_block *b = &t->b[L - 1];
    uint64_t N = (uint64_t)c->death_steps;
    int n = 0, K = b->K, removed = 0;
    for (int k = 0; k < K; k++) {
        uint64_t idle = now - q->last[k];
        if (c->deaths && idle >= N && q->flipped[k] && K - removed > b->s + 1) {
            removed++;
            q->free_slots[q->nfree++] = ra && ra->G ? ra->slot[k] : 0;
            continue;
        }
        if (c->deaths && idle >= N && !q->flipped[k]) {
            b->phi[k] = flip_phase(b->phi[k]);
            q->flipped[k] = 1, q->last[k] = now;
            t->flips[L - 1]++;
        }
        q->src[n++] = k;
    }
    int nborn = q->nparent;
    for (int i = 0; i < nborn; i++) q->src[n++] = -(q->parent[i] + 1);
    t->deaths[L - 1] += removed, t->births[L - 1] += nborn;
    q->nparent = 0;
    if (n == K && !removed) { /* flips only: phases changed in place */
        if (ra && ra->G) ridge_phases(ra, b);
        return;
    }
    /* directions: rows in the new order (a newborn copies its parent's row) */
    size_t d = (size_t)b->in_dim, C = (size_t)c->n_classes;
    float *P2 = q->buf;
    for (int i = 0; i < n; i++) {
        int from = q->src[i] >= 0 ? q->src[i] : -q->src[i] - 1;
        memcpy(P2 + (size_t)i * d, b->P + (size_t)from * d, d * sizeof(float));
    }
    memcpy(b->P, P2, (size_t)n * d * sizeof(float));
    /* per-neuron scalars, then the (class, neuron) tables with the new stride */
    float *phi2 = q->buf;
    for (int i = 0; i < n; i++) {
        int from = q->src[i] >= 0 ? q->src[i] : -q->src[i] - 1;
        float ph = b->phi[from];
        phi2[i] = q->src[i] >= 0 ? ph : flip_phase(ph);
    }
    memcpy(b->phi, phi2, (size_t)n * sizeof(float));
    for (int i = 0, j = 0; i < n; i++) { /* last/flipped: i <= src for kept neurons, so in place */
        if (q->src[i] >= 0) {
            q->last[j] = q->last[q->src[i]], q->flipped[j] = q->flipped[q->src[i]];
            if (ra && ra->G) ra->slot[j] = ra->slot[q->src[i]];
            j++;
        }
    }
    for (int i = K - removed; i < n; i++) { /* newborns */
        q->last[i] = now, q->flipped[i] = 0;
        if (ra && ra->G) {
            int sl; /* there is one: n <= Kcap */
            if (pt_liquid_oldest_slot_first) { /* tests: the oldest free slot (never-used ones first) */
                sl = q->free_slots[0];
                memmove(q->free_slots, q->free_slots + 1, (size_t)(--q->nfree) * sizeof *q->free_slots);
            } else {
                sl = q->free_slots[--q->nfree]; /* the slot freed last */
            }
            ridge_clear_slot(ra, sl);
            ra->slot[i] = sl;
        }
    }
    pt_c32 *tab = (pt_c32 *)(void *)q->buf;
    pt_c32 *tables[2] = {b->T, t->C};
    for (int w = 0; w < 2; w++) {
        pt_c32 *A = tables[w];
        for (size_t y = 0; y < C; y++)
            for (int i = 0; i < n; i++) {
                int from = q->src[i] >= 0 ? q->src[i] : -q->src[i] - 1;
                pt_c32 v = A[y * (size_t)K + (size_t)from];
                /* a newborn's phase is flipped: its targets turn with it; its codebook entry
                 * starts at 0, except for the fixed code readout, which is the targets */
                if (q->src[i] < 0 && !c->birth_sample) v = (w == 0 || c->readout == PT_READOUT_CODE) ? -v : 0.0f;
                else if (q->src[i] < 0 && w == 1 && c->readout != PT_READOUT_CODE) v = 0.0f;
                tab[y * (size_t)n + (size_t)i] = v;
            }
        memcpy(A, tab, C * (size_t)n * sizeof(pt_c32));
    }
    b->K = n;
    if (q->born_in) /* imprint the newborns on their samples instead */
        for (int j = 0; j < nborn; j++) {
            int i = n - nborn + j;
            float *p = b->P + (size_t)i * d;
            memcpy(p, q->born_in + (size_t)j * d, d * sizeof(float));
            pt_normalize_row(p, b->in_dim);
            b->phi[i] = cargf(b->T[(size_t)q->born_y[j] * (size_t)n + (size_t)i]);
        }
    if (ra && ra->G) ridge_phases(ra, b);
}

static pt_status check_input(const pt_tower *t, const float *x, size_t n)
{
    size_t d = (size_t)t->cfg.n_in;
    for (size_t i = 0; i < n * d; i++)
        if (!isfinite(x[i])) return pt_fail(PT_EINVAL, "input sample %zu has a non-finite value", i / d);
    return PT_OK;
}

pt_status pt_tower_train(pt_tower *t, const float *x, const uint8_t *y, size_t n,
                         pt_progress_fn progress, void *user)
{
    const pt_tower_config *c = &t->cfg;
    if (n == 0) return pt_fail(PT_EINVAL, "no training samples");
    for (size_t i = 0; i < n; i++)
        if (y[i] >= c->n_classes) return pt_fail(PT_EINVAL, "label %d of sample %zu outside 0..%d", y[i], i, c->n_classes - 1);
    pt_status st = check_input(t, x, n);
    if (st) return st;
    if (t->V && !t->v_ready) {
        if ((st = subspace_fit(t, x, n, (size_t)c->subspace, t->V))) return st;
        t->v_ready = 1;
    }
    if (t->U && !t->u_ready) {
        if ((st = subspace_fit(t, x, n, (size_t)c->route, t->U))) return st;
        t->u_ready = 1;
    }
    if (!t->initialized && (st = imprint(t, x, y, n))) return st;

    int L = c->n_blocks;
    const pt_block *last = &t->b[L - 1];
    ridge_acc ra = {0};
    liquid lq;
    if ((st = liquid_init(&lq, t))) goto done;
    if (c->readout == PT_READOUT_RIDGE && (st = ridge_init(&ra, t, lq.Kcap))) goto done;
    fwd_ws w;
    if ((st = ws_alloc(&w, t, c->batch, lq.Kcap))) goto done;
    float *logits = pt_calloc((size_t)c->n_classes, sizeof(float));
    if (!logits) {
        ws_free(&w);
        st = pt_fail(PT_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i0 = 0; i0 < n; i0 += (size_t)c->batch) {
        int nb = n - i0 < (size_t)c->batch ? (int)(n - i0) : c->batch;
        forward(t, &w, x + i0 * (size_t)c->n_in, nb, L);
        for (int i = 0; i < nb; i++) {
            int yi = y[i0 + (size_t)i];
            for (int l = 0; l < L; l++) {
                pt_block *b = &t->b[l];
                const float *in = block_input(&w, t, l, i);
                const float *sc = w.S[l] + (size_t)i * (size_t)b->K;
                const int *act = w.act[l] + (size_t)i * (size_t)act_stride(b);
                const pt_c32 *T = b->T + (size_t)yi * (size_t)b->K;
                if (l > 0)
                    skip_update(b, act, sc, w.Z[l - 1] + (size_t)i * (size_t)t->b[l - 1].K, t->b[l - 1].K, T, c->eta_skip);
                float xx = 0.0f;
                for (int j = 0; j < b->in_dim; j++) xx += in[j] * in[j];
                for (int a = 0; a < b->s; a++) pt_tower_neuron_update(b, act[a], in, xx, T[act[a]], c);
                if (lq.on && l == L - 1) liquid_observe(&lq, t, act, sc, in, yi, t->samples_seen + (uint64_t)i + 1);
            }
            const pt_c32 *Z = w.Z[L - 1] + (size_t)i * (size_t)last->K;
            if (c->readout == PT_READOUT_RIDGE) {
                ridge_add(&ra, Z, yi);
            } else if (c->readout == PT_READOUT_DELTA) {
                /* Widrow-Hoff: c_j += eta_code (onehot_j - logit_j) Z */
                readout(t, logits, Z, 1);
                for (int j = 0; j < c->n_classes; j++) {
                    float e = c->eta_code * ((j == yi ? 1.0f : 0.0f) - logits[j]);
                    pt_c32 *cj = t->C + (size_t)j * (size_t)last->K;
                    for (int k = 0; k < last->K; k++) cj[k] += e * Z[k];
                }
            }
        }
        for (int l = 1; l < L; l++)
            if (!isfinite(crealf(t->b[l].lambda)) || !isfinite(cimagf(t->b[l].lambda))) {
                st = pt_fail(PT_ENOCONV, "training diverged: skip of block %d is not finite (lower --eta-skip)", l + 1);
                break;
            }
        if (st) break;
        t->samples_seen += (uint64_t)nb;
        if (lq.on) liquid_apply(&lq, t, &ra, t->samples_seen);
        if (progress) progress(i0 + (size_t)nb, n, user);
    }
    free(logits);
    ws_free(&w);
    if (lq.on) { /* the last block's size is now part of the configuration; s stays */
        pt_block *lb = &t->b[L - 1];
        t->cfg.K[L - 1] = lb->K;
        t->cfg.frac[L - 1] = (float)lb->s / (float)lb->K;
    }
    if (!st && c->readout == PT_READOUT_RIDGE) st = ridge_solve(t, &ra);
done:
    ridge_free(&ra);
    liquid_free(&lq);
    return st;
}


/* z (nb, K) = the last block's dense phase code l r_k e^{i phi_k} from its
 * scores r_k, times the length l of block 0's input before normalization (|c|
 * for the centred image c, |V c| with a subspace). For a one-block tower that
 * is (q_k . V c) e^{i phi_k}: linear in the image, so the code of a blend is
 * the blend of the codes (docs/memory.md). */
static void dense_code(const pt_tower *t, const fwd_ws *w, pt_c32 *z, int nb)
{
    int L = t->cfg.n_blocks;
    size_t K = (size_t)t->b[L - 1].K;
    for (size_t i = 0; i < (size_t)nb; i++) {
        const float *sc = w->S[L - 1] + i * K;
        float l = w->len[i];
        for (size_t k = 0; k < K; k++)
            z[i * K + k] = CMPLXF(l * sc[k] * w->cphi[L - 1][k], l * sc[k] * w->sphi[L - 1][k]);
    }
}

pt_status pt_tower_infer_code(const pt_tower *t, const float *x, size_t n, uint8_t *pred, float *logits, float *z,
                              float *align, pt_memory_code code)
{
    const pt_tower_config *c = &t->cfg;
    pt_status st = check_input(t, x, n);
    if (st || n == 0) return st;
    fwd_ws w; /* sized for this call, so one-image calls stay cheap */
    if ((st = ws_alloc(&w, t, n < (size_t)c->batch ? (int)n : c->batch, 0))) return st;
    int L = c->n_blocks;
    size_t C = (size_t)c->n_classes, K = (size_t)t->b[L - 1].K;
    int need_logits = pred || logits;
    float *lg = need_logits && !logits ? pt_calloc((size_t)w.B * C, sizeof(float)) : NULL;
    if (need_logits && !logits && !lg) {
        ws_free(&w);
        return pt_fail(PT_ENOMEM, "out of memory");
    }
    for (size_t i0 = 0; i0 < n; i0 += (size_t)c->batch) {
        int nb = n - i0 < (size_t)c->batch ? (int)(n - i0) : c->batch;
        forward(t, &w, x + i0 * (size_t)c->n_in, nb, L);
        if (z && code == PT_MEMORY_DENSE) dense_code(t, &w, (pt_c32 *)z + i0 * K, nb);
        else if (z) memcpy(z + 2 * i0 * K, w.Z[L - 1], (size_t)nb * K * sizeof(pt_c32));
        if (align) {
            const pt_block *b = &t->b[L - 1];
            for (int i = 0; i < nb; i++) {
                const float *sc = w.S[L - 1] + (size_t)i * K;
                const int *act = w.act[L - 1] + (size_t)i * (size_t)act_stride(b);
                double sum = 0.0;
                for (int a = 0; a < b->s; a++) sum += (double)sc[act[a]];
                align[i0 + (size_t)i] = (float)(sum / (double)b->s);
            }
        }
        if (!need_logits) continue;
        float *out = logits ? logits + i0 * C : lg;
        readout(t, out, w.Z[L - 1], nb);
        if (pred)
            for (int i = 0; i < nb; i++) pred[i0 + (size_t)i] = (uint8_t)argmax(out + (size_t)i * C, c->n_classes);
    }
    free(lg);
    ws_free(&w);
    return PT_OK;
}

pt_status pt_tower_infer(const pt_tower *t, const float *x, size_t n, uint8_t *pred, float *logits, float *z,
                         float *align)
{
    return pt_tower_infer_code(t, x, n, pred, logits, z, align, PT_MEMORY_SPARSE);
}

pt_status pt_tower_forward_code(const pt_tower *t, const float *x, size_t n, pt_memory_code code, float *logits,
                                float *z, float *align)
{
    if ((unsigned)code > PT_MEMORY_DENSE) return pt_fail(PT_EINVAL, "unknown code %d", (int)code);
    return pt_tower_infer_code(t, x, n, NULL, logits, z, align, code);
}

pt_status pt_tower_predict(const pt_tower *t, const float *x, size_t n, uint8_t *pred, float *logits)
{
    return pt_tower_infer(t, x, n, pred, logits, NULL, NULL);
}

pt_status pt_tower_embed(const pt_tower *t, const float *x, size_t n, float *z, float *logits)
{
    return pt_tower_infer(t, x, n, NULL, logits, z, NULL);
}

pt_status pt_tower_forward(const pt_tower *t, const float *x, size_t n, float *logits, float *z, float *align)
{
    return pt_tower_infer(t, x, n, NULL, logits, z, align);
}

int pt_tower_out_dim(const pt_tower *t) { return t->b[t->cfg.n_blocks - 1].K; }

pt_status pt_tower_accuracy(const pt_tower *t, const pt_dataset *d, double *acc)
{
    if ((int)d->dim != t->cfg.n_in)
        return pt_fail(PT_EINVAL, "data has %zu inputs per sample, model expects %d", d->dim, t->cfg.n_in);
    uint8_t *pred = pt_calloc(d->n, 1);
    if (!pred) return pt_fail(PT_ENOMEM, "out of memory");
    pt_status st = pt_tower_predict(t, d->x, d->n, pred, NULL);
    if (!st) {
        size_t ok = 0;
        for (size_t i = 0; i < d->n; i++) ok += pred[i] == d->y[i];
        *acc = d->n ? (double)ok / (double)d->n : 0.0;
    }
    free(pred);
    return st;
}

const pt_tower_config *pt_tower_get_config(const pt_tower *t) { return &t->cfg; }

static size_t basis_size(const pt_tower *t) { return (size_t)t->cfg.subspace * (size_t)t->cfg.n_in; }

size_t pt_tower_param_count(const pt_tower *t)
{
    size_t n = basis_size(t);
    for (int l = 0; l < t->cfg.n_blocks; l++) {
        const pt_block *b = &t->b[l];
        n += (size_t)b->K * (size_t)b->in_dim + (size_t)b->K + (l > 0 ? 2 : 0);
    }
    return n + 2 * (size_t)t->cfg.n_classes * (size_t)t->b[t->cfg.n_blocks - 1].K;
}

void pt_tower_topology(const pt_tower *t, int b, long *births, long *flips, long *deaths)
{
    int ok = b >= 0 && b < t->cfg.n_blocks;
    *births = ok ? t->births[b] : 0, *flips = ok ? t->flips[b] : 0, *deaths = ok ? t->deaths[b] : 0;
}

int pt_tower_block_size(const pt_tower *t, int b) { return b >= 0 && b < t->cfg.n_blocks ? t->b[b].K : 0; }

size_t pt_tower_active_params(const pt_tower *t)
{
    size_t n = basis_size(t);
    for (int l = 0; l < t->cfg.n_blocks; l++) {
        const pt_block *b = &t->b[l];
        n += (size_t)b->s * ((size_t)b->in_dim + 1) + (l > 0 ? 2 : 0);
    }
    return n + 2 * (size_t)t->cfg.n_classes * (size_t)t->b[t->cfg.n_blocks - 1].s;
}

size_t pt_tower_madds(const pt_tower *t)
{
    size_t n = basis_size(t);
    for (int l = 0; l < t->cfg.n_blocks; l++) n += (size_t)t->b[l].K * (size_t)t->b[l].in_dim;
    return n + 2 * (size_t)t->cfg.n_classes * (size_t)t->b[t->cfg.n_blocks - 1].K;
}

void pt_tower_skip(const pt_tower *t, int b, float *re, float *im)
{
    pt_c32 v = (b >= 1 && b < t->cfg.n_blocks) ? t->b[b].lambda : 0.0f;
    *re = crealf(v);
    *im = cimagf(v);
}
