/* cpu_fft.c — see cpu_fft.h. Iterative radix-2 Cooley–Tukey, decimation in time. */
#include "cpu_fft.h"

#include <math.h>

#include "../../core/err.h"

void fft_plan_init(fft_plan *p, int n) {
    CHECK(n >= 1 && (n & (n - 1)) == 0, "FFT size is a power of two");
    p->n = n;
    p->tw = xmalloc(sizeof(double) * (size_t)(n > 1 ? n : 2)); /* (n/2) complex */
    p->rev = xmalloc(sizeof(int) * (size_t)n);
    for (int k = 0; k < n / 2; k++) {
        /* each twiddle from its own angle (no recurrence): full double accuracy */
        double a = -2.0 * M_PI * (double)k / (double)n;
        p->tw[2 * k] = cos(a);
        p->tw[2 * k + 1] = sin(a);
    }
    int bits = 0;
    while ((1 << bits) < n) bits++;
    for (int i = 0; i < n; i++) {
        int r = 0;
        for (int b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
        p->rev[i] = r;
    }
}

void fft_plan_free(fft_plan *p) {
    free(p->tw);
    free(p->rev);
    p->tw = NULL;
    p->rev = NULL;
}

void fft_run(const fft_plan *p, double *x, int inverse) {
    int n = p->n;
    for (int i = 0; i < n; i++) {
        int r = p->rev[i];
        if (r > i) {
            double t0 = x[2 * i], t1 = x[2 * i + 1];
            x[2 * i] = x[2 * r];
            x[2 * i + 1] = x[2 * r + 1];
            x[2 * r] = t0;
            x[2 * r + 1] = t1;
        }
    }
    double sgn = inverse ? -1.0 : 1.0; /* the inverse uses conjugate twiddles */
    for (int len = 2; len <= n; len *= 2) {
        int half = len / 2, step = n / len;
        for (int i = 0; i < n; i += len) {
            for (int j = 0; j < half; j++) {
                double wr = p->tw[2 * j * step], wi = sgn * p->tw[2 * j * step + 1];
                double *a = x + 2 * (i + j), *b = x + 2 * (i + j + half);
                double vr = b[0] * wr - b[1] * wi, vi = b[0] * wi + b[1] * wr;
                b[0] = a[0] - vr;
                b[1] = a[1] - vi;
                a[0] += vr;
                a[1] += vi;
            }
        }
    }
}
