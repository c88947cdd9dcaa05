/* Atomic file writes (src/io/atomic.h) and every library writer that uses
 * them: the mode of a plain create under three umasks, concurrent writers of
 * one destination (forked processes, with a reader checking that the file is
 * always one writer's whole file), symlinks planted at the old fixed temporary
 * name and at the destination, and failures (a write error, a file size
 * limit, a rename onto a directory, a missing directory, an abort, a callback
 * that gives up) that must leave the destination as it was and no temporary
 * file behind. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "io/atomic.h"
#include "io/safetensors.h"
#include "phasetower/checkpoint.h"
#include "phasetower/data.h"
#include "phasetower/picture.h"

static char dir[] = "/tmp/pt_atomic_XXXXXX";

/* dir/name, in a buffer of its own per name: the names of a test stay valid together */
typedef struct name {
    char s[512];
} name;
static name at(const char *file)
{
    name n;
    snprintf(n.s, sizeof n.s, "%s/%s", dir, file);
    return n;
}

/* Entries of dir whose name starts with '.' (temporary files), . and .. aside. */
static int temps(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d) closedir(d);
    return n;
}

static int has_text(const char *path, const char *text)
{
    unsigned char *b = NULL;
    long n = check_slurp(path, &b);
    int ok = n == (long)strlen(text) && !memcmp(b, text, (size_t)n);
    free(b);
    return ok;
}

static void put_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0);
}

static pt_status write_text(const char *path, const char *text)
{
    pt_atomic a;
    pt_status st = pt_atomic_open(&a, path);
    if (st) return st;
    pt_atomic_write(&a, text, strlen(text));
    return pt_atomic_commit(&a, 1);
}

static void test_basic_and_mode(void)
{
    name p_ = at("m.txt");
    const char *p = p_.s;
    const mode_t masks[3] = {022, 077, 002};
    for (int i = 0; i < 3; i++) {
        mode_t old = umask(masks[i]);
        CHECK(write_text(p, "hello\n") == PT_OK);
        umask(old);
        struct stat st;
        CHECK(stat(p, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == (0666 & ~masks[i]));
        CHECK(has_text(p, "hello\n"));
        CHECK(temps() == 0);
    }
    /* a bare file name writes in the current directory; an empty file is a file */
    char cwd[512];
    CHECK(getcwd(cwd, sizeof cwd) && chdir(dir) == 0);
    CHECK(write_text("bare.txt", "") == PT_OK);
    CHECK(chdir(cwd) == 0);
    CHECK(has_text(at("bare.txt").s, "") && temps() == 0);
    /* a name as long as a file name may be: the temporary name is shortened to fit */
    char longname[256];
    memset(longname, 'n', 250);
    longname[250] = '\0';
    CHECK(write_text(at(longname).s, "long\n") == PT_OK && has_text(at(longname).s, "long\n") && temps() == 0);
    remove(at(longname).s), remove(at("bare.txt").s), remove(p);
}

/* A planted symlink at the old fixed temporary name and at the destination
 * itself: no write goes through either, the victim keeps its bytes, and the
 * destination becomes a regular file. */
static void plant(const char *dest, const char *victim)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", dest);
    put_text(victim, "victim\n");
    remove(tmp), remove(dest);
    CHECK(symlink(victim, tmp) == 0 && symlink(victim, dest) == 0);
}

static void planted_ok(const char *dest, const char *victim)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", dest);
    struct stat st;
    CHECK(has_text(victim, "victim\n"));
    CHECK(lstat(dest, &st) == 0 && S_ISREG(st.st_mode));
    CHECK(lstat(tmp, &st) == 0 && S_ISLNK(st.st_mode));
    remove(tmp);
    CHECK(temps() == 0);
}

static void test_symlinks(void)
{
    name victim_ = at("victim.txt");
    const char *victim = victim_.s;
    name p_ = at("s.txt");
    const char *p = p_.s;
    plant(p, victim);
    CHECK(write_text(p, "new\n") == PT_OK && has_text(p, "new\n"));
    planted_ok(p, victim);

    /* every writer of the library */
    float v[3] = {1, 2, 3};
    pt_st_tensor t = {"w", PT_ST_F32, 1, {3}, v};
    name pw_ = at("w.safetensors");
    p = pw_.s;
    plant(p, victim);
    CHECK(pt_st_write(p, &t, 1, NULL, 0) == PT_OK);
    planted_ok(p, victim);

    uint8_t px[6] = {0, 50, 100, 150, 200, 250};
    name pp_ = at("w.png");
    p = pp_.s;
    plant(p, victim);
    CHECK(pt_png_write(p, 3, 2, 1, px) == PT_OK);
    planted_ok(p, victim);

    float x[2 * 4] = {0, 0.5f, 1, 0.25f, 1, 1, 0, 0};
    uint8_t y[2] = {3, 7};
    pt_dataset d = {2, 2, 2, 4, x, y, 10};
    name pi_ = at("t10k-images-idx3-ubyte.gz"), pl_ = at("t10k-labels-idx1-ubyte.gz");
    const char *pi = pi_.s, *pl = pl_.s;
    plant(pi, victim);
    CHECK(symlink(victim, pl) == 0);
    CHECK(pt_dataset_write(&d, dir, "t10k") == PT_OK);
    planted_ok(pi, victim);
    struct stat st;
    CHECK(lstat(pl, &st) == 0 && S_ISREG(st.st_mode));
    pt_dataset back = {0};
    CHECK(pt_dataset_load(dir, "t10k", 0, 10, &back) == PT_OK && back.n == 2 && back.y[1] == 7);
    pt_dataset_free(&back);
    remove(pi), remove(pl), remove(victim);
    remove(at("w.safetensors").s), remove(at("w.png").s), remove(at("s.txt").s);
}

static pt_status give_up(FILE *f, void *user)
{
    fputs("half", f);
    (void)user;
    return PT_EINVAL;
}

static pt_status fill_ok(FILE *f, void *user)
{
    fputs((const char *)user, f);
    return PT_OK;
}

/* In a child: a file size limit makes the writes fail (EFBIG, SIGXFSZ
 * ignored); the commit must report it and remove the temporary file. */
static int fsize_child(const char *p)
{
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit r = {1000, 1000};
    if (setrlimit(RLIMIT_FSIZE, &r) != 0) return 0; /* cannot limit here: nothing to check */
    static char big[1 << 16];
    memset(big, 'x', sizeof big);
    pt_atomic a;
    if (pt_atomic_open(&a, p) != PT_OK) return 1;
    pt_atomic_write(&a, big, sizeof big);
    pt_status st = pt_atomic_commit(&a, 1);
    return st != PT_EIO || !strstr(pt_errmsg(), p) || !strstr(pt_errmsg(), strerror(EFBIG));
}

static void test_failures(void)
{
    name p_ = at("f.txt");
    const char *p = p_.s;
    put_text(p, "old\n");
    pt_atomic a[2];

    /* a write error recorded by the caller fails the commit */
    CHECK(pt_atomic_open(&a[0], p) == PT_OK);
    CHECK(temps() == 1);
    fputs("partial", a[0].f);
    a[0].err = ENOSPC;
    CHECK(pt_atomic_commit(a, 1) == PT_EIO && strstr(pt_errmsg(), p) && strstr(pt_errmsg(), strerror(ENOSPC)));
    CHECK(has_text(p, "old\n") && temps() == 0);

    /* an abort (twice is harmless) */
    CHECK(pt_atomic_open(&a[0], p) == PT_OK);
    pt_atomic_write(&a[0], "partial", 7);
    pt_atomic_abort(a, 1);
    pt_atomic_abort(a, 1);
    CHECK(has_text(p, "old\n") && temps() == 0);

    /* two files: the second one's error leaves both destinations untouched */
    name q_ = at("g.txt");
    const char *q = q_.s;
    CHECK(pt_atomic_open(&a[0], p) == PT_OK && pt_atomic_open(&a[1], q) == PT_OK);
    pt_atomic_write(&a[0], "new p\n", 6);
    a[1].err = EIO;
    CHECK(pt_atomic_commit(a, 2) == PT_EIO && strstr(pt_errmsg(), q));
    CHECK(has_text(p, "old\n") && access(q, F_OK) != 0 && temps() == 0);

    /* a missing directory, a destination that is a directory, a name ending in '/' */
    name nd_ = at("none/x.txt");
    const char *nd = nd_.s;
    CHECK(pt_atomic_open(&a[0], nd) == PT_EIO && strstr(pt_errmsg(), nd) && strstr(pt_errmsg(), "write failed"));
    pt_atomic_abort(a, 1);
    name sub_ = at("sub"), inner_ = at("sub/keep");
    const char *sub = sub_.s, *inner = inner_.s;
    CHECK(mkdir(sub, 0777) == 0);
    put_text(inner, "keep\n");
    CHECK(write_text(sub, "x") == PT_EIO && strstr(pt_errmsg(), sub) && strstr(pt_errmsg(), "rename"));
    CHECK(has_text(inner, "keep\n") && temps() == 0);
    CHECK(pt_atomic_open(&a[0], at("sub/").s) == PT_EIO);
    remove(inner), rmdir(sub);

    /* a file size limit: real write errors through the stream */
    pid_t pid = fork();
    if (pid == 0) _exit(fsize_child(p));
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(has_text(p, "old\n") && temps() == 0);

    /* the public form: a callback that gives up, and one that writes */
    CHECK(pt_io_write_file(p, give_up, NULL) == PT_EINVAL);
    CHECK(has_text(p, "old\n") && temps() == 0);
    CHECK(pt_io_write_file(p, fill_ok, "via callback\n") == PT_OK && has_text(p, "via callback\n") && temps() == 0);
    remove(p);
}

/* ---- concurrent writers ---- */

enum { WRITERS = 6, ROUNDS = 25, BYTES = 1 << 16, CHUNK = 4096 };

/* A writer's file: its id and round, then BYTES - 2 bytes of a value of both. */
static int one_write(const char *p, int id, int round)
{
    unsigned char buf[CHUNK];
    pt_atomic a;
    if (pt_atomic_open(&a, p) != PT_OK) return 1;
    for (int off = 0; off < BYTES; off += CHUNK) {
        memset(buf, (unsigned char)(id * 37 + round), sizeof buf);
        if (off == 0) buf[0] = (unsigned char)id, buf[1] = (unsigned char)round;
        pt_atomic_write(&a, buf, sizeof buf);
    }
    return pt_atomic_commit(&a, 1) != PT_OK;
}

/* Whether the file at p is one writer's whole file (1), absent (0), or anything else (-1). */
static int whole(const char *p)
{
    unsigned char *b = NULL;
    long n = check_slurp(p, &b);
    if (n < 0) return errno == ENOENT ? 0 : -1;
    int ok = n == BYTES && b[0] < WRITERS && b[1] < ROUNDS;
    for (long i = 2; ok && i < n; i++) ok = b[i] == (unsigned char)(b[0] * 37 + b[1]);
    free(b);
    return ok ? 1 : -1;
}

static void test_concurrent(void)
{
    name p_ = at("c.bin");
    const char *p = p_.s;
    pid_t pid[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        pid[w] = fork();
        if (pid[w] == 0) {
            int bad = 0;
            for (int r = 0; r < ROUNDS; r++) bad += one_write(p, w, r);
            _exit(bad);
        }
        CHECK(pid[w] > 0);
    }
    /* read while they write: every read sees a whole file */
    int left = WRITERS, reads = 0, torn = 0, status;
    while (left > 0) {
        int r = whole(p);
        reads += r == 1, torn += r < 0;
        for (int w = 0; w < WRITERS; w++)
            if (pid[w] > 0 && waitpid(pid[w], &status, WNOHANG) == pid[w]) {
                CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
                pid[w] = 0, left--;
            }
    }
    printf("concurrent: %d writers x %d saves, %d whole reads meanwhile, %d torn\n", WRITERS, ROUNDS, reads, torn);
    CHECK(torn == 0);
    CHECK(whole(p) == 1 && temps() == 0);
    remove(p);
}

int main(void)
{
    CHECK(mkdtemp(dir) != NULL);
    test_basic_and_mode();
    test_symlinks();
    test_failures();
    test_concurrent();
    CHECK(rmdir(dir) == 0); /* empty: nothing left behind */
    TEST_END();
}
