/* test_attention_cuda.c — the CUDA attention op (fp32, flash-style) against the
 * CPU backend's (the reference) on Philox-seeded random inputs: several sequences
 * of mixed lengths (1, 2, odd, 128, 1000, 4096) in one unpadded batch, head dims
 * 64 and 32, with and without ALiBi, dropout 0 and 0.1. Built and run by
 * `make test-gpu` only: it needs a CUDA device.
 *
 * Error measure, per tensor (as test_ops_cuda.c): max_i |gpu_i − cpu_i| /
 * (|cpu_i| + mean_j |cpu_j|); tolerance 1e-5 for out, lse and dqkv. The backward
 * is compared alone: both sides start from the CPU's out and lse and from zero
 * gradients. A second GPU backward on top of the first must give exactly twice
 * the first (it accumulates, and the same inputs give the same bits). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/backend/ops.h"
#include "../../src/core/err.h"
#include "../test.h"

#define ATT_TOL 1e-5

static float *att_normal(size_t n, unsigned stream) {
    float *p = xmalloc(sizeof(float) * (n ? n : 1));
    rng_fill_normal(p, n, 0.0f, 1.0f, (rng_key){.seed = 20261122, .stream = RNG_STREAM_FIXTURE | (0x400u + stream)});
    return p;
}

static double att_err(const float *got, const float *ref, size_t n) {
    double mean = 0.0, worst = 0.0;
    for (size_t i = 0; i < n; i++) mean += fabs(ref[i]);
    mean = n ? mean / (double)n : 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - (double)ref[i]) / (fabs(ref[i]) + (mean > 0 ? mean : 1e-30));
        if (!(e <= worst)) worst = e; /* NaN propagates as a failure */
    }
    return worst;
}

static void att_check(const char *what, const char *cfg, const void *d, const float *ref, size_t n) {
    float *got = xmalloc(sizeof(float) * n);
    ops_cuda()->download(got, d, sizeof(float) * n);
    double e = att_err(got, ref, n);
    printf("  %-10s %-24s worst error %.3g\n", what, cfg, e);
    EXPECT_MSG(e <= ATT_TOL, "%s %s: worst error %.3g > %.1g", what, cfg, e, ATT_TOL);
    free(got);
}

TEST(cuda_attention) {
    REQUIRE(cuda_available());
    const ops *c = ops_cpu(), *g = ops_cuda();
    static const int lens[] = {1, 7, 128, 1000, 2, 4096, 33};
    enum { B = sizeof lens / sizeof lens[0] };
    int32_t cu[B + 1] = {0};
    int max_seqlen = 0;
    for (int b = 0; b < B; b++) {
        cu[b + 1] = cu[b] + lens[b];
        if (lens[b] > max_seqlen) max_seqlen = lens[b];
    }
    const int T = cu[B];
    int32_t *d_cu = g->alloc(sizeof cu);
    g->upload(d_cu, cu, sizeof cu);
    static const int dhs[] = {64, 32};
    for (int di = 0; di < 2; di++) {
        const int dh = dhs[di], nh = 256 / dh, C = nh * dh;
        const size_t nqkv = (size_t)T * 3 * C, nout = (size_t)T * C, nlse = (size_t)nh * T;
        float *qkv = att_normal(nqkv, 1 + di), *dout = att_normal(nout, 3 + di);
        float *out = xmalloc(4 * nout), *lse = xmalloc(4 * nlse), *dqkv = xmalloc(4 * nqkv), *twice = xmalloc(4 * nqkv);
        float slopes[16];
        alibi_slopes(slopes, nh);
        float *d_qkv = g->alloc(4 * nqkv), *d_dout = g->alloc(4 * nout), *d_out = g->alloc(4 * nout);
        float *d_lse = g->alloc(4 * nlse), *d_dqkv = g->alloc(4 * nqkv);
        g->upload(d_qkv, qkv, 4 * nqkv);
        g->upload(d_dout, dout, 4 * nout);
        for (int al = 0; al < 2; al++)
            for (int pd = 0; pd < 2; pd++) {
                const float p = pd ? 0.1f : 0.0f;
                const float *sl = al ? slopes : NULL;
                rng_key key = {.seed = 0xfeedbeefULL, .stream = RNG_STREAM_DROPOUT | 9, .step = 5 + (uint32_t)pd};
                char cfg[64];
                snprintf(cfg, sizeof cfg, "dh=%d%s p=%.1f", dh, al ? " alibi" : "", p);
                c->attention_fwd(out, lse, qkv, cu, B, T, max_seqlen, nh, dh, sl, p, key);
                g->attention_fwd(d_out, d_lse, d_qkv, d_cu, B, T, max_seqlen, nh, dh, sl, p, key);
                att_check("fwd out", cfg, d_out, out, nout);
                att_check("fwd lse", cfg, d_lse, lse, nlse);
                /* the backward alone: the CPU's forward results on both sides */
                g->upload(d_out, out, 4 * nout);
                g->upload(d_lse, lse, 4 * nlse);
                memset(dqkv, 0, 4 * nqkv);
                g->zero(d_dqkv, 4 * nqkv);
                c->attention_bwd(dqkv, dout, out, lse, qkv, cu, B, T, max_seqlen, nh, dh, sl, p, key);
                g->attention_bwd(d_dqkv, d_dout, d_out, d_lse, d_qkv, d_cu, B, T, max_seqlen, nh, dh, sl, p, key);
                att_check("bwd dqkv", cfg, d_dqkv, dqkv, nqkv);
                /* accumulation and determinism: x + x = 2x exactly */
                float *first = xmalloc(4 * nqkv);
                g->download(first, d_dqkv, 4 * nqkv);
                g->attention_bwd(d_dqkv, d_dout, d_out, d_lse, d_qkv, d_cu, B, T, max_seqlen, nh, dh, sl, p, key);
                g->download(twice, d_dqkv, 4 * nqkv);
                size_t bad = 0;
                for (size_t i = 0; i < nqkv; i++) bad += twice[i] != 2.0f * first[i];
                printf("  %-10s %-24s %zu of %zu elements not 2x the first\n", "bwd twice", cfg, bad, nqkv);
                EXPECT_MSG(bad == 0, "bwd twice %s: %zu elements differ", cfg, bad);
                free(first);
            }
        g->free(d_qkv), g->free(d_dout), g->free(d_out), g->free(d_lse), g->free(d_dqkv);
        free(qkv), free(dout), free(out), free(lse), free(dqkv), free(twice);
    }
    g->free(d_cu);
}
