/* Principal components: streamed second moment (BLAS), then LAPACK's dsyevr
 * (EIGEN) or orthogonal iteration (ITERATE) for the top directions
 * (docs/numerics.md). */
#include <math.h>
#include <string.h>
#include <lapacke.h>
#include "internal.h"
#include "linalg/linalg.h"
#include "phasetower/linalg.h"

struct pt_pca {
    size_t d, n;
    float *G;     /* (d, d) sum of x x^T, both triangles */
    double *sum;  /* (d) sum of x */
};

pt_pca_config pt_pca_config_default(void)
{
    pt_pca_config c = {1, PT_PCA_EIGEN, 60, 1};
    return c;
}

pt_status pt_pca_create(size_t d, pt_pca **out)
{
    *out = NULL;
    if (d < 1 || d > 65536) return pt_fail(PT_EINVAL, "pca: %zu values per row (need 1..65536)", d);
    pt_pca *p = pt_calloc(1, sizeof *p);
    if (p) {
        p->d = d;
        p->G = pt_calloc(d * d, sizeof *p->G);
        p->sum = pt_calloc(d, sizeof *p->sum);
    }
    if (!p || !p->G || !p->sum) {
        pt_pca_destroy(p);
        return pt_fail(PT_ENOMEM, "out of memory for a %zu x %zu moment matrix", d, d);
    }
    *out = p;
    return PT_OK;
}

void pt_pca_destroy(pt_pca *p)
{
    if (!p) return;
    free(p->G), free(p->sum), free(p);
}

size_t pt_pca_count(const pt_pca *p) { return p->n; }

pt_status pt_pca_add(pt_pca *p, const float *X, size_t n)
{
    size_t d = p->d;
    for (size_t i = 0; i < n * d; i++)
        if (!isfinite(X[i])) return pt_fail(PT_EINVAL, "pca: row %zu has a non-finite value", i / d);
    if (n == 0) return PT_OK;
    pt_sgemm_tn(p->G, X, X, d, d, n, 1.0f, 1.0f); /* G += X^T X */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) p->sum[j] += (double)X[i * d + j];
    p->n += n;
    return PT_OK;
}

/* Orthogonal iteration on the float moment matrix G (d, d): R rows Q from a
 * seeded Gaussian start, `rounds` times Q <- G Q, each round orthonormalized
 * by modified Gram-Schmidt in double; a row that vanishes (the data span
 * fewer than R directions) is redrawn. Only the span matters: V^T V is the
 * same for any orthonormal basis of it. */
static pt_status iterate(const float *G, size_t d, const pt_pca_config *c, size_t R, float *dst)
{
    float *Q = pt_calloc(R * d, sizeof *Q), *Z = pt_calloc(R * d, sizeof *Z);
    if (!Q || !Z) {
        free(Q), free(Z);
        return pt_fail(PT_ENOMEM, "out of memory for the principal components");
    }
    pt_rng r;
    pt_rng_seed(&r, c->seed);
    for (size_t i = 0; i < R * d; i++) Q[i] = pt_rng_normal(&r);
    for (int it = 0; it <= c->rounds; it++) {
        if (it > 0) pt_sgemm_nt(Q, Z, G, R, d, d, 1.0f, 0.0f); /* rows: Q_a = G Z_a (G symmetric) */
        for (size_t a = 0; a < R; a++) { /* modified Gram-Schmidt on the rows */
            float *q = Q + a * d;
            double ss = 0.0;
            for (;;) {
                for (size_t b = 0; b < a; b++) {
                    const float *u = Q + b * d;
                    double dot = 0.0;
                    for (size_t j = 0; j < d; j++) dot += (double)q[j] * (double)u[j];
                    for (size_t j = 0; j < d; j++) q[j] -= (float)dot * u[j];
                }
                ss = 0.0;
                for (size_t j = 0; j < d; j++) ss += (double)q[j] * (double)q[j];
                if (ss > 1e-30) break;
                pt_log(1, "pca: the rows span fewer than %zu directions; direction %zu drawn at random", R, a + 1);
                for (size_t j = 0; j < d; j++) q[j] = pt_rng_normal(&r);
            }
            float inv = (float)(1.0 / sqrt(ss));
            for (size_t j = 0; j < d; j++) q[j] *= inv;
        }
        memcpy(Z, Q, R * d * sizeof *Z);
    }
    memcpy(dst, Q, R * d * sizeof *Q);
    free(Q), free(Z);
    return PT_OK;
}

/* The top R eigenvectors of the symmetric A (d, d, double, overwritten) by
 * dsyevr, largest first, each signed so that its largest entry is positive;
 * their eigenvalues in w (R). */
static pt_status eigen(double *A, size_t d, size_t R, float *dst, double *w)
{
    double *ev = pt_calloc(d, sizeof *ev), *Z = pt_calloc(d * R, sizeof *Z);
    lapack_int *isuppz = pt_calloc(2 * R, sizeof *isuppz);
    if (!ev || !Z || !isuppz) {
        free(ev), free(Z), free(isuppz);
        return pt_fail(PT_ENOMEM, "out of memory for the principal components");
    }
    lapack_int found = 0, dd = (lapack_int)d;
    lapack_int info = LAPACKE_dsyevr(LAPACK_ROW_MAJOR, 'V', 'I', 'U', dd, A, dd, 0.0, 0.0, dd - (lapack_int)R + 1, dd,
                                     0.0, &found, ev, Z, (lapack_int)R, isuppz);
    pt_status st = PT_OK;
    if (info != 0 || found != (lapack_int)R) {
        st = pt_fail(PT_ENOCONV, "pca: LAPACK dsyevr failed (info %d, %d of %zu eigenvectors)", (int)info, (int)found, R);
    } else {
        for (size_t a = 0; a < R; a++) { /* ascending from LAPACK: the largest is the last column */
            size_t col = R - 1 - a, big = 0;
            for (size_t j = 1; j < d; j++)
                if (fabs(Z[j * R + col]) > fabs(Z[big * R + col])) big = j;
            double sgn = Z[big * R + col] < 0.0 ? -1.0 : 1.0;
            for (size_t j = 0; j < d; j++) dst[a * d + j] = (float)(sgn * Z[j * R + col]);
            w[a] = ev[col];
        }
    }
    free(ev), free(Z), free(isuppz);
    return st;
}

pt_status pt_pca_fit(const pt_pca *p, const pt_pca_config *c, size_t R, float *V, float *var)
{
    size_t d = p->d, n = p->n;
    if (n == 0) return pt_fail(PT_EINVAL, "pca: no rows added");
    if (R < 1 || R > d) return pt_fail(PT_EINVAL, "pca: %zu components of %zu-value rows (need 1..%zu)", R, d, d);
    if ((unsigned)c->method > PT_PCA_ITERATE) return pt_fail(PT_EINVAL, "pca: unknown method %d", (int)c->method);
    if (c->method == PT_PCA_ITERATE && (c->rounds < 1 || c->rounds > 10000))
        return pt_fail(PT_EINVAL, "pca: rounds %d outside 1..10000", c->rounds);
    /* the moment matrix about the mean (center) or about 0, in double */
    double *A = pt_calloc(d * d, sizeof *A), *w = pt_calloc(R, sizeof *w);
    float *Gc = c->method == PT_PCA_ITERATE && c->center ? pt_calloc(d * d, sizeof *Gc) : NULL;
    if (!A || !w || (c->method == PT_PCA_ITERATE && c->center && !Gc)) {
        free(A), free(w), free(Gc);
        return pt_fail(PT_ENOMEM, "out of memory for the principal components");
    }
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            double g = (double)p->G[i * d + j];
            A[i * d + j] = c->center ? g - p->sum[i] * p->sum[j] / (double)n : g;
            if (Gc) Gc[i * d + j] = (float)A[i * d + j];
        }
    pt_status st;
    if (c->method == PT_PCA_ITERATE) {
        st = iterate(Gc ? Gc : p->G, d, c, R, V);
        for (size_t a = 0; a < R && !st; a++) { /* Rayleigh quotients */
            double q = 0.0;
            for (size_t i = 0; i < d; i++) {
                double s = 0.0;
                for (size_t j = 0; j < d; j++) s += A[i * d + j] * (double)V[a * d + j];
                q += (double)V[a * d + i] * s;
            }
            w[a] = q;
        }
    } else {
        st = eigen(A, d, R, V, w);
    }
    if (!st && var)
        for (size_t a = 0; a < R; a++) var[a] = (float)(w[a] / (double)n);
    free(A), free(w), free(Gc);
    return st;
}
