/* test_m2_model.c — the M2-BERT model (src/model/m2.c through model.c):
 * whole-model gradient checks on tiny configs (central differences with the
 * loss accumulated in double, as tests/test_model_grad.c), the parameter count
 * of the 80M config against m2bert.md §3.6, the inference kernel cache, a
 * checkpoint round trip, `bertc fill-mask`, and parity with the reference
 * fixtures of the official code (m2_*.safetensors). */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/core/err.h"
#include "../src/core/rng.h"
#include "../src/io/file.h"
#include "../src/io/json.h"
#include "../src/io/safetensors.h"
#include "../src/model/batch.h"
#include "../src/model/checkpoint.h"
#include "../src/model/m2.h"
#include "../src/model/model.h"
#include "fixture.h"
#include "model_check.h"
#include "test.h"

static void tiny_m2(model_config *c, int num_labels, int pre_ln) {
    config_default(c, ARCH_M2);
    c->vocab_size = 64;
    c->hidden = 16;
    c->layers = 2;
    c->heads = 1;
    c->intermediate = 24;
    c->max_position = 12;
    c->m2_l_max = 10;
    c->m2_filter_order = 8;
    c->m2_pre_ln = pre_ln;
    c->num_labels = num_labels;
}

/* B = 3 rows of L = 7 tokens; the last rows end in pads (id 0), which M2 keeps as tokens. */
static void tiny_batch(batch_buf *bb, int V) {
    static const int lens[3] = {7, 5, 2};
    random_padded_batch(bb, V, 7, lens, 1);
}

/* The reference inits every Linear with N(0, 0.02) and the filter MLP likewise, which
 * leaves the gated paths (products of three such outputs) and the kernels tiny, and
 * their gradients below what finite differences in fp32 resolve. Tests draw every
 * matrix from U(±√(3/fan_in)) instead (unit-variance outputs), freq 1.3 (10 makes
 * sin(10·x) oscillate faster than the differences' step). */
static void widen_params(model *m) {
    const param_table *pt = model_params(m);
    float *w = model_param_data(m);
    for (int i = 0; i < pt->n; i++) {
        const param_desc *p = &pt->p[i];
        float *x = w + p->offset;
        if (strstr(p->name, "freq")) {
            for (size_t j = 0; j < p->numel; j++) x[j] = 1.3f;
            continue;
        }
        if (p->ndim < 2 || strstr(p->name, "pos_emb")) continue;
        int64_t fan_in = p->shape[p->ndim - 1];
        /* embedding rows of unit size too: the embedding LayerNorm of N(0, 0.02) rows is far from linear */
        float bound = strstr(p->name, "embeddings") ? 1.0f : sqrtf(3.0f / (float)fan_in);
        rng_key k = {.seed = 3, .stream = RNG_STREAM_FIXTURE | (uint32_t)i};
        for (size_t j = 0; j < p->numel; j++) x[j] = bound * (2.0f * rng_uniform(k, j) - 1.0f);
    }
}

static void check_m2(model_task task, int num_labels, int train, int pre_ln, int pool_all) {
    model_config c;
    tiny_m2(&c, num_labels, pre_ln);
    c.pool_mean = pool_all;
    model_opts mo = {.mlm_head = task == TASK_MLM, .max_tokens = 24, .max_seqs = 4, .seed = 1234};
    model *m = model_create(&c, ops_cpu(), &mo);
    REQUIRE(m != NULL);
    widen_params(m);
    batch_buf bb;
    tiny_batch(&bb, c.vocab_size);
    int32_t labels[3] = {2, 0, 1};
    float targets[3] = {0.5f, -1.0f, 2.0f};
    bb.b.labels = labels;
    bb.b.targets = targets;
    int tested = check_param_grads(m, &bb.b, task, train, 1, "m2");
    EXPECT_MSG(tested >= model_params(m)->n - 2, "only %d of %d parameters have gradients above 1e-3", tested,
               model_params(m)->n);
    batch_free(&bb);
    model_free(m);
}

TEST(m2_grad_mlm) { check_m2(TASK_MLM, 0, 0, 0, 0); }
TEST(m2_grad_mlm_pre_ln_dropout) { check_m2(TASK_MLM, 0, 1, 1, 0); }
TEST(m2_grad_classify) { check_m2(TASK_CLASSIFY, 3, 0, 0, 0); }
TEST(m2_grad_classify_mean_pool_dropout) { check_m2(TASK_CLASSIFY, 3, 1, 0, 1); }
TEST(m2_grad_regression) { check_m2(TASK_CLASSIFY, 1, 0, 1, 0); }

/* m2bert.md §3.6, 80M column: backbone (embeddings with l_max 128 + 12 layers) 79.64M,
 * derived there from the §2.6 shapes: encoder 56,097,792 + embeddings 23,546,880. */
TEST(m2_param_count_80m) {
    model_config c;
    config_default(&c, ARCH_M2); /* d 768, I 3072, 12 layers, V 30528, l_max = max_pos = 128 */
    param_table t;
    params_build(&t, &c, 0);
    size_t total = 0, layer0 = 0, mixer0 = 0, filter0 = 0;
    for (int i = 0; i < t.n; i++) {
        total += t.p[i].numel;
        if (!strncmp(t.p[i].name, "bert.encoder.layer.0.", 21)) {
            layer0 += t.p[i].numel;
            if (strstr(t.p[i].name, ".attention.")) mixer0 += t.p[i].numel;
            if (strstr(t.p[i].name, ".filter_fn.")) filter0 += t.p[i].numel;
        }
    }
    EXPECT_EQ_INT(filter0, 265728);        /* one HyenaFilter */
    EXPECT_EQ_INT(mixer0, 2903040);        /* mixer per layer */
    EXPECT_EQ_INT(layer0 - mixer0, 1771776); /* MLP per layer */
    EXPECT_EQ_INT(total, 56097792 + 23546880);
    params_free(&t);
    params_build(&t, &c, 1); /* + MLM head (tied decoder): 0.62M */
    size_t with_head = 0;
    for (int i = 0; i < t.n; i++) with_head += t.p[i].numel;
    EXPECT_EQ_INT(with_head - total, 768 * 768 + 768 + 2 * 768 + 30528);
    params_free(&t);
}

/* An inference model (kernels cached per length, per layer; activations shared by
 * alternate layers) gives the training model's logits, also on its second forward, at
 * two lengths, and after a length change back. 3 layers: layers 0 and 2 share buffers. */
TEST(m2_inference_kernel_cache) {
    model_config c;
    tiny_m2(&c, 0, 0);
    c.layers = 3;
    model_opts tr = {.mlm_head = 1, .max_tokens = 24, .max_seqs = 4, .seed = 77};
    model_opts inf = tr;
    inf.inference = 1;
    model *a = model_create(&c, ops_cpu(), &tr), *b = model_create(&c, ops_cpu(), &inf);
    REQUIRE(a && b);
    widen_params(a);
    memcpy(model_param_data(b), model_param_data(a), model_params(a)->total * sizeof(float));
    batch_buf bb;
    tiny_batch(&bb, c.vocab_size);
    batch_all_rows(&bb);
    int32_t ids2[8] = {3, 4, 5, 6, 7, 8, 9, 10}; /* 2 rows of 4 */
    batch_buf b2;
    REQUIRE(batch_from_padded_keep_pads(&b2, 2, 4, ids2, NULL, NULL, NULL, 0) == 0);
    batch_all_rows(&b2);
    const batch_buf *seq[4] = {&bb, &bb, &b2, &bb};
    for (int r = 0; r < 4; r++) {
        const model_batch *x = &seq[r]->b;
        float la = model_forward(a, x, TASK_MLM, 0, 0), lb = model_forward(b, x, TASK_MLM, 0, 0);
        size_t n = (size_t)x->M * c.vocab_size;
        EXPECT_MSG(la == lb, "run %d: loss %.9g vs %.9g", r, la, lb);
        EXPECT_MSG(!memcmp(model_logits(a, TASK_MLM), model_logits(b, TASK_MLM), n * sizeof(float)),
                   "run %d: logits differ", r);
    }
    /* pads are tokens: the first row's outputs change when its padding grows (§1.6) */
    batch_free(&b2);
    batch_free(&bb);
    model_free(a);
    model_free(b);
}

/* Pads are not masked: row 0 of a [1, 4] batch differs from row 0 of the same ids padded to 6. */
TEST(m2_padding_changes_outputs) {
    model_config c;
    tiny_m2(&c, 0, 0);
    model_opts mo = {.mlm_head = 1, .max_tokens = 12, .max_seqs = 2, .seed = 5, .inference = 1};
    model *m = model_create(&c, ops_cpu(), &mo);
    REQUIRE(m != NULL);
    int32_t ids[6] = {3, 9, 4, 2, 0, 0};
    batch_buf x4, x6;
    REQUIRE(batch_from_padded_keep_pads(&x4, 1, 4, ids, NULL, NULL, NULL, 0) == 0);
    REQUIRE(batch_from_padded_keep_pads(&x6, 1, 6, ids, NULL, NULL, NULL, 0) == 0);
    EXPECT_EQ_INT(x6.b.T, 6);
    batch_all_rows(&x4);
    batch_all_rows(&x6);
    model_forward(m, &x4.b, TASK_MLM, 0, 0);
    float *row4 = xmalloc((size_t)c.vocab_size * sizeof *row4); /* logits of token 0 */
    memcpy(row4, model_logits(m, TASK_MLM), (size_t)c.vocab_size * sizeof *row4);
    model_forward(m, &x6.b, TASK_MLM, 0, 0);
    const float *row6 = model_logits(m, TASK_MLM);
    double diff = 0;
    for (int v = 0; v < c.vocab_size; v++) diff = fmax(diff, fabs((double)row4[v] - row6[v]));
    EXPECT_MSG(diff > 1e-6, "token 0's logits moved by only %.3g", diff); /* the bidirectional long conv sees the pads */
    free(row4);
    batch_free(&x4);
    batch_free(&x6);
    model_free(m);
}

/* logits of all rows of the tiny batch, M rows × V (malloc'ed) */
static float *all_logits(model *m, int *M) {
    batch_buf bb;
    tiny_batch(&bb, model_cfg(m)->vocab_size);
    batch_all_rows(&bb);
    model_forward(m, &bb.b, TASK_MLM, 0, 0);
    *M = bb.b.M;
    size_t n = (size_t)bb.b.M * model_cfg(m)->vocab_size;
    float *out = xmalloc(n * sizeof *out);
    memcpy(out, model_logits(m, TASK_MLM), n * sizeof *out);
    batch_free(&bb);
    return out;
}

/* Save → load gives the same logits; a file in the reference's naming (freq under one
 * of its other aliases, the t/deltas buffers, FlashFFTConv tables, position_ids) loads
 * to the same model, with the pre-mixer LayerNorm detected from its tensor. */
TEST(m2_checkpoint_round_trip_and_reference_names) {
    model_config c;
    tiny_m2(&c, 0, 1);
    model_opts mo = {.mlm_head = 1, .max_tokens = 24, .max_seqs = 4, .seed = 8};
    model *m = model_create(&c, ops_cpu(), &mo);
    REQUIRE(m != NULL);
    widen_params(m);
    int M;
    float *want = all_logits(m, &M);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/m2ck", test_tmpdir());
    REQUIRE(checkpoint_save(m, dir, NULL) == 0);
    checkpoint_opts co = {.need_mlm_head = 1, .max_tokens = 24, .max_seqs = 4, .inference = 1, .quiet = 1};
    model *r = checkpoint_load(dir, ops_cpu(), &co);
    REQUIRE(r != NULL);
    EXPECT_EQ_INT(model_cfg(r)->arch, ARCH_M2);
    EXPECT_EQ_INT(model_cfg(r)->m2_pre_ln, 1);
    EXPECT_EQ_INT(model_cfg(r)->m2_l_max, 10);
    EXPECT_EQ_INT(model_cfg(r)->m2_filter_order, 8);
    EXPECT_EQ_INT(model_cfg(r)->intermediate, 24);
    int M2;
    float *got = all_logits(r, &M2);
    EXPECT(M2 == M && !memcmp(got, want, (size_t)M * c.vocab_size * sizeof *got));
    free(got);
    model_free(r);

    /* rewrite the weights the way the reference's state dict names them */
    const param_table *pt = model_params(m);
    const float *w = model_param_data(m);
    st_entry *e = xcalloc((size_t)pt->n + 8, sizeof *e);
    char (*names)[128] = xcalloc((size_t)pt->n, sizeof *names);
    size_t n = 0;
    for (int i = 0; i < pt->n; i++) {
        const char *nm = pt->p[i].name, *fq = strstr(nm, "implicit_filter.1.freq");
        snprintf(names[i], sizeof names[i], "%s", nm);
        if (fq) snprintf(names[i], sizeof names[i], "%.*simplicit_filter_rev.3.freq", (int)(fq - nm), nm);
        e[n++] = (st_entry){.name = names[i], .dtype = ST_F32, .ndim = pt->p[i].ndim, .shape = pt->p[i].shape,
                            .data = w + pt->p[i].offset};
    }
    static const float junk[10] = {0};
    static const int64_t sh1[1] = {10}, sh3[3] = {1, 10, 1};
    static const int64_t pid[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, shp[2] = {1, 12};
    e[n++] = (st_entry){.name = "bert.encoder.layer.0.attention.flashfft.f_16_fft", .dtype = ST_F32, .ndim = 1,
                        .shape = sh1, .data = junk};
    e[n++] = (st_entry){.name = "bert.encoder.layer.0.attention.filter_fn.pos_emb.t", .dtype = ST_F32, .ndim = 3,
                        .shape = sh3, .data = junk};
    e[n++] = (st_entry){.name = "bert.embeddings.position_ids", .dtype = ST_I64, .ndim = 2, .shape = shp, .data = pid};
    char path[700];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    REQUIRE(st_write(path, e, n, NULL, 0) == 0);
    co.quiet = 0; /* nothing should be reported unused (the test log stays clean) */
    r = checkpoint_load(dir, ops_cpu(), &co);
    REQUIRE(r != NULL);
    got = all_logits(r, &M2);
    EXPECT(M2 == M && !memcmp(got, want, (size_t)M * c.vocab_size * sizeof *got));
    free(got);
    model_free(r);
    free(e);
    free(names);
    free(want);
    model_free(m);
}

/* `bertc fill-mask` on an M2 checkpoint, end to end through the built binary. */
TEST(m2_cli_fill_mask) {
    if (access("./bertc", X_OK) != 0) { EXPECT_MSG(0, "./bertc not built (make test builds it)"); return; }
    model_config c;
    tiny_m2(&c, 0, 0);
    model_opts mo = {.mlm_head = 1, .max_tokens = 10, .max_seqs = 1, .seed = 21};
    model *m = model_create(&c, ops_cpu(), &mo);
    REQUIRE(m != NULL);
    char dir[600], vocab[700], out[700], cmd[2400];
    snprintf(dir, sizeof dir, "%s/m2fm", test_tmpdir());
    snprintf(vocab, sizeof vocab, "%s/m2vocab.txt", test_tmpdir());
    snprintf(out, sizeof out, "%s/m2fm.out", test_tmpdir());
    FILE *f = fopen(vocab, "w");
    REQUIRE(f != NULL);
    fputs("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncat\nsat\non\nmat\ndog\nran\n", f);
    fclose(f);
    REQUIRE(checkpoint_save(m, dir, vocab) == 0);
    model_free(m);
    snprintf(cmd, sizeof cmd, "./bertc fill-mask --model '%s' -k 3 'the cat [MASK] on the mat' > '%s' 2>&1", dir, out);
    EXPECT_EQ_INT(system(cmd), 0);
    size_t n;
    char *text = file_read_all(out, &n);
    REQUIRE(text != NULL);
    EXPECT_MSG(strstr(text, "[MASK] #1 (token 3):") != NULL, "output: %s", text);
    free(text);
    /* longer than l_max (10): truncated to 10 tokens, not refused or crashed */
    snprintf(cmd, sizeof cmd, "./bertc fill-mask --model '%s' 'the cat sat on the mat the dog ran on the [MASK] mat' "
             "> '%s' 2>&1", dir, out);
    EXPECT_EQ_INT(system(cmd), 0);
}

/* Loss and every gradient bit for bit the same on 1 and 3 threads (sizes above the
 * parallel thresholds of the M2 ops). */
TEST(m2_model_thread_determinism) {
    model_config c;
    tiny_m2(&c, 0, 1);
    c.hidden = 64;
    c.intermediate = 128;
    c.layers = 1;
    c.max_position = c.m2_l_max = 64;
    enum { B = 4, L = 64 };
    int32_t ids[B * L], labels[B * L];
    rng_key k = {.seed = 4, .stream = RNG_STREAM_FIXTURE};
    for (int i = 0; i < B * L; i++) {
        ids[i] = 1 + (int32_t)(rng_u32(k, (uint64_t)i) % 63u);
        labels[i] = i % 5 == 0 ? ids[i] : -100;
    }
    batch_buf bb;
    REQUIRE(batch_from_padded_keep_pads(&bb, B, L, ids, NULL, NULL, labels, 0) == 0);
    model_opts mo = {.mlm_head = 1, .max_tokens = B * L, .max_seqs = B, .seed = 6};
    float *grads[2] = {NULL, NULL}, loss[2];
    size_t total = 0;
    int saved = omp_get_max_threads();
    for (int r = 0; r < 2; r++) {
        omp_set_num_threads(r ? 3 : 1);
        model *m = model_create(&c, ops_cpu(), &mo);
        REQUIRE(m != NULL);
        model_zero_grad(m);
        loss[r] = model_forward(m, &bb.b, TASK_MLM, 1, 2);
        model_backward(m, &bb.b, TASK_MLM);
        total = model_params(m)->total;
        grads[r] = xmalloc(total * sizeof(float));
        memcpy(grads[r], model_grad_data(m), total * sizeof(float));
        model_free(m);
    }
    omp_set_num_threads(saved);
    EXPECT(loss[0] == loss[1]);
    EXPECT(!memcmp(grads[0], grads[1], total * sizeof(float)));
    free(grads[0]);
    free(grads[1]);
    batch_free(&bb);
}

/* Parity with the official HazyResearch/m2 code: tests/fixture.c, docs/fixtures.md. */
TEST(m2_parity_tiny_mlm) { fixture_check("m2_tiny_mlm.safetensors"); }
TEST(m2_parity_tiny_mlm_pre_ln) { fixture_check("m2_tiny_mlm_ln.safetensors"); }
TEST(m2_parity_tiny_classify_cls) { fixture_check("m2_tiny_cls.safetensors"); }
TEST(m2_parity_tiny_classify_mean_pool) { fixture_check("m2_tiny_cls_meanpool.safetensors"); }
TEST(m2_parity_80m_mlm) { fixture_check("m2_80m_mlm.safetensors"); }
