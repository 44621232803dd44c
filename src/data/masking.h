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
 * (seed, stream, step, seq), never on the batch it lands in or the thread.
 *
 * Strategies (mask.strategy; spec genemask.md §2–3). `ratio` is the per-token
 * selection probability for random and the *centre* probability for the span
 * strategies (DNABERT 0.025, GeneMask 0.0176):
 *   random       the above (HF; the default, unchanged);
 *   contiguous   DNABERT: centres Bernoulli(ratio) over the maskable positions,
 *                each widened to the k-token span c−⌊(k−1)/2⌋ … c+⌈(k−1)/2⌉
 *                (k = 6: c−2 … c+3), clipped to [first, last maskable position]
 *                (the spec's 1 ≤ c+o ≤ end: position 0 is [CLS]);
 *   genemask     GeneMask (§3.2) ranking by content: in each centre's span the
 *                position q holding the best-ranked k-mer (earlier wins ties;
 *                [UNK] or any non-k-mer id ranks 4^k+1, last); of the m centres the
 *                s = ⌈m/2⌉ best by (rank(q), centre position) — all when s < 5 —
 *                also get the span q−(k−1) … q+(k−1) (11 tokens for k = 6);
 *   genemask-reference  the same with rank(q) = the rank of vocabulary id q (the
 *                position used as an id): a reproduction of the released code's
 *                behaviour, not the paper's intent (§3.3); positions that are not
 *                k-mer ids (1 … 4, ≥ 5 + 4^k) rank ref_unknown_rank (0, the
 *                unpickled defaultdict's answer; 4000 = the intended fallback).
 * The union of the spans (never a special id) is then replaced 80/10/10 as above.
 * Span randomness keeps the layout: lane 0 of block (seq << 20 | c) draws centre
 * c, lanes 1 and 2 of block (seq << 20 | p) replace masked position p. */
#ifndef BERTC_MASKING_H
#define BERTC_MASKING_H

#include <stdint.h>

#define MASK_MAX_SPECIAL 8
#define MASK_MAX_SEQLEN (1 << 20) /* positions per sequence the key layout allows */
#define MASK_MAX_K 6               /* span strategies: k-mers of k = 3 … 6 (DNABERT) */

typedef enum { MASK_RANDOM, MASK_CONTIGUOUS, MASK_GENEMASK, MASK_GENEMASK_REF } mask_strategy;

typedef struct {
    float ratio;            /* selection probability (0.30 train, 0.15 eval) */
    float p_mask, p_random; /* of the selected: → mask_id, → random id (rest unchanged) */
    int32_t mask_id;
    uint32_t n_random;      /* random ids drawn from [0, n_random) */
    int32_t special[MASK_MAX_SPECIAL]; /* ids never selected ([CLS] [SEP] [PAD] …) */
    int n_special;
    uint64_t seed;
    uint32_t stream;        /* low 24 bits of the RNG stream (train 0, eval 1) */
    /* span strategies */
    mask_strategy strategy;
    int kmer;               /* k: span widths (6) */
    const int32_t *rank;    /* genemask: (4^k,) NPMI rank (1 = best) by k-mer index; not owned */
    int32_t first_kmer_id;  /* vocabulary id of k-mer index 0 (5, DNABERT) */
    int32_t ref_unknown_rank; /* genemask-reference: rank of positions that are no k-mer id (0) */
} mask_config;

/* "random" | "contiguous" | "genemask" | "genemask-reference" → *out; -1 + err otherwise. */
int mask_strategy_parse(const char *name, mask_strategy *out);
const char *mask_strategy_name(mask_strategy s);

/* ratio 0.30, 80/10/10, stream 0, random (k 6, first k-mer id 5, unknown rank 0);
 * the caller sets mask_id, n_random, specials, seed. */
void mask_config_default(mask_config *c);
/* Checks ranges (0 ≤ ratio ≤ 1, p_mask + p_random ≤ 1, n_random > 0, mask_id ≥ 0;
 * span strategies: 3 ≤ k ≤ 6, genemask: a rank table, 0 ≤ ref_unknown_rank ≤ 4^k+1);
 * -1 + err naming the field. */
int mask_config_check(const mask_config *c);
int mask_is_special(const mask_config *c, int32_t id);

/* Masks one sequence in place: ids (n,), n ≤ MASK_MAX_SEQLEN. For every selected
 * position i, in ascending order, appends row (row0 + i) to rows and its original
 * id to targets (both need room for n entries; the span strategies use them as
 * scratch). Returns the number appended. */
int mask_sequence(const mask_config *c, uint32_t step, uint64_t seq, int32_t *ids, int n, int32_t row0,
                  int32_t *rows, int32_t *targets);

#endif
