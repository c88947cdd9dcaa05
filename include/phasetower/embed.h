/* A model seen as an embedder: inputs in, complex vectors out, with the
 * model's own answer and confidence scores from the same pass. This is all
 * the episodic memory (memory.h) needs of a model, so the memory sits on any
 * family that provides one (pt_tower_embedder, pt_phasor_embedder, ...), and
 * no family depends on the memory. */
#ifndef PHASETOWER_EMBED_H
#define PHASETOWER_EMBED_H

#include "phasetower/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PT_EMBED_MAX_SCORES 4

typedef struct pt_embedder pt_embedder;
/* For n inputs x (n, n_in): the vectors z (n, dim complex, interleaved), the
 * model's classes pred (n) and its confidence scores (n, n_scores), each
 * optional (NULL). Must not change the model; may be called from any thread
 * that owns the embedder. */
typedef pt_status (*pt_embed_fn)(const pt_embedder *e, const float *x, size_t n, float *z, uint8_t *pred,
                                 float *scores);

struct pt_embedder {
    const void *model;       /* borrowed: keep it alive and unchanged while the embedder is used */
    int variant;             /* which vectors, when a model has several (family-defined) */
    pt_embed_fn embed;
    int n_in;                /* input length */
    int dim;                 /* complex length of the vectors */
    int n_classes;           /* classes of pred */
    int n_scores;            /* confidence scores per input, 0..PT_EMBED_MAX_SCORES (higher: surer) */
    const char *score_names[PT_EMBED_MAX_SCORES]; /* e.g. "logit", "align" */
};

#ifdef __cplusplus
}
#endif
#endif
