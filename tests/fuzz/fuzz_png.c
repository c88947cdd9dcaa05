/* libFuzzer target for the PNG reader (pt_png_read, src/picture/picture.c,
 * and libpng under it): each input is written to a temporary file and read;
 * a picture that reads is written back with pt_png_write and must read again
 * to the same pixels. Any status a file can cause is fine; a crash, a
 * sanitizer report, a leak or a broken invariant (abort) is a bug. Built by
 * CMake with -DPT_FUZZ=ON and CC=clang, run by `make fuzz` (and for 25 s by
 * `make test`) with the small PNGs of every colour type, depth and interlace
 * in tests/fuzz/seeds-png (written by tests/fuzz/make_seeds.py) and png.dict.
 * A crash leaves build-fuzz/artifacts/fuzz_png-crash-<sha1>: once fixed, add
 * it as a case to tests/test_picture.c. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "phasetower/picture.h"
#include "fuzz_file.h"

static char again[80];

static void remove_again(void) { remove(again); }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_file_init("fuzz_png");
    snprintf(again, sizeof again, "%s.png", path);
    atexit(remove_again);
    return 0;
}

/* Round trips only for pictures this small (bytes of pixels). */
#define ROUNDTRIP_MAX (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_file_write(data, size);
    int w = 0, h = 0, ch = 0;
    uint8_t *px = NULL;
    pt_status st = pt_png_read(path, &w, &h, &ch, &px);
    CHECK(st == PT_OK || st == PT_EFORMAT || st == PT_ENOMEM);
    CHECK((st == PT_OK) == (px != NULL));
    CHECK(st == PT_OK || pt_errmsg()[0] != '\0');
    if (st != PT_OK) return 0;
    CHECK(w >= 1 && w <= 65536 && h >= 1 && h <= 65536 && (ch == 1 || ch == 3));
    size_t n = (size_t)w * (size_t)h * (size_t)ch;
    volatile unsigned sum = 0;
    for (size_t i = 0; i < n; i++) sum += px[i]; /* every pixel is readable */
    (void)sum;

    if (n <= ROUNDTRIP_MAX) {
        CHECK(pt_png_write(again, w, h, ch, px) == PT_OK);
        int w2 = 0, h2 = 0, ch2 = 0;
        uint8_t *px2 = NULL;
        CHECK(pt_png_read(again, &w2, &h2, &ch2, &px2) == PT_OK);
        CHECK(w2 == w && h2 == h && ch2 == ch && memcmp(px2, px, n) == 0);
        free(px2);
    }
    free(px);
    return 0;
}
