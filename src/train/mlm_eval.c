/* mlm_eval.c — see mlm_eval.h. */
#include "mlm_eval.h"

#include <stdlib.h>
#include <string.h>

#include "../core/err.h"

const model_batch *mlm_model_batch(const model *m, const loader_batch *lb, int seq_len, int32_t pad_id,
                                   batch_buf *rows) {
    if (model_cfg(m)->arch != ARCH_M2) return &lb->b;
    /* M2-BERT runs on rows of exactly seq_len tokens with the pads in them: re-pad a
     * loader batch (pad mode: one sequence per row) */
    const model_batch *b = &lb->b;
    int B = b->B, S = seq_len;
    size_t n = (size_t)B * S;
    int32_t *ids = xmalloc(n * sizeof *ids), *mask = xcalloc(n, sizeof *mask), *labels = xmalloc(n * sizeof *labels);
    for (size_t i = 0; i < n; i++) { labels[i] = -100; ids[i] = pad_id; }
    for (int s = 0; s < B; s++)
        for (int t = b->cu_seqlens[s]; t < b->cu_seqlens[s + 1]; t++) {
            size_t at = (size_t)s * S + (size_t)(t - b->cu_seqlens[s]);
            ids[at] = b->ids[t];
            mask[at] = 1;
        }
    for (int k = 0; k < b->M; k++) { /* row t of sequence s sits at s·S + (t − cu[s]) */
        int t = b->mlm_rows[k], s = 0;
        while (b->cu_seqlens[s + 1] <= t) s++;
        labels[(size_t)s * S + (size_t)(t - b->cu_seqlens[s])] = b->mlm_targets[k];
    }
    batch_free(rows);
    CHECK(batch_from_padded_keep_pads(rows, B, S, ids, NULL, mask, labels, 0) == 0, "loader rows re-pad");
    free(ids);
    free(mask);
    free(labels);
    return &rows->b;
}

int mlm_eval(model *m, loader *val, int max_batches, int seq_len, int32_t pad_id, batch_buf *rows,
             mlm_eval_result *out) {
    loader_pos zero = {0, 0};
    if (loader_state_set(val, zero) != 0) return -1;
    const model_config *mc = model_cfg(m);
    double loss_sum = 0;
    uint64_t n_rows = 0, correct = 0;
    const ops *o = model_ops(m);
    int32_t *pred = NULL, *d_pred = NULL; /* (cap,) the argmax of each masked row, host and device */
    int cap = 0;
    uint64_t *freq = xcalloc((size_t)mc->vocab_size, sizeof *freq); /* target counts: the unigram baseline */
    int rc = 0;
    for (int b = 0; b < max_batches; b++) {
        const loader_batch *lb;
        int got = loader_next(val, &lb);
        if (got < 0) { rc = -1; break; }
        if (got == 0) break;
        if (lb->b.M == 0) continue;
        const model_batch *mb = mlm_model_batch(m, lb, seq_len, pad_id, rows);
        float loss = model_forward(m, mb, TASK_MLM, 0, 0);
        if (mb->M > cap) {
            if (d_pred) o->free(d_pred);
            cap = mb->M;
            d_pred = o->alloc((size_t)cap * sizeof *d_pred);
            pred = xrealloc(pred, (size_t)cap * sizeof *pred);
        }
        o->argmax_rows(d_pred, model_logits(m, TASK_MLM), mb->M, mc->vocab_size);
        o->download(pred, d_pred, (size_t)mb->M * sizeof *pred);
        for (int i = 0; i < mb->M; i++) {
            freq[mb->mlm_targets[i]]++;
            correct += pred[i] == mb->mlm_targets[i];
        }
        loss_sum += (double)loss * mb->M;
        n_rows += (uint64_t)mb->M;
    }
    uint64_t top = 0;
    for (int v = 0; v < mc->vocab_size; v++) top = freq[v] > top ? freq[v] : top;
    free(freq);
    free(pred);
    if (d_pred) o->free(d_pred);
    if (rc != 0) return rc;
    if (!n_rows) return 1;
    out->loss = loss_sum / (double)n_rows;
    out->accuracy = (double)correct / (double)n_rows;
    out->unigram_accuracy = (double)top / (double)n_rows;
    out->rows = n_rows;
    return 0;
}
