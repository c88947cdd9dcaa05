/* Atomic file writes (library-internal): every file the library writes goes
 * through here, whichever module writes it (checkpoints, IDX sets, PNG
 * pictures, the C export).
 *
 * pt_atomic_open creates a fresh temporary file next to the destination,
 * "<dir>/.<name>.XXXXXX" made by mkstemp: O_CREAT|O_EXCL, so it is never an
 * existing file and never reached through a symlink planted at any name. Its
 * mode is what a plain create would give (0666 less the umask, so 0644 under
 * the usual umask 022). The caller writes through a->f (or a->fd, if it never
 * touches a->f; see err). pt_atomic_commit then flushes the stream, fsyncs the file,
 * closes it, renames it over the destination and fsyncs the directory, so that
 * after it returns PT_OK the new file survives a power loss; before the rename
 * the destination is untouched. On any failure of open, commit or abort the
 * temporary file is removed: a failed write leaves the destination as it was
 * and nothing else behind. Two processes writing the same destination each
 * rename their own complete file; the last rename wins, and the destination is
 * always one of the two, whole.
 *
 * Messages name the destination, never the temporary name. Not thread-safe
 * per object; distinct objects may be used from distinct threads. */
#ifndef PT_IO_ATOMIC_H
#define PT_IO_ATOMIC_H

#include <stddef.h>
#include <stdio.h>
#include "phasetower/core.h"

typedef struct pt_atomic {
    FILE *f;          /* write here */
    int fd;           /* the same file (for writers that need a descriptor); -1 when closed */
    int err;          /* errno of the first failed write, or 0: set by pt_atomic_write, or by a
                       * caller writing some other way; nonzero fails the commit */
    char *tmp;        /* the temporary file's name (owned), NULL when none is left */
    const char *path; /* the destination (the caller's string, kept until commit or abort) */
} pt_atomic;

/* Create the temporary file for destination path. On failure (PT_EIO: the
 * directory is missing or not writable; PT_ENOMEM) nothing is left and *a is
 * safe to pass to pt_atomic_abort. path must outlive the commit or abort. */
pt_status pt_atomic_open(pt_atomic *a, const char *path);

/* fwrite of n bytes to a->f that remembers the errno of a failure for the
 * commit's message. 0, or -1 on a short write. */
int pt_atomic_write(pt_atomic *a, const void *p, size_t n);

/* Commit n open files together: first flush, fsync and close every one (a
 * write error of any, including one the caller made through a->f, fails them
 * all and removes every temporary file: no destination is touched), then
 * rename each over its destination and fsync each destination's directory.
 * A rename that fails removes the temporary files not yet renamed (those
 * renamed are in place and complete). PT_EIO naming the destination. */
pt_status pt_atomic_commit(pt_atomic *a, size_t n);

/* Close and remove the temporary files of n objects (those still open; safe
 * after a failed open or commit, and twice). */
void pt_atomic_abort(pt_atomic *a, size_t n);

#endif
