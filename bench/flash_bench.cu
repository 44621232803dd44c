// flash_bench.cu — forward and backward time of the bf16 flash attention
// (src/backend/cuda/cuda_flash.cu) at the shapes of bench/NOTES.md, CUDA events,
// median of the repetitions after a warm-up. Equal-length sequences, unpadded.
//
//   nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a -gencode arch=compute_80,code=sm_80 \
//        -o build/flash_bench bench/flash_bench.cu src/backend/cuda/cuda_flash.cu
//   ./build/flash_bench [reps [shape]]     (shape: an index into the table below; default all)
//
// FLOPs counted (the convention of FlashAttention's papers): forward 4·L²·dh·nh per
// sequence (Q·Kᵀ and P·V over the real pairs), backward 2.5× that (five products);
// the backward here does seven (S and dP are computed in both passes), so its
// "TFLOP/s" is an equivalent rate, not the rate of the instructions run.
#include <cuda_bf16.h>
#include <stdio.h>
#include <stdlib.h>

#include "../src/backend/cuda/cuda_common.h"
#include "../src/backend/cuda/cuda_flash.h"

// x[i] ≈ N(0, 1) from a hash of (seed, i): sum of four uniforms, centred and scaled.
__global__ void bench_fill_kernel(__nv_bfloat16 *x, size_t n, uint32_t seed) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    uint32_t h = (uint32_t)i * 0x9E3779B1u ^ (uint32_t)(i >> 32) ^ seed;
    float u = 0.0f;
    for (int k = 0; k < 4; k++) {
        h ^= h >> 15, h *= 0x2C1B3C6Du, h ^= h >> 12, h *= 0x297A2D39u, h ^= h >> 15;
        u += (float)(h >> 8) * (1.0f / 16777216.0f);
    }
    x[i] = __float2bfloat16((u - 2.0f) * 1.7320508f);
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    const int reps = argc > 1 ? atoi(argv[1]) : 20, only = argc > 2 ? atoi(argv[2]) : -1;
    struct { int B, L, nh, dh; } shapes[] = {
        {256, 128, 12, 64}, {32, 512, 12, 64}, {4, 4096, 12, 64}, {1, 8192, 12, 64},
        {256, 128, 6, 128}, {32, 512, 6, 128}, {4, 4096, 6, 128}, {1, 8192, 6, 128},
    };
    cudaDeviceProp prop;
    CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    printf("device: %s, %d SMs; median of %d runs after 3 warm-ups\n", prop.name, prop.multiProcessorCount, reps);
    printf("%5s %5s %3s %4s %6s | %9s %8s | %9s %8s\n", "B", "L", "nh", "dh", "alibi", "fwd ms", "TFLOP/s", "bwd ms",
           "TFLOP/s");
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
        for (int alibi = 0; alibi < 2; alibi++) {
            if (only >= 0 && (int)si != only) continue;
            const int B = shapes[si].B, L = shapes[si].L, nh = shapes[si].nh, dh = shapes[si].dh, T = B * L,
                      C = nh * dh;
            __nv_bfloat16 *qkv, *out, *dout, *dqkv;
            float *lse;
            int32_t *cu;
            CUDA_CHECK(cudaMalloc(&qkv, sizeof(__nv_bfloat16) * (size_t)T * 3 * C));
            CUDA_CHECK(cudaMalloc(&dqkv, sizeof(__nv_bfloat16) * (size_t)T * 3 * C));
            CUDA_CHECK(cudaMalloc(&out, sizeof(__nv_bfloat16) * (size_t)T * C));
            CUDA_CHECK(cudaMalloc(&dout, sizeof(__nv_bfloat16) * (size_t)T * C));
            CUDA_CHECK(cudaMalloc(&lse, sizeof(float) * (size_t)T * nh));
            CUDA_CHECK(cudaMalloc(&cu, sizeof(int32_t) * (size_t)(B + 1)));
            int32_t *hcu = (int32_t *)malloc(sizeof(int32_t) * (size_t)(B + 1));
            for (int b = 0; b <= B; b++) hcu[b] = b * L;
            CUDA_CHECK(cudaMemcpy(cu, hcu, sizeof(int32_t) * (size_t)(B + 1), cudaMemcpyHostToDevice));
            size_t n3 = (size_t)T * 3 * C, n1 = (size_t)T * C;
            bench_fill_kernel<<<cu_blocks(n3, 256), 256>>>(qkv, n3, 1234u + (uint32_t)si);
            bench_fill_kernel<<<cu_blocks(n1, 256), 256>>>(dout, n1, 999u + (uint32_t)si);
            CUDA_CHECK(cudaMemset(dqkv, 0, sizeof(__nv_bfloat16) * n3));
            CUDA_LAUNCHED();
            float slopes[64];
            for (int h = 0; h < nh; h++) slopes[h] = powf(2.0f, -8.0f * (float)(h + 1) / (float)nh);
            const float *sl = alibi ? slopes : NULL;
            rng_key key = {7, 0, 0};
            cudaEvent_t e0, e1;
            CUDA_CHECK(cudaEventCreate(&e0));
            CUDA_CHECK(cudaEventCreate(&e1));
            float *tf = (float *)malloc(sizeof(float) * (size_t)reps); // (reps,) forward times, ms
            float *tb = (float *)malloc(sizeof(float) * (size_t)reps); // (reps,) backward times, ms
            for (int it = -3; it < reps; it++) {
                CUDA_CHECK(cudaEventRecord(e0));
                cu_flash_fwd(out, lse, qkv, cu, B, T, L, nh, dh, sl, 0.0f, key);
                CUDA_CHECK(cudaEventRecord(e1));
                CUDA_CHECK(cudaEventSynchronize(e1));
                if (it >= 0) CUDA_CHECK(cudaEventElapsedTime(&tf[it], e0, e1));
                CUDA_CHECK(cudaEventRecord(e0));
                cu_flash_bwd(dqkv, dout, out, lse, qkv, cu, B, T, L, nh, dh, sl, 0.0f, key);
                CUDA_CHECK(cudaEventRecord(e1));
                CUDA_CHECK(cudaEventSynchronize(e1));
                if (it >= 0) CUDA_CHECK(cudaEventElapsedTime(&tb[it], e0, e1));
            }
            qsort(tf, (size_t)reps, sizeof(float), cmp_float);
            qsort(tb, (size_t)reps, sizeof(float), cmp_float);
            const double fl = 4.0 * (double)B * L * L * dh * nh, mf = tf[reps / 2], mb = tb[reps / 2];
            printf("%5d %5d %3d %4d %6s | %9.4f %8.1f | %9.4f %8.1f\n", B, L, nh, dh, alibi ? "yes" : "no", mf,
                   fl / (mf * 1e9), mb, 2.5 * fl / (mb * 1e9));
            free(tf), free(tb), free(hcu);
            CUDA_CHECK(cudaEventDestroy(e0));
            CUDA_CHECK(cudaEventDestroy(e1));
            CUDA_CHECK(cudaFree(qkv));
            CUDA_CHECK(cudaFree(dqkv));
            CUDA_CHECK(cudaFree(out));
            CUDA_CHECK(cudaFree(dout));
            CUDA_CHECK(cudaFree(lse));
            CUDA_CHECK(cudaFree(cu));
        }
    return 0;
}
