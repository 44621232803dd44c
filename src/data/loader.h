/* loader.h — token shards → masked, unpadded training batches.
 *
 * Units. The loader sees the shards as one list of documents (in the order of
 * the paths) and cuts them into *sequences* `[CLS] tokens [SEP]` of at most
 * max_len tokens:
 *   - truncate (split_long 0, the reference recipe): one sequence per document,
 *     `[CLS] doc[:max_len−2] [SEP]`; the rest of a long document is dropped;
 *   - split (split_long 1): a document of n tokens gives ceil(n/(max_len−2))
 *     sequences of consecutive chunks (an empty document gives one `[CLS] [SEP]`),
 *     so long books are not thrown away.
 * The default (split_long −1) is truncate in pad mode and split in pack mode.
 *
 * Rows. A batch holds batch_size rows of max_len token slots:
 *   - pad: one sequence per row (the reference: `[CLS] … [SEP] [PAD]*`);
 *   - pack: sequences are put into rows greedily in order (next fit): a row takes
 *     sequences while they fit in max_len tokens. Each sequence keeps its own
 *     [CLS]…[SEP] and its own attention (it is its own entry in cu_seqlens).
 * The model_batch is unpadded either way: T real tokens, B sequences, pos = the
 * position within its sequence, types 0; row_of_seq tells which row a sequence
 * sits in (to re-pad for models that need fixed rows).
 *
 * Order. An epoch visits every sequence once, in the order of a permutation of
 * [0, n_seqs) drawn per epoch (a keyed Feistel bijection with cycle walking over
 * Philox rounds: O(1) memory and O(1) per index at any size, no sequential bias).
 * Training never ends: after the last sequence of epoch e comes the first of
 * e+1, within the same batch if need be. Masks: sequence id s in epoch e is
 * masked with mask_sequence(step = e, seq = s), stream 0 — independent of the
 * batch size, the rank count and of where a run was resumed. The sequences of a
 * batch are masked in parallel (OpenMP), each on its own key, so the thread
 * count changes nothing.
 *
 * Eval (eval 1): no shuffling, one pass (loader_next returns 0 at the end; the
 * last batch may be short), stream 1 and step 0, so every evaluation masks the
 * same tokens; the caller sets mask.ratio (0.15 in the recipe).
 *
 * Resume. The position is (epoch, index of the next sequence in the epoch's
 * order), taken at batch boundaries: loader_state_get after N batches, then
 * loader_state_set on a fresh loader, gives exactly batches N+1, N+2, …
 *
 * Prefetch. With prefetch 1 a thread builds the next batch while the caller
 * works on the current one; loader_close stops and joins it.
 *
 * Data parallel. The global batch is world × batch_size rows; this rank gets
 * rows [rank·batch_size, (rank+1)·batch_size) of it. All ranks advance by the
 * whole global batch, so they stay in step. */
#ifndef BERTC_LOADER_H
#define BERTC_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "../model/model.h"
#include "../text/tokenizer.h"
#include "masking.h"

typedef enum { LOADER_PAD, LOADER_PACK } loader_mode;

typedef struct {
    loader_mode mode;
    int max_len;          /* token slots per row, [CLS] and [SEP] included (128); 3 … MASK_MAX_SEQLEN */
    int batch_size;       /* rows per batch on this rank */
    int split_long;       /* 1 split long documents, 0 truncate, −1 auto (pad: 0, pack: 1) */
    int shuffle;          /* permute sequences per epoch (ignored in eval) */
    int eval;             /* one pass, no shuffling, fixed masks */
    int prefetch;         /* build the next batch in a background thread */
    int threads;          /* masking threads; 0 = OpenMP's default (the prefetch thread does not
                           * inherit the caller's omp_set_num_threads) */
    int rank, world;      /* data parallel (0, 1 alone) */
    uint64_t seed;        /* shuffling; masks use mask.seed */
    int32_t cls_id, sep_id;
    uint32_t vocab_size;  /* the shards must have been made with this vocabulary */
    uint64_t vocab_hash;
    mask_config mask;     /* ratio, ids, seed, strategy of the masking (mask.rank: set by loader_open) */
    const char *pmi_ranking; /* genemask strategies: the ranking file (pmi_rank.h), read by loader_open */
} loader_config;

/* pad mode, max_len 128, batch_size 32, split auto, shuffle, prefetch, world 1,
 * seed 17, mask_config_default (ratio 0.30). Ids and vocabulary: 0 — set them
 * with loader_config_from_tokenizer. */
void loader_config_default(loader_config *c);
/* Takes [CLS] [SEP] [PAD] [MASK], the vocabulary size and hash (vocab_hash_tokens
 * of the tokens in id order) from the tokenizer: specials = {CLS, SEP, PAD},
 * n_random = vocab size (for a k-mer vocab 5 + 4^k: the [unusedN] padding is
 * never drawn). -1 + err if a special token is missing. */
int loader_config_from_tokenizer(loader_config *c, const tokenizer *t);

typedef struct {
    uint64_t epoch;
    uint64_t index; /* next sequence, in [0, n_seqs] (n_seqs = epoch done) */
} loader_pos;

typedef struct {
    model_batch b;       /* unpadded batch; arrays owned by the loader */
    int rows;            /* rows this batch fills (≤ batch_size) */
    const int32_t *row_of_seq; /* (B,) row of each sequence */
    loader_pos start, end;     /* position before / after this (global) batch */
    int64_t pad_slots;   /* rows·max_len − T: what padding to max_len would cost */
} loader_batch;

typedef struct loader loader;

/* Opens every shard (checked against vocab_size/vocab_hash; errors name the
 * file), counts the sequences and, with prefetch, starts the thread.
 * NULL + err on failure (no shards, no documents, bad config). */
loader *loader_open(const loader_config *c, const char *const *paths, int n_paths);
void loader_close(loader *l);

/* 1: *out is the next batch, valid until the next call on l; 0: end of the eval
 * pass; −1 + err on failure. */
int loader_next(loader *l, const loader_batch **out);

/* Position after the last batch loader_next returned (or the one set). */
loader_pos loader_state_get(const loader *l);
/* Continues from p (discards a prefetched batch). −1 + err if p.index > n_seqs. */
int loader_state_set(loader *l, loader_pos p);

uint64_t loader_n_seqs(const loader *l); /* sequences per epoch */
uint64_t loader_n_docs(const loader *l);
/* Which sequence is at position `index` of epoch `epoch` (the permutation). */
uint64_t loader_order(const loader *l, uint64_t epoch, uint64_t index);

/* The Feistel permutation on its own: a bijection of [0, n) keyed by (seed, epoch). */
uint64_t loader_permute(uint64_t i, uint64_t n, uint64_t seed, uint64_t epoch);

#endif
