/* The PhaseTower forward pass: per-image preprocessing, block 0's subspace
 * coordinates, alignment scoring through the BLAS wrapper, top-s selection,
 * the complex skip and normalization, the codebook readout; batched
 * inference and the tower as an embedder. docs/learning-rules.md. */
#include <math.h>
#include <string.h>
#include "linalg/linalg.h"
#include "tower/tower_internal.h"

void pt_fwd_free(fwd_ws *w)
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

pt_status pt_fwd_alloc(fwd_ws *w, const pt_tower *t, int B, int Kcap_last)
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
        w->act[l] = pt_calloc((size_t)B * (size_t)pt_act_stride(&t->b[l]), sizeof(int));
        w->Z[l] = pt_calloc((size_t)B * K, sizeof(pt_c32));
        w->cphi[l] = pt_calloc(K, sizeof(float));
        w->sphi[l] = pt_calloc(K, sizeof(float));
        ok = w->S[l] && w->act[l] && w->Z[l] && w->cphi[l] && w->sphi[l];
    }
    if (!ok) {
        pt_fwd_free(w);
        return pt_fail(PT_ENOMEM, "out of memory for a batch of %d samples", B);
    }
    return PT_OK;
}

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

const float *pt_fwd_input(const fwd_ws *w, const pt_tower *t, int l, int i)
{
    if (l == 0) return t->V ? w->Y + (size_t)i * (size_t)t->cfg.subspace : w->X0 + (size_t)i * (size_t)t->cfg.n_in;
    return (const float *)(w->Z[l - 1] + (size_t)i * (size_t)t->b[l - 1].K);
}

void pt_fwd(const pt_tower *t, fwd_ws *w, const float *x, int nb, int upto)
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
            pt_block_output(t, l, w->Z[l] + (size_t)i * K, w->act[l] + (size_t)i * (size_t)pt_act_stride(b),
                            w->S[l] + (size_t)i * K, w->cphi[l], w->sphi[l], prev);
        }
    }
}

void pt_tower_readout(const pt_tower *t, float *logits, const pt_c32 *Z, int nb)
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

pt_status pt_tower_check_input(const pt_tower *t, const float *x, size_t n)
{
    size_t d = (size_t)t->cfg.n_in;
    for (size_t i = 0; i < n * d; i++)
        if (!isfinite(x[i])) return pt_fail(PT_EINVAL, "input sample %zu has a non-finite value", i / d);
    return PT_OK;
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

pt_status pt_tower_infer(const pt_tower *t, const float *x, size_t n, pt_tower_code code, uint8_t *pred,
                         float *logits, float *z, float *align)
{
    const pt_tower_config *c = &t->cfg;
    if ((unsigned)code > PT_TOWER_CODE_DENSE) return pt_fail(PT_EINVAL, "tower: unknown code %d", (int)code);
    pt_status st = pt_tower_check_input(t, x, n);
    if (st || n == 0) return st;
    fwd_ws w; /* sized for this call, so one-image calls stay cheap */
    if ((st = pt_fwd_alloc(&w, t, n < (size_t)c->batch ? (int)n : c->batch, 0))) return st;
    int L = c->n_blocks;
    size_t C = (size_t)c->n_classes, K = (size_t)t->b[L - 1].K;
    int need_logits = pred || logits;
    float *lg = need_logits && !logits ? pt_calloc((size_t)w.B * C, sizeof(float)) : NULL;
    if (need_logits && !logits && !lg) {
        pt_fwd_free(&w);
        return pt_fail(PT_ENOMEM, "out of memory");
    }
    for (size_t i0 = 0; i0 < n; i0 += (size_t)c->batch) {
        int nb = n - i0 < (size_t)c->batch ? (int)(n - i0) : c->batch;
        pt_fwd(t, &w, x + i0 * (size_t)c->n_in, nb, L);
        if (z && code == PT_TOWER_CODE_DENSE) dense_code(t, &w, (pt_c32 *)z + i0 * K, nb);
        else if (z) memcpy(z + 2 * i0 * K, w.Z[L - 1], (size_t)nb * K * sizeof(pt_c32));
        if (align) {
            const pt_block *b = &t->b[L - 1];
            for (int i = 0; i < nb; i++) {
                const float *sc = w.S[L - 1] + (size_t)i * K;
                const int *act = w.act[L - 1] + (size_t)i * (size_t)pt_act_stride(b);
                double sum = 0.0;
                for (int a = 0; a < b->s; a++) sum += (double)sc[act[a]];
                align[i0 + (size_t)i] = (float)(sum / (double)b->s);
            }
        }
        if (!need_logits) continue;
        float *out = logits ? logits + i0 * C : lg;
        pt_tower_readout(t, out, w.Z[L - 1], nb);
        if (pred)
            for (int i = 0; i < nb; i++) pred[i0 + (size_t)i] = (uint8_t)argmax(out + (size_t)i * C, c->n_classes);
    }
    free(lg);
    pt_fwd_free(&w);
    return PT_OK;
}

pt_status pt_tower_forward(const pt_tower *t, const float *x, size_t n, pt_tower_code code, float *logits, float *z,
                           float *align)
{
    return pt_tower_infer(t, x, n, code, NULL, logits, z, align);
}

pt_status pt_tower_predict(const pt_tower *t, const float *x, size_t n, uint8_t *pred, float *logits)
{
    return pt_tower_infer(t, x, n, PT_TOWER_CODE_SPARSE, pred, logits, NULL, NULL);
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

/* The embedder's pass: the largest logit and the alignment are its scores. */
static pt_status embed(const pt_embedder *e, const float *x, size_t n, float *z, uint8_t *pred, float *scores)
{
    const pt_tower *t = e->model;
    size_t C = (size_t)t->cfg.n_classes;
    if (!scores) return pt_tower_infer(t, x, n, (pt_tower_code)e->variant, pred, NULL, z, NULL);
    float *lg = pt_calloc(n * C, sizeof *lg), *al = pt_calloc(n, sizeof *al);
    pt_status st = lg && al ? pt_tower_infer(t, x, n, (pt_tower_code)e->variant, pred, lg, z, al)
                            : pt_fail(PT_ENOMEM, "out of memory");
    for (size_t i = 0; !st && i < n; i++) {
        scores[2 * i] = lg[i * C + (size_t)argmax(lg + i * C, (int)C)];
        scores[2 * i + 1] = al[i];
    }
    free(lg), free(al);
    return st;
}

pt_embedder pt_tower_embedder(const pt_tower *t, pt_tower_code code)
{
    pt_embedder e = {t, (int)code, embed, t->cfg.n_in, pt_tower_out_dim(t), t->cfg.n_classes, 2, {"logit", "align"}};
    return e;
}
