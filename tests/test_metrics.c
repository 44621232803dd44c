/* test_metrics.c — evaluation metrics: hand-worked cases, edge cases, and several
 * hundred values computed by scikit-learn / scipy (tests/fixtures/metrics_sklearn.inc,
 * written by tools/ref/metrics_fixtures.py). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../src/core/err.h"
#include "../src/eval/metrics.h"
#include "test.h"

#define NEAR(a, b) EXPECT_MSG(fabs((a) - (b)) <= 1e-15, "%s = %.17g, expected %.17g", #a, (double)(a), (double)(b))
#define ISNAN(a) EXPECT_MSG(isnan(a), "%s = %.17g, expected NaN", #a, (double)(a))
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

TEST(metrics_accuracy_by_hand) {
    int32_t pred[] = {0, 1, 1, 0, 2}, gold[] = {0, 1, 0, 0, 1};
    NEAR(metrics_accuracy(pred, gold, 5), 0.6);
    NEAR(metrics_accuracy(pred, gold, 1), 1.0);
    ISNAN(metrics_accuracy(pred, gold, 0));  /* mean of nothing */
}

TEST(metrics_binary_prf_by_hand) {
    /* tp at 0, 2, 6; fp at 3, 7; fn at 1; tn at 4, 5 */
    int32_t gold[] = {1, 1, 1, 0, 0, 0, 1, 0}, pred[] = {1, 0, 1, 1, 0, 0, 1, 1};
    metrics_prf r = metrics_prf_class(pred, gold, 8, 1);
    EXPECT_EQ_INT(r.tp, 3);
    EXPECT_EQ_INT(r.fp, 2);
    EXPECT_EQ_INT(r.fn, 1);
    NEAR(r.precision, 3.0 / 5.0);
    NEAR(r.recall, 3.0 / 4.0);
    NEAR(r.f1, 2.0 * 0.6 * 0.75 / (0.6 + 0.75));  /* the harmonic mean, 2/3 */
    NEAR(metrics_f1(pred, gold, 8), 2.0 / 3.0);
    /* class 0 as the positive one: tp 2, fp 1, fn 2 */
    r = metrics_prf_class(pred, gold, 8, 0);
    NEAR(r.precision, 2.0 / 3.0);
    NEAR(r.recall, 0.5);
    NEAR(r.f1, 4.0 / 7.0);
}

TEST(metrics_binary_f1_degenerate) {
    int32_t zeros[] = {0, 0, 0, 0}, ones[] = {1, 1, 1, 1}, mixed[] = {0, 1, 0, 1};
    /* no positive anywhere: every ratio is 0/0, reported as 0 */
    metrics_prf r = metrics_prf_class(zeros, zeros, 4, 1);
    NEAR(r.precision, 0.0);
    NEAR(r.recall, 0.0);
    NEAR(r.f1, 0.0);
    /* all predicted positive: recall 1, precision = positive rate */
    r = metrics_prf_class(ones, mixed, 4, 1);
    NEAR(r.precision, 0.5);
    NEAR(r.recall, 1.0);
    NEAR(r.f1, 2.0 / 3.0);
    /* nothing predicted positive though some are */
    r = metrics_prf_class(zeros, mixed, 4, 1);
    NEAR(r.precision, 0.0);
    NEAR(r.recall, 0.0);
    NEAR(r.f1, 0.0);
    NEAR(metrics_f1(mixed, mixed, 4), 1.0);
    NEAR(metrics_f1(ones, ones, 1), 1.0);
    ISNAN(metrics_f1(mixed, mixed, 0));  /* nothing to score */
    ISNAN(metrics_prf_class(mixed, mixed, 0, 1).precision);
}

TEST(metrics_macro_micro_f1_by_hand) {
    /* class 0: tp 1, 2 predicted, 2 gold → 2/4; class 1: tp 2, 3 predicted, 2 gold → 4/5;
     * class 2: tp 1, 1 predicted, 2 gold → 2/3; mean (1/2 + 4/5 + 2/3)/3 = 59/90 */
    int32_t gold[] = {0, 0, 1, 1, 2, 2}, pred[] = {0, 1, 1, 1, 2, 0};
    NEAR(metrics_macro_f1(pred, gold, 6, 3), 59.0 / 90.0);
    NEAR(metrics_micro_f1(pred, gold, 6, 3), 4.0 / 6.0);
    /* a class seen in neither gold nor pred is left out of the mean (sklearn's label set) */
    NEAR(metrics_macro_f1(pred, gold, 6, 5), 59.0 / 90.0);
    /* class 2 now never predicted, class 3 only predicted: both count, with F1 0 */
    int32_t pred2[] = {0, 1, 1, 1, 3, 0};
    NEAR(metrics_macro_f1(pred2, gold, 6, 4), (0.5 + 0.8 + 0.0 + 0.0) / 4.0);
    NEAR(metrics_micro_f1(pred2, gold, 6, 4), 3.0 / 6.0);
    NEAR(metrics_macro_f1(gold, gold, 6, 3), 1.0);
    ISNAN(metrics_macro_f1(gold, gold, 0, 3));  /* nothing to score */
    ISNAN(metrics_micro_f1(gold, gold, 0, 3));
}

TEST(metrics_mcc_by_hand) {
    /* binary: TP 3, FP 2, FN 1, TN 2 → (TP·TN − FP·FN)/sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = 4/sqrt(240) */
    int32_t gold[] = {1, 1, 1, 0, 0, 0, 1, 0}, pred[] = {1, 0, 1, 1, 0, 0, 1, 1};
    NEAR(metrics_mcc(pred, gold, 8, 2), 4.0 / sqrt(240.0));
    NEAR(metrics_mcc(gold, gold, 8, 2), 1.0);
    int32_t inv[8];
    for (int i = 0; i < 8; i++) inv[i] = 1 - gold[i];
    NEAR(metrics_mcc(inv, gold, 8, 2), -1.0);
    /* a constant prediction (or gold) leaves a zero factor under the root: 0 */
    int32_t zeros[8] = {0};
    NEAR(metrics_mcc(zeros, gold, 8, 2), 0.0);
    NEAR(metrics_mcc(gold, zeros, 8, 2), 0.0);
    NEAR(metrics_mcc(zeros, zeros, 8, 2), 0.0);
    ISNAN(metrics_mcc(gold, gold, 0, 2));
    NEAR(metrics_mcc(gold, gold, 1, 2), 0.0);
    /* 3 classes: n 6, 4 correct, gold counts (2,2,2), predicted (2,3,1):
     * (4·6 − (4+6+2)) / sqrt((36 − 14)(36 − 12)) = 12/sqrt(528) */
    int32_t g3[] = {0, 0, 1, 1, 2, 2}, p3[] = {0, 1, 1, 1, 2, 0};
    NEAR(metrics_mcc(p3, g3, 6, 3), 12.0 / sqrt(528.0));
    NEAR(metrics_mcc(p3, g3, 6, 7), 12.0 / sqrt(528.0));  /* unused classes change nothing */
}

TEST(metrics_multilabel_by_hand) {
    /* columns: 0 perfect (tp 2 of 4 → 1), 1 one miss (2·1/3), 2 a missed label (0) */
    uint8_t gold[] = {1, 0, 1, /**/ 0, 1, 0, /**/ 1, 1, 0};
    uint8_t pred[] = {1, 0, 0, /**/ 0, 1, 0, /**/ 1, 0, 0};
    NEAR(metrics_multilabel_accuracy(pred, gold, 3, 3), 1.0 / 3.0);
    NEAR(metrics_multilabel_macro_f1(pred, gold, 3, 3), (1.0 + 2.0 / 3.0 + 0.0) / 3.0);
    NEAR(metrics_multilabel_micro_f1(pred, gold, 3, 3), 6.0 / 8.0);  /* 2·3 / (2·3 + 0 + 2) */
    /* a fourth column empty in both counts as 0 in the macro mean (sklearn) */
    uint8_t gold4[] = {1, 0, 1, 0, /**/ 0, 1, 0, 0, /**/ 1, 1, 0, 0};
    uint8_t pred4[] = {1, 0, 0, 0, /**/ 0, 1, 0, 0, /**/ 1, 0, 0, 0};
    NEAR(metrics_multilabel_macro_f1(pred4, gold4, 3, 4), (1.0 + 2.0 / 3.0) / 4.0);
    NEAR(metrics_multilabel_micro_f1(pred4, gold4, 3, 4), 0.75);
    NEAR(metrics_multilabel_accuracy(gold4, gold4, 3, 4), 1.0);
    ISNAN(metrics_multilabel_accuracy(gold4, gold4, 0, 4));
    ISNAN(metrics_multilabel_macro_f1(gold4, gold4, 0, 4));
    ISNAN(metrics_multilabel_micro_f1(gold4, gold4, 0, 4));
}

TEST(metrics_pearson_by_hand) {
    /* centred x (−2,−1,0,1,2), y (−2,0,1,0,1): Σxy 6, Σx² 10, Σy² 6 */
    double x[] = {1, 2, 3, 4, 5}, y[] = {2, 4, 5, 4, 5};
    NEAR(metrics_pearson(x, y, 5), 6.0 / sqrt(60.0));
    NEAR(metrics_pearson(y, x, 5), 6.0 / sqrt(60.0));
    double lin[5], neg[5];
    for (int i = 0; i < 5; i++) { lin[i] = 3.0 * x[i] - 7.0; neg[i] = -0.5 * x[i] + 100.0; }
    NEAR(metrics_pearson(x, lin, 5), 1.0);
    NEAR(metrics_pearson(x, neg, 5), -1.0);
    NEAR(metrics_pearson(x, y, 2), 1.0);   /* two points: ±1 */
    NEAR(metrics_pearson(x, neg, 2), -1.0);
    /* far from the origin and tiny in spread: the centring keeps it exact */
    double bx[] = {1e8 + 1, 1e8 + 2, 1e8 + 3, 1e8 + 4, 1e8 + 5};
    NEAR(metrics_pearson(bx, y, 5), 6.0 / sqrt(60.0));
    double c[] = {2, 2, 2, 2, 2}, withnan[] = {1, 2, NAN, 4, 5};
    ISNAN(metrics_pearson(c, y, 5));
    ISNAN(metrics_pearson(x, c, 5));
    ISNAN(metrics_pearson(withnan, y, 5));
    ISNAN(metrics_pearson(x, y, 1));
    ISNAN(metrics_pearson(x, y, 0));
}

TEST(metrics_rank_average_ties) {
    double x[] = {10, 20, 10, 30, 20, 10, -1};
    double r[7];
    metrics_rank_average(x, 7, r);
    double want[] = {3, 5.5, 3, 7, 5.5, 3, 1};  /* 10s share ranks 2..4, 20s 5..6 */
    for (int i = 0; i < 7; i++) NEAR(r[i], want[i]);
}

TEST(metrics_spearman_by_hand) {
    /* ranks x (1, 2.5, 2.5, 4), y (1.5, 1.5, 3.5, 3.5); centred: Σxy 3, Σx² 4.5, Σy² 4 */
    double x[] = {1, 2, 2, 3}, y[] = {1, 1, 2, 2};
    NEAR(metrics_spearman(x, y, 4), 3.0 / sqrt(18.0));
    /* monotone but not linear: 1 for spearman, less for pearson */
    double a[] = {1, 2, 3, 4, 5}, cube[] = {1, 8, 27, 64, 125}, down[] = {9, 7, 5, 3, -100};
    NEAR(metrics_spearman(a, cube, 5), 1.0);
    NEAR(metrics_spearman(a, down, 5), -1.0);
    EXPECT(metrics_pearson(a, cube, 5) < 0.99);
    /* one swap among 5: 1 − 6·Σd²/(n(n²−1)) = 1 − 6·2/120 (no ties) */
    double sw[] = {1, 3, 2, 4, 5};
    NEAR(metrics_spearman(a, sw, 5), 0.9);
    double c[] = {4, 4, 4, 4, 4}, withnan[] = {1, NAN, 3, 4, 5};
    ISNAN(metrics_spearman(c, a, 5));
    ISNAN(metrics_spearman(a, c, 5));
    ISNAN(metrics_spearman(withnan, a, 5));
    ISNAN(metrics_spearman(a, a, 1));
    ISNAN(metrics_spearman(a, a, 0));
    NEAR(metrics_spearman(a, down, 2), -1.0);
}

TEST(metrics_parse_and_names) {
    const char *names[] = {"accuracy", "f1",  "precision", "recall",  "macro_f1",
                           "micro_f1", "mcc", "pearson",   "spearman"};
    for (size_t i = 0; i < N_OF(names); i++) {
        metric_kind m = metric_parse(names[i]);
        EXPECT_MSG(m != METRIC_UNKNOWN, "metric_parse(%s)", names[i]);
        EXPECT_STR_EQ(metric_name(m), names[i]);
    }
    EXPECT_EQ_INT(METRIC_COUNT, (int)N_OF(names));
    err_clear();
    EXPECT_EQ_INT(metric_parse("F1"), METRIC_UNKNOWN);
    EXPECT(strstr(err_msg(), "unknown metric 'F1'") != NULL);
    EXPECT_EQ_INT(metric_parse(NULL), METRIC_UNKNOWN);
    EXPECT_STR_EQ(metric_name(METRIC_UNKNOWN), "unknown");
}

TEST(metrics_compute_dispatch) {
    int32_t gold[] = {1, 1, 1, 0, 0, 0, 1, 0}, pred[] = {1, 0, 1, 1, 0, 0, 1, 1};
    metric_input in = {.n = 8, .k = 2, .pred = pred, .gold = gold};
    double v = -1;
    EXPECT(metric_compute(METRIC_F1, &in, &v) == 0);
    NEAR(v, 2.0 / 3.0);
    EXPECT(metric_compute(METRIC_PRECISION, &in, &v) == 0);
    NEAR(v, 0.6);
    EXPECT(metric_compute(METRIC_RECALL, &in, &v) == 0);
    NEAR(v, 0.75);
    EXPECT(metric_compute(METRIC_ACCURACY, &in, &v) == 0);
    NEAR(v, 5.0 / 8.0);
    EXPECT(metric_compute(METRIC_MCC, &in, &v) == 0);
    NEAR(v, 4.0 / sqrt(240.0));
    EXPECT(metric_compute(METRIC_PEARSON, &in, &v) == -1);  /* no regression values */
    EXPECT(strstr(err_msg(), "pearson") != NULL);
    in.k = 3;                                                /* binary metrics refuse 3 classes */
    EXPECT(metric_compute(METRIC_F1, &in, &v) == -1);
    EXPECT(strstr(err_msg(), "macro_f1") != NULL);
    EXPECT(metric_compute(METRIC_MACRO_F1, &in, &v) == 0);
    EXPECT(metric_compute(METRIC_UNKNOWN, &in, &v) == -1);

    uint8_t gs[] = {1, 0, 1, 0, 1, 0, 1, 1, 0}, ps[] = {1, 0, 0, 0, 1, 0, 1, 0, 0};
    metric_input ml = {.n = 3, .k = 3, .pred_set = ps, .gold_set = gs};
    EXPECT(metric_compute(METRIC_MICRO_F1, &ml, &v) == 0);
    NEAR(v, 0.75);
    EXPECT(metric_compute(METRIC_ACCURACY, &ml, &v) == 0);
    NEAR(v, 1.0 / 3.0);
    EXPECT(metric_compute(METRIC_MCC, &ml, &v) == -1);
    EXPECT(metric_compute(METRIC_F1, &ml, &v) == -1);

    double pv[] = {1, 2, 3, 4, 5};
    float gv[] = {2, 4, 5, 4, 5};
    metric_input rg = {.n = 5, .pred_value = pv, .gold_value = gv};
    EXPECT(metric_compute(METRIC_PEARSON, &rg, &v) == 0);
    NEAR(v, 6.0 / sqrt(60.0));
    EXPECT(metric_compute(METRIC_SPEARMAN, &rg, &v) == 0);
    /* ranks x 1..5, y (1, 2.5, 4.5, 2.5, 4.5): centred Σxy 7, Σx² 10, Σy² 9 */
    NEAR(v, 7.0 / sqrt(90.0));
    EXPECT(metric_compute(METRIC_ACCURACY, &rg, &v) == -1);
}

/* ---- against scikit-learn / scipy ------------------------------------------ */

#include "fixtures/metrics_sklearn.inc"

/* The bound: |bertc − reference| ≤ 1e-12·|reference| (a reference 0 must be met
 * exactly). Measured: the counting metrics agree to the bit, macro_f1 and spearman
 * within 2.2e-16 relative, pearson within 4e-15 (both sides round their sums). */
#define REL_TOL 1e-12

TEST(metrics_match_sklearn_and_scipy) {
    double worst_rel = 0.0, worst_abs = 0.0;
    int checked = 0;
    for (size_t c = 0; c < N_OF(mx_cases); c++) {
        const mx_case *t = &mx_cases[c];
        metric_kind m = metric_parse(t->metric);
        REQUIRE(m != METRIC_UNKNOWN);
        metric_input in = {.n = (size_t)t->n, .k = t->k};
        if (t->input == 'c') { in.pred = mx_labels + t->pred; in.gold = mx_labels + t->gold; }
        if (t->input == 'm') { in.pred_set = mx_sets + t->pred; in.gold_set = mx_sets + t->gold; }
        if (t->input == 'r') { in.pred_value = mx_pred_values + t->pred; in.gold_value = mx_gold_values + t->gold; }
        double got = 0;
        int rc = metric_compute(m, &in, &got);
        if (t->raised) {
            /* the reference refused (n = 0; pearson of n = 1): bertc returns NaN (metrics.h) */
            EXPECT_MSG(rc == 0 && isnan(got), "case %zu: %s %c n=%d k=%d: reference raised, bertc gave rc %d, %.17g",
                       c, t->metric, t->input, t->n, t->k, rc, got);
            continue;
        }
        if (!EXPECT_MSG(rc == 0, "case %zu: %s: %s", c, t->metric, err_msg())) continue;
        if (isnan(t->want)) {
            EXPECT_MSG(isnan(got), "case %zu: %s %c n=%d k=%d: %.17g, reference NaN", c, t->metric, t->input,
                       t->n, t->k, got);
            continue;
        }
        double d = fabs(got - t->want), rel = t->want != 0.0 ? d / fabs(t->want) : (d == 0.0 ? 0.0 : INFINITY);
        EXPECT_MSG(d <= REL_TOL * fabs(t->want),
                   "case %zu: %s %c n=%d k=%d: bertc %.17g, reference %.17g (diff %.3g)", c, t->metric, t->input,
                   t->n, t->k, got, t->want, d);
        if (rel > worst_rel) worst_rel = rel;
        if (d > worst_abs) worst_abs = d;
        checked++;
    }
    EXPECT(checked > 900);
    if (getenv("TEST_VERBOSE"))
        fprintf(stderr, "     %d of %zu cases compared; largest difference %.3g absolute, %.3g relative\n",
                checked, N_OF(mx_cases), worst_abs, worst_rel);
}
