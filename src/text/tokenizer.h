/* tokenizer.h — the BERT WordPiece tokenizer, id-exact with the Rust
 * tokenizers library 0.23.2 (spec tokenizer.md §2): added (special) tokens
 * matched in the raw text → BertNormalizer → BertPreTokenizer → WordPiece →
 * [CLS] A [SEP] (B [SEP]) → LongestFirst truncation → right padding.
 *
 * A tokenizer is read-only after loading: any number of threads may encode
 * with one tokenizer at once (each call uses only its own output and stack). */
#ifndef BERTC_TOKENIZER_H
#define BERTC_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "normalize.h"

typedef struct tokenizer tokenizer;

/* Loads a vocab.txt (UTF-8, one token per line, id = 0-based line number;
 * a trailing CR is removed from each line; empty lines, duplicates and invalid
 * UTF-8 are errors naming file:line). The added tokens are those of
 * [PAD] [UNK] [CLS] [SEP] [MASK] present in the vocab; [UNK] is required.
 * norm may be NULL for the bert-base-uncased defaults. NULL + err_set on error. */
tokenizer *tok_load_vocab(const char *path, const norm_config *norm);
/* Same from memory; `name` is used in error messages. */
tokenizer *tok_load_vocab_mem(const char *name, const char *data, size_t n, const norm_config *norm);
/* Loads a tokenizer.json of the BERT shape: model WordPiece (vocab, unk_token,
 * continuing_subword_prefix, max_input_chars_per_word), normalizer
 * BertNormalizer (or null), pre_tokenizer BertPreTokenizer, added_tokens (all
 * with normalized/single_word/lstrip/rstrip false). Other model, normalizer or
 * pre-tokenizer types are refused with an error naming the field. The
 * post_processor and decoder are not read: bertc always uses [CLS] A [SEP]
 * (B [SEP]) with the vocab's [CLS]/[SEP] and the WordPiece decoder. */
tokenizer *tok_load_json(const char *path);
/* Same from memory; `name` is used in error messages. */
tokenizer *tok_load_json_mem(const char *name, const char *data, size_t n);
/* tok_load_json when the path ends in ".json", tok_load_vocab otherwise. */
tokenizer *tok_load(const char *path, const norm_config *norm);
void tok_free(tokenizer *t);

size_t tok_vocab_size(const tokenizer *t);
/* Id of a token string (exact bytes), or -1. */
int64_t tok_id(const tokenizer *t, const char *token);
/* Token string of an id (NUL-terminated), or NULL when out of range. */
const char *tok_token(const tokenizer *t, uint32_t id);
const norm_config *tok_norm(const tokenizer *t);
/* Ids of the special tokens, or -1 when the vocab lacks them. */
int64_t tok_cls_id(const tokenizer *t);
int64_t tok_sep_id(const tokenizer *t);
int64_t tok_pad_id(const tokenizer *t);
int64_t tok_unk_id(const tokenizer *t);
int64_t tok_mask_id(const tokenizer *t);

/* k when the vocabulary has the DNABERT k-mer layout (text/kmer.h), else 0.
 * Recognised on load, no marker file: ids 0..4 are [PAD] [UNK] [CLS] [SEP]
 * [MASK], then exactly the 4^k k-mers in ATCG order for k = the length of
 * token 5 (1..8), then nothing or only [unusedN] tokens. A WordPiece vocabulary
 * never has that shape (its trainer orders letters by code point), and
 * DNABERT's own vocab.txt files load as they are. In k-mer mode the encoders
 * below read DNA (kmer.h) instead of running the normalizer and WordPiece. */
int tok_kmer_k(const tokenizer *t);

/* Fast path: appends the ids of text[0..n) — added tokens matched, no [CLS]/[SEP],
 * no truncation — to the growable array *ids (*n_ids used, *cap allocated; may
 * start NULL/0/0; grown with xrealloc). Returns 0. */
int tok_encode_ids(const tokenizer *t, const char *text, size_t n, uint32_t **ids, size_t *n_ids, size_t *cap);

typedef struct {
    uint32_t *ids;     /* (n,) token ids */
    uint8_t *type_ids; /* (n,) 0 for [CLS] A [SEP], 1 for B [SEP] */
    uint8_t *mask;     /* (n,) 1 for real tokens, 0 for padding */
    size_t n, cap;
} tok_encoding;

typedef struct {
    size_t max_length; /* 0: no truncation; else LongestFirst to this total length */
    size_t pad_to;     /* 0: no padding; else right-pad with [PAD] up to this length */
    int add_special;   /* add [CLS]/[SEP] (1 by default in tok_encode_opts_default) */
} tok_encode_opts;
void tok_encode_opts_default(tok_encode_opts *o);

/* Encodes a single text (b == NULL) or a pair into e (reused; call
 * tok_encoding_free when done). -1 + err_set when the options cannot be met
 * (max_length smaller than the special tokens, missing [CLS]/[SEP]/[PAD]). */
int tok_encode(const tokenizer *t, const char *a, size_t na, const char *b, size_t nb,
               const tok_encode_opts *o, tok_encoding *e);
void tok_encoding_free(tok_encoding *e);

/* LongestFirst pair truncation (spec §2.6): lengths kept of A and B so that
 * ka + kb ≤ max_length − n_special (n_special ≤ max_length: 3 for
 * [CLS] A [SEP] B [SEP], 0 without). NOTE: the library applies this to
 * sequences that were already cut at the first word boundary at or past
 * max_length tokens (tok_encode does the same); na/nb here are those lengths. */
void tok_truncate_pair(size_t na, size_t nb, size_t max_length, size_t n_special, size_t *ka, size_t *kb);

/* WordPiece decoder (spec §2.8): tokens joined by spaces, "##" continuations
 * glued, then the library's clean-up of spaces before . ? ! , (per token).
 * skip_special drops added tokens. Returns a malloc'd NUL-terminated string;
 * NULL + err_set on an out-of-range id. */
char *tok_decode(const tokenizer *t, const uint32_t *ids, size_t n, int skip_special);

#endif
