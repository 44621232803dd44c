/* fixture.h — checking a model against a reference fixture of tests/fixtures/models
 * (docs/fixtures.md: float64 runs of HF transformers BERT, the MosaicBERT reference
 * checked against the official code, the official HazyResearch/m2 code).
 * Targets: logits and loss relative error ≤ 1e-5, every gradient ≤ 1e-4 relative L2
 * (big configs: each gradient's norm and 8 random projections). */
#ifndef BERTC_TEST_FIXTURE_H
#define BERTC_TEST_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "../src/core/rng.h"
#include "../src/io/safetensors.h"

/* Builds the model the fixture describes (any architecture), loads or regenerates its
 * weights, and checks logits, loss and every gradient; failures go through EXPECT. */
void fixture_check(const char *file);

/* Readers (abort with the tensor's name when it is missing). */
int32_t *fx_i32(const st_file *f, const char *name, size_t *n);
float *fx_f32(const st_file *f, const char *name, size_t *n);
double fx_scalar(const st_file *f, const char *name);
/* max |a − ref| / max |ref| */
double fx_rel_max(const float *a, const float *ref, size_t n);
/* out[i] = rng_uniform(k, base + i), one Philox block per four indices. */
void fx_uniform_run(float *out, size_t n, rng_key k, uint64_t base);

#endif
