/* model.c — see model.h. The math per layer (post-LN, mosaicbert.md §3, §11):
 *
 *   qkv = x·Wqkvᵀ + b                       (BERT: q, k, v stacked — params.h)
 *   att = attention(qkv)                     (ALiBi for MosaicBERT, positions for BERT)
 *   a   = LN1(dropout(att·Woᵀ + bo) + x)
 *   BERT:   f = dropout(GELU(a·W1ᵀ + b1)·W2ᵀ + b2)
 *   Mosaic: f = dropout(GELU(u[:, :I]) ⊙ u[:, I:])·Woᵀ + bo,  u = a·Wgᵀ
 *   y   = LN2(f + a)
 */
#include "model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"
#include "m2.h"

/* Dropout sites; the RNG stream of a site is RNG_STREAM_DROPOUT | (8·layer + site). */
enum { SITE_EMB = 0, SITE_ATTN_PROBS = 1, SITE_ATTN_OUT = 2, SITE_FFN = 3, SITE_CLS = 4 };

/* Parameter pointers of one layer (backend memory; the same offsets index the gradients). */
typedef struct {
    size_t qkv_w, qkv_b, ao_w, ao_b, ln1_g, ln1_b;
    size_t fc1_w, fc1_b; /* BERT intermediate.dense | Mosaic gated_layers (no bias) */
    size_t fc2_w, fc2_b; /* BERT output.dense | Mosaic wo */
    size_t ln2_g, ln2_b;
} layer_params;

/* Activations of one layer, all (T, ·) rows. */
typedef struct {
    void *qkv;        /* (T,3C) */
    void *att;        /* (T,C) */
    float *lse;       /* (nh,T) */
    void *ao;         /* (T,C) attention output dense, after dropout */
    void *s1;         /* (T,C) ao + x */
    float *mean1, *rstd1; /* (T,) */
    void *a;          /* (T,C) LN1 output */
    void *hpre;       /* (T,I) BERT: pre-GELU | Mosaic: u (T,2I) */
    void *h;          /* (T,I) BERT: GELU output | Mosaic: GLU output after dropout */
    void *f;          /* (T,C) FFN output (BERT: after dropout) */
    void *s2;         /* (T,C) f + a */
    float *mean2, *rstd2; /* (T,) */
    void *y;          /* (T,C) LN2 output = next layer's input */
} layer_acts;

struct model {
    model_config cfg;
    const ops *o;
    param_table pt;
    int mlm_head, max_tokens, max_seqs;
    uint64_t seed;
    float *params, *grads;   /* (pt.total,) each, backend memory */
    /* parameter offsets */
    size_t wte, wpe, wtt, eln_g, eln_b;
    layer_params *lp;        /* (L,) */
    size_t hd_w, hd_b, hln_g, hln_b, dec_b; /* MLM head */
    size_t pool_w, pool_b, cls_w, cls_b;    /* classification head */
    float *slopes;           /* (nh,) host; NULL for BERT */
    /* activations: one block */
    void *acts_block;
    void *emb_sum;           /* (T,C) */
    float *emb_mean, *emb_rstd;
    void *x0;                /* (T,C) embedding output */
    layer_acts *la;          /* (L,) */
    /* inputs, backend copies */
    int32_t *in_ids, *in_types, *in_pos, *in_cu, *in_rows, *in_targets, *in_cls_rows, *in_labels;
    float *in_pool_w;        /* (T,) M2 mean pooling weights */
    /* MLM head (max_tokens rows) */
    void *hm, *tpre, *t, *tl, *logits; /* (M,C) ×4, (M,V) */
    float *tmean, *trstd, *loss, *xlse; /* (M,) */
    /* classification head (max_seqs rows) */
    void *hc, *ppre, *pooled, *clogits; /* (B,C) ×3, (B,nl) */
    float *closs, *clse;                /* (B,) */
    /* backward scratch */
    void *dy, *dx, *ds, *dt1, *dqkv, *dbig1, *dbig2, *dlogits, *dclogits;
    /* last forward */
    int train;
    uint32_t step;
    int inference;           /* no gradients or backward buffers */
    int32_t *host_cls_rows;  /* (max_seqs,) */
    float *host_pool_w;      /* (max_tokens,) mean pooling weights, built on the host (pool_mean only) */
    m2_ctx *m2;              /* M2 hook: ARCH_M2 layers live in m2.c (NULL otherwise) */
    const void *m2_out;      /* M2: the last layer's output of the last forward */
};

static size_t poff(const param_table *t, const char *fmt, int layer) {
    char name[96];
    snprintf(name, sizeof name, fmt, layer);
    int i = params_find(t, name);
    CHECK(i >= 0, name);
    return t->p[i].offset;
}

static void resolve_params(model *m) {
    const param_table *t = &m->pt;
    int bert = m->cfg.arch == ARCH_BERT, haspos = m->cfg.arch != ARCH_MOSAIC;
    m->wte = poff(t, "bert.embeddings.word_embeddings.weight", 0);
    m->wpe = haspos ? poff(t, "bert.embeddings.position_embeddings.weight", 0) : 0;
    m->wtt = poff(t, "bert.embeddings.token_type_embeddings.weight", 0);
    m->eln_g = poff(t, "bert.embeddings.LayerNorm.weight", 0);
    m->eln_b = poff(t, "bert.embeddings.LayerNorm.bias", 0);
    m->lp = xcalloc((size_t)m->cfg.layers, sizeof *m->lp);
    for (int l = 0; l < m->cfg.layers && m->cfg.arch != ARCH_M2; l++) { /* M2 hook: m2.c resolves its own */
        layer_params *p = &m->lp[l];
        if (bert) {
            p->qkv_w = poff(t, "bert.encoder.layer.%d.attention.self.query.weight", l);
            p->qkv_b = poff(t, "bert.encoder.layer.%d.attention.self.query.bias", l);
            p->fc1_w = poff(t, "bert.encoder.layer.%d.intermediate.dense.weight", l);
            p->fc1_b = poff(t, "bert.encoder.layer.%d.intermediate.dense.bias", l);
            p->fc2_w = poff(t, "bert.encoder.layer.%d.output.dense.weight", l);
            p->fc2_b = poff(t, "bert.encoder.layer.%d.output.dense.bias", l);
            p->ln2_g = poff(t, "bert.encoder.layer.%d.output.LayerNorm.weight", l);
            p->ln2_b = poff(t, "bert.encoder.layer.%d.output.LayerNorm.bias", l);
        } else {
            p->qkv_w = poff(t, "bert.encoder.layer.%d.attention.self.Wqkv.weight", l);
            p->qkv_b = poff(t, "bert.encoder.layer.%d.attention.self.Wqkv.bias", l);
            p->fc1_w = poff(t, "bert.encoder.layer.%d.mlp.gated_layers.weight", l);
            p->fc1_b = (size_t)-1;
            p->fc2_w = poff(t, "bert.encoder.layer.%d.mlp.wo.weight", l);
            p->fc2_b = poff(t, "bert.encoder.layer.%d.mlp.wo.bias", l);
            p->ln2_g = poff(t, "bert.encoder.layer.%d.mlp.layernorm.weight", l);
            p->ln2_b = poff(t, "bert.encoder.layer.%d.mlp.layernorm.bias", l);
        }
        p->ao_w = poff(t, "bert.encoder.layer.%d.attention.output.dense.weight", l);
        p->ao_b = poff(t, "bert.encoder.layer.%d.attention.output.dense.bias", l);
        p->ln1_g = poff(t, "bert.encoder.layer.%d.attention.output.LayerNorm.weight", l);
        p->ln1_b = poff(t, "bert.encoder.layer.%d.attention.output.LayerNorm.bias", l);
    }
    if (m->mlm_head) {
        m->hd_w = poff(t, "cls.predictions.transform.dense.weight", 0);
        m->hd_b = poff(t, "cls.predictions.transform.dense.bias", 0);
        m->hln_g = poff(t, "cls.predictions.transform.LayerNorm.weight", 0);
        m->hln_b = poff(t, "cls.predictions.transform.LayerNorm.bias", 0);
        m->dec_b = poff(t, bert ? "cls.predictions.bias" : "cls.predictions.decoder.bias", 0);
    }
    if (m->cfg.num_labels > 0) {
        m->pool_w = poff(t, "bert.pooler.dense.weight", 0);
        m->pool_b = poff(t, "bert.pooler.dense.bias", 0);
        m->cls_w = poff(t, "classifier.weight", 0);
        m->cls_b = poff(t, "classifier.bias", 0);
    }
}

/* Activation carving: one pass sizes the block, a second assigns pointers. */
typedef struct {
    char *base;
    size_t used;
} carver;

static void *carve_bytes(carver *cv, size_t bytes) {
    bytes = (bytes + 255) & ~(size_t)255; /* 256-byte aligned: vector loads and cuBLASLt like it */
    void *p = cv->base ? cv->base + cv->used : NULL;
    cv->used += bytes;
    return p;
}
/* n fp32 values (statistics, losses) or int32 indices */
static void *carve(carver *cv, size_t n) { return carve_bytes(cv, n * 4); }

static void layout_acts(model *m, carver *cv) {
    size_t T = (size_t)m->max_tokens, B = (size_t)m->max_seqs;
    size_t C = (size_t)m->cfg.hidden, I = (size_t)m->cfg.intermediate, nh = (size_t)m->cfg.heads;
    size_t V = (size_t)m->cfg.vocab_size, NL = (size_t)(m->cfg.num_labels > 0 ? m->cfg.num_labels : 1);
    size_t Ih = m->cfg.arch == ARCH_MOSAIC ? 2 * I : I; /* width of hpre */
    size_t big = Ih > 3 * C ? Ih : 3 * C;
    size_t as = m->o->act_size;
#define carve_act(cv, n) carve_bytes(cv, (n) * as) /* n activations */
    m->emb_sum = carve_act(cv, T * C);
    m->emb_mean = carve(cv, T);
    m->emb_rstd = carve(cv, T);
    m->x0 = carve_act(cv, T * C);
    int m2 = m->cfg.arch == ARCH_M2; /* M2 hook: layer activations and scratch live in m2.c */
    /* inference keeps no activations for a backward: every layer reuses layer 0's (a layer
     * reads its input x = the previous y only before it writes its own y) */
    for (int l = 0; l < m->cfg.layers && !m2; l++) {
        layer_acts *a = &m->la[l];
        if (m->inference && l > 0) {
            *a = m->la[0];
            continue;
        }
        a->qkv = carve_act(cv, T * 3 * C);
        a->att = carve_act(cv, T * C);
        a->lse = carve(cv, nh * T);
        a->ao = carve_act(cv, T * C);
        a->s1 = m->inference ? NULL : carve_act(cv, T * C); /* residual sums: for the backward only */
        a->mean1 = carve(cv, T);
        a->rstd1 = carve(cv, T);
        a->a = carve_act(cv, T * C);
        a->hpre = carve_act(cv, T * Ih);
        a->h = carve_act(cv, T * I);
        a->f = carve_act(cv, T * C);
        a->s2 = m->inference ? NULL : carve_act(cv, T * C);
        a->mean2 = carve(cv, T);
        a->rstd2 = carve(cv, T);
        a->y = carve_act(cv, T * C);
    }
    m->in_ids = carve(cv, T);
    m->in_types = carve(cv, T);
    m->in_pos = carve(cv, T);
    m->in_cu = carve(cv, B + 1);
    m->in_rows = carve(cv, T);
    m->in_targets = carve(cv, T);
    m->in_cls_rows = carve(cv, B);
    m->in_labels = carve(cv, B);
    if (m->mlm_head) {
        m->hm = carve_act(cv, T * C);
        m->tpre = carve_act(cv, T * C);
        m->t = carve_act(cv, T * C);
        m->tl = carve_act(cv, T * C);
        m->logits = carve_act(cv, T * V);
        m->tmean = carve(cv, T);
        m->trstd = carve(cv, T);
        m->loss = carve(cv, T);
        m->xlse = carve(cv, T);
        if (!m->inference) m->dlogits = carve_act(cv, T * V);
    }
    if (m->cfg.num_labels > 0) {
        m->hc = carve_act(cv, B * C);
        m->ppre = carve_act(cv, B * C);
        m->pooled = carve_act(cv, B * C);
        m->clogits = carve_act(cv, B * NL);
        m->closs = carve(cv, B);
        if (m->cfg.pool_mean) m->in_pool_w = carve(cv, T);
        m->clse = carve(cv, B);
        if (!m->inference) m->dclogits = carve_act(cv, B * NL);
    }
    if (m->inference) return;
    m->dy = carve_act(cv, T * C);
    m->dx = carve_act(cv, T * C);
    m->ds = carve_act(cv, T * C);
    m->dt1 = carve_act(cv, T * C);
    if (m2) return;
    m->dqkv = carve_act(cv, T * big);
    m->dbig1 = carve_act(cv, T * Ih);
    m->dbig2 = carve_act(cv, T * I);
#undef carve_act
}

model *model_create(const model_config *cfg, const ops *o, const model_opts *opts) {
    int max_tokens = opts->max_tokens, max_seqs = opts->max_seqs;
    if (config_validate(cfg) != 0) return NULL;
    if (max_tokens <= 0 || max_seqs <= 0) {
        err_set("model: batch limits must be positive (max_tokens %d, max_seqs %d)", max_tokens, max_seqs);
        return NULL;
    }
    if (cfg->num_labels > 0 && cfg->pool_mean && !o->pool_rows_fwd) {
        err_set("model: mean pooling does not run on the %s backend yet (use --device cpu, or [CLS] pooling)", o->name);
        return NULL;
    }
    if (cfg->arch == ARCH_M2 && !o->m2_longconv_fwd) {
        err_set("model: M2-BERT does not run on the %s backend yet (use --device cpu)", o->name);
        return NULL;
    }
    model *m = xcalloc(1, sizeof *m);
    m->cfg = *cfg;
    m->o = o;
    m->mlm_head = opts->mlm_head;
    m->max_tokens = max_tokens;
    m->max_seqs = max_seqs;
    m->seed = opts->seed;
    m->inference = opts->inference;
    params_build(&m->pt, cfg, m->mlm_head);
    resolve_params(m);
    float *host = xcalloc(m->pt.total, sizeof *host);
    params_init(&m->pt, host, cfg, m->seed);
    m->params = o->alloc(m->pt.total * sizeof(float));
    m->grads = m->inference ? NULL : o->alloc(m->pt.total * sizeof(float));
    o->upload(m->params, host, m->pt.total * sizeof(float));
    o->weights_sync(m->params, m->pt.total);
    free(host);
    if (cfg->arch == ARCH_MOSAIC) {
        m->slopes = xmalloc((size_t)cfg->heads * sizeof *m->slopes);
        alibi_slopes(m->slopes, cfg->heads);
    }
    m->la = xcalloc((size_t)cfg->layers, sizeof *m->la);
    carver cv = {0};
    layout_acts(m, &cv);
    m->acts_block = o->alloc(cv.used);
    cv = (carver){.base = m->acts_block};
    layout_acts(m, &cv);
    m->host_cls_rows = xmalloc((size_t)max_seqs * sizeof *m->host_cls_rows);
    if (cfg->num_labels > 0 && cfg->pool_mean) m->host_pool_w = xmalloc((size_t)max_tokens * sizeof *m->host_pool_w);
    if (cfg->arch == ARCH_M2) m->m2 = m2_create(cfg, o, &m->pt, max_tokens, m->inference); /* M2 hook */
    return m;
}

void model_free(model *m) {
    if (!m) return;
    m->o->free(m->params);
    if (m->grads) m->o->free(m->grads);
    m->o->free(m->acts_block);
    params_free(&m->pt);
    free(m->lp);
    free(m->la);
    free(m->slopes);
    free(m->host_cls_rows);
    free(m->host_pool_w);
    m2_free(m->m2);
    free(m);
}

const model_config *model_cfg(const model *m) { return &m->cfg; }
struct m2_ctx *model_m2(model *m) { return m->m2; }
const ops *model_ops(const model *m) { return m->o; }
const param_table *model_params(const model *m) { return &m->pt; }
float *model_param_data(model *m) { return m->params; }
float *model_grad_data(model *m) { return m->grads; }
void model_params_changed(model *m) { m->o->weights_sync(m->params, m->pt.total); }
const void *model_hidden(const model *m) {
    if (m->m2) return m->m2_out; /* M2 hook */
    return m->cfg.layers ? m->la[m->cfg.layers - 1].y : m->x0;
}
const void *model_logits(const model *m, model_task task) { return task == TASK_MLM ? m->logits : m->clogits; }

void model_zero_grad(model *m) {
    CHECK(!m->inference, "the model was created for inference");
    m->o->zero(m->grads, m->pt.total * sizeof(float));
}

static rng_key drop_key(const model *m, int layer, int site) {
    return (rng_key){.seed = m->seed, .stream = RNG_STREAM_DROPOUT | (uint32_t)(8 * layer + site), .step = m->step};
}

#define P(off) (m->params + (off))
#define G(off) (m->grads + (off))

/* Row width in elements of an activation tensor, for sizes passed to ops. */
static size_t sz(int rows, int cols) { return (size_t)rows * (size_t)cols; }

static float cls_dropout(const model_config *c) {
    return (float)(c->classifier_dropout >= 0 ? c->classifier_dropout : c->hidden_dropout);
}

float model_forward(model *m, const model_batch *b, model_task task, int train, uint32_t step) {
    const ops *o = m->o;
    const model_config *c = &m->cfg;
    CHECK(b->T <= m->max_tokens && b->B <= m->max_seqs, "batch larger than the model was created for");
    CHECK(task != TASK_MLM || m->mlm_head, "MLM forward needs the MLM head");
    CHECK(task != TASK_CLASSIFY || c->num_labels > 0, "classification needs num_labels > 0");
    m->train = train;
    m->step = step;
    int T = b->T, C = c->hidden, I = c->intermediate, nh = c->heads, dh = C / nh;
    float pd = train ? (float)c->hidden_dropout : 0.0f, pa = train ? (float)c->attn_dropout : 0.0f;
    int bert = c->arch == ARCH_BERT, haspos = c->arch != ARCH_MOSAIC;
    /* M2 hook: B rows of exactly L tokens each (batch_from_padded_keep_pads) */
    int L2 = m->m2 ? T / b->B : 0;
    if (m->m2)
        for (int i = 0; i <= b->B; i++)
            CHECK(b->cu_seqlens[i] == i * L2 && L2 <= config_max_seq_len(c), "M2 needs B rows of one length L ≤ l_max");

    o->upload(m->in_ids, b->ids, sz(T, 1) * 4);
    o->upload(m->in_types, b->types, sz(T, 1) * 4);
    if (haspos) o->upload(m->in_pos, b->pos, sz(T, 1) * 4);
    o->upload(m->in_cu, b->cu_seqlens, sz(b->B + 1, 1) * 4);

    o->embed_fwd(m->emb_sum, m->in_ids, m->in_types, haspos ? m->in_pos : NULL, P(m->wte), P(m->wtt),
                 haspos ? P(m->wpe) : NULL, T, C);
    o->layernorm_fwd(m->x0, NULL, m->emb_mean, m->emb_rstd, m->emb_sum, NULL, P(m->eln_g), P(m->eln_b), T, C,
                     (float)c->layer_norm_eps);
    o->dropout_fwd(m->x0, m->x0, sz(T, C), pd, drop_key(m, 0, SITE_EMB));

    const void *x = m->x0;
    for (int l = 0; l < c->layers && m->m2; l++) /* M2 hook */
        x = m2_layer_fwd(m->m2, l, m->params, x, b->B, L2, pd, drop_key(m, l, SITE_FFN));
    if (m->m2) m->m2_out = x;
    for (int l = 0; l < c->layers && !m->m2; l++) {
        const layer_params *p = &m->lp[l];
        layer_acts *a = &m->la[l];
        o->matmul_fwd(a->qkv, NULL, x, P(p->qkv_w), P(p->qkv_b), T, C, 3 * C, ACT_NONE);
        o->attention_fwd(a->att, a->lse, a->qkv, m->in_cu, b->B, T, b->max_seqlen, nh, dh, m->slopes, pa,
                         drop_key(m, l, SITE_ATTN_PROBS));
        o->matmul_fwd(a->ao, NULL, a->att, P(p->ao_w), P(p->ao_b), T, C, C, ACT_NONE);
        o->dropout_fwd(a->ao, a->ao, sz(T, C), pd, drop_key(m, l, SITE_ATTN_OUT));
        /* inference keeps no residual sums: no backward reads them */
        o->layernorm_fwd(a->a, m->inference ? NULL : a->s1, a->mean1, a->rstd1, a->ao, x, P(p->ln1_g), P(p->ln1_b), T,
                         C, (float)c->layer_norm_eps);
        if (bert) {
            o->matmul_fwd(a->h, a->hpre, a->a, P(p->fc1_w), P(p->fc1_b), T, C, I, ACT_GELU);
            o->matmul_fwd(a->f, NULL, a->h, P(p->fc2_w), P(p->fc2_b), T, I, C, ACT_NONE);
            o->dropout_fwd(a->f, a->f, sz(T, C), pd, drop_key(m, l, SITE_FFN));
        } else {
            o->matmul_fwd(a->hpre, NULL, a->a, P(p->fc1_w), NULL, T, C, 2 * I, ACT_NONE);
            o->glu_fwd(a->h, a->hpre, T, I, pd, drop_key(m, l, SITE_FFN)); /* GLU + dropout */
            o->matmul_fwd(a->f, NULL, a->h, P(p->fc2_w), P(p->fc2_b), T, I, C, ACT_NONE);
        }
        o->layernorm_fwd(a->y, m->inference ? NULL : a->s2, a->mean2, a->rstd2, a->f, a->a, P(p->ln2_g), P(p->ln2_b),
                         T, C, (float)c->layer_norm_eps);
        x = a->y;
    }

    double total = 0;
    if (task == TASK_ENCODE) return 0.0f;
    if (task == TASK_MLM) {
        int M = b->M;
        CHECK(M <= m->max_tokens, "more MLM rows than tokens");
        if (M == 0) return 0.0f;
        o->upload(m->in_rows, b->mlm_rows, sz(M, 1) * 4);
        o->upload(m->in_targets, b->mlm_targets, sz(M, 1) * 4);
        o->gather_rows(m->hm, x, m->in_rows, M, C);
        o->matmul_fwd(m->t, m->tpre, m->hm, P(m->hd_w), P(m->hd_b), M, C, C, ACT_GELU);
        o->layernorm_fwd(m->tl, NULL, m->tmean, m->trstd, m->t, NULL, P(m->hln_g), P(m->hln_b), M, C,
                         (float)c->layer_norm_eps);
        /* decoder tied to the word embeddings */
        o->matmul_fwd(m->logits, NULL, m->tl, P(m->wte), P(m->dec_b), M, C, c->vocab_size, ACT_NONE);
        o->xent_fwd(m->loss, m->xlse, m->logits, m->in_targets, M, c->vocab_size);
        float *loss = xmalloc(sz(M, 1) * sizeof *loss);
        o->download(loss, m->loss, sz(M, 1) * sizeof *loss);
        for (int i = 0; i < M; i++) total += loss[i];
        free(loss);
        return (float)(total / M);
    }
    /* classification: pooler on each sequence's first token ([CLS]), or on the mean of its
     * real tokens (pool_mean; M2 rows hold pads too, told by attn_mask: §3.5 pool_all) */
    int B = b->B, NL = c->num_labels;
    if (c->pool_mean) {
        float *pw = m->host_pool_w;
        for (int i = 0; i < B; i++) {
            int n = 0, t0 = b->cu_seqlens[i], t1 = b->cu_seqlens[i + 1];
            for (int t = t0; t < t1; t++) n += !b->attn_mask || b->attn_mask[t];
            for (int t = t0; t < t1; t++) pw[t] = (!b->attn_mask || b->attn_mask[t]) ? 1.0f / (float)(n ? n : 1) : 0.0f;
        }
        o->upload(m->in_pool_w, pw, sz(T, 1) * sizeof *pw);
        o->pool_rows_fwd(m->hc, x, m->in_pool_w, m->in_cu, B, C);
    } else {
        for (int i = 0; i < B; i++) m->host_cls_rows[i] = b->cu_seqlens[i];
        o->upload(m->in_cls_rows, m->host_cls_rows, sz(B, 1) * 4);
        o->gather_rows(m->hc, x, m->in_cls_rows, B, C);
    }
    o->matmul_fwd(m->pooled, m->ppre, m->hc, P(m->pool_w), P(m->pool_b), B, C, C, ACT_TANH);
    o->dropout_fwd(m->pooled, m->pooled, sz(B, C), train ? cls_dropout(c) : 0.0f, drop_key(m, 0, SITE_CLS));
    o->matmul_fwd(m->clogits, NULL, m->pooled, P(m->cls_w), P(m->cls_b), B, C, NL, ACT_NONE);
    if (NL == 1) { /* regression: MSE, computed on the host (B values) */
        float *y = xmalloc(sz(B, 1) * sizeof *y);
        o->act_download(y, m->clogits, sz(B, 1));
        for (int i = 0; i < B; i++) total += ((double)y[i] - b->targets[i]) * ((double)y[i] - b->targets[i]);
        free(y);
        return (float)(total / B);
    }
    o->upload(m->in_labels, b->labels, sz(B, 1) * 4);
    o->xent_fwd(m->closs, m->clse, m->clogits, m->in_labels, B, NL);
    float *loss = xmalloc(sz(B, 1) * sizeof *loss);
    o->download(loss, m->closs, sz(B, 1) * sizeof *loss);
    for (int i = 0; i < B; i++) total += loss[i];
    free(loss);
    return (float)(total / B);
}

void model_backward(model *m, const model_batch *b, model_task task) {
    const ops *o = m->o;
    const model_config *c = &m->cfg;
    int T = b->T, C = c->hidden, I = c->intermediate, nh = c->heads, dh = C / nh;
    float pd = m->train ? (float)c->hidden_dropout : 0.0f, pa = m->train ? (float)c->attn_dropout : 0.0f;
    int bert = c->arch == ARCH_BERT, haspos = c->arch != ARCH_MOSAIC;
    size_t asz = o->act_size; /* the gradients of activations are activations */
    CHECK(!m->inference, "the model was created for inference");

    /* ---- heads: gradient of the loss w.r.t. the final hidden states, into dy ---- */
    o->zero(m->dy, sz(T, C) * asz);
    if (task == TASK_MLM) {
        int M = b->M, V = c->vocab_size;
        if (M == 0) return;
        o->zero(m->dlogits, sz(M, V) * asz);
        o->xent_bwd(m->dlogits, m->logits, m->xlse, m->in_targets, 1.0f / (float)M, M, V);
        o->zero(m->dx, sz(M, C) * asz);
        o->matmul_bwd(m->dx, G(m->wte), G(m->dec_b), m->dlogits, m->tl, P(m->wte), M, C, V);
        o->zero(m->ds, sz(M, C) * asz);
        o->layernorm_bwd(m->ds, G(m->hln_g), G(m->hln_b), m->dx, m->t, P(m->hln_g), m->tmean, m->trstd, M, C);
        o->zero(m->dt1, sz(M, C) * asz);
        o->act_bwd(m->dt1, m->ds, m->tpre, sz(M, C), ACT_GELU);
        o->zero(m->dx, sz(M, C) * asz);
        o->matmul_bwd(m->dx, G(m->hd_w), G(m->hd_b), m->dt1, m->hm, P(m->hd_w), M, C, C);
        o->scatter_add_rows(m->dy, m->dx, m->in_rows, M, C);
    } else {
        int B = b->B, NL = c->num_labels;
        o->zero(m->dclogits, sz(B, NL) * asz);
        if (NL == 1) {
            float *y = xmalloc(sz(B, 1) * sizeof *y);
            o->act_download(y, m->clogits, sz(B, 1));
            for (int i = 0; i < B; i++) y[i] = 2.0f * (y[i] - b->targets[i]) / (float)B;
            o->act_upload(m->dclogits, y, sz(B, 1));
            free(y);
        } else {
            o->xent_bwd(m->dclogits, m->clogits, m->clse, m->in_labels, 1.0f / (float)B, B, NL);
        }
        o->zero(m->dx, sz(B, C) * asz);
        o->matmul_bwd(m->dx, G(m->cls_w), G(m->cls_b), m->dclogits, m->pooled, P(m->cls_w), B, C, NL);
        o->zero(m->ds, sz(B, C) * asz);
        o->dropout_bwd(m->ds, m->dx, sz(B, C), m->train ? cls_dropout(c) : 0.0f, drop_key(m, 0, SITE_CLS));
        o->zero(m->dt1, sz(B, C) * asz);
        o->act_bwd(m->dt1, m->ds, m->ppre, sz(B, C), ACT_TANH);
        o->zero(m->dx, sz(B, C) * asz);
        o->matmul_bwd(m->dx, G(m->pool_w), G(m->pool_b), m->dt1, m->hc, P(m->pool_w), B, C, C);
        if (c->pool_mean) o->pool_rows_bwd(m->dy, m->dx, m->in_pool_w, m->in_cu, B, C);
        else o->scatter_add_rows(m->dy, m->dx, m->in_cls_rows, B, C);
    }

    /* ---- layers, last to first: dy holds ∂L/∂y of the current layer ---- */
    for (int l = c->layers - 1; l >= 0 && m->m2; l--) /* M2 hook */
        m2_layer_bwd(m->m2, l, m->params, m->grads, m->dy, l ? m2_layer_out(m->m2, l - 1) : m->x0, b->B,
                     T / b->B, pd, drop_key(m, l, SITE_FFN));
    for (int l = c->layers - 1; l >= 0 && !m->m2; l--) {
        const layer_params *p = &m->lp[l];
        layer_acts *a = &m->la[l];
        const void *x = l ? m->la[l - 1].y : m->x0;
        /* y = LN2(f + a): ds = ∂L/∂(f + a) */
        o->zero(m->ds, sz(T, C) * asz);
        o->layernorm_bwd(m->ds, G(p->ln2_g), G(p->ln2_b), m->dy, a->s2, P(p->ln2_g), a->mean2, a->rstd2, T, C);
        /* dx accumulates ∂L/∂a: the residual share first, then the FFN's */
        o->zero(m->dx, sz(T, C) * asz);
        o->act_bwd(m->dx, m->ds, NULL, sz(T, C), ACT_NONE);
        if (bert) {
            o->zero(m->dt1, sz(T, C) * asz);
            o->dropout_bwd(m->dt1, m->ds, sz(T, C), pd, drop_key(m, l, SITE_FFN));
            o->zero(m->dbig2, sz(T, I) * asz);
            o->matmul_bwd(m->dbig2, G(p->fc2_w), G(p->fc2_b), m->dt1, a->h, P(p->fc2_w), T, I, C);
            o->zero(m->dbig1, sz(T, I) * asz);
            o->act_bwd(m->dbig1, m->dbig2, a->hpre, sz(T, I), ACT_GELU);
            o->matmul_bwd(m->dx, G(p->fc1_w), G(p->fc1_b), m->dbig1, a->a, P(p->fc1_w), T, C, I);
        } else {
            o->zero(m->dbig2, sz(T, I) * asz);
            o->matmul_bwd(m->dbig2, G(p->fc2_w), G(p->fc2_b), m->ds, a->h, P(p->fc2_w), T, I, C);
            o->glu_bwd(m->dbig1, m->dbig2, a->hpre, T, I, pd, drop_key(m, l, SITE_FFN));
            o->matmul_bwd(m->dx, G(p->fc1_w), NULL, m->dbig1, a->a, P(p->fc1_w), T, C, 2 * I);
        }
        /* a = LN1(ao + x): ds = ∂L/∂(ao + x) */
        o->zero(m->ds, sz(T, C) * asz);
        o->layernorm_bwd(m->ds, G(p->ln1_g), G(p->ln1_b), m->dx, a->s1, P(p->ln1_g), a->mean1, a->rstd1, T, C);
        /* the next dy (∂L/∂x) gets the residual share now and the attention's below */
        o->zero(m->dy, sz(T, C) * asz);
        o->act_bwd(m->dy, m->ds, NULL, sz(T, C), ACT_NONE);
        o->zero(m->dt1, sz(T, C) * asz);
        o->dropout_bwd(m->dt1, m->ds, sz(T, C), pd, drop_key(m, l, SITE_ATTN_OUT));
        o->zero(m->dx, sz(T, C) * asz);
        o->matmul_bwd(m->dx, G(p->ao_w), G(p->ao_b), m->dt1, a->att, P(p->ao_w), T, C, C);
        o->zero(m->dqkv, sz(T, 3 * C) * asz);
        o->attention_bwd(m->dqkv, m->dx, a->att, a->lse, a->qkv, m->in_cu, b->B, T, b->max_seqlen, nh, dh,
                         m->slopes, pa, drop_key(m, l, SITE_ATTN_PROBS));
        o->matmul_bwd(m->dy, G(p->qkv_w), G(p->qkv_b), m->dqkv, x, P(p->qkv_w), T, C, 3 * C);
    }

    /* ---- embeddings: x0 = dropout(LN(emb_sum)) ---- */
    o->zero(m->dt1, sz(T, C) * asz);
    o->dropout_bwd(m->dt1, m->dy, sz(T, C), pd, drop_key(m, 0, SITE_EMB));
    o->zero(m->ds, sz(T, C) * asz);
    o->layernorm_bwd(m->ds, G(m->eln_g), G(m->eln_b), m->dt1, m->emb_sum, P(m->eln_g), m->emb_mean, m->emb_rstd,
                     T, C);
    /* M2 hook: pads are tokens in M2, and nn.Embedding(padding_idx) passes no gradient to the
     * pad row from lookups; the row keeps the tied decoder's share (docs/fixtures.md, M2) */
    float *padrow = m->m2 ? xmalloc(sz(C, 1) * sizeof(float)) : NULL;
    size_t pad_off = m->wte + (size_t)c->pad_token_id * C;
    if (padrow) o->download(padrow, G(pad_off), sz(C, 1) * sizeof(float));
    o->embed_bwd(G(m->wte), G(m->wtt), haspos ? G(m->wpe) : NULL, m->ds, m->in_ids, m->in_types,
                 haspos ? m->in_pos : NULL, T, C);
    if (padrow) o->upload(G(pad_off), padrow, sz(C, 1) * sizeof(float));
    free(padrow);
}
