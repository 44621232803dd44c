// cuda_ops.cu — the CUDA backend's op table (fp32 mode), memory, and the row
// and element ops: embeddings, row gather/scatter, dropout, cross-entropy.
//
// Gradients whose terms come from many rows (embedding tables, scatter_add_rows)
// are summed by one thread per column over the rows in order: no float atomics,
// the same bits every run (and the CPU backend's order, so the same bits as it).
#include "cuda_common.h"

// ---- memory -------------------------------------------------------------------

static void *cu_alloc(size_t bytes) {
    void *p = NULL;
    CUDA_CHECK(cudaMalloc(&p, bytes ? bytes : 1));
    CUDA_CHECK(cudaMemset(p, 0, bytes ? bytes : 1));
    return p;
}
static void cu_free(void *p) {
    if (p) CUDA_CHECK(cudaFree(p));
}
static void cu_zero(void *p, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemset(p, 0, bytes));
}
static void cu_upload(void *dst, const void *src, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}
static void cu_download(void *dst, const void *src, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

// ---- embeddings ------------------------------------------------------------------

__global__ void embed_fwd_kernel(float *out, const int32_t *ids, const int32_t *types, const int32_t *pos,
                                 const float *wte, const float *wtt, const float *wpe, int T, int C) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)T * C) return;
    size_t t = i / (size_t)C, c = i % (size_t)C;
    float v = wte[(size_t)ids[t] * C + c] + wtt[(size_t)types[t] * C + c];
    if (wpe) v += wpe[(size_t)pos[t] * C + c];
    out[i] = v;
}

static void cu_embed_fwd(void *out, const int32_t *ids, const int32_t *types, const int32_t *pos, const float *wte,
                         const float *wtt, const float *wpe, int T, int C) {
    size_t n = (size_t)T * C;
    if (n == 0) return;
    embed_fwd_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>((float *)out, ids, types, pos, wte, wtt, wpe, T, C);
    CUDA_LAUNCHED();
}

// dtab[idx[t]] += dout[t]: thread c owns column c of every row, t in order.
__global__ void scatter_cols_kernel(float *dtab, const float *dout, const int32_t *idx, int T, int C) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    for (int t = 0; t < T; t++) dtab[(size_t)idx[t] * C + c] += dout[(size_t)t * C + c];
}

static void scatter_cols(float *dtab, const float *dout, const int32_t *idx, int T, int C) {
    if (T <= 0 || C <= 0) return;
    scatter_cols_kernel<<<cu_blocks((size_t)C, CU_THREADS), CU_THREADS>>>(dtab, dout, idx, T, C);
    CUDA_LAUNCHED();
}

static void cu_embed_bwd(float *dwte, float *dwtt, float *dwpe, const void *dout, const int32_t *ids,
                         const int32_t *types, const int32_t *pos, int T, int C) {
    if (dwte) scatter_cols(dwte, (const float *)dout, ids, T, C);
    if (dwtt) scatter_cols(dwtt, (const float *)dout, types, T, C);
    if (dwpe) scatter_cols(dwpe, (const float *)dout, pos, T, C);
}

// ---- row selection ------------------------------------------------------------------

__global__ void gather_rows_kernel(float *out, const float *in, const int32_t *idx, int M, int C) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)M * C) return;
    size_t m = i / (size_t)C, c = i % (size_t)C;
    out[i] = in[(size_t)idx[m] * C + c];
}

static void cu_gather_rows(void *out, const void *in, const int32_t *idx, int M, int C) {
    size_t n = (size_t)M * C;
    if (n == 0) return;
    gather_rows_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>((float *)out, (const float *)in, idx, M, C);
    CUDA_LAUNCHED();
}

static void cu_scatter_add_rows(void *din, const void *dout, const int32_t *idx, int M, int C) {
    scatter_cols((float *)din, (const float *)dout, idx, M, C);
}

// ---- dropout ---------------------------------------------------------------------------

// One thread per Philox block (4 elements). accumulate: din += dout·m, else out = in·m,
// m = scale when rng_uniform >= p, else 0 (as the CPU multiplies by its mask).
__global__ void dropout_kernel(float *out, const float *in, size_t n, float p, float scale, uint64_t seed,
                               uint32_t step, uint32_t stream, int accumulate) {
    size_t b = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (4 * b >= n) return;
    uint32_t o[4];
    philox_block(seed, step, stream, (uint64_t)b, o);
    for (int l = 0; l < 4 && 4 * b + l < n; l++) {
        size_t i = 4 * b + l;
        float m = (float)(o[l] >> 8) * (1.0f / 16777216.0f) >= p ? scale : 0.0f;
        // __fmul_rn: no FMA contraction, so the product is rounded as on the CPU (bit-equal results)
        if (accumulate) out[i] += __fmul_rn(in[i], m);
        else out[i] = in[i] * m;
    }
}

static void cu_dropout_fwd(void *out, const void *in, size_t n, float p, rng_key key) {
    if (n == 0) return;
    if (p <= 0.0f) {
        if (out != in) CUDA_CHECK(cudaMemcpy(out, in, n * sizeof(float), cudaMemcpyDeviceToDevice));
        return;
    }
    float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    dropout_kernel<<<cu_blocks((n + 3) / 4, CU_THREADS), CU_THREADS>>>((float *)out, (const float *)in, n, p, scale,
                                                                       key.seed, key.step, key.stream, 0);
    CUDA_LAUNCHED();
}

static void cu_dropout_bwd(void *din, const void *dout, size_t n, float p, rng_key key) {
    if (n == 0) return;
    // p <= 0: every element kept with scale 1 (uniform >= 0 always holds).
    float scale = p <= 0.0f ? 1.0f : p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    dropout_kernel<<<cu_blocks((n + 3) / 4, CU_THREADS), CU_THREADS>>>((float *)din, (const float *)dout, n, p, scale,
                                                                       key.seed, key.step, key.stream, 1);
    CUDA_LAUNCHED();
}

// ---- softmax cross-entropy ----------------------------------------------------------------

// One block per row: max, then Σ e^(x − max) in double; lse = max + log Σ.
__global__ void xent_fwd_kernel(float *loss, float *lse, const float *logits, const int32_t *targets, int V) {
    __shared__ double sh[CU_THREADS];
    __shared__ float shm[CU_THREADS];
    const float *x = logits + (size_t)blockIdx.x * V;
    float mx = -INFINITY;
    for (int v = threadIdx.x; v < V; v += CU_THREADS) mx = fmaxf(mx, x[v]);
    shm[threadIdx.x] = mx;
    __syncthreads();
    for (int s = CU_THREADS / 2; s > 0; s >>= 1) {
        if ((int)threadIdx.x < s) shm[threadIdx.x] = fmaxf(shm[threadIdx.x], shm[threadIdx.x + s]);
        __syncthreads();
    }
    mx = shm[0];
    double sum = 0.0;
    for (int v = threadIdx.x; v < V; v += CU_THREADS) sum += expf(x[v] - mx);
    sum = cu_block_sum(sum, sh);
    if (threadIdx.x == 0) {
        double l = (double)mx + log(sum);
        lse[blockIdx.x] = (float)l;
        loss[blockIdx.x] = (float)(l - (double)x[targets[blockIdx.x]]);
    }
}

static void cu_xent_fwd(float *loss, float *lse, const void *logits, const int32_t *targets, int M, int V) {
    if (M <= 0) return;
    xent_fwd_kernel<<<(unsigned)M, CU_THREADS>>>(loss, lse, (const float *)logits, targets, V);
    CUDA_LAUNCHED();
}

// d += scale · e^(x − lse), then d[target] −= scale (two steps, as the CPU).
__global__ void xent_bwd_kernel(float *dlogits, const float *logits, const float *lse, const int32_t *targets,
                                float scale, int M, int V) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)M * V) return;
    size_t m = i / (size_t)V, v = i % (size_t)V;
    float d = dlogits[i] + scale * expf(logits[i] - lse[m]);
    if ((int)v == targets[m]) d -= scale;
    dlogits[i] = d;
}

static void cu_xent_bwd(void *dlogits, const void *logits, const float *lse, const int32_t *targets, float scale,
                        int M, int V) {
    size_t n = (size_t)M * V;
    if (n == 0) return;
    xent_bwd_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>((float *)dlogits, (const float *)logits, lse, targets,
                                                              scale, M, V);
    CUDA_LAUNCHED();
}

// ---- the table -------------------------------------------------------------------------------
// Not yet on the GPU (NULL entries): every M2 op. Callers must check before using this table for those models.

static const ops cuda_table = {
    /* name */ "cuda",
    /* alloc */ cu_alloc,
    /* free */ cu_free,
    /* zero */ cu_zero,
    /* upload */ cu_upload,
    /* download */ cu_download,
    /* embed_fwd */ cu_embed_fwd,
    /* embed_bwd */ cu_embed_bwd,
    /* matmul_fwd */ cu_matmul_fwd,
    /* matmul_bwd */ cu_matmul_bwd,
    /* act_bwd */ cu_act_bwd,
    /* layernorm_fwd */ cu_layernorm_fwd,
    /* layernorm_bwd */ cu_layernorm_bwd,
    /* glu_fwd */ cu_glu_fwd,
    /* glu_bwd */ cu_glu_bwd,
    /* dropout_fwd */ cu_dropout_fwd,
    /* dropout_bwd */ cu_dropout_bwd,
    /* attention_fwd */ cu_attention_fwd,
    /* attention_bwd */ cu_attention_bwd,
    /* gather_rows */ cu_gather_rows,
    /* scatter_add_rows */ cu_scatter_add_rows,
    /* xent_fwd */ cu_xent_fwd,
    /* xent_bwd */ cu_xent_bwd,
    // M2 ops follow: value-initialised to NULL.
};

extern "C" const ops *ops_cuda(void) { return &cuda_table; }

extern "C" int cuda_available(void) {
    int n = 0;
    return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}
