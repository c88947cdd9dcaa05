/* The checkpoint envelope: one safetensors file per model
 * (docs/checkpoint-format.md). The envelope owns the metadata every
 * checkpoint carries: format "phasetower", version, and the model kind
 * ("tower", "phasor", ...). Each part of a model contributes its own tensors
 * and metadata: a family writes its model (pt_<family>_to_ckpt) and reads it
 * back (pt_<family>_from_ckpt), and the episodic memory, which can sit on any
 * family's model, adds and reads its own part in the same file
 * (pt_memory_to_ckpt, pt_memory_from_ckpt).
 *
 *   pt_ckpt *c;
 *   pt_ckpt_create("tower", &c);            pt_ckpt_open(path, &c);
 *   pt_tower_to_ckpt(t, c);                 pt_tower_from_ckpt(c, &t);
 *   pt_memory_to_ckpt(mem, c);              pt_memory_from_ckpt(c, K, &mem);
 *   pt_ckpt_save(c, path);                  pt_ckpt_finish(c);
 *   pt_ckpt_close(c);                       pt_ckpt_close(c);
 *
 * Saving writes a temporary file, fsyncs it, renames it over the destination
 * and fsyncs the directory, so a failure never leaves a half-written
 * checkpoint, and a saved one survives a power loss. Opening validates the
 * whole file (sizes, offsets, the envelope) before any part reads from it;
 * pt_ckpt_finish then refuses a file holding a tensor no part claimed. Files
 * written before the envelope existed have the same layout and load
 * unchanged; a file of another version is refused with a message naming it. */
#ifndef PHASETOWER_CHECKPOINT_H
#define PHASETOWER_CHECKPOINT_H

#include <stdio.h>
#include "phasetower/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PT_CKPT_VERSION 1

typedef struct pt_ckpt pt_ckpt;

/* A new checkpoint of a model of the given kind (1-31 characters of
 * [a-z0-9_]). Tensors added to it are borrowed, not copied: keep the model
 * alive and unchanged until pt_ckpt_save. */
pt_status pt_ckpt_create(const char *kind, pt_ckpt **out);
/* Write everything added so far to path, atomically. */
pt_status pt_ckpt_save(const pt_ckpt *c, const char *path);

/* Read and validate path. PT_EIO (cannot read), PT_EFORMAT (not a valid
 * checkpoint, with the reason and the file's name). */
pt_status pt_ckpt_open(const char *path, pt_ckpt **out);
/* The model kind of the checkpoint at path, from its header alone (cheap:
 * no tensor is read) into kind (len bytes). */
pt_status pt_ckpt_peek(const char *path, char *kind, size_t len);
const char *pt_ckpt_kind(const pt_ckpt *c);
/* The file a checkpoint was opened from ("" for a new one). */
const char *pt_ckpt_path(const pt_ckpt *c);
/* PT_EFORMAT naming the first tensor that no part has read. */
pt_status pt_ckpt_finish(const pt_ckpt *c);
void pt_ckpt_close(pt_ckpt *c);

/* Any other file, written the way every file of the library is (checkpoints,
 * data sets, pictures, exports): fill(f, user) writes the whole content to f,
 * a fresh temporary file in path's directory (created exclusively, so never
 * an existing file or a symlink; the mode of a plain create); then the file is
 * flushed and fsynced, renamed over path, and the directory fsynced. A write
 * error on f, or a status other than PT_OK from fill (returned as it is),
 * removes the temporary file and leaves path as it was. PT_EIO naming path. */
pt_status pt_io_write_file(const char *path, pt_status (*fill)(FILE *f, void *user), void *user);

#ifdef __cplusplus
}
#endif
#endif
