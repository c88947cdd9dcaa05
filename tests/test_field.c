/* The field model: the exact spectral norm against power iteration on the
 * operator and the adjoint against the operator; every gradient mode
 * against central differences (implicit and unroll, both activations,
 * global and grid readouts); implicit differentiation against backprop
 * through a long unroll of a converged solve; JFB pointing downhill;
 * training that learns; save/load round trips (bit-identical predictions),
 * resume after an epoch equal to an uninterrupted run; determinism; bad
 * configurations. */
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "field/field_internal.h"

enum { H = 6, W = 6, NIMG = 4 };

/* images: a bright blob left (class 0) or right (class 1), with noise */
static void make_data(float *x, uint8_t *y, size_t n, uint64_t seed, int h, int w)
{
    pt_rng r;
    pt_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        y[i] = (uint8_t)(i % 2);
        for (int p = 0; p < h * w; p++) {
            int col = p % w;
            float v = (y[i] ? col >= w / 2 : col < w / 2) ? 0.8f : 0.1f;
            x[i * (size_t)(h * w) + (size_t)p] = v + 0.2f * pt_rng_uniform(&r);
        }
    }
}

static pt_field_config small(pt_field_act act, int pool, pt_field_gradmode g)
{
    pt_field_config c = pt_field_config_default();
    c.height = H, c.width = W, c.n_classes = 3, c.channels = 3, c.act = act, c.pool = pool;
    c.gain = 0.6f, c.tol = 1e-6, c.max_iter = 300, c.grad = g, c.unroll = 5, c.seed = 7;
    return c;
}

static void spectral(void)
{
    pt_field_config c = small(PT_FIELD_MODRELU, 1, PT_FIELD_IMPLICIT);
    c.act_bias = 0.0f; /* modReLU with bias 0 is the identity: apply() is then the convolution */
    c.height = 5, c.width = 7;
    pt_field *m = NULL;
    CHECK(pt_field_create(&c, &m) == PT_OK);
    if (!m) return;
    fwork w;
    CHECK(pt_field_work_create(m, 1, 0, 0, &w) == PT_OK);
    size_t nz = m->nz;
    float *z = calloc(nz, sizeof *z), *a = calloc(nz, sizeof *a), *pre = calloc(nz, sizeof *pre),
          *zero = calloc(nz, sizeof *zero), *v = calloc(nz, sizeof *v), *b = calloc(nz, sizeof *b);
    pt_rng r;
    pt_rng_seed(&r, 3);
    for (size_t k = 0; k < nz; k++) z[k] = pt_rng_normal(&r), v[k] = pt_rng_normal(&r);
    /* the adjoint: <A z, v> = <z, A^H v> (real inner products of the interleaved vectors) */
    pt_field_apply(m, &w, z, 1, NULL, zero, pre, a);
    pt_field_conv_adj(m, &w, v, 1, b);
    double l = 0.0, rr = 0.0;
    for (size_t k = 0; k < nz; k++) l += (double)a[k] * (double)v[k], rr += (double)z[k] * (double)b[k];
    CHECK_CLOSE(l, rr, 1e-4, 1e-4);
    /* power iteration on A^H A: ||A|| = gain */
    double norm = 0.0;
    for (int it = 0; it < 3000; it++) {
        double s = 0.0;
        for (size_t k = 0; k < nz; k++) s += (double)z[k] * (double)z[k];
        for (size_t k = 0; k < nz; k++) z[k] = (float)((double)z[k] / sqrt(s));
        pt_field_apply(m, &w, z, 1, NULL, zero, pre, a);
        pt_field_conv_adj(m, &w, a, 1, b);
        double q = 0.0;
        for (size_t k = 0; k < nz; k++) q += (double)z[k] * (double)b[k];
        norm = sqrt(q);
        memcpy(z, b, nz * sizeof *z);
    }
    CHECK_CLOSE(norm, (double)c.gain, 2e-3, 0.0);
    double sn = 0.0, L = 0.0;
    int ky = -1, kx = -1, ok = -1;
    CHECK(pt_field_spectral(m, &sn, &ky, &kx, &L, &ok) == PT_OK);
    CHECK(sn > 0.0 && ky >= 0 && ky < 5 && kx >= 0 && kx < 7 && ok == 1 && fabs(L - 0.6) < 1e-6);
    free(z), free(a), free(pre), free(zero), free(v), free(b);
    pt_field_work_free(&w);
    pt_field_destroy(m);
    /* the cardioid's bound, and a gain that guarantees nothing */
    c.act = PT_FIELD_CARDIOID, c.gain = 0.95f;
    CHECK(pt_field_create(&c, &m) == PT_OK);
    CHECK(pt_field_spectral(m, NULL, NULL, NULL, &L, &ok) == PT_OK && ok == 0 && fabs(L - 0.95 * 1.0663552) < 1e-6);
    pt_field_destroy(m);
}

/* central differences of the mean loss at a sample of parameters */
static double fd_check(pt_field *m, const float *x, const uint8_t *y, size_t n, const float *g, int stride)
{
    float *th = pt_field_params(m);
    size_t np = pt_field_param_count(m);
    double worst = 0.0;
    for (size_t i = 0; i < np; i += (size_t)stride) {
        float keep = th[i], h = 2e-3f * fmaxf(1.0f, fabsf(keep));
        double lp = 0.0, lm = 0.0;
        float *tmp = calloc(np, sizeof *tmp);
        th[i] = keep + h;
        pt_field_params_changed(m);
        pt_field_grad(m, x, y, n, &lp, tmp, NULL);
        th[i] = keep - h;
        pt_field_params_changed(m);
        pt_field_grad(m, x, y, n, &lm, tmp, NULL);
        th[i] = keep;
        pt_field_params_changed(m);
        free(tmp);
        double fd = (lp - lm) / (2.0 * (double)h), e = fabs(fd - (double)g[i]) / (fabs((double)g[i]) + 2e-3);
        if (e > worst) worst = e;
        if (e > 0.03) fprintf(stderr, "param %zu: analytic %.6g, central differences %.6g\n", i, (double)g[i], fd);
    }
    return worst;
}

static void gradients(void)
{
    float x[NIMG * H * W];
    uint8_t y[NIMG];
    make_data(x, y, NIMG, 5, H, W);
    for (int act = 0; act < 2; act++)
        for (int pool = 1; pool <= 4; pool += 1 + (pool == 2)) /* 4: cells of 1 and 2 rows on 6 x 6 */
            for (int mode = 0; mode < 3; mode += 2) { /* implicit and unroll */
                pt_field_config c = small((pt_field_act)act, pool, (pt_field_gradmode)mode);
                c.solver = act ? PT_FIELD_NAIVE : PT_FIELD_ANDERSON;
                c.act_bias = -0.05f;
                pt_field *m = NULL;
                CHECK(pt_field_create(&c, &m) == PT_OK);
                if (!m) continue;
                /* nonzero biases, so every path matters */
                float *th = pt_field_params(m);
                for (size_t i = 0; i < 2 * 3; i++) m->eb[i] = 0.1f * (float)i - 0.2f;
                pt_field_params_changed(m);
                (void)th;
                size_t np = pt_field_param_count(m);
                float *g = calloc(np, sizeof *g);
                double loss = 0.0;
                pt_field_stats st = {0};
                CHECK(pt_field_grad(m, x, y, NIMG, &loss, g, &st) == PT_OK);
                CHECK(loss > 0.0 && isfinite(loss));
                if (mode == 0) CHECK(st.unconverged == 0 && st.adjoint_unconverged == 0 && st.adjoint_solves == NIMG);
                double worst = fd_check(m, x, y, NIMG, g, 3);
                if (worst > 0.03) fprintf(stderr, "act %d pool %d mode %d: worst relative error %.3g\n", act, pool, mode, worst);
                CHECK(worst < 0.03);
                free(g);
                pt_field_destroy(m);
            }
}

/* implicit differentiation = backprop through a long unroll of a converged
 * solve; JFB points downhill */
static void implicit_vs_unroll(void)
{
    float x[NIMG * H * W];
    uint8_t y[NIMG];
    make_data(x, y, NIMG, 6, H, W);
    pt_field_config c = small(PT_FIELD_MODRELU, 2, PT_FIELD_IMPLICIT);
    c.tol = 1e-7, c.max_iter = 1000;
    pt_field *m = NULL;
    CHECK(pt_field_create(&c, &m) == PT_OK);
    if (!m) return;
    size_t np = pt_field_param_count(m);
    float *gi = calloc(np, sizeof *gi), *gu = calloc(np, sizeof *gu), *gj = calloc(np, sizeof *gj);
    double li = 0.0, lu = 0.0, lj = 0.0;
    CHECK(pt_field_grad(m, x, y, NIMG, &li, gi, NULL) == PT_OK);
    pt_field_config r = c;
    r.grad = PT_FIELD_UNROLL, r.unroll = 120; /* 0.6^120: converged far below float precision */
    CHECK(pt_field_set_run(m, &r) == PT_OK);
    CHECK(pt_field_grad(m, x, y, NIMG, &lu, gu, NULL) == PT_OK);
    r.grad = PT_FIELD_JFB;
    CHECK(pt_field_set_run(m, &r) == PT_OK);
    CHECK(pt_field_grad(m, x, y, NIMG, &lj, gj, NULL) == PT_OK);
    double num = 0.0, den = 0.0, dot = 0.0, nj = 0.0;
    for (size_t i = 0; i < np; i++) {
        num += ((double)gi[i] - (double)gu[i]) * ((double)gi[i] - (double)gu[i]), den += (double)gu[i] * (double)gu[i];
        dot += (double)gi[i] * (double)gj[i], nj += (double)gj[i] * (double)gj[i];
    }
    CHECK_CLOSE(li, lu, 1e-5, 0.0);
    CHECK(sqrt(num / den) < 1e-3);
    CHECK(dot / sqrt(den * nj) > 0.5);
    free(gi), free(gu), free(gj);
    pt_field_destroy(m);
}

static int same_params(const pt_field *a, const pt_field *b)
{
    return pt_field_param_count(a) == pt_field_param_count(b) &&
           !memcmp(pt_field_params_const(a), pt_field_params_const(b), pt_field_param_count(a) * sizeof(float));
}

static void training(void)
{
    enum { N = 64, NT = 32 };
    static float x[N * H * W], xt[NT * H * W];
    uint8_t y[N], yt[NT], pred[NT];
    make_data(x, y, N, 8, H, W);
    make_data(xt, yt, NT, 9, H, W);
    pt_field_config c = small(PT_FIELD_MODRELU, 2, PT_FIELD_IMPLICIT);
    c.n_classes = 2, c.batch = 8, c.lr = 0.02f, c.tol = 1e-4, c.readout = PT_FIELD_ADAM;
    pt_field *m = NULL, *m2 = NULL, *m3 = NULL;
    CHECK(pt_field_create(&c, &m) == PT_OK && pt_field_create(&c, &m2) == PT_OK);
    if (!m || !m2) return;
    pt_field_stats s0 = {0}, s1 = {0};
    CHECK(pt_field_train(m, x, y, N, &s0, NULL, NULL) == PT_OK);
    for (int e = 0; e < 3; e++) CHECK(pt_field_train(m, x, y, N, &s1, NULL, NULL) == PT_OK);
    CHECK(s1.loss < s0.loss && s1.loss < 0.3);
    CHECK(pt_field_predict(m, xt, NT, pred, NULL, NULL, NULL, NULL) == PT_OK);
    /* images are split over threads, each computed alone: the same bits with 1 and 3 threads */
    float lt1[NT * 2], lt3[NT * 2];
    CHECK(pt_field_predict(m, xt, NT, NULL, lt1, NULL, NULL, NULL) == PT_OK);
    pt_set_threads(3);
    CHECK(pt_field_predict(m, xt, NT, NULL, lt3, NULL, NULL, NULL) == PT_OK);
    pt_set_threads(1);
    CHECK(!memcmp(lt1, lt3, sizeof lt1));
    int ok = 0;
    for (int i = 0; i < NT; i++) ok += pred[i] == yt[i];
    CHECK(ok >= NT - 2);
    /* the same seed: the same bits */
    for (int e = 0; e < 4; e++) CHECK(pt_field_train(m2, x, y, N, NULL, NULL, NULL) == PT_OK);
    CHECK(same_params(m, m2));
    pt_field_destroy(m2);

    /* save/load: bit-identical predictions; resume after epoch 2 = uninterrupted */
    char path[] = "/tmp/pt_test_field_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK(pt_field_save(m, 0, path) == PT_OK);
    CHECK(pt_field_load(path, &m3) == PT_OK);
    if (m3) {
        float l1[NT * 2], l2[NT * 2];
        CHECK(pt_field_predict(m, xt, NT, NULL, l1, NULL, NULL, NULL) == PT_OK);
        CHECK(pt_field_predict(m3, xt, NT, NULL, l2, NULL, NULL, NULL) == PT_OK);
        CHECK(!memcmp(l1, l2, sizeof l1) && same_params(m, m3) && pt_field_epochs(m3) == 4);
        pt_field_destroy(m3), m3 = NULL;
    }
    pt_field *a = NULL, *b = NULL;
    CHECK(pt_field_create(&c, &a) == PT_OK && pt_field_create(&c, &b) == PT_OK);
    for (int e = 0; e < 3; e++) CHECK(pt_field_train(a, x, y, N, NULL, NULL, NULL) == PT_OK);
    CHECK(pt_field_train(b, x, y, N, NULL, NULL, NULL) == PT_OK);
    CHECK(pt_field_save(b, 1, path) == PT_OK);
    pt_field_destroy(b), b = NULL;
    CHECK(pt_field_load(path, &b) == PT_OK);
    if (b) {
        for (int e = 0; e < 2; e++) CHECK(pt_field_train(b, x, y, N, NULL, NULL, NULL) == PT_OK);
        CHECK(same_params(a, b) && pt_field_epochs(b) == 3);
    }
    /* without the training state, the resumed run differs (a fresh Adam) */
    pt_field *d = NULL;
    CHECK(pt_field_create(&c, &d) == PT_OK && pt_field_train(d, x, y, N, NULL, NULL, NULL) == PT_OK);
    CHECK(pt_field_save(d, 0, path) == PT_OK);
    pt_field_destroy(d), d = NULL;
    CHECK(pt_field_load(path, &d) == PT_OK);
    for (int e = 0; d && e < 2; e++) CHECK(pt_field_train(d, x, y, N, NULL, NULL, NULL) == PT_OK);
    CHECK(d && !same_params(a, d));
    pt_field_destroy(a), pt_field_destroy(b), pt_field_destroy(d);
    unlink(path);
    pt_field_destroy(m);
}

/* the three solvers reach the same fixed point; multigrid counts its work in
 * fine-grid equivalents; states are captured for pictures */
static void solvers(void)
{
    pt_field_config c = small(PT_FIELD_MODRELU, 1, PT_FIELD_IMPLICIT);
    c.height = 8, c.width = 8, c.gain = 0.9f;
    pt_field *m = NULL;
    CHECK(pt_field_create(&c, &m) == PT_OK);
    if (!m) return;
    float x[64], z[3][8 * 8 * 3 * 2], states[5 * 8 * 8 * 3 * 2];
    for (int i = 0; i < 64; i++) x[i] = (float)((i * 37) % 11) / 10.0f;
    pt_fixpoint_info info[3];
    for (int s = 0; s < 3; s++) {
        info[s] = (pt_fixpoint_info){.history = NULL};
        CHECK(pt_field_equilibrium(m, x, (pt_field_solver)s, 500, 1e-6, z[s], &info[s], s ? NULL : states, 5) == PT_OK);
        CHECK(info[s].converged && info[s].residual < 1e-6);
    }
    double e = 0.0, n = 0.0;
    for (size_t k = 0; k < sizeof z[0] / sizeof(float); k++)
        for (int s = 1; s < 3; s++) e = fmax(e, fabs((double)z[s][k] - (double)z[0][k])), n = fmax(n, fabs((double)z[0][k]));
    CHECK(e < 1e-4 * n + 1e-6);
    CHECK(info[1].work < info[0].work && info[2].work > 0.0 && info[2].work != (double)info[2].iterations);
    /* the first captured state is the start, z = u */
    float u[8 * 8 * 3 * 2];
    pt_field_encode(m, x, 1, u);
    CHECK(!memcmp(states, u, sizeof u));
    /* multigrid on an image that halves too few times */
    c.solver = PT_FIELD_MULTIGRID, c.height = 6, c.mg_levels = 3;
    CHECK(pt_field_config_check(&c) == PT_EINVAL && strstr(pt_errmsg(), "halves into only 2"));
    pt_field_destroy(m);
}

/* the ridge readout: fitted before the first epoch and after each; Adam
 * leaves it alone; it learns the task; same seed, same bits */
static void ridge_readout(void)
{
    enum { N = 64, NT = 32 };
    static float x[N * H * W], xt[NT * H * W];
    uint8_t y[N], yt[NT], pred[NT];
    make_data(x, y, N, 18, H, W);
    make_data(xt, yt, NT, 19, H, W);
    pt_field_config c = small(PT_FIELD_MODRELU, 2, PT_FIELD_IMPLICIT);
    c.n_classes = 2, c.batch = 8, c.lr = 0.01f, c.tol = 1e-4;
    CHECK(c.readout == PT_FIELD_RIDGE);
    pt_field *m = NULL, *m2 = NULL;
    CHECK(pt_field_create(&c, &m) == PT_OK && pt_field_create(&c, &m2) == PT_OK);
    if (!m || !m2) return;
    size_t nR = (size_t)c.n_classes * m->nf + (size_t)c.n_classes;
    float *R0 = malloc(nR * sizeof *R0);
    memcpy(R0, m->R, nR * sizeof *R0);
    CHECK(pt_field_train(m, x, y, N, NULL, NULL, NULL) == PT_OK);
    CHECK(memcmp(R0, m->R, nR * sizeof *R0) != 0); /* refitted */
    /* the fit after the epoch is what a fit of the trained model gives */
    memcpy(R0, m->R, nR * sizeof *R0);
    CHECK(pt_field_fit_readout(m, x, y, N, NULL) == PT_OK && !memcmp(R0, m->R, nR * sizeof *R0));
    CHECK(pt_field_train(m, x, y, N, NULL, NULL, NULL) == PT_OK);
    CHECK(pt_field_predict(m, xt, NT, pred, NULL, NULL, NULL, NULL) == PT_OK);
    int ok = 0;
    for (int i = 0; i < NT; i++) ok += pred[i] == yt[i];
    CHECK(ok >= NT - 2);
    for (int e = 0; e < 2; e++) CHECK(pt_field_train(m2, x, y, N, NULL, NULL, NULL) == PT_OK);
    CHECK(same_params(m, m2));
    free(R0);
    pt_field_destroy(m), pt_field_destroy(m2);
}

static void bad(void)
{
    pt_field_config d = pt_field_config_default();
    CHECK(pt_field_config_check(&d) == PT_OK);
    struct {
        pt_field_config c;
        const char *field;
    } cases[20];
    int n = 0;
    for (int i = 0; i < 20; i++) cases[i].c = d;
    cases[n].c.tol = 0.0, cases[n++].field = "field.tol";
    cases[n].c.tol = -1.0, cases[n++].field = "field.tol";
    cases[n].c.channels = 0, cases[n++].field = "field.channels";
    cases[n].c.pool = 29, cases[n++].field = "field.pool";
    cases[n].c.pool = 0, cases[n++].field = "field.pool";
    cases[n].c.gain = 0.0f, cases[n++].field = "field.gain";
    cases[n].c.gain = NAN, cases[n++].field = "field.gain";
    cases[n].c.alpha = 1.5f, cases[n++].field = "field.alpha";
    cases[n].c.act_bias = 0.5f, cases[n++].field = "field.act_bias";
    cases[n].c.max_iter = 0, cases[n++].field = "field.max_iter";
    cases[n].c.anderson_m = 65, cases[n++].field = "field.anderson_m";
    cases[n].c.lr = -1.0f, cases[n++].field = "field.lr";
    cases[n].c.batch = 0, cases[n++].field = "field.batch";
    cases[n].c.height = 2, cases[n++].field = "images";
    cases[n].c.ridge = -1.0, cases[n++].field = "field.ridge";
    for (int i = 0; i < n; i++) {
        pt_field *m = NULL;
        CHECK(pt_field_config_check(&cases[i].c) == PT_EINVAL && strstr(pt_errmsg(), cases[i].field));
        CHECK(pt_field_create(&cases[i].c, &m) == PT_EINVAL && m == NULL);
    }
    CHECK(pt_field_grad_parse("unroll:0", &d) == PT_EINVAL && pt_field_grad_parse("unroll:x", &d) == PT_EINVAL);
    CHECK(pt_field_grad_parse("backprop", &d) == PT_EINVAL && strstr(pt_errmsg(), "field.grad"));
    CHECK(pt_field_grad_parse("unroll:12", &d) == PT_OK && d.grad == PT_FIELD_UNROLL && d.unroll == 12);
    /* non-finite pixels and labels out of range */
    pt_field_config c = small(PT_FIELD_MODRELU, 1, PT_FIELD_JFB);
    pt_field *m = NULL;
    CHECK(pt_field_create(&c, &m) == PT_OK);
    float x[H * W] = {0};
    uint8_t y[1] = {5}, p[1];
    float g[4096];
    CHECK(pt_field_param_count(m) < 4096);
    CHECK(pt_field_grad(m, x, y, 1, NULL, g, NULL) == PT_EINVAL && strstr(pt_errmsg(), "label"));
    x[3] = NAN;
    CHECK(pt_field_predict(m, x, 1, p, NULL, NULL, NULL, NULL) == PT_EINVAL && strstr(pt_errmsg(), "non-finite"));
    pt_field_destroy(m);
}

/* Winograd's F(2x2, 3x3) against the direct convolution, forward and
 * adjoint, on each grid level where it applies (and its absence where it
 * does not); then central differences through it */
static void winograd(void)
{
    static const int shapes[][3] = {{8, 6, 8}, {16, 4, 4}, {20, 6, 4}, {24, 4, 6}, {32, 12, 12}, {8, 5, 6}, {3, 6, 6}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        pt_field_config c = small(PT_FIELD_MODRELU, 1, PT_FIELD_IMPLICIT);
        c.channels = shapes[i][0], c.height = shapes[i][1], c.width = shapes[i][2];
        pt_field *m = NULL;
        CHECK(pt_field_create(&c, &m) == PT_OK);
        if (!m) continue;
        int expect = (c.channels % 8 == 0 || c.channels == 20) && c.height % 2 == 0 && c.width % 2 == 0;
        CHECK(pt_field_conv_winograd(m, 0) == expect);
        for (int l = 0; expect && l < m->nlevels; l++) {
            if (!pt_field_conv_winograd(m, l)) continue;
            size_t nz = 2 * m->lhw[l] * (size_t)c.channels, na = 3;
            float *z = malloc(na * nz * sizeof *z), *a = malloc(na * nz * sizeof *a), *b = malloc(na * nz * sizeof *b);
            pt_rng r;
            pt_rng_seed(&r, (uint64_t)(i + 1));
            for (size_t k = 0; k < na * nz; k++) z[k] = pt_rng_normal(&r);
            for (int adj = 0; adj < 2; adj++) {
                pt_field_conv(m, l, adj, 1, z, na, a);
                pt_field_conv(m, l, adj, 2, z, na, b);
                double e = 0.0, big = 0.0;
                for (size_t k = 0; k < na * nz; k++)
                    e = fmax(e, fabs((double)a[k] - (double)b[k])), big = fmax(big, fabs((double)a[k]));
                if (!(e <= 1e-5 * big)) fprintf(stderr, "C %d %dx%d level %d adjoint %d: %.3g of %.3g\n", c.channels,
                                                c.height, c.width, l, adj, e, big);
                CHECK(e <= 1e-5 * big);
            }
            free(z), free(a), free(b);
        }
        pt_field_destroy(m);
    }
    /* the gradient through Winograd's path (8 channels on 6 x 6) */
    float x[NIMG * H * W];
    uint8_t y[NIMG];
    make_data(x, y, NIMG, 9, H, W);
    pt_field_config c = small(PT_FIELD_MODRELU, 2, PT_FIELD_IMPLICIT);
    c.channels = 8, c.act_bias = -0.05f;
    pt_field *m = NULL;
    CHECK(pt_field_create(&c, &m) == PT_OK);
    if (!m) return;
    CHECK(pt_field_conv_winograd(m, 0));
    size_t np = pt_field_param_count(m);
    float *g = calloc(np, sizeof *g);
    double loss = 0.0;
    CHECK(pt_field_grad(m, x, y, NIMG, &loss, g, NULL) == PT_OK);
    double worst = fd_check(m, x, y, NIMG, g, 7);
    if (worst > 0.03) fprintf(stderr, "Winograd: worst relative error %.3g\n", worst);
    CHECK(worst < 0.03);
    free(g);
    pt_field_destroy(m);
}

int main(void)
{
    spectral();
    winograd();
    gradients();
    implicit_vs_unroll();
    training();
    solvers();
    ridge_readout();
    bad();
    TEST_END();
}
