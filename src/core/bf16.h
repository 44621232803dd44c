/* bf16.h — fp32 ↔ bf16 / f16 conversions on raw bits (formats.md §1.5).
 *
 * GCC 12 / Clang 14 on x86 have no portable bf16 arithmetic type and Clang 14
 * lacks _Float16 there, so 16-bit floats are stored as uint16_t and converted
 * here with integer code: round-to-nearest-even, subnormals handled, overflow
 * to ±Inf, NaN stays NaN (quiet, sign kept). */
#ifndef BERTC_BF16_H
#define BERTC_BF16_H

#include <stdint.h>
#include <string.h>

static inline uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float f32_from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* bf16 is the high half of an fp32: widening is exact. */
static inline float bf16_to_f32(uint16_t h) { return f32_from_bits((uint32_t)h << 16); }

static inline uint16_t bf16_from_f32(float f) {
    uint32_t u = f32_bits(f);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x0040); /* quiet NaN */
    u += 0x7FFFu + ((u >> 16) & 1); /* ties to even; carries into the exponent (→ Inf) */
    return (uint16_t)(u >> 16);
}

static inline float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1F, m = h & 0x3FF;
    if (e == 0) { /* zero or subnormal: m × 2^-24, exact in fp32 */
        float v = (float)m * 5.9604644775390625e-8f;
        return f32_from_bits(f32_bits(v) | sign);
    }
    if (e == 31) return f32_from_bits(sign | 0x7F800000u | (m << 13)); /* Inf / NaN */
    return f32_from_bits(sign | ((e + 112) << 23) | (m << 13));
}

static inline uint16_t f16_from_f32(float f) {
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    x &= 0x7FFFFFFFu;
    if (x >= 0x7F800000u) /* Inf, or NaN made quiet with the top payload bits kept */
        return (uint16_t)(sign | 0x7C00 | (x > 0x7F800000u ? 0x0200 | ((x >> 13) & 0x3FF) : 0));
    if (x >= 0x477FF000u) return (uint16_t)(sign | 0x7C00); /* ≥ 65520 rounds to Inf */
    uint32_t e = x >> 23, mant = x & 0x7FFFFFu;
    if (e < 113) { /* below 2^-14: f16 subnormal = round(value / 2^-24) */
        if (e < 102) return sign; /* < 2^-25 (or exactly the tie at 2^-25) → ±0 */
        uint32_t full = mant | 0x800000u, s = 126 - e; /* 14 ≤ s ≤ 24 */
        uint32_t r = full >> s, rem = full & ((1u << s) - 1), half = 1u << (s - 1);
        if (rem > half || (rem == half && (r & 1))) r++; /* may become the smallest normal: fine */
        return (uint16_t)(sign | r);
    }
    uint32_t h = ((e - 112) << 10) | (mant >> 13), rem = mant & 0x1FFF;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++; /* carry into the exponent is correct */
    return (uint16_t)(sign | h);
}

#endif
