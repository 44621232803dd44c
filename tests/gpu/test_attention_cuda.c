/* test_attention_cuda.c — the CUDA attention op (fp32, flash-style) against the
 * CPU backend's (the reference) on Philox-seeded random inputs: several sequences
 * of mixed lengths (1, 2, odd, 128, 1000, 4096) in one unpadded batch, head dims
 * 64 and 32, with and without ALiBi, dropout 0 and 0.1. Built and run by
 * `make test-gpu` only: it needs a CUDA device.
 *
 * Two checks, tolerance 1e-5 each:
 *  - against the CPU op on every element: out and dqkv relative to the tensor's
 *    max |cpu| (as test_ops_cuda.c judges matmul: both sides sum thousands of fp32
 *    products in different orders, and the sums cancel), lse elementwise with the
 *    floor below. The elementwise figure of out and dqkv is printed too.
 *  - against a double-precision reference written here from ops.h's formulas, on
 *    sampled query rows (out, lse, dQ need only their own row): elementwise,
 *    max_i |x_i − ref_i| / (|ref_i| + mean_j |ref_j|). The CPU's figure is printed
 *    beside the GPU's.
 * The backward is compared alone: both sides start from the CPU's out and lse and
 * from zero gradients. A second GPU backward on top of the first must give exactly
 * twice the first (it accumulates, and the same inputs give the same bits). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/backend/ops.h"
#include "../../src/core/err.h"
#include "../test.h"

#define ATT_TOL 1e-5

static float *att_normal(size_t n, unsigned stream) {
    float *p = xmalloc(sizeof(float) * (n ? n : 1));
    rng_fill_normal(p, n, 0.0f, 1.0f, (rng_key){.seed = 20261122, .stream = RNG_STREAM_FIXTURE | (0x400u + stream)});
    return p;
}

/* mode 0: max_i |got_i − ref_i| / (|ref_i| + mean_j |ref_j|); mode 1: max_i |got_i − ref_i| / max_j |ref_j| */
static double att_err(const float *got, const double *refd, const float *reff, size_t n, int rel_to_max) {
    double mean = 0.0, mx = 0.0, worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double r = fabs(refd ? refd[i] : (double)reff[i]);
        mean += r;
        if (r > mx) mx = r;
    }
    mean = n ? mean / (double)n : 0.0;
    for (size_t i = 0; i < n; i++) {
        double r = refd ? refd[i] : (double)reff[i], d = fabs((double)got[i] - r);
        double e = rel_to_max ? d / (mx > 0 ? mx : 1.0) : d / (fabs(r) + (mean > 0 ? mean : 1e-30));
        if (!(e <= worst)) worst = e; /* NaN propagates as a failure */
    }
    return worst;
}

/* Device tensor d (n floats) against the CPU's ref; asserts the measure of `mode`. Returns the host copy. */
static float *att_check(const char *what, const char *cfg, const void *d, const float *ref, size_t n, int mode) {
    float *got = xmalloc(sizeof(float) * n);
    ops_cuda_f32()->download(got, d, sizeof(float) * n);
    double e = att_err(got, NULL, ref, n, mode), e0 = att_err(got, NULL, ref, n, 0);
    printf("  %-9s %-22s vs cpu: worst error %.3g%s (elementwise %.3g)\n", what, cfg, e, mode ? " of max" : "", e0);
    EXPECT_MSG(e <= ATT_TOL, "%s %s: worst error %.3g > %.1g", what, cfg, e, ATT_TOL);
    return got;
}

/* Double-precision reference of ops.h's attention for query row t (a token of sequence b):
 * out (C,), lse (nh,), dQ (C,) from dout. */
static void att_ref_row(double *out, double *lse, double *dq, const float *qkv, const float *dout, const int32_t *cu,
                        int b, int t, int T, int max_seqlen, int nh, int dh, const float *slopes, float p, rng_key key) {
    const int C = nh * dh, ld = 3 * C, r0 = cu[b], L = cu[b + 1] - r0, i = t - r0;
    const double scale = 1.0 / sqrt((double)dh), keep = p > 0 ? 1.0 / (1.0 - (double)p) : 1.0;
    double *s = xmalloc(sizeof(double) * (size_t)L), *mk = xmalloc(sizeof(double) * (size_t)L); /* (L,) */
    for (int h = 0; h < nh; h++) {
        const float *q = qkv + (size_t)t * ld + (size_t)h * dh, *dO = dout + (size_t)t * C + (size_t)h * dh;
        double mx = -INFINITY, sum = 0.0, D = 0.0;
        for (int j = 0; j < L; j++) {
            const float *k = qkv + (size_t)(r0 + j) * ld + C + (size_t)h * dh;
            double d = 0.0;
            for (int c = 0; c < dh; c++) d += (double)q[c] * k[c];
            s[j] = d * scale - (slopes ? (double)slopes[h] * fabs((double)(i - j)) : 0.0);
            if (s[j] > mx) mx = s[j];
            uint64_t idx = ((uint64_t)h * (uint64_t)T + (uint64_t)t) * (uint64_t)max_seqlen + (uint64_t)j;
            mk[j] = p > 0 ? (rng_keep(key, idx, p) ? keep : 0.0) : 1.0;
        }
        for (int j = 0; j < L; j++) sum += exp(s[j] - mx);
        lse[h] = mx + log(sum);
        double *o = out + (size_t)h * dh, *g = dq + (size_t)h * dh;
        for (int c = 0; c < dh; c++) o[c] = g[c] = 0.0;
        for (int j = 0; j < L; j++) {
            s[j] = exp(s[j] - lse[h]); /* P */
            const float *v = qkv + (size_t)(r0 + j) * ld + 2 * C + (size_t)h * dh;
            for (int c = 0; c < dh; c++) o[c] += s[j] * mk[j] * v[c];
        }
        for (int c = 0; c < dh; c++) D += (double)dO[c] * o[c];
        for (int j = 0; j < L; j++) {
            const float *k = qkv + (size_t)(r0 + j) * ld + C + (size_t)h * dh, *v = k + C;
            double dp = 0.0;
            for (int c = 0; c < dh; c++) dp += (double)dO[c] * v[c];
            double ds = s[j] * (dp * mk[j] - D);
            for (int c = 0; c < dh; c++) g[c] += scale * ds * k[c];
        }
    }
    free(s), free(mk);
}

TEST(cuda_attention) {
    REQUIRE(cuda_available());
    const ops *c = ops_cpu(), *g = ops_cuda_f32();
    static const int lens[] = {1, 7, 128, 1000, 2, 4096, 33};
    enum { B = sizeof lens / sizeof lens[0] };
    int32_t cu[B + 1] = {0};
    int max_seqlen = 0;
    for (int b = 0; b < B; b++) {
        cu[b + 1] = cu[b] + lens[b];
        if (lens[b] > max_seqlen) max_seqlen = lens[b];
    }
    const int T = cu[B];
    /* sampled query rows (sequence, token): first, middle and last of each sequence, more of the longest */
    struct { int b, t; } rows[64];
    int ns = 0;
    for (int b = 0; b < B; b++) {
        int L = lens[b], pick[] = {0, L / 2, L - 1};
        for (int k = 0; k < 3; k++)
            if (k == 0 || pick[k] != pick[k - 1]) rows[ns].b = b, rows[ns++].t = cu[b] + pick[k];
        if (L == max_seqlen)
            for (int k = 1; k <= 8; k++) rows[ns].b = b, rows[ns++].t = cu[b] + (k * 509) % L;
    }
    int32_t *d_cu = g->alloc(sizeof cu);
    g->upload(d_cu, cu, sizeof cu);
    static const int dhs[] = {64, 32};
    for (int di = 0; di < 2; di++) {
        const int dh = dhs[di], nh = 256 / dh, C = nh * dh;
        const size_t nqkv = (size_t)T * 3 * C, nout = (size_t)T * C, nlse = (size_t)nh * T;
        float *qkv = att_normal(nqkv, 1 + di), *dout = att_normal(nout, 3 + di);
        float *out = xmalloc(4 * nout), *lse = xmalloc(4 * nlse), *dqkv = xmalloc(4 * nqkv), *twice = xmalloc(4 * nqkv);
        float slopes[16];
        alibi_slopes(slopes, nh);
        float *d_qkv = g->alloc(4 * nqkv), *d_dout = g->alloc(4 * nout), *d_out = g->alloc(4 * nout);
        float *d_lse = g->alloc(4 * nlse), *d_dqkv = g->alloc(4 * nqkv);
        g->upload(d_qkv, qkv, 4 * nqkv);
        g->upload(d_dout, dout, 4 * nout);
        for (int al = 0; al < 2; al++)
            for (int pd = 0; pd < 2; pd++) {
                const float p = pd ? 0.1f : 0.0f;
                const float *sl = al ? slopes : NULL;
                rng_key key = {.seed = 0xfeedbeefULL, .stream = RNG_STREAM_DROPOUT | 9, .step = 5 + (uint32_t)pd};
                char cfg[64];
                snprintf(cfg, sizeof cfg, "dh=%d%s p=%.1f", dh, al ? " alibi" : "", p);
                c->attention_fwd(out, lse, qkv, cu, B, T, max_seqlen, nh, dh, sl, p, key);
                g->attention_fwd(d_out, d_lse, d_qkv, d_cu, B, T, max_seqlen, nh, dh, sl, p, key);
                float *gout = att_check("fwd out", cfg, d_out, out, nout, 1);
                float *glse = att_check("fwd lse", cfg, d_lse, lse, nlse, 0);
                /* the backward alone: the CPU's forward results on both sides */
                g->upload(d_out, out, 4 * nout);
                g->upload(d_lse, lse, 4 * nlse);
                memset(dqkv, 0, 4 * nqkv);
                g->zero(d_dqkv, 4 * nqkv);
                c->attention_bwd(dqkv, dout, out, lse, qkv, cu, B, T, max_seqlen, nh, dh, sl, p, key);
                g->attention_bwd(d_dqkv, d_dout, d_out, d_lse, d_qkv, d_cu, B, T, max_seqlen, nh, dh, sl, p, key);
                float *first = att_check("bwd dqkv", cfg, d_dqkv, dqkv, nqkv, 1);
                /* sampled rows against the double reference */
                double *rv = xmalloc(sizeof(double) * (size_t)ns * (2 * C + nh)); /* out (ns,C), dQ (ns,C), lse (ns,nh) */
                float *gv = xmalloc(sizeof(float) * (size_t)ns * (2 * C + nh)), *cv = xmalloc(sizeof(float) * (size_t)ns * (2 * C + nh));
                const size_t o_dq = (size_t)ns * C, o_lse = 2 * (size_t)ns * C;
                for (int k = 0; k < ns; k++) {
                    int t = rows[k].t;
                    att_ref_row(rv + (size_t)k * C, rv + o_lse + (size_t)k * nh, rv + o_dq + (size_t)k * C, qkv, dout,
                                cu, rows[k].b, t, T, max_seqlen, nh, dh, sl, p, key);
                    for (int e = 0; e < C; e++) {
                        gv[(size_t)k * C + e] = gout[(size_t)t * C + e], cv[(size_t)k * C + e] = out[(size_t)t * C + e];
                        gv[o_dq + (size_t)k * C + e] = first[(size_t)t * 3 * C + e];
                        cv[o_dq + (size_t)k * C + e] = dqkv[(size_t)t * 3 * C + e];
                    }
                    for (int h = 0; h < nh; h++) {
                        gv[o_lse + (size_t)k * nh + h] = glse[(size_t)h * T + t];
                        cv[o_lse + (size_t)k * nh + h] = lse[(size_t)h * T + t];
                    }
                }
                static const char *names[] = {"out", "dQ", "lse"};
                const size_t offs[] = {0, o_dq, o_lse}, lens_[] = {(size_t)ns * C, (size_t)ns * C, (size_t)ns * nh};
                for (int w = 0; w < 3; w++) {
                    double eg = att_err(gv + offs[w], rv + offs[w], NULL, lens_[w], 0);
                    double ec = att_err(cv + offs[w], rv + offs[w], NULL, lens_[w], 0);
                    printf("  %-9s %-22s vs double, %d rows: gpu %.3g, cpu %.3g\n", names[w], cfg, ns, eg, ec);
                    EXPECT_MSG(eg <= ATT_TOL, "%s %s vs double: worst error %.3g > %.1g", names[w], cfg, eg, ATT_TOL);
                }
                free(rv), free(gv), free(cv), free(gout), free(glse);
                /* accumulation and determinism: x + x = 2x exactly */
                g->attention_bwd(d_dqkv, d_dout, d_out, d_lse, d_qkv, d_cu, B, T, max_seqlen, nh, dh, sl, p, key);
                g->download(twice, d_dqkv, 4 * nqkv);
                size_t bad = 0;
                for (size_t i = 0; i < nqkv; i++) bad += twice[i] != 2.0f * first[i];
                printf("  %-9s %-22s %zu of %zu elements not 2x the first\n", "bwd twice", cfg, bad, nqkv);
                EXPECT_MSG(bad == 0, "bwd twice %s: %zu elements differ", cfg, bad);
                free(first);
            }
        g->free(d_qkv), g->free(d_dout), g->free(d_out), g->free(d_lse), g->free(d_dqkv);
        free(qkv), free(dout), free(out), free(lse), free(dqkv), free(twice);
    }
    g->free(d_cu);
}
