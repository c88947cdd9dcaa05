/* Episodic memory: write/recall exactness on hand-made vectors, phase
 * invariance of |<M, q>|, circular overwrite, forgetting that erases exactly the
 * slots whose usage drops below 0 (and reuse of them), mode and weighted votes,
 * chunked batch recall equal to one-by-one, the projected keys, bad input. */
#include <stdint.h>
#include <string.h>
#include "check.h"
#include "phasetower/memory.h"

enum { D = 4 };

static pt_memory *make(int in_dim, int dim, int N, int k, float alpha, pt_vote vote)
{
    pt_memory_config c = pt_memory_config_default(in_dim);
    c.dim = dim, c.capacity = N, c.k = k, c.alpha = alpha, c.vote = vote;
    pt_memory *m = NULL;
    CHECK(pt_memory_create(&c, &m) == PT_OK);
    return m;
}

/* unit basis vector e_j times e^{i theta}, interleaved complex */
static void basis(float *z, int n, int j, float re, float im)
{
    memset(z, 0, 2 * (size_t)n * sizeof *z);
    z[2 * j] = re, z[2 * j + 1] = im;
}

enum { NQ = 300, IN = 64 };

/* exactness: keys are the normalized vectors; recall finds them with sim 1;
 * circular overwrite; bad input leaves the memory as it was */
static void test_write_recall(void)
{
    float z[2 * 64], q[2 * 64];
    int y;
    float b;

    /* exactness: keys are the normalized vectors; recall finds them with sim 1 */
    pt_memory *m = make(D, D, 4, 1, 0.0f, PT_VOTE_MODE);
    CHECK(pt_memory_scores(m, z, 0, &y, &b) == PT_OK); /* nothing asked */
    basis(q, D, 0, 1, 0);
    CHECK(pt_memory_scores(m, q, 1, &y, &b) == PT_OK && y == -1 && b == 0.0f); /* empty */
    size_t s;
    basis(z, D, 0, 2.0f, 0.0f);
    CHECK(pt_memory_write(m, z, 0, &s) == PT_OK && s == 0);
    CHECK(pt_memory_key(m, 0)[0] == 1.0f && pt_memory_key(m, 0)[1] == 0.0f); /* 2 e1 stored as e1 */
    CHECK(pt_memory_length(m, 0) == 2.0f && pt_memory_length(m, 1) == 0.0f && pt_memory_length(m, 99) == 0.0f);
    basis(z, D, 1, 0.0f, 1.0f); /* i e2 */
    CHECK(pt_memory_write(m, z, 1, &s) == PT_OK && s == 1);
    basis(z, D, 2, 0.6f, -0.8f);
    CHECK(pt_memory_write(m, z, 2, &s) == PT_OK && s == 2 && pt_memory_count(m) == 3);
    basis(q, D, 1, 0.8f, 0.6f); /* e2 with another phase: |<M, q>| ignores the global phase */
    CHECK(pt_memory_scores(m, q, 1, &y, &b) == PT_OK && y == 1);
    CHECK_CLOSE(b, 1.0, 1e-6, 1e-6);
    memset(q, 0, sizeof q);
    q[0] = q[2] = 0.70710678f; /* (e1 + e2) / sqrt 2: ties go to the lower slot */
    CHECK(pt_memory_scores(m, q, 1, &y, &b) == PT_OK && y == 0);
    CHECK_CLOSE(b, 0.70710678, 1e-6, 1e-6);
    /* circular: the 4th write fills slot 3, the 5th overwrites the oldest (slot 0) */
    basis(z, D, 3, 1, 0);
    CHECK(pt_memory_write(m, z, 3, &s) == PT_OK && s == 3);
    basis(z, D, 3, 0, 1);
    CHECK(pt_memory_write(m, z, 9, &s) == PT_OK && s == 0 && pt_memory_count(m) == 4 && pt_memory_label(m, 0) == 9);
    /* bad input leaves the memory as it was */
    memset(z, 0, sizeof z);
    CHECK(pt_memory_write(m, z, 4, &s) == PT_EINVAL && pt_memory_count(m) == 4);
    basis(z, D, 0, NAN, 0);
    CHECK(pt_memory_write(m, z, 4, &s) == PT_EINVAL && pt_memory_label(m, 1) == 1);
    basis(z, D, 0, 1, 0);
    CHECK(pt_memory_write(m, z, -1, &s) == PT_EINVAL);
    pt_memory_destroy(m);
}

/* forgetting, alpha 0.5, four orthogonal slots (v = 1 each): recalling e1
 * adds 1 - 0.5 to slot 0 and 0 - 0.5 to the others: after two recalls they
 * sit at exactly 0 (kept), after the third at -0.5 (erased); slot 0 stays */
static void test_forgetting(void)
{
    float z[2 * 64], q[2 * 64];
    int y;
    float b;
    size_t s;
    pt_memory *m = make(D, D, 4, 1, 0.5f, PT_VOTE_MODE);
    for (int j = 0; j < D; j++) {
        basis(z, D, j, 1, 0);
        CHECK(pt_memory_write(m, z, j, NULL) == PT_OK);
    }
    basis(q, D, 0, 1, 0);
    CHECK(pt_memory_scores(m, q, 1, &y, &b) == PT_OK && pt_memory_usage(m, 1) == 1.0f); /* scores: no side effect */
    CHECK(pt_memory_recall(m, q, 1, &y, &b) == PT_OK && y == 0);
    CHECK(pt_memory_recall(m, q, 1, &y, &b) == PT_OK && pt_memory_count(m) == 4 && pt_memory_usage(m, 1) == 0.0f);
    CHECK(pt_memory_usage(m, 0) == 2.0f);
    CHECK(pt_memory_recall(m, q, 1, &y, &b) == PT_OK && pt_memory_count(m) == 1);
    CHECK(pt_memory_label(m, 0) == 0 && pt_memory_label(m, 1) == -1 && pt_memory_label(m, 2) == -1 &&
          pt_memory_label(m, 3) == -1);
    basis(z, D, 2, 1, 0);
    CHECK(pt_memory_write(m, z, 7, &s) == PT_OK && s != 0 && pt_memory_count(m) == 2); /* reuses an erased slot */
    CHECK(pt_memory_write(m, z, 8, &s) == PT_OK && s != 0 && pt_memory_count(m) == 3);
    CHECK(pt_memory_label(m, 0) == 0); /* the used slot was never overwritten */
    pt_memory_destroy(m);
}

/* votes, k = 3, query e1: two label-5 slots at sim 0.4, one label-7 at 0.9:
 * the mode says 5, the similarity-weighted vote says 7 (0.9 > 0.8) */
static void test_votes(void)
{
    float q[2 * 64];
    int y;
    float b;
    pt_memory *m;
    for (int v = 0; v < 2; v++) {
        m = make(3, 3, 8, 3, 0.0f, v ? PT_VOTE_WEIGHTED : PT_VOTE_MODE);
        float k1[6] = {0.4f, 0, 0.9165151f, 0, 0, 0}, k2[6] = {0.4f, 0, 0, 0, 0.9165151f, 0};
        float k3[6] = {0.9f, 0, 0, 0, 0.4358899f, 0};
        CHECK(pt_memory_write(m, k1, 5, NULL) == PT_OK && pt_memory_write(m, k2, 5, NULL) == PT_OK &&
              pt_memory_write(m, k3, 7, NULL) == PT_OK);
        basis(q, 3, 0, 1, 0);
        CHECK(pt_memory_scores(m, q, 1, &y, &b) == PT_OK && y == (v ? 7 : 5));
        CHECK_CLOSE(b, 0.9, 1e-5, 1e-6);
        pt_memory_destroy(m);
    }
}

/* projected keys (64 -> 16), 300 random sparse vectors V (drawn from r,
 * labels lab[i] = i, into V zero-initialized by the caller); a batch of 300
 * queries (two cgemm chunks) equals 300 single recalls, and each stored
 * vector recalls its own label with similarity 1 */
static void test_projected_keys(pt_rng *r, float *V, int *lab)
{
    int y;
    float b;
    static int yb[NQ];
    static float bb[NQ];
    pt_memory *m = make(IN, 16, NQ, 1, 0.0f, PT_VOTE_MODE);
    for (int i = 0; i < NQ; i++) {
        for (int t = 0; t < 6; t++) {
            int j = (int)(pt_rng_u64(r) % IN);
            V[i * 2 * IN + 2 * j] = pt_rng_normal(r), V[i * 2 * IN + 2 * j + 1] = pt_rng_normal(r);
        }
        lab[i] = i;
        CHECK(pt_memory_write(m, V + i * 2 * IN, i, NULL) == PT_OK);
    }
    CHECK(pt_memory_scores(m, V, NQ, yb, bb) == PT_OK);
    int self = 0;
    for (int i = 0; i < NQ; i++) {
        CHECK(pt_memory_scores(m, V + i * 2 * IN, 1, &y, &b) == PT_OK && y == yb[i]);
        CHECK_CLOSE(b, bb[i], 1e-5, 1e-6);
        self += yb[i] == lab[i] && fabsf(bb[i] - 1.0f) < 1e-4f;
    }
    CHECK(self >= NQ - 3); /* near-duplicate random vectors may tie */
    CHECK(pt_memory_bytes(m) == (size_t)NQ * 16 * 8 + (size_t)NQ * 12);
    pt_memory_destroy(m);
}

/* a memory of dense codes projects by one BLAS product per batch: the same
 * keys (to rounding) as the entry-by-entry path of a sparse memory with the
 * same projection; the batch of 300 equals 300 single recalls; each stored
 * vector recalls itself; a non-finite vector is refused. V and lab are the
 * previous check's vectors, made dense here with more draws from r */
static void test_dense_keys(pt_rng *r, float *V, const int *lab)
{
    int y, self;
    float b;
    static int yb[NQ];
    static float bb[NQ];
    for (int i = 0; i < NQ * 2 * IN; i++) V[i] += 0.1f * pt_rng_normal(r); /* now dense */
    pt_memory_config dc = pt_memory_config_default(IN);
    dc.dim = 16, dc.capacity = NQ, dc.k = 1, dc.code = PT_MEMORY_DENSE;
    pt_memory *md = NULL, *ms = make(IN, 16, NQ, 1, 0.0f, PT_VOTE_MODE);
    CHECK(pt_memory_create(&dc, &md) == PT_OK && !strcmp(pt_memory_code_name(dc.code), "dense"));
    for (int i = 0; i < NQ; i++)
        CHECK(pt_memory_write(md, V + i * 2 * IN, i, NULL) == PT_OK && pt_memory_write(ms, V + i * 2 * IN, i, NULL) == PT_OK);
    for (int i = 0; i < NQ; i += 17)
        for (int a = 0; a < 2 * 16; a++) CHECK_CLOSE(pt_memory_key(md, (size_t)i)[a], pt_memory_key(ms, (size_t)i)[a], 1e-5, 1e-5);
    CHECK(pt_memory_scores(md, V, NQ, yb, bb) == PT_OK);
    self = 0;
    for (int i = 0; i < NQ; i++) {
        if (i % 13 == 0) {
            CHECK(pt_memory_scores(md, V + i * 2 * IN, 1, &y, &b) == PT_OK && y == yb[i]);
            CHECK_CLOSE(b, bb[i], 1e-5, 1e-6);
        }
        self += yb[i] == lab[i] && fabsf(bb[i] - 1.0f) < 1e-4f;
    }
    CHECK(self >= NQ - 3);
    V[5] = NAN;
    CHECK(pt_memory_write(md, V, 1, NULL) == PT_EINVAL);
    CHECK(pt_memory_scores(md, V, 1, &y, &b) == PT_OK && y == -1 && b == 0.0f);
    pt_memory_code pc;
    CHECK(pt_memory_code_parse("dense", &pc) == PT_OK && pc == PT_MEMORY_DENSE);
    CHECK(pt_memory_code_parse("sparse", &pc) == PT_OK && pc == PT_MEMORY_SPARSE);
    CHECK(pt_memory_code_parse("other", &pc) == PT_EINVAL && strstr(pt_errmsg(), "memory.code"));
    dc.code = (pt_memory_code)2;
    CHECK(pt_memory_config_check(&dc) == PT_EINVAL);
    pt_memory_destroy(md), pt_memory_destroy(ms);
}

/* composition: e1 (label 0) + e2 (label 1) -> (e1 + e2)/sqrt 2, similarity
 * 0.707 to each parent: added under tau 0.9, refused under tau 0.7;
 * hierarchical composition; bad compositions change nothing */
static void test_compose(void)
{
    float z[2 * 64], q[2 * 64];
    int y;
    float b;
    pt_memory *m = make(D, D, 16, 1, 0.0f, PT_VOTE_MODE);
    for (int j = 0; j < 3; j++) {
        basis(z, D, j, 1, 0);
        CHECK(pt_memory_write(m, z, j, NULL) == PT_OK);
    }
    pt_compose_opts co = {0.9f, 5, 1, 0, 3, "0+1"};
    int nl = -1;
    size_t added = 0;
    CHECK(pt_memory_compose(m, 0, 1, &co, &nl, &added, NULL) == PT_OK && nl == 3 && added == 1 && pt_memory_count(m) == 4);
    memset(q, 0, sizeof q);
    q[0] = q[2] = 0.70710678f;
    CHECK(pt_memory_scores(m, q, 1, &y, &b) == PT_OK && y == 3);
    CHECK_CLOSE(b, 1.0, 1e-6, 1e-6);
    char nm[PT_MEMORY_NAME_LEN];
    pt_memory_name_of(m, 3, nm, sizeof nm);
    int pa, pb;
    pt_memory_parents(m, 3, &pa, &pb);
    CHECK(!strcmp(nm, "0+1") && pt_memory_find(m, "0+1") == 3 && pa == 0 && pb == 1);
    pt_memory_name_of(m, 1, nm, sizeof nm);
    CHECK(!strcmp(nm, "1") && pt_memory_find(m, "1") == 1 && pt_memory_find(m, "3") == -1 && pt_memory_find(m, "x") == -1);
    pt_compose_opts low = {0.7f, 5, 1, 0, 3, "again"};
    CHECK(pt_memory_compose(m, 1, 0, &low, &nl, &added, NULL) == PT_ENOCONV && added == 0 && pt_memory_count(m) == 4);
    CHECK(pt_memory_find(m, "again") == -1); /* nothing was named either */
    /* hierarchical: 0+1 keeps the length of e1 + e2 (sqrt 2), so (0+1) + 2 is
     * normalize(e1 + e2 + e3), the key of the three vectors' sum: similarity
     * 0.816 to 0+1 and 0.577 to each base; it gets the next label */
    CHECK_CLOSE(pt_memory_length(m, 3), sqrt(2.0), 1e-6, 1e-6);
    pt_compose_opts hi = {0.95f, 5, 1, 0, 3, "(0+1)+2"};
    CHECK(pt_memory_compose(m, 3, 2, &hi, &nl, &added, NULL) == PT_OK && nl == 4 && added == 1);
    CHECK_CLOSE(pt_memory_length(m, 4), sqrt(3.0), 1e-6, 1e-6);
    memset(q, 0, sizeof q);
    q[0] = q[2] = q[4] = 0.57735027f;
    CHECK(pt_memory_scores(m, q, 1, &y, &b) == PT_OK && y == 4);
    CHECK_CLOSE(b, 1.0, 1e-6, 1e-6);
    /* bad compositions change nothing */
    pt_compose_opts ok = {0.9f, 5, 1, 0, 3, "new"}, bad = ok;
    CHECK(pt_memory_compose(m, 0, 9, &ok, &nl, &added, NULL) == PT_EINVAL && strstr(pt_errmsg(), "no stored exemplar"));
    CHECK(pt_memory_compose(m, 0, 0, &ok, &nl, &added, NULL) == PT_EINVAL);
    bad.name = "a b";
    CHECK(pt_memory_compose(m, 0, 2, &bad, &nl, &added, NULL) == PT_EINVAL && strstr(pt_errmsg(), "compose.name"));
    bad.name = "0+1";
    CHECK(pt_memory_compose(m, 0, 2, &bad, &nl, &added, NULL) == PT_EINVAL && strstr(pt_errmsg(), "already"));
    bad = ok, bad.tau = 0.0f;
    CHECK(pt_memory_compose(m, 0, 2, &bad, &nl, &added, NULL) == PT_EINVAL && strstr(pt_errmsg(), "compose.tau"));
    bad = ok, bad.pairs = 0;
    CHECK(pt_memory_compose(m, 0, 2, &bad, &nl, &added, NULL) == PT_EINVAL && strstr(pt_errmsg(), "compose.pairs"));
    CHECK(pt_memory_count(m) == 5);
    pt_memory_destroy(m);
}

/* composition weighs each parent by its stored length: 2 e1 (label 0) and
 * i e2 (label 1) compose to normalize(2 e1 + i e2), the key of their sum */
static void test_compose_lengths(void)
{
    float z[2 * 64], q[2 * 64];
    int y;
    float b;
    pt_compose_opts co = {0.9f, 5, 1, 0, 3, "0+1"};
    int nl = -1;
    size_t added = 0;
    pt_memory *m = make(D, D, 8, 1, 0.0f, PT_VOTE_MODE);
    basis(z, D, 0, 2.0f, 0.0f);
    CHECK(pt_memory_write(m, z, 0, NULL) == PT_OK);
    basis(z, D, 1, 0.0f, 1.0f);
    CHECK(pt_memory_write(m, z, 1, NULL) == PT_OK);
    CHECK(pt_memory_compose(m, 0, 1, &co, &nl, &added, NULL) == PT_OK && added == 1);
    memset(q, 0, sizeof q);
    q[0] = 2.0f / sqrtf(5.0f), q[3] = 1.0f / sqrtf(5.0f);
    CHECK(pt_memory_scores(m, q, 1, &y, &b) == PT_OK && y == nl);
    CHECK_CLOSE(b, 1.0, 1e-6, 1e-6);
    CHECK_CLOSE(pt_memory_length(m, 2), sqrt(5.0), 1e-6, 1e-6);
    pt_memory_destroy(m);
}

/* fanout and guard against a plain reimplementation: 40 random keys of
 * labels 0, 1, 2 (i % 3); compose 0 and 1 with fanout 2 (composite i pairs
 * the (i % 13)-th exemplar of 0 with the ((i % 13 + i / 13) % 13)-th of 1);
 * the guard refuses the composites among the 5 nearest of a stored key
 * (itself left out) when 4 or more of those are composites */
static void test_fanout_guard(void)
{
    float z[2 * 64];
    int nl = -1;
    size_t added = 0;
    enum { NS = 40, GD = 6, NA0 = 14, NB1 = 13, NC = 26 };
    pt_memory *m = make(GD, GD, 100, 5, 0.0f, PT_VOTE_MODE);
    uint32_t lcg = 12345u;
    for (int i = 0; i < NS; i++) {
        for (int j = 0; j < 2 * GD; j++) {
            lcg = lcg * 1664525u + 1013904223u;
            z[j] = (float)((double)(lcg >> 8) / 16777216.0 - 0.5) * (float)(1 + i % 4);
        }
        CHECK(pt_memory_write(m, z, i % 3, NULL) == PT_OK);
    }
    double ck[NC][2 * GD];
    for (int i = 0; i < NC; i++) {
        size_t ja = (size_t)(3 * (i % NB1)), jb = (size_t)(3 * ((i % NB1 + i / NB1) % NB1) + 1);
        const float *ka = pt_memory_key(m, ja), *kb = pt_memory_key(m, jb);
        double la = (double)pt_memory_length(m, ja), lb = (double)pt_memory_length(m, jb), nn = 0;
        for (int j = 0; j < 2 * GD; j++) ck[i][j] = la * (double)ka[j] + lb * (double)kb[j], nn += ck[i][j] * ck[i][j];
        for (int j = 0; j < 2 * GD; j++) ck[i][j] /= sqrt(nn);
    }
    int refused[NC] = {0}, nref = 0;
    for (int s2 = 0; s2 < NS; s2++) {
        double sim[NS + NC];
        const float *ks = pt_memory_key(m, (size_t)s2);
        for (int j = 0; j < NS + NC; j++) {
            double re = 0, im = 0;
            for (int a = 0; a < GD; a++) {
                double xr = j < NS ? (double)pt_memory_key(m, (size_t)j)[2 * a] : ck[j - NS][2 * a];
                double xi = j < NS ? (double)pt_memory_key(m, (size_t)j)[2 * a + 1] : ck[j - NS][2 * a + 1];
                double sr = (double)ks[2 * a], si = (double)ks[2 * a + 1];
                re += sr * xr + si * xi, im += si * xr - sr * xi;
            }
            sim[j] = j == s2 ? -1 : re * re + im * im;
        }
        int top[5], nin = 0;
        for (int a = 0; a < 5; a++) { /* the 5 largest, in turn */
            top[a] = 0;
            for (int j = 1; j < NS + NC; j++)
                if (sim[j] > sim[top[a]]) top[a] = j;
            nin += top[a] >= NS;
            sim[top[a]] = -2;
        }
        for (int a = 0; a < 5 && nin >= 4; a++)
            if (top[a] >= NS) refused[top[a] - NS] = 1;
    }
    for (int i = 0; i < NC; i++) nref += refused[i];
    printf("guard: %d of %d composites refused\n", nref, NC);
    CHECK(nref > 0 && nref < NC);
    pt_compose_opts fo = {1.0f, 100, 2, 4, 3, "0+1"};
    size_t guarded = 0;
    CHECK(pt_memory_compose(m, 0, 1, &fo, &nl, &added, &guarded) == PT_OK);
    CHECK(guarded == (size_t)nref && added == (size_t)(NC - nref) && pt_memory_count(m) == NS + added);
    for (int i = 0, slot = NS; i < NC; i++) {
        if (refused[i]) continue;
        const float *k2 = pt_memory_key(m, (size_t)slot++);
        for (int j = 0; j < 2 * GD; j++) CHECK_CLOSE(k2[j], ck[i][j], 1e-5, 1e-5);
    }
    pt_compose_opts bo = fo;
    bo.name = "x", bo.guard = 6; /* above k */
    CHECK(pt_memory_compose(m, 0, 1, &bo, &nl, &added, NULL) == PT_EINVAL && strstr(pt_errmsg(), "compose.guard"));
    bo.guard = 0, bo.fanout = 17;
    CHECK(pt_memory_compose(m, 0, 1, &bo, &nl, &added, NULL) == PT_EINVAL && strstr(pt_errmsg(), "compose.fanout"));
    bo.fanout = 1, bo.guard = 1; /* every composite is among some parent's nearest */
    CHECK(pt_memory_compose(m, 0, 2, &bo, &nl, &added, &guarded) == PT_ENOCONV &&
          strstr(pt_errmsg(), "guard refused all") && added == 0 && guarded > 0);
    CHECK(pt_memory_count(m) == NS + (size_t)(NC - nref) && pt_memory_find(m, "x") == -1);
    pt_memory_destroy(m);
}

/* configuration out of range */
static void test_config(void)
{
    pt_memory_config c = pt_memory_config_default(8);
    CHECK(c.dim == 8 && c.capacity == 10000 && c.k == 5);
    pt_memory_config bc = c;
    bc.k = 0;
    CHECK(pt_memory_config_check(&bc) == PT_EINVAL && strstr(pt_errmsg(), "memory.k"));
    bc = c, bc.k = 10001;
    CHECK(pt_memory_config_check(&bc) == PT_EINVAL && strstr(pt_errmsg(), "memory.k"));
    bc = c, bc.alpha = -0.1f;
    CHECK(pt_memory_config_check(&bc) == PT_EINVAL && strstr(pt_errmsg(), "memory.alpha"));
    bc = c, bc.alpha = NAN;
    CHECK(pt_memory_config_check(&bc) == PT_EINVAL);
    bc = c, bc.dim = 9;
    CHECK(pt_memory_config_check(&bc) == PT_EINVAL && strstr(pt_errmsg(), "memory.dim"));
    bc = c, bc.capacity = 0;
    CHECK(pt_memory_config_check(&bc) == PT_EINVAL && strstr(pt_errmsg(), "memory.capacity"));
}

int main(void)
{
    test_write_recall();
    test_forgetting();
    test_votes();
    pt_rng r;
    pt_rng_seed(&r, 9);
    static float V[NQ * 2 * IN];
    static int lab[NQ];
    test_projected_keys(&r, V, lab);
    test_dense_keys(&r, V, lab);
    test_compose();
    test_compose_lengths();
    test_fanout_guard();
    test_config();
    TEST_END();
}
