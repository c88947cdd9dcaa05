/* phasetower export: a saved one-block tower as a standalone integer C99
 * classifier (docs/export.md). */
#include <string.h>
#include "cli.h"

static const char *USAGE =
    "usage: phasetower export --model F --out DIR [--bits 8|16] [--json]\n\n"
    "Writes DIR/phasetower_model.h and DIR/phasetower_model.c: the model with\n"
    "integer weights (int8 or int16; phases as 16-bit angles, cos/sin from a table)\n"
    "and integer inference, in C99 with only static const data, no malloc and no\n"
    "libm. The API is ptm_predict(pixels) and ptm_logits(pixels, logits), pixels\n"
    "0..255. Its answers are those of 'phasetower eval --quantize BITS'.\n"
    "With --memory, the checkpoint's episodic memory goes with it (int8 keys) and\n"
    "the API gains ptm_recall, ptm_predict_combined and ptm_label_name.\n"
    "Supported: one-block towers (the default); memory keys of at most 1024\n"
    "complex values, k at most 64. DIR is created if missing (and removed again if\n"
    "the export fails); --force replaces read-only files in it.";

int cmd_export(int argc, char **argv)
{
    const char *cmd = "export", *model = NULL, *out = NULL;
    int bits = 8, json = 0, with_mem = 0, force = 0;
    float tau = 0.7f;
    opt opts[] = {
        {"model", OPT_STR, &model, "checkpoint written by train (required)", 0, 0, NULL, 0},
        {"out", OPT_STR, &out, "directory for the two files (created if missing; required)", 0, 0, NULL, 0},
        {"bits", OPT_INT, &bits, "weight precision, 8 (default) or 16", 8, 16, NULL, 0},
        {"memory", OPT_FLAG, &with_mem, "export the episodic memory too", 0, 0, NULL, 0},
        {"memory-tau", OPT_FLOAT, &tau, "similarity at which the combined answer trusts the memory (default 0.7)", 1e-6, 1, NULL, 0},
        OPT_FORCE(&force),
        OPT_JSON(&json),
        OPT_END,
    };
    cli_cmd k = {cmd, USAGE, opts, NULL, NULL};
    CLI_PARSE(&k, argc, argv, NULL);
    int rc = EXIT_OK;
    if (!model || !out) return cli_error(cmd, EXIT_USAGE, "--model and --out are required (see --help)");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", out);
    for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--) dir[n - 1] = '\0';
    out = dir;
    if (bits != 8 && bits != 16) return cli_error(cmd, EXIT_USAGE, "--bits %d: expected 8 or 16", bits);
    static const char *const names[] = {"phasetower_model.h", "phasetower_model.c", NULL};
    if ((rc = cli_check_out_dir(cmd, "--out", out, names, force))) return rc;
    pt_tower *t = NULL;
    pt_memory *mem = NULL;
    pt_qtower *q = NULL;
    pt_status st;
    if ((rc = cli_load_tower(&k, model, &t, with_mem ? &mem : NULL))) return rc;
    if (with_mem && !mem) {
        pt_tower_destroy(t);
        return cli_error(cmd, EXIT_USAGE, "--memory: %s has no episodic memory", model);
    }
    if ((st = pt_qtower_create(t, bits, &q)) || (with_mem && (st = pt_qtower_add_memory(q, mem, tau))) ||
        (st = pt_qtower_export(q, out, model))) {
        rc = cli_lib_error(&k, st, NULL);
    } else {
        cli_report *r = rep_new(json);
        if (r) {
            rep_str(r, "out", out), rep_int(r, "bits", bits), rep_bool(r, "memory", with_mem);
            rep_int(r, "const_bytes", (long long)pt_qtower_const_bytes(q));
            rep_text(r, "wrote %s/phasetower_model.h and %s/phasetower_model.c: int%d%s, %zu bytes of constant data\n",
                     out, out, bits, with_mem ? " with the episodic memory" : "", pt_qtower_const_bytes(q));
        }
        rc = rep_end(r);
    }
    pt_qtower_destroy(q);
    pt_memory_destroy(mem);
    pt_tower_destroy(t);
    return rc;
}
