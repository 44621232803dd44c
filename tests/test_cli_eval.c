/* test_cli_eval.c — `bertc eval` reproduces the trainer's own evaluation of a
 * checkpoint (same shards, masks, batches) and refuses bad input cleanly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/core/err.h"
#include "../src/io/file.h"
#include "../src/io/safetensors.h"
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

/* Inputs past what the model has are refused, named — not read out of bounds: a --seq-len
 * over BERT's positions, a vocabulary larger than the embedding table, logits inputs with
 * ids or token types outside the tables. */
TEST(cli_refuses_inputs_past_the_model) {
    if (access("./bertc", X_OK) != 0) { EXPECT_MSG(0, "./bertc not built"); return; }
    const char *shards = pretrain_shards(), *d = test_tmpdir();
    REQUIRE(test_sh("./bertc pretrain --run %s/run --set data.train=%s %s --set model.arch=bert --set train.steps=4 "
                    "--set eval.every=0", d, shards, PRETRAIN_TINY) == 0);
    EXPECT(test_sh("./bertc eval --model %s/run --data %s --seq-len 600 2> %s/e.txt", d, shards, d) != 0);
    EXPECT(test_sh("grep -q -- '--seq-len 600 exceeds .*512 tokens' %s/e.txt", d) == 0);
    /* the run's vocabulary (300 tokens, table padded to 320) and 100 more */
    REQUIRE(test_sh("cp %s/run/checkpoints/latest %s/l && (cat %s/run/checkpoints/$(cat %s/l)/vocab.txt; seq 1 100 | "
                    "sed 's/^/zzq/') > %s/big.txt && echo 'in the beginning' > %s/t.txt", d, d, d, d, d, d) == 0);
    EXPECT(test_sh("./bertc embed --model %s/run --vocab %s/big.txt -o %s/x.npy %s/t.txt 2> %s/e.txt", d, d, d, d, d) != 0);
    EXPECT(test_sh("grep -q 'more than the 320 rows of .*embedding table' %s/e.txt && test ! -e %s/x.npy", d, d) == 0);
    const int32_t bad_ids[4] = {2, 320, 7, 3}, bad_types[4] = {0, 0, 2, 0}, ok_ids[4] = {2, 5, 7, 3};
    int64_t shape[2] = {1, 4};
    char in[700];
    for (int k = 0; k < 2; k++) {
        st_entry e[2] = {{.name = "input.input_ids", .dtype = ST_I32, .ndim = 2, .shape = shape, .data = k ? ok_ids : bad_ids},
                         {.name = "input.token_type_ids", .dtype = ST_I32, .ndim = 2, .shape = shape, .data = bad_types}};
        snprintf(in, sizeof in, "%s/in%d.safetensors", d, k);
        REQUIRE(st_write(in, e, k ? 2 : 1, NULL, 0) == 0);
        EXPECT(test_sh("./bertc logits --model %s/run --inputs %s -o %s/o.safetensors 2> %s/e.txt", d, in, d, d) != 0);
    }
    EXPECT(test_sh("./bertc logits --model %s/run --inputs %s/in0.safetensors -o %s/o.safetensors 2>&1 | "
                   "grep -q 'input_ids\\[0\\]\\[1\\] = 320 is outside'", d, d, d) == 0);
    EXPECT(test_sh("grep -q 'token_type_ids\\[0\\]\\[2\\] = 2: the model has 2 token types' %s/e.txt", d) == 0);
    EXPECT(test_sh("test ! -e %s/o.safetensors", d) == 0);
}
