/* Quantized PhaseTower and its export for microcontrollers (docs/export.md).
 * The export module reads models only through their public views
 * (pt_tower_block, pt_tower_codebook, pt_memory_key, ...).
 * A one-block tower is turned into integers: directions as int8 or int16 rows
 * with one scale for the whole matrix, phases as 16-bit angles, the codebook as
 * int8 or int16 pairs. Inference is integer-only (no float, no libm; cos and
 * sin from a table) and is the very code that `pt_qtower_export` writes into a
 * standalone C99 source, so the library and the exported program agree on
 * every image. Inputs are 8-bit pixels (0..255); float images in [0,1] are
 * rounded to them. */
#ifndef PHASETOWER_EXPORT_H
#define PHASETOWER_EXPORT_H

#include "phasetower/core.h"
#include "phasetower/memory.h"
#include "phasetower/tower.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pt_qtower pt_qtower;

/* Quantize t with bits 8 or 16. A tower with a subspace (train --subspace) is
 * stored factored: its basis and each direction's coordinates in it. PT_EINVAL
 * naming what is unsupported: more than one block, more than 1024 active
 * neurons or subspace dimensions, more than 65535 inputs, a non-finite weight. */
pt_status pt_qtower_create(const pt_tower *t, int bits, pt_qtower **out);
void pt_qtower_destroy(pt_qtower *q);
int pt_qtower_bits(const pt_qtower *q);

/* Class of each of n float images (n, n_in) in [0,1] (rounded to pixels). */
pt_status pt_qtower_predict(const pt_qtower *q, const float *x, size_t n, uint8_t *pred);
/* Class of one image of n_in pixels; logits (n_classes) may be NULL. */
int pt_qtower_predict_pixels(const pt_qtower *q, const uint8_t *pixels, int64_t *logits);

/* Add the episodic memory mem (of the same model) in integers: its stored keys
 * and projection as int8 pairs, labels, names. tau in (0, 1]: the similarity
 * at which the combined answer trusts the memory. PT_EINVAL: keys of more than
 * 1024 complex values, k above 64, an empty memory, a memory of other vectors. */
pt_status pt_qtower_add_memory(pt_qtower *q, const pt_memory *mem, float tau);
int pt_qtower_has_memory(const pt_qtower *q);
/* With a memory: for each of n float images, the tower's class (tower, may be
 * NULL), the memory's label (memory) and whether its best similarity reached
 * tau (confident, may be NULL); the combined answer is memory when confident. */
pt_status pt_qtower_recall(const pt_qtower *q, const float *x, size_t n, uint8_t *tower, int *memory, uint8_t *confident);

/* Bytes of constant data in the export (weights, row sums, angles, codebook,
 * sine table): what a microcontroller keeps in flash. */
size_t pt_qtower_const_bytes(const pt_qtower *q);

/* Write DIR/phasetower_model.h and DIR/phasetower_model.c (DIR is created if
 * missing): a standalone C99 classifier with the API
 *   int ptm_predict(const unsigned char *pixels);
 *   int ptm_logits(const unsigned char *pixels, long long *logits);
 * only static const data and static functions besides those two, no malloc,
 * no libm. Both files are written to temporary names, fsynced, and only then
 * renamed (docs/checkpoint-format.md, "Writing"), so a failure leaves nothing
 * half-written; DIR, when this call created it, is removed again on failure.
 * source (may be NULL) is named in the banner's comment as plain text (each
 * run of characters other than letters, digits, space and ._+-/ becomes '?').
 * PT_EIO when DIR cannot be created or written. */
pt_status pt_qtower_export(const pt_qtower *q, const char *dir, const char *source);

#ifdef __cplusplus
}
#endif
#endif
