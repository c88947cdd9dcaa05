/* The field model's part of a checkpoint (docs/checkpoint-format.md), model
 * kind "field": the parameters as F32 tensors (complex ones with a last axis
 * of 2: re, im; the 3x3 offsets flattened, d = 3 dy + dx) and the configuration as metadata, every number written so
 * that it reads back to the same bits. With the training state, Adam's
 * moments (train.adam_m, train.adam_v), its step count, the RNG and the
 * epoch count, so that training resumes exactly. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "field/field_internal.h"
#include "io/ckpt.h"

typedef struct tensor {
    const char *name;
    int ndim;
    size_t shape[4];
} tensor;

/* the tensors of the parameters, in the order of theta; returns their count */
static int tensors(const pt_field_config *c, tensor *t)
{
    size_t C = (size_t)c->channels, K = (size_t)c->n_classes, nf = C * (size_t)c->pool * (size_t)c->pool;
    int n = 0;
    t[n++] = (tensor){"kernel", 4, {9, C, C, 2}};
    t[n++] = (tensor){"enc", 3, {9, C, 2, 0}};
    t[n++] = (tensor){"enc_bias", 2, {C, 2, 0, 0}};
    if (c->act == PT_FIELD_MODRELU) t[n++] = (tensor){"act_bias", 1, {C, 0, 0, 0}};
    t[n++] = (tensor){"readout", 2, {K, nf, 0, 0}};
    t[n++] = (tensor){"readout_bias", 1, {K, 0, 0, 0}};
    return n;
}

static size_t numel(const tensor *t)
{
    size_t k = 1;
    for (int i = 0; i < t->ndim; i++) k *= t->shape[i];
    return k;
}

static void grad_name(const pt_field_config *c, char *buf, size_t len)
{
    if (c->grad == PT_FIELD_UNROLL) snprintf(buf, len, "unroll:%d", c->unroll);
    else snprintf(buf, len, "%s", c->grad == PT_FIELD_JFB ? "jfb" : "implicit");
}

pt_status pt_field_to_ckpt(const pt_field *m, int train_state, pt_ckpt *ck)
{
    const pt_field_config *c = &m->c;
    if (strcmp(pt_ckpt_kind(ck), "field"))
        return pt_fail(PT_EINVAL, "checkpoint: a field model cannot go into a '%s' checkpoint", pt_ckpt_kind(ck));
    tensor t[8];
    int nt = tensors(c, t);
    pt_status st = PT_OK;
    const float *p = m->theta;
    for (int i = 0; i < nt && !st; i++) {
        st = pt_ckpt_put(ck, t[i].name, PT_ST_F32, t[i].ndim, t[i].shape, p);
        p += numel(&t[i]);
    }
    char g[32];
    grad_name(c, g, sizeof g);
#define SET(key, ...) do { if (!st) st = pt_ckpt_set(ck, key, __VA_ARGS__); } while (0)
    SET("height", "%d", c->height);
    SET("width", "%d", c->width);
    SET("n_classes", "%d", c->n_classes);
    SET("channels", "%d", c->channels);
    SET("act", "%s", pt_field_act_name(c->act));
    SET("act_bias", "%.9g", (double)c->act_bias);
    SET("gain", "%.9g", (double)c->gain);
    SET("alpha", "%.9g", (double)c->alpha);
    SET("pool", "%d", c->pool);
    SET("solver", "%s", pt_field_solver_name(c->solver));
    SET("max_iter", "%d", c->max_iter);
    SET("tol", "%.17g", c->tol);
    SET("fixed_steps", "%d", c->fixed_steps);
    SET("anderson_m", "%d", c->anderson_m);
    SET("anderson_lambda", "%.17g", c->anderson_lambda);
    SET("mg_levels", "%d", c->mg_levels);
    SET("grad", "%s", g);
    SET("lr", "%.9g", (double)c->lr);
    SET("batch", "%d", c->batch);
    SET("readout", "%s", pt_field_readout_name(c->readout));
    SET("free_bias", "%d", c->free_bias);
    SET("ridge", "%.17g", c->ridge);
    SET("seed", "%" PRIu64, c->seed);
    SET("epochs", "%d", m->epochs);
    if (train_state) {
        size_t sh[1] = {m->np};
        if (!st) st = pt_ckpt_put(ck, "train.adam_m", PT_ST_F32, 1, sh, pt_adam_moment_const(m->adam, 1));
        if (!st) st = pt_ckpt_put(ck, "train.adam_v", PT_ST_F32, 1, sh, pt_adam_moment_const(m->adam, 2));
        SET("adam_steps", "%ld", pt_adam_steps(m->adam));
        SET("rng", "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, m->rng.s[0], m->rng.s[1], m->rng.s[2],
            m->rng.s[3]);
    }
#undef SET
    return st;
}

static pt_status read_config(const pt_ckpt *ck, pt_field_config *c)
{
    double d;
    pt_status st;
    *c = pt_field_config_default();
#define NUM(key, field, type, lo, hi) \
    do { if ((st = pt_ckpt_num(ck, key, lo, hi, &d))) return st; c->field = (type)d; } while (0)
    NUM("height", height, int, 3, 512);
    NUM("width", width, int, 3, 512);
    NUM("n_classes", n_classes, int, 2, 256);
    NUM("channels", channels, int, 1, 256);
    NUM("act_bias", act_bias, float, -1e30, 0);
    NUM("gain", gain, float, 1e-30, 4);
    NUM("alpha", alpha, float, 1e-30, 1);
    NUM("pool", pool, int, 1, 512);
    NUM("max_iter", max_iter, int, 1, 100000);
    NUM("tol", tol, double, 1e-300, 1);
    NUM("fixed_steps", fixed_steps, int, 0, 1);
    NUM("anderson_m", anderson_m, int, 1, 64);
    NUM("anderson_lambda", anderson_lambda, double, 0, 1e30);
    if (pt_ckpt_meta(ck, "mg_levels")) NUM("mg_levels", mg_levels, int, 1, PT_FIELD_LEVELS); /* optional: default 3 */
    NUM("lr", lr, float, 1e-30, 1e30);
    NUM("batch", batch, int, 1, 4096);
#undef NUM
    if ((st = pt_ckpt_u64(ck, "seed", &c->seed))) return st;
    /* optional (files of the first version trained the readout by Adam) */
    c->readout = PT_FIELD_ADAM;
    if (pt_ckpt_meta(ck, "readout")) {
        static const char *const fits[] = {"ridge", "adam"};
        int f = 0;
        if ((st = pt_ckpt_enum(ck, "readout", fits, 2, &f))) return st;
        c->readout = (pt_field_readout_fit)f;
    }
    if (pt_ckpt_meta(ck, "ridge") && (st = pt_ckpt_num(ck, "ridge", 0, 1e30, &d))) return st;
    if (pt_ckpt_meta(ck, "ridge")) c->ridge = d;
    if (pt_ckpt_meta(ck, "free_bias") && (st = pt_ckpt_num(ck, "free_bias", 0, 1, &d))) return st;
    if (pt_ckpt_meta(ck, "free_bias")) c->free_bias = (int)d;
    static const char *const acts[] = {"modrelu", "cardioid"}, *const solvers[] = {"naive", "anderson", "multigrid"};
    int a = 0;
    if ((st = pt_ckpt_enum(ck, "act", acts, 2, &a))) return st;
    c->act = (pt_field_act)a;
    if ((st = pt_ckpt_enum(ck, "solver", solvers, 3, &a))) return st;
    c->solver = (pt_field_solver)a;
    const char *g = NULL;
    if ((st = pt_ckpt_str(ck, "grad", &g))) return st;
    if (pt_field_grad_parse(g, c) || pt_field_config_check(c))
        return pt_fail(PT_EFORMAT, "%s: metadata: %s", pt_ckpt_path(ck), pt_errmsg());
    return PT_OK;
}

/* "rng": 64 hex digits, four words */
static pt_status read_rng(const pt_ckpt *ck, pt_rng *r)
{
    const char *s = NULL;
    pt_status st = pt_ckpt_str(ck, "rng", &s);
    if (st) return st;
    if (strlen(s) != 64) return pt_fail(PT_EFORMAT, "%s: metadata 'rng' is not 64 hex digits", pt_ckpt_path(ck));
    for (int i = 0; i < 4; i++) {
        char w[17], *end = NULL;
        memcpy(w, s + 16 * i, 16);
        w[16] = '\0';
        for (int k = 0; k < 16; k++)
            if (!strchr("0123456789abcdefABCDEF", w[k]))
                return pt_fail(PT_EFORMAT, "%s: metadata 'rng' is not 64 hex digits", pt_ckpt_path(ck));
        r->s[i] = (uint64_t)strtoull(w, &end, 16);
    }
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
        return pt_fail(PT_EFORMAT, "%s: metadata 'rng' is the all-zero state", pt_ckpt_path(ck));
    return PT_OK;
}

pt_status pt_field_from_ckpt(pt_ckpt *ck, pt_field **out)
{
    *out = NULL;
    if (strcmp(pt_ckpt_kind(ck), "field"))
        return pt_fail(PT_EFORMAT, "%s: holds a '%s' model, not a field model", pt_ckpt_path(ck), pt_ckpt_kind(ck));
    pt_field_config c;
    pt_status st = read_config(ck, &c);
    if (st) return st;
    double ep = 0.0;
    if ((st = pt_ckpt_num(ck, "epochs", 0, 1e9, &ep))) return st;
    tensor t[8];
    int nt = tensors(&c, t);
    size_t np = 0;
    for (int i = 0; i < nt; i++) {
        if ((st = pt_ckpt_expect(ck, t[i].name, PT_ST_F32, t[i].ndim, t[i].shape))) return st;
        np += numel(&t[i]);
    }
    int train_state = pt_ckpt_find(ck, "train.adam_m") != NULL;
    size_t sh[1] = {np};
    if (train_state && ((st = pt_ckpt_expect(ck, "train.adam_m", PT_ST_F32, 1, sh)) ||
                        (st = pt_ckpt_expect(ck, "train.adam_v", PT_ST_F32, 1, sh))))
        return st;
    pt_field *m = NULL;
    if ((st = pt_field_create(&c, &m))) return st;
    float *p = m->theta;
    for (int i = 0; i < nt && !st; i++) {
        st = pt_ckpt_get(ck, t[i].name, PT_ST_F32, t[i].ndim, t[i].shape, p);
        p += numel(&t[i]);
    }
    for (size_t i = 0; !st && m->beta && i < (size_t)c.channels; i++)
        if (!(m->beta[i] <= 0.0f) && !c.free_bias)
            st = pt_fail(PT_EFORMAT, "%s: act_bias[%zu] = %g is positive (modReLU's bias is kept <= 0 unless free_bias)",
                         pt_ckpt_path(ck), i, (double)m->beta[i]);
    m->epochs = (int)ep;
    if (!st && train_state) {
        double steps = 0.0;
        if (!(st = pt_ckpt_get(ck, "train.adam_m", PT_ST_F32, 1, sh, pt_adam_moment(m->adam, 1))) &&
            !(st = pt_ckpt_get(ck, "train.adam_v", PT_ST_F32, 1, sh, pt_adam_moment(m->adam, 2))) &&
            !(st = pt_ckpt_num(ck, "adam_steps", 0, 1e15, &steps)) && !(st = read_rng(ck, &m->rng)))
            pt_adam_set_steps(m->adam, (long)steps);
        const float *v = pt_adam_moment_const(m->adam, 2);
        for (size_t i = 0; !st && i < np; i++)
            if (v[i] < 0.0f) st = pt_fail(PT_EFORMAT, "%s: train.adam_v has a negative entry", pt_ckpt_path(ck));
    }
    if (!st && (st = pt_field_refresh(m)))
        st = pt_fail(PT_EFORMAT, "%s: the kernel is unusable: %s", pt_ckpt_path(ck), pt_errmsg());
    if (st) {
        pt_field_destroy(m);
        return st;
    }
    *out = m;
    return PT_OK;
}

typedef struct saver {
    const pt_field *m;
    int train_state;
} saver;

static pt_status put(const void *s, pt_ckpt *c)
{
    const saver *v = s;
    return pt_field_to_ckpt(v->m, v->train_state, c);
}
static pt_status get(pt_ckpt *c, void *out) { return pt_field_from_ckpt(c, out); }

pt_status pt_field_save(const pt_field *m, int train_state, const char *path)
{
    saver s = {m, train_state};
    return pt_ckpt_save_one("field", &s, put, path);
}

pt_status pt_field_load(const char *path, pt_field **out)
{
    *out = NULL;
    return pt_ckpt_load_one(path, get, out);
}
