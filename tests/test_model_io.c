/* A checkpoint with an episodic memory: after save and load the memory has
 * the same slots, usage and free list, answers recalls identically and takes
 * the same slot on the next write; load then save reproduces the file; a
 * corrupt memory (bad label, a key that is not a unit vector, a free entry
 * that is not empty, more free entries than slots, a wrong shape) is refused
 * with PT_EFORMAT. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "io/safetensors.h"
#include "phasetower/pt.h"
#include "model_io.h"

enum { DIM = 36, NCLS = 4, N = 300 };

/* Shared by every section: the data, the trained tower and its sparse codes
 * z, the memory m written from them, and the files of its round trip. */
static float x[N * DIM];
static uint8_t y[N];
static float z[N * 2 * 48];
static struct {
    pt_tower *t, *t2;
    pt_memory *m, *m2;
    int K, nl;
    uint64_t seed;
    char dir[32], p1[64], p2[64], p3[64];
} fx;

/* Copy src to dst with tensor `name` given new data and/or first dimension;
 * a name starting with '-' drops that tensor instead. */
static const char *meta_set[2]; /* when set: metadata key [0] is written with value [1] */
static void rewrite(const char *src, const char *dst, const char *name, const void *data, size_t dim0)
{
    pt_st_file *f = NULL;
    CHECK(pt_st_read(src, &f) == PT_OK);
    if (!f) return;
    pt_st_tensor ts[32];
    size_t nt = 0;
    for (size_t i = 0; i < pt_st_count(f); i++) {
        ts[nt] = *pt_st_at(f, i);
        if (name[0] == '-' && !strcmp(ts[nt].name, name + 1)) continue;
        if (!strcmp(ts[nt].name, name)) {
            if (data) ts[nt].data = data;
            if (dim0) ts[nt].shape[0] = dim0;
        }
        nt++;
    }
    const char *keys[] = {"format", "version", "model", "n_in", "n_classes", "eta", "eta_phase", "eta_skip", "eta_code",
                          "target_mag", "ridge", "rule", "readout", "init", "select", "batch", "seed", "initialized",
                          "samples_seen", "layers", "memory_size", "memory_dim", "memory_k", "memory_alpha",
                          "memory_vote", "memory_seed", "memory_next", "memory_code", "memory_proj"};
    enum { NK = sizeof keys / sizeof keys[0] };
    const char *meta[2 * NK];
    for (int i = 0; i < NK; i++) {
        meta[2 * i] = keys[i], meta[2 * i + 1] = pt_st_meta(f, keys[i]);
        if (meta_set[0] && !strcmp(keys[i], meta_set[0])) meta[2 * i + 1] = meta_set[1];
    }
    CHECK(pt_st_write(dst, ts, nt, meta, NK) == PT_OK);
    pt_st_close(f);
}

/* The training data (seed 4), a trained one-block tower and its sparse codes z. */
static void setup_tower(void)
{
    pt_rng r;
    pt_rng_seed(&r, 4);
    for (int i = 0; i < N; i++) {
        y[i] = (uint8_t)(i % NCLS);
        for (int j = 0; j < DIM; j++) x[i * DIM + j] = (j % NCLS == y[i] ? 0.8f : 0.1f) + 0.1f * pt_rng_uniform(&r);
    }
    pt_tower_config c = pt_tower_config_default();
    c.n_in = DIM, c.n_classes = NCLS;
    CHECK(pt_tower_spec_parse("48:0.1", &c) == PT_OK);
    pt_tower *t = NULL;
    CHECK(pt_tower_create(&c, &t) == PT_OK && pt_tower_train(t, x, y, N, NULL, NULL) == PT_OK);
    int K = pt_tower_out_dim(t);
    CHECK(K == 48);
    CHECK(pt_tower_forward(t, x, N, PT_TOWER_CODE_SPARSE, NULL, z, NULL) == PT_OK);
    fx.t = t, fx.K = K;
}

/* memory: projected keys (48 -> 12), 50 slots, forgetting; 80 writes wrap
 * around, recalls erase some slots, and a few more writes reuse them; one
 * composed concept */
static void setup_memory(void)
{
    int K = fx.K;
    pt_memory_config mc = pt_memory_config_default(K);
    mc.dim = 12, mc.capacity = 50, mc.k = 3, mc.alpha = 0.5f;
    mc.seed = 18446744073709551557ULL; /* above 2^53: must survive the round trip exactly */
    pt_memory *m = NULL;
    CHECK(pt_memory_create(&mc, &m) == PT_OK);
    for (int i = 0; i < 80; i++) CHECK(pt_memory_write(m, z + i * 2 * K, y[i], NULL) == PT_OK);
    /* recall one query until forgetting has erased the slots unlike it */
    for (int it = 0; it < 50 && pt_memory_count(m) == 50; it++) CHECK(pt_memory_recall(m, z + 100 * 2 * K, 1, NULL, NULL) == PT_OK);
    size_t left = pt_memory_count(m);
    CHECK(left > 0 && left < 50); /* forgetting erased some */
    CHECK(pt_memory_write(m, z + 200 * 2 * K, y[200], NULL) == PT_OK);
    for (int i = 201; i < 230; i++) CHECK(pt_memory_write(m, z + i * 2 * K, y[i], NULL) == PT_OK);
    pt_compose_opts co = {1.0f, 3, 1, 0, NCLS, "0+1"};
    int nl = -1;
    CHECK(pt_memory_compose(m, 0, 1, &co, &nl, NULL, NULL) == PT_OK && nl >= NCLS);
    fx.m = m, fx.nl = nl, fx.seed = mc.seed;
}

/* After save and load the memory has the same slots, usage, lengths, keys
 * and concepts, answers recalls identically and takes the same slot on the
 * next write; load then save reproduces the file */
static void test_round_trip(void)
{
    pt_tower *t = fx.t;
    pt_memory *m = fx.m;
    int K = fx.K, nl = fx.nl;
    snprintf(fx.dir, sizeof fx.dir, "/tmp/pt_model_io_XXXXXX");
    CHECK(mkdtemp(fx.dir) != NULL);
    snprintf(fx.p1, sizeof fx.p1, "%s/a.safetensors", fx.dir);
    snprintf(fx.p2, sizeof fx.p2, "%s/b.safetensors", fx.dir);
    snprintf(fx.p3, sizeof fx.p3, "%s/c.safetensors", fx.dir);
    const char *p1 = fx.p1, *p2 = fx.p2;
    CHECK(save_tower_memory(t, m, p1) == PT_OK);
    CHECK(load_tower_memory(p1, &fx.t2, &fx.m2) == PT_OK && fx.t2 && fx.m2);
    pt_tower *t2 = fx.t2;
    pt_memory *m2 = fx.m2;
    if (!m2) return;
    CHECK(pt_memory_count(m2) == pt_memory_count(m));
    CHECK(pt_memory_get_config(m2)->seed == fx.seed);
    int pa = -1, pb = -1;
    pt_memory_parents(m2, nl, &pa, &pb);
    CHECK(pt_memory_find(m2, "0+1") == nl && pa == 0 && pb == 1); /* concepts survive the round trip */
    for (size_t s = 0; s < 50; s++) {
        CHECK(pt_memory_label(m2, s) == pt_memory_label(m, s) && pt_memory_usage(m2, s) == pt_memory_usage(m, s));
        CHECK(pt_memory_length(m2, s) == pt_memory_length(m, s) && (pt_memory_length(m, s) > 0) == (pt_memory_label(m, s) >= 0));
        CHECK(!memcmp(pt_memory_key(m2, s), pt_memory_key(m, s), 12 * 2 * sizeof(float)));
    }
    static int l1[40], l2[40];
    static float b1[40], b2[40];
    CHECK(pt_memory_scores(m, z + 150 * 2 * K, 40, l1, b1) == PT_OK && pt_memory_scores(m2, z + 150 * 2 * K, 40, l2, b2) == PT_OK);
    CHECK(!memcmp(l1, l2, sizeof l1) && !memcmp(b1, b2, sizeof b1));
    size_t s1 = 99, s2 = 98;
    CHECK(pt_memory_write(m, z + 250 * 2 * K, 1, &s1) == PT_OK && pt_memory_write(m2, z + 250 * 2 * K, 1, &s2) == PT_OK);
    CHECK(s1 == s2);
    CHECK(save_tower_memory(t, m, p1) == PT_OK && save_tower_memory(t2, m2, p2) == PT_OK);
    unsigned char *a = NULL, *b = NULL;
    long na = check_slurp(p1, &a), nb = check_slurp(p2, &b);
    CHECK(na > 0 && na == nb && !memcmp(a, b, (size_t)na)); /* load + save reproduces the file */
    free(a), free(b);
}

/* a tower-only load of the same file ignores the memory; a tower-only file has none */
static void test_tower_only(void)
{
    pt_tower *t = fx.t;
    const char *p1 = fx.p1, *p3 = fx.p3;
    pt_tower *t3 = NULL;
    CHECK(pt_tower_load(p1, &t3) == PT_OK && t3);
    pt_tower_destroy(t3);
    CHECK(pt_tower_save(t, p3) == PT_OK);
    pt_memory *none = (pt_memory *)1;
    CHECK(load_tower_memory(p3, &t3, &none) == PT_OK && none == NULL);
    pt_tower_destroy(t3);
}

/* the memory's code survives the round trip (older files without the key load as sparse);
 * an unknown kind of projection is refused */
static void test_code_round_trip(void)
{
    pt_tower *t = fx.t, *t3 = NULL;
    pt_memory *m = fx.m;
    int K = fx.K;
    const char *p2 = fx.p2, *p3 = fx.p3;
    pt_memory_config dc = pt_memory_config_default(K);
    dc.dim = 12, dc.capacity = 20, dc.code = PT_MEMORY_DENSE;
    pt_memory *md = NULL, *md2 = NULL;
    CHECK(pt_memory_create(&dc, &md) == PT_OK);
    static float proj[48 * 12 * 2]; /* a given projection (as a tower's frame would be) */
    for (int i = 0; i < 48 * 12 * 2; i++) proj[i] = (float)((i * 7) % 13) / 13.0f - 0.5f;
    CHECK(pt_memory_set_projection(md, proj) == PT_OK && pt_memory_frame(md));
    CHECK(pt_tower_forward(t, x, 20, PT_TOWER_CODE_DENSE, NULL, z, NULL) == PT_OK);
    for (int i = 0; i < 20; i++) CHECK(pt_memory_write(md, z + i * 2 * K, y[i], NULL) == PT_OK);
    CHECK(save_tower_memory(t, md, p3) == PT_OK && load_tower_memory(p3, &t3, &md2) == PT_OK && md2);
    if (md2) {
        int l1[20], l2[20];
        float b1[20], b2[20];
        CHECK(pt_memory_get_config(md2)->code == PT_MEMORY_DENSE && pt_memory_frame(md2));
        CHECK(pt_memory_scores(md, z, 20, l1, b1) == PT_OK && pt_memory_scores(md2, z, 20, l2, b2) == PT_OK);
        CHECK(!memcmp(l1, l2, sizeof l1) && !memcmp(b1, b2, sizeof b1));
    }
    pt_tower_destroy(t3), pt_memory_destroy(md), pt_memory_destroy(md2);
    CHECK(pt_memory_get_config(m)->code == PT_MEMORY_SPARSE && !pt_memory_frame(m));
    meta_set[0] = "memory_proj", meta_set[1] = "learned"; /* an unknown kind of projection */
    rewrite(p3, p2, "", NULL, 0);
    t3 = NULL, md2 = NULL;
    CHECK(load_tower_memory(p2, &t3, &md2) == PT_EFORMAT && !t3 && !md2 && strstr(pt_errmsg(), "memory_proj"));
    meta_set[0] = NULL;
}

/* corrupt memories are refused and nothing is returned: a bad label, a key
 * that is not a unit vector, a free entry that is not empty, a bad concept
 * name, a wrong shape, a bad length; files without lengths load with length 1 */
static void test_corrupt_memory(void)
{
    pt_memory *m = fx.m;
    const char *p1 = fx.p1, *p3 = fx.p3;
    static int32_t labels[50];
    static float keys[50 * 12 * 2];
    for (int s = 0; s < 50; s++) labels[s] = pt_memory_label(m, (size_t)s);
    memcpy(keys, pt_memory_key(m, 0), sizeof keys);
    int full = 0;
    while (labels[full] < 0) full++;
    pt_tower *bt = NULL;
    pt_memory *bm = NULL;
    labels[full] = -5;
    rewrite(p1, p3, "memory.labels", labels, 0);
    CHECK(load_tower_memory(p3, &bt, &bm) == PT_EFORMAT && !bt && !bm && strstr(pt_errmsg(), "memory slot"));
    labels[full] = pt_memory_label(m, (size_t)full);
    keys[full * 24] *= 2.0f; /* no longer a unit vector */
    rewrite(p1, p3, "memory.keys", keys, 0);
    CHECK(load_tower_memory(p3, &bt, &bm) == PT_EFORMAT && strstr(pt_errmsg(), "memory slot"));
    int32_t bad_free[1] = {full};
    rewrite(p1, p3, "memory.free", bad_free, 1);
    CHECK(load_tower_memory(p3, &bt, &bm) == PT_EFORMAT && strstr(pt_errmsg(), "memory.free"));
    static char bad_names[1][PT_MEMORY_NAME_LEN] = {"0 + 1"}; /* spaces are not allowed in names */
    rewrite(p1, p3, "memory.concept_names", bad_names, 0);
    CHECK(load_tower_memory(p3, &bt, &bm) == PT_EFORMAT && strstr(pt_errmsg(), "concept"));
    rewrite(p1, p3, "memory.usage", NULL, 49); /* shape no longer matches memory_size */
    CHECK(load_tower_memory(p3, &bt, &bm) == PT_EFORMAT && strstr(pt_errmsg(), "memory.usage"));
    static float lens[50];
    for (int s = 0; s < 50; s++) lens[s] = pt_memory_length(m, (size_t)s);
    lens[full] = -1.0f; /* a stored slot needs a positive length */
    rewrite(p1, p3, "memory.lengths", lens, 0);
    CHECK(load_tower_memory(p3, &bt, &bm) == PT_EFORMAT && !bm && strstr(pt_errmsg(), "length"));
    lens[full] = NAN;
    rewrite(p1, p3, "memory.lengths", lens, 0);
    CHECK(load_tower_memory(p3, &bt, &bm) == PT_EFORMAT && strstr(pt_errmsg(), "length"));
    /* files written before lengths were kept: every stored slot gets length 1 */
    rewrite(p1, p3, "-memory.lengths", NULL, 0);
    CHECK(load_tower_memory(p3, &bt, &bm) == PT_OK && bt && bm);
    for (size_t s = 0; bm && s < 50; s++) CHECK(pt_memory_length(bm, s) == (pt_memory_label(bm, s) >= 0 ? 1.0f : 0.0f));
    pt_tower_destroy(bt), pt_memory_destroy(bm);
}

/* a free list longer than the memory (an empty slot, listed more times than
 * there are slots) is refused, not copied past its end (a heap overflow seen
 * while fuzzing the loaders, on a crafted input) */
static void test_long_free_list(void)
{
    pt_memory *m = fx.m;
    const char *p1 = fx.p1, *p2 = fx.p2, *p3 = fx.p3;
    static int32_t labels[50], many[51];
    static float keys[50 * 12 * 2], lens[50];
    for (int s = 0; s < 50; s++) labels[s] = pt_memory_label(m, (size_t)s), lens[s] = pt_memory_length(m, (size_t)s);
    memcpy(keys, pt_memory_key(m, 0), sizeof keys);
    labels[7] = -1, lens[7] = 0.0f; /* slot 7 made empty */
    memset(keys + 7 * 24, 0, 24 * sizeof *keys);
    for (int i = 0; i < 51; i++) many[i] = 7;
    rewrite(p1, p2, "memory.labels", labels, 0);
    rewrite(p2, p3, "memory.keys", keys, 0);
    rewrite(p3, p2, "memory.lengths", lens, 0);
    rewrite(p2, p3, "memory.free", many, 50); /* 50 entries: as many as slots, accepted */
    pt_tower *bt = NULL;
    pt_memory *bm = NULL;
    CHECK(load_tower_memory(p3, &bt, &bm) == PT_OK && bm && pt_memory_label(bm, 7) == -1);
    pt_tower_destroy(bt), pt_memory_destroy(bm);
    rewrite(p2, p3, "memory.free", many, 51);
    CHECK(load_tower_memory(p3, &bt, &bm) == PT_EFORMAT && !bt && !bm && strstr(pt_errmsg(), "memory.free has 51 entries"));
}

/* a memory of another model's vectors (length K + 1) does not fit this tower: refused on load */
static void test_wrong_width(void)
{
    pt_tower *t = fx.t, *bt = NULL;
    pt_memory *bm = NULL;
    int K = fx.K;
    const char *p3 = fx.p3;
    pt_memory_config wc = pt_memory_config_default(K + 1);
    pt_memory *wm = NULL;
    CHECK(pt_memory_create(&wc, &wm) == PT_OK && save_tower_memory(t, wm, p3) == PT_OK);
    CHECK(load_tower_memory(p3, &bt, &bm) == PT_EFORMAT && !bt && !bm && strstr(pt_errmsg(), "memory_dim"));
    pt_memory_destroy(wm);
}

/* a tensor that belongs to no part is refused */
static void test_stray_tensor(void)
{
    pt_tower *bt = NULL;
    pt_memory *bm = NULL;
    const char *p1 = fx.p1, *p2 = fx.p2, *p3 = fx.p3;
    rewrite(p1, p3, "", NULL, 0);
    pt_st_file *f = NULL;
    CHECK(pt_st_read(p3, &f) == PT_OK);
    if (!f) return;
    pt_st_tensor ts[33];
    size_t nt = pt_st_count(f);
    for (size_t i = 0; i < nt && i < 32; i++) ts[i] = *pt_st_at(f, i);
    float extra[2] = {1.0f, 2.0f};
    ts[nt] = ts[0];
    snprintf(ts[nt].name, sizeof ts[nt].name, "stray");
    ts[nt].dtype = PT_ST_F32, ts[nt].ndim = 1, ts[nt].shape[0] = 2, ts[nt].data = extra;
    const char *meta[6] = {"format", "phasetower", "version", "1", "model", "tower"};
    const char *mk[] = {"n_in", "n_classes", "eta", "eta_phase", "eta_skip", "eta_code", "target_mag", "ridge",
                        "rule", "readout", "init", "select", "batch", "seed", "initialized", "samples_seen",
                        "layers", "memory_size", "memory_dim", "memory_k", "memory_alpha", "memory_vote",
                        "memory_seed", "memory_next", "memory_code", "memory_proj"};
    enum { NK = sizeof mk / sizeof mk[0] };
    const char *all[2 * (NK + 3)];
    memcpy(all, meta, sizeof meta);
    for (int i = 0; i < NK; i++) all[6 + 2 * i] = mk[i], all[7 + 2 * i] = pt_st_meta(f, mk[i]);
    CHECK(pt_st_write(p2, ts, nt + 1, all, NK + 3) == PT_OK);
    pt_st_close(f);
    CHECK(load_tower_memory(p2, &bt, &bm) == PT_EFORMAT && !bt && !bm && strstr(pt_errmsg(), "'stray' belongs to no part"));
}

int main(void)
{
    setup_tower();
    setup_memory();
    test_round_trip();
    test_tower_only();
    test_code_round_trip();
    test_corrupt_memory();
    test_long_free_list();
    test_wrong_width();
    test_stray_tensor();
    pt_memory_destroy(fx.m);
    pt_memory_destroy(fx.m2);
    pt_tower_destroy(fx.t);
    pt_tower_destroy(fx.t2);
    remove(fx.p1), remove(fx.p2), remove(fx.p3), rmdir(fx.dir);
    TEST_END();
}
