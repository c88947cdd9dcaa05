/* The local learning rules (docs/learning-rules.md): one update lowers |t - z|
 * for the updated neuron; the direction step equals -1/2 the gradient of
 * |t - z|^2 and the phase step equals -1/(2|z|^2) its phase derivative, both
 * checked against central differences; z ~ 0 is guarded; top-s selection. */
#include <complex.h>
#include <string.h>
#include "check.h"
#include "tower/tower_internal.h"

enum { D = 16 };

/* loss |t - (x.p) e^{i phi}|^2 in double */
static double loss(const double *p, double phi, const float *x, double complex t)
{
    double r = 0.0;
    for (int j = 0; j < D; j++) r += p[j] * (double)x[j];
    double complex z = r * cexp(CMPLX(0.0, phi));
    return creal((t - z) * conj(t - z));
}

static void make_block(pt_block *b, float *P, float *phi)
{
    memset(b, 0, sizeof *b);
    b->K = 1, b->s = 1, b->in_dim = D, b->P = P, b->phi = phi;
}

static float dotf(const float *a, const float *b)
{
    float s = 0.0f;
    for (int j = 0; j < D; j++) s += a[j] * b[j];
    return s;
}

/* The local rule, over 50 random trials (x, p unit vectors, a target t, a
 * phase phi0): its steps against central differences of the loss, then the
 * library's update: phase step alone, direction step alone, and one full
 * step lowering |t - z|; with a guard that enough of the gradients compared
 * were not trivially zero. c's eta, eta_phase and rule are set here. */
static void test_rule_gradients(pt_rng *rng, pt_tower_config *c)
{
    int checked_nontrivial = 0;
    for (int trial = 0; trial < 50; trial++) {
        float x[D], P[D], phi0 = (float)(6.283 * (double)pt_rng_uniform(rng) - 3.1415);
        for (int j = 0; j < D; j++) x[j] = pt_rng_normal(rng), P[j] = pt_rng_normal(rng);
        double nx = 0, np = 0;
        for (int j = 0; j < D; j++) nx += (double)(x[j] * x[j]), np += (double)(P[j] * P[j]);
        for (int j = 0; j < D; j++) x[j] /= (float)sqrt(nx), P[j] /= (float)sqrt(np);
        pt_c32 t = CMPLXF(pt_rng_normal(rng) * 0.5f, pt_rng_normal(rng) * 0.5f);
        float r = dotf(x, P);
        if (fabsf(r) < 0.05f) continue; /* keep the phase rule away from its guard */

        /* analytic quantities at the current point */
        double complex e = cexp(CMPLX(0.0, (double)phi0)), z = (double)r * e, delta = (double complex)t - z;
        double g_p = creal(delta * conj(e));      /* direction step factor */
        double g_phi = cimag(delta * conj(z));    /* Im(delta conj z) */

        /* central differences of the loss */
        double pd[D], h = 1e-6;
        for (int j = 0; j < D; j++) pd[j] = (double)P[j];
        for (int j = 0; j < D; j++) {
            double save = pd[j];
            pd[j] = save + h;
            double lp = loss(pd, (double)phi0, x, (double complex)t);
            pd[j] = save - h;
            double lm = loss(pd, (double)phi0, x, (double complex)t);
            pd[j] = save;
            double fd = (lp - lm) / (2 * h);
            /* p-rule: Re(delta e^{-i phi}) x = -1/2 dL/dp */
            CHECK_CLOSE(g_p * (double)x[j], -0.5 * fd, 1e-5, 1e-7);
        }
        double lp = loss(pd, (double)phi0 + h, x, (double complex)t), lm = loss(pd, (double)phi0 - h, x, (double complex)t);
        double fdphi = (lp - lm) / (2 * h);
        CHECK_CLOSE(g_phi, -0.5 * fdphi, 1e-5, 1e-7);
        if (fabs(fdphi) > 1e-3 && fabs(g_p) > 1e-3) checked_nontrivial++;

        /* the library's update: phase step = eta_phase * Im(delta/z) */
        pt_block b;
        float Pw[D], phw = phi0;
        memcpy(Pw, P, sizeof P);
        make_block(&b, Pw, &phw);
        c->eta = 0.0f, c->eta_phase = 1e-3f, c->rule = PT_RULE_LOCAL;
        pt_tower_neuron_update(&b, 0, x, 1.0f, t, c);
        double want = 1e-3 * g_phi / ((double)r * (double)r);
        CHECK_CLOSE((double)phw - (double)phi0, want, 1e-3, 1e-7);

        /* direction step alone, small: matches p + eta g x, renormalized */
        memcpy(Pw, P, sizeof P);
        phw = phi0;
        c->eta = 1e-3f, c->eta_phase = 0.0f;
        pt_tower_neuron_update(&b, 0, x, 1.0f, t, c);
        double nn = 0.0;
        for (int j = 0; j < D; j++) nn += (double)(Pw[j] * Pw[j]);
        CHECK_CLOSE(nn, 1.0, 1e-5, 1e-6); /* ||p|| stays 1 (analytic renormalization) */
        float ref[D];
        double nr = 0.0;
        for (int j = 0; j < D; j++) ref[j] = P[j] + 1e-3f * (float)g_p * x[j], nr += (double)(ref[j] * ref[j]);
        for (int j = 0; j < D; j++) CHECK_CLOSE(Pw[j], (double)ref[j] / sqrt(nr), 1e-4, 1e-6);

        /* one full local update (both rules' steps) lowers |t - z| */
        memcpy(Pw, P, sizeof P);
        phw = phi0;
        c->eta = 0.05f, c->eta_phase = 0.05f;
        pt_tower_neuron_update(&b, 0, x, 1.0f, t, c);
        double before = cabs((double complex)t - z);
        double complex z2 = (double)dotf(x, Pw) * cexp(CMPLX(0.0, (double)phw));
        double after = cabs((double complex)t - z2);
        CHECK(after < before || before < 1e-6);
    }
    CHECK(checked_nontrivial >= 20); /* the gradients compared were not trivially zero */
}

/* z ~ 0: the phase is left alone and everything stays finite (with the
 * local rule that test_rule_gradients leaves in c) */
static void test_zero_guard(pt_tower_config *c)
{
    float x[D] = {0}, P[D] = {0}, ph = 0.3f;
    x[0] = 1.0f, P[1] = 1.0f; /* orthogonal: r = 0 */
    pt_block b;
    make_block(&b, P, &ph);
    c->eta = 0.1f, c->eta_phase = 0.1f;
    pt_tower_neuron_update(&b, 0, x, 1.0f, CMPLXF(1.0f, 1.0f), c);
    CHECK(ph == 0.3f);
    for (int j = 0; j < D; j++) CHECK(isfinite(P[j]));
}

/* the paper's rule equals the local rule when phi = 0 */
static void test_paper_equals_local(pt_tower_config *c)
{
    float x[D], P1[D], P2[D], ph1 = 0.0f, ph2 = 0.0f;
    for (int j = 0; j < D; j++) x[j] = 0.25f, P1[j] = P2[j] = (j % 2 ? 0.25f : -0.25f);
    pt_block b1, b2;
    make_block(&b1, P1, &ph1);
    make_block(&b2, P2, &ph2);
    c->eta = 0.1f, c->eta_phase = 0.0f;
    c->rule = PT_RULE_LOCAL;
    pt_tower_neuron_update(&b1, 0, x, 1.0f, CMPLXF(0.7f, 0.2f), c);
    c->rule = PT_RULE_PAPER;
    pt_tower_neuron_update(&b2, 0, x, 1.0f, CMPLXF(0.7f, 0.2f), c);
    for (int j = 0; j < D; j++) CHECK(P1[j] == P2[j]);
    CHECK(P1[0] != -0.25f); /* it did move */
}

/* many successive updates of one neuron, as within a mini-batch, with a
 * large step and the paper's (non-descent) rule: p stays a unit vector and
 * finite. (The first version reused the batch's stale x.p in the fused
 * renormalization, and the paper's reference tower diverged.) */
static void test_many_updates(pt_rng *rng, pt_tower_config *c)
{
    float P[D], ph = 0.5f;
    for (int j = 0; j < D; j++) P[j] = j == 0 ? 1.0f : 0.0f;
    pt_block b;
    make_block(&b, P, &ph);
    c->eta = 0.8f, c->eta_phase = 0.3f, c->rule = PT_RULE_PAPER;
    for (int it = 0; it < 2000; it++) {
        float x[D];
        double nx = 0.0;
        for (int j = 0; j < D; j++) x[j] = pt_rng_normal(rng), nx += (double)(x[j] * x[j]);
        for (int j = 0; j < D; j++) x[j] /= (float)sqrt(nx);
        pt_tower_neuron_update(&b, 0, x, 1.0f, CMPLXF(pt_rng_normal(rng), pt_rng_normal(rng)), c);
    }
    double nn = 0.0;
    for (int j = 0; j < D; j++) nn += (double)(P[j] * P[j]);
    CHECK_CLOSE(nn, 1.0, 1e-4, 1e-5);
    CHECK(isfinite(ph));
}

/* soft selection: the s best are active, the threshold is the (s+1)-th
 * score; hard selection has none; s == K leaves nothing to threshold */
static void test_select(void)
{
    const float sc[5] = {0.9f, 0.1f, 0.5f, 0.3f, -0.2f};
    int act[4], mark[5] = {0};
    float th = pt_block_select(act, sc, 5, 3, PT_SELECT_SOFT);
    CHECK(th == 0.1f && act[3] == 1);
    for (int a = 0; a < 3; a++) mark[act[a]]++;
    CHECK(mark[0] == 1 && mark[2] == 1 && mark[3] == 1 && mark[1] == 0);
    CHECK(pt_block_select(act, sc, 5, 3, PT_SELECT_HARD) == 0.0f);
    int all[6];
    CHECK(pt_block_select(all, sc, 5, 5, PT_SELECT_SOFT) == 0.0f);
}

/* top-s selection against a full sort, with ties broken by index */
static void test_select_top(pt_rng *rng)
{
    for (int trial = 0; trial < 200; trial++) {
        int K = 1 + (int)(pt_rng_u64(rng) % 300), s = 1 + (int)(pt_rng_u64(rng) % (uint64_t)K);
        float sc[300];
        int idx[300], mark[300] = {0};
        for (int k = 0; k < K; k++) sc[k] = (float)(pt_rng_u64(rng) % 17) - 8.0f; /* many ties */
        pt_select_top(idx, sc, K, s);
        for (int a = 0; a < s; a++) {
            CHECK(idx[a] >= 0 && idx[a] < K);
            if (idx[a] >= 0 && idx[a] < K) mark[idx[a]]++;
        }
        /* every selected beats (or ties with lower index) every unselected */
        for (int k = 0; k < K; k++) {
            CHECK(mark[k] <= 1);
            if (!mark[k]) continue;
            for (int q = 0; q < K; q++)
                if (!mark[q]) CHECK(sc[k] > sc[q] || (sc[k] == sc[q] && k < q));
        }
    }
}

int main(void)
{
    pt_rng rng;
    pt_rng_seed(&rng, 11);
    pt_tower_config c = pt_tower_config_default();
    test_rule_gradients(&rng, &c);
    test_zero_guard(&c);
    test_paper_equals_local(&c);
    test_many_updates(&rng, &c);
    test_select();
    test_select_top(&rng);
    TEST_END();
}
