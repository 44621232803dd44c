/* test_schedule.c — learning-rate multipliers against hand-computed values. */
#include <math.h>

#include "../src/core/err.h"
#include "../src/train/schedule.h"
#include "test.h"

#define NEAR(a, b) EXPECT_MSG(fabs((a) - (b)) < 1e-12, "%s = %.15g, expected %.15g", #a, (double)(a), (double)(b))

TEST(schedule_linear_matches_the_recipe) {
    /* The MosaicBERT recipe: 70,000 steps, warmup 0.06dur = 4,200 steps, alpha_f 0.02 (spec §6). */
    schedule s;
    schedule_default(&s, 70000);
    EXPECT_EQ_INT(s.warmup, 4200);
    EXPECT(schedule_check(&s) == 0);
    NEAR(schedule_alpha(&s, 0), 0.0);            /* lr = 0 at the first step */
    NEAR(schedule_alpha(&s, 2100), 0.5);         /* 2100 / 4200 */
    NEAR(schedule_alpha(&s, 4199), 4199.0 / 4200.0);
    NEAR(schedule_alpha(&s, 4200), 1.0);
    /* halfway through the decay: 1 + (0.02 − 1)·(32900/65800) = 1 − 0.49 = 0.51 */
    NEAR(schedule_alpha(&s, 4200 + 32900), 0.51);
    NEAR(schedule_alpha(&s, 70000), 0.02);       /* final lr 5e-4 · 0.02 = 1e-5 */
    NEAR(schedule_alpha(&s, 90000), 0.02);       /* stays there */
    /* GLUE finetuning: decay to 0; 10 steps, warmup 2: step 6 → 1 − 4/8 = 0.5 */
    s = (schedule){.kind = SCHED_LINEAR, .warmup = 2, .total = 10, .alpha_f = 0.0};
    NEAR(schedule_alpha(&s, 1), 0.5);
    NEAR(schedule_alpha(&s, 6), 0.5);
    NEAR(schedule_alpha(&s, 9), 0.125);
    NEAR(schedule_alpha(&s, 10), 0.0);
}

TEST(schedule_constant_and_warmup) {
    schedule s = {.kind = SCHED_CONSTANT, .warmup = 4};
    EXPECT(schedule_check(&s) == 0);
    NEAR(schedule_alpha(&s, 0), 0.0);
    NEAR(schedule_alpha(&s, 3), 0.75);
    NEAR(schedule_alpha(&s, 4), 1.0);
    NEAR(schedule_alpha(&s, 1000000), 1.0);
    s.warmup = 0;
    NEAR(schedule_alpha(&s, 0), 1.0);
}

TEST(schedule_wsd_linear_and_sqrt_decay) {
    /* 100 steps, warmup 10, decay over the last 20% (steps 80…100) to 0.1 */
    schedule s = {.kind = SCHED_WSD, .warmup = 10, .total = 100, .alpha_f = 0.1, .decay_frac = 0.2,
                  .decay = SCHED_DECAY_LINEAR};
    EXPECT(schedule_check(&s) == 0);
    NEAR(schedule_alpha(&s, 5), 0.5);
    NEAR(schedule_alpha(&s, 10), 1.0);
    NEAR(schedule_alpha(&s, 79), 1.0);
    NEAR(schedule_alpha(&s, 80), 1.0);
    NEAR(schedule_alpha(&s, 85), 0.1 + 0.9 * 0.75); /* x = 5/20 */
    NEAR(schedule_alpha(&s, 90), 0.55);             /* x = 1/2: 0.1 + 0.9·0.5 */
    NEAR(schedule_alpha(&s, 100), 0.1);
    s.decay = SCHED_DECAY_SQRT;
    NEAR(schedule_alpha(&s, 85), 0.1 + 0.9 * 0.5); /* 1 − √(1/4) = 0.5 */
    NEAR(schedule_alpha(&s, 80), 1.0);
    NEAR(schedule_alpha(&s, 100), 0.1);
    NEAR(schedule_alpha(&s, 120), 0.1);
}

TEST(schedule_rejects_bad_fields) {
    schedule s = {.kind = SCHED_LINEAR, .warmup = 20, .total = 10, .alpha_f = 0.02};
    EXPECT(schedule_check(&s) != 0);
    EXPECT(strstr(err_msg(), "warmup") != NULL);
    s = (schedule){.kind = SCHED_LINEAR, .warmup = 0, .total = 10, .alpha_f = 1.5};
    EXPECT(schedule_check(&s) != 0);
    EXPECT(strstr(err_msg(), "alpha_f") != NULL);
    s = (schedule){.kind = SCHED_WSD, .warmup = 0, .total = 10, .alpha_f = 0, .decay_frac = 0};
    EXPECT(schedule_check(&s) != 0);
    EXPECT(strstr(err_msg(), "decay_frac") != NULL);
    sched_kind k;
    EXPECT(schedule_kind_parse("wsd", &k) == 0 && k == SCHED_WSD);
    EXPECT(schedule_kind_parse("cosine", &k) != 0);
    EXPECT(strstr(err_msg(), "cosine") != NULL);
}
