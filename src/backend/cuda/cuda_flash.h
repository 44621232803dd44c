/* cuda_flash.h — bf16 tensor-core flash attention (cuda_flash.cu) for the CUDA
 * backend's bf16 mode. Same op as ops.h's attention_fwd / attention_bwd (unpadded
 * variable-length sequences via cu_seqlens, fused qkv, ALiBi after the 1/√dh scale,
 * attention-prob dropout with the Philox element index ((h·T + t_i)·max_seqlen + j),
 * lse saved in f32, the backward ACCUMULATES into dqkv), but every act tensor is
 * bf16 (__nv_bfloat16; uint16_t bits on the C side). Head dims 32, 64, 128; ALiBi
 * for at most 64 heads. Launches on the default stream; never synchronises.
 * Plain C declarations: the C tests call these directly. */
#ifndef BERTC_CUDA_FLASH_H
#define BERTC_CUDA_FLASH_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stdint.h>

#include "../../core/rng.h"

/* out (T,C) bf16, lse (nh,T) f32; qkv (T,3C) bf16; cu_seqlens (B+1,) int32 device;
 * slopes (nh,) f32 HOST memory or NULL (no ALiBi). */
void cu_flash_fwd(void *out, float *lse, const void *qkv, const int32_t *cu_seqlens, int B, int T, int max_seqlen,
                  int nh, int dh, const float *slopes, float p_drop, rng_key key);
/* dqkv (T,3C) bf16 += gradients of Q, K, V; dout, out (T,C) bf16; lse (nh,T) f32 from the forward. */
void cu_flash_bwd(void *dqkv, const void *dout, const void *out, const float *lse, const void *qkv,
                  const int32_t *cu_seqlens, int B, int T, int max_seqlen, int nh, int dh, const float *slopes,
                  float p_drop, rng_key key);

#ifdef __cplusplus
}
#endif

#endif
