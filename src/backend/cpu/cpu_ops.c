/* cpu_ops.c — the fp32 CPU backend's op table, memory, ALiBi slopes, and the
 * row/element ops: embeddings, row gather/scatter, dropout, cross-entropy.
 *
 * Reductions whose terms come from many rows (embedding and scatter gradients)
 * run in parallel over column blocks and sequentially over rows, so every sum
 * is taken in row order whatever the thread count: no atomics, no races. */
/* Comparisons in the vectorised loops (cpu_exp's clamp) need no FP exception
 * semantics; without this GCC will not if-convert them. Values are unchanged. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/err.h"
#include "../../core/philox.h"
#include "cpu.h"
#include "cpu_m2.h"

#define CPU_ALIGN 64
#define COL_BLOCK 64 /* columns per task in column-parallel reductions (one cache line = 16 floats) */

/* ---- memory ---------------------------------------------------------------- */

static void *cpu_alloc(size_t bytes) {
    size_t n = (bytes + CPU_ALIGN - 1) / CPU_ALIGN * CPU_ALIGN; /* aligned_alloc wants a multiple */
    if (n == 0) n = CPU_ALIGN;
    void *p = aligned_alloc(CPU_ALIGN, n);
    CHECK(p != NULL, "out of memory in the CPU backend's alloc");
    memset(p, 0, n);
    return p;
}
static void cpu_free(void *p) { free(p); }
static void cpu_zero(void *p, size_t bytes) { if (bytes) memset(p, 0, bytes); }
static void cpu_copy(void *dst, const void *src, size_t bytes) { if (bytes && dst != src) memmove(dst, src, bytes); }
static void cpu_act_upload(void *dst, const float *src, size_t n) { cpu_copy(dst, src, n * sizeof(float)); }
static void cpu_act_download(float *dst, const void *src, size_t n) { cpu_copy(dst, src, n * sizeof(float)); }
static void cpu_weights_sync(const float *w, size_t n) { (void)w, (void)n; } /* computes with w itself */

/* ---- ALiBi slopes (mosaicbert.md §3.3) -------------------------------------- */

/* Slopes for a power of two n: 2^(−8(i+1)/n). */
static void slopes_pow2(double *out, int n) {
    for (int i = 0; i < n; i++) out[i] = exp2(-8.0 * (i + 1) / n);
}

void alibi_slopes(float *out, int nh) {
    if (nh <= 0) return;
    int c = 1;
    while (c * 2 <= nh) c *= 2; /* c = 2^⌊log2 nh⌋ */
    double *tmp = xmalloc(sizeof(double) * 2 * (size_t)c); /* (2c,) */
    slopes_pow2(tmp, c);
    for (int i = 0; i < c; i++) out[i] = (float)tmp[i];
    if (c < nh) { /* then the even-indexed slopes of 2c heads, first nh − c of them */
        slopes_pow2(tmp, 2 * c);
        for (int i = 0; i < nh - c; i++) out[c + i] = (float)tmp[2 * i];
    }
    free(tmp);
}

/* ---- embeddings -------------------------------------------------------------- */

void cpu_embed_fwd(void *out_, const int32_t *ids, const int32_t *types, const int32_t *pos, const float *wte,
                   const float *wtt, const float *wpe, int T, int C) {
    float *out = out_;
#pragma omp parallel for schedule(static) if ((size_t)T * C >= CPU_PAR_MIN)
    for (int t = 0; t < T; t++) {
        float *o = out + (size_t)t * C;
        const float *e = wte + (size_t)ids[t] * C, *y = wtt + (size_t)types[t] * C;
        if (wpe) {
            const float *p = wpe + (size_t)pos[t] * C;
            for (int c = 0; c < C; c++) o[c] = e[c] + y[c] + p[c];
        } else {
            for (int c = 0; c < C; c++) o[c] = e[c] + y[c];
        }
    }
}

/* dtab[idx[t]] += dout[t] for t in order, columns [c0, c1). */
static void scatter_cols(float *dtab, const float *dout, const int32_t *idx, int T, int C, int c0, int c1) {
    for (int t = 0; t < T; t++) {
        float *d = dtab + (size_t)idx[t] * C;
        const float *g = dout + (size_t)t * C;
        for (int c = c0; c < c1; c++) d[c] += g[c];
    }
}

void cpu_embed_bwd(float *dwte, float *dwtt, float *dwpe, const void *dout_, const int32_t *ids,
                   const int32_t *types, const int32_t *pos, int T, int C) {
    const float *dout = dout_;
    int nblk = (C + COL_BLOCK - 1) / COL_BLOCK;
#pragma omp parallel for schedule(static) if ((size_t)T * C >= CPU_PAR_MIN)
    for (int k = 0; k < nblk; k++) {
        int c0 = k * COL_BLOCK, c1 = c0 + COL_BLOCK < C ? c0 + COL_BLOCK : C;
        if (dwte) scatter_cols(dwte, dout, ids, T, C, c0, c1);
        if (dwtt) scatter_cols(dwtt, dout, types, T, C, c0, c1);
        if (dwpe) scatter_cols(dwpe, dout, pos, T, C, c0, c1);
    }
}

/* ---- row selection -------------------------------------------------------------- */

void cpu_gather_rows(void *out_, const void *in_, const int32_t *idx, int M, int C) {
    float *out = out_;
    const float *in = in_;
#pragma omp parallel for schedule(static) if ((size_t)M * C >= CPU_PAR_MIN)
    for (int m = 0; m < M; m++) memcpy(out + (size_t)m * C, in + (size_t)idx[m] * C, sizeof(float) * (size_t)C);
}

void cpu_pool_rows_fwd(void *out_, const void *in_, const float *w, const int32_t *cu, int B, int C) {
    float *out = out_;
    const float *in = in_;
#pragma omp parallel for schedule(static) if ((size_t)cu[B] * C >= CPU_PAR_MIN)
    for (int b = 0; b < B; b++) {
        float *o = out + (size_t)b * C;
        for (int c = 0; c < C; c++) o[c] = 0.0f;
        for (int t = cu[b]; t < cu[b + 1]; t++) /* tokens in order */
            for (int c = 0; c < C; c++) o[c] += w[t] * in[(size_t)t * C + c];
    }
}

void cpu_pool_rows_bwd(void *din_, const void *dout_, const float *w, const int32_t *cu, int B, int C) {
    float *din = din_;
    const float *dout = dout_;
#pragma omp parallel for schedule(static) if ((size_t)cu[B] * C >= CPU_PAR_MIN)
    for (int b = 0; b < B; b++)
        for (int t = cu[b]; t < cu[b + 1]; t++)
            for (int c = 0; c < C; c++) din[(size_t)t * C + c] += w[t] * dout[(size_t)b * C + c];
}

void cpu_scatter_add_rows(void *din, const void *dout, const int32_t *idx, int M, int C) {
    int nblk = (C + COL_BLOCK - 1) / COL_BLOCK;
#pragma omp parallel for schedule(static) if ((size_t)M * C >= CPU_PAR_MIN)
    for (int k = 0; k < nblk; k++) {
        int c0 = k * COL_BLOCK, c1 = c0 + COL_BLOCK < C ? c0 + COL_BLOCK : C;
        scatter_cols(din, dout, idx, M, C, c0, c1);
    }
}

/* ---- dropout ------------------------------------------------------------------ */

static inline __attribute__((always_inline)) float keep_scale(uint32_t u, float p, float scale) {
    return (float)(u >> 8) * (1.0f / 16777216.0f) >= p ? scale : 0.0f; /* rng_uniform >= p */
}

/* m[4b … 4b+3] for the nb whole Philox blocks blk0, blk0+1, …, the rounds inlined
 * (philox.h) so that the loop over blocks vectorises; tests/test_ops_cpu.c checks
 * the masks against rng_keep. */
CPU_VEC static void mask_blocks(float *m, uint64_t blk0, size_t nb, rng_key k, float p, float scale) {
    const uint32_t seed0 = (uint32_t)k.seed, seed1 = (uint32_t)(k.seed >> 32), step = k.step, stream = k.stream;
#pragma omp simd
    for (size_t b = 0; b < nb; b++) {
        uint64_t blk = blk0 + b;
        philox_words w = philox_rounds((uint32_t)blk, (uint32_t)(blk >> 32), step, stream, seed0, seed1);
        m[4 * b] = keep_scale(w.w0, p, scale);
        m[4 * b + 1] = keep_scale(w.w1, p, scale);
        m[4 * b + 2] = keep_scale(w.w2, p, scale);
        m[4 * b + 3] = keep_scale(w.w3, p, scale);
    }
}

void cpu_dropout_mask(float *m, uint64_t base, size_t n, rng_key k, float p, float scale) {
    /* Element index i uses Philox block (i >> 2), lane (i & 3). A partial first
     * and last block go one element at a time, the whole ones in between in bulk. */
    size_t i = 0;
    while (i < n && ((base + i) & 3)) {
        m[i] = keep_scale(rng_u32(k, base + i), p, scale);
        i++;
    }
    size_t nb = (n - i) / 4;
    mask_blocks(m + i, (base + i) >> 2, nb, k, p, scale);
    for (i += 4 * nb; i < n; i++) m[i] = keep_scale(rng_u32(k, base + i), p, scale);
}

#define DROP_CHUNK 4096 /* elements per task; a multiple of 4 so tasks start on a Philox block */

void cpu_dropout_fwd(void *out_, const void *in_, size_t n, float p, rng_key key) {
    float *out = out_;
    const float *in = in_;
    if (p <= 0.0f) { cpu_copy(out, in, n * sizeof(float)); return; }
    float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    size_t nchunk = (n + DROP_CHUNK - 1) / DROP_CHUNK;
#pragma omp parallel for schedule(static) if (n >= CPU_PAR_MIN)
    for (size_t ch = 0; ch < nchunk; ch++) {
        float m[DROP_CHUNK]; /* (DROP_CHUNK,) mask · scale */
        size_t i0 = ch * DROP_CHUNK, len = n - i0 < DROP_CHUNK ? n - i0 : DROP_CHUNK;
        cpu_dropout_mask(m, i0, len, key, p, scale);
        for (size_t i = 0; i < len; i++) out[i0 + i] = in[i0 + i] * m[i];
    }
}

void cpu_dropout_bwd(void *din_, const void *dout_, size_t n, float p, rng_key key) {
    float *din = din_;
    const float *dout = dout_;
    float scale = p <= 0.0f ? 1.0f : p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    size_t nchunk = (n + DROP_CHUNK - 1) / DROP_CHUNK;
#pragma omp parallel for schedule(static) if (n >= CPU_PAR_MIN)
    for (size_t ch = 0; ch < nchunk; ch++) {
        float m[DROP_CHUNK];
        size_t i0 = ch * DROP_CHUNK, len = n - i0 < DROP_CHUNK ? n - i0 : DROP_CHUNK;
        if (p <= 0.0f) {
            for (size_t i = 0; i < len; i++) din[i0 + i] += dout[i0 + i];
            continue;
        }
        cpu_dropout_mask(m, i0, len, key, p, scale);
        for (size_t i = 0; i < len; i++) din[i0 + i] += dout[i0 + i] * m[i];
    }
}

/* ---- softmax cross-entropy ------------------------------------------------------ */

/* log Σ_v e^(x_v), the max subtracted first, the sum in double. */
CPU_VEC static double row_logsumexp(const float *x, int V) {
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int v = 0; v < V; v++) mx = x[v] > mx ? x[v] : mx;
    double sum = 0.0;
#pragma omp simd reduction(+ : sum)
    for (int v = 0; v < V; v++) sum += cpu_exp(x[v] - mx);
    return (double)mx + log(sum);
}

/* d += scale · e^(x − l) */
CPU_VEC static void row_softmax_add(float *d, const float *x, int V, float l, float scale) {
#pragma omp simd
    for (int v = 0; v < V; v++) d[v] += scale * cpu_exp(x[v] - l);
}

void cpu_xent_fwd(float *loss, float *lse, const void *logits_, const int32_t *targets, int M, int V) {
    const float *logits = logits_;
#pragma omp parallel for schedule(static) if ((size_t)M * V >= CPU_PAR_MIN)
    for (int m = 0; m < M; m++) {
        const float *x = logits + (size_t)m * V;
        double l = row_logsumexp(x, V);
        lse[m] = (float)l;
        loss[m] = (float)(l - (double)x[targets[m]]);
    }
}

void cpu_argmax_rows(int32_t *out, const void *logits_, int M, int V) {
    const float *logits = logits_;
#pragma omp parallel for schedule(static) if ((size_t)M * V >= CPU_PAR_MIN)
    for (int m = 0; m < M; m++) {
        const float *x = logits + (size_t)m * V;
        int best = 0;
        for (int v = 1; v < V; v++) if (x[v] > x[best]) best = v;
        out[m] = best;
    }
}

void cpu_xent_bwd(void *dlogits_, const void *logits_, const float *lse, const int32_t *targets, float scale, int M,
                  int V) {
    float *dlogits = dlogits_;
    const float *logits = logits_;
#pragma omp parallel for schedule(static) if ((size_t)M * V >= CPU_PAR_MIN)
    for (int m = 0; m < M; m++) {
        float *d = dlogits + (size_t)m * V;
        row_softmax_add(d, logits + (size_t)m * V, V, lse[m], scale);
        d[targets[m]] -= scale;
    }
}

/* ---- the table ------------------------------------------------------------------ */

static const ops cpu_table = {
    .name = "cpu",
    .act_size = sizeof(float),
    .alloc = cpu_alloc,
    .free = cpu_free,
    .zero = cpu_zero,
    .upload = cpu_copy,
    .download = cpu_copy,
    .act_upload = cpu_act_upload,
    .act_download = cpu_act_download,
    .weights_sync = cpu_weights_sync,
    .adamw = cpu_adamw,
    .sumsq = cpu_sumsq,
    .scale = cpu_scale,
    .embed_fwd = cpu_embed_fwd,
    .embed_bwd = cpu_embed_bwd,
    .matmul_fwd = cpu_matmul_fwd,
    .matmul_bwd = cpu_matmul_bwd,
    .matmul_f32_fwd = cpu_matmul_f32_fwd,
    .matmul_f32_bwd = cpu_matmul_f32_bwd,
    .act_bwd = cpu_act_bwd,
    .layernorm_fwd = cpu_layernorm_fwd,
    .layernorm_bwd = cpu_layernorm_bwd,
    .glu_fwd = cpu_glu_fwd,
    .glu_bwd = cpu_glu_bwd,
    .dropout_fwd = cpu_dropout_fwd,
    .dropout_bwd = cpu_dropout_bwd,
    .attention_fwd = cpu_attention_fwd,
    .attention_bwd = cpu_attention_bwd,
    .gather_rows = cpu_gather_rows,
    .scatter_add_rows = cpu_scatter_add_rows,
    .pool_rows_fwd = cpu_pool_rows_fwd,
    .pool_rows_bwd = cpu_pool_rows_bwd,
    .xent_fwd = cpu_xent_fwd,
    .argmax_rows = cpu_argmax_rows,
    .xent_bwd = cpu_xent_bwd,
    /* M2 (cpu_m2.c) */
    .m2_shortconv_fwd = cpu_m2_shortconv_fwd,
    .m2_shortconv_bwd = cpu_m2_shortconv_bwd,
    .m2_mul_fwd = cpu_m2_mul_fwd,
    .m2_mul_bwd = cpu_m2_mul_bwd,
    .m2_kernel_fft = cpu_m2_kernel_fft,
    .m2_longconv_fwd = cpu_m2_longconv_fwd,
    .m2_longconv_bwd = cpu_m2_longconv_bwd,
    .m2_sin_fwd = cpu_m2_sin_fwd,
    .m2_sin_bwd = cpu_m2_sin_bwd,
    .m2_modulate_fwd = cpu_m2_modulate_fwd,
    .m2_modulate_bwd = cpu_m2_modulate_bwd,
    .blockdiag_fwd = cpu_blockdiag_fwd,
    .blockdiag_bwd = cpu_blockdiag_bwd,
};

const ops *ops_cpu(void) { return &cpu_table; }
