/* config.c — defaults and validation of model_config. */
#include "config.h"

#include "../core/err.h"

void config_default(model_config *c, model_arch arch) {
    *c = (model_config){
        .arch = arch,
        .vocab_size = arch == ARCH_MOSAIC ? 30528 : 30522,
        .hidden = 768,
        .layers = 12,
        .heads = 12,
        .intermediate = 3072,
        .max_position = 512,
        .type_vocab = 2,
        .layer_norm_eps = 1e-12,
        .hidden_dropout = 0.1,
        .attn_dropout = arch == ARCH_MOSAIC ? 0.0 : 0.1,
        .classifier_dropout = -1.0,
        .initializer_range = 0.02,
        .pad_token_id = 0,
        .num_labels = 0,
        .alibi_starting_size = 512,
    };
}

const char *config_arch_name(model_arch a) { return a == ARCH_MOSAIC ? "mosaicbert" : "bert"; }

int config_validate(const model_config *c) {
    if (c->vocab_size <= 0 || c->hidden <= 0 || c->layers <= 0 || c->heads <= 0 || c->intermediate <= 0 ||
        c->type_vocab <= 0)
        return err_set("model config: sizes must be positive (vocab %d, hidden %d, layers %d, heads %d, "
                       "intermediate %d, type_vocab %d)", c->vocab_size, c->hidden, c->layers, c->heads,
                       c->intermediate, c->type_vocab);
    if (c->hidden % c->heads != 0)
        return err_set("model config: hidden_size %d is not divisible by num_attention_heads %d", c->hidden, c->heads);
    if (c->arch == ARCH_BERT && c->max_position <= 0)
        return err_set("model config: max_position_embeddings must be positive for BERT");
    if (c->pad_token_id < 0 || c->pad_token_id >= c->vocab_size)
        return err_set("model config: pad_token_id %d outside the vocabulary (%d)", c->pad_token_id, c->vocab_size);
    if (c->num_labels < 0) return err_set("model config: num_labels %d is negative", c->num_labels);
    return 0;
}
