/* ngram.h — counts of nucleotide n-grams, n = 1…max_n, over DNA sequences
 * (for `bertc pmi`, text/pmi.h).
 *
 * Only A C G T count (lower case too); an n-gram position that covers any other
 * byte (N, IUPAC codes, a record boundary) is skipped. A base is 2 bits
 * (A=0 C=1 G=2 T=3) and the first base is the most significant, so the code of
 * an n-gram is its rank in alphabetical order and count[n] is a dense array of
 * 4^n entries (max_n ≤ 10: about 1.4M counters in all).
 *
 * Counting is parallel (OpenMP): every thread counts its slice of the input into
 * its own arrays, and the arrays are summed at the end. Counts are integers, so
 * the result does not depend on the number of threads or on how the input was
 * cut into calls.
 *
 * Only the max_n-grams are counted per position; a shorter n-gram occurrence is
 * either the prefix of an (n+1)-gram occurrence or ends where a run of ACGT
 * ends, so count[n][x] = Σ_b count[n+1][4x+b] + (runs ending in x), and only the
 * run ends are tallied separately. One increment per base instead of max_n. */
#ifndef BERTC_NGRAM_H
#define BERTC_NGRAM_H

#include <stddef.h>
#include <stdint.h>

#define NGRAM_MAX_N 10 /* 4^10 counters of 8 bytes per thread: 8 MiB */

typedef struct {
    int max_n;
    uint64_t *count[NGRAM_MAX_N + 1]; /* count[n]: (4^n,) occurrences of each n-gram, n = 1…max_n */
    uint64_t total[NGRAM_MAX_N + 1];  /* Σ count[n]: ACGT-only n-gram positions */
} ngram_counts;

typedef struct ngram_counter ngram_counter;

/* max_n in 1…NGRAM_MAX_N (CHECKed: callers validate user input); threads <= 0:
 * OpenMP's default. */
ngram_counter *ngram_counter_new(int max_n, int threads);
/* Counts seq[0..len) as one record (n-grams never span two records). Short
 * records are buffered and counted in batches, long ones in parallel slices. */
void ngram_counter_add(ngram_counter *c, const char *seq, size_t len);
/* Sequence bytes passed to add so far, counted or still buffered (progress lines). */
uint64_t ngram_counter_seen(const ngram_counter *c);
/* Counts what is buffered, sums the threads' arrays into *out and frees c. */
void ngram_counter_finish(ngram_counter *c, ngram_counts *out);
/* Drops the counter without a result (an input failed). */
void ngram_counter_free(ngram_counter *c);
void ngram_counts_free(ngram_counts *nc);

/* Code of s[0..n) (n ≤ 16), or -1 if it holds a byte other than ACGTacgt. */
int64_t ngram_code(const char *s, int n);
/* The n upper-case letters of code into out[0..n], NUL-terminated. */
void ngram_string(uint64_t code, int n, char *out);

#endif
