/* PhaseTower end to end on generated data: spec parsing (good and bad), it
 * learns a 10-class problem far above chance with each readout, same seed gives
 * a bit-identical checkpoint, checkpoints round-trip bit-exactly, and truncated
 * or mismatching checkpoints are refused with a message naming the file. */
#define _POSIX_C_SOURCE 200809L
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "io/safetensors.h"
#include "tower/tower_internal.h"
#include "model_io.h"

enum { DIM = 64, NCLS = 10, NTRAIN = 3000, NTEST = 1000, NA = 50 };

/* The generated train and test sets and the pixel-path configuration that
 * every section starts from. */
struct data {
    float *x, *xt;
    uint8_t *y, *yt;
    pt_tower_config base;
};

/* The checkpoint section's directory, files and towers: kept to the end,
 * where the missing-file check reuses the directory and all is removed. */
struct ckpt {
    char dir[32], p1[256], p2[256], p3[256], p4[256];
    pt_tower *t1, *t2, *t3, *l1;
    unsigned char *b1, *b2, *b3;
    long n1;
};

/* Classes are noisy copies of random nonnegative prototypes (image-like). */
static void make_data(float *x, uint8_t *y, size_t n, uint64_t seed, const float *protos)
{
    pt_rng r;
    pt_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        int c = (int)(pt_rng_u64(&r) % NCLS);
        y[i] = (uint8_t)c;
        for (int j = 0; j < DIM; j++) {
            float v = protos[c * DIM + j] + 0.35f * pt_rng_normal(&r);
            x[i * DIM + j] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
    }
}

static pt_tower *train_one(pt_tower_config c, const float *x, const uint8_t *y, size_t n)
{
    pt_tower *t = NULL;
    CHECK(pt_tower_create(&c, &t) == PT_OK);
    if (t) CHECK(pt_tower_train(t, x, y, n, NULL, NULL) == PT_OK);
    return t;
}

/* de-rotation scorers: a memory's best similarity, and one that fails */
static pt_status mem_score(void *user, const float *z, size_t n, float *score)
{
    return pt_memory_scores(user, z, n, NULL, score);
}

static pt_status failing_score(void *user, const float *z, size_t n, float *score)
{
    (void)user, (void)z, (void)n, (void)score;
    return pt_fail(PT_EINVAL, "no score for these images");
}

static double accuracy(const pt_tower *t, const float *x, const uint8_t *y, size_t n)
{
    pt_dataset d = {.n = n, .dim = DIM, .x = (float *)x, .y = (uint8_t *)y, .n_classes = NCLS};
    double a = -1;
    CHECK(pt_tower_accuracy(t, &d, &a) == PT_OK);
    return a;
}

/* Layer specs parse and format back; bad specs and a bad eta are refused
 * with a message naming the parameter. */
static void test_spec_parse(void)
{
    pt_tower_config c = pt_tower_config_default();
    CHECK(pt_tower_spec_parse("512:0.08,256:0.05,128:0.03", &c) == PT_OK);
    CHECK(c.n_blocks == 3 && c.K[0] == 512 && c.K[2] == 128 && c.frac[1] == 0.05f);
    CHECK(pt_block_active(512, 0.08f) == 41 && pt_block_active(128, 0.001f) == 1);
    char spec[128];
    pt_tower_spec_format(&c, spec, sizeof spec);
    CHECK(!strcmp(spec, "512:0.08,256:0.05,128:0.03"));
    const char *bad[] = {"", "abc", "512", "512:", "0:0.5", "-4:0.5", "512:0", "512:1.5", "512:nan",
                         "512:0.1,", "512:0.1,,64:0.1", "512:0.1x", "64:-0.1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pt_tower_config b = pt_tower_config_default();
        CHECK(pt_tower_spec_parse(bad[i], &b) == PT_EINVAL);
        CHECK(strstr(pt_errmsg(), "tower.layers") != NULL);
    }
    pt_tower_config bc = pt_tower_config_default();
    bc.eta = NAN;
    CHECK(pt_tower_config_check(&bc) == PT_EINVAL && strstr(pt_errmsg(), "tower.eta"));
    bc = pt_tower_config_default();
    bc.eta = -0.1f;
    CHECK(pt_tower_config_check(&bc) == PT_EINVAL);
}

/* Prototypes from seed 3, the training set from seed 1, the test set from
 * seed 2; the base configuration (checks that its spec parses). */
static void setup_data(struct data *d)
{
    pt_rng r;
    pt_rng_seed(&r, 3);
    float protos[NCLS * DIM];
    for (int i = 0; i < NCLS * DIM; i++) protos[i] = pt_rng_uniform(&r) < 0.3f ? 0.8f : 0.1f;
    float *x = malloc(sizeof(float) * NTRAIN * DIM), *xt = malloc(sizeof(float) * NTEST * DIM);
    uint8_t *y = malloc(NTRAIN), *yt = malloc(NTEST);
    make_data(x, y, NTRAIN, 1, protos);
    make_data(xt, yt, NTEST, 2, protos);

    pt_tower_config base = pt_tower_config_default();
    base.n_in = DIM;
    base.n_classes = NCLS;
    base.subspace = 0; /* the pixel path; the subspace has its own section below */
    CHECK(pt_tower_spec_parse("128:0.1", &base) == PT_OK);
    d->x = x, d->xt = xt, d->y = y, d->yt = yt, d->base = base;
}

/* It learns, with every readout, both rules, both selections, and deep
 * towers (the last row is the paper's whole recipe: its rule, hard top-s
 * and fixed codebook, which once made the skip diverge) */
static void test_learns(const struct data *d)
{
    struct { const char *layers; pt_readout ro; pt_rule rule; pt_init init; pt_select sel; double min_acc; } runs[] = {
        {"128:0.1", PT_READOUT_RIDGE, PT_RULE_LOCAL, PT_INIT_IMPRINT, PT_SELECT_SOFT, 0.90},
        {"128:0.1", PT_READOUT_RIDGE, PT_RULE_LOCAL, PT_INIT_IMPRINT, PT_SELECT_HARD, 0.90},
        {"128:0.1", PT_READOUT_DELTA, PT_RULE_LOCAL, PT_INIT_IMPRINT, PT_SELECT_SOFT, 0.80},
        {"128:0.1", PT_READOUT_CODE, PT_RULE_LOCAL, PT_INIT_IMPRINT, PT_SELECT_SOFT, 0.60},
        {"128:0.1", PT_READOUT_RIDGE, PT_RULE_PAPER, PT_INIT_IMPRINT, PT_SELECT_SOFT, 0.90},
        {"128:0.1", PT_READOUT_RIDGE, PT_RULE_LOCAL, PT_INIT_RANDOM, PT_SELECT_SOFT, 0.80},
        {"128:0.1,64:0.1,32:0.1", PT_READOUT_RIDGE, PT_RULE_LOCAL, PT_INIT_IMPRINT, PT_SELECT_SOFT, 0.60},
        {"128:0.1,64:0.1,32:0.1", PT_READOUT_CODE, PT_RULE_PAPER, PT_INIT_IMPRINT, PT_SELECT_HARD, 0.50},
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        pt_tower_config rc = d->base;
        CHECK(pt_tower_spec_parse(runs[i].layers, &rc) == PT_OK);
        rc.readout = runs[i].ro, rc.rule = runs[i].rule, rc.init = runs[i].init, rc.select = runs[i].sel;
        if (rc.rule == PT_RULE_PAPER) rc.eta_phase = 0.05f; /* the paper's recipe learns phases too */
        pt_tower *t = train_one(rc, d->x, d->y, NTRAIN);
        double a = t ? accuracy(t, d->xt, d->yt, NTEST) : 0;
        printf("%s readout %s rule %s init %s select %s: accuracy %.3f (need %.2f)\n", runs[i].layers,
               pt_tower_readout_name(rc.readout), pt_tower_rule_name(rc.rule), pt_tower_init_name(rc.init),
               pt_tower_select_name(rc.select), a, runs[i].min_acc);
        CHECK(a >= runs[i].min_acc);
        pt_tower_destroy(t);
    }
}

/* The one-feature ridge (one block, phases frozen by eta_phase = 0) solves
 * the same problem as the general two-feature one, which a step of 1e-30
 * selects while still moving no phase (it is below one ulp) */
static void test_one_feature_ridge(const struct data *d)
{
    const float *xt = d->xt;
    pt_tower_config c1 = d->base, c2 = d->base;
    c1.eta_phase = 0.0f;
    c2.eta_phase = 1e-30f;
    pt_tower *t1 = train_one(c1, d->x, d->y, NTRAIN), *t2 = train_one(c2, d->x, d->y, NTRAIN);
    static float l1[NTEST * NCLS], l2[NTEST * NCLS];
    CHECK(t1 && t2 && pt_tower_predict(t1, xt, NTEST, NULL, l1) == PT_OK && pt_tower_predict(t2, xt, NTEST, NULL, l2) == PT_OK);
    double big = 0.0;
    for (int i = 0; i < NTEST * NCLS; i++) {
        CHECK_CLOSE(l1[i], l2[i], 1e-3, 1e-4);
        big = fmax(big, fabs((double)l1[i]));
    }
    CHECK(big > 0.1); /* the logits compared are not trivially zero */
    pt_tower_destroy(t1);
    pt_tower_destroy(t2);
}

/* Bad training input: a label out of range, a non-finite pixel. */
static void test_bad_training_input(const struct data *d)
{
    const float *x = d->x;
    const uint8_t *y = d->y;
    pt_tower *t = NULL;
    CHECK(pt_tower_create(&d->base, &t) == PT_OK);
    uint8_t ybad[4] = {0, 1, 12, 3};
    CHECK(pt_tower_train(t, x, ybad, 4, NULL, NULL) == PT_EINVAL && strstr(pt_errmsg(), "label 12"));
    float xn[DIM * 2];
    memcpy(xn, x, sizeof xn);
    xn[DIM + 5] = NAN;
    CHECK(pt_tower_train(t, xn, y, 2, NULL, NULL) == PT_EINVAL && strstr(pt_errmsg(), "non-finite"));
    pt_tower_destroy(t);
}

/* A temporary directory for the checkpoint section and its four paths. */
static void ckpt_setup(struct ckpt *k)
{
    memset(k, 0, sizeof *k);
    snprintf(k->dir, sizeof k->dir, "/tmp/pt_test_towerXXXXXX");
    CHECK(mkdtemp(k->dir) != NULL);
    snprintf(k->p1, sizeof k->p1, "%s/a.safetensors", k->dir);
    snprintf(k->p2, sizeof k->p2, "%s/b.safetensors", k->dir);
    snprintf(k->p3, sizeof k->p3, "%s/c.safetensors", k->dir);
    snprintf(k->p4, sizeof k->p4, "%s/bad.safetensors", k->dir);
}

/* Determinism: the same seed gives a bit-identical checkpoint, another seed
 * another model; a two-block tower has no frame. */
static void test_determinism(struct ckpt *k, const struct data *d)
{
    pt_tower_config dc = d->base;
    CHECK(pt_tower_spec_parse("96:0.1,48:0.2", &dc) == PT_OK);
    k->t1 = train_one(dc, d->x, d->y, NTRAIN), k->t2 = train_one(dc, d->x, d->y, NTRAIN);
    CHECK(pt_tower_save(k->t1, k->p1) == PT_OK);
    CHECK(pt_tower_save(k->t2, k->p2) == PT_OK);
    long n1 = check_slurp(k->p1, &k->b1), n2 = check_slurp(k->p2, &k->b2);
    k->n1 = n1;
    CHECK(n1 > 0 && n1 == n2 && !memcmp(k->b1, k->b2, (size_t)n1)); /* same seed: bit-identical */
    float fp[2];
    CHECK(pt_tower_frame_dim(k->t1) == 0 && pt_tower_frame_projection(k->t1, fp) == PT_EINVAL); /* two blocks: no frame */
    pt_tower_config oc = dc;
    oc.seed = 2;
    k->t3 = train_one(oc, d->x, d->y, NTRAIN);
    CHECK(pt_tower_save(k->t3, k->p3) == PT_OK);
    long n3 = check_slurp(k->p3, &k->b3);
    CHECK(n3 == n1 && memcmp(k->b1, k->b3, (size_t)n1) != 0); /* another seed: another model */
    free(k->b3);
    k->b3 = NULL;
}

/* Load + save reproduces the file exactly; the loaded tower predicts the
 * same and keeps training like the original. */
static void test_load_save(struct ckpt *k, const struct data *d)
{
    const float *xt = d->xt;
    const uint8_t *yt = d->yt;
    pt_tower *t1 = k->t1;
    long n1 = k->n1;
    CHECK(pt_tower_load(k->p1, &k->l1) == PT_OK);
    pt_tower *l1 = k->l1;
    if (!l1) return;
    CHECK(pt_tower_save(l1, k->p3) == PT_OK); /* load + save reproduces the file exactly */
    long n3 = check_slurp(k->p3, &k->b3);
    CHECK(n3 == n1 && !memcmp(k->b1, k->b3, (size_t)n1));
    float *lg1 = malloc(sizeof(float) * NTEST * NCLS), *lg2 = malloc(sizeof(float) * NTEST * NCLS);
    uint8_t *pr1 = malloc(NTEST), *pr2 = malloc(NTEST);
    CHECK(pt_tower_predict(t1, xt, NTEST, pr1, lg1) == PT_OK);
    CHECK(pt_tower_predict(l1, xt, NTEST, pr2, lg2) == PT_OK);
    CHECK(!memcmp(lg1, lg2, sizeof(float) * NTEST * NCLS) && !memcmp(pr1, pr2, NTEST));
    /* a loaded model keeps training like the original */
    CHECK(pt_tower_train(t1, xt, yt, 200, NULL, NULL) == PT_OK);
    CHECK(pt_tower_train(l1, xt, yt, 200, NULL, NULL) == PT_OK);
    CHECK(pt_tower_save(t1, k->p2) == PT_OK && pt_tower_save(l1, k->p3) == PT_OK);
    free(k->b2), free(k->b3);
    k->b2 = k->b3 = NULL;
    long n2 = check_slurp(k->p2, &k->b2);
    n3 = check_slurp(k->p3, &k->b3);
    CHECK(n2 == n3 && n2 > 0 && !memcmp(k->b2, k->b3, (size_t)n2));
    free(lg1), free(lg2), free(pr1), free(pr2);
}

/* A truncated checkpoint is refused with a message naming the file. */
static void test_truncated(const struct ckpt *k)
{
    const char *p4 = k->p4;
    FILE *f = fopen(p4, "wb");
    CHECK(f && fwrite(k->b1, 1, (size_t)k->n1 - 100, f) == (size_t)k->n1 - 100);
    if (f) fclose(f);
    pt_tower *bt = NULL;
    CHECK(pt_tower_load(p4, &bt) == PT_EFORMAT && bt == NULL && strstr(pt_errmsg(), p4));
}

/* A header that does not match the config (tensor shapes vs metadata
 * layers), another model kind, or a non-finite number is refused. */
static void test_mismatched_header(const struct ckpt *k)
{
    const char *p4 = k->p4;
    pt_st_file *sf = NULL;
    CHECK(pt_st_read(k->p1, &sf) == PT_OK);
    if (!sf) return;
    size_t nt = pt_st_count(sf);
    pt_st_tensor ts[16];
    for (size_t i = 0; i < nt && i < 16; i++) ts[i] = *pt_st_at(sf, i);
    const char *keys[] = {"format", "version", "model", "n_in", "n_classes", "eta", "eta_phase", "eta_skip",
                          "eta_code", "target_mag", "ridge", "rule", "readout", "init", "batch", "seed",
                          "initialized", "samples_seen", "select", "layers"};
    enum { NK = sizeof keys / sizeof keys[0], LAYERS = NK - 1 };
    const char *meta[2 * NK];
    for (int i = 0; i < NK; i++) {
        meta[2 * i] = keys[i];
        meta[2 * i + 1] = pt_st_meta(sf, keys[i]);
        CHECK(meta[2 * i + 1] != NULL);
    }
    meta[2 * LAYERS + 1] = "97:0.1,48:0.2"; /* block0.p is (96, 64) in the data */
    CHECK(pt_st_write(p4, ts, nt, meta, NK) == PT_OK);
    pt_tower *bt = NULL;
    CHECK(pt_tower_load(p4, &bt) == PT_EFORMAT && bt == NULL && strstr(pt_errmsg(), "block0.p"));
    meta[2 * LAYERS + 1] = "96:0.1,48:0.2";
    meta[2 * 2 + 1] = "phasor";
    CHECK(pt_st_write(p4, ts, nt, meta, NK) == PT_OK);
    CHECK(pt_tower_load(p4, &bt) == PT_EFORMAT && strstr(pt_errmsg(), "phasor"));
    meta[2 * 2 + 1] = "tower";
    meta[2 * 5 + 1] = "nan";
    CHECK(pt_st_write(p4, ts, nt, meta, NK) == PT_OK);
    CHECK(pt_tower_load(p4, &bt) == PT_EFORMAT && strstr(pt_errmsg(), "eta"));
    pt_st_close(sf);
}

/* The subspace is the default for inputs above 56, and off at 56. */
static void test_subspace_default(void)
{
    pt_tower_config dfc = pt_tower_config_default();
    pt_tower *td = NULL;
    dfc.n_in = 784;
    CHECK(pt_tower_create(&dfc, &td) == PT_OK && td && td->cfg.subspace == PT_SUBSPACE_DEFAULT &&
          td->b[0].in_dim == PT_SUBSPACE_DEFAULT);
    pt_tower_destroy(td);
    dfc.n_in = PT_SUBSPACE_DEFAULT;
    CHECK(pt_tower_create(&dfc, &td) == PT_OK && td && td->cfg.subspace == 0 && td->V == NULL);
    pt_tower_destroy(td);
}

/* The basis is orthonormal and block 0's directions are R unit coordinates. */
static void test_subspace_basis(const pt_tower *ts)
{
    const int R = 12, K = ts->b[0].K;
    for (int a = 0; a < R; a++)
        for (int c2 = 0; c2 <= a; c2++) {
            double dot = 0;
            for (int j = 0; j < DIM; j++) dot += (double)ts->V[a * DIM + j] * (double)ts->V[c2 * DIM + j];
            CHECK_CLOSE(dot, a == c2 ? 1.0 : 0.0, 1e-5, 1e-5);
        }
    CHECK(ts->b[0].in_dim == R);
    for (int k = 0; k < K; k++) {
        double nn = 0;
        for (int a = 0; a < R; a++) nn += (double)ts->b[0].P[k * R + a] * (double)ts->b[0].P[k * R + a];
        CHECK_CLOSE(nn, 1.0, 1e-5, 1e-5);
    }
}

/* Frame keys: the dual frame maps the dense code zd of one image back to
 * lc V c~ = V c (real), and a memory with that projection stores
 * normalize(V c); memories that do not fit the frame, and a non-finite
 * projection, are refused. yv is V c~ and lc = |c|, both by hand. */
static void test_subspace_frame(const pt_tower *ts, const float *zd, const double *yv, double lc)
{
    const int R = 12, K = ts->b[0].K;
    CHECK(pt_tower_frame_dim(ts) == R);
    float *proj = malloc(2 * (size_t)K * R * sizeof *proj), key[2 * 12];
    CHECK(proj && pt_tower_frame_projection(ts, proj) == PT_OK);
    double yn = 0;
    for (int a = 0; a < R; a++) yn += yv[a] * yv[a] * lc * lc;
    for (int a = 0; a < R; a++) {
        double re = 0, im = 0;
        for (int k = 0; k < K; k++) {
            double pr = (double)proj[2 * (k * R + a)], pi = (double)proj[2 * (k * R + a) + 1];
            re += (double)zd[2 * k] * pr - (double)zd[2 * k + 1] * pi;
            im += (double)zd[2 * k] * pi + (double)zd[2 * k + 1] * pr;
        }
        CHECK_CLOSE(re, yv[a] * lc, 1e-3, 1e-3);
        CHECK_CLOSE(im, 0.0, 1e-3, 1e-3);
    }
    pt_memory_config fc = pt_memory_config_default(K);
    fc.dim = R, fc.code = PT_MEMORY_DENSE, fc.capacity = 4, fc.k = 1;
    pt_memory *fm = NULL;
    CHECK(pt_memory_create(&fc, &fm) == PT_OK && !pt_memory_frame(fm));
    CHECK(memory_frame(ts, fm) == PT_OK && pt_memory_frame(fm));
    CHECK(pt_memory_write(fm, zd, 3, NULL) == PT_OK);
    memcpy(key, pt_memory_key(fm, 0), sizeof key);
    CHECK_CLOSE(pt_memory_length(fm, 0), sqrt(yn), 1e-3, 1e-3);
    for (int a = 0; a < R; a++) {
        CHECK_CLOSE(key[2 * a], yv[a] * lc / sqrt(yn), 1e-4, 1e-4);
        CHECK_CLOSE(key[2 * a + 1], 0.0, 1e-4, 1e-4);
    }
    CHECK(memory_frame(ts, fm) == PT_EINVAL); /* not empty any more */
    pt_memory_destroy(fm);
    fc.dim = R + 1; /* keys of another length than the frame's */
    CHECK(pt_memory_create(&fc, &fm) == PT_OK && memory_frame(ts, fm) == PT_EINVAL);
    pt_memory_destroy(fm);
    fc.dim = R, fc.code = PT_MEMORY_SPARSE;
    CHECK(pt_memory_create(&fc, &fm) == PT_OK && memory_frame(ts, fm) == PT_EINVAL);
    pt_memory_destroy(fm);
    proj[5] = NAN;
    fc.code = PT_MEMORY_DENSE;
    CHECK(pt_memory_create(&fc, &fm) == PT_OK && pt_memory_set_projection(fm, proj) == PT_EINVAL &&
          !pt_memory_frame(fm));
    pt_memory_destroy(fm);
    free(proj);
}

/* Block 0's scores are q . y with y = normalize(V x~), checked by hand on
 * test image 3's dense code; then the frame keys of that code. */
static void test_subspace_code(const pt_tower *ts, const float *xt)
{
    const int R = 12, K = ts->b[0].K;
    float *zd = malloc(2 * (size_t)K * sizeof *zd), xx[DIM];
    CHECK(zd && pt_tower_forward(ts, xt + 3 * DIM, 1, PT_TOWER_CODE_DENSE, NULL, zd, NULL) == PT_OK);
    double lc = pt_tower_preprocess(xx, xt + 3 * DIM, DIM); /* |c| */
    double yv[12];
    for (int a = 0; a < R; a++) {
        yv[a] = 0;
        for (int j = 0; j < DIM; j++) yv[a] += (double)ts->V[a * DIM + j] * (double)xx[j];
    }
    for (int k = 0; k < K; k++) { /* dense code = (q_k . V c) e^{i phi_k} */
        double d = 0;
        for (int a = 0; a < R; a++) d += (double)ts->b[0].P[k * R + a] * yv[a] * lc;
        CHECK_CLOSE(zd[2 * k], d * cos((double)ts->b[0].phi[k]), 1e-4, 1e-5);
        CHECK_CLOSE(zd[2 * k + 1], d * sin((double)ts->b[0].phi[k]), 1e-4, 1e-5);
    }
    test_subspace_frame(ts, zd, yv, lc);
    free(zd);
}

/* Random init works in the subspace. */
static void test_subspace_random_init(pt_tower_config sc, const struct data *d)
{
    const float *xt = d->xt;
    const uint8_t *yt = d->yt;
    const int R = 12;
    pt_tower_config rc = sc;
    rc.init = PT_INIT_RANDOM;
    pt_tower *tr = train_one(rc, d->x, d->y, NTRAIN);
    CHECK(tr->b[0].in_dim == R && tr->v_ready && accuracy(tr, xt, yt, NTEST) > 0.5);
    pt_tower_destroy(tr);
}

/* The checkpoint round trip keeps the predictions, and a file of the older
 * layout (block 0's rows in pixel space, V^T q) loads as the same tower. */
static void test_subspace_checkpoint(const pt_tower *ts, const float *xt)
{
    const int R = 12, K = ts->b[0].K;
    char sp[] = "/tmp/pt_subspace_XXXXXX", so[] = "/tmp/pt_subspace_old_XXXXXX";
    int fd = mkstemp(sp), fo = mkstemp(so);
    CHECK(fd >= 0 && fo >= 0);
    if (fd >= 0) close(fd);
    if (fo >= 0) close(fo);
    pt_tower *tl = NULL, *to = NULL;
    CHECK(pt_tower_save(ts, sp) == PT_OK && pt_tower_load(sp, &tl) == PT_OK && tl && tl->cfg.subspace == R);
    pt_st_file *sf = NULL;
    float *pix = malloc((size_t)K * DIM * sizeof *pix);
    CHECK(pix && pt_st_read(sp, &sf) == PT_OK && sf);
    if (sf && pix) { /* the same file with block 0's rows in pixel space, V^T q */
        size_t nt = pt_st_count(sf), nm = 0;
        pt_st_tensor tt[16];
        const char *meta[128];
        for (size_t i = 0; i < nt && i < 16; i++) tt[i] = *pt_st_at(sf, i);
        for (int k = 0; k < K; k++)
            for (int j = 0; j < DIM; j++) {
                double v = 0;
                for (int a = 0; a < R; a++) v += (double)ts->b[0].P[k * R + a] * (double)ts->V[a * DIM + j];
                pix[k * DIM + j] = (float)v;
            }
        for (size_t i = 0; i < nt; i++)
            if (!strcmp(tt[i].name, "block0.p")) tt[i].shape[1] = DIM, tt[i].data = pix;
        const char *keys[] = {"format", "version", "model", "n_in", "n_classes", "eta", "eta_phase", "eta_skip",
                              "eta_code", "target_mag", "ridge", "rule", "readout", "init", "batch", "seed",
                              "initialized", "samples_seen", "select", "layers", "subspace"};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++, nm++) {
            meta[2 * nm] = keys[i];
            meta[2 * nm + 1] = pt_st_meta(sf, keys[i]);
            CHECK(meta[2 * nm + 1] != NULL);
        }
        CHECK(pt_st_write(so, tt, nt, meta, nm) == PT_OK);
        CHECK(pt_tower_load(so, &to) == PT_OK && to && to->b[0].in_dim == R);
        pt_st_close(sf);
    }
    if (tl && to) {
        uint8_t pa[NTEST], pb[NTEST], pc[NTEST];
        CHECK(pt_tower_predict(ts, xt, NTEST, pa, NULL) == PT_OK && pt_tower_predict(tl, xt, NTEST, pb, NULL) == PT_OK &&
              pt_tower_predict(to, xt, NTEST, pc, NULL) == PT_OK);
        CHECK(!memcmp(pa, pb, sizeof pa) && !memcmp(tl->V, ts->V, (size_t)R * DIM * sizeof(float)));
        CHECK(!memcmp(pa, pc, sizeof pa));
        for (int i = 0; i < K * R; i++) CHECK_CLOSE(to->b[0].P[i], ts->b[0].P[i], 1e-5, 1e-5);
    }
    unlink(sp), unlink(so);
    free(pix);
    pt_tower_destroy(tl), pt_tower_destroy(to);
}

/* A subspace as wide as the input, or negative, is refused. */
static void test_subspace_bad_config(pt_tower_config sc)
{
    pt_tower_config bad_sc = sc;
    bad_sc.subspace = DIM;
    CHECK(pt_tower_config_check(&bad_sc) == PT_EINVAL && strstr(pt_errmsg(), "tower.subspace"));
    bad_sc.subspace = -2;
    CHECK(pt_tower_config_check(&bad_sc) == PT_EINVAL && strstr(pt_errmsg(), "tower.subspace"));
}

/* subspace: the default for inputs above 56; the basis is orthonormal;
 * block 0's directions are R unit coordinates and its scores are q . y
 * with y = normalize(V x~) (checked by hand); the same seed gives the same
 * tower bit for bit; random init works; the checkpoint round trip keeps the
 * predictions; a file of the older layout (pixel-space rows V^T q) loads as
 * the same tower; the counts use the factored form */
static void test_subspace(const struct data *d)
{
    const float *xt = d->xt;
    const uint8_t *yt = d->yt;
    test_subspace_default();
    pt_tower_config sc = d->base;
    CHECK(pt_tower_spec_parse("96:0.1", &sc) == PT_OK);
    sc.subspace = 12;
    pt_tower *ts = train_one(sc, d->x, d->y, NTRAIN), *ts2 = train_one(sc, d->x, d->y, NTRAIN);
    const int R = 12, K = ts->b[0].K;
    test_subspace_basis(ts);
    test_subspace_code(ts, xt);
    printf("subspace 12 of %d: accuracy %.3f\n", DIM, accuracy(ts, xt, yt, NTEST));
    CHECK(!memcmp(ts->V, ts2->V, (size_t)R * DIM * sizeof(float)) &&
          !memcmp(ts->b[0].P, ts2->b[0].P, (size_t)K * R * sizeof(float)));
    CHECK(accuracy(ts, xt, yt, NTEST) > 0.5);
    CHECK(pt_tower_madds(ts) == (size_t)R * DIM + 96 * (size_t)R + 2 * NCLS * 96);
    CHECK(pt_tower_param_count(ts) == (size_t)R * DIM + 96 * (size_t)R + 96 + 2 * NCLS * 96);
    test_subspace_random_init(sc, d);
    test_subspace_checkpoint(ts, xt);
    pt_tower_destroy(ts), pt_tower_destroy(ts2);
    test_subspace_bad_config(sc);
}

/* alignment: the mean of the s largest scores (cosines of the preprocessed
 * input with unit directions), computed here by hand on every 7th of the
 * first NA test images; al receives the alignments of all NA */
static void test_alignment_by_hand(const pt_tower *ta, const float *xt, float *al)
{
    const pt_block *b = &ta->b[0];
    float lg[NA * NCLS], lg2[NA * NCLS];
    CHECK(pt_tower_forward(ta, xt, NA, PT_TOWER_CODE_SPARSE, lg, NULL, al) == PT_OK);
    CHECK(pt_tower_predict(ta, xt, NA, NULL, lg2) == PT_OK && !memcmp(lg, lg2, sizeof lg));
    float xx[DIM], sc[4096];
    for (int i = 0; i < NA; i += 7) {
        pt_tower_preprocess(xx, xt + i * DIM, DIM);
        for (int k = 0; k < b->K; k++) {
            double d = 0;
            for (int j = 0; j < DIM; j++) d += (double)xx[j] * (double)b->P[(size_t)k * DIM + j];
            sc[k] = (float)d;
        }
        double sum = 0;
        for (int a = 0; a < b->s; a++) { /* the a-th largest, by selection */
            int best = -1;
            for (int k = 0; k < b->K; k++)
                if (sc[k] > -2.0f && (best < 0 || sc[k] > sc[best])) best = k;
            sum += (double)sc[best];
            sc[best] = -3.0f;
        }
        CHECK_CLOSE(al[i], sum / b->s, 1e-4, 1e-5);
    }
}

/* the dense code: |c| r_k e^{i phi_k} = (p_k . c) e^{i phi_k} for every
 * neuron, with c the centred image (the scores as computed above by
 * hand); SPARSE is pt_tower_forward's z bit for bit; and it superposes:
 * the code of the mean of two images is the mean of their codes */
static void test_dense_code(const pt_tower *ta, const float *xt)
{
    const pt_block *b = &ta->b[0];
    float xx[DIM];
    int K = b->K;
    float *zd = malloc(3 * 2 * (size_t)K * sizeof *zd), *zs = malloc(2 * 2 * (size_t)K * sizeof *zs);
    float pair[3 * DIM];
    CHECK(zd && zs);
    memcpy(pair, xt, 2 * DIM * sizeof *pair);
    for (int j = 0; j < DIM; j++) pair[2 * DIM + j] = 0.5f * (xt[j] + xt[DIM + j]);
    CHECK(pt_tower_forward(ta, pair, 3, PT_TOWER_CODE_DENSE, NULL, zd, NULL) == PT_OK);
    double lc = pt_tower_preprocess(xx, pair, DIM);
    for (int k = 0; k < K; k++) {
        double d = 0;
        for (int j = 0; j < DIM; j++) d += lc * (double)xx[j] * (double)b->P[(size_t)k * DIM + j];
        CHECK_CLOSE(zd[2 * k], d * cos((double)b->phi[k]), 1e-4, 1e-5);
        CHECK_CLOSE(zd[2 * k + 1], d * sin((double)b->phi[k]), 1e-4, 1e-5);
    }
    for (int e = 0; e < 2 * K; e++)
        CHECK_CLOSE((double)zd[2 * 2 * K + e], 0.5 * ((double)zd[e] + (double)zd[2 * K + e]), 1e-4, 1e-5);
    float zp[2 * 2 * 96];
    CHECK(K <= 96 && pt_tower_forward(ta, pair, 2, PT_TOWER_CODE_SPARSE, NULL, zp, NULL) == PT_OK);
    CHECK(pt_tower_forward(ta, pair, 2, PT_TOWER_CODE_SPARSE, NULL, zs, NULL) == PT_OK &&
          !memcmp(zs, zp, 2 * 2 * (size_t)K * sizeof *zs));
    CHECK(pt_tower_forward(ta, pair, 2, (pt_tower_code)7, NULL, zs, NULL) == PT_EINVAL);
    free(zd), free(zs);
}

/* Uniform noise (seed 99) aligns worse than data of the training
 * distribution (al: the test images' alignments). */
static void test_alignment_noise(const pt_tower *ta, const float *al)
{
    float xn[NA * DIM], an[NA];
    pt_rng rn;
    pt_rng_seed(&rn, 99);
    for (int i = 0; i < NA * DIM; i++) xn[i] = pt_rng_uniform(&rn);
    CHECK(pt_tower_forward(ta, xn, NA, PT_TOWER_CODE_SPARSE, NULL, NULL, an) == PT_OK);
    double ma = 0, mn = 0;
    for (int i = 0; i < NA; i++) ma += (double)al[i] / NA, mn += (double)an[i] / NA;
    printf("mean alignment: test data %.3f, uniform noise %.3f\n", ma, mn);
    CHECK(ma > mn + 0.1);
}

/* de-rotation: with a margin nothing beats, or no turn at all, the answers
 * are the plain ones; turned answers are reported with their angle; bad
 * step, margin or image shape are refused */
static void test_derotate(const pt_tower *ta, const float *xt)
{
    uint8_t pp[NA], pd[NA];
    float ang[NA];
    pt_derotate o = {16.0, 8.0, 1e9, NULL, NULL, PT_TOWER_CODE_SPARSE};
    CHECK(pt_tower_predict(ta, xt, NA, pp, NULL) == PT_OK);
    CHECK(pt_tower_predict_derotate(ta, xt, NA, 8, 8, &o, pd, ang) == PT_OK && !memcmp(pp, pd, NA));
    for (int i = 0; i < NA; i++) CHECK(ang[i] == 0.0f);
    o.max = 0.0, o.margin = 0.0;
    CHECK(pt_tower_predict_derotate(ta, xt, NA, 8, 8, &o, pd, NULL) == PT_OK && !memcmp(pp, pd, NA));
    o.max = 16.0;
    CHECK(pt_tower_predict_derotate(ta, xt, NA, 8, 8, &o, pd, ang) == PT_OK);
    for (int i = 0; i < NA; i++)
        CHECK(ang[i] == 0.0f || ang[i] == 8.0f || ang[i] == -8.0f || ang[i] == 16.0f || ang[i] == -16.0f);
    o.step = 0.0;
    CHECK(pt_tower_predict_derotate(ta, xt, NA, 8, 8, &o, pd, NULL) == PT_EINVAL && strstr(pt_errmsg(), "de-rotation"));
    o.step = 8.0, o.margin = -1.0;
    CHECK(pt_tower_predict_derotate(ta, xt, NA, 8, 8, &o, pd, NULL) == PT_EINVAL);
    o.margin = 0.0;
    CHECK(pt_tower_predict_derotate(ta, xt, NA, 4, 8, &o, pd, NULL) == PT_EINVAL && strstr(pt_errmsg(), "pixels"));
}

/* memory-guided: a memory of the upright images' outputs, asked with the
 * images turned by +8 degrees, turns them back (-8) more often than by
 * any other turn; a scorer's failure is passed through */
static void test_derotate_memory(const pt_tower *ta, const float *xt, const uint8_t *yt)
{
    uint8_t pd[NA];
    float ang[NA];
    int K = pt_tower_out_dim(ta);
    pt_memory_config mc = pt_memory_config_default(K);
    pt_memory *mm = NULL;
    float *zz = malloc((size_t)NA * 2 * (size_t)K * sizeof *zz), xr[NA * DIM];
    CHECK(zz && pt_memory_create(&mc, &mm) == PT_OK);
    CHECK(pt_tower_forward(ta, xt, NA, PT_TOWER_CODE_SPARSE, NULL, zz, NULL) == PT_OK);
    for (int i = 0; i < NA; i++) CHECK(pt_memory_write(mm, zz + (size_t)i * 2 * (size_t)K, yt[i], NULL) == PT_OK);
    for (int i = 0; i < NA; i++) pt_image_rotate(xr + i * DIM, xt + i * DIM, 8, 8, 8.0);
    pt_derotate om = {16.0, 8.0, 0.0, mem_score, mm, PT_TOWER_CODE_SPARSE};
    CHECK(pt_tower_predict_derotate(ta, xr, NA, 8, 8, &om, pd, ang) == PT_OK);
    int cnt[5] = {0}; /* turns -16, -8, 0, 8, 16 */
    for (int i = 0; i < NA; i++) cnt[(int)lroundf(ang[i] / 8.0f) + 2]++;
    printf("memory-guided de-rotation on 8x8 images turned by +8: turns -16..16 chosen %d %d %d %d %d times\n",
           cnt[0], cnt[1], cnt[2], cnt[3], cnt[4]);
    /* -8, the turn that undoes it, beats every other turn (0 is the unturned answer, kept on ties) */
    CHECK(cnt[1] >= NA / 4 && cnt[1] > cnt[0] && cnt[1] > cnt[3] && cnt[1] > cnt[4]);
    om.score = failing_score; /* a scorer's failure stops the search and is passed through */
    CHECK(pt_tower_predict_derotate(ta, xr, NA, 8, 8, &om, pd, ang) == PT_EINVAL && strstr(pt_errmsg(), "no score"));
    pt_memory_destroy(mm);
    free(zz);
}

/* Alignment, the dense code and de-rotation, on one trained one-block tower. */
static void test_alignment(const struct data *d)
{
    pt_tower_config ac = d->base;
    CHECK(pt_tower_spec_parse("96:0.1", &ac) == PT_OK);
    pt_tower *ta = train_one(ac, d->x, d->y, NTRAIN);
    float al[NA];
    test_alignment_by_hand(ta, d->xt, al);
    test_dense_code(ta, d->xt);
    test_alignment_noise(ta, al);
    test_derotate(ta, d->xt);
    test_derotate_memory(ta, d->xt, d->yt);
    pt_tower_destroy(ta);
}

/* A file that is not there is refused with EIO, naming it. */
static void test_missing_file(const struct ckpt *k)
{
    pt_tower *bt = NULL;
    char miss[300];
    snprintf(miss, sizeof miss, "%s/missing.safetensors", k->dir);
    CHECK(pt_tower_load(miss, &bt) == PT_EIO && strstr(pt_errmsg(), "missing.safetensors"));
}

static void ckpt_teardown(struct ckpt *k)
{
    unlink(k->p1), unlink(k->p2), unlink(k->p3), unlink(k->p4);
    rmdir(k->dir);
    free(k->b1), free(k->b2), free(k->b3);
    pt_tower_destroy(k->t1), pt_tower_destroy(k->t2), pt_tower_destroy(k->t3), pt_tower_destroy(k->l1);
}

int main(void)
{
    struct data d;
    struct ckpt k;
    test_spec_parse();
    setup_data(&d);
    test_learns(&d);
    test_one_feature_ridge(&d);
    test_bad_training_input(&d);
    ckpt_setup(&k);
    test_determinism(&k, &d);
    test_load_save(&k, &d);
    test_truncated(&k);
    test_mismatched_header(&k);
    test_subspace(&d);
    test_alignment(&d);
    test_missing_file(&k);
    ckpt_teardown(&k);
    free(d.x), free(d.xt), free(d.y), free(d.yt);
    TEST_END();
}
