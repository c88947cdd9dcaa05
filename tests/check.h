/* Minimal test helpers: CHECK(cond), CHECK_CLOSE(a, b, rtol, atol) meaning
 * |a-b| <= atol + rtol*|b|. Failures are counted; TEST_END returns non-zero. */
#ifndef PT_TESTS_CHECK_H
#define PT_TESTS_CHECK_H
#include <math.h>
#include <stdio.h>

static int check_failures;

#define CHECK(c) \
    do { if (!(c)) { check_failures++; fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); } } while (0)

#define CHECK_CLOSE(a, b, rtol, atol) \
    do { double a_ = (double)(a), b_ = (double)(b); \
         if (!(fabs(a_ - b_) <= (atol) + (rtol) * fabs(b_)) || isnan(a_) || isnan(b_)) { check_failures++; \
             fprintf(stderr, "%s:%d: CHECK_CLOSE failed: %s=%.9g %s=%.9g\n", __FILE__, __LINE__, #a, a_, #b, b_); } } while (0)

#define TEST_END() \
    do { if (check_failures) { fprintf(stderr, "%d check(s) failed\n", check_failures); return 1; } \
         printf("all checks passed\n"); return 0; } while (0)
#endif
