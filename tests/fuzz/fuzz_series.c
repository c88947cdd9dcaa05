/* libFuzzer target for the time-series CSV reader (src/data/series.c): each
 * input is parsed as CSV text; on success every value must be finite and the
 * shape consistent, and writing it back and reading it again must give the
 * same doubles. Any refusal is fine; a crash, a sanitizer report, a leak or a
 * broken invariant (abort) is a bug. Built with -DPT_FUZZ=ON and CC=clang. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "phasetower/data.h"

static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(path, sizeof path, "/tmp/fuzz_series_%ld.csv", (long)getpid());
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pt_series s, t;
    if (pt_series_parse_csv((const char *)data, size, "fuzz", &s) != PT_OK) return 0;
    if (s.steps == 0 || s.channels == 0 || !s.x) abort();
    for (size_t i = 0; i < s.steps * s.channels; i++)
        if (!isfinite(s.x[i])) abort();
    if (s.steps * s.channels <= 4096 && pt_series_write_csv(path, s.x, s.steps, s.channels, NULL) == PT_OK) {
        if (pt_series_read_csv(path, &t) != PT_OK) abort();
        if (t.steps != s.steps || t.channels != s.channels || memcmp(t.x, s.x, s.steps * s.channels * sizeof *s.x))
            abort();
        pt_series_free(&t);
        remove(path);
    }
    pt_series_free(&s);
    return 0;
}
