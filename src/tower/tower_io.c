/* The tower's part of a checkpoint (docs/checkpoint-format.md): one F32
 * tensor per array (complex as a trailing dimension of 2), the configuration
 * as string metadata, inside the envelope of io/checkpoint.c. Load rebuilds
 * the config, validates it, and checks every tensor's dtype and shape against
 * it before copying anything. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include "io/ckpt.h"
#include "linalg/linalg.h"
#include "tower/tower_internal.h"

static const char *const rule_names[] = {[PT_RULE_LOCAL] = "local", [PT_RULE_PAPER] = "paper"};
static const char *const readout_names[] = {[PT_READOUT_RIDGE] = "ridge", [PT_READOUT_DELTA] = "delta", [PT_READOUT_CODE] = "code"};
static const char *const init_names[] = {[PT_INIT_IMPRINT] = "imprint", [PT_INIT_RANDOM] = "random"};
static const char *const select_names[] = {[PT_SELECT_SOFT] = "soft", [PT_SELECT_HARD] = "hard"};
PT_ENUM_FUNCS(pt_rule, pt_tower_rule_name, pt_tower_rule_parse, "tower.rule", rule_names)
PT_ENUM_FUNCS(pt_readout, pt_tower_readout_name, pt_tower_readout_parse, "tower.readout", readout_names)
PT_ENUM_FUNCS(pt_init, pt_tower_init_name, pt_tower_init_parse, "tower.init", init_names)
PT_ENUM_FUNCS(pt_select, pt_tower_select_name, pt_tower_select_parse, "tower.select", select_names)

static pt_status put_tensors(const pt_tower *t, pt_ckpt *c)
{
    const pt_tower_config *cf = &t->cfg;
    int L = cf->n_blocks;
    size_t C = (size_t)cf->n_classes;
    pt_status st = PT_OK;
    char name[PT_ST_MAXNAME];
    for (int l = 0; l < L && !st; l++) {
        const pt_block *b = &t->b[l];
        size_t sp[2] = {(size_t)b->K, (size_t)b->in_dim}, sphi[1] = {(size_t)b->K}, sl[1] = {2};
        size_t stg[3] = {C, (size_t)b->K, 2};
        snprintf(name, sizeof name, "block%d.p", l);
        if ((st = pt_ckpt_put(c, name, PT_ST_F32, 2, sp, b->P))) break;
        snprintf(name, sizeof name, "block%d.phi", l);
        if ((st = pt_ckpt_put(c, name, PT_ST_F32, 1, sphi, b->phi))) break;
        snprintf(name, sizeof name, "block%d.lambda", l);
        if ((st = pt_ckpt_put(c, name, PT_ST_F32, 1, sl, &b->lambda))) break;
        snprintf(name, sizeof name, "block%d.targets", l);
        st = pt_ckpt_put(c, name, PT_ST_F32, 3, stg, b->T);
    }
    size_t scb[3] = {C, (size_t)t->b[L - 1].K, 2}, sv[2] = {(size_t)cf->subspace, (size_t)cf->n_in};
    size_t su[2] = {(size_t)cf->route, (size_t)cf->n_in};
    if (!st) st = pt_ckpt_put(c, "codebook", PT_ST_F32, 3, scb, t->C);
    if (!st && t->V) st = pt_ckpt_put(c, "subspace", PT_ST_F32, 2, sv, t->V); /* files of other towers are unchanged */
    if (!st && t->U) st = pt_ckpt_put(c, "route", PT_ST_F32, 2, su, t->U);
    return st;
}

pt_status pt_tower_to_ckpt(const pt_tower *t, pt_ckpt *c)
{
    const pt_tower_config *f = &t->cfg;
    int L = f->n_blocks;
    if (strcmp(pt_ckpt_kind(c), "tower"))
        return pt_fail(PT_EINVAL, "checkpoint: a tower cannot go into a '%s' checkpoint", pt_ckpt_kind(c));
    pt_status st = put_tensors(t, c);
    char layers[PT_TOWER_MAXBLOCKS * 24], active[PT_TOWER_MAXBLOCKS * 8] = "";
    pt_tower_spec_format(f, layers, sizeof layers);
    for (int l = 0; l < L; l++)
        snprintf(active + strlen(active), sizeof active - strlen(active), "%s%d", l ? "," : "", t->b[l].s);
    const char *lq = f->births && f->deaths ? "births,deaths" : f->births ? "births" : f->deaths ? "deaths" : "off";
#define SET(key, ...) do { if (!st) st = pt_ckpt_set(c, key, __VA_ARGS__); } while (0)
    SET("n_in", "%d", f->n_in);
    SET("n_classes", "%d", f->n_classes);
    SET("eta", "%.9g", (double)f->eta);
    SET("eta_phase", "%.9g", (double)f->eta_phase);
    SET("eta_skip", "%.9g", (double)f->eta_skip);
    SET("eta_code", "%.9g", (double)f->eta_code);
    SET("target_mag", "%.9g", (double)f->target_mag);
    SET("ridge", "%.9g", (double)f->ridge);
    SET("rule", "%s", rule_names[f->rule]);
    SET("readout", "%s", readout_names[f->readout]);
    SET("init", "%s", init_names[f->init]);
    SET("select", "%s", select_names[f->select]);
    SET("batch", "%d", f->batch);
    SET("seed", "%" PRIu64, f->seed);
    SET("initialized", "%d", t->initialized);
    SET("samples_seen", "%" PRIu64, t->samples_seen);
    SET("liquid", "%s", lq);
    SET("death_steps", "%d", f->death_steps);
    SET("birth_tau", "%.9g", (double)f->birth_tau);
    SET("max_neurons", "%d", f->max_neurons);
    SET("birth_init", "%s", f->birth_sample ? "sample" : "clone");
    SET("births", "%ld", t->births[L - 1]);
    SET("flips", "%ld", t->flips[L - 1]);
    SET("deaths", "%ld", t->deaths[L - 1]);
    if (f->subspace) SET("subspace", "%d", f->subspace);
    if (f->route) SET("route", "%d", f->route);
    if ((f->subspace || f->route) && f->subspace_fit != PT_PCA_ITERATE) SET("subspace_fit", "eigen"); /* else absent, as before */
    SET("layers", "%s", layers);
    SET("active", "%s", active); /* s per block, exactly: what the model uses */
#undef SET
    return st;
}

/* The liquid topology's settings and counts (absent from checkpoints of
 * fixed towers written before it existed). */
static pt_status read_liquid(const pt_ckpt *ck, pt_tower_config *c, long counts[3])
{
    const char *path = pt_ckpt_path(ck), *s = pt_ckpt_meta(ck, "liquid");
    double d;
    pt_status st;
    if (!s) return PT_OK;
    if (strcmp(s, "off") && strcmp(s, "births") && strcmp(s, "deaths") && strcmp(s, "births,deaths"))
        return pt_fail(PT_EFORMAT, "%s: metadata 'liquid' = '%s' is not off, births, deaths or births,deaths", path, s);
    c->births = strstr(s, "births") != NULL, c->deaths = strstr(s, "deaths") != NULL;
    if ((st = pt_ckpt_num(ck, "death_steps", 1, 1e9, &d))) return st;
    c->death_steps = (int)d;
    if ((st = pt_ckpt_num(ck, "birth_tau", 0, 1, &d))) return st;
    c->birth_tau = (float)d;
    if ((st = pt_ckpt_num(ck, "max_neurons", 0, 1e6, &d))) return st;
    c->max_neurons = (int)d;
    if ((st = pt_ckpt_str(ck, "birth_init", &s))) return st;
    if (strcmp(s, "clone") && strcmp(s, "sample"))
        return pt_fail(PT_EFORMAT, "%s: metadata 'birth_init' = '%s' is not clone or sample", path, s);
    c->birth_sample = !strcmp(s, "sample");
    static const char *const names[3] = {"births", "flips", "deaths"};
    for (int i = 0; i < 3; i++) {
        if ((st = pt_ckpt_num(ck, names[i], 0, 9007199254740992.0, &d))) return st;
        counts[i] = (long)d;
    }
    return PT_OK;
}

/* The active count s of every block, as stored (absent from files written
 * before it was): each fraction is set so that pt_block_active gives exactly
 * this s, whatever digits of the fraction the spec kept. */
static pt_status read_active(const pt_ckpt *ck, pt_tower_config *c)
{
    const char *path = pt_ckpt_path(ck), *s = pt_ckpt_meta(ck, "active"), *p = s;
    if (!s) return PT_OK;
    for (int l = 0; l < c->n_blocks; l++) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 1 || v > c->K[l] || *end != (l + 1 < c->n_blocks ? ',' : '\0'))
            return pt_fail(PT_EFORMAT, "%s: metadata 'active' = '%.60s' is not one count in 1..K per block of '%s'",
                           path, s, pt_ckpt_meta(ck, "layers"));
        if (pt_block_active(c->K[l], c->frac[l]) != (int)v) c->frac[l] = (float)v / (float)c->K[l];
        if (pt_block_active(c->K[l], c->frac[l]) != (int)v)
            return pt_fail(PT_EFORMAT, "%s: metadata 'active': block %d cannot have %ld of %d neurons active", path,
                           l + 1, v, c->K[l]);
        p = end + 1;
    }
    return PT_OK;
}

/* The configuration from the metadata, validated. */
static pt_status read_config(const pt_ckpt *ck, pt_tower_config *c, long counts[3])
{
    const char *path = pt_ckpt_path(ck), *s;
    pt_status st;
    double d;
    *c = pt_tower_config_default();
    c->subspace = 0; /* files without the key have none */
    if ((st = pt_ckpt_str(ck, "layers", &s))) return st;
    if ((st = pt_tower_spec_parse(s, c))) return pt_fail(PT_EFORMAT, "%s: metadata %s", path, pt_errmsg());
    if ((st = read_active(ck, c))) return st;
#define NUM(key, field, type, lo, hi) \
    do { if ((st = pt_ckpt_num(ck, key, lo, hi, &d))) return st; c->field = (type)d; } while (0)
    NUM("n_in", n_in, int, 1, 1 << 20);
    NUM("n_classes", n_classes, int, 2, 256);
    NUM("eta", eta, float, 0, 1e30);
    NUM("eta_phase", eta_phase, float, 0, 1e30);
    NUM("eta_skip", eta_skip, float, 0, 1e30);
    NUM("eta_code", eta_code, float, 0, 1e30);
    NUM("target_mag", target_mag, float, 0, 1e30);
    NUM("ridge", ridge, float, 0, 1e30);
    NUM("batch", batch, int, 1, 4096);
    if (pt_ckpt_meta(ck, "subspace")) NUM("subspace", subspace, int, 1, 1e6); /* only towers with a subspace */
    if (pt_ckpt_meta(ck, "route")) NUM("route", route, int, 1, 1e6);          /* only towers with a routing basis */
#undef NUM
    if ((st = pt_ckpt_u64(ck, "seed", &c->seed))) return st;
    int e[4];
    if ((st = pt_ckpt_enum(ck, "rule", rule_names, PT_N_NAMES(rule_names), &e[0])) ||
        (st = pt_ckpt_enum(ck, "readout", readout_names, PT_N_NAMES(readout_names), &e[1])) ||
        (st = pt_ckpt_enum(ck, "init", init_names, PT_N_NAMES(init_names), &e[2])) ||
        (st = pt_ckpt_enum(ck, "select", select_names, PT_N_NAMES(select_names), &e[3])))
        return st;
    c->rule = (pt_rule)e[0], c->readout = (pt_readout)e[1], c->init = (pt_init)e[2], c->select = (pt_select)e[3];
    if ((st = read_liquid(ck, c, counts))) return st;
    static const char *const fits[] = {[PT_PCA_EIGEN] = "eigen", [PT_PCA_ITERATE] = "iterate"};
    if (pt_ckpt_meta(ck, "subspace_fit")) { /* optional: absent means orthogonal iteration */
        int fit = 0;
        if ((st = pt_ckpt_enum(ck, "subspace_fit", fits, 2, &fit))) return st;
        c->subspace_fit = (pt_pca_method)fit;
    }
    if ((st = pt_tower_config_check(c))) return pt_fail(PT_EFORMAT, "%s: metadata: %s", path, pt_errmsg());
    return PT_OK;
}

/* One tensor: with t NULL (the check before allocating) only its dtype and
 * shape, else copied into dst (finite values only: pt_ckpt_get checks). */
static pt_status take(pt_ckpt *ck, const pt_tower *t, const char *name, int ndim, const size_t *shape, void *dst)
{
    return t ? pt_ckpt_get(ck, name, PT_ST_F32, ndim, shape, dst) : pt_ckpt_expect(ck, name, PT_ST_F32, ndim, shape);
}

/* Every tensor the config c implies: with t NULL, checked against the file
 * before anything is allocated (so no allocation is sized by metadata alone),
 * else read into t. The bases come last, since block 0 of a file written
 * before directions were stored as coordinates holds pixel-space rows that
 * the subspace converts: their coordinates are P V^T. */
static pt_status read_tensors(pt_ckpt *ck, const pt_tower_config *c, pt_tower *t)
{
    float *P0 = NULL;
    pt_status st = PT_OK;
    char name[PT_ST_MAXNAME];
#define DST(field) (t ? (void *)(field) : NULL)
    for (int l = 0; l < c->n_blocks && !st; l++) {
        pt_block *b = t ? &t->b[l] : NULL;
        size_t sh[3] = {(size_t)c->K[l], (size_t)pt_block_in_dim(c, l), 2};
        snprintf(name, sizeof name, "block%d.p", l);
        const pt_st_tensor *pt = l == 0 && c->subspace ? pt_ckpt_find(ck, name) : NULL;
        if (pt && pt->ndim == 2 && pt->shape[1] == (size_t)c->n_in) { /* pixel-space rows */
            sh[1] = (size_t)c->n_in;
            if (t && !(P0 = pt_calloc(sh[0] * sh[1], sizeof *P0))) return pt_fail(PT_ENOMEM, "out of memory");
        }
        if ((st = take(ck, t, name, 2, sh, P0 && l == 0 ? P0 : DST(b->P)))) break;
        snprintf(name, sizeof name, "block%d.phi", l);
        if ((st = take(ck, t, name, 1, sh, DST(b->phi)))) break;
        snprintf(name, sizeof name, "block%d.lambda", l);
        sh[0] = 2;
        if ((st = take(ck, t, name, 1, sh, DST(&b->lambda)))) break;
        snprintf(name, sizeof name, "block%d.targets", l);
        sh[0] = (size_t)c->n_classes, sh[1] = (size_t)c->K[l], sh[2] = 2;
        st = take(ck, t, name, 3, sh, DST(b->T));
    }
    size_t sh[3] = {(size_t)c->n_classes, (size_t)c->K[c->n_blocks - 1], 2}, su[2] = {(size_t)c->route, (size_t)c->n_in};
    size_t sv[2] = {(size_t)c->subspace, (size_t)c->n_in};
    if (!st) st = take(ck, t, "codebook", 3, sh, DST(t->C));
    if (!st && c->route && !(st = take(ck, t, "route", 2, su, DST(t->U))) && t) t->u_ready = 1;
    if (!st && c->subspace && !(st = take(ck, t, "subspace", 2, sv, DST(t->V))) && t) {
        t->v_ready = 1;
        if (P0) pt_sgemm_nt(t->b[0].P, P0, t->V, (size_t)t->b[0].K, (size_t)c->subspace, (size_t)c->n_in, 1.0f, 0.0f);
    }
#undef DST
    free(P0);
    return st;
}

pt_status pt_tower_from_ckpt(pt_ckpt *ck, pt_tower **out)
{
    *out = NULL;
    const char *path = pt_ckpt_path(ck);
    if (strcmp(pt_ckpt_kind(ck), "tower"))
        return pt_fail(PT_EFORMAT, "%s: holds a '%s' model, not a tower", path, pt_ckpt_kind(ck));
    pt_tower_config c;
    long counts[3] = {0, 0, 0};
    double d;
    pt_status st = read_config(ck, &c, counts);
    if (st || (st = read_tensors(ck, &c, NULL))) return st;
    pt_tower *t = pt_calloc(1, sizeof *t);
    if (!t) return pt_fail(PT_ENOMEM, "out of memory for the tower");
    t->cfg = c;
    if ((st = pt_tower_alloc(t)) || (st = pt_ckpt_num(ck, "initialized", 0, 1, &d))) goto fail;
    t->initialized = (int)d;
    if ((st = pt_ckpt_num(ck, "samples_seen", 0, 9007199254740992.0, &d))) goto fail;
    t->samples_seen = (uint64_t)d;
    t->births[c.n_blocks - 1] = counts[0], t->flips[c.n_blocks - 1] = counts[1], t->deaths[c.n_blocks - 1] = counts[2];
    if ((st = read_tensors(ck, &c, t))) goto fail;
    *out = t;
    return PT_OK;
fail:
    pt_tower_destroy(t);
    return st;
}

static pt_status put(const void *m, pt_ckpt *c) { return pt_tower_to_ckpt(m, c); }
static pt_status get(pt_ckpt *c, void *out) { return pt_tower_from_ckpt(c, out); }

pt_status pt_tower_save(const pt_tower *m, const char *path) { return pt_ckpt_save_one("tower", m, put, path); }

pt_status pt_tower_load(const char *path, pt_tower **out)
{
    *out = NULL;
    return pt_ckpt_load_one(path, get, out);
}
