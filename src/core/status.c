/* Status strings, the thread-local error message and the log callback. */
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include "internal.h"

static const char *const status_names[PT_STATUS_COUNT] = {
    [PT_OK] = "ok",
    [PT_EINVAL] = "invalid argument",
    [PT_ENOMEM] = "out of memory",
    [PT_EIO] = "input/output error",
    [PT_EFORMAT] = "bad file format",
    [PT_ENOCONV] = "did not converge",
};

const char *pt_status_str(pt_status s)
{
    if ((unsigned)s >= PT_STATUS_COUNT || !status_names[s]) return "unknown status";
    return status_names[s];
}

static _Thread_local char errbuf[512];

const char *pt_errmsg(void) { return errbuf; }

pt_status pt_fail(pt_status st, const char *fmt, ...)
{
    /* through a copy: callers may pass pt_errmsg() itself as an argument */
    char tmp[sizeof errbuf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    memcpy(errbuf, tmp, sizeof errbuf);
    /* keep it one line */
    for (char *c = errbuf; *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
    return st;
}

const char *pt_enum_name(const char *const *names, int n, int v) { return v >= 0 && v < n ? names[v] : "?"; }

pt_status pt_enum_parse(const char *param, const char *const *names, int n, const char *s, int *out)
{
    for (int i = 0; s && i < n; i++)
        if (!strcmp(names[i], s)) {
            *out = i;
            return PT_OK;
        }
    char list[128] = "";
    for (int i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ", names[i]);
    return pt_fail(PT_EINVAL, "%s '%s': expected %s", param, s ? s : "", list);
}

static pt_log_fn log_fn;
static void *log_user;

void pt_set_log(pt_log_fn fn, void *user)
{
    log_fn = fn;
    log_user = user;
}

void pt_log(int level, const char *fmt, ...)
{
    if (!log_fn) return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log_fn(level, buf, log_user);
}

void *pt_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}
