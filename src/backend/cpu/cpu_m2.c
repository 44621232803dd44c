/* cpu_m2.c — the fp32 CPU backend's M2 (Monarch Mixer) ops: causal short conv,
 * bidirectional FFT long conv, Hyena filter pieces, block-diagonal linear,
 * strided products (ops.h "M2" section, m2bert.md §2–§3).
 *
 * Determinism: every output element and every parameter-gradient sum is
 * computed in an order fixed by the shapes (parallel loops split independent
 * outputs; sums over rows/sequences run sequentially inside one task). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/err.h"
#include "cpu.h"
#include "cpu_m2.h"
#include "cpu_fft.h"

#define M2_COLS 64 /* columns per task in column-parallel reductions */

/* ---- depthwise causal short convolution (kernel 3) ------------------------------ */

void cpu_m2_shortconv_fwd(void *out_, const void *in_, const float *w, const float *b, int B, int L, int C) {
    float *out = out_;
    const float *in = in_;
    int T = B * L;
#pragma omp parallel for schedule(static) if ((size_t)T * C >= CPU_PAR_MIN)
    for (int t = 0; t < T; t++) {
        int n = t % L;
        const float *x0 = in + (size_t)t * C, *x1 = x0 - C, *x2 = x0 - 2 * (size_t)C;
        float *o = out + (size_t)t * C;
        for (int c = 0; c < C; c++) {
            float acc = b[c] + w[3 * c + 2] * x0[c];
            if (n >= 1) acc += w[3 * c + 1] * x1[c];
            if (n >= 2) acc += w[3 * c] * x2[c];
            o[c] = acc;
        }
    }
}

void cpu_m2_shortconv_bwd(void *din_, float *dw, float *db, const void *dout_, const void *in_, const float *w,
                          int B, int L, int C) {
    float *din = din_;
    const float *dout = dout_, *in = in_;
    int T = B * L;
    if (din) {
#pragma omp parallel for schedule(static) if ((size_t)T * C >= CPU_PAR_MIN)
        for (int t = 0; t < T; t++) {
            int n = t % L;
            const float *g0 = dout + (size_t)t * C, *g1 = g0 + C, *g2 = g0 + 2 * (size_t)C;
            float *d = din + (size_t)t * C;
            for (int c = 0; c < C; c++) {
                float acc = w[3 * c + 2] * g0[c];
                if (n + 1 < L) acc += w[3 * c + 1] * g1[c];
                if (n + 2 < L) acc += w[3 * c] * g2[c];
                d[c] += acc;
            }
        }
    }
    int nblk = (C + M2_COLS - 1) / M2_COLS;
#pragma omp parallel for schedule(static) if ((size_t)T * C >= CPU_PAR_MIN)
    for (int k = 0; k < nblk; k++) {
        int c0 = k * M2_COLS, c1 = c0 + M2_COLS < C ? c0 + M2_COLS : C;
        double aw[M2_COLS][3], ab[M2_COLS]; /* sums in double, rows in order */
        memset(aw, 0, sizeof aw);
        memset(ab, 0, sizeof ab);
        for (int t = 0; t < T; t++) {
            int n = t % L;
            const float *g = dout + (size_t)t * C, *x = in + (size_t)t * C;
            for (int c = c0; c < c1; c++) {
                ab[c - c0] += g[c];
                aw[c - c0][2] += (double)g[c] * x[c];
                if (n >= 1) aw[c - c0][1] += (double)g[c] * x[c - C];
                if (n >= 2) aw[c - c0][0] += (double)g[c] * x[c - 2 * C];
            }
        }
        for (int c = c0; c < c1; c++) {
            if (db) db[c] += (float)ab[c - c0];
            for (int j = 0; j < 3; j++) dw[3 * c + j] += (float)aw[c - c0][j];
        }
    }
}

/* ---- strided elementwise product -------------------------------------------------- */

void cpu_m2_mul_fwd(void *out_, const void *a_, int lda, const void *b_, int ldb, const void *add_, int T, int C) {
    float *out = out_;
    const float *a = a_, *b = b_, *add = add_;
#pragma omp parallel for schedule(static) if ((size_t)T * C >= CPU_PAR_MIN)
    for (int t = 0; t < T; t++) {
        const float *ra = a + (size_t)t * lda, *rb = b + (size_t)t * ldb;
        float *o = out + (size_t)t * C;
        if (add) {
            const float *r = add + (size_t)t * C;
            for (int c = 0; c < C; c++) o[c] = ra[c] * rb[c] + r[c];
        } else {
            for (int c = 0; c < C; c++) o[c] = ra[c] * rb[c];
        }
    }
}

void cpu_m2_mul_bwd(void *da_, void *db_, const void *dout_, const void *a_, int lda, const void *b_, int ldb, int T,
                    int C) {
    float *da = da_, *db = db_;
    const float *dout = dout_, *a = a_, *b = b_;
#pragma omp parallel for schedule(static) if ((size_t)T * C >= CPU_PAR_MIN)
    for (int t = 0; t < T; t++) {
        const float *g = dout + (size_t)t * C, *ra = a + (size_t)t * lda, *rb = b + (size_t)t * ldb;
        if (da) {
            float *d = da + (size_t)t * lda;
            for (int c = 0; c < C; c++) d[c] += g[c] * rb[c];
        }
        if (db) {
            float *d = db + (size_t)t * ldb;
            for (int c = 0; c < C; c++) d[c] += g[c] * ra[c];
        }
    }
}

/* ---- bidirectional long convolution by FFT ------------------------------------------
 * Two real channels c0, c1 ride in one complex transform z = a + i·b; their spectra
 * separate as A[k] = (Z[k] + conj Z[−k])/2, B[k] = (Z[k] − conj Z[−k])/(2i), and an
 * inverse transform of P + i·Q (P, Q Hermitian) returns p in the real part, q in the
 * imaginary part. The 2L kernel K (§2.4) puts kf at 0…L−1 and kr[i] at N−1−i. */

/* complex helpers on interleaved doubles */
#define CRE(z, k) (z)[2 * (k)]
#define CIM(z, k) (z)[2 * (k) + 1]

/* spectrum bin k ∈ [0, N) of channel c from the stored half spectrum (H = N/2 + 1 bins) */
static inline void kspec_at(const float *ks, int c, int k, int N, double *re, double *im) {
    int H = N / 2 + 1;
    if (k < H) {
        *re = ks[((size_t)c * H + k) * 2];
        *im = ks[((size_t)c * H + k) * 2 + 1];
    } else {
        *re = ks[((size_t)c * H + (N - k)) * 2];
        *im = -ks[((size_t)c * H + (N - k)) * 2 + 1];
    }
}

/* z = rows of channels c0, c1 (c1 < 0: zero) of a (L, ld) float array from row r0, zero padded to N; then FFT. */
static void load_pair_fft(const fft_plan *p, double *z, const float *x, size_t ld, int L, int c0, int c1) {
    int N = p->n;
    for (int n = 0; n < L; n++) {
        CRE(z, n) = x[(size_t)n * ld + c0];
        CIM(z, n) = c1 >= 0 ? x[(size_t)n * ld + c1] : 0.0;
    }
    for (int n = L; n < N; n++) CRE(z, n) = CIM(z, n) = 0.0;
    fft_run(p, z, 0);
}

/* split bin k of a pair spectrum z into the two channel spectra a, b */
static inline void split_bin(const double *z, int k, int N, double *ar, double *ai, double *br, double *bi) {
    int m = (N - k) & (N - 1);
    double zr = CRE(z, k), zi = CIM(z, k), mr = CRE(z, m), mi = -CIM(z, m); /* conj Z[−k] */
    *ar = 0.5 * (zr + mr);
    *ai = 0.5 * (zi + mi);
    double dr = zr - mr, di = zi - mi; /* (d)/(2i) = (di − i·dr)/2 */
    *br = 0.5 * di;
    *bi = -0.5 * dr;
}

void cpu_m2_kernel_fft(float *kspec, const float *kf, const float *kr, int L, int C) {
    int N = m2_fft_size(L), H = N / 2 + 1, npair = (C + 1) / 2;
    fft_plan p;
    fft_plan_init(&p, N);
#pragma omp parallel if ((size_t)C * N >= CPU_PAR_MIN)
    {
        double *z = xmalloc(sizeof(double) * 2 * (size_t)N); /* (N) complex */
#pragma omp for schedule(static)
        for (int pi = 0; pi < npair; pi++) {
            int c0 = 2 * pi, c1 = c0 + 1 < C ? c0 + 1 : -1;
            for (int m = 0; m < N; m++) {
                const float *src = NULL;
                if (m < L) src = kf + (size_t)m * C;
                else if (m >= N - (L - 1)) src = kr + (size_t)(N - 1 - m) * C;
                CRE(z, m) = src ? src[c0] : 0.0;
                CIM(z, m) = src && c1 >= 0 ? src[c1] : 0.0;
            }
            fft_run(&p, z, 0);
            for (int k = 0; k < H; k++) {
                double ar, ai, br, bi;
                split_bin(z, k, N, &ar, &ai, &br, &bi);
                kspec[((size_t)c0 * H + k) * 2] = (float)ar;
                kspec[((size_t)c0 * H + k) * 2 + 1] = (float)ai;
                if (c1 >= 0) {
                    kspec[((size_t)c1 * H + k) * 2] = (float)br;
                    kspec[((size_t)c1 * H + k) * 2 + 1] = (float)bi;
                }
            }
        }
        free(z);
    }
    fft_plan_free(&p);
}

/* w = IFFT( Xa·Ka' + i·Xb·Kb' ) where X = the pair spectrum in z, K' = K or conj K. */
static void pair_apply(const fft_plan *p, double *w, const double *z, const float *ks, int c0, int c1, int conj) {
    int N = p->n;
    for (int k = 0; k < N; k++) {
        double ar, ai, br, bi, kar, kai, kbr = 0, kbi = 0;
        split_bin(z, k, N, &ar, &ai, &br, &bi);
        kspec_at(ks, c0, k, N, &kar, &kai);
        if (c1 >= 0) kspec_at(ks, c1, k, N, &kbr, &kbi);
        if (conj) { kai = -kai; kbi = -kbi; }
        double pr = ar * kar - ai * kai, pim = ar * kai + ai * kar; /* A·Ka */
        double qr = br * kbr - bi * kbi, qi = br * kbi + bi * kbr;  /* B·Kb */
        CRE(w, k) = pr - qi; /* P + i·Q */
        CIM(w, k) = pim + qr;
    }
    fft_run(p, w, 1);
}

/* out[b] (=, or += with accumulate) = in[b] ∗ K (conj: correlation, the adjoint) + D·in[b],
 * per channel pair through one complex FFT. in, out (B, L, C). */
static void longconv_apply(float *out, const float *in, const float *kspec, const float *D, int B, int L, int C,
                           int conj, int accumulate) {
    int N = m2_fft_size(L), npair = (C + 1) / 2;
    double inv = 1.0 / N;
    fft_plan p;
    fft_plan_init(&p, N);
#pragma omp parallel if ((size_t)B * C * N >= CPU_PAR_MIN)
    {
        double *z = xmalloc(sizeof(double) * 4 * (size_t)N), *w = z + 2 * (size_t)N; /* (N) complex each */
#pragma omp for schedule(static)
        for (int task = 0; task < B * npair; task++) {
            int b = task / npair, c0 = 2 * (task % npair), c1 = c0 + 1 < C ? c0 + 1 : -1;
            const float *ib = in + (size_t)b * L * C;
            float *ob = out + (size_t)b * L * C;
            load_pair_fft(&p, z, ib, (size_t)C, L, c0, c1);
            pair_apply(&p, w, z, kspec, c0, c1, conj);
            for (int n = 0; n < L; n++) {
                size_t i = (size_t)n * C;
                float v0 = (float)(CRE(w, n) * inv + (double)D[c0] * ib[i + c0]);
                ob[i + c0] = accumulate ? ob[i + c0] + v0 : v0;
                if (c1 >= 0) {
                    float v1 = (float)(CIM(w, n) * inv + (double)D[c1] * ib[i + c1]);
                    ob[i + c1] = accumulate ? ob[i + c1] + v1 : v1;
                }
            }
        }
        free(z);
    }
    fft_plan_free(&p);
}

void cpu_m2_longconv_fwd(void *y_, const void *u_, const float *kspec, const float *D, int B, int L, int C) {
    longconv_apply(y_, u_, kspec, D, B, L, C, 0, 0);
}

void cpu_m2_longconv_bwd(void *du_, float *dkf, float *dkr, float *dD, const void *dy_, const void *u_,
                         const float *kspec, const float *D, int B, int L, int C) {
    float *du = du_;
    const float *dy = dy_, *u = u_;
    int N = m2_fft_size(L), npair = (C + 1) / 2;
    double inv = 1.0 / N;
    fft_plan p;
    fft_plan_init(&p, N);
    /* du = correlation of dy with K (= convolution with conj K) + D·dy */
    if (du) longconv_apply(du, dy, kspec, D, B, L, C, 1, 1);
    /* dK = Σ_b IFFT(conj U_b · DY_b); dD = Σ dy·u. One task per channel pair, rows in order. */
#pragma omp parallel if ((size_t)B * C * N >= CPU_PAR_MIN)
    {
        double *z = xmalloc(sizeof(double) * 8 * (size_t)N); /* zu, zg, G (N complex each) + Gb */
        double *zg = z + 2 * (size_t)N, *ga = zg + 2 * (size_t)N, *gb = ga + 2 * (size_t)N;
#pragma omp for schedule(static)
        for (int pi = 0; pi < npair; pi++) {
            int c0 = 2 * pi, c1 = c0 + 1 < C ? c0 + 1 : -1;
            memset(ga, 0, sizeof(double) * 4 * (size_t)N);
            double sd0 = 0, sd1 = 0;
            for (int b = 0; b < B; b++) {
                const float *ub = u + (size_t)b * L * C, *gy = dy + (size_t)b * L * C;
                for (int n = 0; n < L; n++) {
                    sd0 += (double)gy[(size_t)n * C + c0] * ub[(size_t)n * C + c0];
                    if (c1 >= 0) sd1 += (double)gy[(size_t)n * C + c1] * ub[(size_t)n * C + c1];
                }
                load_pair_fft(&p, z, ub, (size_t)C, L, c0, c1);
                load_pair_fft(&p, zg, gy, (size_t)C, L, c0, c1);
                for (int k = 0; k < N; k++) {
                    double uar, uai, ubr, ubi, gar, gai, gbr, gbi;
                    split_bin(z, k, N, &uar, &uai, &ubr, &ubi);
                    split_bin(zg, k, N, &gar, &gai, &gbr, &gbi);
                    CRE(ga, k) += uar * gar + uai * gai; /* conj(Ua)·Ga */
                    CIM(ga, k) += uar * gai - uai * gar;
                    CRE(gb, k) += ubr * gbr + ubi * gbi;
                    CIM(gb, k) += ubr * gbi - ubi * gbr;
                }
            }
            for (int k = 0; k < N; k++) { /* w = Ga + i·Gb, in place in ga */
                double r = CRE(ga, k) - CIM(gb, k), i = CIM(ga, k) + CRE(gb, k);
                CRE(ga, k) = r;
                CIM(ga, k) = i;
            }
            fft_run(&p, ga, 1);
            for (int m = 0; m < L; m++) {
                dkf[(size_t)m * C + c0] += (float)(CRE(ga, m) * inv);
                if (c1 >= 0) dkf[(size_t)m * C + c1] += (float)(CIM(ga, m) * inv);
            }
            for (int i = 0; i + 1 < L; i++) { /* kr[i] sits at N−1−i; kr[L−1] is never used */
                dkr[(size_t)i * C + c0] += (float)(CRE(ga, N - 1 - i) * inv);
                if (c1 >= 0) dkr[(size_t)i * C + c1] += (float)(CIM(ga, N - 1 - i) * inv);
            }
            if (dD) {
                dD[c0] += (float)sd0;
                if (c1 >= 0) dD[c1] += (float)sd1;
            }
        }
        free(z);
    }
    fft_plan_free(&p);
}

/* ---- Hyena filter pieces --------------------------------------------------------------- */

void cpu_m2_sin_fwd(float *out, const float *x, const float *freq, float w_mod, int N, int K) {
    for (int n = 0; n < N; n++)
        for (int j = 0; j < K; j++) {
            float a = w_mod * freq[j] * x[(size_t)n * K + j];
            out[(size_t)n * K + j] = (float)sin((double)a);
        }
}

void cpu_m2_sin_bwd(float *dx, float *dfreq, const float *dout, const float *x, const float *freq, float w_mod, int N,
                    int K) {
    for (int j = 0; j < K; j++) {
        double acc = 0;
        for (int n = 0; n < N; n++) {
            size_t i = (size_t)n * K + j;
            float a = w_mod * freq[j] * x[i];
            double g = (double)dout[i] * cos((double)a) * w_mod;
            if (dx) dx[i] += (float)(g * freq[j]);
            acc += g * x[i];
        }
        if (dfreq) dfreq[j] += (float)acc;
    }
}

/* exp(−t·|δ|) computed as PyTorch does in fp32: the product rounded, then exp */
static inline float decay_at(float t, float delta) { return (float)exp(-(double)(t * fabsf(delta))); }

void cpu_m2_modulate_fwd(float *k, const float *h, const float *t, const float *deltas, int L, int C) {
    for (int n = 0; n < L; n++)
        for (int c = 0; c < C; c++) k[(size_t)n * C + c] = h[(size_t)n * C + c] * decay_at(t[n], deltas[c]);
}

void cpu_m2_modulate_bwd(float *dh, const float *dk, const float *t, const float *deltas, int L, int C) {
    for (int n = 0; n < L; n++)
        for (int c = 0; c < C; c++) dh[(size_t)n * C + c] += dk[(size_t)n * C + c] * decay_at(t[n], deltas[c]);
}

/* ---- block-diagonal linear -------------------------------------------------------------- */

void cpu_blockdiag_fwd(void *out_, const void *inp_, const float *w, const float *b, int N, int C, int OC, int nb) {
    float *out = out_;
    const float *inp = inp_;
    int p = C / nb, q = OC / nb;
    for (int k = 0; k < nb; k++) /* out[:, kq:(k+1)q] = inp[:, kp:(k+1)p] · W[k]ᵀ */
        cpu_gemm(0, 1, N, q, p, 1.0f, inp + (size_t)k * p, C, w + (size_t)k * q * p, p, 0.0f, out + (size_t)k * q, OC);
    if (!b) return;
#pragma omp parallel for schedule(static) if ((size_t)N * OC >= CPU_PAR_MIN)
    for (int n = 0; n < N; n++)
        for (int j = 0; j < OC; j++) out[(size_t)n * OC + j] += b[j];
}

void cpu_blockdiag_bwd(void *dinp, float *dw, float *db, const void *dout_, const void *inp, const float *w, int N,
                       int C, int OC, int nb) {
    const float *dout = dout_;
    int p = C / nb, q = OC / nb;
    for (int k = 0; k < nb; k++) {
        if (dinp) /* dinp_k (N,p) += dout_k (N,q) · W[k] (q,p) */
            cpu_gemm(0, 0, N, p, q, 1.0f, dout + (size_t)k * q, OC, w + (size_t)k * q * p, p, 1.0f,
                     (float *)dinp + (size_t)k * p, C);
        /* dW[k] (q,p) += dout_kᵀ · inp_k */
        cpu_gemm(1, 0, q, p, N, 1.0f, dout + (size_t)k * q, OC, (const float *)inp + (size_t)k * p, C, 1.0f,
                 dw + (size_t)k * q * p, p);
    }
    if (!db) return;
    int nblk = (OC + M2_COLS - 1) / M2_COLS;
#pragma omp parallel for schedule(static) if ((size_t)N * OC >= CPU_PAR_MIN)
    for (int kb = 0; kb < nblk; kb++) {
        int c0 = kb * M2_COLS, c1 = c0 + M2_COLS < OC ? c0 + M2_COLS : OC;
        double acc[M2_COLS] = {0};
        for (int n = 0; n < N; n++)
            for (int c = c0; c < c1; c++) acc[c - c0] += dout[(size_t)n * OC + c];
        for (int c = c0; c < c1; c++) db[c] += (float)acc[c - c0];
    }
}
