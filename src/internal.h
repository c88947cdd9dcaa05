/* Private helpers shared by all library modules: error reporting, checked
 * allocation, the always-on assertion, and complex typedefs. Never installed. */
#ifndef PT_INTERNAL_H
#define PT_INTERNAL_H

#include <complex.h>
#include <stdio.h>
#include <stdlib.h>
#include "phasetower/core.h"

typedef float complex pt_c32;

/* C11's CMPLXF and CMPLX; glibc defines them only for gcc (clang, which CI
 * and the fuzz targets build with, has the same builtin). */
#ifndef CMPLXF
#define CMPLXF(x, y) __builtin_complex((float)(x), (float)(y))
#endif
#ifndef CMPLX
#define CMPLX(x, y) __builtin_complex((double)(x), (double)(y))
#endif

#if defined(__GNUC__)
#define PT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define PT_PRINTF(a, b)
#endif

/* Record a one-line message for pt_errmsg() and return st (for `return pt_fail(...)`). */
pt_status pt_fail(pt_status st, const char *fmt, ...) PT_PRINTF(2, 3);

/* Names of an enum's values (names[v] for v in 0..n-1): the name of v ("?" out
 * of range), and the index of s, or PT_EINVAL "param 's': expected a, b or c". */
#define PT_N_NAMES(a) ((int)(sizeof(a) / sizeof((a)[0])))
const char *pt_enum_name(const char *const *names, int n, int v);
pt_status pt_enum_parse(const char *param, const char *const *names, int n, const char *s, int *out);
/* Defines `const char *name_fn(type)` and `pt_status parse_fn(const char *, type *)`
 * over the array names, errors naming the parameter param ("tower.rule"). */
#define PT_ENUM_FUNCS(type, name_fn, parse_fn, param, names)                                        \
    const char *name_fn(type v) { return pt_enum_name(names, PT_N_NAMES(names), (int)v); }      \
    pt_status parse_fn(const char *s, type *out)                                                \
    {                                                                                           \
        int i = 0;                                                                              \
        pt_status st = pt_enum_parse(param, names, PT_N_NAMES(names), s, &i);                    \
        if (!st) *out = (type)i;                                                                \
        return st;                                                                              \
    }
/* Emit a log line through the user callback, if any. */
void pt_log(int level, const char *fmt, ...) PT_PRINTF(2, 3);

/* Internal invariant check: always on, aborts with file:line. Never for user input. */
#define PT_ASSERT(c) \
    do { if (!(c)) { fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

/* Top-s of scores (K) into idx (s, unordered; idx[0] is the worst selected):
 * larger score first, ties to the lower index, so selection is deterministic. */
void pt_select_top(int *restrict idx, const float *restrict sc, int K, int s);

/* The library's thread count (pt_set_threads) and a parallel loop: fn(user,
 * lo, hi) on contiguous chunks of 0..n, one per thread, the calling thread
 * included; returns when all are done. Callers write only their own items,
 * so results do not depend on the thread count. */
void pt_threads_set(int n);
int pt_threads(void);
void pt_parallel_for(size_t n, void (*fn)(void *user, size_t lo, size_t hi), void *user);

/* calloc with overflow check; NULL on failure (caller returns PT_ENOMEM). */
void *pt_calloc(size_t n, size_t size);

#endif
