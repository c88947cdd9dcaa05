/* Atomic file writes: a unique temporary file next to the destination
 * (mkstemp), fsynced, renamed over it, the directory fsynced (atomic.h).
 * rename(2) replaces a name atomically within one file system, which is why
 * the temporary file lives in the destination's own directory. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "internal.h"
#include "io/atomic.h"
#include "phasetower/checkpoint.h"

/* Longest part of the destination's name that goes into the temporary name,
 * so ".<name>.XXXXXX" stays within NAME_MAX (255) for any destination. */
#define TMP_NAME_PART 200

/* The mode a plain create (open(..., 0666)) would give: mkstemp makes 0600.
 * The umask is read without changing it where the kernel shows it (Linux
 * 4.7+), since umask() sets it for the whole process and a thread creating a
 * file meanwhile would get the wrong mode. */
static mode_t create_mode(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "Umask:", 6) != 0) continue;
            char *end;
            unsigned long m = strtoul(line + 6, &end, 8);
            if (end != line + 6 && m <= 0777) {
                fclose(f);
                return (mode_t)(0666 & ~m);
            }
        }
        fclose(f);
    }
    mode_t m = umask(022);
    umask(m);
    return (mode_t)(0666 & ~m);
}

static int is_unsupported(int e)
{
#ifdef ENOTSUP
    if (e == ENOTSUP) return 1;
#endif
    return e == EINVAL; /* fsync on a file system or directory that cannot sync */
}

/* fsync the directory holding path, so that the rename itself is on disk.
 * 0, or the errno. A directory that can be written but not read (mode -wx)
 * cannot be opened to sync: then nothing more can be done, and that is no error. */
static int sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (slash == path ? 1 : (size_t)(slash - path)) : 1;
    char *dir = malloc(n + 1);
    if (!dir) return ENOMEM;
    if (slash) memcpy(dir, path, n);
    else dir[0] = '.';
    dir[n] = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), e = 0;
    free(dir);
    if (fd < 0) return errno == EACCES ? 0 : errno;
    if (fsync(fd) != 0 && !is_unsupported(errno)) e = errno;
    close(fd);
    return e;
}

/* "<destination>: write failed: <what>: <errno's text>", either part optional */
static pt_status failed(const pt_atomic *a, const char *what, int e)
{
    return pt_fail(PT_EIO, "%s: write failed: %s%s%s", a->path, what ? what : "", what && e ? ": " : "",
                   e ? strerror(e) : "");
}

pt_status pt_atomic_open(pt_atomic *a, const char *path)
{
    *a = (pt_atomic){NULL, -1, 0, NULL, path};
    if (!path || !*path) return pt_fail(PT_EINVAL, "write: empty file name");
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    size_t dlen = (size_t)(base - path), blen = strlen(base);
    if (blen == 0) return failed(a, "the name ends with '/'", 0);
    if (blen > TMP_NAME_PART) blen = TMP_NAME_PART;
    char *tmp = malloc(dlen + blen + 9);
    if (!tmp) return pt_fail(PT_ENOMEM, "%s: out of memory", path);
    memcpy(tmp, path, dlen);
    tmp[dlen] = '.';
    memcpy(tmp + dlen + 1, base, blen);
    memcpy(tmp + dlen + 1 + blen, ".XXXXXX", 8);
    int fd = mkstemp(tmp); /* O_CREAT | O_EXCL: a fresh file, never through a symlink */
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return failed(a, "cannot create a temporary file in its directory", e);
    }
    a->fd = fd, a->tmp = tmp;
    int e = 0;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 || fchmod(fd, create_mode()) != 0) e = errno;
    else if (!(a->f = fdopen(fd, "wb"))) e = errno ? errno : ENOMEM;
    if (!a->f) {
        pt_atomic_abort(a, 1);
        return failed(a, "cannot set up the temporary file", e);
    }
    return PT_OK;
}

int pt_atomic_write(pt_atomic *a, const void *p, size_t n)
{
    if (n == 0) return 0;
    errno = 0;
    if (fwrite(p, 1, n, a->f) == n) return 0;
    if (!a->err) a->err = errno ? errno : EIO;
    return -1;
}

/* Flush, fsync and close one file (the temporary name stays). 0 or the errno
 * (EIO for a write error whose errno is lost). A failure recorded in a->err
 * (by pt_atomic_write or a caller writing through a->fd) fails it too. */
static int finish(pt_atomic *a)
{
    int e = 0;
    errno = 0;
    if (a->err) e = a->err;
    else if (fflush(a->f) != 0) e = errno ? errno : EIO;
    else if (ferror(a->f)) e = EIO;
    else if (fsync(a->fd) != 0 && !is_unsupported(errno)) e = errno;
    errno = 0;
    if (fclose(a->f) != 0 && !e) e = errno ? errno : EIO;
    a->f = NULL, a->fd = -1;
    return e;
}

pt_status pt_atomic_commit(pt_atomic *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        PT_ASSERT(a[i].f && a[i].tmp);
        int e = finish(&a[i]);
        if (e) {
            pt_status st = failed(&a[i], NULL, e);
            pt_atomic_abort(a, n);
            return st;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (rename(a[i].tmp, a[i].path) != 0) {
            pt_status st = failed(&a[i], "cannot rename the temporary file into place", errno);
            pt_atomic_abort(a + i, n - i);
            return st;
        }
        free(a[i].tmp);
        a[i].tmp = NULL;
    }
    for (size_t i = 0; i < n; i++) {
        int e = sync_dir(a[i].path);
        if (e) return failed(&a[i], "written, but syncing its directory failed", e);
    }
    return PT_OK;
}

void pt_atomic_abort(pt_atomic *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i].f) fclose(a[i].f);
        else if (a[i].fd >= 0) close(a[i].fd);
        a[i].f = NULL, a[i].fd = -1;
        if (a[i].tmp) unlink(a[i].tmp);
        free(a[i].tmp);
        a[i].tmp = NULL;
    }
}

pt_status pt_io_write_file(const char *path, pt_status (*fill)(FILE *f, void *user), void *user)
{
    pt_atomic a;
    pt_status st = pt_atomic_open(&a, path);
    if (!st && (st = fill(a.f, user))) pt_atomic_abort(&a, 1);
    return st ? st : pt_atomic_commit(&a, 1);
}
