/* Truly sparse inference: probing every group reproduces the dense tower's
 * predictions and scores each neuron exactly once (the multiply-add count is
 * G d + K d + 2 s C for one block); probing fewer groups costs less; the index
 * is deterministic; bad group/probe numbers are refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "phasetower/pt.h"

enum { DIM = 49, NCLS = 5, N = 600 };

/* The data and the prediction buffers, shared by the sections below. */
static float x[N * DIM];
static uint8_t y[N], p1[N], p2[N], p3[N];

/* Probing every group reproduces the dense answers at G d + K d + 2 s C
 * multiply-adds; probing 2 of 8 groups scores fewer neurons,
 * deterministically; bad group/probe numbers and inputs are refused */
static void test_index(pt_tower_config c)
{
    pt_tower *t = NULL;
    CHECK(pt_tower_create(&c, &t) == PT_OK && pt_tower_train(t, x, y, N, NULL, NULL) == PT_OK);
    CHECK(pt_tower_predict(t, x, N, p1, NULL) == PT_OK);

    pt_tower_index *ix = NULL;
    double m = 0.0;
    CHECK(pt_tower_index_build(t, 8, 8, &ix) == PT_OK);
    CHECK(pt_tower_index_predict(ix, x, N, p2, &m) == PT_OK);
    int same = 0;
    for (int i = 0; i < N; i++) same += p1[i] == p2[i];
    CHECK(same >= N - 2); /* scores by dot products instead of one sgemm: last-bit ties only */
    CHECK_CLOSE(m, 8.0 * DIM + 96.0 * DIM + 2.0 * 10 * NCLS, 0, 1e-9);
    pt_tower_index_destroy(ix);

    /* probing 2 of 8 groups scores fewer neurons, deterministically */
    double m2 = 0.0, m3 = 0.0;
    CHECK(pt_tower_index_build(t, 8, 2, &ix) == PT_OK && pt_tower_index_predict(ix, x, N, p2, &m2) == PT_OK);
    pt_tower_index_destroy(ix);
    CHECK(pt_tower_index_build(t, 8, 2, &ix) == PT_OK && pt_tower_index_predict(ix, x, N, p3, &m3) == PT_OK);
    pt_tower_index_destroy(ix);
    CHECK(m2 < m && m2 > 8.0 * DIM && m2 == m3 && !memcmp(p2, p3, N));
    int right = 0;
    for (int i = 0; i < N; i++) right += p2[i] == y[i];
    printf("sparse 8:2: %.1f%% of dense multiply-adds, accuracy %.3f\n", 100.0 * m2 / m, (double)right / N);

    /* bad arguments */
    CHECK(pt_tower_index_build(t, 0, 1, &ix) == PT_EINVAL && ix == NULL && strstr(pt_errmsg(), "sparse index"));
    CHECK(pt_tower_index_build(t, 97, 1, &ix) == PT_EINVAL);
    CHECK(pt_tower_index_build(t, 8, 9, &ix) == PT_EINVAL && strstr(pt_errmsg(), "probe"));
    CHECK(pt_tower_index_build(t, 8, 0, &ix) == PT_EINVAL);
    float bad[DIM] = {0};
    bad[3] = NAN;
    CHECK(pt_tower_index_build(t, 8, 2, &ix) == PT_OK && pt_tower_index_predict(ix, bad, 1, p2, NULL) == PT_EINVAL);
    pt_tower_index_destroy(ix);
    pt_tower_destroy(t);
}

/* with a subspace of 6, block 0 is scored on coordinates: all groups
 * probed give the dense answers (up to last-bit ties), at R n + G R + K R
 * multiply-adds plus the sparse readout */
static void test_index_subspace(pt_tower_config c)
{
    pt_tower *t = NULL;
    pt_tower_index *ix = NULL;
    double m = 0.0;
    c.subspace = 6;
    CHECK(pt_tower_create(&c, &t) == PT_OK && pt_tower_train(t, x, y, N, NULL, NULL) == PT_OK);
    CHECK(pt_tower_predict(t, x, N, p1, NULL) == PT_OK);
    CHECK(pt_tower_index_build(t, 8, 8, &ix) == PT_OK && pt_tower_index_predict(ix, x, N, p2, &m) == PT_OK);
    int same = 0;
    for (int i = 0; i < N; i++) same += p1[i] == p2[i];
    CHECK(same >= N - 2);
    CHECK_CLOSE(m, 6.0 * DIM + 8.0 * 6 + 96.0 * 6 + 2.0 * 10 * NCLS, 0, 1e-9);
    pt_tower_index_destroy(ix);
    pt_tower_destroy(t);
}

/* routed (a basis of 6 components, raw inputs with zero pixels xz, drawn
 * from r): keeping and rescoring every neuron gives the dense answers (up to
 * last-bit ties) at 6 nnz + 6 + K r1 + K (6 - r1) + K nnz + K + 2 s C
 * multiply-adds; fewer kept cost less, deterministically; the basis survives
 * a checkpoint; bad arguments and a tower without a basis are refused */
static void test_route(pt_tower_config c, pt_rng *r)
{
    pt_tower *t = NULL;
    pt_tower_index *ix = NULL;
    double m = 0.0, m2 = 0.0, m3 = 0.0;
    int same, right;
    static float xz[N * DIM];
    double nnz = 0.0;
    for (int i = 0; i < N * DIM; i++) {
        xz[i] = pt_rng_uniform(r) < 0.4f ? 0.0f : x[i];
        nnz += xz[i] != 0.0f;
    }
    nnz /= N;
    c.subspace = 6;
    c.route = 6;
    CHECK(pt_tower_create(&c, &t) == PT_EINVAL && strstr(pt_errmsg(), "tower.subspace 0"));
    c.subspace = 0;
    CHECK(pt_tower_create(&c, &t) == PT_OK && pt_tower_train(t, xz, y, N, NULL, NULL) == PT_OK);
    CHECK(pt_tower_predict(t, xz, N, p1, NULL) == PT_OK);
    CHECK(pt_tower_route_build(t, 2, 96, 96, &ix) == PT_OK && pt_tower_index_predict(ix, xz, N, p2, &m) == PT_OK);
    same = 0;
    for (int i = 0; i < N; i++) same += p1[i] == p2[i];
    CHECK(same >= N - 2);
    CHECK_CLOSE(m, 6.0 * nnz + 6 + 96.0 * 2 + 96.0 * 4 + 96.0 * nnz + 96 + 2.0 * 10 * NCLS, 0, 1e-9);
    CHECK_CLOSE(pt_tower_madds_zero_skip(t, xz, N), 96.0 * nnz + 96 + 2.0 * 96 * NCLS, 0, 1e-9);
    pt_tower_index_destroy(ix);
    CHECK(pt_tower_route_build(t, 2, 40, 16, &ix) == PT_OK && pt_tower_index_predict(ix, xz, N, p2, &m2) == PT_OK);
    pt_tower_index_destroy(ix);
    CHECK_CLOSE(m2, 6.0 * nnz + 6 + 96.0 * 2 + 40.0 * 4 + 16.0 * nnz + 16 + 2.0 * 10 * NCLS, 0, 1e-9);
    CHECK(pt_tower_save(t, "test_sparse_route.safetensors") == PT_OK);
    pt_tower *t2 = NULL;
    CHECK(pt_tower_load("test_sparse_route.safetensors", &t2) == PT_OK && pt_tower_get_config(t2)->route == 6);
    CHECK(pt_tower_route_build(t2, 2, 40, 16, &ix) == PT_OK && pt_tower_index_predict(ix, xz, N, p3, &m3) == PT_OK);
    CHECK(m3 == m2 && !memcmp(p2, p3, N));
    right = 0;
    for (int i = 0; i < N; i++) right += p2[i] == y[i];
    printf("route 2:40:16: %.1f%% of dense multiply-adds, accuracy %.3f\n", 100.0 * m2 / (double)pt_tower_madds(t),
           (double)right / N);
    pt_tower_index_destroy(ix);
    pt_tower_destroy(t2);
    remove("test_sparse_route.safetensors");
    /* bad arguments: r1 outside 1..6, keep above K, exact outside s+1..keep */
    float bad[DIM] = {0};
    bad[3] = NAN;
    CHECK(pt_tower_route_build(t, 0, 40, 16, &ix) == PT_EINVAL && ix == NULL && strstr(pt_errmsg(), "routed inference"));
    CHECK(pt_tower_route_build(t, 7, 40, 16, &ix) == PT_EINVAL);
    CHECK(pt_tower_route_build(t, 2, 97, 16, &ix) == PT_EINVAL);
    CHECK(pt_tower_route_build(t, 2, 40, 10, &ix) == PT_EINVAL);
    CHECK(pt_tower_route_build(t, 2, 40, 41, &ix) == PT_EINVAL);
    CHECK(pt_tower_route_build(t, 2, 40, 11, &ix) == PT_OK && pt_tower_index_predict(ix, bad, 1, p2, NULL) == PT_EINVAL);
    pt_tower_index_destroy(ix);
    pt_tower_destroy(t);
    c.route = 0; /* a tower without a basis */
    CHECK(pt_tower_create(&c, &t) == PT_OK && pt_tower_train(t, xz, y, N, NULL, NULL) == PT_OK);
    CHECK(pt_tower_route_build(t, 2, 40, 16, &ix) == PT_EINVAL && strstr(pt_errmsg(), "routing basis"));
    pt_tower_destroy(t);
}

int main(void)
{
    pt_rng r;
    pt_rng_seed(&r, 12);
    for (int i = 0; i < N; i++) {
        y[i] = (uint8_t)(i % NCLS);
        for (int j = 0; j < DIM; j++) x[i * DIM + j] = (j % NCLS == y[i] ? 0.7f : 0.2f) + 0.3f * pt_rng_uniform(&r);
    }
    pt_tower_config c = pt_tower_config_default();
    c.n_in = DIM, c.n_classes = NCLS;
    CHECK(pt_tower_spec_parse("96:0.1", &c) == PT_OK); /* s = 10 */
    test_index(c);
    test_index_subspace(c);
    test_route(c, &r);
    TEST_END();
}
