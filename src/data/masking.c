/* masking.c — MLM masking per sequence (see masking.h). */
#include "masking.h"

#include <string.h>

#include "../core/err.h"
#include "../core/rng.h"

void mask_config_default(mask_config *c) {
    memset(c, 0, sizeof *c);
    c->ratio = 0.30f;
    c->p_mask = 0.8f;
    c->p_random = 0.1f;
    c->mask_id = -1;
}

int mask_config_check(const mask_config *c) {
    if (!(c->ratio >= 0.0f && c->ratio <= 1.0f)) return err_set("masking: ratio %g must be in [0, 1]", c->ratio);
    if (!(c->p_mask >= 0.0f && c->p_random >= 0.0f && c->p_mask + c->p_random <= 1.0f))
        return err_set("masking: p_mask %g and p_random %g must be >= 0 with a sum <= 1", c->p_mask, c->p_random);
    if (c->mask_id < 0) return err_set("masking: mask_id %d must be >= 0 (is [MASK] in the vocabulary?)", c->mask_id);
    if (c->n_random == 0) return err_set("masking: n_random must be > 0 (the tokenizer's vocabulary size)");
    if (c->n_special < 0 || c->n_special > MASK_MAX_SPECIAL)
        return err_set("masking: %d special ids (at most %d)", c->n_special, MASK_MAX_SPECIAL);
    return 0;
}

int mask_is_special(const mask_config *c, int32_t id) {
    for (int i = 0; i < c->n_special; i++)
        if (c->special[i] == id) return 1;
    return 0;
}

/* Uniform in [0, 1) from the top 24 bits, as rng_uniform. */
static inline float u24(uint32_t u) { return (float)(u >> 8) * (1.0f / 16777216.0f); }

int mask_sequence(const mask_config *c, uint32_t step, uint64_t seq, int32_t *ids, int n, int32_t row0,
                  int32_t *rows, int32_t *targets) {
    CHECK(n >= 0 && n <= MASK_MAX_SEQLEN, "sequence longer than the mask key layout allows");
    CHECK(seq < (1ull << 44), "sequence id beyond the 64-bit Philox block counter");
    const uint32_t key[2] = {(uint32_t)c->seed, (uint32_t)(c->seed >> 32)};
    const uint32_t stream = RNG_STREAM_MASK | (c->stream & 0xFFFFFFu);
    /* Thresholds on the 24-bit uniform, compared as floats exactly like rng_uniform < p. */
    const float p_sel = c->ratio, p_mask = c->p_mask, p_repl = c->p_mask + c->p_random;
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (mask_is_special(c, ids[i])) continue;
        uint64_t blk = (seq << 20) | (uint64_t)i; /* rng.h: element index = blk·4 + lane */
        uint32_t ctr[4] = {(uint32_t)blk, (uint32_t)(blk >> 32), step, stream}, r[4];
        philox4x32(key, ctr, r);
        if (!(u24(r[0]) < p_sel)) continue;
        rows[m] = row0 + i;
        targets[m] = ids[i];
        m++;
        float d = u24(r[1]);
        if (d < p_mask) ids[i] = c->mask_id;
        /* multiply-shift: uniform up to a relative bias of n_random / 2^32 (< 1e-5 for 30522) */
        else if (d < p_repl) ids[i] = (int32_t)(((uint64_t)r[2] * c->n_random) >> 32);
    }
    return m;
}
