/* optim.h — AdamW over the flat fp32 parameter block.
 *
 * Two variants, identical except for the weight-decay term (spec mosaicbert.md §6):
 *   OPTIM_DECOUPLED_ADAMW  Composer's DecoupledAdamW (the MosaicBERT recipe):
 *                          p ← p·(1 − α_t·wd), α_t = lr_t / lr_0 (the schedule multiplier);
 *   OPTIM_ADAMW            torch.optim.AdamW: p ← p·(1 − lr_t·wd).
 * then, for both (k = step number starting at 1, g the gradient):
 *   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   p ← p − (lr_t / (1−β1^k)) · m / (√v / √(1−β2^k) + eps)     (eps after bias-correcting √v)
 *
 * Parameters, gradients, m and v all use the layout of the parameter table
 * (params.h): one block of t->total floats each, in the memory of the backend
 * given to optim_init, which applies the element updates (ops.h adamw). Each parameter gets its own
 * (lr_0, wd) from the rules: the first glob rule whose pattern matches the
 * parameter's name wins; otherwise the base lr/wd, with wd = 0 for biases and
 * norms when no_decay_bias_norm is set. lr_t = lr_0 · α_t for every group.
 *
 * Gradient accumulation happens outside (the model accumulates into its
 * gradients); optim_scale() rescales them, optim_clip_grad_norm() clips.
 * State for checkpoints: m, v (t->total floats each) and step — read and write
 * them directly (o->m, o->v, o->step). */
#ifndef BERTC_OPTIM_H
#define BERTC_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "../backend/ops.h"
#include "../model/params.h"

typedef enum { OPTIM_DECOUPLED_ADAMW, OPTIM_ADAMW } optim_kind;

#define OPTIM_MAX_RULES 16
#define OPTIM_PATTERN_MAX 96

/* Parameters whose name matches `pattern` ('*' any run of characters, '?' any
 * one character, everything else literal; the whole name must match) get this
 * lr_0 and wd. Example (M2): {"*.implicit_filter*", 1e-3, 0.1}. */
typedef struct {
    char pattern[OPTIM_PATTERN_MAX];
    double lr, wd;
} optim_rule;

typedef struct {
    optim_kind kind;
    double lr;                /* base lr_0 (the schedule's peak) */
    double beta1, beta2, eps; /* double, as the Python reference holds them */
    double weight_decay;      /* base wd */
    int no_decay_bias_norm;   /* wd 0 for names ending in "bias" or containing "norm" (any case) */
    optim_rule rules[OPTIM_MAX_RULES];
    int n_rules;
} optim_config;

/* The MosaicBERT recipe: DecoupledAdamW, lr 5e-4, betas (0.9, 0.98), eps 1e-6,
 * wd 1e-5 on all parameters, no rules. */
void optim_config_default(optim_config *c);
/* Appends a rule (checked in order, first match wins). -1 + err when the list is
 * full or the pattern is too long. */
int optim_add_rule(optim_config *c, const char *pattern, double lr, double wd);
/* 1 when `name` matches the glob `pattern` (whole string). */
int optim_glob_match(const char *pattern, const char *name);
/* Parses "adamw" / "decoupled_adamw" (-1 + err otherwise). */
int optim_kind_parse(const char *s, optim_kind *out);
const char *optim_kind_name(optim_kind k);

/* Per-parameter hyper-parameters resolved from the rules, in table order. */
typedef struct {
    size_t offset, numel; /* floats, as in the param table */
    double lr, wd;        /* lr_0 and wd of this parameter */
    int rule;             /* index of the matching rule, or -1 */
} optim_group;

typedef struct {
    optim_config cfg;
    optim_group *groups; /* (n_groups,) one per parameter of the table */
    int n_groups;
    size_t total;        /* floats in params / grads / m / v */
    const ops *be;       /* the backend holding params, grads, m and v */
    float *m, *v;        /* (total,) first and second moments, zero at init; backend memory */
    int64_t step;        /* optimizer steps taken (k of the last step) */
} optim;

/* Checks the config (lr ≥ 0, 0 ≤ β < 1, eps > 0, wd ≥ 0, the same for rules;
 * -1 + err naming the field) and allocates zeroed moments for the table in be. */
int optim_init(optim *o, const optim_config *c, const param_table *t, const ops *be);
void optim_free(optim *o);

/* One step with schedule multiplier alpha (lr_t = lr_0·alpha per group):
 * increments o->step, then updates params in place from grads. */
void optim_step(optim *o, float *params, const float *grads, double alpha);

/* √Σ g² over n gradients in backend memory, summed in double in a fixed order (the
 * same result for any thread count; ops.h sumsq). */
double optim_grad_norm(const ops *be, const float *grads, size_t n);
/* torch.nn.utils.clip_grad_norm_: norm = optim_grad_norm; when max_norm > 0 and
 * norm > max_norm, grads *= max_norm / (norm + 1e-6). Returns the norm before
 * clipping. max_norm ≤ 0: no clipping (the norm is still returned). */
double optim_clip_grad_norm(const ops *be, float *grads, size_t n, double max_norm);
/* grads *= s (e.g. 1/accumulation steps). */
void optim_scale(const ops *be, float *grads, size_t n, float s);

#endif
