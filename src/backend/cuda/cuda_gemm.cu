// cuda_gemm.cu — a plain fp32 tiled GEMM for the CUDA backend's fp32 mode.
// Written here instead of cuBLAS because the build links CUDA statically and the
// toolkit on the build machine ships no static cuBLAS; fp32 FMA only (no TF32),
// each output summed over k in order, so results are reproducible run to run.
#include "cuda_common.h"

#define GT 16 // tile edge: a GT×GT block computes a GT×GT tile of C

__global__ void gemm_kernel(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                            float beta, float *C, int ldc) {
    __shared__ float As[GT][GT + 1]; // (rows of C, k) tile of op(A)
    __shared__ float Bs[GT][GT + 1]; // (k, cols of C) tile of op(B)
    int tx = threadIdx.x, ty = threadIdx.y;
    int row = blockIdx.y * GT + ty, col = blockIdx.x * GT + tx;
    float acc = 0.0f;
    for (int k0 = 0; k0 < K; k0 += GT) {
        int ka = k0 + tx, kb = k0 + ty;
        float a = 0.0f, b = 0.0f;
        if (row < M && ka < K) a = ta ? A[(size_t)ka * lda + row] : A[(size_t)row * lda + ka];
        if (col < N && kb < K) b = tb ? B[(size_t)col * ldb + kb] : B[(size_t)kb * ldb + col];
        As[ty][tx] = a;
        Bs[ty][tx] = b;
        __syncthreads();
#pragma unroll
        for (int k = 0; k < GT; k++) acc = fmaf(As[ty][k], Bs[k][tx], acc);
        __syncthreads();
    }
    if (row < M && col < N) {
        float *c = C + (size_t)row * ldc + col;
        *c = beta == 0.0f ? acc : acc + beta * *c; // beta 0 never reads C (may be uninitialised)
    }
}

void cu_gemm(int transA, int transB, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float beta,
             float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    dim3 grid((unsigned)((N + GT - 1) / GT), (unsigned)((M + GT - 1) / GT)), block(GT, GT);
    gemm_kernel<<<grid, block>>>(transA, transB, M, N, K, A, lda, B, ldb, beta, C, ldc);
    CUDA_LAUNCHED();
}
