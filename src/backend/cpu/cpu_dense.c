/* cpu_dense.c — dense layers (OpenBLAS sgemm + epilogue), activations, the GLU
 * and residual + LayerNorm for the fp32 CPU backend.
 *
 * Column sums (bias and LayerNorm parameter gradients) run in parallel over
 * column blocks and sequentially over rows, in double, so they are the same
 * bits for any thread count. */
#include <cblas.h>
#undef I /* <complex.h>, pulled in by cblas.h, defines I; ops.h uses it as a name */
#include <math.h>
#include <string.h>

#include "../../core/err.h"
#include "cpu.h"

#define COL_BLOCK 64 /* columns per task in column sums */
#define ELEM_CHUNK 8192

/* ---- dense layers ---------------------------------------------------------------- */

void cpu_matmul_fwd(void *out_, void *pre_, const void *inp, const float *w, const float *b, int N, int C, int OC,
                    act_fn act) {
    float *out = out_, *pre = pre_;
    CHECK(act == ACT_NONE || (pre != NULL && pre != out), "matmul_fwd with an activation needs its own pre buffer");
    if (N <= 0 || OC <= 0) return;
    float *dst = pre ? pre : out; /* (N, OC): the pre-activation */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, w, C, 0.0f, dst, OC);
    if (!b && act == ACT_NONE && dst == out) return;
#pragma omp parallel for schedule(static) if ((size_t)N * OC >= CPU_PAR_MIN)
    for (int n = 0; n < N; n++) {
        float *d = dst + (size_t)n * OC, *o = out + (size_t)n * OC;
        if (b)
            for (int j = 0; j < OC; j++) d[j] += b[j];
        switch (act) {
        case ACT_GELU: for (int j = 0; j < OC; j++) o[j] = cpu_gelu(d[j]); break;
        case ACT_TANH: for (int j = 0; j < OC; j++) o[j] = tanhf(d[j]); break;
        default: if (o != d) memcpy(o, d, sizeof(float) * (size_t)OC); break;
        }
    }
}

/* db[c] += Σ_n x[n, c] over columns [c0, c1), rows in order, in double. */
static void colsum_add(float *db, const float *x, int N, int C, int c0, int c1) {
    double acc[COL_BLOCK] = {0};
    for (int n = 0; n < N; n++) {
        const float *r = x + (size_t)n * C;
        for (int c = c0; c < c1; c++) acc[c - c0] += r[c];
    }
    for (int c = c0; c < c1; c++) db[c] += (float)acc[c - c0];
}

void cpu_matmul_bwd(void *dinp, float *dw, float *db, const void *dout, const void *inp, const float *w, int N, int C,
                    int OC) {
    if (N <= 0) return;
    if (dinp) /* dinp (N,C) += dout (N,OC) · w (OC,C) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC, w, C, 1.0f, dinp, C);
    if (dw) /* dw (OC,C) += doutᵀ · inp (N,C) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dw, C);
    if (db) {
        int nblk = (OC + COL_BLOCK - 1) / COL_BLOCK;
#pragma omp parallel for schedule(static) if ((size_t)N * OC >= CPU_PAR_MIN)
        for (int k = 0; k < nblk; k++) {
            int c0 = k * COL_BLOCK, c1 = c0 + COL_BLOCK < OC ? c0 + COL_BLOCK : OC;
            colsum_add(db, dout, N, OC, c0, c1);
        }
    }
}

void cpu_act_bwd(void *dpre_, const void *dout_, const void *pre_, size_t n, act_fn act) {
    float *dpre = dpre_;
    const float *dout = dout_, *pre = pre_;
    size_t nchunk = (n + ELEM_CHUNK - 1) / ELEM_CHUNK;
#pragma omp parallel for schedule(static) if (n >= CPU_PAR_MIN)
    for (size_t ch = 0; ch < nchunk; ch++) {
        size_t i0 = ch * ELEM_CHUNK, i1 = n - i0 < ELEM_CHUNK ? n : i0 + ELEM_CHUNK;
        switch (act) {
        case ACT_GELU:
            for (size_t i = i0; i < i1; i++) dpre[i] += dout[i] * cpu_gelu_grad(pre[i]);
            break;
        case ACT_TANH:
            for (size_t i = i0; i < i1; i++) {
                float t = tanhf(pre[i]);
                dpre[i] += dout[i] * (1.0f - t * t);
            }
            break;
        default:
            for (size_t i = i0; i < i1; i++) dpre[i] += dout[i];
            break;
        }
    }
}

/* ---- gated linear unit ---------------------------------------------------------- */

void cpu_glu_fwd(void *out_, const void *u_, int N, int I) {
    float *out = out_;
    const float *u = u_;
#pragma omp parallel for schedule(static) if ((size_t)N * I >= CPU_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *g = u + (size_t)n * 2 * I, *v = g + I; /* gated half, linear half */
        float *o = out + (size_t)n * I;
        for (int j = 0; j < I; j++) o[j] = cpu_gelu(g[j]) * v[j];
    }
}

void cpu_glu_bwd(void *du_, const void *dout_, const void *u_, int N, int I) {
    float *du = du_;
    const float *dout = dout_, *u = u_;
#pragma omp parallel for schedule(static) if ((size_t)N * I >= CPU_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *g = u + (size_t)n * 2 * I, *v = g + I, *d = dout + (size_t)n * I;
        float *dg = du + (size_t)n * 2 * I, *dv = dg + I;
        for (int j = 0; j < I; j++) {
            dg[j] += d[j] * v[j] * cpu_gelu_grad(g[j]);
            dv[j] += d[j] * cpu_gelu(g[j]);
        }
    }
}

/* ---- residual + LayerNorm ---------------------------------------------------------- */

/* Two passes in double (mean, then biased variance), then one pass that writes
 * s and out element by element, so out may alias x or res. rstd = 1/√(var + eps)
 * as in PyTorch. */
void cpu_layernorm_fwd(void *out_, void *s_out_, float *mean, float *rstd, const void *x_, const void *res_,
                       const float *g, const float *b, int N, int C, float eps) {
    float *out = out_, *s_out = s_out_;
    const float *x = x_, *res = res_;
#pragma omp parallel for schedule(static) if ((size_t)N * C >= CPU_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * C, *rr = res ? res + (size_t)n * C : NULL;
        double sum = 0.0;
        for (int c = 0; c < C; c++) sum += rr ? xr[c] + rr[c] : xr[c];
        double mu = sum / C, var = 0.0;
        for (int c = 0; c < C; c++) {
            double d = (double)(rr ? xr[c] + rr[c] : xr[c]) - mu;
            var += d * d;
        }
        var /= C;
        float m = (float)mu, r = (float)(1.0 / sqrt(var + (double)eps));
        mean[n] = m;
        rstd[n] = r;
        float *o = out + (size_t)n * C, *so = s_out ? s_out + (size_t)n * C : NULL;
        for (int c = 0; c < C; c++) {
            float s = rr ? xr[c] + rr[c] : xr[c];
            if (so) so[c] = s;
            o[c] = (s - m) * r * g[c] + b[c];
        }
    }
}

/* ds += rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂ ⊙ x̂)), dx̂ = dout ⊙ g (PyTorch's formula). */
void cpu_layernorm_bwd(void *ds_, float *dg, float *db, const void *dout_, const void *s_, const float *g,
                       const float *mean, const float *rstd, int N, int C) {
    float *ds = ds_;
    const float *dout = dout_, *s = s_;
    if (ds) {
#pragma omp parallel for schedule(static) if ((size_t)N * C >= CPU_PAR_MIN)
        for (int n = 0; n < N; n++) {
            const float *dy = dout + (size_t)n * C, *sr = s + (size_t)n * C;
            float m = mean[n], r = rstd[n];
            double a = 0.0, bsum = 0.0;
            for (int c = 0; c < C; c++) {
                float dxh = dy[c] * g[c];
                a += dxh;
                bsum += (double)dxh * ((sr[c] - m) * r);
            }
            float ma = (float)(a / C), mb = (float)(bsum / C);
            float *d = ds + (size_t)n * C;
            for (int c = 0; c < C; c++) d[c] += r * (dy[c] * g[c] - ma - (sr[c] - m) * r * mb);
        }
    }
    if (dg || db) {
        int nblk = (C + COL_BLOCK - 1) / COL_BLOCK;
#pragma omp parallel for schedule(static) if ((size_t)N * C >= CPU_PAR_MIN)
        for (int k = 0; k < nblk; k++) {
            int c0 = k * COL_BLOCK, c1 = c0 + COL_BLOCK < C ? c0 + COL_BLOCK : C;
            double ag[COL_BLOCK] = {0}, ab[COL_BLOCK] = {0};
            for (int n = 0; n < N; n++) {
                const float *dy = dout + (size_t)n * C, *sr = s + (size_t)n * C;
                float m = mean[n], r = rstd[n];
                for (int c = c0; c < c1; c++) {
                    ag[c - c0] += dy[c] * ((sr[c] - m) * r);
                    ab[c - c0] += dy[c];
                }
            }
            for (int c = c0; c < c1; c++) {
                if (dg) dg[c] += (float)ag[c - c0];
                if (db) db[c] += (float)ab[c - c0];
            }
        }
    }
}
