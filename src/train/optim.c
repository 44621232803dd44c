/* optim.c — AdamW steps, parameter groups and gradient clipping (see optim.h). */
#include "optim.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

#include "../core/err.h"

void optim_config_default(optim_config *c) {
    memset(c, 0, sizeof *c);
    c->kind = OPTIM_DECOUPLED_ADAMW;
    c->lr = 5e-4;
    c->beta1 = 0.9;
    c->beta2 = 0.98;
    c->eps = 1e-6;
    c->weight_decay = 1e-5;
}

int optim_add_rule(optim_config *c, const char *pattern, double lr, double wd) {
    if (c->n_rules >= OPTIM_MAX_RULES)
        return err_set("optimizer: more than %d parameter-group rules", OPTIM_MAX_RULES);
    size_t n = strlen(pattern);
    if (n == 0 || n >= OPTIM_PATTERN_MAX)
        return err_set("optimizer: rule pattern \"%s\" must have 1 to %d characters", pattern, OPTIM_PATTERN_MAX - 1);
    optim_rule *r = &c->rules[c->n_rules++];
    memcpy(r->pattern, pattern, n + 1);
    r->lr = lr;
    r->wd = wd;
    return 0;
}

/* Iterative glob with single-star backtracking: O(len(p)·len(s)) worst case, no recursion. */
int optim_glob_match(const char *p, const char *s) {
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*p == '*') {
            star = ++p;
            resume = s;
        } else if (*p == '?' || *p == *s) {
            p++;
            s++;
        } else if (star) {
            p = star;
            s = ++resume;
        } else {
            return 0;
        }
    }
    while (*p == '*') p++;
    return *p == '\0';
}

int optim_kind_parse(const char *s, optim_kind *out) {
    if (strcmp(s, "decoupled_adamw") == 0) *out = OPTIM_DECOUPLED_ADAMW;
    else if (strcmp(s, "adamw") == 0) *out = OPTIM_ADAMW;
    else return err_set("unknown optimizer \"%s\" (expected decoupled_adamw or adamw)", s);
    return 0;
}

const char *optim_kind_name(optim_kind k) { return k == OPTIM_ADAMW ? "adamw" : "decoupled_adamw"; }

/* Biases and norm weights: "…bias" or "norm" anywhere, case-insensitive (LayerNorm, layernorm). */
static int is_bias_or_norm(const char *name) {
    size_t n = strlen(name);
    if (n >= 4 && strcmp(name + n - 4, "bias") == 0) return 1;
    for (size_t i = 0; i + 4 <= n; i++)
        if (tolower((unsigned char)name[i]) == 'n' && tolower((unsigned char)name[i + 1]) == 'o' &&
            tolower((unsigned char)name[i + 2]) == 'r' && tolower((unsigned char)name[i + 3]) == 'm')
            return 1;
    return 0;
}

static int check_hyper(const char *what, double lr, double wd) {
    if (!(lr >= 0.0) || !isfinite(lr)) return err_set("optimizer: %s lr %g must be finite and >= 0", what, lr);
    if (!(wd >= 0.0) || !isfinite(wd)) return err_set("optimizer: %s weight_decay %g must be finite and >= 0", what, wd);
    return 0;
}

int optim_init(optim *o, const optim_config *c, const param_table *t, const ops *be) {
    memset(o, 0, sizeof *o);
    if (c->kind != OPTIM_DECOUPLED_ADAMW && c->kind != OPTIM_ADAMW) return err_set("optimizer: unknown kind %d", c->kind);
    if (check_hyper("base", c->lr, c->weight_decay) != 0) return -1;
    if (!(c->beta1 >= 0.0 && c->beta1 < 1.0)) return err_set("optimizer: beta1 %g must be in [0, 1)", c->beta1);
    if (!(c->beta2 >= 0.0 && c->beta2 < 1.0)) return err_set("optimizer: beta2 %g must be in [0, 1)", c->beta2);
    if (!(c->eps > 0.0) || !isfinite(c->eps)) return err_set("optimizer: eps %g must be finite and > 0", c->eps);
    if (c->n_rules < 0 || c->n_rules > OPTIM_MAX_RULES) return err_set("optimizer: %d rules", c->n_rules);
    for (int r = 0; r < c->n_rules; r++)
        if (check_hyper(c->rules[r].pattern, c->rules[r].lr, c->rules[r].wd) != 0) return -1;
    /* The MosaicBERT recipe decays everything; a decoupled decay with lr_0 = 0 would divide by zero. */
    if (c->kind == OPTIM_DECOUPLED_ADAMW && c->lr == 0.0 && c->weight_decay > 0.0)
        return err_set("optimizer: decoupled weight decay needs lr > 0 (alpha = lr_t / lr_0)");
    o->cfg = *c;
    o->n_groups = t->n;
    o->groups = xcalloc(t->n > 0 ? (size_t)t->n : 1, sizeof *o->groups);
    for (int i = 0; i < t->n; i++) {
        optim_group *g = &o->groups[i];
        g->offset = t->p[i].offset;
        g->numel = t->p[i].numel;
        g->rule = -1;
        g->lr = c->lr;
        g->wd = c->weight_decay;
        for (int r = 0; r < c->n_rules; r++)
            if (optim_glob_match(c->rules[r].pattern, t->p[i].name)) {
                g->rule = r;
                g->lr = c->rules[r].lr;
                g->wd = c->rules[r].wd;
                break;
            }
        if (g->rule < 0 && c->no_decay_bias_norm && is_bias_or_norm(t->p[i].name)) g->wd = 0.0;
    }
    o->total = t->total;
    o->be = be;
    o->m = be->alloc((t->total ? t->total : 1) * sizeof *o->m); /* zeroed */
    o->v = be->alloc((t->total ? t->total : 1) * sizeof *o->v);
    o->step = 0;
    return 0;
}

void optim_free(optim *o) {
    free(o->groups);
    if (o->be) {
        o->be->free(o->m);
        o->be->free(o->v);
    }
    memset(o, 0, sizeof *o);
}

void optim_step(optim *o, float *params, const float *grads, double alpha) {
    o->step++;
    const optim_config *c = &o->cfg;
    /* Scalars in double, as Python computes them (torch.optim.AdamW, Composer), each
     * rounded once to float; the element ops are the reference's fp32 ops in its order. */
    double k = (double)o->step;
    double bc1 = 1.0 - pow(c->beta1, k), bc2 = 1.0 - pow(c->beta2, k);
    adamw_scalars s = {.b1 = (float)c->beta1, .b2 = (float)c->beta2, .ob1 = (float)(1.0 - c->beta1),
                       .ob2 = (float)(1.0 - c->beta2), .eps = (float)c->eps, .sqrt_bc2 = (float)sqrt(bc2)};
    for (int gi = 0; gi < o->n_groups; gi++) {
        const optim_group *g = &o->groups[gi];
        double lr_t = g->lr * alpha;
        /* decoupled: decay scaled by the schedule multiplier (alpha = lr_t/lr_0); torch: by lr_t */
        double decay = c->kind == OPTIM_DECOUPLED_ADAMW ? alpha * g->wd : lr_t * g->wd;
        s.keep = (float)(1.0 - decay);
        s.step_size = (float)(lr_t / bc1);
        s.decay = g->wd != 0.0;
        o->be->adamw(params + g->offset, o->m + g->offset, o->v + g->offset, grads + g->offset, g->numel, &s);
    }
}

double optim_grad_norm(const ops *be, const float *grads, size_t n) { return sqrt(be->sumsq(grads, n)); }

void optim_scale(const ops *be, float *grads, size_t n, float s) { be->scale(grads, n, s); }

double optim_clip_grad_norm(const ops *be, float *grads, size_t n, double max_norm) {
    double norm = optim_grad_norm(be, grads, n);
    if (max_norm > 0.0) {
        double coef = max_norm / (norm + 1e-6);
        if (coef < 1.0) optim_scale(be, grads, n, (float)coef);
    }
    return norm;
}
