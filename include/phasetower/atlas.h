/* The coordinate text atlas of the fractal neural field family (issue 18,
 * part 6; docs/atlas.md derives every step). A book of n symbols (Unicode
 * code points; its alphabet is the distinct ones) is learned as a map from
 * the coordinate x_i = (i + 1/2) / n in (0, 1) of its symbol i to that symbol:
 *
 *   features  f(x) = [1, sin(2^k pi x), cos(2^k pi x) (k < octaves),
 *                     the hash grid: per level l, F floats interpolated
 *                     linearly between the two grid points around x R_l]
 *   drive     u = f^T A                          (D complex; A (P, D))
 *             with a key k (K reals): u = (f^T A) .* (1 + k^T G) + k^T Bk,
 *             a feature-wise gate and shift (G, Bk (K, D) complex)
 *   state     h_0 = 0, h_t = act(W h_{t-1} + u), t = 1..iters, one kernel W
 *             (D, D complex) shared by every step, W = rho V / |V|_2 (exact
 *             spectral normalisation), act(z) = z / (1 + |z|) (1-Lipschitz),
 *             so each step is a contraction by rho
 *   readout   logits = R [1, |h_T|, Re h_T, Im h_T]   (R (C, 3 D + 1) real)
 *
 * trained by Adam on the mean cross-entropy with hand-written (Wirtinger)
 * gradients. Several books can share one master (V, A, G, Bk, R and the
 * hash tables), each with its own compact latent key (K real numbers); a new
 * book is then learned through its key alone, the master frozen.
 *
 * Complex arrays are interleaved (re, im). Every call is single-threaded
 * unless pt_set_threads asked BLAS for more; the same seed, data and thread
 * count give bit-identical models. Messages name parameters as atlas.<field>.
 * (Self-contained: to be folded into the field family's header.) */
#ifndef PHASETOWER_ATLAS_H
#define PHASETOWER_ATLAS_H

#include "phasetower/checkpoint.h"
#include "phasetower/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PT_ATLAS_MAX_LEVELS 32
#define PT_ATLAS_MAX_BOOK ((size_t)1 << 28) /* symbols of one book */
#define PT_ATLAS_MAX_BOOKS 4096
#define PT_ATLAS_MAX_ALPHABET 65536

/* ---- text ---- */

/* A book as code points (borrowed). */
typedef struct pt_atlas_text {
    const uint32_t *sym;
    size_t n;
} pt_atlas_text;

/* Strict UTF-8 decoding of len bytes into cp (room for len code points; *n
 * gets the count): PT_EINVAL "byte %zu: ..." at the first invalid sequence
 * (a stray continuation byte, a truncated or overlong sequence, a surrogate,
 * a code point above U+10FFFF). A leading byte-order mark is kept as U+FEFF. */
pt_status pt_atlas_utf8_decode(const uint8_t *s, size_t len, uint32_t *cp, size_t *n);
/* UTF-8 encoding of n code points (each at most U+10FFFF, not a surrogate)
 * into out (room for 4 n bytes); the number of bytes. */
size_t pt_atlas_utf8_encode(const uint32_t *cp, size_t n, uint8_t *out);

/* ---- the model ---- */

typedef struct pt_atlas_config {
    int dim;        /* D, complex state, 1..1024 (default 32) */
    int iters;      /* applications of the shared kernel, 1..64 (default 4) */
    float rho;      /* spectral norm of W, in (0, 1) (default 0.9) */
    int octaves;    /* Fourier octaves, 0..30 (default 12) */
    int levels;     /* hash-grid levels, 0..PT_ATLAS_MAX_LEVELS (default 16) */
    int table_log2; /* entries of a level's table at most 2^table_log2, 1..26 (default 14) */
    int features;   /* F, floats per table entry, 1..16 (default 2) */
    int base_res;   /* grid cells of the coarsest level over [0, 1], >= 1 (default 16) */
    int max_res;    /* grid cells of the finest level, >= base_res; 0: the longest book's length
                     * (one cell per symbol); levels in between grow geometrically */
    int key_size;   /* K, 0..1024 (default 0; > 0 when there are several books) */
    int sparse;     /* 1: lazy Adam on the hash tables, only the entries a batch touches are
                     * updated (default); 0: dense Adam over all of them every step */
    float lr;       /* Adam step of V, A, Bk, R and the keys, > 0 (default 0.003) */
    float lr_table; /* Adam step of the hash tables, > 0 (default 0.01) */
    int batch;      /* mini-batch of symbols, 1..65536 (default 256) */
    uint64_t seed;  /* initialisation and shuffling (default 1) */
} pt_atlas_config;
typedef struct pt_atlas pt_atlas;

pt_atlas_config pt_atlas_config_default(void);
/* PT_EINVAL naming the field (max_res 0 is valid: resolved by create). */
pt_status pt_atlas_config_check(const pt_atlas_config *c);

/* A new atlas of nb books (1..PT_ATLAS_MAX_BOOKS, each 1..PT_ATLAS_MAX_BOOK
 * symbols): its alphabet is the sorted union of their symbols, the book
 * lengths are kept (decoding needs them), max_res 0 becomes the longest
 * length. Parameters are drawn from the seed. The texts are not kept.
 * PT_EINVAL (a field, an empty book, several books with key_size 0, an
 * alphabet over PT_ATLAS_MAX_ALPHABET), PT_ENOMEM. */
pt_status pt_atlas_create(const pt_atlas_config *c, const pt_atlas_text *books, int nb, pt_atlas **out);
void pt_atlas_destroy(pt_atlas *m);
/* The configuration, max_res resolved. */
const pt_atlas_config *pt_atlas_get_config(const pt_atlas *m);
int pt_atlas_books(const pt_atlas *m);
size_t pt_atlas_length(const pt_atlas *m, int book); /* 0 for a book out of range */
/* The alphabet (*n code points, ascending), read-only. */
const uint32_t *pt_atlas_alphabet(const pt_atlas *m, size_t *n);
/* Resolution (grid cells) and table entries of level l; 0 out of range. */
int pt_atlas_level_res(const pt_atlas *m, int l);
size_t pt_atlas_level_entries(const pt_atlas *m, int l);

/* One epoch of Adam over every position of the nb books (the same books,
 * in the order given to create: lengths and symbols are checked, PT_EINVAL),
 * in a seeded shuffled order; progress after each mini-batch (done, total
 * positions). PT_ENOCONV when a parameter is no longer finite. */
pt_status pt_atlas_train(pt_atlas *m, const pt_atlas_text *books, int nb, pt_progress_fn progress, void *user);
/* The last epoch's mean cross-entropy (nats), and the mean fraction of the
 * hash tables' entries that a step updated (1 with dense updates). */
double pt_atlas_loss(const pt_atlas *m);
double pt_atlas_updated_fraction(const pt_atlas *m);

/* ---- reading a book back ---- */

/* Book b's key (key_size floats; NULL when key_size is 0 or b is out of range). */
const float *pt_atlas_key(const pt_atlas *m, int book);
/* The argmax symbol of each of the n coordinates of a book of n symbols,
 * under key (key_size floats; NULL when key_size is 0), into out (n code
 * points). PT_EINVAL: n out of range, a NULL key the atlas needs. */
pt_status pt_atlas_decode(const pt_atlas *m, const float *key, size_t n, uint32_t *out);
/* How well the atlas with key predicts text t (its own length): *acc the
 * fraction of symbols that are the argmax, *bpc the mean of -log2 p(symbol)
 * (bits per symbol), either may be NULL. PT_EINVAL naming the first symbol of
 * t outside the alphabet. */
pt_status pt_atlas_score(const pt_atlas *m, const float *key, const pt_atlas_text *t, double *acc, double *bpc);
/* Logits (n, C) of the n symbols of a book of n symbols under key. */
pt_status pt_atlas_logits(const pt_atlas *m, const float *key, size_t n, float *logits);

/* ---- parameters and gradients ----
 * One vector of floats, in this order: V (D, D complex), A (P, D complex),
 * Bk (K, D complex), G (K, D complex), R (C, 3 D + 1), the keys (books, K), the hash tables
 * (level after level, entries (F floats) after entries). P = 1 + 2 octaves +
 * levels F. pt_atlas_grad gives the mean cross-entropy over every position
 * of the books and its gradient with respect to that vector (d/d Re and d/d
 * Im of each complex parameter, interleaved; through the spectral
 * normalisation for V), without changing the model. */
typedef enum pt_atlas_part {
    PT_ATLAS_V = 0, PT_ATLAS_A, PT_ATLAS_BK, PT_ATLAS_G, PT_ATLAS_R, PT_ATLAS_KEYS, PT_ATLAS_TABLES, PT_ATLAS_PARTS
} pt_atlas_part;
size_t pt_atlas_param_count(const pt_atlas *m);
float *pt_atlas_params(pt_atlas *m);
/* Offset and length (floats) of a part of the vector. */
void pt_atlas_part_range(const pt_atlas *m, pt_atlas_part p, size_t *off, size_t *len);
pt_status pt_atlas_grad(const pt_atlas *m, const pt_atlas_text *books, int nb, double *loss, float *grad);
/* The normalised kernel W = rho V / |V|_2 (D, D complex) into W. */
pt_status pt_atlas_kernel(const pt_atlas *m, float *W);

/* ---- a new book through its key alone ---- */

typedef struct pt_atlas_key_config {
    int size;     /* coordinates learned, 1..key_size (the first ones; the others stay at the
                   * mean of the master's keys); 0: all of them (default) */
    int epochs;   /* passes over the book, 1..100000 (default 20) */
    float lr;     /* Adam step, > 0 (default 0.01) */
    int batch;    /* 1..65536 (default 256) */
    uint64_t seed; /* shuffling (default 1) */
} pt_atlas_key_config;
pt_atlas_key_config pt_atlas_key_config_default(void);

/* Learn the key of book t with the master frozen: key (key_size floats,
 * out) starts at the mean of the master's keys, and Adam moves its first
 * size coordinates on the mean cross-entropy over t's positions (score the
 * result with pt_atlas_score). Progress over all epochs' positions.
 * PT_EINVAL: a master without keys, a field of kc (named atlas.key.<field>),
 * t empty or too long, a symbol of t outside the master's alphabet;
 * PT_ENOCONV: the key is no longer finite. */
pt_status pt_atlas_learn_key(const pt_atlas *master, const pt_atlas_text *t, const pt_atlas_key_config *kc,
                             float *key, pt_progress_fn progress, void *user);
/* The mean cross-entropy of t under key and its gradient with respect to
 * the key (key_size floats), the master unchanged. */
pt_status pt_atlas_key_grad(const pt_atlas *master, const float *key, const pt_atlas_text *t, double *loss, float *grad);
/* A 64-bit FNV-1a fingerprint of the master's configuration, alphabet and
 * parameters: a key file names the master it belongs to. */
uint64_t pt_atlas_fingerprint(const pt_atlas *m);

/* ---- files ----
 * The atlas, model kind "atlas" (docs/checkpoint-format.md): its part of an
 * envelope, and alone in one call each (atomic writes; every tensor and
 * metadata entry checked before anything is allocated or used). */
pt_status pt_atlas_to_ckpt(const pt_atlas *m, pt_ckpt *c);
pt_status pt_atlas_from_ckpt(pt_ckpt *c, pt_atlas **out);
pt_status pt_atlas_save(const pt_atlas *m, const char *path);
pt_status pt_atlas_load(const char *path, pt_atlas **out);
/* A key file, model kind "atlas_key": the size learned coordinates of key,
 * the book's length and the master's fingerprint. Loading refuses a key of
 * another master (PT_EFORMAT naming both fingerprints) and fills key
 * (key_size floats) with the stored coordinates and the mean of the master's
 * keys after them; *size and *length get what the file holds. */
pt_status pt_atlas_key_save(const pt_atlas *master, const float *key, int size, size_t length, const char *path);
pt_status pt_atlas_key_load(const pt_atlas *master, const char *path, float *key, int *size, size_t *length);

#ifdef __cplusplus
}
#endif
#endif
