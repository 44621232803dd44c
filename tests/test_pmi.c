/* test_pmi.c — n-gram counting (src/text/ngram.h) and the NPMI ranking of
 * k-mers (src/text/pmi.h): counts by hand and against a brute-force counter,
 * thread-count independence, the segmentation DP against enumeration of every
 * segmentation, a hand-computed NPMI, ties and unscored rows, the file format. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/core/err.h"
#include "../src/text/ngram.h"
#include "../src/text/pmi.h"
#include "test.h"

static uint64_t pt_rng = 88172645463325252ull;
static uint64_t pt_next(void) { /* xorshift64 */
    pt_rng ^= pt_rng << 13;
    pt_rng ^= pt_rng >> 7;
    pt_rng ^= pt_rng << 17;
    return pt_rng;
}

static void pt_count(ngram_counts *nc, int max_n, int threads, const char *const *recs, int n) {
    ngram_counter *c = ngram_counter_new(max_n, threads);
    for (int i = 0; i < n; i++) ngram_counter_add(c, recs[i], strlen(recs[i]));
    ngram_counter_finish(c, nc);
}

static uint64_t pt_get(const ngram_counts *nc, const char *g) {
    return nc->count[strlen(g)][ngram_code(g, (int)strlen(g))];
}

TEST(pmi_ngram_counts_by_hand) {
    /* "ACGTNAC" + record "acR" + record "GT":
     *   1-grams  A 2+1, C 2+1, G 1+1, T 1+1            (N, R skipped)   total 10
     *   2-grams  AC 2+1 (pos 0, pos 5, "ac"), CG 1, GT 1+1              total 6
     *   3-grams  ACG 1, CGT 1 ("AC" after N and "ac" before R are too short) total 2
     *   nothing spans a record end: no "CG" from "ac"+"GT", no "TA" from "ACGT"+"acR". */
    const char *recs[] = {"ACGTNAC", "acR", "GT"};
    ngram_counts nc;
    pt_count(&nc, 3, 1, recs, 3);
    EXPECT_EQ_INT(pt_get(&nc, "A"), 3);
    EXPECT_EQ_INT(pt_get(&nc, "C"), 3);
    EXPECT_EQ_INT(pt_get(&nc, "G"), 2);
    EXPECT_EQ_INT(pt_get(&nc, "T"), 2);
    EXPECT_EQ_INT(nc.total[1], 10);
    EXPECT_EQ_INT(pt_get(&nc, "AC"), 3);
    EXPECT_EQ_INT(pt_get(&nc, "CG"), 1);
    EXPECT_EQ_INT(pt_get(&nc, "GT"), 2);
    EXPECT_EQ_INT(pt_get(&nc, "TA"), 0);
    EXPECT_EQ_INT(nc.total[2], 6);
    EXPECT_EQ_INT(pt_get(&nc, "ACG"), 1);
    EXPECT_EQ_INT(pt_get(&nc, "CGT"), 1);
    EXPECT_EQ_INT(nc.total[3], 2);
    ngram_counts_free(&nc);

    /* codes are alphabetical ranks, first base most significant */
    EXPECT_EQ_INT(ngram_code("AAA", 3), 0);
    EXPECT_EQ_INT(ngram_code("ACGT", 4), 0 * 64 + 1 * 16 + 2 * 4 + 3);
    EXPECT_EQ_INT(ngram_code("ANA", 3), -1);
    char s[8];
    ngram_string(27, 3, s); /* 27 = 1·16 + 2·4 + 3 */
    EXPECT_STR_EQ(s, "CGT");
}

/* Every position, every n, checked base by base: independent of ngram.c's
 * prefix-marginalisation. */
static void pt_brute(const char *const *recs, int nrec, int max_n, uint64_t **want) {
    for (int r = 0; r < nrec; r++) {
        size_t len = strlen(recs[r]);
        for (size_t p = 0; p < len; p++)
            for (int n = 1; n <= max_n && p + (size_t)n <= len; n++) {
                int64_t code = ngram_code(recs[r] + p, n);
                if (code >= 0) want[n][code]++;
            }
    }
}

static char *pt_random_seq(size_t len, unsigned n_per_1000) {
    char *s = xmalloc(len + 1);
    for (size_t i = 0; i < len; i++) {
        uint64_t v = pt_next();
        s[i] = v % 1000 < n_per_1000 ? "NNNNNNRy"[(v >> 20) & 7] : "ACGTacgt"[(v >> 12) & 7];
    }
    s[len] = 0;
    return s;
}

TEST(pmi_ngram_counts_match_brute_force_any_threads) {
    /* many short records (batched) and two of 1.5 MB (counted in parallel slices) */
    enum { NREC = 40 };
    char *recs[NREC];
    for (int i = 0; i < NREC; i++) {
        size_t len = i == 3 || i == 30 ? (size_t)1500000 : pt_next() % 5000;
        recs[i] = pt_random_seq(len, i % 4 == 0 ? 200 : 5);
    }
    const int max_n = 10;
    uint64_t *want[NGRAM_MAX_N + 1] = {0};
    for (int n = 1; n <= max_n; n++) want[n] = xcalloc((size_t)1 << (2 * n), sizeof(uint64_t));
    pt_brute((const char *const *)recs, NREC, max_n, want);
    const int threads[] = {1, 2, 3, 7};
    for (int t = 0; t < 4; t++) {
        ngram_counts nc;
        pt_count(&nc, max_n, threads[t], (const char *const *)recs, NREC);
        for (int n = 1; n <= max_n; n++) {
            uint64_t tot = 0;
            for (size_t x = 0; x < (size_t)1 << (2 * n); x++) tot += want[n][x];
            EXPECT_MSG(!memcmp(nc.count[n], want[n], sizeof(uint64_t) << (2 * n)), "threads %d n %d", threads[t], n);
            EXPECT_EQ_INT(nc.total[n], tot);
        }
        ngram_counts_free(&nc);
    }
    for (int n = 1; n <= max_n; n++) free(want[n]);
    for (int i = 0; i < NREC; i++) free(recs[i]);
}

TEST(pmi_ngram_long_record_threads_agree) {
    /* a record longer than one batch (16 MiB) is counted in place, sliced */
    size_t len = ((size_t)17 << 20) + 12345;
    char *s = pt_random_seq(len, 3);
    const char *recs[] = {"ACGTACGTTT", s, "GGGG"};
    ngram_counts a, b;
    pt_count(&a, 10, 1, recs, 3);
    pt_count(&b, 10, 4, recs, 3);
    for (int n = 1; n <= 10; n++) EXPECT_MSG(!memcmp(a.count[n], b.count[n], sizeof(uint64_t) << (2 * n)), "n %d", n);
    /* N, R, y are 3 in 1000 of the long record (y is a base) */
    EXPECT(a.total[1] > len / 1000 * 996 && a.total[1] < len);
    ngram_counts_free(&a);
    ngram_counts_free(&b);
    free(s);
}

/* max over all 2^(k-1) - 1 non-trivial segmentations, enumerated by cut masks */
static double pt_brute_pmi(const double *lp, int k) {
    double best = -INFINITY;
    for (unsigned m = 1; m < 1u << (k - 1); m++) {
        double sum = 0;
        int start = 0;
        for (int cut = 1; cut <= k; cut++)
            if (cut == k || (m >> (cut - 1) & 1)) {
                sum += lp[start * (k + 1) + cut];
                start = cut;
            }
        if (sum > best) best = sum;
    }
    return lp[k] == -INFINITY || best == -INFINITY ? NAN : lp[k] - best;
}

TEST(pmi_dp_matches_brute_force) {
    for (int trial = 0; trial < 3000; trial++) {
        int k = 2 + (int)(pt_next() % 9);
        double lp[11 * 11];
        for (int i = 0; i < k; i++)
            for (int j = i + 1; j <= k; j++) {
                uint64_t v = pt_next();
                /* random "log probabilities"; some parts unusable */
                lp[i * (k + 1) + j] = v % 13 == 0 && trial % 3 == 0 ? -INFINITY : -(double)(v >> 11) / (double)(1ull << 50);
            }
        double got = pmi_dp(lp, k), want = pt_brute_pmi(lp, k);
        if (isnan(want)) EXPECT_MSG(isnan(got), "trial %d: %g, want nan", trial, got);
        else EXPECT_MSG(fabs(got - want) <= 1e-12 * (1 + fabs(want)), "trial %d k %d: %.17g vs %.17g", trial, k, got, want);
    }
    /* every split of a 3-mer blocked: no segmentation */
    double lp[16];
    for (int i = 0; i < 16; i++) lp[i] = -1;
    lp[0 * 4 + 1] = lp[2 * 4 + 3] = -INFINITY; /* A|.. and ..|G gone: A|CG, AC|G, A|C|G all blocked */
    EXPECT(isnan(pmi_dp(lp, 3)));
}

static const pmi_row *pt_find(const pmi_row *rows, int k, const char *kmer) {
    for (size_t i = 0; i < (size_t)1 << (2 * k); i++)
        if (rows[i].kmer == (uint64_t)ngram_code(kmer, k)) return &rows[i];
    return NULL;
}

TEST(pmi_npmi_by_hand_ties_unscored) {
    /* Corpus "ACGACGACGA", k = 3, max_n = 3, min_count = 2.
     *   1-grams (10 positions): A 4, C 3, G 3
     *   2-grams ( 9 positions): AC 3, CG 3, GA 3
     *   3-grams ( 8 positions): ACG 3, CGA 3, GAC 2; every other 3-mer 0.
     * ACG: ln p = ln(3/8); segmentations
     *   A|CG  = ln(4/10 · 3/9)        = ln(2/15)   ← best
     *   AC|G  = ln(3/9 · 3/10)        = ln(1/10)
     *   A|C|G = ln(4/10 · 3/10 · 3/10) = ln(9/250)
     *   PMI = ln(3/8) − ln(2/15) = ln(45/16) = 1.0340737675305...
     *   NPMI = PMI · ln 3 / (ln 3 + ln 2) = ln(45/16)·ln 3/ln 6 = 0.6340388...
     * CGA: C|GA = ln(1/10), CG|A = ln(3/9 · 4/10) = ln(2/15) ← best, C|G|A = ln(9/250):
     *   the same PMI and NPMI as ACG: a tie, broken alphabetically (ACG first).
     * GAC: ln p = ln(2/8); G|AC = GA|C = ln(1/10) (best, tied), G|A|C = ln(9/250)
     *   PMI = ln(2/8 · 10) = ln(5/2) = 0.91629073...; NPMI = PMI · ln2/(ln2 + ln2) = ln(5/2)/2.
     * Then the 61 unscored 3-mers (count 0 < 2), alphabetically: AAA, AAC, ... */
    const char *recs[] = {"ACGACGACGA"};
    ngram_counts nc;
    pt_count(&nc, 3, 2, recs, 1);
    pmi_row rows[64];
    REQUIRE(pmi_rank(&nc, 3, 2, rows) == 0);
    double pmi_acg = log(45.0 / 16.0), npmi_acg = log(45.0 / 16.0) * log(3.0) / log(6.0);
    EXPECT(fabs(pmi_acg - 1.0340737675305) < 1e-12 && fabs(npmi_acg - 0.6340388) < 1e-6);
    char s[4];
    ngram_string(rows[0].kmer, 3, s);
    EXPECT_STR_EQ(s, "ACG");
    ngram_string(rows[1].kmer, 3, s);
    EXPECT_STR_EQ(s, "CGA");
    ngram_string(rows[2].kmer, 3, s);
    EXPECT_STR_EQ(s, "GAC");
    EXPECT(fabs(rows[0].pmi - pmi_acg) < 1e-12 && fabs(rows[0].npmi - npmi_acg) < 1e-12);
    EXPECT(fabs(rows[1].pmi - pmi_acg) < 1e-12 && fabs(rows[1].npmi - npmi_acg) < 1e-12);
    EXPECT(fabs(rows[2].pmi - log(2.5)) < 1e-12 && fabs(rows[2].npmi - log(2.5) / 2) < 1e-12);
    EXPECT_EQ_INT(rows[0].count, 3);
    EXPECT_EQ_INT(rows[2].count, 2);
    ngram_string(rows[3].kmer, 3, s);
    EXPECT_STR_EQ(s, "AAA");
    EXPECT(isnan(rows[3].npmi) && isnan(rows[3].pmi));
    ngram_string(rows[63].kmer, 3, s);
    EXPECT_STR_EQ(s, "TTT");
    for (int i = 0; i < 64; i++) EXPECT_EQ_INT(rows[i].rank, i + 1);
    EXPECT(pt_find(rows, 3, "GAC") == &rows[2]);

    /* bad k and min_count are user errors */
    EXPECT(pmi_rank(&nc, 4, 2, rows) == -1); /* k > max_n */
    EXPECT(pmi_rank(&nc, 1, 2, rows) == -1);
    EXPECT(pmi_rank(&nc, 3, 1, rows) == -1);
    ngram_counts_free(&nc);
}

TEST(pmi_unscored_by_count_then_kmer) {
    /* min_count 5 scores nothing here: 3-mers TTT 3 (in "TTTTT"), CCC 1, GGG 1,
     * AAC 1 (in "AACN..."): order TTT, then the count-1 ones alphabetically
     * (AAC, CCC, GGG), then the zeros alphabetically (AAA, AAG, ...). */
    const char *recs[] = {"TTTTT", "GGG", "CCC", "AACNAC"};
    ngram_counts nc;
    pt_count(&nc, 3, 1, recs, 4);
    pmi_row rows[64];
    REQUIRE(pmi_rank(&nc, 3, 5, rows) == 0);
    const char *want[] = {"TTT", "AAC", "CCC", "GGG", "AAA", "AAG", "AAT", "ACA"};
    for (int i = 0; i < 8; i++) {
        char s[4];
        ngram_string(rows[i].kmer, 3, s);
        EXPECT_STR_EQ(s, want[i]);
        EXPECT(isnan(rows[i].npmi));
    }
    EXPECT_EQ_INT(rows[0].count, 3);
    ngram_counts_free(&nc);
}

TEST(pmi_ranking_file_format) {
    /* 100k random bases, k = 4, min_count 101: most 4-mers scored (≈ 390 each) */
    char *seq = pt_random_seq(100000, 2);
    const char *recs[] = {seq};
    ngram_counts nc;
    pt_count(&nc, 6, 2, recs, 1);
    pmi_row rows[256];
    REQUIRE(pmi_rank(&nc, 4, 101, rows) == 0);
    char path[512];
    snprintf(path, sizeof path, "%s/rank.tsv", test_tmpdir());
    const char *inputs[] = {"a.fa", "b\tc.fa.gz"};
    REQUIRE(pmi_write(path, rows, 4, &nc, 101, inputs, 2) == 0);

    FILE *f = fopen(path, "r");
    REQUIRE(f);
    char line[256];
    const char *head[] = {"# bertc pmi ranking v1\n", "# k=4\n", "# max_n=6\n", "# min_count=101\n"};
    for (int i = 0; i < 4; i++) {
        REQUIRE(fgets(line, sizeof line, f));
        EXPECT_STR_EQ(line, head[i]);
    }
    REQUIRE(fgets(line, sizeof line, f));
    unsigned long long bases = 0;
    EXPECT(sscanf(line, "# bases=%llu", &bases) == 1 && bases == nc.total[1]);
    REQUIRE(fgets(line, sizeof line, f));
    EXPECT_STR_EQ(line, "# input=a.fa\n");
    REQUIRE(fgets(line, sizeof line, f));
    EXPECT_STR_EQ(line, "# input=b?c.fa.gz\n"); /* control bytes replaced */
    REQUIRE(fgets(line, sizeof line, f));
    EXPECT_STR_EQ(line, "kmer\trank\tnpmi\tpmi\tcount\n");
    int seen[256] = {0}, nrows = 0, n_nan = 0;
    double prev = INFINITY;
    while (fgets(line, sizeof line, f)) {
        char kmer[16], snpmi[64], spmi[64];
        unsigned rank;
        unsigned long long count;
        REQUIRE(sscanf(line, "%15[^\t]\t%u\t%63[^\t]\t%63[^\t]\t%llu\n", kmer, &rank, snpmi, spmi, &count) == 5);
        EXPECT_EQ_INT(rank, nrows + 1); /* sorted by rank, 1…256 */
        int64_t code = ngram_code(kmer, 4);
        REQUIRE(strlen(kmer) == 4 && code >= 0);
        for (int i = 0; i < 4; i++) EXPECT(kmer[i] >= 'A' && kmer[i] <= 'Z');
        seen[code]++;
        EXPECT_EQ_INT(count, nc.count[4][code]);
        if (!strcmp(snpmi, "nan")) {
            EXPECT_STR_EQ(spmi, "nan");
            EXPECT(count < 101);
            n_nan++;
        } else {
            EXPECT(n_nan == 0); /* unscored rows come last */
            double v = strtod(snpmi, NULL);
            EXPECT(v <= prev);
            prev = v;
            /* %.9g round-trips to 9 significant digits */
            EXPECT(fabs(v - rows[nrows].npmi) <= 1e-8 * fabs(rows[nrows].npmi) + 1e-300);
        }
        nrows++;
    }
    fclose(f);
    EXPECT_EQ_INT(nrows, 256);
    for (int i = 0; i < 256; i++) EXPECT_EQ_INT(seen[i], 1);
    ngram_counts_free(&nc);
    free(seq);
}

/* ---- bertc pmi (needs ./bertc) ------------------------------------------------ */

TEST(pmi_cli_ranks_fasta_and_refuses_bad_input) {
    if (access("./bertc", X_OK) != 0) {
        EXPECT_MSG(0, "./bertc not built");
        return;
    }
    const char *d = test_tmpdir();
    /* the hand example above (pmi_npmi_by_hand_ties_unscored) as one FASTA record
     * folded over two lines, and as gzip FASTQ: ACG, CGA, GAC first, both alike */
    char path[512];
    snprintf(path, sizeof path, "%s/a.fa", d);
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fputs(">r1 hand example\nACGAC\nGACGA\n", f);
    fclose(f);
    REQUIRE(test_sh("printf '@q1\\nACGACGACGA\\n+\\nIIIIIIIIII\\n' | gzip > %s/b.fq.gz", d) == 0);
    REQUIRE(test_sh("./bertc pmi -q --k 3 --max-n 3 --min-count 2 -o %s/a.tsv %s/a.fa", d, d) == 0);
    REQUIRE(test_sh("./bertc pmi -q --k 3 --max-n 3 --min-count 2 --threads 3 -o %s/b.tsv %s/b.fq.gz", d, d) == 0);
    EXPECT(test_sh("grep -v '^#' %s/a.tsv | head -4 | cut -f1,2,5 | tr '\\t\\n' ',;' | "
                   "grep -qx 'kmer,rank,count;ACG,1,3;CGA,2,3;GAC,3,2;'", d) == 0);
    EXPECT(test_sh("grep -v '^# input' %s/a.tsv > %s/a.cut && grep -v '^# input' %s/b.tsv > %s/b.cut && "
                   "cmp -s %s/a.cut %s/b.cut", d, d, d, d, d, d) == 0);
    EXPECT(test_sh("grep -qx '# bases=10' %s/a.tsv", d) == 0);
    EXPECT(test_sh("test $(grep -vc '^#' %s/a.tsv) = 65", d) == 0); /* header + 4^3 rows */

    /* errors: exit 1, message on stderr, no output file (nor temporary) left */
    const char *bad[] = {
        "--bogus", "--k 1", "--k 11", "--k 7 --max-n 6", "--min-count 1", "--threads 0", "--k x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        EXPECT_MSG(test_sh("./bertc pmi -q %s -o %s/bad.tsv %s/a.fa 2>/dev/null", bad[i], d, d) == 1, "%s", bad[i]);
        EXPECT_MSG(test_sh("ls %s | grep -q bad", d) != 0, "%s left a file", bad[i]);
    }
    EXPECT(test_sh("./bertc pmi -q -o %s/bad.tsv %s/missing.fa 2>/dev/null", d, d) == 1);
    EXPECT(test_sh("printf 'not a sequence file\\n' > %s/junk.txt", d) == 0);
    EXPECT(test_sh("./bertc pmi -q -o %s/bad.tsv %s/a.fa %s/junk.txt 2>/dev/null", d, d, d) == 1);
    EXPECT(test_sh("./bertc pmi -q %s/a.fa 2>/dev/null", d) == 1); /* no -o */
    EXPECT(test_sh("ls %s | grep -q bad", d) != 0);
}
