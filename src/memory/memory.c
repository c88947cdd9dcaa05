/* Complex episodic memory (PhaseTower paper, section 6): circular buffer of
 * unit keys, recall by |M conj(q)| through one cgemm per batch of queries,
 * top-k vote, controlled forgetting through a usage value per slot. */
#include <math.h>
#include <string.h>
#include "internal.h"
#include "linalg/linalg.h"
#include "memory/memory_internal.h"

pt_memory_config pt_memory_config_default(int in_dim)
{
    pt_memory_config c;
    memset(&c, 0, sizeof c);
    c.in_dim = in_dim;
    c.dim = in_dim < 256 ? in_dim : 256;
    c.capacity = 10000;
    c.k = 5;
    c.alpha = 0.0f;
    c.vote = PT_VOTE_MODE;
    c.seed = 1;
    return c;
}

pt_status pt_memory_config_check(const pt_memory_config *c)
{
    if (c->in_dim < 1 || c->in_dim > 1 << 24) return pt_fail(PT_EINVAL, "memory.in_dim %d out of range", c->in_dim);
    if (c->dim < 1 || c->dim > c->in_dim)
        return pt_fail(PT_EINVAL, "memory.dim %d: must be in 1..%d (memory.in_dim, the model's output length)", c->dim, c->in_dim);
    if (c->capacity < 1 || c->capacity > 10000000)
        return pt_fail(PT_EINVAL, "memory.capacity %d: must be in 1..10000000", c->capacity);
    if (c->k < 1 || c->k > c->capacity)
        return pt_fail(PT_EINVAL, "memory.k %d: must be in 1..%d (memory.capacity)", c->k, c->capacity);
    if (!(c->alpha >= 0.0f && c->alpha <= 1.0f))
        return pt_fail(PT_EINVAL, "memory.alpha %g: must be in [0, 1]", (double)c->alpha);
    if ((unsigned)c->vote > PT_VOTE_WEIGHTED) return pt_fail(PT_EINVAL, "memory.vote: unknown value %d", (int)c->vote);
    if ((unsigned)c->code > PT_MEMORY_DENSE) return pt_fail(PT_EINVAL, "memory.code: unknown value %d", (int)c->code);
    return PT_OK;
}

void pt_memory_destroy(pt_memory *m)
{
    if (!m) return;
    free(m->P);
    free(m->M);
    free(m->label);
    free(m->v);
    free(m->len);
    free(m->freelist);
    free(m->scratch);
    free(m);
}

pt_status pt_memory_alloc(const pt_memory_config *c, pt_memory **out)
{
    *out = NULL;
    pt_status st = pt_memory_config_check(c);
    if (st) return st;
    pt_memory *m = pt_calloc(1, sizeof *m);
    if (!m) return pt_fail(PT_ENOMEM, "out of memory for the episodic memory");
    m->cfg = *c;
    size_t N = (size_t)c->capacity, d = (size_t)c->dim;
    m->M = pt_calloc(N * d, sizeof *m->M);
    m->label = pt_calloc(N, sizeof *m->label);
    m->v = pt_calloc(N, sizeof *m->v);
    m->len = pt_calloc(N, sizeof *m->len);
    m->freelist = pt_calloc(N, sizeof *m->freelist);
    m->scratch = pt_calloc(d, sizeof *m->scratch);
    if (c->dim < c->in_dim) m->P = pt_calloc((size_t)c->in_dim * d, sizeof *m->P);
    if (!m->M || !m->label || !m->v || !m->len || !m->freelist || !m->scratch || (c->dim < c->in_dim && !m->P)) {
        pt_memory_destroy(m);
        return pt_fail(PT_ENOMEM, "out of memory for a memory of %zu slots of %zu complex values", N, d);
    }
    for (size_t i = 0; i < N; i++) m->label[i] = -1;
    *out = m;
    return PT_OK;
}

pt_status pt_memory_create(const pt_memory_config *c, pt_memory **out)
{
    pt_status st = pt_memory_alloc(c, out);
    if (st || !(*out)->P) return st;
    /* Complex Gaussian projection with E|P_jd|^2 = 1/dim, so a unit vector's
     * key has expected squared norm 1 and inner products are preserved up to
     * about 1/sqrt(dim) (Johnson-Lindenstrauss). Keys are renormalized anyway. */
    pt_rng r;
    pt_rng_seed(&r, c->seed);
    float sd = 1.0f / sqrtf(2.0f * (float)c->dim);
    for (size_t i = 0; i < (size_t)c->in_dim * (size_t)c->dim; i++)
        (*out)->P[i] = CMPLXF(sd * pt_rng_normal(&r), sd * pt_rng_normal(&r));
    return PT_OK;
}

const pt_memory_config *pt_memory_get_config(const pt_memory *m) { return &m->cfg; }

pt_status pt_memory_set_projection(pt_memory *m, const float *proj)
{
    size_t n = (size_t)m->cfg.in_dim * (size_t)m->cfg.dim;
    if (!m->P) return pt_fail(PT_EINVAL, "memory: keys of %d values are not projected", m->cfg.dim);
    if (m->count > 0) return pt_fail(PT_EINVAL, "memory: the projection of a memory holding keys cannot change");
    for (size_t i = 0; i < 2 * n; i++)
        if (!isfinite(proj[i])) return pt_fail(PT_EINVAL, "memory: projection entry %zu is not finite", i / 2);
    memcpy(m->P, proj, n * sizeof *m->P);
    m->proj_frame = 1;
    return PT_OK;
}

int pt_memory_frame(const pt_memory *m) { return m->proj_frame; }

const float *pt_memory_projection(const pt_memory *m) { return (const float *)m->P; }

const char *pt_memory_keys_name(const pt_memory *m) { return m->proj_frame ? "frame" : m->P ? "sketch" : "plain"; }

/* 1 if all n complex entries of z are finite. */
static int all_finite(const float *z, size_t n)
{
    for (size_t j = 0; j < 2 * n; j++)
        if (!isfinite(z[j])) return 0;
    return 1;
}

float pt_memory_normalize_key(pt_c32 *key, size_t d)
{
    double ss = 0.0;
    for (size_t a = 0; a < d; a++) ss += (double)(crealf(key[a]) * crealf(key[a]) + cimagf(key[a]) * cimagf(key[a]));
    if (!(ss > 1e-30) || !isfinite(ss) || !((float)sqrt(ss) < HUGE_VALF)) {
        memset(key, 0, d * sizeof *key);
        return 0.0f;
    }
    float inv = (float)(1.0 / sqrt(ss));
    for (size_t a = 0; a < d; a++) key[a] *= inv;
    return (float)sqrt(ss);
}

/* Keys of nb vectors z (nb, in_dim) into Q (nb, dim): normalize(z P), or
 * normalize(z) without a projection, and len[i] = |z P| (or |z|); len[i] = 0
 * (key zeroed) for a zero or non-finite vector. A memory of dense codes projects the whole batch by one
 * complex product (BLAS); a sparse one key by key, skipping zero entries, so
 * a tower output costs s * dim, not K * dim. Every path that makes a key
 * (write, recall, memorize) comes here, so the same vector always gets the same key. */
void pt_memory_make_keys(const pt_memory *m, pt_c32 *restrict Q, const float *restrict z, size_t nb, float *len)
{
    size_t d = (size_t)m->cfg.dim, in = (size_t)m->cfg.in_dim;
    if (m->cfg.code == PT_MEMORY_DENSE && m->P) {
        pt_cgemm_nn((float *)Q, z, (const float *)m->P, nb, d, in);
        for (size_t i = 0; i < nb; i++) {
            len[i] = all_finite(z + 2 * i * in, in) ? pt_memory_normalize_key(Q + i * d, d) : 0.0f;
            if (!(len[i] > 0.0f)) memset(Q + i * d, 0, d * sizeof *Q);
        }
        return;
    }
    for (size_t i = 0; i < nb; i++) {
        pt_c32 *key = Q + i * d;
        const pt_c32 *zc = (const pt_c32 *)(z + 2 * i * in);
        memset(key, 0, d * sizeof *key);
        int ok = all_finite(z + 2 * i * in, in);
        for (size_t j = 0; j < in && ok; j++) {
            if (crealf(zc[j]) == 0.0f && cimagf(zc[j]) == 0.0f) continue;
            if (!m->P) {
                key[j] = zc[j];
                continue;
            }
            const pt_c32 *row = m->P + j * d;
            for (size_t a = 0; a < d; a++) key[a] += zc[j] * row[a];
        }
        len[i] = ok ? pt_memory_normalize_key(key, d) : 0.0f;
        if (!(len[i] > 0.0f)) memset(key, 0, d * sizeof *key);
    }
}

float pt_memory_make_key(const pt_memory *m, pt_c32 *restrict key, const float *restrict z)
{
    float len;
    pt_memory_make_keys(m, key, z, 1, &len);
    return len;
}

/* The slot for the next write: an erased slot if any (an entry is stale when
 * the circular pointer has refilled it), else the circular pointer's, which
 * holds the oldest entry once the memory is full. */
static size_t take_slot(pt_memory *m)
{
    size_t N = (size_t)m->cfg.capacity;
    while (m->nfree > 0) {
        size_t c = m->freelist[--m->nfree];
        if (m->label[c] < 0) return c;
    }
    size_t s = m->next;
    m->next = (m->next + 1) % N;
    return s;
}

size_t pt_memory_store(pt_memory *m, const pt_c32 *key, int label, float len)
{
    size_t s = take_slot(m), d = (size_t)m->cfg.dim;
    if (m->label[s] < 0) m->count++;
    memcpy(m->M + s * d, key, d * sizeof *m->M);
    m->label[s] = label;
    m->v[s] = 1.0f;
    m->len[s] = len;
    return s;
}

pt_status pt_memory_write(pt_memory *m, const float *z, int label, size_t *slot)
{
    if (label < 0) return pt_fail(PT_EINVAL, "memory: label %d must be >= 0", label);
    float len = pt_memory_make_key(m, m->scratch, z);
    if (!(len > 0.0f)) return pt_fail(PT_EINVAL, "memory: cannot store a zero or non-finite vector");
    size_t s = pt_memory_store(m, m->scratch, label, len);
    if (slot) *slot = s;
    return PT_OK;
}

static void erase(pt_memory *m, size_t s)
{
    memset(m->M + s * (size_t)m->cfg.dim, 0, (size_t)m->cfg.dim * sizeof *m->M);
    m->label[s] = -1;
    m->v[s] = 0.0f;
    m->len[s] = 0.0f;
    m->freelist[m->nfree++] = s;
    m->count--;
}

/* Vote among the top slots idx[0..n) by similarity sim: the mode of their
 * labels (ties to the label holding the single most similar slot), or the
 * largest sum of similarities. */
static int vote(const pt_memory *m, const int *idx, int n, const float *sim)
{
    int best = -1;
    double best_score = -1.0, best_top = -1.0;
    for (int a = 0; a < n; a++) {
        int y = m->label[idx[a]];
        double score = 0.0, top = 0.0;
        for (int b = 0; b < n; b++)
            if (m->label[idx[b]] == y) {
                score += m->cfg.vote == PT_VOTE_WEIGHTED ? (double)sim[idx[b]] : 1.0;
                if ((double)sim[idx[b]] > top) top = (double)sim[idx[b]];
            }
        if (score > best_score || (score == best_score && top > best_top) ||
            (score == best_score && top == best_top && y < best)) {
            best = y;
            best_score = score;
            best_top = top;
        }
    }
    return best;
}

/* Shared body of recall (mut != NULL: apply forgetting) and scores. */
static pt_status recall_impl(const pt_memory *m, pt_memory *mut, const float *q, size_t nq, int *label, float *best)
{
    size_t N = (size_t)m->cfg.capacity, d = (size_t)m->cfg.dim, in = (size_t)m->cfg.in_dim;
    if (m->count == 0) {
        for (size_t i = 0; i < nq; i++) {
            if (label) label[i] = -1;
            if (best) best[i] = 0.0f;
        }
        return PT_OK;
    }
    size_t B = nq < RECALL_CHUNK ? nq : RECALL_CHUNK;
    pt_c32 *Q = pt_calloc(B * d, sizeof *Q), *S = pt_calloc(B * N, sizeof *S);
    float *sim = pt_calloc(N, sizeof *sim);
    int *idx = pt_calloc((size_t)m->cfg.k, sizeof *idx);
    float *qlen = pt_calloc(B, sizeof *qlen); /* query key lengths, 0: no key */
    if (!Q || !S || !sim || !idx || !qlen) {
        free(Q), free(S), free(sim), free(idx), free(qlen);
        return pt_fail(PT_ENOMEM, "out of memory for recalling from %zu slots", N);
    }
    for (size_t i0 = 0; i0 < nq; i0 += B) {
        size_t nb = nq - i0 < B ? nq - i0 : B;
        pt_memory_make_keys(m, Q, q + 2 * i0 * in, nb, qlen);
        /* S (nb, N) = Q M^H: S_ij = sum_a Q_ia conj(M_ja) = conj(<M_j, q_i>) */
        pt_cgemm_nc((float *)S, (const float *)Q, (const float *)m->M, nb, N, d);
        for (size_t i = 0; i < nb; i++) {
            int y = -1;
            float top = 0.0f;
            if (qlen[i] > 0.0f && m->count > 0) {
                for (size_t j = 0; j < N; j++) sim[j] = m->label[j] >= 0 ? cabsf(S[i * N + j]) : -1.0f;
                int kk = m->cfg.k < (int)m->count ? m->cfg.k : (int)m->count;
                pt_select_top(idx, sim, (int)N, kk);
                y = vote(m, idx, kk, sim);
                for (int a = 0; a < kk; a++) top = fmaxf(top, sim[idx[a]]);
                if (mut && m->cfg.alpha > 0.0f)
                    for (size_t j = 0; j < N; j++) {
                        if (mut->label[j] < 0) continue;
                        mut->v[j] += sim[j] - m->cfg.alpha;
                        if (mut->v[j] < 0.0f) erase(mut, j);
                    }
            }
            if (label) label[i0 + i] = y;
            if (best) best[i0 + i] = top;
        }
    }
    free(Q), free(S), free(sim), free(idx), free(qlen);
    return PT_OK;
}

pt_status pt_memory_recall(pt_memory *m, const float *q, size_t nq, int *label, float *best)
{
    return recall_impl(m, m, q, nq, label, best);
}

pt_status pt_memory_scores(const pt_memory *m, const float *q, size_t nq, int *label, float *best)
{
    return recall_impl(m, NULL, q, nq, label, best);
}

size_t pt_memory_count(const pt_memory *m) { return m->count; }

int pt_memory_label(const pt_memory *m, size_t slot) { return slot < (size_t)m->cfg.capacity ? m->label[slot] : -1; }

float pt_memory_usage(const pt_memory *m, size_t slot) { return slot < (size_t)m->cfg.capacity ? m->v[slot] : 0.0f; }
float pt_memory_length(const pt_memory *m, size_t slot) { return slot < (size_t)m->cfg.capacity ? m->len[slot] : 0.0f; }

const float *pt_memory_key(const pt_memory *m, size_t slot)
{
    return slot < (size_t)m->cfg.capacity ? (const float *)(m->M + slot * (size_t)m->cfg.dim) : NULL;
}

size_t pt_memory_bytes(const pt_memory *m)
{
    size_t N = (size_t)m->cfg.capacity;
    return N * (size_t)m->cfg.dim * sizeof(pt_c32) + N * (sizeof(int) + 2 * sizeof(float));
}

/* ------------------------------------------------------------ concepts */

int pt_memory_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n >= PT_MEMORY_NAME_LEN) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
                 c == '(' || c == ')' || c == '_' || c == '.' || c == '-';
        if (!ok) return 0;
    }
    return 1;
}

/* Index of label in the concept table, or -1. */
static int find_label(const pt_memory *m, int label)
{
    for (int i = 0; i < m->nnames; i++)
        if (m->concept[i][0] == label) return i;
    return -1;
}

void pt_memory_name_of(const pt_memory *m, int label, char *buf, size_t len)
{
    int i = find_label(m, label);
    if (i >= 0) snprintf(buf, len, "%s", m->cname[i]);
    else snprintf(buf, len, "%d", label);
}

int pt_memory_find(const pt_memory *m, const char *name)
{
    for (int i = 0; name && i < m->nnames; i++)
        if (!strcmp(m->cname[i], name)) return m->concept[i][0];
    char *end;
    long v = name ? strtol(name, &end, 10) : -1;
    if (!name || end == name || *end || v < 0 || v > 1000000000 || find_label(m, (int)v) >= 0) return -1;
    return (int)v;
}

void pt_memory_parents(const pt_memory *m, int label, int *a, int *b)
{
    int i = find_label(m, label);
    *a = i >= 0 ? m->concept[i][1] : -1;
    *b = i >= 0 ? m->concept[i][2] : -1;
}
