/* pretrain_check.c — see pretrain_check.h. Runs the built ./bertc. */
#include "pretrain_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/core/err.h"
#include "../src/io/file.h"
#include "test.h"

/* A tiny model on shards of 46 KJV verses (× 4) with a 320-token vocabulary trained on them. */
const char *PRETRAIN_TINY =
    "--set model.hidden=32 --set model.layers=2 --set model.heads=2 --set model.intermediate=48 "
    "--set data.seq_len=24 --set train.batch_size=8 --set train.micro_batch=4 --set train.steps=12 "
    "--set log.every=1 --set eval.every=6 --set eval.batches=2 --set ckpt.every=4 --set ckpt.keep=5 "
    "--set optim.lr=2e-3 --set sched.warmup=2 -q";

const char *pretrain_shards(void) {
    static char dir[600];
    const char *d = test_tmpdir();
    snprintf(dir, sizeof dir, "%s/shards", d);
    CHECK(test_sh("for i in 1 2 3 4; do cat %s/vocab_train/kjv_genesis.txt; done > %s/text.txt", test_fixture_dir(), d) == 0, "text");
    /* a small vocabulary trained on the text itself keeps the model tiny (fast test) */
    CHECK(test_sh("./bertc vocab -q -o %s/vocab.txt --vocab-size 300 %s/text.txt", d, d) == 0, "vocab");
    CHECK(test_sh("./bertc tokenize -q --vocab %s/vocab.txt -o %s --holdout 0.1 %s/text.txt >/dev/null", d, dir, d) == 0,
          "tokenize");
    return dir;
}

/* The "loss" of every training row of metrics.jsonl, concatenated. */
char *pretrain_losses(const char *run) {
    char path[700];
    snprintf(path, sizeof path, "%s/metrics.jsonl", run);
    char *text = file_read_all(path, NULL);
    if (!text) return xstrdup("");
    char *out = xcalloc(strlen(text) + 1, 1);
    for (char *p = text; (p = strstr(p, "\"loss\": ")); p += 8) {
        char *e = strchr(p, ',');
        strncat(out, p, (size_t)(e - p));
        strcat(out, ";");
    }
    free(text);
    return out;
}

static int same_weights(const char *a, const char *b) {
    return test_sh("cmp -s %s/checkpoints/step-00000012/model.safetensors %s/checkpoints/step-00000012/model.safetensors", a, b) == 0;
}

void check_resume(const char *arch, const char *device) {
    if (access("./bertc", X_OK) != 0) { EXPECT_MSG(0, "./bertc not built"); return; }
    const char *shards = pretrain_shards();
    char tiny[2048];
    snprintf(tiny, sizeof tiny, "%s --set model.arch=%s --device %s", PRETRAIN_TINY, arch, device);
    const char *d = test_tmpdir();
    char a[600], b[600], k[600];
    snprintf(a, sizeof a, "%s/a", d);
    snprintf(b, sizeof b, "%s/b", d);
    snprintf(k, sizeof k, "%s/k", d);
    /* uninterrupted */
    REQUIRE(test_sh("./bertc pretrain --run %s --set data.train=%s --set data.val=%s %s", a, shards, shards, tiny) == 0);
    /* 6 steps, a clean stop with a checkpoint, then the rest */
    REQUIRE(test_sh("./bertc pretrain --run %s --set data.train=%s --set data.val=%s %s --set train.stop_after=6", b, shards, shards, tiny) == 0);
    EXPECT(test_sh("test -d %s/checkpoints/step-00000006 && ! test -d %s/checkpoints/step-00000012", b, b) == 0);
    REQUIRE(test_sh("./bertc pretrain --run %s --set data.train=%s --set data.val=%s %s", b, shards, shards, tiny) == 0);
    /* SIGKILL after step 7 (last checkpoint: step 4), then resume */
    EXPECT(test_sh("BERTC_TEST_SIGKILL_AT_STEP=7 ./bertc pretrain --run %s --set data.train=%s --set data.val=%s %s 2>/dev/null",
              k, shards, shards, tiny) != 0);
    EXPECT(test_sh("test -d %s/checkpoints/step-00000004 && ! test -d %s/checkpoints/step-00000008", k, k) == 0);
    REQUIRE(test_sh("./bertc pretrain --run %s --set data.train=%s --set data.val=%s %s", k, shards, shards, tiny) == 0);
    char *la = pretrain_losses(a), *lb = pretrain_losses(b), *lk = pretrain_losses(k);
    EXPECT_MSG(strlen(la) > 12 * 5, "losses of the uninterrupted run: %s", la);
    EXPECT_STR_EQ(lb, la);
    EXPECT_STR_EQ(lk, la);
    EXPECT(same_weights(a, b));
    EXPECT(same_weights(a, k));
    EXPECT(test_sh("cmp -s %s/checkpoints/step-00000012/trainer_state.safetensors %s/checkpoints/step-00000012/trainer_state.safetensors", a, k) == 0);
    /* the loss fell */
    double first = atof(la + strlen("\"loss\": ")), last = 0;
    char *p = strrchr(la, ':');
    if (p) last = atof(p + 1);
    EXPECT_MSG(last < first, "loss %g → %g", first, last);
    free(la); free(lb); free(lk);
}

