// cuda_device.cu — the parts of the CUDA backend that do not depend on the
// activation type (compiled once): device memory, host ↔ activation copies, the
// bf16 copy of the weights, cuBLASLt GEMMs with cached plans, the optimizer ops,
// and the device description.
#include <cublasLt.h>
#include <string.h>

#include "cuda_common.h"

extern "C" {
#include "../../core/bf16.h"
}

#define CUBLAS_CHECK(call)                                                                                   \
    do {                                                                                                     \
        cublasStatus_t s_ = (call);                                                                          \
        if (s_ != CUBLAS_STATUS_SUCCESS) {                                                                   \
            fprintf(stderr, "%s:%d: cuBLASLt error %d (%s); hint: is libcublasLt.so.13 the toolkit's?\n", \
                    __FILE__, __LINE__, (int)s_, #call);                                                     \
            abort();                                                                                         \
        }                                                                                                    \
    } while (0)

// ---- memory --------------------------------------------------------------------

static void cu_weights_forget(const void *p);

static void *cu_alloc(size_t bytes) {
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1);
    if (e != cudaSuccess) {
        size_t free_b = 0, total_b = 0;
        cudaMemGetInfo(&free_b, &total_b);
        fprintf(stderr, "cuda: cannot allocate %.2f GiB (%s; %.2f of %.2f GiB free); hint: a smaller micro-batch\n",
                (double)bytes / (1 << 30), cudaGetErrorString(e), (double)free_b / (1 << 30),
                (double)total_b / (1 << 30));
        abort();
    }
    CUDA_CHECK(cudaMemset(p, 0, bytes ? bytes : 1));
    return p;
}
static void cu_free(void *p) {
    if (!p) return;
    cu_weights_forget(p);
    CUDA_CHECK(cudaFree(p));
}
static void cu_zero(void *p, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, cudaStreamPerThread));
}
static void cu_upload(void *dst, const void *src, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}
static void cu_download(void *dst, const void *src, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

void *cu_scratch(int slot, size_t bytes) {
    static void *buf[SCRATCH_N];
    static size_t cap[SCRATCH_N];
    if (bytes > cap[slot]) {
        // the old buffer may still be read by queued kernels: wait before freeing it
        if (buf[slot]) {
            CUDA_CHECK(cudaDeviceSynchronize());
            CUDA_CHECK(cudaFree(buf[slot]));
        }
        size_t n = bytes + bytes / 4; // grow with headroom: few reallocations
        CUDA_CHECK(cudaMalloc(&buf[slot], n));
        cap[slot] = n;
    }
    return buf[slot];
}

// ---- host fp32 ↔ activations ------------------------------------------------------

static void f32_act_upload(void *dst, const float *src, size_t n) { cu_upload(dst, src, n * sizeof(float)); }
static void f32_act_download(float *dst, const void *src, size_t n) { cu_download(dst, src, n * sizeof(float)); }

static void bf16_act_upload(void *dst, const float *src, size_t n) {
    uint16_t *h = (uint16_t *)malloc((n ? n : 1) * sizeof *h);
    if (!h) abort();
    for (size_t i = 0; i < n; i++) h[i] = bf16_from_f32(src[i]);
    cu_upload(dst, h, n * sizeof *h);
    free(h);
}
static void bf16_act_download(float *dst, const void *src, size_t n) {
    uint16_t *h = (uint16_t *)malloc((n ? n : 1) * sizeof *h);
    if (!h) abort();
    cu_download(h, src, n * sizeof *h);
    for (size_t i = 0; i < n; i++) dst[i] = bf16_to_f32(h[i]);
    free(h);
}

// ---- the bf16 copy of the weights ---------------------------------------------------

__global__ void f32_to_bf16_kernel(__nv_bfloat16 *out, const float *in, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = __float2bfloat16_rn(in[i]);
}
static void f32_to_bf16(__nv_bfloat16 *out, const float *in, size_t n) {
    if (n == 0) return;
    f32_to_bf16_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>(out, in, n);
    CUDA_LAUNCHED();
}

#define MAX_WBLOCKS 16
typedef struct {
    const float *w;     // (n,) fp32 weights, backend memory
    size_t n;
    __nv_bfloat16 *lp;  // (n,) their bf16 copy
} wblock;
static wblock wblocks[MAX_WBLOCKS];

static void cu_weights_forget(const void *p) {
    for (int i = 0; i < MAX_WBLOCKS; i++)
        if (wblocks[i].w && (const void *)wblocks[i].w == p) {
            CUDA_CHECK(cudaFree(wblocks[i].lp));
            memset(&wblocks[i], 0, sizeof wblocks[i]);
        }
}

static void bf16_weights_sync(const float *w, size_t n) {
    wblock *b = NULL;
    for (int i = 0; i < MAX_WBLOCKS && !b; i++)
        if (wblocks[i].w == w && wblocks[i].n == n) b = &wblocks[i];
    if (!b) {
        // a block overlapping a registered one replaces it (its memory was reused)
        for (int i = 0; i < MAX_WBLOCKS; i++)
            if (wblocks[i].w && wblocks[i].w < w + n && w < wblocks[i].w + wblocks[i].n) cu_weights_forget(wblocks[i].w);
        for (int i = 0; i < MAX_WBLOCKS && !b; i++)
            if (!wblocks[i].w) b = &wblocks[i];
        if (!b) {
            fprintf(stderr, "%s:%d: more than %d weight blocks synced\n", __FILE__, __LINE__, MAX_WBLOCKS);
            abort();
        }
        b->w = w;
        b->n = n;
        CUDA_CHECK(cudaMalloc(&b->lp, (n ? n : 1) * sizeof(__nv_bfloat16)));
    }
    f32_to_bf16(b->lp, w, n);
}
static void f32_weights_sync(const float *w, size_t n) { (void)w, (void)n; }

const __nv_bfloat16 *cu_weights_bf16(const float *w, size_t n, int slot) {
    for (int i = 0; i < MAX_WBLOCKS; i++)
        if (wblocks[i].w && w >= wblocks[i].w && w + n <= wblocks[i].w + wblocks[i].n)
            return wblocks[i].lp + (w - wblocks[i].w);
    __nv_bfloat16 *s = (__nv_bfloat16 *)cu_scratch(slot, (n ? n : 1) * sizeof *s);
    f32_to_bf16(s, w, n);
    return s;
}

// ---- cuBLASLt ---------------------------------------------------------------------

#define LT_WORKSPACE (32u << 20)
#define LT_MAX_PLANS 512

typedef struct {
    int ta, tb, M, N, K, lda, ldb, ldc, c_f32, bias, align; // the key
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t la, lb, lc;
    cublasLtMatmulAlgo_t algo;
} lt_plan;

static cublasLtHandle_t lt_handle;
static void *lt_ws;
static lt_plan lt_plans[LT_MAX_PLANS];
static int lt_nplans;

// Largest power of two ≤ 16 dividing the address (cuBLASLt picks kernels by alignment).
static int ptr_align(const void *p) {
    uintptr_t a = (uintptr_t)p;
    int al = 16;
    while (al > 1 && a % (uintptr_t)al) al /= 2;
    return al;
}

static lt_plan *lt_plan_get(int ta, int tb, int M, int N, int K, int lda, int ldb, int ldc, int c_f32, int bias,
                            int align) {
    for (int i = 0; i < lt_nplans; i++) {
        lt_plan *p = &lt_plans[i];
        if (p->ta == ta && p->tb == tb && p->M == M && p->N == N && p->K == K && p->lda == lda && p->ldb == ldb &&
            p->ldc == ldc && p->c_f32 == c_f32 && p->bias == bias && p->align == align)
            return p;
    }
    if (!lt_handle) {
        CUBLAS_CHECK(cublasLtCreate(&lt_handle));
        CUDA_CHECK(cudaMalloc(&lt_ws, LT_WORKSPACE));
    }
    if (lt_nplans == LT_MAX_PLANS) { // many shapes (inference over many lengths): start over
        for (int i = 0; i < lt_nplans; i++) {
            cublasLtMatmulDescDestroy(lt_plans[i].op);
            cublasLtMatrixLayoutDestroy(lt_plans[i].la);
            cublasLtMatrixLayoutDestroy(lt_plans[i].lb);
            cublasLtMatrixLayoutDestroy(lt_plans[i].lc);
        }
        lt_nplans = 0;
    }
    lt_plan *p = &lt_plans[lt_nplans];
    *p = (lt_plan){ta, tb, M, N, K, lda, ldb, ldc, c_f32, bias, align};
    // Row-major C (M,N) = op(A)·op(B) is column-major Cᵀ (N,M) = op(B)ᵀ·op(A)ᵀ: cuBLASLt's
    // first operand is our B, its second our A; a row-major buffer read column-major is
    // its transpose, so the transpose flags carry over unchanged.
    cublasOperation_t opa = tb ? CUBLAS_OP_T : CUBLAS_OP_N, opb = ta ? CUBLAS_OP_T : CUBLAS_OP_N;
    CUBLAS_CHECK(cublasLtMatmulDescCreate(&p->op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &opa, sizeof opa));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &opb, sizeof opb));
    if (bias) {
        cublasLtEpilogue_t ep = CUBLASLT_EPILOGUE_BIAS;
        cudaDataType_t bt = CUDA_R_16BF;
        CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &ep, sizeof ep));
        CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof bt));
    }
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->la, CUDA_R_16BF, tb ? K : N, tb ? N : K, ldb));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->lb, CUDA_R_16BF, ta ? M : K, ta ? K : M, lda));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->lc, c_f32 ? CUDA_R_32F : CUDA_R_16BF, N, M, ldc));
    cublasLtMatmulPreference_t pref;
    CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    size_t ws = LT_WORKSPACE;
    uint32_t al = (uint32_t)align;
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al, sizeof al));
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al, sizeof al));
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al, sizeof al));
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al, sizeof al));
    cublasLtMatmulHeuristicResult_t res;
    int found = 0;
    CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(lt_handle, p->op, p->la, p->lb, p->lc, p->lc, pref, 1, &res, &found));
    cublasLtMatmulPreferenceDestroy(pref);
    if (found == 0) {
        fprintf(stderr, "%s:%d: cuBLASLt has no algorithm for %c%c M=%d N=%d K=%d (alignment %d)\n", __FILE__, __LINE__,
                ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, align);
        abort();
    }
    p->algo = res.algo;
    lt_nplans++;
    return p;
}

void cu_gemm_bf16(int transA, int transB, int M, int N, int K, const __nv_bfloat16 *A, int lda,
                  const __nv_bfloat16 *B, int ldb, float beta, void *C, int ldc, int c_f32, const __nv_bfloat16 *bias) {
    if (M <= 0 || N <= 0) return;
    int es_c = c_f32 ? 4 : 2;
    int align = ptr_align(A);
    int a2 = ptr_align(B), a3 = ptr_align(C);
    if (a2 < align) align = a2;
    if (a3 < align) align = a3;
    // leading dimensions shift the rows: alignment of the row stride counts too
    int lds[3] = {lda * 2, ldb * 2, ldc * es_c};
    for (int i = 0; i < 3; i++)
        while (align > 1 && lds[i] % align) align /= 2;
    if (bias) {
        int ab = ptr_align(bias);
        if (ab < align) align = ab;
    }
    lt_plan *p = lt_plan_get(transA, transB, M, N, K, lda, ldb, ldc, c_f32, bias != NULL, align);
    if (bias)
        CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
    const float alpha = 1.0f;
    CUBLAS_CHECK(cublasLtMatmul(lt_handle, p->op, &alpha, B, p->la, A, p->lb, &beta, C, p->lc, C, p->lc, &p->algo,
                                lt_ws, LT_WORKSPACE, cudaStreamPerThread));
}

// ---- optimizer ops -----------------------------------------------------------------

// The CPU's update (cpu_optim.c) with every operation rounded on its own (no FMA
// contraction): the same bits as the CPU for the same inputs.
__global__ void adamw_kernel(float *p, float *m, float *v, const float *g, size_t n, adamw_scalars s) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float gv = g[i];
    float pv = s.decay ? __fmul_rn(p[i], s.keep) : p[i];
    float mv = __fadd_rn(__fmul_rn(s.b1, m[i]), __fmul_rn(s.ob1, gv));
    float vv = __fadd_rn(__fmul_rn(s.b2, v[i]), __fmul_rn(__fmul_rn(s.ob2, gv), gv));
    m[i] = mv;
    v[i] = vv;
    float den = __fadd_rn(__fdiv_rn(__fsqrt_rn(vv), s.sqrt_bc2), s.eps);
    p[i] = __fsub_rn(pv, __fmul_rn(s.step_size, __fdiv_rn(mv, den)));
}

static void cu_adamw(float *p, float *m, float *v, const float *g, size_t n, const adamw_scalars *s) {
    if (n == 0) return;
    adamw_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>(p, m, v, g, n, *s);
    CUDA_LAUNCHED();
}

#define SUMSQ_CHUNK 16384 // ops.h

// One block per chunk: Σ x² in double, a fixed tree order.
__global__ void sumsq_kernel(double *part, const float *x, size_t n) {
    __shared__ double sh[CU_THREADS];
    size_t a = (size_t)blockIdx.x * SUMSQ_CHUNK, b = a + SUMSQ_CHUNK < n ? a + SUMSQ_CHUNK : n;
    double s = 0.0;
    for (size_t i = a + threadIdx.x; i < b; i += CU_THREADS) s += (double)x[i] * (double)x[i];
    s = cu_block_sum(s, sh);
    if (threadIdx.x == 0) part[blockIdx.x] = s;
}

static double cu_sumsq(const float *x, size_t n) {
    size_t nc = (n + SUMSQ_CHUNK - 1) / SUMSQ_CHUNK;
    if (nc == 0) return 0.0;
    static double *d_part, *h_part; // (nc,) chunk sums; pinned on the host
    static size_t cap;
    if (nc > cap) {
        if (d_part) CUDA_CHECK(cudaFree(d_part));
        if (h_part) CUDA_CHECK(cudaFreeHost(h_part));
        CUDA_CHECK(cudaMalloc(&d_part, nc * sizeof *d_part));
        CUDA_CHECK(cudaMallocHost(&h_part, nc * sizeof *h_part));
        cap = nc;
    }
    sumsq_kernel<<<(unsigned)nc, CU_THREADS>>>(d_part, x, n);
    CUDA_LAUNCHED();
    CUDA_CHECK(cudaMemcpyAsync(h_part, d_part, nc * sizeof *h_part, cudaMemcpyDeviceToHost, cudaStreamPerThread));
    CUDA_CHECK(cudaStreamSynchronize(cudaStreamPerThread));
    double s = 0.0;
    for (size_t c = 0; c < nc; c++) s += h_part[c];
    return s;
}

__global__ void scale_kernel(float *x, size_t n, float s) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] *= s;
}
static void cu_scale(float *x, size_t n, float s) {
    if (n == 0) return;
    scale_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>(x, n, s);
    CUDA_LAUNCHED();
}

// ---- the shared table entries, the device ------------------------------------------------

// The f32 dense layer (ops.h matmul_f32_*): the fp32 table's matmul, on f32 tensors in both tables.
static void cu_matmul_f32_fwd(float *out, const float *inp, const float *w, const float *b, int N, int C, int OC) {
    cu_matmul_fwd_f32(out, NULL, inp, w, b, N, C, OC, ACT_NONE);
}
static void cu_matmul_f32_bwd(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                              int N, int C, int OC) {
    cu_matmul_bwd_f32(dinp, dw, db, dout, inp, w, N, C, OC);
}

extern "C" void cu_fill_common(ops *t, int act_bf16) {
    t->act_size = act_bf16 ? 2 : 4;
    t->alloc = cu_alloc;
    t->free = cu_free;
    t->zero = cu_zero;
    t->upload = cu_upload;
    t->download = cu_download;
    t->act_upload = act_bf16 ? bf16_act_upload : f32_act_upload;
    t->act_download = act_bf16 ? bf16_act_download : f32_act_download;
    t->weights_sync = act_bf16 ? bf16_weights_sync : f32_weights_sync;
    t->adamw = cu_adamw;
    t->sumsq = cu_sumsq;
    t->scale = cu_scale;
    t->matmul_f32_fwd = cu_matmul_f32_fwd;
    t->matmul_f32_bwd = cu_matmul_f32_bwd;
}

extern "C" int cuda_available(void) {
    int n = 0;
    return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

extern "C" const char *cuda_describe(void) {
    static char line[256];
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0) {
        snprintf(line, sizeof line, "no usable CUDA device (%s)", e != cudaSuccess ? cudaGetErrorString(e) : "none found");
        return line;
    }
    cudaDeviceProp p;
    CUDA_CHECK(cudaGetDeviceProperties(&p, 0));
    int rt = 0, drv = 0;
    cudaRuntimeGetVersion(&rt);
    cudaDriverGetVersion(&drv);
    snprintf(line, sizeof line, "%s, sm_%d%d, %d SMs, %.1f GiB; runtime %d, driver %d; cuBLASLt %zu", p.name, p.major,
             p.minor, p.multiProcessorCount, (double)p.totalGlobalMem / (1 << 30), rt, drv, cublasLtGetVersion());
    return line;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

extern "C" double cuda_gemm_peak_tflops(int n) {
    size_t e = (size_t)n * n;
    __nv_bfloat16 *a = (__nv_bfloat16 *)cu_alloc(e * 2), *b = (__nv_bfloat16 *)cu_alloc(e * 2),
                  *c = (__nv_bfloat16 *)cu_alloc(e * 2);
    // random-ish values: all-zero inputs run faster than real data
    float *h = (float *)malloc(e * sizeof *h);
    if (!h) abort();
    uint32_t x = 12345;
    for (size_t i = 0; i < e; i++) {
        x = x * 1664525u + 1013904223u;
        h[i] = (float)(x >> 8) / 16777216.0f - 0.5f;
    }
    bf16_act_upload(a, h, e);
    bf16_act_upload(b, h, e);
    free(h);
    cudaEvent_t t0, t1;
    CUDA_CHECK(cudaEventCreate(&t0));
    CUDA_CHECK(cudaEventCreate(&t1));
    float ms[10];
    for (int r = -3; r < 10; r++) {
        CUDA_CHECK(cudaEventRecord(t0, cudaStreamPerThread));
        cu_gemm_bf16(0, 1, n, n, n, a, n, b, n, 0.0f, c, n, 0, NULL);
        CUDA_CHECK(cudaEventRecord(t1, cudaStreamPerThread));
        CUDA_CHECK(cudaEventSynchronize(t1));
        if (r >= 0) CUDA_CHECK(cudaEventElapsedTime(&ms[r], t0, t1));
    }
    qsort(ms, 10, sizeof ms[0], cmp_float);
    cudaEventDestroy(t0);
    cudaEventDestroy(t1);
    cu_free(a), cu_free(b), cu_free(c);
    return 2.0 * (double)n * n * n / ((ms[4] + ms[5]) / 2 * 1e-3) / 1e12;
}

extern "C" size_t cuda_mem_in_use(void) {
    size_t free_b = 0, total_b = 0;
    CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    return total_b - free_b;
}
