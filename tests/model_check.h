/* model_check.h — shared pieces of the whole-model gradient tests. */
#ifndef BERTC_TEST_MODEL_CHECK_H
#define BERTC_TEST_MODEL_CHECK_H

#include "../src/model/batch.h"
#include "../src/model/model.h"

/* A padded [3, S] batch: rows of lengths lens[0..2], random ids in [1, V), token type 1
 * on the second half of each row, MLM labels on about a third of the real positions
 * (always at [0, 0] and [1, 3]). keep_pads: pads stay tokens (M2), else unpadded. */
void random_padded_batch(batch_buf *bb, int V, int S, const int lens[3], int keep_pads);

/* For every parameter tensor: the loss's central difference (step 1e-2, loss summed in
 * double) along a random direction r against ⟨∇L, r⟩, tolerance 2e-2 of Σ|g·r| + 1e-4
 * (GRAD_STRICT=1 reports every comparison). skip_pad_row leaves the word embedding's
 * pad row out of r (pad lookups give it no gradient, as nn.Embedding(padding_idx)).
 * Failures go through EXPECT; returns how many tensors had a gradient large enough
 * (Σ|g·r| > 1e-3) for the check to mean something. */
int check_param_grads(model *m, const model_batch *b, model_task task, int train, int skip_pad_row, const char *label);

#endif
