// cuda_dense.cu — dense layers (GEMM + bias/activation epilogue), activation
// backward, the GLU and residual + LayerNorm, fp32, for the CUDA backend.
// Row statistics and column sums are taken in double, as the CPU backend does.
#include "cuda_common.h"

// ---- dense layers -------------------------------------------------------------

// d (N,OC) += b per row (when b); o = act(d).
__global__ void bias_act_kernel(float *o, float *d, const float *b, size_t n, int OC, int act) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float v = d[i];
    if (b) {
        v += b[i % (size_t)OC];
        d[i] = v;
    }
    if (act == ACT_GELU) o[i] = cu_gelu(v);
    else if (act == ACT_TANH) o[i] = tanhf(v);
    else o[i] = v;
}

void cu_matmul_fwd(void *out_, void *pre_, const void *inp, const float *w, const float *b, int N, int C, int OC,
                   act_fn act) {
    float *out = (float *)out_, *pre = (float *)pre_;
    if (act != ACT_NONE && (pre == NULL || pre == out)) {
        fprintf(stderr, "%s:%d: matmul_fwd with an activation needs its own pre buffer\n", __FILE__, __LINE__);
        abort();
    }
    if (N <= 0 || OC <= 0) return;
    float *dst = pre ? pre : out; // (N, OC): the pre-activation
    cu_gemm(0, 1, N, OC, C, (const float *)inp, C, w, C, 0.0f, dst, OC);
    if (!b && act == ACT_NONE && dst == out) return;
    size_t n = (size_t)N * OC;
    bias_act_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>(out, dst, b, n, OC, (int)act);
    CUDA_LAUNCHED();
}

// db[c] += Σ_n x[n, c], one thread per column, rows in order, in double.
__global__ void colsum_add_kernel(float *db, const float *x, int N, int C) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    double acc = 0.0;
    for (int n = 0; n < N; n++) acc += x[(size_t)n * C + c];
    db[c] += (float)acc;
}

void cu_matmul_bwd(void *dinp, float *dw, float *db, const void *dout, const void *inp, const float *w, int N, int C,
                   int OC) {
    if (N <= 0) return;
    if (dinp) // dinp (N,C) += dout (N,OC) · w (OC,C)
        cu_gemm(0, 0, N, C, OC, (const float *)dout, OC, w, C, 1.0f, (float *)dinp, C);
    if (dw) // dw (OC,C) += doutᵀ · inp (N,C)
        cu_gemm(1, 0, OC, C, N, (const float *)dout, OC, (const float *)inp, C, 1.0f, dw, C);
    if (db) {
        colsum_add_kernel<<<cu_blocks((size_t)OC, CU_THREADS), CU_THREADS>>>(db, (const float *)dout, N, OC);
        CUDA_LAUNCHED();
    }
}

__global__ void act_bwd_kernel(float *dpre, const float *dout, const float *pre, size_t n, int act) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    if (act == ACT_GELU) dpre[i] += dout[i] * cu_gelu_grad(pre[i]);
    else if (act == ACT_TANH) {
        float t = tanhf(pre[i]);
        dpre[i] += dout[i] * (1.0f - t * t);
    } else dpre[i] += dout[i];
}

void cu_act_bwd(void *dpre, const void *dout, const void *pre, size_t n, act_fn act) {
    if (n == 0) return;
    act_bwd_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>((float *)dpre, (const float *)dout, (const float *)pre,
                                                             n, (int)act);
    CUDA_LAUNCHED();
}

// ---- gated linear unit -----------------------------------------------------------

// out[n, j] = GELU(u[n, j]) · u[n, width + j]
__global__ void glu_fwd_kernel(float *out, const float *u, int N, int width) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)N * width) return;
    size_t n = i / (size_t)width, j = i % (size_t)width;
    const float *g = u + n * 2 * (size_t)width;
    out[i] = cu_gelu(g[j]) * g[width + j];
}

// dg += d·v·GELU'(g); dv += d·GELU(g)
__global__ void glu_bwd_kernel(float *du, const float *dout, const float *u, int N, int width) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)N * width) return;
    size_t n = i / (size_t)width, j = i % (size_t)width;
    const float *g = u + n * 2 * (size_t)width;
    float *dg = du + n * 2 * (size_t)width;
    float x = g[j], v = g[width + j], d = dout[i], cdf = cu_phi(x);
    dg[j] += d * v * (cdf + x * (0.39894228040143268f * cu_gauss(x)));
    dg[width + j] += d * (x * cdf);
}

void cu_glu_fwd(void *out, const void *u, int N, int width) {
    size_t n = (size_t)N * width;
    if (n == 0) return;
    glu_fwd_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>((float *)out, (const float *)u, N, width);
    CUDA_LAUNCHED();
}

void cu_glu_bwd(void *du, const void *dout, const void *u, int N, int width) {
    size_t n = (size_t)N * width;
    if (n == 0) return;
    glu_bwd_kernel<<<cu_blocks(n, CU_THREADS), CU_THREADS>>>((float *)du, (const float *)dout, (const float *)u, N,
                                                             width);
    CUDA_LAUNCHED();
}

// ---- residual + LayerNorm ------------------------------------------------------------

// One block per row: s = x + res; mean and biased variance in double, two passes;
// rstd = 1/√(var + eps). Each thread reads its elements before anyone writes, and
// writes only its own elements, so out may alias x or res.
__global__ void layernorm_fwd_kernel(float *out, float *s_out, float *mean, float *rstd, const float *x,
                                     const float *res, const float *g, const float *b, int C, float eps) {
    __shared__ double sh[CU_THREADS];
    size_t off = (size_t)blockIdx.x * C;
    const float *xr = x + off, *rr = res ? res + off : NULL;
    double sum = 0.0;
    for (int c = threadIdx.x; c < C; c += CU_THREADS) sum += rr ? xr[c] + rr[c] : xr[c];
    double mu = cu_block_sum(sum, sh) / C;
    double var = 0.0;
    for (int c = threadIdx.x; c < C; c += CU_THREADS) {
        double d = (double)(rr ? xr[c] + rr[c] : xr[c]) - mu;
        var += d * d;
    }
    var = cu_block_sum(var, sh) / C;
    float m = (float)mu, r = (float)(1.0 / sqrt(var + (double)eps));
    if (threadIdx.x == 0) {
        mean[blockIdx.x] = m;
        rstd[blockIdx.x] = r;
    }
    for (int c = threadIdx.x; c < C; c += CU_THREADS) {
        float s = rr ? xr[c] + rr[c] : xr[c];
        if (s_out) s_out[off + c] = s;
        out[off + c] = (s - m) * r * g[c] + b[c];
    }
}

void cu_layernorm_fwd(void *out, void *s_out, float *mean, float *rstd, const void *x, const void *res,
                      const float *g, const float *b, int N, int C, float eps) {
    if (N <= 0) return;
    layernorm_fwd_kernel<<<(unsigned)N, CU_THREADS>>>((float *)out, (float *)s_out, mean, rstd, (const float *)x,
                                                      (const float *)res, g, b, C, eps);
    CUDA_LAUNCHED();
}

// One block per row: ds += rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂ ⊙ x̂)), dx̂ = dout ⊙ g.
__global__ void layernorm_bwd_kernel(float *ds, const float *dout, const float *s, const float *g,
                                     const float *mean, const float *rstd, int C) {
    __shared__ double sh[CU_THREADS];
    size_t off = (size_t)blockIdx.x * C;
    const float *dy = dout + off, *sr = s + off;
    float m = mean[blockIdx.x], r = rstd[blockIdx.x];
    double a = 0.0, bs = 0.0;
    for (int c = threadIdx.x; c < C; c += CU_THREADS) {
        float dxh = dy[c] * g[c];
        a += dxh;
        bs += (double)dxh * ((sr[c] - m) * r);
    }
    float ma = (float)(cu_block_sum(a, sh) / C), mb = (float)(cu_block_sum(bs, sh) / C);
    for (int c = threadIdx.x; c < C; c += CU_THREADS) ds[off + c] += r * (dy[c] * g[c] - ma - (sr[c] - m) * r * mb);
}

// One thread per column: dg += Σ_n dy ⊙ x̂, db += Σ_n dy, rows in order, in double.
__global__ void layernorm_params_kernel(float *dg, float *db, const float *dout, const float *s, const float *mean,
                                        const float *rstd, int N, int C) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    double ag = 0.0, ab = 0.0;
    for (int n = 0; n < N; n++) {
        float dy = dout[(size_t)n * C + c];
        ag += dy * ((s[(size_t)n * C + c] - mean[n]) * rstd[n]);
        ab += dy;
    }
    if (dg) dg[c] += (float)ag;
    if (db) db[c] += (float)ab;
}

void cu_layernorm_bwd(void *ds, float *dg, float *db, const void *dout, const void *s, const float *g,
                      const float *mean, const float *rstd, int N, int C) {
    if (N <= 0) return;
    if (ds) {
        layernorm_bwd_kernel<<<(unsigned)N, CU_THREADS>>>((float *)ds, (const float *)dout, (const float *)s, g, mean,
                                                          rstd, C);
        CUDA_LAUNCHED();
    }
    if (dg || db) {
        layernorm_params_kernel<<<cu_blocks((size_t)C, CU_THREADS), CU_THREADS>>>(
            dg, db, (const float *)dout, (const float *)s, mean, rstd, N, C);
        CUDA_LAUNCHED();
    }
}
