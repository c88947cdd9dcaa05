/* Phase <-> spike codec: one spike per cycle of T bins (docs/phasor.md). */
#include <math.h>
#include "internal.h"
#include "phasetower/phasor.h"

#define PT_TWO_PI 6.283185307179586476925

static pt_status check_T(int T)
{
    if (T < 2 || T > 32767) return pt_fail(PT_EINVAL, "spike codec: T = %d must lie in 2..32767", T);
    return PT_OK;
}

pt_status pt_phasor_spike_encode(const float *z, size_t n, int T, float eps, int16_t *bin)
{
    pt_status st = check_T(T);
    if (st) return st;
    if (!(eps > 0.0f) || !isfinite(eps)) return pt_fail(PT_EINVAL, "spike codec: eps %g must be a finite number > 0", (double)eps);
    for (size_t i = 0; i < n; i++) {
        double re = (double)z[2 * i], im = (double)z[2 * i + 1];
        if (!isfinite(re) || !isfinite(im)) return pt_fail(PT_EINVAL, "spike codec: unit %zu is not finite", i);
        if (hypot(re, im) <= (double)eps) {
            bin[i] = -1;
            continue;
        }
        double t = atan2(im, re) / PT_TWO_PI; /* (-1/2, 1/2] turns */
        if (t < 0.0) t += 1.0;
        long b = lround(t * (double)T) % T; /* the nearest bin centre 2 pi b / T */
        bin[i] = (int16_t)(b < 0 ? b + T : b);
    }
    return PT_OK;
}

pt_status pt_phasor_spike_decode(const int16_t *bin, size_t n, int T, float *phase, uint8_t *active)
{
    pt_status st = check_T(T);
    if (st) return st;
    for (size_t i = 0; i < n; i++)
        if (bin[i] < -1 || bin[i] >= T) return pt_fail(PT_EINVAL, "spike codec: bin %d of unit %zu outside -1..%d", bin[i], i, T - 1);
    for (size_t i = 0; i < n; i++) {
        if (bin[i] < 0) {
            phase[i] = NAN;
            active[i] = 0;
            continue;
        }
        double p = PT_TWO_PI * (double)bin[i] / (double)T;
        if (p > PT_TWO_PI / 2.0) p -= PT_TWO_PI;
        phase[i] = (float)p;
        active[i] = 1;
    }
    return PT_OK;
}
