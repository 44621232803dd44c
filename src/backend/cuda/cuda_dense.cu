// cuda_dense.cu — dense layers (GEMM + bias/activation epilogue), activation
// backward, the GLU and residual + LayerNorm, for both activation types
// (cuda_common.h). fp32 mode multiplies with cu_gemm (fp32 FMA, as exact as the
// CPU within 1e-5); bf16 mode with cuBLASLt on the bf16 copy of the weights,
// accumulating weight gradients straight into the fp32 gradient buffers.
// Row statistics and column sums are taken in double in a fixed order.
#include "cuda_common.h"

// ---- column sums (bias and LayerNorm parameter gradients: cu_colsums) --------------
namespace { // per-precision types (cuda_common.h)

// Σ x over rows
struct colsum_plain {
    const act_t *x;
    int C;
    __device__ void operator()(int r, int c, double *v) const { v[0] = act_ld(x[(size_t)r * C + c]); }
};
// LayerNorm parameters: Σ dy·x̂ (x̂ = (s − mean)·rstd, the product in float) and Σ dy
struct colsum_ln {
    const act_t *dy, *s;
    const float *mean, *rstd;
    int C;
    __device__ void operator()(int r, int c, double *v) const {
        size_t i = (size_t)r * C + c;
        float d = act_ld(dy[i]);
        v[0] = d * ((act_ld(s[i]) - mean[r]) * rstd[r]);
        v[1] = d;
    }
};

} // namespace

void CUX(cu_colsum_add)(float *db, const void *x, int N, int C) {
    cu_colsums<1>({{db}, {1}}, N, C, colsum_plain{(const act_t *)x, C});
}

// ---- dense layers -------------------------------------------------------------

__device__ __forceinline__ float act_apply(float v, int act) {
    return act == ACT_GELU ? cu_gelu(v) : act == ACT_TANH ? tanhf(v) : v;
}

#if CU_BF16
// out = act(pre), elementwise (the bias is already in pre: cuBLASLt's epilogue)
static __global__ void act_fwd_kernel(act_t *out, const act_t *pre, size_t n, int act) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = act_st(act_apply(act_ld(pre[i]), act));
}
#else
// d (N,OC; row stride ld) += b per row (when b); o = act(d) (same stride).
static __global__ void bias_act_kernel(float *o, float *d, const float *b, int N, int OC, int ld, int act) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)N * OC) return;
    size_t at = i / (size_t)OC * (size_t)ld + i % (size_t)OC;
    float v = d[at];
    if (b) {
        v += b[i % (size_t)OC];
        d[at] = v;
    }
    o[at] = act_apply(v, act);
}
#endif

// The GEMM of a dense layer, with row strides: pre (N,OC; ld_out) = inp (N,C; ld_inp)·wᵀ + b,
// out = act(pre) (contiguous rows when act != ACT_NONE; pre NULL: pre is out). matmul_fwd is
// one call; blockdiag_fwd one per block, on column slices.
static void dense_fwd(act_t *out, act_t *pre, int ld_out, const act_t *inp, int ld_inp, const float *w, const float *b,
                      int N, int C, int OC, int act) {
    if (N <= 0 || OC <= 0) return;
    act_t *dst = pre ? pre : out; // (N, OC): the pre-activation
#if CU_BF16
    const __nv_bfloat16 *wb = cu_weights_bf16(w, (size_t)OC * C, SCRATCH_WEIGHTS);
    const __nv_bfloat16 *bb = b ? cu_weights_bf16(b, (size_t)OC, SCRATCH_BIAS) : NULL;
    cu_gemm_bf16(0, 1, N, OC, C, inp, ld_inp, wb, C, 0.0f, dst, ld_out, 0, bb);
    if (act == ACT_NONE && dst == out) return;
    size_t n = (size_t)N * OC; // contiguous (matmul_fwd)
    act_fwd_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>(out, dst, n, act);
#else
    cu_gemm(0, 1, N, OC, C, inp, ld_inp, w, C, 0.0f, dst, ld_out);
    if (!b && act == ACT_NONE && dst == out) return;
    bias_act_kernel<<<cu_blocks((size_t)N * OC, CU_THREADS), CU_THREADS>>>(out, dst, b, N, OC, ld_out, act);
#endif
    CUDA_LAUNCHED();
}

// dinp (N,C; ld_inp) += dout (N,OC; ld_out)·w; dw (OC,C) += doutᵀ·inp (fp32); either may be NULL.
static void dense_bwd(act_t *dinp, float *dw, const act_t *dout, int ld_out, const act_t *inp, int ld_inp,
                      const float *w, int N, int C, int OC) {
    if (N <= 0) return;
#if CU_BF16
    if (dinp) cu_gemm_bf16(0, 0, N, C, OC, dout, ld_out, cu_weights_bf16(w, (size_t)OC * C, SCRATCH_WEIGHTS), C, 1.0f,
                              dinp, ld_inp, 0, NULL);
    if (dw) cu_gemm_bf16(1, 0, OC, C, N, dout, ld_out, inp, ld_inp, 1.0f, dw, C, 1, NULL);
#else
    if (dinp) cu_gemm(0, 0, N, C, OC, dout, ld_out, w, C, 1.0f, dinp, ld_inp);
    if (dw) cu_gemm(1, 0, OC, C, N, dout, ld_out, inp, ld_inp, 1.0f, dw, C);
#endif
}

void CUX(cu_matmul_fwd)(void *out, void *pre, const void *inp, const float *w, const float *b, int N, int C, int OC,
                        act_fn act) {
    if (act != ACT_NONE && (pre == NULL || pre == out)) {
        fprintf(stderr, "%s:%d: matmul_fwd with an activation needs its own pre buffer\n", __FILE__, __LINE__);
        abort();
    }
    dense_fwd((act_t *)out, (act_t *)pre, OC, (const act_t *)inp, C, w, b, N, C, OC, (int)act);
}

void CUX(cu_matmul_bwd)(void *dinp, float *dw, float *db, const void *dout, const void *inp, const float *w, int N,
                        int C, int OC) {
    if (N <= 0) return;
    dense_bwd((act_t *)dinp, dw, (const act_t *)dout, OC, (const act_t *)inp, C, w, N, C, OC);
    if (db) CUX(cu_colsum_add)(db, dout, N, OC);
}

// Block-diagonal linear (ops.h): block k maps input columns k·p… to output columns k·q…
// with w[k] (q,p) — one strided dense GEMM per block (M2 uses 4 blocks).
void CUX(cu_blockdiag_fwd)(void *out, const void *inp, const float *w, const float *b, int N, int C, int OC, int nb) {
    int p = C / nb, q = OC / nb;
    for (int k = 0; k < nb; k++)
        dense_fwd((act_t *)out + (size_t)k * q, NULL, OC, (const act_t *)inp + (size_t)k * p, C, w + (size_t)k * q * p,
                  b ? b + (size_t)k * q : NULL, N, p, q, ACT_NONE);
}

void CUX(cu_blockdiag_bwd)(void *dinp, float *dw, float *db, const void *dout, const void *inp, const float *w, int N,
                           int C, int OC, int nb) {
    int p = C / nb, q = OC / nb;
    for (int k = 0; k < nb; k++)
        dense_bwd(dinp ? (act_t *)dinp + (size_t)k * p : NULL, dw + (size_t)k * q * p, (const act_t *)dout + (size_t)k * q,
                  OC, (const act_t *)inp + (size_t)k * p, C, w + (size_t)k * q * p, N, p, q);
    if (db && N > 0) CUX(cu_colsum_add)(db, dout, N, OC);
}

static __global__ void act_bwd_kernel(act_t *dpre, const act_t *dout, const act_t *pre, size_t n, int act) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float d = act_ld(dout[i]), acc = act_ld(dpre[i]);
    if (act == ACT_GELU) acc += d * cu_gelu_grad(act_ld(pre[i]));
    else if (act == ACT_TANH) {
        float t = tanhf(act_ld(pre[i]));
        acc += d * (1.0f - t * t);
    } else acc += d;
    dpre[i] = act_st(acc);
}

// The same over ACT_VEC elements per thread (n % ACT_VEC == 0, 16-byte aligned).
static __global__ void act_bwd_vec_kernel(act_t *dpre, const act_t *dout, const act_t *pre, size_t n, int act) {
    size_t i = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) * ACT_VEC;
    if (i >= n) return;
    act_vec d = *(const act_vec *)(dout + i), acc = *(act_vec *)(dpre + i), p;
    if (act != ACT_NONE) p = *(const act_vec *)(pre + i);
#pragma unroll
    for (int k = 0; k < ACT_VEC; k++) {
        float dd = act_ld(d.x[k]), a = act_ld(acc.x[k]);
        if (act == ACT_GELU) a += dd * cu_gelu_grad(act_ld(p.x[k]));
        else if (act == ACT_TANH) {
            float t = tanhf(act_ld(p.x[k]));
            a += dd * (1.0f - t * t);
        } else a += dd;
        acc.x[k] = act_st(a);
    }
    *(act_vec *)(dpre + i) = acc;
}

void CUX(cu_act_bwd)(void *dpre, const void *dout, const void *pre, size_t n, act_fn act) {
    if (n == 0) return;
    if (n % ACT_VEC == 0 && cu_aligned16(dpre) && cu_aligned16(dout) && (act == ACT_NONE || cu_aligned16(pre))) {
        act_bwd_vec_kernel<<<cu_blocks(n / ACT_VEC, CU_THREADS), CU_THREADS>>>((act_t *)dpre, (const act_t *)dout,
                                                                              (const act_t *)pre, n, (int)act);
        CUDA_LAUNCHED();
        return;
    }
    act_bwd_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>((act_t *)dpre, (const act_t *)dout, (const act_t *)pre,
                                                             n, (int)act);
    CUDA_LAUNCHED();
}

// ---- gated linear unit (+ the dropout after it) ----------------------------------------
// out[n, j] = GELU(u[n, j]) · u[n, width + j] · mask(n·width + j); the mask factors are
// rng_keep's (cu_drop_factor): scale when kept, else 0; all 1 when p == 0.

typedef struct {
    float p, scale; // p == 0: no dropout
    uint64_t seed;
    uint32_t step, stream;
} drop_args;

static drop_args drop_of(float p, rng_key key) {
    drop_args d = {p > 0.0f ? p : 0.0f, p <= 0.0f ? 1.0f : p < 1.0f ? 1.0f / (1.0f - p) : 0.0f, key.seed, key.step,
                   key.stream};
    return d;
}

static __global__ void glu_fwd_kernel(act_t *out, const act_t *u, int N, int width, drop_args dr) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)N * width) return;
    size_t n = i / (size_t)width, j = i % (size_t)width;
    const act_t *g = u + n * 2 * (size_t)width;
    float h = cu_gelu(act_ld(g[j])) * act_ld(g[width + j]);
    if (dr.p > 0.0f) h = __fmul_rn(h, cu_drop_factor(dr.seed, dr.step, dr.stream, i, dr.p, dr.scale));
    out[i] = act_st(h);
}

// dg = d·v·GELU'(g); dv = d·GELU(g), d = dout·mask (overwritten: ops.h)
static __global__ void glu_bwd_kernel(act_t *du, const act_t *dout, const act_t *u, int N, int width, drop_args dr) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)N * width) return;
    size_t n = i / (size_t)width, j = i % (size_t)width;
    const act_t *g = u + n * 2 * (size_t)width;
    act_t *dg = du + n * 2 * (size_t)width;
    float x = act_ld(g[j]), v = act_ld(g[width + j]), d = act_ld(dout[i]), cdf = cu_phi(x);
    if (dr.p > 0.0f) d = __fmul_rn(d, cu_drop_factor(dr.seed, dr.step, dr.stream, i, dr.p, dr.scale));
    dg[j] = act_st(d * v * (cdf + x * (0.39894228040143268f * cu_gauss(x))));
    dg[width + j] = act_st(d * (x * cdf));
}

// The same, ACT_VEC consecutive j per thread with 16-byte loads (width % ACT_VEC == 0).
static __global__ void glu_fwd_vec_kernel(act_t *out, const act_t *u, int N, int width, drop_args dr) {
    size_t i = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) * ACT_VEC;
    if (i >= (size_t)N * width) return;
    size_t n = i / (size_t)width, j = i % (size_t)width;
    const act_t *g = u + n * 2 * (size_t)width;
    act_vec a = *(const act_vec *)(g + j), b = *(const act_vec *)(g + width + j), o;
    float f[ACT_VEC];
    if (dr.p > 0.0f) cu_drop_factors(f, dr.seed, dr.step, dr.stream, i, dr.p, dr.scale);
#pragma unroll
    for (int k = 0; k < ACT_VEC; k++) {
        float h = cu_gelu(act_ld(a.x[k])) * act_ld(b.x[k]);
        o.x[k] = act_st(dr.p > 0.0f ? __fmul_rn(h, f[k]) : h);
    }
    *(act_vec *)(out + i) = o;
}

static __global__ void glu_bwd_vec_kernel(act_t *du, const act_t *dout, const act_t *u, int N, int width,
                                          drop_args dr) {
    size_t i = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) * ACT_VEC;
    if (i >= (size_t)N * width) return;
    size_t n = i / (size_t)width, j = i % (size_t)width;
    const act_t *g = u + n * 2 * (size_t)width;
    act_t *dgp = du + n * 2 * (size_t)width;
    act_vec a = *(const act_vec *)(g + j), b = *(const act_vec *)(g + width + j), d = *(const act_vec *)(dout + i);
    act_vec dg, dv;
    float f[ACT_VEC];
    if (dr.p > 0.0f) cu_drop_factors(f, dr.seed, dr.step, dr.stream, i, dr.p, dr.scale);
#pragma unroll
    for (int k = 0; k < ACT_VEC; k++) {
        float x = act_ld(a.x[k]), v = act_ld(b.x[k]), dd = act_ld(d.x[k]), cdf = cu_phi(x);
        if (dr.p > 0.0f) dd = __fmul_rn(dd, f[k]);
        dg.x[k] = act_st(dd * v * (cdf + x * (0.39894228040143268f * cu_gauss(x))));
        dv.x[k] = act_st(dd * (x * cdf));
    }
    *(act_vec *)(dgp + j) = dg;
    *(act_vec *)(dgp + width + j) = dv;
}

static bool glu_vec_ok(int width, const void *a, const void *b, const void *c) {
    return width % ACT_VEC == 0 && cu_aligned16(a) && cu_aligned16(b) && cu_aligned16(c);
}

void CUX(cu_glu_fwd)(void *out, const void *u, int N, int width, float p_drop, rng_key key) {
    size_t n = (size_t)N * width;
    if (n == 0) return;
    drop_args dr = drop_of(p_drop, key);
    if (glu_vec_ok(width, out, u, u))
        glu_fwd_vec_kernel<<<cu_blocks(n / ACT_VEC, CU_THREADS), CU_THREADS>>>((act_t *)out, (const act_t *)u, N, width,
                                                                              dr);
    else glu_fwd_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>((act_t *)out, (const act_t *)u, N, width, dr);
    CUDA_LAUNCHED();
}

void CUX(cu_glu_bwd)(void *du, const void *dout, const void *u, int N, int width, float p_drop, rng_key key) {
    size_t n = (size_t)N * width;
    if (n == 0) return;
    drop_args dr = drop_of(p_drop, key);
    if (glu_vec_ok(width, du, dout, u))
        glu_bwd_vec_kernel<<<cu_blocks(n / ACT_VEC, CU_THREADS), CU_THREADS>>>((act_t *)du, (const act_t *)dout,
                                                                              (const act_t *)u, N, width, dr);
    else glu_bwd_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>((act_t *)du, (const act_t *)dout, (const act_t *)u,
                                                                  N, width, dr);
    CUDA_LAUNCHED();
}

// ---- residual + LayerNorm ------------------------------------------------------------
// One warp per row (rows of a few thousand elements at most): the lanes stride over
// the row, the sums are taken in double and reduced by shuffles in a fixed order.

#define LN_WARPS 8 // rows per block

__device__ __forceinline__ double warp_sum(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// s = x + res; mean and biased variance in double, two passes; rstd = 1/√(var + eps).
// Each lane reads its elements before writing only those, so out may alias x or res.
static __global__ void layernorm_fwd_kernel(act_t *out, act_t *s_out, float *mean, float *rstd, const act_t *x,
                                     const act_t *res, const float *g, const float *b, int N, int C, float eps) {
    const int row = blockIdx.x * LN_WARPS + threadIdx.y, lane = threadIdx.x;
    if (row >= N) return;
    size_t off = (size_t)row * C;
    const act_t *xr = x + off, *rr = res ? res + off : NULL;
    double sum = 0.0;
    for (int c = lane; c < C; c += 32) sum += rr ? act_ld(xr[c]) + act_ld(rr[c]) : act_ld(xr[c]);
    double mu = warp_sum(sum) / C;
    double var = 0.0;
    for (int c = lane; c < C; c += 32) {
        double d = (double)(rr ? act_ld(xr[c]) + act_ld(rr[c]) : act_ld(xr[c])) - mu;
        var += d * d;
    }
    var = warp_sum(var) / C;
    float m = (float)mu, r = (float)(1.0 / sqrt(var + (double)eps));
    if (lane == 0) {
        mean[row] = m;
        rstd[row] = r;
    }
    for (int c = lane; c < C; c += 32) {
        float s = rr ? act_ld(xr[c]) + act_ld(rr[c]) : act_ld(xr[c]);
        act_t sq = act_st(s);
        if (s_out) s_out[off + c] = sq;
        // bf16: normalise the stored s, so that the backward (which reads s_out) sees the same input
        out[off + c] = act_st((act_ld(sq) - m) * r * g[c] + b[c]);
    }
}

// The same with each lane's share of the row in registers, read once with 16-byte
// loads: lane l holds vectors l, l+32, … (C % ACT_VEC == 0, C ≤ 32·LN_MAXV·ACT_VEC).
#define LN_MAXV 4
static __global__ void layernorm_fwd_vec_kernel(act_t *out, act_t *s_out, float *mean, float *rstd, const act_t *x,
                                                const act_t *res, const float *g, const float *b, int N, int C,
                                                float eps) {
    const int row = blockIdx.x * LN_WARPS + threadIdx.y, lane = threadIdx.x, nv = C / ACT_VEC;
    if (row >= N) return;
    size_t off = (size_t)row * C;
    float v[LN_MAXV][ACT_VEC];
    float sum = 0.0f;
#pragma unroll
    for (int k = 0; k < LN_MAXV; k++) {
        int vi = lane + 32 * k;
        if (vi >= nv) break;
        act_vec a = *(const act_vec *)(x + off + (size_t)vi * ACT_VEC);
        act_vec r;
        if (res) r = *(const act_vec *)(res + off + (size_t)vi * ACT_VEC);
#pragma unroll
        for (int e = 0; e < ACT_VEC; e++) {
            v[k][e] = res ? act_ld(a.x[e]) + act_ld(r.x[e]) : act_ld(a.x[e]);
            sum += v[k][e];
        }
    }
    const float mu = (float)(warp_sum((double)sum) / C);
    float var = 0.0f;
#pragma unroll
    for (int k = 0; k < LN_MAXV; k++) {
        if (lane + 32 * k >= nv) break;
#pragma unroll
        for (int e = 0; e < ACT_VEC; e++) var += (v[k][e] - mu) * (v[k][e] - mu);
    }
    const float rs = (float)(1.0 / sqrt(warp_sum((double)var) / C + (double)eps));
    if (lane == 0) {
        mean[row] = mu;
        rstd[row] = rs;
    }
#pragma unroll
    for (int k = 0; k < LN_MAXV; k++) {
        int vi = lane + 32 * k;
        if (vi >= nv) break;
        act_vec so, o;
#pragma unroll
        for (int e = 0; e < ACT_VEC; e++) {
            int c = vi * ACT_VEC + e;
            so.x[e] = act_st(v[k][e]);
            o.x[e] = act_st((act_ld(so.x[e]) - mu) * rs * g[c] + b[c]);
        }
        if (s_out) *(act_vec *)(s_out + off + (size_t)vi * ACT_VEC) = so;
        *(act_vec *)(out + off + (size_t)vi * ACT_VEC) = o;
    }
}

static bool ln_vec_ok(int C, const void *a, const void *b, const void *c, const void *d) {
    return C % ACT_VEC == 0 && C <= 32 * LN_MAXV * ACT_VEC && cu_aligned16(a) && cu_aligned16(b) && cu_aligned16(c) &&
           cu_aligned16(d);
}

void CUX(cu_layernorm_fwd)(void *out, void *s_out, float *mean, float *rstd, const void *x, const void *res,
                           const float *g, const float *b, int N, int C, float eps) {
    if (N <= 0) return;
    dim3 block(32, LN_WARPS);
    unsigned grid = (unsigned)((N + LN_WARPS - 1) / LN_WARPS);
    if (ln_vec_ok(C, out, s_out ? s_out : out, x, res ? res : x))
        layernorm_fwd_vec_kernel<<<grid, block>>>((act_t *)out, (act_t *)s_out, mean, rstd, (const act_t *)x,
                                                  (const act_t *)res, g, b, N, C, eps);
    else
        layernorm_fwd_kernel<<<grid, block>>>((act_t *)out, (act_t *)s_out, mean, rstd, (const act_t *)x,
                                              (const act_t *)res, g, b, N, C, eps);
    CUDA_LAUNCHED();
}

// ds += rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂ ⊙ x̂)), dx̂ = dout ⊙ g; one warp per row.
static __global__ void layernorm_bwd_kernel(act_t *ds, const act_t *dout, const act_t *s, const float *g, const float *mean,
                                     const float *rstd, int N, int C) {
    const int row = blockIdx.x * LN_WARPS + threadIdx.y, lane = threadIdx.x;
    if (row >= N) return;
    size_t off = (size_t)row * C;
    const act_t *dy = dout + off, *sr = s + off;
    float m = mean[row], r = rstd[row];
    double a = 0.0, bs = 0.0;
    for (int c = lane; c < C; c += 32) {
        float dxh = act_ld(dy[c]) * g[c];
        a += dxh;
        bs += (double)dxh * ((act_ld(sr[c]) - m) * r);
    }
    float ma = (float)(warp_sum(a) / C), mb = (float)(warp_sum(bs) / C);
    for (int c = lane; c < C; c += 32)
        ds[off + c] = act_st(act_ld(ds[off + c]) +
                             r * (act_ld(dy[c]) * g[c] - ma - (act_ld(sr[c]) - m) * r * mb));
}

static __global__ void layernorm_bwd_vec_kernel(act_t *ds, const act_t *dout, const act_t *s, const float *g,
                                                const float *mean, const float *rstd, int N, int C) {
    const int row = blockIdx.x * LN_WARPS + threadIdx.y, lane = threadIdx.x, nv = C / ACT_VEC;
    if (row >= N) return;
    size_t off = (size_t)row * C;
    const float m = mean[row], r = rstd[row];
    float dxh[LN_MAXV][ACT_VEC], xh[LN_MAXV][ACT_VEC];
    float a = 0.0f, bs = 0.0f;
#pragma unroll
    for (int k = 0; k < LN_MAXV; k++) {
        int vi = lane + 32 * k;
        if (vi >= nv) break;
        act_vec dy = *(const act_vec *)(dout + off + (size_t)vi * ACT_VEC),
                sv = *(const act_vec *)(s + off + (size_t)vi * ACT_VEC);
#pragma unroll
        for (int e = 0; e < ACT_VEC; e++) {
            dxh[k][e] = act_ld(dy.x[e]) * g[vi * ACT_VEC + e];
            xh[k][e] = (act_ld(sv.x[e]) - m) * r;
            a += dxh[k][e];
            bs += dxh[k][e] * xh[k][e];
        }
    }
    const float ma = (float)(warp_sum((double)a) / C), mb = (float)(warp_sum((double)bs) / C);
#pragma unroll
    for (int k = 0; k < LN_MAXV; k++) {
        int vi = lane + 32 * k;
        if (vi >= nv) break;
        act_t *dp = ds + off + (size_t)vi * ACT_VEC;
        act_vec d = *(act_vec *)dp;
#pragma unroll
        for (int e = 0; e < ACT_VEC; e++) d.x[e] = act_st(act_ld(d.x[e]) + r * (dxh[k][e] - ma - xh[k][e] * mb));
        *(act_vec *)dp = d;
    }
}

void CUX(cu_layernorm_bwd)(void *ds, float *dg, float *db, const void *dout, const void *s, const float *g,
                           const float *mean, const float *rstd, int N, int C) {
    if (N <= 0) return;
    if (ds) {
        dim3 block(32, LN_WARPS);
        unsigned grid = (unsigned)((N + LN_WARPS - 1) / LN_WARPS);
        if (ln_vec_ok(C, ds, dout, s, s))
            layernorm_bwd_vec_kernel<<<grid, block>>>((act_t *)ds, (const act_t *)dout, (const act_t *)s, g, mean, rstd,
                                                      N, C);
        else
            layernorm_bwd_kernel<<<grid, block>>>((act_t *)ds, (const act_t *)dout, (const act_t *)s, g, mean, rstd, N,
                                                  C);
        CUDA_LAUNCHED();
    }
    if (dg || db) // both sums come from one pass
        cu_colsums<2>({{dg, db}, {1, 1}}, N, C, colsum_ln{(const act_t *)dout, (const act_t *)s, mean, rstd, C});
}
