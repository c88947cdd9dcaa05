/* Private layout of pt_memory, shared by the memory's files: memory.c (keys,
 * writes, recall), compose.c, fill.c (filling from a model, evaluation) and
 * memory_io.c (its part of a checkpoint). */
#ifndef PT_MEMORY_INTERNAL_H
#define PT_MEMORY_INTERNAL_H

#include "internal.h"
#include <stdint.h>
#include "phasetower/memory.h"

struct pt_memory {
    pt_memory_config cfg;
    pt_c32 *P;        /* (in_dim, dim) projection; NULL when dim == in_dim */
    int proj_frame;   /* P was given by pt_memory_set_projection (a tower's frame), not drawn */
    pt_c32 *M;        /* (capacity, dim) unit keys; zero rows are empty slots */
    int *label;       /* (capacity) label, -1 when empty */
    float *v;         /* (capacity) usage */
    float *len;       /* (capacity) length of each stored vector before normalization; 0 when empty */
    size_t next;      /* circular pointer */
    size_t *freelist; /* (capacity) erased slots, possibly stale (see write) */
    size_t nfree;
    size_t count;     /* stored slots */
    pt_c32 *scratch;  /* (dim) the key being written */
    int nnames;       /* composed concepts: label, parents a and b, name */
    int32_t concept[PT_MEMORY_MAX_NAMES][3];
    char cname[PT_MEMORY_MAX_NAMES][PT_MEMORY_NAME_LEN];
};

#define RECALL_CHUNK 256 /* queries per cgemm: bounds the (chunk, N) similarity block */

/* Normalize key (d) in place and return its length before; 0 (key zeroed)
 * if it is zero or not finite (or its length does not fit a float). */
float pt_memory_normalize_key(pt_c32 *key, size_t d);

/* key (dim) = the unit key of z (in_dim), projected if the memory projects;
 * returns its length before normalization, 0 (key zeroed) for a zero or
 * non-finite z. make_keys: the same for nb vectors at once (lengths in len[i],
 * 0 for a vector that makes no key); one BLAS product for dense codes. */
float pt_memory_make_key(const pt_memory *m, pt_c32 *restrict key, const float *restrict z);
void pt_memory_make_keys(const pt_memory *m, pt_c32 *restrict Q, const float *restrict z, size_t nb, float *len);
/* Store a unit key (dim) with label >= 0 and its length len > 0 in a new slot
 * (see pt_memory_write); returns the slot. */
size_t pt_memory_store(pt_memory *m, const pt_c32 *key, int label, float len);

/* 1 if name is 1-31 characters of [A-Za-z0-9+()_.-]. */
int pt_memory_name_ok(const char *name);

/* Allocate (zeroed, all slots empty) without drawing the projection. */
pt_status pt_memory_alloc(const pt_memory_config *c, pt_memory **out);

#endif
