/* normalize.h — BertNormalizer + BertPreTokenizer (spec tokenizer.md §2.2–2.3).
 *
 * text_words() normalizes UTF-8 text and splits it into words exactly as the
 * Rust tokenizers library (0.23.2) does for a BERT tokenizer.json; the vocab
 * trainer and the WordPiece encoder both consume its words. */
#ifndef BERTC_NORMALIZE_H
#define BERTC_NORMALIZE_H

#include <stddef.h>

typedef struct {
    int clean_text;           /* drop controls / U+FFFD, map whitespace to ' ' */
    int handle_chinese_chars; /* put spaces around CJK ideographs */
    int strip_accents;        /* NFD then drop Mn; -1: follow lowercase */
    int lowercase;            /* full per-character lower-case mapping */
} norm_config;

void norm_config_default(norm_config *c); /* bert-base-uncased: 1, 1, -1, 1 */

typedef void (*word_fn)(void *ud, const char *word, size_t len);

/* Normalizes UTF-8 text (invalid UTF-8 bytes read as U+FFFD) and splits it with
 * BertPreTokenizer, calling fn once per word with the word's normalized UTF-8
 * bytes. No special-token handling. Thread-safe. */
void text_words(const norm_config *c, const char *s, size_t n, word_fn fn, void *ud);

/* Like text_words, but fn returns nonzero to stop early (no more words are
 * produced). Returns 1 if fn stopped it, 0 if the text was consumed. */
typedef int (*word_stop_fn)(void *ud, const char *word, size_t len);
int text_words_until(const norm_config *c, const char *s, size_t n, word_stop_fn fn, void *ud);

/* Normalization alone (no splitting), for tests and tools: appends the
 * normalized UTF-8 of s[0..n) to *out (a malloc'd buffer of *len bytes, *cap
 * capacity; may start NULL/0/0). */
void text_normalize(const norm_config *c, const char *s, size_t n, char **out, size_t *len, size_t *cap);

#endif
