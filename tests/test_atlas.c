/* The coordinate text atlas (docs/atlas.md):
 *  - UTF-8: round trip of 1- to 4-byte symbols; every kind of invalid input
 *    refused with its byte offset;
 *  - the layout: resolutions from base_res to max_res, dense and hashed levels;
 *  - every gradient (V through the spectral normalisation, A, Bk, G, R, the keys,
 *    the hash tables; the key alone with the master frozen) against central
 *    differences, with a guard that no part's gradient is zero; |W|_2 = rho;
 *  - it learns a generated text (sparse and dense table updates), and a new
 *    book's key moves the loss down with the master unchanged;
 *  - save/load: the same logits bit for bit, the same fingerprint; key files;
 *  - same seed: bit-identical models; another seed: a different one;
 *  - bad input: configurations, books, symbols, keys, corrupt, truncated and
 *    foreign files (never a half-loaded model). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "internal.h"
#include "linalg/linalg.h"
#include "phasetower/pt.h"

static char dir[] = "/tmp/test_atlas.XXXXXX";

static void path_in(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

/* a generated text of n symbols from a small alphabet with some structure:
 * words of 1-6 letters of "abcdefgh", separated by spaces, with a '.' now and then */
static uint32_t *gen_text(size_t n, uint64_t seed, const char *letters)
{
    uint32_t *t = calloc(n, sizeof *t);
    pt_rng r;
    pt_rng_seed(&r, seed);
    size_t nl = strlen(letters);
    for (size_t i = 0; i < n;) {
        size_t w = 1 + (size_t)(pt_rng_u64(&r) % 6);
        for (size_t k = 0; k < w && i < n; k++) t[i++] = (uint32_t)letters[pt_rng_u64(&r) % nl];
        if (i < n) t[i++] = pt_rng_u64(&r) % 8 == 0 ? '.' : ' ';
    }
    return t;
}

static void test_utf8(void)
{
    /* "aé€😀" : 1, 2, 3 and 4 bytes */
    const uint8_t s[] = {'a', 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80};
    uint32_t cp[16];
    size_t n = 0;
    CHECK(pt_atlas_utf8_decode(s, sizeof s, cp, &n) == PT_OK && n == 4);
    CHECK(cp[0] == 'a' && cp[1] == 0xE9 && cp[2] == 0x20AC && cp[3] == 0x1F600);
    uint8_t back[16];
    CHECK(pt_atlas_utf8_encode(cp, n, back) == sizeof s && !memcmp(back, s, sizeof s));
    CHECK(pt_atlas_utf8_decode(s, 0, cp, &n) == PT_OK && n == 0);
    struct { const char *what; uint8_t b[5]; size_t n; const char *msg; } bad[] = {
        {"stray continuation", {'a', 0x80}, 2, "byte 1: a continuation"},
        {"truncated", {'a', 'b', 0xE2, 0x82}, 4, "byte 2: a 3-byte sequence cut short"},
        {"not a continuation", {0xC3, 'a'}, 2, "byte 0: byte 2 of a 2-byte sequence"},
        {"overlong 2", {0xC0, 0x80}, 2, "never occurs"},
        {"overlong 3", {0xE0, 0x80, 0x80}, 3, "overlong"},
        {"surrogate", {0xED, 0xA0, 0x80}, 3, "surrogate"},
        {"beyond", {0xF4, 0x90, 0x80, 0x80}, 4, "beyond U+10FFFF"},
        {"F5", {0xF5, 0x80, 0x80, 0x80}, 4, "never occurs"},
        {"FF", {'x', 0xFF}, 2, "byte 1: 0xFF"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pt_status st = pt_atlas_utf8_decode(bad[i].b, bad[i].n, cp, &n);
        CHECK(st == PT_EINVAL);
        if (!strstr(pt_errmsg(), bad[i].msg)) {
            fprintf(stderr, "utf8 %s: message '%s' lacks '%s'\n", bad[i].what, pt_errmsg(), bad[i].msg);
            CHECK(0);
        }
    }
}

/* a tiny library: 2 books of 23 and 17 symbols, 3 levels (the finest hashed) */
static pt_atlas_config tiny_config(void)
{
    pt_atlas_config c = pt_atlas_config_default();
    c.dim = 3, c.iters = 3, c.octaves = 2, c.levels = 3, c.table_log2 = 3, c.features = 2, c.base_res = 2;
    c.key_size = 3, c.batch = 5, c.seed = 7;
    return c;
}

static void test_layout(void)
{
    uint32_t *a = gen_text(23, 1, "abc"), *b = gen_text(17, 2, "abd");
    pt_atlas_text books[2] = {{a, 23}, {b, 17}};
    pt_atlas_config c = tiny_config();
    pt_atlas *m = NULL;
    CHECK(pt_atlas_create(&c, books, 2, &m) == PT_OK);
    const pt_atlas_config *g = pt_atlas_get_config(m);
    CHECK(g->max_res == 23); /* the longest book */
    CHECK(pt_atlas_level_res(m, 0) == 2 && pt_atlas_level_res(m, 2) == 23);
    CHECK(pt_atlas_level_res(m, 1) == 7); /* 2 (23/2)^(1/2) = 6.78 */
    CHECK(pt_atlas_level_entries(m, 0) == 3 && pt_atlas_level_entries(m, 1) == 8 && pt_atlas_level_entries(m, 2) == 8);
    size_t na = 0;
    const uint32_t *al = pt_atlas_alphabet(m, &na);
    CHECK(na == 6 && al[0] == ' ' && al[1] == '.' && al[2] == 'a' && al[5] == 'd');
    CHECK(pt_atlas_books(m) == 2 && pt_atlas_length(m, 1) == 17 && pt_atlas_length(m, 2) == 0);
    size_t off, len, P = 1 + 4 + 6;
    pt_atlas_part_range(m, PT_ATLAS_A, &off, &len);
    CHECK(off == 18 && len == 2 * P * 3);
    pt_atlas_part_range(m, PT_ATLAS_TABLES, &off, &len);
    CHECK(len == (3 + 8 + 8) * 2 && off + len == pt_atlas_param_count(m));
    pt_atlas_destroy(m);
    free(a), free(b);
}

/* central differences of the loss over the parameter vector, part by part */
static void test_gradients(void)
{
    uint32_t *a = gen_text(23, 1, "abc"), *b = gen_text(17, 2, "abd");
    pt_atlas_text books[2] = {{a, 23}, {b, 17}};
    pt_atlas_config c = tiny_config();
    pt_atlas *m = NULL;
    CHECK(pt_atlas_create(&c, books, 2, &m) == PT_OK);
    size_t np = pt_atlas_param_count(m);
    float *th = pt_atlas_params(m), *g = calloc(np, sizeof *g), *g2 = calloc(np, sizeof *g2);
    /* tables of a trained size, so that the hash features matter */
    size_t toff, tlen;
    pt_atlas_part_range(m, PT_ATLAS_TABLES, &toff, &tlen);
    pt_rng r;
    pt_rng_seed(&r, 3);
    for (size_t k = toff; k < toff + tlen; k++) th[k] = 0.5f * pt_rng_normal(&r);
    size_t goff, glen; /* and a gate that is not open, so that every path of the key counts */
    pt_atlas_part_range(m, PT_ATLAS_G, &goff, &glen);
    for (size_t k = goff; k < goff + glen; k++) th[k] = 0.3f * pt_rng_normal(&r);
    double loss = 0.0;
    CHECK(pt_atlas_grad(m, books, 2, &loss, g) == PT_OK);
    static const char *names[PT_ATLAS_PARTS] = {"V", "A", "Bk", "G", "R", "keys", "tables"};
    for (int p = 0; p < PT_ATLAS_PARTS; p++) {
        size_t off, len;
        pt_atlas_part_range(m, (pt_atlas_part)p, &off, &len);
        double num2 = 0.0, err2 = 0.0, worst = 0.0;
        for (size_t k = off; k < off + len; k++) {
            float keep = th[k], h = 1e-2f;
            double lp, lm;
            th[k] = keep + h;
            CHECK(pt_atlas_grad(m, books, 2, &lp, g2) == PT_OK);
            th[k] = keep - h;
            CHECK(pt_atlas_grad(m, books, 2, &lm, g2) == PT_OK);
            th[k] = keep;
            double num = (lp - lm) / (2.0 * (double)h), e = fabs(num - (double)g[k]);
            num2 += num * num, err2 += e * e;
            if (e > worst) worst = e;
        }
        printf("atlas gradient of %-6s (%3zu floats): |num| = %.3e, |num - analytic| / |num| = %.2e, worst %.2e\n", names[p],
               len, sqrt(num2), sqrt(err2 / num2), worst);
        CHECK(sqrt(num2) > 1e-3); /* not trivially zero */
        CHECK(sqrt(err2 / num2) < 5e-3 && worst < 2e-3);
    }
    /* the key alone, master frozen: the same numbers as the keys part for book 1 */
    size_t koff, klen;
    pt_atlas_part_range(m, PT_ATLAS_KEYS, &koff, &klen);
    float key[3], gk[3], gk2[3];
    memcpy(key, th + koff + 3, sizeof key);
    double kl = 0.0;
    CHECK(pt_atlas_key_grad(m, key, &books[1], &kl, gk) == PT_OK);
    for (int j = 0; j < 3; j++) {
        float keep = key[j], h = 1e-2f;
        double lp, lm;
        key[j] = keep + h;
        CHECK(pt_atlas_key_grad(m, key, &books[1], &lp, gk2) == PT_OK);
        key[j] = keep - h;
        CHECK(pt_atlas_key_grad(m, key, &books[1], &lm, gk2) == PT_OK);
        key[j] = keep;
        double num = (lp - lm) / (2.0 * (double)h);
        CHECK_CLOSE(gk[j], num, 5e-3, 2e-4);
        /* the full gradient is of the mean over both books: 17 of 40 positions are book 1's */
        CHECK_CLOSE((double)g[koff + 3 + (size_t)j] * 40.0 / 17.0, gk[j], 1e-4, 1e-6);
    }
    printf("atlas key gradient: %.5f %.5f %.5f (loss %.4f)\n", (double)gk[0], (double)gk[1], (double)gk[2], kl);
    /* W is rho V / |V|_2: its largest singular value is rho */
    float W[18];
    double sg = 0.0;
    CHECK(pt_atlas_kernel(m, W) == PT_OK);
    CHECK(pt_csvd_top_ref(&sg, NULL, NULL, W, 3, 3) == 0);
    CHECK_CLOSE(sg, 0.9, 1e-5, 0);
    pt_atlas_destroy(m);
    free(g), free(g2), free(a), free(b);
}

/* train a single-book atlas on generated text for a few epochs */
static pt_atlas *train_one(const pt_atlas_text *t, int sparse, uint64_t seed, int epochs, double *acc)
{
    pt_atlas_config c = pt_atlas_config_default();
    c.dim = 8, c.levels = 8, c.table_log2 = 10, c.octaves = 6, c.batch = 64, c.sparse = sparse, c.seed = seed;
    pt_atlas *m = NULL;
    CHECK(pt_atlas_create(&c, t, 1, &m) == PT_OK);
    for (int e = 0; m && e < epochs; e++) CHECK(pt_atlas_train(m, t, 1, NULL, NULL) == PT_OK);
    if (m) CHECK(pt_atlas_score(m, NULL, t, acc, NULL) == PT_OK);
    return m;
}

static void test_learns_and_io(void)
{
    enum { N = 600 };
    uint32_t *txt = gen_text(N, 11, "abcdefgh");
    pt_atlas_text t = {txt, N};
    double acc_s = 0.0, acc_d = 0.0, bpc = 0.0;
    pt_atlas *m = train_one(&t, 1, 5, 60, &acc_s), *md = train_one(&t, 0, 5, 60, &acc_d);
    CHECK(pt_atlas_score(m, NULL, &t, NULL, &bpc) == PT_OK);
    printf("atlas on %d generated symbols, 60 epochs: accuracy %.3f (sparse tables, %.3f bits/symbol, %.3f of the "
           "entries updated per step), %.3f (dense)\n",
           N, acc_s, bpc, pt_atlas_updated_fraction(m), acc_d);
    CHECK(acc_s > 0.9 && acc_d > 0.9);
    CHECK(pt_atlas_updated_fraction(m) < 0.5 && pt_atlas_updated_fraction(md) == 1.0);
    /* decode gives the argmax, which the accuracy counts */
    uint32_t *dec = calloc(N, sizeof *dec);
    CHECK(pt_atlas_decode(m, NULL, N, dec) == PT_OK);
    size_t ok = 0;
    for (size_t i = 0; i < N; i++) ok += dec[i] == txt[i];
    CHECK_CLOSE((double)ok / N, acc_s, 0, 1e-12);
    /* save, load: the same logits bit for bit, the same fingerprint */
    char p1[256], p2[256];
    path_in(p1, sizeof p1, "a.safetensors");
    path_in(p2, sizeof p2, "b.safetensors");
    CHECK(pt_atlas_save(m, p1) == PT_OK);
    pt_atlas *l = NULL;
    CHECK(pt_atlas_load(p1, &l) == PT_OK && l);
    size_t C = 0;
    pt_atlas_alphabet(m, &C);
    float *lg1 = calloc(N * C, sizeof *lg1), *lg2 = calloc(N * C, sizeof *lg2);
    CHECK(pt_atlas_logits(m, NULL, N, lg1) == PT_OK && pt_atlas_logits(l, NULL, N, lg2) == PT_OK);
    CHECK(!memcmp(lg1, lg2, N * C * sizeof *lg1));
    CHECK(pt_atlas_fingerprint(m) == pt_atlas_fingerprint(l));
    CHECK(pt_atlas_save(l, p2) == PT_OK);
    unsigned char *b1 = NULL, *b2 = NULL;
    long n1 = check_slurp(p1, &b1), n2 = check_slurp(p2, &b2);
    CHECK(n1 > 0 && n1 == n2 && !memcmp(b1, b2, (size_t)n1));
    /* determinism: the same seed gives the same bits, another seed another model */
    double acc2 = 0.0;
    pt_atlas *m2 = train_one(&t, 1, 5, 60, &acc2), *m3 = train_one(&t, 1, 6, 2, &acc2);
    CHECK(pt_atlas_param_count(m2) == pt_atlas_param_count(m));
    CHECK(!memcmp(pt_atlas_params(m2), pt_atlas_params(m), pt_atlas_param_count(m) * sizeof(float)));
    CHECK(memcmp(pt_atlas_params(m3), pt_atlas_params(m), pt_atlas_param_count(m) * sizeof(float)) != 0);
    /* the dense and the sparse update differ (dense moves entries by momentum) */
    CHECK(memcmp(pt_atlas_params(md), pt_atlas_params(m), pt_atlas_param_count(m) * sizeof(float)) != 0);

    /* corrupt files: truncated, a shape that no longer matches, another kind */
    char p3[256];
    path_in(p3, sizeof p3, "bad.safetensors");
    FILE *f = fopen(p3, "wb");
    fwrite(b1, 1, (size_t)n1 / 2, f);
    fclose(f);
    pt_atlas *bad = (pt_atlas *)1;
    CHECK(pt_atlas_load(p3, &bad) == PT_EFORMAT && bad == NULL);
    char *hit = NULL;
    for (long i = 0; i + 10 < n1 && !hit; i++)
        if (!memcmp(b1 + i, "\"dim\":\"8\"", 9)) hit = (char *)b1 + i;
    CHECK(hit != NULL);
    if (hit) {
        hit[7] = '9'; /* dim 9: kernel.v (8, 8, 2) no longer fits */
        f = fopen(p3, "wb");
        fwrite(b1, 1, (size_t)n1, f);
        fclose(f);
        CHECK(pt_atlas_load(p3, &bad) == PT_EFORMAT && bad == NULL && strstr(pt_errmsg(), "kernel.v"));
        hit[7] = '8';
    }
    pt_phasor_config pc = pt_phasor_config_default();
    pc.n_in = 4, pc.hidden = 3, pc.n_out = 2;
    pt_phasor *ph = NULL;
    CHECK(pt_phasor_create(&pc, &ph) == PT_OK && pt_phasor_save(ph, p3) == PT_OK);
    CHECK(pt_atlas_load(p3, &bad) == PT_EFORMAT && bad == NULL && strstr(pt_errmsg(), "not an atlas"));
    pt_phasor_destroy(ph);
    CHECK(pt_atlas_load("/nonexistent/x.safetensors", &bad) == PT_EIO && bad == NULL);
    /* an unwritable destination: PT_EIO, nothing written */
    CHECK(pt_atlas_save(m, "/nonexistent/x.safetensors") == PT_EIO);

    free(b1), free(b2), free(lg1), free(lg2), free(dec), free(txt);
    pt_atlas_destroy(m), pt_atlas_destroy(md), pt_atlas_destroy(l), pt_atlas_destroy(m2), pt_atlas_destroy(m3);
}

/* a master on 3 books, then a 4th book through its key alone */
static void test_library_and_key(void)
{
    enum { N = 300 };
    uint32_t *t0 = gen_text(N, 21, "abcd"), *t1 = gen_text(N, 22, "efgh"), *t2 = gen_text(N, 23, "abgh");
    uint32_t *t3 = gen_text(N, 24, "efcd");
    pt_atlas_text lib[3] = {{t0, N}, {t1, N}, {t2, N}}, nb = {t3, N};
    pt_atlas_config c = pt_atlas_config_default();
    c.dim = 8, c.levels = 6, c.table_log2 = 9, c.octaves = 4, c.batch = 64, c.key_size = 8;
    pt_atlas *m = NULL;
    CHECK(pt_atlas_create(&c, lib, 3, &m) == PT_OK);
    for (int e = 0; e < 10; e++) CHECK(pt_atlas_train(m, lib, 3, NULL, NULL) == PT_OK);
    uint64_t fp = pt_atlas_fingerprint(m);
    pt_atlas_key_config kc = pt_atlas_key_config_default();
    float key20[8], gk[8];
    kc.epochs = 20;
    CHECK(pt_atlas_learn_key(m, &nb, &kc, key20, NULL, NULL) == PT_OK);
    CHECK(pt_atlas_fingerprint(m) == fp); /* the master is frozen */
    /* the mean key (where learning starts) against the learned one */
    float mean[8];
    for (int j = 0; j < 8; j++) {
        double s = 0.0;
        for (int b = 0; b < 3; b++) s += (double)pt_atlas_key(m, b)[j];
        mean[j] = (float)(s / 3.0);
    }
    double lmean = 0.0, lk = 0.0, acc = 0.0;
    CHECK(pt_atlas_key_grad(m, mean, &nb, &lmean, gk) == PT_OK && pt_atlas_key_grad(m, key20, &nb, &lk, gk) == PT_OK);
    CHECK(pt_atlas_score(m, key20, &nb, &acc, NULL) == PT_OK);
    printf("atlas key: loss %.4f at the library's mean key, %.4f after 20 epochs (accuracy %.3f)\n", lmean, lk, acc);
    CHECK(lk < lmean);
    /* a key of 3 learned coordinates: the other 5 stay at the mean */
    kc.size = 3, kc.epochs = 2;
    float key3[8];
    CHECK(pt_atlas_learn_key(m, &nb, &kc, key3, NULL, NULL) == PT_OK);
    for (int j = 3; j < 8; j++) CHECK(key3[j] == mean[j]);
    /* key files: round trip, and refused by another master */
    char kp[256];
    path_in(kp, sizeof kp, "k.safetensors");
    CHECK(pt_atlas_key_save(m, key3, 3, N, kp) == PT_OK);
    float back[8];
    int size = 0;
    size_t length = 0;
    CHECK(pt_atlas_key_load(m, kp, back, &size, &length) == PT_OK && size == 3 && length == N);
    CHECK(!memcmp(back, key3, sizeof back));
    pt_atlas *other = NULL;
    c.seed = 2;
    CHECK(pt_atlas_create(&c, lib, 3, &other) == PT_OK);
    CHECK(pt_atlas_key_load(other, kp, back, &size, &length) == PT_EFORMAT && strstr(pt_errmsg(), "not of this one"));
    char mp[256];
    path_in(mp, sizeof mp, "m.safetensors");
    CHECK(pt_atlas_save(m, mp) == PT_OK);
    CHECK(pt_atlas_key_load(m, mp, back, &size, &length) == PT_EFORMAT && strstr(pt_errmsg(), "not an atlas key"));
    /* bad key learning */
    kc.size = 9;
    CHECK(pt_atlas_learn_key(m, &nb, &kc, key3, NULL, NULL) == PT_EINVAL && strstr(pt_errmsg(), "atlas.key.size"));
    kc.size = 0, kc.lr = NAN;
    CHECK(pt_atlas_learn_key(m, &nb, &kc, key3, NULL, NULL) == PT_EINVAL && strstr(pt_errmsg(), "atlas.key.lr"));
    kc.lr = 0.01f;
    uint32_t odd[3] = {'a', 'z', 'b'};
    pt_atlas_text ot = {odd, 3};
    CHECK(pt_atlas_learn_key(m, &ot, &kc, key3, NULL, NULL) == PT_EINVAL && strstr(pt_errmsg(), "U+007A"));
    CHECK(pt_atlas_decode(m, NULL, 5, odd) == PT_EINVAL && strstr(pt_errmsg(), "needs a key"));
    pt_atlas_destroy(m), pt_atlas_destroy(other);
    free(t0), free(t1), free(t2), free(t3);
}

static void test_bad_config(void)
{
    uint32_t t[4] = {'a', 'b', 'a', 'c'};
    pt_atlas_text bk = {t, 4}, two[2] = {{t, 4}, {t, 2}}, empty = {t, 0};
    struct { const char *field; void (*set)(pt_atlas_config *); } cases[] = {
        {"atlas.dim", NULL}, {"atlas.iters", NULL}, {"atlas.rho", NULL}, {"atlas.levels", NULL},
        {"atlas.table_log2", NULL}, {"atlas.features", NULL}, {"atlas.max_res", NULL}, {"atlas.lr", NULL},
        {"atlas.lr_table", NULL}, {"atlas.batch", NULL}, {"atlas.key_size", NULL}, {"atlas.octaves", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pt_atlas_config c = pt_atlas_config_default();
        switch (i) {
        case 0: c.dim = 0; break;
        case 1: c.iters = 65; break;
        case 2: c.rho = 1.0f; break;
        case 3: c.levels = 33; break;
        case 4: c.table_log2 = 27; break;
        case 5: c.features = 0; break;
        case 6: c.base_res = 64, c.max_res = 32; break;
        case 7: c.lr = NAN; break;
        case 8: c.lr_table = -1.0f; break;
        case 9: c.batch = 0; break;
        case 10: c.key_size = 2000; break;
        default: c.octaves = 31; break;
        }
        pt_atlas *m = (pt_atlas *)1;
        CHECK(pt_atlas_create(&c, &bk, 1, &m) == PT_EINVAL && m == NULL);
        if (!strstr(pt_errmsg(), cases[i].field)) {
            fprintf(stderr, "config %s: '%s'\n", cases[i].field, pt_errmsg());
            CHECK(0);
        }
    }
    pt_atlas_config c = pt_atlas_config_default();
    pt_atlas *m = NULL;
    CHECK(pt_atlas_create(&c, &empty, 1, &m) == PT_EINVAL && strstr(pt_errmsg(), "0 symbols"));
    CHECK(pt_atlas_create(&c, two, 2, &m) == PT_EINVAL && strstr(pt_errmsg(), "atlas.key_size 0 with 2 books"));
    c.dim = 4, c.levels = 2, c.table_log2 = 4, c.octaves = 2;
    CHECK(pt_atlas_create(&c, &bk, 1, &m) == PT_OK);
    /* training on other books than its own */
    uint32_t u[4] = {'a', 'b', 'a', 'd'};
    pt_atlas_text ub = {u, 4};
    CHECK(pt_atlas_train(m, &ub, 1, NULL, NULL) == PT_EINVAL && strstr(pt_errmsg(), "U+0064 is not in the alphabet"));
    CHECK(pt_atlas_train(m, two, 1, NULL, NULL) == PT_OK);
    pt_atlas_text short_book = {t, 3};
    CHECK(pt_atlas_train(m, &short_book, 1, NULL, NULL) == PT_EINVAL && strstr(pt_errmsg(), "3 symbols"));
    CHECK(pt_atlas_score(m, NULL, &ub, NULL, NULL) == PT_EINVAL && strstr(pt_errmsg(), "U+0064"));
    pt_atlas_key_config kc = pt_atlas_key_config_default();
    float key[1];
    CHECK(pt_atlas_learn_key(m, &bk, &kc, key, NULL, NULL) == PT_EINVAL && strstr(pt_errmsg(), "no key"));
    CHECK(pt_atlas_decode(m, NULL, 0, u) == PT_EINVAL);
    pt_atlas_destroy(m);
    pt_atlas_destroy(NULL);
}

int main(void)
{
    pt_set_threads(1);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_utf8();
    test_layout();
    test_gradients();
    test_learns_and_io();
    test_library_and_key();
    test_bad_config();
    char p[300];
    const char *names[] = {"a.safetensors", "b.safetensors", "bad.safetensors", "k.safetensors", "m.safetensors"};
    for (size_t i = 0; i < 5; i++) {
        path_in(p, sizeof p, names[i]);
        unlink(p);
    }
    rmdir(dir);
    TEST_END();
}
