/* Accuracy of a model on a data set, shared by train and eval: the tower's
 * prediction, the memory's recall, and their combination (the memory's label
 * when its best similarity reaches tau, else the tower's), with each sample's
 * confidence scores kept for out-of-distribution figures. */
#include <math.h>
#include <stdlib.h>
#include "cli.h"

void cli_eval_free(cli_eval *e)
{
    free(e->pred);
    free(e->score);
    free(e->mem_score);
    free(e->align);
}

pt_status cli_evaluate(const pt_tower *t, const pt_memory *m, const pt_dataset *d, float tau, cli_eval *e)
{
    enum { CHUNK = 1024 }; /* samples per pass: bounds the outputs kept for the memory */
    size_t n = d->n, C = (size_t)pt_tower_get_config(t)->n_classes, K = (size_t)pt_tower_out_dim(t);
    *e = (cli_eval){0};
    e->score = malloc(n * sizeof *e->score);
    e->align = malloc(n * sizeof *e->align);
    uint8_t *pred = e->pred = malloc(n);
    float *lg = malloc(CHUNK * C * sizeof *lg);
    int *ml = m ? malloc(n * sizeof *ml) : NULL;
    float *z = m ? malloc(CHUNK * 2 * K * sizeof *z) : NULL;
    if (m) e->mem_score = malloc(n * sizeof *e->mem_score);
    pt_status st = n ? PT_ENOMEM : PT_OK;
    if (!e->score || !e->align || !pred || !lg || (m && (!ml || !z || !e->mem_score))) goto done;
    for (size_t i0 = 0; i0 < n; i0 += CHUNK) {
        size_t nb = n - i0 < CHUNK ? n - i0 : CHUNK;
        const float *x = d->x + i0 * d->dim;
        /* one forward pass: the logits, and with a memory the outputs it recalls from */
        double t0 = cli_now();
        if ((st = pt_tower_forward_code(t, x, nb, m ? pt_memory_get_config(m)->code : PT_MEMORY_SPARSE, lg, m ? z : NULL,
                                        e->align + i0)))
            goto done;
        e->seconds += cli_now() - t0;
        for (size_t i = 0; i < nb; i++) {
            size_t b = 0;
            for (size_t y = 1; y < C; y++)
                if (lg[i * C + y] > lg[i * C + b]) b = y;
            pred[i0 + i] = (uint8_t)b;
            e->score[i0 + i] = lg[i * C + b];
        }
        if (m) {
            t0 = cli_now();
            if ((st = pt_memory_scores(m, z, nb, ml + i0, e->mem_score + i0))) goto done;
            e->mem_seconds += cli_now() - t0;
        }
    }
    size_t ok = 0, mok = 0, cok = 0;
    for (size_t i = 0; i < n; i++) {
        ok += pred[i] == d->y[i];
        if (!m) continue;
        mok += ml[i] == d->y[i];
        int c = e->mem_score[i] >= tau && ml[i] >= 0 ? ml[i] : pred[i];
        cok += c == d->y[i];
    }
    e->acc = n ? (double)ok / (double)n : 0.0;
    e->mem_acc = n ? (double)mok / (double)n : 0.0;
    e->comb_acc = n ? (double)cok / (double)n : 0.0;
done:
    free(lg), free(ml), free(z);
    if (st) cli_eval_free(e);
    return st;
}
