/* Truly sparse inference (PhaseTower paper, section 9.2; issue 4): instead of
 * scoring all K neurons of a block and keeping the top s, the neurons are
 * grouped by spherical k-means on their directions p; an image is scored
 * against the G group centroids first, and only the neurons of the best
 * groups are scored (at least `probe` groups, more until s+1 neurons are
 * scored, so the soft threshold is defined). The index is built from the
 * weights alone, deterministically, so checkpoints do not change. With a
 * subspace (train --subspace), block 0 works on coordinates: the image's
 * R coordinates V x~ and the directions' own R coordinates, so everything but
 * the projection costs R, not n_in. */
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
};

void pt_tower_index_destroy(pt_tower_index *ix)
{
    if (!ix) return;
    for (int l = 0; l < PT_TOWER_MAXBLOCKS; l++) {
        free(ix->b[l].C), free(ix->b[l].order), free(ix->b[l].gstart);
        free(ix->b[l].cphi), free(ix->b[l].sphi);
    }
    free(ix);
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
    for (size_t k = 0; k < K; k++) sb->cphi[k] = cosf(b->phi[k]), sb->sphi[k] = sinf(b->phi[k]);
    free(fill), free(S), free(acc), free(assign);
    return PT_OK;
}

pt_status pt_tower_index_build(const pt_tower *t, int groups, int probe, pt_tower_index **out)
{
    *out = NULL;
    for (int l = 0; l < t->cfg.n_blocks; l++)
        if (groups < 1 || groups > t->b[l].K)
            return pt_fail(PT_EINVAL, "--sparse: %d groups for a block of %d neurons (need 1..%d)", groups, t->b[l].K,
                           t->b[l].K);
    if (probe < 1 || probe > groups) return pt_fail(PT_EINVAL, "--sparse: probe %d must be in 1..%d", probe, groups);
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

pt_status pt_tower_index_predict(const pt_tower_index *ix, const float *x, size_t n, uint8_t *pred, double *madds)
{
    const pt_tower *t = ix->t;
    const pt_tower_config *c = &t->cfg;
    int L = c->n_blocks, Kmax = 0, G = ix->b[0].G;
    for (int l = 0; l < L; l++) Kmax = t->b[l].K > Kmax ? t->b[l].K : Kmax;
    size_t Klast = (size_t)t->b[L - 1].K;
    float *x0 = pt_calloc((size_t)c->n_in, sizeof *x0), *sc = pt_calloc((size_t)Kmax, sizeof *sc);
    float *yv = pt_calloc((size_t)c->subspace + 1, sizeof *yv); /* subspace coordinates */
    float *cs = pt_calloc((size_t)G, sizeof *cs), *lg = pt_calloc((size_t)c->n_classes, sizeof *lg);
    int *act = pt_calloc((size_t)Kmax + 1, sizeof *act), *gord = pt_calloc((size_t)G, sizeof *gord);
    pt_c32 *Z[PT_TOWER_MAXBLOCKS] = {0};
    int ok = x0 && sc && cs && lg && act && gord && yv;
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
        pt_tower_preprocess(x0, xi, c->n_in);
        if (t->V) { /* the image's coordinates in the subspace; scores scale by a common factor, which
                     * changes neither the selection nor the normalized outputs */
            pt_sgemm_nt(yv, x0, t->V, 1, (size_t)c->subspace, (size_t)c->n_in, 1.0f, 0.0f);
            total += (double)c->subspace * (double)c->n_in;
        }
        for (int l = 0; l < L; l++) {
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
    for (int l = 0; l < L; l++) free(Z[l]);
    return st;
}
