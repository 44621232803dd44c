/* fill_check.c — prints src/core/rng.c draws and the fixture weight rule
 * (docs/fixtures.md) so tools/ref/fill_check.sh can diff them against
 * tools/ref/philox.py.
 *   fill_check dump SEED STREAM N      rng_u32 words 0..N-1 (hex)
 *   fill_check fill SEED P N LN        fixture weights of parameter P (%.9g) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/rng.h"

/* The fixture rule: uniform with std 0.02 (LayerNorm weights: 1 + that), double math, one rounding. */
static float fixture_weight(uint64_t seed, uint32_t p, uint64_t i, int ln) {
    rng_key k = {.seed = seed, .stream = RNG_STREAM_FIXTURE | p, .step = 0};
    double u = (double)rng_uniform(k, i);
    double w = 0.02 * 3.4641016151377544 * (u - 0.5);
    return (float)(ln ? 1.0 + w : w);
}

int main(int argc, char **argv) {
    if (argc == 5 && strcmp(argv[1], "dump") == 0) {
        rng_key k = {.seed = strtoull(argv[2], NULL, 0), .stream = (uint32_t)strtoul(argv[3], NULL, 0), .step = 0};
        unsigned long n = strtoul(argv[4], NULL, 0);
        for (unsigned long i = 0; i < n; i++) printf("%08x\n", rng_u32(k, i));
        return 0;
    }
    if (argc == 6 && strcmp(argv[1], "fill") == 0) {
        uint64_t seed = strtoull(argv[2], NULL, 0);
        uint32_t p = (uint32_t)strtoul(argv[3], NULL, 0);
        unsigned long n = strtoul(argv[4], NULL, 0);
        int ln = atoi(argv[5]);
        for (unsigned long i = 0; i < n; i++) printf("%.9g\n", (double)fixture_weight(seed, p, i, ln));
        return 0;
    }
    fprintf(stderr, "usage: fill_check dump SEED STREAM N | fill SEED P N LN\n");
    return 2;
}
