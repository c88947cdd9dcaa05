/* Numeric time series as CSV (data.h): a strict reader (every cell a finite
 * number, every row as wide as the first, errors naming file, line and
 * column) and an atomic writer whose numbers read back to the same doubles.
 * The reservoir family reads its sequences through here. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include "internal.h"
#include "phasetower/checkpoint.h"
#include "phasetower/data.h"

void pt_series_free(pt_series *s)
{
    if (!s) return;
    for (size_t c = 0; s->names && c < s->channels; c++) free(s->names[c]);
    free(s->names), free(s->x);
    memset(s, 0, sizeof *s);
}

/* A cell: [b, e) of the line, surrounding blanks trimmed. */
typedef struct cell {
    const char *b, *e;
} cell;

static int blank(char ch) { return ch == ' ' || ch == '\t'; }

/* Split [b, e) into cells (comma-separated, or blank-separated when !comma);
 * up to max cells are stored; the count (which may exceed max). */
static size_t split(const char *b, const char *e, int comma, cell *cells, size_t max)
{
    size_t n = 0;
    if (comma) {
        const char *p = b;
        for (;;) {
            const char *q = p;
            while (q < e && *q != ',') q++;
            const char *cb = p, *ce = q;
            while (cb < ce && blank(*cb)) cb++;
            while (ce > cb && blank(ce[-1])) ce--;
            if (n < max) cells[n] = (cell){cb, ce};
            n++;
            if (q == e) break;
            p = q + 1;
        }
    } else {
        const char *p = b;
        for (;;) {
            while (p < e && blank(*p)) p++;
            if (p == e) break;
            const char *q = p;
            while (q < e && !blank(*q)) q++;
            if (n < max) cells[n] = (cell){p, q};
            n++;
            p = q;
        }
    }
    return n;
}

/* 0: a finite number into *v; 1: not a number; 2: NaN or Inf; 3: empty */
static int number(cell c, double *v)
{
    size_t len = (size_t)(c.e - c.b);
    if (len == 0) return 3;
    char buf[128];
    if (len >= sizeof buf) return 1;
    memcpy(buf, c.b, len);
    buf[len] = '\0';
    char *end = NULL;
    errno = 0;
    double d = strtod(buf, &end);
    if (end != buf + len) return 1;
    if (!isfinite(d)) return 2;
    *v = d; /* underflow (ERANGE with a tiny result) is a number too */
    return 0;
}

static pt_status cell_error(const char *name, size_t line, size_t col, cell c, int why)
{
    int len = (int)(c.e - c.b > 40 ? 40 : c.e - c.b);
    if (why == 3) return pt_fail(PT_EFORMAT, "%s: line %zu, column %zu: empty cell", name, line, col);
    if (why == 2)
        return pt_fail(PT_EFORMAT, "%s: line %zu, column %zu: '%.*s' is not finite (NaN and Inf are refused)", name,
                       line, col, len, c.b);
    return pt_fail(PT_EFORMAT, "%s: line %zu, column %zu: '%.*s' is not a number", name, line, col, len, c.b);
}

pt_status pt_series_parse_csv(const char *text, size_t len, const char *name, pt_series *out)
{
    memset(out, 0, sizeof *out);
    if (len > PT_SERIES_MAX_BYTES)
        return pt_fail(PT_EFORMAT, "%s: %zu bytes, more than a series may hold (%zu)", name, len, PT_SERIES_MAX_BYTES);
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    const char *end = text + len;
    pt_status st = PT_OK;
    cell *cells = NULL;
    size_t ch = 0, steps = 0, blank_line = 0, lineno = 0;
    int comma = 0, header = 0;
    for (const char *p = text; p < end && !st;) {
        const char *q = memchr(p, '\n', (size_t)(end - p));
        if (!q) q = end;
        const char *e = q;
        if (e > p && e[-1] == '\r') e--;
        lineno++;
        const char *nb = p;
        while (nb < e && blank(*nb)) nb++;
        p = q < end ? q + 1 : end;
        if (nb == e) { /* a blank line: only the file's tail may have them */
            if (!blank_line) blank_line = lineno;
            continue;
        }
        if (blank_line) {
            st = pt_fail(PT_EFORMAT, "%s: line %zu: blank line inside the data", name, blank_line);
            break;
        }
        if (!cells) { /* the first line fixes the separator and the width */
            comma = memchr(nb, ',', (size_t)(e - nb)) != NULL;
            ch = split(nb, e, comma, NULL, 0);
            if (ch > PT_SERIES_MAX_CHANNELS) {
                st = pt_fail(PT_EFORMAT, "%s: line 1: %zu columns, more than %d", name, ch, PT_SERIES_MAX_CHANNELS);
                break;
            }
            cells = pt_calloc(ch, sizeof *cells);
            out->x = cells && lines <= SIZE_MAX / sizeof(double) / ch ? pt_calloc(lines * ch, sizeof(double)) : NULL;
            if (!out->x) {
                st = pt_fail(PT_ENOMEM, "%s: out of memory for %zu rows of %zu columns", name, lines, ch);
                break;
            }
            split(nb, e, comma, cells, ch);
            int numeric = 0;
            double v;
            for (size_t c = 0; c < ch; c++) {
                int w = number(cells[c], &v);
                numeric += w == 0 || w == 2;
            }
            if (numeric == 0) { /* a header of names */
                header = 1;
                out->names = pt_calloc(ch, sizeof *out->names);
                for (size_t c = 0; out->names && c < ch; c++) {
                    size_t l = (size_t)(cells[c].e - cells[c].b);
                    if (l == 0) {
                        st = pt_fail(PT_EFORMAT, "%s: line 1, column %zu: empty channel name", name, c + 1);
                        break;
                    }
                    if (!(out->names[c] = pt_calloc(l + 1, 1))) break;
                    memcpy(out->names[c], cells[c].b, l);
                }
                out->channels = ch; /* so that pt_series_free frees the names */
                for (size_t c = 0; !st && c < ch; c++)
                    if (!out->names || !out->names[c]) st = pt_fail(PT_ENOMEM, "%s: out of memory", name);
                continue;
            }
        }
        size_t n = split(nb, e, comma, cells, ch);
        if (n != ch) {
            st = pt_fail(PT_EFORMAT, "%s: line %zu: %zu columns, but the %s has %zu (ragged rows)", name, lineno, n,
                         header ? "header" : "first row", ch);
            break;
        }
        for (size_t c = 0; c < ch && !st; c++) {
            int w = number(cells[c], &out->x[steps * ch + c]);
            if (w) st = cell_error(name, lineno, c + 1, cells[c], w);
        }
        steps++;
    }
    free(cells);
    if (!st && steps == 0)
        st = pt_fail(PT_EFORMAT, "%s: no data rows (%s)", name, len == 0 ? "empty file" : "a header alone");
    if (st) {
        pt_series_free(out);
        return st;
    }
    out->steps = steps, out->channels = ch;
    return PT_OK;
}

pt_status pt_series_read_csv(const char *path, pt_series *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return pt_fail(PT_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return pt_fail(PT_EIO, "%s: not a regular file", path);
    }
    size_t len = (size_t)sb.st_size;
    if (len == 0) {
        fclose(f);
        return pt_fail(PT_EFORMAT, "%s: empty file", path);
    }
    if (len > PT_SERIES_MAX_BYTES) {
        fclose(f);
        return pt_fail(PT_EFORMAT, "%s: %zu bytes, more than a series may hold (%zu)", path, len, PT_SERIES_MAX_BYTES);
    }
    char *buf = malloc(len);
    if (!buf) {
        fclose(f);
        return pt_fail(PT_ENOMEM, "%s: out of memory for %zu bytes", path, len);
    }
    size_t got = fread(buf, 1, len, f);
    int bad = got != len || ferror(f);
    fclose(f);
    pt_status st = bad ? pt_fail(PT_EIO, "%s: read %zu of %zu bytes", path, got, len)
                       : pt_series_parse_csv(buf, len, path, out);
    free(buf);
    return st;
}

pt_status pt_series_column(const pt_series *s, const char *name, size_t *col)
{
    for (size_t c = 0; s->names && c < s->channels; c++)
        if (!strcmp(s->names[c], name)) {
            *col = c;
            return PT_OK;
        }
    char *end = NULL;
    errno = 0;
    unsigned long long v = name[0] >= '0' && name[0] <= '9' ? strtoull(name, &end, 10) : 0;
    if (end && *end == '\0' && !errno && v < s->channels) {
        *col = (size_t)v;
        return PT_OK;
    }
    return pt_fail(PT_EINVAL, "column '%s': the series has %zu column%s (0..%zu%s)", name, s->channels,
                   s->channels == 1 ? "" : "s", s->channels - 1, s->names ? " or a header name" : "");
}

typedef struct writer {
    const double *x;
    size_t steps, channels;
    const char *const *names;
} writer;

static pt_status fill(FILE *f, void *user)
{
    const writer *w = user;
    for (size_t c = 0; w->names && c < w->channels; c++) fprintf(f, "%s%s", c ? "," : "", w->names[c]);
    if (w->names) fputc('\n', f);
    for (size_t t = 0; t < w->steps; t++) {
        for (size_t c = 0; c < w->channels; c++) fprintf(f, "%s%.17g", c ? "," : "", w->x[t * w->channels + c]);
        fputc('\n', f);
    }
    return PT_OK;
}

pt_status pt_series_write_csv(const char *path, const double *x, size_t steps, size_t channels,
                              const char *const *names)
{
    if (channels == 0 || channels > PT_SERIES_MAX_CHANNELS)
        return pt_fail(PT_EINVAL, "%s: %zu channels (1..%d)", path, channels, PT_SERIES_MAX_CHANNELS);
    for (size_t i = 0; i < steps * channels; i++)
        if (!isfinite(x[i]))
            return pt_fail(PT_EINVAL, "%s: row %zu, column %zu is not finite", path, i / channels, i % channels + 1);
    for (size_t c = 0; names && c < channels; c++) {
        double v;
        if (!names[c] || !names[c][0] || strpbrk(names[c], ",\"\r\n") || names[c][0] == ' ' ||
            number((cell){names[c], names[c] + strlen(names[c])}, &v) != 1)
            return pt_fail(PT_EINVAL, "%s: channel name %zu is empty, numeric or holds a comma, quote or line break",
                           path, c + 1);
    }
    writer w = {x, steps, channels, names};
    return pt_io_write_file(path, fill, &w);
}
