/* Threshold phasor associative memory (Frady & Sommer 2019; docs/phasor.md).
 * J = sum over stored patterns of xi xi^H, zero diagonal. Retrieval of a batch
 * of cues is one complex matrix product per iteration through the BLAS wrapper:
 * with Jc = conj(J), pt_cgemm_nc gives H = Z Jc^H = Z J^T, whose row b is
 * J z_b (J is Hermitian). */
#include <math.h>
#include <string.h>
#include "internal.h"
#include "linalg/linalg.h"
#include "phasetower/phasor.h"

#define PT_TWO_PI 6.283185307179586476925

struct pt_tpam {
    pt_tpam_config cfg;
    float *Jc;   /* (N, N complex) conj(J) */
    float *J;    /* (N, N complex) J, for pt_tpam_weights */
    int count;
    pt_rng rng;
};

pt_tpam_config pt_tpam_config_default(void)
{
    pt_tpam_config c = {625, 25, 0.4f, 0, 20, 1};
    return c;
}

pt_status pt_tpam_create(const pt_tpam_config *c, pt_tpam **out)
{
    *out = NULL;
    if (c->N < 2 || c->N > 65536) return pt_fail(PT_EINVAL, "tpam.N %d outside 2..65536", c->N);
    if (c->K < 1 || c->K > c->N) return pt_fail(PT_EINVAL, "tpam.K %d outside 1..%d (tpam.N)", c->K, c->N);
    if (!(c->theta > 0.0f) || !isfinite(c->theta)) return pt_fail(PT_EINVAL, "tpam.theta %g must be a finite number > 0", (double)c->theta);
    if (c->iters < 1 || c->iters > 1000) return pt_fail(PT_EINVAL, "tpam.iters %d outside 1..1000", c->iters);
    pt_tpam *m = pt_calloc(1, sizeof *m);
    if (!m) return PT_ENOMEM;
    m->cfg = *c;
    size_t NN = (size_t)c->N * (size_t)c->N * 2;
    m->Jc = pt_calloc(NN, sizeof *m->Jc);
    m->J = pt_calloc(NN, sizeof *m->J);
    if (!m->Jc || !m->J) {
        pt_tpam_destroy(m);
        return pt_fail(PT_ENOMEM, "tpam: out of memory for %d x %d weights", c->N, c->N);
    }
    pt_rng_seed(&m->rng, c->seed);
    *out = m;
    return PT_OK;
}

void pt_tpam_destroy(pt_tpam *m)
{
    if (!m) return;
    free(m->Jc), free(m->J), free(m);
}

int pt_tpam_count(const pt_tpam *m) { return m->count; }
const float *pt_tpam_weights(const pt_tpam *m) { return m->J; }

pt_status pt_tpam_store(pt_tpam *m, const float *xi)
{
    size_t N = (size_t)m->cfg.N;
    for (size_t i = 0; i < 2 * N; i++)
        if (!isfinite(xi[i])) return pt_fail(PT_EINVAL, "tpam: pattern entry %zu is not finite", i / 2);
    for (size_t i = 0; i < N; i++) {
        float ar = xi[2 * i], ai = xi[2 * i + 1];
        if (ar == 0.0f && ai == 0.0f) continue;
        for (size_t j = 0; j < N; j++) {
            float br = xi[2 * j], bi = xi[2 * j + 1];
            if (j == i || (br == 0.0f && bi == 0.0f)) continue;
            /* J_ij += a conj(b) */
            float re = ar * br + ai * bi, im = ai * br - ar * bi;
            size_t o = 2 * (i * N + j);
            m->J[o] += re, m->J[o + 1] += im;
            m->Jc[o] += re, m->Jc[o + 1] -= im;
        }
    }
    m->count++;
    return PT_OK;
}

/* A random pattern: K distinct units (partial Fisher-Yates) with uniform phases. */
static void random_pattern(pt_rng *r, int N, int K, float *xi, int *perm)
{
    memset(xi, 0, (size_t)N * 2 * sizeof *xi);
    for (int i = 0; i < N; i++) perm[i] = i;
    for (int a = 0; a < K; a++) {
        int b = a + (int)(pt_rng_u64(r) % (uint64_t)(N - a));
        int t = perm[a];
        perm[a] = perm[b], perm[b] = t;
        double ph = PT_TWO_PI * (double)pt_rng_uniform(r);
        xi[2 * perm[a]] = (float)cos(ph), xi[2 * perm[a] + 1] = (float)sin(ph);
    }
}

pt_status pt_tpam_store_random(pt_tpam *m, int M, float *patterns)
{
    if (M < 0) return pt_fail(PT_EINVAL, "tpam: %d patterns", M);
    size_t N = (size_t)m->cfg.N;
    float *xi = pt_calloc(2 * N, sizeof *xi);
    int *perm = pt_calloc(N, sizeof *perm);
    pt_status st = xi && perm ? PT_OK : PT_ENOMEM;
    for (int p = 0; p < M && !st; p++) {
        random_pattern(&m->rng, m->cfg.N, m->cfg.K, xi, perm);
        if (patterns) memcpy(patterns + (size_t)p * 2 * N, xi, 2 * N * sizeof *xi);
        st = pt_tpam_store(m, xi);
    }
    free(xi), free(perm);
    return st;
}

/* |h|: the K-th largest of n magnitudes (selection by a partial sort of a copy). */
static float kth_largest(float *mag, int n, int K)
{
    for (int a = 0; a < K; a++) {
        int best = a;
        for (int b = a + 1; b < n; b++)
            if (mag[b] > mag[best]) best = b;
        float t = mag[a];
        mag[a] = mag[best], mag[best] = t;
    }
    return mag[K - 1];
}

pt_status pt_tpam_retrieve(const pt_tpam *m, float *z, size_t nc)
{
    size_t N = (size_t)m->cfg.N;
    for (size_t i = 0; i < nc * 2 * N; i++)
        if (!isfinite(z[i])) return pt_fail(PT_EINVAL, "tpam: cue entry %zu is not finite", i / 2);
    float *H = pt_calloc(nc * 2 * N, sizeof *H), *mag = pt_calloc(N, sizeof *mag);
    if (!H || !mag) {
        free(H), free(mag);
        return PT_ENOMEM;
    }
    float invK = 1.0f / (float)m->cfg.K;
    for (int it = 0; it < m->cfg.iters; it++) {
        pt_cgemm_nc(H, z, m->Jc, nc, N, N); /* row b: J z_b */
        for (size_t b = 0; b < nc; b++) {
            float *h = H + b * 2 * N, *zb = z + b * 2 * N;
            float th = m->cfg.theta;
            if (m->cfg.topk) {
                for (size_t i = 0; i < N; i++) mag[i] = hypotf(h[2 * i], h[2 * i + 1]);
                th = kth_largest(mag, (int)N, m->cfg.K);
                if (!(th > 0.0f)) th = 1e-30f; /* compared with the unscaled |J z| below */
            }
            for (size_t i = 0; i < N; i++) {
                float a = hypotf(h[2 * i], h[2 * i + 1]);
                float s = m->cfg.topk ? a : a * invK;
                if (s >= th && a > 0.0f) zb[2 * i] = h[2 * i] / a, zb[2 * i + 1] = h[2 * i + 1] / a;
                else zb[2 * i] = zb[2 * i + 1] = 0.0f;
            }
        }
    }
    free(H), free(mag);
    return PT_OK;
}

float pt_tpam_overlap(const float *a, const float *b, size_t n)
{
    double re = 0.0, im = 0.0, na = 0.0, nb = 0.0;
    for (size_t i = 0; i < n; i++) {
        double ar = (double)a[2 * i], ai = (double)a[2 * i + 1], br = (double)b[2 * i], bi = (double)b[2 * i + 1];
        re += ar * br + ai * bi, im += ai * br - ar * bi; /* a conj(b) */
        na += ar * ar + ai * ai, nb += br * br + bi * bi;
    }
    if (na <= 0.0 || nb <= 0.0) return 0.0f;
    return (float)(hypot(re, im) / sqrt(na * nb));
}

pt_status pt_tpam_capacity_point(const pt_tpam_config *c, int M, int ncues, double *mean, double *cue)
{
    if (M < 1 || ncues < 1) return pt_fail(PT_EINVAL, "tpam: need at least one pattern and one cue");
    pt_tpam *m = NULL;
    pt_status st = pt_tpam_create(c, &m);
    if (st) return st;
    size_t N = (size_t)c->N;
    int nq = ncues < M ? ncues : M;
    float *pat = pt_calloc((size_t)M * 2 * N, sizeof *pat), *z = pt_calloc((size_t)nq * 2 * N, sizeof *z);
    if (!pat || !z) st = PT_ENOMEM;
    if (!st) st = pt_tpam_store_random(m, M, pat);
    double sc = 0.0, sr = 0.0;
    if (!st) {
        pt_rng r;
        pt_rng_seed(&r, c->seed ^ 0x637565ULL);
        for (int q = 0; q < nq; q++) { /* cue q: pattern q with half of its active entries zeroed */
            float *zq = z + (size_t)q * 2 * N;
            const float *p = pat + (size_t)q * 2 * N;
            memcpy(zq, p, 2 * N * sizeof *zq);
            /* selection sampling: each active entry is dropped with probability
             * (still to drop) / (still to see), which drops exactly K/2 of them */
            int drop = c->K / 2, na = 0;
            for (size_t i = 0; i < N; i++) na += zq[2 * i] != 0.0f || zq[2 * i + 1] != 0.0f;
            int left = na;
            for (size_t i = 0; i < N && drop > 0; i++) {
                if (zq[2 * i] == 0.0f && zq[2 * i + 1] == 0.0f) continue;
                if (pt_rng_uniform(&r) * (float)left < (float)drop) zq[2 * i] = zq[2 * i + 1] = 0.0f, drop--;
                left--;
            }
            sc += (double)pt_tpam_overlap(zq, p, N);
        }
        st = pt_tpam_retrieve(m, z, (size_t)nq);
        for (int q = 0; q < nq && !st; q++)
            sr += (double)pt_tpam_overlap(z + (size_t)q * 2 * N, pat + (size_t)q * 2 * N, N);
    }
    if (!st) *mean = sr / nq, *cue = sc / nq;
    free(pat), free(z);
    pt_tpam_destroy(m);
    return st;
}
