/* test_cli_embed.c — `bertc embed`: vectors equal the model's own hidden states pooled
 * by hand (mean and [CLS]), do not depend on the batch size (length-sorted batching,
 * input order kept), unit norm with --normalize, a valid .npy, clean refusals. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/core/err.h"
#include "../src/io/file.h"
#include "../src/model/batch.h"
#include "../src/model/checkpoint.h"
#include "../src/text/tokenizer.h"
#include "pretrain_check.h"
#include "test.h"

static const char *TEXTS[] = {"in the beginning god created the heaven and the earth",
                              "and god said",
                              "let there be light: and there was light, and god saw the light, that it was good"};
enum { NT = 3 };

/* The float32 matrix of a .npy file bertc wrote: checks the header, returns rows·cols values. */
static float *npy_read(const char *path, size_t rows, size_t cols) {
    size_t n = 0;
    char *b = file_read_all(path, &n);
    if (!b || n < 10 || memcmp(b, "\x93NUMPY\x01\x00", 8) != 0) { free(b); return NULL; }
    size_t hl = (size_t)(unsigned char)b[8] | (size_t)(unsigned char)b[9] << 8, off = 10 + hl;
    char want[96];
    snprintf(want, sizeof want, "'shape': (%zu, %zu)", rows, cols);
    char *dict = xmalloc(hl + 1); /* the header dict as a string (the version bytes hold a NUL) */
    memcpy(dict, b + 10, hl);
    dict[hl] = 0;
    int ok = off % 64 == 0 && strstr(dict, "'descr': '<f4'") && strstr(dict, want) && n == off + rows * cols * 4;
    free(dict);
    if (!ok) { free(b); return NULL; }
    float *v = xmalloc(rows * cols * sizeof *v);
    memcpy(v, b + off, rows * cols * sizeof *v);
    free(b);
    return v;
}

TEST(cli_embed) {
    if (access("./bertc", X_OK) != 0) { EXPECT_MSG(0, "./bertc not built"); return; }
    const char *shards = pretrain_shards(), *d = test_tmpdir();
    REQUIRE(test_sh("./bertc pretrain --run %s/run --set data.train=%s %s", d, shards, PRETRAIN_TINY) == 0);
    char model_dir[700], txt[700];
    snprintf(model_dir, sizeof model_dir, "%s/run/checkpoints/step-00000012", d);
    snprintf(txt, sizeof txt, "%s/in.txt", d);
    FILE *f = fopen(txt, "w");
    REQUIRE(f != NULL);
    for (int i = 0; i < NT; i++) fprintf(f, "%s\n%s", TEXTS[i], i == 0 ? "\n" : ""); /* an empty line is skipped */
    fclose(f);
    REQUIRE(test_sh("./bertc embed --model %s -o %s/a.npy --max-length 24 %s 2>/dev/null", model_dir, d, txt) == 0);
    REQUIRE(test_sh("./bertc embed --model %s -o %s/b.npy --max-length 24 --batch-size 1 %s 2>/dev/null", model_dir, d, txt) == 0);
    REQUIRE(test_sh("./bertc embed --model %s -o %s/c.npy --max-length 24 --pool cls --normalize %s 2>/dev/null", model_dir, d, txt) == 0);
    /* the reference: the library's forward pass on each text alone, pooled here */
    checkpoint_opts co = {.max_tokens = 24, .max_seqs = 1, .inference = 1, .quiet = 1};
    model *m = checkpoint_load(model_dir, ops_cpu(), &co);
    REQUIRE(m != NULL);
    char vpath[800];
    snprintf(vpath, sizeof vpath, "%s/vocab.txt", model_dir);
    tokenizer *tok = tok_load(vpath, NULL);
    REQUIRE(tok != NULL);
    int C = model_cfg(m)->hidden;
    char pa[700], pb[700], pc[700];
    snprintf(pa, sizeof pa, "%s/a.npy", d), snprintf(pb, sizeof pb, "%s/b.npy", d), snprintf(pc, sizeof pc, "%s/c.npy", d);
    float *a = npy_read(pa, NT, (size_t)C), *b = npy_read(pb, NT, (size_t)C), *cc = npy_read(pc, NT, (size_t)C);
    REQUIRE(a && b && cc);
    double worst_mean = 0, worst_cls = 0, worst_batch = 0;
    for (int i = 0; i < NT; i++) {
        tok_encode_opts eo;
        tok_encode_opts_default(&eo);
        eo.max_length = 24;
        tok_encoding e = {0};
        REQUIRE(tok_encode(tok, TEXTS[i], strlen(TEXTS[i]), NULL, 0, &eo, &e) == 0);
        int S = (int)e.n;
        int32_t *ids = xmalloc((size_t)S * 4), *mask = xmalloc((size_t)S * 4);
        for (int t = 0; t < S; t++) ids[t] = (int32_t)e.ids[t], mask[t] = 1;
        batch_buf bb = {0};
        REQUIRE(batch_from_padded(&bb, 1, S, ids, NULL, mask, NULL, 0) == 0);
        model_forward(m, &bb.b, TASK_ENCODE, 0, 0);
        const float *h = model_hidden(m);
        double nn = 0;
        for (int c = 0; c < C; c++) nn += (double)h[c] * h[c];
        for (int c = 0; c < C; c++) {
            double mean = 0;
            for (int t = 0; t < S; t++) mean += h[(size_t)t * C + c];
            mean /= S;
            double em = fabs(a[i * C + c] - mean), ec = fabs(cc[i * C + c] - h[c] / sqrt(nn));
            double eb = fabs(a[i * C + c] - b[i * C + c]);
            worst_mean = em > worst_mean ? em : worst_mean;
            worst_cls = ec > worst_cls ? ec : worst_cls;
            worst_batch = eb > worst_batch ? eb : worst_batch;
        }
        batch_free(&bb);
        free(ids), free(mask);
        tok_encoding_free(&e);
    }
    printf("  worst |Δ|: mean pooling %.3g, [CLS] normalised %.3g, batch 64 vs 1 %.3g\n", worst_mean, worst_cls, worst_batch);
    EXPECT(worst_mean <= 1e-5);
    EXPECT(worst_cls <= 1e-5);
    EXPECT(worst_batch <= 1e-5);
    /* refusals: no model, a bad extension, no output half-written */
    EXPECT(test_sh("./bertc embed --model %s/nope -o %s/x.npy %s 2>/dev/null", d, d, txt) != 0);
    EXPECT(test_sh("./bertc embed --model %s -o %s/x.txt %s 2>/dev/null", model_dir, d, txt) != 0);
    EXPECT(test_sh("test ! -e %s/x.npy && test ! -e %s/x.txt", d, d) == 0);
    free(a), free(b), free(cc);
    tok_free(tok);
    model_free(m);
}
