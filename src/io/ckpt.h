/* The contributor side of the checkpoint envelope (library-internal): how a
 * family or the memory puts its tensors and metadata into a pt_ckpt and reads
 * them back. Every getter fails with PT_EFORMAT and a message naming the file
 * and the key or tensor. */
#ifndef PT_IO_CKPT_H
#define PT_IO_CKPT_H

#include <stdint.h>
#include "io/safetensors.h"
#include "phasetower/checkpoint.h"

/* ---- writing ---- */
/* A tensor whose data stays the caller's until pt_ckpt_save (borrowed). */
pt_status pt_ckpt_put(pt_ckpt *c, const char *name, pt_st_dtype dt, int ndim, const size_t *shape, const void *data);
/* The same, copying the data (for temporaries). */
pt_status pt_ckpt_put_copy(pt_ckpt *c, const char *name, pt_st_dtype dt, int ndim, const size_t *shape,
                           const void *data);
/* A metadata entry, its value printf-formatted (at most 1023 bytes). */
pt_status pt_ckpt_set(pt_ckpt *c, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- reading ---- */
/* The metadata value of key, or NULL when absent. */
const char *pt_ckpt_meta(const pt_ckpt *c, const char *key);
/* Required string; required number in [lo, hi]; required exact unsigned integer. */
pt_status pt_ckpt_str(const pt_ckpt *c, const char *key, const char **out);
pt_status pt_ckpt_num(const pt_ckpt *c, const char *key, double lo, double hi, double *out);
pt_status pt_ckpt_u64(const pt_ckpt *c, const char *key, uint64_t *out);
/* Required metadata naming one of n values (names[0..n)): its index, or
 * PT_EFORMAT "metadata 'key' = 'v': expected a, b or c". */
pt_status pt_ckpt_enum(const pt_ckpt *c, const char *key, const char *const *names, int n, int *out);
/* The tensor name, which must have exactly this dtype and shape (F32: finite
 * values only), copied into dst (untouched, may be NULL, when empty); marks it
 * read. */
pt_status pt_ckpt_get(pt_ckpt *c, const char *name, pt_st_dtype dt, int ndim, const size_t *shape, void *dst);
/* pt_ckpt_get's dtype and shape test alone: nothing copied or marked. Loaders
 * run it over every tensor their metadata implies before allocating. */
pt_status pt_ckpt_expect(const pt_ckpt *c, const char *name, pt_st_dtype dt, int ndim, const size_t *shape);
/* The tensor name as stored (NULL when absent), for optional or older
 * layouts; does not mark it read. */
const pt_st_tensor *pt_ckpt_find(const pt_ckpt *c, const char *name);

/* ---- one model alone, in one call ---- */
/* A new envelope of kind, put(model, c), save to path. */
typedef pt_status (*pt_ckpt_put_fn)(const void *model, pt_ckpt *c);
pt_status pt_ckpt_save_one(const char *kind, const void *model, pt_ckpt_put_fn put, const char *path);
/* Open path, get(c, out) (out: where the part stores its model), close;
 * other parts of the file are left unread. */
typedef pt_status (*pt_ckpt_get_fn)(pt_ckpt *c, void *out);
pt_status pt_ckpt_load_one(const char *path, pt_ckpt_get_fn get, void *out);

#endif
