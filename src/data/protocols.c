/* Data sets made from others for evaluation: the composition protocol's
 * blended images and the out-of-distribution noise set (data.h). */
#include <string.h>
#include "internal.h"
#include "phasetower/data.h"

/* out with n images of d's shape, zero labels */
static pt_status like(const pt_dataset *d, size_t n, pt_dataset *out)
{
    memset(out, 0, sizeof *out);
    out->n = n, out->rows = d->rows, out->cols = d->cols, out->dim = d->dim, out->n_classes = d->n_classes;
    out->x = pt_calloc(n * d->dim, sizeof *out->x);
    out->y = pt_calloc(n, 1);
    if (!out->x || !out->y) {
        pt_dataset_free(out);
        return pt_fail(PT_ENOMEM, "out of memory for %zu images", n);
    }
    return PT_OK;
}

pt_status pt_dataset_blend(const pt_dataset *d, const int *classes, int nc, pt_dataset *out)
{
    memset(out, 0, sizeof *out);
    if (nc < 1) return pt_fail(PT_EINVAL, "blend: no class to blend");
    size_t n = d->n;
    for (int c = 0; c < nc; c++) {
        size_t cnt = 0;
        for (size_t i = 0; i < d->n; i++) cnt += d->y[i] == classes[c];
        if (cnt < n) n = cnt;
    }
    if (n == 0) return pt_fail(PT_EINVAL, "blend: the data set lacks images of one of its classes");
    size_t *pos = pt_calloc((size_t)nc, sizeof *pos);
    pt_status st = pos ? like(d, n, out) : pt_fail(PT_ENOMEM, "out of memory");
    for (size_t j = 0; j < n && !st; j++)
        for (int c = 0; c < nc; c++) {
            while (d->y[pos[c]] != classes[c]) pos[c]++;
            const float *src = d->x + pos[c]++ * d->dim;
            for (size_t p = 0; p < d->dim; p++) out->x[j * d->dim + p] += src[p] / (float)nc;
        }
    free(pos);
    return st;
}

pt_status pt_dataset_noise(const pt_dataset *d, size_t n, uint64_t seed, pt_dataset *out)
{
    pt_status st = like(d, n, out);
    if (st) return st;
    pt_rng r;
    pt_rng_seed(&r, seed);
    for (size_t i = 0; i < n * d->dim; i++) {
        float v = 0.5f + pt_rng_normal(&r);
        out->x[i] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    }
    return PT_OK;
}
