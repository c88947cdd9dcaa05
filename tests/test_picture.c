/* Pictures: gray and RGB PNG round trips bit for bit, the gray and phase
 * colour maps at known points, and bad input (sizes, unwritable paths, files
 * that are not PNGs or are cut short, or whose header asks for more than the
 * file holds) refused with nothing left behind. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "check.h"
#include "phasetower/picture.h"

/* Under ASan (make test's second suite) an allocation above 1 GB fails the
 * test: the reader must refuse what a file cannot hold before allocating. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "max_allocation_size_mb=1024"; }

static void put_chunk(FILE *f, const char *type, const unsigned char *body, unsigned len)
{
    unsigned char be[4] = {(unsigned char)(len >> 24), (unsigned char)(len >> 16), (unsigned char)(len >> 8),
                           (unsigned char)len};
    uLong crc = crc32(crc32(0L, (const Bytef *)type, 4), body, len);
    unsigned char c[4] = {(unsigned char)(crc >> 24), (unsigned char)(crc >> 16), (unsigned char)(crc >> 8),
                          (unsigned char)crc};
    CHECK(fwrite(be, 1, 4, f) == 4 && fwrite(type, 1, 4, f) == 4 && (!len || fwrite(body, 1, len, f) == len));
    CHECK(fwrite(c, 1, 4, f) == 4);
}

/* A chunk that declares 1.6 GB (found by fuzz_png: libpng allocated an sPLT
 * chunk's declared length before reading it), in an otherwise valid file:
 * skipped unread, and the file refused as cut short. */
static void test_chunk_larger_than_file(const char *dir)
{
    char p[96];
    snprintf(p, sizeof p, "%s/splt.png", dir);
    FILE *f = fopen(p, "wb");
    CHECK(f != NULL);
    if (!f) return;
    const unsigned char ihdr[13] = {0, 0, 0, 3, 0, 0, 0, 3, 8, 0, 0, 0, 0}; /* 3 x 3 gray */
    CHECK(fwrite("\x89PNG\r\n\x1a\n", 1, 8, f) == 8);
    put_chunk(f, "IHDR", ihdr, sizeof ihdr);
    CHECK(fwrite("\x63\x48\x52\x4dsPLTpalette\0\x08", 1, 18, f) == 18); /* 0x6348524d bytes declared */
    CHECK(fclose(f) == 0);
    int w = 0, h = 0, c = 0;
    uint8_t *px = NULL;
    CHECK(pt_png_read(p, &w, &h, &c, &px) == PT_EFORMAT && px == NULL);
    remove(p);
}

/* A 68-byte PNG whose header says 65536 x 65536 RGB asked for 12.9 GB before
 * its data was read (found by fuzz_png): refused, naming the size, before
 * allocating; a large image that compresses well still reads. */
static void test_header_larger_than_file(const char *dir)
{
    char p[96];
    snprintf(p, sizeof p, "%s/big.png", dir);
    FILE *f = fopen(p, "wb");
    CHECK(f != NULL);
    if (!f) return;
    const unsigned char ihdr[13] = {0, 1, 0, 0, 0, 1, 0, 0, 8, 2, 0, 0, 0}; /* 65536 x 65536, RGB 8-bit */
    unsigned char idat[32];
    uLongf n = sizeof idat;
    const unsigned char zeros[10] = {0};
    CHECK(compress(idat, &n, zeros, sizeof zeros) == Z_OK);
    CHECK(fwrite("\x89PNG\r\n\x1a\n", 1, 8, f) == 8);
    put_chunk(f, "IHDR", ihdr, sizeof ihdr);
    put_chunk(f, "IDAT", idat, (unsigned)n);
    put_chunk(f, "IEND", NULL, 0);
    CHECK(fclose(f) == 0);
    int w = 0, h = 0, c = 0;
    uint8_t *px = NULL;
    CHECK(pt_png_read(p, &w, &h, &c, &px) == PT_EFORMAT && px == NULL);
    CHECK(strstr(pt_errmsg(), "65536 x 65536") && strstr(pt_errmsg(), "big.png"));

    enum { S = 1024 }; /* 1 MB of zeros: about a kilobyte of file */
    uint8_t *blank = calloc(S * S, 1);
    CHECK(blank != NULL);
    CHECK(pt_png_write(p, S, S, 1, blank) == PT_OK && pt_png_read(p, &w, &h, &c, &px) == PT_OK);
    CHECK(w == S && h == S && c == 1 && px && memcmp(px, blank, S * S) == 0);
    free(px), free(blank);
    remove(p);
}

/* a line plot: a PNG of the asked size, white background, the first
 * series' colour present; text drawn changes pixels; bad plots refused */
static void plots(const char *dir)
{
    char p[128];
    snprintf(p, sizeof p, "%s/plot.png", dir);
    double x[50], y1[50], y2[50];
    for (int i = 0; i < 50; i++) x[i] = i, y1[i] = pow(0.8, i), y2[i] = i == 20 ? (double)NAN : pow(0.6, i);
    pt_plot_series s[2] = {{"slow", x, y1, 50}, {"fast", x, y2, 50}};
    pt_plot pl = {"title", "x", "y", 1, 400, 300};
    CHECK(pt_plot_lines(p, &pl, s, 2) == PT_OK);
    int w = 0, h = 0, c = 0;
    uint8_t *px = NULL;
    CHECK(pt_png_read(p, &w, &h, &c, &px) == PT_OK && w == 400 && h == 300 && c == 3);
    int white = 0, blue = 0;
    for (int i = 0; px && i < w * h; i++) {
        const uint8_t *q = px + 3 * i;
        white += q[0] == 255 && q[1] == 255 && q[2] == 255;
        blue += q[0] < 3 && abs(q[1] - 115) < 3 && abs(q[2] - 178) < 3; /* palette[0] */
    }
    CHECK(white > w * h / 2 && blue > 50);
    free(px);
    CHECK(pt_plot_lines(p, &pl, s, 0) == PT_EINVAL);
    double bad[2] = {(double)NAN, -1.0};
    pt_plot_series b = {"none", bad, bad, 2};
    CHECK(pt_plot_lines(p, &pl, &b, 1) == PT_EINVAL && strstr(pt_errmsg(), "no finite point"));
    uint8_t img[60 * 20 * 3];
    memset(img, 255, sizeof img);
    CHECK(pt_picture_text(img, 60, 20, 2, 15, 12, "t=1") == PT_OK);
    int dark = 0;
    for (size_t i = 0; i < sizeof img; i++) dark += img[i] < 128;
    CHECK(dark > 10);
    unlink(p);
}

int main(void)
{
    char dir[] = "/tmp/pt_picture_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    plots(dir);
    char p[96], q[96];
    snprintf(p, sizeof p, "%s/a.png", dir);

    /* round trips */
    enum { W = 37, H = 23 };
    static uint8_t gray[W * H], rgb[W * H * 3];
    for (int i = 0; i < W * H; i++) gray[i] = (uint8_t)(i * 7);
    for (int i = 0; i < W * H * 3; i++) rgb[i] = (uint8_t)(i * 13 + 5);
    int w = 0, h = 0, c = 0;
    uint8_t *back = NULL;
    CHECK(pt_png_write(p, W, H, 1, gray) == PT_OK && pt_png_read(p, &w, &h, &c, &back) == PT_OK);
    CHECK(w == W && h == H && c == 1 && back && !memcmp(back, gray, sizeof gray));
    free(back);
    CHECK(pt_png_write(p, W, H, 3, rgb) == PT_OK && pt_png_read(p, &w, &h, &c, &back) == PT_OK);
    CHECK(w == W && h == H && c == 3 && back && !memcmp(back, rgb, sizeof rgb));
    free(back);

    /* the maps */
    float v[5] = {-1.0f, 0.0f, 0.5f, 1.0f, NAN};
    uint8_t g[5];
    pt_picture_gray(g, v, 5, 0.0f, 1.0f);
    CHECK(g[0] == 0 && g[1] == 0 && g[2] == 128 && g[3] == 255 && g[4] == 0);
    /* phases 0, 60, 120, 180, 240, 300 degrees: red, yellow, green, cyan, blue, magenta */
    float z[2 * 8];
    for (int k = 0; k < 6; k++) z[2 * k] = cosf((float)k * 1.0471976f), z[2 * k + 1] = sinf((float)k * 1.0471976f);
    z[12] = 0.25f, z[13] = 0.0f;   /* half brightness at max_mag 0.5 */
    z[14] = NAN, z[15] = 0.0f;     /* black */
    uint8_t col[8 * 3];
    pt_picture_phase(col, z, 8, 0.5f);
    const uint8_t want[6][3] = {{255, 0, 0}, {255, 255, 0}, {0, 255, 0}, {0, 255, 255}, {0, 0, 255}, {255, 0, 255}};
    for (int k = 0; k < 6; k++)
        for (int j = 0; j < 3; j++) CHECK(abs((int)col[3 * k + j] - (int)want[k][j]) <= 1);
    CHECK(col[18] == 128 && col[19] == 0 && col[20] == 0);
    CHECK(col[21] == 0 && col[22] == 0 && col[23] == 0);

    /* a phase wheel, for the eye: tests/fuzz and docs can point at it */
    enum { S = 64 };
    static float wz[S * S * 2];
    static uint8_t wheel[S * S * 3];
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            float re = (float)(x - S / 2) / (S / 2), im = (float)(S / 2 - y) / (S / 2);
            wz[2 * (y * S + x)] = re, wz[2 * (y * S + x) + 1] = im;
        }
    pt_picture_phase(wheel, wz, S * S, 1.0f);
    snprintf(q, sizeof q, "%s/wheel.png", dir);
    CHECK(pt_png_write(q, S, S, 3, wheel) == PT_OK);
    if (getenv("PT_KEEP_PICTURE")) printf("phase wheel: %s\n", q);
    else remove(q);

    /* bad input */
    CHECK(pt_png_write(p, 0, H, 1, gray) == PT_EINVAL && pt_png_write(p, W, H, 2, gray) == PT_EINVAL);
    snprintf(q, sizeof q, "%s/none/b.png", dir);
    CHECK(pt_png_write(q, W, H, 1, gray) == PT_EIO);
    CHECK(pt_png_read(q, &w, &h, &c, &back) == PT_EIO && back == NULL);
    snprintf(q, sizeof q, "%s/c.png", dir);
    FILE *f = fopen(q, "wb");
    CHECK(f && fwrite("not a png at all", 1, 16, f) == 16);
    if (f) fclose(f);
    CHECK(pt_png_read(q, &w, &h, &c, &back) == PT_EFORMAT && back == NULL && strstr(pt_errmsg(), "not a PNG"));
    unsigned char *whole = NULL;
    long n = check_slurp(p, &whole);
    f = fopen(q, "wb");
    CHECK(n > 60 && f && fwrite(whole, 1, (size_t)(n - 40), f) == (size_t)(n - 40)); /* cut short */
    if (f) fclose(f);
    free(whole);
    CHECK(pt_png_read(q, &w, &h, &c, &back) == PT_EFORMAT && back == NULL);
    test_header_larger_than_file(dir);
    test_chunk_larger_than_file(dir);
    remove(p), remove(q), rmdir(dir);
    TEST_END();
}
