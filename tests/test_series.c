/* The time-series CSV reader and writer: parsing with and without a header,
 * both separators, every refusal with its line and column, and a write that
 * reads back to the same doubles. */
#define _POSIX_C_SOURCE 200809L
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "phasetower/checkpoint.h"
#include "phasetower/data.h"

static pt_status parse(const char *s, pt_series *out) { return pt_series_parse_csv(s, strlen(s), "t.csv", out); }

/* parsing s fails with PT_EFORMAT and a message containing want */
static void refused(const char *s, const char *want)
{
    pt_series ser;
    pt_status st = parse(s, &ser);
    CHECK(st == PT_EFORMAT);
    CHECK(ser.x == NULL && ser.names == NULL && ser.steps == 0);
    if (!strstr(pt_errmsg(), want)) {
        check_failures++;
        fprintf(stderr, "message '%s' lacks '%s'\n", pt_errmsg(), want);
    }
    CHECK(strchr(pt_errmsg(), '\n') == NULL);
}

int main(void)
{
    pt_series s;
    /* plain, one column, trailing blank lines */
    CHECK(parse("1\n2.5\n-3e-2\n\n\n", &s) == PT_OK);
    CHECK(s.steps == 3 && s.channels == 1 && s.names == NULL);
    CHECK(s.x[0] == 1.0 && s.x[1] == 2.5 && s.x[2] == -3e-2);
    pt_series_free(&s);
    CHECK(s.x == NULL);
    /* header, commas, CRLF, spaces around cells */
    CHECK(parse("u, y\r\n0.5, 1\r\n 2 ,3\r\n", &s) == PT_OK);
    CHECK(s.steps == 2 && s.channels == 2 && s.names && !strcmp(s.names[0], "u") && !strcmp(s.names[1], "y"));
    CHECK(s.x[0] == 0.5 && s.x[1] == 1.0 && s.x[2] == 2.0 && s.x[3] == 3.0);
    size_t col = 9;
    CHECK(pt_series_column(&s, "y", &col) == PT_OK && col == 1);
    CHECK(pt_series_column(&s, "0", &col) == PT_OK && col == 0);
    CHECK(pt_series_column(&s, "2", &col) == PT_EINVAL);
    CHECK(pt_series_column(&s, "z", &col) == PT_EINVAL);
    pt_series_free(&s);
    /* blank-separated (the shape of the shared narma10.csv) */
    CHECK(parse("0.1 0.2\n0.3\t0.4\n", &s) == PT_OK);
    CHECK(s.steps == 2 && s.channels == 2 && s.x[3] == 0.4);
    pt_series_free(&s);

    refused("", "no data rows (empty file)");
    refused("a,b\n", "a header alone");
    refused("1,2\n3\n", "line 2: 1 columns, but the first row has 2");
    refused("1,2\n3,4,5\n", "line 2: 3 columns");
    refused("x y\n1 2\n3\n", "line 3: 1 columns, but the header has 2");
    refused("1,2\n3,nan\n", "line 2, column 2: 'nan' is not finite");
    refused("1\ninf\n", "line 2, column 1: 'inf' is not finite");
    refused("1,2\n3,abc\n", "line 2, column 2: 'abc' is not a number");
    refused("1,2\n3,4x\n", "line 2, column 2: '4x' is not a number");
    refused("1,2\n,4\n", "line 2, column 1: empty cell");
    refused("1\n\n2\n", "line 2: blank line inside the data");
    refused("1,a\n", "line 1, column 2: 'a' is not a number");

    /* writer: atomic, exact round trip, header */
    char path[] = "/tmp/pt_test_series_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    double x[6] = {0.1, -1.0 / 3.0, 1e-300, 12345.678901234567, -0.0, 2.0};
    const char *names[2] = {"in", "out"};
    CHECK(pt_series_write_csv(path, x, 3, 2, names) == PT_OK);
    CHECK(pt_series_read_csv(path, &s) == PT_OK);
    CHECK(s.steps == 3 && s.channels == 2 && s.names && !strcmp(s.names[1], "out"));
    CHECK(s.x && memcmp(s.x, x, sizeof x) == 0);
    pt_series_free(&s);
    CHECK(pt_series_write_csv(path, x, 6, 1, NULL) == PT_OK);
    CHECK(pt_series_read_csv(path, &s) == PT_OK);
    CHECK(s.steps == 6 && s.channels == 1 && s.names == NULL && s.x && memcmp(s.x, x, sizeof x) == 0);
    pt_series_free(&s);
    /* refusals leave the file as it was */
    x[2] = (double)NAN;
    CHECK(pt_series_write_csv(path, x, 3, 2, NULL) == PT_EINVAL);
    x[2] = 1.0;
    const char *bad[2] = {"a,b", "c"};
    CHECK(pt_series_write_csv(path, x, 3, 2, bad) == PT_EINVAL);
    const char *num[2] = {"1", "c"};
    CHECK(pt_series_write_csv(path, x, 3, 2, num) == PT_EINVAL);
    CHECK(pt_series_read_csv(path, &s) == PT_OK && s.steps == 6);
    pt_series_free(&s);
    unlink(path);
    CHECK(pt_series_read_csv(path, &s) == PT_EIO);
    CHECK(pt_series_read_csv("/tmp", &s) == PT_EIO);
    CHECK(pt_series_write_csv("/nonexistent-dir/x.csv", x, 3, 2, NULL) == PT_EIO);
    TEST_END();
}
