/* Tiny private JSON helper for file headers (safetensors): a bounds-checked
 * parser into a read-only tree, and an escaping writer into a growable buffer.
 * The parser never reads outside [text, text+n), limits nesting depth, checks
 * UTF-8, and treats numbers as exact non-negative integers <= 2^53 (anything else
 * is kept as PT_JSON_NUMBER with no value, for the caller to reject). */
#ifndef PT_IO_JSON_H
#define PT_IO_JSON_H

#include <stddef.h>
#include <stdint.h>
#include "phasetower/core.h"

#define PT_JSON_MAXDEPTH 16          /* nested arrays/objects, root included */
#define PT_JSON_MAXINT   (UINT64_C(1) << 53)

typedef enum pt_json_type {
    PT_JSON_NULL = 0,
    PT_JSON_BOOL,    /* num = 0 or 1 */
    PT_JSON_INT,     /* integer 0 <= num <= 2^53 written without sign, '.' or exponent */
    PT_JSON_NUMBER,  /* any other valid JSON number (negative, fraction, exponent, > 2^53) */
    PT_JSON_STRING,  /* str/len */
    PT_JSON_ARRAY,   /* len children via child/next */
    PT_JSON_OBJECT   /* len members via child/next, each with key/keylen */
} pt_json_type;

typedef struct pt_json pt_json;
struct pt_json {
    pt_json_type type;
    const char *key;       /* member key (decoded, NUL-terminated) if the parent is an object, else NULL */
    size_t keylen;
    const char *str;       /* PT_JSON_STRING: decoded UTF-8, NUL-terminated, never contains NUL */
    size_t len;            /* STRING: bytes in str; ARRAY/OBJECT: number of children */
    uint64_t num;          /* INT value, BOOL 0/1 */
    size_t pos;            /* byte offset of the value in the parsed text (for messages) */
    const pt_json *child;  /* first child of an array/object, or NULL */
    const pt_json *next;   /* next sibling, or NULL */
};

/* A parsed document. root points into nodes; all strings live in strings. */
typedef struct pt_json_doc {
    const pt_json *root;
    pt_json *nodes;
    char *strings;
    const char *err;       /* on PT_EFORMAT: static description ("expected ':'") */
    size_t err_pos;        /* on PT_EFORMAT: byte offset in text where parsing failed */
} pt_json_doc;

/* Parse exactly one value from text[0..n) (surrounding whitespace allowed).
 * Returns PT_OK, PT_EFORMAT (doc->err, doc->err_pos set) or PT_ENOMEM. Sets no
 * pt_errmsg: the caller knows the file name and reports. Strings must be valid
 * UTF-8; "\u0000" and unpaired surrogates are rejected. On failure nothing is
 * allocated; on success free with pt_json_free. */
pt_status pt_json_parse(pt_json_doc *doc, const char *text, size_t n);
/* Free a document (safe on a zeroed or already freed doc). */
void pt_json_free(pt_json_doc *doc);
/* First member of obj with the given key, or NULL (linear scan; NULL-safe). */
const pt_json *pt_json_get(const pt_json *obj, const char *key);

/* 1 if s[0..n) is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int pt_json_utf8_valid(const char *s, size_t n);

/* Growable output buffer. Errors are sticky: after any allocation failure oom is
 * set and further writes are ignored, so callers check once at the end. */
typedef struct pt_json_buf {
    char *p;
    size_t len, cap;
    int oom;
} pt_json_buf;

void pt_json_put_raw(pt_json_buf *b, const char *s, size_t n);   /* bytes as is */
void pt_json_put_lit(pt_json_buf *b, const char *s);             /* NUL-terminated, as is */
void pt_json_put_uint(pt_json_buf *b, uint64_t v);               /* decimal */
/* s as a quoted JSON string; escapes '"', '\\' and control characters. */
void pt_json_put_string(pt_json_buf *b, const char *s);
void pt_json_buf_free(pt_json_buf *b);

#endif
