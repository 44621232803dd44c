/* philox.h — the Philox4x32-10 rounds (Salmon et al. 2011), written once for every caller:
 * rng.c, the CPU backend's vectorised dropout masks and the CUDA kernels. A header of
 * scalar code, so that each caller inlines it and a loop over blocks vectorises.
 *
 * In: counter (c0, c1, c2, c3) = (block low 32, block high 32, step, stream), key (k0, k1) =
 * (seed low 32, seed high 32), as rng.h specifies. Out: the block's four words. */
#ifndef BERTC_PHILOX_H
#define BERTC_PHILOX_H

#include <stdint.h>

#ifdef __CUDACC__
#define PHILOX_INLINE static __host__ __device__ __forceinline__
#else
#define PHILOX_INLINE static inline __attribute__((always_inline))
#endif

typedef struct {
    uint32_t w0, w1, w2, w3;
} philox_words;

PHILOX_INLINE philox_words philox_rounds(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
#if defined(__CUDACC__)
#pragma unroll
#elif defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 10
#endif
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0, hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += 0x9E3779B9u; /* the Weyl sequence of the key */
        k1 += 0xBB67AE85u;
    }
    philox_words w; /* no compound literal: the header is C and CUDA C++ */
    w.w0 = c0;
    w.w1 = c1;
    w.w2 = c2;
    w.w3 = c3;
    return w;
}

#endif
