/* test_masking.c — MLM masking: selection rate, the 80/10/10 split, specials,
 * determinism and dependence on (seed, step, sequence). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/err.h"
#include "../src/core/rng.h"
#include "../src/data/masking.h"
#include "test.h"

enum { CLS = 101, SEP = 102, PAD = 0, MASK = 103, V = 30522 };

static void cfg(mask_config *c, float ratio, uint64_t seed) {
    mask_config_default(c);
    c->ratio = ratio;
    c->mask_id = MASK;
    c->n_random = V;
    c->special[0] = CLS;
    c->special[1] = SEP;
    c->special[2] = PAD;
    c->n_special = 3;
    c->seed = seed;
}

/* A sequence [CLS] w w … w [SEP] [PAD] [PAD] with ordinary ids 1000 + (i·7 mod 20000). */
static int make_seq(int32_t *ids, int n) {
    ids[0] = CLS;
    for (int i = 1; i < n - 3; i++) ids[i] = 1000 + (i * 7) % 20000;
    ids[n - 3] = SEP;
    ids[n - 2] = PAD;
    ids[n - 1] = PAD;
    return n - 4; /* maskable */
}

/* |x − p·N| within k standard errors of a binomial(N, p) count */
static int within(double x, double N, double p, double k) { return fabs(x - p * N) <= k * sqrt(N * p * (1 - p)); }

TEST(masking_rate_and_80_10_10_split) {
    for (int r = 0; r < 2; r++) {
        float ratio = r ? 0.15f : 0.30f;
        mask_config c;
        cfg(&c, ratio, 17);
        REQUIRE(mask_config_check(&c) == 0);
        enum { N = 512, S = 400 };
        int32_t ids[N], orig[N], rows[N], tg[N];
        double maskable = 0, sel = 0, n_mask = 0, n_keep = 0, n_rand = 0;
        for (int s = 0; s < S; s++) {
            maskable += make_seq(orig, N);
            memcpy(ids, orig, sizeof ids);
            int m = mask_sequence(&c, 5, (uint64_t)s, ids, N, 0, rows, tg);
            sel += m;
            for (int j = 0; j < m; j++) {
                int i = rows[j];
                REQUIRE(i >= 0 && i < N);
                EXPECT_EQ_INT(tg[j], orig[i]);
                if (ids[i] == MASK) n_mask++;
                else if (ids[i] == orig[i]) n_keep++;
                else n_rand++;
                REQUIRE(ids[i] >= 0 && ids[i] < V);
            }
            /* unselected positions unchanged */
            int j = 0;
            for (int i = 0; i < N; i++) {
                if (j < m && rows[j] == i) { j++; continue; }
                EXPECT_EQ_INT(ids[i], orig[i]);
            }
        }
        /* 5 standard errors: a false alarm has probability < 1e-6 per check */
        EXPECT_MSG(within(sel, maskable, ratio, 5), "selected %.0f of %.0f (ratio %.2f)", sel, maskable, ratio);
        EXPECT_MSG(within(n_mask, sel, 0.8, 5), "[MASK] %.0f of %.0f", n_mask, sel);
        /* a random id equal to the original (p = 1/V) counts as kept */
        EXPECT_MSG(within(n_keep, sel, 0.1 + 0.1 / V, 5), "kept %.0f of %.0f", n_keep, sel);
        EXPECT_MSG(within(n_rand, sel, 0.1 - 0.1 / V, 5), "random %.0f of %.0f", n_rand, sel);
    }
}

TEST(masking_random_ids_are_uniform_below_n_random) {
    /* everything selected, everything random: ids uniform over [0, 10) */
    mask_config c;
    cfg(&c, 1.0f, 3);
    c.p_mask = 0.0f;
    c.p_random = 1.0f;
    c.n_random = 10;
    c.n_special = 0;
    enum { N = 1000, S = 50 };
    int32_t ids[N], rows[N], tg[N];
    double count[10] = {0};
    for (int s = 0; s < S; s++) {
        for (int i = 0; i < N; i++) ids[i] = 5000;
        EXPECT_EQ_INT(mask_sequence(&c, 0, (uint64_t)s, ids, N, 0, rows, tg), N);
        for (int i = 0; i < N; i++) {
            REQUIRE(ids[i] >= 0 && ids[i] < 10);
            count[ids[i]]++;
        }
    }
    double chi2 = 0, e = N * S / 10.0;
    for (int k = 0; k < 10; k++) chi2 += (count[k] - e) * (count[k] - e) / e;
    EXPECT_MSG(chi2 < 33.7, "chi2 %.1f (9 dof, p = 1e-4 threshold 33.7)", chi2);
}

TEST(masking_never_selects_specials) {
    mask_config c;
    cfg(&c, 1.0f, 99); /* select everything that may be selected */
    int32_t ids[64], orig[64], rows[64], tg[64];
    for (int s = 0; s < 100; s++) {
        for (int i = 0; i < 64; i++) orig[i] = (i % 5 == 0) ? CLS : (i % 5 == 1) ? SEP : (i % 5 == 2) ? PAD : 2000 + i;
        memcpy(ids, orig, sizeof ids);
        int m = mask_sequence(&c, (uint32_t)s, 0, ids, 64, 100, rows, tg);
        EXPECT_EQ_INT(m, 25); /* i%5 ∈ {3, 4} for i < 64: 2 per 5 below 60 (24), plus 63 */
        for (int j = 0; j < m; j++) {
            int i = rows[j] - 100; /* row0 offset */
            EXPECT(i % 5 >= 3);
        }
        for (int i = 0; i < 64; i++)
            if (i % 5 < 3) EXPECT_EQ_INT(ids[i], orig[i]);
    }
}

TEST(masking_is_a_function_of_seed_step_and_sequence) {
    enum { N = 256 };
    mask_config c;
    cfg(&c, 0.3f, 17);
    int32_t a[N], b[N], ra[N], rb[N], ta[N], tb[N];
    make_seq(a, N);
    memcpy(b, a, sizeof a);
    int ma = mask_sequence(&c, 7, 42, a, N, 0, ra, ta);
    int mb = mask_sequence(&c, 7, 42, b, N, 0, rb, tb);
    EXPECT_EQ_INT(ma, mb);
    EXPECT(memcmp(a, b, sizeof a) == 0 && memcmp(ra, rb, (size_t)ma * 4) == 0);
    /* The selection is exactly rng_uniform(key{seed, MASK stream, step}, (seq<<20 | i)·4) < ratio. */
    make_seq(b, N);
    int j = 0;
    for (int i = 0; i < N; i++) {
        if (b[i] == CLS || b[i] == SEP || b[i] == PAD) continue;
        rng_key k = {.seed = 17, .stream = RNG_STREAM_MASK, .step = 7};
        if (rng_uniform(k, ((42ull << 20) | (uint64_t)i) * 4) < 0.3f) {
            REQUIRE(j < ma);
            EXPECT_EQ_INT(ra[j], i);
            j++;
        }
    }
    EXPECT_EQ_INT(j, ma);
    /* other step / sequence / seed / stream → other rows */
    struct { uint32_t step; uint64_t seq, seed; uint32_t stream; } v[] = {{8, 42, 17, 0}, {7, 43, 17, 0}, {7, 42, 18, 0}, {7, 42, 17, 1}};
    for (int t = 0; t < 4; t++) {
        mask_config c2 = c;
        c2.seed = v[t].seed;
        c2.stream = v[t].stream;
        make_seq(b, N);
        int m = mask_sequence(&c2, v[t].step, v[t].seq, b, N, 0, rb, tb);
        EXPECT_MSG(m != ma || memcmp(ra, rb, (size_t)m * 4) != 0, "variant %d gave the same mask", t);
    }
}

TEST(masking_edge_ratios_and_bad_config) {
    mask_config c;
    cfg(&c, 0.0f, 1);
    int32_t ids[16], rows[16], tg[16];
    make_seq(ids, 16);
    EXPECT_EQ_INT(mask_sequence(&c, 0, 0, ids, 16, 0, rows, tg), 0);
    cfg(&c, 1.0f, 1);
    EXPECT_EQ_INT(mask_sequence(&c, 0, 0, ids, 16, 0, rows, tg), 12);
    EXPECT_EQ_INT(mask_sequence(&c, 0, 0, ids, 0, 0, rows, tg), 0);
    cfg(&c, 1.5f, 1);
    EXPECT(mask_config_check(&c) != 0 && strstr(err_msg(), "ratio"));
    cfg(&c, 0.3f, 1);
    c.mask_id = -1;
    EXPECT(mask_config_check(&c) != 0 && strstr(err_msg(), "mask_id"));
    cfg(&c, 0.3f, 1);
    c.p_random = 0.5f;
    EXPECT(mask_config_check(&c) != 0 && strstr(err_msg(), "p_mask"));
    cfg(&c, 0.3f, 1);
    c.n_random = 0;
    EXPECT(mask_config_check(&c) != 0 && strstr(err_msg(), "n_random"));
}
