/* kmer.h — DNABERT k-mer tokens (spec genemask.md §1).
 *
 * Vocabulary layout: ids 0 [PAD], 1 [UNK], 2 [CLS], 3 [SEP], 4 [MASK], then the
 * 4^k k-mers in lexicographic order over the alphabet order A, T, C, G (not
 * ACGT): id(b1…bk) = KMER_FIRST_ID + Σ code(b_i)·4^(k−i), A0 T1 C2 G3. So for
 * k = 6: AAAAAA 5, AAAAAT 6, AAAAAC 7, AAAAAG 8, AAAATA 9, …, GGGGGG 4100.
 * `bertc vocab --kmer K` pads this with [unusedN] to a multiple of 64; the
 * padding is not part of the k-mer vocabulary (kmer_vocab_real_size).
 *
 * Tokenization: stride 1, a sequence of n bases gives n−k+1 tokens (none when
 * n < k). Case is ignored (a soft-masked "acgt" is ACGT).
 *
 * N rule: a k-mer holding any byte other than A C G T (either case) — N, the
 * IUPAC codes R Y K M S W B D H V, and also U — is [UNK] (id 1). U is not read
 * as T: DNABERT's vocabulary has no U, so its tokenizer gives [UNK] too, and
 * silently converting RNA would hide that the input is not DNA. */
#ifndef BERTC_KMER_H
#define BERTC_KMER_H

#include <stddef.h>
#include <stdint.h>

#include "tokenizer.h"

#define KMER_FIRST_ID 5 /* id of AAA…A; ids 0..4 are [PAD] [UNK] [CLS] [SEP] [MASK] */
#define KMER_UNK_ID 1
#define KMER_MAX_K 8

/* k of a tokenizer loaded from a DNABERT-layout vocabulary, 0 for WordPiece
 * (tokenizer.h: tok_kmer_k says how the layout is recognised). */
static inline int kmer_vocab_k(const tokenizer *t) { return tok_kmer_k(t); }

/* 4^k, the number of k-mers (k in 1..KMER_MAX_K). */
static inline size_t kmer_count(int k) { return (size_t)1 << (2 * k); }
/* KMER_FIRST_ID + 4^k: the real tokens, without [unusedN] padding (4101 for k = 6).
 * MLM random replacement draws from [0, this) as DNABERT does. */
static inline size_t kmer_vocab_real_size(int k) { return KMER_FIRST_ID + kmer_count(k); }

/* Index 0..4^k−1 of bases[0..k) in ATCG order (either case), or −1 if one of
 * them is not A/C/G/T. */
int32_t kmer_index(const char *bases, int k);
/* KMER_FIRST_ID + kmer_index, or KMER_UNK_ID for a k-mer with a non-ACGT letter. */
int32_t kmer_id(const char *bases, int k);
/* Writes the k upper-case letters of k-mer `index` and a NUL into out (k+1 bytes). */
void kmer_string(int32_t index, int k, char *out);

/* Appends the ids of the stride-1 k-mers of s[0..n) to the growable array *ids
 * (*n_ids used, *cap allocated; grown with xrealloc). Whitespace bytes are
 * skipped (a sequence may span lines); every other byte is one base. With
 * limit > 0 at most `limit` ids are appended. Rolling 2-bit code: O(n). */
void kmer_encode(const char *s, size_t n, int k, size_t limit, uint32_t **ids, size_t *n_ids, size_t *cap);

/* Writes the vocab.txt of k: the 5 specials, the 4^k k-mers, then [unused0] …
 * up to a multiple of pad_multiple (≤ 1: no padding). Atomic. -1 + err_set. */
int kmer_vocab_write(int k, size_t pad_multiple, const char *path);

#endif
