/* The fractal neural field (docs/field.md): a complex deep-equilibrium model
 * on a torus. An image x (height x width, values in [0, 1]) is encoded by a
 * complex 3x3 convolution into an injection u (C complex channels per pixel);
 * the state Z (height x width x C complex) is the fixed point of
 *     F(Z) = act(Wt * Z + u),   Wt = gain K / ||K||,
 * where K * is a complex 3x3 convolution C -> C with periodic padding (the
 * torus) and ||K|| its exact operator norm on that torus (the largest
 * singular value of the C x C symbol over the height x width frequencies).
 * The solver iterates Z <- (1 - alpha) Z + alpha F(Z) from Z = u (naive),
 * accelerates that by Anderson mixing, or runs nonlinear multigrid V-cycles
 * on the torus (the same kernel on grids of half and a quarter the size; the
 * adjoint of implicit gradients then uses Anderson); the readout averages |Z| over a
 * P x P grid of cells and maps the C P^2 features to logits. Trained by
 * Adam on the cross-entropy, with gradients by implicit differentiation (the
 * adjoint fixed point solved by the same solver), Jacobian-free backprop, or
 * backprop through a fixed unroll.
 *
 * Uniqueness: with modReLU (bias <= 0, kept so: 1-Lipschitz) F is a
 * contraction of constant gain when gain < 1; with the cardioid (Lipschitz
 * constant 1.0664) when gain < 0.9378. pt_field_lipschitz says which holds.
 * Complex arrays are interleaved (re, im) floats; the state of one image is
 * (height, width, C) complex, channel last. */
#ifndef PHASETOWER_FIELD_H
#define PHASETOWER_FIELD_H

#include "phasetower/checkpoint.h"
#include "phasetower/core.h"
#include "phasetower/solve.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pt_field_act { PT_FIELD_MODRELU = 0, PT_FIELD_CARDIOID = 1 } pt_field_act;
typedef enum pt_field_solver { PT_FIELD_NAIVE = 0, PT_FIELD_ANDERSON = 1, PT_FIELD_MULTIGRID = 2 } pt_field_solver;
typedef enum pt_field_gradmode { PT_FIELD_IMPLICIT = 0, PT_FIELD_JFB = 1, PT_FIELD_UNROLL = 2 } pt_field_gradmode;
/* ADAM: the readout is trained with the rest (the founding document's way).
 * RIDGE: it is solved in closed form (ridge regression of the one-hot labels
 * on the features of the training images' fixed points, with a bias) before
 * the first epoch and after every epoch; Adam then trains the kernel and the
 * encoder through the fixed readout. */
typedef enum pt_field_readout_fit { PT_FIELD_RIDGE = 0, PT_FIELD_ADAM = 1 } pt_field_readout_fit;

/* The Lipschitz constant of the cardioid (1 + cos arg z) z / 2 on C = R^2 */
#define PT_FIELD_CARDIOID_LIP 1.0663552

typedef struct pt_field_config {
    int height, width; /* image size, 3..512 each */
    int n_classes;     /* 2..256 */
    int channels;      /* C, 1..256 (default 16) */
    pt_field_act act;  /* default modReLU */
    float act_bias;    /* modReLU's initial bias, <= 0 (learned per channel, kept <= 0; default -0.1) */
    int free_bias;     /* 1: modReLU's bias may turn positive while learning (the founding
                        * document's model; no uniqueness guarantee then) */
    float gain;        /* operator norm of Wt, in (0, 4] (default 0.9) */
    float alpha;       /* damping of the iteration, (0, 1] (default 1) */
    int pool;          /* readout grid P, 1..min(height, width) (1: the global average); pixel (y, x) in cell floor(y P / H) P + floor(x P / W), each the mean of its pixels */
    /* the solver (forward, and the adjoint of implicit gradients) */
    pt_field_solver solver; /* default Anderson */
    int max_iter;           /* 1..100000 (default 100) */
    double tol;             /* relative residual, (0, 1) (default 1e-4) */
    int fixed_steps;        /* 1: always max_iter steps, no tolerance stop (the seed's protocol) */
    int anderson_m;         /* history, 1..64 (default 5) */
    double anderson_lambda; /* Tikhonov term relative to the residual scale, >= 0 (default 1e-4) */
    int mg_levels;          /* multigrid: grids, the image's included, 1..4 (default 3: 28 -> 14 -> 7);
                             * each halving needs even sides (an image that cannot be halved that
                             * often is refused, naming the most it allows) */
    /* training */
    pt_field_gradmode grad; /* default implicit */
    int unroll;         /* steps of PT_FIELD_UNROLL, 1..10000 (default 30) */
    float lr;           /* Adam step, > 0 (default 1e-3) */
    int batch;          /* mini-batch, 1..4096 (default 32) */
    pt_field_readout_fit readout; /* how the readout learns (default RIDGE) */
    double ridge;       /* RIDGE: the ridge strength relative to the mean diagonal of X^T X, >= 0 (default 1e-4) */
    uint64_t seed;      /* initialisation and the order of the samples (default 1) */
} pt_field_config;

typedef struct pt_field pt_field;

/* What the solves of one call did: never silent non-convergence. */
typedef struct pt_field_stats {
    size_t images;           /* forward solves */
    size_t unconverged;      /* of them, not within tol (or non-finite) */
    double evals;            /* evaluations of F summed over images */
    size_t adjoint_solves;   /* implicit gradients: adjoint solves */
    size_t adjoint_unconverged;
    double adjoint_evals;
    double loss;             /* training: mean cross-entropy over the epoch */
} pt_field_stats;

/* Defaults as listed above; height 28, width 28, 10 classes, pool 1. */
pt_field_config pt_field_config_default(void);
pt_status pt_field_config_check(const pt_field_config *c); /* PT_EINVAL naming field.<name> */
const char *pt_field_act_name(pt_field_act a);
pt_status pt_field_act_parse(const char *s, pt_field_act *out); /* names field.act */
const char *pt_field_solver_name(pt_field_solver s);
pt_status pt_field_solver_parse(const char *s, pt_field_solver *out); /* names field.solver */
const char *pt_field_readout_name(pt_field_readout_fit r);
pt_status pt_field_readout_parse(const char *s, pt_field_readout_fit *out); /* names field.readout */
/* "implicit", "jfb" or "unroll:N" (N into c->unroll); names field.grad */
pt_status pt_field_grad_parse(const char *s, pt_field_config *c);

/* A new model, initialised from c->seed: K and the encoder with each part
 * N(0, 1 / (9 C_in)), biases 0 but modReLU's (act_bias), the readout
 * N(0, 1 / F) with F = C P^2. */
pt_status pt_field_create(const pt_field_config *c, pt_field **out);
void pt_field_destroy(pt_field *m);
const pt_field_config *pt_field_get_config(const pt_field *m);
/* Solver settings used by predict and by the next training steps (the
 * architecture cannot change): solver, max_iter, tol, fixed_steps,
 * anderson_m, anderson_lambda, alpha, grad, unroll, lr, batch. */
pt_status pt_field_set_run(pt_field *m, const pt_field_config *c);

/* The exact operator norm of K * on the torus (before the gain), the
 * frequency where it is reached, and the Lipschitz bound of F: gain times the
 * activation's constant. *guaranteed is 1 when that bound is < 1 (a unique
 * fixed point, and naive iteration converges from any start); with a free
 * modReLU bias it also needs every bias <= 0 at the time. Any pointer may be
 * NULL. */
pt_status pt_field_spectral(const pt_field *m, double *norm, int *ky, int *kx, double *lipschitz, int *guaranteed);

/* One epoch of Adam over x (n, height*width) in [0, 1], labels y, in a
 * seeded shuffled order (the model's RNG, so a resumed run continues the
 * same sequence); progress (may be NULL) after each mini-batch; stats (may be
 * NULL) gets the solves' report and the mean loss. With the RIDGE readout,
 * the readout is fitted on x before the first epoch and after each one (a
 * forward solve of every image: the stats count them too). */
pt_status pt_field_train(pt_field *m, const float *x, const uint8_t *y, size_t n, pt_field_stats *stats,
                         pt_progress_fn progress, void *user);
/* Fit the readout by ridge regression (strength c->ridge) on the fixed
 * points of x (n images, labels y), whatever the readout mode. */
pt_status pt_field_fit_readout(pt_field *m, const float *x, const uint8_t *y, size_t n, pt_field_stats *stats);
/* Predictions and logits (n, n_classes), each optional, at the solver's
 * result (with fixed_steps: after max_iter steps); stats as for training. */
pt_status pt_field_predict(const pt_field *m, const float *x, size_t n, uint8_t *pred, float *logits,
                           pt_field_stats *stats, pt_progress_fn progress, void *user);
/* The equilibrium of one image by the given solver, max_iter and tol (the
 * model's other settings: alpha, Anderson's, multigrid's), e.g. for a solver
 * comparison, into z (height*width*C complex; NULL: not kept); info as from
 * pt_fixpoint_solve_batch (history, max_iter entries, set or NULL; with
 * multigrid one entry per cycle, work in fine-grid equivalents). states (may
 * be NULL) receives the fine-grid states F was evaluated at, in order, up to
 * nstates of them, for pictures. */
pt_status pt_field_equilibrium(const pt_field *m, const float *x, pt_field_solver solver, int max_iter, double tol,
                               float *z, pt_fixpoint_info *info, float *states, int nstates);

/* The parameters as one vector: K (3, 3, C, C complex: [dy][dx][out][in]),
 * the encoder E (3, 3, C complex), its bias (C complex), with modReLU its
 * biases (C), the readout R (n_classes, C P^2), its bias (n_classes).
 * pt_field_grad: the mean cross-entropy of x and its gradient with respect to
 * that vector (d/d Re and d/d Im interleaved for complex ones) by the
 * configured gradient mode, without changing the model. */
size_t pt_field_param_count(const pt_field *m);
float *pt_field_params(pt_field *m);
const float *pt_field_params_const(const pt_field *m);
pt_status pt_field_grad(pt_field *m, const float *x, const uint8_t *y, size_t n, double *loss, float *grad,
                        pt_field_stats *stats);
/* Call after changing the parameters through pt_field_params: recomputes
 * the normalised kernel (and keeps modReLU's biases <= 0). */
pt_status pt_field_params_changed(pt_field *m);

/* Epochs trained, Adam steps taken. */
int pt_field_epochs(const pt_field *m);

/* Checkpoints, model kind "field" (docs/checkpoint-format.md). With
 * training state (train_state 1): Adam's moments and step, the RNG and the
 * epoch count, so that pt_field_load and more pt_field_train give the same
 * bits as an uninterrupted run. */
pt_status pt_field_to_ckpt(const pt_field *m, int train_state, pt_ckpt *c);
pt_status pt_field_from_ckpt(pt_ckpt *c, pt_field **out);
pt_status pt_field_save(const pt_field *m, int train_state, const char *path);
pt_status pt_field_load(const char *path, pt_field **out);

/* ==== the coordinate text atlas ====
   The coordinate text atlas of the fractal neural field family (issue 18,
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
 */

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
