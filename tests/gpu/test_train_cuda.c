/* test_train_cuda.c — `bertc pretrain --device cuda` end to end (needs ./bertc built
 * with `make GPU=1`, and a GPU):
 *  - the same 50 steps (data, initialisation, masks, dropout) on the CPU (fp32) and
 *    on the GPU in bf16 give losses within 2% at every step, and in the GPU's fp32
 *    mode within 0.1% (MosaicBERT and M2-BERT);
 *  - resuming on the GPU is exact (pretrain_check.c: losses, weights and optimizer
 *    state identical to the uninterrupted run). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/backend/ops.h"
#include "../../src/core/err.h"
#include "../pretrain_check.h"
#include "../test.h"

/* A small model (MosaicBERT: head dim 64, the bf16 attention kernel's size) for 50 steps. */
static const char *PARITY =
    "--set model.hidden=128 --set model.layers=2 --set model.heads=2 --set model.intermediate=256 "
    "--set data.seq_len=64 --set train.batch_size=16 --set train.steps=50 --set log.every=1 "
    "--set eval.every=0 --set ckpt.every=1000 --set optim.lr=1e-3 --set sched.warmup=5 -q";

/* Parses "\"loss\": x;" × n into out (at most cap); returns n. */
static int parse_losses(const char *s, double *out, int cap) {
    int n = 0;
    for (const char *p = s; n < cap && (p = strstr(p, "\"loss\": ")); p += 8) out[n++] = atof(p + 8);
    return n;
}

static void run_losses(const char *shards, const char *arch, const char *device, double *out, int *n) {
    char run[700];
    snprintf(run, sizeof run, "%s/parity-%s-%s", test_tmpdir(), arch, device);
    REQUIRE(test_sh("./bertc pretrain --run %s --set data.train=%s --set model.arch=%s --device %s %s", run, shards, arch,
                    device, PARITY) == 0);
    char *l = pretrain_losses(run);
    *n = parse_losses(l, out, 64);
    free(l);
}

static void check_parity(const char *arch) {
    if (access("./bertc", X_OK) != 0) { EXPECT_MSG(0, "./bertc not built"); return; }
    const char *shards = pretrain_shards();
    double cpu[64], gpu[64], f32[64];
    int nc = 0, ng = 0, nf = 0;
    run_losses(shards, arch, "cpu", cpu, &nc);
    run_losses(shards, arch, "cuda", gpu, &ng);
    run_losses(shards, arch, "cuda-fp32", f32, &nf);
    REQUIRE(nc == 50 && ng == 50 && nf == 50);
    double worst_b = 0, worst_f = 0;
    for (int i = 0; i < 50; i++) {
        double eb = fabs(gpu[i] - cpu[i]) / cpu[i], ef = fabs(f32[i] - cpu[i]) / cpu[i];
        worst_b = eb > worst_b ? eb : worst_b;
        worst_f = ef > worst_f ? ef : worst_f;
    }
    printf("  %s losses step 1 / 25 / 50: cpu %.4f %.4f %.4f, cuda bf16 %.4f %.4f %.4f, cuda fp32 %.4f %.4f %.4f\n",
           arch, cpu[0], cpu[24], cpu[49], gpu[0], gpu[24], gpu[49], f32[0], f32[24], f32[49]);
    printf("  worst relative gap to the CPU over 50 steps: bf16 %.4f%%, fp32 %.5f%%\n", 100 * worst_b, 100 * worst_f);
    EXPECT_MSG(worst_b <= 0.02, "bf16 loss %.3f%% from the CPU", 100 * worst_b);
    EXPECT_MSG(worst_f <= 0.001, "fp32 loss %.4f%% from the CPU", 100 * worst_f);
    EXPECT_MSG(cpu[49] < cpu[0] - 0.5, "the loss should fall: %.3f → %.3f", cpu[0], cpu[49]);
}

TEST(cuda_pretrain_matches_cpu) {
    REQUIRE(cuda_available());
    check_parity("mosaicbert");
}

/* M2-BERT: rows padded to the sequence length (its convolutions mix pads, as the reference) */
TEST(cuda_pretrain_matches_cpu_m2) {
    REQUIRE(cuda_available());
    check_parity("m2");
}

TEST(cuda_pretrain_resume_is_exact_mosaicbert) {
    REQUIRE(cuda_available());
    check_resume("mosaicbert", "cuda");
}

TEST(cuda_pretrain_resume_is_exact_bert) {
    REQUIRE(cuda_available());
    check_resume("bert", "cuda");
}

TEST(cuda_pretrain_resume_is_exact_m2) {
    REQUIRE(cuda_available());
    check_resume("m2", "cuda");
}
