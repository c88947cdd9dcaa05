/* The phasor network's part of a checkpoint (docs/checkpoint-format.md),
 * model kind "phasor": per layer its weights as two F32 tensors, real and
 * imaginary parts (layer%d.w_re, layer%d.w_im, (out, in)), with modReLU its
 * biases (layer%d.bias), then readout.re and readout.im; the configuration as
 * metadata. The file keeps real and imaginary parts apart (the layout files
 * had before the weights were interleaved in memory), so every phasor
 * checkpoint ever written loads. */
#include <inttypes.h>
#include <string.h>
#include "io/ckpt.h"
#include "phasetower/phasor.h"
#include "internal.h"

/* layer l's (out, in) shape; l == depth: the readout */
static void layer_shape(const pt_phasor_config *c, int l, size_t *out, size_t *in)
{
    *out = l < c->depth ? (size_t)c->hidden : (size_t)c->n_out;
    *in = l < c->depth ? (l == 0 ? (size_t)c->n_in : (size_t)c->hidden) : (size_t)c->hidden;
}

static void part_name(char *name, size_t len, int l, int depth, int part)
{
    if (l < depth) snprintf(name, len, "layer%d.w_%s", l, part ? "im" : "re");
    else snprintf(name, len, "readout.%s", part ? "im" : "re");
}

pt_status pt_phasor_to_ckpt(const pt_phasor *m, pt_ckpt *c)
{
    const pt_phasor_config *f = pt_phasor_get_config(m);
    if (strcmp(pt_ckpt_kind(c), "phasor"))
        return pt_fail(PT_EINVAL, "checkpoint: a phasor network cannot go into a '%s' checkpoint", pt_ckpt_kind(c));
    pt_status st = PT_OK;
    size_t wide = (size_t)(f->n_in > f->hidden ? f->n_in : f->hidden), big = wide * (size_t)f->hidden;
    if ((size_t)f->n_out * (size_t)f->hidden > big) big = (size_t)f->n_out * (size_t)f->hidden;
    float *part = pt_calloc(big, sizeof *part);
    if (!part) return pt_fail(PT_ENOMEM, "out of memory");
    for (int l = 0; l <= f->depth && !st; l++) {
        size_t out, in, sh[2];
        layer_shape(f, l, &out, &in);
        sh[0] = out, sh[1] = in;
        const float *W = pt_phasor_weights(m, l);
        for (int p = 0; p < 2 && !st; p++) {
            char name[PT_ST_MAXNAME];
            part_name(name, sizeof name, l, f->depth, p);
            for (size_t i = 0; i < out * in; i++) part[i] = W[2 * i + (size_t)p];
            st = pt_ckpt_put_copy(c, name, PT_ST_F32, 2, sh, part);
        }
        if (!st && l < f->depth && f->act == PT_ACT_MODRELU) {
            char name[PT_ST_MAXNAME];
            size_t hb[1] = {(size_t)f->hidden};
            snprintf(name, sizeof name, "layer%d.bias", l);
            st = pt_ckpt_put(c, name, PT_ST_F32, 1, hb, W + 2 * out * in);
        }
    }
    free(part);
#define SET(key, ...) do { if (!st) st = pt_ckpt_set(c, key, __VA_ARGS__); } while (0)
    SET("n_in", "%d", f->n_in);
    SET("n_classes", "%d", f->n_out);
    SET("hidden", "%d", f->hidden);
    SET("depth", "%d", f->depth);
    SET("act", "%s", pt_phasor_act_name(f->act));
    SET("eps", "%.9g", (double)f->eps);
    SET("modrelu_b", "%.9g", (double)f->modrelu_b);
    SET("levels", "%d", f->levels);
    SET("seed", "%" PRIu64, f->seed);
#undef SET
    return st;
}

static pt_status read_config(const pt_ckpt *ck, pt_phasor_config *c)
{
    double d;
    pt_status st;
    *c = pt_phasor_config_default();
#define NUM(key, field, type, lo, hi) \
    do { if ((st = pt_ckpt_num(ck, key, lo, hi, &d))) return st; c->field = (type)d; } while (0)
    NUM("n_in", n_in, int, 1, 1e6);
    NUM("n_classes", n_out, int, 2, 256);
    NUM("hidden", hidden, int, 1, 100000);
    NUM("depth", depth, int, 1, PT_PHASOR_MAX_DEPTH);
    NUM("eps", eps, float, 1e-30, 1e30);
    NUM("modrelu_b", modrelu_b, float, -1e30, 1e30);
    if (pt_ckpt_meta(ck, "levels")) NUM("levels", levels, int, 2, 65536); /* absent before quant existed */
#undef NUM
    if ((st = pt_ckpt_u64(ck, "seed", &c->seed))) return st;
    static const char *const acts[] = {"unit", "cardioid", "modrelu", "quant"};
    int a = 0;
    if ((st = pt_ckpt_enum(ck, "act", acts, 4, &a))) return st;
    c->act = (pt_phasor_act)a;
    if ((st = pt_phasor_config_check(c))) return pt_fail(PT_EFORMAT, "%s: metadata: %s", pt_ckpt_path(ck), pt_errmsg());
    return PT_OK;
}

/* Every tensor the configuration implies, dtype and shape only, before the
 * network is allocated: no allocation is sized by metadata the file does not
 * back. */
static pt_status check_tensors(const pt_ckpt *ck, const pt_phasor_config *c)
{
    pt_status st = PT_OK;
    for (int l = 0; l <= c->depth && !st; l++) {
        size_t sh[2], hb[1] = {(size_t)c->hidden};
        char name[PT_ST_MAXNAME];
        layer_shape(c, l, &sh[0], &sh[1]);
        for (int p = 0; p < 2 && !st; p++) {
            part_name(name, sizeof name, l, c->depth, p);
            st = pt_ckpt_expect(ck, name, PT_ST_F32, 2, sh);
        }
        snprintf(name, sizeof name, "layer%d.bias", l);
        if (!st && l < c->depth && c->act == PT_ACT_MODRELU) st = pt_ckpt_expect(ck, name, PT_ST_F32, 1, hb);
    }
    return st;
}

pt_status pt_phasor_from_ckpt(pt_ckpt *ck, pt_phasor **out)
{
    *out = NULL;
    if (strcmp(pt_ckpt_kind(ck), "phasor"))
        return pt_fail(PT_EFORMAT, "%s: holds a '%s' model, not a phasor network", pt_ckpt_path(ck), pt_ckpt_kind(ck));
    pt_phasor_config c;
    pt_status st = read_config(ck, &c);
    pt_phasor *m = NULL;
    if (st || (st = check_tensors(ck, &c)) || (st = pt_phasor_create(&c, &m))) return st;
    size_t wide = (size_t)(c.n_in > c.hidden ? c.n_in : c.hidden), big = wide * (size_t)c.hidden;
    if ((size_t)c.n_out * (size_t)c.hidden > big) big = (size_t)c.n_out * (size_t)c.hidden;
    float *part = pt_calloc(big, sizeof *part), *theta = pt_phasor_params(m);
    if (!part) st = pt_fail(PT_ENOMEM, "out of memory");
    for (int l = 0; l <= c.depth && !st; l++) {
        size_t nout, in, sh[2];
        layer_shape(&c, l, &nout, &in);
        sh[0] = nout, sh[1] = in;
        float *W = theta + (pt_phasor_weights(m, l) - theta); /* the view, writable through the parameters */
        for (int p = 0; p < 2 && !st; p++) {
            char name[PT_ST_MAXNAME];
            part_name(name, sizeof name, l, c.depth, p);
            if (!(st = pt_ckpt_get(ck, name, PT_ST_F32, 2, sh, part)))
                for (size_t i = 0; i < nout * in; i++) W[2 * i + (size_t)p] = part[i];
        }
        if (!st && l < c.depth && c.act == PT_ACT_MODRELU) {
            char name[PT_ST_MAXNAME];
            size_t hb[1] = {(size_t)c.hidden};
            snprintf(name, sizeof name, "layer%d.bias", l);
            st = pt_ckpt_get(ck, name, PT_ST_F32, 1, hb, W + 2 * nout * in);
        }
    }
    free(part);
    if (st) {
        pt_phasor_destroy(m);
        return st;
    }
    *out = m;
    return PT_OK;
}

static pt_status put(const void *m, pt_ckpt *c) { return pt_phasor_to_ckpt(m, c); }
static pt_status get(pt_ckpt *c, void *out) { return pt_phasor_from_ckpt(c, out); }

pt_status pt_phasor_save(const pt_phasor *m, const char *path) { return pt_ckpt_save_one("phasor", m, put, path); }

pt_status pt_phasor_load(const char *path, pt_phasor **out)
{
    *out = NULL;
    return pt_ckpt_load_one(path, get, out);
}
