/* PhaseTower model: creation (fixed class targets, random init),
 * destruction, and the read-only queries (sizes, counts, views of the
 * weights). Learning is in train.c, the forward pass in forward.c. */
#include <math.h>
#include <string.h>
#include "tower/tower_internal.h"

int pt_block_in_dim(const pt_tower_config *c, int l)
{
    return l > 0 ? 2 * c->K[l - 1] : c->subspace > 0 ? c->subspace : c->n_in;
}

pt_status pt_tower_alloc(pt_tower *t)
{
    const pt_tower_config *c = &t->cfg;
    for (int l = 0; l < c->n_blocks; l++) {
        pt_block *b = &t->b[l];
        b->K = c->K[l];
        b->s = pt_block_active(c->K[l], c->frac[l]);
        b->in_dim = pt_block_in_dim(c, l);
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
        return pt_fail(PT_EINVAL, "tower.route %d needs block 0 to read pixels: set tower.subspace 0", cfg->route);
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

pt_status pt_tower_block(const pt_tower *t, int b, pt_tower_block_view *v)
{
    if (b < 0 || b >= t->cfg.n_blocks)
        return pt_fail(PT_EINVAL, "tower: block %d outside 0..%d", b, t->cfg.n_blocks - 1);
    const pt_block *k = &t->b[b];
    *v = (pt_tower_block_view){k->K, k->s, k->in_dim, k->P, k->phi, (const float *)k->T, 0.0f, 0.0f};
    if (b > 0) v->skip_re = crealf(k->lambda), v->skip_im = cimagf(k->lambda);
    return PT_OK;
}

const float *pt_tower_codebook(const pt_tower *t) { return (const float *)t->C; }
const float *pt_tower_subspace(const pt_tower *t) { return t->V; }
const float *pt_tower_route_basis(const pt_tower *t) { return t->U; }
