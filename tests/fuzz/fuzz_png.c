/* libFuzzer target for the PNG reader (pt_png_read, src/picture/picture.c,
 * and libpng under it): each input is written to a temporary file and read;
 * a picture that reads is written back with pt_png_write and must read again
 * to the same pixels. Any status a file can cause is fine; a crash, a
 * sanitizer report, a leak or a broken invariant (abort) is a bug. libpng
 * refuses a chunk whose CRC does not match, so a custom mutator recomputes
 * the CRCs of most mutants (see fix_crcs); libpng itself is not instrumented,
 * so coverage only counts picture.c. Built by
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
#include <zlib.h>
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

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

static uint32_t be32(const uint8_t *b) { return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]; }

/* Give every whole chunk after the 8-byte signature (length, type, data,
 * CRC-32 of type and data) its right CRC, so that a mutated IHDR or PLTE
 * reaches the reader's checks instead of libpng's CRC error. */
static void fix_crcs(uint8_t *data, size_t size)
{
    for (size_t at = 8; size >= 12 && at <= size - 12;) {
        uint32_t len = be32(data + at);
        if (len > size - 12 - at) break;
        uLong crc = crc32(0L, data + at + 4, (uInt)len + 4);
        for (int k = 0; k < 4; k++) data[at + 8 + len + (size_t)k] = (uint8_t)(crc >> (24 - 8 * k));
        at += 12 + (size_t)len;
    }
}

/* Three mutations in four get their CRCs fixed; the fourth keeps libpng's
 * CRC handling in play. */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    size = LLVMFuzzerMutate(data, size, max_size);
    if (seed % 4) fix_crcs(data, size);
    return size;
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
