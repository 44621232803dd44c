/* batch.c — see batch.h. */
#include "batch.h"

#include <stdlib.h>
#include <string.h>

#include "../core/err.h"

int batch_from_padded(batch_buf *bb, int B, int S, const int32_t *input_ids, const int32_t *token_types,
                      const int32_t *attention_mask, const int32_t *labels, int32_t min_label) {
    memset(bb, 0, sizeof *bb);
    size_t n = (size_t)B * (size_t)S;
    bb->ids = xmalloc(n * sizeof(int32_t));
    bb->types = xmalloc(n * sizeof(int32_t));
    bb->pos = xmalloc(n * sizeof(int32_t));
    bb->flat = xmalloc(n * sizeof(int32_t));
    bb->rows = xmalloc(n * sizeof(int32_t));
    bb->targets = xmalloc(n * sizeof(int32_t));
    bb->cu = xmalloc(((size_t)B + 1) * sizeof(int32_t));
    int T = 0, M = 0, longest = 0;
    bb->cu[0] = 0;
    for (int b = 0; b < B; b++) {
        int len = 0;
        for (int s = 0; s < S; s++) {
            size_t i = (size_t)b * S + s;
            if (!attention_mask[i]) continue;
            if (len != s) {
                batch_free(bb);
                return err_set("batch row %d: a real token at position %d follows padding (right padding only)", b, s);
            }
            bb->ids[T] = input_ids[i];
            bb->types[T] = token_types ? token_types[i] : 0;
            bb->pos[T] = s;
            bb->flat[T] = (int32_t)i;
            if (labels && labels[i] > min_label) {
                bb->rows[M] = T;
                bb->targets[M++] = labels[i];
            }
            T++;
            len++;
        }
        if (len > longest) longest = len;
        bb->cu[b + 1] = T;
    }
    bb->b = (model_batch){.B = B, .T = T, .max_seqlen = longest, .ids = bb->ids, .types = bb->types, .pos = bb->pos,
                          .cu_seqlens = bb->cu, .M = M, .mlm_rows = bb->rows, .mlm_targets = bb->targets};
    return 0;
}

int batch_from_padded_keep_pads(batch_buf *bb, int B, int S, const int32_t *input_ids, const int32_t *token_types,
                                const int32_t *attention_mask, const int32_t *labels, int32_t min_label) {
    size_t n = (size_t)B * (size_t)S;
    int32_t *mask = xmalloc((n ? n : 1) * sizeof *mask); /* (B·S,) */
    for (size_t i = 0; i < n; i++) mask[i] = 1; /* every position is a token */
    int rc = batch_from_padded(bb, B, S, input_ids, token_types, mask, labels, min_label);
    if (rc != 0) { free(mask); return rc; }
    for (size_t i = 0; i < n; i++) mask[i] = attention_mask ? attention_mask[i] != 0 : 1;
    bb->mask = mask;
    bb->b.attn_mask = mask;
    return 0;
}

void batch_all_rows(batch_buf *bb) {
    for (int t = 0; t < bb->b.T; t++) {
        bb->rows[t] = t;
        bb->targets[t] = bb->ids[t];
    }
    bb->b.M = bb->b.T;
}

void batch_free(batch_buf *bb) {
    free(bb->ids);
    free(bb->types);
    free(bb->pos);
    free(bb->flat);
    free(bb->rows);
    free(bb->targets);
    free(bb->cu);
    free(bb->mask);
    memset(bb, 0, sizeof *bb);
}

int batch_from_rows(batch_buf *bb, int B, int S, const uint32_t *const *ids, const uint8_t *const *types,
                    const int *lens, int32_t pad, int keep_pads) {
    size_t n = (size_t)B * (size_t)S;
    int32_t *pid = xmalloc((n ? n : 1) * sizeof *pid), *pty = xmalloc((n ? n : 1) * sizeof *pty);
    int32_t *msk = xmalloc((n ? n : 1) * sizeof *msk); /* (B, S) padded ids, types, attention mask */
    for (int k = 0; k < B; k++)
        for (int t = 0; t < S; t++) {
            int real = t < lens[k];
            pid[(size_t)k * S + t] = real ? (int32_t)ids[k][t] : pad;
            pty[(size_t)k * S + t] = real && types && types[k] ? types[k][t] : 0;
            msk[(size_t)k * S + t] = real;
        }
    int rc = keep_pads ? batch_from_padded_keep_pads(bb, B, S, pid, pty, msk, NULL, 0)
                       : batch_from_padded(bb, B, S, pid, pty, msk, NULL, 0);
    free(pid), free(pty), free(msk);
    return rc;
}
