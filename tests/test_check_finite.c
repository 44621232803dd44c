/* test_check_finite.c — the BERTC_CHECK_FINITE wrapper stops at the op that
 * writes the first non-finite value, and lets finite work through. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../src/backend/ops.h"
#include "test.h"

/* Runs a LayerNorm of one row through the wrapped CPU backend in a child
 * process (the wrapper exits on a finding); returns the child's exit status
 * and its stderr in msg. */
static int run_layernorm(float x0, char *msg, size_t cap) {
    char path[512];
    snprintf(path, sizeof path, "%s/cf_stderr.txt", test_tmpdir());
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(path, "w", stderr)) _exit(98);
        const ops *o = ops_check_finite(ops_cpu());
        float x[4] = {x0, 1.0f, 2.0f, 3.0f}, out[4], mean[1], rstd[1];
        const float g[4] = {1, 1, 1, 1}, b[4] = {0, 0, 0, 0};
        o->layernorm_fwd(out, NULL, mean, rstd, x, NULL, g, b, 1, 4, 1e-5f);
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    msg[0] = 0;
    FILE *f = fopen(path, "r");
    if (f) {
        size_t n = fread(msg, 1, cap - 1, f);
        msg[n] = 0;
        fclose(f);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

TEST(check_finite_names_the_op_that_made_a_nan) {
    char msg[4096];
    EXPECT_EQ_INT(run_layernorm(0.5f, msg, sizeof msg), 0);
    EXPECT_MSG(!strstr(msg, "wrote"), "finite input reported: %s", msg);
    EXPECT_EQ_INT(run_layernorm(INFINITY, msg, sizeof msg), 3);
    EXPECT_MSG(strstr(msg, "op layernorm_fwd wrote") != NULL, "message: %s", msg);
    EXPECT_MSG(strstr(msg, "input s (4): max |x| = inf") != NULL, "message: %s", msg);
}
