/* Seeded image corruptions for the robustness protocol of the PhaseTower paper
 * (section 8.3): rotation by a uniform angle in +-[lo, hi] degrees with
 * bilinear interpolation, and additive Gaussian noise, both clamped to [0,1]. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <string.h>
#include "internal.h"
#include "phasetower/data.h"

#define PT_PI 3.14159265358979323846

static int parse_num(const char *s, char **end, double *v)
{
    errno = 0;
    *v = strtod(s, end);
    return *end != s && !errno && isfinite(*v);
}

pt_status pt_corrupt_parse(const char *spec, pt_corrupt *out)
{
    memset(out, 0, sizeof *out);
    if (!spec) return pt_fail(PT_EINVAL, "corruption: empty spec");
    char *end;
    double a, b;
    if (!strncmp(spec, "rotate:", 7)) {
        if (!parse_num(spec + 7, &end, &a) || *end != '-' || !parse_num(end + 1, &end, &b) || *end)
            return pt_fail(PT_EINVAL, "corruption '%s': expected rotate:LO-HI in degrees", spec);
        if (!(a >= 0.0 && a <= b && b <= 180.0))
            return pt_fail(PT_EINVAL, "corruption '%s': need 0 <= LO <= HI <= 180 degrees", spec);
        out->kind = PT_CORRUPT_ROTATE;
    } else if (!strncmp(spec, "turn:", 5)) {
        if (!parse_num(spec + 5, &end, &a) || *end) return pt_fail(PT_EINVAL, "corruption '%s': expected turn:DEGREES", spec);
        if (!(a >= -180.0 && a <= 180.0)) return pt_fail(PT_EINVAL, "corruption '%s': need -180 <= DEGREES <= 180", spec);
        b = a;
        out->kind = PT_CORRUPT_TURN;
    } else if (!strncmp(spec, "noise:", 6)) {
        if (!parse_num(spec + 6, &end, &a) || *end)
            return pt_fail(PT_EINVAL, "corruption '%s': expected noise:SIGMA", spec);
        if (!(a > 0.0 && a <= 10.0)) return pt_fail(PT_EINVAL, "corruption '%s': SIGMA must be in (0, 10]", spec);
        /* sigma is stored as a float: one below the smallest would become 0 */
        if ((float)a == 0.0f)
            return pt_fail(PT_EINVAL, "corruption '%s': SIGMA is below the smallest float (%g)", spec,
                           (double)FLT_TRUE_MIN);
        b = 0.0;
        out->kind = PT_CORRUPT_NOISE;
    } else {
        return pt_fail(PT_EINVAL, "corruption '%s': expected rotate:LO-HI, turn:DEGREES or noise:SIGMA", spec);
    }
    out->a = (float)a;
    out->b = (float)b;
    return PT_OK;
}

static float clamp01(float v) { return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v; }

/* out(r, c) = in at the point that rotating by theta maps onto (r, c): the
 * inverse map about the centre, then bilinear interpolation of the four
 * neighbours, pixels outside the image counting as 0. */
static void rotate(float *restrict out, const float *restrict in, size_t rows, size_t cols, double theta)
{
    double cy = 0.5 * (double)(rows - 1), cx = 0.5 * (double)(cols - 1);
    double ct = cos(theta), st = sin(theta);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            double dy = (double)r - cy, dx = (double)c - cx;
            double sy = cy + ct * dy + st * dx, sx = cx - st * dy + ct * dx; /* inverse rotation */
            double fy = floor(sy), fx = floor(sx);
            double wy = sy - fy, wx = sx - fx;
            long y0 = (long)fy, x0 = (long)fx;
            double acc = 0.0;
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++) {
                    long y = y0 + i, x = x0 + j;
                    if (y < 0 || x < 0 || y >= (long)rows || x >= (long)cols) continue;
                    double w = (i ? wy : 1.0 - wy) * (j ? wx : 1.0 - wx);
                    acc += w * (double)in[(size_t)y * cols + (size_t)x];
                }
            out[r * cols + c] = clamp01((float)acc);
        }
}

void pt_image_rotate(float *restrict out, const float *restrict in, size_t rows, size_t cols, double degrees)
{
    rotate(out, in, rows, cols, degrees * PT_PI / 180.0);
}

pt_status pt_corrupt_apply(const pt_corrupt *c, float *x, size_t n, size_t rows, size_t cols, uint64_t seed,
                           size_t first)
{
    size_t d = rows * cols;
    int turning = c->kind == PT_CORRUPT_ROTATE || c->kind == PT_CORRUPT_TURN;
    float *tmp = turning ? pt_calloc(d, sizeof *tmp) : NULL;
    if (turning && !tmp) return pt_fail(PT_ENOMEM, "out of memory for one image");
    for (size_t i = 0; i < n; i++) {
        pt_rng r;
        pt_rng_seed(&r, seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(first + i + 1)));
        float *img = x + i * d;
        if (c->kind == PT_CORRUPT_ROTATE) {
            double deg = (double)c->a + (double)(c->b - c->a) * (double)pt_rng_uniform(&r);
            if (pt_rng_u64(&r) & 1) deg = -deg;
            memcpy(tmp, img, d * sizeof *tmp);
            rotate(img, tmp, rows, cols, deg * PT_PI / 180.0);
        } else if (c->kind == PT_CORRUPT_TURN) {
            memcpy(tmp, img, d * sizeof *tmp);
            rotate(img, tmp, rows, cols, (double)c->a * PT_PI / 180.0);
        } else if (c->kind == PT_CORRUPT_NOISE) {
            for (size_t j = 0; j < d; j++) img[j] = clamp01(img[j] + c->a * pt_rng_normal(&r));
        }
    }
    free(tmp);
    return PT_OK;
}
