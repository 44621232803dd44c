/* test_task.c — labelled-task readers of src/data/task.c: the GLUE files in their
 * published layouts (tests/fixtures/glue_quick, written by hand in those layouts),
 * GLUE test files and malformed rows (tests/fixtures/tasks), generic TSV / CSV /
 * JSONL. Expected texts, labels and line numbers are read off the fixture files
 * (see the comments there and below), not from the reader's output. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/err.h"
#include "../src/data/task.h"
#include "test.h"

/* Path of a fixture; eight rotating buffers so a few can be alive at once. */
static const char *fx(const char *rel) {
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", test_fixture_dir(), rel);
    return buf[k];
}

/* 1 if err_msg() is exactly "<path>:<line>: <what>" (printed otherwise). */
static int err_is(const char *path, int line, const char *what) {
    char want[1024];
    snprintf(want, sizeof want, "%s:%d: %s", path, line, what);
    if (strcmp(err_msg(), want) == 0) return 1;
    fprintf(stderr, "    message \"%s\"\n    expected \"%s\"\n", err_msg(), want);
    return 0;
}

static int msg_is(const char *got, const char *path, int line, const char *what) {
    char want[1024];
    snprintf(want, sizeof want, "%s:%d: %s", path, line, what);
    if (got && strcmp(got, want) == 0) return 1;
    fprintf(stderr, "    message \"%s\"\n    expected \"%s\"\n", got ? got : "(null)", want);
    return 0;
}

static task_data *glue(const char *task, const char *rel) {
    task_data *d = task_read_glue(task, fx(rel), NULL);
    if (!d) fprintf(stderr, "    %s: %s\n", rel, err_msg());
    return d;
}

/* Class ids of all examples, as a string of digits ("0120"). */
static const char *ids(const task_data *d) {
    static char s[256];
    size_t i = 0;
    for (; i < d->n && i + 1 < sizeof s; i++) s[i] = d->ex[i].label < 0 ? '-' : (char)('0' + d->ex[i].label);
    s[i] = 0;
    return s;
}

/* ---- GLUE, published layouts ------------------------------------------------------- */

TEST(task_glue_cola_no_header) {
    task_data *d = glue("CoLA", "glue_quick/CoLA/train.tsv");
    REQUIRE(d);
    EXPECT_EQ_INT(d->kind, TASK_LABEL_CLASS);
    EXPECT(d->has_labels && !d->has_pair);
    EXPECT_EQ_INT(d->n, 8); /* 8 lines, the first one is a row too */
    EXPECT_STR_EQ(d->ex[0].text_a, "The children sang a song together.");
    EXPECT(d->ex[0].text_b == NULL);
    EXPECT_STR_EQ(d->ex[7].text_a, "Which did you paint door red?");
    EXPECT_STR_EQ(ids(d), "10101010");
    EXPECT_EQ_INT(d->ex[0].line, 1);
    EXPECT_EQ_INT(d->ex[7].line, 8);
    EXPECT_EQ_INT(d->labels.n, 2);
    EXPECT_STR_EQ(d->labels.names[1], "1");
    task_free(d);
    d = glue("cola", "glue_quick/CoLA/dev.tsv");
    REQUIRE(d);
    EXPECT_EQ_INT(d->n, 4);
    EXPECT_STR_EQ(d->ex[2].text_a, "Nobody expected the play to end so soon.");
    EXPECT_STR_EQ(ids(d), "1010");
    task_free(d);
}

TEST(task_glue_sst2) {
    task_data *d = glue("SST-2", "glue_quick/SST-2/train.tsv");
    REQUIRE(d);
    EXPECT_EQ_INT(d->n, 8);
    EXPECT_STR_EQ(d->ex[0].text_a, "a warm and generous film . "); /* the space before the tab is kept */
    EXPECT_STR_EQ(d->ex[5].text_a, "a \" comedy \" without a single laugh "); /* quotes are text */
    EXPECT_STR_EQ(ids(d), "10101010");
    EXPECT_EQ_INT(d->ex[0].line, 2);
    task_free(d);
    d = glue("sst2", "glue_quick/SST-2/dev.tsv");
    REQUIRE(d);
    EXPECT_EQ_INT(d->n, 4);
    EXPECT_STR_EQ(d->ex[3].text_a, "a mess from start to finish . ");
    EXPECT_STR_EQ(ids(d), "1010");
    task_free(d);
}

TEST(task_glue_mrpc) {
    task_data *d = glue("mrpc", "glue_quick/MRPC/train.tsv");
    REQUIRE(d);
    EXPECT(d->has_pair);
    EXPECT_EQ_INT(d->n, 6);
    EXPECT_STR_EQ(d->ex[0].text_a, "The company said profits rose 5 percent in the quarter .");
    EXPECT_STR_EQ(d->ex[0].text_b, "Quarterly profits rose 5 percent , the company said .");
    EXPECT_STR_EQ(d->ex[2].text_b, "On Monday officials described the plan as \" reckless \" .");
    EXPECT_STR_EQ(ids(d), "101010");
    task_free(d);
    d = glue("MRPC", "glue_quick/MRPC/dev.tsv");
    REQUIRE(d);
    EXPECT_EQ_INT(d->n, 3);
    EXPECT_STR_EQ(d->ex[1].text_a, "The team won its third straight game .");
    EXPECT_STR_EQ(ids(d), "101");
    task_free(d);
}

TEST(task_glue_stsb_regression) {
    task_data *d = glue("STS-B", "glue_quick/STS-B/train.tsv");
    REQUIRE(d);
    EXPECT_EQ_INT(d->kind, TASK_LABEL_REGRESSION);
    EXPECT_EQ_INT(d->labels.n, 0);
    EXPECT_EQ_INT(d->n, 6);
    EXPECT_STR_EQ(d->ex[0].text_a, "A dog is running in a field.");
    EXPECT_STR_EQ(d->ex[0].text_b, "A dog runs across a field.");
    EXPECT_STR_EQ(d->ex[3].text_a, "I ordered a caf\xc3\xa9 au lait."); /* UTF-8 kept byte for byte */
    const float want[6] = {4.6f, 0.25f, 3.8f, 5.0f, 0.0f, 4.2f};
    for (int i = 0; i < 6; i++) {
        EXPECT_MSG(d->ex[i].value == want[i], "row %d: %g vs %g", i, d->ex[i].value, want[i]);
        EXPECT_EQ_INT(d->ex[i].label, -1);
    }
    task_free(d);
    d = glue("stsb", "glue_quick/STS-B/dev.tsv");
    REQUIRE(d);
    EXPECT_EQ_INT(d->n, 3);
    EXPECT(d->ex[0].value == 4.25f && d->ex[1].value == 0.2f && d->ex[2].value == 4.8f);
    task_free(d);
}

TEST(task_glue_qqp) {
    task_data *d = glue("qqp", "glue_quick/QQP/train.tsv");
    REQUIRE(d);
    EXPECT_EQ_INT(d->n, 6);
    EXPECT_STR_EQ(d->ex[0].text_a, "How do I learn to cook rice?");
    EXPECT_STR_EQ(d->ex[5].text_b, "Who invented the telephone?");
    EXPECT_STR_EQ(ids(d), "101010");
    task_free(d);
    d = glue("QQP", "glue_quick/QQP/dev.tsv");
    REQUIRE(d);
    EXPECT_EQ_INT(d->n, 3);
    EXPECT_STR_EQ(ids(d), "101");
    task_free(d);
}

TEST(task_glue_mnli_label_order_and_last_column) {
    /* HF datasets order: entailment 0, neutral 1, contradiction 2. */
    task_data *d = glue("MNLI", "glue_quick/MNLI/train.tsv");
    REQUIRE(d);
    EXPECT_EQ_INT(d->labels.n, 3);
    EXPECT_STR_EQ(d->labels.names[0], "entailment");
    EXPECT_STR_EQ(d->labels.names[1], "neutral");
    EXPECT_STR_EQ(d->labels.names[2], "contradiction");
    EXPECT_EQ_INT(d->n, 6);
    EXPECT_STR_EQ(d->ex[0].text_a, "The dog sleeps by the fire."); /* column 9 of 12 */
    EXPECT_STR_EQ(d->ex[0].text_b, "The dog is resting.");          /* column 10 */
    EXPECT_STR_EQ(d->ex[4].text_a, "we never go out on weekends");
    EXPECT_STR_EQ(ids(d), "021021");
    task_free(d);
    /* dev files have label1..label5 before gold_label (16 columns); row 3 of
     * dev_matched has label1 = entailment but gold_label = neutral. */
    d = glue("mnli", "glue_quick/MNLI/dev_matched.tsv");
    REQUIRE(d);
    EXPECT_EQ_INT(d->n, 3);
    EXPECT_STR_EQ(d->ex[2].text_b, "The man was waiting for his sister.");
    EXPECT_STR_EQ(ids(d), "021");
    task_free(d);
    d = glue("mnli", "glue_quick/MNLI/dev_mismatched.tsv");
    REQUIRE(d);
    EXPECT_EQ_INT(d->n, 4);
    EXPECT_STR_EQ(d->ex[3].text_a, "The flight left on time.");
    EXPECT_STR_EQ(ids(d), "0212");
    task_free(d);
}

TEST(task_glue_qnli_rte_wnli) {
    task_data *d = glue("qnli", "glue_quick/QNLI/train.tsv");
    REQUIRE(d);
    EXPECT_EQ_INT(d->n, 6);
    EXPECT_STR_EQ(d->ex[0].text_a, "When was the bridge built?");
    EXPECT_STR_EQ(d->ex[0].text_b, "The bridge was built in 1932 by a local firm.");
    EXPECT_STR_EQ(d->labels.names[1], "not_entailment");
    EXPECT_STR_EQ(ids(d), "010101");
    task_free(d);
    d = glue("qnli", "glue_quick/QNLI/dev.tsv");
    REQUIRE(d);
    EXPECT_STR_EQ(ids(d), "010");
    task_free(d);

    d = glue("rte", "glue_quick/RTE/train.tsv");
    REQUIRE(d);
    EXPECT_EQ_INT(d->n, 6);
    EXPECT_STR_EQ(d->ex[5].text_a, "The novel was first published in French.");
    EXPECT_STR_EQ(d->ex[5].text_b, "The novel was written in German.");
    EXPECT_STR_EQ(ids(d), "010101");
    task_free(d);
    d = glue("RTE", "glue_quick/RTE/dev.tsv");
    REQUIRE(d);
    EXPECT_STR_EQ(ids(d), "010");
    task_free(d);

    /* WNLI writes 1 for entailment: the id is the number in the file. */
    d = glue("wnli", "glue_quick/WNLI/train.tsv");
    REQUIRE(d);
    EXPECT_EQ_INT(d->n, 4);
    EXPECT_STR_EQ(d->ex[1].text_b, "The case was too big.");
    EXPECT_STR_EQ(ids(d), "1010");
    task_free(d);
    d = glue("wnli", "glue_quick/WNLI/dev.tsv");
    REQUIRE(d);
    EXPECT_STR_EQ(ids(d), "10");
    task_free(d);
}

/* Every task's train and dev files under glue_quick/<dir>/, named by the table. */
TEST(task_glue_table_files_read) {
    char rel[256];
    for (int i = 0; i < glue_n_tasks; i++) {
        const glue_task *t = &glue_tasks[i];
        const char *files[3] = {t->train, t->dev[0], t->dev[1]};
        for (int k = 0; k < 3; k++) {
            if (!files[k]) continue;
            snprintf(rel, sizeof rel, "glue_quick/%s/%s", t->dir, files[k]);
            task_data *d = glue(t->name, rel);
            EXPECT_MSG(d && d->n >= 2 && d->has_labels && d->kind == t->kind, "%s", rel);
            task_free(d);
        }
    }
}

TEST(task_glue_test_files_unlabeled) {
    task_data *d = glue("cola", "tasks/glue_test/CoLA/test.tsv"); /* has a header, unlike train/dev */
    REQUIRE(d);
    EXPECT(!d->has_labels);
    EXPECT_EQ_INT(d->n, 2);
    EXPECT_STR_EQ(d->ex[1].text_a, "Ball the chased.");
    EXPECT_EQ_INT(d->ex[1].label, -1);
    task_free(d);
    d = glue("qqp", "tasks/glue_test/QQP/test.tsv");
    REQUIRE(d);
    EXPECT(!d->has_labels && d->n == 1);
    EXPECT_STR_EQ(d->ex[0].text_b, "What makes a cat purr?");
    task_free(d);
    d = glue("stsb", "tasks/glue_test/STS-B/test.tsv");
    REQUIRE(d);
    EXPECT(!d->has_labels && d->n == 1 && d->kind == TASK_LABEL_REGRESSION);
    EXPECT(isnan(d->ex[0].value));
    EXPECT_STR_EQ(d->ex[0].text_a, "Ice covers the lake.");
    task_free(d);
    d = glue("mnli", "tasks/glue_test/MNLI/test_matched.tsv");
    REQUIRE(d);
    EXPECT(!d->has_labels && d->n == 1);
    EXPECT_STR_EQ(d->ex[0].text_b, "Nobody can enter.");
    EXPECT_EQ_INT(d->labels.n, 3); /* the head still needs the classes */
    task_free(d);
}

/* ---- GLUE, malformed rows --------------------------------------------------------- */

TEST(task_glue_missing_fields_fail_or_skip) {
    const char *p = fx("tasks/glue_bad/qqp_missing_fields.tsv");
    EXPECT(task_read_glue("qqp", p, NULL) == NULL);
    EXPECT(err_is(p, 4, "3 tab-separated fields, expected 6"));
    task_options o = {.skip_bad = 1};
    task_data *d = task_read_glue("qqp", p, &o);
    REQUIRE(d);
    EXPECT_EQ_INT(d->n, 3);
    EXPECT_EQ_INT(d->n_skipped, 1);
    EXPECT(msg_is(d->skipped[0], p, 4, "3 tab-separated fields, expected 6"));
    EXPECT_STR_EQ(d->ex[2].text_a, "What is a good first camera?");
    EXPECT_EQ_INT(d->ex[2].line, 5);
    EXPECT_STR_EQ(ids(d), "101");
    task_free(d);
}

TEST(task_glue_bad_labels) {
    const char *p = fx("tasks/glue_bad/mnli_unknown_label.tsv");
    EXPECT(task_read_glue("mnli", p, NULL) == NULL);
    EXPECT(err_is(p, 3, "unknown label \"-\" (labels: entailment, neutral, contradiction)"));
    p = fx("tasks/glue_bad/cola_bad_label.tsv");
    EXPECT(task_read_glue("cola", p, NULL) == NULL);
    EXPECT(err_is(p, 2, "unknown label \"2\" (labels: 0, 1)"));
    p = fx("tasks/glue_bad/stsb_bad_score.tsv");
    EXPECT(task_read_glue("stsb", p, NULL) == NULL);
    EXPECT(err_is(p, 3, "bad number \"n/a\""));
    task_options o = {.skip_bad = 1};
    task_data *d = task_read_glue("stsb", p, &o);
    REQUIRE(d);
    EXPECT(d->n == 2 && d->n_skipped == 1 && d->ex[1].value == 0.4f);
    task_free(d);
}

TEST(task_glue_bad_bytes) {
    const char *p = fx("tasks/glue_bad/sst2_bad_bytes.tsv");
    EXPECT(task_read_glue("sst2", p, NULL) == NULL);
    EXPECT(err_is(p, 3, "text \"sentence\" is not valid UTF-8"));
    task_options o = {.skip_bad = 1};
    task_data *d = task_read_glue("sst2", p, &o);
    REQUIRE(d);
    EXPECT_EQ_INT(d->n, 2);
    EXPECT_EQ_INT(d->n_skipped, 2);
    EXPECT(msg_is(d->skipped[1], p, 4, "text \"sentence\" contains a NUL byte"));
    EXPECT_STR_EQ(d->ex[1].text_a, "last row . ");
    task_free(d);
}

TEST(task_glue_header_checks) {
    const char *p = fx("tasks/glue_bad/rte_header.tsv");
    EXPECT(task_read_glue("qnli", p, NULL) == NULL); /* an RTE file read as QNLI */
    EXPECT(err_is(p, 1, "no column \"question\" in the header (columns: \"index\", \"sentence1\", \"sentence2\", \"label\")"));
    task_data *d = task_read_glue("rte", p, NULL);
    EXPECT(d && d->n == 1);
    task_free(d);
    p = fx("tasks/glue_bad/mnli_moved_columns.tsv");
    EXPECT(task_read_glue("mnli", p, NULL) == NULL);
    EXPECT(err_is(p, 1, "not the published GLUE MNLI layout: \"sentence1\" is column 5, expected 9"));
    EXPECT(task_read_glue("boolq", p, NULL) == NULL);
    EXPECT(strstr(err_msg(), "unknown GLUE task \"boolq\""));
    EXPECT(task_read_glue("mnli", fx("tasks/no_such_file.tsv"), NULL) == NULL);
    EXPECT(strstr(err_msg(), "no_such_file.tsv: cannot open"));
}

/* ---- the GLUE table ------------------------------------------------------------------- */

TEST(task_glue_table) {
    EXPECT_EQ_INT(glue_n_tasks, 9);
    EXPECT(glue_task_find("SST-2") == glue_task_find("sst2"));
    EXPECT(glue_task_find("STS-B") == glue_task_find("sts_b"));
    EXPECT(glue_task_find("Mnli") && glue_task_find("mnli")->n_labels == 3);
    EXPECT(glue_task_find("squad") == NULL);
    /* spot checks against mosaicbert.md §7 and m2bert.md §5.2 */
    const glue_task *t = glue_task_find("mnli");
    EXPECT(t->mosaic.lr == 5e-5 && t->mosaic.wd == 5e-6 && t->mosaic.epochs == 3 && t->mosaic.batch == 48);
    EXPECT(t->mosaic.eval_interval == 2300 && t->mosaic.n_seeds == 1 && t->mosaic.seeds[0] == 19);
    EXPECT_STR_EQ(t->dev[1], "dev_mismatched.tsv");
    t = glue_task_find("rte");
    EXPECT(t->mosaic.lr == 1e-5 && t->mosaic.wd == 1e-5 && t->mosaic.n_seeds == 5 && t->mosaic.seeds[4] == 90166);
    EXPECT(t->mosaic.from_mnli && t->m2.from_mnli && t->m2.epochs == 6 && !t->m2.decoupled && t->m2.wd == 0.01);
    t = glue_task_find("cola");
    EXPECT_STR_EQ(t->metrics[0], "mcc");
    EXPECT(t->mosaic.n_seeds == 4 && t->mosaic.seeds[3] == 10536 && t->mosaic.eval_interval == 250);
    t = glue_task_find("stsb");
    EXPECT(t->kind == TASK_LABEL_REGRESSION && t->n_labels == 1);
    EXPECT_STR_EQ(t->metrics[0], "spearman");
    EXPECT(t->mosaic.lr == 3e-5 && t->m2.lr == 7e-5);
    t = glue_task_find("qqp");
    EXPECT(t->n_metrics == 2 && strcmp(t->metrics[1], "f1") == 0 && t->mosaic.epochs == 5 && t->m2.epochs == 10);
    t = glue_task_find("qnli");
    EXPECT(t->m2.mean_pool && !t->mosaic.mean_pool && t->mosaic.lr == 1e-5 && t->m2.lr == 5e-5);
    EXPECT(glue_task_find("wnli")->mosaic.n_seeds == 0); /* not in the MosaicBERT average */
    for (int i = 0; i < glue_n_tasks; i++) { /* the label lists are valid vocabularies */
        const glue_task *g = &glue_tasks[i];
        if (g->kind != TASK_LABEL_CLASS) continue;
        task_labels v;
        EXPECT_MSG(task_labels_init(&v, g->labels, g->n_labels) == 0, "%s", g->name);
        task_labels_free(&v);
    }
}

/* ---- generic TSV ------------------------------------------------------------------ */

TEST(task_tsv_named_columns_inferred_classes) {
    task_columns c = {.text = "review", .label = "sentiment"};
    task_data *d = task_read_table(fx("tasks/reviews.tsv"), TASK_FORMAT_AUTO, &c, NULL);
    REQUIRE(d);
    EXPECT_EQ_INT(d->kind, TASK_LABEL_CLASS);
    EXPECT_EQ_INT(d->n, 5);
    EXPECT_EQ_INT(d->labels.n, 3); /* sorted by bytes: neg, neutral, pos */
    EXPECT_STR_EQ(d->labels.names[0], "neg");
    EXPECT_STR_EQ(d->labels.names[1], "neutral");
    EXPECT_STR_EQ(d->labels.names[2], "pos");
    EXPECT_STR_EQ(ids(d), "20120");
    EXPECT_STR_EQ(d->ex[4].text_a, "Too loud \"quiet\" fan.");
    EXPECT_EQ_INT(task_labels_find(&d->labels, "neutral"), 1);
    EXPECT_EQ_INT(task_labels_find(&d->labels, "mixed"), -1);

    /* dev labels fixed by train: an unseen one is a malformed row */
    const char *p = fx("tasks/reviews_dev.tsv");
    task_options o = {.labels = &d->labels};
    EXPECT(task_read_table(p, TASK_FORMAT_TSV, &c, &o) == NULL);
    EXPECT(err_is(p, 3, "unknown label \"mixed\" (labels: neg, neutral, pos)"));
    o.skip_bad = 1;
    task_data *dev = task_read_table(p, TASK_FORMAT_TSV, &c, &o);
    REQUIRE(dev);
    EXPECT_EQ_INT(dev->n, 2);
    EXPECT_STR_EQ(ids(dev), "20");
    EXPECT_EQ_INT(dev->labels.n, 3);
    task_free(dev);

    /* integer labels: numeric order (1, 2, 3, 5) */
    c.label = "stars";
    task_data *s = task_read_table(fx("tasks/reviews.tsv"), TASK_FORMAT_TSV, &c, NULL);
    REQUIRE(s);
    EXPECT_EQ_INT(s->kind, TASK_LABEL_CLASS);
    EXPECT_STR_EQ(ids(s), "30231");
    task_free(s);
    /* missing column */
    c.label = "rating";
    p = fx("tasks/reviews.tsv");
    EXPECT(task_read_table(p, TASK_FORMAT_TSV, &c, NULL) == NULL);
    EXPECT(err_is(p, 1, "no column \"rating\" in the header (columns: \"id\", \"review\", \"sentiment\", \"stars\")"));
    task_free(d);
}

TEST(task_tsv_numeric_label_order_and_pairs) {
    task_columns c = {.text = "first", .text_pair = "second", .label = "rel"};
    task_data *d = task_read_table(fx("tasks/pairs_numeric.tsv"), TASK_FORMAT_TSV, &c, NULL);
    REQUIRE(d);
    EXPECT_EQ_INT(d->labels.n, 4); /* 0, 1, 2, 10 — not "10" before "2" */
    EXPECT_STR_EQ(d->labels.names[3], "10");
    EXPECT_STR_EQ(ids(d), "32012");
    EXPECT_STR_EQ(d->ex[0].text_b, "a kitten");
    /* forcing regression on the same column */
    task_free(d);
    task_options o = {.kind = TASK_LABEL_REGRESSION};
    d = task_read_table(fx("tasks/pairs_numeric.tsv"), TASK_FORMAT_TSV, &c, &o);
    REQUIRE(d);
    EXPECT_EQ_INT(d->kind, TASK_LABEL_REGRESSION);
    EXPECT(d->ex[0].value == 10.0f && d->ex[2].value == 0.0f);
    task_free(d);
    /* unlabeled */
    c.label = NULL;
    d = task_read_table(fx("tasks/pairs_numeric.tsv"), TASK_FORMAT_TSV, &c, NULL);
    REQUIRE(d);
    EXPECT(!d->has_labels && d->n == 5 && d->ex[4].label == -1);
    task_free(d);
}

TEST(task_tsv_multi_label_separator) {
    task_columns c = {.text = "text", .label = "tags"};
    task_options o = {.kind = TASK_LABEL_MULTI, .multi_sep = "|"};
    task_data *d = task_read_table(fx("tasks/topics.tsv"), TASK_FORMAT_TSV, &c, &o);
    REQUIRE(d);
    EXPECT_EQ_INT(d->kind, TASK_LABEL_MULTI);
    /* economy 0, finance 1, health 2, politics 3, science 4 */
    EXPECT_EQ_INT(d->labels.n, 5);
    EXPECT_STR_EQ(d->labels.names[3], "politics");
    EXPECT(d->ex[0].n_labels == 2 && d->ex[0].labels[0] == 0 && d->ex[0].labels[1] == 1);
    EXPECT(d->ex[1].n_labels == 2 && d->ex[1].labels[0] == 2 && d->ex[1].labels[1] == 4); /* health twice */
    EXPECT_EQ_INT(d->ex[2].n_labels, 0); /* empty field: no labels */
    EXPECT(d->ex[3].n_labels == 2 && d->ex[3].labels[0] == 0 && d->ex[3].labels[1] == 3);
    EXPECT_EQ_INT(d->ex[0].label, -1);
    task_free(d);
}

TEST(task_tsv_wrong_column_count_and_empty_label) {
    char path[512];
    snprintf(path, sizeof path, "%s/t.tsv", test_tmpdir());
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    fputs("a\tb\n\nx\t1\ny\n\t\nz\t\n", f); /* line 4: one field; line 5: empty text, empty label */
    fclose(f);
    task_columns c = {.text = "a", .label = "b"};
    EXPECT(task_read_table(path, TASK_FORMAT_TSV, &c, NULL) == NULL);
    EXPECT(err_is(path, 4, "1 tab-separated fields, expected 2"));
    task_options o = {.skip_bad = 1};
    task_data *d = task_read_table(path, TASK_FORMAT_TSV, &c, &o);
    REQUIRE(d);
    EXPECT_EQ_INT(d->n, 1);
    EXPECT_EQ_INT(d->n_skipped, 3);
    EXPECT(msg_is(d->skipped[1], path, 5, "empty label"));
    EXPECT(msg_is(d->skipped[2], path, 6, "empty label"));
    task_free(d);
}

/* ---- CSV ---------------------------------------------------------------------------- */

TEST(task_csv_quoting) {
    task_columns c = {.text = "text", .label = "label"};
    task_data *d = task_read_table(fx("tasks/quoting.csv"), TASK_FORMAT_AUTO, &c, NULL);
    REQUIRE(d);
    EXPECT_EQ_INT(d->n, 7);
    EXPECT_STR_EQ(d->ex[0].text_a, "plain text");
    EXPECT_STR_EQ(d->ex[1].text_a, "with, comma");
    EXPECT_STR_EQ(d->ex[2].text_a, "say \"hi\" twice");
    EXPECT_STR_EQ(d->ex[3].text_a, "two\r\nlines"); /* a line break inside quotes is data */
    EXPECT_STR_EQ(d->ex[4].text_a, "");
    EXPECT_STR_EQ(d->ex[5].text_a, "\"");
    EXPECT_STR_EQ(d->ex[6].text_a, "last no newline");
    EXPECT_STR_EQ(ids(d), "1010101"); /* no 0, yes 1 */
    /* lines: header 1, rows 2 3 4, 5-6 (two lines), blank 7, rows 8 9 10 */
    const int lines[7] = {2, 3, 4, 5, 8, 9, 10};
    for (int i = 0; i < 7; i++) EXPECT_EQ_INT(d->ex[i].line, lines[i]);
    task_free(d);
}

TEST(task_csv_regression_inferred) {
    task_columns c = {.text = "sentence1", .text_pair = "sentence2", .label = "similarity"};
    task_data *d = task_read_table(fx("tasks/scores.csv"), TASK_FORMAT_CSV, &c, NULL);
    REQUIRE(d);
    EXPECT_EQ_INT(d->kind, TASK_LABEL_REGRESSION);
    EXPECT(d->ex[0].value == 4.8f && d->ex[1].value == 0.5f && d->ex[2].value == 4.0f);
    EXPECT_STR_EQ(d->ex[2].text_b, "children are playing");
    task_free(d);
}

TEST(task_csv_malformed) {
    task_columns c = {.text = "text", .label = "label"};
    const char *p = fx("tasks/bad_quote_inside.csv");
    EXPECT(task_read_table(p, TASK_FORMAT_CSV, &c, NULL) == NULL);
    EXPECT(err_is(p, 3, "quote inside unquoted field 1 (quote the whole field and write a quote as \"\")"));
    task_options o = {.skip_bad = 1};
    task_data *d = task_read_table(p, TASK_FORMAT_CSV, &c, &o);
    REQUIRE(d);
    EXPECT(d->n == 2 && d->n_skipped == 1 && strcmp(d->ex[1].text_a, "fine") == 0 && d->ex[1].line == 4);
    task_free(d);

    p = fx("tasks/bad_after_quote.csv");
    EXPECT(task_read_table(p, TASK_FORMAT_CSV, &c, NULL) == NULL);
    EXPECT(err_is(p, 2, "text after the closing quote of field 1 (a quote inside a quoted field is written \"\")"));

    /* an open quote swallows the rest of the file: fatal even when skipping */
    p = fx("tasks/bad_unterminated.csv");
    EXPECT(task_read_table(p, TASK_FORMAT_CSV, &c, &o) == NULL);
    EXPECT(err_is(p, 3, "quoted field opened on this line is never closed (the rest of the file would be one field)"));

    /* the line number after a record that spans two lines */
    p = fx("tasks/bad_columns.csv");
    EXPECT(task_read_table(p, TASK_FORMAT_CSV, &c, NULL) == NULL);
    EXPECT(err_is(p, 4, "3 comma-separated fields, expected 2"));

    task_columns cs = {.text = "text", .label = "score"};
    task_options reg = {.kind = TASK_LABEL_REGRESSION};
    p = fx("tasks/bad_number.csv");
    EXPECT(task_read_table(p, TASK_FORMAT_CSV, &cs, &reg) == NULL);
    EXPECT(err_is(p, 3, "bad number \"1.5x\""));
    /* numbers outside float range are not numbers here (targets are floats) */
    char path[512];
    snprintf(path, sizeof path, "%s/big.csv", test_tmpdir());
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    fputs("text,score\na,0.5\nb,-1e39\n", f);
    fclose(f);
    EXPECT(task_read_table(path, TASK_FORMAT_CSV, &cs, &reg) == NULL);
    EXPECT(err_is(path, 3, "bad number \"-1e39\""));
    /* inferred instead: "1.5x" is not a number, so the column is classes */
    d = task_read_table(p, TASK_FORMAT_CSV, &cs, NULL);
    REQUIRE(d);
    EXPECT_EQ_INT(d->kind, TASK_LABEL_CLASS);
    EXPECT_EQ_INT(d->labels.n, 3);
    task_free(d);
}

TEST(task_csv_invalid_utf8_and_header_only) {
    char path[512];
    snprintf(path, sizeof path, "%s/u.csv", test_tmpdir());
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    fputs("text,label\n\"ok\",a\n\"bad \xC3\x28 seq\",b\nok2,\xFF\n", f);
    fclose(f);
    task_columns c = {.text = "text", .label = "label"};
    EXPECT(task_read_table(path, TASK_FORMAT_CSV, &c, NULL) == NULL);
    EXPECT(err_is(path, 3, "text \"text\" is not valid UTF-8"));
    task_options o = {.skip_bad = 1};
    task_data *d = task_read_table(path, TASK_FORMAT_CSV, &c, &o);
    REQUIRE(d);
    EXPECT(d->n == 1 && d->n_skipped == 2);
    EXPECT(msg_is(d->skipped[1], path, 4, "label is not valid UTF-8"));
    task_free(d);

    f = fopen(path, "wb");
    REQUIRE(f);
    fputs("text,label\r\n", f);
    fclose(f);
    d = task_read_table(path, TASK_FORMAT_CSV, &c, NULL);
    REQUIRE(d);
    EXPECT_EQ_INT(d->n, 0);
    task_free(d);
    f = fopen(path, "wb");
    REQUIRE(f);
    fclose(f);
    EXPECT(task_read_table(path, TASK_FORMAT_CSV, &c, NULL) == NULL);
    EXPECT(strstr(err_msg(), "empty file"));
}

/* ---- JSONL -------------------------------------------------------------------------- */

TEST(task_jsonl_multi_label_lists) {
    task_columns c = {.text = "text", .label = "tags"};
    task_data *d = task_read_table(fx("tasks/topics.jsonl"), TASK_FORMAT_AUTO, &c, NULL);
    REQUIRE(d);
    EXPECT_EQ_INT(d->kind, TASK_LABEL_MULTI);
    EXPECT_EQ_INT(d->n, 4);
    EXPECT_EQ_INT(d->labels.n, 5);
    EXPECT_STR_EQ(d->labels.names[0], "economy");
    EXPECT_STR_EQ(d->labels.names[4], "science");
    EXPECT(d->ex[1].n_labels == 2 && d->ex[1].labels[0] == 2 && d->ex[1].labels[1] == 4);
    EXPECT(d->ex[2].n_labels == 0 && d->ex[2].line == 4); /* line 3 is blank */
    EXPECT(d->ex[3].n_labels == 2 && d->ex[3].labels[0] == 0 && d->ex[3].labels[1] == 3);
    /* the same vocabulary fixed for another read, same ids */
    task_options o = {.labels = &d->labels};
    task_data *e = task_read_table(fx("tasks/topics.jsonl"), TASK_FORMAT_JSONL, &c, &o);
    REQUIRE(e);
    EXPECT(e->kind == TASK_LABEL_MULTI && e->ex[3].labels[1] == 3 && e->ex[1].n_labels == 2);
    task_free(e);
    task_free(d);
}

TEST(task_jsonl_classes_and_regression) {
    task_columns c = {.text = "premise", .text_pair = "hypothesis", .label = "label"};
    task_data *d = task_read_table(fx("tasks/nli.jsonl"), TASK_FORMAT_JSONL, &c, NULL);
    REQUIRE(d);
    EXPECT_EQ_INT(d->kind, TASK_LABEL_CLASS);
    EXPECT_STR_EQ(ids(d), "021");
    EXPECT_STR_EQ(d->ex[2].text_a, "Snow \xc3\xa9t\xc3\xa9 falls."); /* \u00e9 escapes decoded */
    EXPECT_STR_EQ(d->ex[1].text_b, "A dog runs.");
    task_free(d);

    task_columns s = {.text = "text", .label = "score"};
    d = task_read_table(fx("tasks/scores.jsonl"), TASK_FORMAT_JSONL, &s, NULL);
    REQUIRE(d);
    EXPECT_EQ_INT(d->kind, TASK_LABEL_REGRESSION); /* 4.5 is not an integer */
    EXPECT(d->ex[0].value == 4.5f && d->ex[1].value == 1.0f && d->ex[2].value == 3.0f);
    task_free(d);
}

TEST(task_jsonl_malformed) {
    task_columns c = {.text = "text", .label = "label"};
    const char *p = fx("tasks/bad_rows.jsonl");
    EXPECT(task_read_table(p, TASK_FORMAT_JSONL, &c, NULL) == NULL);
    EXPECT(err_is(p, 2, "not a JSON object"));
    task_options o = {.skip_bad = 1};
    task_data *d = task_read_table(p, TASK_FORMAT_JSONL, &c, &o);
    REQUIRE(d);
    EXPECT_EQ_INT(d->n, 2);
    EXPECT_EQ_INT(d->n_skipped, 6);
    EXPECT(msg_is(d->skipped[0], p, 2, "not a JSON object"));
    EXPECT(msg_is(d->skipped[1], p, 3, "no key \"label\""));
    EXPECT(msg_is(d->skipped[2], p, 4, "\"text\" is not a string (integer)"));
    EXPECT(msg_is(d->skipped[3], p, 5, "label must be a string, a number or a list"));
    EXPECT(d->skipped[4] && strncmp(d->skipped[4], p, strlen(p)) == 0 && strstr(d->skipped[4], ":6: invalid JSON: column"));
    EXPECT(msg_is(d->skipped[5], p, 7, "label is a list, but on line 1 it is not a list"));
    EXPECT_STR_EQ(d->ex[1].text_a, "last");
    EXPECT_STR_EQ(ids(d), "01");
    task_free(d);
}

TEST(task_labels_vocabulary) {
    const char *names[3] = {"b", "a", "c"};
    task_labels v;
    REQUIRE(task_labels_init(&v, names, 3) == 0);
    EXPECT_EQ_INT(task_labels_find(&v, "b"), 0);
    EXPECT_EQ_INT(task_labels_find(&v, "c"), 2);
    EXPECT_EQ_INT(task_labels_find(&v, "d"), -1);
    task_labels_free(&v);
    const char *dup[3] = {"x", "y", "x"};
    EXPECT(task_labels_init(&v, dup, 3) == -1);
    EXPECT(strstr(err_msg(), "\"x\" listed twice"));
    /* many names: the index grows */
    char buf[64][16];
    const char *many[64];
    for (int i = 0; i < 64; i++) snprintf(buf[i], sizeof buf[i], "L%d", i), many[i] = buf[i];
    REQUIRE(task_labels_init(&v, many, 64) == 0);
    int ok = 1;
    for (int i = 0; i < 64; i++) ok &= task_labels_find(&v, many[i]) == i;
    EXPECT(ok);
    task_labels_free(&v);
    EXPECT_EQ_INT(task_format_for("a/b.csv"), TASK_FORMAT_CSV);
    EXPECT_EQ_INT(task_format_for("x.jsonl"), TASK_FORMAT_JSONL);
    EXPECT_EQ_INT(task_format_for("x.tsv"), TASK_FORMAT_TSV);
    EXPECT_EQ_INT(task_format_for("x.txt"), TASK_FORMAT_AUTO);
}
