/* A parallel loop over independent items with POSIX threads: the range is
 * cut into one contiguous chunk per thread, the same cut for the same count
 * and thread number, and each item's arithmetic does not depend on the cut,
 * so results are bit-identical whatever the thread count (each caller keeps
 * that promise by writing only its own items). */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include "internal.h"

static int g_threads = 1;

void pt_threads_set(int n) { g_threads = n < 1 ? 1 : n > 256 ? 256 : n; }
int pt_threads(void) { return g_threads; }

typedef struct chunk {
    void (*fn)(void *user, size_t lo, size_t hi);
    void *user;
    size_t lo, hi;
} chunk;

static void *run(void *p)
{
    chunk *c = p;
    c->fn(c->user, c->lo, c->hi);
    return NULL;
}

void pt_parallel_for(size_t n, void (*fn)(void *user, size_t lo, size_t hi), void *user)
{
    size_t t = (size_t)g_threads < n ? (size_t)g_threads : n;
    if (t <= 1) {
        if (n) fn(user, 0, n);
        return;
    }
    chunk c[256];
    pthread_t th[256];
    int started[256] = {0};
    for (size_t i = 0; i < t; i++) c[i] = (chunk){fn, user, n * i / t, n * (i + 1) / t};
    /* chunk 0 on this thread; a thread that cannot start runs its chunk here too */
    for (size_t i = 1; i < t; i++) started[i] = pthread_create(&th[i], NULL, run, &c[i]) == 0;
    run(&c[0]);
    for (size_t i = 1; i < t; i++) {
        if (started[i]) pthread_join(th[i], NULL);
        else run(&c[i]);
    }
}
