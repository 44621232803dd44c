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
 * KMER_FIRST_ID + index (text/kmer.h: kmer_index, kmer_string). */
#ifndef BERTC_PMI_RANK_H
#define BERTC_PMI_RANK_H

#include <stdint.h>

#define PMI_KMER_MAX_K 6 /* the DNABERT variants: k = 3 … 6 */

/* Reads the ranking at `path` for k-mers of length k (1 … PMI_KMER_MAX_K) into
 * rank (4^k,), indexed by k-mer index. −1 + err "path:line: what" on any
 * deviation from the format above (nothing is assumed about the row order). */
int pmi_rank_load(const char *path, int k, int32_t *rank);

#endif
