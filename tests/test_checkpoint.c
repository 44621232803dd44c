/* test_checkpoint.c — HF-layout model directories: save → load gives the same
 * model; config.json fields; clear errors for broken directories. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/err.h"
#include "../src/io/file.h"
#include "../src/io/json.h"
#include "../src/io/safetensors.h"
#include "../src/model/batch.h"
#include "../src/model/checkpoint.h"
#include "test.h"

static float forward_loss(model *m, batch_buf *bb) { return model_forward(m, &bb->b, TASK_MLM, 0, 0); }

static void make_batch(batch_buf *bb) {
    int32_t ids[2 * 6] = {2, 7, 9, 11, 3, 0, 2, 5, 6, 3, 0, 0};
    int32_t mask[2 * 6] = {1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0, 0};
    int32_t labels[2 * 6] = {-100, 8, -100, 12, -100, -100, -100, -100, 4, -100, -100, -100};
    CHECK(batch_from_padded(bb, 2, 6, ids, NULL, mask, labels, 0) == 0, err_msg());
}

static void round_trip(model_arch arch) {
    model_config c;
    config_default(&c, arch);
    c.vocab_size = 64; c.hidden = 16; c.layers = 2; c.heads = 2; c.intermediate = 24; c.max_position = 32;
    model_opts mo = {.mlm_head = 1, .max_tokens = 16, .max_seqs = 2, .seed = 11};
    model *m = model_create(&c, ops_cpu(), &mo);
    REQUIRE(m != NULL);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/ckpt", test_tmpdir());
    REQUIRE(checkpoint_save(m, dir, NULL) == 0);
    checkpoint_opts o = {.need_mlm_head = 1, .max_tokens = 16, .max_seqs = 2, .seed = 999, .quiet = 1};
    model *m2 = checkpoint_load(dir, ops_cpu(), &o);
    REQUIRE(m2 != NULL);
    EXPECT_EQ_INT(model_cfg(m2)->arch, arch);
    EXPECT_EQ_INT(model_cfg(m2)->layers, 2);
    EXPECT_EQ_INT(model_cfg(m2)->intermediate, 24);
    EXPECT_EQ_INT(model_params(m2)->total, model_params(m)->total);
    EXPECT(memcmp(model_param_data(m), model_param_data(m2), model_params(m)->total * sizeof(float)) == 0);
    batch_buf bb;
    make_batch(&bb);
    EXPECT(forward_loss(m, &bb) == forward_loss(m2, &bb));
    batch_free(&bb);
    /* the tied decoder matrix is not written (as transformers' save_pretrained omits it) */
    char path[700];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    st_file *f = st_open(path);
    REQUIRE(f != NULL);
    EXPECT(st_find(f, "cls.predictions.decoder.weight") == NULL);
    EXPECT(st_find(f, "bert.embeddings.word_embeddings.weight") != NULL);
    st_close(f);
    snprintf(path, sizeof path, "%s/config.json", dir);
    json_value *cfg = json_parse_file(path);
    REQUIRE(cfg != NULL);
    int64_t v;
    double d;
    EXPECT(json_int(json_get(cfg, "num_hidden_layers"), &v) == 0 && v == 2);
    EXPECT(json_number(json_get(cfg, "layer_norm_eps"), &d) == 0 && d == 1e-12);
    size_t n;
    EXPECT_STR_EQ(json_str(json_get(cfg, "model_type"), &n), "bert");
    json_free(cfg);
    model_free(m);
    model_free(m2);
}

TEST(checkpoint_round_trip_bert) { round_trip(ARCH_BERT); }
TEST(checkpoint_round_trip_mosaic) { round_trip(ARCH_MOSAIC); }

TEST(checkpoint_errors_name_the_problem) {
    checkpoint_opts o = {.need_mlm_head = 1, .max_tokens = 16, .max_seqs = 2, .quiet = 1};
    EXPECT(checkpoint_load("/nonexistent/dir", ops_cpu(), &o) == NULL);
    EXPECT(strstr(err_msg(), "/nonexistent/dir/model.safetensors") != NULL);
    /* a classifier-only directory refused when an MLM head is needed */
    model_config c;
    config_default(&c, ARCH_BERT);
    c.vocab_size = 64; c.hidden = 16; c.layers = 1; c.heads = 2; c.intermediate = 24; c.max_position = 32;
    c.num_labels = 2;
    model_opts mo = {.max_tokens = 16, .max_seqs = 2, .seed = 1};
    model *m = model_create(&c, ops_cpu(), &mo);
    REQUIRE(m != NULL);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/cls", test_tmpdir());
    REQUIRE(checkpoint_save(m, dir, NULL) == 0);
    EXPECT(checkpoint_load(dir, ops_cpu(), &o) == NULL);
    EXPECT(strstr(err_msg(), "no MLM head") != NULL);
    o.need_mlm_head = 0;
    model *m2 = checkpoint_load(dir, ops_cpu(), &o);
    REQUIRE(m2 != NULL);
    EXPECT_EQ_INT(model_cfg(m2)->num_labels, 2);
    model_free(m2);
    /* a config.json with an unsupported activation */
    char path[700];
    snprintf(path, sizeof path, "%s/config.json", dir);
    afile f;
    REQUIRE(afile_open(&f, path) == 0);
    afile_printf(&f, "{\"hidden_act\": \"relu\"}\n");
    REQUIRE(afile_commit(&f) == 0);
    EXPECT(checkpoint_load(dir, ops_cpu(), &o) == NULL);
    EXPECT(strstr(err_msg(), "hidden_act") != NULL);
    model_free(m);
}
