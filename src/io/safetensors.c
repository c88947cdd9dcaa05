/* safetensors reader/writer (format: https://github.com/huggingface/safetensors).
 * The header JSON is parsed and written with jansson. The writer pads the header
 * with spaces so the data starts at a multiple of 8, as the reference
 * implementation does; the reader loads the whole file, checks the header against
 * the data (sizes, offsets, exact tiling of the data buffer) and copies any
 * F32/I32 tensor that a foreign file left misaligned. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "internal.h"
#include "io/atomic.h"
#include "io/safetensors.h"

/* Data is stored little-endian and used in place; there is no byte swapping. */
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes a little-endian host");
#endif

#define ST_MAX_HEADER (100u * 1000u * 1000u) /* 100 MB, the reference implementation's limit */
#define ST_META_KEY "__metadata__"
#define ST_MAX_DEPTH 16 /* nested arrays/objects in the header, root included */
/* Largest dimension or offset: 2^53, so that readers that hold JSON numbers in
 * doubles (Python's json and JavaScript) see every value exactly. */
#define ST_MAX_INT (UINT64_C(1) << 53)

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

static const char *const dtype_names[] = { [PT_ST_F32] = "F32", [PT_ST_I32] = "I32", [PT_ST_U8] = "U8", [PT_ST_F64] = "F64" };
static const size_t dtype_sizes[] = { [PT_ST_F32] = 4, [PT_ST_I32] = 4, [PT_ST_U8] = 1, [PT_ST_F64] = 8 };
#define ST_NDTYPE (sizeof dtype_names / sizeof dtype_names[0])

size_t pt_st_numel(const pt_st_tensor *t)
{
    PT_ASSERT(t && t->ndim >= 0 && t->ndim <= PT_ST_MAXDIM);
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

/* Byte size of a tensor; 0 on success, -1 if it overflows size_t or 2^53 (the
 * largest offset the JSON header can carry exactly), or if a dimension exceeds
 * 2^53 (possible next to a zero dimension; such a header could not be read back). */
static int tensor_bytes(pt_st_dtype dt, int ndim, const size_t *shape, size_t *out)
{
    size_t n = dtype_sizes[dt];
    for (int d = 0; d < ndim; d++) {
        if ((uint64_t)shape[d] > ST_MAX_INT) return -1;
        if (shape[d] != 0 && n > SIZE_MAX / shape[d]) return -1;
        n *= shape[d];
    }
    if ((uint64_t)n > ST_MAX_INT) return -1;
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

/* 1 if s[0..n) is well-formed UTF-8 (RFC 3629: no overlong forms, surrogates or
 * code points above U+10FFFF, the rules jansson applies to the strings it is
 * given). Checked here, without allocating, so that the writer can tell bad
 * input from lack of memory: jansson fails alike for both. */
static int utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = u[i], cp, min;
        size_t k;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) { k = 2; cp = c & 0x1Fu; min = 0x80; }
        else if ((c & 0xF0u) == 0xE0) { k = 3; cp = c & 0x0Fu; min = 0x800; }
        else if (c >= 0xF0 && c <= 0xF4) { k = 4; cp = c & 0x07u; min = 0x10000; }
        else return 0;
        if (n - i < k) return 0;
        for (size_t j = 1; j < k; j++) {
            if ((u[i + j] & 0xC0u) != 0x80) return 0;
            cp = (cp << 6) | (u[i + j] & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += k;
    }
    return 1;
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
        if (!utf8_valid(x->name, nlen))
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
        if (!utf8_valid(meta[i], strlen(meta[i])))
            return pt_fail(PT_EINVAL, "%s: metadata entry %zu is not valid UTF-8", path, i / 2);
    }
    for (size_t i = 0; i < nmeta; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(meta[2 * i], meta[2 * j]) == 0)
                return pt_fail(PT_EINVAL, "%s: duplicate metadata key '%s'", path, meta[2 * i]);
    return PT_OK;
}

/* The header as a jansson tree: metadata first, then the tensors in the given
 * order, each {"dtype","shape","data_offsets"} (jansson keeps insertion order).
 * json_object_set_new and json_array_append_new take the new value's reference
 * even when they fail, and fail on a NULL value, so nothing leaks on any path. */
static pt_status header_tree(const char *path, json_t **out, const pt_st_tensor *t, size_t nt,
                             const char *const *meta, size_t nmeta)
{
    json_t *root = json_object();
    *out = root;
    if (!root) goto oom;
    if (nmeta > 0) {
        json_t *m = json_object();
        if (json_object_set_new(root, ST_META_KEY, m)) goto oom;
        for (size_t i = 0; i < nmeta; i++)
            if (json_object_set_new(m, meta[2 * i], json_string(meta[2 * i + 1]))) goto oom;
    }
    uint64_t off = 0;
    for (size_t i = 0; i < nt; i++) {
        size_t bytes;
        PT_ASSERT(tensor_bytes(t[i].dtype, t[i].ndim, t[i].shape, &bytes) == 0);
        if (off + bytes > ST_MAX_INT) return pt_fail(PT_EINVAL, "%s: total tensor data too large", path);
        json_t *e = json_object();
        if (json_object_set_new(root, t[i].name, e) ||
            json_object_set_new(e, "dtype", json_string(dtype_names[t[i].dtype])))
            goto oom;
        json_t *sh = json_array();
        if (json_object_set_new(e, "shape", sh)) goto oom;
        for (int d = 0; d < t[i].ndim; d++) /* <= 2^53 (tensor_bytes), so exact in json_int_t */
            if (json_array_append_new(sh, json_integer((json_int_t)t[i].shape[d]))) goto oom;
        json_t *of = json_array();
        if (json_object_set_new(e, "data_offsets", of) || json_array_append_new(of, json_integer((json_int_t)off)) ||
            json_array_append_new(of, json_integer((json_int_t)(off + bytes))))
            goto oom;
        off += bytes;
    }
    return PT_OK;
oom:
    return pt_fail(PT_ENOMEM, "%s: out of memory building header", path);
}

/* Header JSON, compact ({"k":"v","w":{...}}: no spaces), padded with spaces so
 * 8 + len is a multiple of 8. On success *out (len bytes, not NUL-terminated) is
 * the caller's to free. */
static pt_status build_header(const char *path, char **out, size_t *len, const pt_st_tensor *t, size_t nt,
                              const char *const *meta, size_t nmeta)
{
    *out = NULL;
    json_t *root = NULL;
    pt_status st = header_tree(path, &root, t, nt, meta, nmeta);
    if (st != PT_OK) {
        json_decref(root);
        return st;
    }
    /* First call sizes the text, the second writes it; 0 means jansson failed. */
    size_t n = json_dumpb(root, NULL, 0, JSON_COMPACT);
    char *p = n > 0 && n <= SIZE_MAX - 8 ? malloc(n + 8) : NULL;
    if (!p || json_dumpb(root, p, n, JSON_COMPACT) != n) {
        free(p);
        json_decref(root);
        return pt_fail(PT_ENOMEM, "%s: out of memory building header", path);
    }
    json_decref(root);
    /* jansson writes a control character it has no short escape for as \u001F
     * (upper-case hex); earlier PhaseTower files have \u001f, and checkpoints are
     * compared byte for byte, so lower the hex digits. Every backslash in the
     * text opens an escape (they occur only inside strings), so skipping the
     * escaped character keeps "\\u" (an escaped backslash, then 'u') intact. */
    for (size_t i = 0; i + 1 < n; i++) {
        if (p[i] != '\\') continue;
        if (p[i + 1] == 'u')
            for (size_t k = i + 2; k < i + 6 && k < n; k++)
                if (p[k] >= 'A' && p[k] <= 'F') p[k] = (char)(p[k] - 'A' + 'a');
        i++;
    }
    while ((8 + n) % 8 != 0) p[n++] = ' ';
    *out = p;
    *len = n;
    return PT_OK;
}

pt_status pt_st_write(const char *path, const pt_st_tensor *t, size_t nt,
                      const char *const *meta, size_t nmeta)
{
    if (!path || !*path) return pt_fail(PT_EINVAL, "pt_st_write: empty path");
    if ((nt && !t) || (nmeta && !meta)) return pt_fail(PT_EINVAL, "%s: NULL tensor or metadata array", path);
    pt_status st = validate_write(path, t, nt, meta, nmeta);
    if (st != PT_OK) return st;

    char *hdr = NULL;
    size_t hdr_len = 0;
    st = build_header(path, &hdr, &hdr_len, t, nt, meta, nmeta);
    if (st != PT_OK) return st;

    unsigned char len8[8];
    for (int k = 0; k < 8; k++) len8[k] = (unsigned char)((uint64_t)hdr_len >> (8 * k));

    pt_atomic a;
    if ((st = pt_atomic_open(&a, path))) {
        free(hdr);
        return st;
    }
    int bad = pt_atomic_write(&a, len8, 8) || pt_atomic_write(&a, hdr, hdr_len);
    for (size_t i = 0; i < nt && !bad; i++) {
        size_t bytes;
        PT_ASSERT(tensor_bytes(t[i].dtype, t[i].ndim, t[i].shape, &bytes) == 0);
        bad = pt_atomic_write(&a, t[i].data, bytes);
    }
    free(hdr);
    return pt_atomic_commit(&a, 1); /* a failed write fails the commit, which removes the temporary file */
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

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Start of the string token that ends with the quote at text[end]: the nearest
 * '"' before it with an even number of backslashes in front (inside a valid
 * string every quote is escaped, i.e. follows an odd run of backslashes).
 * SIZE_MAX if there is none. */
static size_t string_start(const char *text, size_t end)
{
    for (size_t j = end; j-- > 0;) {
        if (text[j] != '"') continue;
        size_t k = j;
        while (k > 0 && text[k - 1] == '\\') k--;
        if ((j - k) % 2 == 0) return j;
    }
    return SIZE_MAX;
}

/* A jansson parse error as "<path>: bad header JSON at byte N: <jansson's text>",
 * N counted from the start of the file (jansson's position is just past the
 * offending token). jansson quotes up to 20 bytes of the input ("near 'x'"), so
 * control characters in its text become '?' to keep the message on one line.
 * A duplicate key is named in full (jansson names only short ones). */
static pt_status json_failed(const char *path, const char *text, size_t n, const json_error_t *err)
{
    enum json_error_code code = json_error_code(err);
    /* jansson leaves the text empty when an allocation fails mid-parse */
    if (code == json_error_out_of_memory || !err->text[0])
        return pt_fail(PT_ENOMEM, "%s: out of memory parsing header", path);
    size_t pos = err->position > 0 ? (size_t)err->position : 0;
    if (pos > n) pos = n;
    if (code == json_error_duplicate_key && pos > 0 && text[pos - 1] == '"') {
        size_t b = string_start(text, pos - 1);
        if (b != SIZE_MAX) {
            size_t len = pos - b, shown = len; /* the key as written, quotes included */
            if (shown > 80) {
                shown = 80;
                /* whole UTF-8 characters: back off while the first byte left out continues one */
                while (shown > 0 && ((unsigned char)text[b + shown] & 0xC0u) == 0x80) shown--;
            }
            return pt_fail(PT_EFORMAT, "%s: bad header JSON at byte %zu: duplicate object key %.*s%s", path, 8 + pos,
                           (int)shown, text + b, shown < len ? "..." : "");
        }
    }
    char msg[JSON_ERROR_TEXT_LENGTH];
    size_t k = 0;
    for (; k + 1 < sizeof msg && err->text[k]; k++) {
        unsigned char c = (unsigned char)err->text[k];
        msg[k] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    msg[k] = 0;
    const char *hint = code == json_error_invalid_utf8      ? " (invalid UTF-8)"
                       : code == json_error_stack_overflow ? " (nesting too deep)"
                                                           : "";
    return pt_fail(PT_EFORMAT, "%s: bad header JSON at byte %zu: %s%s", path, 8 + pos, msg, hint);
}

/* 1 if the arrays and objects in v nest more than ST_MAX_DEPTH deep; depth counts
 * v itself. Recursion stops one level past the limit. */
static int too_deep(json_t *v, int depth)
{
    if (json_is_array(v)) {
        if (depth > ST_MAX_DEPTH) return 1;
        for (size_t i = 0; i < json_array_size(v); i++)
            if (too_deep(json_array_get(v, i), depth + 1)) return 1;
    } else if (json_is_object(v)) {
        if (depth > ST_MAX_DEPTH) return 1;
        for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it))
            if (too_deep(json_object_iter_value(it), depth + 1)) return 1;
    }
    return 0;
}

/* Parse the header text[0..n) into *out, a JSON object: duplicate keys anywhere,
 * "\u0000", invalid UTF-8, NUL bytes and more than ST_MAX_DEPTH nested containers
 * are refused. The caller json_decref()s *out. */
static pt_status parse_json(const char *path, const char *text, size_t n, json_t **out)
{
    *out = NULL;
    /* jansson drops a NUL byte that ends a number or literal ("[1\0]" parses as
     * [1]); JSON text never holds one, so refuse it first. */
    const char *nul = memchr(text, 0, n);
    if (nul) return pt_fail(PT_EFORMAT, "%s: bad header JSON at byte %zu: NUL byte", path, 8 + (size_t)(nul - text));
    json_error_t err;
    json_t *root = json_loadb(text, n, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        /* Without JSON_DECODE_ANY jansson refuses a root that does not open with
         * '{' or '[' before reading it. Tell a well-formed value of another kind
         * (not a JSON object) from malformed text by parsing it as any value. */
        size_t i = 0;
        while (i < n && is_ws(text[i])) i++;
        if (i < n && text[i] != '{' && text[i] != '[' && json_error_code(&err) == json_error_invalid_syntax) {
            json_t *any = json_loadb(text, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
            if (any) {
                json_decref(any);
                return pt_fail(PT_EFORMAT, "%s: header is not a JSON object", path);
            }
        }
        return json_failed(path, text, n, &err);
    }
    /* jansson allows 2048 levels; the format needs 3 */
    if (too_deep(root, 1)) {
        json_decref(root);
        return pt_fail(PT_EFORMAT, "%s: bad header JSON: nesting too deep (more than %d nested arrays and objects)",
                       path, ST_MAX_DEPTH);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return pt_fail(PT_EFORMAT, "%s: header is not a JSON object", path);
    }
    *out = root;
    return PT_OK;
}

/* A JSON integer in [0, ST_MAX_INT]; -1 for anything else (reals such as 2.0 too). */
static int get_uint(json_t *v, uint64_t *out)
{
    if (!json_is_integer(v)) return -1;
    json_int_t i = json_integer_value(v);
    if (i < 0 || (uint64_t)i > ST_MAX_INT) return -1;
    *out = (uint64_t)i;
    return 0;
}

static pt_status parse_meta(const char *path, pt_st_file *f, json_t *m)
{
    if (!json_is_object(m)) return pt_fail(PT_EFORMAT, "%s: %s is not an object", path, ST_META_KEY);
    size_t total = 0;
    for (void *it = json_object_iter(m); it; it = json_object_iter_next(m, it)) {
        json_t *v = json_object_iter_value(it);
        if (!json_is_string(v))
            return pt_fail(PT_EFORMAT, "%s: metadata value for '%.60s' is not a string", path,
                           json_object_iter_key(it));
        total += json_object_iter_key_len(it) + json_string_length(v) + 2; /* bounded by the header size */
    }
    size_t nm = json_object_size(m);
    f->nmeta = nm;
    f->meta = pt_calloc(2 * nm, sizeof *f->meta);
    f->metastr = pt_calloc(total, 1);
    if (!f->meta || !f->metastr) return pt_fail(PT_ENOMEM, "%s: out of memory", path);
    char *s = f->metastr;
    size_t i = 0;
    /* header order; keys and values hold no NUL (jansson refuses "\u0000") */
    for (void *it = json_object_iter(m); it; it = json_object_iter_next(m, it), i++) {
        json_t *v = json_object_iter_value(it);
        size_t kl = json_object_iter_key_len(it), vl = json_string_length(v);
        memcpy(s, json_object_iter_key(it), kl + 1);
        f->meta[2 * i] = s;
        s += kl + 1;
        memcpy(s, json_string_value(v), vl + 1);
        f->meta[2 * i + 1] = s;
        s += vl + 1;
    }
    return PT_OK;
}

/* One tensor entry: fills x (data not yet set) and its span. */
static pt_status parse_tensor(const char *path, const char *name, size_t nlen, json_t *e, pt_st_tensor *x, span *sp)
{
    if (nlen >= PT_ST_MAXNAME)
        return pt_fail(PT_EFORMAT, "%s: tensor name '%.40s...' longer than %d bytes", path, name, PT_ST_MAXNAME - 1);
    memcpy(x->name, name, nlen + 1);
    if (!json_is_object(e)) return pt_fail(PT_EFORMAT, "%s: tensor '%s' entry is not an object", path, name);
    for (void *it = json_object_iter(e); it; it = json_object_iter_next(e, it)) {
        const char *k = json_object_iter_key(it);
        if (strcmp(k, "dtype") != 0 && strcmp(k, "shape") != 0 && strcmp(k, "data_offsets") != 0)
            return pt_fail(PT_EFORMAT, "%s: tensor '%s' has unknown field '%.40s'", path, name, k);
    }
    json_t *jd = json_object_get(e, "dtype"), *js = json_object_get(e, "shape");
    json_t *jo = json_object_get(e, "data_offsets");
    if (!jd || !js || !jo)
        return pt_fail(PT_EFORMAT, "%s: tensor '%s' lacks %s", path, name, !jd ? "dtype" : !js ? "shape" : "data_offsets");

    if (!json_is_string(jd)) return pt_fail(PT_EFORMAT, "%s: tensor '%s' dtype is not a string", path, name);
    const char *dts = json_string_value(jd);
    size_t dt = 0;
    while (dt < ST_NDTYPE && strcmp(dts, dtype_names[dt]) != 0) dt++;
    if (dt == ST_NDTYPE)
        return pt_fail(PT_EFORMAT, "%s: tensor '%s' has unsupported dtype '%.16s'", path, name, dts);
    x->dtype = (pt_st_dtype)dt;

    if (!json_is_array(js)) return pt_fail(PT_EFORMAT, "%s: tensor '%s' shape is not an array", path, name);
    size_t nd = json_array_size(js);
    if (nd > PT_ST_MAXDIM)
        return pt_fail(PT_EFORMAT, "%s: tensor '%s' has %zu dimensions (at most %d supported)", path, name, nd,
                       PT_ST_MAXDIM);
    x->ndim = (int)nd;
    for (size_t d = 0; d < nd; d++) {
        uint64_t v;
        if (get_uint(json_array_get(js, d), &v))
            return pt_fail(PT_EFORMAT, "%s: tensor '%s' shape has an entry that is not a non-negative integer", path,
                           name);
        x->shape[d] = (size_t)v;
    }
    char sh[96];
    shape_str(sh, sizeof sh, x->ndim, x->shape);
    size_t bytes;
    if (tensor_bytes(x->dtype, x->ndim, x->shape, &bytes))
        return pt_fail(PT_EFORMAT, "%s: tensor '%s' shape %s is too large", path, name, sh);

    uint64_t b, en;
    if (!json_is_array(jo) || json_array_size(jo) != 2 || get_uint(json_array_get(jo, 0), &b) ||
        get_uint(json_array_get(jo, 1), &en))
        return pt_fail(PT_EFORMAT, "%s: tensor '%s' data_offsets is not two non-negative integers", path, name);
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

static pt_status parse_header(const char *path, pt_st_file *f, json_t *root, size_t data_at, size_t data_len)
{
    /* jansson refused duplicate keys, so there is at most one metadata entry and
     * tensor names are distinct */
    json_t *meta = json_object_get(root, ST_META_KEY);
    if (meta) {
        pt_status st = parse_meta(path, f, meta);
        if (st != PT_OK) return st;
    }
    size_t nt = json_object_size(root) - (meta ? 1 : 0);

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
    /* header order (jansson iterates objects in insertion order) */
    for (void *it = json_object_iter(root); it; it = json_object_iter_next(root, it)) {
        json_t *v = json_object_iter_value(it);
        if (v == meta) continue;
        st = parse_tensor(path, json_object_iter_key(it), json_object_iter_key_len(it), v, &f->t[i], &sp[i]);
        if (st != PT_OK) goto done;
        sp[i].idx = i;
        byidx[i] = sp[i];
        nr[i].name = f->t[i].name;
        nr[i].idx = i;
        i++;
    }
    PT_ASSERT(i == nt);
    qsort(nr, nt, sizeof *nr, cmp_name_rec);
    for (i = 0; i < nt; i++) {
        PT_ASSERT(i == 0 || strcmp(nr[i - 1].name, nr[i].name) != 0); /* JSON_REJECT_DUPLICATES */
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
    json_t *root = NULL;
    st = parse_json(path, (const char *)f->buf + 8, hlen, &root);
    if (st == PT_OK) {
        json_t *meta = json_object_get(root, ST_META_KEY);
        st = !header_only ? parse_header(path, f, root, 8 + hlen, size - 8 - hlen)
             : meta       ? parse_meta(path, f, meta)
                          : PT_OK;
        json_decref(root);
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

pt_status pt_st_check(const pt_st_file *f, const char *path, pt_st_dtype dtype, const char *name, int ndim,
                      const size_t *shape)
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
    return PT_OK;
}

pt_status pt_st_get(const pt_st_file *f, const char *path, pt_st_dtype dtype, const char *name, int ndim,
                    const size_t *shape, void *dst)
{
    pt_status st = pt_st_check(f, path, dtype, name, ndim, shape);
    if (st) return st;
    const pt_st_tensor *t = pt_st_find(f, name);
    size_t n = pt_st_numel(t);
    if (n == 0) return PT_OK; /* an empty tensor: dst may be NULL */
    if (dtype == PT_ST_F32) {
        const float *src = t->data;
        for (size_t i = 0; i < n; i++)
            if (!isfinite(src[i])) return pt_fail(PT_EFORMAT, "%s: tensor '%s' holds a non-finite value", path, name);
    }
    if (dtype == PT_ST_F64) { /* memcpy: F64 data is only 4-byte aligned in the buffer */
        for (size_t i = 0; i < n; i++) {
            double v;
            memcpy(&v, (const unsigned char *)t->data + 8 * i, sizeof v);
            if (!isfinite(v)) return pt_fail(PT_EFORMAT, "%s: tensor '%s' holds a non-finite value", path, name);
        }
    }
    memcpy(dst, t->data, n * dtype_sizes[dtype]);
    return PT_OK;
}
