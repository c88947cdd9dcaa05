/* The checkpoint envelope over the safetensors reader/writer: format,
 * version and model kind in one place, the parts' tensors and metadata
 * collected in order (so the same model writes the same bytes), and on
 * reading, a record of which tensors the parts claimed. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include "internal.h"
#include "io/ckpt.h"

#define FORMAT "phasetower"
#define META_VALUE_MAX 1024

struct pt_ckpt {
    char kind[32];
    char *path;          /* opened from (NULL for a new one) */
    /* writing */
    pt_st_tensor *t;
    size_t nt, tcap;
    void **owned;        /* copies made by put_copy */
    size_t nowned;
    char **meta;         /* key, value, key, value ... (copies) */
    size_t nm, mcap;
    /* reading */
    pt_st_file *f;
    unsigned char *used; /* (tensors of f) */
};

static int kind_ok(const char *k)
{
    size_t n = k ? strlen(k) : 0;
    if (n < 1 || n > 31) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_')) return 0;
    return 1;
}

void pt_ckpt_close(pt_ckpt *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->nowned; i++) free(c->owned[i]);
    for (size_t i = 0; i < 2 * c->nm; i++) free(c->meta[i]);
    free(c->owned), free(c->meta), free(c->t), free(c->used), free(c->path);
    pt_st_close(c->f);
    free(c);
}

const char *pt_ckpt_kind(const pt_ckpt *c) { return c->kind; }
const char *pt_ckpt_path(const pt_ckpt *c) { return c->path ? c->path : ""; }

/* ---- writing ---- */

static pt_status add_meta(pt_ckpt *c, const char *key, const char *value)
{
    if (c->f) return pt_fail(PT_EINVAL, "checkpoint: %s was opened for reading", pt_ckpt_path(c));
    if (c->nm == c->mcap) {
        size_t cap = c->mcap ? 2 * c->mcap : 32;
        char **m = realloc(c->meta, 2 * cap * sizeof *m);
        if (!m) return pt_fail(PT_ENOMEM, "out of memory for checkpoint metadata");
        c->meta = m, c->mcap = cap;
    }
    for (size_t i = 0; i < c->nm; i++)
        if (!strcmp(c->meta[2 * i], key)) return pt_fail(PT_EINVAL, "checkpoint: metadata key '%s' set twice", key);
    char *k = malloc(strlen(key) + 1), *v = malloc(strlen(value) + 1);
    if (!k || !v) {
        free(k), free(v);
        return pt_fail(PT_ENOMEM, "out of memory for checkpoint metadata");
    }
    strcpy(k, key), strcpy(v, value);
    c->meta[2 * c->nm] = k, c->meta[2 * c->nm + 1] = v;
    c->nm++;
    return PT_OK;
}

pt_status pt_ckpt_set(pt_ckpt *c, const char *key, const char *fmt, ...)
{
    char v[META_VALUE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(v, sizeof v, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= (int)sizeof v) return pt_fail(PT_EINVAL, "checkpoint: metadata '%s' is too long", key);
    return add_meta(c, key, v);
}

pt_status pt_ckpt_create(const char *kind, pt_ckpt **out)
{
    *out = NULL;
    if (!kind_ok(kind)) return pt_fail(PT_EINVAL, "checkpoint: model kind '%s' is not 1-31 of [a-z0-9_]", kind ? kind : "");
    pt_ckpt *c = pt_calloc(1, sizeof *c);
    if (!c) return pt_fail(PT_ENOMEM, "out of memory for a checkpoint");
    snprintf(c->kind, sizeof c->kind, "%s", kind);
    pt_status st;
    if ((st = pt_ckpt_set(c, "format", FORMAT)) || (st = pt_ckpt_set(c, "version", "%d", PT_CKPT_VERSION)) ||
        (st = pt_ckpt_set(c, "model", "%s", kind))) {
        pt_ckpt_close(c);
        return st;
    }
    *out = c;
    return PT_OK;
}

pt_status pt_ckpt_put(pt_ckpt *c, const char *name, pt_st_dtype dt, int ndim, const size_t *shape, const void *data)
{
    if (c->f) return pt_fail(PT_EINVAL, "checkpoint: %s was opened for reading", pt_ckpt_path(c));
    if (ndim < 0 || ndim > PT_ST_MAXDIM || strlen(name) >= PT_ST_MAXNAME)
        return pt_fail(PT_EINVAL, "checkpoint: tensor '%s' has %d dimensions or too long a name", name, ndim);
    if (c->nt == c->tcap) {
        size_t cap = c->tcap ? 2 * c->tcap : 32;
        pt_st_tensor *t = realloc(c->t, cap * sizeof *t);
        if (!t) return pt_fail(PT_ENOMEM, "out of memory for checkpoint tensors");
        c->t = t, c->tcap = cap;
    }
    pt_st_tensor *t = &c->t[c->nt++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->dtype = dt, t->ndim = ndim, t->data = data;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    return PT_OK;
}

pt_status pt_ckpt_put_copy(pt_ckpt *c, const char *name, pt_st_dtype dt, int ndim, const size_t *shape,
                           const void *data)
{
    pt_st_tensor probe = {.dtype = dt, .ndim = ndim};
    for (int i = 0; i < ndim && i < PT_ST_MAXDIM; i++) probe.shape[i] = shape[i];
    size_t bytes = pt_st_numel(&probe) * (dt == PT_ST_U8 ? 1 : 4);
    void **o = realloc(c->owned, (c->nowned + 1) * sizeof *o);
    if (!o) return pt_fail(PT_ENOMEM, "out of memory for checkpoint tensors");
    c->owned = o;
    void *copy = pt_calloc(bytes ? bytes : 1, 1);
    if (!copy) return pt_fail(PT_ENOMEM, "out of memory for checkpoint tensors");
    if (bytes) memcpy(copy, data, bytes);
    c->owned[c->nowned++] = copy;
    return pt_ckpt_put(c, name, dt, ndim, shape, copy);
}

pt_status pt_ckpt_save(const pt_ckpt *c, const char *path)
{
    if (c->f) return pt_fail(PT_EINVAL, "checkpoint: %s was opened for reading", pt_ckpt_path(c));
    return pt_st_write(path, c->t, c->nt, (const char *const *)c->meta, c->nm);
}

/* ---- reading ---- */

/* format, version and kind of an opened file */
static pt_status envelope(pt_ckpt *c, const pt_st_file *f, const char *path)
{
    const char *fmt = pt_st_meta(f, "format"), *ver = pt_st_meta(f, "version"), *kind = pt_st_meta(f, "model");
    if (!fmt) return pt_fail(PT_EFORMAT, "%s: not a PhaseTower checkpoint (no 'format' in its metadata)", path);
    if (strcmp(fmt, FORMAT)) return pt_fail(PT_EFORMAT, "%s: not a PhaseTower checkpoint (format '%s')", path, fmt);
    if (!ver) return pt_fail(PT_EFORMAT, "%s: metadata has no 'version'", path);
    char want[16];
    snprintf(want, sizeof want, "%d", PT_CKPT_VERSION);
    if (strcmp(ver, want))
        return pt_fail(PT_EFORMAT, "%s: checkpoint version %s, this build reads version %s", path, ver, want);
    if (!kind) return pt_fail(PT_EFORMAT, "%s: metadata has no 'model' (the model kind)", path);
    if (!kind_ok(kind)) return pt_fail(PT_EFORMAT, "%s: metadata 'model' = '%.40s' is not a model kind", path, kind);
    snprintf(c->kind, sizeof c->kind, "%s", kind);
    return PT_OK;
}

static pt_status open_impl(const char *path, int header_only, pt_ckpt **out)
{
    *out = NULL;
    pt_ckpt *c = pt_calloc(1, sizeof *c);
    if (!c || !(c->path = malloc(strlen(path) + 1))) {
        free(c);
        return pt_fail(PT_ENOMEM, "out of memory for a checkpoint");
    }
    strcpy(c->path, path);
    pt_status st = header_only ? pt_st_read_meta(path, &c->f) : pt_st_read(path, &c->f);
    if (!st) st = envelope(c, c->f, path);
    if (!st && !header_only && !(c->used = pt_calloc(pt_st_count(c->f), 1)))
        st = pt_fail(PT_ENOMEM, "out of memory for a checkpoint");
    if (st) {
        pt_ckpt_close(c);
        return st;
    }
    *out = c;
    return PT_OK;
}

pt_status pt_ckpt_open(const char *path, pt_ckpt **out)
{
    if (!path) return pt_fail(PT_EINVAL, "checkpoint: no path");
    return open_impl(path, 0, out);
}

pt_status pt_ckpt_peek(const char *path, char *kind, size_t len)
{
    if (!path) return pt_fail(PT_EINVAL, "checkpoint: no path");
    pt_ckpt *c = NULL;
    pt_status st = open_impl(path, 1, &c);
    if (!st) snprintf(kind, len, "%s", c->kind);
    pt_ckpt_close(c);
    return st;
}

const char *pt_ckpt_meta(const pt_ckpt *c, const char *key) { return pt_st_meta(c->f, key); }

pt_status pt_ckpt_str(const pt_ckpt *c, const char *key, const char **out)
{
    return pt_st_meta_str(c->f, pt_ckpt_path(c), key, out);
}

pt_status pt_ckpt_num(const pt_ckpt *c, const char *key, double lo, double hi, double *out)
{
    return pt_st_meta_num(c->f, pt_ckpt_path(c), key, lo, hi, out);
}

pt_status pt_ckpt_u64(const pt_ckpt *c, const char *key, uint64_t *out)
{
    const char *s;
    pt_status st = pt_ckpt_str(c, key, &s);
    if (st) return st;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || errno || *s == '-' || *s == '+' || *s == ' ')
        return pt_fail(PT_EFORMAT, "%s: metadata '%s' = '%s' is not an integer", pt_ckpt_path(c), key, s);
    *out = (uint64_t)v;
    return PT_OK;
}

pt_status pt_ckpt_enum(const pt_ckpt *c, const char *key, const char *const *names, int n, int *out)
{
    const char *s;
    pt_status st = pt_ckpt_str(c, key, &s);
    if (st) return st;
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], s)) {
            *out = i;
            return PT_OK;
        }
    char list[128] = "";
    for (int i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ", names[i]);
    return pt_fail(PT_EFORMAT, "%s: metadata '%s' = '%.40s': expected %s", pt_ckpt_path(c), key, s, list);
}

const pt_st_tensor *pt_ckpt_find(const pt_ckpt *c, const char *name) { return pt_st_find(c->f, name); }

pt_status pt_ckpt_expect(const pt_ckpt *c, const char *name, pt_st_dtype dt, int ndim, const size_t *shape)
{
    return pt_st_check(c->f, pt_ckpt_path(c), dt, name, ndim, shape);
}

pt_status pt_ckpt_get(pt_ckpt *c, const char *name, pt_st_dtype dt, int ndim, const size_t *shape, void *dst)
{
    pt_status st = pt_st_get(c->f, pt_ckpt_path(c), dt, name, ndim, shape, dst);
    if (st) return st;
    const pt_st_tensor *t = pt_st_find(c->f, name);
    for (size_t i = 0; i < pt_st_count(c->f); i++)
        if (pt_st_at(c->f, i) == t) c->used[i] = 1;
    return PT_OK;
}

pt_status pt_ckpt_finish(const pt_ckpt *c)
{
    if (!c->f || !c->used) return PT_OK;
    for (size_t i = 0; i < pt_st_count(c->f); i++)
        if (!c->used[i])
            return pt_fail(PT_EFORMAT, "%s: tensor '%s' belongs to no part of this %s checkpoint", pt_ckpt_path(c),
                           pt_st_at(c->f, i)->name, c->kind);
    return PT_OK;
}

pt_status pt_ckpt_save_one(const char *kind, const void *model, pt_ckpt_put_fn put, const char *path)
{
    pt_ckpt *c = NULL;
    pt_status st = pt_ckpt_create(kind, &c);
    if (!st && !(st = put(model, c))) st = pt_ckpt_save(c, path);
    pt_ckpt_close(c);
    return st;
}

pt_status pt_ckpt_load_one(const char *path, pt_ckpt_get_fn get, void *out)
{
    pt_ckpt *c = NULL;
    pt_status st = pt_ckpt_open(path, &c);
    if (!st) st = get(c, out);
    pt_ckpt_close(c);
    return st;
}
