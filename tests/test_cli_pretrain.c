/* test_cli_pretrain.c — `bertc pretrain` end to end on a tiny model: exact
 * resume (clean stop and SIGKILL between checkpoints), and refusals that leave
 * the run intact. Runs the built binary. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../src/core/err.h"
#include "../src/io/file.h"
#include "test.h"


/* A tiny model on shards of 46 KJV verses (× 4) with a 320-token vocabulary trained on them. */
static const char *TINY =
    "--set model.hidden=32 --set model.layers=2 --set model.heads=2 --set model.intermediate=48 "
    "--set data.seq_len=24 --set train.batch_size=8 --set train.micro_batch=4 --set train.steps=12 "
    "--set log.every=1 --set eval.every=6 --set eval.batches=2 --set ckpt.every=4 --set ckpt.keep=5 "
    "--set optim.lr=2e-3 --set sched.warmup=2 -q";

static const char *make_shards(void) {
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
static char *losses(const char *run) {
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

static void check_resume(const char *arch) {
    if (access("./bertc", X_OK) != 0) { EXPECT_MSG(0, "./bertc not built"); return; }
    const char *shards = make_shards();
    char tiny[2048];
    snprintf(tiny, sizeof tiny, "%s --set model.arch=%s", TINY, arch);
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
    char *la = losses(a), *lb = losses(b), *lk = losses(k);
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

/* Runs `bertc pretrain args`: 1 if it failed and its message contains want. */
TEST(cli_pretrain_resume_is_exact_mosaicbert) { check_resume("mosaicbert"); }
TEST(cli_pretrain_resume_is_exact_bert) { check_resume("bert"); }
TEST(cli_pretrain_resume_is_exact_m2) { check_resume("m2"); }

static int run_fails_with(const char *args, const char *want) {
    char out[700];
    snprintf(out, sizeof out, "%s/out.txt", test_tmpdir());
    int rc = test_sh("./bertc pretrain %s >%s 2>&1", args, out);
    char *text = file_read_all(out, NULL);
    int ok = rc != 0 && text && strstr(text, want);
    if (!ok) fprintf(stderr, "    (exit %d, output: %s)\n", rc, text ? text : "");
    free(text);
    return ok;
}

TEST(cli_pretrain_refuses_bad_inputs_cleanly) {
    if (access("./bertc", X_OK) != 0) { EXPECT_MSG(0, "./bertc not built"); return; }
    const char *shards = make_shards();
    const char *d = test_tmpdir();
    char args[4096];
    /* unknown configuration key */
    snprintf(args, sizeof args, "--run %s/r1 --set data.train=%s --set model.layres=2", d, shards);
    EXPECT(run_fails_with(args, "unknown key 'model.layres'"));
    /* missing shard */
    snprintf(args, sizeof args, "--run %s/r2 --set data.train=%s/nope.bin %s", d, shards, TINY);
    EXPECT(run_fails_with(args, "nope.bin"));
    /* corrupt shard: one token bit flipped near the end (only the checksum can tell) */
    EXPECT(test_sh("cp -r %s %s/bad && sz=$(stat -c %%s %s/bad/train-00000.bin) && printf '\\001' | "
              "dd of=%s/bad/train-00000.bin bs=1 seek=$((sz-10)) conv=notrunc 2>/dev/null", shards, d, d, d) == 0);
    snprintf(args, sizeof args, "--run %s/r3 --set data.train=%s/bad %s", d, d, TINY);
    EXPECT(run_fails_with(args, "checksum mismatch"));
    /* vocabulary that does not match the shards */
    snprintf(args, sizeof args, "--run %s/r4 --set data.train=%s --set data.vocab=%s/bert-base-uncased-vocab.txt %s", d,
             shards, test_fixture_dir(), TINY);
    EXPECT(run_fails_with(args, "different vocabulary"));
    /* read-only place for the run directory (root ignores permissions; /proc is read-only for everyone) */
    snprintf(args, sizeof args, "--run /proc/self/bertc-run --set data.train=%s %s", shards, TINY);
    EXPECT(run_fails_with(args, "/proc/self/bertc-run"));
    /* disk full while writing a checkpoint: the previous checkpoint stays valid and `latest` keeps naming it */
    char r5[700];
    snprintf(r5, sizeof r5, "%s/r5", d);
    REQUIRE(test_sh("./bertc pretrain --run %s --set data.train=%s %s --set train.stop_after=4", r5, shards, TINY) == 0);
    EXPECT(test_sh("sh -c 'ulimit -f 16; trap \"\" XFSZ; exec ./bertc pretrain --run %s --set data.train=%s %s' >%s/full.txt 2>&1", r5,
              shards, TINY, d) != 0);
    EXPECT(test_sh("grep -q 'previous checkpoint is intact' %s/full.txt", d) == 0);
    EXPECT(test_sh("grep -q step-00000004 %s/checkpoints/latest", r5) == 0);
    EXPECT(test_sh("./bertc info %s/checkpoints/step-00000004/model.safetensors >/dev/null", r5) == 0);
    EXPECT(test_sh("ls -d %s/checkpoints/*.tmp 2>/dev/null | grep -q .", r5) != 0);
    /* and the run resumes from it */
    EXPECT(test_sh("./bertc pretrain --run %s --set data.train=%s %s", r5, shards, TINY) == 0);
    EXPECT(test_sh("grep -q step-00000012 %s/checkpoints/latest", r5) == 0);
}
