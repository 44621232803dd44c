/* test_cli_glue.c — `bertc finetune` on GLUE-formatted and generic files, and
 * `bertc glue --quick` end to end on the hand-written glue_quick fixture (every task,
 * MNLI's two dev sets, round 2 from the MNLI model), from a tiny pretrained model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/core/err.h"
#include "pretrain_check.h"
#include "test.h"

static const char *tiny_model(void) {
    static char dir[700];
    const char *shards = pretrain_shards(), *d = test_tmpdir();
    CHECK(test_sh("./bertc pretrain --run %s/run --set data.train=%s %s", d, shards, PRETRAIN_TINY) == 0, "pretrain");
    snprintf(dir, sizeof dir, "%s/run/checkpoints/step-00000012", d);
    return dir;
}

TEST(cli_finetune_glue_and_generic_files) {
    if (access("./bertc", X_OK) != 0) { EXPECT_MSG(0, "./bertc not built"); return; }
    const char *m = tiny_model(), *d = test_tmpdir(), *fx = test_fixture_dir();
    EXPECT(test_sh("./bertc finetune -q --model %s --glue sst2 --train %s/glue_quick/SST-2/train.tsv "
                   "--dev %s/glue_quick/SST-2/dev.tsv --test %s/glue_quick/SST-2/dev.tsv --out %s/sst2 --epochs 2 --max-length 24 "
                   "> %s/sst2.txt", m, fx, fx, fx, d, d) == 0);
    EXPECT(test_sh("grep -q 'best accuracy' %s/sst2.txt && test -s %s/sst2/best/model.safetensors", d, d) == 0);
    /* --test scores the best model once: on the dev file it must repeat the best dev accuracy */
    EXPECT(test_sh("b=$(sed -n 's/^best accuracy \\([0-9.]*\\).*/\\1/p' %s/sst2.txt); "
                   "grep -q \"^test (.*accuracy $b\" %s/sst2.txt", d, d) == 0);
    /* a generic TSV with named columns (the STS-B files read as a table: regression inferred) */
    EXPECT(test_sh("./bertc finetune -q --model %s --text sentence1 --text-pair sentence2 --label score "
                   "--train %s/glue_quick/STS-B/train.tsv --dev %s/glue_quick/STS-B/dev.tsv --out %s/stsb "
                   "--epochs 1 --max-length 24 > %s/stsb.txt", m, fx, fx, d, d) == 0);
    EXPECT(test_sh("grep -q 'best spearman' %s/stsb.txt", d) == 0);
    /* refusals */
    EXPECT(test_sh("./bertc finetune --model %s --glue nope --train x --dev y --out %s/z 2>/dev/null", m, d) != 0);
    EXPECT(test_sh("./bertc finetune --model %s --text nope --label label --train %s/glue_quick/SST-2/train.tsv "
                   "--dev %s/glue_quick/SST-2/dev.tsv --out %s/z 2>/dev/null", m, fx, fx, d) != 0);
}

TEST(cli_glue_quick) {
    if (access("./bertc", X_OK) != 0) { EXPECT_MSG(0, "./bertc not built"); return; }
    const char *m = tiny_model(), *d = test_tmpdir(), *fx = test_fixture_dir();
    REQUIRE(test_sh("./bertc glue -q --quick --max-length 24 --model %s --data %s/glue_quick --out %s/glue > %s/table.txt",
                    m, fx, d, d) == 0);
    test_sh("cat %s/table.txt", d);
    /* eight tasks, 11 metric rows (MNLI matched and mismatched; QQP and MRPC accuracy and F1),
     * the header and the average: 13 rows */
    EXPECT(test_sh("test $(grep -c '^[a-z0-9]*\t' %s/glue/summary.tsv) -eq 13", d) == 0);
    EXPECT(test_sh("grep -q '^mnli\taccuracy_mismatched' %s/glue/summary.tsv", d) == 0);
    EXPECT(test_sh("grep -q '^average\t' %s/glue/summary.tsv && grep -q '^GLUE' %s/table.txt", d, d) == 0);
    /* round 2 started from the MNLI model, each with its own head: 2 labels, 1 regression output */
    EXPECT(test_sh("test -d %s/glue/rte-19/best && test -d %s/glue/mnli-19/best", d, d) == 0);
    EXPECT(test_sh("grep -c ': \"LABEL_' %s/glue/mnli-19/best/config.json | grep -qx 3 && "
                   "grep -c ': \"LABEL_' %s/glue/rte-19/best/config.json | grep -qx 2 && "
                   "grep -c ': \"LABEL_' %s/glue/stsb-19/best/config.json | grep -qx 1", d, d, d) == 0);
    /* run again, the suite finds every task done (OUT/<task>/finished) and prints the same table */
    REQUIRE(test_sh("./bertc glue --quick --max-length 24 --model %s --data %s/glue_quick --out %s/glue > %s/table2.txt "
                    "2> %s/again.txt", m, fx, d, d, d) == 0);
    EXPECT(test_sh("cmp -s %s/table.txt %s/table2.txt", d, d) == 0);
    EXPECT(test_sh("test $(grep -c 'done before with these settings' %s/again.txt) -eq 8", d) == 0);
    /* a filter, and a name that is not a task */
    EXPECT(test_sh("./bertc glue -q --quick --max-length 24 --tasks SST-2,cola --model %s --data %s/glue_quick "
                   "--out %s/glue2 > /dev/null && test $(grep -c '^[a-z0-9]*\t' %s/glue2/summary.tsv) -eq 4",
                   m, fx, d, d) == 0);
    EXPECT(test_sh("./bertc glue --quick --tasks sst3 --model %s --data %s/glue_quick --out %s/glue3 2>/dev/null", m, fx, d) != 0);
    /* tasks that all start from MNLI, without it: nothing runs, and that is an error, not an empty table */
    EXPECT(test_sh("./bertc glue -q --quick --max-length 24 --tasks rte,stsb --model %s --data %s/glue_quick --out %s/glue4 "
                   "> /dev/null 2> %s/e4.txt", m, fx, d, d) != 0);
    EXPECT(test_sh("grep -q 'no task ran: .*give mnli in --tasks' %s/e4.txt", d) == 0);
}

/* An M2 model gets M2-BERT's recipes (m2bert.md §5.2): QNLI classifies from the mean of
 * the tokens (pool_all), SST-2 from [CLS]; a MosaicBERT model gets MosaicBERT's. */
TEST(cli_glue_quick_m2_recipes) {
    if (access("./bertc", X_OK) != 0) { EXPECT_MSG(0, "./bertc not built"); return; }
    const char *shards = pretrain_shards(), *d = test_tmpdir(), *fx = test_fixture_dir();
    REQUIRE(test_sh("./bertc pretrain --run %s/m2 --set data.train=%s %s --set model.arch=m2 --set train.steps=4", d, shards,
                    PRETRAIN_TINY) == 0);
    REQUIRE(test_sh("./bertc glue --quick --max-length 24 --tasks qnli,sst2 --model %s/m2/checkpoints/step-00000004 "
                    "--data %s/glue_quick --out %s/glue > /dev/null 2> %s/err.txt", d, fx, d, d) == 0);
    EXPECT(test_sh("grep -q 'm2bert model: the M2-BERT 80M' %s/err.txt", d) == 0);
    EXPECT(test_sh("grep -q '\"pool_all\": *true' %s/glue/qnli-17/best/config.json", d) == 0);
    EXPECT(test_sh("grep -q '\"pool_all\": *false' %s/glue/sst2-19/best/config.json", d) == 0);
}
