/* Private layout of pt_tower and the pieces its files share: the forward
 * pass (forward.c), learning (train.c), the liquid topology (liquid.c), the
 * ridge readout's bookkeeping (readout.c), checkpoints (tower_io.c), spec
 * and validation (spec.c). One allocation per array; docs/learning-rules.md
 * has the math. Never included outside src/tower/ (tests of the tower
 * excepted). */
#ifndef PT_TOWER_INTERNAL_H
#define PT_TOWER_INTERNAL_H

#include "internal.h"
#include "phasetower/readout.h"
#include "phasetower/tower.h"

#define PT_PI 3.14159265358979323846

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
    float *U;         /* (cfg.route, n_in) orthonormal rows: the routing basis of routed inference, or NULL */
    int u_ready;      /* U fitted or loaded */
};

/* ---- spec.c ---- */
/* s for a block from K and its fraction. */
int pt_block_active(int K, float frac);

/* ---- tower.c ---- */
/* Block l's input length under c: 2K of the block below, else the subspace
 * rank or the pixel count. */
int pt_block_in_dim(const pt_tower_config *c, int l);
/* Allocate blocks/targets/codebook for t->cfg (zeroed). */
pt_status pt_tower_alloc(pt_tower *t);

/* ---- forward.c ---- */
/* Per-batch buffers of the forward pass. */
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

/* Room for B samples; the last block sized for max(K, Kcap_last) neurons. */
pt_status pt_fwd_alloc(fwd_ws *w, const pt_tower *t, int B, int Kcap_last);
void pt_fwd_free(fwd_ws *w);
/* Row length of a block's selection buffer: the s active neurons, then the
 * (s+1)-th, whose score is the soft threshold. */
static inline int pt_act_stride(const pt_block *b) { return b->s + 1; }
/* Forward nb samples x (nb, n_in) through blocks [0, upto). */
void pt_fwd(const pt_tower *t, fwd_ws *w, const float *x, int nb, int upto);
/* Block l's input for sample i of the last pt_fwd. */
const float *pt_fwd_input(const fwd_ws *w, const pt_tower *t, int l, int i);
/* logits (nb, n_classes) = Re(Z conj(C)^T) of the last block's outputs Z (nb, K). */
void pt_tower_readout(const pt_tower *t, float *logits, const pt_c32 *Z, int nb);
/* PT_EINVAL naming the sample when x (n, n_in) holds a non-finite value. */
pt_status pt_tower_check_input(const pt_tower *t, const float *x, size_t n);
/* Inference in batches: predictions, logits (n, C), vectors z of the code
 * (n, K_last complex) and alignments (n), each optional (NULL). */
pt_status pt_tower_infer(const pt_tower *t, const float *x, size_t n, pt_tower_code code, uint8_t *pred,
                         float *logits, float *z, float *align);

/* Active set of one sample: act[0..s) gets the s best scores (act needs s+1
 * entries). Returns the output threshold: 0 for HARD (or s == K), the
 * (s+1)-th best score for SOFT, whose index is left in act[s]. */
float pt_block_select(int *restrict act, const float *restrict sc, int K, int s, pt_select mode);
/* p <- p / ||p|| (left alone when ||p|| ~ 0); returns ||p|| (0 then). */
double pt_normalize_row(float *p, int d);
/* x~ = (x - mean x) / ||x - mean x||: the per-image input of block 0;
 * returns ||x - mean x|| (0 for a constant image, whose x~ is 0). */
double pt_tower_preprocess(float *restrict out, const float *restrict x, int d);
/* One sample's output of block l from its scores. */
void pt_block_output(const pt_tower *t, int l, pt_c32 *restrict u, int *restrict act, const float *restrict sc,
                     const float *restrict cphi, const float *restrict sphi, const pt_c32 *restrict prev);

/* ---- train.c ---- */
/* One local update of neuron k (exposed for tests; see train.c). */
void pt_tower_neuron_update(pt_block *b, int k, const float *restrict x, float xx, pt_c32 tgt,
                            const pt_tower_config *c);
/* What tests may change about a training call; the public call uses the defaults (all 0). */
typedef struct pt_train_hooks {
    /* newborns of the liquid topology take the oldest free ridge slot (never-used
     * slots first) instead of the one freed last: the readout must not depend on
     * which slot a neuron holds */
    int oldest_slot_first;
} pt_train_hooks;
pt_status pt_tower_train_hooked(pt_tower *t, const float *x, const uint8_t *y, size_t n, pt_progress_fn progress,
                                void *user, const pt_train_hooks *h);

/* ---- readout.c: the ridge readout's bookkeeping during one training call ---- */
/* The features of neuron k of the last block are its two reals (Re Z_k, Im Z_k)
 * (d = 2), or, when its phase cannot move during the pass (one block,
 * eta_phase = 0), the one real Re(Z_k e^{-i phi_k}) (d = 1): both reals are
 * proportional to it, so the 2K-feature problem is exactly a K-feature one
 * (docs/learning-rules.md, "Codebook"). Groups of the ridge accumulator are
 * slots, not neurons: with a liquid topology a neuron keeps its slot for its
 * whole life (slot[k]) and a slot is cleared before a newborn takes it;
 * without one slot[k] = k. */
typedef struct tower_ridge {
    pt_ridge *r;        /* NULL: no ridge readout in this call */
    size_t K, Kcap;     /* neurons of the last block now; slots */
    int d;              /* features per neuron, 1 or 2 */
    int *slot;          /* (Kcap) slot of neuron k */
    int *nz;            /* (Kcap) scratch: slots of the non-zero outputs */
    double *f;          /* (d Kcap) scratch: their features */
    float *cphi, *sphi; /* (Kcap) cos, sin of the current phases (d == 1) */
} tower_ridge;
pt_status pt_tridge_init(tower_ridge *a, const pt_tower *t, int Kcap);
void pt_tridge_free(tower_ridge *a);
/* cos, sin of the last block's phases (again after a topology change) */
void pt_tridge_phases(tower_ridge *a, const pt_block *last);
/* one sample: the last block's outputs Z (K) with label y */
void pt_tridge_add(tower_ridge *a, const pt_c32 *Z, int y);
/* solve at the end of the pass into the codebook */
pt_status pt_tridge_solve(pt_tower *t, tower_ridge *a);

/* ---- liquid.c: the liquid topology of the last block during one training call ---- */
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
    int oldest_slot_first; /* pt_train_hooks */
} liquid;
pt_status pt_liquid_init(liquid *q, pt_tower *t);
void pt_liquid_free(liquid *q);
/* After sample number `now`: mark its selected neurons used, and ask for a
 * birth when none is confident. */
void pt_liquid_observe(liquid *q, const pt_tower *t, const int *act, const float *sc, const float *in, int y,
                       uint64_t now);
/* Between mini-batches: flips, deaths and births, every per-neuron array compacted. */
void pt_liquid_apply(liquid *q, pt_tower *t, tower_ridge *ra, uint64_t now);

#endif
