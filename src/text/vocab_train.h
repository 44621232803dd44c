/* vocab_train.h — WordPiece vocabulary training (spec tokenizer.md §7).
 *
 * Two stages, as in the Rust tokenizers library:
 *  1. vocab_count_*: words of the input (from a pluggable splitter, normally
 *     text_words() = BertNormalizer + BertPreTokenizer) are counted into a
 *     vocab_counts map, in parallel over chunks of lines;
 *  2. vocab_train: HF `WordPieceTrainer` = BPE with the "##" continuing-subword
 *     prefix over those counts, then the vocab is padded with [unusedN] entries
 *     to a multiple of 64 (tensor-core friendly embedding/decoder shapes).
 */
#ifndef BERTC_VOCAB_TRAIN_H
#define BERTC_VOCAB_TRAIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- word counting --------------------------------------------------------- */

/* Same shape as normalize.h's word_fn, so text_words can be wrapped directly. */
typedef void (*vocab_word_fn)(void *ud, const char *word, size_t len);
/* Splits s[0..n) into words and calls emit for each one. Must be thread-safe. */
typedef void (*vocab_split_fn)(const void *cfg, const char *s, size_t n, vocab_word_fn emit, void *ud);

typedef struct vocab_counts vocab_counts; /* word (UTF-8 bytes) → occurrences */

vocab_counts *vocab_counts_new(void);
void vocab_counts_free(vocab_counts *c);
void vocab_counts_add(vocab_counts *c, const char *word, size_t len, uint64_t n);
uint64_t vocab_counts_get(const vocab_counts *c, const char *word, size_t len);
size_t vocab_counts_size(const vocab_counts *c);   /* distinct words */
uint64_t vocab_counts_total(const vocab_counts *c); /* all occurrences */
/* Visits every word once (in no particular order): start with *pos = 0; returns
 * 0 when done. */
int vocab_counts_iter(const vocab_counts *c, size_t *pos, const char **w, size_t *len, uint64_t *n);

typedef struct {
    vocab_split_fn split;    /* required */
    const void *split_cfg;   /* passed to split (e.g. a norm_config) */
    int threads;             /* worker threads; <= 0: one per online CPU */
    const char *jsonl_field; /* string field read from .jsonl lines; NULL: "text" */
} vocab_count_opts;

/* Counts the words of each line of an in-memory text. Every line must be valid
 * UTF-8 (as the reference trainer requires); name and first_line only label
 * error messages ("name:LINE: invalid UTF-8 at byte N"). */
int vocab_count_text(vocab_counts *c, const char *text, size_t n, const vocab_count_opts *o,
                     const char *name, uint64_t first_line);
/* Counts one input file: *.gz (zlib, lines), *.jsonl (one JSON object per line;
 * the string field o->jsonl_field is the text) or anything else (lines). */
int vocab_count_file(vocab_counts *c, const char *path, const vocab_count_opts *o);

/* ---- training --------------------------------------------------------------- */

typedef struct {
    size_t vocab_size;      /* stop when the vocab (specials included) reaches this */
    uint64_t min_frequency; /* stop when the best pair count is below this */
    size_t limit_alphabet;  /* keep at most this many characters; 0: no limit */
    const char *const *special; /* added first, in order (ids 0, 1, …) */
    size_t n_special;
    size_t pad_multiple;    /* pad with [unusedN] to a multiple of this; 0 or 1: none */
    /* Optional id order of the "##c" symbols (default: code-point order). HF
     * assigns them in hash-map order, which changes from run to run and decides
     * ties between pairs; passing the order a reference run used (read from its
     * vocab) reproduces that run exactly. Entries that are not a "##" + one
     * character of the alphabet, or never occur, are ignored. */
    const char *const *cont_order;
    size_t n_cont_order;
    FILE *progress;         /* progress lines go here; NULL: quiet */
} vocab_train_opts;

/* Python BertWordPieceTokenizer.train defaults: 30000, 2, 1000, the five BERT
 * special tokens, and bertc's padding to a multiple of 64. */
void vocab_train_opts_default(vocab_train_opts *o);

typedef struct {
    char **tokens;        /* (n,) NUL-terminated tokens in id order, padding included */
    size_t n;
    size_t n_unpadded;    /* size before the [unusedN] padding */
    size_t n_special;     /* ids [0, n_special) */
    size_t n_alphabet;    /* then word-initial characters, sorted by code point */
    size_t n_continuing;  /* then the "##c" symbols */
    size_t n_merges;      /* merge steps done (a repeated pair counts again, as in HF) */
    size_t alphabet_seen; /* distinct characters before limit_alphabet */
    uint64_t last_count;  /* pair count of the last merge (0 if none) */
} vocab_result;

/* Trains on the counted words. Returns 0, or -1 with err_set (impossible settings). */
int vocab_train(const vocab_counts *c, const vocab_train_opts *o, vocab_result *r);
void vocab_result_free(vocab_result *r);
/* Writes vocab.txt (one token per line, id order, LF) atomically. */
int vocab_write(const vocab_result *r, const char *path);

#endif
