/* cpu_m2.h — the CPU backend's M2 ops (cpu_m2.c); semantics in ops.h's "M2" section. */
#ifndef BERTC_CPU_M2_H
#define BERTC_CPU_M2_H

#include "../ops.h"

void cpu_m2_shortconv_fwd(void *out, const void *in, const float *w, const float *b, int B, int L, int C);
void cpu_m2_shortconv_bwd(void *din, float *dw, float *db, const void *dout, const void *in, const float *w, int B,
                          int L, int C);
void cpu_m2_mul_fwd(void *out, const void *a, int lda, const void *b, int ldb, const void *add, int T, int C);
void cpu_m2_mul_bwd(void *da, void *db, const void *dout, const void *a, int lda, const void *b, int ldb, int T,
                    int C);
void cpu_m2_kernel_fft(float *kspec, const float *kf, const float *kr, int L, int C);
void cpu_m2_longconv_fwd(void *y, const void *u, const float *kspec, const float *D, int B, int L, int C);
void cpu_m2_longconv_bwd(void *du, float *dkf, float *dkr, float *dD, const void *dy, const void *u,
                         const float *kspec, const float *D, int B, int L, int C);
void cpu_m2_sin_fwd(float *out, const float *x, const float *freq, float w_mod, int N, int K);
void cpu_m2_sin_bwd(float *dx, float *dfreq, const float *dout, const float *x, const float *freq, float w_mod, int N,
                    int K);
void cpu_m2_modulate_fwd(float *k, const float *h, const float *t, const float *deltas, int L, int C);
void cpu_m2_modulate_bwd(float *dh, const float *dk, const float *t, const float *deltas, int L, int C);
void cpu_blockdiag_fwd(void *out, const void *inp, const float *w, const float *b, int N, int C, int OC, int nb);
void cpu_blockdiag_bwd(void *dinp, float *dw, float *db, const void *dout, const void *inp, const float *w, int N,
                       int C, int OC, int nb);

#endif
