/* PhaseTower episodic memory (paper section 6): a circular buffer of N complex
 * keys with labels and a usage value per slot. It sits on any model that can
 * embed its inputs as complex vectors (embed.h): it is filled from, evaluated
 * with, and saved next to the tower, a phasor network or any later family,
 * and none of them depends on it.
 *  - write: O(1); the key is the given vector projected to `dim` complex values
 *    (a fixed random complex Gaussian matrix, a Johnson-Lindenstrauss sketch,
 *    when dim < in_dim; none when dim == in_dim) and normalized to unit length.
 *  - recall: sim_i = |<M_i, q>| = |sum_j M_ij conj(q_j)| in [0, 1] for every
 *    stored slot; a batch of queries is one complex matrix product (BLAS cgemm);
 *    the top k slots vote (the mode of their labels, or similarity-weighted).
 *  - forgetting (alpha > 0): every recall adds sim_i - alpha to the usage v_i of
 *    every stored slot (v starts at 1 on write); a slot whose v falls below 0 is
 *    erased and reused by the next write before the circular pointer advances.
 * Vectors are interleaved complex floats (re, im, re, im, ...). One memory is
 * not safe to use from two threads at once; pt_memory_scores is const. */
#ifndef PHASETOWER_MEMORY_H
#define PHASETOWER_MEMORY_H

#include "phasetower/checkpoint.h"
#include "phasetower/core.h"
#include "phasetower/data.h"
#include "phasetower/embed.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pt_vote { PT_VOTE_MODE = 0, PT_VOTE_WEIGHTED = 1 } pt_vote;

/* What the stored vectors look like (docs/memory.md): SPARSE, few non-zero
 * entries (a tower's last block's output, s of K; the default: keys are built
 * entry by entry); DENSE, every entry non-zero (a tower's phase code before
 * selection, which composition needs: one BLAS product per batch makes the
 * keys). A memory must be filled and asked with the vectors it was made for. */
typedef enum pt_memory_code { PT_MEMORY_SPARSE = 0, PT_MEMORY_DENSE = 1 } pt_memory_code;

typedef struct pt_memory_config {
    int in_dim;    /* complex length of the vectors written and recalled, >= 1 */
    int dim;       /* complex length of the stored keys, 1..in_dim */
    int capacity;  /* N slots, 1..10,000,000 */
    int k;         /* slots that vote on a recall, 1..capacity */
    float alpha;   /* forgetting rate in [0, 1]; 0 = never forget */
    pt_vote vote;
    uint64_t seed; /* of the projection */
    pt_memory_code code;
} pt_memory_config;

typedef struct pt_memory pt_memory;

/* Defaults for vectors of in_dim: dim = min(in_dim, 256), N = 10000, k = 5,
 * alpha = 0, mode vote, seed 1, sparse code. */
pt_memory_config pt_memory_config_default(int in_dim);
pt_status pt_memory_config_check(const pt_memory_config *c); /* PT_EINVAL naming the field */

pt_status pt_memory_create(const pt_memory_config *c, pt_memory **out);
void pt_memory_destroy(pt_memory *m);
const pt_memory_config *pt_memory_get_config(const pt_memory *m);

/* Replace the drawn projection by proj (in_dim, dim complex, row-major; copied):
 * keys become normalize(z proj). For a tower's frame (pt_tower_frame_projection)
 * the key of a dense code is the image's subspace coordinates, a real vector
 * (docs/memory.md). PT_EINVAL unless the memory is empty, projects (dim <
 * in_dim) and proj is finite. pt_memory_frame tells whether it was replaced;
 * the checkpoint keeps it (metadata memory_proj). */
pt_status pt_memory_set_projection(pt_memory *m, const float *proj);
int pt_memory_frame(const pt_memory *m);
/* The projection (in_dim, dim complex), or NULL when keys are not projected. */
const float *pt_memory_projection(const pt_memory *m);
/* How keys are made: "frame" (a given projection), "sketch" (the drawn one) or
 * "plain" (dim == in_dim: the vectors themselves). */
const char *pt_memory_keys_name(const pt_memory *m);

/* Store z (in_dim complex) with label >= 0 in O(1): an erased slot if any, else
 * the slot at the circular pointer (overwriting the oldest when full). *slot
 * (may be NULL) gets the index. PT_EINVAL for a zero or non-finite vector. */
pt_status pt_memory_write(pt_memory *m, const float *z, int label, size_t *slot);

/* For each of nq queries q (nq, in_dim complex): the voted label (-1 when the
 * memory is empty) and the largest similarity (0 when empty). Either output may
 * be NULL. recall also applies forgetting; scores never changes the memory. */
pt_status pt_memory_recall(pt_memory *m, const float *q, size_t nq, int *label, float *best);
pt_status pt_memory_scores(const pt_memory *m, const float *q, size_t nq, int *label, float *best);

/* Stored slots, and a slot's label (-1 if empty), usage, length (of the
 * stored vector's key before normalization; 0 if empty) and key (dim complex). */
size_t pt_memory_count(const pt_memory *m);
int pt_memory_label(const pt_memory *m, size_t slot);
float pt_memory_usage(const pt_memory *m, size_t slot);
float pt_memory_length(const pt_memory *m, size_t slot);
const float *pt_memory_key(const pt_memory *m, size_t slot);

/* Names of labels (concepts). A composed concept gets a new label (above every
 * label in use and at least n_base) and a name of 1-31 characters from
 * [A-Za-z0-9+()_.-]; it remembers its two parents. Base labels have no stored
 * name: their name is their number. name_of writes the name into buf. */
enum { PT_MEMORY_MAX_NAMES = 1024, PT_MEMORY_NAME_LEN = 32 };
void pt_memory_name_of(const pt_memory *m, int label, char *buf, size_t len);
/* Label for a name: a stored name, or a base label written as a number; -1 if none. */
int pt_memory_find(const pt_memory *m, const char *name);
/* Parents of a composed label (-1, -1 for a base label). */
void pt_memory_parents(const pt_memory *m, int label, int *a, int *b);

/* Concept composition (paper section 7): pairs the i-th stored exemplar of
 * label a with the i-th of b (slot order, up to `pairs` pairs; with fanout R
 * also with the next R-1 of b, cyclically); each composite
 * key normalize(l_a key_a + l_b key_b), with the stored lengths l (so the key
 * of z_a + z_b), whose best similarity to the memory is below tau becomes an
 * entry with the new label and length |l_a key_a + l_b key_b|. tau in (0, 1]: note that the composite
 * of two near-orthogonal unit keys has similarity >= 1/sqrt(2) with each of
 * them, so tau <= 0.71 refuses almost every composite. PT_EINVAL: unknown or
 * empty labels, a == b, bad name or name in use, tau, pairs, fanout or guard
 * out of range; PT_ENOCONV when no composite was far enough or the guard
 * refused them all (the memory is then unchanged). *guarded (may be NULL)
 * counts the composites the guard refused (docs/memory.md). */
typedef struct pt_compose_opts {
    float tau;
    int pairs;        /* 1..10000 */
    int fanout;       /* 1..16 (0 means 1): each exemplar of a paired with this many of b */
    int guard;        /* 0: off; G in 1..k: refuse the composites among the k nearest of
                       * any stored entry (itself left out) when G or more of those are composites */
    int n_base;       /* labels below this are the data set's classes */
    const char *name;
} pt_compose_opts;
pt_status pt_memory_compose(pt_memory *m, int a, int b, const pt_compose_opts *o, int *label, size_t *added,
                            size_t *guarded);

/* Names of the votes ("mode", "weighted") and their parser (PT_EINVAL naming memory.vote). */
const char *pt_memory_vote_name(pt_vote v);
pt_status pt_memory_vote_parse(const char *s, pt_vote *out);
/* Names of the codes ("sparse", "dense") and their parser (PT_EINVAL naming memory.code). */
const char *pt_memory_code_name(pt_memory_code c);
pt_status pt_memory_code_parse(const char *s, pt_memory_code *out);

/* Bytes held by the keys, labels, usage values and lengths (the memory's footprint). */
size_t pt_memory_bytes(const pt_memory *m);

/* ---- the memory on a model ---- */

/* Which samples pt_memory_fill keeps (paper section 6). ALL: every one (the
 * circular buffer keeps the last `capacity`); WRONG: those the model
 * misclassifies; NOVEL: those whose best similarity to what is already stored
 * is below tau (the paper's "only directions far enough are materialized",
 * tau = 0.7). */
typedef enum pt_memory_policy { PT_MEMORY_ALL = 0, PT_MEMORY_WRONG = 1, PT_MEMORY_NOVEL = 2 } pt_memory_policy;
typedef struct pt_memory_fill_opts {
    pt_memory_policy policy;
    float tau;               /* NOVEL only, in (0, 1] */
    pt_progress_fn progress; /* samples done and total, may be NULL */
    void *user;
} pt_memory_fill_opts;
const char *pt_memory_policy_name(pt_memory_policy p);
pt_status pt_memory_policy_parse(const char *s, pt_memory_policy *out); /* PT_EINVAL naming memory.policy */

/* Write the vectors e makes of the samples of d into m by the policy, in
 * order. NOVEL compares each sample with the memory as it was before its
 * chunk of 256 samples and with every sample of the chunk already written. A
 * blank vector (no key) is not stored. *written (may be NULL) counts the
 * writes. PT_EINVAL: e's vectors are not m's in_dim, d's inputs not e's. */
pt_status pt_memory_fill(pt_memory *m, const pt_embedder *e, const pt_dataset *d, const pt_memory_fill_opts *o,
                         size_t *written);

/* The combined answer (paper section 6): the memory's label when its best
 * similarity reaches tau, else the model's. */
int pt_memory_combine(int model, int memory, float best, float tau);

/* A model and (optionally) its memory on a labelled set, in one pass per
 * chunk of 1024 samples: the model's classes and confidence scores, the
 * memory's labels and best similarities, and the accuracy of the model, the
 * memory and their combination at tau. Arrays are allocated here; free with
 * pt_memory_eval_free. Seconds are wall-clock: the model's pass, the recall. */
typedef struct pt_memory_eval {
    double acc, mem_acc, comb_acc;
    double embed_seconds, recall_seconds;
    uint8_t *pred;    /* (n) */
    float *scores;    /* (n, e->n_scores) */
    int *mem_label;   /* (n), NULL without a memory */
    float *mem_score; /* (n), NULL without a memory */
} pt_memory_eval;
pt_status pt_memory_evaluate(const pt_memory *m, const pt_embedder *e, const pt_dataset *d, float tau,
                             pt_memory_eval *out);
void pt_memory_eval_free(pt_memory_eval *ev);

/* The base classes (labels below n_base) a composed concept is made of, its
 * parents expanded recursively in order, into base (at most max). PT_EINVAL
 * for a label with no known parents or a deeper tree than max. */
pt_status pt_memory_base_labels(const pt_memory *m, int label, int n_base, int *base, int max, int *nbase);

/* The memory's part of a checkpoint (checkpoint.h), next to its model's.
 * to_ckpt borrows m's arrays until the envelope is saved. from_ckpt needs
 * the length of the model's vectors (in_dim) and sets *out to NULL when the
 * file holds no memory; a corrupt memory part is PT_EFORMAT. */
pt_status pt_memory_to_ckpt(const pt_memory *m, pt_ckpt *c);
pt_status pt_memory_from_ckpt(pt_ckpt *c, int in_dim, pt_memory **out);

#ifdef __cplusplus
}
#endif
#endif
