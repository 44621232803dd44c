/* test_optim.c — AdamW variants against hand-computed steps and torch.optim.AdamW;
 * parameter groups; gradient clipping. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/err.h"
#include "../src/train/optim.h"
#include "test.h"

#define NEARF(a, b, tol) \
    EXPECT_MSG(fabs((double)(a) - (double)(b)) <= (tol), "%s = %.9g, expected %.9g", #a, (double)(a), (double)(b))

/* A table of named parameters (numel each) laid out back to back. */
static void table(param_table *t, int n, const char *const *names, const size_t *numel) {
    t->n = t->cap = n;
    t->p = calloc((size_t)n, sizeof *t->p);
    t->total = 0;
    for (int i = 0; i < n; i++) {
        snprintf(t->p[i].name, sizeof t->p[i].name, "%s", names[i]);
        t->p[i].ndim = 1;
        t->p[i].shape[0] = (int64_t)numel[i];
        t->p[i].offset = t->total;
        t->p[i].numel = numel[i];
        t->total += numel[i];
    }
}

/* Two elements, two steps, β1 0.5, β2 0.75, lr_0 0.1, wd 0.1, eps 1e-8 (below the tolerance);
 * step 1 at α 1, step 2 at α 0.5. Gradients: element 0: 2 then 1; element 1: −0.5 then 0.
 *
 * Step 1 (k=1): bc1 = 0.5, bc2 = 0.25, lr_t = 0.1, step size lr_t/bc1 = 0.2.
 *   el 0: m = 0.5·2 = 1, v = 0.25·4 = 1, denom = √1/√0.25 = 2, update 0.2·1/2 = 0.1
 *   el 1: m = −0.25, v = 0.25·0.25 = 0.0625, denom = 0.25/0.5 = 0.5, update 0.2·(−0.25)/0.5 = −0.1
 * Step 2 (k=2): bc1 = 0.75, bc2 = 0.4375, lr_t = 0.05, step size 0.05/0.75 = 1/15.
 *   el 0: m = 0.5·1 + 0.5·1 = 1, v = 0.75·1 + 0.25·1 = 1, denom = 1/√0.4375 = 1.511857892,
 *         update = (1/15)/1.511857892 = 0.0440958552
 *   el 1: m = −0.125, v = 0.75·0.0625 = 0.046875, denom = √0.046875/√0.4375 = 0.327326835,
 *         update = (1/15)·(−0.125)/0.327326835 = −0.0254587539
 * Decoupled decay (×(1 − α·wd)): step 1 ×0.9, step 2 ×0.95:
 *   el 0: 1 → 0.9 − 0.1 = 0.8 → 0.8·0.95 − 0.0440958552 = 0.7159041448
 *   el 1: −2 → −1.8 + 0.1 = −1.7 → −1.7·0.95 + 0.0254587539 = −1.5895412461
 * torch AdamW decay (×(1 − lr_t·wd)): step 1 ×0.99, step 2 ×0.995:
 *   el 0: 1 → 0.99 − 0.1 = 0.89 → 0.89·0.995 − 0.0440958552 = 0.8414541448
 *   el 1: −2 → −1.98 + 0.1 = −1.88 → −1.88·0.995 + 0.0254587539 = −1.8451412461 */
static void two_steps(optim_kind kind, float out[2]) {
    const char *names[] = {"w"};
    size_t numel[] = {2};
    param_table t;
    table(&t, 1, names, numel);
    optim_config c;
    optim_config_default(&c);
    c.kind = kind;
    c.lr = 0.1;
    c.beta1 = 0.5;
    c.beta2 = 0.75;
    c.eps = 1e-8;
    c.weight_decay = 0.1;
    optim o;
    CHECK(optim_init(&o, &c, &t, ops_cpu()) == 0, err_msg());
    float p[2] = {1.0f, -2.0f};
    float g1[2] = {2.0f, -0.5f}, g2[2] = {1.0f, 0.0f};
    optim_step(&o, p, g1, 1.0);
    optim_step(&o, p, g2, 0.5);
    EXPECT_EQ_INT(o.step, 2);
    /* moments after step 2 (see above) */
    NEARF(o.m[0], 1.0, 1e-7);
    NEARF(o.v[0], 1.0, 1e-7);
    NEARF(o.m[1], -0.125, 1e-7);
    NEARF(o.v[1], 0.046875, 1e-8);
    out[0] = p[0];
    out[1] = p[1];
    optim_free(&o);
    params_free(&t);
}

TEST(optim_decoupled_adamw_two_steps_by_hand) {
    float p[2];
    two_steps(OPTIM_DECOUPLED_ADAMW, p);
    NEARF(p[0], 0.7159041448, 1e-6);
    NEARF(p[1], -1.5895412461, 1e-6);
}

TEST(optim_torch_adamw_two_steps_by_hand) {
    float p[2];
    two_steps(OPTIM_ADAMW, p);
    NEARF(p[0], 0.8414541448, 1e-6);
    NEARF(p[1], -1.8451412461, 1e-6);
}

TEST(optim_weight_decay_scales_with_alpha_not_lr) {
    /* Zero gradient: m = v = 0, the Adam update is 0/(0 + eps) = 0, only the decay acts.
     * lr_0 1e-3, wd 0.5, α 0.5: decoupled ×(1 − 0.5·0.5) = ×0.75; torch ×(1 − 5e-4·0.5) = ×0.99975. */
    const char *names[] = {"w"};
    size_t numel[] = {1};
    param_table t;
    table(&t, 1, names, numel);
    optim_config c;
    optim_config_default(&c);
    c.lr = 1e-3;
    c.weight_decay = 0.5;
    float g = 0.0f;
    for (int kind = 0; kind < 2; kind++) {
        c.kind = kind ? OPTIM_ADAMW : OPTIM_DECOUPLED_ADAMW;
        optim o;
        CHECK(optim_init(&o, &c, &t, ops_cpu()) == 0, err_msg());
        float p = 2.0f;
        optim_step(&o, &p, &g, 0.5);
        NEARF(p, kind ? 2.0 * 0.99975 : 1.5, 1e-6);
        /* α = 0 (first warmup step): no decay, no update */
        p = 2.0f;
        optim_step(&o, &p, &g, 0.0);
        EXPECT(p == 2.0f);
        optim_free(&o);
    }
    /* recipe: lr 5e-4, wd 1e-5, α 1: decoupled multiplies by 1 − 1e-5 (not 1 − 5e-9) */
    optim_config_default(&c);
    optim o;
    CHECK(optim_init(&o, &c, &t, ops_cpu()) == 0, err_msg());
    float p = 1000.0f;
    optim_step(&o, &p, &g, 1.0);
    NEARF(p, 1000.0 * (1 - 1e-5), 1e-4);
    optim_free(&o);
    params_free(&t);
}

TEST(optim_glob_patterns) {
    EXPECT(optim_glob_match("*", "anything.at.all"));
    EXPECT(optim_glob_match("*", ""));
    EXPECT(optim_glob_match("a*b", "ab"));
    EXPECT(optim_glob_match("a*b", "aXYb"));
    EXPECT(!optim_glob_match("a*b", "aXYbc"));
    EXPECT(optim_glob_match("a?c", "abc"));
    EXPECT(!optim_glob_match("a?c", "ac"));
    EXPECT(optim_glob_match("*.implicit_filter*", "bert.encoder.layer.3.attention.filter_fn.implicit_filter.1.weight"));
    EXPECT(!optim_glob_match("*.implicit_filter*", "implicit_filter.weight")); /* needs the dot */
    EXPECT(optim_glob_match("*.pos_emb.z", "bert.encoder.layer.0.attention.filter_fn.pos_emb.z"));
    EXPECT(!optim_glob_match("*.pos_emb.z", "bert.encoder.layer.0.attention.filter_fn.pos_emb.z_extra"));
    EXPECT(optim_glob_match("*a*a*a*", "xaxaxax"));
    EXPECT(!optim_glob_match("*a*a*a*", "xaxax"));
}

TEST(optim_param_groups_first_rule_wins) {
    const char *names[] = {
        "bert.embeddings.word_embeddings.weight",                       /* base */
        "bert.encoder.layer.0.attention.output.LayerNorm.weight",       /* norm → wd 0 */
        "bert.encoder.layer.0.mlp.layernorm.bias",                      /* norm/bias → wd 0 */
        "bert.encoder.layer.0.attention.output.dense.bias",             /* bias → wd 0 */
        "bert.encoder.layer.0.attention.filter_fn.implicit_filter.0.weight", /* rule 0 */
        "bert.encoder.layer.0.attention.filter_fn.pos_emb.z",           /* rule 1 (rule 2 also matches) */
        "bert.encoder.layer.0.attention.filter_fn.implicit_filter.0.bias",   /* rule 0 beats the bias default */
    };
    size_t numel[] = {3, 2, 2, 2, 2, 2, 1};
    param_table t;
    table(&t, 7, names, numel);
    optim_config c;
    optim_config_default(&c);
    c.no_decay_bias_norm = 1;
    REQUIRE(optim_add_rule(&c, "*.implicit_filter*", 1e-3, 0.1) == 0);
    REQUIRE(optim_add_rule(&c, "*.pos_emb.z", 1e-5, 0.0) == 0);
    REQUIRE(optim_add_rule(&c, "*.filter_fn.*", 7.0, 7.0) == 0);
    optim o;
    REQUIRE(optim_init(&o, &c, &t, ops_cpu()) == 0);
    const double lr[] = {5e-4, 5e-4, 5e-4, 5e-4, 1e-3, 1e-5, 1e-3};
    const double wd[] = {1e-5, 0, 0, 0, 0.1, 0, 0.1};
    const int rule[] = {-1, -1, -1, -1, 0, 1, 0};
    for (int i = 0; i < 7; i++) {
        EXPECT_MSG(o.groups[i].lr == lr[i], "%s: lr %g, expected %g", names[i], o.groups[i].lr, lr[i]);
        EXPECT_MSG(o.groups[i].wd == wd[i], "%s: wd %g, expected %g", names[i], o.groups[i].wd, wd[i]);
        EXPECT_EQ_INT(o.groups[i].rule, rule[i]);
        EXPECT_EQ_INT(o.groups[i].offset, t.p[i].offset);
    }
    /* A group with lr 0 and wd 0 never moves; the others do. */
    optim_free(&o);
    optim_config_default(&c);
    REQUIRE(optim_add_rule(&c, "*.pos_emb.z", 0.0, 0.0) == 0);
    REQUIRE(optim_init(&o, &c, &t, ops_cpu()) == 0);
    float p[14], g[14];
    for (int i = 0; i < 14; i++) p[i] = 1.0f, g[i] = 0.5f;
    optim_step(&o, p, g, 1.0);
    for (int i = 0; i < 14; i++) {
        int frozen = i >= (int)t.p[5].offset && i < (int)(t.p[5].offset + t.p[5].numel);
        EXPECT_MSG(frozen ? p[i] == 1.0f : p[i] < 1.0f, "element %d = %.9g", i, p[i]);
    }
    optim_free(&o);
    params_free(&t);
}

TEST(optim_rejects_bad_config) {
    const char *names[] = {"w"};
    size_t numel[] = {1};
    param_table t;
    table(&t, 1, names, numel);
    optim_config c;
    optim o;
    optim_config_default(&c);
    c.beta2 = 1.0;
    EXPECT(optim_init(&o, &c, &t, ops_cpu()) != 0);
    EXPECT(strstr(err_msg(), "beta2") != NULL);
    optim_config_default(&c);
    c.eps = 0;
    EXPECT(optim_init(&o, &c, &t, ops_cpu()) != 0);
    EXPECT(strstr(err_msg(), "eps") != NULL);
    optim_config_default(&c);
    REQUIRE(optim_add_rule(&c, "*.x", -1.0, 0.0) == 0);
    EXPECT(optim_init(&o, &c, &t, ops_cpu()) != 0);
    EXPECT(strstr(err_msg(), "*.x") != NULL);
    optim_config_default(&c);
    for (int i = 0; i < OPTIM_MAX_RULES; i++) REQUIRE(optim_add_rule(&c, "a", 1, 0) == 0);
    EXPECT(optim_add_rule(&c, "a", 1, 0) != 0);
    optim_kind k;
    EXPECT(optim_kind_parse("adamw", &k) == 0 && k == OPTIM_ADAMW);
    EXPECT(optim_kind_parse("sgd", &k) != 0);
    params_free(&t);
}

TEST(optim_clipping_and_scaling) {
    float g[2] = {3.0f, 4.0f};
    EXPECT(optim_clip_grad_norm(ops_cpu(), g, 2, 0.0) == 5.0); /* off: norm still reported */
    EXPECT(g[0] == 3.0f && g[1] == 4.0f);
    EXPECT(optim_clip_grad_norm(ops_cpu(), g, 2, 10.0) == 5.0); /* below the limit: untouched */
    EXPECT(g[0] == 3.0f && g[1] == 4.0f);
    EXPECT(optim_clip_grad_norm(ops_cpu(), g, 2, 1.0) == 5.0);  /* ×1/(5 + 1e-6) */
    NEARF(g[0], 0.6, 1e-6);
    NEARF(g[1], 0.8, 1e-6);
    NEARF(optim_grad_norm(ops_cpu(), g, 2), 1.0, 1e-6);
    optim_scale(ops_cpu(), g, 2, 0.5f);
    NEARF(g[1], 0.4, 1e-7);
    /* Many elements across the partial-sum chunks: n values of 0.5 → √n · 0.5, exactly in double. */
    size_t n = 1000003;
    float *big = malloc(n * sizeof *big);
    for (size_t i = 0; i < n; i++) big[i] = (i & 1) ? 0.5f : -0.5f;
    EXPECT(optim_grad_norm(ops_cpu(), big, n) == sqrt((double)n * 0.25));
    free(big);
    EXPECT(optim_grad_norm(ops_cpu(), NULL, 0) == 0.0);
}

/* torch 1.13 golden numbers (tools/ref/optim_golden.py): 3 steps, 2 groups, random data. */
#include "fixtures/optim_torch.inc"

static void gold_run(optim_kind kind, const float *expect) {
    const char *names[] = {"a.weight", "b.weight"};
    size_t numel[] = {GOLD_NA, GOLD_NB};
    param_table t;
    table(&t, 2, names, numel);
    optim_config c;
    optim_config_default(&c);
    c.kind = kind;
    c.lr = gold_lr[0];
    c.weight_decay = gold_wd[0];
    REQUIRE(optim_add_rule(&c, "b.*", gold_lr[1], gold_wd[1]) == 0);
    optim o;
    REQUIRE(optim_init(&o, &c, &t, ops_cpu()) == 0);
    float p[GOLD_NA + GOLD_NB];
    memcpy(p, gold_p0, sizeof p);
    const float *g[GOLD_STEPS] = {gold_g0, gold_g1, gold_g2};
    for (int k = 0; k < GOLD_STEPS; k++) optim_step(&o, p, g[k], gold_alpha[k]);
    double worst = 0;
    for (int i = 0; i < GOLD_NA + GOLD_NB; i++) {
        double d = fabs((double)p[i] - (double)expect[i]) / fmax(fabs((double)expect[i]), 1e-3);
        if (d > worst) worst = d;
    }
    /* fp32 element ops in the reference's order: bit-identical with gcc 12 -O2 today; allow a few ulp */
    EXPECT_MSG(worst < 5e-7, "%s: worst relative difference %.3g", optim_kind_name(kind), worst);
    optim_free(&o);
    params_free(&t);
}

TEST(optim_matches_torch_adamw) { gold_run(OPTIM_ADAMW, gold_adamw); }
TEST(optim_matches_decoupled_adamw_in_torch_ops) { gold_run(OPTIM_DECOUPLED_ADAMW, gold_decoupled); }
