/* The episodic memory's part of a checkpoint (docs/checkpoint-format.md),
 * next to whichever model it sits on: tensors memory.keys, memory.labels,
 * memory.usage, memory.lengths, memory.free, memory.concepts,
 * memory.concept_names and, when keys are projected, memory.proj; its
 * configuration as memory_* metadata. Load checks every tensor against the
 * metadata and the slots against each other, so a corrupt memory is refused,
 * never half-used. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "io/ckpt.h"
#include "memory/memory_internal.h"

_Static_assert(sizeof(int) == sizeof(int32_t), "labels are stored as I32");

static const char *const vote_names[] = {[PT_VOTE_MODE] = "mode", [PT_VOTE_WEIGHTED] = "weighted"};

PT_ENUM_FUNCS(pt_vote, pt_memory_vote_name, pt_memory_vote_parse, "memory.vote", vote_names)

static const char *const code_names[] = {[PT_MEMORY_SPARSE] = "sparse", [PT_MEMORY_DENSE] = "dense"};

PT_ENUM_FUNCS(pt_memory_code, pt_memory_code_name, pt_memory_code_parse, "memory.code", code_names)

pt_status pt_memory_to_ckpt(const pt_memory *m, pt_ckpt *c)
{
    const pt_memory_config *f = &m->cfg;
    size_t N = (size_t)f->capacity, d = (size_t)f->dim, nf = 0;
    int32_t *free32 = pt_calloc(N, sizeof *free32);
    if (!free32) return pt_fail(PT_ENOMEM, "out of memory");
    for (size_t i = 0; i < m->nfree; i++) /* only live entries, in order: pops replay identically */
        if (m->label[m->freelist[i]] < 0) free32[nf++] = (int32_t)m->freelist[i];
    size_t kd[3] = {N, d, 2}, n1[1] = {N}, fs[1] = {nf}, cs[2] = {(size_t)m->nnames, 3};
    size_t ns[2] = {(size_t)m->nnames, PT_MEMORY_NAME_LEN}, ps[3] = {(size_t)f->in_dim, d, 2};
    pt_status st;
    if ((st = pt_ckpt_put(c, "memory.keys", PT_ST_F32, 3, kd, m->M)) ||
        (st = pt_ckpt_put(c, "memory.labels", PT_ST_I32, 1, n1, m->label)) ||
        (st = pt_ckpt_put(c, "memory.usage", PT_ST_F32, 1, n1, m->v)) ||
        (st = pt_ckpt_put(c, "memory.lengths", PT_ST_F32, 1, n1, m->len)) ||
        (st = pt_ckpt_put_copy(c, "memory.free", PT_ST_I32, 1, fs, free32)) ||
        (st = pt_ckpt_put(c, "memory.concepts", PT_ST_I32, 2, cs, m->concept)) ||
        (st = pt_ckpt_put(c, "memory.concept_names", PT_ST_U8, 2, ns, m->cname)) ||
        (m->P && (st = pt_ckpt_put(c, "memory.proj", PT_ST_F32, 3, ps, m->P)))) {
        free(free32);
        return st;
    }
    free(free32);
#define SET(key, ...) do { if (!st) st = pt_ckpt_set(c, key, __VA_ARGS__); } while (0)
    SET("memory_size", "%d", f->capacity);
    SET("memory_dim", "%d", f->dim);
    SET("memory_k", "%d", f->k);
    SET("memory_alpha", "%.9g", (double)f->alpha);
    SET("memory_vote", "%s", vote_names[f->vote]);
    SET("memory_seed", "%" PRIu64, f->seed);
    SET("memory_next", "%zu", m->next);
    SET("memory_code", "%s", code_names[f->code]);
    SET("memory_proj", "%s", m->proj_frame ? "frame" : "random");
#undef SET
    return st;
}

/* The configuration from the memory_* metadata. */
static pt_status read_config(const pt_ckpt *ck, int in_dim, pt_memory_config *c, double *next, const char **pk)
{
    const char *path = pt_ckpt_path(ck);
    double x;
    pt_status st;
    *c = pt_memory_config_default(in_dim);
#define NUM(key, field, type, lo, hi) \
    do { if ((st = pt_ckpt_num(ck, key, lo, hi, &x))) return st; c->field = (type)x; } while (0)
    NUM("memory_size", capacity, int, 1, 10000000);
    NUM("memory_dim", dim, int, 1, in_dim);
    NUM("memory_k", k, int, 1, c->capacity);
    NUM("memory_alpha", alpha, float, 0, 1);
#undef NUM
    /* the seed as an exact integer: through a double, seeds above 2^53 would change */
    if ((st = pt_ckpt_u64(ck, "memory_seed", &c->seed))) return st;
    int e = 0;
    if ((st = pt_ckpt_enum(ck, "memory_vote", vote_names, PT_N_NAMES(vote_names), &e))) return st;
    c->vote = (pt_vote)e;
    /* optional: checkpoints written before dense codes existed hold sparse ones */
    if (pt_ckpt_meta(ck, "memory_code")) {
        if ((st = pt_ckpt_enum(ck, "memory_code", code_names, PT_N_NAMES(code_names), &e))) return st;
        c->code = (pt_memory_code)e;
    }
    /* optional: checkpoints written before frame keys existed drew their projection */
    *pk = pt_ckpt_meta(ck, "memory_proj");
    if (*pk && strcmp(*pk, "random") && strcmp(*pk, "frame"))
        return pt_fail(PT_EFORMAT, "%s: metadata 'memory_proj' = '%s': expected random or frame", path, *pk);
    return pt_ckpt_num(ck, "memory_next", 0, c->capacity - 1, next);
}

/* Slots: a label >= 0 holds a unit key and a positive length, -1 an all-zero
 * key and length 0; every free entry is an empty slot. */
static pt_status check_slots(pt_memory *m, const char *path, int has_len, const int32_t *free32, size_t nf)
{
    size_t N = (size_t)m->cfg.capacity, d = (size_t)m->cfg.dim;
    for (size_t i = 0; i < N; i++) {
        double ss = 0.0;
        for (size_t a = 0; a < d; a++)
            ss += (double)(crealf(m->M[i * d + a]) * crealf(m->M[i * d + a]) + cimagf(m->M[i * d + a]) * cimagf(m->M[i * d + a]));
        if (m->label[i] < -1 || (m->label[i] >= 0 && fabs(ss - 1.0) > 1e-3) || (m->label[i] == -1 && ss != 0.0))
            return pt_fail(PT_EFORMAT, "%s: memory slot %zu is corrupt (label %d, key norm^2 %g)", path, i, m->label[i], ss);
        if (!has_len) m->len[i] = m->label[i] >= 0 ? 1.0f : 0.0f;
        float l = m->len[i];
        if (m->label[i] >= 0 ? !(l > 0.0f && l < HUGE_VALF) : l != 0.0f)
            return pt_fail(PT_EFORMAT, "%s: memory slot %zu is corrupt (label %d, length %g)", path, i, m->label[i],
                           (double)l);
        m->count += m->label[i] >= 0;
    }
    if (nf > N) return pt_fail(PT_EFORMAT, "%s: memory.free has %zu entries for %zu slots", path, nf, N);
    for (size_t i = 0; i < nf; i++) {
        if (free32[i] < 0 || (size_t)free32[i] >= N || m->label[free32[i]] != -1)
            return pt_fail(PT_EFORMAT, "%s: memory.free entry %zu (%d) is not an empty slot", path, i, (int)free32[i]);
        m->freelist[m->nfree++] = (size_t)free32[i];
    }
    return PT_OK;
}

/* The concept table: valid, unique names and labels, known parents. */
static pt_status read_concepts(pt_ckpt *ck, pt_memory *m)
{
    const char *path = pt_ckpt_path(ck);
    const pt_st_tensor *ct = pt_ckpt_find(ck, "memory.concepts");
    size_t nc = ct && ct->ndim == 2 ? ct->shape[0] : 0;
    if (nc > PT_MEMORY_MAX_NAMES) return pt_fail(PT_EFORMAT, "%s: %zu concepts (limit %d)", path, nc, PT_MEMORY_MAX_NAMES);
    size_t cs[2] = {nc, 3}, ns[2] = {nc, PT_MEMORY_NAME_LEN};
    pt_status st;
    if ((st = pt_ckpt_get(ck, "memory.concepts", PT_ST_I32, 2, cs, m->concept)) ||
        (st = pt_ckpt_get(ck, "memory.concept_names", PT_ST_U8, 2, ns, m->cname)))
        return st;
    m->nnames = (int)nc;
    for (size_t i = 0; i < nc; i++) {
        int bad = m->cname[i][PT_MEMORY_NAME_LEN - 1] != '\0' || !pt_memory_name_ok(m->cname[i]) ||
                  m->concept[i][0] < 0 || m->concept[i][1] < 0 || m->concept[i][2] < 0;
        for (size_t j = 0; j < i && !bad; j++)
            bad = m->concept[j][0] == m->concept[i][0] || !strcmp(m->cname[j], m->cname[i]);
        if (bad) return pt_fail(PT_EFORMAT, "%s: memory concept %zu is corrupt", path, i);
    }
    return PT_OK;
}

/* The tensors sized by the configuration, dtype and shape only, before the
 * memory is allocated: no allocation is sized by metadata the file does not
 * back (memory_size 10^7 in a 6 kB file is refused here). */
static pt_status check_tensors(const pt_ckpt *ck, const pt_memory_config *c)
{
    size_t N = (size_t)c->capacity, d = (size_t)c->dim, sh[3] = {N, d, 2}, one[1] = {N};
    size_t ps[3] = {(size_t)c->in_dim, d, 2};
    pt_status st;
    if ((st = pt_ckpt_expect(ck, "memory.keys", PT_ST_F32, 3, sh)) ||
        (st = pt_ckpt_expect(ck, "memory.labels", PT_ST_I32, 1, one)) ||
        (st = pt_ckpt_expect(ck, "memory.usage", PT_ST_F32, 1, one)))
        return st;
    if (c->dim < c->in_dim) return pt_ckpt_expect(ck, "memory.proj", PT_ST_F32, 3, ps);
    return PT_OK;
}

pt_status pt_memory_from_ckpt(pt_ckpt *ck, int in_dim, pt_memory **out)
{
    *out = NULL;
    if (!pt_ckpt_meta(ck, "memory_size")) return PT_OK; /* a model without memory */
    const char *path = pt_ckpt_path(ck), *pk = NULL;
    if (in_dim < 1) return pt_fail(PT_EINVAL, "memory: the model's vectors have length %d", in_dim);
    pt_memory_config c;
    double next;
    pt_status st = read_config(ck, in_dim, &c, &next, &pk);
    if (st || (st = check_tensors(ck, &c))) return st;
    pt_memory *m;
    if ((st = pt_memory_alloc(&c, &m))) return st == PT_EINVAL ? pt_fail(PT_EFORMAT, "%s: %s", path, pt_errmsg()) : st;
    size_t N = (size_t)c.capacity, d = (size_t)c.dim;
    const pt_st_tensor *ft = pt_ckpt_find(ck, "memory.free");
    size_t nf = ft && ft->ndim == 1 ? ft->shape[0] : 0;
    int32_t *free32 = nf ? pt_calloc(nf, sizeof *free32) : NULL;
    if (nf && !free32) {
        pt_memory_destroy(m);
        return pt_fail(PT_ENOMEM, "out of memory");
    }
    size_t sh[3] = {N, d, 2}, one[1] = {N}, fs[1] = {nf}, ps[3] = {(size_t)in_dim, d, 2};
    /* optional: checkpoints written before lengths were kept get length 1 for
     * every stored key (compose then weighs both parents equally) */
    int has_len = pt_ckpt_find(ck, "memory.lengths") != NULL;
    if ((st = pt_ckpt_get(ck, "memory.keys", PT_ST_F32, 3, sh, m->M)) ||
        (st = pt_ckpt_get(ck, "memory.labels", PT_ST_I32, 1, one, m->label)) ||
        (st = pt_ckpt_get(ck, "memory.usage", PT_ST_F32, 1, one, m->v)) ||
        (st = pt_ckpt_get(ck, "memory.free", PT_ST_I32, 1, fs, free32)) ||
        (m->P && (st = pt_ckpt_get(ck, "memory.proj", PT_ST_F32, 3, ps, m->P))) ||
        (has_len && (st = pt_ckpt_get(ck, "memory.lengths", PT_ST_F32, 1, one, m->len))))
        goto fail;
    m->next = (size_t)next;
    m->proj_frame = pk && !strcmp(pk, "frame") && m->P;
    if ((st = check_slots(m, path, has_len, free32, nf)) || (st = read_concepts(ck, m))) goto fail;
    free(free32);
    *out = m;
    return PT_OK;
fail:
    free(free32);
    pt_memory_destroy(m);
    return st;
}
