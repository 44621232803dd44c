/* ops_cpu.c — micro benchmark of the CPU backend's heavy ops.
 *   cc -std=c11 -O2 -D_GNU_SOURCE -fopenmp -I<openblas include> bench/ops_cpu.c build/libbertc.a \
 *      <libopenblas.a> -lz -lm -o build/bench_ops_cpu && build/bench_ops_cpu
 * Prints the best of a few runs of each op. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../src/backend/ops.h"
#include <cblas.h> /* after ops.h: its <complex.h> defines I */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static float *filled(size_t n, uint32_t id) {
    float *x = ops_cpu()->alloc(n * sizeof(float));
    rng_fill_normal(x, n, 0.0f, 1.0f, (rng_key){.seed = 1, .stream = RNG_STREAM_FIXTURE | id});
    return x;
}

#define BEST(reps, stmt)                                                   \
    ({                                                                     \
        double best_ = 1e30;                                               \
        for (int r_ = 0; r_ < (reps); r_++) {                              \
            double t0_ = now();                                            \
            stmt;                                                          \
            double t_ = now() - t0_;                                       \
            if (t_ < best_) best_ = t_;                                    \
        }                                                                  \
        best_;                                                             \
    })

static void bench_matmul(int N, int C, int OC) {
    const ops *o = ops_cpu();
    float *x = filled((size_t)N * C, 1), *w = filled((size_t)OC * C, 2), *b = filled(OC, 3);
    float *out = filled((size_t)N * OC, 4), *pre = filled((size_t)N * OC, 5);
    float *dx = filled((size_t)N * C, 6), *dw = filled((size_t)OC * C, 7), *db = filled(OC, 8);
    double fl = 2.0 * N * C * OC;
    double t1 = BEST(3, o->matmul_fwd(out, NULL, x, w, b, N, C, OC, ACT_NONE));
    double t2 = BEST(3, o->matmul_fwd(out, pre, x, w, b, N, C, OC, ACT_GELU));
    double t3 = BEST(3, o->matmul_bwd(dx, dw, db, out, x, w, N, C, OC));
    double t0 = BEST(3, cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f, x, C, w, C, 0.0f, out, OC));
    printf("plain multi-threaded cblas_sgemm (not deterministic across thread counts): %.1f ms (%.1f GFLOP/s)\n",
           t0 * 1e3, fl / t0 * 1e-9);
    printf("matmul N=%d C=%d OC=%d: fwd %.1f ms (%.1f GFLOP/s), fwd+GELU %.1f ms (%.1f GFLOP/s), "
           "bwd %.1f ms (%.1f GFLOP/s)\n",
           N, C, OC, t1 * 1e3, fl / t1 * 1e-9, t2 * 1e3, fl / t2 * 1e-9, t3 * 1e3, 2 * fl / t3 * 1e-9);
    o->free(x), o->free(w), o->free(b), o->free(out), o->free(pre), o->free(dx), o->free(dw), o->free(db);
}

static void bench_attention(int B, int L, int nh, int dh, float p) {
    const ops *o = ops_cpu();
    int C = nh * dh, T = B * L;
    float *qkv = filled((size_t)T * 3 * C, 10), *out = filled((size_t)T * C, 11), *lse = filled((size_t)nh * T, 12);
    float *dqkv = filled((size_t)T * 3 * C, 13), slopes[64];
    alibi_slopes(slopes, nh);
    int32_t *cu = malloc(sizeof(int32_t) * (B + 1));
    for (int b = 0; b <= B; b++) cu[b] = b * L;
    rng_key k = {.seed = 1, .stream = RNG_STREAM_DROPOUT};
    int reps = L >= 2048 ? 2 : 5;
    double t1 = BEST(reps, o->attention_fwd(out, lse, qkv, cu, B, T, L, nh, dh, slopes, p, k));
    double t2 = BEST(reps, o->attention_bwd(dqkv, out, out, lse, qkv, cu, B, T, L, nh, dh, slopes, p, k));
    double fl = 4.0 * B * nh * (double)L * L * dh; /* two products of 2·L²·dh each */
    printf("attention B=%d L=%d nh=%d dh=%d p=%.1f: fwd %.2f ms (%.1f GFLOP/s), bwd %.2f ms\n", B, L, nh, dh, p,
           t1 * 1e3, fl / t1 * 1e-9, t2 * 1e3);
    o->free(qkv), o->free(out), o->free(lse), o->free(dqkv), free(cu);
}

static void bench_rows(void) {
    const ops *o = ops_cpu();
    int N = 4096, C = 768, M = 640, V = 30528;
    float *x = filled((size_t)N * C, 20), *res = filled((size_t)N * C, 21), *g = filled(C, 22), *b = filled(C, 23);
    float *out = filled((size_t)N * C, 24), *s = filled((size_t)N * C, 25), *mean = filled(N, 26), *rstd = filled(N, 27);
    float *dg = filled(C, 28), *db = filled(C, 29), *ds = filled((size_t)N * C, 30);
    double t1 = BEST(5, o->layernorm_fwd(out, s, mean, rstd, x, res, g, b, N, C, 1e-12f));
    double t2 = BEST(5, o->layernorm_bwd(ds, dg, db, x, s, g, mean, rstd, N, C));
    printf("layernorm N=%d C=%d: fwd %.2f ms, bwd %.2f ms\n", N, C, t1 * 1e3, t2 * 1e3);
    float *u = filled((size_t)N * 2 * 3072 / 4, 31), *h = filled((size_t)N * 3072 / 4, 32);
    double t3 = BEST(5, o->glu_fwd(h, u, N / 4, 3072));
    printf("glu N=%d I=3072: fwd %.2f ms\n", N / 4, t3 * 1e3);
    float *logits = filled((size_t)M * V, 33), *loss = filled(M, 34), *lse = filled(M, 35), *dl = filled((size_t)M * V, 36);
    int32_t *tg = calloc(M, sizeof(int32_t));
    double t4 = BEST(5, o->xent_fwd(loss, lse, logits, tg, M, V));
    double t5 = BEST(5, o->xent_bwd(dl, logits, lse, tg, 1.0f / M, M, V));
    printf("xent M=%d V=%d: fwd %.2f ms, bwd %.2f ms\n", M, V, t4 * 1e3, t5 * 1e3);
    o->free(x), o->free(res), o->free(g), o->free(b), o->free(out), o->free(s), o->free(mean), o->free(rstd);
    o->free(dg), o->free(db), o->free(ds), o->free(u), o->free(h), o->free(logits), o->free(loss), o->free(lse);
    o->free(dl), free(tg);
}

int main(void) {
    printf("threads: %d\n", omp_get_max_threads());
    bench_matmul(2048, 768, 3072);
    bench_attention(1, 128, 12, 64, 0.0f);
    bench_attention(1, 2048, 12, 64, 0.0f);
    bench_attention(32, 128, 12, 64, 0.0f);
    bench_attention(32, 128, 12, 64, 0.1f);
    bench_rows();
    return 0;
}
