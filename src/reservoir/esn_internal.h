/* The echo-state network's private layout (esn.c, esn_io.c and its tests). */
#ifndef PT_ESN_INTERNAL_H
#define PT_ESN_INTERNAL_H

#include "internal.h"
#include "phasetower/readout.h"
#include "phasetower/reservoir.h"

struct pt_esn {
    pt_esn_config c;
    size_t N, D, M;
    size_t nnz;     /* entries of W */
    int32_t *row;   /* (N + 1) CSR row starts */
    int32_t *col;   /* (nnz) */
    double *val;    /* (nnz), scaled to the spectral radius */
    double *win;    /* (N, D) */
    double *bias;   /* (N), zero without a bias */
    double *wout;   /* (N, M) */
    double *x;      /* (N) the state */
    double *pre;    /* (N) scratch: the pre-activation */
    double *u;      /* (D) scratch: the fed-back input of generate */
    double raw_radius;
    uint64_t steps;
    int fitted;
    pt_rls *rls;    /* an RLS fit in progress, or NULL */
};

/* A model of c's sizes with nnz entries of W, every array zero (W's CSR
 * arrays too): for create and for loading. */
pt_status pt_esn_alloc(const pt_esn_config *c, size_t nnz, pt_esn **out);

#endif
