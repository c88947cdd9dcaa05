/* PhaseTower metrics for out-of-distribution detection: AUROC and the false
 * positive rate at 95% true positive rate, the two figures the OOD literature
 * reports. In-distribution samples are the positives and are expected to
 * score higher. Pure functions; thread-safe. */
#ifndef PHASETOWER_METRICS_H
#define PHASETOWER_METRICS_H

#include "phasetower/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* pos (npos) and neg (nneg) scores, npos, nneg >= 1, all finite.
 * auroc = P(score_pos > score_neg) + P(equal) / 2 over all pairs.
 * fpr95 = fraction of negatives scoring >= t, where t is the largest score
 * that keeps at least 95% of positives at or above it. Either output may be
 * NULL. PT_EINVAL on empty input or a non-finite score; PT_ENOMEM. */
pt_status pt_metrics_ood(const float *pos, size_t npos, const float *neg, size_t nneg, double *auroc, double *fpr95);

#ifdef __cplusplus
}
#endif
#endif
