/* runcfg.h — the pretraining run configuration: `key = value` lines (# comments),
 * then `--set key=value` overrides, checked against a table of known keys (an
 * unknown key or a bad value is an error naming file:line). The resolved
 * configuration is written to the run directory as config.txt. */
#ifndef BERTC_RUNCFG_H
#define BERTC_RUNCFG_H

#include <stdint.h>
#include <stdio.h>

typedef struct {
    /* model */
    char arch[16];          /* mosaicbert | bert | m2 */
    int hidden, layers, heads, intermediate, max_position;
    int vocab_size;         /* 0: the tokenizer's size rounded up to a multiple of 64 */
    double hidden_dropout, attn_dropout;
    /* data */
    char vocab[1024];       /* vocab.txt (default: <train dir>/vocab.txt) */
    char train[1024];       /* shard files / directories / globs, comma-separated */
    char val[1024];         /* held-out shards (optional) */
    int seq_len;            /* 128 */
    char mode[8];           /* pad | pack */
    int chunk_docs;         /* pad mode: split long documents into several rows */
    double mask_ratio, eval_mask_ratio; /* random: per token; span strategies: per centre */
    /* masking strategy (masking.h) */
    char mask_strategy[24]; /* random | contiguous | genemask | genemask-reference */
    int mask_kmer;          /* k of the k-mer tokens: span widths (6) */
    char pmi_ranking[1024]; /* genemask: the k-mer NPMI ranking (bertc pmi) */
    int ref_unknown_rank;   /* genemask-reference: rank of positions 1 … 4 (0; 4000 = the intended fallback) */
    /* optimisation */
    char optimizer[24];     /* decoupled_adamw | adamw */
    double lr, beta1, beta2, eps, weight_decay, clip;
    int no_decay_bias_norm; /* exclude biases and LayerNorm parameters from weight decay */
    char schedule[16];      /* linear | wsd | constant */
    double warmup;          /* fraction of steps when < 1, else a step count */
    double alpha_f;         /* final lr multiplier */
    double decay_fraction;  /* wsd: fraction of steps in the final decay */
    int batch_size;         /* sequences per optimizer step */
    int micro_batch;        /* sequences per forward/backward (gradient accumulation) */
    int steps;
    int stop_after;         /* stop (with a checkpoint) after this many steps in this invocation; 0 = no */
    uint64_t seed;
    char on_nan[8];         /* stop | skip */
    /* feedback and checkpoints */
    int log_every, eval_every, eval_batches, ckpt_every, ckpt_keep;
    int threads;            /* 0: all cores */
    char device[16];        /* cpu | cuda | cuda-fp32 (ops_by_name) */
} runcfg;

void runcfg_default(runcfg *c);
/* Applies one "key = value" (or "key=value"); `where` names the source for errors. */
int runcfg_set(runcfg *c, const char *key, const char *value, const char *where);
/* Reads a config file of key = value lines. */
int runcfg_load(runcfg *c, const char *path);
/* Applies "key=value". */
int runcfg_override(runcfg *c, const char *assignment);
/* Writes every key, resolved, in table order (the run's config.txt). */
void runcfg_write(const runcfg *c, FILE *out);
/* Checks cross-field consistency (micro batch divides batch, etc.). */
int runcfg_validate(const runcfg *c);
/* Prints the keys with their defaults and meaning. */
void runcfg_help(FILE *out);

#endif
