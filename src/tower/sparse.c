/* Truly sparse inference (PhaseTower paper, section 9.2; issue 4), two ways.
 *
 * Grouped (pt_tower_index_build): the neurons are grouped by spherical k-means
 * on their directions p; an image is scored against the G group centroids
 * first, and only the neurons of the best groups are scored (at least `probe`
 * groups, more until s+1 neurons are scored, so the soft threshold is
 * defined). The index is built from the weights alone, deterministically, so
 * checkpoints do not change. With a subspace (train --subspace), block 0 works
 * on coordinates: the image's R coordinates V x~ and the directions' own R
 * coordinates, so everything but the projection costs R, not n_in.
 *
 * Routed (pt_tower_route_build): a one-block tower that reads pixels and
 * carries a routing basis U (train --route-rank R) scores every neuron on the
 * image's first r1 coordinates U x~, the best `keep` on all R, and only the
 * best `exact` of those on the pixels, skipping the raw image's zero pixels
 * (x~ . v = (x . v - mean(x) sum(v)) / |x - mean(x)|). docs/sparse.md. */
#include <math.h>
#include <string.h>
#include "linalg/linalg.h"
#include "tower/tower_internal.h"

typedef struct sparse_block {
    int G, d;            /* groups; length of the vectors scored (the block's in_dim) */
    float *C;            /* (G, d) unit centroids */
    int *order, *gstart; /* neurons grouped: order[gstart[g] .. gstart[g+1]) */
    float *cphi, *sphi;  /* (K) */
} sparse_block;

struct pt_tower_index {
    const pt_tower *t;
    int probe;
    sparse_block b[PT_TOWER_MAXBLOCKS];
    /* routed (pt_tower_route_build): r1 > 0; b[0] then holds only cphi, sphi */
    int r1, keep, exact;
    float *Q1;   /* (K, r1) the directions' first r1 coordinates in the routing basis (P U^T) */
    float *Q2;   /* (K, R - r1) their other coordinates */
    float *Ut;   /* (n_in, R) the basis, transposed: a pixel's R entries are contiguous */
    float *psum; /* (K) sum of each direction's entries */
    float *usum; /* (R) sum of each basis row's entries */
};

void pt_tower_index_destroy(pt_tower_index *ix)
{
    if (!ix) return;
    for (int l = 0; l < PT_TOWER_MAXBLOCKS; l++) {
        free(ix->b[l].C), free(ix->b[l].order), free(ix->b[l].gstart);
        free(ix->b[l].cphi), free(ix->b[l].sphi);
    }
    free(ix->Q1), free(ix->Q2), free(ix->Ut), free(ix->psum), free(ix->usum);
    free(ix);
}

static void phases(const pt_block *b, sparse_block *sb)
{
    for (int k = 0; k < b->K; k++) sb->cphi[k] = cosf(b->phi[k]), sb->sphi[k] = sinf(b->phi[k]);
}

/* Spherical k-means on the directions P (K, d), 10 rounds, centroids started
 * at evenly spaced neurons. */
static pt_status build_block(const pt_block *b, const float *P, size_t d, int G, sparse_block *sb)
{
    size_t K = (size_t)b->K;
    sb->G = G, sb->d = (int)d;
    sb->C = pt_calloc((size_t)G * d, sizeof *sb->C);
    sb->order = pt_calloc(K, sizeof *sb->order);
    sb->gstart = pt_calloc((size_t)G + 1, sizeof *sb->gstart);
    sb->cphi = pt_calloc(K, sizeof *sb->cphi);
    sb->sphi = pt_calloc(K, sizeof *sb->sphi);
    float *S = pt_calloc(K * (size_t)G, sizeof *S), *acc = pt_calloc((size_t)G * d, sizeof *acc);
    int *assign = pt_calloc(K, sizeof *assign);
    if (!sb->C || !sb->order || !sb->gstart || !sb->cphi || !sb->sphi || !S || !acc || !assign) {
        free(S), free(acc), free(assign);
        return pt_fail(PT_ENOMEM, "out of memory for the sparse index");
    }
    for (int g = 0; g < G; g++) memcpy(sb->C + (size_t)g * d, P + (size_t)g * K / (size_t)G * d, d * sizeof(float));
    for (int round = 0; round < 10; round++) {
        pt_sgemm_nt(S, P, sb->C, K, (size_t)G, d, 1.0f, 0.0f); /* S (K, G) = P C^T */
        for (size_t k = 0; k < K; k++) {
            int best = 0;
            for (int g = 1; g < G; g++)
                if (S[k * (size_t)G + (size_t)g] > S[k * (size_t)G + (size_t)best]) best = g;
            assign[k] = best;
        }
        memset(acc, 0, (size_t)G * d * sizeof *acc);
        for (size_t k = 0; k < K; k++)
            for (size_t j = 0; j < d; j++) acc[(size_t)assign[k] * d + j] += P[k * d + j];
        for (int g = 0; g < G; g++) {
            float *a = acc + (size_t)g * d;
            double ss = 0.0;
            for (size_t j = 0; j < d; j++) ss += (double)a[j] * (double)a[j];
            if (ss > 1e-30) { /* an empty group keeps its centroid */
                memcpy(sb->C + (size_t)g * d, a, d * sizeof *a);
                pt_normalize_row(sb->C + (size_t)g * d, (int)d);
            }
        }
    }
    for (size_t k = 0; k < K; k++) sb->gstart[assign[k] + 1]++;
    for (int g = 0; g < G; g++) sb->gstart[g + 1] += sb->gstart[g];
    int *fill = pt_calloc((size_t)G, sizeof *fill);
    if (!fill) {
        free(S), free(acc), free(assign);
        return pt_fail(PT_ENOMEM, "out of memory for the sparse index");
    }
    for (size_t k = 0; k < K; k++) sb->order[sb->gstart[assign[k]] + fill[assign[k]]++] = (int)k;
    phases(b, sb);
    free(fill), free(S), free(acc), free(assign);
    return PT_OK;
}

pt_status pt_tower_index_build(const pt_tower *t, int groups, int probe, pt_tower_index **out)
{
    *out = NULL;
    for (int l = 0; l < t->cfg.n_blocks; l++)
        if (groups < 1 || groups > t->b[l].K)
            return pt_fail(PT_EINVAL, "sparse index: %d groups for a block of %d neurons (need 1..%d)", groups, t->b[l].K,
                           t->b[l].K);
    if (probe < 1 || probe > groups) return pt_fail(PT_EINVAL, "sparse index: %d probed groups, need 1..%d (the groups)", probe, groups);
    pt_tower_index *ix = pt_calloc(1, sizeof *ix);
    if (!ix) return pt_fail(PT_ENOMEM, "out of memory for the sparse index");
    ix->t = t, ix->probe = probe;
    for (int l = 0; l < t->cfg.n_blocks; l++) {
        const pt_block *b = &t->b[l];
        pt_status st = build_block(b, b->P, (size_t)b->in_dim, groups, &ix->b[l]);
        if (st) {
            pt_tower_index_destroy(ix);
            return st;
        }
    }
    *out = ix;
    return PT_OK;
}

pt_status pt_tower_route_build(const pt_tower *t, int r1, int keep, int exact, pt_tower_index **out)
{
    *out = NULL;
    const pt_tower_config *c = &t->cfg;
    const pt_block *b = &t->b[0];
    if (!t->U)
        return pt_fail(PT_EINVAL, "routed inference: the tower has no routing basis (train it with tower.subspace 0 and tower.route R)");
    if (c->n_blocks != 1) return pt_fail(PT_EINVAL, "routed inference: needs a one-block tower, this one has %d", c->n_blocks);
    if (r1 < 1 || r1 > c->route)
        return pt_fail(PT_EINVAL, "routed inference: %d first coordinates outside 1..%d (the routing basis' rank)", r1, c->route);
    if (keep < 1 || keep > b->K) return pt_fail(PT_EINVAL, "routed inference: keep %d outside 1..%d (the neurons)", keep, b->K);
    if (exact < b->s + 1 || exact > keep)
        return pt_fail(PT_EINVAL, "routed inference: %d scored exactly outside %d..%d (s+1 .. keep)", exact, b->s + 1, keep);
    pt_tower_index *ix = pt_calloc(1, sizeof *ix);
    if (!ix) return pt_fail(PT_ENOMEM, "out of memory for the sparse index");
    size_t K = (size_t)b->K, R = (size_t)c->route, n = (size_t)c->n_in;
    ix->t = t, ix->r1 = r1, ix->keep = keep, ix->exact = exact;
    size_t R1 = (size_t)r1;
    float *Q = pt_calloc(K * R, sizeof *Q);
    ix->Q1 = pt_calloc(K * R1, sizeof *ix->Q1), ix->Q2 = pt_calloc(K * (R - R1) + 1, sizeof *ix->Q2);
    ix->Ut = pt_calloc(n * R, sizeof *ix->Ut), ix->psum = pt_calloc(K, sizeof *ix->psum);
    ix->usum = pt_calloc(R, sizeof *ix->usum);
    ix->b[0].cphi = pt_calloc(K, sizeof(float)), ix->b[0].sphi = pt_calloc(K, sizeof(float));
    if (!Q || !ix->Q1 || !ix->Q2 || !ix->Ut || !ix->psum || !ix->usum || !ix->b[0].cphi || !ix->b[0].sphi) {
        free(Q);
        pt_tower_index_destroy(ix);
        return pt_fail(PT_ENOMEM, "out of memory for the sparse index");
    }
    pt_sgemm_nt(Q, b->P, t->U, K, R, n, 1.0f, 0.0f);
    for (size_t k = 0; k < K; k++) {
        memcpy(ix->Q1 + k * R1, Q + k * R, R1 * sizeof *Q);
        memcpy(ix->Q2 + k * (R - R1), Q + k * R + R1, (R - R1) * sizeof *Q);
    }
    free(Q);
    for (size_t a = 0; a < R; a++)
        for (size_t j = 0; j < n; j++) ix->Ut[j * R + a] = t->U[a * n + j];
    for (size_t k = 0; k < K; k++) {
        double a = 0.0;
        for (size_t j = 0; j < n; j++) a += (double)b->P[k * n + j];
        ix->psum[k] = (float)a;
    }
    for (size_t a = 0; a < R; a++) {
        double v = 0.0;
        for (size_t j = 0; j < n; j++) v += (double)t->U[a * n + j];
        ix->usum[a] = (float)v;
    }
    phases(b, &ix->b[0]);
    *out = ix;
    return PT_OK;
}

/* The s-th largest of v[0..n) (1 <= s <= n; v finite), by quickselect on
 * the scratch copy w; linear time on average, where a heap of s pays a sift
 * for most of the n entries when s is large. */
static float kth_largest(const float *v, float *w, int n, int s)
{
    memcpy(w, v, (size_t)n * sizeof *w);
    int lo = 0, hi = n - 1, k = s - 1;
    while (lo < hi) {
        float a = w[lo], b = w[lo + (hi - lo) / 2], c = w[hi]; /* median of three, descending order */
        float piv = a > b ? (b > c ? b : a > c ? c : a) : (a > c ? a : b > c ? c : b);
        int i = lo, j = hi;
        while (i <= j) {
            while (w[i] > piv) i++;
            while (w[j] < piv) j--;
            if (i <= j) {
                float tmp = w[i];
                w[i] = w[j], w[j] = tmp;
                i++, j--;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else break;
    }
    return w[k];
}

/* idx gets the s best of v[0..n): every entry above the s-th largest value,
 * then those equal to it by increasing index (deterministic), in index order. */
static void top_s(int *idx, const float *v, float *w, int n, int s)
{
    float th = kth_largest(v, w, n, s);
    int m = 0;
    for (int k = 0; k < n; k++) m += v[k] > th;
    int eq = s - m, c = 0;
    for (int k = 0; k < n; k++)
        if (v[k] > th || (v[k] == th && eq-- > 0)) idx[c++] = k;
}

/* One image by the routed index: sc (K) gets the exact scores of the `exact`
 * routed neurons (times |x - mean x|, which changes neither the selection nor
 * the normalized output), -inf elsewhere; returns the multiply-adds. Scratch:
 * nzi, nzv (n_in), y (R), a1 and w (K), kept (keep), a2 (keep), pick (exact). */
static double route_scores(const pt_tower_index *ix, const float *x, float *sc, int *nzi, float *nzv, float *y,
                           float *a1, float *w, int *kept, float *a2, int *pick)
{
    const pt_tower *t = ix->t;
    const pt_block *b = &t->b[0];
    int n = t->cfg.n_in, R = t->cfg.route, K = b->K, nnz = 0;
    double mean = 0.0;
    for (int j = 0; j < n; j++) {
        mean += (double)x[j];
        if (x[j] != 0.0f) nzi[nnz] = j, nzv[nnz++] = x[j];
    }
    float m = (float)(mean / n);
    /* y = |x - m| U x~ = U x - m U 1, over the non-zero pixels */
    for (int a = 0; a < R; a++) y[a] = -m * ix->usum[a];
    for (int q = 0; q < nnz; q++) {
        const float *u = ix->Ut + (size_t)nzi[q] * (size_t)R;
        float v = nzv[q];
        for (int a = 0; a < R; a++) y[a] += v * u[a];
    }
    int r1 = ix->r1, r2 = R - r1;
    for (int k = 0; k < K; k++) {
        const float *q = ix->Q1 + (size_t)k * (size_t)r1;
        float v = 0.0f;
        for (int a = 0; a < r1; a++) v += y[a] * q[a];
        a1[k] = v;
    }
    top_s(kept, a1, w, K, ix->keep);
    for (int q = 0; q < ix->keep; q++) {
        int k = kept[q];
        a2[q] = a1[k] + pt_sdot(y + r1, ix->Q2 + (size_t)k * (size_t)r2, (size_t)r2);
    }
    top_s(pick, a2, w, ix->keep, ix->exact);
    for (int k = 0; k < K; k++) sc[k] = -INFINITY;
    for (int q = 0; q < ix->exact; q++) {
        int k = kept[pick[q]];
        const float *p = b->P + (size_t)k * (size_t)n;
        float v = 0.0f;
        for (int r = 0; r < nnz; r++) v += nzv[r] * p[nzi[r]];
        sc[k] = v - m * ix->psum[k];
    }
    return (double)R * nnz + (double)R + (double)K * ix->r1 + (double)ix->keep * (R - ix->r1) +
           (double)ix->exact * nnz + (double)ix->exact;
}

double pt_tower_madds_zero_skip(const pt_tower *t, const float *x, size_t n)
{
    const pt_tower_config *c = &t->cfg;
    double dense = (double)pt_tower_madds(t);
    if (t->V || n == 0) return dense;
    double nnz = 0.0;
    for (size_t i = 0; i < n * (size_t)c->n_in; i++) nnz += x[i] != 0.0f;
    double K = (double)t->b[0].K;
    return dense - K * (double)c->n_in + K * (nnz / (double)n) + K;
}

/* One image through the grouped index: every block's output in Z; returns the
 * multiply-adds up to the readout. x0 (n_in), yv (R), sc (Kmax), cs and gord
 * (G), act (Kmax + 1): scratch. */
static double grouped_forward(const pt_tower_index *ix, const float *xi, float *x0, float *yv, float *sc, float *cs,
                              int *gord, int *act, pt_c32 *const *Z)
{
    const pt_tower *t = ix->t;
    const pt_tower_config *c = &t->cfg;
    int G = ix->b[0].G;
    double total = 0.0;
    pt_tower_preprocess(x0, xi, c->n_in);
    if (t->V) { /* the image's coordinates in the subspace; scores scale by a common factor, which
                 * changes neither the selection nor the normalized outputs */
        pt_sgemm_nt(yv, x0, t->V, 1, (size_t)c->subspace, (size_t)c->n_in, 1.0f, 0.0f);
        total += (double)c->subspace * (double)c->n_in;
    }
    for (int l = 0; l < c->n_blocks; l++) {
        const pt_block *b = &t->b[l];
        const sparse_block *sb = &ix->b[l];
        const float *in = l > 0 ? (const float *)Z[l - 1] : t->V ? yv : x0;
        const float *P = b->P;
        size_t d = (size_t)sb->d;
        pt_sgemm_nt(cs, in, sb->C, 1, (size_t)G, d, 1.0f, 0.0f); /* centroid scores */
        total += (double)G * (double)d;
        for (int g = 0; g < G; g++) { /* groups by centroid score, best first (insertion sort) */
            int p = g;
            while (p > 0 && cs[gord[p - 1]] < cs[g]) gord[p] = gord[p - 1], p--;
            gord[p] = g;
        }
        for (int k = 0; k < b->K; k++) sc[k] = -INFINITY;
        int scored = 0;
        for (int gi = 0; gi < G && (gi < ix->probe || scored <= b->s); gi++) {
            int g = gord[gi];
            for (int m = sb->gstart[g]; m < sb->gstart[g + 1]; m++) {
                int k = sb->order[m];
                sc[k] = pt_sdot(in, P + (size_t)k * d, d);
                scored++;
            }
        }
        total += (double)scored * (double)d;
        pt_block_output(t, l, Z[l], act, sc, sb->cphi, sb->sphi, l > 0 ? Z[l - 1] : NULL);
    }
    return total;
}

pt_status pt_tower_index_predict(const pt_tower_index *ix, const float *x, size_t n, uint8_t *pred, double *madds)
{
    const pt_tower *t = ix->t;
    const pt_tower_config *c = &t->cfg;
    int L = c->n_blocks, Kmax = 0, G = ix->r1 ? 1 : ix->b[0].G;
    for (int l = 0; l < L; l++) Kmax = t->b[l].K > Kmax ? t->b[l].K : Kmax;
    size_t Klast = (size_t)t->b[L - 1].K;
    float *x0 = pt_calloc((size_t)c->n_in, sizeof *x0), *sc = pt_calloc((size_t)Kmax, sizeof *sc);
    float *yv = pt_calloc((size_t)c->subspace + 1, sizeof *yv); /* subspace coordinates */
    float *cs = pt_calloc((size_t)G, sizeof *cs), *lg = pt_calloc((size_t)c->n_classes, sizeof *lg);
    int *act = pt_calloc((size_t)Kmax + 1, sizeof *act), *gord = pt_calloc((size_t)G, sizeof *gord);
    pt_c32 *Z[PT_TOWER_MAXBLOCKS] = {0};
    int ok = x0 && sc && cs && lg && act && gord && yv;
    int *nzi = NULL, *kept = NULL, *pick = NULL; /* routed only */
    float *nzv = NULL, *ry = NULL, *a1 = NULL, *a2 = NULL, *w = NULL;
    if (ix->r1) {
        nzi = pt_calloc((size_t)c->n_in, sizeof *nzi), nzv = pt_calloc((size_t)c->n_in, sizeof *nzv);
        ry = pt_calloc((size_t)c->route, sizeof *ry), a1 = pt_calloc((size_t)Kmax, sizeof *a1);
        w = pt_calloc((size_t)Kmax, sizeof *w);
        kept = pt_calloc((size_t)ix->keep, sizeof *kept), a2 = pt_calloc((size_t)ix->keep, sizeof *a2);
        pick = pt_calloc((size_t)ix->exact, sizeof *pick);
        ok = ok && nzi && nzv && ry && a1 && w && kept && a2 && pick;
    }
    for (int l = 0; l < L && ok; l++) ok = (Z[l] = pt_calloc((size_t)t->b[l].K, sizeof(pt_c32))) != NULL;
    double total = 0.0;
    pt_status st = ok ? PT_OK : pt_fail(PT_ENOMEM, "out of memory for sparse inference");
    for (size_t i = 0; ok && i < n; i++) {
        const float *xi = x + i * (size_t)c->n_in;
        for (int j = 0; j < c->n_in; j++)
            if (!isfinite(xi[j])) {
                st = pt_fail(PT_EINVAL, "input sample %zu has a non-finite value", i);
                ok = 0;
                break;
            }
        if (!ok) break;
        if (ix->r1) { /* routed: one block reading pixels */
            total += route_scores(ix, xi, sc, nzi, nzv, ry, a1, w, kept, a2, pick);
            pt_block_output(t, 0, Z[0], act, sc, ix->b[0].cphi, ix->b[0].sphi, NULL);
        } else
            total += grouped_forward(ix, xi, x0, yv, sc, cs, gord, act, Z);
        if (L == 1) { /* no skip: only the s active outputs are non-zero, so the readout is sparse too */
            const pt_block *b = &t->b[0];
            for (int y = 0; y < c->n_classes; y++) {
                const pt_c32 *cy = t->C + (size_t)y * Klast;
                float a = 0.0f;
                for (int q = 0; q < b->s; q++) {
                    int k = act[q];
                    a += crealf(Z[0][k]) * crealf(cy[k]) + cimagf(Z[0][k]) * cimagf(cy[k]);
                }
                lg[y] = a;
            }
            total += 2.0 * (double)b->s * (double)c->n_classes;
        } else {
            pt_sgemm_nt(lg, (const float *)Z[L - 1], (const float *)t->C, 1, (size_t)c->n_classes, 2 * Klast, 1.0f, 0.0f);
            total += 2.0 * (double)Klast * (double)c->n_classes;
        }
        int best = 0;
        for (int y = 1; y < c->n_classes; y++)
            if (lg[y] > lg[best]) best = y;
        if (pred) pred[i] = (uint8_t)best;
    }
    if (madds) *madds = n ? total / (double)n : 0.0;
    free(x0), free(yv), free(sc), free(cs), free(lg), free(act), free(gord);
    free(nzi), free(nzv), free(ry), free(a1), free(w), free(kept), free(a2), free(pick);
    for (int l = 0; l < L; l++) free(Z[l]);
    return st;
}
