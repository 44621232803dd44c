/* pretrain_check.h — `bertc pretrain` end-to-end helpers shared by the CPU tests
 * (tests/test_cli_pretrain.c) and the GPU tests (tests/gpu/test_train_cuda.c). */
#ifndef BERTC_PRETRAIN_CHECK_H
#define BERTC_PRETRAIN_CHECK_H

/* --set flags of a tiny model and a 12-step run (2 layers, hidden 32, seq 24). */
extern const char *PRETRAIN_TINY;
/* Shards of 46 KJV verses (× 4) with a 300-token vocabulary trained on them, made
 * once per test in its temporary directory; returns the shard directory. */
const char *pretrain_shards(void);
/* The "loss" fields of a run's metrics.jsonl, concatenated (caller frees). */
char *pretrain_losses(const char *run);
/* Exact resume on `device`: 12 steps uninterrupted = 6 + clean stop + 6 = SIGKILL
 * after step 7 and resume from the step-4 checkpoint: the same losses, bytes of
 * weights and trainer state. */
void check_resume(const char *arch, const char *device);

#endif
