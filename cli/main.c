/* phasetower: command-line entry point. Dispatches to one file per subcommand;
 * exit codes: 0 ok, 1 runtime failure, 2 bad usage or bad input. */
#include <string.h>
#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: phasetower <command> [options]\n\n"
            "commands:\n"
            "  train   train a PhaseTower in one backprop-free pass and report test accuracy\n"
            "          (--model phasor: a gradient-trained phasor MLP, for comparison)\n"
            "  eval    evaluate a saved model on a data set\n"
            "  info    describe a saved model\n"
            "  compose add a new concept A+B to a model's episodic memory, without examples\n"
            "  corrupt write a corrupted copy of a test set (the images eval --corrupt uses)\n"
            "  export  write a model as a standalone integer C99 classifier for microcontrollers\n"
            "  tpam    capacity curve of a threshold phasor associative memory\n\n"
            "Run 'phasetower <command> --help' for the options of a command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *c = argv[1];
    if (!strcmp(c, "--help") || !strcmp(c, "-h") || !strcmp(c, "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(c, "--version")) {
        printf("phasetower 0.1.0\n");
        return EXIT_OK;
    }
    if (!strcmp(c, "train")) {
        for (int i = 2; i < argc; i++) /* --model phasor picks the phasor network's trainer */
            if ((!strcmp(argv[i], "--model") && i + 1 < argc && !strcmp(argv[i + 1], "phasor")) ||
                !strcmp(argv[i], "--model=phasor"))
                return cmd_train_phasor(argc, argv);
        return cmd_train(argc, argv);
    }
    if (!strcmp(c, "eval")) return cmd_eval(argc, argv);
    if (!strcmp(c, "info")) return cmd_info(argc, argv);
    if (!strcmp(c, "compose")) return cmd_compose(argc, argv);
    if (!strcmp(c, "corrupt")) return cmd_corrupt(argc, argv);
    if (!strcmp(c, "export")) return cmd_export(argc, argv);
    if (!strcmp(c, "tpam")) return cmd_tpam(argc, argv);
    return cli_error(NULL, EXIT_USAGE, "unknown command '%s' (try 'phasetower --help')", c);
}
