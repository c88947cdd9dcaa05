/* Liquid topology (docs/liquid.md) on a hand-made tower whose neurons are
 * frozen (eta = 0): 4 neurons match the 4 classes, 2 are never selected.
 *  - deaths: with N = 10 and batches of 4, an unused neuron is flipped at the
 *    first batch end with 10 idle samples (sample 12: phi <- phi + pi) and
 *    removed 10 samples later (sample 24); used neurons never are;
 *  - births: a threshold above every score clones the winner with its phase
 *    flipped (or, with birth_sample, imprints the sample), up to max_neurons;
 *  - nothing happens with the options off, or when no neuron is idle: the
 *    result is bit-identical to a fixed topology;
 *  - the counts and the new size survive a checkpoint round trip, and the
 *    checkpoint shrinks with the tower. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "check.h"
#include "phasetower/pt.h"
#include "tower/tower_internal.h"

enum { DIM = 8, NCLS = 4, K0 = 6, N = 100 };
static float x[N * DIM];
static uint8_t y[N];

static pt_tower *make(int births, int deaths, float tau, int max_neurons, int sample)
{
    pt_tower_config c = pt_tower_config_default();
    c.n_in = DIM, c.n_classes = NCLS, c.n_blocks = 1, c.K[0] = K0, c.frac[0] = 1.0f / K0;
    c.eta = 0.0f, c.batch = 4, c.init = PT_INIT_RANDOM, c.seed = 3;
    c.births = births, c.deaths = deaths, c.death_steps = 10, c.birth_tau = tau, c.max_neurons = max_neurons;
    c.birth_sample = sample;
    pt_tower *t = NULL;
    CHECK(pt_tower_create(&c, &t) == PT_OK);
    /* neuron k < 4: the preprocessed pattern of class k; neurons 4, 5: pixels 5 and 6, never lit */
    for (int k = 0; k < K0; k++) {
        float e[DIM] = {0};
        e[k < NCLS ? k : k + 1] = 1.0f;
        pt_tower_preprocess(t->b[0].P + k * DIM, e, DIM);
        t->b[0].phi[k] = 0.5f * (float)k - 1.0f;
    }
    return t;
}

static void train(pt_tower *t, size_t n)
{
    CHECK(pt_tower_train(t, x, y, n, NULL, NULL) == PT_OK);
}

/* x: one-hot class patterns with a little variety in pixel 7; y = i % 4 */
static void make_data(void)
{
    for (int i = 0; i < N; i++) {
        y[i] = (uint8_t)(i % NCLS);
        for (int j = 0; j < DIM; j++) x[i * DIM + j] = j == y[i] ? 1.0f : 0.0f;
        x[i * DIM + 7] = 0.02f * (float)(i % 5); /* a little variety */
    }
}

/* off, or on without idleness or births: bit-identical to the fixed tower,
 * which is returned (trained on all of x) for the checks below */
static pt_tower *test_off_is_fixed(void)
{
    long b, f, d;
    pt_tower *fixed = make(0, 0, 0.7f, 0, 0), *quiet = make(1, 1, 1e-6f, 0, 0);
    quiet->cfg.death_steps = 1000;
    train(fixed, N), train(quiet, N);
    pt_tower_topology(quiet, 0, &b, &f, &d);
    CHECK(b == 0 && f == 0 && d == 0 && pt_tower_block_size(quiet, 0) == K0);
    CHECK(!memcmp(fixed->C, quiet->C, sizeof(pt_c32) * NCLS * K0));
    CHECK(!memcmp(fixed->b[0].P, quiet->b[0].P, sizeof(float) * K0 * DIM));
    pt_tower_destroy(quiet);
    return fixed;
}

/* deaths: 12 samples flip the two unused neurons (idle for N = 12 at the
 * third batch end) */
static void test_flip(void)
{
    long b, f, d;
    pt_tower *t = make(0, 1, 0.7f, 0, 0);
    float phi4 = t->b[0].phi[4], phi0 = t->b[0].phi[0];
    t->cfg.death_steps = 12;
    train(t, 12);
    pt_tower_topology(t, 0, &b, &f, &d);
    CHECK(f == 2 && d == 0 && b == 0 && pt_tower_block_size(t, 0) == K0);
    CHECK_CLOSE(fabsf(t->b[0].phi[4] - phi4), 3.14159265f, 0, 1e-6);
    CHECK(t->b[0].phi[0] == phi0);
    pt_tower_destroy(t);
}

/* deaths: 100 samples remove the two unused neurons; the used ones stay (as
 * in fixed) and answer right; checkpoint: the new size and the counts
 * survive; the file shrinks */
static void test_deaths(const pt_tower *fixed)
{
    long b, f, d;
    pt_tower *t = make(0, 1, 0.7f, 0, 0);
    train(t, N);
    pt_tower_topology(t, 0, &b, &f, &d);
    CHECK(f == 2 && d == 2 && b == 0 && pt_tower_block_size(t, 0) == 4);
    CHECK(!memcmp(t->b[0].P, fixed->b[0].P, sizeof(float) * 4 * DIM)); /* the used ones, in order */
    CHECK(pt_tower_get_config(t)->K[0] == 4 && pt_block_active(4, pt_tower_get_config(t)->frac[0]) == 1);
    uint8_t p1[N], p2[N];
    CHECK(pt_tower_predict(t, x, N, p1, NULL) == PT_OK);
    int right = 0;
    for (int i = 0; i < N; i++) right += p1[i] == y[i];
    CHECK(right == N);
    /* checkpoint: the new size and the counts survive; the file shrinks */
    const char *path = "/tmp/pt_test_liquid.safetensors", *path0 = "/tmp/pt_test_liquid0.safetensors";
    struct stat s1, s0;
    CHECK(pt_tower_save(t, path) == PT_OK && pt_tower_save(fixed, path0) == PT_OK);
    CHECK(stat(path, &s1) == 0 && stat(path0, &s0) == 0 && s1.st_size < s0.st_size);
    pt_tower *u = NULL;
    CHECK(pt_tower_load(path, &u) == PT_OK && u);
    if (u) {
        pt_tower_topology(u, 0, &b, &f, &d);
        CHECK(pt_tower_block_size(u, 0) == 4 && f == 2 && d == 2 && u->cfg.deaths && !u->cfg.births);
        CHECK(pt_tower_predict(u, x, N, p2, NULL) == PT_OK && !memcmp(p1, p2, N));
    }
    remove(path), remove(path0);
    pt_tower_destroy(u);
    pt_tower_destroy(t);
}

/* births: no score reaches 1.0, so the winner of each batch is cloned, phase
 * flipped, until the block holds max_neurons */
static void test_births(const pt_tower *fixed)
{
    long b, f, d;
    pt_tower *t = make(1, 0, 1.0f, 9, 0);
    train(t, 8);
    pt_tower_topology(t, 0, &b, &f, &d);
    CHECK(b == 3 && d == 0 && pt_tower_block_size(t, 0) == 9);
    for (int k = K0; k < 9; k++) { /* each newborn is a copy of one of the class neurons, turned by pi */
        int parent = -1;
        for (int q = 0; q < NCLS; q++)
            if (!memcmp(t->b[0].P + k * DIM, fixed->b[0].P + q * DIM, sizeof(float) * DIM)) parent = q;
        CHECK(parent >= 0);
        if (parent < 0) continue;
        CHECK_CLOSE(fabsf(t->b[0].phi[k] - fixed->b[0].phi[parent]), 3.14159265f, 0, 1e-6);
        for (int c = 0; c < NCLS; c++) /* its targets turn with it */
            CHECK(t->b[0].T[c * 9 + k] == -fixed->b[0].T[c * K0 + parent]);
    }
    pt_tower_destroy(t);
}

/* birth_sample: the newborn is the (preprocessed) sample, at its class target's phase */
static void test_birth_sample(void)
{
    pt_tower *t = make(1, 0, 1.0f, 7, 1);
    train(t, 4);
    CHECK(pt_tower_block_size(t, 0) == 7);
    float want[DIM];
    int found = 0;
    for (int i = 0; i < 4 && !found; i++) {
        pt_tower_preprocess(want, x + i * DIM, DIM);
        found = 1;
        for (int j = 0; j < DIM; j++) found &= fabsf(want[j] - t->b[0].P[K0 * DIM + j]) < 1e-6f;
        if (found) CHECK_CLOSE(t->b[0].phi[K0], cargf(t->b[0].T[y[i] * 7 + K0]), 0, 1e-6);
    }
    CHECK(found);
    pt_tower_destroy(t);
}

/* ridge slots: neuron 3 is used by the first 12 samples, then idles, flips
 * and is removed (sample 36); samples of a new pattern from sample 60 on
 * then give births. A newborn takes the slot freed last (neuron 3's, full of
 * its old sums: they must be cleared) or, in the test mode, a never-used
 * one (there are 9 = 15 - 6 of those, more than the births, so that run
 * never reuses a slot). The readout must be bit-identical either way. */
static void test_ridge_slots(void)
{
    enum { NS = 80 };
    static float xs[NS * DIM];
    static uint8_t ys[NS];
    for (int i = 0; i < NS; i++) {
        int c = i < 12 ? i % 4 : i < 60 ? i % 3 : 4; /* 4: the new pattern, pixel 4 */
        ys[i] = (uint8_t)(c == 4 ? 0 : c);
        for (int j = 0; j < DIM; j++) xs[i * DIM + j] = j == c ? 1.0f : 0.0f;
        xs[i * DIM + 7] = 0.02f * (float)(i % 5);
    }
    pt_tower *ta = make(1, 1, 0.9f, 15, 0), *tb = make(1, 1, 0.9f, 15, 0);
    CHECK(pt_tower_train(ta, xs, ys, NS, NULL, NULL) == PT_OK);
    pt_train_hooks oldest = {1};
    CHECK(pt_tower_train_hooked(tb, xs, ys, NS, NULL, NULL, &oldest) == PT_OK);
    long ba, fa, da;
    pt_tower_topology(ta, 0, &ba, &fa, &da);
    int Ka = pt_tower_block_size(ta, 0);
    printf("slots: %d neurons, %ld births, %ld flips, %ld deaths\n", Ka, ba, fa, da);
    CHECK(da == 3 && ba >= 1 && ba <= 9 && Ka == pt_tower_block_size(tb, 0));
    CHECK(!memcmp(ta->C, tb->C, sizeof(pt_c32) * NCLS * (size_t)Ka));
    pt_tower_destroy(ta), pt_tower_destroy(tb);
}

/* bad options */
static void test_bad_options(void)
{
    pt_tower_config c = pt_tower_config_default();
    c.death_steps = 0;
    CHECK(pt_tower_config_check(&c) == PT_EINVAL && strstr(pt_errmsg(), "tower.death_steps"));
    c = pt_tower_config_default(), c.birth_tau = 1.5f;
    CHECK(pt_tower_config_check(&c) == PT_EINVAL && strstr(pt_errmsg(), "tower.birth_tau"));
    c = pt_tower_config_default(), c.max_neurons = 100;
    CHECK(pt_tower_config_check(&c) == PT_EINVAL && strstr(pt_errmsg(), "tower.max_neurons"));
}

int main(void)
{
    make_data();
    pt_tower *fixed = test_off_is_fixed();
    test_flip();
    test_deaths(fixed);
    test_births(fixed);
    test_birth_sample();
    test_ridge_slots();
    test_bad_options();
    pt_tower_destroy(fixed);
    TEST_END();
}
