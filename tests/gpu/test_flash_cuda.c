/* test_flash_cuda.c — the bf16 tensor-core flash attention (cuda_flash.cu) against
 * the CPU backend's attention op (fp32, the reference) run on the SAME bf16-rounded
 * inputs, so the measured error is what the GPU's own bf16 steps add. One unpadded
 * batch mixes sequence lengths 1, 7, 65, 128, 129, 1000, 4096 (odd lengths, tile
 * edges ±1, one token); a second batch of lengths ≤ 128 (0 … 128) takes the
 * short-sequence backward; head dims 32, 64, 128; ALiBi on/off; dropout 0 and 0.1.
 * Built and run by `make test-gpu` only: it needs a CUDA device.
 *
 * Error measure: per sequence and per tensor part (out; dQ, dK, dV), the worst
 * |gpu − cpu| over the part's elements divided by max |cpu| over them (floored at
 * 1e-3 of the part's max over the whole batch, so a sequence whose gradient is
 * ~0 — a one-token sequence has dQ = dK = 0 — is judged against the batch's scale).
 * Judging each sequence on its own scale keeps a long sequence, whose averaged
 * outputs are small, from hiding behind a short one's large values.
 *
 * Bounds, from what the GPU rounds to bf16 that the CPU keeps in fp32:
 *  - out ≤ 1e-2: the stored output (relative rounding ≤ 2^-8 = 3.9e-3 of itself)
 *    plus P rounded to bf16 before P·V (≤ 2^-8 per term, random signs, so well
 *    under 2^-8 of Σ_j P_ij |v_j| in practice);
 *  - dQ, dK, dV ≤ 2e-2: the stored gradient (≤ 3.9e-3) plus P, dS rounded to bf16
 *    before the three products (random, each ≤ 2^-8 per term) and the bf16
 *    accumulate (prefilled values rounded together with the sum);
 *  - lse: fp32 on both sides from identical bf16 products, only summation order and
 *    exp2f differ: |Δ| ≤ 1e-4·max(1, |lse|).
 * The backward is checked alone: both sides get the CPU's forward results (out
 * rounded to bf16, lse) and the same dout. Then twice more from a nonzero bf16
 * prefill: the result must match prefill + cpu gradient (the op accumulates), and the
 * two runs must give identical bits; the forward is run twice too. Forward outputs
 * are poisoned with NaN before each GPU run: an element left unwritten fails (NaN
 * fails every comparison). Inputs are Philox normals, a new stream per tensor;
 * BERTC_FLASH_SEED=n draws another set. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/backend/cuda/cuda_flash.h"
#include "../../src/backend/ops.h"
#include "../../src/core/bf16.h"
#include "../../src/core/err.h"
#include "../test.h"

#define FL_TOL_OUT 1e-2
#define FL_TOL_GRAD 2e-2
#define FL_TOL_LSE 1e-4
#define FL_FLOOR 1e-3

static unsigned fl_stream; /* a fresh Philox stream per tensor */

/* Input seed: BERTC_FLASH_SEED=n draws a different set of inputs (the default keeps runs comparable). */
static uint64_t fl_seed(void) {
    const char *e = getenv("BERTC_FLASH_SEED");
    return e ? strtoull(e, NULL, 0) : 0x5eed2611ULL;
}

/* n normals (std) rounded to bf16: *bits gets the bf16 words, the return value their exact fp32 values. */
static float *fl_normal_bf16(size_t n, float std, uint16_t **bits) {
    float *f = xmalloc(sizeof(float) * (n ? n : 1));
    uint16_t *u = xmalloc(sizeof(uint16_t) * (n ? n : 1));
    rng_key k = {.seed = fl_seed(), .stream = RNG_STREAM_FIXTURE | (0x800u + ++fl_stream)};
    rng_fill_normal(f, n, 0.0f, std, k);
    for (size_t i = 0; i < n; i++) {
        u[i] = bf16_from_f32(f[i]);
        f[i] = bf16_to_f32(u[i]);
    }
    *bits = u;
    return f;
}

static float *fl_download_bf16(const void *d, size_t n) {
    uint16_t *u = xmalloc(sizeof(uint16_t) * (n ? n : 1));
    float *f = xmalloc(sizeof(float) * (n ? n : 1));
    ops_cuda_f32()->download(u, d, sizeof(uint16_t) * n);
    for (size_t i = 0; i < n; i++) f[i] = bf16_to_f32(u[i]);
    free(u);
    return f;
}

/* Fills n bf16 words (or f32 when f32) of device memory with NaN. */
static void fl_poison(void *d, size_t n, int f32) {
    size_t bytes = n * (f32 ? 4 : 2);
    unsigned char *h = xmalloc(bytes ? bytes : 1);
    for (size_t i = 0; i < bytes; i += 2) { /* 0x7FC0: bf16 NaN; 0x7FC07FC0 is an f32 NaN too */
        h[i] = 0xC0;
        h[i + 1] = 0x7F;
    }
    ops_cuda_f32()->upload(d, h, bytes);
    free(h);
}

/* Worst per-sequence error (the measure above) of columns [c0, c0+nc) of (T, ld) tensors;
 * *worst_b gets the sequence. */
static double fl_seq_err(const float *got, const float *ref, const int32_t *cu, int B, size_t ld, int c0, int nc,
                         int *worst_b) {
    double gmax = 0.0;
    for (size_t t = 0; t < (size_t)cu[B]; t++)
        for (int c = 0; c < nc; c++) gmax = fmax(gmax, fabs(ref[t * ld + (size_t)(c0 + c)]));
    double worst = 0.0;
    *worst_b = -1;
    for (int b = 0; b < B; b++) {
        double mx = 0.0, d = 0.0;
        for (size_t t = (size_t)cu[b]; t < (size_t)cu[b + 1]; t++)
            for (int c = 0; c < nc; c++) {
                size_t i = t * ld + (size_t)(c0 + c);
                mx = fmax(mx, fabs(ref[i]));
                double e = fabs((double)got[i] - (double)ref[i]);
                if (!(e <= d)) d = e; /* NaN sticks */
            }
        double e = d / fmax(fmax(mx, FL_FLOOR * gmax), 1e-30);
        if (!(e <= worst)) worst = e, *worst_b = b;
    }
    return worst;
}

static void fl_check_case(int dh, int nh, int alibi, float p, const int *lens, int B) {
    const ops *c = ops_cpu(), *g = ops_cuda_f32();
    int32_t cu[16] = {0};
    int max_seqlen = 0;
    for (int b = 0; b < B; b++) {
        cu[b + 1] = cu[b] + lens[b];
        if (lens[b] > max_seqlen) max_seqlen = lens[b];
    }
    const int T = cu[B], C = nh * dh;
    const size_t nqkv = (size_t)T * 3 * C, nout = (size_t)T * C, nlse = (size_t)nh * T;
    char cfg[64];
    snprintf(cfg, sizeof cfg, "dh=%d nh=%d%s p=%.1f", dh, nh, alibi ? " alibi" : "", p);
    float slopes[64];
    alibi_slopes(slopes, nh);
    const float *sl = alibi ? slopes : NULL;
    rng_key key = {.seed = fl_seed() ^ (uint64_t)dh, .stream = RNG_STREAM_DROPOUT | 3, .step = 11 + (uint32_t)alibi};

    uint16_t *qkv_b, *dout_b, *pre_b;
    float *qkv = fl_normal_bf16(nqkv, 1.0f, &qkv_b), *dout = fl_normal_bf16(nout, 1.0f, &dout_b);
    float *pre = fl_normal_bf16(nqkv, 0.05f, &pre_b); /* prefill of the accumulate check */
    float *out = xmalloc(4 * nout), *lse = xmalloc(4 * nlse), *dqkv = xmalloc(4 * nqkv);
    uint16_t *out_b = xmalloc(2 * nout);

    int32_t *d_cu = g->alloc(sizeof(int32_t) * (size_t)(B + 1));
    void *d_qkv = g->alloc(2 * nqkv), *d_dout = g->alloc(2 * nout);
    void *d_out = g->alloc(2 * nout), *d_out2 = g->alloc(2 * nout);
    void *d_dqkv = g->alloc(2 * nqkv), *d_dqkv2 = g->alloc(2 * nqkv);
    float *d_lse = g->alloc(4 * nlse), *d_lse2 = g->alloc(4 * nlse);
    g->upload(d_cu, cu, sizeof(int32_t) * (size_t)(B + 1));
    g->upload(d_qkv, qkv_b, 2 * nqkv);
    g->upload(d_dout, dout_b, 2 * nout);

    /* ---- forward ---- */
    c->attention_fwd(out, lse, qkv, cu, B, T, max_seqlen, nh, dh, sl, p, key);
    fl_poison(d_out, nout, 0), fl_poison(d_lse, nlse, 1), fl_poison(d_out2, nout, 0), fl_poison(d_lse2, nlse, 1);
    cu_flash_fwd(d_out, d_lse, d_qkv, d_cu, B, T, max_seqlen, nh, dh, sl, p, key);
    cu_flash_fwd(d_out2, d_lse2, d_qkv, d_cu, B, T, max_seqlen, nh, dh, sl, p, key);
    float *gout = fl_download_bf16(d_out, nout), *glse = xmalloc(4 * nlse);
    g->download(glse, d_lse, 4 * nlse);
    int wb;
    double eo = fl_seq_err(gout, out, cu, B, (size_t)C, 0, C, &wb);
    printf("  %-26s fwd out: worst %.3g (seq of %d)", cfg, eo, wb >= 0 ? lens[wb] : -1);
    EXPECT_MSG(eo <= FL_TOL_OUT, "%s fwd out: %.3g > %.0e (sequence of length %d)", cfg, eo, FL_TOL_OUT,
               wb >= 0 ? lens[wb] : -1);
    double el = 0.0;
    for (size_t i = 0; i < nlse; i++) {
        double e = fabs((double)glse[i] - (double)lse[i]) / fmax(1.0, fabs((double)lse[i]));
        if (!(e <= el)) el = e;
    }
    printf(", lse %.3g", el);
    EXPECT_MSG(el <= FL_TOL_LSE, "%s fwd lse: %.3g > %.0e", cfg, el, FL_TOL_LSE);
    {
        unsigned char *a1 = xmalloc(2 * nout), *a2 = xmalloc(2 * nout);
        unsigned char *l1 = xmalloc(4 * nlse), *l2 = xmalloc(4 * nlse);
        g->download(a1, d_out, 2 * nout), g->download(a2, d_out2, 2 * nout);
        g->download(l1, d_lse, 4 * nlse), g->download(l2, d_lse2, 4 * nlse);
        int same = memcmp(a1, a2, 2 * nout) == 0 && memcmp(l1, l2, 4 * nlse) == 0;
        printf(", rerun %s\n", same ? "bit-identical" : "DIFFERS");
        EXPECT_MSG(same, "%s fwd: two runs differ", cfg);
        free(a1), free(a2), free(l1), free(l2);
    }

    /* ---- backward alone, from the CPU's forward results (out rounded to bf16) ---- */
    for (size_t i = 0; i < nout; i++) {
        out_b[i] = bf16_from_f32(out[i]);
        out[i] = bf16_to_f32(out_b[i]);
    }
    g->upload(d_out, out_b, 2 * nout);
    g->upload(d_lse, lse, 4 * nlse);
    memset(dqkv, 0, 4 * nqkv);
    c->attention_bwd(dqkv, dout, out, lse, qkv, cu, B, T, max_seqlen, nh, dh, sl, p, key);
    g->zero(d_dqkv, 2 * nqkv);
    cu_flash_bwd(d_dqkv, d_dout, d_out, d_lse, d_qkv, d_cu, B, T, max_seqlen, nh, dh, sl, p, key);
    float *gd = fl_download_bf16(d_dqkv, nqkv);
    static const char *part[] = {"dQ", "dK", "dV"};
    printf("  %-26s bwd from 0:", cfg);
    for (int k = 0; k < 3; k++) {
        double e = fl_seq_err(gd, dqkv, cu, B, (size_t)3 * C, k * C, C, &wb);
        printf(" %s %.3g (seq of %d)", part[k], e, wb >= 0 ? lens[wb] : -1);
        EXPECT_MSG(e <= FL_TOL_GRAD, "%s bwd %s: %.3g > %.0e (sequence of length %d)", cfg, part[k], e, FL_TOL_GRAD,
                   wb >= 0 ? lens[wb] : -1);
    }
    printf("\n");

    /* ---- accumulate: prefill + gradient, twice, bit-identical ---- */
    g->upload(d_dqkv, pre_b, 2 * nqkv);
    g->upload(d_dqkv2, pre_b, 2 * nqkv);
    cu_flash_bwd(d_dqkv, d_dout, d_out, d_lse, d_qkv, d_cu, B, T, max_seqlen, nh, dh, sl, p, key);
    cu_flash_bwd(d_dqkv2, d_dout, d_out, d_lse, d_qkv, d_cu, B, T, max_seqlen, nh, dh, sl, p, key);
    float *ga = fl_download_bf16(d_dqkv, nqkv), *ga2 = fl_download_bf16(d_dqkv2, nqkv);
    for (size_t i = 0; i < nqkv; i++) dqkv[i] += pre[i];
    printf("  %-26s bwd onto prefill:", cfg);
    for (int k = 0; k < 3; k++) {
        double e = fl_seq_err(ga, dqkv, cu, B, (size_t)3 * C, k * C, C, &wb);
        printf(" %s %.3g", part[k], e);
        EXPECT_MSG(e <= FL_TOL_GRAD, "%s bwd onto prefill %s: %.3g > %.0e (sequence of length %d)", cfg, part[k], e,
                   FL_TOL_GRAD, wb >= 0 ? lens[wb] : -1);
    }
    size_t ndiff = 0;
    for (size_t i = 0; i < nqkv; i++) ndiff += memcmp(&ga[i], &ga2[i], 4) != 0;
    printf(", rerun: %zu of %zu differ\n", ndiff, nqkv);
    EXPECT_MSG(ndiff == 0, "%s bwd: two runs differ in %zu elements", cfg, ndiff);

    free(gout), free(glse), free(gd), free(ga), free(ga2);
    g->free(d_cu), g->free(d_qkv), g->free(d_dout), g->free(d_out), g->free(d_out2), g->free(d_dqkv), g->free(d_dqkv2);
    g->free(d_lse), g->free(d_lse2);
    free(qkv), free(dout), free(pre), free(out), free(lse), free(dqkv);
    free(qkv_b), free(dout_b), free(pre_b), free(out_b);
}

/* Every head dim × ALiBi on/off × dropout 0/0.1 on one batch of lengths. */
static void fl_check_all(const int *lens, int B) {
    static const int dhs[] = {64, 128, 32};
    for (int di = 0; di < 3; di++)
        for (int al = 0; al < 2; al++)
            for (int pd = 0; pd < 2; pd++) fl_check_case(dhs[di], 4, al, pd ? 0.1f : 0.0f, lens, B);
}

TEST(cuda_flash_attention) {
    REQUIRE(cuda_available());
    printf("  input seed %#llx (BERTC_FLASH_SEED)\n", (unsigned long long)fl_seed());
    static const int lens[] = {1, 7, 128, 129, 65, 1000, 4096};
    fl_check_all(lens, (int)(sizeof lens / sizeof lens[0]));
}

/* max_seqlen ≤ 128 takes the one-block backward: lengths around its 16-row warp blocks, an empty sequence. */
TEST(cuda_flash_attention_short) {
    REQUIRE(cuda_available());
    static const int lens[] = {1, 7, 0, 33, 64, 65, 127, 128, 16, 100};
    fl_check_all(lens, (int)(sizeof lens / sizeof lens[0]));
}

/* A batch of equal short sequences (the MosaicBERT shape, unpadded) with 12 heads. */
TEST(cuda_flash_attention_uniform) {
    REQUIRE(cuda_available());
    static const int lens[] = {128, 128, 128, 128, 128, 128, 128, 128};
    fl_check_case(64, 12, 1, 0.0f, lens, 8);
    fl_check_case(64, 12, 0, 0.1f, lens, 8);
}
