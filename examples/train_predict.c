/* Example: the whole public API in one page. Builds a toy 3-class problem,
 * trains a PhaseTower in one backprop-free pass, saves it, loads it back and
 * predicts. With a data directory argument it trains on that MNIST-format set:
 *   ./example_train_predict /usr/share/datasets/fashion-mnist
 * Built and run by ctest, so it cannot rot. */
#include <stdio.h>
#include <stdlib.h>
#include "phasetower/pt.h"

static int fail(const char *what)
{
    fprintf(stderr, "%s: %s\n", what, pt_errmsg());
    return 1;
}

int main(int argc, char **argv)
{
    pt_dataset train = {0}, test = {0};
    if (argc > 1) { /* real data: first 5000 training and 1000 test images */
        if (pt_dataset_load(argv[1], "train", 5000, 10, &train)) return fail("train data");
        if (pt_dataset_load(argv[1], "t10k", 1000, 10, &test)) return fail("test data");
    } else { /* toy data: 3 classes of 16 "pixels", each lit in its own third */
        pt_rng r;
        pt_rng_seed(&r, 42);
        pt_dataset *sets[2] = {&train, &test};
        for (int s = 0; s < 2; s++) {
            pt_dataset *d = sets[s];
            d->n = 600, d->rows = 4, d->cols = 4, d->dim = 16, d->n_classes = 3;
            d->x = malloc(d->n * d->dim * sizeof *d->x);
            d->y = malloc(d->n);
            if (!d->x || !d->y) return 1;
            for (size_t i = 0; i < d->n; i++) {
                d->y[i] = (uint8_t)(i % 3);
                for (size_t j = 0; j < d->dim; j++)
                    d->x[i * d->dim + j] = (j * 3 / d->dim == d->y[i] ? 0.8f : 0.1f) + 0.1f * pt_rng_uniform(&r);
            }
        }
    }

    pt_tower_config cfg = pt_tower_config_default();
    cfg.n_in = (int)train.dim;
    cfg.n_classes = train.n_classes;
    if (pt_tower_spec_parse(argc > 1 ? "1024:0.015625" : "32:0.125", &cfg)) return fail("layers");

    pt_tower *t = NULL;
    if (pt_tower_create(&cfg, &t)) return fail("create");
    if (pt_tower_train(t, train.x, train.y, train.n, NULL, NULL)) return fail("train");

    double acc = 0.0;
    if (pt_tower_accuracy(t, &test, &acc)) return fail("accuracy");
    printf("test accuracy %.1f%% with %zu parameters\n", 100.0 * acc, pt_tower_param_count(t));

    const char *path = "example_model.safetensors";
    if (pt_tower_save(t, path)) return fail("save");
    pt_tower *loaded = NULL;
    if (pt_tower_load(path, &loaded)) return fail("load");
    uint8_t pred;
    if (pt_tower_predict(loaded, test.x, 1, &pred, NULL)) return fail("predict");
    printf("first test sample: predicted %d, label %d\n", pred, test.y[0]);
    remove(path);

    pt_tower_destroy(t);
    pt_tower_destroy(loaded);
    pt_dataset_free(&train);
    pt_dataset_free(&test);
    return acc > 0.9 || argc > 1 ? 0 : 1;
}
