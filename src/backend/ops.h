/* ops.h — the op interface. Models (src/model/) are written once as calls
 * into a backend's `ops` table; the CPU backend (fp32, the reference) and the
 * CUDA backend (src/backend/cuda: an fp32 and a bf16 table) implement it.
 *
 * Conventions, for every op:
 *  - Pointers are backend memory. "act" tensors hold the backend's activation
 *    type (act_size bytes: fp32 on the CPU, bf16 in the CUDA bf16 table); "f32"
 *    tensors are always float (parameters, gradients, statistics); index arrays int32.
 *  - Shapes are given in the comment of each op; matrices are row-major,
 *    Linear weights are [out, in] (PyTorch layout): y = x·Wᵀ + b.
 *  - Backward ops ACCUMULATE (+=) into every gradient they produce, inputs and
 *    parameters alike, so residual branches just add up. Callers zero first.
 *  - Forward outputs are overwritten. out may not alias an input unless said.
 *  - Nothing returns an error: shapes are the caller's invariant.
 */
#ifndef BERTC_OPS_H
#define BERTC_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "../core/rng.h"

typedef enum { ACT_NONE = 0, ACT_GELU = 1 /* exact erf GELU */, ACT_TANH = 2 } act_fn;

/* One AdamW step's scalars for a group of parameters (optim.c computes them in
 * double, as the reference does, and rounds each once to float). Per element:
 *   p ← (decay ? p·keep : p);  m ← b1·m + ob1·g;  v ← b2·v + ob2·g·g;
 *   p ← p − step_size · (m / (√v / sqrt_bc2 + eps)),   in this order, fp32, no FMA. */
typedef struct {
    float keep, b1, ob1, b2, ob2, eps, sqrt_bc2, step_size;
    int decay;
} adamw_scalars;

typedef struct ops {
    const char *name;  /* "cpu", "cuda-fp32", "cuda-bf16" */
    size_t act_size;   /* bytes of one activation element */

    /* ---- memory --------------------------------------------------------- */
    void *(*alloc)(size_t bytes);                     /* zeroed; aborts on failure */
    void (*free)(void *p);
    void (*zero)(void *p, size_t bytes);
    void (*upload)(void *dst, const void *host_src, size_t bytes);
    void (*download)(void *host_dst, const void *src, size_t bytes);
    /* n activations between host fp32 and backend act (rounded to nearest even) */
    void (*act_upload)(void *dst, const float *host_src, size_t n);
    void (*act_download)(float *host_dst, const void *src, size_t n);
    /* The f32 weights w (n floats) changed (initialised, loaded, updated): a backend
     * that computes with a lower-precision copy refreshes it. The copy of a block is
     * kept from the first call on; weights outside every synced block are converted
     * per use (slow: tests). No-op on the CPU. */
    void (*weights_sync)(const float *w, size_t n);

    /* ---- optimizer (optim.c) --------------------------------------------------
     * adamw: the update above over n elements of p, m, v (f32) with gradient g (f32). */
    void (*adamw)(float *p, float *m, float *v, const float *g, size_t n, const adamw_scalars *s);
    /* Σ x² in double, as fixed 16384-element chunk sums added in order (any thread count
     * gives the same value); the result is on the host (a synchronisation point). */
    double (*sumsq)(const float *x, size_t n);
    void (*scale)(float *x, size_t n, float s); /* x ← x·s */

    /* ---- embeddings -------------------------------------------------------
     * out[t] = wte[ids[t]] + wtt[types[t]] (+ wpe[pos[t]] when wpe != NULL)
     * out (T,C) act; ids, types, pos (T,) int32; wte (V,C), wtt (TV,C), wpe (P,C) f32 */
    void (*embed_fwd)(void *out, const int32_t *ids, const int32_t *types, const int32_t *pos, const float *wte,
                      const float *wtt, const float *wpe, int T, int C);
    /* dwte[ids[t]] += dout[t], likewise dwtt, dwpe (skipped when NULL). Deterministic. */
    void (*embed_bwd)(float *dwte, float *dwtt, float *dwpe, const void *dout, const int32_t *ids,
                      const int32_t *types, const int32_t *pos, int T, int C);

    /* ---- dense layers -----------------------------------------------------
     * pre = inp·wᵀ + b (b may be NULL); out = act(pre).
     * out, pre (N,OC) act (pre may be NULL when act == ACT_NONE, or equal out then);
     * inp (N,C) act; w (OC,C) f32; b (OC,) f32 */
    void (*matmul_fwd)(void *out, void *pre, const void *inp, const float *w, const float *b, int N, int C, int OC,
                       act_fn act);
    /* dinp += dout·w; dw += doutᵀ·inp; db += Σ_rows dout. dinp, db may be NULL.
     * dout (N,OC) act is the gradient of the PRE-activation (see act_bwd). */
    void (*matmul_bwd)(void *dinp, float *dw, float *db, const void *dout, const void *inp, const float *w, int N,
                       int C, int OC);
    /* dpre += dout ⊙ act'(pre); n elements. ACT_NONE: dpre += dout (pre unused, may be NULL). */
    void (*act_bwd)(void *dpre, const void *dout, const void *pre, size_t n, act_fn act);
    /* The dense layer on f32 tensors whatever the activation type: for small computations on
     * parameters alone (M2's Hyena filter MLP turns z into the long-conv kernels), kept in fp32
     * on every backend. out (N,OC) f32 = inp (N,C) f32 · wᵀ + b (b may be NULL); the backward
     * accumulates like matmul_bwd (dinp, db may be NULL), dout (N,OC) f32. */
    void (*matmul_f32_fwd)(float *out, const float *inp, const float *w, const float *b, int N, int C, int OC);
    void (*matmul_f32_bwd)(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                           int N, int C, int OC);

    /* ---- residual + LayerNorm ----------------------------------------------
     * s = x + res (res may be NULL: s = x); out = (s − mean)·rstd·g + b per row.
     * s_out (N,C) act keeps s for the backward (may be NULL: when res == NULL, x is s; in
 * inference no backward needs it — out is the same either way);
     * mean, rstd (N,) f32 saved statistics; g, b (C,) f32. out may alias x or res. */
    void (*layernorm_fwd)(void *out, void *s_out, float *mean, float *rstd, const void *x, const void *res,
                          const float *g, const float *b, int N, int C, float eps);
    /* ds += ∂L/∂s (add it to both x's and res's gradients: they are the same); dg, db += */
    void (*layernorm_bwd)(void *ds, float *dg, float *db, const void *dout, const void *s, const float *g,
                          const float *mean, const float *rstd, int N, int C);

    /* ---- gated linear unit (MosaicBERT MLP), with the dropout that follows it ------
     * out = dropout(h, p_drop, key), h[:, j] = GELU(u[:, j]) · u[:, width + j]
     * (the same as glu then dropout_fwd over the (N, width) h: fused, one pass);
     * u (N, 2·width) act, out (N, width) act
     * (no parameter is named I: <complex.h>, pulled in by <cblas.h>, defines I) */
    void (*glu_fwd)(void *out, const void *u, int N, int width, float p_drop, rng_key key);
    /* du = ∂/∂u of the above, given dout = ∂L/∂out (the dropout mask applied first).
     * The one backward op that OVERWRITES its output: du is the widest activation
     * gradient (N, 2·width) and has no other contributor, so no zeroing pass is needed. */
    void (*glu_bwd)(void *du, const void *dout, const void *u, int N, int width, float p_drop, rng_key key);

    /* ---- dropout -----------------------------------------------------------
     * out[i] = in[i] · keep(i) / (1 − p), keep(i) = rng_keep(key, i, p); in place allowed.
     * p == 0 copies. The backward regenerates the same mask from the key. */
    void (*dropout_fwd)(void *out, const void *in, size_t n, float p, rng_key key);
    void (*dropout_bwd)(void *din, const void *dout, size_t n, float p, rng_key key);

    /* ---- attention over unpadded, variable-length sequences ------------------
     * qkv (T, 3C) act, C = nh·dh: columns [0,C) Q, [C,2C) K, [2C,3C) V; head h owns
     * columns h·dh … h·dh+dh−1 of each block. Sequence b is rows cu_seqlens[b] …
     * cu_seqlens[b+1]−1 (cu_seqlens (B+1,) int32, first 0, last T). Tokens attend
     * only within their sequence (this is the key-padding mask). For query i, key j
     * of one sequence (0-based positions within it):
     *   s_ij = q_i·k_j / √dh − slopes[h]·|i − j|     (the ALiBi term only when slopes != NULL)
     *   P = softmax_j(s); P' = dropout(P) with element index ((h·T + t_i)·max_seqlen + j)
     *   out_i = Σ_j P'_ij v_j                         → out (T, C) act
     * lse (nh, T) f32 saves log Σ_j exp(s_ij) for the backward. slopes (nh,) f32 host memory. */
    void (*attention_fwd)(void *out, float *lse, const void *qkv, const int32_t *cu_seqlens, int B, int T,
                          int max_seqlen, int nh, int dh, const float *slopes, float p_drop, rng_key key);
    /* dqkv (T,3C) += gradients of Q, K and V. */
    void (*attention_bwd)(void *dqkv, const void *dout, const void *out, const float *lse, const void *qkv,
                          const int32_t *cu_seqlens, int B, int T, int max_seqlen, int nh, int dh,
                          const float *slopes, float p_drop, rng_key key);

    /* ---- row selection (MLM rows, [CLS] rows) ---------------------------------
     * out[m] = in[idx[m]]: out (M,C) act, in (N,C) act, idx (M,) int32 */
    void (*gather_rows)(void *out, const void *in, const int32_t *idx, int M, int C);
    /* din[idx[m]] += dout[m] (indices distinct: the masked rows, the [CLS] rows) */
    void (*scatter_add_rows)(void *din, const void *dout, const int32_t *idx, int M, int C);
    /* Weighted pooling of each sequence's tokens (mean pooling; M2's pool_all, §3.5):
     * out[b] = Σ_{cu[b] ≤ t < cu[b+1]} w[t]·in[t]. out (B,C) act; in (T,C) act; w (T,) f32;
     * cu (B+1,) int32. Tokens are added in order (the fp32 tables agree bit for bit). */
    void (*pool_rows_fwd)(void *out, const void *in, const float *w, const int32_t *cu, int B, int C);
    /* din[t] += w[t]·dout[b] for the tokens t of sequence b */
    void (*pool_rows_bwd)(void *din, const void *dout, const float *w, const int32_t *cu, int B, int C);

    /* ---- softmax cross-entropy ---------------------------------------------
     * Per row m: lse[m] = log Σ_v exp(logits[m,v]); loss[m] = lse[m] − logits[m, targets[m]].
     * logits (M,V) act; targets (M,) int32 in [0,V); loss, lse (M,) f32 */
    void (*xent_fwd)(float *loss, float *lse, const void *logits, const int32_t *targets, int M, int V);
    /* dlogits[m] += scale · (softmax(logits[m]) − onehot(targets[m])) */
    void (*xent_bwd)(void *dlogits, const void *logits, const float *lse, const int32_t *targets, float scale,
                     int M, int V);
    /* out[m] = the first v with logits[m,v] = max_u logits[m,u] (masked-token accuracy on the
     * device: only M ints come back). out (M,) int32; logits (M,V) act */
    void (*argmax_rows)(int32_t *out, const void *logits, int M, int V);

    /* ==== M2 (Monarch Mixer, m2bert.md §2–§3) =================================
     * Sequences are B rows of exactly L tokens (T = B·L, token-major (T, C) act
     * tensors, pads are tokens). Channel c of sequence b is u[(b·L + n)·C + c]. */

    /* Depthwise causal conv, kernel 3 (§2.2): for n = position within the row,
     * out[n,c] = b[c] + w[c,2]·in[n,c] + w[c,1]·in[n−1,c] + w[c,0]·in[n−2,c] (terms
     * before the row start are zero). out, in (T,C) act; w (C,3) f32 (PyTorch [C,1,3]); b (C,) f32 */
    void (*m2_shortconv_fwd)(void *out, const void *in, const float *w, const float *b, int B, int L, int C);
    /* din, dw, db += (din may be NULL) */
    void (*m2_shortconv_bwd)(void *din, float *dw, float *db, const void *dout, const void *in, const float *w,
                             int B, int L, int C);

    /* Strided elementwise product: out[t,c] = a[t·lda + c] · b[t·ldb + c] (+ add[t,c] when
     * add != NULL). out, add (T,C) act; a, b act with row strides lda, ldb (column slices). */
    void (*m2_mul_fwd)(void *out, const void *a, int lda, const void *b, int ldb, const void *add, int T, int C);
    /* da[t·lda + c] += dout·b, db[t·ldb + c] += dout·a (either may be NULL; they may share a buffer
     * when their column ranges do not overlap). */
    void (*m2_mul_bwd)(void *da, void *db, const void *dout, const void *a, int lda, const void *b, int ldb, int T,
                       int C);

    /* Bidirectional long convolution (§2.4), y[n] = Σ_{m≤n} kf[m]·u[n−m] + Σ_{j>n} kr[j−n−1]·u[j] + D·u[n]
     * per channel and row, by FFT of size N = m2_fft_size(L) (zero padding: an exact linear convolution).
     * m2_kernel_fft: the kernel's spectrum kspec (m2_kspec_floats(L, C) f32, backend layout) from
     * kf, kr (L,C) f32 (position-major, as the Hyena filter makes them). */
    void (*m2_kernel_fft)(float *kspec, const float *kf, const float *kr, int L, int C);
    /* y (T,C) act, u (T,C) act, D (C,) f32 */
    void (*m2_longconv_fwd)(void *y, const void *u, const float *kspec, const float *D, int B, int L, int C);
    /* du (T,C) act, dkf, dkr (L,C) f32, dD (C,) f32 += (du may be NULL) */
    void (*m2_longconv_bwd)(void *du, float *dkf, float *dkr, float *dD, const void *dy, const void *u,
                            const float *kspec, const float *D, int B, int L, int C);

    /* Hyena filter pieces (§2.3), all f32 (the filter does not depend on the input):
     * sine activation out[n,j] = sin(w_mod·freq[j]·x[n,j]); out, x (N,K), freq (K,) */
    void (*m2_sin_fwd)(float *out, const float *x, const float *freq, float w_mod, int N, int K);
    /* dx += dout·cos(·)·w_mod·freq; dfreq += Σ_n dout·cos(·)·w_mod·x (dx may be NULL) */
    void (*m2_sin_bwd)(float *dx, float *dfreq, const float *dout, const float *x, const float *freq, float w_mod,
                       int N, int K);
    /* exponential modulation k[n,c] = h[n,c]·exp(−t[n]·|deltas[c]|); k, h (L,C), t (L,), deltas (C,) */
    void (*m2_modulate_fwd)(float *k, const float *h, const float *t, const float *deltas, int L, int C);
    /* dh += dk·exp(−t[n]·|deltas[c]|) */
    void (*m2_modulate_bwd)(float *dh, const float *dk, const float *t, const float *deltas, int L, int C);

    /* Block-diagonal linear (§3.1), nb blocks, no permutation: p = C/nb, q = OC/nb,
     * out[n, k·q + j] = Σ_{i<p} w[k,j,i]·inp[n, k·p + i] (+ b[k·q + j]).
     * out (N,OC) act; inp (N,C) act; w (nb,q,p) f32; b (OC,) f32 or NULL */
    void (*blockdiag_fwd)(void *out, const void *inp, const float *w, const float *b, int N, int C, int OC, int nb);
    /* dinp, dw, db += (dinp, db may be NULL) */
    void (*blockdiag_bwd)(void *dinp, float *dw, float *db, const void *dout, const void *inp, const float *w, int N,
                          int C, int OC, int nb);

} ops;

/* M2 long convolution sizes: the FFT length (the power of two ≥ 2L; any N ≥ 2L−1
 * makes the circular convolution of the zero-padded row a linear one) and the
 * floats of one kernel spectrum (C channels × (N/2 + 1) complex bins). */
static inline int m2_fft_size(int L) {
    int n = 1;
    while (n < 2 * L) n *= 2;
    return n;
}
static inline size_t m2_kspec_floats(int L, int C) { return (size_t)C * (size_t)(m2_fft_size(L) / 2 + 1) * 2; }

/* Backends. */
const ops *ops_cpu(void);
/* The CUDA backend (src/backend/cuda/, built by `make GPU=1`): ops_cuda_f32 keeps
 * fp32 activations (tests: within 1e-5 of the CPU), ops_cuda_bf16 bf16 activations
 * with fp32 statistics, parameters and gradients (training and inference).
 * cuda_available: 1 when a device is usable. In a build without CUDA, both tables are NULL and cuda_available is 0. */
#ifdef __cplusplus
extern "C" {
#endif
const ops *ops_cuda_f32(void);
const ops *ops_cuda_bf16(void);
int cuda_available(void);
/* One line about the device (name, memory, SMs), or why none is usable. */
const char *cuda_describe(void);
/* For benchmarks: bf16 GEMM TFLOP/s of an n×n×n product through cuBLASLt (median of
 * 10 after warm-up), and device memory in use now (bytes, all of this process). */
double cuda_gemm_peak_tflops(int n);
size_t cuda_mem_in_use(void);
#ifdef __cplusplus
}
#endif
/* One line about the CPU backend's BLAS (library, build, kernel chosen for this CPU). */
const char *ops_cpu_describe(void);
/* OpenBLAS picks its kernels from the CPU model name and falls back to generic SSE3
 * code on models it does not know (virtual machines often report a generic one),
 * 4× slower. Returns the OPENBLAS_CORETYPE that fits this CPU when OpenBLAS chose a
 * generic kernel although the CPU has AVX2/AVX-512, else NULL. */
const char *ops_cpu_preferred_coretype(void);

/* The backend named by a --device value: "cpu", "cuda" (bf16), "cuda-fp32";
 * wrapped by ops_check_finite when BERTC_CHECK_FINITE is set (and not "0").
 * NULL + err when unknown or not available in this build or on this machine. */
const ops *ops_by_name(const char *device);

/* A debugging wrapper (check_finite.c): after every op, reads back its outputs and
 * exits with status 3 at the first NaN or Inf, naming the op, the tensor and the
 * magnitudes of its inputs. ops_by_name applies it when BERTC_CHECK_FINITE=1. */
const ops *ops_check_finite(const ops *o);

/* ALiBi slopes of Press et al. for nh heads (mosaicbert.md §3.3): out (nh,). */
void alibi_slopes(float *out, int nh);

#endif
