/* cmd_pretrain.c — `bertc pretrain`. */
#include <stdio.h>
#include <string.h>

#include "../core/err.h"
#include "../train/runcfg.h"
#include "../train/trainer.h"
#include "cli.h"

static const char *usage =
    "usage: bertc pretrain --run DIR [--config FILE] [--set key=value]... [options]\n"
    "\n"
    "Pretrains an encoder with masked-language modelling on token shards from\n"
    "`bertc tokenize` (the MosaicBERT recipe by default: 30% masking, decoupled\n"
    "AdamW, linear warmup and decay). DIR receives config.txt (the resolved\n"
    "configuration), metrics.jsonl and checkpoints/ (HF-layout model directories with\n"
    "trainer state). If DIR already holds a checkpoint, training resumes from it\n"
    "exactly. SIGINT/SIGTERM finish the current step, write a checkpoint and exit.\n"
    "\n"
    "options:\n"
    "  --run DIR          run directory (created if missing)\n"
    "  --config FILE      configuration file: `key = value` lines, # comments\n"
    "  --set key=value    override one key (repeatable; applied after --config)\n"
    "  --device D         cpu (default) | cuda | cuda-fp32: the same as --set train.device=D\n"
    "  --no-resume        refuse a run directory that already holds a checkpoint\n"
    "  -q, --quiet        no progress output\n"
    "  --help-config      list the configuration keys and defaults\n";

int cmd_pretrain(int argc, char **argv) {
    const char *run = NULL;
    int quiet = 0;
    resume_mode resume = RESUME_AUTO;
    runcfg c;
    runcfg_default(&c);
    /* the config file first, whatever its position, so --set always wins */
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { fputs(usage, stdout); return 0; }
        if (!strcmp(argv[i], "--help-config")) { runcfg_help(stdout); return 0; }
        if ((v = cli_flag_value(argc, argv, &i, "--config")) && runcfg_load(&c, v) != 0)
            return cli_fail("pretrain", "%s", err_msg());
    }
    for (int i = 1; i < argc; i++) {
        const char *v;
        if ((v = cli_flag_value(argc, argv, &i, "--config"))) continue;
        else if ((v = cli_flag_value(argc, argv, &i, "--run"))) run = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--set"))) {
            if (runcfg_override(&c, v) != 0) return cli_fail("pretrain", "%s", err_msg());
        } else if ((v = cli_flag_value(argc, argv, &i, "--device"))) {
            char kv[64];
            snprintf(kv, sizeof kv, "train.device=%s", v);
            if (runcfg_override(&c, kv) != 0) return cli_fail("pretrain", "%s", err_msg());
        } else if (!strcmp(argv[i], "--no-resume")) resume = RESUME_NEVER;
        else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) quiet = 1;
        else return cli_fail("pretrain", "unknown argument '%s' (see --help)", argv[i]);
    }
    if (!run) return cli_fail("pretrain", "--run DIR is required (see --help)");
    if (trainer_run(&c, run, resume, quiet) != 0) return cli_fail("pretrain", "%s", err_msg());
    return 0;
}
