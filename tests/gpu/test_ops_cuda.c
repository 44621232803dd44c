/* test_ops_cuda.c — every op of both CUDA tables (fp32 and bf16 activations)
 * against the CPU backend (the reference) on fresh Philox-seeded inputs. Built
 * and run by `make test-gpu` only: it needs a CUDA device.
 *
 * bf16 mode: every activation input is rounded to bf16 on the host first, so the
 * CPU reference sees the very values the GPU reads; the GPU's outputs are bf16
 * (8 significant bits: a rounding error up to 2^-9 ≈ 2e-3 relative), and its
 * GEMMs read bf16 copies of the weights, so the bounds are per op: TOL_BF16 (1e-2)
 * for elementwise ops and LayerNorm; fp32 outputs (statistics, losses, parameter
 * gradients) get the same bound, as their inputs went through bf16 GEMMs.
 *
 * Error measure, per output tensor: max_i |gpu_i − cpu_i| / (|cpu_i| + mean_j |cpu_j|),
 * i.e. relative error with the tensor's mean magnitude as the floor (so elements
 * that cancel to near zero are judged against the tensor's scale). Tolerances:
 * 1e-5 for elementwise ops, LayerNorm and cross-entropy; matmul (fp32 FMA, no TF32,
 * a different summation order than OpenBLAS) 1e-5 relative to max_i |cpu_i|.
 * Backward outputs start from random values on both sides to check that they
 * accumulate. Dropout masks and the row copies/sums must be bit-identical. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/backend/ops.h"
#include "../../src/core/bf16.h"
#include "../../src/core/err.h"
#include "../test.h"

#define TOL 1e-5
#define TOL_BF16 1e-2

static const ops *g_be; /* the table under test */
static double g_tol;    /* its bound for the current op */
static int g_bf16;      /* activations are bf16 */

/* Runs body once per CUDA table, with g_be, g_tol and g_bf16 set. */
#define FOR_EACH_MODE(...)                                                             \
    for (int mode_ = 0; mode_ < 2; mode_++) {                                          \
        g_bf16 = mode_;                                                                \
        g_be = mode_ ? ops_cuda_bf16() : ops_cuda_f32();                               \
        g_tol = mode_ ? TOL_BF16 : TOL;                                                \
        printf("  [%s]\n", g_be->name);                                                \
        __VA_ARGS__                                                                    \
    }

/* Rounds host values to what the backend's activations can hold (in place). */
static void round_act(float *h, size_t n) {
    if (!g_bf16) return;
    for (size_t i = 0; i < n; i++) h[i] = bf16_to_f32(bf16_from_f32(h[i]));
}

static unsigned g_stream; /* a fresh RNG stream per tensor */

static float *host_normal(size_t n, float std) {
    float *p = xmalloc(sizeof(float) * (n ? n : 1));
    rng_fill_normal(p, n, 0.0f, std, (rng_key){.seed = 20261122, .stream = RNG_STREAM_FIXTURE | ++g_stream});
    return p;
}
static int32_t *host_ids(size_t n, int range) {
    int32_t *p = xmalloc(sizeof(int32_t) * (n ? n : 1));
    rng_key k = {.seed = 777, .stream = RNG_STREAM_FIXTURE | ++g_stream};
    for (size_t i = 0; i < n; i++) p[i] = (int32_t)(rng_u32(k, i) % (uint32_t)range);
    return p;
}

static const ops *G(void) { return g_be; }
/* Frees device buffers dev[0…nd) (the table under test) and host buffers host[0…nh). */
static void free_all(void *const *dev, size_t nd, void *const *host, size_t nh) {
    for (size_t i = 0; i < nd; i++) g_be->free(dev[i]);
    for (size_t i = 0; i < nh; i++) free(host[i]);
}
#define FREE_ALL(dev, host) free_all(dev, sizeof dev / sizeof dev[0], host, sizeof host / sizeof host[0])
static void *dev_copy(const void *h, size_t bytes) {
    void *d = G()->alloc(bytes);
    G()->upload(d, h, bytes);
    return d;
}
/* An activation input: h (n floats) rounded to the act type in place, then uploaded. */
static void *act_copy(float *h, size_t n) {
    round_act(h, n);
    void *d = G()->alloc(n * G()->act_size);
    G()->act_upload(d, h, n);
    return d;
}
static void *act_alloc(size_t n) { return G()->alloc(n * G()->act_size); }
/* Downloads n floats of device buffer d into a new host buffer. */
static float *dev_get(const void *d, size_t n) {
    float *h = xmalloc(sizeof(float) * (n ? n : 1));
    G()->download(h, d, sizeof(float) * n);
    return h;
}

/* The error measure above; mode 1: relative to max |ref|. */
static double err_of(const float *got, const float *ref, size_t n, int rel_to_max) {
    double mean = 0.0, mx = 0.0, worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        mean += fabs(ref[i]);
        if (fabs(ref[i]) > mx) mx = fabs(ref[i]);
    }
    mean = n ? mean / (double)n : 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)ref[i]);
        double e = rel_to_max ? d / (mx > 0 ? mx : 1.0) : d / (fabs(ref[i]) + (mean > 0 ? mean : 1e-30));
        if (!(e <= worst)) worst = e; /* NaN propagates as a failure */
    }
    return worst;
}

static float *act_get(const void *d, size_t n) {
    float *h = xmalloc(sizeof(float) * (n ? n : 1));
    G()->act_download(h, d, n);
    return h;
}

/* Compares device buffer d (act when is_act, else f32) with host reference ref (n floats). */
static void check_close_k(const char *what, const void *d, const float *ref, size_t n, int rel_to_max, int is_act) {
    float *got = is_act ? act_get(d, n) : dev_get(d, n);
    double e = err_of(got, ref, n, rel_to_max);
    printf("  %-28s worst error %.3g\n", what, e);
    EXPECT_MSG(e <= g_tol, "%s [%s]: worst error %.3g > %.1g", what, G()->name, e, g_tol);
    free(got);
}
#define check_close(what, d, ref, n, rel) check_close_k(what, d, ref, n, rel, 0)
#define check_close_act(what, d, ref, n, rel) check_close_k(what, d, ref, n, rel, 1)
/* Bit equality; for an act tensor, with the reference rounded as the backend stores it. */
static void check_equal_k(const char *what, const void *d, float *ref, size_t n, int is_act) {
    if (is_act) round_act(ref, n);
    float *got = is_act ? act_get(d, n) : dev_get(d, n);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) bad += memcmp(&got[i], &ref[i], sizeof(float)) != 0;
    printf("  %-28s %zu of %zu elements differ in bits\n", what, bad, n);
    EXPECT_MSG(bad == 0, "%s [%s]: %zu of %zu elements differ", what, G()->name, bad, n);
    free(got);
}

TEST(cuda_device_present) {
    EXPECT_MSG(cuda_available(), "no CUDA device: these tests need one");
}

#define check_equal(what, d, ref, n) check_equal_k(what, d, ref, n, 0)
#define check_equal_act(what, d, ref, n) check_equal_k(what, d, ref, n, 1)

TEST(cuda_embed) {
    REQUIRE(cuda_available());
    FOR_EACH_MODE({
        const ops *c = ops_cpu(), *g = G();
        int T = 300, C = 200, V = 50, TV = 2, P = 128; /* small V: ids repeat, sums have many terms */
        int32_t *ids = host_ids(T, V), *types = host_ids(T, TV), *pos = host_ids(T, P);
        float *wte = host_normal((size_t)V * C, 1), *wtt = host_normal((size_t)TV * C, 1), *wpe = host_normal((size_t)P * C, 1);
        float *dout = host_normal((size_t)T * C, 1);
        float *dwte = host_normal((size_t)V * C, 1), *dwtt = host_normal((size_t)TV * C, 1), *dwpe = host_normal((size_t)P * C, 1);
        int32_t *d_ids = dev_copy(ids, 4 * T), *d_types = dev_copy(types, 4 * T), *d_pos = dev_copy(pos, 4 * T);
        float *d_wte = dev_copy(wte, 4 * V * C), *d_wtt = dev_copy(wtt, 4 * TV * C), *d_wpe = dev_copy(wpe, 4 * P * C);
        void *d_dout = act_copy(dout, (size_t)T * C);
        float *d_dwte = dev_copy(dwte, 4 * V * C), *d_dwtt = dev_copy(dwtt, 4 * TV * C), *d_dwpe = dev_copy(dwpe, 4 * P * C);
        float *out = xmalloc(4 * T * C);
        void *d_out = act_alloc((size_t)T * C);
        for (int with_pos = 0; with_pos < 2; with_pos++) {
            c->embed_fwd(out, ids, types, pos, wte, wtt, with_pos ? wpe : NULL, T, C);
            g->embed_fwd(d_out, d_ids, d_types, d_pos, d_wte, d_wtt, with_pos ? d_wpe : NULL, T, C);
            check_equal_act(with_pos ? "embed_fwd (wpe)" : "embed_fwd", d_out, out, (size_t)T * C);
        }
        c->embed_bwd(dwte, dwtt, dwpe, dout, ids, types, pos, T, C);
        g->embed_bwd(d_dwte, d_dwtt, d_dwpe, d_dout, d_ids, d_types, d_pos, T, C);
        /* short runs (≤ 32 tokens per id): the CPU's row order, fp32 adds, the same bits;
         * the type table's runs of ~150 are summed in 32 lanes: close, not equal */
        check_equal("embed_bwd dwte", d_dwte, dwte, (size_t)V * C);
        double keep = g_tol;
        g_tol = TOL;
        check_close("embed_bwd dwtt", d_dwtt, dwtt, (size_t)TV * C, 0);
        g_tol = keep;
        check_equal("embed_bwd dwpe", d_dwpe, dwpe, (size_t)P * C);
        void *dev[] = {d_ids, d_types, d_pos, d_wte, d_wtt, d_wpe, d_dout, d_dwte, d_dwtt, d_dwpe, d_out}, *host[] = {ids, types, pos, wte, wtt, wpe, dout, dwte, dwtt, dwpe, out};
        FREE_ALL(dev, host);
    })
}

TEST(cuda_rows) {
    REQUIRE(cuda_available());
    FOR_EACH_MODE({
        const ops *c = ops_cpu(), *g = G();
        int N = 300, M = 257, C = 130;
        int32_t *idx = xmalloc(4 * (size_t)N); /* M distinct rows of N: a shuffled prefix */
        for (int i = 0; i < N; i++) idx[i] = i;
        int32_t *r = host_ids(N, 1 << 30);
        for (int i = N - 1; i > 0; i--) {
            int j = r[i] % (i + 1), t = idx[i];
            idx[i] = idx[j], idx[j] = t;
        }
        free(r);
        float *in = host_normal((size_t)N * C, 1), *dout = host_normal((size_t)M * C, 1), *din = host_normal((size_t)N * C, 1);
        float *out = xmalloc(4 * (size_t)M * C);
        int32_t *d_idx = dev_copy(idx, 4 * M);
        void *d_in = act_copy(in, (size_t)N * C), *d_dout = act_copy(dout, (size_t)M * C), *d_din = act_copy(din, (size_t)N * C);
        void *d_out = act_alloc((size_t)M * C);
        c->gather_rows(out, in, idx, M, C);
        g->gather_rows(d_out, d_in, d_idx, M, C);
        check_equal_act("gather_rows", d_out, out, (size_t)M * C);
        c->scatter_add_rows(din, dout, idx, M, C);
        g->scatter_add_rows(d_din, d_dout, d_idx, M, C);
        check_equal_act("scatter_add_rows", d_din, din, (size_t)N * C);
        g->free(d_idx), g->free(d_in), g->free(d_dout), g->free(d_din), g->free(d_out);
        free(idx), free(in), free(dout), free(din), free(out);
    })
}

/* Mean-pooling weights over mixed-length sequences (one of length 0 and one of 1). */
TEST(cuda_pool_rows) {
    REQUIRE(cuda_available());
    FOR_EACH_MODE({
        const ops *c = ops_cpu(), *g = G();
        int lens[] = {5, 0, 1, 77, 130, 33}, B = 6, C = 200;
        int32_t cu[7] = {0};
        for (int b = 0; b < B; b++) cu[b + 1] = cu[b] + lens[b];
        int T = cu[B];
        float *w = host_normal((size_t)T, 1), *in = host_normal((size_t)T * C, 1);
        float *dout = host_normal((size_t)B * C, 1), *din = host_normal((size_t)T * C, 1);
        float *out = xmalloc(4 * (size_t)B * C);
        int32_t *d_cu = dev_copy(cu, sizeof cu);
        float *d_w = dev_copy(w, 4 * (size_t)T);
        void *d_in = act_copy(in, (size_t)T * C), *d_dout = act_copy(dout, (size_t)B * C), *d_din = act_copy(din, (size_t)T * C);
        void *d_out = act_alloc((size_t)B * C);
        c->pool_rows_fwd(out, in, w, cu, B, C);
        g->pool_rows_fwd(d_out, d_in, d_w, d_cu, B, C);
        c->pool_rows_bwd(din, dout, w, cu, B, C);
        g->pool_rows_bwd(d_din, d_dout, d_w, d_cu, B, C);
        /* fp32 sums in the CPU's order, rounded once: equal to the CPU's after rounding, in both modes */
        check_equal_act("pool_rows_fwd", d_out, out, (size_t)B * C);
        check_equal_act("pool_rows_bwd", d_din, din, (size_t)T * C);
        g->free(d_cu), g->free(d_w), g->free(d_in), g->free(d_dout), g->free(d_din), g->free(d_out);
        free(w), free(in), free(dout), free(din), free(out);
    })
}

/* Against the CPU op on rounded random logits: at bf16 a row of 8,000 holds ties, and the
 * first maximum must win on both sides. */
TEST(cuda_argmax_rows) {
    REQUIRE(cuda_available());
    FOR_EACH_MODE({
        const ops *c = ops_cpu(), *g = G();
        int M = 300, V = 8011;
        float *x = host_normal((size_t)M * V, 2);
        for (int m = 0; m < M; m += 7) x[(size_t)m * V + (size_t)(m % V)] = 50.0f; /* some maxima at chosen places */
        void *d_x = act_copy(x, (size_t)M * V);
        int32_t *want = xmalloc(4 * (size_t)M), *got = xmalloc(4 * (size_t)M), *d_out = g->alloc(4 * (size_t)M);
        c->argmax_rows(want, x, M, V);
        g->argmax_rows(d_out, d_x, M, V);
        g->download(got, d_out, 4 * (size_t)M);
        int bad = 0;
        for (int m = 0; m < M; m++) bad += got[m] != want[m];
        printf("  argmax_rows                  %d of %d rows differ\n", bad, M);
        EXPECT_MSG(bad == 0, "argmax_rows [%s]: %d of %d rows differ", g->name, bad, M);
        g->free(d_x), g->free(d_out);
        free(x), free(want), free(got);
    })
}

TEST(cuda_dropout) {
    REQUIRE(cuda_available());
    FOR_EACH_MODE({
        const ops *c = ops_cpu(), *g = G();
        size_t n = 100003; /* not a multiple of 4: a partial last Philox block */
        float ps[] = {0.0f, 0.1f, 0.5f};
        for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
            rng_key key = {.seed = 0x123456789abcULL, .stream = RNG_STREAM_DROPOUT | 7, .step = 42 + (uint32_t)k};
            float *in = host_normal(n, 1), *dout = host_normal(n, 1), *din = host_normal(n, 1), *out = xmalloc(4 * n);
            void *d_in = act_copy(in, n), *d_dout = act_copy(dout, n), *d_din = act_copy(din, n);
            void *d_out = act_alloc(n);
            c->dropout_fwd(out, in, n, ps[k], key);
            g->dropout_fwd(d_out, d_in, n, ps[k], key);
            char what[64];
            snprintf(what, sizeof what, "dropout_fwd p=%.1f", ps[k]);
            check_equal_act(what, d_out, out, n);
            c->dropout_bwd(din, dout, n, ps[k], key);
            g->dropout_bwd(d_din, d_dout, n, ps[k], key);
            snprintf(what, sizeof what, "dropout_bwd p=%.1f", ps[k]);
            check_equal_act(what, d_din, din, n);
            /* in place */
            g->dropout_fwd(d_in, d_in, n, ps[k], key);
            snprintf(what, sizeof what, "dropout_fwd in place p=%.1f", ps[k]);
            check_equal_act(what, d_in, out, n);
            g->free(d_in), g->free(d_dout), g->free(d_din), g->free(d_out);
            free(in), free(dout), free(din), free(out);
        }
    })
}

TEST(cuda_act_glu) {
    REQUIRE(cuda_available());
    FOR_EACH_MODE({
        const ops *c = ops_cpu(), *g = G();
        int N = 67, W = 301;
        size_t n = (size_t)N * W;
        float *pre = host_normal(n, 2.5f), *dout = host_normal(n, 1);
        void *d_pre = act_copy(pre, n), *d_dout = act_copy(dout, n);
        const char *names[] = {"act_bwd none", "act_bwd gelu", "act_bwd tanh"};
        for (int a = 0; a < 3; a++) {
            float *dpre = host_normal(n, 1);
            void *d_dpre = act_copy(dpre, n);
            c->act_bwd(dpre, dout, pre, n, (act_fn)a);
            g->act_bwd(d_dpre, d_dout, a == ACT_NONE ? NULL : d_pre, n, (act_fn)a);
            check_close_act(names[a], d_dpre, dpre, n, 0);
            g->free(d_dpre), free(dpre);
        }
        for (int wi = 0; wi < 2; wi++) { /* odd width: the scalar kernels; 3072: the vector ones */
            int Wg = wi ? 3072 : W, Ng = wi ? 16 : N;
            size_t ng = (size_t)Ng * Wg;
            float *dg_ = host_normal(ng, 1);
            void *d_dg = act_copy(dg_, ng);
            for (int dp = 0; dp < 2; dp++) {
                float p = dp ? 0.1f : 0.0f;
                rng_key key = {.seed = 99, .stream = RNG_STREAM_DROPOUT | 11, .step = 3};
                float *u = host_normal(2 * ng, 2.5f), *du = host_normal(2 * ng, 1), *out = xmalloc(4 * ng);
                void *d_u = act_copy(u, 2 * ng), *d_du = act_copy(du, 2 * ng), *d_out = act_alloc(ng);
                char what[64];
                c->glu_fwd(out, u, Ng, Wg, p, key);
                g->glu_fwd(d_out, d_u, Ng, Wg, p, key);
                snprintf(what, sizeof what, "glu_fwd W=%d p=%.1f", Wg, p);
                check_close_act(what, d_out, out, ng, 0);
                c->glu_bwd(du, dg_, u, Ng, Wg, p, key);
                g->glu_bwd(d_du, d_dg, d_u, Ng, Wg, p, key);
                snprintf(what, sizeof what, "glu_bwd W=%d p=%.1f", Wg, p);
                check_close_act(what, d_du, du, 2 * ng, 0);
                g->free(d_u), g->free(d_du), g->free(d_out);
                free(u), free(du), free(out);
            }
            g->free(d_dg), free(dg_);
        }
        g->free(d_pre), g->free(d_dout);
        free(pre), free(dout);
    })
}

TEST(cuda_layernorm) {
    REQUIRE(cuda_available());
    FOR_EACH_MODE({
        const ops *c = ops_cpu(), *g = G();
        int N = 1053, C = 768; /* more rows than one column-sum chunk */
        size_t n = (size_t)N * C;
        float *x = host_normal(n, 1), *res = host_normal(n, 1), *gam = host_normal(C, 1), *bet = host_normal(C, 1);
        for (int i = 0; i < C; i++) gam[i] += 1.0f;
        void *d_x = act_copy(x, n), *d_res = act_copy(res, n);
        float *d_g = dev_copy(gam, 4 * C), *d_b = dev_copy(bet, 4 * C);
        float *out = xmalloc(4 * n), *s = xmalloc(4 * n), *mean = xmalloc(4 * N), *rstd = xmalloc(4 * N);
        void *d_out = act_alloc(n), *d_s = act_alloc(n);
        float *d_mean = g->alloc(4 * N), *d_rstd = g->alloc(4 * N);
        c->layernorm_fwd(out, s, mean, rstd, x, res, gam, bet, N, C, 1e-12f);
        g->layernorm_fwd(d_out, d_s, d_mean, d_rstd, d_x, d_res, d_g, d_b, N, C, 1e-12f);
        check_close_act("layernorm_fwd out", d_out, out, n, 0);
        check_equal_act("layernorm_fwd s", d_s, s, n);
        check_close("layernorm_fwd mean", d_mean, mean, N, 0);
        check_close("layernorm_fwd rstd", d_rstd, rstd, N, 0);
        /* without a residual, out aliasing x */
        float *out2 = xmalloc(4 * n);
        void *d_x2 = act_copy(x, n);
        c->layernorm_fwd(out2, NULL, mean, rstd, x, NULL, gam, bet, N, C, 1e-5f);
        g->layernorm_fwd(d_x2, NULL, d_mean, d_rstd, d_x2, NULL, d_g, d_b, N, C, 1e-5f);
        check_close_act("layernorm_fwd no res, alias", d_x2, out2, n, 0);
        /* backward from the first forward's statistics (recomputed on both sides); s as the GPU stored it */
        c->layernorm_fwd(out, s, mean, rstd, x, res, gam, bet, N, C, 1e-12f);
        round_act(s, n);
        g->act_upload(d_s, s, n);
        float *dout = host_normal(n, 1), *ds = host_normal(n, 1), *dg = host_normal(C, 1), *db = host_normal(C, 1);
        void *d_dout = act_copy(dout, n), *d_ds = act_copy(ds, n);
        float *d_dg = dev_copy(dg, 4 * C), *d_db = dev_copy(db, 4 * C);
        /* both sides use the CPU's statistics, so only the backward is compared */
        g->upload(d_mean, mean, 4 * N);
        g->upload(d_rstd, rstd, 4 * N);
        c->layernorm_bwd(ds, dg, db, dout, s, gam, mean, rstd, N, C);
        g->layernorm_bwd(d_ds, d_dg, d_db, d_dout, d_s, d_g, d_mean, d_rstd, N, C);
        check_close_act("layernorm_bwd ds", d_ds, ds, n, 0);
        check_close("layernorm_bwd dg", d_dg, dg, C, 0);
        check_close("layernorm_bwd db", d_db, db, C, 0);
        void *dev[] = {d_x, d_res, d_g, d_b, d_out, d_s, d_mean, d_rstd, d_x2, d_dout, d_ds, d_dg, d_db}, *host[] = {x, res, gam, bet, out, s, mean, rstd, out2, dout, ds, dg, db};
        FREE_ALL(dev, host);
    })
}

TEST(cuda_xent) {
    REQUIRE(cuda_available());
    FOR_EACH_MODE({
        const ops *c = ops_cpu(), *g = G();
        int M = 41, V = 30522;
        size_t n = (size_t)M * V;
        float *logits = host_normal(n, 3), *dl = host_normal(n, 1e-4f);
        int32_t *tg = host_ids(M, V);
        float *loss = xmalloc(4 * M), *lse = xmalloc(4 * M);
        void *d_logits = act_copy(logits, n), *d_dl = act_copy(dl, n);
        int32_t *d_tg = dev_copy(tg, 4 * M);
        float *d_loss = g->alloc(4 * M), *d_lse = g->alloc(4 * M);
        c->xent_fwd(loss, lse, logits, tg, M, V);
        g->xent_fwd(d_loss, d_lse, d_logits, d_tg, M, V);
        double keep = g_tol;
        if (g_bf16) g_tol = 1e-5; /* fp32 statistics of the same (bf16) logits: as exact as fp32 */
        check_close("xent_fwd loss", d_loss, loss, M, 0);
        check_close("xent_fwd lse", d_lse, lse, M, 0);
        g_tol = keep;
        g->upload(d_lse, lse, 4 * M); /* compare the backward alone */
        c->xent_bwd(dl, logits, lse, tg, 1.0f / M, M, V);
        g->xent_bwd(d_dl, d_logits, d_lse, d_tg, 1.0f / M, M, V);
        check_close_act("xent_bwd", d_dl, dl, n, 0);
        g->free(d_logits), g->free(d_dl), g->free(d_tg), g->free(d_loss), g->free(d_lse);
        free(logits), free(dl), free(tg), free(loss), free(lse);
    })
}

TEST(cuda_matmul) {
    REQUIRE(cuda_available());
    FOR_EACH_MODE({
        const ops *c = ops_cpu(), *g = G();
        int N = 301, C = 200, OC = 150; /* not multiples of any tile */
        float *inp = host_normal((size_t)N * C, 1), *w = host_normal((size_t)OC * C, 0.1f), *b = host_normal(OC, 1);
        /* the bf16 GEMMs read bf16 copies of w and b: give the CPU those values */
        round_act(w, (size_t)OC * C);
        round_act(b, OC);
        void *d_inp = act_copy(inp, (size_t)N * C);
        float *d_w = dev_copy(w, 4 * OC * C), *d_b = dev_copy(b, 4 * OC);
        g->weights_sync(d_w, (size_t)OC * C);
        size_t no = (size_t)N * OC;
        float *out = xmalloc(4 * no), *pre = xmalloc(4 * no);
        void *d_out = act_alloc(no), *d_pre = act_alloc(no);
        const char *names[] = {"matmul_fwd none", "matmul_fwd gelu", "matmul_fwd tanh"};
        for (int a = 0; a < 3; a++) {
            c->matmul_fwd(out, a ? pre : NULL, inp, w, a == 1 ? NULL : b, N, C, OC, (act_fn)a);
            g->matmul_fwd(d_out, a ? d_pre : NULL, d_inp, d_w, a == 1 ? NULL : d_b, N, C, OC, (act_fn)a);
            check_close_act(names[a], d_out, out, no, 1);
            if (a) check_close_act("matmul_fwd pre", d_pre, pre, no, 1);
        }
        float *dout = host_normal(no, 1), *dinp = host_normal((size_t)N * C, 1), *dw = host_normal((size_t)OC * C, 1),
              *db = host_normal(OC, 1);
        void *d_dout = act_copy(dout, no), *d_dinp = act_copy(dinp, (size_t)N * C);
        float *d_dw = dev_copy(dw, 4 * OC * C), *d_db = dev_copy(db, 4 * OC);
        c->matmul_bwd(dinp, dw, db, dout, inp, w, N, C, OC);
        g->matmul_bwd(d_dinp, d_dw, d_db, d_dout, d_inp, d_w, N, C, OC);
        check_close_act("matmul_bwd dinp", d_dinp, dinp, (size_t)N * C, 1);
        check_close("matmul_bwd dw", d_dw, dw, (size_t)OC * C, 1);
        check_close("matmul_bwd db", d_db, db, OC, 0);
        void *dev[] = {d_inp, d_w, d_b, d_out, d_pre, d_dout, d_dinp, d_dw, d_db}, *host[] = {inp, w, b, out, pre, dout, dinp, dw, db};
        FREE_ALL(dev, host);
    })
}

/* The optimizer ops: adamw bit-identical to the CPU (both round every operation), the
 * sum of squares to double precision, scale exact. */
TEST(cuda_optim_ops) {
    REQUIRE(cuda_available());
    g_be = ops_cuda_f32();
    const ops *c = ops_cpu(), *g = G();
    size_t n = 100003;
    float *p = host_normal(n, 1), *m = host_normal(n, 0.01f), *v = host_normal(n, 0.01f), *gr = host_normal(n, 0.1f);
    for (size_t i = 0; i < n; i++) v[i] = v[i] * v[i];
    float *d_p = dev_copy(p, 4 * n), *d_m = dev_copy(m, 4 * n), *d_v = dev_copy(v, 4 * n), *d_g = dev_copy(gr, 4 * n);
    adamw_scalars s = {.keep = 0.99999f, .b1 = 0.9f, .ob1 = 0.1f, .b2 = 0.98f, .ob2 = 0.02f, .eps = 1e-6f,
                       .sqrt_bc2 = 0.3f, .step_size = 5e-4f, .decay = 1};
    for (int k = 0; k < 3; k++) {
        s.decay = k != 1;
        c->adamw(p, m, v, gr, n, &s);
        g->adamw(d_p, d_m, d_v, d_g, n, &s);
    }
    check_equal("adamw p", d_p, p, n);
    check_equal("adamw m", d_m, m, n);
    check_equal("adamw v", d_v, v, n);
    double a = c->sumsq(gr, n), b = g->sumsq(d_g, n);
    printf("  sumsq cpu %.17g gpu %.17g\n", a, b);
    EXPECT(fabs(a - b) <= 1e-12 * a);
    c->scale(gr, n, 0.37f);
    g->scale(d_g, n, 0.37f);
    check_equal("scale", d_g, gr, n);
    g->free(d_p), g->free(d_m), g->free(d_v), g->free(d_g);
    free(p), free(m), free(v), free(gr);
}

/* ---- M2 ops and the f32 dense layer ---------------------------------------------------------
 * Long convolutions: the fp32 table transforms in double (as the CPU), the bf16 table in float;
 * their outputs are judged relative to the tensor's largest value (an FFT's rounding is relative
 * to the signal's scale, not to each element). The Hyena filter ops are f32 in both tables:
 * 1e-5 in both modes. */

/* Allocates, fills with N(0, std) and uploads an f32 tensor: host copy in *h. */
static float *dev_normal(float **h, size_t n, float std) {
    *h = host_normal(n, std);
    return dev_copy(*h, 4 * n);
}

TEST(cuda_matmul_f32) {
    REQUIRE(cuda_available());
    FOR_EACH_MODE({
        const ops *c = ops_cpu(), *g = G();
        g_tol = TOL; /* f32 tensors in both tables */
        int N = 129, C = 33, OC = 70;
        float *inp, *w, *b, *dout, *dinp, *dw, *db;
        float *d_inp = dev_normal(&inp, (size_t)N * C, 1), *d_w = dev_normal(&w, (size_t)OC * C, 0.2f);
        float *d_b = dev_normal(&b, OC, 1), *d_dout = dev_normal(&dout, (size_t)N * OC, 1);
        float *d_dinp = dev_normal(&dinp, (size_t)N * C, 1), *d_dw = dev_normal(&dw, (size_t)OC * C, 1);
        float *d_db = dev_normal(&db, OC, 1);
        float *out = xmalloc(4 * (size_t)N * OC), *d_out = g->alloc(4 * (size_t)N * OC);
        c->matmul_f32_fwd(out, inp, w, b, N, C, OC);
        g->matmul_f32_fwd(d_out, d_inp, d_w, d_b, N, C, OC);
        check_close("matmul_f32_fwd", d_out, out, (size_t)N * OC, 1);
        c->matmul_f32_bwd(dinp, dw, db, dout, inp, w, N, C, OC);
        g->matmul_f32_bwd(d_dinp, d_dw, d_db, d_dout, d_inp, d_w, N, C, OC);
        check_close("matmul_f32_bwd dinp", d_dinp, dinp, (size_t)N * C, 1);
        check_close("matmul_f32_bwd dw", d_dw, dw, (size_t)OC * C, 1);
        check_close("matmul_f32_bwd db", d_db, db, OC, 0);
        void *dev[] = {d_inp, d_w, d_b, d_dout, d_dinp, d_dw, d_db, d_out}, *host[] = {inp, w, b, dout, dinp, dw, db, out};
        FREE_ALL(dev, host);
    })
}

TEST(cuda_blockdiag) {
    REQUIRE(cuda_available());
    FOR_EACH_MODE({
        const ops *c = ops_cpu(), *g = G();
        int N = 77, C = 48, OC = 96, nb = 4; /* blocks of 12 → 24 columns */
        size_t nw = (size_t)nb * (OC / nb) * (C / nb);
        float *inp = host_normal((size_t)N * C, 1), *w = host_normal(nw, 0.3f), *b = host_normal(OC, 1);
        round_act(w, nw); /* the bf16 GEMMs read bf16 copies of w and b */
        round_act(b, OC);
        void *d_inp = act_copy(inp, (size_t)N * C);
        float *d_w = dev_copy(w, 4 * nw), *d_b = dev_copy(b, 4 * OC);
        g->weights_sync(d_w, nw);
        float *out = xmalloc(4 * (size_t)N * OC);
        void *d_out = act_alloc((size_t)N * OC);
        c->blockdiag_fwd(out, inp, w, b, N, C, OC, nb);
        g->blockdiag_fwd(d_out, d_inp, d_w, d_b, N, C, OC, nb);
        check_close_act("blockdiag_fwd", d_out, out, (size_t)N * OC, 1);
        float *dout = host_normal((size_t)N * OC, 1), *dinp = host_normal((size_t)N * C, 1), *dw = host_normal(nw, 1),
              *db = host_normal(OC, 1);
        void *d_dout = act_copy(dout, (size_t)N * OC), *d_dinp = act_copy(dinp, (size_t)N * C);
        float *d_dw = dev_copy(dw, 4 * nw), *d_db = dev_copy(db, 4 * OC);
        c->blockdiag_bwd(dinp, dw, db, dout, inp, w, N, C, OC, nb);
        g->blockdiag_bwd(d_dinp, d_dw, d_db, d_dout, d_inp, d_w, N, C, OC, nb);
        check_close_act("blockdiag_bwd dinp", d_dinp, dinp, (size_t)N * C, 1);
        check_close("blockdiag_bwd dw", d_dw, dw, nw, 1);
        check_close("blockdiag_bwd db", d_db, db, OC, 0);
        void *dev[] = {d_inp, d_w, d_b, d_out, d_dout, d_dinp, d_dw, d_db}, *host[] = {inp, w, b, out, dout, dinp, dw, db};
        FREE_ALL(dev, host);
    })
}

TEST(cuda_m2_shortconv_mul) {
    REQUIRE(cuda_available());
    FOR_EACH_MODE({
        const ops *c = ops_cpu(), *g = G();
        int B = 3, L = 201, C = 150, T = B * L; /* C = 3·50: the mixer's [x1 | x2 | v]; T > 512: several row chunks */
        size_t n = (size_t)T * C;
        float *in = host_normal(n, 1), *out = xmalloc(4 * n), *w, *b;
        float *d_w = dev_normal(&w, 3 * (size_t)C, 0.5f), *d_b = dev_normal(&b, C, 0.5f);
        void *d_in = act_copy(in, n), *d_out = act_alloc(n);
        c->m2_shortconv_fwd(out, in, w, b, B, L, C);
        g->m2_shortconv_fwd(d_out, d_in, d_w, d_b, B, L, C);
        check_close_act("m2_shortconv_fwd", d_out, out, n, 0);
        float *dout = host_normal(n, 1), *din = host_normal(n, 1), *dw, *db;
        void *d_dout = act_copy(dout, n), *d_din = act_copy(din, n);
        float *d_dw = dev_normal(&dw, 3 * (size_t)C, 1), *d_db = dev_normal(&db, C, 1);
        c->m2_shortconv_bwd(din, dw, db, dout, in, w, B, L, C);
        g->m2_shortconv_bwd(d_din, d_dw, d_db, d_dout, d_in, d_w, B, L, C);
        check_close_act("m2_shortconv_bwd din", d_din, din, n, 0);
        check_close("m2_shortconv_bwd dw", d_dw, dw, 3 * (size_t)C, 1);
        check_close("m2_shortconv_bwd db", d_db, db, C, 1);
        /* products of column slices, as the mixer takes them: v ⊙ x1 (+ add) and the backward into one buffer */
        int Cm = C / 3;
        size_t nm = (size_t)T * Cm;
        float *add = host_normal(nm, 1), *prod = xmalloc(4 * nm), *gm = host_normal(nm, 1);
        void *d_add = act_copy(add, nm), *d_prod = act_alloc(nm), *d_gm = act_copy(gm, nm);
        for (int with_add = 0; with_add < 2; with_add++) {
            c->m2_mul_fwd(prod, in + 2 * Cm, C, in, C, with_add ? add : NULL, T, Cm);
            g->m2_mul_fwd(d_prod, (char *)d_in + 2 * Cm * g->act_size, C, d_in, C, with_add ? d_add : NULL, T, Cm);
            check_close_act(with_add ? "m2_mul_fwd + add" : "m2_mul_fwd", d_prod, prod, nm, 0);
        }
        float *ds = host_normal(n, 1);
        void *d_ds = act_copy(ds, n);
        c->m2_mul_bwd(ds + 2 * Cm, ds, gm, in + 2 * Cm, C, in, C, T, Cm);
        g->m2_mul_bwd((char *)d_ds + 2 * Cm * g->act_size, d_ds, d_gm, (char *)d_in + 2 * Cm * g->act_size, C, d_in, C,
                      T, Cm);
        check_close_act("m2_mul_bwd (shared buffer)", d_ds, ds, n, 0);
        void *dev[] = {d_w, d_b, d_in, d_out, d_dout, d_din, d_dw, d_db, d_add, d_prod, d_gm, d_ds}, *host[] = {in, out, w, b, dout, din, dw, db, add, prod, gm, ds};
        FREE_ALL(dev, host);
    })
}

/* kernel spectrum, long convolution forward and backward, for lengths 1 (N = 2), 37 (N = 128)
 * and 64 (a power of two: N = 2L exactly); odd channel counts (the CPU pairs channels). */
TEST(cuda_m2_longconv) {
    REQUIRE(cuda_available());
    FOR_EACH_MODE({
        const ops *c = ops_cpu(), *g = G();
        const int Ls[] = {1, 37, 64};
        for (int li = 0; li < 3; li++) {
            int B = 3, L = Ls[li], C = 45, T = B * L;
            size_t n = (size_t)T * C, nk = m2_kspec_floats(L, C);
            float *kf, *kr, *D;
            float *d_kf = dev_normal(&kf, (size_t)L * C, 0.3f), *d_kr = dev_normal(&kr, (size_t)L * C, 0.3f);
            float *d_D = dev_normal(&D, C, 1);
            float *ks = xmalloc(4 * nk), *d_ks = g->alloc(4 * nk);
            char what[80];
            double tol = g_tol;
            g_tol = TOL; /* the spectrum is f32 from f32 kernels (a float FFT in bf16 mode) */
            c->m2_kernel_fft(ks, kf, kr, L, C);
            g->m2_kernel_fft(d_ks, d_kf, d_kr, L, C);
            snprintf(what, sizeof what, "m2_kernel_fft L=%d", L);
            check_close(what, d_ks, ks, nk, 1);
            g_tol = tol;
            /* both sides convolve with the CPU's spectrum, so each op is judged alone */
            g->upload(d_ks, ks, 4 * nk);
            float *u = host_normal(n, 1), *y = xmalloc(4 * n);
            void *d_u = act_copy(u, n), *d_y = act_alloc(n);
            c->m2_longconv_fwd(y, u, ks, D, B, L, C);
            g->m2_longconv_fwd(d_y, d_u, d_ks, d_D, B, L, C);
            snprintf(what, sizeof what, "m2_longconv_fwd L=%d", L);
            check_close_act(what, d_y, y, n, 1);
            float *dy = host_normal(n, 1), *du = host_normal(n, 1), *dkf, *dkr, *dD;
            void *d_dy = act_copy(dy, n), *d_du = act_copy(du, n);
            float *d_dkf = dev_normal(&dkf, (size_t)L * C, 1), *d_dkr = dev_normal(&dkr, (size_t)L * C, 1);
            float *d_dD = dev_normal(&dD, C, 1);
            c->m2_longconv_bwd(du, dkf, dkr, dD, dy, u, ks, D, B, L, C);
            g->m2_longconv_bwd(d_du, d_dkf, d_dkr, d_dD, d_dy, d_u, d_ks, d_D, B, L, C);
            snprintf(what, sizeof what, "m2_longconv_bwd du L=%d", L);
            check_close_act(what, d_du, du, n, 1);
            snprintf(what, sizeof what, "m2_longconv_bwd dkf L=%d", L);
            check_close(what, d_dkf, dkf, (size_t)L * C, 1);
            snprintf(what, sizeof what, "m2_longconv_bwd dkr L=%d", L);
            check_close(what, d_dkr, dkr, (size_t)L * C, 1);
            snprintf(what, sizeof what, "m2_longconv_bwd dD L=%d", L);
            check_close(what, d_dD, dD, C, 1);
            void *dev[] = {d_kf, d_kr, d_D, d_ks, d_u, d_y, d_dy, d_du, d_dkf, d_dkr, d_dD}, *host[] = {kf, kr, D, ks, u, y, dy, du, dkf, dkr, dD};
            FREE_ALL(dev, host);
        }
    })
}

TEST(cuda_m2_filter_ops) {
    REQUIRE(cuda_available());
    FOR_EACH_MODE({
        const ops *c = ops_cpu(), *g = G();
        g_tol = TOL; /* f32 in both tables */
        int N = 600, K = 65, C = 40; /* N > 512: the dfreq sum over several row chunks */
        size_t n = (size_t)N * K, nc = (size_t)N * C;
        float *x, *freq, *dout, *dx, *dfreq;
        float *d_x = dev_normal(&x, n, 1), *d_freq = dev_normal(&freq, K, 1), *d_dout = dev_normal(&dout, n, 1);
        float *d_dx = dev_normal(&dx, n, 1), *d_dfreq = dev_normal(&dfreq, K, 1);
        float *out = xmalloc(4 * n), *d_out = g->alloc(4 * n);
        c->m2_sin_fwd(out, x, freq, 14.0f, N, K);
        g->m2_sin_fwd(d_out, d_x, d_freq, 14.0f, N, K);
        check_close("m2_sin_fwd", d_out, out, n, 0);
        c->m2_sin_bwd(dx, dfreq, dout, x, freq, 14.0f, N, K);
        g->m2_sin_bwd(d_dx, d_dfreq, d_dout, d_x, d_freq, 14.0f, N, K);
        check_close("m2_sin_bwd dx", d_dx, dx, n, 0);
        check_close("m2_sin_bwd dfreq", d_dfreq, dfreq, K, 1);
        float *h, *t = xmalloc(4 * (size_t)N), *deltas, *dk, *dh;
        for (int i = 0; i < N; i++) t[i] = (float)i / (float)(N - 1);
        float *d_h = dev_normal(&h, nc, 1), *d_t = dev_copy(t, 4 * (size_t)N), *d_deltas = dev_normal(&deltas, C, 2);
        float *d_dk = dev_normal(&dk, nc, 1), *d_dh = dev_normal(&dh, nc, 1);
        float *k = xmalloc(4 * nc), *d_k = g->alloc(4 * nc);
        c->m2_modulate_fwd(k, h, t, deltas, N, C);
        g->m2_modulate_fwd(d_k, d_h, d_t, d_deltas, N, C);
        check_close("m2_modulate_fwd", d_k, k, nc, 0);
        c->m2_modulate_bwd(dh, dk, t, deltas, N, C);
        g->m2_modulate_bwd(d_dh, d_dk, d_t, d_deltas, N, C);
        check_close("m2_modulate_bwd", d_dh, dh, nc, 0);
        void *dev[] = {d_x, d_freq, d_dout, d_dx, d_dfreq, d_out, d_h, d_t, d_deltas, d_dk, d_dh, d_k}, *host[] = {x, freq, dout, dx, dfreq, out, h, t, deltas, dk, dh, k};
        FREE_ALL(dev, host);
    })
}
