/* trainer.h — `bertc pretrain`: MLM pretraining from token shards, with
 * evaluation, atomic checkpoints, exact resume and clean interruption. */
#ifndef BERTC_TRAINER_H
#define BERTC_TRAINER_H

#include "runcfg.h"

typedef enum {
    RESUME_AUTO,  /* resume when the run directory holds a checkpoint */
    RESUME_NEVER, /* refuse a run directory that holds one */
} resume_mode;

/* Runs the configuration in run_dir. 0 on success (or on a clean stop after
 * SIGINT/SIGTERM, with a checkpoint written), -1 + err otherwise. */
int trainer_run(const runcfg *c, const char *run_dir, resume_mode resume, int quiet);

#endif
