/* metrics.h — evaluation metrics for finetuning (GLUE and generic tasks).
 *
 * Each metric gives the number scikit-learn / scipy give for the same input
 * (tests/test_metrics.c checks several hundred cases they computed):
 *
 *   accuracy    matches / n                                  sklearn accuracy_score
 *               multi-label: rows whose whole 0/1 set matches (subset accuracy)
 *   precision   tp / (tp + fp)         of class 1 (binary)   sklearn precision_score
 *   recall      tp / (tp + fn)         of class 1 (binary)   sklearn recall_score
 *   f1          2·tp / (2·tp + fp + fn) of class 1 (binary)  sklearn f1_score (MRPC, QQP)
 *   macro_f1    mean over classes c of F1(c), each class one-vs-rest;
 *               single-label: the classes that occur in gold or pred (sklearn's
 *               default label set); multi-label: all k columns
 *                                                            f1_score(average="macro")
 *   micro_f1    2·Σtp / (2·Σtp + Σfp + Σfn) over the same classes (= accuracy
 *               for single-label input, n > 0)            f1_score(average="micro")
 *   mcc         Matthews correlation, the K-class form (Gorodkin 2004), with
 *               t_c / p_c = gold / predicted count of class c, s = Σ_c [pred = gold]:
 *                 (s·n − Σ t_c p_c) / sqrt((n² − Σ p_c²)(n² − Σ t_c²))
 *               (the binary MCC when K = 2)                 matthews_corrcoef (CoLA)
 *   pearson     Σ(x−x̄)(y−ȳ) / sqrt(Σ(x−x̄)² Σ(y−ȳ)²)        scipy.stats.pearsonr (STS-B)
 *   spearman    Pearson of the ranks, tied values sharing their average rank
 *                                                            scipy.stats.spearmanr (STS-B)
 *
 * Degenerate input (what the reference does, and what we return):
 *   - n = 0: every metric is NaN, there being nothing to score (sklearn 1.9 raises
 *     on empty input; scipy's spearmanr returns NaN, pearsonr raises).
 *   - n > 0, a ratio whose denominator is 0 (nothing predicted positive, no gold
 *     positive, a multi-label column empty in both) is 0, as sklearn's default
 *     zero_division; mcc is 0 when either factor under the root is 0 (a constant
 *     prediction or gold), as sklearn.
 *   - pearson / spearman are NaN when n < 2, when either input is constant, or when
 *     an input holds a NaN (scipy returns NaN; for pearson with n < 2 it raises).
 * Every sum is in double (counts in int64) and in a fixed order: the same input
 * gives the same bits on every run and thread count.
 *
 * Class ids are int32 in [0, k); multi-label sets are (n, k) row-major 0/1 bytes.
 * Ids outside [0, k) are a programming error (CHECK). */
#ifndef BERTC_METRICS_H
#define BERTC_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Counts and ratios of one class against the rest. */
typedef struct {
    int64_t tp, fp, fn;  /* true positives, false positives, false negatives */
    double precision;    /* tp / (tp + fp), 0 when nothing is predicted positive */
    double recall;       /* tp / (tp + fn), 0 when no gold positive */
    double f1;           /* 2tp / (2tp + fp + fn), 0 when all three are 0 */
                         /* (all three NaN when n = 0) */
} metrics_prf;

/* pred, gold: (n,) class ids. */
double metrics_accuracy(const int32_t *pred, const int32_t *gold, size_t n);
/* `positive` against every other id (any ids allowed). */
metrics_prf metrics_prf_class(const int32_t *pred, const int32_t *gold, size_t n, int32_t positive);
/* Binary F1 of class 1 (GLUE MRPC, QQP). */
double metrics_f1(const int32_t *pred, const int32_t *gold, size_t n);
/* pred, gold: (n,) ids in [0, k). */
double metrics_macro_f1(const int32_t *pred, const int32_t *gold, size_t n, int k);
double metrics_micro_f1(const int32_t *pred, const int32_t *gold, size_t n, int k);
double metrics_mcc(const int32_t *pred, const int32_t *gold, size_t n, int k);

/* pred, gold: (n, k) 0/1 label sets, row-major. */
double metrics_multilabel_accuracy(const uint8_t *pred, const uint8_t *gold, size_t n, int k);
double metrics_multilabel_macro_f1(const uint8_t *pred, const uint8_t *gold, size_t n, int k);
double metrics_multilabel_micro_f1(const uint8_t *pred, const uint8_t *gold, size_t n, int k);

/* x, y: (n,) */
double metrics_pearson(const double *x, const double *y, size_t n);
double metrics_spearman(const double *x, const double *y, size_t n);
/* rank: (n,) out, 1-based ranks of x, ties given their average rank (scipy rankdata
 * "average"). x must hold no NaN. */
void metrics_rank_average(const double *x, size_t n, double *rank);

/* ---- by name, for the finetuning loop ------------------------------------ */

typedef enum {
    METRIC_UNKNOWN = -1,
    METRIC_ACCURACY,
    METRIC_F1,
    METRIC_PRECISION,
    METRIC_RECALL,
    METRIC_MACRO_F1,
    METRIC_MICRO_F1,
    METRIC_MCC,
    METRIC_PEARSON,
    METRIC_SPEARMAN,
    METRIC_COUNT
} metric_kind;

/* What an eval pass produced. Fill the pointers of the task's label type, leave
 * the others NULL. */
typedef struct {
    size_t n;                            /* examples */
    int k;                               /* classes, or label columns (multi-label) */
    const int32_t *pred, *gold;          /* (n,) class ids in [0, k): single-label */
    const uint8_t *pred_set, *gold_set;  /* (n, k) 0/1: multi-label */
    const double *pred_value;            /* (n,) model outputs: regression */
    const float *gold_value;             /* (n,) targets: regression */
} metric_input;

/* "accuracy", "f1", "precision", "recall", "macro_f1", "micro_f1", "mcc", "pearson",
 * "spearman"; METRIC_UNKNOWN + err otherwise. */
metric_kind metric_parse(const char *name);
const char *metric_name(metric_kind kind);
/* *out = the metric of `in` (every metric here: larger is better). -1 + err when the
 * metric does not apply to the input given: f1/precision/recall need single-label
 * input with k ≤ 2, mcc single-label, pearson/spearman regression values,
 * accuracy/macro_f1/micro_f1 single- or multi-label. */
int metric_compute(metric_kind kind, const metric_input *in, double *out);

#endif
