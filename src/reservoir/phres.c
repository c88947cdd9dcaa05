/* The phasor reservoir (reservoir.h, docs/reservoir.md): the esn's complex
 * unit. U is a random unitary drawn by Gram-Schmidt from a complex Gaussian
 * matrix and scaled by the spectral radius; the update squashes the
 * magnitude of each unit's pre-activation and keeps its phase. Fitting,
 * generation, readouts and checkpoints are esn.c's and esn_io.c's. */
#include <math.h>
#include <string.h>
#include "reservoir/esn_internal.h"

/* The rows of A (N, N) made orthonormal in place (A A^H = I): modified
 * Gram-Schmidt, each row projected out of the earlier ones twice ("twice is
 * enough", Giraud et al. 2005: the loss of orthogonality stays at rounding
 * level whatever the conditioning). A complex Gaussian A gives a unitary
 * distributed by the Haar measure (the R of its QR has a positive real
 * diagonal, which fixes the phases). -1 when a row is dependent on the earlier
 * ones (probability zero for a Gaussian draw, kept as a guard). */
static int orthonormal_rows(double complex *A, size_t N)
{
    for (size_t i = 0; i < N; i++) {
        double complex *v = A + i * N;
        for (int pass = 0; pass < 2; pass++)
            for (size_t k = 0; k < i; k++) {
                const double complex *q = A + k * N;
                double complex p = 0.0;
                for (size_t j = 0; j < N; j++) p += conj(q[j]) * v[j];
                for (size_t j = 0; j < N; j++) v[j] -= p * q[j];
            }
        double nn = 0.0;
        for (size_t j = 0; j < N; j++) nn += creal(v[j]) * creal(v[j]) + cimag(v[j]) * cimag(v[j]);
        if (!(nn > 1e-20) || !isfinite(nn)) return -1;
        double s = 1.0 / sqrt(nn);
        for (size_t j = 0; j < N; j++) v[j] *= s;
    }
    return 0;
}

/* U's draws first (row by row, each entry's real then imaginary part, N(0, 1/2)
 * each: a standard complex Gaussian), then W_in's and the bias' as for the
 * tanh unit: one stream from the seed. W = rho U is stored in the esn's CSR
 * arrays with every entry present, values complex. */
pt_status pt_esn_create_phasor(const pt_esn_config *c, pt_esn **out)
{
    *out = NULL;
    size_t N = (size_t)c->units;
    double complex *A = pt_calloc(N * N, sizeof *A);
    if (!A) return pt_fail(PT_ENOMEM, "out of memory for the %zu x %zu unitary (esn.units)", N, N);
    pt_rng rng;
    pt_rng_seed(&rng, c->seed);
    for (size_t i = 0; i < N * N; i++) {
        double re = (double)pt_rng_normal(&rng), im = (double)pt_rng_normal(&rng);
        A[i] = CMPLX(re * PT_ESN_SQRT1_2, im * PT_ESN_SQRT1_2);
    }
    if (orthonormal_rows(A, N)) {
        free(A);
        return pt_fail(PT_ENOCONV, "esn: the draw of the unitary U (esn.units = %zu) is singular: try another esn.seed", N);
    }
    pt_esn *m = NULL;
    pt_status st = pt_esn_alloc(c, N * N, &m);
    if (st) {
        free(A);
        return st;
    }
    m->raw_radius = 1.0; /* unitary: every eigenvalue on the unit circle */
    for (size_t i = 0; i < N; i++) {
        m->row[i] = (int32_t)(i * N);
        for (size_t j = 0; j < N; j++) {
            size_t k = i * N + j;
            m->col[k] = (int32_t)j;
            m->val[2 * k] = c->spectral_radius * creal(A[k]), m->val[2 * k + 1] = c->spectral_radius * cimag(A[k]);
        }
    }
    m->row[N] = (int32_t)(N * N);
    free(A);
    pt_esn_draw_inputs(m, &rng);
    *out = m;
    return PT_OK;
}

/* z <- (1 - lr) z + lr sigma(W_in u + b + W z), sigma(a) = tanh(|a|) a / |a|
 * (sigma(0) = 0, its limit): all pre-activations from the old state, then the
 * update. The arrays are the esn's doubles read as <complex.h>'s double
 * complex (C11 6.2.5: the same representation and alignment as double[2]).
 * Four partial sums per row as in the tanh update. |sigma(a)| < 1, so with
 * z_0 = 0 every |z_i| stays below 1: the units are phasors of bounded
 * magnitude whatever rho. */
void pt_esn_step_phasor(pt_esn *m, const double *restrict u)
{
    const size_t N = m->N, D = m->D;
    const double lr = m->c.leak;
    const double complex *W = (const double complex *)m->val, *win = (const double complex *)m->win,
                         *b = (const double complex *)m->bias;
    double complex *restrict pre = (double complex *)m->pre, *restrict z = (double complex *)m->x;
    for (size_t i = 0; i < N; i++) {
        double complex s = b[i];
        for (size_t j = 0; j < D; j++) s += win[i * D + j] * u[j];
        double complex a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
        int32_t k = m->row[i], e = m->row[i + 1];
        for (; k + 4 <= e; k += 4) {
            a0 += W[k] * z[m->col[k]];
            a1 += W[k + 1] * z[m->col[k + 1]];
            a2 += W[k + 2] * z[m->col[k + 2]];
            a3 += W[k + 3] * z[m->col[k + 3]];
        }
        for (; k < e; k++) a0 += W[k] * z[m->col[k]];
        pre[i] = s + ((a0 + a1) + (a2 + a3));
    }
    for (size_t i = 0; i < N; i++) {
        double r = cabs(pre[i]), g = r > 0.0 ? tanh(r) / r : 1.0;
        z[i] = (1.0 - lr) * z[i] + (lr * g) * pre[i];
    }
    m->steps++;
}
