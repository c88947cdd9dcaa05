/* bench/subspace_driver.c: the pixel-space PhaseTower of the measurements in
 * docs/sparse.md (2048:0.015625, --subspace 0: the default then) trained and tested on float
 * images given as raw float32 files (n x 784, already preprocessed or
 * projected; the tower centres and normalizes them again, which leaves a
 * preprocessed image, or its projection on principal components, unchanged).
 * Used by bench/pca_route.py --real to measure the real tower (local rule,
 * phases) with neurons in a principal subspace.
 * usage: subspace_driver TRAIN.f32 TEST.f32 DATA_DIR
 * Prints one line: the test accuracy in %. */
#include <stdio.h>
#include <stdlib.h>
#include "phasetower/pt.h"

static float *slurp(const char *path, size_t n)
{
    FILE *f = fopen(path, "rb");
    float *x = malloc(n * sizeof *x);
    if (!f || !x || fread(x, sizeof *x, n, f) != n) {
        fprintf(stderr, "subspace_driver: cannot read %zu floats from %s\n", n, path);
        exit(2);
    }
    fclose(f);
    return x;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: subspace_driver TRAIN.f32 TEST.f32 DATA_DIR\n");
        return 2;
    }
    pt_dataset tr, te;
    if (pt_dataset_load(argv[3], "train", 0, 10, &tr) || pt_dataset_load(argv[3], "t10k", 0, 10, &te)) {
        fprintf(stderr, "subspace_driver: %s\n", pt_errmsg());
        return 2;
    }
    float *xtr = slurp(argv[1], tr.n * tr.dim), *xte = slurp(argv[2], te.n * te.dim);
    pt_tower_config c = pt_tower_config_default();
    c.K[0] = 2048, c.frac[0] = 0.015625f, c.subspace = 0; /* the tower the numbers were measured with */
    pt_tower *t = NULL;
    uint8_t *pred = malloc(te.n);
    if (!pred || pt_tower_create(&c, &t) || pt_tower_train(t, xtr, tr.y, tr.n, NULL, NULL) ||
        pt_tower_predict(t, xte, te.n, pred, NULL)) {
        fprintf(stderr, "subspace_driver: %s\n", pt_errmsg());
        return 1;
    }
    size_t ok = 0;
    for (size_t i = 0; i < te.n; i++) ok += pred[i] == te.y[i];
    printf("%.2f\n", 100.0 * (double)ok / (double)te.n);
    pt_tower_destroy(t);
    free(pred), free(xtr), free(xte);
    pt_dataset_free(&tr), pt_dataset_free(&te);
    return 0;
}
