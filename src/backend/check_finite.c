/* check_finite.c — a debugging backend: wraps another op table and, after every
 * op, reads back what the op wrote and stops at the first non-finite value,
 * naming the op, the tensor, the call number and the largest magnitude of each
 * input. Turned on for any command by BERTC_CHECK_FINITE=1 (ops_by_name).
 *
 * Why: a bf16 run that turns NaN after 100,000 steps gives only the loss; this
 * says which op made the first NaN or Inf (resume from the checkpoint before it
 * with the variable set). Every op synchronises and copies to the host, so it is
 * slow; it is for diagnosis, never for training.
 *
 * Ops whose outputs are not checked: memory ops, weights_sync, argmax_rows (indices), sumsq (returns a
 * host value the caller sees) and the M2 ops (passed through). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../core/err.h"
#include "ops.h"

static const ops *inner;   /* the wrapped backend (one per process) */
static ops checked;        /* the table handed out */
static unsigned long long n_calls;
static float *host;        /* (host_cap,) read-back buffer */
static size_t host_cap;

static float *readback(const void *p, size_t n, int act) {
    if (n > host_cap) {
        host = xrealloc(host, n * sizeof(float));
        host_cap = n;
    }
    if (act) inner->act_download(host, p, n);
    else inner->download(host, p, n * sizeof(float));
    return host;
}

static float max_abs(const void *p, size_t n, int act) {
    if (!p || !n) return 0.0f;
    const float *h = readback(p, n, act);
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(h[i]);
        if (!(a <= m)) m = a; /* NaN propagates */
    }
    return m;
}

/* One input of an op for the report: name, pointer, element count, act or f32. */
typedef struct {
    const char *name;
    const void *p;
    size_t n;
    int act;
} cf_tensor;

static void check(const char *op, const char *out_name, const void *p, size_t n, int act, const cf_tensor *in,
                  int n_in) {
    n_calls++;
    if (!p || !n) return;
    const float *h = readback(p, n, act);
    size_t bad = n;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(h[i])) {
            bad = i;
            break;
        }
    if (bad == n) return;
    float v = h[bad];
    fprintf(stderr, "BERTC_CHECK_FINITE: op %s wrote %g to %s[%zu] (of %zu), call %llu\n", op, v, out_name, bad, n,
            n_calls);
    for (int i = 0; i < n_in; i++)
        if (in[i].p) fprintf(stderr, "  input %s (%zu): max |x| = %g\n", in[i].name, in[i].n, max_abs(in[i].p, in[i].n, in[i].act));
    exit(3);
}

#define IN(nm, ptr, cnt, isact) {nm, ptr, (size_t)(cnt), isact}
#define CHECK_OUT(op, nm, ptr, cnt, isact, ...)                               \
    do {                                                                      \
        const cf_tensor in_[] = {__VA_ARGS__};                                \
        check(op, nm, ptr, (size_t)(cnt), isact, in_, (int)(sizeof in_ / sizeof in_[0])); \
    } while (0)

static void cf_adamw(float *p, float *m, float *v, const float *g, size_t n, const adamw_scalars *s) {
    inner->adamw(p, m, v, g, n, s);
    CHECK_OUT("adamw", "p", p, n, 0, IN("g", g, n, 0), IN("m", m, n, 0), IN("v", v, n, 0));
}

static void cf_scale(float *x, size_t n, float s) {
    inner->scale(x, n, s);
    CHECK_OUT("scale", "x", x, n, 0, IN("x", x, n, 0));
}

static void cf_embed_fwd(void *out, const int32_t *ids, const int32_t *types, const int32_t *pos, const float *wte,
                         const float *wtt, const float *wpe, int T, int C) {
    inner->embed_fwd(out, ids, types, pos, wte, wtt, wpe, T, C);
    CHECK_OUT("embed_fwd", "out", out, (size_t)T * C, 1, IN("wtt", wtt, C, 0));
}

static void cf_embed_bwd(float *dwte, float *dwtt, float *dwpe, const void *dout, const int32_t *ids,
                         const int32_t *types, const int32_t *pos, int T, int C) {
    inner->embed_bwd(dwte, dwtt, dwpe, dout, ids, types, pos, T, C);
    CHECK_OUT("embed_bwd", "dwtt", dwtt, C, 0, IN("dout", dout, (size_t)T * C, 1));
}

static void cf_matmul_fwd(void *out, void *pre, const void *inp, const float *w, const float *b, int N, int C,
                          int OC, act_fn act) {
    inner->matmul_fwd(out, pre, inp, w, b, N, C, OC, act);
    CHECK_OUT("matmul_fwd", "out", out, (size_t)N * OC, 1, IN("inp", inp, (size_t)N * C, 1),
              IN("w", w, (size_t)OC * C, 0), IN("b", b, OC, 0));
}

static void cf_matmul_bwd(void *dinp, float *dw, float *db, const void *dout, const void *inp, const float *w, int N,
                          int C, int OC) {
    inner->matmul_bwd(dinp, dw, db, dout, inp, w, N, C, OC);
    const cf_tensor in[] = {IN("dout", dout, (size_t)N * OC, 1), IN("inp", inp, (size_t)N * C, 1),
                            IN("w", w, (size_t)OC * C, 0)};
    check("matmul_bwd", "dinp", dinp, (size_t)N * C, 1, in, 3);
    check("matmul_bwd", "dw", dw, (size_t)OC * C, 0, in, 3);
    check("matmul_bwd", "db", db, db ? (size_t)OC : 0, 0, in, 3);
}

static void cf_act_bwd(void *dpre, const void *dout, const void *pre, size_t n, act_fn act) {
    inner->act_bwd(dpre, dout, pre, n, act);
    CHECK_OUT("act_bwd", "dpre", dpre, n, 1, IN("dout", dout, n, 1), IN("pre", pre, n, 1));
}

static void cf_layernorm_fwd(void *out, void *s_out, float *mean, float *rstd, const void *x, const void *res,
                             const float *g, const float *b, int N, int C, float eps) {
    /* out may alias x or res: take the inputs' magnitudes after, from s_out and the stats */
    inner->layernorm_fwd(out, s_out, mean, rstd, x, res, g, b, N, C, eps);
    const void *s = s_out ? s_out : (out != x ? x : NULL); /* without s_out, x is s (unless overwritten) */
    const cf_tensor in[] = {IN("s", s, (size_t)N * C, 1), IN("mean", mean, N, 0), IN("rstd", rstd, N, 0),
                            IN("g", g, C, 0), IN("b", b, C, 0)};
    check("layernorm_fwd", "rstd", rstd, N, 0, in, 5);
    check("layernorm_fwd", "out", out, (size_t)N * C, 1, in, 5);
}

static void cf_layernorm_bwd(void *ds, float *dg, float *db, const void *dout, const void *s, const float *g,
                             const float *mean, const float *rstd, int N, int C) {
    inner->layernorm_bwd(ds, dg, db, dout, s, g, mean, rstd, N, C);
    const cf_tensor in[] = {IN("dout", dout, (size_t)N * C, 1), IN("s", s, (size_t)N * C, 1), IN("rstd", rstd, N, 0)};
    check("layernorm_bwd", "ds", ds, (size_t)N * C, 1, in, 3);
    check("layernorm_bwd", "dg", dg, C, 0, in, 3);
}

static void cf_glu_fwd(void *out, const void *u, int N, int width, float p_drop, rng_key key) {
    inner->glu_fwd(out, u, N, width, p_drop, key);
    CHECK_OUT("glu_fwd", "out", out, (size_t)N * width, 1, IN("u", u, (size_t)N * 2 * width, 1));
}

static void cf_glu_bwd(void *du, const void *dout, const void *u, int N, int width, float p_drop, rng_key key) {
    inner->glu_bwd(du, dout, u, N, width, p_drop, key);
    CHECK_OUT("glu_bwd", "du", du, (size_t)N * 2 * width, 1, IN("dout", dout, (size_t)N * width, 1),
              IN("u", u, (size_t)N * 2 * width, 1));
}

static void cf_dropout_fwd(void *out, const void *in, size_t n, float p, rng_key key) {
    inner->dropout_fwd(out, in, n, p, key);
    CHECK_OUT("dropout_fwd", "out", out, n, 1, IN("out", out, n, 1));
}

static void cf_dropout_bwd(void *din, const void *dout, size_t n, float p, rng_key key) {
    inner->dropout_bwd(din, dout, n, p, key);
    CHECK_OUT("dropout_bwd", "din", din, n, 1, IN("dout", dout, n, 1));
}

static void cf_attention_fwd(void *out, float *lse, const void *qkv, const int32_t *cu_seqlens, int B, int T,
                             int max_seqlen, int nh, int dh, const float *slopes, float p_drop, rng_key key) {
    inner->attention_fwd(out, lse, qkv, cu_seqlens, B, T, max_seqlen, nh, dh, slopes, p_drop, key);
    const size_t C = (size_t)nh * dh;
    const cf_tensor in[] = {IN("qkv", qkv, T * 3 * C, 1)};
    check("attention_fwd", "lse", lse, (size_t)nh * T, 0, in, 1);
    check("attention_fwd", "out", out, T * C, 1, in, 1);
}

static void cf_attention_bwd(void *dqkv, const void *dout, const void *out, const float *lse, const void *qkv,
                             const int32_t *cu_seqlens, int B, int T, int max_seqlen, int nh, int dh,
                             const float *slopes, float p_drop, rng_key key) {
    inner->attention_bwd(dqkv, dout, out, lse, qkv, cu_seqlens, B, T, max_seqlen, nh, dh, slopes, p_drop, key);
    const size_t C = (size_t)nh * dh;
    CHECK_OUT("attention_bwd", "dqkv", dqkv, T * 3 * C, 1, IN("dout", dout, T * C, 1), IN("out", out, T * C, 1),
              IN("lse", lse, (size_t)nh * T, 0), IN("qkv", qkv, T * 3 * C, 1));
}

static void cf_gather_rows(void *out, const void *in, const int32_t *idx, int M, int C) {
    inner->gather_rows(out, in, idx, M, C);
    CHECK_OUT("gather_rows", "out", out, (size_t)M * C, 1, IN("out", out, (size_t)M * C, 1));
}

static void cf_scatter_add_rows(void *din, const void *dout, const int32_t *idx, int M, int C) {
    inner->scatter_add_rows(din, dout, idx, M, C);
    CHECK_OUT("scatter_add_rows", "dout", dout, (size_t)M * C, 1, IN("dout", dout, (size_t)M * C, 1));
}

static void cf_xent_fwd(float *loss, float *lse, const void *logits, const int32_t *targets, int M, int V) {
    inner->xent_fwd(loss, lse, logits, targets, M, V);
    CHECK_OUT("xent_fwd", "loss", loss, M, 0, IN("logits", logits, (size_t)M * V, 1));
}

static void cf_xent_bwd(void *dlogits, const void *logits, const float *lse, const int32_t *targets, float scale,
                        int M, int V) {
    inner->xent_bwd(dlogits, logits, lse, targets, scale, M, V);
    CHECK_OUT("xent_bwd", "dlogits", dlogits, (size_t)M * V, 1, IN("logits", logits, (size_t)M * V, 1),
              IN("lse", lse, M, 0));
}

const ops *ops_check_finite(const ops *o) {
    inner = o;
    checked = *o; /* memory, sumsq, argmax_rows (int output) and the M2 ops pass through */
    checked.adamw = cf_adamw;
    checked.scale = cf_scale;
    checked.embed_fwd = cf_embed_fwd;
    checked.embed_bwd = cf_embed_bwd;
    checked.matmul_fwd = cf_matmul_fwd;
    checked.matmul_bwd = cf_matmul_bwd;
    checked.act_bwd = cf_act_bwd;
    checked.layernorm_fwd = cf_layernorm_fwd;
    checked.layernorm_bwd = cf_layernorm_bwd;
    checked.glu_fwd = cf_glu_fwd;
    checked.glu_bwd = cf_glu_bwd;
    checked.dropout_fwd = cf_dropout_fwd;
    checked.dropout_bwd = cf_dropout_bwd;
    checked.attention_fwd = cf_attention_fwd;
    checked.attention_bwd = cf_attention_bwd;
    checked.gather_rows = cf_gather_rows;
    checked.scatter_add_rows = cf_scatter_add_rows;
    checked.xent_fwd = cf_xent_fwd;
    checked.xent_bwd = cf_xent_bwd;
    fprintf(stderr, "BERTC_CHECK_FINITE: every op's output of backend %s is checked (slow)\n", o->name);
    return &checked;
}
