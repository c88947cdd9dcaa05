/* libFuzzer target for the safetensors reader (src/io/safetensors.c and jansson
 * under it): each input is written to a temporary file and read with pt_st_read
 * and pt_st_read_meta. Any status is fine; a crash, a sanitizer report or a
 * broken invariant (abort) is a bug. Built by CMake with -DPT_FUZZ=ON and
 * CC=clang (clang 14 with libFuzzer; on Debian apt-get install clang
 * libclang-rt-14-dev), run by `make fuzz` (and for 25 s by `make test`)
 * with the valid files in tests/fuzz/seeds and safetensors.dict; by hand:
 *   CC=clang cmake -S . -B build-fuzz -DPT_FUZZ=ON && cmake --build build-fuzz --target fuzz
 *   tests/fuzz/run.sh build-fuzz 600 safetensors
 * To fuzz jansson's own branches too, build jansson 2.14 from source with
 * -fsanitize=fuzzer-no-link,address,undefined and link that instead of the
 * system's. A crash leaves build-fuzz/artifacts/fuzz_safetensors-crash-<sha1>:
 * add it to tests/test_safetensors.c as a case once fixed. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "io/safetensors.h"
#include "fuzz_file.h"


int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_file_init("fuzz_safetensors");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_file_write(data, size);

    pt_st_file *f = NULL, *m = NULL;
    pt_status st = pt_st_read(path, &f);
    pt_status sm = pt_st_read_meta(path, &m);
    CHECK((st == PT_OK) == (f != NULL) && (sm == PT_OK) == (m != NULL));
    CHECK(st == PT_OK || st == PT_EFORMAT);
    CHECK(sm == PT_OK || sm == PT_EFORMAT);
    if (f) {
        CHECK(m != NULL); /* a readable file has a readable header, with the same metadata */
        const char *a = pt_st_meta(f, "format"), *b = pt_st_meta(m, "format");
        CHECK((a == NULL) == (b == NULL) && (!a || strcmp(a, b) == 0));
        volatile unsigned sum = 0;
        for (size_t i = 0; i < pt_st_count(f); i++) {
            const pt_st_tensor *t = pt_st_at(f, i);
            CHECK(t && pt_st_find(f, t->name) == t && strlen(t->name) < PT_ST_MAXNAME);
            size_t n = pt_st_numel(t) * (t->dtype == PT_ST_U8 ? 1u : 4u);
            CHECK(t->dtype == PT_ST_U8 || (uintptr_t)t->data % 4 == 0);
            const unsigned char *p = t->data;
            for (size_t j = 0; j < n; j++) sum += p[j]; /* every tensor byte is readable */
        }
        (void)sum;
        pt_st_close(f);
    }
    if (m) {
        CHECK(pt_st_count(m) == 0);
        (void)pt_st_meta(m, "format");
        pt_st_close(m);
    }
    return 0;
}
