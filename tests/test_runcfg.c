/* test_runcfg.c — the pretraining configuration: parsing, errors, round trip. */
#include <stdio.h>
#include <string.h>

#include "../src/core/err.h"
#include "../src/train/runcfg.h"
#include "test.h"

static const char *write_cfg(const char *text) {
    static char path[512];
    snprintf(path, sizeof path, "%s/run.cfg", test_tmpdir());
    FILE *f = fopen(path, "w");
    CHECK(f, "fopen");
    fputs(text, f);
    fclose(f);
    return path;
}

TEST(runcfg_defaults_are_the_recipe) {
    runcfg c;
    runcfg_default(&c);
    EXPECT_STR_EQ(c.arch, "mosaicbert");
    EXPECT(c.mask_ratio == 0.30 && c.eval_mask_ratio == 0.15);
    EXPECT(c.lr == 5e-4 && c.beta2 == 0.98 && c.eps == 1e-6 && c.weight_decay == 1e-5);
    EXPECT(c.warmup == 0.06 && c.alpha_f == 0.02);
    EXPECT_EQ_INT(c.seq_len, 128);
    EXPECT_EQ_INT(c.seed, 17);
}

TEST(runcfg_file_and_overrides) {
    runcfg c;
    runcfg_default(&c);
    const char *p = write_cfg("# a run\nmodel.layers = 2   # tiny\n\n  data.train=shards/ \noptim.lr = 1e-3\n");
    REQUIRE(runcfg_load(&c, p) == 0);
    EXPECT_EQ_INT(c.layers, 2);
    EXPECT_STR_EQ(c.train, "shards/");
    EXPECT(c.lr == 1e-3);
    REQUIRE(runcfg_override(&c, "model.layers=4") == 0);
    EXPECT_EQ_INT(c.layers, 4);
    EXPECT(runcfg_validate(&c) == 0);
    /* the written form reads back to the same configuration */
    char out[600];
    snprintf(out, sizeof out, "%s/resolved.cfg", test_tmpdir());
    FILE *f = fopen(out, "w");
    REQUIRE(f != NULL);
    runcfg_write(&c, f);
    fclose(f);
    runcfg d;
    runcfg_default(&d);
    REQUIRE(runcfg_load(&d, out) == 0);
    EXPECT(memcmp(&c, &d, sizeof c) == 0);
}

TEST(runcfg_errors_name_file_line_and_key) {
    runcfg c;
    runcfg_default(&c);
    const char *p = write_cfg("model.layers = 2\nmodel.layres = 3\n");
    EXPECT(runcfg_load(&c, p) != 0);
    EXPECT(strstr(err_msg(), "run.cfg:2") && strstr(err_msg(), "unknown key 'model.layres'"));
    p = write_cfg("optim.lr = fast\n");
    EXPECT(runcfg_load(&c, p) != 0);
    EXPECT(strstr(err_msg(), "run.cfg:1") && strstr(err_msg(), "optim.lr"));
    p = write_cfg("just some words\n");
    EXPECT(runcfg_load(&c, p) != 0);
    EXPECT(strstr(err_msg(), "key = value"));
    EXPECT(runcfg_override(&c, "train.steps=-5") != 0);
    EXPECT(strstr(err_msg(), "--set train.steps"));
    runcfg_default(&c);
    EXPECT(runcfg_validate(&c) != 0); /* data.train missing */
    EXPECT(strstr(err_msg(), "data.train"));
    strcpy(c.train, "x");
    c.batch_size = 10;
    c.micro_batch = 4;
    EXPECT(runcfg_validate(&c) != 0);
    EXPECT(strstr(err_msg(), "micro_batch"));
}

TEST(runcfg_mask_strategy_keys) {
    runcfg c;
    runcfg_default(&c);
    EXPECT_STR_EQ(c.mask_strategy, "random");
    EXPECT(c.mask_kmer == 6 && c.ref_unknown_rank == 0 && !c.pmi_ranking[0]);
    REQUIRE(runcfg_override(&c, "data.train=shards/") == 0);
    REQUIRE(runcfg_override(&c, "mask.strategy=genemask") == 0);
    EXPECT(runcfg_validate(&c) != 0 && strstr(err_msg(), "mask.pmi_ranking"));
    REQUIRE(runcfg_override(&c, "mask.pmi_ranking=rank.tsv") == 0);
    EXPECT(runcfg_validate(&c) == 0);
    EXPECT(runcfg_override(&c, "mask.ref_unknown_rank=4000") == 0 && runcfg_validate(&c) != 0 &&
           strstr(err_msg(), "genemask-reference"));
    REQUIRE(runcfg_override(&c, "mask.strategy=genemask-reference") == 0);
    EXPECT(runcfg_validate(&c) == 0);
    REQUIRE(runcfg_override(&c, "mask.kmer=7") == 0);
    EXPECT(runcfg_validate(&c) != 0 && strstr(err_msg(), "mask.kmer"));
    runcfg_default(&c);
    REQUIRE(runcfg_override(&c, "data.train=shards/") == 0);
    REQUIRE(runcfg_override(&c, "mask.strategy=spans") == 0);
    EXPECT(runcfg_validate(&c) != 0 && strstr(err_msg(), "mask.strategy"));
    REQUIRE(runcfg_override(&c, "mask.strategy=contiguous") == 0);
    EXPECT(runcfg_validate(&c) == 0);
    REQUIRE(runcfg_override(&c, "mask.pmi_ranking=rank.tsv") == 0); /* read by no strategy but genemask */
    EXPECT(runcfg_validate(&c) != 0 && strstr(err_msg(), "mask.pmi_ranking"));
}
