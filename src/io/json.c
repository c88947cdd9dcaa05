/* Minimal JSON parser and string escaper for file headers (see json.h).
 * Parsing runs twice over the text: a counting pass that validates everything
 * and sizes the node and string arrays exactly, then a filling pass. So the tree
 * needs two allocations, pointers never move, and malformed input allocates nothing.
 * Recursion is bounded by PT_JSON_MAXDEPTH. */
#include <string.h>
#include "internal.h"
#include "io/json.h"

typedef struct parser {
    const unsigned char *s;
    size_t n, i;
    pt_json *nodes;   /* NULL in the counting pass */
    size_t nn;
    char *sb;         /* NULL in the counting pass */
    size_t sn;
    const char *err;
    size_t errpos;
} parser;

static int fail(parser *p, const char *what)
{
    if (!p->err) {
        p->err = what;
        p->errpos = p->i;
    }
    return -1;
}

static void skip_ws(parser *p)
{
    while (p->i < p->n) {
        unsigned char c = p->s[p->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->i++;
    }
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* Length of the UTF-8 sequence at s (1..4), or 0 if it is malformed or cut off. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0], cp, min;
    size_t k;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) { k = 2; cp = c & 0x1Fu; min = 0x80; }
    else if ((c & 0xF0u) == 0xE0) { k = 3; cp = c & 0x0Fu; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { k = 4; cp = c & 0x07u; min = 0x10000; }
    else return 0;
    if (n < k) return 0;
    for (size_t j = 1; j < k; j++) {
        if ((s[j] & 0xC0u) != 0x80) return 0;
        cp = (cp << 6) | (s[j] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return k;
}

int pt_json_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_seq(u + i, n - i);
        if (!k) return 0;
        i += k;
    }
    return 1;
}

static void put(parser *p, unsigned c)
{
    if (p->sb) p->sb[p->sn] = (char)(unsigned char)c;
    p->sn++;
}

static void put_utf8(parser *p, unsigned cp)
{
    if (cp < 0x80) {
        put(p, cp);
    } else if (cp < 0x800) {
        put(p, 0xC0 | (cp >> 6));
        put(p, 0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        put(p, 0xE0 | (cp >> 12));
        put(p, 0x80 | ((cp >> 6) & 0x3F));
        put(p, 0x80 | (cp & 0x3F));
    } else {
        put(p, 0xF0 | (cp >> 18));
        put(p, 0x80 | ((cp >> 12) & 0x3F));
        put(p, 0x80 | ((cp >> 6) & 0x3F));
        put(p, 0x80 | (cp & 0x3F));
    }
}

/* Four hex digits at p->i (after "\u"). */
static int hex4(parser *p, unsigned *out)
{
    if (p->n - p->i < 4) return fail(p, "truncated \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        unsigned char c = p->s[p->i];
        unsigned d;
        if (c >= '0' && c <= '9') d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') d = (unsigned)(c - 'A' + 10);
        else return fail(p, "bad hex digit in \\u escape");
        v = (v << 4) | d;
        p->i++;
    }
    *out = v;
    return 0;
}

static int parse_unicode_escape(parser *p)
{
    unsigned cp;
    if (hex4(p, &cp)) return -1;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return fail(p, "unpaired surrogate in \\u escape");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        /* UTF-16 surrogate pair (RFC 8259 section 7) */
        unsigned lo;
        if (p->n - p->i < 2 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u')
            return fail(p, "unpaired surrogate in \\u escape");
        p->i += 2;
        if (hex4(p, &lo)) return -1;
        if (lo < 0xDC00 || lo > 0xDFFF) return fail(p, "unpaired surrogate in \\u escape");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    if (cp == 0) return fail(p, "\\u0000 is not allowed in strings");
    put_utf8(p, cp);
    return 0;
}

/* String at p->i (which holds '"'); decoded bytes plus NUL go to the string buffer. */
static int parse_string(parser *p, const char **out, size_t *len)
{
    size_t start = p->sn;
    p->i++;
    for (;;) {
        if (p->i >= p->n) return fail(p, "unterminated string");
        unsigned char c = p->s[p->i];
        if (c == '"') {
            p->i++;
            break;
        }
        if (c < 0x20) return fail(p, "control character in string");
        if (c == '\\') {
            if (p->n - p->i < 2) {
                p->i = p->n;
                return fail(p, "unterminated string");
            }
            unsigned char e = p->s[p->i + 1];
            p->i += 2;
            switch (e) {
            case '"': put(p, '"'); break;
            case '\\': put(p, '\\'); break;
            case '/': put(p, '/'); break;
            case 'b': put(p, '\b'); break;
            case 'f': put(p, '\f'); break;
            case 'n': put(p, '\n'); break;
            case 'r': put(p, '\r'); break;
            case 't': put(p, '\t'); break;
            case 'u':
                if (parse_unicode_escape(p)) return -1;
                break;
            default:
                p->i -= 1;
                return fail(p, "bad escape in string");
            }
            continue;
        }
        size_t k = utf8_seq(p->s + p->i, p->n - p->i);
        if (!k) return fail(p, "invalid UTF-8 in string");
        for (size_t j = 0; j < k; j++) put(p, p->s[p->i + j]);
        p->i += k;
    }
    put(p, 0);
    *out = p->sb ? p->sb + start : NULL;
    *len = p->sn - start - 1;
    return 0;
}

/* JSON number grammar (RFC 8259 section 6); only plain integers <= 2^53 keep a value. */
static int parse_number(parser *p, pt_json *v)
{
    size_t i = p->i;
    int exact = 1;
    uint64_t val = 0;
    if (p->s[i] == '-') {
        exact = 0;
        i++;
    }
    if (i >= p->n || !is_digit(p->s[i])) {
        p->i = i;
        return fail(p, "bad number");
    }
    if (p->s[i] == '0') {
        i++;
        if (i < p->n && is_digit(p->s[i])) {
            p->i = i;
            return fail(p, "leading zero in number");
        }
    } else {
        while (i < p->n && is_digit(p->s[i])) {
            uint64_t d = (uint64_t)(p->s[i] - '0');
            if (val > (PT_JSON_MAXINT - d) / 10) exact = 0;
            else val = val * 10 + d;
            i++;
        }
    }
    if (i < p->n && p->s[i] == '.') {
        exact = 0;
        i++;
        if (i >= p->n || !is_digit(p->s[i])) {
            p->i = i;
            return fail(p, "bad number");
        }
        while (i < p->n && is_digit(p->s[i])) i++;
    }
    if (i < p->n && (p->s[i] == 'e' || p->s[i] == 'E')) {
        exact = 0;
        i++;
        if (i < p->n && (p->s[i] == '+' || p->s[i] == '-')) i++;
        if (i >= p->n || !is_digit(p->s[i])) {
            p->i = i;
            return fail(p, "bad number");
        }
        while (i < p->n && is_digit(p->s[i])) i++;
    }
    p->i = i;
    if (v) {
        v->type = exact ? PT_JSON_INT : PT_JSON_NUMBER;
        v->num = exact ? val : 0;
    }
    return 0;
}

static int parse_literal(parser *p, pt_json *v, const char *word, pt_json_type t, uint64_t num)
{
    size_t k = strlen(word);
    if (p->n - p->i < k || memcmp(p->s + p->i, word, k) != 0) return fail(p, "unexpected character");
    p->i += k;
    if (v) {
        v->type = t;
        v->num = num;
    }
    return 0;
}

static int parse_value(parser *p, int depth, pt_json **out);

/* Array or object at p->i ('[' or '{'); depth counts this container. */
static int parse_container(parser *p, int depth, pt_json *v, int obj)
{
    unsigned char close = obj ? '}' : ']';
    pt_json *last = NULL;
    size_t count = 0;
    p->i++;
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == close) {
        p->i++;
        return 0;
    }
    for (;;) {
        const char *key = NULL;
        size_t keylen = 0;
        if (obj) {
            skip_ws(p);
            if (p->i >= p->n || p->s[p->i] != '"') return fail(p, "expected string key");
            if (parse_string(p, &key, &keylen)) return -1;
            skip_ws(p);
            if (p->i >= p->n || p->s[p->i] != ':') return fail(p, "expected ':'");
            p->i++;
        }
        pt_json *c;
        if (parse_value(p, depth, &c)) return -1;
        if (c) {
            c->key = key;
            c->keylen = keylen;
            if (last) last->next = c;
            else v->child = c;
            last = c;
        }
        count++;
        skip_ws(p);
        if (p->i >= p->n) return fail(p, "unexpected end of text");
        if (p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->s[p->i] == close) {
            p->i++;
            break;
        }
        return fail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    if (v) v->len = count;
    return 0;
}

/* depth = number of containers enclosing this value. */
static int parse_value(parser *p, int depth, pt_json **out)
{
    skip_ws(p);
    if (p->i >= p->n) return fail(p, "unexpected end of text");
    pt_json *v = p->nodes ? &p->nodes[p->nn] : NULL;
    p->nn++;
    if (v) v->pos = p->i;
    *out = v;
    unsigned char c = p->s[p->i];
    if (c == '{' || c == '[') {
        if (depth + 1 > PT_JSON_MAXDEPTH) return fail(p, "nesting too deep");
        if (v) v->type = c == '{' ? PT_JSON_OBJECT : PT_JSON_ARRAY;
        return parse_container(p, depth + 1, v, c == '{');
    }
    if (c == '"') {
        const char *s;
        size_t len;
        if (parse_string(p, &s, &len)) return -1;
        if (v) {
            v->type = PT_JSON_STRING;
            v->str = s;
            v->len = len;
        }
        return 0;
    }
    if (c == '-' || is_digit(c)) return parse_number(p, v);
    if (c == 't') return parse_literal(p, v, "true", PT_JSON_BOOL, 1);
    if (c == 'f') return parse_literal(p, v, "false", PT_JSON_BOOL, 0);
    if (c == 'n') return parse_literal(p, v, "null", PT_JSON_NULL, 0);
    return fail(p, "unexpected character");
}

static int parse_all(parser *p)
{
    pt_json *root;
    if (parse_value(p, 0, &root)) return -1;
    skip_ws(p);
    if (p->i != p->n) return fail(p, "trailing characters after value");
    return 0;
}

pt_status pt_json_parse(pt_json_doc *doc, const char *text, size_t n)
{
    PT_ASSERT(doc && (text || n == 0));
    memset(doc, 0, sizeof *doc);
    parser p = { .s = (const unsigned char *)text, .n = n };
    if (parse_all(&p)) {
        doc->err = p.err;
        doc->err_pos = p.errpos;
        return PT_EFORMAT;
    }
    /* Counting pass succeeded: nn <= n and sn <= n + 1, so nothing overflows. */
    size_t nn = p.nn, sn = p.sn;
    doc->nodes = pt_calloc(nn, sizeof *doc->nodes);
    doc->strings = pt_calloc(sn, 1);
    if (!doc->nodes || !doc->strings) {
        pt_json_free(doc);
        return PT_ENOMEM;
    }
    parser q = { .s = (const unsigned char *)text, .n = n, .nodes = doc->nodes, .sb = doc->strings };
    int rc = parse_all(&q);
    PT_ASSERT(rc == 0 && q.nn == nn && q.sn == sn);
    doc->root = doc->nodes;
    return PT_OK;
}

void pt_json_free(pt_json_doc *doc)
{
    if (!doc) return;
    free(doc->nodes);
    free(doc->strings);
    doc->nodes = NULL;
    doc->strings = NULL;
    doc->root = NULL;
}

const pt_json *pt_json_get(const pt_json *obj, const char *key)
{
    if (!obj || obj->type != PT_JSON_OBJECT) return NULL;
    for (const pt_json *c = obj->child; c; c = c->next)
        if (strcmp(c->key, key) == 0) return c;
    return NULL;
}

/* ---- writer ---- */

static int reserve(pt_json_buf *b, size_t extra)
{
    if (b->oom) return -1;
    if (extra <= b->cap - b->len) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < extra) {
        if (cap > SIZE_MAX / 2) {
            b->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    char *np = realloc(b->p, cap);
    if (!np) {
        b->oom = 1;
        return -1;
    }
    b->p = np;
    b->cap = cap;
    return 0;
}

void pt_json_put_raw(pt_json_buf *b, const char *s, size_t n)
{
    if (n == 0 || reserve(b, n)) return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

void pt_json_put_lit(pt_json_buf *b, const char *s) { pt_json_put_raw(b, s, strlen(s)); }

void pt_json_put_uint(pt_json_buf *b, uint64_t v)
{
    char tmp[24];
    size_t k = sizeof tmp;
    do {
        tmp[--k] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    pt_json_put_raw(b, tmp + k, sizeof tmp - k);
}

void pt_json_put_string(pt_json_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    pt_json_put_raw(b, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        char esc[6] = { '\\', 0, 0, 0, 0, 0 };
        size_t k = 2;
        switch (*c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            if (*c >= 0x20) {
                pt_json_put_raw(b, (const char *)c, 1);
                continue;
            }
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[*c >> 4];
            esc[5] = hex[*c & 15];
            k = 6;
        }
        pt_json_put_raw(b, esc, k);
    }
    pt_json_put_raw(b, "\"", 1);
}

void pt_json_buf_free(pt_json_buf *b)
{
    if (!b) return;
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
