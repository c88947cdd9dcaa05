/* Concept composition in the episodic memory (PhaseTower paper, section 7):
 * composite keys from stored exemplars of two concepts, kept when far enough
 * from what is stored, and the guard that refuses composites that would take
 * the vote from stored entries (docs/memory.md). */
#include <math.h>
#include <string.h>
#include "linalg/linalg.h"
#include "memory/memory_internal.h"

/* 1 if all d entries are 0 (a composite of opposite keys). */
static int is_zero(const pt_c32 *k, size_t d)
{
    for (size_t j = 0; j < d; j++)
        if (crealf(k[j]) != 0.0f || cimagf(k[j]) != 0.0f) return 0;
    return 1;
}

/* The guard of compose: for every stored entry s, its k nearest among the
 * other stored entries and the nc candidate keys (the memory's selection:
 * larger similarity first, stored entries before candidates on ties); when G
 * or more of them are candidates, those are marked in refuse. Squared
 * similarities rank the same as similarities.
 * Most entries cannot be affected, and are skipped without comparing them with
 * every other entry: when the G-th best candidate similarity of s (cg) is below
 * the (k-G+1)-th best similarity of s to the other entries of its own label
 * (lb, a lower bound of that rank over all entries), at least k-G+1 stored
 * entries outrank the G-th candidate, so fewer than G candidates are in the
 * top k. The skip needs cg < lb (1 - 1e-5), so that a near tie, whose order
 * depends on rounding, is decided by the full comparison. cg (hi; -1 when
 * there are fewer than G candidates) comes from compose's tau pass, which
 * already compares every candidate with every slot; lb costs one product of
 * each entry with its label's entries; only the entries left are compared
 * with every slot. hi: slots from hi on are empty. */
#define GUARD_CHUNK 64
typedef struct { int label; size_t slot; } guard_item;
static int cmp_item(const void *x, const void *y)
{
    const guard_item *a = x, *b = y;
    if (a->label != b->label) return a->label < b->label ? -1 : 1;
    return a->slot < b->slot ? -1 : a->slot > b->slot;
}

/* |v|^2 */
static inline float sq(pt_c32 v) { return crealf(v) * crealf(v) + cimagf(v) * cimagf(v); }

/* Insert v into the descending list top[0..n) of capacity cap (n counts up to cap). */
static void push_top(float *top, int *n, int cap, float v)
{
    if (*n == cap && !(v > top[cap - 1])) return;
    int i = *n < cap ? (*n)++ : cap - 1;
    while (i > 0 && top[i - 1] < v) top[i] = top[i - 1], i--;
    top[i] = v;
}

static pt_status guard(const pt_memory *m, size_t hi, const pt_c32 *cand, size_t nc, int G, const float *cg,
                       unsigned char *refuse)
{
    size_t d = (size_t)m->cfg.dim, ns = 0;
    int k = m->cfg.k, kk = k < (int)(m->count - 1 + nc) ? k : (int)(m->count - 1 + nc), rank = k - G + 1;
    size_t W = hi + nc;
    guard_item *it = pt_calloc(m->count, sizeof *it);
    pt_c32 *Q = pt_calloc(GUARD_CHUNK * d, sizeof *Q), *S1 = pt_calloc(GUARD_CHUNK * hi, sizeof *S1);
    pt_c32 *S2 = pt_calloc(GUARD_CHUNK * nc, sizeof *S2);
    float *lb = pt_calloc(hi, sizeof *lb), *sim = pt_calloc(W, sizeof *sim);
    float *top = pt_calloc((size_t)k, sizeof *top);
    int *idx = pt_calloc((size_t)k, sizeof *idx);
    size_t *rows = pt_calloc(m->count, sizeof *rows);
    pt_c32 *G1 = NULL;
    pt_status st = PT_OK;
    if (!it || !Q || !S1 || !S2 || !lb || !sim || !top || !idx || !rows) {
        st = pt_fail(PT_ENOMEM, "out of memory for the guard over %zu slots", hi);
        goto out;
    }
    /* stored entries by label, then slot */
    for (size_t j = 0; j < hi; j++)
        if (m->label[j] >= 0) it[ns].label = m->label[j], it[ns++].slot = j;
    qsort(it, ns, sizeof *it, cmp_item);
    /* lb: each label's entries against each other, chunk by chunk */
    for (size_t g0 = 0, g1; g0 < ns; g0 = g1) {
        for (g1 = g0; g1 < ns && it[g1].label == it[g0].label; g1++) continue;
        size_t ng = g1 - g0;
        free(G1);
        if (!(G1 = pt_calloc(ng * d, sizeof *G1))) {
            st = pt_fail(PT_ENOMEM, "out of memory for the guard");
            goto out;
        }
        for (size_t i = 0; i < ng; i++) memcpy(G1 + i * d, m->M + it[g0 + i].slot * d, d * sizeof *G1);
        for (size_t r0 = 0; r0 < ng; r0 += GUARD_CHUNK) {
            size_t nr = ng - r0 < GUARD_CHUNK ? ng - r0 : GUARD_CHUNK;
            pt_c32 *S = S1; /* (nr, ng) fits: ng <= count <= hi */
            pt_cgemm_nc((float *)S, (const float *)(G1 + r0 * d), (const float *)G1, nr, ng, d);
            for (size_t r = 0; r < nr; r++) {
                int n = 0;
                for (size_t j = 0; j < ng; j++)
                    if (j != r0 + r) push_top(top, &n, rank, sq(S[r * ng + j]));
                lb[it[g0 + r0 + r].slot] = n == rank ? top[rank - 1] : -1.0f;
            }
        }
    }
    /* the entries left: compared with every slot and every candidate */
    size_t nl = 0;
    for (size_t j = 0; j < hi; j++)
        if (m->label[j] >= 0 && cg[j] >= 0.0f && !(cg[j] < lb[j] * (1.0f - 1e-5f))) rows[nl++] = j;
    for (size_t r0 = 0; r0 < nl && kk > 0; r0 += GUARD_CHUNK) {
        size_t nr = nl - r0 < GUARD_CHUNK ? nl - r0 : GUARD_CHUNK;
        for (size_t r = 0; r < nr; r++) memcpy(Q + r * d, m->M + rows[r0 + r] * d, d * sizeof *Q);
        pt_cgemm_nc((float *)S1, (const float *)Q, (const float *)m->M, nr, hi, d);
        pt_cgemm_nc((float *)S2, (const float *)Q, (const float *)cand, nr, nc, d);
        for (size_t r = 0; r < nr; r++) {
            size_t s = rows[r0 + r];
            for (size_t j = 0; j < hi; j++) sim[j] = m->label[j] >= 0 && j != s ? sq(S1[r * hi + j]) : -1.0f;
            for (size_t c = 0; c < nc; c++) sim[hi + c] = sq(S2[r * nc + c]);
            pt_select_top(idx, sim, (int)W, kk);
            int nin = 0;
            for (int a = 0; a < kk; a++) nin += (size_t)idx[a] >= hi;
            if (nin < G) continue;
            for (int a = 0; a < kk; a++)
                if ((size_t)idx[a] >= hi) refuse[(size_t)idx[a] - hi] = 1;
        }
    }
out:
    free(it), free(Q), free(S1), free(S2), free(lb), free(sim), free(top), free(idx), free(rows), free(G1);
    return st;
}


/* Exemplars of a and b in slot order (up to `pairs` each) into ia, ib;
 * *top gets the largest label in use (at least n_base - 1), forgotten
 * composed concepts included: the new label goes above it. */
static void exemplars(const pt_memory *m, int a, int b, const pt_compose_opts *o, size_t *ia, size_t *na, size_t *ib,
                      size_t *nb, int *top)
{
    *na = *nb = 0;
    *top = o->n_base - 1;
    for (size_t s = 0; s < (size_t)m->cfg.capacity; s++) {
        if (m->label[s] > *top) *top = m->label[s];
        if (m->label[s] == a && *na < (size_t)o->pairs) ia[(*na)++] = s;
        if (m->label[s] == b && *nb < (size_t)o->pairs) ib[(*nb)++] = s;
    }
    for (int i = 0; i < m->nnames; i++)
        if (m->concept[i][0] > *top) *top = m->concept[i][0];
}

/* The np composite keys normalize(l_a key_a + l_b key_b) (pair i: exemplar
 * i % np0 of a with exemplar (i % np0 + i / np0) % nb of b), with the lengths
 * l the stored vectors had: the key of z_a + z_b, i.e. of the blend of the two
 * exemplars when the code is linear in the image (the dense code of a
 * one-block tower); clen gets each composite's length. */
static void composites(const pt_memory *m, const size_t *ia, const size_t *ib, size_t np0, size_t nb, size_t np,
                       pt_c32 *keys, float *clen)
{
    size_t d = (size_t)m->cfg.dim;
    for (size_t i = 0; i < np; i++) {
        size_t r = i / np0, ja = ia[i % np0], jb = ib[(i % np0 + r) % nb];
        const pt_c32 *ka = m->M + ja * d, *kb = m->M + jb * d;
        float la = m->len[ja], lb = m->len[jb];
        for (size_t j = 0; j < d; j++) keys[i * d + j] = la * ka[j] + lb * kb[j];
        clen[i] = pt_memory_normalize_key(keys + i * d, d);
    }
}

/* Each composite's best similarity to the memory as it is (one cgemm per
 * chunk of composites, so the (chunk, hi) block stays bounded; slots from hi
 * on are empty). With a guard (G > 0), also each slot's G best squared
 * similarities to the candidates (ctop, cnt of them), whose G-th is the
 * guard's cg. */
static pt_status tau_pass(const pt_memory *m, const pt_c32 *keys, size_t np, size_t hi, const pt_compose_opts *o,
                          float *best, float *ctop, int *cnt)
{
    size_t d = (size_t)m->cfg.dim, B = np < RECALL_CHUNK ? np : RECALL_CHUNK;
    int G = o->guard;
    pt_c32 *S = pt_calloc(B * hi, sizeof *S);
    if (!S) return pt_fail(PT_ENOMEM, "out of memory");
    for (size_t i0 = 0; i0 < np; i0 += B) {
        size_t nbk = np - i0 < B ? np - i0 : B;
        pt_cgemm_nc((float *)S, (const float *)(keys + i0 * d), (const float *)m->M, nbk, hi, d);
        for (size_t i = i0; i < i0 + nbk; i++) {
            const pt_c32 *row = S + (i - i0) * hi;
            float b2 = 0.0f; /* squared: one square root per composite, not per slot */
            for (size_t s = 0; s < hi; s++) {
                float v = sq(row[s]);
                if (m->label[s] >= 0 && v > b2) b2 = v;
            }
            best[i] = sqrtf(b2);
            if (G && best[i] < o->tau && !is_zero(keys + i * d, d))
                for (size_t s = 0; s < hi; s++) push_top(ctop + s * (size_t)G, cnt + s, G, sq(row[s]));
        }
    }
    free(S);
    /* in place: ctop[s] gets the G-th of slot s's list, read at s G + G - 1 >= s before it is written */
    for (size_t s = 0; G && s < hi; s++) ctop[s] = cnt[s] == G ? ctop[s * (size_t)G + (size_t)G - 1] : -1.0f;
    return PT_OK;
}

/* Keep the composites i < n with keep(i) (drop[i] == 0), in order, at the front of keys/clen; returns how many. */
static size_t compact(pt_c32 *keys, float *clen, size_t n, size_t d, const unsigned char *drop)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (drop[i]) continue;
        if (k != i) memcpy(keys + k * d, keys + i * d, d * sizeof *keys);
        clen[k++] = clen[i];
    }
    return k;
}

static pt_status check_opts(const pt_memory *m, int a, int b, const pt_compose_opts *o)
{
    int fan = o->fanout ? o->fanout : 1;
    if (!(o->tau > 0.0f && o->tau <= 1.0f)) return pt_fail(PT_EINVAL, "compose.tau %g: must be in (0, 1]", (double)o->tau);
    if (o->pairs < 1 || o->pairs > 10000) return pt_fail(PT_EINVAL, "compose.pairs %d: must be in 1..10000", o->pairs);
    if (fan < 1 || fan > 16) return pt_fail(PT_EINVAL, "compose.fanout %d: must be in 1..16", o->fanout);
    if (o->guard < 0 || o->guard > m->cfg.k)
        return pt_fail(PT_EINVAL, "compose.guard %d: must be in 0..%d (the memory's k)", o->guard, m->cfg.k);
    if (a == b) return pt_fail(PT_EINVAL, "compose: a and b name the same concept");
    if (!pt_memory_name_ok(o->name))
        return pt_fail(PT_EINVAL, "compose.name '%s': use 1-31 characters of A-Z a-z 0-9 + ( ) _ . -", o->name ? o->name : "");
    if (pt_memory_find(m, o->name) >= 0 || m->nnames == PT_MEMORY_MAX_NAMES)
        return pt_fail(PT_EINVAL, "compose.name '%s': already names a concept (or the name table is full)", o->name);
    return PT_OK;
}

/* The candidates that pass tau (far enough, non-zero) and, with a guard, the
 * guard: compacted to the front of keys/clen, their number in *nc; *nref
 * counts those the guard refused. */
static pt_status select_candidates(const pt_memory *m, pt_c32 *keys, float *clen, size_t np, const pt_compose_opts *o,
                                   size_t *nc, size_t *nref)
{
    size_t N = (size_t)m->cfg.capacity, d = (size_t)m->cfg.dim, hi = 0;
    int G = o->guard;
    for (size_t j = 0; j < N; j++)
        if (m->label[j] >= 0) hi = j + 1;
    float *best = pt_calloc(np, sizeof *best), *ctop = G ? pt_calloc(hi * (size_t)G, sizeof *ctop) : NULL;
    int *cnt = G ? pt_calloc(hi, sizeof *cnt) : NULL;
    unsigned char *drop = pt_calloc(np, 1);
    pt_status st = PT_OK;
    if (!best || !drop || (G && (!ctop || !cnt))) st = pt_fail(PT_ENOMEM, "out of memory");
    if (!st) st = tau_pass(m, keys, np, hi, o, best, ctop, cnt);
    *nc = *nref = 0;
    if (!st) {
        for (size_t i = 0; i < np; i++) drop[i] = !(best[i] < o->tau) || is_zero(keys + i * d, d);
        *nc = compact(keys, clen, np, d, drop);
    }
    if (!st && *nc > 0 && G > 0) {
        memset(drop, 0, *nc);
        if (!(st = guard(m, hi, keys, *nc, G, ctop, drop))) {
            size_t n2 = compact(keys, clen, *nc, d, drop);
            *nref = *nc - n2;
            *nc = n2;
        }
    }
    free(best), free(ctop), free(cnt), free(drop);
    return st;
}

pt_status pt_memory_compose(pt_memory *m, int a, int b, const pt_compose_opts *o, int *label, size_t *added,
                            size_t *guarded)
{
    size_t d = (size_t)m->cfg.dim;
    if (guarded) *guarded = 0;
    if (added) *added = 0;
    pt_status st = check_opts(m, a, b, o);
    if (st) return st;
    int fan = o->fanout ? o->fanout : 1, top;
    size_t *ia = pt_calloc((size_t)o->pairs, sizeof *ia), *ib = pt_calloc((size_t)o->pairs, sizeof *ib);
    size_t maxc = (size_t)o->pairs * (size_t)fan, na, nb, nc = 0, nref = 0;
    pt_c32 *keys = pt_calloc(maxc * d, sizeof *keys);
    float *clen = pt_calloc(maxc, sizeof *clen);
    if (!ia || !ib || !keys || !clen) {
        free(ia), free(ib), free(keys), free(clen);
        return pt_fail(PT_ENOMEM, "out of memory");
    }
    exemplars(m, a, b, o, ia, &na, ib, &nb, &top);
    char an[PT_MEMORY_NAME_LEN], bn[PT_MEMORY_NAME_LEN];
    pt_memory_name_of(m, a, an, sizeof an);
    pt_memory_name_of(m, b, bn, sizeof bn);
    size_t np0 = na < nb ? na : nb, np = np0 * (size_t)(fan < (int)nb ? fan : (int)nb);
    if (na == 0 || nb == 0) st = pt_fail(PT_EINVAL, "concept '%s' has no stored exemplar", na == 0 ? an : bn);
    if (!st) {
        composites(m, ia, ib, np0, nb, np, keys, clen);
        st = select_candidates(m, keys, clen, np, o, &nc, &nref);
    }
    if (!st && nc == 0 && nref > 0)
        st = pt_fail(PT_ENOCONV, "compose %s+%s: the guard refused all %zu composites", an, bn, nref);
    else if (!st && nc == 0)
        st = pt_fail(PT_ENOCONV, "compose %s+%s: no composite is farther than tau %g from the memory", an, bn,
                     (double)o->tau);
    if (!st) {
        int nl = top + 1;
        for (size_t i = 0; i < nc; i++) /* already unit keys: key space is where composition happens */
            pt_memory_store(m, keys + i * d, nl, clen[i]);
        m->concept[m->nnames][0] = nl, m->concept[m->nnames][1] = a, m->concept[m->nnames][2] = b;
        snprintf(m->cname[m->nnames], PT_MEMORY_NAME_LEN, "%s", o->name);
        m->nnames++;
        if (label) *label = nl;
        if (added) *added = nc;
    }
    if (guarded) *guarded = nref;
    free(ia), free(ib), free(keys), free(clen);
    return st;
}
