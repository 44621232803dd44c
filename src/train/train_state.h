/* train_state.h — what a training run needs besides its weights to continue bit for bit,
 * shared by pretraining (trainer.c) and finetuning (finetune.c):
 *
 *   DIR/trainer_state.safetensors   optim.m, optim.v (f32, Adam's moments, all parameters),
 *                                   a vector of int64 counters under the caller's name, and
 *                                   __metadata__ "format" (+ "args": the run's settings, when given)
 *
 * and the metrics log rewound to the step a resumed run continues from. */
#ifndef BERTC_TRAIN_STATE_H
#define BERTC_TRAIN_STATE_H

#include <stdint.h>

#include "optim.h"

/* Writes DIR/trainer_state.safetensors (atomically): opt's moments, counters (n) as tensor
 * `counters_name`, metadata format = `format` and, when args != NULL, args. */
int train_state_save(const char *dir, const optim *opt, const char *format, const char *counters_name,
                     const int64_t *counters, int n, const char *args);
/* Reads it back into opt (moments uploaded) and counters (exactly n of them). *args (when
 * args != NULL) gets a malloc'd copy of the "args" metadata, or NULL when there is none.
 * -1 + err naming the file when it is missing, damaged or sized for another model. */
int train_state_load(const char *dir, optim *opt, const char *counters_name, int64_t *counters, int n, char **args);

/* Keeps the whole rows of a metrics.jsonl ({"step": N, …} per line) with N ≤ step (a half-written
 * last line goes); no file: 0. */
int train_metrics_truncate(const char *path, int64_t step);

/* A double's bits as a counter, and back: exact, for metrics carried across a resume. */
int64_t train_f64_bits(double x);
double train_f64_of(int64_t bits);

#endif
