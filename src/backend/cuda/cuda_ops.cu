// cuda_ops.cu — the CUDA backend's op tables (one per activation type,
// cuda_common.h) and the row and element ops: embeddings, row gather/scatter,
// dropout, cross-entropy.
//
// Embedding-table gradients sum many rows into one: the tokens are sorted by id
// (a stable radix sort keeps each id's tokens in token order), then blocks per id
// add its rows in a fixed order (embed_short_kernel, embed_long_kernel) — no float atomics, the same
// bits every run.
#include <cub/device/device_radix_sort.cuh>

#include "cuda_common.h"

// ---- embeddings ------------------------------------------------------------------

static __global__ void embed_fwd_kernel(act_t *out, const int32_t *ids, const int32_t *types, const int32_t *pos,
                                 const float *wte, const float *wtt, const float *wpe, int T, int C) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)T * C) return;
    size_t t = i / (size_t)C, c = i % (size_t)C;
    float v = wte[(size_t)ids[t] * C + c] + wtt[(size_t)types[t] * C + c];
    if (wpe) v += wpe[(size_t)pos[t] * C + c];
    out[i] = act_st(v);
}

static void cu_embed_fwd(void *out, const int32_t *ids, const int32_t *types, const int32_t *pos, const float *wte,
                         const float *wtt, const float *wpe, int T, int C) {
    size_t n = (size_t)T * C;
    if (n == 0) return;
    embed_fwd_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>((act_t *)out, ids, types, pos, wte, wtt, wpe, T, C);
    CUDA_LAUNCHED();
}

static __global__ void iota_kernel(int32_t *x, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] = i;
}

// After the sort, runs of equal ids. Short runs (≤ EMB_SHORT tokens: most ids) are
// added by one thread per column in token order (in fp32 mode the CPU's order: the
// same bits). Long runs (a frequent token, [MASK], the type table) are listed and
// summed by EMB_LANES lanes taking every EMB_LANES-th row in order, the lanes then
// added in order: a fixed order, so deterministic. Which block takes which long run
// may vary (an atomic counter lists them); the sums do not.
#define EMB_SHORT 32
#define EMB_LANES 32
#define EMB_ROWS 8 // sorted positions per block in the first pass

// Pass 1: block (x, g), lane y: sorted position k = 8x + y, columns 32g … 32g+31.
static __global__ void embed_short_kernel(float *dtab, const act_t *dout, const int32_t *key, const int32_t *tok,
                                          int T, int C, int *nlong, int32_t *longs) {
    const int k = blockIdx.x * EMB_ROWS + threadIdx.y, c = blockIdx.y * 32 + threadIdx.x;
    if (k >= T || (k > 0 && key[k - 1] == key[k])) return; // not a run head
    if (k + EMB_SHORT < T && key[k + EMB_SHORT] == key[k]) { // a long run: for pass 2
        if (threadIdx.x == 0 && blockIdx.y == 0) longs[atomicAdd(nlong, 1)] = k;
        return;
    }
    if (c >= C) return;
    float *row = dtab + (size_t)key[k] * C;
    float acc = row[c];
    for (int r = k; r < T && key[r] == key[k]; r++) acc += act_ld(dout[(size_t)tok[r] * C + c]);
    row[c] = acc;
}

// Pass 2: block (x, g) sums long run x of the list over columns 32g … 32g+31.
static __global__ void embed_long_kernel(float *dtab, const act_t *dout, const int32_t *key, const int32_t *tok, int T,
                                         int C, const int *nlong, const int32_t *longs) {
    __shared__ float part[EMB_LANES][32];
    if ((int)blockIdx.x >= *nlong) return;
    const int k = longs[blockIdx.x], c = blockIdx.y * 32 + threadIdx.x, lane = threadIdx.y;
    int lo = k, hi = T; // the run's end: the first position with a larger key (keys sorted)
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (key[mid] <= key[k]) lo = mid + 1;
        else hi = mid;
    }
    float acc = 0.0f;
    if (c < C)
        for (int r = k + lane; r < lo; r += EMB_LANES) acc += act_ld(dout[(size_t)tok[r] * C + c]);
    part[lane][threadIdx.x] = acc;
    __syncthreads();
    if (lane == 0 && c < C) {
        float *row = dtab + (size_t)key[k] * C;
        float t = row[c];
        for (int l = 0; l < EMB_LANES; l++) t += part[l][threadIdx.x];
        row[c] = t;
    }
}

// dtab[idx[t]] += dout[t] for every t, per row of the table (see above).
static void embed_bwd_table(float *dtab, const act_t *dout, const int32_t *idx, int T, int C) {
    if (T <= 0 || C <= 0) return;
    size_t n = (size_t)T, tmp_bytes = 0;
    CUDA_CHECK(cub::DeviceRadixSort::SortPairs(NULL, tmp_bytes, (const int32_t *)NULL, (int32_t *)NULL,
                                               (const int32_t *)NULL, (int32_t *)NULL, T));
    size_t ints = (4 * n + 16) * sizeof(int32_t), need = ints + tmp_bytes;
    char *buf = (char *)cu_scratch(SCRATCH_SORT, need);
    int32_t *tok_in = (int32_t *)buf, *key_out = tok_in + n, *tok_out = key_out + n, *longs = tok_out + n;
    int *nlong = (int *)(longs + n); // (1,) count of long runs
    void *tmp = buf + ints;
    iota_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>(tok_in, T);
    CUDA_LAUNCHED();
    CUDA_CHECK(cub::DeviceRadixSort::SortPairs(tmp, tmp_bytes, idx, key_out, tok_in, tok_out, T, 0, 32,
                                               cudaStreamPerThread));
    CUDA_CHECK(cudaMemsetAsync(nlong, 0, sizeof *nlong, cudaStreamPerThread));
    unsigned gc = (unsigned)((C + 31) / 32);
    embed_short_kernel<<<dim3((unsigned)((T + EMB_ROWS - 1) / EMB_ROWS), gc), dim3(32, EMB_ROWS)>>>(
        dtab, dout, key_out, tok_out, T, C, nlong, longs);
    CUDA_LAUNCHED();
    embed_long_kernel<<<dim3((unsigned)(T / EMB_SHORT + 1), gc), dim3(32, EMB_LANES)>>>(dtab, dout, key_out, tok_out,
                                                                                        T, C, nlong, longs);
    CUDA_LAUNCHED();
}

static void cu_embed_bwd(float *dwte, float *dwtt, float *dwpe, const void *dout, const int32_t *ids,
                         const int32_t *types, const int32_t *pos, int T, int C) {
    const act_t *d = (const act_t *)dout;
    if (dwte) embed_bwd_table(dwte, d, ids, T, C);
    if (dwtt) embed_bwd_table(dwtt, d, types, T, C);
    if (dwpe) embed_bwd_table(dwpe, d, pos, T, C);
}

// ---- row selection ------------------------------------------------------------------

static __global__ void gather_rows_kernel(act_t *out, const act_t *in, const int32_t *idx, int M, int C) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)M * C) return;
    size_t m = i / (size_t)C, c = i % (size_t)C;
    out[i] = in[(size_t)idx[m] * C + c];
}

static void cu_gather_rows(void *out, const void *in, const int32_t *idx, int M, int C) {
    size_t n = (size_t)M * C;
    if (n == 0) return;
    gather_rows_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>((act_t *)out, (const act_t *)in, idx, M, C);
    CUDA_LAUNCHED();
}

// din[idx[m]] += dout[m]: the indices are distinct (ops.h), so each element has one writer.
static __global__ void scatter_add_rows_kernel(act_t *din, const act_t *dout, const int32_t *idx, int M, int C) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)M * C) return;
    size_t m = i / (size_t)C, c = i % (size_t)C;
    act_t *d = din + (size_t)idx[m] * C + c;
    *d = act_st(act_ld(*d) + act_ld(dout[i]));
}

static void cu_scatter_add_rows(void *din, const void *dout, const int32_t *idx, int M, int C) {
    size_t n = (size_t)M * C;
    if (n == 0) return;
    scatter_add_rows_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>((act_t *)din, (const act_t *)dout, idx, M, C);
    CUDA_LAUNCHED();
}

// Weighted pooling per sequence (ops.h pool_rows): block (b, column tile), one thread per
// column walking the sequence's tokens in order. Products and sums without FMA contraction,
// as the CPU computes them, so the fp32 table matches it bit for bit.
static __global__ void pool_rows_fwd_kernel(act_t *out, const act_t *in, const float *w, const int32_t *cu, int C) {
    int b = blockIdx.x, c = blockIdx.y * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float acc = 0.0f;
    for (int t = cu[b]; t < cu[b + 1]; t++) acc = __fadd_rn(acc, __fmul_rn(w[t], act_ld(in[(size_t)t * C + c])));
    out[(size_t)b * C + c] = act_st(acc);
}

static __global__ void pool_rows_bwd_kernel(act_t *din, const act_t *dout, const float *w, const int32_t *cu, int C) {
    int b = blockIdx.x, c = blockIdx.y * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float d = act_ld(dout[(size_t)b * C + c]);
    for (int t = cu[b]; t < cu[b + 1]; t++) {
        act_t *p = din + (size_t)t * C + c;
        *p = act_st(__fadd_rn(act_ld(*p), __fmul_rn(w[t], d)));
    }
}

static void cu_pool_rows_fwd(void *out, const void *in, const float *w, const int32_t *cu, int B, int C) {
    if (B == 0 || C == 0) return;
    pool_rows_fwd_kernel<<<dim3((unsigned)B, (unsigned)((C + 127) / 128)), 128>>>((act_t *)out, (const act_t *)in, w,
                                                                                   cu, C);
    CUDA_LAUNCHED();
}

static void cu_pool_rows_bwd(void *din, const void *dout, const float *w, const int32_t *cu, int B, int C) {
    if (B == 0 || C == 0) return;
    pool_rows_bwd_kernel<<<dim3((unsigned)B, (unsigned)((C + 127) / 128)), 128>>>((act_t *)din, (const act_t *)dout,
                                                                                   w, cu, C);
    CUDA_LAUNCHED();
}

// ---- dropout ---------------------------------------------------------------------------

// One thread per Philox block (4 elements). accumulate: din += dout·m, else out = in·m,
// m = scale when rng_uniform >= p, else 0 (as the CPU multiplies by its mask).
static __global__ void dropout_kernel(act_t *out, const act_t *in, size_t n, float p, float scale, uint64_t seed,
                               uint32_t step, uint32_t stream, int accumulate) {
    size_t b = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (4 * b >= n) return;
    uint32_t o[4];
    philox_block(seed, step, stream, (uint64_t)b, o);
    for (int l = 0; l < 4 && 4 * b + l < n; l++) {
        size_t i = 4 * b + l;
        float m = (float)(o[l] >> 8) * (1.0f / 16777216.0f) >= p ? scale : 0.0f;
        // __fmul_rn: no FMA contraction, so the product is rounded as on the CPU (bit-equal results)
        if (accumulate) out[i] = act_st(act_ld(out[i]) + __fmul_rn(act_ld(in[i]), m));
        else out[i] = act_st(act_ld(in[i]) * m);
    }
}

static void cu_dropout_fwd(void *out, const void *in, size_t n, float p, rng_key key) {
    if (n == 0) return;
    if (p <= 0.0f) {
        if (out != in)
            CUDA_CHECK(cudaMemcpyAsync(out, in, n * sizeof(act_t), cudaMemcpyDeviceToDevice, cudaStreamPerThread));
        return;
    }
    float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    dropout_kernel<<<cu_blocks((n + 3) / 4, CU_THREADS), CU_THREADS>>>((act_t *)out, (const act_t *)in, n, p, scale,
                                                                       key.seed, key.step, key.stream, 0);
    CUDA_LAUNCHED();
}

static void cu_dropout_bwd(void *din, const void *dout, size_t n, float p, rng_key key) {
    if (n == 0) return;
    // p <= 0: every element kept with scale 1 (uniform >= 0 always holds).
    float scale = p <= 0.0f ? 1.0f : p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    dropout_kernel<<<cu_blocks((n + 3) / 4, CU_THREADS), CU_THREADS>>>((act_t *)din, (const act_t *)dout, n, p, scale,
                                                                       key.seed, key.step, key.stream, 1);
    CUDA_LAUNCHED();
}

// ---- softmax cross-entropy ----------------------------------------------------------------

// One block per row: max, then Σ e^(x − max) in double; lse = max + log Σ.
static __global__ void xent_fwd_kernel(float *loss, float *lse, const act_t *logits, const int32_t *targets, int V) {
    __shared__ double sh[CU_THREADS];
    __shared__ float shm[CU_THREADS];
    const act_t *x = logits + (size_t)blockIdx.x * V;
    float mx = -INFINITY;
    for (int v = threadIdx.x; v < V; v += CU_THREADS) mx = fmaxf(mx, act_ld(x[v]));
    shm[threadIdx.x] = mx;
    __syncthreads();
    for (int s = CU_THREADS / 2; s > 0; s >>= 1) {
        if ((int)threadIdx.x < s) shm[threadIdx.x] = fmaxf(shm[threadIdx.x], shm[threadIdx.x + s]);
        __syncthreads();
    }
    mx = shm[0];
    double sum = 0.0;
    for (int v = threadIdx.x; v < V; v += CU_THREADS) sum += expf(act_ld(x[v]) - mx);
    sum = cu_block_sum(sum, sh);
    if (threadIdx.x == 0) {
        double l = (double)mx + log(sum);
        lse[blockIdx.x] = (float)l;
        loss[blockIdx.x] = (float)(l - (double)act_ld(x[targets[blockIdx.x]]));
    }
}

static void cu_xent_fwd(float *loss, float *lse, const void *logits, const int32_t *targets, int M, int V) {
    if (M <= 0) return;
    xent_fwd_kernel<<<(unsigned)M, CU_THREADS>>>(loss, lse, (const act_t *)logits, targets, V);
    CUDA_LAUNCHED();
}

// One block per row: each thread keeps the first maximum of its strided elements, then the
// block keeps the larger value, the lower index on a tie: the CPU's first maximum.
static __global__ void argmax_rows_kernel(int32_t *out, const act_t *logits, int V) {
    __shared__ float shv[CU_THREADS];
    __shared__ int shi[CU_THREADS];
    const act_t *x = logits + (size_t)blockIdx.x * V;
    float bv = -INFINITY;
    int bi = V; // past every index: any element wins over "none yet"
    for (int v = threadIdx.x; v < V; v += CU_THREADS) {
        float z = act_ld(x[v]);
        if (bi == V || z > bv) bv = z, bi = v;
    }
    shv[threadIdx.x] = bv, shi[threadIdx.x] = bi;
    __syncthreads();
    for (int s = CU_THREADS / 2; s > 0; s >>= 1) {
        int t = threadIdx.x;
        if (t < s) {
            float ov = shv[t + s];
            int oi = shi[t + s];
            if (oi < V && (shi[t] == V || ov > shv[t] || (ov == shv[t] && oi < shi[t]))) shv[t] = ov, shi[t] = oi;
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) out[blockIdx.x] = shi[0];
}

static void cu_argmax_rows(int32_t *out, const void *logits, int M, int V) {
    if (M <= 0) return;
    argmax_rows_kernel<<<(unsigned)M, CU_THREADS>>>(out, (const act_t *)logits, V);
    CUDA_LAUNCHED();
}

// d += scale · e^(x − lse), then d[target] −= scale (two steps, as the CPU).
static __global__ void xent_bwd_kernel(act_t *dlogits, const act_t *logits, const float *lse, const int32_t *targets,
                                float scale, int M, int V) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)M * V) return;
    size_t m = i / (size_t)V, v = i % (size_t)V;
    float d = act_ld(dlogits[i]) + scale * expf(act_ld(logits[i]) - lse[m]);
    if ((int)v == targets[m]) d -= scale;
    dlogits[i] = act_st(d);
}

static void cu_xent_bwd(void *dlogits, const void *logits, const float *lse, const int32_t *targets, float scale,
                        int M, int V) {
    size_t n = (size_t)M * V;
    if (n == 0) return;
    xent_bwd_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>((act_t *)dlogits, (const act_t *)logits, lse, targets,
                                                              scale, M, V);
    CUDA_LAUNCHED();
}

// ---- the table -------------------------------------------------------------------------------

extern "C" const ops *CUX(ops_cuda)(void) {
    static ops t;
    if (t.name) return &t;
    cu_fill_common(&t, CU_BF16);
    t.embed_fwd = cu_embed_fwd;
    t.embed_bwd = cu_embed_bwd;
    t.matmul_fwd = CUX(cu_matmul_fwd);
    t.matmul_bwd = CUX(cu_matmul_bwd);
    t.act_bwd = CUX(cu_act_bwd);
    t.layernorm_fwd = CUX(cu_layernorm_fwd);
    t.layernorm_bwd = CUX(cu_layernorm_bwd);
    t.glu_fwd = CUX(cu_glu_fwd);
    t.glu_bwd = CUX(cu_glu_bwd);
    t.dropout_fwd = cu_dropout_fwd;
    t.dropout_bwd = cu_dropout_bwd;
    t.attention_fwd = CUX(cu_attention_fwd);
    t.attention_bwd = CUX(cu_attention_bwd);
    t.gather_rows = cu_gather_rows;
    t.scatter_add_rows = cu_scatter_add_rows;
    t.pool_rows_fwd = cu_pool_rows_fwd;
    t.pool_rows_bwd = cu_pool_rows_bwd;
    t.xent_fwd = cu_xent_fwd;
    t.xent_bwd = cu_xent_bwd;
    t.argmax_rows = cu_argmax_rows;
    CUX(cu_fill_m2)(&t);
    t.name = CU_BF16 ? "cuda-bf16" : "cuda-fp32"; // last: marks the table complete
    return &t;
}
