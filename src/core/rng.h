/* rng.h — counter-based random numbers (Philox4x32-10, Salmon et al. 2011).
 *
 * Every random draw in bertc (init, masking, dropout, shuffling) is a pure
 * function of (seed, stream, step, index): no generator state to save, the
 * same numbers on every backend and thread count, and a resumed run draws
 * exactly what the uninterrupted run would have.
 *
 * Element `index` of a draw uses Philox block (index >> 2), lane (index & 3):
 *   key     = (seed low 32, seed high 32)
 *   counter = (block low 32, block high 32, step, stream)
 */
#ifndef BERTC_RNG_H
#define BERTC_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t seed;
    uint32_t stream; /* what the numbers are for (RNG_STREAM_*) plus a sub-id such as a layer number */
    uint32_t step;   /* training step (0 for init) */
} rng_key;

/* Streams: the high byte names the purpose, the low 24 bits are free (layer, tensor number). */
enum {
    RNG_STREAM_INIT = 1u << 24,
    RNG_STREAM_DROPOUT = 2u << 24,
    RNG_STREAM_MASK = 3u << 24,
    RNG_STREAM_SHUFFLE = 4u << 24,
    RNG_STREAM_FIXTURE = 5u << 24,
};

/* One Philox4x32-10 block. */
void philox4x32(const uint32_t key[2], const uint32_t ctr[4], uint32_t out[4]);
/* The 32-bit word for element `index`. */
uint32_t rng_u32(rng_key k, uint64_t index);
/* Uniform in [0, 1) with 24 random bits: (u32 >> 8) * 2^-24. */
float rng_uniform(rng_key k, uint64_t index);
/* Standard normal for element `index` (Box–Muller over the two words of the lane pair). */
float rng_normal(rng_key k, uint64_t index);
/* out[i] = mean + std * rng_normal(k, i), i < n. */
void rng_fill_normal(float *out, size_t n, float mean, float std, rng_key k);
/* Dropout keep decision for element `index`: rng_uniform >= p. */
static inline int rng_keep(rng_key k, uint64_t index, float p) { return rng_uniform(k, index) >= p; }

#endif
