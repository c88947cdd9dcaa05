/* Shared pieces of the phasetower command line: the command and family
 * tables, a table-driven option parser (strict numbers, one-line errors,
 * exit code 2), library errors with parameter names turned into flags, one
 * report sink for the text and the JSON form of a result, a progress bar, and
 * loading models with their memory. Uses the public API only. */
#ifndef PT_CLI_H
#define PT_CLI_H

#include <stdint.h>
#include <stdio.h>
#include "phasetower/pt.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

#define PT_DEFAULT_DATA "/usr/share/datasets/fashion-mnist"

/* ---- the tables (main.c) ---- */

/* A model family: its name (the --model of train, the kind of a checkpoint)
 * and its subcommands, each of which parses its own options. */
typedef struct cli_family {
    const char *name;
    const char *summary;
    int (*train)(int argc, char **argv);
    int (*eval)(int argc, char **argv);
    int (*info)(int argc, char **argv);
} cli_family;
extern const cli_family cli_families[];
/* The family of that name, or NULL. */
const cli_family *cli_family_find(const char *name);

int cli_tower_train(int argc, char **argv); /* tower.c */
int cli_tower_eval(int argc, char **argv);  /* tower_eval.c */
int cli_tower_info(int argc, char **argv);  /* tower.c */
int cli_phasor_train(int argc, char **argv); /* phasor.c */
int cli_phasor_eval(int argc, char **argv);
int cli_phasor_info(int argc, char **argv);
int cli_field_train(int argc, char **argv); /* field.c */
int cli_field_eval(int argc, char **argv);
int cli_field_info(int argc, char **argv);
int cmd_compose(int argc, char **argv);
int cmd_corrupt(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_tpam(int argc, char **argv);
int cmd_atlas(int argc, char **argv); /* atlas.c: atlas train|decode|key|info */
int cli_atlas_info(int argc, char **argv); /* atlas.c: atlas info, also for info of an atlas file */
int cmd_reservoir(int argc, char **argv);  /* reservoir.c: reservoir train|eval|generate|info */
int cli_reservoir_info(int argc, char **argv); /* reservoir.c: also for info of an esn file */

/* ---- options (args.c) ---- */

typedef enum opt_kind { OPT_FLAG, OPT_STR, OPT_INT, OPT_SIZE, OPT_U64, OPT_FLOAT } opt_kind;

typedef struct opt {
    const char *name;  /* without the leading "--" */
    opt_kind kind;
    void *dst;         /* int* (FLAG, INT), const char** (STR), size_t*, uint64_t*, float* */
    const char *help;
    double lo, hi;     /* inclusive range for numbers (ignored when lo > hi) */
    const char *param; /* the library's name for what the flag sets ("tower.eta"), or NULL */
    int seen;
} opt;

/* A subcommand's options: name ("train"), usage text, the table (ended by
 * name == NULL), what it applies to ("a tower"), named by errors, and the
 * flags that size the model ("layers hidden", or NULL): when the library runs
 * out of memory after one of them was given, the error names them with their
 * values and exits 2, as for any input the machine cannot take. */
typedef struct cli_cmd {
    const char *name, *usage;
    opt *opts;
    const char *what;
    const char *sizes;
} cli_cmd;

/* Options several commands share, with the same help everywhere. */
#define OPT_DATA(p) {"data", OPT_STR, (p), "MNIST-format directory (default " PT_DEFAULT_DATA ")", 0, 0, NULL, 0}
#define OPT_TRAIN_LIMIT(p) {"train-limit", OPT_SIZE, (p), "use only the first N training samples", 1, 1e9, NULL, 0}
#define OPT_TEST_LIMIT(p) {"test-limit", OPT_SIZE, (p), "use only the first N test samples", 1, 1e9, NULL, 0}
#define OPT_THREADS(p) {"threads", OPT_INT, (p), "threads for BLAS (default 1)", 1, 256, NULL, 0}
#define OPT_OUT_MODEL(p) {"out", OPT_STR, (p), "save the model (safetensors) to this file", 0, 0, NULL, 0}
#define OPT_JSON(p) {"json", OPT_FLAG, (p), "print one JSON object on stdout", 0, 0, NULL, 0}
#define OPT_FORCE(p) {"force", OPT_FLAG, (p), "replace an output file even if it is read-only", 0, 0, NULL, 0}
#define OPT_END {NULL, OPT_FLAG, NULL, NULL, 0, 0, NULL, 0}

/* Parse argv[2..argc) against c->opts; a positional argument goes to
 * *positional (at most one; refused when positional is NULL). Returns 0, or
 * prints one line to stderr and returns EXIT_USAGE; --help prints the usage
 * to stdout and returns -1. */
int cli_parse(const cli_cmd *c, int argc, char **argv, const char **positional);
/* cli_parse, returning from the calling command on --help (0) or an error. */
#define CLI_PARSE(c, argc, argv, positional)                                \
    do {                                                                    \
        int rc_ = cli_parse((c), (argc), (argv), (positional));             \
        if (rc_) return rc_ < 0 ? EXIT_OK : rc_;                            \
    } while (0)
/* info MODEL [--json]: the path and the flag (0, -1 after --help, or the exit code). */
int cli_info_args(const char *usage, int argc, char **argv, const char **path, int *json);
/* The value of --name in argv (as "--name V" or "--name=V"), or NULL. */
const char *cli_peek_opt(int argc, char **argv, const char *name);

/* Print "phasetower <cmd>: <msg>" to stderr and return code. */
int cli_error(const char *cmd, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Exit code for a library status: 2 for bad input (EINVAL, EFORMAT, EIO), 1 otherwise. */
int cli_status_code(pt_status st);
/* A library failure: pt_errmsg() (prefixed by prefix when not NULL) with each
 * parameter name of c's options turned into its flag, printed as by
 * cli_error with the status' exit code. */
int cli_lib_error(const cli_cmd *c, pt_status st, const char *prefix);

double cli_now(void);
/* The double nearest to the shortest decimal that reads back as v (1e-4f -> 1e-4, not 1.00000001e-4). */
double cli_float_decimal(float v);

/* Whether path can be written as an output file, checked before the work so
 * that a command fails at once rather than after it: 0, or prints one line
 * naming flag and path and returns EXIT_USAGE when path is a directory, the
 * directory that would hold it is missing or not writable, or (unless force)
 * path is an existing read-only file (as cp refuses it; root too, when no
 * write bit is set). With force such a file is replaced: the rename needs
 * only the directory to be writable. */
int cli_check_out(const char *cmd, const char *flag, const char *path, int force);
/* The same for the files names (ended by NULL) in the output directory dir:
 * dir must be a writable directory, or be missing with a writable parent
 * (the command creates it only when it writes, and removes it on failure). */
int cli_check_out_dir(const char *cmd, const char *flag, const char *dir, const char *const *names, int force);
/* Parse a class list "0-4", "0,2,5-7" into mask[c] = 1 (classes below
 * n_classes). 0, or prints the error and returns EXIT_USAGE. */
int cli_parse_classes(const char *cmd, const char *spec, int n_classes, uint8_t mask[256]);
/* Write n labels to path, one per line ("y mem conf" when mem is not NULL),
 * atomically (pt_io_write_file). 0, or prints the error and returns the exit
 * code. */
int cli_write_labels(const char *cmd, const char *path, const uint8_t *y, const int *mem, const uint8_t *conf, size_t n);
/* Mean microseconds of e's pass on one image, over the first min(1000, n)
 * images of d; -1 if a pass fails. */
double cli_single_latency_us(const pt_embedder *e, const pt_dataset *d);

/* ---- the report sink (report.c) ---- */

/* A result printed once: as text lines, or as one JSON object (jansson) on
 * stdout. Each analysis adds its fields and its text in one place; the sink
 * prints only the form asked for. Numbers are rounded to the decimals given
 * (floats to their shortest exact decimal). */
typedef struct cli_report cli_report;
cli_report *rep_new(int json);
int rep_json(const cli_report *r);
void rep_num(cli_report *r, const char *key, double v, int decimals);
void rep_float(cli_report *r, const char *key, float v);
void rep_int(cli_report *r, const char *key, long long v);
void rep_str(cli_report *r, const char *key, const char *v);
void rep_bool(cli_report *r, const char *key, int v);
/* Fields added after rep_push(r, key) go into a nested object (or, with
 * array set, an array of [re, im] pairs added by rep_pair), until rep_pop. */
void rep_push(cli_report *r, const char *key, int array);
void rep_pair(cli_report *r, float a, float b);
void rep_pop(cli_report *r);
void rep_text(cli_report *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Print the report (the text, or the JSON object on one line) and free the
 * sink: 0, or EXIT_RUNTIME when out of memory (r NULL included). rep_discard
 * frees it printing nothing (a command that failed). */
int rep_end(cli_report *r);
void rep_discard(cli_report *r);

/* ---- progress (progress.c) ---- */

/* Progress bar on stderr, only when stderr is a terminal. */
typedef struct cli_progress {
    int enabled;
    double start, last;
    const char *label;
} cli_progress;
void cli_progress_init(cli_progress *p, const char *label, int quiet);
void cli_progress_cb(size_t done, size_t total, void *user);
void cli_progress_end(cli_progress *p);

/* ---- models (model.c) ---- */

/* A tower and its episodic memory (NULL when the checkpoint has none) from
 * path; every tensor of the file must belong to one of them. 0, or prints
 * the error and returns the exit code. */
int cli_load_tower(const cli_cmd *c, const char *path, pt_tower **t, pt_memory **mem);
/* Save a tower and (if not NULL) its memory to path, atomically. */
pt_status cli_save_tower(const pt_tower *t, const pt_memory *mem, const char *path);

#endif
