/* The checkpoint envelope: format, version and kind written once and checked
 * on every read; a part of another kind refused; a tensor no part claims
 * refused; kinds validated; peek reading the header alone; save atomic (a
 * failed save leaves the old file); a phasor network and an episodic memory
 * sharing one file. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "io/safetensors.h"
#include "phasetower/pt.h"

enum { DIM = 16, NCLS = 3, N = 90 };

static void data(float *x, uint8_t *y)
{
    pt_rng r;
    pt_rng_seed(&r, 9);
    for (int i = 0; i < N; i++) {
        y[i] = (uint8_t)(i % NCLS);
        for (int j = 0; j < DIM; j++) x[i * DIM + j] = (j % NCLS == y[i] ? 0.8f : 0.1f) + 0.1f * pt_rng_uniform(&r);
    }
}

/* copy src to dst with one metadata value replaced (key must exist) */
static void set_meta(const char *src, const char *dst, const char *key, const char *value)
{
    pt_st_file *f = NULL;
    CHECK(pt_st_read(src, &f) == PT_OK);
    if (!f) return;
    pt_st_tensor ts[64];
    size_t nt = pt_st_count(f);
    for (size_t i = 0; i < nt && i < 64; i++) ts[i] = *pt_st_at(f, i);
    const char *keys[] = {"format", "version", "model", "n_in", "n_classes", "hidden", "depth", "act", "eps",
                          "modrelu_b", "levels", "seed"};
    enum { NK = sizeof keys / sizeof keys[0] };
    const char *meta[2 * NK];
    for (int i = 0; i < NK; i++)
        meta[2 * i] = keys[i], meta[2 * i + 1] = !strcmp(keys[i], key) ? value : pt_st_meta(f, keys[i]);
    CHECK(pt_st_write(dst, ts, nt, meta, NK) == PT_OK);
    pt_st_close(f);
}

/* model kinds: 1-31 characters of [a-z0-9_] */
static void test_kinds(void)
{
    pt_ckpt *c = NULL;
    CHECK(pt_ckpt_create("Tower", &c) == PT_EINVAL && c == NULL);
    CHECK(pt_ckpt_create("", &c) == PT_EINVAL);
    CHECK(pt_ckpt_create("a_very_long_kind_name_of_32_chars", &c) == PT_EINVAL);

}

/* a phasor network and an episodic memory of its last layer in one file: each part reads its own
 * tensors, finish refuses the file until both have; the single-call loader leaves the memory */
static void test_phasor_memory(const float *x, const uint8_t *y, const char *p1)
{
    pt_ckpt *c = NULL;
    pt_phasor_config pc = pt_phasor_config_default();
    pc.n_in = DIM, pc.n_out = NCLS, pc.hidden = 12, pc.act = PT_ACT_CARDIOID, pc.batch = 16, pc.lr = 0.01f;
    pt_phasor *m = NULL, *m2 = NULL;
    CHECK(pt_phasor_create(&pc, &m) == PT_OK);
    for (int ep = 0; ep < 20; ep++) CHECK(pt_phasor_train(m, x, y, N, NULL, NULL) == PT_OK);
    pt_embedder e = pt_phasor_embedder(m);
    CHECK(e.dim == 12 && e.n_scores == 1 && e.n_in == DIM);
    pt_memory_config mc = pt_memory_config_default(e.dim);
    mc.capacity = 100, mc.k = 3;
    pt_memory *mem = NULL, *mem2 = NULL;
    pt_dataset d = {N, 4, 4, DIM, (float *)x, (uint8_t *)y, NCLS}; /* read only: fill and evaluate take it const */
    pt_memory_fill_opts fo = {PT_MEMORY_ALL, 0.7f, NULL, NULL};
    size_t written = 0;
    CHECK(pt_memory_create(&mc, &mem) == PT_OK && pt_memory_fill(mem, &e, &d, &fo, &written) == PT_OK && written == N);
    CHECK(pt_ckpt_create("phasor", &c) == PT_OK && pt_ckpt_kind(c)[0] == 'p' && !strcmp(pt_ckpt_path(c), ""));
    CHECK(pt_phasor_to_ckpt(m, c) == PT_OK && pt_memory_to_ckpt(mem, c) == PT_OK && pt_ckpt_save(c, p1) == PT_OK);
    pt_ckpt_close(c);
    char kind[32];
    CHECK(pt_ckpt_peek(p1, kind, sizeof kind) == PT_OK && !strcmp(kind, "phasor"));
    CHECK(pt_ckpt_open(p1, &c) == PT_OK && !strcmp(pt_ckpt_kind(c), "phasor") && !strcmp(pt_ckpt_path(c), p1));
    pt_tower *t = NULL;
    CHECK(pt_tower_from_ckpt(c, &t) == PT_EFORMAT && t == NULL && strstr(pt_errmsg(), "not a tower"));
    CHECK(pt_ckpt_finish(c) == PT_EFORMAT && strstr(pt_errmsg(), "belongs to no part")); /* nothing read yet */
    CHECK(pt_phasor_from_ckpt(c, &m2) == PT_OK);
    CHECK(pt_ckpt_finish(c) == PT_EFORMAT && strstr(pt_errmsg(), "memory.")); /* the memory is still unread */
    CHECK(pt_memory_from_ckpt(c, e.dim, &mem2) == PT_OK && mem2);
    CHECK(pt_ckpt_finish(c) == PT_OK);
    pt_ckpt_close(c);
    if (m2 && mem2) { /* the same answers from the reloaded pair */
        pt_embedder e2 = pt_phasor_embedder(m2);
        pt_memory_eval a = {0}, b = {0};
        CHECK(pt_memory_evaluate(mem, &e, &d, 0.7f, &a) == PT_OK && pt_memory_evaluate(mem2, &e2, &d, 0.7f, &b) == PT_OK);
        CHECK(a.acc == b.acc && a.mem_acc == b.mem_acc && a.comb_acc == b.comb_acc);
        CHECK(!memcmp(a.mem_label, b.mem_label, N * sizeof(int)) && !memcmp(a.pred, b.pred, N));
        printf("phasor + memory: model %.3f, memory %.3f, combined %.3f\n", a.acc, a.mem_acc, a.comb_acc);
        CHECK(a.acc > 0.9 && a.mem_acc > 0.9); /* it learned; every training vector is stored: recall finds it */
        pt_memory_eval_free(&a), pt_memory_eval_free(&b);
    }
    /* the single-call loader takes the network and leaves the memory */
    pt_phasor *m3 = NULL;
    CHECK(pt_phasor_load(p1, &m3) == PT_OK && m3);
    pt_phasor_destroy(m3);

    pt_tower_destroy(t);
    pt_phasor_destroy(m), pt_phasor_destroy(m2);
    pt_memory_destroy(mem), pt_memory_destroy(mem2);
}

/* the envelope's own checks: version, format, kind, a bad part, a missing file */
static void test_envelope(const char *p1, const char *p2)
{
    pt_ckpt *c = NULL;
    pt_phasor *m3 = NULL;
    char kind[32];
    set_meta(p1, p2, "version", "2");
    CHECK(pt_ckpt_open(p2, &c) == PT_EFORMAT && c == NULL && strstr(pt_errmsg(), "version 2"));
    CHECK(pt_ckpt_peek(p2, kind, sizeof kind) == PT_EFORMAT);
    set_meta(p1, p2, "format", "other");
    CHECK(pt_ckpt_open(p2, &c) == PT_EFORMAT && strstr(pt_errmsg(), "not a PhaseTower checkpoint"));
    set_meta(p1, p2, "model", "Bad Kind");
    CHECK(pt_ckpt_open(p2, &c) == PT_EFORMAT && strstr(pt_errmsg(), "model kind"));
    set_meta(p1, p2, "act", "tanh");
    CHECK(pt_phasor_load(p2, &m3) == PT_EFORMAT && m3 == NULL && strstr(pt_errmsg(), "metadata 'act' = 'tanh'"));
    CHECK(pt_ckpt_open("/nonexistent/x.safetensors", &c) == PT_EIO);

}

/* a tower's part: not in a phasor envelope, its subspace fit, and a failed save that leaves the file */
static void test_tower_part(const float *x, const uint8_t *y, const char *dir, const char *p1)
{
    pt_ckpt *c = NULL;
    pt_tower *t = NULL;
    char p2[64];
    snprintf(p2, sizeof p2, "%s/b.safetensors", dir);
    /* a tower does not go into a phasor envelope; tensors and keys once */
    pt_tower_config tc = pt_tower_config_default();
    tc.n_in = DIM, tc.n_classes = NCLS;
    CHECK(pt_tower_spec_parse("24:0.2", &tc) == PT_OK && pt_tower_create(&tc, &t) == PT_OK);
    CHECK(pt_ckpt_create("phasor", &c) == PT_OK && pt_tower_to_ckpt(t, c) == PT_EINVAL);
    pt_ckpt_close(c);

    /* the subspace fit is kept (only when not the default, so older files are unchanged) */
    {
        pt_tower_config ec = tc;
        ec.subspace = 4, ec.subspace_fit = PT_PCA_EIGEN;
        pt_tower *te = NULL, *te2 = NULL;
        uint8_t p1e[N], p2e[N];
        CHECK(pt_tower_create(&ec, &te) == PT_OK && pt_tower_train(te, x, y, N, NULL, NULL) == PT_OK);
        CHECK(pt_tower_save(te, p2) == PT_OK && pt_tower_load(p2, &te2) == PT_OK && te2);
        if (te2) {
            CHECK(pt_tower_get_config(te2)->subspace_fit == PT_PCA_EIGEN);
            CHECK(pt_tower_predict(te, x, N, p1e, NULL) == PT_OK && pt_tower_predict(te2, x, N, p2e, NULL) == PT_OK);
            CHECK(!memcmp(p1e, p2e, N));
        }
        pt_ckpt *ce = NULL;
        CHECK(pt_ckpt_open(p2, &ce) == PT_OK && pt_ckpt_kind(ce) && !strcmp(pt_ckpt_kind(ce), "tower"));
        pt_ckpt_close(ce);
        pt_tower_destroy(te), pt_tower_destroy(te2);
        ec.subspace_fit = (pt_pca_method)5;
        CHECK(pt_tower_create(&ec, &te) == PT_EINVAL && strstr(pt_errmsg(), "tower.subspace_fit"));
    }

    /* a failed save leaves the file that was there */
    unsigned char *before = NULL, *after = NULL;
    long nb = check_slurp(p1, &before);
    CHECK(pt_ckpt_create("tower", &c) == PT_OK && pt_tower_to_ckpt(t, c) == PT_OK);
    snprintf(p2, sizeof p2, "%s/none/c.safetensors", dir);
    CHECK(pt_ckpt_save(c, p2) == PT_EIO);
    pt_ckpt_close(c);
    long na = check_slurp(p1, &after);
    CHECK(nb > 0 && na == nb && !memcmp(before, after, (size_t)nb));
    free(before), free(after);

    pt_tower_destroy(t);
}

/* Random layer specs, fractions drawn as floats anywhere in (0,1] and near
 * the rounding points of s = round(frac K): the spec string the tower writes
 * parses back to the same config, and a saved tower loads with the same K and
 * s in every block and the same predictions. A file whose 'layers' lost
 * digits (as %g wrote them: 21:0.833333 for 21:0.8333333) still loads with
 * the s it used, from 'active'. */
static void test_spec_roundtrip(const float *x, const uint8_t *y, const char *path)
{
    pt_rng r;
    pt_rng_seed(&r, 17);
    for (int trial = 0; trial < 40; trial++) {
        pt_tower_config tc = pt_tower_config_default(), back = pt_tower_config_default();
        tc.n_in = DIM, tc.n_classes = NCLS, tc.subspace = 0;
        tc.n_blocks = 1 + (int)(pt_rng_uniform(&r) * 3.0f);
        for (int l = 0; l < tc.n_blocks; l++) {
            tc.K[l] = 1 + (int)(pt_rng_uniform(&r) * 60.0f);
            float u = pt_rng_uniform(&r), half = ((float)(int)(u * (float)tc.K[l]) + 0.5f) / (float)tc.K[l];
            tc.frac[l] = trial % 2 ? nextafterf(half, trial % 4 == 1 ? 0.0f : 1.0f) : u;
            if (!(tc.frac[l] > 0.0f)) tc.frac[l] = 1.0f / (float)tc.K[l];
            if (tc.frac[l] > 1.0f) tc.frac[l] = 1.0f;
        }
        char spec[PT_TOWER_MAXBLOCKS * 24];
        pt_tower_spec_format(&tc, spec, sizeof spec);
        CHECK(pt_tower_spec_parse(spec, &back) == PT_OK && back.n_blocks == tc.n_blocks);
        for (int l = 0; l < tc.n_blocks; l++) CHECK(back.K[l] == tc.K[l] && back.frac[l] == tc.frac[l]);

        pt_tower *t = NULL, *t2 = NULL;
        uint8_t a[N], b[N];
        CHECK(pt_tower_create(&tc, &t) == PT_OK && pt_tower_train(t, x, y, N, NULL, NULL) == PT_OK);
        CHECK(pt_tower_save(t, path) == PT_OK && pt_tower_load(path, &t2) == PT_OK);
        if (!t || !t2) break;
        for (int l = 0; l < tc.n_blocks; l++) {
            pt_tower_block_view v1, v2;
            CHECK(pt_tower_block(t, l, &v1) == PT_OK && pt_tower_block(t2, l, &v2) == PT_OK);
            CHECK(v1.K == v2.K && v1.s == v2.s);
        }
        CHECK(pt_tower_predict(t, x, N, a, NULL) == PT_OK && pt_tower_predict(t2, x, N, b, NULL) == PT_OK);
        CHECK(!memcmp(a, b, N));
        pt_tower_destroy(t), pt_tower_destroy(t2);
    }

    /* 21:0.8333333 has s = 18; the 6 digits of %g give 17 */
    pt_tower_config tc = pt_tower_config_default();
    tc.n_in = DIM, tc.n_classes = NCLS, tc.subspace = 0;
    CHECK(pt_tower_spec_parse("21:0.8333333", &tc) == PT_OK);
    pt_tower *t = NULL, *t2 = NULL;
    CHECK(pt_tower_create(&tc, &t) == PT_OK && pt_tower_train(t, x, y, N, NULL, NULL) == PT_OK);
    pt_ckpt *c = NULL;
    CHECK(pt_ckpt_create("tower", &c) == PT_OK && pt_tower_to_ckpt(t, c) == PT_OK);
    pt_ckpt_close(c);
    CHECK(pt_tower_save(t, path) == PT_OK);
    pt_st_file *f = NULL;
    CHECK(pt_st_read(path, &f) == PT_OK && f && !strcmp(pt_st_meta(f, "active"), "18"));
    if (f) {
        /* the same file with the lossy spec */
        pt_st_tensor ts[16];
        size_t nt = pt_st_count(f), nm = 0;
        const char *meta[2 * 64];
        const char *keys[] = {"format", "version", "model", "n_in", "n_classes", "eta", "eta_phase", "eta_skip",
                              "eta_code", "target_mag", "ridge", "rule", "readout", "init", "select", "batch", "seed",
                              "initialized", "samples_seen", "layers", "active"};
        for (size_t i = 0; i < nt && i < 16; i++) ts[i] = *pt_st_at(f, i);
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++, nm++)
            meta[2 * nm] = keys[i], meta[2 * nm + 1] = !strcmp(keys[i], "layers") ? "21:0.833333" : pt_st_meta(f, keys[i]);
        char p2[256];
        snprintf(p2, sizeof p2, "%s.lossy", path);
        CHECK(pt_st_write(p2, ts, nt, meta, nm) == PT_OK && pt_tower_load(p2, &t2) == PT_OK);
        pt_tower_block_view v;
        CHECK(t2 && pt_tower_block(t2, 0, &v) == PT_OK && v.s == 18);
        pt_tower_destroy(t2), t2 = NULL;
        meta[2 * (nm - 1) + 1] = "19x"; /* a corrupt count is refused */
        CHECK(pt_st_write(p2, ts, nt, meta, nm) == PT_OK && pt_tower_load(p2, &t2) == PT_EFORMAT);
        CHECK(strstr(pt_errmsg(), "'active'") != NULL);
        nm--; /* without 'active' (older files): the spec as written */
        CHECK(pt_st_write(p2, ts, nt, meta, nm) == PT_OK && pt_tower_load(p2, &t2) == PT_OK);
        CHECK(t2 && pt_tower_block(t2, 0, &v) == PT_OK && v.s == 17);
        pt_tower_destroy(t2);
        remove(p2);
        pt_st_close(f);
    }
    pt_tower_destroy(t);
}

int main(void)
{
    static float x[N * DIM];
    static uint8_t y[N];
    data(x, y);
    char dir[] = "/tmp/pt_ckpt_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char p1[64], p2[64];
    snprintf(p1, sizeof p1, "%s/a.safetensors", dir);
    snprintf(p2, sizeof p2, "%s/b.safetensors", dir);
    test_kinds();
    test_phasor_memory(x, y, p1);
    test_envelope(p1, p2);
    test_tower_part(x, y, dir, p1);
    test_spec_roundtrip(x, y, p1);
    remove(p1), remove(p2), rmdir(dir);
    TEST_END();
}
