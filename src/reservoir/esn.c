/* The echo-state network (reservoir.h, docs/reservoir.md): the seeded
 * construction of W (CSR) and W_in, the spectral radius by dgeev, the leaky
 * tanh update, ridge and RLS readouts, teacher-forced fitting and closed-loop
 * generation; the phasor unit's draw (a random unitary) and complex update
 * share everything else. All arithmetic in double, in a fixed order: same
 * seed and data, same bits. */
#include <math.h>
#include <string.h>
#include "linalg/linalg.h"
#include "reservoir/esn_internal.h"

static const char *const readout_names[] = {"ridge", "rls"};
PT_ENUM_FUNCS(pt_esn_readout_fit, pt_esn_readout_name, pt_esn_readout_parse, "esn.readout", readout_names)
static const char *const unit_names[] = {"tanh", "phasor"};
PT_ENUM_FUNCS(pt_esn_unit, pt_esn_unit_name, pt_esn_unit_parse, "esn.unit", unit_names)

pt_esn_config pt_esn_config_default(void)
{
    return (pt_esn_config){
        .unit = PT_ESN_TANH,
        .units = 100,
        .inputs = 1,
        .outputs = 1,
        .spectral_radius = 1.25,
        .leak = 0.3,
        .input_scaling = 1.0,
        .bias_scaling = 0.0,
        .connectivity = 0.1,
        .input_connectivity = 0.1,
        .ridge = 1e-7,
        .warmup = 100,
        .readout = PT_ESN_RIDGE,
        .rls_delta = 1e-6,
        .rls_forget = 1.0,
        .seed = 1,
    };
}

pt_status pt_esn_config_check(const pt_esn_config *c)
{
    if ((unsigned)c->unit > PT_ESN_PHASOR) return pt_fail(PT_EINVAL, "esn.unit = %d: expected tanh or phasor", (int)c->unit);
    int most = c->unit == PT_ESN_PHASOR ? PT_ESN_MAX_PHASOR_UNITS : PT_ESN_MAX_UNITS;
    if (c->units < 1 || c->units > most)
        return pt_fail(PT_EINVAL, "esn.units = %d: expected 1..%d for the %s unit", c->units, most,
                       pt_esn_unit_name(c->unit));
    if (c->inputs < 1 || c->inputs > PT_ESN_MAX_IO)
        return pt_fail(PT_EINVAL, "esn.inputs = %d: expected 1..%d", c->inputs, PT_ESN_MAX_IO);
    if (c->outputs < 1 || c->outputs > PT_ESN_MAX_IO)
        return pt_fail(PT_EINVAL, "esn.outputs = %d: expected 1..%d", c->outputs, PT_ESN_MAX_IO);
    if (!(c->spectral_radius > 0.0) || !isfinite(c->spectral_radius))
        return pt_fail(PT_EINVAL, "esn.spectral_radius = %g: expected a finite number > 0", c->spectral_radius);
    if (!(c->leak > 0.0 && c->leak <= 1.0)) return pt_fail(PT_EINVAL, "esn.leak = %g: expected (0, 1]", c->leak);
    if (!(c->input_scaling > 0.0) || !isfinite(c->input_scaling))
        return pt_fail(PT_EINVAL, "esn.input_scaling = %g: expected a finite number > 0", c->input_scaling);
    if (!(c->bias_scaling >= 0.0) || !isfinite(c->bias_scaling))
        return pt_fail(PT_EINVAL, "esn.bias_scaling = %g: expected a finite number >= 0", c->bias_scaling);
    if (!(c->connectivity > 0.0 && c->connectivity <= 1.0))
        return pt_fail(PT_EINVAL, "esn.connectivity = %g: expected (0, 1]", c->connectivity);
    if (!(c->input_connectivity > 0.0 && c->input_connectivity <= 1.0))
        return pt_fail(PT_EINVAL, "esn.input_connectivity = %g: expected (0, 1]", c->input_connectivity);
    if (!(c->ridge >= 0.0) || !isfinite(c->ridge))
        return pt_fail(PT_EINVAL, "esn.ridge = %g: expected a finite number >= 0", c->ridge);
    if (c->warmup < 0) return pt_fail(PT_EINVAL, "esn.warmup = %d: expected >= 0", c->warmup);
    if ((unsigned)c->readout > PT_ESN_RLS) return pt_fail(PT_EINVAL, "esn.readout = %d: expected ridge or rls", (int)c->readout);
    if (!(c->rls_delta > 0.0) || !isfinite(c->rls_delta))
        return pt_fail(PT_EINVAL, "esn.rls_delta = %g: expected a finite number > 0", c->rls_delta);
    if (!(c->rls_forget > 0.0 && c->rls_forget <= 1.0))
        return pt_fail(PT_EINVAL, "esn.rls_forget = %g: expected (0, 1]", c->rls_forget);
    return PT_OK;
}

void pt_esn_destroy(pt_esn *m)
{
    if (!m) return;
    free(m->row), free(m->col), free(m->val), free(m->win), free(m->bias), free(m->wout), free(m->x), free(m->pre);
    free(m->u);
    pt_rls_destroy(m->rls);
    free(m);
}

pt_status pt_esn_alloc(const pt_esn_config *c, size_t nnz, pt_esn **out)
{
    *out = NULL;
    pt_status st = pt_esn_config_check(c);
    if (st) return st;
    size_t N = (size_t)c->units, D = (size_t)c->inputs, M = (size_t)c->outputs;
    size_t cw = c->unit == PT_ESN_PHASOR ? 2 : 1, F = N * cw;
    if (nnz > N * N) return pt_fail(PT_EINVAL, "esn: %zu recurrent weights for %zu units", nnz, N);
    pt_esn *m = pt_calloc(1, sizeof *m);
    if (m) {
        m->c = *c, m->N = N, m->D = D, m->M = M, m->nnz = nnz, m->cw = cw, m->F = F;
        m->row = pt_calloc(N + 1, sizeof *m->row);
        m->col = pt_calloc(nnz ? nnz : 1, sizeof *m->col);
        m->val = pt_calloc(nnz ? nnz * cw : 1, sizeof *m->val);
        m->win = pt_calloc(N * D * cw, sizeof *m->win);
        m->bias = pt_calloc(F, sizeof *m->bias);
        m->wout = pt_calloc(F * M, sizeof *m->wout);
        m->x = pt_calloc(F, sizeof *m->x);
        m->pre = pt_calloc(F, sizeof *m->pre);
        m->u = pt_calloc(D > M ? D : M, sizeof *m->u);
    }
    if (!m || !m->row || !m->col || !m->val || !m->win || !m->bias || !m->wout || !m->x || !m->pre || !m->u) {
        pt_esn_destroy(m);
        return pt_fail(PT_ENOMEM, "out of memory for an echo-state network of %zu units", N);
    }
    *out = m;
    return PT_OK;
}

/* v (cw) = +-scale (cw 1) or scale e^{i phi} (cw 2) */
static void draw_value(double *v, size_t cw, double scale, pt_rng *rng)
{
    if (cw == 1) {
        v[0] = (pt_rng_u64(rng) >> 63) ? scale : -scale;
        return;
    }
    double phi = PT_ESN_2PI * (double)pt_rng_uniform(rng);
    v[0] = scale * cos(phi), v[1] = scale * sin(phi);
}

/* W's draws come first (row by row: is (i, j) present, then its value), then
 * W_in's (unit by unit), then the bias: one stream from the seed. */
pt_status pt_esn_create(const pt_esn_config *c, pt_esn **out)
{
    *out = NULL;
    pt_status st = pt_esn_config_check(c);
    if (st) return st;
    if (c->unit == PT_ESN_PHASOR) return pt_esn_create_phasor(c, out);
    size_t N = (size_t)c->units;
    double *A = pt_calloc(N * N, sizeof *A);
    if (!A) return pt_fail(PT_ENOMEM, "out of memory for the %zu x %zu recurrent matrix (esn.units)", N, N);
    pt_rng rng;
    pt_rng_seed(&rng, c->seed);
    size_t nnz = 0;
    for (size_t i = 0; i < N * N; i++)
        if ((double)pt_rng_uniform(&rng) < c->connectivity) {
            A[i] = (double)pt_rng_normal(&rng);
            nnz += A[i] != 0.0;
        }
    double rho = 0.0;
    int info = pt_dgeev_radius(A, N, &rho);
    if (info) {
        free(A);
        return info < 0 ? pt_fail(PT_ENOMEM, "out of memory for the eigenvalues of W (esn.units = %zu)", N)
                        : pt_fail(PT_ENOCONV, "esn: the eigenvalues of W did not converge (dgeev info %d)", info);
    }
    if (!(rho > 0.0) || !isfinite(rho)) {
        free(A);
        return pt_fail(PT_ENOCONV, "esn: W (%zu units, %zu entries) has no non-zero eigenvalue to scale to "
                                   "esn.spectral_radius: raise esn.connectivity or esn.units", N, nnz);
    }
    pt_esn *m = NULL;
    if ((st = pt_esn_alloc(c, nnz, &m))) {
        free(A);
        return st;
    }
    m->raw_radius = rho;
    double scale = c->spectral_radius / rho;
    size_t k = 0;
    for (size_t i = 0; i < N; i++) {
        m->row[i] = (int32_t)k;
        for (size_t j = 0; j < N; j++)
            if (A[i * N + j] != 0.0) m->col[k] = (int32_t)j, m->val[k++] = A[i * N + j] * scale;
    }
    m->row[N] = (int32_t)k;
    free(A);
    pt_esn_draw_inputs(m, &rng);
    *out = m;
    return PT_OK;
}

/* W_in's draws (unit by unit: present?, then its value), then the bias'. A
 * tanh unit's value is +-scale (one bit); a phasor unit's is scale e^{i phi},
 * phi uniform in [0, 2 pi): its input arrives at a random phase. */
void pt_esn_draw_inputs(pt_esn *m, pt_rng *rng)
{
    const pt_esn_config *c = &m->c;
    for (size_t i = 0; i < m->N * m->D; i++)
        if ((double)pt_rng_uniform(rng) < c->input_connectivity) draw_value(m->win + i * m->cw, m->cw, c->input_scaling, rng);
    for (size_t i = 0; c->bias_scaling > 0.0 && i < m->N; i++) draw_value(m->bias + i * m->cw, m->cw, c->bias_scaling, rng);
}

const pt_esn_config *pt_esn_get_config(const pt_esn *m) { return &m->c; }
double pt_esn_raw_radius(const pt_esn *m) { return m->raw_radius; }
size_t pt_esn_nnz(const pt_esn *m) { return m->nnz; }
int pt_esn_fitted(const pt_esn *m) { return m->fitted; }
size_t pt_esn_features(const pt_esn *m) { return m->F; }
uint64_t pt_esn_steps(const pt_esn *m) { return m->steps; }
const double *pt_esn_state(const pt_esn *m) { return m->x; }
const double *pt_esn_readout(const pt_esn *m) { return m->wout; }

void pt_esn_reset(pt_esn *m)
{
    memset(m->x, 0, m->F * sizeof *m->x);
    m->steps = 0;
}

void pt_esn_set_state(pt_esn *m, const double *x, uint64_t steps)
{
    memcpy(m->x, x, m->F * sizeof *m->x);
    m->steps = steps;
}

/* x <- (1 - lr) x + lr tanh(W_in u + b + W x): the pre-activations of every
 * unit from the old state first, then the update */
static void step_tanh(pt_esn *m, const double *restrict u)
{
    const size_t N = m->N, D = m->D;
    const double lr = m->c.leak;
    double *restrict pre = m->pre, *restrict x = m->x;
    for (size_t i = 0; i < N; i++) {
        double s = m->bias[i];
        const double *w = m->win + i * D;
        for (size_t j = 0; j < D; j++) s += w[j] * u[j];
        /* four partial sums, combined in a fixed order: the row's additions
         * are not one chain of dependent adds (4x faster; still the same bits
         * on every run) */
        double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
        int32_t k = m->row[i], e = m->row[i + 1];
        for (; k + 4 <= e; k += 4) {
            a0 += m->val[k] * x[m->col[k]];
            a1 += m->val[k + 1] * x[m->col[k + 1]];
            a2 += m->val[k + 2] * x[m->col[k + 2]];
            a3 += m->val[k + 3] * x[m->col[k + 3]];
        }
        for (; k < e; k++) a0 += m->val[k] * x[m->col[k]];
        pre[i] = s + ((a0 + a1) + (a2 + a3));
    }
    for (size_t i = 0; i < N; i++) x[i] = (1.0 - lr) * x[i] + lr * tanh(pre[i]);
    m->steps++;
}

static void step(pt_esn *m, const double *restrict u)
{
    if (m->cw == 2)
        pt_esn_step_phasor(m, u);
    else
        step_tanh(m, u);
}

/* y (M) = W_out^T x */
static void readout(const pt_esn *m, double *restrict y)
{
    const size_t N = m->F, M = m->M;
    for (size_t o = 0; o < M; o++) y[o] = 0.0;
    for (size_t i = 0; i < N; i++)
        for (size_t o = 0; o < M; o++) y[o] += m->wout[i * M + o] * m->x[i];
}

static pt_status all_finite(const double *v, size_t n, size_t k, const char *what)
{
    for (size_t i = 0; i < n * k; i++)
        if (!isfinite(v[i])) return pt_fail(PT_EINVAL, "esn: %s step %zu, channel %zu is not finite", what, i / k, i % k);
    return PT_OK;
}

pt_status pt_esn_run(pt_esn *m, const double *u, size_t T, double *states)
{
    pt_status st = all_finite(u, T, m->D, "input");
    if (st) return st;
    for (size_t t = 0; t < T; t++) {
        step(m, u + t * m->D);
        if (states) memcpy(states + t * m->F, m->x, m->F * sizeof *m->x);
    }
    return PT_OK;
}

pt_status pt_esn_predict(pt_esn *m, const double *u, size_t T, double *y)
{
    pt_status st = all_finite(u, T, m->D, "input");
    if (st) return st;
    for (size_t t = 0; t < T; t++) {
        step(m, u + t * m->D);
        readout(m, y + t * m->M);
    }
    return PT_OK;
}

#define FIT_BATCH 256

static pt_status fit_ridge(pt_esn *m, const double *u, const double *y, size_t T, pt_progress_fn progress, void *user)
{
    const size_t N = m->F, D = m->D, M = m->M, w = (size_t)m->c.warmup;
    pt_ridge *r = NULL;
    pt_status st = pt_ridge_create(N, 1, M, &r);
    if (st) return st;
    double *X = pt_calloc(FIT_BATCH * N, sizeof *X), *W = pt_calloc(N * M, sizeof *W);
    if (!X || !W) st = pt_fail(PT_ENOMEM, "out of memory for the ridge readout (esn.units = %zu)", N);
    size_t nb = 0, first = 0;
    for (size_t t = 0; t < T && !st; t++) {
        step(m, u + t * D);
        if (t >= w) {
            if (nb == 0) first = t;
            memcpy(X + nb++ * N, m->x, N * sizeof *X);
        }
        if (nb == FIT_BATCH || (t + 1 == T && nb)) {
            st = pt_ridge_add_f64(r, X, y + first * M, nb);
            nb = 0;
        }
        if (progress && ((t + 1) % 1000 == 0 || t + 1 == T)) progress(t + 1, T, user);
    }
    if (!st && (st = pt_ridge_solve(r, NULL, 0, m->c.ridge, W)) == PT_ENOCONV)
        st = pt_fail(PT_ENOCONV, "esn: the ridge readout's system is singular or not finite: raise esn.ridge (%g)",
                     m->c.ridge);
    if (!st) memcpy(m->wout, W, N * M * sizeof *W), m->fitted = 1;
    free(X), free(W);
    pt_ridge_destroy(r);
    return st;
}

static pt_status fit_rls(pt_esn *m, const double *u, const double *y, size_t T, pt_progress_fn progress, void *user)
{
    const size_t N = m->F, D = m->D, M = m->M, w = (size_t)m->c.warmup;
    pt_status st = PT_OK;
    if (!m->rls) {
        pt_rls_config rc = {.delta = m->c.rls_delta, .forget = m->c.rls_forget};
        if ((st = pt_rls_create(&rc, N, M, &m->rls))) return st;
    }
    float *xf = pt_calloc(N + M, sizeof *xf);
    if (!xf) return pt_fail(PT_ENOMEM, "out of memory for the RLS readout");
    float *yf = xf + N;
    for (size_t t = 0; t < T && !st; t++) {
        step(m, u + t * D);
        if (t >= w) {
            for (size_t i = 0; i < N; i++) xf[i] = (float)m->x[i];
            for (size_t o = 0; o < M; o++) yf[o] = (float)y[t * M + o];
            st = pt_rls_update(m->rls, xf, yf);
        }
        if (progress && ((t + 1) % 1000 == 0 || t + 1 == T)) progress(t + 1, T, user);
    }
    free(xf);
    if (!st) memcpy(m->wout, pt_rls_weights(m->rls), N * M * sizeof *m->wout), m->fitted = 1;
    return st;
}

pt_status pt_esn_fit(pt_esn *m, const double *u, const double *y, size_t T, pt_progress_fn progress, void *user)
{
    if (T <= (size_t)m->c.warmup)
        return pt_fail(PT_EINVAL, "esn: %zu steps to fit on, not more than esn.warmup = %d", T, m->c.warmup);
    pt_status st = all_finite(u, T, m->D, "input");
    if (!st) st = all_finite(y, T, m->M, "target");
    if (st) return st;
    return m->c.readout == PT_ESN_RLS ? fit_rls(m, u, y, T, progress, user) : fit_ridge(m, u, y, T, progress, user);
}

pt_status pt_esn_generate(pt_esn *m, const double *u0, size_t n, double *y, size_t *done)
{
    if (done) *done = 0;
    if (m->D != m->M)
        return pt_fail(PT_EINVAL, "esn.outputs = %zu differs from esn.inputs = %zu: a closed loop feeds each "
                                  "prediction back as the next input", m->M, m->D);
    pt_status st = all_finite(u0, 1, m->D, "input");
    if (st) return st;
    memcpy(m->u, u0, m->D * sizeof *m->u);
    for (size_t t = 0; t < n; t++) {
        step(m, m->u);
        double *yt = y + t * m->M;
        readout(m, yt);
        for (size_t o = 0; o < m->M; o++)
            if (!isfinite(yt[o])) return pt_fail(PT_ENOCONV, "esn: generation turned non-finite at step %zu", t);
        memcpy(m->u, yt, m->D * sizeof *m->u);
        if (done) *done = t + 1;
    }
    return PT_OK;
}

void pt_esn_scores(const double *p, const double *t, size_t n, size_t k, double tol, double *nrmse_range,
                   double *nrmse_std, size_t *valid)
{
    double se = 0.0, mean = 0.0, lo = HUGE_VAL, hi = -HUGE_VAL;
    size_t nk = n * k, v = n;
    for (size_t i = 0; i < nk; i++) {
        double d = p[i] - t[i];
        se += d * d, mean += t[i];
        lo = fmin(lo, t[i]), hi = fmax(hi, t[i]);
        if (v == n && !(fabs(d) <= tol)) v = i / k;
    }
    mean = nk ? mean / (double)nk : 0.0;
    double var = 0.0;
    for (size_t i = 0; i < nk; i++) var += (t[i] - mean) * (t[i] - mean);
    double mse = nk ? se / (double)nk : 0.0;
    var = nk ? var / (double)nk : 0.0;
    if (nrmse_range) *nrmse_range = sqrt(mse) / (hi - lo);
    if (nrmse_std) *nrmse_std = sqrt(mse / var);
    if (valid) *valid = v;
}
