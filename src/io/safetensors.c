/* safetensors reader/writer (format: https://github.com/huggingface/safetensors).
 * The writer pads the header with spaces so the data starts at a multiple of 8,
 * as the reference implementation does; the reader loads the whole file, checks
 * the header against the data (sizes, offsets, exact tiling of the data buffer)
 * and copies any F32/I32 tensor that a foreign file left misaligned. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "internal.h"
#include "io/json.h"
#include "io/safetensors.h"

/* Data is stored little-endian and used in place; there is no byte swapping. */
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes a little-endian host");
#endif

#define ST_MAX_HEADER (100u * 1000u * 1000u) /* 100 MB, the reference implementation's limit */
#define ST_META_KEY "__metadata__"

struct pt_st_file {
    unsigned char *buf;   /* the whole file */
    unsigned char *aux;   /* aligned copies of tensors misaligned in buf */
    pt_st_tensor *t;      /* header order */
    size_t nt;
    size_t *byname;       /* tensor indices sorted by name, for pt_st_find */
    const char **meta;    /* 2*nmeta pointers into metastr: key, value, ... */
    size_t nmeta;
    char *metastr;
};

static const char *const dtype_names[] = { [PT_ST_F32] = "F32", [PT_ST_I32] = "I32", [PT_ST_U8] = "U8" };
static const size_t dtype_sizes[] = { [PT_ST_F32] = 4, [PT_ST_I32] = 4, [PT_ST_U8] = 1 };
#define ST_NDTYPE (sizeof dtype_names / sizeof dtype_names[0])

size_t pt_st_numel(const pt_st_tensor *t)
{
    PT_ASSERT(t && t->ndim >= 0 && t->ndim <= PT_ST_MAXDIM);
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

/* Byte size of a tensor; 0 on success, -1 if it overflows size_t or 2^53 (the
 * largest offset the JSON header can carry exactly). */
static int tensor_bytes(pt_st_dtype dt, int ndim, const size_t *shape, size_t *out)
{
    size_t n = dtype_sizes[dt];
    for (int d = 0; d < ndim; d++) {
        if (shape[d] != 0 && n > SIZE_MAX / shape[d]) return -1;
        n *= shape[d];
    }
    if ((uint64_t)n > PT_JSON_MAXINT) return -1;
    *out = n;
    return 0;
}

/* "[2,3]" for messages. */
static void shape_str(char *dst, size_t cap, int ndim, const size_t *shape)
{
    size_t k = 0;
    k += (size_t)snprintf(dst, cap, "[");
    for (int d = 0; d < ndim && k < cap; d++)
        k += (size_t)snprintf(dst + k, cap - k, "%s%zu", d ? "," : "", shape[d]);
    if (k < cap) snprintf(dst + k, cap - k, "]");
}

/* ---- writer ---- */

static int cmp_name_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static pt_status validate_write(const char *path, const pt_st_tensor *t, size_t nt,
                                const char *const *meta, size_t nmeta)
{
    for (size_t i = 0; i < nt; i++) {
        const pt_st_tensor *x = &t[i];
        const char *nul = memchr(x->name, 0, PT_ST_MAXNAME);
        if (!nul) return pt_fail(PT_EINVAL, "%s: tensor %zu: name is not NUL-terminated within %d bytes", path, i, PT_ST_MAXNAME);
        size_t nlen = (size_t)(nul - x->name);
        if (nlen == 0) return pt_fail(PT_EINVAL, "%s: tensor %zu: empty name", path, i);
        if (strcmp(x->name, ST_META_KEY) == 0)
            return pt_fail(PT_EINVAL, "%s: tensor %zu: name '%s' is reserved", path, i, ST_META_KEY);
        if (!pt_json_utf8_valid(x->name, nlen))
            return pt_fail(PT_EINVAL, "%s: tensor %zu: name is not valid UTF-8", path, i);
        if ((unsigned)x->dtype >= ST_NDTYPE)
            return pt_fail(PT_EINVAL, "%s: tensor '%s': unknown dtype %d", path, x->name, (int)x->dtype);
        if (x->ndim < 0 || x->ndim > PT_ST_MAXDIM)
            return pt_fail(PT_EINVAL, "%s: tensor '%s': ndim %d not in 0..%d", path, x->name, x->ndim, PT_ST_MAXDIM);
        size_t bytes;
        if (tensor_bytes(x->dtype, x->ndim, x->shape, &bytes))
            return pt_fail(PT_EINVAL, "%s: tensor '%s': size overflows", path, x->name);
        if (bytes > 0 && !x->data) return pt_fail(PT_EINVAL, "%s: tensor '%s': data is NULL", path, x->name);
    }
    if (nt > 1) {
        const char **names = pt_calloc(nt, sizeof *names);
        if (!names) return pt_fail(PT_ENOMEM, "%s: out of memory", path);
        for (size_t i = 0; i < nt; i++) names[i] = t[i].name;
        qsort(names, nt, sizeof *names, cmp_name_ptr);
        for (size_t i = 1; i < nt; i++) {
            if (strcmp(names[i - 1], names[i]) == 0) {
                pt_status st = pt_fail(PT_EINVAL, "%s: duplicate tensor name '%s'", path, names[i]);
                free(names);
                return st;
            }
        }
        free(names);
    }
    for (size_t i = 0; i < 2 * nmeta; i++) {
        if (!meta[i]) return pt_fail(PT_EINVAL, "%s: metadata entry %zu is NULL", path, i / 2);
        if (!pt_json_utf8_valid(meta[i], strlen(meta[i])))
            return pt_fail(PT_EINVAL, "%s: metadata entry %zu is not valid UTF-8", path, i / 2);
    }
    for (size_t i = 0; i < nmeta; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(meta[2 * i], meta[2 * j]) == 0)
                return pt_fail(PT_EINVAL, "%s: duplicate metadata key '%s'", path, meta[2 * i]);
    return PT_OK;
}

/* Header JSON, padded with spaces so 8 + len is a multiple of 8. */
static pt_status build_header(const char *path, pt_json_buf *b, const pt_st_tensor *t, size_t nt,
                              const char *const *meta, size_t nmeta)
{
    pt_json_put_lit(b, "{");
    if (nmeta > 0) {
        pt_json_put_string(b, ST_META_KEY);
        pt_json_put_lit(b, ":{");
        for (size_t i = 0; i < nmeta; i++) {
            if (i) pt_json_put_lit(b, ",");
            pt_json_put_string(b, meta[2 * i]);
            pt_json_put_lit(b, ":");
            pt_json_put_string(b, meta[2 * i + 1]);
        }
        pt_json_put_lit(b, "}");
    }
    uint64_t off = 0;
    for (size_t i = 0; i < nt; i++) {
        size_t bytes;
        PT_ASSERT(tensor_bytes(t[i].dtype, t[i].ndim, t[i].shape, &bytes) == 0);
        if (off + bytes > PT_JSON_MAXINT) return pt_fail(PT_EINVAL, "%s: total tensor data too large", path);
        if (i || nmeta) pt_json_put_lit(b, ",");
        pt_json_put_string(b, t[i].name);
        pt_json_put_lit(b, ":{\"dtype\":");
        pt_json_put_string(b, dtype_names[t[i].dtype]);
        pt_json_put_lit(b, ",\"shape\":[");
        for (int d = 0; d < t[i].ndim; d++) {
            if (d) pt_json_put_lit(b, ",");
            pt_json_put_uint(b, t[i].shape[d]);
        }
        pt_json_put_lit(b, "],\"data_offsets\":[");
        pt_json_put_uint(b, off);
        pt_json_put_lit(b, ",");
        pt_json_put_uint(b, off + bytes);
        pt_json_put_lit(b, "]}");
        off += bytes;
    }
    pt_json_put_lit(b, "}");
    while (!b->oom && (8 + b->len) % 8 != 0) pt_json_put_lit(b, " ");
    if (b->oom) return pt_fail(PT_ENOMEM, "%s: out of memory building header", path);
    return PT_OK;
}

static int write_all(FILE *fp, const void *p, size_t n)
{
    return n == 0 || fwrite(p, 1, n, fp) == n ? 0 : -1;
}

static pt_status write_failed(const char *path, int err)
{
    return pt_fail(PT_EIO, "%s: write failed: %s", path, err ? strerror(err) : "short write");
}

pt_status pt_st_write(const char *path, const pt_st_tensor *t, size_t nt,
                      const char *const *meta, size_t nmeta)
{
    if (!path || !*path) return pt_fail(PT_EINVAL, "pt_st_write: empty path");
    if ((nt && !t) || (nmeta && !meta)) return pt_fail(PT_EINVAL, "%s: NULL tensor or metadata array", path);
    pt_status st = validate_write(path, t, nt, meta, nmeta);
    if (st != PT_OK) return st;

    pt_json_buf hdr = { 0 };
    st = build_header(path, &hdr, t, nt, meta, nmeta);
    if (st != PT_OK) {
        pt_json_buf_free(&hdr);
        return st;
    }

    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp) {
        pt_json_buf_free(&hdr);
        return pt_fail(PT_ENOMEM, "%s: out of memory", path);
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);

    unsigned char len8[8];
    for (int k = 0; k < 8; k++) len8[k] = (unsigned char)((uint64_t)hdr.len >> (8 * k));

    int err = 0;
    errno = 0;
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        err = errno;
        goto fail_nofile;
    }
    errno = 0;
    int bad = write_all(fp, len8, 8) || write_all(fp, hdr.p, hdr.len);
    for (size_t i = 0; i < nt && !bad; i++) {
        size_t bytes;
        PT_ASSERT(tensor_bytes(t[i].dtype, t[i].ndim, t[i].shape, &bytes) == 0);
        bad = write_all(fp, t[i].data, bytes);
    }
    if (bad) {
        err = errno;
        fclose(fp);
        goto fail;
    }
    errno = 0;
    if (fclose(fp) != 0) {
        err = errno;
        goto fail;
    }
    errno = 0;
    if (rename(tmp, path) != 0) {
        err = errno;
        goto fail;
    }
    free(tmp);
    pt_json_buf_free(&hdr);
    return PT_OK;

fail:
    remove(tmp);
fail_nofile:
    free(tmp);
    pt_json_buf_free(&hdr);
    return write_failed(path, err);
}

/* ---- reader ---- */

void pt_st_close(pt_st_file *f)
{
    if (!f) return;
    free(f->buf);
    free(f->aux);
    free(f->t);
    free(f->byname);
    free(f->meta);
    free(f->metastr);
    free(f);
}

size_t pt_st_count(const pt_st_file *f) { return f ? f->nt : 0; }

const pt_st_tensor *pt_st_at(const pt_st_file *f, size_t i)
{
    return f && i < f->nt ? &f->t[i] : NULL;
}

const char *pt_st_meta(const pt_st_file *f, const char *key)
{
    if (!f || !key) return NULL;
    for (size_t i = 0; i < f->nmeta; i++)
        if (strcmp(f->meta[2 * i], key) == 0) return f->meta[2 * i + 1];
    return NULL;
}

const pt_st_tensor *pt_st_find(const pt_st_file *f, const char *name)
{
    if (!f || !name) return NULL;
    size_t lo = 0, hi = f->nt;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->t[f->byname[mid]].name, name);
        if (c == 0) return &f->t[f->byname[mid]];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* Per-tensor offsets, kept only while validating. */
typedef struct span {
    uint64_t begin, end;
    size_t idx;
} span;

/* (name, index) pairs: sorted to find duplicate names and to build the pt_st_find index. */
typedef struct name_rec {
    const char *name;
    size_t idx;
} name_rec;

static int cmp_span(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int cmp_name_rec(const void *a, const void *b)
{
    const name_rec *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Load the file: size checks before allocating, every read checked. */
/* The whole file, or with header_only its first 8 + header-length bytes. */
static pt_status load_file(const char *path, int header_only, unsigned char **out, size_t *size_out, size_t *hlen_out)
{
    errno = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return pt_fail(PT_EIO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char len8[8];
    errno = 0;
    size_t got = fread(len8, 1, 8, fp);
    if (got < 8) {
        int err = errno, ioerr = ferror(fp);
        fclose(fp);
        if (ioerr) return pt_fail(PT_EIO, "%s: read failed: %s", path, err ? strerror(err) : "I/O error");
        return pt_fail(PT_EFORMAT, "%s: file too short for a safetensors header (%zu bytes)", path, got);
    }
    uint64_t hlen = 0;
    for (int k = 0; k < 8; k++) hlen |= (uint64_t)len8[k] << (8 * k);
    if (hlen > ST_MAX_HEADER) {
        fclose(fp);
        return pt_fail(PT_EFORMAT, "%s: header length %llu exceeds the %u-byte limit", path,
                       (unsigned long long)hlen, ST_MAX_HEADER);
    }
    errno = 0;
    long end = -1;
    if (fseek(fp, 0, SEEK_END) == 0) end = ftell(fp);
    if (end < 0 || (unsigned long long)end > SIZE_MAX - 1) {
        int err = errno;
        fclose(fp);
        return pt_fail(PT_EIO, "%s: cannot determine file size: %s", path, err ? strerror(err) : "too large");
    }
    size_t size = (size_t)end;
    if (8 + hlen > size) {
        fclose(fp);
        return pt_fail(PT_EFORMAT, "%s: truncated: header length %llu but the file has %zu bytes", path,
                       (unsigned long long)hlen, size);
    }
    if (header_only) size = 8 + (size_t)hlen;
    unsigned char *buf = malloc(size);
    if (!buf) {
        fclose(fp);
        return pt_fail(PT_ENOMEM, "%s: out of memory for %zu bytes", path, size);
    }
    errno = 0;
    if (fseek(fp, 0, SEEK_SET) != 0 || fread(buf, 1, size, fp) != size) {
        int err = errno;
        fclose(fp);
        free(buf);
        return pt_fail(PT_EIO, "%s: read failed: %s", path, err ? strerror(err) : "file changed while reading");
    }
    fclose(fp); /* read-only stream: a close error loses nothing */
    *out = buf;
    *size_out = size;
    *hlen_out = (size_t)hlen;
    return PT_OK;
}

static pt_status parse_meta(const char *path, pt_st_file *f, const pt_json *m)
{
    if (m->type != PT_JSON_OBJECT) return pt_fail(PT_EFORMAT, "%s: %s is not an object", path, ST_META_KEY);
    size_t total = 0;
    for (const pt_json *c = m->child; c; c = c->next) {
        if (c->type != PT_JSON_STRING)
            return pt_fail(PT_EFORMAT, "%s: metadata value for '%.60s' is not a string", path, c->key);
        total += c->keylen + c->len + 2; /* bounded by the header size */
    }
    f->nmeta = m->len;
    f->meta = pt_calloc(2 * m->len, sizeof *f->meta);
    f->metastr = pt_calloc(total, 1);
    if (!f->meta || !f->metastr) return pt_fail(PT_ENOMEM, "%s: out of memory", path);
    char *s = f->metastr;
    size_t i = 0;
    for (const pt_json *c = m->child; c; c = c->next, i++) {
        memcpy(s, c->key, c->keylen + 1);
        f->meta[2 * i] = s;
        s += c->keylen + 1;
        memcpy(s, c->str, c->len + 1);
        f->meta[2 * i + 1] = s;
        s += c->len + 1;
    }
    return PT_OK;
}

/* One tensor entry: fills x (data not yet set) and its span. */
static pt_status parse_tensor(const char *path, const pt_json *e, pt_st_tensor *x, span *sp)
{
    const char *name = e->key;
    if (e->keylen >= PT_ST_MAXNAME)
        return pt_fail(PT_EFORMAT, "%s: tensor name '%.40s...' longer than %d bytes", path, name, PT_ST_MAXNAME - 1);
    memcpy(x->name, name, e->keylen + 1);
    if (e->type != PT_JSON_OBJECT) return pt_fail(PT_EFORMAT, "%s: tensor '%s' entry is not an object", path, name);
    const pt_json *jd = NULL, *js = NULL, *jo = NULL;
    for (const pt_json *c = e->child; c; c = c->next) {
        const pt_json **slot = strcmp(c->key, "dtype") == 0          ? &jd
                               : strcmp(c->key, "shape") == 0        ? &js
                               : strcmp(c->key, "data_offsets") == 0 ? &jo
                                                                     : NULL;
        if (!slot) return pt_fail(PT_EFORMAT, "%s: tensor '%s' has unknown field '%.40s'", path, name, c->key);
        if (*slot) return pt_fail(PT_EFORMAT, "%s: tensor '%s' has duplicate field '%s'", path, name, c->key);
        *slot = c;
    }
    if (!jd || !js || !jo)
        return pt_fail(PT_EFORMAT, "%s: tensor '%s' lacks %s", path, name, !jd ? "dtype" : !js ? "shape" : "data_offsets");

    if (jd->type != PT_JSON_STRING) return pt_fail(PT_EFORMAT, "%s: tensor '%s' dtype is not a string", path, name);
    size_t dt = 0;
    while (dt < ST_NDTYPE && strcmp(jd->str, dtype_names[dt]) != 0) dt++;
    if (dt == ST_NDTYPE)
        return pt_fail(PT_EFORMAT, "%s: tensor '%s' has unsupported dtype '%.16s'", path, name, jd->str);
    x->dtype = (pt_st_dtype)dt;

    if (js->type != PT_JSON_ARRAY) return pt_fail(PT_EFORMAT, "%s: tensor '%s' shape is not an array", path, name);
    if (js->len > PT_ST_MAXDIM)
        return pt_fail(PT_EFORMAT, "%s: tensor '%s' has %zu dimensions (at most %d supported)", path, name, js->len, PT_ST_MAXDIM);
    x->ndim = (int)js->len;
    int d = 0;
    for (const pt_json *c = js->child; c; c = c->next, d++) {
        if (c->type != PT_JSON_INT)
            return pt_fail(PT_EFORMAT, "%s: tensor '%s' shape has an entry that is not a non-negative integer", path, name);
        x->shape[d] = (size_t)c->num;
    }
    char sh[96];
    shape_str(sh, sizeof sh, x->ndim, x->shape);
    size_t bytes;
    if (tensor_bytes(x->dtype, x->ndim, x->shape, &bytes))
        return pt_fail(PT_EFORMAT, "%s: tensor '%s' shape %s is too large", path, name, sh);

    if (jo->type != PT_JSON_ARRAY || jo->len != 2 || jo->child->type != PT_JSON_INT ||
        jo->child->next->type != PT_JSON_INT)
        return pt_fail(PT_EFORMAT, "%s: tensor '%s' data_offsets is not two non-negative integers", path, name);
    uint64_t b = jo->child->num, en = jo->child->next->num;
    if (en < b)
        return pt_fail(PT_EFORMAT, "%s: tensor '%s' data_offsets [%llu,%llu] end before begin", path, name,
                       (unsigned long long)b, (unsigned long long)en);
    if (en - b != (uint64_t)bytes)
        return pt_fail(PT_EFORMAT, "%s: tensor '%s' has %llu bytes for shape %s %s (expected %zu)", path, name,
                       (unsigned long long)(en - b), sh, dtype_names[x->dtype], bytes);
    sp->begin = b;
    sp->end = en;
    return PT_OK;
}

/* The tensors, sorted by offset, must cover [0, data_len) exactly once. */
static pt_status check_tiling(const char *path, const pt_st_file *f, span *sp, size_t data_len)
{
    qsort(sp, f->nt, sizeof *sp, cmp_span);
    uint64_t at = 0;
    for (size_t i = 0; i < f->nt; i++) {
        const char *name = f->t[sp[i].idx].name;
        if (sp[i].begin > at)
            return pt_fail(PT_EFORMAT, "%s: gap in tensor data: tensor '%s' begins at %llu, previous data ends at %llu",
                           path, name, (unsigned long long)sp[i].begin, (unsigned long long)at);
        if (sp[i].begin < at)
            return pt_fail(PT_EFORMAT, "%s: tensor '%s' data at %llu overlaps the previous tensor (ends at %llu)",
                           path, name, (unsigned long long)sp[i].begin, (unsigned long long)at);
        at = sp[i].end;
    }
    if (at > data_len)
        return pt_fail(PT_EFORMAT, "%s: truncated: header says %llu bytes of tensor data, file has %zu", path,
                       (unsigned long long)at, data_len);
    if (at < data_len)
        return pt_fail(PT_EFORMAT, "%s: %zu bytes of tensor data but the header accounts for only %llu", path,
                       data_len, (unsigned long long)at);
    return PT_OK;
}

/* Point each tensor into the buffer; copy F32/I32 data that is not 4-byte aligned
 * (possible in foreign files whose header length is not padded). */
static pt_status place_data(const char *path, pt_st_file *f, const span *byidx, unsigned char *data)
{
    size_t aux_len = 0;
    for (size_t i = 0; i < f->nt; i++) {
        const unsigned char *p = data + byidx[i].begin;
        if (dtype_sizes[f->t[i].dtype] > 1 && (uintptr_t)p % 4 != 0)
            aux_len += (size_t)(byidx[i].end - byidx[i].begin); /* multiple of 4 */
    }
    if (aux_len > 0) {
        f->aux = malloc(aux_len);
        if (!f->aux) return pt_fail(PT_ENOMEM, "%s: out of memory", path);
    }
    size_t at = 0;
    for (size_t i = 0; i < f->nt; i++) {
        const unsigned char *p = data + byidx[i].begin;
        size_t n = (size_t)(byidx[i].end - byidx[i].begin);
        if (dtype_sizes[f->t[i].dtype] > 1 && (uintptr_t)p % 4 != 0) {
            if (n > 0) {
                memcpy(f->aux + at, p, n);
                p = f->aux + at;
                at += n;
            } else {
                p = f->buf; /* empty: any aligned, valid address */
            }
        }
        f->t[i].data = p;
    }
    return PT_OK;
}

static pt_status parse_header(const char *path, pt_st_file *f, const pt_json_doc *doc, size_t data_at,
                              size_t data_len)
{
    const pt_json *root = doc->root;
    if (root->type != PT_JSON_OBJECT) return pt_fail(PT_EFORMAT, "%s: header is not a JSON object", path);
    const pt_json *meta = NULL;
    size_t nt = 0;
    for (const pt_json *c = root->child; c; c = c->next) {
        if (strcmp(c->key, ST_META_KEY) == 0) {
            if (meta) return pt_fail(PT_EFORMAT, "%s: duplicate %s", path, ST_META_KEY);
            meta = c;
        } else {
            nt++;
        }
    }
    if (meta) {
        pt_status st = parse_meta(path, f, meta);
        if (st != PT_OK) return st;
    }

    f->nt = nt;
    f->t = pt_calloc(nt, sizeof *f->t);
    f->byname = pt_calloc(nt, sizeof *f->byname);
    span *sp = pt_calloc(nt, sizeof *sp);
    span *byidx = pt_calloc(nt, sizeof *byidx);
    name_rec *nr = pt_calloc(nt, sizeof *nr);
    pt_status st = PT_OK;
    if (!f->t || !f->byname || !sp || !byidx || !nr) {
        st = pt_fail(PT_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    size_t i = 0;
    for (const pt_json *c = root->child; c; c = c->next) {
        if (c == meta) continue;
        st = parse_tensor(path, c, &f->t[i], &sp[i]);
        if (st != PT_OK) goto done;
        sp[i].idx = i;
        byidx[i] = sp[i];
        nr[i].name = f->t[i].name;
        nr[i].idx = i;
        i++;
    }
    qsort(nr, nt, sizeof *nr, cmp_name_rec);
    for (i = 0; i < nt; i++) {
        if (i > 0 && strcmp(nr[i - 1].name, nr[i].name) == 0) {
            st = pt_fail(PT_EFORMAT, "%s: duplicate tensor name '%s'", path, nr[i].name);
            goto done;
        }
        f->byname[i] = nr[i].idx;
    }
    st = check_tiling(path, f, sp, data_len);
    if (st != PT_OK) goto done;
    st = place_data(path, f, byidx, f->buf + data_at);
done:
    free(sp);
    free(byidx);
    free(nr);
    return st;
}

/* The metadata alone (header_only) or the whole validated file. */
static pt_status read_impl(const char *path, int header_only, pt_st_file **out)
{
    if (!out) return pt_fail(PT_EINVAL, "pt_st_read: NULL output");
    *out = NULL;
    if (!path) return pt_fail(PT_EINVAL, "pt_st_read: NULL path");
    pt_st_file *f = pt_calloc(1, sizeof *f);
    if (!f) return pt_fail(PT_ENOMEM, "%s: out of memory", path);
    size_t size = 0, hlen = 0;
    pt_status st = load_file(path, header_only, &f->buf, &size, &hlen);
    if (st != PT_OK) {
        pt_st_close(f);
        return st;
    }
    pt_json_doc doc;
    st = pt_json_parse(&doc, (const char *)f->buf + 8, hlen);
    if (st == PT_EFORMAT) {
        st = pt_fail(PT_EFORMAT, "%s: bad header JSON at byte %zu: %s", path, 8 + doc.err_pos, doc.err);
    } else if (st == PT_ENOMEM) {
        st = pt_fail(PT_ENOMEM, "%s: out of memory parsing header", path);
    } else if (!header_only) {
        st = parse_header(path, f, &doc, 8 + hlen, size - 8 - hlen);
        pt_json_free(&doc);
    } else {
        const pt_json *root = doc.root, *meta = root->type == PT_JSON_OBJECT ? pt_json_get(root, ST_META_KEY) : NULL;
        st = root->type != PT_JSON_OBJECT ? pt_fail(PT_EFORMAT, "%s: header is not a JSON object", path)
             : meta                      ? parse_meta(path, f, meta)
                                         : PT_OK;
        pt_json_free(&doc);
    }
    if (st != PT_OK) {
        pt_st_close(f);
        return st;
    }
    *out = f;
    return PT_OK;
}

pt_status pt_st_read(const char *path, pt_st_file **out) { return read_impl(path, 0, out); }

pt_status pt_st_read_meta(const char *path, pt_st_file **out) { return read_impl(path, 1, out); }

/* Metadata helpers: each names the file and key on failure. */
pt_status pt_st_meta_str(const pt_st_file *f, const char *path, const char *key, const char **out)
{
    *out = pt_st_meta(f, key);
    if (!*out) return pt_fail(PT_EFORMAT, "%s: metadata has no '%s'", path, key);
    return PT_OK;
}

pt_status pt_st_meta_num(const pt_st_file *f, const char *path, const char *key, double lo, double hi, double *out)
{
    const char *s;
    pt_status st = pt_st_meta_str(f, path, key, &s);
    if (st) return st;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s || *end || errno || !(d >= lo && d <= hi))
        return pt_fail(PT_EFORMAT, "%s: metadata '%s' = '%s' is not a number in [%g, %g]", path, key, s, lo, hi);
    *out = d;
    return PT_OK;
}

pt_status pt_st_get(const pt_st_file *f, const char *path, pt_st_dtype dtype, const char *name, int ndim,
                    const size_t *shape, void *dst)
{
    const pt_st_tensor *t = pt_st_find(f, name);
    if (!t) return pt_fail(PT_EFORMAT, "%s: missing tensor '%s'", path, name);
    int ok = t->dtype == dtype && t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = t->shape[i] == shape[i];
    if (!ok) {
        char want[96] = "", got[96] = "";
        for (int i = 0; i < ndim; i++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%zu", i ? "," : "", shape[i]);
        for (int i = 0; i < t->ndim; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%zu", i ? "," : "", t->shape[i]);
        return pt_fail(PT_EFORMAT, "%s: tensor '%s' has shape [%s] %s, the config says [%s] %s", path, name, got,
                       dtype_names[t->dtype], want, dtype_names[dtype]);
    }
    size_t n = pt_st_numel(t);
    if (n == 0) return PT_OK; /* an empty tensor: dst may be NULL */
    if (dtype == PT_ST_F32) {
        const float *src = t->data;
        for (size_t i = 0; i < n; i++)
            if (!isfinite(src[i])) return pt_fail(PT_EFORMAT, "%s: tensor '%s' holds a non-finite value", path, name);
    }
    memcpy(dst, t->data, n * dtype_sizes[dtype]);
    return PT_OK;
}
