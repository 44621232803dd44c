/* test_masking_dna.c — the span strategies of masking.h (contiguous, genemask,
 * genemask-reference; spec genemask.md §2–3), the NPMI ranking reader and the
 * loader with them.
 *
 * The masks are checked against a second implementation written here straight
 * from the spec (offset lists, a record per centre, a sort of the records), fed
 * with the centres that the documented key layout draws, so they must agree
 * exactly; the masked ratios are checked against the same plain implementation
 * run on an independent random source, within Monte-Carlo error. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../src/core/err.h"
#include "../src/core/rng.h"
#include "../src/data/loader.h"
#include "../src/data/masking.h"
#include "../src/data/pmi_rank.h"
#include "../src/text/kmer.h"
#include "../src/data/shard.h"
#include "test.h"

enum { PAD = 0, UNK = 1, CLS = 2, SEP = 3, MSK = 4, K1 = 5, NK = 4096, V = 4101 };

static void dna_cfg(mask_config *c, mask_strategy st, float ratio, const int32_t *rank) {
    mask_config_default(c);
    c->strategy = st;
    c->ratio = ratio;
    c->kmer = 6;
    c->rank = rank;
    c->mask_id = MSK;
    c->n_random = V;
    c->special[0] = CLS;
    c->special[1] = SEP;
    c->special[2] = PAD;
    c->n_special = 3;
    c->seed = 23;
}

/* xorshift64*: the tests' own random numbers, independent of Philox. */
static uint64_t xs(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}
static double xs_unit(uint64_t *s) { return (double)(xs(s) >> 11) * (1.0 / 9007199254740992.0); }

/* A random permutation of 1 … NK (rank by k-mer index). */
static void random_ranks(int32_t *rank, uint64_t seed) {
    for (int i = 0; i < NK; i++) rank[i] = i + 1;
    for (int i = NK - 1; i > 0; i--) {
        int j = (int)(xs(&seed) % (uint64_t)(i + 1));
        int32_t t = rank[i];
        rank[i] = rank[j];
        rank[j] = t;
    }
}

/* [CLS] random k-mer ids (a few [UNK]) [SEP] [PAD]*npad; n = total length. */
static void random_dna_seq(int32_t *ids, int n, int npad, uint64_t *s) {
    ids[0] = CLS;
    for (int i = 1; i < n - npad - 1; i++) ids[i] = xs(s) % 50 == 0 ? UNK : K1 + (int32_t)(xs(s) % NK);
    ids[n - npad - 1] = SEP;
    for (int i = n - npad; i < n; i++) ids[i] = PAD;
}

/* ---- the spec, written out plainly ---------------------------------------------- */

static const int list6[5] = {-2, -1, 1, 2, 3};                    /* MASK_LIST[6] */
static const int list11[10] = {-5, -4, -3, -2, -1, 1, 2, 3, 4, 5}; /* mask_list_11 */

typedef struct { int rank, q, c; } rec;

static int rec_cmp(const void *a, const void *b) {
    const rec *x = a, *y = b;
    if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
    return x->c < y->c ? -1 : x->c > y->c; /* ascending centre position */
}

static int spec_rank(mask_strategy st, const int32_t *ids, int p, const int32_t *rank, int ref_unknown) {
    if (st == MASK_GENEMASK) return ids[p] >= K1 && ids[p] < K1 + NK ? rank[ids[p] - K1] : NK + 1;
    return p >= K1 && p < K1 + NK ? rank[p - K1] : ref_unknown; /* the position as an id */
}

/* masked[p] = 1 for the union of spans, given the centres (centre[p] = 1). */
static void spec_mask(mask_strategy st, const int32_t *ids, int n, const char *centre, const int32_t *rank,
                      int ref_unknown, char *masked) {
    int end = 0;
    for (int p = 0; p < n; p++)
        if (ids[p] != CLS && ids[p] != SEP && ids[p] != PAD) end = p;
    memset(masked, 0, (size_t)n);
    rec *recs = malloc((size_t)n * sizeof *recs);
    int m = 0;
    for (int c = 1; c <= end; c++) {
        if (!centre[c]) continue;
        masked[c] = 1;
        int q = c, best = spec_rank(st, ids, c, rank, ref_unknown);
        for (int j = 0; j < 5; j++) {
            int p = c + list6[j];
            if (p < 1 || p > end) continue;
            masked[p] = 1;
            int r = spec_rank(st, ids, p, rank, ref_unknown);
            if (r < best) best = r, q = p;
        }
        recs[m++] = (rec){best, q, c};
    }
    if (st != MASK_CONTIGUOUS && m > 0) {
        int s = (m + 1) / 2;
        if (s < 5) s = m;
        else qsort(recs, (size_t)m, sizeof *recs, rec_cmp);
        for (int i = 0; i < s; i++)
            for (int j = 0; j < 10; j++) {
                int p = recs[i].q + list11[j];
                if (p >= 1 && p <= end) masked[p] = 1;
            }
    }
    free(recs);
}

/* The centres the key layout draws: lane 0 of block (seq << 20 | p) < ratio, on maskable p. */
static void philox_centres(const int32_t *ids, int n, float ratio, uint64_t seed, uint32_t step, uint64_t seq, char *centre) {
    rng_key k = {.seed = seed, .stream = RNG_STREAM_MASK, .step = step};
    for (int p = 0; p < n; p++)
        centre[p] = ids[p] != CLS && ids[p] != SEP && ids[p] != PAD && rng_uniform(k, ((seq << 20) | (uint64_t)p) * 4) < ratio;
}

/* Runs mask_sequence and turns its rows into masked[] (checking targets and ids). */
static int fast_mask(const mask_config *c, uint32_t step, uint64_t seq, const int32_t *orig, int n, char *masked) {
    int32_t *ids = malloc((size_t)n * 4), *rows = malloc((size_t)n * 4), *tg = malloc((size_t)n * 4);
    memcpy(ids, orig, (size_t)n * 4);
    int m = mask_sequence(c, step, seq, ids, n, 1000, rows, tg), bad = 0;
    memset(masked, 0, (size_t)n);
    for (int j = 0; j < m; j++) {
        int p = rows[j] - 1000;
        if (p < 0 || p >= n || (j && rows[j] <= rows[j - 1]) || tg[j] != orig[p]) { bad++; continue; }
        masked[p] = 1;
    }
    for (int p = 0; p < n; p++)
        if (!masked[p] && ids[p] != orig[p]) bad++; /* unmasked positions keep their id */
    free(ids);
    free(rows);
    free(tg);
    return bad ? -1 : m;
}

TEST(masking_dna_strategies_equal_the_spec) {
    static int32_t rank[NK];
    random_ranks(rank, 7);
    enum { N = 512, S = 300 };
    int32_t ids[N];
    char centre[N], want[N], got[N];
    const mask_strategy sts[] = {MASK_CONTIGUOUS, MASK_GENEMASK, MASK_GENEMASK_REF, MASK_GENEMASK_REF};
    uint64_t xsd = 99;
    for (int t = 0; t < 4; t++) {
        mask_config c;
        /* a high centre probability too, so that s ≥ 5 and the high set is a real choice */
        for (int hi = 0; hi < 2; hi++) {
            dna_cfg(&c, sts[t], hi ? 0.06f : (sts[t] == MASK_CONTIGUOUS ? 0.025f : 0.0176f), rank);
            c.ref_unknown_rank = t == 3 ? 4000 : 0;
            REQUIRE(mask_config_check(&c) == 0);
            int diff = 0, high_cases = 0;
            for (int s = 0; s < S; s++) {
                int len = 20 + (int)(xs(&xsd) % (N - 20)), npad = s % 3 ? 0 : 5;
                random_dna_seq(ids, len, npad, &xsd);
                philox_centres(ids, len, c.ratio, c.seed, 3, (uint64_t)s, centre);
                int m = 0;
                for (int p = 0; p < len; p++) m += centre[p];
                high_cases += m >= 9;
                spec_mask(sts[t], ids, len, centre, rank, c.ref_unknown_rank, want);
                REQUIRE(fast_mask(&c, 3, (uint64_t)s, ids, len, got) >= 0);
                diff += memcmp(want, got, (size_t)len) != 0;
            }
            EXPECT_MSG(diff == 0, "strategy %s (ratio %.4f): %d of %d sequences differ from the spec", mask_strategy_name(sts[t]),
                       c.ratio, diff, S);
            if (hi && t) EXPECT(high_cases > S / 2);
        }
    }
}

/* Masked fraction of the maskable positions: the fast code on Philox vs the plain
 * code on xorshift, each over S 512-token sequences; also the spec's figures. */
TEST(masking_dna_ratio_matches_the_spec_in_monte_carlo) {
    static int32_t rank[NK];
    random_ranks(rank, 11);
    enum { N = 512, S = 3000 };
    const struct { mask_strategy st; float p; double spec; } cases[] = {
        {MASK_CONTIGUOUS, 0.025f, 0.141}, {MASK_GENEMASK, 0.0176f, 0.153}, {MASK_GENEMASK_REF, 0.0176f, -1}};
    int32_t ids[N];
    char centre[N], got[N];
    for (int t = 0; t < 3; t++) {
        mask_config c;
        dna_cfg(&c, cases[t].st, cases[t].p, rank);
        double f[2] = {0}, f2[2] = {0};
        uint64_t xsd = 1234 + (uint64_t)t;
        for (int s = 0; s < S; s++) {
            random_dna_seq(ids, N, 0, &xsd);
            int m = fast_mask(&c, 0, (uint64_t)s, ids, N, got);
            REQUIRE(m >= 0);
            double r = m / (double)(N - 2);
            f[0] += r, f2[0] += r * r;
            for (int p = 0; p < N; p++) centre[p] = p >= 1 && p <= N - 2 && xs_unit(&xsd) < cases[t].p;
            spec_mask(cases[t].st, ids, N, centre, rank, 0, got);
            int n = 0;
            for (int p = 0; p < N; p++) n += got[p];
            r = n / (double)(N - 2);
            f[1] += r, f2[1] += r * r;
        }
        double mean[2], se[2];
        for (int i = 0; i < 2; i++) mean[i] = f[i] / S, se[i] = sqrt((f2[i] / S - mean[i] * mean[i]) / S);
        double tol = 5 * sqrt(se[0] * se[0] + se[1] * se[1]);
        EXPECT_MSG(fabs(mean[0] - mean[1]) < tol, "%s: %.4f (bertc) vs %.4f (plain), 5 s.e. %.4f", mask_strategy_name(c.strategy),
                   mean[0], mean[1], tol);
        /* the spec gives 3 digits: ±0.0005 of rounding plus the Monte-Carlo error */
        if (cases[t].spec > 0)
            EXPECT_MSG(fabs(mean[0] - cases[t].spec) < 0.0005 + 5 * se[0], "%s: %.4f, spec ≈ %.3f", mask_strategy_name(c.strategy),
                       mean[0], cases[t].spec);
    }
}

/* A sequence id whose only centre (ratio p, n tokens, all maskable inside) lies in
 * [lo, hi]; the centre in *c. */
static uint64_t single_centre_seq(const int32_t *ids, int n, float p, uint64_t seed, int lo, int hi, int *c) {
    char centre[600];
    for (uint64_t seq = 0;; seq++) {
        CHECK(seq < 100000, "no sequence with a single centre");
        philox_centres(ids, n, p, seed, 0, seq, centre);
        int m = 0, at = -1;
        for (int i = 0; i < n; i++)
            if (centre[i]) m++, at = i;
        if (m == 1 && at >= lo && at <= hi) {
            *c = at;
            return seq;
        }
    }
}

/* The masked positions as a run [a, b]; -1 if they are not one run. */
static int one_run(const char *masked, int n, int *a, int *b) {
    *a = *b = -1;
    for (int p = 0; p < n; p++)
        if (masked[p]) {
            if (*a < 0) *a = p;
            else if (!masked[p - 1]) return -1;
            *b = p;
        }
    return *a;
}

TEST(masking_dna_span_lengths_and_content_choice) {
    static int32_t rank[NK];
    for (int i = 0; i < NK; i++) rank[i] = i + 1; /* k-mer index i has rank i + 1: low ids are good */
    enum { N = 200 };
    int32_t ids[N];
    char got[N];
    const int32_t poor = K1 + 4000; /* rank 4001 */
    ids[0] = CLS, ids[N - 1] = SEP;
    for (int i = 1; i < N - 1; i++) ids[i] = poor;
    mask_config c;
    int cen, a, b;
    /* contiguous: a lone centre → exactly c−2 … c+3 */
    dna_cfg(&c, MASK_CONTIGUOUS, 0.004f, NULL);
    uint64_t seq = single_centre_seq(ids, N, c.ratio, c.seed, 10, N - 12, &cen);
    REQUIRE(fast_mask(&c, 0, seq, ids, N, got) == 6);
    EXPECT(one_run(got, N, &a, &b) == cen - 2 && b == cen + 3);
    /* … clipped at the ends: a centre at 1 keeps 1 … 4 */
    seq = single_centre_seq(ids, N, c.ratio, c.seed, 1, 1, &cen);
    EXPECT_EQ_INT(fast_mask(&c, 0, seq, ids, N, got), 4);
    EXPECT(one_run(got, N, &a, &b) == 1 && b == 4 && !got[0]);
    /* genemask: the best k-mer of the span by content; its 11-token span */
    dna_cfg(&c, MASK_GENEMASK, 0.004f, rank);
    seq = single_centre_seq(ids, N, c.ratio, c.seed, 10, N - 12, &cen);
    EXPECT_EQ_INT(fast_mask(&c, 0, seq, ids, N, got), 11); /* all equal: the centre itself */
    EXPECT(one_run(got, N, &a, &b) == cen - 5 && b == cen + 5);
    ids[cen - 2] = K1 + 10, ids[cen + 3] = K1 + 2; /* rank 11 first, rank 3 later: the better one wins */
    ids[cen + 4] = K1; /* rank 1, outside the 6-token span: not a candidate */
    EXPECT_EQ_INT(fast_mask(&c, 0, seq, ids, N, got), 11);
    EXPECT(one_run(got, N, &a, &b) == cen + 3 - 5 && b == cen + 3 + 5);
    ids[cen - 1] = K1 + 2; /* a tie at rank 3: the earlier candidate in c, c−2, c−1, …, c+3 order */
    EXPECT_EQ_INT(fast_mask(&c, 0, seq, ids, N, got), 11);
    EXPECT(one_run(got, N, &a, &b) == cen - 1 - 5 && b == cen - 1 + 5);
    /* [UNK] ranks last: a span of [UNK] but one poor k-mer chooses the k-mer */
    for (int p = cen - 2; p <= cen + 3; p++) ids[p] = UNK;
    ids[cen + 1] = K1 + NK - 1; /* rank 4096, the worst k-mer, still beats [UNK] */
    EXPECT_EQ_INT(fast_mask(&c, 0, seq, ids, N, got), 11);
    EXPECT(one_run(got, N, &a, &b) == cen + 1 - 5 && b == cen + 1 + 5);
    /* genemask-reference: ranks by position, whatever the content */
    dna_cfg(&c, MASK_GENEMASK_REF, 0.004f, rank);
    for (int i = 1; i < N - 1; i++) ids[i] = poor;
    seq = single_centre_seq(ids, N, c.ratio, c.seed, 20, N - 12, &cen);
    ids[cen] = K1; /* the best k-mer sits at the centre: the reference does not read it */
    /* rank(p) = rank[p − 5] = p − 4 grows with p: the first candidate, c − 2, wins */
    EXPECT_EQ_INT(fast_mask(&c, 0, seq, ids, N, got), 11);
    EXPECT(one_run(got, N, &a, &b) == cen - 2 - 5 && b == cen - 2 + 5);
    /* genemask: the same sequence chooses the content */
    dna_cfg(&c, MASK_GENEMASK, 0.004f, rank);
    EXPECT_EQ_INT(fast_mask(&c, 0, seq, ids, N, got), 11);
    EXPECT(one_run(got, N, &a, &b) == cen - 5 && b == cen + 5);
}

TEST(masking_dna_reference_mode_small_case) {
    /* [CLS] x*18 [SEP], a lone centre at 3: candidates 3, 1, 2, 4, 5, 6 (positions as ids). */
    static int32_t rank[NK];
    for (int i = 0; i < NK; i++) rank[i] = i + 1; /* position 5 → rank 1, position 6 → rank 2 */
    enum { N = 20 };
    int32_t ids[N];
    char got[N];
    ids[0] = CLS, ids[N - 1] = SEP;
    for (int i = 1; i < N - 1; i++) ids[i] = K1 + 77; /* rank 78 by content */
    ids[4] = K1; /* rank 1 by content at position 4: ignored by the reference */
    mask_config c;
    dna_cfg(&c, MASK_GENEMASK_REF, 0.02f, rank);
    int cen, a, b;
    uint64_t seq = single_centre_seq(ids, N, c.ratio, c.seed, 3, 3, &cen);
    /* positions 1 … 4 rank 0 (defaultdict): the centre itself (rank 0, first) wins → 1 … 8 */
    EXPECT_EQ_INT(fast_mask(&c, 0, seq, ids, N, got), 8);
    EXPECT(one_run(got, N, &a, &b) == 1 && b == 8);
    /* 4000 (the intended fallback): position 5 (rank 1) wins → 0 … 10, clipped to 1 … 10 */
    c.ref_unknown_rank = 4000;
    EXPECT_EQ_INT(fast_mask(&c, 0, seq, ids, N, got), 10);
    EXPECT(one_run(got, N, &a, &b) == 1 && b == 10);
    /* content mode picks position 4 (rank 1) → 1 … 9 */
    dna_cfg(&c, MASK_GENEMASK, 0.02f, rank);
    EXPECT_EQ_INT(fast_mask(&c, 0, seq, ids, N, got), 9);
    EXPECT(one_run(got, N, &a, &b) == 1 && b == 9);
}

/* Expected union of spans when the centres cs[0..m) have q = c and high[j] says
 * which are in the high set (within 1 … last). */
static void spans_at_centres(const int *cs, int m, const char *high, int last, char *want, int n) {
    memset(want, 0, (size_t)n);
    for (int j = 0; j < m; j++)
        for (int p = cs[j] - (high[j] ? 5 : 2); p <= cs[j] + (high[j] ? 5 : 3); p++)
            if (p >= 1 && p <= last) want[p] = 1;
}

/* 1 if position x lies in the 6-token span of a centre other than cs[self]. */
static int in_other_span(const int *cs, int m, int self, int x) {
    for (int j = 0; j < m; j++)
        if (j != self && x >= cs[j] - 2 && x <= cs[j] + 3) return 1;
    return 0;
}

TEST(masking_dna_high_set_takes_the_best_ranked_half) {
    /* Many centres (m ≥ 10, so s = ⌈m/2⌉ ≥ 5), every token the same rank-3001 k-mer
     * but one rank-1 token at a centre: the high set is that centre plus the
     * earliest others (equal ranks: ascending position), each q = its centre. */
    static int32_t rank[NK];
    for (int i = 0; i < NK; i++) rank[i] = i + 1;
    enum { N = 400 };
    int32_t ids[N];
    char centre[N], got[N], want[N], high[N];
    int cs[N], tested = 0;
    mask_config c;
    dna_cfg(&c, MASK_GENEMASK, 0.03f, rank);
    ids[0] = CLS, ids[N - 1] = SEP;
    for (int seq = 0; seq < 60; seq++) {
        for (int i = 1; i < N - 1; i++) ids[i] = K1 + 3000;
        philox_centres(ids, N, c.ratio, c.seed, 0, (uint64_t)seq, centre);
        int m = 0;
        for (int i = 0; i < N; i++)
            if (centre[i]) cs[m++] = i;
        /* the rank-1 token must be a candidate of its own centre only */
        if (m < 10 || in_other_span(cs, m, 0, cs[0]) || in_other_span(cs, m, m - 1, cs[m - 1])) continue;
        tested++;
        int s = (m + 1) / 2;
        ids[cs[0]] = K1; /* the first centre is best: high = the first s centres */
        for (int j = 0; j < m; j++) high[j] = j < s;
        spans_at_centres(cs, m, high, N - 2, want, N);
        REQUIRE(fast_mask(&c, 0, (uint64_t)seq, ids, N, got) >= 0);
        EXPECT_MSG(!memcmp(got, want, N), "sequence %d (%d centres)", seq, m);
        ids[cs[0]] = K1 + 3000; /* the last is best: it enters, the s-th centre drops out */
        ids[cs[m - 1]] = K1;
        for (int j = 0; j < m; j++) high[j] = j < s - 1 || j == m - 1;
        spans_at_centres(cs, m, high, N - 2, want, N);
        REQUIRE(fast_mask(&c, 0, (uint64_t)seq, ids, N, got) >= 0);
        EXPECT_MSG(!memcmp(got, want, N), "sequence %d (%d centres), best last", seq, m);
    }
    EXPECT_MSG(tested >= 5, "only %d sequences had >= 10 separate centres", tested);
}

TEST(masking_dna_never_masks_specials_and_is_deterministic) {
    static int32_t rank[NK];
    random_ranks(rank, 5);
    enum { N = 300 };
    int32_t ids[N], a[N], b[N], ra[N], rb[N], ta[N], tb[N];
    uint64_t xsd = 42;
    const mask_strategy sts[] = {MASK_CONTIGUOUS, MASK_GENEMASK, MASK_GENEMASK_REF};
    for (int t = 0; t < 3; t++) {
        mask_config c;
        dna_cfg(&c, sts[t], 0.5f, rank); /* dense spans reach every edge */
        for (int s = 0; s < 50; s++) {
            random_dna_seq(ids, N, 7, &xsd);
            memcpy(a, ids, sizeof ids);
            memcpy(b, ids, sizeof ids);
            int ma = mask_sequence(&c, 9, (uint64_t)s, a, N, 0, ra, ta);
            int mb = mask_sequence(&c, 9, (uint64_t)s, b, N, 0, rb, tb);
            EXPECT(ma == mb && !memcmp(a, b, sizeof a) && !memcmp(ra, rb, (size_t)ma * 4));
            for (int j = 0; j < ma; j++) {
                int32_t o = ids[ra[j]];
                EXPECT_MSG(o != CLS && o != SEP && o != PAD, "%s masked special %d at %d", mask_strategy_name(sts[t]), o, ra[j]);
            }
            /* another epoch, other draws (at this density the spans may cover everything: compare ids) */
            memcpy(b, ids, sizeof ids);
            mb = mask_sequence(&c, 10, (uint64_t)s, b, N, 0, rb, tb);
            EXPECT(mb != ma || memcmp(a, b, sizeof a) != 0);
        }
    }
    /* no maskable token: nothing */
    mask_config c;
    dna_cfg(&c, MASK_GENEMASK, 1.0f, rank);
    int32_t sp[4] = {CLS, SEP, PAD, PAD};
    EXPECT_EQ_INT(mask_sequence(&c, 0, 0, sp, 4, 0, ra, ta), 0);
}

TEST(masking_dna_config_checks) {
    static int32_t rank[NK];
    random_ranks(rank, 1);
    mask_config c;
    dna_cfg(&c, MASK_GENEMASK, 0.0176f, NULL);
    EXPECT(mask_config_check(&c) != 0 && strstr(err_msg(), "mask.pmi_ranking"));
    dna_cfg(&c, MASK_CONTIGUOUS, 0.025f, NULL);
    EXPECT(mask_config_check(&c) == 0);
    c.kmer = 7;
    EXPECT(mask_config_check(&c) != 0 && strstr(err_msg(), "kmer"));
    dna_cfg(&c, MASK_GENEMASK_REF, 0.0176f, rank);
    c.ref_unknown_rank = NK + 2;
    EXPECT(mask_config_check(&c) != 0 && strstr(err_msg(), "ref_unknown_rank"));
    rank[5] = 0;
    dna_cfg(&c, MASK_GENEMASK, 0.0176f, rank);
    EXPECT(mask_config_check(&c) != 0 && strstr(err_msg(), "rank of k-mer 5"));
    mask_strategy st;
    EXPECT(mask_strategy_parse("genemask-reference", &st) == 0 && st == MASK_GENEMASK_REF);
    EXPECT(mask_strategy_parse("random", &st) == 0 && st == MASK_RANDOM);
    EXPECT(mask_strategy_parse("pmi", &st) != 0 && strstr(err_msg(), "mask.strategy"));
}

TEST(masking_dna_cost_per_sequence) {
    /* Informational: ns per 512-token sequence (printed), with a loose ceiling. */
    static int32_t rank[NK];
    random_ranks(rank, 3);
    enum { N = 512, S = 2000 };
    static int32_t seqs[S][N];
    int32_t ids[N], rows[N], tg[N];
    uint64_t xsd = 8;
    for (int s = 0; s < S; s++) random_dna_seq(seqs[s], N, 0, &xsd);
    const struct { mask_strategy st; float p; } cases[] = {{MASK_RANDOM, 0.15f}, {MASK_CONTIGUOUS, 0.025f}, {MASK_GENEMASK, 0.0176f}};
    for (int t = 0; t < 3; t++) {
        mask_config c;
        dna_cfg(&c, cases[t].st, cases[t].p, rank);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        long m = 0;
        for (int s = 0; s < S; s++) {
            memcpy(ids, seqs[s], sizeof ids);
            m += mask_sequence(&c, 0, (uint64_t)s, ids, N, 0, rows, tg);
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ns = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / S;
        printf("  %s: %.0f ns per 512-token sequence, one thread (%.1f%% masked)\n", mask_strategy_name(c.strategy), ns,
               100.0 * m / ((double)S * (N - 2)));
        EXPECT_MSG(ns < 1e6, "%s: %.0f ns per sequence", mask_strategy_name(c.strategy), ns);
    }
}

/* ---- the ranking file ----------------------------------------------------------- */

/* Writes a ranking for k at name (rows in a scrambled order); edit: called per row
 * with the row text to change it; returns the path (a static buffer, valid until the next call). */
static const char *write_ranking(const char *name, int k, const char *extra_head, void (*edit)(char *row, int i)) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", test_tmpdir(), name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, path);
    fprintf(f, "# bertc pmi ranking v1\n# k=%d\n# min_count=101\n%skmer\trank\tnpmi\tpmi\tcount\n", k, extra_head);
    int n = 1 << (2 * k);
    for (int j = 0; j < n; j++) {
        int i = (j * 37 + 11) % n; /* 37 is odd: a permutation of the rows */
        char km[8], row[128];
        kmer_string(i, k, km);
        snprintf(row, sizeof row, "%s\t%d\t%.9g\t%s\t%d", km, n - i, 1.0 - i * 0.001, i % 5 ? "0.25" : "nan", 101 + i);
        if (edit) edit(row, i);
        fprintf(f, "%s\n", row);
    }
    fclose(f);
    return path;
}

static void edit_crlf(char *row, int i) { strcat(row, "\r"); }
static void edit_dup_kmer(char *row, int i) { if (i == 3) memcpy(row, "AAA", 3); }      /* index 3 → AAA (index 0) */
static void edit_dup_rank(char *row, int i) { if (i == 3) snprintf(row, 64, "AAG\t64\t0\t0\t1"); } /* rank of AAA */
static void edit_rank0(char *row, int i) { if (i == 2) snprintf(row, 64, "AAC\t0\t0\t0\t1"); }
static void edit_lower(char *row, int i) { if (i == 1) row[2] = 't'; }
static void edit_n(char *row, int i) { if (i == 1) row[2] = 'N'; }
static void edit_len(char *row, int i) { if (i == 1) snprintf(row, 64, "AAAT\t63\t0\t0\t1"); }
static void edit_fields(char *row, int i) { if (i == 1) strcat(row, "\textra"); }
static void edit_npmi(char *row, int i) { if (i == 1) snprintf(row, 64, "AAT\t63\tabc\t0\t1"); }
static void edit_count(char *row, int i) { if (i == 1) snprintf(row, 64, "AAT\t63\t0\t0\t-1"); }
static void edit_drop(char *row, int i) { if (i == 9) row[0] = '#'; } /* comments out one row: ACT (0 2 1) missing */

TEST(pmi_rank_reads_good_files) {
    static int32_t rank[NK];
    const char *p = write_ranking("good6.tsv", 6, "", NULL);
    REQUIRE(pmi_rank_load(p, 6, rank) == 0);
    int ok = 1;
    for (int i = 0; i < NK; i++) ok &= rank[i] == NK - i;
    EXPECT(ok);
    int32_t r3[64];
    p = write_ranking("crlf3.tsv", 3, "# a comment\n", edit_crlf);
    EXPECT_MSG(pmi_rank_load(p, 3, r3) == 0, "%s", err_msg());
    EXPECT(r3[0] == 64 && r3[63] == 1);
    /* the index order is DNABERT's: A T C G */
    EXPECT_EQ_INT(kmer_index("AAAAAA", 6), 0);
    EXPECT_EQ_INT(kmer_index("AAAAAT", 6), 1);
    EXPECT_EQ_INT(kmer_index("AAAAAG", 6), 3);
    EXPECT_EQ_INT(kmer_index("AAAATA", 6), 4);
    EXPECT_EQ_INT(kmer_index("GGGGGG", 6), 4095);
    EXPECT_EQ_INT(kmer_index("AAANAA", 6), -1);
    char s[8];
    kmer_string(kmer_index("CCTCCC", 6), 6, s);
    EXPECT_STR_EQ(s, "CCTCCC");
}

TEST(pmi_rank_refuses_malformed_files) {
    int32_t r3[64];
    const struct { const char *name, *head; void (*edit)(char *, int); int k; const char *want; } bad[] = {
        {"dupk.tsv", "", edit_dup_kmer, 3, "kmer AAA repeated (first on line"},
        {"dupr.tsv", "", edit_dup_rank, 3, "rank 64 repeated"},
        {"rank0.tsv", "", edit_rank0, 3, "rank '0' must be an integer in [1, 64]"},
        {"lower.tsv", "", edit_lower, 3, "is not 3 letters of ACGT"},
        {"n.tsv", "", edit_n, 3, "is not 3 letters of ACGT"},
        {"len.tsv", "", edit_len, 3, "'AAAT' is not 3 letters"},
        {"fields.tsv", "", edit_fields, 3, "more than 5 tab-separated fields"},
        {"npmi.tsv", "", edit_npmi, 3, "npmi 'abc' is not a number"},
        {"count.tsv", "", edit_count, 3, "count '-1' is not an unsigned integer"},
        {"drop.tsv", "", edit_drop, 3, "63 rows, expected 4^3 = 64 (kmer ACT is missing)"},
        {"k.tsv", "", NULL, 4, "the ranking is for k=3, the run uses k=4"},
        {"head.tsv", "kmer\trank\tnpmi\n", NULL, 3, ":4: expected the header"},
    };
    for (size_t t = 0; t < sizeof bad / sizeof *bad; t++) {
        const char *p = write_ranking(bad[t].name, 3, bad[t].head, bad[t].edit);
        int32_t big[256];
        EXPECT_MSG(pmi_rank_load(p, bad[t].k, bad[t].k == 3 ? r3 : big) != 0 && strstr(err_msg(), bad[t].want) &&
                       strstr(err_msg(), bad[t].name),
                   "%s: got '%s'", bad[t].name, err_msg());
    }
    /* line numbers: the 4 head lines, then rows; the repeat of AAA is on row j with (j·37 + 11) % 64 = 3 */
    const char *p = write_ranking("dupline.tsv", 3, "", edit_dup_kmer);
    int j = 0;
    while ((j * 37 + 11) % 64 != 3) j++;
    int j0 = 0;
    while ((j0 * 37 + 11) % 64 != 0) j0++;
    char want[64];
    snprintf(want, sizeof want, "dupline.tsv:%d: kmer AAA repeated (first on line %d)", 5 + (j > j0 ? j : j0), 5 + (j > j0 ? j0 : j));
    EXPECT_MSG(pmi_rank_load(p, 3, r3) != 0 && strstr(err_msg(), want), "want '%s', got '%s'", want, err_msg());
    /* magic, empty, missing */
    char q[512];
    snprintf(q, sizeof q, "%s/nomagic.tsv", test_tmpdir());
    FILE *f = fopen(q, "w");
    fputs("kmer\trank\tnpmi\tpmi\tcount\n", f);
    fclose(f);
    EXPECT(pmi_rank_load(q, 3, r3) != 0 && strstr(err_msg(), "nomagic.tsv:1: not a bertc pmi ranking"));
    f = fopen(q, "w");
    fputs("# bertc pmi ranking v1\n", f);
    fclose(f);
    EXPECT(pmi_rank_load(q, 3, r3) != 0 && strstr(err_msg(), "end of file before the header"));
    snprintf(q, sizeof q, "%s/absent.tsv", test_tmpdir());
    EXPECT(pmi_rank_load(q, 3, r3) != 0 && strstr(err_msg(), "absent.tsv: cannot open"));
}

/* ---- the loader with the span strategies ------------------------------------------ */

/* Writes documents dp[0..nd) (len[d] k-mer ids each) as shard NAME in the test's directory;
 * returns its path (a static buffer, valid until the next call). */
static const char *write_dna_shard(const char *name, int nd, const uint32_t *const *dp, const int *len) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", test_tmpdir(), name);
    shard_writer w;
    shard_writer_init(&w, V, 0xD7Aull);
    for (int d = 0; d < nd; d++) CHECK(shard_writer_add(&w, dp[d], (size_t)len[d]) == 0, "shard add");
    CHECK(shard_writer_flush(&w, path) == 0, "shard flush");
    shard_writer_free(&w);
    return path;
}

/* The loader settings of these tests: 512-token rows of the 6-mer vocabulary, specials
 * [CLS] [SEP] [PAD] never masked. */
static void dna_loader_config(loader_config *c) {
    loader_config_default(c);
    c->max_len = 512;
    c->cls_id = CLS, c->sep_id = SEP, c->vocab_size = V, c->vocab_hash = 0xD7Aull;
    c->mask.mask_id = MSK, c->mask.n_random = V;
    c->mask.special[0] = CLS, c->mask.special[1] = SEP, c->mask.special[2] = PAD, c->mask.n_special = 3;
}

TEST(loader_genemask_masks_independent_of_batch_and_threads) {
    enum { ND = 150, MAXL = 600 };
    static uint32_t docs[ND][MAXL];
    const uint32_t *dp[ND];
    int len[ND];
    uint64_t xsd = 77;
    for (int d = 0; d < ND; d++) {
        len[d] = d % 10 ? 200 + (int)(xs(&xsd) % (MAXL - 200)) : 1 + (int)(xs(&xsd) % 20);
        for (int i = 0; i < len[d]; i++) docs[d][i] = K1 + (uint32_t)(xs(&xsd) % NK);
        dp[d] = docs[d];
    }
    const char *path = write_dna_shard("dna.bin", ND, dp, len);
    loader_config c;
    dna_loader_config(&c);
    c.mask.strategy = MASK_GENEMASK;
    c.mask.ratio = 0.05f;
    c.eval = 1;
    /* no ranking: refused; a bad one: its path:line */
    EXPECT(loader_open(&c, &path, 1) == NULL && strstr(err_msg(), "mask.pmi_ranking"));
    c.pmi_ranking = write_ranking("loaderbad.tsv", 6, "", edit_fields);
    EXPECT(loader_open(&c, &path, 1) == NULL && strstr(err_msg(), "loaderbad.tsv:") && strstr(err_msg(), "fields"));
    c.pmi_ranking = write_ranking("loader6.tsv", 6, "", NULL); /* (write_ranking's path buffer is static) */
    static int32_t out[4][ND * 512];
    int n[4] = {0}, M[4] = {0};
    const int bs[4] = {3, 3, 64, 64}, thr[4] = {1, 4, 1, 4}, pf[4] = {0, 0, 1, 1}; /* 64 rows ≥ 16K tokens: parallel */
    for (int v = 0; v < 4; v++) {
        c.batch_size = bs[v];
        c.prefetch = pf[v];
        c.threads = thr[v];
        loader *l = loader_open(&c, &path, 1);
        EXPECT_MSG(l != NULL, "%s", err_msg());
        if (!l) break;
        const loader_batch *lb;
        while (loader_next(l, &lb) == 1) {
            for (int j = 0; j < lb->b.M; j++) /* every row is masked, and holds [MASK], a random id or its target */
                EXPECT(lb->b.mlm_rows[j] >= 0 && lb->b.mlm_rows[j] < lb->b.T && (j == 0 || lb->b.mlm_rows[j] > lb->b.mlm_rows[j - 1]));
            memcpy(out[v] + n[v], lb->b.ids, (size_t)lb->b.T * 4);
            n[v] += lb->b.T;
            M[v] += lb->b.M;
        }
        loader_close(l);
    }
    EXPECT(M[0] > 0);
    for (int v = 1; v < 4; v++)
        EXPECT_MSG(n[v] == n[0] && M[v] == M[0] && !memcmp(out[v], out[0], (size_t)n[0] * 4), "variant %d differs", v);
}

TEST(loader_masking_cost_per_sequence) {
    /* Informational: loader time per 512-token sequence (build + mask), one thread and all. */
    enum { ND = 512, L = 510 };
    static uint32_t docs[ND][L];
    const uint32_t *dp[ND];
    int len[ND];
    uint64_t xsd = 5;
    for (int d = 0; d < ND; d++) {
        for (int i = 0; i < L; i++) docs[d][i] = K1 + (uint32_t)(xs(&xsd) % NK);
        dp[d] = docs[d], len[d] = L;
    }
    const char *path = write_dna_shard("cost.bin", ND, dp, len);
    loader_config c;
    dna_loader_config(&c);
    c.batch_size = 64, c.eval = 1, c.prefetch = 0;
    c.pmi_ranking = write_ranking("cost6.tsv", 6, "", NULL);
    int saved = omp_get_max_threads();
    for (int t = 0; t < 2; t++) {
        for (int st = 0; st < 2; st++) {
            c.mask.strategy = st ? MASK_GENEMASK : MASK_RANDOM;
            c.mask.ratio = st ? 0.0176f : 0.15f;
            c.threads = t ? saved : 1;
            loader *l = loader_open(&c, &path, 1);
            REQUIRE(l != NULL);
            const loader_batch *lb;
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            int n = 0;
            while (loader_next(l, &lb) == 1) n += lb->b.B;
            clock_gettime(CLOCK_MONOTONIC, &t1);
            loader_close(l);
            EXPECT_EQ_INT(n, ND);
            printf("  loader, %s, %d thread(s): %.0f ns per 512-token sequence\n", mask_strategy_name(c.mask.strategy),
                   t ? saved : 1, ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / ND);
        }
    }
}
