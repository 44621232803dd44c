/* cpu_fft.h — a small complex FFT for the M2 long convolution (cpu_m2.c).
 *
 * Why our own: the long convolution needs only power-of-two sizes (the row is
 * zero-padded to N = next power of two ≥ 2L, which keeps the convolution exact
 * for any L), and a radix-2 transform in double keeps the fp32 results within
 * rounding of the direct formula with no new build dependency (FFTW). */
#ifndef BERTC_CPU_FFT_H
#define BERTC_CPU_FFT_H

typedef struct {
    int n;       /* transform size, a power of two ≥ 1 */
    double *tw;  /* (n/2) complex, interleaved: e^(−2πik/n) */
    int *rev;    /* (n,) bit-reversal permutation */
} fft_plan;

void fft_plan_init(fft_plan *p, int n);
void fft_plan_free(fft_plan *p);
/* In place on x (n complex, interleaved re, im). Forward: X[k] = Σ x[j]·e^(−2πijk/n);
 * inverse: the same with e^(+…), unnormalised (no 1/n). Read-only on p: threads may share it. */
void fft_run(const fft_plan *p, double *x, int inverse);

#endif
