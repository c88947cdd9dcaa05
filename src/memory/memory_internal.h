/* Private layout of pt_memory, shared by memory.c and its checkpoint code. */
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

/* Checkpoint pieces (memory_io.c), used by the model's save and load.
 * put: at most PT_MEMORY_ST_MAX tensors into ts; free32 (capacity entries)
 * receives the compacted free list that one of them points to. meta: appends
 * the memory_* keys to meta/v at *nm (at most PT_MEMORY_META_MAX). load: *out
 * NULL when the file has no memory; *ntensors the tensors it accounts for. */
#include <stdint.h>
#include "io/safetensors.h"
#define PT_MEMORY_ST_MAX 8
#define PT_MEMORY_META_MAX 9
size_t pt_memory_st_put(const pt_memory *m, pt_st_tensor *ts, int32_t *free32);
void pt_memory_st_meta(const pt_memory *m, char (*v)[64], const char **meta, size_t *nm);
pt_status pt_memory_st_load(const pt_st_file *f, const char *path, int in_dim, pt_memory **out, size_t *ntensors);

#endif
