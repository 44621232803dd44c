/* m2.c — see m2.h. Per layer (m2bert.md §2.2, §3.2), rows T = B·L:
 *
 *   u   = pre_ln ? LN_1e-5(x) : x
 *   p   = u·W_inᵀ + b_in                      (T,3C)
 *   s   = shortconv(p)                         (T,3C): x1 = s[:, 0:C], x2 = s[:, C:2C], v = s[:, 2C:3C]
 *   vg  = v ⊙ x1
 *   y1  = longconv(vg; K1) + D1⊙vg
 *   ym  = y1 ⊙ x2 + longconv(u; K2) + D2⊙u
 *   a   = ym·W_outᵀ + b_out                    (the mixer output; no residual around it)
 *   g   = blockdiag(a; Wg)                     (T,2I)
 *   h   = dropout(GELU(g[:, :I]) ⊙ g[:, I:])
 *   y   = LN_eps(blockdiag(h; Wo) + bo + a)
 *
 * Kernels K = (k_fwd, k_rev) of each HyenaFilter F (filter_fn → K1, filter_fn2 → K2):
 *   k_dir = modulate( W6·S(W4·S(W2·S(W0·z[0:L] + b0) + b2) + b4) ),  dir ∈ {fwd, rev}
 * with one shared sine frequency per filter (§1.5). */
#include "m2.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"

/* Parameter offsets of one filter MLP (implicit_filter or implicit_filter_rev). */
typedef struct {
    size_t w0, b0, w2, b2, w4, b4, w6;
} mlp_off;

/* One HyenaFilter: D, z, shared freq, the two MLPs. */
typedef struct {
    size_t D, z, freq;
    mlp_off dir[2]; /* 0 forward, 1 reverse */
} filter_off;

typedef struct {
    size_t ln_g, ln_b; /* pre-mixer LayerNorm (pre_ln only) */
    size_t in_w, in_b, out_w, out_b, sf_w, sf_b;
    filter_off f[2];  /* filter_fn, filter_fn2 */
    size_t gl_w, wo_w, wo_b, ln2_g, ln2_b;
} m2_params;

/* Saved activations of one filter MLP: (Lmax, order) each. */
typedef struct {
    float *pre[3], *act[3];
} mlp_acts;

typedef struct {
    void *u;              /* (T,C) pre-LN output (pre_ln only; else u = x) */
    float *lmean, *lrstd; /* (T,) */
    void *p, *s;          /* (T,3C) */
    void *vg, *y1, *ym, *a; /* (T,C) */
    void *g;              /* (T,2I) */
    void *h;              /* (T,I) */
    void *s2;             /* (T,C) */
    float *mean2, *rstd2; /* (T,) */
    void *y;              /* (T,C) */
    mlp_acts fa[2][2];    /* [filter][dir] */
} layer_state;

struct m2_ctx {
    model_config cfg;
    const ops *o;
    int max_tokens, Lmax, inference, nlayer_states;
    m2_params *lp;        /* (layers,) */
    layer_state *ls;      /* (layers,) training; (2,) inference: layers alternate (x of one is y of the last) */
    float *t, *deltas;    /* (Lmax,), (C,) modulation buffers */
    float *(*kspec)[2];   /* (layers,) × per filter: m2_kspec_floats(Lmax, C), always one per layer */
    int *cached_L;        /* (layers,) inference: kernels valid for this L (0: none) */
    /* scratch, shared by layers */
    void *y2;             /* (T,C) forward: the residual long conv */
    float *kf, *kr, *hbuf; /* (Lmax,C) each: kernels / filter MLP output */
    /* backward scratch */
    void *d1, *d2, *d3, *d4, *d5, *du; /* (T,C) */
    void *ds, *dp;        /* (T,3C) */
    void *dg;             /* (T,2I) */
    void *dh;             /* (T,I) */
    float *dkf[2], *dkr[2]; /* (Lmax,C) per filter */
    float *dfa, *dfb;     /* (Lmax,order) */
};

/* ---- parameters ---------------------------------------------------------------------- */

static void add_nd(param_table *t, param_init init, float v, int ndim, int64_t d0, int64_t d1, int64_t d2,
                   const char *fmt, int layer, const char *sub, const char *leaf) {
    char name[96];
    char pre[64];
    snprintf(pre, sizeof pre, fmt, layer);
    int n = snprintf(name, sizeof name, "%s%s%s", pre, sub, leaf);
    CHECK(n > 0 && (size_t)n < sizeof name, "M2 parameter name fits");
    int64_t shape[3] = {d0, d1, d2};
    params_add(t, init, v, ndim, shape, name);
}

void m2_params_add(param_table *t, const model_config *c, int l) {
    const char *L = "bert.encoder.layer.%d.";
    int64_t C = c->hidden, I = c->intermediate, O = c->m2_filter_order, E = c->m2_emb_dim, nb = c->m2_nblocks;
    if (c->m2_pre_ln) {
        add_nd(t, INIT_ONES, 0, 1, C, 0, 0, L, l, "attention.layernorm.", "weight");
        add_nd(t, INIT_ZEROS, 0, 1, C, 0, 0, L, l, "attention.layernorm.", "bias");
    }
    /* nn.Linear: N(0, initializer_range), bias 0 (HF _init_weights) */
    add_nd(t, INIT_NORMAL, 0, 2, 3 * C, C, 0, L, l, "attention.in_linear.", "weight");
    add_nd(t, INIT_ZEROS, 0, 1, 3 * C, 0, 0, L, l, "attention.in_linear.", "bias");
    add_nd(t, INIT_NORMAL, 0, 2, C, C, 0, L, l, "attention.out_linear.", "weight");
    add_nd(t, INIT_ZEROS, 0, 1, C, 0, 0, L, l, "attention.out_linear.", "bias");
    /* depthwise Conv1d keeps PyTorch's default init: U(±1/√fan_in), fan_in = 1·3 */
    add_nd(t, INIT_UNIFORM, 0.57735027f, 3, 3 * C, 1, 3, L, l, "attention.short_filter.", "weight");
    add_nd(t, INIT_UNIFORM, 0.57735027f, 1, 3 * C, 0, 0, L, l, "attention.short_filter.", "bias");
    for (int f = 0; f < 2; f++) {
        const char *fn = f ? "attention.filter_fn2." : "attention.filter_fn.";
        char sub[96];
        add_nd(t, INIT_NORMAL_STD, 1.0f, 1, C, 0, 0, L, l, fn, "bias"); /* D: randn */
        add_nd(t, INIT_M2_Z, 0, 3, 1, c->m2_l_max, E, L, l, fn, "pos_emb.z");
        for (int d = 0; d < 2; d++) {
            snprintf(sub, sizeof sub, "%s%s", fn, d ? "implicit_filter_rev." : "implicit_filter.");
            add_nd(t, INIT_NORMAL, 0, 2, O, E, 0, L, l, sub, "0.weight");
            add_nd(t, INIT_ZEROS, 0, 1, O, 0, 0, L, l, sub, "0.bias");
            if (d == 0) add_nd(t, INIT_CONST, (float)c->m2_w, 2, 1, O, 0, L, l, sub, "1.freq");
            add_nd(t, INIT_NORMAL, 0, 2, O, O, 0, L, l, sub, "2.weight");
            add_nd(t, INIT_ZEROS, 0, 1, O, 0, 0, L, l, sub, "2.bias");
            add_nd(t, INIT_NORMAL, 0, 2, O, O, 0, L, l, sub, "4.weight");
            add_nd(t, INIT_ZEROS, 0, 1, O, 0, 0, L, l, sub, "4.bias");
            add_nd(t, INIT_NORMAL, 0, 2, C, O, 0, L, l, sub, "6.weight");
        }
    }
    /* BlockdiagLinear: the first block-row of a dense kaiming-uniform(a=√5) matrix scaled by 2 (§3.1) */
    add_nd(t, INIT_UNIFORM, 2.0f / sqrtf((float)C), 3, nb, 2 * I / nb, C / nb, L, l, "mlp.gated_layers.", "weight");
    add_nd(t, INIT_UNIFORM, 2.0f / sqrtf((float)I), 3, nb, C / nb, I / nb, L, l, "mlp.wo.", "weight");
    add_nd(t, INIT_UNIFORM, 1.0f / sqrtf((float)C), 1, C, 0, 0, L, l, "mlp.wo.", "bias");
    add_nd(t, INIT_ONES, 0, 1, C, 0, 0, L, l, "mlp.layernorm.", "weight");
    add_nd(t, INIT_ZEROS, 0, 1, C, 0, 0, L, l, "mlp.layernorm.", "bias");
}

/* torch.linspace(start, end, steps) in fp32 as PyTorch's CPU kernel computes it:
 * step = (end − start)/(steps − 1); the first half from start, the rest from end. */
static void linspace_f32(float *out, float start, float end, int steps) {
    if (steps == 1) { out[0] = start; return; }
    float step = (end - start) / (float)(steps - 1);
    int half = steps / 2;
    for (int i = 0; i < steps; i++) out[i] = i < half ? start + step * (float)i : end - step * (float)(steps - i - 1);
}

void m2_init_z(float *z, int l_max, int E) {
    float *t = xmalloc((size_t)l_max * sizeof *t), *f = xmalloc((size_t)E * sizeof *f);
    int bands = (E - 1) / 2;
    linspace_f32(t, 0.0f, 1.0f, l_max);
    linspace_f32(f, 1e-4f, (float)(bands - 1), bands);
    for (int n = 0; n < l_max; n++) {
        double w = 2.0 * M_PI * n / l_max; /* ω = 2π·n/l_max */
        float *r = z + (size_t)n * E;
        r[0] = t[n];
        for (int b = 0; b < bands; b++) {
            r[1 + b] = (float)cos(f[b] * w);           /* Re e^(−i f ω) */
            r[1 + bands + b] = (float)-sin(f[b] * w);  /* Im e^(−i f ω) */
        }
    }
    free(t);
    free(f);
}

static size_t off(const param_table *t, const char *fmt, int layer, const char *leaf) {
    char pre[64], name[128];
    snprintf(pre, sizeof pre, fmt, layer);
    snprintf(name, sizeof name, "%s%s", pre, leaf);
    int i = params_find(t, name);
    CHECK(i >= 0, name);
    return t->p[i].offset;
}

static void resolve(m2_ctx *m, const param_table *t) {
    const char *L = "bert.encoder.layer.%d.";
    for (int l = 0; l < m->cfg.layers; l++) {
        m2_params *p = &m->lp[l];
        if (m->cfg.m2_pre_ln) {
            p->ln_g = off(t, L, l, "attention.layernorm.weight");
            p->ln_b = off(t, L, l, "attention.layernorm.bias");
        }
        p->in_w = off(t, L, l, "attention.in_linear.weight");
        p->in_b = off(t, L, l, "attention.in_linear.bias");
        p->out_w = off(t, L, l, "attention.out_linear.weight");
        p->out_b = off(t, L, l, "attention.out_linear.bias");
        p->sf_w = off(t, L, l, "attention.short_filter.weight");
        p->sf_b = off(t, L, l, "attention.short_filter.bias");
        for (int f = 0; f < 2; f++) {
            char leaf[96];
            const char *fn = f ? "attention.filter_fn2." : "attention.filter_fn.";
            filter_off *fo = &p->f[f];
#define FOFF(dst, s) (snprintf(leaf, sizeof leaf, "%s%s", fn, s), (dst) = off(t, L, l, leaf))
            FOFF(fo->D, "bias");
            FOFF(fo->z, "pos_emb.z");
            FOFF(fo->freq, "implicit_filter.1.freq");
            for (int d = 0; d < 2; d++) {
                mlp_off *mo = &fo->dir[d];
                const char *pf = d ? "implicit_filter_rev." : "implicit_filter.";
                char s[64];
#define MOFF(dst, x) (snprintf(s, sizeof s, "%s%s", pf, x), FOFF(dst, s))
                MOFF(mo->w0, "0.weight");
                MOFF(mo->b0, "0.bias");
                MOFF(mo->w2, "2.weight");
                MOFF(mo->b2, "2.bias");
                MOFF(mo->w4, "4.weight");
                MOFF(mo->b4, "4.bias");
                MOFF(mo->w6, "6.weight");
#undef MOFF
            }
#undef FOFF
        }
        p->gl_w = off(t, L, l, "mlp.gated_layers.weight");
        p->wo_w = off(t, L, l, "mlp.wo.weight");
        p->wo_b = off(t, L, l, "mlp.wo.bias");
        p->ln2_g = off(t, L, l, "mlp.layernorm.weight");
        p->ln2_b = off(t, L, l, "mlp.layernorm.bias");
    }
}

/* ---- creation ------------------------------------------------------------------------- */

static float *falloc(const ops *o, size_t n) { return o->alloc((n ? n : 1) * sizeof(float)); }
/* n activations (the backend's type: fp32 on the CPU, bf16 on the GPU) */
static void *aalloc(const ops *o, size_t n) { return o->alloc((n ? n : 1) * o->act_size); }
/* the activation n elements after p (a column slice of a wider tensor) */
static void *act_at(const ops *o, const void *p, size_t n) { return (char *)p + n * o->act_size; }

m2_ctx *m2_create(const model_config *c, const ops *o, const param_table *pt, int max_tokens, int inference) {
    m2_ctx *m = xcalloc(1, sizeof *m);
    m->cfg = *c;
    m->o = o;
    m->max_tokens = max_tokens;
    m->inference = inference;
    m->Lmax = config_max_seq_len(c) < max_tokens ? config_max_seq_len(c) : max_tokens; /* min(l_max, max_position) */
    m->lp = xcalloc((size_t)c->layers, sizeof *m->lp);
    resolve(m, pt);
    size_t T = (size_t)max_tokens, C = (size_t)c->hidden, I = (size_t)c->intermediate;
    size_t Lm = (size_t)m->Lmax, O = (size_t)c->m2_filter_order;
    m->nlayer_states = inference ? (c->layers < 2 ? c->layers : 2) : c->layers;
    m->ls = xcalloc((size_t)m->nlayer_states, sizeof *m->ls);
    for (int l = 0; l < m->nlayer_states; l++) {
        layer_state *s = &m->ls[l];
        if (c->m2_pre_ln) {
            s->u = aalloc(o, T * C);
            s->lmean = falloc(o, T);
            s->lrstd = falloc(o, T);
        }
        s->p = aalloc(o, T * 3 * C);
        s->s = aalloc(o, T * 3 * C);
        s->vg = aalloc(o, T * C);
        s->y1 = aalloc(o, T * C);
        s->ym = aalloc(o, T * C);
        s->a = aalloc(o, T * C);
        s->g = aalloc(o, T * 2 * I);
        s->h = aalloc(o, T * I);
        s->s2 = aalloc(o, T * C);
        s->mean2 = falloc(o, T);
        s->rstd2 = falloc(o, T);
        s->y = aalloc(o, T * C);
        for (int f = 0; f < 2; f++) {
            for (int d = 0; d < 2; d++)
                for (int j = 0; j < 3; j++) {
                    s->fa[f][d].pre[j] = falloc(o, Lm * O);
                    s->fa[f][d].act[j] = falloc(o, Lm * O);
                }
        }
    }
    m->kspec = xcalloc((size_t)c->layers, sizeof *m->kspec);
    m->cached_L = xcalloc((size_t)c->layers, sizeof *m->cached_L);
    for (int l = 0; l < c->layers; l++)
        for (int f = 0; f < 2; f++) m->kspec[l][f] = falloc(o, m2_kspec_floats(m->Lmax, c->hidden));
    /* modulation buffers, as the reference builds them (§2.3): t = linspace(0, 1, l_max)[:L],
     * deltas = linspace(ln 0.01 / 1.5, ln 0.01 / 0.3, d) */
    float *ht = xmalloc((size_t)c->m2_l_max * sizeof *ht), *hd = xmalloc(C * sizeof *hd);
    linspace_f32(ht, 0.0f, 1.0f, c->m2_l_max);
    linspace_f32(hd, (float)(log(0.01) / 1.5), (float)(log(0.01) / 0.3), (int)C);
    m->t = falloc(o, Lm);
    m->deltas = falloc(o, C);
    o->upload(m->t, ht, Lm * sizeof(float));
    o->upload(m->deltas, hd, C * sizeof(float));
    free(ht);
    free(hd);
    m->y2 = aalloc(o, T * C);
    m->kf = falloc(o, Lm * C);
    m->kr = falloc(o, Lm * C);
    m->hbuf = falloc(o, Lm * C);
    if (!inference) {
        void **tc[] = {&m->d1, &m->d2, &m->d3, &m->d4, &m->d5, &m->du};
        for (size_t i = 0; i < sizeof tc / sizeof tc[0]; i++) *tc[i] = aalloc(o, T * C);
        m->ds = aalloc(o, T * 3 * C);
        m->dp = aalloc(o, T * 3 * C);
        m->dg = aalloc(o, T * 2 * I);
        m->dh = aalloc(o, T * I);
        for (int f = 0; f < 2; f++) {
            m->dkf[f] = falloc(o, Lm * C);
            m->dkr[f] = falloc(o, Lm * C);
        }
        m->dfa = falloc(o, Lm * O);
        m->dfb = falloc(o, Lm * O);
    }
    return m;
}

void m2_free(m2_ctx *m) {
    if (!m) return;
    const ops *o = m->o;
#define FR(p) do { if (p) o->free(p); } while (0)
    for (int l = 0; l < m->nlayer_states; l++) {
        layer_state *s = &m->ls[l];
        FR(s->u); FR(s->lmean); FR(s->lrstd); FR(s->p); FR(s->s); FR(s->vg); FR(s->y1); FR(s->ym); FR(s->a);
        FR(s->g); FR(s->h); FR(s->s2); FR(s->mean2); FR(s->rstd2); FR(s->y);
        for (int f = 0; f < 2; f++) {
            for (int d = 0; d < 2; d++)
                for (int j = 0; j < 3; j++) { FR(s->fa[f][d].pre[j]); FR(s->fa[f][d].act[j]); }
        }
    }
    for (int l = 0; l < m->cfg.layers; l++)
        for (int f = 0; f < 2; f++) FR(m->kspec[l][f]);
    free(m->kspec);
    free(m->cached_L);
    FR(m->t); FR(m->deltas); FR(m->y2); FR(m->kf); FR(m->kr); FR(m->hbuf);
    FR(m->d1); FR(m->d2); FR(m->d3); FR(m->d4); FR(m->d5); FR(m->du); FR(m->ds); FR(m->dp); FR(m->dg);
    FR(m->dh);
    for (int f = 0; f < 2; f++) { FR(m->dkf[f]); FR(m->dkr[f]); }
    FR(m->dfa); FR(m->dfb);
#undef FR
    free(m->ls);
    free(m->lp);
    free(m);
}

int m2_set_buffers(m2_ctx *m, const float *t, int n_t, const float *deltas, int n_d) {
    if (n_t < m->Lmax || n_d != m->cfg.hidden)
        return err_set("M2 buffers: pos_emb.t has %d values (need at least %d), modulation.deltas %d (need %d)", n_t,
                       m->Lmax, n_d, m->cfg.hidden);
    m->o->upload(m->t, t, (size_t)m->Lmax * sizeof(float));
    m->o->upload(m->deltas, deltas, (size_t)n_d * sizeof(float));
    m2_invalidate(m);
    return 0;
}

void m2_invalidate(m2_ctx *m) {
    for (int l = 0; l < m->cfg.layers; l++) m->cached_L[l] = 0;
}

/* ---- Hyena filters ---------------------------------------------------------------------- */

/* k (L,C) = modulate(MLP(z[0:L])) for one direction, saving the MLP activations in a. */
static void filter_mlp_fwd(m2_ctx *m, const float *P, const filter_off *fo, const mlp_off *mo, mlp_acts *a, float *k,
                           int L) {
    const ops *o = m->o;
    int O = m->cfg.m2_filter_order, E = m->cfg.m2_emb_dim, C = m->cfg.hidden;
    float wm = (float)m->cfg.m2_w_mod;
    const float *freq = P + fo->freq;
    const size_t w[3] = {mo->w0, mo->w2, mo->w4}, b[3] = {mo->b0, mo->b2, mo->b4};
    const float *in = P + fo->z; /* z (l_max, E): its first L rows */
    for (int j = 0; j < 3; j++) {
        o->matmul_f32_fwd(a->pre[j], in, P + w[j], P + b[j], L, j ? O : E, O);
        o->m2_sin_fwd(a->act[j], a->pre[j], freq, wm, L, O);
        in = a->act[j];
    }
    o->matmul_f32_fwd(m->hbuf, in, P + mo->w6, NULL, L, O, C);
    o->m2_modulate_fwd(k, m->hbuf, m->t, m->deltas, L, C);
}

/* gradients of one direction's MLP from dk (L,C) */
static void filter_mlp_bwd(m2_ctx *m, const float *P, float *G, const filter_off *fo, const mlp_off *mo,
                           const mlp_acts *a, const float *dk, int L) {
    const ops *o = m->o;
    int O = m->cfg.m2_filter_order, E = m->cfg.m2_emb_dim, C = m->cfg.hidden;
    float wm = (float)m->cfg.m2_w_mod;
    size_t f4 = sizeof(float);
    o->zero(m->hbuf, (size_t)L * C * f4);
    o->m2_modulate_bwd(m->hbuf, dk, m->t, m->deltas, L, C);
    o->zero(m->dfa, (size_t)L * O * f4);
    o->matmul_f32_bwd(m->dfa, G + mo->w6, NULL, m->hbuf, a->act[2], P + mo->w6, L, O, C);
    const size_t w[3] = {mo->w0, mo->w2, mo->w4}, b[3] = {mo->b0, mo->b2, mo->b4};
    for (int j = 2; j >= 0; j--) {
        /* dfa = ∂L/∂act[j] → dfb = ∂L/∂pre[j] → ∂L/∂(the layer input) */
        o->zero(m->dfb, (size_t)L * O * f4);
        o->m2_sin_bwd(m->dfb, G + fo->freq, m->dfa, a->pre[j], P + fo->freq, wm, L, O);
        if (j) {
            o->zero(m->dfa, (size_t)L * O * f4);
            o->matmul_f32_bwd(m->dfa, G + w[j], G + b[j], m->dfb, a->act[j - 1], P + w[j], L, O, O);
        } else {
            o->matmul_f32_bwd(G + fo->z, G + w[0], G + b[0], m->dfb, P + fo->z, P + w[0], L, E, O);
        }
    }
}

static void filters_fwd(m2_ctx *m, int l, layer_state *s, const m2_params *p, const float *P, int L) {
    if (m->inference && m->cached_L[l] == L) return;
    for (int f = 0; f < 2; f++) {
        filter_mlp_fwd(m, P, &p->f[f], &p->f[f].dir[0], &s->fa[f][0], m->kf, L);
        filter_mlp_fwd(m, P, &p->f[f], &p->f[f].dir[1], &s->fa[f][1], m->kr, L);
        m->o->m2_kernel_fft(m->kspec[l][f], m->kf, m->kr, L, m->cfg.hidden);
    }
    m->cached_L[l] = L;
}

/* ---- the layer --------------------------------------------------------------------------- */

static layer_state *state_of(m2_ctx *m, int l) { return &m->ls[m->inference ? l % m->nlayer_states : l]; }

const void *m2_layer_out(const m2_ctx *m, int l) { return m->ls[m->inference ? l % m->nlayer_states : l].y; }

const void *m2_layer_fwd(m2_ctx *m, int l, const float *P, const void *x, int B, int L, float p_drop, rng_key key) {
    const ops *o = m->o;
    const model_config *c = &m->cfg;
    const m2_params *p = &m->lp[l];
    layer_state *s = state_of(m, l);
    int T = B * L, C = c->hidden, I = c->intermediate, nb = c->m2_nblocks;
    CHECK(T <= m->max_tokens && L <= m->Lmax && L >= 1, "M2 batch within the sizes the model was created for");
    if (!m->inference) m->cached_L[l] = 0; /* parameters may change between training forwards */
    filters_fwd(m, l, s, p, P, L);
    const void *u = x;
    if (c->m2_pre_ln) {
        o->layernorm_fwd(s->u, NULL, s->lmean, s->lrstd, x, NULL, P + p->ln_g, P + p->ln_b, T, C, 1e-5f);
        u = s->u;
    }
    /* s (T,3C) = [x1 | x2 | v] */
    const void *x1 = s->s, *x2 = act_at(o, s->s, (size_t)C), *v = act_at(o, s->s, 2 * (size_t)C);
    o->matmul_fwd(s->p, NULL, u, P + p->in_w, P + p->in_b, T, C, 3 * C, ACT_NONE);
    o->m2_shortconv_fwd(s->s, s->p, P + p->sf_w, P + p->sf_b, B, L, 3 * C);
    o->m2_mul_fwd(s->vg, v, 3 * C, x1, 3 * C, NULL, T, C);                        /* v ⊙ x1 */
    o->m2_longconv_fwd(s->y1, s->vg, m->kspec[l][0], P + p->f[0].D, B, L, C);
    o->m2_longconv_fwd(m->y2, u, m->kspec[l][1], P + p->f[1].D, B, L, C);           /* residual long conv */
    o->m2_mul_fwd(s->ym, s->y1, C, x2, 3 * C, m->y2, T, C);                       /* y1 ⊙ x2 + y2 */
    o->matmul_fwd(s->a, NULL, s->ym, P + p->out_w, P + p->out_b, T, C, C, ACT_NONE);
    /* GLU MLP (§3.2); y holds the MLP output until the LayerNorm overwrites it in place */
    o->blockdiag_fwd(s->g, s->a, P + p->gl_w, NULL, T, C, 2 * I, nb);
    o->glu_fwd(s->h, s->g, T, I, p_drop, key); /* GLU + dropout */
    o->blockdiag_fwd(s->y, s->h, P + p->wo_w, P + p->wo_b, T, I, C, nb);
    o->layernorm_fwd(s->y, m->inference ? NULL : s->s2, s->mean2, s->rstd2, s->y, s->a, P + p->ln2_g, P + p->ln2_b,
                     T, C, (float)c->layer_norm_eps);
    return s->y;
}

void m2_layer_bwd(m2_ctx *m, int l, const float *P, float *G, void *dy, const void *x, int B, int L, float p_drop,
                  rng_key key) {
    const ops *o = m->o;
    const model_config *c = &m->cfg;
    const m2_params *p = &m->lp[l];
    layer_state *s = state_of(m, l);
    CHECK(!m->inference, "the M2 context was created for inference");
    int T = B * L, C = c->hidden, I = c->intermediate, nb = c->m2_nblocks;
    size_t as = o->act_size, TC = (size_t)T * C;
    const void *x1 = s->s, *x2 = act_at(o, s->s, (size_t)C), *v = act_at(o, s->s, 2 * (size_t)C);
    void *dx1 = m->ds, *dx2 = act_at(o, m->ds, (size_t)C), *dv = act_at(o, m->ds, 2 * (size_t)C);
    const void *u = c->m2_pre_ln ? s->u : x;
    /* y = LN(f + a): d1 = ∂L/∂(f + a); d2 accumulates ∂L/∂a */
    o->zero(m->d1, TC * as);
    o->layernorm_bwd(m->d1, G + p->ln2_g, G + p->ln2_b, dy, s->s2, P + p->ln2_g, s->mean2, s->rstd2, T, C);
    o->zero(m->d2, TC * as);
    o->act_bwd(m->d2, m->d1, NULL, TC, ACT_NONE);
    o->zero(m->dh, (size_t)T * I * as);
    o->blockdiag_bwd(m->dh, G + p->wo_w, G + p->wo_b, m->d1, s->h, P + p->wo_w, T, I, C, nb);
    o->glu_bwd(m->dg, m->dh, s->g, T, I, p_drop, key);
    o->blockdiag_bwd(m->d2, G + p->gl_w, NULL, m->dg, s->a, P + p->gl_w, T, C, 2 * I, nb);
    /* a = ym·W_outᵀ + b_out: d3 = ∂L/∂ym */
    o->zero(m->d3, TC * as);
    o->matmul_bwd(m->d3, G + p->out_w, G + p->out_b, m->d2, s->ym, P + p->out_w, T, C, C);
    /* ym = y1 ⊙ x2 + y2: d4 = ∂L/∂y1, ds[:, C:2C] = ∂L/∂x2, ∂L/∂y2 = d3 */
    o->zero(m->ds, (size_t)T * 3 * C * as);
    o->zero(m->d4, TC * as);
    o->m2_mul_bwd(m->d4, dx2, m->d3, s->y1, C, x2, 3 * C, T, C);
    /* the residual long conv of u: du */
    o->zero(m->du, TC * as);
    for (int f = 0; f < 2; f++) {
        o->zero(m->dkf[f], (size_t)L * C * sizeof(float));
        o->zero(m->dkr[f], (size_t)L * C * sizeof(float));
    }
    o->m2_longconv_bwd(m->du, m->dkf[1], m->dkr[1], G + p->f[1].D, m->d3, u, m->kspec[l][1], P + p->f[1].D, B, L, C);
    /* y1 = longconv(vg): d5 = ∂L/∂vg */
    o->zero(m->d5, TC * as);
    o->m2_longconv_bwd(m->d5, m->dkf[0], m->dkr[0], G + p->f[0].D, m->d4, s->vg, m->kspec[l][0], P + p->f[0].D, B, L, C);
    /* vg = v ⊙ x1 */
    o->m2_mul_bwd(dv, dx1, m->d5, v, 3 * C, x1, 3 * C, T, C);
    /* s = shortconv(p); p = u·W_inᵀ + b_in */
    o->zero(m->dp, (size_t)T * 3 * C * as);
    o->m2_shortconv_bwd(m->dp, G + p->sf_w, G + p->sf_b, m->ds, s->p, P + p->sf_w, B, L, 3 * C);
    o->matmul_bwd(m->du, G + p->in_w, G + p->in_b, m->dp, u, P + p->in_w, T, C, 3 * C);
    /* the filters: kernels → MLP parameters, z and the shared freq */
    for (int f = 0; f < 2; f++) {
        filter_mlp_bwd(m, P, G, &p->f[f], &p->f[f].dir[0], &s->fa[f][0], m->dkf[f], L);
        filter_mlp_bwd(m, P, G, &p->f[f], &p->f[f].dir[1], &s->fa[f][1], m->dkr[f], L);
    }
    /* ∂L/∂x into dy */
    o->zero(dy, TC * as);
    if (c->m2_pre_ln)
        o->layernorm_bwd(dy, G + p->ln_g, G + p->ln_b, m->du, x, P + p->ln_g, s->lmean, s->lrstd, T, C);
    else
        o->act_bwd(dy, m->du, NULL, TC, ACT_NONE);
}
