/* The liquid topology of the last block during one training call
 * (docs/liquid.md): idle neurons flip their phase, then die; samples no
 * neuron is confident about give birth to a clone of the most confident one
 * (phase flipped) or to an imprint of the sample. Changes are collected per
 * sample and applied between mini-batches, where every per-neuron array (the
 * tower's, this state's and the ridge readout's slots) is compacted. */
#include <string.h>
#include "tower/tower_internal.h"

/* phi + pi, kept in (-pi, pi] */
static float flip_phase(float ph) { return ph > 0.0f ? ph - (float)PT_PI : ph + (float)PT_PI; }

void pt_liquid_free(liquid *q)
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

pt_status pt_liquid_init(liquid *q, pt_tower *t)
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
void pt_liquid_observe(liquid *q, const pt_tower *t, const int *act, const float *sc, const float *in, int y,
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
void pt_liquid_apply(liquid *q, pt_tower *t, tower_ridge *ra, uint64_t now)
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
            q->free_slots[q->nfree++] = ra && ra->r ? ra->slot[k] : 0;
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
        if (ra && ra->r) pt_tridge_phases(ra, b);
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
            if (ra && ra->r) ra->slot[j] = ra->slot[q->src[i]];
            j++;
        }
    }
    for (int i = K - removed; i < n; i++) { /* newborns */
        q->last[i] = now, q->flipped[i] = 0;
        if (ra && ra->r) {
            int sl; /* there is one: n <= Kcap */
            if (q->oldest_slot_first) { /* tests: the oldest free slot (never-used ones first) */
                sl = q->free_slots[0];
                memmove(q->free_slots, q->free_slots + 1, (size_t)(--q->nfree) * sizeof *q->free_slots);
            } else {
                sl = q->free_slots[--q->nfree]; /* the slot freed last */
            }
            pt_ridge_clear(ra->r, (size_t)sl);
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
    if (ra && ra->r) pt_tridge_phases(ra, b);
}

