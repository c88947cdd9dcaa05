/* AUROC by sorting both score lists once and merging (Mann-Whitney U with
 * ties counted half), O((n + m) log(n + m)); FPR at 95% TPR from the sorted
 * positives. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "phasetower/metrics.h"

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static pt_status sorted_copy(const float *v, size_t n, const char *what, float **out)
{
    *out = NULL;
    if (n == 0) return pt_fail(PT_EINVAL, "OOD metrics: no %s scores", what);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return pt_fail(PT_EINVAL, "OOD metrics: %s score %zu is not finite", what, i);
    float *c = pt_calloc(n, sizeof *c);
    if (!c) return pt_fail(PT_ENOMEM, "out of memory for %zu scores", n);
    memcpy(c, v, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_float);
    *out = c;
    return PT_OK;
}

pt_status pt_metrics_ood(const float *pos, size_t npos, const float *neg, size_t nneg, double *auroc, double *fpr95)
{
    float *p = NULL, *q = NULL;
    pt_status st = sorted_copy(pos, npos, "in-distribution", &p);
    if (!st) st = sorted_copy(neg, nneg, "out-of-distribution", &q);
    if (st) {
        free(p);
        return st;
    }
    /* For each negative, count positives strictly above and equal to it. */
    double wins = 0.0;
    size_t lo = 0, hi = 0; /* p[lo..) >= q[j]; p[hi..) > q[j] */
    for (size_t j = 0; j < nneg; j++) {
        while (lo < npos && p[lo] < q[j]) lo++;
        if (hi < lo) hi = lo;
        while (hi < npos && p[hi] <= q[j]) hi++;
        wins += (double)(npos - hi) + 0.5 * (double)(hi - lo);
    }
    if (auroc) *auroc = wins / ((double)npos * (double)nneg);
    if (fpr95) {
        float t = p[(size_t)floor(0.05 * (double)npos)]; /* >= 95% of positives are >= t */
        size_t fp = 0;
        for (size_t j = 0; j < nneg; j++) fp += q[j] >= t;
        *fpr95 = (double)fp / (double)nneg;
    }
    free(p);
    free(q);
    return PT_OK;
}
