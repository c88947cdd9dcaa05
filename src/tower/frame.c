/* The dual frame of a one-block tower (docs/memory.md, "Frame keys"): the
 * projection that maps a dense phase code back to the block's input, so that
 * an episodic memory's keys are the image's own coordinates. */
#include <math.h>
#include <string.h>
#include "linalg/linalg.h"
#include "tower/tower_internal.h"

int pt_tower_frame_dim(const pt_tower *t)
{
    const pt_block *b = &t->b[0];
    return t->cfg.n_blocks == 1 && b->in_dim < b->K ? b->in_dim : 0;
}

pt_status pt_tower_frame_projection(const pt_tower *t, float *proj)
{
    int R = pt_tower_frame_dim(t);
    if (R == 0)
        return pt_fail(PT_EINVAL, "frame keys need a one-block tower with more neurons than inputs");
    const pt_block *b = &t->b[0];
    size_t K = (size_t)b->K, n = (size_t)R;
    double *G = pt_calloc(n * n, sizeof *G), *H = pt_calloc(n * K, sizeof *H);
    if (!G || !H) {
        free(G), free(H);
        return pt_fail(PT_ENOMEM, "out of memory");
    }
    /* G = P^T P (plus a ridge of 1e-9 of its mean diagonal, against rounding), H = P^T */
    for (size_t k = 0; k < K; k++) {
        const float *p = b->P + k * n;
        for (size_t i = 0; i < n; i++) {
            H[i * K + k] = (double)p[i];
            for (size_t j = 0; j <= i; j++) G[i * n + j] += (double)p[i] * (double)p[j];
        }
    }
    double tr = 0.0;
    for (size_t i = 0; i < n; i++) tr += G[i * n + i];
    for (size_t i = 0; i < n; i++) {
        G[i * n + i] += 1e-9 * tr / (double)n;
        for (size_t j = 0; j < i; j++) G[j * n + i] = G[i * n + j];
    }
    int rc = pt_dposv(G, H, n, K);
    pt_status st = PT_OK;
    if (rc < 0) st = pt_fail(PT_ENOMEM, "out of memory");
    else if (rc > 0) st = pt_fail(PT_ENOCONV, "frame keys: the neurons' directions do not span the input");
    for (size_t k = 0; k < K && !st; k++) {
        double c = cos((double)b->phi[k]), s = sin((double)b->phi[k]);
        for (size_t j = 0; j < n; j++) {
            proj[2 * (k * n + j)] = (float)(H[j * K + k] * c);
            proj[2 * (k * n + j) + 1] = (float)(-H[j * K + k] * s);
        }
    }
    free(G), free(H);
    return st;
}
