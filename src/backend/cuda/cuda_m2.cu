// cuda_m2.cu — the M2-BERT (Monarch Mixer) ops of both CUDA tables (ops.h "M2" section;
// src/backend/cpu/cpu_m2.c is the reference): the causal short convolution, strided products,
// the bidirectional long convolution through cuFFT, and the Hyena filter's sine and modulation.
// The block-diagonal linear is a strided dense GEMM per block (cuda_dense.cu).
//
// Long convolutions: every (row b, channel c) is a real signal of L samples, zero padded to
// N = m2_fft_size(L) ≥ 2L (so the circular product is the linear convolution), transformed R2C
// in place (signal rows of 2H reals hold H = N/2 + 1 complex bins), multiplied by the kernel's
// spectrum and transformed back. The fp32 table transforms in double, as the CPU does (its
// results stay within 1e-5 of the CPU's); the bf16 table in float (its bf16 activations round
// far more than that). A cuFFT plan gives the same bits every run, and every sum over rows
// below runs in an order fixed by the shapes.
#include <cufft.h>

#include "cuda_common.h"

#if CU_BF16
typedef float fft_real;
typedef cufftComplex fft_cplx;
#else
typedef double fft_real;
typedef cufftDoubleComplex fft_cplx;
#endif

#define CUFFT_CHECK(call)                                                                             \
    do {                                                                                              \
        cufftResult r_ = (call);                                                                      \
        if (r_ != CUFFT_SUCCESS) {                                                                    \
            fprintf(stderr, "%s:%d: cuFFT error %d (%s)\n", __FILE__, __LINE__, (int)r_, #call);      \
            abort();                                                                                  \
        }                                                                                             \
    } while (0)

#define TILE 32 // transposes between token-major (T, C) tensors and signal rows go through TILE² tiles

// ---- cuFFT plans ------------------------------------------------------------------------------
// Batched in-place transforms of `rows` signals of length n, cached per (n, rows, direction);
// their work areas share one scratch slot (set before each use, as the slot may have moved).

typedef struct {
    long long n, rows;
    int inverse;
    cufftHandle h;
    size_t ws;
} fft_plan;

#define FFT_MAX_PLANS 32
static fft_plan fft_plans[FFT_MAX_PLANS];
static int fft_nplans;

static void fft_run(fft_cplx *buf, int n, int rows, int inverse) {
    fft_plan *p = NULL;
    for (int i = 0; i < fft_nplans && !p; i++)
        if (fft_plans[i].n == n && fft_plans[i].rows == rows && fft_plans[i].inverse == inverse) p = &fft_plans[i];
    if (!p) {
        if (fft_nplans == FFT_MAX_PLANS) { // the shapes keep changing: start the cache over
            CUDA_CHECK(cudaStreamSynchronize(cudaStreamPerThread));
            for (int i = 0; i < fft_nplans; i++) CUFFT_CHECK(cufftDestroy(fft_plans[i].h));
            fft_nplans = 0;
        }
        p = &fft_plans[fft_nplans++];
        p->n = n;
        p->rows = rows;
        p->inverse = inverse;
        long long H = n / 2 + 1, len[1] = {n}, real_rows[1] = {2 * H}, cplx_rows[1] = {H}; // 64-bit sizes: rows·2H may pass 2³¹
        CUFFT_CHECK(cufftCreate(&p->h));
        CUFFT_CHECK(cufftSetAutoAllocation(p->h, 0));
#if CU_BF16
        cufftType fwd = CUFFT_R2C, inv = CUFFT_C2R;
#else
        cufftType fwd = CUFFT_D2Z, inv = CUFFT_Z2D;
#endif
        if (!inverse)
            CUFFT_CHECK(cufftMakePlanMany64(p->h, 1, len, real_rows, 1, 2 * H, cplx_rows, 1, H, fwd, rows, &p->ws));
        else
            CUFFT_CHECK(cufftMakePlanMany64(p->h, 1, len, cplx_rows, 1, H, real_rows, 1, 2 * H, inv, rows, &p->ws));
        CUFFT_CHECK(cufftSetStream(p->h, cudaStreamPerThread));
    }
    CUFFT_CHECK(cufftSetWorkArea(p->h, cu_scratch(SCRATCH_FFT_WS, p->ws ? p->ws : 1)));
#if CU_BF16
    if (!inverse) CUFFT_CHECK(cufftExecR2C(p->h, (cufftReal *)buf, buf));
    else CUFFT_CHECK(cufftExecC2R(p->h, buf, (cufftReal *)buf));
#else
    if (!inverse) CUFFT_CHECK(cufftExecD2Z(p->h, (cufftDoubleReal *)buf, buf));
    else CUFFT_CHECK(cufftExecZ2D(p->h, buf, (cufftDoubleReal *)buf));
#endif
}

// ---- signal rows ↔ token-major tensors ---------------------------------------------------------

// X (B·C rows of ldx reals): row b·C + c = u[b, 0…L−1, c], zeros from L to N−1.
// grid (N/TILE, C/TILE, B), block (TILE, 8).
static __global__ void rows_load_kernel(fft_real *X, const act_t *u, int L, int N, int C, int ldx) {
    __shared__ fft_real tile[TILE][TILE + 1];
    int n0 = blockIdx.x * TILE, c0 = blockIdx.y * TILE, b = blockIdx.z;
    for (int i = threadIdx.y; i < TILE; i += blockDim.y) { // read along channels
        int n = n0 + i, c = c0 + threadIdx.x;
        tile[i][threadIdx.x] = n < L && c < C ? (fft_real)act_ld(u[((size_t)b * L + n) * C + c]) : (fft_real)0;
    }
    __syncthreads();
    for (int i = threadIdx.y; i < TILE; i += blockDim.y) { // write along positions
        int c = c0 + i, n = n0 + threadIdx.x;
        if (c < C && n < N) X[((size_t)b * C + c) * ldx + n] = tile[threadIdx.x][i];
    }
}

// y[b, n, c] (=, or += when accumulate) = X[b·C + c][n]·inv + D[c]·u[b, n, c] for n < L,
// the sum in fft_real, rounded to float once (then added, as the CPU does).
static __global__ void rows_store_kernel(act_t *y, const fft_real *X, const act_t *u, const float *D, int L, int C,
                                         int ldx, fft_real inv, int accumulate) {
    __shared__ fft_real tile[TILE][TILE + 1];
    int n0 = blockIdx.x * TILE, c0 = blockIdx.y * TILE, b = blockIdx.z;
    for (int i = threadIdx.y; i < TILE; i += blockDim.y) { // read along positions
        int c = c0 + i, n = n0 + threadIdx.x;
        tile[i][threadIdx.x] = c < C && n < L ? X[((size_t)b * C + c) * ldx + n] : (fft_real)0;
    }
    __syncthreads();
    for (int i = threadIdx.y; i < TILE; i += blockDim.y) { // write along channels
        int n = n0 + i, c = c0 + threadIdx.x;
        if (n >= L || c >= C) continue;
        size_t at = ((size_t)b * L + n) * C + c;
        float v = (float)(tile[threadIdx.x][i] * inv + (fft_real)D[c] * (fft_real)act_ld(u[at]));
        y[at] = act_st(accumulate ? act_ld(y[at]) + v : v);
    }
}

// The spectra of u (B rows of L tokens, C channels) into X (B·C signal rows of H bins).
static void spectra_of(fft_cplx *X, const act_t *u, int B, int L, int C) {
    int N = m2_fft_size(L), H = N / 2 + 1;
    dim3 grid((unsigned)((N + TILE - 1) / TILE), (unsigned)((C + TILE - 1) / TILE), (unsigned)B), block(TILE, 8);
    rows_load_kernel<<<grid, block>>>((fft_real *)X, u, L, N, C, 2 * H);
    CUDA_LAUNCHED();
    fft_run(X, N, B * C, 0);
}

// X[row][k] ·= kspec[c][k] (conj: its conjugate), c = row mod C; rows·H bins.
static __global__ void spectrum_mul_kernel(fft_cplx *X, const float *kspec, int C, int H, size_t n, int conj) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    size_t row = i / (size_t)H, k = i % (size_t)H, c = row % (size_t)C;
    fft_real kr = kspec[(c * H + k) * 2], ki = kspec[(c * H + k) * 2 + 1];
    if (conj) ki = -ki;
    fft_cplx x = X[i];
    X[i].x = x.x * kr - x.y * ki;
    X[i].y = x.x * ki + x.y * kr;
}

// y (=, or +=) IFFT(X · K') + D·u with K' = K or conj K; X is overwritten.
static void spectra_apply(act_t *y, fft_cplx *X, const act_t *u, const float *kspec, const float *D, int B, int L, int C,
                          int conj, int accumulate) {
    int N = m2_fft_size(L), H = N / 2 + 1;
    size_t n = (size_t)B * C * H;
    spectrum_mul_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>(X, kspec, C, H, n, conj);
    CUDA_LAUNCHED();
    fft_run(X, N, B * C, 1);
    dim3 grid((unsigned)((L + TILE - 1) / TILE), (unsigned)((C + TILE - 1) / TILE), (unsigned)B), block(TILE, 8);
    rows_store_kernel<<<grid, block>>>(y, (const fft_real *)X, u, D, L, C, 2 * H, (fft_real)1 / (fft_real)N,
                                       accumulate);
    CUDA_LAUNCHED();
}

static fft_cplx *fft_buffer(int slot, int rows, int L) {
    return (fft_cplx *)cu_scratch(slot, sizeof(fft_cplx) * (size_t)rows * (size_t)(m2_fft_size(L) / 2 + 1));
}

// ---- the long convolution ----------------------------------------------------------------------

// Signal row c of the 2L kernel (§2.4): kf at 0…L−1, kr[i] at N−1−i (i < L−1), zeros between.
static __global__ void kernel_rows_kernel(fft_real *X, const float *kf, const float *kr, int L, int N, int C, int ldx) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)C * N) return;
    int c = (int)(i / (size_t)N), m = (int)(i % (size_t)N);
    fft_real v = 0;
    if (m < L) v = kf[(size_t)m * C + c];
    else if (m >= N - (L - 1)) v = kr[(size_t)(N - 1 - m) * C + c];
    X[(size_t)c * ldx + m] = v;
}

static __global__ void kspec_store_kernel(float *kspec, const fft_cplx *X, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    kspec[2 * i] = (float)X[i].x;
    kspec[2 * i + 1] = (float)X[i].y;
}

static void cu_m2_kernel_fft(float *kspec, const float *kf, const float *kr, int L, int C) {
    if (L <= 0 || C <= 0) return;
    int N = m2_fft_size(L), H = N / 2 + 1;
    fft_cplx *X = fft_buffer(SCRATCH_FFT_K, C, L);
    kernel_rows_kernel<<<cu_blocks((size_t)C * N, CU_THREADS), CU_THREADS>>>((fft_real *)X, kf, kr, L, N, C, 2 * H);
    CUDA_LAUNCHED();
    fft_run(X, N, C, 0);
    size_t n = (size_t)C * H;
    kspec_store_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>(kspec, X, n);
    CUDA_LAUNCHED();
}

static void cu_m2_longconv_fwd(void *y, const void *u, const float *kspec, const float *D, int B, int L, int C) {
    if (B <= 0 || L <= 0 || C <= 0) return;
    fft_cplx *X = fft_buffer(SCRATCH_FFT_A, B * C, L);
    spectra_of(X, (const act_t *)u, B, L, C);
    spectra_apply((act_t *)y, X, (const act_t *)u, kspec, D, B, L, C, 0, 0);
}

// G[c][k] = Σ_b conj(U[b·C + c][k])·DY[b·C + c][k], b in order.
static __global__ void kgrad_sum_kernel(fft_cplx *G, const fft_cplx *U, const fft_cplx *DY, int B, int C, int H) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)C * H) return;
    fft_real re = 0, im = 0;
    for (int b = 0; b < B; b++) {
        size_t at = (size_t)b * C * H + i;
        fft_cplx u = U[at], g = DY[at];
        re += u.x * g.x + u.y * g.y;
        im += u.x * g.y - u.y * g.x;
    }
    G[i].x = re;
    G[i].y = im;
}

// From the correlation r (row c: r[m] = Σ_b Σ_n u[n]·dy[n + m], circular): dkf[m] += r[m]/N,
// dkr[i] += r[N−1−i]/N (i < L−1; kr[L−1] is never used), dD += r[0]/N (= Σ dy·u).
static __global__ void kgrad_store_kernel(float *dkf, float *dkr, float *dD, const fft_real *R, int L, int N, int C,
                                          int ldx, fft_real inv) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)L * C) return;
    int m = (int)(i / (size_t)C), c = (int)(i % (size_t)C);
    const fft_real *r = R + (size_t)c * ldx;
    dkf[i] += (float)(r[m] * inv);
    if (m + 1 < L) dkr[i] += (float)(r[N - 1 - m] * inv);
    if (m == 0 && dD) dD[c] += (float)(r[0] * inv);
}

static void cu_m2_longconv_bwd(void *du, float *dkf, float *dkr, float *dD, const void *dy, const void *u,
                               const float *kspec, const float *D, int B, int L, int C) {
    if (B <= 0 || L <= 0 || C <= 0) return;
    int N = m2_fft_size(L), H = N / 2 + 1;
    fft_cplx *Y = fft_buffer(SCRATCH_FFT_A, B * C, L), *U = fft_buffer(SCRATCH_FFT_B, B * C, L);
    fft_cplx *G = fft_buffer(SCRATCH_FFT_K, C, L);
    spectra_of(Y, (const act_t *)dy, B, L, C);
    spectra_of(U, (const act_t *)u, B, L, C);
    // dK, dD: the correlation of u and dy summed over the rows
    kgrad_sum_kernel<<<cu_blocks((size_t)C * H, CU_THREADS), CU_THREADS>>>(G, U, Y, B, C, H);
    CUDA_LAUNCHED();
    fft_run(G, N, C, 1);
    kgrad_store_kernel<<<cu_blocks((size_t)L * C, CU_THREADS), CU_THREADS>>>(dkf, dkr, dD, (const fft_real *)G, L, N, C,
                                                                             2 * H, (fft_real)1 / (fft_real)N);
    CUDA_LAUNCHED();
    // du += the correlation of dy with K (the adjoint: conj K) + D·dy
    if (du) spectra_apply((act_t *)du, Y, (const act_t *)dy, kspec, D, B, L, C, 1, 1);
}

// ---- depthwise causal short convolution (kernel 3) -----------------------------------------------

static __global__ void shortconv_fwd_kernel(act_t *out, const act_t *in, const float *w, const float *b, int L, int C,
                                            size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    size_t t = i / (size_t)C;
    int c = (int)(i % (size_t)C), pos = (int)(t % (size_t)L);
    float acc = b[c] + w[3 * c + 2] * act_ld(in[i]);
    if (pos >= 1) acc += w[3 * c + 1] * act_ld(in[i - C]);
    if (pos >= 2) acc += w[3 * c] * act_ld(in[i - 2 * (size_t)C]);
    out[i] = act_st(acc);
}

static __global__ void shortconv_dinp_kernel(act_t *din, const act_t *dout, const float *w, int L, int C, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    size_t t = i / (size_t)C;
    int c = (int)(i % (size_t)C), pos = (int)(t % (size_t)L);
    float acc = w[3 * c + 2] * act_ld(dout[i]);
    if (pos + 1 < L) acc += w[3 * c + 1] * act_ld(dout[i + C]);
    if (pos + 2 < L) acc += w[3 * c] * act_ld(dout[i + 2 * (size_t)C]);
    din[i] = act_st(act_ld(din[i]) + acc);
}

namespace { // per-precision types (cuda_common.h)
// Row t, column c of the parameter sums: db (g), dw[·,0] (g·x[t−2]), dw[·,1] (g·x[t−1]), dw[·,2] (g·x[t]).
struct shortconv_terms {
    const act_t *g, *x;
    int L, C;
    __device__ void operator()(int t, int c, double *v) const {
        size_t i = (size_t)t * C + c;
        int pos = t % L;
        double g0 = act_ld(g[i]);
        v[0] = g0;
        v[1] = pos >= 2 ? g0 * act_ld(x[i - 2 * (size_t)C]) : 0.0;
        v[2] = pos >= 1 ? g0 * act_ld(x[i - C]) : 0.0;
        v[3] = g0 * act_ld(x[i]);
    }
};
} // namespace

static void cu_m2_shortconv_fwd(void *out, const void *in, const float *w, const float *b, int B, int L, int C) {
    size_t n = (size_t)B * L * C;
    if (n == 0) return;
    shortconv_fwd_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>((act_t *)out, (const act_t *)in, w, b, L, C, n);
    CUDA_LAUNCHED();
}

static void cu_m2_shortconv_bwd(void *din, float *dw, float *db, const void *dout, const void *in, const float *w, int B,
                                int L, int C) {
    size_t n = (size_t)B * L * C;
    if (n == 0) return;
    if (din) {
        shortconv_dinp_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>((act_t *)din, (const act_t *)dout, w, L, C, n);
        CUDA_LAUNCHED();
    }
    cu_colsums<4>({{db, dw, dw + 1, dw + 2}, {1, 3, 3, 3}}, B * L, C,
                  shortconv_terms{(const act_t *)dout, (const act_t *)in, L, C});
}

// ---- strided elementwise products ------------------------------------------------------------------

static __global__ void mul_fwd_kernel(act_t *out, const act_t *a, int lda, const act_t *b, int ldb, const act_t *add,
                                      int C, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    size_t t = i / (size_t)C, c = i % (size_t)C;
    float v = act_ld(a[t * lda + c]) * act_ld(b[t * ldb + c]);
    if (add) v += act_ld(add[i]);
    out[i] = act_st(v);
}

static __global__ void mul_bwd_kernel(act_t *da, act_t *db, const act_t *dout, const act_t *a, int lda, const act_t *b,
                                      int ldb, int C, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    size_t t = i / (size_t)C, c = i % (size_t)C, ia = t * lda + c, ib = t * ldb + c;
    float g = act_ld(dout[i]);
    if (da) da[ia] = act_st(act_ld(da[ia]) + g * act_ld(b[ib]));
    if (db) db[ib] = act_st(act_ld(db[ib]) + g * act_ld(a[ia]));
}

static void cu_m2_mul_fwd(void *out, const void *a, int lda, const void *b, int ldb, const void *add, int T, int C) {
    size_t n = (size_t)T * C;
    if (n == 0) return;
    mul_fwd_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>((act_t *)out, (const act_t *)a, lda, (const act_t *)b, ldb,
                                                             (const act_t *)add, C, n);
    CUDA_LAUNCHED();
}

static void cu_m2_mul_bwd(void *da, void *db, const void *dout, const void *a, int lda, const void *b, int ldb, int T,
                          int C) {
    size_t n = (size_t)T * C;
    if (n == 0 || (!da && !db)) return;
    mul_bwd_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>((act_t *)da, (act_t *)db, (const act_t *)dout,
                                                             (const act_t *)a, lda, (const act_t *)b, ldb, C, n);
    CUDA_LAUNCHED();
}

// ---- Hyena filter pieces (f32 on both tables) -------------------------------------------------------

// sin(w_mod·freq[j]·x), the argument rounded in float as the CPU does, the sine in double.
static __global__ void sin_fwd_kernel(float *out, const float *x, const float *freq, float w_mod, int K, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float a = __fmul_rn(__fmul_rn(w_mod, freq[i % (size_t)K]), x[i]);
    out[i] = (float)sin((double)a);
}

__device__ __forceinline__ double sin_grad(const float *dout, const float *x, const float *freq, float w_mod, int K,
                                           size_t i) {
    float a = __fmul_rn(__fmul_rn(w_mod, freq[i % (size_t)K]), x[i]);
    return (double)dout[i] * cos((double)a) * w_mod;
}

static __global__ void sin_dx_kernel(float *dx, const float *dout, const float *x, const float *freq, float w_mod, int K,
                                     size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    dx[i] += (float)(sin_grad(dout, x, freq, w_mod, K, i) * freq[i % (size_t)K]);
}

namespace {
struct sin_freq_term { // dfreq[j] = Σ_n g·x
    const float *dout, *x, *freq;
    float w_mod;
    int K;
    __device__ void operator()(int n, int j, double *v) const {
        size_t i = (size_t)n * K + j;
        v[0] = sin_grad(dout, x, freq, w_mod, K, i) * x[i];
    }
};
} // namespace

static void cu_m2_sin_fwd(float *out, const float *x, const float *freq, float w_mod, int N, int K) {
    size_t n = (size_t)N * K;
    if (n == 0) return;
    sin_fwd_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>(out, x, freq, w_mod, K, n);
    CUDA_LAUNCHED();
}

static void cu_m2_sin_bwd(float *dx, float *dfreq, const float *dout, const float *x, const float *freq, float w_mod,
                          int N, int K) {
    size_t n = (size_t)N * K;
    if (n == 0) return;
    if (dx) {
        sin_dx_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>(dx, dout, x, freq, w_mod, K, n);
        CUDA_LAUNCHED();
    }
    if (dfreq) cu_colsums<1>({{dfreq}, {1}}, N, K, sin_freq_term{dout, x, freq, w_mod, K});
}

// exp(−t·|δ|): the product rounded in float, then exp in double (PyTorch's fp32 order, as the CPU)
__device__ __forceinline__ float decay_at(float t, float delta) {
    return (float)exp(-(double)__fmul_rn(t, fabsf(delta)));
}

static __global__ void modulate_kernel(float *k, const float *h, const float *t, const float *deltas, int C, size_t n,
                                       int accumulate) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float v = h[i] * decay_at(t[i / (size_t)C], deltas[i % (size_t)C]);
    k[i] = accumulate ? k[i] + v : v;
}

static void cu_m2_modulate_fwd(float *k, const float *h, const float *t, const float *deltas, int L, int C) {
    size_t n = (size_t)L * C;
    if (n == 0) return;
    modulate_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>(k, h, t, deltas, C, n, 0);
    CUDA_LAUNCHED();
}

// dh += dk·exp(−t·|δ|): the same product with the gradient in place of h
static void cu_m2_modulate_bwd(float *dh, const float *dk, const float *t, const float *deltas, int L, int C) {
    size_t n = (size_t)L * C;
    if (n == 0) return;
    modulate_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>(dh, dk, t, deltas, C, n, 1);
    CUDA_LAUNCHED();
}

// ---- the table's M2 entries -----------------------------------------------------------------------

void CUX(cu_fill_m2)(ops *t) {
    t->m2_shortconv_fwd = cu_m2_shortconv_fwd;
    t->m2_shortconv_bwd = cu_m2_shortconv_bwd;
    t->m2_mul_fwd = cu_m2_mul_fwd;
    t->m2_mul_bwd = cu_m2_mul_bwd;
    t->m2_kernel_fft = cu_m2_kernel_fft;
    t->m2_longconv_fwd = cu_m2_longconv_fwd;
    t->m2_longconv_bwd = cu_m2_longconv_bwd;
    t->m2_sin_fwd = cu_m2_sin_fwd;
    t->m2_sin_bwd = cu_m2_sin_bwd;
    t->m2_modulate_fwd = cu_m2_modulate_fwd;
    t->m2_modulate_bwd = cu_m2_modulate_bwd;
    t->blockdiag_fwd = CUX(cu_blockdiag_fwd);
    t->blockdiag_bwd = CUX(cu_blockdiag_bwd);
}
