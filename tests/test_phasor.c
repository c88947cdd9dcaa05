/* Phase <-> spike codec and TPAM (docs/phasor.md):
 *  - codec: round trip within pi / T for phases all around the circle and for
 *    several T; silent units stay explicit (bin -1, decoded as inactive, NaN);
 *    bad T, eps and bins are refused;
 *  - TPAM: Hebbian weights of a hand-made pattern (J = xi xi^H, zero
 *    diagonal); a few stored patterns are retrieved from half cues with
 *    overlap ~1; overlap falls as the memory fills; top-K thresholding;
 *    overlap of hand-made vectors. */
#include <math.h>
#include <string.h>
#include "check.h"
#include "phasetower/pt.h"

enum { NT = 400 };

/* codec: round trip within pi / T for phases all around the circle and for several T */
static void test_codec_round_trip(void)
{
    enum { NZ = 2000 };
    static float z[2 * NZ], ph[NZ];
    static int16_t bin[NZ];
    static uint8_t act[NZ];
    int Ts[] = {2, 3, 8, 64, 1000};
    for (size_t t = 0; t < sizeof Ts / sizeof Ts[0]; t++) {
        int T = Ts[t];
        double worst = 0.0;
        for (int i = 0; i < NZ; i++) {
            double p = -3.14159265358979 + 6.28318530717959 * (i + 0.5) / NZ, r = 0.1 + (i % 7);
            z[2 * i] = (float)(r * cos(p)), z[2 * i + 1] = (float)(r * sin(p));
        }
        CHECK(pt_phasor_spike_encode(z, NZ, T, 1e-3f, bin) == PT_OK);
        CHECK(pt_phasor_spike_decode(bin, NZ, T, ph, act) == PT_OK);
        for (int i = 0; i < NZ; i++) {
            CHECK(act[i] == 1 && bin[i] >= 0 && bin[i] < T);
            double d = fabs(remainder((double)ph[i] - atan2((double)z[2 * i + 1], (double)z[2 * i]), 6.28318530717959));
            if (d > worst) worst = d;
        }
        printf("T = %d: worst round-trip error %.5f (bound pi/T = %.5f)\n", T, worst, 3.14159265358979 / T);
        CHECK(worst <= 3.14159265358979 / T + 1e-5);
    }
}

/* codec by hand: bins at T = 4, a silent unit, decoding of bin centres; bad input */
static void test_codec_by_hand(void)
{
    /* bins by hand, T = 4 (centres 0, pi/2, pi, 3 pi/2): phase 0.1 -> bin 0,
     * pi/2 + 0.1 -> 1, -0.1 -> 0 (nearest centre 0), 2.5 -> 2; silent */
    float hz[8] = {1, 0.1f, 0, 0, -0.1f, 1, 1, -0.1f};
    hz[0] = cosf(0.1f), hz[1] = sinf(0.1f), hz[4] = cosf(1.6707963f), hz[5] = sinf(1.6707963f);
    hz[6] = cosf(-0.1f), hz[7] = sinf(-0.1f);
    int16_t hb[4];
    CHECK(pt_phasor_spike_encode(hz, 4, 4, 0.5f, hb) == PT_OK);
    CHECK(hb[0] == 0 && hb[1] == -1 && hb[2] == 1 && hb[3] == 0);
    hz[6] = cosf(2.5f), hz[7] = sinf(2.5f);
    CHECK(pt_phasor_spike_encode(hz, 4, 4, 0.5f, hb) == PT_OK && hb[3] == 2);
    float hp[4];
    uint8_t ha[4];
    CHECK(pt_phasor_spike_decode(hb, 4, 4, hp, ha) == PT_OK);
    CHECK(ha[1] == 0 && isnan(hp[1]) && ha[0] && ha[2] && ha[3]);
    CHECK_CLOSE(hp[0], 0.0, 0, 1e-6);        /* centre of bin 0 */
    CHECK_CLOSE(hp[2], 1.5707963, 0, 1e-6);  /* centre of bin 1: pi/2 */
    CHECK_CLOSE(hp[3], 3.1415927, 0, 1e-6);  /* centre of bin 2: pi */
    int16_t b3 = 3;
    CHECK(pt_phasor_spike_decode(&b3, 1, 4, hp, ha) == PT_OK);
    CHECK_CLOSE(hp[0], -1.5707963, 0, 1e-6); /* 3 pi/2 wraps to -pi/2 */
    /* bad input */
    CHECK(pt_phasor_spike_encode(hz, 4, 1, 0.5f, hb) == PT_EINVAL && strstr(pt_errmsg(), "T = 1"));
    CHECK(pt_phasor_spike_encode(hz, 4, 4, 0.0f, hb) == PT_EINVAL && strstr(pt_errmsg(), "eps"));
    CHECK(pt_phasor_spike_encode(hz, 4, 4, -1.0f, hb) == PT_EINVAL);
    hz[3] = NAN;
    CHECK(pt_phasor_spike_encode(hz, 4, 4, 0.5f, hb) == PT_EINVAL && strstr(pt_errmsg(), "unit 1"));
    hb[2] = 4;
    CHECK(pt_phasor_spike_decode(hb, 4, 4, hp, ha) == PT_EINVAL && strstr(pt_errmsg(), "bin 4"));
    hb[2] = -2;
    CHECK(pt_phasor_spike_decode(hb, 4, 4, hp, ha) == PT_EINVAL);
}

/* overlap of hand-made vectors: a global phase does not matter, orthogonal and zero give 0 */
static void test_overlap(void)
{
    float a[4] = {1, 0, 0, 1}, b[4] = {0, 1, -1, 0}; /* b = i a */
    CHECK_CLOSE(pt_tpam_overlap(a, b, 2), 1.0, 0, 1e-6);
    float c0[4] = {1, 0, 0, 0}, c1[4] = {0, 0, 1, 0};
    CHECK(pt_tpam_overlap(c0, c1, 2) == 0.0f);
    CHECK(pt_tpam_overlap(c0, (float[4]){0, 0, 0, 0}, 2) == 0.0f);
}

/* TPAM: weights by hand (N = 3, one pattern xi = (1, i, 0)), and one retrieval step */
static void test_tpam_weights(void)
{
    pt_tpam_config c = pt_tpam_config_default();
    c.N = 3, c.K = 2;
    pt_tpam *m = NULL;
    CHECK(pt_tpam_create(&c, &m) == PT_OK);
    float xi[6] = {1, 0, 0, 1, 0, 0};
    CHECK(pt_tpam_store(m, xi) == PT_OK && pt_tpam_count(m) == 1);
    const float *J = pt_tpam_weights(m);
    /* J_01 = 1 conj(i) = -i, J_10 = i, diagonal and unit 2 zero */
    CHECK(J[0] == 0 && J[1] == 0 && J[2] == 0 && J[3] == -1 && J[6] == 0 && J[7] == 1 && J[8] == 0 && J[9] == 0);
    for (int k = 4; k < 6; k++) CHECK(J[k] == 0);
    for (int k = 10; k < 18; k++) CHECK(J[k] == 0);
    /* retrieval from unit 0 alone: J z / K puts 0.5 i on unit 1 (>= theta 0.4) and
     * nothing on unit 0 (zero diagonal) */
    float zz[6] = {1, 0, 0, 0, 0, 0};
    c.iters = 1;
    pt_tpam_destroy(m);
    CHECK(pt_tpam_create(&c, &m) == PT_OK && pt_tpam_store(m, xi) == PT_OK && pt_tpam_retrieve(m, zz, 1) == PT_OK);
    CHECK(zz[0] == 0 && zz[1] == 0 && fabsf(zz[2]) < 1e-7f && zz[3] == 1.0f);
    pt_tpam_destroy(m);
}

/* few patterns: retrieved from half cues; many: worse; top-K thresholding */
static void test_tpam_capacity(void)
{
    pt_tpam_config c = pt_tpam_config_default();
    c.N = 200, c.K = 10;
    double r5, cue5, r200, cue200, rtop;
    CHECK(pt_tpam_capacity_point(&c, 5, 5, &r5, &cue5) == PT_OK);
    CHECK(pt_tpam_capacity_point(&c, 200, 20, &r200, &cue200) == PT_OK);
    c.topk = 1;
    CHECK(pt_tpam_capacity_point(&c, 5, 5, &rtop, &cue5) == PT_OK);
    printf("TPAM N=200 K=10: 5 patterns %.3f (cues %.3f), 200 patterns %.3f, top-K %.3f\n", r5, cue5, r200, rtop);
    CHECK_CLOSE(cue5, sqrt(0.5), 0, 1e-3); /* half the entries of a unit-modulus pattern */
    CHECK(r5 > 0.99 && rtop > 0.99 && r200 < r5 - 0.2);
}

/* phasor MLP: Wirtinger gradients against central differences, for each activation */
static void test_phasor_gradients(void)
{
    for (int ai = 0; ai < 3; ai++) {
        pt_phasor_config pc = pt_phasor_config_default();
        pc.n_in = 6, pc.n_out = 3, pc.hidden = 5, pc.depth = 2, pc.act = (pt_phasor_act)ai, pc.batch = 4;
        pc.modrelu_b = -0.2f;
        pt_phasor *pm = NULL;
        CHECK(pt_phasor_create(&pc, &pm) == PT_OK);
        size_t np = pt_phasor_param_count(pm);
        CHECK(np == 2 * (5 * 6 + 5 * 5 + 3 * 5) + (ai == PT_ACT_MODRELU ? 2 * 5 : 0)); /* modReLU: a bias per unit */
        enum { NS = 7 };
        float px[NS * 6], g[150], g2[150];
        uint8_t py[NS];
        pt_rng pr;
        pt_rng_seed(&pr, 40 + (uint64_t)ai);
        for (int i = 0; i < NS * 6; i++) px[i] = pt_rng_uniform(&pr);
        for (int i = 0; i < NS; i++) py[i] = (uint8_t)(i % 3);
        double loss = 0.0, num2 = 0.0, err2 = 0.0, worst = 0.0;
        CHECK(pt_phasor_grad(pm, px, py, NS, &loss, g) == PT_OK);
        float *th = pt_phasor_params(pm);
        for (size_t k = 0; k < np; k++) {
            float keep = th[k], h = 1e-2f;
            double lp, lm;
            th[k] = keep + h;
            CHECK(pt_phasor_grad(pm, px, py, NS, &lp, g2) == PT_OK);
            th[k] = keep - h;
            CHECK(pt_phasor_grad(pm, px, py, NS, &lm, g2) == PT_OK);
            th[k] = keep;
            double num = (lp - lm) / (2.0 * (double)h), e = fabs(num - (double)g[k]);
            num2 += num * num, err2 += e * e;
            if (e > worst) worst = e;
        }
        printf("phasor MLP, %s: loss %.4f, gradient |num - wirtinger| / |num| = %.2e, worst entry %.2e\n",
               pt_phasor_act_name((pt_phasor_act)ai), loss, sqrt(err2 / num2), worst);
        CHECK(sqrt(err2 / num2) < 5e-3 && worst < 2e-3);
        pt_phasor_destroy(pm);
    }
}

/* it learns: a separable synthetic task, a few epochs; pm is the trained
 * network and tp its predictions on the training set tx */
static pt_phasor *test_phasor_learns(pt_phasor_config pc, const float *tx, const uint8_t *ty, uint8_t *tp)
{
    pt_phasor *pm = NULL;
    double l0 = 0, l1 = 0;
    CHECK(pt_phasor_create(&pc, &pm) == PT_OK);
    CHECK(pt_phasor_train(pm, tx, ty, NT, NULL, NULL) == PT_OK);
    l0 = pt_phasor_loss(pm);
    for (int e = 0; e < 4; e++) CHECK(pt_phasor_train(pm, tx, ty, NT, NULL, NULL) == PT_OK);
    l1 = pt_phasor_loss(pm);
    CHECK(pt_phasor_predict(pm, tx, NT, tp, NULL) == PT_OK);
    int ok = 0;
    for (int i = 0; i < NT; i++) ok += tp[i] == ty[i];
    printf("phasor MLP on a synthetic task: loss %.3f -> %.3f, accuracy %d/%d\n", l0, l1, ok, NT);
    CHECK(l1 < l0 && ok > NT * 9 / 10);
    return pm;
}

/* k-level phase quantization: with 65536 levels the weights of pm answer as
 * with the unit circle (tp); with 2 levels (phases 0 and pi) they do not; it trains */
static void test_phasor_quant(pt_phasor_config pc, pt_phasor *pm, const float *tx, const uint8_t *ty,
                              const uint8_t *tp)
{
    pt_phasor *q = NULL;
    pt_phasor_config qc = pc;
    qc.act = PT_ACT_QUANT, qc.levels = 65536;
    CHECK(pt_phasor_create(&qc, &q) == PT_OK);
    memcpy(pt_phasor_params(q), pt_phasor_params(pm), pt_phasor_param_count(pm) * sizeof(float));
    uint8_t qp[NT];
    int sameq = 0;
    CHECK(pt_phasor_predict(q, tx, NT, qp, NULL) == PT_OK);
    for (int i = 0; i < NT; i++) sameq += qp[i] == tp[i];
    CHECK(sameq >= NT * 99 / 100);
    pt_phasor_destroy(q);
    qc.levels = 4, qc.seed = 2;
    double lq0 = 0, lq1 = 0;
    CHECK(pt_phasor_create(&qc, &q) == PT_OK && pt_phasor_train(q, tx, ty, NT, NULL, NULL) == PT_OK);
    lq0 = pt_phasor_loss(q);
    for (int e = 0; e < 4; e++) CHECK(pt_phasor_train(q, tx, ty, NT, NULL, NULL) == PT_OK);
    lq1 = pt_phasor_loss(q);
    CHECK(pt_phasor_predict(q, tx, NT, qp, NULL) == PT_OK);
    sameq = 0;
    for (int i = 0; i < NT; i++) sameq += qp[i] == ty[i];
    printf("quant, 4 levels, straight-through: loss %.3f -> %.3f, accuracy %d/%d\n", lq0, lq1, sameq, NT);
    CHECK(lq1 < lq0 && sameq > NT * 9 / 10);
    CHECK(pt_phasor_predict_spiking(q, tx, NT, 16, qp, NULL) == PT_EINVAL);
    pt_phasor_destroy(q);
    qc.levels = 1;
    CHECK(pt_phasor_create(&qc, &q) == PT_EINVAL && strstr(pt_errmsg(), "phasor.levels"));
}

/* spiking execution: with many bins it answers as the atemporal network (tp);
 * every input and every hidden unit spikes once (none is silent here) */
static void test_phasor_spiking(const pt_phasor *pm, const float *tx, const uint8_t *tp)
{
    uint8_t sp[NT];
    double spikes = 0.0;
    CHECK(pt_phasor_predict_spiking(pm, tx, NT, 4096, sp, &spikes) == PT_OK);
    int same = 0;
    for (int i = 0; i < NT; i++) same += sp[i] == tp[i];
    printf("spiking execution, T = 4096: %d/%d answers as atemporal, %.1f spikes per image\n", same, NT, spikes);
    CHECK(same >= NT * 99 / 100 && spikes > 16.0 && spikes <= 16.0 + 32.0);
    CHECK(pt_phasor_predict_spiking(pm, tx, NT, 1, sp, NULL) == PT_EINVAL && strstr(pt_errmsg(), "T = 1"));
}

/* checkpoint round trip: same predictions; a tower loader refuses it */
static void test_phasor_checkpoint(const pt_phasor *pm, const float *tx, const uint8_t *tp)
{
    pt_phasor *pm2 = NULL;
    const char *cp = "/tmp/pt_test_phasor.safetensors";
    char kind[16];
    CHECK(pt_phasor_save(pm, cp) == PT_OK && pt_phasor_load(cp, &pm2) == PT_OK);
    CHECK(pt_ckpt_peek(cp, kind, sizeof kind) == PT_OK && !strcmp(kind, "phasor"));
    uint8_t tp2[NT];
    CHECK(pm2 && pt_phasor_predict(pm2, tx, NT, tp2, NULL) == PT_OK && !memcmp(tp, tp2, NT));
    pt_tower *tw = NULL;
    CHECK(pt_tower_load(cp, &tw) == PT_EFORMAT && strstr(pt_errmsg(), "phasor"));
    remove(cp);
    pt_phasor_destroy(pm2);
}

/* bad configurations (pc: the trained network's) and data */
static void test_phasor_bad_input(pt_phasor_config pc, const float *tx, uint8_t *ty, uint8_t *tp)
{
    pt_phasor *pm = NULL;
    pc.eps = 0.0f;
    CHECK(pt_phasor_create(&pc, &pm) == PT_EINVAL && strstr(pt_errmsg(), "phasor.eps"));
    pc = pt_phasor_config_default(), pc.depth = 0;
    CHECK(pt_phasor_create(&pc, &pm) == PT_EINVAL && strstr(pt_errmsg(), "phasor.depth"));
    pt_phasor_act pa;
    CHECK(pt_phasor_act_parse("tanh", &pa) == PT_EINVAL && strstr(pt_errmsg(), "phasor.act"));
    pc = pt_phasor_config_default(), pc.n_in = 16, pc.n_out = 4, pc.act = PT_ACT_CARDIOID;
    CHECK(pt_phasor_create(&pc, &pm) == PT_OK);
    CHECK(pt_phasor_predict_spiking(pm, tx, NT, 16, tp, NULL) == PT_EINVAL && strstr(pt_errmsg(), "unit-circle"));
    ty[3] = 9;
    CHECK(pt_phasor_train(pm, tx, ty, NT, NULL, NULL) == PT_EINVAL && strstr(pt_errmsg(), "label 9"));
    pt_phasor_destroy(pm);
}

/* The trained network on a synthetic task, then its quantized, spiking and
 * saved forms, and bad input */
static void test_phasor_task(void)
{
    pt_phasor_config pc = pt_phasor_config_default();
    pc.n_in = 16, pc.n_out = 4, pc.hidden = 32, pc.batch = 32, pc.lr = 1e-2f;
    static float tx[NT * 16];
    static uint8_t ty[NT], tp[NT];
    pt_rng pr;
    pt_rng_seed(&pr, 5);
    for (int i = 0; i < NT; i++) {
        ty[i] = (uint8_t)(i % 4);
        for (int j = 0; j < 16; j++) tx[i * 16 + j] = (j / 4 == ty[i] ? 0.8f : 0.1f) + 0.2f * pt_rng_uniform(&pr);
    }
    pt_phasor *pm = test_phasor_learns(pc, tx, ty, tp);
    test_phasor_quant(pc, pm, tx, ty, tp);
    test_phasor_spiking(pm, tx, tp);
    test_phasor_checkpoint(pm, tx, tp);
    pt_phasor_destroy(pm);
    test_phasor_bad_input(pc, tx, ty, tp);
}

/* bad TPAM configurations */
static void test_tpam_bad_config(void)
{
    pt_tpam *m = (pt_tpam *)1; /* not NULL: the first refusal must clear it */
    pt_tpam_config c = pt_tpam_config_default();
    c.K = 700;
    CHECK(pt_tpam_create(&c, &m) == PT_EINVAL && m == NULL && strstr(pt_errmsg(), "tpam.K"));
    c = pt_tpam_config_default(), c.theta = 0.0f;
    CHECK(pt_tpam_create(&c, &m) == PT_EINVAL && strstr(pt_errmsg(), "tpam.theta"));
    c = pt_tpam_config_default(), c.iters = 0;
    CHECK(pt_tpam_create(&c, &m) == PT_EINVAL && strstr(pt_errmsg(), "tpam.iters"));
    c = pt_tpam_config_default(), c.N = 1;
    CHECK(pt_tpam_create(&c, &m) == PT_EINVAL && strstr(pt_errmsg(), "tpam.N"));
}

int main(void)
{
    test_codec_round_trip();
    test_codec_by_hand();
    test_overlap();
    test_tpam_weights();
    test_tpam_capacity();
    test_phasor_gradients();
    test_phasor_task();
    test_tpam_bad_config();
    TEST_END();
}
