/* IDX (MNIST format, http://yann.lecun.com/exdb/mnist/) reader for plain and
 * gzip files, and dataset loading/splitting. zlib's gzread reads plain files
 * transparently, so the format is detected by content. Every header size is
 * validated, every read is checked, and a file must end exactly where its
 * header says: short, corrupt or padded files are errors. No allocation is
 * sized from the header alone: the buffers grow with the data actually read
 * (at most twice what has arrived), so a 16-byte header that claims 31 GB
 * fails as "truncated" after reading what is there, not as out of memory. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "internal.h"
#include "io/atomic.h"
#include "phasetower/data.h"

#define IDX_MAGIC_IMAGES 0x00000803u /* unsigned byte, 3 dims */
#define IDX_MAGIC_LABELS 0x00000801u /* unsigned byte, 1 dim */
#define IDX_MAX_SIDE 4096u
#define IDX_MAX_COUNT 10000000u
#define IDX_CHUNK (1u << 16) /* bytes per gzread; well below gzread's int limit */

/* Explain a short or failed gzread. zlib reports a stream that simply ends
 * (plain file or gzip without its trailer) as Z_OK/Z_BUF_ERROR, bad deflate data
 * or a CRC/length mismatch as Z_DATA_ERROR, and a failed read() as Z_ERRNO. */
static pt_status read_fail(gzFile g, const char *path, const char *what)
{
    int err = Z_OK;
    int saved_errno = errno;
    const char *msg = gzerror(g, &err);
    /* zlib prefixes its message with the path; ours already starts with it */
    size_t pl = strlen(path);
    if (msg && strncmp(msg, path, pl) == 0 && msg[pl] == ':' && msg[pl + 1] == ' ') msg += pl + 2;
    if (err == Z_ERRNO) return pt_fail(PT_EIO, "%s: read error: %s", path, strerror(saved_errno));
    if (err == Z_MEM_ERROR) return pt_fail(PT_ENOMEM, "%s: out of memory while decompressing", path);
    if (err != Z_OK && err != Z_BUF_ERROR)
        return pt_fail(PT_EFORMAT, "%s: corrupt gzip stream: %s", path, msg ? msg : "unknown error");
    return pt_fail(PT_EFORMAT, "%s: truncated: %s", path, what);
}

/* Read exactly len (<= IDX_CHUNK) bytes. */
static pt_status read_exact(gzFile g, const char *path, void *buf, unsigned len, const char *what)
{
    errno = 0;
    int got = gzread(g, buf, len);
    if (got < 0 || (unsigned)got != len) return read_fail(g, path, what);
    return PT_OK;
}

/* The data must be followed by end of file. Reading past the data also makes
 * zlib check the gzip trailer (CRC-32 and length), so corruption that kept the
 * length right is caught here. */
static pt_status expect_eof(gzFile g, const char *path)
{
    unsigned char extra;
    errno = 0;
    int got = gzread(g, &extra, 1);
    if (got > 0) return pt_fail(PT_EFORMAT, "%s: trailing bytes after the declared data", path);
    int err = Z_OK;
    (void)gzerror(g, &err);
    if (got < 0 || (err != Z_OK && err != Z_BUF_ERROR)) return read_fail(g, path, "incomplete gzip trailer");
    if (err == Z_BUF_ERROR) return pt_fail(PT_EFORMAT, "%s: truncated: gzip stream ends without its trailer", path);
    return PT_OK;
}

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

/* Open path and read the magic and the ndim big-endian dimensions after it. */
static pt_status open_header(const char *path, uint32_t magic, const char *kind, gzFile *out,
                             uint32_t *dims, unsigned ndim)
{
    *out = NULL;
    errno = 0;
    gzFile g = gzopen(path, "rb");
    if (!g) return pt_fail(PT_EIO, "%s: cannot open: %s", path, strerror(errno ? errno : ENOMEM));
    gzbuffer(g, IDX_CHUNK);

    unsigned char hdr[4 * 4];
    pt_status st = read_exact(g, path, hdr, 4, "file ends inside the IDX header");
    if (st == PT_OK && be32(hdr) != magic)
        st = pt_fail(PT_EFORMAT, "%s: bad magic 0x%08x (expected 0x%08x, IDX %s)", path, (unsigned)be32(hdr),
                     (unsigned)magic, kind);
    if (st == PT_OK) st = read_exact(g, path, hdr, 4 * ndim, "file ends inside the IDX header");
    if (st != PT_OK) {
        gzclose(g);
        return st;
    }
    for (unsigned i = 0; i < ndim; i++) dims[i] = be32(hdr + 4 * i);
    *out = g;
    return PT_OK;
}

/* Make room for at least need elements (of size bytes) in *p, which holds
 * *cap: double the room, but never past max (the header's count). Growing with
 * the data read keeps every allocation within twice what the file really
 * holds. PT_ENOMEM (no message) when realloc fails. */
static pt_status grow(void **p, size_t *cap, size_t need, size_t max, size_t size)
{
    size_t c = *cap ? *cap : (size_t)1 << 16;
    while (c < need) c *= 2;
    if (c > max) c = max;
    void *q = realloc(*p, c * size);
    if (!q) return PT_ENOMEM;
    *p = q, *cap = c;
    return PT_OK;
}

static pt_status check_count(const char *path, uint32_t n, const char *what)
{
    if (n == 0) return pt_fail(PT_EFORMAT, "%s: header declares 0 %s", path, what);
    if (n > IDX_MAX_COUNT)
        return pt_fail(PT_EFORMAT, "%s: header declares %u %s (limit %u)", path, (unsigned)n, what, IDX_MAX_COUNT);
    return PT_OK;
}

pt_status pt_idx_read_images(const char *path, float **x, size_t *n, size_t *rows, size_t *cols)
{
    if (!path || !x || !n || !rows || !cols) return pt_fail(PT_EINVAL, "pt_idx_read_images: NULL argument");
    *x = NULL;

    gzFile g;
    uint32_t dims[3] = {0, 0, 0};
    pt_status st = open_header(path, IDX_MAGIC_IMAGES, "images", &g, dims, 3);
    if (st != PT_OK) return st;

    st = check_count(path, dims[0], "images");
    if (st == PT_OK && (dims[1] == 0 || dims[1] > IDX_MAX_SIDE || dims[2] == 0 || dims[2] > IDX_MAX_SIDE))
        st = pt_fail(PT_EFORMAT, "%s: bad image shape %ux%u (rows and cols must be 1..%u)", path,
                     (unsigned)dims[1], (unsigned)dims[2], IDX_MAX_SIDE);
    size_t dim = (size_t)dims[1] * dims[2]; /* <= 2^24 */
    if (st == PT_OK && (size_t)dims[0] > SIZE_MAX / sizeof(float) / dim)
        st = pt_fail(PT_EFORMAT, "%s: %u images of %ux%u do not fit in memory", path, (unsigned)dims[0],
                     (unsigned)dims[1], (unsigned)dims[2]);
    if (st != PT_OK) {
        gzclose(g);
        return st;
    }

    size_t total = (size_t)dims[0] * dim, cap = 0;
    float *buf = NULL;
    unsigned char *chunk = malloc(IDX_CHUNK);
    if (!chunk) st = pt_fail(PT_ENOMEM, "%s: out of memory", path);

    char what[96];
    snprintf(what, sizeof what, "expected %zu bytes of pixel data", total);
    for (size_t done = 0; st == PT_OK && done < total;) {
        unsigned len = total - done < IDX_CHUNK ? (unsigned)(total - done) : IDX_CHUNK;
        st = read_exact(g, path, chunk, len, what);
        if (st == PT_OK && done + len > cap && (st = grow((void **)&buf, &cap, done + len, total, sizeof *buf)))
            st = pt_fail(st, "%s: out of memory for %zu pixels", path, done + len);
        for (unsigned i = 0; st == PT_OK && i < len; i++) buf[done + i] = (float)chunk[i] / 255.0f;
        done += len;
    }
    if (st == PT_OK) st = expect_eof(g, path);
    free(chunk);
    gzclose(g);
    if (st != PT_OK) {
        free(buf);
        return st;
    }
    *x = buf;
    *n = dims[0];
    *rows = dims[1];
    *cols = dims[2];
    return PT_OK;
}

pt_status pt_idx_read_labels(const char *path, uint8_t **y, size_t *n)
{
    if (!path || !y || !n) return pt_fail(PT_EINVAL, "pt_idx_read_labels: NULL argument");
    *y = NULL;

    gzFile g;
    uint32_t count = 0;
    pt_status st = open_header(path, IDX_MAGIC_LABELS, "labels", &g, &count, 1);
    if (st != PT_OK) return st;
    st = check_count(path, count, "labels");
    uint8_t *buf = NULL;
    size_t cap = 0;
    char what[96];
    snprintf(what, sizeof what, "expected %u bytes of label data", (unsigned)count);
    for (size_t done = 0; st == PT_OK && done < count;) {
        unsigned len = count - done < IDX_CHUNK ? (unsigned)(count - done) : IDX_CHUNK;
        if (done + len > cap && (st = grow((void **)&buf, &cap, done + len, count, 1)))
            st = pt_fail(st, "%s: out of memory for %zu labels", path, done + len);
        if (st == PT_OK) st = read_exact(g, path, buf + done, len, what);
        done += len;
    }
    if (st == PT_OK) st = expect_eof(g, path);
    gzclose(g);
    if (st != PT_OK) {
        free(buf);
        return st;
    }
    *y = buf;
    *n = count;
    return PT_OK;
}

/* First existing file among <dir>/<split>-<kind>-idxN-ubyte[.gz] and
 * <dir>/<split>-<kind>.idxN-ubyte[.gz]. *path is malloc'd, NULL if none. */
static pt_status find_file(const char *dir, const char *split, const char *kind, int idxdim, char **path)
{
    *path = NULL;
    size_t dl = strlen(dir);
    int slash = dl > 0 && dir[dl - 1] != '/';
    size_t cap = dl + strlen(split) + strlen(kind) + 32;
    char *p = malloc(cap);
    if (!p) return pt_fail(PT_ENOMEM, "%s: out of memory", dir);
    static const char *const fmts[4] = { "%s%s%s-%s-idx%d-ubyte.gz", "%s%s%s-%s-idx%d-ubyte",
                                         "%s%s%s-%s.idx%d-ubyte.gz", "%s%s%s-%s.idx%d-ubyte" };
    for (int i = 0; i < 4; i++) {
        snprintf(p, cap, fmts[i], dir, slash ? "/" : "", split, kind, idxdim);
        FILE *f = fopen(p, "rb");
        if (f) {
            fclose(f);
            *path = p;
            return PT_OK;
        }
    }
    free(p);
    return pt_fail(PT_EIO, "%s: no %s %s (looked for %s-%s-idx%d-ubyte[.gz])", dir, split, kind, split, kind, idxdim);
}

pt_status pt_dataset_load(const char *dir, const char *split, size_t limit, int n_classes, pt_dataset *out)
{
    if (!out) return pt_fail(PT_EINVAL, "pt_dataset_load: NULL output");
    memset(out, 0, sizeof *out);
    if (!dir || !split || !*split) return pt_fail(PT_EINVAL, "pt_dataset_load: missing directory or split name");
    if (n_classes < 2 || n_classes > 256)
        return pt_fail(PT_EINVAL, "pt_dataset_load: n_classes %d outside 2..256", n_classes);

    char *ipath = NULL, *lpath = NULL;
    float *x = NULL;
    uint8_t *y = NULL;
    size_t n = 0, rows = 0, cols = 0, ny = 0;
    pt_status st = find_file(dir, split, "images", 3, &ipath);
    if (st == PT_OK) st = find_file(dir, split, "labels", 1, &lpath);
    if (st == PT_OK) st = pt_idx_read_images(ipath, &x, &n, &rows, &cols);
    if (st == PT_OK) st = pt_idx_read_labels(lpath, &y, &ny);
    if (st == PT_OK && ny != n) st = pt_fail(PT_EFORMAT, "%s: %zu labels but %zu images in %s", lpath, ny, n, ipath);
    for (size_t i = 0; st == PT_OK && i < n; i++)
        if (y[i] >= n_classes)
            st = pt_fail(PT_EFORMAT, "%s: label %u at index %zu outside 0..%d", lpath, (unsigned)y[i], i,
                         n_classes - 1);
    free(ipath);
    free(lpath);
    if (st != PT_OK) {
        free(x);
        free(y);
        return st;
    }

    size_t dim = rows * cols;
    if (limit > 0 && limit < n) {
        /* Shrinking never fails in practice; if it does, the larger block stays valid. */
        float *xs = realloc(x, limit * dim * sizeof *x);
        if (xs) x = xs;
        uint8_t *ys = realloc(y, limit);
        if (ys) y = ys;
        n = limit;
    }
    out->n = n;
    out->rows = rows;
    out->cols = cols;
    out->dim = dim;
    out->x = x;
    out->y = y;
    out->n_classes = n_classes;
    return PT_OK;
}

pt_status pt_dataset_split(pt_dataset *d, size_t n_val, pt_dataset *val)
{
    if (!d || !val || d == val) return pt_fail(PT_EINVAL, "pt_dataset_split: NULL or aliased argument");
    memset(val, 0, sizeof *val);
    if (!d->x || !d->y || d->dim == 0) return pt_fail(PT_EINVAL, "pt_dataset_split: empty dataset");
    if (n_val < 1 || n_val >= d->n)
        return pt_fail(PT_EINVAL, "%zu validation samples: must be 1..%zu, leaving at least one of the %zu for training",
                       n_val, d->n > 0 ? d->n - 1 : 0, d->n);

    size_t keep = d->n - n_val;
    float *vx = pt_calloc(n_val * d->dim, sizeof *vx);
    uint8_t *vy = pt_calloc(n_val, 1);
    if (!vx || !vy) {
        free(vx);
        free(vy);
        return pt_fail(PT_ENOMEM, "pt_dataset_split: out of memory for %zu samples", n_val);
    }
    memcpy(vx, d->x + keep * d->dim, n_val * d->dim * sizeof *vx);
    memcpy(vy, d->y + keep, n_val);

    float *xs = realloc(d->x, keep * d->dim * sizeof *xs);
    if (xs) d->x = xs;
    uint8_t *ys = realloc(d->y, keep);
    if (ys) d->y = ys;
    d->n = keep;

    val->n = n_val;
    val->rows = d->rows;
    val->cols = d->cols;
    val->dim = d->dim;
    val->x = vx;
    val->y = vy;
    val->n_classes = d->n_classes;
    return PT_OK;
}

void pt_dataset_free(pt_dataset *d)
{
    if (!d) return;
    free(d->x);
    free(d->y);
    memset(d, 0, sizeof *d);
}

/* ------------------------------------------------------------------ writing */

/* Write one gzip IDX file into the open temporary file a: magic, dims, then
 * the bytes (x as pixels, or the labels y). zlib writes through a descriptor
 * of its own (a dup of a's), which gzclose closes; a stays open for the
 * commit's fsync. 0, or -1 with a->err set when the errno is known. */
static int write_idx(pt_atomic *a, uint32_t magic, const uint32_t *dims, int ndim, const float *x, const uint8_t *y,
                     size_t total)
{
    int fd = dup(a->fd);
    gzFile g = fd >= 0 ? gzdopen(fd, "wb") : NULL;
    if (!g) {
        a->err = fd >= 0 ? ENOMEM : errno;
        if (fd >= 0) close(fd);
        return -1;
    }
    unsigned char hdr[16], buf[4096];
    int ok = 1;
    for (int i = 0; i <= ndim; i++) {
        uint32_t v = i == 0 ? magic : dims[i - 1];
        hdr[4 * i] = (unsigned char)(v >> 24), hdr[4 * i + 1] = (unsigned char)(v >> 16);
        hdr[4 * i + 2] = (unsigned char)(v >> 8), hdr[4 * i + 3] = (unsigned char)v;
    }
    errno = 0;
    ok = gzwrite(g, hdr, (unsigned)(4 * (ndim + 1))) == 4 * (ndim + 1);
    for (size_t i0 = 0; ok && i0 < total; i0 += sizeof buf) {
        size_t nb = total - i0 < sizeof buf ? total - i0 : sizeof buf;
        for (size_t i = 0; i < nb; i++) {
            if (y) {
                buf[i] = y[i0 + i];
            } else {
                float v = x[i0 + i] * 255.0f + 0.5f;
                buf[i] = (unsigned char)(v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v);
            }
        }
        ok = gzwrite(g, buf, (unsigned)nb) == (int)nb;
    }
    ok = gzclose(g) == Z_OK && ok;
    if (!ok && !a->err) a->err = errno ? errno : EIO;
    return ok ? 0 : -1;
}

pt_status pt_dataset_write(const pt_dataset *d, const char *dir, const char *split)
{
    if (d->n > IDX_MAX_COUNT || d->rows > IDX_MAX_SIDE || d->cols > IDX_MAX_SIDE)
        return pt_fail(PT_EINVAL, "%s: data set too large for IDX", dir);
    size_t cap = strlen(dir) + strlen(split) + 40;
    char *pi = malloc(cap), *pl = malloc(cap);
    if (!pi || !pl) {
        free(pi), free(pl);
        return pt_fail(PT_ENOMEM, "out of memory");
    }
    uint32_t dims[3] = {(uint32_t)d->n, (uint32_t)d->rows, (uint32_t)d->cols};
    snprintf(pi, cap, "%s/%s-images-idx3-ubyte.gz", dir, split);
    snprintf(pl, cap, "%s/%s-labels-idx1-ubyte.gz", dir, split);
    /* both files are complete and synced before either is renamed into place */
    pt_atomic a[2];
    pt_status st = pt_atomic_open(&a[0], pi);
    if (!st && (st = pt_atomic_open(&a[1], pl))) pt_atomic_abort(a, 1);
    if (!st) {
        /* a failed write shows in the commit (a->err), which then removes both temporary files */
        if (!write_idx(&a[0], IDX_MAGIC_IMAGES, dims, 3, d->x, NULL, d->n * d->dim))
            write_idx(&a[1], IDX_MAGIC_LABELS, dims, 1, NULL, d->y, d->n);
        st = pt_atomic_commit(a, 2);
    }
    free(pi), free(pl);
    return st;
}

pt_status pt_dataset_filter(pt_dataset *d, const uint8_t *keep_class, pt_dataset *rest)
{
    size_t nk = 0;
    for (size_t i = 0; i < d->n; i++) nk += keep_class[d->y[i]] != 0;
    pt_dataset out = *d, oth = *d;
    out.n = nk, oth.n = d->n - nk;
    out.x = malloc((nk ? nk : 1) * d->dim * sizeof *out.x);
    out.y = malloc(nk ? nk : 1);
    oth.x = rest ? malloc((oth.n ? oth.n : 1) * d->dim * sizeof *oth.x) : NULL;
    oth.y = rest ? malloc(oth.n ? oth.n : 1) : NULL;
    if (!out.x || !out.y || (rest && (!oth.x || !oth.y))) {
        free(out.x), free(out.y), free(oth.x), free(oth.y);
        return pt_fail(PT_ENOMEM, "out of memory");
    }
    size_t a = 0, b = 0;
    for (size_t i = 0; i < d->n; i++) {
        pt_dataset *t = keep_class[d->y[i]] ? &out : &oth;
        size_t *j = keep_class[d->y[i]] ? &a : &b;
        if (t == &oth && !rest) continue;
        memcpy(t->x + *j * d->dim, d->x + i * d->dim, d->dim * sizeof *d->x);
        t->y[*j] = d->y[i];
        (*j)++;
    }
    free(d->x), free(d->y);
    *d = out;
    if (rest) *rest = oth;
    return PT_OK;
}
