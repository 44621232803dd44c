/* config.c — defaults and validation of model_config. */
#include "config.h"

#include "../core/err.h"

void config_default(model_config *c, model_arch arch) {
    *c = (model_config){
        .arch = arch,
        .vocab_size = arch == ARCH_BERT ? 30522 : 30528,
        .hidden = 768,
        .layers = 12,
        .heads = 12,
        .intermediate = 3072,
        .max_position = arch == ARCH_M2 ? 128 : 512,
        .type_vocab = 2,
        .layer_norm_eps = 1e-12,
        .hidden_dropout = 0.1,
        .attn_dropout = arch == ARCH_BERT ? 0.1 : 0.0,
        .classifier_dropout = -1.0,
        .initializer_range = 0.02,
        .pad_token_id = 0,
        .num_labels = 0,
        .alibi_starting_size = 512,
        /* M2 (m2bert.md §2.1, the released checkpoints' settings) */
        .m2_l_max = 128,
        .m2_filter_order = 128,
        .m2_emb_dim = 5,
        .m2_w = 10.0,
        .m2_w_mod = 1.0,
        .m2_nblocks = 4,
        .m2_pre_ln = 0,
        .pool_mean = 0,
    };
}

const char *config_arch_name(model_arch a) {
    return a == ARCH_MOSAIC ? "mosaicbert" : a == ARCH_M2 ? "m2bert" : "bert";
}

int config_validate(const model_config *c) {
    if (c->vocab_size <= 0 || c->hidden <= 0 || c->layers <= 0 || c->heads <= 0 || c->intermediate <= 0 ||
        c->type_vocab <= 0)
        return err_set("model config: sizes must be positive (vocab %d, hidden %d, layers %d, heads %d, "
                       "intermediate %d, type_vocab %d)", c->vocab_size, c->hidden, c->layers, c->heads,
                       c->intermediate, c->type_vocab);
    if (c->hidden % c->heads != 0)
        return err_set("model config: hidden_size %d is not divisible by num_attention_heads %d", c->hidden, c->heads);
    if (c->arch != ARCH_MOSAIC && c->max_position <= 0)
        return err_set("model config: max_position_embeddings must be positive for BERT and M2-BERT");
    if (c->arch == ARCH_M2) { /* M2 hook: block-diagonal widths and filter sizes */
        int nb = c->m2_nblocks;
        if (nb <= 0 || c->hidden % nb || c->intermediate % nb)
            return err_set("model config: hidden_size %d and intermediate_size %d must be divisible by "
                           "monarch_mlp_nblocks %d", c->hidden, c->intermediate, nb);
        if (c->m2_l_max <= 0 || c->m2_filter_order <= 0 || c->m2_emb_dim < 3 || c->m2_emb_dim % 2 == 0)
            return err_set("model config: long_conv_l_max %d and hyena_filter_order %d must be positive and "
                           "hyena_emb_dim %d odd and at least 3", c->m2_l_max, c->m2_filter_order, c->m2_emb_dim);
    }
    if (c->pad_token_id < 0 || c->pad_token_id >= c->vocab_size)
        return err_set("model config: pad_token_id %d outside the vocabulary (%d)", c->pad_token_id, c->vocab_size);
    if (c->num_labels < 0) return err_set("model config: num_labels %d is negative", c->num_labels);
    return 0;
}

int config_max_seq_len(const model_config *c) {
    if (c->arch == ARCH_BERT) return c->max_position;
    if (c->arch == ARCH_M2) return c->m2_l_max < c->max_position ? c->m2_l_max : c->max_position;
    return 0;
}

int config_check_vocab(const model_config *c, const char *dir, size_t tokens, const char *vocab) {
    if (tokens > (size_t)c->vocab_size)
        return err_set("%s has %zu tokens, more than the %d rows of %s's embedding table: not this model's vocabulary",
                       vocab, tokens, c->vocab_size, dir);
    return 0;
}

int config_check_max_len(const model_config *c, const char *dir, const char *what, int max_len) {
    int limit = config_max_seq_len(c);
    if (limit && max_len > limit)
        return err_set("%s %d exceeds %s's %d tokens (%s): give at most %d", what, max_len, dir, limit,
                       c->arch == ARCH_M2 ? "M2: the long convolutions' l_max" : "max_position_embeddings", limit);
    return 0;
}
