/* The echo-state network's part of a checkpoint (docs/reservoir.md), model
 * kind "esn": the configuration as metadata (doubles printed with %.17g, so
 * they read back to the same bits), W as CSR (esn.w_row, esn.w_col I32;
 * esn.w_val F64), W_in, b, W_out and the state as F64 tensors, so that a
 * loaded model continues with the same bits. The phasor unit's complex
 * values (w_val, w_in, bias, state) carry a last axis of 2 (Re, Im). Every
 * tensor is checked against the metadata before anything is allocated, and
 * W's structure before use. */
#include <inttypes.h>
#include <string.h>
#include "io/ckpt.h"
#include "reservoir/esn_internal.h"

/* The tensors' shapes: a complex value (cw 2) adds a last axis of 2. */
typedef struct shape {
    int nd;
    size_t d[3];
} shape;
typedef struct shapes {
    shape row, col, val, in, n, out;
} shapes;

static shape shape_of(size_t cw, int nd, size_t a, size_t b)
{
    shape s = {nd, {a, b, 0}};
    if (cw == 2) s.d[s.nd++] = 2;
    return s;
}

static shapes shapes_of(size_t N, size_t D, size_t M, size_t nnz, size_t cw)
{
    return (shapes){
        .row = shape_of(1, 1, N + 1, 0),
        .col = shape_of(1, 1, nnz, 0),
        .val = shape_of(cw, 1, nnz, 0),
        .in = shape_of(cw, 2, N, D),
        .n = shape_of(cw, 1, N, 0),
        .out = shape_of(1, 2, N * cw, M),
    };
}

pt_status pt_esn_to_ckpt(const pt_esn *m, pt_ckpt *ck)
{
    const pt_esn_config *c = &m->c;
    if (strcmp(pt_ckpt_kind(ck), "esn"))
        return pt_fail(PT_EINVAL, "checkpoint: an echo-state network cannot go into a '%s' checkpoint", pt_ckpt_kind(ck));
    shapes s = shapes_of(m->N, m->D, m->M, m->nnz, m->cw);
    pt_status st = PT_OK;
#define PUT(name, dt, sh, p) do { if (!st) st = pt_ckpt_put(ck, name, dt, (sh).nd, (sh).d, p); } while (0)
    PUT("esn.w_row", PT_ST_I32, s.row, m->row);
    PUT("esn.w_col", PT_ST_I32, s.col, m->col);
    PUT("esn.w_val", PT_ST_F64, s.val, m->val);
    PUT("esn.w_in", PT_ST_F64, s.in, m->win);
    PUT("esn.bias", PT_ST_F64, s.n, m->bias);
    PUT("esn.w_out", PT_ST_F64, s.out, m->wout);
    PUT("esn.state", PT_ST_F64, s.n, m->x);
#undef PUT
#define SET(key, ...) do { if (!st) st = pt_ckpt_set(ck, key, __VA_ARGS__); } while (0)
    SET("unit", "%s", pt_esn_unit_name(c->unit));
    SET("units", "%d", c->units);
    SET("inputs", "%d", c->inputs);
    SET("outputs", "%d", c->outputs);
    SET("spectral_radius", "%.17g", c->spectral_radius);
    SET("leak", "%.17g", c->leak);
    SET("input_scaling", "%.17g", c->input_scaling);
    SET("bias_scaling", "%.17g", c->bias_scaling);
    SET("connectivity", "%.17g", c->connectivity);
    SET("input_connectivity", "%.17g", c->input_connectivity);
    SET("ridge", "%.17g", c->ridge);
    SET("warmup", "%d", c->warmup);
    SET("readout", "%s", pt_esn_readout_name(c->readout));
    SET("rls_delta", "%.17g", c->rls_delta);
    SET("rls_forget", "%.17g", c->rls_forget);
    SET("seed", "%" PRIu64, c->seed);
    SET("raw_radius", "%.17g", m->raw_radius);
    SET("steps", "%" PRIu64, m->steps);
    SET("fitted", "%d", m->fitted);
#undef SET
    return st;
}

static pt_status read_config(const pt_ckpt *ck, pt_esn_config *c)
{
    double d;
    pt_status st;
    *c = pt_esn_config_default();
    int u = 0; /* files from before the phasor unit have no "unit": tanh */
    if (pt_ckpt_meta(ck, "unit") && (st = pt_ckpt_enum(ck, "unit", (const char *const[]){"tanh", "phasor"}, 2, &u)))
        return st;
    c->unit = (pt_esn_unit)u;
#define NUM(key, field, type, lo, hi) \
    do { if ((st = pt_ckpt_num(ck, key, lo, hi, &d))) return st; c->field = (type)d; } while (0)
    NUM("units", units, int, 1, u == PT_ESN_PHASOR ? PT_ESN_MAX_PHASOR_UNITS : PT_ESN_MAX_UNITS);
    NUM("inputs", inputs, int, 1, PT_ESN_MAX_IO);
    NUM("outputs", outputs, int, 1, PT_ESN_MAX_IO);
    NUM("spectral_radius", spectral_radius, double, 0, 1e300);
    NUM("leak", leak, double, 0, 1);
    NUM("input_scaling", input_scaling, double, 0, 1e300);
    NUM("bias_scaling", bias_scaling, double, 0, 1e300);
    NUM("connectivity", connectivity, double, 0, 1);
    NUM("input_connectivity", input_connectivity, double, 0, 1);
    NUM("ridge", ridge, double, 0, 1e300);
    NUM("warmup", warmup, int, 0, 2e9);
    NUM("rls_delta", rls_delta, double, 0, 1e300);
    NUM("rls_forget", rls_forget, double, 0, 1);
#undef NUM
    int r = 0;
    if ((st = pt_ckpt_enum(ck, "readout", (const char *const[]){"ridge", "rls"}, 2, &r))) return st;
    c->readout = (pt_esn_readout_fit)r;
    if ((st = pt_ckpt_u64(ck, "seed", &c->seed))) return st;
    if (pt_esn_config_check(c)) return pt_fail(PT_EFORMAT, "%s: metadata: %s", pt_ckpt_path(ck), pt_errmsg());
    return PT_OK;
}

pt_status pt_esn_from_ckpt(pt_ckpt *ck, pt_esn **out)
{
    *out = NULL;
    const char *path = pt_ckpt_path(ck);
    if (strcmp(pt_ckpt_kind(ck), "esn"))
        return pt_fail(PT_EFORMAT, "%s: holds a '%s' model, not an echo-state network", path, pt_ckpt_kind(ck));
    pt_esn_config c;
    pt_status st = read_config(ck, &c);
    if (st) return st;
    double raw = 0.0, fitted = 0.0;
    uint64_t steps = 0;
    if ((st = pt_ckpt_num(ck, "raw_radius", 0, 1e300, &raw)) || (st = pt_ckpt_u64(ck, "steps", &steps)) ||
        (st = pt_ckpt_num(ck, "fitted", 0, 1, &fitted)))
        return st;
    size_t N = (size_t)c.units, cw = c.unit == PT_ESN_PHASOR ? 2 : 1;
    const pt_st_tensor *tv = pt_ckpt_find(ck, "esn.w_val");
    if (!tv || tv->ndim != (int)cw)
        return pt_fail(PT_EFORMAT, "%s: lacks the tensor 'esn.w_val' (nnz%s) F64", path, cw == 2 ? ", 2" : "");
    size_t nnz = tv->shape[0];
    if (nnz > N * N || nnz > INT32_MAX)
        return pt_fail(PT_EFORMAT, "%s: esn.w_val has %zu entries, more than %zu units allow", path, nnz, N);
    shapes s = shapes_of(N, (size_t)c.inputs, (size_t)c.outputs, nnz, cw);
#define EXPECT(name, dt, sh) (st = pt_ckpt_expect(ck, name, dt, (sh).nd, (sh).d))
    if (EXPECT("esn.w_row", PT_ST_I32, s.row) || EXPECT("esn.w_col", PT_ST_I32, s.col) ||
        EXPECT("esn.w_val", PT_ST_F64, s.val) || EXPECT("esn.w_in", PT_ST_F64, s.in) ||
        EXPECT("esn.bias", PT_ST_F64, s.n) || EXPECT("esn.w_out", PT_ST_F64, s.out) ||
        EXPECT("esn.state", PT_ST_F64, s.n))
        return st;
#undef EXPECT
    pt_esn *m = NULL;
    if ((st = pt_esn_alloc(&c, nnz, &m))) return st;
#define GET(name, dt, sh, p) (st = pt_ckpt_get(ck, name, dt, (sh).nd, (sh).d, p))
    if (!GET("esn.w_row", PT_ST_I32, s.row, m->row) && !GET("esn.w_col", PT_ST_I32, s.col, nnz ? m->col : NULL) &&
        !GET("esn.w_val", PT_ST_F64, s.val, nnz ? m->val : NULL) && !GET("esn.w_in", PT_ST_F64, s.in, m->win) &&
        !GET("esn.bias", PT_ST_F64, s.n, m->bias) && !GET("esn.w_out", PT_ST_F64, s.out, m->wout))
        GET("esn.state", PT_ST_F64, s.n, m->x);
#undef GET
    /* CSR: rows start at 0, never go back, end at nnz; columns in range */
    if (!st && (m->row[0] != 0 || (size_t)m->row[N] != nnz))
        st = pt_fail(PT_EFORMAT, "%s: esn.w_row does not run from 0 to %zu", path, nnz);
    for (size_t i = 0; !st && i < N; i++)
        if (m->row[i + 1] < m->row[i]) st = pt_fail(PT_EFORMAT, "%s: esn.w_row decreases at row %zu", path, i);
    for (size_t k = 0; !st && k < nnz; k++)
        if (m->col[k] < 0 || (size_t)m->col[k] >= N)
            st = pt_fail(PT_EFORMAT, "%s: esn.w_col[%zu] = %d is not a unit", path, k, (int)m->col[k]);
    if (st) {
        pt_esn_destroy(m);
        return st;
    }
    m->raw_radius = raw, m->steps = steps, m->fitted = (int)fitted;
    *out = m;
    return PT_OK;
}

static pt_status put(const void *m, pt_ckpt *c) { return pt_esn_to_ckpt(m, c); }
static pt_status get(pt_ckpt *c, void *out) { return pt_esn_from_ckpt(c, out); }

pt_status pt_esn_save(const pt_esn *m, const char *path) { return pt_ckpt_save_one("esn", m, put, path); }

pt_status pt_esn_load(const char *path, pt_esn **out)
{
    *out = NULL;
    return pt_ckpt_load_one(path, get, out);
}
