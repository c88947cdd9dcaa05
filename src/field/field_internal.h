/* The field model's private layout (src/field/ only). */
#ifndef PT_FIELD_INTERNAL_H
#define PT_FIELD_INTERNAL_H

#include "internal.h"
#include "phasetower/field.h"
#include "phasetower/optim.h"

#define PT_FIELD_LEVELS 4

struct pt_field {
    pt_field_config c;
    size_t hw;    /* pixels */
    size_t nz;    /* floats per state: 2 hw C */
    size_t nf;    /* readout features: C P^2 */
    size_t np;    /* parameters */
    float *theta; /* (np) */
    /* views into theta */
    float *K, *E, *eb, *beta, *R, *rb;
    /* derived from K (pt_field_params_changed) */
    /* the normalised kernel Wt (9 C, C complex: Wt[(d C + ci) C + co] = s
     * K[d][co][ci], s = gain / sigma) and its adjoint (Wadj[(d C + co) C + ci]
     * = conj(Wt[((8 - d) C + ci) C + co])), each split for the direct
     * convolution: row (d C + i) of Xa is (Re, Im) of X's row, interleaved,
     * and of Xb (-Im, Re), so that out += Re(z_i) Xa + Im(z_i) Xb is the
     * complex product */
    float *Wa, *Wb, *Aa, *Ab;
    /* the same four transformed for Winograd's F(2x2, 3x3): (16, C, 2C) each */
    float *Wino[4];
    int *wtab[PT_FIELD_LEVELS]; /* (blocks, 16): the input pixels of each 2x2 block's 4x4 window on level l (Winograd's levels) */
    double sigma;  /* ||K *|| on the torus */
    int sky, skx;  /* where it is reached */
    double *su, *sv; /* (C) complex: the top singular vectors there */
    int *nbr;      /* (hw, 9): the pixel at offset d of pixel p, on the torus */
    int nlevels;   /* grid levels the image halves into (multigrid), at most PT_FIELD_LEVELS */
    int *lnbr[PT_FIELD_LEVELS]; /* nbr of level l's torus ((H >> l) x (W >> l)); lnbr[0] = nbr */
    size_t lhw[PT_FIELD_LEVELS];
    int *cell;     /* (hw): the readout cell of pixel p */
    float *cinv;   /* (P^2): 1 / the pixels of each cell */
    pt_adam *adam;
    pt_rng rng;
    int epochs;
};

/* Workspace of up to cap images (field.c). */
typedef struct fwork {
    size_t cap;
    float *x;      /* (cap, hw) the images, for the encoder's gradient */
    float *u;      /* (cap, nz) injections */
    float *z;      /* (cap, nz) states */
    float *pre;    /* (cap, nz) Wt z + u at the state the gradient is taken at */
    float *g;      /* (cap, nz) dL/dz, then the adjoint */
    float *t1, *t2; /* (cap, nz) scratch */
    float *cols;   /* (cap hw, 9 C) complex */
    float *feat;   /* (cap, nf) */
    float *logits; /* (cap, n_classes) */
    float *zs, *pres; /* unroll: (steps + 1, cap, nz), (steps, cap, nz) */
    int steps;
    pt_fixpoint *fwd, *adj;
    pt_multigrid *mg;      /* the forward solver when it is multigrid */
    float *ul[PT_FIELD_LEVELS]; /* (cap, nz >> 2l) the injection on each level (multigrid) */
    pt_fixpoint_info *info, *ainfo; /* (cap) */
} fwork;

pt_status pt_field_work_create(const pt_field *m, size_t cap, int steps, int adjoint, fwork *w);
void pt_field_work_free(fwork *w);
/* The forward solver's configuration from the model's run settings. */
pt_fixpoint_config pt_field_solver_config(const pt_field *m);
/* u (n, nz) from x (n, hw) */
void pt_field_encode(const pt_field *m, const float *x, size_t n, float *u);
/* pre = W z + u for na packed states (u rows by items, or u packed when items is NULL), out = act(pre) */
void pt_field_apply(const pt_field *m, fwork *w, const float *z, size_t na, const size_t *items, const float *u,
                    float *pre, float *out);
/* F on grid level l for na packed states (u: level l's injections, rows by items) */
void pt_field_apply_level(const pt_field *m, int l, const float *z, size_t na, const size_t *items, const float *u,
                          float *pre, float *out);
/* Solve the batch's fixed points from u into w->z (stats updated) */
pt_status pt_field_solve(const pt_field *m, fwork *w, size_t n, pt_field_stats *stats);
/* features and logits of n states */
void pt_field_readout(const pt_field *m, const float *z, size_t n, float *feat, float *logits);
/* act's Jacobian transposed: out = J(pre)^T v for n states; gbeta (C, may be NULL) += dL/dbeta */
void pt_field_act_back(const pt_field *m, const float *pre, const float *v, size_t n, float *out, float *gbeta);
/* The adjoint of the convolution: out = W^H * v for n states */
void pt_field_conv_adj(const pt_field *m, fwork *w, const float *v, size_t n, float *out);
/* cols (na hw, 9 C complex) of na states: column d C + ci of row p is z[nbr(p, d)][ci] */
void pt_field_im2col(const pt_field *m, const float *z, size_t na, float *cols);
/* out = W z (adjoint: W^H z) on grid level l for na states; method 1 the
 * direct convolution, 2 Winograd's F(2x2, 3x3) (only where
 * pt_field_conv_winograd), 0 the faster of the two that applies */
void pt_field_conv(const pt_field *m, int l, int adjoint, int method, const float *z, size_t na, float *out);
int pt_field_conv_winograd(const pt_field *m, int l);
/* The exact norm and the normalised kernels from K */
pt_status pt_field_refresh(pt_field *m);

#endif
