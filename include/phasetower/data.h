/* PhaseTower data: IDX (MNIST format) reader for plain and gzip files, and
 * dataset loading from a directory holding train-/t10k- images and labels.
 * Images become float in [0,1] (pixel/255), row-major (n, rows*cols).
 * Every size is validated before allocating; failures return a status and set
 * pt_errmsg() to a one-line message naming the file and the problem. */
#ifndef PHASETOWER_DATA_H
#define PHASETOWER_DATA_H

#include "phasetower/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pt_dataset {
    size_t n;          /* number of samples */
    size_t rows, cols; /* image shape */
    size_t dim;        /* rows * cols */
    float *x;          /* (n, dim) owned, values in [0,1] */
    uint8_t *y;        /* (n) owned, labels in [0, n_classes) */
    int n_classes;     /* label range the set was validated against */
} pt_dataset;

/* Read an IDX3 ubyte image file (magic 0x00000803), plain or .gz (detected by
 * content, not name). On success *x is malloc'd (n, rows*cols); caller frees. */
pt_status pt_idx_read_images(const char *path, float **x, size_t *n, size_t *rows, size_t *cols);

/* Read an IDX1 ubyte label file (magic 0x00000801), plain or .gz. */
pt_status pt_idx_read_labels(const char *path, uint8_t **y, size_t *n);

/* Load split "train" or "t10k" from dir: looks for <split>-images-idx3-ubyte[.gz]
 * and <split>-labels-idx1-ubyte[.gz] (also the "<split>-images.idx3-ubyte" spelling).
 * limit > 0 keeps only the first `limit` samples (0 = all). Labels must lie in
 * [0, n_classes); counts of images and labels must match. */
pt_status pt_dataset_load(const char *dir, const char *split, size_t limit, int n_classes, pt_dataset *out);

/* Move the last `n_val` samples of d into *val (d shrinks). n_val < d->n. */
pt_status pt_dataset_split(pt_dataset *d, size_t n_val, pt_dataset *val);

/* Image corruptions for robustness tests, seeded: image i of a call uses its
 * own random stream derived from (seed, first + i), so results do not depend
 * on how a set is split into calls. */
typedef enum pt_corrupt_kind { PT_CORRUPT_NONE = 0, PT_CORRUPT_ROTATE, PT_CORRUPT_NOISE, PT_CORRUPT_TURN } pt_corrupt_kind;
typedef struct pt_corrupt {
    pt_corrupt_kind kind;
    float a, b; /* ROTATE: |angle| uniform in [a, b] degrees, random sign; NOISE: sigma = a; TURN: exactly a degrees */
} pt_corrupt;

/* Parse "rotate:LO-HI" (0 <= LO <= HI <= 180 degrees), "turn:DEGREES" (every
 * image by the same angle, -180..180) or "noise:SIGMA" (0 < SIGMA <= 10).
 * PT_EINVAL quoting the spec on anything else. */
pt_status pt_corrupt_parse(const char *spec, pt_corrupt *out);

/* Corrupt n images x (n, rows*cols) in place: ROTATE turns each image about
 * its centre by its angle with bilinear interpolation (outside pixels read 0);
 * NOISE adds N(0, sigma^2) per pixel. Results are clamped to [0, 1]. first is
 * the index of x[0] in its data set (for the per-image streams). PT_ENOMEM if
 * the one image of scratch cannot be allocated (x is then unchanged). */
pt_status pt_corrupt_apply(const pt_corrupt *c, float *x, size_t n, size_t rows, size_t cols, uint64_t seed,
                           size_t first);

/* out = in (rows x cols) turned by degrees (counterclockwise on screen) about
 * its centre, bilinear, outside pixels 0, clamped to [0, 1]; the rotation of
 * pt_corrupt_apply. out and in must not overlap. */
void pt_image_rotate(float *out, const float *in, size_t rows, size_t cols, double degrees);

/* Write d as <dir>/<split>-images-idx3-ubyte.gz and -labels-idx1-ubyte.gz
 * (pixels rounded to bytes; dir must exist): both to temporary files, both
 * fsynced, then renamed (docs/checkpoint-format.md, "Writing"); on failure
 * neither file is touched. */
pt_status pt_dataset_write(const pt_dataset *d, const char *dir, const char *split);

/* Keep in d only the samples whose class c has keep_class[c] != 0 (keep_class
 * has 256 entries, one per possible label); the others move to *rest (or are dropped when
 * rest is NULL). Order is preserved. */
pt_status pt_dataset_filter(pt_dataset *d, const uint8_t *keep_class, pt_dataset *rest);

/* Evaluation protocols (data sets made from others), shared by the CLI, the
 * benches and the examples:
 * blend: the paper's composition protocol: image j of out is the mean over
 * the nc classes of their j-th image in d (classes[i] < 256), as many images
 * as the rarest class has; labels 0. No model saw such an image.
 * noise: the out-of-distribution set of Gaussian noise: n images of d's shape,
 * pixels 0.5 + N(0, 1) clipped to [0, 1], from a stream seeded by seed;
 * labels 0. PT_EINVAL (blend: a class with no image), PT_ENOMEM. */
pt_status pt_dataset_blend(const pt_dataset *d, const int *classes, int nc, pt_dataset *out);
pt_status pt_dataset_noise(const pt_dataset *like, size_t n, uint64_t seed, pt_dataset *out);

/* Free the arrays of d (NULL-safe) and zero it. */
void pt_dataset_free(pt_dataset *d);

/* ---- numeric time series (series.c) ----
 * A series is a table of doubles, one row per time step and one column per
 * channel, row-major. CSV: one row per line; cells separated by commas, or,
 * in a file whose first row has no comma, by spaces or tabs; an optional
 * first line of channel names (every cell of it non-numeric); "\r\n" line
 * ends are accepted, blank lines only at the end. Strict: a ragged row, an
 * empty cell, a cell that is not a whole number in C's strtod syntax, NaN or
 * Inf, an empty file are refused with PT_EFORMAT and a one-line message naming
 * the file, the line and the column (1-based). */
#define PT_SERIES_MAX_BYTES ((size_t)1 << 31) /* the largest file read */
#define PT_SERIES_MAX_CHANNELS 65536

typedef struct pt_series {
    size_t steps, channels;
    double *x;    /* (steps, channels) owned */
    char **names; /* channels names (owned) when the file had a header, else NULL */
} pt_series;

/* Read path into *out (zeroed first; free with pt_series_free). PT_EIO when
 * the file cannot be read, PT_EFORMAT as above, PT_ENOMEM. */
pt_status pt_series_read_csv(const char *path, pt_series *out);
/* Parse len bytes of CSV text (as pt_series_read_csv; messages name `name`). */
pt_status pt_series_parse_csv(const char *text, size_t len, const char *name, pt_series *out);
/* Write x (steps, channels) to path as CSV, each value printed with %.17g (it
 * reads back to the same double), names (channels strings, or NULL: no
 * header; a name may not hold a comma, quote or line break) as the first
 * line; atomically (temporary file, fsync, rename). PT_EINVAL on a
 * non-finite value or a bad name, PT_EIO. */
pt_status pt_series_write_csv(const char *path, const double *x, size_t steps, size_t channels,
                              const char *const *names);
/* The index of the channel called name, or of the column given as a 0-based
 * number ("2"); PT_EINVAL naming the series' channels otherwise. */
pt_status pt_series_column(const pt_series *s, const char *name, size_t *col);
void pt_series_free(pt_series *s);

#ifdef __cplusplus
}
#endif
#endif
