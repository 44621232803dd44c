/* fixture.c — see fixture.h. */
#include "fixture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/err.h"
#include "../src/io/json.h"
#include "../src/model/batch.h"
#include "../src/model/m2.h"
#include "../src/model/model.h"
#include "test.h"

int32_t *fx_i32(const st_file *f, const char *name, size_t *n) {
    const st_tensor *t = st_find(f, name);
    CHECK(t != NULL, name);
    int64_t *tmp = xmalloc((size_t)t->numel * sizeof *tmp);
    CHECK(st_read_i64(t, tmp, (size_t)t->numel) == 0, name);
    int32_t *out = xmalloc((size_t)t->numel * sizeof *out);
    for (int64_t i = 0; i < t->numel; i++) out[i] = (int32_t)tmp[i];
    free(tmp);
    if (n) *n = (size_t)t->numel;
    return out;
}

double fx_scalar(const st_file *f, const char *name) {
    const st_tensor *t = st_find(f, name);
    CHECK(t != NULL, name);
    if (t->dtype == ST_F64) { double d; memcpy(&d, t->data, 8); return d; }
    float x;
    CHECK(st_read_f32(t, &x, 1) == 0, name);
    return x;
}

float *fx_f32(const st_file *f, const char *name, size_t *n) {
    const st_tensor *t = st_find(f, name);
    CHECK(t != NULL, name);
    float *out = xmalloc((size_t)t->numel * sizeof *out);
    CHECK(st_read_f32(t, out, (size_t)t->numel) == 0, name);
    if (n) *n = (size_t)t->numel;
    return out;
}

double fx_rel_max(const float *a, const float *ref, size_t n) {
    double md = 0, mx = 0;
    for (size_t i = 0; i < n; i++) {
        md = fmax(md, fabs((double)a[i] - ref[i]));
        mx = fmax(mx, fabs((double)ref[i]));
    }
    return md / (mx > 0 ? mx : 1);
}

/* rng.h: index → block index >> 2, lane index & 3; the big fixtures' weights and
 * projections draw ~10^9 numbers, so one Philox block serves four of them. */
void fx_uniform_run(float *out, size_t n, rng_key k, uint64_t base) {
    const uint32_t key[2] = {(uint32_t)k.seed, (uint32_t)(k.seed >> 32)};
    uint32_t blk[4];
    uint64_t have = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        uint64_t idx = base + i, b = idx >> 2;
        if (b != have) {
            const uint32_t ctr[4] = {(uint32_t)b, (uint32_t)(b >> 32), k.step, k.stream};
            philox4x32(key, ctr, blk);
            have = b;
        }
        out[i] = (float)(blk[idx & 3] >> 8) * (1.0f / 16777216.0f);
    }
}

#define RUN_CHUNK 4096 /* elements per parallel task */

/* The fixture weight rule (docs/fixtures.md): c + s·2√3·(u − 0.5), (c, s) by the first
 * matching name suffix; for BERT and MosaicBERT only the LayerNorm class and the default apply. */
static void fixture_weight(float *dst, size_t n, const char *name, int p, uint64_t seed, int d, int I) {
    size_t len = strlen(name);
#define ENDS(s) (len >= strlen(s) && !strcmp(name + len - strlen(s), s))
    double c = 0, s = 0.02;
    if (ENDS("LayerNorm.weight") || ENDS("layernorm.weight")) c = 1;
    else if (ENDS(".freq")) c = 10;
    else if (ENDS(".pos_emb.z")) s = 0.5;
    else if (ENDS(".short_filter.weight") || ENDS(".short_filter.bias")) s = 0.3;
    else if (ENDS("filter_fn.bias") || ENDS("filter_fn2.bias")) s = 1.0;
    else if (ENDS("mlp.gated_layers.weight") && strstr(name, "layer")) s = d ? 2.0 / sqrt(3.0 * d) : 0.02;
    else if (ENDS("mlp.wo.weight") && I) s = 2.0 / sqrt(3.0 * I);
#undef ENDS
    rng_key k = {.seed = seed, .stream = RNG_STREAM_FIXTURE | (uint32_t)p, .step = 0};
    size_t nch = (n + RUN_CHUNK - 1) / RUN_CHUNK;
#pragma omp parallel for schedule(static)
    for (size_t ch = 0; ch < nch; ch++) {
        float u[RUN_CHUNK];
        size_t j0 = ch * RUN_CHUNK, cnt = n - j0 < RUN_CHUNK ? n - j0 : RUN_CHUNK;
        fx_uniform_run(u, cnt, k, j0);
        for (size_t j = 0; j < cnt; j++) dst[j0 + j] = (float)(c + s * 3.4641016151377544 * ((double)u[j] - 0.5));
    }
}

static int cfg_int(const json_value *c, const char *key, int *out) {
    int64_t v;
    if (json_int(json_get(c, key), &v) != 0) return 0;
    *out = (int)v;
    return 1;
}

static int param_no(const json_value *params, const char *name) {
    for (size_t j = 0; j < json_len(params); j++) {
        size_t sl;
        const char *s = json_str(json_at(params, j), &sl);
        if (s && !strcmp(s, name)) return (int)j;
    }
    return -1;
}

/* Classic BERT's key bias has an exactly zero gradient (softmax is shift invariant):
 * the fixture holds float64 noise, so it is checked with an absolute bound. */
static int zero_by_math(const char *name) { return strstr(name, "attention.self.key.bias") != NULL; }

void fixture_check(const char *file) {
    char path[700];
    snprintf(path, sizeof path, "%s/models/%s", test_fixture_dir(), file);
    st_file *f = st_open(path);
    if (!f) { EXPECT_MSG(0, "%s", err_msg()); return; }
    const char *kind = st_metadata_get(f, "model"), *cj = st_metadata_get(f, "config");
    const char *pj = st_metadata_get(f, "params"), *sj = st_metadata_get(f, "weight_seed");
    REQUIRE(kind && cj && pj && sj);
    model_arch arch = !strncmp(kind, "mosaicbert", 10) ? ARCH_MOSAIC : !strncmp(kind, "m2", 2) ? ARCH_M2 : ARCH_BERT;
    int mlm = strstr(kind, "mlm") != NULL;
    json_value *cfgj = json_parse(cj, strlen(cj)), *params = json_parse(pj, strlen(pj));
    REQUIRE(cfgj && params);
    model_config c;
    config_default(&c, arch);
    cfg_int(cfgj, "vocab_size", &c.vocab_size);
    cfg_int(cfgj, "hidden_size", &c.hidden);
    cfg_int(cfgj, "num_hidden_layers", &c.layers);
    cfg_int(cfgj, "num_attention_heads", &c.heads);
    cfg_int(cfgj, "intermediate_size", &c.intermediate);
    cfg_int(cfgj, "max_position_embeddings", &c.max_position);
    cfg_int(cfgj, "type_vocab_size", &c.type_vocab);
    json_number(json_get(cfgj, "layer_norm_eps"), &c.layer_norm_eps);
    if (arch == ARCH_M2) {
        cfg_int(cfgj, "long_conv_l_max", &c.m2_l_max);
        cfg_int(cfgj, "hyena_filter_order", &c.m2_filter_order);
        cfg_int(cfgj, "hyena_emb_dim", &c.m2_emb_dim);
        cfg_int(cfgj, "monarch_mlp_nblocks", &c.m2_nblocks);
        json_bool(json_get(cfgj, "hyena_training_additions"), &c.m2_pre_ln);
        json_bool(json_get(cfgj, "pool_all"), &c.pool_mean);
    }
    c.num_labels = mlm ? 0 : (int)st_find(f, "grad.classifier.weight")->shape[0];
    uint64_t seed = strtoull(sj, NULL, 10);
    json_free(cfgj);

    /* inputs: unpadded tokens for BERT/MosaicBERT, full rows (pads included) for M2 */
    size_t n;
    int32_t *ids = fx_i32(f, "input.input_ids", &n), *types = fx_i32(f, "input.token_type_ids", NULL);
    int32_t *mask = fx_i32(f, "input.attention_mask", NULL), *labels = fx_i32(f, "input.labels", NULL);
    int B = (int)st_find(f, "input.input_ids")->shape[0], S = (int)st_find(f, "input.input_ids")->shape[1];
    int (*from_padded)(batch_buf *, int, int, const int32_t *, const int32_t *, const int32_t *, const int32_t *,
                       int32_t) = arch == ARCH_M2 ? batch_from_padded_keep_pads : batch_from_padded;
    int32_t min_label = arch == ARCH_BERT ? -1 : 0; /* HF: labels != −100; MosaicBERT, M2: labels > 0 */
    batch_buf bb;
    REQUIRE(from_padded(&bb, B, S, ids, types, mask, mlm ? labels : NULL, min_label) == 0);
    if (!mlm) bb.b.labels = labels;
    model_opts mo = {.mlm_head = mlm, .max_tokens = B * S, .max_seqs = B};
    model *m = model_create(&c, ops_cpu(), &mo);
    REQUIRE(m != NULL);

    /* weights: stored (tiny) or regenerated by the rule (big, checked against stored sums) */
    const param_table *pt = model_params(m);
    float *w = model_param_data(m);
    for (int i = 0; i < pt->n; i++) {
        const param_desc *p = &pt->p[i];
        const st_tensor *t = st_find(f, p->name);
        if (t) { REQUIRE(st_read_f32(t, w + p->offset, p->numel) == 0); continue; }
        int no = param_no(params, p->name);
        REQUIRE(no >= 0);
        fixture_weight(w + p->offset, p->numel, p->name, no, seed, arch == ARCH_M2 ? c.hidden : 0,
                       arch == ARCH_M2 ? c.intermediate : 0);
        char ws[200];
        snprintf(ws, sizeof ws, "weightsum.%s", p->name);
        if (st_find(f, ws)) {
            double s = 0, ref = fx_scalar(f, ws);
            for (size_t j = 0; j < p->numel; j++) s += w[p->offset + j];
            EXPECT_MSG(fabs(s - ref) <= 1e-9 * (fabs(ref) + 1.0), "%s: weight sum %.17g vs %.17g", p->name, s, ref);
        }
    }
    if (arch == ARCH_M2) { /* Hyena buffers from the file, as the reference computed them */
        size_t nt, nd;
        float *tb = fx_f32(f, "buffer.bert.encoder.layer.0.attention.filter_fn.pos_emb.t", &nt);
        float *db = fx_f32(f, "buffer.bert.encoder.layer.0.attention.filter_fn.modulation.deltas", &nd);
        REQUIRE(m2_set_buffers(model_m2(m), tb, (int)nt, db, (int)nd) == 0);
        free(tb);
        free(db);
    }

    model_task task = mlm ? TASK_MLM : TASK_CLASSIFY;
    size_t nl;
    float *ref = fx_f32(f, "output.logits", &nl);
    if (mlm) { /* logits at every token (or at the listed rows) */
        batch_buf all;
        REQUIRE(from_padded(&all, B, S, ids, types, mask, NULL, 0) == 0);
        batch_all_rows(&all);
        if (st_find(f, "output.logit_rows")) {
            size_t nr;
            int32_t *rows = fx_i32(f, "output.logit_rows", &nr);
            for (size_t r = 0; r < nr; r++) all.rows[r] = rows[r];
            all.b.M = (int)nr;
            free(rows);
        }
        REQUIRE((size_t)all.b.M * c.vocab_size == nl);
        model_forward(m, &all.b, TASK_MLM, 0, 0);
        double e = fx_rel_max(model_logits(m, TASK_MLM), ref, nl);
        EXPECT_MSG(e <= 1e-5, "%s: logits relative error %.3g > 1e-5", file, e);
        batch_free(&all);
    }
    model_zero_grad(m);
    double loss = model_forward(m, &bb.b, task, 0, 0), ref_loss = fx_scalar(f, "output.loss");
    EXPECT_MSG(fabs(loss - ref_loss) <= 1e-5 * fabs(ref_loss), "%s: loss %.9g vs %.9g", file, loss, ref_loss);
    if (!mlm) {
        double e = fx_rel_max(model_logits(m, task), ref, nl);
        EXPECT_MSG(e <= 1e-5, "%s: logits relative error %.3g > 1e-5", file, e);
    }
    model_backward(m, &bb.b, task);

    const float *g = model_grad_data(m);
    int checked = 0;
    double worst = 0;
    const char *worst_name = "";
    for (int i = 0; i < pt->n; i++) {
        const param_desc *p = &pt->p[i];
        const float *gp = g + p->offset;
        char name[200];
        snprintf(name, sizeof name, "grad.%s", p->name);
        if (st_find(f, name)) { /* the whole gradient */
            float *r = fx_f32(f, name, NULL);
            double dd = 0, rr = 0;
            for (size_t j = 0; j < p->numel; j++) {
                dd += ((double)gp[j] - r[j]) * ((double)gp[j] - r[j]);
                rr += (double)r[j] * r[j];
            }
            free(r);
            if (zero_by_math(p->name)) {
                EXPECT_MSG(sqrt(dd) <= 1e-6, "%s: %s should be ~0, |g| %.3g", file, p->name, sqrt(dd));
            } else {
                double e = sqrt(dd / rr);
                if (e > worst) { worst = e; worst_name = p->name; }
                EXPECT_MSG(e <= 1e-4, "%s: %s gradient relative L2 %.3g > 1e-4", file, p->name, e);
            }
            checked++;
            continue;
        }
        snprintf(name, sizeof name, "gradnorm.%s", p->name);
        if (!st_find(f, name)) continue;
        double ref_norm = fx_scalar(f, name), norm = 0;
        for (size_t j = 0; j < p->numel; j++) norm += (double)gp[j] * gp[j];
        norm = sqrt(norm);
        if (zero_by_math(p->name)) { EXPECT(norm <= 1e-6); checked++; continue; }
        double e = fabs(norm - ref_norm) / ref_norm;
        if (e > worst) { worst = e; worst_name = p->name; }
        EXPECT_MSG(e <= 1e-4, "%s: %s gradient norm %.9g vs %.9g", file, p->name, norm, ref_norm);
        snprintf(name, sizeof name, "gradproj.%s", p->name);
        const st_tensor *pr = st_find(f, name);
        REQUIRE(pr && pr->numel == 8 && pr->dtype == ST_F64);
        double proj_ref[8];
        memcpy(proj_ref, pr->data, sizeof proj_ref);
        int no = param_no(params, p->name);
        REQUIRE(no >= 0);
        rng_key k = {.seed = seed, .stream = RNG_STREAM_FIXTURE | (uint32_t)(1000 + no), .step = 0};
        size_t nch = (p->numel + RUN_CHUNK - 1) / RUN_CHUNK;
        for (int j = 0; j < 8; j++) {
            double s = 0;
#pragma omp parallel for reduction(+ : s) schedule(static)
            for (size_t ch = 0; ch < nch; ch++) {
                float u[RUN_CHUNK];
                size_t q0 = ch * RUN_CHUNK, len = p->numel - q0 < RUN_CHUNK ? p->numel - q0 : RUN_CHUNK;
                fx_uniform_run(u, len, k, (uint64_t)j * p->numel + q0);
                for (size_t q = 0; q < len; q++) s += (double)gp[q0 + q] * (2.0 * u[q] - 1.0);
            }
            /* |⟨δg, r⟩| ≈ ‖δg‖/√3 ≈ ‖g‖·rel/√3: compare against the norm's scale */
            double ej = fabs(s - proj_ref[j]) / (ref_norm / sqrt(3.0));
            if (ej > worst) { worst = ej; worst_name = p->name; }
            EXPECT_MSG(ej <= 1e-4, "%s: %s projection %d: %.9g vs %.9g", file, p->name, j, s, proj_ref[j]);
        }
        checked++;
    }
    EXPECT_MSG(checked == pt->n, "%s: %d of %d gradients checked", file, checked, pt->n);
    if (getenv("TEST_VERBOSE"))
        fprintf(stderr, "     %s: loss %.9g (ref %.9g), worst gradient error %.3g (%s)\n", file, loss, ref_loss, worst,
                worst_name);
    free(ref);
    free(ids);
    free(types);
    free(mask);
    free(labels);
    batch_free(&bb);
    model_free(m);
    json_free(params);
    st_close(f);
}

