/* pmi.c — see pmi.h. */
#include "pmi.h"

#include <math.h>
#include <stdlib.h>

#include "../core/err.h"
#include "../io/file.h"

double pmi_dp(const double *lp, int k) {
    CHECK(k >= 2 && k <= 32, "k-mer length");
    const int K = k + 1;
    if (lp[k] == -INFINITY) return NAN;
    /* best[j] = max over segmentations of w[0..j) of Σ ln p(part); the whole
     * k-mer as one part is the one segmentation left out (i ≥ 1 when j = k) */
    double best[33];
    best[0] = 0;
    for (int j = 1; j <= k; j++) {
        best[j] = -INFINITY;
        for (int i = j == k ? 1 : 0; i < j; i++) {
            double v = best[i] + lp[i * K + j];
            if (v > best[j]) best[j] = v;
        }
    }
    return best[k] == -INFINITY ? NAN : lp[k] - best[k];
}

static int pmi_cmp(const void *pa, const void *pb) {
    const pmi_row *a = pa, *b = pb;
    int sa = !isnan(a->npmi), sb = !isnan(b->npmi);
    if (sa != sb) return sa ? -1 : 1; /* scored first */
    if (sa && a->npmi != b->npmi) return a->npmi > b->npmi ? -1 : 1;
    if (!sa && a->count != b->count) return a->count > b->count ? -1 : 1;
    return a->kmer < b->kmer ? -1 : a->kmer > b->kmer;
}

int pmi_rank(const ngram_counts *c, int k, uint64_t min_count, pmi_row *rows) {
    if (k < 2 || k > c->max_n)
        return err_set("k = %d: must be in 2…max_n (%d): a k-mer needs ≥ 2 parts and counts of its length", k,
                       c->max_n);
    if (min_count < 2) return err_set("min_count = %llu: must be ≥ 2 (the discount divides by ln f + ln min_count)",
                                      (unsigned long long)min_count);
    double ltotal[NGRAM_MAX_N + 1];
    for (int n = 1; n <= k; n++) ltotal[n] = c->total[n] ? log((double)c->total[n]) : 0;
    const int64_t nk = (int64_t)1 << (2 * k);
    const double lmin = log((double)min_count);
#pragma omp parallel for schedule(static) if (nk >= 65536)
    for (int64_t x = 0; x < nk; x++) {
        pmi_row *r = &rows[x];
        r->kmer = (uint32_t)x;
        r->count = c->count[k][x];
        r->pmi = r->npmi = NAN;
        if (r->count < min_count) continue;
        double lp[(NGRAM_MAX_N + 1) * (NGRAM_MAX_N + 1)];
        for (int i = 0; i < k; i++)
            for (int j = i + 1; j <= k; j++) {
                int n = j - i;
                uint64_t sub = ((uint64_t)x >> (2 * (k - j))) & (((uint64_t)1 << (2 * n)) - 1);
                uint64_t cs = c->count[n][sub];
                lp[i * (k + 1) + j] = cs < min_count ? -INFINITY : log((double)cs) - ltotal[n];
            }
        r->pmi = pmi_dp(lp, k);
        double lf = log((double)r->count);
        r->npmi = r->pmi * lf / (lf + lmin);
    }
    qsort(rows, (size_t)nk, sizeof *rows, pmi_cmp);
    for (int64_t i = 0; i < nk; i++) rows[i].rank = (uint32_t)(i + 1);
    return 0;
}

/* "%.9g", or "nan" for every NaN (printf may write "-nan"). */
static int pmi_put_num(afile *f, double v) {
    return isnan(v) ? afile_printf(f, "\tnan") : afile_printf(f, "\t%.9g", v);
}

int pmi_write(const char *path, const pmi_row *rows, int k, const ngram_counts *c, uint64_t min_count,
              const char *const *inputs, int n_inputs) {
    afile f;
    if (afile_open(&f, path) != 0) return -1;
    afile_printf(&f, "# bertc pmi ranking v1\n# k=%d\n# max_n=%d\n# min_count=%llu\n# bases=%llu\n", k, c->max_n,
                 (unsigned long long)min_count, (unsigned long long)c->total[1]);
    for (int i = 0; i < n_inputs; i++) {
        afile_printf(&f, "# input=");
        /* a control byte in a path would break the line structure */
        for (const char *p = inputs[i]; *p; p++) afile_printf(&f, "%c", (unsigned char)*p < 0x20 ? '?' : *p);
        afile_printf(&f, "\n");
    }
    afile_printf(&f, "kmer\trank\tnpmi\tpmi\tcount\n");
    const int64_t nk = (int64_t)1 << (2 * k);
    char s[NGRAM_MAX_N + 1];
    for (int64_t i = 0; i < nk; i++) {
        ngram_string(rows[i].kmer, k, s);
        afile_printf(&f, "%s\t%u", s, rows[i].rank);
        pmi_put_num(&f, rows[i].npmi);
        pmi_put_num(&f, rows[i].pmi);
        afile_printf(&f, "\t%llu\n", (unsigned long long)rows[i].count);
    }
    return afile_commit(&f); /* its messages name the file */
}
