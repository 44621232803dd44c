// cuda_flash.cu — bf16 flash attention on the tensor cores (FlashAttention-2
// scheme), for the CUDA backend's bf16 mode: the attention op of ops.h with bf16
// activations (cuda_flash.h). Matrix products are mma.sync m16n8k16 (bf16 in, fp32
// accumulate) fed by ldmatrix from shared memory; softmax statistics, lse and all
// accumulators are fp32. Nothing of size L² touches global memory.
//
// Grid: (tile, head, sequence). A block of 4 warps takes one tile of one sequence
// and loops over the tiles of the same sequence only (cu_seqlens gives its rows;
// max_seqlen bounds the tile count, blocks past the sequence's end exit at once).
// Shared-memory rows are padded by 16 bytes so that the 8 rows one ldmatrix reads
// fall in different banks. Global→shared copies are cp.async, double-buffered.
//
// Forward: a block owns BR = 64·MT query rows (each warp 16·MT of them), walks the
// key/value tiles with an online softmax in the base-2 domain (log2 e folded into
// the score scale and the ALiBi slope, so each probability is one ex2), and
// writes out and lse = log Σ_j exp(s_ij).
// Backward, deterministic (every output element is written by one thread, no float
// atomics, fixed summation orders), recomputing P = exp(s − lse) from the saved lse.
// Two passes, so that no sum crosses blocks:
//   1. dQ: a block owns 64 queries, first computes D_i = dout_i·out_i for them (fp32,
//      saved in a scratch buffer), then walks the key tiles: dQ += dS·K;
//   2. dK, dV: a block owns 64·MTK keys, walks the query tiles; the warp computes Sᵀ
//      (keys × queries) so that Pᵀ and dSᵀ are already the A operand of
//      dV += P'ᵀ·dO and dK += dSᵀ·Q.
// When max_seqlen ≤ 128 (MosaicBERT pre-training) one block of 8 warps holds a whole
// (sequence, head) instead: the dK/dV step leaves dSᵀ in shared memory and dQ = dS·K
// is read from it (5 products instead of 7, one launch, no scratch).
// dS = P ⊙ (dP' ⊙ mask/(1 − p) − D) as in cpu_attention.c. Dropout factors come from
// cu_drop_factor (cuda_common.h), element index ((h·T + t_i)·max_seqlen + j): the
// same keep mask as the CPU op, element by element (slow; dropout is a template flag,
// so the p = 0 kernels carry none of it).
// Scratch: the two-pass backward keeps D (nh·T floats) in a buffer that grows on demand
// (cudaMalloc only then): under graph capture, run the largest shape once before
// capturing. One device, one host thread.
//
// Fragment layouts (PTX ISA, mma.m16n8k16, lane = 4·g + q): A (16×16) regs
// {(g, 2q..2q+1), (g+8, 2q..), (g, 2q+8..), (g+8, 2q+8..)}, B (16×8) regs
// {(k 2q..2q+1, n g), (k 2q+8.., n g)}, C (16×8) {(g, 2q), (g, 2q+1), (g+8, 2q), (g+8, 2q+1)}.
// So two adjacent C tiles (16×16 of S) repack as one A operand without any shuffle.
#include <cuda_bf16.h>
#include <math.h>
#include <string.h>

#include "cuda_common.h"
#include "cuda_flash.h"

typedef __nv_bfloat16 bf16;

#define FL_THREADS 128 // 4 warps per block, every kernel
#define FL_MAXH 64     // heads whose ALiBi slopes fit the argument block
#define FL_LOG2E 1.4426950408889634f
#define FL_LN2 0.6931471805599453f

// Tile shapes per head dim: tuning knobs, overridable with -D (bench/flash_bench.cu builds the
// variants); the defaults were the fastest variants measured on an H100. MINB: blocks per SM asked of the
// compiler (__launch_bounds__), i.e. the register cap 65536 / (128·MINB); kernels with dropout
// always use 2 (their Philox code needs the registers, and their speed is not the goal).
#ifndef FL_FWD32
#define FL_FWD32 2, 64, 3 // forward: MT (query rows per warp / 16), BC (keys per tile), MINB
#endif
#ifndef FL_FWD64
#define FL_FWD64 2, 64, 3
#endif
#ifndef FL_FWD128
#define FL_FWD128 2, 32, 2 // BC 32 keeps O and S within the registers
#endif
#ifndef FL_BWD32
// backward: MTK (keys per warp / 16) and BQ (query tile) of the dK/dV pass, BK (key tile) of
// the dQ pass, MINB of each
#define FL_BWD32 1, 64, 64, 3, 3
#endif
#ifndef FL_BWD64
#define FL_BWD64 1, 64, 64, 3, 3
#endif
#ifndef FL_BWD128
#define FL_BWD128 1, 32, 32, 2, 3
#endif
// Short-sequence backward (max_seqlen ≤ 128): BQ, MINB; FL_SHORT 0 sends every length to the two passes.
#ifndef FL_SHORT
#define FL_SHORT 1
#endif
#ifndef FL_SHORT32
#define FL_SHORT32 32, 2
#endif
#ifndef FL_SHORT64
#define FL_SHORT64 32, 2
#endif
#ifndef FL_SHORT128
#define FL_SHORT128 32, 1
#endif

// Everything a kernel needs besides its tensors; passed by value (slopes included:
// no constant-memory copy, so the launch is capturable and needs no host sync).
struct fl_args {
    const int32_t *cu; // (B+1,) device
    int T, max_seqlen, nh;
    float scale;          // 1/√dh
    float sl2;            // scale · log2 e: scores in the base-2 domain
    float p, keep;        // dropout probability, 1/(1 − p)
    uint64_t seed;        // dropout key
    uint32_t step, stream;
    float alibi2[FL_MAXH]; // (nh,) slope · log2 e; zeros without ALiBi
};

// ---- device helpers -----------------------------------------------------------------

__device__ __forceinline__ uint32_t fl_sptr(const void *p) { return (uint32_t)__cvta_generic_to_shared(p); }

// Four 8×8 b16 matrices; lanes 8m … 8m+7 give the row addresses of matrix m, register m gets its fragment.
__device__ __forceinline__ void fl_ldsm(uint32_t r[4], const bf16 *p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(fl_sptr(p)));
}
// The same, each matrix transposed (for a B operand stored k-major).
__device__ __forceinline__ void fl_ldsm_t(uint32_t r[4], const bf16 *p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(fl_sptr(p)));
}
// c (16×8 f32) += a (16×16 bf16) · b (16×8 bf16)
__device__ __forceinline__ void fl_mma(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
// 2^x by one MUFU op (subnormal results flush to 0: a probability below 2^-126 changes no sum).
__device__ __forceinline__ float fl_exp2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
    return y;
}
// Two floats as a bf16 pair, lo in the low half (the lower column of a fragment).
__device__ __forceinline__ uint32_t fl_pack(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t *>(&v);
}
// C tiles 2k and 2k+1 of a row block (16 × 16 of the accumulator) as an A operand.
__device__ __forceinline__ void fl_to_a(uint32_t a[4], const float c0[4], const float c1[4]) {
    a[0] = fl_pack(c0[0], c0[1]);
    a[1] = fl_pack(c0[2], c0[3]);
    a[2] = fl_pack(c1[0], c1[1]);
    a[3] = fl_pack(c1[2], c1[3]);
}
// 16-byte global→shared copy; valid == false writes zeros (src-size 0) and reads nothing.
__device__ __forceinline__ void fl_cp16(bf16 *s, const bf16 *g, bool valid) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(fl_sptr(s)), "l"(g), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void fl_commit() { asm volatile("cp.async.commit_group;\n" ::); }
// Wait until at most N committed groups are still in flight.
template <int N> __device__ __forceinline__ void fl_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

// Rows r < nvalid of the (ROWS, DH) tile at g (row stride ld) into s (ROWS, DH+8); the other rows zeroed
// (so padding keys and queries contribute exact zeros, never stale or NaN values).
template <int DH, int ROWS, int NTHR = FL_THREADS>
__device__ __forceinline__ void fl_load_tile(bf16 *s, const bf16 *g, size_t ld, int nvalid) {
    constexpr int CH = DH / 8, N = ROWS * CH, IT = (N + NTHR - 1) / NTHR;
#pragma unroll
    for (int it = 0; it < IT; it++) {
        const int e = it * NTHR + (int)threadIdx.x;
        if (N % NTHR == 0 || e < N) {
            const int r = e / CH, c = (e % CH) * 8;
            const bool v = r < nvalid;
            fl_cp16(s + r * (DH + 8) + c, g + (size_t)(v ? r : 0) * ld + c, v);
        }
    }
}

// slope·log2 e of head h (a constant-index walk: a run-time index into the parameter
// block would copy it to local memory).
__device__ __forceinline__ float fl_slope(const fl_args &a, int h) {
    float s = 0.0f;
#pragma unroll
    for (int k = 0; k < FL_MAXH; k++)
        if (k == h) s = a.alibi2[k];
    return s;
}

// o[c] = o[c] + v (bf16 read-add-write of one column pair).
__device__ __forceinline__ void fl_add2(bf16 *o, float v0, float v1) {
    __nv_bfloat162 *p = reinterpret_cast<__nv_bfloat162 *>(o);
    float2 x = __bfloat1622float2(*p);
    *p = __floats2bfloat162_rn(x.x + v0, x.y + v1);
}

// D_i = dout_i·out_i (fp32) of the block's rows i0 … i0 + NTHR/2 − 1, two threads per row, 16-byte loads;
// dout, out point at row 0 of the sequence, column h·dh (row stride C). Dsm (NTHR/2,) gets every row (0 past
// the sequence), Dg (when not null; row 0 of the sequence, this head) the rows < L.
template <int DH, int NTHR>
__device__ __forceinline__ void fl_rows_dot(float *Dsm, float *Dg, const bf16 *dout, const bf16 *out, int i0, int L,
                                            int C) {
    const int rr = threadIdx.x >> 1, half = threadIdx.x & 1, i = i0 + rr;
    float acc = 0.0f;
    if (i < L) {
        const size_t off = (size_t)i * C + half * (DH / 2);
        const uint4 *pd = reinterpret_cast<const uint4 *>(dout + off), *po = reinterpret_cast<const uint4 *>(out + off);
#pragma unroll
        for (int k = 0; k < DH / 16; k++) {
            uint4 x = pd[k], y = po[k];
            const __nv_bfloat162 *xa = reinterpret_cast<const __nv_bfloat162 *>(&x);
            const __nv_bfloat162 *ya = reinterpret_cast<const __nv_bfloat162 *>(&y);
#pragma unroll
            for (int e = 0; e < 4; e++) {
                float2 u = __bfloat1622float2(xa[e]), v = __bfloat1622float2(ya[e]);
                acc = fmaf(u.x, v.x, acc);
                acc = fmaf(u.y, v.y, acc);
            }
        }
    }
    acc += __shfl_xor_sync(0xffffffffu, acc, 1);
    if (half == 0) {
        Dsm[rr] = acc;
        if (Dg && i < L) Dg[i] = acc;
    }
}

// ---- forward --------------------------------------------------------------------------

// out (T,C) bf16, lse (nh,T) f32, qkv (T,3C) bf16. Block: BR = 64·MT queries; key tiles of BC.
// DROP: dropout on (a template flag, so that the p = 0 path has no per-element branch).
template <int DH, int MT, int BC, int MINB, bool DROP>
__global__ void __launch_bounds__(FL_THREADS, DROP ? 2 : MINB)
    flash_fwd_kernel(bf16 *out, float *lse, const bf16 *qkv, const fl_args a) {
    constexpr int BR = 64 * MT, LDS = DH + 8, NT = BC / 8, ND = DH / 8;
    extern __shared__ __align__(16) unsigned char fl_smem[];
    bf16 *Qs = reinterpret_cast<bf16 *>(fl_smem); // (BR, LDS) query tile
    bf16 *Ks = Qs + BR * LDS;                      // (2, BC, LDS) key tiles, double-buffered
    bf16 *Vs = Ks + 2 * BC * LDS;                  // (2, BC, LDS) value tiles
    const int h = blockIdx.y, b = blockIdx.z, i0 = blockIdx.x * BR;
    const int r0 = a.cu[b], L = a.cu[b + 1] - r0;
    if (L > a.max_seqlen) __trap(); // a caller bug (the grid covers max_seqlen): fail loudly
    if (i0 >= L) return; // the sequence is shorter than this tile: uniform over the block
    const int C = a.nh * DH;
    const size_t ld = 3 * (size_t)C;
    const bf16 *Q = qkv + (size_t)r0 * ld + (size_t)h * DH, *K = Q + C, *V = Q + 2 * C;
    const int ntile = (L + BC - 1) / BC;

    fl_load_tile<DH, BR>(Qs, Q + (size_t)i0 * ld, ld, L - i0);
    fl_load_tile<DH, BC>(Ks, K, ld, L);
    fl_load_tile<DH, BC>(Vs, V, ld, L);
    fl_commit();

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane >> 2, q = lane & 3;
    const int wrow = warp * 16 * MT; // first query row of this warp in the tile
    const float slope = fl_slope(a, h);
    float o[MT][ND][4];       // (16·MT, DH) output accumulator of the warp
    float m[MT][2], l[MT][2]; // running max (base 2) and this thread's partial Σ, per row
#pragma unroll
    for (int mt = 0; mt < MT; mt++) {
#pragma unroll
        for (int d = 0; d < ND; d++) o[mt][d][0] = o[mt][d][1] = o[mt][d][2] = o[mt][d][3] = 0.0f;
        m[mt][0] = m[mt][1] = -INFINITY;
        l[mt][0] = l[mt][1] = 0.0f;
    }

    for (int kt = 0; kt < ntile; kt++) {
        const int buf = kt & 1, j0 = kt * BC;
        if (kt + 1 < ntile) { // prefetch the next tile into the other buffer (its readers passed the last barrier)
            const int jn = j0 + BC;
            fl_load_tile<DH, BC>(Ks + (buf ^ 1) * BC * LDS, K + (size_t)jn * ld, ld, L - jn);
            fl_load_tile<DH, BC>(Vs + (buf ^ 1) * BC * LDS, V + (size_t)jn * ld, ld, L - jn);
        }
        fl_commit(); // possibly empty: keeps the group count uniform
        fl_wait<1>();
        __syncthreads();
        const bf16 *Kb = Ks + buf * BC * LDS, *Vb = Vs + buf * BC * LDS;

        // S (16·MT, BC) = Q·Kᵀ for this warp's rows
        float s[MT][NT][4];
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
#pragma unroll
            for (int n = 0; n < NT; n++) s[mt][n][0] = s[mt][n][1] = s[mt][n][2] = s[mt][n][3] = 0.0f;
#pragma unroll
        for (int kk = 0; kk < DH / 16; kk++) {
            uint32_t qa[MT][4];
#pragma unroll
            for (int mt = 0; mt < MT; mt++)
                fl_ldsm(qa[mt], Qs + (wrow + mt * 16 + (lane & 15)) * LDS + kk * 16 + (lane >> 4) * 8);
#pragma unroll
            for (int np = 0; np < NT / 2; np++) {
                uint32_t kb[4]; // key rows np·16 … +15, dims kk·16 … +15: B of n-tiles 2np, 2np+1
                fl_ldsm(kb, Kb + (np * 16 + (lane & 7) + (lane >> 4) * 8) * LDS + kk * 16 + ((lane >> 3) & 1) * 8);
#pragma unroll
                for (int mt = 0; mt < MT; mt++) {
                    fl_mma(s[mt][2 * np], qa[mt], kb[0], kb[1]);
                    fl_mma(s[mt][2 * np + 1], qa[mt], kb[2], kb[3]);
                }
            }
        }

        // online softmax, row by row (a row's BC scores are spread over the 4 lanes of a quad)
        float corr[MT][2]; // e^(old max − new max) per row
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
#pragma unroll
            for (int r = 0; r < 2; r++) {
                const int i = i0 + wrow + mt * 16 + g + 8 * r;     // query position in the sequence
                const float sd0 = slope * (float)(i - j0 - 2 * q); // slope·(i − j), thread's first column
                float mx0 = m[mt][r], mx1 = -INFINITY;              // two chains: shorter dependency
#pragma unroll
                for (int n = 0; n < NT; n++)
#pragma unroll
                    for (int c = 0; c < 2; c++) {
                        // s·scale − slope·|i − j|, base 2; slope·|i − j| = |slope·(i − j0 − 2q) − slope·(8n + c)|
                        const float v =
                            fmaf(s[mt][n][2 * r + c], a.sl2, -fabsf(fmaf(-slope, (float)(n * 8 + c), sd0)));
                        s[mt][n][2 * r + c] = v;
                        if (c == 0) mx0 = fmaxf(mx0, v);
                        else mx1 = fmaxf(mx1, v);
                    }
                if (j0 + BC > L) { // last tile: keys past the sequence get −∞ (uniform branch)
                    mx0 = m[mt][r], mx1 = -INFINITY;
#pragma unroll
                    for (int n = 0; n < NT; n++)
#pragma unroll
                        for (int c = 0; c < 2; c++) {
                            if (j0 + n * 8 + 2 * q + c >= L) s[mt][n][2 * r + c] = -INFINITY;
                            mx0 = fmaxf(mx0, s[mt][n][2 * r + c]);
                        }
                }
                float mx = fmaxf(mx0, mx1);
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2)); // finite: every tile has a real key
                corr[mt][r] = fl_exp2(m[mt][r] - mx); // 0 on the first tile
                m[mt][r] = mx;
                float sum0 = 0.0f, sum1 = 0.0f;
#pragma unroll
                for (int n = 0; n < NT; n++)
#pragma unroll
                    for (int c = 0; c < 2; c++) {
                        float p = fl_exp2(s[mt][n][2 * r + c] - mx);
                        // the normaliser counts dropped entries too (P' = P ⊙ mask / (1 − p))
                        if (c == 0) sum0 += p;
                        else sum1 += p;
                        if constexpr (DROP) {
                            const uint64_t t = (uint64_t)h * (uint64_t)a.T + (uint64_t)(r0 + i);
                            p *= cu_drop_factor(a.seed, a.step, a.stream,
                                                t * (uint64_t)a.max_seqlen + (uint64_t)(j0 + n * 8 + 2 * q + c), a.p,
                                                a.keep);
                        }
                        s[mt][n][2 * r + c] = p;
                    }
                l[mt][r] = l[mt][r] * corr[mt][r] + (sum0 + sum1);
            }
        // O *= corr, skipped when no row of the warp has a new max (most tiles once the maxima settle)
        bool moved = false;
#pragma unroll
        for (int mt = 0; mt < MT; mt++) moved |= corr[mt][0] != 1.0f || corr[mt][1] != 1.0f;
        if (__any_sync(0xffffffffu, moved)) {
#pragma unroll
            for (int mt = 0; mt < MT; mt++)
#pragma unroll
                for (int d = 0; d < ND; d++) {
                    o[mt][d][0] *= corr[mt][0];
                    o[mt][d][1] *= corr[mt][0];
                    o[mt][d][2] *= corr[mt][1];
                    o[mt][d][3] *= corr[mt][1];
                }
        }

        // O += P'·V (P' rounded to bf16 as the A operand, straight from the S registers)
#pragma unroll
        for (int kk = 0; kk < BC / 16; kk++) {
            uint32_t pa[MT][4];
#pragma unroll
            for (int mt = 0; mt < MT; mt++) fl_to_a(pa[mt], s[mt][2 * kk], s[mt][2 * kk + 1]);
#pragma unroll
            for (int dp = 0; dp < DH / 16; dp++) {
                uint32_t vb[4]; // value rows kk·16 … +15 (k), dims dp·16 … +15: B of d-tiles 2dp, 2dp+1
                fl_ldsm_t(vb, Vb + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LDS + dp * 16 + (lane >> 4) * 8);
#pragma unroll
                for (int mt = 0; mt < MT; mt++) {
                    fl_mma(o[mt][2 * dp], pa[mt], vb[0], vb[1]);
                    fl_mma(o[mt][2 * dp + 1], pa[mt], vb[2], vb[3]);
                }
            }
        }
        __syncthreads(); // buffer buf is refilled by the prefetch of iteration kt + 1
    }

    // out = O / Σ, lse = (m + log2 Σ)·ln 2
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int r = 0; r < 2; r++) {
            float sum = l[mt][r];
            sum += __shfl_xor_sync(0xffffffffu, sum, 1);
            sum += __shfl_xor_sync(0xffffffffu, sum, 2);
            const int i = i0 + wrow + mt * 16 + g + 8 * r;
            if (i >= L) continue;
            const float inv = 1.0f / sum;
            bf16 *orow = out + (size_t)(r0 + i) * C + (size_t)h * DH + 2 * q;
#pragma unroll
            for (int d = 0; d < ND; d++)
                *reinterpret_cast<__nv_bfloat162 *>(orow + d * 8) =
                    __floats2bfloat162_rn(o[mt][d][2 * r] * inv, o[mt][d][2 * r + 1] * inv);
            if (q == 0) lse[(size_t)h * a.T + r0 + i] = (m[mt][r] + log2f(sum)) * FL_LN2;
        }
}

// ---- backward ---------------------------------------------------------------------------

// One query tile against a warp's 16·MTK keys (the dK/dV step, FlashAttention-2 backward):
//   Sᵀ = K·Qᵀ, dP'ᵀ = V·dOᵀ (16·MTK, BQ); Pᵀ = exp(Sᵀ − lse); dSᵀ = Pᵀ ⊙ (dP'ᵀ ⊙ mask/(1 − p) − D);
//   dV += P'ᵀ·dO, dK += dSᵀ·Q (dK without the 1/√dh; the caller scales once).
// Kw, Vw (16·MTK, LDS) the warp's key/value rows; Qb, dOb (BQ, LDS) the query tile (queries q0 …); lb, Db
// (BQ,) its lse·log2 e (+∞ past the sequence) and D; jw the key position of the warp's first row. Each Q/dO
// fragment read from shared memory feeds MTK products. When dSw is not null, dSᵀ (bf16, the values the dK
// product uses) is also stored there: (16·MTK, ldds), columns q0 ….
template <int DH, int BQ, int MTK, bool DROP>
__device__ __forceinline__ void fl_dkv_tile(float (&dk)[MTK][DH / 8][4], float (&dv)[MTK][DH / 8][4],
                                            const bf16 *Kw, const bf16 *Vw, const bf16 *Qb, const bf16 *dOb,
                                            const float *lb, const float *Db, int q0, int jw, float slope, int h,
                                            int r0, const fl_args &a, bf16 *dSw, int ldds = 0) {
    constexpr int LDS = DH + 8, NQ = BQ / 8;
    const int lane = threadIdx.x % 32, g = lane >> 2, q = lane & 3;
    // Sᵀ (16·MTK, BQ) = K·Qᵀ and dP'ᵀ (16·MTK, BQ) = V·dOᵀ for this warp's keys
    float st[MTK][NQ][4], dpt[MTK][NQ][4];
#pragma unroll
    for (int mt = 0; mt < MTK; mt++)
#pragma unroll
        for (int n = 0; n < NQ; n++)
#pragma unroll
            for (int e = 0; e < 4; e++) st[mt][n][e] = dpt[mt][n][e] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < DH / 16; kk++) {
        uint32_t ka[MTK][4], va[MTK][4];
#pragma unroll
        for (int mt = 0; mt < MTK; mt++) {
            fl_ldsm(ka[mt], Kw + (mt * 16 + (lane & 15)) * LDS + kk * 16 + (lane >> 4) * 8);
            fl_ldsm(va[mt], Vw + (mt * 16 + (lane & 15)) * LDS + kk * 16 + (lane >> 4) * 8);
        }
#pragma unroll
        for (int np = 0; np < NQ / 2; np++) {
            uint32_t qb[4], ob[4];
            const int off = (np * 16 + (lane & 7) + (lane >> 4) * 8) * LDS + kk * 16 + ((lane >> 3) & 1) * 8;
            fl_ldsm(qb, Qb + off);
            fl_ldsm(ob, dOb + off);
#pragma unroll
            for (int mt = 0; mt < MTK; mt++) {
                fl_mma(st[mt][2 * np], ka[mt], qb[0], qb[1]);
                fl_mma(st[mt][2 * np + 1], ka[mt], qb[2], qb[3]);
                fl_mma(dpt[mt][2 * np], va[mt], ob[0], ob[1]);
                fl_mma(dpt[mt][2 * np + 1], va[mt], ob[2], ob[3]);
            }
        }
    }

    // Pᵀ → P'ᵀ (in st), dSᵀ (in dpt); lse and D of the thread's two query columns read as pairs
    float sdb[MTK][2]; // slope·(i − j) for the thread's first column of each row
#pragma unroll
    for (int mt = 0; mt < MTK; mt++)
#pragma unroll
        for (int r = 0; r < 2; r++) sdb[mt][r] = slope * (float)(q0 + 2 * q - (jw + mt * 16 + g + 8 * r));
#pragma unroll
    for (int n = 0; n < NQ; n++) {
        const float2 l2 = *reinterpret_cast<const float2 *>(lb + n * 8 + 2 * q);
        const float2 d2 = *reinterpret_cast<const float2 *>(Db + n * 8 + 2 * q);
#pragma unroll
        for (int mt = 0; mt < MTK; mt++)
#pragma unroll
            for (int r = 0; r < 2; r++) {
                const int j = jw + mt * 16 + g + 8 * r; // key position in the sequence
#pragma unroll
                for (int c = 0; c < 2; c++) {
                    const float alibi = fabsf(fmaf(slope, (float)(n * 8 + c), sdb[mt][r])); // slope·|i − j|
                    const float p = fl_exp2(fmaf(st[mt][n][2 * r + c], a.sl2, -alibi) - (c ? l2.y : l2.x));
                    float dp = dpt[mt][n][2 * r + c], pd = p;
                    if constexpr (DROP) {
                        const uint64_t t = (uint64_t)h * (uint64_t)a.T + (uint64_t)(r0 + q0 + n * 8 + 2 * q + c);
                        const float f = cu_drop_factor(a.seed, a.step, a.stream,
                                                       t * (uint64_t)a.max_seqlen + (uint64_t)j, a.p, a.keep);
                        pd *= f;
                        dp *= f;
                    }
                    st[mt][n][2 * r + c] = pd;
                    dpt[mt][n][2 * r + c] = p * (dp - (c ? d2.y : d2.x));
                }
            }
    }
    if (dSw) {
#pragma unroll
        for (int mt = 0; mt < MTK; mt++)
#pragma unroll
            for (int r = 0; r < 2; r++)
#pragma unroll
                for (int n = 0; n < NQ; n++)
                    *reinterpret_cast<uint32_t *>(dSw + (mt * 16 + g + 8 * r) * ldds + q0 + n * 8 + 2 * q) =
                        fl_pack(dpt[mt][n][2 * r], dpt[mt][n][2 * r + 1]);
    }

    // dV += P'ᵀ·dO, dK += dSᵀ·Q (the B operands k-major in shared memory: transposed loads)
#pragma unroll
    for (int kk = 0; kk < BQ / 16; kk++) {
        uint32_t pa[MTK][4], sa[MTK][4];
#pragma unroll
        for (int mt = 0; mt < MTK; mt++) {
            fl_to_a(pa[mt], st[mt][2 * kk], st[mt][2 * kk + 1]);
            fl_to_a(sa[mt], dpt[mt][2 * kk], dpt[mt][2 * kk + 1]);
        }
#pragma unroll
        for (int dp = 0; dp < DH / 16; dp++) {
            uint32_t ob[4], qb[4];
            const int off = (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LDS + dp * 16 + (lane >> 4) * 8;
            fl_ldsm_t(ob, dOb + off);
            fl_ldsm_t(qb, Qb + off);
#pragma unroll
            for (int mt = 0; mt < MTK; mt++) {
                fl_mma(dv[mt][2 * dp], pa[mt], ob[0], ob[1]);
                fl_mma(dv[mt][2 * dp + 1], pa[mt], ob[2], ob[3]);
                fl_mma(dk[mt][2 * dp], sa[mt], qb[0], qb[1]);
                fl_mma(dk[mt][2 * dp + 1], sa[mt], qb[2], qb[3]);
            }
        }
    }
}

// Pass 2: dK, dV for BKV = 64·MTK keys per block (16·MTK per warp), query tiles of BQ in order.
// dqkv (T,3C) bf16 +=; dout (T,C) bf16; lse, D (nh,T) f32 (D from pass 1); qkv (T,3C) bf16.
template <int DH, int MTK, int BQ, int MINB, bool DROP>
__global__ void __launch_bounds__(FL_THREADS, DROP ? 2 : MINB)
    flash_bwd_dkv_kernel(bf16 *dqkv, const bf16 *dout, const float *lse, const float *D, const bf16 *qkv,
                         const fl_args a) {
    constexpr int BKV = 64 * MTK, LDS = DH + 8, ND = DH / 8;
    extern __shared__ __align__(16) unsigned char fl_smem[];
    bf16 *Ks = reinterpret_cast<bf16 *>(fl_smem); // (BKV, LDS) this block's keys
    bf16 *Vs = Ks + BKV * LDS;                     // (BKV, LDS) its values
    bf16 *Qs = Vs + BKV * LDS;                     // (2, BQ, LDS) query tiles
    bf16 *dOs = Qs + 2 * BQ * LDS;                 // (2, BQ, LDS) dout tiles
    float *ls = reinterpret_cast<float *>(dOs + 2 * BQ * LDS); // (2, BQ) lse·log2 e (+∞ past the sequence)
    float *Ds = ls + 2 * BQ;                                   // (2, BQ) D
    const int h = blockIdx.y, b = blockIdx.z, j0 = blockIdx.x * BKV;
    const int r0 = a.cu[b], L = a.cu[b + 1] - r0;
    if (L > a.max_seqlen) __trap(); // a caller bug (the grid covers max_seqlen): fail loudly
    if (j0 >= L) return;
    const int C = a.nh * DH;
    const size_t ld = 3 * (size_t)C;
    const bf16 *Q = qkv + (size_t)r0 * ld + (size_t)h * DH, *K = Q + C, *V = Q + 2 * C;
    const bf16 *dO = dout + (size_t)r0 * C + (size_t)h * DH;
    const float *lseh = lse + (size_t)h * a.T + r0, *Dh = D + (size_t)h * a.T + r0; // (L,) this head and sequence
    const int ntile = (L + BQ - 1) / BQ;

    fl_load_tile<DH, BKV>(Ks, K + (size_t)j0 * ld, ld, L - j0);
    fl_load_tile<DH, BKV>(Vs, V + (size_t)j0 * ld, ld, L - j0);
    fl_load_tile<DH, BQ>(Qs, Q, ld, L);
    fl_load_tile<DH, BQ>(dOs, dO, C, L);
    fl_commit();
    for (int r = threadIdx.x; r < BQ; r += FL_THREADS) {
        ls[r] = r < L ? lseh[r] * FL_LOG2E : INFINITY;
        Ds[r] = r < L ? Dh[r] : 0.0f;
    }

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane >> 2, q = lane & 3;
    const int krow = warp * 16 * MTK; // first key row of this warp in the block
    const float slope = fl_slope(a, h);
    float dk[MTK][ND][4], dv[MTK][ND][4]; // (16·MTK, DH) each: this warp's rows of dK/scale and dV
#pragma unroll
    for (int mt = 0; mt < MTK; mt++)
#pragma unroll
        for (int d = 0; d < ND; d++)
#pragma unroll
            for (int e = 0; e < 4; e++) dk[mt][d][e] = dv[mt][d][e] = 0.0f;

    for (int qt = 0; qt < ntile; qt++) {
        const int buf = qt & 1, q0 = qt * BQ;
        if (qt + 1 < ntile) {
            const int qn = q0 + BQ, nb = buf ^ 1;
            fl_load_tile<DH, BQ>(Qs + nb * BQ * LDS, Q + (size_t)qn * ld, ld, L - qn);
            fl_load_tile<DH, BQ>(dOs + nb * BQ * LDS, dO + (size_t)qn * C, C, L - qn);
            for (int r = threadIdx.x; r < BQ; r += FL_THREADS) {
                ls[nb * BQ + r] = qn + r < L ? lseh[qn + r] * FL_LOG2E : INFINITY;
                Ds[nb * BQ + r] = qn + r < L ? Dh[qn + r] : 0.0f;
            }
        }
        fl_commit();
        fl_wait<1>();
        __syncthreads();
        const bf16 *Qb = Qs + buf * BQ * LDS, *dOb = dOs + buf * BQ * LDS;
        const float *lb = ls + buf * BQ, *Db = Ds + buf * BQ;

        fl_dkv_tile<DH, BQ, MTK, DROP>(dk, dv, Ks + krow * LDS, Vs + krow * LDS, Qb, dOb, lb, Db, q0, j0 + krow, slope,
                                       h, r0, a, nullptr);
        __syncthreads();
    }

#pragma unroll
    for (int mt = 0; mt < MTK; mt++)
#pragma unroll
        for (int r = 0; r < 2; r++) {
            const int j = j0 + krow + mt * 16 + g + 8 * r;
            if (j >= L) continue;
            bf16 *grow = dqkv + (size_t)(r0 + j) * ld + (size_t)h * DH + 2 * q;
#pragma unroll
            for (int d = 0; d < ND; d++) {
                fl_add2(grow + C + d * 8, a.scale * dk[mt][d][2 * r], a.scale * dk[mt][d][2 * r + 1]);
                fl_add2(grow + 2 * C + d * 8, dv[mt][d][2 * r], dv[mt][d][2 * r + 1]);
            }
        }
}

// Pass 1: dQ for 64 queries per block (16 per warp), key tiles of BK in order. Also computes
// D_i = dout_i·out_i for its rows and saves it (nh,T) for pass 2.
template <int DH, int BK, int MINB, bool DROP>
__global__ void __launch_bounds__(FL_THREADS, DROP ? 2 : MINB)
    flash_bwd_dq_kernel(bf16 *dqkv, float *D, const bf16 *dout, const bf16 *out, const float *lse, const bf16 *qkv,
                        const fl_args a) {
    constexpr int BR = 64, LDS = DH + 8, NK = BK / 8, ND = DH / 8;
    extern __shared__ __align__(16) unsigned char fl_smem[];
    bf16 *Qs = reinterpret_cast<bf16 *>(fl_smem); // (BR, LDS) this block's queries
    bf16 *dOs = Qs + BR * LDS;                     // (BR, LDS) their dout rows
    bf16 *Ks = dOs + BR * LDS;                     // (2, BK, LDS) key tiles
    bf16 *Vs = Ks + 2 * BK * LDS;                  // (2, BK, LDS) value tiles
    float *Dsm = reinterpret_cast<float *>(Vs + 2 * BK * LDS); // (BR,) D of the block's rows
    const int h = blockIdx.y, b = blockIdx.z, i0 = blockIdx.x * BR;
    const int r0 = a.cu[b], L = a.cu[b + 1] - r0;
    if (L > a.max_seqlen) __trap(); // a caller bug (the grid covers max_seqlen): fail loudly
    if (i0 >= L) return;
    const int C = a.nh * DH;
    const size_t ld = 3 * (size_t)C;
    const bf16 *Q = qkv + (size_t)r0 * ld + (size_t)h * DH, *K = Q + C, *V = Q + 2 * C;
    const bf16 *dO = dout + (size_t)r0 * C + (size_t)h * DH;
    const int ntile = (L + BK - 1) / BK;

    fl_load_tile<DH, BR>(Qs, Q + (size_t)i0 * ld, ld, L - i0);
    fl_load_tile<DH, BR>(dOs, dO + (size_t)i0 * C, C, L - i0);
    fl_load_tile<DH, BK>(Ks, K, ld, L);
    fl_load_tile<DH, BK>(Vs, V, ld, L);
    fl_commit();

    // D of the block's rows while the tiles load (saved for pass 2)
    fl_rows_dot<DH, FL_THREADS>(Dsm, D + (size_t)h * a.T + r0, dout + (size_t)r0 * C + (size_t)h * DH,
                                out + (size_t)r0 * C + (size_t)h * DH, i0, L, C);
    __syncthreads();

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane >> 2, q = lane & 3;
    const int wrow = warp * 16;
    const float slope = fl_slope(a, h);
    float l2[2], Di[2]; // lse·log2 e and D of the thread's two rows (+∞ / 0 past the sequence)
#pragma unroll
    for (int r = 0; r < 2; r++) {
        const int i = i0 + wrow + g + 8 * r;
        l2[r] = i < L ? lse[(size_t)h * a.T + r0 + i] * FL_LOG2E : INFINITY;
        Di[r] = Dsm[wrow + g + 8 * r];
    }
    float dq[ND][4]; // (16, DH) this warp's rows of dQ/scale
#pragma unroll
    for (int d = 0; d < ND; d++) dq[d][0] = dq[d][1] = dq[d][2] = dq[d][3] = 0.0f;

    for (int kt = 0; kt < ntile; kt++) {
        const int buf = kt & 1, j0 = kt * BK;
        if (kt + 1 < ntile) {
            const int jn = j0 + BK;
            fl_load_tile<DH, BK>(Ks + (buf ^ 1) * BK * LDS, K + (size_t)jn * ld, ld, L - jn);
            fl_load_tile<DH, BK>(Vs + (buf ^ 1) * BK * LDS, V + (size_t)jn * ld, ld, L - jn);
        }
        fl_commit();
        fl_wait<1>();
        __syncthreads();
        const bf16 *Kb = Ks + buf * BK * LDS, *Vb = Vs + buf * BK * LDS;

        // S (16, BK) = Q·Kᵀ, dP' (16, BK) = dO·Vᵀ
        float s[NK][4], dp[NK][4];
#pragma unroll
        for (int n = 0; n < NK; n++)
#pragma unroll
            for (int e = 0; e < 4; e++) s[n][e] = dp[n][e] = 0.0f;
#pragma unroll
        for (int kk = 0; kk < DH / 16; kk++) {
            uint32_t qa[4], oa[4];
            fl_ldsm(qa, Qs + (wrow + (lane & 15)) * LDS + kk * 16 + (lane >> 4) * 8);
            fl_ldsm(oa, dOs + (wrow + (lane & 15)) * LDS + kk * 16 + (lane >> 4) * 8);
#pragma unroll
            for (int np = 0; np < NK / 2; np++) {
                uint32_t kb[4], vb[4];
                const int off = (np * 16 + (lane & 7) + (lane >> 4) * 8) * LDS + kk * 16 + ((lane >> 3) & 1) * 8;
                fl_ldsm(kb, Kb + off);
                fl_ldsm(vb, Vb + off);
                fl_mma(s[2 * np], qa, kb[0], kb[1]);
                fl_mma(s[2 * np + 1], qa, kb[2], kb[3]);
                fl_mma(dp[2 * np], oa, vb[0], vb[1]);
                fl_mma(dp[2 * np + 1], oa, vb[2], vb[3]);
            }
        }

        // dS = P ⊙ (dP'·mask/(1 − p) − D) into s; keys past the sequence give 0
        const bool tail = j0 + BK > L;
#pragma unroll
        for (int r = 0; r < 2; r++) {
            const int i = i0 + wrow + g + 8 * r;
            const float sd0 = slope * (float)(i - j0 - 2 * q); // slope·(i − j) for the thread's first column
#pragma unroll
            for (int n = 0; n < NK; n++)
#pragma unroll
                for (int c = 0; c < 2; c++) {
                    const int j = j0 + n * 8 + 2 * q + c;
                    const float alibi = fabsf(fmaf(-slope, (float)(n * 8 + c), sd0)); // slope·|i − j|
                    float p = fl_exp2(fmaf(s[n][2 * r + c], a.sl2, -alibi) - l2[r]);
                    if (tail && j >= L) p = 0.0f;
                    float d = dp[n][2 * r + c];
                    if constexpr (DROP) {
                        const uint64_t t = (uint64_t)h * (uint64_t)a.T + (uint64_t)(r0 + i);
                        d *= cu_drop_factor(a.seed, a.step, a.stream, t * (uint64_t)a.max_seqlen + (uint64_t)j, a.p,
                                            a.keep);
                    }
                    s[n][2 * r + c] = p * (d - Di[r]);
                }
        }

        // dQ += dS·K (K k-major in shared memory: transposed loads)
#pragma unroll
        for (int kk = 0; kk < BK / 16; kk++) {
            uint32_t sa[4];
            fl_to_a(sa, s[2 * kk], s[2 * kk + 1]);
#pragma unroll
            for (int dd = 0; dd < DH / 16; dd++) {
                uint32_t kb[4];
                fl_ldsm_t(kb, Kb + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LDS + dd * 16 + (lane >> 4) * 8);
                fl_mma(dq[2 * dd], sa, kb[0], kb[1]);
                fl_mma(dq[2 * dd + 1], sa, kb[2], kb[3]);
            }
        }
        __syncthreads();
    }

#pragma unroll
    for (int r = 0; r < 2; r++) {
        const int i = i0 + wrow + g + 8 * r;
        if (i >= L) continue;
        bf16 *grow = dqkv + (size_t)(r0 + i) * ld + (size_t)h * DH + 2 * q;
#pragma unroll
        for (int d = 0; d < ND; d++) fl_add2(grow + d * 8, a.scale * dq[d][2 * r], a.scale * dq[d][2 * r + 1]);
    }
}

// Short sequences (max_seqlen ≤ 128, the MosaicBERT pre-training shape): the whole backward of one
// (sequence, head) in one block of 8 warps. Each warp owns 16 keys and runs the dK/dV step over the
// query tiles, leaving dSᵀ (128 × 128 bf16) in shared memory; then each warp owns 16 queries and
// computes dQ = dS·K from it. 5 products instead of the two passes' 7, one launch, and still no
// sum across blocks (one block holds the whole sequence).
template <int DH, int BQ, int MINB, bool DROP>
__global__ void __launch_bounds__(256, DROP ? 1 : MINB)
    flash_bwd_short_kernel(bf16 *dqkv, const bf16 *dout, const bf16 *out, const float *lse, const bf16 *qkv,
                           const fl_args a) {
    constexpr int NTHR = 256, BL = 128, LDS = DH + 8, LDD = BL + 8, ND = DH / 8;
    extern __shared__ __align__(16) unsigned char fl_smem[];
    bf16 *Ks = reinterpret_cast<bf16 *>(fl_smem); // (BL, LDS) the sequence's keys
    bf16 *Vs = Ks + BL * LDS;                      // (BL, LDS) values
    bf16 *Qs = Vs + BL * LDS;                      // (BL, LDS) queries
    bf16 *dOs = Qs + BL * LDS;                     // (BL, LDS) dout rows
    bf16 *dSs = dOs + BL * LDS;                    // (BL, LDD) dSᵀ: row = key, column = query
    float *ls = reinterpret_cast<float *>(dSs + BL * LDD); // (BL,) lse·log2 e, +∞ past the sequence
    float *Ds = ls + BL;                                   // (BL,) D
    const int h = blockIdx.y, b = blockIdx.z;
    const int r0 = a.cu[b], L = a.cu[b + 1] - r0;
    if (L > a.max_seqlen) __trap(); // a caller bug (the grid covers max_seqlen): fail loudly
    if (L <= 0) return;
    const int C = a.nh * DH;
    const size_t ld = 3 * (size_t)C;
    const bf16 *Q = qkv + (size_t)r0 * ld + (size_t)h * DH, *K = Q + C, *V = Q + 2 * C;
    const bf16 *dO = dout + (size_t)r0 * C + (size_t)h * DH;
    fl_load_tile<DH, BL, NTHR>(Ks, K, ld, L);
    fl_load_tile<DH, BL, NTHR>(Vs, V, ld, L);
    fl_load_tile<DH, BL, NTHR>(Qs, Q, ld, L);
    fl_load_tile<DH, BL, NTHR>(dOs, dO, C, L);
    fl_commit();
    fl_rows_dot<DH, NTHR>(Ds, nullptr, dO, out + (size_t)r0 * C + (size_t)h * DH, 0, L, C);
    if (threadIdx.x < BL) {
        const int i = threadIdx.x;
        ls[i] = i < L ? lse[(size_t)h * a.T + r0 + i] * FL_LOG2E : INFINITY;
    }
    fl_wait<0>();
    __syncthreads();

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane >> 2, q = lane & 3;
    const int w16 = warp * 16; // the warp's first key (phase 1) and first query (phase 2)
    const float slope = fl_slope(a, h);
    if (w16 < L) { // warp-uniform; warps past the sequence only take part in the barrier
        float dk[1][ND][4], dv[1][ND][4]; // (16, DH) each: the warp's rows of dK/scale and dV
#pragma unroll
        for (int d = 0; d < ND; d++)
#pragma unroll
            for (int e = 0; e < 4; e++) dk[0][d][e] = dv[0][d][e] = 0.0f;
        for (int q0 = 0; q0 < L; q0 += BQ)
            fl_dkv_tile<DH, BQ, 1, DROP>(dk, dv, Ks + w16 * LDS, Vs + w16 * LDS, Qs + q0 * LDS, dOs + q0 * LDS, ls + q0,
                                      Ds + q0, q0, w16, slope, h, r0, a, dSs + w16 * LDD, LDD);
#pragma unroll
        for (int r = 0; r < 2; r++) {
            const int j = w16 + g + 8 * r;
            if (j >= L) continue;
            bf16 *grow = dqkv + (size_t)(r0 + j) * ld + (size_t)h * DH + 2 * q;
#pragma unroll
            for (int d = 0; d < ND; d++) {
                fl_add2(grow + C + d * 8, a.scale * dk[0][d][2 * r], a.scale * dk[0][d][2 * r + 1]);
                fl_add2(grow + 2 * C + d * 8, dv[0][d][2 * r], dv[0][d][2 * r + 1]);
            }
        }
    }
    __syncthreads(); // dSᵀ complete
    if (w16 >= L) return;

    // dQ (16, DH) = dS·K for the warp's queries: A = dS read transposed out of dSᵀ, B = K k-major (transposed)
    float dq[ND][4];
#pragma unroll
    for (int d = 0; d < ND; d++) dq[d][0] = dq[d][1] = dq[d][2] = dq[d][3] = 0.0f;
    const int nk = (L + 15) / 16; // key blocks that hold a key of the sequence (rows past L of K are zero)
    for (int kk = 0; kk < nk; kk++) {
        uint32_t sa[4];
        fl_ldsm_t(sa, dSs + (kk * 16 + (lane & 7) + ((lane >> 4) & 1) * 8) * LDD + w16 + ((lane >> 3) & 1) * 8);
#pragma unroll
        for (int dd = 0; dd < DH / 16; dd++) {
            uint32_t kb[4];
            fl_ldsm_t(kb, Ks + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LDS + dd * 16 + (lane >> 4) * 8);
            fl_mma(dq[2 * dd], sa, kb[0], kb[1]);
            fl_mma(dq[2 * dd + 1], sa, kb[2], kb[3]);
        }
    }
#pragma unroll
    for (int r = 0; r < 2; r++) {
        const int i = w16 + g + 8 * r;
        if (i >= L) continue;
        bf16 *grow = dqkv + (size_t)(r0 + i) * ld + (size_t)h * DH + 2 * q;
#pragma unroll
        for (int d = 0; d < ND; d++) fl_add2(grow + d * 8, a.scale * dq[d][2 * r], a.scale * dq[d][2 * r + 1]);
    }
}

// ---- host side ----------------------------------------------------------------------------

// The argument block; 0 when there is nothing to do. Aborts on shapes the kernels do not cover.
static int fl_setup(fl_args *a, const int32_t *cu, int B, int T, int max_seqlen, int nh, int dh, const float *slopes,
                    float p_drop, rng_key key) {
    if (B <= 0 || T <= 0 || max_seqlen <= 0 || nh <= 0) return 0;
    if (dh != 32 && dh != 64 && dh != 128) {
        fprintf(stderr, "cuda flash attention: head dim %d is not supported (32, 64 or 128)\n", dh);
        abort();
    }
    if (slopes && nh > FL_MAXH) {
        fprintf(stderr, "cuda flash attention: ALiBi with %d heads, at most %d supported\n", nh, FL_MAXH);
        abort();
    }
    memset(a, 0, sizeof *a);
    a->cu = cu;
    a->T = T;
    a->max_seqlen = max_seqlen;
    a->nh = nh;
    a->scale = 1.0f / sqrtf((float)dh);
    a->sl2 = a->scale * FL_LOG2E;
    a->p = p_drop > 0.0f ? p_drop : 0.0f;
    a->keep = p_drop < 1.0f ? 1.0f / (1.0f - p_drop) : 0.0f;
    a->seed = key.seed;
    a->step = key.step;
    a->stream = key.stream;
    if (slopes)
        for (int h = 0; h < nh; h++) a->alibi2[h] = slopes[h] * FL_LOG2E;
    return 1;
}

// Raises a kernel's dynamic shared-memory limit once (above 48 KB it must be asked for).
template <typename Kern> static void fl_smem_limit(Kern kernel, size_t bytes, bool *done) {
    if (*done) return;
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes));
    *done = true;
}

template <int DH, int MT, int BC, int MINB, bool DROP>
static void fl_fwd_launch(bf16 *out, float *lse, const bf16 *qkv, int B, int max_seqlen, const fl_args &a) {
    constexpr int BR = 64 * MT;
    const size_t smem = sizeof(bf16) * (size_t)(BR + 4 * BC) * (DH + 8);
    static bool done;
    fl_smem_limit(flash_fwd_kernel<DH, MT, BC, MINB, DROP>, smem, &done);
    dim3 grid((unsigned)((max_seqlen + BR - 1) / BR), (unsigned)a.nh, (unsigned)B);
    flash_fwd_kernel<DH, MT, BC, MINB, DROP><<<grid, FL_THREADS, smem>>>(out, lse, qkv, a);
    CUDA_LAUNCHED();
}

// Pass 1 (dQ, D) then pass 2 (dK, dV, reading D).
template <int DH, int MTK, int BQ, int BK, int MINB_KV, int MINB_Q, bool DROP>
static void fl_bwd_launch(bf16 *dqkv, float *D, const bf16 *dout, const bf16 *out, const float *lse, const bf16 *qkv,
                          int B, int max_seqlen, const fl_args &a) {
    constexpr int BKV = 64 * MTK;
    const size_t smem_q = sizeof(bf16) * (size_t)(2 * 64 + 4 * BK) * (DH + 8) + sizeof(float) * 64;
    const size_t smem_kv = sizeof(bf16) * (size_t)(2 * BKV + 4 * BQ) * (DH + 8) + sizeof(float) * 4 * BQ;
    static bool done_q, done_kv;
    fl_smem_limit(flash_bwd_dq_kernel<DH, BK, MINB_Q, DROP>, smem_q, &done_q);
    fl_smem_limit(flash_bwd_dkv_kernel<DH, MTK, BQ, MINB_KV, DROP>, smem_kv, &done_kv);
    dim3 gq((unsigned)((max_seqlen + 63) / 64), (unsigned)a.nh, (unsigned)B);
    dim3 gkv((unsigned)((max_seqlen + BKV - 1) / BKV), (unsigned)a.nh, (unsigned)B);
    flash_bwd_dq_kernel<DH, BK, MINB_Q, DROP><<<gq, FL_THREADS, smem_q>>>(dqkv, D, dout, out, lse, qkv, a);
    CUDA_LAUNCHED();
    flash_bwd_dkv_kernel<DH, MTK, BQ, MINB_KV, DROP><<<gkv, FL_THREADS, smem_kv>>>(dqkv, dout, lse, D, qkv, a);
    CUDA_LAUNCHED();
}

template <int DH, int BQ, int MINB, bool DROP>
static void fl_bwd_short_launch(bf16 *dqkv, const bf16 *dout, const bf16 *out, const float *lse, const bf16 *qkv,
                                int B, const fl_args &a) {
    const size_t smem = sizeof(bf16) * (size_t)128 * (4 * (DH + 8) + 136) + sizeof(float) * 2 * 128;
    static bool done;
    fl_smem_limit(flash_bwd_short_kernel<DH, BQ, MINB, DROP>, smem, &done);
    flash_bwd_short_kernel<DH, BQ, MINB, DROP><<<dim3(1, (unsigned)a.nh, (unsigned)B), 256, smem>>>(dqkv, dout, out,
                                                                                                   lse, qkv, a);
    CUDA_LAUNCHED();
}

// D scratch (nh·T floats), grown only when a call needs more (one device, one host thread).
static float *fl_D;
static size_t fl_D_cap;

static float *fl_scratch(size_t n) {
    if (n > fl_D_cap) {
        if (fl_D) CUDA_CHECK(cudaFree(fl_D));
        CUDA_CHECK(cudaMalloc(&fl_D, sizeof(float) * n));
        fl_D_cap = n;
    }
    return fl_D;
}

extern "C" void cu_flash_fwd(void *out, float *lse, const void *qkv, const int32_t *cu_seqlens, int B, int T,
                             int max_seqlen, int nh, int dh, const float *slopes, float p_drop, rng_key key) {
    fl_args a;
    if (!fl_setup(&a, cu_seqlens, B, T, max_seqlen, nh, dh, slopes, p_drop, key)) return;
    bf16 *o = (bf16 *)out;
    const bf16 *x = (const bf16 *)qkv;
    const bool drop = a.p > 0.0f;
    if (dh == 32) drop ? fl_fwd_launch<32, FL_FWD32, true>(o, lse, x, B, max_seqlen, a)
                       : fl_fwd_launch<32, FL_FWD32, false>(o, lse, x, B, max_seqlen, a);
    else if (dh == 64) drop ? fl_fwd_launch<64, FL_FWD64, true>(o, lse, x, B, max_seqlen, a)
                            : fl_fwd_launch<64, FL_FWD64, false>(o, lse, x, B, max_seqlen, a);
    else drop ? fl_fwd_launch<128, FL_FWD128, true>(o, lse, x, B, max_seqlen, a)
              : fl_fwd_launch<128, FL_FWD128, false>(o, lse, x, B, max_seqlen, a);
}

extern "C" void cu_flash_bwd(void *dqkv, const void *dout, const void *out, const float *lse, const void *qkv,
                             const int32_t *cu_seqlens, int B, int T, int max_seqlen, int nh, int dh,
                             const float *slopes, float p_drop, rng_key key) {
    fl_args a;
    if (!fl_setup(&a, cu_seqlens, B, T, max_seqlen, nh, dh, slopes, p_drop, key)) return;
    bf16 *g = (bf16 *)dqkv;
    const bf16 *dO = (const bf16 *)dout, *O = (const bf16 *)out, *x = (const bf16 *)qkv;
    const bool drop = a.p > 0.0f;
    if (FL_SHORT && max_seqlen <= 128) {
        if (dh == 32) drop ? fl_bwd_short_launch<32, FL_SHORT32, true>(g, dO, O, lse, x, B, a)
                           : fl_bwd_short_launch<32, FL_SHORT32, false>(g, dO, O, lse, x, B, a);
        else if (dh == 64) drop ? fl_bwd_short_launch<64, FL_SHORT64, true>(g, dO, O, lse, x, B, a)
                                : fl_bwd_short_launch<64, FL_SHORT64, false>(g, dO, O, lse, x, B, a);
        else drop ? fl_bwd_short_launch<128, FL_SHORT128, true>(g, dO, O, lse, x, B, a)
                  : fl_bwd_short_launch<128, FL_SHORT128, false>(g, dO, O, lse, x, B, a);
        return;
    }
    float *D = fl_scratch((size_t)nh * (size_t)T); // (nh, T)
    if (dh == 32) drop ? fl_bwd_launch<32, FL_BWD32, true>(g, D, dO, O, lse, x, B, max_seqlen, a)
                       : fl_bwd_launch<32, FL_BWD32, false>(g, D, dO, O, lse, x, B, max_seqlen, a);
    else if (dh == 64) drop ? fl_bwd_launch<64, FL_BWD64, true>(g, D, dO, O, lse, x, B, max_seqlen, a)
                            : fl_bwd_launch<64, FL_BWD64, false>(g, D, dO, O, lse, x, B, max_seqlen, a);
    else drop ? fl_bwd_launch<128, FL_BWD128, true>(g, D, dO, O, lse, x, B, max_seqlen, a)
              : fl_bwd_launch<128, FL_BWD128, false>(g, D, dO, O, lse, x, B, max_seqlen, a);
}
