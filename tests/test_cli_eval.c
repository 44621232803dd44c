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

/* --model also takes a pretraining run (RUN, RUN/checkpoints, RUN/checkpoints/latest): the
 * checkpoint `latest` names, said on stderr; anything else is refused, named. */
TEST(cli_model_arg_takes_a_run) {
    if (access("./bertc", X_OK) != 0) { EXPECT_MSG(0, "./bertc not built"); return; }
    const char *shards = pretrain_shards(), *d = test_tmpdir();
    /* 12 steps, checkpoints every 4 and keep 5: step-4, -8, -12, latest → step-12 */
    REQUIRE(test_sh("./bertc pretrain --run %s/run --set data.train=%s %s --set eval.every=0", d, shards,
                    PRETRAIN_TINY) == 0);
    const char *eval = "--data %s --seq-len 24 --batch-size 4 --batches 2 --json";
    char args[1200], path[800];
    snprintf(args, sizeof args, eval, shards);
    REQUIRE(test_sh("./bertc eval --model %s/run/checkpoints/step-00000012 %s > %s/direct.json", d, args, d) == 0);
    snprintf(path, sizeof path, "%s/direct.json", d);
    char *want = file_read_all(path, NULL);
    REQUIRE(want != NULL && strstr(want, "eval_loss"));
    const char *forms[] = {"run", "run/", "run/checkpoints", "run/checkpoints/latest"};
    for (int i = 0; i < 4; i++) {
        EXPECT(test_sh("./bertc eval --model %s/%s %s > %s/via.json 2> %s/via.err", d, forms[i], args, d, d) == 0);
        snprintf(path, sizeof path, "%s/via.json", d);
        char *got = file_read_all(path, NULL);
        EXPECT_MSG(got && !strcmp(got, want), "--model %s: %s", forms[i], got ? got : "(no output)");
        free(got);
        snprintf(path, sizeof path, "%s/via.err", d);
        char *err = file_read_all(path, NULL);
        EXPECT_MSG(err && strstr(err, "checkpoints/step-00000012 (the latest checkpoint of "), "--model %s said: %s",
                   forms[i], err ? err : "");
        free(err);
    }
    /* the run's parent is neither a model nor a run */
    EXPECT(test_sh("./bertc eval --model %s %s > /dev/null 2> %s/bad.err", d, args, d) != 0);
    snprintf(path, sizeof path, "%s/bad.err", d);
    char *err = file_read_all(path, NULL);
    EXPECT_MSG(err && strstr(err, "not a model directory (no config.json) nor a pretraining run"), "said: %s",
               err ? err : "");
    free(err);
    free(want);
}
