/* Adam (Kingma & Ba 2015) and SGD with momentum, Nesterov and weight decay
 * (docs/numerics.md). One allocation per optimiser: the struct and its state
 * vectors. Every step is float arithmetic in a fixed order, so the same
 * gradients give the same bits in one build; Adam's loop is the one
 * src/phasor/mlp.c has always used, so a trainer moved onto pt_adam keeps its
 * bits. Across builds they may differ: the compiler runs in gnu mode and
 * contracts a * b + c into an FMA under -march=native (docs/numerics.md). */
#include <math.h>
#include <string.h>
#include "internal.h"
#include "phasetower/optim.h"

/* Largest parameter vector: the state must stay far from SIZE_MAX. */
#define PT_OPTIM_MAX_N ((size_t)1 << 40)

struct pt_adam {
    pt_adam_config cfg;
    size_t n;
    long step;        /* t: steps taken */
    float *m1, *m2;   /* (n) first and second moments, in mem */
    float mem[];      /* (2 n) */
};

struct pt_sgd {
    pt_sgd_config cfg;
    size_t n;
    float v[]; /* (n) velocity */
};

pt_adam_config pt_adam_config_default(void)
{
    pt_adam_config c = {1e-3f, 0.9f, 0.999f, 1e-8f};
    return c;
}

pt_status pt_adam_config_check(const pt_adam_config *c)
{
    if (!(c->lr > 0.0f) || !isfinite(c->lr))
        return pt_fail(PT_EINVAL, "adam: lr %g must be finite and > 0", (double)c->lr);
    if (!(c->beta1 >= 0.0f && c->beta1 < 1.0f))
        return pt_fail(PT_EINVAL, "adam: beta1 %g must be in [0, 1)", (double)c->beta1);
    if (!(c->beta2 >= 0.0f && c->beta2 < 1.0f))
        return pt_fail(PT_EINVAL, "adam: beta2 %g must be in [0, 1)", (double)c->beta2);
    if (!(c->eps > 0.0f) || !isfinite(c->eps))
        return pt_fail(PT_EINVAL, "adam: eps %g must be finite and > 0", (double)c->eps);
    return PT_OK;
}

static pt_status check_n(const char *who, size_t n)
{
    if (n == 0 || n > PT_OPTIM_MAX_N) return pt_fail(PT_EINVAL, "%s: n = %zu parameters (need 1..2^40)", who, n);
    return PT_OK;
}

pt_status pt_adam_create(const pt_adam_config *c, size_t n, pt_adam **out)
{
    *out = NULL;
    pt_status st = pt_adam_config_check(c);
    if (st || (st = check_n("adam", n))) return st;
    pt_adam *a = pt_calloc(1, sizeof *a + 2 * n * sizeof(float));
    if (!a) return pt_fail(PT_ENOMEM, "out of memory for adam state of %zu parameters", n);
    a->cfg = *c;
    a->n = n;
    a->m1 = a->mem;
    a->m2 = a->m1 + n;
    *out = a;
    return PT_OK;
}

void pt_adam_destroy(pt_adam *a) { free(a); }

void pt_adam_step(pt_adam *a, float *theta, const float *grad)
{
    const float b1 = a->cfg.beta1, b2 = a->cfg.beta2, lr = a->cfg.lr, eps = a->cfg.eps;
    float *restrict m1 = a->m1, *restrict m2 = a->m2;
    const size_t n = a->n;
    /* The bias corrections c1, c2 undo the zero start of the moments: after
     * t steps of a constant gradient g, m1 = (1 - b1^t) g. The expression
     * order below is a contract (optim.h): do not regroup it. */
    a->step++;
    float c1 = 1.0f - powf(b1, (float)a->step), c2 = 1.0f - powf(b2, (float)a->step);
    for (size_t k = 0; k < n; k++) {
        float g = grad[k];
        m1[k] = b1 * m1[k] + (1.0f - b1) * g;
        m2[k] = b2 * m2[k] + (1.0f - b2) * g * g;
        theta[k] -= lr * (m1[k] / c1) / (sqrtf(m2[k] / c2) + eps);
    }
}

void pt_adam_step_rows(pt_adam *a, float *theta, const float *grad, const size_t *rows, size_t nrows, size_t width)
{
    const float b1 = a->cfg.beta1, b2 = a->cfg.beta2, lr = a->cfg.lr, eps = a->cfg.eps;
    float *restrict m1 = a->m1, *restrict m2 = a->m2;
    PT_ASSERT(width > 0 && a->n % width == 0);
    /* the same expressions, in the same order, as pt_adam_step: a row's
     * update does not depend on which other rows are listed */
    a->step++;
    float c1 = 1.0f - powf(b1, (float)a->step), c2 = 1.0f - powf(b2, (float)a->step);
    for (size_t r = 0; r < nrows; r++) {
        PT_ASSERT(rows[r] < a->n / width);
        for (size_t k = rows[r] * width, e = k + width; k < e; k++) {
            float g = grad[k];
            m1[k] = b1 * m1[k] + (1.0f - b1) * g;
            m2[k] = b2 * m2[k] + (1.0f - b2) * g * g;
            theta[k] -= lr * (m1[k] / c1) / (sqrtf(m2[k] / c2) + eps);
        }
    }
}

long pt_adam_steps(const pt_adam *a) { return a->step; }
size_t pt_adam_size(const pt_adam *a) { return a->n; }

float *pt_adam_moment(pt_adam *a, int which) { return which == 2 ? a->m2 : a->m1; }
const float *pt_adam_moment_const(const pt_adam *a, int which) { return which == 2 ? a->m2 : a->m1; }
void pt_adam_set_steps(pt_adam *a, long t) { a->step = t; }
void pt_adam_set_lr(pt_adam *a, float lr) { a->cfg.lr = lr; }

pt_sgd_config pt_sgd_config_default(void)
{
    pt_sgd_config c = {0.01f, 0.0f, 0.0f, 0};
    return c;
}

pt_status pt_sgd_config_check(const pt_sgd_config *c)
{
    if (!(c->lr > 0.0f) || !isfinite(c->lr))
        return pt_fail(PT_EINVAL, "sgd: lr %g must be finite and > 0", (double)c->lr);
    if (!(c->momentum >= 0.0f && c->momentum < 1.0f))
        return pt_fail(PT_EINVAL, "sgd: momentum %g must be in [0, 1)", (double)c->momentum);
    if (!(c->weight_decay >= 0.0f) || !isfinite(c->weight_decay))
        return pt_fail(PT_EINVAL, "sgd: weight_decay %g must be finite and >= 0", (double)c->weight_decay);
    if (c->nesterov != 0 && c->nesterov != 1) return pt_fail(PT_EINVAL, "sgd: nesterov %d must be 0 or 1", c->nesterov);
    if (c->nesterov && c->momentum == 0.0f) return pt_fail(PT_EINVAL, "sgd: nesterov needs momentum > 0");
    return PT_OK;
}

pt_status pt_sgd_create(const pt_sgd_config *c, size_t n, pt_sgd **out)
{
    *out = NULL;
    pt_status st = pt_sgd_config_check(c);
    if (st || (st = check_n("sgd", n))) return st;
    pt_sgd *s = pt_calloc(1, sizeof *s + n * sizeof(float));
    if (!s) return pt_fail(PT_ENOMEM, "out of memory for sgd state of %zu parameters", n);
    s->cfg = *c;
    s->n = n;
    *out = s;
    return PT_OK;
}

void pt_sgd_destroy(pt_sgd *s) { free(s); }

void pt_sgd_step(pt_sgd *s, float *theta, const float *grad)
{
    const float lr = s->cfg.lr, mu = s->cfg.momentum, wd = s->cfg.weight_decay;
    const int nesterov = s->cfg.nesterov;
    float *restrict v = s->v;
    const size_t n = s->n;
    /* Weight decay is an L2 term added to the gradient (coupled), not a
     * decoupled shrink. Nesterov keeps the look-ahead point as the iterate
     * (Bengio et al. 2013's change of variables), so it needs only the
     * gradient at theta: the step is g' + mu v instead of v. */
    for (size_t k = 0; k < n; k++) {
        float g = grad[k] + wd * theta[k];
        v[k] = mu * v[k] + g;
        theta[k] -= lr * (nesterov ? g + mu * v[k] : v[k]);
    }
}
