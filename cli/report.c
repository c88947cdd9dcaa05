/* The report sink: a command's result as text lines, or as one JSON object
 * built with jansson and printed on one line; nothing is printed until the
 * end, so a command that fails half-way prints only its error. Numbers are rounded to the
 * decimals each field asks for, so the JSON stays short and stable; floats
 * (a model's settings) are written as the shortest decimal that reads back to
 * the same float (0.7, not 0.699999988). */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cli.h"

#define DEPTH 4

struct cli_report {
    int json, oom;
    char *text;           /* text mode: the lines so far */
    size_t len, cap;
    json_t *stack[DEPTH]; /* the root object, then nested objects or arrays */
    int top;
};

cli_report *rep_new(int json)
{
    cli_report *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->json = json;
    if (json && !(r->stack[0] = json_object())) r->oom = 1;
    return r;
}

int rep_json(const cli_report *r) { return r->json; }

static void add(cli_report *r, const char *key, json_t *v)
{
    if (!r->json) {
        json_decref(v);
        return;
    }
    json_t *at = r->stack[r->top];
    if (!v || !at || (json_is_object(at) ? json_object_set_new(at, key, v) : json_array_append_new(at, v))) r->oom = 1;
}

void rep_num(cli_report *r, const char *key, double v, int decimals)
{
    if (!r->json) return;
    double s = pow(10.0, decimals), q = isfinite(v) ? round(v * s) / s : v;
    add(r, key, isfinite(q) ? json_real(q) : json_null());
}

/* the shortest %.Ng (N = 1..9) that reads back as v */
static double shortest(float v)
{
    char buf[32];
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, (double)v);
        if (strtof(buf, NULL) == v) return strtod(buf, NULL);
    }
    return (double)v;
}

void rep_float(cli_report *r, const char *key, float v)
{
    if (r->json) add(r, key, isfinite(v) ? json_real(shortest(v)) : json_null());
}

void rep_int(cli_report *r, const char *key, long long v)
{
    if (r->json) add(r, key, json_integer(v));
}

void rep_str(cli_report *r, const char *key, const char *v)
{
    if (r->json) add(r, key, json_string(v ? v : ""));
}

void rep_bool(cli_report *r, const char *key, int v)
{
    if (r->json) add(r, key, json_boolean(v));
}

void rep_push(cli_report *r, const char *key, int array)
{
    if (!r->json) return;
    if (r->top + 1 >= DEPTH) {
        r->oom = 1;
        return;
    }
    json_t *v = array ? json_array() : json_object();
    add(r, key, v);
    if (!v) return;
    r->stack[++r->top] = v; /* borrowed: the parent holds the reference */
}

void rep_pair(cli_report *r, float a, float b)
{
    if (!r->json) return;
    json_t *p = json_array();
    if (p) {
        json_array_append_new(p, json_real(shortest(a)));
        json_array_append_new(p, json_real(shortest(b)));
    }
    add(r, NULL, p);
}

void rep_pop(cli_report *r)
{
    if (r->json && r->top > 0) r->top--;
}

void rep_text(cli_report *r, const char *fmt, ...)
{
    if (r->json || r->oom) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (r->len + (size_t)n + 1 > r->cap) {
        size_t cap = 2 * (r->len + (size_t)n + 1) + 256;
        char *t = realloc(r->text, cap);
        if (!t) {
            r->oom = 1;
            return;
        }
        r->text = t, r->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(r->text + r->len, r->cap - r->len, fmt, ap);
    va_end(ap);
    r->len += (size_t)n;
}

void rep_discard(cli_report *r)
{
    if (!r) return;
    json_decref(r->stack[0]);
    free(r->text);
    free(r);
}

int rep_end(cli_report *r)
{
    if (!r) return cli_error(NULL, EXIT_RUNTIME, "out of memory");
    int rc = EXIT_OK;
    if (r->oom) {
        rc = cli_error(NULL, EXIT_RUNTIME, "out of memory for the report");
    } else if (r->json) {
        char *s = json_dumps(r->stack[0], JSON_REAL_PRECISION(15));
        if (s) printf("%s\n", s);
        else rc = cli_error(NULL, EXIT_RUNTIME, "out of memory for the JSON report");
        free(s);
    } else if (r->text) {
        fputs(r->text, stdout);
    }
    rep_discard(r);
    return rc;
}
