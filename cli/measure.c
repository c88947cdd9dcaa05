/* Inference latency as a user calling the library on one image at a time sees
 * it (the batched figure in train/eval amortizes the BLAS calls). */
#include "cli.h"

double cli_single_latency_us(const pt_embedder *e, const pt_dataset *d)
{
    size_t n = d->n < 1000 ? d->n : 1000;
    if (n == 0) return 0.0;
    uint8_t pred;
    double t0 = cli_now();
    for (size_t i = 0; i < n; i++)
        if (e->embed(e, d->x + i * d->dim, 1, NULL, &pred, NULL)) return -1.0;
    return 1e6 * (cli_now() - t0) / (double)n;
}
