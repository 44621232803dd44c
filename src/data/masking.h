/* masking.h — dynamic MLM masking (Hugging Face DataCollatorForLanguageModeling
 * semantics, spec mosaicbert.md §6).
 *
 * Each maskable token (not one of the special ids) is selected independently
 * with probability `ratio` — a Bernoulli draw per token, as HF does with
 * torch.bernoulli, not an exact count per sequence: the recipe's numbers were
 * obtained that way, and per-token independence keeps the draw for a token a
 * function of (seed, step, sequence, position) only. A short sequence may thus
 * get no masked token. Of the selected tokens: p_mask (0.8) → mask_id, p_random
 * (0.1) → an id uniform in [0, n_random) (n_random = the tokenizer's vocabulary
 * size, never the model's padding rows; like HF it may be a special id), the rest
 * unchanged. Every selected token becomes an MLM row with its original id as target.
 *
 * Randomness: token i of sequence `seq` uses Philox block (seq << 20 | i) of key
 * (seed, RNG_STREAM_MASK | stream, step): lane 0 selects, lane 1 picks
 * mask/random/keep, lane 2 the random id — so a sequence's masks depend only on
 * (seed, stream, step, seq), never on the batch it lands in or the thread. */
#ifndef BERTC_MASKING_H
#define BERTC_MASKING_H

#include <stdint.h>

#define MASK_MAX_SPECIAL 8
#define MASK_MAX_SEQLEN (1 << 20) /* positions per sequence the key layout allows */

typedef struct {
    float ratio;            /* selection probability (0.30 train, 0.15 eval) */
    float p_mask, p_random; /* of the selected: → mask_id, → random id (rest unchanged) */
    int32_t mask_id;
    uint32_t n_random;      /* random ids drawn from [0, n_random) */
    int32_t special[MASK_MAX_SPECIAL]; /* ids never selected ([CLS] [SEP] [PAD] …) */
    int n_special;
    uint64_t seed;
    uint32_t stream;        /* low 24 bits of the RNG stream (train 0, eval 1) */
} mask_config;

/* ratio 0.30, 80/10/10, stream 0; the caller sets mask_id, n_random, specials, seed. */
void mask_config_default(mask_config *c);
/* Checks ranges (0 ≤ ratio ≤ 1, p_mask + p_random ≤ 1, n_random > 0, mask_id ≥ 0);
 * -1 + err naming the field. */
int mask_config_check(const mask_config *c);
int mask_is_special(const mask_config *c, int32_t id);

/* Masks one sequence in place: ids (n,), n ≤ MASK_MAX_SEQLEN. For every selected
 * position i, appends row (row0 + i) to rows and its original id to targets
 * (both need room for n entries). Returns the number appended. */
int mask_sequence(const mask_config *c, uint32_t step, uint64_t seq, int32_t *ids, int n, int32_t row0,
                  int32_t *rows, int32_t *targets);

#endif
