/* The text atlas's part of a checkpoint (docs/checkpoint-format.md), model
 * kind "atlas": the alphabet and the book lengths (I32), V, A, Bk, G as F32
 * tensors with a trailing dimension 2 (re, im), the readout, the keys and the
 * hash tables (F32), the configuration as metadata; and the key file of a
 * new book, kind "atlas_key". Every tensor the metadata implies is checked
 * (dtype and shape) before anything is allocated, and the model is returned
 * whole or not at all. */
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include "field/atlas_internal.h"
#include "internal.h"
#include "io/ckpt.h"

/* name, dtype, ndim and shape of each stored tensor of an atlas of layout m
 * (NULL name: not stored, e.g. no keys when key_size is 0) */
typedef struct tensor_spec {
    const char *name;
    pt_st_dtype dt;
    int ndim;
    size_t shape[3];
} tensor_spec;

enum { T_ALPHA, T_LEN, T_V, T_A, T_BK, T_G, T_R, T_KEYS, T_TAB, T_COUNT };

static void specs(const pt_atlas *m, tensor_spec s[T_COUNT])
{
    const pt_atlas_config *c = &m->cfg;
    size_t D = (size_t)c->dim, K = (size_t)c->key_size, P = (size_t)m->P;
    s[T_ALPHA] = (tensor_spec){"alphabet", PT_ST_I32, 1, {m->C, 0, 0}};
    s[T_LEN] = (tensor_spec){"lengths", PT_ST_I32, 1, {(size_t)m->nb, 0, 0}};
    s[T_V] = (tensor_spec){"kernel.v", PT_ST_F32, 3, {D, D, 2}};
    s[T_A] = (tensor_spec){"features.a", PT_ST_F32, 3, {P, D, 2}};
    s[T_BK] = (tensor_spec){K ? "key.b" : NULL, PT_ST_F32, 3, {K, D, 2}};
    s[T_G] = (tensor_spec){K ? "key.g" : NULL, PT_ST_F32, 3, {K, D, 2}};
    s[T_R] = (tensor_spec){"readout", PT_ST_F32, 2, {m->C, 3 * D + 1, 0}};
    s[T_KEYS] = (tensor_spec){K ? "keys" : NULL, PT_ST_F32, 2, {(size_t)m->nb, K, 0}};
    s[T_TAB] = (tensor_spec){c->levels ? "tables" : NULL, PT_ST_F32, 2, {m->toff[c->levels], (size_t)c->features, 0}};
}

/* the parameter part each F32 tensor holds */
static const pt_atlas_part part_of[T_COUNT] = {0, 0, PT_ATLAS_V, PT_ATLAS_A, PT_ATLAS_BK, PT_ATLAS_G, PT_ATLAS_R,
                                               PT_ATLAS_KEYS, PT_ATLAS_TABLES};

pt_status pt_atlas_to_ckpt(const pt_atlas *m, pt_ckpt *c)
{
    if (strcmp(pt_ckpt_kind(c), "atlas"))
        return pt_fail(PT_EINVAL, "checkpoint: an atlas cannot go into a '%s' checkpoint", pt_ckpt_kind(c));
    const pt_atlas_config *f = &m->cfg;
    tensor_spec s[T_COUNT];
    specs(m, s);
    pt_status st = PT_OK;
    int32_t *alpha = pt_calloc(m->C, sizeof *alpha), *len = pt_calloc((size_t)m->nb, sizeof *len);
    if (!alpha || !len) st = pt_fail(PT_ENOMEM, "out of memory");
    for (size_t i = 0; !st && i < m->C; i++) alpha[i] = (int32_t)m->alpha[i];
    for (int b = 0; !st && b < m->nb; b++) len[b] = (int32_t)m->len[b];
    if (!st) st = pt_ckpt_put_copy(c, s[T_ALPHA].name, PT_ST_I32, 1, s[T_ALPHA].shape, alpha);
    if (!st) st = pt_ckpt_put_copy(c, s[T_LEN].name, PT_ST_I32, 1, s[T_LEN].shape, len);
    free(alpha), free(len);
    for (int t = T_V; !st && t < T_COUNT; t++)
        if (s[t].name) st = pt_ckpt_put(c, s[t].name, PT_ST_F32, s[t].ndim, s[t].shape, m->theta + m->off[part_of[t]]);
#define SET(key, ...) do { if (!st) st = pt_ckpt_set(c, key, __VA_ARGS__); } while (0)
    SET("dim", "%d", f->dim);
    SET("iters", "%d", f->iters);
    SET("rho", "%.9g", (double)f->rho);
    SET("octaves", "%d", f->octaves);
    SET("levels", "%d", f->levels);
    SET("table_log2", "%d", f->table_log2);
    SET("features", "%d", f->features);
    SET("base_res", "%d", f->base_res);
    SET("max_res", "%d", f->max_res);
    SET("key_size", "%d", f->key_size);
    SET("books", "%d", m->nb);
    SET("symbols", "%zu", m->C);
    SET("sparse", "%d", f->sparse);
    SET("lr", "%.9g", (double)f->lr);
    SET("lr_table", "%.9g", (double)f->lr_table);
    SET("batch", "%d", f->batch);
    SET("seed", "%" PRIu64, f->seed);
#undef SET
    return st;
}

static pt_status read_config(const pt_ckpt *ck, pt_atlas_config *c, int *nb, size_t *C)
{
    double d;
    pt_status st;
    *c = pt_atlas_config_default();
#define NUM(key, lvalue, type, lo, hi) \
    do { if ((st = pt_ckpt_num(ck, key, lo, hi, &d))) return st; lvalue = (type)d; } while (0)
    NUM("dim", c->dim, int, 1, 1024);
    NUM("iters", c->iters, int, 1, 64);
    NUM("rho", c->rho, float, 1e-30, 1);
    NUM("octaves", c->octaves, int, 0, 30);
    NUM("levels", c->levels, int, 0, PT_ATLAS_MAX_LEVELS);
    NUM("table_log2", c->table_log2, int, 1, 26);
    NUM("features", c->features, int, 1, 16);
    NUM("base_res", c->base_res, int, 1, 1 << 30);
    NUM("max_res", c->max_res, int, 1, 1 << 30);
    NUM("key_size", c->key_size, int, 0, 1024);
    NUM("books", *nb, int, 1, PT_ATLAS_MAX_BOOKS);
    NUM("symbols", *C, size_t, 1, PT_ATLAS_MAX_ALPHABET);
    NUM("sparse", c->sparse, int, 0, 1);
    NUM("lr", c->lr, float, 1e-30, 1e30);
    NUM("lr_table", c->lr_table, float, 1e-30, 1e30);
    NUM("batch", c->batch, int, 1, 65536);
#undef NUM
    if ((st = pt_ckpt_u64(ck, "seed", &c->seed))) return st;
    const char *path = pt_ckpt_path(ck);
    if ((st = pt_atlas_config_check(c))) return pt_fail(PT_EFORMAT, "%s: metadata: %s", path, pt_errmsg());
    if (c->max_res < c->base_res)
        return pt_fail(PT_EFORMAT, "%s: metadata: max_res %d below base_res %d", path, c->max_res, c->base_res);
    if (*nb > 1 && c->key_size == 0) return pt_fail(PT_EFORMAT, "%s: metadata: %d books and key_size 0", path, *nb);
    return PT_OK;
}

pt_status pt_atlas_from_ckpt(pt_ckpt *ck, pt_atlas **out)
{
    *out = NULL;
    if (strcmp(pt_ckpt_kind(ck), "atlas"))
        return pt_fail(PT_EFORMAT, "%s: holds a '%s' model, not an atlas", pt_ckpt_path(ck), pt_ckpt_kind(ck));
    pt_atlas lay;
    memset(&lay, 0, sizeof lay);
    pt_status st = read_config(ck, &lay.cfg, &lay.nb, &lay.C);
    if (st) return st;
    pt_atlas_layout(&lay); /* the shapes the metadata implies, nothing allocated */
    tensor_spec s[T_COUNT];
    specs(&lay, s);
    for (int t = 0; t < T_COUNT; t++)
        if (s[t].name && (st = pt_ckpt_expect(ck, s[t].name, s[t].dt, s[t].ndim, s[t].shape))) return st;
    /* the alphabet and the lengths, small and backed by the file, are checked
     * by pt_atlas_alloc */
    int32_t *a32 = pt_calloc(lay.C, sizeof *a32), *l32 = pt_calloc((size_t)lay.nb, sizeof *l32);
    uint32_t *alpha = pt_calloc(lay.C, sizeof *alpha);
    size_t *len = pt_calloc((size_t)lay.nb, sizeof *len);
    pt_atlas *m = NULL;
    if (!a32 || !l32 || !alpha || !len) st = pt_fail(PT_ENOMEM, "out of memory");
    if (!st) st = pt_ckpt_get(ck, s[T_ALPHA].name, PT_ST_I32, 1, s[T_ALPHA].shape, a32);
    if (!st) st = pt_ckpt_get(ck, s[T_LEN].name, PT_ST_I32, 1, s[T_LEN].shape, l32);
    for (size_t i = 0; !st && i < lay.C; i++) {
        if (a32[i] < 0) st = pt_fail(PT_EFORMAT, "%s: tensor 'alphabet': entry %zu is negative", pt_ckpt_path(ck), i);
        alpha[i] = (uint32_t)a32[i];
    }
    for (int b = 0; !st && b < lay.nb; b++) {
        if (l32[b] < 1) st = pt_fail(PT_EFORMAT, "%s: tensor 'lengths': book %d has length %d", pt_ckpt_path(ck), b, l32[b]);
        len[b] = (size_t)l32[b];
    }
    if (!st && (st = pt_atlas_alloc(&lay.cfg, alpha, lay.C, len, lay.nb, &m)) == PT_EINVAL)
        st = pt_fail(PT_EFORMAT, "%s: %s", pt_ckpt_path(ck), pt_errmsg());
    for (int t = T_V; !st && t < T_COUNT; t++)
        if (s[t].name) st = pt_ckpt_get(ck, s[t].name, PT_ST_F32, s[t].ndim, s[t].shape, m->theta + m->off[part_of[t]]);
    free(a32), free(l32), free(alpha), free(len);
    if (st) {
        pt_atlas_destroy(m);
        return st;
    }
    *out = m;
    return PT_OK;
}

static pt_status put(const void *m, pt_ckpt *c) { return pt_atlas_to_ckpt(m, c); }

pt_status pt_atlas_save(const pt_atlas *m, const char *path) { return pt_ckpt_save_one("atlas", m, put, path); }

pt_status pt_atlas_load(const char *path, pt_atlas **out)
{
    *out = NULL;
    pt_ckpt *ck = NULL;
    pt_status st = pt_ckpt_open(path, &ck);
    if (!st) st = pt_atlas_from_ckpt(ck, out);
    if (!st && (st = pt_ckpt_finish(ck))) { /* a tensor no part claimed: not an atlas file as written */
        pt_atlas_destroy(*out);
        *out = NULL;
    }
    pt_ckpt_close(ck);
    return st;
}

/* ---- key files ---- */

typedef struct key_file {
    const pt_atlas *master;
    const float *key;
    int size;
    size_t length;
} key_file;

static pt_status put_key(const void *p, pt_ckpt *c)
{
    const key_file *k = p;
    size_t sh[1] = {(size_t)k->size};
    pt_status st = pt_ckpt_put(c, "key", PT_ST_F32, 1, sh, k->key);
    if (!st) st = pt_ckpt_set(c, "size", "%d", k->size);
    if (!st) st = pt_ckpt_set(c, "key_size", "%d", k->master->cfg.key_size);
    if (!st) st = pt_ckpt_set(c, "length", "%zu", k->length);
    if (!st) st = pt_ckpt_set(c, "master", "%016" PRIx64, pt_atlas_fingerprint(k->master));
    return st;
}

pt_status pt_atlas_key_save(const pt_atlas *master, const float *key, int size, size_t length, const char *path)
{
    int K = master->cfg.key_size;
    if (K == 0) return pt_fail(PT_EINVAL, "atlas.key_size is 0: this atlas has no key");
    if (size < 1 || size > K) return pt_fail(PT_EINVAL, "atlas.key.size %d outside 1..%d", size, K);
    if (length < 1 || length > PT_ATLAS_MAX_BOOK) return pt_fail(PT_EINVAL, "atlas: a book of %zu symbols", length);
    for (int j = 0; j < size; j++)
        if (!isfinite(key[j])) return pt_fail(PT_EINVAL, "atlas: key entry %d is not finite", j);
    key_file k = {master, key, size, length};
    return pt_ckpt_save_one("atlas_key", &k, put_key, path);
}

pt_status pt_atlas_key_load(const pt_atlas *master, const char *path, float *key, int *size, size_t *length)
{
    pt_ckpt *ck = NULL;
    pt_status st = pt_ckpt_open(path, &ck);
    if (st) return st;
    double d;
    int K = master->cfg.key_size;
    const char *fp = NULL;
    char want[17];
    snprintf(want, sizeof want, "%016" PRIx64, pt_atlas_fingerprint(master));
    if (strcmp(pt_ckpt_kind(ck), "atlas_key")) {
        st = pt_fail(PT_EFORMAT, "%s: holds a '%s' model, not an atlas key", path, pt_ckpt_kind(ck));
    } else if (!(st = pt_ckpt_str(ck, "master", &fp)) && strcmp(fp, want)) {
        st = pt_fail(PT_EFORMAT, "%s: a key of the master %s, not of this one (%s)", path, fp, want);
    } else if (!st && K == 0) {
        st = pt_fail(PT_EFORMAT, "%s: a key file, but the master has no key", path);
    }
    if (!st && !(st = pt_ckpt_num(ck, "size", 1, K, &d))) *size = (int)d;
    if (!st && !(st = pt_ckpt_num(ck, "length", 1, (double)PT_ATLAS_MAX_BOOK, &d))) *length = (size_t)d;
    if (!st) {
        size_t sh[1] = {(size_t)*size};
        st = pt_ckpt_get(ck, "key", PT_ST_F32, 1, sh, key);
    }
    if (!st) st = pt_ckpt_finish(ck);
    pt_ckpt_close(ck);
    if (st) return st;
    /* the coordinates not learned: the mean of the master's keys, as when learned */
    for (int j = *size; j < K; j++) {
        double s = 0.0;
        for (int b = 0; b < master->nb; b++) s += (double)master->theta[master->off[PT_ATLAS_KEYS] + (size_t)b * (size_t)K + (size_t)j];
        key[j] = (float)(s / (double)master->nb);
    }
    return PT_OK;
}
