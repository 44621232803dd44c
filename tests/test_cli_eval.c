/* test_cli_eval.c — `bertc eval` reproduces the trainer's own evaluation of a
 * checkpoint (same shards, masks, batches) and refuses bad input cleanly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/core/err.h"
#include "../src/io/file.h"
#include "pretrain_check.h"
#include "test.h"

TEST(cli_eval_matches_the_trainer) {
    if (access("./bertc", X_OK) != 0) { EXPECT_MSG(0, "./bertc not built"); return; }
    const char *shards = pretrain_shards(), *d = test_tmpdir();
    REQUIRE(test_sh("./bertc pretrain --run %s/run --set data.train=%s --set data.val=%s %s", d, shards, shards,
                    PRETRAIN_TINY) == 0);
    /* the trainer's last evaluation line (step 12) */
    char path[700];
    snprintf(path, sizeof path, "%s/run/metrics.jsonl", d);
    char *text = file_read_all(path, NULL);
    REQUIRE(text != NULL);
    char *ev = strstr(text, "{\"step\": 12, \"eval_loss\": ");
    REQUIRE(ev != NULL);
    double want = atof(ev + strlen("{\"step\": 12, \"eval_loss\": "));
    /* the same evaluation: micro-batches of 4 rows of 24 slots, 2 batches, ratio 0.15, seed 17 */
    REQUIRE(test_sh("./bertc eval --model %s/run/checkpoints/step-00000012 --data %s --seq-len 24 --batch-size 4 "
                    "--batches 2 --json > %s/eval.json", d, shards, d) == 0);
    snprintf(path, sizeof path, "%s/eval.json", d);
    char *got = file_read_all(path, NULL);
    REQUIRE(got != NULL);
    double loss = atof(strstr(got, "\"eval_loss\": ") + strlen("\"eval_loss\": "));
    printf("  trainer %.9g, bertc eval %.9g\n", want, loss);
    EXPECT(loss == want);
    EXPECT(test_sh("./bertc eval --model %s/run/checkpoints/step-00000012 --data %s/nope 2>/dev/null", d, d) != 0);
    EXPECT(test_sh("./bertc eval --model %s/nope --data %s 2>/dev/null", d, shards) != 0);
    free(text);
    free(got);
}
