/* Guided de-rotation: a test-time search over turns of the input, scored by
 * the tower's own alignment or by a caller's score of the turned image's
 * vectors (the CLI's: how well they match an episodic memory). */
#include <math.h>
#include <string.h>
#include "tower/tower_internal.h"

pt_status pt_tower_predict_derotate(const pt_tower *t, const float *x, size_t n, size_t rows, size_t cols,
                                    const pt_derotate *o, uint8_t *pred, float *angle)
{
    const pt_tower_config *c = &t->cfg;
    if (rows * cols != (size_t)c->n_in)
        return pt_fail(PT_EINVAL, "de-rotation: images of %zu x %zu pixels, the model expects %d", rows, cols, c->n_in);
    if (!(o->step > 0.0) || !(o->max >= 0.0) || !isfinite(o->max) || o->max / o->step > 90.0)
        return pt_fail(PT_EINVAL, "de-rotation: need max >= 0, step > 0 and at most 90 steps each way (max %g, step %g)",
                       o->max, o->step);
    if (!(o->margin >= 0.0) || !isfinite(o->margin))
        return pt_fail(PT_EINVAL, "de-rotation: margin %g must be a finite number >= 0", o->margin);
    if ((unsigned)o->code > PT_TOWER_CODE_DENSE) return pt_fail(PT_EINVAL, "de-rotation: unknown code %d", (int)o->code);
    size_t K = (size_t)pt_tower_out_dim(t);
    enum { CHUNK = 256 };
    size_t d = (size_t)c->n_in, C = (size_t)c->n_classes;
    int na = (int)floor(o->max / o->step + 1e-9);
    float *rot = pt_calloc(CHUNK * d, sizeof *rot), *lg = pt_calloc(CHUNK * C, sizeof *lg);
    float *al = pt_calloc(CHUNK, sizeof *al), *best = pt_calloc(CHUNK, sizeof *best), *al0 = pt_calloc(CHUNK, sizeof *al0);
    uint8_t *bp = pt_calloc(CHUNK, 1), *p0 = pt_calloc(CHUNK, 1);
    float *ba = pt_calloc(CHUNK, sizeof *ba);
    float *z = o->score ? pt_calloc(CHUNK * 2 * K, sizeof *z) : NULL;
    pt_status st = PT_OK;
    if (!rot || !lg || !al || !best || !al0 || !bp || !p0 || !ba || (o->score && !z)) {
        st = pt_fail(PT_ENOMEM, "out of memory for de-rotation");
        goto done;
    }
    for (size_t i0 = 0; i0 < n && !st; i0 += CHUNK) {
        size_t nb = n - i0 < CHUNK ? n - i0 : CHUNK;
        /* turn 0 first, then -max..+max without 0: the unturned answer wins ties */
        for (int a = 0; a <= 2 * na && !st; a++) {
            double deg = a == 0 ? 0.0 : (a <= na ? -o->step * (double)(na - a + 1) : o->step * (double)(a - na));
            const float *in = x + i0 * d;
            if (a > 0) {
                for (size_t i = 0; i < nb; i++) pt_image_rotate(rot + i * d, in + i * d, rows, cols, deg);
                in = rot;
            }
            if (o->score) {
                if ((st = pt_tower_forward(t, in, nb, o->code, lg, z, NULL)) || (st = o->score(o->user, z, nb, al))) break;
            } else if ((st = pt_tower_forward(t, in, nb, PT_TOWER_CODE_SPARSE, lg, NULL, al))) {
                break;
            }
            for (size_t i = 0; i < nb; i++) {
                size_t y = 0;
                for (size_t k = 1; k < C; k++)
                    if (lg[i * C + k] > lg[i * C + y]) y = k;
                if (a == 0) al0[i] = best[i] = al[i], p0[i] = bp[i] = (uint8_t)y, ba[i] = 0.0f;
                else if (al[i] > best[i]) best[i] = al[i], bp[i] = (uint8_t)y, ba[i] = (float)deg;
            }
        }
        for (size_t i = 0; i < nb && !st; i++) {
            int turn = (double)best[i] > (double)al0[i] + o->margin;
            pred[i0 + i] = turn ? bp[i] : p0[i];
            if (angle) angle[i0 + i] = turn ? ba[i] : 0.0f;
        }
    }
done:
    free(rot), free(lg), free(al), free(best), free(al0), free(bp), free(p0), free(ba), free(z);
    return st;
}
