// cuda_attention.cu — multi-head self-attention over unpadded variable-length
// sequences (ops.h), fp32, flash-style: key (or query) tiles pass through shared
// memory and each thread keeps one row's running state, so nothing of size T² is
// ever held. Plain FMA code, no tensor cores (the fp32 mode's reference-grade
// kernel; bf16 training uses cuda_flash.cu when it is built): the dot
// products of one query and one key (dh terms) are fp32, the long sums over keys
// or queries (out, dQ, dK, dV: thousands of terms that cancel) accumulate in double.
//
// Forward: a thread owns one query row; per key tile it computes the tile's scores,
// rescales its running sum and output once (online softmax), and adds P'·V. lse is
// saved for the backward.
// Backward, in two passes so that no float atomics are needed (deterministic):
//   1. dQ: a thread owns a query row, walks the key tiles: P = exp(s − lse),
//      dS = P ⊙ (dP'⊙mask/(1−p) − D), D = dout·out (also saved for pass 2).
//   2. dK, dV: a thread owns a key row, walks the query tiles in order.
// Dropout factors come from the same Philox mapping as cuda_ops.cu's dropout, with
// the element index ((h·T + t_i)·max_seqlen + j) of ops.h.
#include "cuda_common.h"
#include "cuda_flash.h"

#define ATT_MAXH 256 // heads whose ALiBi slopes fit constant memory
#define FQ 64        // forward / dQ pass: query rows (threads) per block
#define BK 32        // forward / dQ pass: keys per shared-memory tile
#define KQ 64        // dK/dV pass: key rows (threads) per block
#define BQ 16        // dK/dV pass: queries per shared-memory tile

static __constant__ float c_slopes[ATT_MAXH]; // (nh,) ALiBi slopes, copied from the host per call

struct att_args {
    const int32_t *cu; // (B+1,) device
    int T, max_seqlen, nh, alibi;
    float scale, p, keep; // 1/√dh, dropout probability, 1/(1 − p)
    uint64_t seed;
    uint32_t step, stream;
};

// s_ij as ops.h defines it (the product scaled first, as the CPU's sgemm alpha).
__device__ __forceinline__ float att_score(float dot, const att_args &a, float slope, int i, int j) {
    float s = a.scale * dot;
    if (a.alibi) s -= slope * fabsf((float)(i - j));
    return s;
}

// Keys and values j0 … j0+nk−1 into the shared tile (rows past nk zeroed), all threads of the block.
template <int DH>
static __device__ void load_kv_tile(float (*Ks)[DH], float (*Vs)[DH], const act_t *K, const act_t *V, int j0, int nk,
                             size_t ld) {
    for (int e = threadIdx.x; e < BK * DH; e += FQ) {
        int r = e / DH, c = e % DH;
        Ks[r][c] = r < nk ? act_ld(K[(size_t)(j0 + r) * ld + c]) : 0.0f;
        Vs[r][c] = r < nk ? act_ld(V[(size_t)(j0 + r) * ld + c]) : 0.0f;
    }
}

template <int DH>
static __global__ void __launch_bounds__(FQ) att_fwd_kernel(act_t *out, float *lse, const act_t *qkv, att_args a) {
    const int b = blockIdx.x, h = blockIdx.y, i0 = blockIdx.z * FQ;
    const int r0 = a.cu[b], L = a.cu[b + 1] - r0;
    if (i0 >= L) return; // uniform over the block
    const int C = a.nh * DH, ld = 3 * C;
    __shared__ float Ks[BK][DH], Vs[BK][DH]; // (BK, DH) key and value tile
    const act_t *Q = qkv + (size_t)r0 * ld + (size_t)h * DH, *K = Q + C, *V = Q + 2 * C;
    const int i = i0 + (int)threadIdx.x;
    const bool active = i < L;
    float q[DH];
    double acc[DH];
#pragma unroll
    for (int c = 0; c < DH; c++) {
        q[c] = active ? act_ld(Q[(size_t)i * ld + c]) : 0.0f;
        acc[c] = 0.0;
    }
    const float slope = a.alibi ? c_slopes[h] : 0.0f;
    const uint64_t mbase = ((uint64_t)h * (uint64_t)a.T + (uint64_t)(r0 + i)) * (uint64_t)a.max_seqlen;
    float m = -INFINITY;
    double l = 0.0; // Σ e^(s − m), in double as the CPU
    for (int j0 = 0; j0 < L; j0 += BK) {
        const int nk = min(BK, L - j0);
        __syncthreads();
        load_kv_tile<DH>(Ks, Vs, K, V, j0, nk, ld);
        __syncthreads();
        if (!active) continue;
        float s[BK], mt = m;
#pragma unroll
        for (int jj = 0; jj < BK; jj++) {
            float d = 0.0f;
#pragma unroll
            for (int c = 0; c < DH; c++) d = fmaf(q[c], Ks[jj][c], d);
            s[jj] = jj < nk ? att_score(d, a, slope, i, j0 + jj) : -INFINITY;
            mt = fmaxf(mt, s[jj]);
        }
        const float corr = expf(m - mt); // 0 on the first tile (m = −∞, mt finite)
        l *= (double)corr;
#pragma unroll
        for (int c = 0; c < DH; c++) acc[c] *= (double)corr;
#pragma unroll
        for (int jj = 0; jj < BK; jj++) {
            if (jj >= nk) break;
            float e = expf(s[jj] - mt);
            l += (double)e;
            if (a.p > 0.0f) e *= cu_drop_factor(a.seed, a.step, a.stream, mbase + (uint64_t)(j0 + jj), a.p, a.keep);
#pragma unroll
            for (int c = 0; c < DH; c++) acc[c] = fma((double)e, (double)Vs[jj][c], acc[c]);
        }
        m = mt;
    }
    if (!active) return;
    const double inv = 1.0 / l;
    act_t *o = out + (size_t)(r0 + i) * C + (size_t)h * DH;
#pragma unroll
    for (int c = 0; c < DH; c++) o[c] = act_st((float)(acc[c] * inv));
    lse[(size_t)h * a.T + r0 + i] = (float)((double)m + log(l));
}

// Pass 1: dQ += scale·dS·K for one query row per thread; writes D_i = dout_i·out_i (nh, T).
template <int DH>
static __global__ void __launch_bounds__(FQ) att_bwd_dq_kernel(act_t *dqkv, float *Dsave, const act_t *dout, const act_t *out,
                                                        const float *lse, const act_t *qkv, att_args a) {
    const int b = blockIdx.x, h = blockIdx.y, i0 = blockIdx.z * FQ;
    const int r0 = a.cu[b], L = a.cu[b + 1] - r0;
    if (i0 >= L) return;
    const int C = a.nh * DH, ld = 3 * C;
    __shared__ float Ks[BK][DH], Vs[BK][DH];
    const act_t *Q = qkv + (size_t)r0 * ld + (size_t)h * DH, *K = Q + C, *V = Q + 2 * C;
    const int i = i0 + (int)threadIdx.x;
    const bool active = i < L;
    const size_t t = (size_t)(r0 + (active ? i : 0));
    float q[DH], dO[DH];
    double dq[DH];
    double D = 0.0;
#pragma unroll
    for (int c = 0; c < DH; c++) {
        q[c] = active ? act_ld(Q[(size_t)i * ld + c]) : 0.0f;
        dO[c] = active ? act_ld(dout[t * C + (size_t)h * DH + c]) : 0.0f;
        if (active) D += (double)dO[c] * (double)act_ld(out[t * C + (size_t)h * DH + c]);
        dq[c] = 0.0;
    }
    const float Df = (float)D, li = active ? lse[(size_t)h * a.T + t] : 0.0f;
    if (active) Dsave[(size_t)h * a.T + t] = Df;
    const float slope = a.alibi ? c_slopes[h] : 0.0f;
    const uint64_t mbase = ((uint64_t)h * (uint64_t)a.T + (uint64_t)(r0 + i)) * (uint64_t)a.max_seqlen;
    for (int j0 = 0; j0 < L; j0 += BK) {
        const int nk = min(BK, L - j0);
        __syncthreads();
        load_kv_tile<DH>(Ks, Vs, K, V, j0, nk, ld);
        __syncthreads();
        if (!active) continue;
        for (int jj = 0; jj < nk; jj++) {
            float d = 0.0f, dp = 0.0f;
#pragma unroll
            for (int c = 0; c < DH; c++) {
                d = fmaf(q[c], Ks[jj][c], d);
                dp = fmaf(dO[c], Vs[jj][c], dp);
            }
            const float pr = expf(att_score(d, a, slope, i, j0 + jj) - li);
            if (a.p > 0.0f) dp *= cu_drop_factor(a.seed, a.step, a.stream, mbase + (uint64_t)(j0 + jj), a.p, a.keep);
            const float ds = pr * (dp - Df);
#pragma unroll
            for (int c = 0; c < DH; c++) dq[c] = fma((double)ds, (double)Ks[jj][c], dq[c]);
        }
    }
    if (!active) return;
    act_t *g = dqkv + t * ld + (size_t)h * DH;
#pragma unroll
    for (int c = 0; c < DH; c++) g[c] = act_st(act_ld(g[c]) + (float)((double)a.scale * dq[c]));
}

// Pass 2: dK += scale·dSᵀ·Q, dV += P'ᵀ·dO for one key row per thread, query tiles in order.
template <int DH>
static __global__ void __launch_bounds__(KQ) att_bwd_dkv_kernel(act_t *dqkv, const float *D, const act_t *dout,
                                                         const float *lse, const act_t *qkv, att_args a) {
    const int b = blockIdx.x, h = blockIdx.y, j0 = blockIdx.z * KQ;
    const int r0 = a.cu[b], L = a.cu[b + 1] - r0;
    if (j0 >= L) return;
    const int C = a.nh * DH, ld = 3 * C;
    // Own key/value rows, padded by one column: threads read different rows (no bank conflicts).
    __shared__ float Kown[KQ][DH + 1], Vown[KQ][DH + 1];
    __shared__ float Qs[BQ][DH], dOs[BQ][DH], ls[BQ], Ds[BQ]; // (BQ, DH) query tile, its lse and D
    const act_t *Q = qkv + (size_t)r0 * ld + (size_t)h * DH, *K = Q + C, *V = Q + 2 * C;
    const int nown = min(KQ, L - j0);
    for (int e = threadIdx.x; e < KQ * DH; e += KQ) {
        int r = e / DH, c = e % DH;
        Kown[r][c] = r < nown ? act_ld(K[(size_t)(j0 + r) * ld + c]) : 0.0f;
        Vown[r][c] = r < nown ? act_ld(V[(size_t)(j0 + r) * ld + c]) : 0.0f;
    }
    const int tj = (int)threadIdx.x, j = j0 + tj;
    const bool active = tj < nown;
    double dk[DH], dv[DH];
#pragma unroll
    for (int c = 0; c < DH; c++) dk[c] = dv[c] = 0.0;
    const float slope = a.alibi ? c_slopes[h] : 0.0f;
    for (int q0 = 0; q0 < L; q0 += BQ) {
        const int nq = min(BQ, L - q0);
        __syncthreads();
        for (int e = threadIdx.x; e < BQ * DH; e += KQ) {
            int r = e / DH, c = e % DH;
            Qs[r][c] = r < nq ? act_ld(Q[(size_t)(q0 + r) * ld + c]) : 0.0f;
            dOs[r][c] = r < nq ? act_ld(dout[(size_t)(r0 + q0 + r) * C + (size_t)h * DH + c]) : 0.0f;
        }
        if ((int)threadIdx.x < nq) {
            size_t ti = (size_t)h * a.T + (size_t)(r0 + q0 + (int)threadIdx.x);
            ls[threadIdx.x] = lse[ti];
            Ds[threadIdx.x] = D[ti];
        }
        __syncthreads();
        if (!active) continue;
        for (int ii = 0; ii < nq; ii++) {
            const int i = q0 + ii;
            float d = 0.0f, dp = 0.0f;
#pragma unroll
            for (int c = 0; c < DH; c++) {
                d = fmaf(Qs[ii][c], Kown[tj][c], d);
                dp = fmaf(dOs[ii][c], Vown[tj][c], dp);
            }
            const float pr = expf(att_score(d, a, slope, i, j) - ls[ii]);
            float pd = pr;
            if (a.p > 0.0f) {
                uint64_t idx = ((uint64_t)h * (uint64_t)a.T + (uint64_t)(r0 + i)) * (uint64_t)a.max_seqlen + (uint64_t)j;
                float f = cu_drop_factor(a.seed, a.step, a.stream, idx, a.p, a.keep);
                pd *= f;
                dp *= f;
            }
            const float ds = pr * (dp - Ds[ii]);
#pragma unroll
            for (int c = 0; c < DH; c++) {
                dv[c] = fma((double)pd, (double)dOs[ii][c], dv[c]);
                dk[c] = fma((double)ds, (double)Qs[ii][c], dk[c]);
            }
        }
    }
    if (!active) return;
    act_t *g = dqkv + (size_t)(r0 + j) * ld + (size_t)h * DH;
#pragma unroll
    for (int c = 0; c < DH; c++) {
        g[C + c] = act_st(act_ld(g[C + c]) + (float)((double)a.scale * dk[c]));
        g[2 * C + c] = act_st(act_ld(g[2 * C + c]) + (float)dv[c]);
    }
}

// Shared set-up: the argument block, the slopes in constant memory; 0 when there is nothing to do.
static int att_setup(att_args *a, const int32_t *cu, int B, int T, int max_seqlen, int nh, int dh,
                     const float *slopes, float p_drop, rng_key key) {
    if (B <= 0 || T <= 0 || max_seqlen <= 0 || nh <= 0) return 0;
    if (dh != 16 && dh != 32 && dh != 64) {
        fprintf(stderr, "cuda attention: head dim %d is not supported (16, 32 or 64)\n", dh);
        abort();
    }
    if (nh > ATT_MAXH) {
        fprintf(stderr, "cuda attention: %d heads, at most %d supported\n", nh, ATT_MAXH);
        abort();
    }
    if (slopes) CUDA_CHECK(cudaMemcpyToSymbol(c_slopes, slopes, sizeof(float) * (size_t)nh));
    *a = (att_args){cu, T, max_seqlen, nh, slopes != NULL, 1.0f / sqrtf((float)dh), p_drop > 0.0f ? p_drop : 0.0f,
                    p_drop < 1.0f ? 1.0f / (1.0f - p_drop) : 0.0f, key.seed, key.step, key.stream};
    return 1;
}

// bf16 mode: the tensor-core kernel (cuda_flash.cu) for the head sizes it has and up to 64
// heads; these kernels otherwise.
static bool use_flash(int nh, int dh) { return CU_BF16 && (dh == 32 || dh == 64 || dh == 128) && nh <= 64; }

void CUX(cu_attention_fwd)(void *out, float *lse, const void *qkv, const int32_t *cu, int B, int T, int max_seqlen,
                           int nh, int dh, const float *slopes, float p_drop, rng_key key) {
    if (use_flash(nh, dh)) {
        cu_flash_fwd(out, lse, qkv, cu, B, T, max_seqlen, nh, dh, slopes, p_drop, key);
        return;
    }
    att_args a;
    if (!att_setup(&a, cu, B, T, max_seqlen, nh, dh, slopes, p_drop, key)) return;
    dim3 grid((unsigned)B, (unsigned)nh, (unsigned)((max_seqlen + FQ - 1) / FQ));
    if (dh == 64) att_fwd_kernel<64><<<grid, FQ>>>((act_t *)out, lse, (const act_t *)qkv, a);
    else if (dh == 32) att_fwd_kernel<32><<<grid, FQ>>>((act_t *)out, lse, (const act_t *)qkv, a);
    else att_fwd_kernel<16><<<grid, FQ>>>((act_t *)out, lse, (const act_t *)qkv, a);
    CUDA_LAUNCHED();
}

void CUX(cu_attention_bwd)(void *dqkv, const void *dout, const void *out, const float *lse, const void *qkv,
                           const int32_t *cu, int B, int T, int max_seqlen, int nh, int dh, const float *slopes,
                           float p_drop, rng_key key) {
    if (use_flash(nh, dh)) {
        cu_flash_bwd(dqkv, dout, out, lse, qkv, cu, B, T, max_seqlen, nh, dh, slopes, p_drop, key);
        return;
    }
    att_args a;
    if (!att_setup(&a, cu, B, T, max_seqlen, nh, dh, slopes, p_drop, key)) return;
    float *D = (float *)cu_scratch(SCRATCH_ATT_D, sizeof(float) * (size_t)nh * (size_t)T); // (nh, T) dout·out, pass 1 → 2
    dim3 gq((unsigned)B, (unsigned)nh, (unsigned)((max_seqlen + FQ - 1) / FQ));
    dim3 gk((unsigned)B, (unsigned)nh, (unsigned)((max_seqlen + KQ - 1) / KQ));
    act_t *g = (act_t *)dqkv;
    const act_t *dO = (const act_t *)dout, *O = (const act_t *)out, *X = (const act_t *)qkv;
    switch (dh) { // the two passes, per head dim
#define ATT_BWD(DH)                                              \
    case DH:                                                     \
        att_bwd_dq_kernel<DH><<<gq, FQ>>>(g, D, dO, O, lse, X, a); \
        CUDA_LAUNCHED();                                         \
        att_bwd_dkv_kernel<DH><<<gk, KQ>>>(g, D, dO, lse, X, a);   \
        break;
        ATT_BWD(64)
        ATT_BWD(32)
        ATT_BWD(16)
#undef ATT_BWD
    }
    CUDA_LAUNCHED();
}
