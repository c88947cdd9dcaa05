/* A one-line progress bar with samples/s and ETA, drawn on stderr only when
 * stderr is a terminal (quiet in pipes, CI logs and --json runs). */
#define _POSIX_C_SOURCE 200809L
#include <unistd.h>
#include "cli.h"

void cli_progress_init(cli_progress *p, const char *label, int quiet)
{
    p->enabled = !quiet && isatty(STDERR_FILENO);
    p->start = p->last = cli_now();
    p->label = label;
}

void cli_progress_cb(size_t done, size_t total, void *user)
{
    cli_progress *p = user;
    if (!p->enabled) return;
    double t = cli_now();
    if (done < total && t - p->last < 0.1) return;
    p->last = t;
    double el = t - p->start, rate = el > 0 ? (double)done / el : 0.0;
    double eta = rate > 0 ? (double)(total - done) / rate : 0.0;
    int width = 30, fill = total ? (int)((double)width * (double)done / (double)total) : width;
    char bar[31];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r%s [%s] %zu/%zu  %.0f samples/s  ETA %.1fs ", p->label, bar, done, total, rate, eta);
    fflush(stderr);
}

void cli_progress_end(cli_progress *p)
{
    if (p->enabled) fputc('\n', stderr);
}
