/* Optimisers: Adam against two steps worked by hand and against the float
 * expression its header promises (bit for bit), Adam and SGD minimizing a
 * convex quadratic, bit-identical repeats, Nesterov against plain momentum,
 * weight decay alone, and bad configurations. */
#include <math.h>
#include <string.h>
#include "check.h"
#include "phasetower/optim.h"

enum { NQ = 8 };

/* f(theta) = 1/2 sum_k a_k (theta_k - c_k)^2, gradient a_k (theta_k - c_k) */
static const float qa[NQ] = {0.5f, 1.0f, 4.0f, 2.0f, 0.75f, 3.0f, 1.5f, 2.5f};
static const float qc[NQ] = {1.0f, -2.0f, 0.5f, 3.0f, -1.0f, 0.0f, 2.0f, -0.5f};

static void qgrad(const float *th, float *g)
{
    for (int k = 0; k < NQ; k++) g[k] = qa[k] * (th[k] - qc[k]);
}

static double qloss(const float *th)
{
    double s = 0.0;
    for (int k = 0; k < NQ; k++) {
        double d = (double)th[k] - (double)qc[k];
        s += 0.5 * (double)qa[k] * d * d;
    }
    return s;
}

static double qdist(const float *th)
{
    double s = 0.0;
    for (int k = 0; k < NQ; k++) s = fmax(s, fabs((double)th[k] - (double)qc[k]));
    return s;
}

static void adam_by_hand(void)
{
    pt_adam_config c = pt_adam_config_default();
    CHECK(c.lr == 1e-3f && c.beta1 == 0.9f && c.beta2 == 0.999f && c.eps == 1e-8f && pt_adam_config_check(&c) == PT_OK);
    c.lr = 0.1f;
    pt_adam *a = NULL;
    CHECK(pt_adam_create(&c, 4, &a) == PT_OK && pt_adam_size(a) == 4 && pt_adam_steps(a) == 0);
    float th[4] = {1.0f, -2.0f, 0.5f, 3.0f};
    const float g1[4] = {0.5f, -1.0f, 0.0f, 2.0f}, g2[4] = {0.25f, 0.5f, -1.0f, 2.0f};
    /* Step 1: m = 0.1 g, v = 0.001 g^2, corrections 0.1 and 0.001, so
     * m^ = g, v^ = g^2 and theta -= 0.1 g / (|g| + eps): 0.1 sign(g), 0 for g = 0. */
    pt_adam_step(a, th, g1);
    CHECK(pt_adam_steps(a) == 1);
    const double t1[4] = {0.9, -1.9, 0.5, 2.9};
    for (int k = 0; k < 4; k++) CHECK_CLOSE(th[k], t1[k], 1e-6, 1e-7);
    /* Step 2: c1 = 1 - 0.81 = 0.19, c2 = 1 - 0.998001 = 0.001999.
     *  k=0: m = 0.09*0.5 + 0.1*0.25 = 0.07, v = 0.999e-3*0.25 + 1e-3*0.0625 = 3.1225e-4;
     *       0.1 * (0.07/0.19) / sqrt(3.1225e-4/0.001999) = 0.0932180 -> 0.8067820
     *  k=1: m = -0.09 + 0.05 = -0.04, v = 0.999e-3 + 0.25e-3 = 1.249e-3;
     *       0.1 * (-0.04/0.19) / sqrt(1.249e-3/0.001999) = -0.0266337 -> -1.8733663
     *  k=2: m = -0.1, v = 1e-3: 0.1 * (-0.1/0.19) / sqrt(1e-3/0.001999) = -0.0744137 -> 0.5744137
     *  k=3: a constant gradient: m^ = g, v^ = g^2, a step of exactly lr -> 2.8 */
    pt_adam_step(a, th, g2);
    CHECK(pt_adam_steps(a) == 2);
    const double t2[4] = {0.806782040477, -1.87336629737, 0.574413681305, 2.800000001};
    for (int k = 0; k < 4; k++) CHECK_CLOSE(th[k], t2[k], 1e-6, 1e-7);
    pt_adam_destroy(a);
}

/* The header's float expression, written out: pt_adam_step must match it bit for bit. */
static void adam_replica_step(float *th, float *m1, float *m2, long *step, const float *grad, size_t n,
                              pt_adam_config c)
{
    const float b1 = c.beta1, b2 = c.beta2, lr = c.lr, eps = c.eps;
    (*step)++;
    float c1 = 1.0f - powf(b1, (float)*step), c2 = 1.0f - powf(b2, (float)*step);
    for (size_t k = 0; k < n; k++) {
        float g = grad[k];
        m1[k] = b1 * m1[k] + (1.0f - b1) * g;
        m2[k] = b2 * m2[k] + (1.0f - b2) * g * g;
        th[k] -= lr * (m1[k] / c1) / (sqrtf(m2[k] / c2) + eps);
    }
}

static void adam_quadratic_and_bits(void)
{
    pt_adam_config c = pt_adam_config_default();
    c.lr = 0.01f;
    pt_adam *a = NULL, *b = NULL;
    CHECK(pt_adam_create(&c, NQ, &a) == PT_OK && pt_adam_create(&c, NQ, &b) == PT_OK);
    float th[NQ] = {0}, th2[NQ] = {0}, thr[NQ] = {0}, g[NQ], m1[NQ] = {0}, m2[NQ] = {0};
    long step = 0;
    double l0 = qloss(th);
    for (int it = 0; it < 3000; it++) {
        qgrad(th, g);
        pt_adam_step(a, th, g);
        qgrad(th2, g);
        pt_adam_step(b, th2, g);
        qgrad(thr, g);
        adam_replica_step(thr, m1, m2, &step, g, NQ, c);
    }
    CHECK(pt_adam_steps(a) == 3000);
    CHECK(memcmp(th, th2, sizeof th) == 0);  /* same gradients, same bits */
    CHECK(memcmp(th, thr, sizeof th) == 0);  /* the documented expression, bit for bit */
    CHECK(qloss(th) < 1e-6 * l0);
    CHECK(qdist(th) < 1e-2);
    pt_adam_destroy(a), pt_adam_destroy(b);
}

static void sgd_quadratic(void)
{
    pt_sgd_config d = pt_sgd_config_default();
    CHECK(d.lr == 0.01f && d.momentum == 0.0f && d.weight_decay == 0.0f && d.nesterov == 0);
    CHECK(pt_sgd_config_check(&d) == PT_OK);
    for (int variant = 0; variant < 3; variant++) {
        pt_sgd_config c = d;
        c.lr = 0.1f;
        c.momentum = variant == 0 ? 0.0f : 0.8f;
        c.nesterov = variant == 2;
        pt_sgd *s = NULL, *s2 = NULL;
        CHECK(pt_sgd_create(&c, NQ, &s) == PT_OK && pt_sgd_create(&c, NQ, &s2) == PT_OK);
        float th[NQ] = {0}, th2[NQ] = {0}, g[NQ];
        double l0 = qloss(th);
        for (int it = 0; it < 400; it++) {
            qgrad(th, g);
            pt_sgd_step(s, th, g);
            qgrad(th2, g);
            pt_sgd_step(s2, th2, g);
        }
        CHECK(memcmp(th, th2, sizeof th) == 0);
        CHECK(qloss(th) < 1e-10 * l0);
        CHECK(qdist(th) < 1e-4);
        pt_sgd_destroy(s), pt_sgd_destroy(s2);
    }
}

static void sgd_nesterov_and_decay(void)
{
    /* First step from v = 0: plain momentum moves lr g, Nesterov lr (1 + mu) g;
     * after that the two paths differ. */
    pt_sgd_config c = pt_sgd_config_default();
    c.lr = 0.1f, c.momentum = 0.5f;
    pt_sgd *p = NULL, *q = NULL;
    CHECK(pt_sgd_create(&c, NQ, &p) == PT_OK);
    c.nesterov = 1;
    CHECK(pt_sgd_create(&c, NQ, &q) == PT_OK);
    float tp[NQ] = {0}, tq[NQ] = {0}, g[NQ];
    qgrad(tp, g);
    pt_sgd_step(p, tp, g);
    pt_sgd_step(q, tq, g);
    for (int k = 0; k < NQ; k++) {
        CHECK(tp[k] == -0.1f * g[k]);
        CHECK_CLOSE(tq[k], -0.15 * (double)g[k], 1e-6, 0);
    }
    int differ = 0;
    for (int it = 0; it < 5; it++) {
        qgrad(tp, g);
        pt_sgd_step(p, tp, g);
        qgrad(tq, g);
        pt_sgd_step(q, tq, g);
    }
    for (int k = 0; k < NQ; k++) differ += fabsf(tp[k] - tq[k]) > 1e-3f;
    CHECK(differ == NQ - 1); /* all but k = 5, whose minimum is the start */
    pt_sgd_destroy(p), pt_sgd_destroy(q);

    /* weight decay alone (zero gradient): theta shrinks by (1 - lr wd) per step */
    c = pt_sgd_config_default();
    c.lr = 0.1f, c.weight_decay = 0.1f;
    CHECK(pt_sgd_create(&c, NQ, &p) == PT_OK);
    float th[NQ], zero[NQ] = {0};
    memcpy(th, qc, sizeof th);
    for (int it = 0; it < 200; it++) pt_sgd_step(p, th, zero);
    for (int k = 0; k < NQ; k++) CHECK_CLOSE(th[k], (double)qc[k] * pow(0.99, 200), 1e-4, 1e-7);
    CHECK(fabs((double)th[1]) < 0.3 * fabs((double)qc[1]));
    pt_sgd_destroy(p);
    /* with momentum as well it still goes to 0 */
    c.momentum = 0.9f;
    CHECK(pt_sgd_create(&c, NQ, &p) == PT_OK);
    memcpy(th, qc, sizeof th);
    for (int it = 0; it < 2000; it++) pt_sgd_step(p, th, zero);
    for (int k = 0; k < NQ; k++) CHECK(fabsf(th[k]) < 1e-4f);
    pt_sgd_destroy(p);
}

static void bad_config(void)
{
    pt_adam *a = NULL;
    pt_adam_config c = pt_adam_config_default();
    CHECK(pt_adam_create(&c, 0, &a) == PT_EINVAL && a == NULL);
    const float bad_lr[] = {NAN, 0.0f, -1.0f, INFINITY};
    for (int i = 0; i < 4; i++) {
        c = pt_adam_config_default();
        c.lr = bad_lr[i];
        CHECK(pt_adam_config_check(&c) == PT_EINVAL && strstr(pt_errmsg(), "lr") != NULL);
        CHECK(pt_adam_create(&c, 4, &a) == PT_EINVAL && a == NULL);
    }
    const float bad_beta[] = {1.0f, -0.1f, NAN, 1.5f};
    for (int i = 0; i < 4; i++) {
        c = pt_adam_config_default();
        c.beta1 = bad_beta[i];
        CHECK(pt_adam_config_check(&c) == PT_EINVAL && strstr(pt_errmsg(), "beta1") != NULL);
        c = pt_adam_config_default();
        c.beta2 = bad_beta[i];
        CHECK(pt_adam_config_check(&c) == PT_EINVAL && strstr(pt_errmsg(), "beta2") != NULL);
    }
    c = pt_adam_config_default();
    c.beta1 = 0.0f, c.beta2 = 0.0f; /* edges that are allowed */
    CHECK(pt_adam_config_check(&c) == PT_OK);
    c = pt_adam_config_default();
    c.eps = 0.0f;
    CHECK(pt_adam_config_check(&c) == PT_EINVAL && strstr(pt_errmsg(), "eps") != NULL);
    c.eps = NAN;
    CHECK(pt_adam_config_check(&c) == PT_EINVAL && strstr(pt_errmsg(), "eps") != NULL);

    pt_sgd *s = NULL;
    pt_sgd_config d = pt_sgd_config_default();
    CHECK(pt_sgd_create(&d, 0, &s) == PT_EINVAL && s == NULL);
    d.lr = NAN;
    CHECK(pt_sgd_config_check(&d) == PT_EINVAL && strstr(pt_errmsg(), "lr") != NULL);
    CHECK(pt_sgd_create(&d, 4, &s) == PT_EINVAL && s == NULL);
    d = pt_sgd_config_default();
    d.momentum = 1.0f;
    CHECK(pt_sgd_config_check(&d) == PT_EINVAL && strstr(pt_errmsg(), "momentum") != NULL);
    d.momentum = -0.5f;
    CHECK(pt_sgd_config_check(&d) == PT_EINVAL && strstr(pt_errmsg(), "momentum") != NULL);
    d = pt_sgd_config_default();
    d.weight_decay = -1.0f;
    CHECK(pt_sgd_config_check(&d) == PT_EINVAL && strstr(pt_errmsg(), "weight_decay") != NULL);
    d.weight_decay = INFINITY;
    CHECK(pt_sgd_config_check(&d) == PT_EINVAL && strstr(pt_errmsg(), "weight_decay") != NULL);
    d = pt_sgd_config_default();
    d.nesterov = 1; /* without momentum */
    CHECK(pt_sgd_config_check(&d) == PT_EINVAL && strstr(pt_errmsg(), "nesterov") != NULL);
    d.momentum = 0.9f, d.nesterov = 2;
    CHECK(pt_sgd_config_check(&d) == PT_EINVAL && strstr(pt_errmsg(), "nesterov") != NULL);
    d.nesterov = 1;
    CHECK(pt_sgd_config_check(&d) == PT_OK);
    pt_adam_destroy(NULL);
    pt_sgd_destroy(NULL);
}

/* lazy Adam on rows: listing every row (in any order) gives pt_adam_step's
 * bits; a step moves the listed rows only, and counts as a step */
static void adam_rows(void)
{
    enum { R = 5, W = 3, N = R * W };
    pt_adam_config c = pt_adam_config_default();
    c.lr = 0.05f;
    pt_adam *a = NULL, *b = NULL;
    CHECK(pt_adam_create(&c, N, &a) == PT_OK && pt_adam_create(&c, N, &b) == PT_OK);
    float ta[N], tb[N], g[N];
    for (int k = 0; k < N; k++) ta[k] = tb[k] = 0.1f * (float)k - 0.5f;
    size_t all[R] = {4, 0, 3, 1, 2}; /* any order */
    for (int s = 0; s < 20; s++) {
        for (int k = 0; k < N; k++) g[k] = sinf((float)(s * N + k));
        pt_adam_step(a, ta, g);
        pt_adam_step_rows(b, tb, g, all, R, W);
    }
    CHECK(!memcmp(ta, tb, sizeof ta) && pt_adam_steps(b) == 20);
    float before[N];
    memcpy(before, tb, sizeof tb);
    size_t some[2] = {1, 3};
    for (int k = 0; k < N; k++) g[k] = 1.0f;
    pt_adam_step_rows(b, tb, g, some, 2, W);
    CHECK(pt_adam_steps(b) == 21);
    for (int k = 0; k < N; k++) {
        int listed = k / W == 1 || k / W == 3;
        CHECK(listed ? tb[k] != before[k] : tb[k] == before[k]);
    }
    pt_adam_destroy(a), pt_adam_destroy(b);
}

int main(void)
{
    adam_by_hand();
    adam_quadratic_and_bits();
    sgd_quadratic();
    sgd_nesterov_and_decay();
    bad_config();
    adam_rows();
    TEST_END();
}
