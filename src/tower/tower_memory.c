/* Filling the episodic memory from a trained tower (paper section 6): embed
 * the samples in chunks, then write all, the misclassified, or the novel. */
#include <math.h>
#include <string.h>
#include "linalg/linalg.h"
#include "memory/memory_internal.h"
#include "tower/tower_internal.h"

#define CHUNK 256

static const char *const policy_names[] = {[PT_MEMORIZE_ALL] = "all", [PT_MEMORIZE_WRONG] = "wrong",
                                           [PT_MEMORIZE_NOVEL] = "novel"};

PT_ENUM_FUNCS(pt_memorize_policy, pt_memorize_policy_name, pt_memorize_policy_parse, "memory", policy_names)

/* |<a, b>| of two unit keys of length d */
static float key_sim(const pt_c32 *a, const pt_c32 *b, size_t d)
{
    pt_c32 acc = 0.0f;
    for (size_t j = 0; j < d; j++) acc += a[j] * conjf(b[j]);
    return cabsf(acc);
}

pt_status pt_tower_memorize(const pt_tower *t, pt_memory *m, const pt_dataset *d, const pt_memorize_opts *o,
                            size_t *written)
{
    const pt_memory_config *mc = pt_memory_get_config(m);
    size_t K = (size_t)pt_tower_out_dim(t), kd = (size_t)mc->dim;
    if ((size_t)mc->in_dim != K)
        return pt_fail(PT_EINVAL, "memory holds vectors of %d, the tower outputs %zu", mc->in_dim, K);
    if ((int)d->dim != t->cfg.n_in) return pt_fail(PT_EINVAL, "data has %zu inputs, the model %d", d->dim, t->cfg.n_in);
    if ((unsigned)o->policy > PT_MEMORIZE_NOVEL) return pt_fail(PT_EINVAL, "unknown memory policy %d", (int)o->policy);
    if (o->policy == PT_MEMORIZE_NOVEL && !(o->tau > 0.0f && o->tau <= 1.0f))
        return pt_fail(PT_EINVAL, "--memory-tau %g: must be in (0, 1]", (double)o->tau);
    float *z = pt_calloc(CHUNK * 2 * K, sizeof *z);
    float *best = pt_calloc(CHUNK, sizeof *best);
    uint8_t *pred = pt_calloc(CHUNK, 1);
    pt_c32 *keys = pt_calloc(CHUNK * kd, sizeof *keys); /* this chunk's keys */
    float *len = pt_calloc(CHUNK, sizeof *len);
    size_t *kept = pt_calloc(CHUNK, sizeof *kept); /* novel: the chunk's samples written so far */
    if (!z || !best || !pred || !keys || !len || !kept) {
        free(z), free(best), free(pred), free(keys), free(len), free(kept);
        return pt_fail(PT_ENOMEM, "out of memory");
    }
    pt_status st = PT_OK;
    size_t nw = 0;
    for (size_t i0 = 0; i0 < d->n && !st; i0 += CHUNK) {
        size_t nb = d->n - i0 < CHUNK ? d->n - i0 : CHUNK;
        const float *x = d->x + i0 * d->dim;
        if ((st = pt_tower_infer_code(t, x, nb, o->policy == PT_MEMORIZE_WRONG ? pred : NULL, NULL, z, NULL, mc->code)))
            break;
        if (o->policy == PT_MEMORIZE_NOVEL && (st = pt_memory_scores(m, z, nb, NULL, best))) break;
        pt_memory_make_keys(m, keys, z, nb, len);
        size_t nk = 0;
        for (size_t i = 0; i < nb; i++) {
            int y = d->y[i0 + i];
            if (!(len[i] > 0.0f)) continue; /* a blank output (no active neuron) is not stored */
            if (o->policy == PT_MEMORIZE_WRONG && pred[i] == y) continue;
            if (o->policy == PT_MEMORIZE_NOVEL) {
                if (best[i] >= o->tau) continue;
                float top = 0.0f;
                for (size_t j = 0; j < nk; j++) top = fmaxf(top, key_sim(keys + i * kd, keys + kept[j] * kd, kd));
                if (top >= o->tau) continue;
                kept[nk++] = i;
            }
            pt_memory_store(m, keys + i * kd, y, len[i]);
            nw++;
        }
    }
    free(z), free(best), free(pred), free(keys), free(len), free(kept);
    if (written) *written = nw;
    return st;
}

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

pt_status pt_tower_memory_frame(const pt_tower *t, pt_memory *m)
{
    const pt_memory_config *c = pt_memory_get_config(m);
    if (c->in_dim != pt_tower_out_dim(t) || pt_tower_frame_dim(t) != c->dim)
        return pt_fail(PT_EINVAL, "frame keys: the memory's keys (%d of %d) do not match the tower's frame (%d of %d)",
                       c->dim, c->in_dim, pt_tower_frame_dim(t), pt_tower_out_dim(t));
    if (c->code != PT_MEMORY_DENSE) return pt_fail(PT_EINVAL, "frame keys need a memory of dense codes");
    float *proj = pt_calloc((size_t)c->in_dim * (size_t)c->dim * 2, sizeof *proj);
    if (!proj) return pt_fail(PT_ENOMEM, "out of memory");
    pt_status st = pt_tower_frame_projection(t, proj);
    if (!st) st = pt_memory_set_projection(m, proj);
    free(proj);
    return st;
}
