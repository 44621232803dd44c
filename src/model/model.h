/* model.h — BERT and MosaicBERT, forward and backward, written once over ops.h.
 *
 * The model works on unpadded tokens: a batch is T real tokens of B sequences
 * (cu_seqlens), every dense op runs on T rows, attention stays within each
 * sequence, and the MLM head runs only on the M masked rows.
 */
#ifndef BERTC_MODEL_H
#define BERTC_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "../backend/ops.h"
#include "config.h"
#include "params.h"

/* A batch in host memory. */
typedef struct {
    int B, T, max_seqlen;            /* sequences, real tokens, longest sequence */
    const int32_t *ids, *types, *pos; /* (T,) token ids, token types, positions within the sequence */
    const int32_t *cu_seqlens;       /* (B+1,) sequence b = rows cu_seqlens[b] … cu_seqlens[b+1]−1 */
    int M;                           /* MLM rows */
    const int32_t *mlm_rows;         /* (M,) row numbers in [0, T) */
    const int32_t *mlm_targets;      /* (M,) target ids */
    const int32_t *labels;           /* (B,) class ids (classification) */
    const float *targets;            /* (B,) regression targets (num_labels == 1) */
    const int32_t *attn_mask;        /* (T,) M2 hook: 1 = real token, for mean pooling (NULL: all tokens) */
} model_batch;

/* TASK_ENCODE: the encoder alone (model_hidden), no head, no loss (returns 0). */
typedef enum { TASK_MLM, TASK_CLASSIFY, TASK_ENCODE } model_task;

typedef struct model model;

typedef struct {
    int mlm_head;             /* add the MLM head (cfg->num_labels > 0 adds pooler + classifier) */
    int max_tokens, max_seqs; /* largest batch: tokens and sequences */
    int inference;            /* forward only: no gradients, no backward buffers, and one layer's
                                 activations reused by every layer */
    uint64_t seed;            /* initialisation and dropout */
} model_opts;

/* Allocates parameters (initialised from seed), gradients and activations.
 * NULL + err on failure. */
model *model_create(const model_config *cfg, const ops *o, const model_opts *opts);
void model_free(model *m);

const model_config *model_cfg(const model *m);
const ops *model_ops(const model *m);
const param_table *model_params(const model *m);
float *model_param_data(model *m); /* backend memory, params table layout */
float *model_grad_data(model *m);
/* Call after writing the parameters (optimizer step, loading): the backend refreshes
 * whatever it derives from them (the bf16 copy of the CUDA bf16 backend). */
void model_params_changed(model *m);

/* Forward pass; returns the mean loss (MLM: over the M rows; classification: over
 * the B sequences, cross-entropy, or MSE when num_labels == 1). `train` turns
 * dropout on, drawn with `step`. */
float model_forward(model *m, const model_batch *b, model_task task, int train, uint32_t step);
/* Backward of the last forward: ACCUMULATES into the gradients (model_zero_grad first). */
void model_backward(model *m, const model_batch *b, model_task task);
void model_zero_grad(model *m);

/* M2 hook: the model's M2 state (src/model/m2.h), NULL for other architectures. */
struct m2_ctx *model_m2(model *m);

/* After a forward: logits of the MLM rows (M, V) or the classifier (B, num_labels),
 * and the final hidden states (T, C) — backend memory, activations (ops act_download). */
const void *model_logits(const model *m, model_task task);
const void *model_hidden(const model *m);

#endif
