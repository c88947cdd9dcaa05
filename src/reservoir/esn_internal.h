/* The echo-state network's private layout (esn.c, esn_io.c and its tests). */
#ifndef PT_ESN_INTERNAL_H
#define PT_ESN_INTERNAL_H

#include "internal.h"
#include "phasetower/readout.h"
#include "phasetower/reservoir.h"

#define PT_ESN_2PI 6.28318530717958647692
#define PT_ESN_SQRT1_2 0.70710678118654752440 /* 1 / sqrt(2) */

/* The phasor unit keeps the same arrays with each value a complex number:
 * two doubles (Re, Im), the layout of <complex.h>'s double complex, which its
 * update reads them as. cw, the doubles per value, is 1 or 2. */
struct pt_esn {
    pt_esn_config c;
    size_t N, D, M;
    size_t cw;      /* doubles per value: 1 (tanh) or 2 (phasor, complex) */
    size_t F;       /* features: N * cw */
    size_t nnz;     /* entries of W */
    int32_t *row;   /* (N + 1) CSR row starts */
    int32_t *col;   /* (nnz) */
    double *val;    /* (nnz, cw), scaled to the spectral radius */
    double *win;    /* (N, D, cw) */
    double *bias;   /* (N, cw), zero without a bias */
    double *wout;   /* (F, M) */
    double *x;      /* (F) the state */
    double *pre;    /* (F) scratch: the pre-activation */
    double *u;      /* (D) scratch: the fed-back input of generate */
    double raw_radius;
    uint64_t steps;
    int fitted;
    pt_rls *rls;    /* an RLS fit in progress, or NULL */
};

/* A model of c's sizes with nnz entries of W, every array zero (W's CSR
 * arrays too): for create and for loading. */
pt_status pt_esn_alloc(const pt_esn_config *c, size_t nnz, pt_esn **out);
/* W_in and the bias from rng, after W's draws (esn.c). */
void pt_esn_draw_inputs(pt_esn *m, pt_rng *rng);
/* The phasor unit (phres.c): a new model (c checked, c->unit PHASOR), and one
 * step of its update from input u (D). */
pt_status pt_esn_create_phasor(const pt_esn_config *c, pt_esn **out);
void pt_esn_step_phasor(pt_esn *m, const double *restrict u);

#endif
