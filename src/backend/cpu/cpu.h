/* cpu.h — private helpers shared by the fp32 CPU backend's files (src/backend/cpu/).
 * Every op here is deterministic: each output element is computed in an order
 * that depends only on the shapes, never on the number of OpenMP threads. */
#ifndef BERTC_CPU_H
#define BERTC_CPU_H

#include <math.h>
#include <stddef.h>

#include "../ops.h"

/* Exact (erf) GELU and its derivative Φ(x) + x·φ(x). */
static inline float cpu_gelu(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }
static inline float cpu_gelu_grad(float x) {
    float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
    float pdf = 0.39894228040143268f * expf(-0.5f * x * x);
    return cdf + x * pdf;
}

/* m[i] = keep(base + i) ? scale : 0 for i < n, keep = rng_keep(k, ·, p) of rng.h,
 * drawing one Philox block per four elements instead of one per element. */
/* Element count below which an op runs on one thread: a parallel region costs
 * microseconds, far more than small ops, and much more on a busy machine. */
#define CPU_PAR_MIN ((size_t)1 << 15)

void cpu_dropout_mask(float *m, uint64_t base, size_t n, rng_key k, float p, float scale);

/* Tensor parts, one file each. */
void cpu_embed_fwd(void *out, const int32_t *ids, const int32_t *types, const int32_t *pos, const float *wte,
                   const float *wtt, const float *wpe, int T, int C);
void cpu_embed_bwd(float *dwte, float *dwtt, float *dwpe, const void *dout, const int32_t *ids,
                   const int32_t *types, const int32_t *pos, int T, int C);
void cpu_gather_rows(void *out, const void *in, const int32_t *idx, int M, int C);
void cpu_scatter_add_rows(void *din, const void *dout, const int32_t *idx, int M, int C);
void cpu_dropout_fwd(void *out, const void *in, size_t n, float p, rng_key key);
void cpu_dropout_bwd(void *din, const void *dout, size_t n, float p, rng_key key);
void cpu_xent_fwd(float *loss, float *lse, const void *logits, const int32_t *targets, int M, int V);
void cpu_xent_bwd(void *dlogits, const void *logits, const float *lse, const int32_t *targets, float scale, int M,
                  int V);

void cpu_matmul_fwd(void *out, void *pre, const void *inp, const float *w, const float *b, int N, int C, int OC,
                    act_fn act);
void cpu_matmul_bwd(void *dinp, float *dw, float *db, const void *dout, const void *inp, const float *w, int N, int C,
                    int OC);
void cpu_act_bwd(void *dpre, const void *dout, const void *pre, size_t n, act_fn act);
void cpu_glu_fwd(void *out, const void *u, int N, int I);
void cpu_glu_bwd(void *du, const void *dout, const void *u, int N, int I);
void cpu_layernorm_fwd(void *out, void *s_out, float *mean, float *rstd, const void *x, const void *res,
                       const float *g, const float *b, int N, int C, float eps);
void cpu_layernorm_bwd(void *ds, float *dg, float *db, const void *dout, const void *s, const float *g,
                       const float *mean, const float *rstd, int N, int C);

void cpu_attention_fwd(void *out, float *lse, const void *qkv, const int32_t *cu_seqlens, int B, int T,
                       int max_seqlen, int nh, int dh, const float *slopes, float p_drop, rng_key key);
void cpu_attention_bwd(void *dqkv, const void *dout, const void *out, const float *lse, const void *qkv,
                       const int32_t *cu_seqlens, int B, int T, int max_seqlen, int nh, int dh,
                       const float *slopes, float p_drop, rng_key key);

#endif
