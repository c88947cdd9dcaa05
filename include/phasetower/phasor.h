/* Phasor networks' building blocks (issue 5, part; docs/phasor.md):
 *  - the phase <-> spike codec of spiking phasor networks (Olin-Ammentorp &
 *    Bazhenov 2021; Bybee, Frady & Sommer 2022): one spike per cycle of T
 *    time bins, silent units explicit;
 *  - the threshold phasor associative memory, TPAM (Frady & Sommer 2019):
 *    sparse phasor patterns stored in Hebbian complex weights and retrieved
 *    by iterating z <- normalize(threshold(J z / K)).
 * Complex vectors are interleaved floats (re, im, ...). */
#ifndef PHASETOWER_PHASOR_H
#define PHASETOWER_PHASOR_H

#include "phasetower/checkpoint.h"
#include "phasetower/core.h"
#include "phasetower/embed.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- phase <-> spike codec ----
 * A cycle of T bins; bin b is centred on phase 2 pi b / T (phases taken
 * modulo 2 pi). Encoding: z_i with |z_i| <= eps is silent (bin -1), any other
 * spikes in the bin whose centre is nearest to arg z_i. Decoding: bin b gives
 * its centre, 2 pi b / T, wrapped to (-pi, pi]; the round trip is off by at
 * most pi / T, with no offset common to all phases. A silent unit decodes to active 0 and phase NaN: never to a
 * phase. PT_EINVAL: T < 2 or T > 32767, eps <= 0 or not finite, a
 * non-finite z, a bin outside -1..T-1. */
pt_status pt_phasor_spike_encode(const float *z, size_t n, int T, float eps, int16_t *bin);
pt_status pt_phasor_spike_decode(const int16_t *bin, size_t n, int T, float *phase, uint8_t *active);

/* ---- TPAM ---- */
typedef struct pt_tpam_config {
    int N;          /* neurons, 2..65536 */
    int K;          /* active neurons per pattern, 1..N */
    float theta;    /* threshold on |J z / K|, > 0 (default 0.4); ignored with topk */
    int topk;       /* 1: keep the K largest |J z| instead of a fixed threshold */
    int iters;      /* retrieval iterations, 1..1000 (default 20) */
    uint64_t seed;  /* of the patterns and the cues */
} pt_tpam_config;
typedef struct pt_tpam pt_tpam;

/* Defaults: N 625, K 25 (the reference demo), theta 0.4, fixed threshold, 20 iterations, seed 1. */
pt_tpam_config pt_tpam_config_default(void);
pt_status pt_tpam_create(const pt_tpam_config *c, pt_tpam **out); /* PT_EINVAL naming the field */
void pt_tpam_destroy(pt_tpam *m);

/* Draw M random sparse patterns (K of N units with uniform phases, the rest
 * 0), seeded, into patterns (M, N complex) if not NULL, and store them:
 * J += xi xi^H with a zero diagonal. */
pt_status pt_tpam_store_random(pt_tpam *m, int M, float *patterns);
/* Store one given pattern (N complex). */
pt_status pt_tpam_store(pt_tpam *m, const float *pattern);
int pt_tpam_count(const pt_tpam *m);
/* J (N, N complex), row-major: for tests and inspection. */
const float *pt_tpam_weights(const pt_tpam *m);

/* Retrieve from each of nc cues (nc, N complex), in place: z <-
 * normalize(threshold(J z / K)) for iters iterations (a unit below the
 * threshold goes silent, 0; the others are projected onto the unit circle). */
pt_status pt_tpam_retrieve(const pt_tpam *m, float *z, size_t nc);

/* |<a, b>| / (||a|| ||b||) of two phasor patterns (n complex), 0 when either is 0. */
float pt_tpam_overlap(const float *a, const float *b, size_t n);

/* Retrieval quality of a memory of M random patterns: cues are ncues stored
 * patterns with half of their K active entries zeroed (seeded); *mean gets
 * the mean overlap of the retrieved state with the pattern, *cue the mean
 * overlap of the cues themselves. */
pt_status pt_tpam_capacity_point(const pt_tpam_config *c, int M, int ncues, double *mean, double *cue);

/* ---- phasor MLP (Olin-Ammentorp & Bazhenov 2021, in its complex-weight
 * form; docs/phasor.md) ----
 * Encoder z0 = exp(i pi x) for x in [0, 1]; `depth` complex dense layers of
 * `hidden` units, h = W z (complex Glorot init: each part N(0, 1 / (fan_in +
 * fan_out))), each followed by the activation; real readout logits =
 * Re(V z). Trained by gradient descent with hand-written complex (Wirtinger)
 * gradients and Adam (optim.h) on the softmax cross-entropy of the logits.
 * Complex weights are interleaved (re, im) like every complex array of the
 * library. */
#define PT_PHASOR_MAX_DEPTH 16
typedef enum pt_phasor_act {
    PT_ACT_UNIT = 0,     /* z / (|z| + eps): onto the unit circle */
    PT_ACT_CARDIOID = 1, /* (1 + cos arg z) z / 2 */
    PT_ACT_MODRELU = 2,  /* max(0, |z| + b) z / |z|, b learned per unit, starting at modrelu_b */
    PT_ACT_QUANT = 3     /* k-level phase quantization: e^{i 2 pi j / k}, j the nearest level to arg z
                            (0 when |z| <= eps); trained with the unit circle's gradient
                            (straight-through) */
} pt_phasor_act;
typedef struct pt_phasor_config {
    int n_in, n_out;  /* 1..1e6, 2..256 */
    int hidden;       /* units per layer, 1..100000 */
    int depth;        /* hidden layers, 1..PT_PHASOR_MAX_DEPTH */
    pt_phasor_act act;
    float eps;        /* of the unit-circle activation, > 0 */
    float modrelu_b;  /* initial bias of modReLU (learned) */
    int levels;       /* k of PT_ACT_QUANT, 2..65536 (default 8) */
    float lr;         /* Adam step, > 0 */
    int batch;        /* mini-batch, 1..4096 */
    uint64_t seed;
} pt_phasor_config;
typedef struct pt_phasor pt_phasor;

/* Defaults: 784 inputs, 10 classes, 100 hidden, depth 1 (784-100-10, the
 * peer's setting), unit-circle activation, eps 1e-3, modrelu_b -0.1, 8 levels,
 * Adam lr 1e-3, batch 128, seed 1. */
pt_phasor_config pt_phasor_config_default(void);
pt_status pt_phasor_config_check(const pt_phasor_config *c); /* PT_EINVAL naming the field */
pt_status pt_phasor_create(const pt_phasor_config *c, pt_phasor **out);
void pt_phasor_destroy(pt_phasor *m);
const pt_phasor_config *pt_phasor_get_config(const pt_phasor *m);
const char *pt_phasor_act_name(pt_phasor_act a);
pt_status pt_phasor_act_parse(const char *s, pt_phasor_act *out); /* names phasor.act */

/* One epoch of Adam over x (n, n_in) in [0, 1], labels y, in a seeded
 * shuffled order; progress (may be NULL) after each mini-batch.
 * pt_phasor_loss gives the epoch's mean training loss. */
pt_status pt_phasor_train(pt_phasor *m, const float *x, const uint8_t *y, size_t n, pt_progress_fn progress, void *user);
double pt_phasor_loss(const pt_phasor *m);
/* Predictions and logits (n, n_out), each optional. */
pt_status pt_phasor_predict(const pt_phasor *m, const float *x, size_t n, uint8_t *pred, float *logits);
/* The network as an embedder (embed.h): the vectors are the last hidden
 * layer's activations (hidden complex values), the score the largest logit.
 * m is borrowed. */
pt_embedder pt_phasor_embedder(const pt_phasor *m);

/* The parameters as one vector of floats: for each layer its weights W (out,
 * in complex, interleaved) (then, with modReLU, its real biases (hidden)),
 * then the readout V (n_out, hidden complex). pt_phasor_grad gives the mean
 * cross-entropy over x and its gradient with respect to that vector (d/d Re
 * and d/d Im of every complex weight, interleaved), without changing the
 * model. pt_phasor_weights: the start of layer l's weights (l = depth: the
 * readout), read-only; NULL for l out of range. */
size_t pt_phasor_param_count(const pt_phasor *m);
float *pt_phasor_params(pt_phasor *m);
const float *pt_phasor_weights(const pt_phasor *m, int layer);
pt_status pt_phasor_grad(const pt_phasor *m, const float *x, const uint8_t *y, size_t n, double *loss, float *grad);

/* Spiking execution (docs/phasor.md), event-driven, every layer: each input
 * pixel spikes once per cycle of T bins at the bin of its phase pi x; a
 * neuron sums W_ij e^{i 2 pi b_j / T} over the spikes it receives, in time
 * order, and at the end of the cycle spikes at the bin of the sum's phase, or
 * stays silent when |sum| <= eps; the readout is Re(V a) over the last layer's
 * spikes. Needs the unit-circle activation (spikes carry phase, not
 * magnitude): PT_EINVAL otherwise, or for T outside 2..32767. *spikes (may be
 * NULL) gets the mean spikes per image, all layers and inputs. */
pt_status pt_phasor_predict_spiking(const pt_phasor *m, const float *x, size_t n, int T, uint8_t *pred,
                                    double *spikes);

/* Checkpoints, model kind "phasor" (docs/checkpoint-format.md): the
 * network's part of an envelope (checkpoint.h), so an episodic memory can
 * share the file, and the network alone in one call each. */
pt_status pt_phasor_to_ckpt(const pt_phasor *m, pt_ckpt *c);
pt_status pt_phasor_from_ckpt(pt_ckpt *c, pt_phasor **out);
pt_status pt_phasor_save(const pt_phasor *m, const char *path);
pt_status pt_phasor_load(const char *path, pt_phasor **out);

#ifdef __cplusplus
}
#endif
#endif
