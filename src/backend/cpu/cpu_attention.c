/* cpu_attention.c — multi-head self-attention over unpadded variable-length
 * sequences (ops.h), fp32, flash-style in memory: nothing of size T² is ever
 * held. A task takes one row block of BR queries of one (sequence, head) and
 * keeps its [BR, L] scores in a per-thread buffer; the products go through
 * OpenBLAS sgemm on strided views of qkv (called inside our parallel region,
 * where OpenBLAS runs single-threaded).
 *
 * The forward saves lse = log Σ_j exp(s_ij); the backward recomputes
 * P = exp(s − lse) and uses D_i = dout_i·out_i = Σ_j P'_ij dP'_ij, which holds
 * with dropout too, so dS = P ⊙ (dP − D) with dP = dP' ⊙ mask/(1−p).
 *
 * Determinism: a query row's result depends only on its own scores, and the
 * backward runs the row blocks of one (sequence, head) in order inside one
 * task (dK, dV accumulate over them), so no thread count changes a bit. */
/* Comparisons in the vectorised loops (cpu_exp's clamp) need no FP exception
 * semantics; without this GCC will not if-convert them. Values are unchanged. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include <cblas.h>
#undef I /* <complex.h>, pulled in by cblas.h, defines I; ops.h uses it as a name */
#include <math.h>
#include <stdlib.h>

#include "../../core/err.h"
#include "cpu.h"

#define BR 64 /* query rows per block */

typedef struct {
    int b, i0; /* sequence, first query row of the block (within the sequence) */
} qblock;

/* Row blocks of all sequences, in order; returns their count (*out: caller frees). */
static int make_blocks(const int32_t *cu, int B, int max_seqlen, qblock **out) {
    int n = 0;
    for (int b = 0; b < B; b++) {
        int L = cu[b + 1] - cu[b];
        CHECK(L >= 0 && L <= max_seqlen, "attention: a sequence is longer than max_seqlen");
        n += (L + BR - 1) / BR;
    }
    qblock *q = xmalloc(sizeof(qblock) * (size_t)(n > 0 ? n : 1));
    int k = 0;
    for (int b = 0; b < B; b++)
        for (int i0 = 0; i0 < cu[b + 1] - cu[b]; i0 += BR) q[k++] = (qblock){b, i0};
    *out = q;
    return n;
}

/* ---- row kernels (vectorised) ---- */

/* s[j] −= slope·|i − j| */
CPU_VEC static void row_alibi(float *s, int L, int i, float sl) {
#pragma omp simd
    for (int j = 0; j < L; j++) s[j] -= sl * fabsf((float)(i - j));
}

/* s ← e^(s − max s); returns max s and (in *sum) Σ e^(s − max s), summed in double. */
CPU_VEC static float row_exp_max(float *s, int L, double *sum_out) {
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int j = 0; j < L; j++) mx = s[j] > mx ? s[j] : mx;
    double sum = 0.0;
#pragma omp simd reduction(+ : sum)
    for (int j = 0; j < L; j++) {
        float e = cpu_exp(s[j] - mx);
        s[j] = e;
        sum += e;
    }
    *sum_out = sum;
    return mx;
}

/* s[j] *= a (· m[j] when m) */
CPU_VEC static void row_scale(float *s, const float *m, int L, float a) {
    if (m) {
#pragma omp simd
        for (int j = 0; j < L; j++) s[j] *= a * m[j];
    } else {
#pragma omp simd
        for (int j = 0; j < L; j++) s[j] *= a;
    }
}

/* p ← e^(p − l) */
CPU_VEC static void row_exp_shift(float *p, int L, float l) {
#pragma omp simd
    for (int j = 0; j < L; j++) p[j] = cpu_exp(p[j] - l);
}

/* With dropout: pd = p ⊙ m, dp ⊙= m. Then dS: dp ← p ⊙ (dp − D). */
CPU_VEC static void row_dscores(float *dp, float *pd, const float *p, const float *m, int L, float D) {
    if (m) {
#pragma omp simd
        for (int j = 0; j < L; j++) {
            pd[j] = p[j] * m[j];
            dp[j] *= m[j];
        }
    }
#pragma omp simd
    for (int j = 0; j < L; j++) dp[j] = p[j] * (dp[j] - D);
}

/* S (nq, L) = scale·Q_blk·Kᵀ − slope·|i − j| for query rows i0 … i0+nq−1. */
static void scores(float *S, const float *q, const float *k, int ld, int nq, int L, int dh, float scale, int i0,
                   const float *slope) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, L, dh, scale, q, ld, k, ld, 0.0f, S, L);
    if (!slope) return;
    for (int r = 0; r < nq; r++) row_alibi(S + (size_t)r * L, L, i0 + r, *slope);
}

void cpu_attention_fwd(void *out_, float *lse, const void *qkv_, const int32_t *cu, int B, int T, int max_seqlen,
                       int nh, int dh, const float *slopes, float p_drop, rng_key key) {
    float *out = out_;
    const float *qkv = qkv_;
    const int C = nh * dh, ld = 3 * C;
    const float scale = 1.0f / sqrtf((float)dh), keep_scale = p_drop < 1.0f ? 1.0f / (1.0f - p_drop) : 0.0f;
    qblock *blk;
    int nblk = make_blocks(cu, B, max_seqlen, &blk);
    long ntask = (long)nblk * nh;
    double work = 0.0; /* multiply-adds of the two products */
    for (int b = 0; b < B; b++) work += 2.0 * (cu[b + 1] - cu[b]) * (double)(cu[b + 1] - cu[b]) * C;
    /* A serial run must keep every sgemm below OpenBLAS's threading threshold (cpu.h). */
    int big = (double)BR * max_seqlen * dh > CPU_BLAS_SERIAL_MNK;
    (void)work, (void)big; /* unused without OpenMP */
#pragma omp parallel if (work >= CPU_PAR_MIN * 64.0 || big)
    {
        float *S = xmalloc(sizeof(float) * (size_t)BR * (size_t)(max_seqlen > 0 ? max_seqlen : 1)); /* (BR, L) */
        float *m = p_drop > 0.0f ? xmalloc(sizeof(float) * (size_t)(max_seqlen > 0 ? max_seqlen : 1)) : NULL;
#pragma omp for schedule(dynamic, 1)
        for (long t = 0; t < ntask; t++) {
            int h = (int)(t % nh), b = blk[t / nh].b, i0 = blk[t / nh].i0;
            int r0 = cu[b], L = cu[b + 1] - r0, nq = L - i0 < BR ? L - i0 : BR;
            const float *Q = qkv + (size_t)r0 * ld + (size_t)h * dh, *K = Q + C, *V = Q + 2 * C;
            scores(S, Q + (size_t)i0 * ld, K, ld, nq, L, dh, scale, i0, slopes ? slopes + h : NULL);
            for (int r = 0; r < nq; r++) {
                float *s = S + (size_t)r * L;
                double sum;
                float mx = row_exp_max(s, L, &sum);
                size_t ti = (size_t)r0 + (size_t)(i0 + r);
                lse[(size_t)h * T + ti] = (float)((double)mx + log(sum));
                float inv = (float)(1.0 / sum);
                if (m) { /* P' = P ⊙ mask / (1 − p), element index ((h·T + t_i)·max_seqlen + j) */
                    cpu_dropout_mask(m, ((uint64_t)h * (uint64_t)T + ti) * (uint64_t)max_seqlen, (size_t)L, key,
                                     p_drop, keep_scale);
                }
                row_scale(s, m, L, inv);
            }
            /* out_blk (nq, dh) = P' (nq, L) · V (L, dh) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, dh, L, 1.0f, S, L, V, ld, 0.0f,
                        out + ((size_t)r0 + (size_t)i0) * C + (size_t)h * dh, C);
        }
        free(S);
        free(m);
    }
    free(blk);
}

void cpu_attention_bwd(void *dqkv_, const void *dout_, const void *out_, const float *lse, const void *qkv_,
                       const int32_t *cu, int B, int T, int max_seqlen, int nh, int dh, const float *slopes,
                       float p_drop, rng_key key) {
    float *dqkv = dqkv_;
    const float *dout = dout_, *out = out_, *qkv = qkv_;
    const int C = nh * dh, ld = 3 * C;
    const float scale = 1.0f / sqrtf((float)dh), keep_scale = p_drop < 1.0f ? 1.0f / (1.0f - p_drop) : 0.0f;
    for (int b = 0; b < B; b++) CHECK(cu[b + 1] - cu[b] >= 0 && cu[b + 1] - cu[b] <= max_seqlen, "attention: bad cu_seqlens");
    double work = 0.0;
    for (int b = 0; b < B; b++) work += 4.0 * (cu[b + 1] - cu[b]) * (double)(cu[b + 1] - cu[b]) * C;
    int big = (double)BR * max_seqlen * dh > CPU_BLAS_SERIAL_MNK;
    (void)work, (void)big;
    long ntask = (long)B * nh;
    size_t Lmax = (size_t)(max_seqlen > 0 ? max_seqlen : 1);
#pragma omp parallel if (work >= CPU_PAR_MIN * 64.0 || big)
    {
        float *P = xmalloc(sizeof(float) * BR * Lmax);  /* (BR, L) probabilities */
        float *dP = xmalloc(sizeof(float) * BR * Lmax); /* (BR, L) dP, then dS */
        float *Pd = p_drop > 0.0f ? xmalloc(sizeof(float) * BR * Lmax) : NULL; /* (BR, L) dropped P' */
        float *m = p_drop > 0.0f ? xmalloc(sizeof(float) * Lmax) : NULL;
        float D[BR];
#pragma omp for schedule(dynamic, 1)
        for (long t = 0; t < ntask; t++) {
            int b = (int)(t / nh), h = (int)(t % nh), r0 = cu[b], L = cu[b + 1] - r0;
            size_t hoff = (size_t)h * dh;
            const float *Q = qkv + (size_t)r0 * ld + hoff, *K = Q + C, *V = Q + 2 * C;
            float *dQ = dqkv + (size_t)r0 * ld + hoff, *dK = dQ + C, *dV = dQ + 2 * C;
            for (int i0 = 0; i0 < L; i0 += BR) {
                int nq = L - i0 < BR ? L - i0 : BR;
                const float *dO = dout + ((size_t)r0 + (size_t)i0) * C + hoff; /* (nq, dh), ld C */
                const float *O = out + ((size_t)r0 + (size_t)i0) * C + hoff;
                scores(P, Q + (size_t)i0 * ld, K, ld, nq, L, dh, scale, i0, slopes ? slopes + h : NULL);
                /* dP' (nq, L) = dO · Vᵀ */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, L, dh, 1.0f, dO, C, V, ld, 0.0f, dP, L);
                for (int r = 0; r < nq; r++) {
                    size_t ti = (size_t)r0 + (size_t)(i0 + r);
                    float l = lse[(size_t)h * T + ti], *p = P + (size_t)r * L, *dp = dP + (size_t)r * L;
                    row_exp_shift(p, L, l);
                    double d = 0.0;
                    for (int e = 0; e < dh; e++) d += (double)dO[(size_t)r * C + e] * O[(size_t)r * C + e];
                    D[r] = (float)d;
                    if (m)
                        cpu_dropout_mask(m, ((uint64_t)h * (uint64_t)T + ti) * (uint64_t)max_seqlen, (size_t)L, key,
                                         p_drop, keep_scale);
                    row_dscores(dp, m ? Pd + (size_t)r * L : NULL, p, m, L, D[r]);
                }
                /* dV (L, dh) += P'ᵀ · dO */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L, dh, nq, 1.0f, Pd ? Pd : P, L, dO, C, 1.0f, dV,
                            ld);
                /* dQ_blk (nq, dh) += scale · dS · K;  dK (L, dh) += scale · dSᵀ · Q_blk */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, dh, L, scale, dP, L, K, ld, 1.0f,
                            dQ + (size_t)i0 * ld, ld);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L, dh, nq, scale, dP, L, Q + (size_t)i0 * ld, ld,
                            1.0f, dK, ld);
            }
        }
        free(P);
        free(dP);
        free(Pd);
        free(m);
    }
}
