/* Test helpers: a tower and its episodic memory in one checkpoint, through
 * the envelope, as the CLI writes and reads them. */
#ifndef PT_TESTS_MODEL_IO_H
#define PT_TESTS_MODEL_IO_H
#include "phasetower/pt.h"

static inline pt_status save_tower_memory(const pt_tower *t, const pt_memory *m, const char *path)
{
    pt_ckpt *c = NULL;
    pt_status st = pt_ckpt_create("tower", &c);
    if (!st) st = pt_tower_to_ckpt(t, c);
    if (!st && m) st = pt_memory_to_ckpt(m, c);
    if (!st) st = pt_ckpt_save(c, path);
    pt_ckpt_close(c);
    return st;
}

/* Every tensor must belong to the tower or the memory; *m is NULL without one. */
static inline pt_status load_tower_memory(const char *path, pt_tower **t, pt_memory **m)
{
    *t = NULL, *m = NULL;
    pt_ckpt *c = NULL;
    pt_status st = pt_ckpt_open(path, &c);
    if (!st) st = pt_tower_from_ckpt(c, t);
    if (!st) st = pt_memory_from_ckpt(c, pt_tower_out_dim(*t), m);
    if (!st) st = pt_ckpt_finish(c);
    pt_ckpt_close(c);
    if (st) {
        pt_tower_destroy(*t), pt_memory_destroy(*m);
        *t = NULL, *m = NULL;
    }
    return st;
}

/* A memory of t's dense codes with t's frame as its projection. */
static inline pt_status memory_frame(const pt_tower *t, pt_memory *m)
{
    const pt_memory_config *c = pt_memory_get_config(m);
    if (c->in_dim != pt_tower_out_dim(t) || pt_tower_frame_dim(t) != c->dim || c->code != PT_MEMORY_DENSE)
        return PT_EINVAL;
    float *proj = malloc((size_t)c->in_dim * (size_t)c->dim * 2 * sizeof *proj);
    if (!proj) return PT_ENOMEM;
    pt_status st = pt_tower_frame_projection(t, proj);
    if (!st) st = pt_memory_set_projection(m, proj);
    free(proj);
    return st;
}
#endif
