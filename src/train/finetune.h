/* finetune.h — sequence classification and regression from a pretrained encoder
 * (the loop behind `bertc finetune`): the recipe of mosaicbert.md §7 — decoupled
 * AdamW, betas (0.9, 0.98), eps 1e-6, linear warmup over a share of the steps then
 * linear decay to alpha_f — with the [CLS] pooler and a fresh classifier (M2: its
 * configured pooling), evaluation every N steps and at every epoch end, the best
 * checkpoint by the task's metric kept, its dev predictions written, early stopping.
 *
 * Output directory: metrics.jsonl (train loss per log step, one line per
 * evaluation), best/ (the best model: config.json, model.safetensors, vocab.txt),
 * predictions.tsv (index, prediction, gold of the best evaluation), and while the run
 * is unfinished last/ (the model and trainer_state.safetensors after the latest
 * evaluation, or the step a signal stopped: finetune_run continues from it when the
 * settings and data are the same, and refuses otherwise); once finished, finished (the
 * result and the settings: the same settings again return that result at once). */
#ifndef BERTC_FINETUNE_H
#define BERTC_FINETUNE_H

#include <stdint.h>

#include "../data/task.h"
#include "../eval/metrics.h"

/* One split of a labelled task, host memory. */
typedef struct {
    int n;
    const char *const *text_a;  /* (n,) */
    const char *const *text_b;  /* (n,) or NULL: single-text task */
    const int32_t *label;       /* (n,) class ids in [0, num_labels), or NULL (regression) */
    const float *value;         /* (n,) regression targets, or NULL */
} ft_split;

typedef struct {
    const char *model_dir;  /* pretrained (or finetuned) checkpoint */
    const char *vocab;      /* vocab.txt (NULL: model_dir/vocab.txt) */
    const char *out_dir;    /* created; holds metrics.jsonl, best/, predictions.tsv */
    const char *device;     /* ops_by_name: cpu | cuda | cuda-fp32 */
    int num_labels;         /* classes; 1 = regression (MSE) */
    metric_kind metric;     /* picks the best evaluation */
    int max_len;            /* tokens per example, specials included (truncation: longest first) */
    int chunk_stride;       /* 0: truncate to max_len. > 0 (single texts): a longer text becomes rows of
                             * max_len − 2 tokens starting every chunk_stride tokens, each trained with the
                             * example's label; an example is predicted from the mean of its rows' logits */
    int batch_size, epochs;
    double lr, weight_decay, warmup;  /* warmup: share of all steps (< 1) or steps (≥ 1) */
    double alpha_f;                   /* final lr multiplier (GLUE: 0) */
    double clip;                      /* gradient-norm clipping, 0 = off */
    int torch_adamw;        /* torch/HF AdamW: decay lr_t·wd, none on biases and norms (HF Trainer's
                             * convention); 0: the recipe's DecoupledAdamW, decay α_t·wd on everything */
    int eval_every;         /* steps between evaluations (0: at epoch ends only) */
    int patience;           /* stop after this many evaluations without a new best (0: never) */
    uint64_t seed;          /* classifier init, shuffling, dropout */
    int fresh_classifier;   /* a new classifier even when model_dir has one (another task's) */
    int pooling;            /* 0: as the model's config.json says ([CLS] unless pool_all); CKPT_POOL_CLS / _MEAN */
    int quiet;
} ft_config;

/* Defaults: lr 5e-5, wd 5e-6, 3 epochs, batch 32, max_len 128, warmup 0.06, alpha_f 0,
 * no clipping, evaluation at epoch ends, no early stopping, seed 17, cpu, accuracy. */
void ft_config_default(ft_config *c);

/* The settings a GLUE recipe gives (task.h): lr, wd and optimizer (when it has an lr),
 * mean pooling, epochs, batch, evaluation interval and its seed number seed_index —
 * except those that keep marks (the user gave them; keep may be NULL). */
typedef struct {
    int lr, wd, optimizer, pooling, epochs, batch, eval_every, seed;
} ft_recipe_keep;
void ft_config_from_recipe(ft_config *c, const glue_recipe *r, int seed_index, const ft_recipe_keep *keep);

typedef struct {
    double best_metric; /* of the best evaluation */
    int64_t best_step;
    int evaluations;
    int64_t steps;
} ft_result;

/* Trains on `train`, evaluates on `dev`. 0 on success; -1 + err naming the input,
 * file or option at fault (nothing half-written: best/, last/ and predictions.tsv are
 * replaced atomically), or after SIGINT/SIGTERM stopped it (last/ written). */
int finetune_run(const ft_config *c, const ft_split *train, const ft_split *dev, ft_result *out);

/* Evaluates the classifier in model_dir (e.g. out_dir/best) on s with c's device,
 * max_len, batch_size and num_labels: out[i] = metric kinds[i]. -1 + err on failure. */
/* The classifier of m (m's num_labels) on s with c's max_len, chunk_stride and batch_size:
 * out (s->n, num_labels) = each example's logits, the mean over its rows when chunked.
 * -1 + err naming the example ("input example N") that cannot be encoded. */
struct model;
struct tokenizer;
int finetune_logits(struct model *m, struct tokenizer *tok, const ft_config *c, const ft_split *s, double *out);

/* A split pointing into d's examples (its first max_n), arrays owned by the split. */
ft_split ft_split_of_task(const task_data *d, int max_n);
void ft_split_free(ft_split *s);

int finetune_evaluate(const ft_config *c, const char *model_dir, const ft_split *s, const metric_kind *kinds, int n,
                      double *out);

#endif
