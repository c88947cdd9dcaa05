/* The episodic memory inside a model checkpoint (docs/checkpoint-format.md):
 * tensors memory.keys, memory.labels, memory.usage, memory.lengths,
 * memory.free and, when keys are projected, memory.proj; its configuration as memory_* metadata. Load
 * checks every tensor against the metadata and the slots against each other,
 * so a corrupt memory is refused, never half-used. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "memory/memory_internal.h"

_Static_assert(sizeof(int) == sizeof(int32_t), "labels are stored as I32");

static const char *const vote_names[] = {[PT_VOTE_MODE] = "mode", [PT_VOTE_WEIGHTED] = "weighted"};

PT_ENUM_FUNCS(pt_vote, pt_memory_vote_name, pt_memory_vote_parse, "memory-vote", vote_names)

static const char *const code_names[] = {[PT_MEMORY_SPARSE] = "sparse", [PT_MEMORY_DENSE] = "dense"};

PT_ENUM_FUNCS(pt_memory_code, pt_memory_code_name, pt_memory_code_parse, "memory-code", code_names)

static void put(pt_st_tensor *t, const char *name, pt_st_dtype dt, int ndim, size_t a, size_t b, const void *data)
{
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->dtype = dt, t->ndim = ndim, t->shape[0] = a, t->shape[1] = b, t->shape[2] = 2, t->data = data;
}

size_t pt_memory_st_put(const pt_memory *m, pt_st_tensor *ts, int32_t *free32)
{
    size_t N = (size_t)m->cfg.capacity, d = (size_t)m->cfg.dim, nt = 0, nf = 0;
    for (size_t i = 0; i < m->nfree; i++) /* only live entries, in order: pops replay identically */
        if (m->label[m->freelist[i]] < 0) free32[nf++] = (int32_t)m->freelist[i];
    put(&ts[nt++], "memory.keys", PT_ST_F32, 3, N, d, m->M);
    put(&ts[nt++], "memory.labels", PT_ST_I32, 1, N, 0, m->label);
    put(&ts[nt++], "memory.usage", PT_ST_F32, 1, N, 0, m->v);
    put(&ts[nt++], "memory.lengths", PT_ST_F32, 1, N, 0, m->len);
    put(&ts[nt++], "memory.free", PT_ST_I32, 1, nf, 0, free32);
    put(&ts[nt++], "memory.concepts", PT_ST_I32, 2, (size_t)m->nnames, 3, m->concept);
    put(&ts[nt++], "memory.concept_names", PT_ST_U8, 2, (size_t)m->nnames, PT_MEMORY_NAME_LEN, m->cname);
    if (m->P) put(&ts[nt++], "memory.proj", PT_ST_F32, 3, (size_t)m->cfg.in_dim, d, m->P);
    return nt;
}

void pt_memory_st_meta(const pt_memory *m, char (*v)[64], const char **meta, size_t *nm)
{
    const pt_memory_config *c = &m->cfg;
#define META(key, ...) do { snprintf(v[*nm], 64, __VA_ARGS__); meta[2 * *nm] = key; meta[2 * *nm + 1] = v[*nm]; (*nm)++; } while (0)
    META("memory_size", "%d", c->capacity);
    META("memory_dim", "%d", c->dim);
    META("memory_k", "%d", c->k);
    META("memory_alpha", "%.9g", (double)c->alpha);
    META("memory_vote", "%s", vote_names[c->vote]);
    META("memory_seed", "%" PRIu64, c->seed);
    META("memory_next", "%zu", m->next);
    META("memory_code", "%s", code_names[c->code]);
    META("memory_proj", "%s", m->proj_frame ? "frame" : "random");
#undef META
}

pt_status pt_memory_st_load(const pt_st_file *f, const char *path, int in_dim, pt_memory **out, size_t *ntensors)
{
    *out = NULL;
    *ntensors = 0;
    if (!pt_st_meta(f, "memory_size")) return PT_OK; /* a model without memory */
    pt_memory_config c = pt_memory_config_default(in_dim);
    double x;
    const char *s;
    pt_status st;
#define NUM(key, field, type, lo, hi) \
    do { if ((st = pt_st_meta_num(f, path, key, lo, hi, &x))) return st; c.field = (type)x; } while (0)
    NUM("memory_size", capacity, int, 1, 10000000);
    NUM("memory_dim", dim, int, 1, in_dim);
    NUM("memory_k", k, int, 1, c.capacity);
    NUM("memory_alpha", alpha, float, 0, 1);
#undef NUM
    /* the seed as an exact integer: through a double, seeds above 2^53 would change */
    char *end;
    if ((st = pt_st_meta_str(f, path, "memory_seed", &s))) return st;
    errno = 0;
    c.seed = strtoull(s, &end, 10);
    if (end == s || *end || errno || *s == '-')
        return pt_fail(PT_EFORMAT, "%s: metadata 'memory_seed' = '%s' is not an integer", path, s);
    if ((st = pt_st_meta_str(f, path, "memory_vote", &s)) || (st = pt_memory_vote_parse(s, &c.vote)))
        return pt_fail(PT_EFORMAT, "%s: metadata: %s", path, pt_errmsg());
    /* optional: checkpoints written before dense codes existed hold sparse ones */
    if (pt_st_meta(f, "memory_code") && (st = pt_memory_code_parse(pt_st_meta(f, "memory_code"), &c.code)))
        return pt_fail(PT_EFORMAT, "%s: metadata: %s", path, pt_errmsg());
    /* optional: checkpoints written before frame keys existed drew their projection */
    const char *pk = pt_st_meta(f, "memory_proj");
    if (pk && strcmp(pk, "random") && strcmp(pk, "frame"))
        return pt_fail(PT_EFORMAT, "%s: metadata 'memory_proj' = '%s': expected random or frame", path, pk);
    double next;
    if ((st = pt_st_meta_num(f, path, "memory_next", 0, c.capacity - 1, &next))) return st;
    pt_memory *m;
    if ((st = pt_memory_alloc(&c, &m))) return st == PT_EINVAL ? pt_fail(PT_EFORMAT, "%s: %s", path, pt_errmsg()) : st;
    size_t N = (size_t)c.capacity, d = (size_t)c.dim;
    size_t sh[3] = {N, d, 2};
    const pt_st_tensor *ft = pt_st_find(f, "memory.free");
    size_t nf = ft && ft->ndim == 1 ? ft->shape[0] : 0;
    int32_t *free32 = nf ? pt_calloc(nf, sizeof *free32) : NULL;
    if (nf && !free32) {
        pt_memory_destroy(m);
        return pt_fail(PT_ENOMEM, "out of memory");
    }
    size_t one[1] = {N}, fs[1] = {nf}, ps[3] = {(size_t)in_dim, d, 2};
    if ((st = pt_st_get(f, path, PT_ST_F32, "memory.keys", 3, sh, m->M)) ||
        (st = pt_st_get(f, path, PT_ST_I32, "memory.labels", 1, one, m->label)) ||
        (st = pt_st_get(f, path, PT_ST_F32, "memory.usage", 1, one, m->v)) ||
        (st = pt_st_get(f, path, PT_ST_I32, "memory.free", 1, fs, free32)) ||
        (m->P && (st = pt_st_get(f, path, PT_ST_F32, "memory.proj", 3, ps, m->P))))
        goto fail;
    /* optional: checkpoints written before lengths were kept get length 1 for
     * every stored key (compose then weighs both parents equally) */
    int has_len = pt_st_find(f, "memory.lengths") != NULL;
    if (has_len && (st = pt_st_get(f, path, PT_ST_F32, "memory.lengths", 1, one, m->len))) goto fail;
    m->next = (size_t)next;
    m->proj_frame = pk && !strcmp(pk, "frame") && m->P;
    /* slots: a label >= 0 holds a unit key, -1 an all-zero key; free entries are empty slots */
    for (size_t i = 0; i < N; i++) {
        double ss = 0.0;
        for (size_t a = 0; a < d; a++)
            ss += (double)(crealf(m->M[i * d + a]) * crealf(m->M[i * d + a]) + cimagf(m->M[i * d + a]) * cimagf(m->M[i * d + a]));
        if (m->label[i] < -1 || (m->label[i] >= 0 && fabs(ss - 1.0) > 1e-3) || (m->label[i] == -1 && ss != 0.0)) {
            st = pt_fail(PT_EFORMAT, "%s: memory slot %zu is corrupt (label %d, key norm^2 %g)", path, i, m->label[i], ss);
            goto fail;
        }
        if (!has_len) m->len[i] = m->label[i] >= 0 ? 1.0f : 0.0f;
        float l = m->len[i];
        if (m->label[i] >= 0 ? !(l > 0.0f && l < HUGE_VALF) : l != 0.0f) {
            st = pt_fail(PT_EFORMAT, "%s: memory slot %zu is corrupt (label %d, length %g)", path, i, m->label[i], (double)l);
            goto fail;
        }
        m->count += m->label[i] >= 0;
    }
    for (size_t i = 0; i < nf; i++) {
        if (free32[i] < 0 || (size_t)free32[i] >= N || m->label[free32[i]] != -1) {
            st = pt_fail(PT_EFORMAT, "%s: memory.free entry %zu (%d) is not an empty slot", path, i, (int)free32[i]);
            goto fail;
        }
        m->freelist[m->nfree++] = (size_t)free32[i];
    }
    free(free32);
    free32 = NULL;
    /* the concept table: valid, unique names and labels, parents known */
    const pt_st_tensor *ct = pt_st_find(f, "memory.concepts");
    size_t nc = ct && ct->ndim == 2 ? ct->shape[0] : 0;
    if (nc > PT_MEMORY_MAX_NAMES) {
        st = pt_fail(PT_EFORMAT, "%s: %zu concepts (limit %d)", path, nc, PT_MEMORY_MAX_NAMES);
        goto fail;
    }
    size_t cs[2] = {nc, 3}, ns[2] = {nc, PT_MEMORY_NAME_LEN};
    if ((st = pt_st_get(f, path, PT_ST_I32, "memory.concepts", 2, cs, m->concept)) ||
        (st = pt_st_get(f, path, PT_ST_U8, "memory.concept_names", 2, ns, m->cname)))
        goto fail;
    m->nnames = (int)nc;
    for (size_t i = 0; i < nc; i++) {
        int bad = m->cname[i][PT_MEMORY_NAME_LEN - 1] != '\0' || !pt_memory_name_ok(m->cname[i]) ||
                  m->concept[i][0] < 0 || m->concept[i][1] < 0 || m->concept[i][2] < 0;
        for (size_t j = 0; j < i && !bad; j++)
            bad = m->concept[j][0] == m->concept[i][0] || !strcmp(m->cname[j], m->cname[i]);
        if (bad) {
            st = pt_fail(PT_EFORMAT, "%s: memory concept %zu is corrupt", path, i);
            goto fail;
        }
    }
    *ntensors = (m->P ? 7 : 6) + (size_t)has_len;
    *out = m;
    return PT_OK;
fail:
    free(free32);
    pt_memory_destroy(m);
    return st;
}
