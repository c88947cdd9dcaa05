/* Minimal test helpers: CHECK(cond), CHECK_CLOSE(a, b, rtol, atol) meaning
 * |a-b| <= atol + rtol*|b|. Failures are counted; TEST_END returns non-zero. */
#ifndef PT_TESTS_CHECK_H
#define PT_TESTS_CHECK_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int check_failures;

#define CHECK(c) \
    do { if (!(c)) { check_failures++; fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); } } while (0)

#define CHECK_CLOSE(a, b, rtol, atol) \
    do { double a_ = (double)(a), b_ = (double)(b); \
         if (!(fabs(a_ - b_) <= (atol) + (rtol) * fabs(b_)) || isnan(a_) || isnan(b_)) { check_failures++; \
             fprintf(stderr, "%s:%d: CHECK_CLOSE failed: %s=%.9g %s=%.9g\n", __FILE__, __LINE__, #a, a_, #b, b_); } } while (0)

/* Whole file into *buf (malloc'd, caller frees); its length, or -1. */
static inline long check_slurp(const char *path, unsigned char **buf)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *buf = malloc((size_t)(n > 0 ? n : 1));
    if (!*buf || fread(*buf, 1, (size_t)n, f) != (size_t)n) n = -1;
    fclose(f);
    return n;
}

#define TEST_END() \
    do { if (check_failures) { fprintf(stderr, "%d check(s) failed\n", check_failures); return 1; } \
         printf("all checks passed\n"); return 0; } while (0)
#endif
