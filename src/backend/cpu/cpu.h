/* cpu.h — private helpers shared by the fp32 CPU backend's files (src/backend/cpu/).
 * Every op here is deterministic: each output element is computed in an order
 * that depends only on the shapes, never on the number of OpenMP threads. */
#ifndef BERTC_CPU_H
#define BERTC_CPU_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "../ops.h"

/* OpenBLAS runs a gemm whose m·n·k is at most this on one thread
 * (SMP_THRESHOLD_MIN 65536 × GEMM_MULTITHREAD_THRESHOLD 4, the default build);
 * inside an active OpenMP parallel region it always runs on one thread. Its
 * own threading splits C differently for each thread count, and the split
 * changes the bits (edge tiles), so larger products go through cpu_gemm. */
#define CPU_BLAS_SERIAL_MNK 262144.0

/* C (M,N) = alpha·op(A)·op(B) + beta·C, row-major, as cblas_sgemm; computed
 * over fixed tiles of C, in parallel, one single-threaded sgemm per tile, so
 * the result depends on the shapes only, never on the thread count. */
void cpu_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
              int ldb, float beta, float *C, int ldc);

/* Hot elementwise loops are compiled for AVX-512 and AVX2 too and picked at
 * run time (the build targets baseline x86-64). Results stay independent of
 * the thread count; they may differ in the last bits between CPU kinds. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CPU_VEC __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CPU_VEC
#endif

/* e^x in fp32 for the softmax loops, written so that the compiler vectorises
 * it (glibc's expf is a call per element): Cody–Waite reduction x = n·ln2 + r,
 * |r| ≤ ln2/2, and Cephes' degree-7 polynomial for e^r, then 2^n through the
 * exponent bits. Within 2 ulp of e^x on [−87, 88] (tests/test_ops_cpu.c
 * measures it); below −87 it returns 0. */
static inline __attribute__((always_inline)) float cpu_exp(float x) {
    float xc = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round(x/ln2): 1.5·2^23 trick */
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union { float f; int32_t i; } u = {p};
    u.i += (int32_t)n * (1 << 23); /* · 2^n */
    return x < -87.0f ? 0.0f : u.f;
}

/* Φ(x), the standard normal CDF, with *gauss = e^(−x²/2); vectorisable.
 * Φ(x) = 0.5·erfc(−x/√2) with erfc(z) = t·e^(−z² + P(t)), t = 1/(1 + z/2) for
 * z ≥ 0 (Numerical Recipes' erfcc, relative error < 1.2e-7 everywhere), so the
 * tail x < 0 keeps its relative accuracy. −z² = −x²/2 is taken exactly as
 * h + l with an FMA, so large |x| lose nothing to the squaring. */
static inline __attribute__((always_inline)) float cpu_phi(float x, float *gauss) {
    float a = fabsf(x), h = a * a, l = fmaf(a, a, -h); /* x² = h + l exactly */
    float g = cpu_exp(-0.5f * h) * (1.0f - 0.5f * l);  /* e^(−x²/2) */
    float t = 1.0f / (1.0f + 0.35355339059327376f * a); /* 1/(1 + z/2), z = |x|/√2 */
    float p = 0.17087277f;
    p = p * t - 0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t - 1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t - 0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t - 1.26551223f;
    float half_erfc = 0.5f * t * g * cpu_exp(p); /* Φ(−|x|) */
    *gauss = g;
    return x >= 0.0f ? 1.0f - half_erfc : half_erfc;
}

/* Exact (erf) GELU x·Φ(x) and its derivative Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π). */
static inline __attribute__((always_inline)) float cpu_gelu(float x) {
    float g;
    return x * cpu_phi(x, &g);
}
static inline __attribute__((always_inline)) float cpu_gelu_grad(float x) {
    float g, cdf = cpu_phi(x, &g);
    return cdf + x * (0.39894228040143268f * g);
}

/* m[i] = keep(base + i) ? scale : 0 for i < n, keep = rng_keep(k, ·, p) of rng.h,
 * drawing one Philox block per four elements instead of one per element. */
/* Element count below which an op runs on one thread: a parallel region costs
 * microseconds, far more than small ops, and much more on a busy machine. */
#define CPU_PAR_MIN ((size_t)1 << 15)

void cpu_dropout_mask(float *m, uint64_t base, size_t n, rng_key k, float p, float scale);

/* Tensor parts, one file each. */
void cpu_embed_fwd(void *out, const int32_t *ids, const int32_t *types, const int32_t *pos, const float *wte,
                   const float *wtt, const float *wpe, int T, int C);
void cpu_embed_bwd(float *dwte, float *dwtt, float *dwpe, const void *dout, const int32_t *ids,
                   const int32_t *types, const int32_t *pos, int T, int C);
void cpu_gather_rows(void *out, const void *in, const int32_t *idx, int M, int C);
void cpu_pool_rows_fwd(void *out, const void *in, const float *w, const int32_t *cu, int B, int C);
void cpu_pool_rows_bwd(void *din, const void *dout, const float *w, const int32_t *cu, int B, int C);
void cpu_scatter_add_rows(void *din, const void *dout, const int32_t *idx, int M, int C);
void cpu_dropout_fwd(void *out, const void *in, size_t n, float p, rng_key key);
void cpu_dropout_bwd(void *din, const void *dout, size_t n, float p, rng_key key);
void cpu_xent_fwd(float *loss, float *lse, const void *logits, const int32_t *targets, int M, int V);
void cpu_argmax_rows(int32_t *out, const void *logits, int M, int V);
void cpu_xent_bwd(void *dlogits, const void *logits, const float *lse, const int32_t *targets, float scale, int M,
                  int V);

void cpu_matmul_fwd(void *out, void *pre, const void *inp, const float *w, const float *b, int N, int C, int OC,
                    act_fn act);
void cpu_matmul_bwd(void *dinp, float *dw, float *db, const void *dout, const void *inp, const float *w, int N, int C,
                    int OC);
void cpu_matmul_f32_fwd(float *out, const float *inp, const float *w, const float *b, int N, int C, int OC);
void cpu_matmul_f32_bwd(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w, int N,
                        int C, int OC);
void cpu_act_bwd(void *dpre, const void *dout, const void *pre, size_t n, act_fn act);
void cpu_glu_fwd(void *out, const void *u, int N, int I, float p_drop, rng_key key);
void cpu_glu_bwd(void *du, const void *dout, const void *u, int N, int I, float p_drop, rng_key key);
void cpu_layernorm_fwd(void *out, void *s_out, float *mean, float *rstd, const void *x, const void *res,
                       const float *g, const float *b, int N, int C, float eps);
void cpu_layernorm_bwd(void *ds, float *dg, float *db, const void *dout, const void *s, const float *g,
                       const float *mean, const float *rstd, int N, int C);

void cpu_attention_fwd(void *out, float *lse, const void *qkv, const int32_t *cu_seqlens, int B, int T,
                       int max_seqlen, int nh, int dh, const float *slopes, float p_drop, rng_key key);
void cpu_attention_bwd(void *dqkv, const void *dout, const void *out, const float *lse, const void *qkv,
                       const int32_t *cu_seqlens, int B, int T, int max_seqlen, int nh, int dh,
                       const float *slopes, float p_drop, rng_key key);

/* cpu_optim.c */
void cpu_adamw(float *p, float *m, float *v, const float *g, size_t n, const adamw_scalars *s);
double cpu_sumsq(const float *x, size_t n);
void cpu_scale(float *x, size_t n, float s);

#endif
