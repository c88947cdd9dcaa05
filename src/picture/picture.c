/* PNG pictures through libpng, and the gray and phase colour maps. libpng
 * reports errors by longjmp: every object touched after setjmp is volatile or
 * set before it, and each call cleans up on both paths. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "internal.h"
#include "io/atomic.h"
#include "phasetower/picture.h"

#define MAX_SIDE 65536
/* Deflate expands at most 1032 times (a 258-byte match in 2 bits), so a file
 * of n bytes holds at most 1032 n bytes of image data. */
#define DEFLATE_MAX_RATIO 1032.0

/* libpng's messages go nowhere (the library never prints): an error keeps
 * its text for ours and jumps back; a warning is dropped. */
static void on_error(png_structp png, png_const_charp msg)
{
    char *keep = png_get_error_ptr(png);
    if (keep) snprintf(keep, 128, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

pt_status pt_png_write(const char *path, int width, int height, int channels, const uint8_t *pixels)
{
    if (width < 1 || height < 1 || width > MAX_SIDE || height > MAX_SIDE || (channels != 1 && channels != 3))
        return pt_fail(PT_EINVAL, "png: %d x %d pixels of %d channels (need 1..%d each way, 1 or 3 channels)", width,
                       height, channels, MAX_SIDE);
    pt_atomic a;
    pt_status st = pt_atomic_open(&a, path);
    if (st) return st;
    FILE *f = a.f;
    char why[128] = "";
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, why, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    volatile int ok = png && info;
    if (ok && setjmp(png_jmpbuf(png))) ok = 0;
    else if (ok) {
        png_init_io(png, f);
        png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8,
                     channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        png_write_info(png, info);
        for (int r = 0; r < height; r++)
            png_write_row(png, (png_const_bytep)(pixels + (size_t)r * (size_t)width * (size_t)channels));
        png_write_end(png, NULL);
    }
    png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
    if (!ok) {
        pt_atomic_abort(&a, 1);
        return pt_fail(PT_EIO, "%s: writing the picture failed%s%s", path, why[0] ? ": " : "", why);
    }
    return pt_atomic_commit(&a, 1);
}

pt_status pt_png_read(const char *path, int *width, int *height, int *channels, uint8_t **pixels)
{
    *pixels = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return pt_fail(PT_EIO, "%s: cannot open", path);
    unsigned char sig[8];
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || fread(sig, 1, 8, f) != 8 || png_sig_cmp(sig, 0, 8)) {
        fclose(f);
        return pt_fail(PT_EFORMAT, "%s: not a PNG file", path);
    }
    char why[128] = "";
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, why, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    uint8_t *volatile px = NULL;
    volatile pt_status st = png && info ? PT_OK : PT_ENOMEM;
    if (!st && setjmp(png_jmpbuf(png))) {
        st = PT_EFORMAT;
    } else if (!st) {
        png_init_io(png, f);
        png_set_sig_bytes(png, 8);
        png_set_user_limits(png, MAX_SIDE, MAX_SIDE);
        /* Skip every ancillary chunk but tRNS unread: none changes the pixels
         * asked for below, and libpng allocates a chunk's declared length
         * (up to 2 GB) for several of them before reading it. */
        png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
        png_read_info(png, info);
        /* Before allocating for the header's size: its rows (a filter byte
         * each) must fit in what the file can hold. */
        png_uint_32 w0 = png_get_image_width(png, info), h0 = png_get_image_height(png, info);
        double need = (double)h0 * ((double)png_get_rowbytes(png, info) + 1.0);
        if (need > DEFLATE_MAX_RATIO * (double)sb.st_size) {
            char msg[128];
            snprintf(msg, sizeof msg, "%u x %u pixels need more image data than the %lld-byte file holds",
                     (unsigned)w0, (unsigned)h0, (long long)sb.st_size);
            png_error(png, msg); /* as libpng's own errors: message kept, cleanup below */
        }
        png_set_strip_16(png);
        png_set_strip_alpha(png);
        png_set_palette_to_rgb(png);
        png_set_expand_gray_1_2_4_to_8(png);
        png_read_update_info(png, info);
        int ch = png_get_channels(png, info);
        png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
        if ((ch != 1 && ch != 3) || png_get_bit_depth(png, info) != 8) {
            st = PT_EFORMAT;
        } else if (!(px = pt_calloc((size_t)w * (size_t)h * (size_t)ch, 1))) {
            st = PT_ENOMEM;
        } else {
            for (png_uint_32 r = 0; r < h; r++) png_read_row(png, px + (size_t)r * w * (size_t)ch, NULL);
            png_read_end(png, NULL);
            *width = (int)w, *height = (int)h, *channels = ch;
        }
    }
    png_destroy_read_struct(png ? &png : NULL, info ? &info : NULL, NULL);
    fclose(f);
    if (st) {
        free(px);
        return st == PT_ENOMEM ? pt_fail(PT_ENOMEM, "%s: out of memory", path)
                               : pt_fail(PT_EFORMAT, "%s: a corrupt, truncated or unsupported PNG%s%s", path,
                                         why[0] ? ": " : "", why);
    }
    *pixels = px;
    return PT_OK;
}

void pt_picture_gray(uint8_t *out, const float *v, size_t n, float lo, float hi)
{
    double span = (double)hi - (double)lo;
    for (size_t i = 0; i < n; i++) {
        double t = span > 0.0 ? ((double)v[i] - (double)lo) / span : 0.0;
        out[i] = !(t > 0.0) ? 0 : t >= 1.0 ? 255 : (uint8_t)lround(255.0 * t);
    }
}

void pt_picture_phase(uint8_t *rgb, const float *z, size_t n, float max_mag)
{
    for (size_t i = 0; i < n; i++) {
        double re = (double)z[2 * i], im = (double)z[2 * i + 1], m = hypot(re, im);
        double v = max_mag > 0.0f && isfinite(m) ? fmin(1.0, m / (double)max_mag) : 0.0;
        double h = atan2(im, re) / (2.0 * 3.14159265358979323846); /* turns, (-1/2, 1/2] */
        if (h < 0.0) h += 1.0;
        double s6 = 6.0 * h, f = s6 - floor(s6);
        int sector = (int)floor(s6) % 6;
        double q = 1.0 - f, c[3];
        switch (sector) { /* HSV with full saturation */
        case 0: c[0] = 1, c[1] = f, c[2] = 0; break;
        case 1: c[0] = q, c[1] = 1, c[2] = 0; break;
        case 2: c[0] = 0, c[1] = 1, c[2] = f; break;
        case 3: c[0] = 0, c[1] = q, c[2] = 1; break;
        case 4: c[0] = f, c[1] = 0, c[2] = 1; break;
        default: c[0] = 1, c[1] = 0, c[2] = q; break;
        }
        for (int k = 0; k < 3; k++) rgb[3 * i + (size_t)k] = (uint8_t)lround(255.0 * v * c[k]);
    }
}
