/* phasetower info: configuration, size and cost of a saved model. */
#define _POSIX_C_SOURCE 200809L
#include <sys/stat.h>
#include <string.h>
#include "cli.h"

static const char *USAGE = "usage: phasetower info [--json] MODEL\n\nDescribes a checkpoint written by 'phasetower train'.";

int cmd_info(int argc, char **argv)
{
    const char *cmd = "info", *path = NULL;
    int json = 0;
    opt opts[] = {
        {"json", OPT_FLAG, &json, "print one JSON object on stdout", 0, 0, 0},
        {NULL, OPT_FLAG, NULL, NULL, 0, 0, 0},
    };
    int rc = cli_parse(cmd, USAGE, opts, argc, argv, 2, &path);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if (!path) return cli_error(cmd, EXIT_USAGE, "a model file is required (see --help)");
    char kind[16];
    cli_checkpoint_kind(path, kind, sizeof kind);
    if (!strcmp(kind, "phasor")) return cmd_info_phasor(path, json);
    pt_tower *t = NULL;
    pt_memory *mem = NULL;
    pt_status st = pt_model_load(path, &t, &mem);
    if (st) return cli_error(cmd, cli_status_code(st), "%s", pt_errmsg());
    const pt_tower_config *c = pt_tower_get_config(t);
    struct stat sb;
    long long bytes = stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
    char spec[PT_TOWER_MAXBLOCKS * 24];
    pt_tower_spec_format(c, spec, sizeof spec);
    /* what 'phasetower export' would write (0: configuration not exportable) */
    size_t flash[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        pt_qtower *q = NULL;
        if (pt_qtower_create(t, 8 << i, &q) == PT_OK) flash[i] = pt_qtower_const_bytes(q);
        pt_qtower_destroy(q);
    }
    if (json) {
        printf("{\"model\": \"tower\", \"layers\": \"%s\", \"n_in\": %d, \"n_classes\": %d, \"params\": %zu, "
               "\"active_params\": %zu, \"madds_per_image\": %zu, \"file_bytes\": %lld, \"export_bytes_int8\": %zu, "
               "\"export_bytes_int16\": %zu, \"subspace\": %d, \"route\": %d, \"rule\": \"%s\", \"readout\": \"%s\", \"init\": \"%s\", "
               "\"eta\": %.9g, \"target_mag\": %.9g, \"seed\": %llu, \"skip\": [",
               spec, c->n_in, c->n_classes, pt_tower_param_count(t), pt_tower_active_params(t), pt_tower_madds(t), bytes,
               flash[0], flash[1], c->subspace, c->route, pt_tower_rule_name(c->rule),
               pt_tower_readout_name(c->readout), pt_tower_init_name(c->init), (double)c->eta, (double)c->target_mag,
               (unsigned long long)c->seed);
        for (int b = 1; b < c->n_blocks; b++) {
            float re, im;
            pt_tower_skip(t, b, &re, &im);
            printf("%s[%.9g, %.9g]", b > 1 ? ", " : "", (double)re, (double)im);
        }
        printf("]");
        long bi, fl, de;
        pt_tower_topology(t, c->n_blocks - 1, &bi, &fl, &de);
        printf(", \"liquid\": {\"births\": %s, \"deaths\": %s, \"death_steps\": %d, \"birth_tau\": %.9g, "
               "\"max_neurons\": %d, \"born\": %ld, \"flipped\": %ld, \"removed\": %ld}",
               c->births ? "true" : "false", c->deaths ? "true" : "false", c->death_steps, (double)c->birth_tau,
               c->max_neurons, bi, fl, de);
        if (mem) {
            const pt_memory_config *mc = pt_memory_get_config(mem);
            printf(", \"memory\": {\"slots\": %zu, \"size\": %d, \"dim\": %d, \"k\": %d, \"alpha\": %.9g, "
                   "\"vote\": \"%s\", \"code\": \"%s\", \"keys\": \"%s\", \"bytes\": %zu}",
                   pt_memory_count(mem), mc->capacity, mc->dim, mc->k, (double)mc->alpha, pt_memory_vote_name(mc->vote),
                   pt_memory_code_name(mc->code), pt_memory_keys_name(mem), pt_memory_bytes(mem));
        }
        printf("}\n");
    } else {
        printf("%s: PhaseTower, %d blocks (%s), %d inputs, %d classes\n", path, c->n_blocks, spec, c->n_in, c->n_classes);
        printf("  parameters      %zu (%.2f MB as float32)\n", pt_tower_param_count(t), 4e-6 * (double)pt_tower_param_count(t));
        printf("  active          %zu parameters per image (the selected neurons and their codebook entries)\n",
               pt_tower_active_params(t));
        if (c->subspace)
            printf("  multiply-adds   %zu per image (through a subspace of %d: %d x %d + K x %d, then the readout)\n",
                   pt_tower_madds(t), c->subspace, c->subspace, c->n_in, c->subspace);
        else
            printf("  multiply-adds   %zu per image (dense scoring; eval --sparse G:P measures sparse inference)\n",
                   pt_tower_madds(t));
        if (c->route)
            printf("  routing basis   %d principal components of the pixels (eval --route R1:KEEP:EXACT)\n", c->route);
        printf("  file            %lld bytes\n", bytes);
        if (flash[0])
            printf("  export          %zu bytes of constant data as int8, %zu as int16 (phasetower export)\n", flash[0],
                   flash[1]);
        else
            printf("  export          not supported for this configuration (one-block towers only)\n");
        printf("  learning        %s rule, %s readout, %s init, eta %g, |t| %g, seed %llu\n", pt_tower_rule_name(c->rule),
               pt_tower_readout_name(c->readout), pt_tower_init_name(c->init), (double)c->eta, (double)c->target_mag,
               (unsigned long long)c->seed);
        for (int b = 1; b < c->n_blocks; b++) {
            float re, im;
            pt_tower_skip(t, b, &re, &im);
            printf("  block %d skip    lambda = %.4f %+.4fi\n", b + 1, (double)re, (double)im);
        }
        long bi, fl, de;
        pt_tower_topology(t, c->n_blocks - 1, &bi, &fl, &de);
        if (c->births || c->deaths)
            printf("  liquid          last block: births %s, deaths %s (N %d, tau %g); %ld born, %ld phase flips, %ld removed\n",
                   c->births ? "on" : "off", c->deaths ? "on" : "off", c->death_steps, (double)c->birth_tau, bi, fl, de);
        else
            printf("  liquid          off (fixed topology)\n");
        if (mem) {
            const pt_memory_config *mc = pt_memory_get_config(mem);
            printf("  memory          %zu of %d slots, keys of %d complex values (%s code, %s keys), k %d, alpha %g, %s vote, "
                   "%zu bytes\n",
                   pt_memory_count(mem), mc->capacity, mc->dim, pt_memory_code_name(mc->code), pt_memory_keys_name(mem), mc->k, (double)mc->alpha,
                   pt_memory_vote_name(mc->vote), pt_memory_bytes(mem));
        }
    }
    pt_memory_destroy(mem);
    pt_tower_destroy(t);
    return EXIT_OK;
}
