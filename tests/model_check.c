/* model_check.c — see model_check.h. */
#include "model_check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/err.h"
#include "../src/core/rng.h"
#include "test.h"

void random_padded_batch(batch_buf *bb, int V, int S, const int lens[3], int keep_pads) {
    enum { B = 3 };
    int32_t *ids = xmalloc((size_t)B * S * sizeof *ids), *types = xmalloc((size_t)B * S * sizeof *types);
    int32_t *mask = xmalloc((size_t)B * S * sizeof *mask), *labels = xmalloc((size_t)B * S * sizeof *labels);
    rng_key k = {.seed = 99, .stream = RNG_STREAM_FIXTURE};
    for (int i = 0; i < B * S; i++) {
        int b = i / S, s = i % S, real = s < lens[b];
        mask[i] = real;
        ids[i] = real ? 1 + (int32_t)(rng_u32(k, (uint64_t)i) % (uint32_t)(V - 1)) : 0;
        types[i] = real && s >= lens[b] / 2;
        labels[i] = real && (rng_u32(k, 1000u + (uint64_t)i) % 3 == 0)
                        ? 1 + (int32_t)(rng_u32(k, 2000u + (uint64_t)i) % (uint32_t)(V - 1)) : -100;
    }
    labels[0] = 5;
    labels[S + 3] = 7;
    int rc = keep_pads ? batch_from_padded_keep_pads(bb, B, S, ids, types, mask, labels, 0)
                       : batch_from_padded(bb, B, S, ids, types, mask, labels, 0);
    CHECK(rc == 0, err_msg());
    free(ids);
    free(types);
    free(mask);
    free(labels);
}

int check_param_grads(model *m, const model_batch *b, model_task task, int train, int skip_pad_row, const char *label) {
    const param_table *pt = model_params(m);
    float *w = model_param_data(m), *g = model_grad_data(m); /* CPU backend: host memory */
    size_t C = (size_t)model_cfg(m)->hidden;
    model_zero_grad(m);
    model_forward(m, b, task, train, 3);
    model_backward(m, b, task);
    int bad = 0, tested = 0;
    for (int i = 0; i < pt->n; i++) {
        const param_desc *p = &pt->p[i];
        rng_key k = {.seed = 5, .stream = RNG_STREAM_FIXTURE | (uint32_t)i};
        double analytic = 0, scale = 0;
        float *r = xmalloc(p->numel * sizeof *r);
        size_t skip = skip_pad_row && strstr(p->name, "word_embeddings") ? C : 0; /* row 0 = [PAD] */
        for (size_t j = 0; j < p->numel; j++) {
            r[j] = j < skip ? 0.0f : rng_uniform(k, j) - 0.5f;
            analytic += (double)g[p->offset + j] * r[j];
            scale += fabs((double)g[p->offset + j] * r[j]);
        }
        float *saved = xmalloc(p->numel * sizeof *saved);
        memcpy(saved, w + p->offset, p->numel * sizeof *saved);
        const double h = 1e-2; /* fp32 forward: smaller steps drown in rounding (loss ulp / 2h) */
        for (size_t j = 0; j < p->numel; j++) w[p->offset + j] = saved[j] + (float)h * r[j];
        double lp = model_forward(m, b, task, train, 3);
        for (size_t j = 0; j < p->numel; j++) w[p->offset + j] = saved[j] - (float)h * r[j];
        double lm = model_forward(m, b, task, train, 3);
        memcpy(w + p->offset, saved, p->numel * sizeof *saved);
        double numeric = (lp - lm) / (2 * h);
        double tol = getenv("GRAD_STRICT") ? 0 : 2e-2 * scale + 1e-4;
        if (fabs(numeric - analytic) > tol) {
            bad++;
            EXPECT_MSG(0, "%s %s: numeric %.6g analytic %.6g (tol %.2g)", label, p->name, numeric, analytic, tol);
        }
        tested += scale > 1e-3;
        free(r);
        free(saved);
    }
    EXPECT_EQ_INT(bad, 0);
    return tested;
}
