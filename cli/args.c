/* Strict option parsing for the CLI: "--name value" or "--name=value"; numbers
 * must parse completely, be finite and lie in range; anything unknown is an
 * error naming the flag. Library messages name parameters ("tower.eta"); the
 * option tables say which flag sets which, so errors show flags. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"

int cli_error(const char *cmd, int code, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "phasetower%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

int cli_status_code(pt_status st)
{
    return (st == PT_EINVAL || st == PT_EFORMAT || st == PT_EIO) ? EXIT_USAGE : EXIT_RUNTIME;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void print_usage(const cli_cmd *c)
{
    printf("%s\n\nOptions:\n", c->usage);
    for (const opt *o = c->opts; o->name; o++) {
        const char *arg = o->kind == OPT_FLAG ? "" : o->kind == OPT_STR ? " STR" : o->kind == OPT_FLOAT ? " X" : " N";
        char left[48];
        snprintf(left, sizeof left, "--%s%s", o->name, arg);
        printf("  %-22s %s\n", left, o->help);
    }
    printf("  %-22s %s\n", "--help", "show this help");
}

static int set_value(const char *cmd, opt *o, const char *v)
{
    char *end;
    errno = 0;
    switch (o->kind) {
    case OPT_FLAG:
        break;
    case OPT_STR:
        if (!*v) return cli_error(cmd, EXIT_USAGE, "--%s: empty value", o->name);
        *(const char **)o->dst = v;
        return 0;
    case OPT_FLOAT: {
        float f = strtof(v, &end);
        if (end == v || *end || errno || !isfinite(f))
            return cli_error(cmd, EXIT_USAGE, "--%s '%s': not a finite number", o->name, v);
        if (o->lo <= o->hi && !((double)f >= o->lo && (double)f <= o->hi))
            return cli_error(cmd, EXIT_USAGE, "--%s %s: must be in [%g, %g]", o->name, v, o->lo, o->hi);
        *(float *)o->dst = f;
        return 0;
    }
    default: {
        if (*v == '-' || *v == '+' || *v == ' ')
            return cli_error(cmd, EXIT_USAGE, "--%s '%s': not a non-negative integer", o->name, v);
        unsigned long long u = strtoull(v, &end, 10);
        if (end == v || *end || errno)
            return cli_error(cmd, EXIT_USAGE, "--%s '%s': not a non-negative integer", o->name, v);
        if (o->lo <= o->hi && !((double)u >= o->lo && (double)u <= o->hi))
            return cli_error(cmd, EXIT_USAGE, "--%s %s: must be in [%.0f, %.0f]", o->name, v, o->lo, o->hi);
        if (o->kind == OPT_INT) *(int *)o->dst = (int)u;
        else if (o->kind == OPT_SIZE) *(size_t *)o->dst = (size_t)u;
        else *(uint64_t *)o->dst = (uint64_t)u;
        return 0;
    }
    }
    return 0;
}

int cli_parse(const cli_cmd *c, int argc, char **argv, const char **positional)
{
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            print_usage(c);
            return -1;
        }
        if (strncmp(a, "--", 2) != 0) {
            if (positional && !*positional) {
                *positional = a;
                continue;
            }
            return cli_error(c->name, EXIT_USAGE, "unexpected argument '%s' (see --help)", a);
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        opt *o = NULL;
        for (opt *q = c->opts; q->name; q++)
            if (strlen(q->name) == len && !strncmp(q->name, name, len)) o = q;
        if (!o && c->what)
            return cli_error(c->name, EXIT_USAGE, "unknown option '--%.*s' for %s (see --help)", (int)len, name, c->what);
        if (!o) return cli_error(c->name, EXIT_USAGE, "unknown option '--%.*s' (see --help)", (int)len, name);
        if (o->seen) return cli_error(c->name, EXIT_USAGE, "option '--%s' given twice", o->name);
        o->seen = 1;
        if (o->kind == OPT_FLAG) {
            if (eq) return cli_error(c->name, EXIT_USAGE, "option '--%s' takes no value", o->name);
            *(int *)o->dst = 1;
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v) return cli_error(c->name, EXIT_USAGE, "option '--%s' needs a value", o->name);
        int rc = set_value(c->name, o, v);
        if (rc) return rc;
    }
    return 0;
}

int cli_info_args(const char *usage, int argc, char **argv, const char **path, int *json)
{
    opt opts[] = {OPT_JSON(json), OPT_END};
    cli_cmd k = {"info", usage, opts, NULL, NULL};
    int rc = cli_parse(&k, argc, argv, path);
    if (!rc && !*path) rc = cli_error(k.name, EXIT_USAGE, "a model file is required (see --help)");
    return rc;
}

const char *cli_peek_opt(int argc, char **argv, const char *name)
{
    size_t n = strlen(name);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) || strncmp(a + 2, name, n)) continue;
        if (a[2 + n] == '=') return a + 3 + n;
        if (a[2 + n] == '\0') return i + 1 < argc ? argv[i + 1] : NULL;
    }
    return NULL;
}

/* 1 if s[i] starts the whole token tok: not preceded or followed by a name character */
static int token_at(const char *s, size_t i, const char *tok, size_t n)
{
    if (strncmp(s + i, tok, n)) return 0;
    char before = i ? s[i - 1] : ' ', after = s[i + n];
    int name_b = isalnum((unsigned char)before) || before == '_' || before == '.' || before == '-';
    int name_a = isalnum((unsigned char)after) || after == '_';
    return !name_b && !name_a;
}

/* "--layers 1000:0.1,1000000:0.1 --batch 4096": the flags of c->sizes that
 * were given, with their values; 0 when none was. */
static int size_flags(const cli_cmd *c, char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = '\0';
    for (const opt *o = c->opts; c->sizes && o->name; o++) {
        size_t n = strlen(o->name);
        const char *w = c->sizes;
        while ((w = strstr(w, o->name)) && ((w > c->sizes && w[-1] != ' ') || (w[n] != ' ' && w[n] != '\0'))) w += n;
        if (!w || !o->seen || k + 1 >= len) continue;
        char v[256];
        switch (o->kind) {
        case OPT_STR: snprintf(v, sizeof v, "%s", *(const char *const *)o->dst); break;
        case OPT_INT: snprintf(v, sizeof v, "%d", *(const int *)o->dst); break;
        case OPT_SIZE: snprintf(v, sizeof v, "%zu", *(const size_t *)o->dst); break;
        case OPT_U64: snprintf(v, sizeof v, "%llu", (unsigned long long)*(const uint64_t *)o->dst); break;
        case OPT_FLOAT: snprintf(v, sizeof v, "%g", (double)*(const float *)o->dst); break;
        case OPT_FLAG: v[0] = '\0'; break;
        }
        k += (size_t)snprintf(buf + k, len - k, "%s--%s%s%s", k ? " " : "", o->name, *v ? " " : "", v);
    }
    return k > 0;
}

int cli_lib_error(const cli_cmd *c, pt_status st, const char *prefix)
{
    const char *m = pt_errmsg();
    char out[1024];
    size_t k = 0;
    for (size_t i = 0; m[i] && k + 48 < sizeof out;) {
        const opt *hit = NULL;
        for (const opt *o = c->opts; o->name && !hit; o++)
            if (o->param && token_at(m, i, o->param, strlen(o->param))) hit = o;
        if (hit) {
            k += (size_t)snprintf(out + k, sizeof out - k, "--%s", hit->name);
            i += strlen(hit->param);
        } else {
            out[k++] = m[i++];
        }
    }
    out[k] = '\0';
    if (st == PT_ENOMEM && !*out) snprintf(out, sizeof out, "out of memory");
    char sizes[512];
    if (st == PT_ENOMEM && size_flags(c, sizes, sizeof sizes)) /* the sizes asked for do not fit this machine */
        return cli_error(c->name, EXIT_USAGE, "%s%s%s (asked for by %s)", prefix ? prefix : "", prefix ? ": " : "", out,
                         sizes);
    return cli_error(c->name, cli_status_code(st), "%s%s%s", prefix ? prefix : "", prefix ? ": " : "", out);
}

/* The directory that would hold path ("." for a bare name), in dir (n bytes). */
static void parent_dir(const char *path, char *dir, size_t n)
{
    snprintf(dir, n, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) snprintf(dir, n, ".");
    else if (slash == dir) slash[1] = '\0';
    else *slash = '\0';
}

/* Read-only for the user: the kernel refuses the write, or (root may write
 * anything) no write permission bit is set at all, as after chmod a-w. */
static int read_only(const char *path, const struct stat *st)
{
    return (st->st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) == 0 || (access(path, W_OK) != 0 && errno != ENOENT);
}

int cli_check_out(const char *cmd, const char *flag, const char *path, int force)
{
    struct stat st;
    char dir[4096];
    if (strlen(path) >= sizeof dir) return cli_error(cmd, EXIT_USAGE, "%s %s: path too long", flag, path);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) /* the rename would fail after all the work */
        return cli_error(cmd, EXIT_USAGE, "%s %s: is a directory", flag, path);
    parent_dir(path, dir, sizeof dir);
    if (access(dir, W_OK) != 0)
        return cli_error(cmd, EXIT_USAGE, "%s %s: its directory %s is missing or not writable", flag, path, dir);
    if (!force && stat(path, &st) == 0 && read_only(path, &st))
        return cli_error(cmd, EXIT_USAGE, "%s %s: the file is read-only; --force replaces it", flag, path);
    return 0;
}

int cli_check_out_dir(const char *cmd, const char *flag, const char *dir, const char *const *names, int force)
{
    struct stat st;
    char path[4096];
    if (stat(dir, &st) != 0) { /* created by the command, when it gets that far */
        char up[4096];
        if (strlen(dir) >= sizeof up) return cli_error(cmd, EXIT_USAGE, "%s %s: path too long", flag, dir);
        parent_dir(dir, up, sizeof up);
        if (access(up, W_OK) != 0)
            return cli_error(cmd, EXIT_USAGE, "%s %s: cannot create it: %s is missing or not writable", flag, dir, up);
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) return cli_error(cmd, EXIT_USAGE, "%s %s: exists and is not a directory", flag, dir);
    if (access(dir, W_OK) != 0) return cli_error(cmd, EXIT_USAGE, "%s %s: the directory is not writable", flag, dir);
    for (; *names; names++) {
        if (snprintf(path, sizeof path, "%s/%s", dir, *names) >= (int)sizeof path)
            return cli_error(cmd, EXIT_USAGE, "%s %s: path too long", flag, dir);
        if (stat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) return cli_error(cmd, EXIT_USAGE, "%s %s: %s is a directory", flag, dir, path);
        if (!force && read_only(path, &st))
            return cli_error(cmd, EXIT_USAGE, "%s %s: %s is read-only; --force replaces it", flag, dir, path);
    }
    return 0;
}

int cli_parse_classes(const char *cmd, const char *spec, int n_classes, uint8_t mask[256])
{
    memset(mask, 0, 256);
    const char *p = spec;
    int any = 0;
    while (*p) {
        char *end;
        errno = 0;
        long a = strtol(p, &end, 10), b = a;
        if (end == p || errno) break;
        p = end;
        if (*p == '-') {
            b = strtol(p + 1, &end, 10);
            if (end == p + 1 || errno) break;
            p = end;
        }
        if (a < 0 || b < a || b >= n_classes)
            return cli_error(cmd, EXIT_USAGE, "--classes '%s': classes must lie in 0..%d, ranges as LO-HI", spec, n_classes - 1);
        for (long c = a; c <= b; c++) mask[c] = 1;
        any = 1;
        if (*p == ',') p++;
        else if (*p) break;
    }
    if (*p || !any) return cli_error(cmd, EXIT_USAGE, "--classes '%s': expected a list like 0-4 or 0,2,5", spec);
    return 0;
}

typedef struct labels {
    const uint8_t *y, *conf;
    const int *mem;
    size_t n;
} labels;

static pt_status put_labels(FILE *f, void *user)
{
    const labels *l = user;
    for (size_t i = 0; i < l->n; i++) {
        if (l->mem) fprintf(f, "%d %d %d\n", l->y[i], l->mem[i], l->conf[i]);
        else fprintf(f, "%d\n", l->y[i]);
    }
    return PT_OK; /* a failed fprintf leaves the stream's error flag, which fails the write */
}

int cli_write_labels(const char *cmd, const char *path, const uint8_t *y, const int *mem, const uint8_t *conf, size_t n)
{
    labels l = {y, conf, mem, n};
    pt_status st = pt_io_write_file(path, put_labels, &l);
    return st ? cli_error(cmd, cli_status_code(st), "%s", pt_errmsg()) : 0;
}

double cli_float_decimal(float v)
{
    char buf[32];
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, (double)v);
        if ((float)strtod(buf, NULL) == v) break;
    }
    return strtod(buf, NULL);
}
