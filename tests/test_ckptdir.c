/* test_ckptdir.c — checkpoint directories: commit, latest, pruning, leftovers. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../src/core/err.h"
#include "../src/train/ckptdir.h"
#include "test.h"

static int exists(const char *run, const char *name) {
    char p[1024];
    snprintf(p, sizeof p, "%s/checkpoints/%s", run, name);
    struct stat st;
    return stat(p, &st) == 0;
}

static void write_one(const char *run, int step) {
    char tmp[1024], f[1100];
    CHECK(ckptdir_begin(run, step, tmp, sizeof tmp) == 0, err_msg());
    snprintf(f, sizeof f, "%s/model.safetensors", tmp);
    FILE *fp = fopen(f, "w");
    CHECK(fp, "fopen");
    fputs("x", fp);
    fclose(fp);
    CHECK(ckptdir_commit(run, step, 2) == 0, err_msg());
}

TEST(ckptdir_latest_and_pruning) {
    const char *run = test_tmpdir();
    char dir[1024];
    EXPECT_EQ_INT(ckptdir_latest(run, dir, sizeof dir), 0);
    write_one(run, 10);
    EXPECT_EQ_INT(ckptdir_latest(run, dir, sizeof dir), 1);
    EXPECT(strstr(dir, "step-00000010") != NULL);
    write_one(run, 20);
    write_one(run, 30);
    EXPECT(!exists(run, "step-00000010"));
    EXPECT(exists(run, "step-00000020") && exists(run, "step-00000030"));
    EXPECT_EQ_INT(ckptdir_latest(run, dir, sizeof dir), 1);
    EXPECT(strstr(dir, "step-00000030") != NULL);
    /* an interrupted write leaves a .tmp directory and does not move `latest` */
    char tmp[1024];
    REQUIRE(ckptdir_begin(run, 40, tmp, sizeof tmp) == 0);
    EXPECT(exists(run, "step-00000040.tmp"));
    EXPECT_EQ_INT(ckptdir_latest(run, dir, sizeof dir), 1);
    EXPECT(strstr(dir, "step-00000030") != NULL);
    ckptdir_abort(run, 40);
    EXPECT(!exists(run, "step-00000040.tmp"));
}

TEST(ckptdir_latest_naming_a_missing_dir_is_an_error) {
    const char *run = test_tmpdir();
    write_one(run, 5);
    char p[1024], dir[1024];
    snprintf(p, sizeof p, "%s/checkpoints/step-00000005/model.safetensors", run);
    unlink(p);
    snprintf(p, sizeof p, "%s/checkpoints/step-00000005", run);
    rmdir(p);
    EXPECT_EQ_INT(ckptdir_latest(run, dir, sizeof dir), -1);
    EXPECT(strstr(err_msg(), "missing") != NULL);
}
