/* Line plots and text on pictures, drawn by cairo (Debian's libcairo2) into
 * an RGB buffer; files are written by pt_png_write, atomically like every
 * picture. */
#include <cairo.h>
#include <math.h>
#include <string.h>
#include "internal.h"
#include "phasetower/picture.h"

/* a colour-blind-safe palette (Okabe & Ito) */
static const double palette[8][3] = {{0.0, 0.45, 0.70}, {0.84, 0.37, 0.0}, {0.0, 0.62, 0.45}, {0.80, 0.47, 0.65},
                                     {0.90, 0.62, 0.0}, {0.34, 0.71, 0.91}, {0.94, 0.89, 0.26}, {0.0, 0.0, 0.0}};

/* cairo's RGB24 (native-endian 0x00RRGGBB words) to packed RGB bytes, and back */
static void from_cairo(cairo_surface_t *s, uint8_t *rgb, int w, int h)
{
    cairo_surface_flush(s);
    const unsigned char *d = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint32_t v;
            memcpy(&v, d + (size_t)y * (size_t)stride + 4 * (size_t)x, 4);
            uint8_t *o = rgb + 3 * ((size_t)y * (size_t)w + (size_t)x);
            o[0] = (uint8_t)(v >> 16), o[1] = (uint8_t)(v >> 8), o[2] = (uint8_t)v;
        }
}

static void to_cairo(cairo_surface_t *s, const uint8_t *rgb, int w, int h)
{
    cairo_surface_flush(s);
    unsigned char *d = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const uint8_t *i = rgb + 3 * ((size_t)y * (size_t)w + (size_t)x);
            uint32_t v = (uint32_t)i[0] << 16 | (uint32_t)i[1] << 8 | (uint32_t)i[2];
            memcpy(d + (size_t)y * (size_t)stride + 4 * (size_t)x, &v, 4);
        }
    cairo_surface_mark_dirty(s);
}

static pt_status surface(int w, int h, cairo_surface_t **s, cairo_t **cr)
{
    if (w < 1 || h < 1 || w > 16384 || h > 16384) return pt_fail(PT_EINVAL, "picture: %d x %d pixels", w, h);
    *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    if (cairo_surface_status(*s) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(*s);
        return pt_fail(PT_ENOMEM, "picture: cannot make a %d x %d surface", w, h);
    }
    *cr = cairo_create(*s);
    cairo_select_font_face(*cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    return PT_OK;
}

pt_status pt_picture_text(uint8_t *rgb, int w, int h, double x, double y, double size, const char *text)
{
    cairo_surface_t *s;
    cairo_t *cr;
    pt_status st = surface(w, h, &s, &cr);
    if (st) return st;
    to_cairo(s, rgb, w, h);
    cairo_set_font_size(cr, size);
    cairo_set_source_rgb(cr, 0.0, 0.0, 0.0);
    cairo_move_to(cr, x, y);
    cairo_show_text(cr, text);
    from_cairo(s, rgb, w, h);
    cairo_destroy(cr);
    cairo_surface_destroy(s);
    return PT_OK;
}

/* a step of 1, 2 or 5 times a power of ten giving about n ticks over span */
static double nice_step(double span, int n)
{
    double raw = span / n, p = pow(10.0, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0) * p;
}

pt_status pt_plot_lines(const char *path, const pt_plot *p, const pt_plot_series *series, int ns)
{
    if (ns < 1 || ns > 8) return pt_fail(PT_EINVAL, "plot: %d series (1..8)", ns);
    int W = p->width ? p->width : 800, H = p->height ? p->height : 500;
    /* the data's range */
    double x0 = (double)INFINITY, x1 = -(double)INFINITY, y0 = (double)INFINITY, y1 = -(double)INFINITY;
    for (int i = 0; i < ns; i++)
        for (size_t k = 0; k < series[i].n; k++) {
            double x = series[i].x[k], y = series[i].y[k];
            if (p->logy) y = y > 0.0 ? log10(y) : (double)NAN;
            if (!isfinite(x) || !isfinite(y)) continue;
            x0 = fmin(x0, x), x1 = fmax(x1, x), y0 = fmin(y0, y), y1 = fmax(y1, y);
        }
    if (!(x1 >= x0) || !(y1 >= y0)) return pt_fail(PT_EINVAL, "plot: no finite point to draw");
    if (p->logy) y0 = floor(y0), y1 = ceil(y1);
    if (x1 == x0) x1 = x0 + 1.0;
    if (y1 == y0) y1 = y0 + 1.0;
    x0 = fmin(x0, 0.0);
    cairo_surface_t *s;
    cairo_t *cr;
    pt_status st = surface(W, H, &s, &cr);
    if (st) return st;
    const double L = 80, R = 20, T = 40, B = 60, pw = W - L - R, ph = H - T - B;
#define PX(v) (L + ((v) - x0) / (x1 - x0) * pw)
#define PY(v) (T + (y1 - (v)) / (y1 - y0) * ph)
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    /* grid, ticks and their labels */
    cairo_set_font_size(cr, 13);
    cairo_set_line_width(cr, 1.0);
    char buf[64];
    double xs = nice_step(x1 - x0, 8);
    for (double v = ceil(x0 / xs) * xs; v <= x1 + 1e-9 * xs; v += xs) {
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, PX(v), T), cairo_line_to(cr, PX(v), T + ph), cairo_stroke(cr);
        snprintf(buf, sizeof buf, "%g", v);
        cairo_text_extents_t e;
        cairo_text_extents(cr, buf, &e);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, PX(v) - e.width / 2, T + ph + 18), cairo_show_text(cr, buf);
    }
    double ys = p->logy ? 1.0 : nice_step(y1 - y0, 6);
    for (double v = ceil(y0 / ys) * ys; v <= y1 + 1e-9 * ys; v += ys) {
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, L, PY(v)), cairo_line_to(cr, L + pw, PY(v)), cairo_stroke(cr);
        if (p->logy) snprintf(buf, sizeof buf, "1e%+d", (int)lround(v));
        else snprintf(buf, sizeof buf, "%g", v);
        cairo_text_extents_t e;
        cairo_text_extents(cr, buf, &e);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, L - e.width - 8, PY(v) + 4), cairo_show_text(cr, buf);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_rectangle(cr, L, T, pw, ph), cairo_stroke(cr);
    /* the series, clipped to the frame */
    cairo_save(cr);
    cairo_rectangle(cr, L, T, pw, ph), cairo_clip(cr);
    cairo_set_line_width(cr, 2.0);
    for (int i = 0; i < ns; i++) {
        cairo_set_source_rgb(cr, palette[i][0], palette[i][1], palette[i][2]);
        int pen = 0;
        for (size_t k = 0; k < series[i].n; k++) {
            double x = series[i].x[k], y = series[i].y[k];
            if (p->logy) y = y > 0.0 ? log10(y) : (double)NAN;
            if (!isfinite(x) || !isfinite(y)) {
                pen = 0;
                continue;
            }
            if (pen) cairo_line_to(cr, PX(x), PY(y));
            else cairo_move_to(cr, PX(x), PY(y));
            pen = 1;
        }
        cairo_stroke(cr);
    }
    cairo_restore(cr);
    /* title, axis labels, legend */
    cairo_set_font_size(cr, 16);
    if (p->title) cairo_move_to(cr, L, 26), cairo_show_text(cr, p->title);
    cairo_set_font_size(cr, 14);
    if (p->xlabel) {
        cairo_text_extents_t e;
        cairo_text_extents(cr, p->xlabel, &e);
        cairo_move_to(cr, L + pw / 2 - e.width / 2, H - 14), cairo_show_text(cr, p->xlabel);
    }
    if (p->ylabel) {
        cairo_save(cr);
        cairo_text_extents_t e;
        cairo_text_extents(cr, p->ylabel, &e);
        cairo_move_to(cr, 22, T + ph / 2 + e.width / 2);
        cairo_rotate(cr, -1.5707963267948966);
        cairo_show_text(cr, p->ylabel);
        cairo_restore(cr);
    }
    cairo_set_font_size(cr, 13);
    for (int i = 0; i < ns; i++) {
        double ly = T + 18 + 20 * i, lx = L + pw - 230;
        cairo_set_source_rgb(cr, palette[i][0], palette[i][1], palette[i][2]);
        cairo_rectangle(cr, lx, ly - 9, 22, 4), cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, lx + 30, ly - 3), cairo_show_text(cr, series[i].label ? series[i].label : "");
    }
#undef PX
#undef PY
    uint8_t *rgb = pt_calloc((size_t)W * (size_t)H, 3);
    if (!rgb) st = pt_fail(PT_ENOMEM, "out of memory");
    else {
        from_cairo(s, rgb, W, H);
        st = pt_png_write(path, W, H, 3, rgb);
    }
    free(rgb);
    cairo_destroy(cr);
    cairo_surface_destroy(s);
    return st;
}
