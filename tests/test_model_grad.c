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

static void check_model(model_arch arch, int heads, model_task task, int num_labels, int train) {
    model_config c;
    tiny_config(&c, arch, heads, num_labels);
    model_opts mo = {.mlm_head = task == TASK_MLM, .max_tokens = 32, .max_seqs = 4, .seed = 1234};
    model *m = model_create(&c, ops_cpu(), &mo);
    REQUIRE(m != NULL);
    batch_buf bb;
    static const int lens[3] = {9, 5, 2};
    random_padded_batch(&bb, c.vocab_size, 9, lens, 0);
    int32_t labels[3] = {2, 0, 1};
    float targets[3] = {0.5f, -1.0f, 2.0f};
    bb.b.labels = labels;
    bb.b.targets = targets;
    check_param_grads(m, &bb.b, task, train, 0, config_arch_name(arch));
    batch_free(&bb);
    model_free(m);
}

TEST(model_grad_bert_mlm) { check_model(ARCH_BERT, 4, TASK_MLM, 0, 0); }
TEST(model_grad_mosaic_mlm_alibi_3_heads) { check_model(ARCH_MOSAIC, 3, TASK_MLM, 0, 0); }
TEST(model_grad_mosaic_mlm_with_dropout) { check_model(ARCH_MOSAIC, 4, TASK_MLM, 0, 1); }
TEST(model_grad_bert_mlm_with_dropout) { check_model(ARCH_BERT, 2, TASK_MLM, 0, 1); }
TEST(model_grad_bert_classify) { check_model(ARCH_BERT, 4, TASK_CLASSIFY, 3, 0); }
TEST(model_grad_mosaic_regression) { check_model(ARCH_MOSAIC, 4, TASK_CLASSIFY, 1, 0); }
