/* pmi_rank.h — the NPMI ranking of k-mers that GeneMask masking reads (spec
 * genemask.md §3.1), as written by `bertc pmi`.
 *
 * File (UTF-8 TSV, LF or CRLF line ends):
 *   # bertc pmi ranking v1          first line, exactly (format and version)
 *   # k=6                           further `#` lines are comments; a `k=N` one must match k
 *   kmer\trank\tnpmi\tpmi\tcount    header, once, before the data
 *   AAAAAA\t1234\t0.5\t0.7\t10123   4^k rows, in any order
 * kmer: k letters of ACGT (upper case), each k-mer exactly once; rank: 1 … 4^k, a
 * permutation (1 = highest NPMI); npmi, pmi: numbers (`%.9g` or nan); count: an
 * unsigned integer. Only the ranks are kept.
 *
 * K-mer index: DNABERT's order, lexicographic over the alphabet A, T, C, G
 * (A0 T1 C2 G3; AAAAAA = 0, AAAAAT = 1, …); the vocabulary id of a k-mer is
 * PMI_KMER_FIRST_ID + index (ids 0–4 are [PAD] [UNK] [CLS] [SEP] [MASK]).
 * (A private helper until src/text/kmer.h lands; then this folds into it.) */
#ifndef BERTC_PMI_RANK_H
#define BERTC_PMI_RANK_H

#include <stdint.h>

#include "../text/tokenizer.h"

#define PMI_KMER_FIRST_ID 5
#define PMI_KMER_MAX_K 6 /* the DNABERT variants: k = 3 … 6 */

/* Index of the k-mer s[0..k) (A0 T1 C2 G3, first letter most significant), −1 if
 * a letter is not one of ACGT (upper case). */
int64_t pmi_kmer_index(const char *s, int k);
/* Writes the k-mer of `index` into out[0..k] (NUL-terminated). */
void pmi_kmer_string(int64_t index, int k, char *out);

/* Reads the ranking at `path` for k-mers of length k (1 … PMI_KMER_MAX_K) into
 * rank (4^k,), indexed by k-mer index. −1 + err "path:line: what" on any
 * deviation from the format above (nothing is assumed about the row order). */
int pmi_rank_load(const char *path, int k, int32_t *rank);

/* The k of a DNABERT k-mer vocabulary: [PAD] [UNK] [CLS] [SEP] [MASK] at ids 0–4,
 * then all 4^k k-mers in index order, for some k in 3 … PMI_KMER_MAX_K; 0 if the
 * vocabulary is not one. */
int pmi_vocab_kmer_k(const tokenizer *t);

#endif
