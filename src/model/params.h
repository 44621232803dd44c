/* params.h — the parameter table: every trainable tensor as {name, shape, init},
 * laid out back to back in ONE allocation (and the gradients in another of the
 * same layout). Names are the Hugging Face state-dict names of the reference
 * checkpoints, so import/export is a walk over this table.
 *
 * Order matters in one place: BERT's query/key/value weights are adjacent, and so
 * are their biases, so the three together are one [3C, C] matrix (and a [3C]
 * bias) — the same fused QKV the MosaicBERT layout has; one attention code path
 * serves both. */
#ifndef BERTC_PARAMS_H
#define BERTC_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

typedef enum {
    INIT_NORMAL,    /* N(0, initializer_range) */
    INIT_EMBEDDING, /* N(0, initializer_range), pad_token_id row zero (HF padding_idx) */
    INIT_ZEROS,
    INIT_ONES,
    /* M2 hook (m2.c): */
    INIT_CONST,      /* every element = init_value (Hyena freq) */
    INIT_UNIFORM,    /* U(−init_value, init_value) */
    INIT_NORMAL_STD, /* N(0, init_value) (the D skip weights: randn) */
    INIT_M2_Z,       /* the Hyena positional features (m2_init_z) */
} param_init;

typedef struct {
    char name[96];
    int ndim;         /* 1 … 4 */
    int64_t shape[4]; /* dims past ndim are 0 */
    size_t offset; /* in floats, from the start of the block */
    size_t numel;
    param_init init;
    float init_value; /* INIT_CONST value, INIT_UNIFORM bound, INIT_NORMAL_STD std */
} param_desc;

typedef struct {
    param_desc *p; /* (n,) in layout order */
    int n, cap;
    size_t total;  /* floats */
} param_table;

/* Builds the table of an architecture: encoder, plus the MLM head when mlm_head,
 * plus pooler + classifier when c->num_labels > 0. */
void params_build(param_table *t, const model_config *c, int mlm_head);
void params_free(param_table *t);
/* Appends one tensor of any rank (1 … 4) — used by m2_params_add. */
void params_add(param_table *t, param_init init, float init_value, int ndim, const int64_t *shape, const char *name);
/* Index of a parameter by exact name, or -1. */
int params_find(const param_table *t, const char *name);
/* Initialises host memory data (t->total floats) per each entry's rule, from the counter
 * RNG: parameter k draws from stream RNG_STREAM_INIT | k. */
void params_init(const param_table *t, float *data, const model_config *c, uint64_t seed);

#endif
