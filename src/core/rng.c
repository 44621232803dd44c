/* rng.c — Philox4x32-10 and the draws built on it (see rng.h). */
#include "rng.h"

#include <math.h>

#include "philox.h"

void philox4x32(const uint32_t key[2], const uint32_t ctr[4], uint32_t out[4]) {
    philox_words w = philox_rounds(ctr[0], ctr[1], ctr[2], ctr[3], key[0], key[1]);
    out[0] = w.w0;
    out[1] = w.w1;
    out[2] = w.w2;
    out[3] = w.w3;
}

static void block(rng_key k, uint64_t blk, uint32_t out[4]) {
    uint32_t key[2] = {(uint32_t)k.seed, (uint32_t)(k.seed >> 32)};
    uint32_t ctr[4] = {(uint32_t)blk, (uint32_t)(blk >> 32), k.step, k.stream};
    philox4x32(key, ctr, out);
}

uint32_t rng_u32(rng_key k, uint64_t index) {
    uint32_t o[4];
    block(k, index >> 2, o);
    return o[index & 3];
}

float rng_uniform(rng_key k, uint64_t index) { return (float)(rng_u32(k, index) >> 8) * (1.0f / 16777216.0f); }

/* Box–Muller on lanes (0,1) and (2,3): lane 2j gives r·cos θ, lane 2j+1 gives r·sin θ.
 * u1 is taken in (0, 1] so the log is finite. Computed in double, rounded once. */
static float normal_from(const uint32_t o[4], unsigned lane) {
    unsigned a = lane & 2u;
    double u1 = ((double)(o[a] >> 8) + 1.0) * (1.0 / 16777216.0);
    double u2 = (double)(o[a + 1] >> 8) * (1.0 / 16777216.0);
    double r = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
    return (float)((lane & 1u) ? r * sin(th) : r * cos(th));
}

float rng_normal(rng_key k, uint64_t index) {
    uint32_t o[4];
    block(k, index >> 2, o);
    return normal_from(o, (unsigned)(index & 3));
}

void rng_fill_normal(float *out, size_t n, float mean, float std, rng_key k) {
#pragma omp parallel for schedule(static) if (n > (1u << 16))
    for (size_t b = 0; b < (n + 3) / 4; b++) {
        uint32_t o[4];
        block(k, b, o);
        for (unsigned l = 0; l < 4 && 4 * b + l < n; l++) out[4 * b + l] = mean + std * normal_from(o, l);
    }
}
