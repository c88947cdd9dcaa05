/* Event-driven spiking execution of a phasor MLP (docs/phasor.md). Spikes are
 * (bin, source) events; each layer delivers its input spikes in time order
 * (a counting sort over the T bins) to every target, whose complex potential
 * accumulates W_ij e^{i 2 pi b / T}; at the end of the cycle each target
 * spikes at the bin nearest its potential's phase, or stays silent. Only
 * spikes cost work: a silent unit sends nothing. */
#include <math.h>
#include <string.h>
#include "internal.h"
#include "phasetower/phasor.h"

#define PT_TWO_PI 6.283185307179586476925

typedef struct spk {
    int n;          /* spikes */
    int *src;       /* (cap) source unit */
    int16_t *bin;   /* (cap) time bin */
} spk;

/* nearest bin of a phase angle in turns t in [0, 1) */
static int16_t bin_of(double t, int T)
{
    long b = lround(t * (double)T) % T;
    return (int16_t)(b < 0 ? b + T : b);
}

/* order spikes by time bin (stable): counting sort into dst */
static void time_order(const spk *in, spk *dst, int T, int *count)
{
    memset(count, 0, (size_t)(T + 1) * sizeof *count);
    for (int k = 0; k < in->n; k++) count[in->bin[k] + 1]++;
    for (int b = 0; b < T; b++) count[b + 1] += count[b];
    for (int k = 0; k < in->n; k++) {
        int at = count[in->bin[k]]++;
        dst->src[at] = in->src[k], dst->bin[at] = in->bin[k];
    }
    dst->n = in->n;
}

pt_status pt_phasor_predict_spiking(const pt_phasor *m, const float *x, size_t n, int T, uint8_t *pred,
                                    double *spikes)
{
    const pt_phasor_config *c = pt_phasor_get_config(m);
    if (T < 2 || T > 32767) return pt_fail(PT_EINVAL, "spiking execution: T = %d must lie in 2..32767", T);
    if (c->act != PT_ACT_UNIT)
        return pt_fail(PT_EINVAL, "spiking execution: the network uses the %s activation; spikes carry phases only, so "
                                  "spiking execution needs the unit-circle activation (phasor.act unit)",
                       pt_phasor_act_name(c->act));
    for (size_t i = 0; i < n * (size_t)c->n_in; i++)
        if (!isfinite(x[i])) return pt_fail(PT_EINVAL, "input sample %zu has a non-finite value", i / (size_t)c->n_in);
    size_t H = (size_t)c->hidden, C = (size_t)c->n_out, wide = (size_t)(c->n_in > c->hidden ? c->n_in : c->hidden);
    /* transposed copies (in, out) so that one spike touches one contiguous row */
    float *WT[PT_PHASOR_MAX_DEPTH + 1] = {0}; /* the layers, then the readout */
    double *hr = pt_calloc(wide > C ? wide : C, sizeof *hr), *hi = pt_calloc(wide > C ? wide : C, sizeof *hi);
    float *cs = pt_calloc((size_t)T, sizeof *cs), *sn = pt_calloc((size_t)T, sizeof *sn);
    int *count = pt_calloc((size_t)T + 1, sizeof *count);
    spk a = {0, pt_calloc(wide, sizeof(int)), pt_calloc(wide, sizeof(int16_t))};
    spk b = {0, pt_calloc(wide, sizeof(int)), pt_calloc(wide, sizeof(int16_t))};
    pt_status st = PT_OK;
    int ok = hr && hi && cs && sn && count && a.src && a.bin && b.src && b.bin;
    for (int l = 0; l <= c->depth && ok; l++) {
        size_t in = l == 0 ? (size_t)c->n_in : H, out = l < c->depth ? H : C;
        float *w = WT[l] = pt_calloc(2 * in * out, sizeof(float));
        if (!w) {
            ok = 0;
            break;
        }
        const float *W = pt_phasor_weights(m, l); /* (out, in) complex */
        for (size_t o = 0; o < out; o++)
            for (size_t j = 0; j < in; j++)
                w[j * out + o] = W[2 * (o * in + j)], w[(in + j) * out + o] = W[2 * (o * in + j) + 1];
    }
    if (!ok) {
        st = pt_fail(PT_ENOMEM, "spiking execution: out of memory");
        goto done;
    }
    for (int t = 0; t < T; t++) cs[t] = (float)cos(PT_TWO_PI * t / T), sn[t] = (float)sin(PT_TWO_PI * t / T);
    double total = 0.0;
    for (size_t s = 0; s < n; s++) {
        /* input spikes: pixel j at the bin of phase pi x_j (x clamped to [0, 1]) */
        a.n = 0;
        for (int j = 0; j < c->n_in; j++) {
            float v = x[s * (size_t)c->n_in + (size_t)j];
            v = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
            a.src[a.n] = j, a.bin[a.n] = bin_of(0.5 * (double)v, T), a.n++;
        }
        total += a.n;
        for (int l = 0; l <= c->depth; l++) {
            size_t in = l == 0 ? (size_t)c->n_in : H, out = l < c->depth ? H : C;
            const float *w = WT[l];
            time_order(&a, &b, T, count);
            memset(hr, 0, out * sizeof *hr), memset(hi, 0, out * sizeof *hi);
            for (int k = 0; k < b.n; k++) { /* deliver: potential += W_ij e^{i theta_b} */
                const float *wr = w + (size_t)b.src[k] * out, *wi = w + (in + (size_t)b.src[k]) * out;
                double pc = (double)cs[b.bin[k]], ps = (double)sn[b.bin[k]];
                for (size_t o = 0; o < out; o++) {
                    hr[o] += (double)wr[o] * pc - (double)wi[o] * ps;
                    hi[o] += (double)wr[o] * ps + (double)wi[o] * pc;
                }
            }
            if (l == c->depth) { /* readout: logits = Re(potential) */
                size_t best = 0;
                for (size_t o = 1; o < out; o++)
                    if (hr[o] > hr[best]) best = o;
                pred[s] = (uint8_t)best;
                break;
            }
            a.n = 0; /* fire: one spike per neuron at the phase of its potential, unless too weak */
            for (size_t o = 0; o < out; o++) {
                if (hypot(hr[o], hi[o]) <= (double)c->eps) continue;
                double turn = atan2(hi[o], hr[o]) / PT_TWO_PI;
                a.src[a.n] = (int)o, a.bin[a.n] = bin_of(turn < 0.0 ? turn + 1.0 : turn, T), a.n++;
            }
            total += a.n;
        }
    }
    if (spikes) *spikes = n ? total / (double)n : 0.0;
done:
    for (int l = 0; l <= PT_PHASOR_MAX_DEPTH; l++) free(WT[l]);
    free(hr), free(hi), free(cs), free(sn), free(count), free(a.src), free(a.bin), free(b.src), free(b.bin);
    return st;
}
