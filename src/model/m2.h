/* m2.h — the M2-BERT layer (Monarch Mixer, m2bert.md §2–§3) over ops.h: the
 * sequence mixer (optional pre-LN → in_linear → causal short conv → v⊙x1 →
 * long conv (+D1) → ⊙x2 → + residual long conv of the mixer input (+D2) →
 * out_linear; no residual around the mixer), the block-diagonal GLU MLP with
 * its post-LayerNorm, and the Hyena filter generator that makes the long-conv
 * kernels from parameters only.
 *
 * M2 runs on B rows of exactly L tokens (T = B·L, pads are tokens: §1.6); L is
 * at most long_conv_l_max and max_position_embeddings. model.c owns the
 * embeddings and heads and calls these per layer.
 *
 * Kernels: a training model regenerates each layer's kernels (and their FFTs)
 * on every forward; an inference model computes them once per sequence length
 * and caches them (m2_invalidate drops the cache after parameters change). */
#ifndef BERTC_M2_H
#define BERTC_M2_H

#include "../backend/ops.h"
#include "config.h"
#include "params.h"

typedef struct m2_ctx m2_ctx;

/* Appends layer `layer`'s tensors to the parameter table (HF names, §2.6). One
 * `freq` per Hyena filter: `…implicit_filter.1.freq` stands for all six aliases. */
void m2_params_add(param_table *t, const model_config *c, int layer);
/* The Hyena positional features z (§2.3) for init: z (l_max, emb_dim). */
void m2_init_z(float *z, int l_max, int emb_dim);

/* Per-model state: parameter offsets, activations of max_tokens rows, filter
 * buffers t and deltas, kernel spectra. */
m2_ctx *m2_create(const model_config *c, const ops *o, const param_table *pt, int max_tokens, int inference);
void m2_free(m2_ctx *m);
void m2_invalidate(m2_ctx *m);
/* Replaces the modulation buffers (host floats): t (n_t ≥ the longest row) and deltas (n_d = C),
 * e.g. a checkpoint's `pos_emb.t` and `modulation.deltas` (m2bert.md §2.6: take them from the
 * file; torch's fp32 linspace differs by an ulp between versions). -1 + err on bad sizes. */
int m2_set_buffers(m2_ctx *m, const float *t, int n_t, const float *deltas, int n_d);

/* Layer l on x (T, C), T = B·L; returns its output (T, C) (backend memory owned
 * by the context). p_drop/key: the MLP dropout (after the GLU). */
const void *m2_layer_fwd(m2_ctx *m, int l, const float *params, const void *x, int B, int L, float p_drop,
                         rng_key key);
/* The output (T, C) of layer l's last forward (training contexts). */
const void *m2_layer_out(const m2_ctx *m, int l);
/* Backward of the last forward of layer l: dy (T, C) holds ∂L/∂y on entry and
 * ∂L/∂x on return; parameter gradients ACCUMULATE into grads. */
void m2_layer_bwd(m2_ctx *m, int l, const float *params, float *grads, void *dy, const void *x, int B, int L,
                  float p_drop, rng_key key);

#endif
