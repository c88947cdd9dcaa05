/* PhaseTower checkpoints in safetensors (docs/checkpoint-format.md): one F32
 * tensor per array (complex as a trailing dimension of 2), the configuration
 * as string metadata. Load rebuilds the config, validates it, and checks every
 * tensor's dtype and shape against it before copying anything. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "io/safetensors.h"
#include "linalg/linalg.h"
#include "memory/memory_internal.h"
#include "tower/tower_internal.h"

#define PT_TOWER_FORMAT_VERSION "1"

static const char *const rule_names[] = {[PT_RULE_LOCAL] = "local", [PT_RULE_PAPER] = "paper"};
static const char *const readout_names[] = {[PT_READOUT_RIDGE] = "ridge", [PT_READOUT_DELTA] = "delta", [PT_READOUT_CODE] = "code"};
static const char *const init_names[] = {[PT_INIT_IMPRINT] = "imprint", [PT_INIT_RANDOM] = "random"};
static const char *const select_names[] = {[PT_SELECT_SOFT] = "soft", [PT_SELECT_HARD] = "hard"};
PT_ENUM_FUNCS(pt_rule, pt_tower_rule_name, pt_tower_rule_parse, "rule", rule_names)
PT_ENUM_FUNCS(pt_readout, pt_tower_readout_name, pt_tower_readout_parse, "readout", readout_names)
PT_ENUM_FUNCS(pt_init, pt_tower_init_name, pt_tower_init_parse, "init", init_names)
PT_ENUM_FUNCS(pt_select, pt_tower_select_name, pt_tower_select_parse, "select", select_names)

enum { META_MAX = 32 + PT_MEMORY_META_MAX };

pt_status pt_tower_save(const pt_tower *t, const char *path) { return pt_model_save(t, NULL, path); }

pt_status pt_tower_load(const char *path, pt_tower **out) { return pt_model_load(path, out, NULL); }

pt_status pt_model_save(const pt_tower *t, const pt_memory *mem, const char *path)
{
    const pt_tower_config *c = &t->cfg;
    int L = c->n_blocks;
    pt_st_tensor ts[4 * PT_TOWER_MAXBLOCKS + 3 + PT_MEMORY_ST_MAX]; /* blocks, codebook, subspace, route, memory */
    size_t nt = 0;
    for (int l = 0; l < L; l++) {
        const pt_block *b = &t->b[l];
        pt_st_tensor *p = &ts[nt++];
        memset(p, 0, sizeof *p);
        snprintf(p->name, sizeof p->name, "block%d.p", l);
        p->dtype = PT_ST_F32, p->ndim = 2, p->shape[0] = (size_t)b->K, p->shape[1] = (size_t)b->in_dim, p->data = b->P;
        p = &ts[nt++];
        memset(p, 0, sizeof *p);
        snprintf(p->name, sizeof p->name, "block%d.phi", l);
        p->dtype = PT_ST_F32, p->ndim = 1, p->shape[0] = (size_t)b->K, p->data = b->phi;
        p = &ts[nt++];
        memset(p, 0, sizeof *p);
        snprintf(p->name, sizeof p->name, "block%d.lambda", l);
        p->dtype = PT_ST_F32, p->ndim = 1, p->shape[0] = 2, p->data = &b->lambda;
        p = &ts[nt++];
        memset(p, 0, sizeof *p);
        snprintf(p->name, sizeof p->name, "block%d.targets", l);
        p->dtype = PT_ST_F32, p->ndim = 3, p->shape[0] = (size_t)c->n_classes, p->shape[1] = (size_t)b->K, p->shape[2] = 2;
        p->data = b->T;
    }
    pt_st_tensor *cb = &ts[nt++];
    memset(cb, 0, sizeof *cb);
    snprintf(cb->name, sizeof cb->name, "codebook");
    cb->dtype = PT_ST_F32, cb->ndim = 3, cb->shape[0] = (size_t)c->n_classes, cb->shape[1] = (size_t)t->b[L - 1].K, cb->shape[2] = 2;
    cb->data = t->C;
    if (t->V) { /* only with --subspace: files of other towers are unchanged */
        pt_st_tensor *sv = &ts[nt++];
        memset(sv, 0, sizeof *sv);
        snprintf(sv->name, sizeof sv->name, "subspace");
        sv->dtype = PT_ST_F32, sv->ndim = 2, sv->shape[0] = (size_t)c->subspace, sv->shape[1] = (size_t)c->n_in;
        sv->data = t->V;
    }
    if (t->U) { /* only with --route-rank */
        pt_st_tensor *su = &ts[nt++];
        memset(su, 0, sizeof *su);
        snprintf(su->name, sizeof su->name, "route");
        su->dtype = PT_ST_F32, su->ndim = 2, su->shape[0] = (size_t)c->route, su->shape[1] = (size_t)c->n_in;
        su->data = t->U;
    }

    char v[META_MAX][64];
    char layers[PT_TOWER_MAXBLOCKS * 24];
    pt_tower_spec_format(c, layers, sizeof layers);
    const char *meta[2 * META_MAX];
    size_t nm = 0;
#define META(key, ...) do { snprintf(v[nm], sizeof v[nm], __VA_ARGS__); meta[2 * nm] = key; meta[2 * nm + 1] = v[nm]; nm++; } while (0)
    META("format", "phasetower");
    META("version", PT_TOWER_FORMAT_VERSION);
    META("model", "tower");
    META("n_in", "%d", c->n_in);
    META("n_classes", "%d", c->n_classes);
    META("eta", "%.9g", (double)c->eta);
    META("eta_phase", "%.9g", (double)c->eta_phase);
    META("eta_skip", "%.9g", (double)c->eta_skip);
    META("eta_code", "%.9g", (double)c->eta_code);
    META("target_mag", "%.9g", (double)c->target_mag);
    META("ridge", "%.9g", (double)c->ridge);
    META("rule", "%s", rule_names[c->rule]);
    META("readout", "%s", readout_names[c->readout]);
    META("init", "%s", init_names[c->init]);
    META("select", "%s", select_names[c->select]);
    META("batch", "%d", c->batch);
    META("seed", "%" PRIu64, c->seed);
    META("initialized", "%d", t->initialized);
    META("samples_seen", "%" PRIu64, t->samples_seen);
    META("liquid", "%s", c->births && c->deaths ? "births,deaths" : c->births ? "births" : c->deaths ? "deaths" : "off");
    META("death_steps", "%d", c->death_steps);
    META("birth_tau", "%.9g", (double)c->birth_tau);
    META("max_neurons", "%d", c->max_neurons);
    META("birth_init", "%s", c->birth_sample ? "sample" : "clone");
    META("births", "%ld", t->births[L - 1]);
    META("flips", "%ld", t->flips[L - 1]);
    META("deaths", "%ld", t->deaths[L - 1]);
    if (c->subspace) META("subspace", "%d", c->subspace);
    if (c->route) META("route", "%d", c->route);
#undef META
    meta[2 * nm] = "layers";
    meta[2 * nm + 1] = layers;
    nm++;
    if (!mem) return pt_st_write(path, ts, nt, meta, nm);
    if (pt_memory_get_config(mem)->in_dim != t->b[L - 1].K)
        return pt_fail(PT_EINVAL, "memory holds vectors of %d, the tower outputs %d", pt_memory_get_config(mem)->in_dim,
                       t->b[L - 1].K);
    int32_t *free32 = pt_calloc((size_t)pt_memory_get_config(mem)->capacity, sizeof *free32);
    if (!free32) return pt_fail(PT_ENOMEM, "out of memory");
    nt += pt_memory_st_put(mem, ts + nt, free32);
    pt_memory_st_meta(mem, v, meta, &nm);
    pt_status st = pt_st_write(path, ts, nt, meta, nm);
    free(free32);
    return st;
}

/* A basis tensor (rows, n_in) that must be finite. */
static pt_status get_basis(const pt_st_file *f, const char *path, const char *name, int rows, int n_in, float *dst)
{
    size_t vs[2] = {(size_t)rows, (size_t)n_in};
    pt_status st = pt_st_get(f, path, PT_ST_F32, name, 2, vs, dst);
    if (st) return st;
    for (size_t i = 0; i < vs[0] * vs[1]; i++)
        if (!isfinite(dst[i])) return pt_fail(PT_EFORMAT, "%s: tensor '%s' has a non-finite value", path, name);
    return PT_OK;
}

static pt_status load_from(const pt_st_file *f, const char *path, pt_tower **out, pt_memory **mem)
{
    const char *s;
    pt_status st;
    if ((st = pt_st_meta_str(f, path, "format", &s))) return st;
    if (strcmp(s, "phasetower")) return pt_fail(PT_EFORMAT, "%s: not a PhaseTower checkpoint (format '%s')", path, s);
    if ((st = pt_st_meta_str(f, path, "model", &s))) return st;
    if (strcmp(s, "tower")) return pt_fail(PT_EFORMAT, "%s: holds a '%s' model, not a tower", path, s);
    if ((st = pt_st_meta_str(f, path, "version", &s))) return st;
    if (strcmp(s, PT_TOWER_FORMAT_VERSION))
        return pt_fail(PT_EFORMAT, "%s: checkpoint version %s, this build reads version %s", path, s, PT_TOWER_FORMAT_VERSION);

    pt_tower_config c = pt_tower_config_default();
    c.subspace = 0; /* files without the key have none */
    double d;
    if ((st = pt_st_meta_str(f, path, "layers", &s))) return st;
    if ((st = pt_tower_spec_parse(s, &c))) return pt_fail(PT_EFORMAT, "%s: metadata %s", path, pt_errmsg());
#define NUM(key, field, type, lo, hi) \
    do { if ((st = pt_st_meta_num(f, path, key, lo, hi, &d))) return st; c.field = (type)d; } while (0)
    NUM("n_in", n_in, int, 1, 1 << 20);
    NUM("n_classes", n_classes, int, 2, 256);
    NUM("eta", eta, float, 0, 1e30);
    NUM("eta_phase", eta_phase, float, 0, 1e30);
    NUM("eta_skip", eta_skip, float, 0, 1e30);
    NUM("eta_code", eta_code, float, 0, 1e30);
    NUM("target_mag", target_mag, float, 0, 1e30);
    NUM("ridge", ridge, float, 0, 1e30);
    NUM("batch", batch, int, 1, 4096);
#undef NUM
    if ((st = pt_st_meta_str(f, path, "seed", &s))) return st;
    char *end;
    errno = 0;
    c.seed = strtoull(s, &end, 10);
    if (end == s || *end || errno) return pt_fail(PT_EFORMAT, "%s: metadata 'seed' = '%s' is not an integer", path, s);
    if ((st = pt_st_meta_str(f, path, "rule", &s)) || (st = pt_tower_rule_parse(s, &c.rule)) ||
        (st = pt_st_meta_str(f, path, "readout", &s)) || (st = pt_tower_readout_parse(s, &c.readout)) ||
        (st = pt_st_meta_str(f, path, "init", &s)) || (st = pt_tower_init_parse(s, &c.init)) ||
        (st = pt_st_meta_str(f, path, "select", &s)) || (st = pt_tower_select_parse(s, &c.select)))
        return pt_fail(PT_EFORMAT, "%s: metadata: %s", path, pt_errmsg());
    /* liquid topology (optional: absent from checkpoints of fixed towers written before it) */
    long counts[3] = {0, 0, 0};
    if ((s = pt_st_meta(f, "liquid"))) {
        if (strcmp(s, "off") && strcmp(s, "births") && strcmp(s, "deaths") && strcmp(s, "births,deaths"))
            return pt_fail(PT_EFORMAT, "%s: metadata 'liquid' = '%s' is not off, births, deaths or births,deaths", path, s);
        c.births = strstr(s, "births") != NULL, c.deaths = strstr(s, "deaths") != NULL;
        if ((st = pt_st_meta_num(f, path, "death_steps", 1, 1e9, &d))) return st;
        c.death_steps = (int)d;
        if ((st = pt_st_meta_num(f, path, "birth_tau", 0, 1, &d))) return st;
        c.birth_tau = (float)d;
        if ((st = pt_st_meta_num(f, path, "max_neurons", 0, 1e6, &d))) return st;
        c.max_neurons = (int)d;
        if ((st = pt_st_meta_str(f, path, "birth_init", &s))) return st;
        if (strcmp(s, "clone") && strcmp(s, "sample"))
            return pt_fail(PT_EFORMAT, "%s: metadata 'birth_init' = '%s' is not clone or sample", path, s);
        c.birth_sample = !strcmp(s, "sample");
        static const char *const names[3] = {"births", "flips", "deaths"};
        for (int i = 0; i < 3; i++) {
            if ((st = pt_st_meta_num(f, path, names[i], 0, 9007199254740992.0, &d))) return st;
            counts[i] = (long)d;
        }
    }
    if (pt_st_meta(f, "subspace")) { /* optional: only towers trained with --subspace have one */
        if ((st = pt_st_meta_num(f, path, "subspace", 1, 1e6, &d))) return st;
        c.subspace = (int)d;
    }
    if (pt_st_meta(f, "route")) { /* optional: only towers trained with --route-rank have one */
        if ((st = pt_st_meta_num(f, path, "route", 1, 1e6, &d))) return st;
        c.route = (int)d;
    }
    if ((st = pt_tower_config_check(&c))) return pt_fail(PT_EFORMAT, "%s: metadata: %s", path, pt_errmsg());

    float *P0 = NULL; /* block 0 rows of an older subspace file, in pixel space */
    pt_tower *t = pt_calloc(1, sizeof *t);
    if (!t) return pt_fail(PT_ENOMEM, "out of memory for the tower");
    t->cfg = c;
    if ((st = pt_tower_alloc(t))) goto fail;
    if ((st = pt_st_meta_num(f, path, "initialized", 0, 1, &d))) goto fail;
    t->initialized = (int)d;
    if ((st = pt_st_meta_num(f, path, "samples_seen", 0, 9007199254740992.0, &d))) goto fail;
    t->samples_seen = (uint64_t)d;
    t->births[c.n_blocks - 1] = counts[0], t->flips[c.n_blocks - 1] = counts[1], t->deaths[c.n_blocks - 1] = counts[2];
    for (int l = 0; l < c.n_blocks; l++) {
        pt_block *b = &t->b[l];
        char name[PT_ST_MAXNAME];
        size_t sh[3];
        snprintf(name, sizeof name, "block%d.p", l);
        sh[0] = (size_t)b->K, sh[1] = (size_t)b->in_dim;
        const pt_st_tensor *pt = l == 0 && t->V ? pt_st_find(f, name) : NULL;
        if (pt && pt->ndim == 2 && pt->shape[1] == (size_t)c.n_in) {
            /* written before directions were stored as coordinates: pixel-space rows, converted below */
            sh[1] = (size_t)c.n_in;
            if (!(P0 = pt_calloc(sh[0] * sh[1], sizeof *P0))) {
                st = pt_fail(PT_ENOMEM, "out of memory");
                goto fail;
            }
        }
        if ((st = pt_st_get(f, path, PT_ST_F32, name, 2, sh, P0 && l == 0 ? P0 : b->P))) goto fail;
        snprintf(name, sizeof name, "block%d.phi", l);
        if ((st = pt_st_get(f, path, PT_ST_F32, name, 1, sh, b->phi))) goto fail;
        snprintf(name, sizeof name, "block%d.lambda", l);
        sh[0] = 2;
        if ((st = pt_st_get(f, path, PT_ST_F32, name, 1, sh, &b->lambda))) goto fail;
        snprintf(name, sizeof name, "block%d.targets", l);
        sh[0] = (size_t)c.n_classes, sh[1] = (size_t)b->K, sh[2] = 2;
        if ((st = pt_st_get(f, path, PT_ST_F32, name, 3, sh, b->T))) goto fail;
    }
    size_t sh[3] = {(size_t)c.n_classes, (size_t)t->b[c.n_blocks - 1].K, 2};
    if ((st = pt_st_get(f, path, PT_ST_F32, "codebook", 3, sh, t->C))) goto fail;
    size_t nsub = (t->V != NULL) + (t->U != NULL);
    if (t->U) {
        if ((st = get_basis(f, path, "route", c.route, c.n_in, t->U))) goto fail;
        t->u_ready = 1;
    }
    if (t->V) {
        size_t vs[2] = {(size_t)c.subspace, (size_t)c.n_in};
        if ((st = get_basis(f, path, "subspace", c.subspace, c.n_in, t->V))) goto fail;
        t->v_ready = 1;
        if (P0) { /* the directions lie in the subspace: their coordinates are P V^T */
            pt_sgemm_nt(t->b[0].P, P0, t->V, (size_t)t->b[0].K, vs[0], vs[1], 1.0f, 0.0f);
            free(P0);
            P0 = NULL;
        }
    }
    pt_memory *m = NULL;
    size_t nmem = 0;
    if ((st = pt_memory_st_load(f, path, t->b[c.n_blocks - 1].K, &m, &nmem))) goto fail;
    if (pt_st_count(f) != 4 * (size_t)c.n_blocks + 1 + nsub + nmem) {
        st = pt_fail(PT_EFORMAT, "%s: %zu tensors, expected %zu for %d blocks%s%s", path, pt_st_count(f),
                     4 * (size_t)c.n_blocks + 1 + nsub + nmem, c.n_blocks,
                     t->V ? ", a subspace" : t->U ? ", a routing basis" : "",
                     m ? " and a memory" : "");
        pt_memory_destroy(m);
        goto fail;
    }
    if (mem) *mem = m;
    else pt_memory_destroy(m);
    *out = t;
    return PT_OK;
fail:
    free(P0);
    pt_tower_destroy(t);
    return st;
}

pt_status pt_model_load(const char *path, pt_tower **out, pt_memory **mem)
{
    *out = NULL;
    if (mem) *mem = NULL;
    pt_st_file *f;
    pt_status st = pt_st_read(path, &f);
    if (st) return st;
    st = load_from(f, path, out, mem);
    pt_st_close(f);
    return st;
}
