/* cpu_optim.c — the CPU backend's optimizer ops (ops.h): the AdamW element update,
 * the sum of squares for gradient norms, scaling. Elementwise loops are
 * parallel over elements; the sum of squares is taken over fixed chunks, so
 * its value does not depend on the thread count. */
#include <math.h>
#include <stdlib.h>

#include "../../core/err.h"
#include "cpu.h"

void cpu_adamw(float *p, float *m, float *v, const float *g, size_t n, const adamw_scalars *s) {
    const float keep = s->keep, b1 = s->b1, ob1 = s->ob1, b2 = s->b2, ob2 = s->ob2, eps = s->eps,
                sqrt_bc2 = s->sqrt_bc2, step_size = s->step_size;
    const int decay = s->decay;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) {
        float gv = g[i];
        float pv = decay ? p[i] * keep : p[i];
        float mv = b1 * m[i] + ob1 * gv;
        float vv = b2 * v[i] + ob2 * gv * gv;
        m[i] = mv;
        v[i] = vv;
        p[i] = pv - step_size * (mv / (sqrtf(vv) / sqrt_bc2 + eps));
    }
}

#define SUMSQ_CHUNK 16384 /* ops.h: the chunking is part of the contract */

double cpu_sumsq(const float *x, size_t n) {
    size_t nc = (n + SUMSQ_CHUNK - 1) / SUMSQ_CHUNK;
    if (nc == 0) return 0.0;
    double *part = xmalloc(nc * sizeof *part); /* (nc,) per-chunk sums of squares */
#pragma omp parallel for schedule(static) if (nc > 4)
    for (size_t c = 0; c < nc; c++) {
        size_t a = c * SUMSQ_CHUNK, b = a + SUMSQ_CHUNK < n ? a + SUMSQ_CHUNK : n;
        double s = 0.0;
        for (size_t i = a; i < b; i++) s += (double)x[i] * (double)x[i];
        part[c] = s;
    }
    double s = 0.0;
    for (size_t c = 0; c < nc; c++) s += part[c];
    free(part);
    return s;
}

void cpu_scale(float *x, size_t n, float s) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) x[i] *= s;
}
