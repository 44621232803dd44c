/* test_rng.c — Philox4x32-10 against the Random123 known-answer vectors, and the
 * statistics of the draws built on it. */
#include <math.h>
#include <stdlib.h>

#include "../src/core/rng.h"
#include "test.h"

TEST(rng_philox_known_answers) {
    /* kat_vectors of the Random123 distribution (philox4x32, 10 rounds) */
    static const uint32_t cases[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e, 0xa20bc7c6,
         0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb, 0x5001e420,
         0x24126ea1},
    };
    for (int i = 0; i < 3; i++) {
        uint32_t out[4];
        philox4x32(&cases[i][4], &cases[i][0], out);
        for (int j = 0; j < 4; j++) EXPECT_MSG(out[j] == cases[i][6 + j], "case %d word %d: %08x", i, j, out[j]);
    }
}

TEST(rng_draws_are_deterministic_and_keyed) {
    rng_key a = {.seed = 42, .stream = RNG_STREAM_DROPOUT | 3, .step = 7};
    rng_key b = a;
    b.step = 8;
    EXPECT(rng_u32(a, 12345) == rng_u32(a, 12345));
    EXPECT(rng_u32(a, 12345) != rng_u32(b, 12345));
    float buf[10];
    rng_fill_normal(buf, 10, 0.0f, 1.0f, a);
    for (int i = 0; i < 10; i++) EXPECT(buf[i] == rng_normal(a, (uint64_t)i));
}

TEST(rng_uniform_and_normal_statistics) {
    rng_key k = {.seed = 1, .stream = RNG_STREAM_INIT};
    size_t n = 1u << 20;
    double su = 0, sn = 0, sn2 = 0, sn4 = 0;
    size_t below = 0;
    for (size_t i = 0; i < n; i++) {
        float u = rng_uniform(k, i);
        if (!(u >= 0.0f && u < 1.0f)) { EXPECT_MSG(0, "uniform out of range at %zu", i); return; }
        su += u;
        below += u < 0.3f;
        double z = rng_normal(k, i);
        sn += z;
        sn2 += z * z;
        sn4 += z * z * z * z;
    }
    /* standard errors with n = 2^20: mean of U ±0.0003, fraction ±0.00045, normal mean ±0.001, var ±0.0014 */
    EXPECT(fabs(su / n - 0.5) < 0.002);
    EXPECT(fabs((double)below / n - 0.3) < 0.003);
    EXPECT(fabs(sn / n) < 0.005);
    EXPECT(fabs(sn2 / n - 1.0) < 0.007);
    EXPECT(fabs(sn4 / n - 3.0) < 0.05); /* kurtosis of a normal */
}
