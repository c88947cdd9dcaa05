/* Shared pieces of the phasetower command line: a table-driven option parser
 * (strict numbers, one-line errors, exit code 2), a progress bar, timing and
 * the usage error helper. Uses the public API only. */
#ifndef PT_CLI_H
#define PT_CLI_H

#include <stdint.h>
#include <stdio.h>
#include "phasetower/pt.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

typedef enum opt_kind { OPT_FLAG, OPT_STR, OPT_INT, OPT_SIZE, OPT_U64, OPT_FLOAT } opt_kind;

typedef struct opt {
    const char *name;  /* without the leading "--" */
    opt_kind kind;
    void *dst;         /* int* (FLAG, INT), const char** (STR), size_t*, uint64_t*, float* */
    const char *help;
    double lo, hi;     /* inclusive range for numbers (ignored when lo > hi) */
    int seen;
} opt;

/* Parse argv[first..argc) against opts (terminated by name == NULL). Positional
 * arguments are stored into *positional (at most one; NULL if none allowed).
 * Returns 0, or prints one line to stderr and returns EXIT_USAGE. --help prints
 * usage to stdout and returns -1. */
int cli_parse(const char *cmd, const char *usage, opt *opts, int argc, char **argv, int first,
              const char **positional);

/* Print "phasetower <cmd>: <msg>" to stderr and return code. */
int cli_error(const char *cmd, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Exit code for a library status: 2 for bad input (EINVAL, EFORMAT, EIO), 1 otherwise. */
int cli_status_code(pt_status st);

double cli_now(void);

/* Mean microseconds of pt_tower_predict on one image, over the first
 * min(1000, n) images of d; -1 if a prediction fails. */
double cli_single_latency_us(const pt_tower *t, const pt_dataset *d);

/* Progress bar on stderr, only when stderr is a terminal. */
typedef struct cli_progress {
    int enabled;
    double start, last;
    const char *label;
} cli_progress;
void cli_progress_init(cli_progress *p, const char *label, int quiet);
void cli_progress_cb(size_t done, size_t total, void *user);
void cli_progress_end(cli_progress *p);

/* Print s on stdout as a JSON string (quoted, with \" \\ and control characters escaped). */
void cli_json_string(const char *s);

/* Parse a class list "0-4", "0,2,5-7" into mask[c] = 1 (classes below
 * n_classes). 0, or prints the error and returns EXIT_USAGE. */
int cli_parse_classes(const char *cmd, const char *spec, int n_classes, uint8_t mask[256]);

/* 1 if path is not a directory and the directory that would hold it is
 * writable (so we can fail before the work, not after). */
int cli_path_writable(const char *path);

/* Write n labels to path, one per line ("y mem conf" when mem is not NULL),
 * through a temporary file renamed into place. 0, or prints the error and
 * returns the exit code. */
int cli_write_labels(const char *cmd, const char *path, const uint8_t *y, const int *mem, const uint8_t *conf, size_t n);

/* Accuracy of tower, memory (m may be NULL) and their combination on d; the
 * per-sample confidences (largest logit; alignment; best memory similarity) are kept for
 * OOD figures. On failure everything is freed and the status returned
 * (pt_errmsg() is set unless it is PT_ENOMEM). */
typedef struct cli_eval {
    double acc, mem_acc, comb_acc; /* tower, memory, memory when sim >= tau else tower */
    double seconds, mem_seconds;   /* tower predictions; memory recall (after the embedding) */
    uint8_t *pred;                 /* (n) the tower's answers */
    float *score, *mem_score;      /* (n), mem_score NULL without memory */
    float *align;                  /* (n) the tower's alignment (pt_tower_forward) */
} cli_eval;
pt_status cli_evaluate(const pt_tower *t, const pt_memory *m, const pt_dataset *d, float tau, cli_eval *e);
void cli_eval_free(cli_eval *e);

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_compose(int argc, char **argv);
int cmd_corrupt(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_tpam(int argc, char **argv);
/* phasor networks (cmd_phasor.c): train --model phasor, and eval/info of a phasor checkpoint */
int cmd_train_phasor(int argc, char **argv);
int cmd_eval_phasor(const char *model, const char *data, size_t limit, int json, int spiking);
int cmd_info_phasor(const char *path, int json);
/* "tower" or "phasor" when path is a readable checkpoint, else "" (the caller's loader reports the error) */
void cli_checkpoint_kind(const char *path, char *kind, size_t len);

#define PT_DEFAULT_DATA "/usr/share/datasets/fashion-mnist"

#endif
