/* safetensors reader/writer: bit-exact round trips, the on-disk layout (the
 * header's exact bytes included), temp-file hygiene, a catalogue of corrupt files
 * and malformed header JSON that must each fail with PT_EFORMAT/PT_EIO and a
 * message naming the file, and a deterministic mutation fuzz (run under
 * ASan/UBSan). Set PT_ST_PY_OUT=path to also write a sample file for checking
 * with Python/numpy. Files go to the current directory. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "check.h"
#include "io/safetensors.h"
#include "phasetower/core.h"

#define P(name) "pt_test_st_" name

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    size_t cap = 1 << 16, len = 0;
    unsigned char *b = malloc(cap);
    for (;;) {
        if (len == cap) b = realloc(b, cap *= 2);
        size_t k = fread(b + len, 1, cap - len, fp);
        if (k == 0) break;
        len += k;
    }
    fclose(fp);
    *n = len;
    return b;
}

static int spit(const char *path, const void *p, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (!fp) return -1;
    int ok = (n == 0 || fwrite(p, 1, n, fp) == n);
    return (fclose(fp) == 0 && ok) ? 0 : -1;
}

static int exists(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (fp) fclose(fp);
    return fp != NULL;
}

/* Whether a temporary file of the writer for path (".<name>.XXXXXX" in its
 * directory, src/io/atomic.c) is left in the current directory. */
static int temp_left(const char *path)
{
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t n = strlen(base);
    DIR *d = opendir(".");
    int found = 0;
    for (struct dirent *e; d && (e = readdir(d)) && !found;)
        found = e->d_name[0] == '.' && !strncmp(e->d_name + 1, base, n) && e->d_name[n + 1] == '.';
    if (d) closedir(d);
    return found;
}

/* 8-byte length + header text (hn bytes, unpadded) + data. */
static void write_raw_n(const char *path, const char *hdr, size_t hn, const void *data, size_t dn)
{
    unsigned char *b = malloc(8 + hn + dn + 1);
    for (int k = 0; k < 8; k++) b[k] = (unsigned char)((uint64_t)hn >> (8 * k));
    memcpy(b + 8, hdr, hn);
    if (dn) memcpy(b + 8 + hn, data, dn);
    CHECK(spit(path, b, 8 + hn + dn) == 0);
    free(b);
}

static void write_raw(const char *path, const char *hdr, const void *data, size_t dn)
{
    write_raw_n(path, hdr, strlen(hdr), data, dn);
}

/* Reading path must fail with st, a NULL handle and a message naming the file
 * (and containing `want` if given). */
static void expect_bad(const char *path, pt_status want_st, const char *want)
{
    pt_st_file *f = (pt_st_file *)&f; /* poison: must be reset to NULL */
    pt_status st = pt_st_read(path, &f);
    CHECK(st == want_st);
    CHECK(f == NULL);
    CHECK(strstr(pt_errmsg(), path) != NULL);
    CHECK(strchr(pt_errmsg(), '\n') == NULL);
    if (want && !strstr(pt_errmsg(), want)) {
        fprintf(stderr, "  message '%s' lacks '%s'\n", pt_errmsg(), want);
        CHECK(0);
    }
    if (st == PT_OK) pt_st_close(f);
}

static void bad_header_n(const char *hdr, size_t hn, const void *data, size_t dn, const char *want)
{
    const char *path = P("bad.safetensors");
    write_raw_n(path, hdr, hn, data, dn);
    expect_bad(path, PT_EFORMAT, want);
    remove(path);
}

static void bad_header(const char *hdr, const void *data, size_t dn, const char *want)
{
    bad_header_n(hdr, strlen(hdr), data, dn, want);
}

static pt_st_tensor mk(const char *name, pt_st_dtype dt, int ndim, const size_t *shape, const void *data)
{
    pt_st_tensor t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%s", name);
    t.dtype = dt;
    t.ndim = ndim;
    for (int d = 0; d < ndim; d++) t.shape[d] = shape[d];
    t.data = data;
    return t;
}

/* Fixture tensors: complex F32 (3,2,2), I32 (5), odd-length U8 (3) placed before
 * an F32 (so it lands misaligned), scalar, empty (0,3), and names needing escapes. */
static float cplx[12], after_u8[4], scalar = -0.0f;
static int32_t ints[5] = { 0, -1, INT32_MAX, INT32_MIN, 42 };
static uint8_t bytes3[3] = { 0, 0x80, 0xff };
#define NFIX 7
static void fixture(pt_st_tensor *t)
{
    pt_rng r;
    pt_rng_seed(&r, 7);
    for (int i = 0; i < 12; i++) cplx[i] = pt_rng_normal(&r);
    cplx[5] = 1e-42f; /* subnormal survives bit-exactly */
    for (int i = 0; i < 4; i++) after_u8[i] = (float)i + 0.25f;
    t[0] = mk("tower.w", PT_ST_F32, 3, (size_t[]){ 3, 2, 2 }, cplx);
    t[1] = mk("labels", PT_ST_I32, 1, (size_t[]){ 5 }, ints);
    t[2] = mk("mask \"q\" \\ \n\t\x01 caf\xc3\xa9", PT_ST_U8, 1, (size_t[]){ 3 }, bytes3);
    t[3] = mk("after_u8", PT_ST_F32, 2, (size_t[]){ 2, 2 }, after_u8);
    t[4] = mk("scalar", PT_ST_F32, 0, NULL, &scalar);
    t[5] = mk("empty", PT_ST_F32, 2, (size_t[]){ 0, 3 }, NULL);
    t[6] = mk("z_last", PT_ST_U8, 1, (size_t[]){ 1 }, bytes3 + 2);
}
static const char *const fix_meta[] = { "format", "pt", "note", "quote \" backslash \\ newline \n \xe2\x9c\x93" };

static size_t tensor_nbytes(const pt_st_tensor *t)
{
    return pt_st_numel(t) * (t->dtype == PT_ST_U8 ? 1u : 4u);
}

static void test_roundtrip(void)
{
    const char *path = P("rt.safetensors");
    pt_st_tensor t[NFIX];
    fixture(t);
    CHECK(pt_st_write(path, t, NFIX, fix_meta, 2) == PT_OK);
    CHECK(!temp_left(P("rt.safetensors")));

    pt_st_file *f = NULL;
    CHECK(pt_st_read(path, &f) == PT_OK);
    CHECK(f != NULL);
    if (!f) return;
    CHECK(pt_st_count(f) == NFIX);
    for (size_t i = 0; i < NFIX; i++) {
        const pt_st_tensor *a = pt_st_at(f, i); /* header order = write order */
        CHECK(a && strcmp(a->name, t[i].name) == 0);
        if (!a) continue;
        CHECK(pt_st_find(f, t[i].name) == a);
        CHECK(a->dtype == t[i].dtype && a->ndim == t[i].ndim);
        for (int d = 0; d < a->ndim; d++) CHECK(a->shape[d] == t[i].shape[d]);
        CHECK(pt_st_numel(a) == pt_st_numel(&t[i]));
        size_t n = tensor_nbytes(a);
        CHECK(n == 0 || memcmp(a->data, t[i].data, n) == 0);
        if (a->dtype != PT_ST_U8) CHECK((uintptr_t)a->data % 4 == 0);
    }
    CHECK(pt_st_numel(pt_st_find(f, "scalar")) == 1);
    CHECK(pt_st_numel(pt_st_find(f, "empty")) == 0);
    CHECK(pt_st_at(f, NFIX) == NULL);
    CHECK(pt_st_find(f, "nope") == NULL);
    CHECK(pt_st_find(f, "") == NULL);
    CHECK(pt_st_meta(f, "format") && strcmp(pt_st_meta(f, "format"), "pt") == 0);
    CHECK(pt_st_meta(f, "note") && strcmp(pt_st_meta(f, "note"), fix_meta[3]) == 0);
    CHECK(pt_st_meta(f, "missing") == NULL);
    pt_st_close(f);
    pt_st_close(NULL);

    /* the metadata alone: the same strings, no tensor */
    CHECK(pt_st_read_meta(path, &f) == PT_OK && f);
    if (f) {
        CHECK(pt_st_count(f) == 0 && pt_st_find(f, "scalar") == NULL);
        CHECK(pt_st_meta(f, "note") && strcmp(pt_st_meta(f, "note"), fix_meta[3]) == 0);
        pt_st_close(f);
    }

    /* on-disk layout as Python's reader expects it */
    size_t n = 0;
    unsigned char *b = slurp(path, &n);
    CHECK(b && n >= 8);
    if (b && n >= 8) {
        uint64_t hn = 0;
        for (int k = 0; k < 8; k++) hn |= (uint64_t)b[k] << (8 * k);
        CHECK((8 + hn) % 8 == 0);
        CHECK(8 + hn <= n);
        CHECK(b[8] == '{');
        size_t data = 0;
        for (int i = 0; i < NFIX; i++) data += tensor_nbytes(&t[i]);
        CHECK(n == 8 + hn + data);
        /* header ends with '}' then only padding spaces */
        size_t e = 8 + (size_t)hn;
        while (e > 8 && b[e - 1] == ' ') e--;
        CHECK(b[e - 1] == '}');
        CHECK(8 + hn - e < 8);
        /* metadata first, data in write order: the first tensor's bytes start the buffer */
        CHECK(memcmp(b + 9, "\"__metadata__\"", 14) == 0);
        CHECK(memcmp(b + 8 + hn, cplx, sizeof cplx) == 0);
        free(b);
    }

    /* overwriting an existing file replaces it */
    CHECK(pt_st_write(path, t + 1, 1, NULL, 0) == PT_OK);
    f = NULL;
    CHECK(pt_st_read(path, &f) == PT_OK);
    CHECK(pt_st_count(f) == 1 && pt_st_meta(f, "format") == NULL);
    pt_st_close(f);

    /* no tensors at all */
    CHECK(pt_st_write(path, NULL, 0, NULL, 0) == PT_OK);
    f = NULL;
    CHECK(pt_st_read(path, &f) == PT_OK);
    CHECK(f && pt_st_count(f) == 0 && pt_st_at(f, 0) == NULL);
    pt_st_close(f);
    remove(path);

    if (getenv("PT_ST_PY_OUT")) {
        CHECK(pt_st_write(getenv("PT_ST_PY_OUT"), t, NFIX, fix_meta, 2) == PT_OK);
    }
}

static void test_write_errors(void)
{
    const char *path = P("nodir/sub/x.safetensors");
    float v[2] = { 1, 2 };
    pt_st_tensor t = mk("w", PT_ST_F32, 1, (size_t[]){ 2 }, v);
    CHECK(pt_st_write(path, &t, 1, NULL, 0) == PT_EIO);
    CHECK(strstr(pt_errmsg(), path) && strstr(pt_errmsg(), "write failed"));
    CHECK(!exists(path));

    const char *ok = P("w.safetensors");
    pt_st_tensor two[2] = { t, t };
    CHECK(pt_st_write(ok, two, 2, NULL, 0) == PT_EINVAL); /* duplicate name */
    CHECK(strstr(pt_errmsg(), "duplicate"));
    pt_st_tensor u = t;
    u.name[0] = 0;
    CHECK(pt_st_write(ok, &u, 1, NULL, 0) == PT_EINVAL); /* empty name */
    u = t;
    u.ndim = 5;
    CHECK(pt_st_write(ok, &u, 1, NULL, 0) == PT_EINVAL);
    u = t;
    u.ndim = -1;
    CHECK(pt_st_write(ok, &u, 1, NULL, 0) == PT_EINVAL);
    u = t;
    u.data = NULL;
    CHECK(pt_st_write(ok, &u, 1, NULL, 0) == PT_EINVAL);
    u = t;
    u.dtype = (pt_st_dtype)7;
    CHECK(pt_st_write(ok, &u, 1, NULL, 0) == PT_EINVAL);
    u = t;
    snprintf(u.name, sizeof u.name, "__metadata__");
    CHECK(pt_st_write(ok, &u, 1, NULL, 0) == PT_EINVAL);
    u = t;
    snprintf(u.name, sizeof u.name, "bad\xff");
    CHECK(pt_st_write(ok, &u, 1, NULL, 0) == PT_EINVAL);
    u = t;
    memset(u.name, 'a', sizeof u.name); /* not NUL-terminated */
    CHECK(pt_st_write(ok, &u, 1, NULL, 0) == PT_EINVAL);
    u = mk("huge", PT_ST_F32, 4, (size_t[]){ SIZE_MAX / 2, 2, 2, 2 }, v);
    CHECK(pt_st_write(ok, &u, 1, NULL, 0) == PT_EINVAL);
    /* no bytes, but a dimension past 2^53 that no reader could take back */
    u = mk("wide", PT_ST_U8, 2, (size_t[]){ 0, ((size_t)1 << 53) + 1 }, NULL);
    CHECK(pt_st_write(ok, &u, 1, NULL, 0) == PT_EINVAL);
    CHECK(strstr(pt_errmsg(), "'wide'") != NULL);
    const char *dupmeta[] = { "k", "1", "k", "2" };
    CHECK(pt_st_write(ok, &t, 1, dupmeta, 2) == PT_EINVAL);
    const char *nullmeta[] = { "k", NULL };
    CHECK(pt_st_write(ok, &t, 1, nullmeta, 1) == PT_EINVAL);
    CHECK(!exists(ok) && !temp_left(ok));
}

/* A valid reference file's bytes, for the corruption tests. */
static unsigned char *valid_file(size_t *n)
{
    const char *path = P("valid.safetensors");
    pt_st_tensor t[NFIX];
    fixture(t);
    CHECK(pt_st_write(path, t, NFIX, fix_meta, 2) == PT_OK);
    unsigned char *b = slurp(path, n);
    remove(path);
    return b;
}

static void test_bad_files(void)
{
    const char *path = P("bad.safetensors");
    remove(path);
    expect_bad(path, PT_EIO, "cannot open");
    expect_bad(".", PT_EIO, NULL); /* a directory opens but cannot be read */

    CHECK(spit(path, "", 0) == 0);
    expect_bad(path, PT_EFORMAT, "too short");
    CHECK(spit(path, "\x10\0\0\0\0", 5) == 0);
    expect_bad(path, PT_EFORMAT, "too short");
    /* header length larger than the file */
    CHECK(spit(path, "\x40\0\0\0\0\0\0\0{}", 10) == 0);
    expect_bad(path, PT_EFORMAT, "truncated");
    /* absurd header length: rejected before allocating */
    CHECK(spit(path, "\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10) == 0);
    expect_bad(path, PT_EFORMAT, "limit");

    size_t n = 0;
    unsigned char *v = valid_file(&n);
    CHECK(v != NULL);
    if (v) {
        /* truncated data: last bytes cut; the metadata alone still reads, a cut
         * header does not */
        CHECK(spit(path, v, n - 3) == 0);
        expect_bad(path, PT_EFORMAT, "truncated: header says");
        pt_st_file *mf = NULL;
        CHECK(pt_st_read_meta(path, &mf) == PT_OK);
        pt_st_close(mf);
        CHECK(spit(path, v, 20) == 0);
        CHECK(pt_st_read_meta(path, &mf) == PT_EFORMAT && mf == NULL);
        /* trailing junk after the last tensor */
        unsigned char *w = malloc(n + 4);
        memcpy(w, v, n);
        memcpy(w + n, "junk", 4);
        CHECK(spit(path, w, n + 4) == 0);
        expect_bad(path, PT_EFORMAT, "accounts for only");
        free(w);
        free(v);
    }
    remove(path);

    unsigned char d[64] = { 0 };
    /* jansson's position is just past the offending token ('not': bytes 8..10) */
    bad_header("not json at all", d, 16, "bad header JSON at byte 11: invalid token near 'not'");
    bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}", d, 16, "bad header JSON");
    bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}} x", d, 16,
               "end of file expected");
    bad_header("[1,2]", d, 0, "not a JSON object");
    bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", d, 12,
               "tensor 'w' has 12 bytes for shape [2,2] F32 (expected 16)");
    /* gap and overlap between tensors */
    bad_header("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
               "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[8,12]}}", d, 12, "gap");
    bad_header("{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}", d, 8, "overlaps");
    bad_header("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}", d, 8, "gap");
    bad_header("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[8,4]}}", d, 8, "end before begin");
    bad_header("{\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", d, 4, "unsupported dtype 'F16'");
    bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", d, 8, NULL);
    bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", d, 4, "truncated");
    bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2], \"data_offsets\":[0,8]}, \"w\":{\"dtype\":\"F32\","
               "\"shape\":[0],\"data_offsets\":[8,8]}}", d, 8, "at byte 67: duplicate object key \"w\"");
    bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", d, 8, "non-negative");
    bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", d, 8, "non-negative");
    bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,2],\"data_offsets\":[0,8]}}", d, 8, "5 dimensions");
    bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[9007199254740993],\"data_offsets\":[0,8]}}", d, 8,
               "non-negative");
    bad_header("{\"w\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,8]}}",
               d, 8, "too large");
    bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", d, 8, "data_offsets");
    bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", d, 8, "lacks data_offsets");
    bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", d, 8, "unknown field");
    bad_header("{\"w\":[1]}", d, 0, "not an object");
    bad_header("{\"__metadata__\":{\"k\":1}}", d, 0, "not a string");
    bad_header("{\"__metadata__\":[]}", d, 0, "not an object");
    bad_header("{\"w\":{\"dtype\":\"F32,\"shape\":[2],\"data_offsets\":[0,8]}}", d, 8, NULL);
    bad_header("{\"w", d, 0, "premature end of input"); /* unterminated string */
    bad_header("{\"a\\q\":1}", d, 0, "invalid escape");
    bad_header("{\"\xc3\x28\":1}", d, 0, "UTF-8");
    {
        char name[PT_ST_MAXNAME + 80];
        memset(name, 'n', PT_ST_MAXNAME);
        snprintf(name + PT_ST_MAXNAME, 80, "\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}");
        char hdr[sizeof name + 4] = "{\"";
        strcat(hdr, name);
        bad_header(hdr, d, 0, "longer than");
    }
    {
        char deep[64] = "{\"__metadata__\":";
        size_t k = strlen(deep);
        for (int i = 0; i < 20; i++) deep[k++] = '[';
        for (int i = 0; i < 20; i++) deep[k++] = ']';
        deep[k++] = '}';
        deep[k] = 0;
        bad_header(deep, d, 0, "nesting too deep");
    }
}

/* A foreign file whose header length is not padded: F32 data lands misaligned in
 * the file buffer and must come back aligned and intact. */
static void test_foreign_unaligned(void)
{
    const char *path = P("foreign.safetensors");
    float v[3] = { 1.5f, -2.0f, 3.25f };
    write_raw(path, "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                    "\"v\":{\"shape\":[3],\"data_offsets\":[1,13],\"dtype\":\"F32\"}}   ",
              "\x07" "\0\0\xc0\x3f" "\0\0\0\xc0" "\0\0\x50\x40", 13);
    pt_st_file *f = NULL;
    CHECK(pt_st_read(path, &f) == PT_OK);
    const pt_st_tensor *t = pt_st_find(f, "v");
    CHECK(t && t->dtype == PT_ST_F32 && t->ndim == 1 && t->shape[0] == 3);
    if (t) {
        CHECK((uintptr_t)t->data % 4 == 0);
        CHECK(memcmp(t->data, v, sizeof v) == 0);
    }
    t = pt_st_find(f, "a");
    CHECK(t && *(const uint8_t *)t->data == 7);
    pt_st_close(f);
    remove(path);
}

/* The header's JSON through the reader: what the decoder accepts and decodes
 * (escapes, UTF-8, integers up to 2^53, 16 nested containers, whitespace) and
 * what it refuses, each refusal a PT_EFORMAT naming the file. */
static void test_header_json(void)
{
    const char *path = P("json.safetensors");
    unsigned char d[8] = { 0 };
    /* escapes in a tensor name and in a metadata key and value decode to UTF-8 */
    const char *esc = "a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\u20AC\\ud83d\\ude00";
    const char want[] = "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    char hdr[512];
    snprintf(hdr, sizeof hdr,
             " {\"__metadata__\":{\"%s\":\"%s\",\"k\":\"\"}, \"%s\" : {\"dtype\":\"U8\",\"shape\":[0,9007199254740992],"
             "\"data_offsets\":[0,0]},\n\"t\":{\"data_offsets\":[ 0 , 1 ],\"shape\":[],\"dtype\":\"U8\"}}\t\r\n ",
             esc, esc, esc);
    write_raw(path, hdr, "x", 1);
    pt_st_file *f = NULL;
    CHECK(pt_st_read(path, &f) == PT_OK);
    if (f) {
        CHECK(pt_st_count(f) == 2);
        const pt_st_tensor *t = pt_st_at(f, 0);
        CHECK(t && strcmp(t->name, want) == 0 && t->ndim == 2 && t->shape[0] == 0 &&
              (uint64_t)t->shape[1] == (UINT64_C(1) << 53));
        CHECK(pt_st_find(f, want) == t);
        t = pt_st_at(f, 1);
        CHECK(t && strcmp(t->name, "t") == 0 && t->ndim == 0 && *(const uint8_t *)t->data == 'x');
        CHECK(pt_st_meta(f, want) && strcmp(pt_st_meta(f, want), want) == 0);
        CHECK(pt_st_meta(f, "k") && pt_st_meta(f, "k")[0] == 0);
        pt_st_close(f);
    }
    remove(path);

    /* integers: JSON integers in [0, 2^53] only */
    static const char *const bad_int[] = {
        "9007199254740993", "9223372036854775807", "-1", "-9223372036854775808", "2.0", "2e0", "1E1", "0.5",
        "\"2\"", "true", "null", "[2]",
    };
    for (size_t k = 0; k < sizeof bad_int / sizeof bad_int[0]; k++) {
        snprintf(hdr, sizeof hdr, "{\"w\":{\"dtype\":\"U8\",\"shape\":[%s],\"data_offsets\":[0,2]}}", bad_int[k]);
        bad_header(hdr, d, 2, "shape has an entry that is not a non-negative integer");
        snprintf(hdr, sizeof hdr, "{\"w\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,%s]}}", bad_int[k]);
        bad_header(hdr, d, 2, "data_offsets is not two non-negative integers");
    }
    /* beyond 64 bits jansson itself refuses the number */
    bad_header("{\"w\":{\"dtype\":\"U8\",\"shape\":[9223372036854775808],\"data_offsets\":[0,2]}}", d, 2,
               "bad header JSON at byte 55: too big integer");
    bad_header("{\"w\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,-9223372036854775809]}}", d, 2,
               "bad header JSON");
    bad_header("{\"w\":{\"dtype\":\"U8\",\"shape\":[1e400],\"data_offsets\":[0,2]}}", d, 2, "real number overflow");

    /* nesting: 16 arrays and objects (root included) parse, 17 do not, nor more
     * than jansson's own limit (2048) */
    static const int depths[] = { 16, 17, 3000 };
    for (size_t k = 0; k < sizeof depths / sizeof depths[0]; k++) {
        int n = depths[k] - 1; /* containers inside the root */
        char *deep = malloc((size_t)(2 * n + 32));
        size_t at = (size_t)snprintf(deep, 32, "{\"__metadata__\":");
        for (int i = 0; i < n; i++) deep[at++] = '[';
        for (int i = 0; i < n; i++) deep[at++] = ']';
        deep[at++] = '}';
        deep[at] = 0;
        bad_header(deep, d, 0, depths[k] == 16 ? "__metadata__ is not an object" : "nesting too deep");
        deep[0] = '['; /* the same depth with an array root: depth is checked first */
        memcpy(deep + 1, "0,             ", 15); /* over "__metadata__": */
        deep[at - 1] = ']';
        bad_header(deep, d, 0, depths[k] == 16 ? "not a JSON object" : "nesting too deep");
        free(deep);
    }

    remove(path);
}

/* The header's JSON through the reader: malformed values, keys, whole headers,
 * NUL bytes and duplicate keys, each refused with PT_EFORMAT. */
static void test_header_json_bad(void)
{
    unsigned char d[8] = { 0 };
    char hdr[512];
    /* malformed values, each placed as a metadata value */
    static const char *const bad[] = {
        "", "{", "[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{1:2}", "{\"a\":1,}", "01", "1.", ".5", "+1", "-", "1e",
        "1e+", "0x10", "tru", "nul", "True", "NaN", "Infinity", "'s'", "\"\\u12\"", "\"\\u12g4\"", "\"\\ud800\"",
        "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\ud800\\\"", "\"\\u0000\"", "\"a\\u0000b\"", "\"a\nb\"",
        "\"a\tb\"", "\"a\x01\"", "\"a\x1f\"", "\"\\x41\"", "\"\\'\"", "\"\xff\"", "\"\xc0\xaf\"", "\"\xe0\x80\xaf\"",
        "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xf8\x88\x80\x80\x80\"", "\"\xe2\x82\"", "\"\x80\"",
        "[1 2]", "{} {}", "\"abc", "\"abc\\", "/* c */ \"v\"", "\"v\" // c",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        snprintf(hdr, sizeof hdr, "{\"__metadata__\":{\"k\":%s}}", bad[k]);
        bad_header(hdr, d, 0, "bad header JSON at byte ");
    }
    /* the same in keys: NUL and bad UTF-8 */
    bad_header("{\"__metadata__\":{\"\\u0000\":\"v\"}}", d, 0, "NUL byte in object key");
    bad_header("{\"__metadata__\":{\"\xed\xa0\x80\":\"v\"}}", d, 0, "UTF-8");
    bad_header("{\"a\\u0000b\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}", d, 0, "NUL byte");
    /* whole headers */
    bad_header("", d, 0, "bad header JSON at byte 8:");
    bad_header("   ", d, 0, "bad header JSON at byte 11:");
    bad_header("{}x", d, 0, "bad header JSON at byte 11: end of file expected");
    bad_header("{} {}", d, 0, "end of file expected");
    bad_header("1 2", d, 0, "end of file expected");
    bad_header("\xef\xbb\xbf{}", d, 0, "bad header JSON"); /* a byte order mark is not JSON */
    bad_header("{\"k\":\x01}", d, 0, "invalid token near '?'"); /* control bytes quoted as '?' */
    static const char *const scalars[] = { "1", "0", "\"s\"", "null", " true ", "-0.5e3", "[]", "[{}]" };
    for (size_t k = 0; k < sizeof scalars / sizeof scalars[0]; k++)
        bad_header(scalars[k], d, 0, "header is not a JSON object");
    /* a NUL byte anywhere, also where jansson would skip it (after a number or literal) */
    bad_header_n("{\"w\":{\"dtype\":\"U8\",\"shape\":[2\0],\"data_offsets\":[0,2]}}", 54, d, 2,
                 "bad header JSON at byte 37: NUL byte");
    bad_header_n("{}\0", 3, d, 0, "at byte 10: NUL byte");
    bad_header_n("{\"__metadata__\":{\"k\":\"a\0b\"}}", 28, d, 0, "at byte 31: NUL byte");

    /* duplicate keys anywhere, named in the message as written */
    bad_header("{\"__metadata__\":{},\"__metadata__\":{}}", d, 0, "at byte 41: duplicate object key \"__metadata__\"");
    bad_header("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", d, 0, "duplicate object key \"k\"");
    bad_header("{\"w\":{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}", d, 0,
               "duplicate object key \"dtype\"");
    bad_header("{\"q\\\\\\\"\\\\\":{},\"q\\\\\\\"\\\\\":{}}", d, 0, "duplicate object key \"q\\\\\\\"\\\\\"");
    bad_header("{\"\\u0077\":{},\"w\":{}}", d, 0, "duplicate object key \"w\""); /* same key once decoded */
    {
        char name[128], dup[400], msg[128];
        memset(name, 'n', 100);
        memcpy(name + 40, "\xe2\x82\xac", 3); /* a 3-byte character across the 80-byte cut */
        name[100] = 0;
        snprintf(dup, sizeof dup, "{\"%s\":{},\"%s\":{}}", name, name);
        snprintf(msg, sizeof msg, "duplicate object key \"%.40s\xe2\x82\xac%.36s...", name, name + 43);
        bad_header(dup, d, 0, msg);
        memcpy(name + 78, "\xe2\x82\xac", 3); /* now the cut falls inside it: the message stops before */
        snprintf(dup, sizeof dup, "{\"%s\":{},\"%s\":{}}", name, name);
        snprintf(msg, sizeof msg, "\"%.40s\xe2\x82\xac%.35s...", name, name + 43);
        bad_header(dup, d, 0, msg);
    }
}

/* The writer's exact header bytes: compact JSON, metadata first, tensors and
 * fields in order, '/' and non-ASCII as is, control characters as the short
 * escapes or \u00xx in lower-case hex, then spaces up to a multiple of 8.
 * Checkpoints written before the switch to jansson had exactly these bytes. */
static void test_header_bytes(void)
{
    const char *path = P("hdr.safetensors");
    float v[6] = { 0 };
    uint8_t u = 1;
    pt_st_tensor t[3] = {
        mk("w", PT_ST_F32, 2, (size_t[]){ 2, 3 }, v),
        mk("b/\x01\x0b\x1f\x7f caf\xc3\xa9", PT_ST_U8, 0, NULL, &u),
        mk("e", PT_ST_I32, 4, (size_t[]){ 1, 0, 9007199254740992u, 1 }, NULL),
    };
    const char *meta[] = {
        "k", "v", "note", "q\"b\\s/\x01\x0b\x0e\x1a\x1f\n\t\b\f\r caf\xc3\xa9 \xf0\x9f\x98\x80", "", "",
    };
    CHECK(pt_st_write(path, t, 3, meta, 3) == PT_OK);
    const char want[] =
        "{\"__metadata__\":{\"k\":\"v\",\"note\":\"q\\\"b\\\\s/\\u0001\\u000b\\u000e\\u001a\\u001f\\n\\t\\b\\f\\r "
        "caf\xc3\xa9 \xf0\x9f\x98\x80\",\"\":\"\"},"
        "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
        "\"b/\\u0001\\u000b\\u001f\x7f caf\xc3\xa9\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[24,25]},"
        "\"e\":{\"dtype\":\"I32\",\"shape\":[1,0,9007199254740992,1],\"data_offsets\":[25,25]}}";
    size_t wn = sizeof want - 1, n = 0;
    unsigned char *b = slurp(path, &n);
    size_t hn = (wn + 7) / 8 * 8;
    CHECK(b && n == 8 + hn + 25);
    if (b && n == 8 + hn + 25) {
        for (int k = 0; k < 8; k++) CHECK(b[k] == (unsigned char)((uint64_t)hn >> (8 * k)));
        if (memcmp(b + 8, want, wn) != 0) fprintf(stderr, "  header '%.*s'\n", (int)hn, (const char *)b + 8);
        CHECK(memcmp(b + 8, want, wn) == 0);
        for (size_t k = wn; k < hn; k++) CHECK(b[8 + k] == ' ');
    }
    free(b);
    /* and it reads back */
    pt_st_file *f = NULL;
    CHECK(pt_st_read(path, &f) == PT_OK);
    CHECK(f && pt_st_count(f) == 3 && strcmp(pt_st_at(f, 1)->name, t[1].name) == 0);
    CHECK(f && pt_st_meta(f, "note") && strcmp(pt_st_meta(f, "note"), meta[3]) == 0);
    pt_st_close(f);
    remove(path);
}

/* jansson's allocations fail from the (n+1)-th on, for n = 0, 1, ... until the
 * call succeeds: each earlier try must fail cleanly (PT_ENOMEM; the reader may
 * also see PT_EFORMAT, as jansson reports some failed allocations as syntax
 * errors) with nothing written, and under ASan nothing leaks. jansson takes its
 * allocator as a process-wide setting, hence the file-scope budget. */
static size_t jansson_budget;
static void *budget_malloc(size_t n)
{
    if (jansson_budget == 0) return NULL;
    jansson_budget--;
    return malloc(n);
}

static void test_jansson_oom(void)
{
    const char *path = P("oom.safetensors");
    pt_st_tensor t[NFIX];
    fixture(t);
    remove(path);
    int done = 0;
    size_t n;
    for (n = 0; n < 10000 && !done; n++) {
        jansson_budget = n;
        json_set_alloc_funcs(budget_malloc, free);
        pt_status st = pt_st_write(path, t, NFIX, fix_meta, 2);
        json_set_alloc_funcs(malloc, free);
        if (st == PT_OK) {
            done = 1;
        } else {
            if (st != PT_ENOMEM) fprintf(stderr, "  n=%zu: %d %s\n", n, (int)st, pt_errmsg());
            CHECK(st == PT_ENOMEM && strstr(pt_errmsg(), "out of memory"));
            CHECK(!exists(path));
        }
    }
    CHECK(done && n > 1);
    done = 0;
    for (n = 0; n < 10000 && !done; n++) {
        for (int meta_only = 0; meta_only < 2; meta_only++) {
            pt_st_file *f = (pt_st_file *)&f;
            jansson_budget = n;
            json_set_alloc_funcs(budget_malloc, free);
            pt_status st = meta_only ? pt_st_read_meta(path, &f) : pt_st_read(path, &f);
            json_set_alloc_funcs(malloc, free);
            if (st == PT_OK) {
                CHECK(pt_st_count(f) == (meta_only ? 0u : NFIX));
                done += !meta_only;
                pt_st_close(f);
            } else {
                CHECK(st == PT_ENOMEM || st == PT_EFORMAT);
                CHECK(f == NULL);
            }
        }
    }
    CHECK(done && n > 1);
    remove(path);
}

/* Mutate a valid file 2000 times (byte flips, mostly in the header, or a
 * truncation) and read it back: any status is fine, crashes and sanitizer
 * reports are not. Successful reads have all their tensor bytes touched. Each
 * mutated file is also read header-only (an exact-size buffer: ASan sees overreads). */
static void test_fuzz(void)
{
    size_t n = 0;
    unsigned char *v = valid_file(&n);
    CHECK(v != NULL);
    if (!v) return;
    size_t hn = 0;
    for (int k = 0; k < 8; k++) hn |= (size_t)v[k] << (8 * k);
    const char *path = P("fuzz.safetensors");
    unsigned char *m = malloc(n);
    pt_rng r;
    pt_rng_seed(&r, 12345);
    int ok = 0, failed = 0;
    for (int it = 0; it < 2000; it++) {
        memcpy(m, v, n);
        size_t len = n;
        uint64_t kind = pt_rng_u64(&r) % 8;
        if (kind == 0) {
            len = (size_t)(pt_rng_u64(&r) % n);
        } else {
            int flips = 1 + (int)(pt_rng_u64(&r) % 3);
            for (int k = 0; k < flips; k++) {
                size_t at = kind < 6 ? 8 + (size_t)(pt_rng_u64(&r) % hn) : (size_t)(pt_rng_u64(&r) % n);
                m[at] ^= (unsigned char)(1 + pt_rng_u64(&r) % 255);
            }
        }
        CHECK(spit(path, m, len) == 0);
        pt_st_file *f = NULL;
        pt_status st = pt_st_read(path, &f);
        if (st == PT_OK) {
            ok++;
            unsigned sum = 0;
            for (size_t i = 0; i < pt_st_count(f); i++) {
                const pt_st_tensor *t = pt_st_at(f, i);
                const unsigned char *p = t->data;
                size_t nb = tensor_nbytes(t);
                for (size_t j = 0; j < nb; j++) sum += p[j];
                CHECK(pt_st_find(f, t->name) == t);
            }
            (void)sum;
            pt_st_close(f);
        } else {
            failed++;
            CHECK(f == NULL);
            CHECK(st == PT_EFORMAT || st == PT_EIO);
            CHECK(strstr(pt_errmsg(), path) != NULL);
        }
        /* the header alone is read into a buffer of exactly its size, so ASan
         * sees any overread by the JSON parser */
        pt_st_file *mf = NULL;
        st = pt_st_read_meta(path, &mf);
        CHECK(st == PT_OK || st == PT_EFORMAT || st == PT_EIO);
        CHECK((st == PT_OK) == (mf != NULL));
        pt_st_close(mf);
    }
    CHECK(ok > 0 && failed > 0); /* both paths were exercised */
    printf("fuzz: %d accepted, %d rejected\n", ok, failed);
    free(m);
    free(v);
    remove(path);
}

int main(void)
{
    test_roundtrip();
    test_header_bytes();
    test_header_json();
    test_header_json_bad();
    test_jansson_oom();
    test_write_errors();
    test_bad_files();
    test_foreign_unaligned();
    test_fuzz();
    TEST_END();
}
