// cuda_common.h — private helpers of the CUDA backend (src/backend/cuda/).
// Every kernel here is deterministic: each output element is computed by one
// thread in an order fixed by the shapes, never by float atomics.
#ifndef BERTC_CUDA_COMMON_H
#define BERTC_CUDA_COMMON_H

#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>

extern "C" {
#include "../ops.h"
}

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

// C (M,N) = op(A)·op(B) + beta·C, row-major, fp32 FMA (no TF32), fixed k order (cuda_gemm.cu).
void cu_gemm(int transA, int transB, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float beta,
             float *C, int ldc);

// Op entry points (cuda_dense.cu).
void cu_matmul_fwd(void *out, void *pre, const void *inp, const float *w, const float *b, int N, int C, int OC,
                   act_fn act);
void cu_matmul_bwd(void *dinp, float *dw, float *db, const void *dout, const void *inp, const float *w, int N, int C,
                   int OC);
void cu_act_bwd(void *dpre, const void *dout, const void *pre, size_t n, act_fn act);
void cu_glu_fwd(void *out, const void *u, int N, int width);
void cu_glu_bwd(void *du, const void *dout, const void *u, int N, int width);
void cu_layernorm_fwd(void *out, void *s_out, float *mean, float *rstd, const void *x, const void *res,
                      const float *g, const float *b, int N, int C, float eps);
void cu_layernorm_bwd(void *ds, float *dg, float *db, const void *dout, const void *s, const float *g,
                      const float *mean, const float *rstd, int N, int C);

#endif
