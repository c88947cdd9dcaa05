/* PhaseTower core: status codes, error messages, logging and the explicit RNG.
 * Every fallible library call returns pt_status; on failure a one-line human
 * message naming the file/field and the problem is available from pt_errmsg()
 * (thread-local, valid until the next failing call on the same thread).
 * The library never prints and never exits. */
#ifndef PHASETOWER_CORE_H
#define PHASETOWER_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pt_status {
    PT_OK = 0,
    PT_EINVAL,   /* bad argument, flag value or shape */
    PT_ENOMEM,   /* allocation failed */
    PT_EIO,      /* read/write/open failed */
    PT_EFORMAT,  /* file content is corrupt, truncated or inconsistent */
    PT_ENOCONV,  /* an iterative method did not converge / produced NaN */
    PT_STATUS_COUNT
} pt_status;

/* Short name of a status ("invalid argument", ...). Never NULL. */
const char *pt_status_str(pt_status s);

/* One-line description of the most recent failure on this thread ("" if none). */
const char *pt_errmsg(void);

/* Optional log sink for progress and diagnostics. level: 0 info, 1 warning.
 * Pass NULL to silence (the default). Not thread-safe to change while training. */
typedef void (*pt_log_fn)(int level, const char *msg, void *user);
void pt_set_log(pt_log_fn fn, void *user);

/* Threads used by BLAS and any parallel loop (default 1: the library is
 * measured on one core). Set once, before training or inference. */
void pt_set_threads(int n);

/* Progress of long work (training, filling a memory): called with the units
 * done so far and the total, from the calling thread; may be NULL. */
typedef void (*pt_progress_fn)(size_t done, size_t total, void *user);

/* Explicit random state (xoshiro256**), seeded by splitmix64. No globals. */
typedef struct pt_rng { uint64_t s[4]; } pt_rng;
void     pt_rng_seed(pt_rng *r, uint64_t seed);
uint64_t pt_rng_u64(pt_rng *r);
float    pt_rng_uniform(pt_rng *r);          /* [0,1) */
float    pt_rng_normal(pt_rng *r);           /* N(0,1), Box-Muller */

#ifdef __cplusplus
}
#endif
#endif
