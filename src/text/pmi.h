/* pmi.h — the NPMI ranking of k-mers that GeneMask masks by (spec genemask.md
 * §3.1), from n-gram counts (text/ngram.h); `bertc pmi` writes it.
 *
 * Probabilities. p(s) = count(s) / total[|s|], total[n] = the number of
 * ACGT-only n-gram positions of the corpus (Σ of all n-gram counts), so the
 * n-gram probabilities of each length sum to 1. The spec marks the reference's
 * normalisation [unverified]; back-solving its published table
 * (Data-A_norm-pmi-score-ranking.csv: the counts come out exactly from the
 * discount column, the unigram counts are in the notebook) fits its naive PMI
 * to 5e-5 with ONE denominator Z ≈ 2.0000·bases for every length, i.e. not a
 * per-length one. Per-length totals are what a probability is; with one global
 * Z a segmentation into m parts moves by (m-1)·ln(Z/bases) ≈ (m-1)·ln 2, which
 * favours few-part segmentations, so rankings can differ from the published one.
 *
 * PMI (PMI-Masking, Levine et al. 2021, "true PMI"): for a k-mer w,
 *   PMI(w) = ln p(w) − max over segmentations σ of w into ≥ 2 contiguous parts
 *            of Σ_{s∈σ} ln p(s),
 * by dynamic programming over the k+1 cut points (pmi_dp). Natural logs.
 *
 * NPMI (the GeneMask discount): NPMI(w) = PMI(w)·ln f / (ln f + ln min_count),
 * f = count(w).
 *
 * Dropped n-grams. The reference drops n-grams seen fewer than min_count times.
 * A part s of w occurs at least as often as w (every occurrence of w holds one
 * of s at a fixed offset), so when w is kept every part is kept too and the DP
 * never meets a dropped part. The rule is still stated for the DP: a part with
 * count < min_count is not scorable and segmentations through it are excluded.
 *
 * Ranking. Scored k-mers (count ≥ min_count) come first, by NPMI descending,
 * equal NPMI by k-mer in alphabetical order; then the unscored ones (count <
 * min_count), by count descending, then alphabetical. Rank 1 = highest NPMI;
 * the ranks are a permutation of 1…4^k. */
#ifndef BERTC_PMI_H
#define BERTC_PMI_H

#include <stddef.h>
#include <stdint.h>

#include "ngram.h"

/* PMI of a k-mer from lp[i*(k+1)+j] = ln p(w[i..j)), 0 ≤ i < j ≤ k (other
 * entries unread); -INFINITY marks a part that cannot be used. Returns NAN when
 * lp[0*(k+1)+k] is -INFINITY or no segmentation avoids unusable parts. k ≥ 2. */
double pmi_dp(const double *lp, int k);

typedef struct {
    uint32_t kmer;  /* ngram.h code */
    uint32_t rank;  /* 1…4^k */
    double npmi;    /* NAN when unscored */
    double pmi;     /* NAN when unscored */
    uint64_t count;
} pmi_row;

/* All 4^k k-mers in rank order into rows (4^k,). Needs 2 ≤ k ≤ c->max_n and
 * min_count ≥ 2 (so that ln f + ln min_count > 0): -1 + err_set otherwise. */
int pmi_rank(const ngram_counts *c, int k, uint64_t min_count, pmi_row *rows);

/* Writes the ranking file (docs/formats.md, "k-mer NPMI ranking") atomically. */
int pmi_write(const char *path, const pmi_row *rows, int k, const ngram_counts *c, uint64_t min_count,
              const char *const *inputs, int n_inputs);

#endif
