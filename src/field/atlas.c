/* The coordinate text atlas (include/phasetower/field.h, its atlas section; docs/atlas.md
 * derives every gradient): Fourier and multiresolution hash-grid features of
 * a coordinate drive a complex state through one spectrally normalised
 * kernel applied `iters` times; a real readout of the last state gives the
 * symbol. Batches are rows; complex arrays are interleaved (re, im); the
 * gradient of a real loss with respect to a complex parameter w is stored as
 * dL/dRe w + i dL/dIm w. Every product goes through src/linalg/linalg.h. */
#include <math.h>
#include <string.h>
#include "field/atlas_internal.h"
#include "internal.h"
#include "linalg/linalg.h"

#define PT_PI 3.14159265358979323846

/* ---- UTF-8 ---- */

pt_status pt_atlas_utf8_decode(const uint8_t *s, size_t len, uint32_t *cp, size_t *n)
{
    size_t k = 0;
    *n = 0;
    for (size_t i = 0; i < len;) {
        uint32_t c = s[i], need, min;
        if (c < 0x80) {
            cp[k++] = c, i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) need = 1, min = 0x80, c &= 0x1F;
        else if (c >= 0xE0 && c <= 0xEF) need = 2, min = 0x800, c &= 0x0F;
        else if (c >= 0xF0 && c <= 0xF4) need = 3, min = 0x10000, c &= 0x07;
        else if (c >= 0x80 && c <= 0xBF) return pt_fail(PT_EINVAL, "byte %zu: a continuation byte 0x%02X with no lead byte", i, c);
        else return pt_fail(PT_EINVAL, "byte %zu: 0x%02X never occurs in UTF-8", i, c);
        if (len - i <= need) return pt_fail(PT_EINVAL, "byte %zu: a %u-byte sequence cut short by the end", i, need + 1);
        for (uint32_t j = 1; j <= need; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return pt_fail(PT_EINVAL, "byte %zu: byte %u of a %u-byte sequence is 0x%02X, not a continuation", i, j + 1,
                               need + 1, s[i + j]);
            c = (c << 6) | (s[i + j] & 0x3Fu);
        }
        if (c < min) return pt_fail(PT_EINVAL, "byte %zu: an overlong encoding of U+%04X", i, c);
        if (c >= 0xD800 && c <= 0xDFFF) return pt_fail(PT_EINVAL, "byte %zu: a UTF-16 surrogate U+%04X", i, c);
        if (c > 0x10FFFF) return pt_fail(PT_EINVAL, "byte %zu: U+%X is beyond U+10FFFF", i, c);
        cp[k++] = c, i += need + 1;
    }
    *n = k;
    return PT_OK;
}

size_t pt_atlas_utf8_encode(const uint32_t *cp, size_t n, uint8_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cp[i];
        if (c < 0x80) {
            out[k++] = (uint8_t)c;
        } else if (c < 0x800) {
            out[k++] = (uint8_t)(0xC0 | (c >> 6)), out[k++] = (uint8_t)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            out[k++] = (uint8_t)(0xE0 | (c >> 12)), out[k++] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
            out[k++] = (uint8_t)(0x80 | (c & 0x3F));
        } else {
            out[k++] = (uint8_t)(0xF0 | (c >> 18)), out[k++] = (uint8_t)(0x80 | ((c >> 12) & 0x3F));
            out[k++] = (uint8_t)(0x80 | ((c >> 6) & 0x3F)), out[k++] = (uint8_t)(0x80 | (c & 0x3F));
        }
    }
    return k;
}

/* ---- configuration and layout ---- */

pt_atlas_config pt_atlas_config_default(void)
{
    pt_atlas_config c = {32, 4, 0.9f, 12, 16, 14, 2, 16, 0, 0, 1, 3e-3f, 1e-2f, 256, 1};
    return c;
}

pt_status pt_atlas_config_check(const pt_atlas_config *c)
{
#define RANGE(f, lo, hi) \
    if (c->f < (lo) || c->f > (hi)) return pt_fail(PT_EINVAL, "atlas." #f " %d outside %d..%d", c->f, (int)(lo), (int)(hi))
    RANGE(dim, 1, 1024);
    RANGE(iters, 1, 64);
    RANGE(octaves, 0, 30);
    RANGE(levels, 0, PT_ATLAS_MAX_LEVELS);
    RANGE(table_log2, 1, 26);
    RANGE(features, 1, 16);
    RANGE(base_res, 1, 1 << 30);
    RANGE(key_size, 0, 1024);
    RANGE(sparse, 0, 1);
    RANGE(batch, 1, 65536);
#undef RANGE
    if (c->max_res != 0 && (c->max_res < c->base_res || c->max_res > (1 << 30)))
        return pt_fail(PT_EINVAL, "atlas.max_res %d: must be 0 (the longest book) or in atlas.base_res (%d)..%d", c->max_res,
                       c->base_res, 1 << 30);
    if (!(c->rho > 0.0f && c->rho < 1.0f)) return pt_fail(PT_EINVAL, "atlas.rho %g: must lie in (0, 1)", (double)c->rho);
    if (!(c->lr > 0.0f) || !isfinite(c->lr))
        return pt_fail(PT_EINVAL, "atlas.lr %g: must be a finite number > 0", (double)c->lr);
    if (!(c->lr_table > 0.0f) || !isfinite(c->lr_table))
        return pt_fail(PT_EINVAL, "atlas.lr_table %g: must be a finite number > 0", (double)c->lr_table);
    return PT_OK;
}

/* Resolutions grow geometrically from base_res to max_res (Mueller et al.
 * 2022, eq. 2-3, rounded to the nearest integer so that the last level is
 * max_res exactly); a level with more grid points than 2^table_log2 hashes
 * them into that many entries, a smaller one stores each point once. */
void pt_atlas_layout(pt_atlas *m)
{
    const pt_atlas_config *c = &m->cfg;
    size_t T = (size_t)1 << c->table_log2, e = 0, D = (size_t)c->dim, K = (size_t)c->key_size;
    double lb = log((double)c->base_res), lm = log((double)c->max_res);
    for (int l = 0; l < c->levels; l++) {
        double r = c->levels == 1 ? (double)c->max_res : exp(lb + (lm - lb) * (double)l / (double)(c->levels - 1));
        m->res[l] = l == c->levels - 1 ? c->max_res : (int)floor(r + 0.5);
        m->ent[l] = (size_t)m->res[l] + 1 < T ? (size_t)m->res[l] + 1 : T;
        m->toff[l] = e;
        e += m->ent[l];
    }
    m->toff[c->levels] = e;
    m->P = 1 + 2 * c->octaves + c->levels * c->features;
    size_t len[PT_ATLAS_PARTS] = {2 * D * D, 2 * (size_t)m->P * D, 2 * K * D, 2 * K * D, m->C * (3 * D + 1),
                                  (size_t)m->nb * K, e * (size_t)c->features};
    m->off[0] = 0;
    for (int p = 0; p < PT_ATLAS_PARTS; p++) m->off[p + 1] = m->off[p] + len[p];
    m->np = m->off[PT_ATLAS_PARTS];
}

pt_status pt_atlas_alloc(const pt_atlas_config *c, const uint32_t *alpha, size_t C, const size_t *len, int nb,
                         pt_atlas **out)
{
    *out = NULL;
    pt_status st = pt_atlas_config_check(c);
    if (st) return st;
    if (c->max_res < c->base_res) return pt_fail(PT_EINVAL, "atlas.max_res %d below atlas.base_res %d", c->max_res, c->base_res);
    if (nb < 1 || nb > PT_ATLAS_MAX_BOOKS) return pt_fail(PT_EINVAL, "atlas: %d books (need 1..%d)", nb, PT_ATLAS_MAX_BOOKS);
    if (nb > 1 && c->key_size == 0)
        return pt_fail(PT_EINVAL, "atlas.key_size 0 with %d books: the books could not be told apart", nb);
    if (C < 1 || C > PT_ATLAS_MAX_ALPHABET)
        return pt_fail(PT_EINVAL, "atlas: an alphabet of %zu symbols (need 1..%d)", C, PT_ATLAS_MAX_ALPHABET);
    pt_atlas *m = pt_calloc(1, sizeof *m);
    if (!m) return pt_fail(PT_ENOMEM, "atlas: out of memory");
    m->cfg = *c, m->nb = nb, m->C = C;
    pt_atlas_layout(m);
    /* bound the parameters before allocating them: 2^31 floats (8 GB) */
    if (m->np > ((size_t)1 << 31)) {
        size_t np = m->np;
        free(m);
        return pt_fail(PT_ENOMEM, "atlas: %zu parameters, more than 2^31", np);
    }
    m->len = pt_calloc((size_t)nb, sizeof *m->len);
    m->alpha = pt_calloc(C, sizeof *m->alpha);
    m->theta = pt_calloc(m->np, sizeof *m->theta);
    pt_adam_config ac = pt_adam_config_default();
    ac.lr = c->lr;
    if (!m->len || !m->alpha || !m->theta || pt_adam_create(&ac, m->off[PT_ATLAS_TABLES], &m->adam)) goto oom;
    ac.lr = c->lr_table;
    if (m->np > m->off[PT_ATLAS_TABLES] && pt_adam_create(&ac, m->np - m->off[PT_ATLAS_TABLES], &m->adam_table)) goto oom;
    memcpy(m->len, len, (size_t)nb * sizeof *len);
    memcpy(m->alpha, alpha, C * sizeof *alpha);
    for (int b = 0; b < nb; b++)
        if (len[b] < 1 || len[b] > PT_ATLAS_MAX_BOOK) {
            size_t n = len[b];
            pt_atlas_destroy(m);
            return pt_fail(PT_EINVAL, "atlas: book %d has %zu symbols (need 1..%zu)", b, n, PT_ATLAS_MAX_BOOK);
        }
    for (size_t i = 0; i < C; i++)
        if (alpha[i] > 0x10FFFF || (i > 0 && alpha[i] <= alpha[i - 1])) {
            pt_atlas_destroy(m);
            return pt_fail(PT_EINVAL, "atlas: alphabet entry %zu is not an ascending code point", i);
        }
    pt_rng_seed(&m->rng, c->seed ^ 0x41544C4153ULL);
    *out = m;
    return PT_OK;
oom: {
    size_t np = m->np;
    pt_atlas_destroy(m);
    return pt_fail(PT_ENOMEM, "atlas: out of memory for %zu parameters", np);
}
}

void pt_atlas_destroy(pt_atlas *m)
{
    if (!m) return;
    pt_adam_destroy(m->adam), pt_adam_destroy(m->adam_table);
    free(m->len), free(m->alpha), free(m->theta), free(m);
}

/* Index of code point s in the alphabet, or -1. */
static long sym_index(const pt_atlas *m, uint32_t s)
{
    size_t lo = 0, hi = m->C;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->alpha[mid] < s) lo = mid + 1;
        else hi = mid;
    }
    return lo < m->C && m->alpha[lo] == s ? (long)lo : -1;
}

pt_status pt_atlas_create(const pt_atlas_config *c, const pt_atlas_text *books, int nb, pt_atlas **out)
{
    *out = NULL;
    pt_status st = pt_atlas_config_check(c);
    if (st) return st;
    if (nb < 1 || nb > PT_ATLAS_MAX_BOOKS) return pt_fail(PT_EINVAL, "atlas: %d books (need 1..%d)", nb, PT_ATLAS_MAX_BOOKS);
    /* the alphabet: a bitmap over the code points, read in ascending order */
    uint8_t *seen = pt_calloc(0x110000 / 8, 1);
    size_t *len = pt_calloc((size_t)nb, sizeof *len), longest = 0, C = 0;
    uint32_t *alpha = NULL;
    if (!seen || !len) {
        st = pt_fail(PT_ENOMEM, "atlas: out of memory");
        goto done;
    }
    for (int b = 0; b < nb; b++) {
        if (books[b].n < 1 || books[b].n > PT_ATLAS_MAX_BOOK) {
            st = pt_fail(PT_EINVAL, "atlas: book %d has %zu symbols (need 1..%zu)", b, books[b].n, PT_ATLAS_MAX_BOOK);
            goto done;
        }
        for (size_t i = 0; i < books[b].n; i++) {
            uint32_t s = books[b].sym[i];
            if (s > 0x10FFFF) {
                st = pt_fail(PT_EINVAL, "atlas: book %d, symbol %zu: U+%X is not a code point", b, i, s);
                goto done;
            }
            if (!(seen[s >> 3] & (1u << (s & 7)))) seen[s >> 3] |= (uint8_t)(1u << (s & 7)), C++;
        }
        len[b] = books[b].n;
        if (len[b] > longest) longest = len[b];
    }
    if (C > PT_ATLAS_MAX_ALPHABET) {
        st = pt_fail(PT_EINVAL, "atlas: %zu distinct symbols, more than %d", C, PT_ATLAS_MAX_ALPHABET);
        goto done;
    }
    if (!(alpha = pt_calloc(C, sizeof *alpha))) {
        st = pt_fail(PT_ENOMEM, "atlas: out of memory");
        goto done;
    }
    for (uint32_t s = 0, k = 0; s < 0x110000; s++)
        if (seen[s >> 3] & (1u << (s & 7))) alpha[k++] = s;
    pt_atlas_config rc = *c;
    if (rc.max_res == 0) {
        if (longest > (size_t)(1 << 30)) longest = (size_t)1 << 30;
        rc.max_res = (int)longest < rc.base_res ? rc.base_res : (int)longest;
    }
    pt_atlas *m = NULL;
    if ((st = pt_atlas_alloc(&rc, alpha, C, len, nb, &m))) goto done;
    /* Initialisation, in this order from one stream: V (each part N(0,
     * 1/(2D)); only its direction matters), A (each part N(0, 1/(1 + 2
     * octaves + levels)), so that the drive starts near unit size), Bk (N(0,
     * 1/K)), G (0: the gate starts open, 1 + k G = 1), R (N(0, 1/(3D+1))),
     * the keys (N(0, 0.01)), the tables (uniform in +-1e-4, as in
     * Instant-NGP). */
    pt_rng r;
    pt_rng_seed(&r, rc.seed);
    float *th = m->theta;
    size_t D = (size_t)rc.dim, K = (size_t)rc.key_size;
    float sdv = sqrtf(1.0f / (2.0f * (float)D)), sda = sqrtf(1.0f / (float)(1 + 2 * rc.octaves + rc.levels));
    float sdb = K ? sqrtf(1.0f / (float)K) : 0.0f, sdr = sqrtf(1.0f / (float)(3 * D + 1));
    const float sd[PT_ATLAS_PARTS] = {sdv, sda, sdb, 0.0f, sdr, 0.1f, 0.0f};
    for (int p = 0; p < PT_ATLAS_TABLES; p++)
        for (size_t i = m->off[p]; p != PT_ATLAS_G && i < m->off[p + 1]; i++) th[i] = sd[p] * pt_rng_normal(&r);
    for (size_t i = m->off[PT_ATLAS_TABLES]; i < m->np; i++) th[i] = 2e-4f * (pt_rng_uniform(&r) - 0.5f);
    *out = m;
done:
    free(seen), free(len), free(alpha);
    return st;
}

const pt_atlas_config *pt_atlas_get_config(const pt_atlas *m) { return &m->cfg; }
int pt_atlas_books(const pt_atlas *m) { return m->nb; }
size_t pt_atlas_length(const pt_atlas *m, int book) { return book >= 0 && book < m->nb ? m->len[book] : 0; }
const uint32_t *pt_atlas_alphabet(const pt_atlas *m, size_t *n)
{
    *n = m->C;
    return m->alpha;
}
int pt_atlas_level_res(const pt_atlas *m, int l) { return l >= 0 && l < m->cfg.levels ? m->res[l] : 0; }
size_t pt_atlas_level_entries(const pt_atlas *m, int l) { return l >= 0 && l < m->cfg.levels ? m->ent[l] : 0; }
double pt_atlas_loss(const pt_atlas *m) { return m->loss; }
double pt_atlas_updated_fraction(const pt_atlas *m) { return m->updated; }
size_t pt_atlas_param_count(const pt_atlas *m) { return m->np; }
float *pt_atlas_params(pt_atlas *m) { return m->theta; }
void pt_atlas_part_range(const pt_atlas *m, pt_atlas_part p, size_t *off, size_t *len)
{
    PT_ASSERT((int)p >= 0 && p < PT_ATLAS_PARTS);
    *off = m->off[p], *len = m->off[p + 1] - m->off[p];
}
const float *pt_atlas_key(const pt_atlas *m, int book)
{
    return m->cfg.key_size > 0 && book >= 0 && book < m->nb ? m->theta + m->off[PT_ATLAS_KEYS] + (size_t)book * (size_t)m->cfg.key_size
                                                            : NULL;
}

/* ---- the workspace of one batch ---- */

typedef struct ws {
    size_t B;
    float *W, *Wc;          /* (D, D) complex: the kernel rho V / sigma, and its conjugate */
    double sigma, *u, *v;   /* V's top singular value and vectors (D complex each) */
    size_t *pos, *len;      /* (B) the coordinate of sample b is (pos + 1/2) / len */
    int *book;              /* (B) whose key a sample uses (train), or -1 */
    int32_t *y;             /* (B) target symbol indices */
    float *kb;              /* (B, K) keys of the samples */
    float *f;               /* (B, P) features */
    size_t *rows;           /* (B, levels, 2) table entries the features read */
    float *wt;              /* (B, levels) interpolation weight of the second entry */
    float *fa, *kg;         /* (B, D) complex: f A and k G */
    float *uin;             /* (B, D) complex drive (f A) .* (1 + k G) + k Bk */
    float *s, *h;           /* (iters, B, D) complex pre-activations s_t and states h_t, t = 1..iters */
    float *y3;              /* (B, 3D + 1) readout input [1, |h|, Re h, Im h] */
    float *logits, *gl;     /* (B, C) */
    float *gy;              /* (B, 3D + 1) */
    float *ga, *gb, *gu;    /* (B, D) complex gradients */
    float *gf;              /* (B, P) */
    float *gkb;             /* (B, K) */
    float *gWc;             /* (D, D) complex: conj(dL/dW), accumulated */
} ws;

static void ws_free(ws *w)
{
    free(w->W), free(w->u), free(w->pos), free(w->len), free(w->book), free(w->y), free(w->kb), free(w->f);
    free(w->rows), free(w->wt), free(w->fa), free(w->kg), free(w->uin), free(w->s), free(w->h), free(w->y3), free(w->logits), free(w->gl);
    free(w->gy), free(w->ga), free(w->gb), free(w->gu), free(w->gf), free(w->gkb), free(w->gWc);
    memset(w, 0, sizeof *w);
}

static pt_status ws_alloc(ws *w, const pt_atlas *m, size_t B)
{
    memset(w, 0, sizeof *w);
    const pt_atlas_config *c = &m->cfg;
    size_t D = (size_t)c->dim, K = (size_t)c->key_size, P = (size_t)m->P, L = (size_t)c->levels, T = (size_t)c->iters;
    size_t k1 = K ? K : 1, l1 = L ? L : 1;
    w->B = B;
    int ok = (w->W = pt_calloc(4 * D * D, sizeof(float))) != NULL && (w->u = pt_calloc(4 * D, sizeof(double))) != NULL;
    ok = ok && (w->pos = pt_calloc(B, sizeof(size_t))) && (w->len = pt_calloc(B, sizeof(size_t)));
    ok = ok && (w->book = pt_calloc(B, sizeof(int))) && (w->y = pt_calloc(B, sizeof(int32_t)));
    ok = ok && (w->kb = pt_calloc(B * k1, sizeof(float))) && (w->f = pt_calloc(B * P, sizeof(float)));
    ok = ok && (w->rows = pt_calloc(2 * B * l1, sizeof(size_t))) && (w->wt = pt_calloc(B * l1, sizeof(float)));
    ok = ok && (w->fa = pt_calloc(2 * B * D, sizeof(float))) && (w->kg = pt_calloc(2 * B * D, sizeof(float)));
    ok = ok && (w->uin = pt_calloc(2 * B * D, sizeof(float))) && (w->s = pt_calloc(2 * T * B * D, sizeof(float)));
    ok = ok && (w->h = pt_calloc(2 * T * B * D, sizeof(float))) && (w->y3 = pt_calloc(B * (3 * D + 1), sizeof(float)));
    ok = ok && (w->logits = pt_calloc(B * m->C, sizeof(float))) && (w->gl = pt_calloc(B * m->C, sizeof(float)));
    ok = ok && (w->gy = pt_calloc(B * (3 * D + 1), sizeof(float))) && (w->ga = pt_calloc(2 * B * D, sizeof(float)));
    ok = ok && (w->gb = pt_calloc(2 * B * D, sizeof(float))) && (w->gu = pt_calloc(2 * B * D, sizeof(float)));
    ok = ok && (w->gf = pt_calloc(B * P, sizeof(float))) && (w->gkb = pt_calloc(B * k1, sizeof(float)));
    ok = ok && (w->gWc = pt_calloc(2 * D * D, sizeof(float)));
    if (!ok) {
        ws_free(w);
        return pt_fail(PT_ENOMEM, "atlas: out of memory for a batch of %zu", B);
    }
    w->Wc = w->W + 2 * D * D;
    w->v = w->u + 2 * D;
    return PT_OK;
}

/* W = rho V / |V|_2 (Miyato et al. 2018, with the exact top singular value
 * instead of their power iteration) and its conjugate. */
static pt_status prepare_kernel(const pt_atlas *m, ws *w)
{
    size_t D = (size_t)m->cfg.dim;
    const float *V = m->theta + m->off[PT_ATLAS_V];
    for (size_t i = 0; i < 2 * D * D; i++)
        if (!isfinite(V[i])) return pt_fail(PT_ENOCONV, "atlas: the kernel V is not finite");
    int info = pt_csvd_top(&w->sigma, w->u, w->v, V, D, D);
    if (info < 0) return pt_fail(PT_ENOMEM, "atlas: out of memory");
    if (info > 0 || !(w->sigma > 1e-30)) return pt_fail(PT_ENOCONV, "atlas: the kernel V has no usable largest singular value");
    double s = (double)m->cfg.rho / w->sigma;
    for (size_t i = 0; i < D * D; i++) {
        w->W[2 * i] = (float)(s * (double)V[2 * i]), w->W[2 * i + 1] = (float)(s * (double)V[2 * i + 1]);
        w->Wc[2 * i] = w->W[2 * i], w->Wc[2 * i + 1] = -w->W[2 * i + 1];
    }
    return PT_OK;
}

/* dL/dV from G = dL/dW (given as its conjugate gWc) through W = rho V / sigma:
 * G_V = (rho / sigma) (G - (c / sigma) u v^H), c = Re sum conj(G) V, since
 * d sigma = Re(u^H dV v) (docs/atlas.md). Added to gV; gWc is zeroed. */
static void kernel_grad(const pt_atlas *m, ws *w, float *gV)
{
    size_t D = (size_t)m->cfg.dim;
    const float *V = m->theta + m->off[PT_ATLAS_V];
    double c = 0.0, rho = (double)m->cfg.rho, sg = w->sigma;
    for (size_t i = 0; i < D * D; i++) /* G = conj(gWc): Re(conj(G) V) = Re(gWc V) */
        c += (double)w->gWc[2 * i] * (double)V[2 * i] - (double)w->gWc[2 * i + 1] * (double)V[2 * i + 1];
    for (size_t i = 0; i < D; i++)
        for (size_t j = 0; j < D; j++) {
            size_t k = i * D + j;
            /* (u v^H)_ij = u_i conj(v_j) */
            double ur = w->u[2 * i], ui = w->u[2 * i + 1], vr = w->v[2 * j], vi = -w->v[2 * j + 1];
            double pr = ur * vr - ui * vi, pi = ur * vi + ui * vr;
            double gr = (double)w->gWc[2 * k], gi = -(double)w->gWc[2 * k + 1];
            gV[2 * k] += (float)(rho / sg * (gr - c / sg * pr));
            gV[2 * k + 1] += (float)(rho / sg * (gi - c / sg * pi));
        }
    memset(w->gWc, 0, 2 * D * D * sizeof(float));
}

/* The table entry of grid point j of level l: j itself on a level stored
 * whole, else a multiplicative hash (Knuth's 2654435761, the top bits). In one
 * dimension Instant-NGP's spatial hash is j mod T (its first prime is 1), which
 * folds the line periodically; this one scatters neighbours. */
static size_t slot(const pt_atlas *m, int l, size_t j)
{
    if (m->ent[l] == (size_t)m->res[l] + 1) return j;
    return (size_t)(((uint32_t)j * 2654435761u) >> (32 - m->cfg.table_log2));
}

/* f = [1, sin(2^k pi x), cos(2^k pi x), hash features] for each sample */
static void features(const pt_atlas *m, ws *w, size_t nb)
{
    const pt_atlas_config *c = &m->cfg;
    size_t P = (size_t)m->P, F = (size_t)c->features, L = (size_t)c->levels;
    const float *tab = m->theta + m->off[PT_ATLAS_TABLES];
    for (size_t b = 0; b < nb; b++) {
        float *f = w->f + b * P;
        double x = ((double)w->pos[b] + 0.5) / (double)w->len[b];
        f[0] = 1.0f;
        for (int k = 0; k < c->octaves; k++) {
            /* sin(2^k pi x) = sin(pi t), t = 2^k x mod 2 (exact in double) */
            double t = fmod(ldexp(x, k), 2.0);
            f[1 + 2 * k] = (float)sin(PT_PI * t), f[2 + 2 * k] = (float)cos(PT_PI * t);
        }
        for (size_t l = 0; l < L; l++) {
            double p = x * (double)m->res[l], fl = floor(p);
            size_t j = (size_t)fl;
            float a = (float)(p - fl);
            size_t r0 = m->toff[l] + slot(m, (int)l, j), r1 = m->toff[l] + slot(m, (int)l, j + 1);
            w->rows[2 * (b * L + l)] = r0, w->rows[2 * (b * L + l) + 1] = r1, w->wt[b * L + l] = a;
            float *fo = f + 1 + 2 * c->octaves + l * F;
            for (size_t q = 0; q < F; q++) fo[q] = (1.0f - a) * tab[r0 * F + q] + a * tab[r1 * F + q];
        }
    }
}

/* act(z) = z / (1 + |z|): radial gain 1 / (1 + r)^2, tangential 1 / (1 + r), so 1-Lipschitz */
static void act_fwd(float *restrict a, const float *restrict s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float x = s[2 * i], y = s[2 * i + 1], g = 1.0f / (1.0f + hypotf(x, y));
        a[2 * i] = g * x, a[2 * i + 1] = g * y;
    }
}

/* g <- J^T g, J the real Jacobian of act at s: g_s = g / (1 + r) - z (z . g) / (r (1 + r)^2) */
static void act_bwd(float *restrict g, const float *restrict s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double x = (double)s[2 * i], y = (double)s[2 * i + 1], r = hypot(x, y), gx = (double)g[2 * i], gy = (double)g[2 * i + 1];
        double q = 1.0 / (1.0 + r), ox = q * gx, oy = q * gy;
        if (r > 0.0) {
            double d = (x * gx + y * gy) * q * q / r;
            ox -= d * x, oy -= d * y;
        }
        g[2 * i] = (float)ox, g[2 * i + 1] = (float)oy;
    }
}

/* Features, drive, iterations and logits for the first nb samples of w (pos,
 * len, kb set; the kernel prepared). */
static void forward(const pt_atlas *m, ws *w, size_t nb)
{
    const pt_atlas_config *c = &m->cfg;
    size_t D = (size_t)c->dim, K = (size_t)c->key_size, P = (size_t)m->P, T = (size_t)c->iters, Y = 3 * D + 1;
    features(m, w, nb);
    /* u = f A (A (P, D complex) is the real matrix (P, 2D): f is real); with
     * keys u = (f A) .* (1 + k G) + k Bk, each product one real sgemm too */
    if (!K) {
        pt_sgemm_nn(w->uin, w->f, m->theta + m->off[PT_ATLAS_A], nb, 2 * D, P, 1.0f, 0.0f);
    } else {
        pt_sgemm_nn(w->fa, w->f, m->theta + m->off[PT_ATLAS_A], nb, 2 * D, P, 1.0f, 0.0f);
        pt_sgemm_nn(w->kg, w->kb, m->theta + m->off[PT_ATLAS_G], nb, 2 * D, K, 1.0f, 0.0f);
        pt_sgemm_nn(w->uin, w->kb, m->theta + m->off[PT_ATLAS_BK], nb, 2 * D, K, 1.0f, 0.0f);
        for (size_t i = 0; i < nb * D; i++) {
            float ar = w->fa[2 * i], ai = w->fa[2 * i + 1], gr = 1.0f + w->kg[2 * i], gi = w->kg[2 * i + 1];
            w->uin[2 * i] += ar * gr - ai * gi, w->uin[2 * i + 1] += ar * gi + ai * gr;
        }
    }
    for (size_t t = 0; t < T; t++) {
        float *s = w->s + 2 * t * w->B * D, *h = w->h + 2 * t * w->B * D;
        if (t == 0) { /* h_0 = 0 */
            memcpy(s, w->uin, 2 * nb * D * sizeof(float));
        } else {
            pt_cgemm(s, w->h + 2 * (t - 1) * w->B * D, w->W, nb, D, D, 'N', 'T', 0.0f); /* s = h W^T */
            for (size_t i = 0; i < 2 * nb * D; i++) s[i] += w->uin[i];
        }
        act_fwd(h, s, nb * D);
    }
    const float *h = w->h + 2 * (T - 1) * w->B * D;
    for (size_t b = 0; b < nb; b++) {
        float *y = w->y3 + b * Y;
        y[0] = 1.0f;
        for (size_t i = 0; i < D; i++) {
            float re = h[2 * (b * D + i)], im = h[2 * (b * D + i) + 1];
            y[1 + i] = hypotf(re, im), y[1 + D + i] = re, y[1 + 2 * D + i] = im;
        }
    }
    pt_sgemm_nt(w->logits, w->y3, m->theta + m->off[PT_ATLAS_R], nb, m->C, Y, 1.0f, 0.0f);
}

/* Sum over the batch of the cross-entropy (nats) of the targets y; gl = scale
 * d(sum)/d logits. */
static double softmax_ce(const pt_atlas *m, ws *w, size_t nb, float scale)
{
    size_t C = m->C;
    double loss = 0.0;
    for (size_t b = 0; b < nb; b++) {
        const float *lg = w->logits + b * C;
        float *g = w->gl + b * C, mx = lg[0];
        for (size_t k = 1; k < C; k++) mx = fmaxf(mx, lg[k]);
        double z = 0.0;
        for (size_t k = 0; k < C; k++) z += exp((double)(lg[k] - mx));
        size_t y = (size_t)w->y[b];
        loss += log(z) - (double)(lg[y] - mx);
        for (size_t k = 0; k < C; k++) g[k] = scale * (float)(exp((double)(lg[k] - mx)) / z - (k == y ? 1.0 : 0.0));
    }
    return loss;
}

/* Back from gl to the drive u (w->gu) and the samples' keys (w->gkb); with
 * grad, also into dL/dR, dL/dA, dL/dBk, conj(dL/dW) (w->gWc) and the hash
 * features (w->gf); the tables and keys are scattered by the caller. */
static void backward(const pt_atlas *m, ws *w, size_t nb, float *grad)
{
    const pt_atlas_config *c = &m->cfg;
    size_t D = (size_t)c->dim, K = (size_t)c->key_size, P = (size_t)m->P, T = (size_t)c->iters, Y = 3 * D + 1;
    const float *R = m->theta + m->off[PT_ATLAS_R];
    if (grad) pt_sgemm_tn(grad + m->off[PT_ATLAS_R], w->gl, w->y3, m->C, Y, nb, 1.0f, 1.0f); /* dL/dR = gl^T y */
    pt_sgemm_nn(w->gy, w->gl, R, nb, Y, m->C, 1.0f, 0.0f);                                  /* dL/dy = gl R */
    /* dL/dh_T: |h| gives gy_abs h / |h|, Re and Im give themselves */
    const float *hT = w->h + 2 * (T - 1) * w->B * D;
    float *g = w->ga, *g2 = w->gb;
    for (size_t b = 0; b < nb; b++)
        for (size_t i = 0; i < D; i++) {
            const float *gy = w->gy + b * Y;
            float re = hT[2 * (b * D + i)], im = hT[2 * (b * D + i) + 1], r = hypotf(re, im);
            float ga = r > 0.0f ? gy[1 + i] / r : 0.0f;
            g[2 * (b * D + i)] = ga * re + gy[1 + D + i], g[2 * (b * D + i) + 1] = ga * im + gy[1 + 2 * D + i];
        }
    memset(w->gu, 0, 2 * nb * D * sizeof(float));
    for (size_t t = T; t-- > 0;) {
        act_bwd(g, w->s + 2 * t * w->B * D, nb * D); /* now dL/ds_t */
        for (size_t i = 0; i < 2 * nb * D; i++) w->gu[i] += g[i];
        if (t == 0) break;
        const float *hp = w->h + 2 * (t - 1) * w->B * D;
        /* s_t = W h_{t-1} + u: dL/dW += g h^H, kept as its conjugate g^H-side product;
         * dL/dh_{t-1} = W^H g, in rows g conj(W) */
        if (grad) pt_cgemm(w->gWc, g, hp, D, D, nb, 'C', 'N', 1.0f);
        pt_cgemm(g2, g, w->Wc, nb, D, D, 'N', 'N', 0.0f);
        float *tmp = g;
        g = g2, g2 = tmp;
    }
    /* ga = dL/d(f A): gu itself without keys; with them, the product rule of
     * u = a z: dL/da = gu conj(z), dL/dz = gu conj(a) (z = 1 + k G), kept in
     * fa and kg, which are no longer needed */
    float *ga = w->gu;
    if (K) {
        for (size_t i = 0; i < nb * D; i++) {
            float ur = w->gu[2 * i], ui = w->gu[2 * i + 1], ar = w->fa[2 * i], ai = w->fa[2 * i + 1];
            float zr = 1.0f + w->kg[2 * i], zi = w->kg[2 * i + 1];
            w->fa[2 * i] = ur * zr + ui * zi, w->fa[2 * i + 1] = ui * zr - ur * zi; /* gu conj(z) */
            w->kg[2 * i] = ur * ar + ui * ai, w->kg[2 * i + 1] = ui * ar - ur * ai; /* gu conj(a) */
        }
        ga = w->fa;
        /* dL/dk = Re(conj(gu) Bk) + Re(conj(gz) G), a row per sample */
        pt_sgemm_nt(w->gkb, w->gu, m->theta + m->off[PT_ATLAS_BK], nb, K, 2 * D, 1.0f, 0.0f);
        pt_sgemm_nt(w->gkb, w->kg, m->theta + m->off[PT_ATLAS_G], nb, K, 2 * D, 1.0f, 1.0f);
    }
    if (!grad) return;
    pt_sgemm_tn(grad + m->off[PT_ATLAS_A], w->f, ga, P, 2 * D, nb, 1.0f, 1.0f); /* dL/dA = f^T ga */
    if (K) {
        pt_sgemm_tn(grad + m->off[PT_ATLAS_BK], w->kb, w->gu, K, 2 * D, nb, 1.0f, 1.0f); /* k^T gu */
        pt_sgemm_tn(grad + m->off[PT_ATLAS_G], w->kb, w->kg, K, 2 * D, nb, 1.0f, 1.0f);  /* k^T gz */
    }
    if (c->levels) pt_sgemm_nt(w->gf, ga, m->theta + m->off[PT_ATLAS_A], nb, P, 2 * D, 1.0f, 0.0f); /* dL/df = Re(conj(ga) A) */
}

/* Scatter the hash features' gradient into the tables (linear interpolation:
 * weights 1 - a and a); rows first touched in this batch are appended to
 * list (when not NULL), stamp marking them with mark. */
static size_t scatter_tables(const pt_atlas *m, const ws *w, size_t nb, float *gtab, uint32_t *stamp, uint32_t mark,
                             size_t *list)
{
    size_t L = (size_t)m->cfg.levels, F = (size_t)m->cfg.features, P = (size_t)m->P, n = 0;
    for (size_t b = 0; b < nb; b++)
        for (size_t l = 0; l < L; l++) {
            const float *gf = w->gf + b * P + 1 + 2 * (size_t)m->cfg.octaves + l * F;
            float a = w->wt[b * L + l];
            for (int e = 0; e < 2; e++) {
                size_t r = w->rows[2 * (b * L + l) + (size_t)e];
                float wgt = e ? a : 1.0f - a;
                for (size_t q = 0; q < F; q++) gtab[r * F + q] += wgt * gf[q];
                if (list && stamp[r] != mark) stamp[r] = mark, list[n++] = r;
            }
        }
    return n;
}

/* ---- books ---- */

/* Symbol indices of the nb books (those the atlas was made for), in one
 * array (*idx, caller frees) of all positions, book after book. */
static pt_status book_indices(const pt_atlas *m, const pt_atlas_text *books, int nb, int32_t **idx)
{
    *idx = NULL;
    if (nb != m->nb) return pt_fail(PT_EINVAL, "atlas: %d books given, the atlas holds %d", nb, m->nb);
    size_t total = 0;
    for (int b = 0; b < nb; b++) {
        if (books[b].n != m->len[b])
            return pt_fail(PT_EINVAL, "atlas: book %d has %zu symbols, the atlas's has %zu", b, books[b].n, m->len[b]);
        total += m->len[b];
    }
    int32_t *x = pt_calloc(total, sizeof *x);
    if (!x) return pt_fail(PT_ENOMEM, "atlas: out of memory");
    for (int b = 0, k = 0; b < nb; b++)
        for (size_t i = 0; i < books[b].n; i++, k++) {
            long s = sym_index(m, books[b].sym[i]);
            if (s < 0) {
                free(x);
                return pt_fail(PT_EINVAL, "atlas: book %d, symbol %zu: U+%04X is not in the alphabet", b, i, books[b].sym[i]);
            }
            x[k] = (int32_t)s;
        }
    *idx = x;
    return PT_OK;
}

static void shuffle(pt_rng *r, size_t *perm, size_t n)
{
    for (size_t i = 0; i < n; i++) perm[i] = i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(pt_rng_u64(r) % (uint64_t)(i + 1)), t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
}

/* Sample k of the batch is position g of all books (book after book):
 * its book, coordinate, target and key. */
static void set_sample(const pt_atlas *m, ws *w, size_t k, size_t g, const size_t *start, const int32_t *idx)
{
    int lo = 0, hi = m->nb - 1;
    while (lo < hi) { /* the last book starting at or before g */
        int mid = (lo + hi + 1) / 2;
        if (start[mid] <= g) lo = mid;
        else hi = mid - 1;
    }
    size_t K = (size_t)m->cfg.key_size;
    w->book[k] = lo, w->pos[k] = g - start[lo], w->len[k] = m->len[lo], w->y[k] = idx[g];
    if (K) memcpy(w->kb + k * K, m->theta + m->off[PT_ATLAS_KEYS] + (size_t)lo * K, K * sizeof(float));
}

/* Every position of the books in batches of cfg.batch: the loss sum and, with
 * grad, the gradient of loss * scale (used by pt_atlas_grad). */
pt_status pt_atlas_grad(const pt_atlas *m, const pt_atlas_text *books, int nb, double *loss, float *grad)
{
    int32_t *idx = NULL;
    pt_status st = book_indices(m, books, nb, &idx);
    if (st) return st;
    size_t total = 0, *start = pt_calloc((size_t)nb, sizeof *start);
    ws w;
    if (!start) {
        free(idx);
        return pt_fail(PT_ENOMEM, "atlas: out of memory");
    }
    for (int b = 0; b < nb; b++) start[b] = total, total += m->len[b];
    size_t B = total < (size_t)m->cfg.batch ? total : (size_t)m->cfg.batch, K = (size_t)m->cfg.key_size;
    if ((st = ws_alloc(&w, m, B)) || (st = prepare_kernel(m, &w))) goto done;
    memset(grad, 0, m->np * sizeof *grad);
    double sum = 0.0;
    for (size_t i0 = 0; i0 < total; i0 += B) {
        size_t n = total - i0 < B ? total - i0 : B;
        for (size_t k = 0; k < n; k++) set_sample(m, &w, k, i0 + k, start, idx);
        forward(m, &w, n);
        sum += softmax_ce(m, &w, n, 1.0f / (float)total);
        backward(m, &w, n, grad);
        for (size_t k = 0; K && k < n; k++)
            for (size_t j = 0; j < K; j++) grad[m->off[PT_ATLAS_KEYS] + (size_t)w.book[k] * K + j] += w.gkb[k * K + j];
        scatter_tables(m, &w, n, grad + m->off[PT_ATLAS_TABLES], NULL, 0, NULL);
    }
    kernel_grad(m, &w, grad + m->off[PT_ATLAS_V]);
    if (loss) *loss = sum / (double)total;
done:
    ws_free(&w);
    free(idx), free(start);
    return st;
}

pt_status pt_atlas_train(pt_atlas *m, const pt_atlas_text *books, int nb, pt_progress_fn progress, void *user)
{
    int32_t *idx = NULL;
    pt_status st = book_indices(m, books, nb, &idx);
    if (st) return st;
    const pt_atlas_config *c = &m->cfg;
    size_t total = 0, K = (size_t)c->key_size, F = (size_t)c->features, rows = m->toff[c->levels];
    size_t *start = pt_calloc((size_t)nb, sizeof *start), *perm = NULL, *list = NULL;
    uint32_t *stamp = NULL;
    float *grad = pt_calloc(m->np, sizeof *grad);
    ws w;
    memset(&w, 0, sizeof w);
    for (int b = 0; start && b < nb; b++) start[b] = total, total += m->len[b];
    size_t B = (size_t)c->batch, L = (size_t)c->levels;
    perm = pt_calloc(total, sizeof *perm);
    list = pt_calloc(2 * B * (L ? L : 1), sizeof *list);
    stamp = pt_calloc(rows ? rows : 1, sizeof *stamp);
    if (!start || !grad || !perm || !list || !stamp) {
        st = pt_fail(PT_ENOMEM, "atlas: out of memory");
        goto done;
    }
    if ((st = ws_alloc(&w, m, B))) goto done;
    shuffle(&m->rng, perm, total);
    double sum = 0.0, upd = 0.0;
    size_t steps = 0, nd = m->off[PT_ATLAS_TABLES];
    float *gtab = grad + nd, *tab = m->theta + nd;
    for (size_t i0 = 0; i0 < total; i0 += B) {
        size_t n = total - i0 < B ? total - i0 : B;
        if ((st = prepare_kernel(m, &w))) goto done;
        for (size_t k = 0; k < n; k++) set_sample(m, &w, k, perm[i0 + k], start, idx);
        forward(m, &w, n);
        sum += softmax_ce(m, &w, n, 1.0f / (float)n);
        backward(m, &w, n, grad);
        for (size_t k = 0; K && k < n; k++)
            for (size_t j = 0; j < K; j++) grad[m->off[PT_ATLAS_KEYS] + (size_t)w.book[k] * K + j] += w.gkb[k * K + j];
        size_t nr = scatter_tables(m, &w, n, gtab, stamp, (uint32_t)(steps + 1), list);
        kernel_grad(m, &w, grad + m->off[PT_ATLAS_V]);
        pt_adam_step(m->adam, m->theta, grad);
        if (m->adam_table) {
            /* sparse: only the entries this batch read are updated (lazy
             * Adam); dense: all of them, those not read with a zero gradient */
            if (c->sparse) pt_adam_step_rows(m->adam_table, tab, gtab, list, nr, F);
            else pt_adam_step(m->adam_table, tab, gtab);
            upd += c->sparse ? (double)nr / (double)rows : 1.0;
        }
        memset(grad, 0, nd * sizeof *grad);
        for (size_t r = 0; r < nr; r++) memset(gtab + list[r] * F, 0, F * sizeof *gtab);
        steps++;
        if (progress) progress(i0 + n, total, user);
    }
    for (size_t k = 0; k < m->np; k++)
        if (!isfinite(m->theta[k])) {
            st = pt_fail(PT_ENOCONV, "atlas: training diverged: a parameter is not finite (lower atlas.lr or atlas.lr_table)");
            goto done;
        }
    m->loss = sum / (double)total;
    m->updated = m->adam_table ? upd / (double)steps : 0.0;
done:
    ws_free(&w);
    free(idx), free(start), free(perm), free(list), free(stamp), free(grad);
    return st;
}

/* ---- reading ---- */

/* Forward positions 0..n-1 of a book of n symbols under key, in batches of up
 * to 1024; fn gets each batch. */
typedef void (*batch_fn)(const pt_atlas *m, const ws *w, size_t i0, size_t nb, void *user);

static pt_status in_batches(const pt_atlas *m, const float *key, size_t n, batch_fn fn, void *user)
{
    size_t K = (size_t)m->cfg.key_size;
    if (n < 1 || n > PT_ATLAS_MAX_BOOK) return pt_fail(PT_EINVAL, "atlas: a book of %zu symbols (need 1..%zu)", n, PT_ATLAS_MAX_BOOK);
    if (K && !key) return pt_fail(PT_EINVAL, "atlas: this atlas needs a key of %zu numbers", K);
    for (size_t j = 0; j < K; j++)
        if (!isfinite(key[j])) return pt_fail(PT_EINVAL, "atlas: key entry %zu is not finite", j);
    ws w;
    size_t B = n < 1024 ? n : 1024;
    pt_status st = ws_alloc(&w, m, B);
    if (st || (st = prepare_kernel(m, &w))) {
        ws_free(&w);
        return st;
    }
    for (size_t k = 0; k < B; k++) {
        w.len[k] = n;
        if (K) memcpy(w.kb + k * K, key, K * sizeof(float));
    }
    for (size_t i0 = 0; i0 < n; i0 += B) {
        size_t nb = n - i0 < B ? n - i0 : B;
        for (size_t k = 0; k < nb; k++) w.pos[k] = i0 + k;
        forward(m, &w, nb);
        fn(m, &w, i0, nb, user);
    }
    ws_free(&w);
    return PT_OK;
}

typedef struct reading {
    uint32_t *out;      /* argmax code points */
    float *logits;
    const int32_t *idx; /* targets, for scoring */
    size_t ok;
    double bits;
} reading;

static void collect(const pt_atlas *m, const ws *w, size_t i0, size_t nb, void *user)
{
    reading *r = user;
    size_t C = m->C;
    if (r->logits) memcpy(r->logits + i0 * C, w->logits, nb * C * sizeof(float));
    for (size_t b = 0; b < nb; b++) {
        const float *lg = w->logits + b * C;
        size_t best = 0;
        for (size_t k = 1; k < C; k++)
            if (lg[k] > lg[best]) best = k;
        if (r->out) r->out[i0 + b] = m->alpha[best];
        if (r->idx) {
            size_t y = (size_t)r->idx[i0 + b];
            double z = 0.0;
            for (size_t k = 0; k < C; k++) z += exp((double)(lg[k] - lg[best]));
            r->bits += (log(z) - (double)(lg[y] - lg[best])) / log(2.0);
            r->ok += best == y;
        }
    }
}

pt_status pt_atlas_decode(const pt_atlas *m, const float *key, size_t n, uint32_t *out)
{
    reading r = {out, NULL, NULL, 0, 0.0};
    return in_batches(m, key, n, collect, &r);
}

pt_status pt_atlas_logits(const pt_atlas *m, const float *key, size_t n, float *logits)
{
    reading r = {NULL, logits, NULL, 0, 0.0};
    return in_batches(m, key, n, collect, &r);
}

/* t as symbol indices of the alphabet (*idx, caller frees). */
static pt_status text_indices(const pt_atlas *m, const pt_atlas_text *t, int32_t **idx)
{
    *idx = NULL;
    if (t->n < 1 || t->n > PT_ATLAS_MAX_BOOK) return pt_fail(PT_EINVAL, "atlas: a text of %zu symbols (need 1..%zu)", t->n, PT_ATLAS_MAX_BOOK);
    int32_t *x = pt_calloc(t->n, sizeof *x);
    if (!x) return pt_fail(PT_ENOMEM, "atlas: out of memory");
    for (size_t i = 0; i < t->n; i++) {
        long s = sym_index(m, t->sym[i]);
        if (s < 0) {
            free(x);
            return pt_fail(PT_EINVAL, "symbol %zu, U+%04X, is not in the atlas's alphabet of %zu symbols", i, t->sym[i], m->C);
        }
        x[i] = (int32_t)s;
    }
    *idx = x;
    return PT_OK;
}

pt_status pt_atlas_score(const pt_atlas *m, const float *key, const pt_atlas_text *t, double *acc, double *bpc)
{
    int32_t *idx = NULL;
    pt_status st = text_indices(m, t, &idx);
    if (st) return st;
    reading r = {NULL, NULL, idx, 0, 0.0};
    st = in_batches(m, key, t->n, collect, &r);
    free(idx);
    if (st) return st;
    if (acc) *acc = (double)r.ok / (double)t->n;
    if (bpc) *bpc = r.bits / (double)t->n;
    return PT_OK;
}

pt_status pt_atlas_kernel(const pt_atlas *m, float *W)
{
    ws w;
    size_t D = (size_t)m->cfg.dim;
    pt_status st = ws_alloc(&w, m, 1);
    if (!st && !(st = prepare_kernel(m, &w))) memcpy(W, w.W, 2 * D * D * sizeof(float));
    ws_free(&w);
    return st;
}

/* ---- a new book's key ---- */

pt_atlas_key_config pt_atlas_key_config_default(void)
{
    pt_atlas_key_config c = {0, 20, 1e-2f, 256, 1};
    return c;
}

static pt_status key_check(const pt_atlas *m, const pt_atlas_key_config *kc)
{
    int K = m->cfg.key_size;
    if (K == 0) return pt_fail(PT_EINVAL, "atlas.key_size is 0: this atlas has no key to learn");
    if (kc->size < 0 || kc->size > K) return pt_fail(PT_EINVAL, "atlas.key.size %d outside 0..%d (the master's key size)", kc->size, K);
    if (kc->epochs < 1 || kc->epochs > 100000) return pt_fail(PT_EINVAL, "atlas.key.epochs %d outside 1..100000", kc->epochs);
    if (!(kc->lr > 0.0f) || !isfinite(kc->lr)) return pt_fail(PT_EINVAL, "atlas.key.lr %g: must be a finite number > 0", (double)kc->lr);
    if (kc->batch < 1 || kc->batch > 65536) return pt_fail(PT_EINVAL, "atlas.key.batch %d outside 1..65536", kc->batch);
    return PT_OK;
}

/* The loss sum over positions pos[0..n) of t (idx: its symbol indices) under
 * key, and (gkey not NULL) d(sum * scale)/d key added to gkey. */
static double key_pass(const pt_atlas *m, ws *w, const float *key, const size_t *pos, size_t n, size_t len,
                       const int32_t *idx, float scale, float *gkey)
{
    size_t K = (size_t)m->cfg.key_size;
    for (size_t k = 0; k < n; k++) {
        w->pos[k] = pos ? pos[k] : k, w->len[k] = len, w->y[k] = idx[w->pos[k]];
        memcpy(w->kb + k * K, key, K * sizeof(float));
    }
    forward(m, w, n);
    double l = softmax_ce(m, w, n, scale);
    if (gkey) {
        backward(m, w, n, NULL);
        for (size_t k = 0; k < n; k++)
            for (size_t j = 0; j < K; j++) gkey[j] += w->gkb[k * K + j];
    }
    return l;
}

pt_status pt_atlas_key_grad(const pt_atlas *m, const float *key, const pt_atlas_text *t, double *loss, float *grad)
{
    size_t K = (size_t)m->cfg.key_size;
    if (!K) return pt_fail(PT_EINVAL, "atlas.key_size is 0: this atlas has no key");
    int32_t *idx = NULL;
    pt_status st = text_indices(m, t, &idx);
    if (st) return st;
    ws w;
    size_t B = t->n < (size_t)m->cfg.batch ? t->n : (size_t)m->cfg.batch;
    if ((st = ws_alloc(&w, m, B)) || (st = prepare_kernel(m, &w))) goto done;
    memset(grad, 0, K * sizeof *grad);
    double sum = 0.0;
    size_t *pos = pt_calloc(B, sizeof *pos);
    if (!pos) {
        st = pt_fail(PT_ENOMEM, "atlas: out of memory");
        goto done;
    }
    for (size_t i0 = 0; i0 < t->n; i0 += B) {
        size_t n = t->n - i0 < B ? t->n - i0 : B;
        for (size_t k = 0; k < n; k++) pos[k] = i0 + k;
        sum += key_pass(m, &w, key, pos, n, t->n, idx, 1.0f / (float)t->n, grad);
    }
    free(pos);
    if (loss) *loss = sum / (double)t->n;
done:
    ws_free(&w);
    free(idx);
    return st;
}

pt_status pt_atlas_learn_key(const pt_atlas *m, const pt_atlas_text *t, const pt_atlas_key_config *kc, float *key,
                             pt_progress_fn progress, void *user)
{
    pt_status st = key_check(m, kc);
    if (st) return st;
    size_t K = (size_t)m->cfg.key_size, ks = kc->size ? (size_t)kc->size : K, n = t->n;
    int32_t *idx = NULL;
    if ((st = text_indices(m, t, &idx))) return st;
    /* start from the mean of the master's keys: the library's average book */
    for (size_t j = 0; j < K; j++) {
        double s = 0.0;
        for (int b = 0; b < m->nb; b++) s += (double)m->theta[m->off[PT_ATLAS_KEYS] + (size_t)b * K + j];
        key[j] = (float)(s / (double)m->nb);
    }
    size_t B = (size_t)kc->batch;
    ws w;
    memset(&w, 0, sizeof w);
    size_t *perm = pt_calloc(n, sizeof *perm);
    float *g = pt_calloc(K, sizeof *g);
    pt_adam *adam = NULL;
    pt_adam_config ac = pt_adam_config_default();
    ac.lr = kc->lr;
    if (!perm || !g || (st = pt_adam_create(&ac, ks, &adam))) {
        st = st ? st : pt_fail(PT_ENOMEM, "atlas: out of memory");
        goto done;
    }
    if ((st = ws_alloc(&w, m, B)) || (st = prepare_kernel(m, &w))) goto done;
    pt_rng r;
    pt_rng_seed(&r, kc->seed ^ 0x4B4559ULL);
    for (int e = 0; e < kc->epochs; e++) {
        shuffle(&r, perm, n);
        for (size_t i0 = 0; i0 < n; i0 += B) {
            size_t nb = n - i0 < B ? n - i0 : B;
            memset(g, 0, K * sizeof *g);
            (void)key_pass(m, &w, key, perm + i0, nb, n, idx, 1.0f / (float)nb, g);
            pt_adam_step(adam, key, g); /* the first ks coordinates only */
            if (progress) progress((size_t)e * n + i0 + nb, (size_t)kc->epochs * n, user);
        }
        for (size_t j = 0; j < K; j++)
            if (!isfinite(key[j])) {
                st = pt_fail(PT_ENOCONV, "atlas: key learning diverged (lower atlas.key.lr)");
                goto done;
            }
    }
done:
    ws_free(&w);
    pt_adam_destroy(adam);
    free(perm), free(g), free(idx);
    return st;
}

/* ---- fingerprint ---- */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001B3ULL;
    return h;
}

uint64_t pt_atlas_fingerprint(const pt_atlas *m)
{
    const pt_atlas_config *c = &m->cfg;
    int32_t f[12] = {c->dim, c->iters, c->octaves, c->levels, c->table_log2, c->features, c->base_res, c->max_res,
                     c->key_size, m->nb, (int32_t)m->C, 0};
    uint64_t h = fnv(0xCBF29CE484222325ULL, f, sizeof f);
    h = fnv(h, &c->rho, sizeof c->rho);
    h = fnv(h, m->alpha, m->C * sizeof *m->alpha);
    for (int b = 0; b < m->nb; b++) {
        uint64_t n = m->len[b];
        h = fnv(h, &n, sizeof n);
    }
    return fnv(h, m->theta, m->np * sizeof *m->theta);
}
