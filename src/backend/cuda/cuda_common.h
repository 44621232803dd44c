// cuda_common.h — private helpers of the CUDA backend (src/backend/cuda/).
// Every kernel here is deterministic: each output element is computed by one
// thread in an order fixed by the shapes, never by float atomics.
//
// Two precisions from one source: the files that touch activations (cuda_ops.cu,
// cuda_dense.cu, cuda_attention.cu, cuda_m2.cu) are compiled twice, with CU_BF16=0 (fp32
// activations: the test mode, ≤ 1e-5 from the CPU) and CU_BF16=1 (bf16
// activations, fp32 statistics and gradients: the fast mode). act_t is the
// activation type, act_ld/act_st convert to and from float, and CUX(name) gives
// a function its per-precision name. Parameters, gradients and optimizer state
// are fp32 in both (cuda_device.cu, compiled once).
#ifndef BERTC_CUDA_COMMON_H
#define BERTC_CUDA_COMMON_H

#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>

extern "C" {
#include "../ops.h"
}
#include "../../core/philox.h"

// Ops return no error (ops.h): a failed CUDA call is fatal, reported with its place.
#define CUDA_CHECK(call)                                                                        \
    do {                                                                                        \
        cudaError_t e_ = (call);                                                                \
        if (e_ != cudaSuccess) {                                                                \
            fprintf(stderr, "%s:%d: CUDA error: %s (%s)\n", __FILE__, __LINE__, cudaGetErrorString(e_), #call); \
            abort();                                                                            \
        }                                                                                       \
    } while (0)
// After a kernel launch: launch errors (bad configuration) surface here.
#define CUDA_LAUNCHED() CUDA_CHECK(cudaGetLastError())

#ifndef CU_BF16
#define CU_BF16 0
#endif
#if CU_BF16
typedef __nv_bfloat16 act_t;
#define CUX(name) name##_bf16
__device__ __forceinline__ float act_ld(act_t x) { return __bfloat162float(x); }
__device__ __forceinline__ act_t act_st(float x) { return __float2bfloat16_rn(x); }
#else
typedef float act_t;
#define CUX(name) name##_f32
__device__ __forceinline__ float act_ld(act_t x) { return x; }
__device__ __forceinline__ act_t act_st(float x) { return x; }
#endif

// 16-byte vectors of activations (8 bf16 or 4 fp32): one load or store instruction.
#define ACT_VEC ((int)(16 / sizeof(act_t)))
typedef struct __align__(16) {
    act_t x[ACT_VEC];
} act_vec;
static inline bool cu_aligned16(const void *p) { return ((uintptr_t)p & 15) == 0; }

#define CU_THREADS 256
static inline unsigned cu_blocks(size_t n, unsigned threads) { return (unsigned)((n + threads - 1) / threads); }

// Φ(x) and the exact (erf) GELU, as the CPU's cpu_phi/cpu_gelu define them.
__device__ __forceinline__ float cu_phi(float x) { return 0.5f * erfcf(-x * 0.70710678118654752f); }
__device__ __forceinline__ float cu_gauss(float x) { return expf(-0.5f * x * x); } // e^(−x²/2)
__device__ __forceinline__ float cu_gelu(float x) { return x * cu_phi(x); }
__device__ __forceinline__ float cu_gelu_grad(float x) { return cu_phi(x) + x * (0.39894228040143268f * cu_gauss(x)); }

// Sum over the block (blockDim.x == CU_THREADS) in a fixed tree order; every thread gets it.
__device__ __forceinline__ double cu_block_sum(double v, double *sh /* (CU_THREADS,) shared */) {
    sh[threadIdx.x] = v;
    __syncthreads();
    for (int s = CU_THREADS / 2; s > 0; s >>= 1) {
        if ((int)threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
        __syncthreads();
    }
    double r = sh[0];
    __syncthreads();
    return r;
}

// ---- column sums in a fixed order (bias, LayerNorm, convolution and filter gradients) ----
//
// out.p[j][c·out.stride[j]] += Σ_{r<N} v_j(r, c) for j < NV, with term(r, c, v) giving the NV
// values of row r, column c (a device functor). Two passes, in double, no atomics: pass 1 gives
// each (chunk of CS_ROWS rows, CS_COLS columns) a block whose CS_LANES row lanes add every
// CS_LANES-th row in order, then the lanes in order; pass 2 adds the chunks in order. The split
// depends on N and C alone, so the bits repeat run to run. NULL outputs are skipped.
// Term types live in anonymous namespaces: the two precisions' objects each instantiate
// the kernels with their own act_t, and must not share an instantiation at link time.
#define CS_ROWS 512
#define CS_COLS 32
#define CS_LANES 8
template <int NV> struct cu_colsum_out {
    float *p[NV];
    int stride[NV];
};

template <int NV, class Term> __global__ void cu_colsum_part_kernel(double *part, int N, int C, Term term) {
    __shared__ double sh[NV][CS_LANES][CS_COLS];
    const int c = blockIdx.x * CS_COLS + threadIdx.x, lane = threadIdx.y, chunk = blockIdx.y;
    const int r0 = chunk * CS_ROWS, r1 = min(N, r0 + CS_ROWS);
    double acc[NV];
#pragma unroll
    for (int j = 0; j < NV; j++) acc[j] = 0.0;
    if (c < C)
        for (int r = r0 + lane; r < r1; r += CS_LANES) {
            double v[NV];
            term(r, c, v);
#pragma unroll
            for (int j = 0; j < NV; j++) acc[j] += v[j];
        }
#pragma unroll
    for (int j = 0; j < NV; j++) sh[j][lane][threadIdx.x] = acc[j];
    __syncthreads();
    if (lane == 0 && c < C)
        for (int j = 0; j < NV; j++) {
            double t = 0.0;
            for (int l = 0; l < CS_LANES; l++) t += sh[j][l][threadIdx.x];
            part[((size_t)j * gridDim.y + chunk) * C + c] = t;
        }
}

template <int NV> __global__ void cu_colsum_final_kernel(cu_colsum_out<NV> out, const double *part, int nchunk, int C) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    for (int j = 0; j < NV; j++) {
        if (!out.p[j]) continue;
        double t = 0.0;
        for (int k = 0; k < nchunk; k++) t += part[((size_t)j * nchunk + k) * C + c];
        out.p[j][(size_t)c * out.stride[j]] += (float)t;
    }
}

// ---- cuda_device.cu: scratch memory (declared here for the column sums) ----------------
// Scratch memory that grows only when asked for more (slot: one per concurrent use).
void *cu_scratch(int slot, size_t bytes);
enum {
    SCRATCH_WEIGHTS = 0,
    SCRATCH_BIAS = 3,
    SCRATCH_ATT_D = 1,
    SCRATCH_COLSUM = 2,
    SCRATCH_SORT = 4,
    SCRATCH_FFT_A = 5,  // cuda_m2.cu: spectra of one long convolution
    SCRATCH_FFT_B = 6,
    SCRATCH_FFT_K = 7,  // the summed kernel gradient spectrum
    SCRATCH_FFT_WS = 8, // cuFFT's work area
    SCRATCH_N = 12
};

template <int NV, class Term> static void cu_colsums(cu_colsum_out<NV> out, int N, int C, Term term) {
    if (N <= 0 || C <= 0) return;
    int nchunk = (N + CS_ROWS - 1) / CS_ROWS;
    double *part = (double *)cu_scratch(SCRATCH_COLSUM, sizeof(double) * NV * (size_t)nchunk * (size_t)C);
    dim3 grid((unsigned)((C + CS_COLS - 1) / CS_COLS), (unsigned)nchunk), block(CS_COLS, CS_LANES);
    cu_colsum_part_kernel<NV><<<grid, block>>>(part, N, C, term);
    CUDA_LAUNCHED();
    cu_colsum_final_kernel<NV><<<cu_blocks((size_t)C, CU_THREADS), CU_THREADS>>>(out, part, nchunk, C);
    CUDA_LAUNCHED();
}

// Philox4x32-10 (src/core/philox.h, rng.h): key (seed low, seed high), counter (block low,
// block high, step, stream); element i is block i >> 2, lane i & 3.
__device__ __forceinline__ void philox_block(uint64_t seed, uint32_t step, uint32_t stream, uint64_t blk,
                                             uint32_t o[4]) {
    philox_words w = philox_rounds((uint32_t)blk, (uint32_t)(blk >> 32), step, stream, (uint32_t)seed, (uint32_t)(seed >> 32));
    o[0] = w.w0;
    o[1] = w.w1;
    o[2] = w.w2;
    o[3] = w.w3;
}

// Dropout factor of element idx (rng_keep of rng.h): scale when rng_uniform >= p, else 0.
__device__ __forceinline__ float cu_drop_factor(uint64_t seed, uint32_t step, uint32_t stream, uint64_t idx, float p,
                                                float scale) {
    uint32_t o[4];
    philox_block(seed, step, stream, idx >> 2, o);
    uint32_t l = (uint32_t)(idx & 3), u = l == 0 ? o[0] : l == 1 ? o[1] : l == 2 ? o[2] : o[3];
    return (float)(u >> 8) * (1.0f / 16777216.0f) >= p ? scale : 0.0f;
}

// ---- cuda_device.cu (compiled once) ----------------------------------------------

// The dropout factors of elements i … i+ACT_VEC−1 (i a multiple of 4: whole Philox blocks).
__device__ __forceinline__ void cu_drop_factors(float *f, uint64_t seed, uint32_t step, uint32_t stream, uint64_t i,
                                                float p, float scale) {
#pragma unroll
    for (int b = 0; b < ACT_VEC / 4; b++) {
        uint32_t o[4];
        philox_block(seed, step, stream, (i >> 2) + (uint64_t)b, o);
#pragma unroll
        for (int l = 0; l < 4; l++) f[4 * b + l] = (float)(o[l] >> 8) * (1.0f / 16777216.0f) >= p ? scale : 0.0f;
    }
}

// C (M,N) = op(A)·op(B) + beta·C, row-major, fp32 FMA (no TF32), fixed k order (cuda_gemm.cu).
void cu_gemm(int transA, int transB, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float beta,
             float *C, int ldc);

// The same contract through cuBLASLt, bf16 A and B, fp32 accumulation: C is bf16
// (c_f32 0) or fp32 (c_f32 1); bias (bf16, (N,) per column of C) added when not NULL
// (beta must be 0 then). Plans are cached per shape and alignment.
void cu_gemm_bf16(int transA, int transB, int M, int N, int K, const __nv_bfloat16 *A, int lda,
                  const __nv_bfloat16 *B, int ldb, float beta, void *C, int ldc, int c_f32, const __nv_bfloat16 *bias);

// The bf16 copy of fp32 weights w (n floats): the mirror of a block registered by
// weights_sync when w lies in one, else a conversion into scratch slot `slot` (valid
// until that slot's next use; stream order keeps it alive for the kernels already
// queued): a GEMM's weights and bias take different slots.
const __nv_bfloat16 *cu_weights_bf16(const float *w, size_t n, int slot);


// Shared entries of both op tables (memory, optimizer).
extern "C" void cu_fill_common(ops *t, int act_bf16);

// ---- per-precision entry points ----------------------------------------------------

// cuda_dense.cu
void CUX(cu_matmul_fwd)(void *out, void *pre, const void *inp, const float *w, const float *b, int N, int C, int OC,
                        act_fn act);
void CUX(cu_matmul_bwd)(void *dinp, float *dw, float *db, const void *dout, const void *inp, const float *w, int N,
                        int C, int OC);
void CUX(cu_act_bwd)(void *dpre, const void *dout, const void *pre, size_t n, act_fn act);
void CUX(cu_glu_fwd)(void *out, const void *u, int N, int width, float p_drop, rng_key key);
void CUX(cu_glu_bwd)(void *du, const void *dout, const void *u, int N, int width, float p_drop, rng_key key);
void CUX(cu_layernorm_fwd)(void *out, void *s_out, float *mean, float *rstd, const void *x, const void *res,
                           const float *g, const float *b, int N, int C, float eps);
void CUX(cu_layernorm_bwd)(void *ds, float *dg, float *db, const void *dout, const void *s, const float *g,
                           const float *mean, const float *rstd, int N, int C);
// Σ over rows of x (N,C) act, added to db (C,) fp32; fixed order (two passes, no atomics).
void CUX(cu_colsum_add)(float *db, const void *x, int N, int C);
void CUX(cu_blockdiag_fwd)(void *out, const void *inp, const float *w, const float *b, int N, int C, int OC, int nb);
void CUX(cu_blockdiag_bwd)(void *dinp, float *dw, float *db, const void *dout, const void *inp, const float *w, int N,
                           int C, int OC, int nb);
// The fp32 compile's dense layer serves both tables' matmul_f32 (cuda_device.cu).
void cu_matmul_fwd_f32(void *out, void *pre, const void *inp, const float *w, const float *b, int N, int C, int OC,
                       act_fn act);
void cu_matmul_bwd_f32(void *dinp, float *dw, float *db, const void *dout, const void *inp, const float *w, int N,
                       int C, int OC);

// cuda_m2.cu: the M2 entries of a table
void CUX(cu_fill_m2)(ops *t);

// cuda_attention.cu
void CUX(cu_attention_fwd)(void *out, float *lse, const void *qkv, const int32_t *cu_seqlens, int B, int T,
                           int max_seqlen, int nh, int dh, const float *slopes, float p_drop, rng_key key);
void CUX(cu_attention_bwd)(void *dqkv, const void *dout, const void *out, const float *lse, const void *qkv,
                           const int32_t *cu_seqlens, int B, int T, int max_seqlen, int nh, int dh,
                           const float *slopes, float p_drop, rng_key key);

#endif
