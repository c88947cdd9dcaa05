/* The memory on a model (embed.h): filling it from a model's vectors by a
 * policy (paper section 6), the combined answer, evaluation of a model and
 * its memory together, and the base classes of a composed concept. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <string.h>
#include <time.h>
#include "memory/memory_internal.h"

#define FILL_CHUNK 256   /* samples per model pass when filling */
#define EVAL_CHUNK 1024  /* samples per model pass when evaluating */

static const char *const policy_names[] = {[PT_MEMORY_ALL] = "all", [PT_MEMORY_WRONG] = "wrong",
                                           [PT_MEMORY_NOVEL] = "novel"};

PT_ENUM_FUNCS(pt_memory_policy, pt_memory_policy_name, pt_memory_policy_parse, "memory.policy", policy_names)

/* |<a, b>| of two unit keys of length d */
static float key_sim(const pt_c32 *a, const pt_c32 *b, size_t d)
{
    pt_c32 acc = 0.0f;
    for (size_t j = 0; j < d; j++) acc += a[j] * conjf(b[j]);
    return cabsf(acc);
}

static pt_status check_embedder(const pt_memory *m, const pt_embedder *e, const pt_dataset *d)
{
    if (!e || !e->embed) return pt_fail(PT_EINVAL, "memory: no model to embed with");
    if (m && e->dim != m->cfg.in_dim)
        return pt_fail(PT_EINVAL, "memory holds vectors of %d, the model outputs %d", m->cfg.in_dim, e->dim);
    if ((int)d->dim != e->n_in) return pt_fail(PT_EINVAL, "data has %zu inputs, the model %d", d->dim, e->n_in);
    if (e->n_scores < 0 || e->n_scores > PT_EMBED_MAX_SCORES)
        return pt_fail(PT_EINVAL, "memory: the model reports %d scores", e->n_scores);
    return PT_OK;
}

/* Store the keys of chunk [i0, i0 + nb) that the policy keeps. */
static size_t store_chunk(pt_memory *m, const pt_dataset *d, size_t i0, size_t nb, const pt_memory_fill_opts *o,
                          const pt_c32 *keys, const float *len, const uint8_t *pred, const float *best, size_t *kept)
{
    size_t kd = (size_t)m->cfg.dim, nk = 0, nw = 0;
    for (size_t i = 0; i < nb; i++) {
        int y = d->y[i0 + i];
        if (!(len[i] > 0.0f)) continue; /* a blank output (no active neuron) is not stored */
        if (o->policy == PT_MEMORY_WRONG && pred[i] == y) continue;
        if (o->policy == PT_MEMORY_NOVEL) {
            if (best[i] >= o->tau) continue;
            float top = 0.0f;
            for (size_t j = 0; j < nk; j++) top = fmaxf(top, key_sim(keys + i * kd, keys + kept[j] * kd, kd));
            if (top >= o->tau) continue;
            kept[nk++] = i;
        }
        pt_memory_store(m, keys + i * kd, y, len[i]);
        nw++;
    }
    return nw;
}

pt_status pt_memory_fill(pt_memory *m, const pt_embedder *e, const pt_dataset *d, const pt_memory_fill_opts *o,
                         size_t *written)
{
    pt_status st = check_embedder(m, e, d);
    if (st) return st;
    if ((unsigned)o->policy > PT_MEMORY_NOVEL) return pt_fail(PT_EINVAL, "memory.policy: unknown value %d", (int)o->policy);
    if (o->policy == PT_MEMORY_NOVEL && !(o->tau > 0.0f && o->tau <= 1.0f))
        return pt_fail(PT_EINVAL, "memory fill: tau %g must be in (0, 1]", (double)o->tau);
    size_t K = (size_t)m->cfg.in_dim, kd = (size_t)m->cfg.dim;
    float *z = pt_calloc(FILL_CHUNK * 2 * K, sizeof *z), *best = pt_calloc(FILL_CHUNK, sizeof *best);
    uint8_t *pred = pt_calloc(FILL_CHUNK, 1);
    pt_c32 *keys = pt_calloc(FILL_CHUNK * kd, sizeof *keys); /* this chunk's keys */
    float *len = pt_calloc(FILL_CHUNK, sizeof *len);
    size_t *kept = pt_calloc(FILL_CHUNK, sizeof *kept); /* novel: the chunk's samples written so far */
    if (!z || !best || !pred || !keys || !len || !kept) st = pt_fail(PT_ENOMEM, "out of memory");
    size_t nw = 0;
    for (size_t i0 = 0; i0 < d->n && !st; i0 += FILL_CHUNK) {
        size_t nb = d->n - i0 < FILL_CHUNK ? d->n - i0 : FILL_CHUNK;
        if ((st = e->embed(e, d->x + i0 * d->dim, nb, z, o->policy == PT_MEMORY_WRONG ? pred : NULL, NULL))) break;
        if (o->policy == PT_MEMORY_NOVEL && (st = pt_memory_scores(m, z, nb, NULL, best))) break;
        pt_memory_make_keys(m, keys, z, nb, len);
        nw += store_chunk(m, d, i0, nb, o, keys, len, pred, best, kept);
        if (o->progress) o->progress(i0 + nb, d->n, o->user);
    }
    free(z), free(best), free(pred), free(keys), free(len), free(kept);
    if (written) *written = nw;
    return st;
}

int pt_memory_combine(int model, int memory, float best, float tau) { return best >= tau && memory >= 0 ? memory : model; }

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void pt_memory_eval_free(pt_memory_eval *ev)
{
    free(ev->pred), free(ev->scores), free(ev->mem_label), free(ev->mem_score);
    memset(ev, 0, sizeof *ev);
}

pt_status pt_memory_evaluate(const pt_memory *m, const pt_embedder *e, const pt_dataset *d, float tau,
                             pt_memory_eval *ev)
{
    memset(ev, 0, sizeof *ev);
    pt_status st = check_embedder(m, e, d);
    if (st) return st;
    size_t n = d->n, S = (size_t)e->n_scores, K = (size_t)e->dim;
    ev->pred = pt_calloc(n, 1);
    ev->scores = pt_calloc(n * (S ? S : 1), sizeof *ev->scores);
    float *z = m ? pt_calloc(EVAL_CHUNK * 2 * K, sizeof *z) : NULL;
    if (m) ev->mem_label = pt_calloc(n, sizeof *ev->mem_label), ev->mem_score = pt_calloc(n, sizeof *ev->mem_score);
    if (!ev->pred || !ev->scores || (m && (!z || !ev->mem_label || !ev->mem_score))) st = pt_fail(PT_ENOMEM, "out of memory");
    for (size_t i0 = 0; i0 < n && !st; i0 += EVAL_CHUNK) {
        size_t nb = n - i0 < EVAL_CHUNK ? n - i0 : EVAL_CHUNK;
        double t0 = now(); /* one pass: the answers, the scores and the vectors the memory recalls from */
        if ((st = e->embed(e, d->x + i0 * d->dim, nb, z, ev->pred + i0, S ? ev->scores + i0 * S : NULL))) break;
        ev->embed_seconds += now() - t0;
        if (!m) continue;
        t0 = now();
        if ((st = pt_memory_scores(m, z, nb, ev->mem_label + i0, ev->mem_score + i0))) break;
        ev->recall_seconds += now() - t0;
    }
    free(z);
    if (st) {
        pt_memory_eval_free(ev);
        return st;
    }
    size_t ok = 0, mok = 0, cok = 0;
    for (size_t i = 0; i < n; i++) {
        ok += ev->pred[i] == d->y[i];
        if (!m) continue;
        mok += ev->mem_label[i] == d->y[i];
        cok += pt_memory_combine(ev->pred[i], ev->mem_label[i], ev->mem_score[i], tau) == d->y[i];
    }
    ev->acc = n ? (double)ok / (double)n : 0.0;
    ev->mem_acc = n ? (double)mok / (double)n : 0.0;
    ev->comb_acc = n ? (double)cok / (double)n : 0.0;
    return PT_OK;
}

pt_status pt_memory_base_labels(const pt_memory *m, int label, int n_base, int *base, int max, int *nbase)
{
    int stack[64], ns = 0, nb = 0;
    stack[ns++] = label;
    while (ns > 0) {
        int l = stack[--ns], a, b;
        if (l < n_base) {
            if (nb == max) return pt_fail(PT_EINVAL, "concept %d is made of more than %d base classes", label, max);
            base[nb++] = l;
            continue;
        }
        pt_memory_parents(m, l, &a, &b);
        if (a < 0) return pt_fail(PT_EINVAL, "concept %d has no known parents", l);
        if (ns + 2 > 64) return pt_fail(PT_EINVAL, "concept %d is nested too deeply", label);
        stack[ns++] = b, stack[ns++] = a;
    }
    *nbase = nb;
    return PT_OK;
}
