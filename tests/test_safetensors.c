/* safetensors reader/writer and the JSON helper: bit-exact round trips, the
 * on-disk layout, temp-file hygiene, a catalogue of corrupt files that must each
 * fail with PT_EFORMAT/PT_EIO and a message naming the file, and a deterministic
 * mutation fuzz (run under ASan/UBSan). Set PT_ST_PY_OUT=path to also write a
 * sample file for checking with Python/numpy. Files go to the current directory. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "io/json.h"
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

/* 8-byte length + header text (unpadded) + data. */
static void write_raw(const char *path, const char *hdr, const void *data, size_t dn)
{
    size_t hn = strlen(hdr);
    unsigned char *b = malloc(8 + hn + dn + 1);
    for (int k = 0; k < 8; k++) b[k] = (unsigned char)((uint64_t)hn >> (8 * k));
    memcpy(b + 8, hdr, hn);
    if (dn) memcpy(b + 8 + hn, data, dn);
    CHECK(spit(path, b, 8 + hn + dn) == 0);
    free(b);
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

static void bad_header(const char *hdr, const void *data, size_t dn, const char *want)
{
    const char *path = P("bad.safetensors");
    write_raw(path, hdr, data, dn);
    expect_bad(path, PT_EFORMAT, want);
    remove(path);
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
    CHECK(!exists(P("rt.safetensors.tmp")));

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
    CHECK(!exists(P("nodir/sub/x.safetensors.tmp")));

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
    const char *dupmeta[] = { "k", "1", "k", "2" };
    CHECK(pt_st_write(ok, &t, 1, dupmeta, 2) == PT_EINVAL);
    const char *nullmeta[] = { "k", NULL };
    CHECK(pt_st_write(ok, &t, 1, nullmeta, 1) == PT_EINVAL);
    CHECK(!exists(ok) && !exists(P("w.safetensors.tmp")));
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
    bad_header("not json at all", d, 16, "bad header JSON at byte 8");
    bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}", d, 16, "bad header JSON");
    bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}} x", d, 16, "trailing");
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
               "\"shape\":[0],\"data_offsets\":[8,8]}}", d, 8, "duplicate tensor name 'w'");
    bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", d, 8, "non-negative");
    bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", d, 8, "non-negative");
    bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,2],\"data_offsets\":[0,8]}}", d, 8, "5 dimensions");
    bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[9007199254740993],\"data_offsets\":[0,8]}}", d, 8, NULL);
    bad_header("{\"w\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,8]}}",
               d, 8, "too large");
    bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", d, 8, "data_offsets");
    bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", d, 8, "lacks data_offsets");
    bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", d, 8, "unknown field");
    bad_header("{\"w\":[1]}", d, 0, "not an object");
    bad_header("{\"__metadata__\":{\"k\":1}}", d, 0, "not a string");
    bad_header("{\"__metadata__\":[]}", d, 0, "not an object");
    bad_header("{\"w\":{\"dtype\":\"F32,\"shape\":[2],\"data_offsets\":[0,8]}}", d, 8, NULL);
    bad_header("{\"w", d, 0, "unterminated string");
    bad_header("{\"a\\q\":1}", d, 0, "bad escape");
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

static void test_json(void)
{
    pt_json_doc doc;
    const char *txt = " {\"s\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\u20ac\\ud83d\\ude00\", \"i\":[0, 9007199254740992,"
                      " 9007199254740993, -1, 1.5, 1e3, -0], \"o\":{}, \"a\":[], \"t\":true, \"f\":false, \"n\":null } ";
    CHECK(pt_json_parse(&doc, txt, strlen(txt)) == PT_OK);
    const pt_json *r = doc.root;
    CHECK(r && r->type == PT_JSON_OBJECT && r->len == 7);
    const pt_json *s = pt_json_get(r, "s");
    CHECK(s && s->type == PT_JSON_STRING);
    if (s) {
        const char want[] = "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
        CHECK(s->len == sizeof want - 1 && memcmp(s->str, want, sizeof want) == 0);
    }
    const pt_json *i = pt_json_get(r, "i");
    CHECK(i && i->type == PT_JSON_ARRAY && i->len == 7);
    if (i && i->len == 7) {
        const pt_json *e = i->child;
        CHECK(e->type == PT_JSON_INT && e->num == 0);
        e = e->next;
        CHECK(e->type == PT_JSON_INT && e->num == PT_JSON_MAXINT);
        for (e = e->next; e; e = e->next) CHECK(e->type == PT_JSON_NUMBER);
    }
    CHECK(pt_json_get(r, "o")->type == PT_JSON_OBJECT && pt_json_get(r, "o")->child == NULL);
    CHECK(pt_json_get(r, "t")->type == PT_JSON_BOOL && pt_json_get(r, "t")->num == 1);
    CHECK(pt_json_get(r, "n")->type == PT_JSON_NULL);
    CHECK(pt_json_get(r, "missing") == NULL);
    pt_json_free(&doc);
    pt_json_free(&doc); /* idempotent */

    /* depth: 16 nested containers parse, 17 do not */
    char deep[64];
    memset(deep, '[', 16);
    memset(deep + 16, ']', 16);
    CHECK(pt_json_parse(&doc, deep, 32) == PT_OK);
    pt_json_free(&doc);
    memset(deep, '[', 17);
    memset(deep + 17, ']', 17);
    CHECK(pt_json_parse(&doc, deep, 34) == PT_EFORMAT && doc.err_pos == 16);

    static const char *const bad[] = {
        "", "   ", "{", "[1,]", "{\"a\"}", "{\"a\":}", "{1:2}", "01", "1.", "-", "1e", "tru", "nul",
        "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\u0000\"", "\"a\nb\"",
        "\"\xff\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xe2\x82\"", "[1 2]", "{} {}", "\"abc",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        int st = pt_json_parse(&doc, bad[k], strlen(bad[k]));
        if (st != PT_EFORMAT) fprintf(stderr, "  accepted bad JSON #%zu\n", k);
        CHECK(st == PT_EFORMAT && doc.err && doc.root == NULL);
    }

    /* writer escapes round-trip through the parser */
    pt_json_buf b = { 0 };
    const char *raw = "q\"b\\s/\x01\x1f\n\t caf\xc3\xa9";
    pt_json_put_string(&b, raw);
    pt_json_put_lit(&b, " ");
    pt_json_put_uint(&b, 0);
    CHECK(!b.oom);
    CHECK(pt_json_parse(&doc, b.p, b.len) == PT_EFORMAT); /* two values */
    CHECK(pt_json_parse(&doc, b.p, b.len - 2) == PT_OK);
    CHECK(doc.root && doc.root->type == PT_JSON_STRING && strcmp(doc.root->str, raw) == 0);
    pt_json_free(&doc);
    pt_json_buf_free(&b);
    pt_json_put_uint(&b, UINT64_MAX);
    CHECK(b.len == 20 && memcmp(b.p, "18446744073709551615", 20) == 0);
    pt_json_buf_free(&b);
}

/* Mutate a valid file 2000 times (byte flips, mostly in the header, or a
 * truncation) and read it back: any status is fine, crashes and sanitizer
 * reports are not. Successful reads have all their tensor bytes touched. Each
 * mutated header is also parsed from an exact-size copy so ASan sees overreads. */
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
        if (len >= 8 + hn) {
            char *h = malloc(hn);
            memcpy(h, m + 8, hn);
            pt_json_doc doc;
            if (pt_json_parse(&doc, h, hn) == PT_OK) pt_json_free(&doc);
            free(h);
        }
    }
    CHECK(ok > 0 && failed > 0); /* both paths were exercised */
    printf("fuzz: %d accepted, %d rejected\n", ok, failed);
    free(m);
    free(v);
    remove(path);
}

int main(void)
{
    test_json();
    test_roundtrip();
    test_write_errors();
    test_bad_files();
    test_foreign_unaligned();
    test_fuzz();
    TEST_END();
}
