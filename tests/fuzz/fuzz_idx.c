/* libFuzzer target for the IDX reader (src/data/idx.c): each input is read as
 * an image file and as a label file as it is (plain, or gzip when it starts
 * like one), then gzip-compressed here so that the gzip path sees valid
 * deflate streams of fuzzed content, which must read exactly as the plain
 * file did. An input that reads as images (labels) is also loaded as a data
 * set, next to a label (image) file made to match it. Any status a file can
 * cause is fine; a crash, a sanitizer report, a leak or a broken invariant
 * (abort) is a bug. Built by CMake with -DPT_FUZZ=ON and CC=clang, run by
 * `make fuzz` (and for 25 s by `make test`), which passes tests/fuzz/seeds-idx
 * (tiny plain and .gz files from tests/fuzz/make_seeds.py) and idx.dict. A
 * crash leaves build-fuzz/artifacts/fuzz_idx-crash-<sha1>: once fixed, add it
 * as a case to tests/test_idx.c. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "phasetower/data.h"
#include "fuzz_file.h"

static char dir[64], gz[96], images[96], labels[96];

static void remove_dir(void)
{
    remove(gz), remove(images), remove(labels);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_file_init("fuzz_idx");
    snprintf(dir, sizeof dir, "/tmp/fuzz_idx_dir_XXXXXX");
    if (!mkdtemp(dir)) abort();
    snprintf(gz, sizeof gz, "%s/input.gz", dir);
    snprintf(images, sizeof images, "%s/train-images-idx3-ubyte", dir);
    snprintf(labels, sizeof labels, "%s/train-labels-idx1-ubyte", dir);
    atexit(remove_dir);
    return 0;
}

static void write_file(const char *p, const uint8_t *data, size_t size)
{
    FILE *fp = fopen(p, "wb");
    CHECK(fp != NULL);
    CHECK(!size || fwrite(data, 1, size, fp) == size);
    CHECK(fclose(fp) == 0);
}

static void write_gzip(const char *p, const uint8_t *data, size_t size)
{
    gzFile g = gzopen(p, "wb1");
    CHECK(g != NULL);
    CHECK(!size || gzwrite(g, data, (unsigned)size) == (int)size);
    CHECK(gzclose(g) == Z_OK);
}

/* A status a file can cause; the outputs are set exactly on success. */
static void check_status(pt_status st, const void *out)
{
    CHECK(st == PT_OK || st == PT_EFORMAT || st == PT_ENOMEM);
    CHECK((st == PT_OK) == (out != NULL));
    CHECK(st == PT_OK || pt_errmsg()[0] != '\0');
}

typedef struct images_read {
    pt_status st;
    float *x;
    size_t n, rows, cols;
} images_read;

static images_read read_images(const char *p)
{
    images_read r = {PT_OK, NULL, 0, 0, 0};
    r.st = pt_idx_read_images(p, &r.x, &r.n, &r.rows, &r.cols);
    check_status(r.st, r.x);
    if (r.st == PT_OK) {
        CHECK(r.n >= 1 && r.rows >= 1 && r.rows <= 4096 && r.cols >= 1 && r.cols <= 4096);
        for (size_t i = 0; i < r.n * r.rows * r.cols; i++) CHECK(r.x[i] >= 0.0f && r.x[i] <= 1.0f);
    }
    return r;
}

typedef struct labels_read {
    pt_status st;
    uint8_t *y;
    size_t n;
} labels_read;

static labels_read read_labels(const char *p)
{
    labels_read r = {PT_OK, NULL, 0};
    r.st = pt_idx_read_labels(p, &r.y, &r.n);
    check_status(r.st, r.y);
    if (r.st == PT_OK) {
        volatile unsigned sum = 0;
        for (size_t i = 0; i < r.n; i++) sum += r.y[i]; /* every label is readable */
        (void)sum;
        CHECK(r.n >= 1);
    }
    return r;
}

static uint32_t be32(const uint8_t *b) { return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]; }

static void put_be32(uint8_t *b, uint32_t v)
{
    for (int k = 0; k < 4; k++) b[k] = (uint8_t)(v >> (24 - 8 * k));
}

/* Load the directory as split "train" with a limit and a class count taken
 * from the input's last bytes, and check the set against what the readers
 * gave: the first min(limit, n) samples, labels below n_classes. */
static void load_dataset(const uint8_t *data, size_t size, const images_read *im, const labels_read *lb)
{
    CHECK(size >= 2);
    size_t limit = data[size - 1] % 4u;
    int n_classes = 2 + data[size - 2] % 255;
    pt_dataset d, val;
    pt_status st = pt_dataset_load(dir, "train", limit, n_classes, &d);
    CHECK(st == PT_OK || st == PT_EFORMAT || st == PT_ENOMEM);
    CHECK((st == PT_OK) == (d.x != NULL) && (st == PT_OK) == (d.y != NULL));
    int fits = im->n == lb->n;
    for (size_t i = 0; fits && i < lb->n; i++) fits = lb->y[i] < n_classes;
    CHECK((st == PT_OK) == fits || st == PT_ENOMEM);
    if (st != PT_OK) return;
    size_t n = limit && limit < im->n ? limit : im->n;
    CHECK(d.n == n && d.rows == im->rows && d.cols == im->cols && d.dim == d.rows * d.cols);
    CHECK(d.n_classes == n_classes);
    CHECK(memcmp(d.x, im->x, n * d.dim * sizeof *d.x) == 0 && memcmp(d.y, lb->y, n) == 0);
    if (d.n >= 2) {
        CHECK(pt_dataset_split(&d, 1, &val) == PT_OK);
        CHECK(d.n == n - 1 && val.n == 1 && memcmp(val.y, lb->y + n - 1, 1) == 0);
        pt_dataset_free(&val);
    }
    pt_dataset_free(&d);
}

/* The input read as images: write it as the set's images and, as its labels,
 * the first pixel of each image (so that some lie outside the class count). */
static void dataset_from_images(const uint8_t *data, size_t size, const images_read *im)
{
    uint8_t *l = malloc(8 + im->n);
    CHECK(l != NULL);
    put_be32(l, 0x00000801u), put_be32(l + 4, (uint32_t)im->n);
    for (size_t i = 0; i < im->n; i++) l[8 + i] = (uint8_t)(im->x[i * im->rows * im->cols] * 255.0f + 0.5f);
    write_file(images, data, size);
    write_file(labels, l, 8 + im->n);
    labels_read lb = {PT_OK, l + 8, im->n};
    load_dataset(data, size, im, &lb);
    free(l);
}

/* The input read as labels: write it as the set's labels, with n images of
 * 1x1 pixels (the labels' own bytes) next to it. */
static void dataset_from_labels(const uint8_t *data, size_t size, const labels_read *lb)
{
    uint8_t *x = malloc(16 + lb->n);
    CHECK(x != NULL);
    put_be32(x, 0x00000803u), put_be32(x + 4, (uint32_t)lb->n), put_be32(x + 8, 1), put_be32(x + 12, 1);
    memcpy(x + 16, lb->y, lb->n);
    write_file(images, x, 16 + lb->n);
    write_file(labels, data, size);
    images_read im = read_images(images);
    CHECK(im.st == PT_OK && im.n == lb->n);
    load_dataset(data, size, &im, lb);
    free(im.x), free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_file_write(data, size);
    images_read im = read_images(path);
    labels_read lb = read_labels(path);
    /* A plain file reads only if it ends exactly where its header says. */
    int plain = !(size >= 2 && data[0] == 0x1f && data[1] == 0x8b);
    if (plain && im.st == PT_OK) CHECK(size == 16 + im.n * im.rows * im.cols && be32(data + 4) == im.n);
    if (plain && lb.st == PT_OK) CHECK(size == 8 + lb.n && memcmp(lb.y, data + 8, lb.n) == 0);

    /* The same bytes gzip-compressed read the same. */
    if (plain) {
        write_gzip(gz, data, size);
        images_read gi = read_images(gz);
        labels_read gl = read_labels(gz);
        if (gi.st != PT_ENOMEM && im.st != PT_ENOMEM) CHECK(gi.st == im.st);
        if (gl.st != PT_ENOMEM && lb.st != PT_ENOMEM) CHECK(gl.st == lb.st);
        if (gi.st == PT_OK && im.st == PT_OK)
            CHECK(gi.n == im.n && gi.rows == im.rows && gi.cols == im.cols &&
                  memcmp(gi.x, im.x, im.n * im.rows * im.cols * sizeof *im.x) == 0);
        if (gl.st == PT_OK && lb.st == PT_OK) CHECK(gl.n == lb.n && memcmp(gl.y, lb.y, lb.n) == 0);
        free(gi.x), free(gl.y);
    }

    if (im.st == PT_OK) dataset_from_images(data, size, &im);
    if (lb.st == PT_OK) dataset_from_labels(data, size, &lb);
    free(im.x), free(lb.y);
    return 0;
}
