/* test_finetune.c — finetune_run end to end on a tiny pretrained model: a task whose
 * rule the model can learn (does a 6-word window of Genesis mention God?) is learned
 * well above the majority-class baseline; the best model and its dev predictions are
 * written; regression runs and reports a finite Spearman; bad labels are refused. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/core/err.h"
#include "../src/io/file.h"
#include "../src/io/safetensors.h"
#include "../src/model/checkpoint.h"
#include "../src/train/finetune.h"
#include "pretrain_check.h"
#include "test.h"

typedef struct {
    char *text[2048];
    int32_t label[2048];
    float value[2048];
    int n;
} windows;

/* 6-word windows of the Genesis fixture; label 1 when one word is "god" (any case). */
static void make_windows(windows *w) {
    char path[600];
    snprintf(path, sizeof path, "%s/vocab_train/kjv_genesis.txt", test_fixture_dir());
    char *t = file_read_all(path, NULL);
    CHECK(t != NULL, "fixture");
    char *words[4096];
    int nw = 0;
    for (char *s = strtok(t, " \n"); s && nw < 4096; s = strtok(NULL, " \n")) words[nw++] = s;
    w->n = 0;
    for (int i = 0; i + 6 <= nw && w->n < 2048; i += 3) {
        char buf[512] = "";
        int god = 0, e = 0;
        for (int k = 0; k < 6; k++) {
            strcat(buf, k ? " " : "");
            strcat(buf, words[i + k]);
            char low[64];
            size_t j = 0;
            for (; words[i + k][j] && j < 63; j++) low[j] = (char)tolower((unsigned char)words[i + k][j]);
            low[j] = 0;
            god |= !strncmp(low, "god", 3) && !isalpha((unsigned char)low[3]);
            for (const char *c = low; *c; c++) e += *c == 'e';
        }
        w->text[w->n] = xstrdup(buf);
        w->label[w->n] = god;
        w->value[w->n] = (float)e;
        w->n++;
    }
    free(t);
}

/* The first element of tensor `name` of DIR/model.safetensors (NaN when absent). */
static float ft_first_value(const char *dir, const char *name) {
    char path[800];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    st_file *f = st_open(path);
    const st_tensor *t = f ? st_find(f, name) : NULL;
    float v = NAN;
    if (t) {
        float *all = xmalloc((size_t)t->numel * sizeof *all);
        if (st_read_f32(t, all, (size_t)t->numel) == 0) v = all[0];
        free(all);
    }
    if (f) st_close(f);
    return v;
}

/* What the rule tests share: a tiny model pretrained in d (12 steps), the Genesis windows
 * (first 80% train, the rest dev), the dev majority-class accuracy, and a finetuning config
 * for that model writing to out. 0 when set up (a failure is recorded). */
typedef struct {
    windows w;
    int ntr, ndv;
    double majority;
    char mdir[700];
} rule_task;

static int rule_task_make(rule_task *t, const char *d, ft_config *c, char *out) {
    if (access("./bertc", X_OK) != 0) { EXPECT_MSG(0, "./bertc not built"); return -1; }
    if (!EXPECT(test_sh("./bertc pretrain --run %s/run --set data.train=%s %s", d, pretrain_shards(), PRETRAIN_TINY) == 0))
        return -1;
    make_windows(&t->w);
    t->ntr = t->w.n * 4 / 5, t->ndv = t->w.n - t->ntr;
    int pos = 0;
    for (int i = t->ntr; i < t->w.n; i++) pos += t->w.label[i];
    t->majority = (double)(pos > t->ndv - pos ? pos : t->ndv - pos) / t->ndv;
    snprintf(t->mdir, sizeof t->mdir, "%s/run/checkpoints/step-00000012", d);
    ft_config_default(c);
    c->model_dir = t->mdir, c->out_dir = out, c->quiet = 1;
    c->max_len = 16, c->batch_size = 16, c->lr = 2e-3, c->weight_decay = 0;
    return 0;
}

TEST(finetune_learns_a_rule) {
    const char *d = test_tmpdir();
    static rule_task task;
    ft_config c;
    char out[700];
    if (rule_task_make(&task, d, &c, out) != 0) return;
    windows w = task.w; /* shorthands */
    int ntr = task.ntr, ndv = task.ndv;
    double majority = task.majority;
    const char *mdir = task.mdir;
    ft_split tr = {.n = ntr, .text_a = (const char *const *)w.text, .label = w.label};
    ft_split dv = {.n = ndv, .text_a = (const char *const *)w.text + ntr, .label = w.label + ntr};
    snprintf(out, sizeof out, "%s/ft", d);
    c.epochs = 12;
    ft_result r;
    if (finetune_run(&c, &tr, &dv, &r) != 0) printf("  %s\n", err_msg());
    REQUIRE(r.evaluations > 0);
    printf("  %d train / %d dev windows; dev accuracy %.3f at step %lld (majority %.3f)\n", ntr, ndv, r.best_metric,
           (long long)r.best_step, majority);
    EXPECT(r.best_metric >= majority + 0.1);
    EXPECT(r.evaluations == 12);
    EXPECT(test_sh("test -s %s/best/model.safetensors && test -s %s/best/config.json && test -s %s/best/vocab.txt", out, out, out) == 0);
    EXPECT(test_sh("test $(wc -l < %s/predictions.tsv) -eq %d", out, ndv + 1) == 0);
    EXPECT(test_sh("grep -c eval_accuracy %s/metrics.jsonl | grep -qx 12", out) == 0);
    /* the saved best model loads as a classifier; bertc classify on the dev texts gives
     * the labels of the best evaluation (predictions.tsv) */
    EXPECT(test_sh("grep -q BertForSequenceClassification %s/best/config.json", out) == 0);
    char devtxt[800];
    snprintf(devtxt, sizeof devtxt, "%s/dev.txt", d);
    FILE *f = fopen(devtxt, "w");
    REQUIRE(f != NULL);
    for (int i = ntr; i < w.n; i++) fprintf(f, "%s\n", w.text[i]);
    fclose(f);
    EXPECT(test_sh("./bertc classify --model %s/best --max-length 16 %s | cut -f1,2 > %s/cls.tsv && "
                   "tail -n +2 %s/predictions.tsv | cut -f1,2 | cmp -s - %s/cls.tsv", out, devtxt, d, out, d) == 0);
    EXPECT(test_sh("./bertc classify --model %s/best --logits %s | awk -F'\t' 'NF != 4 {exit 1}'", out, devtxt) == 0);
    EXPECT(test_sh("./bertc classify --model %s/run/checkpoints/step-00000012 %s 2>/dev/null", d, devtxt) != 0); /* no classifier */
    /* regression: the count of e's in the window, MSE loss, Spearman */
    ft_split rtr = {.n = ntr, .text_a = (const char *const *)w.text, .value = w.value};
    ft_split rdv = {.n = ndv, .text_a = (const char *const *)w.text + ntr, .value = w.value + ntr};
    snprintf(out, sizeof out, "%s/ft-reg", d);
    c.num_labels = 1, c.metric = METRIC_SPEARMAN, c.epochs = 3;
    if (finetune_run(&c, &rtr, &rdv, &r) != 0) printf("  %s\n", err_msg());
    REQUIRE(r.evaluations > 0);
    printf("  regression: dev Spearman %.3f\n", r.best_metric);
    EXPECT(isfinite(r.best_metric));
    /* a label outside [0, num_labels) names the example */
    c.num_labels = 2, c.metric = METRIC_ACCURACY;
    w.label[3] = 7;
    EXPECT(finetune_run(&c, &tr, &dv, &r) != 0);
    EXPECT(strstr(err_msg(), "train example 4") != NULL);
    w.label[3] = 0;
    /* the optimizer's decay convention reaches finetuning: an lr too small to move anything
     * leaves only the decay. Decoupled (the default) shrinks every tensor, LayerNorm gains too,
     * by prod(1 - wd·alpha_t); torch AdamW (--optimizer adamw) decays by lr_t·wd — with wd =
     * 0.02 / lr the same factor — and never decays biases and norms. */
    const char *ln = "bert.encoder.layer.0.attention.output.LayerNorm.weight";
    const char *dense = "bert.encoder.layer.0.attention.output.dense.weight";
    float g0 = ft_first_value(mdir, ln), w0 = ft_first_value(mdir, dense), gd, ga, wa;
    c.epochs = 1, c.lr = 1e-12, c.warmup = 0, c.weight_decay = 0.02;
    snprintf(out, sizeof out, "%s/ft-wd", d);
    EXPECT(finetune_run(&c, &tr, &dv, &r) == 0);
    snprintf(out, sizeof out, "%s/ft-wd/best", d);
    gd = ft_first_value(out, ln);
    c.torch_adamw = 1, c.weight_decay = 0.02 / c.lr;
    snprintf(out, sizeof out, "%s/ft-wd-adamw", d);
    EXPECT(finetune_run(&c, &tr, &dv, &r) == 0);
    snprintf(out, sizeof out, "%s/ft-wd-adamw/best", d);
    ga = ft_first_value(out, ln), wa = ft_first_value(out, dense);
    int steps = (ntr + c.batch_size - 1) / c.batch_size; /* alpha_t = 1 - t/steps, t = 0.. steps-1 */
    double keep = 1.0;
    for (int t = 0; t < steps; t++) keep *= 1.0 - 0.02 * (1.0 - (double)t / steps);
    printf("  LayerNorm gain after %d steps of decay 0.02: decoupled %.6f (expected %.6f), adamw %.6f, from %.6f;"
           " adamw dense weight %.6g (expected %.6g)\n", steps, gd, g0 * keep, ga, g0, wa, w0 * keep);
    EXPECT(fabs(gd - g0 * keep) <= 1e-5 * fabs(g0) && keep < 0.99);
    EXPECT(ga == g0);
    EXPECT(w0 != 0 && fabs(wa - w0 * keep) <= 1e-5 * fabs(w0));
    for (int i = 0; i < w.n; i++) free(w.text[i]);
}

/* `bertc finetune` of DIR/MODEL on DIR/t.tsv with ARGS fails, saying PATTERN (grep -E). */
static int finetune_refuses(const char *d, const char *mdir, const char *args, const char *pattern) {
    return test_sh("./bertc finetune --model %s/%s --train %s/t.tsv --dev %s/t.tsv --text text --label label %s "
                   "--out %s/ft -q 2> %s/err.txt", d, mdir, d, d, args, d, d) != 0 &&
           test_sh("grep -qE '%s' %s/err.txt", pattern, d) == 0;
}

/* An M2 model takes rows of at most l_max tokens (its long convolutions' length): a longer
 * --max-length is refused by finetune and classify with the limit named, not a crash. */
TEST(finetune_refuses_max_length_over_m2_l_max) {
    if (access("./bertc", X_OK) != 0) { EXPECT_MSG(0, "./bertc not built"); return; }
    const char *shards = pretrain_shards(), *d = test_tmpdir();
    REQUIRE(test_sh("./bertc pretrain --run %s/m2 --set data.train=%s %s --set model.arch=m2 --set train.steps=4", d, shards,
                    PRETRAIN_TINY) == 0);
    REQUIRE(test_sh("printf 'text\\tlabel\\nin the beginning\\t1\\nand the earth\\t0\\n' > %s/t.tsv", d) == 0);
    const char *m = "m2/checkpoints/step-00000004";
    EXPECT(finetune_refuses(d, m, "--max-length 64", "max length 64 exceeds .*24 tokens \\(M2"));
    /* a bad --test file fails before any training (no output directory is made) */
    REQUIRE(test_sh("rm -rf %s/ft", d) == 0);
    EXPECT(finetune_refuses(d, m, "--max-length 24 --test nope.tsv", "nope.tsv: cannot open"));
    EXPECT(test_sh("test ! -e %s/ft", d) == 0);
    EXPECT(test_sh("./bertc finetune --model %s/%s --train %s/t.tsv --dev %s/t.tsv --text text --label label "
                   "--max-length 24 --epochs 1 --out %s/ft -q", d, m, d, d, d) == 0);
    EXPECT(test_sh("echo 'in the beginning' > %s/x.txt && ./bertc classify --model %s/ft/best --max-length 64 %s/x.txt "
                   "2> %s/err2.txt", d, d, d, d) != 0);
    EXPECT(test_sh("grep -q 'max-length 64 exceeds' %s/err2.txt", d) == 0);
    EXPECT(test_sh("./bertc classify --model %s/ft/best --max-length 24 %s/x.txt > /dev/null", d, d) == 0);
}

/* --pooling mean: the classifier reads the mean of the tokens; the choice is saved with
 * the model (config.json pool_all) so classify gives the dev predictions of finetuning. */
TEST(finetune_mean_pooling_round_trip) {
    if (access("./bertc", X_OK) != 0) { EXPECT_MSG(0, "./bertc not built"); return; }
    const char *shards = pretrain_shards(), *d = test_tmpdir();
    REQUIRE(test_sh("./bertc pretrain --run %s/run --set data.train=%s %s --set train.steps=4", d, shards, PRETRAIN_TINY) == 0);
    REQUIRE(test_sh("printf 'text\\tlabel\\n' > %s/t.tsv && for i in 1 2 3 4 5 6; do "
                    "printf 'in the beginning god created\\t1\\nand the earth was without form\\t0\\n"
                    "and god said let there be light\\t1\\nthe waters under the heaven\\t0\\n' >> %s/t.tsv; done", d, d) == 0);
    const char *m = "run/checkpoints/step-00000004";
    EXPECT(finetune_refuses(d, m, "--pooling avg", "pooling avg: expected cls or mean"));
    REQUIRE(test_sh("./bertc finetune --model %s/%s --train %s/t.tsv --dev %s/t.tsv --text text --label label "
                    "--pooling mean --epochs 3 --lr 2e-3 --max-length 16 --out %s/ft -q > /dev/null", d, m, d, d, d) == 0);
    EXPECT(test_sh("grep -q '\"pool_all\": *true' %s/ft/best/config.json", d) == 0);
    EXPECT(test_sh("tail -n +2 %s/t.tsv | cut -f1 > %s/x.txt && ./bertc classify --model %s/ft/best --max-length 16 %s/x.txt "
                   "| cut -f1,2 > %s/cls.tsv && tail -n +2 %s/ft/predictions.tsv | cut -f1,2 | cmp -s - %s/cls.tsv",
                   d, d, d, d, d, d, d) == 0);
    /* the same texts through a [CLS]-pooling copy of the model give other probabilities */
    EXPECT(test_sh("mkdir -p %s/clsm && cp %s/ft/best/* %s/clsm/ && sed -i 's/\"pool_all\": *true/\"pool_all\": false/' "
                   "%s/clsm/config.json && ./bertc classify --model %s/clsm --max-length 16 %s/x.txt > %s/p2.tsv && "
                   "./bertc classify --model %s/ft/best --max-length 16 %s/x.txt | cmp -s - %s/p2.tsv", d, d, d, d, d, d, d,
                   d, d, d) != 0);
}

/* --chunk: a text longer than the max length is cut into windows, each trained with the
 * text's label, the text predicted from the mean of its windows' logits. Texts whose label
 * lies in their last words (a fixed 18-word filler, then a Genesis window: does it mention
 * God?) are learnable with chunks of 14 tokens and not with truncation to 16, which sees
 * the filler only; texts that fit one window give exactly the truncated run's predictions;
 * the window count is what `bertc encode`'s token counts give; pairs are refused. */
TEST(finetune_chunks_long_texts) {
    const char *d = test_tmpdir();
    static rule_task task;
    ft_config c;
    char out[700];
    if (rule_task_make(&task, d, &c, out) != 0) return;
    windows w = task.w;
    int ntr = task.ntr, ndv = task.ndv;
    double majority = task.majority;
    const char *mdir = task.mdir;
    static const char filler[] = "and the evening and the morning were the first day and the waters were gathered unto one place ";
    char *longt[2048];
    for (int i = 0; i < w.n; i++) {
        longt[i] = xmalloc(sizeof filler + strlen(w.text[i]));
        strcpy(longt[i], filler);
        strcat(longt[i], w.text[i]);
    }
    ft_split tr = {.n = ntr, .text_a = (const char *const *)longt, .label = w.label};
    ft_split dv = {.n = ndv, .text_a = (const char *const *)longt + ntr, .label = w.label + ntr};
    c.epochs = 8;
    ft_result rt, rc;
    snprintf(out, sizeof out, "%s/trunc", d);
    if (finetune_run(&c, &tr, &dv, &rt) != 0) printf("  %s\n", err_msg());
    c.chunk_stride = 7;
    snprintf(out, sizeof out, "%s/chunk", d);
    if (finetune_run(&c, &tr, &dv, &rc) != 0) printf("  %s\n", err_msg());
    printf("  dev accuracy: truncated %.3f, chunks of 14 every 7 %.3f (majority %.3f)\n", rt.best_metric, rc.best_metric,
           majority);
    EXPECT(rt.best_metric <= majority + 1e-9);
    EXPECT(1 - rc.best_metric <= (1 - majority) / 2); /* at most half the majority class's errors */
    /* classify --chunk serves the model as finetuning scored it: the dev predictions again */
    char devtxt[800];
    snprintf(devtxt, sizeof devtxt, "%s/dev.txt", d);
    FILE *fd = fopen(devtxt, "w");
    REQUIRE(fd != NULL);
    for (int i = ntr; i < w.n; i++) fprintf(fd, "%s\n", longt[i]);
    fclose(fd);
    EXPECT(test_sh("./bertc classify --model %s/chunk/best --max-length 16 --chunk 7 %s | cut -f1,2 > %s/cls.tsv && "
                   "tail -n +2 %s/chunk/predictions.tsv | cut -f1,2 | cmp -s - %s/cls.tsv", d, devtxt, d, d, d) == 0);
    /* truncated, the same model sees the filler only: other labels */
    EXPECT(test_sh("./bertc classify --model %s/chunk/best --max-length 16 %s | cut -f1,2 | cmp -s - %s/cls.tsv", d,
                   devtxt, d) != 0);
    /* short texts: one window each, the same rows as truncation */
    c.max_len = 32, c.epochs = 2, c.chunk_stride = 0;
    ft_split str = {.n = ntr, .text_a = (const char *const *)w.text, .label = w.label};
    ft_split sdv = {.n = ndv, .text_a = (const char *const *)w.text + ntr, .label = w.label + ntr};
    snprintf(out, sizeof out, "%s/short-trunc", d);
    EXPECT(finetune_run(&c, &str, &sdv, &rt) == 0);
    c.chunk_stride = 30;
    snprintf(out, sizeof out, "%s/short-chunk", d);
    EXPECT(finetune_run(&c, &str, &sdv, &rc) == 0);
    EXPECT(rt.best_metric == rc.best_metric && rt.steps == rc.steps);
    EXPECT(test_sh("cmp -s %s/short-trunc/predictions.tsv %s/short-chunk/predictions.tsv", d, d) == 0);
    /* window count: 1 + ceil((n - 14) / 5) for n > 14 content tokens (n from bertc encode, minus [CLS] [SEP]) */
    char tsv[700];
    snprintf(tsv, sizeof tsv, "%s/t.tsv", d);
    FILE *f = fopen(tsv, "w");
    REQUIRE(f != NULL);
    fprintf(f, "text\tlabel\n");
    for (int i = 0; i < 300; i++) fprintf(f, "%s\t%d\n", i % 3 ? longt[i] : w.text[i], w.label[i]);
    fclose(f);
    EXPECT(test_sh("tail -n +2 %s/t.tsv | cut -f1 | ./bertc encode --vocab %s/vocab.txt | "
                   "awk '{n = NF - 2; r += n <= 14 ? 1 : 1 + int((n - 14 + 4) / 5)} END {print r}' > %s/want.txt && "
                   "./bertc finetune --model %s --train %s/t.tsv --dev %s/t.tsv --text text --label label --max-length 16 "
                   "--chunk 5 --epochs 1 --out %s/ft 2>&1 | sed -n 's/.*: \\([0-9]*\\) train rows of 300 examples.*/\\1/p' "
                   "> %s/got.txt && cat %s/got.txt && cmp -s %s/want.txt %s/got.txt",
                   d, mdir, d, mdir, d, d, d, d, d, d, d) == 0);
    EXPECT(finetune_refuses(d, "run/checkpoints/step-00000012", "--max-length 16 --chunk 15",
                            "chunk 15: the stride must be at most max length − 2 = 14"));
    REQUIRE(test_sh("printf 'a\\tb\\tlabel\\nin the beginning\\tgod created\\t1\\nand the earth\\twas void\\t0\\n' > %s/p.tsv",
                    d) == 0);
    EXPECT(test_sh("./bertc finetune --model %s --train %s/p.tsv --dev %s/p.tsv --text a --text-pair b --label label "
                   "--chunk 5 --out %s/ftp -q 2>&1 | grep -q 'works on single-text tasks'", mdir, d, d, d) == 0);
    for (int i = 0; i < w.n; i++) free(w.text[i]), free(longt[i]);
}

/* A recipe sets what it gives, unless the user gave it; a recipe without an lr (WNLI's
 * MosaicBERT column is all 0) leaves lr, wd and the optimizer alone. */
TEST(finetune_config_from_recipe) {
    glue_recipe r = {.lr = 1e-4, .wd = 1e-6, .decoupled = 0, .epochs = 7, .batch = 12, .eval_interval = 50,
                     .n_seeds = 2, .seeds = {3, 9}, .mean_pool = 1};
    ft_config c;
    ft_config_default(&c);
    ft_config_from_recipe(&c, &r, 1, NULL);
    EXPECT(c.lr == 1e-4 && c.weight_decay == 1e-6 && c.torch_adamw == 1 && c.pooling == CKPT_POOL_MEAN);
    EXPECT(c.epochs == 7 && c.batch_size == 12 && c.eval_every == 50 && c.seed == 9);
    ft_config_default(&c);
    c.lr = 3e-5, c.epochs = 2, c.seed = 5, c.pooling = CKPT_POOL_CLS;
    ft_recipe_keep given = {.lr = 1, .epochs = 1, .seed = 1, .pooling = 1};
    ft_config_from_recipe(&c, &r, 0, &given);
    EXPECT(c.lr == 3e-5 && c.epochs == 2 && c.seed == 5 && c.pooling == CKPT_POOL_CLS);
    EXPECT(c.weight_decay == 1e-6 && c.batch_size == 12 && c.torch_adamw == 1);
    glue_recipe none = {0};
    ft_config_default(&c);
    ft_config_from_recipe(&c, &none, 0, NULL);
    EXPECT(c.lr == 5e-5 && c.weight_decay == 5e-6 && c.torch_adamw == 0 && c.epochs == 3 && c.batch_size == 32 &&
           c.seed == 17 && c.pooling == 0);
}

/* Resume: a finetune killed (SIGKILL after step k) or stopped by SIGINT, then run again with the
 * same command, repeats the uninterrupted run bit for bit — metrics.jsonl, the best model and
 * its predictions; OUT/last is gone once it finishes; other settings over a left state are
 * refused, naming the first that differs. */
TEST(finetune_resume_is_exact) {
    const char *d = test_tmpdir();
    static rule_task task;
    ft_config c;
    char out[700];
    if (rule_task_make(&task, d, &c, out) != 0) return;
    char tsv[800];
    for (int s = 0; s < 2; s++) { /* train.tsv, dev.tsv */
        snprintf(tsv, sizeof tsv, "%s/%s.tsv", d, s ? "dev" : "train");
        FILE *f = fopen(tsv, "w");
        REQUIRE(f != NULL);
        fprintf(f, "text\tlabel\n");
        for (int i = s ? task.ntr : 0; i < (s ? task.w.n : task.ntr); i++) fprintf(f, "%s\t%d\n", task.w.text[i], task.w.label[i]);
        fclose(f);
    }
    char cmd[3000];
    snprintf(cmd, sizeof cmd,
             "./bertc finetune --model %s --train %s/train.tsv --dev %s/dev.tsv --text text --label label "
             "--max-length 16 --batch-size 16 --lr 2e-3 --wd 0 --epochs 3 --eval-every 7 -q",
             task.mdir, d, d);
    REQUIRE(test_sh("%s --out %s/a", cmd, d) == 0);
    EXPECT(test_sh("! test -e %s/a/last", d) == 0);
    /* killed after step 12: the state of step 7 (an evaluation) is left, and the log has step 10 beyond it;
     * refused with another lr, then resumed */
    EXPECT(test_sh("BERTC_TEST_SIGKILL_AT_STEP=12 %s --out %s/k 2>/dev/null", cmd, d) != 0);
    EXPECT(test_sh("test -d %s/k/last && grep -q '\"step\": 10, \"epoch\": 1, \"loss\"' %s/k/metrics.jsonl", d, d) == 0);
    EXPECT(test_sh("%s --out %s/k --lr 1e-3 2> %s/refused.txt", cmd, d, d) != 0);
    EXPECT(test_sh("grep -q \"other settings (was 'lr 0.002', now 'lr 0.001')\" %s/refused.txt", d) == 0);
    REQUIRE(test_sh("%s --out %s/k", cmd, d) == 0);
    /* SIGINT after step 13 (between evaluations: the state of step 13 itself), then resumed */
    EXPECT(test_sh("BERTC_TEST_SIGINT_AT_STEP=13 %s --out %s/i 2> %s/int.txt", cmd, d, d) != 0);
    EXPECT(test_sh("grep -q 'signal 2: stopped after step 13' %s/int.txt && test -d %s/i/last", d, d) == 0);
    REQUIRE(test_sh("%s --out %s/i", cmd, d) == 0);
    const char *runs[] = {"k", "i"};
    for (int r = 0; r < 2; r++) {
        EXPECT_MSG(test_sh("cmp -s %s/a/metrics.jsonl %s/%s/metrics.jsonl", d, d, runs[r]) == 0, "%s: metrics differ", runs[r]);
        EXPECT_MSG(test_sh("cmp -s %s/a/best/model.safetensors %s/%s/best/model.safetensors", d, d, runs[r]) == 0,
                   "%s: best models differ", runs[r]);
        EXPECT(test_sh("cmp -s %s/a/predictions.tsv %s/%s/predictions.tsv", d, d, runs[r]) == 0);
        /* the result as recorded (best metric, its step, evaluations, steps; the settings) */
        EXPECT_MSG(test_sh("cmp -s %s/a/finished %s/%s/finished", d, d, runs[r]) == 0, "%s: finished differs", runs[r]);
        EXPECT(test_sh("! test -e %s/%s/last", d, runs[r]) == 0);
    }
    EXPECT(test_sh("test $(grep -c eval_accuracy %s/a/metrics.jsonl) -ge 4", d) == 0);
    /* the same command again finds the work done (OUT/finished); other settings train afresh */
    REQUIRE(test_sh("cp %s/a/metrics.jsonl %s/a.metrics && test -s %s/a/finished", d, d, d) == 0);
    snprintf(cmd + strlen(cmd) - 3, sizeof cmd - strlen(cmd) + 3, "   "); /* drop -q: the message is checked */
    EXPECT(test_sh("%s --out %s/a 2> %s/again.txt > /dev/null", cmd, d, d) == 0);
    EXPECT(test_sh("grep -q 'finished: done before with these settings' %s/again.txt", d) == 0);
    EXPECT(test_sh("cmp -s %s/a/metrics.jsonl %s/a.metrics", d, d) == 0);
    EXPECT(test_sh("%s --out %s/a --lr 1e-3 2> /dev/null > /dev/null", cmd, d) == 0);
    EXPECT(test_sh("! cmp -s %s/a/metrics.jsonl %s/a.metrics && grep -q 'lr 0.001' %s/a/finished", d, d, d) == 0);
    /* a model written again at the same path (here: its time) is another model: trained afresh */
    EXPECT(test_sh("%s --out %s/a --lr 1e-3 2> %s/again.txt > /dev/null && grep -q 'done before' %s/again.txt", cmd, d, d, d) == 0);
    EXPECT(test_sh("touch -d '2001-02-03' %s/model.safetensors && %s --out %s/a --lr 1e-3 2> %s/again.txt > /dev/null && "
                   "! grep -q 'done before' %s/again.txt && grep -q 'eval_accuracy' %s/a/metrics.jsonl", task.mdir, cmd, d,
                   d, d, d) == 0);
}
