/* Corruptions: spec parsing (good and bad), rotation of a known image (a
 * bright pixel lands where a +-90 degree turn puts it; 0 degrees is the
 * identity), noise statistics, and determinism however a set is split. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "phasetower/data.h"

enum { R = 29, C = 29, D = R * C };

int main(void)
{
    pt_corrupt c;
    CHECK(pt_corrupt_parse("rotate:15-45", &c) == PT_OK && c.kind == PT_CORRUPT_ROTATE && c.a == 15.0f && c.b == 45.0f);
    CHECK(pt_corrupt_parse("noise:0.3", &c) == PT_OK && c.kind == PT_CORRUPT_NOISE && c.a == 0.3f);
    /* noise:1e-60: a positive double that becomes sigma 0 as a float (found by fuzz_spec) */
    const char *bad[] = {"rotate:45-15", "rotate:15", "rotate:-5-10", "rotate:10-200", "noise:0", "noise:-1",
                         "noise:1e-60", "noise:nan", "noise:0.3x", "blur:2", "", "rotate:a-b", "turn:", "turn:200",
                         "turn:5x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(pt_corrupt_parse(bad[i], &c) == PT_EINVAL);
        CHECK(strstr(pt_errmsg(), "corruption") != NULL);
    }

    /* a bright pixel 5 rows above the centre (14, 14) */
    static float img[D], orig[D];
    orig[9 * C + 14] = 1.0f;
    memcpy(img, orig, sizeof img);
    CHECK(pt_corrupt_parse("rotate:90-90", &c) == PT_OK);
    CHECK(pt_corrupt_apply(&c, img, 1, R, C, 7, 0) == PT_OK);
    float left = img[14 * C + 9], right = img[14 * C + 19];
    CHECK((fabsf(left - 1.0f) < 1e-5f && right < 1e-5f) || (fabsf(right - 1.0f) < 1e-5f && left < 1e-5f));
    double mass = 0.0;
    for (int j = 0; j < D; j++) mass += (double)img[j];
    CHECK_CLOSE(mass, 1.0, 1e-5, 1e-5);
    /* turn:90 moves it to one fixed side (counterclockwise on screen: to the left),
     * the same for every image and seed; pt_image_rotate is the same map */
    memcpy(img, orig, sizeof img);
    CHECK(pt_corrupt_parse("turn:90", &c) == PT_OK && c.kind == PT_CORRUPT_TURN && c.a == 90.0f);
    CHECK(pt_corrupt_apply(&c, img, 1, R, C, 3, 0) == PT_OK);
    static float img2[D];
    pt_image_rotate(img2, orig, R, C, 90.0);
    CHECK(!memcmp(img, img2, sizeof img));
    CHECK(fabsf(img[14 * C + 9] - 1.0f) < 1e-5f || fabsf(img[14 * C + 19] - 1.0f) < 1e-5f);
    pt_image_rotate(img, img2, R, C, -90.0);
    CHECK(fabsf(img[9 * C + 14] - 1.0f) < 1e-5f); /* and back */
    memcpy(img, orig, sizeof img);
    CHECK(pt_corrupt_parse("rotate:0-0", &c) == PT_OK);
    CHECK(pt_corrupt_apply(&c, img, 1, R, C, 7, 0) == PT_OK);
    CHECK(!memcmp(img, orig, sizeof img));

    /* noise on mid-grey: mean shift ~0, standard deviation ~sigma */
    enum { N = 20 };
    static float g[N * D], g2[N * D];
    for (int j = 0; j < N * D; j++) g[j] = g2[j] = 0.5f;
    CHECK(pt_corrupt_parse("noise:0.05", &c) == PT_OK);
    CHECK(pt_corrupt_apply(&c, g, N, R, C, 11, 0) == PT_OK);
    double m = 0.0, v = 0.0;
    for (int j = 0; j < N * D; j++) m += (double)g[j] - 0.5;
    m /= N * D;
    for (int j = 0; j < N * D; j++) v += ((double)g[j] - 0.5 - m) * ((double)g[j] - 0.5 - m);
    CHECK(fabs(m) < 0.003);
    CHECK_CLOSE(sqrt(v / (N * D)), 0.05, 0.05, 0.0);
    /* the same images corrupted in two calls (first = 0 and 7) are identical */
    CHECK(pt_corrupt_apply(&c, g2, 7, R, C, 11, 0) == PT_OK);
    CHECK(pt_corrupt_apply(&c, g2 + 7 * D, N - 7, R, C, 11, 7) == PT_OK);
    CHECK(!memcmp(g, g2, sizeof g));
    /* rotations by +-[15, 45] change a non-symmetric image, and the angle varies */
    static float s[3 * D];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < D; j++) s[i * D + j] = (float)(j % C) / (float)C;
    CHECK(pt_corrupt_parse("rotate:15-45", &c) == PT_OK);
    CHECK(pt_corrupt_apply(&c, s, 3, R, C, 5, 0) == PT_OK);
    CHECK(memcmp(s, s + D, D * sizeof(float)) != 0 && memcmp(s + D, s + 2 * D, D * sizeof(float)) != 0);
    TEST_END();
}
