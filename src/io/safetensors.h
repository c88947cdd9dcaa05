/* safetensors reader/writer (private). Format: 8-byte little-endian header
 * length N, N bytes of JSON {"name": {"dtype","shape","data_offsets"}, ...,
 * "__metadata__": {str: str}}, then the raw little-endian tensor bytes.
 * Complex tensors are stored as F32 with a trailing dimension of 2.
 * The writer writes a temporary file and renames it over <path> (io/atomic.h:
 * fsynced, never through a symlink), so a failure never leaves a half-written file. The reader validates the header against the data
 * (offsets in range, contiguous, sizes = prod(shape) * dtype size, file length). */
#ifndef PT_IO_SAFETENSORS_H
#define PT_IO_SAFETENSORS_H

#include <stddef.h>
#include "phasetower/core.h"

/* F64: doubles kept bit for bit (the reservoir family's state and weights) */
typedef enum pt_st_dtype { PT_ST_F32 = 0, PT_ST_I32, PT_ST_U8, PT_ST_F64 } pt_st_dtype;

#define PT_ST_MAXDIM 4
#define PT_ST_MAXNAME 64

typedef struct pt_st_tensor {
    char name[PT_ST_MAXNAME];
    pt_st_dtype dtype;
    int ndim;
    size_t shape[PT_ST_MAXDIM];
    const void *data; /* writer: caller-owned; reader: points into the file's buffer */
} pt_st_tensor;

/* Write tensors (in the given order) and string metadata pairs
 * meta[2*i] = key, meta[2*i+1] = value. */
pt_status pt_st_write(const char *path, const pt_st_tensor *t, size_t nt,
                      const char *const *meta, size_t nmeta);

typedef struct pt_st_file pt_st_file;

/* Read and validate a whole file. Caller closes with pt_st_close. */
pt_status pt_st_read(const char *path, pt_st_file **out);
/* Only the header's metadata (no tensor, nothing past the header is read):
 * for a quick look such as the model kind. */
pt_status pt_st_read_meta(const char *path, pt_st_file **out);
/* Tensor by name, or NULL. */
const pt_st_tensor *pt_st_find(const pt_st_file *f, const char *name);
/* Number of tensors and tensor by index (header order). */
size_t pt_st_count(const pt_st_file *f);
const pt_st_tensor *pt_st_at(const pt_st_file *f, size_t i);
/* Metadata value by key, or NULL. */
const char *pt_st_meta(const pt_st_file *f, const char *key);
void pt_st_close(pt_st_file *f);

/* Loading helpers; each fails with PT_EFORMAT and a message naming path and
 * the key or tensor. meta_num: the value must parse completely and lie in
 * [lo, hi]. get: the tensor must exist with exactly this dtype and shape (and,
 * for F32, hold only finite values); it is copied into dst (untouched, and
 * may be NULL, when the tensor is empty). check: get's dtype and shape test
 * alone, nothing read or copied (loaders call it on every tensor before
 * allocating, so no allocation is sized by metadata the tensors do not back). */
pt_status pt_st_meta_str(const pt_st_file *f, const char *path, const char *key, const char **out);
pt_status pt_st_meta_num(const pt_st_file *f, const char *path, const char *key, double lo, double hi, double *out);
pt_status pt_st_get(const pt_st_file *f, const char *path, pt_st_dtype dtype, const char *name, int ndim,
                    const size_t *shape, void *dst);
pt_status pt_st_check(const pt_st_file *f, const char *path, pt_st_dtype dtype, const char *name, int ndim,
                      const size_t *shape);

/* Number of elements of a tensor (product of shape). */
size_t pt_st_numel(const pt_st_tensor *t);

#endif
