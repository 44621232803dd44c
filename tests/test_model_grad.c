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
#include "model_check.h"
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

/* The model of c (NULL + err on failure) and a random batch of 3 unpadded sequences of
 * 9, 5 and 2 tokens with class labels and regression targets. */
static model *tiny_model_batch(const model_config *c, model_task task, uint64_t seed, batch_buf *bb) {
    static const int lens[3] = {9, 5, 2};
    static const int32_t labels[3] = {2, 0, 1};
    static const float targets[3] = {0.5f, -1.0f, 2.0f};
    model_opts mo = {.mlm_head = task == TASK_MLM, .max_tokens = 32, .max_seqs = 4, .seed = seed};
    model *m = model_create(c, ops_cpu(), &mo);
    if (!m) return NULL;
    random_padded_batch(bb, c->vocab_size, 9, lens, 0);
    bb->b.labels = labels;
    bb->b.targets = targets;
    return m;
}

static void check_model_pool(model_arch arch, int heads, model_task task, int num_labels, int train, int mean) {
    model_config c;
    tiny_config(&c, arch, heads, num_labels);
    c.pool_mean = mean;
    batch_buf bb;
    model *m = tiny_model_batch(&c, task, 1234, &bb);
    REQUIRE(m != NULL);
    check_param_grads(m, &bb.b, task, train, 0, config_arch_name(arch));
    batch_free(&bb);
    model_free(m);
}

static void check_model(model_arch arch, int heads, model_task task, int num_labels, int train) {
    check_model_pool(arch, heads, task, num_labels, train, 0);
}

TEST(model_grad_bert_mlm) { check_model(ARCH_BERT, 4, TASK_MLM, 0, 0); }
TEST(model_grad_mosaic_mlm_alibi_3_heads) { check_model(ARCH_MOSAIC, 3, TASK_MLM, 0, 0); }
TEST(model_grad_mosaic_mlm_with_dropout) { check_model(ARCH_MOSAIC, 4, TASK_MLM, 0, 1); }
TEST(model_grad_bert_mlm_with_dropout) { check_model(ARCH_BERT, 2, TASK_MLM, 0, 1); }
TEST(model_grad_bert_classify) { check_model(ARCH_BERT, 4, TASK_CLASSIFY, 3, 0); }
TEST(model_grad_mosaic_regression) { check_model(ARCH_MOSAIC, 4, TASK_CLASSIFY, 1, 0); }
/* mean pooling over unpadded sequences of 9, 5 and 2 tokens */
TEST(model_grad_bert_classify_mean_pool) { check_model_pool(ARCH_BERT, 4, TASK_CLASSIFY, 3, 1, 1); }
TEST(model_grad_mosaic_classify_mean_pool) { check_model_pool(ARCH_MOSAIC, 4, TASK_CLASSIFY, 2, 0, 1); }

/* Mean pooling reads only each sequence's own tokens: the loss of a batch of three is the
 * mean of the three losses alone, and differs from [CLS] pooling's. */
TEST(model_mean_pool_is_per_sequence) {
    for (int arch = 0; arch < 2; arch++) {
        model_config c;
        tiny_config(&c, arch ? ARCH_MOSAIC : ARCH_BERT, 4, 3);
        double loss[2];
        for (int mean = 0; mean < 2; mean++) {
            c.pool_mean = mean;
            batch_buf bb;
            model *m = tiny_model_batch(&c, TASK_CLASSIFY, 99, &bb);
            REQUIRE(m != NULL);
            loss[mean] = model_forward(m, &bb.b, TASK_CLASSIFY, 0, 0);
            double alone = 0;
            for (int k = 0; k < 3; k++) {
                int t0 = bb.b.cu_seqlens[k], n = bb.b.cu_seqlens[k + 1] - t0;
                int32_t cu1[2] = {0, n};
                model_batch one = {.B = 1, .T = n, .max_seqlen = n, .ids = bb.b.ids + t0, .types = bb.b.types + t0,
                                   .pos = bb.b.pos + t0, .cu_seqlens = cu1, .labels = bb.b.labels + k};
                alone += model_forward(m, &one, TASK_CLASSIFY, 0, 0) / 3.0;
            }
            EXPECT_MSG(fabs(alone - loss[mean]) <= 1e-5, "%s pool %s: batch %.7f vs alone %.7f", config_arch_name(c.arch),
                       mean ? "mean" : "cls", loss[mean], alone);
            batch_free(&bb);
            model_free(m);
        }
        EXPECT(fabs(loss[0] - loss[1]) > 1e-4);
    }
}
