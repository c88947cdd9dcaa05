/* The echo-state network's part of a checkpoint (docs/reservoir.md), model
 * kind "esn": the configuration as metadata (doubles printed with %.17g, so
 * they read back to the same bits), W as CSR (esn.w_row, esn.w_col I32;
 * esn.w_val F64), W_in, b, W_out and the state as F64 tensors, so that a
 * loaded model continues with the same bits. Every tensor is checked against
 * the metadata before anything is allocated, and W's structure before use. */
#include <inttypes.h>
#include <string.h>
#include "io/ckpt.h"
#include "reservoir/esn_internal.h"

pt_status pt_esn_to_ckpt(const pt_esn *m, pt_ckpt *ck)
{
    const pt_esn_config *c = &m->c;
    if (strcmp(pt_ckpt_kind(ck), "esn"))
        return pt_fail(PT_EINVAL, "checkpoint: an echo-state network cannot go into a '%s' checkpoint", pt_ckpt_kind(ck));
    size_t N = m->N, sh_row[1] = {N + 1}, sh_nnz[1] = {m->nnz}, sh_in[2] = {N, m->D}, sh_n[1] = {N},
           sh_out[2] = {N, m->M};
    pt_status st = PT_OK;
#define PUT(name, dt, nd, sh, p) do { if (!st) st = pt_ckpt_put(ck, name, dt, nd, sh, p); } while (0)
    PUT("esn.w_row", PT_ST_I32, 1, sh_row, m->row);
    PUT("esn.w_col", PT_ST_I32, 1, sh_nnz, m->col);
    PUT("esn.w_val", PT_ST_F64, 1, sh_nnz, m->val);
    PUT("esn.w_in", PT_ST_F64, 2, sh_in, m->win);
    PUT("esn.bias", PT_ST_F64, 1, sh_n, m->bias);
    PUT("esn.w_out", PT_ST_F64, 2, sh_out, m->wout);
    PUT("esn.state", PT_ST_F64, 1, sh_n, m->x);
#undef PUT
#define SET(key, ...) do { if (!st) st = pt_ckpt_set(ck, key, __VA_ARGS__); } while (0)
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
#define NUM(key, field, type, lo, hi) \
    do { if ((st = pt_ckpt_num(ck, key, lo, hi, &d))) return st; c->field = (type)d; } while (0)
    NUM("units", units, int, 1, PT_ESN_MAX_UNITS);
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
    size_t N = (size_t)c.units;
    const pt_st_tensor *tv = pt_ckpt_find(ck, "esn.w_val");
    if (!tv || tv->ndim != 1) return pt_fail(PT_EFORMAT, "%s: lacks the tensor 'esn.w_val' (nnz) F64", path);
    size_t nnz = tv->shape[0];
    if (nnz > N * N || nnz > INT32_MAX)
        return pt_fail(PT_EFORMAT, "%s: esn.w_val has %zu entries, more than %zu units allow", path, nnz, N);
    size_t sh_row[1] = {N + 1}, sh_nnz[1] = {nnz}, sh_in[2] = {N, (size_t)c.inputs}, sh_n[1] = {N},
           sh_out[2] = {N, (size_t)c.outputs};
    if ((st = pt_ckpt_expect(ck, "esn.w_row", PT_ST_I32, 1, sh_row)) ||
        (st = pt_ckpt_expect(ck, "esn.w_col", PT_ST_I32, 1, sh_nnz)) ||
        (st = pt_ckpt_expect(ck, "esn.w_val", PT_ST_F64, 1, sh_nnz)) ||
        (st = pt_ckpt_expect(ck, "esn.w_in", PT_ST_F64, 2, sh_in)) ||
        (st = pt_ckpt_expect(ck, "esn.bias", PT_ST_F64, 1, sh_n)) ||
        (st = pt_ckpt_expect(ck, "esn.w_out", PT_ST_F64, 2, sh_out)) ||
        (st = pt_ckpt_expect(ck, "esn.state", PT_ST_F64, 1, sh_n)))
        return st;
    pt_esn *m = NULL;
    if ((st = pt_esn_alloc(&c, nnz, &m))) return st;
    if (!(st = pt_ckpt_get(ck, "esn.w_row", PT_ST_I32, 1, sh_row, m->row)) &&
        !(st = pt_ckpt_get(ck, "esn.w_col", PT_ST_I32, 1, sh_nnz, nnz ? m->col : NULL)) &&
        !(st = pt_ckpt_get(ck, "esn.w_val", PT_ST_F64, 1, sh_nnz, nnz ? m->val : NULL)) &&
        !(st = pt_ckpt_get(ck, "esn.w_in", PT_ST_F64, 2, sh_in, m->win)) &&
        !(st = pt_ckpt_get(ck, "esn.bias", PT_ST_F64, 1, sh_n, m->bias)) &&
        !(st = pt_ckpt_get(ck, "esn.w_out", PT_ST_F64, 2, sh_out, m->wout)))
        st = pt_ckpt_get(ck, "esn.state", PT_ST_F64, 1, sh_n, m->x);
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
