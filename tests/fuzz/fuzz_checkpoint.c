/* libFuzzer target for everything above the safetensors reader: the
 * checkpoint envelope (src/io/checkpoint.c), the tower's, the memory's, the
 * phasor network's, the text atlas's and the echo-state network's parts
 * (tower_io.c, memory_io.c, phasor_io.c, atlas_io.c, esn_io.c) and the models
 * they build. Each input is written
 * to a temporary file, peeked, opened as a tower with its memory, as a phasor
 * network with its memory, as an atlas and as an echo-state network; a model that loads is used
 * lightly (predict, memory scores, frame, parameter count, 8-bit export,
 * decoding 16 symbols) when it is small. Any status is fine; a crash, a sanitizer
 * report, a leak, a broken invariant (abort) or a hang is a bug. Built by
 * CMake with -DPT_FUZZ=ON and CC=clang (clang 14 with libFuzzer; on Debian
 * apt-get install clang libclang-rt-14-dev), run by `make fuzz` (and for
 * 25 s by `make test`) with the seeds below and checkpoint.dict; by hand:
 *   CC=clang cmake -S . -B build-fuzz -DPT_FUZZ=ON && cmake --build build-fuzz --target fuzz
 *   tests/fuzz/run.sh build-fuzz 600 checkpoint
 * A custom mutator keeps the data offsets of mutated headers consistent, so
 * that mutants get past the safetensors reader (see repair).
 * tests/fuzz/seeds-ckpt holds small valid checkpoints (2-13 kB) written by the
 * CLI on Fashion-MNIST downsampled to 7x7 (n_in 49): towers 16:0.2 plain, with
 * --subspace 8 (also with --subspace-fit eigen, and one rewritten with block
 * 0's directions in pixel space, as files before coordinates were stored),
 * with two blocks, liquid, with --route-rank 4, with a memory (sparse; dense
 * with frame keys and two concepts from compose), and phasor networks (unit;
 * modReLU of depth 2; one given a memory with erased slots through the API,
 * as the CLI gives phasor networks none), and text atlases (atlas train
 * --dim 4 --levels 4 --table-log2 6 --octaves 2 --base-res 4 --epochs 2 on
 * 60 symbols of text: one book; a library of two with --key-size 3), and
 * echo-state networks (reservoir train, 6 tanh units and 3 phasor units, on
 * 300 steps of a sine). The
 * loaders check every tensor
 * their metadata implies before allocating, so no header can ask for more
 * than its file holds; an input that still made a loader allocate over 1 GB
 * would stop the run as out-of-memory, leaving
 * build-fuzz/artifacts/fuzz_checkpoint-oom-<sha1>. A crash leaves fuzz_checkpoint-crash-<sha1> there: once
 * fixed, add it as a case to the test of the loader at fault. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "phasetower/pt.h"
#include "io/ckpt.h"
#include "fuzz_file.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_file_init("fuzz_checkpoint");
    return 0;
}

/* Use only models this cheap (multiply-adds of one sample, bytes of a memory):
 * the loaders' limits allow models that take seconds per call. */
#define WORK_MAX 1000000.0
#define SLOTS_MAX 100000

/* A failed load returns nothing and says why in a status a file can cause. */
static void check_load(pt_status st, const void *out)
{
    CHECK((st == PT_OK) == (out != NULL));
    CHECK(st == PT_OK || st == PT_EFORMAT || st == PT_ENOMEM);
}

static double tower_work(const pt_tower *t)
{
    const pt_tower_config *c = pt_tower_get_config(t);
    double w = (double)c->n_in * (double)c->subspace + (double)c->n_in * (double)c->route;
    for (int b = 0; b < c->n_blocks; b++) {
        pt_tower_block_view v;
        CHECK(pt_tower_block(t, b, &v) == PT_OK);
        w += (double)v.K * (v.in_dim + (double)c->n_classes) + (double)c->n_in * v.K;
    }
    return w;
}

static int memory_small(const pt_memory *m)
{
    const pt_memory_config *c = pt_memory_get_config(m);
    return c->capacity <= SLOTS_MAX && (double)c->capacity * c->dim + (double)c->in_dim * c->dim <= WORK_MAX;
}

/* 2 complex vectors of n values: all ones, then alternating signs */
static float *vectors(size_t n)
{
    float *z = calloc(4 * n, sizeof *z);
    CHECK(z != NULL);
    for (size_t i = 0; i < 2 * n; i++) z[i] = 1.0f, z[2 * n + i] = i % 4 < 2 ? 1.0f : -1.0f;
    return z;
}

static void use_memory(const pt_memory *m)
{
    const pt_memory_config *c = pt_memory_get_config(m);
    float *z = vectors((size_t)c->in_dim), best[2];
    int label[2];
    pt_status st = pt_memory_scores(m, z, 2, label, best);
    CHECK(st == PT_OK || st == PT_ENOMEM);
    free(z);
}

/* 2 inputs of n values: zeros, then ones */
static float *inputs(size_t n)
{
    float *x = calloc(2 * n, sizeof *x);
    CHECK(x != NULL);
    for (size_t i = 0; i < n; i++) x[n + i] = 1.0f;
    return x;
}

static void use_tower(const pt_tower *t, const pt_memory *m)
{
    const pt_tower_config *c = pt_tower_get_config(t);
    (void)pt_tower_param_count(t);
    int fd = pt_tower_frame_dim(t);
    CHECK(fd >= 0);
    if (tower_work(t) > WORK_MAX) return;
    float *x = inputs((size_t)c->n_in), *logits = calloc(2 * (size_t)c->n_classes, sizeof *logits);
    uint8_t pred[2];
    CHECK(logits != NULL);
    pt_status st = pt_tower_predict(t, x, 2, pred, logits);
    for (int i = 0; st == PT_OK && i < 2; i++) CHECK(pred[i] < c->n_classes);
    free(x), free(logits);
    pt_qtower *q = NULL;
    if (pt_qtower_create(t, 8, &q) == PT_OK) {
        CHECK(q != NULL && pt_qtower_const_bytes(q) > 0);
        pt_qtower_destroy(q);
    }
    if (m && memory_small(m)) use_memory(m);
}

static void use_phasor(const pt_phasor *p, const pt_memory *m)
{
    const pt_phasor_config *c = pt_phasor_get_config(p);
    double work = (double)c->hidden * ((double)c->n_in + (double)c->n_out + (double)(c->depth - 1) * c->hidden);
    (void)pt_phasor_param_count(p);
    if (work > WORK_MAX) return;
    float *x = inputs((size_t)c->n_in);
    uint8_t pred[2];
    pt_status st = pt_phasor_predict(p, x, 2, pred, NULL);
    CHECK(st == PT_OK || st == PT_ENOMEM);
    for (int i = 0; st == PT_OK && i < 2; i++) CHECK(pred[i] < c->n_out);
    free(x);
    if (m && memory_small(m)) use_memory(m);
}

static void use_atlas(const pt_atlas *a)
{
    const pt_atlas_config *c = pt_atlas_get_config(a);
    size_t C = 0, n = pt_atlas_length(a, 0);
    pt_atlas_alphabet(a, &C);
    (void)pt_atlas_param_count(a), (void)pt_atlas_fingerprint(a);
    double work = (double)c->dim * ((double)c->dim * c->iters + 1.0 + 2.0 * c->octaves + (double)c->levels * c->features +
                                    2.0 * c->key_size) + 3.0 * c->dim * (double)C;
    if (work > WORK_MAX || c->dim > 64) return;
    if (n > 16) n = 16; /* the first 16 coordinates of a book of n symbols */
    uint32_t out[16];
    pt_status st = pt_atlas_decode(a, pt_atlas_key(a, 0), n, out);
    CHECK(st == PT_OK || st == PT_ENOMEM || st == PT_ENOCONV); /* ENOCONV: a kernel V of zeros */
    for (size_t i = 0; st == PT_OK && i < n; i++) CHECK(out[i] <= 0x10FFFF);
}

/* The safetensors reader refuses a file whose data offsets do not tile its
 * data exactly, so a mutated shape or a renamed, removed or added tensor would
 * rarely get past it to the loaders. After three mutations in four, a mutated
 * input whose header is still JSON gets its data_offsets recomputed from its
 * dtypes and shapes, in header order, and its data cut or extended (by
 * repeating it) to fit, so that most mutants reach the parts' checks. */
static size_t repair(uint8_t *data, size_t size, size_t max_size)
{
    if (size < 8) return size;
    uint64_t hlen = 0;
    for (int k = 0; k < 8; k++) hlen |= (uint64_t)data[k] << (8 * k);
    if (hlen > size - 8) return size;
    json_t *root = json_loadb((const char *)data + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return size;
    }
    uint64_t off = 0;
    const char *name;
    json_t *e;
    json_object_foreach(root, name, e) {
        json_t *dt = json_object_get(e, "dtype"), *sh = json_object_get(e, "shape");
        if (!strcmp(name, "__metadata__") || !json_is_string(dt) || !json_is_array(sh)) continue;
        uint64_t n = strcmp(json_string_value(dt), "U8") ? 4 : 1;
        size_t i;
        json_t *v;
        json_array_foreach(sh, i, v) {
            json_int_t d = json_is_integer(v) ? json_integer_value(v) : -1;
            n = d < 0 || (uint64_t)d > max_size || n > max_size ? max_size + 1 : n * (uint64_t)d;
        }
        if (n > max_size) n = 0; /* left as it is: the reader refuses it */
        json_object_set_new(e, "data_offsets", json_pack("[II]", (json_int_t)off, (json_int_t)(off + n)));
        off += n;
    }
    char *h = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    size_t hn = h ? strlen(h) : 0, pad = (8 - hn % 8) % 8, old = size - 8 - (size_t)hlen;
    if (!h || 8 + hn + pad + off > max_size) {
        free(h);
        return size;
    }
    uint8_t *out = malloc(8 + hn + pad + off + 1);
    CHECK(out != NULL);
    for (int k = 0; k < 8; k++) out[k] = (uint8_t)((hn + pad) >> (8 * k));
    memcpy(out + 8, h, hn);
    memset(out + 8 + hn, ' ', pad);
    for (uint64_t i = 0; i < off; i++) out[8 + hn + pad + i] = old ? data[8 + hlen + i % old] : 0;
    size = 8 + hn + pad + (size_t)off;
    memcpy(data, out, size);
    free(out), free(h);
    return size;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    size = LLVMFuzzerMutate(data, size, max_size);
    return seed % 4 ? repair(data, size, max_size) : size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_file_write(data, size);

    char kind[32];
    pt_status st = pt_ckpt_peek(path, kind, sizeof kind);
    CHECK(st == PT_OK || st == PT_EFORMAT || st == PT_ENOMEM);

    pt_ckpt *c = NULL;
    st = pt_ckpt_open(path, &c);
    check_load(st, c);
    if (!c) return 0;
    pt_tower *t = NULL;
    pt_memory *m = NULL;
    check_load(st = pt_tower_from_ckpt(c, &t), t);
    if (t) {
        CHECK(pt_tower_out_dim(t) >= 1);
        st = pt_memory_from_ckpt(c, pt_tower_out_dim(t), &m);
        CHECK(st == PT_OK || st == PT_EFORMAT || st == PT_ENOMEM);
        CHECK(st == PT_OK || m == NULL);
        (void)pt_ckpt_finish(c);
        use_tower(t, m);
    }
    pt_memory_destroy(m), pt_tower_destroy(t);
    pt_ckpt_close(c);

    c = NULL, m = NULL;
    CHECK(pt_ckpt_open(path, &c) == PT_OK && c);
    pt_phasor *p = NULL;
    check_load(pt_phasor_from_ckpt(c, &p), p);
    if (p) {
        st = pt_memory_from_ckpt(c, pt_phasor_get_config(p)->hidden, &m);
        CHECK(st == PT_OK || st == PT_EFORMAT || st == PT_ENOMEM);
        CHECK(st == PT_OK || m == NULL);
        (void)pt_ckpt_finish(c);
        use_phasor(p, m);
    }
    pt_memory_destroy(m), pt_phasor_destroy(p);
    pt_ckpt_close(c);

    /* a field model: loaded, then one image solved for three steps. Its image
     * size is metadata no tensor backs (the norm costs height x width small
     * eigenproblems), so sizes over 64 x 64 are left to the unit tests. */
    c = NULL;
    CHECK(pt_ckpt_open(path, &c) == PT_OK && c);
    const char *h = pt_ckpt_meta(c, "height"), *w = pt_ckpt_meta(c, "width");
    if (h && w && atof(h) * atof(w) <= 4096.0) {
        pt_field *f = NULL;
        check_load(pt_field_from_ckpt(c, &f), f);
        if (f) {
            (void)pt_ckpt_finish(c);
            pt_field_config r = *pt_field_get_config(f);
            r.solver = PT_FIELD_NAIVE, r.max_iter = 3, r.fixed_steps = 1;
            CHECK(pt_field_set_run(f, &r) == PT_OK);
            size_t hw = (size_t)r.height * (size_t)r.width;
            float *x = calloc(hw, sizeof *x);
            uint8_t pred[1];
            if (x) {
                for (size_t i = 0; i < hw; i++) x[i] = (float)(i % 7) / 7.0f;
                st = pt_field_predict(f, x, 1, pred, NULL, NULL, NULL, NULL);
                CHECK(st == PT_OK || st == PT_ENOCONV || st == PT_ENOMEM);
                CHECK(st != PT_OK || pred[0] < r.n_classes);
            }
            free(x);
        }
        pt_field_destroy(f);
    }
    pt_ckpt_close(c);

    c = NULL;
    CHECK(pt_ckpt_open(path, &c) == PT_OK && c);
    pt_atlas *a = NULL;
    check_load(pt_atlas_from_ckpt(c, &a), a);
    if (a) {
        (void)pt_ckpt_finish(c);
        use_atlas(a);
    }
    pt_atlas_destroy(a);
    pt_ckpt_close(c);

    /* an echo-state network (tanh or phasor units): loaded, then driven for
     * four steps and, when its outputs can feed its inputs, four of closed loop */
    c = NULL;
    CHECK(pt_ckpt_open(path, &c) == PT_OK && c);
    pt_esn *e = NULL;
    check_load(pt_esn_from_ckpt(c, &e), e);
    if (e) {
        (void)pt_ckpt_finish(c);
        const pt_esn_config *ec = pt_esn_get_config(e);
        size_t F = pt_esn_features(e), D = (size_t)ec->inputs, M = (size_t)ec->outputs;
        CHECK(F == (size_t)ec->units * (ec->unit == PT_ESN_PHASOR ? 2u : 1u));
        if (2.0 * (double)pt_esn_nnz(e) + (double)F * (double)(D + M) <= WORK_MAX) {
            double *u = calloc(4 * (D + M), sizeof *u);
            CHECK(u != NULL);
            for (size_t i = 0; i < 4 * D; i++) u[i] = (double)(i % 3) - 1.0;
            st = pt_esn_predict(e, u, 4, u + 4 * D);
            CHECK(st == PT_OK);
            if (D == M) {
                st = pt_esn_generate(e, u, 4, u + 4 * D, NULL);
                CHECK(st == PT_OK || st == PT_ENOCONV);
            }
            free(u);
        }
    }
    pt_esn_destroy(e);
    pt_ckpt_close(c);
    return 0;
}
