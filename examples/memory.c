/* Example: an episodic memory on a model, and both in one checkpoint. The
 * memory knows nothing of the model but its vectors (an embedder), so the
 * same code puts it on a PhaseTower or on a phasor network. Builds a toy
 * 3-class problem, trains each model, fills a memory with its training
 * vectors, reports model, memory and combined accuracy, saves model and
 * memory in one file and checks that they come back with the same answers.
 * Built and run by ctest, so it cannot rot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "phasetower/pt.h"

static int fail(const char *what)
{
    fprintf(stderr, "%s: %s\n", what, pt_errmsg());
    return 1;
}

/* 3 classes of 16 "pixels", each lit in its own third */
static void toy(pt_dataset *d, uint64_t seed)
{
    pt_rng r;
    pt_rng_seed(&r, seed);
    d->n = 300, d->rows = 4, d->cols = 4, d->dim = 16, d->n_classes = 3;
    d->x = malloc(d->n * d->dim * sizeof *d->x);
    d->y = malloc(d->n);
    for (size_t i = 0; d->x && d->y && i < d->n; i++) {
        d->y[i] = (uint8_t)(i % 3);
        for (size_t j = 0; j < d->dim; j++)
            d->x[i * d->dim + j] = (j * 3 / d->dim == d->y[i] ? 0.8f : 0.1f) + 0.2f * pt_rng_uniform(&r);
    }
}

/* Fill a memory from e on train, evaluate on test, save model part + memory
 * part (put) to path, reload the memory, evaluate again: the same answers. */
static int with_memory(const char *kind, const pt_embedder *e, const pt_dataset *train, const pt_dataset *test,
                       pt_status (*put)(const void *model, pt_ckpt *c), const char *path)
{
    pt_memory_config mc = pt_memory_config_default(e->dim);
    mc.capacity = 1000, mc.k = 5;
    pt_memory_fill_opts fo = {PT_MEMORY_ALL, 0.7f, NULL, NULL};
    pt_memory *mem = NULL, *back = NULL;
    pt_memory_eval a = {0}, b = {0};
    pt_ckpt *c = NULL;
    if (pt_memory_create(&mc, &mem) || pt_memory_fill(mem, e, train, &fo, NULL)) return fail("memory");
    if (pt_memory_evaluate(mem, e, test, 0.7f, &a)) return fail("evaluate");
    printf("%s: model %.1f%%, memory %.1f%%, combined %.1f%% (%zu stored vectors)\n", kind, 100.0 * a.acc,
           100.0 * a.mem_acc, 100.0 * a.comb_acc, pt_memory_count(mem));
    /* one file for both: the model's part, then the memory's */
    if (pt_ckpt_create(kind, &c) || put(e->model, c) || pt_memory_to_ckpt(mem, c) || pt_ckpt_save(c, path))
        return fail("save");
    pt_ckpt_close(c);
    if (pt_ckpt_open(path, &c) || pt_memory_from_ckpt(c, e->dim, &back) || !back) return fail("load");
    pt_ckpt_close(c);
    if (pt_memory_evaluate(back, e, test, 0.7f, &b)) return fail("evaluate again");
    int same = !memcmp(a.mem_label, b.mem_label, test->n * sizeof(int)) && a.comb_acc == b.comb_acc;
    pt_memory_eval_free(&a), pt_memory_eval_free(&b);
    pt_memory_destroy(mem), pt_memory_destroy(back);
    remove(path);
    return same ? 0 : (fprintf(stderr, "%s: the reloaded memory answers differently\n", kind), 1);
}

static pt_status put_tower(const void *m, pt_ckpt *c) { return pt_tower_to_ckpt(m, c); }
static pt_status put_phasor(const void *m, pt_ckpt *c) { return pt_phasor_to_ckpt(m, c); }

int main(void)
{
    pt_dataset train = {0}, test = {0};
    toy(&train, 1), toy(&test, 2);
    if (!train.x || !train.y || !test.x || !test.y) return 1;
    int rc = 0;

    pt_tower_config tc = pt_tower_config_default();
    tc.n_in = 16, tc.n_classes = 3;
    pt_tower *t = NULL;
    if (pt_tower_spec_parse("32:0.125", &tc) || pt_tower_create(&tc, &t) ||
        pt_tower_train(t, train.x, train.y, train.n, NULL, NULL))
        return fail("tower");
    pt_embedder et = pt_tower_embedder(t, PT_TOWER_CODE_SPARSE);
    rc |= with_memory("tower", &et, &train, &test, put_tower, "example_memory_tower.safetensors");

    pt_phasor_config pc = pt_phasor_config_default();
    pc.n_in = 16, pc.n_out = 3, pc.hidden = 12, pc.act = PT_ACT_CARDIOID, pc.batch = 16, pc.lr = 0.01f;
    pt_phasor *p = NULL;
    if (pt_phasor_create(&pc, &p)) return fail("phasor");
    for (int e = 0; e < 10; e++)
        if (pt_phasor_train(p, train.x, train.y, train.n, NULL, NULL)) return fail("phasor training");
    pt_embedder ep = pt_phasor_embedder(p);
    rc |= with_memory("phasor", &ep, &train, &test, put_phasor, "example_memory_phasor.safetensors");

    pt_tower_destroy(t);
    pt_phasor_destroy(p);
    pt_dataset_free(&train), pt_dataset_free(&test);
    return rc;
}
