/* test_params.c — parameter tables against the parameter counts of the reference models. */
#include <math.h>
#include <stdlib.h>

#include "../src/core/err.h"
#include "../src/model/params.h"
#include "test.h"

static size_t count(const param_table *t) {
    size_t n = 0;
    for (int i = 0; i < t->n; i++) n += t->p[i].numel;
    return n;
}

TEST(params_counts_match_the_references) {
    model_config c;
    param_table t;
    /* mosaicbert.md §2: 137,400,384 unique parameters for the MosaicBERT-base MLM model */
    config_default(&c, ARCH_MOSAIC);
    params_build(&t, &c, 1);
    EXPECT_EQ_INT(count(&t), 137400384);
    EXPECT(params_find(&t, "bert.encoder.layer.11.mlp.gated_layers.weight") >= 0);
    EXPECT(params_find(&t, "bert.encoder.layer.11.mlp.gated_layers.bias") < 0);
    EXPECT(params_find(&t, "cls.predictions.decoder.bias") >= 0);
    params_free(&t);
    /* mosaicbert.md §11: transformers 5.17 BertForMaskedLM(BertConfig()) has 109,514,298 */
    config_default(&c, ARCH_BERT);
    params_build(&t, &c, 1);
    EXPECT_EQ_INT(count(&t), 109514298);
    params_free(&t);
    /* BertModel with pooler: 109,482,240 (mosaicbert.md §11); we add a 3-way classifier */
    c.num_labels = 3;
    params_build(&t, &c, 0);
    EXPECT_EQ_INT(count(&t), 109482240 + 3 * 768 + 3);
    params_free(&t);
}

TEST(params_bert_qkv_are_one_matrix) {
    model_config c;
    config_default(&c, ARCH_BERT);
    param_table t;
    params_build(&t, &c, 1);
    int q = params_find(&t, "bert.encoder.layer.3.attention.self.query.weight");
    int k = params_find(&t, "bert.encoder.layer.3.attention.self.key.weight");
    int v = params_find(&t, "bert.encoder.layer.3.attention.self.value.weight");
    int qb = params_find(&t, "bert.encoder.layer.3.attention.self.query.bias");
    int vb = params_find(&t, "bert.encoder.layer.3.attention.self.value.bias");
    REQUIRE(q >= 0 && k >= 0 && v >= 0 && qb >= 0 && vb >= 0);
    EXPECT_EQ_INT(t.p[k].offset, t.p[q].offset + 768 * 768);
    EXPECT_EQ_INT(t.p[v].offset, t.p[k].offset + 768 * 768);
    EXPECT_EQ_INT(t.p[vb].offset, t.p[qb].offset + 2 * 768);
    for (int i = 0; i < t.n; i++) EXPECT_EQ_INT(t.p[i].offset % 16, 0);
    params_free(&t);
}

TEST(params_init_rules) {
    model_config c;
    config_default(&c, ARCH_MOSAIC);
    c.vocab_size = 128; c.hidden = 32; c.layers = 1; c.heads = 4; c.intermediate = 64;
    param_table t;
    params_build(&t, &c, 1);
    float *w = xcalloc(t.total, sizeof *w);
    params_init(&t, w, &c, 7);
    const param_desc *e = &t.p[params_find(&t, "bert.embeddings.word_embeddings.weight")];
    for (int j = 0; j < 32; j++) EXPECT(w[e->offset + j] == 0.0f); /* pad row */
    double s2 = 0;
    for (size_t j = 32; j < e->numel; j++) s2 += (double)w[e->offset + j] * w[e->offset + j];
    double sd = sqrt(s2 / (double)(e->numel - 32));
    EXPECT_MSG(fabs(sd - 0.02) < 0.002, "std %g", sd);
    const param_desc *g = &t.p[params_find(&t, "bert.embeddings.LayerNorm.weight")];
    const param_desc *b = &t.p[params_find(&t, "bert.encoder.layer.0.mlp.wo.bias")];
    EXPECT(w[g->offset] == 1.0f && w[g->offset + 31] == 1.0f);
    EXPECT(w[b->offset] == 0.0f);
    free(w);
    params_free(&t);
}
