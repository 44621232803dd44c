/* test_ops_cpu.c — the fp32 CPU backend (ops.h) against plain double-precision
 * references written here, finite-difference gradients for every backward op,
 * accumulate semantics, dropout masks, and bit-identical results across
 * thread counts.
 *
 * Forward tolerances: max |got − ref| ≤ tol · max |ref| (fp32 against double).
 * Gradient checks: central differences of L = Σ r ⊙ out (r random), the loss
 * accumulated in double; max |numeric − analytic| ≤ tol · max |analytic|. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/backend/cpu/cpu.h"
#include "../src/backend/ops.h"
#include "../src/core/err.h"
#include "../src/core/rng.h"
#include "test.h"

/* ---- helpers ------------------------------------------------------------------ */

static float *randn(size_t n, uint32_t id, float std) {
    float *x = xmalloc(sizeof(float) * (n ? n : 1));
    rng_fill_normal(x, n, 0.0f, std, (rng_key){.seed = 20241122, .stream = RNG_STREAM_FIXTURE | id});
    return x;
}
static float *zeros(size_t n) { return xcalloc(n ? n : 1, sizeof(float)); }
static double *dzeros(size_t n) { return xcalloc(n ? n : 1, sizeof(double)); }

/* max |got − ref| / max |ref|. */
static double rel_err(const float *got, const double *ref, size_t n) {
    double e = 0.0, m = 1e-30;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - ref[i]);
        if (!(d <= e)) e = d; /* NaN propagates as a failure */
        if (fabs(ref[i]) > m) m = fabs(ref[i]);
    }
    return e / m;
}
#define EXPECT_CLOSE(got, ref, n, tol)                                                            \
    do {                                                                                          \
        double e_ = rel_err((got), (ref), (n));                                                   \
        EXPECT_MSG(e_ <= (tol), "%s vs %s: relative error %.3g > %.1g", #got, #ref, e_, (double)(tol)); \
    } while (0)

static double dot_r(const float *out, const float *r, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)out[i] * r[i];
    return s;
}

/* Central differences of f with respect to x[i], at most ~max_points of them,
 * against the analytic gradient an. Returns max |num − an| / max |an|. */
typedef double (*loss_fn)(void *ctx);
static double gradcheck(loss_fn f, void *ctx, float *x, size_t n, const float *an, float h, size_t max_points) {
    size_t stride = n > max_points ? n / max_points : 1;
    if (stride > 1 && stride % 2 == 0) stride++; /* do not always land on the same column */
    double err = 0.0, scale = 1e-30;
    for (size_t i = 0; i < n; i++)
        if (fabs(an[i]) > scale) scale = fabs(an[i]);
    for (size_t i = 0; i < n; i += stride) {
        float save = x[i], xp = save + h, xm = save - h;
        x[i] = xp;
        double lp = f(ctx);
        x[i] = xm;
        double lm = f(ctx);
        x[i] = save;
        double num = (lp - lm) / ((double)xp - (double)xm);
        double d = fabs(num - an[i]);
        if (!(d <= err)) err = d;
    }
    f(ctx); /* leave the outputs of the unperturbed input behind */
    return err / scale;
}
#define EXPECT_GRAD(f, ctx, x, n, an, h, tol)                                                       \
    do {                                                                                            \
        double e_ = gradcheck((f), (ctx), (x), (n), (an), (h), 400);                               \
        EXPECT_MSG(e_ <= (tol), "gradient of %s: relative error %.3g > %.1g", #x, e_, (double)(tol)); \
    } while (0)

static double gelu_d(double x) { return 0.5 * x * (1.0 + erf(x / sqrt(2.0))); }

/* ---- ALiBi slopes --------------------------------------------------------------- */

TEST(ops_alibi_slopes) {
    float s[16];
    /* n = 12: the values listed in mosaicbert.md §3.3 */
    static const double spec12[12] = {0.5,       0.25,      0.125,     0.0625,    0.03125,   0.015625,
                                      0.0078125, 0.00390625, 0.7071068, 0.3535534, 0.1767767, 0.0883883};
    alibi_slopes(s, 12);
    for (int i = 0; i < 12; i++) EXPECT_MSG(fabs(s[i] - spec12[i]) <= 5e-8, "n=12 slope %d: %.9g", i, s[i]);
    /* powers of two are exact: n = 8 → 2^-1 … 2^-8, n = 16 → 2^-(i+1)/2, n = 1 → 2^-8 */
    alibi_slopes(s, 8);
    for (int i = 0; i < 8; i++) EXPECT_MSG(s[i] == ldexpf(1.0f, -(i + 1)), "n=8 slope %d: %.9g", i, s[i]);
    alibi_slopes(s, 16);
    for (int i = 0; i < 16; i++)
        EXPECT_MSG(s[i] == (float)pow(2.0, -(i + 1) / 2.0), "n=16 slope %d: %.9g", i, s[i]);
    alibi_slopes(s, 1);
    EXPECT(s[0] == 0.00390625f);
    /* n = 6 by hand: slopes(4) = 2^-2, 2^-4, 2^-6, 2^-8, then slopes(8)[0], [2] = 2^-1, 2^-3 */
    static const float h6[6] = {0.25f, 0.0625f, 0.015625f, 0.00390625f, 0.5f, 0.125f};
    alibi_slopes(s, 6);
    for (int i = 0; i < 6; i++) EXPECT_MSG(s[i] == h6[i], "n=6 slope %d: %.9g", i, s[i]);
}

/* ---- memory ---------------------------------------------------------------------- */

TEST(ops_memory) {
    const ops *o = ops_cpu();
    EXPECT_STR_EQ(o->name, "cpu");
    unsigned char *p = o->alloc(1000);
    REQUIRE(p != NULL);
    EXPECT(((uintptr_t)p & 63) == 0);
    int nz = 0;
    for (int i = 0; i < 1000; i++) nz += p[i] != 0;
    EXPECT_EQ_INT(nz, 0);
    unsigned char h[1000];
    for (int i = 0; i < 1000; i++) h[i] = (unsigned char)(i * 7);
    o->upload(p, h, 1000);
    unsigned char back[1000];
    o->download(back, p, 1000);
    EXPECT(memcmp(back, h, 1000) == 0);
    o->zero(p, 1000);
    for (int i = 0; i < 1000; i++) nz += p[i] != 0;
    EXPECT_EQ_INT(nz, 0);
    o->free(p);
}

/* ---- embeddings ------------------------------------------------------------------- */

typedef struct {
    int T, C, V, TV, P;
    int32_t *ids, *types, *pos;
    float *wte, *wtt, *wpe, *out, *r;
} embed_ctx;

static double embed_loss(void *c_) {
    embed_ctx *c = c_;
    ops_cpu()->embed_fwd(c->out, c->ids, c->types, c->pos, c->wte, c->wtt, c->wpe, c->T, c->C);
    return dot_r(c->out, c->r, (size_t)c->T * c->C);
}

TEST(ops_embed) {
    const ops *o = ops_cpu();
    embed_ctx c = {.T = 9, .C = 70, .V = 5, .TV = 2, .P = 9};
    int32_t ids[9] = {1, 4, 4, 0, 2, 4, 1, 3, 3}, types[9] = {0, 0, 1, 1, 0, 1, 0, 0, 1},
            pos[9] = {0, 1, 2, 3, 4, 0, 1, 2, 8};
    c.ids = ids, c.types = types, c.pos = pos;
    c.wte = randn((size_t)c.V * c.C, 1, 1), c.wtt = randn((size_t)c.TV * c.C, 2, 1),
    c.wpe = randn((size_t)c.P * c.C, 3, 1);
    c.out = zeros((size_t)c.T * c.C), c.r = randn((size_t)c.T * c.C, 4, 1);
    double *ref = dzeros((size_t)c.T * c.C);
    for (int t = 0; t < c.T; t++)
        for (int k = 0; k < c.C; k++)
            ref[t * c.C + k] = (double)c.wte[ids[t] * c.C + k] + c.wtt[types[t] * c.C + k] + c.wpe[pos[t] * c.C + k];
    embed_loss(&c);
    EXPECT_CLOSE(c.out, ref, (size_t)c.T * c.C, 1e-7);
    /* without positions */
    o->embed_fwd(c.out, ids, types, NULL, c.wte, c.wtt, NULL, c.T, c.C);
    for (int t = 0; t < c.T; t++)
        for (int k = 0; k < c.C; k++) ref[t * c.C + k] = (double)c.wte[ids[t] * c.C + k] + c.wtt[types[t] * c.C + k];
    EXPECT_CLOSE(c.out, ref, (size_t)c.T * c.C, 1e-7);

    float *dwte = zeros((size_t)c.V * c.C), *dwtt = zeros((size_t)c.TV * c.C), *dwpe = zeros((size_t)c.P * c.C);
    o->embed_bwd(dwte, dwtt, dwpe, c.r, ids, types, pos, c.T, c.C);
    EXPECT_GRAD(embed_loss, &c, c.wte, (size_t)c.V * c.C, dwte, 0.01f, 1e-4);
    EXPECT_GRAD(embed_loss, &c, c.wtt, (size_t)c.TV * c.C, dwtt, 0.01f, 1e-4);
    EXPECT_GRAD(embed_loss, &c, c.wpe, (size_t)c.P * c.C, dwpe, 0.01f, 1e-4);
    /* accumulate: a second call doubles every gradient; NULL dwpe is skipped */
    float *once = xmalloc(sizeof(float) * c.V * c.C);
    memcpy(once, dwte, sizeof(float) * c.V * c.C);
    o->embed_bwd(dwte, dwtt, NULL, c.r, ids, types, pos, c.T, c.C);
    double *tw = dzeros((size_t)c.V * c.C);
    for (int i = 0; i < c.V * c.C; i++) tw[i] = 2.0 * once[i];
    EXPECT_CLOSE(dwte, tw, (size_t)c.V * c.C, 1e-7);
    free(tw);
    free(once), free(ref), free(c.wte), free(c.wtt), free(c.wpe), free(c.out), free(c.r);
    free(dwte), free(dwtt), free(dwpe);
}

/* ---- dense layers ---------------------------------------------------------------- */

typedef struct {
    int N, C, OC;
    act_fn act;
    float *inp, *w, *b, *out, *pre, *r;
} mm_ctx;

static double mm_loss(void *c_) {
    mm_ctx *c = c_;
    ops_cpu()->matmul_fwd(c->out, c->act == ACT_NONE ? NULL : c->pre, c->inp, c->w, c->b, c->N, c->C, c->OC, c->act);
    return dot_r(c->out, c->r, (size_t)c->N * c->OC);
}

static void check_matmul(act_fn act, int with_bias) {
    const ops *o = ops_cpu();
    mm_ctx c = {.N = 7, .C = 13, .OC = 11, .act = act};
    size_t ni = (size_t)c.N * c.C, nw = (size_t)c.OC * c.C, no = (size_t)c.N * c.OC;
    c.inp = randn(ni, 10, 1), c.w = randn(nw, 11, 0.5f), c.b = with_bias ? randn(c.OC, 12, 1) : NULL;
    c.out = zeros(no), c.pre = zeros(no), c.r = randn(no, 13, 1);
    double *ref = dzeros(no), *refpre = dzeros(no);
    for (int n = 0; n < c.N; n++)
        for (int j = 0; j < c.OC; j++) {
            double s = c.b ? c.b[j] : 0.0;
            for (int k = 0; k < c.C; k++) s += (double)c.inp[n * c.C + k] * c.w[j * c.C + k];
            refpre[n * c.OC + j] = s;
            ref[n * c.OC + j] = act == ACT_GELU ? gelu_d(s) : act == ACT_TANH ? tanh(s) : s;
        }
    mm_loss(&c);
    EXPECT_CLOSE(c.out, ref, no, 1e-6);
    if (act != ACT_NONE) EXPECT_CLOSE(c.pre, refpre, no, 1e-6);

    /* gradients: dpre = act_bwd(r), then matmul_bwd */
    float *dpre = zeros(no), *dinp = zeros(ni), *dw = zeros(nw), *db = zeros(c.OC);
    o->act_bwd(dpre, c.r, c.pre, no, act);
    o->matmul_bwd(dinp, dw, c.b ? db : NULL, dpre, c.inp, c.w, c.N, c.C, c.OC);
    EXPECT_GRAD(mm_loss, &c, c.inp, ni, dinp, 1e-2f, 2e-3);
    EXPECT_GRAD(mm_loss, &c, c.w, nw, dw, 1e-2f, 2e-3);
    if (c.b) EXPECT_GRAD(mm_loss, &c, c.b, (size_t)c.OC, db, 1e-2f, 2e-3);
    /* accumulate */
    float *d1 = xmalloc(sizeof(float) * nw), *i1 = xmalloc(sizeof(float) * ni), *b1 = xmalloc(sizeof(float) * c.OC);
    memcpy(d1, dw, sizeof(float) * nw), memcpy(i1, dinp, sizeof(float) * ni), memcpy(b1, db, sizeof(float) * c.OC);
    o->matmul_bwd(dinp, dw, c.b ? db : NULL, dpre, c.inp, c.w, c.N, c.C, c.OC);
    double *twice = dzeros(nw > ni ? nw : ni);
    for (size_t i = 0; i < nw; i++) twice[i] = 2.0 * d1[i];
    EXPECT_CLOSE(dw, twice, nw, 1e-6);
    for (size_t i = 0; i < ni; i++) twice[i] = 2.0 * i1[i];
    EXPECT_CLOSE(dinp, twice, ni, 1e-6);
    for (int i = 0; i < c.OC; i++) twice[i] = 2.0 * b1[i];
    if (c.b) EXPECT_CLOSE(db, twice, (size_t)c.OC, 1e-6);
    float *dp1 = xmalloc(sizeof(float) * no);
    memcpy(dp1, dpre, sizeof(float) * no);
    o->act_bwd(dpre, c.r, c.pre, no, act);
    for (size_t i = 0; i < no; i++) twice[i] = 2.0 * dp1[i];
    EXPECT_CLOSE(dpre, twice, no, 1e-7);
    free(dp1), free(twice), free(d1), free(i1), free(b1), free(dpre), free(dinp), free(dw), free(db);
    free(ref), free(refpre), free(c.inp), free(c.w), free(c.b), free(c.out), free(c.pre), free(c.r);
}

TEST(ops_matmul) {
    check_matmul(ACT_NONE, 1);
    check_matmul(ACT_NONE, 0);
    check_matmul(ACT_GELU, 1);
    check_matmul(ACT_TANH, 1);
    check_matmul(ACT_GELU, 0);
}

TEST(ops_gelu_values) {
    /* GELU(x) = x·Φ(x); Φ(1) = 0.841344746068543, Φ(−0.5) = 0.308537538725987 (normal tables) */
    float inp[2] = {1.0f, -0.5f}, w[1] = {1.0f}, out[2], pre[2];
    ops_cpu()->matmul_fwd(out, pre, inp, w, NULL, 2, 1, 1, ACT_GELU);
    EXPECT(fabs(out[0] - 0.841344746068543) < 1e-7);
    EXPECT(fabs(out[1] - -0.5 * 0.308537538725987) < 1e-7);
    /* GELU'(x) = Φ(x) + x·φ(x); φ(1) = 0.241970724519143 */
    float dpre[2] = {0, 0}, one[2] = {1, 1};
    ops_cpu()->act_bwd(dpre, one, pre, 2, ACT_GELU);
    EXPECT(fabs(dpre[0] - (0.841344746068543 + 0.241970724519143)) < 1e-6);
}

/* GELU and GELU' of the ops (the run-time dispatched kernels) on a dense grid,
 * element by element against erfc in double: relative error, so the negative
 * tail is held to it too. */
TEST(ops_gelu_accuracy) {
    int n = 280001;
    float *x = xmalloc(sizeof(float) * n), *y = zeros(n), *pre = zeros(n), *d = zeros(n), *one = xmalloc(sizeof(float) * n);
    for (int i = 0; i < n; i++) x[i] = -14.0f + 28.0f * (float)i / (float)(n - 1), one[i] = 1.0f;
    float w = 1.0f;
    ops_cpu()->matmul_fwd(y, pre, x, &w, NULL, n, 1, 1, ACT_GELU);
    ops_cpu()->act_bwd(d, one, pre, (size_t)n, ACT_GELU);
    int bad = 0, badg = 0;
    for (int i = 0; i < n; i++) {
        double X = x[i], cdf = 0.5 * erfc(-X / sqrt(2.0)), ref = X * cdf;
        double g = cdf + X * exp(-0.5 * X * X) / sqrt(2.0 * M_PI);
        /* relative where GELU is a normal float; below that, tiny is enough */
        double tol = fabs(ref) > 1e-30 ? 1e-6 * fabs(ref) : 1e-30;
        if (fabs(y[i] - ref) > tol && bad++ < 3) EXPECT_MSG(0, "GELU(%.9g) = %.9g, want %.9g", X, y[i], ref);
        if (fabs(d[i] - g) > 1e-6 * fabs(g) + 2e-7 && badg++ < 3) EXPECT_MSG(0, "GELU'(%.9g) = %.9g, want %.9g", X, d[i], g);
    }
    free(x), free(y), free(pre), free(d), free(one);
}

/* The vectorisable e^x of the softmax loops: ≤ 2 ulp on [−87, 88], 0 below. */
TEST(ops_exp_accuracy) {
    double worst = 0.0;
    for (int i = 0; i <= 1000000; i++) {
        float t = -87.0f + 175.0f * (float)i / 1e6f;
        double r = exp((double)t), e = fabs(cpu_exp(t) - r) / r;
        if (e > worst) worst = e;
    }
    EXPECT_MSG(worst <= 2 * 5.97e-8, "relative error %.3g", worst);
    EXPECT(cpu_exp(-88.0f) == 0.0f && cpu_exp(-1e4f) == 0.0f && cpu_exp(-INFINITY) == 0.0f);
    EXPECT(cpu_exp(0.0f) == 1.0f);
}

/* ---- LayerNorm --------------------------------------------------------------------- */

typedef struct {
    int N, C;
    float eps;
    float *x, *res, *g, *b, *out, *s, *mean, *rstd, *r;
} ln_ctx;

static double ln_loss(void *c_) {
    ln_ctx *c = c_;
    ops_cpu()->layernorm_fwd(c->out, c->s, c->mean, c->rstd, c->x, c->res, c->g, c->b, c->N, c->C, c->eps);
    return dot_r(c->out, c->r, (size_t)c->N * c->C);
}

TEST(ops_layernorm) {
    const ops *o = ops_cpu();
    ln_ctx c = {.N = 6, .C = 37, .eps = 1e-5f};
    size_t n = (size_t)c.N * c.C;
    c.x = randn(n, 20, 1), c.res = randn(n, 21, 1), c.g = randn(c.C, 22, 1), c.b = randn(c.C, 23, 1);
    for (size_t i = 0; i < n; i++) c.x[i] += 3.0f; /* an offset, as residual streams have */
    c.out = zeros(n), c.s = zeros(n), c.mean = zeros(c.N), c.rstd = zeros(c.N), c.r = randn(n, 24, 1);
    double *ref = dzeros(n), *rm = dzeros(c.N), *rr = dzeros(c.N), *rs = dzeros(n);
    for (int i = 0; i < c.N; i++) {
        double mu = 0, var = 0;
        for (int k = 0; k < c.C; k++) mu += (double)c.x[i * c.C + k] + c.res[i * c.C + k];
        mu /= c.C;
        for (int k = 0; k < c.C; k++) {
            double d = (double)c.x[i * c.C + k] + c.res[i * c.C + k] - mu;
            var += d * d;
        }
        var /= c.C; /* biased, as torch.nn.LayerNorm */
        rm[i] = mu, rr[i] = 1.0 / sqrt(var + c.eps);
        for (int k = 0; k < c.C; k++) {
            rs[i * c.C + k] = (double)c.x[i * c.C + k] + c.res[i * c.C + k];
            ref[i * c.C + k] = (rs[i * c.C + k] - mu) * rr[i] * c.g[k] + c.b[k];
        }
    }
    ln_loss(&c);
    EXPECT_CLOSE(c.out, ref, n, 1e-6);
    EXPECT_CLOSE(c.s, rs, n, 1e-7);
    EXPECT_CLOSE(c.mean, rm, (size_t)c.N, 1e-7);
    EXPECT_CLOSE(c.rstd, rr, (size_t)c.N, 1e-6);

    float *ds = zeros(n), *dg = zeros(c.C), *db = zeros(c.C);
    o->layernorm_bwd(ds, dg, db, c.r, c.s, c.g, c.mean, c.rstd, c.N, c.C);
    EXPECT_GRAD(ln_loss, &c, c.x, n, ds, 1e-2f, 2e-3);
    EXPECT_GRAD(ln_loss, &c, c.res, n, ds, 1e-2f, 2e-3);
    EXPECT_GRAD(ln_loss, &c, c.g, (size_t)c.C, dg, 1e-2f, 2e-3);
    EXPECT_GRAD(ln_loss, &c, c.b, (size_t)c.C, db, 1e-2f, 2e-3);
    /* accumulate */
    float *ds1 = xmalloc(sizeof(float) * n), *dg1 = xmalloc(sizeof(float) * c.C);
    memcpy(ds1, ds, sizeof(float) * n), memcpy(dg1, dg, sizeof(float) * c.C);
    o->layernorm_bwd(ds, dg, db, c.r, c.s, c.g, c.mean, c.rstd, c.N, c.C);
    double *tw = dzeros(n);
    for (size_t i = 0; i < n; i++) tw[i] = 2.0 * ds1[i];
    EXPECT_CLOSE(ds, tw, n, 1e-7);
    for (int i = 0; i < c.C; i++) tw[i] = 2.0 * dg1[i];
    EXPECT_CLOSE(dg, tw, (size_t)c.C, 1e-7);

    /* no residual, s_out NULL, out aliasing x (in place); eps 1e-12 as MosaicBERT */
    float *y = xmalloc(sizeof(float) * n);
    memcpy(y, c.x, sizeof(float) * n);
    o->layernorm_fwd(y, NULL, c.mean, c.rstd, y, NULL, c.g, c.b, c.N, c.C, 1e-12f);
    for (int i = 0; i < c.N; i++) {
        double mu = 0, var = 0;
        for (int k = 0; k < c.C; k++) mu += c.x[i * c.C + k];
        mu /= c.C;
        for (int k = 0; k < c.C; k++) var += ((double)c.x[i * c.C + k] - mu) * ((double)c.x[i * c.C + k] - mu);
        double r = 1.0 / sqrt(var / c.C + 1e-12);
        for (int k = 0; k < c.C; k++) ref[i * c.C + k] = ((double)c.x[i * c.C + k] - mu) * r * c.g[k] + c.b[k];
    }
    EXPECT_CLOSE(y, ref, n, 1e-6);
    /* no residual but s_out given: s = x */
    float *s2 = zeros(n);
    o->layernorm_fwd(c.out, s2, c.mean, c.rstd, c.x, NULL, c.g, c.b, c.N, c.C, 1e-12f);
    EXPECT(memcmp(s2, c.x, sizeof(float) * n) == 0);
    EXPECT_CLOSE(c.out, ref, n, 1e-6);
    free(s2);
    /* residual without s_out (not needed by ops.h, accepted) */
    ln_loss(&c);
    o->layernorm_fwd(y, NULL, c.mean, c.rstd, c.x, c.res, c.g, c.b, c.N, c.C, c.eps);
    EXPECT(memcmp(y, c.out, sizeof(float) * n) == 0);
    /* out aliasing res */
    memcpy(y, c.res, sizeof(float) * n);
    o->layernorm_fwd(y, c.s, c.mean, c.rstd, c.x, y, c.g, c.b, c.N, c.C, c.eps);
    ln_loss(&c);
    int bad = 0;
    for (size_t i = 0; i < n; i++) bad += fabsf(y[i] - c.out[i]) > 1e-6f * (1 + fabsf(c.out[i]));
    EXPECT_EQ_INT(bad, 0);
    free(y), free(tw), free(ds1), free(dg1), free(ds), free(dg), free(db), free(ref), free(rm), free(rr), free(rs);
    free(c.x), free(c.res), free(c.g), free(c.b), free(c.out), free(c.s), free(c.mean), free(c.rstd), free(c.r);
}

/* ---- GLU ----------------------------------------------------------------------------- */

typedef struct {
    int N, I;
    float *u, *out, *r;
    float p; /* the fused dropout */
    rng_key key;
} glu_ctx;

static double glu_loss(void *c_) {
    glu_ctx *c = c_;
    ops_cpu()->glu_fwd(c->out, c->u, c->N, c->I, c->p, c->key);
    return dot_r(c->out, c->r, (size_t)c->N * c->I);
}

TEST(ops_glu) {
    glu_ctx c = {.N = 5, .I = 19};
    size_t nu = (size_t)c.N * 2 * c.I, no = (size_t)c.N * c.I;
    c.u = randn(nu, 30, 1.5f), c.out = zeros(no), c.r = randn(no, 31, 1);
    double *ref = dzeros(no);
    for (int n = 0; n < c.N; n++)
        for (int j = 0; j < c.I; j++) /* GELU on the first half, times the second */
            ref[n * c.I + j] = gelu_d(c.u[n * 2 * c.I + j]) * c.u[n * 2 * c.I + c.I + j];
    glu_loss(&c);
    EXPECT_CLOSE(c.out, ref, no, 1e-6);
    float *du = zeros(nu);
    ops_cpu()->glu_bwd(du, c.r, c.u, c.N, c.I, 0.0f, (rng_key){0});
    EXPECT_GRAD(glu_loss, &c, c.u, nu, du, 1e-2f, 2e-3);
    float *d1 = xmalloc(sizeof(float) * nu);
    memcpy(d1, du, sizeof(float) * nu);
    ops_cpu()->glu_bwd(du, c.r, c.u, c.N, c.I, 0.0f, (rng_key){0});
    int bad = 0;
    for (size_t i = 0; i < nu; i++) bad += du[i] != d1[i]; /* overwritten, not accumulated (ops.h) */
    EXPECT_EQ_INT(bad, 0);
    /* the fused dropout: the same as glu then dropout_fwd, and its gradient */
    c.p = 0.3f;
    c.key = (rng_key){.seed = 5, .stream = RNG_STREAM_DROPOUT | 3, .step = 9};
    glu_loss(&c);
    float *h = zeros(no);
    ops_cpu()->glu_fwd(h, c.u, c.N, c.I, 0.0f, (rng_key){0});
    ops_cpu()->dropout_fwd(h, h, no, c.p, c.key);
    int diff = 0;
    for (size_t i = 0; i < no; i++) diff += h[i] != c.out[i];
    EXPECT_EQ_INT(diff, 0);
    memset(du, 0, sizeof(float) * nu);
    ops_cpu()->glu_bwd(du, c.r, c.u, c.N, c.I, c.p, c.key);
    EXPECT_GRAD(glu_loss, &c, c.u, nu, du, 1e-2f, 2e-3);
    free(h);
    free(d1), free(du), free(ref), free(c.u), free(c.out), free(c.r);
}

/* ---- dropout -------------------------------------------------------------------------- */

typedef struct {
    size_t n;
    float p;
    rng_key key;
    float *x, *out, *r;
} drop_ctx;

static double drop_loss(void *c_) {
    drop_ctx *c = c_;
    ops_cpu()->dropout_fwd(c->out, c->x, c->n, c->p, c->key);
    return dot_r(c->out, c->r, c->n);
}

TEST(ops_dropout) {
    const ops *o = ops_cpu();
    size_t n = 100003; /* not a multiple of the chunk or of 4 */
    rng_key key = {.seed = 7, .stream = RNG_STREAM_DROPOUT | 5, .step = 11};
    float *x = randn(n, 40, 1), *y = zeros(n), *d = zeros(n);
    /* p = 0: identity, and the backward passes the gradient through */
    o->dropout_fwd(y, x, n, 0.0f, key);
    EXPECT(memcmp(x, y, sizeof(float) * n) == 0);
    o->dropout_bwd(d, x, n, 0.0f, key);
    EXPECT(memcmp(x, d, sizeof(float) * n) == 0);

    float p = 0.3f, sc = 1.0f / (1.0f - p);
    o->dropout_fwd(y, x, n, p, key);
    size_t kept = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        int k = rng_keep(key, i, p); /* the mask of rng.h, element index i */
        kept += k;
        bad += y[i] != (k ? x[i] * sc : 0.0f);
    }
    EXPECT_EQ_INT(bad, 0);
    double frac = (double)kept / n; /* 1 − p ± 4.5 σ, σ = √(p(1−p)/n) ≈ 0.00145 */
    EXPECT_MSG(fabs(frac - 0.7) < 0.0065, "kept fraction %.4f", frac);
    /* backward: the same mask, accumulated */
    memset(d, 0, sizeof(float) * n);
    for (size_t i = 0; i < n; i++) d[i] = 1.0f;
    o->dropout_bwd(d, x, n, p, key);
    bad = 0;
    for (size_t i = 0; i < n; i++) bad += d[i] != 1.0f + (rng_keep(key, i, p) ? x[i] * sc : 0.0f);
    EXPECT_EQ_INT(bad, 0);
    /* in place */
    float *z = xmalloc(sizeof(float) * n);
    memcpy(z, x, sizeof(float) * n);
    o->dropout_fwd(z, z, n, p, key);
    EXPECT(memcmp(z, y, sizeof(float) * n) == 0);
    /* another step draws another mask */
    rng_key k2 = key;
    k2.step++;
    o->dropout_fwd(z, x, n, p, k2);
    size_t same = 0;
    for (size_t i = 0; i < n; i++) same += (z[i] == 0.0f) == (y[i] == 0.0f);
    EXPECT_MSG(same < n * 0.65, "masks of steps 11 and 12 agree on %zu of %zu", same, n);
    /* gradient check on a small piece */
    drop_ctx c = {.n = 301, .p = 0.5f, .key = key, .x = x, .out = y, .r = randn(301, 41, 1)};
    memset(d, 0, sizeof(float) * n);
    o->dropout_bwd(d, c.r, c.n, c.p, key);
    EXPECT_GRAD(drop_loss, &c, x, c.n, d, 1e-2f, 1e-4);
    free(c.r), free(z), free(x), free(y), free(d);
}

/* The bulk mask generator against rng_keep, at unaligned starts and at indices
 * whose Philox block needs the counter's high word. */
TEST(ops_dropout_mask_indices) {
    rng_key key = {.seed = 0x123456789abcdefull, .stream = RNG_STREAM_DROPOUT | 9, .step = 4};
    static const uint64_t bases[5] = {0, 3, 6, ((uint64_t)1 << 34) + 1, ((uint64_t)1 << 40) + 2};
    float m[203];
    int bad = 0;
    for (int k = 0; k < 5; k++) {
        cpu_dropout_mask(m, bases[k], 203, key, 0.4f, 2.5f);
        for (int i = 0; i < 203; i++) bad += m[i] != (rng_keep(key, bases[k] + (uint64_t)i, 0.4f) ? 2.5f : 0.0f);
    }
    EXPECT_EQ_INT(bad, 0);
}

/* ---- row gather / scatter ------------------------------------------------------------- */

typedef struct {
    int M, N, C;
    const int32_t *idx;
    float *in, *out, *r;
} gather_ctx;

static double gather_loss(void *c_) {
    gather_ctx *c = c_;
    ops_cpu()->gather_rows(c->out, c->in, c->idx, c->M, c->C);
    return dot_r(c->out, c->r, (size_t)c->M * c->C);
}

TEST(ops_gather_scatter) {
    const ops *o = ops_cpu();
    static const int32_t idx[8] = {3, 0, 3, 5, 1, 3, 0, 2};
    gather_ctx c = {.M = 8, .N = 6, .C = 67, .idx = idx};
    c.in = randn((size_t)c.N * c.C, 50, 1), c.out = zeros((size_t)c.M * c.C), c.r = randn((size_t)c.M * c.C, 51, 1);
    gather_loss(&c);
    int bad = 0;
    for (int m = 0; m < c.M; m++) bad += memcmp(c.out + m * c.C, c.in + idx[m] * c.C, sizeof(float) * c.C) != 0;
    EXPECT_EQ_INT(bad, 0);
    float *din = zeros((size_t)c.N * c.C);
    o->scatter_add_rows(din, c.r, idx, c.M, c.C);
    double *ref = dzeros((size_t)c.N * c.C);
    for (int m = 0; m < c.M; m++)
        for (int k = 0; k < c.C; k++) ref[idx[m] * c.C + k] += c.r[m * c.C + k];
    EXPECT_CLOSE(din, ref, (size_t)c.N * c.C, 1e-7);
    EXPECT_GRAD(gather_loss, &c, c.in, (size_t)c.N * c.C, din, 1e-2f, 1e-4);
    o->scatter_add_rows(din, c.r, idx, c.M, c.C);
    for (size_t i = 0; i < (size_t)c.N * c.C; i++) ref[i] *= 2.0;
    EXPECT_CLOSE(din, ref, (size_t)c.N * c.C, 1e-7);
    free(ref), free(din), free(c.in), free(c.out), free(c.r);
}

/* ---- cross-entropy ---------------------------------------------------------------------- */

typedef struct {
    int M, V;
    const int32_t *tg;
    float scale;
    float *logits, *loss, *lse;
} xent_ctx;

static double xent_loss(void *c_) {
    xent_ctx *c = c_;
    ops_cpu()->xent_fwd(c->loss, c->lse, c->logits, c->tg, c->M, c->V);
    double s = 0;
    for (int m = 0; m < c->M; m++) s += c->scale * (double)c->loss[m];
    return s;
}

/* Rows whose maximum is planted at a known index: a tie goes to the first, -inf rows to 0. */
TEST(ops_argmax_rows) {
    enum { M = 6, V = 37 };
    float *x = randn((size_t)M * V, 61, 1);
    int32_t want[M] = {0, 36, 17, 5, 0, 30}, got[M];
    for (int m = 0; m < M; m++) x[m * V + want[m]] = 10.0f + (float)m;
    x[3 * V + 29] = 13.0f;                   /* row 3: a tie at 5 and 29 */
    for (int v = 0; v < V; v++) x[4 * V + v] = -INFINITY;
    x[5 * V + 31] = 15.0f - 1e-6f;           /* row 5: just below the maximum at 30 */
    ops_cpu()->argmax_rows(got, x, M, V);
    for (int m = 0; m < M; m++) EXPECT_MSG(got[m] == want[m], "row %d: argmax %d, want %d", m, got[m], want[m]);
    free(x);
}

TEST(ops_xent) {
    static const int32_t tg[5] = {0, 17, 3, 30, 17};
    xent_ctx c = {.M = 5, .V = 31, .tg = tg, .scale = 0.2f};
    size_t n = (size_t)c.M * c.V;
    c.logits = randn(n, 60, 3), c.loss = zeros(c.M), c.lse = zeros(c.M);
    c.logits[2 * c.V + 5] = 80.0f; /* a large logit: the max must be subtracted */
    xent_loss(&c);
    double rl[5], rlse[5];
    for (int m = 0; m < c.M; m++) {
        double s = 0;
        for (int v = 0; v < c.V; v++) s += exp((double)c.logits[m * c.V + v]);
        rlse[m] = log(s), rl[m] = rlse[m] - c.logits[m * c.V + tg[m]];
    }
    EXPECT_CLOSE(c.lse, rlse, 5, 1e-7);
    EXPECT_CLOSE(c.loss, rl, 5, 1e-6);
    float *d = zeros(n);
    ops_cpu()->xent_bwd(d, c.logits, c.lse, tg, c.scale, c.M, c.V);
    EXPECT_GRAD(xent_loss, &c, c.logits, n, d, 1e-2f, 2e-3);
    float *d1 = xmalloc(sizeof(float) * n);
    memcpy(d1, d, sizeof(float) * n);
    ops_cpu()->xent_bwd(d, c.logits, c.lse, tg, c.scale, c.M, c.V);
    int bad = 0;
    for (size_t i = 0; i < n; i++) bad += d[i] != 2.0f * d1[i];
    EXPECT_EQ_INT(bad, 0);
    free(d1), free(d), free(c.logits), free(c.loss), free(c.lse);
}

/* ---- attention ------------------------------------------------------------------------------ */

/* Reference of mosaicbert.md §3.3–3.4 in the PADDED formulation: qkv scattered
 * to [B, S, 3C] (zeros at pads), scores over all S keys with the key-padding
 * bias (1 − mask)·(−10000) and the ALiBi bias −slope·|i − j|, softmax, dropout
 * by the index formula of ops.h, then real tokens gathered back. Double. */
static void attention_ref(double *out, double *lse, const float *qkv, const int *lens, int B, int T, int max_seqlen,
                          int nh, int dh, const float *slopes, float p, rng_key key) {
    int C = nh * dh, S = 0;
    for (int b = 0; b < B; b++) S = lens[b] > S ? lens[b] : S;
    double *pad = dzeros((size_t)B * S * 3 * C), *sc = dzeros((size_t)S);
    int *row = xcalloc((size_t)B * S, sizeof(int)); /* padded position → unpadded row, −1 at pads */
    for (int b = 0, t = 0; b < B; b++)
        for (int s = 0; s < S; s++) {
            row[b * S + s] = s < lens[b] ? t++ : -1;
            if (s < lens[b])
                for (int k = 0; k < 3 * C; k++) pad[((size_t)b * S + s) * 3 * C + k] = qkv[(size_t)row[b * S + s] * 3 * C + k];
        }
    for (int b = 0; b < B; b++)
        for (int h = 0; h < nh; h++)
            for (int i = 0; i < S; i++) {
                const double *q = pad + ((size_t)b * S + i) * 3 * C + h * dh;
                double mx = -1e300;
                for (int j = 0; j < S; j++) {
                    const double *k = pad + ((size_t)b * S + j) * 3 * C + C + h * dh;
                    double d = 0;
                    for (int e = 0; e < dh; e++) d += q[e] * k[e];
                    sc[j] = d / sqrt((double)dh) + (j < lens[b] ? 0.0 : -10000.0) +
                            (slopes ? -(double)slopes[h] * abs(i - j) : 0.0);
                    if (sc[j] > mx) mx = sc[j];
                }
                double sum = 0;
                for (int j = 0; j < S; j++) sum += exp(sc[j] - mx);
                int t = row[b * S + i];
                if (t < 0) continue; /* padded query rows are computed and discarded */
                lse[(size_t)h * T + t] = mx + log(sum);
                for (int e = 0; e < dh; e++) out[(size_t)t * C + h * dh + e] = 0.0;
                for (int j = 0; j < S; j++) {
                    double pj = exp(sc[j] - mx) / sum;
                    if (p > 0)
                        pj = rng_keep(key, ((uint64_t)h * T + t) * max_seqlen + j, p) ? pj / (1.0 - p) : 0.0;
                    const double *v = pad + ((size_t)b * S + j) * 3 * C + 2 * C + h * dh;
                    for (int e = 0; e < dh; e++) out[(size_t)t * C + h * dh + e] += pj * v[e];
                }
            }
    free(pad), free(sc), free(row);
}

typedef struct {
    int B, T, max_seqlen, nh, dh;
    int32_t *cu;
    const float *slopes;
    float p;
    rng_key key;
    float *qkv, *out, *lse, *r;
} attn_ctx;

static double attn_loss(void *c_) {
    attn_ctx *c = c_;
    ops_cpu()->attention_fwd(c->out, c->lse, c->qkv, c->cu, c->B, c->T, c->max_seqlen, c->nh, c->dh, c->slopes, c->p,
                             c->key);
    return dot_r(c->out, c->r, (size_t)c->T * c->nh * c->dh);
}

static void attn_setup(attn_ctx *c, const int *lens, int B, int nh, int dh, int with_alibi, float p, float *slopes) {
    memset(c, 0, sizeof *c);
    c->B = B, c->nh = nh, c->dh = dh, c->p = p;
    c->key = (rng_key){.seed = 99, .stream = RNG_STREAM_DROPOUT | 77, .step = 3};
    c->cu = xcalloc((size_t)B + 1, sizeof(int32_t));
    for (int b = 0; b < B; b++) {
        c->cu[b + 1] = c->cu[b] + lens[b];
        if (lens[b] > c->max_seqlen) c->max_seqlen = lens[b];
    }
    c->max_seqlen += 3; /* the padded length may exceed the longest sequence (index formula) */
    c->T = c->cu[B];
    int C = nh * dh;
    if (with_alibi) alibi_slopes(slopes, nh);
    c->slopes = with_alibi ? slopes : NULL;
    c->qkv = randn((size_t)c->T * 3 * C, 70, 1), c->out = zeros((size_t)c->T * C), c->lse = zeros((size_t)nh * c->T);
    c->r = randn((size_t)c->T * C, 71, 1);
}
static void attn_free(attn_ctx *c) { free(c->cu), free(c->qkv), free(c->out), free(c->lse), free(c->r); }

static void check_attention(const int *lens, int B, int nh, int dh, int with_alibi, float p, int grad) {
    attn_ctx c;
    float slopes[16];
    attn_setup(&c, lens, B, nh, dh, with_alibi, p, slopes);
    int C = nh * dh;
    size_t no = (size_t)c.T * C, nq = (size_t)c.T * 3 * C;
    double *ref = dzeros(no), *rlse = dzeros((size_t)nh * c.T);
    attention_ref(ref, rlse, c.qkv, lens, B, c.T, c.max_seqlen, nh, dh, c.slopes, p, c.key);
    attn_loss(&c);
    EXPECT_CLOSE(c.out, ref, no, 1e-5);
    EXPECT_CLOSE(c.lse, rlse, (size_t)nh * c.T, 1e-6);
    if (grad) {
        float *dqkv = zeros(nq);
        ops_cpu()->attention_bwd(dqkv, c.r, c.out, c.lse, c.qkv, c.cu, B, c.T, c.max_seqlen, nh, dh, c.slopes, p,
                                 c.key);
        EXPECT_GRAD(attn_loss, &c, c.qkv, nq, dqkv, 1e-2f, 3e-3);
        float *d1 = xmalloc(sizeof(float) * nq);
        memcpy(d1, dqkv, sizeof(float) * nq);
        ops_cpu()->attention_bwd(dqkv, c.r, c.out, c.lse, c.qkv, c.cu, B, c.T, c.max_seqlen, nh, dh, c.slopes, p,
                                 c.key);
        double *tw = dzeros(nq);
        for (size_t i = 0; i < nq; i++) tw[i] = 2.0 * d1[i];
        EXPECT_CLOSE(dqkv, tw, nq, 1e-6);
        free(tw), free(d1), free(dqkv);
    }
    free(ref), free(rlse);
    attn_free(&c);
}

TEST(ops_attention_forward) {
    static const int lens[4] = {5, 1, 70, 130}; /* odd lengths, one token, several row blocks */
    check_attention(lens, 4, 3, 16, 0, 0.0f, 0);
    check_attention(lens, 4, 3, 16, 1, 0.0f, 0);
    check_attention(lens, 4, 2, 8, 1, 0.2f, 0);
    static const int one[1] = {200};
    check_attention(one, 1, 12, 64, 1, 0.0f, 0);
}

TEST(ops_attention_gradients) {
    static const int lens[3] = {3, 7, 1};
    check_attention(lens, 3, 2, 4, 0, 0.0f, 1);
    check_attention(lens, 3, 2, 4, 1, 0.0f, 1);
    check_attention(lens, 3, 2, 4, 1, 0.25f, 1);
    static const int lens2[2] = {67, 9}; /* more than one row block of 64 queries */
    check_attention(lens2, 2, 2, 4, 1, 0.1f, 1);
}

/* A long sequence: no T² memory; a few rows against the reference computed per row. */
TEST(ops_attention_long_sequence) {
    int L = 8192, nh = 1, dh = 8, C = nh * dh;
    int32_t cu[2] = {0, L};
    float slope[1] = {0.0625f};
    float *qkv = randn((size_t)L * 3 * C, 80, 1), *out = zeros((size_t)L * C), *lse = zeros((size_t)L);
    ops_cpu()->attention_fwd(out, lse, qkv, cu, 1, L, L, nh, dh, slope, 0.0f, (rng_key){0});
    static const int rows[4] = {0, 1, 4097, 8191};
    double *sc = dzeros((size_t)L);
    for (int k = 0; k < 4; k++) {
        int i = rows[k];
        double mx = -1e300, sum = 0, o[8] = {0};
        for (int j = 0; j < L; j++) {
            double d = 0;
            for (int e = 0; e < dh; e++) d += (double)qkv[(size_t)i * 3 * C + e] * qkv[(size_t)j * 3 * C + C + e];
            sc[j] = d / sqrt(dh) - slope[0] * abs(i - j);
            if (sc[j] > mx) mx = sc[j];
        }
        for (int j = 0; j < L; j++) sum += exp(sc[j] - mx);
        for (int j = 0; j < L; j++)
            for (int e = 0; e < dh; e++) o[e] += exp(sc[j] - mx) / sum * qkv[(size_t)j * 3 * C + 2 * C + e];
        EXPECT_CLOSE(out + (size_t)i * C, o, (size_t)dh, 1e-5);
        double l = mx + log(sum);
        EXPECT_MSG(fabs(lse[i] - l) <= 1e-6 * fabs(l) + 1e-6, "row %d lse %.8g vs %.8g", i, lse[i], l);
    }
    free(sc), free(qkv), free(out), free(lse);
}

/* ---- determinism across thread counts --------------------------------------------------------- */

/* Runs forward and backward of every op with `threads` OpenMP threads and
 * returns all outputs concatenated (caller frees), length *n. */
static float *run_all(int threads, size_t *n) {
    const ops *o = ops_cpu();
    omp_set_num_threads(threads);
    int N = 300, C = 192, OC = 512, V = 600;
    size_t cap = 0, at = 0;
    float *acc = NULL;
#define KEEP(p, cnt)                                                                \
    do {                                                                            \
        size_t c_ = (cnt);                                                          \
        if (at + c_ > cap) cap = 2 * (at + c_), acc = xrealloc(acc, sizeof(float) * cap); \
        memcpy(acc + at, (p), sizeof(float) * c_), at += c_;                        \
    } while (0)
    float *x = randn((size_t)N * C, 90, 1), *w = randn((size_t)OC * C, 91, 0.1f), *b = randn(OC, 92, 1);
    float *out = zeros((size_t)N * OC), *pre = zeros((size_t)N * OC), *r = randn((size_t)N * OC, 93, 1);
    o->matmul_fwd(out, pre, x, w, b, N, C, OC, ACT_GELU);
    KEEP(out, (size_t)N * OC);
    float *dpre = zeros((size_t)N * OC), *dx = zeros((size_t)N * C), *dw = zeros((size_t)OC * C), *db = zeros(OC);
    o->act_bwd(dpre, r, pre, (size_t)N * OC, ACT_GELU);
    o->matmul_bwd(dx, dw, db, dpre, x, w, N, C, OC);
    KEEP(dx, (size_t)N * C); KEEP(dw, (size_t)OC * C); KEEP(db, OC);
    { /* odd sizes: OpenBLAS edge tiles, split differently for each thread count */
        int n2 = 333, c2 = 257, oc2 = 517;
        float *x2 = randn((size_t)n2 * c2, 98, 1), *w2 = randn((size_t)oc2 * c2, 99, 0.1f), *o2 = zeros((size_t)n2 * oc2);
        float *dx2 = zeros((size_t)n2 * c2), *dw2 = zeros((size_t)oc2 * c2), *db2 = zeros(oc2), *b2 = randn(oc2, 100, 1);
        o->matmul_fwd(o2, NULL, x2, w2, b2, n2, c2, oc2, ACT_NONE);
        o->matmul_bwd(dx2, dw2, db2, o2, x2, w2, n2, c2, oc2);
        KEEP(o2, (size_t)n2 * oc2); KEEP(dx2, (size_t)n2 * c2); KEEP(dw2, (size_t)oc2 * c2); KEEP(db2, oc2);
        free(x2), free(w2), free(o2), free(dx2), free(dw2), free(db2), free(b2);
    }
    /* LayerNorm */
    float *g = randn(C, 94, 1), *bb = randn(C, 95, 1), *y = zeros((size_t)N * C), *s = zeros((size_t)N * C);
    float *mean = zeros(N), *rstd = zeros(N), *ds = zeros((size_t)N * C), *dg = zeros(C), *dbb = zeros(C);
    o->layernorm_fwd(y, s, mean, rstd, x, dx, g, bb, N, C, 1e-12f);
    o->layernorm_bwd(ds, dg, dbb, x, s, g, mean, rstd, N, C);
    KEEP(y, (size_t)N * C); KEEP(ds, (size_t)N * C); KEEP(dg, C); KEEP(dbb, C);
    /* GLU, dropout */
    float *glu = zeros((size_t)N * OC / 2), *du = zeros((size_t)N * OC);
    o->glu_fwd(glu, out, N, OC / 2, 0.0f, (rng_key){0});
    o->glu_bwd(du, r, out, N, OC / 2, 0.0f, (rng_key){0});
    rng_key key = {.seed = 5, .stream = RNG_STREAM_DROPOUT, .step = 1};
    o->dropout_fwd(du, du, (size_t)N * OC, 0.1f, key);
    KEEP(glu, (size_t)N * OC / 2); KEEP(du, (size_t)N * OC);
    /* embeddings and scatter with many repeated rows */
    int32_t *ids = xmalloc(sizeof(int32_t) * N), *types = xmalloc(sizeof(int32_t) * N);
    for (int t = 0; t < N; t++) ids[t] = (t * 7) % 13, types[t] = t & 1;
    float *dwte = zeros((size_t)13 * C), *dwtt = zeros((size_t)2 * C);
    o->embed_bwd(dwte, dwtt, NULL, y, ids, types, NULL, N, C);
    o->scatter_add_rows(dwte, ds, ids, N, C);
    KEEP(dwte, (size_t)13 * C); KEEP(dwtt, (size_t)2 * C);
    /* cross-entropy */
    float *logits = randn((size_t)N * V, 96, 2), *loss = zeros(N), *lse = zeros(N), *dl = zeros((size_t)N * V);
    o->xent_fwd(loss, lse, logits, ids, N, V);
    o->xent_bwd(dl, logits, lse, ids, 1.0f / N, N, V);
    KEEP(loss, N); KEEP(dl, (size_t)N * V);
    /* attention: 3 sequences, 4 heads, ALiBi and dropout */
    int nh = 4, dh = 48, AC = nh * dh; /* AC = C */
    int32_t cu[4] = {0, 100, 131, N};
    float slopes[4], *alse = zeros((size_t)nh * N), *aout = zeros((size_t)N * AC), *dqkv = zeros((size_t)N * 3 * AC);
    alibi_slopes(slopes, nh);
    float *qkv = randn((size_t)N * 3 * AC, 97, 1);
    o->attention_fwd(aout, alse, qkv, cu, 3, N, 170, nh, dh, slopes, 0.1f, key);
    o->attention_bwd(dqkv, y, aout, alse, qkv, cu, 3, N, 170, nh, dh, slopes, 0.1f, key);
    KEEP(aout, (size_t)N * AC); KEEP(alse, (size_t)nh * N); KEEP(dqkv, (size_t)N * 3 * AC);
#undef KEEP
    free(x), free(w), free(b), free(out), free(pre), free(r), free(dpre), free(dx), free(dw), free(db);
    free(g), free(bb), free(y), free(s), free(mean), free(rstd), free(ds), free(dg), free(dbb), free(glu), free(du);
    free(ids), free(types), free(dwte), free(dwtt), free(logits), free(loss), free(lse), free(dl);
    free(alse), free(aout), free(dqkv), free(qkv);
    *n = at;
    return acc;
}

TEST(ops_deterministic_across_threads) {
    int saved = omp_get_max_threads();
    size_t n1, n2, n3;
    float *a = run_all(1, &n1), *b = run_all(2, &n2), *c = run_all(3, &n3);
    omp_set_num_threads(saved);
    REQUIRE(n1 == n2 && n1 == n3);
    size_t d12 = 0, d13 = 0;
    for (size_t i = 0; i < n1; i++) {
        d12 += memcmp(&a[i], &b[i], sizeof(float)) != 0;
        d13 += memcmp(&a[i], &c[i], sizeof(float)) != 0;
    }
    EXPECT_MSG(d12 == 0, "1 vs 2 threads: %zu of %zu values differ", d12, n1);
    EXPECT_MSG(d13 == 0, "1 vs 3 threads: %zu of %zu values differ", d13, n1);
    free(a), free(b), free(c);
}
