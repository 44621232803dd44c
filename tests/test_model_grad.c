/* test_model_grad.c — whole-model gradient checks on tiny configs: for every
 * parameter tensor, the directional derivative along a random direction by
 * central differences (loss accumulated in double) against ⟨∇L, r⟩. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/err.h"
#include "../src/core/rng.h"
#include "../src/model/batch.h"
#include "../src/model/model.h"
#include "test.h"

static void tiny_config(model_config *c, model_arch arch, int heads, int num_labels) {
    config_default(c, arch);
    c->vocab_size = 64;
    c->hidden = 24;
    c->layers = 2;
    c->heads = heads;
    c->intermediate = 40;
    c->max_position = 16;
    c->num_labels = num_labels;
}

/* B = 3 sequences of lengths 9, 5, 2 in a padded [3, 9] batch; labels on some positions. */
static void tiny_batch(batch_buf *bb, int V) {
    enum { B = 3, S = 9 };
    int32_t ids[B * S], types[B * S], mask[B * S], labels[B * S];
    int lens[B] = {9, 5, 2};
    rng_key k = {.seed = 99, .stream = RNG_STREAM_FIXTURE};
    for (int i = 0; i < B * S; i++) {
        int b = i / S, s = i % S;
        mask[i] = s < lens[b];
        ids[i] = mask[i] ? 1 + (int32_t)(rng_u32(k, (uint64_t)i) % (uint32_t)(V - 1)) : 0;
        types[i] = mask[i] && s >= lens[b] / 2;
        labels[i] = mask[i] && (rng_u32(k, 1000u + (uint64_t)i) % 3 == 0) ? 1 + (int32_t)(rng_u32(k, 2000u + (uint64_t)i) % (uint32_t)(V - 1)) : -100;
    }
    labels[0] = 5; /* at least one row per sequence start */
    CHECK(batch_from_padded(bb, B, S, ids, types, mask, labels, 0) == 0, err_msg());
}

static void check_model(model_arch arch, int heads, model_task task, int num_labels, int train) {
    model_config c;
    tiny_config(&c, arch, heads, num_labels);
    const ops *o = ops_cpu();
    model_opts mo = {.mlm_head = task == TASK_MLM, .max_tokens = 32, .max_seqs = 4, .seed = 1234};
    model *m = model_create(&c, o, &mo);
    REQUIRE(m != NULL);
    batch_buf bb;
    tiny_batch(&bb, c.vocab_size);
    int32_t labels[3] = {2, 0, 1};
    float targets[3] = {0.5f, -1.0f, 2.0f};
    bb.b.labels = labels;
    bb.b.targets = targets;
    const param_table *pt = model_params(m);
    float *w = model_param_data(m), *g = model_grad_data(m); /* CPU backend: host memory */
    model_zero_grad(m);
    model_forward(m, &bb.b, task, train, 3);
    model_backward(m, &bb.b, task);
    int bad = 0;
    for (int i = 0; i < pt->n; i++) {
        const param_desc *p = &pt->p[i];
        rng_key k = {.seed = 5, .stream = RNG_STREAM_FIXTURE | (uint32_t)i};
        double analytic = 0, scale = 0;
        float *r = xmalloc(p->numel * sizeof *r);
        for (size_t j = 0; j < p->numel; j++) {
            r[j] = rng_uniform(k, j) - 0.5f;
            analytic += (double)g[p->offset + j] * r[j];
            scale += fabs((double)g[p->offset + j] * r[j]);
        }
        float *saved = xmalloc(p->numel * sizeof *saved);
        memcpy(saved, w + p->offset, p->numel * sizeof *saved);
        const double h = 1e-2;
        double lp, lm;
        for (size_t j = 0; j < p->numel; j++) w[p->offset + j] = saved[j] + (float)h * r[j];
        lp = model_forward(m, &bb.b, task, train, 3);
        for (size_t j = 0; j < p->numel; j++) w[p->offset + j] = saved[j] - (float)h * r[j];
        lm = model_forward(m, &bb.b, task, train, 3);
        memcpy(w + p->offset, saved, p->numel * sizeof *saved);
        double numeric = (lp - lm) / (2 * h);
        /* fp32 forward: loss noise ~1e-7 relative, so allow 2e-2 of the gradient's scale plus 1e-4 */
        /* GRAD_STRICT=1 reports every comparison (tolerance 0), for inspection */
        double tol = getenv("GRAD_STRICT") ? 0 : 2e-2 * scale + 1e-4;
        if (fabs(numeric - analytic) > tol) {
            bad++;
            EXPECT_MSG(0, "%s %s: numeric %.6g analytic %.6g (tol %.2g)", config_arch_name(arch), p->name, numeric,
                       analytic, tol);
        }
        free(r);
        free(saved);
    }
    EXPECT_EQ_INT(bad, 0);
    batch_free(&bb);
    model_free(m);
}

TEST(model_grad_bert_mlm) { check_model(ARCH_BERT, 4, TASK_MLM, 0, 0); }
TEST(model_grad_mosaic_mlm_alibi_3_heads) { check_model(ARCH_MOSAIC, 3, TASK_MLM, 0, 0); }
TEST(model_grad_mosaic_mlm_with_dropout) { check_model(ARCH_MOSAIC, 4, TASK_MLM, 0, 1); }
TEST(model_grad_bert_mlm_with_dropout) { check_model(ARCH_BERT, 2, TASK_MLM, 0, 1); }
TEST(model_grad_bert_classify) { check_model(ARCH_BERT, 4, TASK_CLASSIFY, 3, 0); }
TEST(model_grad_mosaic_regression) { check_model(ARCH_MOSAIC, 4, TASK_CLASSIFY, 1, 0); }
