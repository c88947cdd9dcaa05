/* IDX reader and dataset loading: writes small plain and gzip IDX files into a
 * temporary directory, checks exact pixel values, limit and split, and that
 * every kind of bad file (wrong magic, truncation, corrupt gzip, trailing bytes,
 * bad shapes, inconsistent labels, missing files) gives the right status and a
 * message naming the file. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "check.h"
#include "phasetower/data.h"

/* Everything created under the temp dir, removed in reverse order at the end. */
#define MAX_CREATED 128
static char *created[MAX_CREATED];
static int n_created;
static char tmpdir[] = "/tmp/pt_test_idx_XXXXXX";

static void remember(const char *path)
{
    if (n_created < MAX_CREATED) created[n_created++] = strdup(path);
}

static char *join(const char *name)
{
    static char buf[8][512];
    static int slot;
    char *p = buf[slot++ % 8];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

static void make_dir(const char *name)
{
    const char *p = join(name);
    CHECK(mkdir(p, 0700) == 0);
    remember(p);
}

static void write_file(const char *name, const unsigned char *buf, size_t len, int gz)
{
    const char *p = join(name);
    if (gz) {
        gzFile g = gzopen(p, "wb");
        CHECK(g != NULL);
        if (!g) return;
        if (len) CHECK(gzwrite(g, buf, (unsigned)len) == (int)len);
        CHECK(gzclose(g) == Z_OK);
    } else {
        FILE *f = fopen(p, "wb");
        CHECK(f != NULL);
        if (!f) return;
        if (len) CHECK(fwrite(buf, 1, len, f) == len);
        CHECK(fclose(f) == 0);
    }
    remember(p);
}

static unsigned char *read_whole(const char *name, size_t *len)
{
    FILE *f = fopen(join(name), "rb");
    CHECK(f != NULL);
    if (!f) return NULL;
    unsigned char *buf = malloc(1 << 20);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static void put_be32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

/* Pixel i of a test image set: 0, 255, 51, then a fixed LCG sequence (no rand()). */
static unsigned char pixel(size_t i)
{
    static const unsigned char head[3] = { 0, 255, 51 };
    if (i < 3) return head[i];
    return (unsigned char)((i * 1103515245u + 12345u) >> 7);
}

/* IDX3 image file bytes; extra trailing bytes are zero. Caller frees. */
static unsigned char *images_bytes(uint32_t magic, uint32_t n, uint32_t rows, uint32_t cols, size_t npix,
                                   size_t *len)
{
    *len = 16 + npix;
    unsigned char *b = malloc(*len);
    put_be32(b, magic);
    put_be32(b + 4, n);
    put_be32(b + 8, rows);
    put_be32(b + 12, cols);
    for (size_t i = 0; i < npix; i++) b[16 + i] = pixel(i);
    return b;
}

static void write_images(const char *name, uint32_t n, uint32_t rows, uint32_t cols, int gz)
{
    size_t len;
    unsigned char *b = images_bytes(0x803, n, rows, cols, (size_t)n * rows * cols, &len);
    write_file(name, b, len, gz);
    free(b);
}

static void write_labels(const char *name, uint32_t n, const unsigned char *lab, int gz)
{
    unsigned char *b = malloc(8 + n);
    put_be32(b, 0x801);
    put_be32(b + 4, n);
    memcpy(b + 8, lab, n);
    write_file(name, b, 8 + n, gz);
    free(b);
}

/* The call failed with `want`, left outputs empty, and the message names `name`. */
#define CHECK_FAIL(st, want, name, text) \
    do { pt_status s_ = (st); CHECK(s_ == (want)); \
         CHECK(strstr(pt_errmsg(), (name)) != NULL); CHECK(strstr(pt_errmsg(), (text)) != NULL); \
         if (s_ != (want) || !strstr(pt_errmsg(), (text))) fprintf(stderr, "  got %d: %s\n", (int)s_, pt_errmsg()); } while (0)

static void check_image_values(const float *x, size_t total)
{
    CHECK(x[0] == 0.0f);
    CHECK(x[1] == 1.0f);
    CHECK(x[2] == 0.2f);
    int bad = 0;
    for (size_t i = 0; i < total; i++) bad += x[i] != (float)pixel(i) / 255.0f;
    CHECK(bad == 0);
}

static void test_good_files(void)
{
    for (int gz = 0; gz < 2; gz++) {
        const char *name = gz ? "good-img.gz" : "good-img";
        write_images(name, 3, 2, 3, gz);
        float *x = NULL;
        size_t n = 0, rows = 0, cols = 0;
        CHECK(pt_idx_read_images(join(name), &x, &n, &rows, &cols) == PT_OK);
        CHECK(n == 3 && rows == 2 && cols == 3);
        if (x) check_image_values(x, 18);
        free(x);

        const unsigned char lab[4] = { 7, 0, 9, 3 };
        const char *lname = gz ? "good-lab.gz" : "good-lab";
        write_labels(lname, 4, lab, gz);
        uint8_t *y = NULL;
        CHECK(pt_idx_read_labels(join(lname), &y, &n) == PT_OK);
        CHECK(n == 4);
        if (y) CHECK(memcmp(y, lab, 4) == 0);
        free(y);
    }
    /* a larger set, read across several internal chunks */
    write_images("big.gz", 100, 28, 28, 1);
    float *x = NULL;
    size_t n = 0, rows = 0, cols = 0;
    CHECK(pt_idx_read_images(join("big.gz"), &x, &n, &rows, &cols) == PT_OK);
    CHECK(n == 100 && rows == 28 && cols == 28);
    if (x) check_image_values(x, 100 * 28 * 28);
    free(x);
}

static void test_dataset(void)
{
    const unsigned char lab[5] = { 1, 0, 4, 9, 2 };
    make_dir("ds");
    write_images("ds/train-images-idx3-ubyte.gz", 5, 4, 2, 1);
    write_labels("ds/train-labels-idx1-ubyte.gz", 5, lab, 1);

    pt_dataset d;
    CHECK(pt_dataset_load(join("ds"), "train", 0, 10, &d) == PT_OK);
    CHECK(d.n == 5 && d.rows == 4 && d.cols == 2 && d.dim == 8 && d.n_classes == 10);
    if (d.x && d.y) {
        check_image_values(d.x, 40);
        CHECK(memcmp(d.y, lab, 5) == 0);
    }

    pt_dataset v;
    CHECK(pt_dataset_split(&d, 2, &v) == PT_OK);
    CHECK(d.n == 3 && v.n == 2 && v.dim == 8 && v.rows == 4 && v.cols == 2 && v.n_classes == 10);
    if (v.x && v.y && d.x && d.y) {
        CHECK(v.y[0] == 9 && v.y[1] == 2);
        CHECK(memcmp(d.y, lab, 3) == 0);
        CHECK(v.x[0] == (float)pixel(24) / 255.0f);
        CHECK(v.x[15] == (float)pixel(39) / 255.0f);
        check_image_values(d.x, 24);
    }
    pt_dataset w;
    CHECK_FAIL(pt_dataset_split(&d, 0, &w), PT_EINVAL, "0 validation samples", "1..2");
    CHECK(w.x == NULL && w.n == 0);
    CHECK_FAIL(pt_dataset_split(&d, 3, &w), PT_EINVAL, "3 validation samples", "1..2");
    CHECK(d.n == 3);
    pt_dataset_free(&v);
    CHECK(v.x == NULL && v.y == NULL && v.n == 0);
    pt_dataset_free(&v); /* twice is fine */
    pt_dataset_free(NULL);
    pt_dataset_free(&d);

    /* limit below, equal to and above n; trailing slash on the directory */
    CHECK(pt_dataset_load(join("ds/"), "train", 2, 10, &d) == PT_OK);
    CHECK(d.n == 2 && d.dim == 8);
    if (d.x && d.y) {
        check_image_values(d.x, 16);
        CHECK(d.y[0] == 1 && d.y[1] == 0);
    }
    pt_dataset_free(&d);
    CHECK(pt_dataset_load(join("ds"), "train", 5, 10, &d) == PT_OK && d.n == 5);
    pt_dataset_free(&d);
    CHECK(pt_dataset_load(join("ds"), "train", 100, 10, &d) == PT_OK && d.n == 5);
    pt_dataset_free(&d);

    /* the "<split>-images.idx3-ubyte" spelling, plain files */
    make_dir("ds2");
    write_images("ds2/t10k-images.idx3-ubyte", 5, 4, 2, 0);
    write_labels("ds2/t10k-labels.idx1-ubyte", 5, lab, 0);
    CHECK(pt_dataset_load(join("ds2"), "t10k", 0, 10, &d) == PT_OK);
    CHECK(d.n == 5 && d.dim == 8);
    pt_dataset_free(&d);

    /* bad arguments */
    CHECK_FAIL(pt_dataset_load(join("ds"), "train", 0, 1, &d), PT_EINVAL, "n_classes", "2..256");
    CHECK(d.x == NULL && d.n == 0);
    CHECK_FAIL(pt_dataset_load(join("ds"), "train", 0, 257, &d), PT_EINVAL, "n_classes", "2..256");
    /* label 9 is outside 0..4 */
    CHECK_FAIL(pt_dataset_load(join("ds"), "train", 0, 5, &d), PT_EFORMAT, "train-labels-idx1-ubyte.gz",
               "label 9 at index 3 outside 0..4");
    CHECK(d.x == NULL && d.y == NULL && d.n == 0);
    /* t10k is not in ds */
    CHECK_FAIL(pt_dataset_load(join("ds"), "t10k", 0, 10, &d), PT_EIO, join("ds"),
               "no t10k images (looked for t10k-images-idx3-ubyte[.gz])");
    CHECK_FAIL(pt_dataset_load(join("missing"), "train", 0, 10, &d), PT_EIO, join("missing"), "no train images");
    CHECK(d.x == NULL && d.n == 0);

    /* images without labels */
    make_dir("ds3");
    write_images("ds3/train-images-idx3-ubyte", 5, 4, 2, 0);
    CHECK_FAIL(pt_dataset_load(join("ds3"), "train", 0, 10, &d), PT_EIO, join("ds3"), "no train labels");
    /* label count differs from image count */
    write_labels("ds3/train-labels-idx1-ubyte", 4, lab, 0);
    CHECK_FAIL(pt_dataset_load(join("ds3"), "train", 0, 10, &d), PT_EFORMAT, "ds3/train-labels-idx1-ubyte",
               "4 labels but 5 images in ");
    CHECK(strstr(pt_errmsg(), "ds3/train-images-idx3-ubyte") != NULL);
    CHECK(d.x == NULL && d.y == NULL && d.n == 0);

    /* a bad image file inside a dataset directory is reported by its name */
    make_dir("ds4");
    write_labels("ds4/train-labels-idx1-ubyte", 5, lab, 0);
    write_labels("ds4/train-images-idx3-ubyte", 5, lab, 0);
    CHECK_FAIL(pt_dataset_load(join("ds4"), "train", 0, 10, &d), PT_EFORMAT, "ds4/train-images-idx3-ubyte",
               "bad magic 0x00000801 (expected 0x00000803, IDX images)");
    CHECK(d.x == NULL && d.n == 0);
}

/* A missing file, a wrong magic, and images and labels swapped. */
static void test_missing_and_magic(void)
{
    float *x = NULL;
    uint8_t *y = NULL;
    size_t n = 0, rows = 0, cols = 0, len = 0;
    unsigned char *b;

    /* missing file */
    CHECK_FAIL(pt_idx_read_images(join("nope"), &x, &n, &rows, &cols), PT_EIO, "nope",
               "cannot open: No such file or directory");
    CHECK(x == NULL);
    CHECK_FAIL(pt_idx_read_labels(join("nope.gz"), &y, &n), PT_EIO, "nope.gz", "cannot open");
    CHECK(y == NULL);

    /* wrong magic */
    b = images_bytes(0x804, 2, 2, 2, 8, &len);
    write_file("magic", b, len, 0);
    free(b);
    CHECK_FAIL(pt_idx_read_images(join("magic"), &x, &n, &rows, &cols), PT_EFORMAT, "magic",
               "bad magic 0x00000804 (expected 0x00000803, IDX images)");
    CHECK(x == NULL);

    /* images file passed as labels, labels file passed as images */
    CHECK_FAIL(pt_idx_read_labels(join("good-img.gz"), &y, &n), PT_EFORMAT, "good-img.gz",
               "bad magic 0x00000803 (expected 0x00000801, IDX labels)");
    CHECK(y == NULL);
    CHECK_FAIL(pt_idx_read_images(join("good-lab"), &x, &n, &rows, &cols), PT_EFORMAT, "good-lab",
               "bad magic 0x00000801");
}

/* An empty file, a truncated header, truncated pixel and label data. */
static void test_truncated(void)
{
    float *x = NULL;
    uint8_t *y = NULL;
    size_t n = 0, rows = 0, cols = 0, len = 0;
    unsigned char *b;

    /* empty file and truncated header */
    write_file("empty", NULL, 0, 0);
    CHECK_FAIL(pt_idx_read_images(join("empty"), &x, &n, &rows, &cols), PT_EFORMAT, "empty", "truncated");
    b = images_bytes(0x803, 2, 2, 2, 0, &len);
    write_file("short-hdr.gz", b, 10, 1);
    free(b);
    CHECK_FAIL(pt_idx_read_images(join("short-hdr.gz"), &x, &n, &rows, &cols), PT_EFORMAT, "short-hdr.gz",
               "truncated");

    /* truncated pixel data, plain and gzip */
    b = images_bytes(0x803, 3, 2, 3, 15, &len);
    write_file("trunc", b, len, 0);
    write_file("trunc.gz", b, len, 1);
    free(b);
    CHECK_FAIL(pt_idx_read_images(join("trunc"), &x, &n, &rows, &cols), PT_EFORMAT, "trunc",
               "truncated: expected 18 bytes of pixel data");
    CHECK(x == NULL);
    CHECK_FAIL(pt_idx_read_images(join("trunc.gz"), &x, &n, &rows, &cols), PT_EFORMAT, "trunc.gz",
               "truncated: expected 18 bytes of pixel data");
    b = malloc(8 + 3);
    put_be32(b, 0x801);
    put_be32(b + 4, 5);
    memset(b + 8, 1, 3);
    write_file("trunc-lab", b, 11, 0);
    free(b);
    CHECK_FAIL(pt_idx_read_labels(join("trunc-lab"), &y, &n), PT_EFORMAT, "trunc-lab",
               "truncated: expected 5 bytes of label data");
    CHECK(y == NULL);

    /* a 16-byte header claiming 10^7 images of 28x28 (7.8 GB of floats):
     * refused as truncated after reading what is there, never allocated */
    b = images_bytes(0x803, 10000000u, 28, 28, 0, &len);
    write_file("evil", b, 16, 0);
    write_file("evil.gz", b, 16, 1);
    free(b);
    CHECK_FAIL(pt_idx_read_images(join("evil"), &x, &n, &rows, &cols), PT_EFORMAT, "evil",
               "truncated: expected 7840000000 bytes of pixel data");
    CHECK_FAIL(pt_idx_read_images(join("evil.gz"), &x, &n, &rows, &cols), PT_EFORMAT, "evil.gz",
               "truncated: expected 7840000000 bytes of pixel data");
    CHECK(x == NULL);
}

/* A valid .gz cut in half or before its trailer, with flipped bytes, or with a bad CRC. */
static void test_cut_and_corrupt_gzip(void)
{
    float *x = NULL;
    size_t n = 0, rows = 0, cols = 0, len = 0;

    /* a valid .gz cut in half */
    unsigned char *gzb = read_whole("big.gz", &len);
    CHECK(gzb != NULL && len > 1000);
    if (gzb) {
        write_file("half.gz", gzb, len / 2, 0);
        CHECK_FAIL(pt_idx_read_images(join("half.gz"), &x, &n, &rows, &cols), PT_EFORMAT, "half.gz",
                   "truncated");
        CHECK(x == NULL);
        /* cut just before the 8-byte trailer: all data there, CRC missing */
        write_file("notrailer.gz", gzb, len - 8, 0);
        CHECK_FAIL(pt_idx_read_images(join("notrailer.gz"), &x, &n, &rows, &cols), PT_EFORMAT, "notrailer.gz",
                   "truncated");
        CHECK(x == NULL);

        /* flip bytes in the middle of the compressed stream */
        for (size_t i = len / 2; i < len / 2 + 16; i++) gzb[i] ^= 0x5a;
        write_file("corrupt.gz", gzb, len, 0);
        CHECK_FAIL(pt_idx_read_images(join("corrupt.gz"), &x, &n, &rows, &cols), PT_EFORMAT, "corrupt.gz",
                   "corrupt gzip stream");
        CHECK(x == NULL);
        for (size_t i = len / 2; i < len / 2 + 16; i++) gzb[i] ^= 0x5a;
        /* flip one bit of the CRC-32 in the trailer: data fine, check fails */
        gzb[len - 8] ^= 0x01;
        write_file("badcrc.gz", gzb, len, 0);
        CHECK_FAIL(pt_idx_read_images(join("badcrc.gz"), &x, &n, &rows, &cols), PT_EFORMAT, "badcrc.gz",
                   "corrupt gzip stream");
        CHECK(x == NULL);
        free(gzb);
    }
}

/* Trailing garbage, plain and inside the gzip stream, for images and labels. */
static void test_trailing_bytes(void)
{
    float *x = NULL;
    uint8_t *y = NULL;
    size_t n = 0, rows = 0, cols = 0, len = 0;
    unsigned char *b;

    /* trailing garbage, plain and inside the gzip stream */
    b = images_bytes(0x803, 3, 2, 3, 19, &len);
    write_file("trailing", b, len, 0);
    write_file("trailing.gz", b, len, 1);
    free(b);
    CHECK_FAIL(pt_idx_read_images(join("trailing"), &x, &n, &rows, &cols), PT_EFORMAT, "trailing",
               "trailing bytes");
    CHECK(x == NULL);
    CHECK_FAIL(pt_idx_read_images(join("trailing.gz"), &x, &n, &rows, &cols), PT_EFORMAT, "trailing.gz",
               "trailing bytes");
    unsigned char lab[4] = { 1, 2, 3, 4 };
    b = malloc(8 + 4);
    put_be32(b, 0x801);
    put_be32(b + 4, 3);
    memcpy(b + 8, lab, 4);
    write_file("trailing-lab", b, 12, 0);
    free(b);
    CHECK_FAIL(pt_idx_read_labels(join("trailing-lab"), &y, &n), PT_EFORMAT, "trailing-lab", "trailing bytes");
    CHECK(y == NULL);
}

/* Bad shapes and counts, rejected before allocating; a directory is not a file. */
static void test_bad_shapes(void)
{
    float *x = NULL;
    uint8_t *y = NULL;
    size_t n = 0, rows = 0, cols = 0, len = 0;
    unsigned char *b;

    /* bad shapes and counts, rejected before allocating */
    b = images_bytes(0x803, 3, 0, 3, 0, &len);
    write_file("rows0", b, len, 0);
    free(b);
    CHECK_FAIL(pt_idx_read_images(join("rows0"), &x, &n, &rows, &cols), PT_EFORMAT, "rows0", "bad image shape 0x3");
    b = images_bytes(0x803, 3, 4, 4097, 0, &len);
    write_file("cols4097", b, len, 0);
    free(b);
    CHECK_FAIL(pt_idx_read_images(join("cols4097"), &x, &n, &rows, &cols), PT_EFORMAT, "cols4097",
               "bad image shape 4x4097");
    b = images_bytes(0x803, 0, 2, 2, 0, &len);
    write_file("n0", b, len, 0);
    free(b);
    CHECK_FAIL(pt_idx_read_images(join("n0"), &x, &n, &rows, &cols), PT_EFORMAT, "n0", "declares 0 images");
    b = images_bytes(0x803, 10000001u, 4096, 4096, 0, &len);
    write_file("nbig", b, len, 0);
    free(b);
    CHECK_FAIL(pt_idx_read_images(join("nbig"), &x, &n, &rows, &cols), PT_EFORMAT, "nbig", "limit 10000000");
    b = images_bytes(0x801, 0xffffffffu, 0, 0, 0, &len);
    write_file("lab-nbig", b, 8, 0);
    free(b);
    CHECK_FAIL(pt_idx_read_labels(join("lab-nbig"), &y, &n), PT_EFORMAT, "lab-nbig", "4294967295 labels");
    CHECK(x == NULL && y == NULL);

    /* a directory is not a file */
    CHECK(pt_idx_read_images(join("ds"), &x, &n, &rows, &cols) != PT_OK);
    CHECK(strstr(pt_errmsg(), join("ds")) != NULL);
    CHECK(x == NULL);
}

static void test_bad_files(void)
{
    test_missing_and_magic();
    test_truncated();
    test_cut_and_corrupt_gzip();
    test_trailing_bytes();
    test_bad_shapes();
}


int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_good_files();
    test_dataset();
    test_bad_files();
    for (int i = n_created - 1; i >= 0; i--) {
        CHECK(remove(created[i]) == 0);
        free(created[i]);
    }
    CHECK(rmdir(tmpdir) == 0);
    TEST_END();
}
