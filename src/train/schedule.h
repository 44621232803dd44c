/* schedule.h — learning-rate multipliers α(step): lr_t = lr_0 · α(step).
 *
 * `step` counts optimizer steps already taken (0 for the first step), as
 * Composer evaluates its schedulers at the start of each batch; in the
 * MosaicBERT recipe the first step therefore runs with lr 0.
 *
 *   SCHED_CONSTANT  warmup (if any), then 1.
 *   SCHED_LINEAR    Composer linear_decay_with_warmup (spec mosaicbert.md §6):
 *                   s < W: α = s/W;  else α = 1 + (alpha_f − 1)·min(1, (s − W)/(T − W)).
 *   SCHED_WSD       warmup-stable-decay (ModernBERT): s/W during warmup, 1 until the
 *                   last decay_frac·T steps, then down to alpha_f over them, linearly
 *                   or with the 1 − √x shape: α = alpha_f + (1 − alpha_f)·(1 − √x),
 *                   x = fraction of the decay phase done.
 * After T steps α stays at alpha_f (LINEAR, WSD). */
#ifndef BERTC_SCHEDULE_H
#define BERTC_SCHEDULE_H

#include <stdint.h>

typedef enum { SCHED_CONSTANT, SCHED_LINEAR, SCHED_WSD } sched_kind;
typedef enum { SCHED_DECAY_LINEAR, SCHED_DECAY_SQRT } sched_decay;

typedef struct {
    sched_kind kind;
    int64_t warmup;     /* W: warmup steps (0: none) */
    int64_t total;      /* T: total steps (LINEAR, WSD) */
    double alpha_f;     /* final multiplier (0.02 in the MosaicBERT recipe) */
    double decay_frac;  /* WSD: fraction of T spent decaying, in (0, 1] */
    sched_decay decay;  /* WSD decay shape */
} schedule;

/* The recipe's shape: LINEAR, warmup = 6% of total (rounded), alpha_f 0.02. */
void schedule_default(schedule *s, int64_t total_steps);
/* Checks the fields (warmup ≤ total, 0 ≤ alpha_f ≤ 1, …); -1 + err naming the field. */
int schedule_check(const schedule *s);
/* α for the step about to run. */
double schedule_alpha(const schedule *s, int64_t step);
/* "constant" / "linear" / "wsd" (-1 + err otherwise). */
int schedule_kind_parse(const char *str, sched_kind *out);
const char *schedule_kind_name(sched_kind k);

#endif
