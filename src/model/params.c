/* params.c — see params.h. */
#include "params.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"
#include "../core/rng.h"
#include "m2.h"

static void add(param_table *t, param_init init, int64_t d0, int64_t d1, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void params_add(param_table *t, param_init init, float init_value, int ndim, const int64_t *shape, const char *name) {
    CHECK(ndim >= 1 && ndim <= 4, "parameter rank 1 … 4");
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->p = xrealloc(t->p, (size_t)t->cap * sizeof *t->p);
    }
    param_desc *p = &t->p[t->n++];
    memset(p, 0, sizeof *p);
    size_t len = strlen(name);
    CHECK(len > 0 && len < sizeof p->name, "parameter name fits");
    memcpy(p->name, name, len + 1);
    p->ndim = ndim;
    p->numel = 1;
    for (int d = 0; d < ndim; d++) {
        p->shape[d] = shape[d];
        p->numel *= (size_t)shape[d];
    }
    p->offset = t->total;
    p->init = init;
    p->init_value = init_value;
    /* 16-float (64-byte) alignment of every tensor keeps vector loads aligned */
    t->total += (p->numel + 15) & ~(size_t)15;
}

static void add(param_table *t, param_init init, int64_t d0, int64_t d1, const char *fmt, ...) {
    char name[96];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    CHECK(len > 0 && (size_t)len < sizeof name, "parameter name fits");
    int64_t shape[2] = {d0, d1};
    params_add(t, init, 0.0f, d1 ? 2 : 1, shape, name);
}

/* A Linear layer [out, in] + bias. */
static void linear(param_table *t, int64_t out, int64_t in, int bias, const char *prefix, int layer) {
    char name[96];
    snprintf(name, sizeof name, prefix, layer);
    add(t, INIT_NORMAL, out, in, "%s.weight", name);
    if (bias) add(t, INIT_ZEROS, out, 0, "%s.bias", name);
}

static void layernorm(param_table *t, int64_t c, const char *prefix, int layer) {
    char name[96];
    snprintf(name, sizeof name, prefix, layer);
    add(t, INIT_ONES, c, 0, "%s.weight", name);
    add(t, INIT_ZEROS, c, 0, "%s.bias", name);
}

void params_build(param_table *t, const model_config *c, int mlm_head) {
    memset(t, 0, sizeof *t);
    int64_t C = c->hidden, I = c->intermediate;
    add(t, INIT_EMBEDDING, c->vocab_size, C, "bert.embeddings.word_embeddings.weight");
    if (c->arch != ARCH_MOSAIC) add(t, INIT_NORMAL, c->max_position, C, "bert.embeddings.position_embeddings.weight");
    add(t, INIT_NORMAL, c->type_vocab, C, "bert.embeddings.token_type_embeddings.weight");
    layernorm(t, C, "bert.embeddings.LayerNorm", 0);
    for (int l = 0; l < c->layers; l++) {
        if (c->arch == ARCH_M2) { /* M2 hook: the whole layer's tensors */
            m2_params_add(t, c, l);
            continue;
        }
        if (c->arch == ARCH_BERT) {
            /* adjacent q, k, v weights, then adjacent biases: one [3C, C] matrix and one [3C] bias */
            add(t, INIT_NORMAL, C, C, "bert.encoder.layer.%d.attention.self.query.weight", l);
            add(t, INIT_NORMAL, C, C, "bert.encoder.layer.%d.attention.self.key.weight", l);
            add(t, INIT_NORMAL, C, C, "bert.encoder.layer.%d.attention.self.value.weight", l);
            add(t, INIT_ZEROS, C, 0, "bert.encoder.layer.%d.attention.self.query.bias", l);
            add(t, INIT_ZEROS, C, 0, "bert.encoder.layer.%d.attention.self.key.bias", l);
            add(t, INIT_ZEROS, C, 0, "bert.encoder.layer.%d.attention.self.value.bias", l);
        } else {
            linear(t, 3 * C, C, 1, "bert.encoder.layer.%d.attention.self.Wqkv", l);
        }
        linear(t, C, C, 1, "bert.encoder.layer.%d.attention.output.dense", l);
        layernorm(t, C, "bert.encoder.layer.%d.attention.output.LayerNorm", l);
        if (c->arch == ARCH_BERT) {
            linear(t, I, C, 1, "bert.encoder.layer.%d.intermediate.dense", l);
            linear(t, C, I, 1, "bert.encoder.layer.%d.output.dense", l);
            layernorm(t, C, "bert.encoder.layer.%d.output.LayerNorm", l);
        } else {
            linear(t, 2 * I, C, 0, "bert.encoder.layer.%d.mlp.gated_layers", l);
            linear(t, C, I, 1, "bert.encoder.layer.%d.mlp.wo", l);
            layernorm(t, C, "bert.encoder.layer.%d.mlp.layernorm", l);
        }
    }
    if (mlm_head) {
        linear(t, C, C, 1, "cls.predictions.transform.dense", 0);
        layernorm(t, C, "cls.predictions.transform.LayerNorm", 0);
        /* the decoder matrix is tied to the word embeddings; only its bias is its own */
        add(t, INIT_ZEROS, c->vocab_size, 0,
            c->arch == ARCH_BERT ? "cls.predictions.bias" : "cls.predictions.decoder.bias");
    }
    if (c->num_labels > 0) {
        linear(t, C, C, 1, "bert.pooler.dense", 0);
        linear(t, c->num_labels, C, 1, "classifier", 0);
    }
}

void params_free(param_table *t) {
    free(t->p);
    memset(t, 0, sizeof *t);
}

int params_find(const param_table *t, const char *name) {
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->p[i].name, name)) return i;
    return -1;
}

void params_init(const param_table *t, float *data, const model_config *c, uint64_t seed) {
    for (int i = 0; i < t->n; i++) {
        const param_desc *p = &t->p[i];
        float *w = data + p->offset;
        rng_key k = {.seed = seed, .stream = RNG_STREAM_INIT | (uint32_t)i, .step = 0};
        switch (p->init) {
        case INIT_NORMAL:
        case INIT_EMBEDDING:
            rng_fill_normal(w, p->numel, 0.0f, (float)c->initializer_range, k);
            if (p->init == INIT_EMBEDDING) memset(w + (size_t)c->pad_token_id * p->shape[1], 0, p->shape[1] * sizeof *w);
            break;
        case INIT_ZEROS: memset(w, 0, p->numel * sizeof *w); break;
        case INIT_ONES:
            for (size_t j = 0; j < p->numel; j++) w[j] = 1.0f;
            break;
        case INIT_CONST:
            for (size_t j = 0; j < p->numel; j++) w[j] = p->init_value;
            break;
        case INIT_UNIFORM:
            for (size_t j = 0; j < p->numel; j++) w[j] = p->init_value * (2.0f * rng_uniform(k, j) - 1.0f);
            break;
        case INIT_NORMAL_STD: rng_fill_normal(w, p->numel, 0.0f, p->init_value, k); break;
        case INIT_M2_Z: m2_init_z(w, (int)p->shape[1], (int)p->shape[2]); break;
        }
    }
}
