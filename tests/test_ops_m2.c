/* test_ops_m2.c — the CPU backend's M2 ops (ops.h "M2" section) against direct
 * double-precision formulas written from m2bert.md (§2.2 short conv, §2.3
 * filter pieces, §2.4 the O(L²) long-convolution form, §3.1 block-diagonal
 * linear), backward ops against finite differences or the differentiated
 * direct form, gradient accumulation (+=), and thread-count determinism. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../src/backend/ops.h"
#include "../src/core/err.h"
#include "../src/core/rng.h"
#include "test.h"

static float *rnd(size_t n, uint32_t id, float scale) {
    float *x = xmalloc((n ? n : 1) * sizeof *x);
    rng_key k = {.seed = 777, .stream = RNG_STREAM_FIXTURE | id};
    for (size_t i = 0; i < n; i++) x[i] = scale * (2.0f * rng_uniform(k, i) - 1.0f);
    return x;
}

static float *filled(size_t n, float v) {
    float *x = xmalloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = v;
    return x;
}

/* max |a − b| / max(|b|, floor) over n elements, b in double */
static double rel_err(const float *a, const double *b, size_t n, double floor) {
    double e = 0, m = floor;
    for (size_t i = 0; i < n; i++) {
        e = fmax(e, fabs((double)a[i] - b[i]));
        m = fmax(m, fabs(b[i]));
    }
    return e / m;
}

/* ---- long convolution: the direct form of §2.4 ------------------------------------------ */

/* y[b,n,c] = Σ_{m≤n} kf[m,c]·u[b,n−m,c] + Σ_{j>n} kr[j−n−1,c]·u[b,j,c] + D[c]·u[b,n,c] */
static void longconv_direct(double *y, const float *u, const float *kf, const float *kr, const float *D, int B, int L,
                            int C) {
    for (int b = 0; b < B; b++)
        for (int n = 0; n < L; n++)
            for (int c = 0; c < C; c++) {
                const float *ub = u + (size_t)b * L * C;
                double acc = (double)D[c] * ub[(size_t)n * C + c];
                for (int m = 0; m <= n; m++) acc += (double)kf[(size_t)m * C + c] * ub[(size_t)(n - m) * C + c];
                for (int j = n + 1; j < L; j++) acc += (double)kr[(size_t)(j - n - 1) * C + c] * ub[(size_t)j * C + c];
                y[((size_t)b * L + n) * C + c] = acc;
            }
}

static void check_longconv(int B, int L, int C) {
    const ops *o = ops_cpu();
    size_t T = (size_t)B * L;
    float *u = rnd(T * C, 1, 1.0f), *kf = rnd((size_t)L * C, 2, 0.5f), *kr = rnd((size_t)L * C, 3, 0.5f);
    float *D = rnd((size_t)C, 4, 1.0f), *dy = rnd(T * C, 5, 1.0f);
    float *ks = xmalloc(m2_kspec_floats(L, C) * sizeof *ks), *y = xmalloc(T * C * sizeof *y);
    double *ref = xmalloc(T * C * sizeof *ref);
    o->m2_kernel_fft(ks, kf, kr, L, C);
    o->m2_longconv_fwd(y, u, ks, D, B, L, C);
    longconv_direct(ref, u, kf, kr, D, B, L, C);
    double e = rel_err(y, ref, T * C, 1e-3);
    EXPECT_MSG(e < 2e-6, "long conv B %d L %d C %d: forward relative error %.3g", B, L, C, e);

    /* backward, against the differentiated direct form (in double); gradients start at 1 (+= check) */
    float *du = filled(T * C, 1.0f), *dkf = filled((size_t)L * C, 1.0f), *dkr = filled((size_t)L * C, 1.0f);
    float *dD = filled((size_t)C, 1.0f);
    o->m2_longconv_bwd(du, dkf, dkr, dD, dy, u, ks, D, B, L, C);
    double *rdu = xcalloc(T * C, sizeof *rdu), *rkf = xcalloc((size_t)L * C, sizeof *rkf);
    double *rkr = xcalloc((size_t)L * C, sizeof *rkr), *rD = xcalloc((size_t)C, sizeof *rD);
    for (size_t i = 0; i < T * C; i++) rdu[i] = 1.0;
    for (size_t i = 0; i < (size_t)L * C; i++) rkf[i] = rkr[i] = 1.0;
    for (int c = 0; c < C; c++) rD[c] = 1.0;
    for (int b = 0; b < B; b++)
        for (int n = 0; n < L; n++)
            for (int c = 0; c < C; c++) {
                size_t on = ((size_t)b * L + n) * C + c;
                double g = dy[on];
                rD[c] += g * u[on];
                rdu[on] += g * D[c];
                for (int m = 0; m <= n; m++) {
                    size_t ui = ((size_t)b * L + n - m) * C + c;
                    rkf[(size_t)m * C + c] += g * u[ui];
                    rdu[ui] += g * kf[(size_t)m * C + c];
                }
                for (int j = n + 1; j < L; j++) {
                    size_t ui = ((size_t)b * L + j) * C + c;
                    rkr[(size_t)(j - n - 1) * C + c] += g * u[ui];
                    rdu[ui] += g * kr[(size_t)(j - n - 1) * C + c];
                }
            }
    e = rel_err(du, rdu, T * C, 1e-3);
    EXPECT_MSG(e < 2e-6, "L %d: du error %.3g", L, e);
    e = rel_err(dkf, rkf, (size_t)L * C, 1e-3);
    EXPECT_MSG(e < 2e-6, "L %d: dkf error %.3g", L, e);
    e = rel_err(dkr, rkr, (size_t)L * C, 1e-3);
    EXPECT_MSG(e < 2e-6, "L %d: dkr error %.3g", L, e);
    e = rel_err(dD, rD, (size_t)C, 1e-3);
    EXPECT_MSG(e < 2e-6, "L %d: dD error %.3g", L, e);
    EXPECT(dkr[(size_t)(L - 1) * C] == 1.0f); /* kr[L−1] is never used: its gradient stays 0 */
    free(u); free(kf); free(kr); free(D); free(dy); free(ks); free(y); free(ref);
    free(du); free(dkf); free(dkr); free(dD); free(rdu); free(rkf); free(rkr); free(rD);
}

TEST(m2_longconv_matches_direct_form) {
    static const int Ls[] = {1, 2, 3, 7, 64, 100, 128, 129};
    for (size_t i = 0; i < sizeof Ls / sizeof Ls[0]; i++) check_longconv(2, Ls[i], 3); /* odd C: a lone channel */
    check_longconv(1, 5, 1);
    check_longconv(3, 16, 4);
}

/* The same bits whatever the thread count (sizes above the parallel threshold). */
TEST(m2_longconv_thread_determinism) {
    const ops *o = ops_cpu();
    int B = 4, L = 100, C = 45;
    size_t T = (size_t)B * L;
    float *u = rnd(T * C, 11, 1.0f), *kf = rnd((size_t)L * C, 12, 0.5f), *kr = rnd((size_t)L * C, 13, 0.5f);
    float *D = rnd((size_t)C, 14, 1.0f), *dy = rnd(T * C, 15, 1.0f);
    size_t nk = m2_kspec_floats(L, C);
    float *out[2][5];
    int saved = omp_get_max_threads();
    for (int r = 0; r < 2; r++) {
        omp_set_num_threads(r ? 3 : 1);
        float *ks = xmalloc(nk * sizeof(float)), *y = xmalloc(T * C * sizeof(float));
        float *du = xcalloc(T * C, sizeof(float)), *dkf = xcalloc((size_t)L * C, sizeof(float));
        float *dkr = xcalloc((size_t)L * C, sizeof(float));
        o->m2_kernel_fft(ks, kf, kr, L, C);
        o->m2_longconv_fwd(y, u, ks, D, B, L, C);
        o->m2_longconv_bwd(du, dkf, dkr, NULL, dy, u, ks, D, B, L, C);
        out[r][0] = ks; out[r][1] = y; out[r][2] = du; out[r][3] = dkf; out[r][4] = dkr;
    }
    omp_set_num_threads(saved);
    size_t sizes[5] = {nk, T * C, T * C, (size_t)L * C, (size_t)L * C};
    for (int i = 0; i < 5; i++) {
        EXPECT_MSG(!memcmp(out[0][i], out[1][i], sizes[i] * sizeof(float)), "tensor %d differs across threads", i);
        free(out[0][i]);
        free(out[1][i]);
    }
    free(u); free(kf); free(kr); free(D); free(dy);
}

/* ---- short convolution ------------------------------------------------------------------ */

TEST(m2_shortconv_forward_and_backward) {
    const ops *o = ops_cpu();
    int B = 3, L = 5, C = 7;
    size_t T = (size_t)B * L;
    float *x = rnd(T * C, 21, 1.0f), *w = rnd((size_t)C * 3, 22, 1.0f), *b = rnd((size_t)C, 23, 1.0f);
    float *y = xmalloc(T * C * sizeof *y), *g = rnd(T * C, 24, 1.0f);
    double *ref = xmalloc(T * C * sizeof *ref);
    o->m2_shortconv_fwd(y, x, w, b, B, L, C);
    /* PyTorch Conv1d(groups=C, padding=2), first L outputs: taps w[c,0..2] on positions n−2, n−1, n */
    for (int bb = 0; bb < B; bb++)
        for (int n = 0; n < L; n++)
            for (int c = 0; c < C; c++) {
                double acc = b[c];
                for (int j = 0; j < 3; j++) {
                    int s = n - 2 + j;
                    if (s >= 0) acc += (double)w[3 * c + j] * x[((size_t)bb * L + s) * C + c];
                }
                ref[((size_t)bb * L + n) * C + c] = acc;
            }
    double e = rel_err(y, ref, T * C, 1e-3);
    EXPECT_MSG(e < 1e-6, "short conv forward error %.3g", e);
    /* backward: the loss Σ g⊙y is linear, so the exact gradients are Σ-formulas of the direct form */
    float *dx = filled(T * C, 0.5f), *dw = filled((size_t)C * 3, 0.5f), *db = filled((size_t)C, 0.5f);
    o->m2_shortconv_bwd(dx, dw, db, g, x, w, B, L, C);
    double *rx = xcalloc(T * C, sizeof *rx), *rw = xcalloc((size_t)C * 3, sizeof *rw), *rb = xcalloc((size_t)C, sizeof *rb);
    for (size_t i = 0; i < T * C; i++) rx[i] = 0.5;
    for (int i = 0; i < 3 * C; i++) rw[i] = 0.5;
    for (int i = 0; i < C; i++) rb[i] = 0.5;
    for (int bb = 0; bb < B; bb++)
        for (int n = 0; n < L; n++)
            for (int c = 0; c < C; c++) {
                double gg = g[((size_t)bb * L + n) * C + c];
                rb[c] += gg;
                for (int j = 0; j < 3; j++) {
                    int s = n - 2 + j;
                    if (s < 0) continue;
                    size_t xi = ((size_t)bb * L + s) * C + c;
                    rw[3 * c + j] += gg * x[xi];
                    rx[xi] += gg * w[3 * c + j];
                }
            }
    e = rel_err(dx, rx, T * C, 1e-3);
    EXPECT_MSG(e < 1e-6, "dx error %.3g", e);
    e = rel_err(dw, rw, (size_t)C * 3, 1e-3);
    EXPECT_MSG(e < 1e-6, "dw error %.3g", e);
    e = rel_err(db, rb, (size_t)C, 1e-3);
    EXPECT_MSG(e < 1e-6, "db error %.3g", e);
    free(x); free(w); free(b); free(y); free(g); free(ref); free(dx); free(dw); free(db); free(rx); free(rw); free(rb);
}

/* ---- strided product ---------------------------------------------------------------------- */

TEST(m2_mul_strided_columns) {
    const ops *o = ops_cpu();
    int T = 4, C = 3, ld = 9; /* a = columns 6..8, b = columns 0..2 of one (T, 9) tensor, as v ⊙ x1 */
    float *s = rnd((size_t)T * ld, 31, 1.0f), *add = rnd((size_t)T * C, 32, 1.0f), *g = rnd((size_t)T * C, 33, 1.0f);
    float y[12], y2[12];
    o->m2_mul_fwd(y, s + 6, ld, s, ld, NULL, T, C);
    o->m2_mul_fwd(y2, s + 6, ld, s, ld, add, T, C);
    for (int t = 0; t < T; t++)
        for (int c = 0; c < C; c++) {
            float want = s[t * ld + 6 + c] * s[t * ld + c];
            EXPECT(y[t * C + c] == want);
            EXPECT(y2[t * C + c] == want + add[t * C + c]);
        }
    float *ds = filled((size_t)T * ld, 0.25f);
    o->m2_mul_bwd(ds + 6, ds, g, s + 6, ld, s, ld, T, C);
    for (int t = 0; t < T; t++)
        for (int c = 0; c < C; c++) {
            EXPECT(ds[t * ld + 6 + c] == 0.25f + g[t * C + c] * s[t * ld + c]);
            EXPECT(ds[t * ld + c] == 0.25f + g[t * C + c] * s[t * ld + 6 + c]);
            EXPECT(ds[t * ld + 3 + c] == 0.25f); /* untouched columns */
        }
    free(s); free(add); free(g); free(ds);
}

/* ---- Hyena filter pieces --------------------------------------------------------------------- */

TEST(m2_sin_and_modulation) {
    const ops *o = ops_cpu();
    int N = 6, K = 5;
    float *x = rnd((size_t)N * K, 41, 0.3f), *freq = rnd((size_t)K, 42, 10.0f), *g = rnd((size_t)N * K, 43, 1.0f);
    float *y = xmalloc((size_t)N * K * sizeof *y);
    double *ref = xmalloc((size_t)N * K * sizeof *ref);
    const float wm = 1.5f;
    o->m2_sin_fwd(y, x, freq, wm, N, K);
    for (int n = 0; n < N; n++)
        for (int j = 0; j < K; j++) ref[n * K + j] = sin((double)wm * freq[j] * x[n * K + j]);
    double e = rel_err(y, ref, (size_t)N * K, 1.0);
    EXPECT_MSG(e < 1e-6, "sin forward error %.3g", e);
    /* backward against the derivative written out: d/dx sin(w f x) = w f cos(w f x), d/df = w x cos(·) */
    float *dx = filled((size_t)N * K, 1.0f), *df = filled((size_t)K, 1.0f);
    o->m2_sin_bwd(dx, df, g, x, freq, wm, N, K);
    double *rdf = xcalloc((size_t)K, sizeof *rdf), *rdx = xmalloc((size_t)N * K * sizeof *rdx);
    for (int j = 0; j < K; j++) rdf[j] = 1.0;
    for (int n = 0; n < N; n++)
        for (int j = 0; j < K; j++) {
            double a = (double)wm * freq[j] * x[n * K + j], cs = cos(a);
            rdx[n * K + j] = 1.0 + g[n * K + j] * wm * freq[j] * cs;
            rdf[j] += g[n * K + j] * wm * x[n * K + j] * cs;
        }
    e = rel_err(dx, rdx, (size_t)N * K, 1.0);
    EXPECT_MSG(e < 1e-5, "sin dx error %.3g", e);
    e = rel_err(df, rdf, (size_t)K, 1.0);
    EXPECT_MSG(e < 1e-5, "sin dfreq error %.3g", e);

    /* modulation: k = h·exp(−t·|δ|), t = n/(L−1), δ from the spec's linspace(−3.0701, −15.3506) */
    int L = 4, C = 3;
    float t[4] = {0.0f, 1.0f / 3, 2.0f / 3, 1.0f}, dl[3] = {-3.0701f, -9.2104f, -15.3506f};
    float *h = rnd((size_t)L * C, 44, 1.0f), kk[12], dh[12];
    o->m2_modulate_fwd(kk, h, t, dl, L, C);
    for (int i = 0; i < 12; i++) dh[i] = 2.0f;
    o->m2_modulate_bwd(dh, h /* as dk */, t, dl, L, C);
    for (int n = 0; n < L; n++)
        for (int c = 0; c < C; c++) {
            double d = exp(-(double)t[n] * fabs((double)dl[c]));
            EXPECT_MSG(fabs(kk[n * C + c] - h[n * C + c] * d) <= 1e-6 * fabs(h[n * C + c] * d) + 1e-30,
                       "modulate n %d c %d", n, c);
            EXPECT(fabs(dh[n * C + c] - (2.0 + h[n * C + c] * d)) <= 1e-6);
        }
    EXPECT(kk[0] == h[0]); /* t = 0: no decay */
    free(x); free(freq); free(g); free(y); free(ref); free(dx); free(df); free(rdf); free(rdx); free(h);
}

/* ---- block-diagonal linear --------------------------------------------------------------------- */

TEST(m2_blockdiag_equals_dense_block_diag) {
    const ops *o = ops_cpu();
    int N = 5, C = 8, OC = 12, nb = 4, p = C / nb, q = OC / nb;
    float *x = rnd((size_t)N * C, 51, 1.0f), *w = rnd((size_t)nb * q * p, 52, 1.0f), *b = rnd((size_t)OC, 53, 1.0f);
    float *g = rnd((size_t)N * OC, 54, 1.0f), *y = xmalloc((size_t)N * OC * sizeof *y);
    /* the dense [OC, C] matrix block_diag(W[0], …, W[3]) */
    double *dense = xcalloc((size_t)OC * C, sizeof *dense), *ref = xmalloc((size_t)N * OC * sizeof *ref);
    for (int k = 0; k < nb; k++)
        for (int j = 0; j < q; j++)
            for (int i = 0; i < p; i++) dense[(size_t)(k * q + j) * C + k * p + i] = w[((size_t)k * q + j) * p + i];
    for (int n = 0; n < N; n++)
        for (int r = 0; r < OC; r++) {
            double acc = b[r];
            for (int c = 0; c < C; c++) acc += dense[(size_t)r * C + c] * x[(size_t)n * C + c];
            ref[(size_t)n * OC + r] = acc;
        }
    o->blockdiag_fwd(y, x, w, b, N, C, OC, nb);
    double e = rel_err(y, ref, (size_t)N * OC, 1e-3);
    EXPECT_MSG(e < 1e-6, "blockdiag forward error %.3g", e);
    /* backward against the dense form: dx = g·dense, dW = the block entries of gᵀx, db = Σ g */
    float *dx = filled((size_t)N * C, 1.0f), *dw = filled((size_t)nb * q * p, 1.0f), *db = filled((size_t)OC, 1.0f);
    o->blockdiag_bwd(dx, dw, db, g, x, w, N, C, OC, nb);
    double *rx = xmalloc((size_t)N * C * sizeof *rx), *rw = xmalloc((size_t)nb * q * p * sizeof *rw);
    double *rb = xmalloc((size_t)OC * sizeof *rb);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            double acc = 1.0;
            for (int r = 0; r < OC; r++) acc += (double)g[(size_t)n * OC + r] * dense[(size_t)r * C + c];
            rx[(size_t)n * C + c] = acc;
        }
    for (int k = 0; k < nb; k++)
        for (int j = 0; j < q; j++)
            for (int i = 0; i < p; i++) {
                double acc = 1.0;
                for (int n = 0; n < N; n++) acc += (double)g[(size_t)n * OC + k * q + j] * x[(size_t)n * C + k * p + i];
                rw[((size_t)k * q + j) * p + i] = acc;
            }
    for (int r = 0; r < OC; r++) {
        double acc = 1.0;
        for (int n = 0; n < N; n++) acc += g[(size_t)n * OC + r];
        rb[r] = acc;
    }
    e = rel_err(dx, rx, (size_t)N * C, 1e-3);
    EXPECT_MSG(e < 1e-6, "dx error %.3g", e);
    e = rel_err(dw, rw, (size_t)nb * q * p, 1e-3);
    EXPECT_MSG(e < 1e-6, "dw error %.3g", e);
    e = rel_err(db, rb, (size_t)OC, 1e-3);
    EXPECT_MSG(e < 1e-6, "db error %.3g", e);
    /* gate/value independence (§3.2): outputs of block k change only with inputs of block k */
    float *x2 = xmalloc((size_t)N * C * sizeof *x2), *y2 = xmalloc((size_t)N * OC * sizeof *y2);
    memcpy(x2, x, (size_t)N * C * sizeof *x2);
    for (int n = 0; n < N; n++) x2[(size_t)n * C + 0] += 1.0f; /* block 0's first input */
    o->blockdiag_fwd(y2, x2, w, b, N, C, OC, nb);
    int same = 1;
    for (int n = 0; n < N; n++)
        for (int r = q; r < OC; r++) same &= y2[(size_t)n * OC + r] == y[(size_t)n * OC + r];
    EXPECT(same);
    free(x); free(w); free(b); free(g); free(y); free(dense); free(ref); free(dx); free(dw); free(db);
    free(rx); free(rw); free(rb); free(x2); free(y2);
}

/* ---- weighted row pooling ------------------------------------------------------------------------ */

TEST(pool_rows_forward_and_backward) {
    const ops *o = ops_cpu();
    /* M2 rows of L = 3 with pads (weight 0), then unpadded sequences of 2, 1 and 4 tokens */
    int B = 5, C = 4, cu[6] = {0, 3, 6, 8, 9, 13}, T = 13;
    float *x = rnd((size_t)T * C, 61, 1.0f), *g = rnd((size_t)B * C, 62, 1.0f);
    float w[13] = {0.5f, 0.5f, 0.0f, 1.0f / 3, 1.0f / 3, 1.0f / 3, 0.5f, 0.5f, 1.0f, 0.25f, 0.25f, 0.25f, 0.25f};
    float y[20], *dx = filled((size_t)T * C, 1.0f);
    o->pool_rows_fwd(y, x, w, cu, B, C);
    o->pool_rows_bwd(dx, g, w, cu, B, C);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) {
            double ref = 0;
            for (int t = cu[b]; t < cu[b + 1]; t++) ref += (double)w[t] * x[t * C + c];
            EXPECT(fabs(y[b * C + c] - ref) <= 1e-6);
            for (int t = cu[b]; t < cu[b + 1]; t++) EXPECT(fabs(dx[t * C + c] - (1.0 + (double)w[t] * g[b * C + c])) <= 1e-6);
        }
    free(x); free(g); free(dx);
}
