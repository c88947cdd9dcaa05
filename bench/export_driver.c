/* bench/export_driver.c: classify an MNIST-format test set with an exported
 * model (phasetower_model.c) one image at a time, and time it.
 * usage: export_driver IMAGES LABELS PRED_OUT   (uncompressed IDX files)
 * Prints one JSON line: images, accuracy, us_per_image (best of 3 passes over
 * the whole set, one image per call, one core). Writes the predicted classes,
 * one per line, to PRED_OUT. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "phasetower_model.h"

static unsigned char *slurp(const char *path, long *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)*n);
    if (b && fread(b, 1, (size_t)*n, f) != (size_t)*n) b = (free(b), NULL);
    fclose(f);
    return b;
}

int main(int argc, char **argv)
{
    long ni, nl;
    if (argc != 4) return 2;
    unsigned char *img = slurp(argv[1], &ni), *lab = slurp(argv[2], &nl);
    if (!img || !lab || ni < 16 || nl < 8) return 2;
    long n = (ni - 16) / PTM_N_IN;
    if (n > nl - 8) n = nl - 8;
    int *pred = malloc(sizeof *pred * (size_t)n);
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (long i = 0; i < n; i++) pred[i] = ptm_predict(img + 16 + i * PTM_N_IN);
        clock_gettime(CLOCK_MONOTONIC, &b);
        double s = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
        if (s < best) best = s;
    }
    long ok = 0;
    FILE *f = fopen(argv[3], "w");
    if (!f) return 2;
    for (long i = 0; i < n; i++) {
        ok += pred[i] == lab[8 + i];
        fprintf(f, "%d\n", pred[i]);
    }
    fclose(f);
    printf("{\"images\": %ld, \"accuracy\": %.6f, \"us_per_image\": %.3f}\n", n, (double)ok / (double)n, 1e6 * best / (double)n);
    free(img), free(lab), free(pred);
    return 0;
}
