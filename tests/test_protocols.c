/* Evaluation protocols and the memory on a model: the blend of test images
 * (the composition protocol) against its definition, the noise set, the base
 * classes of nested concepts, the combined answer, filling a memory by each
 * policy through an embedder, and evaluation with and without a memory. */
#include <math.h>
#include <string.h>
#include "check.h"
#include "phasetower/pt.h"

enum { DIM = 8, N = 12 };

/* A toy embedder: the vector of an input is the input itself as real parts;
 * the class is its largest entry (mod 4); the score its largest value. */
static pt_status toy_embed(const pt_embedder *e, const float *x, size_t n, float *z, uint8_t *pred, float *scores)
{
    for (size_t i = 0; i < n; i++) {
        int b = 0;
        for (int j = 0; j < e->n_in; j++) {
            if (z) z[2 * (i * DIM + (size_t)j)] = x[i * DIM + (size_t)j], z[2 * (i * DIM + (size_t)j) + 1] = 0.0f;
            if (x[i * DIM + (size_t)j] > x[i * DIM + (size_t)b]) b = j;
        }
        if (pred) pred[i] = (uint8_t)(b % 4);
        if (scores) scores[i] = x[i * DIM + (size_t)b];
    }
    return PT_OK;
}

int main(void)
{
    /* a set of 12 images of 8 pixels: class i % 4, pixel (i % 4) + 4 * (i / 4 % 2) lit */
    static float x[N * DIM];
    static uint8_t y[N];
    for (int i = 0; i < N; i++) {
        y[i] = (uint8_t)(i % 4);
        for (int j = 0; j < DIM; j++) x[i * DIM + j] = 0.05f * (float)j;
        x[i * DIM + (i % 4) + 4 * (i / 4 % 2)] = 1.0f;
    }
    pt_dataset d = {N, 2, 4, DIM, x, y, 4};

    /* blend: image j is the mean of the j-th images of the classes */
    int cls[2] = {1, 3};
    pt_dataset b = {0};
    CHECK(pt_dataset_blend(&d, cls, 2, &b) == PT_OK && b.n == 3 && b.dim == DIM);
    for (size_t j = 0; j < b.n; j++)
        for (int p = 0; p < DIM; p++)
            CHECK_CLOSE(b.x[j * DIM + (size_t)p], (x[(1 + 4 * j) * DIM + (size_t)p] + x[(3 + 4 * j) * DIM + (size_t)p]) / 2.0f,
                        1e-7, 1e-7);
    pt_dataset_free(&b);
    int nocls[1] = {7};
    CHECK(pt_dataset_blend(&d, nocls, 1, &b) == PT_EINVAL && b.x == NULL);
    CHECK(pt_dataset_blend(&d, cls, 0, &b) == PT_EINVAL);

    /* noise: n images of the shape, in [0, 1], seeded */
    pt_dataset n1 = {0}, n2 = {0};
    CHECK(pt_dataset_noise(&d, 50, 3, &n1) == PT_OK && pt_dataset_noise(&d, 50, 3, &n2) == PT_OK);
    CHECK(n1.n == 50 && n1.rows == 2 && n1.cols == 4 && !memcmp(n1.x, n2.x, 50 * DIM * sizeof(float)));
    double mean = 0.0;
    for (int i = 0; i < 50 * DIM; i++) {
        CHECK(n1.x[i] >= 0.0f && n1.x[i] <= 1.0f);
        mean += (double)n1.x[i];
    }
    CHECK(fabs(mean / (50.0 * DIM) - 0.5) < 0.1);
    pt_dataset_free(&n1), pt_dataset_free(&n2);

    /* the combined answer */
    CHECK(pt_memory_combine(2, 5, 0.8f, 0.7f) == 5 && pt_memory_combine(2, 5, 0.6f, 0.7f) == 2);
    CHECK(pt_memory_combine(2, -1, 0.9f, 0.7f) == 2);

    /* fill by policy through an embedder */
    pt_embedder e = {NULL, 0, toy_embed, DIM, DIM, 4, 1, {"max", NULL, NULL, NULL}};
    pt_memory_config mc = pt_memory_config_default(DIM);
    mc.capacity = 100, mc.k = 1;
    pt_memory *m = NULL;
    pt_memory_fill_opts fo = {PT_MEMORY_ALL, 0.7f, NULL, NULL};
    size_t w = 0;
    CHECK(pt_memory_create(&mc, &m) == PT_OK && pt_memory_fill(m, &e, &d, &fo, &w) == PT_OK && w == N);
    pt_memory_destroy(m);
    /* WRONG: the toy model is wrong on the images lit in the upper half (class = pixel % 4 is right
     * there too), so it keeps none; NOVEL keeps one image per distinct pixel pattern */
    fo.policy = PT_MEMORY_WRONG;
    CHECK(pt_memory_create(&mc, &m) == PT_OK && pt_memory_fill(m, &e, &d, &fo, &w) == PT_OK && w == 0);
    pt_memory_destroy(m);
    fo.policy = PT_MEMORY_NOVEL, fo.tau = 0.999f;
    CHECK(pt_memory_create(&mc, &m) == PT_OK && pt_memory_fill(m, &e, &d, &fo, &w) == PT_OK && w == 8);
    /* evaluation: model, memory and combined; without a memory, the model alone */
    pt_memory_eval ev = {0};
    CHECK(pt_memory_evaluate(m, &e, &d, 0.7f, &ev) == PT_OK);
    CHECK(ev.acc == 1.0 && ev.mem_acc == 1.0 && ev.comb_acc == 1.0 && ev.scores[0] == 1.0f);
    pt_memory_eval_free(&ev);
    CHECK(pt_memory_evaluate(NULL, &e, &d, 0.7f, &ev) == PT_OK && ev.mem_label == NULL && ev.acc == 1.0);
    pt_memory_eval_free(&ev);
    /* bad input: an embedder of other vectors, data of other inputs, a bad policy or tau */
    pt_embedder bad = e;
    bad.dim = DIM + 1;
    CHECK(pt_memory_fill(m, &bad, &d, &fo, &w) == PT_EINVAL && strstr(pt_errmsg(), "memory holds vectors"));
    bad = e, bad.n_in = DIM - 1;
    CHECK(pt_memory_evaluate(m, &bad, &d, 0.7f, &ev) == PT_EINVAL && ev.pred == NULL);
    fo.tau = 0.0f;
    CHECK(pt_memory_fill(m, &e, &d, &fo, &w) == PT_EINVAL);
    fo.policy = (pt_memory_policy)9;
    CHECK(pt_memory_fill(m, &e, &d, &fo, &w) == PT_EINVAL);
    pt_memory_policy pol;
    CHECK(pt_memory_policy_parse("sometimes", &pol) == PT_EINVAL && strstr(pt_errmsg(), "memory.policy 'sometimes'"));
    CHECK(pt_memory_policy_parse("novel", &pol) == PT_OK && pol == PT_MEMORY_NOVEL);

    /* base classes of nested concepts */
    pt_compose_opts co = {1.0f, 4, 1, 0, 4, "1+3"};
    int l13 = -1, l135 = -1, base[8], nb = 0;
    CHECK(pt_memory_compose(m, 1, 3, &co, &l13, NULL, NULL) == PT_OK);
    co.name = "(1+3)+0";
    CHECK(pt_memory_compose(m, l13, 0, &co, &l135, NULL, NULL) == PT_OK);
    CHECK(pt_memory_base_labels(m, l135, 4, base, 8, &nb) == PT_OK && nb == 3 && base[0] == 1 && base[1] == 3 && base[2] == 0);
    CHECK(pt_memory_base_labels(m, 2, 4, base, 8, &nb) == PT_OK && nb == 1 && base[0] == 2);
    CHECK(pt_memory_base_labels(m, l135, 4, base, 2, &nb) == PT_EINVAL);
    CHECK(pt_memory_base_labels(m, 77, 4, base, 8, &nb) == PT_EINVAL && strstr(pt_errmsg(), "no known parents"));
    pt_memory_destroy(m);
    TEST_END();
}
