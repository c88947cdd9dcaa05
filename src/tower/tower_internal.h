/* Private layout of pt_tower, shared by tower.c (learning, inference),
 * tower_io.c (checkpoints) and spec.c. One allocation per array; see
 * docs/learning-rules.md for the math. */
#ifndef PT_TOWER_INTERNAL_H
#define PT_TOWER_INTERNAL_H

#include "internal.h"
#include "phasetower/tower.h"

typedef struct pt_block {
    int K;          /* neurons */
    int s;          /* active per sample: max(1, round(frac*K)) */
    int in_dim;     /* block 0: n_in, or R with a subspace (coordinates); else 2*K of the previous block */
    float *P;       /* (K, in_dim) unit rows */
    float *phi;     /* (K) phases */
    pt_c32 lambda;  /* complex skip from the previous block (unused for block 0) */
    pt_c32 *T;      /* (n_classes, K) fixed complex class targets */
} pt_block;

struct pt_tower {
    pt_tower_config cfg;
    pt_block b[PT_TOWER_MAXBLOCKS];
    pt_c32 *C;        /* (n_classes, K_last) codebook */
    int initialized;  /* imprinting done (or random init) */
    uint64_t samples_seen;
    long births[PT_TOWER_MAXBLOCKS], flips[PT_TOWER_MAXBLOCKS], deaths[PT_TOWER_MAXBLOCKS]; /* liquid topology */
    float *V;         /* (cfg.subspace, n_in) orthonormal rows: block 0 reads x~ V^T, or NULL */
    int v_ready;      /* V fitted (by the first training call) or loaded */
    float *U;         /* (cfg.route, n_in) orthonormal rows: the routing basis of eval --route, or NULL */
    int u_ready;      /* U fitted or loaded */
};

/* s for a block from K and its fraction. */
int pt_block_active(int K, float frac);

/* Allocate blocks/targets/codebook for t->cfg (zeroed). */
pt_status pt_tower_alloc(pt_tower *t);

/* Active set of one sample: act[0..s) gets the s best scores (act needs s+1
 * entries). Returns the output threshold: 0 for HARD (or s == K), the
 * (s+1)-th best score for SOFT, whose index is left in act[s]. */
float pt_block_select(int *restrict act, const float *restrict sc, int K, int s, pt_select mode);

/* p <- p / ||p|| (left alone when ||p|| ~ 0); returns ||p|| (0 then). */
double pt_normalize_row(float *p, int d);

/* Inference in batches: predictions, logits (n, C), last-block outputs
 * z (n, K_last complex) and alignments (n) from one forward pass, each output
 * optional (NULL). */
pt_status pt_tower_infer(const pt_tower *t, const float *x, size_t n, uint8_t *pred, float *logits, float *z,
                         float *align);
/* The same with z the last block's output (SPARSE) or dense phase code (DENSE). */
pt_status pt_tower_infer_code(const pt_tower *t, const float *x, size_t n, uint8_t *pred, float *logits, float *z,
                              float *align, pt_memory_code code);

/* x~ = (x - mean x) / ||x - mean x||: the per-image input of block 0;
 * returns ||x - mean x|| (0 for a constant image, whose x~ is 0). */
double pt_tower_preprocess(float *restrict out, const float *restrict x, int d);

/* One sample's output of block l from its scores (tower.c, forward). */
void pt_block_output(const pt_tower *t, int l, pt_c32 *restrict u, int *restrict act, const float *restrict sc,
                     const float *restrict cphi, const float *restrict sphi, const pt_c32 *restrict prev);

/* Tests only: newborns of the liquid topology take the oldest free ridge slot
 * (never-used slots first) instead of the one freed last. The readout must
 * not depend on which slot a neuron holds. */
extern int pt_liquid_oldest_slot_first;

/* One local update of neuron k (exposed for tests; see tower.c). */
void pt_tower_neuron_update(pt_block *b, int k, const float *restrict x, float xx, pt_c32 tgt,
                            const pt_tower_config *c);

#endif
