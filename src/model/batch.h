/* batch.h — padded [B, S] inputs (the Hugging Face form) → the unpadded batch the
 * model runs on. Used by inference commands and the reference-parity tests. */
#ifndef BERTC_BATCH_H
#define BERTC_BATCH_H

#include <stdint.h>

#include "model.h"

/* Owns the arrays a model_batch points into. */
typedef struct {
    model_batch b;
    int32_t *ids, *types, *pos, *cu, *rows, *targets; /* (T,) ×3, (B+1,), (M,) ×2 */
    int32_t *flat;                                     /* (T,) flat b·S + s position of each real token */
    int32_t *mask;                                     /* (T,) keep_pads only: the attention mask */
} batch_buf;

/* Real tokens are those with attention_mask 1; they must come first in each row
 * (right padding). labels (may be NULL): positions with labels[b,s] > min_label become
 * MLM rows — min_label 0 is MosaicBERT's `labels > 0`, −1 is HF BERT's `labels != −100`.
 * token_types may be NULL (zeros). Returns -1 + err on inconsistent input. */
int batch_from_padded(batch_buf *bb, int B, int S, const int32_t *input_ids, const int32_t *token_types,
                      const int32_t *attention_mask, const int32_t *labels, int32_t min_label);
/* M2 hook: the same with every position a token (pads included): B rows of exactly
 * S tokens, as M2-BERT runs them (m2bert.md §1.6). attention_mask (may be NULL: all
 * real) only goes to b.attn_mask, for mean pooling. */
int batch_from_padded_keep_pads(batch_buf *bb, int B, int S, const int32_t *input_ids, const int32_t *token_types,
                                const int32_t *attention_mask, const int32_t *labels, int32_t min_label);
/* B rows of token ids (row k: its first lens[k] ids real, types[k] may be NULL for
 * zeros) padded with pad to S ≥ every lens[k], then as batch_from_padded — or, with
 * keep_pads, batch_from_padded_keep_pads (M2: rows of exactly S tokens). */
int batch_from_rows(batch_buf *bb, int B, int S, const uint32_t *const *ids, const uint8_t *const *types,
                    const int *lens, int32_t pad, int keep_pads);
/* Makes every real token an MLM row (targets = the input ids): logits at every position. */
void batch_all_rows(batch_buf *bb);
void batch_free(batch_buf *bb);

#endif
