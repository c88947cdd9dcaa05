/* Phasor MLP with hand-written complex (Wirtinger) gradients and Adam
 * (docs/phasor.md derives every step). Complex arrays are kept as separate
 * real and imaginary parts, so each complex product is four real BLAS
 * products through the wrapper. Batches are rows. */
#include <math.h>
#include <string.h>
#include "internal.h"
#include "io/safetensors.h"
#include "linalg/linalg.h"
#include "phasetower/phasor.h"

#define PT_PI_F 3.14159265358979323846f
#define PH_MAXDEPTH 16

struct pt_phasor_mlp {
    pt_phasor_config cfg;
    size_t np;                 /* parameters */
    float *theta, *m1, *m2;    /* parameters, Adam moments */
    long step;                 /* Adam steps taken */
    size_t off[PH_MAXDEPTH + 1]; /* start of layer l's real part; off[depth]: the readout */
    pt_rng rng;                /* shuffling */
};

static const char *const act_names[] = {"unit", "cardioid", "modrelu", "quant"};

PT_ENUM_FUNCS(pt_phasor_act, pt_phasor_act_name, pt_phasor_act_parse, "act", act_names)

pt_phasor_config pt_phasor_config_default(void)
{
    pt_phasor_config c = {784, 10, 100, 1, PT_ACT_UNIT, 1e-3f, -0.1f, 8, 1e-3f, 128, 1};
    return c;
}

pt_status pt_phasor_config_check(const pt_phasor_config *c)
{
    if (c->n_in < 1 || c->n_in > 1000000) return pt_fail(PT_EINVAL, "phasor: n_in %d out of range", c->n_in);
    if (c->n_out < 2 || c->n_out > 256) return pt_fail(PT_EINVAL, "phasor: n_classes %d outside 2..256", c->n_out);
    if (c->hidden < 1 || c->hidden > 100000) return pt_fail(PT_EINVAL, "--hidden %d outside 1..100000", c->hidden);
    if (c->depth < 1 || c->depth > PH_MAXDEPTH) return pt_fail(PT_EINVAL, "--depth %d outside 1..%d", c->depth, PH_MAXDEPTH);
    if ((unsigned)c->act > PT_ACT_QUANT) return pt_fail(PT_EINVAL, "--act: unknown activation %d", (int)c->act);
    if (c->levels < 2 || c->levels > 65536) return pt_fail(PT_EINVAL, "--levels %d outside 2..65536", c->levels);
    if (!(c->eps > 0.0f) || !isfinite(c->eps)) return pt_fail(PT_EINVAL, "--eps %g: must be a finite number > 0", (double)c->eps);
    if (!isfinite(c->modrelu_b)) return pt_fail(PT_EINVAL, "--modrelu-b must be finite");
    if (!(c->lr > 0.0f) || !isfinite(c->lr)) return pt_fail(PT_EINVAL, "--lr %g: must be a finite number > 0", (double)c->lr);
    if (c->batch < 1 || c->batch > 4096) return pt_fail(PT_EINVAL, "--batch %d outside 1..4096", c->batch);
    return PT_OK;
}

static int layer_in(const pt_phasor_config *c, int l) { return l == 0 ? c->n_in : c->hidden; }

static void layout(pt_phasor_mlp *m)
{
    const pt_phasor_config *c = &m->cfg;
    size_t o = 0;
    for (int l = 0; l < c->depth; l++) {
        m->off[l] = o;
        o += 2 * (size_t)c->hidden * (size_t)layer_in(c, l);
        if (c->act == PT_ACT_MODRELU) o += (size_t)c->hidden; /* the learned biases b */
    }
    m->off[c->depth] = o;
    m->np = o + 2 * (size_t)c->n_out * (size_t)c->hidden;
}

static pt_status alloc(const pt_phasor_config *c, pt_phasor_mlp **out)
{
    pt_status st = pt_phasor_config_check(c);
    if (st) return st;
    pt_phasor_mlp *m = pt_calloc(1, sizeof *m);
    if (!m) return PT_ENOMEM;
    m->cfg = *c;
    layout(m);
    m->theta = pt_calloc(m->np, sizeof *m->theta);
    m->m1 = pt_calloc(m->np, sizeof *m->m1);
    m->m2 = pt_calloc(m->np, sizeof *m->m2);
    if (!m->theta || !m->m1 || !m->m2) {
        size_t np = m->np;
        pt_phasor_destroy(m);
        return pt_fail(PT_ENOMEM, "phasor: out of memory for %zu parameters", np);
    }
    pt_rng_seed(&m->rng, c->seed ^ 0x5348554646ULL);
    *out = m;
    return PT_OK;
}

pt_status pt_phasor_create(const pt_phasor_config *c, pt_phasor_mlp **out)
{
    *out = NULL;
    pt_phasor_mlp *m = NULL;
    pt_status st = alloc(c, &m);
    if (st) return st;
    pt_rng r;
    pt_rng_seed(&r, c->seed);
    for (int l = 0; l <= c->depth; l++) { /* complex Glorot: each part N(0, 1 / (fan_in + fan_out)) */
        size_t fin = (size_t)(l < c->depth ? layer_in(c, l) : c->hidden), fout = (size_t)(l < c->depth ? c->hidden : c->n_out);
        float sd = sqrtf(1.0f / (float)(fin + fout));
        float *w = m->theta + m->off[l];
        for (size_t i = 0; i < 2 * fin * fout; i++) w[i] = sd * pt_rng_normal(&r);
        if (l < c->depth && c->act == PT_ACT_MODRELU)
            for (size_t i = 0; i < fout; i++) w[2 * fin * fout + i] = c->modrelu_b;
    }
    *out = m;
    return PT_OK;
}

void pt_phasor_destroy(pt_phasor_mlp *m)
{
    if (!m) return;
    free(m->theta), free(m->m1), free(m->m2), free(m);
}

const pt_phasor_config *pt_phasor_get_config(const pt_phasor_mlp *m) { return &m->cfg; }
size_t pt_phasor_param_count(const pt_phasor_mlp *m) { return m->np; }
float *pt_phasor_params(pt_phasor_mlp *m) { return m->theta; }

/* ---- forward and backward on one batch ---- */

typedef struct ws {
    int B;
    float *zr[PH_MAXDEPTH + 1], *zi[PH_MAXDEPTH + 1]; /* layer inputs/outputs: z[0] the encoded input, z[l+1] = act(h[l]) */
    float *hr[PH_MAXDEPTH], *hi[PH_MAXDEPTH];         /* pre-activations */
    float *logits, *gl;                               /* (B, n_out) */
    float *gr, *gi, *tr, *ti;                         /* (B, max width) scratch gradients */
} ws;

static void ws_free(ws *w)
{
    for (int l = 0; l <= PH_MAXDEPTH; l++) free(w->zr[l]), free(w->zi[l]);
    for (int l = 0; l < PH_MAXDEPTH; l++) free(w->hr[l]), free(w->hi[l]);
    free(w->logits), free(w->gl), free(w->gr), free(w->gi), free(w->tr), free(w->ti);
    memset(w, 0, sizeof *w);
}

static pt_status ws_alloc(ws *w, const pt_phasor_config *c, int B)
{
    memset(w, 0, sizeof *w);
    w->B = B;
    size_t b = (size_t)B, wide = (size_t)(c->n_in > c->hidden ? c->n_in : c->hidden);
    int ok = 1;
    for (int l = 0; l <= c->depth; l++) {
        size_t d = (size_t)(l == 0 ? c->n_in : c->hidden);
        ok &= (w->zr[l] = pt_calloc(b * d, sizeof(float))) != NULL && (w->zi[l] = pt_calloc(b * d, sizeof(float))) != NULL;
    }
    for (int l = 0; l < c->depth; l++)
        ok &= (w->hr[l] = pt_calloc(b * (size_t)c->hidden, sizeof(float))) != NULL &&
              (w->hi[l] = pt_calloc(b * (size_t)c->hidden, sizeof(float))) != NULL;
    ok &= (w->logits = pt_calloc(b * (size_t)c->n_out, sizeof(float))) != NULL;
    ok &= (w->gl = pt_calloc(b * (size_t)c->n_out, sizeof(float))) != NULL;
    ok &= (w->gr = pt_calloc(b * wide, sizeof(float))) != NULL && (w->gi = pt_calloc(b * wide, sizeof(float))) != NULL;
    ok &= (w->tr = pt_calloc(b * wide, sizeof(float))) != NULL && (w->ti = pt_calloc(b * wide, sizeof(float))) != NULL;
    if (!ok) {
        ws_free(w);
        return pt_fail(PT_ENOMEM, "phasor: out of memory for a batch of %d", B);
    }
    return PT_OK;
}

/* a = act(h), elementwise on n complex values (rows of H units); bias: modReLU's b per unit */
static void act_fwd(const pt_phasor_config *c, const float *hr, const float *hi, float *ar, float *ai, size_t n,
                    const float *bias)
{
    size_t H = (size_t)c->hidden;
    for (size_t i = 0; i < n; i++) {
        float x = hr[i], y = hi[i], r = hypotf(x, y), s;
        switch (c->act) {
        case PT_ACT_UNIT: s = 1.0f / (r + c->eps); break;
        case PT_ACT_CARDIOID: s = r > 0.0f ? 0.5f * (1.0f + x / r) : 0.5f; break;
        case PT_ACT_QUANT:
            if (r > c->eps) {
                double k = (double)c->levels, j = nearbyint(k * atan2((double)y, (double)x) / 6.283185307179586);
                ar[i] = (float)cos(6.283185307179586 * j / k), ai[i] = (float)sin(6.283185307179586 * j / k);
            } else {
                ar[i] = ai[i] = 0.0f;
            }
            continue;
        default: {
            float b = bias[i % H];
            s = r > 0.0f && r + b > 0.0f ? (r + b) / r : 0.0f;
            break;
        }
        }
        ar[i] = s * x, ai[i] = s * y;
    }
}

/* g_h = J^T g_a, the real Jacobian of the activation (docs/phasor.md); for
 * modReLU also gb += Re(conj(h / r) g_a), the gradient of its bias */
static void act_bwd(const pt_phasor_config *c, const float *hr, const float *hi, float *gr, float *gi, size_t n,
                    const float *bias, float *gbias)
{
    size_t H = (size_t)c->hidden;
    for (size_t i = 0; i < n; i++) {
        double x = hr[i], y = hi[i], r = hypot(x, y), ga = gr[i], gb = gi[i], ox, oy;
        if (c->act == PT_ACT_UNIT || c->act == PT_ACT_QUANT) {
            /* a = h / s, s = r + eps: g_h = g/s - h Re(conj(h) g) / (r s^2); for quant, the
             * straight-through estimate: the gradient of the unit circle it rounds */
            double s = r + (double)c->eps, dot = x * ga + y * gb;
            ox = ga / s, oy = gb / s;
            if (r > 0.0) ox -= x * dot / (r * s * s), oy -= y * dot / (r * s * s);
        } else if (c->act == PT_ACT_CARDIOID) { /* a = h (1 + x/r) / 2 */
            if (r > 0.0) {
                double cc = x / r, dcx = y * y / (r * r * r), dcy = -x * y / (r * r * r);
                double axx = 0.5 * (1.0 + cc) + 0.5 * x * dcx, axy = 0.5 * x * dcy;
                double ayx = 0.5 * y * dcx, ayy = 0.5 * (1.0 + cc) + 0.5 * y * dcy;
                ox = ga * axx + gb * ayx, oy = ga * axy + gb * ayy;
            } else {
                ox = 0.5 * ga, oy = 0.5 * gb;
            }
        } else { /* modReLU: a = h (1 + b / r) where r + b > 0 */
            double b = bias[i % H];
            if (r > 0.0 && r + b > 0.0) {
                double r3 = r * r * r;
                double axx = 1.0 + b * y * y / r3, axy = -b * x * y / r3, ayy = 1.0 + b * x * x / r3;
                ox = ga * axx + gb * axy, oy = ga * axy + gb * ayy;
                gbias[i % H] += (float)((x * ga + y * gb) / r); /* da/db = h / r */
            } else {
                ox = oy = 0.0;
            }
        }
        gr[i] = (float)ox, gi[i] = (float)oy;
    }
}

/* C (B, out) += complex product of Z (B, in) with W^T, W (out, in): real part
 * Zr Wr^T - Zi Wi^T, imaginary Zr Wi^T + Zi Wr^T */
static void cmul_nt(float *Cr, float *Ci, const float *Zr, const float *Zi, const float *Wr, const float *Wi, size_t B,
                    size_t out, size_t in)
{
    pt_sgemm_nt(Cr, Zr, Wr, B, out, in, 1.0f, 0.0f);
    pt_sgemm_nt(Cr, Zi, Wi, B, out, in, -1.0f, 1.0f);
    pt_sgemm_nt(Ci, Zr, Wi, B, out, in, 1.0f, 0.0f);
    pt_sgemm_nt(Ci, Zi, Wr, B, out, in, 1.0f, 1.0f);
}

static void forward(const pt_phasor_mlp *m, ws *w, const float *x, size_t B)
{
    const pt_phasor_config *c = &m->cfg;
    size_t H = (size_t)c->hidden;
    for (size_t i = 0; i < B * (size_t)c->n_in; i++) {
        float v = x[i] < 0.0f ? 0.0f : x[i] > 1.0f ? 1.0f : x[i];
        w->zr[0][i] = cosf(PT_PI_F * v), w->zi[0][i] = sinf(PT_PI_F * v);
    }
    for (int l = 0; l < c->depth; l++) {
        size_t in = (size_t)layer_in(c, l);
        const float *Wr = m->theta + m->off[l], *Wi = Wr + H * in;
        cmul_nt(w->hr[l], w->hi[l], w->zr[l], w->zi[l], Wr, Wi, B, H, in);
        act_fwd(c, w->hr[l], w->hi[l], w->zr[l + 1], w->zi[l + 1], B * H, Wi + H * in);
    }
    const float *Vr = m->theta + m->off[c->depth], *Vi = Vr + (size_t)c->n_out * H;
    /* logits = Re(z V^T) = zr Vr^T - zi Vi^T */
    pt_sgemm_nt(w->logits, w->zr[c->depth], Vr, B, (size_t)c->n_out, H, 1.0f, 0.0f);
    pt_sgemm_nt(w->logits, w->zi[c->depth], Vi, B, (size_t)c->n_out, H, -1.0f, 1.0f);
}

/* Mean cross-entropy of the batch; w->gl = d loss / d logits. scale: 1 / (samples the mean runs over). */
static double softmax_ce(const pt_phasor_config *c, ws *w, const uint8_t *y, size_t B, float scale)
{
    size_t C = (size_t)c->n_out;
    double loss = 0.0;
    for (size_t i = 0; i < B; i++) {
        const float *lg = w->logits + i * C;
        float *g = w->gl + i * C;
        float mx = lg[0];
        for (size_t k = 1; k < C; k++) mx = fmaxf(mx, lg[k]);
        double z = 0.0;
        for (size_t k = 0; k < C; k++) z += exp((double)(lg[k] - mx));
        loss += log(z) - (double)(lg[y[i]] - mx);
        for (size_t k = 0; k < C; k++) g[k] = scale * (float)(exp((double)(lg[k] - mx)) / z - (k == y[i] ? 1.0 : 0.0));
    }
    return loss;
}

/* grad += gradient of the batch's loss (w->gl set) with respect to the parameters */
static void backward(const pt_phasor_mlp *m, ws *w, size_t B, float *grad)
{
    const pt_phasor_config *c = &m->cfg;
    size_t H = (size_t)c->hidden, C = (size_t)c->n_out;
    const float *Vr = m->theta + m->off[c->depth], *Vi = Vr + C * H;
    float *gVr = grad + m->off[c->depth], *gVi = gVr + C * H;
    const float *zr = w->zr[c->depth], *zi = w->zi[c->depth];
    /* readout: d/dVr = G^T zr, d/dVi = -G^T zi; d/dzr = G Vr, d/dzi = -G Vi */
    pt_sgemm_tn(gVr, w->gl, zr, C, H, B, 1.0f, 1.0f);
    pt_sgemm_tn(gVi, w->gl, zi, C, H, B, -1.0f, 1.0f);
    pt_sgemm_nn(w->gr, w->gl, Vr, B, H, C, 1.0f, 0.0f);
    pt_sgemm_nn(w->gi, w->gl, Vi, B, H, C, -1.0f, 0.0f);
    for (int l = c->depth - 1; l >= 0; l--) {
        size_t in = (size_t)layer_in(c, l);
        const float *Wr = m->theta + m->off[l], *Wi = Wr + H * in;
        float *gWr = grad + m->off[l], *gWi = gWr + H * in;
        act_bwd(c, w->hr[l], w->hi[l], w->gr, w->gi, B * H, Wi + H * in, gWi + H * in); /* now g_h */
        const float *Zr = w->zr[l], *Zi = w->zi[l];
        /* g_W = g_h^T conj(z): d/dWr = Gr^T Zr + Gi^T Zi, d/dWi = Gi^T Zr - Gr^T Zi */
        pt_sgemm_tn(gWr, w->gr, Zr, H, in, B, 1.0f, 1.0f);
        pt_sgemm_tn(gWr, w->gi, Zi, H, in, B, 1.0f, 1.0f);
        pt_sgemm_tn(gWi, w->gi, Zr, H, in, B, 1.0f, 1.0f);
        pt_sgemm_tn(gWi, w->gr, Zi, H, in, B, -1.0f, 1.0f);
        if (l == 0) break; /* the encoder has no parameters */
        /* g_z = g_h conj(W): d/dzr = Gr Wr + Gi Wi, d/dzi = Gi Wr - Gr Wi */
        pt_sgemm_nn(w->tr, w->gr, Wr, B, in, H, 1.0f, 0.0f);
        pt_sgemm_nn(w->tr, w->gi, Wi, B, in, H, 1.0f, 1.0f);
        pt_sgemm_nn(w->ti, w->gi, Wr, B, in, H, 1.0f, 0.0f);
        pt_sgemm_nn(w->ti, w->gr, Wi, B, in, H, -1.0f, 1.0f);
        memcpy(w->gr, w->tr, B * in * sizeof(float));
        memcpy(w->gi, w->ti, B * in * sizeof(float));
    }
}

static pt_status check_data(const pt_phasor_config *c, const float *x, const uint8_t *y, size_t n)
{
    for (size_t i = 0; i < n * (size_t)c->n_in; i++)
        if (!isfinite(x[i])) return pt_fail(PT_EINVAL, "input sample %zu has a non-finite value", i / (size_t)c->n_in);
    if (y)
        for (size_t i = 0; i < n; i++)
            if (y[i] >= c->n_out) return pt_fail(PT_EINVAL, "label %d of sample %zu outside 0..%d", y[i], i, c->n_out - 1);
    return PT_OK;
}

pt_status pt_phasor_grad(const pt_phasor_mlp *m, const float *x, const uint8_t *y, size_t n, double *loss, float *grad)
{
    const pt_phasor_config *c = &m->cfg;
    pt_status st = check_data(c, x, y, n);
    if (st) return st;
    if (n == 0) return pt_fail(PT_EINVAL, "no samples");
    ws w;
    int B = n < (size_t)c->batch ? (int)n : c->batch;
    if ((st = ws_alloc(&w, c, B))) return st;
    memset(grad, 0, m->np * sizeof *grad);
    double sum = 0.0;
    for (size_t i0 = 0; i0 < n; i0 += (size_t)B) {
        size_t nb = n - i0 < (size_t)B ? n - i0 : (size_t)B;
        forward(m, &w, x + i0 * (size_t)c->n_in, nb);
        sum += softmax_ce(c, &w, y + i0, nb, 1.0f / (float)n);
        backward(m, &w, nb, grad);
    }
    ws_free(&w);
    if (loss) *loss = sum / (double)n;
    return PT_OK;
}

pt_status pt_phasor_train_epoch(pt_phasor_mlp *m, const float *x, const uint8_t *y, size_t n, double *loss)
{
    const pt_phasor_config *c = &m->cfg;
    pt_status st = check_data(c, x, y, n);
    if (st) return st;
    if (n == 0) return pt_fail(PT_EINVAL, "no training samples");
    size_t d = (size_t)c->n_in, B = (size_t)c->batch;
    ws w;
    if ((st = ws_alloc(&w, c, (int)B))) return st;
    size_t *perm = pt_calloc(n, sizeof *perm);
    float *xb = pt_calloc(B * d, sizeof *xb), *grad = pt_calloc(m->np, sizeof *grad);
    uint8_t *yb = pt_calloc(B, 1);
    if (!perm || !xb || !grad || !yb) {
        st = pt_fail(PT_ENOMEM, "phasor: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) perm[i] = i;
    for (size_t i = n - 1; i > 0; i--) { /* Fisher-Yates, seeded */
        size_t j = (size_t)(pt_rng_u64(&m->rng) % (uint64_t)(i + 1)), t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
    double sum = 0.0;
    const float b1 = 0.9f, b2 = 0.999f, aeps = 1e-8f;
    for (size_t i0 = 0; i0 < n; i0 += B) {
        size_t nb = n - i0 < B ? n - i0 : B;
        for (size_t i = 0; i < nb; i++) {
            memcpy(xb + i * d, x + perm[i0 + i] * d, d * sizeof *xb);
            yb[i] = y[perm[i0 + i]];
        }
        forward(m, &w, xb, nb);
        sum += softmax_ce(c, &w, yb, nb, 1.0f / (float)nb);
        memset(grad, 0, m->np * sizeof *grad);
        backward(m, &w, nb, grad);
        m->step++;
        float c1 = 1.0f - powf(b1, (float)m->step), c2 = 1.0f - powf(b2, (float)m->step);
        for (size_t k = 0; k < m->np; k++) {
            float g = grad[k];
            m->m1[k] = b1 * m->m1[k] + (1.0f - b1) * g;
            m->m2[k] = b2 * m->m2[k] + (1.0f - b2) * g * g;
            m->theta[k] -= c->lr * (m->m1[k] / c1) / (sqrtf(m->m2[k] / c2) + aeps);
        }
    }
    for (size_t k = 0; k < m->np; k++)
        if (!isfinite(m->theta[k])) {
            st = pt_fail(PT_ENOCONV, "training diverged: a weight is not finite (lower --lr)");
            break;
        }
    if (loss) *loss = sum / (double)n;
done:
    free(perm), free(xb), free(grad), free(yb);
    ws_free(&w);
    return st;
}

pt_status pt_phasor_predict(const pt_phasor_mlp *m, const float *x, size_t n, uint8_t *pred, float *logits)
{
    const pt_phasor_config *c = &m->cfg;
    pt_status st = check_data(c, x, NULL, n);
    if (st || n == 0) return st;
    ws w;
    int B = n < 1024 ? (int)n : 1024;
    if ((st = ws_alloc(&w, c, B))) return st;
    size_t C = (size_t)c->n_out;
    for (size_t i0 = 0; i0 < n; i0 += (size_t)B) {
        size_t nb = n - i0 < (size_t)B ? n - i0 : (size_t)B;
        forward(m, &w, x + i0 * (size_t)c->n_in, nb);
        if (logits) memcpy(logits + i0 * C, w.logits, nb * C * sizeof(float));
        if (pred)
            for (size_t i = 0; i < nb; i++) {
                size_t b = 0;
                for (size_t k = 1; k < C; k++)
                    if (w.logits[i * C + k] > w.logits[i * C + b]) b = k;
                pred[i0 + i] = (uint8_t)b;
            }
    }
    ws_free(&w);
    return PT_OK;
}

/* ---- checkpoint ---- */

pt_status pt_phasor_save(const pt_phasor_mlp *m, const char *path)
{
    const pt_phasor_config *c = &m->cfg;
    pt_st_tensor ts[3 * PH_MAXDEPTH + 2];
    size_t nt = 0, H = (size_t)c->hidden;
    for (int l = 0; l <= c->depth; l++) {
        size_t out = l < c->depth ? H : (size_t)c->n_out, in = l < c->depth ? (size_t)layer_in(c, l) : H;
        for (int part = 0; part < 2; part++) {
            pt_st_tensor *t = &ts[nt++];
            memset(t, 0, sizeof *t);
            if (l < c->depth) snprintf(t->name, sizeof t->name, "layer%d.w_%s", l, part ? "im" : "re");
            else snprintf(t->name, sizeof t->name, "readout.%s", part ? "im" : "re");
            t->dtype = PT_ST_F32, t->ndim = 2, t->shape[0] = out, t->shape[1] = in;
            t->data = m->theta + m->off[l] + (size_t)part * out * in;
        }
        if (l < c->depth && c->act == PT_ACT_MODRELU) {
            pt_st_tensor *t = &ts[nt++];
            memset(t, 0, sizeof *t);
            snprintf(t->name, sizeof t->name, "layer%d.bias", l);
            t->dtype = PT_ST_F32, t->ndim = 1, t->shape[0] = H, t->data = m->theta + m->off[l] + 2 * out * in;
        }
    }
    char v[14][64];
    const char *meta[28];
    size_t nm = 0;
#define META(key, ...) do { snprintf(v[nm], sizeof v[nm], __VA_ARGS__); meta[2 * nm] = key; meta[2 * nm + 1] = v[nm]; nm++; } while (0)
    META("format", "phasetower");
    META("version", "1");
    META("model", "phasor");
    META("n_in", "%d", c->n_in);
    META("n_classes", "%d", c->n_out);
    META("hidden", "%d", c->hidden);
    META("depth", "%d", c->depth);
    META("act", "%s", pt_phasor_act_name(c->act));
    META("eps", "%.9g", (double)c->eps);
    META("modrelu_b", "%.9g", (double)c->modrelu_b);
    META("levels", "%d", c->levels);
    META("seed", "%llu", (unsigned long long)c->seed);
#undef META
    return pt_st_write(path, ts, nt, meta, nm);
}

pt_status pt_checkpoint_kind(const char *path, char *kind, size_t len)
{
    pt_st_file *f = NULL;
    pt_status st = pt_st_read_meta(path, &f); /* the header only: the loader reads the rest */
    if (st) return st;
    const char *s;
    if (!(st = pt_st_meta_str(f, path, "format", &s)) && strcmp(s, "phasetower"))
        st = pt_fail(PT_EFORMAT, "%s: not a PhaseTower checkpoint (format '%s')", path, s);
    if (!st && !(st = pt_st_meta_str(f, path, "model", &s))) snprintf(kind, len, "%s", s);
    pt_st_close(f);
    return st;
}

pt_status pt_phasor_load(const char *path, pt_phasor_mlp **out)
{
    *out = NULL;
    pt_st_file *f = NULL;
    pt_status st = pt_st_read(path, &f);
    if (st) return st;
    const char *s;
    double d;
    pt_phasor_config c = pt_phasor_config_default();
    pt_phasor_mlp *m = NULL;
    if ((st = pt_st_meta_str(f, path, "model", &s))) goto done;
    if (strcmp(s, "phasor")) {
        st = pt_fail(PT_EFORMAT, "%s: holds a '%s' model, not a phasor network", path, s);
        goto done;
    }
#define NUM(key, field, type, lo, hi) \
    do { if ((st = pt_st_meta_num(f, path, key, lo, hi, &d))) goto done; c.field = (type)d; } while (0)
    NUM("n_in", n_in, int, 1, 1e6);
    NUM("n_classes", n_out, int, 2, 256);
    NUM("hidden", hidden, int, 1, 100000);
    NUM("depth", depth, int, 1, PH_MAXDEPTH);
    NUM("eps", eps, float, 1e-30, 1e30);
    NUM("modrelu_b", modrelu_b, float, -1e30, 1e30);
    if (pt_st_meta(f, "levels")) NUM("levels", levels, int, 2, 65536); /* absent before quant existed */
    NUM("seed", seed, uint64_t, 0, 9007199254740992.0);
#undef NUM
    if ((st = pt_st_meta_str(f, path, "act", &s)) || (st = pt_phasor_act_parse(s, &c.act))) {
        st = pt_fail(PT_EFORMAT, "%s: metadata 'act': %s", path, pt_errmsg());
        goto done;
    }
    if ((st = alloc(&c, &m))) goto done;
    size_t H = (size_t)c.hidden;
    for (int l = 0; l <= c.depth && !st; l++) {
        size_t sh[2] = {l < c.depth ? H : (size_t)c.n_out, l < c.depth ? (size_t)layer_in(&c, l) : H};
        for (int part = 0; part < 2 && !st; part++) {
            char name[PT_ST_MAXNAME];
            if (l < c.depth) snprintf(name, sizeof name, "layer%d.w_%s", l, part ? "im" : "re");
            else snprintf(name, sizeof name, "readout.%s", part ? "im" : "re");
            st = pt_st_get(f, path, PT_ST_F32, name, 2, sh, m->theta + m->off[l] + (size_t)part * sh[0] * sh[1]);
        }
        if (!st && l < c.depth && c.act == PT_ACT_MODRELU) {
            char name[PT_ST_MAXNAME];
            snprintf(name, sizeof name, "layer%d.bias", l);
            st = pt_st_get(f, path, PT_ST_F32, name, 1, &H, m->theta + m->off[l] + 2 * sh[0] * sh[1]);
        }
    }
    size_t want = 2 * (size_t)(c.depth + 1) + (c.act == PT_ACT_MODRELU ? (size_t)c.depth : 0);
    if (!st && pt_st_count(f) != want)
        st = pt_fail(PT_EFORMAT, "%s: %zu tensors, this phasor network has %zu", path, pt_st_count(f), want);
done:
    pt_st_close(f);
    if (st) pt_phasor_destroy(m);
    else *out = m;
    return st;
}
