/* What the libFuzzer targets share: each input goes to one temporary file
 * (made once, removed at exit), since the readers under test take paths; and
 * an invariant check that aborts, which libFuzzer reports as a crash. */
#ifndef PT_FUZZ_FILE_H
#define PT_FUZZ_FILE_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static inline void remove_file(void) { remove(path); }

/* Make the temporary file, named after the target. */
static inline void fuzz_file_init(const char *name)
{
    snprintf(path, sizeof path, "/tmp/%s_XXXXXX", name);
    int fd = mkstemp(path);
    if (fd < 0) abort();
    close(fd);
    atexit(remove_file);
}

/* Write one input to it. */
static inline void fuzz_file_write(const uint8_t *data, size_t size)
{
    FILE *fp = fopen(path, "wb");
    if (!fp) abort();
    if (size && fwrite(data, 1, size, fp) != size) abort();
    if (fclose(fp) != 0) abort();
}

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s\n", #c); abort(); } } while (0)
#endif
