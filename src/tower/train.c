/* PhaseTower learning, in one pass: the subspace fit, imprinting, the local
 * rules of docs/learning-rules.md (direction, phase, complex skip), the
 * delta readout, and the training loop that drives them together with the
 * ridge readout (readout.c) and the liquid topology (liquid.c). */
#include <math.h>
#include <string.h>
#include "linalg/linalg.h"
#include "phasetower/linalg.h"
#include "tower/tower_internal.h"

/* |z| below this is treated as zero by the phase rule (guard against z ~ 0). */
#define PT_ZMIN 1e-3f

/* The subspace (and the routing basis): the top R principal directions of the
 * second moment of the first (up to) 20,000 preprocessed samples, by the PCA
 * module (orthogonal iteration, 60 rounds from a seeded start, or LAPACK's
 * eigensolver: cfg.subspace_fit), written to dst (R, n_in). Only the span
 * matters: V^T V is the same for any orthonormal basis of it. */
static pt_status subspace_fit(const pt_tower *t, const float *x, size_t n, size_t R, float *dst)
{
    size_t d = (size_t)t->cfg.n_in, m = n < 20000 ? n : 20000, B = 1024;
    pt_pca *p = NULL;
    pt_status st = pt_pca_create(d, &p);
    float *X = st ? NULL : pt_calloc(B * d, sizeof *X);
    if (!st && !X) st = pt_fail(PT_ENOMEM, "out of memory for the subspace");
    for (size_t i0 = 0; i0 < m && !st; i0 += B) {
        size_t nb = m - i0 < B ? m - i0 : B;
        for (size_t i = 0; i < nb; i++) pt_tower_preprocess(X + i * d, x + (i0 + i) * d, (int)d);
        st = pt_pca_add(p, X, nb);
    }
    pt_pca_config pc = pt_pca_config_default();
    pc.center = 0, pc.method = t->cfg.subspace_fit, pc.rounds = 60, pc.seed = t->cfg.seed ^ 0x5eed5ab5ULL;
    if (!st) st = pt_pca_fit(p, &pc, R, dst, NULL);
    free(X);
    pt_pca_destroy(p);
    return st;
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
    pt_status st = pt_fwd_alloc(&w, t, c->batch, 0);
    if (st) return st;
    for (int l = 0; l < c->n_blocks; l++) {
        pt_block *b = &t->b[l];
        for (int k0 = 0; k0 < b->K; k0 += c->batch) {
            int nb = b->K - k0 < c->batch ? b->K - k0 : c->batch;
            int contiguous = (size_t)(k0 + nb) <= n;
            if (contiguous) pt_fwd(t, &w, x + (size_t)k0 * (size_t)c->n_in, nb, l);
            for (int i = 0; i < nb; i++) {
                int k = k0 + i;
                size_t src = (size_t)k % n;
                int row = i;
                if (!contiguous) {
                    pt_fwd(t, &w, x + src * (size_t)c->n_in, 1, l);
                    row = 0;
                }
                float *p = b->P + (size_t)k * (size_t)b->in_dim;
                memcpy(p, pt_fwd_input(&w, t, l, row), (size_t)b->in_dim * sizeof(float));
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
    pt_fwd_free(&w);
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

/* Widrow-Hoff step of the DELTA codebook: c_j += eta_code (onehot_j - logit_j) Z */
static void delta_update(pt_tower *t, float *logits, const pt_c32 *Z, int y)
{
    const pt_tower_config *c = &t->cfg;
    const pt_block *last = &t->b[c->n_blocks - 1];
    pt_tower_readout(t, logits, Z, 1);
    for (int j = 0; j < c->n_classes; j++) {
        float e = c->eta_code * ((j == y ? 1.0f : 0.0f) - logits[j]);
        pt_c32 *cj = t->C + (size_t)j * (size_t)last->K;
        for (int k = 0; k < last->K; k++) cj[k] += e * Z[k];
    }
}

/* The local rules for sample i of the batch in w, block by block, then the
 * readout's share of it. now: the sample's number since the tower's creation. */
static void learn_sample(pt_tower *t, const fwd_ws *w, int i, int yi, tower_ridge *ra, liquid *lq, float *logits,
                         uint64_t now)
{
    const pt_tower_config *c = &t->cfg;
    int L = c->n_blocks;
    for (int l = 0; l < L; l++) {
        pt_block *b = &t->b[l];
        const float *in = pt_fwd_input(w, t, l, i);
        const float *sc = w->S[l] + (size_t)i * (size_t)b->K;
        const int *act = w->act[l] + (size_t)i * (size_t)pt_act_stride(b);
        const pt_c32 *T = b->T + (size_t)yi * (size_t)b->K;
        if (l > 0) skip_update(b, act, sc, w->Z[l - 1] + (size_t)i * (size_t)t->b[l - 1].K, t->b[l - 1].K, T, c->eta_skip);
        float xx = 0.0f;
        for (int j = 0; j < b->in_dim; j++) xx += in[j] * in[j];
        for (int a = 0; a < b->s; a++) pt_tower_neuron_update(b, act[a], in, xx, T[act[a]], c);
        if (lq->on && l == L - 1) pt_liquid_observe(lq, t, act, sc, in, yi, now);
    }
    const pt_c32 *Z = w->Z[L - 1] + (size_t)i * (size_t)t->b[L - 1].K;
    if (c->readout == PT_READOUT_RIDGE) pt_tridge_add(ra, Z, yi);
    else if (c->readout == PT_READOUT_DELTA) delta_update(t, logits, Z, yi);
}

/* Before the first pass: the subspace, the routing basis, imprinting. */
static pt_status prepare(pt_tower *t, const float *x, const uint8_t *y, size_t n)
{
    const pt_tower_config *c = &t->cfg;
    pt_status st;
    if (t->V && !t->v_ready) {
        if ((st = subspace_fit(t, x, n, (size_t)c->subspace, t->V))) return st;
        t->v_ready = 1;
    }
    if (t->U && !t->u_ready) {
        if ((st = subspace_fit(t, x, n, (size_t)c->route, t->U))) return st;
        t->u_ready = 1;
    }
    if (!t->initialized && (st = imprint(t, x, y, n))) return st;
    return PT_OK;
}

pt_status pt_tower_train_hooked(pt_tower *t, const float *x, const uint8_t *y, size_t n, pt_progress_fn progress,
                                void *user, const pt_train_hooks *h)
{
    const pt_tower_config *c = &t->cfg;
    if (n == 0) return pt_fail(PT_EINVAL, "no training samples");
    for (size_t i = 0; i < n; i++)
        if (y[i] >= c->n_classes)
            return pt_fail(PT_EINVAL, "label %d of sample %zu outside 0..%d", y[i], i, c->n_classes - 1);
    pt_status st = pt_tower_check_input(t, x, n);
    if (st || (st = prepare(t, x, y, n))) return st;
    int L = c->n_blocks;
    tower_ridge ra = {0};
    liquid lq;
    fwd_ws w = {0};
    float *logits = NULL;
    if ((st = pt_liquid_init(&lq, t))) goto done;
    lq.oldest_slot_first = h ? h->oldest_slot_first : 0;
    if (c->readout == PT_READOUT_RIDGE && (st = pt_tridge_init(&ra, t, lq.Kcap))) goto done;
    if ((st = pt_fwd_alloc(&w, t, c->batch, lq.Kcap))) goto done;
    if (!(logits = pt_calloc((size_t)c->n_classes, sizeof(float)))) {
        st = pt_fail(PT_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i0 = 0; i0 < n && !st; i0 += (size_t)c->batch) {
        int nb = n - i0 < (size_t)c->batch ? (int)(n - i0) : c->batch;
        pt_fwd(t, &w, x + i0 * (size_t)c->n_in, nb, L);
        for (int i = 0; i < nb; i++)
            learn_sample(t, &w, i, y[i0 + (size_t)i], &ra, &lq, logits, t->samples_seen + (uint64_t)i + 1);
        for (int l = 1; l < L && !st; l++)
            if (!isfinite(crealf(t->b[l].lambda)) || !isfinite(cimagf(t->b[l].lambda)))
                st = pt_fail(PT_ENOCONV, "training diverged: the skip of block %d is not finite (lower tower.eta_skip)",
                             l + 1);
        if (st) break;
        t->samples_seen += (uint64_t)nb;
        if (lq.on) pt_liquid_apply(&lq, t, &ra, t->samples_seen);
        if (progress) progress(i0 + (size_t)nb, n, user);
    }
    if (lq.on) { /* the last block's size is now part of the configuration; s stays */
        pt_block *lb = &t->b[L - 1];
        t->cfg.K[L - 1] = lb->K;
        t->cfg.frac[L - 1] = (float)lb->s / (float)lb->K;
    }
    if (!st && c->readout == PT_READOUT_RIDGE) st = pt_tridge_solve(t, &ra);
done:
    free(logits);
    pt_fwd_free(&w);
    pt_tridge_free(&ra);
    pt_liquid_free(&lq);
    return st;
}

pt_status pt_tower_train(pt_tower *t, const float *x, const uint8_t *y, size_t n, pt_progress_fn progress, void *user)
{
    return pt_tower_train_hooked(t, x, y, n, progress, user, NULL);
}
