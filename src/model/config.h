/* config.h — architecture hyper-parameters, and their Hugging Face config.json form. */
#ifndef BERTC_CONFIG_H
#define BERTC_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    ARCH_BERT,    /* classic BERT: learned positions, separate Q/K/V, GELU FFN, post-LN (HF compatible) */
    ARCH_MOSAIC,  /* MosaicBERT: ALiBi, fused Wqkv, GLU FFN, no position table */
    ARCH_M2,      /* M2-BERT (Monarch Mixer, m2bert.md): Hyena long convs, block-diagonal GLU, positions */
} model_arch;

typedef struct {
    model_arch arch;
    int vocab_size;        /* V: embedding / decoder rows (tokenizer vocab padded up) */
    int hidden;            /* C */
    int layers;            /* L */
    int heads;             /* nh; head dim = C / nh */
    int intermediate;      /* I: FFN width (GLU: each half) */
    int max_position;      /* BERT position-table rows */
    int type_vocab;        /* token-type rows */
    double layer_norm_eps; /* 1e-12 */
    double hidden_dropout; /* 0.1 */
    double attn_dropout;   /* BERT 0.1, MosaicBERT 0.0 */
    double classifier_dropout; /* < 0: use hidden_dropout (HF: classifier_dropout null) */
    double initializer_range;  /* 0.02 */
    int pad_token_id;      /* 0 */
    int num_labels;        /* sequence-classification head (0: none) */
    int alibi_starting_size; /* MosaicBERT config field, kept for round trips */
    int pool_mean;         /* [pool_all] the classifier pools the mean of each sequence's real
                            * tokens ([CLS] and [SEP] included), not [CLS] (M2's field; any arch) */
    /* ---- M2-BERT only (ARCH_M2; src/model/m2.h; config.json names in brackets) ---- */
    int m2_l_max;          /* [long_conv_l_max] rows of the Hyena positional features z */
    int m2_filter_order;   /* [hyena_filter_order] width of the filter MLP, 128 */
    int m2_emb_dim;        /* [hyena_emb_dim] width of z, 5 */
    double m2_w;           /* [hyena_w] initial sine frequency, 10 */
    double m2_w_mod;       /* [hyena_w_mod] sin(w_mod·freq·x), 1 */
    int m2_nblocks;        /* [monarch_mlp_nblocks] block-diagonal MLP blocks, 4 */
    int m2_pre_ln;         /* [hyena_training_additions] pre-mixer LayerNorm (eps 1e-5) */
} model_config;

/* Fills the defaults of an architecture (base size: C 768, L 12, nh 12, I 3072;
 * V 30522 for BERT and 30528 for MosaicBERT). */
void config_default(model_config *c, model_arch arch);
/* Checks shapes are usable (C divisible by nh, positive sizes); err_set on failure. */
int config_validate(const model_config *c);
const char *config_arch_name(model_arch a);
/* The longest sequence the model takes, specials included: max_position for BERT,
 * min(l_max, max_position) for M2 (its long convolutions are l_max long), 0 for
 * MosaicBERT (ALiBi: no learned positions, no limit). */
int config_max_seq_len(const model_config *c);
/* 0 if rows of max_len tokens fit the model of dir; else −1 + err "WHAT N exceeds dir's L
 * tokens (why)" (what: the option as the user wrote it). */
int config_check_max_len(const model_config *c, const char *dir, const char *what, int max_len);
/* -1 + err when a vocabulary of `tokens` ids (file `vocab`) has ids past the model's embedding
 * rows (a smaller one is fine: tables are padded to a multiple of 64). */
int config_check_vocab(const model_config *c, const char *dir, size_t tokens, const char *vocab);

#endif
