/* OOD metrics: AUROC and FPR at 95% TPR on a hand-checked case, the extremes,
 * against an O(n m) brute-force oracle with many ties, and bad input. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "phasetower/metrics.h"

int main(void)
{
    /* pos 0.9, 0.8 beat all three negatives (6 wins); 0.4 loses to 0.7, ties
     * 0.4 (1/2) and beats 0.1: AUROC = 7.5 / 9. 95% TPR keeps all positives:
     * t = 0.4, and negatives 0.7, 0.4 are >= t: FPR = 2/3. */
    float pos[] = {0.9f, 0.4f, 0.8f}, neg[] = {0.1f, 0.7f, 0.4f};
    double a = -1, f = -1;
    CHECK(pt_metrics_ood(pos, 3, neg, 3, &a, &f) == PT_OK);
    CHECK_CLOSE(a, 7.5 / 9.0, 1e-12, 1e-12);
    CHECK_CLOSE(f, 2.0 / 3.0, 1e-12, 1e-12);
    float hi[] = {5, 6, 7}, lo[] = {1, 2};
    CHECK(pt_metrics_ood(hi, 3, lo, 2, &a, &f) == PT_OK && a == 1.0 && f == 0.0);
    CHECK(pt_metrics_ood(lo, 2, hi, 3, &a, &f) == PT_OK && a == 0.0 && f == 1.0);

    pt_rng r;
    pt_rng_seed(&r, 3);
    enum { NP = 200, NN = 150 };
    float p[NP], q[NN];
    for (int i = 0; i < NP; i++) p[i] = (float)(pt_rng_u64(&r) % 20);       /* many ties */
    for (int j = 0; j < NN; j++) q[j] = (float)(pt_rng_u64(&r) % 20) - 3.0f;
    double w = 0.0;
    for (int i = 0; i < NP; i++)
        for (int j = 0; j < NN; j++) w += p[i] > q[j] ? 1.0 : p[i] == q[j] ? 0.5 : 0.0;
    /* threshold: the largest t with at least 95% of p >= t */
    float t = -1e30f;
    for (int i = 0; i < NP; i++) {
        int ge = 0;
        for (int k = 0; k < NP; k++) ge += p[k] >= p[i];
        if (ge >= 0.95 * NP && p[i] > t) t = p[i];
    }
    int fp = 0;
    for (int j = 0; j < NN; j++) fp += q[j] >= t;
    CHECK(pt_metrics_ood(p, NP, q, NN, &a, &f) == PT_OK);
    CHECK_CLOSE(a, w / (NP * NN), 1e-12, 1e-12);
    CHECK_CLOSE(f, (double)fp / NN, 1e-12, 1e-12);
    CHECK(a > 0.55 && a < 0.95); /* the case is not degenerate */

    float bad[] = {0.5f, NAN};
    CHECK(pt_metrics_ood(bad, 2, lo, 2, &a, NULL) == PT_EINVAL && strstr(pt_errmsg(), "not finite"));
    CHECK(pt_metrics_ood(hi, 0, lo, 2, &a, NULL) == PT_EINVAL);
    TEST_END();
}
