/* phasetower tpam: the capacity curve of a threshold phasor associative
 * memory (docs/phasor.md). */
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const char *USAGE =
    "usage: phasetower tpam [--n 625] [--k 25] [--patterns 25,50,...] [--cues 50] [--theta 0.4 | --topk]\n"
    "                       [--iters 20] [--seed 1] [--json]\n\n"
    "Threshold phasor associative memory (Frady & Sommer 2019): for each number M\n"
    "of --patterns, stores M random sparse phasor patterns (K of N units active,\n"
    "uniform phases) in Hebbian complex weights with a zero diagonal, cues the\n"
    "first --cues of them with half their active entries zeroed, iterates\n"
    "z <- normalize(threshold(J z / K)) and reports the mean overlap |<xi, z>| /\n"
    "(|xi| |z|) of the result with the stored pattern: the capacity curve.";

int cmd_tpam(int argc, char **argv)
{
    const char *cmd = "tpam", *plist = "25,50,100,150,201,250,300,400,600";
    pt_tpam_config c = pt_tpam_config_default();
    int cues = 50, json = 0;
    opt opts[] = {
        {"n", OPT_INT, &c.N, "neurons (default 625)", 2, 65536, "tpam.N", 0},
        {"k", OPT_INT, &c.K, "active neurons per pattern (default 25)", 1, 65536, "tpam.K", 0},
        {"patterns", OPT_STR, &plist, "numbers of stored patterns, comma-separated (default 25,...,600)", 0, 0, NULL, 0},
        {"cues", OPT_INT, &cues, "patterns cued and retrieved per point (default 50)", 1, 100000, NULL, 0},
        {"theta", OPT_FLOAT, &c.theta, "threshold on |J z / K| (default 0.4)", 1e-6, 1e6, "tpam.theta", 0},
        {"topk", OPT_FLAG, &c.topk, "keep the K largest |J z| instead of a fixed threshold", 0, 0, NULL, 0},
        {"iters", OPT_INT, &c.iters, "retrieval iterations (default 20)", 1, 1000, "tpam.iters", 0},
        {"seed", OPT_U64, &c.seed, "seed of patterns and cues (default 1)", 1, 0, NULL, 0},
        {"json", OPT_FLAG, &json, "print one JSON object per point on stdout", 0, 0, NULL, 0},
        OPT_END,
    };
    cli_cmd k = {cmd, USAGE, opts, NULL, "n patterns cues"};
    CLI_PARSE(&k, argc, argv, NULL);
    if (c.K > c.N) return cli_error(cmd, EXIT_USAGE, "--k %d: more active units than --n %d", c.K, c.N);
    int Ms[256], nm = 0;
    const char *p = plist;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 1000000 || nm == 256 || (*end && *end != ','))
            return cli_error(cmd, EXIT_USAGE, "--patterns '%s': expected positive counts like 25,50,100", plist);
        Ms[nm++] = (int)v;
        p = *end ? end + 1 : end;
        if (*end && !*p) return cli_error(cmd, EXIT_USAGE, "--patterns '%s': trailing comma", plist);
    }
    if (!nm) return cli_error(cmd, EXIT_USAGE, "--patterns '%s': expected positive counts like 25,50,100", plist);
    pt_set_threads(1); /* one core, and the same sums every run */
    pt_tpam *probe = NULL;
    pt_status st = pt_tpam_create(&c, &probe); /* validates the configuration once, before any work */
    pt_tpam_destroy(probe);
    if (st) return cli_lib_error(&k, st, NULL);
    if (!json)
        printf("TPAM N = %d, K = %d, %s, %d iterations; cues: half of the active entries zeroed\n"
               "| patterns | cues | cue overlap | retrieved overlap | seconds |\n|---:|---:|---:|---:|---:|\n",
               c.N, c.K, c.topk ? "top-K threshold" : "fixed threshold", c.iters);
    for (int i = 0; i < nm; i++) { /* one report (a table row, or a JSON line) per point, as it is measured */
        double mean = 0.0, cue = 0.0, t0 = cli_now();
        if ((st = pt_tpam_capacity_point(&c, Ms[i], cues, &mean, &cue))) return cli_lib_error(&k, st, NULL);
        double s = cli_now() - t0;
        int nq = cues < Ms[i] ? cues : Ms[i];
        cli_report *r = rep_new(json);
        if (r) {
            rep_int(r, "n", c.N), rep_int(r, "k", c.K), rep_float(r, "theta", c.theta), rep_bool(r, "topk", c.topk);
            rep_int(r, "iters", c.iters), rep_int(r, "patterns", Ms[i]), rep_int(r, "cues", nq);
            rep_num(r, "cue_overlap", cue, 6), rep_num(r, "overlap", mean, 6), rep_num(r, "seconds", s, 4);
            rep_text(r, "| %d | %d | %.4f | %.4f | %.2f |\n", Ms[i], nq, cue, mean, s);
        }
        int rc = rep_end(r);
        if (rc) return rc;
        fflush(stdout);
    }
    return EXIT_OK;
}
