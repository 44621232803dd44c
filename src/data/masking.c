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
    c->strategy = MASK_RANDOM;
    c->kmer = 6;
    c->first_kmer_id = 5;
}

static const char *const strategy_names[] = {"random", "contiguous", "genemask", "genemask-reference"};

int mask_strategy_parse(const char *name, mask_strategy *out) {
    for (int i = 0; i < (int)(sizeof strategy_names / sizeof *strategy_names); i++)
        if (!strcmp(name, strategy_names[i])) {
            *out = (mask_strategy)i;
            return 0;
        }
    return err_set("mask.strategy must be random, contiguous, genemask or genemask-reference, got '%s'", name);
}

const char *mask_strategy_name(mask_strategy s) {
    CHECK(s >= MASK_RANDOM && s <= MASK_GENEMASK_REF, "unknown mask strategy");
    return strategy_names[s];
}

static int is_genemask(const mask_config *c) { return c->strategy == MASK_GENEMASK || c->strategy == MASK_GENEMASK_REF; }

int mask_config_check(const mask_config *c) {
    if (!(c->ratio >= 0.0f && c->ratio <= 1.0f)) return err_set("masking: ratio %g must be in [0, 1]", c->ratio);
    if (!(c->p_mask >= 0.0f && c->p_random >= 0.0f && c->p_mask + c->p_random <= 1.0f))
        return err_set("masking: p_mask %g and p_random %g must be >= 0 with a sum <= 1", c->p_mask, c->p_random);
    if (c->mask_id < 0) return err_set("masking: mask_id %d must be >= 0 (is [MASK] in the vocabulary?)", c->mask_id);
    if (c->n_random == 0) return err_set("masking: n_random must be > 0 (the tokenizer's vocabulary size)");
    if (c->n_special < 0 || c->n_special > MASK_MAX_SPECIAL)
        return err_set("masking: %d special ids (at most %d)", c->n_special, MASK_MAX_SPECIAL);
    if (c->strategy < MASK_RANDOM || c->strategy > MASK_GENEMASK_REF) return err_set("masking: unknown strategy %d", c->strategy);
    if (c->strategy == MASK_RANDOM) return 0;
    if (c->kmer < 3 || c->kmer > MASK_MAX_K) return err_set("masking: kmer %d must be in [3, %d]", c->kmer, MASK_MAX_K);
    if (!is_genemask(c)) return 0;
    const int32_t n = 1 << (2 * c->kmer);
    if (!c->rank) return err_set("masking: strategy %s needs the NPMI ranking (mask.pmi_ranking)", mask_strategy_name(c->strategy));
    for (int32_t i = 0; i < n; i++)
        if (c->rank[i] < 1 || c->rank[i] > n) return err_set("masking: rank of k-mer %d is %d, not in [1, %d]", i, c->rank[i], n);
    if (c->first_kmer_id < 0) return err_set("masking: first_kmer_id %d must be >= 0", c->first_kmer_id);
    if (c->ref_unknown_rank < 0 || c->ref_unknown_rank > n + 1)
        return err_set("masking: ref_unknown_rank %d must be in [0, 4^%d + 1 = %d]", c->ref_unknown_rank, c->kmer, n + 1);
    return 0;
}

int mask_is_special(const mask_config *c, int32_t id) {
    for (int i = 0; i < c->n_special; i++)
        if (c->special[i] == id) return 1;
    return 0;
}

/* Uniform in [0, 1) from the top 24 bits, as rng_uniform. */
static inline float u24(uint32_t u) { return (float)(u >> 8) * (1.0f / 16777216.0f); }

/* Everything a draw needs besides the position. */
typedef struct {
    uint32_t key[2], step, stream;
    uint64_t seq;
    float p_sel, p_mask, p_repl; /* thresholds on the 24-bit uniform, compared like rng_uniform < p */
} draw;

static draw draw_init(const mask_config *c, uint32_t step, uint64_t seq) {
    CHECK(seq < (1ull << 44), "sequence id beyond the 64-bit Philox block counter");
    return (draw){.key = {(uint32_t)c->seed, (uint32_t)(c->seed >> 32)}, .step = step,
                  .stream = RNG_STREAM_MASK | (c->stream & 0xFFFFFFu), .seq = seq,
                  .p_sel = c->ratio, .p_mask = c->p_mask, .p_repl = c->p_mask + c->p_random};
}

/* The Philox block of position i (rng.h: element index = blk·4 + lane). */
static inline void draw_block(const draw *d, int i, uint32_t r[4]) {
    uint64_t blk = (d->seq << 20) | (uint64_t)i;
    uint32_t ctr[4] = {(uint32_t)blk, (uint32_t)(blk >> 32), d->step, d->stream};
    philox4x32(d->key, ctr, r);
}

/* 80/10/10 of a selected token from lanes 1 (which) and 2 (the random id). */
static inline int32_t replace(const mask_config *c, const draw *d, const uint32_t r[4], int32_t id) {
    float u = u24(r[1]);
    if (u < d->p_mask) return c->mask_id;
    /* multiply-shift: uniform up to a relative bias of n_random / 2^32 (< 1e-5 for 30522) */
    if (u < d->p_repl) return (int32_t)(((uint64_t)r[2] * c->n_random) >> 32);
    return id;
}

static int mask_random(const mask_config *c, const draw *d, int32_t *ids, int n, int32_t row0, int32_t *rows,
                       int32_t *targets) {
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (mask_is_special(c, ids[i])) continue;
        uint32_t r[4];
        draw_block(d, i, r);
        if (!(u24(r[0]) < d->p_sel)) continue;
        rows[m] = row0 + i;
        targets[m] = ids[i];
        m++;
        ids[i] = replace(c, d, r, ids[i]);
    }
    return m;
}

/* GeneMask rank of position p (1 = best): of the k-mer id held there (genemask,
 * non-k-mer ids last at 4^k+1) or of the id p itself (genemask-reference). */
static inline int32_t rank_at(const mask_config *c, const int32_t *ids, int p) {
    const int64_t n_kmers = 1 << (2 * c->kmer);
    const int content = c->strategy == MASK_GENEMASK;
    int64_t idx = (int64_t)(content ? ids[p] : p) - c->first_kmer_id;
    if (idx >= 0 && idx < n_kmers) return c->rank[idx];
    return content ? (int32_t)n_kmers + 1 : c->ref_unknown_rank;
}

static inline void mark_span(int32_t *mark, int a, int b, int first, int last) {
    if (a < first) a = first;
    if (b > last) b = last;
    for (int p = a; p <= b; p++) mark[p] = 1;
}

/* The high set (§3.2 step 3) without sorting: a centre is in it when its rank is
 * below the threshold r*, or equal to r* and among the first `need` such centres
 * in position order — the first s of a stable sort by rank. r* = the smallest r
 * with #{rank ≤ r} ≥ s, by bisection over [0, 4^k+1]. */
static void mark_high_set(const mask_config *c, const int32_t *ids, const int32_t *q, int nc, int32_t *mark, int first,
                          int last) {
    const int w = c->kmer - 1; /* q−(k−1) … q+(k−1): the whole k-mer at q */
    int s = (nc + 1) / 2;
    int32_t rstar = INT32_MAX;
    int need = nc;
    if (s >= 5) {
        int32_t lo = 0, hi = (1 << (2 * c->kmer)) + 1;
        while (lo < hi) {
            int32_t mid = lo + (hi - lo) / 2, le = 0;
            for (int j = 0; j < nc; j++) le += rank_at(c, ids, q[j]) <= mid;
            if (le >= s) hi = mid;
            else lo = mid + 1;
        }
        rstar = lo;
        need = s;
        for (int j = 0; j < nc; j++) need -= rank_at(c, ids, q[j]) < rstar;
    }
    for (int j = 0; j < nc; j++) {
        int32_t r = rank_at(c, ids, q[j]);
        if (r < rstar || (r == rstar && need-- > 0)) mark_span(mark, q[j] - w, q[j] + w, first, last);
    }
}

/* contiguous and genemask: centres, spans, union, 80/10/10. */
static int mask_spans(const mask_config *c, const draw *d, int32_t *ids, int n, int32_t row0, int32_t *rows,
                      int32_t *targets) {
    int first = 0, last = n - 1; /* the spec's 1 … end: the maskable positions' range */
    while (first < n && mask_is_special(c, ids[first])) first++;
    while (last >= first && mask_is_special(c, ids[last])) last--;
    if (first > last) return 0;
    /* Scratch in the output arrays: mark[p] = 1 when p is in a span (targets), the
     * best position of each centre (rows); both are consumed before the output
     * overwrites them, and the output index never passes the position read. */
    int32_t *mark = targets, *q = rows;
    memset(mark + first, 0, (size_t)(last - first + 1) * sizeof *mark);
    const int lo = (c->kmer - 1) / 2, hi = c->kmer / 2; /* k = 6: c−2 … c+3 */
    const int genemask = is_genemask(c);
    int nc = 0;
    for (int ci = first; ci <= last; ci++) {
        if (mask_is_special(c, ids[ci])) continue;
        uint32_t r[4];
        draw_block(d, ci, r);
        if (!(u24(r[0]) < d->p_sel)) continue;
        mark_span(mark, ci - lo, ci + hi, first, last);
        if (!genemask) continue;
        /* candidates c, then c−lo … c+hi ascending; strict < so the earlier wins ties */
        int best = ci;
        int32_t best_rank = rank_at(c, ids, ci);
        for (int p = ci - lo < first ? first : ci - lo; p <= ci + hi && p <= last; p++) {
            int32_t rp = p == ci ? best_rank : rank_at(c, ids, p);
            if (rp < best_rank) {
                best = p;
                best_rank = rp;
            }
        }
        q[nc++] = best;
    }
    if (genemask && nc > 0) mark_high_set(c, ids, q, nc, mark, first, last);
    int m = 0;
    for (int p = first; p <= last; p++) {
        if (!mark[p] || mask_is_special(c, ids[p])) continue;
        uint32_t r[4];
        draw_block(d, p, r);
        rows[m] = row0 + p;
        targets[m] = ids[p];
        m++;
        ids[p] = replace(c, d, r, ids[p]);
    }
    return m;
}

int mask_sequence(const mask_config *c, uint32_t step, uint64_t seq, int32_t *ids, int n, int32_t row0,
                  int32_t *rows, int32_t *targets) {
    CHECK(n >= 0 && n <= MASK_MAX_SEQLEN, "sequence longer than the mask key layout allows");
    draw d = draw_init(c, step, seq);
    if (c->strategy == MASK_RANDOM) return mask_random(c, &d, ids, n, row0, rows, targets);
    return mask_spans(c, &d, ids, n, row0, rows, targets);
}
