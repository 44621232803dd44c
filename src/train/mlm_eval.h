/* mlm_eval.h — masked-language-model evaluation over a loader, shared by the
 * trainer's periodic evaluation and `bertc eval`: mean MLM loss over the masked
 * rows, masked-token accuracy (argmax), and the unigram baseline (always answering
 * the most frequent target of the same rows). */
#ifndef BERTC_MLM_EVAL_H
#define BERTC_MLM_EVAL_H

#include <stdint.h>

#include "../data/loader.h"
#include "../model/batch.h"
#include "../model/model.h"

typedef struct {
    double loss, accuracy, unigram_accuracy;
    uint64_t rows; /* masked tokens evaluated */
} mlm_eval_result;

/* The batch the model takes for a loader batch: the loader's own, except for M2-BERT,
 * whose rows are re-padded to exactly seq_len tokens with pad_id (m2bert.md §1.6) into
 * rows (reused across calls; batch_free it at the end). */
const model_batch *mlm_model_batch(const model *m, const loader_batch *lb, int seq_len, int32_t pad_id,
                                   batch_buf *rows);

/* Rewinds val and evaluates up to max_batches batches. 0 on success, 1 when there was
 * nothing to evaluate (no masked rows), -1 + err on a loader error. */
int mlm_eval(model *m, loader *val, int max_batches, int seq_len, int32_t pad_id, batch_buf *rows,
             mlm_eval_result *out);

#endif
