/* metrics.c — evaluation metrics (see metrics.h for the formulas and edge cases). */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"

/* num / den with sklearn's default zero_division: 0 when den is 0. */
static double ratio0(double num, double den) { return den == 0.0 ? 0.0 : num / den; }

static void check_ids(const int32_t *ids, size_t n, int k) {
    for (size_t i = 0; i < n; i++) CHECK(ids[i] >= 0 && ids[i] < k, "class id outside [0, k)");
}

double metrics_accuracy(const int32_t *pred, const int32_t *gold, size_t n) {
    if (n == 0) return NAN;
    int64_t hit = 0;
    for (size_t i = 0; i < n; i++) hit += pred[i] == gold[i];
    return (double)hit / (double)n;
}

metrics_prf metrics_prf_class(const int32_t *pred, const int32_t *gold, size_t n, int32_t positive) {
    metrics_prf r = {0};
    for (size_t i = 0; i < n; i++) {
        int p = pred[i] == positive, g = gold[i] == positive;
        r.tp += p & g;
        r.fp += p & !g;
        r.fn += (!p) & g;
    }
    r.precision = ratio0((double)r.tp, (double)(r.tp + r.fp));
    r.recall = ratio0((double)r.tp, (double)(r.tp + r.fn));
    /* from the counts rather than 2PR/(P+R): exact when P + R would round */
    r.f1 = ratio0(2.0 * (double)r.tp, (double)(2 * r.tp + r.fp + r.fn));
    if (n == 0) r.precision = r.recall = r.f1 = NAN;
    return r;
}

double metrics_f1(const int32_t *pred, const int32_t *gold, size_t n) { return metrics_prf_class(pred, gold, n, 1).f1; }

/* Per-class counts of single-label input: tp[c], npred[c], ngold[c], each (k,). */
static void class_counts(const int32_t *pred, const int32_t *gold, size_t n, int k,
                         int64_t *tp, int64_t *npred, int64_t *ngold) {
    check_ids(pred, n, k);
    check_ids(gold, n, k);
    memset(tp, 0, (size_t)k * sizeof *tp);
    memset(npred, 0, (size_t)k * sizeof *npred);
    memset(ngold, 0, (size_t)k * sizeof *ngold);
    for (size_t i = 0; i < n; i++) {
        npred[pred[i]]++;
        ngold[gold[i]]++;
        tp[gold[i]] += pred[i] == gold[i];
    }
}

/* which: 0 macro, 1 micro. Classes absent from both gold and pred are left out
 * (sklearn's label set is the union of the labels seen). */
static double f1_avg(const int32_t *pred, const int32_t *gold, size_t n, int k, int which) {
    CHECK(k > 0, "k > 0 classes");
    if (n == 0) return NAN;
    int64_t *cnt = xmalloc(3 * (size_t)k * sizeof *cnt);
    int64_t *tp = cnt, *npred = cnt + k, *ngold = cnt + 2 * k;  /* (k,) each */
    class_counts(pred, gold, n, k, tp, npred, ngold);
    double sum = 0.0;
    int64_t classes = 0, stp = 0, sden = 0;
    for (int c = 0; c < k; c++) {
        if (npred[c] + ngold[c] == 0) continue;
        classes++;
        /* fp + fn = (npred − tp) + (ngold − tp) */
        sum += ratio0(2.0 * (double)tp[c], (double)(npred[c] + ngold[c]));
        stp += tp[c];
        sden += npred[c] + ngold[c];
    }
    free(cnt);
    if (which == 1) return ratio0(2.0 * (double)stp, (double)sden);
    return sum / (double)classes;  /* n > 0: at least one class is present */
}

double metrics_macro_f1(const int32_t *pred, const int32_t *gold, size_t n, int k) {
    return f1_avg(pred, gold, n, k, 0);
}
double metrics_micro_f1(const int32_t *pred, const int32_t *gold, size_t n, int k) {
    return f1_avg(pred, gold, n, k, 1);
}

double metrics_mcc(const int32_t *pred, const int32_t *gold, size_t n, int k) {
    CHECK(k > 0, "k > 0 classes");
    if (n == 0) return NAN;
    int64_t *cnt = xmalloc(3 * (size_t)k * sizeof *cnt);
    int64_t *tp = cnt, *npred = cnt + k, *ngold = cnt + 2 * k;  /* (k,) each */
    class_counts(pred, gold, n, k, tp, npred, ngold);
    /* The three covariances are integers, exact in int64 for n < 3e9; like sklearn
     * they meet in double only for the product under the root. */
    int64_t nn = (int64_t)n, s = 0, tp_dot = 0, pp = 0, tt = 0;
    for (int c = 0; c < k; c++) {
        s += tp[c];
        tp_dot += ngold[c] * npred[c];
        pp += npred[c] * npred[c];
        tt += ngold[c] * ngold[c];
    }
    free(cnt);
    double cov_tp = (double)(s * nn - tp_dot), cov_pp = (double)(nn * nn - pp), cov_tt = (double)(nn * nn - tt);
    double den = cov_pp * cov_tt;
    return den == 0.0 ? 0.0 : cov_tp / sqrt(den);
}

double metrics_multilabel_accuracy(const uint8_t *pred, const uint8_t *gold, size_t n, int k) {
    if (n == 0) return NAN;
    int64_t hit = 0;
    for (size_t i = 0; i < n; i++) hit += memcmp(pred + i * (size_t)k, gold + i * (size_t)k, (size_t)k) == 0;
    return (double)hit / (double)n;
}

/* which: 0 macro (every column, an all-zero one counting 0), 1 micro. */
static double ml_f1_avg(const uint8_t *pred, const uint8_t *gold, size_t n, int k, int which) {
    CHECK(k > 0, "k > 0 label columns");
    if (n == 0) return NAN;
    double sum = 0.0;
    int64_t stp = 0, sden = 0;
    for (int c = 0; c < k; c++) {
        int64_t tp = 0, den = 0;  /* den = 2tp + fp + fn = npred + ngold */
        for (size_t i = 0; i < n; i++) {
            uint8_t p = pred[i * (size_t)k + c], g = gold[i * (size_t)k + c];
            CHECK(p <= 1 && g <= 1, "multi-label entries are 0 or 1");
            tp += p & g;
            den += p + g;
        }
        sum += ratio0(2.0 * (double)tp, (double)den);
        stp += tp;
        sden += den;
    }
    if (which == 1) return ratio0(2.0 * (double)stp, (double)sden);
    return sum / (double)k;
}

double metrics_multilabel_macro_f1(const uint8_t *pred, const uint8_t *gold, size_t n, int k) {
    return ml_f1_avg(pred, gold, n, k, 0);
}
double metrics_multilabel_micro_f1(const uint8_t *pred, const uint8_t *gold, size_t n, int k) {
    return ml_f1_avg(pred, gold, n, k, 1);
}

/* ---- correlations --------------------------------------------------------- */

/* NaN when n < 2, an input holds a NaN, or an input is constant (scipy's cases). */
static int corr_undefined(const double *x, const double *y, size_t n) {
    if (n < 2) return 1;
    int xconst = 1, yconst = 1;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i]) || isnan(y[i])) return 1;
        xconst &= x[i] == x[0];
        yconst &= y[i] == y[0];
    }
    return xconst || yconst;
}

static double clip1(double r) { return r > 1.0 ? 1.0 : r < -1.0 ? -1.0 : r; }

double metrics_pearson(const double *x, const double *y, size_t n) {
    if (corr_undefined(x, y, n)) return NAN;
    /* two points lie on a line: ±1 exactly (scipy special-cases this too) */
    if (n == 2) return (double)((x[1] > x[0]) - (x[1] < x[0])) * (double)((y[1] > y[0]) - (y[1] < y[0]));
    double sx = 0.0, sy = 0.0;
    for (size_t i = 0; i < n; i++) { sx += x[i]; sy += y[i]; }
    double mx = sx / (double)n, my = sy / (double)n;
    /* centred values scaled by their largest magnitude: the sums of squares can
     * then neither overflow nor underflow */
    double ax = 0.0, ay = 0.0;
    for (size_t i = 0; i < n; i++) {
        ax = fmax(ax, fabs(x[i] - mx));
        ay = fmax(ay, fabs(y[i] - my));
    }
    double sxy = 0.0, sxx = 0.0, syy = 0.0;
    for (size_t i = 0; i < n; i++) {
        double dx = (x[i] - mx) / ax, dy = (y[i] - my) / ay;
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    return clip1(sxy / sqrt(sxx * syy));
}

typedef struct { double v; size_t i; } ranked;

static int ranked_cmp(const void *a, const void *b) {
    const ranked *p = a, *q = b;
    if (p->v != q->v) return p->v < q->v ? -1 : 1;
    return (p->i > q->i) - (p->i < q->i);  /* total order: qsort is not stable */
}

void metrics_rank_average(const double *x, size_t n, double *rank) {
    ranked *r = xmalloc((n ? n : 1) * sizeof *r);  /* (n,) */
    for (size_t i = 0; i < n; i++) r[i] = (ranked){x[i], i};
    qsort(r, n, sizeof *r, ranked_cmp);
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && r[b].v == r[a].v) b++;
        double avg = 0.5 * (double)(a + 1 + b);  /* mean of the 1-based ranks a+1 .. b */
        for (size_t j = a; j < b; j++) rank[r[j].i] = avg;
        a = b;
    }
    free(r);
}

double metrics_spearman(const double *x, const double *y, size_t n) {
    if (corr_undefined(x, y, n)) return NAN;
    double *rx = xmalloc(2 * n * sizeof *rx), *ry = rx + n;  /* (n,) each */
    metrics_rank_average(x, n, rx);
    metrics_rank_average(y, n, ry);
    /* Ranks and their mean (n+1)/2 are multiples of 1/2: the centred products are
     * multiples of 1/4 and every sum below is exact while n³ < 2^53 (n < ~2e5). */
    double mid = 0.5 * (double)(n + 1), sxy = 0.0, sxx = 0.0, syy = 0.0;
    for (size_t i = 0; i < n; i++) {
        double dx = rx[i] - mid, dy = ry[i] - mid;
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    free(rx);
    return clip1(sxy / sqrt(sxx * syy));
}

/* ---- by name -------------------------------------------------------------- */

static const char *const metric_names[METRIC_COUNT] = {
    [METRIC_ACCURACY] = "accuracy", [METRIC_F1] = "f1",         [METRIC_PRECISION] = "precision",
    [METRIC_RECALL] = "recall",     [METRIC_MACRO_F1] = "macro_f1", [METRIC_MICRO_F1] = "micro_f1",
    [METRIC_MCC] = "mcc",           [METRIC_PEARSON] = "pearson",   [METRIC_SPEARMAN] = "spearman",
};

metric_kind metric_parse(const char *name) {
    for (int m = 0; m < METRIC_COUNT; m++)
        if (name && strcmp(name, metric_names[m]) == 0) return (metric_kind)m;
    err_set("unknown metric '%s' (accuracy, f1, precision, recall, macro_f1, micro_f1, mcc, pearson, spearman)",
            name ? name : "(null)");
    return METRIC_UNKNOWN;
}

const char *metric_name(metric_kind kind) { return kind >= 0 && kind < METRIC_COUNT ? metric_names[kind] : "unknown"; }

int metric_compute(metric_kind kind, const metric_input *in, double *out) {
    if (kind < 0 || kind >= METRIC_COUNT) return err_set("metric_compute: unknown metric %d", (int)kind);
    const char *name = metric_names[kind];
    int single = in->pred && in->gold, multi = in->pred_set && in->gold_set;
    int values = in->pred_value && in->gold_value;
    switch (kind) {
    case METRIC_ACCURACY:
    case METRIC_MACRO_F1:
    case METRIC_MICRO_F1:
        if (single) {
            if (kind == METRIC_ACCURACY) {
                check_ids(in->pred, in->n, in->k);
                check_ids(in->gold, in->n, in->k);
                *out = metrics_accuracy(in->pred, in->gold, in->n);
            } else {
                *out = kind == METRIC_MACRO_F1 ? metrics_macro_f1(in->pred, in->gold, in->n, in->k)
                                               : metrics_micro_f1(in->pred, in->gold, in->n, in->k);
            }
        } else if (multi) {
            *out = kind == METRIC_ACCURACY ? metrics_multilabel_accuracy(in->pred_set, in->gold_set, in->n, in->k)
                 : kind == METRIC_MACRO_F1 ? metrics_multilabel_macro_f1(in->pred_set, in->gold_set, in->n, in->k)
                                           : metrics_multilabel_micro_f1(in->pred_set, in->gold_set, in->n, in->k);
        } else {
            return err_set("metric %s needs class predictions (single- or multi-label)", name);
        }
        return 0;
    case METRIC_F1:
    case METRIC_PRECISION:
    case METRIC_RECALL: {
        if (!single) return err_set("metric %s needs single-label class predictions", name);
        if (in->k > 2)
            return err_set("metric %s is binary (class 1 against 0) but the task has %d classes: use macro_f1 or micro_f1",
                           name, in->k);
        check_ids(in->pred, in->n, in->k);
        check_ids(in->gold, in->n, in->k);
        metrics_prf r = metrics_prf_class(in->pred, in->gold, in->n, 1);
        *out = kind == METRIC_F1 ? r.f1 : kind == METRIC_PRECISION ? r.precision : r.recall;
        return 0;
    }
    case METRIC_MCC:
        if (!single) return err_set("metric mcc needs single-label class predictions");
        *out = metrics_mcc(in->pred, in->gold, in->n, in->k);
        return 0;
    case METRIC_PEARSON:
    case METRIC_SPEARMAN: {
        if (!values) return err_set("metric %s needs regression outputs and targets", name);
        double *g = xmalloc((in->n ? in->n : 1) * sizeof *g);  /* (n,) targets widened to double */
        for (size_t i = 0; i < in->n; i++) g[i] = (double)in->gold_value[i];
        *out = (kind == METRIC_PEARSON ? metrics_pearson : metrics_spearman)(in->pred_value, g, in->n);
        free(g);
        return 0;
    }
    default: break;
    }
    return err_set("metric_compute: unhandled metric %s", name);
}
