/* cpu_dense.c — dense layers (OpenBLAS sgemm + epilogue), activations, the GLU
 * and residual + LayerNorm for the fp32 CPU backend.
 *
 * Column sums (bias and LayerNorm parameter gradients) run in parallel over
 * column blocks and sequentially over rows, in double, so they are the same
 * bits for any thread count. */
/* Comparisons in the vectorised loops (cpu_exp's clamp, cpu_phi's sign) need no
 * FP exception semantics; without this GCC will not if-convert them. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include <cblas.h>
#undef I /* <complex.h>, pulled in by cblas.h, defines I; ops.h uses it as a name */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../../core/err.h"
#include "cpu.h"

#define COL_BLOCK 64 /* columns per task in column sums */
#define ELEM_CHUNK 8192

/* ---- tiled gemm ------------------------------------------------------------------ */

/* Tile edge from the shape alone (never the thread count, so results stay
 * bit-identical for any number of threads): about GEMM_TILES_TARGET tiles, so 16–32
 * threads stay busy even at 1k-token batches, each tile a multiple of 64 between 64
 * and 512 so packing stays a small part of the work. */
#define GEMM_TILES_TARGET 64.0
static int gemm_tile(int M, int N) {
    double t = sqrt((double)M * (double)N / GEMM_TILES_TARGET);
    int e = (int)(t / 64.0 + 0.5) * 64;
    return e < 64 ? 64 : e > 512 ? 512 : e;
}

void cpu_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
              int ldb, float beta, float *C, int ldc) {
    enum CBLAS_TRANSPOSE ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans;
    if (M <= 0 || N <= 0) return;
    if ((double)M * N * K <= CPU_BLAS_SERIAL_MNK) { /* one call, one thread */
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    int tile = gemm_tile(M, N);
    int tm = (M + tile - 1) / tile, tn = (N + tile - 1) / tile;
    /* No `if` here: OpenBLAS must see an active parallel region (or one thread) to stay serial. */
#pragma omp parallel for schedule(dynamic, 1)
    for (int t = 0; t < tm * tn; t++) {
        int i0 = t / tn * tile, j0 = t % tn * tile;
        int mi = M - i0 < tile ? M - i0 : tile, nj = N - j0 < tile ? N - j0 : tile;
        const float *a = transA ? A + i0 : A + (size_t)i0 * lda; /* rows i0… of op(A) */
        const float *b = transB ? B + (size_t)j0 * ldb : B + j0; /* columns j0… of op(B) */
        cblas_sgemm(CblasRowMajor, ta, tb, mi, nj, K, alpha, a, lda, b, ldb, beta, C + (size_t)i0 * ldc + j0, ldc);
    }
}

/* ---- dense layers ---------------------------------------------------------------- */

/* One row of the epilogue: d += b (when b); o = act(d). */
CPU_VEC static void row_bias_act(float *d, float *o, const float *b, int n, act_fn act) {
    if (b) {
#pragma omp simd
        for (int j = 0; j < n; j++) d[j] += b[j];
    }
    if (act == ACT_GELU) {
#pragma omp simd
        for (int j = 0; j < n; j++) o[j] = cpu_gelu(d[j]);
    } else if (act == ACT_TANH) {
        for (int j = 0; j < n; j++) o[j] = tanhf(d[j]); /* the pooler only: not worth vectorising */
    } else if (o != d) {
        memcpy(o, d, sizeof(float) * (size_t)n);
    }
}

void cpu_matmul_fwd(void *out_, void *pre_, const void *inp, const float *w, const float *b, int N, int C, int OC,
                    act_fn act) {
    float *out = out_, *pre = pre_;
    CHECK(act == ACT_NONE || (pre != NULL && pre != out), "matmul_fwd with an activation needs its own pre buffer");
    if (N <= 0 || OC <= 0) return;
    float *dst = pre ? pre : out; /* (N, OC): the pre-activation */
    cpu_gemm(0, 1, N, OC, C, 1.0f, inp, C, w, C, 0.0f, dst, OC);
    if (!b && act == ACT_NONE && dst == out) return;
#pragma omp parallel for schedule(static) if ((size_t)N * OC >= CPU_PAR_MIN)
    for (int n = 0; n < N; n++) row_bias_act(dst + (size_t)n * OC, out + (size_t)n * OC, b, OC, act);
}

/* db[c] += Σ_n x[n, c] over columns [c0, c1), rows in order, in double. */
CPU_VEC static void colsum_add(float *db, const float *x, int N, int C, int c0, int c1) {
    double acc[COL_BLOCK] = {0};
    int w = c1 - c0;
    for (int n = 0; n < N; n++) {
        const float *r = x + (size_t)n * C + c0;
#pragma omp simd
        for (int c = 0; c < w; c++) acc[c] += r[c];
    }
    for (int c = 0; c < w; c++) db[c0 + c] += (float)acc[c];
}

void cpu_matmul_bwd(void *dinp, float *dw, float *db, const void *dout, const void *inp, const float *w, int N, int C,
                    int OC) {
    if (N <= 0) return;
    if (dinp) /* dinp (N,C) += dout (N,OC) · w (OC,C) */
        cpu_gemm(0, 0, N, C, OC, 1.0f, dout, OC, w, C, 1.0f, dinp, C);
    if (dw) /* dw (OC,C) += doutᵀ · inp (N,C) */
        cpu_gemm(1, 0, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dw, C);
    if (db) {
        int nblk = (OC + COL_BLOCK - 1) / COL_BLOCK;
#pragma omp parallel for schedule(static) if ((size_t)N * OC >= CPU_PAR_MIN)
        for (int k = 0; k < nblk; k++) {
            int c0 = k * COL_BLOCK, c1 = c0 + COL_BLOCK < OC ? c0 + COL_BLOCK : OC;
            colsum_add(db, dout, N, OC, c0, c1);
        }
    }
}

/* The f32 dense layer (ops.h): the CPU's activations are f32, so it is matmul itself. */
void cpu_matmul_f32_fwd(float *out, const float *inp, const float *w, const float *b, int N, int C, int OC) {
    cpu_matmul_fwd(out, NULL, inp, w, b, N, C, OC, ACT_NONE);
}
void cpu_matmul_f32_bwd(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w, int N,
                        int C, int OC) {
    cpu_matmul_bwd(dinp, dw, db, dout, inp, w, N, C, OC);
}

/* dpre += dout ⊙ act'(pre) over n elements. */
CPU_VEC static void vec_act_bwd(float *dpre, const float *dout, const float *pre, size_t n, act_fn act) {
    if (act == ACT_GELU) {
#pragma omp simd
        for (size_t i = 0; i < n; i++) dpre[i] += dout[i] * cpu_gelu_grad(pre[i]);
    } else if (act == ACT_TANH) {
        for (size_t i = 0; i < n; i++) {
            float t = tanhf(pre[i]);
            dpre[i] += dout[i] * (1.0f - t * t);
        }
    } else {
#pragma omp simd
        for (size_t i = 0; i < n; i++) dpre[i] += dout[i];
    }
}

void cpu_act_bwd(void *dpre_, const void *dout_, const void *pre_, size_t n, act_fn act) {
    float *dpre = dpre_;
    const float *dout = dout_, *pre = pre_;
    size_t nchunk = (n + ELEM_CHUNK - 1) / ELEM_CHUNK;
#pragma omp parallel for schedule(static) if (n >= CPU_PAR_MIN)
    for (size_t ch = 0; ch < nchunk; ch++) {
        size_t i0 = ch * ELEM_CHUNK, len = n - i0 < ELEM_CHUNK ? n - i0 : ELEM_CHUNK;
        vec_act_bwd(dpre + i0, dout + i0, pre ? pre + i0 : NULL, len, act);
    }
}

/* ---- gated linear unit ---------------------------------------------------------- */

/* o = GELU(g) ⊙ v */
CPU_VEC static void row_glu(float *o, const float *g, const float *v, int I) {
#pragma omp simd
    for (int j = 0; j < I; j++) o[j] = cpu_gelu(g[j]) * v[j];
}

/* dg = d ⊙ v ⊙ GELU'(g); dv = d ⊙ GELU(g) (overwritten: ops.h) */
CPU_VEC static void row_glu_bwd(float *dg, float *dv, const float *d, const float *g, const float *v, int I) {
#pragma omp simd
    for (int j = 0; j < I; j++) {
        float gauss, cdf = cpu_phi(g[j], &gauss);
        dg[j] = d[j] * v[j] * (cdf + g[j] * (0.39894228040143268f * gauss));
        dv[j] = d[j] * (g[j] * cdf);
    }
}

/* The CPU applies the dropout as its own pass (dropout_fwd/bwd): the same values as a fused loop. */
void cpu_glu_fwd(void *out_, const void *u_, int N, int I, float p_drop, rng_key key) {
    float *out = out_;
    const float *u = u_;
#pragma omp parallel for schedule(static) if ((size_t)N * I >= CPU_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *g = u + (size_t)n * 2 * I; /* gated half, then linear half */
        row_glu(out + (size_t)n * I, g, g + I, I);
    }
    if (p_drop > 0.0f) cpu_dropout_fwd(out, out, (size_t)N * I, p_drop, key);
}

void cpu_glu_bwd(void *du_, const void *dout_, const void *u_, int N, int I, float p_drop, rng_key key) {
    float *du = du_, *masked = NULL;
    const float *dout = dout_, *u = u_;
    if (p_drop > 0.0f) { /* ∂L/∂h = dropout_bwd(dout) */
        masked = xcalloc((size_t)N * I, sizeof *masked);
        cpu_dropout_bwd(masked, dout, (size_t)N * I, p_drop, key);
        dout = masked;
    }
#pragma omp parallel for schedule(static) if ((size_t)N * I >= CPU_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *g = u + (size_t)n * 2 * I;
        float *dg = du + (size_t)n * 2 * I;
        row_glu_bwd(dg, dg + I, dout + (size_t)n * I, g, g + I, I);
    }
    free(masked);
}

/* ---- residual + LayerNorm ---------------------------------------------------------- */

/* One row: s = x + res (res may be NULL); mean and biased variance in double,
 * two passes; rstd = 1/√(var + eps) as in PyTorch; then s and out written
 * element by element, so out may alias x or res. */
CPU_VEC static void row_layernorm(float *o, float *so, float *mean, float *rstd, const float *x, const float *res,
                                  const float *g, const float *b, int C, float eps) {
    double sum = 0.0, var = 0.0;
    if (res) {
#pragma omp simd reduction(+ : sum)
        for (int c = 0; c < C; c++) sum += x[c] + res[c];
    } else {
#pragma omp simd reduction(+ : sum)
        for (int c = 0; c < C; c++) sum += x[c];
    }
    double mu = sum / C;
    if (res) {
#pragma omp simd reduction(+ : var)
        for (int c = 0; c < C; c++) {
            double d = (double)(x[c] + res[c]) - mu;
            var += d * d;
        }
    } else {
#pragma omp simd reduction(+ : var)
        for (int c = 0; c < C; c++) {
            double d = (double)x[c] - mu;
            var += d * d;
        }
    }
    float m = (float)mu, r = (float)(1.0 / sqrt(var / C + (double)eps));
    *mean = m;
    *rstd = r;
    if (res && so) {
#pragma omp simd
        for (int c = 0; c < C; c++) {
            float s = x[c] + res[c];
            so[c] = s;
            o[c] = (s - m) * r * g[c] + b[c];
        }
    } else if (res) {
#pragma omp simd
        for (int c = 0; c < C; c++) o[c] = (x[c] + res[c] - m) * r * g[c] + b[c];
    } else {
        if (so && so != x) memcpy(so, x, sizeof(float) * (size_t)C);
#pragma omp simd
        for (int c = 0; c < C; c++) o[c] = (x[c] - m) * r * g[c] + b[c];
    }
}

void cpu_layernorm_fwd(void *out_, void *s_out_, float *mean, float *rstd, const void *x_, const void *res_,
                       const float *g, const float *b, int N, int C, float eps) {
    float *out = out_, *s_out = s_out_;
    const float *x = x_, *res = res_;
#pragma omp parallel for schedule(static) if ((size_t)N * C >= CPU_PAR_MIN)
    for (int n = 0; n < N; n++) {
        size_t off = (size_t)n * C;
        row_layernorm(out + off, s_out ? s_out + off : NULL, mean + n, rstd + n, x + off, res ? res + off : NULL, g, b,
                      C, eps);
    }
}

/* ds += rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂ ⊙ x̂)), dx̂ = dout ⊙ g (PyTorch's formula). */
/* One row of ds += rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂ ⊙ x̂)), dx̂ = dout ⊙ g. */
CPU_VEC static void row_layernorm_bwd(float *ds, const float *dy, const float *s, const float *g, float m, float r,
                                      int C) {
    double a = 0.0, bsum = 0.0;
#pragma omp simd reduction(+ : a, bsum)
    for (int c = 0; c < C; c++) {
        float dxh = dy[c] * g[c];
        a += dxh;
        bsum += (double)dxh * ((s[c] - m) * r);
    }
    float ma = (float)(a / C), mb = (float)(bsum / C);
#pragma omp simd
    for (int c = 0; c < C; c++) ds[c] += r * (dy[c] * g[c] - ma - (s[c] - m) * r * mb);
}

/* One row's share of the parameter gradients, w columns: ag += dy ⊙ x̂, ab += dy. */
CPU_VEC static void col_ln_grads(double *ag, double *ab, const float *dy, const float *s, float m, float r, int w) {
#pragma omp simd
    for (int c = 0; c < w; c++) {
        ag[c] += dy[c] * ((s[c] - m) * r);
        ab[c] += dy[c];
    }
}

void cpu_layernorm_bwd(void *ds_, float *dg, float *db, const void *dout_, const void *s_, const float *g,
                       const float *mean, const float *rstd, int N, int C) {
    float *ds = ds_;
    const float *dout = dout_, *s = s_;
    if (ds) {
#pragma omp parallel for schedule(static) if ((size_t)N * C >= CPU_PAR_MIN)
        for (int n = 0; n < N; n++) {
            size_t off = (size_t)n * C;
            row_layernorm_bwd(ds + off, dout + off, s + off, g, mean[n], rstd[n], C);
        }
    }
    if (dg || db) { /* column blocks in parallel, rows in order, in double */
        int nblk = (C + COL_BLOCK - 1) / COL_BLOCK;
#pragma omp parallel for schedule(static) if ((size_t)N * C >= CPU_PAR_MIN)
        for (int k = 0; k < nblk; k++) {
            int c0 = k * COL_BLOCK, c1 = c0 + COL_BLOCK < C ? c0 + COL_BLOCK : C;
            double ag[COL_BLOCK] = {0}, ab[COL_BLOCK] = {0};
            for (int n = 0; n < N; n++)
                col_ln_grads(ag, ab, dout + (size_t)n * C + c0, s + (size_t)n * C + c0, mean[n], rstd[n], c1 - c0);
            for (int c = c0; c < c1; c++) {
                if (dg) dg[c] += (float)ag[c - c0];
                if (db) db[c] += (float)ab[c - c0];
            }
        }
    }
}

const char *ops_cpu_describe(void) {
    static char buf[256];
    snprintf(buf, sizeof buf, "OpenBLAS %s; kernels: %s", openblas_get_config(), openblas_get_corename());
    return buf;
}

const char *ops_cpu_preferred_coretype(void) {
    static const char *const generic[] = {"prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "sandybridge"};
    const char *cur = openblas_get_corename();
    int is_generic = 0;
    for (size_t i = 0; i < sizeof generic / sizeof generic[0]; i++) is_generic |= !strcasecmp(cur, generic[i]);
    if (!is_generic) return NULL;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
    return NULL;
}
