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
#include "pretrain_check.h"
#include "test.h"


/* Runs `bertc pretrain args`: 1 if it failed and its message contains want. */
TEST(cli_pretrain_resume_is_exact_mosaicbert) { check_resume("mosaicbert", "cpu"); }
TEST(cli_pretrain_resume_is_exact_bert) { check_resume("bert", "cpu"); }
TEST(cli_pretrain_resume_is_exact_m2) { check_resume("m2", "cpu"); }

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
    const char *shards = pretrain_shards();
    const char *d = test_tmpdir();
    char args[4096];
    /* unknown configuration key */
    snprintf(args, sizeof args, "--run %s/r1 --set data.train=%s --set model.layres=2", d, shards);
    EXPECT(run_fails_with(args, "unknown key 'model.layres'"));
    /* missing shard */
    snprintf(args, sizeof args, "--run %s/r2 --set data.train=%s/nope.bin %s", d, shards, PRETRAIN_TINY);
    EXPECT(run_fails_with(args, "nope.bin"));
    /* corrupt shard: one token bit flipped near the end (only the checksum can tell) */
    EXPECT(test_sh("cp -r %s %s/bad && sz=$(stat -c %%s %s/bad/train-00000.bin) && printf '\\001' | "
              "dd of=%s/bad/train-00000.bin bs=1 seek=$((sz-10)) conv=notrunc 2>/dev/null", shards, d, d, d) == 0);
    snprintf(args, sizeof args, "--run %s/r3 --set data.train=%s/bad %s", d, d, PRETRAIN_TINY);
    EXPECT(run_fails_with(args, "checksum mismatch"));
    /* vocabulary that does not match the shards */
    snprintf(args, sizeof args, "--run %s/r4 --set data.train=%s --set data.vocab=%s/bert-base-uncased-vocab.txt %s", d,
             shards, test_fixture_dir(), PRETRAIN_TINY);
    EXPECT(run_fails_with(args, "different vocabulary"));
    /* read-only place for the run directory (root ignores permissions; /proc is read-only for everyone) */
    snprintf(args, sizeof args, "--run /proc/self/bertc-run --set data.train=%s %s", shards, PRETRAIN_TINY);
    EXPECT(run_fails_with(args, "/proc/self/bertc-run"));
    /* disk full while writing a checkpoint: the previous checkpoint stays valid and `latest` keeps naming it */
    char r5[700];
    snprintf(r5, sizeof r5, "%s/r5", d);
    REQUIRE(test_sh("./bertc pretrain --run %s --set data.train=%s %s --set train.stop_after=4", r5, shards, PRETRAIN_TINY) == 0);
    EXPECT(test_sh("sh -c 'ulimit -f 16; trap \"\" XFSZ; exec ./bertc pretrain --run %s --set data.train=%s %s' >%s/full.txt 2>&1", r5,
              shards, PRETRAIN_TINY, d) != 0);
    EXPECT(test_sh("grep -q 'previous checkpoint is intact' %s/full.txt", d) == 0);
    EXPECT(test_sh("grep -q step-00000004 %s/checkpoints/latest", r5) == 0);
    EXPECT(test_sh("./bertc info %s/checkpoints/step-00000004/model.safetensors >/dev/null", r5) == 0);
    EXPECT(test_sh("ls -d %s/checkpoints/*.tmp 2>/dev/null | grep -q .", r5) != 0);
    /* a resume with a setting that shapes training changed is refused, naming it, and leaves the run as it was;
     * how often it logs or where it runs may change */
    snprintf(args, sizeof args, "--run %s --set data.train=%s %s --set optim.lr=3e-3", r5, shards, PRETRAIN_TINY);
    EXPECT(run_fails_with(args, "this run was started with 'optim.lr = 0.002"));
    EXPECT(test_sh("grep -q 'optim.lr = 0.002' %s/config.txt && grep -q step-00000004 %s/checkpoints/latest", r5, r5) == 0);
    /* and the run resumes from it */
    EXPECT(test_sh("./bertc pretrain --run %s --set data.train=%s %s --set log.every=2 --set train.threads=1", r5, shards,
                   PRETRAIN_TINY) == 0);
    EXPECT(test_sh("grep -q step-00000012 %s/checkpoints/latest", r5) == 0);
}
