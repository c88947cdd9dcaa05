/* Pictures (family-neutral): 8-bit grayscale or RGB images written to and
 * read from PNG files through libpng, and the two maps every family needs to
 * draw its states: real values to gray levels, complex values to colours
 * (phase as hue, magnitude as brightness). Writing goes to a temporary file
 * renamed into place, so a failure never leaves a half-written picture. */
#ifndef PHASETOWER_PICTURE_H
#define PHASETOWER_PICTURE_H

#include "phasetower/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* pixels: (height, width, channels) bytes, row by row; channels 1 (gray) or
 * 3 (RGB); width and height 1..65536. PT_EINVAL for bad sizes, PT_EIO when
 * path cannot be written. */
pt_status pt_png_write(const char *path, int width, int height, int channels, const uint8_t *pixels);

/* An 8-bit gray or RGB PNG (other kinds are converted: palette and gray-alpha
 * to RGB or gray, 16-bit to 8, alpha dropped); *pixels is malloc'd (height,
 * width, channels), the caller frees it. PT_EIO (cannot open), PT_EFORMAT (not
 * a PNG, corrupt, truncated, or larger than 65536 x 65536). */
pt_status pt_png_read(const char *path, int *width, int *height, int *channels, uint8_t **pixels);

/* out[i] = round(255 (v[i] - lo) / (hi - lo)), clamped to 0..255 (0 for NaN);
 * hi > lo. */
void pt_picture_gray(uint8_t *out, const float *v, size_t n, float lo, float hi);

/* rgb (n, 3) from n complex values z (interleaved): hue the phase (red at 0,
 * then yellow, green, cyan, blue, magenta around the circle), brightness
 * |z| / max_mag clamped to 1 (black for 0 and for a non-finite value). */
void pt_picture_phase(uint8_t *rgb, const float *z, size_t n, float max_mag);

/* ---- plots and text (cairo) ---- */
/* Draw text (UTF-8, sans-serif, size in pixels, baseline at y) in black on
 * an RGB picture (w x h) in place. */
pt_status pt_picture_text(uint8_t *rgb, int w, int h, double x, double y, double size, const char *text);

/* A line plot: each series' points joined (a non-finite point, or y <= 0 on
 * a log axis, breaks its line), in a colour-blind-safe palette with a
 * legend, grid, ticks and labels; log10 y axis with logy. width and height
 * default (0) to 800 x 500. Written as a PNG by pt_png_write. PT_EINVAL: no
 * series or more than 8, no finite point. */
typedef struct pt_plot_series {
    const char *label;
    const double *x, *y;
    size_t n;
} pt_plot_series;
typedef struct pt_plot {
    const char *title, *xlabel, *ylabel;
    int logy;
    int width, height;
} pt_plot;
pt_status pt_plot_lines(const char *path, const pt_plot *p, const pt_plot_series *series, int ns);

#ifdef __cplusplus
}
#endif
#endif
